/**
 * The benchmark harness (bench/run.mjs, bench/generate.mjs) works end to end: `--quick` writes a results file of the
 * documented shape, and the generated capture is valid traffic with the intended mix. The floor passes
 * (bench/floor.mjs) and Suricata must see every packet the CLI decodes (a reference that skipped packets would be fast
 * for no merit); `--baseline` must build a git revision and compare every mode's output with it. This proves the
 * harness, not the speed (timings on a 2 MB capture mean little): nothing here asserts a duration.
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
  counted?: { packets: number; byType: Record<string, number>; connections?: number; topics?: number; events?: number };
  wallMedian: number;
  cpu: number | null;
  peakRssMB: number | null;
  mbPerSec: number;
  packetsPerSec: number;
  ratioToTsharkFields: number | null;
  /** tls-json only. */
  tlsPayloadBytes?: number;
  tlsMBPerSecCpu?: number | null;
}

interface Results {
  machine: { cpus: number; model: string; node: string; tshark: string | null; suricata: string | null };
  size: string;
  captureBytes: number;
  capture: string;
  mqttPackets: number;
  tsharkMqttPackets: number | null;
  generator: { connections: number };
  tls?: { packets: number; tlsErrors: number; tlsEvents: number; connections: number; tlsPayloadBytes: number; plaintextBytes: number };
  tlsDecrypt?: { record: number; backend: { backend: string; why: string }; suites: { name: string; mbPerSec: number }[] };
  findings: Record<string, number>;
  modes: Record<string, ModeResult>;
  ratios: Record<string, { wall: number; cpu: number | null }>;
  baseline?: { ref: string; commit: string };
  identity?: Record<string, { same: boolean; md5: string; bytes: number; baselineMd5: string; baselineBytes: number }>;
  targets: Record<string, { target: number; cmp: string; actual: number | null; met: boolean | null }>;
  notes: string[];
}

interface Meta {
  packets: number;
  bytes: number;
  byType: Record<string, number>;
  byVersion: Record<string, number>;
  byQos: Record<string, number>;
  connections: number;
  largePayloads: number;
  splitPackets: number;
  multiPacketSegments: number;
}

const hasTshark = spawnSync('tshark', ['--version']).status === 0;
const hasSuricata = spawnSync('suricata', ['-V'], { timeout: 10_000 }).status === 0;
/** Notes that only say a reference tool is not installed (its modes are then skipped). */
const missingTool = (n: string): boolean => /^(tshark|suricata) not found: /.test(n);

function bench(args: string[]): { results: Results; stderr: string } {
  const out = join(mkdtempSync(join(tmpdir(), 'mqtt-dissect-bench-')), 'results.json');
  const r = spawnSync(process.execPath, ['bench/run.mjs', '--quick', '--size', '2MB', '--out', out, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
  });
  expect(r.status, `bench/run.mjs ${args.join(' ')} failed:\n${r.stderr}`).toBe(0);
  return { results: JSON.parse(readFileSync(out, 'utf8')) as Results, stderr: r.stderr };
}

const TARGETS = ['hexCpuGainOnBaseline', 'jsonCpuGainOnBaseline', 'jsonThreadsWallGain', 'jsonVsSuricataCpu', 'jsonVsTsharkFields',
  'modesWithOutputDifferentFromBaseline', 'peakRssBelowMB', 'summaryVsFloorTallyCpu', 'summaryVsSuricataCpu',
  'summaryVsTsharkFields', 'textCpuGainOnBaseline', 'textThreadsWallGain', 'tlsLayerMBPerSecCpu', 'tlsDecryptMBPerSecCpu', 'jsonFilterCpuCost', 'sessionsCostOnJsonCpu'].sort();

let results: Results;
let stderr = '';

beforeAll(() => {
  ({ results, stderr } = bench([]));
}, 250_000);

