/**
 * One case per implemented catalogue rule: bytes (or a short session) that break exactly that rule, and the
 * assertion that the rule is reported. The last tests cross-check this table with the catalogue, so a rule can
 * be marked implemented only with a case here, and every case names an implemented rule.
 */
import { describe, expect, test } from 'vitest';
import type { Violation } from '../src/mqtt/connection-decoder.js';
import { PingPacket } from '../src/mqtt/packets.js';
import { CATALOGUE, REFERENCED, SESSIONS_STAGE_KEYS } from '../src/rules/catalogue.js';
import { checkedCounts, packetClass, REPORT_RULES, reportRuleOf, ruleClasses } from '../src/rules/coverage.js';
import { VERSION_NAME } from '../src/mqtt/types.js';
import { checkPacketAlone } from '../src/rules/engine.js';
import {
  ack, auth, bytes, connack, connect, disconnect, hex, packet, pingreq, pingresp, publish, str, suback, subscribe,
  unsuback, unsubscribe, type ConnectOpts, type Level, type Prop,
} from './builders/mqtt-bytes.js';
import { HARNESSES, Harness, alone, describeViolations, severityMismatches } from './builders/rules-harness.js';
import { Broker, brokenSession, expiryScenario, login, noLocalScenario, owedScenario, qosDeliveryScenario, retainHandlingScenario, sharedScenario, sub, subIdScenario, takeoverLoopScenario, unsubackScenario, type Login } from './builders/sessions-harness.js';
import { TcpSession } from './builders/frames.js';
import { runFrames } from './builders/run-frames.js';
import { clientFrame, upgradeRequest, upgradeResponse, wsFrame } from './builders/websocket.js';

interface RuleCase {
  key: string;
  what: string;
  run: () => Violation[];
}

const CASES: RuleCase[] = [];
const add = (key: string, what: string, run: () => Violation[]): void => {
  CASES.push({ key, what, run });
};

function found(vs: readonly Violation[], key: string): boolean {
  const bar = key.indexOf('|');
  const spec = key.slice(0, bar);
  const id = key.slice(bar + 1);
  return vs.some((v) => v.id === id && (spec === 'ref' || v.spec === spec || (spec === 'rfc6455' && v.spec.startsWith('RFC 6455 '))));
}

// ---- helpers ---------------------------------------------------------------------------------

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const BAD = hex('ff');

/** CONNECT with raw payload fields (for ill-formed strings). */
function connectRaw(level: Level, flags: number, ...payload: Uint8Array[]): Uint8Array {
  const name = level === 3 ? 'MQIsdp' : 'MQTT';
  return packet(1, 0, bytes(str(name), [level, flags, 0, 60], level === 5 ? [0] : [], ...payload));
}

/** A session after CONNECT and CONNACK. */
function sess(level: Level, c: ConnectOpts = {}, ackProps: Prop[] = [], ackOpts: { code?: number; sessionPresent?: boolean } = {}): Harness {
  const h = new Harness();
  h.c(connect({ level, clientId: 'c1', ...c }));
  h.s(connack({ level, properties: ackProps, ...ackOpts }));
  return h;
}

/** Session with a granted subscription to `filter`. */
function subscribed(level: Level, filter = 'a', qos = 1, extra: { subscriptionIdentifier?: number; rap?: boolean } = {}): Harness {
  const h = sess(level);
  const properties: Prop[] = extra.subscriptionIdentifier !== undefined ? [['subscriptionIdentifier', extra.subscriptionIdentifier]] : [];
  h.c(subscribe({ level, packetId: 100, subscriptions: [{ topic: filter, qos, retainAsPublished: extra.rap ?? false }], properties }));
  h.s(suback({ level, packetId: 100, codes: [qos] }));
  return h;
}

/** Runs steps on a harness, returns every violation (with close events when asked). */
function run(h: Harness, close = false): Violation[] {
  if (close) h.close();
  return h.all();
}

const big = 'x'.repeat(40);

// ============================================================================================
// Single-packet rules, 3.1.1
// ============================================================================================

add('3.1.1|MQTT-1.5.3-1', 'ill-formed UTF-8 in the protocol name',
  () => alone(packet(1, 0, bytes(str(hex('4d ff')), [4, 2, 0, 60], str('c1'))), 4));
add('3.1.1|MQTT-1.5.3-2', 'U+0000 in the user name', () => alone(connect({ username: 'a\u0000b' }), 4));
add('3.1.1|MQTT-2.2.2-1', 'PINGREQ flags 0001', () => alone(hex('c1 00'), 4));
add('3.1.1|MQTT-2.3.1-1', 'SUBSCRIBE with packet id 0', () => alone(subscribe({ packetId: 0, subscriptions: [{ topic: 'a' }] }), 4));
add('3.1.1|MQTT-3.1.2-3', 'connect flags bit 0 set', () => alone(connect({ flags: 0x03 }), 4));
add('3.1.1|MQTT-3.1.2-9', 'Will flag without Will Topic', () => alone(connect({ flags: 0x06, clientId: 'c' }), 4));
add('3.1.1|MQTT-3.1.2-13', 'Will QoS 1 without Will flag', () => alone(connect({ flags: 0x0a }), 4));
add('3.1.1|MQTT-3.1.2-14', 'Will QoS 3', () => alone(connect({ will: { topic: 'w', payload: 'x', qos: 3 } }), 4));
add('3.1.1|MQTT-3.1.2-15', 'Will Retain without Will flag', () => alone(connect({ flags: 0x22 }), 4));
add('3.1.1|MQTT-3.1.2-19', 'User Name flag without User Name', () => alone(connect({ flags: 0x82, clientId: 'c' }), 4));
add('3.1.1|MQTT-3.1.2-20', 'bytes after the last field with Password flag 0', () => alone(connect({ extra: hex('00 01 70') }), 4));
add('3.1.1|MQTT-3.1.2-21', 'Password flag without Password', () => alone(connect({ flags: 0xc2, username: 'u' }), 4));
add('3.1.1|MQTT-3.1.2-22', 'Password without User Name', () => alone(connect({ password: 'p' }), 4));
add('3.1.1|MQTT-3.1.3-3', 'no ClientId', () => alone(packet(1, 0, bytes(str('MQTT'), [4, 2, 0, 60])), 4));
add('3.1.1|MQTT-3.1.3-4', 'ClientId ill-formed UTF-8', () => alone(connectRaw(4, 0x02, str(BAD)), 4));
add('3.1.1|MQTT-3.1.3-7', 'empty ClientId with CleanSession 0', () => alone(connect({ clientId: '', clean: false }), 4));
add('3.1.1|MQTT-3.1.3-10', 'Will Topic ill-formed UTF-8', () => alone(connectRaw(4, 0x06, str('c'), str(BAD), str('m')), 4));
add('3.1.1|MQTT-3.1.3-11', 'User Name ill-formed UTF-8', () => alone(connectRaw(4, 0x82, str('c'), str(BAD)), 4));
add('3.1.1|MQTT-3.2.2-4', 'Session Present with a refusal', () => alone(connack({ sessionPresent: true, code: 5 }), 4));
add('3.1.1|MQTT-3.3.1-2', 'DUP with QoS 0', () => alone(hex('38 03 00 01 61'), 4));
add('3.1.1|MQTT-3.3.1-4', 'QoS 3', () => alone(hex('36 03 00 01 61'), 4));
add('3.1.1|MQTT-3.3.1-11', 'server sends an empty retained message', () => alone(publish({ topic: 'a', retain: true }), 4, 's2c'));
add('3.1.1|MQTT-3.3.2-1', 'Topic Name ill-formed UTF-8', () => alone(publish({ topic: BAD }), 4));
add('3.1.1|MQTT-3.3.2-2', 'Topic Name with a wildcard', () => alone(publish({ topic: 'a/+' }), 4));
add('3.1.1|MQTT-3.6.1-1', 'PUBREL flags 0000', () => alone(ack('PUBREL', { flags: 0 }), 4));
add('3.1.1|MQTT-3.8.1-1', 'SUBSCRIBE flags 0000', () => alone(subscribe({ flags: 0, subscriptions: [{ topic: 'a' }] }), 4));
add('3.1.1|MQTT-3.8.3-1', 'filter ill-formed UTF-8', () => alone(subscribe({ subscriptions: [{ topic: BAD }] }), 4));
add('3.1.1|MQTT-3.8.3-3', 'SUBSCRIBE without filters', () => alone(subscribe({ subscriptions: [] }), 4));
add('3.1.1|MQTT-3.8.3-4', 'requested QoS byte with reserved bits', () => alone(subscribe({ subscriptions: [{ topic: 'a', options: 0x05 }] }), 4));
add('3.1.1|MQTT-3.9.3-2', 'SUBACK return code 3', () => alone(suback({ codes: [3] }), 4));
add('3.1.1|MQTT-3.10.1-1', 'UNSUBSCRIBE flags 0000', () => alone(unsubscribe({ flags: 0, topics: ['a'] }), 4));
add('3.1.1|MQTT-3.10.3-1', 'UNSUBSCRIBE filter ill-formed UTF-8', () => alone(unsubscribe({ topics: [BAD] }), 4));
add('3.1.1|MQTT-3.10.3-2', 'UNSUBSCRIBE without filters', () => alone(unsubscribe({ topics: [] }), 4));
add('3.1.1|MQTT-3.14.1-1', 'DISCONNECT flags 0001', () => alone(hex('e1 00'), 4));
add('3.1.1|MQTT-4.7.1-1', 'Will Topic with a wildcard', () => alone(connect({ will: { topic: 'a/#', payload: 'reading-1' } }), 4));
add('3.1.1|MQTT-4.7.1-2', "'#' not alone in its level", () => alone(subscribe({ subscriptions: [{ topic: 'a#' }] }), 4));
add('3.1.1|MQTT-4.7.1-3', "'+' not alone in its level", () => alone(subscribe({ subscriptions: [{ topic: 'a+' }] }), 4));
add('3.1.1|MQTT-4.7.3-1', 'empty Topic Filter', () => alone(subscribe({ subscriptions: [{ topic: '' }] }), 4));
add('3.1.1|MQTT-4.7.3-2', 'U+0000 in a Topic Name', () => alone(publish({ topic: 'a\u0000b' }), 4));

