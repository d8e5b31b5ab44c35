/**
 * Tree nodes for a protobuf wire walk: one node per field covering its tag, length prefix and value, with children
 * for each part, so that the annotated hex shows every byte once with its arithmetic (tag = field × 8 + wire type,
 * varint digits, the length prefix). Sub-messages nest. The caller names fields and values (a Sparkplug metric by
 * the name its birth gave its alias, a user schema by its field names).
 */
import type { FieldNode } from '../../mqtt/types.js';
import { tagExplain, varintExplain, WIRE_TYPE_NAMES, type WireField } from './wire.js';

export interface WireNodeNaming {
  /** Label of a field node (default: the schema name, or "field N"). */
  label?(f: WireField, index: number): string | undefined;
  /** Display value of a scalar/string/bytes field (default: computed from the bytes). */
  value?(f: WireField): string | undefined;
  /** Longest run of nodes made (the rest is one node). */
  maxNodes: number;
}

interface Budget {
  left: number;
}

export function wireNodes(b: Uint8Array, fields: readonly WireField[], naming: WireNodeNaming): FieldNode[] {
  return nodesOf(b, fields, naming, { left: naming.maxNodes });
}

function nodesOf(b: Uint8Array, fields: readonly WireField[], naming: WireNodeNaming, budget: Budget): FieldNode[] {
  const out: FieldNode[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (budget.left <= 0) {
      const last = fields[fields.length - 1]!;
      out.push({ key: 'more', label: `${fields.length - i} more fields`, offset: f.tagStart, length: last.end - f.tagStart });
      break;
    }
    budget.left--;
    out.push(fieldNode(b, f, i, naming, budget));
  }
  return out;
}

function fieldNode(b: Uint8Array, f: WireField, index: number, naming: WireNodeNaming, budget: Budget): FieldNode {
  const label = naming.label?.(f, index) ?? f.name ?? `field ${f.fieldNo}`;
  const node: FieldNode = { key: f.name ?? `field${f.fieldNo}`, label, offset: f.tagStart, length: f.end - f.tagStart };
  const kids: FieldNode[] = [{ key: 'tag', label: 'tag', offset: f.tagStart, length: f.tagEnd - f.tagStart, value: hexTag(f), explain: tagExplain(f, b) }];
  if (f.wireType === 2) {
    kids.push({ key: 'length', label: 'length', offset: f.tagEnd, length: f.start - f.tagEnd, value: String(f.end - f.start), explain: `varint ${varintExplain(b, f.tagEnd, f.start)} bytes follow` });
  }
  if (f.message !== undefined) {
    kids.push(...nodesOf(b, f.message, naming, budget));
  } else if (f.packed !== undefined) {
    // Packed repeated scalars: one node per element, each with its own arithmetic.
    let shownEnd = f.start;
    for (let i = 0; i < f.packed.length && budget.left > 0; i++, budget.left--) {
      const p = f.packed[i]!;
      const one: WireField = { ...f, wireType: packedWireType(f.protoType), start: p.start, end: p.end, scalar: p.value, packed: undefined };
      kids.push({ key: 'element', label: `[${i}]`, offset: p.start, length: p.end - p.start, value: String(p.value), explain: valueExplain(b, one) });
      shownEnd = p.end;
    }
    if (shownEnd < f.end) kids.push({ key: 'more', label: 'more elements', offset: shownEnd, length: f.end - shownEnd });
  } else if (f.end > f.start) {
    const v = naming.value?.(f) ?? defaultValue(b, f);
    const vn: FieldNode = { key: 'value', label: 'value', offset: f.start, length: f.end - f.start };
    if (v !== undefined) vn.value = v;
    vn.explain = valueExplain(b, f);
    kids.push(vn);
  }
  if (f.note !== undefined) node.explain = f.note;
  else if (f.message === undefined) {
    const v = naming.value?.(f) ?? defaultValue(b, f);
    if (v !== undefined) node.value = v;
  }
  node.children = kids;
  return node;
}

/** The wire type one element of a packed field would have on its own. */
function packedWireType(protoType: string | undefined): number {
  if (protoType === 'double' || protoType === 'fixed64' || protoType === 'sfixed64') return 1;
  if (protoType === 'float' || protoType === 'fixed32' || protoType === 'sfixed32') return 5;
  return 0;
}

function hexTag(f: WireField): string {
  const v = f.fieldNo * 8 + f.wireType;
  return `0x${v.toString(16).padStart(2, '0')}`;
}

function defaultValue(b: Uint8Array, f: WireField): string | undefined {
  if (f.scalar !== undefined) return typeof f.scalar === 'string' ? f.scalar : String(f.scalar);
  if (f.packed !== undefined) return `[${f.packed.slice(0, 16).map((p) => String(p.value)).join(', ')}${f.packed.length > 16 ? ', …' : ''}]`;
  if (f.protoType === 'string') return JSON.stringify(Buffer.from(b.buffer, b.byteOffset + f.start, Math.min(f.end - f.start, 200)).toString('utf8'));
  if (f.wireType === 2) return `${f.end - f.start} byte${f.end - f.start === 1 ? '' : 's'}`;
  return undefined;
}

function valueExplain(b: Uint8Array, f: WireField): string {
  switch (f.wireType) {
    case 0: {
      const base = `varint ${varintExplain(b, f.start, f.end)}`;
      if (f.protoType === 'bool') return `${base} (bool)`;
      if (f.protoType?.startsWith('sint') === true) return `${base}, zigzag-decoded to ${String(f.scalar)}`;
      return base;
    }
    case 1: return `8 bytes little-endian (${f.protoType ?? WIRE_TYPE_NAMES[1]})`;
    case 5: return `4 bytes little-endian (${f.protoType ?? WIRE_TYPE_NAMES[5]})`;
    default: return f.packed ? `${f.packed.length} packed ${f.protoType} values` : `${f.end - f.start} bytes${f.protoType ? ` (${f.protoType})` : ''}`;
  }
}
