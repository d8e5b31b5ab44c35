/** Conventions of tshark and tcpdump users (issue 12): usage errors, completion, -r, several files, .gz, --fail-on. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync, constants as zc, deflateRawSync, crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CaptureParser } from '../../src/capture/reader.js';
import { writePcap } from '../builders/capture-writer.js';
import { BIN, jsonLines, ROOT, runCli, tempFile } from '../builders/cli.js';
import { ethernet, tcpFrame } from '../builders/frames.js';

const SEED = 'captures/seed-walkthrough.pcap';
const QOS = 'captures/real-v311-qos.pcap';

function completions(...words: string[]): string[] {
  const r = runCli(['--get-yargs-completions', 'mqtt-dissect', ...words]);
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter((l) => l.length > 0);
}

function frameCount(path: string): number {
  let n = 0;
  const p = new CaptureParser({ record: () => { n++; }, event: () => {} }, path);
  p.push(readFileSync(path));
  p.end();
  return n;
}

/** (kind, frame, type or event) of every NDJSON line. */
function shape(stdout: string): string[] {
  return jsonLines(stdout).map((o) => `${String(o.kind)} ${String(o.frame)} ${String(o.type ?? o.event ?? '')}`);
}

describe('usage errors say what is wrong', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--bogus', SEED], /^mqtt-dissect: unknown option --bogus\b/],
    [['--port', 'abc', SEED], /^mqtt-dissect: --port needs a number 1-65535\b/],
    [['-p', '0', SEED], /--port needs a number 1-65535/],
    [['--dialect', 'klingon', SEED], /--dialect takes auto, onenet, none/],
    [['explain', '--bogus', '10 00'], /unknown option --bogus for explain/],
    [['--fail-on', 'note', SEED], /--fail-on takes error, warning/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), () => {
      const r = runCli(args);
      expect(r.status).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stdout).toBe('');
    });
  }

  it('a control character typed into an option name comes back escaped', () => {
    const r = runCli(['--bo\u001b[2Jgus', SEED]);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toContain('\u001b');
    expect(r.stderr).toContain('\\e');
  });
});

describe('shell completion', () => {
  it('completes option names and the values of options with choices', () => {
    expect(completions('--su')).toEqual(['--summary']);
    expect(completions('--dialect', '')).toEqual(['auto', 'onenet', 'none']);
    expect(completions('x.pcap', '--dialect', 'on')).toEqual(['onenet']);
    expect(completions('--fail-on', '')).toEqual(['error', 'warning']);
    expect(completions('explain', '--protocol-version', '')).toEqual(['3', '4', '5']);
  });

  it('offers only options the command accepts: no --V, --x, --p', () => {
    for (const words of [['--'], ['explain', '--'], ['rules', '--'], ['x.pcap', '--']]) {
      const offered = completions(...words);
      expect(offered.length).toBeGreaterThan(3);
      for (const o of offered) expect(o, `${words.join(' ')}: ${o}`).toMatch(/^--[a-z][a-z0-9-]+$/);
    }
    // Every one offered is taken by the command (test/cli-options.test.ts checks that for each name, in-process).
    const r = runCli([...completions('--').filter((o) => o !== '--help' && o !== '--version' && !['--read', '--port', '--dialect', '--fail-on', '--shard'].includes(o)), SEED]);
    expect(r.stderr).not.toMatch(/unknown option/);
  });
});

