/**
 * Decodes ONE complete MQTT control packet (3.1, 3.1.1, 5.0) into JSON-ready fields, an optional
 * field tree and a list of problems. Never throws: a structural defect records a problem and ends
 * decoding at that point; semantic defects are recorded and decoding continues.
 *
 * Speed: with ctx.tree false, nothing below builds labels or explanations; the only strings made
 * are field values and (rare) problem messages. Every tree-only statement is behind `d.t`.
 */
import type { DecodeContext, DecodedPacket, DecodeProblem, FieldNode, ProtocolLevel } from './types.js';
import {
  AUTH, CONNACK, CONNECT, DISCONNECT, PACKET_TYPES, PINGREQ, PINGRESP, PROPERTY_TYPE_NAME, PUBACK, PUBCOMP,
  PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, SUBACK_RETURN_CODES, UNSUBACK, UNSUBSCRIBE, WILL_CONTEXT,
  connackReturnCodeName, directionAllowed, packetTypeName, problemSeverity, propertyAllowedIn, propertyInfo,
  propertyRepeatableIn, reasonCode, type ProblemCode, type PropertyInfo,
} from './tables.js';
import {
  U8_BAD, U8_CONTROL, U8_NONASCII, U8_NONCHAR, U8_NULL, bytesToString, displayBytes, isWellFormedUtf8,
  scanUtf8, toHex, utf8Issues, type BytesValue,
} from './utf8.js';
import { checkFilterSyntax, checkSharedFilter, findWildcard, isSharedFilter } from './topics.js';
import { decodeVbi, type VbiResult } from './vbi.js';

export { inferLevel } from './infer.js';
export type { VbiResult as RemainingLength } from './vbi.js';
export type { BytesValue } from './utf8.js';

/**
 * Reads a Remaining Length (Variable Byte Integer) at `offset`. Check `overlong` first (malformed,
 * nothing more to wait for), then `complete` (false: more bytes needed), then use `value`/`length`.
 */
export function decodeRemainingLength(bytes: Uint8Array, offset: number): VbiResult {
  return decodeVbi(bytes, offset, bytes.length);
}

export const DEFAULT_PAYLOAD_LIMIT = 1024;

/** Thrown inside the decoder to unwind to decodePacket when decoding cannot go on. Never escapes. */
class Stop {}
const STOP = new Stop();

/** Longest value text put in a tree node (the renderer shows lines, not megabytes). */
const MAX_VALUE_CHARS = 200;

/** How a string field is checked beyond UTF-8 rules. */
const enum StrKind {
  Plain,
  TopicName,
  Filter,
}

class Decoder {
  readonly b: Uint8Array;
  pos = 0;
  /** Where the packet (or, inside a property block, the block) ends. */
  end: number;
  /** Packet end per the Remaining Length; beyond `end` when the input was cut short. */
  declaredEnd = 0;
  level: ProtocolLevel;
  readonly dir: 'c2s' | 's2c' | null;
  readonly t: boolean;
  readonly problems: DecodeProblem[] = [];
  readonly fields: Record<string, unknown> = {};
  readonly payloadLimit: number;
  /** bad-size already explains the length; suppress overrun / trailing-bytes that follow from it. */
  sizeReported = false;
  /** Inside a property block (`end` is the block end). */
  inBlock = false;
  /** Start/end of the last string or binary value read by str()/bin(). */
  vStart = 0;
  vEnd = 0;
  /** Last node created (for callers that add an explanation). */
  last: FieldNode | null = null;
  readonly root: FieldNode | null;
  /** Open tree nodes; only a tree needs them (see the constructor). */
  private stack: FieldNode[] | null = null;
  private cur: FieldNode[] | null = null;

  constructor(bytes: Uint8Array, ctx: DecodeContext) {
    this.b = bytes;
    this.end = bytes.length;
    this.level = ctx.level;
    this.dir = ctx.dir;
    this.t = ctx.tree;
    const lim = ctx.payloadLimit;
    this.payloadLimit = lim === undefined ? DEFAULT_PAYLOAD_LIMIT : lim < 0 || !Number.isFinite(lim) ? -1 : Math.floor(lim);
    if (this.t) {
      this.root = { key: 'packet', label: 'packet', offset: 0, length: bytes.length, children: [] };
      this.stack = [this.root];
      this.cur = this.root.children!;
    } else {
      this.root = null;
    }
  }

  problem(code: ProblemCode, offset: number, length: number, message: string): void {
    this.problems.push({ code, offset, length, message, severity: problemSeverity(code, this.level) });
  }

  /** A problem with an explicit severity (for the few version- or form-dependent cases). */
  problemAs(code: ProblemCode, severity: 'error' | 'warning', offset: number, length: number, message: string): void {
    this.problems.push({ code, offset, length, message, severity });
  }

  // ---- tree -------------------------------------------------------------------------------

  node(key: string, label: string, offset: number, length: number, value?: string, explain?: string): FieldNode {
    const n: FieldNode = { key, label, offset, length };
    if (value !== undefined) n.value = value;
    if (explain !== undefined) n.explain = explain;
    this.cur!.push(n);
    this.last = n;
    return n;
  }

  open(key: string, label: string): FieldNode | null {
    if (!this.t) return null;
    const n: FieldNode = { key, label, offset: this.pos, length: 0, children: [] };
    this.cur!.push(n);
    this.stack!.push(n);
    this.cur = n.children!;
    return n;
  }

  close(): void {
    if (!this.t) return;
    const stack = this.stack!;
    const n = stack.pop()!;
    let hi = this.pos;
    for (const c of n.children!) if (c.offset + c.length > hi) hi = c.offset + c.length;
    n.length = Math.max(0, hi - n.offset);
    this.cur = stack[stack.length - 1]!.children!;
  }

  /** Closes whatever is still open after an early stop. */
  closeAll(): void {
    if (!this.t) return;
    while (this.stack!.length > 1) this.close();
  }

  // ---- primitives ---------------------------------------------------------------------------

  /** Ensures n bytes remain; otherwise records an overrun (unless bad-size covers it) and stops. */
  need(n: number, key: string, label: string): void {
    if (this.pos + n <= this.end) return;
    const left = this.end - this.pos;
    if (!this.sizeReported) {
      this.problem('overrun', this.pos, left, `${label}: needs ${n} byte${n === 1 ? '' : 's'}, only ${left} left${this.where()}`);
    }
    if (this.t && left > 0) this.node(key, `${label} (cut off)`, this.pos, left, hexValue(this.b, this.pos, this.end));
    throw STOP;
  }

  /** Suffix naming the enclosing block when it is not the packet itself. */
  where(): string {
    return this.inBlock ? ' in the property block' : '';
  }

  u8(key: string, label: string): number {
    this.need(1, key, label);
    const v = this.b[this.pos]!;
    if (this.t) this.node(key, label, this.pos, 1, String(v));
    this.pos += 1;
    return v;
  }

