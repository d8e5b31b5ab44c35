/**
 * Per connection: one framer per direction, the protocol level the connection speaks, and the decoder.
 * Receives reassembled bytes from the TCP stage and hands decoded packets on, in capture order.
 */
import type { Connection, ConnectionEnd, Direction, StreamEvent, StreamSink } from '../tcp/types.js';
import { DEFAULT_PENDING_BUDGET_BYTES, MqttFramer, type FramedPacket, type FramerEvent, type FramerSink, type PendingBudget, type SnaplenCut, type StreamKnowledge } from './framer.js';
import { decodePacket, inferLevel, PacketDecoder } from './decoder.js';
import type { MqttPacket } from './packets.js';
import { CONNACK, CONNECT } from './tables.js';
import type { DecodeContext, FieldNode, ProtocolLevel } from './types.js';

/** One decoded MQTT packet with where and when it was seen. Later stages add to `violations`. */
export interface PacketRecord {
  conn: Connection;
  dir: Direction;
  /** The frame that completed the packet, and every frame that carried its bytes. */
  frame: number;
  frames: number[];
  timeSec: number;
  timeNsec: number;
  /**
   * Exactly the packet's bytes; offsets in `decoded`, its tree and its problems are relative to bytes[0]. Valid only
   * while the record is passed down the pipeline (it may be a view of the capture's read buffer).
   */
  bytes: Uint8Array;
  decoded: MqttPacket;
  /** True when the level was not read from a CONNECT in this capture. */
  levelInferred: boolean;
  streamOffset: number;
  /**
   * Set when the capture's snaplen cut the packet: its whole length as declared, while `bytes` (and so `decoded`)
   * hold only what was captured. The decoder's problems about the missing part are left out: it was not sent wrong,
   * it was not captured.
   */
  truncated?: number;
  /** Filled by the rules stage. */
  violations: Violation[];
  /**
   * The IP and TCP headers of the segment that completed the packet (its direction's latest segment with payload:
   * src/tcp/types.ts SegmentFacts), copied as numbers, for field export and filters (ip.ttl, tcp.flags, tcp.len,
   * tcp.time_delta); -1 where unknown (ip.* on IPv6). Not in the NDJSON. Absent on records made by hand.
   */
  ipTtl?: number;
  ipLength?: number;
  ipFlags?: number;
  tcpFlags?: number;
  tcpLength?: number;
  tcpDeltaSec?: number;
  tcpDeltaNsec?: number;
}

export type Severity = 'error' | 'warning' | 'note';

export interface Violation {
  /** Spec statement id (`MQTT-3.1.2-3`) or our own stable id for unnumbered rules. */
  id: string;
  /** Spec version the id belongs to: "3.1", "3.1.1", "5.0". */
  spec: string;
  severity: Severity;
  message: string;
  /** Offending bytes, relative to the packet start, when one place is to blame. */
  offset?: number;
  length?: number;
}

/** Where decoded packets and every event go next. */
export interface PacketSink {
  open(conn: Connection): void;
  packet(rec: PacketRecord): void;
  event(ev: StreamEvent & { violations?: Violation[] }): void;
  close(conn: Connection, end: ConnectionEnd): void;
}

export interface ConnectionDecoderOptions {
  /** Build field trees (-V, -x). */
  tree: boolean;
  /**
   * With `tree`: asked before each packet is decoded; false decodes it without its tree. The report keeps packet views
   * for some packets only and builds the others' trees when it knows it keeps them (`packetTree`).
   */
  treeWanted?: () => boolean;
  /** Bytes of payload shown in tree nodes (the rest is cut and marked). */
  payloadLimit?: number;
  maxPacketBytes?: number;
  /** Bytes all framers together may hold in packets in progress (default DEFAULT_PENDING_BUDGET_BYTES). */
  pendingBudgetBytes?: number;
}

/** Also what the framers read while resynchronising (StreamKnowledge). */
interface ConnState extends StreamKnowledge {
  conn: Connection;
  level: ProtocolLevel | null;
  levelInferred: boolean;
  /** Maximum Packet Size each direction's receiver announced (5.0 CONNECT for s2c, CONNACK for c2s). */
  maxPacketSize: Record<Direction, number>;
  c2s: MqttFramer | null;
  s2c: MqttFramer | null;
}

