/**
 * `mqtt-dissect stats NAME`: one statistics section (src/render/stats/sections.ts lists them), collected while the
 * capture is read and printed at the end as text tables, NDJSON records or CSV.
 *
 * Two doors: `observer` sees every record before the filter (the connections' ClientIds, and the request/response
 * pairing of src/render/stats/pairing.ts, so that a filter never makes an answered request look unanswered), and
 * `counted` sees what the filter selected (-Y): only that is counted. Every table is bounded (rows tracked, rows
 * shown) and says when a bound was reached.
 */
import type { ChalkInstance } from 'chalk';
import type { PacketRecord, PacketSink, Violation } from '../../mqtt/connection-decoder.js';
import { CONNACK, CONNECT, PUBLISH } from '../../mqtt/tables.js';
import { closeViolations } from '../../rules/close.js';
import type { TraceRecord, TraceSink } from '../../sessions/records.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../../tcp/types.js';
import { endText } from '../close.js';
import { escapeText } from '../escape.js';
import { isoTime } from '../format.js';
import { terminalSafeJson } from '../json.js';
import { DEFAULT_WIDTH, fittedTable, topicKey } from '../summary.js';
import { LogHistogram } from './histogram.js';
import { clientCapNote, clientTimingRows, FLOW_STATES, Pairing, TIMING_KINDS, timingRows, type UnackedFlow } from './pairing.js';
import { sectionNamed, type Cell, type ColumnType, type Row, type StatsColumn, type StatsTableSpec } from './sections.js';
import { Buckets, bump } from './series.js';

export type { Cell, Row } from './sections.js';

export interface StatsTable {
  readonly section: string;
  readonly spec: StatsTableSpec;
  readonly rows: readonly Row[];
  /** Rows there were before any cut (rows tracked past a cap count in a row of their own). */
  readonly total: number;
  /** What bounds were reached, the interval used: said in the title and in the NDJSON table record. */
  readonly notes: readonly string[];
  /** Rows the text table shows at most (NDJSON and CSV have every row). */
  readonly textRows: number;
  /** Extra facts for the NDJSON table record (the interval). */
  readonly extra?: Readonly<Record<string, number>>;
}

/** Rows a text table shows: the summary's bound. */
export const TEXT_ROWS = 100;
/** Distinct ClientIds, topics and addresses tracked; past it they count in one "other" row. */
export const MAX_KEYS = 10_000;
/** Characters of ClientIds or topic names kept per table. */
export const MAX_KEY_CHARS = 4 * 1024 * 1024;
/** Distinct publishers counted per topic. */
export const MAX_PUBLISHERS = 1_000;
/** Connections kept for the talkers table. */
export const MAX_TALKER_CONNS = 1_000;
/** Busiest seconds listed, and seconds held open while packets may still arrive for them. */
const BUSIEST = 10;
const OPEN_SECONDS = 64;
/** Buckets a series holds at most: io and topics with --interval; topics by default (so the table stays readable). */
export const IO_BUCKETS = 1_024;
export const TOPIC_BUCKETS = 256;
export const TOPIC_BUCKETS_DEFAULT = 12;

export interface StatsOptions {
  /** The section (a name of STATS_SECTIONS). */
  section: string;
  /** More sections collected in the same pass (`--summary` shows clients, talkers and qos-flows besides its own tables). */
  also?: readonly string[];
  /** --interval S (seconds): the io and topics buckets. */
  interval?: number;
  /** Timing overall only, no table per connection (the summary's timing table). */
  overallOnly?: boolean;
}

/** Counted packets and bytes each way, the PUBLISH QoS mix, findings, the last packet's time: of a connection or a client. */
interface Traffic {
  pc2s: number;
  ps2c: number;
  bc2s: number;
  bs2c: number;
  qosSent: [number, number, number];
  qosRecv: [number, number, number];
  findings: number;
  lastSec: number;
  lastNsec: number;
}

interface ConnInfo extends Traffic {
  conn: Connection;
  clientId: string | null;
}

interface ClientRow extends Traffic {
  clientId: string | null;
  connections: number;
  firstSec: number;
  firstNsec: number;
  ends: Map<string, number>;
}

