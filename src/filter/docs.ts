/**
 * The filter fields as documentation: the table in docs/filters.md and the `--help-fields` listing, both generated
 * from FILTER_FIELDS (test/filter-docs.test.ts keeps the file equal to what this returns).
 */
import { FILTER_FIELDS, type FieldScope, type FilterField } from './fields.js';

const SCOPE_TITLE: Readonly<Record<FieldScope, string>> = {
  record: 'Every record',
  connection: 'The connection (on every record of it)',
  segment: 'The IP and TCP headers (of the frame that completed the packet)',
  packet: 'The packet',
  property: 'MQTT 5.0 properties (of the packet)',
  finding: 'Findings',
  event: 'Events',
};

function tsharkNames(f: FilterField): string {
  return f.tshark.map((a) => a.name).join(', ');
}

const md = (s: string): string => s.replace(/\|/g, '\\|');

/** The Markdown tables, one per scope. */
export function filterFieldsMarkdown(): string {
  const out: string[] = [];
  for (const scope of Object.keys(SCOPE_TITLE) as FieldScope[]) { // the keys of a Record over FieldScope
    const rows = FILTER_FIELDS.filter((f) => f.scope === scope);
    if (rows.length === 0) continue;
    out.push(`### ${SCOPE_TITLE[scope]}`, '', '| field | type | Wireshark name | meaning |', '|---|---|---|---|');
    for (const f of rows) {
      const values = f.values !== undefined && f.values.length <= 20 ? ` (${f.values.join(', ')})` : '';
      out.push(`| \`${f.name}\` | ${f.type} | ${md(tsharkNames(f)) || ''} | ${md(f.describe + values)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

const BEGIN = '<!-- filter fields: generated from src/filter/fields.ts -->';
const END = '<!-- end of filter fields -->';

/** The document with its generated part replaced by the current tables. */
export function withFilterFieldsMarkdown(doc: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/filters.md lacks the ${BEGIN} … ${END} markers`);
  return `${doc.slice(0, a + BEGIN.length)}\n\n${filterFieldsMarkdown()}\n${doc.slice(b)}`;
}

/** --help-fields: one line per field, grouped like the docs. */
export function filterFieldsText(): string[] {
  const out: string[] = ['Fields for -Y (docs/filters.md has the syntax):'];
  const width = Math.max(...FILTER_FIELDS.map((f) => f.name.length));
  for (const scope of Object.keys(SCOPE_TITLE) as FieldScope[]) { // the keys of a Record over FieldScope
    const rows = FILTER_FIELDS.filter((f) => f.scope === scope);
    if (rows.length === 0) continue;
    out.push('', `${SCOPE_TITLE[scope]}:`);
    for (const f of rows) {
      const ts = tsharkNames(f);
      out.push(`  ${f.name.padEnd(width)}  ${f.type.padEnd(7)}  ${f.describe}${ts !== '' ? ` [${ts}]` : ''}`);
    }
  }
  return out;
}
