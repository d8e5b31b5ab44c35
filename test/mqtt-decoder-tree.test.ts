import { describe, expect, test } from 'vitest';
import { decodePacket } from '../src/mqtt/decoder.js';
import type { FieldNode, ProtocolLevel } from '../src/mqtt/types.js';
import {
  ack, auth, connack, connect, disconnect, hex, pingreq, publish, suback, subscribe, unsuback, unsubscribe,
} from './builders/mqtt-bytes.js';
import { fieldsOf } from './builders/fields.js';

function walk(n: FieldNode, f: (n: FieldNode, parent: FieldNode | null) => void, parent: FieldNode | null = null): void {
  f(n, parent);
  for (const c of n.children ?? []) walk(c, f, n);
}

function find(n: FieldNode, pred: (n: FieldNode) => boolean): FieldNode {
  let hit: FieldNode | undefined;
  walk(n, (x) => { if (!hit && pred(x)) hit = x; });
  if (!hit) throw new Error('not found');
  return hit;
}

const byKey = (n: FieldNode, key: string): FieldNode => find(n, (x) => x.key === key);

/** A spread of valid packets of every type and version. */
const CORPUS: [Uint8Array, ProtocolLevel][] = [
  [connect({ level: 3, will: { topic: 'w', payload: 'x', qos: 1 }, username: 'u', password: 'p' }), 3],
  [connect({ level: 4, clean: false, keepAlive: 0, username: 'u' }), 4],
  [connect({ level: 5, properties: [['sessionExpiryInterval', 10], ['userProperty', ['a', 'b']]], will: { topic: 'w', payload: 'x', properties: [['willDelayInterval', 1]] } }), 5],
  [connack({ level: 4, sessionPresent: true }), 4],
  [connack({ level: 5, properties: [['serverKeepAlive', 30], ['reasonString', 'ok']] }), 5],
  [publish({ level: 4, topic: 'a/b', qos: 2, packetId: 3, payload: 'hello' }), 4],
  [publish({ level: 5, topic: 'a/b', qos: 1, packetId: 3, payload: hex('00 01'), properties: [['correlationData', hex('aa')], ['subscriptionIdentifier', 2]] }), 5],
  [ack('PUBACK', { level: 4 }), 4],
  [ack('PUBREC', { level: 5, reasonCode: 0x10 }), 5],
  [ack('PUBREL', { level: 5, reasonCode: 0x92, properties: [['reasonString', 'gone']] }), 5],
  [ack('PUBCOMP', { level: 5 }), 5],
  [subscribe({ level: 4, subscriptions: [{ topic: 'a/#', qos: 1 }] }), 4],
  [subscribe({ level: 5, subscriptions: [{ topic: '$share/g/a', qos: 2, retainHandling: 1 }], properties: [['subscriptionIdentifier', 7]] }), 5],
  [suback({ level: 4, codes: [0, 1, 0x80] }), 4],
  [suback({ level: 5, codes: [0x97] }), 5],
  [unsubscribe({ level: 4, topics: ['a', 'b/+'] }), 4],
  [unsubscribe({ level: 5, topics: ['a'] }), 5],
  [unsuback({ level: 4 }), 4],
  [unsuback({ level: 5, codes: [0, 0x8f] }), 5],
  [pingreq(), 4],
  [hex('d0 00'), 5],
  [disconnect({ level: 4 }), 4],
  [disconnect({ level: 5, reasonCode: 0x8e, properties: [['reasonString', 'taken']] }), 5],
  [auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm'], ['authenticationData', hex('01')]] }), 5],
  [auth(), 5],
];

describe('field tree', () => {
  test.each(CORPUS.map((c, i) => [i, ...c] as const))('corpus %i: tree and no-tree agree; nodes nest within bounds', (_i, b, level) => {
    const a = decodePacket(b, { level, dir: null, tree: false });
    const t = decodePacket(b, { level, dir: null, tree: true });
    expect(a.tree).toBeNull();
    expect(fieldsOf(t)).toEqual(fieldsOf(a));
    expect(t.problems).toEqual(a.problems);
    expect({ ...t, tree: null }).toEqual(a);
    const root = t.tree!;
    expect(root.offset).toBe(0);
    expect(root.length).toBe(b.length);
    walk(root, (n, parent) => {
      expect(n.offset).toBeGreaterThanOrEqual(0);
      expect(n.length).toBeGreaterThanOrEqual(0);
      expect(n.offset + n.length).toBeLessThanOrEqual(b.length);
      expect(n.key).toMatch(/^[a-z][A-Za-z0-9]*$/);
      expect(n.label.length).toBeGreaterThan(0);
      if (parent) {
        expect(n.offset).toBeGreaterThanOrEqual(parent.offset);
        expect(n.offset + n.length).toBeLessThanOrEqual(parent.offset + parent.length);
      }
    });
    // The top-level sections cover the packet without gaps or overlap.
    let at = 0;
    for (const c of root.children!) {
      expect(c.offset).toBe(at);
      at = c.offset + c.length;
    }
    expect(at).toBe(b.length);
  });

  test('PUBLISH fixed header byte has one child per bit group', () => {
    const t = decodePacket(hex('3b 05 00 01 61 00 07'), { level: 4, dir: null, tree: true }).tree!;
    const h = byKey(t, 'packetTypeFlags');
    expect(h.explain).toBe('0011 1011: PUBLISH, DUP 1, QoS 1, RETAIN 1');
    expect(h.children!.map((c) => [c.key, c.value, c.explain])).toEqual([
      ['packetType', '3', '0011 .... = 3 (PUBLISH)'],
      ['dup', '1', '.... 1... = DUP 1 (re-delivery)'],
      ['qos', '1', '.... .01. = QoS 1'],
      ['retain', '1', '.... ...1 = RETAIN 1'],
    ]);
  });

  test('reserved flag bits are one node saying what is required', () => {
    const t = decodePacket(hex('62 02 00 01'), { level: 4, dir: null, tree: true }).tree!;
    expect(byKey(t, 'reservedFlags').explain).toBe('.... 0010 = reserved, must be 0010');
  });

  test('Remaining Length arithmetic is computed from the bytes', () => {
    const one = decodePacket(hex('c0 00'), { level: 4, dir: null, tree: true }).tree!;
    expect(byKey(one, 'remainingLength').explain).toBe('0 (one byte: 0x00 < 128)');
    const nonMin = decodePacket(hex('c0 80 00'), { level: 4, dir: null, tree: true }).tree!;
    expect(byKey(nonMin, 'remainingLength').explain).toBe('0 + 0x128 = 0 (not the shortest encoding)');
    const big = publish({ level: 4, topic: 'a', payload: new Uint8Array(2097152) });
    const t = decodePacket(big, { level: 4, dir: null, tree: true });
    expect(byKey(t.tree!, 'remainingLength').explain).toBe('3 + 0x128 + 0x16384 + 1x2097152 = 2097155');
  });

  test('keep alive explains the 1.5x rule from the value', () => {
    const t = decodePacket(connect({ keepAlive: 60 }), { level: 4, dir: null, tree: true }).tree!;
    expect(byKey(t, 'keepAlive').explain).toBe('60 s (1 min): the client sends something at least every 60 s; the server may close after 1.5x = 90 s of silence');
    const z = decodePacket(connect({ keepAlive: 0 }), { level: 4, dir: null, tree: true }).tree!;
    expect(byKey(z, 'keepAlive').explain).toMatch(/^0 = keep alive off/);
    const odd = decodePacket(connect({ keepAlive: 5 }), { level: 4, dir: null, tree: true }).tree!;
    expect(byKey(odd, 'keepAlive').explain).toContain('1.5x = 7.5 s');
  });

  test('5.0 clean start and connect flags', () => {
    const t = decodePacket(connect({ level: 5, clean: false, will: { topic: 'w', payload: '', qos: 2, retain: true } }), { level: 5, dir: null, tree: true }).tree!;
    expect(byKey(t, 'connectFlags').explain).toBe('0011 0100: user name 0, password 0, will retain 1, will QoS 2, will 1, clean start 0, reserved 0');
    expect(byKey(t, 'willQos').explain).toBe('...1 0... = will QoS: 2');
  });

  test('length-prefixed strings have length and text children', () => {
    const t = decodePacket(publish({ level: 4, topic: 'ab' }), { level: 4, dir: null, tree: true }).tree!;
    const topic = byKey(t, 'topic');
    expect(topic.children!.map((c) => [c.key, c.offset, c.length, c.value])).toEqual([
      ['length', 2, 2, '2'],
      ['text', 4, 2, '"ab"'],
    ]);
  });

  test('properties show id, name and value; reason codes show their name', () => {
    const b = ack('PUBACK', { level: 5, reasonCode: 0x87, properties: [['reasonString', 'nope']] });
    const t = decodePacket(b, { level: 5, dir: null, tree: true }).tree!;
    const rc = byKey(t, 'reasonCode');
    expect([rc.value, rc.explain]).toEqual(['0x87', 'Not authorized']);
    const rs = byKey(t, 'reasonString');
    expect(rs.label).toBe('Reason String');
    expect(rs.value).toBe('"nope"');
    expect(rs.explain).toBe('id 0x1f, UTF-8 string');
    const s = decodePacket(connect({ level: 5, properties: [['sessionExpiryInterval', 3600]] }), { level: 5, dir: null, tree: true }).tree!;
    expect(byKey(s, 'sessionExpiryInterval').explain).toBe('id 0x11, four byte integer: 3600 s (1 h)');
  });

  test('short forms show the omitted reason code as a zero-length node', () => {
    const t = decodePacket(ack('PUBACK', { level: 5 }), { level: 5, dir: null, tree: true }).tree!;
    const rc = byKey(t, 'reasonCode');
    expect([rc.offset, rc.length, rc.value]).toEqual([4, 0, '0x00']);
    expect(rc.explain).toContain('Remaining Length 2');
  });

  test('a cut-off field is shown as such within the packet', () => {
    const b = hex('30 05 00 09 61 62 63');
    const t = decodePacket(b, { level: 4, dir: null, tree: true }).tree!;
    const topic = byKey(t, 'topic');
    expect(topic.label).toBe('topic name (cut off)');
    expect(topic.offset + topic.length).toBe(7);
  });

  test('no-tree decoding is fast enough for millions of packets', () => {
    const b = publish({ level: 5, topic: 'sensors/room1/temperature', qos: 1, packetId: 7, payload: '{"t":21.5}', properties: [['messageExpiryInterval', 60]] });
    const n = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) decodePacket(b, { level: 5, dir: 'c2s', tree: false });
    const ms = performance.now() - t0;
    // Generous: about 1 µs per packet is typical; only catch pathological regressions.
    expect(ms).toBeLessThan(5000);
  });
});
