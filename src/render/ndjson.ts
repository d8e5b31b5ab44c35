/**
 * NDJSON packet records written straight into bytes (bytes-out.ts) from the typed packet: keys come from the field
 * registry (src/mqtt/fields.ts) as precomputed fragments, in the registry's order; numbers, strings and payloads are
 * written directly. The output is byte-for-byte what JSON.stringify of the documented object gives, made
 * terminal-safe (docs/json.md), without building that object.
 */
import type { PacketRecord, Violation } from '../mqtt/connection-decoder.js';
import { ONENET_SECRET_KEYS } from '../dialects/onenet.js';
import { FIELD, PACKET_FIELDS, SECRET_KEYS, type FieldDef } from '../mqtt/fields.js';
import type { ByteRange, MqttPacket, Properties } from '../mqtt/packets.js';
import { ReservedPacket } from '../mqtt/packets.js';
import {
  AUTH, CONNACK, CONNECT, DISCONNECT, PROPERTY_BY_ID, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK,
  UNSUBSCRIBE,
} from '../mqtt/tables.js';
import { cutBytes } from '../mqtt/utf8.js';
import type { Connection, Direction } from '../tcp/types.js';
import { ByteOut, fragment } from './bytes-out.js';
import { isoTime, isoTimePrefix } from './format.js';

export interface JsonOptions {
  redact: boolean;
  /** Most payload bytes shown (Will Payload and PUBLISH payload); negative: no limit. */
  payloadLimit: number;
}

// ---- fragments -----------------------------------------------------------------------------------

/** `"key":` for every registry field and every property, made once. */
const KEY = new Map<string, Uint8Array>();
function key(k: string): Uint8Array {
  let f = KEY.get(k);
  if (f === undefined) {
    f = fragment(`${JSON.stringify(k)}:`);
    KEY.set(k, f);
  }
  return f;
}
const K = Object.fromEntries(Object.entries(FIELD).map(([name, f]) => [name, key((f as FieldDef).key)])) as Record<keyof typeof FIELD, Uint8Array>;
const PROP_KEY: readonly (Uint8Array | undefined)[] = PROPERTY_BY_ID.map((p) => (p ? key(p.key) : undefined));

const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const TRUE = fragment('true');
const FALSE = fragment('false');
const EMPTY_OBJECT = fragment('{}');
const EMPTY_ARRAY = fragment('[]');
const REDACTED = fragment('{"encoding":"redacted"}');
const UTF8_TEXT = fragment('{"encoding":"utf8","text":');
const HEX_DATA = fragment('{"encoding":"hex","data":"');
const TRUNCATED = fragment(',"truncated":true}');

const PACKET_HEAD = fragment('{"kind":"packet","frame":');
const FRAMES = fragment(',"frames":[');
const TIME = fragment('],"time":"');
const FIELDS = fragment(',"fields":');
const CUT = fragment(',"truncated":true,"capturedLength":');
const VIOLATIONS = fragment(',"violations":');
const NO_VIOLATIONS = fragment(',"violations":[]}');
const VERSION_TEXT: Record<number, string> = { 3: '"3.1"', 4: '"3.1.1"', 5: '"5.0"' };

/**
 * `,"version":…,"versionInferred":…,"type":…,"length":` in one fragment, made once per level, inferred or not and
 * type name (the name is a function of the type nibble and the level): one copy per record instead of seven.
 */
const MIDDLE = new Map<string, Uint8Array>();
function middle(level: number, inferred: boolean, typeName: string): Uint8Array {
  const k = `${level}${inferred ? 'i' : 'r'}${typeName}`;
  let f = MIDDLE.get(k);
  if (f === undefined) {
    f = fragment(`,"version":${VERSION_TEXT[level] ?? 'null'},"versionInferred":${inferred},"type":${JSON.stringify(typeName)},"length":`);
    MIDDLE.set(k, f);
  }
  return f;
}
/** The same, for the common case, without building the key: by level (3-5), inferred and type nibble. */
const MIDDLE_FAST: (Uint8Array | undefined)[] = new Array(3 * 2 * 16).fill(undefined);

