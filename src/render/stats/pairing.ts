/**
 * Request/response pairing per connection, for the `timing` and `qos-flows` statistics and the summary's timing table:
 * CONNECT->CONNACK, PINGREQ->PINGRESP (in order), SUBSCRIBE->SUBACK and UNSUBSCRIBE->UNSUBACK by Packet Identifier, and
 * every QoS 1/2 PUBLISH flow by Packet Identifier in the direction of its sender (PUBLISH->PUBACK; PUBLISH->PUBREC->
 * PUBREL->PUBCOMP), timed from the capture's timestamps.
 *
 * It sees every packet (it sits before the filter, like the --fail-on count), so that a filter on `type == PUBLISH`
 * does not turn every flow into an unanswered one; `counted(rec)` marks the request just opened as one the filter
 * selected, and only counted requests make the figures. A flow still open when its connection closes is
 * unacknowledged, at the close or at the end of the capture (a later connection of the same session may resend it:
 * that is a new flow). Bounds: 65,536 Packet Identifiers per direction by definition, 1,000,000 open requests and
 * flows in all (past it new ones are not followed, and that is reported), 16 outstanding PINGREQs per connection.
 */
import type { PacketRecord } from '../../mqtt/connection-decoder.js';
import { CONNACK, CONNECT, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE } from '../../mqtt/tables.js';
import { endsOpen } from '../../rules/close.js';
import type { Connection, ConnectionEnd, Direction } from '../../tcp/types.js';
import { LogHistogram } from './histogram.js';
import type { Cell, Row } from './sections.js';

/** Every pair timed, as data: the timing tables list them in this order. */
export const TIMING_KINDS = [
  { id: 'connack', name: 'CONNECT->CONNACK', describe: 'the client\'s CONNECT to the server\'s CONNACK' },
  { id: 'puback', name: 'PUBLISH->PUBACK', describe: 'a QoS 1 PUBLISH to its PUBACK (either direction)' },
  { id: 'pubrec', name: 'PUBLISH->PUBREC', describe: 'a QoS 2 PUBLISH to its PUBREC' },
  { id: 'pubrel', name: 'PUBREC->PUBREL', describe: 'PUBREC to the publisher\'s PUBREL' },
  { id: 'pubcomp', name: 'PUBREL->PUBCOMP', describe: 'PUBREL to its PUBCOMP' },
  { id: 'qos2', name: 'PUBLISH->PUBCOMP', describe: 'a whole QoS 2 flow' },
  { id: 'suback', name: 'SUBSCRIBE->SUBACK', describe: 'SUBSCRIBE to its SUBACK' },
  { id: 'unsuback', name: 'UNSUBSCRIBE->UNSUBACK', describe: 'UNSUBSCRIBE to its UNSUBACK' },
  { id: 'pingresp', name: 'PINGREQ->PINGRESP', describe: 'PINGREQ to the next PINGRESP' },
] as const;

export type TimingKind = (typeof TIMING_KINDS)[number]['id'];
const KIND_INDEX: Readonly<Record<TimingKind, number>> = Object.fromEntries(TIMING_KINDS.map((k, i) => [k.id, i])) as Record<TimingKind, number>; // built from the list above

/** What a QoS flow still waits for. */
export type Awaiting = 'PUBACK' | 'PUBREC' | 'PUBREL' | 'PUBCOMP';

/** Flow states of the qos-flows table, in its order. */
export const FLOW_STATES = ['completed', 'no PUBACK', 'no PUBREC', 'no PUBREL', 'no PUBCOMP'] as const;
export type FlowState = (typeof FLOW_STATES)[number];

interface Pending {
  sec: number;
  nsec: number;
  frame: number;
  counted: boolean;
}

interface Flow extends Pending {
  qos: 1 | 2;
  awaiting: Awaiting;
  /** Time and frame of the step the flow waits on (the PUBREC for PUBREL, the PUBREL for PUBCOMP). */
  stepSec: number;
  stepNsec: number;
  stepFrame: number;
}

interface Request extends Pending {
  type: number;
}

interface ConnPairs {
  conn: Connection;
  clientId: string | null;
  connect: Pending | null;
  pings: Pending[];
  /** Open QoS flows by the direction of the PUBLISH sender, then Packet Identifier. */
  flows: Record<Direction, Map<number, Flow>>;
  requests: Map<number, Request>;
  /** Timing per kind for this connection; null until it has one pair (or when past the per-connection cap). */
  timing: (LogHistogram | null)[] | null;
}

