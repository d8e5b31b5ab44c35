import { describe, expect, test } from 'vitest';
import { decodeRemainingLength, inferLevel } from '../src/mqtt/decoder.js';
import {
  CONNACK_RETURN_CODES, PACKET_TYPES, PROBLEM_CODES, REASON_CODES, SUBACK_RETURN_CODES, directionAllowed,
  packetTypeName, problemSeverity, reasonCode,
} from '../src/mqtt/tables.js';
import {
  ack, auth, connack, connect, disconnect, hex, pingreq, publish, suback, subscribe, unsuback, unsubscribe,
} from './builders/mqtt-bytes.js';

describe('decodeRemainingLength', () => {
  test.each([
    ['00', 0, 1],
    ['7f', 127, 1],
    ['80 01', 128, 2],
    ['82 01', 130, 2],
    ['ff 7f', 16383, 2],
    ['80 80 01', 16384, 3],
    ['ff ff 7f', 2097151, 3],
    ['80 80 80 01', 2097152, 4],
    ['ff ff ff 7f', 268435455, 4],
  ])('%s = %i', (h, value, length) => {
    expect(decodeRemainingLength(Uint8Array.from([0x30, ...hex(h)]), 1)).toEqual({ value, length, complete: true, overlong: false, nonMinimal: false });
  });

  test('non-minimal, incomplete and overlong encodings', () => {
    expect(decodeRemainingLength(hex('80 00'), 0)).toMatchObject({ value: 0, length: 2, complete: true, nonMinimal: true });
    expect(decodeRemainingLength(hex('ff 80 00'), 0)).toMatchObject({ value: 127, length: 3, complete: true, nonMinimal: true });
    expect(decodeRemainingLength(hex('80 80'), 0)).toMatchObject({ length: 2, complete: false, overlong: false });
    expect(decodeRemainingLength(hex(''), 0)).toMatchObject({ length: 0, complete: false });
    expect(decodeRemainingLength(hex('ff ff ff ff 7f'), 0)).toMatchObject({ length: 4, complete: true, overlong: true });
    expect(decodeRemainingLength(hex('ff ff ff ff'), 0)).toMatchObject({ overlong: true });
  });
});

