/**
 * docs/audit.md, generated from the audit's check table (test/audit-docs.test.ts keeps the file in step with it;
 * `UPDATE_AUDIT_DOC=1 npx vitest run test/audit-docs` rewrites it).
 */
import { AUDIT_CHECKS, AUDIT_LIMITS } from './checks.js';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function auditMarkdown(): string {
  const out: string[] = [
    '# Security audit',
    '',
    '<!-- Generated from src/audit/checks.ts by src/audit/docs.ts; do not edit by hand. -->',
    '',
    '`mqtt-dissect audit CAPTURE...` reads captures through the same pipeline as `read` and reports how the',
    'deployment is used: credentials, access, client identities, retained data, secrets in payloads. These are',
    'observations with a severity (high, medium, low, info), not spec violations: a capture can conform to MQTT in',
    'every byte and still send its passwords in clear text. Conformance findings are `read`\'s (docs/rules.md).',
    '`mqtt-dissect audit --list` prints this table.',
    '',
    '| id | severity | title | why it matters | how it is detected |',
    '|---|---|---|---|---|',
  ];
  for (const c of AUDIT_CHECKS) out.push(`| \`${c.id}\` | ${c.severity} | ${cell(c.title)} | ${cell(c.why)} | ${cell(c.how)} |`);
  out.push(
    '',
    '## Output',
    '',
    'Text: one block per finding in frame order (severity, check, frame, connection and addresses, what was seen, why',
    'it matters), then a count by severity. `--json`: one NDJSON object per finding,',
    '`{"kind":"audit","check":…,"severity":…,"title":…,"frame":…,"conn":…,"src":…,"dst":…,"clientId":…,"message":…,"why":…}`',
    '(`conn`, `src` and `dst` are null for a finding about many connections; `clientId` is absent when unknown), one',
    '`{"kind":"audit-limit","table":…,"bound":…,"dropped":…}` per table that reached its bound, and a last',
    '`{"kind":"audit-summary","findings":N,"high":…,"medium":…,"low":…,"info":…,"connections":…,"packets":…,"undecrypted":…}`',
    '(`undecrypted`: TLS connections without keys, whose MQTT could not be audited).',
    'User names, passwords and secret values are masked (first character and length) unless `--show-secrets`.',
    'Exit status as `read`: 0 read (with or without findings), 1 unreadable input, 2 usage error.',
    '',
    '## Thresholds and bounds',
    '',
    '| name | value |',
    '|---|---|',
  );
  for (const [k, v] of Object.entries(AUDIT_LIMITS)) out.push(`| \`${k}\` | ${v} |`);
  out.push(
    '',
    'Every table is bounded; when one is full, what did not fit is counted and reported as an `audit-limit` record (text:',
    'a line after the findings).',
    '',
  );
  return out.join('\n');
}