interface TopicRow {
  name: string;
  messages: number;
  bytes: number;
  publishers: Set<string>;
  sizes: LogHistogram;
  rate: number[];
}

interface AddressRow {
  address: string;
  connections: number;
  packets: number;
  bytes: number;
}

interface SecondRow {
  sec: number;
  packets: number;
  bytes: number;
}

interface TalkerConn {
  conn: Connection;
  clientId: string | null;
  packets: number;
  bytes: number;
}

const later = (aSec: number, aNsec: number, bSec: number, bNsec: number): boolean => aSec > bSec || (aSec === bSec && aNsec > bNsec);

/** Keys of a bounded table: the key itself, or once a cap is reached the "other" row's. */
class BoundedKeys<T> {
  readonly rows = new Map<string, T>();
  chars = 0;
  other: string | null = null;
  constructor(private readonly what: string) {}
  get(key: string, name: string, make: (name: string) => T): T {
    const r = this.rows.get(key);
    if (r !== undefined) return r;
    if (this.other === null && (this.rows.size >= MAX_KEYS || this.chars + name.length > MAX_KEY_CHARS)) {
      this.other = this.rows.size >= MAX_KEYS ? `(other ${this.what} beyond the first ${MAX_KEYS})` : `(other ${this.what} beyond the first ${MAX_KEY_CHARS} characters)`;
    }
    const other = this.other;
    if (other !== null) {
      let o = this.rows.get(other);
      if (o === undefined) this.rows.set(other, (o = make(other)));
      return o;
    }
    this.chars += name.length;
    const n = make(name);
    this.rows.set(key, n);
    return n;
  }
}

export class StatsCollector {
  readonly section: string;
  /** Every record, before the filter. */
  readonly observer: TraceSink;
  /** The records the filter selected. */
  readonly counted: PacketSink;
  readonly pairing: Pairing | null;
  private readonly conns = new Map<number, ConnInfo>();
  private readonly want: Set<string>;
  private readonly interval: number | undefined;
  // clients
  private readonly clients = new BoundedKeys<ClientRow>('clients');
  // topics
  private readonly topics = new BoundedKeys<TopicRow>('topics');
  private readonly topicBuckets: Buckets;
  private publishersCapped = false;
  // talkers
  private talkerConns: TalkerConn[] = [];
  private talkerTotal = 0;
  private readonly addresses = new BoundedKeys<AddressRow>('addresses');
  private readonly openSeconds = new Map<number, SecondRow>();
  private busiest: SecondRow[] = [];
  private secondsSeen = 0;
  // io
  private readonly ioBuckets: Buckets;
  private readonly ioTotal: number[];
  private readonly ioC2s: number[];
  private readonly ioS2c: number[];
  private readonly ioTypes = new Map<string, number[]>();

  constructor(o: StatsOptions) {
    this.section = o.section;
    this.want = new Set([o.section, ...(o.also ?? [])]);
    this.interval = o.interval;
    this.pairing = this.want.has('timing') || this.want.has('qos-flows') || this.want.has('inflight')
      ? new Pairing({ perConnection: o.overallOnly !== true, perClient: this.want.has('timing'), depth: this.want.has('inflight') }) : null;
    this.topicBuckets = new Buckets(o.interval ?? 1, o.interval !== undefined ? TOPIC_BUCKETS : TOPIC_BUCKETS_DEFAULT);
    this.ioBuckets = new Buckets(o.interval ?? 1, IO_BUCKETS);
    this.ioTotal = this.ioBuckets.register();
    this.ioC2s = this.ioBuckets.register();
    this.ioS2c = this.ioBuckets.register();
    const self = this;
    const pairing = this.pairing;
    if (o.overallOnly === true && pairing !== null && this.want.size === 1) {
      // The summary's timing line reads the pairing alone: no per-connection rows are kept or counted for it (they
      // were a Map entry and a dozen counters per packet for tables nothing prints).
      this.observer = {
        open(): void {}, packet(rec: PacketRecord): void { pairing.packet(rec); }, event(): void {},
        close(conn: Connection, end: ConnectionEnd): void { pairing.close(conn, end); },
        traced(r: TraceRecord): void { pairing.traced(r); },
      };
      this.counted = { open(): void {}, packet(rec: PacketRecord): void { pairing.counted(rec); }, event(): void {}, close(): void {} };
      return;
    }
    this.observer = {
      open(conn: Connection): void { self.open(conn); },
      packet(rec: PacketRecord): void { self.observe(rec); },
      event(): void {},
      close(conn: Connection, end: ConnectionEnd): void { self.pairing?.close(conn, end); },
      // The sessions stage's message records: the broker's forwarding delay of each traced delivery.
      traced(r: TraceRecord): void { self.pairing?.traced(r); },
    };
    this.counted = {
      open(): void {},
      packet(rec: PacketRecord): void { self.count(rec); },
      event(ev: StreamEvent & { violations?: Violation[] }): void {
        const c = ev.conn !== null ? self.conns.get(ev.conn) : undefined;
        if (c !== undefined && ev.violations !== undefined) c.findings += ev.violations.length;
      },
      close(conn: Connection, end: ConnectionEnd): void { self.close(conn, end, true); },
    };
  }

