import { describe, expect, test } from 'vitest';
import { decodePacket } from '../src/mqtt/decoder.js';
import { PROBLEM_CODES } from '../src/mqtt/tables.js';
import type { MqttPacket } from '../src/mqtt/packets.js';
import type { ProtocolLevel } from '../src/mqtt/types.js';
import {
  ack, auth, bytes, connack, connect, disconnect, hex, pingreq, publish, str, suback, subscribe, u16, unsubscribe,
} from './builders/mqtt-bytes.js';
import { fieldsOf } from './builders/fields.js';

type Dir = 'c2s' | 's2c' | null;

interface Case {
  code: string;
  what: string;
  bad: Uint8Array;
  /** The same packet with the defect fixed. */
  good: Uint8Array;
  level: ProtocolLevel;
  dir?: Dir;
  /** Expected [offset, length] of the problem, when worth pinning. */
  at?: [number, number];
  severity?: 'error' | 'warning';
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const topicBytes = (...h: string[]): Uint8Array => bytes(...h.map((x) => (x.startsWith('#') ? hex(x.slice(1)) : enc(x))));

const CASES: Case[] = [
  { code: 'reserved-type', what: 'type 0', bad: hex('00 00'), good: hex('c0 00'), level: 4 },
  { code: 'reserved-type', what: 'type 15 before 5.0', bad: hex('f0 00'), good: hex('f0 00'), level: 4, dir: 'c2s' },
  { code: 'reserved-flags', what: 'PINGREQ flags 0001', bad: hex('c1 00'), good: hex('c0 00'), level: 4, at: [0, 1] },
  { code: 'reserved-flags', what: 'SUBSCRIBE flags 0000', bad: subscribe({ flags: 0, subscriptions: [{ topic: 'a' }] }), good: subscribe({ subscriptions: [{ topic: 'a' }] }), level: 4 },
  { code: 'reserved-flags', what: 'PUBREL flags 0000 in 5.0', bad: ack('PUBREL', { level: 5, flags: 0 }), good: ack('PUBREL', { level: 5 }), level: 5 },
  { code: 'reserved-flags', what: 'AUTH flags 0001', bad: hex('f1 00'), good: auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm']] }), level: 5 },
  { code: 'reserved-flags', what: '3.1: only a warning', bad: hex('c1 00'), good: hex('c0 00'), level: 3, severity: 'warning' },
  { code: 'qos3', what: 'QoS bits 11', bad: hex('36 03 00 01 61'), good: hex('30 03 00 01 61'), level: 4, at: [0, 1] },
  { code: 'dup-qos0', what: 'DUP with QoS 0', bad: hex('38 03 00 01 61'), good: hex('30 03 00 01 61'), level: 4 },
  { code: 'rl-too-long', what: '5-byte Remaining Length', bad: hex('30 ff ff ff ff 01'), good: hex('30 03 00 01 61'), level: 4, at: [1, 4] },
  { code: 'rl-nonminimal', what: '80 00 for 0 (3.1.1: warning)', bad: hex('c0 80 00'), good: hex('c0 00'), level: 4, severity: 'warning' },
  { code: 'rl-nonminimal', what: '83 00 for 3 (5.0: error)', bad: hex('30 83 00 00 01 61 00'), good: hex('30 04 00 01 61 00'), level: 5, severity: 'error' },
  { code: 'vbi-too-long', what: 'property length of 5 bytes', bad: hex('30 09 00 01 61 ff ff ff ff 01 00'), good: hex('30 04 00 01 61 00'), level: 5 },
  { code: 'overrun', what: 'topic length past the end', bad: hex('30 05 00 09 61 62 63'), good: hex('30 05 00 03 61 62 63'), level: 4, at: [2, 5] },
  { code: 'overrun', what: 'Remaining Length past the input', bad: hex('30 09 00 01 61'), good: hex('30 03 00 01 61'), level: 4, at: [1, 1] },
  { code: 'overrun', what: 'packet ends inside the Remaining Length', bad: hex('30 ff'), good: hex('30 03 00 01 61'), level: 4 },
  { code: 'overrun', what: 'will topic missing', bad: connect({ flags: 0x06, clientId: 'c' }), good: connect({ flags: 0x02, clientId: 'c' }), level: 4 },
  { code: 'overrun', what: 'user name missing (3.1.1)', bad: connect({ flags: 0x82, clientId: 'c' }), good: connect({ username: 'u', clientId: 'c' }), level: 4 },
  { code: 'overrun', what: 'v5 CONNACK without property length', bad: hex('20 02 00 00'), good: hex('20 03 00 00 00'), level: 5 },
  { code: 'overrun', what: 'AUTH with reason code but no property length', bad: hex('f0 01 18'), good: auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm']] }), level: 5 },
  { code: 'overrun', what: 'property value past the property block', bad: hex('30 07 00 01 61 02 23 00 01'), good: hex('30 07 00 01 61 03 23 00 01'), level: 5 },
  { code: 'trailing-bytes', what: 'byte after the password', bad: connect({ username: 'u', password: 'p', extra: hex('00') }), good: connect({ username: 'u', password: 'p' }), level: 4 },
  { code: 'trailing-bytes', what: 'input longer than the declared packet', bad: hex('c0 00 00'), good: hex('c0 00'), level: 4, at: [2, 1] },
  { code: 'trailing-bytes', what: 'v5 DISCONNECT property block shorter than RL', bad: hex('e0 03 00 00 00'), good: hex('e0 02 00 00'), level: 5 },
  { code: 'bad-size', what: '3.1.1 PUBACK with 3 bytes', bad: hex('40 03 00 01 00'), good: hex('40 02 00 01'), level: 4 },
  { code: 'bad-size', what: 'PINGREQ with a body', bad: hex('c0 01 00'), good: hex('c0 00'), level: 5 },
  { code: 'bad-size', what: '3.1.1 DISCONNECT with a body', bad: hex('e0 01 00'), good: hex('e0 00'), level: 4 },
  { code: 'bad-size', what: '3.1.1 CONNACK with 3 bytes', bad: hex('20 03 00 00 00'), good: hex('20 02 00 00'), level: 4 },
  { code: 'bad-size', what: '3.1 UNSUBACK with 1 byte', bad: hex('b0 01 00'), good: hex('b0 02 00 01'), level: 3 },
  { code: 'wrong-direction', what: 'CONNACK from the client', bad: hex('20 02 00 00'), good: hex('20 02 00 00'), level: 4, dir: 'c2s' },
  { code: 'wrong-direction', what: '3.1.1 DISCONNECT from the server', bad: hex('e0 00'), good: hex('e0 00'), level: 4, dir: 's2c' },
  { code: 'bad-protocol-name', what: '"MQTX"', bad: connect({ protocolName: 'MQTX' }), good: connect({}), level: 4, at: [2, 6] },
  { code: 'bad-protocol-level', what: 'level 6', bad: connect({ levelByte: 6 }), good: connect({}), level: 4, at: [8, 1] },
  { code: 'name-level-mismatch', what: '"MQTT" with level 3', bad: connect({ level: 3, protocolName: 'MQTT' }), good: connect({ level: 3 }), level: 4 },
  { code: 'name-level-mismatch', what: '"MQIsdp" with level 4', bad: connect({ level: 4, protocolName: 'MQIsdp' }), good: connect({ level: 4 }), level: 4 },
  { code: 'bridge-flag', what: 'level 0x84', bad: connect({ levelByte: 0x84 }), good: connect({}), level: 4, severity: 'warning' },
  { code: 'connect-reserved-bit', what: 'flags bit 0', bad: connect({ flags: 0x03 }), good: connect({ flags: 0x02 }), level: 4, at: [9, 1] },
  { code: 'will-flags', what: 'will QoS 1 without will', bad: connect({ flags: 0x0a }), good: connect({ flags: 0x02 }), level: 4 },
  { code: 'will-flags', what: 'will retain without will', bad: connect({ flags: 0x22 }), good: connect({ flags: 0x02 }), level: 5 },
  { code: 'will-qos3', what: 'will QoS 3', bad: connect({ will: { topic: 'w', payload: 'x', qos: 3 } }), good: connect({ will: { topic: 'w', payload: 'x', qos: 2 } }), level: 4 },
  { code: 'password-without-username', what: '3.1.1', bad: connect({ password: 'p' }), good: connect({ username: 'u', password: 'p' }), level: 4 },
  { code: 'v31-missing-field', what: '3.1 user name flag, no user name', bad: connect({ level: 3, flags: 0x82 }), good: connect({ level: 3, flags: 0x02 }), level: 3, severity: 'warning' },
  { code: 'clientid-empty', what: '3.1.1 empty ClientId with CleanSession 0', bad: connect({ clientId: '', clean: false }), good: connect({ clientId: '', clean: true }), level: 4 },
  { code: 'bad-utf8', what: 'stray continuation byte', bad: publish({ topic: topicBytes('a', '#80') }), good: publish({ topic: 'a' }), level: 4, at: [5, 1] },
  { code: 'bad-utf8', what: 'overlong C0 AF', bad: publish({ topic: topicBytes('#c0 af') }), good: publish({ topic: '/' }), level: 4 },
  { code: 'bad-utf8', what: 'overlong E0 80 AF', bad: publish({ topic: topicBytes('#e0 80 af') }), good: publish({ topic: '/' }), level: 4 },
  { code: 'bad-utf8', what: 'surrogate ED A0 80', bad: publish({ topic: topicBytes('#ed a0 80') }), good: publish({ topic: topicBytes('#ed 9f bf') }), level: 4 },
  { code: 'bad-utf8', what: 'above U+10FFFF', bad: publish({ topic: topicBytes('#f4 90 80 80') }), good: publish({ topic: topicBytes('#f4 8f bf bd') }), level: 4 },
  { code: 'bad-utf8', what: 'truncated sequence', bad: publish({ topic: topicBytes('#e2 82') }), good: publish({ topic: topicBytes('#e2 82 ac') }), level: 4 },
  { code: 'bad-utf8', what: 'in a client id, 3.1: warning', bad: connect({ level: 3, clientId: '\ufffd' }).map((x) => (x === 0xef ? 0xff : x)), good: connect({ level: 3 }), level: 3, severity: 'warning' },
  { code: 'utf8-null', what: 'U+0000 in a topic', bad: publish({ topic: 'a\u0000b' }), good: publish({ topic: 'ab' }), level: 4, at: [5, 1] },
  { code: 'utf8-null', what: 'U+0000 in a user property', bad: publish({ level: 5, topic: 't', properties: [['userProperty', ['a\u0000', 'b']]] }), good: publish({ level: 5, topic: 't', properties: [['userProperty', ['a', 'b']]] }), level: 5 },
  { code: 'utf8-control', what: 'U+0001', bad: publish({ topic: 'a\u0001' }), good: publish({ topic: 'a' }), level: 4, severity: 'warning' },
  { code: 'utf8-control', what: 'U+0085 (C1)', bad: publish({ topic: 'a\u0085' }), good: publish({ topic: 'a\u00a0' }), level: 4, severity: 'warning' },
  { code: 'utf8-noncharacter', what: 'U+FFFF', bad: publish({ topic: 'a\uffff' }), good: publish({ topic: 'a\ufffd' }), level: 4, severity: 'warning' },
  { code: 'utf8-noncharacter', what: 'U+FDD0', bad: publish({ topic: 'a\ufdd0' }), good: publish({ topic: 'a' }), level: 4, severity: 'warning' },
  { code: 'packet-id-zero', what: 'PUBACK 0', bad: ack('PUBACK', { packetId: 0 }), good: ack('PUBACK', { packetId: 1 }), level: 4, at: [2, 2] },
  { code: 'packet-id-zero', what: 'QoS 1 PUBLISH 0', bad: publish({ level: 5, topic: 'a', qos: 1, packetId: 0 }), good: publish({ level: 5, topic: 'a', qos: 1, packetId: 1 }), level: 5 },
  { code: 'packet-id-zero', what: 'SUBSCRIBE 0', bad: subscribe({ packetId: 0, subscriptions: [{ topic: 'a' }] }), good: subscribe({ subscriptions: [{ topic: 'a' }] }), level: 4 },
  { code: 'topic-wildcard', what: '+ in a topic name', bad: publish({ topic: 'a/+' }), good: publish({ topic: 'a/b' }), level: 4, at: [6, 1] },
  { code: 'topic-wildcard', what: '# in a will topic', bad: connect({ will: { topic: '#', payload: '' } }), good: connect({ will: { topic: 'w', payload: '' } }), level: 4 },
  { code: 'topic-wildcard', what: 'wildcard in Response Topic', bad: publish({ level: 5, topic: 'a', properties: [['responseTopic', 'r/#']] }), good: publish({ level: 5, topic: 'a', properties: [['responseTopic', 'r/1']] }), level: 5 },
  { code: 'topic-empty', what: '3.1.1 empty topic', bad: publish({ topic: '' }), good: publish({ topic: 'a' }), level: 4 },
  { code: 'topic-empty', what: '5.0 empty topic without alias', bad: publish({ level: 5, topic: '' }), good: publish({ level: 5, topic: '', properties: [['topicAlias', 2]] }), level: 5 },
  { code: 'topic-empty', what: 'empty will topic', bad: connect({ will: { topic: '', payload: '' } }), good: connect({ will: { topic: 'w', payload: '' } }), level: 4 },
  { code: 'filter-invalid', what: 'a/#/b', bad: subscribe({ subscriptions: [{ topic: 'a/#/b' }] }), good: subscribe({ subscriptions: [{ topic: 'a/+/b' }] }), level: 4 },
  { code: 'filter-invalid', what: 'a#', bad: subscribe({ subscriptions: [{ topic: 'a#' }] }), good: subscribe({ subscriptions: [{ topic: 'a/#' }] }), level: 4 },
  { code: 'filter-invalid', what: '#/', bad: subscribe({ subscriptions: [{ topic: '#/' }] }), good: subscribe({ subscriptions: [{ topic: '#' }] }), level: 4 },
  { code: 'filter-invalid', what: '+a/b in UNSUBSCRIBE', bad: unsubscribe({ topics: ['+a/b'] }), good: unsubscribe({ topics: ['+/a/b'] }), level: 4 },
  { code: 'filter-invalid', what: 'a+', bad: subscribe({ level: 5, subscriptions: [{ topic: 'a+' }] }), good: subscribe({ level: 5, subscriptions: [{ topic: '+' }] }), level: 5 },
  { code: 'filter-empty', what: 'empty filter', bad: subscribe({ subscriptions: [{ topic: '' }] }), good: subscribe({ subscriptions: [{ topic: '/' }] }), level: 4 },
  { code: 'no-filters', what: 'SUBSCRIBE with none', bad: hex('82 02 00 01'), good: subscribe({ subscriptions: [{ topic: 'a' }] }), level: 4 },
  { code: 'no-filters', what: 'UNSUBSCRIBE with none (5.0)', bad: hex('a2 03 00 01 00'), good: unsubscribe({ level: 5, topics: ['a'] }), level: 5 },
  { code: 'no-reason-codes', what: 'SUBACK with none', bad: hex('90 02 00 01'), good: hex('90 03 00 01 00'), level: 4 },
  { code: 'no-reason-codes', what: '5.0 UNSUBACK with none', bad: hex('b0 03 00 01 00'), good: hex('b0 04 00 01 00 00'), level: 5 },
  { code: 'sub-qos3', what: '3.1.1 requested QoS 3', bad: subscribe({ subscriptions: [{ topic: 'a', qos: 3 }] }), good: subscribe({ subscriptions: [{ topic: 'a', qos: 2 }] }), level: 4 },
  { code: 'sub-qos3', what: '5.0 Maximum QoS 3', bad: subscribe({ level: 5, subscriptions: [{ topic: 'a', qos: 3 }] }), good: subscribe({ level: 5, subscriptions: [{ topic: 'a', qos: 2 }] }), level: 5 },
  { code: 'sub-reserved-bits', what: '3.1.1 bit 2', bad: subscribe({ subscriptions: [{ topic: 'a', options: 0x04 }] }), good: subscribe({ subscriptions: [{ topic: 'a', options: 0x00 }] }), level: 4 },
  { code: 'sub-reserved-bits', what: '5.0 bit 6', bad: subscribe({ level: 5, subscriptions: [{ topic: 'a', options: 0x40 }] }), good: subscribe({ level: 5, subscriptions: [{ topic: 'a', options: 0x04 }] }), level: 5 },
  { code: 'retain-handling3', what: 'Retain Handling 3', bad: subscribe({ level: 5, subscriptions: [{ topic: 'a', retainHandling: 3 }] }), good: subscribe({ level: 5, subscriptions: [{ topic: 'a', retainHandling: 2 }] }), level: 5 },
  { code: 'shared-nolocal', what: 'No Local on $share', bad: subscribe({ level: 5, subscriptions: [{ topic: '$share/g/a', noLocal: true }] }), good: subscribe({ level: 5, subscriptions: [{ topic: '$share/g/a' }] }), level: 5 },
  { code: 'share-syntax', what: 'no filter after ShareName', bad: subscribe({ level: 5, subscriptions: [{ topic: '$share/g' }] }), good: subscribe({ level: 5, subscriptions: [{ topic: '$share/g/#' }] }), level: 5 },
  { code: 'share-syntax', what: 'empty ShareName', bad: subscribe({ level: 5, subscriptions: [{ topic: '$share//a' }] }), good: subscribe({ level: 5, subscriptions: [{ topic: '$share/x/a' }] }), level: 5 },
  { code: 'share-syntax', what: 'wildcard in ShareName', bad: unsubscribe({ level: 5, topics: ['$share/g+/a'] }), good: unsubscribe({ level: 5, topics: ['$share/g/+'] }), level: 5 },
  { code: 'share-syntax', what: 'empty filter after ShareName', bad: subscribe({ level: 5, subscriptions: [{ topic: '$share/g/' }] }), good: subscribe({ level: 5, subscriptions: [{ topic: '$share/g//' }] }), level: 5 },
  { code: 'bad-return-code', what: 'CONNACK 6', bad: hex('20 02 00 06'), good: hex('20 02 00 05'), level: 4, at: [3, 1] },
  { code: 'bad-return-code', what: 'SUBACK 0x03', bad: suback({ codes: [0x03] }), good: suback({ codes: [0x80] }), level: 4 },
  { code: 'connack-reserved-bits', what: 'byte 1 = 0x02', bad: hex('20 02 02 00'), good: hex('20 02 00 00'), level: 4, at: [2, 1] },
  { code: 'connack-reserved-bits', what: '5.0 byte 1 = 0x80', bad: connack({ level: 5, flagsByte: 0x80 }), good: connack({ level: 5 }), level: 5 },
  { code: 'session-present-on-failure', what: '3.1.1', bad: hex('20 02 01 05'), good: hex('20 02 00 05'), level: 4 },
  { code: 'session-present-on-failure', what: '5.0', bad: connack({ level: 5, sessionPresent: true, code: 0x80 }), good: connack({ level: 5, code: 0x80 }), level: 5 },
  { code: 'prop-unknown', what: 'id 0x05', bad: hex('30 06 00 01 61 02 05 00'), good: hex('30 06 00 01 61 02 01 00'), level: 5, at: [6, 2] },
  { code: 'prop-not-allowed', what: 'Topic Alias in CONNECT', bad: connect({ level: 5, properties: [['topicAlias', 1]] }), good: connect({ level: 5, properties: [['topicAliasMaximum', 1]] }), level: 5 },
  { code: 'prop-not-allowed', what: 'Session Expiry in Will Properties', bad: connect({ level: 5, will: { topic: 'w', payload: '', properties: [['sessionExpiryInterval', 1]] } }), good: connect({ level: 5, will: { topic: 'w', payload: '', properties: [['messageExpiryInterval', 1]] } }), level: 5 },
  { code: 'prop-not-allowed', what: 'Subscription Identifier in a client PUBLISH', bad: publish({ level: 5, topic: 'a', properties: [['subscriptionIdentifier', 1]] }), good: publish({ level: 5, topic: 'a' }), level: 5, dir: 'c2s' },
  { code: 'prop-not-allowed', what: 'Session Expiry in a server DISCONNECT', bad: disconnect({ level: 5, reasonCode: 0x8b, properties: [['sessionExpiryInterval', 1]] }), good: disconnect({ level: 5, reasonCode: 0x8b }), level: 5, dir: 's2c' },
  { code: 'prop-not-allowed', what: 'Reason String in UNSUBSCRIBE', bad: unsubscribe({ level: 5, topics: ['a'], properties: [['reasonString', 'x']] }), good: unsubscribe({ level: 5, topics: ['a'] }), level: 5 },
  { code: 'prop-duplicate', what: 'two Reason Strings', bad: ack('PUBACK', { level: 5, properties: [['reasonString', 'a'], ['reasonString', 'b']] }), good: ack('PUBACK', { level: 5, properties: [['reasonString', 'a']] }), level: 5 },
  { code: 'prop-duplicate', what: 'two Subscription Identifiers in SUBSCRIBE', bad: subscribe({ level: 5, properties: [['subscriptionIdentifier', 1], ['subscriptionIdentifier', 2]], subscriptions: [{ topic: 'a' }] }), good: subscribe({ level: 5, properties: [['subscriptionIdentifier', 1]], subscriptions: [{ topic: 'a' }] }), level: 5 },
  { code: 'prop-value', what: 'Payload Format Indicator 2', bad: publish({ level: 5, topic: 'a', properties: [['payloadFormatIndicator', 2]] }), good: publish({ level: 5, topic: 'a', properties: [['payloadFormatIndicator', 1]] }), level: 5 },
  { code: 'prop-value', what: 'Maximum QoS 2', bad: connack({ level: 5, properties: [['maximumQos', 2]] }), good: connack({ level: 5, properties: [['maximumQos', 1]] }), level: 5 },
  { code: 'prop-value', what: 'Retain Available 2', bad: connack({ level: 5, properties: [['retainAvailable', 2]] }), good: connack({ level: 5, properties: [['retainAvailable', 0]] }), level: 5 },
  { code: 'prop-value', what: 'Request Problem Information 2', bad: connect({ level: 5, properties: [['requestProblemInformation', 2]] }), good: connect({ level: 5, properties: [['requestProblemInformation', 0]] }), level: 5 },
  { code: 'prop-value', what: 'Receive Maximum 0', bad: connect({ level: 5, properties: [['receiveMaximum', 0]] }), good: connect({ level: 5, properties: [['receiveMaximum', 1]] }), level: 5 },
  { code: 'prop-value', what: 'Topic Alias 0', bad: publish({ level: 5, topic: 'a', properties: [['topicAlias', 0]] }), good: publish({ level: 5, topic: 'a', properties: [['topicAlias', 1]] }), level: 5 },
  { code: 'prop-value', what: 'Subscription Identifier 0', bad: subscribe({ level: 5, properties: [['subscriptionIdentifier', 0]], subscriptions: [{ topic: 'a' }] }), good: subscribe({ level: 5, properties: [['subscriptionIdentifier', 1]], subscriptions: [{ topic: 'a' }] }), level: 5 },
  { code: 'prop-value', what: 'Maximum Packet Size 0', bad: connack({ level: 5, properties: [['maximumPacketSize', 0]] }), good: connack({ level: 5, properties: [['maximumPacketSize', 1]] }), level: 5 },
  { code: 'prop-nonminimal', what: 'property length 80 00', bad: hex('30 05 00 01 61 80 00'), good: hex('30 04 00 01 61 00'), level: 5, at: [5, 2] },
  { code: 'prop-nonminimal', what: 'Subscription Identifier 81 00', bad: bytes(hex('82 0a 00 01 03 0b 81 00'), str('a'), [0]), good: bytes(hex('82 09 00 01 02 0b 01'), str('a'), [0]), level: 5 },
  { code: 'auth-data-without-method', what: 'CONNECT', bad: connect({ level: 5, properties: [['authenticationData', 'x']] }), good: connect({ level: 5, properties: [['authenticationMethod', 'm'], ['authenticationData', 'x']] }), level: 5 },
  { code: 'auth-without-method', what: 'AUTH 0x18 without method', bad: bytes(hex('f0 02 18 00')), good: auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm']] }), level: 5 },
  { code: 'bad-reason-code', what: 'PUBACK 0x92', bad: ack('PUBACK', { level: 5, reasonCode: 0x92 }), good: ack('PUBACK', { level: 5, reasonCode: 0x91 }), level: 5, at: [4, 1] },
  { code: 'bad-reason-code', what: 'CONNACK 0x01 in 5.0', bad: connack({ level: 5, code: 0x01 }), good: connack({ level: 5, code: 0x84 }), level: 5 },
  { code: 'bad-reason-code', what: 'SUBACK 0x03 in 5.0', bad: suback({ level: 5, codes: [0x03] }), good: suback({ level: 5, codes: [0xa1] }), level: 5 },
  { code: 'bad-reason-code', what: 'UNSUBACK 0x10', bad: bytes(hex('b0 04 00 01 00 10')), good: bytes(hex('b0 04 00 01 00 11')), level: 5 },
  { code: 'bad-reason-code', what: 'DISCONNECT 0x04 from the server', bad: disconnect({ level: 5, reasonCode: 0x04 }), good: disconnect({ level: 5, reasonCode: 0x8b }), level: 5, dir: 's2c' },
  { code: 'bad-reason-code', what: 'AUTH 0x19 from the server', bad: auth({ reasonCode: 0x19, properties: [['authenticationMethod', 'm']] }), good: auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm']] }), level: 5, dir: 's2c' },
  { code: 'bad-reason-code', what: 'PUBACK 0x10 from the client', bad: ack('PUBACK', { level: 5, reasonCode: 0x10 }), good: ack('PUBACK', { level: 5, reasonCode: 0x00 }), level: 5, dir: 'c2s' },
  { code: 'reason-code-conflict', what: 'DISCONNECT 0x8C', bad: disconnect({ level: 5, reasonCode: 0x8c }), good: disconnect({ level: 5, reasonCode: 0x80 }), level: 5, severity: 'warning' },
  { code: 'payload-not-utf8', what: 'PFI 1 with FF', bad: publish({ level: 5, topic: 'a', properties: [['payloadFormatIndicator', 1]], payload: hex('ff') }), good: publish({ level: 5, topic: 'a', properties: [['payloadFormatIndicator', 0]], payload: hex('ff') }), level: 5 },
  { code: 'payload-not-utf8', what: 'Will PFI 1 with FF', bad: connect({ level: 5, will: { topic: 'w', payload: hex('ff'), properties: [['payloadFormatIndicator', 1]] } }), good: connect({ level: 5, will: { topic: 'w', payload: 'ok', properties: [['payloadFormatIndicator', 1]] } }), level: 5 },
];

function codes(p: MqttPacket): string[] {
  return p.problems.map((x) => x.code);
}

describe('every problem code', () => {
  test('each code in PROBLEM_CODES has a triggering case (internal-error excepted)', () => {
    const covered = new Set(CASES.map((c) => c.code));
    const missing = Object.keys(PROBLEM_CODES).filter((c) => c !== 'internal-error' && !covered.has(c));
    expect(missing).toEqual([]);
    for (const c of covered) expect(PROBLEM_CODES, c).toHaveProperty(c);
  });

  test.each(CASES.map((c) => [c.code, c.what, c] as const))('%s: %s', (_code, _what, c) => {
    for (const tree of [false, true]) {
      const bad = decodePacket(c.bad, { level: c.level, dir: c.dir ?? null, tree });
      expect(codes(bad), JSON.stringify(bad.problems)).toContain(c.code);
      const pr = bad.problems.find((x) => x.code === c.code)!;
      expect(pr.offset).toBeGreaterThanOrEqual(0);
      expect(pr.offset + pr.length).toBeLessThanOrEqual(c.bad.length);
      expect(pr.message.length).toBeGreaterThan(0);
      if (c.at) expect([pr.offset, pr.length]).toEqual(c.at);
      if (c.severity) expect(pr.severity).toBe(c.severity);
      else expect(pr.severity).toBeDefined();
      if (c.code === 'wrong-direction') {
        // Same bytes, sent by the other side.
        const other = decodePacket(c.good, { level: c.level, dir: c.dir === 'c2s' ? 's2c' : 'c2s', tree });
        expect(other.problems).toEqual([]);
      } else if (c.code === 'reserved-type' && c.good[0] === 0xf0) {
        // Type 15 is AUTH in 5.0 (this short form only earns the auth-without-method warning).
        const g = decodePacket(c.good, { level: 5, dir: 'c2s', tree });
        expect(codes(g)).toEqual(['auth-without-method']);
      } else {
        const good = decodePacket(c.good, { level: c.level, dir: c.dir ?? null, tree });
        expect(good.problems, `${c.code} clean variant`).toEqual([]);
      }
    }
  });
});

describe('problem behaviour details', () => {
  test('structural defects stop decoding cleanly and keep what was decoded', () => {
    const p = decodePacket(hex('30 0a 00 01 61 05 ff'), { level: 5, dir: null, tree: true });
    expect(fieldsOf(p)['topic']).toBe('a');
    expect(fieldsOf(p)['properties']).toEqual({});
    expect(codes(p)).toContain('overrun');
  });

  test('unknown property stops decoding and names the identifier', () => {
    const p = decodePacket(hex('30 06 00 01 61 02 7f 00'), { level: 5, dir: null, tree: false });
    expect(p.problems).toHaveLength(1);
    expect(p.problems[0]!.message).toContain('0x7f');
    expect(fieldsOf(p)).not.toHaveProperty('payload');
  });

  test('QoS 3 PUBLISH decodes the topic and stops', () => {
    const p = decodePacket(hex('36 05 00 01 61 00 01'), { level: 4, dir: null, tree: false });
    expect(fieldsOf(p)['topic']).toBe('a');
    expect(fieldsOf(p)).not.toHaveProperty('packetId');
    expect(codes(p)).toEqual(['qos3']);
  });

  test('bad-size is not doubled by overrun or trailing-bytes', () => {
    expect(codes(decodePacket(hex('40 01 00'), { level: 4, dir: null, tree: true }))).toEqual(['bad-size']);
    expect(codes(decodePacket(hex('40 04 00 01 00 00'), { level: 4, dir: null, tree: true }))).toEqual(['bad-size']);
  });

  test('one problem per kind per string', () => {
    const p = decodePacket(publish({ topic: topicBytes('#ff fe fd fc') }), { level: 4, dir: null, tree: false });
    expect(codes(p)).toEqual(['bad-utf8']);
  });

  test('empty input', () => {
    const p = decodePacket(new Uint8Array(0), { level: 4, dir: null, tree: true });
    expect(codes(p)).toEqual(['overrun']);
    expect(p.length).toBe(0);
  });

  test('3.1 does not require connect flags bit 0, CONNACK reserved bits, or clean subscribe bits', () => {
    expect(codes(decodePacket(connect({ level: 3, flags: 0x03 }), { level: 3, dir: null, tree: false }))).toEqual([]);
    expect(codes(decodePacket(subscribe({ level: 3, subscriptions: [{ topic: 'a', options: 0x04 }] }), { level: 3, dir: null, tree: false }))).toEqual([]);
  });

  test('5.0 allows a password without a user name', () => {
    expect(codes(decodePacket(connect({ level: 5, password: 'p' }), { level: 5, dir: null, tree: false }))).toEqual([]);
  });

  test('3.1 password field absent too', () => {
    const p = decodePacket(connect({ level: 3, flags: 0xc2 }), { level: 3, dir: null, tree: false });
    expect(codes(p)).toEqual(['v31-missing-field', 'v31-missing-field']);
  });

  test('the PINGREQ builder and a u16 helper agree with the spec bytes', () => {
    expect(Array.from(pingreq())).toEqual([0xc0, 0]);
    expect(Array.from(u16(0x1234))).toEqual([0x12, 0x34]);
  });
});
