/**
 * Fuzzing through the CLI (issue #5), for what only a process shows: a bounded number of processes (36 by default,
 * spread over the output modes, some reading stdin) on damaged captures exit 0 or 1 (README: 0 read, 1 unreadable),
 * with at most one line on stderr (exactly one, starting "mqtt-dissect: ", with exit 1), never a stack trace or
 * "internal error", and NDJSON that parses.
 *
 * The bulk of the fuzzing runs in process, thousands of cases through the same read path (test/fuzz-pipeline.test.ts);
 * the inputs are shared (test/builders/fuzz-inputs.ts). Seeded (FUZZ_SEED) so a failure reproduces; FUZZ_CLI_CASES
 * scales the count.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../builders/cli.js';
import { damagedCaptureArb, FUZZ_MODES } from '../builders/fuzz-inputs.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026);
const CLI_CASES = Number(process.env.FUZZ_CLI_CASES ?? 36);
const MODES = Object.keys(FUZZ_MODES);
const STACK = /\n\s+at .+[(:]\d+:\d+\)?|internal error/;

// ---------------------------------------------------------------------------------------------------
// Through the CLI

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCliAsync(args: string[], input?: Uint8Array): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024, timeout: 60_000, encoding: 'buffer', env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code ?? null) : 0;
        resolve({ status: typeof code === 'number' ? code : null, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') });
      });
    if (input) child.stdin?.end(Buffer.from(input));
    else child.stdin?.end();
  });
}

async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('fuzz, through the CLI', () => {
  it(`${CLI_CASES} damaged captures and 3 unreadable inputs, spread over the modes and stdin (seed ${SEED + 2})`, async () => {
    // Besides the sampled cases, inputs known to be unreadable (empty, junk, a cut file header), so exit 1 is always tried.
    const cases = [new Uint8Array(0), Uint8Array.of(0x1b, 0x5b, 0x33, 0x31, 0x6d, 0, 7, 8), Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 2, 0),
      ...fc.sample(damagedCaptureArb, { seed: SEED + 2, numRuns: CLI_CASES })];
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-fuzz-'));
    const failures: string[] = [];
    const seen = { 0: 0, 1: 0 } as Record<number, number>;
    await pool(cases.map((bytes, i) => ({ bytes, i })), Math.max(2, cpus().length * 2), async ({ bytes, i }) => {
      const mode = MODES[i % MODES.length]!;
      const viaStdin = i % 7 === 3;
      const file = join(dir, `case-${i}.pcap`);
      writeFileSync(file, bytes);
      const r = await runCliAsync([...FUZZ_MODES[mode]!.argv, viaStdin ? '-' : file], viaStdin ? bytes : undefined);
      const where = `case ${i} (${mode}${viaStdin ? ', stdin' : ''}, ${file})`;
      const errLines = r.stderr.split('\n').filter((l) => l !== '');
      if (r.status !== 0 && r.status !== 1) failures.push(`${where}: exit ${String(r.status)}: ${r.stderr.slice(0, 300)}`);
      else seen[r.status]!++;
      if (errLines.length > 1) failures.push(`${where}: ${errLines.length} lines on stderr: ${r.stderr.slice(0, 300)}`);
      if (r.status === 1 && !(errLines.length === 1 && errLines[0]!.startsWith('mqtt-dissect: '))) failures.push(`${where}: exit 1 without a one-line message: ${JSON.stringify(r.stderr)}`);
      // Exit 0 may say, in one line, that no MQTT was found (and where the TCP traffic was); nothing else.
      if (r.status === 0 && errLines.length > 0 && !(errLines.length === 1 && errLines[0]!.startsWith('mqtt-dissect: no MQTT '))) failures.push(`${where}: exit 0 with stderr ${JSON.stringify(r.stderr)}`);
      if (STACK.test(r.stderr) || STACK.test(r.stdout)) failures.push(`${where}: stack trace / internal error: ${r.stderr.slice(0, 300)}`);
      if (FUZZ_MODES[mode]!.args.json === true) for (const l of r.stdout.split('\n')) if (l !== '') { try { JSON.parse(l); } catch { failures.push(`${where}: bad NDJSON line ${l.slice(0, 100)}`); break; } }
    });
    expect(failures).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
    // Both outcomes must occur, or the inputs are too tame (or too broken) to mean anything.
    expect(seen[0]).toBeGreaterThan(CLI_CASES / 10);
    expect(seen[1]).toBeGreaterThan(0);
  }, 600_000);
});
