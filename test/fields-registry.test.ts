/**
 * No field reaches the NDJSON without a registry row (src/mqtt/fields.ts): every key the writer puts in `fields`, in a
 * subscription entry or in a property block is checked against the registry, over every capture we have (ours, and
 * the public ones when ../shared is present), builder packets of every type and level, and random bytes.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodePacket } from '../src/mqtt/decoder.js';
import { PACKET_FIELDS, PROPERTY_FIELDS } from '../src/mqtt/fields.js';
import type { ProtocolLevel } from '../src/mqtt/types.js';
import { packetJsonText } from '../src/render/ndjson.js';
import { fieldsOf } from './builders/fields.js';
import {
  ack, auth, connack, connect, disconnect, pingreq, publish, suback, subscribe, unsuback, unsubscribe,
} from './builders/mqtt-bytes.js';
import { allCaptures, decodeFile } from './builders/public.js';

const PROPERTY_KEYS = new Set(PROPERTY_FIELDS.map((p) => p.property.key));
const PROPERTY_BLOCKS = new Set(['properties', 'willProperties']);

/** Keys of `fields` (and of its nested objects the registry describes) that have no registry row for `type`. */
function unregisteredKeys(type: number, fields: Record<string, unknown>): string[] {
  const rows = PACKET_FIELDS[type & 15] ?? [];
  const paths = new Set(rows.map((r) => r.path));
  const out: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (!paths.has(key)) {
      out.push(key);
      continue;
    }
    if (PROPERTY_BLOCKS.has(key) && value !== null && typeof value === 'object') {
      for (const k of Object.keys(value)) if (!PROPERTY_KEYS.has(k)) out.push(`${key}.${k}`);
    }
    if (Array.isArray(value)) {
      for (const item of value) {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
        for (const k of Object.keys(item)) if (!paths.has(`${key}[].${k}`)) out.push(`${key}[].${k}`);
      }
    }
  }
  return out;
}

const TYPE_BY_NAME = new Map<string, number>([
  ['RESERVED', 0], ['CONNECT', 1], ['CONNACK', 2], ['PUBLISH', 3], ['PUBACK', 4], ['PUBREC', 5], ['PUBREL', 6], ['PUBCOMP', 7],
  ['SUBSCRIBE', 8], ['SUBACK', 9], ['UNSUBSCRIBE', 10], ['UNSUBACK', 11], ['PINGREQ', 12], ['PINGRESP', 13], ['DISCONNECT', 14], ['AUTH', 15],
]);

describe('the registry check itself', () => {
  test('finds a key without a row, a nested one and an unknown property', () => {
    expect(unregisteredKeys(3, { topic: 't', bogus: 1 })).toEqual(['bogus']);
    expect(unregisteredKeys(8, { packetId: 1, subscriptions: [{ topic: 'a', qos: 0, extra: true }] })).toEqual(['subscriptions[].extra']);
    expect(unregisteredKeys(1, { properties: { sessionExpiryInterval: 1, madeUp: 2 } })).toEqual(['properties.madeUp']);
    expect(unregisteredKeys(12, { anything: 1 })).toEqual(['anything']);
  });
});

describe('every key the NDJSON writer emits has a registry row', () => {
  test('builder packets of every type and level', () => {
    const packets: [Uint8Array, ProtocolLevel][] = [
      [connect({ level: 3, will: { topic: 'w', payload: 'x', qos: 1 }, username: 'u', password: 'p' }), 3],
      [connect({ level: 5, properties: [['sessionExpiryInterval', 10], ['authenticationMethod', 'm'], ['authenticationData', 'd']], will: { topic: 'w', payload: 'x', properties: [['contentType', 'c'], ['userProperty', ['k', 'v']]] }, username: 'u', password: 'p' }), 5],
      [connack({ level: 3 }), 3], [connack({ level: 4 }), 4],
      [connack({ level: 5, properties: [['assignedClientIdentifier', 'id'], ['maximumPacketSize', 1000]] }), 5],
      [publish({ level: 5, topic: 'a', qos: 2, packetId: 3, payload: 'x', properties: [['correlationData', 'c'], ['subscriptionIdentifier', 3], ['topicAlias', 4]] }), 5],
      [ack('PUBREC', { level: 5, reasonCode: 0x10, properties: [['reasonString', 'r']] }), 5], [ack('PUBCOMP', { level: 4 }), 4],
      [subscribe({ level: 5, subscriptions: [{ topic: 'a/#', qos: 1, noLocal: true, retainHandling: 2 }] }), 5],
      [subscribe({ level: 3, subscriptions: [{ topic: 'a', qos: 0 }] }), 3],
      [suback({ level: 4, codes: [0, 0x80] }), 4], [suback({ level: 5, codes: [1] }), 5],
      [unsubscribe({ level: 5, topics: ['a'] }), 5], [unsuback({ level: 4 }), 4], [unsuback({ level: 5, codes: [0x11] }), 5],
      [pingreq(), 4], [disconnect({ level: 4 }), 4], [disconnect({ level: 5, reasonCode: 4, properties: [['sessionExpiryInterval', 0]] }), 5],
      [auth({ reasonCode: 0x19, properties: [['authenticationMethod', 'm']] }), 5],
    ];
    for (const [b, level] of packets) {
      const p = decodePacket(b, { level, dir: null, tree: false });
      expect(unregisteredKeys(p.type, fieldsOf(p)), p.typeName).toEqual([]);
    }
  });

  test('random bytes at every level', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 120 }), fc.constantFrom<ProtocolLevel>(3, 4, 5), (b0, body, level) => {
        const b = new Uint8Array(2 + body.length);
        b[0] = b0;
        b[1] = Math.min(body.length, 127);
        b.set(body, 2);
        const p = decodePacket(b, { level, dir: null, tree: false });
        const extra = unregisteredKeys(p.type, fieldsOf(p));
        if (extra.length > 0) throw new Error(`${Buffer.from(b).toString('hex')}: ${extra.join(', ')}`);
      }),
      { numRuns: 3000, seed: 11 },
    );
  });

  // Whole records through the pipeline, with the rules (resolvedTopic) and the dialects (onenet, payloadView).
  for (const c of allCaptures()) {
    test(`${c.name}`, async () => {
      const { packets } = await decodeFile(c.path, c.extraPorts);
      for (const rec of packets) {
        const line = JSON.parse(packetJsonText(rec, { redact: false, payloadLimit: 1024 })) as { type: string; fields: Record<string, unknown> };
        const extra = unregisteredKeys(TYPE_BY_NAME.get(line.type) ?? -1, line.fields);
        if (extra.length > 0) throw new Error(`frame ${rec.frame} ${line.type}: ${extra.join(', ')}`);
      }
    });
  }
});
