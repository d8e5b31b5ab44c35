/**
 * Rule coverage and the CI reports: the counters say which rules a capture exercised, the collector which it broke;
 * SARIF validates against the official 2.1.0 schema; JUnit XML parses back (Python's xml.etree) with every string intact.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import formatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { buildFrontPipeline, DEFAULT_PORTS, readAll } from '../src/cli/pipeline.js';
import { readInProcess } from '../src/cli/read.js';
import { DialectStage } from '../src/dialects/stage.js';
import { junitXml, sarifLog, xmlEscape } from '../src/render/report.js';
import { CATALOGUE } from '../src/rules/catalogue.js';
import { AREA_TYPES, checkedCounts, CoverageCollector, coverageRows, packetClass, REPORT_RULES, reportRuleOf, ruleClasses, type CoverageRow } from '../src/rules/coverage.js';
import type { PacketSink } from '../src/mqtt/connection-decoder.js';
import { writePcap } from './builders/capture-writer.js';
import { ethernet, LINK, TcpSession } from './builders/frames.js';
import * as m from './builders/mqtt-bytes.js';
import { ownCaptures, publicCaptures } from './builders/public.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A clean 3.1.1 connection, and one whose client sends a PUBLISH with QoS 3 and a SUBSCRIBE with bad flags. */
function capture(topic = 'plant/line3/rate'): Uint8Array {
  const a = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
  const b = new TcpSession('10.0.0.3:50001', '10.0.0.1:1883');
  const frames = [
    ...a.handshake(), ...a.c2s(m.connect({ clientId: 'good' })), ...a.s2c(m.connack()),
    ...a.c2s(m.publish({ topic, payload: '42' })), ...a.c2s(m.disconnect()), ...a.close('client'),
    ...b.handshake(), ...b.c2s(m.connect({ clientId: 'bad' })), ...b.s2c(m.connack()),
    ...b.c2s(m.publish({ topic, payload: 'x', flags: 6 })),
    ...b.c2s(m.subscribe({ packetId: 1, subscriptions: [{ topic: 'a/b', qos: 0 }], flags: 0 })),
  ];
  return writePcap(frames.map((f, i) => ({ timeSec: 1_700_000_000, timeNsec: i * 1_000_000, data: ethernet(f) })), { linkType: LINK.ETHERNET });
}

async function rowsOfFile(path: string, ports: number[] = [...DEFAULT_PORTS]): Promise<{ rows: CoverageRow[]; checked: Float64Array; collector: CoverageCollector }> {
  const collector = new CoverageCollector();
  const p = buildFrontPipeline(new DialectStage(collector, { dialect: 'auto', tree: false, views: false }), { ports, auto: false, tree: false, dialect: 'auto', fieldsShown: false });
  await readAll([path], p, { interrupted: () => false });
  p.finish();
  const checked = checkedCounts(p.rules!.counters, p.sessions !== null);
  return { rows: coverageRows(checked, collector), checked, collector };
}

async function reportsOf(bytes: Uint8Array): Promise<{ junit: string; sarif: unknown; exit: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-report-'));
  const junit = join(dir, 'r.xml');
  const sarif = join(dir, 'r.sarif');
  const r = await readInProcess(bytes, { reports: [{ format: 'junit', file: junit }, { format: 'sarif', file: sarif }] });
  return { junit: readFileSync(junit, 'utf8'), sarif: JSON.parse(readFileSync(sarif, 'utf8')) as unknown, exit: r.exit };
}

/** The schema's errors for a document (none: valid). */
function sarifValidator(): (doc: unknown) => unknown[] {
  const schema = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/sarif-schema-2.1.0.json'), 'utf8')) as Record<string, unknown>;
  // Draft-04 names its id `id`; ajv 8 reads `$id` (test/fixtures/README.md). strict: false because the schema lists
  // required properties inside anyOf without declaring them there, which ajv's strict mode refuses.
  const { $schema: _meta, id, ...rest } = schema;
  const ajv = new Ajv({ allErrors: true, strict: false });
  // ajv-formats is CommonJS: under NodeNext its default export is the module object, the plugin its `default`.
  formatsModule.default(ajv);
  const validate = ajv.compile({ $id: String(id), ...rest });
  return (doc) => (validate(doc) ? [] : [...(validate.errors ?? [{ message: 'invalid' }])]);
}