  private open(conn: Connection): void {
    this.conns.set(conn.id, {
      conn, clientId: null, pc2s: 0, ps2c: 0, bc2s: 0, bs2c: 0, qosSent: [0, 0, 0], qosRecv: [0, 0, 0], findings: 0,
      lastSec: conn.startSec, lastNsec: conn.startNsec,
    });
  }

  private info(conn: Connection): ConnInfo {
    let c = this.conns.get(conn.id);
    if (c === undefined) {
      this.open(conn);
      c = this.conns.get(conn.id)!;
    }
    return c;
  }

  private observe(rec: PacketRecord): void {
    const d = rec.decoded;
    const c = this.info(rec.conn);
    if (d.type === CONNECT && rec.dir === 'c2s' && d.clientId !== undefined) c.clientId = d.clientId;
    else if (d.type === CONNACK && c.clientId === '' && d.properties?.assignedClientIdentifier !== undefined) c.clientId = d.properties.assignedClientIdentifier;
    this.pairing?.packet(rec);
  }

  private count(rec: PacketRecord): void {
    this.pairing?.counted(rec);
    // Every series starts at the first counted packet's second, whatever its type.
    this.topicBuckets.origin ??= rec.timeSec;
    const d = rec.decoded;
    const c = this.info(rec.conn);
    const len = rec.truncated ?? d.length;
    const c2s = rec.dir === 'c2s';
    if (c2s) { c.pc2s++; c.bc2s += len; } else { c.ps2c++; c.bs2c += len; }
    c.findings += rec.violations.length;
    if (later(rec.timeSec, rec.timeNsec, c.lastSec, c.lastNsec)) { c.lastSec = rec.timeSec; c.lastNsec = rec.timeNsec; }
    const pub = d.type === PUBLISH && d.headerFields && d.qos <= 2 ? d : null;
    if (pub !== null) (c2s ? c.qosSent : c.qosRecv)[pub.qos]!++;
    if (this.want.has('topics') && d.type === PUBLISH) {
      const topic = d.resolvedTopic ?? d.topic ?? '';
      const t = this.topics.get(topicKey(topic), topic, (name) => ({ name, messages: 0, bytes: 0, publishers: new Set(), sizes: new LogHistogram(), rate: this.topicBuckets.register() }));
      t.messages++;
      t.bytes += d.payloadLength ?? 0;
      if (d.payloadLength !== undefined) t.sizes.add(d.payloadLength);
      if (c2s) {
        const who = c.clientId ?? `conn ${c.conn.id}`;
        if (t.publishers.size < MAX_PUBLISHERS) t.publishers.add(who);
        else if (!t.publishers.has(who)) this.publishersCapped = true;
      }
      bump(t.rate, this.topicBuckets.index(rec.timeSec, rec.timeNsec));
    }
    if (this.want.has('talkers')) this.second(rec.timeSec, len);
    if (this.want.has('io')) {
      const i = this.ioBuckets.index(rec.timeSec, rec.timeNsec);
      bump(this.ioTotal, i);
      bump(c2s ? this.ioC2s : this.ioS2c, i, len);
      let s = this.ioTypes.get(d.typeName);
      if (s === undefined) this.ioTypes.set(d.typeName, (s = this.ioBuckets.register()));
      bump(s, i);
    }
  }

