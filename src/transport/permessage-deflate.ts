/**
 * permessage-deflate (RFC 7692) for the WebSocket layer: what the handshake negotiated, and per direction the
 * inflating of compressed messages.
 *
 * A message is inflated whole, once its last frame is in, with Node's zlib (inflateRawSync on its payload plus
 * 00 00 ff ff, section 7.2.2). Context takeover (the default) means the sender's LZ77 window runs on from message to
 * message: the receiver's equivalent is to keep the tail of what earlier messages inflated to and hand it to zlib as
 * the preset dictionary of the next one. That is exact, because each message starts on a deflate block boundary (the
 * sync flush that ends the previous one) and a block depends on the earlier bytes only through back-references into
 * the window. zlib refuses a back-reference past the bytes it has ("invalid distance too far back"), so a window that
 * is not known (a capture that starts mid-stream, a message lost before) never yields wrong bytes: a message that
 * needs the unknown part fails, one that does not decodes exactly.
 */
import { constants, inflateRawSync } from 'node:zlib';
import type { HeldBytes } from '../tcp/types.js';
import { tokens } from './http.js';
import {
  DEFLATE_DEFAULT_WINDOW_BITS, DEFLATE_MIN_WINDOW_BITS, DEFLATE_PARAMS, DEFLATE_TAIL, PERMESSAGE_DEFLATE,
} from './websocket-tables.js';

/** What one sender (the client for c2s, the server for s2c) agreed to. */
export interface DeflateParams {
  /** The sender empties its window at each message (client_/server_no_context_takeover). */
  noContextTakeover: boolean;
  /** The sender's LZ77 window in bits (client_/server_max_window_bits), 8-15. */
  windowBits: number;
}

export interface NegotiatedDeflate {
  c2s: DeflateParams;
  s2c: DeflateParams;
}

/** What a sender does when nothing was negotiated or seen (a capture that starts after the handshake). */
export const DEFAULT_DEFLATE: DeflateParams = { noContextTakeover: false, windowBits: DEFLATE_DEFAULT_WINDOW_BITS };

function windowBits(value: string | undefined): number {
  if (value === undefined) return DEFLATE_DEFAULT_WINDOW_BITS;
  const n = Number.parseInt(value.replace(/^"|"$/g, ''), 10);
  // Out of range is the server's error; the largest window decodes whatever the sender really used.
  return Number.isInteger(n) && n >= DEFLATE_MIN_WINDOW_BITS && n <= DEFLATE_DEFAULT_WINDOW_BITS ? n : DEFLATE_DEFAULT_WINDOW_BITS;
}

/**
 * The permessage-deflate the server's Sec-WebSocket-Extensions accepted (its first permessage-deflate element and
 * that element's parameters), or null when it accepted none.
 */
export function negotiatedDeflate(extensions: string | undefined): NegotiatedDeflate | null {
  for (const element of tokens(extensions)) {
    const [name, ...rest] = element.split(';').map((p) => p.trim());
    if (name?.toLowerCase() !== PERMESSAGE_DEFLATE) continue;
    const params = new Map<string, string | undefined>();
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq < 0) params.set(p.toLowerCase(), undefined);
      else params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
    }
    return {
      c2s: { noContextTakeover: params.has(DEFLATE_PARAMS.clientNoContextTakeover), windowBits: windowBits(params.get(DEFLATE_PARAMS.clientMaxWindowBits)) },
      s2c: { noContextTakeover: params.has(DEFLATE_PARAMS.serverNoContextTakeover), windowBits: windowBits(params.get(DEFLATE_PARAMS.serverMaxWindowBits)) },
    };
  }
  return null;
}

export type InflateOutcome =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; reason: 'error' | 'message-cap'; message: string };

/** One direction's inflating: its sender's parameters and, with context takeover, the tail of the window. */
export class MessageInflater {
  /** The last bytes earlier messages inflated to, up to the window's size (empty without context takeover). */
  private window: Uint8Array = new Uint8Array(0);
  /**
   * Whether `window` is all the sender may refer back to: false when the messages before are not all known (a capture
   * that starts mid-stream, a message lost), until a message fills the window again.
   */
  windowKnown: boolean;
  /** Window bytes kept: zlib deflate widens an 8-bit window to 9 bits, so at least 512 (a sender may refer that far). */
  private readonly windowSize: number;

  constructor(readonly params: DeflateParams, windowKnown: boolean, private readonly held: HeldBytes) {
    this.windowKnown = windowKnown || params.noContextTakeover;
    this.windowSize = 1 << Math.max(params.windowBits, 9);
  }

  /** Inflates one message's payload (its frames' unmasked bytes joined), to at most `cap` bytes. */
  inflate(compressed: Uint8Array, cap: number): InflateOutcome {
    const input = new Uint8Array(compressed.length + DEFLATE_TAIL.length);
    input.set(compressed, 0);
    input.set(DEFLATE_TAIL, compressed.length);
    const dictionary = this.params.noContextTakeover || this.window.length === 0 ? undefined : this.window;
    let out: Uint8Array;
    try {
      // Z_SYNC_FLUSH: a message ends on a sync flush, not at the end of a deflate stream (no BFINAL needed).
      out = inflateRawSync(input, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, cap), ...(dictionary !== undefined ? { dictionary } : {}) });
    } catch (e) {
      const err = e as { code?: string; message?: string };
      const known = this.windowKnown;
      this.lose();
      if (err.code === 'ERR_BUFFER_TOO_LARGE') return { ok: false, reason: 'message-cap', message: `it inflates to more than ${cap} bytes (the cap)` };
      const why = err.message ?? String(e);
      const hint = /too far back/.test(why) && !known
        ? ': it refers back to earlier messages whose bytes this capture does not have'
        : /too far back/.test(why) ? `: it refers back past the ${this.params.windowBits}-bit window` : '';
      return { ok: false, reason: 'error', message: `zlib: ${why}${hint}` };
    }
    this.remember(out);
    return { ok: true, bytes: out };
  }

  /** A message of this direction was lost: the sender's window is no longer known (context takeover). */
  lose(): void {
    if (this.params.noContextTakeover) return;
    this.setWindow(new Uint8Array(0));
    this.windowKnown = false;
  }

  /** The direction ends: the window's bytes are given back. */
  release(): void {
    this.setWindow(new Uint8Array(0));
  }

  private remember(out: Uint8Array): void {
    if (this.params.noContextTakeover || out.length === 0) return;
    if (out.length >= this.windowSize) {
      this.setWindow(out.slice(out.length - this.windowSize));
      this.windowKnown = true;
      return;
    }
    const keep = Math.min(this.window.length, this.windowSize - out.length);
    const w = new Uint8Array(keep + out.length);
    w.set(this.window.subarray(this.window.length - keep), 0);
    w.set(out, keep);
    this.setWindow(w);
  }

  /** Window bytes count in the capture's held bytes; with no room the window is dropped (later messages may fail). */
  private setWindow(w: Uint8Array): void {
    const grow = w.length - this.window.length;
    if (grow > 0 && this.held.held + grow > this.held.limit) {
      this.held.held -= this.window.length;
      this.window = new Uint8Array(0);
      this.windowKnown = false;
      return;
    }
    this.held.held += grow;
    this.window = w;
  }
}
