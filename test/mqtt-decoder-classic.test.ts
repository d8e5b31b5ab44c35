import { describe, expect, test } from 'vitest';
import { decodePacket } from '../src/mqtt/decoder.js';
import type { MqttPacket } from '../src/mqtt/packets.js';
import type { FieldNode, ProtocolLevel } from '../src/mqtt/types.js';
import { bytes, connack, connect, hex, publish, str, toHex, u16 } from './builders/mqtt-bytes.js';
import { fieldsOf } from './builders/fields.js';

function dec(b: Uint8Array, level: ProtocolLevel = 4, dir: 'c2s' | 's2c' | null = null): MqttPacket {
  return decodePacket(b, { level, dir, tree: true });
}

/** Depth-first search for the first node with `key` (optionally under a parent key). */
function find(n: FieldNode | null, key: string): FieldNode {
  const stack = n ? [n] : [];
  while (stack.length) {
    const x = stack.shift()!;
    if (x.key === key) return x;
    stack.push(...(x.children ?? []));
  }
  throw new Error(`no node ${key}`);
}

const span = (n: FieldNode): [number, number] => [n.offset, n.offset + n.length - 1];

describe('the 47-byte CONNECT', () => {
  const wire = bytes(
    hex('10 2d 00 04 4d 51 54 54 04 c2 0b b8 00 10'), '40F0600050804050',
    hex('00 05'), 'admin', hex('00 08'), 'password',
  );

  test('is 47 bytes and the builder produces the same bytes', () => {
    expect(wire.length).toBe(47);
    const built = connect({ level: 4, keepAlive: 3000, clientId: '40F0600050804050', username: 'admin', password: 'password' });
    expect(toHex(built)).toBe(toHex(wire));
  });

  test('fields', () => {
    const p = dec(wire, 5, 'c2s'); // ctx.level is ignored for CONNECT
    expect(p.problems).toEqual([]);
    expect(p).toMatchObject({ type: 1, typeName: 'CONNECT', flags: 0, level: 4, length: 47, remainingLength: 45, headerLength: 2 });
    expect(fieldsOf(p)).toEqual({
      protocolName: 'MQTT',
      protocolLevel: 4,
      cleanSession: true,
      willFlag: false,
      willQos: 0,
      willRetain: false,
      passwordFlag: true,
      usernameFlag: true,
      keepAlive: 3000,
      clientId: '40F0600050804050',
      username: 'admin',
      password: { encoding: 'utf8', text: 'password' },
    });
  });

  test('tree offsets', () => {
    const t = dec(wire).tree!;
    expect(span(find(t, 'packetTypeFlags'))).toEqual([0, 0]);
    expect(find(t, 'packetTypeFlags').value).toBe('0x10');
    const rl = find(t, 'remainingLength');
    expect(span(rl)).toEqual([1, 1]);
    expect(rl.explain).toBe('45 (one byte: 0x2d < 128)');
    const name = find(t, 'protocolName');
    expect(span(find(name, 'length'))).toEqual([2, 3]);
    expect(span(find(name, 'text'))).toEqual([4, 7]);
    expect(find(name, 'text').value).toBe('"MQTT"');
    expect(span(find(t, 'protocolLevel'))).toEqual([8, 8]);
    const flags = find(t, 'connectFlags');
    expect(span(flags)).toEqual([9, 9]);
    expect(flags.explain).toBe('1100 0010: user name 1, password 1, will retain 0, will QoS 0, will 0, clean session 1, reserved 0');
    expect(flags.children!.map((c) => [c.key, c.value])).toEqual([
      ['usernameFlag', '1'], ['passwordFlag', '1'], ['willRetain', '0'], ['willQos', '0'],
      ['willFlag', '0'], ['cleanSession', '1'], ['reserved', '0'],
    ]);
    expect(find(flags, 'cleanSession').explain).toBe('.... ..1. = clean session: 1');
    const ka = find(t, 'keepAlive');
    expect(span(ka)).toEqual([10, 11]);
    expect(ka.value).toBe('3000');
    expect(ka.explain).toContain('1.5x = 4500 s');
    const cid = find(t, 'clientId');
    expect(span(find(cid, 'length'))).toEqual([12, 13]);
    expect(span(find(cid, 'text'))).toEqual([14, 29]);
    const user = find(t, 'username');
    expect(span(user)).toEqual([30, 36]);
    const pw = find(t, 'password');
    expect(span(pw)).toEqual([37, 46]);
    expect(span(find(t, 'variableHeader'))).toEqual([2, 11]);
    expect(span(find(t, 'payload'))).toEqual([12, 46]);
  });
});

