/**
 * The decoder's cursor over one packet: primitive reads (integers, Variable Byte Integers, strings, binary data,
 * reason codes, property blocks) with their checks, the problems they find, and — only when a mode shows it — the
 * field tree. Packet bodies (decode-packets.ts) are written in terms of these reads.
 *
 * Speed: with the tree off nothing here builds labels or explanations; the only strings made are field values and
 * (rare) problem messages. Every tree-only statement is behind `this.t`.
 */
import { FIELD } from './fields.js';
import {
  bits, bytesValueText, clip, cpName, hex1, hex2, hexValue, propertyDisplay, propertyNote, quote, vbiExplain,
  type PropertyValue,
} from './explain-text.js';
import { NO_PROBLEMS, Properties, type ByteRange, type MqttPacket, type PacketWithReason } from './packets.js';
import {
  CONNECT, PACKET_TYPES, PROPERTY_TYPE_NAME, PUBLISH, WILL_CONTEXT, problemSeverity, propertyAllowedIn, propertyInfo,
  propertyRepeatableIn, reasonCode, type ProblemCode, type PropertyInfo,
} from './tables.js';
import { checkFilterSyntax, checkSharedFilter, findWildcard, isSharedFilter } from './topics.js';
import type { DecodeContext, DecodeProblem, FieldNode, ProtocolLevel } from './types.js';
import {
  U8_BAD, U8_CONTROL, U8_NONASCII, U8_NONCHAR, U8_NULL, bytesToString, displayBytes, scanUtf8, utf8Issues, type BytesValue,
} from './utf8.js';
import { readVbi } from './vbi.js';

export const DEFAULT_PAYLOAD_LIMIT = 1024;

/** Thrown inside the decoder to unwind to decodePacket when decoding cannot go on. Never escapes. */
export class Stop {}
export const STOP = new Stop();

/** How a string field is checked beyond UTF-8 rules. */
export const enum StrKind {
  Plain,
  TopicName,
  Filter,
}

export class Cursor {
  b: Uint8Array = new Uint8Array(0);
  pos = 0;
  /** Where the packet (or, inside a property block, the block) ends. */
  end = 0;
  /** Packet end per the Remaining Length; beyond `end` when the input was cut short. */
  declaredEnd = 0;
  level: ProtocolLevel = 4;
  dir: 'c2s' | 's2c' | null = null;
  t = false;
  problems: DecodeProblem[] | null = null;
  payloadLimit = DEFAULT_PAYLOAD_LIMIT;
  /** bad-size already explains the length; suppress overrun / trailing-bytes that follow from it. */
  sizeReported = false;
  /** Inside a property block (`end` is the block end). */
  inBlock = false;
  /** The registry key of the packet field being read, for problems (undefined: fixed header, trailing bytes). */
  field: string | undefined = undefined;
  /** Inside a property block: the id of the property being read (0: the Property Length). */
  propertyId: number | undefined = undefined;
  /** Start/end of the last string or binary value read by str()/bin(). */
  vStart = 0;
  vEnd = 0;
  /** Last node created (for callers that add an explanation). */
  last: FieldNode | null = null;
  root: FieldNode | null = null;
  /** Open tree nodes; only a tree needs them. */
  private stack: FieldNode[] = [];
  private cur: FieldNode[] | null = null;

  /** Stop decoding at the first problem (set once, by PacketDecoder's option). */
  stopAtFirstProblem = false;

  /** Starts on a new packet. */
  reset(bytes: Uint8Array, ctx: DecodeContext): void {
    this.b = bytes;
    this.pos = 0;
    this.end = bytes.length;
    this.declaredEnd = 0;
    this.level = ctx.level;
    this.dir = ctx.dir;
    this.t = ctx.tree;
    this.problems = null;
    const lim = ctx.payloadLimit;
    this.payloadLimit = lim === undefined ? DEFAULT_PAYLOAD_LIMIT : lim < 0 || !Number.isFinite(lim) ? -1 : Math.floor(lim);
    this.sizeReported = false;
    this.inBlock = false;
    this.field = undefined;
    this.propertyId = undefined;
    this.vStart = 0;
    this.vEnd = 0;
    this.last = null;
    if (this.t) {
      this.root = { key: 'packet', label: 'packet', offset: 0, length: bytes.length, children: [] };
      this.stack = [this.root];
      this.cur = this.root.children!;
    } else {
      this.root = null;
      this.cur = null;
    }
  }

  /** The problems found, for the packet (a shared empty array when there were none). */
  takeProblems(): readonly DecodeProblem[] {
    const p = this.problems;
    this.problems = null;
    return p ?? NO_PROBLEMS;
  }

