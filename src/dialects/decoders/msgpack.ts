/**
 * MessagePack with @msgpack/msgpack. As for CBOR, a scanner walks the structure first: every declared length and
 * count must fit in the bytes that remain, nesting is at most limits.maxDepth, 0xc1 (never used) is an error, and
 * one item must take the whole payload; it also gives the tree exact offsets. The library gets the same bounds as
 * its own options (maxStrLength, maxBinLength, maxArrayLength, maxMapLength, maxExtLength: it has no depth or time
 * option), 64-bit integers as bigint (a number would round them), and map keys that are neither string nor number
 * as their JSON text (its default throws on them).
 */
import { Decoder as MsgpackDecoder } from '@msgpack/msgpack';
import { remainText } from './cbor.js';
import { itemNodes, ScanError, shownBytes, shownText, type ScanItem } from './items.js';
import type { DecodeContext, DecodedPayload, DecodeLimits, PayloadDecoder } from './types.js';
import { boundedValue } from './value.js';

const TEXT = new TextDecoder('utf-8');

class Scanner {
  kept = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly end: number,
    private readonly maxDepth: number,
    private readonly maxKept: number,
  ) {}

  private uint(i: number, n: number): number {
    if (i + n > this.end) throw new ScanError(`the data ends inside a header (${n} length byte${n === 1 ? '' : 's'} expected)`, i);
    let v = 0;
    for (let k = 0; k < n; k++) v = v * 256 + this.b[i + k]!;
    return v;
  }

  private need(i: number, from: number, n: number, what: string): number {
    if (n > this.end - from) throw new ScanError(`${what} declares ${n} bytes but ${remainText(this.end - from)}`, i);
    return from + n;
  }

  item(i: number, depth: number, into: ScanItem[] | null): number {
    const b = this.b;
    if (i >= this.end) throw new ScanError('the data ends where an item was expected', i);
    const t = b[i]!;
    const keep = into !== null && this.kept < this.maxKept;
    if (keep) this.kept++;
    const scalar = (end: number, what: string, shown: string): number => {
      if (keep) into.push({ start: i, end, headerEnd: end, what, shown });
      return end;
    };
    if (t <= 0x7f) return scalar(i + 1, 'positive fixint', String(t));
    if (t >= 0xe0) return scalar(i + 1, 'negative fixint', String(t - 256));
    if (t <= 0x8f) return this.container(i, i + 1, t & 0x0f, true, depth, keep ? into : null);
    if (t <= 0x9f) return this.container(i, i + 1, t & 0x0f, false, depth, keep ? into : null);
    if (t <= 0xbf) return this.str(i, i + 1, t & 0x1f, keep ? into : null);
    switch (t) {
      case 0xc0: return scalar(i + 1, 'nil', 'null');
      case 0xc1: throw new ScanError('byte 0xc1, which MessagePack never uses', i);
      case 0xc2: return scalar(i + 1, 'false', 'false');
      case 0xc3: return scalar(i + 1, 'true', 'true');
      case 0xc4: case 0xc5: case 0xc6: {
        const w = 1 << (t - 0xc4);
        const n = this.uint(i + 1, w);
        const end = this.need(i, i + 1 + w, n, `bin ${8 * w}`);
        if (keep) into.push({ start: i, end, headerEnd: i + 1 + w, what: `bin of ${n} byte${n === 1 ? '' : 's'}`, shown: shownBytes(b, i + 1 + w, end) });
        return end;
      }
      case 0xc7: case 0xc8: case 0xc9: {
        const w = 1 << (t - 0xc7);
        const n = this.uint(i + 1, w);
        return this.ext(i, i + 1 + w, n, keep ? into : null);
      }
      case 0xca: case 0xcb: {
        const n = t === 0xca ? 4 : 8;
        const end = this.need(i, i + 1, n, `float ${8 * n}`);
        const dv = new DataView(b.buffer, b.byteOffset + i + 1, n);
        return scalar(end, `float ${8 * n}`, String(n === 4 ? dv.getFloat32(0) : dv.getFloat64(0)));
      }
      case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        const signed = t >= 0xd0;
        const n = 1 << ((t - (signed ? 0xd0 : 0xcc)));
        const end = this.need(i, i + 1, n, `${signed ? 'int' : 'uint'} ${8 * n}`);
        let shown = '';
        if (keep) {
          const dv = new DataView(b.buffer, b.byteOffset + i + 1, n);
          const v = n === 1 ? (signed ? dv.getInt8(0) : dv.getUint8(0)) : n === 2 ? (signed ? dv.getInt16(0) : dv.getUint16(0))
            : n === 4 ? (signed ? dv.getInt32(0) : dv.getUint32(0)) : signed ? dv.getBigInt64(0) : dv.getBigUint64(0);
          shown = String(v);
        }
        return scalar(end, `${signed ? 'int' : 'uint'} ${8 * n}`, shown);
      }
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        return this.ext(i, i + 1, 1 << (t - 0xd4), keep ? into : null);
      case 0xd9: case 0xda: case 0xdb: {
        const w = 1 << (t - 0xd9);
        return this.str(i, i + 1 + w, this.uint(i + 1, w), keep ? into : null);
      }
      case 0xdc: case 0xdd: {
        const w = t === 0xdc ? 2 : 4;
        return this.container(i, i + 1 + w, this.uint(i + 1, w), false, depth, keep ? into : null);
      }
      default: {
        // 0xde, 0xdf: map 16, map 32.
        const w = t === 0xde ? 2 : 4;
        return this.container(i, i + 1 + w, this.uint(i + 1, w), true, depth, keep ? into : null);
      }
    }
  }

  private str(i: number, from: number, n: number, into: ScanItem[] | null): number {
    const end = this.need(i, from, n, 'a string');
    into?.push({ start: i, end, headerEnd: from, what: `string of ${n} byte${n === 1 ? '' : 's'}`, shown: shownText(TEXT.decode(this.b.subarray(from, Math.min(end, from + 480)))) });
    return end;
  }

  /** An extension: its type byte at `from`, then n data bytes. */
  private ext(i: number, from: number, n: number, into: ScanItem[] | null): number {
    if (from >= this.end) throw new ScanError('the data ends before an extension\'s type byte', i);
    const type = (this.b[from]! << 24) >> 24;
    const end = this.need(i, from + 1, n, 'an extension');
    into?.push({ start: i, end, headerEnd: from + 1, what: `extension type ${type}${type === -1 ? ' (timestamp)' : ''}, ${n} byte${n === 1 ? '' : 's'}`, shown: shownBytes(this.b, from + 1, end) });
    return end;
  }

  private container(i: number, from: number, count: number, isMap: boolean, depth: number, into: ScanItem[] | null): number {
    if (from > this.end) throw new ScanError('the data ends inside a header', i);
    if (depth >= this.maxDepth) throw new ScanError(`nesting deeper than ${this.maxDepth} levels`, i);
    const n = isMap ? count * 2 : count;
    // Every item takes at least one byte.
    if (n > this.end - from) throw new ScanError(`${isMap ? 'a map declares' : 'an array declares'} ${count} ${isMap ? 'pairs' : 'items'} but ${remainText(this.end - from)}`, i);
    const kids: ScanItem[] | null = into !== null ? [] : null;
    let at = from;
    for (let k = 0; k < n; k++) at = this.item(at, depth + 1, kids);
    if (into !== null) {
      into.push({
        start: i, end: at, headerEnd: from, what: isMap ? `map of ${count} pair${count === 1 ? '' : 's'}` : `array of ${count} item${count === 1 ? '' : 's'}`,
        children: kids ?? [], ...(isMap ? { map: true } : {}), ...(kids !== null && kids.length < n ? { partial: true } : {}),
      });
    }
    return at;
  }
}

