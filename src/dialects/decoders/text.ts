/**
 * The formats that need no library: json (JSON.parse after the byte-level validator), text (UTF-8, ill-formed
 * sequences counted and the first one located), hex, and `raw` (what base64 or a compression alone shows: text when
 * the bytes read as text, else hex, and `detected` says which).
 */
import type { FieldNode } from '../../mqtt/types.js';
import { readsAsText } from '../../mqtt/utf8.js';
import { decodeUtf8, isJsonBytes, parseJsonBytes, type JsonDoc, type JsonNode } from '../json-scan.js';
import { clip, hexBytes } from '../nodes.js';
import type { DecodeContext, DecodedPayload, PayloadDecoder } from './types.js';
import { boundedValue, hexOf } from './value.js';

const LENIENT = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * Ill-formed UTF-8 in bytes[start, end): how many sequences TextDecoder replaces with U+FFFD (WHATWG's maximal
 * subparts, so the count matches the replacement characters in the text shown) and where the first one starts.
 */
export function utf8Errors(b: Uint8Array, start: number, end: number): { count: number; first: number } {
  let count = 0;
  let first = -1;
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    }
    let j = i + 1;
    let ok = need > 0;
    for (let k = 0; k < need && ok; k++) {
      const d = j < end ? b[j]! : -1;
      if (d < (k === 0 ? lo : 0x80) || d > (k === 0 ? hi : 0xbf)) ok = false;
      else j++;
    }
    if (!ok) {
      count++;
      if (first < 0) first = i;
      // A maximal subpart is replaced as one: the lead byte and the continuation bytes that were valid so far.
      i = Math.max(i + 1, j);
      continue;
    }
    i = j;
  }
  return { count, first };
}

function textNode(s: string, start: number, n: number, what: string): FieldNode {
  return { key: 'text', label: 'text', offset: start, length: n, value: JSON.stringify(clip(s, 400)), explain: what };
}

export const TEXT_DECODER: PayloadDecoder = {
  decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload {
    const n = end - start;
    const text = LENIENT.decode(b.subarray(start, end));
    const out: DecodedPayload = { format: 'text', value: text };
    const bad = utf8Errors(b, start, end);
    if (bad.count > 0) {
      out.error = {
        message: `${bad.count} ill-formed UTF-8 sequence${bad.count === 1 ? '' : 's'} (shown as U+FFFD), the first at byte ${bad.first - start} of the payload`,
        offset: bad.first,
      };
    }
    if (ctx.tree) out.nodes = [textNode(text, start, n, `${n} byte${n === 1 ? '' : 's'} of ${bad.count > 0 ? 'ill-formed ' : ''}UTF-8 text, ${text.length} UTF-16 unit${text.length === 1 ? '' : 's'}`)];
    return out;
  },
};

export const HEX_DECODER: PayloadDecoder = {
  decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload {
    const out: DecodedPayload = { format: 'hex', value: hexOf(b.subarray(start, end)) };
    if (ctx.tree) out.nodes = [{ key: 'hex', label: 'bytes', offset: start, length: end - start, value: hexBytes(b, start, end, 16), explain: `${end - start} bytes as hex` }];
    return out;
  },
};

/** Text when the bytes read as text, else hex: what `base64` (or `gzip`) alone shows. */
export const RAW_DECODER: PayloadDecoder = {
  decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload {
    if (readsAsText(b, start, end)) return { ...TEXT_DECODER.decode(b, start, end, ctx), format: 'raw', detected: 'text (the bytes are UTF-8 without control characters)' };
    return { ...HEX_DECODER.decode(b, start, end, ctx), format: 'raw', detected: 'hex (the bytes are not text)' };
  },
};

/**
 * Integer literals JSON.parse would round (more than 2^53): quoted, so they come out as their exact decimal strings,
 * as bigints do in every other format. Only called when a long digit run appears; strings are skipped exactly.
 */