describe('CONNACK 20 02 00 00', () => {
  test('3.1.1', () => {
    const p = dec(hex('20 02 00 00'), 4, 's2c');
    expect(p.problems).toEqual([]);
    expect(fieldsOf(p)).toEqual({ sessionPresent: false, returnCode: 0, returnCodeName: 'Connection Accepted' });
    expect(toHex(connack({ level: 4 }))).toBe('20 02 00 00');
  });
  test('session present is bit 0 of byte 1 in 3.1.1', () => {
    const p = dec(hex('20 02 01 00'), 4);
    expect(fieldsOf(p)['sessionPresent']).toBe(true);
    expect(p.problems).toEqual([]);
    const sp = find(p.tree, 'sessionPresent');
    expect(sp.offset).toBe(2);
    expect(sp.explain).toBe('.... ...1 = session present: 1');
  });
});

describe('OneNET examples', () => {
  test('CONNECT 10 3a, flags 0xC0, keep alive 256', () => {
    const b = connect({ level: 4, clean: false, keepAlive: 256, clientId: '31421353', username: '141215', password: 'dpsO9ruH0aTZublG9g5SvBtFSEQ=' });
    expect(toHex(b.subarray(0, 2))).toBe('10 3a');
    expect(b[9]).toBe(0xc0);
    expect(toHex(b.subarray(10, 12))).toBe('01 00');
    const p = dec(b, 4, 'c2s');
    expect(p.problems).toEqual([]);
    expect(p.length).toBe(60);
    expect(fieldsOf(p)).toMatchObject({
      cleanSession: false, usernameFlag: true, passwordFlag: true, keepAlive: 256,
      clientId: '31421353', username: '141215', password: { encoding: 'utf8', text: 'dpsO9ruH0aTZublG9g5SvBtFSEQ=' },
    });
    expect(find(p.tree, 'connectFlags').explain).toBe('1100 0000: user name 1, password 1, will retain 0, will QoS 0, will 0, clean session 0, reserved 0');
  });

  test('PUBLISH 32 41 to $dp with packet id 10', () => {
    const json = '{"Red_Led":1,"Green_Led":1,"Yellow_Led":1,"Blue_Led":1}';
    const payload = bytes([0x03], u16(json.length), json);
    const b = publish({ level: 4, topic: '$dp', qos: 1, packetId: 10, payload });
    expect(toHex(b.subarray(0, 2))).toBe('32 41');
    expect(toHex(b.subarray(2, 9))).toBe('00 03 24 64 70 00 0a');
    expect(toHex(b.subarray(9, 12))).toBe('03 00 37');
    const p = dec(b, 4, 'c2s');
    expect(p.problems).toEqual([]);
    expect(fieldsOf(p)).toEqual({
      qos: 1, dup: false, retain: false, topic: '$dp', packetId: 10, payloadLength: 58,
      payload: { encoding: 'hex', data: toHex(payload, '') },
    });
  });

  test('PUBLISH 30 34 to $creq/... with payload redled:0', () => {
    const topic = '$creq/e8b6c9b6-225b-57dc-abaa-246ba58761d8';
    const b = publish({ level: 4, topic, payload: 'redled:0' });
    expect(toHex(b.subarray(0, 2))).toBe('30 34');
    expect(toHex(b.subarray(2, 4))).toBe('00 2a');
    const p = dec(b, 4, 's2c');
    expect(p.problems).toEqual([]);
    expect(fieldsOf(p)).toEqual({
      qos: 0, dup: false, retain: false, topic, payloadLength: 8, payload: { encoding: 'utf8', text: 'redled:0' },
    });
    const pl = find(p.tree, 'payload');
    expect(span(pl)).toEqual([46, 53]);
    expect(pl.value).toBe('"redled:0"');
  });
});

