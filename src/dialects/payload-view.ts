/**
 * How a PUBLISH payload reads, in every dialect: 'json', 'text' or 'binary' (fields.payloadView), and for JSON a
 * pretty-printed child node. MQTT 5.0 metadata comes first: Payload Format Indicator 1 promises UTF-8 text, a JSON
 * Content Type asks for a JSON attempt whatever the payload looks like.
 *
 * Cost: payloads that look like JSON (or are declared JSON) are validated up to 64 KiB, and in modes without a tree
 * only up to 4 KiB; bigger ones are judged by their shape (first and last non-blank characters) and UTF-8
 * well-formedness, which is one linear scan. Validation is a byte-level scan (isJsonBytes); JSON.parse runs only
 * when a tree will show the value.
 */
import { isUtf8 } from 'node:buffer';
import type { PayloadView, Properties } from '../mqtt/packets.js';
import type { FieldNode } from '../mqtt/types.js';
import { decodeUtf8, isJsonBytes } from './json-scan.js';

export type { PayloadView };

/** Largest payload whose JSON is parsed and pretty-printed into the tree. */
export const TREE_JSON_MAX_BYTES = 64 * 1024;
/** Largest payload parsed when no tree is built (JSON and summary modes). */
export const CHEAP_JSON_MAX_BYTES = 4 * 1024;
/** Longest pretty-printed JSON kept as a node value. */
export const PRETTY_MAX_CHARS = 8 * 1024;

export interface ViewResult {
  view: PayloadView;
  /** Present when the payload was parsed as JSON. */
  json?: { value: unknown };
}

export function isJsonContentType(ct: string): boolean {
  const base = ct.split(';', 1)[0]!.trim().toLowerCase();
  return base === 'application/json' || base === 'text/json' || (base.startsWith('application/') && base.endsWith('+json'));
}

// Shared results for the verdicts that carry no parsed value: the stage only reads them.
const JSON_VIEW: ViewResult = Object.freeze({ view: 'json' });
const TEXT_VIEW: ViewResult = Object.freeze({ view: 'text' });
const BINARY_VIEW: ViewResult = Object.freeze({ view: 'binary' });

export function classifyPayload(b: Uint8Array, start: number, end: number, props: Properties | undefined, tree: boolean): ViewResult {
  const n = end - start;
  if (n <= 0) return TEXT_VIEW;
  const ct = props?.contentType;
  const declaredJson = ct !== undefined && isJsonContentType(ct);
  const shaped = looksLikeJson(b, start, end);
  if (declaredJson || shaped) {
    if (n <= TREE_JSON_MAX_BYTES && (tree || n <= CHEAP_JSON_MAX_BYTES)) {
      // The verdict comes from a byte-level validator in every mode (it agrees with decoding plus JSON.parse, without
      // building strings or values); only a tree, which shows the value, pays for JSON.parse.
      if (isJsonBytes(b, start, end)) return tree ? parsed(b, start, end) : JSON_VIEW;
      // Not JSON after all: it is judged as text or binary below.
    } else if (shaped && isUtf8(b.subarray(start, end))) {
      return JSON_VIEW;
    }
  }
  // Controls first: binary payloads almost always have one within a few bytes, so this usually ends early.
  const pfiText = props?.payloadFormatIndicator === 1;
  if (!pfiText && hasControls(b, start, end)) return BINARY_VIEW;
  return isUtf8(b.subarray(start, end)) ? TEXT_VIEW : BINARY_VIEW;
}

/** The value of bytes isJsonBytes accepted, for the tree's JSON node. */
function parsed(b: Uint8Array, start: number, end: number): ViewResult {
  const text = decodeUtf8(b, start, end);
  if (text !== null) {
    try {
      return { view: 'json', json: { value: JSON.parse(text) } };
    } catch {
      // Cannot happen while isJsonBytes matches JSON.parse; the verdict stands, the tree just shows no JSON node.
    }
  }
  return JSON_VIEW;
}

/** First non-blank byte '{' with last '}', or '[' with ']'. */
function looksLikeJson(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && isBlank(b[i]!)) i++;
  let j = end - 1;
  while (j > i && isBlank(b[j]!)) j--;
  if (j <= i) return false;
  const f = b[i]!;
  const l = b[j]!;
  return (f === 0x7b && l === 0x7d) || (f === 0x5b && l === 0x5d);
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Controls other than TAB, LF and CR, the same line the decoder draws between a utf8 and a hex payload value.
 * C2 80..C2 9F is U+0080..U+009F when the bytes are well-formed UTF-8 (0xC2 is then always a lead byte); when they
 * are not, the payload is binary anyway, so a false hit here changes nothing.
 */
function hasControls(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c < 0x20) {
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
    } else if (c === 0x7f) {
      return true;
    } else if (c === 0xc2 && i + 1 < end && b[i + 1]! <= 0x9f) {
      return true;
    }
  }
  return false;
}

/** JSON.stringify with two-space indentation, bounded; null when the value cannot be printed (too deep). */
export function prettyJson(value: unknown): string | null {
  let s: string | undefined;
  try {
    s = JSON.stringify(value, null, 2);
  } catch {
    return null;
  }
  if (s === undefined) return null;
  return s.length > PRETTY_MAX_CHARS ? `${s.slice(0, PRETTY_MAX_CHARS)}…` : s;
}

/** The pretty-printed JSON node that sits under a payload (or under a dialect node covering the payload). */
export function jsonViewNode(value: unknown, offset: number, length: number): FieldNode {
  const pretty = prettyJson(value);
  const node: FieldNode = { key: 'json', label: 'JSON', offset, length };
  if (pretty !== null) node.value = pretty;
  node.explain = `${length} byte${length === 1 ? '' : 's'} of JSON (${jsonKind(value)})`;
  return node;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return `array of ${v.length}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return `object with ${Object.keys(v).length} member${Object.keys(v).length === 1 ? '' : 's'}`;
  return typeof v;
}
