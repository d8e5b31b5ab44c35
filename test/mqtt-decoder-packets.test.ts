import { describe, expect, test } from 'vitest';
import { decodePacket } from '../src/mqtt/decoder.js';
import type { MqttPacket } from '../src/mqtt/packets.js';
import type { ProtocolLevel } from '../src/mqtt/types.js';
import {
  ack, auth, bytes, connack, connect, disconnect, hex, pingreq, pingresp, publish, str, suback, subscribe, toHex,
  unsuback, unsubscribe,
} from './builders/mqtt-bytes.js';
import { fieldsOf } from './builders/fields.js';

function dec(b: Uint8Array, level: ProtocolLevel, dir: 'c2s' | 's2c' | null = null, tree = false): MqttPacket {
  return decodePacket(b, { level, dir, tree });
}

function clean(b: Uint8Array, level: ProtocolLevel, dir: 'c2s' | 's2c'): MqttPacket {
  const p = dec(b, level, dir);
  expect(p.problems, JSON.stringify(p.problems)).toEqual([]);
  return p;
}

const V3: ProtocolLevel[] = [3, 4];

describe.each(V3)('MQTT 3.x level %i: every packet type', (level) => {
  test('CONNECT with will, user and password', () => {
    const b = connect({ level, clientId: 'c1', keepAlive: 10, will: { topic: 'w/t', payload: 'bye', qos: 1, retain: true }, username: 'u', password: 'p' });
    const p = clean(b, level, 'c2s');
    expect(p.level).toBe(level);
    expect(fieldsOf(p)).toEqual({
      protocolName: level === 3 ? 'MQIsdp' : 'MQTT', protocolLevel: level, cleanSession: true, willFlag: true, willQos: 1,
      willRetain: true, passwordFlag: true, usernameFlag: true, keepAlive: 10, clientId: 'c1', willTopic: 'w/t',
      willPayload: { encoding: 'utf8', text: 'bye' }, username: 'u', password: { encoding: 'utf8', text: 'p' },
    });
    expect(b[9 + (level === 3 ? 2 : 0)]).toBe(0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02);
  });

  test('CONNACK', () => {
    const p = clean(hex('20 02 00 05'), level, 's2c');
    expect(fieldsOf(p)).toMatchObject({ returnCode: 5, returnCodeName: 'Connection Refused, not authorized' });
    if (level === 4) expect(fieldsOf(p)['sessionPresent']).toBe(false);
    else expect(fieldsOf(p)).not.toHaveProperty('sessionPresent');
  });

  test('PUBLISH QoS 0/1/2 with dup and retain', () => {
    const q0 = clean(hex('31 07 00 03 61 2f 62 68 69'), level, 'c2s');
    expect(fieldsOf(q0)).toEqual({ qos: 0, dup: false, retain: true, topic: 'a/b', payloadLength: 2, payload: { encoding: 'utf8', text: 'hi' } });
    const q2 = clean(publish({ level, topic: 'x', qos: 2, dup: true, packetId: 0x1234, payload: hex('00 ff') }), level, 's2c');
    expect(q2.flags).toBe(0x0c);
    expect(fieldsOf(q2)).toEqual({ qos: 2, dup: true, retain: false, topic: 'x', packetId: 0x1234, payloadLength: 2, payload: { encoding: 'hex', data: '00ff' } });
    const empty = clean(hex('30 03 00 01 78'), level, 'c2s');
    expect(fieldsOf(empty)).toMatchObject({ payloadLength: 0, payload: { encoding: 'utf8', text: '' } });
  });

  test.each(['PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP'] as const)('%s', (kind) => {
    const b = ack(kind, { level, packetId: 7 });
    const first = { PUBACK: 0x40, PUBREC: 0x50, PUBREL: 0x62, PUBCOMP: 0x70 }[kind];
    expect(toHex(b)).toBe(`${first.toString(16)} 02 00 07`);
    const p = clean(b, level, 'c2s');
    expect(p.typeName).toBe(kind);
    expect(fieldsOf(p)).toEqual({ packetId: 7 });
  });

  test('SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK', () => {
    const s = clean(subscribe({ level, packetId: 2, subscriptions: [{ topic: 'a/+', qos: 2 }, { topic: '#', qos: 0 }] }), level, 'c2s');
    expect(fieldsOf(s)).toEqual({ packetId: 2, subscriptions: [{ topic: 'a/+', qos: 2 }, { topic: '#', qos: 0 }] });
    const sa = clean(suback({ level, packetId: 2, codes: [2, 0x80] }), level, 's2c');
    expect(fieldsOf(sa)).toEqual({ packetId: 2, returnCodes: [2, 0x80], returnCodeNames: ['Success - Maximum QoS 2', 'Failure'] });
    const u = clean(unsubscribe({ level, packetId: 3, topics: ['a/+', 'b'] }), level, 'c2s');
    expect(fieldsOf(u)).toEqual({ packetId: 3, topics: ['a/+', 'b'] });
    const ua = clean(unsuback({ level, packetId: 3 }), level, 's2c');
    expect(toHex(unsuback({ level, packetId: 3 }))).toBe('b0 02 00 03');
    expect(fieldsOf(ua)).toEqual({ packetId: 3 });
  });

  test('PINGREQ / PINGRESP / DISCONNECT', () => {
    expect(clean(pingreq(), level, 'c2s').typeName).toBe('PINGREQ');
    expect(clean(pingresp(), level, 's2c').typeName).toBe('PINGRESP');
    expect(fieldsOf(clean(disconnect({ level }), level, 'c2s'))).toEqual({});
  });

  test('types 0 and 15 are RESERVED', () => {
    const z = dec(hex('00 00'), level);
    expect(z.typeName).toBe('RESERVED');
    expect(z.problems.map((x) => x.code)).toEqual(['reserved-type']);
    const f = dec(hex('f0 02 00 00'), level);
    expect(f.typeName).toBe('RESERVED');
    expect(f.type).toBe(15);
    expect(f.problems.map((x) => x.code)).toEqual(['reserved-type']);
  });
});

