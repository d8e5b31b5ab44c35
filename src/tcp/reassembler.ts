import { HistoryLog } from './history-log.js';
import { shardOfTuple } from './shard.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpSegment } from '../net/types.js';
import { seqDiff, seqGt, seqLt } from './seq.js';
import { MAX_CONVERSATIONS, note, StreamNumbers, type Conversation } from './streams.js';
import { unknownSegment, type ConnectProbe, type ConnectProber, type Connection, type ConnectionEnd, type Direction, type EndCause, type HeldBytes, type SegmentFacts, type StreamEvent, type StreamSink } from './types.js';

/** MQTT over TLS: connections on it are delivered flagged `tls`, for the transport stage to unwrap. */
export const MQTT_TLS_PORT = 8883;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/**
 * Out-of-order bytes held by all connections together. The per-direction cap alone would let a capture of thousands
 * of connections, each with a hole, hold gigabytes; past this, segments behind holes are dropped (and reported) the
 * same way as past the per-direction cap.
 */
export const DEFAULT_MAX_BUFFERED_TOTAL_BYTES = 64 * 1024 * 1024;

/*
 * When is a hole in a stream given up on and reported as a gap? Any of:
 *  (b) the receiver acknowledged bytes at or beyond the hole: it got them, the capture did not, so they
 *      can never show up (only the acknowledged part of the hole is declared);
 *  (a) the data buffered beyond the hole exceeds GAP_WINDOW_BYTES or GAP_WINDOW_SEGMENTS chunks. While
 *      the receiver's ACKs are visible, (b) settles real losses and a long wait usually means a slow
 *      retransmission that the capture will still see, so the window is ACKED_WINDOW_FACTOR times larger;
 *  (c) the connection ends (both FINs, a RST, a new SYN on the 4-tuple) or the capture ends.
 */
export const GAP_WINDOW_BYTES = 256 * 1024;
export const GAP_WINDOW_SEGMENTS = 64;
export const ACKED_WINDOW_FACTOR = 4;
/**
 * (b) with nothing buffered beyond the hole: bytes the receiver acknowledged at the end of what the capture has seen
 * are declared lost at that acknowledgement when they are at most this many.
 */
export const ACKED_TAIL_GAP_MAX = 64 * 1024;

/**
 * Connections tracked at once. Past it (or past DEFAULT_MAX_CONNECTION_BYTES) the connection a user loses least by is
 * evicted to make room: one that carried no data yet (a half-open handshake) before one that did, the longest idle
 * first. Evictions are reported in one 'evicted' event per burst; --max-connections raises the budget.
 */
export const DEFAULT_MAX_CONNECTIONS = 32_768;
/**
 * Bytes the tracked connections may hold together, as this stage counts them: CONNECTION_COST_BYTES per connection
 * (its state in every stage, estimated) plus its out-of-order bytes (the retransmission history is one fixed-size log for
 * all connections, src/tcp/history-log.ts, so it is not counted per connection). At least
 * maxConnections x CONNECTION_BUDGET_SHARE, so raising --max-connections raises this too.
 */
export const DEFAULT_MAX_CONNECTION_BYTES = 128 * 1024 * 1024;
export const CONNECTION_COST_BYTES = 1024;
export const CONNECTION_BUDGET_SHARE = 4096;
/** Evictions less than this many capture seconds apart are one burst, reported by one event. */
export const EVICTION_BURST_SEC = 1;

/** Auto-detection holds a stream back until its first bytes decide; this bounds what it may hold. */
export const PENDING_MAX_BYTES = 64 * 1024;
/** Declared gaps remembered per direction to recognise their bytes arriving late. */
const LATE_GAPS_KEPT = 16;

/** After a close, stray segments of the old connection (final ACKs, in-flight data after a RST) are ignored this long. */
export const TOMBSTONE_SEC = 60;
export const MAX_TOMBSTONES = 65536;
/**
 * Nothing legitimate lies further ahead of the next expected byte than the largest TCP window (2^30 with
 * window scaling): such sequence or acknowledgement numbers are garbage or a different connection, and
 * trusting them would report gigabytes of gap.
 */
const MAX_AHEAD = 1 << 30;


// Connection modes.
const LIVE = 0;
const PENDING = 2;
const IGNORED = 3;

const NEED: ConnectProbe = 'more';
const YES: ConnectProbe = 'yes';
const NO: ConnectProbe = 'no';

const EMPTY = new Uint8Array(0);


export interface TcpReassemblerOptions {
  /** Ports whose connections are always delivered (the CLI passes 1883, 6002 and any --port). */
  ports: Set<number>;
  /** Also deliver connections on other ports whose client starts with an MQTT CONNECT (needs connectProber). */
  auto: boolean;
  /**
   * The test of a stream's first bytes, for `auto` and `probePorts`: the MQTT stage's CONNECT test
   * (src/mqtt/connect-probe.ts), or the transport stage's, which also knows a WebSocket upgrade.
   */
  connectProber?: ConnectProber;
  /** Ports whose connections are TLS (default 8883): delivered with `tls` set. */
  tlsPorts?: Set<number>;
  /** With `auto`: the transport stage's test for a TLS ClientHello; a connection it accepts is delivered with `tls` set. */
  tlsProber?: ConnectProber;
  /**
   * Ports whose connections are followed only when the prober says yes (the common WebSocket ports): held back like
   * `auto` connections until their first bytes decide.
   */
  probePorts?: ReadonlySet<number>;
  /** Cap on out-of-order bytes held per direction (default 4 MiB); beyond it segments are dropped. */
  maxBufferedBytesPerDirection?: number;
  /** Cap on out-of-order bytes held by all connections together (default 64 MiB). */
  maxBufferedBytesTotal?: number;
  /** Follow only the connections of one shard (see shardOfTuple); others are ignored as if on a foreign port. */
  shard?: Shard;
  /** Connections tracked at once (default DEFAULT_MAX_CONNECTIONS); the least valuable is evicted past it. */
  maxConnections?: number;
  /** Bytes tracked connections may hold as this stage counts them (see DEFAULT_MAX_CONNECTION_BYTES). */
  maxConnectionBytes?: number;
  /**
   * The capture's shared count of bytes held for packets in progress (the MQTT stage's budget): out-of-order bytes
   * are counted in it too, and refused like past maxBufferedBytesTotal when it is full.
   */
  heldBytes?: HeldBytes;
}

/** Shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Which of `count` shards a connection falls in: a hash of its 4-tuple (src/tcp/shard.ts). */
export { shardOfTuple } from './shard.js';

/** Stream bytes that arrived ahead of a hole. Chunks of one direction are sorted and never overlap. */
interface Chunk {
  seq: number;
  /** End of the segment's sequence range; beyond seq + data.length when the snaplen cut it. */
  end: number;
  /** A private copy: frame buffers are only valid while the frame is processed. */
  data: Uint8Array;
  frame: number;
  timeSec: number;
  timeNsec: number;
}

