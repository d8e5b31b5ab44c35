/**
 * fields.payloadDecoded in one line for the text view: `→ cbor {"t":21.5}`, `→ auto:gzip+json {...}`,
 * `→ cbor error: …`. The value is written as compact JSON that stops at the width (a decoded value may hold ten
 * thousand items; only the first characters are ever shown), and the line is made terminal-safe by the caller's
 * escapeText.
 */
import type { DialectJson } from '../mqtt/packets.js';

/** Characters of the decoded value shown on the one-line view. */
export const DECODED_LINE_CHARS = 80;

class Full extends Error {}

/** Compact JSON of `v`, at most `max` characters (then "…"). */
export function compactJson(v: unknown, max: number): string {
  let out = '';
  const add = (s: string): void => {
    out += s;
    if (out.length > max) throw new Full();
  };
  const walk = (x: unknown, depth: number): void => {
    if (x === null || x === undefined) return add('null');
    if (typeof x === 'string') return add(JSON.stringify(x.length > max ? x.slice(0, max + 1) : x));
    if (typeof x === 'number' || typeof x === 'boolean') return add(String(x));
    if (typeof x !== 'object') return add(JSON.stringify(String(x)));
    // Decoded values are bounded in depth already (value.ts); this guards a value from elsewhere.
    if (depth > 64) return add('…');
    if (Array.isArray(x)) {
      add('[');
      x.forEach((e, i) => {
        if (i > 0) add(',');
        walk(e, depth + 1);
      });
      return add(']');
    }
    add('{');
    let first = true;
    for (const [k, e] of Object.entries(x)) {
      if (!first) add(',');
      first = false;
      add(`${JSON.stringify(k.length > max ? k.slice(0, max + 1) : k)}:`);
      walk(e, depth + 1);
    }
    add('}');
  };
  try {
    walk(v, 0);
  } catch (e) {
    if (!(e instanceof Full)) throw e;
    return `${out.slice(0, max)}…`;
  }
  return out;
}

/** The decoded payload's part of the one-line view (without escaping), or null when there is none. */
export function decodedLine(d: DialectJson | undefined, full: boolean): string | null {
  if (d === undefined) return null;
  const format = typeof d['format'] === 'string' ? d['format'] : '?';
  const detected = typeof d['detected'] === 'string' ? d['detected'].split(' ', 1)[0]! : null;
  let s = `→ ${format}${detected !== null ? `:${detected}` : ''}`;
  const max = full ? 100_000 : DECODED_LINE_CHARS;
  if (d['value'] !== undefined) s += ` ${compactJson(d['value'], max)}`;
  const error = d['error'];
  if (error !== null && typeof error === 'object' && 'message' in error && typeof error.message === 'string') s += ` error: ${error.message}`;
  const cut = d['cut'];
  if (Array.isArray(cut) && cut.length > 0) s += ` (cut: ${cut.map(String).join('; ')})`;
  return s;
}
