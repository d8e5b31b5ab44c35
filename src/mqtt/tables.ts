/**
 * MQTT protocol knowledge as data, shared by the decoder, the explainer and the docs generator.
 * Sources: OASIS MQTT 3.1.1 (2014) and 5.0 (2019), 3.1 (MQIsdp) from implementations; see
 * /work/shared/spec/normative-summary.md. Every lookup below is an array index or a Map get.
 */
import type { ProtocolLevel } from './types.js';

export const LEVELS: readonly ProtocolLevel[] = [3, 4, 5];

// ---------------------------------------------------------------------------------------------
// Packet types
// ---------------------------------------------------------------------------------------------

export const CONNECT = 1;
/** CONNECT protocol names: 3.1.1 and 5.0, and 3.1's. */
export const PROTOCOL_NAME_311 = 'MQTT';
export const PROTOCOL_NAME_31 = 'MQIsdp';
/** The same as a CONNECT carries them right after its fixed header: a 2-byte length, then the ASCII name. */
function prefixedName(name: string): Uint8Array {
  return Uint8Array.from([0, name.length, ...Array.from(name, (c) => c.charCodeAt(0))]);
}
export const PREFIXED_NAME_311 = prefixedName(PROTOCOL_NAME_311);
export const PREFIXED_NAME_31 = prefixedName(PROTOCOL_NAME_31);
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;
export const AUTH = 15;

export type Direction = 'c2s' | 's2c';
export type AllowedDirection = Direction | 'both';

export interface PacketTypeInfo {
  type: number;
  /** Name where the type exists; 'RESERVED' for 0. Use {@link packetTypeName} for version-aware naming. */
  name: string;
  /** Versions in which the type is defined (empty for 0). */
  levels: readonly ProtocolLevel[];
  /** Who may send it, per version (absent where the type does not exist). */
  direction: Readonly<Partial<Record<ProtocolLevel, AllowedDirection>>>;
  /**
   * Required low nibble of byte 0 per version; null where the bits carry DUP/QoS/RETAIN (PUBLISH).
   * 3.1 additionally accepts {@link PacketTypeInfo.flags31Alt} (DUP set on a retried PUBREL/SUBSCRIBE/UNSUBSCRIBE).
   */
  flags: Readonly<Partial<Record<ProtocolLevel, number | null>>>;
  flags31Alt?: number;
  /** Whether a Packet Identifier follows: always, never, or only when PUBLISH QoS > 0. */
  packetId: 'always' | 'never' | 'qos>0';
  /** Smallest Remaining Length whose mandatory fields fit, per version. */
  minRemaining: Readonly<Partial<Record<ProtocolLevel, number>>>;
  /** Remaining Length the version fixes exactly (absent when variable). */
  fixedRemaining: Readonly<Partial<Record<ProtocolLevel, number>>>;
}

const ALL: readonly ProtocolLevel[] = LEVELS;
const per = <T>(v3: T, v4: T, v5: T): Partial<Record<ProtocolLevel, T>> => ({ 3: v3, 4: v4, 5: v5 });
const same = <T>(v: T): Partial<Record<ProtocolLevel, T>> => per(v, v, v);

