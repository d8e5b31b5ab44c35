/**
 * Hostile input through the audit and the reports (issue 15), in process: damaged captures (test/builders/fuzz-inputs.ts)
 * through `audit` (text and --json) and through `read --report junit|sarif`. Nothing throws; audit text and NDJSON hold
 * no raw control byte; every NDJSON line is an object with a kind, the last an audit-summary; the reports are written and
 * hold no character XML or a terminal cannot take. Seeded (FUZZ_SEED); FUZZ_CASES scales the count.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runAuditCommand } from '../src/cli/audit.js';
import type { LineOut } from '../src/cli/back-end.js';
import { readInProcess } from '../src/cli/read.js';
import { makeChalk } from '../src/render/color.js';
import { KeyLog } from '../src/transport/tls/keylog.js';
import { damagedCaptureArb } from './builders/fuzz-inputs.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_0015);
const CASES = Math.max(1, Math.round(Number(process.env.FUZZ_CASES ?? 2000) / 16));
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f]/;
/** What XML 1.0 cannot hold, and the raw controls a terminal acts on (a report is also read in one). */
const NOT_IN_REPORT = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0080-\u009f\ufffe\uffff]/;

async function audit(input: Uint8Array, json: boolean): Promise<string[]> {
  const lines: string[] = [];
  const out = { line: (l: string) => { lines.push(l); }, flush: () => {} } as unknown as LineOut; // the audit calls only line() and flush()
  async function* stdin(): AsyncGenerator<Uint8Array> { yield input; }
  const code = await runAuditCommand({ captures: ['-'], json, showSecrets: false, port: [], auto: true, keylog: new KeyLog(), tlsPorts: [], stdin: stdin() }, out, makeChalk(false), () => {});
  expect([0, 1]).toContain(code);
  return lines;
}

describe('fuzz: audit and reports over damaged captures', () => {
  it(`${CASES} damaged captures (seed ${SEED})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-audit-fuzz-'));
    let findings = 0;
    let failures = 0;
    await fc.assert(
      fc.asyncProperty(damagedCaptureArb, async (input) => {
        for (const l of await audit(input, false)) if (RAW_CONTROL.test(l)) throw new Error(`raw control byte in ${JSON.stringify(l.slice(0, 200))}`);
        const lines = await audit(input, true);
        for (const l of lines) if (RAW_CONTROL.test(l)) throw new Error(`raw control byte in NDJSON ${JSON.stringify(l.slice(0, 200))}`);
        const json = lines.map((l) => JSON.parse(l) as { kind?: unknown });
        for (const o of json) expect(typeof o.kind).toBe('string');
        expect(json.at(-1)!.kind).toBe('audit-summary');
        findings += json.length - 1;
        const r = await readInProcess(input, { summary: true, reports: [{ format: 'junit', file: join(dir, 'r.xml') }, { format: 'sarif', file: join(dir, 'r.sarif') }] });
        expect([0, 1]).toContain(r.exit);
        const xml = readFileSync(join(dir, 'r.xml'), 'utf8');
        const sarif = readFileSync(join(dir, 'r.sarif'), 'utf8');
        if (NOT_IN_REPORT.test(xml)) throw new Error('junit report holds a character XML cannot');
        if (NOT_IN_REPORT.test(sarif)) throw new Error('sarif report holds a raw control character');
        failures += (xml.match(/<failure /g) ?? []).length;
        expect((JSON.parse(sarif) as { version: string }).version).toBe('2.1.0');
      }),
      { seed: SEED, numRuns: CASES },
    );
    // The damage reaches the checks: some audits find something, some reports fail rules.
    expect(findings).toBeGreaterThan(CASES / 4);
    expect(failures).toBeGreaterThan(CASES / 4);
  }, 120_000);
});
