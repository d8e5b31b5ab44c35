import { describe, expect, test } from 'vitest';
import { NetDecoder } from '../src/net/decoder.js';
import { TcpReassembler } from '../src/tcp/reassembler.js';
import type { TcpSegment } from '../src/net/types.js';
import type { Connection, Direction, StreamSink } from '../src/tcp/types.js';
import {
  ACK,
  CollectingSink,
  LINK,
  SYN,
  TcpSession,
  concat,
  ethernet,
  runPipeline,
  toRecords,
} from './builders/frames.js';

function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function run(frames: Uint8Array[], opts: Parameters<typeof runPipeline>[1] = {}, snaplen?: number) {
  return runPipeline(toRecords(frames.map((f) => ethernet(f)), LINK.ETHERNET, snaplen === undefined ? {} : { snaplen }), opts);
}

/** Feeds RAW frames without finishing, so tests can look at the state mid-capture. */
function feed(frames: Uint8Array[]): { sink: CollectingSink; tcp: TcpReassembler } {
  const sink = new CollectingSink();
  const net = new NetDecoder(() => {});
  const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false });
  for (const r of toRecords(frames, LINK.RAW)) {
    const seg = net.decode(r);
    if (seg) tcp.segment(seg);
  }
  return { sink, tcp };
}

function decodeRaw(frame: Uint8Array, frameNo: number): TcpSegment {
  return new NetDecoder(() => {}).decode(toRecords([frame], LINK.RAW, { firstFrame: frameNo })[0]!)!;
}

function newSession(mss = 1448, clientIsn?: number, serverIsn?: number): TcpSession {
  return new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', { mss, clientIsn, serverIsn });
}

describe('in-order delivery', () => {
  test('a 100 KB message over 68 segments arrives whole', () => {
    const msg = pattern(100_000);
    const s = newSession(1471);
    const hs = s.handshake();
    const data = s.c2s(msg);
    expect(data).toHaveLength(68);
    const { sink } = run([...hs, ...data, s.ack('server'), ...s.close()]);
    expect(sink.events).toEqual([]);
    expect(sink.stream(0, 'c2s')).toEqual(msg);
    expect(sink.chunks).toHaveLength(68);
  });

  test('20 small payloads in one segment are delivered as one chunk', () => {
    const s = newSession();
    const small = Array.from({ length: 20 }, (_, i) => Uint8Array.of(0xc0 | (i & 1), 0, i));
    const one = concat(small);
    const frames = [...s.handshake(), ...s.c2s(one), s.ack('server'), ...s.close()];
    const { sink } = run(frames);
    expect(sink.chunks.filter((c) => c.dir === 'c2s')).toHaveLength(1);
    expect(sink.chunks[0]!.bytes).toEqual(one);
    expect(sink.chunks[0]!.frame).toBe(4);
  });

  test('in-order payloads reach the sink as views of the frame, not copies', () => {
    const s = newSession(100);
    const frames = [...s.handshake(), ...s.c2s(pattern(500))];
    const recs = toRecords(frames, LINK.RAW);
    const views: Uint8Array[] = [];
    const sink: StreamSink = {
      open() {},
      data(_c: Connection, _d: Direction, data: Uint8Array) {
        views.push(data);
      },
      gap() {},
      close() {},
      event() {},
    };
    const net = new NetDecoder(() => {});
    const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false });
    for (const r of recs) {
      const seg = net.decode(r);
      if (seg) tcp.segment(seg);
    }
    expect(views).toHaveLength(5);
    views.forEach((v, i) => expect(v.buffer).toBe(recs[3 + i]!.data.buffer));
  });

  test('data on the SYN (TCP Fast Open) is delivered', () => {
    const s = newSession();
    const syn = s.raw('client', { seq: s.clientSeq, ack: 0, flags: SYN, payload: 'tfo-data' });
    s.clientSeq += 1 + 8;
    const synAck = s.raw('server', { seq: s.serverSeq, ack: s.clientSeq, flags: SYN | ACK });
    s.serverSeq += 1;
    const frames = [syn, synAck, ...s.c2s('+more'), s.ack('server'), ...s.close()];
    const { sink } = run(frames);
    expect(new TextDecoder().decode(sink.stream(0, 'c2s'))).toBe('tfo-data+more');
    expect(sink.events).toEqual([]);
  });

  test('sequence numbers wrap around 2^32', () => {
    const msg = pattern(5000, 7);
    const s = newSession(300, 0xffffffff - 1200, 0xfffffff0);
    const hs = s.handshake();
    const data = s.c2s(msg);
    const reply = s.s2c(pattern(700, 9));
    // Reorder across the wrap point.
    const shuffled = [data[1]!, data[0]!, data[4]!, data[3]!, data[2]!, ...data.slice(5)];
    const { sink } = run([...hs, ...shuffled, ...reply, s.ack('client'), ...s.close()]);
    expect(sink.events).toEqual([]);
    expect(sink.stream(0, 'c2s')).toEqual(msg);
    expect(sink.stream(0, 's2c')).toEqual(pattern(700, 9));
    expect(sink.closes).toHaveLength(1);
  });
});

