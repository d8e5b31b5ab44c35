/**
 * Small helpers the dialect stage shares: byte formatting for tree values, the arithmetic shown for big-endian
 * length fields, where a PUBLISH payload lies in the packet, and how a run of items found inside a byte range becomes
 * child nodes that the annotated hex view can print without gaps or repeats.
 */
import type { PacketRecord, Violation } from '../mqtt/connection-decoder.js';
import type { PublishPacket } from '../mqtt/packets.js';
import type { FieldNode } from '../mqtt/types.js';

/** Longest value text put in a tree node; the renderers cut further for one-line views. */
export const MAX_VALUE_CHARS = 200;

/** Spaced lowercase hex ("00 37"), clipped to `max` bytes with the full count appended. */
export function hexBytes(b: Uint8Array, start: number, end: number, max = 32): string {
  const stop = Math.min(end, start + max);
  let s = '';
  for (let i = start; i < stop; i++) s += (i > start ? ' ' : '') + b[i]!.toString(16).padStart(2, '0');
  if (end > stop) s += ` … (${end - start} byte${end - start === 1 ? '' : 's'})`;
  return s;
}

export function hex1(v: number): string {
  return '0x' + v.toString(16).padStart(2, '0');
}

export function clip(s: string, max = MAX_VALUE_CHARS): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A string as a JSON literal for display, clipped. */
export function quote(s: string, max = MAX_VALUE_CHARS): string {
  return JSON.stringify(clip(s, max));
}

/** Any decoded JSON value as one display line. */
export function showValue(v: unknown, max = MAX_VALUE_CHARS): string {
  if (typeof v === 'string') return quote(v, max);
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    // Only absurdly deep values get here (stringify recursion); a placeholder is enough for a display line.
    s = undefined;
  }
  return clip(s ?? String(v), max);
}

/** Big-endian unsigned integer of n bytes (n <= 6 keeps it exact in a double). */
export function readUint(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[at + i]!;
  return v;
}

/**
 * The arithmetic behind a big-endian length field: "00 37 = 55", "01 2c = 1x256 + 44 = 300". Zero bytes are left out
 * of the sum because they contribute nothing and only lengthen the line.
 */
export function uintExplain(b: Uint8Array, at: number, n: number): string {
  const hex = hexBytes(b, at, at + n);
  const value = readUint(b, at, n);
  const terms: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = b[at + i]!;
    if (d === 0) continue;
    const weight = 256 ** (n - 1 - i);
    terms.push(weight === 1 ? String(d) : `${d}x${weight}`);
  }
  if (terms.length <= 1 && (terms.length === 0 || b[at + n - 1] !== 0)) return `${hex} = ${value}`;
  return `${hex} = ${terms.join(' + ')} = ${value}`;
}

/** Where the payload of a decoded PUBLISH lies in `rec.bytes`, or null when decoding stopped before it. */
export function payloadRange(p: PublishPacket): { start: number; end: number } | null {
  if (p.payloadLength === undefined || p.payloadOffset > p.payloadEnd) return null;
  return { start: p.payloadOffset, end: p.payloadEnd };
}

/** The PUBLISH payload node, a direct child of the root, when the tree was built. */
export function payloadNode(rec: PacketRecord, start: number): FieldNode | null {
  const kids = rec.decoded.tree?.children;
  if (!kids) return null;
  for (let i = kids.length - 1; i >= 0; i--) {
    const k = kids[i]!;
    if (k.key === 'payload' && k.offset === start) return k;
  }
  return null;
}

export function addChild(parent: FieldNode, child: FieldNode): FieldNode {
  (parent.children ??= []).push(child);
  return child;
}

/** One thing found inside a range: where it starts (packet offset) and how to show it. */
export interface PartItem {
  at: number;
  key: string;
  label: string;
  value?: string;
  explain?: string;
}

/**
 * Child nodes for items found inside [from, to): item i covers from its own start to the next item's start, the
 * first also takes whatever precedes it and the last whatever follows. Separators and brackets thus belong to a
 * neighbour instead of showing up as "bytes not explained", and no byte is printed twice. Beyond `max` items one
 * node covers the rest.
 */
export function partition(items: PartItem[], from: number, to: number, max: number, moreLabel: string): FieldNode[] {
  const out: FieldNode[] = [];
  const n = items.length;
  if (n === 0 || to <= from) return out;
  const shown = Math.min(n, max);
  for (let i = 0; i < shown; i++) {
    const it = items[i]!;
    const start = i === 0 ? from : Math.max(from, Math.min(it.at, to));
    const end = i === n - 1 ? to : Math.max(start, Math.min(items[i + 1]!.at, to));
    const node: FieldNode = { key: it.key, label: it.label, offset: start, length: end - start };
    if (it.value !== undefined) node.value = it.value;
    if (it.explain !== undefined) node.explain = it.explain;
    out.push(node);
  }
  if (shown < n) {
    const start = Math.max(from, Math.min(items[shown]!.at, to));
    out.push({ key: 'more', label: `${n - shown} more ${moreLabel}`, offset: start, length: to - start });
  }
  return out;
}

/** A dialect finding: not an MQTT violation, so it carries the platform as its "spec". */
export function dialectWarning(id: string, message: string, offset?: number, length?: number, severity: 'warning' | 'note' = 'warning'): Violation {
  const v: Violation = { id, spec: 'OneNET', severity, message };
  if (offset !== undefined) {
    v.offset = offset;
    v.length = length ?? 0;
  }
  return v;
}
