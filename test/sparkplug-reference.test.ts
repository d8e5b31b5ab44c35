/**
 * Our Sparkplug B decoding against the reference on the real capture (captures/real-sparkplug.pcap, made by the
 * Eclipse Tahu JavaScript edge node): every payload the clients encoded (captures/real-sparkplug.expected.ndjson,
 * written by the clients, with the payload as passed to the encoder and the encoder's bytes) decodes to the same
 * metrics with us as with sparkplug-payload's decodePayload, and to the values the client passed; and the CLI's
 * --json carries those metrics, by name, for every PUBLISH the clients sent.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { decodeSparkplugPayload, metricValue } from '../src/dialects/sparkplug/payload.js';
import { dataType } from '../src/dialects/sparkplug/schema.js';
import { jsonLines, ROOT, runCli } from './builders/cli.js';
import { readExpectedPublishes, spReferenceDecode, type ExpectedMetric, type ExpectedPublish } from './builders/sparkplug.js';

type Passed = ExpectedMetric;
type Line = ExpectedPublish;

const lines: Line[] = readExpectedPublishes();
const encoded = lines.filter((l) => l.hex !== undefined);

/** A value as the client passed it and as we decoded it are the same value (float32 metrics come back rounded). */
function same(type: string, passed: unknown, ours: unknown): boolean {
  if (passed === null || passed === undefined) return ours === null || ours === undefined;
  if (type === 'Float') return typeof passed === 'number' && Math.fround(passed) === ours;
  if (typeof passed === 'number' || typeof passed === 'string') return String(passed) === String(ours);
  return JSON.stringify(passed) === JSON.stringify(ours);
}

/** sparkplug-payload returns 64-bit values as Long objects {low, high, unsigned}: as decimal text. */
function plain(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && 'low' in v && 'high' in v) {
    const l = v as { low: number; high: number; unsigned: boolean }; // a Long from protobufjs 6
    let x = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
    if (!l.unsigned && l.high < 0) x -= 1n << 64n;
    return x.toString();
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v;
}

