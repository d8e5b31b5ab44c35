/**
 * Resynchronisation after a gap or a mid-stream start (issue 18, defects 4 and 5): the four ways the framer used to
 * lose intact packets or invent others, each as the smallest stream that showed it.
 */
import { describe, expect, it } from 'vitest';
import { MqttFramer, type FramedPacket, type FramerEvent, type StreamKnowledge } from '../src/mqtt/framer.js';
import type { Direction } from '../src/tcp/types.js';
import * as m from './builders/mqtt-bytes.js';

function framer(o: { dir: Direction; knows?: StreamKnowledge; startUnsynced?: boolean }) {
  const packets: FramedPacket[] = [];
  const events: FramerEvent[] = [];
  const f = new MqttFramer(
    { packet: (p) => packets.push({ ...p, bytes: p.bytes.slice() }), event: (e) => events.push(e) },
    { startUnsynced: o.startUnsynced ?? false, dir: o.dir, ...(o.knows ? { knows: o.knows } : {}) },
  );
  return { f, packets, events, hexes: () => packets.map((p) => m.toHex(p.bytes)) };
}

/** A 3.1.1 connection whose CONNECT was seen. */
const V311: StreamKnowledge = { level: 4, levelInferred: false, maxPacketSize: { c2s: 0, s2c: 0 } };
const text = (n: number): Uint8Array => new TextEncoder().encode('{"v":[1.25,2.5,3.75]}'.repeat(Math.ceil(n / 21)).slice(0, n));
const skippedTotal = (events: FramerEvent[]): number => events.reduce((n, e) => n + (e.skipped ?? 0), 0);