describe('reordering, duplicates and overlaps', () => {
  test('reordering + a duplicate + an overlapping retransmission: the stream is exact, each byte delivered once', () => {
    const msg = pattern(60, 3);
    const s = newSession(10);
    const hs = s.handshake();
    const base = s.clientSeq;
    const seg = s.c2s(msg); // six 10-byte segments
    const overlap = s.raw('client', { seq: base + 30, payload: msg.subarray(30, 45) });
    const frames = [...hs, seg[0]!, seg[2]!, seg[1]!, seg[1]!, seg[4]!, overlap, seg[3]!, seg[5]!, s.ack('server'), ...s.close()];
    const { sink } = run(frames);
    expect(sink.events).toEqual([]);
    expect(sink.stream(0, 'c2s')).toEqual(msg);
    const delivered = sink.chunks.filter((c) => c.dir === 'c2s').reduce((n, c) => n + c.bytes.length, 0);
    expect(delivered).toBe(60);
    expect(sink.gaps).toEqual([]);
  });

  test('a retransmission of delivered bytes with different content: overlap-conflict, the first copy wins', () => {
    const s = newSession();
    const hs = s.handshake();
    const base = s.clientSeq;
    const first = s.c2s('hello world');
    const forged = s.raw('client', { seq: base, payload: 'HELLO world!' });
    const { sink } = run([...hs, ...first, forged, s.ack('server'), ...s.close()]);
    expect(new TextDecoder().decode(sink.stream(0, 'c2s'))).toBe('hello world!');
    const ev = sink.eventsOf('overlap-conflict');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ frame: 5, conn: 0, dir: 'c2s', bytes: 5 });
  });

  test('an overlap with buffered (out-of-order) bytes that differ: overlap-conflict, the first copy wins', () => {
    const s = newSession(10);
    const hs = s.handshake();
    const base = s.clientSeq;
    const seg = s.c2s('0123456789abcdefghij');
    const forged = s.raw('client', { seq: base + 12, payload: 'CDE' });
    const { sink } = run([...hs, seg[1]!, forged, seg[0]!, s.ack('server'), ...s.close()]);
    expect(new TextDecoder().decode(sink.stream(0, 'c2s'))).toBe('0123456789abcdefghij');
    const ev = sink.eventsOf('overlap-conflict');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ frame: 5, bytes: 3, dir: 'c2s' });
    expect(sink.eventsOf('gap')).toEqual([]);
  });

  test('a keep-alive probe (one filler byte just below the next sequence number) is not a conflict', () => {
    const s = newSession();
    const hs = s.handshake();
    const data = s.c2s('abc');
    const probe = s.raw('client', { seq: s.clientSeq - 1, payload: [0] });
    const { sink } = run([...hs, ...data, probe, s.ack('server')]);
    expect(sink.events).toEqual([]);
    expect(new TextDecoder().decode(sink.stream(0, 'c2s'))).toBe('abc');
  });
});

