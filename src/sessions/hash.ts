/** FNV-1a, 32 bit, over bytes [start, end): cheap, and enough to tell payloads apart together with topic and length. */
export function fnv1a(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function hashHex(h: number): string {
  return h.toString(16).padStart(8, '0');
}
