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
 *
 * Asked for, it also keeps the timing per ClientId (a client's connections pooled, MAX_TIMED_CLIENTS of them), the
 * broker's forwarding delay from the sessions stage's message records (traced()), and each connection's in-flight
 * depth per direction against the peer's Receive Maximum: a counter moved where a flow opens and ends, so O(1) per
 * packet, and nothing of it exists in a run that shows none of it (plain --json builds no pairing at all).
 */
import type { PacketRecord } from '../../mqtt/connection-decoder.js';
import { CONNACK, CONNECT, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE } from '../../mqtt/tables.js';
import { endsOpen } from '../../rules/close.js';
import type { TraceRecord } from '../../sessions/records.js';
import type { Connection, ConnectionEnd, Direction } from '../../tcp/types.js';
import { isoTime } from '../format.js';
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
  {
    id: 'forward', name: 'PUBLISH->delivery',
    describe: 'broker forwarding: a client\'s PUBLISH to each delivery of it the sessions stage traced (from its message records; per connection and per client, the subscriber\'s; not narrowed by -Y)',
  },
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
  /** Counts in its direction's in-flight depth (a 5.0 PUBREC with an error Reason Code ends that before the flow). */
  inQuota: boolean;
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
  /** Its client's pooled timing: undefined until looked up (again after the ClientId changes), null past the caps. */
  client: ClientTiming | null | undefined;
  /** In-flight depth per direction of the PUBLISH sender; null unless the pairing follows depth. */
  depth: Record<Direction, Depth> | null;
}

/** Timing of one ClientId, its connections pooled (the per-client table). */
export interface ClientTiming {
  /** Null: connections whose CONNECT the capture does not hold. */
  readonly clientId: string | null;
  /** Connections of the ClientId that had a pair. */
  connections: number;
  readonly timing: (LogHistogram | null)[];
  /** Pairs in all (the table's order: most first). */
  pairs: number;
}

/**
 * Unacknowledged QoS 1/2 PUBLISH packets one side of a connection has in flight (5.0 4.9: a QoS 1 PUBLISH until its
 * PUBACK, a QoS 2 one until its PUBCOMP or a PUBREC with an error Reason Code), against the peer's Receive Maximum.
 */
interface Depth {
  n: number;
  max: number;
  maxSec: number;
  maxNsec: number;
  maxFrame: number;
  /** The peer's Receive Maximum (5.0: the CONNECT's for s2c, the CONNACK's for c2s; 65,535 without one); null unknown or 3.x. */
  limit: number | null;
  /** Times the depth reached the limit from below. */
  atLimit: number;
  /** PUBLISH packets sent with the depth already at the limit (MQTT-3.3.4-7 / -9, the rules stage's finding). */
  over: number;
  /** Capture time the depth reached the limit, -1 while below it. */
  limitSince: number;
  /** Seconds spent at the limit. */
  limitSeconds: number;
}

/** One connection and direction's in-flight depth, as the inflight table lists it. */
export interface DepthRow {
  conn: number;
  clientId: string | null;
  dir: Direction;
  maxDepth: number;
  maxAt: string;
  maxFrame: number;
  limit: number | null;
  atLimit: number;
  atLimitSec: number;
  overLimit: number;
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
/** ClientIds with a timing row of their own, and the characters of them kept (the rest count in the overall figures only). */
export const MAX_TIMED_CLIENTS = 10_000;
export const MAX_TIMED_CLIENT_CHARS = 4 * 1024 * 1024;
/** Connection directions whose in-flight depth is kept (the deepest; all are counted). */
export const MAX_DEPTH_ROWS = 10_000;
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

/** The per-client map's key of connections without a ClientId (no ClientId contains a NUL: it is UTF-8 without U+0000). */
const NO_CLIENT_ID = '\u0000none';
const FORWARD = TIMING_KINDS.length - 1;

function newDepth(): Depth {
  return { n: 0, max: 0, maxSec: 0, maxNsec: 0, maxFrame: 0, limit: null, atLimit: 0, over: 0, limitSince: -1, limitSeconds: 0 };
}

/** Deepest first: those that reached their limit, then by depth, then by connection. */
function deepestFirst(a: DepthRow, b: DepthRow): number {
  return Number(b.atLimit > 0) - Number(a.atLimit > 0) || b.maxDepth - a.maxDepth || a.conn - b.conn || (a.dir < b.dir ? -1 : 1);
}

export interface PairingOptions {
  /** Timing per connection (`stats timing`); false: the overall figures only (the summary's timing table). */
  perConnection?: boolean;
  /** Timing per ClientId, its connections pooled (`stats timing` and the summary). */
  perClient?: boolean;
  /** In-flight depth per connection and direction (`stats inflight` and the summary). */
  depth?: boolean;
}

/** Told of every counted pair as it is made: its kind, the request's frame, the answer's record and the seconds between. */
export type PairListener = (kind: TimingKind, fromFrame: number, answer: PacketRecord, seconds: number) => void;

export class Pairing {
  private readonly perConnection: boolean;
  private readonly depthOn: boolean;
  constructor(o: PairingOptions = {}) {
    this.perConnection = o.perConnection ?? true;
    this.perClient = o.perClient === true ? new Map() : null;
    this.depthOn = o.depth === true;
  }

