/**
 * `stats NAME` over a builder-made capture with known times: each section's figures against what the test computes
 * from its own log of what was sent (src/render/stats/). Run through the CLI's read path in process.
 */
import { describe, expect, it } from 'vitest';
import { readInProcess } from '../src/cli/read.js';
import { RELATIVE_ERROR } from '../src/render/stats/histogram.js';
import { TIMING_KINDS } from '../src/render/stats/pairing.js';
import { STATS_SECTIONS } from '../src/render/stats/sections.js';
import { ack, connack, connect, disconnect, pingreq, pingresp, publish, suback, subscribe } from './builders/mqtt-bytes.js';
import { nearestRank, StatsCapture, T0, type Sent } from './builders/stats-capture.js';

type Rec = Record<string, unknown>;

/** The plant: sensor-1 (user jane) publishes, sensor-2 subscribes; one QoS 1 PUBLISH each way never acknowledged. */
function plant(): { cap: StatsCapture; unackedA: number; unackedB: number; a: number; b: number } {
  const cap = new StatsCapture();
  const a = cap.conn('10.0.0.1:40001', 0);
  cap.c(a, 0, connect({ clientId: 'sensor-1', username: 'jane' }));
  cap.s(a, 0.010, connack());
  const b = cap.conn('10.0.0.2:40002', 0.4);
  cap.c(b, 0.5, connect({ clientId: 'sensor-2' }));
  cap.s(b, 0.530, connack());
  cap.c(a, 1.0, publish({ topic: 'plant/a/temp', qos: 1, packetId: 1, payload: 'x'.repeat(10) }));
  cap.s(a, 1.020, ack('PUBACK', { packetId: 1 }));
  cap.c(b, 1.5, subscribe({ packetId: 7, subscriptions: [{ topic: 'plant/#', qos: 1 }] }));
  cap.s(b, 1.6, suback({ packetId: 7, codes: [1] }));
  cap.c(a, 2.0, publish({ topic: 'plant/a/temp', qos: 1, packetId: 2, payload: 'x'.repeat(20) }));
  cap.s(a, 2.040, ack('PUBACK', { packetId: 2 }));
  cap.s(b, 2.1, publish({ topic: 'plant/a/temp', qos: 1, packetId: 9, payload: 'x'.repeat(10) }));
  cap.c(b, 2.2, ack('PUBACK', { packetId: 9 }));
  const unackedA = cap.c(a, 3.0, publish({ topic: 'plant/a/temp', qos: 1, packetId: 3, payload: 'x'.repeat(30) }));
  cap.c(a, 3.5, publish({ topic: 'plant/b/hum', qos: 0, payload: 'x'.repeat(100) }));
  cap.c(a, 4.0, pingreq());
  cap.s(a, 4.005, pingresp());
  cap.c(a, 5.0, publish({ topic: 'plant/a/temp', qos: 2, packetId: 4, payload: 'x'.repeat(40) }));
  cap.s(a, 5.010, ack('PUBREC', { packetId: 4 }));
  cap.c(a, 5.030, ack('PUBREL', { packetId: 4 }));
  cap.s(a, 5.060, ack('PUBCOMP', { packetId: 4 }));
  cap.c(a, 6.0, disconnect());
  cap.close(a, 6.0);
  const unackedB = cap.s(b, 7.0, publish({ topic: 'plant/a/temp', qos: 1, packetId: 10, payload: 'x'.repeat(50) }));
  return { cap, unackedA, unackedB, a, b };
}

async function stats(cap: StatsCapture, section: string, o: { filter?: string; interval?: number } = {}): Promise<{ tables: Map<string, { meta: Rec; rows: Rec[] }>; lines: Rec[] }> {
  const r = await readInProcess(cap.pcap(), {
    stats: { section, format: 'json', ...(o.interval !== undefined ? { interval: o.interval } : {}) }, ...(o.filter !== undefined ? { filter: o.filter } : {}),
  });
  expect(r.exit).toBe(0);
  const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
  const tables = new Map<string, { meta: Rec; rows: Rec[] }>();
  for (const l of lines) {
    if (l.kind === 'stats-table') tables.set(l.table as string, { meta: l, rows: [] });
    else tables.get(l.table as string)!.rows.push(l);
  }
  return { tables, lines };
}

const qosOf = (s: Sent): number => (s.bytes[0]! >> 1) & 3;