describe('MQTT 3.1 specifics', () => {
  test('retried SUBSCRIBE/UNSUBSCRIBE/PUBREL with DUP (flags 1010) are accepted', () => {
    expect(dec(ack('PUBREL', { level: 3, flags: 0xa }), 3).problems).toEqual([]);
    expect(dec(subscribe({ level: 3, flags: 0xa, subscriptions: [{ topic: 'a' }] }), 3).problems).toEqual([]);
    expect(dec(unsubscribe({ level: 3, flags: 0xa, topics: ['a'] }), 3).problems).toEqual([]);
    expect(dec(subscribe({ level: 4, flags: 0xa, subscriptions: [{ topic: 'a' }] }), 4).problems.map((p) => p.code)).toEqual(['reserved-flags']);
  });

  test('3.1 CONNACK byte 1 is not Session Present', () => {
    const p = dec(hex('20 02 01 00'), 3);
    expect(fieldsOf(p)).toEqual({ returnCode: 0, returnCodeName: 'Connection Accepted' });
    expect(p.problems).toEqual([]);
  });
});

describe('MQTT 5.0: every packet type', () => {
  const L: ProtocolLevel = 5;

  test('CONNECT with properties, will properties, user, password', () => {
    const b = connect({
      level: 5, clientId: '', clean: true, keepAlive: 0, properties: [['sessionExpiryInterval', 3600], ['receiveMaximum', 20]],
      will: { topic: 'w', payload: hex('01 02'), qos: 2, properties: [['willDelayInterval', 5], ['payloadFormatIndicator', 0]] },
      password: hex('ff 00'),
    });
    const p = clean(b, 4, 'c2s');
    expect(p.level).toBe(5);
    expect(fieldsOf(p)).toEqual({
      protocolName: 'MQTT', protocolLevel: 5, cleanStart: true, willFlag: true, willQos: 2, willRetain: false,
      passwordFlag: true, usernameFlag: false, keepAlive: 0,
      properties: { sessionExpiryInterval: 3600, receiveMaximum: 20 },
      clientId: '',
      willProperties: { willDelayInterval: 5, payloadFormatIndicator: 0 },
      willTopic: 'w', willPayload: { encoding: 'hex', data: '0102' },
      password: { encoding: 'hex', data: 'ff00' },
    });
  });

  test('CONNACK success and failure', () => {
    const ok = clean(connack({ level: 5, sessionPresent: true, properties: [['assignedClientIdentifier', 'auto-1'], ['maximumQos', 1]] }), L, 's2c');
    expect(fieldsOf(ok)).toEqual({
      sessionPresent: true, reasonCode: 0, reasonCodeName: 'Success',
      properties: { assignedClientIdentifier: 'auto-1', maximumQos: 1 },
    });
    expect(toHex(connack({ level: 5, code: 0x87 }))).toBe('20 03 00 87 00');
    expect(fieldsOf(clean(connack({ level: 5, code: 0x87 }), L, 's2c'))).toMatchObject({ reasonCode: 0x87, reasonCodeName: 'Not authorized' });
  });

  test('a 3.1.1-style 20 02 00 01 refusal of a 5.0 CONNECT decodes as 3.1.1', () => {
    const p = clean(hex('20 02 00 01'), L, 's2c');
    expect(p.level).toBe(4);
    expect(fieldsOf(p)).toMatchObject({ returnCode: 1, returnCodeName: 'Connection Refused, unacceptable protocol version' });
  });

  test('PUBLISH with properties', () => {
    const b = publish({ level: 5, topic: 't', qos: 1, packetId: 9, payload: '{"a":1}', properties: [['contentType', 'application/json'], ['messageExpiryInterval', 60]] });
    const p = clean(b, L, 'c2s');
    expect(fieldsOf(p)).toEqual({
      qos: 1, dup: false, retain: false, topic: 't', packetId: 9,
      properties: { contentType: 'application/json', messageExpiryInterval: 60 },
      payloadLength: 7, payload: { encoding: 'utf8', text: '{"a":1}' },
    });
    expect(toHex(publish({ level: 5, topic: 'a', payload: 'x' }))).toBe('30 05 00 01 61 00 78');
  });

  test('PUBLISH with empty topic and Topic Alias is fine for one packet', () => {
    const p = clean(publish({ level: 5, topic: '', properties: [['topicAlias', 3]], payload: 'x' }), L, 's2c');
    expect(fieldsOf(p)).toMatchObject({ topic: '', properties: { topicAlias: 3 } });
  });

  test.each(['PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP'] as const)('%s short forms', (kind) => {
    const rc = kind === 'PUBREL' || kind === 'PUBCOMP' ? 0x92 : 0x10;
    const short2 = clean(ack(kind, { level: 5, packetId: 5 }), L, 's2c');
    expect(short2.remainingLength).toBe(2);
    expect(fieldsOf(short2)).toEqual({ packetId: 5, reasonCode: 0, reasonCodeName: 'Success', properties: {} });
    const short3 = clean(ack(kind, { level: 5, packetId: 5, reasonCode: rc }), L, 's2c');
    expect(short3.remainingLength).toBe(3);
    expect(fieldsOf(short3)).toMatchObject({ reasonCode: rc, properties: {} });
    const full = clean(ack(kind, { level: 5, packetId: 5, reasonCode: 0, properties: [['reasonString', 'fine'], ['userProperty', ['k', 'v']]] }), L, 's2c');
    expect(fieldsOf(full)).toEqual({ packetId: 5, reasonCode: 0, reasonCodeName: 'Success', properties: { reasonString: 'fine', userProperties: [['k', 'v']] } });
    const rl4 = clean(ack(kind, { level: 5, packetId: 5, reasonCode: 0, properties: [] }), L, 's2c');
    expect(rl4.remainingLength).toBe(4);
  });

  test('SUBSCRIBE options split', () => {
    const b = subscribe({
      level: 5, packetId: 4, properties: [['subscriptionIdentifier', 300]],
      subscriptions: [
        { topic: 'a/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        { topic: '$share/g/x/+', qos: 2 },
      ],
    });
    const p = clean(b, L, 'c2s');
    expect(fieldsOf(p)).toEqual({
      packetId: 4, properties: { subscriptionIdentifier: 300 },
      subscriptions: [
        { topic: 'a/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        { topic: '$share/g/x/+', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    const t = dec(b, L, 'c2s', true).tree!;
    const opts = t.children!.find((c) => c.key === 'payload')!.children![0]!.children!.find((c) => c.key === 'options')!;
    expect(opts.value).toBe('0x2d');
    expect(opts.explain).toBe('0010 1101: QoS 1, no local 1, retain as published 1, retain handling 2, reserved 0');
  });

  test('SUBACK / UNSUBSCRIBE / UNSUBACK', () => {
    const sa = clean(suback({ level: 5, packetId: 4, codes: [1, 0x9e, 0xa2], properties: [['reasonString', 'r']] }), L, 's2c');
    expect(fieldsOf(sa)).toEqual({
      packetId: 4, properties: { reasonString: 'r' }, reasonCodes: [1, 0x9e, 0xa2],
      reasonCodeNames: ['Granted QoS 1', 'Shared Subscriptions not supported', 'Wildcard Subscriptions not supported'],
    });
    const u = clean(unsubscribe({ level: 5, packetId: 6, topics: ['a'], properties: [['userProperty', ['x', 'y']]] }), L, 'c2s');
    expect(fieldsOf(u)).toEqual({ packetId: 6, properties: { userProperties: [['x', 'y']] }, topics: ['a'] });
    const ua = clean(unsuback({ level: 5, packetId: 6, codes: [0, 0x11] }), L, 's2c');
    expect(toHex(unsuback({ level: 5, packetId: 6, codes: [0, 0x11] }))).toBe('b0 05 00 06 00 00 11');
    expect(fieldsOf(ua)).toEqual({ packetId: 6, properties: {}, reasonCodes: [0, 0x11], reasonCodeNames: ['Success', 'No subscription existed'] });
  });

  test('PINGREQ / PINGRESP', () => {
    expect(fieldsOf(clean(pingreq(), L, 'c2s'))).toEqual({});
    expect(fieldsOf(clean(pingresp(), L, 's2c'))).toEqual({});
  });

  test('DISCONNECT short forms and both directions', () => {
    expect(fieldsOf(clean(disconnect({ level: 5 }), L, 'c2s'))).toEqual({ reasonCode: 0, reasonCodeName: 'Normal disconnection', properties: {} });
    expect(fieldsOf(clean(disconnect({ level: 5, reasonCode: 4 }), L, 'c2s'))).toEqual({ reasonCode: 4, reasonCodeName: 'Disconnect with Will Message', properties: {} });
    const s = clean(disconnect({ level: 5, reasonCode: 0x9c, properties: [['serverReference', 'other:1883']] }), L, 's2c');
    expect(fieldsOf(s)).toEqual({ reasonCode: 0x9c, reasonCodeName: 'Use another server', properties: { serverReference: 'other:1883' } });
    const c = clean(disconnect({ level: 5, reasonCode: 0, properties: [['sessionExpiryInterval', 0]] }), L, 'c2s');
    expect(fieldsOf(c)['properties']).toEqual({ sessionExpiryInterval: 0 });
  });

  test('AUTH', () => {
    expect(toHex(auth())).toBe('f0 00');
    const z = dec(auth(), L, 'c2s');
    expect(fieldsOf(z)).toEqual({ reasonCode: 0, reasonCodeName: 'Success', properties: {} });
    expect(z.problems.map((p) => [p.code, p.severity])).toEqual([['auth-without-method', 'warning']]);
    const a = clean(auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'SCRAM-SHA-1'], ['authenticationData', hex('01 02 03')]] }), L, 'c2s');
    expect(a.typeName).toBe('AUTH');
    expect(fieldsOf(a)).toEqual({
      reasonCode: 0x18, reasonCodeName: 'Continue authentication',
      properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: { encoding: 'hex', data: '010203' } },
    });
    const r = clean(auth({ reasonCode: 0x19, properties: [['authenticationMethod', 'M'], ['reasonString', 're'], ['userProperty', ['a', 'b']]] }), L, 'c2s');
    expect(fieldsOf(r)['reasonCodeName']).toBe('Re-authenticate');
  });

  test('type 0 is RESERVED in 5.0 too', () => {
    expect(dec(hex('00 00'), L).problems.map((p) => p.code)).toEqual(['reserved-type']);
  });
});

