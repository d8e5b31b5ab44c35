/**
 * The findings of the sessions stage, one scenario each (built from test/builders), with the scenario next to it that
 * must not give the finding: each test fails without the check it is about.
 */
import { describe, expect, test } from 'vitest';
import { ack, connack, connect, pingreq, publish, suback, subscribe, unsuback, unsubscribe, type Level, type Prop } from './builders/mqtt-bytes.js';
import { Broker, brokenSession, expiryScenario, forwarded, login, noLocalScenario, owedScenario, qosDeliveryScenario, retainHandlingScenario, sharedScenario, sub, subIdScenario, takeoverLoopScenario, unsubackScenario } from './builders/sessions-harness.js';

const has = (b: Broker, spec: string, id: string): boolean => b.ids().includes(`${spec} ${id}`);

describe('delivery QoS is min(published QoS, granted QoS)', () => {
  for (const level of [4, 5] as const) {
    const spec = level === 5 ? '5.0' : '3.1.1';
    const one = level === 5 ? 'MQTT-3.8.4-8' : 'MQTT-3.8.4-6';
    const many = level === 5 ? 'MQTT-3.3.4-2' : 'MQTT-3.3.5-1';
    const scenario = (deliveredQos: number, overlap: boolean): Broker => qosDeliveryScenario(level, deliveredQos, overlap);
    test(`${spec}: QoS 2 message, one subscription granted 1, delivered at QoS 0: ${one}`, () => {
      expect(has(scenario(0, false), spec, one)).toBe(true);
      expect(scenario(1, false).ids()).toEqual([]);
    });
    test(`${spec}: overlapping subscriptions granted 1 and 2, delivered at QoS 1: ${many}`, () => {
      expect(has(scenario(1, true), spec, many)).toBe(true);
      expect(scenario(2, true).ids()).toEqual([]);
    });
    test(`${spec}: nothing for a payload under 8 bytes, nor after a delivery no publisher in the capture explains`, () => {
      const run = (payload: string, stray: boolean): string[] => {
        const b = new Broker();
        login(b, 0, 'sub', 0, { level });
        sub(b, 0, { topic: 'a/+', qos: 1 }, 1, 0.01, level);
        login(b, 1, 'pub', 0.1, { level });
        // A message from a publisher outside the capture.
        if (stray) b.s(0, publish({ level, topic: 'a/c', payload: 'from elsewhere' }), 0.5);
        b.c(1, publish({ level, topic: 'a/b', qos: 2, packetId: 5, payload }), 1);
        b.s(0, publish({ level, topic: 'a/b', qos: 0, payload }), 1.002);
        b.finish(2);
        return b.ids();
      };
      expect(run('reading-1', false)).toEqual([`${spec} ${one}`]);
      expect(run('1234567', false)).toEqual([]);
      expect(run('reading-1', true)).toEqual([]);
    });
    test(`${spec}: nothing when the subscriber's session began before the capture (its subscriptions unknown)`, () => {
      const b = new Broker();
      login(b, 0, 'sub', 0, { level, clean: false, sp: true });
      sub(b, 0, { topic: 'a/+', qos: 1 }, 1, 0.01, level);
      login(b, 1, 'pub', 0.1, { level });
      b.c(1, publish({ level, topic: 'a/b', qos: 2, packetId: 5, payload: 'reading-1' }), 1);
      b.s(0, publish({ level, topic: 'a/b', qos: 0, payload: 'reading-1' }), 1.002);
      b.finish(2);
      expect(b.ids()).toEqual([]);
      expect(b.messages[0]!.deliveries).toHaveLength(1);
    });
  }
});

describe('session takeover: the broker closes the older connection of a ClientId', () => {
  for (const level of [4, 5] as const) {
    const spec = level === 5 ? '5.0' : '3.1.1';
    const id = level === 5 ? 'MQTT-3.1.4-3' : 'MQTT-3.1.4-2';
    test(`${spec}: the first connection still open 4 s after the second CONNACK: ${id}`, () => {
      const b = new Broker();
      login(b, 0, 'dev', 0, { level });
      login(b, 1, 'dev', 1, { level });
      b.finish(5);
      expect(b.closes.find((c) => c.conn === 0)!.violations.map((v) => `${v.spec} ${v.id}`)).toEqual([`${spec} ${id}`]);
      expect(b.sessions[0]).toMatchObject({ clientId: 'dev', connections: [0, 1], reconnects: 1, takeovers: 1 });
    });
    test(`${spec}: closed by the broker right after the takeover: no finding`, () => {
      const b = new Broker();
      login(b, 0, 'dev', 0, { level });
      login(b, 1, 'dev', 1, { level });
      b.end(0, 1.01, 'fin', 's2c');
      b.finish(5);
      expect(b.ids()).toEqual([]);
      expect(b.sessions[0]!.takeovers).toBe(1);
    });
  }
});

describe('two devices sharing one ClientId: takeovers back and forth between two addresses', () => {
  const LOOP = 'ALL:3.1.4:clientid-shared';
  test('3 takeovers back and forth: one warning with the count, on the CONNACK of the third; the session counts them all', () => {
    for (const level of [4, 5] as const) {
      const b = takeoverLoopScenario(6, false, level);
      const found = b.all();
      expect(found.map((v) => `${v.severity} ${v.id}`)).toEqual([`warning ${LOOP}`]);
      expect(found[0]!.message, found[0]!.message).toMatch(/^ClientId "sensor" taken over 3 times back and forth between 10\.0\.0\.7 and 10\.0\.0\.8/);
      expect(b.packets.find((p) => p.violations.includes(found[0]!))!.conn.id).toBe(3);
      expect(b.sessions[0]).toMatchObject({ clientId: 'sensor', takeovers: 5 });
    }
  });
  test('2 takeovers, or any number from one address (one device reconnecting): no finding', () => {
    expect(takeoverLoopScenario(3).ids()).toEqual([]);
    expect(takeoverLoopScenario(6, true).ids()).toEqual([]);
  });
});

