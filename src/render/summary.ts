/** --summary: tables printed at the end (connections, topics, packet types, findings by rule). */
import { topicDigest } from '../mqtt/topics.js';
import type { ChalkInstance } from 'chalk';
import { createRequire } from 'node:module';
import type TableClass from 'cli-table3';
import type { PacketRecord, PacketSink, Violation } from '../mqtt/connection-decoder.js';
import { CONNECT, PUBLISH } from '../mqtt/tables.js';
import { VERSION_NAME, type ProtocolLevel } from '../mqtt/types.js';
import { closeViolations } from '../rules/close.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import { connackText, endText } from './close.js';
import { escapeText } from './escape.js';
import { isoTime, relativeSeconds } from './format.js';
import { terminalSafeJson } from './json.js';
import { clientCapNote, clientTimingRows, timingRows, type Pairing } from './stats/pairing.js';
import type { SparkplugTracker } from '../dialects/sparkplug/state.js';


/**
 * cli-table3 is loaded when a table is first drawn, not at start-up: with its dependencies it costs about 0.03 s of CPU
 * to load, which every run paid, though only text summaries draw tables.
 */
let tableClass: typeof TableClass | null = null;
function Table(): typeof TableClass {
  // createRequire: cli-table3 is CommonJS, and a synchronous require keeps render() synchronous.
  return (tableClass ??= createRequire(import.meta.url)('cli-table3') as typeof TableClass);
}

/** Rows per table: the summary is for reading. */
const MAX_ROWS = 100;

/** Terminal width the tables fit when stdout is not a terminal (a pipe, a file): what a log viewer or a CI page shows. */
export const DEFAULT_WIDTH = 100;
/** Narrowest text a shrunk column keeps (its cells wrap onto more lines below that). */
const MIN_TEXT = 8;

/** Characters a cell takes on screen, as far as this stage can tell (escapeText has made every cell printable). */
function cellWidth(s: string): number {
  let n = 0;
  for (const line of s.split('\n')) n = Math.max(n, [...line].length);
  return n;
}

/**
 * Column widths (cli-table3's, one space of padding each side included) for a table to fit `width` columns of
 * terminal: columns not in `flexible` (numbers, short codes) keep their natural width so no digit is ever cut;
 * the flexible ones (names, addresses, messages) give up room, the widest first, down to MIN_TEXT, and their cells
 * wrap. A table that cannot fit even then is as narrow as it can get.
 */
export function fitColumns(head: readonly string[], rows: readonly (readonly string[])[], width: number, flexible: readonly number[]): number[] {
  const w = head.map((h, i) => Math.max(cellWidth(h), ...rows.map((r) => cellWidth(r[i] ?? ''))) + 2);
  const floor = w.map((x, i) => (flexible.includes(i) ? Math.min(x, MIN_TEXT + 2) : x));
  // Borders: one column of them between cells and one at each edge.
  let excess = w.reduce((a, b) => a + b, 0) + w.length + 1 - width;
  while (excess > 0) {
    let widest = -1;
    for (const i of flexible) if (w[i]! > floor[i]! && (widest < 0 || w[i]! > w[widest]!)) widest = i;
    if (widest < 0) break;
    // Down to the next widest flexible column at once (few steps even for a name of thousands of characters), or
    // by one when several are equally wide, so they end up sharing the room instead of one losing it all.
    let next = floor[widest]!;
    for (const i of flexible) if (i !== widest && w[i]! <= w[widest]! && w[i]! > next) next = w[i]!;
    const cut = Math.min(excess, Math.max(1, w[widest]! - next));
    w[widest] = w[widest]! - cut;
    excess -= cut;
  }
  return w;
}

/** Width of a table whose columns all take their natural width. */
function naturalWidth(head: readonly string[], rows: readonly (readonly string[])[]): number {
  return fitColumns(head, rows, Infinity, []).reduce((a, b) => a + b, 0) + head.length + 1;
}

/** Lines one value of a shrunk column may take; a longer name is cut there, and the cut says how much is left out. */
const MAX_VALUE_LINES = 4;

