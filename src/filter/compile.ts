/**
 * Compiles a filter tree into one predicate: names resolved, values parsed and checked against each field's type once,
 * so that a record is tested by a few closure calls and comparisons, never by walking strings or the tree.
 *
 * Semantics, as in Wireshark's display filters: a comparison with a field the record lacks is false (`!=` included);
 * a field with several values (a SUBSCRIBE's topics, a record's findings) matches `==`, `<`, `contains`, `matches`, `~`
 * and `in` when any value does, and `!=` when every value differs.
 */
import { topicMatches } from '../mqtt/topics.js';
import { PUBLISH } from '../mqtt/tables.js';
import { DECODED_VALUE, FILTER_NAMES, valuesAt, valueText, type FilterField, type NumberValue, type StringValue, type Subject } from './fields.js';
import { FilterError, parseFilter, type CompareOp, type FilterNode, type ValueNode } from './syntax.js';

export type Predicate = (s: Subject) => boolean;

export interface CompiledFilter {
  readonly source: string;
  readonly test: Predicate;
}

/** Parses and compiles; throws FilterError with the position of what is wrong. */
export function compileFilter(source: string): CompiledFilter {
  const tree = parseFilter(source);
  return { source, test: compileNode(tree) };
}

function compileNode(n: FilterNode): Predicate {
  switch (n.kind) {
    case 'or': {
      const a = compileNode(n.left);
      const b = compileNode(n.right);
      return (s) => a(s) || b(s);
    }
    case 'and': {
      const a = compileNode(n.left);
      const b = compileNode(n.right);
      return (s) => a(s) && b(s);
    }
    case 'not': {
      const a = compileNode(n.operand);
      return (s) => !a(s);
    }
    case 'present': {
      const f = decodedPath(n.field, n.at, 'string') ?? resolve(n.field, n.at);
      // A flag named our way (`retain`, `dup`, `cleanSession`) tests that it is set; a Wireshark name keeps
      // Wireshark's meaning (`mqtt.retain`: the field is there, whatever its value).
      if (f.type === 'boolean' && f.name === n.field && f.wiresharkName !== true) return (s) => f.get(s) === true;
      return presence(f);
    }
    case 'compare': {
      const f = decodedPath(n.field, n.at, literalType(n.op, n.values)) ?? resolve(n.field, n.at);
      return compare(f, n.op, n.opAt, n.values);
    }
  }
}

/** The field a name stands for (for -e as for -Y); throws FilterError for an unknown name, with a suggestion. */
export function resolveField(name: string): FilterField {
  return decodedPath(name, 0, 'string') ?? resolve(name, 0);
}

/**
 * What a value inside a decoded payload is compared as, from how the filter writes it: text for contains, matches
 * and ~; a number when every value is a bare number; a boolean for a bare true or false; text otherwise.
 */
function literalType(op: CompareOp, values: readonly ValueNode[]): 'number' | 'string' | 'boolean' {
  if (op === 'contains' || op === 'matches' || op === '~') return 'string';
  if (values.every((v) => !v.quoted && /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v.text.trim()))) return 'number';
  if (values.length === 1 && !values[0]!.quoted && (values[0]!.text === 'true' || values[0]!.text === 'false')) return 'boolean';
  return 'string';
}

/**
 * `payloadDecoded.value.KEY.KEY…`: the values at that path inside the decoded payload of a PUBLISH (--decode), typed
 * as the comparison needs (literalType); null for any other name. Values of another type at the path are not
 * compared (a number field skips text), so `payloadDecoded.value.t > 30` never matches `"t":"hot"`.
 */
function decodedPath(name: string, at: number, type: 'number' | 'string' | 'boolean'): FilterField | null {
  if (!name.startsWith(`${DECODED_VALUE}.`) || FILTER_NAMES.has(name)) return null;
  const path = name.slice(DECODED_VALUE.length + 1).split('.');
  if (path.some((k) => k.length === 0)) throw new FilterError(`"${name}": a key of the path is empty`, at, name.length);
  const valuesOf = (s: Subject): unknown[] | undefined => {
    const d = s.rec?.decoded;
    if (d?.type !== PUBLISH || d.payloadDecoded === undefined || !('value' in d.payloadDecoded)) return undefined;
    const vs = valuesAt(d.payloadDecoded['value'], path);
    return vs.length > 0 ? vs : undefined;
  };
  const base = { name, scope: 'packet' as const, describe: `the values at ${path.join('.')} in the decoded payload`, tshark: [] };
  switch (type) {
    case 'number': return { ...base, type, get: (s) => {
      const ns = valuesOf(s)?.filter((v): v is number => typeof v === 'number');
      return ns === undefined || ns.length === 0 ? undefined : ns;
    } };
    case 'boolean': return { ...base, type, get: (s) => {
      const b = valuesOf(s)?.find((v): v is boolean => typeof v === 'boolean');
      return b;
    } };
    case 'string': return { ...base, type, get: (s) => valuesOf(s)?.map(valueText) };
  }
}

