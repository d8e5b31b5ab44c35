/** The ring of --threads 2 (src/cli/ring.ts): every message comes out as it went in, in order, across wraps and parts. */
import type { TraceRecord } from '../src/sessions/records.js';
import { describe, expect, it } from 'vitest';
import type { PacketRecord, Violation } from '../src/mqtt/connection-decoder.js';
import { decodePacket } from '../src/mqtt/decoder.js';
import { newRingBuffer, RING_BYTES, RingReader, RingWriter, type RingHandler, type RingPacket } from '../src/cli/ring.js';
import { unknownSegment, type Connection, type ConnectionEnd } from '../src/tcp/types.js';
import * as m from './builders/mqtt-bytes.js';

const conn: Connection = {
  id: 7, clientIp: '192.0.2.1', clientPort: 40000, serverIp: '192.0.2.2', serverPort: 1883, client: '192.0.2.1:40000', server: '192.0.2.2:1883',
  sawSyn: true, firstFrame: 1, startSec: 1_700_000_000, startNsec: 5, tls: false, tcpStream: 3,
};

function record(bytes: Uint8Array, extra: Partial<PacketRecord> = {}): PacketRecord {
  return {
    conn, dir: 'c2s', frame: 12, frames: [10, 11, 12], timeSec: 1_700_000_001, timeNsec: 999_999_999, bytes,
    decoded: decodePacket(bytes, { level: 5, dir: 'c2s', tree: false }), levelInferred: false, streamOffset: 2 ** 40 + 3, violations: [], ...extra,
  };
}

/** Collects what the reader hands out, as plain data. */
function collector(): { h: RingHandler; got: unknown[] } {
  const got: unknown[] = [];
  const h: RingHandler = {
    frameTime: (s, n) => got.push(['time', s, n]),
    open: (c) => got.push(['open', c]),
    close: (id, end) => got.push(['close', id, end]),
    event: (ev) => got.push(['event', ev]),
    packet: (p: RingPacket) => got.push(['packet', { ...p, bytes: Array.from(p.bytes.subarray(0, 8)), length: p.bytes.length }]),
    wsFrame: (c, d, note) => got.push(['wsFrame', c, d, { ...note, header: Array.from(note.header) }]),
    wsDrop: (c) => got.push(['wsDrop', c]),
    traced: (t) => got.push(['traced', t]),
    idle: () => {},
  };
  return { h, got };
}

