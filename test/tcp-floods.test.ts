/**
 * Hostile volumes at the TCP stage (issue 18): lookups that stay O(1) when connections share a port pair, and a
 * budget on the connections tracked. Costs are counted (operations), never timed.
 */
import { describe, expect, test } from 'vitest';
import { TCP_ACK, TCP_SYN, type TcpSegment } from '../src/net/types.js';
import { DEFAULT_MAX_CONNECTIONS, TcpReassembler } from '../src/tcp/reassembler.js';
import type { Connection, ConnectionEnd, StreamEvent, StreamSink } from '../src/tcp/types.js';

class CountingSink implements StreamSink {
  opened = 0;
  closes: ConnectionEnd[] = [];
  /** Client address of every closed connection, with its cause. */
  closed: Array<[string, string]> = [];
  events: StreamEvent[] = [];
  bytes = 0;
  open(_conn: Connection): void { this.opened++; }
  data(_c: Connection, _d: string, data: Uint8Array): void { this.bytes += data.length; }
  gap(): void {}
  close(conn: Connection, end: ConnectionEnd): void {
    this.closes.push(end);
    this.closed.push([conn.client, end.cause]);
  }
  event(ev: StreamEvent): void { this.events.push(ev); }
}

/** Address reads made by the reassembler: every comparison of a connection's 4-tuple reads them. */
let addressReads = 0;

function seg(srcIp: string, srcPort: number, dstIp: string, dstPort: number, flags: number, seq: number, payload = new Uint8Array(0), frame = 1): TcpSegment {
  return {
    frame, timeSec: 1_700_000_000 + Math.floor(frame / 1000), timeNsec: 0, ipVersion: 4,
    get srcIp() { addressReads++; return srcIp; },
    get dstIp() { addressReads++; return dstIp; },
    srcPort, dstPort, seq, ack: 0, flags, payload, payloadLength: payload.length,
  };
}

const SERVER = '192.168.0.1';
const clientIp = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

describe('connections sharing a port pair', () => {
  /** Opens n connections over 16 client ports, then counts address reads for one more segment on each of them. */
  function readsPerSegment(n: number): number {
    const sink = new CountingSink();
    const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false, maxConnections: 1 << 20 });
    let frame = 1;
    for (let i = 0; i < n; i++) tcp.segment(seg(clientIp(i >> 4), 40000 + (i & 15), SERVER, 1883, TCP_SYN, i * 7919, undefined, frame++));
    addressReads = 0;
    for (let i = 0; i < n; i++) tcp.segment(seg(SERVER, 1883, clientIp(i >> 4), 40000 + (i & 15), TCP_SYN | TCP_ACK, 5000, undefined, frame++));
    expect(sink.opened).toBe(n);
    return addressReads / n;
  }

  test('a segment costs a bounded number of address comparisons, however many connections share its ports', () => {
    const small = readsPerSegment(1_000);
    const large = readsPerSegment(8_000);
    // A chain walk compares against every connection of the port pair: 62 vs 500 on average here.
    expect(large).toBeLessThan(12);
    expect(large).toBeLessThanOrEqual(small * 1.2);
  });

  test('same ports, same addresses, opposite orientation: two connections, each gets its own segments', () => {
    const sink = new CountingSink();
    const tcp = new TcpReassembler(sink, { ports: new Set([1883, 6002]), auto: false });
    const a = '10.0.0.1';
    const b = '10.0.0.2';
    tcp.segment(seg(a, 1883, b, 6002, TCP_SYN, 100));
    tcp.segment(seg(a, 6002, b, 1883, TCP_SYN, 200));
    tcp.segment(seg(b, 1883, a, 6002, TCP_SYN | TCP_ACK, 300));
    tcp.segment(seg(b, 6002, a, 1883, TCP_SYN | TCP_ACK, 400));
    expect(sink.opened).toBe(2);
    tcp.finish(5, 1_700_000_001, 0);
    expect(sink.closes.map((e) => e.cause)).toEqual(['capture-end', 'capture-end']);
  });
});

