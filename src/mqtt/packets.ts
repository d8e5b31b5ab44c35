/**
 * Decoded MQTT packets, typed per packet type. The decoder fills one object per packet; rules, dialects and renderers
 * read `p.topic`, `p.qos`, … with the compiler checking every access. Field names are the NDJSON names (docs/json.md,
 * generated from the registry in fields.ts); a field is `undefined` when its bytes were not decoded (the packet
 * ended, or decoding stopped at a structural defect) or do not exist in the packet's version.
 *
 * Every class sets all of its fields in its constructor, so all packets of one type share one object shape: property
 * reads on the hot path stay monomorphic.
 */
import type { DecodeProblem, FieldNode, ProtocolLevel } from './types.js';

/** A byte range of the packet (offsets relative to the packet's first byte). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** How a PUBLISH payload reads (set by the dialect stage when some output shows it). */
export type PayloadView = 'json' | 'text' | 'binary';

/** The MQTT 5.0 properties of one property block, in the order their first occurrence appears in the bytes. */
export class Properties {
  /** Property ids in order of first appearance: the NDJSON object lists them in this order. */
  readonly order: number[] = [];
  payloadFormatIndicator: number | undefined = undefined;
  messageExpiryInterval: number | undefined = undefined;
  contentType: string | undefined = undefined;
  responseTopic: string | undefined = undefined;
  /** Binary: always shown whole as hex. */
  correlationData: ByteRange | undefined = undefined;
  /** A single value in SUBSCRIBE; every occurrence in PUBLISH (the only place it may repeat). */
  subscriptionIdentifier: number | number[] | undefined = undefined;
  sessionExpiryInterval: number | undefined = undefined;
  assignedClientIdentifier: string | undefined = undefined;
  serverKeepAlive: number | undefined = undefined;
  authenticationMethod: string | undefined = undefined;
  /** A secret: shown as text or hex (never cut) and masked by --redact. */
  authenticationData: ByteRange | undefined = undefined;
  requestProblemInformation: number | undefined = undefined;
  willDelayInterval: number | undefined = undefined;
  requestResponseInformation: number | undefined = undefined;
  responseInformation: string | undefined = undefined;
  serverReference: string | undefined = undefined;
  reasonString: string | undefined = undefined;
  receiveMaximum: number | undefined = undefined;
  topicAliasMaximum: number | undefined = undefined;
  topicAlias: number | undefined = undefined;
  maximumQos: number | undefined = undefined;
  retainAvailable: number | undefined = undefined;
  userProperties: [string, string][] | undefined = undefined;
  maximumPacketSize: number | undefined = undefined;
  wildcardSubscriptionAvailable: number | undefined = undefined;
  subscriptionIdentifierAvailable: number | undefined = undefined;
  sharedSubscriptionAvailable: number | undefined = undefined;
}

/** The fixed part every packet has. */
abstract class PacketBase {
  /**
   * The bytes the offsets of this packet, its tree and its problems refer to (from the packet's first byte). In the
   * pipeline they may be a view of the capture's read buffer, valid only while the record is passed down: whoever
   * keeps a packet longer calls detach().
   */
  get bytes(): Uint8Array {
    return this.source;
  }
  private source: Uint8Array;
  /** The type nibble of byte 0 as sent (also for reserved types). */
  readonly wireType: number;
  /** "CONNECT" … "AUTH"; "RESERVED" for 0 (and 15 before 5.0). */
  readonly typeName: string;
  /** Low nibble of byte 0. */
  readonly flags: number;
  /** Level the packet was decoded with. */
  level: ProtocolLevel;
  /** Whole packet length in bytes (fixed header + Remaining Length), capped at the input. */
  length = 0;
  remainingLength = 0;
  /** Bytes of the fixed header (1 + length of the Remaining Length field). */
  headerLength = 0;
  /** Field tree, when the decoder was asked for one (-V, -x, explain); else null. */
  tree: FieldNode | null = null;
  /** Defects found in the bytes, in the order found (a shared empty array when there are none). */
  problems: readonly DecodeProblem[] = NO_PROBLEMS;

  constructor(bytes: Uint8Array, wireType: number, typeName: string, flags: number, level: ProtocolLevel) {
    this.source = bytes;
    this.wireType = wireType;
    this.typeName = typeName;
    this.flags = flags;
    this.level = level;
  }

