/**
 * The Will audit of the sessions stage (src/sessions/will.ts) and the takeover on the close record: one scenario per
 * finding, next to the one that must not give it. A watcher subscribed to `will/#` is what lets the capture decide.
 */
import { describe, expect, test } from 'vitest';
import { sessionEnd } from '../src/rules/close.js';
import { connack, connect, disconnect, pingreq, publish, type Level, type Prop } from './builders/mqtt-bytes.js';
import { MAX_HELD_WILLS } from '../src/sessions/will.js';
import { Broker, login, sub } from './builders/sessions-harness.js';

const WILL = { topic: 'will/dev', payload: 'dev-1 connection lost', qos: 1 };

interface Device {
  level?: Level;
  /** 5.0 Will Delay Interval and Session Expiry Interval. */
  delay?: number;
  expiry?: number;
  clean?: boolean;
  watcher?: boolean;
}

/** Watcher `w` on conn 0 (subscribed to will/# unless told otherwise), device `dev` with a Will on conn 1 at 0.1 s. */
function setup(o: Device = {}): Broker {
  const level = o.level ?? 4;
  const b = new Broker();
  login(b, 0, 'w', 0, { level });
  if (o.watcher !== false) sub(b, 0, { topic: 'will/#', qos: 1 }, 1, 0.01, level);
  const willProps: Prop[] = o.delay !== undefined ? [['willDelayInterval', o.delay]] : [];
  const props: Prop[] = o.expiry !== undefined ? [['sessionExpiryInterval', o.expiry]] : [];
  b.c(1, connect({ level, clientId: 'dev', clean: o.clean ?? true, will: { ...WILL, ...(level === 5 ? { properties: willProps } : {}) }, ...(level === 5 ? { properties: props } : {}) }), 0.1);
  b.s(1, connack({ level }), 0.101);
  return b;
}

/** The broker publishes the Will to the watcher at `t`. */
function willOut(b: Broker, t: number, level: Level = 4): void {
  b.s(0, publish({ level, topic: WILL.topic, qos: 1, packetId: 7, payload: WILL.payload }), t);
}

/** Time passes on the watcher's connection (so held closes are decided), then the capture ends. */
function later(b: Broker, t: number): void {
  b.c(0, pingreq(), t);
  b.finish(t + 1);
}

const ids = (b: Broker): string[] => b.ids();

describe('the Will after an abnormal close (MQTT-3.1.2-8)', () => {
  for (const level of [4, 5] as const) {
    const spec = level === 5 ? '5.0' : '3.1.1';
    test(`${spec}: killed (FIN, no DISCONNECT) and published: "fired"; not published: "should-fire-not-seen" and MQTT-3.1.2-8`, () => {
      const ok = setup({ level });
      ok.end(1, 1);
      willOut(ok, 1.003, level);
      later(ok, 10);
      expect(ok.closed(1)).toMatchObject({ will: 'fired', willDeliveries: [{ conn: 0, clientId: 'w', qos: 1, afterCloseMs: 3 }] });
      expect(ids(ok)).toEqual([]);
      // The Will delivery is explained: no message record, and no "only the subscribers' side" event.
      expect(ok.messages).toEqual([]);
      expect(ok.events.filter((e) => e.event === 'sessions-partial')).toEqual([]);

      const missing = setup({ level });
      missing.end(1, 1, 'rst', 'c2s');
      later(missing, 10);
      expect(missing.closed(1).will).toBe('should-fire-not-seen');
      expect(ids(missing)).toEqual([`${spec} MQTT-3.1.2-8`]);
      expect(missing.closed(1).violations![0]!.severity).toBe('warning');
      expect(missing.closed(1).violations![0]!.message).toContain('a subscriber in the capture ("w" (connection 0)) would have received it');
    });
    test(`${spec}: no subscriber of the Will Topic in the capture: "due-unobserved", no finding; the capture ends first: "pending"`, () => {
      const b = setup({ level, watcher: false });
      b.end(1, 1);
      later(b, 10);
      expect(b.closed(1).will).toBe('due-unobserved');
      expect(ids(b)).toEqual([]);
      const short = setup({ level });
      short.end(1, 1);
      short.finish(2);
      expect(short.closed(1).will).toBe('pending');
      expect(ids(short)).toEqual([]);
    });
  }

  test('the broker publishes the Will, then closes the dead connection (keep-alive expiry): "fired"', () => {
    const b = setup();
    willOut(b, 90.5);
    b.end(1, 91, 'fin', 's2c');
    later(b, 100);
    expect(b.closed(1)).toMatchObject({ will: 'fired', willDeliveries: [{ afterCloseMs: -500 }] });
    expect(ids(b)).toEqual([]);
  });

  test('5.0 DISCONNECT 0x04 (with Will) asks for it; an error reason code leaves it due (only 0x00 deletes it)', () => {
    for (const rc of [0x04, 0x80]) {
      const b = setup({ level: 5 });
      b.c(1, disconnect({ level: 5, reasonCode: rc }), 0.9);
      b.end(1, 1);
      later(b, 10);
      expect(sessionEnd(b.closed(1))!.willDue).toBe(true);
      expect(b.closed(1).will).toBe('should-fire-not-seen');
      expect(ids(b)).toEqual(['5.0 MQTT-3.1.2-8']);
    }
  });
});

