/** The Sparkplug 3.0 catalogue (src/rules/catalogue-sparkplug.ts) and `mqtt-dissect rules --spec sparkplug`, in-process. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { checkArgv } from '../src/cli/options.js';
import { ruleRows } from '../src/rules/catalogue.js';
import {
  SPARKPLUG_RULES, SPARKPLUG_SOURCE, sparkplugCounts, sparkplugRule, sparkplugRuleRows, sparkplugViolation, SPARKPLUG_OWN_RULES,
} from '../src/rules/catalogue-sparkplug.js';

/**
 * Distinct tck-ids in eclipse-sparkplug/sparkplug tag v3.0.0, commit 8b76877131203e88eaa9f5415e6a55f1a8470d74
 * (chapters unchanged at e45b61002a2a0cacb4f11fa4be88670435ccfcb0), counted as the anchors `[tck-testable tck-id-…]`
 * in specification/src/main/asciidoc/chapters/*.adoc: 299 (67 in chapter 4, 99 in 5, 108 in 6, 12 in 10, 8 in 1, 4 in
 * 2, 1 in 3). A plain grep for "tck-id-" finds 303 strings: four statements print a label after the anchor that differs
 * from it, and those labels are not ids.
 */
const SPEC_TCK_IDS = 299;

/** The ids the spec spells with upper case letters (kept exactly). */
const MIXED_CASE = [
  'tck-id-message-flow-edge-node-birth-publish-nbirth-payload-bdSeq',
  'tck-id-message-flow-edge-node-birth-publish-will-message-payload-bdSeq',
  'tck-id-payloads-metric-timestamp-in-UTC',
  'tck-id-payloads-timestamp-in-UTC',
];

