import { describe, expect, test } from 'vitest';
import { decodePacket } from '../src/mqtt/decoder.js';
import { PROPERTIES, PROPERTY_BY_ID, propertyAllowedIn, PUBLISH, SUBSCRIBE, WILL_CONTEXT } from '../src/mqtt/tables.js';
import type { FieldNode } from '../src/mqtt/types.js';
import {
  PID, ack, auth, bytes, connack, connect, disconnect, hex, publish, suback, subscribe, toHex, unsuback, unsubscribe,
  type Prop, type PropValue,
} from './builders/mqtt-bytes.js';
import { fieldsOf } from './builders/fields.js';

type Ctx = 'CONNECT' | 'CONNACK' | 'PUBLISH' | 'WILL' | 'PUBACK' | 'PUBREC' | 'PUBREL' | 'PUBCOMP' | 'SUBSCRIBE' | 'SUBACK' | 'UNSUBSCRIBE' | 'UNSUBACK' | 'DISCONNECT' | 'AUTH';

/** Builds a clean v5 packet of kind `ctx` carrying `props`, and says where the decoded properties land. */
function carrier(ctx: Ctx, props: Prop[]): { b: Uint8Array; key: 'properties' | 'willProperties'; dir: 'c2s' | 's2c' } {
  switch (ctx) {
    case 'CONNECT': return { b: connect({ level: 5, properties: props }), key: 'properties', dir: 'c2s' };
    case 'WILL': return { b: connect({ level: 5, will: { topic: 'w', payload: 'x', properties: props } }), key: 'willProperties', dir: 'c2s' };
    case 'CONNACK': return { b: connack({ level: 5, properties: props }), key: 'properties', dir: 's2c' };
    case 'PUBLISH': return { b: publish({ level: 5, topic: 't', payload: 'p', properties: props }), key: 'properties', dir: 's2c' };
    case 'PUBACK': case 'PUBREC': case 'PUBREL': case 'PUBCOMP':
      return { b: ack(ctx, { level: 5, reasonCode: 0, properties: props }), key: 'properties', dir: 'c2s' };
    case 'SUBSCRIBE': return { b: subscribe({ level: 5, properties: props, subscriptions: [{ topic: 'a' }] }), key: 'properties', dir: 'c2s' };
    case 'SUBACK': return { b: suback({ level: 5, properties: props, codes: [0] }), key: 'properties', dir: 's2c' };
    case 'UNSUBSCRIBE': return { b: unsubscribe({ level: 5, properties: props, topics: ['a'] }), key: 'properties', dir: 'c2s' };
    case 'UNSUBACK': return { b: unsuback({ level: 5, properties: props, codes: [0] }), key: 'properties', dir: 's2c' };
    case 'DISCONNECT': return { b: disconnect({ level: 5, reasonCode: 0, properties: props }), key: 'properties', dir: 'c2s' };
    case 'AUTH': return { b: auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'M'], ...props] }), key: 'properties', dir: 'c2s' };
  }
}

/** [property, a context it is legal in, wire value, decoded JSON value, type as the spec names it]. */
const CASES: [keyof typeof PID, Ctx, PropValue, unknown, string][] = [
  ['payloadFormatIndicator', 'PUBLISH', 1, 1, 'byte'],
  ['messageExpiryInterval', 'PUBLISH', 0x01020304, 0x01020304, 'fourByteInt'],
  ['contentType', 'WILL', 'text/plain', 'text/plain', 'utf8'],
  ['responseTopic', 'PUBLISH', 'reply/to', 'reply/to', 'utf8'],
  ['correlationData', 'PUBLISH', hex('de ad be ef'), { encoding: 'hex', data: 'deadbeef' }, 'binary'],
  ['subscriptionIdentifier', 'SUBSCRIBE', 268435455, 268435455, 'varInt'],
  ['sessionExpiryInterval', 'CONNECT', 0xffffffff, 0xffffffff, 'fourByteInt'],
  ['assignedClientIdentifier', 'CONNACK', 'auto-xyz', 'auto-xyz', 'utf8'],
  ['serverKeepAlive', 'CONNACK', 120, 120, 'twoByteInt'],
  ['authenticationMethod', 'CONNECT', 'SCRAM-SHA-256', 'SCRAM-SHA-256', 'utf8'],
  ['authenticationData', 'CONNACK', hex('00 ff'), { encoding: 'hex', data: '00ff' }, 'binary'],
  ['requestProblemInformation', 'CONNECT', 0, 0, 'byte'],
  ['willDelayInterval', 'WILL', 30, 30, 'fourByteInt'],
  ['requestResponseInformation', 'CONNECT', 1, 1, 'byte'],
  ['responseInformation', 'CONNACK', 'resp/', 'resp/', 'utf8'],
  ['serverReference', 'DISCONNECT', 'host:1883', 'host:1883', 'utf8'],
  ['reasonString', 'PUBREC', 'why', 'why', 'utf8'],
  ['receiveMaximum', 'CONNECT', 65535, 65535, 'twoByteInt'],
  ['topicAliasMaximum', 'CONNACK', 0, 0, 'twoByteInt'],
  ['topicAlias', 'PUBLISH', 1, 1, 'twoByteInt'],
  ['maximumQos', 'CONNACK', 0, 0, 'byte'],
  ['retainAvailable', 'CONNACK', 1, 1, 'byte'],
  ['userProperty', 'UNSUBACK', ['name', 'välue'], [['name', 'välue']], 'utf8Pair'],
  ['maximumPacketSize', 'CONNECT', 1048576, 1048576, 'fourByteInt'],
  ['wildcardSubscriptionAvailable', 'CONNACK', 0, 0, 'byte'],
  ['subscriptionIdentifierAvailable', 'CONNACK', 1, 1, 'byte'],
  ['sharedSubscriptionAvailable', 'CONNACK', 0, 0, 'byte'],
];

