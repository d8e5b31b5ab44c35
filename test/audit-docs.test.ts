/** docs/audit.md is generated from the audit's check table; this keeps it current (UPDATE_AUDIT_DOC=1 rewrites it). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { AUDIT_CHECKS } from '../src/audit/checks.js';
import { auditMarkdown } from '../src/audit/docs.js';
import { makeChalk } from '../src/render/color.js';
import { auditListText } from '../src/render/audit.js';

const file = fileURLToPath(new URL('../docs/audit.md', import.meta.url));

test('docs/audit.md matches the check table', () => {
  const want = auditMarkdown();
  if (process.env['UPDATE_AUDIT_DOC'] === '1') writeFileSync(file, want);
  expect(readFileSync(file, 'utf8')).toBe(want);
});

test('audit --list shows every check of the table, with its why and how', () => {
  const text = auditListText(makeChalk(false)).join('\n');
  for (const c of AUDIT_CHECKS) {
    expect(text).toContain(c.id);
    expect(text).toContain(c.why);
    expect(text).toContain(c.how);
  }
});