// ============================================================================================
// Single-packet rules, 5.0
// ============================================================================================

const raw = (id: number, ...rest: Uint8Array[]): Uint8Array => bytes([id], ...rest);

add('5.0|MQTT-1.5.4-1', 'Reason String ill-formed UTF-8',
  () => alone(ack('PUBACK', { level: 5, reasonCode: 0, properties: [raw(0x1f, str(BAD))] }), 5, 's2c'));
add('5.0|MQTT-1.5.4-2', 'U+0000 in a Reason String',
  () => alone(ack('PUBACK', { level: 5, reasonCode: 0, properties: [['reasonString', 'a\u0000']] }), 5, 's2c'));
add('5.0|MQTT-1.5.5-1', 'non-minimal Remaining Length', () => alone(hex('c0 80 00'), 5));
add('5.0|MQTT-1.5.7-1', 'User Property name ill-formed UTF-8',
  () => alone(publish({ level: 5, topic: 'a', properties: [raw(0x26, str(BAD), str('v'))] }), 5));
add('5.0|MQTT-2.1.3-1', 'PINGREQ flags 0001', () => alone(hex('c1 00'), 5));
add('5.0|MQTT-2.2.1-3', 'client SUBSCRIBE with packet id 0', () => alone(subscribe({ level: 5, packetId: 0, subscriptions: [{ topic: 'a' }] }), 5, 'c2s'));
add('5.0|MQTT-2.2.1-4', 'server QoS 1 PUBLISH with packet id 0', () => alone(publish({ level: 5, topic: 'a', qos: 1, packetId: 0 }), 5, 's2c'));
add('5.0|MQTT-2.2.2-1', 'CONNACK without Property Length', () => alone(hex('20 02 00 00'), 5));
add('5.0|MQTT-3.1.2-1', 'protocol name "MQTX"', () => alone(connect({ level: 5, protocolName: 'MQTX' }), 5));
add('5.0|MQTT-3.1.2-3', 'connect flags bit 0 set', () => alone(connect({ level: 5, flags: 0x03 }), 5));
add('5.0|MQTT-3.1.2-9', 'Will flag without Will Properties and Topic', () => alone(connect({ level: 5, flags: 0x06 }), 5));
add('5.0|MQTT-3.1.2-11', 'Will QoS without Will flag', () => alone(connect({ level: 5, flags: 0x12 }), 5));
add('5.0|MQTT-3.1.2-12', 'Will QoS 3', () => alone(connect({ level: 5, will: { topic: 'w', payload: 'x', qos: 3 } }), 5));
add('5.0|MQTT-3.1.2-13', 'Will Retain without Will flag', () => alone(connect({ level: 5, flags: 0x22 }), 5));
add('5.0|MQTT-3.1.2-17', 'User Name flag without User Name', () => alone(connect({ level: 5, flags: 0x82 }), 5));
add('5.0|MQTT-3.1.2-18', 'bytes after the last field with Password flag 0', () => alone(connect({ level: 5, extra: hex('00 01 70') }), 5));
add('5.0|MQTT-3.1.2-19', 'Password flag without Password', () => alone(connect({ level: 5, flags: 0x42 }), 5));
add('5.0|MQTT-3.1.3-3', 'no ClientId', () => alone(packet(1, 0, bytes(str('MQTT'), [5, 2, 0, 60, 0])), 5));
add('5.0|MQTT-3.1.3-4', 'ClientId ill-formed UTF-8', () => alone(connectRaw(5, 0x02, str(BAD)), 5));
add('5.0|MQTT-3.1.3-11', 'Will Topic ill-formed UTF-8', () => alone(connectRaw(5, 0x06, str('c'), hex('00'), str(BAD), str('m')), 5));
add('5.0|MQTT-3.1.3-12', 'User Name ill-formed UTF-8', () => alone(connectRaw(5, 0x82, str('c'), str(BAD)), 5));
add('5.0|MQTT-3.2.2-1', 'CONNACK flags bits 7-1 set', () => alone(connack({ level: 5, flagsByte: 0x02 }), 5));
add('5.0|MQTT-3.2.2-6', 'Session Present with a refusal', () => alone(connack({ level: 5, sessionPresent: true, code: 0x80 }), 5));
add('5.0|MQTT-3.2.2-8', 'CONNACK reason 0x01', () => alone(connack({ level: 5, code: 0x01 }), 5));
add('5.0|MQTT-3.3.1-2', 'DUP with QoS 0', () => alone(publish({ level: 5, topic: 'a', dup: true }), 5));
add('5.0|MQTT-3.3.1-4', 'QoS 3', () => alone(hex('36 04 00 01 61 00'), 5));
add('5.0|MQTT-3.3.2-1', 'Topic Name ill-formed UTF-8', () => alone(publish({ level: 5, topic: BAD }), 5));
add('5.0|MQTT-3.3.2-2', 'Topic Name with a wildcard', () => alone(publish({ level: 5, topic: 'a/#' }), 5));
add('5.0|MQTT-3.3.2-8', 'Topic Alias 0', () => alone(publish({ level: 5, topic: 'a', properties: [['topicAlias', 0]] }), 5));
add('5.0|MQTT-3.3.2-13', 'Response Topic ill-formed UTF-8', () => alone(publish({ level: 5, topic: 'a', properties: [raw(0x08, str(BAD))] }), 5));
add('5.0|MQTT-3.3.2-14', 'Response Topic with a wildcard', () => alone(publish({ level: 5, topic: 'a', properties: [['responseTopic', 'r/#']] }), 5));
add('5.0|MQTT-3.3.2-19', 'Content Type ill-formed UTF-8', () => alone(publish({ level: 5, topic: 'a', properties: [raw(0x03, str(BAD))] }), 5));
add('5.0|MQTT-3.3.4-6', 'client PUBLISH with a Subscription Identifier',
  () => alone(publish({ level: 5, topic: 'a', properties: [['subscriptionIdentifier', 3]] }), 5, 'c2s'));
add('5.0|MQTT-3.4.2-1', 'PUBACK reason 0x01', () => alone(ack('PUBACK', { level: 5, reasonCode: 0x01 }), 5));
add('5.0|MQTT-3.5.2-1', 'PUBREC reason 0x01', () => alone(ack('PUBREC', { level: 5, reasonCode: 0x01 }), 5));
add('5.0|MQTT-3.6.1-1', 'PUBREL flags 0000', () => alone(ack('PUBREL', { level: 5, flags: 0 }), 5));
add('5.0|MQTT-3.6.2-1', 'PUBREL reason 0x10', () => alone(ack('PUBREL', { level: 5, reasonCode: 0x10 }), 5));
add('5.0|MQTT-3.7.2-1', 'PUBCOMP reason 0x80', () => alone(ack('PUBCOMP', { level: 5, reasonCode: 0x80 }), 5));
add('5.0|MQTT-3.8.1-1', 'SUBSCRIBE flags 0000', () => alone(subscribe({ level: 5, flags: 0, subscriptions: [{ topic: 'a' }] }), 5));
add('5.0|MQTT-3.8.3-1', 'filter ill-formed UTF-8', () => alone(subscribe({ level: 5, subscriptions: [{ topic: BAD }] }), 5));
add('5.0|MQTT-3.8.3-2', 'SUBSCRIBE without filters', () => alone(subscribe({ level: 5, subscriptions: [] }), 5));
add('5.0|MQTT-3.8.3-4', 'No Local on a shared subscription',
  () => alone(subscribe({ level: 5, subscriptions: [{ topic: '$share/g/a', noLocal: true }] }), 5));
add('5.0|MQTT-3.8.3-5', 'Subscription Options reserved bits', () => alone(subscribe({ level: 5, subscriptions: [{ topic: 'a', options: 0x40 }] }), 5));
add('5.0|MQTT-3.9.3-2', 'SUBACK reason 0x03', () => alone(suback({ level: 5, codes: [3] }), 5));
add('5.0|MQTT-3.10.1-1', 'UNSUBSCRIBE flags 0000', () => alone(unsubscribe({ level: 5, flags: 0, topics: ['a'] }), 5));
add('5.0|MQTT-3.10.3-1', 'UNSUBSCRIBE filter ill-formed UTF-8', () => alone(unsubscribe({ level: 5, topics: [BAD] }), 5));
add('5.0|MQTT-3.10.3-2', 'UNSUBSCRIBE without filters', () => alone(unsubscribe({ level: 5, topics: [] }), 5));
add('5.0|MQTT-3.11.3-2', 'UNSUBACK reason 0x01', () => alone(unsuback({ level: 5, codes: [1] }), 5));
add('5.0|MQTT-3.14.1-1', 'DISCONNECT flags 0001', () => alone(hex('e1 00'), 5));
add('5.0|MQTT-3.14.2-1', 'DISCONNECT reason 0x01', () => alone(disconnect({ level: 5, reasonCode: 0x01 }), 5));
add('5.0|MQTT-3.14.2-2', 'server DISCONNECT with Session Expiry Interval',
  () => alone(disconnect({ level: 5, properties: [['sessionExpiryInterval', 5]] }), 5, 's2c'));