describe('Session Present against the previous connection of the ClientId', () => {
  test('3.1.1: Clean Session 0 after a Clean Session 0 connection, Session Present 0: MQTT-3.2.2-2 (warning)', () => {
    const b = new Broker();
    login(b, 0, 'dev', 0, { clean: false });
    b.end(0, 1);
    login(b, 1, 'dev', 2, { clean: false, sp: false });
    b.finish(3);
    expect(b.all().map((v) => `${v.severity} ${v.id}`)).toEqual(['warning MQTT-3.2.2-2']);
  });
  test('3.1.1: Clean Session 0 after a clean connection, Session Present 1: MQTT-3.2.2-3 (warning)', () => {
    const b = new Broker();
    login(b, 0, 'dev', 0, { clean: true });
    b.end(0, 1);
    login(b, 1, 'dev', 2, { clean: false, sp: true });
    b.finish(3);
    expect(b.all().map((v) => `${v.severity} ${v.id}`)).toEqual(['warning MQTT-3.2.2-3']);
    const ok = new Broker();
    login(ok, 0, 'dev', 0, { clean: false });
    ok.end(0, 1);
    login(ok, 1, 'dev', 2, { clean: false, sp: true });
    ok.finish(3);
    expect(ok.ids()).toEqual([]);
  });
  test('5.0: by the Session Expiry Interval of the previous connection: MQTT-3.2.2-3', () => {
    const run = (expiry: number, gap: number, sp: boolean): string[] => {
      const b = new Broker();
      login(b, 0, 'dev', 0, { level: 5, clean: true, expiry });
      b.end(0, 1);
      login(b, 1, 'dev', 1 + gap, { level: 5, clean: false, sp });
      b.finish(2 + gap);
      return b.ids();
    };
    expect(run(10, 30, true)).toEqual(['5.0 MQTT-3.2.2-3']); // expired 20 s before
    expect(run(10, 5, false)).toEqual(['5.0 MQTT-3.2.2-3']); // still there
    expect(run(0, 5, true)).toEqual(['5.0 MQTT-3.2.2-3']); // none kept
    expect(run(10, 5, true)).toEqual([]);
    expect(run(10, 30, false)).toEqual([]);
    expect(run(10, 10.5, true)).toEqual([]); // too close to the expiry to judge
  });
});

describe('redelivery after a reconnect that resumes the session', () => {
  const broken = brokenSession;
  test('resent with DUP=0: MQTT-3.3.1-1', () => {
    const b = broken();
    b.c(1, publish({ topic: 't/1', qos: 1, packetId: 7, payload: 'seven' }), 1.1);
    b.c(1, publish({ topic: 't/2', qos: 1, packetId: 8, payload: 'eight', dup: true }), 1.2);
    b.s(1, ack('PUBACK', { packetId: 7 }), 1.3);
    b.s(1, ack('PUBACK', { packetId: 8 }), 1.3);
    b.end(1, 2);
    b.finish(3);
    expect(b.ids()).toEqual(['3.1.1 MQTT-3.3.1-1']);
    expect(b.sessions[0]).toMatchObject({ redeliveries: 2, reconnects: 1 });
  });
  test('resent out of the original order: MQTT-4.6.0-1', () => {
    const b = broken();
    b.c(1, publish({ topic: 't/2', qos: 1, packetId: 8, payload: 'eight', dup: true }), 1.1);
    b.c(1, publish({ topic: 't/1', qos: 1, packetId: 7, payload: 'seven', dup: true }), 1.2);
    b.end(1, 2);
    b.finish(3);
    expect(b.ids()).toEqual(['3.1.1 MQTT-4.6.0-1']);
  });
  test('never resent before the resumed connection ended: MQTT-4.4.0-1 on its close', () => {
    const b = broken();
    b.c(1, publish({ topic: 't/1', qos: 1, packetId: 7, payload: 'seven', dup: true }), 1.1);
    const vs = b.end(1, 2);
    b.finish(3);
    expect(vs.map((v) => v.id)).toEqual(['MQTT-4.4.0-1']);
    expect(vs[0]!.message).toContain('packet identifier 8');
  });
  test('a session not resumed (Session Present 0) owes no redelivery', () => {
    const b = new Broker();
    login(b, 0, 'dev', 0, { clean: false });
    b.c(0, publish({ topic: 't/1', qos: 1, packetId: 7, payload: 'seven' }), 0.1);
    b.end(0, 0.3, 'rst', 'c2s');
    login(b, 1, 'dev', 1, { clean: true });
    b.end(1, 2);
    b.finish(3);
    expect(b.ids()).toEqual([]);
  });
  test('the broker resends its unacknowledged delivery with DUP=1: counted, no finding', () => {
    const b = new Broker();
    login(b, 0, 'dev', 0, { clean: false });
    b.s(0, publish({ topic: 'cmd', qos: 1, packetId: 3, payload: 'go' }), 0.1);
    b.end(0, 0.3, 'rst', 's2c');
    login(b, 1, 'dev', 1, { clean: false, sp: true });
    b.s(1, publish({ topic: 'cmd', qos: 1, packetId: 3, payload: 'go', dup: true }), 1.1);
    b.c(1, ack('PUBACK', { packetId: 3 }), 1.2);
    b.end(1, 2);
    b.finish(3);
    expect(b.ids()).toEqual([]);
    expect(b.sessions[0]!.redeliveries).toBe(1);
  });
});

