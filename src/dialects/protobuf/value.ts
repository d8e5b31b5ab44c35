/**
 * A protobuf wire walk as plain JSON data, by the schema's field names: repeated fields as arrays, sub-messages as
 * objects, strings as text, bytes as hex, enums by name, 64-bit integers as numbers when a double holds them exactly
 * (else decimal strings). Unknown fields go under "_unknown" by number, so nothing the bytes hold is dropped. Bounded:
 * at most `maxItems` values, the rest counted.
 */
import { isUtf8 } from 'node:buffer';
import protobuf from 'protobufjs';
import type { WireField } from './wire.js';

/** Longest string value kept whole; longer ones are cut with "…". */
export const MAX_TEXT_CHARS = 4096;
/** Bytes shown as hex; longer values end with their byte count. */
export const MAX_HEX_BYTES = 1024;

/** UTF-8 text of a range, cut at MAX_TEXT_CHARS; invalid sequences become U+FFFD (isUtf8 tells whether any did). */
export function rangeText(b: Uint8Array, start: number, end: number): string {
  const s = Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
  return s.length > MAX_TEXT_CHARS ? `${s.slice(0, MAX_TEXT_CHARS)}…` : s;
}

/** A range as hex, cut at `max` bytes with the whole count after. */
export function rangeHex(b: Uint8Array, start: number, end: number, max = MAX_HEX_BYTES): string {
  const stop = Math.min(end, start + max);
  const s = Buffer.from(b.buffer, b.byteOffset + start, stop - start).toString('hex');
  return end > stop ? `${s}… (${end - start} bytes)` : s;
}

export interface ValueBudget {
  left: number;
  omitted: number;
}

export function wireValue(b: Uint8Array, fields: readonly WireField[], type: protobuf.Type | undefined, budget: ValueBudget): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (budget.left <= 0) {
      budget.omitted++;
      continue;
    }
    budget.left--;
    const decl = type?.fieldsById[f.fieldNo];
    const key = decl === undefined || f.note !== undefined ? undefined : decl.name;
    const v = fieldValue(b, f, decl, budget);
    if (key === undefined) {
      const unknown = (out['_unknown'] ??= {}) as Record<string, unknown[]>; // made here, only ever an object of arrays
      (unknown[String(f.fieldNo)] ??= []).push(v);
      continue;
    }
    if (decl!.repeated) {
      const arr = (out[key] ??= []) as unknown[]; // a repeated field's slot is only ever this array
      if (f.packed) for (const p of f.packed) arr.push(enumName(decl!, p.value));
      else arr.push(v);
    } else {
      out[key] = v;
    }
  }
  return out;
}

function fieldValue(b: Uint8Array, f: WireField, decl: protobuf.Field | undefined, budget: ValueBudget): unknown {
  if (f.message !== undefined) return wireValue(b, f.message, f.messageType, budget);
  if (f.scalar !== undefined) return decl ? enumName(decl, f.scalar) : f.scalar;
  if (f.packed !== undefined) return f.packed.map((p) => p.value);
  if (f.wireType === 2) {
    if (decl?.type === 'string' && f.note === undefined) {
      const t = rangeText(b, f.start, f.end);
      return isUtf8(b.subarray(f.start, f.end)) ? t : { invalidUtf8: t };
    }
    return rangeHex(b, f.start, f.end);
  }
  return null;
}

function enumName(decl: protobuf.Field, v: unknown): unknown {
  const e = decl.resolvedType;
  if (e instanceof protobuf.Enum && typeof v === 'number') return e.valuesById[v] ?? v;
  return v;
}

