/**
 * The hand-over of `--threads 2`: one producer (the main thread, which runs capture, net, TCP, MQTT and the rules)
 * and one consumer (the render worker, which runs the dialects and the renderers) share a ring of bytes in a
 * SharedArrayBuffer. Every PacketSink call after the rules becomes one message, in the order it was made, so the
 * worker sees exactly the calls a single thread would have made.
 *
 * A packet crosses as its bytes and what the stages before the dialects found out about it (where and when it was
 * seen, the protocol level it was decoded with, the rules' findings, the topic an alias resolved to); the worker
 * decodes the bytes again. A decoded packet is a tree of objects that cannot cross threads without being serialised,
 * and decoding again costs less than serialising it (bench/threads.mjs, bench/README.md).
 *
 * Positions are byte counts since the start, kept modulo 2^32 in an Int32Array (Atomics need one). The writer never
 * lets the unread part exceed the ring, and publishes its position in batches (PUBLISH_EVERY) or when told
 * (`publish()`, after each input chunk, so a live capture is shown as it arrives); the reader waits on it with
 * Atomics.wait. Messages are 4-byte aligned and never wrap: one that does not fit before the end is preceded by a
 * WRAP marker. A message larger than MAX_INLINE (a huge PUBLISH, thousands of frame numbers) is sent in PART pieces
 * that the reader joins.
 */
import type { TraceRecord } from '../sessions/records.js';
import type { PacketRecord, Violation } from '../mqtt/connection-decoder.js';
import { PUBLISH } from '../mqtt/tables.js';
import type { Connection, ConnectionEnd, Direction, StreamEvent } from '../tcp/types.js';
import type { WsFrameNote, WsFrameSink } from '../transport/websocket.js';

/**
 * Bytes of the ring (the unread part can never exceed it). 4 MiB: a 16 MiB ring was no faster (200 MB --json, one
 * run each: 8.2 s wall with 4 MiB) and counted against the main thread's memory budget.
 */
export const RING_BYTES = 4 * 1024 * 1024;
/** The control words before the ring: write position, read position, producer done, consumer gone. */
const CONTROL_BYTES = 16;
const W = 0;
const R = 1;
const DONE = 2;
const GONE = 3;
/** Bytes written before the writer publishes its position on its own: one notify per batch, not per packet. */
const PUBLISH_EVERY = 64 * 1024;
/** Largest message written in one piece; larger ones go in parts of this size. */
const MAX_INLINE = 1024 * 1024;
/** How long one Atomics.wait lasts before the waiter looks again (ms): a lost wake-up costs at most this. */
const WAIT_MS = 50;

const enum T {
  WRAP = 1,
  PACKET = 2,
  OPEN = 3,
  CLOSE = 4,
  EVENT = 5,
  /** A frame's time (Renderer.frameTime): the first frame's, and the latest one's before an event or a close. */
  TIME = 6,
  /** A piece of a message too large to write in one: the last piece carries the message's own type. */
  PART = 7,
  PART_END = 8,
  /** A WebSocket frame header for the annotated hex (-x), and a connection whose headers are no longer needed. */
  WS_FRAME = 9,
  WS_DROP = 10,
  /** A record of the sessions stage (message, session). */
  TRACED = 11,
}

/** Header of every message: type (8 bits) and length (24 bits) in one word, then the message's own fields. */
const HEAD = 4;

const F_INFERRED = 1;
const F_TRUNCATED = 2;
const F_RESOLVED = 4;
const F_VIOLATIONS = 8;

// Packet message layout after the header (byte offsets from the message start).
const P_FLAGS = 4; // u8
const P_DIR = 5; // u8: 0 c2s, 1 s2c
const P_LEVEL = 6; // u8
const P_CONN = 8; // u32
const P_FRAME = 12; // f64
const P_SEC = 20; // f64
const P_NSEC = 28; // u32
const P_NFRAMES = 32; // u32
const P_OFFSET = 36; // f64
const P_TRUNC = 44; // f64
const P_BYTES = 52; // u32
const P_TOPIC = 56; // u32: UTF-8 bytes of the resolved topic
const P_VIOL = 60; // u32: UTF-8 bytes of the violations' JSON
// The completing segment's headers (PacketRecord ipTtl … tcpDeltaNsec; -1: unknown).
const P_IP_TTL = 64; // i32
const P_IP_LEN = 68; // i32
const P_IP_FLAGS = 72; // i16
const P_TCP_FLAGS = 74; // i16
const P_TCP_LEN = 76; // i32
const P_TCP_DSEC = 80; // f64
const P_TCP_DNSEC = 88; // u32
const P_FIXED = 92;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function newRingBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + RING_BYTES);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** A message being built: where to write it (the ring, or a scratch buffer for one sent in parts). */
interface Slot {
  u8: Uint8Array;
  dv: DataView;
  at: number;
}

