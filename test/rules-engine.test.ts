/**
 * The rules stage as a pipeline stage: what it must NOT report (unseen state), the incomplete-flow event, topic alias
 * resolution, state release on close, and the catalogue listing.
 */
import { describe, expect, test } from 'vitest';
import type { PacketRecord, PacketSink, Violation } from '../src/mqtt/connection-decoder.js';
import { decodePacket } from '../src/mqtt/decoder.js';
import { CATALOGUE, catalogueCounts, ruleRows } from '../src/rules/catalogue.js';
import { RuleEngine } from '../src/rules/engine.js';
import { topicMatches } from '../src/mqtt/topics.js';
import type { Connection } from '../src/tcp/types.js';
import {
  ack, connack, connect, disconnect, hex, pingreq, pingresp, publish, suback, subscribe,
} from './builders/mqtt-bytes.js';
import { Harness, alone, describeViolations, makeConn, type Ev } from './builders/rules-harness.js';
import { endAt } from './builders/frames.js';
import { fieldsOf } from './builders/fields.js';

const ids = (vs: readonly Violation[]): string[] => vs.map((v) => `${v.spec} ${v.id}`);

describe('state the capture does not show is not assumed', () => {
  test('connection picked up mid-stream: no CONNECT error, unknown acks accepted', () => {
    const h = new Harness({ sawSyn: false });
    h.c(publish({ topic: 'a', qos: 1, packetId: 4 }));
    h.s(ack('PUBACK', { packetId: 4 }));
    h.s(ack('PUBACK', { packetId: 9 }));
    h.c(ack('PUBREL', { packetId: 3 }));
    h.s(pingresp());
    h.close();
    expect(h.all(), describeViolations(h.all())).toEqual([]);
  });

  test('resumed session (Session Present 1): acks for earlier flows are accepted', () => {
    const h = new Harness();
    h.c(connect({ clientId: 'c', clean: false }));
    h.s(connack({ sessionPresent: true }));
    h.s(ack('PUBREL', { packetId: 7 }));
    h.c(ack('PUBCOMP', { packetId: 7 }));
    h.c(publish({ topic: 'a', qos: 1, packetId: 8, dup: true }));
    h.s(ack('PUBACK', { packetId: 8 }));
    h.s(publish({ topic: 'never/subscribed' }));
    expect(h.all(), describeViolations(h.all())).toEqual([]);
  });

  test('the same unknown ack is an error once the session is known to have started empty', () => {
    const h = new Harness();
    h.c(connect({ clientId: 'c', clean: false }));
    h.s(connack({ sessionPresent: false }));
    h.s(ack('PUBACK', { packetId: 9 }));
    expect(ids(h.all())).toEqual(['3.1.1 MQTT-2.3.1-6']);
  });
});

describe('incomplete-flow events', () => {
  test('one event per side that owes a packet, warnings only, with the connection and frame', () => {
    const h = subscribedSession();
    h.c(publish({ topic: 'a', qos: 1, packetId: 1 }), 10);
    h.c(publish({ topic: 'a', qos: 2, packetId: 2 }), 10.1);
    h.s(ack('PUBREC', { packetId: 2 }), 10.2);
    h.s(publish({ topic: 'x/y', qos: 2, packetId: 1 }), 10.3);
    h.c(pingreq(), 20);
    h.s(pingresp(), 20.1);
    const events = h.close();
    expect(events.map((e) => [e.event, e.dir, e.conn, e.frame])).toEqual([
      ['incomplete-flow', 'c2s', 0, h.frame + 1],
      ['incomplete-flow', 's2c', 0, h.frame + 1],
    ]);
    const [client, server] = events as [Ev, Ev];
    expect(ids(client.violations!)).toEqual(['3.1.1 ALL:4.3.3:pubrel-missing', '3.1.1 ALL:3.3.4:publish-unanswered']);
    expect(ids(server.violations!)).toEqual(['3.1.1 ALL:3.3.4:publish-unanswered']);
    expect([...client.violations!, ...server.violations!].every((v) => v.severity === 'warning')).toBe(true);
    expect(client.message).toContain('2 exchanges the client never completed');
  });

  test('requests within the grace period before the last packet are not reported', () => {
    const h = subscribedSession();
    h.c(publish({ topic: 'a', qos: 1, packetId: 1 }), 10);
    h.c(pingreq(), 10.5);
    expect(h.close()).toEqual([]);
  });

  test('nothing after a refusal or an abortive DISCONNECT', () => {
    const h = new Harness();
    h.c(connect({ level: 5 }), 0);
    h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 1 }), 0.1);
    h.s(connack({ level: 5, code: 0x87 }), 5);
    expect(h.close()).toEqual([]);
    const h2 = new Harness();
    h2.c(connect({ level: 5 }), 0);
    h2.s(connack({ level: 5 }), 0.1);
    h2.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 1 }), 0.2);
    h2.s(disconnect({ level: 5, reasonCode: 0x93 }), 5);
    expect(h2.close()).toEqual([]);
  });

  test('a side never heard from is not blamed (one-way capture)', () => {
    const h = new Harness();
    h.c(connect({ clientId: 'c', keepAlive: 0 }), 0);
    h.c(subscribe({ packetId: 1, subscriptions: [{ topic: 'a' }] }), 1);
    h.c(publish({ topic: 'a', qos: 1, packetId: 2 }), 5);
    h.c(pingreq(), 9);
    expect(h.close()).toEqual([]);
    expect(h.all()).toEqual([]);
  });

  test('the event name is part of the StreamEvent contract and reaches the next stage before close', () => {
    const seen: string[] = [];
    const sink: PacketSink = {
      open: () => {}, packet: () => {}, event: (e) => seen.push(e.event), close: () => seen.push('close'),
    };
    const conn = makeConn(3);
    const eng = new RuleEngine(sink);
    eng.open(conn);
    feed(eng, conn, 'c2s', connect({}), 0);
    feed(eng, conn, 'c2s', pingreq(), 1);
    feed(eng, conn, 's2c', connack({}), 5);
    eng.close(conn, endAt(9));
    expect(seen).toEqual(['incomplete-flow', 'close']);
  });
});

