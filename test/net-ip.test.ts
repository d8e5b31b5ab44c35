import { describe, expect, test } from 'vitest';
import { NetDecoder } from '../src/net/decoder.js';
import { formatIpv4, formatIpv6 } from '../src/net/ip-format.js';
import type { NetEvent, TcpSegment } from '../src/net/types.js';
import {
  ACK,
  LINK,
  PSH,
  TcpSession,
  ethernet,
  fragmentIpv6,
  parseIpv6,
  runPipeline,
  tcpFrame,
  toRecords,
  type TcpFrameSpec,
} from './builders/frames.js';

const enc = new TextEncoder();

function decodeOne(frame: Uint8Array, linkType: number, opts: { snaplen?: number } = {}): { seg: TcpSegment | null; events: NetEvent[] } {
  const events: NetEvent[] = [];
  const dec = new NetDecoder((e) => events.push(e));
  const seg = dec.decode(toRecords([frame], linkType, opts)[0]!);
  return { seg, events };
}

const base: TcpFrameSpec = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 1883, seq: 100, ack: 200, flags: ACK | PSH };

describe('IPv4 and TCP headers', () => {
  test('fields are decoded and the payload is a view into the frame', () => {
    const frame = ethernet(tcpFrame({ ...base, payload: 'hello' }));
    const { seg, events } = decodeOne(frame, LINK.ETHERNET);
    expect(events).toEqual([]);
    expect(seg).toMatchObject({
      ipVersion: 4,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      srcPort: 40000,
      dstPort: 1883,
      seq: 100,
      ack: 200,
      flags: ACK | PSH,
      payloadLength: 5,
      frame: 1,
    });
    expect(seg!.payload).toEqual(enc.encode('hello'));
    expect(seg!.payload.buffer).toBe(frame.buffer);
  });

  test('the IP and TCP header facts field export reads: TTL, total length, the 3 IPv4 flag bits, all 12 TCP flag bits', () => {
    const frame = tcpFrame({ ...base, payload: 'hello', ttl: 37, dontFragment: true, flags: ACK | PSH | 0x80 });
    frame[20 + 12]! |= 0x0f; // the 3 reserved bits and AE (NS), below the data offset
    const { seg } = decodeOne(frame, LINK.RAW);
    expect(seg).toMatchObject({ ipTtl: 37, ipLength: 45, ipFlags: 0x2, tcpFlags: 0xf98, flags: 0x98 });
    const v6 = decodeOne(tcpFrame({ ...base, src: '2001:db8::1', dst: '2001:db8::2', payload: 'x' }), LINK.RAW).seg;
    expect(v6).toMatchObject({ ipTtl: -1, ipLength: -1, ipFlags: -1, tcpFlags: ACK | PSH });
  });

  test('Ethernet padding after a small packet is not payload', () => {
    const frame = ethernet(tcpFrame({ ...base, payload: 'ab' }));
    expect(frame.length).toBe(60);
    const { seg } = decodeOne(frame, LINK.ETHERNET);
    expect(seg!.payload).toEqual(enc.encode('ab'));
    expect(seg!.payloadLength).toBe(2);

    const bare = ethernet(tcpFrame(base));
    const r = decodeOne(bare, LINK.ETHERNET);
    expect(r.seg!.payload.length).toBe(0);
    expect(r.seg!.payloadLength).toBe(0);
  });

  test('padding never reaches the stream', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883');
    const frames = [...s.handshake(), ...s.c2s('x'), ...s.c2s('yz'), s.ack('server'), ...s.close()];
    const { sink } = runPipeline(toRecords(frames.map((f) => ethernet(f)), LINK.ETHERNET));
    expect(sink.stream(0, 'c2s')).toEqual(enc.encode('xyz'));
  });

  test('IPv4 options (IHL > 5) and TCP options (data offset > 5) are skipped', () => {
    const ipOptions = [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]; // router alert, NOPs, EOL
    const tcpOptions = [0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2]; // MSS, NOP, NOP, timestamps
    const frame = tcpFrame({ ...base, ipOptions, tcpOptions, payload: 'options!' });
    expect(frame[0]! & 0x0f).toBe(7);
    const { seg, events } = decodeOne(frame, LINK.RAW);
    expect(events).toEqual([]);
    expect(seg!.payload).toEqual(enc.encode('options!'));
    expect(seg!.payloadLength).toBe(8);
  });

  test('a session with IP and TCP options reassembles', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', {
      ipOptions: [0x01, 0x01, 0x01, 0x01],
      tcpOptions: [0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2],
      mss: 10,
    });
    const msg = enc.encode('a message longer than one ten-byte segment');
    const frames = [...s.handshake(), ...s.c2s(msg), s.ack('server'), ...s.close()];
    const { sink } = runPipeline(toRecords(frames.map((f) => ethernet(f)), LINK.ETHERNET));
    expect(sink.stream(0, 'c2s')).toEqual(msg);
  });

  test('UDP and ICMP are skipped silently', () => {
    const udp = tcpFrame({ ...base, payload: 'x' });
    udp[9] = 17;
    const icmp = tcpFrame(base);
    icmp[9] = 1;
    for (const f of [udp, icmp]) {
      const { seg, events } = decodeOne(f, LINK.RAW);
      expect(seg).toBeNull();
      expect(events).toEqual([]);
    }
  });

  test('TCP data offset below 5 is malformed', () => {
    const f = tcpFrame({ ...base, payload: 'abc' });
    f[20 + 12] = 4 << 4;
    const { seg, events } = decodeOne(f, LINK.RAW);
    expect(seg).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['malformed-frame']);
    expect(events[0]!.message).toMatch(/data offset/);
  });

  test('a TCP header running beyond the packet is malformed', () => {
    const f = tcpFrame({ ...base, payload: 'abc' });
    f[20 + 12] = 15 << 4; // 60-byte header in a 23-byte segment
    const { seg, events } = decodeOne(f, LINK.RAW);
    expect(seg).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['malformed-frame']);
  });

  test('an IP packet too small for a TCP header is malformed', () => {
    const f = tcpFrame(base).subarray(0, 30).slice();
    f[2] = 0;
    f[3] = 30;
    const { seg, events } = decodeOne(f, LINK.RAW);
    expect(seg).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['malformed-frame']);
  });

  test('IHL below 5 is malformed', () => {
    const f = tcpFrame(base);
    f[0] = 0x44;
    const { seg, events } = decodeOne(f, LINK.RAW);
    expect(seg).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['malformed-frame']);
  });

  test('snaplen cut: the segment keeps payloadLength from the IP header and the captured bytes', () => {
    const payload = new Uint8Array(200).map((_, i) => i);
    const frame = ethernet(tcpFrame({ ...base, payload }));
    const { seg, events } = decodeOne(frame, LINK.ETHERNET, { snaplen: 96 });
    expect(events).toEqual([]);
    expect(seg!.payloadLength).toBe(200);
    expect(seg!.payload).toEqual(payload.subarray(0, 96 - 14 - 40));
  });

  test('snaplen cut inside the TCP options still yields a segment with no payload', () => {
    const frame = tcpFrame({ ...base, tcpOptions: new Array(20).fill(1), payload: 'abcdef' });
    const { seg, events } = decodeOne(frame, LINK.RAW, { snaplen: 20 + 16 });
    expect(events).toEqual([]);
    expect(seg!.payload.length).toBe(0);
    expect(seg!.payloadLength).toBe(6);
  });

  test('snaplen cut inside the first 14 TCP bytes is reported as truncated', () => {
    const { seg, events } = decodeOne(tcpFrame({ ...base, payload: 'x' }), LINK.RAW, { snaplen: 30 });
    expect(seg).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['truncated']);
  });

  test('an IPv4 total length beyond an uncut frame is malformed and not trusted', () => {
    const f = tcpFrame({ ...base, payload: 'abcd' });
    f[3] = f[3]! + 100;
    const { seg, events } = decodeOne(f, LINK.RAW);
    expect(events.map((e) => e.event)).toEqual(['malformed-frame']);
    expect(seg!.payloadLength).toBe(4);
    expect(seg!.payload).toEqual(enc.encode('abcd'));
  });

  test('IPv4 total length 0 (segmentation offload) uses the frame length', () => {
    const f = tcpFrame({ ...base, payload: 'offload' });
    f[2] = 0;
    f[3] = 0;
    const { seg, events } = decodeOne(f, LINK.RAW);
    expect(events).toEqual([]);
    expect(seg!.payload).toEqual(enc.encode('offload'));
  });
});

