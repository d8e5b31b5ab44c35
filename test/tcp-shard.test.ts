/** --shard's hash of the 4-tuple (src/tcp/shard.ts): symmetric, stable, well mixed where a port sum is not. */
import { describe, expect, test } from 'vitest';
import { addressWord, shardOfTuple } from '../src/tcp/shard.js';
import { parseIpv4, parseIpv6 } from './builders/frames.js';

/** The documented formula over address bytes, written independently of the implementation's text parsing. */
function reference(src: Uint8Array, dst: Uint8Array, sp: number, dp: number, n: number): number {
  let a = 0;
  for (const b of [src, dst]) for (let i = 0; i < b.length; i += 4) a = (a ^ (((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0)) >>> 0;
  const x = (a ^ Number((BigInt(sp ^ dp) * 0x9e3779b1n) % 2n ** 32n)) >>> 0;
  return Number(((BigInt(x) * 0x85ebca6bn) % 2n ** 32n) >> 16n) % n;
}

describe('shard hash', () => {
  test('Linux-like even client ports to 1883 spread over both of two shards (a port sum puts them all in one)', () => {
    const counts = [0, 0];
    for (let p = 32768; p < 61000; p += 2) counts[shardOfTuple('192.168.1.20', '192.168.1.1', p, 1883, 2)]!++;
    const total = counts[0]! + counts[1]!;
    for (const c of counts) expect(c / total).toBeGreaterThan(0.45);
  });

  test('every shard of 2..16 gets its share of clients on one port from many addresses', () => {
    for (let n = 2; n <= 16; n++) {
      const counts = new Array<number>(n).fill(0);
      for (let i = 0; i < 4096; i++) counts[shardOfTuple(`10.1.${i >> 8}.${i & 255}`, '10.0.0.1', 50000, 1883, n)]!++;
      for (const c of counts) expect(c).toBeGreaterThan((4096 / n) * 0.75);
    }
  });

  test('the same both ways round, and equal to the documented formula (IPv4 and IPv6)', () => {
    const cases: [string, string, number, number][] = [
      ['198.51.100.10', '198.51.100.1', 41000, 1883], ['10.0.0.2', '10.0.0.1', 1, 65535], ['0.0.0.0', '255.255.255.255', 0, 0],
      ['2001:db8::10', '2001:db8::1', 42002, 1883], ['fe80::1:2:3:4', '::1', 5, 6], ['::ffff:10.0.0.1', '2001:db8:0:0:1::7', 7, 8],
    ];
    for (const [a, b, p, q] of cases) {
      const bytes = (s: string) => (s.includes(':') ? parseIpv6(s) : parseIpv4(s));
      for (const n of [2, 3, 4, 7, 1024]) {
        expect(shardOfTuple(a, b, p, q, n)).toBe(shardOfTuple(b, a, q, p, n));
        expect(shardOfTuple(a, b, p, q, n)).toBe(reference(bytes(a), bytes(b), p, q, n));
      }
    }
    expect(addressWord('1.2.3.4')).toBe(0x01020304);
  });
});
