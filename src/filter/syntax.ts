/**
 * The filter language's syntax (`-Y EXPR`): tokens and a tree, every node with its position in the expression so
 * that an error can put a caret under the place it is about. Close to Wireshark's display filters where they overlap
 * (`==`/`eq`, `&&`/`and`, `in {…}`, `contains`, unquoted values), plus `matches` with MQTT wildcard semantics and `~`
 * for regular expressions. What a value means (number, string, bytes) is decided by the field it is compared with,
 * so the parser keeps each value's text as written.
 */

export class FilterError extends Error {
  /** Where in the expression the error is (0-based) and how many characters it covers. */
  readonly at: number;
  readonly length: number;
  constructor(message: string, at: number, length = 1) {
    super(message);
    this.at = at;
    this.length = Math.max(1, length);
  }
}

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'contains' | 'matches' | '~' | 'in';

/** A value as written: quoted (a string with its escapes undone) or a bare word (`PUBLISH`, `10.0.0.1`, `aa:bb`, `3`). */
export interface ValueNode {
  readonly text: string;
  readonly quoted: boolean;
  readonly at: number;
  readonly length: number;
}

export type FilterNode =
  | { readonly kind: 'or' | 'and'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly operand: FilterNode }
  /** A bare field: present on the record. */
  | { readonly kind: 'present'; readonly field: string; readonly at: number }
  | { readonly kind: 'compare'; readonly field: string; readonly at: number; readonly op: CompareOp; readonly opAt: number; readonly values: readonly ValueNode[] };

type Token =
  | { t: 'word'; text: string; at: number; length: number }
  | { t: 'string'; text: string; at: number; length: number }
  | { t: 'op'; text: string; at: number; length: number }
  | { t: 'end'; at: number; length: number };

/** Word operators, as Wireshark spells them, and their symbols. */
const WORD_OPS: Readonly<Record<string, string>> = {
  eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=', and: '&&', or: '||', not: '!',
  contains: 'contains', matches: 'matches', in: 'in',
};
const SYMBOLS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '~', '(', ')', '{', '}', ','];
/** A bare word: field names (`mqtt.topic`, `properties.topicAlias`) and unquoted values (`10.0.0.1`, `a/+/#`, `::1`). */
const WORD_CHAR = /[A-Za-z0-9_.:/+#$*\-[\]@%]/;

/** The longest expression read (a filter is typed by a person; a huge one is a mistake or an attack). */
export const MAX_FILTER_CHARS = 10_000;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === '"' || c === "'") {
      const start = i;
      let text = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new FilterError('unterminated string', start, src.length - start);
        const d = src[i]!;
        if (d === c) { i++; break; }
        if (d === '\\') {
          const e = src[i + 1];
          if (e === undefined) throw new FilterError('unterminated string', start, src.length - start);
          const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '0': '\0', '\\': '\\', '"': '"', "'": "'" };
          if (simple[e] !== undefined) { text += simple[e]; i += 2; continue; }
          const hex = e === 'x' ? src.slice(i + 2, i + 4) : e === 'u' ? src.slice(i + 2, i + 6) : '';
          if (hex !== '' && /^[0-9A-Fa-f]+$/.test(hex) && hex.length === (e === 'x' ? 2 : 4)) {
            text += String.fromCharCode(parseInt(hex, 16));
            i += 2 + hex.length;
            continue;
          }
          throw new FilterError(`unknown escape \\${e} (use \\\\, \\", \\n, \\t, \\xHH or \\uHHHH)`, i, 2);
        }
        text += d;
        i++;
      }
      out.push({ t: 'string', text, at: start, length: i - start });
      continue;
    }
    const sym = SYMBOLS.find((s) => src.startsWith(s, i));
    if (sym !== undefined) {
      out.push({ t: 'op', text: sym, at: i, length: sym.length });
      i += sym.length;
      continue;
    }
    if (WORD_CHAR.test(c)) {
      const start = i;
      while (i < src.length && WORD_CHAR.test(src[i]!)) i++;
      const text = src.slice(start, i);
      const op = WORD_OPS[text];
      out.push(op !== undefined ? { t: 'op', text: op, at: start, length: i - start } : { t: 'word', text, at: start, length: i - start });
      continue;
    }
    if (c === '=') throw new FilterError('"=" is not an operator: use "==" to compare', i);
    if (c === '&' || c === '|') throw new FilterError(`"${c}" is not an operator: use "${c}${c}"`, i);
    throw new FilterError(`unexpected character "${c === '\u0000' ? '\\0' : c}"`, i);
  }
  out.push({ t: 'end', at: src.length, length: 1 });
  return out;
}