describe('stats records', () => {
  it('each record has exactly its table\'s columns, and every table of the section is there', async () => {
    const { cap } = plant();
    for (const section of STATS_SECTIONS) {
      const { tables, lines } = await stats(cap, section.name);
      expect([...tables.keys()]).toEqual(section.tables.map((t) => t.name));
      for (const l of lines) {
        const spec = section.tables.find((t) => t.name === l.table)!;
        if (l.kind === 'stats-table') expect(l.columns).toEqual(spec.columns.map((c) => c.key));
        else expect(Object.keys(l)).toEqual(['kind', 'section', 'table', ...spec.columns.map((c) => c.key)]);
      }
    }
  });
});

describe('qos-flows', () => {
  const state = (rows: Rec[], qos: number, dir: string, st: string): unknown => rows.find((r) => r.qos === qos && r.dir === dir && r.state === st)?.count;

  it('counts completed and unacknowledged flows each way, and lists the unacknowledged with their frames', async () => {
    const { cap, unackedA, unackedB, a, b } = plant();
    const { tables } = await stats(cap, 'qos-flows');
    const rows = tables.get('states')!.rows;
    expect(state(rows, 1, 'c2s', 'completed')).toBe(2);
    expect(state(rows, 1, 'c2s', 'no PUBACK')).toBe(1);
    expect(state(rows, 1, 's2c', 'completed')).toBe(1);
    expect(state(rows, 1, 's2c', 'no PUBACK')).toBe(1);
    expect(state(rows, 2, 'c2s', 'completed')).toBe(1);
    for (const st of ['no PUBREC', 'no PUBREL', 'no PUBCOMP']) expect(state(rows, 2, 'c2s', st)).toBe(0);
    const un = tables.get('unacknowledged')!.rows;
    expect(un.map((u) => [u.conn, u.clientId, u.dir, u.qos, u.packetId, u.frame, u.awaiting, u.ended])).toEqual([
      [a, 'sensor-1', 'c2s', 1, 3, unackedA, 'PUBACK', 'close'],
      [b, 'sensor-2', 's2c', 1, 10, unackedB, 'PUBACK', 'capture-end'],
    ]);
    expect(un[0]!.endFrame as number).toBeGreaterThan(unackedA);
  });

  it('a filter on the PUBLISH alone still finds the acknowledgements; a client filter keeps that client\'s flows', async () => {
    const { cap } = plant();
    const all = (await stats(cap, 'qos-flows')).tables.get('states')!.rows;
    expect((await stats(cap, 'qos-flows', { filter: 'type == PUBLISH' })).tables.get('states')!.rows).toEqual(all);
    const jane = (await stats(cap, 'qos-flows', { filter: 'username == "jane"' })).tables;
    const rows = jane.get('states')!.rows;
    expect(state(rows, 1, 'c2s', 'completed')).toBe(2);
    expect(state(rows, 1, 'c2s', 'no PUBACK')).toBe(1);
    expect(state(rows, 1, 's2c', 'completed')).toBe(0);
    expect(state(rows, 1, 's2c', 'no PUBACK')).toBe(0);
    expect(jane.get('unacknowledged')!.rows.map((u) => u.clientId)).toEqual(['sensor-1']);
  });

  it('an identifier reused before its acknowledgement ends the first flow; a DUP resend does not', async () => {
    const cap = new StatsCapture();
    const a = cap.conn('10.0.0.1:40001', 0);
    cap.c(a, 0, connect({ clientId: 'r' }));
    cap.s(a, 0.01, connack());
    const first = cap.c(a, 1, publish({ topic: 't', qos: 1, packetId: 5, payload: 'one' }));
    cap.c(a, 1.5, publish({ topic: 't', qos: 1, packetId: 5, payload: 'one', dup: true }));
    cap.s(a, 1.6, ack('PUBACK', { packetId: 5 }));
    const q2 = cap.c(a, 2, publish({ topic: 't', qos: 2, packetId: 6, payload: 'two' }));
    cap.s(a, 2.1, ack('PUBREC', { packetId: 6 }));
    const reuse = cap.c(a, 3, publish({ topic: 't', qos: 1, packetId: 6, payload: 'three' }));
    cap.s(a, 3.1, ack('PUBACK', { packetId: 6 }));
    cap.close(a, 4);
    const { tables } = await stats(cap, 'qos-flows');
    const rows = tables.get('states')!.rows;
    expect(state(rows, 1, 'c2s', 'completed')).toBe(2);
    expect(state(rows, 2, 'c2s', 'no PUBREL')).toBe(1);
    expect(tables.get('unacknowledged')!.rows.map((u) => [u.frame, u.awaiting, u.ended, u.endFrame])).toEqual([[q2, 'PUBREL', 'id-reused', reuse]]);
    // The DUP resend kept the first PUBLISH's time: 600 ms to the PUBACK.
    const timing = (await stats(cap, 'timing')).tables.get('overall')!.rows.find((r) => r.pair === 'PUBLISH->PUBACK')!;
    expect(timing.count).toBe(2);
    expect(timing.maxMs).toBeCloseTo(600, 3);
    expect(first).toBeLessThan(q2);
  });
});