class DirState {
  /** Whether `next` is known (from a SYN, the peer's SYN+ACK, or the first segment seen). */
  init = false;
  synSeen = false;
  isn = 0;
  /** Origin of the relative sequence numbers in messages: the first data byte is 1, as Wireshark shows it. */
  base = 0;
  /** Next sequence number to deliver. */
  next = 0;
  ooo: Chunk[] = [];
  oooBytes = 0;
  /**
   * The latest holes declared as gaps (at most LATE_GAPS_KEPT): bytes of one that arrive afterwards are reported as
   * late, once per gap, instead of vanishing as if they were retransmissions.
   */
  lostRanges: Array<{ from: number; to: number; frame: number; reported: boolean }> = [];
  /** Set while segments are being dropped for lack of buffer, so the overflow is reported once per hole. */
  overflowing = false;
  /**
   * End of the furthest segment dropped for lack of buffer: those bytes were in the capture, so if nothing later
   * covers them the stream's end still counts them as a gap instead of letting them vanish.
   */
  droppedEnd: number | null = null;
  finSeen = false;
  finSeq = 0;
  /** The FIN's sequence number has been consumed. */
  finDone = false;
  /** Highest acknowledgement the other side sent for this direction. */
  ackSeen = false;
  peerAck = 0;
  /** The other side acknowledged at least one data byte: its ACK stream is in the capture. */
  acksData = false;
  /** Where this direction's newest record in the shared history log starts (-1: none). */
  histLast = -1;
  /** The headers of this direction's latest segment with payload: the Connection's `segments` (one object, rewritten). */
  readonly facts: SegmentFacts = unknownSegment();
}

class ConnState {
  conn: Connection | null = null;
  c2s = new DirState();
  s2c = new DirState();
  /** In a PortGroup (its port pair is shared with other live connections) rather than alone in the live map. */
  grouped = false;
  /** Eviction order: neighbours in the quiet list (no payload yet) or the busy list, least recently active first. */
  older: ConnState | null = null;
  newer: ConnState | null = null;
  busy = false;
  /** The side whose FIN or RST came first, and the side that sent a RST (null: none yet). */
  endedBy: Direction | null = null;
  rstBy: Direction | null = null;
  /** Its conversation as tshark numbers them (null past the numbering bound). */
  tshark: Conversation | null = null;
  constructor(
    /** The 4-tuple as text, for tombstones. */
    readonly key: string,
    readonly portKey: number,
    public clientIp: string,
    public clientPort: number,
    public serverIp: string,
    public serverPort: number,
    readonly ipv6: boolean,
    readonly sawSyn: boolean,
    readonly firstFrame: number,
    readonly startSec: number,
    readonly startNsec: number,
    public mode: number,
  ) {}
  /** Carried by TLS: a TLS port, or a ClientHello found by --auto. */
  tls = false;
  /** The time of the connection's latest frame, either direction (for tcp.time_delta). */
  lastSec = this.startSec;
  lastNsec = this.startNsec;
}

/**
 * Live connections sharing one port pair, by the address on the lower port, then the address on the higher one
 * (for equal ports: the smaller address first): every 4-tuple has one place, found with two lookups.
 */
type PortGroup = Map<string, Map<string, ConnState>>;

/** An eviction burst in progress, reported as one event when it ends. */
interface EvictionBurst {
  firstFrame: number;
  lastFrame: number;
  lastSec: number;
  quiet: number;
  busy: number;
  /** Out-of-order bytes the evicted connections held (flushed as gaps). */
  bytes: number;
}

interface Tombstone {
  /** ISN of the closed connection's client, -1 when unknown: its retransmitted SYN must not start a new one. */
  clientIsn: number;
  sec: number;
}

/**
 * Follows TCP connections and turns their segments into ordered byte streams for a StreamSink:
 * reordering, retransmissions and overlaps resolved, holes reported as gaps, never invented.
 */
export class TcpReassembler {
  private readonly ports: Set<number>;
  private readonly auto: boolean;
  private readonly maxBuffered: number;
  private readonly maxBufferedTotal: number;
  /** Out-of-order bytes held by all connections (the sum of every direction's oooBytes). */
  private bufferedTotal = 0;
  /** The shared budget out-of-order bytes are also counted in (unbounded when none was given). */
  private readonly held: HeldBytes;
  private readonly shardIndex: number;
  private readonly shardCount: number;
  /**
   * Live connections alone on their port pair, by port pair: a number key avoids building and hashing a 4-tuple
   * string for every segment. Port pairs shared by several live connections move to `groups`, where the (interned)
   * address strings find the connection in O(1) without building a key.
   */
  private readonly live = new Map<number, ConnState>();
  private readonly groups = new Map<number, PortGroup>();
  private liveCount = 0;
  private readonly maxConnections: number;
  private readonly maxConnectionBytes: number;
  /** Delivered bytes of all connections, to compare retransmissions with (fixed size, not per connection). */
  private readonly history = new HistoryLog();
  private quietOldest: ConnState | null = null;
  private quietNewest: ConnState | null = null;
  private busyOldest: ConnState | null = null;
  private busyNewest: ConnState | null = null;
  private burst: EvictionBurst | null = null;
  /** Connections evicted so far. */
  evictions = 0;
  private readonly tombs = new Map<string, Tombstone>();
  /** Keys of tombstones in the order they were set (a key set twice is here twice; it leaves at its first turn). */
  private readonly tombRing: string[] = [];
  private tombHead = 0;
  private tombCount = 0;
  private nextId = 0;
  /** tshark's tcp.stream numbering: sees every segment of the capture, on any port and in any shard. */
  private readonly streams = new StreamNumbers();
  private streamsOverflowReported = false;
  private readonly prober: ConnectProber | null;
  private readonly tlsProber: ConnectProber | null;
  private readonly tlsPorts: Set<number>;
  private readonly probeBuf: Uint8Array;
  /** Bytes the latest probeDir() call put in probeBuf. */
  private probeLen = 0;
  private readonly probePorts: ReadonlySet<number>;