export const PACKET_TYPES: readonly PacketTypeInfo[] = [
  { type: 0, name: 'RESERVED', levels: [], direction: {}, flags: {}, packetId: 'never', minRemaining: {}, fixedRemaining: {} },
  {
    type: CONNECT, name: 'CONNECT', levels: ALL, direction: same('c2s'), flags: same(0), packetId: 'never',
    // name(2+6 or 2+4) + level + flags + keep alive(2) + client id length(2) [+ property length in 5.0]
    minRemaining: per(14, 12, 13), fixedRemaining: {},
  },
  {
    type: CONNACK, name: 'CONNACK', levels: ALL, direction: same('s2c'), flags: same(0), packetId: 'never',
    minRemaining: per(2, 2, 3), fixedRemaining: { 3: 2, 4: 2 },
  },
  {
    type: PUBLISH, name: 'PUBLISH', levels: ALL, direction: same('both'), flags: same(null), packetId: 'qos>0',
    minRemaining: per(2, 2, 3), fixedRemaining: {},
  },
  {
    type: PUBACK, name: 'PUBACK', levels: ALL, direction: same('both'), flags: same(0), packetId: 'always',
    minRemaining: same(2), fixedRemaining: { 3: 2, 4: 2 },
  },
  {
    type: PUBREC, name: 'PUBREC', levels: ALL, direction: same('both'), flags: same(0), packetId: 'always',
    minRemaining: same(2), fixedRemaining: { 3: 2, 4: 2 },
  },
  {
    type: PUBREL, name: 'PUBREL', levels: ALL, direction: same('both'), flags: same(2), flags31Alt: 0xa, packetId: 'always',
    minRemaining: same(2), fixedRemaining: { 3: 2, 4: 2 },
  },
  {
    type: PUBCOMP, name: 'PUBCOMP', levels: ALL, direction: same('both'), flags: same(0), packetId: 'always',
    minRemaining: same(2), fixedRemaining: { 3: 2, 4: 2 },
  },
  {
    type: SUBSCRIBE, name: 'SUBSCRIBE', levels: ALL, direction: same('c2s'), flags: same(2), flags31Alt: 0xa, packetId: 'always',
    minRemaining: per(5, 5, 6), fixedRemaining: {},
  },
  {
    type: SUBACK, name: 'SUBACK', levels: ALL, direction: same('s2c'), flags: same(0), packetId: 'always',
    minRemaining: per(3, 3, 4), fixedRemaining: {},
  },
  {
    type: UNSUBSCRIBE, name: 'UNSUBSCRIBE', levels: ALL, direction: same('c2s'), flags: same(2), flags31Alt: 0xa, packetId: 'always',
    minRemaining: per(4, 4, 5), fixedRemaining: {},
  },
  {
    type: UNSUBACK, name: 'UNSUBACK', levels: ALL, direction: same('s2c'), flags: same(0), packetId: 'always',
    minRemaining: per(2, 2, 4), fixedRemaining: { 3: 2, 4: 2 },
  },
  {
    type: PINGREQ, name: 'PINGREQ', levels: ALL, direction: same('c2s'), flags: same(0), packetId: 'never',
    minRemaining: same(0), fixedRemaining: same(0),
  },
  {
    type: PINGRESP, name: 'PINGRESP', levels: ALL, direction: same('s2c'), flags: same(0), packetId: 'never',
    minRemaining: same(0), fixedRemaining: same(0),
  },
  {
    type: DISCONNECT, name: 'DISCONNECT', levels: ALL, direction: per<AllowedDirection>('c2s', 'c2s', 'both'), flags: same(0),
    packetId: 'never', minRemaining: same(0), fixedRemaining: { 3: 0, 4: 0 },
  },
  {
    type: AUTH, name: 'AUTH', levels: [5], direction: { 5: 'both' }, flags: { 5: 0 }, packetId: 'never',
    minRemaining: { 5: 0 }, fixedRemaining: {},
  },
];

/** "RESERVED" for type 0 and for 15 before 5.0. */
export function packetTypeName(type: number, level: ProtocolLevel): string {
  if (type === AUTH && level !== 5) return 'RESERVED';
  return PACKET_TYPES[type & 15]!.name;
}

export function packetTypeExists(type: number, level: ProtocolLevel): boolean {
  return PACKET_TYPES[type & 15]!.levels.includes(level);
}

/** Whether `dir` may send `type` at `level` (true when the type is unknown there: other checks report that). */
export function directionAllowed(type: number, level: ProtocolLevel, dir: Direction): boolean {
  const d = PACKET_TYPES[type & 15]!.direction[level];
  return d === undefined || d === 'both' || d === dir;
}

// ---------------------------------------------------------------------------------------------
// MQTT 5.0 properties (Table 2-4)
// ---------------------------------------------------------------------------------------------

