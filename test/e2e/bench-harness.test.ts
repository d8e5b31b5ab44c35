/**
 * The benchmark harness (bench/run.mjs, bench/generate.mjs) works end to end: `--quick` writes a results file of the
 * documented shape, and the generated capture is valid traffic with the intended mix. This proves the harness, not
 * the speed (timings on a 2 MB capture mean little).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, ROOT, runCli } from '../builders/cli.js';

interface ModeResult {
  runs: number;
  wallMedian: number;
  cpu: number | null;
  peakRssMB: number | null;
  mbPerSec: number;
  packetsPerSec: number;
  ratioToTsharkFields: number | null;
}

interface Results {
  machine: { cpus: number; model: string; node: string; tshark: string | null };
  size: string;
  captureBytes: number;
  capture: string;
  mqttPackets: number;
  tsharkMqttPackets: number | null;
  findings: Record<string, number>;
  modes: Record<string, ModeResult>;
  targets: Record<string, { target: number; actual: number | null; met: boolean | null }>;
  notes: string[];
}

interface Meta {
  packets: number;
  bytes: number;
  byType: Record<string, number>;
  byVersion: Record<string, number>;
  byQos: Record<string, number>;
  largePayloads: number;
  splitPackets: number;
  multiPacketSegments: number;
}

const hasTshark = spawnSync('tshark', ['--version']).status === 0;

let results: Results;
let stderr = '';

beforeAll(() => {
  const out = join(mkdtempSync(join(tmpdir(), 'mqtt-dissect-bench-')), 'results.json');
  const r = spawnSync(process.execPath, ['bench/run.mjs', '--quick', '--size', '2MB', '--out', out], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  stderr = r.stderr;
  expect(r.status, `bench/run.mjs failed:\n${r.stderr}`).toBe(0);
  results = JSON.parse(readFileSync(out, 'utf8')) as Results;
}, 150_000);

describe('bench/run.mjs --quick', () => {
  it('writes results with the documented shape and positive numbers', () => {
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(results.size).toBe('2MB');
    expect(results.captureBytes).toBeGreaterThan(1_000_000);
    expect(results.mqttPackets).toBeGreaterThan(1000);
    const expected = ['json', 'text', 'summary', 'hex', 'json-pipe', 'json-2shards', 'summary-2shards', ...(hasTshark ? ['tshark-fields'] : [])];
    expect(Object.keys(results.modes).sort()).toEqual(expected.sort());
    for (const [name, m] of Object.entries(results.modes)) {
      expect(m.runs, name).toBe(1);
      expect(m.wallMedian, name).toBeGreaterThan(0);
      expect(m.mbPerSec, name).toBeGreaterThan(0);
      expect(m.packetsPerSec, name).toBeGreaterThan(0);
      if (m.cpu !== null) expect(m.cpu, name).toBeGreaterThan(0);
      if (m.peakRssMB !== null) expect(m.peakRssMB, name).toBeGreaterThan(0);
      if (hasTshark) expect(m.ratioToTsharkFields, name).toBeGreaterThan(0);
    }
    // --quick never runs tshark's JSON dump (minutes on large captures).
    expect(results.modes['tshark-json']).toBeUndefined();
    expect(Object.keys(results.targets).sort()).toEqual(['jsonVsTsharkFields', 'peakRssBelowMB', 'summaryVsTsharkFields']);
  });

  it('our decoder, tshark and the generator agree on the number of MQTT packets', () => {
    const meta = JSON.parse(readFileSync(join(ROOT, `${results.capture}.meta.json`), 'utf8')) as Meta;
    expect(results.mqttPackets).toBe(meta.packets);
    if (hasTshark) expect(results.tsharkMqttPackets).toBe(meta.packets);
    expect(results.notes, stderr).toEqual([]);
  });

  it('the generated capture decodes with no error findings and the intended packet mix', () => {
    const capture = join(ROOT, results.capture);
    expect(existsSync(capture)).toBe(true);
    const meta = JSON.parse(readFileSync(`${capture}.meta.json`, 'utf8')) as Meta;
    const r = runCli(['--json', capture]);
    expect(r.status).toBe(0);
    const lines = jsonLines(r.stdout);
    const packets = lines.filter((o) => o.kind === 'packet');
    const errors = lines.flatMap((o) => ((o.violations ?? []) as Array<{ severity: string; id: string; message: string }>)
      .filter((v) => v.severity === 'error')
      .map((v) => `frame ${String(o.frame)}: ${v.id} ${v.message}`));
    expect(errors.slice(0, 5)).toEqual([]);
    expect(lines.filter((o) => o.kind === 'event' && /gap|malformed|error/i.test(String(o.event)))).toEqual([]);

    const byType: Record<string, number> = {};
    const byVersion: Record<string, number> = {};
    const byQos: Record<string, number> = {};
    for (const p of packets) {
      const type = String(p.type);
      byType[type] = (byType[type] ?? 0) + 1;
      byVersion[String(p.version)] = (byVersion[String(p.version)] ?? 0) + 1;
      if (type === 'PUBLISH') {
        const q = String((p.fields as { qos: number }).qos);
        byQos[q] = (byQos[q] ?? 0) + 1;
      }
    }
    // Every packet type but AUTH, both versions, all three QoS levels: exactly what the generator wrote.
    expect(byType).toEqual(meta.byType);
    for (const t of ['CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK',
      'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT']) expect(byType[t], t).toBeGreaterThan(0);
    expect(byVersion).toEqual(meta.byVersion);
    expect(Object.keys(byVersion).sort()).toEqual(['3.1.1', '5.0']);
    expect(byQos).toEqual(meta.byQos);
    // Segmentation worth testing: packets across segments, several packets per segment, large payloads.
    expect(meta.splitPackets).toBeGreaterThan(0);
    expect(meta.multiPacketSegments).toBeGreaterThan(0);
    expect(meta.largePayloads).toBeGreaterThan(0);
    expect(packets.some((p) => Number(p.length) > 10_000)).toBe(true);
  }, 60_000);
});

describe('bench/generate.mjs', () => {
  it('is deterministic: the same size and seed give the same bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-gen-'));
    const digest = (name: string): string => {
      const out = join(dir, name);
      const r = spawnSync(process.execPath, ['bench/generate.mjs', '--size', '600KB', '--seed', '7', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      return createHash('sha256').update(readFileSync(out)).digest('hex');
    };
    expect(digest('a.pcap')).toBe(digest('b.pcap'));
  }, 60_000);
});
