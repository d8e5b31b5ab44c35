/** docs/stats.md's section tables are generated from STATS_SECTIONS; this keeps them current (UPDATE_STATS_DOC=1 rewrites them). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { STATS_SECTIONS, statsListText, withStatsSectionsMarkdown } from '../src/render/stats/sections.js';

const file = fileURLToPath(new URL('../docs/stats.md', import.meta.url));

test('docs/stats.md section tables match the sections table', () => {
  const doc = readFileSync(file, 'utf8');
  const want = withStatsSectionsMarkdown(doc);
  if (process.env['UPDATE_STATS_DOC'] === '1') writeFileSync(file, want);
  expect(readFileSync(file, 'utf8')).toBe(want);
});

test('stats --list names every section, table and column', () => {
  const text = statsListText().join('\n');
  for (const s of STATS_SECTIONS) {
    expect(text).toContain(`${s.name} `);
    for (const t of s.tables) expect(text).toContain(`  table ${t.name}: ${t.columns.map((c) => c.key).join(', ')}`);
  }
});