describe('RETAIN on live deliveries', () => {
  const scenario = (level: Level, rap: boolean, subscribeFirst: boolean, deliveredRetain: boolean): Broker => {
    const b = new Broker();
    login(b, 1, 'pub', 0, { level });
    login(b, 0, 'sub', 0, { level });
    if (subscribeFirst) sub(b, 0, { topic: 's/#', qos: 0, retainAsPublished: rap }, 0, 0.1, level);
    b.c(1, publish({ level, topic: 's/x', qos: 0, retain: true, payload: 'state-on!' }), 1);
    if (!subscribeFirst) sub(b, 0, { topic: 's/#', qos: 0, retainAsPublished: rap }, 0, 2, level);
    b.s(0, publish({ level, topic: 's/x', qos: 0, retain: deliveredRetain, payload: 'state-on!' }), subscribeFirst ? 1.001 : 2.002);
    b.finish(3);
    return b;
  };
  test('3.1.1: RETAIN=1 on a delivery for a subscription older than the message: MQTT-3.3.1-9', () => {
    expect(scenario(4, false, true, true).ids()).toEqual(['3.1.1 MQTT-3.3.1-9']);
    expect(scenario(4, false, true, false).ids()).toEqual([]);
    // The retained message sent when the subscription is made keeps RETAIN=1.
    expect(scenario(4, false, false, true).ids()).toEqual([]);
  });
  test('5.0: RETAIN=1 on a live delivery without Retain As Published: MQTT-3.3.1-12 (warning)', () => {
    expect(scenario(5, false, true, true).all().map((v) => `${v.severity} ${v.id}`)).toEqual(['warning MQTT-3.3.1-12']);
    expect(scenario(5, true, true, true).ids()).toEqual([]);
  });
});

describe('No Local (5.0): the client\'s own messages do not come back through a No Local subscription', () => {
  const scenario = noLocalScenario;
  test('echoed through its only matching subscription, which has No Local: MQTT-3.8.3-3 (warning)', () => {
    expect(scenario(true, false).all().map((v) => `${v.severity} ${v.spec} ${v.id}`)).toEqual(['warning 5.0 MQTT-3.8.3-3']);
    expect(scenario(false, false).ids()).toEqual([]);
    // Another matching subscription without No Local gets it back rightly.
    expect(scenario(true, true).ids()).toEqual([]);
  });
});

describe('5.0 Retain Handling: the retained copy at subscribe time', () => {
  test('Retain Handling 2 and a retained copy sent anyway: MQTT-3.3.1-11', () => {
    expect(retainHandlingScenario(2, false).ids()).toEqual(['5.0 MQTT-3.3.1-11']);
    expect(retainHandlingScenario(0, false).ids()).toEqual([]);
  });
  test('Retain Handling 1: a copy only for a new subscription, else MQTT-3.3.1-10', () => {
    expect(retainHandlingScenario(1, false).ids()).toEqual([]);
    // The first SUBSCRIBE's own copy is not sent (the scenario sends one, for the second): that one is the finding.
    expect(retainHandlingScenario(1, true).ids()).toEqual(['5.0 MQTT-3.3.1-10']);
    expect(retainHandlingScenario(0, true).ids()).toEqual([]);
  });
});

describe('after the UNSUBACK, no new message through the removed subscription', () => {
  const scenario = unsubackScenario;
  test('a message published well after the UNSUBACK still delivered: MQTT-3.10.4-2 (warning)', () => {
    expect(scenario(4, 3, false).all().map((v) => `${v.severity} ${v.spec} ${v.id}`)).toEqual(['warning 3.1.1 MQTT-3.10.4-2']);
    expect(scenario(5, 3, false).ids()).toEqual(['5.0 MQTT-3.10.4-2']);
  });
  test('published about when the UNSUBACK went out (it may have been queued), or subscribed again: no finding', () => {
    expect(scenario(4, 1.2, false).ids()).toEqual([]);
    expect(scenario(4, 3, true).ids()).toEqual([]);
  });
});

describe('5.0 Message Expiry: reduced by the time the broker held the message', () => {
  test('the published interval forwarded unchanged after 10 s, or left out: MQTT-3.3.2-6', () => {
    expect(expiryScenario(60, 10, 60).ids()).toEqual(['5.0 MQTT-3.3.2-6']);
    expect(expiryScenario(60, 10, null).ids()).toEqual(['5.0 MQTT-3.3.2-6']);
    // Reduced by too much is as wrong as not reduced.
    expect(expiryScenario(60, 10, 47).ids()).toEqual(['5.0 MQTT-3.3.2-6']);
    expect(expiryScenario(60, 10, 50).ids()).toEqual([]);
  });
  test('whole seconds: up to 1 s either way is the broker\'s rounding, not a finding', () => {
    expect(expiryScenario(60, 10.6, 50).ids()).toEqual([]);
    expect(expiryScenario(60, 10.4, 49).ids()).toEqual([]);
    expect(expiryScenario(60, 0.002, 60).ids()).toEqual([]);
    expect(expiryScenario(60, 10, 51).ids()).toEqual([]);
    expect(expiryScenario(60, 10, 52).ids()).toEqual(['5.0 MQTT-3.3.2-6']);
  });
  test('delivered after the interval passed: MQTT-3.3.2-5 (and not also MQTT-3.3.2-6)', () => {
    expect(expiryScenario(5, 10, 0).ids()).toEqual(['5.0 MQTT-3.3.2-5']);
    expect(expiryScenario(5, 5.5, 0).ids()).toEqual([]);
  });
  test('only on deliveries traced to their publish: nothing for a copy no PUBLISH of the capture explains', () => {
    const b = new Broker();
    login(b, 0, 'sub', 0, { level: 5 });
    sub(b, 0, { topic: 'alerts/#', qos: 0 }, 0, 0.01, 5);
    b.s(0, publish({ level: 5, topic: 'alerts/fire', payload: 'smoke in hall B' }), 20);
    b.finish(21);
    expect(b.ids()).toEqual([]);
  });
});

