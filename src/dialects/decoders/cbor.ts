/**
 * CBOR (RFC 8949) with cbor-x. Before cbor-x sees a byte, a scanner walks the item's structure: every declared
 * length and count must fit in the bytes that remain (a header claiming 2^32 elements in a 10-byte payload is an
 * error here, not an allocation there), nesting is at most limits.maxDepth (cbor-x recurses and would overflow the
 * stack), reserved encodings and a break outside an indefinite-length item are errors, and the item must take the
 * whole payload. The scan also gives the tree its exact offsets, which cbor-x does not report.
 *
 * cbor-x runs with maps as Map objects (its default turns a map with non-string keys into {}: values lost) and
 * without records; a fresh Decoder per payload keeps what one payload defines (record structures, packed values)
 * from reaching the next.
 */
import { Decoder as CborDecoder } from 'cbor-x';
import { itemNodes, ScanError, shownBytes, shownText, type ScanItem } from './items.js';
import type { DecodeContext, DecodedPayload, PayloadDecoder } from './types.js';
import { boundedValue } from './value.js';

const TEXT = new TextDecoder('utf-8');

const TAG_NAMES: Readonly<Record<number, string>> = {
  0: 'date/time string', 1: 'epoch time', 2: 'unsigned bignum', 3: 'negative bignum', 4: 'decimal fraction',
  5: 'bigfloat', 21: 'base64url expected', 22: 'base64 expected', 23: 'base16 expected', 24: 'encoded CBOR',
  28: 'shareable', 29: 'shared reference', 32: 'URI', 258: 'set', 259: 'map', 55799: 'self-described CBOR',
};

export interface CborScan {
  /** The item when tree nodes were asked for (its descendants up to the node limit). */
  root: ScanItem | null;
  end: number;
}