describe('bench/run.mjs --quick', () => {
  it('writes results with the documented shape and positive numbers', () => {
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(results.size).toBe('2MB');
    expect(results.captureBytes).toBeGreaterThan(1_000_000);
    expect(results.mqttPackets).toBeGreaterThan(1000);
    // --threads 2 twins of the four output modes (cd6876e added them to bench/run.mjs).
    const expected = ['json', 'text', 'summary', 'hex', 'json-pipe', 'json-2shards', 'summary-2shards', 'floor-count', 'floor-tally',
      'json-threads', 'text-threads', 'summary-threads', 'hex-threads', 'tls-json', 'json-filter', 'json-nosessions',
      ...(hasSuricata ? ['suricata'] : []), ...(hasTshark ? ['tshark-fields'] : [])];
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
    expect(Object.keys(results.targets).sort()).toEqual(TARGETS);
    for (const [name, t] of Object.entries(results.targets)) {
      expect(['>=', '<=', '<'], name).toContain(t.cmp);
      expect(t.met === null, name).toBe(t.actual === null);
    }
    // Issue 13's decryption speed: the TLS layer alone per suite (bench/tls-decrypt.mjs), its slowest AES/ChaCha20 suite the target.
    const td = results.tlsDecrypt!;
    expect(td.record).toBe(210);
    expect(['native', 'node']).toContain(td.backend.backend);
    expect(td.suites.length).toBeGreaterThanOrEqual(10);
    for (const x of td.suites) expect(x.mbPerSec, x.name).toBeGreaterThan(0);
    expect(results.targets.tlsDecryptMBPerSecCpu.actual).toBe(Math.min(...td.suites.filter((x) => !/3DES/.test(x.name)).map((x) => x.mbPerSec)));
    // Without --baseline there is nothing to compare with.
    expect(results.identity).toBeUndefined();
    expect(results.targets.jsonCpuGainOnBaseline.actual).toBeNull();
  });

  it('prints the ratios the targets compare, from the same run', () => {
    const expected = ['summary / floor-tally', 'json / floor-count', 'text / floor-count', ...(hasSuricata ? ['summary / suricata', 'json / suricata'] : []),
      ...['json', 'text', 'summary', 'hex'].map((m) => `${m} / ${m}-threads`), 'json-filter / json-nosessions', 'json / json-nosessions'];
    expect(Object.keys(results.ratios).sort()).toEqual(expected.sort());
    for (const [name, x] of Object.entries(results.ratios)) {
      expect(x.wall, name).toBeGreaterThan(0);
      if (x.cpu !== null) expect(x.cpu, name).toBeGreaterThan(0);
    }
    const [a, b] = ['summary', 'floor-tally'].map((m) => results.modes[m]!);
    expect(results.ratios['summary / floor-tally']!.wall).toBeCloseTo(a!.wallMedian / b!.wallMedian, 1);
  });

  it('the floor passes see every packet the CLI decodes, with the same mix', () => {
    const meta = JSON.parse(readFileSync(join(ROOT, `${results.capture}.meta.json`), 'utf8')) as Meta;
    for (const mode of ['floor-count', 'floor-tally']) {
      const c = results.modes[mode]?.counted;
      expect(c, mode).toBeDefined();
      expect(c!.packets, mode).toBe(results.mqttPackets);
      expect(c!.byType, mode).toEqual(meta.byType);
    }
    expect(results.modes['floor-tally']!.counted!.connections).toBe(meta.connections);
    expect(results.modes['floor-tally']!.counted!.topics).toBeGreaterThan(0);
  });

  it.skipIf(!hasSuricata)('suricata logs every MQTT packet the CLI decodes (eve.json, one key per packet)', () => {
    expect(results.machine.suricata).toMatch(/^7\./);
    const c = results.modes.suricata?.counted;
    expect(c).toBeDefined();
    expect(c!.packets).toBe(results.mqttPackets);
    const meta = JSON.parse(readFileSync(join(ROOT, `${results.capture}.meta.json`), 'utf8')) as Meta;
    expect(c!.byType).toEqual(meta.byType);
  });

  it.skipIf(hasSuricata)('without suricata the suricata mode is skipped with a note', () => {
    expect(results.modes.suricata).toBeUndefined();
    expect(results.notes.some((n) => n.startsWith('suricata not found'))).toBe(true);
  });

  it('tls-json: the TLS twin decodes to every MQTT packet of the capture, every session decrypted, MB/s of TLS payload', () => {
    const t = results.tls!;
    expect(t.packets).toBe(results.mqttPackets);
    expect(t.tlsErrors).toBe(0);
    expect(t.tlsEvents).toBe(t.connections);
    expect(t.connections).toBe(results.generator.connections);
    expect(t.tlsPayloadBytes).toBeGreaterThan(t.plaintextBytes);
    const m = results.modes['tls-json']!;
    expect(m.tlsPayloadBytes).toBe(t.tlsPayloadBytes);
    expect(m.tlsMBPerSecCpu === null || (m.tlsMBPerSecCpu ?? 0) > 0).toBe(true);
  });

  it('our decoder, tshark and the generator agree on the number of MQTT packets', () => {
    const meta = JSON.parse(readFileSync(join(ROOT, `${results.capture}.meta.json`), 'utf8')) as Meta;
    expect(results.mqttPackets).toBe(meta.packets);
    if (hasTshark) expect(results.tsharkMqttPackets).toBe(meta.packets);
    expect(results.notes.filter((n) => !missingTool(n)), stderr).toEqual([]);
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

describe('bench/run.mjs --baseline', () => {
  it('builds the revision, times its modes next to ours and compares every mode\'s output', () => {
    const { results: r, stderr: err } = bench(['--modes', 'json,summary,floor-count', '--baseline', 'HEAD']);
    expect(Object.keys(r.modes)).toEqual(['json', 'json@HEAD', 'summary', 'summary@HEAD', 'floor-count']);
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
    expect(r.baseline).toEqual({ ref: 'HEAD', commit: head });
    expect(Object.keys(r.ratios).sort()).toEqual(['json / floor-count', 'json@HEAD / json', 'summary@HEAD / summary']);
    expect(Object.keys(r.identity ?? {}).sort()).toEqual(['hex', 'json', 'summary', 'text']);
    for (const [mode, x] of Object.entries(r.identity ?? {})) {
      expect(x.md5, mode).toMatch(/^[0-9a-f]{32}$/);
      expect(x.same, mode).toBe(x.md5 === x.baselineMd5);
      expect(x.bytes, mode).toBeGreaterThan(0);
    }
    // With src/ as committed, HEAD's build must print exactly what dist/ prints.
    const srcClean = spawnSync('git', ['status', '--porcelain', '--', 'src', 'bin'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() === '';
    if (srcClean) {
      for (const [mode, x] of Object.entries(r.identity ?? {})) expect(x.same, `${mode}\n${err}`).toBe(true);
      expect(r.targets.modesWithOutputDifferentFromBaseline).toMatchObject({ actual: 0, met: true });
    }
    // The temporary worktree is gone.
    const dir = /bench: building HEAD \(\w+\) in (\S+)/.exec(err)?.[1];
    expect(dir, err).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
    const list = spawnSync('git', ['worktree', 'list', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).stdout;
    expect(list).not.toContain(dir!);
  }, 250_000);
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