interface ParsedCase { classname: string; name: string; status: 'passed' | 'failed' | 'skipped'; message: string; body: string }

/** JUnit XML through Python's XML parser: what a CI server reads. */
function parseJunit(xml: string): ParsedCase[] {
  const py = `
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
out = []
for c in root.iter('testcase'):
    f = c.find('failure'); s = c.find('skipped')
    st = 'failed' if f is not None else 'skipped' if s is not None else 'passed'
    e = f if f is not None else s
    out.append({'classname': c.get('classname'), 'name': c.get('name'), 'status': st, 'message': e.get('message') if e is not None else '', 'body': (e.text or '') if e is not None else ''})
print(json.dumps(out))`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { input: xml, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`XML did not parse: ${r.stderr}`);
  return JSON.parse(r.stdout) as ParsedCase[];
}

describe('rule coverage', () => {
  it('every implemented rule\'s area names the packets that evaluate it', () => {
    for (const e of CATALOGUE) if (e.implemented) expect(AREA_TYPES[e.area], `${e.key} (${e.area})`).toBeDefined();
  });

  it('every violation cites a report rule (dialect findings aside)', () => {
    for (const r of REPORT_RULES) expect(reportRuleOf({ id: r.id, spec: r.doc === 'ref' ? '3.1.1' : r.doc === 'rfc6455' ? 'RFC 6455 5.1' : r.doc === 'tls' ? 'TLS' : r.doc, severity: 'error', message: '' })).toBe(r.index);
    expect(reportRuleOf({ id: 'ONENET-credentials', spec: '3.1.1', severity: 'warning', message: '' })).toBe(-1);
  });

  it('on every own and public capture, each violation on a packet is of a rule counted for that packet\'s class (the areas are right)', async () => {
    const entries = [...ownCaptures(), ...publicCaptures()].filter((e) => statSync(e.path).size < 2_000_000);
    expect(entries.length).toBeGreaterThan(5);
    const wrong: string[] = [];
    let seen = 0;
    for (const e of entries) {
      const f = e.name;
      const ports = [...DEFAULT_PORTS, ...e.extraPorts];
      const sink: PacketSink = {
        open() {}, event() {}, close() {},
        packet(rec) {
          const t = rec.conn.transport;
          const k = packetClass(rec.decoded.level, t !== undefined && t[t.length - 1] === 'websocket', rec.decoded.type);
          for (const v of rec.violations) {
            const i = reportRuleOf(v);
            if (i < 0 || REPORT_RULES[i]!.entry === null) continue;
            seen++;
            if (!ruleClasses(i).includes(k)) wrong.push(`${f} frame ${rec.frame}: ${v.spec} ${v.id} on ${rec.decoded.typeName}`);
          }
        },
      };
      const p = buildFrontPipeline(sink, { ports, auto: false, tree: false, dialect: 'auto', fieldsShown: false });
      await readAll([e.path], p, { interrupted: () => false });
      p.finish();
      // And every rule broken anywhere in the run was counted as evaluated.
      const { checked, collector } = await rowsOfFile(e.path, ports);
      for (let i = 0; i < REPORT_RULES.length; i++) if (collector.broken[i]! > 0 && !(checked[i]! > 0)) wrong.push(`${f}: ${REPORT_RULES[i]!.id} broken, never counted`);
    }
    // Our own captures alone (a clone without ../shared) hold 8 such findings; with the public ones, many more.
    expect(seen).toBeGreaterThan(publicCaptures().length > 0 ? 10 : 5);
    expect(wrong).toEqual([]);
  });

  it('passed, broken and not exercised on a built capture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-cov-'));
    const file = join(dir, 'c.pcap');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, capture());
    const { rows } = await rowsOfFile(file);
    const by = (doc: string, id: string): CoverageRow => rows.find((r) => r.rule.doc === doc && r.rule.id === id)!;
    const qos3 = by('3.1.1', 'MQTT-3.3.1-4');
    expect(qos3.status).toBe('broken');
    expect(qos3.occurrences[0]).toMatchObject({ conn: 1, dir: 'c2s' });
    expect(by('3.1.1', 'MQTT-3.8.1-1').status).toBe('broken');
    // Checked on the two CONNECTs and their CONNACKs (the CONNECT area), which were fine.
    expect(by('3.1.1', 'MQTT-3.1.2-3')).toMatchObject({ status: 'passed', checked: 4 });
    // No 5.0 traffic, no WebSocket, no AUTH.
    expect(by('5.0', 'MQTT-3.15.1-1').status).toBe('not-exercised');
    expect(by('rfc6455', 'RFC6455:5.1:unmasked-client-frame').status).toBe('not-exercised');
    expect(rows.some((r) => r.status === 'not-checked')).toBe(true);
  });
});

