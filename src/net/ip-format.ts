/** Dotted-quad text of a big-endian IPv4 address held as an unsigned 32-bit number. */
export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/**
 * RFC 5952 text of the 16 bytes at `off`: lowercase hex without leading zeros, the longest run of two or
 * more zero groups (the first one on a tie) written as "::", and IPv4-mapped addresses (::ffff:a.b.c.d)
 * in the mixed notation the RFC recommends for them.
 */
export function formatIpv6(buf: Uint8Array, off: number): string {
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    const zero = buf[off + 2 * i] === 0 && buf[off + 2 * i + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = i;
      const len = i - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;

  if (bestStart === 0 && bestLen === 5 && buf[off + 10] === 0xff && buf[off + 11] === 0xff) {
    return `::ffff:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  }

  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(':')) out += ':';
    out += ((buf[off + 2 * i] << 8) | buf[off + 2 * i + 1]).toString(16);
  }
  return out;
}
