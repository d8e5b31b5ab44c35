/**
 * UTF-8 checks for MQTT strings (RFC 3629 as referenced by MQTT 3.1.1 §1.5.3 and 5.0 §1.5.4).
 * Works on raw bytes so the caller can report exact offsets; the common all-ASCII case is one tight loop.
 */

/** Bit flags returned by {@link scanUtf8}. 0 means printable ASCII only (the fast path). */
export const U8_BAD = 1;
export const U8_NULL = 2;
export const U8_CONTROL = 4;
export const U8_NONCHAR = 8;
/** Some byte >= 0x80 was seen (so decoding needs the UTF-8 path, not latin1). */
export const U8_NONASCII = 16;

export interface Utf8Issue {
  kind: 'bad' | 'null' | 'control' | 'noncharacter';
  offset: number;
  length: number;
  /** Code point for null/control/noncharacter; -1 for ill-formed bytes. */
  cp: number;
}

/**
 * One pass over bytes[start,end): returns the union of U8_* flags.
 * Returning a number keeps the clean path allocation-free; callers that see a non-zero flag
 * other than U8_NONASCII call {@link utf8Issues} for positions.
 */
export function scanUtf8(b: Uint8Array, start: number, end: number): number {
  let i = start;
  // Printable ASCII is by far the most common content of topics and ids.
  while (i < end) {
    const c = b[i]!;
    if (c < 0x20 || c >= 0x7f) break;
    i++;
  }
  if (i === end) return 0;
  let flags = 0;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      if (c === 0) flags |= U8_NULL;
      else if (c < 0x20 || c === 0x7f) flags |= U8_CONTROL;
      i++;
      continue;
    }
    flags |= U8_NONASCII;
    const r = decodeSeq(b, i, end);
    if (r.len < 0) {
      flags |= U8_BAD;
      i += -r.len;
      continue;
    }
    if (r.cp >= 0x80 && r.cp <= 0x9f) flags |= U8_CONTROL;
    else if (isNoncharacter(r.cp)) flags |= U8_NONCHAR;
    i += r.len;
  }
  return flags;
}

/** True when the bytes are well-formed UTF-8 (nulls and controls allowed). */
export function isWellFormedUtf8(b: Uint8Array, start: number, end: number): boolean {
  return (scanUtf8(b, start, end) & U8_BAD) === 0;
}

/** Every issue, in byte order; used only when {@link scanUtf8} reported something. */
export function utf8Issues(b: Uint8Array, start: number, end: number): Utf8Issue[] {
  const out: Utf8Issue[] = [];
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      if (c === 0) out.push({ kind: 'null', offset: i, length: 1, cp: 0 });
      else if (c < 0x20 || c === 0x7f) out.push({ kind: 'control', offset: i, length: 1, cp: c });
      i++;
      continue;
    }
    const r = decodeSeq(b, i, end);
    if (r.len < 0) {
      out.push({ kind: 'bad', offset: i, length: -r.len, cp: -1 });
      i += -r.len;
      continue;
    }
    if (r.cp >= 0x80 && r.cp <= 0x9f) out.push({ kind: 'control', offset: i, length: r.len, cp: r.cp });
    else if (isNoncharacter(r.cp)) out.push({ kind: 'noncharacter', offset: i, length: r.len, cp: r.cp });
    i += r.len;
  }
  return out;
}

export function isNoncharacter(cp: number): boolean {
  return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
}

const seqResult = { cp: 0, len: 0 };

/**
 * Decodes one multi-byte sequence starting at i (b[i] >= 0x80).
 * len > 0: well-formed, cp set. len < 0: ill-formed; -len bytes should be skipped (the maximal
 * invalid prefix, at least 1), mirroring how WHATWG decoders resynchronise.
 * Reuses one result object because this runs per character on non-ASCII text.
 */
function decodeSeq(b: Uint8Array, i: number, end: number): { cp: number; len: number } {
  const c = b[i]!;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  let cp: number;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 1;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    cp = c & 0x0f;
    // E0 80..9F would be overlong; ED A0..BF would be a surrogate.
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    cp = c & 0x07;
    // F0 80..8F would be overlong; F4 90+ would exceed U+10FFFF.
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else {
    // Stray continuation byte, C0/C1 (always overlong) or F5..FF (beyond U+10FFFF).
    seqResult.cp = -1;
    seqResult.len = -1;
    return seqResult;
  }
  let j = 1;
  for (; j <= need; j++) {
    if (i + j >= end) break;
    const d = b[i + j]!;
    if (d < lo || d > hi) break;
    lo = 0x80;
    hi = 0xbf;
    cp = (cp << 6) | (d & 0x3f);
  }
  if (j <= need) {
    seqResult.cp = -1;
    seqResult.len = -j;
    return seqResult;
  }
  seqResult.cp = cp;
  seqResult.len = need + 1;
  return seqResult;
}

