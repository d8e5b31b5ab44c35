/** docs/json.md's event table has one row per event kind the stages can emit (EVENT_KINDS), and no other. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { EVENT_KINDS } from '../src/tcp/types.js';
import { ROOT } from './builders/cli.js';

test('every event kind has a row in docs/json.md', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'json.md'), 'utf8');
  const section = doc.slice(doc.indexOf('| event | meaning |'), doc.indexOf('### Summary records'));
  const rows = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
  expect([...rows].sort()).toEqual([...EVENT_KINDS].sort());
});
