/**
 * How the filter language reads a value and reports an error, shared by the CLI's compiler (src/filter/compile.ts) and
 * the HTML page's evaluator (src/page/row-filter.ts, bundled into the page's script): numbers, closed sets of values,
 * regular expressions, topic filters, "did you mean" and the error's caret line. Imports only the syntax, so the page
 * can carry it.
 */
import { FilterError, type CompareOp, type ValueNode } from './syntax.js';

export function parseNumber(v: ValueNode): number {
  const t = v.text.trim();
  const n = /^-?0x[0-9a-f]+$/i.test(t) ? (t.startsWith('-') ? -parseInt(t.slice(3), 16) : parseInt(t.slice(2), 16))
    : /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(n)) throw new FilterError(`"${v.text}" is not a number`, v.at, v.length);
  return n;
}

/**
 * A value of a field with a closed set of values (`allowed`), in its canonical spelling (`publish` is PUBLISH); the
 * value as written when the set is open (undefined).
 */
export function closedValue(name: string, allowed: readonly string[] | undefined, v: ValueNode): string {
  if (allowed === undefined) return v.text;
  const exact = allowed.find((a) => a === v.text) ?? allowed.find((a) => a.toLowerCase() === v.text.toLowerCase());
  if (exact !== undefined) return exact;
  const hint = suggest(v.text, allowed);
  throw new FilterError(`${name} is never "${v.text}"${hint !== null ? ` (did you mean ${hint}?)` : ` (it is one of ${allowed.join(', ')})`}`, v.at, v.length);
}

export function regex(v: ValueNode): RegExp {
  // Wireshark's way to ask for a case-insensitive match.
  const insensitive = v.text.startsWith('(?i)');
  try {
    return new RegExp(insensitive ? v.text.slice(4) : v.text, insensitive ? 'iu' : 'u');
  } catch (e) {
    throw new FilterError(`not a regular expression: ${e instanceof Error ? e.message.replace(/^Invalid regular expression: /, '') : String(e)}`, v.at, v.length);
  }
}

export function topicFilter(v: ValueNode): string {
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

/** The operators each type of field takes. */
export const OPS_BY_TYPE: Readonly<Record<'number' | 'string' | 'boolean' | 'bytes', readonly CompareOp[]>> = {
  number: ['==', '!=', '<', '<=', '>', '>=', 'in'],
  string: ['==', '!=', 'contains', 'matches', '~', 'in'],
  boolean: ['==', '!='],
  bytes: ['==', '!=', 'contains', '~'],
};

/** A boolean value as written (true, false, 1, 0, any case). */
export function booleanValue(v: ValueNode): boolean {
  const t = v.text.toLowerCase();
  const x = t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : null;
  if (x === null) throw new FilterError(`"${v.text}" is not true, false, 1 or 0`, v.at, v.length);
  return x;
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

