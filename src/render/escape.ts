/**
 * Terminal safety: capture bytes are untrusted, so every string from a capture passes through here before a human
 * output mode prints it. C0 controls, DEL, C1 controls (U+0080..U+009F, e.g. the 0x9b CSI) and the bidi overrides that
 * can disguise text are shown as escapes, never written raw.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff]/g;

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
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** A quoted, escaped string for display: "MQTT". Backslashes and quotes are escaped too so the quoting stays honest. */
export function quote(s: string): string {
  // Most strings (topics, ids) hold neither character: two native searches are cheaper than two regex replaces.
  const plain = s.indexOf('\\') < 0 && s.indexOf('"') < 0;
  return `"${escapeText(plain ? s : s.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))}"`;
}