add('5.0|MQTT-3.15.1-1', 'AUTH flags 0001', () => alone(hex('f1 00'), 5));
add('5.0|MQTT-3.15.2-1', 'AUTH reason 0x01', () => alone(auth({ reasonCode: 0x01, properties: [['authenticationMethod', 'm']] }), 5));
add('5.0|MQTT-4.7.0-1', 'Will Topic with a wildcard', () => alone(connect({ level: 5, will: { topic: 'w/+', payload: 'reading-1' } }), 5));
add('5.0|MQTT-4.7.1-1', "'#' not last", () => alone(subscribe({ level: 5, subscriptions: [{ topic: 'a/#/b' }] }), 5));
add('5.0|MQTT-4.7.1-2', "'+' not alone in its level", () => alone(subscribe({ level: 5, subscriptions: [{ topic: '+a' }] }), 5));
add('5.0|MQTT-4.7.3-1', 'empty Topic Filter', () => alone(unsubscribe({ level: 5, topics: [''] }), 5));
add('5.0|MQTT-4.7.3-2', 'U+0000 in a Topic Filter', () => alone(subscribe({ level: 5, subscriptions: [{ topic: 'a\u0000' }] }), 5));
add('5.0|MQTT-4.8.2-1', 'empty ShareName', () => alone(subscribe({ level: 5, subscriptions: [{ topic: '$share//a' }] }), 5));
add('5.0|MQTT-4.8.2-2', 'ShareName without a filter', () => alone(subscribe({ level: 5, subscriptions: [{ topic: '$share/g' }] }), 5));

// ============================================================================================
// Unnumbered and own single-packet rules
// ============================================================================================

add('ref|ALL:2.2.3:rl-max-4-bytes', '5-byte Remaining Length', () => alone(hex('30 ff ff ff ff 01'), 4));
add('ref|3.1.1:2.2.3:rl-nonminimal', 'non-minimal Remaining Length in 3.1.1', () => alone(hex('c0 80 00'), 4));
add('ref|ALL:2.2.1:reserved-types', 'packet type 0', () => alone(hex('00 00'), 4));
add('ref|ALL:2.2.1:direction', 'CONNACK from the client', () => alone(connack({}), 4, 'c2s'));
add('ref|3.1.1:3.x:fixed-rl', 'PUBACK with Remaining Length 3', () => alone(hex('40 03 00 01 00'), 4));
add('ref|ALL:parse:trailing-bytes', 'byte after the last field', () => alone(hex('e0 03 00 00 00'), 5));
add('ref|3.1.1:3.2.2.1:connack-flags', 'CONNACK flags bits 7-1 set', () => alone(connack({ flagsByte: 0x04 }), 4));
add('ref|3.1.1:3.2.2.3:connack-rc-reserved', 'CONNACK return code 6', () => alone(connack({ code: 6 }), 4));
add('ref|3.1.1:3.1.2.2:level', '"MQTT" with level 3', () => alone(connect({ level: 3, protocolName: 'MQTT' }), 4));
add('ref|5.0:2.2.2.2:prop-not-allowed', 'Topic Alias in PUBACK',
  () => alone(ack('PUBACK', { level: 5, reasonCode: 0, properties: [['topicAlias', 1]] }), 5));
add('ref|5.0:3.x:prop-duplicate', 'Content Type twice',
  () => alone(publish({ level: 5, topic: 'a', properties: [['contentType', 'x'], ['contentType', 'y']] }), 5));
add('ref|5.0:3.1.2.11.3:recv-max-zero', 'Receive Maximum 0', () => alone(connect({ level: 5, properties: [['receiveMaximum', 0]] }), 5));
add('ref|5.0:3.1.2.11.4:max-pkt-zero', 'Maximum Packet Size 0', () => alone(connect({ level: 5, properties: [['maximumPacketSize', 0]] }), 5));
add('ref|5.0:3.1.2.11.6-7:req-info-range', 'Request Problem Information 2',
  () => alone(connect({ level: 5, properties: [['requestProblemInformation', 2]] }), 5));
add('ref|5.0:3.2.2.3:connack-byte-props', 'Maximum QoS 2', () => alone(connack({ level: 5, properties: [['maximumQos', 2]] }), 5));
add('ref|5.0:3.3.2.3.8:subid-zero', 'Subscription Identifier 0',
  () => alone(subscribe({ level: 5, subscriptions: [{ topic: 'a' }], properties: [['subscriptionIdentifier', 0]] }), 5));
add('ref|5.0:3.1.2.11.10:authdata-without-method', 'Authentication Data alone',
  () => alone(connect({ level: 5, properties: [['authenticationData', 'x']] }), 5));
add('ref|5.0:3.15.2.2.2:auth-needs-method', 'AUTH without Authentication Method', () => alone(auth({ reasonCode: 0x18, properties: [] }), 5));
add('ref|5.0:3.15.2.1:short-auth-no-method', 'AUTH of Remaining Length 0 (no Authentication Method)', () => alone(hex('f0 00'), 5));
add('ref|3.1:2.2.2:reserved-flags', 'reserved fixed-header flags on a 3.1 connection', () => alone(hex('c1 00'), 3));
add('ref|3.1:1.5.3:ill-formed-utf8', 'ill-formed UTF-8 on a 3.1 connection', () => alone(bytes([0x30, 5, 0, 3, 0x61, 0xff, 0x62]), 3));
add('ref|ALL:4.3.3:pubrel-missing', 'PUBREC received, PUBREL never sent', () => {
  const h = sess(4);
  h.c(publish({ topic: 'a', qos: 2, packetId: 1 }), 1);
  h.s(ack('PUBREC', { packetId: 1 }), 1.1);
  h.c(pingreq(), 5);
  h.s(pingresp(), 5.1);
  return run(h, true);
});
add('ref|ALL:4.3.3:pubcomp-missing', 'PUBREL never answered with PUBCOMP', () => {
  const h = sess(5);
  h.c(publish({ level: 5, topic: 'a', qos: 2, packetId: 1 }), 1);
  h.s(ack('PUBREC', { level: 5, packetId: 1 }), 1.1);
  h.c(ack('PUBREL', { level: 5, packetId: 1 }), 1.2);
  h.c(pingreq(), 5);
  h.s(pingresp(), 5.1);
  return run(h, true);
});
add('ref|5.0:3.8.3.1:sub-options-qos3', 'Maximum QoS 3 in Subscription Options',
  () => alone(subscribe({ level: 5, subscriptions: [{ topic: 'a', options: 0x03 }] }), 5));
add('ref|5.0:3.3.2.1:empty-topic-no-alias', 'empty Topic Name without Topic Alias', () => alone(publish({ level: 5, topic: '' }), 5));
add('ref|5.0:3.3.2.3.2:pfi-utf8', 'Payload Format Indicator 1 with binary payload',
  () => alone(publish({ level: 5, topic: 'a', payload: BAD, properties: [['payloadFormatIndicator', 1]] }), 5));
add('ref|5.0:3.1.3.2:will-props', 'Topic Alias in Will Properties',
  () => alone(connect({ level: 5, will: { topic: 'w', payload: 'x', properties: [['topicAlias', 1]] } }), 5));
add('ref|ALL:1.5.3/1.5.4:disallowed-cp', 'control character in the ClientId', () => alone(connect({ clientId: 'a\u0001' }), 4));
add('ref|3.1:3.1-compat:missing-user-pass', '3.1: User Name flag without User Name', () => alone(connect({ level: 3, flags: 0x82 }), 3));
add('ref|3.1:3.1.3:clientid-length', '3.1: ClientId of 24 characters', () => alone(connect({ level: 3, clientId: 'c'.repeat(24) }), 3));
add('ref|ALL:3.1.2.2:bridge-bit', 'level byte 0x84', () => alone(connect({ levelByte: 0x84 }), 4));
add('ref|5.0:1.5.5:vbi-max-4-bytes', '5-byte Property Length', () => alone(hex('30 09 00 01 61 ff ff ff ff 01 00'), 5));
add('ref|5.0:2.4:reason-table-conflict', 'DISCONNECT 0x8C', () => alone(disconnect({ level: 5, reasonCode: 0x8c }), 5));
add('ref|ALL:decoder:problem', 'a decoder problem code with no mapping', () => {
  const d = new PingPacket(hex('c0 00'), 12, 'PINGREQ', 0, 4);
  d.length = 2;
  d.headerLength = 2;
  d.problems = [{ code: 'something-new', offset: 0, length: 1, message: 'new defect', severity: 'error', field: undefined, propertyId: undefined }];
  return checkPacketAlone(hex('c0 00'), d, 'c2s');
});

// ============================================================================================
// Session rules, 3.1.1
// ============================================================================================