describe('timing', () => {
  it('percentiles per pair, overall and per connection, within the stated bound of the exact nearest-rank values', async () => {
    const { cap, a, b } = plant();
    const { tables } = await stats(cap, 'timing');
    // What the script timed, in milliseconds.
    const want: Record<string, { all: number[]; byConn: Record<number, number[]> }> = {
      'CONNECT->CONNACK': { all: [10, 30], byConn: { [a]: [10], [b]: [30] } },
      'PUBLISH->PUBACK': { all: [20, 40, 100], byConn: { [a]: [20, 40], [b]: [100] } },
      'PUBLISH->PUBREC': { all: [10], byConn: { [a]: [10] } },
      'PUBREC->PUBREL': { all: [20], byConn: { [a]: [20] } },
      'PUBREL->PUBCOMP': { all: [30], byConn: { [a]: [30] } },
      'PUBLISH->PUBCOMP': { all: [60], byConn: { [a]: [60] } },
      'SUBSCRIBE->SUBACK': { all: [100], byConn: { [b]: [100] } },
      'PINGREQ->PINGRESP': { all: [5], byConn: { [a]: [5] } },
      // The sessions stage traces sensor-2's delivery at 2.1 to sensor-1's PUBLISH of the same payload at 1.0 (the one at
      // 2.0 is longer); it counts on the subscriber's connection.
      'PUBLISH->delivery': { all: [1100], byConn: { [b]: [1100] } },
    };
    const overall = tables.get('overall')!.rows;
    expect(overall.map((r) => r.pair)).toEqual(TIMING_KINDS.map((k) => k.name));
    const close = (got: unknown, exact: number): void => {
      expect(Math.abs((got as number) - exact)).toBeLessThanOrEqual(exact * RELATIVE_ERROR + 1e-3);
    };
    for (const r of overall) {
      const w = want[r.pair as string];
      if (w === undefined) {
        expect(r.count).toBe(0);
        expect(r.p50Ms).toBeNull();
        continue;
      }
      expect(r.count).toBe(w.all.length);
      close(r.p50Ms, nearestRank(w.all, 0.5));
      close(r.p90Ms, nearestRank(w.all, 0.9));
      close(r.p99Ms, nearestRank(w.all, 0.99));
      close(r.maxMs, Math.max(...w.all));
      expect(r.unmatched).toBe(0);
    }
    const per = tables.get('connections')!.rows;
    for (const [pair, w] of Object.entries(want)) {
      for (const [conn, values] of Object.entries(w.byConn)) {
        const row = per.find((r) => r.pair === pair && r.conn === Number(conn))!;
        expect(row.count).toBe(values.length);
        close(row.p50Ms, nearestRank(values, 0.5));
        close(row.maxMs, Math.max(...values));
      }
    }
    expect(per.length).toBe(Object.values(want).reduce((n, w) => n + Object.keys(w.byConn).length, 0));
  });

  it('a capture that starts after the requests counts the responses as unmatched', async () => {
    const cap = new StatsCapture();
    const a = cap.conn('10.0.0.1:40001', 0);
    cap.s(a, 0.5, ack('PUBACK', { packetId: 3 }));
    cap.s(a, 0.6, pingresp());
    const { tables } = await stats(cap, 'timing');
    const rows = tables.get('overall')!.rows;
    expect(rows.find((r) => r.pair === 'PUBLISH->PUBACK')!.unmatched).toBe(1);
    expect(rows.find((r) => r.pair === 'PINGREQ->PINGRESP')!.unmatched).toBe(1);
    expect(rows.every((r) => r.count === 0)).toBe(true);
  });

  it('--summary has the same overall figures (only the pairs it saw)', async () => {
    const { cap } = plant();
    const overall = (await stats(cap, 'timing')).tables.get('overall')!.rows.filter((r) => (r.count as number) > 0)
      .map(({ pair, count, p50Ms, p90Ms, p99Ms, maxMs }) => ({ pair, count, p50Ms, p90Ms, p99Ms, maxMs }));
    const r = await readInProcess(cap.pcap(), { summary: true, json: true });
    const timing = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Rec).find((o) => o.kind === 'summary' && o.table === 'timing')!;
    expect(timing.rows).toEqual(overall);
    const text = await readInProcess(cap.pcap(), { summary: true });
    expect(text.stdout).toContain('Timing, ms');
    expect(text.stdout).toMatch(/│ PUBLISH->PUBACK +│ 3 +│/);
  });
});

