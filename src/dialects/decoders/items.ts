/**
 * The structure of a binary payload (CBOR, msgpack) as scanned before any library sees it: every item with where it
 * starts, where its header ends and where it ends. The scanners (cbor.ts, msgpack.ts) check depth and every declared
 * length against the bytes that remain, so what the library then allocates is bounded by the payload's size; this
 * file turns the items into tree nodes whose offsets are exact, so the annotated hex prints every byte once.
 */
import type { FieldNode } from '../../mqtt/types.js';
import { clip, hexBytes } from '../nodes.js';

export interface ScanItem {
  start: number;
  end: number;
  /** Its header (type and length, tag number): [start, headerEnd). For a scalar the whole item is shown as one. */
  headerEnd: number;
  /** What it is, for the tree: "map of 2 pairs", "uint8", "text of 5 bytes", "tag 1". */
  what: string;
  /** Its value for display (scalars): `21`, `"temp"`, `true`. */
  shown?: string;
  /** Containers: items in order (a map's keys and values alternate; a tag's content; an indefinite string's chunks). */
  children?: ScanItem[];
  map?: boolean;
  /** Only the first children were kept (the node limit): the rest of its bytes are one node. */
  partial?: boolean;
}

/** Thrown by a scanner: what is wrong and the offset (in the bytes scanned) where it was found. */
export class ScanError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

/** Scalar text for display, quoted and clipped like other tree values. */
export function shownText(s: string): string {
  return JSON.stringify(clip(s, 120));
}

export function shownBytes(b: Uint8Array, start: number, end: number): string {
  return hexBytes(b, start, end, 16);
}

interface Budget {
  left: number;
}

/**
 * Tree nodes for an item: containers get a header node, then one node per child (map values labelled by their key),
 * then a node for any bytes after the last child (an indefinite item's break). Past `maxNodes` one node covers the
 * rest of a container's bytes, so nothing is hidden and nothing printed twice.
 */
export function itemNodes(b: Uint8Array, root: ScanItem, format: string, maxNodes: number): FieldNode {
  const budget: Budget = { left: maxNodes };
  return node(b, root, format, 'value', budget);
}

function node(b: Uint8Array, it: ScanItem, label: string, key: string, budget: Budget): FieldNode {
  budget.left--;
  const n: FieldNode = { key, label, offset: it.start, length: it.end - it.start };
  if (it.children === undefined) {
    n.value = it.shown ?? shownBytes(b, it.start, it.end);
    n.explain = it.what;
    return n;
  }
  n.explain = it.what;
  const kids: FieldNode[] = [];
  if (it.headerEnd > it.start) kids.push({ key: 'header', label: 'header', offset: it.start, length: it.headerEnd - it.start, value: shownBytes(b, it.start, it.headerEnd), explain: it.what });
  let at = it.headerEnd;
  const cs = it.children;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (budget.left <= 0) {
      kids.push({ key: 'more', label: `${cs.length - i} more item${cs.length - i === 1 ? '' : 's'} (past the tree's node limit)`, offset: c.start, length: it.end - c.start });
      at = it.end;
      break;
    }
    let label: string;
    if (it.map === true) label = i % 2 === 0 ? 'key' : mapValueLabel(cs[i - 1]!);
    else label = it.what.startsWith('tag') ? 'content' : `[${i}]`;
    kids.push(node(b, c, label, it.map === true && i % 2 === 0 ? 'key' : 'item', budget));
    at = c.end;
  }
  if (at < it.end && it.partial === true) kids.push({ key: 'more', label: 'more items (past the tree\'s node limit)', offset: at, length: it.end - at });
  else if (at < it.end) kids.push({ key: 'break', label: 'end', offset: at, length: it.end - at, value: shownBytes(b, at, it.end), explain: 'break (end of an indefinite-length item)' });
  n.children = kids;
  return n;
}

function mapValueLabel(k: ScanItem): string {
  return k.shown !== undefined ? clip(k.shown, 60) : 'value';
}