/**
 * A cell's text broken into lines of at most `room` characters, each of its values (one per line of `text`) on
 * lines of its own: at spaces where a line can end at one, else at any character; at most MAX_VALUE_LINES lines per
 * value, the last one then ending in "… +N" (N characters left out). Done here rather than by cli-table3, which cuts
 * a word too long for its column with "…" and wraps very long text slowly.
 */
export function wrapCell(text: string, room: number): string {
  return text.split('\n').map((v) => wrapValue(v, room)).join('\n');
}

function wrapValue(text: string, room: number): string {
  const chars = [...text];
  if (chars.length <= room) return text;
  const out: string[] = [];
  let at = 0;
  while (at < chars.length) {
    if (out.length === MAX_VALUE_LINES - 1 && chars.length - at > room) {
      // The last line: as much as fits beside the count of what is left out.
      const left = (keep: number): string => `… +${chars.length - at - keep}`;
      const keep = Math.max(0, room - [...left(0)].length);
      out.push(chars.slice(at, at + keep).join('') + left(keep));
      break;
    }
    let end = at + room;
    let next = end;
    if (end < chars.length) {
      const space = chars.lastIndexOf(' ', end);
      if (space > at) {
        end = space;
        next = space + 1;
      }
    }
    out.push(chars.slice(at, end).join(''));
    at = next;
  }
  return out.join('\n');
}

/** A table of string cells fitted to `width` (see fitColumns), its cells wrapped to their columns (see wrapCell). */
export function fittedTable(head: string[], rows: string[][], width: number, flexible: readonly number[], style: { head: string[]; border: string[] }): string {
  const colWidths = fitColumns(head, rows, width, flexible);
  const t = new (Table())({ head: head.map((h, i) => wrapCell(h, colWidths[i]! - 2)), style, colWidths });
  for (const r of rows) t.push(r.map((content, i) => wrapCell(content, colWidths[i]! - 2)));
  return t.toString();
}

/** Distinct topics counted; beyond it, messages to new topics are counted under one row. */
const MAX_TOPICS = 100_000;
const OTHER_TOPICS = '(other topics beyond the first 100000)';
/** Characters of topic names kept for the table; past it, messages to new topics are counted under one row too. */
export const MAX_TOPIC_CHARS = 16 * 1024 * 1024;
const OTHER_TOPICS_BYTES = `(other topics beyond the first ${MAX_TOPIC_CHARS} characters of topic names)`;
/**
 * V8 hashes only the length of a string longer than this, so long names that share a length would all land in one
 * bucket of a Map and every lookup would compare against each of them: such names are keyed by a digest instead.
 */
const LONGEST_HASHED = 16383;

/** The Map key of a topic: itself, or for a long one its length and SHA-256 (no topic contains these NULs). */
export function topicKey(topic: string): string {
  return topicDigest(topic, LONGEST_HASHED);
}

interface SummaryTables {
  busiest: ConnSummary[];
  shownCount: number;
  totalPackets: number;
  topics: TopicSummary[];
  types: { type: string; count: number }[];
  rules: ({ id: string } & RuleSummary)[];
}

interface ConnSummary {
  conn: Connection;
  clientId: string | null;
  /** Protocol level of the last packet (0 before any), and whether it was inferred: the text is made at render. */
  level: number;
  levelInferred: boolean;
  lastSec: number;
  lastNsec: number;
  packets: number;
  bytes: number;
  findings: number;
  /** How it ended (set at close; the duration then runs to the TCP close). */
  end?: ConnectionEnd;
}

interface TopicSummary {
  /** The topic as shown (the Map key may be a digest of it). */
  name: string;
  messages: number;
  bytes: number;
  /** Messages per QoS: fields rather than an array, so a tally touches one object (thousands of topics are live). */
  qos0: number;
  qos1: number;
  qos2: number;
  retained: number;
}

interface RuleSummary {
  spec: string;
  severity: string;
  message: string;
  count: number;
}

/** A connection row is worth showing once it carried MQTT (or is TLS, shown as such). */
function shown(c: ConnSummary): boolean {
  return c.packets > 0 || c.conn.tls;
}

/** Table order for picking rows: most findings, then most packets, then first opened. */
function busiestFirst(a: ConnSummary, b: ConnSummary): number {
  return b.findings - a.findings || b.packets - a.packets || a.conn.id - b.conn.id;
}

