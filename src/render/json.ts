/** NDJSON records: the stable machine contract documented in docs/json.md. */
import type { PacketRecord, Violation } from '../mqtt/connection-decoder.js';
import { VERSION_NAME } from '../mqtt/types.js';
import type { Connection, Direction, StreamEvent } from '../tcp/types.js';
import { redactFields } from './fields.js';
import { isoTime } from './format.js';

/**
 * JSON.stringify escapes C0 controls but leaves DEL, C1 controls and bidi overrides raw: valid JSON, yet unsafe on a
 * terminal. Writing them as \u escapes keeps the parsed value identical.
 */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafeJson(text: string): string {
  // Every unsafe character is U+007F or above. Buffer.byteLength (native, vectorised) equals the length exactly when
  // all characters are ASCII, and then only DEL is possible: two fast scans instead of the regex on the common
  // all-ASCII record.
  if (Buffer.byteLength(text, 'utf8') === text.length && text.indexOf('\u007f') < 0) return text;
  JSON_UNSAFE.lastIndex = 0;
  if (!JSON_UNSAFE.test(text)) return text;
  return text.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function endpoints(conn: Connection, dir: Direction): { src: string; dst: string } {
  return dir === 'c2s' ? { src: conn.client, dst: conn.server } : { src: conn.server, dst: conn.client };
}

/**
 * `"conn":…,"src":…,"dst":…,"dir":…` of a connection, per direction: the same for every packet of the connection, so
 * it is built once, when the connection's first packet is written.
 */
const connectionJson = new WeakMap<Connection, { c2s: string; s2c: string }>();

function connJson(conn: Connection, dir: Direction): string {
  let e = connectionJson.get(conn);
  if (e === undefined) {
    // Addresses are text we formatted ourselves (digits, hex, dots, colons, brackets): nothing terminal-unsafe.
    const client = JSON.stringify(conn.client);
    const server = JSON.stringify(conn.server);
    const id = num(conn.id);
    // join() gives flat strings; concatenation would keep a tree of pieces alive per connection, walked again by
    // every line that embeds it.
    e = {
      c2s: ['"conn":', id, ',"src":', client, ',"dst":', server, ',"dir":"c2s"'].join(''),
      s2c: ['"conn":', id, ',"src":', server, ',"dst":', client, ',"dir":"s2c"'].join(''),
    };
    connectionJson.set(conn, e);
  }
  return dir === 'c2s' ? e.c2s : e.s2c;
}

/** A JSON number the way JSON.stringify writes it (non-finite numbers become null). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * One packet as an NDJSON line. The envelope is concatenated by hand in the key order docs/json.md shows, which is
 * exactly what JSON.stringify of the equivalent object gives; only `fields` and `violations` go through
 * JSON.stringify and the terminal-safety scan, because only they hold text from the capture.
 */
export function packetJson(rec: PacketRecord, redact: boolean): string {
  const d = rec.decoded;
  const frames = rec.frames;
  const version = VERSION_NAME[d.level];
  const frame = num(rec.frame);
  const fields = terminalSafeJson(JSON.stringify(redact ? redactFields(d.fields) : d.fields));
  const violations = rec.violations.length === 0 ? '[]' : terminalSafeJson(JSON.stringify(rec.violations.map(violationJson)));
  return '{"kind":"packet","frame":' + frame
    // Most packets travel in the frame that completes them.
    + ',"frames":' + (frames.length === 1 ? (frames[0] === rec.frame ? '[' + frame + ']' : '[' + num(frames[0]!) + ']') : JSON.stringify(frames))
    // isoTime gives digits, '-', ':', '.', 'T', 'Z' and '@': nothing JSON would escape.
    + ',"time":"' + isoTime(rec.timeSec, rec.timeNsec) + '",'
    + connJson(rec.conn, rec.dir)
    + ',"version":' + (version === undefined ? 'null' : '"' + version + '"')
    + ',"versionInferred":' + (rec.levelInferred ? 'true' : 'false')
    + ',"type":' + JSON.stringify(d.typeName)
    + ',"length":' + num(d.length)
    + ',"fields":' + fields
    + ',"violations":' + violations
    + '}';
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
  if (conn && ev.dir) Object.assign(o, endpoints(conn, ev.dir));
  else if (conn) Object.assign(o, { src: conn.client, dst: conn.server });
  if (ev.bytes !== undefined) o.bytes = ev.bytes;
  o.message = ev.message;
  if (ev.violations && ev.violations.length > 0) o.violations = ev.violations.map(violationJson);
  return terminalSafeJson(JSON.stringify(o));
}
