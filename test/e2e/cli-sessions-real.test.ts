/**
 * captures/real-sessions.pcap (scripts/make-captures.sh, group_sessions, on a real mosquitto): the CLI's records state
 * what the script's clients did and checked: the QoS downgrade, the shared subscription, the killed persistent
 * subscriber's DUP redelivery, the takeovers, the Will fired by a kill and the one not fired after DISCONNECT. One run.
 * captures/real-sessions-v5.pcap (group_sessions5): Message Expiry after an absence, Subscription Identifiers on a copy
 * per subscription, a 5.0 shared subscription, and a takeover loop between two addresses. One run.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RELATIVE_ERROR } from '../../src/render/stats/histogram.js';
import { jsonLines, ROOT, runCli } from '../builders/cli.js';

interface Delivery { conn: number; clientId: string; qos: number; latencyMs: number }
/** The keys this file reads of the records docs/json.md documents (packet, message, session, close). */
interface Rec {
  kind: string; conn: number; type?: string; dir?: string; topic: string; clientId: string; qos: number;
  fields: { packetId: number; dup: boolean; topic?: string; payload: { text: string }; properties?: { messageExpiryInterval?: number; subscriptionIdentifier?: number[] } };
  deliveries: Delivery[]; connections: number[]; takeovers: number; why: string; will: string;
  willDeliveries: Delivery[]; violations?: { id: string; severity: string }[];
}
let out: Rec[] = [];
const of = (kind: string): Rec[] => out.filter((o) => o.kind === kind);
const session = (id: string): Rec => of('session').find((s) => s.clientId === id)!;
const close = (conn: number): Rec => of('close').find((c) => c.conn === conn)!;
const messages = (topic: RegExp): Rec[] => of('message').filter((m) => topic.test(m.topic));

beforeAll(() => {
  const r = runCli(['--json', join(ROOT, 'captures', 'real-sessions.pcap')]);
  expect(r.status).toBe(0);
  // Parsed NDJSON: the records' shapes are docs/json.md's (the assertions below fail on any other).
  out = jsonLines(r.stdout) as unknown as Rec[];
});