/** The date-and-time prefix of the last second written (`2023-11-14T22:13:20.`), as bytes. */
let prefixSec = Number.NaN;
let prefixBytes: Uint8Array = new Uint8Array(0);

/** `"time":"…"` text as isoTime() gives it, written without making the string. */
export function writeIsoTime(w: ByteOut, sec: number, nsec: number): void {
  if (sec !== prefixSec) {
    const prefix = isoTimePrefix(sec);
    if (prefix === null || !Number.isInteger(nsec) || nsec < 0 || nsec >= 1e9) {
      w.ascii(isoTime(sec, nsec));
      return;
    }
    prefixBytes = fragment(prefix);
    prefixSec = sec;
  }
  if (!Number.isInteger(nsec) || nsec < 0 || nsec >= 1e9) {
    w.ascii(isoTime(sec, nsec));
    return;
  }
  w.raw(prefixBytes);
  if (nsec % 1000 === 0) w.padded(nsec / 1000, 6);
  else w.padded(nsec, 9);
  w.byte(0x5a);
}

/**
 * `",` (the end of the time) and `"conn":…,"tcpStream":…,"src":…,"dst":…,"dir":…` of a connection per direction,
 * made when the connection's first packet is written (addresses are text we formatted: digits, hex, dots, colons,
 * brackets — nothing to escape).
 */
const CONN_JSON = new WeakMap<Connection, { c2s: Uint8Array; s2c: Uint8Array }>();
function connJson(conn: Connection, dir: Direction): Uint8Array {
  let e = CONN_JSON.get(conn);
  if (e === undefined) {
    const client = JSON.stringify(conn.client);
    const server = JSON.stringify(conn.server);
    const id = Number.isFinite(conn.id) ? String(conn.id) : 'null';
    const stream = conn.tcpStream === null ? 'null' : String(conn.tcpStream);
    // Bytes unwrapped by the transport stage (decrypted TLS): which transport, and the key-log entry used.
    // The key source names a file the user gave: escaped to ASCII, as every record is terminal-safe.
    const keys = conn.transportKeys === undefined ? '' : `,"transportKeys":${JSON.stringify(conn.transportKeys).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`;
    const t = conn.transport === undefined ? '' : `,"transport":${JSON.stringify(conn.transport.join('+'))}${keys}`;
    e = {
      c2s: fragment(`","conn":${id},"tcpStream":${stream},"src":${client},"dst":${server},"dir":"c2s"${t}`),
      s2c: fragment(`","conn":${id},"tcpStream":${stream},"src":${server},"dst":${client},"dir":"s2c"${t}`),
    };
    CONN_JSON.set(conn, e);
  }
  return dir === 'c2s' ? e.c2s : e.s2c;
}

// ---- one record ----------------------------------------------------------------------------------

/** One packet record and its newline. */
export function writePacketRecord(w: ByteOut, rec: PacketRecord, o: JsonOptions): void {
  const p = rec.decoded;
  w.raw(PACKET_HEAD);
  w.num(rec.frame);
  w.raw(FRAMES);
  const frames = rec.frames;
  for (let i = 0; i < frames.length; i++) {
    if (i > 0) w.byte(COMMA);
    w.num(frames[i]!);
  }
  w.raw(TIME);
  // The time is digits, '-', ':', '.', 'T', 'Z' and '@': nothing JSON would escape.
  writeIsoTime(w, rec.timeSec, rec.timeNsec);
  w.raw(connJson(rec.conn, rec.dir));
  const lv = p.level;
  const inferred = rec.levelInferred;
  if (lv >= 3 && lv <= 5) {
    const slot = ((lv - 3) * 2 + (inferred ? 1 : 0)) * 16 + p.wireType;
    let f = MIDDLE_FAST[slot];
    if (f === undefined) MIDDLE_FAST[slot] = f = middle(lv, inferred, p.typeName);
    w.raw(f);
  } else {
    w.raw(middle(lv, inferred, p.typeName));
  }
  if (rec.truncated === undefined) {
    w.num(p.length);
  } else {
    // Cut by the snaplen: the length the packet declares, then what the capture kept of it.
    w.num(rec.truncated);
    w.raw(CUT);
    w.num(rec.bytes.length);
  }
  w.raw(FIELDS);
  writeFields(w, p, o);
  if (rec.violations.length === 0) {
    w.raw(NO_VIOLATIONS);
  } else {
    w.raw(VIOLATIONS);
    writeViolations(w, rec.violations);
    w.byte(CLOSE);
  }
  w.byte(0x0a);
}