  u16(key: string, label: string): number {
    this.need(2, key, label);
    const v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
    if (this.t) this.node(key, label, this.pos, 2, String(v));
    this.pos += 2;
    return v;
  }

  u32(key: string, label: string): number {
    this.need(4, key, label);
    const p = this.pos;
    const v = this.b[p]! * 0x1000000 + ((this.b[p + 1]! << 16) | (this.b[p + 2]! << 8) | this.b[p + 3]!);
    if (this.t) this.node(key, label, p, 4, String(v));
    this.pos += 4;
    return v;
  }

  packetId(): number {
    const at = this.pos;
    const id = this.u16('packetId', 'packet identifier');
    if (id === 0) this.problem('packet-id-zero', at, 2, 'Packet Identifier is 0');
    return id;
  }

  /**
   * A Variable Byte Integer inside the variable header. Stops on truncation or a 5+ byte encoding;
   * a non-minimal encoding is reported as prop-nonminimal (the only VBIs read here are
   * property-related).
   */
  vbi(key: string, label: string): number {
    const r = decodeVbi(this.b, this.pos, this.end);
    if (r.overlong) {
      this.problem('vbi-too-long', this.pos, 4, `${label}: variable byte integer longer than 4 bytes`);
      if (this.t) this.node(key, label, this.pos, 4, hexValue(this.b, this.pos, this.pos + 4), 'more than 4 bytes: malformed');
      throw STOP;
    }
    if (!r.complete) this.need(r.length + 1, key, label);
    if (r.nonMinimal) {
      this.problem('prop-nonminimal', this.pos, r.length, `${label}: ${r.value} is not encoded in the fewest bytes`);
    }
    if (this.t) this.node(key, label, this.pos, r.length, String(r.value), vbiExplain(this.b, this.pos, r));
    this.pos += r.length;
    return r.value;
  }

  /** 2-byte length + bytes; sets vStart/vEnd. Tree: node with children "length" and `dataKey`. */
  lengthPrefixed(key: string, label: string, dataKey: string): FieldNode | null {
    const start = this.pos;
    this.need(2, key, `${label} length`);
    const len = (this.b[start]! << 8) | this.b[start + 1]!;
    const vStart = start + 2;
    const vEnd = vStart + len;
    if (vEnd > this.end) {
      const left = this.end - vStart;
      if (!this.sizeReported) {
        this.problem('overrun', start, this.end - start, `${label}: length ${len} runs past the end (${left} byte${left === 1 ? '' : 's'} left${this.where()})`);
      }
      if (this.t) {
        const n = this.node(key, `${label} (cut off)`, start, this.end - start);
        n.children = [
          { key: 'length', label: 'length', offset: start, length: 2, value: String(len), explain: `${hex2(len)} = ${len} bytes declared, ${left} present` },
        ];
        if (left > 0) n.children.push({ key: dataKey, label: dataKey, offset: vStart, length: left, value: hexValue(this.b, vStart, this.end) });
      }
      throw STOP;
    }
    this.pos = vEnd;
    this.vStart = vStart;
    this.vEnd = vEnd;
    if (!this.t) return null;
    const n = this.node(key, label, start, vEnd - start);
    n.children = [{ key: 'length', label: 'length', offset: start, length: 2, value: String(len), explain: `${hex2(len)} = ${len} byte${len === 1 ? '' : 's'}` }];
    return n;
  }

  /** A UTF-8 Encoded String with the UTF-8 (and, per kind, topic) checks. */
  str(key: string, label: string, kind: StrKind = StrKind.Plain): string {
    const n = this.lengthPrefixed(key, label, 'text');
    const s0 = this.vStart;
    const s1 = this.vEnd;
    const flags = scanUtf8(this.b, s0, s1);
    if ((flags & (U8_BAD | U8_NULL | U8_CONTROL | U8_NONCHAR)) !== 0) this.utf8Problems(label, s0, s1);
    const s = bytesToString(this.b, s0, s1, (flags & U8_NONASCII) === 0);
    if (kind === StrKind.TopicName) {
      const w = findWildcard(this.b, s0, s1);
      if (w >= 0) this.problem('topic-wildcard', w, 1, `${label} "${clip(s)}" contains '${String.fromCharCode(this.b[w]!)}'`);
    } else if (kind === StrKind.Filter) {
      this.checkFilter(label, s, s0, s1);
    }
    if (n) {
      const q = quote(s);
      n.value = q;
      n.explain = `UTF-8 string, ${s1 - s0} byte${s1 - s0 === 1 ? '' : 's'}`;
      n.children!.push({ key: 'text', label: 'text', offset: s0, length: s1 - s0, value: q });
    }
    return s;
  }

  /** Binary Data (2-byte length + bytes); returns nothing, the range is in vStart/vEnd. */
  bin(key: string, label: string): void {
    const n = this.lengthPrefixed(key, label, 'data');
    if (n) {
      const v = hexValue(this.b, this.vStart, this.vEnd);
      n.value = v;
      n.explain = `binary data, ${this.vEnd - this.vStart} byte${this.vEnd - this.vStart === 1 ? '' : 's'}`;
      n.children!.push({ key: 'data', label: 'data', offset: this.vStart, length: this.vEnd - this.vStart, value: v });
    }
  }

  utf8Problems(label: string, s0: number, s1: number): void {
    let bad = false;
    let nul = false;
    let ctl = false;
    let nonc = false;
    for (const is of utf8Issues(this.b, s0, s1)) {
      // One problem per kind per string: a binary blob would otherwise produce hundreds.
      if (is.kind === 'bad' && !bad) {
        bad = true;
        this.problem('bad-utf8', is.offset, is.length, `${label}: ill-formed UTF-8 (${hexValue(this.b, is.offset, is.offset + is.length)})`);
      } else if (is.kind === 'null' && !nul) {
        nul = true;
        this.problem('utf8-null', is.offset, 1, `${label}: contains U+0000`);
      } else if (is.kind === 'control' && !ctl) {
        ctl = true;
        this.problem('utf8-control', is.offset, is.length, `${label}: contains control character ${cpName(is.cp)}`);
      } else if (is.kind === 'noncharacter' && !nonc) {
        nonc = true;
        this.problem('utf8-noncharacter', is.offset, is.length, `${label}: contains noncharacter ${cpName(is.cp)}`);
      }
    }
  }

  checkFilter(label: string, s: string, s0: number, s1: number): void {
    if (s1 === s0) {
      this.problem('filter-empty', s0 - 2, 2, `${label} is empty`);
      return;
    }
    const issue =
      this.level === 5 && isSharedFilter(this.b, s0, s1) ? checkSharedFilter(this.b, s0, s1) : checkFilterSyntax(this.b, s0, s1);
    if (issue) this.problem(issue.code, issue.offset, issue.length, `${label} "${clip(s)}": ${issue.message}`);
  }

