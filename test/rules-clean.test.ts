/**
 * Conforming sessions must produce no findings at all: CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH at QoS 0/1/2 in
 * both directions, UNSUBSCRIBE/UNSUBACK, PING, DISCONNECT, for MQTT 3.1, 3.1.1 and 5.0.
 */
import { describe, expect, test } from 'vitest';
import {
  ack, auth, connack, connect, disconnect, pingreq, pingresp, publish, suback, subscribe, unsuback, unsubscribe,
  type Level, type Prop,
} from './builders/mqtt-bytes.js';
import { Harness, describeViolations } from './builders/rules-harness.js';
import { fieldsOf } from './builders/fields.js';

function cleanSession(level: Level, h: Harness): void {
  const v5 = level === 5;
  h.c(connect({ level, clientId: 'sensor01', keepAlive: 30, username: 'u', password: 'p', will: { topic: 'status/sensor01', payload: 'gone', qos: 1 } }), 0);
  h.s(connack({ level }), 0.05);
  h.c(subscribe({ level, packetId: 1, subscriptions: [{ topic: 'cmd/#', qos: 2 }, { topic: 'cfg/+/x', qos: 1 }] }), 0.1);
  h.s(suback({ level, packetId: 1, codes: [2, 1] }), 0.15);
  // client publishes at each QoS
  h.c(publish({ level, topic: 'data/t', payload: '21.5' }), 1);
  h.c(publish({ level, topic: 'data/t', qos: 1, packetId: 2, payload: '21.6' }), 2);
  h.s(ack('PUBACK', { level, packetId: 2 }), 2.05);
  h.c(publish({ level, topic: 'data/t', qos: 2, packetId: 3, payload: '21.7' }), 3);
  h.s(ack('PUBREC', { level, packetId: 3 }), 3.05);
  h.c(ack('PUBREL', { level, packetId: 3 }), 3.1);
  h.s(ack('PUBCOMP', { level, packetId: 3 }), 3.15);
  // server delivers at each QoS, with its own ids (the same numbers as the client's are fine)
  h.s(publish({ level, topic: 'cmd/reboot', payload: 'now' }), 4);
  h.s(publish({ level, topic: 'cfg/a/x', qos: 1, packetId: 2, payload: 'on' }), 5);
  h.c(ack('PUBACK', { level, packetId: 2 }), 5.05);
  h.s(publish({ level, topic: 'cmd/x', qos: 2, packetId: 3, payload: 'y' }), 6);
  h.c(ack('PUBREC', { level, packetId: 3 }), 6.05);
  h.s(ack('PUBREL', { level, packetId: 3 }), 6.1);
  h.c(ack('PUBCOMP', { level, packetId: 3 }), 6.15);
  // retained delivery with a payload, and a re-sent QoS 1 with DUP (allowed before 5.0 within the connection)
  h.s(publish({ level, topic: 'cmd/last', retain: true, payload: 'x' }), 7);
  if (!v5) {
    h.c(publish({ level, topic: 'data/t', qos: 1, packetId: 4, payload: 'z' }), 8);
    h.c(publish({ level, topic: 'data/t', qos: 1, packetId: 4, payload: 'z', dup: true }), 9);
    h.s(ack('PUBACK', { level, packetId: 4 }), 9.05);
  }
  // keep alive within 30 s
  h.c(pingreq(), 35);
  h.s(pingresp(), 35.05);
  h.c(unsubscribe({ level, packetId: 5, topics: ['cfg/+/x'] }), 60);
  h.s(unsuback({ level, packetId: 5, codes: [0] }), 60.05);
  h.c(disconnect({ level }), 80);
}