  constructor(
    private readonly sink: StreamSink,
    opts: TcpReassemblerOptions,
  ) {
    this.ports = opts.ports;
    this.auto = opts.auto;
    this.prober = opts.connectProber ?? null;
    this.tlsProber = opts.tlsProber ?? null;
    this.tlsPorts = opts.tlsPorts ?? new Set([MQTT_TLS_PORT]);
    // A programming error, not input: --auto cannot work without the test.
    this.probePorts = opts.probePorts ?? new Set();
    if ((this.auto || this.probePorts.size > 0) && this.prober === null) throw new Error('TcpReassembler: auto and probePorts need a connectProber');
    this.probeBuf = new Uint8Array(Math.max(this.prober?.bytes ?? 0, this.tlsProber?.bytes ?? 0));
    this.maxBuffered = opts.maxBufferedBytesPerDirection ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.maxBufferedTotal = opts.maxBufferedBytesTotal ?? DEFAULT_MAX_BUFFERED_TOTAL_BYTES;
    this.shardIndex = opts.shard?.index ?? 0;
    this.shardCount = opts.shard?.count ?? 1;
    this.held = opts.heldBytes ?? { held: 0, limit: Infinity };
    this.maxConnections = Math.max(1, opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    this.maxConnectionBytes = opts.maxConnectionBytes ?? Math.max(DEFAULT_MAX_CONNECTION_BYTES, this.maxConnections * CONNECTION_BUDGET_SHARE);
    // Shards number their connections index, index + count, ...: ids stay unique when their outputs are merged.
    this.nextId = this.shardIndex;
  }

  /** Out-of-order bytes held by all connections, as counted for the total cap (stats() sums them afresh). */
  get bufferedTotalBytes(): number {
    return this.bufferedTotal;
  }

  /** Live connection count and out-of-order bytes held, for memory accounting. */
  stats(): { connections: number; bufferedBytes: number } {
    let bufferedBytes = 0;
    for (const st of this.allLive()) bufferedBytes += st.c2s.oooBytes + st.s2c.oooBytes;
    return { connections: this.liveCount, bufferedBytes };
  }

  /** The connection budget: its limits, what it counts now, and the evictions so far. */
  connectionBudget(): { connections: number; maxConnections: number; bytes: number; maxBytes: number; evictions: number } {
    return { connections: this.liveCount, maxConnections: this.maxConnections, bytes: this.connectionBytes(), maxBytes: this.maxConnectionBytes, evictions: this.evictions };
  }

  /** What the tracked connections hold as the connection byte budget counts it. */
  private connectionBytes(): number {
    return this.liveCount * CONNECTION_COST_BYTES + this.bufferedTotal;
  }

  segment(seg: TcpSegment): void {
    const sp = seg.srcPort;
    const dp = seg.dstPort;
    const portKey = sp < dp ? sp * 65536 + dp : dp * 65536 + sp;
    if (this.shardCount > 1 && shardOfTuple(seg.srcIp, seg.dstIp, sp, dp, this.shardCount) !== this.shardIndex) {
      this.conversation(seg, portKey);
      return;
    }
    const flags = seg.flags;
    let st = this.live.get(portKey);
    if (st !== undefined ? !sameTuple(st, seg) : this.groups.size > 0) st = this.lookupGrouped(seg, portKey);
    if (st === undefined) {
      st = this.begin(seg, portKey, this.conversation(seg, portKey));
      if (st === undefined) return;
    } else if ((flags & TCP_SYN) !== 0) {
      // Only a SYN can start a new tshark conversation on a known 4-tuple: the full lookup is for those.
      const conv = this.conversation(seg, portKey);
      if ((flags & TCP_ACK) === 0 && !isSynRetransmit(st, seg)) {
        // A fresh SYN on a known 4-tuple: the old connection is over, whatever it last said.
        this.close(st, seg.frame, seg.timeSec, seg.timeNsec, 'reuse');
        st = this.begin(seg, portKey, conv);
        if (st === undefined) return;
      } else {
        st.tshark = conv;
      }
    } else if (st.tshark !== null && st.tshark.known !== 3) {
      note(st.tshark, seg, sp < dp || (sp === dp && seg.srcIp <= seg.dstIp));
    }
    if (seg.payloadLength > 0 ? !st.busy || st !== this.busyNewest : st !== (st.busy ? this.busyNewest : this.quietNewest)) this.touch(st, seg.payloadLength > 0);

    const fromClient = sp === st.clientPort && seg.srcIp === st.clientIp;
    const d = fromClient ? st.c2s : st.s2c;
    if ((flags & (TCP_FIN | TCP_RST)) !== 0 && st.endedBy === null) st.endedBy = fromClient ? 'c2s' : 's2c';
    if ((flags & TCP_RST) !== 0) st.rstBy = fromClient ? 'c2s' : 's2c';

    if (st.mode === IGNORED) {
      // No stream is followed, only what it takes to tell the end and a retransmitted SYN.
      if ((flags & TCP_FIN) !== 0) d.finSeen = true;
      if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && fromClient && !d.synSeen) {
        d.synSeen = true;
        d.isn = seg.seq;
      }
    } else {
      const dir: Direction = fromClient ? 'c2s' : 's2c';
      this.noteHeaders(st, d, seg);
      if ((flags & (TCP_ACK | TCP_RST)) === TCP_ACK) {
        // The sender had received what it acknowledges before it sent this segment's bytes: settle the other
        // direction first, so a reply is never shown before the request it answers.
        // A RST's acknowledgement field is often junk; it must not declare gaps.
        this.acked(st, fromClient ? st.s2c : st.c2s, fromClient ? 's2c' : 'c2s', seg.ack, seg.frame);
      }
      this.take(st, d, dir, seg);
      if (st.mode === PENDING) this.probe(st, seg.frame);
    }
    // A live connection closes once both FINs are reached in sequence, so data reordered behind a FIN
    // still arrives; holes before a FIN are settled by the ACK of that FIN, or at the end of the capture.
    const done = st.mode === LIVE ? st.c2s.finDone && st.s2c.finDone : st.c2s.finSeen && st.s2c.finSeen;
    if (done || (flags & TCP_RST) !== 0) this.close(st, seg.frame, seg.timeSec, seg.timeNsec, (flags & TCP_RST) !== 0 ? 'rst' : 'fin');
  }

  /**
   * The time since the connection's previous frame, and for a segment with payload its headers, into the direction's
   * facts before its bytes are passed on: the packets they complete are stamped with them (tshark shows the headers
   * of the frame in which a PDU was reassembled). Numbers only: nothing is allocated per segment.
   */
  private noteHeaders(st: ConnState, d: DirState, seg: TcpSegment): void {
    let dSec = seg.timeSec - st.lastSec;
    let dNsec = seg.timeNsec - st.lastNsec;
    if (dNsec < 0) {
      dNsec += 1e9;
      dSec--;
    }
    st.lastSec = seg.timeSec;
    st.lastNsec = seg.timeNsec;
    if (seg.payloadLength === 0) return;
    const f = d.facts;
    f.ipTtl = seg.ipTtl ?? -1;
    f.ipLength = seg.ipLength ?? -1;
    f.ipFlags = seg.ipFlags ?? -1;
    f.tcpFlags = seg.tcpFlags ?? seg.flags;
    f.tcpLength = seg.payloadLength;
    f.deltaSec = dSec;
    f.deltaNsec = dNsec;
  }