describe('IPv6', () => {
  const v6: TcpFrameSpec = { ...base, src: '2001:db8::1', dst: '2001:db8:0:0:1::2' };

  test('plain IPv6', () => {
    const { seg, events } = decodeOne(tcpFrame({ ...v6, payload: 'six' }), LINK.RAW);
    expect(events).toEqual([]);
    expect(seg).toMatchObject({ ipVersion: 6, srcIp: '2001:db8::1', dstIp: '2001:db8::1:0:0:2', payloadLength: 3 });
    expect(seg!.payload).toEqual(enc.encode('six'));
  });

  test.each([
    ['hop-by-hop', [0]],
    ['routing', [43]],
    ['destination options', [60]],
    ['AH', [51]],
    ['atomic fragment', [44]],
    ['a chain of all of them', [0, { type: 60, size: 24 }, 43, 44, 51, 60]],
  ])('extension headers: %s', (_name, exts) => {
    const frame = ethernet(tcpFrame({ ...v6, payload: 'behind extensions', ipv6Ext: exts }));
    const { seg, events } = decodeOne(frame, LINK.ETHERNET);
    expect(events).toEqual([]);
    expect(seg!.payload).toEqual(enc.encode('behind extensions'));
    expect(seg!.payloadLength).toBe(17);
  });

  test('ESP and no-next-header are not TCP', () => {
    for (const nh of [50, 59, 17]) {
      const f = tcpFrame({ ...v6, payload: 'x' });
      f[6] = nh;
      const { seg, events } = decodeOne(f, LINK.RAW);
      expect(seg).toBeNull();
      expect(events).toEqual([]);
    }
    const viaHop = tcpFrame({ ...v6, payload: 'x', ipv6Ext: [0] });
    viaHop[40] = 50;
    expect(decodeOne(viaHop, LINK.RAW).seg).toBeNull();
  });

  test('an extension header longer than the packet is malformed', () => {
    const f = tcpFrame({ ...v6, payload: 'x', ipv6Ext: [60] });
    f[41] = 200;
    const { seg, events } = decodeOne(f, LINK.RAW);
    expect(seg).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['malformed-frame']);
  });

  test('payload length comes from the header; padding is ignored', () => {
    const frame = ethernet(tcpFrame({ ...v6, payload: 'p' }));
    const padded = new Uint8Array(frame.length + 10).fill(0xee);
    padded.set(frame);
    const { seg } = decodeOne(padded, LINK.ETHERNET);
    expect(seg!.payload).toEqual(enc.encode('p'));
  });
});