describe('topic aliases', () => {
  test('resolved per direction; an alias set by one side means nothing to the other', () => {
    const h = new Harness();
    h.c(connect({ level: 5, properties: [['topicAliasMaximum', 4]] }));
    h.s(connack({ level: 5, properties: [['topicAliasMaximum', 4]] }));
    h.c(publish({ level: 5, topic: 'up', properties: [['topicAlias', 1]] }));
    const again = h.c(publish({ level: 5, topic: '', properties: [['topicAlias', 1]] }));
    const other = h.s(publish({ level: 5, topic: '', properties: [['topicAlias', 1]] }));
    expect(fieldsOf(again.decoded)['resolvedTopic']).toBe('up');
    expect(fieldsOf(other.decoded)['resolvedTopic']).toBeUndefined();
    expect(ids(other.violations)).toContain('5.0 5.0:3.3.2.1:empty-topic-no-alias');
    expect(again.violations).toEqual([]);
  });

  test('a later PUBLISH with topic and alias remaps it', () => {
    const h = new Harness();
    h.c(connect({ level: 5 }));
    h.s(connack({ level: 5, properties: [['topicAliasMaximum', 2]] }));
    h.c(publish({ level: 5, topic: 'one', properties: [['topicAlias', 2]] }));
    h.c(publish({ level: 5, topic: 'two', properties: [['topicAlias', 2]] }));
    expect(fieldsOf(h.c(publish({ level: 5, topic: '', properties: [['topicAlias', 2]] })).decoded)['resolvedTopic']).toBe('two');
  });
});

describe('connection state', () => {
  test('released on close: a new connection with the same id starts fresh', () => {
    const sink: PacketSink = { open: () => {}, packet: () => {}, event: () => {}, close: () => {} };
    const conn = makeConn(1);
    const eng = new RuleEngine(sink);
    eng.open(conn);
    feed(eng, conn, 'c2s', connect({}), 0);
    eng.close(conn, endAt(2));
    eng.open(conn);
    expect(feed(eng, conn, 'c2s', connect({}), 1)).toEqual([]);
  });

  test('a packet for a connection never opened still gets session checks', () => {
    const sink: PacketSink = { open: () => {}, packet: () => {}, event: () => {}, close: () => {} };
    const conn = makeConn(2);
    const eng = new RuleEngine(sink);
    expect(ids(feed(eng, conn, 'c2s', pingreq(), 0))).toEqual(['3.1.1 MQTT-3.1.0-1']);
  });

  test('session checks can be switched off', () => {
    const sink: PacketSink = { open: () => {}, packet: () => {}, event: () => {}, close: () => {} };
    const conn = makeConn(2);
    const eng = new RuleEngine(sink, { session: false });
    expect(feed(eng, conn, 'c2s', pingreq(), 0)).toEqual([]);
  });

  test('many flows on one connection stay fast (ids reused after acks)', () => {
    const h = new Harness();
    h.c(connect({ clientId: 'c', keepAlive: 0 }), 0);
    h.s(connack({}), 0);
    const t0 = performance.now();
    for (let i = 0; i < 20000; i++) {
      const id = (i % 65535) + 1;
      h.c(publish({ topic: 't', qos: 1, packetId: id, payload: 'x' }), 1 + i * 0.001);
      h.s(ack('PUBACK', { packetId: id }), 1 + i * 0.001);
    }
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(h.all()).toEqual([]);
  });
});