export type PropertyType = 'byte' | 'twoByteInt' | 'fourByteInt' | 'varInt' | 'utf8' | 'utf8Pair' | 'binary';

/** Where a property may appear: a packet type, or 'WILL' for the Will Properties of CONNECT. */
export type PropContext = number | 'WILL';
/** Numeric slot used for WILL in bitmasks (packet types use 1..15). */
export const WILL_CONTEXT = 16;

export interface PropertyInfo {
  id: number;
  /** Spec name, e.g. "Session Expiry Interval". */
  name: string;
  /** JSON key in a `properties` object. User Property uses the plural `userProperties`. */
  key: string;
  type: PropertyType;
  /** Packet types (and 'WILL') it may appear in. */
  contexts: readonly PropContext[];
  /** May repeat in one property block (User Property anywhere; Subscription Identifier in PUBLISH only). */
  repeatable: boolean | 'PUBLISH';
  /** Value constraint checked by the decoder, when the spec restricts the range. */
  constraint?: 'bool' | 'nonzero' | 'maxQos';
  /** Only this side may send it in the given packet type (e.g. Subscription Identifier only S→C in PUBLISH). */
  senderOnly?: { packet: number; dir: Direction };
}

export const PROPERTIES: readonly PropertyInfo[] = [
  { id: 0x01, name: 'Payload Format Indicator', key: 'payloadFormatIndicator', type: 'byte', contexts: [PUBLISH, 'WILL'], repeatable: false, constraint: 'bool' },
  { id: 0x02, name: 'Message Expiry Interval', key: 'messageExpiryInterval', type: 'fourByteInt', contexts: [PUBLISH, 'WILL'], repeatable: false },
  { id: 0x03, name: 'Content Type', key: 'contentType', type: 'utf8', contexts: [PUBLISH, 'WILL'], repeatable: false },
  { id: 0x08, name: 'Response Topic', key: 'responseTopic', type: 'utf8', contexts: [PUBLISH, 'WILL'], repeatable: false },
  { id: 0x09, name: 'Correlation Data', key: 'correlationData', type: 'binary', contexts: [PUBLISH, 'WILL'], repeatable: false },
  {
    id: 0x0b, name: 'Subscription Identifier', key: 'subscriptionIdentifier', type: 'varInt', contexts: [PUBLISH, SUBSCRIBE],
    repeatable: 'PUBLISH', constraint: 'nonzero', senderOnly: { packet: PUBLISH, dir: 's2c' },
  },
  {
    id: 0x11, name: 'Session Expiry Interval', key: 'sessionExpiryInterval', type: 'fourByteInt', contexts: [CONNECT, CONNACK, DISCONNECT],
    repeatable: false, senderOnly: { packet: DISCONNECT, dir: 'c2s' },
  },
  { id: 0x12, name: 'Assigned Client Identifier', key: 'assignedClientIdentifier', type: 'utf8', contexts: [CONNACK], repeatable: false },
  { id: 0x13, name: 'Server Keep Alive', key: 'serverKeepAlive', type: 'twoByteInt', contexts: [CONNACK], repeatable: false },
  { id: 0x15, name: 'Authentication Method', key: 'authenticationMethod', type: 'utf8', contexts: [CONNECT, CONNACK, AUTH], repeatable: false },
  { id: 0x16, name: 'Authentication Data', key: 'authenticationData', type: 'binary', contexts: [CONNECT, CONNACK, AUTH], repeatable: false },
  { id: 0x17, name: 'Request Problem Information', key: 'requestProblemInformation', type: 'byte', contexts: [CONNECT], repeatable: false, constraint: 'bool' },
  { id: 0x18, name: 'Will Delay Interval', key: 'willDelayInterval', type: 'fourByteInt', contexts: ['WILL'], repeatable: false },
  { id: 0x19, name: 'Request Response Information', key: 'requestResponseInformation', type: 'byte', contexts: [CONNECT], repeatable: false, constraint: 'bool' },
  { id: 0x1a, name: 'Response Information', key: 'responseInformation', type: 'utf8', contexts: [CONNACK], repeatable: false },
  { id: 0x1c, name: 'Server Reference', key: 'serverReference', type: 'utf8', contexts: [CONNACK, DISCONNECT], repeatable: false },
  {
    id: 0x1f, name: 'Reason String', key: 'reasonString', type: 'utf8',
    contexts: [CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH], repeatable: false,
  },
  { id: 0x21, name: 'Receive Maximum', key: 'receiveMaximum', type: 'twoByteInt', contexts: [CONNECT, CONNACK], repeatable: false, constraint: 'nonzero' },
  { id: 0x22, name: 'Topic Alias Maximum', key: 'topicAliasMaximum', type: 'twoByteInt', contexts: [CONNECT, CONNACK], repeatable: false },
  { id: 0x23, name: 'Topic Alias', key: 'topicAlias', type: 'twoByteInt', contexts: [PUBLISH], repeatable: false, constraint: 'nonzero' },
  { id: 0x24, name: 'Maximum QoS', key: 'maximumQos', type: 'byte', contexts: [CONNACK], repeatable: false, constraint: 'maxQos' },
  { id: 0x25, name: 'Retain Available', key: 'retainAvailable', type: 'byte', contexts: [CONNACK], repeatable: false, constraint: 'bool' },
  {
    id: 0x26, name: 'User Property', key: 'userProperties', type: 'utf8Pair',
    contexts: [CONNECT, CONNACK, PUBLISH, 'WILL', PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH],
    repeatable: true,
  },
  { id: 0x27, name: 'Maximum Packet Size', key: 'maximumPacketSize', type: 'fourByteInt', contexts: [CONNECT, CONNACK], repeatable: false, constraint: 'nonzero' },
  { id: 0x28, name: 'Wildcard Subscription Available', key: 'wildcardSubscriptionAvailable', type: 'byte', contexts: [CONNACK], repeatable: false, constraint: 'bool' },
  { id: 0x29, name: 'Subscription Identifier Available', key: 'subscriptionIdentifierAvailable', type: 'byte', contexts: [CONNACK], repeatable: false, constraint: 'bool' },
  { id: 0x2a, name: 'Shared Subscription Available', key: 'sharedSubscriptionAvailable', type: 'byte', contexts: [CONNACK], repeatable: false, constraint: 'bool' },
];