add('3.1.1|MQTT-2.2.2-2', 'server answers a PINGREQ with bad flags', () => {
  const h = sess(4);
  h.c(hex('c1 00'));
  h.s(pingresp());
  return run(h);
});
add('3.1.1|MQTT-2.3.1-2', 'client reuses an id in flight for another message', () => {
  const h = sess(4);
  h.c(publish({ topic: 'a', qos: 1, packetId: 1, payload: 'reading-1' }));
  h.c(publish({ topic: 'b', qos: 1, packetId: 1, payload: 'y' }));
  return run(h);
});
add('3.1.1|MQTT-2.3.1-4', 'server reuses an id in flight', () => {
  const h = subscribed(4, '#', 1);
  h.s(publish({ topic: 'a', qos: 1, packetId: 1, payload: 'reading-1' }));
  h.s(publish({ topic: 'b', qos: 1, packetId: 1, payload: 'y' }));
  return run(h);
});
add('3.1.1|MQTT-2.3.1-6', 'PUBACK for an id never in flight', () => {
  const h = sess(4);
  h.s(ack('PUBACK', { packetId: 7 }));
  return run(h);
});
add('3.1.1|MQTT-3.1.0-1', 'first client packet is not CONNECT', () => {
  const h = new Harness();
  h.c(pingreq());
  return run(h);
});
add('3.1.1|MQTT-3.1.0-2', 'second CONNECT', () => {
  const h = sess(4);
  h.c(connect({}));
  return run(h);
});
add('3.1.1|MQTT-3.1.2-1', 'wrong protocol name accepted', () => run(sess(4, { protocolName: 'MQTX' })));
add('3.1.1|MQTT-3.1.2-2', 'unsupported level accepted', () => run(sess(4, { levelByte: 6 })));
add('3.1.1|MQTT-3.1.2-6', 'DUP PUBLISH for a message never sent on a clean session', () => {
  const h = sess(4);
  h.c(publish({ topic: 'a', qos: 1, packetId: 5, dup: true }));
  return run(h);
});
add('3.1.1|MQTT-3.1.2-23', 'client silent longer than Keep Alive', () => {
  const h = new Harness();
  h.c(connect({ keepAlive: 10 }), 0);
  h.s(connack({}), 0.1);
  h.c(pingreq(), 13);
  return run(h);
});
add('3.1.1|MQTT-3.1.2-24', 'server keeps the connection after 1.5 x Keep Alive', () => {
  const h = new Harness();
  h.c(connect({ keepAlive: 10 }), 0);
  h.s(connack({}), 0.1);
  h.c(pingreq(), 18);
  return run(h);
});
add('3.1.1|MQTT-3.1.3-5', 'a plain ClientId rejected', () => run(sess(4, { clientId: 'abc' }, [], { code: 2 })));
add('3.1.1|MQTT-3.1.3-8', 'empty ClientId with CleanSession 0 accepted', () => run(sess(4, { clientId: '', clean: false })));
add('3.1.1|MQTT-3.1.4-1', 'malformed CONNECT accepted', () => run(sess(4, { flags: 0x03 })));
add('3.1.1|MQTT-3.2.0-1', 'server sends PINGRESP before CONNACK', () => {
  const h = new Harness();
  h.c(connect({}));
  h.s(pingresp());
  return run(h);
});
add('3.1.1|MQTT-3.2.2-1', 'Session Present on a clean session', () => run(sess(4, {}, [], { sessionPresent: true })));
add('3.1.1|MQTT-3.2.2-5', 'server goes on after refusing', () => {
  const h = sess(4, {}, [], { code: 5 });
  h.s(publish({ topic: 'a' }));
  return run(h);
});
add('3.1.1|MQTT-3.3.1-1', 'redelivery without DUP', () => {
  const h = sess(4);
  h.c(publish({ topic: 'a', qos: 1, packetId: 1, payload: 'reading-1' }));
  h.c(publish({ topic: 'a', qos: 1, packetId: 1, payload: 'reading-1' }));
  return run(h);
});
add('3.1.1|MQTT-3.3.1-3', 'server DUP for a message it never sent', () => {
  const h = subscribed(4, 'a', 1);
  h.s(publish({ topic: 'a', qos: 1, packetId: 9, dup: true }));
  return run(h);
});
add('3.1.1|MQTT-3.3.2-3', 'server sends a topic no subscription matches', () => {
  const h = subscribed(4, 'a/+', 1);
  h.s(publish({ topic: 'b/c' }));
  return run(h);
});
add('3.1.1|MQTT-3.3.4-1', 'PUBACK for a QoS 2 PUBLISH', () => {
  const h = sess(4);
  h.c(publish({ topic: 'a', qos: 2, packetId: 1 }));
  h.s(ack('PUBACK', { packetId: 1 }));
  return run(h);
});
add('ref|ALL:3.8.4:suback-missing', 'SUBSCRIBE never answered (3.1.1)', () => {
  const h = sess(4);
  h.c(subscribe({ packetId: 3, subscriptions: [{ topic: 'a' }] }), 1);
  h.c(pingreq(), 5);
  h.s(pingresp(), 5.1);
  return run(h, true);
});
add('3.1.1|MQTT-3.8.4-2', 'SUBACK for an unknown id', () => {
  const h = sess(4);
  h.s(suback({ packetId: 9, codes: [0] }));
  return run(h);
});
add('3.1.1|MQTT-3.8.4-5', 'SUBACK code count differs', () => {
  const h = sess(4);
  h.c(subscribe({ packetId: 3, subscriptions: [{ topic: 'a' }, { topic: 'b' }] }));
  h.s(suback({ packetId: 3, codes: [0] }));
  return run(h);
});
add('3.1.1|MQTT-3.8.4-6', 'delivery above the granted QoS', () => {
  const h = subscribed(4, 'a', 0);
  h.s(publish({ topic: 'a', qos: 1, packetId: 1 }));
  return run(h);
});
add('3.1.1|MQTT-3.9.3-1', 'SUBACK grants more than requested', () => {
  const h = sess(4);
  h.c(subscribe({ packetId: 3, subscriptions: [{ topic: 'a', qos: 0 }] }));
  h.s(suback({ packetId: 3, codes: [2] }));
  return run(h);
});
add('3.1.1|MQTT-3.10.4-4', 'UNSUBACK for an unknown id', () => {
  const h = sess(4);
  h.s(unsuback({ packetId: 4 }));
  return run(h);
});
add('ref|ALL:3.12.4:pingresp-missing', 'PINGREQ never answered (3.1.1)', () => {
  const h = sess(4);
  h.c(pingreq(), 1);
  h.c(publish({ topic: 'a' }), 5);
  return run(h, true);
});
add('3.1.1|MQTT-3.14.4-2', 'client sends after DISCONNECT', () => {
  const h = sess(4);
  h.c(disconnect());
  h.c(pingreq());
  return run(h);
});
add('3.1.1|MQTT-4.3.3-1', 'PUBREL before PUBREC', () => {
  const h = sess(4);
  h.c(publish({ topic: 'a', qos: 2, packetId: 1 }));
  h.c(ack('PUBREL', { packetId: 1 }));
  return run(h);
});
add('3.1.1|MQTT-4.3.3-2', 'PUBCOMP before PUBREL', () => {
  const h = sess(4);
  h.c(publish({ topic: 'a', qos: 2, packetId: 1 }));
  h.s(ack('PUBREC', { packetId: 1 }));
  h.s(ack('PUBCOMP', { packetId: 1 }));
  return run(h);
});
add('ref|ALL:3.3.4:publish-unanswered', 'client never acknowledges a QoS 1 PUBLISH (3.1.1)', () => {
  const h = subscribed(4, 'a', 1);
  h.s(publish({ topic: 'a', qos: 1, packetId: 1 }), 1);
  h.c(pingreq(), 5);
  h.s(pingresp(), 5.1);
  return run(h, true);
});
add('3.1.1|MQTT-4.6.0-2', 'PUBACKs out of arrival order', () => {
  const h = subscribed(4, 'a', 1);
  h.s(publish({ topic: 'a', qos: 1, packetId: 1 }));
  h.s(publish({ topic: 'a', qos: 1, packetId: 2 }));
  h.c(ack('PUBACK', { packetId: 2 }));
  h.c(ack('PUBACK', { packetId: 1 }));
  return run(h);
});
add('3.1.1|MQTT-4.6.0-3', 'PUBRECs out of arrival order', () => {
  const h = subscribed(4, 'a', 2);
  h.s(publish({ topic: 'a', qos: 2, packetId: 1 }));
  h.s(publish({ topic: 'a', qos: 2, packetId: 2 }));
  h.c(ack('PUBREC', { packetId: 2 }));
  return run(h);
});
add('3.1.1|MQTT-4.6.0-4', 'PUBRELs out of PUBREC order', () => {
  const h = sess(4);
  h.c(publish({ topic: 'a', qos: 2, packetId: 1 }));
  h.c(publish({ topic: 'a', qos: 2, packetId: 2 }));
  h.s(ack('PUBREC', { packetId: 1 }));
  h.s(ack('PUBREC', { packetId: 2 }));
  h.c(ack('PUBREL', { packetId: 2 }));
  return run(h);
});
add('3.1.1|MQTT-4.7.2-1', "'$' topic delivered through '#'", () => {
  const h = subscribed(4, '#', 0);
  h.s(publish({ topic: '$SYS/x' }));
  return run(h);
});
add('3.1.1|MQTT-4.8.0-1', 'server answers a malformed SUBSCRIBE', () => {
  const h = sess(4);
  h.c(subscribe({ packetId: 2, subscriptions: [] }));
  h.s(suback({ packetId: 2, codes: [0] }));
  return run(h);
});

// ============================================================================================
// Session rules, 5.0
// ============================================================================================

