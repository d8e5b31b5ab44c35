/** docs/filters.md's field tables are generated from the filter table; this keeps them current (UPDATE_FILTER_DOC=1 rewrites them). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { FILTER_FIELDS } from '../src/filter/fields.js';
import { filterFieldsMarkdown, filterFieldsText, withFilterFieldsMarkdown } from '../src/filter/docs.js';

const file = fileURLToPath(new URL('../docs/filters.md', import.meta.url));

test('docs/filters.md field tables match the filter table', () => {
  const doc = readFileSync(file, 'utf8');
  const want = withFilterFieldsMarkdown(doc);
  if (process.env['UPDATE_FILTER_DOC'] === '1') writeFileSync(file, want);
  expect(readFileSync(file, 'utf8')).toBe(want);
});

test('every filter field and every Wireshark name is in the docs and in --help-fields', () => {
  const md = filterFieldsMarkdown();
  const text = filterFieldsText().join('\n');
  for (const f of FILTER_FIELDS) {
    expect(md).toContain(`| \`${f.name}\` | ${f.type} |`);
    expect(text).toContain(`  ${f.name} `);
    for (const a of f.tshark) {
      expect(md).toContain(a.name);
      expect(text).toContain(a.name);
    }
  }
});
