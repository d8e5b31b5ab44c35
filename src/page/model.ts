/**
 * What the HTML page (issue 16) shows, collected from the records the CLI already produces: a row per packet for the
 * packet list, and for the first packets and those with findings a packet view — the bytes and the decoder's field
 * tree, flattened with each node's offset and length, so the page can map every byte to its field and back. The
 * explanations are the decoder's own (`FieldNode.explain`, what `-x` and `explain` print), never made in the page.
 *
 * Bounds: a row per packet up to MAX_ROWS, packet views for the first MAX_VIEWS packets and for up to
 * MAX_FINDING_VIEWS more with findings; what is left out is counted and the page says so.
 *
 * Trees are built only for packets that may get a view: the decoder builds them while the first MAX_VIEWS views are
 * not all made (`treeWanted`); after that TreeGate, between the rules and the dialect stage, builds the tree of a
 * packet that has findings while views for them remain, so the dialect stage decorates it as before. A packet whose
 * only findings are the dialect stage's own gets the decoder's tree here, without the dialect's payload nodes.
 */
import { packetTree, type PacketRecord, type Violation } from '../mqtt/connection-decoder.js';
import { CONNACK, CONNECT, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE } from '../mqtt/tables.js';
import { FILTER_NAMES } from '../filter/fields.js';
import type { FieldNode } from '../mqtt/types.js';
import { closeText } from '../render/close.js';
import { escapeText } from '../render/escape.js';
import { TIMING_KINDS, type TimingKind } from '../render/stats/pairing.js';
import { keyFields, REDACTED, SECRET_KEYS } from '../render/fields.js';
import { relativeSeconds } from '../render/format.js';
import { toHex } from '../mqtt/utf8.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import type { TraceRecord, TraceSink } from '../sessions/records.js';

export const MAX_ROWS = 100_000;
export const MAX_VIEWS = 2_000;
export const MAX_FINDING_VIEWS = 2_000;
/** Bytes of one packet shown in its view (a 256 MB PUBLISH is shown by its first bytes, and says so). */
export const MAX_VIEW_BYTES = 64 * 1024;
/** Nodes of one packet's tree kept (a SUBSCRIBE of 10,000 filters keeps its first ones). */
export const MAX_VIEW_NODES = 4_000;

/**
 * One packet list row, as an array to keep the page small: frame, time (s from the first frame, as the text view), conn, dir
 * (0 c2s, 1 s2c), type name, key fields (escaped for display), topic ('' when none), client id ('' when unknown),
 * findings, index of its view (-1: none), and what the page's filter box reads beyond those (PageExtra).
 */
export type PageRow = [number, string, number, 0 | 1, string, string, string, string, number, number, PageExtra];

/**
 * A row's fields for the filter box (src/page/row-filter.ts) that the columns above do not hold, each key only where
 * the packet has the field (a PUBLISH's QoS only when not 0, its RETAIN and DUP only when set), so a QoS 0 PUBLISH
 * costs `,{"l":42}`: l the packet's length (as the filter's `length`), q QoS (a SUBSCRIBE's: one per filter),
 * p Packet Identifier, r RETAIN, d DUP, t a SUBSCRIBE's or UNSUBSCRIBE's Topic Filters (escaped for display, as the
 * topic column), v the findings as [id, severity, spec].
 */
export interface PageExtra {
  l: number;
  q?: number | number[];
  p?: number;
  r?: 1;
  d?: 1;
  t?: string[];
  v?: [string, string, string][];
}

/** One field tree node: depth, offset, length, label, value ('' when none), explanation ('' when none). */
export type PageNode = [number, number, number, string, string, string];

/** One finding of a packet: id, spec, severity, message, offset (-1: the packet as a whole), length. */
export type PageFinding = [string, string, string, string, number, number];

