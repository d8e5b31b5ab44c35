/**
 * A schema-guided walk over protobuf wire bytes that keeps where every field lies. protobufjs parses the schema
 * (Sparkplug B's, or a user's .proto) and its Reader reads the primitives; this walk adds what a decoder library does
 * not give: the offset and length of each tag, length prefix and value, so that -x and explain can show the bytes
 * and their arithmetic, and unknown or mis-typed fields are kept instead of dropped.
 *
 * Bounds: nesting depth and field count are capped (WireLimits); a length prefix is checked against the bytes that
 * are there before anything is read, and nothing is allocated from a declared length (strings and bytes are ranges
 * into the caller's buffer until a caller asks for their text).
 */
import protobuf from 'protobufjs';

export type ProtoType = protobuf.Type;

export interface WireLimits {
  /** Deepest message nesting walked; deeper messages are kept as bytes and reported. */
  maxDepth: number;
  /** Fields read in all, at every depth; past it the rest of the payload is one cut. */
  maxFields: number;
}

export const DEFAULT_WIRE_LIMITS: WireLimits = Object.freeze({ maxDepth: 32, maxFields: 20_000 });

/** The wire types of the protobuf encoding (3 and 4 are the deprecated groups). */
export const WIRE_TYPE_NAMES: readonly string[] = ['varint', '64-bit', 'length-delimited', 'start group', 'end group', '32-bit'];

/** One scalar value as read: numbers that fit a double exactly stay numbers, larger 64-bit ones become decimal text. */
export type WireScalar = number | string | boolean;

export interface WireField {
  fieldNo: number;
  wireType: number;
  /** The schema's name for the field, when the schema has one with this number. */
  name: string | undefined;
  /** The schema's type ('uint64', 'string', 'Metric', …); undefined for an unknown field. */
  protoType: string | undefined;
  /** Tag bytes [tagStart, tagEnd); for length-delimited fields the length prefix is [tagEnd, start). */
  tagStart: number;
  tagEnd: number;
  /** The value's bytes (after the length prefix). */
  start: number;
  end: number;
  /** Scalars (varint, fixed, float, bool, enum); strings are left as ranges (start/end). */
  scalar: WireScalar | undefined;
  /** A packed repeated scalar: its values with their ranges. */
  packed: { value: WireScalar; start: number; end: number }[] | undefined;
  /** A sub-message, walked. */
  message: WireField[] | undefined;
  /** The sub-message's schema type. */
  messageType: ProtoType | undefined;
  /** Why the schema's declaration was not followed (wire type does not fit the declared type, too deep). */
  note: string | undefined;
}

export interface WireResult {
  fields: WireField[];
  /** The walk stopped: what was wrong, and where (offset into the buffer). */
  error: { message: string; offset: number } | undefined;
  /** What a limit cut. */
  cut: string[];
  /** Fields read. */
  count: number;
}

const VARINT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool', 'enum']);
const FIXED64_TYPES = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32_TYPES = new Set(['fixed32', 'sfixed32', 'float']);

/** The wire type a declared field type is sent with (packed repeated scalars also come as 2). */
export function wireTypeOf(protoType: string, isEnum: boolean): number {
  if (isEnum || VARINT_TYPES.has(protoType)) return 0;
  if (FIXED64_TYPES.has(protoType)) return 1;
  if (FIXED32_TYPES.has(protoType)) return 5;
  return 2;
}

class WireError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

interface Walk {
  r: protobuf.Reader;
  limits: WireLimits;
  count: number;
  cut: string[];
}

/**
 * Walks b[start, end) as one message of `type` (null: no schema, every field unknown). Offsets in the result are
 * offsets into `b`.
 */
export function walkMessage(b: Uint8Array, start: number, end: number, type: ProtoType | null, limits: WireLimits = DEFAULT_WIRE_LIMITS): WireResult {
  // The Reader's positions are relative to the subarray: `base` turns them back into offsets into b.
  const r = protobuf.Reader.create(b.subarray(start, end));
  const w: Walk = { r, limits, count: 0, cut: [] };
  const fields: WireField[] = [];
  let error: WireResult['error'];
  try {
    walkInto(w, fields, end - start, type, 0);
  } catch (e) {
    error = e instanceof WireError
      ? { message: e.message, offset: e.offset }
      : { message: e instanceof Error ? e.message : String(e), offset: r.pos };
  }
  rebase(fields, start);
  if (error) error.offset += start;
  return { fields, error, cut: w.cut, count: w.count };
}