describe('gaps', () => {
  test('a lost segment becomes a gap of the right size and frame once the receiver ACKs past it; later bytes follow', () => {
    const msg = pattern(5 * 1448, 5);
    const s = newSession(1448);
    const hs = s.handshake();
    const data = s.c2s(msg);
    const frames = [...hs, data[0]!, data[2]!, data[3]!, s.ack('server'), data[4]!, ...s.close()];
    const { sink } = run(frames);
    expect(sink.gaps).toEqual([{ conn: 0, dir: 'c2s', bytes: 1448, frame: 5 }]);
    const gap = sink.eventsOf('gap');
    expect(gap).toEqual([
      { event: 'gap', frame: 5, conn: 0, dir: 'c2s', bytes: 1448, message: '1448 bytes missing in c2s before frame 5 (seq 1449..2897)' },
    ]);
    // The gap is reported when frame 7 (the ACK) proves the bytes were sent.
    expect(sink.log).toEqual(['open 0', 'data 0 c2s 1448', 'gap 0 c2s 1448', 'data 0 c2s 1448', 'data 0 c2s 1448', 'data 0 c2s 1448', 'close 0']);
    const expected = msg.slice();
    expected.fill(0, 1448, 2896);
    expect(sink.streamWithGaps(0, 'c2s')).toEqual(expected);
  });

  test('one-sided capture: a hole is given up once more than 64 segments wait behind it', () => {
    const msg = pattern(100 * 80, 11);
    const s = newSession(100);
    const hs = s.handshake();
    const data = s.c2s(msg);
    // SYN, SYN+ACK, first segment, then the second lost: no ACK of data is ever seen.
    const frames = [hs[0]!, hs[1]!, data[0]!, ...data.slice(2)];
    const { sink, tcp } = feed(frames.slice(0, 3 + 64));
    expect(sink.gaps).toEqual([]);
    tcp.segment(decodeRaw(frames[3 + 64]!, 3 + 64 + 1));
    expect(sink.gaps).toEqual([{ conn: 0, dir: 'c2s', bytes: 100, frame: 4 }]);
    expect(sink.stream(0, 'c2s')).toEqual(concat([msg.subarray(0, 100), msg.subarray(200, 100 * 67)]));
  });

  test('while the receiver ACKs data, a hole waits longer (4x) for its retransmission', () => {
    const msg = pattern(100 * 100, 11);
    const s = newSession(100);
    const hs = s.handshake();
    const data = s.c2s(msg);
    const ack = s.raw('server', { seq: s.serverSeq, ack: s.clientSeq - 100 * 99, flags: ACK });
    const retrans = data[1]!;
    const { sink } = feed([...hs, data[0]!, ack, ...data.slice(2), retrans]);
    expect(sink.gaps).toEqual([]);
    expect(sink.stream(0, 'c2s')).toEqual(msg);
  });

  test('a hole before the FIN becomes a gap when the FIN is acknowledged', () => {
    const s = newSession(100);
    const hs = s.handshake();
    const data = s.c2s(pattern(300));
    const finC = s.fin('client');
    const finS = s.fin('server');
    const { sink } = run([...hs, data[0]!, data[1]!, finC, finS, s.ack('client')]);
    expect(sink.gaps).toEqual([{ conn: 0, dir: 'c2s', bytes: 100, frame: 7 }]);
    expect(sink.eventsOf('gap')[0]!.message).toBe('100 bytes missing at the end of c2s (seq 201..301)');
    expect(sink.log.at(-1)).toBe('close 0');
    expect(sink.closes).toEqual([{ conn: 0, frame: 7 }]);
  });

  test('a RST flushes holes as gaps and closes', () => {
    const s = newSession(100);
    const hs = s.handshake();
    const data = s.c2s(pattern(300));
    const { sink } = run([...hs, data[0]!, data[2]!, s.rst('server')]);
    expect(sink.log).toEqual(['open 0', 'data 0 c2s 100', 'gap 0 c2s 100', 'data 0 c2s 100', 'close 0']);
    expect(sink.closes).toEqual([{ conn: 0, frame: 6 }]);
  });

  test('holes still open at the end of the capture become gaps in finish()', () => {
    const s = newSession(100);
    const hs = s.handshake();
    const data = s.c2s(pattern(400));
    const { sink } = run([...hs, data[0]!, data[2]!, data[3]!]);
    expect(sink.gaps).toEqual([{ conn: 0, dir: 'c2s', bytes: 100, frame: 5 }]);
    expect(sink.stream(0, 'c2s').length).toBe(300);
    expect(sink.closes).toEqual([{ conn: 0, frame: 6 }]);
  });

  test('bytes acknowledged but never captured at the end of what was seen are a gap at that acknowledgement', () => {
    const s = newSession(100);
    const hs = s.handshake();
    const data = s.c2s(pattern(200));
    const { sink } = run([...hs, data[0]!, s.ack('server')]);
    // Declared when the server's ACK shows the receiver has them (frame 5), not only when the capture ends.
    expect(sink.gaps).toEqual([{ conn: 0, dir: 'c2s', bytes: 100, frame: 5 }]);
    expect(sink.eventsOf('gap')[0]!.message).toBe('100 bytes missing in c2s before frame 5 (seq 101..201)');
  });

  test('an acknowledgement far beyond what was seen, with nothing after it, declares nothing until the end', () => {
    const s = newSession(100);
    const hs = s.handshake();
    const data = s.c2s(pattern(200));
    // After the first 100 bytes, the server acknowledges 100 KiB beyond all 200: more likely garbage than a loss, so
    // the second segment, still to come, must not be taken for late data.
    const farAck = s.raw('server', { flags: 0x10, ack: (s.seqOf('client') + 100 * 1024) >>> 0 });
    const { sink } = run([...hs, data[0]!, farAck, data[1]!]);
    expect(sink.stream(0, 'c2s')).toEqual(pattern(200));
    expect(sink.eventsOf('late-data')).toEqual([]);
    // What stays unexplained at the end of the capture is reported there, as before.
    expect(sink.gaps).toEqual([{ conn: 0, dir: 'c2s', bytes: 100 * 1024, frame: 6 }]);
  });

  test('snaplen 96: captured bytes delivered, each cut tail a truncated event and a gap of the right size', () => {
    const msg = pattern(600, 13);
    const s = newSession(200);
    const frames = [...s.handshake(), ...s.c2s(msg), s.ack('server'), ...s.close()];
    const { sink, netEvents } = run(frames, {}, 96);
    expect(netEvents).toEqual([]);
    const captured = 96 - 14 - 20 - 20; // 42 payload bytes per frame
    const tr = sink.eventsOf('truncated');
    expect(tr.map((e) => [e.frame, e.bytes, e.dir])).toEqual([
      [4, 200 - captured, 'c2s'],
      [5, 200 - captured, 'c2s'],
      [6, 200 - captured, 'c2s'],
    ]);
    expect(sink.gaps.map((g) => g.bytes)).toEqual([158, 158, 158]);
    expect(sink.eventsOf('gap')).toEqual([]);
    const expected = msg.slice();
    for (let i = 0; i < 3; i++) expected.fill(0, i * 200 + captured, (i + 1) * 200);
    expect(sink.streamWithGaps(0, 'c2s')).toEqual(expected);
    expect(sink.closes).toHaveLength(1);
  });

  test('a capture that starts mid-connection ignores bytes from before its start, without a huge gap', () => {
    const s = newSession(100, 77777);
    s.handshake();
    const data = s.c2s(pattern(500, 2));
    // The capture starts with the third segment; the second shows up late (reordered at capture start).
    const { sink } = run([data[2]!, data[1]!, data[3]!, data[4]!, s.ack('server')]);
    expect(sink.events).toEqual([]);
    expect(sink.gaps).toEqual([]);
    expect(sink.stream(0, 'c2s')).toEqual(pattern(500, 2).subarray(200));
    expect(sink.conns[0]!.sawSyn).toBe(false);
  });
});