add('5.0|MQTT-2.2.1-5', 'PUBREC for an id never in flight', () => {
  const h = sess(5);
  h.s(ack('PUBREC', { level: 5, packetId: 7 }));
  return run(h);
});
add('5.0|MQTT-3.1.0-1', 'first client packet is not CONNECT', () => {
  const h = new Harness({ level: 5 });
  h.c(publish({ level: 5, topic: 'a' }));
  return run(h);
});
add('5.0|MQTT-3.1.0-2', 'second CONNECT', () => {
  const h = sess(5);
  h.c(connect({ level: 5 }));
  return run(h);
});
add('5.0|MQTT-3.1.2-4', 'DUP PUBLISH for a message never sent after Clean Start', () => {
  const h = sess(5);
  h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 5, dup: true }));
  return run(h);
});
add('5.0|MQTT-3.1.2-20', 'client silent longer than Keep Alive', () => {
  const h = new Harness();
  h.c(connect({ level: 5, keepAlive: 10 }), 0);
  h.s(connack({ level: 5 }), 0.1);
  h.c(pingreq(), 13);
  return run(h);
});
add('5.0|MQTT-3.1.2-22', 'server keeps the connection after 1.5 x Keep Alive', () => {
  const h = new Harness();
  h.c(connect({ level: 5, keepAlive: 10 }), 0);
  h.s(connack({ level: 5 }), 0.1);
  h.s(disconnect({ level: 5, reasonCode: 0x8d }), 30);
  return run(h);
});
add('5.0|MQTT-3.1.2-24', 'server PUBLISH above the client\'s Maximum Packet Size', () => {
  const h2 = new Harness();
  h2.c(connect({ level: 5, properties: [['maximumPacketSize', 20]] }));
  h2.s(connack({ level: 5 }));
  h2.c(subscribe({ level: 5, packetId: 1, subscriptions: [{ topic: 'a' }] }));
  h2.s(suback({ level: 5, packetId: 1, codes: [0] }));
  h2.s(publish({ level: 5, topic: 'a', payload: big }));
  return run(h2);
});
add('5.0|MQTT-3.1.2-26', 'server Topic Alias above the client\'s maximum', () => {
  const h = new Harness();
  h.c(connect({ level: 5, properties: [['topicAliasMaximum', 2]] }));
  h.s(connack({ level: 5 }));
  h.s(publish({ level: 5, topic: 'a', properties: [['topicAlias', 3]] }));
  return run(h);
});
add('5.0|MQTT-3.1.2-27', 'server Topic Alias although the client allows none', () => {
  const h = sess(5);
  h.s(publish({ level: 5, topic: 'a', properties: [['topicAlias', 1]] }));
  return run(h);
});
add('5.0|MQTT-3.1.2-28', 'Response Information not requested', () => run(sess(5, {}, [['responseInformation', 'r']])));
add('5.0|MQTT-3.1.2-29', 'Reason String although Request Problem Information is 0', () => {
  const h = sess(5, { properties: [['requestProblemInformation', 0]] });
  h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 1 }));
  h.s(ack('PUBACK', { level: 5, packetId: 1, reasonCode: 0, properties: [['reasonString', 'ok']] }));
  return run(h);
});
add('5.0|MQTT-3.1.2-30', 'PUBLISH during enhanced authentication', () => {
  const h = new Harness();
  h.c(connect({ level: 5, properties: [['authenticationMethod', 'm']] }));
  h.c(publish({ level: 5, topic: 'a' }));
  return run(h);
});
add('5.0|MQTT-3.1.3-5', 'a plain ClientId rejected with 0x85', () => run(sess(5, { clientId: 'abc' }, [], { code: 0x85 })));
add('5.0|MQTT-3.1.4-1', 'malformed CONNECT accepted', () => run(sess(5, { flags: 0x03 })));
add('5.0|MQTT-3.2.0-1', 'server sends PUBLISH before CONNACK', () => {
  const h = new Harness();
  h.c(connect({ level: 5 }));
  h.s(publish({ level: 5, topic: 'a' }));
  return run(h);
});
add('5.0|MQTT-3.2.0-2', 'second CONNACK', () => {
  const h = sess(5);
  h.s(connack({ level: 5 }));
  return run(h);
});
add('5.0|MQTT-3.2.2-2', 'Session Present after Clean Start', () => run(sess(5, {}, [], { sessionPresent: true })));
add('5.0|MQTT-3.2.2-4', 'client goes on after Session Present on a clean start', () => {
  const h = sess(5, {}, [], { sessionPresent: true });
  h.c(pingreq());
  return run(h);
});
add('5.0|MQTT-3.2.2-7', 'server goes on after refusing', () => {
  const h = sess(5, {}, [], { code: 0x87 });
  h.s(publish({ level: 5, topic: 'a' }));
  return run(h);
});
add('5.0|MQTT-3.2.2-9', '"QoS not supported" without a declared Maximum QoS', () => {
  const h = sess(5);
  h.s(disconnect({ level: 5, reasonCode: 0x9b }));
  return run(h);
});
add('5.0|MQTT-3.2.2-11', 'PUBLISH above the server\'s Maximum QoS', () => {
  const h = sess(5, {}, [['maximumQos', 0]]);
  h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 1 }));
  return run(h);
});
add('5.0|MQTT-3.2.2-12', 'Will QoS above Maximum QoS accepted',
  () => run(sess(5, { will: { topic: 'w', payload: 'x', qos: 2 } }, [['maximumQos', 1]])));
add('5.0|MQTT-3.2.2-13', 'retained Will accepted without retain support',
  () => run(sess(5, { will: { topic: 'w', payload: 'x', retain: true } }, [['retainAvailable', 0]])));
