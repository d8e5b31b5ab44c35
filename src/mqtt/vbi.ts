/** Variable Byte Integer (Remaining Length, Property Length, property ids, Subscription Identifier). */

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

export function decodeVbi(bytes: Uint8Array, offset: number, end: number = bytes.length): VbiResult {
  let value = 0;
  let mult = 1;
  for (let i = 0; i < 4; i++) {
    const p = offset + i;
    if (p >= end) return { value, length: i, complete: false, overlong: false, nonMinimal: false };
    const c = bytes[p]!;
    value += (c & 0x7f) * mult;
    if ((c & 0x80) === 0) {
      return { value, length: i + 1, complete: true, overlong: false, nonMinimal: i > 0 && c === 0 };
    }
    mult *= 128;
  }
  return { value, length: 4, complete: true, overlong: true, nonMinimal: false };
}

/** Bytes the minimal encoding of `value` takes (1..4). */
export function vbiSize(value: number): number {
  return value < 128 ? 1 : value < 16384 ? 2 : value < 2097152 ? 3 : 4;
}