  /** A counted close (shown) or one the filter passed over (its findings are then not counted). */
  close(conn: Connection, end: ConnectionEnd, shown: boolean): void {
    const c = this.conns.get(conn.id);
    if (c === undefined) return;
    this.conns.delete(conn.id);
    if (shown) c.findings += closeViolations(end).length;
    const packets = c.pc2s + c.ps2c;
    if (packets === 0) return;
    if (this.want.has('clients')) {
      const key = c.clientId === null ? '\u0000none' : c.clientId;
      const r = this.clients.get(key, c.clientId ?? '', (name) => ({
        clientId: key === '\u0000none' ? null : name, connections: 0, firstSec: conn.startSec, firstNsec: conn.startNsec, lastSec: c.lastSec, lastNsec: c.lastNsec,
        pc2s: 0, ps2c: 0, bc2s: 0, bs2c: 0, qosSent: [0, 0, 0], qosRecv: [0, 0, 0], ends: new Map(), findings: 0,
      }));
      r.connections++;
      if (later(r.firstSec, r.firstNsec, conn.startSec, conn.startNsec)) { r.firstSec = conn.startSec; r.firstNsec = conn.startNsec; }
      if (later(c.lastSec, c.lastNsec, r.lastSec, r.lastNsec)) { r.lastSec = c.lastSec; r.lastNsec = c.lastNsec; }
      r.pc2s += c.pc2s; r.ps2c += c.ps2c; r.bc2s += c.bc2s; r.bs2c += c.bs2c; r.findings += c.findings;
      for (let q = 0; q < 3; q++) { r.qosSent[q]! += c.qosSent[q]!; r.qosRecv[q]! += c.qosRecv[q]!; }
      const how = endText(end);
      if (r.ends.size < 32 || r.ends.has(how)) r.ends.set(how, (r.ends.get(how) ?? 0) + 1);
    }
    if (this.want.has('talkers')) {
      const bytes = c.bc2s + c.bs2c;
      this.talkerTotal++;
      this.talkerConns.push({ conn, clientId: c.clientId, packets, bytes });
      if (this.talkerConns.length >= 2 * MAX_TALKER_CONNS) this.talkerConns = this.talkerConns.sort(byBytes).slice(0, MAX_TALKER_CONNS);
      const a = this.addresses.get(conn.clientIp, conn.clientIp, (address) => ({ address, connections: 0, packets: 0, bytes: 0 }));
      a.connections++;
      a.packets += packets;
      a.bytes += bytes;
    }
  }

  private second(sec: number, bytes: number): void {
    let s = this.openSeconds.get(sec);
    if (s === undefined) {
      const done = this.busiest.find((b) => b.sec === sec);
      if (done !== undefined) {
        // A second already flushed (timestamps far out of order) keeps adding to its row when it is still listed.
        done.packets++;
        done.bytes += bytes;
        return;
      }
      this.openSeconds.set(sec, (s = { sec, packets: 0, bytes: 0 }));
      this.secondsSeen++;
      if (this.openSeconds.size > OPEN_SECONDS) this.flushSeconds(OPEN_SECONDS / 2);
    }
    s.packets++;
    s.bytes += bytes;
  }

  /** Moves all but the newest `keep` open seconds into the busiest list. */
  private flushSeconds(keep: number): void {
    const secs = [...this.openSeconds.keys()].sort((a, b) => a - b);
    for (const k of secs.slice(0, Math.max(0, secs.length - keep))) {
      const s = this.openSeconds.get(k)!;
      this.openSeconds.delete(k);
      this.busiest.push(s);
      this.busiest.sort((a, b) => b.packets - a.packets || a.sec - b.sec);
      if (this.busiest.length > BUSIEST) this.busiest.length = BUSIEST;
    }
  }

  /** The section's tables, computed at the end (connections still open were closed by the end of the capture). */
  tables(): StatsTable[] {
    return this.tablesOf(this.section);
  }

