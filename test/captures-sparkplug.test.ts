/**
 * The real Sparkplug B capture (issue 17): captures/real-sparkplug.pcap, made by scripts/make-captures.sh with
 * mosquitto, Eclipse Tahu's sparkplug-client edge node and an MQTT.js primary host application
 * (scripts/corpus-sparkplug.mjs). real-sparkplug.expected.ndjson is what each client logged it published (or
 * registered as its Will). Without tshark and without any Sparkplug decoding: the CLI's --json PUBLISH and CONNECT
 * records must match that file (each client's PUBLISHes in order, their topics, QoS, retain and payload lengths, the
 * Wills), and the broker's deliveries must be what the subscriptions imply.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { jsonLines, runCli } from './builders/cli.js';
import { readExpectedPublishes, type ExpectedPublish } from './builders/sparkplug.js';

const DIR = join(import.meta.dirname, '..', 'captures');
const CAPTURE = join(DIR, 'real-sparkplug.pcap');

type Expected = ExpectedPublish;

interface Rec {
  kind: string;
  type?: string;
  conn?: number;
  dir?: 'c2s' | 's2c';
  fields?: Record<string, unknown>;
}

const HOST = 'corpus-sp-host';
const EDGE = 'corpus-sp-edge1';
const expected: Expected[] = readExpectedPublishes();
const published = expected.filter((e) => !e.will);
const wills = expected.filter((e) => e.will);
const lengthOf = (e: Expected): number => (e.hex !== undefined ? e.hex.length / 2 : Buffer.byteLength(e.text ?? ''));
const countBy = <T>(xs: T[], key: (x: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
};

/** Who the broker delivers a message on `topic` to: the host (spBv1.0/CorpusGroup/# and its own STATE, no No Local), the edge node (its NCMD and DCMD). */
function receivers(topic: string): string[] {
  const out: string[] = [];
  if (topic.startsWith('spBv1.0/CorpusGroup/') || topic === `spBv1.0/STATE/${HOST}`) out.push(HOST);
  if (/^spBv1\.0\/CorpusGroup\/(NCMD|DCMD)\/Edge1(\/|$)/.test(topic)) out.push(EDGE);
  return out;
}

describe('captures/real-sparkplug.pcap', () => {
  test('the capture and its expected file exist', () => {
    expect(existsSync(CAPTURE)).toBe(true);
    expect(published.length).toBeGreaterThan(300);
  });

  test('the expected file tells the scenario: births, a rebirth, commands, a device death, a seq wrap, two Wills', () => {
    expect(countBy(expected, (e) => `${e.client} ${e.message_type}${e.will ? ' will' : ''}`)).toEqual({
      [`${HOST} STATE will`]: 1,
      [`${HOST} STATE`]: 2,
      [`${HOST} NCMD`]: 1,
      [`${HOST} DCMD`]: 1,
      [`${EDGE} NDEATH will`]: 1,
      [`${EDGE} NBIRTH`]: 2,
      [`${EDGE} DBIRTH`]: 4,
      [`${EDGE} NDATA`]: 33,
      [`${EDGE} DDATA`]: 274,
      [`${EDGE} DDEATH`]: 1,
    });
    // The edge node's seq: 0 at each NBIRTH, then one more per message, modulo 256; it wraps once.
    const edge = published.filter((e) => e.client === EDGE);
    let prev = -1;
    let wraps = 0;
    for (const e of edge) {
      const seq = e.payload.seq!;
      if (e.message_type === 'NBIRTH') expect(seq).toBe(0);
      else expect(seq).toBe((prev + 1) % 256);
      if (e.message_type !== 'NBIRTH' && seq === 0) wraps++;
      prev = seq;
    }
    expect(wraps).toBe(1);
    // NDEATH (the Will), NCMD and DCMD carry no seq; DATA metrics have an alias and no name.
    for (const e of expected.filter((x) => ['NDEATH', 'NCMD', 'DCMD'].includes(x.message_type))) expect(e.payload.seq).toBeUndefined();
    for (const e of edge.filter((x) => x.message_type.endsWith('DATA'))) {
      for (const m of e.payload.metrics ?? []) {
        expect(m.name).toBeUndefined();
        expect(typeof m.alias).toBe('number');
      }
    }
  });

  test('the CLI finds every PUBLISH each client sent, in order, and the Wills in the CONNECTs', () => {
    const r = runCli(['--json', '--full', CAPTURE]);
    expect(r.status).toBe(0);
    const recs = jsonLines(r.stdout) as unknown as Rec[];
    const packets = recs.filter((x) => x.kind === 'packet');
    const connects = packets.filter((p) => p.type === 'CONNECT');
    expect(connects.map((c) => c.fields!.clientId).sort()).toEqual([EDGE, HOST]);
    const connOf = (client: string): number => connects.find((c) => c.fields!.clientId === client)!.conn!;

    for (const client of [HOST, EDGE]) {
      const conn = connOf(client);
      // What the client sent: topic, QoS, retain and payload length of each PUBLISH, in order.
      const sent = packets
        .filter((p) => p.conn === conn && p.dir === 'c2s' && p.type === 'PUBLISH')
        .map((p) => ({ topic: p.fields!.topic, qos: p.fields!.qos, retain: p.fields!.retain, length: p.fields!.payloadLength }));
      const logged = published.filter((e) => e.client === client).map((e) => ({ topic: e.topic, qos: e.qos, retain: e.retain, length: lengthOf(e) }));
      expect(sent).toEqual(logged);
      // Its Will, in its CONNECT.
      const w = wills.find((e) => e.client === client)!;
      const c = connects.find((x) => x.conn === conn)!.fields!;
      expect({ flag: c.willFlag, topic: c.willTopic, qos: c.willQos, retain: c.willRetain }).toEqual({ flag: true, topic: w.topic, qos: w.qos, retain: w.retain });
    }

    // What the broker delivered: every published message once per subscribed receiver, plus the edge node's NDEATH
    // Will to the host (the edge node was killed); the host's Will is not published (it sent DISCONNECT 0).
    for (const client of [HOST, EDGE]) {
      const conn = connOf(client);
      const got = packets.filter((p) => p.conn === conn && p.dir === 's2c' && p.type === 'PUBLISH').map((p) => String(p.fields!.topic));
      const want = published.filter((e) => receivers(e.topic).includes(client)).map((e) => e.topic);
      if (client === HOST) want.push(wills.find((e) => e.client === EDGE)!.topic);
      expect(countBy(got, (t) => t)).toEqual(countBy(want, (t) => t));
    }
    // The edge node's connection ends without DISCONNECT (SIGKILL); the host's with one.
    expect(packets.filter((p) => p.type === 'DISCONNECT').map((p) => p.conn)).toEqual([connOf(HOST)]);
  });
});