export interface PageView {
  frame: number;
  /** The packet's bytes in hex (at most MAX_VIEW_BYTES of them; `length` is the whole). */
  hex: string;
  length: number;
  nodes: PageNode[];
  /** Nodes left out past MAX_VIEW_NODES. */
  nodesLeftOut: number;
  findings: PageFinding[];
}

export interface PageConnection {
  conn: number;
  client: string;
  server: string;
  /** How it ended, as the text view's close line says it (null: still open when the page was made), and its frame. */
  close: string | null;
  closeFrame: number;
}

/** A request and its answer joined (the summary's timing pairs): the request's frame, the answer's row, the kind, ms. */
export type PagePair = [number, number, string, number];

/** A transport event on a connection (a gap, a retransmission, a resync …): frame, conn, event, message. */
export type PageEvent = [number, number, string, string];

/**
 * A message traced across connections by the sessions stage: the publisher's frame and connection, the topic, each
 * delivery as [conn, frame, latency ms, client id ('' when unknown)], and how many copies could not be attributed.
 */
export interface PageMessage {
  frame: number;
  conn: number;
  clientId: string;
  topic: string;
  deliveries: [number, number, number, string][];
  ambiguous: number;
}

/** Traced messages kept (past it they are counted). */
export const MAX_MESSAGES = 20_000;

/** Pairs and connection events kept (each past its cap is counted). */
export const MAX_PAIRS = 100_000;
export const MAX_EVENTS = 10_000;

/**
 * The plots' series, from the statistics sections' own tables (`stats io`, `stats topics`) and the pairs: x values
 * are seconds from the first bucket's start.
 */
export interface PagePlots {
  /** Bucket width in seconds (widened past 1,024 buckets, as `stats io` says). */
  ioWidth: number;
  ioOffsets: number[];
  /** Packets per bucket by type (only types that occur). */
  ioTypes: Record<string, number[]>;
  bytesC2s: number[];
  bytesS2c: number[];
  /** The busiest topics (most messages) and their messages per bucket. */
  topicWidth: number;
  topics: { topic: string; rate: number[] }[];
  /** Round trips: the answer's time (s from the first frame), the milliseconds, the pair kind; thinned evenly to fewer than MAX_RTT_POINTS. */
  rtt: [number, number, string][];
  notes: string[];
}

/** Each timing kind's name (`PUBLISH->PUBACK`), as the timing tables call it. */
const KIND_NAME = Object.fromEntries(TIMING_KINDS.map((k) => [k.id, k.name])) as Record<TimingKind, string>; // every kind, from the list

/** Round-trip points plotted (the rest are in the summary's timing table). */
export const MAX_RTT_POINTS = 20_000;
/** Topics plotted. */
export const MAX_PLOTTED_TOPICS = 8;

export interface PageData {
  rows: PageRow[];
  plots?: PagePlots;
  views: PageView[];
  connections: PageConnection[];
  pairs: PagePair[];
  events: PageEvent[];
  messages: PageMessage[];
  messagesLeftOut: number;
  eventsLeftOut: number;
  /** Packets seen, and those without a row (past MAX_ROWS) or without a view. */
  packets: number;
  rowsLeftOut: number;
  viewsLeftOut: number;
  limits: { rows: number; views: number; findingViews: number; viewBytes: number };
  /** Every name `-Y` accepts and the packet type names, so the filter box tells a name it lacks from a misspelt one. */
  filterNames: string[];
  typeNames: string[];
}

export interface PageOptions {
  redact: boolean;
  maxRows?: number;
  maxViews?: number;
  maxFindingViews?: number;
}

function findings(vs: readonly Violation[]): PageFinding[] {
  return vs.map((v) => [v.id, v.spec, v.severity, escapeText(v.message), v.offset ?? -1, v.length ?? 0]);
}

