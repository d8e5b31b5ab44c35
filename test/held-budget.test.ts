/**
 * The budget on bytes held for packets in progress (issue 18, defect 3): every byte counts, a packet's first segment
 * and the TCP stage's out-of-order bytes included. Asserted on the count the code keeps, not on process memory.
 */
import { describe, expect, test } from 'vitest';
import { ConnectionDecoder, type PacketRecord, type PacketSink } from '../src/mqtt/connection-decoder.js';
import { DEFAULT_PENDING_BUDGET_BYTES } from '../src/mqtt/framer.js';
import { TCP_ACK, TCP_SYN, type TcpSegment } from '../src/net/types.js';
import { TcpReassembler } from '../src/tcp/reassembler.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../src/tcp/types.js';
import { bytes, vbi } from './builders/mqtt-bytes.js';

class Events implements PacketSink {
  kinds = new Map<string, number>();
  packets = 0;
  open(_c: Connection): void {}
  packet(_r: PacketRecord): void { this.packets++; }
  event(ev: StreamEvent): void { this.kinds.set(ev.event, (this.kinds.get(ev.event) ?? 0) + 1); }
  close(_c: Connection, _e: ConnectionEnd): void {}
}

function seg(i: number, flags: number, seq: number, payload: Uint8Array, frame: number): TcpSegment {
  return {
    frame, timeSec: 1_700_000_000, timeNsec: 0, ipVersion: 4,
    srcIp: `10.0.${(i >> 8) & 255}.${i & 255}`, dstIp: '192.168.0.1', srcPort: 40000, dstPort: 1883,
    seq, ack: 0, flags, payload, payloadLength: payload.length,
  };
}

/** The first `n` bytes of a PUBLISH (QoS 0, topic "big") whose Remaining Length says `remaining`. */
function publishStart(remaining: number, n: number): Uint8Array {
  const out = new Uint8Array(n).fill(0x42);
  out.set(bytes([0x30], vbi(remaining), [0, 3, 0x62, 0x69, 0x67]));
  return out;
}

describe('bytes held for packets in progress', () => {
  test('10,000 connections each holding 60 KB of an unfinished 1 MB PUBLISH: oversize events, the count stays within the budget', () => {
    const sink = new Events();
    const mqtt = new ConnectionDecoder(sink, { tree: false });
    const tcp = new TcpReassembler(mqtt, { ports: new Set([1883]), auto: false, heldBytes: mqtt.budget });
    const chunk = publishStart(1_000_000, 60_000);
    let frame = 1;
    let most = 0;
    for (let i = 0; i < 10_000; i++) {
      tcp.segment(seg(i, TCP_SYN, 1000, new Uint8Array(0), frame++));
      tcp.segment(seg(i, TCP_ACK, 1001, chunk, frame++));
      if (mqtt.budget.held > most) most = mqtt.budget.held;
    }
    expect(mqtt.budget.limit).toBe(DEFAULT_PENDING_BUDGET_BYTES);
    expect(most).toBeLessThanOrEqual(DEFAULT_PENDING_BUDGET_BYTES);
    // 128 MiB hold 2,236 of the 60,000-byte starts; every later one is refused and reported.
    expect(sink.kinds.get('oversize')).toBe(10_000 - Math.floor(DEFAULT_PENDING_BUDGET_BYTES / 60_000));
    tcp.finish(frame, 1_700_000_001, 0);
    expect(mqtt.budget.held).toBe(0);
    // Nothing vanishes: the held packets end as incomplete, the refused ones as skipped packets cut short.
    expect(sink.kinds.get('incomplete')).toBe(10_000);
  });

  test('out-of-order bytes count in the same budget: past it they are refused with a buffer-overflow event', () => {
    const sink = new Events();
    const mqtt = new ConnectionDecoder(sink, { tree: false, pendingBudgetBytes: 1 << 20 });
    const tcp = new TcpReassembler(mqtt, { ports: new Set([1883]), auto: false, heldBytes: mqtt.budget });
    const chunk = new Uint8Array(60_000);
    let frame = 1;
    let most = 0;
    for (let i = 0; i < 100; i++) {
      tcp.segment(seg(i, TCP_SYN, 1000, new Uint8Array(0), frame++));
      // A hole of 1,000 bytes before it: the segment waits out of order.
      tcp.segment(seg(i, TCP_ACK, 2001, chunk, frame++));
      most = Math.max(most, mqtt.budget.held, tcp.bufferedTotalBytes);
    }
    expect(most).toBeLessThanOrEqual(1 << 20);
    expect(sink.kinds.get('buffer-overflow')).toBe(100 - Math.floor((1 << 20) / 60_000));
    tcp.finish(frame, 1_700_000_001, 0);
    expect(mqtt.budget.held).toBe(0);
    expect(tcp.bufferedTotalBytes).toBe(0);
  });
});