/** The main thread's end: the sink after the rules. */
export class RingWriter {
  private readonly ctrl: Int32Array;
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private w = 0;
  private published = 0;
  /** Times the writer waited for the reader (the ring was full): the render side was the slower one. */
  waits = 0;

  constructor(sab: SharedArrayBuffer) {
    this.ctrl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
    this.u8 = new Uint8Array(sab, CONTROL_BYTES, RING_BYTES);
    this.dv = new DataView(sab, CONTROL_BYTES, RING_BYTES);
  }

  /** The reader stopped for good (its output closed, or it failed): what is written from now on is dropped. */
  get consumerGone(): boolean {
    return Atomics.load(this.ctrl, GONE) !== 0;
  }

  /** Makes the written messages visible to the reader and wakes it. */
  publish(): void {
    if (this.published === this.w) return;
    this.published = this.w;
    Atomics.store(this.ctrl, W, this.w | 0);
    Atomics.notify(this.ctrl, W);
  }

  /** No more messages. `complete` false: the input ended in an error, so what ends a run's output is left out. */
  end(complete = true): void {
    this.publish();
    Atomics.store(this.ctrl, DONE, complete ? 1 : 2);
    Atomics.notify(this.ctrl, W);
  }

  frameTime(timeSec: number, timeNsec: number): void {
    const s = this.begin(T.TIME, HEAD + 12);
    if (s === null) return;
    s.dv.setFloat64(s.at + 4, timeSec);
    s.dv.setUint32(s.at + 12, timeNsec);
    this.finish(s);
  }

  open(conn: Connection): void {
    // Without the live header facts: the worker gets each packet's own copy of them with the packet.
    const { segments: _live, ...plain } = conn;
    this.json(T.OPEN, plain);
  }

  close(conn: Connection, end: ConnectionEnd): void {
    this.json(T.CLOSE, [conn.id, end]);
  }

  event(ev: StreamEvent & { violations?: Violation[] }): void {
    this.json(T.EVENT, ev);
  }

  traced(r: TraceRecord): void {
    this.json(T.TRACED, r);
  }

  /**
   * The WebSocket layer's frame notes, sent in order with the packets they explain (a frame's header is noted before
   * the packets its payload completes), for the worker's annotated hex.
   */
  readonly wsFrames: WsFrameSink = {
    add: (conn: number, dir: Direction, note: WsFrameNote): void => {
      this.json(T.WS_FRAME, [conn, dir, note.frame, Array.from(note.header), note.payloadLength, note.streamOffset, note.inflated ?? null]);
    },
    drop: (conn: number): void => {
      this.json(T.WS_DROP, conn);
    },
  };

