/** Small shared formatters for every output mode. */

/** The date-and-time part of the last second formatted: captures hold many packets per second. */
let cachedSec = Number.NaN;
let cachedPrefix = '';

/** ISO-8601 UTC with microseconds, or nanoseconds when the capture has sub-microsecond precision. */
export function isoTime(sec: number, nsec: number): string {
  if (sec !== cachedSec) {
    const ms = sec * 1000;
    if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return `@${sec}.${String(nsec).padStart(9, '0')}`;
    cachedPrefix = `${new Date(ms).toISOString().slice(0, 19)}.`;
    cachedSec = sec;
  }
  const frac = nsec % 1000 === 0 ? String(Math.floor(nsec / 1000)).padStart(6, '0') : String(nsec).padStart(9, '0');
  return `${cachedPrefix}${frac}Z`;
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

export function hexBytes(bytes: Uint8Array, start = 0, end = bytes.length, sep = ' '): string {
  const parts: string[] = [];
  for (let i = start; i < end; i++) parts.push(hexByte(bytes[i]!));
  return parts.join(sep);
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
