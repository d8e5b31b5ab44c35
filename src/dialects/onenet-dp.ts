/**
 * OneNET "$dp" data point payloads (multi-protocol access, port 6002). Byte 0 holds the type in its low 7 bits and,
 * for types 6 and 7, a time flag in bit 7 announcing a 6-byte time. Types 1-6 then carry a 2-byte big-endian length
 * and JSON or text; type 2 adds a 4-byte length and binary data; type 7 carries binary floats. See docs/onenet.md.
 *
 * The payload is untrusted: every read is bounds-checked, every disagreement between a length and the bytes becomes a
 * dialect warning, and whatever cannot be decoded is shown as hex. Offsets in nodes and warnings are packet offsets.
 */
import type { Violation } from '../mqtt/connection-decoder.js';
import type { FieldNode } from '../mqtt/types.js';
import { toHex } from '../mqtt/utf8.js';
import { decodeUtf8, parseJsonBytes, type JsonDoc, type JsonNode } from './json-scan.js';
import {
  clip, dialectWarning, hex1, hexBytes, partition, quote, readUint, showValue, uintExplain, type PartItem,
} from './nodes.js';

export const DP_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'full JSON',
  2: 'binary with JSON descriptor',
  3: 'simple JSON without time',
  4: 'simple JSON with time',
  5: 'delimited text',
  6: 'delimited text with time',
  7: 'binary floats',
};

/** Data points listed in fields.onenet; the rest are counted in datapointsOmitted. */
export const MAX_DATAPOINTS = 1000;
/** Data point nodes in the tree before one node covers the rest. */
export const MAX_DP_NODES = 256;
/** Bytes of type-2 binary data copied into fields as hex. */
export const BINARY_PREVIEW_BYTES = 64;

export interface Datapoint {
  /** Data stream name; null for a text record that names none and follows no named record. */
  stream: string | null;
  value: unknown;
  /** The data point's own time, as written (only formats that carry one per point). */
  at?: unknown;
}

export interface DpResult {
  /** fields.onenet for the packet. */
  info: Record<string, unknown>;
  /** Children for the payload node (empty when no tree is built). */
  nodes: FieldNode[];
  warnings: Violation[];
}

interface Ctx {
  b: Uint8Array;
  end: number;
  tree: boolean;
  info: Record<string, unknown>;
  nodes: FieldNode[];
  warnings: Violation[];
  points: Datapoint[];
  omitted: number;
}

export function decodeDp(b: Uint8Array, start: number, end: number, tree: boolean): DpResult {
  const c: Ctx = { b, end, tree, info: { kind: 'dp' }, nodes: [], warnings: [], points: [], omitted: 0 };
  try {
    body(c, start);
  } finally {
    c.info['datapoints'] = c.points;
    if (c.omitted > 0) c.info['datapointsOmitted'] = c.omitted;
  }
  return { info: c.info, nodes: c.nodes, warnings: c.warnings };
}

function warn(c: Ctx, id: string, message: string, offset: number, length: number): void {
  c.warnings.push(dialectWarning(`ONENET-${id}`, message, offset, length));
}

function node(c: Ctx, n: FieldNode): FieldNode {
  if (c.tree) c.nodes.push(n);
  return n;
}

function addPoint(c: Ctx, p: Datapoint): void {
  if (c.points.length < MAX_DATAPOINTS) c.points.push(p);
  else c.omitted++;
}

