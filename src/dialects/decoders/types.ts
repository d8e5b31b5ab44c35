/**
 * The payload decoder interface (--decode TOPIC-FILTER=FORMAT, docs/decoders.md): what every format's decoder gets and
 * returns, and the bounds every one of them keeps. Decoders are pure functions of the payload bytes: they never
 * throw (the dispatcher catches anyway and reports a decoder that does), never allocate because a length in the
 * bytes says so, and say what a limit cut instead of cutting silently.
 */
import type { FieldNode } from '../../mqtt/types.js';

/** The bounds of one payload's decoding. */
export interface DecodeLimits {
  /** Payload bytes a decoder reads: a longer payload is not decoded, and the cut says so. */
  readonly maxInputBytes: number;
  /** Bytes gzip, zlib and deflate may inflate to, over every layer of one payload (zlib's maxOutputLength). */
  readonly maxInflatedBytes: number;
  /** Containers (arrays, maps, tags, objects) nested in one another. */
  readonly maxDepth: number;
  /** Values kept in a decoded value, and tree nodes built for it. */
  readonly maxItems: number;
}

/**
 * The defaults, declared once. cbor-x and @msgpack/msgpack have no time budget (neither does JSON.parse nor zlib's
 * sync calls), so decoding is bounded by size and depth only: every decoder's work is linear in its input, whose
 * size these limits cap.
 */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  maxInputBytes: 1024 * 1024,
  maxInflatedBytes: 4 * 1024 * 1024,
  maxDepth: 64,
  maxItems: 10_000,
});

export interface DecodeContext {
  /** Build tree nodes (-V, -x). Chained decoders call the next one without: its bytes are not the packet's. */
  readonly tree: boolean;
  readonly limits: DecodeLimits;
  /** The PUBLISH's topic (resolved through a Topic Alias when the rules stage knew it). */
  readonly topic: string;
}

/** One layer a chained format took off before the last one decoded (base64, gzip, zlib, deflate). */
export interface DecodeLayer {
  readonly format: string;
  /** Bytes that went in and came out. */
  readonly inBytes: number;
  readonly outBytes: number;
}

/** What a decoder made of one payload. Every key but `format` is optional; `nodes` never reaches the JSON output. */
export interface DecodedPayload {
  /** The format that decoded it, as the binding names it (`cbor`, `gzip+json`, `auto`). */
  format: string;
  /** auto (and base64 or a compression on its own): what was detected and from what, e.g. `gzip+json (magic 1f 8b)`. */
  detected?: string;
  /** The layers a chain took off, outermost first. */
  layers?: DecodeLayer[];
  /**
   * The decoded value as plain JSON data: objects, arrays, strings, finite numbers, booleans, null. Integers beyond
   * 2^53 are decimal strings, bytes are hex strings (see value.ts for every conversion).
   */
  value?: unknown;
  /**
   * Tree nodes for -V and -x, with offsets and lengths within the packet's bytes (rec.bytes). Where the bytes the
   * value came from are not the packet's (inflated, base64-decoded), one node covers the whole payload and says so.
   */
  nodes?: FieldNode[];
  /** What a limit cut, one sentence each. */
  cut?: string[];
  /** Why decoding failed (a value may still be given, e.g. text with invalid sequences replaced). */
  error?: { message: string; offset?: number };
}

export interface PayloadDecoder {
  /**
   * Decodes bytes[start, end): the PUBLISH payload within the packet's bytes (offsets in what it returns are then
   * packet offsets), or for a chained format the previous layer's output (ctx.tree is then false).
   */
  decode(bytes: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload;
}

/**
 * A format whose decoder depends on its arguments (`protobuf:FILE.proto:Type` has two): called once per binding at
 * startup, in each thread that decodes. Throwing an Error gives the one-line usage error for that binding (a .proto
 * that does not parse, a message type it does not declare).
 */
export type PayloadFormatFactory = (args: readonly string[]) => PayloadDecoder;
