/**
 * Timing per client (src/render/stats/pairing.ts): a ClientId's connections pooled, the broker's forwarding delay from
 * the sessions stage's traced deliveries, in `stats timing` (table `clients`) and in `--summary` (text and the
 * `timing-clients` record), against what the test's own script timed; and the cap on ClientIds.
 */
import { describe, expect, it } from 'vitest';
import { readInProcess } from '../src/cli/read.js';
import { RELATIVE_ERROR } from '../src/render/stats/histogram.js';
import { MAX_TIMED_CLIENTS } from '../src/render/stats/pairing.js';
import { ack, connack, connect, pingreq, pingresp, publish, suback, subscribe } from './builders/mqtt-bytes.js';
import { nearestRank, StatsCapture } from './builders/stats-capture.js';

type Rec = Record<string, unknown>;

describe('timing per client', () => {
  it('pools the connections of one ClientId; forwarding counts for the subscriber that received it', async () => {
    const cap = new StatsCapture();
    const w = cap.conn('10.0.0.9:42000', 0);
    cap.c(w, 0.1, connect({ clientId: 'watcher' }));
    cap.s(w, 0.102, connack());
    cap.c(w, 0.2, subscribe({ packetId: 1, subscriptions: [{ topic: 'r/#', qos: 1 }] }));
    cap.s(w, 0.201, suback({ packetId: 1, codes: [1] }));
    const x = cap.conn('10.0.0.5:41001', 1);
    cap.c(x, 1.0, connect({ clientId: 'roamer' }));
    cap.s(x, 1.010, connack());
    cap.c(x, 1.5, publish({ topic: 'r/1', qos: 1, packetId: 1, payload: 'first message' }));
    cap.s(w, 1.504, publish({ topic: 'r/1', qos: 1, packetId: 7, payload: 'first message' }));
    cap.s(x, 1.520, ack('PUBACK', { packetId: 1 }));
    cap.c(w, 1.530, ack('PUBACK', { packetId: 7 }));
    cap.reset(x, 1.6, 'client');
    const y = cap.conn('10.0.0.5:41002', 2);
    cap.c(y, 2.0, connect({ clientId: 'roamer' }));
    cap.s(y, 2.030, connack());
    cap.c(y, 2.5, publish({ topic: 'r/2', qos: 1, packetId: 1, payload: 'second message' }));
    cap.s(w, 2.508, publish({ topic: 'r/2', qos: 1, packetId: 8, payload: 'second message' }));
    cap.s(y, 2.560, ack('PUBACK', { packetId: 1 }));
    cap.c(w, 2.570, ack('PUBACK', { packetId: 8 }));
    cap.c(w, 3.0, pingreq());
    cap.s(w, 3.005, pingresp());
    // What the script timed, in milliseconds, per ClientId.
    const want: Record<string, Record<string, number[]>> = {
      roamer: { 'CONNECT->CONNACK': [10, 30], 'PUBLISH->PUBACK': [20, 60] },
      // watcher's PUBACKs of its deliveries are the server's PUBLISH->PUBACK pairs (26 and 62 ms).
      watcher: { 'CONNECT->CONNACK': [2], 'PUBLISH->PUBACK': [26, 62], 'SUBSCRIBE->SUBACK': [1], 'PINGREQ->PINGRESP': [5], 'PUBLISH->delivery': [4, 8] },
    };
    const close = (got: unknown, exact: number): void => {
      expect(Math.abs((got as number) - exact)).toBeLessThanOrEqual(exact * RELATIVE_ERROR + 1e-3);
    };
    const check = (rows: Rec[]): void => {
      expect(rows.length).toBe(Object.values(want).reduce((n, k) => n + Object.keys(k).length, 0));
      for (const [clientId, kinds] of Object.entries(want)) {
        for (const [pair, values] of Object.entries(kinds)) {
          const r = rows.find((x) => x.clientId === clientId && x.pair === pair)!;
          expect(r, `${clientId} ${pair}`).toBeDefined();
          expect(r.connections).toBe(clientId === 'roamer' ? 2 : 1);
          expect(r.count).toBe(values.length);
          close(r.p50Ms, nearestRank(values, 0.5));
          close(r.p90Ms, nearestRank(values, 0.9));
          close(r.p99Ms, nearestRank(values, 0.99));
          close(r.maxMs, Math.max(...values));
        }
      }
      // Most pairs first: watcher has 7, roamer 4.
      expect(rows[0]!.clientId).toBe('watcher');
    };

    const st = await readInProcess(cap.pcap(), { stats: { section: 'timing', format: 'json' } });
    expect(st.exit).toBe(0);
    const lines = st.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
    check(lines.filter((l) => l.kind === 'stats' && l.table === 'clients'));
    // Per connection, the forwarding counts on the subscriber's (connection 0).
    const perConn = lines.filter((l) => l.kind === 'stats' && l.table === 'connections' && l.pair === 'PUBLISH->delivery');
    expect(perConn.map((l) => [l.conn, l.count])).toEqual([[0, 2]]);
    // The overall line has the forwarding too.
    const fwd = lines.find((l) => l.kind === 'stats' && l.table === 'overall' && l.pair === 'PUBLISH->delivery')!;
    expect(fwd.count).toBe(2);

    const js = await readInProcess(cap.pcap(), { summary: true, json: true });
    const recs = js.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
    const table = recs.find((o) => o.kind === 'summary' && o.table === 'timing-clients')!;
    expect(table).toMatchObject({ shown: 7, total: 7 });
    expect(table.notes).toBeUndefined();
    check(table.rows as Rec[]);
    // The forwarding delays are the message records' own latencies.
    const latencies = recs.filter((o) => o.kind === 'message').flatMap((m) => (m.deliveries as Rec[]).map((d) => d.latencyMs));
    expect(latencies.sort()).toEqual([4, 8]);

    const text = await readInProcess(cap.pcap(), { summary: true });
    expect(text.stdout).toContain('Timing per client, ms');
    expect(text.stdout).toMatch(/│ roamer +│ 2 +│ PUBLISH->PUBACK +│ 2 +│/);
    expect(text.stdout).toMatch(/│ watcher +│ 1 +│ PUBLISH->delivery +│ 2 +│/);
  });

  it(`ClientIds past the first ${MAX_TIMED_CLIENTS} count overall only, and the table says so`, async () => {
    const cap = new StatsCapture();
    const n = MAX_TIMED_CLIENTS + 3;
    for (let i = 0; i < n; i++) {
      const t = i * 0.001;
      const k = cap.conn(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:40000`, t);
      cap.c(k, t, connect({ clientId: `c${i}` }));
      cap.s(k, t + 0.0005, connack());
    }
    const js = await readInProcess(cap.pcap(), { summary: true, json: true });
    const recs = js.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
    const table = recs.find((o) => o.kind === 'summary' && o.table === 'timing-clients')!;
    expect(table).toMatchObject({ shown: 100, total: MAX_TIMED_CLIENTS });
    expect(table.notes).toEqual([expect.stringContaining(`3 pairs of ClientIds past the first ${MAX_TIMED_CLIENTS}`)]);
    const overall = (recs.find((o) => o.kind === 'summary' && o.table === 'timing')!.rows as Rec[]).find((r) => r.pair === 'CONNECT->CONNACK')!;
    expect(overall.count).toBe(n);
  }, 60_000);
});