const contextBit = (c: PropContext): number => 1 << (c === 'WILL' ? WILL_CONTEXT : c);

/** Property by id (index = id); undefined for ids the spec does not define. */
export const PROPERTY_BY_ID: readonly (PropertyInfo | undefined)[] = (() => {
  const a: (PropertyInfo | undefined)[] = new Array(0x2b).fill(undefined);
  for (const p of PROPERTIES) a[p.id] = p;
  return a;
})();

/** Allowed-context bitmask per id: bit n = packet type n, bit 16 = Will Properties. */
const PROPERTY_CONTEXT_MASK: readonly number[] = PROPERTY_BY_ID.map((p) =>
  p ? p.contexts.reduce<number>((m, c) => m | contextBit(c), 0) : 0,
);

export const PROPERTY_BY_KEY: ReadonlyMap<string, PropertyInfo> = new Map(PROPERTIES.map((p) => [p.key, p]));

export function propertyInfo(id: number): PropertyInfo | undefined {
  return id >= 0 && id < PROPERTY_BY_ID.length ? PROPERTY_BY_ID[id] : undefined;
}

export function propertyAllowedIn(id: number, ctx: PropContext): boolean {
  if (id < 0 || id >= PROPERTY_CONTEXT_MASK.length) return false;
  return (PROPERTY_CONTEXT_MASK[id]! & contextBit(ctx)) !== 0;
}

export function propertyRepeatableIn(p: PropertyInfo, ctx: PropContext): boolean {
  return p.repeatable === true || (p.repeatable === 'PUBLISH' && ctx === PUBLISH);
}

