/**
 * Layers taken off before a format decodes: base64 (strict: an alphabet character, padding only at the end, white
 * space ignored) and the three zlib wrappings, gzip, zlib and deflate (raw), inflated by Node's zlib synchronously
 * with maxOutputLength: a payload that would inflate past limits.maxInflatedBytes (over all its layers together) is
 * not decoded, and the cut says so, whatever its compression ratio. The bytes a layer yields are not the packet's:
 * the format after it decodes them without tree nodes, and the chain shows one node over the whole payload.
 */
import { gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { FieldNode } from '../../mqtt/types.js';
import { prettyJson } from '../payload-view.js';
import type { DecodeContext, DecodedPayload, DecodeLayer, DecodeLimits, PayloadDecoder } from './types.js';

export const LAYERS = ['base64', 'gzip', 'zlib', 'deflate'] as const;
export type LayerName = (typeof LAYERS)[number];

export function isLayer(s: string): s is LayerName {
  return (LAYERS as readonly string[]).includes(s);
}

export type Unwrapped =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; message: string; offset?: number; cut?: true };

/** "4 MiB", "1,500 bytes". */
export function sizeText(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n.toLocaleString('en-US')} byte${n === 1 ? '' : 's'}`;
}

function isBase64Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f || c === 0x2d || c === 0x5f;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Strict base64 (standard or URL-safe alphabet, padding optional): Buffer.from alone skips what it does not know. */
export function base64Bytes(b: Uint8Array, start: number, end: number): Unwrapped {
  let chars = '';
  let pad = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (isSpace(c)) continue;
    if (c === 0x3d) {
      pad++;
      if (pad > 2) return { ok: false, message: 'base64: more than two "=" of padding', offset: i };
      continue;
    }
    if (pad > 0) return { ok: false, message: 'base64: characters after the "=" padding', offset: i };
    if (!isBase64Char(c)) return { ok: false, message: `base64: byte 0x${c.toString(16).padStart(2, '0')} is not in the base64 alphabet`, offset: i };
    chars += String.fromCharCode(c);
  }
  if (chars.length % 4 === 1) return { ok: false, message: `base64: ${chars.length} characters (4n+1 cannot be base64)` };
  if (pad > 0 && (chars.length + pad) % 4 !== 0) return { ok: false, message: 'base64: the padding does not complete a group of four characters' };
  return { ok: true, bytes: Buffer.from(chars, 'base64') };
}

const INFLATE: Readonly<Record<Exclude<LayerName, 'base64'>, (b: Uint8Array, o: { maxOutputLength: number }) => Buffer>> = {
  gzip: gunzipSync,
  zlib: inflateSync,
  deflate: inflateRawSync,
};

/** Takes one layer off bytes[start, end); `budget` is how many inflated bytes are still allowed. */
export function unwrapLayer(layer: LayerName, b: Uint8Array, start: number, end: number, budget: number, limit: number): Unwrapped {
  if (layer === 'base64') return base64Bytes(b, start, end);
  const cut: Unwrapped = { ok: false, cut: true, message: `${layer}: inflates to more than ${sizeText(limit)} (the limit of inflated bytes per payload); not decoded` };
  if (budget < 1) return cut;
  try {
    return { ok: true, bytes: INFLATE[layer](b.subarray(start, end), { maxOutputLength: budget }) };
  } catch (e) {
    // maxOutputLength reached: zlib stops there and throws RangeError ERR_BUFFER_TOO_LARGE (Node's errors carry a
    // `code` that the RangeError type does not declare, hence the cast).
    if (e instanceof RangeError && (e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') return cut;
    return { ok: false, message: `${layer}: ${e instanceof Error ? e.message : String(e)}`, offset: start };
  }
}

/** Limits for what a layer's output is decoded with: its size was bounded by the inflated limit, not the input one. */
export function innerLimits(limits: DecodeLimits, inflated: number): DecodeLimits {
  return { ...limits, maxInputBytes: Math.max(limits.maxInputBytes, limits.maxInflatedBytes), maxInflatedBytes: Math.max(0, limits.maxInflatedBytes - inflated) };
}

export function layersText(layers: readonly DecodeLayer[]): string {
  return layers.map((l) => `${l.format} ${l.inBytes} → ${l.outBytes} bytes`).join(', ');
}

/** The one node a chain shows: the decoded value over the whole payload, and why it cannot point at bytes. */
export function derivedNode(d: DecodedPayload, start: number, n: number, layers: readonly DecodeLayer[]): FieldNode {
  const node: FieldNode = { key: 'decoded', label: d.detected !== undefined ? d.detected.split(' ', 1)[0]! : d.format, offset: start, length: n };
  if (d.value !== undefined) {
    const pretty = typeof d.value === 'string' ? JSON.stringify(d.value.length > 8192 ? `${d.value.slice(0, 8192)}…` : d.value) : prettyJson(d.value);
    if (pretty !== null) node.value = pretty;
  }
  node.explain = `${layersText(layers)}; the decoded bytes are not the packet's, so this node covers the whole payload`;
  return node;
}

/** Moves an error found in a layer's output off the packet: its offset is in bytes the packet does not hold. */
export function derivedError(e: { message: string; offset?: number }, layers: readonly DecodeLayer[], innerStart = 0): { message: string } {
  const last = layers[layers.length - 1];
  const where = e.offset !== undefined && last !== undefined ? ` (at byte ${e.offset - innerStart} of the ${last.format}-decoded data)` : '';
  return { message: `${e.message}${where}` };
}

export class ChainDecoder implements PayloadDecoder {
  constructor(
    private readonly format: string,
    private readonly layers: readonly LayerName[],
    private readonly inner: PayloadDecoder,
  ) {}

  decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload {
    const layers: DecodeLayer[] = [];
    const out: DecodedPayload = { format: this.format, layers };
    let cur = b;
    let s = start;
    let e = end;
    let inflated = 0;
    for (const layer of this.layers) {
      const r = unwrapLayer(layer, cur, s, e, ctx.limits.maxInflatedBytes - inflated, ctx.limits.maxInflatedBytes);
      if (!r.ok) {
        if (r.cut === true) out.cut = [r.message];
        // Only the first layer reads the packet's bytes: later offsets are in a layer's output.
        else out.error = cur === b && r.offset !== undefined ? { message: r.message, offset: r.offset } : derivedError(r, layers, s);
        if (layers.length === 0) delete out.layers;
        return out;
      }
      layers.push({ format: layer, inBytes: e - s, outBytes: r.bytes.length });
      if (layer !== 'base64') inflated += r.bytes.length;
      cur = r.bytes;
      s = 0;
      e = r.bytes.length;
    }
    const d = this.inner.decode(cur, 0, e, { tree: false, limits: innerLimits(ctx.limits, inflated), topic: ctx.topic });
    if (d.detected !== undefined) out.detected = d.detected;
    if (d.layers !== undefined) layers.push(...d.layers);
    if (d.value !== undefined) out.value = d.value;
    if (d.cut !== undefined) out.cut = d.cut;
    if (d.error !== undefined) out.error = derivedError(d.error, layers);
    if (ctx.tree) out.nodes = [derivedNode(d, start, end - start, layers)];
    return out;
  }
}
