import { describe, expect, test } from 'vitest';
import { NetDecoder } from '../src/net/decoder.js';
import type { NetEvent } from '../src/net/types.js';
import {
  LINK,
  TcpSession,
  concat,
  ethernet,
  loop,
  nullLoop,
  raw,
  runPipeline,
  sll,
  sll2,
  toRecords,
} from './builders/frames.js';

const enc = new TextEncoder();

/** One scripted MQTT-ish session: both directions, several segments each, an orderly close. */
function session(ipv6: boolean): { frames: Uint8Array[]; c2s: Uint8Array; s2c: Uint8Array } {
  const s = ipv6
    ? new TcpSession('[2001:db8::10]:50123', '[2001:db8::1]:1883', { mss: 7 })
    : new TcpSession('192.0.2.10:50123', '192.0.2.1:1883', { mss: 7 });
  const c2s = enc.encode('CONNECT-ish bytes from the client, then a PUBLISH');
  const s2c = enc.encode('CONNACK then a SUBACK');
  const frames = [...s.handshake(), ...s.c2s(c2s), s.ack('server'), ...s.s2c(s2c), s.ack('client'), ...s.close()];
  return { frames, c2s, s2c };
}

interface Variant {
  name: string;
  linkType: number;
  wrap: (ip: Uint8Array) => Uint8Array;
  v4: boolean;
  v6: boolean;
}

const variants: Variant[] = [
  { name: 'Ethernet', linkType: LINK.ETHERNET, wrap: (ip) => ethernet(ip), v4: true, v6: true },
  { name: 'Ethernet 802.1Q', linkType: LINK.ETHERNET, wrap: (ip) => ethernet(ip, { vlan: [42] }), v4: true, v6: true },
  { name: 'Ethernet QinQ (802.1ad + 802.1Q)', linkType: LINK.ETHERNET, wrap: (ip) => ethernet(ip, { vlan: [100, 42], qinq: true }), v4: true, v6: true },
  { name: 'Ethernet 0x9100 + 3 tags', linkType: LINK.ETHERNET, wrap: (ip) => ethernet(ip, { vlan: [1, 2, 3], tpids: [0x9100, 0x88a8, 0x8100] }), v4: true, v6: true },
  { name: 'Linux cooked v1', linkType: LINK.SLL, wrap: (ip) => sll(ip), v4: true, v6: true },
  { name: 'Linux cooked v2', linkType: LINK.SLL2, wrap: (ip) => sll2(ip, 4), v4: true, v6: true },
  { name: 'NULL little-endian', linkType: LINK.NULL, wrap: (ip) => nullLoop(ip, { littleEndian: true }), v4: true, v6: true },
  { name: 'NULL big-endian', linkType: LINK.NULL, wrap: (ip) => nullLoop(ip, { littleEndian: false }), v4: true, v6: true },
  { name: 'NULL AF_INET6=24', linkType: LINK.NULL, wrap: (ip) => nullLoop(ip, { littleEndian: true, v6family: 24 }), v4: false, v6: true },
  { name: 'NULL AF_INET6=28', linkType: LINK.NULL, wrap: (ip) => nullLoop(ip, { littleEndian: false, v6family: 28 }), v4: false, v6: true },
  { name: 'LOOP', linkType: LINK.LOOP, wrap: (ip) => loop(ip), v4: true, v6: true },
  { name: 'RAW', linkType: LINK.RAW, wrap: raw, v4: true, v6: true },
  { name: 'IPv4 (228)', linkType: LINK.IPV4, wrap: raw, v4: true, v6: false },
  { name: 'IPv6 (229)', linkType: LINK.IPV6, wrap: raw, v4: false, v6: true },
];

describe('every link type delivers the same streams', () => {
  for (const ipv6 of [false, true]) {
    const { frames, c2s, s2c } = session(ipv6);
    for (const v of variants.filter((x) => (ipv6 ? x.v6 : x.v4))) {
      test(`${v.name} over IPv${ipv6 ? 6 : 4}`, () => {
        const { sink, netEvents } = runPipeline(toRecords(frames.map(v.wrap), v.linkType));
        expect(netEvents).toEqual([]);
        expect(sink.events).toEqual([]);
        expect(sink.conns).toHaveLength(1);
        expect(sink.conns[0]!.client).toBe(ipv6 ? '[2001:db8::10]:50123' : '192.0.2.10:50123');
        expect(sink.conns[0]!.server).toBe(ipv6 ? '[2001:db8::1]:1883' : '192.0.2.1:1883');
        expect(sink.stream(0, 'c2s')).toEqual(c2s);
        expect(sink.stream(0, 's2c')).toEqual(s2c);
        expect(sink.gaps).toEqual([]);
        expect(sink.log.at(-1)).toBe('close 0');
      });
    }
  }
});

test('the same session through every link type gives identical sink call logs', () => {
  const { frames } = session(false);
  const logs = variants
    .filter((v) => v.v4)
    .map((v) => JSON.stringify(runPipeline(toRecords(frames.map(v.wrap), v.linkType)).sink.log));
  expect(new Set(logs).size).toBe(1);
});

test('an unsupported link type is reported once per link type, not per frame', () => {
  const events: NetEvent[] = [];
  const dec = new NetDecoder((e) => events.push(e));
  const { frames } = session(false);
  const recs = [...toRecords(frames, 147), ...toRecords(frames, 105, { firstFrame: 100 }), ...toRecords(frames, 147, { firstFrame: 200 })];
  for (const r of recs) expect(dec.decode(r)).toBeNull();
  expect(events.map((e) => [e.event, e.frame])).toEqual([
    ['unsupported-link', 1],
    ['unsupported-link', 100],
  ]);
  expect(events[0]!.message).toContain('147');
});

test('non-IP ethertypes, NULL families and RAW versions are skipped silently', () => {
  const events: NetEvent[] = [];
  const dec = new NetDecoder((e) => events.push(e));
  const arp = ethernet(new Uint8Array(28));
  arp[12] = 0x08;
  arp[13] = 0x06;
  const ipx = concat([Uint8Array.of(23, 0, 0, 0), new Uint8Array(30)]);
  const rawJunk = Uint8Array.of(0x50, 1, 2, 3);
  const recs = [
    ...toRecords([arp], LINK.ETHERNET),
    ...toRecords([ipx], LINK.NULL),
    ...toRecords([rawJunk], LINK.RAW),
  ];
  for (const r of recs) expect(dec.decode(r)).toBeNull();
  expect(events).toEqual([]);
});

test('a frame cut inside the link header is reported as truncated', () => {
  const events: NetEvent[] = [];
  const dec = new NetDecoder((e) => events.push(e));
  const { frames } = session(false);
  const [rec] = toRecords([ethernet(frames[0]!)], LINK.ETHERNET, { snaplen: 10 });
  expect(dec.decode(rec!)).toBeNull();
  expect(events.map((e) => e.event)).toEqual(['truncated']);
});
