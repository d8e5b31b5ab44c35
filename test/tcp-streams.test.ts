/**
 * tshark's tcp.stream numbering (src/tcp/streams.ts). Each case below was run through TShark 4.0.17 as a crafted
 * capture; `want` is the tcp.stream it gave each segment, in order. test/e2e/tcp-stream-tshark.test.ts compares
 * whole captures against a live tshark.
 */
import { describe, expect, test } from 'vitest';
import type { TcpSegment } from '../src/net/types.js';
import { MAX_CONVERSATIONS, StreamNumbers } from '../src/tcp/streams.js';
import { TcpReassembler } from '../src/tcp/reassembler.js';
import type { Connection, StreamEvent, StreamSink } from '../src/tcp/types.js';
import { parseFlags } from './builders/frames.js';

const C = '10.0.0.1';
const S = '10.0.0.2';

type Seg = [src: string, dst: string, sport: number, dport: number, flags: string, seq: number, ack?: number];

function segment([src, dst, sport, dport, flags, seq, ack]: Seg, frame: number, payload = 0): TcpSegment {
  return {
    frame, timeSec: 1, timeNsec: frame, ipVersion: 4, srcIp: src, dstIp: dst, srcPort: sport, dstPort: dport,
    seq: seq >>> 0, ack: (ack ?? 0) >>> 0, flags: parseFlags(flags), payload: new Uint8Array(payload), payloadLength: payload,
  };
}

function numbers(segs: Seg[]): (number | null)[] {
  const t = new StreamNumbers();
  return segs.map((s, i) => {
    const seg = segment(s, i + 1);
    const key = seg.srcPort < seg.dstPort ? seg.srcPort * 65536 + seg.dstPort : seg.dstPort * 65536 + seg.srcPort;
    return t.see(seg, key)?.stream ?? null;
  });
}

const handshakeAndClose = (isn: number): Seg[] => [
  [C, S, 5000, 1883, 'S', isn], [S, C, 1883, 5000, 'SA', 5000, isn + 1], [C, S, 5000, 1883, 'A', isn + 1, 5001],
  [C, S, 5000, 1883, 'FA', isn + 1, 5001], [S, C, 1883, 5000, 'FA', 5001, isn + 2], [C, S, 5000, 1883, 'A', isn + 2, 5002],
];

