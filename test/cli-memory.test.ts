/** The CLI's memory policy (src/cli/memory.ts): a full collection when usage passes the budget, never one per chunk. */
import { describe, expect, it } from 'vitest';
import { MemoryGuard } from '../src/cli/memory.js';

const MB = 1024 * 1024;

describe('MemoryGuard', () => {
  it('collects once usage passes the budget, and only on every eighth chunk', () => {
    let usage = 50 * MB;
    let collections = 0;
    const guard = new MemoryGuard(96 * MB, () => usage, () => {
      collections++;
      usage = 30 * MB;
    });
    for (let i = 0; i < 8; i++) guard.afterChunk(); // chunk 8 is a check: 50 MB is within budget
    usage = 120 * MB;
    for (let i = 0; i < 7; i++) guard.afterChunk(); // chunks 9-15: no check
    expect(collections).toBe(0);
    guard.afterChunk(); // chunk 16: a check, over budget
    expect(collections).toBe(1);
    expect(usage).toBe(30 * MB);
  });

  it('raises the budget instead of collecting on every check when the live state is really that big', () => {
    let collections = 0;
    const guard = new MemoryGuard(96 * MB, () => 150 * MB, () => collections++);
    for (let i = 0; i < 8 * 20; i++) guard.afterChunk();
    // 150 MB stays in use: one collection, then the budget moves to 150 + 64 MB.
    expect(collections).toBe(1);
  });

  it('waits for new allocation of half the surviving size (at most 64 MB) after a collection, also when what survives is just under the budget', () => {
    // A live state of 95 MB under a 96 MB budget, 2 MB of garbage per check (8 chunks): keeping the budget where it
    // was would collect on every check. Each collection must instead be followed by 47.5 MB of allocation.
    const live = 95 * MB;
    let usage = live;
    let collections = 0;
    const guard = new MemoryGuard(96 * MB, () => usage, () => { collections++; usage = live; });
    const checks = 320;
    for (let i = 0; i < checks; i++) {
      usage += 2 * MB;
      for (let k = 0; k < 8; k++) guard.afterChunk();
    }
    // 640 MB of garbage, a collection per 48 MB of it (24 checks): 13, plus the first one at the original budget.
    expect(collections).toBeLessThanOrEqual(14);
    expect(collections).toBeGreaterThanOrEqual(12);
  });

  it('leaves the budget alone when what survives is small', () => {
    let usage = 40 * MB;
    let collections = 0;
    const guard = new MemoryGuard(96 * MB, () => usage, () => { collections++; usage = 40 * MB; });
    // 8 MB of garbage per check: from 40 MB the 96 MB budget is passed on every 8th check (104 MB), as before.
    for (let i = 0; i < 70; i++) {
      usage += 8 * MB;
      for (let k = 0; k < 8; k++) guard.afterChunk();
    }
    expect(collections).toBe(8);
  });

  it('does nothing when the runtime offers no collection', () => {
    const guard = new MemoryGuard(1, () => 1e12, null);
    for (let i = 0; i < 64; i++) guard.afterChunk();
    expect(guard.collections).toBe(0);
  });

  it('reaches node\'s full collection without a command-line flag', () => {
    const guard = new MemoryGuard(0);
    for (let i = 0; i < 8; i++) guard.afterChunk();
    expect(guard.collections).toBe(1);
  });
});