describe('clients', () => {
  it('per ClientId: packets and bytes each way, QoS mix, how its connections ended', async () => {
    const { cap, a, b } = plant();
    const rows = (await stats(cap, 'clients')).tables.get('clients')!.rows;
    expect(rows.map((r) => r.clientId)).toEqual(['sensor-1', 'sensor-2']);
    for (const [id, conn, ends] of [['sensor-1', a, { 'DISCONNECT by client': 1 }], ['sensor-2', b, { 'open at end': 1 }]] as const) {
      const row = rows.find((r) => r.clientId === id)!;
      const mine = cap.sent.filter((s) => s.conn === conn);
      const c2s = mine.filter((s) => s.dir === 'c2s');
      const s2c = mine.filter((s) => s.dir === 's2c');
      const qos = (list: Sent[]): number[] => [0, 1, 2].map((q) => list.filter((s) => s.type === 3 && qosOf(s) === q).length);
      expect(row).toMatchObject({
        connections: 1, packetsC2s: c2s.length, packetsS2c: s2c.length,
        bytesC2s: c2s.reduce((n, s) => n + s.bytes.length, 0), bytesS2c: s2c.reduce((n, s) => n + s.bytes.length, 0),
        qosSent: qos(c2s), qosReceived: qos(s2c), ends, findings: expect.any(Number),
      });
      const last = mine.at(-1)!.t;
      expect(Date.parse(row.lastSeen as string) / 1000).toBeCloseTo(T0 + last, 3);
    }
  });

  it('a client over several connections: first seen at its first connection, each end counted, findings as the records have them', async () => {
    const cap = new StatsCapture();
    const x = cap.conn('10.0.0.5:41001', 0);
    cap.c(x, 0.1, connect({ clientId: 'roamer' }));
    cap.s(x, 0.11, connack());
    cap.c(x, 0.2, publish({ topic: 'r/1', payload: 'a', flags: 0x08 })); // DUP 1 with QoS 0: one finding
    cap.reset(x, 0.3, 'client');
    const y = cap.conn('10.0.0.5:41002', 1.0);
    cap.c(y, 1.1, connect({ clientId: 'roamer' }));
    cap.s(y, 1.11, connack());
    cap.closeByServer(y, 1.5);
    const z = cap.conn('10.0.0.5:41003', 2.0);
    cap.c(z, 2.1, connect({ clientId: 'roamer' }));
    cap.s(z, 2.11, connack());
    cap.c(z, 2.2, disconnect());
    cap.close(z, 2.3);
    const rows = (await stats(cap, 'clients')).tables.get('clients')!.rows;
    expect(rows).toHaveLength(1);
    const json = await readInProcess(cap.pcap(), { json: true });
    const records = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string; violations?: unknown[] });
    const findings = records.reduce((n, r) => n + (r.kind === 'packet' || r.kind === 'close' ? (r.violations?.length ?? 0) : 0), 0);
    expect(findings).toBeGreaterThan(0);
    expect(rows[0]).toMatchObject({
      clientId: 'roamer', connections: 3, packetsC2s: 5, packetsS2c: 3, findings,
      ends: { 'RST by client': 1, 'FIN by server': 1, 'DISCONNECT by client': 1 },
    });
    // First seen: the first connection's start (its SYN at 0 s); last seen: the last packet (the DISCONNECT at 2.2 s).
    expect(Date.parse(rows[0]!.firstSeen as string) / 1000).toBeCloseTo(T0, 3);
    expect(Date.parse(rows[0]!.lastSeen as string) / 1000).toBeCloseTo(T0 + 2.2, 3);
  });

  it('-Y counts only what matches, the client known from its CONNECT', async () => {
    const { cap } = plant();
    const rows = (await stats(cap, 'clients', { filter: 'topic matches "plant/b/#"' })).tables.get('clients')!.rows;
    expect(rows.map((r) => [r.clientId, r.packetsC2s, r.packetsS2c, r.qosSent])).toEqual([['sensor-1', 1, 0, [1, 0, 0]]]);
  });
});

