/** Small shared formatters for every output mode. */

/** The date-and-time part of the last second formatted: captures hold many packets per second. */
let cachedSec = Number.NaN;
let cachedPrefix = '';
/** The last time formatted: the packets of one frame share it. */
let lastSec = Number.NaN;
let lastNsec = Number.NaN;
let lastText = '';

/** The date and time of a second up to the fraction (`2023-11-14T22:13:20.`), or null outside what Date can show. */
export function isoTimePrefix(sec: number): string | null {
  const ms = sec * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  return `${new Date(ms).toISOString().slice(0, 19)}.`;
}

/** ISO-8601 UTC with microseconds, or nanoseconds when the capture has sub-microsecond precision. */
export function isoTime(sec: number, nsec: number): string {
  if (sec === lastSec && nsec === lastNsec) return lastText;
  if (sec !== cachedSec) {
    const prefix = isoTimePrefix(sec);
    if (prefix === null) return `@${sec}.${String(nsec).padStart(9, '0')}`;
    cachedPrefix = prefix;
    cachedSec = sec;
  }
  const frac = nsec % 1000 === 0 ? String(Math.floor(nsec / 1000)).padStart(6, '0') : String(nsec).padStart(9, '0');
  lastSec = sec;
  lastNsec = nsec;
  lastText = `${cachedPrefix}${frac}Z`;
  return lastText;
}

/** How the text view writes a packet's time (-t, as tshark): r relative to the first frame (the default), a the time of
 * day, ad the date and time, e seconds since the epoch, d the time since the packet shown before. Always UTC. */
export const TIME_FORMATS = ['r', 'a', 'ad', 'e', 'd'] as const;
export type TimeFormat = (typeof TIME_FORMATS)[number];

/** `22:13:20.051904` (a) or `2023-11-14 22:13:20.051904` (ad), UTC, microseconds; `@sec.nsec` outside Date's range. */
export function clockTime(sec: number, nsec: number, withDate: boolean): string {
  const prefix = isoTimePrefix(sec);
  if (prefix === null) return `@${sec}.${String(nsec).padStart(9, '0')}`;
  const frac = String(Math.floor(nsec / 1000)).padStart(6, '0');
  return withDate ? `${prefix.slice(0, 10)} ${prefix.slice(11)}${frac}` : `${prefix.slice(11)}${frac}`;
}

/** Seconds between two capture times, with microsecond precision, as text ("12.004000"). */
export function relativeSeconds(sec: number, nsec: number, baseSec: number, baseNsec: number): string {
  let s = sec - baseSec;
  let n = nsec - baseNsec;
  if (n < 0) {
    n += 1e9;
    s -= 1;
  }
  if (s < 0) return `-${relativeSeconds(baseSec, baseNsec, sec, nsec)}`;
  return `${s}.${String(Math.floor(n / 1000)).padStart(6, '0')}`;
}

export function hexByte(b: number): string {
  return (b < 16 ? '0' : '') + b.toString(16);
}

/** "00".."ff": hex lines are built for every byte of every packet in -x. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) => hexByte(b));

export function hexBytes(bytes: Uint8Array, start = 0, end = bytes.length, sep = ' '): string {
  if (end <= start) return '';
  let s = HEX_BYTE[bytes[start]!]!;
  for (let i = start + 1; i < end; i++) s += sep + HEX_BYTE[bytes[i]!]!;
  return s;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