  /** Gives the packet its own copy of its bytes (to keep it past the pipeline call) and returns the copy. */
  detach(): Uint8Array {
    this.source = this.source.slice();
    return this.source;
  }
}

/** Nothing reported: shared by every packet without problems. */
export const NO_PROBLEMS: readonly DecodeProblem[] = Object.freeze([]);

/** Packet type 0, or 15 before MQTT 5.0: no known layout, no fields. */
export class ReservedPacket extends PacketBase {
  /** 0, or 15 before 5.0: the wire type, kept so a reserved packet still says what it was sent as. */
  readonly type: 0 | 15;
  constructor(bytes: Uint8Array, wireType: number, typeName: string, flags: number, level: ProtocolLevel) {
    super(bytes, wireType, typeName, flags, level);
    this.type = wireType === 15 ? 15 : 0;
  }
}

export class ConnectPacket extends PacketBase {
  readonly type = 1 as const;
  protocolName: string | undefined = undefined;
  /** The level byte; with the bridge bit (0x80) set, the value without it. */
  protocolLevel: number | undefined = undefined;
  /** True when bit 7 of the level byte was set (mosquitto's bridge marker); else undefined. */
  bridge: true | undefined = undefined;
  /** Connect flags bit 1 before 5.0 … */
  cleanSession: boolean | undefined = undefined;
  /** … and its 5.0 name. */
  cleanStart: boolean | undefined = undefined;
  willFlag: boolean | undefined = undefined;
  willQos: number | undefined = undefined;
  willRetain: boolean | undefined = undefined;
  passwordFlag: boolean | undefined = undefined;
  usernameFlag: boolean | undefined = undefined;
  keepAlive: number | undefined = undefined;
  properties: Properties | undefined = undefined;
  clientId: string | undefined = undefined;
  willProperties: Properties | undefined = undefined;
  willTopic: string | undefined = undefined;
  /** The Will Payload's bytes (shown cut after the payload limit). */
  willPayload: ByteRange | undefined = undefined;
  username: string | undefined = undefined;
  /** A secret: never cut, masked by --redact. */
  password: ByteRange | undefined = undefined;
  /** Added by the dialect stage on platform connections (OneNET). */
  onenet: DialectJson | undefined = undefined;
}

export class ConnackPacket extends PacketBase {
  readonly type = 2 as const;
  /** 3.1.1 and 5.0 (3.1 has no such bit). */
  sessionPresent: boolean | undefined = undefined;
  /** 3.x. */
  returnCode: number | undefined = undefined;
  returnCodeName: string | undefined = undefined;
  /** 5.0. */
  reasonCode: number | undefined = undefined;
  reasonCodeName: string | undefined = undefined;
  properties: Properties | undefined = undefined;
}

export class PublishPacket extends PacketBase {
  readonly type = 3 as const;
  /** From the fixed header, always known. */
  readonly qos: number;
  readonly dup: boolean;
  readonly retain: boolean;
  /**
   * Whether qos, dup and retain count as decoded fields: false when decoding stopped inside the fixed header (a cut
   * or overlong Remaining Length), so that such a packet shows no fields at all.
   */
  headerFields = false;
  topic: string | undefined = undefined;
  packetId: number | undefined = undefined;
  properties: Properties | undefined = undefined;
  /** The true payload length (undefined when decoding stopped before the payload). */
  payloadLength: number | undefined = undefined;
  /** Where the payload starts, and where its captured bytes end (before payloadOffset + payloadLength when cut). */
  payloadOffset = 0;
  payloadEnd = 0;
  /** Added by the rules stage: the topic a 5.0 Topic Alias stands for in this direction. */
  resolvedTopic: string | undefined = undefined;
  /** Added by the dialect stage on platform connections (OneNET $dp data points, command links). */
  onenet: DialectJson | undefined = undefined;
  /** Added by the dialect stage: how the payload reads. */
  payloadView: PayloadView | undefined = undefined;
  /** Added by the dialect stage on Sparkplug B topics (spBv1.0/…): the decoded message (docs/sparkplug.md). */
  sparkplug: DialectJson | undefined = undefined;
  /** Added by the dialect stage when a --decode binding matched the topic: the decoded payload (docs/decoders.md). */
  payloadDecoded: DialectJson | undefined = undefined;