/** The field a name stands for; a Wireshark name limited to some packet types reads as absent on the others. */
function resolve(name: string, at: number): FilterField {
  const r = FILTER_NAMES.get(name);
  if (r === undefined) {
    const hint = suggest(name, [...FILTER_NAMES.keys()]);
    throw new FilterError(`unknown field "${name}"${hint !== null ? ` (did you mean ${hint}?)` : ' (--help-fields lists them)'}`, at, name.length);
  }
  if (r.types === null) return r.field;
  const allowed = new Array<boolean>(16).fill(false);
  for (const t of r.types) allowed[t] = true;
  const f = r.field;
  const levels = r.levels;
  const onType = levels === undefined
    ? (s: Subject): boolean => s.rec !== null && allowed[s.rec.decoded.wireType] === true
    : (s: Subject): boolean => s.rec !== null && allowed[s.rec.decoded.wireType] === true && levels.includes(s.rec.decoded.level);
  switch (f.type) {
    case 'number': return { ...f, get: (s) => (onType(s) ? f.get(s) : undefined) };
    case 'string': return { ...f, get: (s) => (onType(s) ? f.get(s) : undefined) };
    case 'boolean': return { ...f, get: (s) => (onType(s) ? f.get(s) : undefined) };
    case 'bytes': return { ...f, get: (s) => (onType(s) ? f.get(s) : undefined) };
  }
}

function present(v: unknown): boolean {
  return v !== undefined && !(Array.isArray(v) && v.length === 0);
}

function presence(f: FilterField): Predicate {
  switch (f.type) {
    case 'number': return (s) => present(f.get(s));
    case 'string': return (s) => present(f.get(s));
    case 'boolean': return (s) => f.get(s) !== undefined;
    case 'bytes': return (s) => f.get(s) !== undefined;
  }
}

const OPS_BY_TYPE: Readonly<Record<FilterField['type'], readonly CompareOp[]>> = {
  number: ['==', '!=', '<', '<=', '>', '>=', 'in'],
  string: ['==', '!=', 'contains', 'matches', '~', 'in'],
  boolean: ['==', '!='],
  bytes: ['==', '!=', 'contains', '~'],
};

function compare(f: FilterField, op: CompareOp, opAt: number, values: readonly ValueNode[]): Predicate {
  if (!OPS_BY_TYPE[f.type].includes(op)) {
    throw new FilterError(`"${op}" does not apply to ${f.name}, a ${f.type} field (use ${OPS_BY_TYPE[f.type].join(', ')})`, opAt, op.length);
  }
  switch (f.type) {
    case 'number': return compareNumber(f.get, op, values);
    case 'string': return compareString(f, op, values);
    case 'boolean': return compareBoolean(f.get, op, values[0]!);
    case 'bytes': return compareBytes(f.get, op, values[0]!);
  }
}

function anyNumber(v: NumberValue, test: (n: number) => boolean): boolean {
  if (v === undefined) return false;
  if (typeof v === 'number') return test(v);
  for (const n of v) if (test(n)) return true;
  return false;
}

function parseNumber(v: ValueNode): number {
  const t = v.text.trim();
  const n = /^-?0x[0-9a-f]+$/i.test(t) ? (t.startsWith('-') ? -parseInt(t.slice(3), 16) : parseInt(t.slice(2), 16))
    : /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(n)) throw new FilterError(`"${v.text}" is not a number`, v.at, v.length);
  return n;
}

function compareNumber(get: (s: Subject) => NumberValue, op: CompareOp, values: readonly ValueNode[]): Predicate {
  if (op === 'in') {
    const set = new Set(values.map(parseNumber));
    return (s) => anyNumber(get(s), (n) => set.has(n));
  }
  const x = parseNumber(values[0]!);
  switch (op) {
    case '==': return (s) => anyNumber(get(s), (n) => n === x);
    case '!=': return (s) => {
      const v = get(s);
      return present(v) && !anyNumber(v, (n) => n === x);
    };
    case '<': return (s) => anyNumber(get(s), (n) => n < x);
    case '<=': return (s) => anyNumber(get(s), (n) => n <= x);
    case '>': return (s) => anyNumber(get(s), (n) => n > x);
    case '>=': return (s) => anyNumber(get(s), (n) => n >= x);
    default: throw new Error(`unreachable: ${op} on a number`);
  }
}

function anyString(v: StringValue, test: (t: string) => boolean): boolean {
  if (v === undefined) return false;
  if (typeof v === 'string') return test(v);
  for (const t of v) if (test(t)) return true;
  return false;
}

/** A value of a field with a closed set of values, in its canonical spelling (`publish` is PUBLISH). */
function closedValue(f: FilterField, v: ValueNode): string {
  const allowed = f.values;
  if (allowed === undefined) return v.text;
  const exact = allowed.find((a) => a === v.text) ?? allowed.find((a) => a.toLowerCase() === v.text.toLowerCase());
  if (exact !== undefined) return exact;
  const hint = suggest(v.text, allowed);
  throw new FilterError(`${f.name} is never "${v.text}"${hint !== null ? ` (did you mean ${hint}?)` : ` (it is one of ${allowed.join(', ')})`}`, v.at, v.length);
}