  /** Bytes after the last field (not for PUBLISH, whose payload takes the rest). */
  trailing(): void {
    if (this.pos >= this.end) return;
    if (!this.sizeReported) {
      const n = this.end - this.pos;
      this.problem('trailing-bytes', this.pos, n, `${n} byte${n === 1 ? '' : 's'} left after the last field`);
    }
    if (this.t) this.node('trailingBytes', 'trailing bytes', this.pos, this.end - this.pos, hexValue(this.b, this.pos, this.end));
    this.pos = this.end;
  }

  // ---- reason codes ------------------------------------------------------------------------

  /** Reads and validates a v5 reason code for the current packet type; sets reasonCode(+Name) fields. */
  reason(type: number): number {
    const at = this.pos;
    this.need(1, 'reasonCode', 'reason code');
    const rc = this.b[at]!;
    this.pos++;
    const e = reasonCode(type, rc);
    const tn = PACKET_TYPES[type]!.name;
    this.fields['reasonCode'] = rc;
    this.fields['reasonCodeName'] = e ? e.name : 'Unknown';
    if (!e) {
      this.problem('bad-reason-code', at, 1, `reason code ${hex1(rc)} is not defined for ${tn}`);
    } else if (e.tableConflict) {
      this.problem('reason-code-conflict', at, 1, `reason code ${hex1(rc)} (${e.name}) is listed for ${tn} only in Table 2-6`);
    } else if (e.sender && this.dir && e.sender !== this.dir) {
      this.problem('bad-reason-code', at, 1, `reason code ${hex1(rc)} (${e.name}) in ${tn} may only be sent by the ${e.sender === 'c2s' ? 'client' : 'server'}`);
    }
    if (this.t) this.node('reasonCode', 'reason code', at, 1, hex1(rc), e ? e.name : `not a ${tn} reason code`);
    return rc;
  }

  /** Short form: the reason code is absent and means 0x00. */
  impliedReason(type: number, why: string): void {
    const e = reasonCode(type, 0)!;
    this.fields['reasonCode'] = 0;
    this.fields['reasonCodeName'] = e.name;
    if (this.t) this.node('reasonCode', 'reason code (omitted)', this.pos, 0, '0x00', `${e.name}: ${why}`);
  }

  // ---- properties (5.0) ----------------------------------------------------------------------

  /**
   * Property Length + properties. `ctx` is the packet type or WILL_CONTEXT. The result object is
   * placed in fields[key] before reading so a stop mid-block keeps what was decoded.
   */
  properties(ctx: number, key: string, label: string): Record<string, unknown> {
    const props: Record<string, unknown> = {};
    this.fields[key] = props;
    this.open(key, label);
    const len = this.vbi('propertyLength', 'property length');
    if (this.t) this.last!.explain = `${this.last!.explain}: ${len} byte${len === 1 ? '' : 's'} of properties`;
    const blockEnd = this.pos + len;
    if (blockEnd > this.end) {
      const left = this.end - this.pos;
      if (!this.sizeReported) {
        this.problem('overrun', this.pos, left, `${label}: property length ${len} runs past the end (${left} byte${left === 1 ? '' : 's'} left)`);
      }
      if (this.t && left > 0) this.node('cutOff', 'properties (cut off)', this.pos, left, hexValue(this.b, this.pos, this.end));
      throw STOP;
    }
    const outerEnd = this.end;
    this.end = blockEnd;
    this.inBlock = true;
    const pctx = ctx === WILL_CONTEXT ? 'WILL' : ctx;
    let seenLo = 0; // ids 0..31
    let seenHi = 0; // ids 32..63
    while (this.pos < blockEnd) {
      const pStart = this.pos;
      const idr = decodeVbi(this.b, pStart, blockEnd);
      if (idr.overlong) {
        this.problem('vbi-too-long', pStart, 4, `${label}: property identifier longer than 4 bytes`);
        throw STOP;
      }
      if (!idr.complete) this.need(idr.length + 1, 'propertyId', 'property identifier');
      const id = idr.value;
      const info = propertyInfo(id);
      if (!info) {
        this.problem('prop-unknown', pStart, blockEnd - pStart, `${label}: unknown property identifier ${hex1(id)}; its length is unknown, decoding stops`);
        if (this.t) this.node('unknownProperty', 'unknown property', pStart, blockEnd - pStart, hexValue(this.b, pStart, blockEnd), `identifier ${hex1(id)} is not defined`);
        throw STOP;
      }
      if (idr.nonMinimal) this.problem('prop-nonminimal', pStart, idr.length, `${info.name}: identifier not encoded in the fewest bytes`);
      const tn = ctx === WILL_CONTEXT ? 'Will Properties' : PACKET_TYPES[ctx]!.name;
      if (!propertyAllowedIn(id, pctx)) {
        this.problem('prop-not-allowed', pStart, idr.length, `${info.name} (${hex1(id)}) is not allowed in ${tn}`);
      } else if (info.senderOnly && info.senderOnly.packet === ctx && this.dir && this.dir !== info.senderOnly.dir) {
        this.problem('prop-not-allowed', pStart, idr.length, `${info.name} (${hex1(id)}) in ${tn} may only be sent by the ${info.senderOnly.dir === 'c2s' ? 'client' : 'server'}`);
      }
      const bit = 1 << (id & 31);
      const seen = id < 32 ? (seenLo & bit) !== 0 : (seenHi & bit) !== 0;
      if (id < 32) seenLo |= bit;
      else seenHi |= bit;
      if (seen && !propertyRepeatableIn(info, pctx)) {
        this.problem('prop-duplicate', pStart, idr.length, `${info.name} (${hex1(id)}) appears more than once in ${tn}`);
      }
      const pn = this.open(info.key, info.name);
      this.pos += idr.length;
      if (pn) this.node('id', 'property identifier', pStart, idr.length, hex1(id), info.name);
      const value = this.propertyValue(info);
      if (info.id === 0x26) {
        ((props['userProperties'] ??= []) as [string, string][]).push(value as [string, string]);
      } else if (info.id === 0x0b && ctx === PUBLISH) {
        ((props['subscriptionIdentifier'] ??= []) as number[]).push(value as number);
      } else if (!seen) {
        props[info.key] = value;
      }
      if (pn) {
        pn.value = propertyDisplay(value);
        pn.explain = `id ${hex1(id)}, ${PROPERTY_TYPE_NAME[info.type]}${propertyNote(info, value)}`;
      }
      this.close();
    }
    this.end = outerEnd;
    this.inBlock = false;
    // Only CONNECT states this rule (5.0 §3.1.2.11.10); AUTH needs a method anyway (auth-without-method).
    if (ctx === CONNECT && props['authenticationData'] !== undefined && props['authenticationMethod'] === undefined) {
      this.problem('auth-data-without-method', blockEnd - len, len, `${label}: Authentication Data without Authentication Method`);
    }
    this.close();
    return props;
  }