describe('no Will after the client\'s normal DISCONNECT (MQTT-3.14.4-3)', () => {
  for (const level of [4, 5] as const) {
    const spec = level === 5 ? '5.0' : '3.1.1';
    test(`${spec}: published anyway: "fired-not-due" and MQTT-3.14.4-3; not published: "not-fired"`, () => {
      const run = (publishIt: boolean): Broker => {
        const b = setup({ level });
        b.c(1, disconnect({ level }), 0.9);
        b.end(1, 1);
        if (publishIt) willOut(b, 1.002, level);
        later(b, 10);
        return b;
      };
      const bad = run(true);
      expect(bad.closed(1).will).toBe('fired-not-due');
      expect(ids(bad)).toEqual([`${spec} MQTT-3.14.4-3`]);
      expect(bad.closed(1).violations![0]!.severity).toBe('error');
      const good = run(false);
      expect(good.closed(1).will).toBe('not-fired');
      expect(ids(good)).toEqual([]);
    });

    test(`${spec}: the capture ends right after the DISCONNECT: "not-fired", not "pending" (nothing is due)`, () => {
      const b = setup({ level });
      b.c(1, disconnect({ level }), 0.9);
      b.end(1, 1);
      b.finish(1.01);
      expect(b.closed(1).will).toBe('not-fired');
    });
  }
});

describe('5.0 Will Delay Interval', () => {
  test('published after the delay: "fired"; before it: "fired-early" and MQTT-3.1.2-8', () => {
    for (const [at, outcome, found] of [[31.2, 'fired', []], [1.5, 'fired-early', ['5.0 MQTT-3.1.2-8']]] as const) {
      const b = setup({ level: 5, delay: 30, expiry: 120 });
      b.end(1, 1);
      willOut(b, at, 5);
      later(b, 40);
      expect(b.closed(1).will).toBe(outcome);
      expect(ids(b)).toEqual(found);
    }
  });

  test('a Session Expiry shorter than the delay: due when the session ends', () => {
    const b = setup({ level: 5, delay: 30, expiry: 2 });
    b.end(1, 1);
    willOut(b, 3.1, 5);
    later(b, 40);
    expect(b.closed(1).will).toBe('fired');
    expect(ids(b)).toEqual([]);
  });

  test('the session resumed within the delay: "cancelled"; published anyway: MQTT-3.1.3-9', () => {
    const run = (publishIt: boolean): Broker => {
      const b = setup({ level: 5, delay: 30, expiry: 120, clean: false });
      b.end(1, 1);
      b.c(2, connect({ level: 5, clientId: 'dev', clean: false, properties: [['sessionExpiryInterval', 120]] }), 5);
      b.s(2, connack({ level: 5, sessionPresent: true }), 5.001);
      if (publishIt) willOut(b, 31.1, 5);
      later(b, 40);
      return b;
    };
    const good = run(false);
    expect(good.closed(1).will).toBe('cancelled');
    expect(ids(good)).toEqual([]);
    const bad = run(true);
    expect(bad.closed(1).will).toBe('fired-not-due');
    expect(ids(bad)).toEqual(['5.0 MQTT-3.1.3-9']);
  });
});

describe('takeover on the close record', () => {
  test('5.0: a Clean Start 1 connection takes the ClientId over; the old one gets DISCONNECT 0x8E; its Will is due', () => {
    const run = (publishIt: boolean): Broker => {
      const b = setup({ level: 5 });
      login(b, 2, 'dev', 2, { level: 5 });
      b.s(1, disconnect({ level: 5, reasonCode: 0x8e }), 2.002);
      b.end(1, 2.003, 'fin', 's2c');
      if (publishIt) willOut(b, 2.004, 5);
      later(b, 10);
      return b;
    };
    const ok = run(true);
    expect(ok.closed(1)).toMatchObject({ takeover: { conn: 2, frame: 8 }, will: 'fired' });
    expect(ids(ok)).toEqual([]);
    const missing = run(false);
    expect(missing.closed(1).will).toBe('should-fire-not-seen');
    expect(ids(missing)).toEqual(['5.0 MQTT-3.1.2-8']);
  });

  test('3.1.1: the takeover is on the record, the Will is not judged (the statement does not decide it)', () => {
    const b = setup({ level: 4 });
    login(b, 2, 'dev', 2);
    b.end(1, 2.003, 'fin', 's2c');
    later(b, 10);
    expect(b.closed(1)).toMatchObject({ takeover: { conn: 2 }, will: 'not-fired' });
    expect(ids(b)).toEqual([]);
    // A connection without a Will: "none", and no takeover.
    expect(b.closed(0)).toMatchObject({ will: 'none', takeover: null });
  });
});

describe('bounds', () => {
  test(`past ${MAX_HELD_WILLS} closes waiting for their Will, the oldest is decided early: one sessions-limit event`, () => {
    const b = setup();
    const n = MAX_HELD_WILLS + 1;
    for (let i = 0; i < n; i++) {
      const id = 10 + i;
      b.c(id, connect({ clientId: `dev-${i}`, will: { topic: `will/dev-${i}`, payload: 'device went away', qos: 1 } }), 1);
      b.s(id, connack({}), 1.001);
      b.end(id, 1.002);
    }
    // The first one's record went on, before its Will's window passed: undecided, no finding.
    expect(b.closes.map((c) => c.conn)).toEqual([10]);
    expect(b.closed(10).will).toBe('pending');
    expect(b.closes[0]!.violations).toEqual([]);
    expect(b.events.filter((e) => e.event === 'sessions-limit')).toHaveLength(1);
    later(b, 10);
    expect(b.closes).toHaveLength(n + 2);
  });
});
