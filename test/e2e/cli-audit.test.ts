/**
 * `audit`, `rules --coverage` and `--report` end to end (issue 15): the commands, their exit statuses and files, on
 * the committed captures and one built for the audit. The checks themselves are tested in process (test/audit.test.ts,
 * test/report.test.ts).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_CHECKS } from '../../src/audit/checks.js';
import { writePcap } from '../builders/capture-writer.js';
import { jsonLines, runCli, tempFile } from '../builders/cli.js';
import { ethernet, LINK, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';

function auditCapture(): string {
  const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
  const frames = [
    ...s.handshake(), ...s.c2s(m.connect({ clientId: 'mqttx_5e1f', username: 'jane', password: 'hunter2', keepAlive: 0 })), ...s.s2c(m.connack()),
    ...s.c2s(m.subscribe({ packetId: 1, subscriptions: [{ topic: '#', qos: 0 }] })), ...s.s2c(m.suback({ packetId: 1, codes: [0] })),
    ...s.c2s(m.publish({ topic: 'cfg', payload: '{"token":"abc.def"}', retain: true })),
  ];
  return tempFile('audit.pcap', writePcap(frames.map((f, i) => ({ timeSec: 1_700_000_000, timeNsec: i * 1_000_000, data: ethernet(f) })), { linkType: LINK.ETHERNET }));
}

describe('mqtt-dissect audit', () => {
  it('text and --json findings; secrets masked unless --show-secrets; exit 0', () => {
    const file = auditCapture();
    const text = runCli(['audit', file]);
    expect(text.status).toBe(0);
    for (const id of ['cleartext-credentials', 'subscribe-all', 'guessable-client-id', 'keep-alive', 'retained-message', 'secret-in-payload']) expect(text.stdout).toContain(id);
    expect(text.stdout).toContain('why: ');
    expect(text.stdout).not.toContain('hunter2');
    const json = jsonLines(runCli(['audit', '--json', file]).stdout) as { kind: string; check?: string }[];
    expect(json.at(-1)).toMatchObject({ kind: 'audit-summary', connections: 1 });
    expect(json.filter((r) => r.kind === 'audit').length).toBe(json.length - 1);
    expect(runCli(['audit', '--show-secrets', file]).stdout).toContain('hunter2');
  });

  it('audit findings are no spec findings: never in `violations`, never counted by --fail-on or --report', () => {
    const file = auditCapture();
    const audit = (jsonLines(runCli(['audit', '--json', file]).stdout) as { kind: string; check?: string }[]).filter((r) => r.kind === 'audit');
    expect(audit.length).toBeGreaterThanOrEqual(6);
    const checks = new Set(audit.map((r) => r.check!));
    // The read of the same capture: no record carries a finding, none of them is an audit check, the summary counts none.
    const read = runCli(['--json', file]);
    expect(read.status).toBe(0);
    const records = jsonLines(read.stdout) as { violations?: { id: string }[] }[];
    expect(records.length).toBeGreaterThan(5);
    const ids = records.flatMap((r) => (r.violations ?? []).map((v) => v.id));
    expect(ids.filter((id) => checks.has(id as never))).toEqual([]);
    expect(ids).toEqual([]);
    expect(runCli(['-Y', 'violation', '--count', file]).stdout).toBe('0\n');
    for (const level of ['warning', 'error']) expect(runCli(['--fail-on', level, file]).status, level).toBe(0);
    expect(runCli(['--fail-on-violation', file]).status).toBe(0);
    // The CI reports: every rule passed or not exercised, no audit check among their ids.
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-audit-report-'));
    const sarif = join(dir, 'r.sarif');
    expect(runCli(['--report', 'sarif', sarif, '--fail-on', 'warning', file]).status).toBe(0);
    const log = JSON.parse(readFileSync(sarif, 'utf8')) as { runs: { results: { ruleId: string; kind: string }[] }[] };
    expect(log.runs[0]!.results.filter((r) => r.kind === 'fail')).toEqual([]);
    expect(log.runs[0]!.results.filter((r) => checks.has(r.ruleId as never))).toEqual([]);
    // And `audit` itself exits 0 with its findings: they are observations, not failures.
    expect(runCli(['audit', file]).status).toBe(0);
  });

  it('--list prints the table; usage errors exit 2; an unreadable capture exits 1', () => {
    const list = runCli(['audit', '--list']);
    expect(list.status).toBe(0);
    for (const c of AUDIT_CHECKS) expect(list.stdout).toContain(c.id);
    expect(runCli(['audit']).status).toBe(2);
    const bad = runCli(['audit', tempFile('bad.pcap', 'not a capture at all')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('rules --coverage and --report', () => {
  it('the coverage table and the report files agree on what broke', () => {
    const capture = 'captures/synthetic-malformed.pcapng';
    const cov = jsonLines(runCli(['rules', '--coverage', capture, '--json']).stdout) as { kind: string; id?: string; document?: string; status?: string }[];
    const broken = cov.filter((r) => r.status === 'broken').map((r) => `${r.document}/${r.id}`).sort();
    expect(broken.length).toBeGreaterThan(0);
    expect(cov.at(-1)).toMatchObject({ kind: 'coverage-summary', broken: broken.length });
    const text = runCli(['rules', '--coverage', capture]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/coverage: \d+ of \d+ rules exercised/);
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-report-'));
    const junit = join(dir, 'r.xml');
    const sarif = join(dir, 'r.sarif');
    const read = runCli(['--report', 'junit', junit, '--report', 'sarif', sarif, '--summary', capture]);
    expect(read.status).toBe(0);
    const log = JSON.parse(readFileSync(sarif, 'utf8')) as { runs: { results: { ruleId: string; kind: string }[] }[] };
    expect(log.runs[0]!.results.filter((r) => r.kind === 'fail').map((r) => r.ruleId).sort()).toEqual(broken);
    const xml = readFileSync(junit, 'utf8');
    expect((xml.match(/<failure /g) ?? []).length).toBe(broken.length);
    // --fail-on still decides the exit status; the reports are written either way.
    expect(runCli(['--report', 'junit', junit, '--fail-on', 'error', capture]).status).toBe(3);
    expect(runCli(['--report', 'junit', junit, '--threads', '2', capture]).status).toBe(2);
  });
});
