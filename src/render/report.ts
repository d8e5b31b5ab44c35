/**
 * Rule coverage of a capture as CI reports: JUnit XML and SARIF 2.1.0 (`read --report junit|sarif FILE`), and the
 * `rules --coverage` table (text or NDJSON). One test case / SARIF result per rule: passed (evaluated, no finding),
 * failed (the packets that broke it), skipped / not applicable (not exercised by the capture, or never checked).
 */
import type { ChalkInstance } from 'chalk';
import { notExercisedReason, OCCURRENCES_KEPT, type CoverageRow, type CoverageStatus, type Occurrence } from '../rules/coverage.js';
import { escapeText } from './escape.js';
import { terminalSafeJson } from './json.js';

export interface ReportMeta {
  captures: readonly string[];
  version: string;
}

function where(o: Occurrence): string {
  return `frame ${o.frame}${o.conn !== null ? ` conn ${o.conn}` : ''}${o.dir !== null ? ` ${o.dir}` : ''}`;
}

function occurrenceLines(r: CoverageRow): string[] {
  const lines = r.occurrences.map((o) => `${where(o)}: ${escapeText(o.message)}`);
  if (r.broken > r.occurrences.length) lines.push(`… ${r.broken - r.occurrences.length} more (the first ${OCCURRENCES_KEPT} are listed)`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// JUnit XML
// ---------------------------------------------------------------------------------------------

/** Characters XML 1.0 cannot hold at all (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, unpaired surrogates). */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text for an XML attribute or element: markup characters as entities, impossible characters as visible escapes. */
export function xmlEscape(s: string): string {
  return s
    .replace(NOT_XML, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`)
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const SUITE_NAME: Readonly<Record<string, string>> = {
  '3.1.1': 'MQTT 3.1.1 statements', '5.0': 'MQTT 5.0 statements', ref: 'unnumbered and own rules', rfc6455: 'RFC 6455 (WebSocket)', tls: 'TLS',
};

export function junitXml(rows: readonly CoverageRow[], meta: ReportMeta): string {
  const docs = [...new Set(rows.map((r) => r.rule.doc))];
  const count = (rs: readonly CoverageRow[], s: CoverageStatus[]): number => rs.filter((r) => s.includes(r.status)).length;
  const name = `mqtt-dissect ${meta.version}: ${meta.captures.join(', ')}`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(name)}" tests="${rows.length}" failures="${count(rows, ['broken'])}" errors="0" skipped="${count(rows, ['not-exercised', 'not-checked'])}">`,
  ];
  for (const doc of docs) {
    const rs = rows.filter((r) => r.rule.doc === doc);
    out.push(`  <testsuite name="${xmlEscape(SUITE_NAME[doc] ?? doc)}" tests="${rs.length}" failures="${count(rs, ['broken'])}" errors="0" skipped="${count(rs, ['not-exercised', 'not-checked'])}">`);
    for (const r of rs) {
      const attrs = `classname="mqtt-dissect.${xmlEscape(r.rule.doc)}" name="${xmlEscape(`${r.rule.id} (${r.rule.spec})`)}"`;
      if (r.status === 'passed') {
        out.push(`    <testcase ${attrs}><system-out>${xmlEscape(`evaluated ${r.checked} times, no finding`)}</system-out></testcase>`);
      } else if (r.status === 'broken') {
        const msg = `${r.broken} finding${r.broken === 1 ? '' : 's'} (${r.rule.severity}): ${r.rule.paraphrase}`;
        out.push(`    <testcase ${attrs}>`, `      <failure message="${xmlEscape(msg)}" type="${r.rule.severity}">${xmlEscape(occurrenceLines(r).join('\n'))}</failure>`, '    </testcase>');
      } else {
        out.push(`    <testcase ${attrs}><skipped message="${xmlEscape(notExercisedReason(r.rule))}"/></testcase>`);
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// SARIF 2.1.0
// ---------------------------------------------------------------------------------------------

const SARIF_LEVEL = { error: 'error', warning: 'warning', note: 'note' } as const;

/** A rule's SARIF id: the catalogue id is unique only with its document (3.1.1 and 5.0 reuse numbers). */
export function sarifRuleId(doc: string, id: string): string {
  return `${doc}/${id}`;
}

/** A capture path as a relative URI reference (SARIF artifact locations are URIs). */
function fileUri(path: string): string {
  return path.split(/[\\/]/).map((p) => encodeURIComponent(p)).join('/');
}

export function sarifLog(rows: readonly CoverageRow[], meta: ReportMeta): unknown {
  const single = meta.captures.length === 1 && meta.captures[0] !== '-';
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: 'mqtt-dissect',
          version: meta.version,
          rules: rows.map((r) => ({
            id: sarifRuleId(r.rule.doc, r.rule.id),
            name: r.rule.id,
            shortDescription: { text: r.rule.paraphrase },
            defaultConfiguration: { level: SARIF_LEVEL[r.rule.severity], enabled: r.rule.implemented },
            properties: { spec: r.rule.spec, document: r.rule.doc, checked: r.rule.implemented, ...(r.rule.why !== undefined ? { why: r.rule.why } : {}) },
          })),
        },
      },
      artifacts: meta.captures.filter((c) => c !== '-').map((c) => ({ location: { uri: fileUri(c) }, roles: ['analysisTarget'] })),
      invocations: [{ executionSuccessful: true }],
      results: rows.map((r, i) => {
        const base = { ruleId: sarifRuleId(r.rule.doc, r.rule.id), ruleIndex: i };
        if (r.status === 'broken') {
          return {
            ...base, kind: 'fail', level: SARIF_LEVEL[r.rule.severity],
            message: { text: `${r.broken} finding${r.broken === 1 ? '' : 's'}: ${escapeText(r.occurrences[0]?.message ?? r.rule.paraphrase)}` },
            locations: r.occurrences.map((o) => ({
              ...(single ? { physicalLocation: { artifactLocation: { uri: fileUri(meta.captures[0]!), index: 0 } } } : {}),
              logicalLocations: [{ name: `frame ${o.frame}`, fullyQualifiedName: o.conn !== null ? `conn ${o.conn}/frame ${o.frame}` : `frame ${o.frame}`, kind: 'element' }],
              message: { text: `${where(o)}: ${escapeText(o.message)}` },
            })),
            properties: { checked: r.checked, broken: r.broken, frames: r.occurrences.map((o) => o.frame) },
          };
        }
        if (r.status === 'passed') {
          return { ...base, kind: 'pass', level: 'none', message: { text: `evaluated ${r.checked} times, no finding` }, properties: { checked: r.checked, broken: 0 } };
        }
        return { ...base, kind: 'notApplicable', level: 'none', message: { text: notExercisedReason(r.rule) }, properties: { checked: 0, broken: 0 } };
      }),
    }],
  };
}

// ---------------------------------------------------------------------------------------------
// rules --coverage
// ---------------------------------------------------------------------------------------------

const STATUS_TEXT: Readonly<Record<CoverageStatus, string>> = { passed: 'passed', broken: 'broken', 'not-exercised': 'not exercised', 'not-checked': 'not checked' };

export function coverageTotals(rows: readonly CoverageRow[]): Record<CoverageStatus | 'exercised', number> {
  const t = { exercised: 0, passed: 0, broken: 0, 'not-exercised': 0, 'not-checked': 0 };
  for (const r of rows) {
    t[r.status]++;
    if (r.status === 'passed' || r.status === 'broken') t.exercised++;
  }
  return t;
}

export function coverageText(rows: readonly CoverageRow[], chalk: ChalkInstance, all: boolean): string[] {
  const shown = all ? rows : rows.filter((r) => r.status === 'passed' || r.status === 'broken');
  const idW = Math.max(2, ...shown.map((r) => r.rule.id.length));
  const specW = Math.max(4, ...shown.map((r) => r.rule.spec.length));
  const out = shown.map((r) => {
    const st = STATUS_TEXT[r.status].padEnd(13);
    const status = r.status === 'broken' ? chalk.red(st) : r.status === 'passed' ? chalk.green(st) : chalk.dim(st);
    const detail = r.status === 'broken'
      ? `${r.broken} finding${r.broken === 1 ? '' : 's'} in ${r.checked} check${r.checked === 1 ? '' : 's'}, first at ${where(r.occurrences[0]!)}`
      : r.status === 'passed' ? `${r.checked} check${r.checked === 1 ? '' : 's'}` : notExercisedReason(r.rule);
    return `${r.rule.id.padEnd(idW)}  ${r.rule.spec.padEnd(specW)}  ${status}  ${detail}`;
  });
  const t = coverageTotals(rows);
  out.push('', `coverage: ${t.exercised} of ${rows.length} rules exercised (${t.passed} passed, ${t.broken} broken), ${t['not-exercised']} checked rules not exercised, ${t['not-checked']} never checked${all ? '' : ' (--all lists every rule)'}`);
  return out;
}

export function coverageJson(rows: readonly CoverageRow[]): string[] {
  const out = rows.map((r) => terminalSafeJson(JSON.stringify({
    kind: 'coverage', id: r.rule.id, spec: r.rule.spec, document: r.rule.doc, severity: r.rule.severity, status: r.status,
    checked: r.checked, broken: r.broken,
    occurrences: r.occurrences.map((o) => ({ frame: o.frame, conn: o.conn, dir: o.dir, message: o.message })),
  })));
  out.push(JSON.stringify({ kind: 'coverage-summary', rules: rows.length, ...coverageTotals(rows) }));
  return out;
}