  /** End of capture: every hole becomes a gap, then every connection is closed, in connection order. */
  finish(lastFrame: number, timeSec: number, timeNsec: number): void {
    if (this.burst !== null) this.reportBurst(lastFrame);
    const states = this.allLive().filter((st) => st.conn !== null);
    states.sort((a, b) => a.conn!.id - b.conn!.id);
    for (const st of states) {
      if (st.mode === LIVE) {
        this.flush(st, st.c2s, 'c2s', lastFrame);
        this.flush(st, st.s2c, 's2c', lastFrame);
      }
      this.sink.close(st.conn!, endOf(st, lastFrame, timeSec, timeNsec, 'capture-end'));
    }
    this.live.clear();
    this.groups.clear();
    this.liveCount = 0;
    this.held.held -= this.bufferedTotal;
    this.bufferedTotal = 0;
    this.quietOldest = this.quietNewest = this.busyOldest = this.busyNewest = null;
    this.tombs.clear();
    this.tombRing.length = 0;
    this.tombHead = this.tombCount = 0;
  }

  private allLive(): ConnState[] {
    const out: ConnState[] = [];
    for (const st of this.live.values()) out.push(st);
    for (const g of this.groups.values()) {
      for (const inner of g.values()) for (const st of inner.values()) out.push(st);
    }
    return out;
  }

  /** A port pair shared by live connections: the segment's connection by its addresses, if live. */
  private lookupGrouped(seg: TcpSegment, portKey: number): ConnState | undefined {
    const g = this.groups.get(portKey);
    if (g === undefined) return undefined;
    const srcLow = seg.srcPort < seg.dstPort || (seg.srcPort === seg.dstPort && seg.srcIp <= seg.dstIp);
    return g.get(srcLow ? seg.srcIp : seg.dstIp)?.get(srcLow ? seg.dstIp : seg.srcIp);
  }

  /** Adds a live connection to the lookup: alone on its port pair, or in the pair's group. */
  private link(st: ConnState): void {
    const portKey = st.portKey;
    let g = this.groups.get(portKey);
    if (g === undefined) {
      const alone = this.live.get(portKey);
      if (alone === undefined) {
        this.live.set(portKey, st);
        return;
      }
      // A second connection on this port pair: both move to a group.
      this.live.delete(portKey);
      g = new Map();
      this.groups.set(portKey, g);
      groupAdd(g, alone);
    }
    groupAdd(g, st);
  }

  /** Moves a connection to the newest end of its eviction list (the busy one once it carried payload). */
  private touch(st: ConnState, data: boolean): void {
    this.lruRemove(st);
    if (data) st.busy = true;
    this.lruAppend(st);
  }

  private lruAppend(st: ConnState): void {
    const newest = st.busy ? this.busyNewest : this.quietNewest;
    st.older = newest;
    st.newer = null;
    if (newest !== null) newest.newer = st;
    else if (st.busy) this.busyOldest = st;
    else this.quietOldest = st;
    if (st.busy) this.busyNewest = st;
    else this.quietNewest = st;
  }

  private lruRemove(st: ConnState): void {
    if (st.older !== null) st.older.newer = st.newer;
    else if (st.busy) this.busyOldest = st.newer;
    else this.quietOldest = st.newer;
    if (st.newer !== null) st.newer.older = st.older;
    else if (st.busy) this.busyNewest = st.older;
    else this.quietNewest = st.older;
    st.older = st.newer = null;
  }

  /**
   * Makes room for one more connection: evicts connections that carried no data yet, then those idle longest, until
   * the count and the bytes are within budget. The burst is reported once it ends (see reportBurst).
   */
  private makeRoom(frame: number, timeSec: number, timeNsec: number): void {
    const b = this.burst;
    if (b !== null && timeSec - b.lastSec > EVICTION_BURST_SEC) this.reportBurst(frame);
    while (this.liveCount > 0 && (this.liveCount >= this.maxConnections || this.connectionBytes() + CONNECTION_COST_BYTES > this.maxConnectionBytes)) {
      const victim = this.quietOldest ?? this.busyOldest!;
      let burst = this.burst;
      if (burst === null) burst = this.burst = { firstFrame: frame, lastFrame: frame, lastSec: timeSec, quiet: 0, busy: 0, bytes: 0 };
      burst.lastFrame = frame;
      burst.lastSec = timeSec;
      if (victim.busy) burst.busy++;
      else burst.quiet++;
      burst.bytes += victim.c2s.oooBytes + victim.s2c.oooBytes;
      this.evictions++;
      this.close(victim, frame, timeSec, timeNsec, 'evicted');
    }
  }

  /** One event for a burst of evictions, with its counts. */
  private reportBurst(frame: number): void {
    const b = this.burst!;
    this.burst = null;
    const n = b.quiet + b.busy;
    const span = b.firstFrame === b.lastFrame ? `in frame ${b.firstFrame}` : `from frame ${b.firstFrame} to frame ${b.lastFrame}`;
    const held = b.bytes > 0 ? `; ${b.bytes} out-of-order bytes they held became gaps` : '';
    this.emit({
      event: 'evicted',
      frame,
      conn: null,
      dir: null,
      count: n,
      message: `connection budget full (${this.maxConnections} connections, ${this.maxConnectionBytes} bytes): ${n} connection${n === 1 ? '' : 's'} evicted ${span} (${b.quiet} without data yet, ${b.busy} idle longest)${held}; --max-connections N raises the budget`,
    });
  }

  /** The segment's tshark conversation; the first time the numbering stops at its bound, that is said once. */
  private conversation(seg: TcpSegment, portKey: number): Conversation | null {
    const c = this.streams.see(seg, portKey);
    if (c === null && !this.streamsOverflowReported) {
      this.streamsOverflowReported = true;
      this.emit({
        event: 'capture-note',
        frame: seg.frame,
        conn: null,
        dir: null,
        count: MAX_CONVERSATIONS,
        message: `more than ${MAX_CONVERSATIONS} TCP conversations: connections from frame ${seg.frame} on get no tcpStream (tshark's numbering can no longer be followed exactly)`,
      });
    }
    return c;
  }