describe('clean sessions give no findings', () => {
  for (const level of [3, 4, 5] as const) {
    test(`MQTT level ${level}`, () => {
      const h = new Harness();
      cleanSession(level, h);
      const events = h.close();
      const all = h.all();
      expect(all, describeViolations(all)).toEqual([]);
      expect(events).toEqual([]);
    });
  }

  test('MQTT 5.0 with properties, topic aliases, shared subscriptions and enhanced authentication', () => {
    const h = new Harness();
    const connectProps: Prop[] = [
      ['authenticationMethod', 'SCRAM-SHA-1'], ['authenticationData', 'client-first'], ['topicAliasMaximum', 5],
      ['receiveMaximum', 10], ['maximumPacketSize', 1000], ['sessionExpiryInterval', 60], ['requestResponseInformation', 1],
    ];
    h.c(connect({ level: 5, clientId: '', keepAlive: 0, properties: connectProps }), 0);
    h.s(auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'SCRAM-SHA-1'], ['authenticationData', 'server-first']] }), 0.1);
    h.c(auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'SCRAM-SHA-1'], ['authenticationData', 'client-final']] }), 0.2);
    h.s(connack({
      level: 5,
      properties: [
        ['authenticationMethod', 'SCRAM-SHA-1'], ['assignedClientIdentifier', 'auto-1'], ['topicAliasMaximum', 3],
        ['receiveMaximum', 2], ['maximumQos', 1], ['serverKeepAlive', 0], ['responseInformation', 'resp/'],
      ],
    }), 0.3);
    h.c(subscribe({ level: 5, packetId: 1, properties: [['subscriptionIdentifier', 9]], subscriptions: [{ topic: '$share/g/jobs/#', qos: 1 }, { topic: 'a/b', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }] }), 1);
    h.s(suback({ level: 5, packetId: 1, codes: [1, 1] }), 1.1);
    h.c(publish({ level: 5, topic: 'up/1', qos: 1, packetId: 10, payload: 'a', properties: [['topicAlias', 1], ['payloadFormatIndicator', 1]] }), 2);
    h.c(publish({ level: 5, topic: '', qos: 1, packetId: 11, payload: 'b', properties: [['topicAlias', 1]] }), 2.1);
    h.s(ack('PUBACK', { level: 5, packetId: 10 }), 2.2);
    h.s(ack('PUBACK', { level: 5, packetId: 11, reasonCode: 0x10 }), 2.3);
    h.s(publish({ level: 5, topic: 'jobs/7', qos: 1, packetId: 1, payload: 'run', properties: [['topicAlias', 2], ['subscriptionIdentifier', 9]] }), 3);
    const aliased = h.s(publish({ level: 5, topic: '', qos: 1, packetId: 2, payload: 'run', properties: [['topicAlias', 2], ['subscriptionIdentifier', 9]] }), 3.1);
    h.c(ack('PUBACK', { level: 5, packetId: 1 }), 3.2);
    h.c(ack('PUBACK', { level: 5, packetId: 2 }), 3.3);
    h.s(publish({ level: 5, topic: 'a/b', retain: true, payload: '', properties: [['subscriptionIdentifier', 9]] }), 4);
    // re-authentication
    h.c(auth({ reasonCode: 0x19, properties: [['authenticationMethod', 'SCRAM-SHA-1']] }), 5);
    h.s(auth({ reasonCode: 0x00, properties: [['authenticationMethod', 'SCRAM-SHA-1']] }), 5.1);
    h.c(disconnect({ level: 5, properties: [['sessionExpiryInterval', 30]] }), 10);
    const events = h.close();
    const all = h.all();
    expect(all, describeViolations(all)).toEqual([]);
    expect(events).toEqual([]);
    expect(fieldsOf(aliased.decoded)['resolvedTopic']).toBe('jobs/7');
  });

  test('a refused connection that is closed at once', () => {
    for (const level of [4, 5] as const) {
      const h = new Harness();
      h.c(connect({ level, clientId: 'x' }), 0);
      h.s(connack({ level, code: level === 5 ? 0x86 : 4 }), 0.1);
      const events = h.close();
      expect(h.all(), describeViolations(h.all())).toEqual([]);
      expect(events).toEqual([]);
    }
  });

  test('a 3.1.1-only server refusing a 5.0 CONNECT with the 4-byte CONNACK', () => {
    const h = new Harness();
    h.c(connect({ level: 5, clientId: 'x' }), 0);
    h.s(connack({ level: 4, code: 1 }), 0.1);
    h.close();
    expect(h.all().filter((v) => v.severity === 'error'), describeViolations(h.all())).toEqual([]);
  });
});