/**
 * Text of bytes[start,end). Buffer's decoder keeps a leading EF BB BF as U+FEFF (the spec forbids
 * stripping it) and turns ill-formed bytes into U+FFFD, which is what a display wants.
 */
export function bytesToString(b: Uint8Array, start: number, end: number, ascii: boolean): string {
  if (end <= start) return '';
  return ascii ? latin1Slice.call(b, start, end) : utf8Slice.call(b, start, end);
}

export function toHex(b: Uint8Array, start: number, end: number): string {
  if (end <= start) return '';
  return hexSlice.call(b, start, end);
}

type Slice = (this: Uint8Array, start: number, end: number) => string;

/**
 * Buffer's decoders, called on a plain Uint8Array: `buf.toString(encoding, start, end)` ends in these methods, which
 * accept any Uint8Array as `this` (undocumented, but in every Node version since 0.x). Calling them directly saves
 * creating a Buffer view per string, which is most of the cost for short strings such as topics. They throw on a
 * range outside the array; callers pass ranges inside it. Should a Node version drop them, the documented way is used.
 */
const BUFFER_SLICES = Buffer.prototype as unknown as Partial<Record<'latin1Slice' | 'utf8Slice' | 'hexSlice', Slice>>;

function viaBuffer(encoding: BufferEncoding): Slice {
  return function (this: Uint8Array, start: number, end: number): string {
    return Buffer.from(this.buffer, this.byteOffset + start, end - start).toString(encoding);
  };
}

const latin1Slice: Slice = BUFFER_SLICES.latin1Slice ?? viaBuffer('latin1');
const utf8Slice: Slice = BUFFER_SLICES.utf8Slice ?? viaBuffer('utf8');
const hexSlice: Slice = BUFFER_SLICES.hexSlice ?? viaBuffer('hex');

/** Payload-ish display value: UTF-8 text when it reads as text, otherwise hex. */
export type BytesValue =
  | { encoding: 'utf8'; text: string; truncated?: true }
  | { encoding: 'hex'; data: string; truncated?: true };

/**
 * Where a text cut at `cut` (start <= cut <= end) really ends: backed off over at most 3 UTF-8 continuation bytes
 * so a character is not split. Unchanged when nothing is cut.
 */
export function characterCut(b: Uint8Array, start: number, cut: number, end: number): number {
  let textCut = cut;
  if (cut < end) {
    let k = 0;
    while (k < 3 && textCut > start && (b[textCut]! & 0xc0) === 0x80) {
      textCut--;
      k++;
    }
  }
  return textCut;
}

/** How a text-or-binary value is shown: where it is cut (as hex, and as text at a character boundary), whether. */
export interface BytesCut {
  cut: number;
  textCut: number;
  truncated: boolean;
  /** The shown bytes read as text. */
  text: boolean;
}

/** The latest cutBytes() result: one shared object, so the NDJSON writer decides without allocating. */
const lastCut: BytesCut = { cut: 0, textCut: 0, truncated: false, text: false };

/** The one decision behind displayBytes() and the NDJSON writer's bytes values; valid until the next call. */
export function cutBytes(b: Uint8Array, start: number, end: number, limit: number, trueEnd = end): Readonly<BytesCut> {
  const avail = end - start;
  const cut = limit >= 0 && avail > limit ? start + limit : end;
  const textCut = characterCut(b, start, cut, end);
  lastCut.cut = cut;
  lastCut.textCut = textCut;
  lastCut.truncated = cut - start < trueEnd - start;
  lastCut.text = readsAsText(b, start, textCut);
  return lastCut;
}

/**
 * Shows bytes[start,end) as text when it is well-formed UTF-8 without control characters
 * (TAB, LF and CR allowed: pretty-printed JSON is common), else as hex. Only the first `limit`
 * bytes are looked at, so a multi-megabyte payload costs O(limit); the cut backs off to a
 * character boundary for text. `trueEnd` (>= end) is where the value really ends when the
 * packet itself was cut short.
 */
export function displayBytes(b: Uint8Array, start: number, end: number, limit: number, trueEnd = end): BytesValue {
  const { cut, textCut, truncated, text: isText } = cutBytes(b, start, end, limit, trueEnd);
  if (isText) {
    const text = bytesToString(b, start, textCut, false);
    return truncated ? { encoding: 'utf8', text, truncated: true } : { encoding: 'utf8', text };
  }
  const data = toHex(b, start, cut);
  return truncated ? { encoding: 'hex', data, truncated: true } : { encoding: 'hex', data };
}

/** Whether bytes[start,end) show as text: well-formed UTF-8 without controls (TAB, LF and CR allowed). */
export function readsAsText(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x20 && c < 0x7f) continue;
    if (c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c < 0x80) return false;
    const r = decodeSeq(b, i, end);
    if (r.len < 0) return false;
    if (r.cp <= 0x9f) return false;
    i += r.len - 1;
  }
  return true;
}