function isOp(t: Token, text: string): boolean {
  return t.t === 'op' && t.text === text;
}

const COMPARE_OPS = new Set<string>(['==', '!=', '<', '<=', '>', '>=', 'contains', 'matches', '~', 'in']);

/** Parses one filter expression; throws FilterError. */
export function parseFilter(src: string): FilterNode {
  if (src.length > MAX_FILTER_CHARS) throw new FilterError(`the expression is longer than ${MAX_FILTER_CHARS} characters`, 0, 1);
  const tokens = tokenize(src);
  let p = 0;
  const peek = (): Token => tokens[p]!;
  const next = (): Token => tokens[p++]!;
  // Nesting is bounded so a hostile expression cannot overflow the stack.
  let depth = 0;
  const MAX_DEPTH = 200;

  const describe = (t: Token): string => (t.t === 'end' ? 'the end of the expression' : `"${t.t === 'string' ? src.slice(t.at, t.at + t.length) : t.text}"`);

  function orExpr(): FilterNode {
    let left = andExpr();
    while (isOp(peek(), '||')) {
      next();
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  }
  function andExpr(): FilterNode {
    let left = notExpr();
    while (isOp(peek(), '&&')) {
      next();
      left = { kind: 'and', left, right: notExpr() };
    }
    return left;
  }
  function notExpr(): FilterNode {
    const t = peek();
    if (t.t === 'op' && t.text === '!') {
      next();
      if (++depth > MAX_DEPTH) throw new FilterError('the expression nests too deeply', t.at);
      const operand = notExpr();
      depth--;
      return { kind: 'not', operand };
    }
    return primary();
  }
  function primary(): FilterNode {
    const t = next();
    if (t.t === 'op' && t.text === '(') {
      if (++depth > MAX_DEPTH) throw new FilterError('the expression nests too deeply', t.at);
      const inner = orExpr();
      depth--;
      const close = next();
      if (close.t !== 'op' || close.text !== ')') throw new FilterError(`expected ")" to close the "(" at column ${t.at + 1}, found ${describe(close)}`, close.at, close.length);
      return inner;
    }
    if (t.t !== 'word') {
      throw new FilterError(t.t === 'end' ? 'expected a field name at the end of the expression' : `expected a field name, found ${describe(t)}`, t.at, t.length);
    }
    const op = peek();
    if (op.t !== 'op' || !COMPARE_OPS.has(op.text)) return { kind: 'present', field: t.text, at: t.at };
    next();
    const compareOp = op.text as CompareOp; // in COMPARE_OPS, checked just above
    if (compareOp === 'in') {
      const open = next();
      if (open.t !== 'op' || open.text !== '{') throw new FilterError(`expected "{" after "in", found ${describe(open)}`, open.at, open.length);
      const values: ValueNode[] = [];
      for (;;) {
        const v = peek();
        if (v.t === 'op' && v.text === '}') { next(); break; }
        if (v.t === 'op' && v.text === ',' && values.length > 0) { next(); continue; }
        values.push(value());
      }
      if (values.length === 0) throw new FilterError('an empty set {} matches nothing: list at least one value', open.at, 2);
      return { kind: 'compare', field: t.text, at: t.at, op: compareOp, opAt: op.at, values };
    }
    return { kind: 'compare', field: t.text, at: t.at, op: compareOp, opAt: op.at, values: [value()] };
  }
  function value(): ValueNode {
    const v = next();
    if (v.t === 'string') return { text: v.text, quoted: true, at: v.at, length: v.length };
    if (v.t === 'word') return { text: v.text, quoted: false, at: v.at, length: v.length };
    throw new FilterError(`expected a value, found ${describe(v)}`, v.at, v.length);
  }

  const tree = orExpr();
  const rest = peek();
  if (rest.t !== 'end') {
    const hint = rest.t === 'word' ? ' (join tests with "&&" or "||")' : '';
    throw new FilterError(`unexpected ${describe(rest)}${hint}`, rest.at, rest.length);
  }
  return tree;
}
