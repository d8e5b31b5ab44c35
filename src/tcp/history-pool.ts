/**
 * Rings for the retransmission history of each stream direction, handed out from shared slabs.
 *
 * Every delivered byte is copied into its direction's ring (so a later retransmission can be compared with what was
 * delivered). Allocating those rings one by one cost more than the copying: a fresh Uint8Array above 64 bytes is an
 * ArrayBuffer with its own backing store, and thousands of connections each growing 256 -> 512 -> 1024 -> 2048 made
 * ~30,000 of them per 50 MB of capture (0.14 s of the TCP stage's 0.6 s, measured with the pipeline cut after TCP).
 * Here a ring is a view of a 64 KiB slab, made once and reused through a free list per size; nothing is allocated
 * while connections come and go at a steady rate.
 */

/** Ring sizes: powers of two from MIN_RING_BYTES to MAX_RING_BYTES. */
export const MIN_RING_BYTES = 256;
export const MAX_RING_BYTES = 2048;
const SLAB_BYTES = 64 * 1024;
/**
 * Free rings kept for reuse, in bytes over all sizes. Past it, returned rings are dropped (a slab is freed once all its
 * rings are), so a burst of connections does not pin its peak memory for the rest of the capture.
 */
const MAX_FREE_BYTES = 16 * 1024 * 1024;

function sizeClass(size: number): number {
  // 256 -> 0, 512 -> 1, 1024 -> 2, 2048 -> 3.
  return 31 - Math.clz32(size) - 8;
}

export class HistoryPool {
  private readonly free: Uint8Array[][] = [];
  private freeBytes = 0;

  constructor() {
    for (let s = MIN_RING_BYTES; s <= MAX_RING_BYTES; s *= 2) this.free.push([]);
  }

  /** A zero-based ring of `size` bytes (a power of two from MIN_RING_BYTES to MAX_RING_BYTES); its contents are stale. */
  take(size: number): Uint8Array {
    const list = this.free[sizeClass(size)]!;
    const ring = list.pop();
    if (ring !== undefined) {
      this.freeBytes -= size;
      return ring;
    }
    const slab = new ArrayBuffer(SLAB_BYTES);
    // One ring goes out now, the rest of the slab waits in the free list.
    for (let off = size; off < SLAB_BYTES; off += size) list.push(new Uint8Array(slab, off, size));
    this.freeBytes += SLAB_BYTES - size;
    return new Uint8Array(slab, 0, size);
  }

  give(ring: Uint8Array): void {
    if (this.freeBytes + ring.length > MAX_FREE_BYTES) return;
    this.free[sizeClass(ring.length)]!.push(ring);
    this.freeBytes += ring.length;
  }

  /** Bytes of rings waiting for reuse. */
  get freeRingBytes(): number {
    return this.freeBytes;
  }
}
