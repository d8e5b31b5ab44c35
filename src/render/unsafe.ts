/**
 * The one declaration of the characters no output mode writes raw: capture bytes are untrusted, and these can move the
 * cursor, hide text or make it read differently on a terminal. Text modes show them as escapes (escape.ts), NDJSON as
 * \u escapes with the same parsed value (bytes-out.ts, json.ts).
 *
 * They are the Unicode categories Cc (C0, DEL, C1), Cf (format characters: soft hyphen, zero-width space and joiners,
 * bidi marks, embeddings, overrides and isolates, invisible operators, the byte-order mark, interlinear annotation,
 * tag characters), Zl and Zp (U+2028, U+2029), the Hangul fillers that render as blank, and the noncharacters
 * U+FFFE, U+FFFF. test/render-escape.test.ts checks the list against the categories of the running Node.
 */
export const TERMINAL_UNSAFE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x0000, 0x001f], // C0 controls
  [0x007f, 0x009f], // DEL, C1 controls (0x9b is CSI)
  [0x00ad, 0x00ad], // soft hyphen
  [0x0600, 0x0605], // Arabic number signs
  [0x061c, 0x061c], // Arabic letter mark
  [0x06dd, 0x06dd],
  [0x070f, 0x070f],
  [0x0890, 0x0891],
  [0x08e2, 0x08e2],
  [0x115f, 0x1160], // Hangul choseong / jungseong fillers
  [0x180e, 0x180e], // Mongolian vowel separator
  [0x200b, 0x200f], // zero-width space, non-joiner, joiner; LRM, RLM
  [0x2028, 0x202e], // line and paragraph separators; bidi embeddings and overrides
  [0x2060, 0x2064], // word joiner, invisible operators
  [0x2066, 0x206f], // bidi isolates; deprecated format characters
  [0x3164, 0x3164], // Hangul filler
  [0xfeff, 0xfeff], // zero-width no-break space (byte-order mark)
  [0xffa0, 0xffa0], // halfwidth Hangul filler
  [0xfff9, 0xfffb], // interlinear annotation
  [0xfffe, 0xffff], // noncharacters
  [0x110bd, 0x110bd],
  [0x110cd, 0x110cd],
  [0x13430, 0x1343f], // Egyptian hieroglyph format controls
  [0x1bca0, 0x1bca3], // shorthand format controls
  [0x1d173, 0x1d17a], // musical symbol format controls
  [0xe0001, 0xe0001], // language tag
  [0xe0020, 0xe007f], // tag characters (can smuggle invisible ASCII)
];

/** unsafeBmp[c] is 1 for every UTF-16 code unit value in the set (BMP code points). */
export const UNSAFE_BMP: Uint8Array = (() => {
  const t = new Uint8Array(0x10000);
  for (const [lo, hi] of TERMINAL_UNSAFE_RANGES) for (let c = lo; c <= Math.min(hi, 0xffff); c++) t[c] = 1;
  return t;
})();

/** Whether a code point (any plane) is in the set. */
export function isTerminalUnsafe(cp: number): boolean {
  if (cp <= 0xffff) return UNSAFE_BMP[cp] === 1;
  for (const [lo, hi] of TERMINAL_UNSAFE_RANGES) if (cp >= lo && cp <= hi) return true;
  return false;
}

const hex4 = (c: number): string => c.toString(16).padStart(4, '0');

/**
 * A regular expression source (no `u` flag: fast on UTF-16) matching one character of the set: BMP code points as a
 * class, others as their surrogate pairs.
 */
export function unsafeCharSource(exclude: (lo: number, hi: number) => boolean = () => false): string {
  const bmp: string[] = [];
  const astral: string[] = [];
  for (const [lo, hi] of TERMINAL_UNSAFE_RANGES) {
    if (exclude(lo, hi)) continue;
    if (hi <= 0xffff) {
      bmp.push(lo === hi ? `\\u${hex4(lo)}` : `\\u${hex4(lo)}-\\u${hex4(hi)}`);
      continue;
    }
    const high = 0xd800 + ((lo - 0x10000) >> 10);
    if (high !== 0xd800 + ((hi - 0x10000) >> 10)) throw new Error('an astral range must stay within one high surrogate');
    const low = (cp: number): number => 0xdc00 + ((cp - 0x10000) & 0x3ff);
    astral.push(`\\u${hex4(high)}[\\u${hex4(low(lo))}-\\u${hex4(low(hi))}]`);
  }
  return `(?:[${bmp.join('')}]|${astral.join('|')})`;
}
