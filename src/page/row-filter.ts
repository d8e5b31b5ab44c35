/**
 * The HTML page's filter box: `-Y` expressions evaluated over the page's packet rows. The expression is read by the
 * CLI's own parser (src/filter/syntax.ts) and its values by the CLI's own readers (src/filter/values.ts: numbers,
 * closed sets, regular expressions, topic filters, the error's caret line), and topics are matched by the broker's
 * matcher (src/mqtt/topic-match.ts); src/page/html.ts bundles those modules and this one into the page's script. What
 * is this module's own is which fields a row answers and how it reads them; each comparison means what it means in
 * src/filter/compile.ts: a field the row lacks makes every comparison false (`!=` too), a field with several values
 * (a SUBSCRIBE's topics and QoS, a packet's findings) matches when any value does and `!=` when every value differs.
 *
 * A name the CLI knows but the page does not hold (payload, properties, addresses …) is an error that says so, never
 * an empty list. No Node API and no import beyond those three modules: this runs in the browser.
 */
import { topicMatches } from '../mqtt/topic-match.js';
import { FilterError, parseFilter, type CompareOp, type FilterNode, type ValueNode } from '../filter/syntax.js';
import { booleanValue, closedValue, formatFilterError, OPS_BY_TYPE, parseNumber, regex, suggest, topicFilter } from '../filter/values.js';
import type { PageRow } from './model.js';

/** What the page embeds for the box: every name `-Y` accepts, and the packet type names. */
export interface RowFilterContext {
  readonly filterNames: readonly string[];
  readonly typeNames: readonly string[];
}

export type RowTest = (r: PageRow) => boolean;

type Num = number | readonly number[] | undefined;
type Str = string | readonly string[] | undefined;
type RowField =
  | { readonly type: 'number'; get(r: PageRow): Num }
  | { readonly type: 'string'; values?: readonly string[]; get(r: PageRow): Str }
  | { readonly type: 'boolean'; get(r: PageRow): boolean | undefined };

const SUBSCRIBE_LIKE = new Set(['SUBSCRIBE', 'UNSUBSCRIBE']);

function rowFields(ctx: RowFilterContext): ReadonlyMap<string, RowField> {
  const findings = (pick: 0 | 1 | 2) => (r: PageRow): Str => r[10].v?.map((v) => v[pick]);
  return new Map<string, RowField>([
    ['kind', { type: 'string', values: ['packet', 'event', 'close'], get: () => 'packet' }],
    ['frame', { type: 'number', get: (r) => r[0] }],
    ['conn', { type: 'number', get: (r) => r[2] }],
    ['dir', { type: 'string', values: ['c2s', 's2c'], get: (r) => (r[3] === 0 ? 'c2s' : 's2c') }],
    ['type', { type: 'string', values: ctx.typeNames, get: (r) => r[4] }],
    ['length', { type: 'number', get: (r) => r[10].l }],
    ['clientId', { type: 'string', get: (r) => (r[7] === '' ? undefined : r[7]) }],
    ['topic', { type: 'string', get: (r) => (r[4] === 'PUBLISH' ? r[6] : SUBSCRIBE_LIKE.has(r[4]) ? r[10].t : undefined) }],
    ['qos', { type: 'number', get: (r) => (r[4] === 'PUBLISH' ? r[10].q ?? 0 : r[4] === 'SUBSCRIBE' ? r[10].q : undefined) }],
    ['packetId', { type: 'number', get: (r) => r[10].p }],
    ['retain', { type: 'boolean', get: (r) => (r[4] === 'PUBLISH' ? r[10].r === 1 : undefined) }],
    ['dup', { type: 'boolean', get: (r) => (r[4] === 'PUBLISH' ? r[10].d === 1 : undefined) }],
    ['violation', { type: 'boolean', get: (r) => (r[8] > 0 ? true : undefined) }],
    ['violation.id', { type: 'string', get: findings(0) }],
    ['violation.severity', { type: 'string', values: ['error', 'warning', 'note'], get: findings(1) }],
    ['violation.spec', { type: 'string', get: findings(2) }],
  ]);
}

/** The names the box answers, in the order the help under it lists them. */
export const ROW_FIELD_NAMES: readonly string[] = [...rowFields({ filterNames: [], typeNames: [] }).keys()];