function regex(v: ValueNode): RegExp {
  // Wireshark's way to ask for a case-insensitive match.
  const insensitive = v.text.startsWith('(?i)');
  try {
    return new RegExp(insensitive ? v.text.slice(4) : v.text, insensitive ? 'iu' : 'u');
  } catch (e) {
    throw new FilterError(`not a regular expression: ${e instanceof Error ? e.message.replace(/^Invalid regular expression: /, '') : String(e)}`, v.at, v.length);
  }
}

function topicFilter(v: ValueNode): string {
  const f = v.text;
  const levels = f.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if ((l.includes('#') && (l !== '#' || i !== levels.length - 1)) || (l.includes('+') && l !== '+')) {
      throw new FilterError(`"${f}" is not a topic filter: "+" must be a whole level and "#" the whole last level`, v.at, v.length);
    }
  }
  return f;
}

function compareString(f: FilterField & { type: 'string' }, op: CompareOp, values: readonly ValueNode[]): Predicate {
  const get = f.get;
  if (op === 'in') {
    const set = new Set(values.map((v) => closedValue(f, v)));
    return (s) => anyString(get(s), (t) => set.has(t));
  }
  const v = values[0]!;
  switch (op) {
    case '==': {
      const x = closedValue(f, v);
      return (s) => anyString(get(s), (t) => t === x);
    }
    case '!=': {
      const x = closedValue(f, v);
      return (s) => {
        const val = get(s);
        return present(val) && !anyString(val, (t) => t === x);
      };
    }
    case 'contains': {
      const x = v.text;
      return (s) => anyString(get(s), (t) => t.includes(x));
    }
    case 'matches': {
      const filter = topicFilter(v);
      return (s) => anyString(get(s), (t) => topicMatches(filter, t));
    }
    case '~': {
      const re = regex(v);
      return (s) => anyString(get(s), (t) => re.test(t));
    }
    default: throw new Error(`unreachable: ${op} on a string`);
  }
}

function compareBoolean(get: (s: Subject) => boolean | undefined, op: CompareOp, v: ValueNode): Predicate {
  const t = v.text.toLowerCase();
  const x = t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : null;
  if (x === null) throw new FilterError(`"${v.text}" is not true, false, 1 or 0`, v.at, v.length);
  if (op === '==') return (s) => get(s) === x;
  return (s) => {
    const b = get(s);
    return b !== undefined && b !== x;
  };
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** A bytes value: `aa:bb:cc` (Wireshark's byte string) unquoted, otherwise the text's UTF-8 bytes. */
function bytesValue(v: ValueNode): Uint8Array {
  if (!v.quoted && /^[0-9a-f]{2}([:.-][0-9a-f]{2})+$/i.test(v.text)) {
    return Uint8Array.from(v.text.split(/[:.-]/), (h) => parseInt(h, 16));
  }
  return utf8.encode(v.text);
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  if (needle.length === 0) return 0;
  const first = needle[0]!;
  const last = hay.length - needle.length;
  outer: for (let i = hay.indexOf(first); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compareBytes(get: (s: Subject) => Uint8Array | undefined, op: CompareOp, v: ValueNode): Predicate {
  if (op === '~') {
    const re = regex(v);
    return (s) => {
      const b = get(s);
      return b !== undefined && re.test(utf8Decoder.decode(b));
    };
  }
  const x = bytesValue(v);
  switch (op) {
    case '==': return (s) => {
      const b = get(s);
      return b !== undefined && sameBytes(b, x);
    };
    case '!=': return (s) => {
      const b = get(s);
      return b !== undefined && !sameBytes(b, x);
    };
    case 'contains': return (s) => {
      const b = get(s);
      return b !== undefined && indexOf(b, x) >= 0;
    };
    default: throw new Error(`unreachable: ${op} on bytes`);
  }
}

/** The closest known name to a misspelt one (case, a dropped or swapped letter, a missing prefix), or null. */
export function suggest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    if (cl === w) return c;
    const d = distance(w, cl);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.min(3, Math.floor(word.length / 3))) ? best : null;
}

/** Damerau-Levenshtein (optimal string alignment) distance, bounded to short words. */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Infinity;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The error as the CLI prints it: the message, the expression, and a caret line under the place. */
export function formatFilterError(source: string, e: FilterError): string[] {
  // Keep the expression one line and terminal-safe; the caret counts characters of what is shown.
  const shown = source.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return [e.message, `  ${shown}`, `  ${' '.repeat(Math.min(e.at, shown.length))}${'^'.repeat(Math.min(e.length, Math.max(1, shown.length - e.at)))}`];
}

/** null when the expression compiles, else the lines of the error (message, expression, caret). */
export function checkFilter(source: string): string[] | null {
  try {
    compileFilter(source);
    return null;
  } catch (e) {
    if (e instanceof FilterError) return formatFilterError(source, e);
    throw e;
  }
}