describe('ring of --threads 2', () => {
  it('hands over WebSocket frame notes for the annotated hex, in order with the packets', () => {
    const sab = newRingBuffer();
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    const { h, got } = collector();
    w.wsFrames.add(7, 's2c', { frame: 41, header: Uint8Array.of(0x82, 0xfe, 0x01, 0x2c, 1, 2, 3, 4), payloadLength: 300, streamOffset: 2 ** 33 });
    w.wsFrames.drop(7);
    w.end();
    r.run(h);
    expect(got).toEqual([
      ['wsFrame', 7, 's2c', { frame: 41, header: [0x82, 0xfe, 0x01, 0x2c, 1, 2, 3, 4], payloadLength: 300, streamOffset: 2 ** 33 }],
      ['wsDrop', 7],
    ]);
  });

  it('hands over the records of the sessions stage', () => {
    const sab = newRingBuffer();
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    const { h, got } = collector();
    const rec: TraceRecord = { kind: 'session', clientId: 'c\u00e9', connections: [1, 4], reconnects: 1, takeovers: 0, redeliveries: 2, subscriptions: null };
    w.traced(rec);
    w.end();
    r.run(h);
    expect(got).toEqual([['traced', rec]]);
  });

  it('hands over opens, times, packets with findings, aliases and cuts, events and closes, in order', () => {
    const sab = newRingBuffer();
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    const { h, got } = collector();
    const pub = m.publish({ topic: '', qos: 1, packetId: 9, payload: 'x', level: 5, properties: [['topicAlias', 1]] });
    const rec = record(pub, { ipTtl: 63, ipLength: 1500, ipFlags: 2, tcpFlags: 0x118, tcpLength: 1448, tcpDeltaSec: 2 ** 33, tcpDeltaNsec: 999_999_999 });
    if (rec.decoded.type === 3) rec.decoded.resolvedTopic = 'über/température';
    const v: Violation = { id: 'MQTT-3.3.2-8', spec: '5.0', severity: 'error', message: 'a "quoted" message', offset: 2, length: 2 };
    rec.violations.push(v);
    const end: ConnectionEnd = { frame: 20, timeSec: 1_700_000_009, timeNsec: 1, cause: 'fin', by: 'c2s', finC2s: true, finS2c: true };
    // The TCP stage's live header facts stay on the main thread: each packet carries its own copy.
    w.open({ ...conn, segments: { c2s: unknownSegment(), s2c: unknownSegment() } });
    w.frameTime(1_700_000_000, 5);
    w.packet(rec);
    w.packet(record(pub.subarray(0, 5), { truncated: pub.length, levelInferred: true, dir: 's2c' }));
    w.event({ event: 'gap', frame: 13, conn: 7, dir: 's2c', message: 'gap', bytes: 10 });
    w.close(conn, end);
    w.end(false);
    expect(r.run(h)).toBe(false);
    expect(got[0]).toEqual(['open', conn]);
    expect(got[1]).toEqual(['time', 1_700_000_000, 5]);
    expect(got[2]).toEqual(['packet', {
      connId: 7, dir: 'c2s', level: 5, levelInferred: false, frame: 12, frames: [10, 11, 12], timeSec: 1_700_000_001, timeNsec: 999_999_999,
      streamOffset: 2 ** 40 + 3, truncated: undefined, bytes: Array.from(pub.subarray(0, 8)), length: pub.length, resolvedTopic: 'über/température', violations: [v],
      ipTtl: 63, ipLength: 1500, ipFlags: 2, tcpFlags: 0x118, tcpLength: 1448, tcpDeltaSec: 2 ** 33, tcpDeltaNsec: 999_999_999,
    }]);
    // A record made without them (by hand): unknown, as -1.
    expect(got[3]).toMatchObject(['packet', { dir: 's2c', levelInferred: true, truncated: pub.length, length: 5, resolvedTopic: undefined, violations: [], ipTtl: -1, tcpFlags: -1, tcpLength: -1 }]);
    expect(got[4]).toEqual(['event', { event: 'gap', frame: 13, conn: 7, dir: 's2c', message: 'gap', bytes: 10 }]);
    expect(got[5]).toEqual(['close', 7, end]);
    expect(got).toHaveLength(6);
  });

  it('sends a packet larger than one message in parts, and wraps around the ring again and again', () => {
    const sab = newRingBuffer();
    const w = new RingWriter(sab);
    const r = new RingReader(sab);
    const sizes: number[] = [];
    let bad = 0;
    const h: RingHandler = {
      frameTime: () => {}, open: () => {}, close: () => {}, event: () => {}, idle: () => {}, wsFrame: () => {}, wsDrop: () => {}, traced: () => {},
      packet: (p) => {
        sizes.push(p.bytes.length);
        // Every byte of the payload is its offset's low byte: a piece put back in the wrong place shows.
        const at = p.bytes.length - 3 * 1024 * 1024;
        if (at > 0) for (let i = 0; i < 3 * 1024 * 1024; i += 4099) if (p.bytes[at + i] !== (i & 0xff)) bad++;
      },
    };
    const big = m.publish({ topic: 't', payload: Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => i & 0xff) });
    const small = m.publish({ topic: 'a/b', payload: 'y'.repeat(700) });
    let written = 0;
    const want: number[] = [];
    // More than three times the ring, the reader draining after every second packet (this test is one thread: the
    // writer must never find the ring full): the write position wraps several times.
    for (let round = 0; written < 3.5 * RING_BYTES; round++) {
      const rec = record(round % 7 === 0 ? big : small);
      w.packet(rec);
      want.push(rec.bytes.length);
      written += rec.bytes.length;
      if (round % 2 === 0) {
        w.publish();
        r.drain(h);
      }
    }
    w.end();
    expect(r.run(h)).toBe(true);
    expect(sizes).toEqual(want);
    expect(bad).toBe(0);
  });

  it('drops what is written after the reader left, instead of waiting for it', () => {
    const sab = newRingBuffer();
    const w = new RingWriter(sab);
    new RingReader(sab).leave();
    expect(w.consumerGone).toBe(true);
    const big = m.publish({ topic: 't', payload: new Uint8Array(2 * 1024 * 1024) });
    for (let i = 0; i < 20; i++) w.packet(record(big));
    w.end();
  });
});