export interface UnackedFlow {
  conn: number;
  clientId: string | null;
  dir: Direction;
  qos: 1 | 2;
  packetId: number;
  /** The PUBLISH's frame. */
  frame: number;
  awaiting: Awaiting;
  /** Why it is over: the connection closed, the capture ended with it open, or the Packet Identifier was used again. */
  ended: 'close' | 'capture-end' | 'id-reused';
  /** The frame that ended it (the close, or the PUBLISH that reused the identifier). */
  endFrame: number;
}

/** Per-connection timing rows kept (the rest count in the overall figures only). */
export const MAX_TIMED_CONNECTIONS = 10_000;
/** Unacknowledged flows listed with their frames (all are counted). */
export const MAX_UNACKED_LISTED = 1_000;
/** Open requests and flows followed at once, over all connections. */
export const MAX_OPEN = 1_000_000;
const MAX_PINGS = 16;

export interface FlowCounts {
  /** [qos 1, qos 2] x direction x state. */
  readonly counts: Record<1 | 2, Record<Direction, Record<FlowState, number>>>;
}

function stateCounts(): Record<Direction, Record<FlowState, number>> {
  const z = (): Record<FlowState, number> => ({ completed: 0, 'no PUBACK': 0, 'no PUBREC': 0, 'no PUBREL': 0, 'no PUBCOMP': 0 });
  return { c2s: z(), s2c: z() };
}

function pendingAt(rec: PacketRecord): Pending {
  return { sec: rec.timeSec, nsec: rec.timeNsec, frame: rec.frame, counted: false };
}

function seconds(sec: number, nsec: number, fromSec: number, fromNsec: number): number {
  return Math.max(0, sec - fromSec + (nsec - fromNsec) / 1e9);
}

const OTHER: Readonly<Record<Direction, Direction>> = { c2s: 's2c', s2c: 'c2s' };

/** Told of every counted pair as it is made: its kind, the request's frame, the answer's record and the seconds between. */
export type PairListener = (kind: TimingKind, fromFrame: number, answer: PacketRecord, seconds: number) => void;

export class Pairing {
  /** `perConnection` false: the overall figures only (the summary's timing table). */
  constructor(private readonly perConnection = true) {}

  /** Who else wants each pair (the HTML page joins requests and answers in its sequence diagrams). */
  onPair: PairListener | null = null;

  /** Overall timing per kind (seconds). */
  readonly overall: LogHistogram[] = TIMING_KINDS.map(() => new LogHistogram());
  /** Per-connection timing of closed and open connections, in the order they got their first pair. */
  readonly perConn: ConnPairs[] = [];
  readonly flows: FlowCounts['counts'] = { 1: stateCounts(), 2: stateCounts() };
  /** Counted responses for which the capture held no request (a capture that started mid-flow). */
  readonly orphans: Record<TimingKind, number> = Object.fromEntries(TIMING_KINDS.map((k) => [k.id, 0])) as Record<TimingKind, number>; // every kind, from the list
  readonly unacked: UnackedFlow[] = [];
  unackedTotal = 0;
  /** Connections whose timing was not kept apart (past MAX_TIMED_CONNECTIONS). */
  untimedConnections = 0;
  /** Requests and flows not followed (past MAX_OPEN). */
  notFollowed = 0;
  private open = 0;
  private readonly conns = new Map<number, ConnPairs>();
  /** The request or flow the last packet opened, for counted(). */
  private lastRec: PacketRecord | null = null;
  private lastOpened: Pending | null = null;

  private state(conn: Connection): ConnPairs {
    let c = this.conns.get(conn.id);
    if (c === undefined) {
      c = { conn, clientId: null, connect: null, pings: [], flows: { c2s: new Map(), s2c: new Map() }, requests: new Map(), timing: null };
      this.conns.set(conn.id, c);
    }
    return c;
  }