export const PROPERTY_TYPE_NAME: Readonly<Record<PropertyType, string>> = {
  byte: 'byte',
  twoByteInt: 'two byte integer',
  fourByteInt: 'four byte integer',
  varInt: 'variable byte integer',
  utf8: 'UTF-8 string',
  utf8Pair: 'UTF-8 string pair',
  binary: 'binary data',
};

// ---------------------------------------------------------------------------------------------
// MQTT 5.0 reason codes (Table 2-6 and the per-packet tables)
// ---------------------------------------------------------------------------------------------

export interface ReasonUse {
  packet: number;
  /** Only this side may send the code in this packet type. */
  sender?: Direction;
  /** Listed only in Table 2-6, not in the packet's own table (0x8C in DISCONNECT): accept with a warning. */
  tableConflict?: true;
}

export interface ReasonCodeInfo {
  value: number;
  name: string;
  uses: readonly ReasonUse[];
}

const u = (packet: number, sender?: Direction): ReasonUse => (sender ? { packet, sender } : { packet });
const S: Direction = 's2c';
const C: Direction = 'c2s';

export const REASON_CODES: readonly ReasonCodeInfo[] = [
  { value: 0x00, name: 'Success', uses: [u(CONNACK), u(PUBACK), u(PUBREC), u(PUBREL), u(PUBCOMP), u(UNSUBACK), u(AUTH, S)] },
  { value: 0x00, name: 'Normal disconnection', uses: [u(DISCONNECT)] },
  { value: 0x00, name: 'Granted QoS 0', uses: [u(SUBACK)] },
  { value: 0x01, name: 'Granted QoS 1', uses: [u(SUBACK)] },
  { value: 0x02, name: 'Granted QoS 2', uses: [u(SUBACK)] },
  { value: 0x04, name: 'Disconnect with Will Message', uses: [u(DISCONNECT, C)] },
  { value: 0x10, name: 'No matching subscribers', uses: [u(PUBACK, S), u(PUBREC, S)] },
  { value: 0x11, name: 'No subscription existed', uses: [u(UNSUBACK)] },
  { value: 0x18, name: 'Continue authentication', uses: [u(AUTH)] },
  { value: 0x19, name: 'Re-authenticate', uses: [u(AUTH, C)] },
  { value: 0x80, name: 'Unspecified error', uses: [u(CONNACK), u(PUBACK), u(PUBREC), u(SUBACK), u(UNSUBACK), u(DISCONNECT)] },
  { value: 0x81, name: 'Malformed Packet', uses: [u(CONNACK), u(DISCONNECT)] },
  { value: 0x82, name: 'Protocol Error', uses: [u(CONNACK), u(DISCONNECT)] },
  { value: 0x83, name: 'Implementation specific error', uses: [u(CONNACK), u(PUBACK), u(PUBREC), u(SUBACK), u(UNSUBACK), u(DISCONNECT)] },
  { value: 0x84, name: 'Unsupported Protocol Version', uses: [u(CONNACK)] },
  { value: 0x85, name: 'Client Identifier not valid', uses: [u(CONNACK)] },
  { value: 0x86, name: 'Bad User Name or Password', uses: [u(CONNACK)] },
  { value: 0x87, name: 'Not authorized', uses: [u(CONNACK), u(PUBACK), u(PUBREC), u(SUBACK), u(UNSUBACK), u(DISCONNECT, S)] },
  { value: 0x88, name: 'Server unavailable', uses: [u(CONNACK)] },
  { value: 0x89, name: 'Server busy', uses: [u(CONNACK), u(DISCONNECT, S)] },
  { value: 0x8a, name: 'Banned', uses: [u(CONNACK)] },
  { value: 0x8b, name: 'Server shutting down', uses: [u(DISCONNECT, S)] },
  { value: 0x8c, name: 'Bad authentication method', uses: [u(CONNACK), { packet: DISCONNECT, tableConflict: true }] },
  { value: 0x8d, name: 'Keep Alive timeout', uses: [u(DISCONNECT, S)] },
  { value: 0x8e, name: 'Session taken over', uses: [u(DISCONNECT, S)] },
  { value: 0x8f, name: 'Topic Filter invalid', uses: [u(SUBACK), u(UNSUBACK), u(DISCONNECT, S)] },
  { value: 0x90, name: 'Topic Name invalid', uses: [u(CONNACK), u(PUBACK), u(PUBREC), u(DISCONNECT)] },
  { value: 0x91, name: 'Packet Identifier in use', uses: [u(PUBACK), u(PUBREC), u(SUBACK), u(UNSUBACK)] },
  { value: 0x92, name: 'Packet Identifier not found', uses: [u(PUBREL), u(PUBCOMP)] },
  { value: 0x93, name: 'Receive Maximum exceeded', uses: [u(DISCONNECT)] },
  { value: 0x94, name: 'Topic Alias invalid', uses: [u(DISCONNECT)] },
  { value: 0x95, name: 'Packet too large', uses: [u(CONNACK), u(DISCONNECT)] },
  { value: 0x96, name: 'Message rate too high', uses: [u(DISCONNECT)] },
  { value: 0x97, name: 'Quota exceeded', uses: [u(CONNACK), u(PUBACK), u(PUBREC), u(SUBACK), u(DISCONNECT)] },
  { value: 0x98, name: 'Administrative action', uses: [u(DISCONNECT)] },
  { value: 0x99, name: 'Payload format invalid', uses: [u(CONNACK), u(PUBACK), u(PUBREC), u(DISCONNECT)] },
  { value: 0x9a, name: 'Retain not supported', uses: [u(CONNACK), u(DISCONNECT, S)] },
  { value: 0x9b, name: 'QoS not supported', uses: [u(CONNACK), u(DISCONNECT, S)] },
  { value: 0x9c, name: 'Use another server', uses: [u(CONNACK), u(DISCONNECT, S)] },
  { value: 0x9d, name: 'Server moved', uses: [u(CONNACK), u(DISCONNECT, S)] },
  { value: 0x9e, name: 'Shared Subscriptions not supported', uses: [u(SUBACK), u(DISCONNECT, S)] },
  { value: 0x9f, name: 'Connection rate exceeded', uses: [u(CONNACK), u(DISCONNECT, S)] },
  { value: 0xa0, name: 'Maximum connect time', uses: [u(DISCONNECT, S)] },
  { value: 0xa1, name: 'Subscription Identifiers not supported', uses: [u(SUBACK), u(DISCONNECT, S)] },
  { value: 0xa2, name: 'Wildcard Subscriptions not supported', uses: [u(SUBACK), u(DISCONNECT, S)] },
];