describe('5.0 Subscription Identifiers: those of the matching subscriptions, and no others', () => {
  const two: [string, number][] = [['meter/#', 1], ['meter/+', 2]];
  test('one matching subscription, another identifier on the copy: MQTT-3.3.4-4', () => {
    expect(subIdScenario([['meter/#', 7]], 'meter/a', [[8]]).ids()).toEqual(['5.0 MQTT-3.3.4-4']);
    // The identifier of a subscription that does not match the topic.
    expect(subIdScenario([['meter/#', 7], ['other/#', 8]], 'meter/a', [[8]]).ids()).toEqual(['5.0 MQTT-3.3.4-4']);
    expect(subIdScenario([['meter/#', 7]], 'meter/a', [[7]]).ids()).toEqual([]);
    // A copy with none is the rules stage's MQTT-3.3.4-3, not this stage's.
    expect(subIdScenario([['meter/#', 7]], 'meter/a', [[]]).ids()).toEqual([]);
  });
  test('one copy for two subscriptions: both identifiers, in any order; one missing: MQTT-3.3.4-4', () => {
    expect(subIdScenario(two, 'meter/a', [[1, 2]]).ids()).toEqual([]);
    expect(subIdScenario(two, 'meter/a', [[2, 1]]).ids()).toEqual([]);
    expect(subIdScenario([...two, ['meter/a', 3]], 'meter/a', [[1, 3]]).ids()).toEqual(['5.0 MQTT-3.3.4-4']);
    expect(subIdScenario(two, 'meter/a', [[1, 9]]).ids()).toEqual(['5.0 MQTT-3.3.4-4']);
  });
  test('a copy per subscription, each with its own identifier; one with a foreign one: MQTT-3.3.4-5', () => {
    expect(subIdScenario(two, 'meter/a', [[1], [2]]).ids()).toEqual([]);
    expect(subIdScenario(two, 'meter/a', [[1], [9]]).ids()).toEqual(['5.0 MQTT-3.3.4-5']);
    // One copy of the two so far: not judged (its other copy may follow).
    expect(subIdScenario(two, 'meter/a', [[1]]).ids()).toEqual([]);
    // A subscription without an identifier beside one with: its copy carries the one there is.
    expect(subIdScenario([['meter/#', 0], ['meter/+', 5]], 'meter/a', [[5]]).ids()).toEqual([]);
  });
  test('several copies, one subscription\'s identifier on none of them: MQTT-3.3.4-5 on the close record, naming it', () => {
    const b = subIdScenario(two, 'meter/a', [[1], [1]]);
    expect(b.ids()).toEqual(['5.0 MQTT-3.3.4-5']);
    const v = b.closes.find((c) => c.conn === 0)!.violations.find((x) => x.id === 'MQTT-3.3.4-5')!;
    expect(v.message).toMatch(/1 message sent to "sub" in several copies/);
    expect(v.message).toMatch(/2 copies carrying 1; none 2 of "meter\/\+"/);
    const three: [string, number][] = [...two, ['meter/a', 3]];
    expect(subIdScenario(three, 'meter/a', [[1], [2]]).ids()).toEqual(['5.0 MQTT-3.3.4-5']);
    expect(subIdScenario(three, 'meter/a', [[2], [3], [1]]).ids()).toEqual([]);
    // A copy with a foreign identifier has its finding; the missing one is not reported again.
    expect(subIdScenario(two, 'meter/a', [[1], [9]]).all()).toHaveLength(1);
  });
  test('judged when the message leaves the index while the connection stays open, with every copy counted', () => {
    const run = (copies: number[][]): Broker => {
      const b = new Broker({ windowSec: 5 });
      login(b, 0, 'sub', 0, { level: 5 });
      two.forEach(([filter, id], i) => {
        b.c(0, subscribe({ level: 5, packetId: i + 1, properties: [['subscriptionIdentifier', id]], subscriptions: [{ topic: filter, qos: 0 }] }), 0.01 + i * 0.01);
        b.s(0, suback({ level: 5, packetId: i + 1, codes: [0] }), 0.015 + i * 0.01);
      });
      login(b, 1, 'pub', 0, { level: 5 });
      b.c(1, publish({ level: 5, topic: 'meter/a', payload: 'meter reading 42' }), 1);
      copies.forEach((ids, i) => b.s(0, publish({ level: 5, topic: 'meter/a', properties: ids.map((id): Prop => ['subscriptionIdentifier', id]), payload: 'meter reading 42' }), 1.001 + i * 0.001));
      // Past the window: the message leaves the index, then the subscriber goes on and ends normally.
      b.c(1, publish({ level: 5, topic: 'other', payload: 'later message' }), 10);
      b.end(0, 12);
      b.finish(13);
      return b;
    };
    expect(run([[2], [2]]).closes.find((c) => c.conn === 0)!.violations.map((v) => v.id)).toEqual(['MQTT-3.3.4-5']);
    expect(run([[1], [2]]).ids()).toEqual([]);
  });
  test('retained copies sent at subscribe time are one per SUBSCRIBE, not copies of a delivery: not counted', () => {
    // meter/# (1) gets the live message; meter/+ (2) and meter/a (3), subscribed later, each get the retained copy
    // with their own identifier, as they should: 1 is on none of those two, and that is no finding.
    const b = new Broker();
    login(b, 0, 'sub', 0, { level: 5 });
    const subscribe1 = (packetId: number, filter: string, id: number, t: number): void => {
      b.c(0, subscribe({ level: 5, packetId, properties: [['subscriptionIdentifier', id]], subscriptions: [{ topic: filter, qos: 0 }] }), t);
      b.s(0, suback({ level: 5, packetId, codes: [0] }), t + 0.001);
    };
    subscribe1(1, 'meter/#', 1, 0.01);
    login(b, 1, 'pub', 0, { level: 5 });
    b.c(1, publish({ level: 5, topic: 'meter/a', retain: true, payload: 'meter reading 42' }), 1);
    b.s(0, publish({ level: 5, topic: 'meter/a', properties: [['subscriptionIdentifier', 1]], payload: 'meter reading 42' }), 1.001);
    subscribe1(2, 'meter/+', 2, 2);
    b.s(0, publish({ level: 5, topic: 'meter/a', retain: true, properties: [['subscriptionIdentifier', 2]], payload: 'meter reading 42' }), 2.002);
    subscribe1(3, 'meter/a', 3, 3);
    b.s(0, publish({ level: 5, topic: 'meter/a', retain: true, properties: [['subscriptionIdentifier', 3]], payload: 'meter reading 42' }), 3.002);
    b.finish(4);
    expect(b.messages[0]!.deliveries).toHaveLength(3);
    expect(b.ids()).toEqual([]);
  });
  test('a DUP resend of a copy is not another copy', () => {
    const b = subIdScenario(two, 'meter/a', [[1]]);
    expect(b.ids()).toEqual([]);
    const c = new Broker();
    login(c, 0, 'sub', 0, { level: 5 });
    two.forEach(([filter, id], i) => {
      c.c(0, subscribe({ level: 5, packetId: i + 1, properties: [['subscriptionIdentifier', id]], subscriptions: [{ topic: filter, qos: 1 }] }), 0.01 + i * 0.01);
      c.s(0, suback({ level: 5, packetId: i + 1, codes: [1] }), 0.015 + i * 0.01);
    });
    login(c, 1, 'pub', 0, { level: 5 });
    c.c(1, publish({ level: 5, topic: 'meter/a', qos: 1, packetId: 4, payload: 'meter reading 42' }), 1);
    c.s(0, publish({ level: 5, topic: 'meter/a', qos: 1, packetId: 9, properties: [['subscriptionIdentifier', 1]], payload: 'meter reading 42' }), 1.001);
    c.s(0, publish({ level: 5, topic: 'meter/a', qos: 1, packetId: 9, dup: true, properties: [['subscriptionIdentifier', 1]], payload: 'meter reading 42' }), 1.5);
    c.finish(2);
    // The in-connection resend is the rules stage's (5.0 resends only after a reconnect), not a second copy here.
    expect(c.ids().filter((x) => x.includes('MQTT-3.3.4'))).toEqual([]);
  });
  test('a shared subscription\'s copy is its own: the plain subscription\'s identifier may be on another copy', () => {
    expect(subIdScenario([['$share/g/meter/#', 1], ['meter/+', 2]], 'meter/a', [[1]]).ids()).toEqual([]);
    expect(subIdScenario([['$share/g/meter/#', 1], ['meter/+', 2], ['meter/a', 3]], 'meter/a', [[2, 3], [1]]).ids()).toEqual([]);
    expect(subIdScenario([['$share/g/meter/#', 1], ['meter/+', 2]], 'meter/a', [[1, 4]]).ids()).toEqual(['5.0 MQTT-3.3.4-4']);
  });
});