  /** The tables of the `also` sections, in the order given. */
  alsoTables(): StatsTable[] {
    return [...this.want].filter((name) => name !== this.section).flatMap((name) => this.tablesOf(name));
  }

  private tablesOf(sectionName: string): StatsTable[] {
    const section = sectionNamed(sectionName);
    if (section === undefined) return [];
    const spec = (name: string): StatsTableSpec => section.tables.find((t) => t.name === name)!;
    const t = (name: string, rows: Row[], total: number, notes: string[], textRows = TEXT_ROWS, extra?: Record<string, number>): StatsTable =>
      ({ section: section.name, spec: spec(name), rows, total, notes, textRows, ...(extra !== undefined ? { extra } : {}) });
    const capNote = (k: BoundedKeys<unknown>): string[] => (k.other !== null ? [`past the cap, rows counted as "${k.other}"`] : []);
    switch (sectionName) {
      case 'clients': {
        const rows = [...this.clients.rows.values()].sort((a, b) => b.pc2s + b.ps2c - (a.pc2s + a.ps2c) || ((a.clientId ?? '') < (b.clientId ?? '') ? -1 : 1)).map((r): Row => ({
          clientId: r.clientId, connections: r.connections, firstSeen: isoTime(r.firstSec, r.firstNsec), lastSeen: isoTime(r.lastSec, r.lastNsec),
          packetsC2s: r.pc2s, packetsS2c: r.ps2c, bytesC2s: r.bc2s, bytesS2c: r.bs2c, qosSent: [...r.qosSent], qosReceived: [...r.qosRecv],
          ends: Object.fromEntries([...r.ends].sort((a, b) => b[1] - a[1])), findings: r.findings,
        }));
        return [t('clients', rows, rows.length, capNote(this.clients))];
      }
      case 'topics': {
        const b = this.topicBuckets;
        const n = b.last + 1;
        const rows = [...this.topics.rows.values()].sort((x, y) => y.messages - x.messages || (x.name < y.name ? -1 : 1)).map((r): Row => ({
          topic: r.name, messages: r.messages, payloadBytes: r.bytes, publishers: r.publishers.size,
          sizeMin: r.sizes.count > 0 ? r.sizes.min : null, sizeP50: roundOrNull(r.sizes.quantile(0.5)), sizeP90: roundOrNull(r.sizes.quantile(0.9)), sizeMax: r.sizes.count > 0 ? r.sizes.max : null,
          rate: Array.from({ length: n }, (_, i) => rate((r.rate[i] ?? 0), b.width)),
        }));
        const notes = [...intervalNotes(b, this.interval), ...capNote(this.topics), ...(this.publishersCapped ? [`publishers counted up to ${MAX_PUBLISHERS} per topic`] : [])];
        return [t('topics', rows, rows.length, notes, TEXT_ROWS, bucketFacts(b))];
      }
      case 'talkers': {
        const conns = this.talkerConns.sort(byBytes).slice(0, MAX_TALKER_CONNS).map((c): Row => ({ conn: c.conn.id, client: c.conn.client, server: c.conn.server, clientId: c.clientId, packets: c.packets, bytes: c.bytes }));
        const addrs = [...this.addresses.rows.values()].sort((a, b) => b.bytes - a.bytes || (a.address < b.address ? -1 : 1)).map((a): Row => ({ ...a }));
        this.flushSeconds(0);
        const secs = this.busiest.map((s): Row => ({ second: isoTime(s.sec, 0), packets: s.packets, bytes: s.bytes }));
        return [
          t('connections', conns, this.talkerTotal, this.talkerTotal > MAX_TALKER_CONNS ? [`the ${MAX_TALKER_CONNS} with most bytes of ${this.talkerTotal}`] : []),
          t('addresses', addrs, addrs.length, capNote(this.addresses)),
          t('seconds', secs, this.secondsSeen, this.secondsSeen > BUSIEST ? [`the ${BUSIEST} with most packets of ${this.secondsSeen} seconds with packets`] : []),
        ];
      }
      case 'io': {
        const b = this.ioBuckets;
        const rows: Row[] = [];
        for (let i = 0; i <= b.last; i++) {
          const off = i * b.width;
          const at = (b.origin ?? 0) + off;
          const sec = Math.floor(at);
          const row: Record<string, Cell> = { start: isoTime(sec, Math.round((at - sec) * 1e9)), offsetSec: round6(off), packets: this.ioTotal[i] ?? 0, perSecond: rate(this.ioTotal[i] ?? 0, b.width),
            bytesC2s: this.ioC2s[i] ?? 0, bytesS2c: this.ioS2c[i] ?? 0 };
          for (const col of spec('buckets').columns) if (col.sparse) row[col.key] = this.ioTypes.get(col.key)?.[i] ?? 0;
          rows.push(row);
        }
        return [t('buckets', rows, rows.length, intervalNotes(b, this.interval), IO_BUCKETS, bucketFacts(b))];
      }
      case 'timing': {
        const p = this.pairing!;
        const overall = timingRows(p.overall, true).map((r, i) => ({ ...r, unmatched: p.orphans[TIMING_KINDS[i]!.id] }));
        const per: Row[] = [];
        for (const c of p.perConn) if (c.timing !== null && c.timing.length > 0) per.push(...timingRows(c.timing, false, () => ({ conn: c.conn.id, clientId: c.clientId })));
        const clients = clientTimingRows(p.clientTable());
        return [
          t('overall', overall, overall.length, [...openNote(p)]),
          t('connections', per, per.length, p.untimedConnections > 0 ? [`${p.untimedConnections} connections past the first ${p.perConn.length} timed counted overall only`] : []),
          t('clients', clients, clients.length, clientCapNote(p)),
        ];
      }
      case 'qos-flows': {
        const p = this.pairing!;
        const states: Row[] = [];
        for (const qos of [1, 2] as const) {
          for (const dir of ['c2s', 's2c'] as const) {
            for (const state of FLOW_STATES) {
              if (qos === 1 ? state !== 'completed' && state !== 'no PUBACK' : state === 'no PUBACK') continue;
              states.push({ qos, dir, state, count: p.flows[qos][dir][state] });
            }
          }
        }
        const unacked = p.unacked.map((u: UnackedFlow): Row => ({ ...u }));
        return [
          t('states', states, states.length, [...openNote(p)]),
          t('unacknowledged', unacked, p.unackedTotal, p.unackedTotal > unacked.length ? [`the first ${unacked.length} of ${p.unackedTotal}`] : []),
        ];
      }
      case 'inflight': {
        const p = this.pairing!;
        const rows = p.depthTable().map((r): Row => ({ ...r }));
        return [t('connections', rows, p.depthTotal, [...(p.depthTotal > rows.length ? [`the ${rows.length} deepest of ${p.depthTotal}`] : []), ...openNote(p)])];
      }
      default:
        return [];
    }
  }
}