  /** Every packet, before the filter. */
  packet(rec: PacketRecord): void {
    const d = rec.decoded;
    const c = this.state(rec.conn);
    const dir = rec.dir;
    this.lastRec = rec;
    this.lastOpened = null;
    switch (d.type) {
      case CONNECT:
        if (dir === 'c2s') {
          if (d.clientId !== undefined) c.clientId = d.clientId;
          c.connect = pendingAt(rec);
          this.lastOpened = c.connect;
        }
        break;
      case CONNACK:
        if (dir === 's2c') {
          if (c.clientId === '' && d.properties?.assignedClientIdentifier !== undefined) c.clientId = d.properties.assignedClientIdentifier;
          if (c.connect !== null) this.pair(c, 'connack', c.connect, rec);
          else this.orphan('connack');
          c.connect = null;
        }
        break;
      case PINGREQ:
        if (dir === 'c2s' && c.pings.length < MAX_PINGS) {
          const p = pendingAt(rec);
          c.pings.push(p);
          this.lastOpened = p;
        }
        break;
      case PINGRESP: {
        const p = dir === 's2c' ? c.pings.shift() : undefined;
        if (p !== undefined) this.pair(c, 'pingresp', p, rec);
        else this.orphan('pingresp');
        break;
      }
      case SUBSCRIBE:
      case UNSUBSCRIBE:
        if (dir === 'c2s' && d.packetId !== undefined && this.room()) {
          if (!c.requests.has(d.packetId)) this.open++;
          const r: Request = { sec: rec.timeSec, nsec: rec.timeNsec, frame: rec.frame, counted: false, type: d.type };
          c.requests.set(d.packetId, r);
          this.lastOpened = r;
        }
        break;
      case SUBACK:
      case UNSUBACK: {
        if (dir !== 's2c' || d.packetId === undefined) break;
        const want = d.type === SUBACK ? SUBSCRIBE : UNSUBSCRIBE;
        const r = c.requests.get(d.packetId);
        const kind: TimingKind = d.type === SUBACK ? 'suback' : 'unsuback';
        if (r !== undefined && r.type === want) {
          c.requests.delete(d.packetId);
          this.open--;
          this.pair(c, kind, r, rec);
        } else this.orphan(kind);
        break;
      }
      case PUBLISH: {
        if (!d.headerFields || (d.qos !== 1 && d.qos !== 2) || d.packetId === undefined) break;
        const m = c.flows[dir];
        const old = m.get(d.packetId);
        if (old !== undefined) {
          // The same message again before its acknowledgement (DUP): the flow keeps its first time.
          if (old.qos === d.qos && old.awaiting === (d.qos === 1 ? 'PUBACK' : 'PUBREC')) break;
          m.delete(d.packetId);
          this.open--;
          this.unanswered(c, dir, d.packetId, old, 'id-reused', rec.frame);
        }
        if (!this.room()) break;
        const f: Flow = { sec: rec.timeSec, nsec: rec.timeNsec, frame: rec.frame, counted: false, qos: d.qos, awaiting: d.qos === 1 ? 'PUBACK' : 'PUBREC', stepSec: rec.timeSec, stepNsec: rec.timeNsec, stepFrame: rec.frame };
        m.set(d.packetId, f);
        this.open++;
        this.lastOpened = f;
        break;
      }
      case PUBACK:
      case PUBREC:
      case PUBCOMP: {
        if (d.packetId === undefined) break;
        const m = c.flows[OTHER[dir]];
        const f = m.get(d.packetId);
        const kind: TimingKind = d.type === PUBACK ? 'puback' : d.type === PUBREC ? 'pubrec' : 'pubcomp';
        const wanted: Awaiting = d.type === PUBACK ? 'PUBACK' : d.type === PUBREC ? 'PUBREC' : 'PUBCOMP';
        if (f === undefined || f.awaiting !== wanted) {
          // A resent PUBREC or PUBCOMP for a step already taken is no new pair.
          if (f === undefined) this.orphan(kind);
          break;
        }
        if (d.type === PUBREC) {
          this.pair(c, kind, f, rec);
          f.awaiting = 'PUBREL';
          f.stepSec = rec.timeSec;
          f.stepNsec = rec.timeNsec;
          f.stepFrame = rec.frame;
          break;
        }
        m.delete(d.packetId);
        this.open--;
        if (d.type === PUBCOMP) {
          this.pair(c, 'pubcomp', f, rec, f.stepSec, f.stepNsec, f.stepFrame);
          this.pair(c, 'qos2', f, rec);
        } else this.pair(c, 'puback', f, rec);
        if (f.counted) this.flows[f.qos][OTHER[dir]].completed++;
        break;
      }
      case PUBREL: {
        if (d.packetId === undefined) break;
        const f = c.flows[dir].get(d.packetId);
        if (f === undefined) { this.orphan('pubrel'); break; }
        if (f.awaiting !== 'PUBREL') break;
        this.pair(c, 'pubrel', f, rec, f.stepSec, f.stepNsec, f.stepFrame);
        f.awaiting = 'PUBCOMP';
        f.stepSec = rec.timeSec;
        f.stepNsec = rec.timeNsec;
        f.stepFrame = rec.frame;
        break;
      }
      default:
        break;
    }
  }