/** Flattens a field tree in document order (parents before children), masking secrets when asked. */
function flatten(tree: FieldNode, redact: boolean, out: PageNode[], max: number): number {
  let leftOut = 0;
  const walk = (n: FieldNode, depth: number, secret: boolean): void => {
    const hidden = secret || (redact && SECRET_KEYS.has(n.key));
    if (out.length >= max) leftOut++;
    else out.push([depth, n.offset, n.length, escapeText(n.label), hidden && n.value !== undefined ? REDACTED : escapeText(n.value ?? ''), hidden ? '' : escapeText(n.explain ?? '')]);
    for (const c of n.children ?? []) walk(c, depth + 1, hidden);
  };
  walk(tree, 0, false);
  return leftOut;
}

/** A row's PageExtra: the filter fields of src/filter/fields.ts that the row's columns do not hold, read the same way. */
function extra(rec: PacketRecord): PageExtra {
  const d = rec.decoded;
  const x: PageExtra = { l: rec.truncated ?? d.length };
  switch (d.type) {
    case PUBLISH:
      if (d.qos !== 0) x.q = d.qos;
      if (d.retain) x.r = 1;
      if (d.dup) x.d = 1;
      if (d.packetId !== undefined) x.p = d.packetId;
      break;
    case SUBSCRIBE:
      if (d.subscriptions !== undefined) {
        x.q = d.subscriptions.map((s) => s.qos);
        x.t = d.subscriptions.map((s) => escapeText(s.topic));
      }
      if (d.packetId !== undefined) x.p = d.packetId;
      break;
    case UNSUBSCRIBE:
      if (d.topics !== undefined) x.t = d.topics.map((t) => escapeText(t));
      if (d.packetId !== undefined) x.p = d.packetId;
      break;
    case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: case SUBACK: case UNSUBACK:
      if (d.packetId !== undefined) x.p = d.packetId;
      break;
    default:
      break;
  }
  if (rec.violations.length > 0) x.v = rec.violations.map((v) => [v.id, v.severity, v.spec]);
  return x;
}

const FILTER_NAME_LIST = [...FILTER_NAMES.keys()];
const TYPE_NAME_LIST = [...(FILTER_NAMES.get('type')?.field.values ?? [])];

export class PageCollector implements TraceSink {
  private readonly rows: PageRow[] = [];
  private readonly views: PageView[] = [];
  private readonly connections: PageConnection[] = [];
  /** Open connections' entries in `connections` (their close is filled in later). */
  private readonly openConns = new Map<number, PageConnection>();
  private readonly pairs: PagePair[] = [];
  private rtt: [number, number, string][] = [];
  /** Every rttStride-th round trip is plotted: past MAX_RTT_POINTS every other point goes and the stride doubles. */
  private rttStride = 1;
  private rttSeen = 0;
  private readonly events: PageEvent[] = [];
  private readonly messages: PageMessage[] = [];
  private messagesLeftOut = 0;
  private eventsLeftOut = 0;
  /** The answer the pairing just paired, and its pairs (request frame, kind, ms), until its row is made. */
  private awaited: PacketRecord | null = null;
  private readonly awaitedPairs: [number, string, number][] = [];
  private readonly clientIds = new Map<number, string>();
  private packets = 0;
  private rowsLeftOut = 0;
  private viewsLeftOut = 0;
  private findingViews = 0;
  private baseSec = -1;
  private baseNsec = 0;
  private lastSec = 0;
  private lastNsec = 0;
  private readonly maxRows: number;
  private readonly maxViews: number;
  private readonly maxFindingViews: number;

  constructor(private readonly opts: PageOptions) {
    this.maxRows = opts.maxRows ?? MAX_ROWS;
    this.maxViews = opts.maxViews ?? MAX_VIEWS;
    this.maxFindingViews = opts.maxFindingViews ?? MAX_FINDING_VIEWS;
  }

  /** Every packet decoded now may get a view (the first maxViews are not all made): the decoder builds its tree. */
  get treeWanted(): boolean {
    return this.views.length < this.maxViews;
  }

