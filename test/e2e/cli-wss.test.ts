/**
 * MQTT over WebSocket inside TLS (wss) from the command line, on the real capture of scripts/make-captures.sh
 * (captures/real-wss-8084.pcap: mosquitto's TLS websockets listener on 8084, MQTT.js over wss:// with Node's key log).
 * Every MQTT packet the script's clients sent (scripts/corpus-clients.mjs, scenario `wss`) is decoded, in order, with its
 * topic and payload, and says it came through TLS and WebSocket; 8084 is a wss port by default (no --tls-port).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, ROOT, runCli } from '../builders/cli.js';

const FILE = join(ROOT, 'captures', 'real-wss-8084.pcap');
const KEYS = join(ROOT, 'captures', 'real-wss-8084.keys');

type Rec = Record<string, unknown>;
const fieldsOf = (p: Rec): Rec => p.fields as Rec;

/** The 70,000-byte payload the scenario publishes (the same 32-bit LCG as corpus-clients.mjs). */
function largePayload(): Buffer {
  const b = Buffer.alloc(70_000);
  for (let i = 0, x = 0x1234567; i < b.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
const hex = (s: string | Buffer): string => Buffer.from(s).toString('hex');
const sha = (h: string): string => createHash('sha256').update(Buffer.from(h, 'hex')).digest('hex');

/** What each client sent, in order: [type, topic or filter, payload as hex] (undefined where the packet has none). */
const SUB_SENT: Array<[string, string?, string?]> = [
  ['CONNECT'], ['SUBSCRIBE', 'corpus/wss/#'], ['PUBACK'], ['PUBREC'], ['PUBCOMP'], ['PUBACK'], ['PUBACK'], ['PINGREQ'], ['UNSUBSCRIBE', 'corpus/wss/#'], ['DISCONNECT'],
];
const PUB_SENT: Array<[string, string?, string?]> = [
  ['CONNECT'],
  ['PUBLISH', 'corpus/wss/q0', hex('wss payload at QoS 0')],
  ['PUBLISH', 'corpus/wss/q1', hex('wss payload at QoS 1')],
  ['PUBLISH', 'corpus/wss/q2', hex('wss payload at QoS 2')],
  ['PUBREL'],
  ['PUBLISH', 'corpus/wss/medium', hex('m'.repeat(300))],
  ['PUBLISH', 'corpus/wss/large', hex(largePayload())],
  ['DISCONNECT'],
];

function sent(packets: Rec[], clientConn: unknown): Array<[string, string?, string?]> {
  return packets.filter((p) => p.conn === clientConn && p.dir === 'c2s').map((p): [string, string?, string?] => {
    const f = fieldsOf(p);
    const topic = typeof f.topic === 'string' ? f.topic : Array.isArray(f.subscriptions) ? String((f.subscriptions[0] as Rec).topic) : Array.isArray(f.topics) ? String(f.topics[0]) : undefined;
    // Text payloads come as {encoding:'utf8', text}, others as {encoding:'hex', data}: compared as bytes.
    const pl = f.payload as Rec | undefined;
    const payload = pl === undefined ? undefined : pl.encoding === 'utf8' ? hex(String(pl.text)) : pl.data;
    const out: [string, string?, string?] = [String(p.type)];
    if (topic !== undefined) out.push(topic);
    if (typeof payload === 'string') out.push(payload);
    return out;
  });
}

describe('mqtt-dissect on captures/real-wss-8084.pcap (MQTT.js over wss://, Node key log)', () => {
  it('--tls-keylog: every packet the clients sent, in order, with topics and whole payloads, over tls+websocket', () => {
    const r = runCli(['--json', '--full', '--tls-keylog', KEYS, FILE], { env: { SSLKEYLOGFILE: '' } });
    expect(r.status).toBe(0);
    const recs = jsonLines(r.stdout);
    const packets = recs.filter((l) => l.kind === 'packet');
    expect(packets).toHaveLength(34);
    expect(packets.every((p) => p.transport === 'tls+websocket' && String(p.transportKeys).includes('real-wss-8084.keys line'))).toBe(true);
    const connOf = (id: string): unknown => packets.find((p) => p.type === 'CONNECT' && fieldsOf(p).clientId === id)?.conn;
    const subConn = connOf('corpus-wss-sub');
    const pubConn = connOf('corpus-wss-pub');
    expect(subConn).not.toBeUndefined();
    expect(pubConn).not.toBeUndefined();
    const subSent = sent(packets, subConn);
    const pubSent = sent(packets, pubConn);
    expect(subSent).toEqual(SUB_SENT);
    // Compared by hash first, so that a mismatch in the 70,000-byte payload prints short.
    expect(pubSent.map(([t, topic, p]) => [t, topic, p === undefined ? undefined : sha(p)])).toEqual(PUB_SENT.map(([t, topic, p]) => [t, topic, p === undefined ? undefined : sha(p)]));
    expect(pubSent).toEqual(PUB_SENT);
    expect(packets.filter((p) => p.conn === pubConn && p.type === 'CONNECT').map((p) => p.version)).toEqual(['5.0']);
    expect(packets.filter((p) => p.conn === subConn && p.type === 'CONNECT').map((p) => p.version)).toEqual(['3.1.1']);
    // The broker delivered all five to the subscriber, the large one whole.
    const delivered = packets.filter((p) => p.conn === subConn && p.dir === 's2c' && p.type === 'PUBLISH');
    expect(delivered.map((p) => fieldsOf(p).topic)).toEqual(['corpus/wss/q0', 'corpus/wss/q1', 'corpus/wss/q2', 'corpus/wss/medium', 'corpus/wss/large']);
    expect((fieldsOf(delivered[4]!).payload as Rec).data).toBe(hex(largePayload()));
    // Both layers are shown: the TLS facts, then the WebSocket handshake, per connection; no finding, no error.
    const tls = recs.filter((l) => l.event === 'tls').map((l) => l.tls as Rec);
    expect(tls.map((t) => [t.version, t.sni, t.decrypted])).toEqual([0, 1].map(() => ['TLS 1.3', 'broker.corpus.test', true]));
    expect(recs.filter((l) => l.event === 'websocket').map((l) => (l.info as Rec).selected)).toEqual(['mqtt', 'mqtt']);
    expect(recs.filter((l) => l.event === 'tls-error' || l.event === 'websocket-lost')).toEqual([]);
    expect(recs.flatMap((l) => (l.violations as unknown[] | undefined) ?? [])).toEqual([]);
  });

  it('without keys: port 8084 is TLS by default; the handshake facts and one no-key event per connection, no MQTT', () => {
    const r = runCli(['--json', FILE], { env: { SSLKEYLOGFILE: '' } });
    expect(r.status).toBe(0);
    const recs = jsonLines(r.stdout);
    expect(recs.filter((l) => l.kind === 'packet')).toEqual([]);
    expect(recs.filter((l) => l.event === 'tls').map((l) => (l.tls as Rec).sni)).toEqual(['broker.corpus.test', 'broker.corpus.test']);
    expect(recs.filter((l) => l.event === 'tls-error').map((l) => l.reason)).toEqual(['no-key', 'no-key']);
  });

  it('text: the line names both layers', () => {
    const r = runCli(['--no-color', '--tls-keylog', KEYS, FILE]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/PUBLISH {5}v5\.0 #1 tls\+websocket "corpus-wss-pub" topic="corpus\/wss\/q2" qos=2 id=2 len=20 "wss payload at QoS 2"/);
  });
});
