/**
 * `auto`: the format told from the bytes, in this order, and always said (`detected`), never guessed silently:
 *
 * 1. gzip, by its magic 1f 8b 08; 2. zlib, by a valid header (CMF method 8 with a window of at most 32 KiB, the
 *    FCHECK bits making CMF*256+FLG a multiple of 31, no preset dictionary): inflated, then detected again (a layer
 *    that does not inflate is said and detection goes on with the raw bytes: "x^" starts text and passes the check);
 * 3. JSON (the whole payload, by the byte-level validator); 4. UTF-8 text without control characters;
 * 5. CBOR, then 6. MessagePack, only when one well-formed item takes every byte;
 * 7. UTF-8 text with control characters; 8. hex.
 *
 * JSON and text come before CBOR and MessagePack although the binary formats are tried before text elsewhere: a
 * digit ("5") or a single letter is a complete one-byte CBOR or MessagePack item, and calling a sensor's "5" the CBOR
 * integer -22 would be the silent guess this format promises not to make. A CBOR or MessagePack map or array never
 * reads as UTF-8 (its first byte is a continuation byte, 0x80-0xbf), so the order costs them nothing.
 */
import { isWellFormedUtf8, readsAsText } from '../../mqtt/utf8.js';
import { isJsonBytes } from '../json-scan.js';
import { CBOR_DECODER, decodeCborValue } from './cbor.js';
import { derivedError, derivedNode, innerLimits, unwrapLayer, type LayerName } from './chain.js';
import { decodeMsgpackValue, MSGPACK_DECODER } from './msgpack.js';
import { HEX_DECODER, JSON_DECODER, TEXT_DECODER } from './text.js';
import type { DecodeContext, DecodedPayload, DecodeLayer, PayloadDecoder } from './types.js';

/** Compression layers auto takes off one payload at most (gzip inside gzip is legal, and bounded here). */
const MAX_AUTO_LAYERS = 3;

function hex2(b: Uint8Array, i: number): string {
  return `${b[i]!.toString(16).padStart(2, '0')} ${b[i + 1]!.toString(16).padStart(2, '0')}`;
}

/** The compression a payload's first bytes announce, and why. */
function compression(b: Uint8Array, start: number, end: number): { layer: LayerName; why: string } | null {
  if (end - start < 2) return null;
  const c0 = b[start]!;
  const c1 = b[start + 1]!;
  if (c0 === 0x1f && c1 === 0x8b && end - start >= 3 && b[start + 2] === 0x08) return { layer: 'gzip', why: `magic ${hex2(b, start)}` };
  if ((c0 & 0x0f) === 8 && c0 >> 4 <= 7 && ((c0 << 8) | c1) % 31 === 0 && (c1 & 0x20) === 0) return { layer: 'zlib', why: `zlib header ${hex2(b, start)}` };
  return null;
}

interface Detected {
  /** "json", "gzip+json". */
  kind: string;
  why: string;
  d: DecodedPayload;
  layers: DecodeLayer[];
}

function detect(b: Uint8Array, start: number, end: number, ctx: DecodeContext, depth: number, inflated: number): Detected {
  const notes: string[] = [];
  const c = depth < MAX_AUTO_LAYERS ? compression(b, start, end) : null;
  if (c !== null) {
    const r = unwrapLayer(c.layer, b, start, end, ctx.limits.maxInflatedBytes - inflated, ctx.limits.maxInflatedBytes);
    if (r.ok) {
      const layer: DecodeLayer = { format: c.layer, inBytes: end - start, outBytes: r.bytes.length };
      const innerCtx: DecodeContext = { tree: false, limits: ctx.limits, topic: ctx.topic };
      const inner = detect(r.bytes, 0, r.bytes.length, innerCtx, depth + 1, inflated + r.bytes.length);
      const d: DecodedPayload = { format: inner.d.format };
      if (inner.d.value !== undefined) d.value = inner.d.value;
      if (inner.d.cut !== undefined) d.cut = inner.d.cut;
      const layers = [layer, ...inner.layers];
      if (inner.d.error !== undefined) d.error = derivedError(inner.d.error, [layer]);
      return { kind: `${c.layer}+${inner.kind}`, why: `${c.why}; then ${inner.why}`, d, layers };
    }
    if (r.cut === true) {
      return { kind: c.layer, why: c.why, d: { format: c.layer, cut: [r.message] }, layers: [] };
    }
    notes.push(`${c.why} but it does not inflate: ${r.message}`);
  }
  const also = notes.length > 0 ? `; ${notes.join('; ')}` : '';
  const n = end - start;
  const plainCtx: DecodeContext = { tree: ctx.tree && depth === 0, limits: depth === 0 ? ctx.limits : innerLimits(ctx.limits, inflated), topic: ctx.topic };
  if (isJsonBytes(b, start, end)) return { kind: 'json', why: `valid JSON text${also}`, d: JSON_DECODER.decode(b, start, end, plainCtx), layers: [] };
  if (readsAsText(b, start, end)) return { kind: 'text', why: `UTF-8 without control characters${also}`, d: TEXT_DECODER.decode(b, start, end, plainCtx), layers: [] };
  const cbor = decodeCborValue(b, start, end, plainCtx.limits.maxDepth);
  if (cbor.ok) {
    const both = decodeMsgpackValue(b, start, end, plainCtx.limits).ok ? '; the bytes are also one MessagePack item, CBOR is tried first' : '';
    return { kind: 'cbor', why: `one well-formed CBOR item takes all ${n} bytes${both}${also}`, d: CBOR_DECODER.decode(b, start, end, plainCtx), layers: [] };
  }
  if (decodeMsgpackValue(b, start, end, plainCtx.limits).ok) {
    return { kind: 'msgpack', why: `one well-formed MessagePack item takes all ${n} bytes${also}`, d: MSGPACK_DECODER.decode(b, start, end, plainCtx), layers: [] };
  }
  if (isWellFormedUtf8(b, start, end)) return { kind: 'text', why: `UTF-8 with control characters${also}`, d: TEXT_DECODER.decode(b, start, end, plainCtx), layers: [] };
  return { kind: 'hex', why: `not gzip, zlib, JSON, UTF-8, CBOR or MessagePack${also}`, d: HEX_DECODER.decode(b, start, end, plainCtx), layers: [] };
}

export const AUTO_DECODER: PayloadDecoder = {
  decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload {
    const r = detect(b, start, end, ctx, 0, 0);
    const out: DecodedPayload = { format: 'auto', detected: `${r.kind} (${r.why})` };
    if (r.layers.length > 0) out.layers = r.layers;
    if (r.d.value !== undefined) out.value = r.d.value;
    if (r.d.cut !== undefined) out.cut = r.d.cut;
    if (r.d.error !== undefined) out.error = r.d.error;
    if (ctx.tree && r.layers.length > 0) out.nodes = [derivedNode({ ...r.d, detected: r.kind }, start, end - start, r.layers)];
    else if (ctx.tree && r.d.nodes !== undefined) out.nodes = r.d.nodes;
    return out;
  },
};
