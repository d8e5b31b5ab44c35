/**
 * Builds MQTT packets from readable descriptions for tests. Deliberately independent of
 * src/mqtt/tables.ts (own property ids and types), so a wrong table entry cannot hide itself.
 * Every builder takes raw overrides so tests can produce malformed bytes on purpose.
 */

export type Level = 3 | 4 | 5;
type Part = Uint8Array | number[] | string;

const enc = new TextEncoder();

export function bytes(...parts: Part[]): Uint8Array {
  const arrs = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrs.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrs) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** "10 2d 00 04" or "102d0004" → bytes. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2) throw new Error(`odd hex length: ${s}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

export function toHex(b: Uint8Array, sep = ' '): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(sep);
}

export const u8 = (v: number): Uint8Array => Uint8Array.of(v & 0xff);
export const u16 = (v: number): Uint8Array => Uint8Array.of((v >> 8) & 0xff, v & 0xff);
export const u32 = (v: number): Uint8Array => Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);

/** Minimal Variable Byte Integer. */
export function vbi(v: number): Uint8Array {
  const out: number[] = [];
  do {
    let d = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) d |= 0x80;
    out.push(d);
  } while (v > 0);
  return Uint8Array.from(out);
}

/** 2-byte length + UTF-8 (string) or raw bytes. */
export function str(s: string | Uint8Array): Uint8Array {
  const b = typeof s === 'string' ? enc.encode(s) : s;
  return bytes(u16(b.length), b);
}

export interface FixedOpts {
  /** Raw Remaining Length bytes instead of the minimal encoding of the body length. */
  rl?: number[];
}

/** Fixed header (type, flags) + Remaining Length + body. */
export function packet(type: number, flags: number, body: Uint8Array, o: FixedOpts = {}): Uint8Array {
  return bytes([(type << 4) | (flags & 15)], o.rl ? o.rl : vbi(body.length), body);
}

// ---- MQTT 5.0 properties -----------------------------------------------------------------

/** Spec ids (Table 2-4), written out here on purpose rather than imported. */
export const PID = {
  payloadFormatIndicator: 0x01,
  messageExpiryInterval: 0x02,
  contentType: 0x03,
  responseTopic: 0x08,
  correlationData: 0x09,
  subscriptionIdentifier: 0x0b,
  sessionExpiryInterval: 0x11,
  assignedClientIdentifier: 0x12,
  serverKeepAlive: 0x13,
  authenticationMethod: 0x15,
  authenticationData: 0x16,
  requestProblemInformation: 0x17,
  willDelayInterval: 0x18,
  requestResponseInformation: 0x19,
  responseInformation: 0x1a,
  serverReference: 0x1c,
  reasonString: 0x1f,
  receiveMaximum: 0x21,
  topicAliasMaximum: 0x22,
  topicAlias: 0x23,
  maximumQos: 0x24,
  retainAvailable: 0x25,
  userProperty: 0x26,
  maximumPacketSize: 0x27,
  wildcardSubscriptionAvailable: 0x28,
  subscriptionIdentifierAvailable: 0x29,
  sharedSubscriptionAvailable: 0x2a,
} as const;

type PropName = keyof typeof PID;
type Kind = 'byte' | 'u16' | 'u32' | 'vbi' | 'str' | 'pair' | 'bin';

const KIND: Record<PropName, Kind> = {
  payloadFormatIndicator: 'byte',
  messageExpiryInterval: 'u32',
  contentType: 'str',
  responseTopic: 'str',
  correlationData: 'bin',
  subscriptionIdentifier: 'vbi',
  sessionExpiryInterval: 'u32',
  assignedClientIdentifier: 'str',
  serverKeepAlive: 'u16',
  authenticationMethod: 'str',
  authenticationData: 'bin',
  requestProblemInformation: 'byte',
  willDelayInterval: 'u32',
  requestResponseInformation: 'byte',
  responseInformation: 'str',
  serverReference: 'str',
  reasonString: 'str',
  receiveMaximum: 'u16',
  topicAliasMaximum: 'u16',
  topicAlias: 'u16',
  maximumQos: 'byte',
  retainAvailable: 'byte',
  userProperty: 'pair',
  maximumPacketSize: 'u32',
  wildcardSubscriptionAvailable: 'byte',
  subscriptionIdentifierAvailable: 'byte',
  sharedSubscriptionAvailable: 'byte',
};

export type PropValue = number | string | [string, string] | Uint8Array;
/** A property: [name, value], or raw bytes spliced in as-is (for malformed blocks). */
export type Prop = [PropName, PropValue] | Uint8Array;

export function prop(name: PropName, value: PropValue): Uint8Array {
  const id = u8(PID[name]);
  switch (KIND[name]) {
    case 'byte': return bytes(id, u8(value as number));
    case 'u16': return bytes(id, u16(value as number));
    case 'u32': return bytes(id, u32(value as number));
    case 'vbi': return bytes(id, vbi(value as number));
    case 'str': return bytes(id, str(value as string));
    case 'pair': {
      const [k, v] = value as [string, string];
      return bytes(id, str(k), str(v));
    }
    case 'bin': return bytes(id, str(typeof value === 'string' ? enc.encode(value) : (value as Uint8Array)));
  }
}

/** Property Length + properties. */
export function props(list: Prop[] = []): Uint8Array {
  const body = bytes(...list.map((p) => (p instanceof Uint8Array ? p : prop(p[0], p[1]))));
  return bytes(vbi(body.length), body);
}

// ---- packets ---------------------------------------------------------------------------------

export interface Will {
  topic: string;
  payload: string | Uint8Array;
  qos?: number;
  retain?: boolean;
  properties?: Prop[];
}

export interface ConnectOpts {
  level?: Level;
  /** Defaults to "MQIsdp" for level 3, "MQTT" otherwise. */
  protocolName?: string;
  /** Raw level byte (overrides `level` in the bytes, not in the layout). */
  levelByte?: number;
  clean?: boolean;
  keepAlive?: number;
  clientId?: string;
  will?: Will;
  username?: string;
  password?: string | Uint8Array;
  properties?: Prop[];
  /** Raw connect flags byte instead of the computed one. */
  flags?: number;
  /** Bytes appended after the last field. */
  extra?: Uint8Array;
  fixedFlags?: number;
}

export function connectFlags(o: ConnectOpts): number {
  let f = 0;
  if (o.username !== undefined) f |= 0x80;
  if (o.password !== undefined) f |= 0x40;
  if (o.will?.retain) f |= 0x20;
  if (o.will) f |= ((o.will.qos ?? 0) & 3) << 3;
  if (o.will) f |= 0x04;
  if (o.clean ?? true) f |= 0x02;
  return f;
}

export function connect(o: ConnectOpts = {}): Uint8Array {
  const level = o.level ?? 4;
  const name = o.protocolName ?? (level === 3 ? 'MQIsdp' : 'MQTT');
  const parts: Uint8Array[] = [
    str(name),
    u8(o.levelByte ?? level),
    u8(o.flags ?? connectFlags(o)),
    u16(o.keepAlive ?? 60),
  ];
  if (level === 5) parts.push(props(o.properties));
  parts.push(str(o.clientId ?? 'client'));
  if (o.will) {
    if (level === 5) parts.push(props(o.will.properties));
    parts.push(str(o.will.topic), str(o.will.payload));
  }
  if (o.username !== undefined) parts.push(str(o.username));
  if (o.password !== undefined) parts.push(str(o.password));
  if (o.extra) parts.push(o.extra);
  return packet(1, o.fixedFlags ?? 0, bytes(...parts));
}

export function connack(o: { level?: Level; sessionPresent?: boolean; code?: number; flagsByte?: number; properties?: Prop[]; noProps?: boolean } = {}): Uint8Array {
  const parts = [u8(o.flagsByte ?? (o.sessionPresent ? 1 : 0)), u8(o.code ?? 0)];
  if ((o.level ?? 4) === 5 && !o.noProps) parts.push(props(o.properties));
  return packet(2, 0, bytes(...parts));
}

export interface PublishOpts {
  level?: Level;
  topic: string | Uint8Array;
  payload?: string | Uint8Array;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  packetId?: number;
  properties?: Prop[];
  /** Raw fixed-header flags instead of dup/qos/retain. */
  flags?: number;
}

export function publish(o: PublishOpts): Uint8Array {
  const qos = o.qos ?? 0;
  const flags = o.flags ?? ((o.dup ? 8 : 0) | ((qos & 3) << 1) | (o.retain ? 1 : 0));
  const parts: Uint8Array[] = [str(o.topic)];
  if (qos > 0 && qos < 3) parts.push(u16(o.packetId ?? 1));
  if ((o.level ?? 4) === 5) parts.push(props(o.properties));
  if (o.payload !== undefined) parts.push(typeof o.payload === 'string' ? enc.encode(o.payload) : o.payload);
  return packet(3, flags, bytes(...parts));
}

export type AckType = 'PUBACK' | 'PUBREC' | 'PUBREL' | 'PUBCOMP';
const ACK_TYPE: Record<AckType, number> = { PUBACK: 4, PUBREC: 5, PUBREL: 6, PUBCOMP: 7 };

/** With level 5: no reasonCode and no properties gives the 2-byte short form; reasonCode only gives RL 3. */
export function ack(kind: AckType, o: { packetId?: number; level?: Level; reasonCode?: number; properties?: Prop[]; flags?: number }): Uint8Array {
  const t = ACK_TYPE[kind];
  const parts: Uint8Array[] = [u16(o.packetId ?? 1)];
  if ((o.level ?? 4) === 5) {
    if (o.reasonCode !== undefined || o.properties) parts.push(u8(o.reasonCode ?? 0));
    if (o.properties) parts.push(props(o.properties));
  }
  return packet(t, o.flags ?? (t === 6 ? 2 : 0), bytes(...parts));
}

export interface Sub {
  topic: string | Uint8Array;
  qos?: number;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: number;
  /** Raw options byte. */
  options?: number;
}

export function subOptions(s: Sub): number {
  if (s.options !== undefined) return s.options;
  return ((s.qos ?? 0) & 3) | (s.noLocal ? 4 : 0) | (s.retainAsPublished ? 8 : 0) | (((s.retainHandling ?? 0) & 3) << 4);
}

export function subscribe(o: { packetId?: number; level?: Level; subscriptions: Sub[]; properties?: Prop[]; flags?: number }): Uint8Array {
  const parts: Uint8Array[] = [u16(o.packetId ?? 1)];
  if ((o.level ?? 4) === 5) parts.push(props(o.properties));
  for (const s of o.subscriptions) parts.push(str(s.topic), u8(subOptions(s)));
  return packet(8, o.flags ?? 2, bytes(...parts));
}

export function suback(o: { packetId?: number; level?: Level; codes: number[]; properties?: Prop[] }): Uint8Array {
  const parts: Uint8Array[] = [u16(o.packetId ?? 1)];
  if ((o.level ?? 4) === 5) parts.push(props(o.properties));
  parts.push(Uint8Array.from(o.codes));
  return packet(9, 0, bytes(...parts));
}

export function unsubscribe(o: { packetId?: number; level?: Level; topics: (string | Uint8Array)[]; properties?: Prop[]; flags?: number }): Uint8Array {
  const parts: Uint8Array[] = [u16(o.packetId ?? 1)];
  if ((o.level ?? 4) === 5) parts.push(props(o.properties));
  for (const t of o.topics) parts.push(str(t));
  return packet(10, o.flags ?? 2, bytes(...parts));
}

export function unsuback(o: { packetId?: number; level?: Level; codes?: number[]; properties?: Prop[] }): Uint8Array {
  const parts: Uint8Array[] = [u16(o.packetId ?? 1)];
  if ((o.level ?? 4) === 5) parts.push(props(o.properties), Uint8Array.from(o.codes ?? [0]));
  return packet(11, 0, bytes(...parts));
}

export const pingreq = (): Uint8Array => packet(12, 0, new Uint8Array(0));
export const pingresp = (): Uint8Array => packet(13, 0, new Uint8Array(0));

/** Level 5: no reasonCode/properties gives RL 0; reasonCode only gives RL 1. */
export function disconnect(o: { level?: Level; reasonCode?: number; properties?: Prop[] } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  if ((o.level ?? 4) === 5) {
    if (o.reasonCode !== undefined || o.properties) parts.push(u8(o.reasonCode ?? 0));
    if (o.properties) parts.push(props(o.properties));
  }
  return packet(14, 0, bytes(...parts));
}

/** No reasonCode and no properties gives RL 0. */
export function auth(o: { reasonCode?: number; properties?: Prop[] } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  if (o.reasonCode !== undefined || o.properties) parts.push(u8(o.reasonCode ?? 0), props(o.properties));
  return packet(15, 0, bytes(...parts));
}