  /** The filter selected `rec` (called after packet(rec)): the request or flow it opened counts. */
  counted(rec: PacketRecord): void {
    if (rec === this.lastRec && this.lastOpened !== null) this.lastOpened.counted = true;
  }

  /** Every close, before the filter: what is still open there was never answered in the connection. */
  close(conn: Connection, end: ConnectionEnd): void {
    const c = this.conns.get(conn.id);
    if (c === undefined) return;
    this.conns.delete(conn.id);
    const ended = endsOpen(end) ? 'capture-end' : 'close';
    for (const dir of ['c2s', 's2c'] as const) {
      for (const [id, f] of c.flows[dir]) this.unanswered(c, dir, id, f, ended, end.frame);
      this.open -= c.flows[dir].size;
      c.flows[dir].clear();
    }
    this.open -= c.requests.size;
    c.requests.clear();
    c.pings.length = 0;
    c.connect = null;
  }

  /** Open requests and flows followed now (for tests: released at close). */
  get openCount(): number {
    return this.open;
  }

  private room(): boolean {
    if (this.open < MAX_OPEN) return true;
    this.notFollowed++;
    return false;
  }

  private orphan(kind: TimingKind): void {
    this.orphans[kind]++;
  }

  private unanswered(c: ConnPairs, dir: Direction, packetId: number, f: Flow, ended: UnackedFlow['ended'], endFrame: number): void {
    if (!f.counted) return;
    this.flows[f.qos][dir][`no ${f.awaiting}`]++;
    this.unackedTotal++;
    if (this.unacked.length < MAX_UNACKED_LISTED) {
      this.unacked.push({ conn: c.conn.id, clientId: c.clientId, dir, qos: f.qos, packetId, frame: f.frame, awaiting: f.awaiting, ended, endFrame });
    }
  }

  /** A request answered: timed from `from` (or from the step at fromSec/fromNsec/fromFrame), counted when the request was. */
  private pair(c: ConnPairs, kind: TimingKind, from: Pending, rec: PacketRecord, fromSec = from.sec, fromNsec = from.nsec, fromFrame = from.frame): void {
    if (!from.counted) return;
    const s = seconds(rec.timeSec, rec.timeNsec, fromSec, fromNsec);
    const k = KIND_INDEX[kind];
    this.overall[k]!.add(s);
    if (this.onPair !== null) this.onPair(kind, fromFrame, rec, s);
    if (!this.perConnection) return;
    if (c.timing === null) {
      if (this.perConn.length >= MAX_TIMED_CONNECTIONS) {
        this.untimedConnections++;
        c.timing = [];
        return;
      }
      c.timing = TIMING_KINDS.map(() => null);
      this.perConn.push(c);
    }
    if (c.timing.length === 0) return;
    (c.timing[k] ??= new LogHistogram()).add(s);
  }
}

function ms(s: number | null): number | null {
  return s === null ? null : Math.round(s * 1e6) / 1e3;
}

/** Timing rows of a set of histograms (one per TIMING_KINDS entry; null or empty ones left out unless `all`). */
export function timingRows(hs: readonly (LogHistogram | null)[], all: boolean, extra: (i: number) => Record<string, Cell> = () => ({})): Row[] {
  const out: Row[] = [];
  hs.forEach((h, i) => {
    if (!all && (h === null || h.count === 0)) return;
    out.push({
      ...extra(i), pair: TIMING_KINDS[i]!.name, count: h?.count ?? 0,
      p50Ms: ms(h?.quantile(0.5) ?? null), p90Ms: ms(h?.quantile(0.9) ?? null), p99Ms: ms(h?.quantile(0.99) ?? null), maxMs: ms(h !== null && h.count > 0 ? h.max : null),
    });
  });
  return out;
}