describe('other classics', () => {
  test('MQTT 3.1 CONNECT with MQIsdp', () => {
    const b = bytes(hex('10 14 00 06'), 'MQIsdp', hex('03 02 00 3c 00 06'), 'client');
    expect(toHex(b)).toBe(toHex(connect({ level: 3, clientId: 'client' })));
    const p = dec(b, 4, 'c2s');
    expect(p.problems).toEqual([]);
    expect(p.level).toBe(3);
    expect(fieldsOf(p)).toMatchObject({ protocolName: 'MQIsdp', protocolLevel: 3, cleanSession: true, keepAlive: 60, clientId: 'client' });
    expect(find(p.tree, 'protocolLevel').explain).toBe('3 = MQTT 3.1');
  });

  test('Remaining Length 130 is 82 01 and explained', () => {
    const b = publish({ level: 4, topic: 'a', payload: new Uint8Array(127) });
    expect(toHex(b.subarray(0, 3))).toBe('30 82 01');
    const p = dec(b);
    expect(p.remainingLength).toBe(130);
    expect(p.headerLength).toBe(3);
    expect(p.length).toBe(133);
    expect(find(p.tree, 'remainingLength').explain).toBe('2 + 1x128 = 130');
    expect(fieldsOf(p)['payloadLength']).toBe(127);
  });

  test('three-byte Remaining Length arithmetic', () => {
    const topic = 'x'.repeat(16384);
    const b = publish({ level: 4, topic });
    const p = dec(b);
    expect(p.remainingLength).toBe(16386);
    expect(toHex(b.subarray(1, 4))).toBe('82 80 01');
    expect(find(p.tree, 'remainingLength').explain).toBe('2 + 0x128 + 1x16384 = 16386');
  });

  test('a topic can be 65,535 bytes', () => {
    const topic = 't'.repeat(65535);
    const b = publish({ level: 4, topic, payload: 'x' });
    const p = dec(b);
    expect(p.problems).toEqual([]);
    expect((fieldsOf(p)['topic'] as string).length).toBe(65535);
    expect(find(find(p.tree, 'topic'), 'length').value).toBe('65535');
  });

  test('DISCONNECT e0 00 and PINGREQ c0 00', () => {
    for (const [h, typeName, dir] of [['e0 00', 'DISCONNECT', 'c2s'], ['c0 00', 'PINGREQ', 'c2s'], ['d0 00', 'PINGRESP', 's2c']] as const) {
      const p = dec(hex(h), 4, dir);
      expect({ typeName: p.typeName, fields: fieldsOf(p), problems: p.problems }).toEqual({ typeName, fields: {}, problems: [] });
    }
  });

  test('SUBSCRIBE 82 .. and SUBACK 90 03', () => {
    const sub = bytes(hex('82 08 00 01'), str('a/b'), [1]);
    const p = dec(sub, 4, 'c2s');
    expect(p.problems).toEqual([]);
    expect(fieldsOf(p)).toEqual({ packetId: 1, subscriptions: [{ topic: 'a/b', qos: 1 }] });
    const a = dec(hex('90 03 00 01 01'), 4, 's2c');
    expect(a.problems).toEqual([]);
    expect(fieldsOf(a)).toEqual({ packetId: 1, returnCodes: [1], returnCodeNames: ['Success - Maximum QoS 1'] });
  });
});