  /** First segment of a 4-tuple (or the first after a close): decides whether and how it is followed. */
  private begin(seg: TcpSegment, portKey: number, conv: Conversation | null): ConnState | undefined {
    const flags = seg.flags;
    const sp = seg.srcPort;
    const dp = seg.dstPort;
    const key =
      sp < dp || (sp === dp && seg.srcIp <= seg.dstIp)
        ? `${seg.srcIp} ${sp} ${seg.dstIp} ${dp}`
        : `${seg.dstIp} ${dp} ${seg.srcIp} ${sp}`;
    const syn = (flags & TCP_SYN) !== 0;
    const tomb = this.tombs.get(key);
    if (tomb !== undefined) {
      if (seg.timeSec - tomb.sec > TOMBSTONE_SEC) {
        this.tombs.delete(key);
      } else {
        if (!syn) return undefined;
        const clientIsn = (flags & TCP_ACK) === 0 ? seg.seq : (seg.ack - 1) >>> 0;
        if (clientIsn === tomb.clientIsn) return undefined;
        this.tombs.delete(key);
      }
    }
    // Bare ACKs, FINs and RSTs of a connection that was never seen carry nothing to show.
    if (!syn && (seg.payloadLength === 0 || (flags & TCP_RST) !== 0)) return undefined;

    let mode: number;
    let tls = false;
    if (this.ports.has(sp) || this.ports.has(dp)) mode = LIVE;
    else if (this.tlsPorts.has(sp) || this.tlsPorts.has(dp)) {
      mode = LIVE;
      tls = true;
    } else if (this.auto || this.probePorts.has(sp) || this.probePorts.has(dp)) mode = PENDING;
    else return undefined;

    let srcIsClient: boolean;
    if (syn) {
      srcIsClient = (flags & TCP_ACK) === 0;
    } else {
      const srcMqtt = this.isMqttPort(sp);
      const dstMqtt = this.isMqttPort(dp);
      srcIsClient = srcMqtt !== dstMqtt ? dstMqtt : sp >= dp;
    }
    const v6 = seg.ipVersion === 6;
    const st = srcIsClient
      ? new ConnState(key, portKey, seg.srcIp, sp, seg.dstIp, dp, v6, syn, seg.frame, seg.timeSec, seg.timeNsec, mode)
      : new ConnState(key, portKey, seg.dstIp, dp, seg.srcIp, sp, v6, syn, seg.frame, seg.timeSec, seg.timeNsec, mode);
    st.tshark = conv;
    st.tls = tls;
    if (syn && (flags & TCP_ACK) !== 0) {
      // The SYN itself was missed; the SYN+ACK still says where the client's stream starts.
      const c = st.c2s;
      c.init = true;
      c.synSeen = true;
      c.isn = (seg.ack - 1) >>> 0;
      c.base = c.isn;
      c.next = seg.ack >>> 0;
    }
    if (this.burst !== null || this.liveCount >= this.maxConnections || this.connectionBytes() + CONNECTION_COST_BYTES > this.maxConnectionBytes) {
      this.makeRoom(seg.frame, seg.timeSec, seg.timeNsec);
    }
    this.link(st);
    this.lruAppend(st);
    this.liveCount++;
    if (mode !== PENDING) this.open(st);
    return st;
  }

  private isMqttPort(port: number): boolean {
    return this.tlsPorts.has(port) || this.ports.has(port) || this.probePorts.has(port);
  }

  private open(st: ConnState): void {
    const client = st.ipv6 ? `[${st.clientIp}]:${st.clientPort}` : `${st.clientIp}:${st.clientPort}`;
    const server = st.ipv6 ? `[${st.serverIp}]:${st.serverPort}` : `${st.serverIp}:${st.serverPort}`;
    const conn: Connection = {
      id: this.nextId,
      clientIp: st.clientIp,
      clientPort: st.clientPort,
      serverIp: st.serverIp,
      serverPort: st.serverPort,
      client,
      server,
      sawSyn: st.sawSyn,
      firstFrame: st.firstFrame,
      startSec: st.startSec,
      startNsec: st.startNsec,
      tls: st.tls,
      tcpStream: st.tshark === null ? null : st.tshark.stream,
      segments: { c2s: st.c2s.facts, s2c: st.s2c.facts },
    };
    this.nextId += this.shardCount;
    st.conn = conn;
    this.sink.open(conn);
  }

  /** Sequence bookkeeping for SYN and FIN, then the payload. */
  private take(st: ConnState, d: DirState, dir: Direction, seg: TcpSegment): void {
    const flags = seg.flags;
    let seq = seg.seq;
    if ((flags & TCP_SYN) !== 0) {
      if (!d.synSeen) {
        if (!d.init) {
          d.init = true;
          d.next = (seq + 1) >>> 0;
        }
        d.synSeen = true;
        d.isn = seq;
        d.base = seq;
      }
      seq = (seq + 1) >>> 0;
    } else if (!d.init) {
      // Capture started mid-connection: the first segment seen defines the stream's start.
      d.init = true;
      d.next = seq;
      d.base = (seq - 1) >>> 0;
    }
    let len = seg.payloadLength;
    if ((flags & TCP_FIN) !== 0 && !d.finSeen) {
      d.finSeen = true;
      d.finSeq = (seq + len) >>> 0;
    }
    if (len > 0 && (flags & TCP_RST) === 0) {
      let p = seg.payload;
      if (d.finSeen) {
        // Nothing follows a FIN; bytes claiming to are not part of this stream.
        const room = seqDiff(d.finSeq, seq);
        if (room < len) {
          len = room > 0 ? room : 0;
          if (p.length > len) p = p.subarray(0, len);
        }
      }
      if (len > 0) this.payload(st, d, dir, seq, p, len, seg);
    }
    if (d.finSeen && !d.finDone && d.next === d.finSeq) {
      d.finDone = true;
      d.next = (d.next + 1) >>> 0;
    }
  }

