/** NDJSON event records (rare: built as objects) and the terminal-safety pass for JSON text; packet records are written by ndjson.ts. */
import type { Violation } from '../mqtt/connection-decoder.js';
import type { Connection, Direction, StreamEvent } from '../tcp/types.js';
import { isoTime } from './format.js';
import { unsafeCharSource } from './unsafe.js';

/**
 * JSON.stringify escapes C0 controls but leaves DEL, C1 controls and the other characters of unsafe.ts raw: valid
 * JSON, yet unsafe on a terminal. Writing them as \u escapes (a pair for a character beyond the BMP) keeps the parsed
 * value identical, and the bytes equal to what bytes-out.ts writes for packet records.
 */
const JSON_UNSAFE = new RegExp(unsafeCharSource((lo) => lo === 0), 'g');

export function terminalSafeJson(text: string): string {
  // Every unsafe character is U+007F or above. Buffer.byteLength (native, vectorised) equals the length exactly when
  // all characters are ASCII, and then only DEL is possible: two fast scans instead of the regex on the common
  // all-ASCII record.
  if (Buffer.byteLength(text, 'utf8') === text.length && text.indexOf('\u007f') < 0) return text;
  JSON_UNSAFE.lastIndex = 0;
  if (!JSON_UNSAFE.test(text)) return text;
  return text.replace(JSON_UNSAFE, (c) => {
    let e = '';
    for (let i = 0; i < c.length; i++) e += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return e;
  });
}

/** The `transport` value of a connection's records: its stream layers, outermost first, joined by "+". */
export function transportName(layers: readonly string[]): string {
  return layers.join('+');
}

export function endpoints(conn: Connection, dir: Direction): { src: string; dst: string } {
  return dir === 'c2s' ? { src: conn.client, dst: conn.server } : { src: conn.server, dst: conn.client };
}

export function violationJson(v: Violation): Record<string, unknown> {
  const o: Record<string, unknown> = { id: v.id, spec: v.spec, severity: v.severity, message: v.message };
  if (v.offset !== undefined) {
    o.offset = v.offset;
    o.length = v.length ?? 1;
  }
  return o;
}

export interface EventTime {
  timeSec: number;
  timeNsec: number;
}

export function eventJson(ev: StreamEvent & { violations?: Violation[] }, conn: Connection | undefined, time: EventTime | null): string {
  const o: Record<string, unknown> = { kind: 'event', event: ev.event, frame: ev.frame };
  if (time) o.time = isoTime(time.timeSec, time.timeNsec);
  o.conn = ev.conn;
  o.dir = ev.dir;
  if (conn) o.tcpStream = conn.tcpStream;
  if (conn && ev.dir) Object.assign(o, endpoints(conn, ev.dir));
  else if (conn) Object.assign(o, { src: conn.client, dst: conn.server });
  if (conn?.transport !== undefined) o.transport = transportName(conn.transport);
  if (ev.bytes !== undefined) o.bytes = ev.bytes;
  if (ev.skipped !== undefined) o.skipped = ev.skipped;
  if (ev.count !== undefined) o.count = ev.count;
  if (ev.reason !== undefined) o.reason = ev.reason;
  if (ev.tls !== undefined) o.tls = ev.tls;
  if (ev.info !== undefined) o.info = ev.info;
  o.message = ev.message;
  if (ev.violations && ev.violations.length > 0) o.violations = ev.violations.map(violationJson);
  return terminalSafeJson(JSON.stringify(o));
}
