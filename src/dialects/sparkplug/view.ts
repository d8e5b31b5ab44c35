/**
 * How a Sparkplug B message shows: the one-line summary the text view puts after the topic
 * (`NDATA CorpusGroup/Edge1 seq=12 Temperature=21.5 °C (alias 3)`), the payload node's label and the protobuf tree
 * under it, with metric names resolved from the births. The text is raw: the renderers escape it.
 */
import type { DialectJson } from '../../mqtt/packets.js';
import type { FieldNode } from '../../mqtt/types.js';
import { wireNodes } from '../protobuf/nodes.js';
import type { WireField } from '../protobuf/wire.js';
import { metricValue } from './payload.js';
import { dataType } from './schema.js';
import type { SparkplugOutcome } from './state.js';

/** Metrics named in the one-line view; the rest are counted. */
export const LINE_METRICS = 4;
/** Nodes of one payload's protobuf tree (-x, -V). */
export const TREE_MAX_NODES = 4000;

export function sparkplugTreeLabel(info: DialectJson): string {
  return `payload (Sparkplug B ${String(info['kind'])})`;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 48 ? `${s.slice(0, 48)}…` : s;
}

/** The one-line summary (null for a PUBLISH the dialect did not decode). */
export function sparkplugLine(o: DialectJson | undefined): string | null {
  if (o === undefined) return null;
  const kind = String(o['kind']);
  if (kind === 'invalid') return `Sparkplug: ${String(o['problem'])}`;
  if (kind === 'STATE') {
    const online = o['online'];
    return `STATE ${String(o['host'])} ${online === true ? 'online' : online === false ? 'offline' : '(no online flag)'}${o['timestamp'] !== undefined ? ` timestamp=${String(o['timestamp'])}` : ''}`;
  }
  let s = `${kind} ${String(o['group'])}/${String(o['edge'])}${o['device'] !== undefined ? `/${String(o['device'])}` : ''}`;
  if (o['seq'] !== undefined) s += ` seq=${String(o['seq'])}`;
  if (o['error'] !== undefined) return `${s} (not a Sparkplug payload: ${String(o['error'])})`;
  const metrics = Array.isArray(o['metrics']) ? (o['metrics'] as Record<string, unknown>[]) : []; // written by state.ts as such
  const omitted = typeof o['metricsOmitted'] === 'number' ? o['metricsOmitted'] : 0;
  const parts: string[] = [];
  for (const m of metrics.slice(0, LINE_METRICS)) {
    const name = m['name'] !== undefined ? String(m['name']) : `alias ${String(m['alias'])}`;
    const value = m['isNull'] === true ? 'null' : show(m['value']);
    const unit = typeof m['unit'] === 'string' && m['isNull'] !== true ? ` ${m['unit']}` : '';
    const alias = m['name'] !== undefined && m['alias'] !== undefined ? ` (alias ${String(m['alias'])})` : '';
    parts.push(`${name}=${value}${unit}${alias}`);
  }
  const more = metrics.length + omitted - parts.length;
  if (parts.length > 0) s += ` ${parts.join(', ')}`;
  if (more > 0) s += ` +${more} metric${more === 1 ? '' : 's'}`;
  if (metrics.length === 0 && omitted === 0) s += ' (no metrics)';
  return s;
}

/** The protobuf tree of a decoded payload, metrics labelled with their (resolved) names and typed values. */
export function sparkplugNodes(b: Uint8Array, r: SparkplugOutcome, end: number): FieldNode[] {
  const p = r.payload;
  if (!p) return [];
  // Top-level metric fields in payload order: the i-th 'metrics' field is p.metrics[i].
  const metricIndex = new Map<WireField, number>();
  let i = 0;
  for (const f of p.wire) if (f.name === 'metrics' && f.message) metricIndex.set(f, i++);
  const nodes = wireNodes(b, p.wire, {
    maxNodes: TREE_MAX_NODES,
    label(f) {
      const k = metricIndex.get(f);
      if (k === undefined) return undefined;
      const m = p.metrics[k]!;
      const def = r.resolved[k];
      const name = m.name ?? def?.name;
      return `metric ${k}${name !== undefined ? ` ${JSON.stringify(name)}` : ''}${m.alias !== undefined ? ` (alias ${String(m.alias)})` : ''}`;
    },
    value(f) {
      if (f.name === 'datatype' && typeof f.scalar === 'number') return `${f.scalar} (${dataType(f.scalar)?.name ?? 'not a Sparkplug type'})`;
      return undefined;
    },
  });
  // Typed values for the metrics' value fields (the wire value of an Int8 is its 32-bit two's complement).
  for (const [f, k] of metricIndex) {
    const m = p.metrics[k]!;
    if (!m.raw) continue;
    const dt = m.datatype ?? r.resolved[k]?.datatype;
    const tv = metricValue(b, m.raw, dt);
    const node = findNode(nodes, f.tagStart);
    const vn = node?.children?.find((c) => c.offset === m.raw!.wire.tagStart);
    if (vn) {
      vn.value = `${show(tv.value)}${dt !== undefined ? ` (${dataType(dt)?.name ?? dt})` : ''}`;
      if (tv.problem !== undefined) vn.explain = tv.problem;
    }
  }
  // The walk stopped at a defect: the rest of the payload is one node saying why, so no byte goes unexplained.
  if (p.error && p.error.offset < end) nodes.push({ key: 'undecoded', label: 'not decoded', offset: p.error.offset, length: end - p.error.offset, explain: p.error.message });
  return nodes;
}

function findNode(nodes: FieldNode[], offset: number): FieldNode | undefined {
  for (const n of nodes) if (n.offset === offset) return n;
  return undefined;
}