describe('the connection budget', () => {
  const data = new Uint8Array(100).fill(0x30);

  test('past the budget, connections without data go first; one event counts the burst; every eviction closes its connection', () => {
    const sink = new CountingSink();
    const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false, maxConnections: 100 });
    let frame = 1;
    // 50 connections that carry data, then 200 SYNs that never complete.
    for (let i = 0; i < 50; i++) {
      tcp.segment(seg(clientIp(i), 40000, SERVER, 1883, TCP_SYN, 1000, undefined, frame++));
      tcp.segment(seg(clientIp(i), 40000, SERVER, 1883, TCP_ACK, 1001, data, frame++));
    }
    let most = 0;
    for (let i = 50; i < 250; i++) {
      tcp.segment(seg(clientIp(i), 40000, SERVER, 1883, TCP_SYN, 1000, undefined, frame++));
      most = Math.max(most, tcp.stats().connections);
    }
    expect(most).toBe(100);
    const evicted = sink.closed.filter(([, cause]) => cause === 'evicted');
    expect(evicted).toHaveLength(150);
    // Only half-open ones, the oldest first.
    expect(evicted.map(([c]) => c)).toEqual(Array.from({ length: 150 }, (_, k) => `${clientIp(50 + k)}:40000`));
    tcp.finish(frame, 1_700_000_001, 0);
    const ev = sink.events.filter((e) => e.event === 'evicted');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.count).toBe(150);
    expect(ev[0]!.message).toContain('150 without data yet, 0 idle longest');
    expect(ev[0]!.message).toContain('--max-connections');
    expect(sink.bytes).toBe(5000);
  });

  test('among connections with data, the one idle longest is evicted', () => {
    const sink = new CountingSink();
    const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false, maxConnections: 3 });
    let frame = 1;
    const open = (i: number) => {
      tcp.segment(seg(clientIp(i), 40000, SERVER, 1883, TCP_SYN, 1000, undefined, frame++));
      tcp.segment(seg(clientIp(i), 40000, SERVER, 1883, TCP_ACK, 1001, data, frame++));
    };
    open(0);
    open(1);
    open(2);
    // Connection 0 is active again: 1 is now the idle one.
    tcp.segment(seg(clientIp(0), 40000, SERVER, 1883, TCP_ACK, 1101, data, frame++));
    open(3);
    expect(sink.closed).toEqual([[`${clientIp(1)}:40000`, 'evicted']]);
  });

  test('the byte budget evicts too: history and out-of-order bytes count', () => {
    const sink = new CountingSink();
    const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false, maxConnections: 1000, maxConnectionBytes: 64 * 1024 });
    let frame = 1;
    for (let i = 0; i < 100; i++) {
      tcp.segment(seg(clientIp(i), 40000, SERVER, 1883, TCP_SYN, 1000, undefined, frame++));
      // 1,000 bytes behind a hole of 10: held out of order.
      tcp.segment(seg(clientIp(i), 40000, SERVER, 1883, TCP_ACK, 1011, new Uint8Array(1000), frame++));
      expect(tcp.connectionBudget().bytes).toBeLessThanOrEqual(64 * 1024 + 1000);
    }
    expect(tcp.evictions).toBeGreaterThan(0);
    tcp.finish(frame, 1_700_000_001, 0);
    const ev = sink.events.filter((e) => e.event === 'evicted');
    expect(ev[0]!.message).toMatch(/out-of-order bytes they held became gaps/);
    // The evicted connections' held bytes were not silently dropped: their holes were reported as gaps.
    expect(sink.events.filter((e) => e.event === 'gap').length).toBeGreaterThanOrEqual(tcp.evictions);
  });

  test('evictions more than a second apart are separate bursts', () => {
    const sink = new CountingSink();
    const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false, maxConnections: 10 });
    for (let i = 0; i < 15; i++) tcp.segment(seg(clientIp(i), 40000, SERVER, 1883, TCP_SYN, 1000, undefined, 1 + i));
    // frame 5000 is 5 s later (seg() derives the time from the frame).
    for (let i = 15; i < 18; i++) tcp.segment(seg(clientIp(i), 40000, SERVER, 1883, TCP_SYN, 1000, undefined, 5000 + i));
    tcp.finish(6000, 1_700_000_006, 0);
    expect(sink.events.filter((e) => e.event === 'evicted').map((e) => e.count)).toEqual([5, 3]);
  });

  test('by default the budget holds a SYN flood to DEFAULT_MAX_CONNECTIONS', () => {
    const sink = new CountingSink();
    const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false });
    const n = DEFAULT_MAX_CONNECTIONS + 1000;
    for (let i = 0; i < n; i++) tcp.segment(seg(clientIp(i), 1024 + (i % 60000), SERVER, 1883, TCP_SYN, i, undefined, 1 + i));
    expect(tcp.stats().connections).toBe(DEFAULT_MAX_CONNECTIONS);
    expect(sink.closes.filter((e) => e.cause === 'evicted')).toHaveLength(1000);
  });
});