class Scanner {
  kept = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly end: number,
    private readonly maxDepth: number,
    private readonly maxKept: number,
  ) {}

  /** The argument of the header at i: its value (Infinity past 2^53, for lengths) and where the header ends; null for indefinite. */
  private arg(i: number): { v: number; big: bigint | null; at: number } | null {
    const b = this.b;
    const ai = b[i]! & 0x1f;
    if (ai < 24) return { v: ai, big: null, at: i + 1 };
    if (ai === 31) return null;
    if (ai > 27) throw new ScanError(`reserved additional information ${ai} in byte 0x${b[i]!.toString(16).padStart(2, '0')}`, i);
    const n = 1 << (ai - 24);
    if (i + 1 + n > this.end) throw new ScanError(`the data ends inside a header (${n} argument byte${n === 1 ? '' : 's'} declared)`, i);
    if (n < 8) {
      let v = 0;
      for (let k = 1; k <= n; k++) v = v * 256 + b[i + k]!;
      return { v, big: null, at: i + 1 + n };
    }
    let big = 0n;
    for (let k = 1; k <= 8; k++) big = (big << 8n) | BigInt(b[i + k]!);
    return { v: big > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(big), big, at: i + 9 };
  }

  /** Scans the item at i; returns where it ends. `into`: where to keep it (null: not kept). */
  item(i: number, depth: number, into: ScanItem[] | null): number {
    const b = this.b;
    if (i >= this.end) throw new ScanError('the data ends where an item was expected', i);
    const ib = b[i]!;
    const major = ib >> 5;
    if (ib === 0xff) throw new ScanError('a break (0xff) outside an indefinite-length item', i);
    const a = this.arg(i);
    const keep = into !== null && this.kept < this.maxKept;
    if (keep) this.kept++;
    const remain = (at: number): number => this.end - at;
    switch (major) {
      case 0: case 1: {
        if (a === null) throw new ScanError(`an indefinite length on ${major === 0 ? 'an unsigned' : 'a negative'} integer`, i);
        if (keep) {
          const mag = a.big ?? BigInt(a.v);
          into.push({ start: i, end: a.at, headerEnd: a.at, what: `${major === 0 ? 'unsigned' : 'negative'} integer (${a.at - i} byte${a.at - i === 1 ? '' : 's'})`, shown: String(major === 0 ? mag : -1n - mag) });
        }
        return a.at;
      }
      case 2: case 3: {
        const kind = major === 2 ? 'byte string' : 'text string';
        if (a === null) {
          // Indefinite: definite chunks of the same major type up to a break.
          const chunks: ScanItem[] | null = keep ? [] : null;
          let at = i + 1;
          for (;;) {
            if (at >= this.end) throw new ScanError(`the data ends inside an indefinite-length ${kind}`, i);
            if (b[at] === 0xff) break;
            if (b[at]! >> 5 !== major || (b[at]! & 0x1f) === 31) throw new ScanError(`a chunk that is no definite ${kind} inside an indefinite-length ${kind}`, at);
            at = this.item(at, depth, chunks);
          }
          if (keep) into.push({ start: i, end: at + 1, headerEnd: i + 1, what: `${kind} in chunks`, children: chunks ?? [] });
          return at + 1;
        }
        if (a.v > remain(a.at)) throw new ScanError(`a ${kind} declares ${lengthText(a)} bytes but ${remainText(remain(a.at))}`, i);
        const stop = a.at + a.v;
        if (keep) {
          const shown = major === 3 ? shownText(TEXT.decode(b.subarray(a.at, Math.min(stop, a.at + 480)))) : shownBytes(b, a.at, stop);
          into.push({ start: i, end: stop, headerEnd: a.at, what: `${kind} of ${a.v} byte${a.v === 1 ? '' : 's'}`, shown });
        }
        return stop;
      }
      case 4: case 5: {
        const isMap = major === 5;
        if (depth >= this.maxDepth) throw new ScanError(`nesting deeper than ${this.maxDepth} levels`, i);
        const kids: ScanItem[] | null = keep ? [] : null;
        let at: number;
        let count = 0;
        if (a === null) {
          at = i + 1;
          for (;;) {
            if (at >= this.end) throw new ScanError(`the data ends inside an indefinite-length ${isMap ? 'map' : 'array'}`, i);
            if (b[at] === 0xff) break;
            at = this.item(at, depth + 1, kids);
            count++;
          }
          if (isMap && count % 2 !== 0) throw new ScanError('an indefinite-length map ends after a key, without its value', at);
          at++;
        } else {
          const n = isMap ? a.v * 2 : a.v;
          // Every item takes at least one byte.
          if (n > remain(a.at)) throw new ScanError(`${isMap ? 'a map declares' : 'an array declares'} ${lengthText(a)} ${isMap ? 'pairs' : 'items'} but ${remainText(remain(a.at))}`, i);
          at = a.at;
          for (let k = 0; k < n; k++) at = this.item(at, depth + 1, kids);
          count = n;
        }
        if (keep) {
          const what = isMap ? `map of ${count / 2} pair${count === 2 ? '' : 's'}` : `array of ${count} item${count === 1 ? '' : 's'}`;
          into.push({ start: i, end: at, headerEnd: a === null ? i + 1 : a.at, what: a === null ? `${what} (indefinite length)` : what, children: kids ?? [], ...(isMap ? { map: true } : {}), ...(kids !== null && kids.length < count ? { partial: true } : {}) });
        }
        return at;
      }
      case 6: {
        if (a === null) throw new ScanError('an indefinite length on a tag', i);
        if (depth >= this.maxDepth) throw new ScanError(`nesting deeper than ${this.maxDepth} levels`, i);
        const kids: ScanItem[] | null = keep ? [] : null;
        const at = this.item(a.at, depth + 1, kids);
        if (keep) {
          const tag = a.big ?? BigInt(a.v);
          const name = a.big === null ? TAG_NAMES[a.v] : undefined;
          into.push({ start: i, end: at, headerEnd: a.at, what: `tag ${tag}${name !== undefined ? ` (${name})` : ''}`, children: kids ?? [] });
        }
        return at;
      }
      default: {
        // Major type 7: simple values and floats.
        const ai = ib & 0x1f;
        if (a === null) throw new ScanError('a break (0xff) outside an indefinite-length item', i);
        if (ai === 24 && a.v < 32) throw new ScanError(`simple value ${a.v} in the two-byte form (only 32-255 may use it)`, i);
        if (keep) into.push({ start: i, end: a.at, headerEnd: a.at, ...simple(b, i, ai, a.v) });
        return a.at;
      }
    }
  }
}