export function writeViolations(w: ByteOut, vs: readonly Violation[]): void {
  w.byte(0x5b);
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i]!;
    if (i > 0) w.byte(COMMA);
    w.ascii('{"id":');
    w.jsonString(v.id);
    w.ascii(',"spec":');
    w.jsonString(v.spec);
    w.ascii(',"severity":');
    w.jsonString(v.severity);
    w.ascii(',"message":');
    w.jsonString(v.message);
    if (v.offset !== undefined) {
      w.ascii(',"offset":');
      w.num(v.offset);
      w.ascii(',"length":');
      w.num(v.length ?? 1);
    }
    w.byte(CLOSE);
  }
  w.byte(0x5d);
}

// ---- fields ----------------------------------------------------------------------------------------

/**
 * Writes the members of an object one by one: a comma before all but the first. A small object instead of a flag
 * passed around, reused for every packet (fields objects do not nest, except through properties and dialect data,
 * which have writers of their own).
 */
class Members {
  first = true;
  constructor(private readonly w: ByteOut) {}
  begin(): void {
    this.w.byte(OPEN);
    this.first = true;
  }
  key(k: Uint8Array): void {
    if (this.first) this.first = false;
    else this.w.byte(COMMA);
    this.w.raw(k);
  }
  end(): void {
    this.w.byte(CLOSE);
  }
}

const membersOf = new WeakMap<ByteOut, Members>();
/** The last writer's Members: a run has one writer, and a WeakMap lookup per record showed in profiles. */
let lastWriter: ByteOut | null = null;
let lastMembers: Members | null = null;
function members(w: ByteOut): Members {
  if (w === lastWriter) return lastMembers!;
  let m = membersOf.get(w);
  if (m === undefined) {
    m = new Members(w);
    membersOf.set(w, m);
  }
  lastWriter = w;
  lastMembers = m;
  return m;
}

/**
 * A PUBLISH's first three members, `"qos":…,"dup":…,"retain":…`, as one fragment per combination of the three
 * (indexed qos * 4 + dup * 2 + retain; QoS 3 included, as the header can say it).
 */
const PUBLISH_FLAGS: readonly Uint8Array[] = Array.from({ length: 16 }, (_, i) => {
  const k = (f: FieldDef): string => `${JSON.stringify(f.key)}:`;
  return fragment(`${k(FIELD.qos)}${i >> 2},${k(FIELD.dup)}${(i & 2) !== 0},${k(FIELD.retain)}${(i & 1) !== 0}`);
});

function bool(w: ByteOut, v: boolean): void {
  w.raw(v ? TRUE : FALSE);
}