describe('single packets', () => {
  test('violations point at the offending bytes', () => {
    const v = alone(hex('36 03 00 01 61'), 4).find((x) => x.id === 'MQTT-3.3.1-4')!;
    expect([v.offset, v.length]).toEqual([0, 1]);
    const w = alone(subscribe({ subscriptions: [{ topic: 'a+' }] }), 4).find((x) => x.id === 'MQTT-4.7.1-3')!;
    expect([w.offset, w.length]).toEqual([7, 1]);
  });

  test('3.1 tolerates what 3.1.1 forbids', () => {
    expect(ids(alone(connect({ level: 3, flags: 0x03 }), 3))).toEqual([]);
    expect(alone(hex('c1 00'), 3).map((v) => [v.id, v.spec, v.severity])).toEqual([['3.1:2.2.2:reserved-flags', '3.1', 'warning']]);
  });
});

describe('topic filter matching', () => {
  const m = (f: string, t: string): boolean => topicMatches(f, t, false);
  test.each([
    ['a/b', 'a/b', true], ['a/+', 'a/b', true], ['a/+', 'a/', true], ['a/+', 'a', false], ['a/#', 'a', true],
    ['a/#', 'a/b/c', true], ['#', 'x', true], ['+/+', '/x', true], ['a/b', 'a/b/c', false], ['a/b/c', 'a/b', false],
    ['+', 'ab', true], ['a', 'ab', false], ['ab', 'a', false],
  ])('%s matches %s: %s', (f, t, want) => {
    expect(m(f, t)).toBe(want);
  });
});

describe('catalogue listing', () => {
  test('every row of the spec notes is in the catalogue, implemented or with a reason', () => {
    const c = catalogueCounts();
    expect(c['3.1.1'].total).toBe(141);
    expect(c['5.0'].total).toBe(251);
    expect(CATALOGUE.filter((e) => e.spec === 'ref' && e.passive !== 'own')).toHaveLength(36);
    const rows = ruleRows();
    expect(rows).toHaveLength(CATALOGUE.length);
    expect(rows.filter((r) => !r.implemented && !r.why)).toEqual([]);
    expect(rows.filter((r) => r.implemented && r.why !== undefined)).toEqual([]);
    expect(new Set(rows.map((r) => `${r.spec}|${r.id}`)).size).toBe(rows.length);
  });

  test('rows carry spec, severity and paraphrase', () => {
    const r = ruleRows().find((x) => x.id === 'MQTT-3.1.2-3' && x.spec === '5.0')!;
    expect(r).toMatchObject({ severity: 'error', implemented: true });
    expect(r.paraphrase.length).toBeGreaterThan(10);
    const ref = ruleRows().find((x) => x.id === 'ALL:2.2.1:direction')!;
    expect(ref.spec).toBe('3.1,3.1.1,5.0');
    const broker = ruleRows().find((x) => x.id === 'MQTT-3.3.1-5' && x.spec === '3.1.1')!;
    expect(broker.implemented).toBe(false);
    expect(broker.why).toMatch(/broker/);
  });
});

// ---- helpers --------------------------------------------------------------------------------

function subscribedSession(): Harness {
  const h = new Harness();
  h.c(connect({ clientId: 'c', keepAlive: 0 }), 0);
  h.s(connack({}), 0.1);
  h.c(subscribe({ packetId: 100, subscriptions: [{ topic: 'x/#', qos: 2 }] }), 0.2);
  h.s(suback({ packetId: 100, codes: [2] }), 0.3);
  return h;
}

let frame = 0;
function feed(eng: RuleEngine, conn: Connection, dir: 'c2s' | 's2c', bytes: Uint8Array, t: number): Violation[] {
  const rec: PacketRecord = {
    conn, dir, frame: ++frame, frames: [frame], timeSec: t, timeNsec: 0, bytes,
    decoded: decodePacket(bytes, { level: 4, dir, tree: false }), levelInferred: false, streamOffset: 0, violations: [],
  };
  eng.packet(rec);
  return rec.violations;
}
