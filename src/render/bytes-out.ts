/**
 * Output built straight into bytes: a growable window of a 64 KiB buffer that the CLI drains to stdout. The NDJSON
 * writer puts keys (precomputed), numbers (digit by digit) and escaped strings directly into it, so no line is ever a
 * JavaScript string that then has to be encoded again.
 *
 * JSON strings are escaped exactly as `JSON.stringify` does, and additionally every character that is valid JSON but
 * unsafe on a terminal (the characters of unsafe.ts beyond C0: DEL, C1, format characters, line and paragraph separators) is written as a
 * \u escape: the parsed value is identical, and `mqtt-dissect --json | less` cannot be hijacked.
 */

import { isTerminalUnsafe, UNSAFE_BMP } from './unsafe.js';

/** Where filled buffers go (the CLI's stdout writer). The writer never reuses a buffer it handed over. */
export type Drain = (chunk: Buffer) => void;

const DEFAULT_SIZE = 64 * 1024;
/** Writers ask for room in steps no larger than this, so a huge value is written in pieces. */
const STEP = 4096;

const HEX = '0123456789abcdef';
const HEX_CODES = Uint8Array.from(HEX, (c) => c.charCodeAt(0));

/** Characters JSON allows raw that a terminal must not see raw: the one list of unsafe.ts (BMP part). */
function terminalUnsafe(c: number): boolean {
  return UNSAFE_BMP[c] === 1;
}

export class ByteOut {
  buf: Buffer;
  pos = 0;
  private readonly size: number;

