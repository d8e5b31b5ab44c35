/**
 * In-flight depth against Receive Maximum (src/render/stats/pairing.ts, the `inflight` statistics section that
 * --summary shows): per connection and direction, the most unacknowledged QoS 1/2 PUBLISH packets at once, when, the
 * peer's limit, how often and how long at it; the rules stage's MQTT-3.3.4-7 finding for going past it is the one
 * reported (no second finding).
 */
import { describe, expect, it } from 'vitest';
import { readInProcess } from '../src/cli/read.js';
import { ack, connack, connect, publish } from './builders/mqtt-bytes.js';
import { StatsCapture, T0 } from './builders/stats-capture.js';

type Rec = Record<string, unknown>;

function flows(): { cap: StatsCapture; third: number; deepS2c: number } {
  const cap = new StatsCapture();
  // 5.0: the client allows the server 1 in flight (CONNECT), the server allows the client 2 (CONNACK).
  const a = cap.conn('10.0.0.1:40001', 0);
  cap.c(a, 0.0, connect({ level: 5, clientId: 'deep', properties: [['receiveMaximum', 1]] }));
  cap.s(a, 0.01, connack({ level: 5, properties: [['receiveMaximum', 2]] }));
  cap.c(a, 1.0, publish({ level: 5, topic: 'q/1', qos: 1, packetId: 1, payload: 'one' }));
  cap.c(a, 1.1, publish({ level: 5, topic: 'q/1', qos: 2, packetId: 2, payload: 'two' })); // at the limit of 2
  const third = cap.c(a, 1.2, publish({ level: 5, topic: 'q/1', qos: 1, packetId: 3, payload: 'three' })); // past it
  cap.s(a, 1.5, ack('PUBACK', { level: 5, packetId: 1 }));
  cap.s(a, 1.6, ack('PUBREC', { level: 5, packetId: 2 }));
  cap.c(a, 1.7, ack('PUBREL', { level: 5, packetId: 2 }));
  cap.s(a, 1.8, ack('PUBCOMP', { level: 5, packetId: 2 })); // below the limit again: 1.8 - 1.1 = 0.7 s at it (the PUBACK of 1 left 2 in flight)
  cap.s(a, 1.9, ack('PUBACK', { level: 5, packetId: 3 }));
  // The server's QoS 2 delivery refused with PUBREC 0x80 leaves the quota at once; then one more reaches the limit again.
  const deepS2c = cap.s(a, 3.0, publish({ level: 5, topic: 'q/2', qos: 2, packetId: 10, payload: 'four' }));
  cap.c(a, 3.25, ack('PUBREC', { level: 5, packetId: 10, reasonCode: 0x80 }));
  cap.s(a, 4.0, publish({ level: 5, topic: 'q/2', qos: 1, packetId: 11, payload: 'five' }));
  cap.c(a, 4.5, ack('PUBACK', { level: 5, packetId: 11 }));
  // 3.1.1: no Receive Maximum.
  const b = cap.conn('10.0.0.2:40002', 5);
  cap.c(b, 5.0, connect({ clientId: 'old' }));
  cap.s(b, 5.01, connack());
  cap.c(b, 5.1, publish({ topic: 'q/3', qos: 1, packetId: 1, payload: 'six' }));
  cap.close(b, 6);
  return { cap, third, deepS2c };
}

describe('in-flight depth', () => {
  it('the deepest point, when, the limit, how often and how long at it, per connection and direction', async () => {
    const { cap, third, deepS2c } = flows();
    const r = await readInProcess(cap.pcap(), { stats: { section: 'inflight', format: 'json' } });
    expect(r.exit).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
    const rows = lines.filter((l) => l.kind === 'stats').map(({ kind: _k, section: _s, table: _t, ...row }) => row);
    const at = (t: number): string => new Date((T0 + t) * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    expect(rows).toEqual([
      // Reached the limit: first (c2s 2 and s2c 1), then the deepest.
      { conn: 0, clientId: 'deep', dir: 'c2s', maxDepth: 3, maxAt: at(1.2), maxFrame: third, limit: 2, atLimit: 1, atLimitSec: expect.closeTo(0.7, 6), overLimit: 1 },
      { conn: 0, clientId: 'deep', dir: 's2c', maxDepth: 1, maxAt: at(3.0), maxFrame: deepS2c, limit: 1, atLimit: 2, atLimitSec: expect.closeTo(0.75, 6), overLimit: 0 },
      { conn: 1, clientId: 'old', dir: 'c2s', maxDepth: 1, maxAt: at(5.1), maxFrame: expect.any(Number), limit: null, atLimit: 0, atLimitSec: 0, overLimit: 0 },
    ]);
  });

  it('--summary shows it (text and --json), and the rules stage\'s Receive Maximum finding is the only one for it', async () => {
    const { cap } = flows();
    const js = await readInProcess(cap.pcap(), { summary: true, json: true });
    const recs = js.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
    const table = recs.find((o) => o.kind === 'stats-table' && o.section === 'inflight')!;
    expect(table).toMatchObject({ rows: 3, total: 3 });
    const findings = recs.find((o) => o.kind === 'summary' && o.table === 'findings')!.rows as Rec[];
    const recvMax = findings.filter((f) => /receive maximum/i.test(String(f.message)));
    expect(recvMax).toEqual([expect.objectContaining({ id: 'MQTT-3.3.4-7', count: 1 })]);
    const text = await readInProcess(cap.pcap(), { summary: true });
    expect(text.stdout).toContain('In-flight depth');
    expect(text.stdout).toMatch(/│ 0 +│ deep +│ c2s +│ 3 +│/);
  });

  it('-Y does not narrow it: a window is filled by every PUBLISH in it', async () => {
    const { cap } = flows();
    const rows = async (filter?: string): Promise<Rec[]> => {
      const r = await readInProcess(cap.pcap(), { stats: { section: 'inflight', format: 'json' }, ...(filter !== undefined ? { filter } : {}) });
      return r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Rec).filter((l) => l.kind === 'stats');
    };
    const all = await rows();
    expect(all).toHaveLength(3);
    expect(await rows('type == CONNECT')).toEqual(all);
  });

  it('plain --json builds no pairing (the depth costs nothing there)', async () => {
    const { cap } = flows();
    const r = await readInProcess(cap.pcap(), { json: true });
    expect(r.stdout).not.toContain('"inflight"');
    expect(r.stdout).not.toContain('"kind":"summary"');
  });
});