  /** A packet without a tree that gets a view if it reaches this collector with the findings it has now. */
  wantsTree(rec: PacketRecord): boolean {
    return rec.decoded.tree === null && (this.views.length < this.maxViews || (rec.violations.length > 0 && this.findingViews < this.maxFindingViews));
  }

  open(conn: Connection): void {
    if (this.connections.length >= this.maxRows) return;
    const c: PageConnection = { conn: conn.id, client: escapeText(conn.client), server: escapeText(conn.server), close: null, closeFrame: -1 };
    this.connections.push(c);
    this.openConns.set(conn.id, c);
  }

  close(conn: Connection, end: ConnectionEnd): void {
    this.clientIds.delete(conn.id);
    const c = this.openConns.get(conn.id);
    if (c === undefined) return;
    this.openConns.delete(conn.id);
    c.close = escapeText(closeText(conn, end));
    c.closeFrame = end.frame;
  }

  event(ev: StreamEvent & { violations?: Violation[] }): void {
    if (ev.conn === null) return;
    if (this.events.length >= MAX_EVENTS) this.eventsLeftOut++;
    else this.events.push([ev.frame, ev.conn, ev.event, escapeText(ev.message)]);
  }

  /** The sessions stage's records: a message's deliveries go into the packet views of its PUBLISHes. */
  traced(r: TraceRecord): void {
    if (r.kind !== 'message' || (r.deliveries.length === 0 && r.ambiguous.length === 0)) return;
    if (this.messages.length >= MAX_MESSAGES) {
      this.messagesLeftOut++;
      return;
    }
    this.messages.push({
      frame: r.frame, conn: r.conn, clientId: escapeText(r.clientId ?? ''), topic: escapeText(r.topic),
      deliveries: r.deliveries.map((d) => [d.conn, d.frame, d.latencyMs, escapeText(d.clientId ?? '')]), ambiguous: r.ambiguous.length,
    });
  }

  /** A request answered (src/render/stats/pairing.ts): joined in the sequence diagram when the answer has a row. */
  pair(kind: TimingKind, fromFrame: number, answer: PacketRecord, seconds: number): void {
    const name = KIND_NAME[kind];
    const ms = Math.round(seconds * 1e6) / 1e3;
    if (kind !== 'qos2' && this.rttSeen++ % this.rttStride === 0) {
      this.rtt.push([Number(relativeSeconds(answer.timeSec, answer.timeNsec, this.baseSec, this.baseNsec)), ms, name]);
      if (this.rtt.length >= MAX_RTT_POINTS) {
        this.rtt = this.rtt.filter((_, i) => i % 2 === 0);
        this.rttStride *= 2;
      }
    }
    // The pairing sees each packet before the filter and this collector after it: the answer's row comes next.
    if (this.awaited !== answer) {
      this.awaited = answer;
      this.awaitedPairs.length = 0;
    }
    this.awaitedPairs.push([fromFrame, name, ms]);
  }

  /** Round trips plotted so far (fewer than MAX_RTT_POINTS), and one in how many was kept. */
  get rttPoints(): [number, number, string][] {
    return this.rtt;
  }

  get rttOneIn(): number {
    return this.rttStride;
  }

