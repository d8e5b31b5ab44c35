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

describe('one list of unsafe characters for every output', () => {
  it('holds every Cc, Cf, Zl and Zp code point of the running Unicode', async () => {
    const { isTerminalUnsafe } = await import('../src/render/unsafe.js');
    const category = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
    const missing: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (category.test(String.fromCodePoint(cp)) && !isTerminalUnsafe(cp)) missing.push(cp.toString(16));
    }
    expect(missing).toEqual([]);
  });

  it('text escapes exactly what NDJSON escapes, in every writer', async () => {
    const { TERMINAL_UNSAFE_RANGES } = await import('../src/render/unsafe.js');
    const { terminalSafeJson } = await import('../src/render/json.js');
    const { ByteOut } = await import('../src/render/bytes-out.js');
    const probes = new Set<number>([0x2028, 0x2029, 0x00ad, 0x200b, 0x200d, 0xfeff, 0xe0041, 0x41, 0xe9, 0x4e2d, 0x1f600]);
    for (const [lo, hi] of TERMINAL_UNSAFE_RANGES) for (const cp of [lo - 1, lo, hi, hi + 1]) if (cp >= 0x20 && !(cp >= 0xd800 && cp <= 0xdfff)) probes.add(cp);
    for (const cp of probes) {
      const ch = `a${String.fromCodePoint(cp)}b`;
      const textEscapes = escapeText(ch) !== ch;
      const write = (f: (o: InstanceType<typeof ByteOut>) => void): string => {
        const chunks: Buffer[] = [];
        const out = new ByteOut((c) => chunks.push(c));
        f(out);
        out.flush();
        return Buffer.concat(chunks).toString('utf8');
      };
      const utf8 = Buffer.from(ch, 'utf8');
      const fromString = write((o) => o.jsonString(ch));
      const fromUtf8 = write((o) => o.jsonUtf8(utf8, 0, utf8.length));
      const stringify = terminalSafeJson(JSON.stringify(ch));
      const label = `U+${cp.toString(16)}`;
      expect(JSON.parse(fromString), label).toBe(ch);
      expect(fromUtf8, label).toBe(fromString);
      expect(stringify, label).toBe(fromString);
      expect(fromString.includes('\\u'), label).toBe(textEscapes);
    }
  });
});
