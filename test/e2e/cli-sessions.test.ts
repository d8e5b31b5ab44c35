/**
 * The sessions stage through the CLI on real mosquitto captures (scripts/make-captures.sh): the message and session
 * records the clients' traffic gives, where they appear among the others, and the modes that leave them out.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, ROOT, runCli } from '../builders/cli.js';

const V311 = join(ROOT, 'captures', 'real-v311-qos.pcap');
const WS = join(ROOT, 'captures', 'real-ws-8080.pcap');

type Rec = Record<string, unknown>;
const deliveries = (m: Rec): Rec[] => m.deliveries as Rec[];

describe('mqtt-dissect --json: message and session records', () => {
  it('real-v311-qos: each publisher\'s message with the deliveries mosquitto made, latencies within the capture', () => {
    const r = runCli(['--json', V311]);
    expect(r.status).toBe(0);
    const out = jsonLines(r.stdout);
    const messages = out.filter((o) => o.kind === 'message');
    expect(messages.map((o) => [o.clientId, o.topic, o.qos, deliveries(o).map((d) => [d.clientId, d.qos])])).toEqual([
      ['corpus-v311-pub-q0', 'corpus/v311/qos/q0', 0, [['corpus-v311-sub', 0]]],
      ['corpus-v311-pub-q1', 'corpus/v311/qos/q1', 1, [['corpus-v311-sub', 1]]],
      ['corpus-v311-pub-q2', 'corpus/v311/qos/q2', 2, [['corpus-v311-sub', 2]]],
      ['corpus-v311-retain', 'corpus/v311/retained/state', 1, [['corpus-v311-late', 1]]],
      // The empty retained PUBLISH that clears it reaches nobody: no record (trace lists it, below).
      ['corpus-js-v311', 'corpus/v311/js/a', 1, [['corpus-js-v311', 1]]],
    ]);
    // Each delivery is a PUBLISH record of the subscriber's connection, after the publisher's, and its latency is the
    // difference of the two records' times.
    const packets = new Map(out.filter((o) => o.kind === 'packet').map((o) => [o.frame as number, o]));
    for (const m of messages) {
      for (const d of deliveries(m)) {
        const p = packets.get(d.frame as number)!;
        expect(p).toMatchObject({ type: 'PUBLISH', dir: 's2c', conn: d.conn });
        const ms = (Date.parse(p.time as string) - Date.parse(m.time as string));
        expect(Math.abs((d.latencyMs as number) - ms)).toBeLessThan(1);
      }
    }
    // Session records come last, one per ClientId.
    const firstSession = out.findIndex((o) => o.kind === 'session');
    expect(out.slice(firstSession).every((o) => o.kind === 'session')).toBe(true);
    expect(out.slice(firstSession).map((o) => o.clientId)).toHaveLength(8);
    expect(out.flatMap((o) => (o.violations as unknown[] | undefined) ?? [])).toEqual([]);
  });

  it('real-ws-8080: the publisher over WebSocket (5.0) reaches the subscriber over WebSocket (3.1.1)', () => {
    const out = jsonLines(runCli(['--json', WS]).stdout);
    const messages = out.filter((o) => o.kind === 'message');
    expect(messages.map((o) => o.topic)).toEqual(['corpus/ws/q0', 'corpus/ws/q1', 'corpus/ws/q2', 'corpus/ws/medium', 'corpus/ws/large']);
    expect(messages.map((o) => deliveries(o).map((d) => d.clientId))).toEqual(messages.map(() => ['corpus-ws-sub']));
    expect(messages.find((o) => o.topic === 'corpus/ws/large')!.payloadLength).toBe(70000);
  });

  it('text output, --no-sessions, shards of several: no message or session records; a shard of one has them', () => {
    expect(runCli([V311]).stdout).not.toMatch(/"kind"|message record/);
    const kinds = (args: string[]): unknown[] => jsonLines(runCli(['--json', ...args, V311]).stdout).map((o) => o.kind).filter((k) => k === 'message' || k === 'session');
    expect(kinds(['--no-sessions'])).toEqual([]);
    expect([...kinds(['--shard', '1/2']), ...kinds(['--shard', '2/2'])]).toEqual([]);
    expect(kinds(['--shard', '1/1'])).toEqual(kinds([]));
    // 5 delivered messages (the sixth reached no one: no record) and 8 ClientIds.
    expect(kinds([]).length).toBe(13);
  });
});

describe('mqtt-dissect trace', () => {
  it('one block per message: the publisher, then each delivery with its latency', () => {
    const r = runCli(['trace', V311]);
    expect(r.status).toBe(0);
    const blocks = r.stdout.replace(/\n+$/, '').split('\n\n');
    expect(blocks).toHaveLength(6);
    expect(blocks[0]!.split('\n')).toEqual([
      expect.stringMatching(/^ +18 \S+Z PUBLISH conn 1 "corpus-v311-pub-q0" → corpus\/v311\/qos\/q0 qos=0 21 bytes fnv1a [0-9a-f]{8}$/),
      expect.stringMatching(/^ +20 +└→ conn 0 "corpus-v311-sub" qos=0 \+\d+\.\d{3} ms$/),
    ]);
    expect(blocks[4]).toContain('(no delivery in the capture)');
    // The same deliveries as the message records of --json, which has records only for messages that were delivered.
    const json = jsonLines(runCli(['--json', V311]).stdout).filter((o) => o.kind === 'message');
    expect(blocks.map((b) => b.split('\n').filter((l) => l.includes('└→')).length).filter((n) => n > 0)).toEqual(json.map((o) => deliveries(o).length));
  });

  it('--client and --topic narrow it; a bad filter is a usage error', () => {
    const late = runCli(['trace', '--client', 'corpus-v311-late', V311]).stdout.trim().split('\n');
    expect(late).toHaveLength(2);
    expect(late[1]).toContain('"corpus-v311-late"');
    const q = runCli(['trace', '--topic', 'corpus/v311/qos/+', V311]).stdout.trim().split('\n\n');
    expect(q.map((b) => /→ (\S+) qos/.exec(b)![1])).toEqual(['corpus/v311/qos/q0', 'corpus/v311/qos/q1', 'corpus/v311/qos/q2']);
    const none = runCli(['trace', '--topic', 'nothing/#', V311]);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/no message the filters select/);
    const bad = runCli(['trace', '--topic', 'a/#/b', V311]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^mqtt-dissect: --topic "a\/#\/b" is no Topic Filter/);
    expect(runCli(['trace']).status).toBe(2);
  });

  it('--json: the message records, the ones of every publisher (also those nobody received)', () => {
    const out = jsonLines(runCli(['trace', '--json', '--topic', 'corpus/v311/retained/#', V311]).stdout);
    expect(out.map((o) => [o.kind, o.clientId, deliveries(o).length])).toEqual([['message', 'corpus-v311-retain', 1], ['message', 'corpus-v311-clear', 0]]);
  });

  it('--receivers: who would receive a PUBLISH to a topic; mosquitto\'s clients had all left by the end, so they are in the past', () => {
    const r = runCli(['trace', '--receivers', 'corpus/v311/qos/q1', V311]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'PUBLISH to "corpus/v311/qos/q1": 0 clients subscribed (the subscriptions the capture showed, as it left them)',
      'Subscribed during the capture, no longer at its end (1):',
      expect.stringMatching(/^ {2}"corpus-v311-sub" corpus\/v311\/qos\/# \(QoS 2\) from 2026-11-22T02:19:53\.\d{6}Z to 2026-11-22T02:19:53\.\d{6}Z$/),
    ]);
    const json = jsonLines(runCli(['trace', '--json', '--receivers', 'corpus/v311/qos/q1', V311]).stdout);
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ kind: 'receivers', receivers: 0, past: [{ clientId: 'corpus-v311-sub', filter: 'corpus/v311/qos/#', qos: 2 }] });
    for (const [args, msg] of [
      [['--receivers', 'a/+'], /no Topic Name/], [['--from', 'x'], /--from goes with --receivers/], [['--receivers', 'a', '--topic', 'a'], /--receivers answers for one topic/],
    ] as const) {
      const bad = runCli(['trace', ...args, V311]);
      expect(bad.status, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(msg);
    }
  });
});