  constructor(private readonly drain: Drain, size = DEFAULT_SIZE) {
    this.size = size;
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Bytes waiting in the buffer. */
  get pending(): number {
    return this.pos;
  }

  /** Hands the filled part over and starts a fresh buffer (the receiver may still hold the old one). */
  flush(): void {
    if (this.pos === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size);
    this.pos = 0;
    this.drain(chunk);
  }

  /** Makes room for n more bytes (n <= the buffer size). */
  room(n: number): void {
    if (this.pos + n > this.buf.length) this.flush();
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.flush();
    this.buf[this.pos++] = c;
  }

  /** Bytes prepared in advance (keys, fixed fragments). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n > this.buf.length - this.pos) {
      this.flush();
      if (n > this.buf.length) {
        this.drain(Buffer.from(bytes));
        return;
      }
    }
    this.buf.set(bytes, this.pos);
    this.pos += n;
  }

  /** A string known to be plain ASCII (numbers, times, names we made): one byte per character. */
  ascii(s: string): void {
    const n = s.length;
    if (n > this.buf.length - this.pos) {
      this.flush();
      if (n > this.buf.length) {
        this.drain(Buffer.from(s, 'latin1'));
        return;
      }
    }
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Any string as UTF-8, unescaped (text lines). */
  utf8(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    const max = s.length * 3;
    if (max > this.buf.length - this.pos) {
      this.flush();
      if (max > this.buf.length) {
        this.drain(Buffer.from(s, 'utf8'));
        return;
      }
    }
    this.pos += this.buf.write(s, this.pos);
  }

  /** A non-negative integer below 2^53, digit by digit; anything else the way JSON.stringify writes numbers. */
  num(n: number): void {
    if (n >= 0 && n < 1e15 && Math.floor(n) === n) {
      if (n < 10) {
        this.byte(0x30 + n);
        return;
      }
      this.room(16);
      const b = this.buf;
      let digits = 1;
      for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
      let p = this.pos + digits;
      this.pos = p;
      let t = n;
      do {
        const q = Math.floor(t / 10);
        b[--p] = 0x30 + (t - q * 10);
        t = q;
      } while (t > 0);
      return;
    }
    this.ascii(Number.isFinite(n) ? String(n) : 'null');
  }

  /** A non-negative integer below 2^31 as exactly `width` digits (at most 10), zero-padded on the left. */
  padded(n: number, width: number): void {
    this.room(width);
    const b = this.buf;
    let p = this.pos + width;
    this.pos = p;
    let t = n;
    for (let k = 0; k < width; k++) {
      const q = (t / 10) | 0;
      b[--p] = 0x30 + (t - q * 10);
      t = q;
    }
  }

  /** A JSON string (quotes included) for any JavaScript string. */
  jsonString(s: string): void {
    this.room(2);
    this.buf[this.pos++] = 0x22;
    const n = s.length;
    let i = 0;
    while (i < n) {
      this.room(STEP);
      const b = this.buf;
      let p = this.pos;
      const stop = Math.min(n, i + (STEP >> 3));
      while (i < stop) {
        const c = s.charCodeAt(i);
        if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) {
          b[p++] = c;
          i++;
          continue;
        }
        if (c < 0x80) {
          p = escapeAscii(b, p, c);
          i++;
          continue;
        }
        if (c <= 0x9f || terminalUnsafe(c)) {
          p = uEscape(b, p, c);
          i++;
          continue;
        }
        if (c < 0x800) {
          b[p++] = 0xc0 | (c >> 6);
          b[p++] = 0x80 | (c & 0x3f);
          i++;
          continue;
        }
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
            const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            if (isTerminalUnsafe(cp)) {
              p = uEscape(b, p, c);
              p = uEscape(b, p, d);
              i += 2;
              continue;
            }
            b[p++] = 0xf0 | (cp >> 18);
            b[p++] = 0x80 | ((cp >> 12) & 0x3f);
            b[p++] = 0x80 | ((cp >> 6) & 0x3f);
            b[p++] = 0x80 | (cp & 0x3f);
            i += 2;
            continue;
          }
          // A lone surrogate: JSON.stringify writes it as an escape.
          p = uEscape(b, p, c);
          i++;
          continue;
        }
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 0x3f);
        b[p++] = 0x80 | (c & 0x3f);
        i++;
      }
      this.pos = p;
    }
    this.byte(0x22);
  }

  /**
   * A JSON string for bytes known to be well-formed UTF-8 (as a payload that reads as text is): the same bytes as
   * jsonString() of their decoded text, without making the text.
   */
  jsonUtf8(src: Uint8Array, start: number, end: number): void {
    this.room(2);
    this.buf[this.pos++] = 0x22;
    let i = start;
    while (i < end) {
      this.room(STEP);
      const b = this.buf;
      let p = this.pos;
      // Each input byte becomes at most 6 output bytes (\u00XX); a multi-byte character at most 6 for its 3 bytes.
      const stop = Math.min(end, i + (STEP >> 3));
      while (i < stop) {
        const c = src[i]!;
        if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) {
          b[p++] = c;
          i++;
          continue;
        }
        if (c < 0x80) {
          p = escapeAscii(b, p, c);
          i++;
          continue;
        }
        // Decode one character to see whether it must be escaped; otherwise copy its bytes.
        let len: number;
        let cp: number;
        if (c < 0xe0) {
          len = 2;
          cp = ((c & 0x1f) << 6) | (src[i + 1]! & 0x3f);
        } else if (c < 0xf0) {
          len = 3;
          cp = ((c & 0x0f) << 12) | ((src[i + 1]! & 0x3f) << 6) | (src[i + 2]! & 0x3f);
        } else {
          len = 4;
          cp = ((c & 0x07) << 18) | ((src[i + 1]! & 0x3f) << 12) | ((src[i + 2]! & 0x3f) << 6) | (src[i + 3]! & 0x3f);
        }
        if (len === 4) {
          if (isTerminalUnsafe(cp)) {
            p = uEscape(b, p, 0xd800 + ((cp - 0x10000) >> 10));
            p = uEscape(b, p, 0xdc00 + ((cp - 0x10000) & 0x3ff));
          } else {
            for (let k = 0; k < 4; k++) b[p++] = src[i + k]!;
          }
        } else if (cp <= 0x9f || terminalUnsafe(cp)) {
          p = uEscape(b, p, cp);
        } else {
          for (let k = 0; k < len; k++) b[p++] = src[i + k]!;
        }
        i += len;
      }
      this.pos = p;
    }
    this.byte(0x22);
  }

  /** Lowercase hex of bytes, no separators. */
  hex(src: Uint8Array, start: number, end: number): void {
    let i = start;
    while (i < end) {
      this.room(STEP);
      const b = this.buf;
      let p = this.pos;
      const stop = Math.min(end, i + (STEP >> 1));
      for (; i < stop; i++) {
        const v = src[i]!;
        b[p++] = HEX_CODES[v >> 4]!;
        b[p++] = HEX_CODES[v & 15]!;
      }
      this.pos = p;
    }
  }
}

/** The JSON escape of an ASCII character that may not appear raw in a JSON string (or, for DEL, on a terminal). */
function escapeAscii(b: Buffer, p: number, c: number): number {
  switch (c) {
    case 0x22: b[p++] = 0x5c; b[p++] = 0x22; return p;
    case 0x5c: b[p++] = 0x5c; b[p++] = 0x5c; return p;
    case 0x08: b[p++] = 0x5c; b[p++] = 0x62; return p;
    case 0x0c: b[p++] = 0x5c; b[p++] = 0x66; return p;
    case 0x0a: b[p++] = 0x5c; b[p++] = 0x6e; return p;
    case 0x0d: b[p++] = 0x5c; b[p++] = 0x72; return p;
    case 0x09: b[p++] = 0x5c; b[p++] = 0x74; return p;
    default: return uEscape(b, p, c);
  }
}

/** \uXXXX with lowercase hex digits, as JSON.stringify writes controls. */
function uEscape(b: Buffer, p: number, c: number): number {
  b[p++] = 0x5c;
  b[p++] = 0x75;
  b[p++] = HEX_CODES[(c >> 12) & 15]!;
  b[p++] = HEX_CODES[(c >> 8) & 15]!;
  b[p++] = HEX_CODES[(c >> 4) & 15]!;
  b[p++] = HEX_CODES[c & 15]!;
  return p;
}

/** Bytes of an ASCII fragment, prepared once. */
export function fragment(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}
