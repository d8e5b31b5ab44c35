import { describe, expect, it } from 'vitest';
import { writePcap, writePcapng, writePcapngSimple, type FrameSpec } from '../builders/capture-writer.js';
import { jsonLines, runCli, tempFile } from '../builders/cli.js';
import { ethernet, LINK, loop, nullLoop, raw, sll, sll2, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';

/** One MQTT session as IP packets; every variant below wraps the same packets. */
function ipPackets(): Uint8Array[] {
  const s = new TcpSession('198.51.100.7:41000', '198.51.100.1:1883', { mss: 50 });
  return [
    ...s.handshake(),
    ...s.c2s(m.connect({ clientId: 'variant', keepAlive: 10 })),
    ...s.s2c(m.connack()),
    ...s.c2s(m.publish({ topic: 'v/t', qos: 1, packetId: 7, payload: 'p'.repeat(120) })),
    ...s.s2c(m.ack('PUBACK', { packetId: 7 })),
    ...s.close('client'),
  ];
}

const spec = (frames: Uint8Array[]): FrameSpec[] => frames.map((data, i) => ({ timeSec: 1_700_000_000 + i, timeNsec: 123_456_789, data }));

/** What must not depend on the file format or link type. */
function essence(stdout: string) {
  return jsonLines(stdout).map((o) => ({ kind: o.kind, frame: o.frame, type: o.type, dir: o.dir, src: o.src, fields: o.fields, event: o.event }));
}

describe('every file variant and link type gives the same packets', () => {
  const ip = ipPackets();
  const variants: Record<string, Uint8Array> = {
    'pcap usec LE ethernet': writePcap(spec(ip.map((p) => ethernet(p))), { linkType: LINK.ETHERNET }),
    'pcap nsec BE ethernet+vlan': writePcap(spec(ip.map((p) => ethernet(p, { vlan: [100, 200], qinq: true }))), { linkType: LINK.ETHERNET, nanosecond: true, bigEndian: true }),
    'pcap SLL': writePcap(spec(ip.map((p) => sll(p))), { linkType: LINK.SLL }),
    'pcap SLL2': writePcap(spec(ip.map((p) => sll2(p))), { linkType: LINK.SLL2 }),
    'pcap NULL LE': writePcap(spec(ip.map((p) => nullLoop(p, { littleEndian: true }))), { linkType: LINK.NULL }),
    'pcap LOOP': writePcap(spec(ip.map((p) => loop(p))), { linkType: LINK.LOOP }),
    'pcap RAW': writePcap(spec(ip.map((p) => raw(p))), { linkType: LINK.RAW }),
    'pcap IPV4': writePcap(spec(ip.map((p) => raw(p))), { linkType: LINK.IPV4 }),
    'pcapng LE': writePcapngSimple(spec(ip.map((p) => ethernet(p))), { linkType: LINK.ETHERNET }),
    'pcapng BE nsec': writePcapngSimple(spec(ip.map((p) => ethernet(p))), { linkType: LINK.ETHERNET, bigEndian: true, tsresol: 9 }),
    'pcapng two sections': writePcapng([
      { interfaces: [{ linkType: LINK.ETHERNET }], blocks: spec(ip.map((p) => ethernet(p))).slice(0, 5) },
      { bigEndian: true, interfaces: [{ linkType: LINK.SLL2 }], blocks: spec(ip.map((p) => sll2(p))).slice(5) },
    ]),
  };
  const reference = essence(runCli(['--json', tempFile('ref.pcap', variants['pcap usec LE ethernet']!)]).stdout);

  it('the reference decodes the whole session', () => {
    expect(reference.filter((o) => o.kind === 'packet').map((o) => o.type)).toEqual(['CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK']);
  });

  for (const [name, bytes] of Object.entries(variants)) {
    it(name, () => {
      const r = runCli(['--json', tempFile('v.bin', bytes)]);
      expect(r.status).toBe(0);
      expect(essence(r.stdout)).toEqual(reference);
    });
  }

  it('a truncated file keeps every packet before the cut and says where it was cut', () => {
    const whole = variants['pcap usec LE ethernet']!;
    const r = runCli(['--json', tempFile('cut.pcap', whole.subarray(0, whole.length - 30))]);
    expect(r.status).toBe(0);
    const out = jsonLines(r.stdout);
    expect(out.filter((o) => o.kind === 'packet').map((o) => o.type)).toEqual(['CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK']);
    const cut = out.find((o) => o.event === 'file-truncated');
    expect(cut?.message).toMatch(/offset \d+/);
  });
});