  packet(rec: PacketRecord): void {
    const d = rec.decoded;
    // Set by the rules on a PUBLISH whose topic alias they resolved.
    const resolved = d.type === PUBLISH ? d.resolvedTopic : undefined;
    const topic = resolved === undefined ? null : encoder.encode(resolved);
    const viol = rec.violations.length === 0 ? null : encoder.encode(JSON.stringify(rec.violations));
    const frames = rec.frames;
    const bytes = rec.bytes;
    const size = align4(P_FIXED + 8 * frames.length + bytes.length + (topic?.length ?? 0) + (viol?.length ?? 0));
    const s = this.begin(T.PACKET, size);
    if (s === null) return;
    const { u8, dv, at } = s;
    u8[at + P_FLAGS] = (rec.levelInferred ? F_INFERRED : 0) | (rec.truncated !== undefined ? F_TRUNCATED : 0) | (topic !== null ? F_RESOLVED : 0) | (viol !== null ? F_VIOLATIONS : 0);
    u8[at + P_DIR] = rec.dir === 'c2s' ? 0 : 1;
    u8[at + P_LEVEL] = d.level;
    dv.setUint32(at + P_CONN, rec.conn.id);
    dv.setFloat64(at + P_FRAME, rec.frame);
    dv.setFloat64(at + P_SEC, rec.timeSec);
    dv.setUint32(at + P_NSEC, rec.timeNsec);
    dv.setUint32(at + P_NFRAMES, frames.length);
    dv.setFloat64(at + P_OFFSET, rec.streamOffset);
    dv.setFloat64(at + P_TRUNC, rec.truncated ?? 0);
    dv.setUint32(at + P_BYTES, bytes.length);
    dv.setUint32(at + P_TOPIC, topic?.length ?? 0);
    dv.setUint32(at + P_VIOL, viol?.length ?? 0);
    dv.setInt32(at + P_IP_TTL, rec.ipTtl ?? -1);
    dv.setInt32(at + P_IP_LEN, rec.ipLength ?? -1);
    dv.setInt16(at + P_IP_FLAGS, rec.ipFlags ?? -1);
    dv.setInt16(at + P_TCP_FLAGS, rec.tcpFlags ?? -1);
    dv.setInt32(at + P_TCP_LEN, rec.tcpLength ?? -1);
    dv.setFloat64(at + P_TCP_DSEC, rec.tcpDeltaSec ?? 0);
    dv.setUint32(at + P_TCP_DNSEC, rec.tcpDeltaNsec ?? 0);
    let p = at + P_FIXED;
    for (let i = 0; i < frames.length; i++, p += 8) dv.setFloat64(p, frames[i]!);
    u8.set(bytes, p);
    p += bytes.length;
    if (topic !== null) {
      u8.set(topic, p);
      p += topic.length;
    }
    if (viol !== null) u8.set(viol, p);
    this.finish(s);
  }

  private json(type: T, value: unknown): void {
    const b = encoder.encode(JSON.stringify(value));
    const s = this.begin(type, align4(HEAD + 4 + b.length));
    if (s === null) return;
    s.dv.setUint32(s.at + 4, b.length);
    s.u8.set(b, s.at + 8);
    this.finish(s);
  }

  /** Where a message of `size` bytes is built: in the ring, or (too large for one piece) in a scratch buffer. */
  private begin(type: T, size: number): Slot | null {
    if (this.consumerGone) return null;
    if (size <= MAX_INLINE) {
      const at = this.reserve(size);
      if (at < 0) return null;
      this.dv.setUint32(at, (type << 24) | size);
      return { u8: this.u8, dv: this.dv, at };
    }
    const u8 = new Uint8Array(size);
    const dv = new DataView(u8.buffer);
    dv.setUint32(0, (type << 24) | (size & 0xffffff));
    return { u8, dv, at: 0 };
  }

  private finish(s: Slot): void {
    if (s.u8 === this.u8) {
      this.commit(this.dv.getUint32(s.at) & 0xffffff);
      return;
    }
    // In pieces: PART ... PART_END, the last one saying which message they make and how long it is.
    const total = s.u8.length;
    for (let off = 0; off < total; off += MAX_INLINE - 16) {
      const n = Math.min(MAX_INLINE - 16, total - off);
      const last = off + n >= total;
      const size = align4(HEAD + 8 + n);
      const at = this.reserve(size);
      if (at < 0) return;
      this.dv.setUint32(at, ((last ? T.PART_END : T.PART) << 24) | size);
      this.dv.setUint32(at + 4, n);
      this.dv.setUint32(at + 8, last ? total : 0);
      this.u8.set(s.u8.subarray(off, off + n), at + 12);
      this.commit(size);
    }
  }

  /** Room for n bytes at the write position without wrapping; waits for the reader while the ring is full. */
  private reserve(n: number): number {
    let off = this.w % RING_BYTES;
    if (off + n > RING_BYTES) {
      if (!this.room(RING_BYTES - off)) return -1;
      if (RING_BYTES - off >= HEAD) this.dv.setUint32(off, T.WRAP << 24);
      this.w = (this.w + RING_BYTES - off) >>> 0;
      off = 0;
    }
    return this.room(n) ? off : -1;
  }

  private room(n: number): boolean {
    for (;;) {
      const r = Atomics.load(this.ctrl, R) >>> 0;
      if (RING_BYTES - ((this.w - r) >>> 0) >= n) return true;
      if (this.consumerGone) return false;
      this.publish();
      this.waits++;
      Atomics.wait(this.ctrl, R, r | 0, WAIT_MS);
    }
  }

