/**
 * Findings that were missed or wrong (issue 12): a Remaining Length past 4 bytes, a wrong protocol name at level 4,
 * flows and keep alive measured to the TCP close, OneNET's implicit $creq subscription, HTTP on an MQTT port.
 */
import { describe, expect, test } from 'vitest';
import { CATALOGUE } from '../src/rules/catalogue.js';
import { TcpSession } from './builders/frames.js';
import { ack, bytes, connack, connect, disconnect, hex, pingreq, pingresp, publish, subscribe, suback } from './builders/mqtt-bytes.js';
import { alone, Harness } from './builders/rules-harness.js';
import { runFrames } from './builders/run-frames.js';

const ids = (vs: readonly { id: string; spec: string }[]): string[] => vs.map((v) => `${v.spec} ${v.id}`);

describe('Remaining Length with a fifth continuation byte', () => {
  function stream(level: 4 | 5) {
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    const frames = [...s.handshake()];
    frames.push(...s.c2s(connect({ level })), ...s.s2c(connack({ level })));
    frames.push(...s.c2s(hex('30 80 80 80 80 01 00 01 61')));
    // Resynchronisation goes on: a later PUBLISH is still framed.
    frames.push(...s.c2s(publish({ level, topic: 'after', payload: 'x' })));
    frames.push(...s.close('client'));
    return runFrames(frames);
  }

  test('is a violation of the sender on a complete stream, in addition to the resync event', () => {
    for (const level of [4, 5] as const) {
      const r = stream(level);
      const resync = r.events.filter((e) => e.event === 'resync');
      expect(resync.length).toBeGreaterThan(0);
      const v = resync.flatMap((e) => e.violations ?? []);
      expect(ids(v)).toEqual([`${level === 5 ? '5.0' : '3.1.1'} ALL:2.2.3:rl-max-4-bytes`]);
      expect(v[0]!.severity).toBe('error');
      expect(resync[0]!.dir).toBe('c2s');
      expect(r.packets.some((p) => p.decoded.type === 3 && (p.decoded as { topic?: string }).topic === 'after')).toBe(true);
    }
  });
});

describe('CONNECT with a wrong protocol name', () => {
  test('"MQTX" with level 4 cites MQTT-3.1.2-1, not the name/level rule', () => {
    expect(ids(alone(connect({ level: 4, protocolName: 'MQTX' }), 4, 'c2s'))).toEqual(['3.1.1 MQTT-3.1.2-1']);
  });
  test('"MQTT" with level 3 is still the name/level rule', () => {
    expect(ids(alone(connect({ level: 3, protocolName: 'MQTT' }), 4, 'c2s'))).toEqual(['3.1 3.1.1:3.1.2.2:level']);
  });
});