/** Parses and compiles an expression for the page's rows; throws FilterError with the position of what is wrong. */
export function compileRowFilter(source: string, ctx: RowFilterContext): RowTest {
  const fields = rowFields(ctx);
  const known = new Set(ctx.filterNames);
  const field = (name: string, at: number): RowField => {
    const f = fields.get(name);
    if (f !== undefined) return f;
    if (known.has(name) || name.startsWith('payloadDecoded.value.')) {
      throw new FilterError(`${name} is not in the page (the box knows ${ROW_FIELD_NAMES.join(', ')}): use mqtt-dissect report -Y '…' to make a page of the packets it selects`, at, name.length);
    }
    const hint = suggest(name, ctx.filterNames);
    throw new FilterError(`unknown field "${name}"${hint !== null ? ` (did you mean ${hint}?)` : ' (--help-fields lists them)'}`, at, name.length);
  };
  const node = (n: FilterNode): RowTest => {
    switch (n.kind) {
      case 'or': { const a = node(n.left); const b = node(n.right); return (r) => a(r) || b(r); }
      case 'and': { const a = node(n.left); const b = node(n.right); return (r) => a(r) && b(r); }
      case 'not': { const a = node(n.operand); return (r) => !a(r); }
      case 'present': {
        const f = field(n.field, n.at);
        // A flag (`retain`, `dup`, `violation`) tests that it is set, as in the CLI for our names.
        if (f.type === 'boolean') return (r) => f.get(r) === true;
        return (r) => present(f.get(r));
      }
      case 'compare': return compare(field(n.field, n.at), n.field, n.op, n.opAt, n.values);
    }
  };
  return node(parseFilter(source));
}

/** null when the expression compiles for the page, else the error as the CLI prints it (message, expression, caret). */
export function rowFilterError(source: string, ctx: RowFilterContext): string[] | null {
  try {
    compileRowFilter(source, ctx);
    return null;
  } catch (e) {
    if (e instanceof FilterError) return formatFilterError(source, e);
    throw e;
  }
}

function present(v: unknown): boolean {
  return v !== undefined && !(Array.isArray(v) && v.length === 0);
}

function anyOf<T>(v: T | readonly T[] | undefined, test: (x: T) => boolean): boolean {
  if (v === undefined) return false;
  if (!Array.isArray(v)) return test(v as T);
  for (const x of v as readonly T[]) if (test(x)) return true;
  return false;
}

function compare(f: RowField, name: string, op: CompareOp, opAt: number, values: readonly ValueNode[]): RowTest {
  if (!OPS_BY_TYPE[f.type].includes(op)) {
    throw new FilterError(`"${op}" does not apply to ${name}, a ${f.type} field (use ${OPS_BY_TYPE[f.type].join(', ')})`, opAt, op.length);
  }
  if (f.type === 'boolean') {
    const x = booleanValue(values[0]!);
    if (op === '==') return (r) => f.get(r) === x;
    return (r) => {
      const b = f.get(r);
      return b !== undefined && b !== x;
    };
  }
  if (f.type === 'number') {
    const get = f.get;
    if (op === 'in') {
      const set = new Set(values.map(parseNumber));
      return (r) => anyOf(get(r), (n) => set.has(n));
    }
    const x = parseNumber(values[0]!);
    switch (op) {
      case '==': return (r) => anyOf(get(r), (n) => n === x);
      case '!=': return (r) => {
        const v = get(r);
        return present(v) && !anyOf(v, (n) => n === x);
      };
      case '<': return (r) => anyOf(get(r), (n) => n < x);
      case '<=': return (r) => anyOf(get(r), (n) => n <= x);
      case '>': return (r) => anyOf(get(r), (n) => n > x);
      case '>=': return (r) => anyOf(get(r), (n) => n >= x);
      default: throw new Error(`unreachable: ${op} on a number`);
    }
  }
  const get = f.get;
  if (op === 'in') {
    const set = new Set(values.map((v) => closedValue(name, f.values, v)));
    return (r) => anyOf(get(r), (t) => set.has(t));
  }
  const v = values[0]!;
  switch (op) {
    case '==': {
      const x = closedValue(name, f.values, v);
      return (r) => anyOf(get(r), (t) => t === x);
    }
    case '!=': {
      const x = closedValue(name, f.values, v);
      return (r) => {
        const val = get(r);
        return present(val) && !anyOf(val, (t) => t === x);
      };
    }
    case 'contains': {
      const x = v.text;
      return (r) => anyOf(get(r), (t) => t.includes(x));
    }
    case 'matches': {
      const filter = topicFilter(v);
      return (r) => anyOf(get(r), (t) => topicMatches(filter, t));
    }
    case '~': {
      const re = regex(v);
      return (r) => anyOf(get(r), (t) => re.test(t));
    }
    default: throw new Error(`unreachable: ${op} on a string`);
  }
}