/** The packet's `fields` object. */
export function writeFields(w: ByteOut, p: MqttPacket, o: JsonOptions): void {
  const m = members(w);
  m.begin();
  switch (p.type) {
    case CONNECT: {
      if (p.protocolName !== undefined) { m.key(K.protocolName); w.jsonString(p.protocolName); }
      if (p.protocolLevel !== undefined) { m.key(K.protocolLevel); w.num(p.protocolLevel); }
      if (p.bridge !== undefined) { m.key(K.bridge); bool(w, p.bridge); }
      if (p.cleanSession !== undefined) { m.key(K.cleanSession); bool(w, p.cleanSession); }
      if (p.cleanStart !== undefined) { m.key(K.cleanStart); bool(w, p.cleanStart); }
      if (p.willFlag !== undefined) { m.key(K.willFlag); bool(w, p.willFlag); }
      if (p.willQos !== undefined) { m.key(K.willQos); w.num(p.willQos); }
      if (p.willRetain !== undefined) { m.key(K.willRetain); bool(w, p.willRetain); }
      if (p.passwordFlag !== undefined) { m.key(K.passwordFlag); bool(w, p.passwordFlag); }
      if (p.usernameFlag !== undefined) { m.key(K.usernameFlag); bool(w, p.usernameFlag); }
      if (p.keepAlive !== undefined) { m.key(K.keepAlive); w.num(p.keepAlive); }
      if (p.properties !== undefined) { m.key(K.properties); writeProperties(w, p.bytes, p.properties, o.redact); }
      if (p.clientId !== undefined) { m.key(K.clientId); w.jsonString(p.clientId); }
      if (p.willProperties !== undefined) { m.key(K.willProperties); writeProperties(w, p.bytes, p.willProperties, o.redact); }
      if (p.willTopic !== undefined) { m.key(K.willTopic); w.jsonString(p.willTopic); }
      if (p.willPayload !== undefined) { m.key(K.willPayload); writeBytesValue(w, p.bytes, p.willPayload.start, p.willPayload.end, p.willPayload.end, o.payloadLimit); }
      if (p.username !== undefined) { m.key(K.username); w.jsonString(p.username); }
      if (p.password !== undefined) { m.key(K.password); writeSecret(w, p.bytes, p.password, o.redact); }
      if (p.onenet !== undefined) { m.key(K.onenet); writeJson(w, p.onenet, o.redact); }
      break;
    }
    case CONNACK: {
      if (p.sessionPresent !== undefined) { m.key(K.sessionPresent); bool(w, p.sessionPresent); }
      if (p.returnCode !== undefined) { m.key(K.returnCode); w.num(p.returnCode); }
      if (p.returnCodeName !== undefined) { m.key(K.returnCodeName); w.jsonString(p.returnCodeName); }
      if (p.reasonCode !== undefined) { m.key(K.reasonCode); w.num(p.reasonCode); }
      if (p.reasonCodeName !== undefined) { m.key(K.reasonCodeName); w.jsonString(p.reasonCodeName); }
      if (p.properties !== undefined) { m.key(K.properties); writeProperties(w, p.bytes, p.properties, o.redact); }
      break;
    }
    case PUBLISH: {
      if (p.headerFields) {
        // The first members of the object: the fragment starts without a comma.
        m.key(PUBLISH_FLAGS[(p.qos & 3) * 4 + (p.dup ? 2 : 0) + (p.retain ? 1 : 0)]!);
      }
      if (p.topic !== undefined) { m.key(K.topic); w.jsonString(p.topic); }
      if (p.packetId !== undefined) { m.key(K.packetId); w.num(p.packetId); }
      if (p.properties !== undefined) { m.key(K.properties); writeProperties(w, p.bytes, p.properties, o.redact); }
      if (p.payloadLength !== undefined) {
        m.key(K.payloadLength); w.num(p.payloadLength);
        m.key(K.payload); writeBytesValue(w, p.bytes, p.payloadOffset, p.payloadEnd, p.payloadOffset + p.payloadLength, o.payloadLimit);
      }
      if (p.resolvedTopic !== undefined) { m.key(K.resolvedTopic); w.jsonString(p.resolvedTopic); }
      if (p.onenet !== undefined) { m.key(K.onenet); writeJson(w, p.onenet, o.redact); }
      if (p.sparkplug !== undefined) { m.key(K.sparkplug); writeJson(w, p.sparkplug, false); }
      if (p.payloadView !== undefined) { m.key(K.payloadView); w.jsonString(p.payloadView); }
      if (p.payloadDecoded !== undefined) { m.key(K.payloadDecoded); writeJson(w, p.payloadDecoded, o.redact); }
      break;
    }
    case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: {
      if (p.packetId !== undefined) { m.key(K.packetId); w.num(p.packetId); }
      if (p.reasonCode !== undefined) { m.key(K.reasonCode); w.num(p.reasonCode); }
      if (p.reasonCodeName !== undefined) { m.key(K.reasonCodeName); w.jsonString(p.reasonCodeName); }
      if (p.properties !== undefined) { m.key(K.properties); writeProperties(w, p.bytes, p.properties, o.redact); }
      break;
    }
    case SUBSCRIBE: {
      if (p.packetId !== undefined) { m.key(K.packetId); w.num(p.packetId); }
      if (p.properties !== undefined) { m.key(K.properties); writeProperties(w, p.bytes, p.properties, o.redact); }
      if (p.subscriptions !== undefined) {
        m.key(K.subscriptions);
        w.byte(0x5b);
        for (let i = 0; i < p.subscriptions.length; i++) {
          const s = p.subscriptions[i]!;
          if (i > 0) w.byte(COMMA);
          w.byte(OPEN);
          w.raw(K.subscriptionTopic);
          w.jsonString(s.topic);
          w.byte(COMMA);
          w.raw(K.subscriptionQos);
          w.num(s.qos);
          if (s.noLocal !== undefined) { w.byte(COMMA); w.raw(K.noLocal); bool(w, s.noLocal); }
          if (s.retainAsPublished !== undefined) { w.byte(COMMA); w.raw(K.retainAsPublished); bool(w, s.retainAsPublished); }
          if (s.retainHandling !== undefined) { w.byte(COMMA); w.raw(K.retainHandling); w.num(s.retainHandling); }
          w.byte(CLOSE);
        }
        w.byte(0x5d);
      }
      break;
    }
    case SUBACK: {
      if (p.packetId !== undefined) { m.key(K.packetId); w.num(p.packetId); }
      if (p.properties !== undefined) { m.key(K.properties); writeProperties(w, p.bytes, p.properties, o.redact); }
      if (p.returnCodes !== undefined) { m.key(K.returnCodes); numbers(w, p.returnCodes); }
      if (p.returnCodeNames !== undefined) { m.key(K.returnCodeNames); strings(w, p.returnCodeNames); }
      if (p.reasonCodes !== undefined) { m.key(K.reasonCodes); numbers(w, p.reasonCodes); }
      if (p.reasonCodeNames !== undefined) { m.key(K.reasonCodeNames); strings(w, p.reasonCodeNames); }
      break;
    }
    case UNSUBSCRIBE: {
      if (p.packetId !== undefined) { m.key(K.packetId); w.num(p.packetId); }
      if (p.properties !== undefined) { m.key(K.properties); writeProperties(w, p.bytes, p.properties, o.redact); }
      if (p.topics !== undefined) { m.key(K.topics); strings(w, p.topics); }
      break;
    }
    case UNSUBACK: {
      if (p.packetId !== undefined) { m.key(K.packetId); w.num(p.packetId); }
      if (p.properties !== undefined) { m.key(K.properties); writeProperties(w, p.bytes, p.properties, o.redact); }
      if (p.reasonCodes !== undefined) { m.key(K.reasonCodes); numbers(w, p.reasonCodes); }
      if (p.reasonCodeNames !== undefined) { m.key(K.reasonCodeNames); strings(w, p.reasonCodeNames); }
      break;
    }
    case DISCONNECT: case AUTH: {
      if (p instanceof ReservedPacket) break; // type 15 before 5.0
      if (p.reasonCode !== undefined) { m.key(K.reasonCode); w.num(p.reasonCode); }
      if (p.reasonCodeName !== undefined) { m.key(K.reasonCodeName); w.jsonString(p.reasonCodeName); }
      if (p.properties !== undefined) { m.key(K.properties); writeProperties(w, p.bytes, p.properties, o.redact); }
      break;
    }
    default:
      // PINGREQ, PINGRESP and reserved types carry no fields.
      break;
  }
  m.end();
}