add('5.0|MQTT-3.2.2-14', 'retained PUBLISH without retain support', () => {
  const h = sess(5, {}, [['retainAvailable', 0]]);
  h.c(publish({ level: 5, topic: 'a', retain: true, payload: 'reading-1' }));
  return run(h);
});
add('5.0|MQTT-3.2.2-15', 'client PUBLISH above the server\'s Maximum Packet Size', () => {
  const h = sess(5, {}, [['maximumPacketSize', 20]]);
  h.c(publish({ level: 5, topic: 'a', payload: big }));
  return run(h);
});
add('5.0|MQTT-3.2.2-16', 'empty ClientId accepted without an assigned one', () => run(sess(5, { clientId: '' })));
add('5.0|MQTT-3.2.2-17', 'client Topic Alias above the server\'s maximum', () => {
  const h = sess(5, {}, [['topicAliasMaximum', 2]]);
  h.c(publish({ level: 5, topic: 'a', properties: [['topicAlias', 3]] }));
  return run(h);
});
add('5.0|MQTT-3.2.2-18', 'client Topic Alias although the server allows none', () => {
  const h = sess(5);
  h.c(publish({ level: 5, topic: 'a', properties: [['topicAlias', 1]] }));
  return run(h);
});
const maxSize = (n: number): Harness => {
  const h = new Harness();
  h.c(connect({ level: 5, clientId: 'c1', properties: [['maximumPacketSize', n]] }));
  return h;
};
add('5.0|MQTT-3.2.2-19', 'CONNACK with a Reason String above the client\'s Maximum Packet Size', () => {
  const h = maxSize(10);
  h.s(connack({ level: 5, properties: [['reasonString', big]] }));
  return run(h);
});
add('5.0|MQTT-3.2.2-20', 'CONNACK with User Properties above the client\'s Maximum Packet Size', () => {
  const h = maxSize(10);
  h.s(connack({ level: 5, properties: [['userProperty', ['k', big]]] }));
  return run(h);
});
add('5.0|MQTT-3.2.2-21', 'client silent longer than the Server Keep Alive', () => {
  const h = new Harness();
  h.c(connect({ level: 5, keepAlive: 60 }), 0);
  h.s(connack({ level: 5, properties: [['serverKeepAlive', 10]] }), 0.1);
  h.c(pingreq(), 13);
  return run(h);
});
add('5.0|MQTT-3.3.1-1', 'redelivery without DUP', () => {
  const h = sess(5);
  h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 1, payload: 'reading-1' }));
  h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 1, payload: 'reading-1' }));
  return run(h);
});
add('5.0|MQTT-3.3.1-3', 'server DUP for a message it never sent', () => {
  const h = subscribed(5, 'a', 1);
  h.s(publish({ level: 5, topic: 'a', qos: 1, packetId: 9, dup: true }));
  return run(h);
});
add('5.0|MQTT-3.3.1-7', 'empty retained message on a subscription without Retain As Published', () => {
  const h = subscribed(5, 'a', 0);
  h.s(publish({ level: 5, topic: 'a', retain: true }));
  return run(h);
});
add('5.0|MQTT-3.3.2-3', 'server sends a topic no subscription matches', () => {
  const h = subscribed(5, 'a', 0);
  h.s(publish({ level: 5, topic: 'b' }));
  return run(h);
});
add('5.0|MQTT-3.3.4-1', 'PUBREC for a QoS 1 PUBLISH', () => {
  const h = sess(5);
  h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 1 }));
  h.s(ack('PUBREC', { level: 5, packetId: 1 }));
  return run(h);
});
add('5.0|MQTT-3.3.4-3', 'delivery without the subscription\'s identifier', () => {
  const h = subscribed(5, 'a', 0, { subscriptionIdentifier: 7 });
  h.s(publish({ level: 5, topic: 'a' }));
  return run(h);
});
add('5.0|MQTT-3.3.4-7', 'client exceeds the server\'s Receive Maximum', () => {
  const h = sess(5, {}, [['receiveMaximum', 1]]);
  h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 1 }));
  h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 2 }));
  return run(h);
});
add('5.0|MQTT-3.3.4-9', 'server exceeds the client\'s Receive Maximum', () => {
  const h = new Harness();
  h.c(connect({ level: 5, clientId: 'c1', properties: [['receiveMaximum', 1]] }));
  h.s(connack({ level: 5 }));
  h.s(publish({ level: 5, topic: 'a', qos: 1, packetId: 1 }));
  h.s(publish({ level: 5, topic: 'a', qos: 1, packetId: 2 }));
  return run(h);
});
const sizeCase = (key: string, kind: 'PUBACK' | 'PUBREC' | 'PUBREL' | 'PUBCOMP', user: boolean): void => {
  add(key, `${kind} with ${user ? 'User Properties' : 'a Reason String'} above Maximum Packet Size`, () => {
    const h = maxSize(10);
    h.s(connack({ level: 5 }));
    const p: Prop = user ? ['userProperty', ['k', big]] : ['reasonString', big];
    h.s(ack(kind, { level: 5, packetId: 1, reasonCode: 0, properties: [p] }));
    return run(h);
  });
};
sizeCase('5.0|MQTT-3.4.2-2', 'PUBACK', false);
sizeCase('5.0|MQTT-3.4.2-3', 'PUBACK', true);
sizeCase('5.0|MQTT-3.5.2-2', 'PUBREC', false);
sizeCase('5.0|MQTT-3.5.2-3', 'PUBREC', true);
sizeCase('5.0|MQTT-3.6.2-2', 'PUBREL', false);
sizeCase('5.0|MQTT-3.6.2-3', 'PUBREL', true);
sizeCase('5.0|MQTT-3.7.2-2', 'PUBCOMP', false);
sizeCase('5.0|MQTT-3.7.2-3', 'PUBCOMP', true);
add('5.0|MQTT-3.8.4-2', 'SUBACK for an UNSUBSCRIBE', () => {
  const h = sess(5);
  h.c(unsubscribe({ level: 5, packetId: 3, topics: ['a'] }));
  h.s(suback({ level: 5, packetId: 3, codes: [0] }));
  return run(h);
});
add('5.0|MQTT-3.8.4-6', 'SUBACK code count differs', () => {
  const h = sess(5);
  h.c(subscribe({ level: 5, packetId: 3, subscriptions: [{ topic: 'a' }] }));
  h.s(suback({ level: 5, packetId: 3, codes: [0, 0] }));
  return run(h);
});
add('5.0|MQTT-3.8.4-8', 'delivery above the granted QoS', () => {
  const h = subscribed(5, 'a', 1);
  h.s(publish({ level: 5, topic: 'a', qos: 2, packetId: 1 }));
  return run(h);
});
add('5.0|MQTT-3.9.2-1', 'SUBACK with a Reason String above Maximum Packet Size', () => {
  const h = maxSize(10);
  h.s(connack({ level: 5 }));
  h.c(subscribe({ level: 5, packetId: 3, subscriptions: [{ topic: 'a' }] }));
  h.s(suback({ level: 5, packetId: 3, codes: [0], properties: [['reasonString', big]] }));
  return run(h);
});
add('5.0|MQTT-3.9.2-2', 'SUBACK with User Properties above Maximum Packet Size', () => {
  const h = maxSize(10);
  h.s(connack({ level: 5 }));
  h.c(subscribe({ level: 5, packetId: 3, subscriptions: [{ topic: 'a' }] }));
  h.s(suback({ level: 5, packetId: 3, codes: [0], properties: [['userProperty', ['k', big]]] }));
  return run(h);
});
add('5.0|MQTT-3.9.3-1', 'SUBACK grants more than requested', () => {
  const h = sess(5);
  h.c(subscribe({ level: 5, packetId: 3, subscriptions: [{ topic: 'a', qos: 1 }] }));
  h.s(suback({ level: 5, packetId: 3, codes: [2] }));
  return run(h);
});
add('ref|ALL:3.10.4:unsuback-missing', 'UNSUBSCRIBE never answered (5.0)', () => {
  const h = sess(5);
  h.c(unsubscribe({ level: 5, packetId: 3, topics: ['a'] }), 1);
  h.c(pingreq(), 5);
  h.s(pingresp(), 5.1);
  return run(h, true);
});
add('5.0|MQTT-3.10.4-5', 'UNSUBACK for an unknown id', () => {
  const h = sess(5);
  h.s(unsuback({ level: 5, packetId: 3 }));
  return run(h);
});
add('5.0|MQTT-3.11.2-1', 'UNSUBACK with a Reason String above Maximum Packet Size', () => {
  const h = maxSize(10);
  h.s(connack({ level: 5 }));
  h.s(unsuback({ level: 5, packetId: 3, properties: [['reasonString', big]] }));
  return run(h);
});
add('5.0|MQTT-3.11.2-2', 'UNSUBACK with User Properties above Maximum Packet Size', () => {
  const h = maxSize(10);
  h.s(connack({ level: 5 }));
  h.s(unsuback({ level: 5, packetId: 3, properties: [['userProperty', ['k', big]]] }));
  return run(h);
});
add('5.0|MQTT-3.11.3-1', 'UNSUBACK code count differs', () => {
  const h = sess(5);
  h.c(unsubscribe({ level: 5, packetId: 3, topics: ['a', 'b'] }));
  h.s(unsuback({ level: 5, packetId: 3, codes: [0] }));
  return run(h);
});
add('5.0|MQTT-3.14.0-1', 'server DISCONNECT before CONNACK', () => {
  const h = new Harness();
  h.c(connect({ level: 5 }));
  h.s(disconnect({ level: 5, reasonCode: 0x80 }));
  return run(h);
});
add('5.0|MQTT-3.14.2-3', 'DISCONNECT with a Reason String above Maximum Packet Size', () => {
  const h = sess(5, {}, [['maximumPacketSize', 10]]);
  h.c(disconnect({ level: 5, properties: [['reasonString', big]] }));
  return run(h);
});
add('5.0|MQTT-3.14.2-4', 'DISCONNECT with User Properties above Maximum Packet Size', () => {
  const h = sess(5, {}, [['maximumPacketSize', 10]]);
  h.c(disconnect({ level: 5, properties: [['userProperty', ['k', big]]] }));
  return run(h);
});
add('5.0|MQTT-3.14.4-1', 'server sends after its DISCONNECT', () => {
  const h = subscribed(5, 'a', 0);
  h.s(disconnect({ level: 5 }));
  h.s(publish({ level: 5, topic: 'a' }));
  return run(h);
});
add('5.0|MQTT-3.15.2-2', 'AUTH with a Reason String above Maximum Packet Size', () => {
  const h = new Harness();
  h.c(connect({ level: 5, properties: [['authenticationMethod', 'm'], ['maximumPacketSize', 12]] }));
  h.s(auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm'], ['reasonString', big]] }));
  return run(h);
});
add('5.0|MQTT-3.15.2-3', 'AUTH with User Properties above Maximum Packet Size', () => {
  const h = new Harness();
  h.c(connect({ level: 5, properties: [['authenticationMethod', 'm'], ['maximumPacketSize', 12]] }));
  h.s(auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm'], ['userProperty', ['k', big]]] }));
  return run(h);
});
add('5.0|MQTT-4.3.3-4', 'PUBREL before PUBREC', () => {
  const h = sess(5);
  h.c(publish({ level: 5, topic: 'a', qos: 2, packetId: 1 }));
  h.c(ack('PUBREL', { level: 5, packetId: 1 }));
  return run(h);
});
add('5.0|MQTT-4.3.3-6', 'PUBLISH resent after PUBREL', () => {
  const h = sess(5);
  h.c(publish({ level: 5, topic: 'a', qos: 2, packetId: 1 }));
  h.s(ack('PUBREC', { level: 5, packetId: 1 }));
  h.c(ack('PUBREL', { level: 5, packetId: 1 }));
  h.c(publish({ level: 5, topic: 'a', qos: 2, packetId: 1, dup: true }));
  return run(h);
});
add('5.0|MQTT-4.3.3-11', 'PUBCOMP before PUBREL', () => {
  const h = sess(5);
  h.c(publish({ level: 5, topic: 'a', qos: 2, packetId: 1 }));
  h.s(ack('PUBCOMP', { level: 5, packetId: 1 }));
  return run(h);
});
add('5.0|MQTT-4.4.0-1', 'PUBLISH resent on the same connection', () => {
  const h = sess(5);
  h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 1 }));
  h.c(publish({ level: 5, topic: 'a', qos: 1, packetId: 1, dup: true }));
  return run(h);
});
add('5.0|MQTT-4.6.0-2', 'PUBACKs out of arrival order', () => {
  const h = subscribed(5, 'a', 1);
  h.s(publish({ level: 5, topic: 'a', qos: 1, packetId: 1 }));
  h.s(publish({ level: 5, topic: 'a', qos: 1, packetId: 2 }));
  h.c(ack('PUBACK', { level: 5, packetId: 2 }));
  return run(h);
});
add('5.0|MQTT-4.6.0-3', 'PUBRECs out of arrival order', () => {
  const h = subscribed(5, 'a', 2);
  h.s(publish({ level: 5, topic: 'a', qos: 2, packetId: 1 }));
  h.s(publish({ level: 5, topic: 'a', qos: 2, packetId: 2 }));
  h.c(ack('PUBREC', { level: 5, packetId: 2 }));
  return run(h);
});
add('5.0|MQTT-4.6.0-4', 'PUBRELs out of PUBREC order', () => {
  const h = sess(5);
  h.c(publish({ level: 5, topic: 'a', qos: 2, packetId: 1 }));
  h.c(publish({ level: 5, topic: 'a', qos: 2, packetId: 2 }));
  h.s(ack('PUBREC', { level: 5, packetId: 1 }));
  h.s(ack('PUBREC', { level: 5, packetId: 2 }));
  h.c(ack('PUBREL', { level: 5, packetId: 2 }));
  return run(h);
});
add('5.0|MQTT-4.7.2-1', "'$' topic delivered through '+/#'", () => {
  const h = subscribed(5, '+/#', 0);
  h.s(publish({ level: 5, topic: '$SYS/x' }));
  return run(h);
});
add('5.0|MQTT-4.12.0-2', 'server AUTH during authentication without 0x18', () => {
  const h = new Harness();
  h.c(connect({ level: 5, properties: [['authenticationMethod', 'm']] }));
  h.s(auth({ reasonCode: 0x00, properties: [['authenticationMethod', 'm']] }));
  return run(h);
});
add('5.0|MQTT-4.12.0-3', 'client AUTH during authentication without 0x18', () => {
  const h = new Harness();
  h.c(connect({ level: 5, properties: [['authenticationMethod', 'm']] }));
  h.s(auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm']] }));
  h.c(auth({ reasonCode: 0x19, properties: [['authenticationMethod', 'm']] }));
  return run(h);
});
add('5.0|MQTT-4.12.0-5', 'server AUTH with another method', () => {
  const h = new Harness();
  h.c(connect({ level: 5, properties: [['authenticationMethod', 'm']] }));
  h.s(auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'other']] }));
  return run(h);
});
add('5.0|MQTT-4.12.0-6', 'server AUTH although CONNECT had no method', () => {
  const h = new Harness();
  h.c(connect({ level: 5 }));
  h.s(auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'm']] }));
  return run(h);
});
add('5.0|MQTT-4.12.0-7', 'client AUTH although CONNECT had no method', () => {
  const h = sess(5);
  h.c(auth({ reasonCode: 0x19, properties: [['authenticationMethod', 'm']] }));
  return run(h);
});
add('5.0|MQTT-4.12.1-1', 're-authentication with another method', () => {
  const h = sess(5, { properties: [['authenticationMethod', 'm']] }, [['authenticationMethod', 'm']]);
  h.c(auth({ reasonCode: 0x19, properties: [['authenticationMethod', 'x']] }));
  return run(h);
});
add('5.0|MQTT-4.13.1-1', 'server answers a malformed SUBSCRIBE', () => {
  const h = sess(5);
  h.c(subscribe({ level: 5, packetId: 2, subscriptions: [] }));
  h.s(suback({ level: 5, packetId: 2, codes: [0] }));
  return run(h);
});