  problem(code: ProblemCode, offset: number, length: number, message: string): void {
    this.problemAs(code, problemSeverity(code, this.level), offset, length, message);
  }

  /** A problem with an explicit severity (for the few version- or form-dependent cases). */
  problemAs(code: ProblemCode, severity: 'error' | 'warning', offset: number, length: number, message: string): void {
    (this.problems ??= []).push({ code, offset, length, message, severity, field: this.field, propertyId: this.propertyId });
    // A caller that only asks "any problem?" (resynchronisation) need not pay for the rest of a long packet.
    if (this.stopAtFirstProblem && this.b.length > 0) throw STOP;
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
    this.stack.push(n);
    this.cur = n.children!;
    return n;
  }

  close(): void {
    if (!this.t) return;
    const stack = this.stack;
    const n = stack.pop()!;
    let hi = this.pos;
    for (const c of n.children!) if (c.offset + c.length > hi) hi = c.offset + c.length;
    n.length = Math.max(0, hi - n.offset);
    this.cur = stack[stack.length - 1]!.children!;
  }

  /** Closes whatever is still open after an early stop. */
  closeAll(): void {
    if (!this.t) return;
    while (this.stack.length > 1) this.close();
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
    this.field = FIELD.packetId.key;
    const id = this.u16(FIELD.packetId.key, FIELD.packetId.label);
    if (id === 0) this.problem('packet-id-zero', at, 2, 'Packet Identifier is 0');
    return id;
  }

