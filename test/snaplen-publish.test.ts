/**
 * A PUBLISH cut by the capture's snaplen (issue 12) is decoded as far as its bytes go (topic, packet id, properties)
 * and marked truncated; no finding comes from the part that was not captured.
 */
import { describe, expect, test } from 'vitest';
import { writePcap } from './builders/capture-writer.js';
import { jsonLines, runCli, tempFile } from './builders/cli.js';
import { LINK, TcpSession } from './builders/frames.js';
import { ack, connack, connect, pingreq, pingresp, publish } from './builders/mqtt-bytes.js';
import { runFrames } from './builders/run-frames.js';
import { ONENET_CONNECT, ONENET_DP } from './builders/synthetic-captures.js';

/** IPv4 + TCP headers of the builder's frames: the snaplen counts from the IP header (raw IP link). */
const HEADERS = 40;

function session(level: 4 | 5, cutAfter: number) {
  const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
  const pub = publish({ level, topic: 'sensors/room-1/temperature', qos: 1, packetId: 7, payload: 'x'.repeat(900), ...(level === 5 ? { properties: [['contentType', 'text/plain'], ['userProperty', ['k', 'v']]] } : {}) });
  const frames = [...s.handshake(), ...s.c2s(connect({ level, clientId: 'dev' })), ...s.s2c(connack({ level })), ...s.c2s(pub), ...s.s2c(ack('PUBACK', { level, packetId: 7 })), ...s.close()];
  return { frames, snaplen: HEADERS + cutAfter, pubLength: pub.length };
}

describe('a PUBLISH cut by the snaplen', () => {
  for (const level of [4, 5] as const) {
    test(`${level === 5 ? '5.0' : '3.1.1'}: decoded as far as its bytes go, marked truncated, no finding from the missing part`, () => {
      // 3 fixed-header bytes (the Remaining Length takes 2), the topic (2 + 26), the packet id (2), 5.0 properties,
      // then 20 bytes of payload.
      const props = level === 5 ? 1 + 13 + 7 : 0;
      const kept = 3 + 28 + 2 + props + 20;
      const { frames, snaplen, pubLength } = session(level, kept);
      const r = runFrames(frames, { records: { snaplen } });
      const pub = r.packets.find((p) => p.decoded.type === 3)!;
      expect(pub, 'the PUBLISH reaches the decoder').toBeDefined();
      expect(pub.truncated).toBe(pubLength);
      expect(pub.bytes.length).toBe(kept);
      const d = pub.decoded as unknown as { topic: string; packetId: number; payloadLength: number; properties?: { contentType?: string } };
      expect(d.topic).toBe('sensors/room-1/temperature');
      expect(d.packetId).toBe(7);
      expect(d.payloadLength).toBe(900);
      if (level === 5) expect(d.properties?.contentType).toBe('text/plain');
      expect(pub.violations).toEqual([]);
      // The PUBACK answers it: the flow is complete, nothing is owed at the close.
      expect(r.violations).toEqual([]);
      expect(r.events.map((e) => e.event)).toEqual(['truncated']);
    });
  }

  test('NDJSON shows what was decoded, the declared length, what was captured and the marker', () => {
    const kept = 3 + 28 + 2 + 20;
    const { frames, snaplen, pubLength } = session(4, kept);
    const file = writePcap(frames.map((f, i) => ({ timeSec: 1_700_000_000, timeNsec: i * 1000, data: f.length > snaplen ? f.slice(0, snaplen) : f, wireLength: f.length })), { linkType: LINK.RAW, snaplen });
    const out = jsonLines(runCli(['--json', tempFile('snaplen.pcap', file)]).stdout);
    const pub = out.find((o) => o.type === 'PUBLISH')!;
    expect(pub).toMatchObject({ length: pubLength, truncated: true, capturedLength: kept, violations: [] });
    expect(pub.fields).toMatchObject({ topic: 'sensors/room-1/temperature', packetId: 7, payloadLength: 900, payload: { encoding: 'utf8', text: 'x'.repeat(20), truncated: true } });
    // The summary counts the packet with the length it had on the wire, as the record's `length` does.
    const rows = jsonLines(runCli(['--json', '--summary', tempFile('snaplen.pcap', file)]).stdout).find((o) => o.kind === 'summary' && o.table === 'connections')!.rows as { bytes: number }[];
    expect(rows[0]!.bytes).toBe(out.filter((o) => o.kind === 'packet').reduce((n, o) => n + (o.length as number), 0));
    const text = runCli([tempFile('snaplen.pcap', file)]).stdout;
    expect(text).toMatch(/PUBLISH .*topic="sensors\/room-1\/temperature".*\(cut by the snaplen: 53 of \d+ bytes captured\)/);
  });

  test('a OneNET data point upload cut short gets no dialect finding (its JSON is not all there)', () => {
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:6002');
    const pub = ONENET_DP;
    const frames = [...s.handshake(), ...s.c2s(ONENET_CONNECT), ...s.s2c(connack({})), ...s.c2s(pub), ...s.s2c(ack('PUBACK', { packetId: 10 })), ...s.close()];
    const whole = runFrames(frames).packets.find((p) => p.decoded.type === 3)!;
    expect(whole.violations).toEqual([]);
    const r = runFrames(frames, { records: { snaplen: HEADERS + 2 + 5 + 2 + 12 } });
    const cut = r.packets.find((p) => p.decoded.type === 3)!;
    expect(cut.truncated).toBe(pub.length);
    expect(r.violations).toEqual([]);
  });

  test('a PUBLISH over several segments, each cut: decoded from its first, its later bytes skipped, framing kept', () => {
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883', { mss: 200 });
    const pub = publish({ topic: 'sensors/room-1/temperature', qos: 1, packetId: 7, payload: 'x'.repeat(900) });
    const frames = [...s.handshake(), ...s.c2s(connect({ clientId: 'dev' })), ...s.s2c(connack({})), ...s.c2s(pub), ...s.s2c(ack('PUBACK', { packetId: 7 })),
      ...s.c2s(pingreq()), ...s.s2c(pingresp()), ...s.close()];
    const r = runFrames(frames, { records: { snaplen: HEADERS + 60 } });
    const cut = r.packets.find((p) => p.decoded.type === 3)!;
    expect(cut.truncated).toBe(pub.length);
    expect(cut.bytes.length).toBe(60);
    expect(r.packets.map((p) => p.decoded.typeName)).toEqual(['CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PINGREQ', 'PINGRESP']);
    expect(r.violations).toEqual([]);
    expect(r.events.filter((e) => e.event === 'damaged').map((e) => e.message)).toEqual([expect.stringContaining('cut by the snaplen')]);
  });

  test('a cut inside the fixed header is still a gap: nothing to decode', () => {
    const { frames, snaplen } = session(4, 1);
    const r = runFrames(frames, { records: { snaplen } });
    expect(r.packets.some((p) => p.decoded.type === 3)).toBe(false);
  });
});