// ============================================================================================
// Session rules, unnumbered and own
// ============================================================================================

add('ref|5.0:3.14.2.2.2:sei-after-zero', 'Session Expiry set on DISCONNECT after 0 on CONNECT', () => {
  const h = sess(5);
  h.c(disconnect({ level: 5, properties: [['sessionExpiryInterval', 10]] }));
  return run(h);
});
add('ref|5.0:3.2.2.3.11-13:unsupported-sub-features', 'wildcard filter though wildcards are unavailable', () => {
  const h = sess(5, {}, [['wildcardSubscriptionAvailable', 0]]);
  h.c(subscribe({ level: 5, packetId: 1, subscriptions: [{ topic: 'a/+' }] }));
  return run(h);
});
add('ref|3.1.1:3.2.0:second-connack', 'second CONNACK in 3.1.1', () => {
  const h = sess(4);
  h.s(connack({}));
  return run(h);
});
add('ref|ALL:3.13:unsolicited-pingresp', 'PINGRESP without PINGREQ', () => {
  const h = sess(4);
  h.s(pingresp());
  return run(h);
});

// ============================================================================================
// MQTT over WebSocket: section 6 and RFC 6455 (a whole session through the pipeline, port 8080)
// ============================================================================================

type WsStep = readonly ['c' | 's', Uint8Array];

/** A WebSocket session: handshake (subprotocols as given), CONNECT and CONNACK of `level` in frames, then `steps`. */
function ws(steps: readonly WsStep[], o: { level?: Level; offered?: string | null; selected?: string | null; accept?: string | null } = {}): Violation[] {
  const level = o.level ?? 4;
  const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:8080');
  const frames = [
    ...s.handshake(),
    ...s.send('client', upgradeRequest({ protocols: o.offered === undefined ? 'mqtt' : o.offered })),
    ...s.send('server', upgradeResponse({ protocol: o.selected === undefined ? 'mqtt' : o.selected, ...(o.accept !== undefined ? { accept: o.accept } : {}) })),
    ...s.send('client', clientFrame({ payload: connect({ level, clientId: 'ws' }) })),
    ...s.send('server', wsFrame({ payload: connack({ level }) })),
  ];
  for (const [side, b] of steps) frames.push(...s.send(side === 'c' ? 'client' : 'server', b));
  frames.push(...s.close());
  return runFrames(frames).violations;
}

const PING = pingreq();
for (const [spec, level] of [['3.1.1', 4], ['5.0', 5]] as const) {
  add(`${spec}|MQTT-6.0.0-1`, 'a PINGREQ in a text frame', () => ws([['c', clientFrame({ opcode: 0x1, payload: PING })]], { level }));
  add(`${spec}|MQTT-6.0.0-3`, 'the client offers only "chat"', () => ws([], { level, offered: 'chat' }));
  add(`${spec}|MQTT-6.0.0-4`, 'the server selects no subprotocol', () => ws([], { level, selected: null }));
}
add('rfc6455|RFC6455:5.1:unmasked-client-frame', 'a client frame without mask', () => ws([['c', wsFrame({ payload: PING })]]));
add('rfc6455|RFC6455:5.1:masked-server-frame', 'a masked server frame', () => ws([['c', clientFrame({ payload: PING })], ['s', clientFrame({ payload: pingresp() })]]));
add('rfc6455|RFC6455:5.2:reserved-bits', 'RSV2 set', () => ws([['c', clientFrame({ rsv: 2, payload: PING })]]));
add('rfc6455|RFC6455:5.2:reserved-opcode', 'opcode 0x3', () => ws([['c', clientFrame({ opcode: 0x3, payload: PING })]]));
add('rfc6455|RFC6455:5.2:length-msb', 'a 64-bit length with its top bit set', () => ws([['c', clientFrame({ payload: PING, form: 64, declared: 1n << 63n })]]));
add('rfc6455|RFC6455:5.2:length-not-minimal', 'a 2-byte payload in the 16-bit form', () => ws([['c', clientFrame({ payload: PING, form: 16 })]]));
add('rfc6455|RFC6455:5.4:continuation-without-start', 'a continuation with no message', () => ws([['c', clientFrame({ opcode: 0x0, payload: PING })]]));
add('rfc6455|RFC6455:5.4:data-inside-fragmented', 'a binary frame inside a fragmented message', () =>
  ws([['c', clientFrame({ fin: false, payload: PING.subarray(0, 1) })], ['c', clientFrame({ payload: PING })], ['c', clientFrame({ opcode: 0x0, payload: PING.subarray(1) })]]));
add('rfc6455|RFC6455:5.5:control-too-long', 'a 126-byte ping', () => ws([['c', clientFrame({ opcode: 0x9, payload: new Uint8Array(126) })]]));
add('rfc6455|RFC6455:5.5:control-fragmented', 'a ping without FIN', () => ws([['c', clientFrame({ opcode: 0x9, fin: false, payload: 'reading-1' })]]));
add('rfc6455|RFC6455:5.5.1:close-payload-1', 'a close frame of one byte', () => ws([['c', clientFrame({ opcode: 0x8, payload: Uint8Array.of(3) })]]));
add('rfc6455|RFC6455:5.5.1:data-after-close', 'a data frame after the close frame', () =>
  ws([['c', clientFrame({ opcode: 0x8, payload: Uint8Array.of(0x03, 0xe8) })], ['c', clientFrame({ payload: PING })]]));
add('rfc6455|RFC6455:7.4:bad-close-code', 'close code 1005 sent in a frame', () => ws([['c', clientFrame({ opcode: 0x8, payload: Uint8Array.of(0x03, 0xed) })]]));
add('rfc6455|RFC6455:4.1:request-fields', 'an Upgrade request without Sec-WebSocket-Version', () => {
  const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:8080');
  const frames = [...s.handshake(), ...s.send('client', bytes('GET /mqtt HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n')), ...s.send('server', upgradeResponse())];
  return runFrames(frames).violations;
});
add('rfc6455|RFC6455:4.2.2:accept-mismatch', 'a wrong Sec-WebSocket-Accept', () => ws([], { accept: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }));

// The dialect stage holds the JSON validator, so this own rule is checked there: the whole pipeline runs it.
add('ref|5.0:3.3.2.3.9:content-type-json', 'a JSON Content Type on a payload that is not JSON', () => {
  const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883');
  return runFrames([
    ...s.handshake(), ...s.c2s(connect({ level: 5, clientId: 'ct' })), ...s.s2c(connack({ level: 5 })),
    ...s.c2s(publish({ level: 5, topic: 'a', payload: '{"t":', properties: [['contentType', 'application/json']] })), ...s.close(),
  ]).violations;
});

// ============================================================================================
// Across connections: the sessions stage (src/sessions/), scenarios of test/builders/sessions-harness.ts; every
// finding is the sessions stage's (Broker.all() leaves out what the rules find alone)
// ============================================================================================

/** The delivered-QoS scenario (test/builders/sessions-harness.ts): its findings. */
function qosDelivery(level: Level, delivered: number, overlap: boolean): Violation[] {
  return qosDeliveryScenario(level, delivered, overlap).all();
}
add('3.1.1|MQTT-3.3.5-1', 'overlapping subscriptions granted 1 and 2, a QoS 2 message delivered at QoS 1', () => qosDelivery(4, 1, true));
add('5.0|MQTT-3.3.4-2', 'overlapping subscriptions granted 1 and 2, a QoS 2 message delivered at QoS 1', () => qosDelivery(5, 1, true));

function takeover(level: Level): Violation[] {
  const b = new Broker();
  login(b, 0, 'dev', 0, { level });
  login(b, 1, 'dev', 1, { level });
  b.finish(5);
  return b.all();
}
add('3.1.1|MQTT-3.1.4-2', 'a second connection of the ClientId, the first still open 4 s later', () => takeover(4));
add('5.0|MQTT-3.1.4-3', 'a second connection of the ClientId, the first still open 4 s later', () => takeover(5));

function reconnect(first: Login, second: Login, gap = 1): Violation[] {
  const b = new Broker();
  login(b, 0, 'dev', 0, first);
  b.end(0, 1);
  login(b, 1, 'dev', 1 + gap, second);
  b.finish(2 + gap);
  return b.all();
}
add('3.1.1|MQTT-3.2.2-2', 'Clean Session 0 twice, Session Present 0 the second time', () => reconnect({ clean: false }, { clean: false, sp: false }));
add('3.1.1|MQTT-3.2.2-3', 'Clean Session 0 after a clean session, Session Present 1', () => reconnect({ clean: true }, { clean: false, sp: true }));
add('5.0|MQTT-3.2.2-3', 'Clean Start 0 after a session that expired, Session Present 1', () => reconnect({ level: 5, expiry: 10 }, { level: 5, clean: false, sp: true }, 30));