function rebase(fields: WireField[], base: number): void {
  for (const f of fields) {
    f.tagStart += base;
    f.tagEnd += base;
    f.start += base;
    f.end += base;
    if (f.packed) for (const p of f.packed) { p.start += base; p.end += base; }
    if (f.message) rebase(f.message, base);
  }
}

function walkInto(w: Walk, out: WireField[], end: number, type: ProtoType | null, depth: number): void {
  const r = w.r;
  const outerLen = r.len;
  // The Reader checks every read against `len`: narrowing it to the message's end keeps a field from reading into
  // the next one, and a truncated field fails where it starts.
  r.len = end;
  try {
    while (r.pos < end) {
      if (w.count >= w.limits.maxFields) {
        w.cut.push(`stopped after ${w.limits.maxFields} fields; ${end - r.pos} bytes of this message not walked`);
        r.pos = end;
        return;
      }
      w.count++;
      out.push(readField(w, type, depth));
    }
  } finally {
    r.len = outerLen;
  }
}

function readField(w: Walk, type: ProtoType | null, depth: number): WireField {
  const r = w.r;
  const tagStart = r.pos;
  const tag = readVarint32(r, 'tag');
  const tagEnd = r.pos;
  const fieldNo = tag >>> 3;
  const wireType = tag & 7;
  if (fieldNo === 0) throw new WireError(`tag ${tag} names field number 0, which no message has`, tagStart);
  if (wireType === 6 || wireType === 7) throw new WireError(`tag ${tag} has wire type ${wireType}, which does not exist`, tagStart);
  const decl = type?.fieldsById[fieldNo];
  const f: WireField = {
    fieldNo, wireType, name: decl?.name, protoType: decl?.type, tagStart, tagEnd, start: tagEnd, end: tagEnd,
    scalar: undefined, packed: undefined, message: undefined, messageType: undefined, note: undefined,
  };
  const declType = decl?.resolvedType;
  const isEnum = declType instanceof protobuf.Enum;
  const isMessage = declType instanceof protobuf.Type;
  const expected = decl === undefined ? -1 : isMessage ? 2 : wireTypeOf(decl.type, isEnum);
  if (wireType === 2) {
    const len = readVarint32(r, 'length');
    f.start = r.pos;
    if (len > r.len - r.pos) {
      throw new WireError(`field ${fieldNo}${decl ? ` (${decl.name})` : ''} declares ${len} bytes but only ${r.len - r.pos} are left`, tagEnd);
    }
    f.end = f.start + len;
    if (decl !== undefined && isMessage) {
      f.messageType = declType;
      if (depth + 1 > w.limits.maxDepth) {
        f.note = `nested deeper than ${w.limits.maxDepth} messages: kept as bytes`;
        w.cut.push(`message nested deeper than ${w.limits.maxDepth} at offset ${f.start}`);
      } else {
        f.message = [];
        walkInto(w, f.message, f.end, declType, depth + 1);
      }
    } else if (decl !== undefined && expected !== 2 && decl.repeated) {
      f.packed = readPacked(r, f.end, decl.type, isEnum);
    } else if (decl !== undefined && expected !== 2) {
      f.note = `declared ${decl.type} but sent length-delimited`;
    }
    r.pos = f.end;
    return f;
  }
  if (wireType === 3 || wireType === 4) {
    if (wireType === 4) throw new WireError('an end-group tag without its start', tagStart);
    r.skipType(3);
    f.end = r.pos;
    f.note = 'a group (deprecated encoding), skipped';
    return f;
  }
  if (decl !== undefined && expected !== wireType) {
    f.note = `declared ${decl.type} (wire type ${expected}) but sent as wire type ${wireType} (${WIRE_TYPE_NAMES[wireType]})`;
    f.scalar = readRaw(r, wireType);
  } else if (decl !== undefined) {
    f.scalar = readScalar(r, decl.type, isEnum);
  } else {
    f.scalar = readRaw(r, wireType);
  }
  f.end = r.pos;
  return f;
}