describe('5.0 shared subscriptions: each message to one member', () => {
  const SHARED = '5.0 5.0:4.8:shared-one-session';
  test('two members of one group got the message: a warning naming both', () => {
    const b = sharedScenario(false, false);
    expect(b.all().map((v) => `${v.severity} ${v.spec} ${v.id}`)).toEqual([`warning ${SHARED}`]);
    expect(b.all()[0]!.message).toMatch(/to "w2" here and to "w1" \(connection 0, frame \d+, still open\)/);
  });
  test('members of two groups each get it; after the first member\'s connection broke another may: no finding', () => {
    expect(sharedScenario(true, false).ids()).toEqual([]);
    expect(sharedScenario(false, true).ids()).toEqual([]);
  });
});

describe('a message owed to a connected subscriber that never reached it', () => {
  for (const level of [4, 5] as const) {
    const spec = level === 5 ? '5.0' : '3.1.1';
    test(`${spec}: not delivered, the subscriber open 19 s after the PUBLISH: MQTT-4.5.0-1 (warning) on its close, naming the message`, () => {
      const b = owedScenario({ level });
      expect(b.all().map((v) => `${v.severity} ${v.spec} ${v.id}`)).toEqual([`warning ${spec} MQTT-4.5.0-1`]);
      const [v] = b.closes.find((c) => c.conn === 0)!.violations.filter((x) => x.id === 'MQTT-4.5.0-1');
      expect(v!.message).toMatch(/^1 message published while this connection was open, matching a subscription of "sub" granted before, never reached it, though the connection stayed open 10 s or more after: frame \d+ \("plant\/7\/temp" from "pub", through "plant\/#"\)$/);
    });
    test(`${spec}: delivered, or the subscriber gone or unsubscribed before the grace ended: no finding`, () => {
      expect(owedScenario({ level, delivered: true }).ids()).toEqual([]);
      expect(owedScenario({ level, endAt: 5 }).ids()).toEqual([]);
      expect(owedScenario({ level, unsubscribe: true }).ids()).toEqual([]);
    });
  }
  test('judged when the message leaves the index while the subscriber is still open; a copy after that is not traced', () => {
    const b = new Broker({ windowSec: 15 });
    login(b, 0, 'sub', 0);
    sub(b, 0, { topic: 'plant/#', qos: 0 }, 0, 0.01);
    login(b, 1, 'pub', 0);
    forwarded(b, 1, 0, 0.5);
    b.c(1, publish({ topic: 'plant/7/temp', payload: 'reading 21.5' }), 1);
    b.c(1, publish({ topic: 'plant/8/temp', payload: 'reading 19.0' }), 20);
    b.s(0, publish({ topic: 'plant/8/temp', payload: 'reading 19.0' }), 20.001);
    b.end(0, 40);
    b.finish(41);
    expect(b.closes.find((c) => c.conn === 0)!.violations.map((v) => v.id)).toEqual(['MQTT-4.5.0-1']);
  });
  test('past the budget of subscriptions looked at: one sessions-limit event, and no more missing deliveries judged', () => {
    const run = (missingBudget: number): Broker => {
      const b = new Broker({ missingBudget });
      login(b, 0, 'sub', 0);
      for (let i = 0; i < 3; i++) sub(b, 0, { topic: `other/${i}`, qos: 0 }, 0, 0.01, 4, i + 1);
      sub(b, 0, { topic: 'plant/#', qos: 0 }, 0, 0.01, 4, 9);
      login(b, 1, 'pub', 0);
      forwarded(b, 1, 0, 0.5);
      b.c(1, publish({ topic: 'plant/7/temp', payload: 'reading 21.5' }), 1);
      b.c(1, pingreq(), 12);
      b.finish(20);
      return b;
    };
    expect(run(4).ids()).toEqual(['3.1.1 MQTT-4.5.0-1']);
    const capped = run(3);
    expect(capped.ids()).toEqual([]);
    expect(capped.events.filter((e) => e.event === 'sessions-limit').map((e) => e.message)).toEqual(['3 subscriptions looked at for the subscribers PUBLISH packets are owed to: missing deliveries are no longer judged']);
  });
  test('nothing is owed before the capture shows one delivery traced to its PUBLISH', () => {
    const b = new Broker();
    login(b, 0, 'sub', 0);
    sub(b, 0, { topic: 'plant/#', qos: 1 }, 1, 0.01);
    login(b, 1, 'pub', 0);
    b.c(1, publish({ topic: 'plant/7/temp', payload: 'reading 21.5' }), 1);
    forwarded(b, 1, 0, 2);
    b.c(1, pingreq(), 14);
    b.finish(20);
    expect(b.ids()).toEqual([]);
  });
  test('past the messages kept per subscriber, the oldest waiting are let go, and its finding says how many', () => {
    const b = new Broker({ maxOwedPerConn: 4 });
    login(b, 0, 'sub', 0);
    sub(b, 0, { topic: 'plant/#', qos: 0 }, 0, 0.01);
    login(b, 1, 'pub', 0);
    forwarded(b, 1, 0, 0.5);
    // Six messages: at the fourth the array is full, the oldest two of the four go (the newest half is kept).
    for (let i = 0; i < 6; i++) b.c(1, publish({ topic: `plant/${i + 1}/temp`, payload: `reading number ${i}` }), 1 + i * 0.01);
    b.end(0, 20);
    b.finish(21);
    const [v] = b.closes.find((c) => c.conn === 0)!.violations;
    expect(v!.message).toMatch(/^4 messages published while this connection was open, .* \(2 older messages owed to it not kept to be judged: 4 are\)$/);
  });
  test('5.0: a PUBLISH the broker refused (PUBACK 0x87) is owed to no one', () => {
    expect(owedScenario({ level: 5, refused: true }).ids()).toEqual([]);
  });
  test('the capture ends before the grace: not judged', () => {
    const b = new Broker();
    login(b, 0, 'sub', 0);
    sub(b, 0, { topic: 'plant/#', qos: 1 }, 1, 0.01);
    login(b, 1, 'pub', 0);
    forwarded(b, 1, 0, 0.5);
    b.c(1, publish({ topic: 'plant/7/temp', payload: 'reading 21.5' }), 1);
    b.finish(5);
    expect(b.ids()).toEqual([]);
  });
  test('a subscriber whose session began before the capture (subscriptions unknown) is owed nothing', () => {
    const b = new Broker();
    login(b, 0, 'sub', 0, { clean: false, sp: true });
    sub(b, 0, { topic: 'plant/#', qos: 1 }, 1, 0.01);
    login(b, 1, 'pub', 0);
    forwarded(b, 1, 0, 0.5);
    b.c(1, publish({ topic: 'plant/7/temp', payload: 'reading 21.5' }), 1);
    b.c(1, pingreq(), 12);
    b.finish(20);
    expect(b.ids()).toEqual([]);
  });
});

