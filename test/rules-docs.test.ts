/** docs/rules.md and docs/rules-sparkplug.md are generated from the catalogues; this keeps them current (UPDATE_RULES_DOC=1 rewrites them). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { rulesMarkdown, sparkplugRulesMarkdown } from '../src/rules/docs.js';

const file = fileURLToPath(new URL('../docs/rules.md', import.meta.url));
const sparkplugFile = fileURLToPath(new URL('../docs/rules-sparkplug.md', import.meta.url));

test('docs/rules.md matches the catalogue', () => {
  const want = rulesMarkdown();
  if (process.env['UPDATE_RULES_DOC'] === '1') writeFileSync(file, want);
  expect(readFileSync(file, 'utf8')).toBe(want);
});

test('docs/rules-sparkplug.md matches the Sparkplug catalogue', () => {
  const want = sparkplugRulesMarkdown();
  if (process.env['UPDATE_RULES_DOC'] === '1') writeFileSync(sparkplugFile, want);
  expect(readFileSync(sparkplugFile, 'utf8')).toBe(want);
});