function body(c: Ctx, p0: number): void {
  const { b, end } = c;
  if (p0 >= end) {
    warn(c, 'dp-truncated', '$dp payload is empty: it must start with a data point type byte', p0, 0);
    return;
  }
  const tb = b[p0]!;
  const type = tb & 0x7f;
  const flag = (tb & 0x80) !== 0;
  const name = DP_TYPE_NAMES[type];
  c.info['dpType'] = type;
  c.info['dpTypeName'] = name ?? 'unknown';
  c.info['timeFlag'] = flag;
  const timed = type === 6 || type === 7;
  if (c.tree) {
    const what = name ? `type ${type} (${name})` : `type ${type} (not defined)`;
    const flagText = flag ? (timed ? 'time flag 1: a 6-byte time follows' : 'time flag 1 (ignored: this type has no time)') : 'time flag 0';
    node(c, {
      key: 'dpType', label: 'data point type', offset: p0, length: 1, value: hex1(tb), explain: `${bits(tb)}: ${what}, ${flagText}`,
      children: [
        { key: 'timeFlag', label: 'time flag', offset: p0, length: 1, value: String(+flag), explain: `${bits(tb, 0x80)} = time flag ${+flag}` },
        { key: 'dpType', label: 'type', offset: p0, length: 1, value: String(type), explain: `${bits(tb, 0x7f)} = ${type}` },
      ],
    });
  }
  let pos = p0 + 1;
  if (!name) {
    warn(c, 'dp-type', `$dp data point type ${type} is not defined (types 1 to 7 are)`, p0, 1);
    rest(c, pos, 'undecoded', 'undecoded (unknown type)');
    return;
  }
  if (flag && !timed) warn(c, 'dp-time-flag', `time flag set on data point type ${type}; only types 6 and 7 carry a time`, p0, 1);
  if (flag && timed) {
    if (end - pos < 6) {
      warn(c, 'dp-truncated', `the payload ends ${end - pos} byte${end - pos === 1 ? '' : 's'} into the 6-byte time`, pos, end - pos);
      rest(c, pos, 'time', 'time (cut off)');
      return;
    }
    time(c, pos);
    pos += 6;
  }
  switch (type) {
    case 1: case 3: case 4: jsonType(c, type, pos); break;
    case 2: binaryType(c, pos); break;
    case 5: case 6: textType(c, pos); break;
    case 7: floatType(c, pos); break;
  }
}

/** Bit picture of a byte, like the decoder's flag lines: "1000 0111", with '.' outside the mask. */
function bits(v: number, mask = 0xff): string {
  let s = '';
  for (let i = 7; i >= 0; i--) {
    s += (mask >> i) & 1 ? String((v >> i) & 1) : '.';
    if (i === 4) s += ' ';
  }
  return s;
}

/** Whatever is left, as one hex node. */
function rest(c: Ctx, from: number, key: string, label: string): void {
  if (from < c.end) node(c, { key, label, offset: from, length: c.end - from, value: hexBytes(c.b, from, c.end) });
}

function trailing(c: Ctx, from: number, what: string): void {
  if (from >= c.end) return;
  const n = c.end - from;
  warn(c, 'dp-length', `${n} byte${n === 1 ? '' : 's'} after the ${what} that its length field declares`, from, n);
  rest(c, from, 'trailingBytes', 'trailing bytes (beyond the declared length)');
}

// ---- time ------------------------------------------------------------------------------------

const TIME_PARTS = ['year', 'month', 'day', 'hour', 'minute', 'second'] as const;

function time(c: Ctx, at: number): void {
  const { b } = c;
  const v = [0, 1, 2, 3, 4, 5].map((i) => b[at + i]!);
  const [yy, mo, d, h, mi, s] = v as [number, number, number, number, number, number];
  const allZero = v.every((x) => x === 0);
  const year = 2000 + yy;
  const valid = mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(year, mo) && h <= 23 && mi <= 59 && s <= 59;
  let iso: string | null = null;
  if (valid) {
    iso = `${year}-${p2(mo)}-${p2(d)}T${p2(h)}:${p2(mi)}:${p2(s)}`;
    c.info['time'] = iso;
  } else if (!allZero) {
    warn(c, 'dp-time', `time bytes ${hexBytes(b, at, at + 6)} are not a valid date and time (year-2000, month, day, hour, minute, second)`, at, 6);
  }
  if (!c.tree) return;
  const explain = iso
    ? `${hexBytes(b, at, at + 6)} = ${iso.replace('T', ' ')} (no time zone in the format; the C SDK writes UTC)`
    : allZero
      ? 'all zero: no time given, the platform stamps the data itself (our reading of the SDKs)'
      : 'not a valid date and time';
  node(c, {
    key: 'time', label: 'time', offset: at, length: 6, value: iso ?? hexBytes(b, at, at + 6), explain,
    children: TIME_PARTS.map((part, i) => ({
      key: part, label: part, offset: at + i, length: 1, value: String(i === 0 ? year : v[i]!),
      explain: i === 0 ? `${hex1(yy)} = ${yy}: 2000 + ${yy}` : `${hex1(v[i]!)} = ${v[i]!}`,
    })),
  });
}