describe('Sparkplug B decoding against the reference, on the real capture', () => {
  test('the capture has encoded payloads of every edge node message type', () => {
    expect(new Set(encoded.map((l) => l.message_type))).toEqual(new Set(['NDEATH', 'NBIRTH', 'DBIRTH', 'NDATA', 'DDATA', 'DDEATH', 'NCMD', 'DCMD']));
    expect(encoded.length).toBeGreaterThan(300);
  });

  test('every payload: the same metrics (names, aliases, types, values) as the client passed and as sparkplug-payload decodes', () => {
    let compared = 0;
    const referenceSigned64: string[] = [];
    for (const l of encoded) {
      const b = Uint8Array.from(Buffer.from(l.hex!, 'hex'));
      const ours = decodeSparkplugPayload(b, 0, b.length);
      expect(ours.error, l.topic).toBeUndefined();
      const passed = (l.payload as { metrics?: Passed[] }).metrics ?? [];
      const ref = spReferenceDecode(b) as { seq?: unknown; timestamp?: unknown; metrics: { name?: string; alias?: unknown; type: string; value: unknown }[] };
      expect(ours.metrics.length).toBe(passed.length);
      expect(ours.metrics.length).toBe(ref.metrics.length);
      expect(ours.seq === undefined ? undefined : String(ours.seq)).toBe(ref.seq === undefined || ref.seq === null ? undefined : String(plain(ref.seq)));
      for (let i = 0; i < passed.length; i++) {
        const m = ours.metrics[i]!;
        const p = passed[i]!;
        const r = ref.metrics[i]!;
        // A metric sent with is_null carries no value field: its value is null on every side.
        const value = m.raw ? metricValue(b, m.raw, m.datatype).value : null;
        if (!m.raw) expect(m.isNull).toBe(true);
        expect(m.name).toBe(p.name);
        expect(m.name).toBe(r.name);
        expect(m.alias === undefined ? undefined : Number(m.alias)).toBe(p.alias);
        expect(dataType(m.datatype)?.name.toLowerCase()).toBe(p.type.toLowerCase());
        expect(dataType(m.datatype)?.name).toBe(r.type);
        expect(same(dataType(m.datatype)!.name, p.value, value), `${l.topic} ${String(m.name)}: passed ${JSON.stringify(p.value)}, decoded ${JSON.stringify(value)}`).toBe(true);
        const rv = plain(r.value);
        if (dataType(m.datatype)?.name === 'Int64' && typeof value === 'number' && value < 0) {
          // sparkplug-payload 1.0.3 returns negative Int64 values unsigned (its sign conversion never runs): the
          // same 64 bits, read as unsigned. Checked as such, and counted.
          expect(BigInt(String(rv))).toBe(BigInt(value) + (1n << 64n));
          referenceSigned64.push(`${l.topic} ${String(m.name)}`);
        } else {
          expect(String(rv)).toBe(String(value));
        }
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(600);
    // The edge node's Node Info/Delta64 in both NBIRTHs: the reference's one known disagreement.
    expect(referenceSigned64.length).toBeGreaterThan(0);
  });

  test('the CLI names every metric of every PUBLISH the clients sent, in order, with the values they passed', () => {
    const r = runCli(['--json', join(ROOT, 'captures', 'real-sparkplug.pcap')]);
    expect(r.status).toBe(0);
    const published = jsonLines(r.stdout).filter((x) => x['kind'] === 'packet' && x['type'] === 'PUBLISH' && x['dir'] === 'c2s');
    const sent = lines.filter((l) => l.will !== true);
    expect(published.map((p) => (p['fields'] as Record<string, unknown>)['topic'])).toEqual(sent.map((l) => l.topic));
    for (let i = 0; i < sent.length; i++) {
      const sp = (published[i]!['fields'] as Record<string, unknown>)['sparkplug'] as Record<string, unknown>;
      expect(sp['kind']).toBe(sent[i]!.message_type);
      if (sent[i]!.message_type === 'STATE') {
        expect(sp['online']).toBe((sent[i]!.payload as { online: boolean }).online);
        continue;
      }
      const passed = (sent[i]!.payload as { metrics?: Passed[] }).metrics ?? [];
      const metrics = sp['metrics'] as Record<string, unknown>[];
      expect(metrics.map((m) => m['alias'] ?? null)).toEqual(passed.map((m) => m.alias ?? null));
      for (let k = 0; k < passed.length; k++) {
        const t = String(metrics[k]!['datatype']);
        expect(same(t, passed[k]!.value, metrics[k]!['value']), `${sent[i]!.topic} metric ${k}`).toBe(true);
        // Named: by the message itself or, for data sent by alias, by the birth.
        expect(typeof metrics[k]!['name']).toBe('string');
      }
    }
  });
});

describe('Sparkplug B in --summary, on the real capture', () => {
  test('edge nodes, devices and hosts as the clients lived them', () => {
    const r = runCli(['--summary', '--json', join(ROOT, 'captures', 'real-sparkplug.pcap')]);
    expect(r.status).toBe(0);
    const tables = new Map(jsonLines(r.stdout).filter((x) => x['kind'] === 'summary').map((x) => [x['table'], x['rows'] as Record<string, unknown>[]]));
    // Two NBIRTHs (the first and the rebirth), one NDEATH (the Will after SIGKILL), one Rebirth request, no seq gap
    // although seq wrapped past 255.
    expect(tables.get('sparkplug-edge-nodes')).toEqual([{ edgeNode: 'CorpusGroup/Edge1', births: 2, deaths: 1, data: 307, commands: 2, rebirthRequests: 1, seqGaps: 0, metrics: 12, devices: 2, bdSeq: 0, online: false }]);
    const sent = lines.filter((l) => l.client === 'corpus-sp-edge1' && (l.message_type === 'NDATA' || l.message_type === 'DDATA'));
    expect(sent.length).toBe(307);
    expect(tables.get('sparkplug-devices')).toEqual([
      { device: 'CorpusGroup/Edge1/Dev1', births: 2, deaths: 0, metrics: 5 },
      { device: 'CorpusGroup/Edge1/Dev2', births: 2, deaths: 1, metrics: 5 },
    ]);
    expect(tables.get('sparkplug-hosts')).toEqual([{ host: 'corpus-sp-host', online: false, births: 1, deaths: 1 }]);
  });
});

describe('Sparkplug B filter fields, on the real capture', () => {
  test.each([
    ['sparkplug.type == "NCMD"', 3], // the host's, and the broker's copies to the edge node and to the host
    ['sparkplug.seq == 255 && dir == "c2s"', 1], // seq wraps once in the capture
    ['sparkplug.type == "NBIRTH" && sparkplug.metric == "Node Control/Rebirth" && dir == "c2s"', 2],
    ['sparkplug.device == "Dev2" && sparkplug.type == "DDEATH"', 2],
    ['sparkplug.host == "corpus-sp-host" && dir == "c2s"', 2],
    ['sparkplug.metric.value == 24.25 && dir == "c2s"', 1], // the NDATA whose Node Info/Temperature (alias 5) is 24.25
    ['sparkplug.type == "NBIRTH" && sparkplug.metric.value == 0 && dir == "c2s"', 2], // bdSeq 0 in both births
  ])('%s: %i packets', (expr, n) => {
    const r = runCli(['--json', '-Y', expr, join(ROOT, 'captures', 'real-sparkplug.pcap')]);
    expect(r.status).toBe(0);
    expect(jsonLines(r.stdout).filter((x) => x['kind'] === 'packet')).toHaveLength(n);
  });
});