  private commit(n: number): void {
    this.w = (this.w + n) >>> 0;
    if (((this.w - this.published) >>> 0) >= PUBLISH_EVERY) this.publish();
  }
}

/** A packet as it arrives in the worker: what the PacketRecord held, except the decoded packet (decoded again). */
export interface RingPacket {
  connId: number;
  dir: Direction;
  level: number;
  levelInferred: boolean;
  frame: number;
  frames: number[];
  timeSec: number;
  timeNsec: number;
  streamOffset: number;
  truncated: number | undefined;
  /** A copy: the ring's bytes are overwritten once the reader moves on, and a stage may keep the record. */
  bytes: Uint8Array;
  resolvedTopic: string | undefined;
  violations: Violation[];
  /** The completing segment's headers, as on the PacketRecord (-1: unknown). */
  ipTtl: number;
  ipLength: number;
  ipFlags: number;
  tcpFlags: number;
  tcpLength: number;
  tcpDeltaSec: number;
  tcpDeltaNsec: number;
}

/** What the reader hands each message to, in the order the writer wrote them. */
export interface RingHandler {
  frameTime(timeSec: number, timeNsec: number): void;
  open(conn: Connection): void;
  close(connId: number, end: ConnectionEnd): void;
  event(ev: StreamEvent & { violations?: Violation[] }): void;
  traced(r: TraceRecord): void;
  packet(p: RingPacket): void;
  /** A WebSocket frame note (RingWriter.wsFrames), and the end of a connection's notes. */
  wsFrame(conn: number, dir: Direction, note: WsFrameNote): void;
  wsDrop(conn: number): void;
  /** The ring is empty for now: a good moment to flush output (a live capture shows what arrived). */
  idle(): void;
}

/** The worker's end. */
export class RingReader {
  private readonly ctrl: Int32Array;
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private r = 0;
  /** Pieces of a message sent in parts, until its PART_END. */
  private parts: Uint8Array[] = [];

  constructor(sab: SharedArrayBuffer) {
    this.ctrl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
    this.u8 = new Uint8Array(sab, CONTROL_BYTES, RING_BYTES);
    this.dv = new DataView(sab, CONTROL_BYTES, RING_BYTES);
  }

  /** Tells the writer to stop waiting for this reader: it will read no more. */
  leave(): void {
    Atomics.store(this.ctrl, GONE, 1);
    Atomics.notify(this.ctrl, R);
  }

  /**
   * Reads every message until the writer ends; blocks the thread while the ring is empty. Returns whether the
   * writer ended complete (see RingWriter.end).
   */
  run(h: RingHandler): boolean {
    for (;;) {
      const w = Atomics.load(this.ctrl, W) >>> 0;
      if (w === this.r) {
        const done = Atomics.load(this.ctrl, DONE);
        if (done !== 0 && (Atomics.load(this.ctrl, W) >>> 0) === this.r) return done === 1;
        h.idle();
        Atomics.wait(this.ctrl, W, w | 0, WAIT_MS);
        continue;
      }
      this.drain(h);
    }
  }

  /** Reads the messages published so far, without waiting; returns how many. */
  drain(h: RingHandler): number {
    const w = Atomics.load(this.ctrl, W) >>> 0;
    let n = 0;
    while (this.r !== w) {
      const off = this.r % RING_BYTES;
      const head = RING_BYTES - off >= HEAD ? this.dv.getUint32(off) : T.WRAP << 24;
      const type = head >>> 24;
      if (type === T.WRAP) {
        this.r = (this.r + RING_BYTES - off) >>> 0;
        continue;
      }
      if (type === T.PART || type === T.PART_END) {
        const len = this.dv.getUint32(off + 4);
        this.parts.push(this.u8.slice(off + 12, off + 12 + len));
        if (type === T.PART_END) {
          const whole = new Uint8Array(this.dv.getUint32(off + 8));
          let at = 0;
          for (const p of this.parts) {
            whole.set(p, at);
            at += p.length;
          }
          this.parts = [];
          const wdv = new DataView(whole.buffer);
          dispatch(h, whole, wdv, 0, wdv.getUint32(0) >>> 24);
          n++;
        }
      } else {
        dispatch(h, this.u8, this.dv, off, type);
        n++;
      }
      this.r = (this.r + (head & 0xffffff)) >>> 0;
    }
    // Room for the writer once a whole batch is read.
    Atomics.store(this.ctrl, R, this.r | 0);
    Atomics.notify(this.ctrl, R);
    return n;
  }
}