/** A reason code as one packet type sees it. */
export interface ReasonEntry {
  value: number;
  name: string;
  sender?: Direction;
  tableConflict?: true;
}

/** REASON_BY_PACKET[type][code]: the entry, or undefined when the code is not valid for that packet type. */
export const REASON_BY_PACKET: readonly (readonly (ReasonEntry | undefined)[])[] = (() => {
  const t: (ReasonEntry | undefined)[][] = [];
  for (let p = 0; p < 16; p++) t.push(new Array(256).fill(undefined));
  for (const rc of REASON_CODES) {
    for (const use of rc.uses) {
      const e: ReasonEntry = { value: rc.value, name: rc.name };
      if (use.sender) e.sender = use.sender;
      if (use.tableConflict) e.tableConflict = true;
      t[use.packet]![rc.value] = e;
    }
  }
  return t;
})();

export function reasonCode(packetType: number, code: number): ReasonEntry | undefined {
  return REASON_BY_PACKET[packetType & 15]![code & 0xff];
}

// ---------------------------------------------------------------------------------------------
// MQTT 3.x return codes
// ---------------------------------------------------------------------------------------------

/** CONNACK return codes 0..5 of 3.1 and 3.1.1 (6..255 reserved). */
export const CONNACK_RETURN_CODES: readonly string[] = [
  'Connection Accepted',
  'Connection Refused, unacceptable protocol version',
  'Connection Refused, identifier rejected',
  'Connection Refused, Server unavailable',
  'Connection Refused, bad user name or password',
  'Connection Refused, not authorized',
];