export class ConnectionDecoder implements StreamSink {
  private readonly next: PacketSink;
  private readonly opts: ConnectionDecoderOptions;
  private readonly conns = new Map<number, ConnState>();
  /** Bytes held for packets in progress, by the framers and (given to the TCP stage) its out-of-order buffers. */
  readonly budget: PendingBudget;
  private readonly decoder = new PacketDecoder();
  /** The decode context, refilled for every packet (the decoder copies what it needs and keeps no reference). */
  private readonly ctx: DecodeContext;
  /** The capture record being processed: a packet completes in it even when its bytes came from earlier frames. */
  private currentFrame = 0;
  private currentSec = 0;
  private currentNsec = 0;

  constructor(next: PacketSink, opts: ConnectionDecoderOptions) {
    this.next = next;
    this.opts = opts;
    this.budget = { held: 0, limit: opts.pendingBudgetBytes ?? DEFAULT_PENDING_BUDGET_BYTES };
    // An undefined payloadLimit means the decoder's default.
    this.ctx = { level: 4, dir: null, tree: opts.tree, payloadLimit: opts.payloadLimit };
  }


  /** Called for every capture record before its segment reaches the TCP stage. */
  setCurrentFrame(frame: number, timeSec: number, timeNsec: number): void {
    this.currentFrame = frame;
    this.currentSec = timeSec;
    this.currentNsec = timeNsec;
  }

  open(conn: Connection): void {
    const state: ConnState = { conn, level: null, levelInferred: false, maxPacketSize: { c2s: 0, s2c: 0 }, c2s: null, s2c: null };
    state.c2s = this.makeFramer(state, 'c2s');
    state.s2c = this.makeFramer(state, 's2c');
    // A TLS connection's bytes come from the transport stage: plaintext when it decrypted them, nothing otherwise.
    this.conns.set(conn.id, state);
    this.next.open(conn);
  }

  data(conn: Connection, dir: Direction, data: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    const state = this.conns.get(conn.id);
    if (state !== undefined) (dir === 'c2s' ? state.c2s : state.s2c)!.push(data, frame, timeSec, timeNsec);
  }

  gap(conn: Connection, dir: Direction, bytes: number, frame: number, cut?: SnaplenCut): void {
    const state = this.conns.get(conn.id);
    if (state !== undefined) (dir === 'c2s' ? state.c2s : state.s2c)!.gap(bytes, frame, cut);
  }

  close(conn: Connection, end: ConnectionEnd): void {
    const state = this.conns.get(conn.id);
    if (state) {
      state.c2s!.end(end.frame);
      state.s2c!.end(end.frame);
      this.conns.delete(conn.id);
    }
    this.next.close(conn, end);
  }

  event(ev: StreamEvent): void {
    this.next.event(ev);
  }

  private makeFramer(state: ConnState, dir: Direction): MqttFramer {
    const conn = state.conn;
    return new MqttFramer(new FramerOutlet(this, this.next, state, dir), { startUnsynced: !conn.sawSyn, budget: this.budget, dir, knows: state, ...(this.opts.maxPacketBytes !== undefined ? { maxPacketBytes: this.opts.maxPacketBytes } : {}) });
  }