describe('resynchronisation', () => {
  const real = [
    m.publish({ topic: 'plant/line-1/temp', payload: '21.5' }),
    m.publish({ topic: 'plant/line-1/temp', qos: 1, packetId: 7, payload: '21.6' }),
    m.pingreq(),
  ];

  it('holds a candidate longer than the window instead of trusting it, and synchronises on the real packets after it', () => {
    const { f, hexes, events } = framer({ dir: 'c2s', knows: V311, startUnsynced: true });
    // Looks like a PUBLISH of 300,000 bytes with a printable topic: its end lies far beyond what follows.
    const lookalike = m.bytes([0x30], m.vbi(300_000), m.str('a/b'), text(40));
    f.push(m.bytes(lookalike, ...real), 1, 0, 0);
    f.end(2);
    expect(hexes()).toEqual(real.map((p) => m.toHex(p)));
    expect(skippedTotal(events)).toBe(lookalike.length);
  });

  it('after a gap on a packet boundary, payload that starts like a huge CONNACK is skipped, not decoded', () => {
    const { f, hexes, events } = framer({ dir: 's2c', knows: V311 });
    f.push(m.connack({}), 1, 0, 0);
    f.gap(1448, 2);
    // The tail of a lost PUBLISH whose first byte reads as a CONNACK declaring 1.2 MB, then what the server sent next.
    const tail = m.bytes([0x20], m.vbi(1_200_000), text(300));
    const next = [m.publish({ topic: 'cmd/dev-1', qos: 1, packetId: 3, payload: 'on' }), m.ack('PUBACK', { packetId: 9 }), m.pingresp()];
    f.push(m.bytes(tail, ...next), 3, 0, 0);
    expect(hexes()).toEqual([m.connack({}), ...next].map((p) => m.toHex(p)));
    const resync = events.find((e) => e.event === 'resync')!;
    expect(resync.skipped).toBe(tail.length);
    expect(resync.message).toContain(`stream offset ${4 + 1448}`);
  });

  it('keeps a chain that ends exactly at the end of the stream, even behind a candidate that waited for more bytes', () => {
    const { f, hexes, events } = framer({ dir: 'c2s', startUnsynced: true });
    // A PUBLISH lookalike declaring 120 bytes: the stream ends before it would.
    const lookalike = m.bytes([0x30, 120], m.str('x'), text(5));
    const chain = [m.ack('PUBACK', { packetId: 4 }), m.pingreq()];
    f.push(m.bytes(lookalike, ...chain), 1, 0, 0);
    f.end(2);
    expect(hexes()).toEqual(chain.map((p) => m.toHex(p)));
    expect(skippedTotal(events)).toBe(lookalike.length);
    expect(events.map((e) => e.message).join('\n')).not.toContain('no packet start found');
  });

  it('judges candidates by direction, protocol name and the version\'s fixed lengths', () => {
    // A CONNECT sent by the server is payload.
    const s2c = framer({ dir: 's2c', knows: V311, startUnsynced: true });
    const tail = [m.publish({ topic: 'plant/boiler/state', payload: 'ok' }), m.ack('PUBACK', { packetId: 2 })];
    s2c.f.push(m.bytes(m.connect({ clientId: 'inner' }), ...tail), 1, 0, 0);
    s2c.f.end(2);
    expect(s2c.hexes()).toEqual(tail.map((p) => m.toHex(p)));

    // A "CONNECT" whose protocol name is neither MQTT nor MQIsdp is no CONNECT.
    const c2s = framer({ dir: 'c2s', startUnsynced: true });
    const fake = m.connect({ protocolName: 'MQXX', clientId: 'c' });
    c2s.f.push(m.bytes(fake, m.pingreq(), m.disconnect()), 1, 0, 0);
    c2s.f.end(2);
    expect(c2s.hexes()).toEqual([m.pingreq(), m.disconnect()].map((p) => m.toHex(p)));

    // A CONNACK of Remaining Length 3 exists in 5.0 only: on a 3.1.1 connection it is payload.
    const v4 = framer({ dir: 's2c', knows: V311, startUnsynced: true });
    const v5connack = m.connack({ level: 5 });
    expect(v5connack[1]).toBe(3);
    v4.f.push(m.bytes(v5connack, m.pingresp(), m.pingresp()), 1, 0, 0);
    v4.f.end(2);
    expect(v4.hexes()).toEqual([m.pingresp(), m.pingresp()].map((p) => m.toHex(p)));
  });

  it('refuses a candidate larger than the Maximum Packet Size the receiver announced', () => {
    const knows: StreamKnowledge = { level: 5, levelInferred: false, maxPacketSize: { c2s: 64, s2c: 0 } };
    const { f, hexes } = framer({ dir: 'c2s', knows, startUnsynced: true });
    const big = m.publish({ level: 5, topic: 'plant/a', payload: text(100) });
    const small = [m.publish({ level: 5, topic: 'plant/a', payload: '1' }), m.pingreq()];
    f.push(m.bytes(big, ...small), 1, 0, 0);
    f.end(2);
    expect(hexes()).toEqual(small.map((p) => m.toHex(p)));
  });

  it('decodes nothing from JSON digits before it is synchronised, and reports every byte it skipped', () => {
    const { f, packets, events } = framer({ dir: 's2c', startUnsynced: true });
    const json = text(5000);
    for (let i = 0; i < json.length; i += 700) f.push(json.subarray(i, i + 700), 1 + i, 0, 0);
    f.end(99);
    expect(packets).toEqual([]);
    expect(skippedTotal(events)).toBe(json.length);
  });

  it('confirms a long packet by the header that follows it, once its bytes are in', () => {
    const { f, hexes } = framer({ dir: 's2c', knows: V311, startUnsynced: true });
    const big = m.publish({ topic: 'plant/big', payload: text(100_000) });
    const after = m.ack('PUBACK', { packetId: 11 });
    const stream = m.bytes(text(333), big, after, m.publish({ topic: 'plant/x', payload: text(60) }));
    for (let i = 0; i < stream.length - 30; i += 1460) f.push(stream.subarray(i, Math.min(i + 1460, stream.length - 30)), 1, 0, 0);
    // The PUBACK's header is in: the 100 KB PUBLISH is confirmed and framed before the stream goes on.
    expect(hexes()[0]).toBe(m.toHex(big));
    f.push(stream.subarray(stream.length - 30), 2, 0, 0);
    f.end(3);
    expect(hexes().length).toBe(3);
  });
});
