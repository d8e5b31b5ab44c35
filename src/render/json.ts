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
  JSON_UNSAFE.lastIndex = 0;
  if (!JSON_UNSAFE.test(text)) return text;
  return text.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function endpoints(conn: Connection, dir: Direction): { src: string; dst: string } {
  return dir === 'c2s' ? { src: conn.client, dst: conn.server } : { src: conn.server, dst: conn.client };
}

export function packetJson(rec: PacketRecord, redact: boolean): string {
  const d = rec.decoded;
  const { src, dst } = endpoints(rec.conn, rec.dir);
  return terminalSafeJson(JSON.stringify({
    kind: 'packet',
    frame: rec.frame,
    frames: rec.frames,
    time: isoTime(rec.timeSec, rec.timeNsec),
    conn: rec.conn.id,
    src,
    dst,
    dir: rec.dir,
    version: VERSION_NAME[d.level] ?? null,
    versionInferred: rec.levelInferred,
    type: d.typeName,
    length: d.length,
    fields: redact ? redactFields(d.fields) : d.fields,
    violations: rec.violations.map(violationJson),
  }));
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
