/**
 * Decodes ONE complete MQTT control packet (3.1, 3.1.1, 5.0) into a typed packet (packets.ts), an optional field tree
 * and a list of problems. Never throws: a structural defect records a problem and ends decoding at that point;
 * semantic defects are recorded and decoding continues.
 *
 * This file reads the fixed header and picks the packet type; cursor.ts has the primitive reads and checks,
 * decode-packets.ts the body of each type, explain-text.ts the text of the tree.
 */
import { Cursor, STOP } from './cursor.js';
import {
  decodeAck, decodeAuth, decodeConnack, decodeConnect, decodeDisconnect, decodePublish, decodeSuback, decodeSubscribe,
  decodeUnsuback, decodeUnsubscribe,
} from './decode-packets.js';
import { bits, hex1, hexValue, vbiExplain } from './explain-text.js';
import { FIELD } from './fields.js';
import {
  AckPacket, AuthPacket, ConnackPacket, ConnectPacket, DisconnectPacket, PingPacket, PublishPacket, ReservedPacket,
  SubackPacket, SubscribePacket, UnsubackPacket, UnsubscribePacket, type MqttPacket,
} from './packets.js';
import {
  AUTH, CONNACK, CONNECT, DISCONNECT, PACKET_TYPES, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK,
  SUBSCRIBE, UNSUBACK, UNSUBSCRIBE, directionAllowed, packetTypeName,
} from './tables.js';
import type { DecodeContext, FieldNode, ProtocolLevel } from './types.js';
import { readVbi, type VbiResult } from './vbi.js';

export { inferLevel } from './infer.js';
export { DEFAULT_PAYLOAD_LIMIT } from './cursor.js';
export type { BytesValue } from './utf8.js';

/**
 * Reads a Remaining Length (Variable Byte Integer) at `offset`. Check `overlong` first (malformed, nothing more to
 * wait for), then `complete` (false: more bytes needed), then use `value`/`length`.
 */
export function decodeRemainingLength(bytes: Uint8Array, offset: number): VbiResult {
  return { ...readVbi(bytes, offset, bytes.length) };
}

/**
 * Decodes packets one after another with one cursor: what a connection's stream needs (the pipeline keeps one per
 * ConnectionDecoder). Each call returns a fresh packet object; the cursor's scratch state is reused.
 */
export class PacketDecoder {
  private readonly c = new Cursor();

  /** `stopAtFirstProblem`: for callers that only need to know whether a packet has any problem (resynchronisation). */
  constructor(opts: { stopAtFirstProblem?: boolean } = {}) {
    this.c.stopAtFirstProblem = opts.stopAtFirstProblem === true;
  }

  decode(bytes: Uint8Array, ctx: DecodeContext): MqttPacket {
    return decodeWith(this.c, bytes, ctx);
  }
}

/** Decodes one packet (a fresh cursor each call: for explain and tests; the pipeline uses PacketDecoder). */
export function decodePacket(bytes: Uint8Array, ctx: DecodeContext): MqttPacket {
  return decodeWith(new Cursor(), bytes, ctx);
}

/** Reads the level byte of a CONNECT early so the fixed-header checks know the version. */
function connectLevel(b: Uint8Array, start: number, end: number): ProtocolLevel | null {
  if (start + 2 > end) return null;
  const nameLen = (b[start]! << 8) | b[start + 1]!;
  const p = start + 2 + nameLen;
  if (p >= end) return null;
  const raw = b[p]!;
  const lv = (raw & 0x80) !== 0 ? raw & 0x7f : raw;
  return lv === 3 || lv === 4 || lv === 5 ? lv : null;
}

/** A fresh packet object of the type byte 0 names (reserved types get the field-less ReservedPacket). */
function newPacket(b: Uint8Array, type: number, flags: number, level: ProtocolLevel): MqttPacket {
  const name = packetTypeName(type, level);
  switch (type) {
    case CONNECT: return new ConnectPacket(b, type, name, flags, level);
    case CONNACK: return new ConnackPacket(b, type, name, flags, level);
    case PUBLISH: return new PublishPacket(b, flags, level);
    case PUBACK: return new AckPacket(b, PUBACK, name, flags, level);
    case PUBREC: return new AckPacket(b, PUBREC, name, flags, level);
    case PUBREL: return new AckPacket(b, PUBREL, name, flags, level);
    case PUBCOMP: return new AckPacket(b, PUBCOMP, name, flags, level);
    case SUBSCRIBE: return new SubscribePacket(b, type, name, flags, level);
    case SUBACK: return new SubackPacket(b, type, name, flags, level);
    case UNSUBSCRIBE: return new UnsubscribePacket(b, type, name, flags, level);
    case UNSUBACK: return new UnsubackPacket(b, type, name, flags, level);
    case PINGREQ: return new PingPacket(b, PINGREQ, name, flags, level);
    case PINGRESP: return new PingPacket(b, PINGRESP, name, flags, level);
    case DISCONNECT: return new DisconnectPacket(b, type, name, flags, level);
    case AUTH: return level === 5 ? new AuthPacket(b, type, name, flags, level) : new ReservedPacket(b, type, name, flags, level);
    default: return new ReservedPacket(b, type, name, flags, level);
  }
}

