/** docs/json.md's field and property tables are generated from the registry; this keeps them current (UPDATE_FIELDS_DOC=1 rewrites them). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { FIELD, PACKET_FIELDS, PROPERTY_FIELDS } from '../src/mqtt/fields.js';
import { fieldsMarkdown, withFieldsMarkdown } from '../src/mqtt/fields-docs.js';

const file = fileURLToPath(new URL('../docs/json.md', import.meta.url));

test('docs/json.md field tables match the registry', () => {
  const doc = readFileSync(file, 'utf8');
  const want = withFieldsMarkdown(doc);
  if (process.env['UPDATE_FIELDS_DOC'] === '1') writeFileSync(file, want);
  expect(readFileSync(file, 'utf8')).toBe(want);
});

test('every registry row and property has a line in the generated tables', () => {
  const md = fieldsMarkdown();
  for (const rows of PACKET_FIELDS) for (const r of rows) expect(md).toContain(`| \`${r.path}\` | ${r.field.json.replace(/\|/g, '\\|')} |`);
  for (const p of PROPERTY_FIELDS) expect(md).toContain(`| \`${p.property.key}\` |`);
  // A field declared but carried by no packet type is dead weight in the registry (or a forgotten row).
  const used = new Set(PACKET_FIELDS.flat().map((r) => r.field));
  const fixedHeaderOnly = new Set(['packetTypeFlags', 'packetType', 'remainingLength', 'reservedFlags', 'connectFlags', 'connectReserved', 'acknowledgeFlags', 'options']);
  for (const [name, f] of Object.entries(FIELD)) if (!fixedHeaderOnly.has(name)) expect(used.has(f), name).toBe(true);
});
