/**
 * Fuzzing the whole read path in process (issue 18): thousands of damaged captures (test/builders/fuzz-inputs.ts:
 * bytes flipped, inserted, deleted and cut; length fields edited; segments split, reordered, duplicated, dropped and
 * cut short) through readInProcess, which is the CLI's own read path (src/cli/read.ts) with memory for stdin, stdout
 * and stderr. Each case runs as --json and in one more mode (text, --summary, -V, -x, --summary --json, in turn),
 * pushed in random chunk sizes.
 *
 * Whatever the input: nothing throws; the exit status is 0 or 1, with at most one line on stderr (exit 1: exactly
 * one, "mqtt-dissect: ..."); every NDJSON line parses as an object with a kind; no output holds a raw control byte;
 * stdout stays within 32 bytes per input byte plus 16 KiB (the largest seen is under 12 per byte, -V).
 *
 * test/e2e/fuzz-cli.test.ts spawns the CLI for a few cases, for what only a process shows (exit codes, stderr).
 * Seeded (FUZZ_SEED) so a failure reproduces; FUZZ_CASES scales the count.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readInProcess, type InProcessResult } from '../src/cli/read.js';
import { damagedCaptureArb, FUZZ_MODES } from './builders/fuzz-inputs.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026);
const CASES = Number(process.env.FUZZ_CASES ?? 2000);
const OTHER_MODES = Object.keys(FUZZ_MODES).filter((m) => m !== 'json');

/** C0 controls except LF, DEL, and the C1 range: what a terminal would act on. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f]/;
const OUT_PER_BYTE = 32;
const OUT_FIXED = 16 * 1024;

/** Chunk sizes: single bytes and odd small sizes (records split everywhere), pages, and the whole input at once. */
const chunkArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 16 }), weight: 1 },
  { arbitrary: fc.integer({ min: 17, max: 4096 }), weight: 2 },
  { arbitrary: fc.constant(1 << 20), weight: 2 },
);

/** What each mode produced over the run, so a generator too tame (or too broken) to reach the decoder is noticed. */
const seen = { packets: 0, human: 0, summaries: 0, exit: [0, 0] as [number, number] };

/** The first broken invariant of one run, or null. */
function problem(mode: string, input: Uint8Array, r: InProcessResult): string | null {
  if (r.exit !== 0 && r.exit !== 1) return `exit ${r.exit}`;
  seen.exit[r.exit]++;
  if (r.stderr.length > 1) return `${r.stderr.length} lines on stderr: ${JSON.stringify(r.stderr)}`;
  if (r.exit === 1 && !(r.stderr.length === 1 && r.stderr[0]!.startsWith('mqtt-dissect: '))) return `exit 1 without a one-line message: ${JSON.stringify(r.stderr)}`;
  if (r.exit === 0 && r.stderr.length === 1 && !r.stderr[0]!.startsWith('mqtt-dissect: no MQTT ')) return `exit 0 with stderr ${JSON.stringify(r.stderr)}`;
  for (const l of r.stderr) if (RAW_CONTROL.test(l)) return `raw control byte on stderr: ${JSON.stringify(l)}`;
  if (r.stdoutBytes > OUT_PER_BYTE * input.length + OUT_FIXED) return `${r.stdoutBytes} bytes of output for ${input.length} of input`;
  if (RAW_CONTROL.test(r.stdout)) {
    const line = r.stdout.split('\n').find((l) => RAW_CONTROL.test(l))!;
    return `raw control byte in ${JSON.stringify(line.slice(0, 200))}`;
  }
  const lines = r.stdout.split('\n');
  if (lines.pop() !== '') return 'output does not end with a newline';
  if (FUZZ_MODES[mode]!.args.json === true) {
    for (const l of lines) {
      let o: unknown;
      try { o = JSON.parse(l); } catch { return `bad NDJSON line ${JSON.stringify(l.slice(0, 200))}`; }
      if (o === null || typeof o !== 'object' || typeof (o as { kind?: unknown }).kind !== 'string') return `NDJSON line without a kind: ${l.slice(0, 200)}`;
      const kind = (o as { kind: string }).kind;
      if (kind === 'packet') seen.packets++;
      if (kind === 'summary') seen.summaries++;
    }
  } else seen.human += lines.length;
  return null;
}

describe('fuzz, in process: the CLI read path over damaged captures', () => {
  it(`${CASES} damaged captures, each as --json and one other mode (seed ${SEED})`, async () => {
    let runs = 0;
    let i = 0;
    await fc.assert(
      fc.asyncProperty(damagedCaptureArb, chunkArb, async (input, chunk) => {
        const other = OTHER_MODES[i++ % OTHER_MODES.length]!;
        for (const mode of ['json', other]) {
          runs++;
          const r = await readInProcess(input, FUZZ_MODES[mode]!.args, { chunk });
          const p = problem(mode, input, r);
          if (p !== null) throw new Error(`${mode} (chunk ${chunk}, ${input.length} bytes): ${p}`);
        }
      }),
      { seed: SEED, numRuns: CASES },
    );
    expect(runs).toBeGreaterThanOrEqual(CASES * 2);
    // The damage must reach the decoder and the renderers, not only the capture reader, and both outcomes occur.
    expect(seen.packets).toBeGreaterThan(CASES * 2);
    expect(seen.human).toBeGreaterThan(CASES * 2);
    expect(seen.summaries).toBeGreaterThan(CASES / OTHER_MODES.length);
    expect(seen.exit[0]).toBeGreaterThan(CASES / 2);
    expect(seen.exit[1]).toBeGreaterThan(CASES / 50);
  }, 120_000);

  it('a broken invariant is caught: control bytes, bad NDJSON, runaway output, a second stderr line', () => {
    const ok: InProcessResult = { exit: 0, stdout: '{"kind":"packet"}\n', stdoutBytes: 18, stderr: [] };
    const input = new Uint8Array(10);
    expect(problem('json', input, ok)).toBeNull();
    expect(problem('text', input, { ...ok, stdout: 'a\u001b[31mb\n' })).toMatch(/raw control byte/);
    expect(problem('text', input, { ...ok, stdout: 'a\u009bb\n' })).toMatch(/raw control byte/);
    expect(problem('json', input, { ...ok, stdout: '{"kind":"packet"\n' })).toMatch(/bad NDJSON/);
    expect(problem('json', input, { ...ok, stdout: '[1]\n' })).toMatch(/without a kind/);
    expect(problem('json', input, { ...ok, stdoutBytes: OUT_FIXED + 32 * 10 + 1 })).toMatch(/bytes of output/);
    expect(problem('json', input, { ...ok, exit: 1, stderr: ['mqtt-dissect: a', 'b'] })).toMatch(/2 lines/);
    expect(problem('json', input, { ...ok, exit: 1, stderr: [] })).toMatch(/one-line message/);
    expect(problem('json', input, { ...ok, exit: 70 })).toMatch(/exit 70/);
  });

  it('runs the same path as the CLI: a clean capture decodes, an unreadable one exits 1 with one line', async () => {
    const { BASES } = await import('./builders/fuzz-inputs.js');
    const r = await readInProcess(BASES['seed-walkthrough.pcap']!, { json: true });
    expect(r.exit).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('{"kind":"packet"')).length).toBeGreaterThan(4);
    const bad = await readInProcess(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), {});
    expect(bad.exit).toBe(1);
    expect(bad.stderr).toHaveLength(1);
    expect(bad.stderr[0]).toMatch(/^mqtt-dissect: stdin: /);
  });
});
