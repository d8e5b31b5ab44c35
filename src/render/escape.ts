/**
 * Terminal safety: capture bytes are untrusted, so every string from a capture passes through here before a human
 * output mode prints it. The characters of unsafe.ts (controls, format characters such as bidi overrides, zero-width
 * and soft hyphen, line and paragraph separators) are shown as escapes, never written raw.
 */
import { unsafeCharSource } from './unsafe.js';

const UNSAFE = new RegExp(unsafeCharSource(), 'g');

const NAMED: Record<string, string> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\u001b': '\\e',
  '\u0007': '\\a',
  '\b': '\\b',
  '\u0000': '\\0',
};

export function escapeText(s: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(s)) return s;
  return s.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** A quoted, escaped string for display: "MQTT". Backslashes and quotes are escaped too so the quoting stays honest. */
export function quote(s: string): string {
  // Most strings (topics, ids) hold neither character: two native searches are cheaper than two regex replaces.
  const plain = s.indexOf('\\') < 0 && s.indexOf('"') < 0;
  return `"${escapeText(plain ? s : s.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))}"`;
}