function readVarint32(r: protobuf.Reader, what: string): number {
  const at = r.pos;
  try {
    return r.uint32();
  } catch {
    throw new WireError(`the ${what} varint runs past the end`, at);
  }
}

function readPacked(r: protobuf.Reader, end: number, protoType: string, isEnum: boolean): { value: WireScalar; start: number; end: number }[] {
  const out: { value: WireScalar; start: number; end: number }[] = [];
  while (r.pos < end) {
    const s = r.pos;
    out.push({ value: readScalar(r, protoType, isEnum), start: s, end: r.pos });
  }
  if (r.pos !== end) throw new WireError('a packed value runs past the end of its field', end);
  return out;
}

/** A 64-bit integer from protobufjs (a Long, or a number when Long is absent) as a number when exact, else text. */
function long(v: protobuf.Long | number): WireScalar {
  if (typeof v === 'number') return v;
  let x = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  if (!v.unsigned && v.high < 0) x -= 1n << 64n;
  const n = Number(x);
  return Number.isSafeInteger(n) ? n : x.toString();
}

function readScalar(r: protobuf.Reader, t: string, isEnum: boolean): WireScalar {
  if (isEnum) return r.int32();
  switch (t) {
    case 'int32': return r.int32();
    case 'uint32': return r.uint32();
    case 'sint32': return r.sint32();
    case 'int64': return long(r.int64());
    case 'uint64': return long(r.uint64());
    case 'sint64': return long(r.sint64());
    case 'bool': return r.bool();
    case 'fixed32': return r.fixed32();
    case 'sfixed32': return r.sfixed32();
    case 'float': return r.float();
    case 'fixed64': return long(r.fixed64());
    case 'sfixed64': return long(r.sfixed64());
    case 'double': return r.double();
    default: throw new WireError(`type ${t} cannot be read as a scalar`, r.pos);
  }
}

/** A value whose schema is unknown (or not followed): varints as unsigned, fixed widths as unsigned integers. */
function readRaw(r: protobuf.Reader, wireType: number): WireScalar {
  switch (wireType) {
    case 0: return long(r.uint64());
    case 1: return long(r.fixed64());
    case 5: return r.fixed32();
    default: throw new WireError(`wire type ${wireType} cannot be read as a scalar`, r.pos);
  }
}

/**
 * The arithmetic of a varint's bytes: "96 01 = 0x16 + 1×128 = 150". Each byte gives its low 7 bits, weighted by
 * 128 to the power of its position; the high bit says another byte follows.
 */
export function varintExplain(b: Uint8Array, start: number, end: number): string {
  const hex: string[] = [];
  const terms: string[] = [];
  let value = 0n;
  for (let i = start; i < end; i++) {
    const byte = b[i]!;
    hex.push(byte.toString(16).padStart(2, '0'));
    const digit = BigInt(byte & 0x7f);
    const k = i - start;
    value += digit << BigInt(7 * k);
    if (digit !== 0n || end - start === 1) terms.push(k === 0 ? String(digit) : `${digit}×128${k === 1 ? '' : `^${k}`}`);
  }
  if (end - start === 1) return `${hex[0]} = ${value}`;
  // The digits are the bytes' low 7 bits, in decimal, least significant first.
  return `${hex.join(' ')}: 7-bit groups ${terms.join(' + ')} = ${value}`;
}

/**
 * "field 2 (metrics) × 8 + wire type 2 (length-delimited)"; a tag of several bytes (field numbers from 16) first
 * shows its varint arithmetic.
 */
export function tagExplain(f: WireField, b: Uint8Array): string {
  const split = `field ${f.fieldNo}${f.name ? ` (${f.name})` : ''} × 8 + wire type ${f.wireType} (${WIRE_TYPE_NAMES[f.wireType]})`;
  return f.tagEnd - f.tagStart === 1 ? split : `varint ${varintExplain(b, f.tagStart, f.tagEnd)} = ${split}`;
}