describe('topics', () => {
  it('messages, bytes, publishers, payload sizes and the rate per second in each bucket', async () => {
    const { cap } = plant();
    const { tables } = await stats(cap, 'topics');
    const t = tables.get('topics')!;
    expect(t.meta.intervalSec).toBe(1);
    const pubs = cap.sent.filter((s) => s.type === 3);
    const sizes = (topic: string): number[] => pubs.filter((s) => topicOf(s) === topic).map((s) => payloadOf(s));
    const temp = t.rows.find((r) => r.topic === 'plant/a/temp')!;
    const tempSizes = sizes('plant/a/temp');
    expect(temp).toMatchObject({
      messages: tempSizes.length, payloadBytes: tempSizes.reduce((n, x) => n + x, 0), publishers: 1,
      sizeMin: Math.min(...tempSizes), sizeP50: nearestRank(tempSizes, 0.5), sizeP90: nearestRank(tempSizes, 0.9), sizeMax: Math.max(...tempSizes),
    });
    // One-second buckets from the first packet's second (t = 0) to the last (t = 7).
    const rate = Array.from({ length: 8 }, (_, i) => pubs.filter((s) => topicOf(s) === 'plant/a/temp' && Math.floor(s.t) === i).length);
    expect(temp.rate).toEqual(rate);
    expect(t.rows.map((r) => r.topic)).toEqual(['plant/a/temp', 'plant/b/hum']);
  });

  it('the default interval doubles to keep at most 12 buckets; --interval sets it', async () => {
    const cap = new StatsCapture();
    const a = cap.conn('10.0.0.1:40001', 0);
    cap.c(a, 0, connect({ clientId: 'p' }));
    for (let i = 0; i < 30; i++) cap.c(a, i, publish({ topic: 'x', payload: 'p' }));
    let t = (await stats(cap, 'topics')).tables.get('topics')!;
    expect(t.meta.intervalSec).toBe(4);
    expect(t.rows[0]!.rate).toEqual([1, 1, 1, 1, 1, 1, 1, 0.5]);
    expect(String(t.meta.notes)).toContain('at most 12 buckets');
    t = (await stats(cap, 'topics', { interval: 10 })).tables.get('topics')!;
    expect(t.meta.intervalSec).toBe(10);
    expect(t.rows[0]!.rate).toEqual([1, 1, 1]);
  });
});

function topicOf(s: Sent): string {
  // Remaining Length is one byte in these packets: the topic length follows it.
  const n = (s.bytes[2]! << 8) | s.bytes[3]!;
  return new TextDecoder().decode(s.bytes.subarray(4, 4 + n));
}

function payloadOf(s: Sent): number {
  const n = (s.bytes[2]! << 8) | s.bytes[3]!;
  return s.bytes.length - 4 - n - (qosOf(s) > 0 ? 2 : 0);
}

