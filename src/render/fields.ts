/**
 * Views of a decoded packet shared by the human renderers: the key fields of the one-line view, secrets, and payload
 * previews.
 */
import { ONENET_SECRET_KEYS } from '../dialects/onenet.js';
import { sparkplugLine } from '../dialects/sparkplug/view.js';
import type { PacketRecord } from '../mqtt/connection-decoder.js';
import { SECRET_KEYS as FIELD_SECRET_KEYS } from '../mqtt/fields.js';
import type { ByteRange, DialectJson, MqttPacket, SubscriptionRequest } from '../mqtt/packets.js';
import { ReservedPacket } from '../mqtt/packets.js';
import { AUTH, CONNACK, CONNECT, DISCONNECT, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE } from '../mqtt/tables.js';
import { displayBytes, type BytesValue } from '../mqtt/utf8.js';
import { escapeText, quote } from './escape.js';
import { decodedLine } from './decoded.js';

/** Field keys whose values are secrets; `--redact` masks them in every mode (the registry's, and the dialects'). */
export const SECRET_KEYS: ReadonlySet<string> = new Set([...FIELD_SECRET_KEYS, ...ONENET_SECRET_KEYS]);

export const REDACTED = '***';

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

/** The reason/return code of a packet with its name, when it has one. */
function reason(code: number | undefined, name: string | undefined): string | null {
  if (code === undefined) return null;
  return `rc=0x${code.toString(16).padStart(2, '0')}${name !== undefined ? ` (${escapeText(name)})` : ''}`;
}

/** What a platform dialect found in a PUBLISH, in a few words (OneNET data points, command links). */
function dialectSummary(o: DialectJson | undefined): string | null {
  if (o === undefined) return null;
  const points = Array.isArray(o['datapoints']) ? (o['datapoints'] as Array<Record<string, unknown>>) : [];
  const shownPoints = points.slice(0, 6).map((p) => `${escapeText(String(p['stream']))}=${escapeText(typeof p['value'] === 'string' ? p['value'] : JSON.stringify(p['value']) ?? '')}`).join(' ')
    + (points.length > 6 ? ` +${points.length - 6}` : '');
  if (o['kind'] === 'dp') return `OneNET $dp type ${String(o['dpType'])}: ${shownPoints || '(no data points)'}`;
  if (o['kind'] === 'dp-post') return `OneNET dp-post id=${escapeText(String(o['id']))}: ${shownPoints || '(no data points)'}`;
  if (o['kind'] === 'command' && o['command'] === 'response') {
    const frame = o['requestFrame'];
    const ms = o['latencyMs'];
    return typeof frame === 'number'
      ? `OneNET command reply to frame ${frame}${typeof ms === 'number' ? ` (+${ms.toFixed(1)} ms)` : ''}`
      : 'OneNET command reply (request not captured)';
  }
  return null;
}

/** `line` and `part` joined by a space; empty parts are left out (the one-line view never shows double spaces). */
function add(line: string, part: string): string {
  if (part.length === 0) return line;
  return line.length === 0 ? part : `${line} ${part}`;
}

/** `codes=[0x01 Granted QoS 1, 0x87 Not authorized]`: each SUBACK/UNSUBACK code with its name. */
function codeList(codes: readonly number[], names: readonly string[] | undefined): string {
  let s = 'codes=[';
  for (let i = 0; i < codes.length; i++) {
    if (i > 0) s += ', ';
    s += `0x${codes[i]!.toString(16).padStart(2, '0')}`;
    const name = names?.[i];
    if (name !== undefined) s += ` ${escapeText(name)}`;
  }
  return `${s}]`;
}

/** The 5.0 Reason String of a packet, when it carries one: what the peer said about its reason code. */
function reasonString(line: string, props: { reasonString?: string | undefined } | undefined): string {
  const r = props?.reasonString;
  return r === undefined ? line : add(line, `reason=${quote(cut(r, 80))}`);
}

/** One subscription: `"a/b":1`, with the 5.0 options that differ from their defaults (`nl`, `rap`, `rh=N`). */
function subscriptionText(s: SubscriptionRequest): string {
  let t = `${quote(s.topic)}:${s.qos}`;
  if (s.noLocal) t += ',nl';
  if (s.retainAsPublished) t += ',rap';
  if (s.retainHandling) t += `,rh=${s.retainHandling}`;
  return t;
}

/** Most payload bytes a text view looks at: the same cut the NDJSON output makes. */
export function payloadLimit(full: boolean): number {
  return full ? -1 : 1024;
}

/** A byte range of a packet as text or hex (the NDJSON bytes value), cut after `limit` bytes. */
export function bytesValue(p: MqttPacket, r: ByteRange, limit: number, trueEnd = r.end): BytesValue {
  return displayBytes(p.bytes, r.start, r.end, limit, trueEnd);
}