/** The summary's tables by the name their `--summary --json` record has, with the heading both views give them. */
export const SUMMARY_TABLE_TITLES = {
  connections: 'Connections', topics: 'Topics', types: 'Packet types', timing: 'Timing, ms', 'timing-clients': 'Timing per client, ms', findings: 'Findings by rule', events: 'Capture and transport events',
  sparkplugNodes: 'Sparkplug B edge nodes', sparkplugDevices: 'Sparkplug B devices', sparkplugHosts: 'Sparkplug B host applications',
} as const;

export class SummaryCollector implements PacketSink {
  /**
   * `timing`: the pairing of the timing statistics (src/render/stats/), fed by the back end before the filter; its
   * overall percentiles are the summary's timing table.
   */
  constructor(private readonly timing?: Pairing) {}

  /** The dialect stage's Sparkplug state: its edge nodes, devices and hosts become three more tables when there are any. */
  private sparkplug: SparkplugTracker | null = null;

  useSparkplug(t: SparkplugTracker | null): void {
    this.sparkplug = t;
  }

  private sparkplugTables(): { nodes: Record<string, unknown>[]; devices: Record<string, unknown>[]; hosts: Record<string, unknown>[] } {
    const sp = this.sparkplug;
    if (sp === null) return { nodes: [], devices: [], hosts: [] };
    const all = sp.edgeNodes;
    const nodes = all.slice(0, MAX_ROWS).map((n) => ({
      edgeNode: `${n.group}/${n.edge}`, births: n.births, deaths: n.deaths, data: n.data, commands: n.commands, rebirthRequests: n.rebirthRequests,
      seqGaps: n.seqGaps, metrics: n.metrics, devices: n.devices.length, bdSeq: n.lastBdSeq, online: n.online,
    }));
    const devices = all.flatMap((n) => n.devices.map((d) => ({ device: `${n.group}/${n.edge}/${d.id}`, births: d.births, deaths: d.deaths, metrics: d.metrics }))).slice(0, MAX_ROWS);
    const hosts = sp.hostApplications.slice(0, MAX_ROWS).map((h) => ({ host: h.host, online: h.online, births: h.births, deaths: h.deaths }));
    return { nodes, devices, hosts };
  }

  private readonly conns = new Map<number, ConnSummary>();
  private readonly topics = new Map<string, TopicSummary>();
  /** Characters of the topic names in `topics`; the row new topics go to once a cap is reached. */
  private topicChars = 0;
  private otherTopics: string | null = null;

  /** Characters of topic names kept for the topics table (bounded by MAX_TOPIC_CHARS). */
  get topicNameChars(): number {
    return this.topicChars;
  }
  /** Packets per type (4-bit type code), with names and first-seen order for the table. */
  private readonly typeCounts = new Array<number>(16).fill(0);
  private readonly typeNames = new Array<string>(16).fill('');
  private readonly typeOrder: number[] = [];
  private readonly rules = new Map<string, RuleSummary>();
  private readonly events = new Map<string, number>();

  /**
   * Closed connections that may still make the table: at most 2 x MAX_ROWS, cut back to the best MAX_ROWS when
   * full, so a capture of millions of connections needs no more memory than one of a hundred.
   */
  private closed: ConnSummary[] = [];
  /** Closed connections with something to show, and their packets, including those cut from `closed`. */
  private closedShown = 0;
  private closedPackets = 0;

  open(conn: Connection): void {
    this.conns.set(conn.id, { conn, clientId: null, level: 0, levelInferred: false, lastSec: conn.startSec, lastNsec: conn.startNsec, packets: 0, bytes: 0, findings: 0 });
  }

  close(conn: Connection, end?: ConnectionEnd): void {
    const c = this.conns.get(conn.id);
    if (c === undefined) return;
    this.conns.delete(conn.id);
    if (end !== undefined) {
      c.end = end;
      c.lastSec = end.timeSec;
      c.lastNsec = end.timeNsec;
      const vs = closeViolations(end);
      if (vs.length > 0) {
        c.findings += vs.length;
        this.countViolations(vs);
      }
    }
    if (!shown(c)) return;
    this.closedShown++;
    this.closedPackets += c.packets;
    this.closed.push(c);
    if (this.closed.length >= 2 * MAX_ROWS) this.closed = this.closed.sort(busiestFirst).slice(0, MAX_ROWS);
  }

