/**
 * Variable Byte Integer (Remaining Length, Property Length, property ids, Subscription Identifier): the one reader
 * every part of the MQTT stage uses.
 */

export interface VbiResult {
  /** Decoded value; meaningful only when `complete && !overlong`. */
  value: number;
  /** Bytes consumed (1..4), or the bytes available when the encoding is cut off. */
  length: number;
  /**
   * True when no more input is needed to decide: the terminating byte was found, or 4 bytes were
   * read and the 4th still had its continuation bit (then `overlong` is set too).
   */
  complete: boolean;
  /** A 4th byte with the continuation bit set: the encoding would need 5+ bytes, which MQTT forbids. */
  overlong: boolean;
  /** Multi-byte encoding whose last byte is 0x00 (e.g. `80 00` for 0): not the fewest bytes. */
  nonMinimal: boolean;
}

/**
 * The result of the latest readVbi() call. One shared object, so that reading a length on the hot path allocates
 * nothing: copy what you need before the next call.
 */
const last: VbiResult = { value: 0, length: 0, complete: false, overlong: false, nonMinimal: false };

/** Reads a Variable Byte Integer at `offset` (bytes up to `end`); the result is valid until the next call. */
export function readVbi(bytes: Uint8Array, offset: number, end: number = bytes.length): Readonly<VbiResult> {
  let value = 0;
  let mult = 1;
  for (let i = 0; i < 4; i++) {
    const p = offset + i;
    if (p >= end) return set(value, i, false, false, false);
    const c = bytes[p]!;
    value += (c & 0x7f) * mult;
    if ((c & 0x80) === 0) return set(value, i + 1, true, false, i > 0 && c === 0);
    mult *= 128;
  }
  return set(value, 4, true, true, false);
}

function set(value: number, length: number, complete: boolean, overlong: boolean, nonMinimal: boolean): VbiResult {
  last.value = value;
  last.length = length;
  last.complete = complete;
  last.overlong = overlong;
  last.nonMinimal = nonMinimal;
  return last;
}

/** readVbi as a fresh object, for callers that keep the result (not on the hot path). */
export function decodeVbi(bytes: Uint8Array, offset: number, end: number = bytes.length): VbiResult {
  return { ...readVbi(bytes, offset, end) };
}

/** Bytes the minimal encoding of `value` takes (1..4). */
export function vbiSize(value: number): number {
  return value < 128 ? 1 : value < 16384 ? 2 : value < 2097152 ? 3 : 4;
}