function numbers(w: ByteOut, a: readonly number[]): void {
  if (a.length === 0) { w.raw(EMPTY_ARRAY); return; }
  w.byte(0x5b);
  for (let i = 0; i < a.length; i++) {
    if (i > 0) w.byte(COMMA);
    w.num(a[i]!);
  }
  w.byte(0x5d);
}

function strings(w: ByteOut, a: readonly string[]): void {
  if (a.length === 0) { w.raw(EMPTY_ARRAY); return; }
  w.byte(0x5b);
  for (let i = 0; i < a.length; i++) {
    if (i > 0) w.byte(COMMA);
    w.jsonString(a[i]!);
  }
  w.byte(0x5d);
}

/**
 * A text-or-binary value: `{"encoding":"utf8","text":…}` when the shown bytes read as text, else hex; cut after
 * `limit` bytes (a character is never split), `"truncated":true` when less than the whole value is shown. The same
 * decision as displayBytes() in src/mqtt/utf8.ts, which the tree uses.
 */
function writeBytesValue(w: ByteOut, b: Uint8Array, start: number, end: number, trueEnd: number, limit: number): void {
  const { cut, textCut, truncated, text } = cutBytes(b, start, end, limit, trueEnd);
  if (text) {
    w.raw(UTF8_TEXT);
    w.jsonUtf8(b, start, textCut);
  } else {
    w.raw(HEX_DATA);
    w.hex(b, start, cut);
    w.byte(0x22);
  }
  if (truncated) w.raw(TRUNCATED);
  else w.byte(CLOSE);
}

