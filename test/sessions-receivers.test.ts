/** Who would receive a PUBLISH to a topic (`trace --receivers`): the sessions stage's broker model, asked. */
import { describe, expect, test } from 'vitest';
import { receiversJson, receiversLines } from '../src/render/receivers.js';
import { makeChalk } from '../src/render/color.js';
import { Broker, login, sub } from './builders/sessions-harness.js';
import { unsuback, unsubscribe } from './builders/mqtt-bytes.js';

/** Seven clients, each a case: connected, offline with a session, offline without, a share group, No Local, unsubscribed, resumed from before the capture. */
function broker(): Broker {
  const b = new Broker({ history: true });
  login(b, 0, 'live', 0);
  sub(b, 0, { topic: 'plant/+/temp', qos: 1 }, 1, 0.01);
  sub(b, 0, { topic: 'plant/#', qos: 2 }, 0, 0.02, 4, 2);
  login(b, 1, 'keeper', 0, { clean: false });
  sub(b, 1, { topic: 'plant/7/temp', qos: 2 }, 2, 0.01);
  b.end(1, 1);
  login(b, 2, 'gone', 0);
  sub(b, 2, { topic: 'plant/7/#', qos: 1 }, 1, 0.01);
  b.end(2, 2);
  login(b, 3, 'w1', 0, { level: 5 });
  sub(b, 3, { topic: '$share/g/plant/+/temp', qos: 1 }, 1, 0.01, 5);
  login(b, 4, 'w2', 0, { level: 5 });
  sub(b, 4, { topic: '$share/g/plant/+/temp', qos: 1 }, 1, 0.01, 5);
  login(b, 5, 'self', 0, { level: 5 });
  sub(b, 5, { topic: 'plant/7/temp', qos: 1, noLocal: true }, 1, 0.01, 5);
  login(b, 6, 'quitter', 0);
  sub(b, 6, { topic: 'plant/7/temp', qos: 1 }, 1, 0.01);
  b.c(6, unsubscribe({ packetId: 3, topics: ['plant/7/temp'] }), 3);
  b.s(6, unsuback({ packetId: 3 }), 3.001);
  login(b, 7, 'resumed', 0, { clean: false, sp: true });
  return b;
}

describe('receivers of a topic', () => {
  test('each client by its subscriptions, connection and session, at the end of the capture', () => {
    const a = broker().stage.receivers('plant/7/temp');
    const by = new Map(a.receivers.map((r) => [r.clientId, r]));
    expect([...by.keys()].sort()).toEqual(['keeper', 'live', 'self', 'w1', 'w2']);
    // Two matching subscriptions: the higher grant counts.
    expect(by.get('live')).toMatchObject({ maxQos: 1, connected: true, complete: true });
    expect(by.get('live')!.subscriptions.map((s) => s.filter)).toEqual(['plant/+/temp', 'plant/#']);
    expect(by.get('keeper')).toMatchObject({ maxQos: 2, connected: false, persists: true });
    expect(by.get('w1')!.subscriptions[0]).toMatchObject({ shareGroup: 'g', filter: '$share/g/plant/+/temp' });
    // The clean session that ended and the UNSUBACK are in the past; the resumed session may hold anything.
    expect(a.past.map((p) => [p.clientId, p.filter])).toEqual([['gone', 'plant/7/#'], ['quitter', 'plant/7/temp']]);
    expect(a.past[1]).toMatchObject({ untilSec: 3.001 });
    expect(a.unknown).toEqual(['resumed']);
  });

  test('No Local: the publisher\'s own subscription does not count', () => {
    const a = broker().stage.receivers('plant/7/temp', 'self');
    expect(a.receivers.map((r) => r.clientId)).not.toContain('self');
    expect(a.receivers.map((r) => r.clientId)).toContain('live');
  });

  test('$-topics match no filter that starts with a wildcard', () => {
    const b = new Broker({ history: true });
    login(b, 0, 'all', 0);
    sub(b, 0, { topic: '#', qos: 0 }, 0, 0.01);
    login(b, 1, 'sys', 0);
    sub(b, 1, { topic: '$SYS/#', qos: 0 }, 0, 0.01);
    expect(b.stage.receivers('$SYS/broker/uptime').receivers.map((r) => r.clientId)).toEqual(['sys']);
    expect(b.stage.receivers('a/b').receivers.map((r) => r.clientId)).toEqual(['all']);
  });

  test('without history, nothing is kept of ended subscriptions', () => {
    const b = new Broker();
    login(b, 0, 'gone', 0);
    sub(b, 0, { topic: 'x', qos: 0 }, 0, 0.01);
    b.end(0, 1);
    expect(b.stage.receivers('x')).toMatchObject({ receivers: [], past: [], pastCapped: false });
  });

  test('text names the share group once and the clients it cannot see into; JSON ends with the summary record', () => {
    const a = broker().stage.receivers('plant/7/temp');
    const text = receiversLines(a, null, makeChalk(false));
    expect(text[0]).toBe('PUBLISH to "plant/7/temp": 5 clients subscribed (the subscriptions the capture showed, as it left them)');
    expect(text.filter((l) => l.includes('share group "g"'))).toEqual(['  share group "g" ($share/g/plant/+/temp): each message goes to one of "w1", "w2"']);
    expect(text.some((l) => l.includes('"keeper" at QoS 2 at most, offline, session kept'))).toBe(true);
    expect(text.at(-1)).toMatch(/^ {2}1 more client resumed sessions from before the capture .*"resumed"$/);
    const json = receiversJson(a).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.map((r) => r.kind)).toEqual(['receiver', 'receiver', 'receiver', 'receiver', 'receiver', 'receivers']);
    expect(json.at(-1)).toMatchObject({ receivers: 5, unknown: ['resumed'], past: [{ clientId: 'gone', filter: 'plant/7/#', qos: 1 }, { clientId: 'quitter' }] });
  });
});