describe('real-sessions.pcap', () => {
  it('no error-level finding (the two unanswered PUBLISH of the killed subscriber are warnings)', () => {
    const found = out.flatMap((o) => o.violations ?? []);
    expect(found.filter((v) => v.severity === 'error')).toEqual([]);
    expect(found.map((v) => v.id)).toEqual(['ALL:3.3.4:publish-unanswered', 'ALL:3.3.4:publish-unanswered']);
  });

  it('QoS downgrade: two QoS 1 messages reach the subscriber granted QoS 0 at QoS 0', () => {
    const ms = messages(/^corpus\/sess\/down$/);
    expect(ms.map((m) => [m.clientId, m.qos, m.deliveries.map((d) => [d.clientId, d.qos])])).toEqual([
      ['corpus-sess-down-pub1', 1, [['corpus-sess-q0', 0]]], ['corpus-sess-down-pub2', 1, [['corpus-sess-q0', 0]]],
    ]);
  });

  it('$share/g: each of the four messages reaches exactly one member', () => {
    const ms = messages(/^corpus\/sess\/shared\//);
    expect(ms.map((m) => m.topic)).toEqual(['m1', 'm2', 'm3', 'm4'].map((t) => `corpus/sess/shared/${t}`));
    for (const m of ms) {
      expect(m.deliveries).toHaveLength(1);
      expect(['corpus-sess-share-a', 'corpus-sess-share-b']).toContain(m.deliveries[0]!.clientId);
      expect(m.deliveries[0]!.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('the killed persistent subscriber: its reconnect gets the two unacknowledged PUBLISH again, DUP=1 and the same ids, then the queued one', () => {
    const s = session('corpus-sess-psub');
    expect(s).toMatchObject({ reconnects: 1, redeliveries: 2, subscriptions: 1 });
    const [first, second] = s.connections;
    expect(close(first!).why).toBe('client-fin');
    const pubs = (conn: number): Rec[] => of('packet').filter((p) => p.conn === conn && p.type === 'PUBLISH' && p.dir === 's2c');
    const key = (p: Rec): unknown[] => [p.fields.packetId, p.fields.dup, p.fields.payload.text];
    const before = pubs(first!).map(key);
    expect(before.map((k) => k[1])).toEqual([false, false]);
    expect(pubs(second!).map(key)).toEqual([
      ...before.map(([id, , text]) => [id, true, text]), [expect.any(Number), false, 'queued message 3'],
    ]);
    // The first copies are the traced deliveries; the queued message is traced to its reconnect.
    expect(messages(/^corpus\/sess\/inflight\//).map((m) => m.deliveries.map((d) => d.conn))).toEqual([[first], [first], [second]]);
  });

  it('takeovers: the first connection of each ClientId closed by the server, with the taking connection on the record', () => {
    for (const id of ['corpus-sess-twin4', 'corpus-sess-twin5']) {
      const s = session(id);
      expect(s.takeovers).toBe(1);
      const [first, second] = s.connections;
      expect(close(first!)).toMatchObject({ why: 'takeover', by: 'server', takeover: { conn: second } });
      expect(close(second!).why).toBe('client-disconnect');
    }
  });

  it('Wills: fired for the killed client and the clean 5.0 takeover (to the watcher), not fired after DISCONNECT 0x00', () => {
    const willOf = (id: string): Rec => close(session(id).connections[0]!);
    for (const id of ['corpus-sess-will-kill', 'corpus-sess-twin5']) {
      const c = willOf(id);
      expect(c.will).toBe('fired');
      expect(c.willDeliveries.map((d) => [d.clientId, d.qos])).toEqual([['corpus-sess-watch', 1]]);
    }
    expect(willOf('corpus-sess-will-bye')).toMatchObject({ why: 'client-disconnect', reasonCode: 0, willDue: false, will: 'not-fired', willDeliveries: [] });
    expect(willOf('corpus-sess-twin4').will).toBe('none');
  });
});

describe('real-sessions-v5.pcap', () => {
  let v5: Rec[] = [];
  const kind = (k: string): Rec[] => v5.filter((o) => o.kind === k);
  const msgs = (topic: RegExp): Rec[] => kind('message').filter((m) => topic.test(m.topic));
  beforeAll(() => {
    const r = runCli(['--json', join(ROOT, 'captures', 'real-sessions-v5.pcap')]);
    expect(r.status).toBe(0);
    v5 = jsonLines(r.stdout) as unknown as Rec[];
  });

  it('one finding: the takeover loop of corpus-s5-twin (a warning, on the CONNACK of the fourth connection, with the count)', () => {
    const found = v5.flatMap((o) => (o.violations ?? []).map((v) => ({ ...v, at: o })));
    expect(found.map((v) => [v.severity, v.id])).toEqual([['warning', 'ALL:3.1.4:clientid-shared']]);
    const s = kind('session').find((x) => x.clientId === 'corpus-s5-twin')!;
    expect(s).toMatchObject({ takeovers: 3 });
    expect(found[0]!.at).toMatchObject({ kind: 'packet', type: 'CONNACK', conn: s.connections[3] });
    expect((found[0] as unknown as { message: string }).message).toMatch(/taken over 3 times back and forth between 127\.0\.0\.1 and 127\.0\.0\.2/);
  });

  it('Message Expiry: the message of 60 s reaches the returning subscriber about 3 s later with 60 less those seconds; the one of 2 s never', () => {
    const [long] = msgs(/^corpus\/s5\/exp\/long$/);
    expect(long!.deliveries).toHaveLength(1);
    const waited = long!.deliveries[0]!.latencyMs / 1000;
    expect(waited).toBeGreaterThan(2.5);
    const delivered = kind('packet').find((p) => p.conn === long!.deliveries[0]!.conn && p.type === 'PUBLISH' && p.dir === 's2c')!;
    const left = delivered.fields.properties!.messageExpiryInterval!;
    expect(Math.abs(left - (60 - waited))).toBeLessThanOrEqual(1);
    // Undelivered messages have no record (the CLI lists only what it traced).
    expect(msgs(/^corpus\/s5\/exp\/short$/)).toEqual([]);
  });

  it('Subscription Identifiers: a copy per matching subscription, each with its own identifier, all traced to their message', () => {
    const [both, one] = [msgs(/^corpus\/s5\/ids\/a$/)[0]!, msgs(/^corpus\/s5\/ids\/b\/c$/)[0]!];
    expect([both.deliveries.length, one.deliveries.length]).toEqual([2, 1]);
    const ids = kind('packet').filter((p) => p.conn === both.deliveries[0]!.conn && p.type === 'PUBLISH' && p.dir === 's2c')
      .map((p) => `${p.fields.topic} ${p.fields.properties!.subscriptionIdentifier!.join(',')}`);
    // The order of the two copies is the broker's.
    expect(ids.sort()).toEqual(['corpus/s5/ids/a 1', 'corpus/s5/ids/a 2', 'corpus/s5/ids/b/c 1']);
  });

  it('$share/g5: each of the four jobs reaches exactly one member', () => {
    const ms = msgs(/^corpus\/s5\/jobs\//);
    expect(ms).toHaveLength(4);
    for (const m of ms) expect(m.deliveries.map((d) => d.clientId)).toEqual([expect.stringMatching(/^corpus-s5-share-[ab]$/)]);
  });
});

describe('--summary on the real captures: forwarding per subscriber and in-flight depth', () => {
  for (const name of ['real-sessions.pcap', 'real-sessions-v5.pcap']) {
    it(`${name}: PUBLISH->delivery per client is the message records' latencies; depth rows stay under mosquitto's limits`, () => {
      const file = join(ROOT, 'captures', name);
      const traced = jsonLines(runCli(['--json', file]).stdout) as unknown as Rec[];
      const r = runCli(['--summary', '--json', file]);
      expect(r.status).toBe(0);
      const recs = jsonLines(r.stdout) as unknown as (Rec & { table: string; section: string; rows: Record<string, unknown>[] })[];
      const byClient = new Map<string, number[]>();
      for (const m of traced.filter((o) => o.kind === 'message')) for (const d of m.deliveries) byClient.set(d.clientId, [...(byClient.get(d.clientId) ?? []), d.latencyMs]);
      expect(byClient.size).toBeGreaterThan(1);
      const rows = recs.find((o) => o.kind === 'summary' && o.table === 'timing-clients')!.rows.filter((x) => x['pair'] === 'PUBLISH->delivery');
      expect(Object.fromEntries(rows.map((x) => [x['clientId'], x['count']]))).toEqual(Object.fromEntries([...byClient].map(([id, l]) => [id, l.length])));
      for (const x of rows) {
        const max = Math.max(...byClient.get(x['clientId'] as string)!);
        expect(Math.abs((x['maxMs'] as number) - max)).toBeLessThanOrEqual(max * RELATIVE_ERROR + 1e-3);
      }
      // Every connection direction with a QoS 1/2 PUBLISH in flight has a row; none went past its Receive Maximum.
      const depth = recs.filter((o) => o.kind === 'stats' && o.section === 'inflight') as unknown as Record<string, unknown>[];
      expect(depth.length).toBeGreaterThan(0);
      for (const d of depth) {
        expect(d['overLimit']).toBe(0);
        if (d['limit'] !== null) expect(d['maxDepth'] as number).toBeLessThanOrEqual(d['limit'] as number);
      }
      if (name === 'real-sessions-v5.pcap') {
        // mosquitto's CONNACK says 20 (max_inflight_messages), and so do the 5.0 clients' CONNECTs: never reached.
        expect(depth.map((d) => [d['limit'], d['atLimit']])).toEqual(depth.map(() => [20, 0]));
      } else {
        // 3.1.1 has no Receive Maximum; the one 5.0 client (the Will not fired after DISCONNECT 0x00) sends Receive
        // Maximum 1 in its CONNECT, and mosquitto's one delivery to it fills that window until its PUBACK.
        expect(depth.filter((d) => d['limit'] !== null)).toEqual([expect.objectContaining({ clientId: 'corpus-sess-will-bye', dir: 's2c', limit: 1, maxDepth: 1, atLimit: 1 })]);
        const bye = traced.filter((o) => o.kind === 'packet' && o.conn === (depth.find((d) => d['limit'] !== null)!['conn'] as number) && o.dir === 's2c' && o.type === 'PUBLISH');
        expect(bye).toHaveLength(1);
      }
    });
  }
});