  packet(rec: PacketRecord): void {
    const d = rec.decoded;
    const c = this.conns.get(rec.conn.id);
    if (c) {
      c.packets++;
      // A packet the snaplen cut counts with the length it had on the wire, like the NDJSON record's `length`.
      c.bytes += rec.truncated ?? d.length;
      c.findings += rec.violations.length;
      c.lastSec = rec.timeSec;
      c.lastNsec = rec.timeNsec;
      c.level = d.level;
      c.levelInferred = rec.levelInferred;
      if (d.type === CONNECT && d.clientId !== undefined) c.clientId = d.clientId;
    }
    // Counted by the type nibble as sent, so reserved types 0 and 15 keep rows of their own.
    const t = d.wireType;
    if (this.typeCounts[t]++ === 0) {
      this.typeNames[t] = d.typeName;
      this.typeOrder.push(t);
    }
    if (d.type === PUBLISH) {
      const topic = d.resolvedTopic ?? d.topic ?? '';
      const key = topicKey(topic);
      let tp = this.topics.get(key);
      if (!tp) {
        if (this.otherTopics === null && (this.topics.size >= MAX_TOPICS || this.topicChars + topic.length > MAX_TOPIC_CHARS)) {
          this.otherTopics = this.topics.size >= MAX_TOPICS ? OTHER_TOPICS : OTHER_TOPICS_BYTES;
        }
        const other = this.otherTopics;
        tp = other !== null ? this.topics.get(other) : undefined;
        if (!tp) {
          tp = { name: other ?? topic, messages: 0, bytes: 0, qos0: 0, qos1: 0, qos2: 0, retained: 0 };
          this.topics.set(other ?? key, tp);
          this.topicChars += other !== null ? 0 : topic.length;
        }
      }
      tp.messages++;
      tp.bytes += d.payloadLength ?? 0;
      if (d.headerFields) {
        if (d.qos === 0) tp.qos0++;
        else if (d.qos === 1) tp.qos1++;
        else if (d.qos === 2) tp.qos2++;
      }
      if (d.headerFields && d.retain) tp.retained++;
    }
    this.countViolations(rec.violations);
  }

  event(ev: StreamEvent & { violations?: Violation[] }): void {
    this.events.set(ev.event, (this.events.get(ev.event) ?? 0) + 1);
    if (ev.violations) {
      this.countViolations(ev.violations);
      const c = ev.conn !== null ? this.conns.get(ev.conn) : undefined;
      if (c) c.findings += ev.violations.length;
    }
  }

  private countViolations(vs: readonly Violation[]): void {
    for (const v of vs) {
      const key = `${v.id}\u0000${v.spec}`;
      const r = this.rules.get(key);
      if (r) r.count++;
      else this.rules.set(key, { spec: v.spec, severity: v.severity, message: v.message, count: 1 });
    }
  }

  /**
   * The per-client timing rows both views show (a row per ClientId and pair kind, clients with most pairs first, the
   * first MAX_ROWS), how many there are, and what the caps left out.
   */
  private clientTiming(): { rows: ReturnType<typeof clientTimingRows>; total: number; notes: string[] } {
    if (this.timing === undefined || this.timing.perClient === null) return { rows: [], total: 0, notes: [] };
    const clients = this.timing.clientTable();
    // Rows (and their percentiles) only for the clients shown; the rest are counted (thousands of clients).
    let total = 0;
    let shownClients = 0;
    for (const ct of clients) {
      const before = total;
      for (const h of ct.timing) if (h !== null && h.count > 0) total++;
      if (before < MAX_ROWS) shownClients++;
    }
    const rows = clientTimingRows(clients.slice(0, shownClients)).slice(0, MAX_ROWS);
    return { rows, total, notes: clientCapNote(this.timing) };
  }