describe('io', () => {
  it('one record per bucket, packets by type, empty buckets included', async () => {
    const { cap } = plant();
    const t = (await stats(cap, 'io', { interval: 2 })).tables.get('buckets')!;
    expect(t.meta.intervalSec).toBe(2);
    expect(t.rows.map((r) => r.offsetSec)).toEqual([0, 2, 4, 6]);
    const names = ['', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT'];
    t.rows.forEach((r, i) => {
      const inBucket = cap.sent.filter((s) => Math.floor(s.t / 2) === i);
      expect(r.packets).toBe(inBucket.length);
      expect(r.perSecond).toBe(inBucket.length / 2);
      for (let type = 1; type < names.length; type++) expect(r[names[type]!]).toBe(inBucket.filter((s) => s.type === type).length);
      expect(r.start).toBe(new Date((T0 + 2 * i) * 1000).toISOString().replace('.000Z', '.000000Z'));
    });
  });

  it('an interval too fine for 1,024 buckets is widened by doubling, and says so', async () => {
    const { cap } = plant();
    const t = (await stats(cap, 'io', { interval: 0.001 })).tables.get('buckets')!;
    // 7 s in at most 1,024 buckets: 0.001 doubled to 0.008.
    expect(t.meta.intervalSec).toBeCloseTo(0.008, 9);
    expect(t.rows.length).toBeLessThanOrEqual(1024);
    expect(t.rows.reduce((n, r) => n + (r.packets as number), 0)).toBe(cap.sent.length);
    expect(String(t.meta.notes)).toContain('--interval 0.001 widened');
  });

  it('--csv: a header of the columns in use, one line per bucket', async () => {
    const { cap } = plant();
    const r = await readInProcess(cap.pcap(), { stats: { section: 'io', format: 'csv', interval: 4 } });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('start,offsetSec,packets,perSecond,bytesC2s,bytesS2c,CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,PINGREQ,PINGRESP,DISCONNECT');
    expect(lines.length).toBe(3);
    const first = cap.sent.filter((s) => s.t < 4);
    const bytes = (dir: string): number => first.filter((s) => s.dir === dir).reduce((n, s) => n + s.bytes.length, 0);
    expect(lines[1]!.split(',').slice(1, 3)).toEqual(['0', String(first.length)]);
    // Bytes each way in the bucket (the page's bytes-per-second plot).
    expect(lines[1]!.split(',').slice(4, 6)).toEqual([String(bytes('c2s')), String(bytes('s2c'))]);
    expect(bytes('c2s')).toBeGreaterThan(0);
  });
});

describe('talkers', () => {
  it('connections and addresses by bytes, the busiest seconds by packets', async () => {
    const { cap, a, b } = plant();
    const { tables } = await stats(cap, 'talkers');
    const bytes = (conn: number): number => cap.sent.filter((s) => s.conn === conn).reduce((n, s) => n + s.bytes.length, 0);
    const packets = (conn: number): number => cap.sent.filter((s) => s.conn === conn).length;
    const conns = [a, b].sort((x, y) => bytes(y) - bytes(x));
    expect(tables.get('connections')!.rows.map((r) => [r.conn, r.packets, r.bytes])).toEqual(conns.map((c) => [c, packets(c), bytes(c)]));
    expect(tables.get('addresses')!.rows.map((r) => [r.address, r.connections, r.bytes])).toEqual(conns.map((c) => [`10.0.0.${c + 1}`, 1, bytes(c)]));
    const perSecond = new Map<number, number>();
    for (const s of cap.sent) perSecond.set(Math.floor(s.t), (perSecond.get(Math.floor(s.t)) ?? 0) + 1);
    const busiest = [...perSecond].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, 10);
    const secs = tables.get('seconds')!;
    expect(secs.rows.map((r) => [Date.parse(r.second as string) / 1000 - T0, r.packets])).toEqual(busiest);
    expect(secs.meta.total).toBe(perSecond.size);
  });
});

describe('hostile names', () => {
  it('ClientIds and topics with control characters are escaped in the text tables, the CSV and the records', async () => {
    const cap = new StatsCapture();
    const a = cap.conn('10.0.0.1:40001', 0);
    cap.c(a, 0, connect({ clientId: 'evil\u001b]0;pwned\u0007' }));
    cap.s(a, 0.01, connack());
    cap.c(a, 1, publish({ topic: 'x/\u001b[2J/y', qos: 1, packetId: 1, payload: 'p' }));
    cap.close(a, 2);
    for (const section of STATS_SECTIONS) {
      for (const format of ['text', 'csv', 'json'] as const) {
        const r = await readInProcess(cap.pcap(), { stats: { section: section.name, format } });
        expect(r.stdout, `${section.name} ${format}`).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
      }
    }
    const text = await readInProcess(cap.pcap(), { stats: { section: 'clients', format: 'text' } });
    // Shown, escaped (the cell may wrap): ESC as \e, BEL as \a.
    expect(text.stdout).toContain('evil\\e');
    expect(text.stdout).toContain('\\a');
  });
});
