import { describe, expect, test } from 'vitest';
import { NetDecoder } from '../src/net/decoder.js';
import type { NetEvent, TcpSegment } from '../src/net/types.js';
import {
  LINK,
  TcpSession,
  ethernet,
  fragmentIpv4,
  fragmentIpv6,
  runPipeline,
  tcpFrame,
  toRecords,
  type TcpFrameSpec,
} from './builders/frames.js';
import type { CaptureRecord } from '../src/capture/types.js';

const payload = new Uint8Array(3000).map((_, i) => (i * 7 + 3) & 0xff);
const v4: TcpFrameSpec = { src: '10.1.1.1', dst: '10.1.1.2', sport: 41000, dport: 1883, seq: 7, ack: 9, payload, ipId: 0x4242 };
const v6: TcpFrameSpec = { ...v4, src: 'fd00::1', dst: 'fd00::2' };

function decodeAll(recs: CaptureRecord[], dec?: NetDecoder): { segs: Array<TcpSegment | null>; events: NetEvent[] } {
  const events: NetEvent[] = [];
  const d = dec ?? new NetDecoder((e) => events.push(e));
  return { segs: recs.map((r) => d.decode(r)), events };
}

describe('IPv4 fragments', () => {
  test('reassembled and returned on the frame that completes the datagram', () => {
    const frags = fragmentIpv4(tcpFrame(v4), 576);
    expect(frags.length).toBe(6);
    const { segs, events } = decodeAll(toRecords(frags.map((f) => ethernet(f)), LINK.ETHERNET));
    expect(events).toEqual([]);
    expect(segs.slice(0, -1).every((s) => s === null)).toBe(true);
    const seg = segs.at(-1)!;
    expect(seg).toMatchObject({ frame: 6, srcPort: 41000, dstPort: 1883, seq: 7, payloadLength: 3000 });
    expect(seg.payload).toEqual(payload);
  });

  test('out of order and duplicated fragments', () => {
    const frags = fragmentIpv4(tcpFrame(v4), 1000);
    const order = [frags[2]!, frags[0]!, frags[2]!, frags[3]!, frags[1]!];
    const { segs, events } = decodeAll(toRecords(order, LINK.RAW));
    expect(events).toEqual([]);
    expect(segs.map((s) => (s === null ? null : s.frame))).toEqual([null, null, null, null, 5]);
    expect(segs[4]!.payload).toEqual(payload);
  });

  test('interleaved datagrams with different ids are kept apart', () => {
    const a = fragmentIpv4(tcpFrame({ ...v4, ipId: 1 }), 800);
    const other = new Uint8Array(2000).fill(0x55);
    const b = fragmentIpv4(tcpFrame({ ...v4, ipId: 2, seq: 5000, payload: other }), 800);
    const order = [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, b[2]!, a[3]!];
    const { segs } = decodeAll(toRecords(order, LINK.RAW));
    const done = segs.filter((s): s is TcpSegment => s !== null);
    expect(done.map((s) => s.seq)).toEqual([5000, 7]);
    expect(done[0]!.payload).toEqual(other);
    expect(done[1]!.payload).toEqual(payload);
  });

  test('a fragmented session reassembles into the right stream', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', { mss: 4000 });
    const frames = [...s.handshake(), ...s.c2s(payload).flatMap((f) => fragmentIpv4(f, 1500)), s.ack('server'), ...s.close()];
    const { sink, netEvents } = runPipeline(toRecords(frames.map((f) => ethernet(f)), LINK.ETHERNET));
    expect(netEvents).toEqual([]);
    expect(sink.stream(0, 'c2s')).toEqual(payload);
  });

  test('an incomplete datagram times out after 30 s of capture time, reported once no other drop follows for 1 s', () => {
    const frags = fragmentIpv4(tcpFrame(v4), 1000);
    const other = tcpFrame({ ...v4, payload: 'x' });
    const recs = toRecords([frags[0]!, other, other, other], LINK.RAW, { stepNsec: 20e9 });
    const { segs, events } = decodeAll(recs);
    expect(segs[0]).toBeNull();
    // Dropped at frame 3 (40 s); frame 4 (60 s) ends the burst of one, which reads as a lone drop always did.
    expect(events.map((e) => [e.event, e.frame, e.count])).toEqual([['ip-fragment', 4, 1]]);
    expect(events[0]!.message).toMatch(/^IPv4 .* incomplete \(1 fragment\(s\) from frame 1\); dropped after 30 s$/);
  });

  test('an incomplete datagram at the end of the capture is reported by finish()', () => {
    const events: NetEvent[] = [];
    const dec = new NetDecoder((e) => events.push(e));
    const frags = fragmentIpv4(tcpFrame(v4), 1000);
    decodeAll(toRecords([frags[0]!, frags[2]!], LINK.RAW), dec);
    expect(events).toEqual([]);
    dec.finish(2);
    expect(events.map((e) => e.event)).toEqual(['ip-fragment']);
    expect(events[0]!.message).toMatch(/2 fragment/);
  });

  test('memory is bounded: too many pending datagrams evict the oldest, one event for the burst', () => {
    const events: NetEvent[] = [];
    const dec = new NetDecoder((e) => events.push(e), { fragments: { maxDatagrams: 4 } });
    const firsts = Array.from({ length: 6 }, (_, i) => fragmentIpv4(tcpFrame({ ...v4, ipId: 100 + i }), 1000)[0]!);
    decodeAll(toRecords(firsts, LINK.RAW), dec);
    // The burst is still going (the frames are 1 ms apart): nothing said yet.
    expect(events).toEqual([]);
    dec.finish(6);
    expect(events.map((e) => [e.event, e.frame, e.count])).toEqual([['ip-fragment', 6, 6]]);
    expect(events[0]!.message).toMatch(/^6 incomplete IP datagrams dropped from frame 5 to frame 6 \(2 as more than 4 datagrams were awaiting fragments, 4 at the end of the capture\); the first: IPv4 .*id 0x0064.* dropped: more than 4 datagrams/);
  });

  test('memory is bounded: the byte cap drops the oldest datagrams', () => {
    const events: NetEvent[] = [];
    const dec = new NetDecoder((e) => events.push(e), { fragments: { maxBytes: 2500 } });
    const firsts = Array.from({ length: 3 }, (_, i) => fragmentIpv4(tcpFrame({ ...v4, ipId: 100 + i }), 1000)[0]!);
    decodeAll(toRecords(firsts, LINK.RAW), dec);
    dec.finish(3);
    expect(events.map((e) => [e.event, e.count])).toEqual([['ip-fragment', 3]]);
    expect(events[0]!.message).toMatch(/\(1 as the fragment buffer \(2500 bytes\) was full, 2 at the end of the capture\)/);
  });

  test('a flood of first fragments is one event with the count, not one per datagram (issue 18)', () => {
    const events: NetEvent[] = [];
    const dec = new NetDecoder((e) => events.push(e));
    const n = 5000;
    const recs = toRecords(Array.from({ length: n }, (_, i) => fragmentIpv4(tcpFrame({ ...v4, ipId: i }), 1000)[0]!), LINK.RAW, { stepNsec: 10_000 });
    decodeAll(recs, dec);
    dec.finish(n);
    expect(events.map((e) => [e.event, e.frame, e.count])).toEqual([['ip-fragment', n, n]]);
    expect(events[0]!.message).toMatch(new RegExp(`^${n} incomplete IP datagrams dropped from frame 257 to frame ${n} \\(${n - 256} as more than 256 datagrams were awaiting fragments, 256 at the end of the capture\\); the first: .*from frame 1\\)`));
  });

  test('drops more than 1 s apart are separate bursts, each reported when it ends', () => {
    const events: NetEvent[] = [];
    const dec = new NetDecoder((e) => events.push(e), { fragments: { maxDatagrams: 2 } });
    const first = (id: number): Uint8Array => fragmentIpv4(tcpFrame({ ...v4, ipId: id }), 1000)[0]!;
    const whole = tcpFrame({ ...v4, payload: 'x' });
    // Frames 1-4 at 0-3 ms: two evictions (frames 3 and 4). Frame 5 at 2 s ends that burst; frames 6-7 evict again.
    const recs = [
      ...toRecords([first(1), first(2), first(3), first(4)], LINK.RAW),
      ...toRecords([whole, first(5), first(6)], LINK.RAW, { startSec: 1_700_000_002, firstFrame: 5 }),
    ];
    decodeAll(recs, dec);
    expect(events.map((e) => [e.frame, e.count])).toEqual([[5, 2]]);
    expect(events[0]!.message).toMatch(/^2 incomplete IP datagrams dropped from frame 3 to frame 4 /);
    dec.finish(7);
    expect(events.map((e) => [e.frame, e.count])).toEqual([[5, 2], [7, 4]]);
  });

  test('non-TCP fragments are not buffered', () => {
    const ip = tcpFrame(v4);
    ip[9] = 17;
    const events: NetEvent[] = [];
    const dec = new NetDecoder((e) => events.push(e));
    decodeAll(toRecords(fragmentIpv4(ip, 1000).slice(0, 1), LINK.RAW), dec);
    dec.finish(1);
    expect(events).toEqual([]);
  });

  test('a fragment cut by the snaplen leaves the reassembled segment short, never invented', () => {
    const frags = fragmentIpv4(tcpFrame(v4), 1000);
    const recs = [
      ...toRecords([frags[0]!], LINK.RAW),
      ...toRecords([frags[1]!], LINK.RAW, { snaplen: 500, firstFrame: 2 }),
      ...toRecords([frags[2]!, frags[3]!], LINK.RAW, { firstFrame: 3 }),
    ];
    const { segs, events } = decodeAll(recs);
    expect(events).toEqual([]);
    const seg = segs[3]!;
    expect(seg.payloadLength).toBe(3000);
    // Fragment 1 carries datagram bytes 976..1951 but only 480 were captured.
    const captured = 976 + 480 - 20;
    expect(seg.payload).toEqual(payload.subarray(0, captured));
  });
});

