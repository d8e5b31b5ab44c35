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
import { booleanValue, closedValue, formatFilterError, OPS_BY_TYPE, parseNumber, regex, suggest, topicFilter } from './values.js';

export { formatFilterError, suggest } from './values.js';

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

function compareString(f: FilterField & { type: 'string' }, op: CompareOp, values: readonly ValueNode[]): Predicate {
  const get = f.get;
  if (op === 'in') {
    const set = new Set(values.map((v) => closedValue(f.name, f.values, v)));
    return (s) => anyString(get(s), (t) => set.has(t));
  }
  const v = values[0]!;
  switch (op) {
    case '==': {
      const x = closedValue(f.name, f.values, v);
      return (s) => anyString(get(s), (t) => t === x);
    }
    case '!=': {
      const x = closedValue(f.name, f.values, v);
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
  const x = booleanValue(v);
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