/** QoS 1 PUBLISH 7 and 8 unacknowledged, the connection broken, the session resumed; then `steps` on the new one. */
function resumed(steps: (b: Broker) => void): Violation[] {
  const b = brokenSession();
  steps(b);
  b.end(1, 2);
  b.finish(3);
  return b.all();
}
add('3.1.1|MQTT-4.4.0-1', 'PUBLISH 8 never resent on the resumed session', () => resumed((b) => {
  b.c(1, publish({ topic: 't/1', qos: 1, packetId: 7, payload: 'seven', dup: true }), 1.1);
}));
for (const spec of ['3.1.1', '5.0'] as const) {
  const level: Level = spec === '5.0' ? 5 : 4;
  add(`${spec}|MQTT-4.6.0-1`, 'PUBLISH 8 resent before PUBLISH 7', () => {
    const b = new Broker();
    login(b, 0, 'dev', 0, { level, clean: false, expiry: 60 });
    b.c(0, publish({ level, topic: 't/1', qos: 1, packetId: 7, payload: 'seven' }), 0.1);
    b.c(0, publish({ level, topic: 't/2', qos: 1, packetId: 8, payload: 'eight' }), 0.2);
    b.end(0, 0.3, 'rst', 'c2s');
    login(b, 1, 'dev', 1, { level, clean: false, sp: true, expiry: 60 });
    b.c(1, publish({ level, topic: 't/2', qos: 1, packetId: 8, payload: 'eight', dup: true }), 1.1);
    b.c(1, publish({ level, topic: 't/1', qos: 1, packetId: 7, payload: 'seven', dup: true }), 1.2);
    b.finish(3);
    return b.all();
  });
}

function liveRetain(level: Level): Violation[] {
  const b = new Broker();
  login(b, 1, 'pub', 0, { level });
  login(b, 0, 'sub', 0, { level });
  sub(b, 0, { topic: 's/#', qos: 0 }, 0, 0.1, level);
  b.c(1, publish({ level, topic: 's/x', retain: true, payload: 'state-on!' }), 1);
  b.s(0, publish({ level, topic: 's/x', retain: true, payload: 'state-on!' }), 1.001);
  b.finish(2);
  return b.all();
}
add('3.1.1|MQTT-3.3.1-9', 'RETAIN=1 on a delivery for a subscription made before the message', () => liveRetain(4));
add('5.0|MQTT-3.3.1-12', 'RETAIN=1 on a live delivery, Retain As Published 0', () => liveRetain(5));
add('5.0|MQTT-3.3.1-11', 'Retain Handling 2, and the retained message sent at subscribe time', () => retainHandlingScenario(2, false).all());
add('5.0|MQTT-3.3.1-10', 'Retain Handling 1 on a subscription that existed, and the retained message sent again', () => retainHandlingScenario(1, true).all());
add('5.0|MQTT-3.3.2-6', 'a Message Expiry Interval of 60 s forwarded unchanged 10 s after the PUBLISH', () => expiryScenario(60, 10, 60).all());
add('5.0|MQTT-3.3.2-5', 'a message with a Message Expiry Interval of 5 s delivered 10 s after its PUBLISH', () => expiryScenario(5, 10, 0).all());
add('5.0|MQTT-3.3.4-4', 'one copy for subscriptions with identifiers 1, 2 and 3 carrying only 1 and 3', () => subIdScenario([['meter/#', 1], ['meter/+', 2], ['meter/a', 3]], 'meter/a', [[1, 3]]).all());
add('5.0|MQTT-3.3.4-5', 'a copy per subscription (identifiers 1 and 2), the second carrying 9', () => subIdScenario([['meter/#', 1], ['meter/+', 2]], 'meter/a', [[1], [9]]).all());
add('3.1.1|MQTT-4.5.0-1', 'a message matching a connected subscriber\'s subscription, not delivered in 10 s', () => owedScenario({ level: 4 }).all());
add('5.0|MQTT-4.5.0-1', 'a message matching a connected subscriber\'s subscription, not delivered in 10 s', () => owedScenario({ level: 5 }).all());
add('ref|ALL:3.1.4:clientid-shared', 'ClientId "sensor" taken over 3 times back and forth between two addresses', () => takeoverLoopScenario(4).all());
add('ref|5.0:4.8:shared-one-session', 'one message delivered to two members of $share/pool/jobs/#, both connected', () => sharedScenario(false, false).all());
add('5.0|MQTT-3.8.3-3', 'the client\'s own message back through its No Local subscription', () => noLocalScenario(true, false).all());
add('3.1.1|MQTT-3.10.4-2', 'a message published 2 s after the UNSUBACK delivered through the removed subscription', () => unsubackScenario(4, 3, false).all());
add('5.0|MQTT-3.10.4-2', 'a message published 2 s after the UNSUBACK delivered through the removed subscription', () => unsubackScenario(5, 3, false).all());

/**
 * The Will audit: watcher `w` subscribed to will/# on conn 0, device `dev` with a Will on conn 1 (5.0: Will Delay
 * `delay`, Session Expiry 120); `steps` end it and publish (or not) the Will; then time passes and the capture ends.
 */
function will(level: Level, delay: number, steps: (b: Broker, out: (t: number) => void) => void): Violation[] {
  const b = new Broker();
  login(b, 0, 'w', 0, { level });
  sub(b, 0, { topic: 'will/#', qos: 1 }, 1, 0.01, level);
  const w = { topic: 'will/dev', payload: 'dev-1 connection lost', qos: 1, ...(level === 5 ? { properties: [['willDelayInterval', delay]] as Prop[] } : {}) };
  b.c(1, connect({ level, clientId: 'dev', clean: false, will: w, ...(level === 5 ? { properties: [['sessionExpiryInterval', 120]] as Prop[] } : {}) }), 0.1);
  b.s(1, connack({ level }), 0.101);
  steps(b, (t) => b.s(0, publish({ level, topic: w.topic, qos: 1, packetId: 7, payload: w.payload }), t));
  b.c(0, pingreq(), 40);
  b.finish(41);
  return b.all();
}
add('3.1.1|MQTT-3.1.2-8', 'the device killed (FIN, no DISCONNECT), its Will never reaches the watcher', () => will(4, 0, (b) => b.end(1, 1)));
add('5.0|MQTT-3.1.2-8', 'the device killed (RST), its Will never reaches the watcher', () => will(5, 0, (b) => b.end(1, 1, 'rst', 'c2s')));
for (const spec of ['3.1.1', '5.0'] as const) {
  const level: Level = spec === '5.0' ? 5 : 4;
  add(`${spec}|MQTT-3.14.4-3`, 'the Will published after the client\'s normal DISCONNECT', () => will(level, 0, (b, out) => {
    b.c(1, disconnect({ level }), 0.9);
    b.end(1, 1);
    out(1.002);
  }));
}
add('5.0|MQTT-3.1.3-9', 'the Will (Will Delay 30 s) published after the session was resumed within the delay', () => will(5, 30, (b, out) => {
  b.end(1, 1);
  b.c(2, connect({ level: 5, clientId: 'dev', clean: false, properties: [['sessionExpiryInterval', 120]] }), 5);
  b.s(2, connack({ level: 5, sessionPresent: true }), 5.001);
  out(31.1);
}));

// ============================================================================================
// Run
// ============================================================================================

describe('every implemented rule fires on its case', () => {
  for (const c of CASES) {
    test(`${c.key}: ${c.what}`, () => {
      const vs = c.run();
      expect(found(vs, c.key), describeViolations(vs)).toBe(true);
    });
  }
});

describe('cases and catalogue agree', () => {
  test('every finding of every case has the severity its catalogue entry lists', () => {
    const wrong = CASES.flatMap((c) => severityMismatches(c.run()).map((m) => `${c.key}: ${m}`));
    expect([...new Set(wrong)]).toEqual([]);
  });

  test('each case names a distinct implemented rule', () => {
    const keys = CASES.map((c) => c.key);
    expect(new Set(keys).size).toBe(keys.length);
    const implemented = new Set(CATALOGUE.filter((e) => e.implemented).map((e) => e.key));
    expect(keys.filter((k) => !implemented.has(k))).toEqual([]);
  });

  test('every implemented rule has a case', () => {
    const keys = new Set(CASES.map((c) => c.key));
    expect(CATALOGUE.filter((e) => e.implemented && !keys.has(e.key)).map((e) => e.key)).toEqual([]);
  });

  test('the check modules cite exactly the implemented rules', () => {
    const implemented = CATALOGUE.filter((e) => e.implemented).map((e) => e.key).sort();
    expect([...REFERENCED].sort()).toEqual(implemented);
  });

  test('rule coverage: each case\'s rule counts as evaluated, and every violation on a packet is of a rule its packet class evaluates', () => {
    const wrong: string[] = [];
    let counted = 0;
    for (const c of CASES) {
      HARNESSES.length = 0;
      c.run();
      const idx = REPORT_RULES.findIndex((r) => r.entry?.key === c.key);
      for (const h of HARNESSES) {
        for (const rec of h.sink.packets) {
          const k = packetClass(rec.decoded.level, false, rec.decoded.type);
          for (const v of rec.violations) {
            const i = reportRuleOf(v);
            if (i >= 0 && REPORT_RULES[i]!.entry !== null && !ruleClasses(i).includes(k)) wrong.push(`${c.key}: ${v.spec} ${v.id} (${REPORT_RULES[i]!.entry!.area}) on ${rec.decoded.typeName} ${VERSION_NAME[rec.decoded.level]}`);
          }
        }
      }
      if (HARNESSES.length > 0 && idx >= 0 && !SESSIONS_STAGE_KEYS.has(c.key)) {
        counted++;
        if (!HARNESSES.some((h) => checkedCounts(h.engine.counters, false)[idx]! > 0)) wrong.push(`${c.key}: broken in its case but never counted as evaluated`);
      }
    }
    expect(counted).toBeGreaterThan(100);
    expect([...new Set(wrong)]).toEqual([]);
  });

  test('messages and 3.1 analogy', () => {
    const vs = alone(hex('36 03 00 01 61'), 3);
    const v = vs.find((x) => x.id === 'MQTT-3.3.1-4')!;
    expect(v.spec).toBe('3.1.1');
    expect(v.message).toContain('by analogy');
    expect(enc(v.message).length).toBeGreaterThan(0);
  });
});