describe('message tracing', () => {
  test('the same payload from two publishers at once is ambiguous, said so, not attributed', () => {
    const b = new Broker();
    login(b, 0, 'sub', 0);
    sub(b, 0, { topic: 'x', qos: 0 }, 0, 0.01);
    login(b, 1, 'p1', 0);
    login(b, 2, 'p2', 0);
    b.c(1, publish({ topic: 'x', payload: 'same' }), 1);
    b.c(2, publish({ topic: 'x', payload: 'same' }), 1);
    b.s(0, publish({ topic: 'x', payload: 'same' }), 1.001);
    b.s(0, publish({ topic: 'x', payload: 'same' }), 1.002);
    b.finish(2);
    expect(b.messages).toHaveLength(2);
    for (const m of b.messages) {
      expect(m.deliveries).toEqual([]);
      expect(m.ambiguous.map((a) => [a.conn, a.candidates])).toEqual([[0, 2], [0, 2]]);
    }
  });
  test('the same payload twice from one publisher: delivered in the order sent, so each is the earliest left', () => {
    const b = new Broker();
    login(b, 0, 'sub', 0);
    sub(b, 0, { topic: 'x', qos: 0 }, 0, 0.01);
    login(b, 1, 'p1', 0);
    b.c(1, publish({ topic: 'x', payload: 'same' }), 1);
    b.c(1, publish({ topic: 'x', payload: 'same' }), 1.5);
    b.s(0, publish({ topic: 'x', payload: 'same' }), 1.501);
    b.s(0, publish({ topic: 'x', payload: 'same' }), 1.502);
    b.finish(2);
    expect(b.messages.map((m) => m.deliveries.map((d) => [d.frame, d.latencyMs]))).toEqual([[[b.packets.at(-2)!.frame, 501]], [[b.packets.at(-1)!.frame, 2]]]);
  });
  test('message records only for what was delivered, unless every message is asked for (trace)', () => {
    for (const undelivered of [false, true]) {
      const b = new Broker({ undelivered });
      login(b, 0, 'sub', 0);
      sub(b, 0, { topic: 'x', qos: 0 }, 0, 0.01);
      login(b, 1, 'p1', 0);
      b.c(1, publish({ topic: 'x', payload: 'delivered payload' }), 1);
      b.s(0, publish({ topic: 'x', payload: 'delivered payload' }), 1.001);
      b.c(1, publish({ topic: 'y', payload: 'nobody subscribed' }), 2);
      b.finish(3);
      expect(b.messages.map((m) => m.topic), `undelivered: ${undelivered}`).toEqual(undelivered ? ['x', 'y'] : ['x']);
    }
  });
  test('a further copy to a client that already got the message is traced to it, and its deliveries still judged', () => {
    const b = subIdScenario([['meter/#', 1], ['meter/+', 2]], 'meter/a', [[1], [2]]);
    expect(b.messages[0]!.deliveries.map((d) => d.conn)).toEqual([0, 0]);
    // A later message to the same subscriber is still judged (the copy did not make it untraced).
    const c = subIdScenario([['meter/#', 1], ['meter/+', 2]], 'meter/a', [[1], [2], [9]]);
    expect(c.ids()).toEqual(['5.0 MQTT-3.3.4-5']);
  });
  test('a different payload on the same topic is another message', () => {
    const b = new Broker();
    login(b, 0, 'sub', 0);
    sub(b, 0, { topic: '#', qos: 0 }, 0, 0.01);
    login(b, 1, 'p1', 0);
    b.c(1, publish({ topic: 'x', payload: 'one' }), 1);
    b.s(0, publish({ topic: 'x', payload: 'two' }), 1.001);
    b.finish(2);
    expect(b.messages[0]!.deliveries).toEqual([]);
  });
  test('a message leaves the index after the window: a later copy is not traced to it', () => {
    const b = new Broker({ windowSec: 10 });
    login(b, 0, 'sub', 0);
    login(b, 1, 'p1', 0);
    b.c(1, publish({ topic: 'x', payload: 'late' }), 1);
    b.s(0, publish({ topic: 'x', payload: 'late' }), 20);
    b.finish(21);
    expect(b.messages[0]!.deliveries).toEqual([]);
    const w = new Broker({ windowSec: 60 });
    login(w, 0, 'sub', 0);
    login(w, 1, 'p1', 0);
    w.c(1, publish({ topic: 'x', payload: 'late' }), 1);
    w.s(0, publish({ topic: 'x', payload: 'late' }), 20);
    w.finish(21);
    expect(w.messages[0]!.deliveries.map((d) => d.latencyMs)).toEqual([19000]);
  });
  test('only the publishers in the capture: said once, no delivery finding', () => {
    const b = new Broker();
    login(b, 1, 'p1', 0);
    b.c(1, publish({ topic: 'x', payload: 'a' }), 1);
    b.c(1, publish({ topic: 'x', payload: 'b' }), 1);
    b.finish(2);
    expect(b.events.map((e) => [e.event, e.message.slice(0, 40)])).toEqual([['sessions-partial', '2 PUBLISH packets to the broker and none']]);
  });
  test('only the subscribers in the capture: said once', () => {
    const b = new Broker();
    login(b, 0, 'sub', 0);
    b.s(0, publish({ topic: 'x', payload: 'a' }), 1);
    b.finish(2);
    expect(b.events.map((e) => e.event)).toEqual(['sessions-partial']);
    expect(b.events[0]!.message).toMatch(/^1 PUBLISH packet from the broker and none to it/);
  });
  test('the message cap: one event, the oldest leave early (as records), the newest are still traced', () => {
    const b = new Broker({ maxMessages: 2 });
    login(b, 0, 'sub', 0);
    login(b, 1, 'p1', 0);
    for (let i = 0; i < 5; i++) b.c(1, publish({ topic: 'x', payload: `m${i}` }), 1 + i * 0.01);
    expect(b.messages.map((m) => m.frame)).toHaveLength(3);
    b.s(0, publish({ topic: 'x', payload: 'm4' }), 1.1);
    b.s(0, publish({ topic: 'x', payload: 'm0' }), 1.1);
    b.finish(2);
    expect(b.events.filter((e) => e.event === 'sessions-limit')).toHaveLength(1);
    expect(b.messages).toHaveLength(5);
    expect(b.messages.find((m) => m.payloadLength === 2 && m.deliveries.length > 0)).toBeDefined();
    expect(b.messages.filter((m) => m.deliveries.length > 0)).toHaveLength(1);
  });
  test('the client cap: one event, later ClientIds are not followed', () => {
    const b = new Broker({ maxClients: 1 });
    login(b, 0, 'a', 0);
    login(b, 1, 'b', 0);
    login(b, 2, 'c', 0);
    b.finish(1);
    expect(b.events.filter((e) => e.event === 'sessions-limit')).toHaveLength(1);
    expect(b.sessions.map((s) => s.clientId)).toEqual(['a']);
  });
});