export function connackReturnCodeName(rc: number): string | undefined {
  return CONNACK_RETURN_CODES[rc];
}

/** SUBACK return codes of 3.1.1 (3.1 used the same granted-QoS values). */
export const SUBACK_RETURN_CODES: ReadonlyMap<number, string> = new Map([
  [0x00, 'Success - Maximum QoS 0'],
  [0x01, 'Success - Maximum QoS 1'],
  [0x02, 'Success - Maximum QoS 2'],
  [0x80, 'Failure'],
]);

// ---------------------------------------------------------------------------------------------
// Decoder problem codes
// ---------------------------------------------------------------------------------------------

export type Severity = 'error' | 'warning';

export interface ProblemInfo {
  /** Default severity; a few codes are downgraded per version (see `severityByLevel`). */
  severity: Severity;
  description: string;
  /** Where the severity differs by version (e.g. non-minimal lengths: warning before 5.0). */
  severityByLevel?: Partial<Record<ProtocolLevel, Severity>>;
}

/**
 * Every code the decoder emits. The rules stage maps these to spec statements; keep codes stable.
 * Descriptions are short and our own wording.
 */
export const PROBLEM_CODES = {
  'reserved-type': { severity: 'error', description: 'Packet type 0, or 15 before MQTT 5.0, is reserved' },
  'reserved-flags': { severity: 'error', description: 'Fixed-header flag bits differ from the values required for this packet type', severityByLevel: { 3: 'warning' } },
  'qos3': { severity: 'error', description: 'PUBLISH with both QoS bits set (QoS 3)' },
  'dup-qos0': { severity: 'error', description: 'PUBLISH with DUP set and QoS 0' },
  'rl-too-long': { severity: 'error', description: 'Remaining Length uses more than 4 bytes' },
  'rl-nonminimal': { severity: 'error', description: 'Remaining Length not encoded in the fewest bytes', severityByLevel: { 3: 'warning', 4: 'warning' } },
  'vbi-too-long': { severity: 'error', description: 'A Variable Byte Integer (property length, property id, Subscription Identifier) uses more than 4 bytes' },
  'overrun': { severity: 'error', description: 'A field or declared length runs past the end of the packet (or of its property block)' },
  'trailing-bytes': { severity: 'error', description: 'Bytes left over after the last field of the packet' },
  'bad-size': { severity: 'error', description: 'Remaining Length differs from the fixed size this packet type has in this version' },
  'wrong-direction': { severity: 'error', description: 'Packet type sent by the side that may not send it' },
  'bad-protocol-name': { severity: 'error', description: 'CONNECT protocol name is neither "MQTT" nor "MQIsdp"' },
  'bad-protocol-level': { severity: 'error', description: 'CONNECT protocol level is not 3, 4 or 5' },
  'name-level-mismatch': { severity: 'error', description: 'CONNECT protocol name does not fit the level ("MQIsdp" goes with 3, "MQTT" with 4 or 5)' },
  'bridge-flag': { severity: 'warning', description: 'CONNECT level byte has bit 7 set (non-standard bridge marker); decoded with the low 7 bits' },
  'connect-reserved-bit': { severity: 'error', description: 'CONNECT flags bit 0 (reserved) is set' },
  'will-flags': { severity: 'error', description: 'Will QoS or Will Retain set while the Will flag is 0' },
  'will-qos3': { severity: 'error', description: 'Will QoS is 3' },
  'password-without-username': { severity: 'error', description: 'Password flag set without the User Name flag (MQTT 3.1.1)' },
  'v31-missing-field': { severity: 'warning', description: 'MQTT 3.1: User Name or Password flag set but the field is absent (tolerated by 3.1 servers)' },
  'clientid-empty': { severity: 'error', description: 'Zero-length ClientId with CleanSession 0 (3.1.1) or at all (3.1)' },
  'bad-utf8': { severity: 'error', description: 'String is not well-formed UTF-8 (ill-formed, overlong, surrogate or above U+10FFFF)', severityByLevel: { 3: 'warning' } },
  'utf8-null': { severity: 'error', description: 'String contains U+0000' },
  'utf8-control': { severity: 'warning', description: 'String contains a control character (U+0001..U+001F, U+007F..U+009F)' },
  'utf8-noncharacter': { severity: 'warning', description: 'String contains a Unicode noncharacter' },
  'packet-id-zero': { severity: 'error', description: 'Packet Identifier is 0' },
  'topic-wildcard': { severity: 'error', description: "Topic Name (PUBLISH, Will Topic or Response Topic) contains '+' or '#'" },
  'topic-empty': { severity: 'error', description: 'Topic Name is empty (in 5.0 PUBLISH: empty without a Topic Alias)' },
  'filter-invalid': { severity: 'error', description: "Topic Filter wildcard misplaced ('#' not alone in the last level, '+' not alone in its level)" },
  'filter-empty': { severity: 'error', description: 'Topic Filter is empty' },
  'no-filters': { severity: 'error', description: 'SUBSCRIBE or UNSUBSCRIBE without any Topic Filter' },
  'no-reason-codes': { severity: 'error', description: 'SUBACK (or 5.0 UNSUBACK) without any return/reason code' },
  'sub-qos3': { severity: 'error', description: 'Requested QoS / Maximum QoS of a subscription is 3' },
  'sub-reserved-bits': { severity: 'error', description: 'Reserved bits of the requested-QoS / Subscription Options byte are set' },
  'retain-handling3': { severity: 'error', description: 'Subscription Options Retain Handling is 3' },
  'shared-nolocal': { severity: 'error', description: 'No Local set on a shared subscription' },
  'share-syntax': { severity: 'error', description: 'Malformed $share/{ShareName}/{filter}' },
  'bad-return-code': { severity: 'error', description: 'CONNACK or SUBACK return code reserved in MQTT 3.x' },
  'connack-reserved-bits': { severity: 'error', description: 'CONNACK acknowledge-flags bits 7..1 are not 0' },
  'session-present-on-failure': { severity: 'error', description: 'CONNACK refuses the connection but Session Present is 1' },
  'prop-unknown': { severity: 'error', description: 'Unknown property identifier (decoding cannot continue)' },
  'prop-not-allowed': { severity: 'error', description: 'Property not allowed in this packet type (or from this sender)' },
  'prop-duplicate': { severity: 'error', description: 'Property that may appear once appears more than once' },
  'prop-value': { severity: 'error', description: 'Property value out of range (boolean not 0/1, Maximum QoS > 1, zero Receive Maximum/Topic Alias/Subscription Identifier/Maximum Packet Size)' },
  'prop-nonminimal': { severity: 'error', description: 'Property Length, property id or Subscription Identifier not encoded in the fewest bytes' },
  'auth-data-without-method': { severity: 'error', description: 'Authentication Data without Authentication Method' },
  'auth-without-method': { severity: 'error', description: 'AUTH without Authentication Method (only a warning for the 0-length short form)' },
  'bad-reason-code': { severity: 'error', description: 'Reason code not valid for this packet type (or not for this sender)' },
  'reason-code-conflict': { severity: 'warning', description: 'Reason code listed for this packet only in Table 2-6, not in the packet\'s own table (0x8C in DISCONNECT)' },
  'payload-not-utf8': { severity: 'error', description: 'Payload Format Indicator is 1 but the payload is not well-formed UTF-8' },
  'internal-error': { severity: 'error', description: 'The decoder hit an unexpected condition; decoding stopped' },
} as const satisfies Record<string, ProblemInfo>;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export function problemInfo(code: string): ProblemInfo | undefined {
  return (PROBLEM_CODES as Record<string, ProblemInfo>)[code];
}

export function problemSeverity(code: ProblemCode, level: ProtocolLevel): Severity {
  const info: ProblemInfo = PROBLEM_CODES[code];
  return info.severityByLevel?.[level] ?? info.severity;
}