  /** Timing per ClientId (null unless asked for), in the order the clients got their first pair. */
  readonly perClient: Map<string, ClientTiming> | null;
  /** Pairs of ClientIds past MAX_TIMED_CLIENTS or MAX_TIMED_CLIENT_CHARS, counted in the overall figures only. */
  untimedClientPairs = 0;
  private clientChars = 0;
  /** In-flight depth of closed connections, the deepest MAX_DEPTH_ROWS kept (deepestFirst), and how many there were. */
  private depthRows: DepthRow[] = [];
  depthTotal = 0;

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
  /** The connections of perConn by number (a delivery's connection may have closed before its message record comes). */
  private readonly timedById = new Map<number, ConnPairs>();
  /** The request or flow the last packet opened, for counted(). */
  private lastRec: PacketRecord | null = null;
  private lastOpened: Pending | null = null;

  private state(conn: Connection): ConnPairs {
    let c = this.conns.get(conn.id);
    if (c === undefined) {
      c = {
        conn, clientId: null, connect: null, pings: [], flows: { c2s: new Map(), s2c: new Map() }, requests: new Map(), timing: null, client: undefined,
        depth: this.depthOn ? { c2s: newDepth(), s2c: newDepth() } : null,
      };
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
          if (d.clientId !== undefined && d.clientId !== c.clientId) {
            c.clientId = d.clientId;
            c.client = undefined;
          }
          if (c.depth !== null) c.depth.s2c.limit = d.level === 5 ? d.properties?.receiveMaximum || 65535 : null;
          c.connect = pendingAt(rec);
          this.lastOpened = c.connect;
        }
        break;
      case CONNACK:
        if (dir === 's2c') {
          if (c.clientId === '' && d.properties?.assignedClientIdentifier !== undefined) {
            c.clientId = d.properties.assignedClientIdentifier;
            c.client = undefined;
          }
          if (c.depth !== null) c.depth.c2s.limit = d.level === 5 ? d.properties?.receiveMaximum || 65535 : null;
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
          if (old.inQuota && c.depth !== null) this.leave(c.depth[dir], rec);
          this.unanswered(c, dir, d.packetId, old, 'id-reused', rec.frame);
        }
        if (!this.room()) break;
        const f: Flow = {
          sec: rec.timeSec, nsec: rec.timeNsec, frame: rec.frame, counted: false, qos: d.qos, inQuota: c.depth !== null, awaiting: d.qos === 1 ? 'PUBACK' : 'PUBREC',
          stepSec: rec.timeSec, stepNsec: rec.timeNsec, stepFrame: rec.frame,
        };
        m.set(d.packetId, f);
        this.open++;
        if (c.depth !== null) this.enter(c.depth[dir], rec);
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
          // 5.0: a PUBREC with an error Reason Code ends the flow as far as the sender's quota goes (4.9).
          if (f.inQuota && d.level === 5 && (d.reasonCode ?? 0) >= 0x80) {
            f.inQuota = false;
            this.leave(c.depth![OTHER[dir]], rec); // inQuota is only set with depth followed
          }
          f.awaiting = 'PUBREL';
          f.stepSec = rec.timeSec;
          f.stepNsec = rec.timeNsec;
          f.stepFrame = rec.frame;
          break;
        }
        m.delete(d.packetId);
        this.open--;
        if (f.inQuota) this.leave(c.depth![OTHER[dir]], rec); // inQuota is only set with depth followed
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
    if (c.depth !== null) {
      const t = end.timeSec + end.timeNsec / 1e9;
      for (const dir of ['c2s', 's2c'] as const) this.depthRow(c, dir, c.depth[dir], t);
      c.depth = null;
    }
  }

  /** A flow enters its direction's in-flight count. */
  private enter(q: Depth, rec: PacketRecord): void {
    if (q.limit !== null && q.n >= q.limit) q.over++;
    q.n++;
    if (q.n > q.max) {
      q.max = q.n;
      q.maxSec = rec.timeSec;
      q.maxNsec = rec.timeNsec;
      q.maxFrame = rec.frame;
    }
    if (q.limit !== null && q.n === q.limit) {
      q.atLimit++;
      q.limitSince = rec.timeSec + rec.timeNsec / 1e9;
    }
  }

