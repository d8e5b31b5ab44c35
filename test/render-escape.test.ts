import { describe, expect, it } from 'vitest';
import { escapeText, quote } from '../src/render/escape.js';
import { decideColor } from '../src/render/color.js';

describe('terminal safety', () => {
  it('never lets C0, DEL, C1 or bidi controls through', () => {
    const hostile = 'a\u001b[31mred\u0007\b\r\n\u007f\u009b2J\u202eevil';
    const safe = escapeText(hostile);
    expect(safe).toBe('a\\e[31mred\\a\\b\\r\\n\\x7f\\x9b2J\\u{202e}evil');
    for (const ch of safe) {
      const c = ch.codePointAt(0)!;
      expect(c >= 0x20 && c !== 0x7f && !(c >= 0x80 && c <= 0x9f)).toBe(true);
    }
  });

  it('leaves ordinary text, including non-ASCII letters, alone', () => {
    expect(escapeText('température/°C/北京')).toBe('température/°C/北京');
  });

  it('quotes with escaped quotes and backslashes', () => {
    expect(quote('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});

describe('colour decision', () => {
  it('flag wins, then NO_COLOR, then FORCE_COLOR, then the terminal', () => {
    expect(decideColor({ flag: true, isTTY: false, env: { NO_COLOR: '1' } })).toBe(true);
    expect(decideColor({ flag: false, isTTY: true, env: {} })).toBe(false);
    expect(decideColor({ flag: undefined, isTTY: true, env: { NO_COLOR: '1' } })).toBe(false);
    expect(decideColor({ flag: undefined, isTTY: false, env: { FORCE_COLOR: '1' } })).toBe(true);
    expect(decideColor({ flag: undefined, isTTY: true, env: {} })).toBe(true);
    expect(decideColor({ flag: undefined, isTTY: false, env: {} })).toBe(false);
  });
});

describe('NDJSON is terminal-safe too', () => {
  it('escapes DEL, C1 and bidi controls without changing the parsed value', async () => {
    const { terminalSafeJson } = await import('../src/render/json.js');
    const value = { topic: 'a\u007fb\u009bc\u202ed\u2028e', plain: 'température' };
    const text = terminalSafeJson(JSON.stringify(value));
    expect(text).not.toMatch(/[\u007f-\u009f\u202e\u2028]/);
    expect(text).toContain('temp\u00e9rature');
    expect(JSON.parse(text)).toEqual(value);
  });
});
