import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MqttFramer, type FramedPacket, type FramerEvent, type PendingBudget } from '../src/mqtt/framer.js';

function collect(startUnsynced = false, maxPacketBytes?: number) {
  const packets: FramedPacket[] = [];
  const events: FramerEvent[] = [];
  const framer = new MqttFramer(
    { packet: (p) => packets.push({ ...p, bytes: p.bytes.slice(), frames: [...p.frames] }), event: (e) => events.push(e) },
    { startUnsynced, ...(maxPacketBytes ? { maxPacketBytes } : {}) },
  );
  return { framer, packets, events };
}

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A PUBLISH QoS 0 to `t` with `n` payload bytes of 'x'. */
function publish(topic: string, n: number): Uint8Array {
  const body = [0, topic.length, ...Buffer.from(topic), ...new Array<number>(n).fill(0x78)];
  const rl: number[] = [];
  let v = body.length;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    rl.push(b);
  } while (v > 0);
  return Uint8Array.from([0x30, ...rl, ...body]);
}

const CONNECT = hex('102d00044d51545404c20bb8001034304630363030303530383034303530000561646d696e000870617373776f7264');
const CONNACK = hex('20020000');

describe('MQTT framer', () => {
  it('cuts several packets out of one chunk without copying', () => {
    const { framer, packets } = collect();
    const stream = Uint8Array.from([...CONNECT, ...CONNACK, 0xc0, 0x00]);
    framer.push(stream, 7, 1, 0);
    expect(packets.map((p) => toHex(p.bytes))).toEqual([toHex(CONNECT), toHex(CONNACK), 'c000']);
    expect(packets.map((p) => p.streamOffset)).toEqual([0, 47, 51]);
    expect(packets[0]!.frames).toEqual([7]);
  });

  it('joins a packet whose Remaining Length is split across chunks', () => {
    const { framer, packets } = collect();
    const big = publish('a/b', 200); // remaining length takes 2 bytes
    expect(big[1]! & 0x80).toBe(0x80);
    framer.push(big.subarray(0, 2), 1, 0, 0); // type byte + first length byte
    framer.push(big.subarray(2, 3), 2, 0, 0); // second length byte
    framer.push(big.subarray(3), 3, 0, 0);
    expect(packets).toHaveLength(1);
    expect(toHex(packets[0]!.bytes)).toBe(toHex(big));
    expect(packets[0]!.frames).toEqual([1, 2, 3]);
    expect(packets[0]!.frame).toBe(3);
  });

  it('frames identically whatever the chunking (byte at a time, random cuts)', () => {
    const stream = Uint8Array.from([...CONNECT, ...publish('t', 300), ...CONNACK, ...publish('x/y', 5), 0xc0, 0x00]);
    const whole = collect();
    whole.framer.push(stream, 1, 0, 0);
    const expected = whole.packets.map((p) => toHex(p.bytes));
    expect(expected).toHaveLength(5);
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 20 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const c = collect();
      let prev = 0;
      points.forEach((p, i) => { c.framer.push(stream.subarray(prev, p), i + 1, 0, 0); prev = p; });
      c.framer.push(stream.subarray(prev), 99, 0, 0);
      expect(c.packets.map((p) => toHex(p.bytes))).toEqual(expected);
    }), { numRuns: 200 });
  });

  it('never allocates for a length it has not seen: a huge PUBLISH ends as incomplete', () => {
    const { framer, packets, events } = collect();
    framer.push(hex('30 ff ff ff 7f 00 01 61 62 63'), 4, 0, 0);
    framer.end(5);
    expect(packets).toHaveLength(0);
    const incomplete = events.find((e) => e.event === 'incomplete');
    expect(incomplete?.message).toContain('268435460');
    expect(incomplete?.bytes).toBe(10);
  });

  it('reports a Remaining Length of 5 bytes and resynchronises', () => {
    const { framer, packets, events } = collect();
    framer.push(Uint8Array.from([...CONNECT, 0x30, 0xff, 0xff, 0xff, 0xff, 0x01, ...CONNACK]), 1, 0, 0);
    // One packet after the broken one: it is trusted once the stream ends exactly at its end.
    framer.end(2);
    expect(events.map((e) => e.event)).toContain('resync');
    expect(packets.map((p) => toHex(p.bytes))).toEqual([toHex(CONNECT), toHex(CONNACK)]);
  });

  it('keeps packet boundaries across a gap inside a known packet', () => {
    const { framer, packets, events } = collect();
    const p1 = publish('t', 100);
    const p2 = publish('u', 10);
    framer.push(p1.subarray(0, 20), 1, 0, 0);
    framer.gap(30, 2);
    framer.push(Uint8Array.from([...p1.subarray(50), ...p2]), 3, 0, 0);
    expect(events[0]!.event).toBe('damaged');
    expect(events[0]!.bytes).toBe(30);
    expect(packets.map((p) => toHex(p.bytes))).toEqual([toHex(p2)]);
    expect(packets[0]!.streamOffset).toBe(p1.length);
  });

  it('resynchronises after a gap at an unknown position', () => {
    const { framer, packets, events } = collect();
    const p1 = publish('t', 100);
    const p2 = publish('sensors/temp', 10);
    framer.push(CONNECT, 1, 0, 0);
    framer.gap(57, 2);
    // Junk tail of a lost packet, then two clean packets.
    framer.push(Uint8Array.from([...p1.subarray(60), ...p2, ...CONNACK]), 3, 0, 0);
    framer.end(4);
    expect(packets.map((p) => toHex(p.bytes))).toEqual([toHex(CONNECT), toHex(p2), toHex(CONNACK)]);
    expect(events.some((e) => e.event === 'resync')).toBe(true);
  });

  it('starts unsynchronised mid-stream and finds the first whole packet', () => {
    const { framer, packets } = collect(true);
    const p1 = publish('topic/one', 40);
    const p2 = publish('topic/two', 3);
    framer.push(Uint8Array.from([...p1.subarray(17), ...p2, 0xc0, 0x00]), 1, 0, 0);
    framer.end(2);
    expect(packets.map((p) => toHex(p.bytes))).toEqual([toHex(p2), 'c000']);
  });

  it('says http (and frames nothing) for a stream that starts with an HTTP request', () => {
    const { framer, packets, events } = collect();
    framer.push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 1, 0, 0);
    framer.push(Uint8Array.of(0x82, 0x02, 0xc0, 0x00), 2, 0, 0);
    framer.end();
    expect(packets).toHaveLength(0);
    expect(events.map((e) => e.event)).toEqual(['http']);
    expect(framer.dead).toBe(true);
  });

  it('gives up after searching the limit without a packet start', () => {
    const packets: FramedPacket[] = [];
    const events: FramerEvent[] = [];
    const framer = new MqttFramer({ packet: (p) => packets.push(p), event: (e) => events.push(e) }, { startUnsynced: true, resyncLimitBytes: 4096 });
    const junk = new Uint8Array(1000).fill(0x00);
    for (let i = 0; i < 10; i++) framer.push(junk, i + 1, 0, 0);
    expect(framer.dead).toBe(true);
    expect(events.filter((e) => e.event === 'not-mqtt')).toHaveLength(1);
  });

  it('skips a packet beyond the buffer limit and continues after it', () => {
    const { framer, packets, events } = collect(false, 1000);
    const big = publish('big', 5000);
    const small = publish('s', 1);
    framer.push(big.subarray(0, 3000), 1, 0, 0);
    framer.push(Uint8Array.from([...big.subarray(3000), ...small]), 2, 0, 0);
    expect(events[0]!.event).toBe('oversize');
    expect(packets.map((p) => toHex(p.bytes))).toEqual([toHex(small)]);
  });

  it('framers sharing a budget: the packet that would pass it is skipped, the others complete, the count returns to 0', () => {
    const budget: PendingBudget = { held: 0, limit: 5000 };
    const make = () => {
      const packets: FramedPacket[] = [];
      const events: FramerEvent[] = [];
      const framer = new MqttFramer({ packet: (p) => packets.push({ ...p, bytes: p.bytes.slice() }), event: (e) => events.push(e) }, { startUnsynced: false, budget });
      return { framer, packets, events };
    };
    const a = make();
    const b = make();
    const big = publish('big', 4000);
    const small = publish('s', 1);
    a.framer.push(big.subarray(0, 3000), 1, 0, 0);
    b.framer.push(big.subarray(0, 1500), 2, 0, 0);
    expect(budget.held).toBe(4500);
    // b's next 1000 bytes would take the total to 5500: b's packet is skipped, a's goes on.
    b.framer.push(big.subarray(1500, 2500), 3, 0, 0);
    expect(b.events.map((e) => e.event)).toEqual(['oversize']);
    expect(b.events[0]!.message).toMatch(/would take the packets in progress of all connections past 5000 bytes \(they hold 4500\); skipped$/);
    expect(budget.held).toBe(3000);
    a.framer.push(Uint8Array.from([...big.subarray(3000), ...small]), 4, 0, 0);
    b.framer.push(Uint8Array.from([...big.subarray(2500), ...small]), 5, 0, 0);
    expect(a.packets.map((p) => p.bytes.length)).toEqual([big.length, small.length]);
    expect(b.packets.map((p) => p.bytes.length)).toEqual([small.length]);
    expect(budget.held).toBe(0);
  });

  it('keeps the shared count exact through gaps, resyncs and ends', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(2), fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 500 }))), { maxLength: 40 }),
      (steps) => {
        const budget: PendingBudget = { held: 0, limit: 1 << 20 };
        const framers = [0, 1, 2].map((i) => new MqttFramer({ packet: () => {}, event: () => {} }, { startUnsynced: i === 2, budget }));
        steps.forEach(([which, s], i) => (typeof s === 'number' ? framers[which]!.gap(s, i) : framers[which]!.push(s, i, 0, 0)));
        expect(budget.held).toBeGreaterThanOrEqual(0);
        for (const f of framers) f.end();
        expect(budget.held).toBe(0);
      },
    ), { numRuns: 300 });
  });

  it('never throws on random chunks, gaps and ends', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 500 })), { maxLength: 30 }),
      fc.boolean(),
      (steps, unsynced) => {
        const { framer } = collect(unsynced);
        steps.forEach((s, i) => (typeof s === 'number' ? framer.gap(s, i) : framer.push(s, i, 0, 0)));
        framer.end();
      },
    ), { numRuns: 1000 });
  });
});
