/**
 * Best-effort protocol level from one packet's shape, for connections whose CONNECT was not
 * captured. Only the CONNECT names 3.1 (level 3) for sure; elsewhere 3.1 and 3.1.1 look the same,
 * so "certainly not 5.0" is answered as 4. Ambiguous shapes give null, so the caller can try the
 * next packet.
 */
import type { ProtocolLevel } from './types.js';
import {
  AUTH, CONNACK, CONNECT, DISCONNECT, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBACK_RETURN_CODES,
  SUBSCRIBE, UNSUBACK, UNSUBSCRIBE, propertyAllowedIn, propertyInfo, reasonCode,
} from './tables.js';
import { decodeVbi } from './vbi.js';

export function inferLevel(bytes: Uint8Array): ProtocolLevel | null {
  const b = bytes;
  if (b.length < 2) return null;
  const type = b[0]! >> 4;
  const flags = b[0]! & 15;
  const rl = decodeVbi(b, 1, b.length);
  if (!rl.complete || rl.overlong) return null;
  const start = 1 + rl.length;
  const end = start + rl.value;
  if (type === CONNECT) return connectLevel(b, start, Math.min(end, b.length));
  // Beyond CONNECT, only judge complete packets: exact-fit tests need the real end.
  if (end > b.length) return null;
  const n = rl.value;
  switch (type) {
    case CONNACK:
      if (n === 2) return 4;
      if ((b[start]! & 0xfe) !== 0 || !reasonCode(CONNACK, b[start + 1]!)) return null;
      return propsEnd(b, start + 2, end, CONNACK) === end ? 5 : null;
    case PUBLISH:
      return publishLevel(b, start, end, flags);
    case PUBACK: case PUBREC: case PUBREL: case PUBCOMP:
      if (n === 2) return null;
      if (!reasonCode(type, b[start + 2]!)) return null;
      if (n === 3) return 5;
      return propsEnd(b, start + 3, end, type) === end ? 5 : null;
    case SUBSCRIBE:
      return pick(listFits(b, start + 2, end, 3), (() => {
        const p = propsEnd(b, start + 2, end, SUBSCRIBE);
        return p >= 0 && listFits(b, p, end, 5);
      })());
    case SUBACK: {
      const v3 = n >= 3 && codesValid(b, start + 2, end, (c) => SUBACK_RETURN_CODES.has(c));
      const p = propsEnd(b, start + 2, end, SUBACK);
      const v5 = p >= 0 && p < end && codesValid(b, p, end, (c) => reasonCode(SUBACK, c) !== undefined);
      return pick(v3, v5);
    }
    case UNSUBSCRIBE:
      return pick(listFits(b, start + 2, end, 0), (() => {
        const p = propsEnd(b, start + 2, end, UNSUBSCRIBE);
        return p >= 0 && listFits(b, p, end, 0);
      })());
    case UNSUBACK: {
      if (n === 2) return 4;
      const p = propsEnd(b, start + 2, end, UNSUBACK);
      return p >= 0 && p < end && codesValid(b, p, end, (c) => reasonCode(UNSUBACK, c) !== undefined) ? 5 : null;
    }
    case DISCONNECT:
      if (n === 0) return null;
      if (!reasonCode(DISCONNECT, b[start]!)) return null;
      return n === 1 || propsEnd(b, start + 1, end, DISCONNECT) === end ? 5 : null;
    case AUTH:
      if (n === 0) return 5;
      if (!reasonCode(AUTH, b[start]!)) return null;
      return propsEnd(b, start + 1, end, AUTH) === end ? 5 : null;
    default:
      return null;
  }
}

function pick(v3: boolean, v5: boolean): ProtocolLevel | null {
  if (v3 === v5) return null;
  return v5 ? 5 : 4;
}

function connectLevel(b: Uint8Array, start: number, end: number): ProtocolLevel | null {
  if (start + 2 > end) return null;
  const p = start + 2 + ((b[start]! << 8) | b[start + 1]!);
  if (p >= end) return null;
  const lv = b[p]! & 0x7f;
  return lv === 3 || lv === 4 || lv === 5 ? lv : null;
}

/**
 * A 5.0 PUBLISH has a Property Length after the topic (and packet id). No room for it means 3.x;
 * a property block of PUBLISH-legal properties that fits means 5.0. A 3.x payload that happens
 * to start with 0x00 (an empty property block) is misread as 5.0; text payloads never are.
 */
function publishLevel(b: Uint8Array, start: number, end: number, flags: number): ProtocolLevel | null {
  const qos = (flags >> 1) & 3;
  if (qos === 3 || start + 2 > end) return null;
  let p = start + 2 + ((b[start]! << 8) | b[start + 1]!);
  if (qos > 0) p += 2;
  if (p > end) return null;
  if (p === end) return 4;
  return propsEnd(b, p, end, PUBLISH) >= 0 ? 5 : 4;
}

/** End of a well-formed property block at p for packet `ctx`, or -1. */
function propsEnd(b: Uint8Array, p: number, end: number, ctx: number): number {
  const r = decodeVbi(b, p, end);
  if (!r.complete || r.overlong) return -1;
  let i = p + r.length;
  const blockEnd = i + r.value;
  if (blockEnd > end) return -1;
  while (i < blockEnd) {
    const id = b[i]!;
    const info = propertyInfo(id);
    if (!info || !propertyAllowedIn(id, ctx)) return -1;
    i++;
    switch (info.type) {
      case 'byte': i += 1; break;
      case 'twoByteInt': i += 2; break;
      case 'fourByteInt': i += 4; break;
      case 'varInt': {
        const v = decodeVbi(b, i, blockEnd);
        if (!v.complete || v.overlong) return -1;
        i += v.length;
        break;
      }
      case 'utf8': case 'binary':
        if (i + 2 > blockEnd) return -1;
        i += 2 + ((b[i]! << 8) | b[i + 1]!);
        break;
      case 'utf8Pair':
        for (let k = 0; k < 2; k++) {
          if (i + 2 > blockEnd) return -1;
          i += 2 + ((b[i]! << 8) | b[i + 1]!);
        }
        break;
    }
    if (i > blockEnd) return -1;
  }
  return blockEnd;
}

/**
 * Whether [p,end) is one or more length-prefixed strings, each followed by an options byte when
 * `optMask` says so: 3 = 3.x requested-QoS byte (bits 7-2 zero, QoS < 3); 5 = 5.0 Subscription
 * Options (bits 7-6 zero, QoS < 3, Retain Handling < 3); 0 = no options byte (UNSUBSCRIBE).
 */
function listFits(b: Uint8Array, p: number, end: number, optMask: 0 | 3 | 5): boolean {
  if (p < 0 || p >= end) return false;
  while (p < end) {
    if (p + 2 > end) return false;
    p += 2 + ((b[p]! << 8) | b[p + 1]!);
    if (optMask !== 0) {
      if (p >= end) return false;
      const o = b[p]!;
      if ((o & 3) === 3) return false;
      if (optMask === 3 && (o & 0xfc) !== 0) return false;
      if (optMask === 5 && ((o & 0xc0) !== 0 || ((o >> 4) & 3) === 3)) return false;
      p++;
    }
  }
  return p === end;
}

function codesValid(b: Uint8Array, p: number, end: number, ok: (c: number) => boolean): boolean {
  if (p >= end) return false;
  for (let i = p; i < end; i++) if (!ok(b[i]!)) return false;
  return true;
}