  /**
   * A framed packet of one connection and direction, from its FramerOutlet (which holds the connection's state, so
   * no lookup by id per packet): decoded and passed on.
   */
  framed(state: ConnState, dir: Direction, pkt: FramedPacket): void {
    const conn = state.conn;
    const isConnect = dir === 'c2s' && (pkt.bytes[0]! >> 4) === CONNECT;
    if (state.level === null && !isConnect) {
      const guess = inferLevel(pkt.bytes);
      if (guess !== null) {
        state.level = guess;
        state.levelInferred = true;
      }
    }
    const level: ProtocolLevel = state.level ?? 4;
    const ctx = this.ctx;
    ctx.level = level;
    ctx.dir = dir;
    if (this.opts.treeWanted !== undefined) ctx.tree = this.opts.tree && this.opts.treeWanted();
    const decoded = this.decoder.decode(pkt.bytes, ctx);
    if (pkt.truncated !== undefined) dropCutProblems(decoded, pkt.bytes.length);
    if (isConnect) {
      // The CONNECT's own level governs the connection from here on (both directions).
      state.level = decoded.level;
      state.levelInferred = false;
      state.maxPacketSize.s2c = decoded.type === CONNECT ? decoded.properties?.maximumPacketSize ?? 0 : 0;
    } else if (dir === 's2c' && decoded.type === CONNACK) {
      // Kept for resynchronisation: a candidate larger than the receiver accepts is no packet.
      state.maxPacketSize.c2s = decoded.properties?.maximumPacketSize ?? 0;
    }
    const rec: PacketRecord = {
      conn,
      dir,
      // Out-of-order bytes complete a packet only when the hole before them fills: that frame is the completing one.
      frame: Math.max(pkt.frame, this.currentFrame),
      frames: pkt.frames,
      timeSec: this.currentFrame > pkt.frame ? this.currentSec : pkt.timeSec,
      timeNsec: this.currentFrame > pkt.frame ? this.currentNsec : pkt.timeNsec,
      bytes: pkt.bytes,
      decoded,
      levelInferred: !isConnect && (state.level === null || state.levelInferred),
      streamOffset: pkt.streamOffset,
      violations: [],
      ipTtl: -1,
      ipLength: -1,
      ipFlags: -1,
      tcpFlags: -1,
      tcpLength: -1,
      tcpDeltaSec: 0,
      tcpDeltaNsec: 0,
    };
    const seg = conn.segments;
    if (seg !== undefined) {
      const f = dir === 'c2s' ? seg.c2s : seg.s2c;
      rec.ipTtl = f.ipTtl;
      rec.ipLength = f.ipLength;
      rec.ipFlags = f.ipFlags;
      rec.tcpFlags = f.tcpFlags;
      rec.tcpLength = f.tcpLength;
      rec.tcpDeltaSec = f.deltaSec;
      rec.tcpDeltaNsec = f.deltaNsec;
    }
    // Added only to the rare cut packet: every other record keeps one shape, and no spread object is made per packet.
    if (pkt.truncated !== undefined) rec.truncated = pkt.truncated;
    this.next.packet(rec);
  }
}

/**
 * The field tree of a packet decoded without one (ConnectionDecoderOptions.treeWanted): its bytes decoded again at the
 * level and in the direction they were, with the same payload limit. The decoder's tree is a function of those alone;
 * what later stages hang under it (the dialect stage's payload nodes) is not in it. Only while `rec.bytes` is valid.
 */
export function packetTree(rec: PacketRecord, payloadLimit?: number): FieldNode | null {
  return decodePacket(rec.bytes, { level: rec.decoded.level, dir: rec.dir, tree: true, payloadLimit }).tree;
}

/**
 * A packet cut by the snaplen: only problems wholly inside the captured bytes are its own. A field that runs past
 * them ('overrun'), or a check of a value that was not all captured (a payload's UTF-8), is about bytes nobody saw.
 */
export function dropCutProblems(d: MqttPacket, captured: number): void {
  // A new array: a packet without problems shares one empty array with every other.
  if (d.problems.length > 0) d.problems = d.problems.filter((p) => p.code !== 'overrun' && p.offset + p.length <= captured);
}

/**
 * Where one direction's framer delivers. A small object instead of two closures per framer: connections can be open
 * by the ten thousand, and every byte they hold each is multiplied.
 */
class FramerOutlet implements FramerSink {
  constructor(
    private readonly decoder: ConnectionDecoder,
    private readonly next: PacketSink,
    private readonly state: ConnState,
    private readonly dir: Direction,
  ) {}

  packet(pkt: FramedPacket): void {
    this.decoder.framed(this.state, this.dir, pkt);
  }

  event(ev: FramerEvent): void {
    this.next.event({ event: ev.event, frame: ev.frame, conn: this.state.conn.id, dir: this.dir, message: ev.message, ...(ev.bytes !== undefined ? { bytes: ev.bytes } : {}), ...(ev.skipped !== undefined ? { skipped: ev.skipped } : {}), ...(ev.malformed !== undefined ? { malformed: ev.malformed } : {}) } as StreamEvent);
  }
}