/** A secret bytes value (password, Authentication Data): shown whole, or masked by --redact. */
function writeSecret(w: ByteOut, b: Uint8Array, r: ByteRange, redact: boolean): void {
  if (redact) w.raw(REDACTED);
  else writeBytesValue(w, b, r.start, r.end, r.end, -1);
}

/** A property block: one member per property, in the order of first appearance. */
function writeProperties(w: ByteOut, b: Uint8Array, props: Properties, redact: boolean): void {
  const order = props.order;
  if (order.length === 0) { w.raw(EMPTY_OBJECT); return; }
  w.byte(OPEN);
  for (let i = 0; i < order.length; i++) {
    const id = order[i]!;
    if (i > 0) w.byte(COMMA);
    w.raw(PROP_KEY[id]!);
    switch (id) {
      case 0x01: w.num(props.payloadFormatIndicator!); break;
      case 0x02: w.num(props.messageExpiryInterval!); break;
      case 0x03: w.jsonString(props.contentType!); break;
      case 0x08: w.jsonString(props.responseTopic!); break;
      case 0x09: {
        const r = props.correlationData!;
        w.raw(HEX_DATA);
        w.hex(b, r.start, r.end);
        w.byte(0x22);
        w.byte(CLOSE);
        break;
      }
      case 0x0b: {
        const s = props.subscriptionIdentifier!;
        if (typeof s === 'number') w.num(s);
        else numbers(w, s);
        break;
      }
      case 0x11: w.num(props.sessionExpiryInterval!); break;
      case 0x12: w.jsonString(props.assignedClientIdentifier!); break;
      case 0x13: w.num(props.serverKeepAlive!); break;
      case 0x15: w.jsonString(props.authenticationMethod!); break;
      case 0x16: writeSecret(w, b, props.authenticationData!, redact); break;
      case 0x17: w.num(props.requestProblemInformation!); break;
      case 0x18: w.num(props.willDelayInterval!); break;
      case 0x19: w.num(props.requestResponseInformation!); break;
      case 0x1a: w.jsonString(props.responseInformation!); break;
      case 0x1c: w.jsonString(props.serverReference!); break;
      case 0x1f: w.jsonString(props.reasonString!); break;
      case 0x21: w.num(props.receiveMaximum!); break;
      case 0x22: w.num(props.topicAliasMaximum!); break;
      case 0x23: w.num(props.topicAlias!); break;
      case 0x24: w.num(props.maximumQos!); break;
      case 0x25: w.num(props.retainAvailable!); break;
      case 0x26: {
        const up = props.userProperties!;
        w.byte(0x5b);
        for (let k = 0; k < up.length; k++) {
          if (k > 0) w.byte(COMMA);
          w.byte(0x5b);
          w.jsonString(up[k]![0]);
          w.byte(COMMA);
          w.jsonString(up[k]![1]);
          w.byte(0x5d);
        }
        w.byte(0x5d);
        break;
      }
      case 0x27: w.num(props.maximumPacketSize!); break;
      case 0x28: w.num(props.wildcardSubscriptionAvailable!); break;
      case 0x29: w.num(props.subscriptionIdentifierAvailable!); break;
      case 0x2a: w.num(props.sharedSubscriptionAvailable!); break;
    }
  }
  w.byte(CLOSE);
}