describe('reading like tshark', () => {
  it('-r FILE reads the file', () => {
    const r = runCli(['--json', '-r', SEED]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(runCli(['--json', SEED]).stdout);
  });

  it('several files are read one after the other in the order given, frame numbers continuing', () => {
    const a = shape(runCli(['--json', SEED]).stdout).filter((l) => l.startsWith('packet'));
    const b = shape(runCli(['--json', QOS]).stdout).filter((l) => l.startsWith('packet'));
    const offset = frameCount(SEED);
    const shifted = b.map((l) => l.replace(/^packet (\d+)/, (_, f: string) => `packet ${Number(f) + offset}`));
    const both = runCli(['--json', SEED, '-r', QOS]);
    expect(both.status).toBe(0);
    expect(shape(both.stdout).filter((l) => l.startsWith('packet'))).toEqual([...a, ...shifted]);
    const reversed = shape(runCli(['--json', QOS, SEED]).stdout).filter((l) => l.startsWith('packet'));
    expect(reversed.slice(0, b.length)).toEqual(b);
  });

  it('.pcap.gz and .pcapng.gz are read directly, from a file or a pipe', () => {
    for (const capture of [SEED, 'captures/real-v5-props.pcapng']) {
      const plain = runCli(['--json', capture]).stdout;
      const gz = tempFile(`${capture.split('/').pop()!}.gz`, gzipSync(readFileSync(capture)));
      const r = runCli(['--json', gz]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(plain);
      expect(runCli(['--json', '-'], { input: readFileSync(gz) }).stdout).toBe(plain);
    }
  });

  it('a gzip file cut short keeps the packets before the cut and says so', () => {
    const whole = gzipSync(readFileSync(QOS));
    const cut = tempFile('cut.pcap.gz', whole.subarray(0, Math.floor(whole.length * 0.7)));
    const r = runCli(['--json', cut]);
    const lines = jsonLines(r.stdout);
    expect(lines.filter((l) => l.kind === 'packet').length).toBeGreaterThan(0);
    expect(lines.find((l) => l.event === 'file-truncated')?.message).toMatch(/gzip data cut short/);
  });
});

describe('gzip is decompressed as a stream', () => {
  it.skipIf(spawnSync('/usr/bin/time', ['true']).status !== 0)('a 256 MiB capture behind 0.3 MB of gzip is read in bounded memory', () => {
    // One record repeated: a header, then 160,000 copies of the same 1,600-byte frame (port 80: not decoded).
    const frame = ethernet(tcpFrame({ src: '192.0.2.1', dst: '192.0.2.2', sport: 40000, dport: 80, seq: 1, payload: new Uint8Array(1500).fill(0x41) }));
    const one = writePcap([{ timeSec: 1_700_000_000, timeNsec: 0, data: frame }]);
    const header = one.subarray(0, 24);
    const record = one.subarray(24);
    const copies = Math.ceil((256 * 1024 * 1024) / record.length);
    // A gzip member written by hand so the test never holds the 256 MiB either: deflate of a block that repeats.
    const block = Buffer.concat(Array.from({ length: 1024 }, () => record));
    const whole = { crc: crc32(header), size: header.length };
    const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])];
    const raw: Buffer[] = [deflateRawSync(header, { finishFlush: zc.Z_SYNC_FLUSH })];
    let blockCrc = whole.crc;
    for (let i = 0; i < Math.ceil(copies / 1024); i++) {
      raw.push(deflateRawSync(block, { finishFlush: zc.Z_SYNC_FLUSH, level: 1 }));
      blockCrc = crc32(block, blockCrc);
      whole.size += block.length;
    }
    raw.push(Buffer.from([0x03, 0x00])); // an empty final block
    parts.push(...raw);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(blockCrc >>> 0, 0);
    trailer.writeUInt32LE(whole.size % 2 ** 32, 4);
    parts.push(trailer);
    const gz = Buffer.concat(parts);
    expect(gz.length).toBeLessThan(4 * 1024 * 1024);
    const file = tempFile('big.pcap.gz', gz);
    writeFileSync(file, gz);
    const r = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb=%M', process.execPath, BIN, '--summary', file], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const rssMb = Number(/maxrss_kb=(\d+)/.exec(r.stderr)![1]) / 1024;
    // Decompressed whole, the capture alone would take 256 MiB.
    expect(rssMb).toBeLessThan(200);
  }, 180_000);
});

describe('--fail-on threshold', () => {
  it('warnings alone do not fail by default; --fail-on warning fails on them', () => {
    // The OneNET capture's findings are all warnings; the malformed one has errors.
    const WARNED = 'captures/real-onenet-6002.pcap';
    const warned = jsonLines(runCli(['--json', WARNED]).stdout).flatMap((o) => (o.violations as Array<{ severity: string }> | undefined) ?? []);
    expect(warned.length).toBeGreaterThan(0);
    expect(warned.every((v) => v.severity === 'warning')).toBe(true);
    expect(runCli(['--fail-on-violation', WARNED]).status).toBe(0);
    expect(runCli(['--fail-on', 'error', WARNED]).status).toBe(0);
    expect(runCli(['--fail-on', 'warning', WARNED]).status).toBe(3);
    expect(runCli([WARNED]).status).toBe(0);
    expect(runCli(['--fail-on', 'error', 'captures/synthetic-malformed.pcapng']).status).toBe(3);
    expect(runCli(['--fail-on-violation', 'captures/synthetic-malformed.pcapng']).status).toBe(3);
  });
});

describe('README', () => {
  it('shows the live pipe with --immediate-mode', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain('tcpdump -i any -U --immediate-mode -w - port 1883 | mqtt-dissect');
    expect(readme).not.toMatch(/tcpdump -U -w - port 1883/);
  });
});