const CASES: { name: string; segs: Seg[]; want: number[] }[] = [
  {
    name: 'every conversation on any port, in order of first appearance; a bare ACK of an unseen 4-tuple counts',
    segs: [[C, S, 5000, 80, 'S', 100], [C, S, 5001, 1883, 'S', 200], [S, C, 80, 5000, 'SA', 900, 101], [C, S, 5002, 443, 'A', 300, 1],
      [S, C, 1883, 5001, 'SA', 800, 201], [C, S, 5000, 80, 'A', 101, 901]],
    want: [0, 1, 0, 2, 1, 0],
  },
  {
    name: 'a SYN with a new ISN after a close starts a new stream; the same SYN again is a retransmission',
    segs: [...handshakeAndClose(100), ...handshakeAndClose(7000), [C, S, 5000, 1883, 'S', 7000]],
    want: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1],
  },
  {
    name: 'no close is needed: a new ISN on an open connection is a new stream',
    segs: [[C, S, 5000, 1883, 'S', 100], [S, C, 1883, 5000, 'SA', 5000, 101], [C, S, 5000, 1883, 'PA', 101, 5001], [C, S, 5000, 1883, 'S', 999]],
    want: [0, 0, 0, 1],
  },
  { name: 'a first segment that is not a SYN sets the base to its seq - 1: a SYN with that seq is the same stream', segs: [[C, S, 5000, 1883, 'PA', 1001, 1], [C, S, 5000, 1883, 'S', 1000]], want: [0, 0] },
  { name: '... and a SYN with its seq is a new one', segs: [[C, S, 5000, 1883, 'PA', 1001, 1], [C, S, 5000, 1883, 'S', 1001]], want: [0, 1] },
  { name: 'a server SYN with a new seq is a new stream', segs: [[C, S, 5000, 1883, 'S', 100], [S, C, 1883, 5000, 'SA', 5000, 101], [S, C, 1883, 5000, 'S', 6000]], want: [0, 0, 1] },
  { name: 'a SYN from a side that sent nothing yet (and was never acknowledged) is the same stream', segs: [[C, S, 5000, 1883, 'S', 100], [S, C, 1883, 5000, 'S', 6000]], want: [0, 0] },
  { name: 'a SYN+ACK never starts a stream', segs: [[C, S, 5000, 1883, 'S', 100], [S, C, 1883, 5000, 'SA', 5000, 101], [S, C, 1883, 5000, 'SA', 6000, 101]], want: [0, 0, 0] },
  { name: 'a RST ends nothing: the same SYN after it is a retransmission', segs: [[C, S, 5000, 1883, 'S', 100], [S, C, 1883, 5000, 'R', 0, 101], [C, S, 5000, 1883, 'S', 100], [C, S, 5000, 1883, 'S', 300]], want: [0, 0, 0, 1] },
  { name: 'a RST as the first segment sets the base like data', segs: [[C, S, 5000, 1883, 'R', 100], [C, S, 5000, 1883, 'S', 100], [C, S, 5000, 1883, 'S', 101]], want: [0, 1, 2] },
  { name: 'a bare ACK as the first segment too', segs: [[C, S, 5000, 1883, 'A', 500, 1], [C, S, 5000, 1883, 'S', 499], [C, S, 5000, 1883, 'S', 500]], want: [0, 0, 1] },
  { name: 'each new stream has the base of its own SYN', segs: [[C, S, 5000, 1883, 'S', 100], [C, S, 5000, 1883, 'S', 200], [C, S, 5000, 1883, 'S', 100]], want: [0, 1, 2] },
  { name: 'a SYN+ACK seen first gives the client base ack - 1', segs: [[S, C, 1883, 5000, 'SA', 5000, 101], [C, S, 5000, 1883, 'S', 100], [C, S, 5000, 1883, 'S', 77]], want: [0, 0, 1] },
  { name: '... so another client ISN is a new stream', segs: [[S, C, 1883, 5000, 'SA', 5000, 101], [C, S, 5000, 1883, 'S', 55]], want: [0, 1] },
  { name: 'any ACK gives the other side a base ack - 1 while it has none', segs: [[C, S, 5000, 1883, 'S', 100], [C, S, 5000, 1883, 'A', 101, 5001], [S, C, 1883, 5000, 'S', 4000]], want: [0, 0, 1] },
  { name: '... which a SYN with that seq matches', segs: [[C, S, 5000, 1883, 'S', 100], [C, S, 5000, 1883, 'A', 101, 5001], [S, C, 1883, 5000, 'S', 5000]], want: [0, 0, 0] },
  { name: 'an ACK of 0 gives the base 0xffffffff', segs: [[C, S, 5000, 1883, 'A', 100, 0], [S, C, 1883, 5000, 'S', 4000], [S, C, 1883, 5000, 'S', 0xffffffff]], want: [0, 1, 2] },
  { name: 'sequence numbers wrap: data at seq 0 gives the base 0xffffffff', segs: [[C, S, 5000, 1883, 'PA', 0, 1], [C, S, 5000, 1883, 'S', 0xffffffff], [C, S, 5000, 1883, 'S', 0]], want: [0, 0, 1] },
  { name: 'SYN+RST and SYN+FIN count as SYNs', segs: [[C, S, 5000, 1883, 'S', 100], [C, S, 5000, 1883, 'SR', 300], [C, S, 5000, 1883, 'SF', 400]], want: [0, 1, 2] },
  { name: 'the same ports between other addresses are another conversation', segs: [[C, S, 5000, 1883, 'S', 100], ['10.0.0.3', S, 5000, 1883, 'S', 100], [S, C, 1883, 5000, 'SA', 1, 101]], want: [0, 1, 0] },
];

