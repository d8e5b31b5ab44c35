/**
 * Library results to plain JSON data, bounded. cbor-x and @msgpack/msgpack return Maps, Sets, Dates, bigints, byte
 * arrays, tags, extension objects and (CBOR tags 28/29) shared or even cyclic values; JSON.parse returns nesting as
 * deep as its text. The NDJSON writer and the text views take plain data of bounded size and depth, so every decoded
 * value passes through here once: containers deeper than maxDepth become a marker string, values past maxItems are
 * left out, and each cut is said once.
 *
 * Conversions: bigint -> number when it is a safe integer, else its decimal string; non-finite numbers -> "NaN",
 * "Infinity", "-Infinity"; Uint8Array/Buffer/DataView -> lowercase hex; other typed arrays -> arrays of numbers;
 * Date -> ISO string; Map -> object (a key that is no string becomes its JSON text); Set -> array; undefined -> null;
 * a CBOR tag nobody knows -> {tag, value}; a msgpack extension -> {extType, data}; anything else -> its own enumerable
 * keys.
 */
import type { DecodeLimits } from './types.js';

/** What stands where a container deeper than the limit was. */
export const DEPTH_MARK = '…';

interface Walk {
  items: number;
  readonly limits: DecodeLimits;
  depthCut: boolean;
  itemsCut: boolean;
}

export interface Bounded {
  value: unknown;
  cut: string[];
}

export function boundedValue(v: unknown, limits: DecodeLimits): Bounded {
  const w: Walk = { items: 0, limits, depthCut: false, itemsCut: false };
  const value = plain(v, 0, w);
  const cut: string[] = [];
  if (w.depthCut) cut.push(`containers nested deeper than ${limits.maxDepth} levels are shown as "${DEPTH_MARK}"`);
  if (w.itemsCut) cut.push(`more than ${limits.maxItems.toLocaleString('en-US')} values: the rest are left out`);
  return { value, cut };
}

/** Sets a member even when its key is "__proto__" (an own property, as JSON.parse makes it). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hexOf(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]!;
  return s;
}

function bigintValue(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function numberValue(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

/** A Map key that is no string, as text (bounded: keys are short in practice, and this is only a display name). */
function keyText(k: unknown, w: Walk): string {
  if (typeof k === 'string') return k;
  const p = plain(k, w.limits.maxDepth - 1, { items: 0, limits: w.limits, depthCut: false, itemsCut: false });
  let s: string | undefined;
  try {
    s = JSON.stringify(p);
  } catch {
    s = undefined;
  }
  s ??= String(p);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function plain(v: unknown, depth: number, w: Walk): unknown {
  w.items++;
  switch (typeof v) {
    case 'string': case 'boolean': return v;
    case 'number': return numberValue(v);
    case 'bigint': return bigintValue(v);
    case 'undefined': return null;
    case 'object': break;
    // Functions and symbols come from no decoder; shown as their names rather than lost.
    default: return String(v);
  }
  if (v === null) return null;
  if (v instanceof Uint8Array) return hexOf(v);
  if (v instanceof DataView) return hexOf(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (v instanceof ArrayBuffer) return hexOf(new Uint8Array(v));
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (v instanceof RegExp || v instanceof Error) return String(v);
  if (depth >= w.limits.maxDepth) {
    w.depthCut = true;
    return DEPTH_MARK;
  }
  if (ArrayBuffer.isView(v)) {
    // Other typed arrays (CBOR tags 64-87): their numbers. Narrowed by hand: isView does not say which element type.
    const arr = v as unknown as ArrayLike<number | bigint>;
    return list(Array.from({ length: Math.min(arr.length, w.limits.maxItems) }, (_, i) => arr[i]), arr.length, depth, w);
  }
  if (Array.isArray(v)) return list(v, v.length, depth, w);
  if (v instanceof Set) return list([...setHead(v, w.limits.maxItems)], v.size, depth, w);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) {
      if (w.items >= w.limits.maxItems) {
        w.itemsCut = true;
        break;
      }
      put(o, keyText(k, w), plain(x, depth + 1, w));
    }
    return o;
  }
  // v is a non-null object that none of the tests above took: read as a record of unknown values (what any object is).
  const ctor = (v as { constructor?: { name?: unknown } }).constructor?.name;
  const rec = v as Record<string, unknown>;
  // cbor-x's Tag (a tag it has no reading for) and @msgpack/msgpack's ExtData, told by shape: neither is exported
  // as a class we could test with instanceof without importing both libraries here.
  if (ctor === 'Tag' && typeof rec['tag'] === 'number' && 'value' in rec) return { tag: rec['tag'], value: plain(rec['value'], depth + 1, w) };
  if (ctor === 'ExtData' && typeof rec['type'] === 'number' && rec['data'] instanceof Uint8Array) return { extType: rec['type'], data: hexOf(rec['data']) };
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(rec)) {
    if (w.items >= w.limits.maxItems) {
      w.itemsCut = true;
      break;
    }
    put(o, k, plain(rec[k], depth + 1, w));
  }
  return o;
}

function* setHead<T>(s: Set<T>, n: number): Generator<T> {
  let i = 0;
  for (const x of s) {
    if (i++ >= n) return;
    yield x;
  }
}

function list(xs: readonly unknown[], total: number, depth: number, w: Walk): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < xs.length; i++) {
    if (w.items >= w.limits.maxItems) {
      w.itemsCut = true;
      return out;
    }
    out.push(plain(xs[i], depth + 1, w));
  }
  if (total > xs.length) w.itemsCut = true;
  return out;
}