  private payload(st: ConnState, d: DirState, dir: Direction, seq: number, p: Uint8Array, len: number, seg: TcpSegment): void {
    let off = seqDiff(seq, d.next);
    if (off > MAX_AHEAD) return;
    if (off < 0) {
      const dup = -off;
      if (d.lostRanges.length > 0) this.lateData(st, d, dir, seq, dup < len ? dup : len, seg.frame);
      // A one-byte segment just below `next` is a keep-alive probe whose byte is filler, not a retransmission.
      if (st.mode === LIVE && !(len === 1 && dup === 1)) this.checkHistory(st, d, dir, seq, p, dup < len ? dup : len, seg.frame);
      if (dup >= len) return;
      p = dup < p.length ? p.subarray(dup) : EMPTY;
      seq = d.next;
      len -= dup;
      off = 0;
    }

    if (st.mode === LIVE && d.ooo.length === 0) {
      if (off === 0) {
        this.deliver(st, d, dir, p, len, seg.frame, seg.timeSec, seg.timeNsec);
        return;
      }
      if (d.ackSeen && seqDiff(d.peerAck, seq) >= 0 && seqDiff(d.peerAck, d.next) > 0) {
        // The receiver already acknowledged everything before this segment: the hole is final.
        this.gap(st, d, dir, off, seg.frame, false);
        this.deliver(st, d, dir, p, len, seg.frame, seg.timeSec, seg.timeNsec);
        return;
      }
    }

    if (st.mode === PENDING) {
      if (d.oooBytes + p.length > (this.maxBuffered < PENDING_MAX_BYTES ? this.maxBuffered : PENDING_MAX_BYTES)) {
        this.ignore(st);
        return;
      }
    } else if (off > 0 && (d.oooBytes + p.length > this.maxBuffered || this.bufferedTotal + p.length > this.maxBufferedTotal || this.held.held + p.length > this.held.limit)) {
      // A segment that starts at `next` is never dropped: it is the one that makes progress.
      if (!d.overflowing) {
        d.overflowing = true;
        const which = d.oooBytes + p.length > this.maxBuffered ? `of ${dir} full (${this.maxBuffered} bytes)`
          : this.bufferedTotal + p.length > this.maxBufferedTotal ? `of all connections full (${this.maxBufferedTotal} bytes together)`
            : `full: the packets in progress of all connections would pass ${this.held.limit} bytes (they hold ${this.held.held})`;
        this.emit({
          event: 'buffer-overflow',
          frame: seg.frame,
          conn: st.conn!.id,
          dir,
          bytes: p.length,
          message: `out-of-order buffer ${which} while ${dir} waits for seq ${rel(d, d.next)}; dropping segments from frame ${seg.frame} on until the hole is resolved`,
        });
      }
      const end = (seq + len) >>> 0;
      if (d.droppedEnd === null || seqGt(end, d.droppedEnd)) d.droppedEnd = end;
      return;
    }

    this.insert(st, d, dir, seq, p, len, seg);
    if (st.mode === LIVE) {
      this.drain(st, d, dir);
      this.settle(st, d, dir, seg.frame);
    }
  }

  /** Adds the parts of a segment not yet buffered; where it overlaps buffered bytes, the first copy wins. */
  private insert(st: ConnState, d: DirState, dir: Direction, seq: number, p: Uint8Array, len: number, seg: TcpSegment): void {
    const arr = d.ooo;
    const end = (seq + len) >>> 0;
    let i = 0;
    while (i < arr.length && seqDiff(arr[i]!.end, seq) <= 0) i++;
    let cur = seq;
    let overlap = 0;
    let differ = 0;
    while (seqDiff(end, cur) > 0) {
      const c = i < arr.length ? arr[i]! : undefined;
      if (c === undefined || seqDiff(c.seq, end) >= 0) {
        this.addPart(d, i, cur, end, seq, p, seg);
        break;
      }
      if (seqDiff(c.seq, cur) > 0) {
        this.addPart(d, i, cur, c.seq, seq, p, seg);
        i++;
        cur = c.seq;
      }
      const oEnd = seqDiff(c.end, end) < 0 ? c.end : end;
      // Only bytes captured in both copies can be compared.
      let n = seqDiff(oEnd, cur);
      const a = seqDiff(cur, seq);
      const b = seqDiff(cur, c.seq);
      if (a + n > p.length) n = p.length - a;
      if (b + n > c.data.length) n = c.data.length - b;
      for (let k = 0; k < n; k++) if (p[a + k] !== c.data[b + k]) differ++;
      if (n > 0) overlap += n;
      cur = oEnd;
      i++;
    }
    if (differ > 0 && st.conn !== null) this.conflict(st, d, dir, differ, overlap, seq, seg.frame);
  }

  private addPart(d: DirState, at: number, from: number, to: number, seq: number, p: Uint8Array, seg: TcpSegment): void {
    const a = seqDiff(from, seq);
    let b = seqDiff(to, seq);
    if (b > p.length) b = p.length;
    const data = a < b ? p.slice(a, b) : EMPTY;
    d.ooo.splice(at, 0, { seq: from, end: to, data, frame: seg.frame, timeSec: seg.timeSec, timeNsec: seg.timeNsec });
    d.oooBytes += data.length;
    this.bufferedTotal += data.length;
    this.held.held += data.length;
  }

  /** Bytes that fall in a hole already declared a gap: the stream has moved on, but their arrival is said once. */
  private lateData(st: ConnState, d: DirState, dir: Direction, seq: number, n: number, frame: number): void {
    const end = (seq + n) >>> 0;
    for (const r of d.lostRanges) {
      if (r.reported || !(seqLt(seq, r.to) && seqGt(end, r.from))) continue;
      r.reported = true;
      const bytes = seqDiff(seqLt(end, r.to) ? end : r.to, seqGt(seq, r.from) ? seq : r.from);
      this.emit({
        event: 'late-data',
        frame,
        conn: st.conn!.id,
        dir,
        bytes,
        message: `${bytes} byte${bytes === 1 ? '' : 's'} of the gap reported before frame ${r.frame} (seq ${rel(d, r.from)}..${rel(d, r.to)}) arrived late in frame ${frame}; not decoded, the stream had moved on`,
      });
    }
  }

  /** Compares retransmitted bytes (before `next`) with what was delivered, as far as the history log reaches. */
  private checkHistory(st: ConnState, d: DirState, dir: Direction, seq: number, p: Uint8Array, n: number, frame: number): void {
    if (d.histLast < 0) return;
    const r = this.history.compare(d.histLast, seq, p, n);
    if (r.differ > 0) this.conflict(st, d, dir, r.differ, r.compared, seq, frame);
  }

  private conflict(st: ConnState, d: DirState, dir: Direction, differ: number, overlap: number, seq: number, frame: number): void {
    this.emit({
      event: 'overlap-conflict',
      frame,
      conn: st.conn!.id,
      dir,
      bytes: differ,
      message: `${differ} of ${overlap} retransmitted bytes in ${dir} at frame ${frame} (seq ${rel(d, seq)}..) differ from the first copy, which is kept`,
    });
  }

  /** In-order bytes to the sink; a snaplen-cut tail becomes a 'truncated' gap. */
  private deliver(st: ConnState, d: DirState, dir: Direction, p: Uint8Array, len: number, frame: number, sec: number, nsec: number): void {
    const conn = st.conn!;
    if (p.length > 0) {
      this.sink.data(conn, dir, p, frame, sec, nsec);
      d.histLast = this.history.append(d.histLast, d.next, p);
    }
    if (len > p.length) {
      const missing = len - p.length;
      const from = rel(d, (d.next + p.length) >>> 0);
      this.emit({
        event: 'truncated',
        frame,
        conn: conn.id,
        dir,
        bytes: missing,
        message: `${missing} byte${missing === 1 ? '' : 's'} of ${dir} in frame ${frame} not captured (snaplen) (seq ${from}..${from + missing})`,
      });
      this.sink.gap(conn, dir, missing, frame, { timeSec: sec, timeNsec: nsec });
    }
    d.next = (d.next + len) >>> 0;
    if (d.finSeen && !d.finDone && d.next === d.finSeq) {
      d.finDone = true;
      d.next = (d.next + 1) >>> 0;
    }
  }