  /**
   * A Variable Byte Integer inside the variable header. Stops on truncation or a 5+ byte encoding; a non-minimal
   * encoding is reported as prop-nonminimal (the only VBIs read here are property-related).
   */
  vbi(key: string, label: string): number {
    const r = readVbi(this.b, this.pos, this.end);
    if (r.overlong) {
      this.problem('vbi-too-long', this.pos, 4, `${label}: variable byte integer longer than 4 bytes`);
      if (this.t) this.node(key, label, this.pos, 4, hexValue(this.b, this.pos, this.pos + 4), 'more than 4 bytes: malformed');
      throw STOP;
    }
    if (!r.complete) this.need(r.length + 1, key, label);
    const value = r.value;
    const length = r.length;
    const nonMinimal = r.nonMinimal;
    if (nonMinimal) this.problem('prop-nonminimal', this.pos, length, `${label}: ${value} is not encoded in the fewest bytes`);
    if (this.t) this.node(key, label, this.pos, length, String(value), vbiExplain(this.b, this.pos, length, value, nonMinimal));
    this.pos += length;
    return value;
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
          { key: 'length', label: 'length', offset: start, length: 2, value: String(len), explain: `${hex2(len)} = ${len} byte${len === 1 ? '' : 's'} declared, ${left} present` },
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

  /** Binary Data (2-byte length + bytes); the range is in vStart/vEnd. */
  bin(key: string, label: string): ByteRange {
    const n = this.lengthPrefixed(key, label, 'data');
    if (n) {
      const v = hexValue(this.b, this.vStart, this.vEnd);
      n.value = v;
      n.explain = `binary data, ${this.vEnd - this.vStart} byte${this.vEnd - this.vStart === 1 ? '' : 's'}`;
      n.children!.push({ key: 'data', label: 'data', offset: this.vStart, length: this.vEnd - this.vStart, value: v });
    }
    return { start: this.vStart, end: this.vEnd };
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
    this.field = undefined;
    this.propertyId = undefined;
    if (!this.sizeReported) {
      const n = this.end - this.pos;
      this.problem('trailing-bytes', this.pos, n, `${n} byte${n === 1 ? '' : 's'} left after the last field`);
    }
    if (this.t) this.node('trailingBytes', 'trailing bytes', this.pos, this.end - this.pos, hexValue(this.b, this.pos, this.end));
    this.pos = this.end;
  }

  /** Text-or-hex display of a byte range for a tree value, cut after `limit` bytes (-1: never). */
  display(r: ByteRange, limit: number, trueEnd = r.end): BytesValue {
    return displayBytes(this.b, r.start, r.end, limit, trueEnd);
  }

  // ---- reason codes ------------------------------------------------------------------------

  /** Reads and validates a v5 reason code for the packet's type; sets its reasonCode and name. */
  reason(p: PacketWithReason): number {
    const type = p.type;
    const at = this.pos;
    this.field = FIELD.reasonCode.key;
    this.need(1, 'reasonCode', 'reason code');
    const rc = this.b[at]!;
    this.pos++;
    const e = reasonCode(type, rc);
    const tn = PACKET_TYPES[type]!.name;
    p.reasonCode = rc;
    p.reasonCodeName = e ? e.name : 'Unknown';
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
  impliedReason(p: PacketWithReason, why: string): void {
    const e = reasonCode(p.type, 0)!;
    p.reasonCode = 0;
    p.reasonCodeName = e.name;
    if (this.t) this.node('reasonCode', 'reason code (omitted)', this.pos, 0, '0x00', `${e.name}: ${why}`);
  }

  // ---- properties (5.0) ----------------------------------------------------------------------

  /**
   * Property Length + properties into `props`, which the caller has already put in the packet, so a stop mid-block
   * keeps what was decoded. `ctx` is the packet type or WILL_CONTEXT; `key` is "properties" or "willProperties".
   */
  properties(props: Properties, ctx: number, key: 'properties' | 'willProperties', label: string): Properties {
    this.field = key;
    this.propertyId = 0;
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
      const idr = readVbi(this.b, pStart, blockEnd);
      if (idr.overlong) {
        this.problem('vbi-too-long', pStart, 4, `${label}: property identifier longer than 4 bytes`);
        throw STOP;
      }
      if (!idr.complete) this.need(idr.length + 1, 'propertyId', 'property identifier');
      const id = idr.value;
      const idLength = idr.length;
      const idNonMinimal = idr.nonMinimal;
      const info = propertyInfo(id);
      if (!info) {
        this.problem('prop-unknown', pStart, blockEnd - pStart, `${label}: unknown property identifier ${hex1(id)}; its length is unknown, decoding stops`);
        if (this.t) this.node('unknownProperty', 'unknown property', pStart, blockEnd - pStart, hexValue(this.b, pStart, blockEnd), `identifier ${hex1(id)} is not defined`);
        throw STOP;
      }
      this.propertyId = id;
      if (idNonMinimal) this.problem('prop-nonminimal', pStart, idLength, `${info.name}: identifier not encoded in the fewest bytes`);
      const tn = ctx === WILL_CONTEXT ? 'Will Properties' : PACKET_TYPES[ctx]!.name;
      if (!propertyAllowedIn(id, pctx)) {
        this.problem('prop-not-allowed', pStart, idLength, `${info.name} (${hex1(id)}) is not allowed in ${tn}`);
      } else if (info.senderOnly && info.senderOnly.packet === ctx && this.dir && this.dir !== info.senderOnly.dir) {
        this.problem('prop-not-allowed', pStart, idLength, `${info.name} (${hex1(id)}) in ${tn} may only be sent by the ${info.senderOnly.dir === 'c2s' ? 'client' : 'server'}`);
      }
      const bit = 1 << (id & 31);
      const seen = id < 32 ? (seenLo & bit) !== 0 : (seenHi & bit) !== 0;
      if (id < 32) seenLo |= bit;
      else seenHi |= bit;
      if (seen && !propertyRepeatableIn(info, pctx)) {
        this.problem('prop-duplicate', pStart, idLength, `${info.name} (${hex1(id)}) appears more than once in ${tn}`);
      }
      const pn = this.open(info.key, info.name);
      this.pos += idLength;
      if (pn) this.node('id', 'property identifier', pStart, idLength, hex1(id), info.name);
      this.propertyValue(props, info, ctx, seen, pn);
      this.close();
      this.propertyId = 0;
    }
    this.end = outerEnd;
    this.inBlock = false;
    this.propertyId = undefined;
    // Only CONNECT states this rule (5.0 §3.1.2.11.10); AUTH needs a method anyway (auth-without-method).
    if (ctx === CONNECT && props.authenticationData !== undefined && props.authenticationMethod === undefined) {
      this.problem('auth-data-without-method', blockEnd - len, len, `${label}: Authentication Data without Authentication Method`);
    }
    this.close();
    return props;
  }

  /** Reads one property's value into `props` (the first occurrence wins, except the repeatable ones). */
  private propertyValue(props: Properties, info: PropertyInfo, ctx: number, seen: boolean, pn: FieldNode | null): void {
    const at = this.pos;
    let shown: PropertyValue | null = null;
    switch (info.type) {
      case 'byte': {
        const v = this.u8('value', 'value');
        if ((info.constraint === 'bool' || info.constraint === 'maxQos') && v > 1) {
          this.problem('prop-value', at, 1, `${info.name} is ${v}; only 0 or 1 are allowed`);
        }
        if (!seen) setNumber(props, info.id, v);
        shown = v;
        break;
      }
      case 'twoByteInt': {
        const v = this.u16('value', 'value');
        if (info.constraint === 'nonzero' && v === 0) this.problem('prop-value', at, 2, `${info.name} must not be 0`);
        if (!seen) setNumber(props, info.id, v);
        shown = v;
        break;
      }
      case 'fourByteInt': {
        const v = this.u32('value', 'value');
        if (info.constraint === 'nonzero' && v === 0) this.problem('prop-value', at, 4, `${info.name} must not be 0`);
        if (!seen) setNumber(props, info.id, v);
        shown = v;
        break;
      }
      case 'varInt': {
        const v = this.vbi('value', 'value');
        if (info.constraint === 'nonzero' && v === 0) this.problem('prop-value', at, this.pos - at, `${info.name} must not be 0`);
        // The only varInt property: Subscription Identifier, repeatable in PUBLISH (an array there).
        if (ctx === PUBLISH) {
          if (!seen) {
            props.subscriptionIdentifier = [];
            props.order.push(info.id);
          }
          (props.subscriptionIdentifier as number[]).push(v);
        } else if (!seen) {
          props.subscriptionIdentifier = v;
          props.order.push(info.id);
        }
        shown = v;
        break;
      }
      case 'utf8': {
        // Response Topic is a Topic Name: no wildcards (MQTT 5.0 §3.3.2.3.5).
        const v = this.str('value', info.name, info.id === 0x08 ? StrKind.TopicName : StrKind.Plain);
        if (!seen) setString(props, info.id, v);
        shown = v;
        break;
      }
      case 'utf8Pair': {
        const k = this.str('name', `${info.name} name`);
        const v = this.str('value', `${info.name} value`);
        const pair: [string, string] = [k, v];
        if (props.userProperties === undefined) {
          props.userProperties = [];
          props.order.push(info.id);
        }
        props.userProperties.push(pair);
        shown = pair;
        break;
      }
      case 'binary': {
        const r = this.bin('value', info.name);
        if (!seen) {
          if (info.id === 0x16) props.authenticationData = r;
          else props.correlationData = r;
          props.order.push(info.id);
        }
        // Authentication Data may be a password-like secret: shown readable (and found by redaction).
        if (pn) shown = info.id === 0x16 ? this.display(r, -1) : { encoding: 'hex', data: hexData(this.b, r) };
        break;
      }
    }
    if (pn && shown !== null) {
      pn.value = propertyDisplay(shown);
      pn.explain = `id ${hex1(info.id)}, ${PROPERTY_TYPE_NAME[info.type]}${propertyNote(info, shown)}`;
    }
  }
}

function hexData(b: Uint8Array, r: ByteRange): string {
  let s = '';
  for (let i = r.start; i < r.end; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

/** Sets a numeric property by id (its first occurrence). */
function setNumber(p: Properties, id: number, v: number): void {
  switch (id) {
    case 0x01: p.payloadFormatIndicator = v; break;
    case 0x02: p.messageExpiryInterval = v; break;
    case 0x11: p.sessionExpiryInterval = v; break;
    case 0x13: p.serverKeepAlive = v; break;
    case 0x17: p.requestProblemInformation = v; break;
    case 0x18: p.willDelayInterval = v; break;
    case 0x19: p.requestResponseInformation = v; break;
    case 0x21: p.receiveMaximum = v; break;
    case 0x22: p.topicAliasMaximum = v; break;
    case 0x23: p.topicAlias = v; break;
    case 0x24: p.maximumQos = v; break;
    case 0x25: p.retainAvailable = v; break;
    case 0x27: p.maximumPacketSize = v; break;
    case 0x28: p.wildcardSubscriptionAvailable = v; break;
    case 0x29: p.subscriptionIdentifierAvailable = v; break;
    case 0x2a: p.sharedSubscriptionAvailable = v; break;
    default: return;
  }
  p.order.push(id);
}

/** Sets a string property by id (its first occurrence). */
function setString(p: Properties, id: number, v: string): void {
  switch (id) {
    case 0x03: p.contentType = v; break;
    case 0x08: p.responseTopic = v; break;
    case 0x12: p.assignedClientIdentifier = v; break;
    case 0x15: p.authenticationMethod = v; break;
    case 0x1a: p.responseInformation = v; break;
    case 0x1c: p.serverReference = v; break;
    case 0x1f: p.reasonString = v; break;
    default: return;
  }
  p.order.push(id);
}

/** Tree value of a bytes value (text quoted, hex clipped). */
export function shownBytes(v: BytesValue): string {
  return bytesValueText(v);
}

/** Fills in packet-level tree data the cursor cannot know (used by the entry point). */
export function packetLabel(c: Cursor, p: MqttPacket): void {
  if (c.root) c.root.label = `${p.typeName} packet`;
}

/** Flags-byte child nodes: one per bit field, each showing its bit pattern. */
export function bitNode(key: string, label: string, offset: number, byte: number, mask: number, value: number, extra = ''): FieldNode {
  return { key, label, offset, length: 1, value: String(value), explain: `${bits(byte, mask)} = ${label}: ${value}${extra}` };
}