describe('the broker model', () => {
  test('5.0 Assigned Client Identifier: the session is followed under the identifier the broker gave', () => {
    const b = new Broker();
    b.c(0, connect({ level: 5, clientId: '' }), 0);
    b.s(0, connack({ level: 5, properties: [['assignedClientIdentifier', 'auto-1']] }), 0.001);
    b.finish(1);
    expect(b.sessions.map((s) => s.clientId)).toEqual(['auto-1']);
  });
  test('subscriptions: added by SUBACK success codes, removed by UNSUBACK, dropped when a clean session ends, kept when not', () => {
    const b = new Broker();
    login(b, 0, 'keep', 0, { clean: false });
    b.c(0, subscribe({ packetId: 1, subscriptions: [{ topic: 'a', qos: 1 }, { topic: 'b', qos: 1 }, { topic: 'c', qos: 1 }] }), 0.1);
    b.s(0, suback({ packetId: 1, codes: [1, 0x80, 0] }), 0.11);
    b.c(0, unsubscribe({ packetId: 2, topics: ['c'] }), 0.2);
    b.s(0, unsuback({ packetId: 2 }), 0.21);
    b.end(0, 1);
    login(b, 1, 'drop', 0);
    sub(b, 1, { topic: 'a', qos: 0 }, 0, 0.1);
    b.end(1, 1);
    b.finish(2);
    expect(b.sessions.map((s) => [s.clientId, s.subscriptions])).toEqual([['keep', 1], ['drop', 0]]);
  });
  test('shared subscriptions and $-topics match as the spec says', () => {
    const b = new Broker();
    login(b, 0, 'sub', 0, { level: 5 });
    sub(b, 0, { topic: '$share/g/a/#', qos: 1 }, 1, 0.01, 5);
    sub(b, 0, { topic: '#', qos: 0 }, 0, 0.02, 5, 2);
    login(b, 1, 'pub', 0, { level: 5 });
    // a/b matches both (highest granted 1); $SYS/x matches neither '#' nor the shared filter.
    b.c(1, publish({ level: 5, topic: 'a/b', qos: 1, packetId: 1, payload: 'sys-value' }), 1);
    b.s(0, publish({ level: 5, topic: 'a/b', qos: 0, payload: 'sys-value' }), 1.001);
    b.finish(2);
    expect(b.ids()).toEqual(['5.0 MQTT-3.3.4-2']);
  });
  test('a topic starting with $ is not matched by a filter starting with a wildcard', () => {
    const b = new Broker();
    login(b, 0, 'sub', 0, { level: 5 });
    sub(b, 0, { topic: '+/x', qos: 0 }, 0, 0.01, 5);
    sub(b, 0, { topic: '$SYS/x', qos: 1 }, 1, 0.02, 5, 2);
    login(b, 1, 'pub', 0, { level: 5 });
    b.c(1, publish({ level: 5, topic: '$SYS/x', qos: 1, packetId: 1, payload: 'sys-value' }), 1);
    b.s(0, publish({ level: 5, topic: '$SYS/x', qos: 0, payload: 'sys-value' }), 1.001);
    b.finish(2);
    // One matching subscription ($SYS/x, granted 1): '+/x' would make it two (MQTT-3.3.4-2).
    expect(b.ids()).toEqual(['5.0 MQTT-3.8.4-8']);
  });
});