describe('printable addresses', () => {
  test('IPv4 dotted quad', () => {
    expect(formatIpv4(0xc0000201)).toBe('192.0.2.1');
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIpv4(0)).toBe('0.0.0.0');
  });

  test.each([
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:FFFF', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
    ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:0:2:0:0:0', '1::2:0:0:0'],
  ])('RFC 5952: %s -> %s', (input, out) => {
    expect(formatIpv6(parseIpv6(input), 0)).toBe(out);
  });
});

test('a whole IPv6 session behind hop-by-hop and destination options headers, partly fragmented', () => {
  const s = new TcpSession('[fd00::1]:40000', '[fd00::2]:1883', { ipv6Ext: [0, 60], mss: 3000 });
  const big = new Uint8Array(2500).map((_, i) => i % 251);
  const frames = [...s.handshake(), ...s.c2s('hello'), ...s.c2s(big).flatMap((f) => fragmentIpv6(f, 1280)), s.ack('server'), ...s.close()];
  const { sink, netEvents } = runPipeline(toRecords(frames.map((f) => ethernet(f)), LINK.ETHERNET));
  expect(netEvents).toEqual([]);
  expect(sink.events).toEqual([]);
  const c2s = sink.stream(0, 'c2s');
  expect(c2s.subarray(0, 5)).toEqual(enc.encode('hello'));
  expect(c2s.subarray(5)).toEqual(big);
});