describe('the Sparkplug catalogue', () => {
  it('has one row per tck-id of the spec, ids unique and well-formed', () => {
    expect(SPARKPLUG_RULES).toHaveLength(SPEC_TCK_IDS);
    const ids = SPARKPLUG_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    // /^tck-id-[a-z0-9-]+$/, apart from the four ids the spec itself spells with capitals.
    for (const id of ids) expect(id, id).toMatch(MIXED_CASE.includes(id) ? /^tck-id-[A-Za-z0-9-]+$/ : /^tck-id-[a-z0-9-]+$/);
    expect(ids.filter((id) => /[A-Z]/.test(id)).sort()).toEqual([...MIXED_CASE].sort());
    expect(SPARKPLUG_SOURCE.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('every row has a section, a heading and a paraphrase of its own', () => {
    const paraphrases = new Set<string>();
    for (const r of SPARKPLUG_RULES) {
      expect(r.section, r.id).toMatch(/^(1|2|3|4|5|6|10)(\.\d+){0,2}$/);
      expect(r.heading.trim(), r.id).not.toBe('');
      expect(r.paraphrase.length, r.id).toBeGreaterThan(20);
      expect(r.paraphrase, r.id).toMatch(/^\S.*\.$/);
      paraphrases.add(r.paraphrase);
    }
    // Statements repeated by the spec (NBIRTH QoS in 4.2.1, 5.4 and 6.4.19 ...) may share a paraphrase, not most.
    expect(paraphrases.size).toBeGreaterThan(SPARKPLUG_RULES.length * 0.9);
  });

  it('rows keep the spec order: chapters and sections never go back', () => {
    const key = (s: string): number[] => s.split('.').map(Number);
    for (let i = 1; i < SPARKPLUG_RULES.length; i++) {
      const [a, b] = [key(SPARKPLUG_RULES[i - 1]!.section), key(SPARKPLUG_RULES[i]!.section)];
      const cmp = a.map((n, j) => n - (b[j] ?? -1)).find((d) => d !== 0) ?? (a.length - b.length);
      expect(cmp, SPARKPLUG_RULES[i]!.id).toBeLessThanOrEqual(0);
    }
  });

  it('rows not checked say why; those a capture can show broken say "not yet checked"', () => {
    for (const r of SPARKPLUG_RULES) {
      if (r.implemented) {
        // A check can only exist for what the traffic shows.
        expect(r.observable, r.id).toBe('capture');
        continue;
      }
      expect(typeof r.why, r.id).toBe('string');
      expect(r.why!.length, r.id).toBeGreaterThan(10);
      if (r.observable === 'capture') expect(r.why, r.id).toMatch(/^not yet checked(;|$)/);
      else expect(r.why, r.id).not.toMatch(/^not yet checked/);
    }
    const c = sparkplugCounts();
    expect(c.total).toBe(SPEC_TCK_IDS);
    expect(c.capture).toBe(SPARKPLUG_RULES.filter((r) => r.observable === 'capture').length);
  });

  it('SHOULD statements are warnings', () => {
    // Paraphrases say "should" exactly where the spec says SHOULD (our wording keeps the strength).
    const should = SPARKPLUG_RULES.filter((x) => /\bshould\b/.test(x.paraphrase));
    expect(should.length).toBeGreaterThan(5);
    for (const r of should) expect(r.severity, r.id).toBe('warning');
  });

  it('sparkplugRule finds a row and throws for an id the table lacks', () => {
    expect(sparkplugRule('tck-id-topics-nbirth-mqtt')).toMatchObject({ section: '4.2.1', area: 'nbirth', severity: 'error' });
    expect(() => sparkplugRule('tck-id-no-such-statement')).toThrow(/no Sparkplug catalogue entry tck-id-no-such-statement/);
  });

  it('sparkplugViolation builds the project\'s Violation, citing "Sparkplug 3.0 <section>"', () => {
    expect(sparkplugViolation('tck-id-payloads-ncmd-seq', 'NCMD carries seq 4')).toEqual({
      id: 'tck-id-payloads-ncmd-seq', spec: 'Sparkplug 3.0 6.4.23', severity: 'error', message: 'NCMD carries seq 4',
    });
    expect(sparkplugViolation('tck-id-payloads-metric-datatype-not-req', 'datatype in NDATA', 12)).toMatchObject({
      spec: 'Sparkplug 3.0 6.4.6', severity: 'warning', offset: 12, length: 1,
    });
    expect(sparkplugViolation('tck-id-topics-nbirth-mqtt', 'retained NBIRTH', 0, 1)).toMatchObject({ offset: 0, length: 1 });
    expect(() => sparkplugViolation('tck-id-bogus', 'x')).toThrow();
  });
});

/** Runs the CLI in this process and returns what it wrote to stdout, and its exit code. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  const code = await main(args);
  await new Promise((resolve) => setImmediate(resolve));
  vi.restoreAllMocks();
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('mqtt-dissect rules --spec sparkplug', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('takes the option', () => {
    expect(checkArgv(['rules', '--spec', 'sparkplug']).error).toBeNull();
    expect(checkArgv(['rules', '--spec=sparkplug', '--json']).error).toBeNull();
  });

  it('--json: one rule record per row, with section, checked and why', async () => {
    const r = await run(['rules', '--spec', 'sparkplug', '--json']);
    expect(r.code).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // The spec's statements, then our own findings.
    expect(recs).toHaveLength(SPEC_TCK_IDS + SPARKPLUG_OWN_RULES.length);
    expect(recs.map((x) => x['id'])).toEqual([...SPARKPLUG_RULES, ...SPARKPLUG_OWN_RULES].map((x) => x.id));
    expect(recs).toEqual(sparkplugRuleRows().map((x) => ({ kind: 'rule', ...x })));
    expect(recs.find((x) => x['id'] === 'tck-id-topics-nbirth-mqtt')).toMatchObject({
      kind: 'rule', spec: 'Sparkplug 3.0 4.2.1', section: '4.2.1', severity: 'error', observable: 'capture', implemented: true,
      reportedAs: 'tck-id-payloads-nbirth-qos',
    });
    expect(recs.find((x) => x['id'] === 'tck-id-principles-rbe-recommended')).toMatchObject({ implemented: false });
  });

  it('text: every id with its section, severity, paraphrase and why not, then the counts', async () => {
    const r = await run(['rules', '--spec', 'sparkplug', '--no-color']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    for (const rule of SPARKPLUG_RULES) {
      const line = lines.find((l) => l.startsWith(`${rule.id} `));
      expect(line, rule.id).toBeDefined();
      expect(line).toContain(` ${rule.section} `);
      expect(line).toContain(rule.severity);
      expect(line).toContain(rule.paraphrase);
      if (!rule.implemented) expect(line).toContain(rule.observable === 'capture' ? ` — ${rule.why}` : ` — not checked: ${rule.why}`);
    }
    const c = sparkplugCounts();
    expect(lines.at(-1)).toBe(`checked: Sparkplug 3.0 ${c.implemented}/${SPEC_TCK_IDS} statements (${c.capture} observable in a capture); spec eclipse-sparkplug/sparkplug v3.0.0`);
  });

  it('--checked / --no-checked filter the Sparkplug rows', async () => {
    const unchecked = (await run(['rules', '--spec', 'sparkplug', '--no-checked', '--json'])).stdout.trim().split('\n').filter((l) => l !== '');
    const checked = (await run(['rules', '--spec', 'sparkplug', '--checked', '--json'])).stdout.trim().split('\n').filter((l) => l !== '');
    expect(unchecked.length + checked.length).toBe(SPEC_TCK_IDS + SPARKPLUG_OWN_RULES.length);
    expect(checked).toHaveLength(sparkplugCounts().implemented + SPARKPLUG_OWN_RULES.length);
  });

  it('the MQTT listing is unchanged: no Sparkplug rows without --spec sparkplug', async () => {
    const r = await run(['rules', '--json']);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string });
    expect(recs).toHaveLength(ruleRows().length);
    expect(recs.some((x) => x.id.startsWith('tck-id-'))).toBe(false);
    const v5 = (await run(['rules', '--spec', '5.0', '--json'])).stdout.trim().split('\n');
    expect(v5.some((l) => l.includes('tck-id-'))).toBe(false);
  });

  it('refuses --coverage with --spec sparkplug (coverage is about the MQTT rules)', async () => {
    const r = await run(['rules', '--spec', 'sparkplug', '--coverage', 'captures/seed-walkthrough.pcap']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--spec sparkplug lists the Sparkplug 3\.0 catalogue; --coverage covers the MQTT rules only/);
  });
});