function findKey(n: FieldNode, key: string): FieldNode | undefined {
  if (n.key === key) return n;
  for (const c of n.children ?? []) {
    const f = findKey(c, key);
    if (f) return f;
  }
  return undefined;
}

describe('all 27 MQTT 5.0 properties', () => {
  test('the table has exactly the 27 spec properties, ids matching the builder', () => {
    expect(PROPERTIES).toHaveLength(27);
    expect(CASES).toHaveLength(27);
    for (const [name] of CASES) {
      const info = PROPERTY_BY_ID[PID[name]];
      expect(info, name).toBeDefined();
      expect(info!.key).toBe(name === 'userProperty' ? 'userProperties' : name);
    }
  });

  test.each(CASES)('%s in %s', (name, ctx, wire, json, type) => {
    const { b, key, dir } = carrier(ctx, [[name, wire]]);
    const p = decodePacket(b, { level: 5, dir, tree: true });
    expect(p.problems, JSON.stringify(p.problems)).toEqual([]);
    const jsonKey = name === 'userProperty' ? 'userProperties' : name;
    const props = fieldsOf(p)[key] as Record<string, unknown>;
    expect(props[jsonKey]).toEqual(json);
    const info = PROPERTY_BY_ID[PID[name]]!;
    expect(info.type).toBe(type);
    // Tree: property node with its id child at the right offset, value shown.
    const node = findKey(p.tree!, jsonKey)!;
    expect(node).toBeDefined();
    expect(node.label).toBe(info.name);
    const id = node.children![0]!;
    expect(id.key).toBe('id');
    expect(b[id.offset]).toBe(PID[name]);
    expect(id.value).toBe('0x' + PID[name].toString(16).padStart(2, '0'));
    expect(node.explain).toMatch(new RegExp(`^id 0x${PID[name].toString(16).padStart(2, '0')}, `));
    expect(node.value).toBeTruthy();
  });

  test('exact bytes of a property block', () => {
    const b = publish({ level: 5, topic: 'a', payload: '', properties: [['topicAlias', 1], ['userProperty', ['k', 'v']]] });
    expect(toHex(b)).toBe('30 0e 00 01 61 0a 23 00 01 26 00 01 6b 00 01 76');
    const p = decodePacket(b, { level: 5, dir: 'c2s', tree: true });
    expect(p.problems).toEqual([]);
    const props = p.tree!.children!.find((c) => c.key === 'variableHeader')!.children!.find((c) => c.key === 'properties')!;
    expect(props.offset).toBe(5);
    expect(props.length).toBe(11);
    expect(props.children!.map((c) => [c.key, c.offset, c.length, c.value])).toEqual([
      ['propertyLength', 5, 1, '10'],
      ['topicAlias', 6, 3, '1'],
      ['userProperties', 9, 7, '"k" = "v"'],
    ]);
  });

  test('User Property repeats and keeps order; Subscription Identifier repeats in PUBLISH as an array', () => {
    const b = publish({
      level: 5, topic: 't', payload: 'x',
      properties: [['userProperty', ['a', '1']], ['subscriptionIdentifier', 1], ['userProperty', ['a', '2']], ['subscriptionIdentifier', 99]],
    });
    const p = decodePacket(b, { level: 5, dir: 's2c', tree: false });
    expect(p.problems).toEqual([]);
    expect(fieldsOf(p)['properties']).toEqual({ userProperties: [['a', '1'], ['a', '2']], subscriptionIdentifier: [1, 99] });
  });

  test('Subscription Identifier in SUBSCRIBE is a number and may not repeat', () => {
    const p = decodePacket(subscribe({ level: 5, properties: [['subscriptionIdentifier', 5], ['subscriptionIdentifier', 6]], subscriptions: [{ topic: 'a' }] }), { level: 5, dir: 'c2s', tree: false });
    expect(fieldsOf(p)['properties']).toEqual({ subscriptionIdentifier: 5 });
    expect(p.problems.map((x) => x.code)).toEqual(['prop-duplicate']);
  });

  test('allowed-context table spot checks', () => {
    expect(propertyAllowedIn(0x26, UNSUBSCRIBE_T)).toBe(true);
    expect(propertyAllowedIn(0x1f, UNSUBSCRIBE_T)).toBe(false);
    expect(propertyAllowedIn(0x0b, SUBSCRIBE)).toBe(true);
    expect(propertyAllowedIn(0x0b, PUBLISH)).toBe(true);
    expect(propertyAllowedIn(0x18, 'WILL')).toBe(true);
    expect(propertyAllowedIn(0x18, 1)).toBe(false);
    expect(propertyAllowedIn(0x11, 'WILL')).toBe(false);
    expect(WILL_CONTEXT).toBe(16);
  });

  test('Authentication Data that reads as text is shown as text (for redaction)', () => {
    const p = decodePacket(connect({ level: 5, properties: [['authenticationMethod', 'PLAIN'], ['authenticationData', 'secret']] }), { level: 5, dir: 'c2s', tree: false });
    expect((fieldsOf(p)['properties'] as Record<string, unknown>)['authenticationData']).toEqual({ encoding: 'utf8', text: 'secret' });
  });

  test('a property block may hold every CONNACK property at once', () => {
    const list = CASES.filter(([, c]) => c === 'CONNACK').map(([n, , w]) => [n, w] as Prop);
    const p = decodePacket(bytes(connack({ level: 5, properties: list })), { level: 5, dir: 's2c', tree: true });
    expect(p.problems).toEqual([]);
    expect(Object.keys(fieldsOf(p)['properties'] as object)).toHaveLength(list.length);
  });
});

const UNSUBSCRIBE_T = 10;
