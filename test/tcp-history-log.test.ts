import { describe, expect, test } from 'vitest';
import { HistoryLog, LOG_BYTES, MAX_RECORD_BYTES, MAX_RECORDS_WALKED } from '../src/tcp/history-log.js';

const bytes = (n: number, f: (i: number) => number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => f(i) & 0xff);

describe('HistoryLog', () => {
  test('a retransmission spanning several records is compared byte for byte with each', () => {
    const log = new HistoryLog();
    let last = -1;
    // One direction delivers 3 segments of 100 bytes from seq 1000; another direction's records come in between.
    let other = -1;
    for (let k = 0; k < 3; k++) {
      last = log.append(last, 1000 + 100 * k, bytes(100, (i) => k * 100 + i));
      other = log.append(other, 5000 + 50 * k, bytes(50, () => 0xee));
    }
    const same = bytes(250, (i) => 50 + i);
    expect({ ...log.compare(last, 1050, same, 250) }).toEqual({ compared: 250, differ: 0 });
    const changed = same.slice();
    changed[0] = 0; // seq 1050, in the first record
    changed[200] = 1; // seq 1250, in the third
    expect({ ...log.compare(last, 1050, changed, 250) }).toEqual({ compared: 250, differ: 2 });
  });

  test('only captured bytes are compared, and bytes never delivered are not', () => {
    const log = new HistoryLog();
    const last = log.append(-1, 100, bytes(10, (i) => i));
    // 30 bytes claimed from seq 95, of which 20 captured: 95..99 were never delivered, 100..109 were, 110..114 not.
    expect({ ...log.compare(last, 95, bytes(20, (i) => i - 5), 30) }).toEqual({ compared: 10, differ: 0 });
  });

  test('sequence numbers that wrap past 2^32 still line up', () => {
    const log = new HistoryLog();
    const start = 0xffffff00;
    const last = log.append(-1, start, bytes(512, (i) => i * 7));
    const again = bytes(512, (i) => i * 7);
    again[300] ^= 1;
    expect({ ...log.compare(last, start, again, 512) }).toEqual({ compared: 512, differ: 1 });
  });

  test('records overwritten as the log wraps are not compared', () => {
    const log = new HistoryLog();
    const mine = log.append(-1, 0, bytes(100, () => 1));
    let other = -1;
    for (let written = 0; written < LOG_BYTES; written += MAX_RECORD_BYTES) other = log.append(other, written, new Uint8Array(MAX_RECORD_BYTES));
    expect({ ...log.compare(mine, 0, bytes(100, () => 2), 100) }).toEqual({ compared: 0, differ: 0 });
    // The newest records still are.
    expect(log.compare(other, (LOG_BYTES - MAX_RECORD_BYTES) >>> 0, new Uint8Array(10), 10).compared).toBe(10);
  });

  test('the log grows as it fills: a short stream allocates little, and records written before a growth still compare', () => {
    const log = new HistoryLog();
    const first = log.append(-1, 0, bytes(1000, (i) => i * 3));
    expect(log.allocated).toBeGreaterThan(0);
    expect(log.allocated).toBeLessThanOrEqual(LOG_BYTES / 64);
    // 3 MB more, in records of 1,000 bytes: several doublings.
    let other = -1;
    for (let k = 0; k < 3000; k++) other = log.append(other, 10_000 + 1000 * k, bytes(1000, (i) => i + k));
    expect(log.allocated).toBeGreaterThanOrEqual(3_000_000);
    expect(log.allocated).toBeLessThanOrEqual(LOG_BYTES);
    const changed = bytes(1000, (i) => i * 3);
    changed[999] ^= 1;
    expect({ ...log.compare(first, 0, changed, 1000) }).toEqual({ compared: 1000, differ: 1 });
    expect({ ...log.compare(other, 10_000 + 1000 * 2999, bytes(1000, (i) => i + 2999), 1000) }).toEqual({ compared: 1000, differ: 0 });
  });

  test('a segment larger than a record keeps its tail', () => {
    const log = new HistoryLog();
    const big = bytes(MAX_RECORD_BYTES + 1000, (i) => i);
    const last = log.append(-1, 0, big);
    expect(log.compare(last, 0, big, big.length).compared).toBe(MAX_RECORD_BYTES);
  });

  test('the walk back is bounded', () => {
    const log = new HistoryLog();
    let last = -1;
    for (let k = 0; k < MAX_RECORDS_WALKED * 2; k++) last = log.append(last, k, new Uint8Array(1));
    // A retransmission of everything: only the newest MAX_RECORDS_WALKED records are looked at.
    expect(log.compare(last, 0, new Uint8Array(MAX_RECORDS_WALKED * 2), MAX_RECORDS_WALKED * 2).compared).toBe(MAX_RECORDS_WALKED);
  });
});