  /** What both views show, picked once: the busiest connections, topics by messages, types and rules by count. */
  private tables(): SummaryTables {
    // A table of thousands of rows helps nobody, and cli-table3's layout grows faster than linearly with rows:
    // the busiest connections (findings first) are listed, the rest counted.
    const live = [...this.conns.values()].filter(shown);
    const shownCount = this.closedShown + live.length;
    const busiest = [...this.closed, ...live].sort(busiestFirst).slice(0, MAX_ROWS).sort((a, b) => a.conn.id - b.conn.id);
    const totalPackets = live.reduce((n, c) => n + c.packets, this.closedPackets);
    const sortedTopics = [...this.topics.values()].sort((a, b) => b.messages - a.messages || (a.name < b.name ? -1 : 1));
    // Most frequent first; ties stay in first-seen order (sort is stable).
    const types = [...this.typeOrder].sort((a, b) => this.typeCounts[b]! - this.typeCounts[a]!).map((t) => ({ type: this.typeNames[t]!, count: this.typeCounts[t]! }));
    const rules = [...this.rules.entries()].sort((a, b) => b[1].count - a[1].count).map(([key, r]) => ({ id: key.split('\u0000')[0]!, ...r }));
    return { busiest, shownCount, totalPackets, topics: sortedTopics, types, rules };
  }

  /**
   * The summary as NDJSON records (`--summary --json`): one `kind:"summary"` record per table, the same rows the text
   * tables show (connections and topics cut at the same count, with the totals), so the output stays pure NDJSON.
   */
  renderJson(): string[] {
    const t = this.tables();
    const rec = (table: string, extra: Record<string, unknown>, rows: unknown[]): string =>
      terminalSafeJson(JSON.stringify({ kind: 'summary', table, ...extra, rows }));
    return [
      rec('connections', { shown: t.busiest.length, total: t.shownCount, packets: t.totalPackets }, t.busiest.map((c) => ({
        conn: c.conn.id, tcpStream: c.conn.tcpStream, client: c.conn.client, server: c.conn.server, tls: c.conn.tls, clientId: c.clientId,
        version: c.level === 0 ? null : (VERSION_NAME[c.level as ProtocolLevel] ?? String(c.level)), versionInferred: c.levelInferred,
        start: isoTime(c.conn.startSec, c.conn.startNsec), durationSec: Number(relativeSeconds(c.lastSec, c.lastNsec, c.conn.startSec, c.conn.startNsec)),
        connack: connackText(c.end), end: c.end ? endText(c.end) : 'open', packets: c.packets, bytes: c.bytes, findings: c.findings,
      }))),
      rec('topics', { shown: Math.min(MAX_ROWS, t.topics.length), total: t.topics.length, ...(this.otherTopics !== null ? { cappedAs: this.otherTopics } : {}) },
        t.topics.slice(0, MAX_ROWS).map((x) => ({ topic: x.name, messages: x.messages, payloadBytes: x.bytes, qos: [x.qos0, x.qos1, x.qos2], retained: x.retained }))),
      rec('types', {}, t.types),
      ...(this.timing !== undefined ? [rec('timing', {}, timingRows(this.timing.overall, false))] : []),
      ...this.clientTimingJson(rec),
      rec('findings', {}, t.rules.map((r) => ({ id: r.id, spec: r.spec, severity: r.severity, count: r.count, message: r.message }))),
      rec('events', {}, [...this.events].map(([event, count]) => ({ event, count }))),
      ...this.sparkplugJson(rec),
    ];
  }

  private clientTimingJson(rec: (table: string, extra: Record<string, unknown>, rows: unknown[]) => string): string[] {
    if (this.timing === undefined || this.timing.perClient === null) return [];
    const ct = this.clientTiming();
    return [rec('timing-clients', { shown: ct.rows.length, total: ct.total, ...(ct.notes.length > 0 ? { notes: ct.notes } : {}) }, ct.rows)];
  }

  private sparkplugJson(rec: (table: string, extra: Record<string, unknown>, rows: unknown[]) => string): string[] {
    const t = this.sparkplugTables();
    const out: string[] = [];
    if (t.nodes.length > 0) out.push(rec('sparkplug-edge-nodes', {}, t.nodes));
    if (t.devices.length > 0) out.push(rec('sparkplug-devices', {}, t.devices));
    if (t.hosts.length > 0) out.push(rec('sparkplug-hosts', {}, t.hosts));
    return out;
  }