  /** A flow leaves it (acknowledged, or its Packet Identifier reused). */
  private leave(q: Depth, rec: PacketRecord): void {
    q.n = Math.max(0, q.n - 1);
    if (q.limitSince >= 0 && q.limit !== null && q.n < q.limit) {
      q.limitSeconds += Math.max(0, rec.timeSec + rec.timeNsec / 1e9 - q.limitSince);
      q.limitSince = -1;
    }
  }

  private depthRow(c: ConnPairs, dir: Direction, q: Depth, t: number): void {
    if (q.max === 0) return;
    if (q.limitSince >= 0) q.limitSeconds += Math.max(0, t - q.limitSince);
    this.depthTotal++;
    this.depthRows.push({
      conn: c.conn.id, clientId: c.clientId, dir, maxDepth: q.max, maxAt: isoTime(q.maxSec, q.maxNsec), maxFrame: q.maxFrame, limit: q.limit,
      atLimit: q.atLimit, atLimitSec: Math.round(q.limitSeconds * 1e6) / 1e6, overLimit: q.over,
    });
    if (this.depthRows.length >= 2 * MAX_DEPTH_ROWS) this.depthRows = this.depthRows.sort(deepestFirst).slice(0, MAX_DEPTH_ROWS);
  }

  /** The in-flight depth rows of the connections closed so far, deepest first (at most MAX_DEPTH_ROWS). */
  depthTable(): DepthRow[] {
    this.depthRows = this.depthRows.sort(deepestFirst).slice(0, MAX_DEPTH_ROWS);
    return this.depthRows;
  }

  /** The sessions stage's records: each traced delivery of a message times the broker's forwarding. */
  traced(r: TraceRecord): void {
    if (r.kind !== 'message') return;
    for (const dl of r.deliveries) {
      const s = Math.max(0, dl.latencyMs / 1e3);
      this.overall[FORWARD]!.add(s);
      if (this.perClient !== null) this.addClient(this.clientTiming(dl.clientId), FORWARD, s);
      if (this.perConnection) {
        // The subscriber's connection: open, or closed with a timing row of its own (else counted overall only).
        const c = this.conns.get(dl.conn) ?? this.timedById.get(dl.conn);
        if (c !== undefined) this.addConn(c, FORWARD, s);
      }
    }
  }

  /** Per-client timing, pairs and connections most first, ties in first-pair order. */
  clientTable(): ClientTiming[] {
    return this.perClient === null ? [] : [...this.perClient.values()].sort((a, b) => b.pairs - a.pairs);
  }

  private clientTiming(clientId: string | null): ClientTiming | null {
    const m = this.perClient!;
    const key = clientId ?? NO_CLIENT_ID;
    const got = m.get(key);
    if (got !== undefined) return got;
    if (m.size >= MAX_TIMED_CLIENTS || this.clientChars + key.length > MAX_TIMED_CLIENT_CHARS) return null;
    this.clientChars += key.length;
    const ct: ClientTiming = { clientId, connections: 0, timing: TIMING_KINDS.map(() => null), pairs: 0 };
    m.set(key, ct);
    return ct;
  }

  private addClient(ct: ClientTiming | null, k: number, s: number): void {
    if (ct === null) {
      this.untimedClientPairs++;
      return;
    }
    ct.pairs++;
    (ct.timing[k] ??= new LogHistogram()).add(s);
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
    if (this.perClient !== null) {
      if (c.client === undefined) {
        c.client = this.clientTiming(c.clientId);
        if (c.client !== null) c.client.connections++;
      }
      this.addClient(c.client, k, s);
    }
    if (this.perConnection) this.addConn(c, k, s);
  }

  /** A pair (or a forwarding delay) in `c`'s own timing, once it has a row (MAX_TIMED_CONNECTIONS). */
  private addConn(c: ConnPairs, k: number, s: number): void {
    if (c.timing === null) {
      if (this.perConn.length >= MAX_TIMED_CONNECTIONS) {
        this.untimedConnections++;
        c.timing = [];
        return;
      }
      c.timing = TIMING_KINDS.map(() => null);
      this.perConn.push(c);
      this.timedById.set(c.conn.id, c);
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


/** Per-client timing rows: for each client (in the given order), a row per kind it has. */
export function clientTimingRows(clients: readonly ClientTiming[]): Row[] {
  return clients.flatMap((ct) => timingRows(ct.timing, false, () => ({ clientId: ct.clientId, connections: ct.connections })));
}

/** What the per-client timing table says of its caps, when one was reached. */
export function clientCapNote(p: Pairing): string[] {
  return p.untimedClientPairs > 0 ? [`${p.untimedClientPairs} pairs of ClientIds past the first ${MAX_TIMED_CLIENTS} (or ${MAX_TIMED_CLIENT_CHARS} characters of them) counted overall only`] : [];
}