describe('bounded memory', () => {
  test('exceeding the out-of-order cap: one buffer-overflow event, dropped segments become gaps, memory stays under the cap', () => {
    const cap = 4096;
    const s = newSession(1000);
    const hs = s.handshake();
    const msg = pattern(21_000, 17);
    const data = s.c2s(msg);
    const fin = s.fin('client');
    // One-sided capture (client frames only) with the first data segment lost.
    const frames = [hs[0]!, ...data.slice(1), fin];
    const recs = toRecords(frames, LINK.RAW);
    const sink = new CollectingSink();
    const net = new NetDecoder(() => {});
    const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false, maxBufferedBytesPerDirection: cap });
    let peak = 0;
    for (const r of recs) {
      const seg = net.decode(r);
      if (seg) tcp.segment(seg);
      peak = Math.max(peak, tcp.stats().bufferedBytes);
    }
    tcp.finish(recs.length, 0, 0);
    expect(peak).toBeLessThanOrEqual(cap);
    const ov = sink.eventsOf('buffer-overflow');
    expect(ov).toHaveLength(1);
    expect(ov[0]).toMatchObject({ frame: 6, conn: 0, dir: 'c2s', bytes: 1000 });
    // Hole 1 (the lost segment), the four buffered segments, then everything dropped until the FIN.
    expect(sink.gaps.map((g) => g.bytes)).toEqual([1000, 16_000]);
    expect(sink.stream(0, 'c2s')).toEqual(msg.subarray(1000, 5000));
    expect(tcp.stats()).toEqual({ connections: 0, bufferedBytes: 0 });
  });

  test('the cap on all connections together: segments behind holes are dropped once the total is reached, and reported', () => {
    const total = 3000;
    const sink = new CollectingSink();
    const net = new NetDecoder(() => {});
    const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false, maxBufferedBytesTotal: total });
    // Three connections, each missing its first data segment, interleaved: each could buffer 4 MiB on its own.
    const sessions = [0, 1, 2].map((i) => new TcpSession(`10.1.${i}.1:4000${i}`, '10.1.0.2:1883', { mss: 1000 }));
    const perConn = sessions.map((s, i) => {
      const hs = s.handshake();
      const data = s.c2s(pattern(4000, 20 + i));
      return [hs[0]!, ...data.slice(1)];
    });
    const frames: Uint8Array[] = [];
    for (let k = 0; k < perConn[0]!.length; k++) for (const f of perConn) frames.push(f[k]!);
    let peak = 0;
    for (const r of toRecords(frames, LINK.RAW)) {
      const seg = net.decode(r);
      if (seg) tcp.segment(seg);
      expect(tcp.bufferedTotalBytes).toBe(tcp.stats().bufferedBytes);
      peak = Math.max(peak, tcp.bufferedTotalBytes);
    }
    expect(peak).toBeLessThanOrEqual(total);
    const ov = sink.eventsOf('buffer-overflow');
    expect(ov.length).toBeGreaterThanOrEqual(1);
    expect(ov[0]!.message).toMatch(/out-of-order buffer of all connections full \(3000 bytes together\) while c2s waits for seq/);
    tcp.finish(frames.length, 0, 0);
    expect(tcp.bufferedTotalBytes).toBe(0);
    // Nothing vanished: every missing or dropped byte is a gap.
    for (const [i] of sessions.entries()) {
      const got = sink.stream(i, 'c2s').length;
      const gaps = sink.gaps.filter((g) => g.conn === i && g.dir === 'c2s').reduce((n, g) => n + g.bytes, 0);
      expect(got + gaps).toBe(4000);
    }
  });

  test('closed connections release their state', () => {
    const sink = new CollectingSink();
    const net = new NetDecoder(() => {});
    const tcp = new TcpReassembler(sink, { ports: new Set([1883]), auto: false });
    for (let i = 0; i < 50; i++) {
      const s = new TcpSession(`10.0.${i}.1:40000`, '10.0.0.2:1883');
      const frames = [...s.handshake(), ...s.c2s('x'), ...s.s2c('y'), ...s.close()];
      for (const r of toRecords(frames, LINK.RAW)) {
        const seg = net.decode(r);
        if (seg) tcp.segment(seg);
      }
    }
    expect(tcp.stats().connections).toBe(0);
    expect(sink.closes).toHaveLength(50);
  });
});