  /** Delivers buffered chunks that have become contiguous. */
  private drain(st: ConnState, d: DirState, dir: Direction): void {
    const arr = d.ooo;
    let n = 0;
    while (n < arr.length) {
      const c = arr[n]!;
      const off = seqDiff(c.seq, d.next);
      if (off > 0) break;
      n++;
      d.oooBytes -= c.data.length;
      this.bufferedTotal -= c.data.length;
      this.held.held -= c.data.length;
      const clen = seqDiff(c.end, c.seq);
      if (off === 0) {
        this.deliver(st, d, dir, c.data, clen, c.frame, c.timeSec, c.timeNsec);
      } else if (-off < clen) {
        // `next` moved past the chunk's start through a gap or a snaplen-cut tail.
        const skip = -off;
        this.deliver(st, d, dir, skip < c.data.length ? c.data.subarray(skip) : EMPTY, clen - skip, c.frame, c.timeSec, c.timeNsec);
      }
    }
    if (n > 0) {
      arr.splice(0, n);
      d.overflowing = false;
    }
  }

  /** Applies the gap heuristics (a) and (b) to the hole in front of the buffered data, or before the FIN. */
  private settle(st: ConnState, d: DirState, dir: Direction, frame: number): void {
    for (;;) {
      const arr = d.ooo;
      if (arr.length === 0) {
        if (d.finSeen && !d.finDone && d.ackSeen && seqDiff(d.peerAck, d.finSeq) > 0) {
          // The receiver acknowledged the FIN, so it had every byte before it.
          this.gap(st, d, dir, seqDiff(d.finSeq, d.next), frame, true);
        }
        return;
      }
      const first = arr[0]!;
      const hole = seqDiff(first.seq, d.next);
      if (hole <= 0) {
        this.drain(st, d, dir);
        continue;
      }
      let missing = 0;
      if (d.ackSeen) {
        const acked = seqDiff(d.peerAck, d.next);
        if (acked > 0) missing = acked < hole ? acked : hole;
      }
      if (missing === 0) {
        const factor = d.acksData ? ACKED_WINDOW_FACTOR : 1;
        if (d.oooBytes <= GAP_WINDOW_BYTES * factor && arr.length <= GAP_WINDOW_SEGMENTS * factor) return;
        missing = hole;
      }
      this.gap(st, d, dir, missing, first.frame, false);
      this.drain(st, d, dir);
    }
  }

  private gap(st: ConnState, d: DirState, dir: Direction, bytes: number, frame: number, atEnd: boolean): void {
    const conn = st.conn!;
    const from = rel(d, d.next);
    const where = atEnd ? `at the end of ${dir}` : `in ${dir} before frame ${frame}`;
    this.emit({
      event: 'gap',
      frame,
      conn: conn.id,
      dir,
      bytes,
      message: `${bytes} byte${bytes === 1 ? '' : 's'} missing ${where} (seq ${from}..${from + bytes})`,
    });
    this.sink.gap(conn, dir, bytes, frame);
    if (!atEnd) {
      d.lostRanges.push({ from: d.next, to: (d.next + bytes) >>> 0, frame, reported: false });
      if (d.lostRanges.length > LATE_GAPS_KEPT) d.lostRanges.shift();
    }
    d.next = (d.next + bytes) >>> 0;
    d.overflowing = false;
    if (d.finSeen && !d.finDone && d.next === d.finSeq) {
      d.finDone = true;
      d.next = (d.next + 1) >>> 0;
    }
  }

  /** The other side acknowledged `ack` for direction `d`. */
  private acked(st: ConnState, d: DirState, dir: Direction, ack: number, frame: number): void {
    if (!d.init || seqDiff(ack, d.next) > MAX_AHEAD) return;
    if (!d.ackSeen || seqDiff(ack, d.peerAck) > 0) d.peerAck = ack;
    d.ackSeen = true;
    if (!d.acksData && seqDiff(ack, d.base) > 1) d.acksData = true;
    if (st.mode === LIVE && seqDiff(d.peerAck, d.next) > 0) {
      if (d.ooo.length > 0 || (d.finSeen && !d.finDone)) {
        this.settle(st, d, dir, frame);
      } else if (seqDiff(d.peerAck, d.next) <= ACKED_TAIL_GAP_MAX) {
        // The receiver has bytes the capture never showed, and nothing follows them yet: they are lost now, not when
        // the sender's next segment arrives. Declared before this segment's own bytes, so a reply is never checked
        // against a state that misses what the gap took (a PUBACK for a PUBLISH the capture lost). Larger distances
        // wait for data beyond the hole, as before: an acknowledgement number far ahead is more likely garbage.
        this.gap(st, d, dir, seqDiff(d.peerAck, d.next), frame, false);
      }
    }
  }

  /** End of a direction: every remaining hole, and bytes acknowledged or announced by the FIN but never seen, are gaps. */
  private flush(st: ConnState, d: DirState, dir: Direction, frame: number): void {
    if (!d.init) return;
    while (d.ooo.length > 0) {
      const first = d.ooo[0]!;
      const hole = seqDiff(first.seq, d.next);
      if (hole > 0) this.gap(st, d, dir, hole, first.frame, false);
      this.drain(st, d, dir);
    }
    let target = d.next;
    if (d.finSeen) {
      if (!d.finDone) target = d.finSeq;
    } else if (d.ackSeen && seqDiff(d.peerAck, d.next) > 0) {
      target = d.peerAck;
    }
    if (!d.finSeen && d.droppedEnd !== null && seqDiff(d.droppedEnd, target) > 0 && seqDiff(d.droppedEnd, d.next) <= MAX_AHEAD) target = d.droppedEnd;
    const missing = seqDiff(target, d.next);
    if (missing > 0) this.gap(st, d, dir, missing, frame, true);
  }

  private close(st: ConnState, frame: number, timeSec: number, timeNsec: number, cause: EndCause): void {
    if (st.mode === LIVE) {
      this.flush(st, st.c2s, 'c2s', frame);
      this.flush(st, st.s2c, 's2c', frame);
    }
    if (st.conn !== null) this.sink.close(st.conn, endOf(st, frame, timeSec, timeNsec, cause));
    this.unlink(st);
    this.release(st);
    // The oldest tombstone goes first. A ring of keys instead of deleting a Map's first key: V8 leaves deleted
    // entries in place until it rehashes, so finding the first live one walks them all (quadratic in a SYN flood).
    if (this.tombCount === MAX_TOMBSTONES) {
      const old = this.tombRing[this.tombHead]!;
      this.tombHead = (this.tombHead + 1) % MAX_TOMBSTONES;
      this.tombCount--;
      this.tombs.delete(old);
    }
    this.tombRing[(this.tombHead + this.tombCount) % MAX_TOMBSTONES] = st.key;
    this.tombCount++;
    this.tombs.set(st.key, { clientIsn: st.c2s.synSeen ? st.c2s.isn : -1, sec: timeSec });
  }