function decodeWith(d: Cursor, bytes: Uint8Array, ctx: DecodeContext): MqttPacket {
  d.reset(bytes, ctx);
  const b = bytes;
  const n = b.length;
  let p: MqttPacket;
  if (n === 0) {
    p = new ReservedPacket(b, 0, 'RESERVED', 0, d.level);
    d.problem('overrun', 0, 0, 'empty input: no fixed header byte');
    d.closeAll();
    p.headerLength = 0;
    p.problems = d.takeProblems();
    p.tree = d.root;
    return p;
  }
  const b0 = b[0]!;
  const type = b0 >> 4;
  const flags = b0 & 15;
  const rl = readVbi(b, 1, n);
  const rlLength = rl.length;
  const rlValue = rl.value;
  const rlComplete = rl.complete;
  const rlOverlong = rl.overlong;
  const rlNonMinimal = rl.nonMinimal;
  const rlEnd = 1 + rlLength;
  const declaredEnd = rlComplete && !rlOverlong ? rlEnd + rlValue : n;
  if (type === CONNECT) {
    const lv = connectLevel(b, rlEnd, Math.min(n, declaredEnd));
    if (lv) d.level = lv;
  }
  const level = d.level;
  p = newPacket(b, type, flags, level);
  p.headerLength = rlEnd;
  const info = PACKET_TYPES[type]!;
  const reservedType = type === 0 || (type === AUTH && level !== 5);
  try {
    if (d.t) {
      d.root!.label = `${p.typeName} packet`;
      fixedHeaderTree(d, b0, type, p.typeName, level, rlLength, rlValue, rlComplete, rlOverlong, rlNonMinimal, reservedType);
    }

    // Fixed header byte
    if (reservedType) {
      d.problem('reserved-type', 0, 1, type === 0 ? 'packet type 0 is reserved' : 'packet type 15 is reserved before MQTT 5.0 (AUTH exists only in 5.0)');
    } else if (type === PUBLISH) {
      const qos = (flags >> 1) & 3;
      if (qos === 3) d.problem('qos3', 0, 1, 'PUBLISH QoS bits are 11 (QoS 3)');
      if ((flags & 8) !== 0 && qos === 0) d.problem('dup-qos0', 0, 1, 'PUBLISH has DUP 1 with QoS 0');
    } else {
      const want = info.flags[level];
      if (want !== undefined && want !== null && flags !== want) {
        if (level === 3 && info.flags31Alt === flags) {
          // 3.1 let a retried PUBREL/SUBSCRIBE/UNSUBSCRIBE carry DUP (0xA): accepted.
        } else {
          d.problem('reserved-flags', 0, 1, `${p.typeName} fixed-header flags are ${bits(flags, 0x0f).slice(5)}; required ${bits(want, 0x0f).slice(5)}`);
        }
      }
    }
    if (ctx.dir && !reservedType && !directionAllowed(type, level, ctx.dir)) {
      d.problem('wrong-direction', 0, 1, `${p.typeName} sent by the ${ctx.dir === 'c2s' ? 'client' : 'server'}`);
    }

    // Remaining Length
    if (rlOverlong) {
      d.problem('rl-too-long', 1, 4, 'Remaining Length continues past 4 bytes');
      p.remainingLength = Math.max(0, n - 5);
      d.declaredEnd = n;
      throw STOP;
    }
    if (!rlComplete) {
      d.problem('overrun', 1, rlLength, 'packet ends inside the Remaining Length');
      d.declaredEnd = n;
      throw STOP;
    }
    p.remainingLength = rlValue;
    if (rlNonMinimal) d.problem('rl-nonminimal', 1, rlLength, `Remaining Length ${rlValue} is not encoded in the fewest bytes`);
    d.declaredEnd = declaredEnd;
    if (declaredEnd > n) {
      d.problem('overrun', 1, rlLength, `Remaining Length declares ${rlValue} byte${rlValue === 1 ? '' : 's'} but only ${n - rlEnd} follow${n - rlEnd === 1 ? 's' : ''}`);
      d.end = n;
    } else {
      d.end = declaredEnd;
      if (declaredEnd < n) d.problem('trailing-bytes', declaredEnd, n - declaredEnd, `${n - declaredEnd} byte${n - declaredEnd === 1 ? '' : 's'} after the end declared by the Remaining Length`);
    }
    d.pos = rlEnd;
    if (d.t) d.root!.length = d.end;

    if (reservedType) {
      if (d.t && d.pos < d.end) d.node('body', 'body (unknown layout)', d.pos, d.end - d.pos, hexValue(b, d.pos, d.end));
      throw STOP;
    }
    const fixed = info.fixedRemaining[level];
    if (fixed !== undefined && rlValue !== fixed) {
      // Level 5 CONNACK answered in 3.1.1 form is how a 3.1.1-only server refuses a 5.0 CONNECT.
      d.sizeReported = true;
      d.problem('bad-size', 1, rlLength, `${p.typeName} in MQTT ${level === 3 ? '3.1' : '3.1.1'} has Remaining Length ${fixed}, not ${rlValue}`);
    }
    if (type === CONNACK && level === 5 && rlValue === 2 && d.end >= 4 && b[3] === 0x01 && (b[2]! & 0xfe) === 0) {
      // A 3.1.1-only server refuses a 5.0 CONNECT with the 2-byte "unacceptable protocol version" CONNACK.
      d.level = 4;
    }

    switch (p.type) {
      case CONNECT: decodeConnect(d, p); break;
      case CONNACK: decodeConnack(d, p); break;
      case PUBLISH: decodePublish(d, p); break;
      case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: decodeAck(d, p); break;
      case SUBSCRIBE: decodeSubscribe(d, p); break;
      case SUBACK: decodeSuback(d, p); break;
      case UNSUBSCRIBE: decodeUnsubscribe(d, p); break;
      case UNSUBACK: decodeUnsuback(d, p); break;
      case PINGREQ: case PINGRESP: d.trailing(); break;
      case DISCONNECT: decodeDisconnect(d, p); break;
      case AUTH: if (p instanceof AuthPacket) decodeAuth(d, p); break; // type 15 before 5.0 is a ReservedPacket
    }
  } catch (e) {
    if (e !== STOP) {
      d.field = undefined;
      d.propertyId = undefined;
      d.problem('internal-error', d.pos, 0, `decoder error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  d.closeAll();
  p.length = d.declaredEnd > 0 ? Math.min(n, d.declaredEnd) : n;
  p.level = d.level;
  p.tree = d.root;
  p.problems = d.takeProblems();
  return p;
}

// =============================================================================================
// Fixed header tree (only when the tree is shown)
// =============================================================================================

function fixedHeaderTree(
  d: Cursor, b0: number, type: number, typeName: string, level: ProtocolLevel,
  rlLength: number, rlValue: number, rlComplete: boolean, rlOverlong: boolean, rlNonMinimal: boolean, reservedType: boolean,
): void {
  const b = d.b;
  const flags = b0 & 15;
  const F = FIELD;
  d.open('fixedHeader', 'fixed header');
  let flagText: string;
  const kids: FieldNode[] = [
    { key: F.packetType.key, label: F.packetType.label, offset: 0, length: 1, value: String(type), explain: `${bits(b0, 0xf0)} = ${type} (${typeName})` },
  ];
  if (type === PUBLISH) {
    const qos = (flags >> 1) & 3;
    flagText = `DUP ${(flags >> 3) & 1}, QoS ${qos}, RETAIN ${flags & 1}`;
    kids.push(
      { key: F.dup.key, label: F.dup.label, offset: 0, length: 1, value: String((flags >> 3) & 1), explain: `${bits(b0, F.dup.bits.mask)} = DUP ${(flags >> 3) & 1}${flags & 8 ? ' (re-delivery)' : ''}` },
      { key: F.qos.key, label: F.qos.label, offset: 0, length: 1, value: String(qos), explain: `${bits(b0, F.qos.bits.mask)} = QoS ${qos}${qos === 3 ? ' (invalid)' : ''}` },
      { key: F.retain.key, label: F.retain.label, offset: 0, length: 1, value: String(flags & 1), explain: `${bits(b0, F.retain.bits.mask)} = RETAIN ${flags & 1}` },
    );
  } else {
    const want = reservedType ? undefined : PACKET_TYPES[type]!.flags[level];
    const req = want === undefined || want === null ? '' : `, must be ${bits(want, 0x0f).slice(5)}`;
    flagText = `flags ${bits(flags, 0x0f).slice(5)}`;
    kids.push({ key: F.reservedFlags.key, label: F.reservedFlags.label, offset: 0, length: 1, value: hex1(flags), explain: `${bits(b0, F.reservedFlags.bits.mask)} = reserved${req}` });
  }
  const hb = d.node(F.packetTypeFlags.key, F.packetTypeFlags.label, 0, 1, hex1(b0), `${bits(b0, 0xff)}: ${typeName}, ${flagText}`);
  hb.children = kids;
  if (b.length > 1) {
    const len = Math.max(1, rlLength);
    const value = rlComplete && !rlOverlong ? String(rlValue) : '?';
    const explain = rlOverlong
      ? `${hexValue(b, 1, 5)}: continuation bit still set in the 4th byte (malformed)`
      : !rlComplete
        ? `${hexValue(b, 1, 1 + rlLength)}: cut off before the last length byte`
        : vbiExplain(b, 1, rlLength, rlValue, rlNonMinimal);
    d.node(F.remainingLength.key, F.remainingLength.label, 1, Math.min(len, b.length - 1), value, explain);
  }
  d.pos = Math.min(b.length, 1 + rlLength);
  d.close();
}