describe('bounds of the broker model', () => {
  test('subscriptions past the per-client cap: one event, the client\'s deliveries no longer judged', async () => {
    const { MAX_SUBSCRIPTIONS } = await import('../src/sessions/stage.js');
    const b = new Broker();
    // A session kept past the connection, so its (incomplete) subscriptions are what the session record shows.
    login(b, 0, 'sub', 0, { clean: false });
    for (let i = 0; i <= MAX_SUBSCRIPTIONS; i++) sub(b, 0, { topic: `f/${i}`, qos: 1 }, 1, 0.01, 4, (i % 60000) + 1);
    login(b, 1, 'pub', 0.1);
    b.c(1, publish({ topic: 'f/1', qos: 2, packetId: 5, payload: 'reading-1' }), 1);
    b.s(0, publish({ topic: 'f/1', qos: 0, payload: 'reading-1' }), 1.002);
    b.finish(2);
    expect(b.events.filter((e) => e.event === 'sessions-limit').map((e) => e.message)).toEqual([expect.stringMatching(/^subscriptions reached a cap/)]);
    expect(b.ids()).toEqual([]);
    expect(b.sessions[0]!.subscriptions).toBeNull();
  });
  test('a message with long topics fills the index by bytes before its count: the oldest leave early', async () => {
    const b = new Broker();
    login(b, 1, 'pub', 0);
    const long = 'x'.repeat(60_000);
    // 1,200 messages of 60,000-character topics are about 72 MB: past the 64 MiB the index may hold.
    for (let i = 0; i < 1200; i++) b.c(1, publish({ topic: `${long}/${i}`, payload: 'p' }), 1 + i * 0.001);
    expect(b.events.filter((e) => e.event === 'sessions-limit')).toHaveLength(1);
    expect(b.messages.length).toBeGreaterThan(0);
    b.finish(3);
    expect(b.messages).toHaveLength(1200);
  });
});