  propertyValue(info: PropertyInfo): unknown {
    const at = this.pos;
    switch (info.type) {
      case 'byte': {
        const v = this.u8('value', 'value');
        if ((info.constraint === 'bool' || info.constraint === 'maxQos') && v > 1) {
          this.problem('prop-value', at, 1, `${info.name} is ${v}; only 0 or 1 are allowed`);
        }
        return v;
      }
      case 'twoByteInt': {
        const v = this.u16('value', 'value');
        if (info.constraint === 'nonzero' && v === 0) this.problem('prop-value', at, 2, `${info.name} must not be 0`);
        return v;
      }
      case 'fourByteInt': {
        const v = this.u32('value', 'value');
        if (info.constraint === 'nonzero' && v === 0) this.problem('prop-value', at, 4, `${info.name} must not be 0`);
        return v;
      }
      case 'varInt': {
        const v = this.vbi('value', 'value');
        if (info.constraint === 'nonzero' && v === 0) this.problem('prop-value', at, this.pos - at, `${info.name} must not be 0`);
        return v;
      }
      case 'utf8': {
        // Response Topic is a Topic Name: no wildcards (MQTT 5.0 §3.3.2.3.5).
        return this.str('value', info.name, info.id === 0x08 ? StrKind.TopicName : StrKind.Plain);
      }
      case 'utf8Pair': {
        const k = this.str('name', `${info.name} name`);
        const v = this.str('value', `${info.name} value`);
        return [k, v];
      }
      case 'binary': {
        this.bin('value', info.name);
        // Authentication Data may be a password-like secret: make it readable (and findable for redaction).
        return info.id === 0x16
          ? displayBytes(this.b, this.vStart, this.vEnd, -1)
          : { encoding: 'hex', data: toHex(this.b, this.vStart, this.vEnd) };
      }
    }
  }
}

// =============================================================================================
// Packet bodies
// =============================================================================================

function decodeConnect(d: Decoder): void {
  const f = d.fields;
  const b = d.b;
  d.open('variableHeader', 'variable header');
  const nameAt = d.pos;
  const name = d.str('protocolName', 'protocol name');
  f['protocolName'] = name;
  if (name !== 'MQTT' && name !== 'MQIsdp') {
    d.problem('bad-protocol-name', nameAt, d.pos - nameAt, `protocol name "${clip(name)}" is neither "MQTT" nor "MQIsdp"`);
  }
  const lvAt = d.pos;
  d.need(1, 'protocolLevel', 'protocol level');
  const raw = b[lvAt]!;
  d.pos++;
  let lv = raw;
  if ((raw & 0x80) !== 0 && (raw & 0x7f) >= 3 && (raw & 0x7f) <= 5) {
    lv = raw & 0x7f;
    f['protocolLevel'] = lv;
    f['bridge'] = true;
    d.problem('bridge-flag', lvAt, 1, `protocol level ${hex1(raw)} has the bridge bit (0x80) set; decoded as level ${lv}`);
  } else {
    f['protocolLevel'] = raw;
  }
  const valid = lv === 3 || lv === 4 || lv === 5;
  if (d.t) {
    const what = valid ? `MQTT ${lv === 3 ? '3.1' : lv === 4 ? '3.1.1' : '5.0'}` : 'not a known MQTT version';
    d.node('protocolLevel', 'protocol level', lvAt, 1, String(raw), raw !== lv ? `${hex1(raw)} = bridge bit 0x80 + ${lv} (${what})` : `${raw} = ${what}`);
  }
  if (!valid) {
    d.problem('bad-protocol-level', lvAt, 1, `protocol level ${raw} is not 3, 4 or 5; the rest of the packet has no known layout`);
    throw STOP;
  }
  if ((name === 'MQTT' && lv === 3) || (name === 'MQIsdp' && lv !== 3)) {
    d.problem('name-level-mismatch', nameAt, lvAt + 1 - nameAt, `protocol name "${name}" does not go with level ${lv}`);
  }
  const level = d.level; // set from the CONNECT's own bytes by decodePacket

  const flAt = d.pos;
  d.need(1, 'connectFlags', 'connect flags');
  const fl = b[flAt]!;
  d.pos++;
  const user = (fl & 0x80) !== 0;
  const pass = (fl & 0x40) !== 0;
  const willRetain = (fl & 0x20) !== 0;
  const willQos = (fl >> 3) & 3;
  const will = (fl & 0x04) !== 0;
  const clean = (fl & 0x02) !== 0;
  const reserved = fl & 0x01;
  f[level === 5 ? 'cleanStart' : 'cleanSession'] = clean;
  f['willFlag'] = will;
  f['willQos'] = willQos;
  f['willRetain'] = willRetain;
  f['passwordFlag'] = pass;
  f['usernameFlag'] = user;
  if (d.t) {
    const cl = level === 5 ? 'clean start' : 'clean session';
    const n = d.node(
      'connectFlags', 'connect flags', flAt, 1, hex1(fl),
      `${bits(fl, 0xff)}: user name ${+user}, password ${+pass}, will retain ${+willRetain}, will QoS ${willQos}, will ${+will}, ${cl} ${+clean}, reserved ${reserved}`,
    );
    const c = (key: string, label: string, mask: number, v: number): FieldNode => ({
      key, label, offset: flAt, length: 1, value: String(v), explain: `${bits(fl, mask)} = ${label}: ${v}`,
    });
    n.children = [
      c('usernameFlag', 'user name flag', 0x80, +user),
      c('passwordFlag', 'password flag', 0x40, +pass),
      c('willRetain', 'will retain', 0x20, +willRetain),
      c('willQos', 'will QoS', 0x18, willQos),
      c('willFlag', 'will flag', 0x04, +will),
      c(level === 5 ? 'cleanStart' : 'cleanSession', cl, 0x02, +clean),
      c('reserved', 'reserved', 0x01, reserved),
    ];
  }
  if (reserved && level !== 3) d.problem('connect-reserved-bit', flAt, 1, 'connect flags bit 0 (reserved) is 1');
  if (!will && (willQos !== 0 || willRetain)) {
    d.problem('will-flags', flAt, 1, `Will flag is 0 but Will QoS is ${willQos} and Will Retain is ${+willRetain}`);
  }
  if (will && willQos === 3) d.problem('will-qos3', flAt, 1, 'Will QoS is 3');
  if (level === 4 && pass && !user) d.problem('password-without-username', flAt, 1, 'Password flag is 1 while User Name flag is 0');

  const ka = d.u16('keepAlive', 'keep alive');
  f['keepAlive'] = ka;
  if (d.t) {
    d.last!.explain = ka === 0
      ? '0 = keep alive off: the server expects no traffic at any interval'
      : `${ka} s${ka >= 60 ? ` (${duration(ka)})` : ''}: the client sends something at least every ${ka} s; the server may close after 1.5x = ${fmtNum(ka * 1.5)} s of silence`;
  }
  if (level === 5) d.properties(CONNECT, 'properties', 'properties');
  d.close();

  d.open('payload', 'payload');
  const cidAt = d.pos;
  const cid = d.str('clientId', 'client identifier');
  f['clientId'] = cid;
  if (cid.length === 0 && ((level === 4 && !clean) || level === 3)) {
    d.problem('clientid-empty', cidAt, 2, level === 3 ? 'MQTT 3.1 requires a ClientId of 1-23 characters' : 'zero-length ClientId requires CleanSession = 1');
  }
  if (will) {
    if (level === 5) d.properties(WILL_CONTEXT, 'willProperties', 'will properties');
    const wtAt = d.pos;
    const wt = d.str('willTopic', 'will topic', StrKind.TopicName);
    f['willTopic'] = wt;
    if (wt.length === 0) d.problem('topic-empty', wtAt, 2, 'Will Topic is empty');
    d.bin('willPayload', level === 3 ? 'will message' : 'will payload');
    f['willPayload'] = displayBytes(b, d.vStart, d.vEnd, d.payloadLimit);
    const wp = f['willProperties'] as Record<string, unknown> | undefined;
    if (wp && wp['payloadFormatIndicator'] === 1 && !isWellFormedUtf8(b, d.vStart, d.vEnd)) {
      d.problem('payload-not-utf8', d.vStart, d.vEnd - d.vStart, 'Will Payload Format Indicator is 1 but the Will Payload is not well-formed UTF-8');
    }
  }
  if (user) {
    if (level === 3 && d.pos >= d.end) {
      d.problem('v31-missing-field', d.pos, 0, 'User Name flag is set but the packet ends before the User Name');
    } else {
      f['username'] = d.str('username', 'user name');
    }
  }
  if (pass) {
    if (level === 3 && d.pos >= d.end) {
      d.problem('v31-missing-field', d.pos, 0, 'Password flag is set but the packet ends before the Password');
    } else {
      d.bin('password', 'password');
      const pw = displayBytes(b, d.vStart, d.vEnd, -1);
      f['password'] = pw;
      if (d.t) d.last!.value = payloadValue(pw);
    }
  }
  d.close();
  d.trailing();
}