describe('closes reach the rules with their frame and time', () => {
  function session(opts: { keepAlive?: number } = {}) {
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    const frames: Uint8Array[] = [];
    const times: number[] = [];
    const at = (t: number, fs: Uint8Array[]): void => { for (const f of fs) { frames.push(f); times.push(t); } };
    at(0, s.handshake());
    at(0.01, s.c2s(connect({ keepAlive: opts.keepAlive ?? 60 })));
    at(0.02, s.s2c(connack({})));
    return { s, frames, times, at };
  }

  test('a QoS 1 PUBLISH never acknowledged is reported when it was the last MQTT packet before a FIN', () => {
    const { s, frames, times, at } = session();
    at(0.03, s.c2s(publish({ topic: 'a', qos: 1, packetId: 7 })));
    at(0.05, s.close('server'));
    const r = runFrames(frames, { times });
    const flows = r.events.filter((e) => e.event === 'incomplete-flow');
    expect(flows.map((e) => e.dir)).toEqual(['s2c']);
    expect(ids(flows[0]!.violations!)).toEqual(['3.1.1 ALL:3.3.4:publish-unanswered']);
  });

  test('at the end of the capture the grace period counts back from the capture end', () => {
    const { s, frames, times, at } = session();
    at(0.03, s.c2s(publish({ topic: 'a', qos: 1, packetId: 7 })));
    at(0.5, s.c2s(pingreq()));
    at(0.51, s.s2c(pingresp()));
    // Still open, 0.5 s after the PUBLISH: the PUBACK may be just past the end.
    expect(runFrames(frames, { times }).events.filter((e) => e.event === 'incomplete-flow')).toEqual([]);
    // The capture went on for 5 s on another connection: the PUBACK is missing.
    const o = new TcpSession('10.0.0.3:50001', '10.0.0.1:1883');
    at(5, o.handshake());
    expect(runFrames(frames, { times }).events.filter((e) => e.event === 'incomplete-flow').map((e) => e.dir)).toEqual(['s2c']);
  });

  test('keep-alive expiry is measured to the close: Keep Alive 2 s, silent 7 s until the broker dropped it', () => {
    const { s, frames, times, at } = session({ keepAlive: 2 });
    at(7.02, s.close('server'));
    const r = runFrames(frames, { times });
    const v = r.violations.filter((x) => x.id === 'MQTT-3.1.2-23' || x.id === 'MQTT-3.1.2-24');
    expect(ids(v)).toEqual(['3.1.1 MQTT-3.1.2-23', '3.1.1 MQTT-3.1.2-24']);
  });

  test('a client that disconnects cleanly gets no keep-alive finding at close', () => {
    const { s, frames, times, at } = session({ keepAlive: 2 });
    at(1, s.c2s(disconnect({})));
    at(9, s.close('client'));
    const r = runFrames(frames, { times });
    expect(r.violations).toEqual([]);
  });
});

describe('OneNET $creq commands', () => {
  function creq(dialect: 'auto' | 'none') {
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:6002');
    const frames = [...s.handshake()];
    frames.push(...s.c2s(connect({ clientId: '12345', username: '678', password: 'x' })), ...s.s2c(connack({})));
    frames.push(...s.c2s(subscribe({ packetId: 1, subscriptions: [{ topic: 'other' }] })), ...s.s2c(suback({ packetId: 1, codes: [0] })));
    frames.push(...s.s2c(publish({ topic: '$creq/e8b6c9b6-225b-57dc-abaa-246ba58761d8', payload: 'reboot' })));
    frames.push(...s.close('client'));
    return runFrames(frames, { dialect });
  }

  test('a server PUBLISH on $creq/… is not an MQTT-3.3.2-3 finding under the OneNET dialect', () => {
    expect(creq('auto').violations.filter((v) => v.id === 'MQTT-3.3.2-3')).toEqual([]);
  });

  test('without the dialect it is a finding, with the severity the catalogue gives the rule', () => {
    const v = creq('none').violations.filter((x) => x.id === 'MQTT-3.3.2-3');
    expect(v).toHaveLength(1);
    const entry = CATALOGUE.find((e) => e.spec === '3.1.1' && e.id === 'MQTT-3.3.2-3')!;
    expect(v[0]!.severity).toBe(entry.severity);
  });

  test('the explicit case (a subscription that does not match) has the catalogue severity too', () => {
    const h = new Harness();
    h.c(connect({}));
    h.s(connack({}));
    h.c(subscribe({ packetId: 1, subscriptions: [{ topic: 'a' }] }));
    h.s(suback({ packetId: 1, codes: [0] }));
    h.s(publish({ topic: 'b' }));
    const v = h.all().filter((x) => x.id === 'MQTT-3.3.2-3');
    const entry = CATALOGUE.find((e) => e.spec === '3.1.1' && e.id === 'MQTT-3.3.2-3')!;
    expect(v.map((x) => x.severity)).toEqual([entry.severity]);
  });
});