  private unlink(st: ConnState): void {
    if (!st.grouped) {
      if (this.live.get(st.portKey) === st) this.live.delete(st.portKey);
    } else {
      const g = this.groups.get(st.portKey);
      if (g !== undefined) {
        const [low, high] = groupKeys(st);
        const inner = g.get(low);
        if (inner !== undefined && inner.get(high) === st) {
          inner.delete(high);
          if (inner.size === 0) g.delete(low);
          if (g.size === 0) this.groups.delete(st.portKey);
        }
      }
      st.grouped = false;
    }
    this.lruRemove(st);
    this.liveCount--;
  }

  /** Auto mode: does the client's stream start with a CONNECT? Without a SYN either side may be the client. */
  private probe(st: ConnState, frame: number): void {
    const c = this.probeDir(st.c2s, this.prober!, !st.sawSyn);
    if (c === YES) {
      this.promote(st, frame);
      return;
    }
    // A ClientHello is looked for only with --auto (TLS ports are followed as TLS from the start).
    const tls = this.tlsProber === null || !this.auto ? NO : this.probeDir(st.c2s, this.tlsProber);
    if (tls === YES) {
      st.tls = true;
      this.promote(st, frame);
      return;
    }
    const note = c === NO && tls === NO ? this.probeNote(st, frame) : null;
    if (st.sawSyn) {
      if (c === NO && tls === NO) this.ignore(st, note);
      return;
    }
    const s = this.probeDir(st.s2c, this.prober!, true);
    if (s === YES) {
      const ip = st.clientIp;
      const port = st.clientPort;
      st.clientIp = st.serverIp;
      st.clientPort = st.serverPort;
      st.serverIp = ip;
      st.serverPort = port;
      const c2s = st.c2s;
      st.c2s = st.s2c;
      st.s2c = c2s;
      this.promote(st, frame);
    } else if (c === NO && s === NO && tls === NO) {
      this.ignore(st, note ?? this.probeNote(st, frame));
    }
  }

  /** A stream on a probed port that the prober refused: the one event it is worth, if any (see ConnectProber.explain). */
  private probeNote(st: ConnState, frame: number): StreamEvent | null {
    const explain = this.prober!.explain;
    if (explain === undefined || !(this.probePorts.has(st.clientPort) || this.probePorts.has(st.serverPort))) return null;
    const why = explain(this.probeBuf, this.probeLen);
    if (why === null) return null;
    const client = st.ipv6 ? `[${st.clientIp}]:${st.clientPort}` : `${st.clientIp}:${st.clientPort}`;
    const server = st.ipv6 ? `[${st.serverIp}]:${st.serverPort}` : `${st.serverIp}:${st.serverPort}`;
    return { event: 'http', frame, conn: null, dir: null, message: `${client} -> ${server}: ${why}; not decoded` };
  }

  private probeDir(d: DirState, prober: ConnectProber = this.prober!, midConnection = false): ConnectProbe {
    if (!d.init || d.ooo.length === 0) return NEED;
    const buf = this.probeBuf;
    const want = buf.length;
    let n = 0;
    let expect = d.next;
    let blocked = false;
    for (const c of d.ooo) {
      if (c.seq !== expect) break;
      const take = Math.min(c.data.length, want - n);
      buf.set(c.data.subarray(0, take), n);
      n += take;
      if (n === want) break;
      if (c.data.length < seqDiff(c.end, c.seq)) {
        blocked = true;
        break;
      }
      expect = c.end;
    }
    this.probeLen = n;
    const r = prober.test(buf, n, midConnection);
    return r === NEED && blocked ? NO : r;
  }

  private promote(st: ConnState, frame: number): void {
    st.mode = LIVE;
    this.open(st);
    this.drain(st, st.c2s, 'c2s');
    this.settle(st, st.c2s, 'c2s', frame);
    this.drain(st, st.s2c, 's2c');
    this.settle(st, st.s2c, 's2c', frame);
  }

  private ignore(st: ConnState, note: StreamEvent | null = null): void {
    st.mode = IGNORED;
    this.release(st);
    if (note !== null) this.emit(note);
  }

  private release(st: ConnState): void {
    this.releaseDir(st.c2s);
    this.releaseDir(st.s2c);
  }

  private releaseDir(d: DirState): void {
    d.ooo = [];
    this.bufferedTotal -= d.oooBytes;
    this.held.held -= d.oooBytes;
    d.oooBytes = 0;
    d.histLast = -1;
  }

  private emit(ev: StreamEvent): void {
    this.sink.event(ev);
  }
}

function endOf(st: ConnState, frame: number, timeSec: number, timeNsec: number, cause: EndCause): ConnectionEnd {
  return {
    frame,
    timeSec,
    timeNsec,
    cause,
    by: cause === 'rst' ? st.rstBy : cause === 'fin' ? st.endedBy : null,
    finC2s: st.c2s.finSeen,
    finS2c: st.s2c.finSeen,
  };
}

/** A connection's place in a PortGroup: the address on the lower port (the smaller address if equal), then the other. */
function groupKeys(st: ConnState): [string, string] {
  const clientLow = st.clientPort < st.serverPort || (st.clientPort === st.serverPort && st.clientIp <= st.serverIp);
  return clientLow ? [st.clientIp, st.serverIp] : [st.serverIp, st.clientIp];
}

function groupAdd(g: PortGroup, st: ConnState): void {
  const [low, high] = groupKeys(st);
  let inner = g.get(low);
  if (inner === undefined) {
    inner = new Map();
    g.set(low, inner);
  }
  inner.set(high, st);
  st.grouped = true;
}

function sameTuple(st: ConnState, seg: TcpSegment): boolean {
  return (
    (seg.srcPort === st.clientPort && seg.dstPort === st.serverPort && seg.srcIp === st.clientIp && seg.dstIp === st.serverIp) ||
    (seg.srcPort === st.serverPort && seg.dstPort === st.clientPort && seg.srcIp === st.serverIp && seg.dstIp === st.clientIp)
  );
}

function isSynRetransmit(st: ConnState, seg: TcpSegment): boolean {
  return seg.srcPort === st.clientPort && seg.srcIp === st.clientIp && st.c2s.synSeen && st.c2s.isn === seg.seq;
}

/** Relative sequence number for messages. */
function rel(d: DirState, seq: number): number {
  return (seq - d.base) >>> 0;
}