describe('payload rendering', () => {
  test('cut after payloadLimit with truncated flag; payloadLength is the true length', () => {
    const b = publish({ level: 4, topic: 't', payload: 'abcdefghij' });
    const p = decodePacket(b, { level: 4, dir: null, tree: false });
    expect(fieldsOf(p, 4)['payloadLength']).toBe(10);
    expect(fieldsOf(p, 4)['payload']).toEqual({ encoding: 'utf8', text: 'abcd', truncated: true });
    const h = decodePacket(publish({ level: 4, topic: 't', payload: hex('00 01 02 03 04 05') }), { level: 4, dir: null, tree: false });
    expect(fieldsOf(h, 3)['payload']).toEqual({ encoding: 'hex', data: '000102', truncated: true });
  });

  test('default limit is 1024 bytes; negative means unlimited', () => {
    const b = publish({ level: 4, topic: 't', payload: 'y'.repeat(3000) });
    const p = decodePacket(b, { level: 4, dir: null, tree: false });
    expect((fieldsOf(p)['payload'] as { text: string }).text.length).toBe(1024);
    expect(fieldsOf(p)['payloadLength']).toBe(3000);
    const u = decodePacket(b, { level: 4, dir: null, tree: false });
    expect(fieldsOf(u, -1)['payload']).toEqual({ encoding: 'utf8', text: 'y'.repeat(3000) });
  });

  test('a multi-byte character is not split at the cut', () => {
    const b = publish({ level: 4, topic: 't', payload: 'aé€' }); // 61 c3a9 e282ac
    const p = decodePacket(b, { level: 4, dir: null, tree: false });
    expect(fieldsOf(p, 4)['payload']).toEqual({ encoding: 'utf8', text: 'aé', truncated: true });
  });

  test('text with newlines stays text; control characters make hex', () => {
    const t = decodePacket(publish({ level: 4, topic: 't', payload: '{\n\t"a": 1\r\n}' }), { level: 4, dir: null, tree: false });
    expect((fieldsOf(t)['payload'] as { encoding: string }).encoding).toBe('utf8');
    const c = decodePacket(publish({ level: 4, topic: 't', payload: 'a\u0001b' }), { level: 4, dir: null, tree: false });
    expect(fieldsOf(c)['payload']).toEqual({ encoding: 'hex', data: '610162' });
  });

  test('a byte-order mark is kept', () => {
    const p = decodePacket(bytes(hex('30 07'), str(hex('ef bb bf 61')), 'x'), { level: 4, dir: null, tree: false });
    expect(p.problems).toEqual([]);
    expect(fieldsOf(p)['topic']).toBe('\ufeffa');
  });
});