describe('tcp.stream numbers as TShark 4.0 gives them', () => {
  for (const c of CASES) test(c.name, () => expect(numbers(c.segs)).toEqual(c.want));
});

describe('the numbering table is bounded', () => {
  test(`past ${MAX_CONVERSATIONS} conversations no number is given, rather than a wrong one`, () => {
    const t = new StreamNumbers();
    let last: number | null = -1;
    for (let i = 0; i <= MAX_CONVERSATIONS; i++) {
      // Distinct port pairs and address pairs, so both the port map and the address groups fill.
      const seg = segment([`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, S, 1024 + (i % 60000), 80, 'S', i], i + 1);
      const key = seg.srcPort < seg.dstPort ? seg.srcPort * 65536 + seg.dstPort : seg.dstPort * 65536 + seg.srcPort;
      last = t.see(seg, key)?.stream ?? null;
      if (i === MAX_CONVERSATIONS - 1) expect(last).toBe(MAX_CONVERSATIONS - 1);
    }
    expect(last).toBeNull();
    expect(t.overflowFrame).toBe(MAX_CONVERSATIONS + 1);
    // A conversation seen before the bound gets no number either: the table was released.
    expect(t.see(segment([`10.0.0.0`, S, 1024, 80, 'A', 1, 1], 1), 1024 * 65536 + 80)).toBeNull();
  });
});

class Sink implements StreamSink {
  conns: Connection[] = [];
  events: StreamEvent[] = [];
  open(c: Connection): void { this.conns.push(c); }
  data(): void {}
  gap(): void {}
  close(): void {}
  event(e: StreamEvent): void { this.events.push(e); }
}

describe('connections carry the number', () => {
  test('conversations on other ports and in other shards are counted; a reused 4-tuple gets the new stream', () => {
    const segs: Seg[] = [
      [C, S, 6000, 80, 'S', 1], // stream 0, not followed
      [C, S, 5000, 1883, 'S', 100], // stream 1
      [C, S, 6001, 443, 'A', 5, 5], // stream 2, not followed
      ...handshakeAndClose(100).slice(1),
      [C, S, 5000, 1883, 'S', 9000], // stream 3: the reused 4-tuple
    ];
    for (const shard of [undefined, { index: 0, count: 2 }, { index: 1, count: 2 }]) {
      const sink = new Sink();
      const r = new TcpReassembler(sink, { ports: new Set([1883]), auto: false, ...(shard ? { shard } : {}) });
      segs.forEach((s, i) => r.segment(segment(s, i + 1)));
      r.finish(segs.length, 1, 0);
      // Both connections share a 4-tuple, so they fall in the same shard: one of the two shards has both.
      if (shard === undefined || sink.conns.length > 0) expect(sink.conns.map((c) => c.tcpStream)).toEqual([1, 3]);
    }
  });

  test('the bound is said once, in a capture-note event, and later connections have tcpStream null', () => {
    const sink = new Sink();
    const r = new TcpReassembler(sink, { ports: new Set([1883]), auto: false });
    let frame = 0;
    for (let i = 0; i < MAX_CONVERSATIONS; i++) r.segment(segment([`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, S, 1024 + (i % 60000), 80, 'A', i, 1], ++frame));
    r.segment(segment([C, S, 5000, 1883, 'S', 100], ++frame));
    r.finish(frame, 1, 0);
    expect(sink.conns.map((c) => c.tcpStream)).toEqual([null]);
    const notes = sink.events.filter((e) => e.event === 'capture-note');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.message).toContain(`more than ${MAX_CONVERSATIONS} TCP conversations`);
  });
});