/** Secret keys inside dialect data too (OneNET's authentication info). */
const JSON_SECRETS: ReadonlySet<string> = new Set([...SECRET_KEYS, ...ONENET_SECRET_KEYS]);

/**
 * Plain JSON data (a dialect's annotations) the way JSON.stringify writes it: members whose value is undefined are
 * left out; a secret key anywhere is masked by --redact.
 */
export function writeJson(w: ByteOut, v: unknown, redact: boolean): void {
  if (v === null || v === undefined || typeof v === 'function' || typeof v === 'symbol') { w.ascii('null'); return; }
  if (typeof v === 'string') { w.jsonString(v); return; }
  if (typeof v === 'number') { w.ascii(Number.isFinite(v) ? String(v) : 'null'); return; }
  if (typeof v === 'boolean') { bool(w, v); return; }
  if (typeof v === 'bigint') { w.ascii(String(v)); return; }
  if (Array.isArray(v)) {
    w.byte(0x5b);
    for (let i = 0; i < v.length; i++) {
      if (i > 0) w.byte(COMMA);
      writeJson(w, v[i], redact);
    }
    w.byte(0x5d);
    return;
  }
  w.byte(OPEN);
  let first = true;
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    if (!first) w.byte(COMMA);
    first = false;
    w.jsonString(k);
    w.byte(0x3a);
    if (redact && JSON_SECRETS.has(k) && x !== null) w.raw(REDACTED);
    else writeJson(w, x, redact);
  }
  w.byte(CLOSE);
}

// ---- for tests and one-off use -------------------------------------------------------------------

/** The `fields` object of a packet as the NDJSON writer writes it, parsed back (tests, explain --json). */
export function fieldsObject(p: MqttPacket, o: JsonOptions = { redact: false, payloadLimit: 1024 }): Record<string, unknown> {
  return JSON.parse(fieldsText(p, o)) as Record<string, unknown>;
}

/** One packet record as a line of text (no newline): for callers without a byte output (tests). */
export function packetJsonText(rec: PacketRecord, o: JsonOptions): string {
  const chunks: Buffer[] = [];
  const w = new ByteOut((c) => chunks.push(c));
  writePacketRecord(w, rec, o);
  w.flush();
  const text = Buffer.concat(chunks).toString('utf8');
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/** The `fields` object of a packet as NDJSON text. */
export function fieldsText(p: MqttPacket, o: JsonOptions): string {
  const chunks: Buffer[] = [];
  const w = new ByteOut((c) => chunks.push(c));
  writeFields(w, p, o);
  w.flush();
  return Buffer.concat(chunks).toString('utf8');
}

/** Keys the writer may put in each packet type's fields: the registry's rows (test/fields-registry.test.ts). */
export const WRITTEN_KEYS: readonly (readonly string[])[] = PACKET_FIELDS.map((rows) => rows.filter((r) => !r.path.includes('.')).map((r) => r.field.key));