function decodeConnack(d: Decoder): void {
  const f = d.fields;
  const b = d.b;
  d.open('variableHeader', 'variable header');
  const flAt = d.pos;
  d.need(1, 'acknowledgeFlags', 'acknowledge flags');
  const fl = b[flAt]!;
  d.pos++;
  const level = d.level;
  const sp = (fl & 1) !== 0;
  if (level !== 3) f['sessionPresent'] = sp;
  if (d.t) {
    if (level === 3) {
      d.node('acknowledgeFlags', 'reserved (3.1: topic name compression response)', flAt, 1, hex1(fl), 'not used in MQTT 3.1');
    } else {
      const n = d.node('acknowledgeFlags', 'acknowledge flags', flAt, 1, hex1(fl), `${bits(fl, 0xff)}: reserved ${bits(fl >> 1, 0x7f).replace(/ /g, '').slice(1)}, session present ${+sp}`);
      n.children = [
        { key: 'reserved', label: 'reserved', offset: flAt, length: 1, value: hex1(fl & 0xfe), explain: `${bits(fl, 0xfe)} = reserved, must be 0` },
        { key: 'sessionPresent', label: 'session present', offset: flAt, length: 1, value: String(+sp), explain: `${bits(fl, 0x01)} = session present: ${+sp}` },
      ];
    }
  }
  if (level !== 3 && (fl & 0xfe) !== 0) d.problem('connack-reserved-bits', flAt, 1, `acknowledge flags ${hex1(fl)}: bits 7-1 must be 0`);
  if (level !== 5) {
    const rcAt = d.pos;
    d.need(1, 'returnCode', 'return code');
    const rc = b[rcAt]!;
    d.pos++;
    const name = connackReturnCodeName(rc);
    f['returnCode'] = rc;
    f['returnCodeName'] = name ?? 'Reserved';
    if (d.t) d.node('returnCode', 'return code', rcAt, 1, String(rc), name ?? `${rc} is reserved (only 0-5 are defined)`);
    if (!name) d.problem('bad-return-code', rcAt, 1, `CONNACK return code ${rc} is reserved (0-5 are defined)`);
    if (level === 4 && sp && rc !== 0) d.problem('session-present-on-failure', flAt, 1, `Session Present is 1 with return code ${rc}`);
    d.close();
    d.trailing();
    return;
  }
  const rc = d.reason(CONNACK);
  if (sp && rc !== 0) d.problem('session-present-on-failure', flAt, 1, `Session Present is 1 with reason code ${hex1(rc)}`);
  d.properties(CONNACK, 'properties', 'properties');
  d.close();
  d.trailing();
}