  /** The text tables, each fitted to `width` terminal columns (DEFAULT_WIDTH, or the terminal's own width). */
  render(chalk: ChalkInstance, color: boolean, width: number = DEFAULT_WIDTH): string {
    // cli-table3 paints headers and borders even into pipes unless its style is emptied.
    const style = color ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] };
    const out: string[] = [];

    const t = this.tables();
    const { busiest, shownCount, totalPackets } = t;
    // Start times: the time of day when every row has the same date, which the title then gives (12 columns saved).
    const starts = busiest.map((c) => isoTime(c.conn.startSec, c.conn.startNsec));
    const day = starts.length > 0 && starts.every((x) => x.slice(0, 11) === starts[0]!.slice(0, 11) && x.length > 11) ? starts[0]!.slice(0, 10) : null;
    const cells = busiest.map((c, i) => ({
      conn: String(c.conn.id), client: escapeText(c.conn.client), server: escapeText(c.conn.server),
      // A TLS connection shows its client id once decrypted, and says it was TLS either way.
      clientId: c.conn.tls ? (c.clientId === null ? '(TLS)' : `${escapeText(c.clientId)} (TLS)`) : c.clientId === null ? '-' : escapeText(c.clientId),
      version: c.level === 0 ? '-' : (VERSION_NAME[c.level as ProtocolLevel] ?? String(c.level)) + (c.levelInferred ? '?' : ''),
      start: day === null ? starts[i]! : starts[i]!.slice(11), duration: relativeSeconds(c.lastSec, c.lastNsec, c.conn.startSec, c.conn.startNsec),
      connack: connackText(c.end), end: c.end ? endText(c.end) : 'open', packets: String(c.packets), bytes: String(c.bytes), findings: String(c.findings),
    }));
    const wideHead = ['conn', 'client', 'server', 'client id', 'version', day === null ? 'start' : 'start UTC', 'duration s', 'CONNACK', 'end', 'packets', 'bytes', 'findings'];
    const wideRows = cells.map((c) => [c.conn, c.client, c.server, c.clientId, c.version, c.start, c.duration, c.connack, c.end, c.packets, c.bytes, c.findings]);
    // Twelve columns do not fit a narrow terminal: then pairs of values share a column, one above the other, and
    // every row takes two lines (conn over version, client over server, start over duration, CONNACK over end,
    // packets over bytes).
    const connTable = naturalWidth(wideHead, wideRows) <= width
      ? fittedTable(wideHead, wideRows, width, [], style)
      : fittedTable(['conn\nversion', 'client\nserver', 'client id', `${day === null ? 'start' : 'start UTC'}\nduration s`, 'CONNACK\nend', 'packets\nbytes', 'findings'],
        cells.map((c) => [`${c.conn}\n${c.version}`, `${c.client}\n${c.server}`, c.clientId, `${c.start}\n${c.duration}`, `${c.connack}\n${c.end}`, `${c.packets}\n${c.bytes}`, c.findings]),
        width, [1, 2, 4], style);
    const dated = day === null ? '' : ` (started ${day}, times UTC)`;
    out.push(chalk.bold(SUMMARY_TABLE_TITLES.connections) + dated + (shownCount > MAX_ROWS ? ` (the ${MAX_ROWS} with most findings and packets, of ${shownCount}; ${totalPackets} packets in all; --json lists every one)` : ''), connTable);

    const sortedTopics = t.topics;
    const topicRows = sortedTopics.slice(0, MAX_ROWS).map((x) => [escapeText(x.name), String(x.messages), String(x.bytes), `${x.qos0}/${x.qos1}/${x.qos2}`, String(x.retained)]);
    const capped = this.otherTopics !== null ? `; messages to topics past the cap are counted as "${this.otherTopics}"` : '';
    out.push(chalk.bold(SUMMARY_TABLE_TITLES.topics) + (sortedTopics.length > MAX_ROWS ? ` (top ${MAX_ROWS} of ${sortedTopics.length}${capped})` : capped !== '' ? ` (${capped.slice(2)})` : ''),
      fittedTable(['topic', 'messages', 'payload bytes', 'QoS 0/1/2', 'retained'], topicRows, width, [0], style));

    const types = new (Table())({ head: ['packet type', 'count'], style });
    for (const x of t.types) types.push([x.type, x.count]);
    out.push(chalk.bold(SUMMARY_TABLE_TITLES.types), types.toString());

    const timed = this.timing !== undefined ? timingRows(this.timing.overall, false) : [];
    if (timed.length > 0) {
      const msText = (v: unknown): string => (typeof v === 'number' ? v.toFixed(3) : '-');
      out.push(chalk.bold(SUMMARY_TABLE_TITLES.timing) + ' (request to response; mqtt-dissect stats timing has them per connection)',
        fittedTable(['pair', 'count', 'p50', 'p90', 'p99', 'max'], timed.map((r) => [String(r.pair), String(r.count), msText(r.p50Ms), msText(r.p90Ms), msText(r.p99Ms), msText(r.maxMs)]), width, [0], style));
      const ct = this.clientTiming();
      if (ct.rows.length > 0) {
        const notes = [...(ct.total > ct.rows.length ? [`the first ${ct.rows.length} of ${ct.total} rows; mqtt-dissect stats timing lists every one`] : []), ...ct.notes];
        out.push(chalk.bold(SUMMARY_TABLE_TITLES['timing-clients']) + ` (${['connections of one ClientId pooled', 'PUBLISH->delivery: the deliveries it received', ...notes].join('; ')})`,
          fittedTable(['client id', 'conns', 'pair', 'count', 'p50', 'p90', 'p99', 'max'], ct.rows.map((r) => [
            r['clientId'] === null ? '-' : escapeText(String(r['clientId'])), String(r['connections']), String(r.pair), String(r.count),
            msText(r.p50Ms), msText(r.p90Ms), msText(r.p99Ms), msText(r.maxMs),
          ]), width, [0, 2], style));
      }
    }

    const ruleRows = t.rules.map((r) => [r.id, r.spec, r.severity, String(r.count), escapeText(r.message)]);
    out.push(chalk.bold(SUMMARY_TABLE_TITLES.findings), this.rules.size === 0 ? '(none)' : fittedTable(['rule', 'spec', 'severity', 'count', 'what'], ruleRows, width, [0, 4], style));

    if (this.events.size > 0) {
      const events = new (Table())({ head: ['event', 'count'], style });
      for (const [name, n] of this.events) events.push([name, n]);
      out.push(chalk.bold(SUMMARY_TABLE_TITLES.events), events.toString());
    }
    const sp = this.sparkplugTables();
    const cell = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'boolean' ? (v ? 'yes' : 'no') : escapeText(String(v)));
    if (sp.nodes.length > 0) {
      out.push(chalk.bold(SUMMARY_TABLE_TITLES.sparkplugNodes) + ' (births, deaths and seq gaps from the edge nodes\' own connections where the capture has them)',
        fittedTable(['edge node', 'births', 'deaths', 'data', 'commands', 'rebirth requests', 'seq gaps', 'metrics', 'devices', 'bdSeq', 'online at end'],
          sp.nodes.map((n) => [n['edgeNode'], n['births'], n['deaths'], n['data'], n['commands'], n['rebirthRequests'], n['seqGaps'], n['metrics'], n['devices'], n['bdSeq'], n['online']].map(cell)), width, [0], style));
    }
    if (sp.devices.length > 0) {
      out.push(chalk.bold(SUMMARY_TABLE_TITLES.sparkplugDevices), fittedTable(['device', 'births', 'deaths', 'metrics'], sp.devices.map((d) => [d['device'], d['births'], d['deaths'], d['metrics']].map(cell)), width, [0], style));
    }
    if (sp.hosts.length > 0) {
      out.push(chalk.bold(SUMMARY_TABLE_TITLES.sparkplugHosts), fittedTable(['host application', 'online at end', 'births', 'deaths'], sp.hosts.map((h) => [h['host'], h['online'], h['births'], h['deaths']].map(cell)), width, [0], style));
    }
    return out.join('\n');
  }
}