describe('reports', () => {
  it('SARIF validates against the official 2.1.0 schema, and the validator rejects a broken log', async () => {
    const validate = sarifValidator();
    const { sarif, exit } = await reportsOf(capture());
    expect(exit).toBe(0);
    expect(validate(sarif)).toEqual([]);
    const log = sarif as { runs: { results: { ruleId: string; kind: string; level: string; locations?: unknown[] }[]; tool: { driver: { rules: unknown[] } } }[] };
    const results = log.runs[0]!.results;
    expect(results).toHaveLength(REPORT_RULES.length);
    expect(log.runs[0]!.tool.driver.rules).toHaveLength(REPORT_RULES.length);
    const fail = results.find((r) => r.ruleId === '3.1.1/MQTT-3.3.1-4')!;
    expect(fail).toMatchObject({ kind: 'fail', level: 'error' });
    expect(JSON.stringify(fail.locations)).toContain('"frame ');
    expect(results.find((r) => r.ruleId === '3.1.1/MQTT-3.1.2-3')).toMatchObject({ kind: 'pass', level: 'none' });
    expect(results.find((r) => r.ruleId === '5.0/MQTT-3.15.1-1')).toMatchObject({ kind: 'notApplicable' });
    // The schema is really applied: a wrong kind or a missing message is refused.
    const bad = structuredClone(sarif) as typeof log;
    (bad.runs[0]!.results[0] as { kind: string }).kind = 'passed';
    expect(validate(bad)).not.toEqual([]);
    expect(validate({ version: '2.1.0' })).not.toEqual([]);
  });

  it('JUnit XML parses back: one test case per rule, failures with frames, skipped with a reason', async () => {
    const { junit } = await reportsOf(capture());
    const cases = parseJunit(junit);
    expect(cases).toHaveLength(REPORT_RULES.length);
    const qos3 = cases.find((c) => c.name === 'MQTT-3.3.1-4 (3.1.1)')!;
    expect(qos3.status).toBe('failed');
    expect(qos3.body).toMatch(/^frame \d+ conn 1 c2s: /);
    expect(cases.find((c) => c.name === 'MQTT-3.1.2-3 (3.1.1)')!.status).toBe('passed');
    const skipped = cases.find((c) => c.name === 'MQTT-3.15.1-1 (5.0)')!;
    expect(skipped.status).toBe('skipped');
    expect(skipped.message).toContain('AUTH');
  });

  it('JUnit XML escapes markup and characters XML cannot hold', () => {
    const hostile = 'a<b>&"c\' ]]> \u0001\u0000 \ud800 \uffff end';
    expect(xmlEscape('<&>"\'')).toBe('&lt;&amp;&gt;&quot;&apos;');
    const rule = REPORT_RULES[0]!;
    const rows: CoverageRow[] = [{ rule, status: 'broken', checked: 1, broken: 1, occurrences: [{ frame: 7, conn: 0, dir: 'c2s', message: hostile }] }];
    const cases = parseJunit(junitXml(rows, { captures: ['we<ird&.pcap'], version: '0' }));
    expect(cases).toHaveLength(1);
    expect(cases[0]!.body).toContain('a<b>&"c\' ]]>');
    expect(cases[0]!.body).toContain('end');
    expect(sarifValidator()(sarifLog(rows, { captures: ['dir with space/we<ird&.pcap'], version: '0' }))).toEqual([]);
  });

  it('a report that cannot be written is one line and exit 1', async () => {
    const r = await readInProcess(capture(), { reports: [{ format: 'junit', file: '/nonexistent-dir/x.xml' }] });
    expect(r.exit).toBe(1);
    expect(r.stderr.some((l) => l.startsWith('mqtt-dissect: cannot write the junit report /nonexistent-dir/x.xml'))).toBe(true);
  });
});
