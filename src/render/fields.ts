/**
 * Views of a decoded packet's `fields` shared by the human and machine renderers: the key fields of the one-line
 * view, redaction, and payload previews.
 */
import type { PacketRecord } from '../mqtt/connection-decoder.js';
import { escapeText, quote } from './escape.js';

/** Field keys whose values are secrets; `--redact` masks them in every mode. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'authenticationData', 'authInfo']);

export const REDACTED = '***';

/** A deep copy of `fields` with every secret replaced (JSON mode). */
export function redactFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactFields);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEYS.has(k) && v !== null && v !== undefined ? { encoding: 'redacted' } : redactFields(v);
    }
    return out;
  }
  return value;
}

/** Binary-or-text values as the decoder stores them. */
interface EncodedValue {
  encoding: string;
  text?: string;
  data?: string;
  truncated?: boolean;
}

function isEncoded(v: unknown): v is EncodedValue {
  return v !== null && typeof v === 'object' && typeof (v as EncodedValue).encoding === 'string';
}

/** Short display of a text-or-binary value, escaped for a terminal. */
export function showEncoded(v: unknown, max = 48, redact = false): string {
  if (redact) return REDACTED;
  if (typeof v === 'string') return quote(cut(v, max));
  if (!isEncoded(v)) return escapeText(String(v));
  if (v.encoding === 'redacted') return REDACTED;
  if (typeof v.text === 'string') return quote(cut(v.text, max)) + (v.truncated ? '…' : '');
  if (typeof v.data === 'string') return `0x${cut(v.data, max * 2)}${v.truncated ? '…' : ''}`;
  return `(${escapeText(v.encoding)})`;
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function str(v: unknown): string {
  return typeof v === 'string' ? quote(v) : showEncoded(v);
}

/** The reason/return code of a packet with its name, when it has one. */
function reason(f: Record<string, unknown>): string | null {
  const code = f.reasonCode ?? f.returnCode;
  if (typeof code !== 'number') return null;
  const name = f.reasonCodeName ?? f.returnCodeName;
  return `rc=0x${code.toString(16).padStart(2, '0')}${typeof name === 'string' ? ` (${escapeText(name)})` : ''}`;
}

/** What a platform dialect found in a PUBLISH, in a few words (OneNET data points, command links). */
function dialectSummary(onenet: unknown): string | null {
  if (onenet === null || typeof onenet !== 'object') return null;
  const o = onenet as Record<string, unknown>;
  const points = Array.isArray(o.datapoints) ? (o.datapoints as Array<Record<string, unknown>>) : [];
  const shownPoints = points.slice(0, 6).map((p) => `${escapeText(String(p.stream))}=${escapeText(typeof p.value === 'string' ? p.value : JSON.stringify(p.value) ?? '')}`).join(' ')
    + (points.length > 6 ? ` +${points.length - 6}` : '');
  if (o.kind === 'dp') return `OneNET $dp type ${String(o.dpType)}: ${shownPoints || '(no data points)'}`;
  if (o.kind === 'dp-post') return `OneNET dp-post id=${escapeText(String(o.id))}: ${shownPoints || '(no data points)'}`;
  if (o.kind === 'command' && o.command === 'response') {
    return typeof o.requestFrame === 'number'
      ? `OneNET command reply to frame ${o.requestFrame}${typeof o.latencyMs === 'number' ? ` (+${o.latencyMs.toFixed(1)} ms)` : ''}`
      : 'OneNET command reply (request not captured)';
  }
  return null;
}

/** `line` and `part` joined by a space; empty parts are left out (the one-line view never shows double spaces). */
function add(line: string, part: string): string {
  if (part.length === 0) return line;
  return line.length === 0 ? part : `${line} ${part}`;
}

function codeList(codes: unknown[]): string {
  return `codes=[${codes.map((c) => (typeof c === 'number' ? `0x${c.toString(16).padStart(2, '0')}` : String(c))).join(',')}]`;
}

/** The key fields of a packet for the one-line view. Runs for every packet: it appends to one string, no arrays. */
export function keyFields(rec: PacketRecord, redact: boolean): string {
  const f = rec.decoded.fields;
  let line = '';
  const id = typeof f.packetId === 'number' ? `id=${f.packetId}` : '';
  switch (rec.decoded.typeName) {
    case 'CONNECT': {
      line = add(line, `clientId=${str(f.clientId ?? '')}`);
      if (typeof f.keepAlive === 'number') line = add(line, `keepAlive=${f.keepAlive}`);
      const clean = f.cleanStart ?? f.cleanSession;
      if (typeof clean === 'boolean') line = add(line, `${'cleanStart' in f ? 'cleanStart' : 'clean'}=${clean ? 1 : 0}`);
      if (f.username !== undefined && f.username !== null) line = add(line, `user=${str(f.username)}`);
      if (f.password !== undefined && f.password !== null) line = add(line, `password=${showEncoded(f.password, 24, redact)}`);
      if (f.willFlag === true) line = add(line, `will=${str(f.willTopic ?? '')} willQos=${String(f.willQos)}`);
      break;
    }
    case 'CONNACK': {
      if (typeof f.sessionPresent === 'boolean') line = add(line, `sessionPresent=${f.sessionPresent ? 1 : 0}`);
      const r = reason(f);
      if (r) line = add(line, r);
      break;
    }
    case 'PUBLISH': {
      line = add(line, `topic=${str(f.topic ?? '')}`);
      const props = f.properties as Record<string, unknown> | undefined;
      if (props && typeof props.topicAlias === 'number') line = add(line, `alias=${props.topicAlias}`);
      if (typeof f.resolvedTopic === 'string') line = add(line, `(→ ${quote(f.resolvedTopic)})`);
      line = add(line, `qos=${String(f.qos)}`);
      line = add(line, id);
      if (f.retain === true) line = add(line, 'retain');
      if (f.dup === true) line = add(line, 'dup');
      if (typeof f.payloadLength === 'number') line = add(line, `len=${f.payloadLength}`);
      const dialect = dialectSummary(f.onenet);
      // Data points replace the raw payload; a command keeps its payload (the command text) beside the link.
      const isDataPoints = dialect !== null && !dialect.startsWith('OneNET command');
      if (!isDataPoints && f.payload !== undefined) line = add(line, showEncoded(f.payload, 40));
      if (dialect !== null) line = add(line, dialect);
      break;
    }
    case 'SUBSCRIBE': {
      line = add(line, id);
      const subs = Array.isArray(f.subscriptions) ? f.subscriptions as Array<Record<string, unknown>> : [];
      line = add(line, subs.map((s) => `${str(s.topic ?? '')}:${String(s.qos)}`).join(' '));
      break;
    }
    case 'SUBACK': {
      line = add(line, id);
      const codes = (f.reasonCodes ?? f.returnCodes) as unknown;
      if (Array.isArray(codes)) line = add(line, codeList(codes));
      break;
    }
    case 'UNSUBSCRIBE': {
      line = add(line, id);
      const topics = Array.isArray(f.topics) ? f.topics as unknown[] : [];
      line = add(line, topics.map(str).join(' '));
      break;
    }
    default: {
      line = add(line, id);
      const r = reason(f);
      if (r) line = add(line, r);
      if (Array.isArray(f.reasonCodes)) line = add(line, codeList(f.reasonCodes as unknown[]));
    }
  }
  return line;
}
