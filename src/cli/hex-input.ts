/**
 * Bytes pasted from anywhere: "10 2d 00 04", "102d0004", "0x10,0x2d", "\x10\x2d", Wireshark's "Copy as C array" and
 * "Copy as escaped string", hex dumps with offsets and an ASCII column (Wireshark, tshark -x with its section titles,
 * tcpdump -X, xxd, hexdump -C with its `*` for repeated lines), and base64.
 */
export class HexInputError extends Error {}

/** Offset column of a hex dump line: "0000  ", "0x0010:  ", "00000010: ". */
const DUMP_OFFSET = /^\s*(?:0x)?[0-9a-f]{4,8}:?\s{1,}/i;
const HEX_PAIR = /^[0-9a-f]{2}$/i;

function dumpLineBytes(line: string): string[] | null {
  const m = DUMP_OFFSET.exec(line);
  if (!m) return null;
  // hexdump -C closes the hex with "  |ascii|".
  const bar = line.indexOf('  |', m[0].length);
  const rest = line.slice(m[0].length, bar < 0 ? undefined : bar);
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

/** What the text was read as, for the note on stderr; null for plain hex. */
export type PastedFormat = 'hex dump' | 'C array' | 'escaped string' | 'base64' | null;

export interface Pasted {
  /** The bytes of each block in order (a dump with several frames, as tshark -x prints them, gives one per frame). */
  blocks: Uint8Array[];
  format: PastedFormat;
  /** A note about the input worth telling (which tshark section was used), or null. */
  note: string | null;
}

/** A tshark -x section title: "Frame (74 bytes):", "Reassembled TCP (1234 bytes):", "Decompressed ... (n bytes):". */
const SECTION_TITLE = /^\s*([A-Za-z][\w .-]*) \((\d+) bytes?\):\s*$/;
/** A line of hexdump -C saying the previous line repeats up to the next offset. */
const REPEAT = /^\s*\*\s*$/;
/** A dump line with nothing but an offset: hexdump -C and od end with the total length. */
const OFFSET_ONLY = /^\s*(?:0x)?([0-9a-f]{4,8}):?\s*$/i;

interface DumpLine {
  offset: number;
  bytes: string[];
}

/** Offset of a dump line (hex), or -1. */
function offsetOf(line: string): number {
  const m = /^\s*(?:0x)?([0-9a-f]{4,8})/i.exec(line);
  return m ? parseInt(m[1]!, 16) : -1;
}

/**
 * A hex dump split into its blocks (a blank line, a section title or an offset back at zero starts the next), or null
 * when some line is not a dump line.
 */
function readDump(lines: string[]): { blocks: string[][]; note: string | null } | null {
  const sections: Array<{ title: string | null; lines: DumpLine[]; repeatAt: number[] }> = [];
  let current: (typeof sections)[number] | null = null;
  let blank = true;
  for (const raw of lines) {
    if (raw.trim().length === 0) {
      blank = true;
      continue;
    }
    const title = SECTION_TITLE.exec(raw);
    if (title) {
      current = { title: title[1]!, lines: [], repeatAt: [] };
      sections.push(current);
      blank = false;
      continue;
    }
    if (REPEAT.test(raw)) {
      if (!current || current.lines.length === 0) return null;
      current.repeatAt.push(current.lines.length);
      continue;
    }
    const only = OFFSET_ONLY.exec(raw);
    const bytes = only ? [] : dumpLineBytes(raw);
    if (bytes === null) return null;
    const offset = offsetOf(raw);
    if (!current || (blank && current.lines.length > 0 && current.title === null) || (offset === 0 && current.lines.length > 0)) {
      current = { title: current && current.lines.length === 0 ? current.title : null, lines: [], repeatAt: [] };
      if (sections.length > 0 && sections[sections.length - 1]!.lines.length === 0) sections.pop();
      sections.push(current);
    }
    blank = false;
    current.lines.push({ offset, bytes });
  }
  const blocks: string[][] = [];
  for (const sec of sections) {
    const out: string[] = [];
    sec.lines.forEach((l, i) => {
      // hexdump -C: "*" repeats the line before it until the offset of the line after it.
      if (sec.repeatAt.includes(i) && i > 0) {
        const prev = sec.lines[i - 1]!;
        if (prev.bytes.length === 0) return;
        for (let at = prev.offset + prev.bytes.length; at < l.offset; at += prev.bytes.length) out.push(...prev.bytes.slice(0, Math.min(prev.bytes.length, l.offset - at)));
      }
      out.push(...l.bytes);
    });
    if (out.length > 0) blocks.push(out);
  }
  if (blocks.length === 0) return null;
  // tshark -x prints a frame and, when the frame completes a reassembled message, that message too: the message is
  // what explain is for.
  const titled = sections.filter((sec) => sec.title !== null && sec.lines.length > 0);
  if (titled.length > 1) {
    const i = titled.findIndex((sec) => /^Reassembled TCP/i.test(sec.title!));
    if (i >= 0) {
      const at = sections.indexOf(titled[i]!);
      const nonEmpty = sections.filter((sec) => sec.lines.some((l) => l.bytes.length > 0));
      return { blocks: [blocks[nonEmpty.indexOf(sections[at]!)]!], note: `used the "${titled[i]!.title}" section of the dump` };
    }
  }
  return { blocks, note: null };
}

/**
 * Base64 that cannot be hex (it uses characters beyond 0-9a-f), is well-formed and is one run (line breaks at most:
 * hex is pasted with spaces, base64 without): taken as base64 without a flag.
 */
function looksLikeBase64(text: string, compact: string): boolean {
  return !/[ \t]/.test(text.trim()) && compact.length >= 8 && compact.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact) && /[g-zG-Z+/=]/.test(compact);
}