export function quoteBigIntegers(s: string): string {
  if (!/\d{16}/.test(s)) return s;
  let out = '';
  let from = 0;
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      i++;
      while (i < n) {
        const d = s.charCodeAt(i);
        if (d === 0x5c) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + (c === 0x2d ? 1 : 0);
      while (j < n && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39) j++;
      const next = j < n ? s.charCodeAt(j) : -1;
      const isInteger = next !== 0x2e && next !== 0x65 && next !== 0x45;
      if (isInteger && j - i >= 16) {
        const lit = s.slice(i, j);
        if (!Number.isSafeInteger(Number(lit))) {
          out += `${s.slice(from, i)}"${lit}"`;
          from = j;
        }
      }
      // Skip the rest of the number (fraction, exponent).
      while (j < n) {
        const d = s.charCodeAt(j);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) j++;
        else break;
      }
      i = j;
      continue;
    }
    i++;
  }
  return from === 0 ? s : out + s.slice(from);
}

export const JSON_DECODER: PayloadDecoder = {
  decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload {
    const out: DecodedPayload = { format: 'json' };
    if (!isJsonBytes(b, start, end)) {
      const bad = utf8Errors(b, start, end);
      if (bad.count > 0) out.error = { message: `not JSON: ill-formed UTF-8 at byte ${bad.first - start} of the payload`, offset: bad.first };
      else {
        const r = parseJsonBytes(b, start, end);
        out.error = { message: `not JSON: ${r.ok ? 'rejected by the validator' : r.error}` };
      }
      return out;
    }
    const text = decodeUtf8(b, start, end);
    let value: unknown;
    try {
      value = JSON.parse(quoteBigIntegers(text ?? ''));
    } catch (e) {
      // isJsonBytes and JSON.parse agree (json-scan.ts); kept so a disagreement is reported, not thrown.
      out.error = { message: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
      return out;
    }
    const bounded = boundedValue(value, ctx.limits);
    out.value = bounded.value;
    if (bounded.cut.length > 0) out.cut = bounded.cut;
    if (ctx.tree) {
      const r = parseJsonBytes(b, start, end);
      if (r.ok) out.nodes = [jsonNodes(r.doc, start, end, ctx.limits.maxItems)];
    }
    return out;
  },
};

interface Budget {
  left: number;
}

/**
 * The JSON document as nodes: each member or element covers from its own start to the next one's, the first also
 * the opening bracket before it and the last the closing one after it, so the nodes partition the payload exactly
 * (separators belong to a neighbour). Values are the capture's own text (a number is never rounded); containers below
 * the scanner's depth are one node.
 */
export function jsonNodes(doc: JsonDoc, start: number, end: number, maxNodes: number): FieldNode {
  const budget: Budget = { left: maxNodes };
  const at = (i: number): number => start + doc.byteOffset(i);
  return entry(doc, doc.root, 'JSON', start, end, at, budget);
}

function kindText(n: JsonNode): string {
  if (n.kind === 'object') return `object with ${n.members?.length ?? 0} member${n.members?.length === 1 ? '' : 's'}`;
  if (n.kind === 'array') return `array of ${n.items?.length ?? 0} item${n.items?.length === 1 ? '' : 's'}`;
  if (n.kind === 'opaque') return 'nested deeper than the tree follows';
  return n.kind;
}

function entry(doc: JsonDoc, n: JsonNode, label: string, from: number, to: number, at: (i: number) => number, budget: Budget): FieldNode {
  budget.left--;
  const node: FieldNode = { key: 'json', label, offset: from, length: to - from, explain: kindText(n) };
  const starts: { label: string; at: number; node: JsonNode }[] = [];
  if (n.kind === 'object') for (const m of n.members ?? []) starts.push({ label: m.key, at: at(m.keyStart), node: m.value });
  else if (n.kind === 'array') (n.items ?? []).forEach((it, i) => starts.push({ label: `[${i}]`, at: at(it.start), node: it }));
  if (starts.length === 0) {
    node.value = clip(doc.text.slice(n.start, n.end), 200);
    return node;
  }
  const kids: FieldNode[] = [];
  // Opening bracket (and for a member, its key and colon) up to the first entry.
  const opener = n.kind === 'object' ? '{' : '[';
  if (starts[0]!.at > from) kids.push({ key: 'open', label: at(n.start) > from ? `key, ${opener}` : opener, offset: from, length: starts[0]!.at - from });
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i]!;
    const stop = i + 1 < starts.length ? starts[i + 1]!.at : to;
    if (budget.left <= 0) {
      kids.push({ key: 'more', label: `${starts.length - i} more (past the tree's node limit)`, offset: s.at, length: to - s.at });
      break;
    }
    kids.push(entry(doc, s.node, clip(s.label, 60), s.at, stop, at, budget));
  }
  node.children = kids;
  return node;
}