function byBytes(a: TalkerConn, b: TalkerConn): number {
  return b.bytes - a.bytes || a.conn.id - b.conn.id;
}

function roundOrNull(v: number | null): number | null {
  return v === null ? null : Math.round(v);
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

function rate(count: number, width: number): number {
  return Math.round((count / width) * 1000) / 1000;
}

function bucketFacts(b: Buckets): Record<string, number> {
  return { intervalSec: b.width };
}

function intervalNotes(b: Buckets, asked: number | undefined): string[] {
  const w = `${round6(b.width)} s buckets`;
  if (b.widened === 0) return [w];
  return [asked !== undefined ? `${w}: --interval ${asked} widened to keep at most ${b.maxBuckets} buckets` : `${w}, chosen to keep at most ${b.maxBuckets} buckets`];
}

function openNote(p: Pairing): string[] {
  return p.notFollowed > 0 ? [`${p.notFollowed} requests not followed past the cap of open requests`] : [];
}

// ---------------------------------------------------------------------------------------------------
// Output

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
}

function textCell(type: ColumnType, v: Cell | undefined): string {
  if (v === null || v === undefined) return '-';
  switch (type) {
    case 'ms': return typeof v === 'number' ? v.toFixed(3) : '-';
    case 'list': return Array.isArray(v) ? v.join('/') : String(v);
    case 'rates': return Array.isArray(v) ? v.map(num).join(' ') : String(v);
    case 'counts': return typeof v === 'object' && !Array.isArray(v) ? Object.entries(v).map(([k, n]) => `${escapeText(k)} x${n}`).join('\n') : String(v);
    case 'int':
    case 'num': return typeof v === 'number' ? num(v) : String(v);
    case 'time':
    case 'text': return escapeText(String(v));
  }
}