function decodeBase64(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) throw new HexInputError('not base64');
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

function pairsToBytes(pairs: string[]): Uint8Array {
  const out = new Uint8Array(pairs.length);
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    if (!HEX_PAIR.test(p)) throw new HexInputError(`not hex: "${p}"`);
    out[i] = parseInt(p, 16);
  }
  return out;
}

/** Wireshark's "Copy as C array": `char packet_bytes[] = { 0x10, ... };`, perhaps with comments. */
const C_DECLARATION = /^\s*(?:(?:static|const|unsigned|signed|char|uint8_t|u_char|guint8)\s+)+\**\s*[A-Za-z_]\w*\s*\[\s*\d*\s*\]\s*=\s*\{/;

/** Reads pasted text; `base64` forces base64. */
export function readPasted(text: string, opts: { base64?: boolean } = {}): Pasted {
  if (opts.base64 === true) return { blocks: [decodeBase64(text)], format: 'base64', note: null };
  const lines = text.split(/\r?\n/);
  const filled = lines.filter((l) => l.trim().length > 0);
  // A one-line dump is told from plain hex by its offset: the first line of a dump is at offset zero.
  const looksLikeDump = filled.length > 1 || (filled.length === 1 && /^\s*(?:0x)?0{4,8}(?::\s+|\s{2,})/i.test(filled[0]!));
  if (looksLikeDump) {
    const dump = readDump(lines);
    if (dump) return { blocks: dump.blocks.map(pairsToBytes), format: 'hex dump', note: dump.note };
  }
  const compact = text.replace(/\s+/g, '');
  if (looksLikeBase64(text, compact)) return { blocks: [decodeBase64(compact)], format: 'base64', note: null };
  let format: PastedFormat = null;
  let body = text;
  const decl = C_DECLARATION.exec(body.replace(/\/\*[\s\S]*?\*\//g, ' '));
  if (decl) {
    format = 'C array';
    body = body.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ').replace(C_DECLARATION, ' ');
  } else if (/^\s*"?(?:\\x[0-9a-f]{2})+/i.test(body) && /\\x[0-9a-f]{2}/i.test(body)) {
    format = 'escaped string';
  }
  return { blocks: [hexTokens(body)], format, note: null };
}

/** Hex runs, 0x lists, \x escapes (with quotes and line continuations around them), separated by anything light. */
function hexTokens(text: string): Uint8Array {
  const cleaned = text
    .replace(/0x/gi, ' ')
    .replace(/\\x/gi, ' ')
    .replace(/[,;:{}[\]()"'`\\]/g, ' ')
    .trim();
  const tokens = cleaned.split(/\s+/).filter((t) => t.length > 0);
  const pairs: string[] = [];
  for (const t of tokens) {
    if (!/^[0-9a-f]+$/i.test(t)) throw new HexInputError(`not hex: "${t.slice(0, 20)}"`);
    if (t.length % 2 === 1) {
      if (t.length === 1) pairs.push(`0${t}`);
      else throw new HexInputError(`odd number of hex digits in "${t.slice(0, 20)}"`);
      continue;
    }
    for (let i = 0; i < t.length; i += 2) pairs.push(t.slice(i, i + 2));
  }
  if (pairs.length === 0) throw new HexInputError('no bytes given');
  return pairsToBytes(pairs);
}

/** The pasted bytes as one run (all blocks joined). */
export function parseHexInput(text: string): Uint8Array {
  const { blocks } = readPasted(text);
  if (blocks.length === 1) return blocks[0]!;
  return Uint8Array.from(blocks.flatMap((b) => [...b]));
}
