/** docs/rules.md is generated from the catalogue; this keeps it current (UPDATE_RULES_DOC=1 rewrites it). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { rulesMarkdown } from '../src/rules/docs.js';

const file = fileURLToPath(new URL('../docs/rules.md', import.meta.url));

test('docs/rules.md matches the catalogue', () => {
  const want = rulesMarkdown();
  if (process.env['UPDATE_RULES_DOC'] === '1') writeFileSync(file, want);
  expect(readFileSync(file, 'utf8')).toBe(want);
});