/** Columns shown in text and CSV: a sparse column only when some row has a value other than zero. */
function visible(t: StatsTable): StatsColumn[] {
  return t.spec.columns.filter((c) => !c.sparse || t.rows.some((r) => r[c.key] !== 0 && r[c.key] !== undefined));
}

function title(t: StatsTable): string {
  const cut = t.rows.length > t.textRows ? [`the first ${t.textRows} of ${t.rows.length} rows; --json lists every one`] : [];
  const notes = [...t.notes, ...cut];
  return notes.length > 0 ? ` (${notes.join('; ')})` : '';
}

/** The tables as text, each fitted to `width` columns. */
export function statsText(tables: readonly StatsTable[], chalk: ChalkInstance, color: boolean, width: number = DEFAULT_WIDTH): string[] {
  const style = color ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] };
  const out: string[] = [];
  for (const t of tables) {
    const cols = visible(t);
    out.push(chalk.bold(t.spec.title) + escapeText(title(t)));
    if (t.rows.length === 0) {
      out.push('(none)');
      continue;
    }
    const rows = t.rows.slice(0, t.textRows).map((r) => cols.map((c) => textCell(c.type, r[c.key])));
    // Times of one day: the time of day in the cells, the date in the title.
    const timeCols = cols.flatMap((c, i) => (c.type === 'time' ? [i] : []));
    const day = timeCols.length > 0 && rows.length > 0 ? rows[0]![timeCols[0]!]!.slice(0, 11) : null;
    if (day !== null && /^\d{4}-\d\d-\d\dT$/.test(day) && rows.every((r) => timeCols.every((i) => r[i]!.startsWith(day)))) {
      for (const r of rows) for (const i of timeCols) r[i] = r[i]!.slice(11);
      out[out.length - 1] += ` (times UTC, ${day.slice(0, 10)})`;
    }
    const flexible = cols.flatMap((c, i) => (c.type === 'text' || c.type === 'rates' || c.type === 'counts' ? [i] : []));
    out.push(fittedTable(cols.map((c) => c.head), rows, width, flexible, style));
  }
  return out;
}

/** NDJSON: per table one `stats-table` record (columns, counts, notes), then one `stats` record per row. */
export function statsJson(tables: readonly StatsTable[]): string[] {
  const out: string[] = [];
  for (const t of tables) {
    out.push(terminalSafeJson(JSON.stringify({
      kind: 'stats-table', section: t.section, table: t.spec.name, columns: t.spec.columns.map((c) => c.key), rows: t.rows.length, total: t.total, ...(t.extra ?? {}), notes: t.notes,
    })));
    for (const r of t.rows) {
      const o: Record<string, unknown> = { kind: 'stats', section: t.section, table: t.spec.name };
      for (const c of t.spec.columns) o[c.key] = r[c.key] ?? null;
      out.push(terminalSafeJson(JSON.stringify(o)));
    }
  }
  return out;
}

function csvValue(type: ColumnType, v: Cell | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return num(v);
  const text = type === 'counts' && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v).map(([k, n]) => `${k}=${n}`).join(';')
    : Array.isArray(v) ? v.map(num).join(type === 'list' ? '/' : ' ') : String(v);
  return `"${escapeText(text).replace(/"/g, '""')}"`;
}

/** CSV of the section's first table: a header of column keys, then one line per row. */
export function statsCsv(tables: readonly StatsTable[]): string[] {
  const t = tables[0];
  if (t === undefined) return [];
  const cols = visible(t);
  return [cols.map((c) => c.key).join(','), ...t.rows.map((r) => cols.map((c) => csvValue(c.type, r[c.key])).join(','))];
}
