/**
 * JSON with positions. JSON.parse decides validity (so the grammar is exactly the platform's); only then does a small
 * scanner walk the same text to find where each member and element starts, because the field tree needs byte offsets
 * and JSON.parse gives none. Values come from JSON.parse of each node's own text, which keeps duplicate keys, key
 * order and "__proto__" keys exactly as written instead of as a JavaScript object would hold them.
 *
 * isJsonBytes gives JSON.parse's verdict straight from the bytes, for callers that need only the verdict (the payload
 * view of every PUBLISH): no string, no value, no garbage.
 */

import { isUtf8 } from 'node:buffer';

const DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface JsonNode {
  kind: 'object' | 'array' | 'string' | 'number' | 'literal' | 'opaque';
  /** Character indices into JsonDoc.text: [start, end). */
  start: number;
  end: number;
  members?: JsonMember[];
  items?: JsonNode[];
}

export interface JsonMember {
  key: string;
  keyStart: number;
  value: JsonNode;
}

export class JsonDoc {
  private offsets: Uint32Array | null = null;

  constructor(
    readonly text: string,
    readonly root: JsonNode,
    /** The whole document as JSON.parse returns it. */
    readonly value: unknown,
    /** Byte length of the text: equal to text.length only for ASCII. */
    readonly byteLength: number,
  ) {}

  /** Byte offset, from the first byte of the JSON, of a character index. */
  byteOffset(i: number): number {
    if (this.byteLength === this.text.length) return i;
    this.offsets ??= utf8Offsets(this.text);
    return this.offsets[Math.max(0, Math.min(i, this.text.length))]!;
  }

  valueOf(n: JsonNode): unknown {
    if (n === this.root) return this.value;
    return JSON.parse(this.text.slice(n.start, n.end));
  }
}

export type JsonParse =
  | { ok: true; doc: JsonDoc }
  | { ok: false; utf8: boolean; error: string };

/** Nesting the scanner follows; deeper containers become one opaque node (their value is still exact). */
const MAX_SCAN_DEPTH = 8;

export function decodeUtf8(b: Uint8Array, start: number, end: number): string | null {
  try {
    return DECODER.decode(b.subarray(start, end));
  } catch {
    return null;
  }
}

/** Scratch stack of open containers for isJsonBytes (grown on demand; JSON.parse itself has no depth limit). */
let containerStack = new Uint8Array(64);
const IN_ARRAY = 0;
const IN_OBJECT = 1;
/** Set by skipString when a string holds a byte >= 0x80 (the document then needs a UTF-8 check). */
let sawHighByte = false;

/**
 * Whether JSON.parse would accept the UTF-8 text in b[start, end): the same verdict as decoding with a fatal
 * TextDecoder and calling JSON.parse, without building the string or the value. The grammar is RFC 8259 / ECMA-404,
 * which is exactly what V8's JSON.parse implements (whitespace is only space, tab, LF and CR; a BOM is an error;
 * nesting depth is unlimited, so the walk keeps its own stack instead of recursing).
 */
export function isJsonBytes(b: Uint8Array, start: number, end: number): boolean {
  sawHighByte = false;
  let depth = 0;
  let i = skipBlanks(b, start, end);
  for (;;) {
    // A value starts at i.
    if (i >= end) return false;
    const c = b[i]!;
    let open = -1;
    if (c === 0x7b || c === 0x5b) {
      const close = c === 0x7b ? 0x7d : 0x5d;
      i = skipBlanks(b, i + 1, end);
      if (i < end && b[i] === close) {
        i++;
      } else {
        open = c === 0x7b ? IN_OBJECT : IN_ARRAY;
      }
    } else if (c === 0x22) {
      i = skipString(b, i, end);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      i = skipNumber(b, i, end);
    } else if (c === 0x74) {
      i = skipWord(b, i, end, TRUE);
    } else if (c === 0x66) {
      i = skipWord(b, i, end, FALSE);
    } else if (c === 0x6e) {
      i = skipWord(b, i, end, NULL);
    } else {
      return false;
    }
    if (i < 0) return false;
    if (open >= 0) {
      if (depth === containerStack.length) {
        const grown = new Uint8Array(depth * 2);
        grown.set(containerStack);
        containerStack = grown;
      }
      containerStack[depth++] = open;
      if (open === IN_OBJECT) {
        i = skipKey(b, i, end);
        if (i < 0) return false;
      }
      continue;
    }
    // After a value: close containers until a comma asks for the next value, or the document ends.
    for (;;) {
      i = skipBlanks(b, i, end);
      if (depth === 0) return i === end && (!sawHighByte || isUtf8(b.subarray(start, end)));
      if (i >= end) return false;
      const d = b[i]!;
      const inObject = containerStack[depth - 1] === IN_OBJECT;
      if (d === 0x2c) {
        i = skipBlanks(b, i + 1, end);
        if (inObject) {
          i = skipKey(b, i, end);
          if (i < 0) return false;
        }
        break;
      }
      if (d !== (inObject ? 0x7d : 0x5d)) return false;
      depth--;
      i++;
    }
  }
}