test('a segment far outside any window (2.5 GB behind the start of a mid-stream capture) is ignored, not a huge gap', () => {
  const s = newSession(100, 0x10000000);
  s.handshake();
  const data = s.c2s(pattern(300, 4));
  const stray = s.raw('client', { seq: 0x10000001 - 0xa0000000 + 2 ** 32, payload: 'far away' });
  const { sink } = run([data[0]!, stray, data[1]!, data[2]!]);
  expect(sink.gaps).toEqual([]);
  expect(sink.events).toEqual([]);
  expect(sink.stream(0, 'c2s')).toEqual(pattern(300, 4));
});

describe('late data for a hole already reported as a gap', () => {
  test('is reported once as late-data, not dropped in silence', async () => {
    const { TcpSession, toRecords, runPipeline, LINK } = await import('./builders/frames.js');
    const s = new TcpSession('10.1.0.2:40000', '10.1.0.1:1883', { mss: 10 });
    const hs = s.handshake();
    const data = s.c2s(new Uint8Array(50).fill(0x41));
    const ack = s.ack('server');
    // Segment 1 is lost; the server's ACK of everything makes the hole a gap; then segment 1 shows up late.
    const frames = [...hs, data[0]!, ...data.slice(2), ack, data[1]!];
    const out = runPipeline(toRecords(frames, LINK.RAW), { ports: new Set([1883]), auto: false });
    const late = out.sink.eventsOf('late-data');
    expect(out.sink.eventsOf('gap')).toHaveLength(1);
    expect(late).toHaveLength(1);
    expect(late[0]!.bytes).toBe(10);
    expect(late[0]!.message).toMatch(/arrived late in frame/);
  });
});
