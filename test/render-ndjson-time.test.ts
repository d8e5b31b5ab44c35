import { describe, expect, test } from 'vitest';
import { ByteOut } from '../src/render/bytes-out.js';
import { isoTime } from '../src/render/format.js';
import { writeIsoTime } from '../src/render/ndjson.js';

function written(sec: number, nsec: number): string {
  const chunks: Buffer[] = [];
  const w = new ByteOut((c) => chunks.push(c));
  writeIsoTime(w, sec, nsec);
  w.flush();
  return Buffer.concat(chunks).toString('latin1');
}

describe('NDJSON times are written as bytes exactly as isoTime() gives them', () => {
  const cases: [number, number][] = [
    [1_700_000_000, 0], [1_700_000_000, 123_000], [1_700_000_000, 999_999_000], [1_700_000_000, 1],
    [1_700_000_000, 999_999_999], [1_700_000_001, 5_000], [0, 0], [86_399, 42_000], [4_102_444_800, 7],
    // Outside what Date can show, and values no capture reader makes: the text form is isoTime's own.
    [1e15, 0], [Number.NaN, 0], [1_700_000_000, 1e9], [1_700_000_000, 0.5], [1_700_000_000, -1],
  ];
  for (const [sec, nsec] of cases) {
    test(`${sec} s ${nsec} ns`, () => {
      expect(written(sec, nsec)).toBe(isoTime(sec, nsec));
    });
  }

  test('the second changing between packets and back', () => {
    for (const [sec, nsec] of [[10, 1000], [11, 2000], [10, 3000], [10, 3001]] as const) expect(written(sec, nsec)).toBe(isoTime(sec, nsec));
  });
});
