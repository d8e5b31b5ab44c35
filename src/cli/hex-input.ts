/**
 * Bytes pasted from anywhere: "10 2d 00 04", "102d0004", "0x10,0x2d", "\x10\x2d", C arrays, Wireshark/tcpdump/xxd
 * hex dumps with offsets and an ASCII column.
 */
export class HexInputError extends Error {}

/** Offset column of a hex dump line: "0000  ", "0x0010:  ", "00000010: ". */
const DUMP_OFFSET = /^\s*(?:0x)?[0-9a-f]{4,8}:?\s{1,}/i;
const HEX_PAIR = /^[0-9a-f]{2}$/i;

function dumpLineBytes(line: string): string[] | null {
  const m = DUMP_OFFSET.exec(line);
  if (!m) return null;
  const rest = line.slice(m[0].length);
  // xxd groups bytes in fours ("102d 0004"); Wireshark and tcpdump -X print pairs. Either way the ASCII column
  // follows after a run of two or more spaces once the hex runs out.
  const groups: string[][] = [];
  for (const group of rest.split(/ {2,}|\t/)) {
    const parts = group.trim().split(/\s+/).filter((p) => p.length > 0);
    if (parts.length === 0) continue;
    if (!parts.every((p) => /^[0-9a-f]+$/i.test(p) && p.length % 2 === 0 && p.length <= 8)) break;
    const pairs: string[] = [];
    for (const p of parts) for (let i = 0; i < p.length; i += 2) pairs.push(p.slice(i, i + 2));
    groups.push(pairs);
  }
  // An ASCII column that happens to look like hex ("F0" for the bytes 46 30) has one character per byte before it.
  if (groups.length >= 2) {
    const last = rest.trim().split(/ {2,}|\t/).filter((g) => g.trim().length > 0)[groups.length - 1]?.trim() ?? '';
    const before = groups.slice(0, -1).reduce((n, g) => n + g.length, 0);
    if (!/\s/.test(last) && last.length === before) groups.pop();
  }
  return groups.flat();
}

export function parseHexInput(text: string): Uint8Array {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  const dumpLines = lines.map(dumpLineBytes);
  let pairs: string[];
  // A one-line dump is told from plain hex by its offset: the first line of a dump is at offset zero.
  const looksLikeDump = lines.length > 1 || (lines.length === 1 && /^\s*(?:0x)?0{4,8}(?::\s+|\s{2,})/i.test(lines[0]!));
  if (looksLikeDump && dumpLines.every((d) => d !== null && d.length > 0)) {
    pairs = dumpLines.flatMap((d) => d!);
  } else {
    const cleaned = text
      .replace(/0x/gi, ' ')
      .replace(/\\x/gi, ' ')
      .replace(/[,;:{}[\]()"'`]/g, ' ')
      .trim();
    const tokens = cleaned.split(/\s+/).filter((t) => t.length > 0);
    pairs = [];
    for (const t of tokens) {
      if (!/^[0-9a-f]+$/i.test(t)) throw new HexInputError(`not hex: "${t.slice(0, 20)}"`);
      if (t.length % 2 === 1) {
        if (t.length === 1) pairs.push(`0${t}`);
        else throw new HexInputError(`odd number of hex digits in "${t.slice(0, 20)}"`);
        continue;
      }
      for (let i = 0; i < t.length; i += 2) pairs.push(t.slice(i, i + 2));
    }
  }
  if (pairs.length === 0) throw new HexInputError('no bytes given');
  const out = new Uint8Array(pairs.length);
  pairs.forEach((p, i) => {
    if (!HEX_PAIR.test(p)) throw new HexInputError(`not hex: "${p}"`);
    out[i] = parseInt(p, 16);
  });
  return out;
}