  packet(rec: PacketRecord): void {
    this.packets++;
    const d = rec.decoded;
    if (this.baseSec < 0) this.frameTime(rec.timeSec, rec.timeNsec);
    if (d.type === CONNECT && d.clientId !== undefined) this.clientIds.set(rec.conn.id, d.clientId);
    // The filter's clientId: the one the server assigned for an empty one (src/filter/stage.ts does the same).
    else if (d.type === CONNACK && this.clientIds.get(rec.conn.id) === '' && d.properties?.assignedClientIdentifier !== undefined) {
      this.clientIds.set(rec.conn.id, d.properties.assignedClientIdentifier);
    }
    let view = -1;
    const hasFindings = rec.violations.length > 0;
    const wanted = this.views.length < this.maxViews || (hasFindings && this.findingViews < this.maxFindingViews);
    // Findings the dialect stage added after TreeGate passed the packet treeless.
    if (wanted && d.tree === null) d.tree = packetTree(rec);
    if (wanted && d.tree !== null) {
      if (this.views.length >= this.maxViews) this.findingViews++;
      view = this.views.length;
      const nodes: PageNode[] = [];
      const nodesLeftOut = flatten(d.tree, this.opts.redact, nodes, MAX_VIEW_NODES);
      const shown = Math.min(rec.bytes.length, MAX_VIEW_BYTES);
      this.views.push({ frame: rec.frame, hex: toHex(rec.bytes, 0, shown), length: rec.bytes.length, nodes, nodesLeftOut, findings: findings(rec.violations) });
    } else this.viewsLeftOut++;
    if (this.rows.length >= this.maxRows) {
      this.rowsLeftOut++;
      return;
    }
    const row = this.rows.length;
    if (this.awaited === rec) {
      for (const [from, name, ms] of this.awaitedPairs) if (this.pairs.length < MAX_PAIRS) this.pairs.push([from, row, name, ms]);
      this.awaited = null;
      this.awaitedPairs.length = 0;
    }
    const topic = d.type === PUBLISH ? (d.resolvedTopic ?? d.topic ?? '') : '';
    this.rows.push([
      rec.frame, relativeSeconds(rec.timeSec, rec.timeNsec, this.baseSec, this.baseNsec), rec.conn.id, rec.dir === 'c2s' ? 0 : 1,
      d.typeName, escapeText(keyFields(rec, this.opts.redact)), escapeText(topic), escapeText(this.clientIds.get(rec.conn.id) ?? ''),
      rec.violations.length, view, extra(rec),
    ]);
  }

  /** Every frame's time (or the first packet's, when frames are not reported): times are relative to the first. */
  frameTime(sec: number, nsec: number): void {
    this.lastSec = sec;
    this.lastNsec = nsec;
    if (this.baseSec >= 0) return;
    this.baseSec = sec;
    this.baseNsec = nsec;
  }

  /** Seconds from the first frame to the last, as text ('-' before any). */
  get duration(): string {
    return this.baseSec < 0 ? '-' : relativeSeconds(this.lastSec, this.lastNsec, this.baseSec, this.baseNsec);
  }

  data(): PageData {
    return {
      rows: this.rows, views: this.views, connections: this.connections, pairs: this.pairs, events: this.events, eventsLeftOut: this.eventsLeftOut, messages: this.messages, messagesLeftOut: this.messagesLeftOut, packets: this.packets,
      rowsLeftOut: this.rowsLeftOut, viewsLeftOut: this.viewsLeftOut,
      limits: { rows: this.maxRows, views: this.maxViews, findingViews: this.maxFindingViews, viewBytes: MAX_VIEW_BYTES },
      filterNames: FILTER_NAME_LIST, typeNames: TYPE_NAME_LIST,
    };
  }
}

/**
 * Between the rules (and sessions) stage and the dialect stage of `report`: builds the field tree of a packet the
 * decoder passed without one when the page will keep its view (PageCollector.wantsTree: its findings so far are
 * known here), so the dialect stage hangs its payload nodes under it as it would have.
 */
export class TreeGate implements TraceSink {
  constructor(private readonly next: TraceSink, private readonly page: PageCollector) {}
  open(conn: Connection): void { this.next.open(conn); }
  packet(rec: PacketRecord): void {
    if (this.page.wantsTree(rec)) rec.decoded.tree = packetTree(rec);
    this.next.packet(rec);
  }
  event(ev: StreamEvent & { violations?: Violation[] }): void { this.next.event(ev); }
  traced(r: TraceRecord): void { this.next.traced?.(r); }
  close(conn: Connection, end: ConnectionEnd): void { this.next.close(conn, end); }
}