/** The key fields of a packet for the one-line view. Runs for every packet: it appends to one string, no arrays. */
export function keyFields(rec: PacketRecord, redact: boolean, full = false): string {
  const p = rec.decoded;
  let line = '';
  switch (p.type) {
    case CONNECT: {
      line = add(line, `clientId=${quote(p.clientId ?? '')}`);
      if (p.keepAlive !== undefined) line = add(line, `keepAlive=${p.keepAlive}`);
      const clean = p.cleanStart ?? p.cleanSession;
      if (clean !== undefined) line = add(line, `${p.cleanStart !== undefined ? 'cleanStart' : 'clean'}=${clean ? 1 : 0}`);
      if (p.username !== undefined) line = add(line, `user=${quote(p.username)}`);
      if (p.password !== undefined) line = add(line, `password=${showEncoded(bytesValue(p, p.password, -1), 24, redact)}`);
      if (p.willFlag === true) {
        line = add(line, `will=${quote(p.willTopic ?? '')} willQos=${String(p.willQos)}`);
        if (p.willRetain === true) line = add(line, 'willRetain=1');
        if (p.willPayload !== undefined) line = add(line, `willLen=${p.willPayload.end - p.willPayload.start}`);
      }
      break;
    }
    case CONNACK: {
      if (p.sessionPresent !== undefined) line = add(line, `sessionPresent=${p.sessionPresent ? 1 : 0}`);
      const r = p.reasonCode !== undefined ? reason(p.reasonCode, p.reasonCodeName) : reason(p.returnCode, p.returnCodeName);
      if (r) line = add(line, r);
      line = reasonString(line, p.properties);
      break;
    }
    case PUBLISH: {
      line = add(line, `topic=${quote(p.topic ?? '')}`);
      const alias = p.properties?.topicAlias;
      if (alias !== undefined) line = add(line, `alias=${alias}`);
      if (p.resolvedTopic !== undefined) line = add(line, `(→ ${quote(p.resolvedTopic)})`);
      line = add(line, `qos=${p.headerFields ? p.qos : 'undefined'}`);
      if (p.packetId !== undefined) line = add(line, `id=${p.packetId}`);
      if (p.headerFields && p.retain) line = add(line, 'retain');
      if (p.headerFields && p.dup) line = add(line, 'dup');
      if (p.payloadLength !== undefined) line = add(line, `len=${p.payloadLength}`);
      const dialect = dialectSummary(p.onenet);
      // Data points replace the raw payload; a command keeps its payload (the command text) beside the link.
      const sparkplug = sparkplugLine(p.sparkplug);
      // Decoded Sparkplug metrics replace the protobuf bytes too (a payload that is not protobuf keeps them).
      const isDataPoints = (dialect !== null && !dialect.startsWith('OneNET command')) || (sparkplug !== null && p.sparkplug?.['error'] === undefined && p.sparkplug?.['kind'] !== 'invalid');
      if (!isDataPoints && p.payloadLength !== undefined) {
        line = add(line, showEncoded(bytesValue(p, { start: p.payloadOffset, end: p.payloadEnd }, payloadLimit(full), p.payloadOffset + p.payloadLength), 40));
      }
      if (dialect !== null) line = add(line, dialect);
      if (sparkplug !== null) line = add(line, escapeText(sparkplug));
      // --decode: what the bound format made of the payload (nothing without a binding, so the line stays as it was).
      const decoded = decodedLine(p.payloadDecoded, full);
      if (decoded !== null) line = add(line, escapeText(decoded));
      break;
    }
    case SUBSCRIBE: {
      if (p.packetId !== undefined) line = add(line, `id=${p.packetId}`);
      line = add(line, (p.subscriptions ?? []).map(subscriptionText).join(' '));
      break;
    }
    case SUBACK: {
      if (p.packetId !== undefined) line = add(line, `id=${p.packetId}`);
      if (p.reasonCodes !== undefined) line = add(line, codeList(p.reasonCodes, p.reasonCodeNames));
      else if (p.returnCodes !== undefined) line = add(line, codeList(p.returnCodes, p.returnCodeNames));
      line = reasonString(line, p.properties);
      break;
    }
    case UNSUBSCRIBE: {
      if (p.packetId !== undefined) line = add(line, `id=${p.packetId}`);
      line = add(line, (p.topics ?? []).map((t) => quote(t)).join(' '));
      break;
    }
    case UNSUBACK: {
      if (p.packetId !== undefined) line = add(line, `id=${p.packetId}`);
      if (p.reasonCodes !== undefined) line = add(line, codeList(p.reasonCodes, p.reasonCodeNames));
      line = reasonString(line, p.properties);
      break;
    }
    case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: {
      if (p.packetId !== undefined) line = add(line, `id=${p.packetId}`);
      const r = reason(p.reasonCode, p.reasonCodeName);
      if (r) line = add(line, r);
      line = reasonString(line, p.properties);
      break;
    }
    case DISCONNECT: case AUTH: {
      if (p instanceof ReservedPacket) break; // type 15 before 5.0
      const r = reason(p.reasonCode, p.reasonCodeName);
      if (r) line = add(line, r);
      line = reasonString(line, p.properties);
      break;
    }
    default:
      break;
  }
  return line;
}