/** Scans bytes[start, end) as exactly one MessagePack item; throws ScanError. */
export function scanMsgpack(b: Uint8Array, start: number, end: number, maxDepth: number, keep: number): ScanItem | null {
  const s = new Scanner(b, end, maxDepth, keep);
  const into: ScanItem[] | null = keep > 0 ? [] : null;
  const at = s.item(start, 0, into);
  if (at < end) throw new ScanError(`${end - at} byte${end - at === 1 ? '' : 's'} after the first MessagePack item (a stream of items is not decoded as one value)`, at);
  return into?.[0] ?? null;
}

function keyText(k: unknown): string {
  try {
    return JSON.stringify(k, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)) ?? String(k);
  } catch {
    return String(k);
  }
}

/** Library decoders by limits (one per set of limits in use: in practice one). */
const LIBRARIES = new Map<DecodeLimits, MsgpackDecoder>();

function library(limits: DecodeLimits): MsgpackDecoder {
  let d = LIBRARIES.get(limits);
  if (d === undefined) {
    const most = Math.max(limits.maxInputBytes, limits.maxInflatedBytes);
    d = new MsgpackDecoder({
      useBigInt64: true, maxStrLength: most, maxBinLength: most, maxArrayLength: most, maxMapLength: most, maxExtLength: most,
      mapKeyConverter: (k: unknown) => (typeof k === 'string' || typeof k === 'number' ? k : keyText(k)),
    });
    if (LIBRARIES.size > 8) LIBRARIES.clear();
    LIBRARIES.set(limits, d);
  }
  return d;
}

/** One well-formed MessagePack item taking all of bytes[start, end), decoded (auto-detection and the decoder). */
export function decodeMsgpackValue(b: Uint8Array, start: number, end: number, limits: DecodeLimits): { ok: true; value: unknown } | { ok: false; message: string; offset?: number } {
  try {
    scanMsgpack(b, start, end, limits.maxDepth, 0);
  } catch (e) {
    if (e instanceof ScanError) return { ok: false, message: e.message, offset: e.offset };
    throw e;
  }
  return msgpackLibrary(b, start, end, limits);
}

function msgpackLibrary(b: Uint8Array, start: number, end: number, limits: DecodeLimits): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: library(limits).decode(b.subarray(start, end)) };
  } catch (e) {
    return { ok: false, message: `@msgpack/msgpack: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export const MSGPACK_DECODER: PayloadDecoder = {
  decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload {
    const out: DecodedPayload = { format: 'msgpack' };
    let root: ScanItem | null;
    try {
      root = scanMsgpack(b, start, end, ctx.limits.maxDepth, ctx.tree ? ctx.limits.maxItems : 0);
    } catch (e) {
      if (!(e instanceof ScanError)) throw e;
      out.error = { message: e.message, offset: e.offset };
      return out;
    }
    const r = msgpackLibrary(b, start, end, ctx.limits);
    if (!r.ok) {
      out.error = { message: r.message };
      return out;
    }
    const bounded = boundedValue(r.value, ctx.limits);
    out.value = bounded.value;
    if (bounded.cut.length > 0) out.cut = bounded.cut;
    if (root !== null) out.nodes = [itemNodes(b, root, 'MessagePack', ctx.limits.maxItems)];
    return out;
  },
};