  constructor(bytes: Uint8Array, flags: number, level: ProtocolLevel) {
    super(bytes, 3, 'PUBLISH', flags, level);
    this.qos = (flags >> 1) & 3;
    this.dup = (flags & 8) !== 0;
    this.retain = (flags & 1) !== 0;
  }
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one layout. */
export class AckPacket<T extends 4 | 5 | 6 | 7 = 4 | 5 | 6 | 7> extends PacketBase {
  readonly type: T;
  packetId: number | undefined = undefined;
  /** 5.0: 0 when the short form leaves it out. */
  reasonCode: number | undefined = undefined;
  reasonCodeName: string | undefined = undefined;
  /** 5.0: empty when the short form leaves the properties out. */
  properties: Properties | undefined = undefined;

  constructor(bytes: Uint8Array, type: T, typeName: string, flags: number, level: ProtocolLevel) {
    super(bytes, type, typeName, flags, level);
    this.type = type;
  }
}

export interface SubscriptionRequest {
  topic: string;
  qos: number;
  /** 5.0 subscription options. */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: number;
}

export class SubscribePacket extends PacketBase {
  readonly type = 8 as const;
  packetId: number | undefined = undefined;
  properties: Properties | undefined = undefined;
  subscriptions: SubscriptionRequest[] | undefined = undefined;
}

export class SubackPacket extends PacketBase {
  readonly type = 9 as const;
  packetId: number | undefined = undefined;
  properties: Properties | undefined = undefined;
  /** 3.x. */
  returnCodes: number[] | undefined = undefined;
  returnCodeNames: string[] | undefined = undefined;
  /** 5.0. */
  reasonCodes: number[] | undefined = undefined;
  reasonCodeNames: string[] | undefined = undefined;
}

export class UnsubscribePacket extends PacketBase {
  readonly type = 10 as const;
  packetId: number | undefined = undefined;
  properties: Properties | undefined = undefined;
  topics: string[] | undefined = undefined;
}

export class UnsubackPacket extends PacketBase {
  readonly type = 11 as const;
  packetId: number | undefined = undefined;
  properties: Properties | undefined = undefined;
  /** 5.0 only. */
  reasonCodes: number[] | undefined = undefined;
  reasonCodeNames: string[] | undefined = undefined;
}

export class PingPacket<T extends 12 | 13 = 12 | 13> extends PacketBase {
  readonly type: T;
  constructor(bytes: Uint8Array, type: T, typeName: string, flags: number, level: ProtocolLevel) {
    super(bytes, type, typeName, flags, level);
    this.type = type;
  }
}

export class DisconnectPacket extends PacketBase {
  readonly type = 14 as const;
  /** 5.0: 0 when Remaining Length 0 leaves it out. */
  reasonCode: number | undefined = undefined;
  reasonCodeName: string | undefined = undefined;
  properties: Properties | undefined = undefined;
}

export class AuthPacket extends PacketBase {
  readonly type = 15 as const;
  reasonCode: number | undefined = undefined;
  reasonCodeName: string | undefined = undefined;
  properties: Properties | undefined = undefined;
}

/**
 * JSON-ready plain data a platform dialect adds to a packet (the NDJSON writer serialises it like JSON.stringify, the
 * text views summarise it). Its keys are listed in docs/onenet.md.
 */
export type DialectJson = Readonly<Record<string, unknown>>;

/** Any decoded packet; narrow with `p.type === PUBLISH` etc. (type 0 stands for every reserved type). */
export type MqttPacket =
  | ReservedPacket
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket<4>
  | AckPacket<5>
  | AckPacket<6>
  | AckPacket<7>
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingPacket<12>
  | PingPacket<13>
  | DisconnectPacket
  | AuthPacket;

/** The packet types that carry a Packet Identifier field. */
export type PacketWithId = PublishPacket | AckPacket | SubscribePacket | SubackPacket | UnsubscribePacket | UnsubackPacket;
/** The packet types that carry a single 5.0 reason code. */
export type PacketWithReason = ConnackPacket | AckPacket | DisconnectPacket | AuthPacket;