function dispatch(h: RingHandler, u8: Uint8Array, dv: DataView, at: number, type: number): void {
  switch (type) {
    case T.PACKET: {
      const flags = u8[at + P_FLAGS]!;
      const nFrames = dv.getUint32(at + P_NFRAMES);
      const frames = new Array<number>(nFrames);
      let p = at + P_FIXED;
      for (let i = 0; i < nFrames; i++, p += 8) frames[i] = dv.getFloat64(p);
      const nBytes = dv.getUint32(at + P_BYTES);
      const bytes = u8.slice(p, p + nBytes);
      p += nBytes;
      const nTopic = dv.getUint32(at + P_TOPIC);
      const resolvedTopic = (flags & F_RESOLVED) !== 0 ? decoder.decode(u8.subarray(p, p + nTopic)) : undefined;
      p += nTopic;
      const nViol = dv.getUint32(at + P_VIOL);
      // Parsed from the JSON the writer made of the rules' own Violation objects.
      const violations = (flags & F_VIOLATIONS) !== 0 ? (JSON.parse(decoder.decode(u8.subarray(p, p + nViol))) as Violation[]) : [];
      h.packet({
        connId: dv.getUint32(at + P_CONN),
        dir: u8[at + P_DIR] === 0 ? 'c2s' : 's2c',
        level: u8[at + P_LEVEL]!,
        levelInferred: (flags & F_INFERRED) !== 0,
        frame: dv.getFloat64(at + P_FRAME),
        frames,
        timeSec: dv.getFloat64(at + P_SEC),
        timeNsec: dv.getUint32(at + P_NSEC),
        streamOffset: dv.getFloat64(at + P_OFFSET),
        truncated: (flags & F_TRUNCATED) !== 0 ? dv.getFloat64(at + P_TRUNC) : undefined,
        bytes,
        resolvedTopic,
        violations,
        ipTtl: dv.getInt32(at + P_IP_TTL),
        ipLength: dv.getInt32(at + P_IP_LEN),
        ipFlags: dv.getInt16(at + P_IP_FLAGS),
        tcpFlags: dv.getInt16(at + P_TCP_FLAGS),
        tcpLength: dv.getInt32(at + P_TCP_LEN),
        tcpDeltaSec: dv.getFloat64(at + P_TCP_DSEC),
        tcpDeltaNsec: dv.getUint32(at + P_TCP_DNSEC),
      });
      return;
    }
    case T.TIME:
      h.frameTime(dv.getFloat64(at + 4), dv.getUint32(at + 12));
      return;
    case T.OPEN:
      // JSON of the Connection object the TCP stage made (plain data: numbers, strings, booleans, null).
      h.open(readJson(u8, dv, at) as Connection);
      return;
    case T.CLOSE: {
      const [id, end] = readJson(u8, dv, at) as [number, ConnectionEnd];
      h.close(id, end);
      return;
    }
    case T.EVENT:
      h.event(readJson(u8, dv, at) as StreamEvent & { violations?: Violation[] });
      return;
    case T.WS_FRAME: {
      // JSON of what RingWriter.wsFrames.add wrote: numbers, the direction, the header's byte values.
      const [conn, dir, frame, header, payloadLength, streamOffset, inflated] = readJson(u8, dv, at) as [number, Direction, number, number[], number, number, number | null];
      h.wsFrame(conn, dir, { frame, header: Uint8Array.from(header), payloadLength, streamOffset, ...(inflated !== null ? { inflated } : {}) });
      return;
    }
    case T.TRACED:
      // JSON of the sessions stage's own plain-data record.
      h.traced(readJson(u8, dv, at) as TraceRecord);
      return;
    case T.WS_DROP:
      h.wsDrop(readJson(u8, dv, at) as number);
      return;
    default:
      throw new Error(`ring: unknown message type ${type}`);
  }
}

function readJson(u8: Uint8Array, dv: DataView, at: number): unknown {
  const n = dv.getUint32(at + 4);
  return JSON.parse(decoder.decode(u8.subarray(at + 8, at + 8 + n)));
}