function decodePublish(d: Decoder, flags: number): void {
  const f = d.fields;
  const b = d.b;
  const qos = (flags >> 1) & 3;
  f['qos'] = qos;
  f['dup'] = (flags & 8) !== 0;
  f['retain'] = (flags & 1) !== 0;
  d.open('variableHeader', 'variable header');
  const tAt = d.pos;
  const topic = d.str('topic', 'topic name', StrKind.TopicName);
  f['topic'] = topic;
  if (topic.length === 0 && d.level !== 5) d.problem('topic-empty', tAt, 2, 'Topic Name is empty');
  // With QoS 3 nobody can tell whether a Packet Identifier follows.
  if (qos === 3) throw STOP;
  if (qos > 0) f['packetId'] = d.packetId();
  if (d.level === 5) {
    const props = d.properties(PUBLISH, 'properties', 'properties');
    if (topic.length === 0 && props['topicAlias'] === undefined) {
      d.problem('topic-empty', tAt, 2, 'Topic Name is empty and there is no Topic Alias');
    }
  }
  d.close();
  const pAt = d.pos;
  const avail = d.end - pAt;
  const total = d.declaredEnd - pAt;
  f['payloadLength'] = total;
  const payload = displayBytes(b, pAt, d.end, d.payloadLimit, d.declaredEnd);
  f['payload'] = payload;
  const props = f['properties'] as Record<string, unknown> | undefined;
  if (props && props['payloadFormatIndicator'] === 1 && !isWellFormedUtf8(b, pAt, d.end)) {
    d.problem('payload-not-utf8', pAt, avail, 'Payload Format Indicator is 1 but the payload is not well-formed UTF-8');
  }
  if (d.t) {
    d.node('payload', 'payload', pAt, avail, payloadValue(payload), payloadExplain(total, payload));
  }
  d.pos = d.end;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP. */
function decodeAck(d: Decoder, type: number): void {
  d.open('variableHeader', 'variable header');
  d.fields['packetId'] = d.packetId();
  if (d.level === 5) {
    const rest = d.end - d.pos;
    if (rest === 0) {
      d.impliedReason(type, 'Remaining Length 2 means reason 0x00 and no properties');
      d.fields['properties'] = {};
    } else {
      d.reason(type);
      if (d.pos === d.end) d.fields['properties'] = {};
      else d.properties(type, 'properties', 'properties');
    }
  }
  d.close();
  d.trailing();
}

function decodeSubscribe(d: Decoder): void {
  const f = d.fields;
  const b = d.b;
  const v5 = d.level === 5;
  d.open('variableHeader', 'variable header');
  f['packetId'] = d.packetId();
  if (v5) d.properties(SUBSCRIBE, 'properties', 'properties');
  d.close();
  d.open('payload', 'payload');
  const subs: Record<string, unknown>[] = [];
  f['subscriptions'] = subs;
  while (d.pos < d.end) {
    d.open('subscription', 'subscription');
    const fAt = d.pos;
    const topic = d.str('topic', 'topic filter', StrKind.Filter);
    const oAt = d.pos;
    d.need(1, v5 ? 'options' : 'qos', v5 ? 'subscription options' : 'requested QoS');
    const o = b[oAt]!;
    d.pos++;
    const qos = o & 3;
    if (qos === 3) d.problem('sub-qos3', oAt, 1, `subscription to "${clip(topic)}" requests QoS 3`);
    if (v5) {
      const noLocal = (o & 4) !== 0;
      const rap = (o & 8) !== 0;
      const rh = (o >> 4) & 3;
      subs.push({ topic, qos, noLocal, retainAsPublished: rap, retainHandling: rh });
      if (rh === 3) d.problem('retain-handling3', oAt, 1, `subscription to "${clip(topic)}" has Retain Handling 3`);
      if (o & 0xc0) d.problem('sub-reserved-bits', oAt, 1, `subscription options ${hex1(o)}: bits 7-6 must be 0`);
      if (noLocal && isSharedFilter(b, fAt + 2, oAt)) d.problem('shared-nolocal', oAt, 1, `No Local is 1 on shared subscription "${clip(topic)}"`);
      if (d.t) {
        const n = d.node('options', 'subscription options', oAt, 1, hex1(o),
          `${bits(o, 0xff)}: QoS ${qos}, no local ${+noLocal}, retain as published ${+rap}, retain handling ${rh}, reserved ${o >> 6}`);
        const c = (key: string, label: string, mask: number, v: number, x = ''): FieldNode => ({
          key, label, offset: oAt, length: 1, value: String(v), explain: `${bits(o, mask)} = ${label}: ${v}${x}`,
        });
        n.children = [
          c('reserved', 'reserved', 0xc0, o >> 6),
          c('retainHandling', 'retain handling', 0x30, rh, RETAIN_HANDLING[rh]),
          c('retainAsPublished', 'retain as published', 0x08, +rap),
          c('noLocal', 'no local', 0x04, +noLocal),
          c('qos', 'maximum QoS', 0x03, qos),
        ];
      }
    } else {
      subs.push({ topic, qos });
      if (d.level === 4 && (o & 0xfc)) d.problem('sub-reserved-bits', oAt, 1, `requested QoS byte ${hex1(o)}: bits 7-2 must be 0`);
      if (d.t) {
        const n = d.node('qos', 'requested QoS', oAt, 1, String(qos), `${bits(o, 0xff)}: QoS ${qos}${o & 0xfc ? `, reserved bits ${hex1(o & 0xfc)}` : ''}`);
        n.children = [
          { key: 'reserved', label: 'reserved', offset: oAt, length: 1, value: String(o >> 2), explain: `${bits(o, 0xfc)} = reserved` },
          { key: 'qos', label: 'QoS', offset: oAt, length: 1, value: String(qos), explain: `${bits(o, 0x03)} = QoS ${qos}` },
        ];
      }
    }
    d.close();
  }
  if (subs.length === 0) d.problem('no-filters', d.pos, 0, 'SUBSCRIBE has no Topic Filter');
  d.close();
}

function decodeSuback(d: Decoder): void {
  const f = d.fields;
  const b = d.b;
  const v5 = d.level === 5;
  d.open('variableHeader', 'variable header');
  f['packetId'] = d.packetId();
  if (v5) d.properties(SUBACK, 'properties', 'properties');
  d.close();
  d.open('payload', 'payload');
  const codes: number[] = [];
  const names: string[] = [];
  f[v5 ? 'reasonCodes' : 'returnCodes'] = codes;
  f[v5 ? 'reasonCodeNames' : 'returnCodeNames'] = names;
  while (d.pos < d.end) {
    const at = d.pos;
    const rc = b[at]!;
    d.pos++;
    let name: string | undefined;
    if (v5) {
      const e = reasonCode(SUBACK, rc);
      name = e?.name;
      if (!e) d.problem('bad-reason-code', at, 1, `reason code ${hex1(rc)} is not defined for SUBACK`);
    } else {
      name = SUBACK_RETURN_CODES.get(rc);
      if (!name) d.problem('bad-return-code', at, 1, `SUBACK return code ${hex1(rc)} is reserved (0x00, 0x01, 0x02, 0x80 are defined)`);
    }
    codes.push(rc);
    names.push(name ?? 'Unknown');
    if (d.t) d.node(v5 ? 'reasonCode' : 'returnCode', v5 ? 'reason code' : 'return code', at, 1, hex1(rc), name ?? 'not a SUBACK code');
  }
  if (codes.length === 0) d.problem('no-reason-codes', d.pos, 0, `SUBACK has no ${v5 ? 'reason' : 'return'} codes`);
  d.close();
}

function decodeUnsubscribe(d: Decoder): void {
  const f = d.fields;
  d.open('variableHeader', 'variable header');
  f['packetId'] = d.packetId();
  if (d.level === 5) d.properties(UNSUBSCRIBE, 'properties', 'properties');
  d.close();
  d.open('payload', 'payload');
  const topics: string[] = [];
  f['topics'] = topics;
  while (d.pos < d.end) topics.push(d.str('topic', 'topic filter', StrKind.Filter));
  if (topics.length === 0) d.problem('no-filters', d.pos, 0, 'UNSUBSCRIBE has no Topic Filter');
  d.close();
}

function decodeUnsuback(d: Decoder): void {
  const f = d.fields;
  d.open('variableHeader', 'variable header');
  f['packetId'] = d.packetId();
  if (d.level !== 5) {
    d.close();
    d.trailing();
    return;
  }
  d.properties(UNSUBACK, 'properties', 'properties');
  d.close();
  d.open('payload', 'payload');
  const codes: number[] = [];
  const names: string[] = [];
  f['reasonCodes'] = codes;
  f['reasonCodeNames'] = names;
  while (d.pos < d.end) {
    const at = d.pos;
    const rc = d.b[at]!;
    d.pos++;
    const e = reasonCode(UNSUBACK, rc);
    if (!e) d.problem('bad-reason-code', at, 1, `reason code ${hex1(rc)} is not defined for UNSUBACK`);
    codes.push(rc);
    names.push(e ? e.name : 'Unknown');
    if (d.t) d.node('reasonCode', 'reason code', at, 1, hex1(rc), e ? e.name : 'not an UNSUBACK code');
  }
  if (codes.length === 0) d.problem('no-reason-codes', d.pos, 0, 'UNSUBACK has no reason codes');
  d.close();
}

function decodeDisconnect(d: Decoder): void {
  if (d.level !== 5) {
    d.trailing();
    return;
  }
  d.open('variableHeader', 'variable header');
  const rest = d.end - d.pos;
  if (rest === 0) {
    d.impliedReason(DISCONNECT, 'Remaining Length 0 means reason 0x00 and no properties');
    d.fields['properties'] = {};
  } else {
    d.reason(DISCONNECT);
    if (d.pos === d.end) d.fields['properties'] = {};
    else d.properties(DISCONNECT, 'properties', 'properties');
  }
  d.close();
  d.trailing();
}

function decodeAuth(d: Decoder): void {
  d.open('variableHeader', 'variable header');
  if (d.pos === d.end) {
    d.impliedReason(AUTH, 'Remaining Length 0 means reason 0x00 and no properties');
    d.fields['properties'] = {};
    d.problemAs('auth-without-method', 'warning', 0, d.end, 'AUTH short form (Remaining Length 0) carries no Authentication Method');
  } else {
    d.reason(AUTH);
    // Only the 0-length form may omit the Property Length (MQTT 5.0 §3.15.2.1).
    const props = d.properties(AUTH, 'properties', 'properties');
    if (props['authenticationMethod'] === undefined) d.problem('auth-without-method', 0, d.end, 'AUTH without Authentication Method');
  }
  d.close();
  d.trailing();
}

// =============================================================================================
// Entry point
// =============================================================================================

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

export function decodePacket(bytes: Uint8Array, ctx: DecodeContext): DecodedPacket {
  const d = new Decoder(bytes, ctx);
  const b = bytes;
  const n = b.length;
  let type = 0;
  let flags = 0;
  let typeName = 'RESERVED';
  let headerLength = Math.min(1, n);
  let remainingLength = 0;
  try {
    if (n === 0) {
      d.problem('overrun', 0, 0, 'empty input: no fixed header byte');
      throw STOP;
    }
    const b0 = b[0]!;
    type = b0 >> 4;
    flags = b0 & 15;
    const rl = decodeVbi(b, 1, n);
    const rlEnd = 1 + rl.length;
    headerLength = rlEnd;
    const declaredEnd = rl.complete && !rl.overlong ? rlEnd + rl.value : n;
    if (type === CONNECT) {
      const lv = connectLevel(b, rlEnd, Math.min(n, declaredEnd));
      if (lv) d.level = lv;
    }
    const level = d.level;
    const info = PACKET_TYPES[type]!;
    typeName = packetTypeName(type, level);
    const reservedType = type === 0 || (type === AUTH && level !== 5);
    if (d.t) {
      d.root!.label = `${typeName} packet`;
      fixedHeaderTree(d, b0, type, typeName, level, rl, reservedType);
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
          d.problem('reserved-flags', 0, 1, `${typeName} fixed-header flags are ${bits(flags, 0x0f).slice(5)}; required ${bits(want, 0x0f).slice(5)}`);
        }
      }
    }
    if (ctx.dir && !reservedType && !directionAllowed(type, level, ctx.dir)) {
      d.problem('wrong-direction', 0, 1, `${typeName} sent by the ${ctx.dir === 'c2s' ? 'client' : 'server'}`);
    }

    // Remaining Length
    if (rl.overlong) {
      d.problem('rl-too-long', 1, 4, 'Remaining Length continues past 4 bytes');
      remainingLength = Math.max(0, n - 5);
      d.declaredEnd = n;
      throw STOP;
    }
    if (!rl.complete) {
      d.problem('overrun', 1, rl.length, 'packet ends inside the Remaining Length');
      d.declaredEnd = n;
      throw STOP;
    }
    remainingLength = rl.value;
    if (rl.nonMinimal) d.problem('rl-nonminimal', 1, rl.length, `Remaining Length ${rl.value} is not encoded in the fewest bytes`);
    d.declaredEnd = declaredEnd;
    if (declaredEnd > n) {
      d.problem('overrun', 1, rl.length, `Remaining Length declares ${rl.value} bytes but only ${n - rlEnd} follow`);
      d.end = n;
    } else {
      d.end = declaredEnd;
      if (declaredEnd < n) d.problem('trailing-bytes', declaredEnd, n - declaredEnd, `${n - declaredEnd} bytes after the end declared by the Remaining Length`);
    }
    d.pos = rlEnd;
    if (d.t) d.root!.length = d.end;

    if (reservedType) {
      if (d.t && d.pos < d.end) d.node('body', 'body (unknown layout)', d.pos, d.end - d.pos, hexValue(b, d.pos, d.end));
      throw STOP;
    }
    const fixed = info.fixedRemaining[level];
    if (fixed !== undefined && rl.value !== fixed) {
      // Level 5 CONNACK answered in 3.1.1 form is how a 3.1.1-only server refuses a 5.0 CONNECT.
      d.sizeReported = true;
      d.problem('bad-size', 1, rl.length, `${typeName} in MQTT ${level === 3 ? '3.1' : '3.1.1'} has Remaining Length ${fixed}, not ${rl.value}`);
    }
    if (type === CONNACK && level === 5 && rl.value === 2 && d.end >= 4 && b[3] === 0x01 && (b[2]! & 0xfe) === 0) {
      // A 3.1.1-only server refuses a 5.0 CONNECT with the 2-byte "unacceptable protocol version" CONNACK.
      d.level = 4;
    }

    switch (type) {
      case CONNECT: decodeConnect(d); break;
      case CONNACK: decodeConnack(d); break;
      case PUBLISH: decodePublish(d, flags); break;
      case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: decodeAck(d, type); break;
      case SUBSCRIBE: decodeSubscribe(d); break;
      case SUBACK: decodeSuback(d); break;
      case UNSUBSCRIBE: decodeUnsubscribe(d); break;
      case UNSUBACK: decodeUnsuback(d); break;
      case PINGREQ: case PINGRESP: d.trailing(); break;
      case DISCONNECT: decodeDisconnect(d); break;
      case AUTH: decodeAuth(d); break;
    }
  } catch (e) {
    if (e !== STOP) {
      d.problem('internal-error', d.pos, 0, `decoder error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  d.closeAll();
  const length = d.declaredEnd > 0 ? Math.min(n, d.declaredEnd) : n;
  return {
    type,
    typeName,
    flags,
    level: d.level,
    length,
    remainingLength,
    headerLength,
    fields: d.fields,
    tree: d.root,
    problems: d.problems,
  };
}

// =============================================================================================
// Tree helpers (only called when ctx.tree is set)
// =============================================================================================

const RETAIN_HANDLING = [
  ' (send retained messages at subscribe)',
  ' (send retained only if the subscription is new)',
  ' (do not send retained messages)',
  ' (invalid)',
];

function fixedHeaderTree(d: Decoder, b0: number, type: number, typeName: string, level: ProtocolLevel, rl: VbiResult, reservedType: boolean): void {
  const b = d.b;
  const flags = b0 & 15;
  d.open('fixedHeader', 'fixed header');
  let flagText: string;
  const kids: FieldNode[] = [
    { key: 'packetType', label: 'packet type', offset: 0, length: 1, value: String(type), explain: `${bits(b0, 0xf0)} = ${type} (${typeName})` },
  ];
  if (type === PUBLISH) {
    const qos = (flags >> 1) & 3;
    flagText = `DUP ${(flags >> 3) & 1}, QoS ${qos}, RETAIN ${flags & 1}`;
    kids.push(
      { key: 'dup', label: 'DUP', offset: 0, length: 1, value: String((flags >> 3) & 1), explain: `${bits(b0, 0x08)} = DUP ${(flags >> 3) & 1}${flags & 8 ? ' (re-delivery)' : ''}` },
      { key: 'qos', label: 'QoS', offset: 0, length: 1, value: String(qos), explain: `${bits(b0, 0x06)} = QoS ${qos}${qos === 3 ? ' (invalid)' : ''}` },
      { key: 'retain', label: 'RETAIN', offset: 0, length: 1, value: String(flags & 1), explain: `${bits(b0, 0x01)} = RETAIN ${flags & 1}` },
    );
  } else {
    const want = reservedType ? undefined : PACKET_TYPES[type]!.flags[level];
    const req = want === undefined || want === null ? '' : `, must be ${bits(want, 0x0f).slice(5)}`;
    flagText = `flags ${bits(flags, 0x0f).slice(5)}`;
    kids.push({ key: 'reservedFlags', label: 'reserved flags', offset: 0, length: 1, value: hex1(flags), explain: `${bits(b0, 0x0f)} = reserved${req}` });
  }
  const hb = d.node('packetTypeFlags', 'packet type and flags', 0, 1, hex1(b0), `${bits(b0, 0xff)}: ${typeName}, ${flagText}`);
  hb.children = kids;
  if (b.length > 1) {
    const len = Math.max(1, rl.length);
    const value = rl.complete && !rl.overlong ? String(rl.value) : '?';
    d.node('remainingLength', 'remaining length', 1, Math.min(len, b.length - 1), value, rlExplain(b, 1, rl));
  }
  d.pos = Math.min(b.length, 1 + rl.length);
  d.close();
}

/** "45 (one byte: 0x2d < 128)" or "2 + 1x128 = 130". */
function rlExplain(b: Uint8Array, at: number, r: VbiResult): string {
  if (r.overlong) return `${hexValue(b, at, at + 4)}: continuation bit still set in the 4th byte (malformed)`;
  if (!r.complete) return `${hexValue(b, at, at + r.length)}: cut off before the last length byte`;
  return vbiExplain(b, at, r);
}

function vbiExplain(b: Uint8Array, at: number, r: VbiResult): string {
  if (r.length === 1) return `${r.value} (one byte: ${hex1(b[at]!)} < 128)`;
  const terms: string[] = [];
  let mult = 1;
  for (let i = 0; i < r.length; i++) {
    const digit = b[at + i]! & 0x7f;
    terms.push(i === 0 ? String(digit) : `${digit}x${mult}`);
    mult *= 128;
  }
  return `${terms.join(' + ')} = ${r.value}${r.nonMinimal ? ' (not the shortest encoding)' : ''}`;
}

function payloadValue(p: BytesValue): string {
  return p.encoding === 'utf8' ? quote(p.text) : clipHex(p.data);
}

function payloadExplain(total: number, p: BytesValue): string {
  const what = p.encoding === 'utf8' ? 'UTF-8 text' : 'binary';
  return `${total} byte${total === 1 ? '' : 's'}, ${what} (length = Remaining Length minus the variable header)`;
}

function propertyDisplay(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return `${quote(String(value[0]))} = ${quote(String(value[1]))}`;
  return payloadValue(value as BytesValue);
}

function propertyNote(info: PropertyInfo, value: unknown): string {
  if (typeof value !== 'number') return '';
  switch (info.id) {
    case 0x02: case 0x11: case 0x18:
      if (info.id === 0x11 && value === 0xffffffff) return ': never expires';
      return value >= 60 ? `: ${value} s (${duration(value)})` : `: ${value} s`;
    case 0x13:
      return `: ${value} s`;
    case 0x01:
      return value === 0 ? ': unspecified bytes' : value === 1 ? ': UTF-8 payload' : '';
    case 0x24:
      return `: QoS ${value}`;
    default:
      return '';
  }
}

function bits(v: number, mask: number): string {
  let s = '';
  for (let i = 7; i >= 0; i--) {
    s += (mask >> i) & 1 ? String((v >> i) & 1) : '.';
    if (i === 4) s += ' ';
  }
  return s;
}

function hex1(v: number): string {
  return '0x' + v.toString(16).padStart(2, '0');
}

function hex2(v: number): string {
  return '0x' + v.toString(16).padStart(4, '0');
}

/** Bytes as spaced hex for display ("82 01"), clipped. */
function hexValue(b: Uint8Array, start: number, end: number): string {
  const max = Math.min(end, start + 32);
  let s = '';
  for (let i = start; i < max; i++) s += (i > start ? ' ' : '') + b[i]!.toString(16).padStart(2, '0');
  if (end > max) s += ` … (${end - start} bytes)`;
  return s;
}

function clipHex(h: string): string {
  return h.length > MAX_VALUE_CHARS ? `${h.slice(0, MAX_VALUE_CHARS)}…` : h;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

function quote(s: string): string {
  return JSON.stringify(s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}…` : s);
}

function cpName(cp: number): string {
  return 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
}

function fmtNum(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function duration(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  const parts: string[] = [];
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s || parts.length === 0) parts.push(`${s} s`);
  return parts.join(' ');
}