describe('inferLevel', () => {
  test('CONNECT tells its own level (bridge bit ignored)', () => {
    expect(inferLevel(connect({ level: 3 }))).toBe(3);
    expect(inferLevel(connect({ level: 4 }))).toBe(4);
    expect(inferLevel(connect({ level: 5 }))).toBe(5);
    expect(inferLevel(connect({ levelByte: 0x84 }))).toBe(4);
    expect(inferLevel(connect({ levelByte: 9 }))).toBeNull();
  });

  test('v5 shapes', () => {
    expect(inferLevel(connack({ level: 5 }))).toBe(5);
    expect(inferLevel(ack('PUBACK', { level: 5, reasonCode: 0x10 }))).toBe(5);
    expect(inferLevel(ack('PUBREC', { level: 5, reasonCode: 0, properties: [['reasonString', 'x']] }))).toBe(5);
    expect(inferLevel(publish({ level: 5, topic: 'a/b', payload: 'x', properties: [['contentType', 'text']] }))).toBe(5);
    expect(inferLevel(publish({ level: 5, topic: 'a/b', qos: 1, payload: 'hello' }))).toBe(5);
    expect(inferLevel(subscribe({ level: 5, subscriptions: [{ topic: 'a', noLocal: true }] }))).toBe(5);
    expect(inferLevel(subscribe({ level: 5, subscriptions: [{ topic: 'a/b', qos: 1 }] }))).toBe(5);
    expect(inferLevel(suback({ level: 5, codes: [0x87] }))).toBe(5);
    expect(inferLevel(unsubscribe({ level: 5, topics: ['a/b'] }))).toBe(5);
    expect(inferLevel(unsuback({ level: 5, codes: [0x11] }))).toBe(5);
    expect(inferLevel(disconnect({ level: 5, reasonCode: 0x8e }))).toBe(5);
    expect(inferLevel(auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm']] }))).toBe(5);
  });

  test('3.x shapes answer 4 ("not 5.0")', () => {
    expect(inferLevel(hex('20 02 00 00'))).toBe(4);
    expect(inferLevel(publish({ level: 4, topic: 'a/b', payload: '{"x":1}' }))).toBe(4);
    expect(inferLevel(publish({ level: 4, topic: 'a/b' }))).toBe(4);
    expect(inferLevel(publish({ level: 4, topic: '$dp', qos: 1, packetId: 10, payload: hex('03 00 37 7b') }))).toBe(4);
    expect(inferLevel(subscribe({ level: 4, subscriptions: [{ topic: 'a/b', qos: 1 }] }))).toBe(4);
    expect(inferLevel(suback({ level: 4, codes: [0x80] }))).toBe(4);
    expect(inferLevel(unsubscribe({ level: 4, topics: ['a/b'] }))).toBe(4);
    expect(inferLevel(unsuback({ level: 4 }))).toBe(4);
  });

  test('undecidable shapes give null', () => {
    expect(inferLevel(ack('PUBACK', { level: 4 }))).toBeNull();
    expect(inferLevel(pingreq())).toBeNull();
    expect(inferLevel(hex('e0 00'))).toBeNull();
    expect(inferLevel(hex('90 04 00 01 00 01'))).toBeNull();
    expect(inferLevel(hex('30'))).toBeNull();
    expect(inferLevel(hex('30 09 00 01'))).toBeNull();
  });
});

describe('tables', () => {
  test('packet types 0..15 with version-aware names', () => {
    expect(PACKET_TYPES).toHaveLength(16);
    PACKET_TYPES.forEach((p, i) => expect(p.type).toBe(i));
    expect(packetTypeName(15, 4)).toBe('RESERVED');
    expect(packetTypeName(15, 5)).toBe('AUTH');
    expect(packetTypeName(0, 5)).toBe('RESERVED');
    expect(PACKET_TYPES[6]!.flags[4]).toBe(2);
    expect(PACKET_TYPES[3]!.flags[5]).toBeNull();
    expect(PACKET_TYPES[3]!.packetId).toBe('qos>0');
    expect(PACKET_TYPES[4]!.fixedRemaining).toEqual({ 3: 2, 4: 2 });
    expect(directionAllowed(14, 4, 's2c')).toBe(false);
    expect(directionAllowed(14, 5, 's2c')).toBe(true);
    expect(directionAllowed(8, 5, 's2c')).toBe(false);
  });

  test('reason codes by packet type', () => {
    expect(reasonCode(14, 0)!.name).toBe('Normal disconnection');
    expect(reasonCode(9, 0)!.name).toBe('Granted QoS 0');
    expect(reasonCode(4, 0)!.name).toBe('Success');
    expect(reasonCode(4, 0x92)).toBeUndefined();
    expect(reasonCode(14, 0x04)!.sender).toBe('c2s');
    expect(reasonCode(14, 0x8c)!.tableConflict).toBe(true);
    // Counts per packet from the spec tables.
    const count = (t: number): number => REASON_CODES.filter((r) => r.uses.some((u) => u.packet === t)).length;
    expect(count(2)).toBe(22); // CONNACK
    expect(count(4)).toBe(9); // PUBACK
    expect(count(6)).toBe(2); // PUBREL
    expect(count(9)).toBe(12); // SUBACK
    expect(count(11)).toBe(7); // UNSUBACK
    expect(count(14)).toBe(30); // DISCONNECT: 29 + 0x8C from Table 2-6
    expect(count(15)).toBe(3); // AUTH
  });

  test('3.x return codes', () => {
    expect(CONNACK_RETURN_CODES).toHaveLength(6);
    expect([...SUBACK_RETURN_CODES.keys()]).toEqual([0, 1, 2, 0x80]);
  });

  test('problem codes have descriptions and version-dependent severities', () => {
    for (const [code, info] of Object.entries(PROBLEM_CODES)) {
      expect(code).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(info.description.length).toBeGreaterThan(10);
    }
    expect(problemSeverity('rl-nonminimal', 4)).toBe('warning');
    expect(problemSeverity('rl-nonminimal', 5)).toBe('error');
    expect(problemSeverity('utf8-control', 5)).toBe('warning');
  });
});