function p2(n: number): string {
  return String(n).padStart(2, '0');
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

// ---- length fields ---------------------------------------------------------------------------

interface Span {
  /** Content range actually present. */
  start: number;
  end: number;
  declared: number;
  /** The declared length runs past the payload. */
  cut: boolean;
}

/** An n-byte big-endian length at `at` and the content it announces; null when the payload ends inside the field. */
function lengthField(c: Ctx, at: number, n: 2 | 4, what: string, key: string, label: string): Span | null {
  const { b, end } = c;
  if (end - at < n) {
    warn(c, 'dp-truncated', `the payload ends inside the ${n}-byte ${what} length`, at, Math.max(0, end - at));
    rest(c, at, key, `${label} (cut off)`);
    return null;
  }
  const declared = readUint(b, at, n);
  const start = at + n;
  const avail = end - start;
  const cut = declared > avail;
  if (cut) {
    warn(c, 'dp-length', `${what} length ${declared} runs past the end of the payload (${avail} byte${avail === 1 ? '' : 's'} left)`, at, n);
  }
  node(c, {
    key, label, offset: at, length: n, value: String(declared),
    explain: `${uintExplain(b, at, n)} byte${declared === 1 ? '' : 's'}${cut ? `, only ${avail} present` : ''}`,
  });
  return { start, end: cut ? end : start + declared, declared, cut };
}

// ---- JSON types (1, 3, 4) and the type 2 descriptor ------------------------------------------

function jsonType(c: Ctx, type: 1 | 3 | 4, at: number): void {
  const span = lengthField(c, at, 2, 'JSON', 'length', 'JSON length');
  if (!span) return;
  c.info['length'] = span.declared;
  const doc = jsonContent(c, span, 'JSON data points', 'JSON');
  if (doc) {
    const items = type === 1 ? fullJson(c, doc, span.start) : type === 3 ? simpleJson(c, doc, span.start) : timedJson(c, doc, span.start);
    if (c.tree) {
      const jn = c.nodes[c.nodes.length - 1]!;
      const kids = partition(items, span.start, span.end, MAX_DP_NODES, 'data points');
      if (kids.length > 0) jn.children = kids;
    }
  }
  if (!span.cut) trailing(c, span.end, 'JSON');
}

/** Parses the JSON in a span, adds its node (pretty value), reports emptiness or invalidity. */
function jsonContent(c: Ctx, span: Span, label: string, what: string): JsonDoc | null {
  const { b } = c;
  if (span.end === span.start) {
    if (!span.cut) warn(c, 'dp-json', `no ${what} after the length field (length 0)`, span.start - 2, 2);
    return null;
  }
  const r = parseJsonBytes(b, span.start, span.end);
  if (!r.ok) {
    // A cut span is already reported by its length; its JSON is necessarily incomplete.
    if (!span.cut) warn(c, 'dp-json', `${what} is not valid: ${r.error}`, span.start, span.end - span.start);
    if (c.tree) {
      const text = r.utf8 ? decodeUtf8(b, span.start, span.end) : null;
      node(c, {
        key: 'json', label: `${label} (${span.cut ? 'cut off' : 'not valid JSON'})`, offset: span.start, length: span.end - span.start,
        value: text !== null ? quote(text) : hexBytes(b, span.start, span.end), explain: r.error,
      });
    }
    return null;
  }
  if (c.tree) {
    const n = span.end - span.start;
    node(c, {
      key: 'json', label, offset: span.start, length: n, value: clip(r.doc.text),
      explain: `${n} byte${n === 1 ? '' : 's'} of JSON`,
    });
  }
  return r.doc;
}

/** Type 1: {"datastreams":[{"id":..,"datapoints":[{"at":..,"value":..}]}]}. */
function fullJson(c: Ctx, doc: JsonDoc, base: number): PartItem[] {
  const items: PartItem[] = [];
  const root = doc.root;
  const ds = root.kind === 'object' ? member(root, 'datastreams') : undefined;
  if (!ds || ds.kind !== 'array') {
    shape(c, base, doc, root, 'type 1 JSON must be an object with a "datastreams" array');
    return items;
  }
  for (const s of ds.items ?? []) {
    if (s.kind !== 'object') {
      shape(c, base, doc, s, 'each "datastreams" entry must be an object');
      continue;
    }
    const idNode = member(s, 'id');
    const id = idNode ? doc.valueOf(idNode) : undefined;
    const stream = typeof id === 'string' ? id : id === undefined ? null : String(id);
    if (typeof id !== 'string') shape(c, base, doc, idNode ?? s, 'a data stream needs an "id" string');
    const dps = member(s, 'datapoints');
    if (!dps || dps.kind !== 'array') {
      shape(c, base, doc, dps ?? s, `data stream ${stream === null ? '(no id)' : JSON.stringify(stream)} needs a "datapoints" array`);
      items.push({ at: base + doc.byteOffset(s.start), key: 'datastream', label: streamLabel(stream), explain: 'no data points' });
      continue;
    }
    let first = true;
    for (const p of dps.items ?? []) {
      const pStart = first ? s.start : p.start;
      first = false;
      if (p.kind !== 'object') {
        shape(c, base, doc, p, 'each data point must be an object with "value"');
        continue;
      }
      const vNode = member(p, 'value');
      const atNode = member(p, 'at');
      if (!vNode) shape(c, base, doc, p, 'a data point needs a "value"');
      const dp: Datapoint = { stream, value: vNode ? doc.valueOf(vNode) : null };
      if (atNode) dp.at = doc.valueOf(atNode);
      addPoint(c, dp);
      items.push(pointItem(base + doc.byteOffset(pStart), dp));
    }
    if (first) items.push({ at: base + doc.byteOffset(s.start), key: 'datastream', label: streamLabel(stream), explain: 'no data points' });
  }
  return items;
}

/** Type 3: {"stream":value,...}. */
function simpleJson(c: Ctx, doc: JsonDoc, base: number): PartItem[] {
  const items: PartItem[] = [];
  const root = doc.root;
  if (root.kind !== 'object') {
    shape(c, base, doc, root, 'type 3 JSON must be an object of data stream names and values');
    return items;
  }
  for (const m of root.members ?? []) {
    const dp: Datapoint = { stream: m.key, value: doc.valueOf(m.value) };
    addPoint(c, dp);
    items.push(pointItem(base + doc.byteOffset(m.keyStart), dp));
  }
  return items;
}

/** Type 4: {"stream":{"time":value,...},...}. */
function timedJson(c: Ctx, doc: JsonDoc, base: number): PartItem[] {
  const items: PartItem[] = [];
  const root = doc.root;
  if (root.kind !== 'object') {
    shape(c, base, doc, root, 'type 4 JSON must be an object of data stream names and {"time": value} objects');
    return items;
  }
  for (const m of root.members ?? []) {
    if (m.value.kind !== 'object') {
      shape(c, base, doc, m.value, `data stream ${JSON.stringify(m.key)}: type 4 wants {"time": value}`);
      const dp: Datapoint = { stream: m.key, value: doc.valueOf(m.value) };
      addPoint(c, dp);
      items.push(pointItem(base + doc.byteOffset(m.keyStart), dp));
      continue;
    }
    let first = true;
    for (const t of m.value.members ?? []) {
      const dp: Datapoint = { stream: m.key, value: doc.valueOf(t.value), at: t.key };
      addPoint(c, dp);
      items.push(pointItem(base + doc.byteOffset(first ? m.keyStart : t.keyStart), dp));
      first = false;
    }
    if (first) items.push({ at: base + doc.byteOffset(m.keyStart), key: 'datastream', label: streamLabel(m.key), explain: 'no data points' });
  }
  return items;
}

function member(o: JsonNode, key: string): JsonNode | undefined {
  let hit: JsonNode | undefined;
  // The last duplicate wins, as in JSON.parse.
  for (const m of o.members ?? []) if (m.key === key) hit = m.value;
  return hit;
}

function shape(c: Ctx, base: number, doc: JsonDoc, at: JsonNode, message: string): void {
  const s = base + doc.byteOffset(at.start);
  warn(c, 'dp-shape', message, s, base + doc.byteOffset(at.end) - s);
}

function streamLabel(stream: string | null): string {
  return stream === null ? 'data point (no stream name)' : `data stream ${quote(stream, 60)}`;
}

function pointItem(at: number, dp: Datapoint): PartItem {
  const item: PartItem = { at, key: 'datapoint', label: streamLabel(dp.stream), value: showValue(dp.value) };
  if (dp.at !== undefined) item.explain = `at ${showValue(dp.at, 60)}`;
  return item;
}

// ---- type 2: JSON descriptor + binary --------------------------------------------------------

function binaryType(c: Ctx, at: number): void {
  const { b } = c;
  const span = lengthField(c, at, 2, 'JSON descriptor', 'length', 'JSON descriptor length');
  if (!span) return;
  c.info['length'] = span.declared;
  const doc = jsonContent(c, span, 'JSON descriptor', 'JSON descriptor');
  let stream: string | null = null;
  let when: unknown;
  if (doc) {
    c.info['descriptor'] = doc.value;
    const root = doc.root;
    const id = root.kind === 'object' ? member(root, 'ds_id') : undefined;
    const idValue = id ? doc.valueOf(id) : undefined;
    if (typeof idValue === 'string') stream = idValue;
    else shape(c, span.start, doc, id ?? root, 'the type 2 descriptor needs a "ds_id" string');
    const atNode = root.kind === 'object' ? member(root, 'at') : undefined;
    if (atNode) when = doc.valueOf(atNode);
  }
  if (span.cut) return;
  const bin = lengthField(c, span.end, 4, 'binary data', 'binaryLength', 'binary length');
  if (!bin) return;
  c.info['binaryLength'] = bin.declared;
  const n = bin.end - bin.start;
  const shown = Math.min(n, BINARY_PREVIEW_BYTES);
  const value: Record<string, unknown> = { encoding: 'hex', data: toHex(b, bin.start, bin.start + shown) };
  if (shown < bin.declared) value['truncated'] = true;
  const dp: Datapoint = { stream, value };
  if (when !== undefined) dp.at = when;
  addPoint(c, dp);
  if (n > 0) {
    node(c, {
      key: 'binary', label: `binary data${stream === null ? '' : ` of ${quote(stream, 60)}`}`, offset: bin.start, length: n,
      value: hexBytes(b, bin.start, bin.end), explain: `${n} byte${n === 1 ? '' : 's'}${bin.cut ? ` of ${bin.declared} declared` : ''}`,
    });
  }
  if (!bin.cut) trailing(c, bin.end, 'binary data');
}

// ---- types 5 and 6: delimited text ----------------------------------------------------------

function textType(c: Ctx, at: number): void {
  const { b } = c;
  const span = lengthField(c, at, 2, 'text', 'length', 'text length');
  if (!span) return;
  c.info['length'] = span.declared;
  if (span.end === span.start) {
    if (!span.cut) warn(c, 'dp-text', 'no data point text after the length field (length 0)', at, 2);
    return;
  }
  const text = decodeUtf8(b, span.start, span.end);
  if (text === null) {
    warn(c, 'dp-text', 'data point text is not well-formed UTF-8', span.start, span.end - span.start);
    node(c, { key: 'text', label: 'data point text (not UTF-8)', offset: span.start, length: span.end - span.start, value: hexBytes(b, span.start, span.end) });
    if (!span.cut) trailing(c, span.end, 'text');
    return;
  }
  const textNode = node(c, { key: 'text', label: 'data point text', offset: span.start, length: span.end - span.start, value: quote(text) });
  const cps = Array.from(text.slice(0, 4));
  if (cps.length < 2) {
    warn(c, 'dp-text', 'text too short: its first two characters must be the field and record separators', span.start, span.end - span.start);
  } else {
    records(c, text, cps[0]!, cps[1]!, span, textNode);
  }
  if (!span.cut) trailing(c, span.end, 'text');
}

function records(c: Ctx, text: string, fieldSep: string, recSep: string, span: Span, textNode: FieldNode): void {
  const sepChars = fieldSep.length + recSep.length;
  const byteAt = utf8Counter(text);
  const sepEnd = span.start + byteAt(sepChars);
  c.info['separators'] = { field: fieldSep, record: recSep };
  if (fieldSep === recSep) warn(c, 'dp-text', `field and record separators are the same character ${JSON.stringify(fieldSep)}`, span.start, sepEnd - span.start);
  const items: PartItem[] = [];
  let prevStream: string | null = null;
  let i = sepChars;
  let first = true;
  while (i <= text.length) {
    let j = text.indexOf(recSep, i);
    if (j < 0) j = text.length;
    const rec = text.slice(i, j);
    if (rec.length > 0) {
      // Asked in increasing order only, so the counter never restarts.
      const from = span.start + byteAt(i);
      const to = span.start + byteAt(j);
      const parts = rec.split(fieldSep);
      let dp: Datapoint;
      let note: string | undefined;
      if (parts.length === 1) {
        dp = { stream: prevStream, value: parts[0]! };
        note = prevStream === null ? 'a value with no stream name' : 'no stream name: taken from the record before (our reading)';
        if (prevStream === null && first) warn(c, 'dp-text', `record ${JSON.stringify(clip(rec, 40))} has a value but no data stream name`, from, to - from);
      } else if (parts.length === 2) {
        dp = { stream: parts[0]!, value: parts[1]! };
      } else {
        dp = { stream: parts[0]!, at: parts[1]!, value: parts.slice(2).join(fieldSep) };
        if (parts.length > 3) {
          warn(c, 'dp-text', `record ${JSON.stringify(clip(rec, 40))} has ${parts.length} fields; expected stream, [time,] value`, from, to - from);
        }
      }
      if (dp.stream !== null) prevStream = dp.stream;
      addPoint(c, dp);
      const item = pointItem(from, dp);
      if (note) item.explain = item.explain ? `${item.explain}; ${note}` : note;
      items.push(item);
      first = false;
    }
    if (j >= text.length) break;
    i = j + recSep.length;
  }
  if (!c.tree) return;
  textNode.children = [
    {
      key: 'separators', label: 'separators', offset: span.start, length: sepEnd - span.start, value: quote(fieldSep + recSep),
      explain: `field separator ${JSON.stringify(fieldSep)}, record separator ${JSON.stringify(recSep)}`,
    },
    ...partition(items, sepEnd, span.end, MAX_DP_NODES, 'records'),
  ];
  if (items.length === 0 && sepEnd < span.end) {
    textNode.children.push({ key: 'records', label: 'empty records', offset: sepEnd, length: span.end - sepEnd, value: quote(text.slice(sepChars)) });
  }
}

/** Byte offset of a UTF-16 index in `s`, computed incrementally (indices asked for only grow, mostly). */
function utf8Counter(s: string): (i: number) => number {
  let ci = 0;
  let bi = 0;
  return (i: number): number => {
    if (i < ci) {
      ci = 0;
      bi = 0;
    }
    while (ci < i && ci < s.length) {
      const c = s.charCodeAt(ci);
      bi += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? 4 : c >= 0xdc00 && c <= 0xdfff ? 0 : 3;
      ci++;
    }
    return bi;
  };
}

// ---- type 7: binary floats -------------------------------------------------------------------

/**
 * Two layouts exist in OneNET's own SDKs, neither documented beyond code: the MQTT SDK sample writes groups of
 * [stream id u16][count u16][count x float32]; the EDP SDK writes [count u16] then count x [stream id u16][float32].
 * Both copy the float from memory, i.e. little-endian on the usual MCUs; ids and counts are big-endian. We take the
 * first layout that covers the bytes exactly, else decode whole groups of the first and show the rest as hex.
 * Floats are read only for the data points listed and the nodes shown, so a huge payload costs a walk over headers.
 */
function floatType(c: Ctx, at: number): void {
  const { b, end } = c;
  if (end === at) {
    warn(c, 'dp-float', 'no float data after the type byte', at - 1, 1);
    return;
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const read = (p: number): number => view.getFloat32(p, true);
  const groups = groupsStop(b, at, end);
  if (groups !== end && pairsFit(b, at, end)) {
    c.info['floatLayout'] = 'count-pairs';
    const count = readUint(b, at, 2);
    node(c, { key: 'count', label: 'data point count', offset: at, length: 2, value: String(count), explain: uintExplain(b, at, 2) });
    for (let k = 0; k < count; k++) {
      const p = at + 2 + k * 6;
      if (c.points.length >= MAX_DATAPOINTS && (!c.tree || k > MAX_DP_NODES)) {
        c.omitted += count - k;
        break;
      }
      const id = readUint(b, p, 2);
      const raw = read(p + 2);
      addPoint(c, { stream: String(id), value: floatValue(raw) });
      if (!c.tree || k > MAX_DP_NODES) continue;
      if (k === MAX_DP_NODES) {
        node(c, { key: 'more', label: `${count - k} more data points`, offset: p, length: end - p });
        continue;
      }
      node(c, {
        key: 'datapoint', label: `data stream ${id}`, offset: p, length: 6, value: floatText(raw),
        children: [
          { key: 'streamId', label: 'stream id', offset: p, length: 2, value: String(id), explain: uintExplain(b, p, 2) },
          { key: 'value', label: 'value', offset: p + 2, length: 4, value: floatText(raw), explain: `${hexBytes(b, p + 2, p + 6)}: float32, little-endian` },
        ],
      });
    }
    return;
  }
  c.info['floatLayout'] = 'stream-count';
  let p = at;
  for (let gi = 0; p < groups; gi++) {
    const stream = readUint(b, p, 2);
    const count = readUint(b, p + 2, 2);
    const len = 4 + 4 * count;
    for (let k = 0; k < count; k++) {
      if (c.points.length >= MAX_DATAPOINTS) {
        c.omitted += count - k;
        break;
      }
      addPoint(c, { stream: String(stream), value: floatValue(read(p + 4 + 4 * k)) });
    }
    if (c.tree && gi === MAX_DP_NODES) {
      node(c, { key: 'more', label: 'more data streams', offset: p, length: groups - p });
    } else if (c.tree && gi < MAX_DP_NODES) {
      const shown = Math.min(count, MAX_DP_NODES);
      const values = Array.from({ length: shown }, (_, k) => read(p + 4 + 4 * k));
      node(c, {
        key: 'floatGroup', label: `data stream ${stream}`, offset: p, length: len,
        value: values.slice(0, 16).map(floatText).join(', ') + (count > 16 ? ', …' : ''),
        children: [
          { key: 'streamId', label: 'stream id', offset: p, length: 2, value: String(stream), explain: uintExplain(b, p, 2) },
          { key: 'count', label: 'value count', offset: p + 2, length: 2, value: String(count), explain: uintExplain(b, p + 2, 2) },
          ...values.map((v, k): FieldNode => ({
            key: 'value', label: 'value', offset: p + 4 + 4 * k, length: 4, value: floatText(v),
            explain: `${hexBytes(b, p + 4 + 4 * k, p + 8 + 4 * k)}: float32, little-endian`,
          })),
          ...(count > shown ? [{ key: 'more', label: `${count - shown} more values`, offset: p + 4 + 4 * shown, length: 4 * (count - shown) }] : []),
        ],
      });
    }
    p += len;
  }
  if (groups !== end) {
    const left = end - groups;
    warn(c, 'dp-float', `${left} byte${left === 1 ? '' : 's'} of float data fit neither known layout; shown as hex`, groups, left);
    rest(c, groups, 'undecoded', 'undecoded float data');
  }
}

/** Where whole [stream id][count][floats] groups stop (== end when they cover the data exactly). */
function groupsStop(b: Uint8Array, at: number, end: number): number {
  let p = at;
  while (end - p >= 4) {
    const count = readUint(b, p + 2, 2);
    // A zero count would let runs of zero bytes "fit" forever.
    if (count === 0 || end - p - 4 < count * 4) break;
    p += 4 + 4 * count;
  }
  return p;
}

function pairsFit(b: Uint8Array, at: number, end: number): boolean {
  if (end - at < 8) return false;
  const count = readUint(b, at, 2);
  return count > 0 && 2 + 6 * count === end - at;
}

/** The shortest decimal that reads back as the same float32 (34, -20.3), so values show as they were written. */
function floatValue(x: number): number | null {
  if (!Number.isFinite(x)) return null;
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

function floatText(x: number): string {
  const v = floatValue(x);
  return v === null ? String(x) : String(v);
}