describe('HTTP on an MQTT port', () => {
  test('a WebSocket upgrade on a port named with --port is decoded through the WebSocket layer', () => {
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:9001');
    const frames = [...s.handshake()];
    frames.push(...s.c2s('GET /mqtt HTTP/1.1\r\nHost: 10.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n'));
    // A 101 without a selected subprotocol (MQTT-6.0.0-4, on the server's first packet) and without Sec-WebSocket-Accept.
    frames.push(...s.s2c('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
    // A masked WebSocket binary frame carrying a CONNECT, then the server's unmasked one carrying a CONNACK.
    const body = connect({});
    const mask = [0x12, 0x34, 0x56, 0x78];
    frames.push(...s.c2s(bytes([0x82, 0x80 | body.length, ...mask], Uint8Array.from(body, (b, i) => b ^ mask[i % 4]!))));
    frames.push(...s.s2c(bytes([0x82, 4], connack({}))));
    frames.push(...s.c2s(bytes([0x82, 0x80 | 2, ...mask], Uint8Array.from(pingreq(), (b, i) => b ^ mask[i % 4]!))));
    frames.push(...s.close('client'));
    const r = runFrames(frames, { ports: [9001] });
    expect(r.packets.map((p) => p.decoded.typeName)).toEqual(['CONNECT', 'CONNACK', 'PINGREQ']);
    expect(r.packets[0]!.conn.transport).toEqual(['websocket']);
    // The request has no Sec-WebSocket-Key nor Version (RFC 6455 4.1, on the handshake event), so the missing Accept
    // cannot be checked (said in the handshake event).
    expect(r.violations.map((v) => v.id).sort()).toEqual(['ALL:3.12.4:pingresp-missing', 'MQTT-6.0.0-4', 'RFC6455:4.1:request-fields']);
    expect(r.events[0]!.violations!.map((v) => [v.id, v.spec, v.message])).toEqual([['RFC6455:4.1:request-fields', 'RFC 6455 4.1', 'the Upgrade request (frame 4) has no Sec-WebSocket-Key, has no Sec-WebSocket-Version']]);
    expect(r.packets[1]!.violations.map((v) => v.id)).toEqual(['MQTT-6.0.0-4']);
    expect(r.events.map((e) => e.event)).toEqual(['websocket', 'incomplete-flow']);
    expect(r.events[0]!.message).toMatch(/selected \(none\); accept key no key/);
  });

  test('HTTP that is no WebSocket upgrade is reported as HTTP and never framed as MQTT', () => {
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    const frames = [...s.handshake(), ...s.c2s('GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n'), ...s.s2c('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'), ...s.close('client')];
    const r = runFrames(frames);
    expect(r.packets).toEqual([]);
    expect(r.violations).toEqual([]);
    expect(r.events.map((e) => e.event)).toEqual(['http', 'http']);
  });

  test('MQTT itself is not mistaken for HTTP', () => {
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    const frames = [...s.handshake(), ...s.c2s(connect({})), ...s.s2c(connack({})), ...s.c2s(ack('PUBACK', { packetId: 1 }).subarray(0, 0)), ...s.close('client')];
    const r = runFrames(frames);
    expect(r.events.filter((e) => e.event === 'http')).toEqual([]);
    expect(r.packets).toHaveLength(2);
  });
});

describe('keep alive at the end of the capture', () => {
  test('a connection still open when the capture ends gets no keep-alive finding (its record says expired)', () => {
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    const o = new TcpSession('10.0.0.3:50001', '10.0.0.1:1883');
    const frames = [...s.handshake(), ...s.c2s(connect({ keepAlive: 2 })), ...s.s2c(connack({})), ...o.handshake()];
    const times = frames.map((_, i) => (i < frames.length - 3 ? i * 0.01 : 20));
    const r = runFrames(frames, { times });
    expect(r.violations).toEqual([]);
    expect(r.closes.map((c) => c.end.cause)).toEqual(['capture-end', 'capture-end']);
  });
});

describe('open exchanges at a close after a malformed packet', () => {
  test('the receiver of a malformed packet owes no answers: it must close', () => {
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    const frames = [...s.handshake(), ...s.c2s(connect({})), ...s.s2c(connack({}))];
    // SUBSCRIBE with packet identifier 0 (malformed), then the server closes.
    frames.push(...s.c2s(subscribe({ packetId: 0, subscriptions: [{ topic: 'a' }] })), ...s.close('server'));
    const r = runFrames(frames);
    expect(r.events.filter((e) => e.event === 'incomplete-flow')).toEqual([]);
  });
});
