/**
 * A real capture that starts inside large payloads (issue 18, defect 5): captures/real-midstream-json.pcap.gz, made by
 * scripts/make-captures.sh with mosquitto and MQTT.js clients streaming 100-200 KB JSON documents full of decimal
 * digits and binary payloads, tcpdump started while they flowed. real-midstream-json.clients.ndjson is what each
 * client logged it sent and received. What the pipeline decodes must be a subset of that, with no finding, and every
 * PUBLISH whose bytes the capture holds whole must be decoded.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readCapture } from '../src/capture/source.js';
import type { CaptureRecord } from '../src/capture/types.js';
import { buildPipeline, DEFAULT_PORTS } from '../src/cli/pipeline.js';
import type { PacketRecord, PacketSink, Violation } from '../src/mqtt/connection-decoder.js';
import { PublishPacket } from '../src/mqtt/packets.js';
import { closeViolations } from '../src/rules/close.js';
import { NetDecoder } from '../src/net/decoder.js';
import { TcpReassembler } from '../src/tcp/reassembler.js';
import { CollectingSink } from './builders/frames.js';

const DIR = join(import.meta.dirname, '..', 'captures');
const CAPTURE = join(DIR, 'real-midstream-json.pcap.gz');

interface Logged {
  client: string;
  port: number;
  dir: 'c2s' | 's2c';
  type: string;
  id: number | null;
  topic: string | null;
  len: number | null;
  sha256: string | null;
}

const logged: Logged[] = readFileSync(join(DIR, 'real-midstream-json.clients.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Logged);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const key = (port: number, dir: string, type: string, id: number | null, topic: string | null, digest: string | null): string =>
  `${port} ${dir} ${type} ${id ?? '-'} ${topic ?? '-'} ${digest ?? '-'}`;

async function records(): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = [];
  // Records are views of a reused read buffer: copied to be read twice.
  await readCapture(CAPTURE, { record: (r) => out.push({ ...r, data: r.data.slice() }), event() {} });
  return out;
}

describe('a capture that starts inside large JSON and binary payloads', () => {
  test('decodes only what the clients sent, finds nothing wrong, and misses no PUBLISH the capture holds whole', async () => {
    const recs = await records();

    const packets: PacketRecord[] = [];
    const violations: Violation[] = [];
    const events: string[] = [];
    let accounted = 0;
    const sink: PacketSink = {
      open() {},
      packet(rec) {
        packets.push({ ...rec, bytes: rec.bytes.slice() });
        accounted += rec.bytes.length;
        violations.push(...rec.violations);
      },
      event(ev) {
        events.push(ev.event);
        accounted += ev.event === 'gap' ? ev.bytes ?? 0 : ev.skipped ?? 0;
        violations.push(...(ev.violations ?? []));
      },
      close(_conn, end) { violations.push(...closeViolations(end)); },
    };
    const p = buildPipeline(sink, { ports: [...DEFAULT_PORTS], auto: false, tree: false, dialect: 'auto' });
    for (const r of recs) p.record(r);
    p.finish();

    // No CONNECT and no SYN in the capture: every connection started mid-stream.
    expect(packets.some((r) => r.decoded.typeName === 'CONNECT')).toBe(false);
    expect(violations).toEqual([]);

    // Every decoded packet is one a client logged (same connection, direction, type, id, topic, payload).
    const remaining = new Map<string, number>();
    for (const l of logged) {
      // A QoS 0 PUBLISH carries no packet id (older logs show MQTT.js' internal 0).
      const k = key(l.port, l.dir, l.type, l.type === 'publish' && l.id === 0 ? null : l.id, l.topic, l.sha256);
      remaining.set(k, (remaining.get(k) ?? 0) + 1);
    }
    const phantoms: string[] = [];
    for (const r of packets) {
      const d = r.decoded;
      const isPub = d instanceof PublishPacket;
      const id = 'packetId' in d && typeof d.packetId === 'number' ? d.packetId : null;
      const digest = isPub ? sha(r.bytes.subarray(d.payloadOffset, d.payloadOffset + d.payloadLength!)) : null;
      const k = key(r.conn.clientPort, r.dir, d.typeName.toLowerCase(), id, isPub ? d.topic ?? null : null, digest);
      const n = remaining.get(k) ?? 0;
      if (n === 0) phantoms.push(`frame ${r.frame}: ${k}`);
      else remaining.set(k, n - 1);
    }
    expect(phantoms).toEqual([]);

    // The bytes the capture holds, per connection and direction (gaps and the missed start left out).
    const tcp = new CollectingSink();
    const net = new NetDecoder(() => {});
    const reassembler = new TcpReassembler(tcp, { ports: new Set(DEFAULT_PORTS), auto: false });
    for (const r of recs) {
      const seg = net.decode(r);
      if (seg) reassembler.segment(seg);
    }
    reassembler.finish(recs.length, 0, 0);
    // A gap reads as zeros here: a PUBLISH that lost bytes to it cannot match its digest below.
    const held = new Map<string, Buffer>();
    for (const c of tcp.conns) {
      for (const dir of ['c2s', 's2c'] as const) held.set(`${c.clientPort} ${dir}`, Buffer.from(tcp.streamWithGaps(c.id, dir, 0)));
    }

    // Every logged PUBLISH whose topic and payload lie whole in those bytes was decoded.
    const decodedPublishes = new Set(packets.filter((r) => r.decoded instanceof PublishPacket).map((r) => {
      const d = r.decoded as PublishPacket;
      return `${r.conn.clientPort} ${r.dir} ${d.topic} ${sha(r.bytes.subarray(d.payloadOffset, d.payloadOffset + d.payloadLength!))}`;
    }));
    let whole = 0;
    const missed: string[] = [];
    for (const l of logged.filter((x) => x.type === 'publish')) {
      const stream = held.get(`${l.port} ${l.dir}`);
      if (!stream) continue;
      const name = Buffer.concat([Buffer.from([l.topic!.length >> 8, l.topic!.length & 0xff]), Buffer.from(l.topic!)]);
      let found = false;
      for (let at = stream.indexOf(name); at >= 0 && !found; at = stream.indexOf(name, at + 1)) {
        // The payload follows the topic after at most a packet id and a short property block.
        for (let start = at + name.length; start <= at + name.length + 16 && !found; start++) {
          if (start + l.len! <= stream.length && sha(stream.subarray(start, start + l.len!)) === l.sha256) found = true;
        }
      }
      if (!found) continue;
      whole++;
      if (!decodedPublishes.has(`${l.port} ${l.dir} ${l.topic} ${l.sha256}`)) missed.push(`${l.client} ${l.dir} ${l.topic} ${l.len} bytes`);
    }
    expect(missed).toEqual([]);
    // The capture holds most of the documents whole, and began inside some: the framers had to resynchronise.
    expect(whole).toBeGreaterThan(20);
    expect(events).toContain('resync');
    expect(packets.filter((r) => r.decoded instanceof PublishPacket).length).toBe(whole);
  });
});