describe('IPv6 fragments', () => {
  test('reassembled, in any order', () => {
    const frags = fragmentIpv6(tcpFrame(v6), 1280);
    expect(frags.length).toBe(3);
    const { segs, events } = decodeAll(toRecords([frags[1]!, frags[2]!, frags[0]!].map((f) => ethernet(f)), LINK.ETHERNET));
    expect(events).toEqual([]);
    const seg = segs[2]!;
    expect(seg).toMatchObject({ ipVersion: 6, srcIp: 'fd00::1', dstIp: 'fd00::2', seq: 7, payloadLength: 3000 });
    expect(seg.payload).toEqual(payload);
  });

  test('extension headers inside the fragmentable part', () => {
    const frags = fragmentIpv6(tcpFrame({ ...v6, ipv6Ext: [60] }), 1280);
    const { segs } = decodeAll(toRecords(frags, LINK.RAW));
    expect(segs.at(-1)!.payload).toEqual(payload);
  });

  test('an incomplete IPv6 datagram is reported at the end', () => {
    const events: NetEvent[] = [];
    const dec = new NetDecoder((e) => events.push(e));
    decodeAll(toRecords(fragmentIpv6(tcpFrame(v6), 1280).slice(0, 2), LINK.RAW), dec);
    dec.finish(2);
    expect(events.map((e) => e.event)).toEqual(['ip-fragment']);
    expect(events[0]!.message).toMatch(/IPv6/);
  });
});
