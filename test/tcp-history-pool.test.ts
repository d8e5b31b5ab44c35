import { describe, expect, test } from 'vitest';
import { HistoryPool, MAX_RING_BYTES, MIN_RING_BYTES } from '../src/tcp/history-pool.js';

describe('HistoryPool', () => {
  test('rings of every size have that size and do not overlap', () => {
    const pool = new HistoryPool();
    const rings: Uint8Array[] = [];
    for (let size = MIN_RING_BYTES; size <= MAX_RING_BYTES; size *= 2) {
      for (let i = 0; i < 40; i++) rings.push(pool.take(size));
    }
    rings.forEach((r, i) => r.fill(i & 0xff));
    rings.forEach((r, i) => {
      expect(r.length).toBeGreaterThanOrEqual(MIN_RING_BYTES);
      expect(r.every((b) => b === (i & 0xff))).toBe(true);
    });
  });

  test('a returned ring is handed out again instead of a new one', () => {
    const pool = new HistoryPool();
    const a = pool.take(512);
    pool.give(a);
    expect(pool.take(512)).toBe(a);
    expect(pool.take(1024)).not.toBe(a);
  });

  test('free rings kept for reuse are bounded', () => {
    const pool = new HistoryPool();
    const rings: Uint8Array[] = [];
    for (let i = 0; i < 20_000; i++) rings.push(pool.take(MAX_RING_BYTES));
    for (const r of rings) pool.give(r);
    expect(pool.freeRingBytes).toBeLessThanOrEqual(16 * 1024 * 1024);
  });
});
