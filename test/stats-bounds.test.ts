/** The statistics stay bounded: histogram error, capped tables that say so, time buckets that widen (src/render/stats/). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PacketRecord } from '../src/mqtt/connection-decoder.js';
import { decodePacket } from '../src/mqtt/decoder.js';
import { LogHistogram, RELATIVE_ERROR } from '../src/render/stats/histogram.js';
import { MAX_UNACKED_LISTED } from '../src/render/stats/pairing.js';
import { Buckets, bump } from '../src/render/stats/series.js';
import { MAX_KEYS, StatsCollector } from '../src/render/stats/stats.js';
import type { Connection, Direction } from '../src/tcp/types.js';
import { endAt } from './builders/frames.js';
import { connect, publish } from './builders/mqtt-bytes.js';
import { makeConn } from './builders/rules-harness.js';
import { nearestRank } from './builders/stats-capture.js';

describe('LogHistogram', () => {
  it('every percentile is within the stated relative error of the exact nearest-rank value; min and max exact', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.double({ min: 0.001, max: 1, noNaN: true }), (values, p) => {
      const h = new LogHistogram();
      for (const v of values) h.add(v);
      const exact = nearestRank(values, p);
      const got = h.quantile(p)!;
      expect(Math.abs(got - exact)).toBeLessThanOrEqual(exact * RELATIVE_ERROR + 1e-12);
      expect(h.quantile(1)).toBe(Math.max(...values));
      expect(h.count).toBe(values.length);
    }), { numRuns: 300 });
    expect(RELATIVE_ERROR).toBeLessThan(0.011);
  });

  it('whole numbers up to 45 come back exact once rounded; memory is buckets in use, not values', () => {
    const h = new LogHistogram();
    const values: number[] = [];
    for (let i = 0; i < 100_000; i++) values.push(i % 46);
    for (const v of values) h.add(v);
    for (const p of [0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) expect(Math.round(h.quantile(p)!)).toBe(nearestRank(values, p));
    expect(h.size).toBeLessThanOrEqual(46);
    expect(new LogHistogram().quantile(0.5)).toBeNull();
  });
});

describe('Buckets', () => {
  it('doubles the width past the bucket count and merges every series pairwise', () => {
    const b = new Buckets(1, 4);
    const s = b.register();
    for (const t of [0, 1, 2, 3]) bump(s, b.index(100 + t, 0));
    expect(s).toEqual([1, 1, 1, 1]);
    bump(s, b.index(104, 500_000_000));
    expect(b.width).toBe(2);
    expect(s).toEqual([2, 2, 1]);
    bump(s, b.index(115, 0));
    expect(b.width).toBe(4);
    expect(s.reduce((n, x) => n + x, 0)).toBe(6);
    expect(s.length).toBeLessThanOrEqual(4);
    // Before the origin: the first bucket.
    expect(b.index(90, 0)).toBe(0);
  });
});

let frame = 0;
function rec(conn: Connection, dir: Direction, bytes: Uint8Array, t: number): PacketRecord {
  return {
    conn, dir, frame: ++frame, frames: [frame], timeSec: t, timeNsec: 0, bytes, decoded: decodePacket(bytes, { level: 4, dir, tree: false }),
    levelInferred: false, streamOffset: 0, violations: [],
  };
}

function feed(s: StatsCollector, r: PacketRecord): void {
  s.observer.packet(r);
  s.counted.packet(r);
}

describe('capped tables', () => {
  it('topics past the cap count in one row that the table names', () => {
    const s = new StatsCollector({ section: 'topics' });
    const c = makeConn(0);
    s.observer.open(c);
    s.counted.open(c);
    feed(s, rec(c, 'c2s', connect({ clientId: 'many' }), 1));
    for (let i = 0; i < MAX_KEYS + 5; i++) feed(s, rec(c, 'c2s', publish({ topic: `t/${i}`, payload: 'x' }), 1));
    const [t] = s.tables();
    expect(t!.rows.length).toBe(MAX_KEYS + 1);
    const other = t!.rows.find((r) => String(r.topic).startsWith('(other topics'))!;
    expect(other.messages).toBe(5);
    expect(t!.notes.join(' ')).toContain(String(other.topic));
  });

  it('unacknowledged flows: all counted, the first 1,000 listed, the cut said', () => {
    const s = new StatsCollector({ section: 'qos-flows' });
    const c = makeConn(1);
    s.observer.open(c);
    feed(s, rec(c, 'c2s', connect({ clientId: 'lossy' }), 1));
    const n = MAX_UNACKED_LISTED + 7;
    for (let i = 1; i <= n; i++) feed(s, rec(c, 'c2s', publish({ topic: 'a', qos: 1, packetId: i, payload: 'x' }), 2));
    expect(s.pairing!.openCount).toBe(n);
    const end = endAt(++frame, 3, 'fin', 'c2s');
    s.observer.close(c, end);
    s.close(c, end, true);
    expect(s.pairing!.openCount).toBe(0);
    const [states, unacked] = s.tables();
    expect(states!.rows.find((r) => r.qos === 1 && r.dir === 'c2s' && r.state === 'no PUBACK')!.count).toBe(n);
    expect(unacked!.rows.length).toBe(MAX_UNACKED_LISTED);
    expect(unacked!.total).toBe(n);
    expect(unacked!.notes.join(' ')).toContain(`of ${n}`);
  });

  it('a flow whose PUBLISH the filter did not select is not counted, though it is paired', () => {
    const s = new StatsCollector({ section: 'qos-flows' });
    const c = makeConn(2);
    s.observer.open(c);
    s.observer.packet(rec(c, 'c2s', publish({ topic: 'a', qos: 1, packetId: 1, payload: 'x' }), 1));
    const end = endAt(++frame, 3, 'fin', 'c2s');
    s.observer.close(c, end);
    s.close(c, end, false);
    expect(s.tables()[0]!.rows.every((r) => r.count === 0)).toBe(true);
  });
});
