/*
 * TCP sequence arithmetic modulo 2^32. Values are kept as unsigned 32-bit numbers; comparisons go
 * through the signed 32-bit difference, which is correct as long as the two values are less than
 * 2^31 apart (always true within a TCP window).
 */

/** a - b as a signed 32-bit number: positive when a is after b. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
