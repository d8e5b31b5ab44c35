/**
 * The field-export options (-T fields, -e, -E, --csv) checked and turned into plain data for the back end, with a
 * usage error for whatever tshark would refuse too (-e without -T fields) and for what we cannot honour.
 */
import { resolveField } from '../filter/compile.js';
import { FilterError } from '../filter/syntax.js';
import { CSV_DEFAULT_FIELDS, DEFAULT_EXPORT, type ExportOptions } from '../render/fields-export.js';
import type { FieldsExportArgs } from './back-end.js';

export interface ExportFlags {
  format: string | undefined;
  csv: boolean;
  fields: string[];
  options: string[];
  json: boolean;
  verbose: boolean;
  hex: boolean;
}

/** The separator or aggregator an -E value names: /t a tab, /s a space, otherwise the character itself. */
function character(key: string, v: string): string | Error {
  if (v === '/t') return '\t';
  if (v === '/s') return ' ';
  if (v.length === 1) return v;
  return new Error(`-E ${key}=${v}: give one character, /t (tab) or /s (space)`);
}

/** undefined: no field export asked for. A string: the usage error. */
export function exportArgs(f: ExportFlags): FieldsExportArgs | string | undefined {
  const exporting = f.format === 'fields' || f.csv;
  if (!exporting) {
    if (f.fields.length > 0) return '-e needs -T fields (or --csv)';
    if (f.options.length > 0) return '-E needs -T fields (or --csv)';
    return undefined;
  }
  if (f.json || f.format === 'json') return '-T fields and --csv print rows, not NDJSON: leave out --json';
  if (f.verbose || f.hex) return '-T fields and --csv print rows: leave out -V and -x';
  if (f.format === 'fields' && f.fields.length === 0 && !f.csv) return '-T fields needs at least one -e FIELD (--help-fields lists them)';
  const o: { -readonly [K in keyof Omit<ExportOptions, 'fields'>]: ExportOptions[K] } = f.csv
    ? { separator: ',', header: true, quote: 'd', aggregator: ',' }
    : { ...DEFAULT_EXPORT };
  for (const opt of f.options) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const v = eq < 0 ? '' : opt.slice(eq + 1);
    switch (key) {
      case 'separator': case 'aggregator': {
        const c = character(key, v);
        if (c instanceof Error) return c.message;
        o[key] = c;
        break;
      }
      case 'header':
        if (v !== 'y' && v !== 'n') return `-E header=${v}: give y or n`;
        o.header = v === 'y';
        break;
      case 'quote':
        if (v !== 'd' && v !== 's' && v !== 'n') return `-E quote=${v}: give d (double), s (single) or n (none)`;
        o.quote = v;
        break;
      case 'occurrence':
        if (v !== 'a') return `-E occurrence=${v}: only a (all values, joined by the aggregator) is supported`;
        break;
      default:
        return `-E ${opt}: not an -E setting (separator, header, quote, aggregator, occurrence)`;
    }
  }
  const names = f.fields.length > 0 ? f.fields : CSV_DEFAULT_FIELDS;
  for (const n of names) {
    try {
      resolveField(n);
    } catch (e) {
      if (e instanceof FilterError) return `-e ${n}: ${e.message}`;
      throw e;
    }
  }
  return { names, options: o };
}