function skipBlanks(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** A member name, blanks, ':' and blanks; the index of the member value, or -1. */
function skipKey(b: Uint8Array, i: number, end: number): number {
  if (i >= end || b[i] !== 0x22) return -1;
  i = skipString(b, i, end);
  if (i < 0) return -1;
  i = skipBlanks(b, i, end);
  if (i >= end || b[i] !== 0x3a) return -1;
  return skipBlanks(b, i + 1, end);
}

/** A string starting at the quote at i: the index after its closing quote, or -1. */
function skipString(b: Uint8Array, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = b[i]!;
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      const e = b[i + 1];
      if (e === 0x75) {
        if (i + 6 > end || !isHex(b[i + 2]!) || !isHex(b[i + 3]!) || !isHex(b[i + 4]!) || !isHex(b[i + 5]!)) return -1;
        i += 6;
        continue;
      }
      // \" \\ \/ \b \f \n \r \t
      if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
        continue;
      }
      return -1;
    }
    if (c < 0x20) return -1;
    if (c >= 0x80) sawHighByte = true;
    i++;
  }
  return -1;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at i: the index after it, or -1. */
function skipNumber(b: Uint8Array, i: number, end: number): number {
  if (b[i] === 0x2d) i++;
  if (i >= end) return -1;
  if (b[i] === 0x30) {
    i++;
  } else {
    const start = i;
    while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    if (i === start) return -1;
  }
  if (i < end && b[i] === 0x2e) {
    const start = ++i;
    while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    if (i === start) return -1;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    const start = i;
    while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    if (i === start) return -1;
  }
  return i;
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** The literal `word` at i: the index after it, or -1. */
function skipWord(b: Uint8Array, i: number, end: number, word: readonly number[]): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

export function parseJsonBytes(b: Uint8Array, start: number, end: number): JsonParse {
  const text = decodeUtf8(b, start, end);
  if (text === null) return { ok: false, utf8: false, error: 'not well-formed UTF-8' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { ok: false, utf8: true, error: msg.length > 120 ? `${msg.slice(0, 120)}…` : msg };
  }
  let root: JsonNode;
  try {
    root = scan(text);
  } catch {
    // The text is valid JSON, so this is our bug; positions are a display aid, so fall back to one node.
    root = { kind: 'opaque', start: 0, end: text.length };
  }
  return { ok: true, doc: new JsonDoc(text, root, value, end - start) };
}

/** Cumulative UTF-8 byte counts per UTF-16 index (a surrogate pair is 4 bytes, counted at its first half). */
function utf8Offsets(s: string): Uint32Array {
  const out = new Uint32Array(s.length + 1);
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    out[i] = bytes;
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) bytes += 4;
    else if (c >= 0xdc00 && c <= 0xdfff) bytes += 0;
    else bytes += 3;
  }
  out[s.length] = bytes;
  return out;
}

/** Walks text already accepted by JSON.parse; every loop is still bounded by the text length. */
function scan(s: string): JsonNode {
  const n = s.length;

  const ws = (i: number): number => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
    return i;
  };

  const skipString = (i: number): number => {
    let j = i + 1;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === 0x5c) j += 2;
      else if (c === 0x22) return j + 1;
      else j++;
    }
    return n;
  };

  const skipContainer = (i: number): number => {
    let depth = 0;
    let j = i;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === 0x22) {
        j = skipString(j);
        continue;
      }
      if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) depth--;
      j++;
      if (depth === 0) return j;
    }
    return n;
  };

  const primitive = (i: number): number => {
    let j = i;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === 0x2c || c === 0x5d || c === 0x7d || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) break;
      j++;
    }
    return j;
  };

  const value = (i: number, depth: number): JsonNode => {
    const c = s.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_SCAN_DEPTH) return { kind: 'opaque', start: i, end: skipContainer(i) };
      return c === 0x7b ? object(i, depth) : array(i, depth);
    }
    if (c === 0x22) return { kind: 'string', start: i, end: skipString(i) };
    const end = Math.max(i + 1, primitive(i));
    return { kind: c === 0x2d || (c >= 0x30 && c <= 0x39) ? 'number' : 'literal', start: i, end };
  };

  const object = (i: number, depth: number): JsonNode => {
    const members: JsonMember[] = [];
    let j = ws(i + 1);
    if (s.charCodeAt(j) === 0x7d) return { kind: 'object', start: i, end: j + 1, members };
    while (j < n) {
      const keyEnd = skipString(j);
      const key = JSON.parse(s.slice(j, keyEnd)) as string;
      const keyStart = j;
      j = ws(ws(keyEnd) + 1);
      const v = value(j, depth + 1);
      members.push({ key, keyStart, value: v });
      j = ws(v.end);
      if (s.charCodeAt(j) === 0x2c) {
        j = ws(j + 1);
        continue;
      }
      j++;
      break;
    }
    return { kind: 'object', start: i, end: Math.min(j, n), members };
  };

  const array = (i: number, depth: number): JsonNode => {
    const items: JsonNode[] = [];
    let j = ws(i + 1);
    if (s.charCodeAt(j) === 0x5d) return { kind: 'array', start: i, end: j + 1, items };
    while (j < n) {
      const v = value(j, depth + 1);
      items.push(v);
      j = ws(v.end);
      if (s.charCodeAt(j) === 0x2c) {
        j = ws(j + 1);
        continue;
      }
      j++;
      break;
    }
    return { kind: 'array', start: i, end: Math.min(j, n), items };
  };

  return value(ws(0), 0);
}