/** "1 byte remains", "5 bytes remain". */
export function remainText(n: number): string {
  return n === 1 ? '1 byte remains' : `${n} bytes remain`;
}

function lengthText(a: { v: number; big: bigint | null }): string {
  return a.big !== null ? String(a.big) : String(a.v);
}

function simple(b: Uint8Array, i: number, ai: number, v: number): { what: string; shown: string } {
  if (ai === 25) return { what: 'half-precision float', shown: String(half((b[i + 1]! << 8) | b[i + 2]!)) };
  if (ai === 26) return { what: 'single-precision float', shown: String(new DataView(b.buffer, b.byteOffset + i + 1, 4).getFloat32(0)) };
  if (ai === 27) return { what: 'double-precision float', shown: String(new DataView(b.buffer, b.byteOffset + i + 1, 8).getFloat64(0)) };
  const named: Record<number, string> = { 20: 'false', 21: 'true', 22: 'null', 23: 'undefined' };
  return { what: 'simple value', shown: named[v] ?? `simple(${v})` };
}

/** IEEE 754 half precision. */
function half(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Scans bytes[start, end) as exactly one CBOR item; throws ScanError. */
export function scanCbor(b: Uint8Array, start: number, end: number, maxDepth: number, keep: number): CborScan {
  const s = new Scanner(b, end, maxDepth, keep);
  const into: ScanItem[] | null = keep > 0 ? [] : null;
  const at = s.item(start, 0, into);
  if (at < end) throw new ScanError(`${end - at} byte${end - at === 1 ? '' : 's'} after the first CBOR item (a CBOR sequence is not decoded as one value)`, at);
  return { root: into?.[0] ?? null, end: at };
}

/** Whether bytes[start, end) is one well-formed CBOR item that cbor-x decodes (auto-detection). */
export function decodeCborValue(b: Uint8Array, start: number, end: number, maxDepth: number): { ok: true; value: unknown } | { ok: false; message: string; offset?: number } {
  try {
    scanCbor(b, start, end, maxDepth, 0);
  } catch (e) {
    if (e instanceof ScanError) return { ok: false, message: e.message, offset: e.offset };
    throw e;
  }
  return cborLibrary(b, start, end);
}

/** cbor-x on bytes the scanner accepted. */
function cborLibrary(b: Uint8Array, start: number, end: number): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    // mapsAsObjects false: Map values (the default would drop non-string keys); see the file comment.
    return { ok: true, value: new CborDecoder({ mapsAsObjects: false, useRecords: false }).decode(b.subarray(start, end)) };
  } catch (e) {
    return { ok: false, message: `cbor-x: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export const CBOR_DECODER: PayloadDecoder = {
  decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload {
    const out: DecodedPayload = { format: 'cbor' };
    let scan: CborScan;
    try {
      scan = scanCbor(b, start, end, ctx.limits.maxDepth, ctx.tree ? ctx.limits.maxItems : 0);
    } catch (e) {
      if (!(e instanceof ScanError)) throw e;
      out.error = { message: e.message, offset: e.offset };
      return out;
    }
    const r = cborLibrary(b, start, end);
    if (!r.ok) {
      out.error = { message: r.message };
      return out;
    }
    const bounded = boundedValue(r.value, ctx.limits);
    out.value = bounded.value;
    if (bounded.cut.length > 0) out.cut = bounded.cut;
    if (scan.root !== null) out.nodes = [itemNodes(b, scan.root, 'CBOR', ctx.limits.maxItems)];
    return out;
  },
};
