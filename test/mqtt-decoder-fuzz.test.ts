import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodePacket, inferLevel } from '../src/mqtt/decoder.js';
import type { MqttPacket } from '../src/mqtt/packets.js';
import type { FieldNode, ProtocolLevel } from '../src/mqtt/types.js';
import {
  ack, auth, connack, connect, disconnect, hex, pingreq, publish, suback, subscribe, unsuback, unsubscribe,
} from './builders/mqtt-bytes.js';
import { fieldsOf } from './builders/fields.js';

const VALID: [Uint8Array, ProtocolLevel][] = [
  [connect({ level: 3, will: { topic: 'w', payload: 'x', qos: 1 }, username: 'u', password: 'p' }), 3],
  [connect({ level: 4, will: { topic: 'w/t', payload: 'bye' }, username: 'user', password: 'secret' }), 4],
  [connect({ level: 5, properties: [['sessionExpiryInterval', 10], ['authenticationMethod', 'm'], ['authenticationData', 'd']], will: { topic: 'w', payload: 'x', properties: [['contentType', 'c'], ['userProperty', ['k', 'v']]] }, username: 'u', password: 'p' }), 5],
  [connack({ level: 4 }), 4],
  [connack({ level: 5, properties: [['assignedClientIdentifier', 'id'], ['maximumPacketSize', 1000], ['receiveMaximum', 10]] }), 5],
  [publish({ level: 4, topic: 'a/b', qos: 1, packetId: 3, payload: 'hello world' }), 4],
  [publish({ level: 5, topic: 'a/b', qos: 2, packetId: 3, payload: hex('00 01 02'), properties: [['payloadFormatIndicator', 0], ['responseTopic', 'r'], ['correlationData', hex('aa bb')], ['subscriptionIdentifier', 300], ['topicAlias', 4]] }), 5],
  [ack('PUBACK', { level: 4 }), 4],
  [ack('PUBREL', { level: 5, reasonCode: 0, properties: [['reasonString', 'r'], ['userProperty', ['a', 'b']]] }), 5],
  [subscribe({ level: 4, subscriptions: [{ topic: 'a/#', qos: 1 }, { topic: '+/b', qos: 2 }] }), 4],
  [subscribe({ level: 5, subscriptions: [{ topic: '$share/g/a', qos: 2, retainHandling: 1, retainAsPublished: true }], properties: [['subscriptionIdentifier', 7]] }), 5],
  [suback({ level: 4, codes: [0, 1, 0x80] }), 4],
  [suback({ level: 5, codes: [0x97, 1], properties: [['reasonString', 'x']] }), 5],
  [unsubscribe({ level: 4, topics: ['a', 'b/+'] }), 4],
  [unsubscribe({ level: 5, topics: ['a'], properties: [['userProperty', ['k', 'v']]] }), 5],
  [unsuback({ level: 5, codes: [0, 0x8f] }), 5],
  [pingreq(), 4],
  [disconnect({ level: 5, reasonCode: 0x8e, properties: [['reasonString', 'taken'], ['serverReference', 's']] }), 5],
  [auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm'], ['authenticationData', hex('01')]] }), 5],
];

function fail(msg: string, b: Uint8Array): never {
  throw new Error(`${msg} for ${Buffer.from(b).toString('hex')}`);
}

/** Plain checks (not expect) because this runs tens of thousands of times. */
function checkInvariants(b: Uint8Array, p: MqttPacket): void {
  for (const pr of p.problems) {
    if (pr.code === 'internal-error') fail(`internal error: ${pr.message}`, b);
    if (pr.offset < 0 || pr.length < 0 || pr.offset + pr.length > b.length) fail(`problem out of bounds ${JSON.stringify(pr)}`, b);
    if (pr.severity !== 'error' && pr.severity !== 'warning') fail('problem without severity', b);
  }
  const walk = (n: FieldNode, parent: FieldNode | null): void => {
    if (n.offset < 0 || n.length < 0 || n.offset + n.length > b.length) fail(`node ${n.key} out of bounds`, b);
    if (parent && (n.offset < parent.offset || n.offset + n.length > parent.offset + parent.length)) {
      fail(`node ${n.key} [${n.offset}+${n.length}] outside parent ${parent.key} [${parent.offset}+${parent.length}]`, b);
    }
    for (const c of n.children ?? []) walk(c, n);
  };
  if (p.tree) walk(p.tree, null);
  // Fields must be JSON-serialisable (the JSON mode prints them as they are).
  JSON.stringify(fieldsOf(p));
}

function both(b: Uint8Array, level: ProtocolLevel, dir: 'c2s' | 's2c' | null): void {
  const a = decodePacket(b, { level, dir, tree: false });
  const t = decodePacket(b, { level, dir, tree: true });
  checkInvariants(b, a);
  checkInvariants(b, t);
  if (a.tree !== null) fail('tree built without ctx.tree', b);
  if (JSON.stringify(fieldsOf(t)) !== JSON.stringify(fieldsOf(a))) fail('fields differ between tree and no-tree', b);
  if (JSON.stringify(t.problems) !== JSON.stringify(a.problems)) fail('problems differ between tree and no-tree', b);
  const lv = inferLevel(b);
  if (!(lv === null || lv === 3 || lv === 4 || lv === 5)) fail(`inferLevel returned ${String(lv)}`, b);
}

const level = fc.constantFrom<ProtocolLevel>(3, 4, 5);
const dir = fc.constantFrom<'c2s' | 's2c' | null>('c2s', 's2c', null);

type Mutation =
  | { kind: 'set'; at: number; v: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'insert'; at: number; v: number }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(src: Uint8Array, ms: Mutation[]): Uint8Array {
  let a = Array.from(src);
  for (const m of ms) {
    if (a.length === 0) break;
    const at = m.at % a.length;
    switch (m.kind) {
      case 'set': a[at] = m.v; break;
      case 'flip': a[at] = a[at]! ^ (1 << m.bit); break;
      case 'insert': a.splice(at, 0, m.v); break;
      case 'delete': a.splice(at, 1); break;
      case 'truncate': a = a.slice(0, at); break;
    }
  }
  return Uint8Array.from(a);
}

describe('fuzz: decodePacket never throws and its tree stays in bounds', () => {
  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), level, dir, (b, lv, d) => {
        both(b, lv, d);
      }),
      { numRuns: 10000 },
    );
  });

  test('random bytes behind a plausible fixed header', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 }), level, dir, (b0, body, lv, d) => {
        const rl = body.length < 128 ? [body.length] : [(body.length & 0x7f) | 0x80, body.length >> 7];
        both(Uint8Array.from([b0, ...rl, ...body]), lv, d);
      }),
      { numRuns: 10000 },
    );
  });

  test('mutations of valid packets', () => {
    fc.assert(
      fc.property(fc.constantFrom(...VALID), fc.array(mutation, { minLength: 1, maxLength: 4 }), dir, ([b, lv], ms, d) => {
        both(mutate(b, ms), lv, d);
      }),
      { numRuns: 10000 },
    );
  });

  test('mutated bodies with a corrected Remaining Length reach deep fields', () => {
    fc.assert(
      fc.property(fc.constantFrom(...VALID), fc.array(mutation, { minLength: 1, maxLength: 3 }), dir, ([b, lv], ms, d) => {
        const hl = b[1]! < 128 ? 2 : b[2]! < 128 ? 3 : 4;
        const body = mutate(b.subarray(hl), ms);
        const rl = body.length < 128 ? [body.length] : [(body.length & 0x7f) | 0x80, body.length >> 7];
        both(Uint8Array.from([b[0]!, ...rl, ...body]), lv, d);
      }),
      { numRuns: 10000 },
    );
  });

  test('the unmutated corpus is clean', () => {
    for (const [b, lv] of VALID) {
      const p = decodePacket(b, { level: lv, dir: null, tree: true });
      expect(p.problems, JSON.stringify(p.problems)).toEqual([]);
    }
  });
});
