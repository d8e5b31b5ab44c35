/**
 * Cuts one direction's reassembled byte stream into MQTT packets.
 *
 * The stream arrives in arbitrary chunks (TCP segments): a packet may span many chunks and one chunk may hold many
 * packets, and the Remaining Length itself may be split. Bytes are kept only as they arrive, never allocated because a
 * length field claims them. After a gap the framer knows where the next packet starts if the gap fell inside a packet
 * whose header it had read; otherwise it resynchronises (see resync()): it decodes nothing until a chain of packets
 * that fits everything the connection knows ends exactly where the next one starts, and reports every byte it skips.
 */
import { httpStart } from './http-sniff.js';
import type { Direction, HeldBytes } from '../tcp/types.js';
import { PacketDecoder } from './decoder.js';
import { CONNECT, PACKET_TYPES, PREFIXED_NAME_31, PREFIXED_NAME_311, PUBLISH, directionAllowed } from './tables.js';
import type { ProtocolLevel } from './types.js';
import { readVbi } from './vbi.js';

/**
 * A complete MQTT packet cut from the stream. `bytes` is valid only during the callback: when the packet lies whole
 * in one delivery it is a view of the caller's bytes (which may be the capture's read buffer, reused afterwards);
 * whoever keeps it copies it (PacketBase.detach()).
 */
export interface FramedPacket {
  bytes: Uint8Array;
  /** Every frame that carried bytes of this packet, in order, without repeats. */
  frames: number[];
  /** The frame that completed the packet, and its time. */
  frame: number;
  timeSec: number;
  timeNsec: number;
  /** Offset of the packet's first byte in this direction's stream (counting gap bytes as present). */
  streamOffset: number;
  /**
   * Set when the capture's snaplen cut the packet: its whole length as its fixed header declares it, while `bytes`
   * holds only what was captured. The rest of the packet is a gap, never invented.
   */
  truncated?: number;
}

/** A gap that is a snaplen cut: the time of the frame that was cut, so a packet cut there is dated by it. */
export interface SnaplenCut {
  timeSec: number;
  timeNsec: number;
}

export type FramerEventKind = 'not-mqtt' | 'resync' | 'incomplete' | 'damaged' | 'oversize' | 'http';

export interface FramerEvent {
  event: FramerEventKind;
  frame: number;
  message: string;
  /** Bytes skipped or left over, when the event is about bytes. */
  bytes?: number;
  /** Bytes that arrived and are in no packet (see StreamEvent.skipped). */
  skipped?: number;
  /** Set when the sender broke the framing itself (not the capture): the decoder problem code. */
  malformed?: 'rl-too-long';
}

export interface FramerSink {
  packet(pkt: FramedPacket): void;
  event(ev: FramerEvent): void;
}

export interface FramerOptions {
  /** Start unsynchronised (a capture that began mid-connection): look for a plausible packet start first. */
  startUnsynced: boolean;
  /** Largest packet that will be buffered whole; larger ones are reported and skipped. */
  maxPacketBytes?: number;
  /** How many unsynchronised bytes to search before giving up on the stream. */
  resyncLimitBytes?: number;
  /** Bytes held by every framer of a capture together (see PendingBudget). */
  budget?: PendingBudget;
  /** Who sends this stream: resynchronisation never accepts a packet this side may not send. */
  dir?: Direction;
  /** What the connection knows, read only while resynchronising (the connection decoder keeps it up to date). */
  knows?: StreamKnowledge;
}

/**
 * What a connection has learnt that tells a real packet start from payload bytes that look like one. Read only while
 * a framer resynchronises, so keeping it costs the in-sync path nothing.
 */
export interface StreamKnowledge {
  /** The connection's protocol level once known (from its CONNECT, or inferred), else null. */
  readonly level: ProtocolLevel | null;
  /** True while the level was inferred rather than read from a CONNECT: false with a level means a CONNECT was seen. */
  readonly levelInferred: boolean;
  /** Maximum Packet Size the receiver of each direction announced (5.0), 0 when none is known. */
  readonly maxPacketSize: Readonly<Record<Direction, number>>;
}

/**
 * What all framers of one capture may hold together in packets in progress. One framer is bounded by maxPacketBytes,
 * but a capture with thousands of connections, each in the middle of a huge packet, would multiply that: past the
 * limit, the packet whose bytes arrive next is reported as oversize and skipped, like one over the per-packet limit.
 * Every byte a framer keeps is counted, from a packet's first segment on; the TCP stage counts its out-of-order bytes
 * in the same budget (HeldBytes).
 */
export type PendingBudget = HeldBytes;

export const DEFAULT_PENDING_BUDGET_BYTES = 128 * 1024 * 1024;

const DEFAULT_MAX_PACKET = 64 * 1024 * 1024;
const DEFAULT_RESYNC_LIMIT = 1024 * 1024;
/**
 * How far past the earliest undecided candidate the search looks (so the waiting work is bounded), and how many bytes
 * a chain must cover before one packet plus a plausible next header confirms it (a long packet cannot be followed by
 * three more inside a small window).
 */
const RESYNC_WINDOW = 64 * 1024;
/** Packets a chain needs, each ending exactly where the next plausible one starts, to synchronise on it. */
const CHAIN_LINKS = 3;
/**
 * Largest candidate held while resynchronising: its bytes are kept until its end shows whether a packet follows. A
 * larger real packet right after a gap is skipped (and reported) instead of letting any 4-byte lookalike hold megabytes.
 */
const RESYNC_HOLD_LIMIT = 1024 * 1024;
/** Undecided candidates kept at once; the search pauses at this many until some are decided. */
const MAX_WAITING = 1024;
/** Decoding budget of a search (Search.decodeBudget): what it starts with, and what each arriving byte adds. */
const DECODE_BUDGET_START = 4 * 1024 * 1024;
const DECODE_BUDGET_PER_BYTE = 16;

const enum Mode {
  Sync,
  Resync,
  /** Skipping the rest of a packet (oversize, or damaged by a gap), then back to Sync. */
  Skip,
  /** Gave up: the stream is not MQTT as far as we can tell. */
  Dead,
}

interface HeaderInfo {
  /** Bytes of fixed header (1 + Remaining Length bytes). */
  headerLength: number;
  remainingLength: number;
}

/** The result of the latest readFixedHeader() call: one shared object, so framing a packet allocates nothing here. */
const header: HeaderInfo = { headerLength: 0, remainingLength: 0 };

/**
 * Reads a fixed header at `at`. Returns null when more bytes are needed, 'bad' when the Remaining Length runs past 4
 * bytes (no MQTT packet can start here). The returned object is valid until the next call.
 */
export function readFixedHeader(buf: Uint8Array, at: number, end: number): Readonly<HeaderInfo> | null | 'bad' {
  const v = readVbi(buf, at + 1, end);
  if (!v.complete) return null;
  if (v.overlong) return 'bad';
  header.headerLength = 1 + v.length;
  header.remainingLength = v.value;
  return header;
}

/**
 * The byte-0 flags each type requires in the newest version that has it (null for PUBLISH, whose bits carry
 * DUP/QoS/RETAIN): how a stream's first byte is judged MQTT or not.
 */
const FIRST_BYTE_FLAGS: readonly (number | null | undefined)[] = PACKET_TYPES.map((t) =>
  t.levels.length === 0 ? undefined : t.flags[t.levels[t.levels.length - 1]!] ?? null);

/** A known packet type with the fixed-header flags it requires (PUBLISH: any but QoS 3). */
function headerByteFits(b0: number): boolean {
  const flags = FIRST_BYTE_FLAGS[b0 >> 4];
  if (flags === undefined) return false;
  return flags === null ? (b0 & 0x06) !== 0x06 : (b0 & 0x0f) === flags;
}

/**
 * Per level, for each value of a packet's first byte: bit 1 if the client may send a packet starting with it, bit 2 if
 * the server may (a type of that level, the flags it requires, DUP only with QoS 1 or 2). Derived from the tables, so
 * most positions of a payload are refused by one lookup.
 */
const FIRST_BYTES: readonly Uint8Array[] = [0, 1, 2, 3, 4, 5].map((lv) => {
  const out = new Uint8Array(256);
  if (lv < 3) return out;
  const level = lv as ProtocolLevel;
  for (let b0 = 0; b0 < 256; b0++) {
    const type = b0 >> 4;
    const flags = b0 & 0x0f;
    const info = PACKET_TYPES[type]!;
    if (!info.levels.includes(level)) continue;
    if (type === PUBLISH) {
      const qos = (flags >> 1) & 3;
      if (qos === 3 || ((flags & 8) !== 0 && qos === 0)) continue;
    } else if (flags !== info.flags[level]) {
      continue;
    }
    out[b0] = (directionAllowed(type, level, 'c2s') ? 1 : 0) | (directionAllowed(type, level, 's2c') ? 2 : 0);
  }
  return out;
});

/** What one resynchronisation search knows: the sender, what the connection learnt, and the size limits. */
interface SearchContext {
  dir: Direction | null;
  /** The FIRST_BYTES bit of `dir` (3: either side). */
  dirMask: number;
  knows: StreamKnowledge | null;
  /** Largest candidate that can be held (the framer's packet limit, the hold limit, a negotiated maximum). */
  maxTotal: number;
  decoder: PacketDecoder;
  search: Search;
}

const enum Verdict {
  No,
  /** Plausible as far as the bytes go; its end lies beyond them. */
  More,
  Yes,
}

/** End of the candidate judged by the latest candidateAt() call that returned Verdict.Yes. */
let candidateEnd = 0;


/**
 * Whether a packet of `level` sent by `ctx.dir` can start at `at`, for resynchronisation only (in sync, anything with
 * a valid header is framed and the decoder reports what is wrong with it). A candidate whose bytes are all present is
 * decoded and must have no problem at all, so what a real sender can send is defined once, by the decoder and the
 * tables; the cheap checks first only spare the decoder the many positions that fail at their first bytes.
 */
function candidateAt(buf: Uint8Array, at: number, end: number, level: ProtocolLevel, ctx: SearchContext): Verdict {
  const b0 = buf[at]!;
  if ((FIRST_BYTES[level]![b0]! & ctx.dirMask) === 0) return Verdict.No;
  const type = b0 >> 4;
  const flags = b0 & 0x0f;
  const info = PACKET_TYPES[type]!;
  // One connection carries one CONNECT: after it, a CONNECT lookalike is payload.
  if (type === CONNECT && ctx.knows !== null && ctx.knows.level !== null && !ctx.knows.levelInferred) return Verdict.No;
  const h = readFixedHeader(buf, at, end);
  if (h === null) return Verdict.More;
  if (h === 'bad') return Verdict.No;
  // A non-minimal length is legal in 3.1.1 but no real sender emits one: refusing it avoids many false starts.
  if (h.headerLength > 2 && buf[at + h.headerLength - 1] === 0) return Verdict.No;
  const rl = h.remainingLength;
  const fixed = info.fixedRemaining[level];
  if (rl < (info.minRemaining[level] ?? 0) || (fixed !== undefined && rl !== fixed)) return Verdict.No;
  const total = h.headerLength + rl;
  if (total > ctx.maxTotal) return Verdict.No;
  const body = at + h.headerLength;
  const packetEnd = at + total;
  // What is cheap to refuse first, on the bytes present: most positions of a payload fail here, not in the decoder.
  if (type === CONNECT) {
    const name = level === 3 ? PREFIXED_NAME_31 : PREFIXED_NAME_311;
    for (let i = 0; i < name.length && body + i < end; i++) if (buf[body + i] !== name[i]) return Verdict.No;
  } else if (type === PUBLISH) {
    if (body + 2 > end) return Verdict.More;
    const topicLen = (buf[body]! << 8) | buf[body + 1]!;
    if (topicLen + 2 + (((flags >> 1) & 3) > 0 ? 2 : 0) > rl || (topicLen === 0 && level !== 5)) return Verdict.No;
    const topicEnd = Math.min(end, body + 2 + topicLen);
    for (let i = body + 2; i < topicEnd; i++) {
      const c = buf[i]!;
      // Control characters and wildcards never appear in a real sender's topic name.
      if (c < 0x20 || c === 0x7f || c === 0x23 || c === 0x2b) return Verdict.No;
    }
  }
  if (packetEnd > end) return Verdict.More;
  if (ctx.search.decodeBudget < total) return Verdict.No;
  ctx.search.decodeBudget -= total;
  const p = ctx.decoder.decode(buf.subarray(at, packetEnd), { level, dir: ctx.dir, tree: false, payloadLimit: 0 });
  if (p.problems.length > 0) return Verdict.No;
  candidateEnd = packetEnd;
  return Verdict.Yes;
}

const enum Chain {
  No,
  /** Undecided until more bytes arrive. */
  Wait,
  Confirmed,
}

/**
 * Whether a chain of candidates starting at `at` synchronises the stream: CHAIN_LINKS packets each ending where the
 * next starts, two that end exactly where the bytes so far end (or one, from where a segment started: `segmentStart`),
 * or one long packet (a chain past RESYNC_WINDOW) followed by a whole plausible header. At the end of the known bytes (`final`: the stream ends or a gap follows), a
 * chain that ends exactly there is confirmed, and so is one of two or more packets followed by a plausible start that
 * the end cuts short; anything else is refused.
 */
function chainAt(buf: Uint8Array, at: number, end: number, final: boolean, segmentStart: boolean, ctx: SearchContext): Chain {
  const known = ctx.knows?.level ?? null;
  if (known !== null) return chainAtLevel(buf, at, end, final, segmentStart, known, ctx);
  if (((FIRST_BYTES[3]![buf[at]!]! | FIRST_BYTES[4]![buf[at]!]! | FIRST_BYTES[5]![buf[at]!]!) & ctx.dirMask) === 0) return Chain.No;
  // Level unknown: a chain must fit one version throughout; 3.1 differs from 3.1.1 only in its CONNECT.
  let best = Chain.No;
  for (const level of UNKNOWN_LEVELS) {
    const c = chainAtLevel(buf, at, end, final, segmentStart, level, ctx);
    if (c === Chain.Confirmed) return c;
    if (c === Chain.Wait) best = c;
  }
  return best;
}

const UNKNOWN_LEVELS: readonly ProtocolLevel[] = [4, 5, 3];

function chainAtLevel(buf: Uint8Array, at: number, end: number, final: boolean, segmentStart: boolean, level: ProtocolLevel, ctx: SearchContext): Chain {
  let p = at;
  let links = 0;
  for (;;) {
    // Senders write whole packets, so segments tend to start and end on packet boundaries: two packets that end
    // exactly where the bytes so far end, or one that also starts where a segment did, are confirmed at once (waiting
    // for more would report them late, after the other side's answers). Others wait for what follows, unless nothing
    // will.
    if (p === end) return links >= 2 || (links > 0 && (final || segmentStart)) ? Chain.Confirmed : final ? Chain.No : Chain.Wait;
    const v = candidateAt(buf, p, end, level, ctx);
    if (v === Verdict.No) return Chain.No;
    if (v === Verdict.More) {
      // A long packet cannot have CHAIN_LINKS - 1 more behind it in the window: its end must show a whole header.
      if (links > 0 && p - at >= RESYNC_WINDOW && typeof readFixedHeader(buf, p, end) === 'object') return Chain.Confirmed;
      if (final) return links >= 2 ? Chain.Confirmed : Chain.No;
      return Chain.Wait;
    }
    links++;
    p = candidateEnd;
    if (links >= CHAIN_LINKS) return Chain.Confirmed;
  }
}

/**
 * The state of one resynchronisation, created when a stream loses (or starts without) its packet boundaries and
 * dropped when it finds them again: a framer in sync carries none of it. The searched bytes live in buf[head, len).
 */
class Search {
  buf = new Uint8Array(0);
  head = 0;
  len = 0;
  /** Buffer index from which positions have not been judged yet (those before are no packet start, or waiting). */
  scanned = 0;
  /** Buffer indexes of candidates that more bytes will decide, in order. */
  waiting: number[] = [];
  /** Buffer indexes where the pushes (TCP segments) still in the buffer began, in order. */
  starts: number[] = [];
  /** Bytes given up since the last event that reported skipped bytes, and the stream offset of the first of them. */
  skippedRun = 0;
  skippedFrom = 0;
  /** Bytes given up since the search began (the limit after which the stream is declared not MQTT). */
  searched = 0;
  /**
   * Bytes the decoder may still read for candidates: it grows with the bytes that arrive, so a stream built to make
   * every position a long candidate costs linear time; past it, candidates that would need decoding are refused.
   */
  decodeBudget = DECODE_BUDGET_START;
}

/** One decoder for every framer's candidates: decoding is synchronous, and it keeps only scratch state. */
const candidateDecoder = new PacketDecoder({ stopAtFirstProblem: true });

export class MqttFramer {
  private mode: Mode;
  private readonly sink: FramerSink;
  private readonly maxPacket: number;
  private readonly resyncLimit: number;
  private readonly budget: PendingBudget | null;
  private readonly dir: Direction | null;
  private readonly knows: StreamKnowledge | null;

  /** Bytes of the packet in progress (Sync), as copies. */
  private pending: Uint8Array[] = [];
  private pendingLength = 0;
  private pendingFrames: number[] = [];
  /** Total size of the packet in progress once its header is known, else 0. */
  private expected = 0;
  /** Stream offset of the first pending byte (in Resync: of search.buf[search.head]). */
  private pendingStart = 0;
  /** Stream offset of the next byte to arrive. */
  private streamOffset = 0;
  private skipRemaining = 0;
  /** The search while resynchronising, else null. */
  private search: Search | null = null;
  /** A packet damaged by a gap whose remaining bytes are being skipped: reported once they are, with their count. */
  private damaged: FramerEvent | null = null;
  private lastFrame = 0;
  private lastSec = 0;
  private lastNsec = 0;

  constructor(sink: FramerSink, opts: FramerOptions) {
    this.sink = sink;
    this.mode = Mode.Sync;
    this.maxPacket = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET;
    this.resyncLimit = opts.resyncLimitBytes ?? DEFAULT_RESYNC_LIMIT;
    this.budget = opts.budget ?? null;
    this.dir = opts.dir ?? null;
    this.knows = opts.knows ?? null;
    if (opts.startUnsynced) this.enterResync();
  }

  /** True once the framer gave up on the stream. */
  get dead(): boolean {
    return this.mode === Mode.Dead;
  }

  push(data: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    this.lastFrame = frame;
    this.lastSec = timeSec;
    this.lastNsec = timeNsec;
    let off = 0;
    const len = data.length;
    while (off < len) {
      switch (this.mode) {
        case Mode.Dead:
          this.streamOffset += len - off;
          return;
        case Mode.Skip: {
          const n = Math.min(this.skipRemaining, len - off);
          this.skipRemaining -= n;
          off += n;
          this.streamOffset += n;
          if (this.damaged !== null) this.damaged.skipped! += n;
          if (this.skipRemaining === 0) {
            this.reportDamaged();
            this.mode = Mode.Sync;
          }
          break;
        }
        case Mode.Resync:
          this.appendSearch(data.subarray(off));
          this.streamOffset += len - off;
          off = len;
          this.resync(frame, timeSec, timeNsec, false);
          break;
        case Mode.Sync:
          off = this.pendingLength === 0
            ? this.frameDirect(data, off, frame, timeSec, timeNsec)
            : this.continuePending(data, off, frame, timeSec, timeNsec);
          break;
      }
    }
  }

  /**
   * `bytes` of the stream were lost before the next push (a TCP gap, or with `snaplen` a snaplen truncation: then a
   * packet whose header was read is delivered as far as its bytes go, marked truncated, instead of 'damaged').
   */
  gap(bytes: number, frame: number, snaplen?: SnaplenCut): void {
    this.lastFrame = frame;
    if (bytes <= 0) return;
    // Bytes before a gap cannot chain into bytes after it: decide the search on what it holds first.
    if (this.mode === Mode.Resync) this.finishSearch(frame, 'before a gap');
    this.streamOffset += bytes;
    switch (this.mode) {
      case Mode.Dead:
        return;
      case Mode.Skip:
        this.reportDamaged();
        if (bytes < this.skipRemaining) {
          this.skipRemaining -= bytes;
        } else {
          // The gap ran past the packet we were skipping: where the next one starts is unknown.
          this.skipRemaining = 0;
          this.enterResync();
        }
        return;
      case Mode.Resync:
        this.search!.skippedFrom = this.streamOffset;
        this.pendingStart = this.streamOffset;
        return;
      case Mode.Sync: {
        if (this.pendingLength === 0) {
          this.enterResync();
          return;
        }
        if (this.expected > 0) {
          const missingInPacket = this.expected - this.pendingLength;
          const lost = Math.min(bytes, missingInPacket);
          const type = this.pending[0]![0]! >> 4;
          const ev: FramerEvent = {
            event: 'damaged',
            frame,
            message: `${typeLabel(type)} of ${this.expected} bytes at stream offset ${this.pendingStart} lost ${lost} byte${lost === 1 ? '' : 's'} in a gap; not decoded`,
            bytes: lost,
            skipped: this.pendingLength,
          };
          if (snaplen !== undefined) {
            // The snaplen kept the packet's first bytes: they are the packet's, as far as they go. Bytes of it that
            // arrive after the cut (its later segments) are skipped and counted, as for a packet damaged by a gap.
            const kept = concat(this.pending, this.pendingLength);
            const frames = this.pendingFrames;
            const start = this.pendingStart;
            const declared = this.expected;
            ev.message = `${typeLabel(type)} of ${declared} bytes at stream offset ${start} was cut by the snaplen in frame ${frame} and decoded as far as that; its later bytes are not decoded`;
            ev.skipped = 0;
            this.dropPending();
            this.sink.packet({ bytes: kept, frames, frame, timeSec: snaplen.timeSec, timeNsec: snaplen.timeNsec, streamOffset: start, truncated: declared });
            if (bytes < missingInPacket) {
              this.skipRemaining = missingInPacket - bytes;
              this.mode = Mode.Skip;
              this.damaged = ev;
            } else if (bytes > missingInPacket) {
              this.enterResync();
            }
            return;
          }
          this.dropPending();
          if (bytes < missingInPacket) {
            this.skipRemaining = missingInPacket - bytes;
            this.mode = Mode.Skip;
            this.damaged = ev;
          } else {
            this.sink.event(ev);
            if (bytes > missingInPacket) this.enterResync();
          }
          return;
        }
        // Gap inside a fixed header: the packet's size is unknown.
        const cut = this.pendingLength;
        const from = this.pendingStart;
        this.dropPending();
        this.sink.event({ event: 'resync', frame, message: `${cut} byte${cut === 1 ? '' : 's'} of a fixed header at stream offset ${from} cut by a gap; skipped`, bytes: cut, skipped: cut });
        this.enterResync();
        return;
      }
    }
  }

  /** End of stream: report bytes that never completed a packet. */
  end(frame?: number): void {
    const at = frame ?? this.lastFrame;
    if (this.mode === Mode.Resync) this.finishSearch(at, 'at the end of the stream');
    if (this.mode === Mode.Sync && this.pendingLength > 0) {
      const first = this.pending[0]!;
      const type = first[0]! >> 4;
      const detail = this.expected > 0
        ? `${typeLabel(type)} declares ${this.expected} bytes, ${this.pendingLength} present`
        : `a fixed header was cut short (${this.pendingLength} byte${this.pendingLength === 1 ? '' : 's'})`;
      this.sink.event({ event: 'incomplete', frame: at, message: `${this.pendingLength} byte${this.pendingLength === 1 ? '' : 's'} at the end of the stream ${this.pendingLength === 1 ? 'does' : 'do'} not complete a packet: ${detail}`, bytes: this.pendingLength, skipped: this.pendingLength });
    } else if (this.mode === Mode.Skip) {
      this.reportDamaged();
      if (this.skipRemaining > 0) {
        this.sink.event({ event: 'incomplete', frame: at, message: `stream ended ${this.skipRemaining} byte${this.skipRemaining === 1 ? '' : 's'} before the end of a skipped packet`, bytes: this.skipRemaining });
      }
    }
    this.dropPending();
  }

  /** Frames packets straight out of `data` while nothing is pending: the common, copy-free path. */
  private frameDirect(data: Uint8Array, off: number, frame: number, timeSec: number, timeNsec: number): number {
    const len = data.length;
    while (off < len) {
      if (this.streamOffset === 0 && this.http(data, off, frame)) return len;
      if (this.streamOffset === 0 && !headerByteFits(data[off]!)) {
        this.lostSync(frame, `the stream starts with byte 0x${hex2(data[off]!)}, which no MQTT packet starts with`, 'not-mqtt');
        return off;
      }
      const h = readFixedHeader(data, off, len);
      if (h === null) {
        this.appendPending(data.subarray(off), frame);
        this.streamOffset += len - off;
        return len;
      }
      if (h === 'bad') {
        this.lostSync(frame, `Remaining Length at stream offset ${this.streamOffset} runs past 4 bytes`, 'resync', 'rl-too-long');
        return off;
      }
      const total = h.headerLength + h.remainingLength;
      if (off + total > len) {
        if (this.budget !== null && this.budget.held + (len - off) > this.budget.limit) {
          // The first bytes of a packet count like the rest: refused past the budget, the packet is skipped.
          this.oversize(total, frame, true);
          this.skipRemaining = off + total - len;
          this.streamOffset += len - off;
          this.mode = Mode.Skip;
          return len;
        }
        this.expected = total;
        this.appendPending(data.subarray(off), frame);
        this.streamOffset += len - off;
        return len;
      }
      this.sink.packet({ bytes: data.subarray(off, off + total), frames: [frame], frame, timeSec, timeNsec, streamOffset: this.streamOffset });
      this.streamOffset += total;
      off += total;
      if (this.mode !== Mode.Sync) return off;
    }
    return off;
  }

  /** Adds bytes to the packet in progress; emits it once complete. Returns the new offset into `data`. */
  private continuePending(data: Uint8Array, off: number, frame: number, timeSec: number, timeNsec: number): number {
    if (this.expected === 0) {
      // Header still incomplete: it is at most 5 bytes, so joining is cheap.
      const head = concat(this.pending, this.pendingLength);
      const take = Math.min(5 - head.length, data.length - off);
      const probe = new Uint8Array(head.length + take);
      probe.set(head, 0);
      probe.set(data.subarray(off, off + take), head.length);
      const h = readFixedHeader(probe, 0, probe.length);
      if (h === null) {
        this.appendPending(data.subarray(off, off + take), frame);
        this.streamOffset += take;
        return off + take;
      }
      if (h === 'bad') {
        this.lostSync(frame, `Remaining Length at stream offset ${this.pendingStart} runs past 4 bytes`, 'resync', 'rl-too-long');
        return off;
      }
      this.expected = h.headerLength + h.remainingLength;
    }
    const need = this.expected - this.pendingLength;
    const take = Math.min(need, data.length - off);
    const overBudget = this.budget !== null && this.budget.held + take > this.budget.limit;
    if (this.pendingLength + take > this.maxPacket || overBudget) {
      // Only bytes that really arrived count against the limit, so a huge claim with few bytes ends as 'incomplete'.
      this.oversize(this.expected, frame, overBudget);
      this.skipRemaining = need - take;
      this.dropPending();
      this.streamOffset += take;
      if (this.skipRemaining > 0) this.mode = Mode.Skip;
      return off + take;
    }
    this.appendPending(data.subarray(off, off + take), frame);
    this.streamOffset += take;
    if (this.pendingLength === this.expected) {
      const bytes = concat(this.pending, this.pendingLength);
      const frames = this.pendingFrames;
      const start = this.pendingStart;
      this.dropPending();
      this.sink.packet({ bytes, frames, frame, timeSec, timeNsec, streamOffset: start });
    }
    return off + take;
  }

  /** Lost packet boundaries (a gap, a broken length, a capture that starts mid-stream): search for them again. */
  private enterResync(): void {
    this.mode = Mode.Resync;
    const s = new Search();
    s.skippedFrom = this.streamOffset;
    this.search = s;
    this.pendingStart = this.streamOffset;
  }

  /** Adds arriving bytes to the search buffer (a copy: the caller's bytes are only valid during the call). */
  private appendSearch(chunk: Uint8Array): void {
    const s = this.search!;
    if (s.len + chunk.length > s.buf.length) {
      // Move the live bytes to the front of a buffer with room: amortised, each byte is copied a bounded number of times.
      const live = s.len - s.head;
      const size = Math.max(2 * (live + chunk.length), 4096);
      const next = new Uint8Array(size);
      next.set(s.buf.subarray(s.head, s.len), 0);
      s.waiting = s.waiting.map((i) => i - s.head);
      s.starts = s.starts.filter((i) => i >= s.head).map((i) => i - s.head);
      s.scanned -= s.head;
      s.buf = next;
      s.len = live;
      s.head = 0;
    }
    s.buf.set(chunk, s.len);
    s.starts.push(s.len);
    s.len += chunk.length;
    s.decodeBudget += DECODE_BUDGET_PER_BYTE * chunk.length;
    this.setPendingLength(s.len - s.head);
  }

  /**
   * Looks for a chain of candidates (chainAt) in the search buffer: the earliest confirmed one synchronises the stream
   * and the bytes before it are reported as skipped. Nothing is decoded before that, so bytes of a payload that look
   * like packets can become packets only by passing everything a chain must. Positions that can no longer start a
   * packet are let go; undecided candidates are re-judged as bytes arrive, one window past the earliest at most.
   * `final`: no more bytes will follow these (a gap or the end of the stream).
   */
  private resync(frame: number, timeSec: number, timeNsec: number, final: boolean): void {
    const s = this.search!;
    const maxSize = this.knows !== null && this.dir !== null ? this.knows.maxPacketSize[this.dir] : 0;
    const ctx: SearchContext = {
      dir: this.dir,
      dirMask: this.dir === 'c2s' ? 1 : this.dir === 's2c' ? 2 : 3,
      knows: this.knows,
      maxTotal: Math.min(this.maxPacket, RESYNC_HOLD_LIMIT, maxSize > 0 ? maxSize : Infinity),
      decoder: candidateDecoder,
      search: s,
    };
    const buf = s.buf;
    const end = s.len;
    const still: number[] = [];
    const starts = s.starts;
    for (const i of s.waiting) {
      const c = chainAt(buf, i, end, final, starts.includes(i), ctx);
      if (c === Chain.Confirmed) return this.synchronise(i, frame, timeSec, timeNsec);
      if (c === Chain.Wait) still.push(i);
    }
    s.waiting = still;
    let i = s.scanned;
    const limit = final ? end : Math.min(end, (still[0] ?? i) + RESYNC_WINDOW);
    let k = 0;
    for (; i < limit && s.waiting.length < MAX_WAITING; i++) {
      while (k < starts.length && starts[k]! < i) k++;
      const c = chainAt(buf, i, end, final, starts[k] === i, ctx);
      if (c === Chain.Confirmed) return this.synchronise(i, frame, timeSec, timeNsec);
      if (c === Chain.Wait) s.waiting.push(i);
    }
    s.scanned = i;
    const firstLive = s.waiting[0] ?? s.scanned;
    if (firstLive > s.head) this.giveUp(firstLive - s.head);
    if (s.searched > this.resyncLimit) {
      const unreported = s.skippedRun + (s.len - s.head);
      this.sink.event({ event: 'not-mqtt', frame, message: `no MQTT packet start found in ${s.searched} bytes; not decoding the rest of this direction`, bytes: s.searched, skipped: unreported });
      this.leaveSearch();
      this.mode = Mode.Dead;
    }
  }

  /** The first `n` live bytes of the search buffer start no packet: let them go, counted for the next report. */
  private giveUp(n: number): void {
    const s = this.search!;
    if (s.skippedRun === 0) s.skippedFrom = this.pendingStart;
    s.skippedRun += n;
    s.searched += n;
    s.head += n;
    this.pendingStart += n;
    this.setPendingLength(s.len - s.head);
  }

  /** Ends the search on what it holds (a gap follows, or the stream ends): what finds no packet is reported skipped. */
  private finishSearch(frame: number, where: string): void {
    this.resync(frame, this.lastSec, this.lastNsec, true);
    const s = this.search;
    if (this.mode !== Mode.Resync || s === null) return;
    this.giveUp(s.len - s.head);
    if (s.skippedRun > 0) {
      const n = s.skippedRun;
      this.sink.event({ event: 'resync', frame, message: `${n} byte${n === 1 ? '' : 's'} at stream offset ${s.skippedFrom} skipped ${where}: no packet start found`, bytes: n, skipped: n });
    }
    s.skippedRun = 0;
    s.buf = new Uint8Array(0);
    s.head = 0;
    s.len = 0;
    s.scanned = 0;
    s.waiting = [];
    s.starts = [];
  }

  /** A chain was confirmed at buffer index `at`: report what was skipped and frame the rest in sync. */
  private synchronise(at: number, frame: number, timeSec: number, timeNsec: number): void {
    const s = this.search!;
    if (at > s.head) this.giveUp(at - s.head);
    if (s.skippedRun > 0) {
      const n = s.skippedRun;
      this.sink.event({ event: 'resync', frame, message: `skipped ${n} byte${n === 1 ? '' : 's'} at stream offset ${s.skippedFrom} to the next packet start`, bytes: n, skipped: n });
    }
    const rest = s.buf.subarray(s.head, s.len);
    // Re-feed from the packet start: offsets rewind to where its bytes were (attributed to the current frame).
    this.streamOffset = this.pendingStart;
    this.leaveSearch();
    this.mode = Mode.Sync;
    this.push(rest, frame, timeSec, timeNsec);
  }

  private leaveSearch(): void {
    this.search = null;
    this.setPendingLength(0);
  }

  private reportDamaged(): void {
    if (this.damaged === null) return;
    this.sink.event(this.damaged);
    this.damaged = null;
  }

  /** A stream that starts with HTTP is reported once and not framed at all (returns true then). */
  private http(data: Uint8Array, off: number, frame: number): boolean {
    const what = httpStart(data, off);
    if (what === null) return false;
    this.sink.event({ event: 'http', frame, message: `the stream starts with ${what}; not decoding this direction as MQTT` });
    this.mode = Mode.Dead;
    this.streamOffset += data.length - off;
    return true;
  }

  private lostSync(frame: number, why: string, kind: FramerEventKind = 'resync', malformed?: 'rl-too-long'): void {
    // Bytes of the broken packet already held are skipped with it; the bytes after them are searched.
    const held = this.pendingLength;
    const message = `lost packet boundaries: ${why}; searching for the next packet start`;
    const ev: FramerEvent = { event: kind, frame, message };
    if (held > 0) {
      ev.bytes = held;
      ev.skipped = held;
    }
    if (malformed) ev.malformed = malformed;
    this.sink.event(ev);
    this.dropPending();
    this.enterResync();
  }

  private oversize(total: number, frame: number, overBudget = false): void {
    const at = this.pendingLength > 0 ? this.pendingStart : this.streamOffset;
    const why = overBudget
      ? `would take the packets in progress of all connections past ${this.budget!.limit} bytes (they hold ${this.budget!.held})`
      : `is larger than the ${this.maxPacket}-byte buffer limit`;
    this.sink.event({ event: 'oversize', frame, message: `packet of ${total} bytes at stream offset ${at} ${why}; skipped`, bytes: total });
  }

  /** Sets the bytes held in `pending`, keeping the shared budget's count in step. */
  private setPendingLength(n: number): void {
    if (this.budget !== null) this.budget.held += n - this.pendingLength;
    this.pendingLength = n;
  }

  private appendPending(chunk: Uint8Array, frame: number): void {
    if (chunk.length === 0) return;
    if (this.pendingLength === 0) this.pendingStart = this.streamOffset;
    // Copy: the caller's bytes are only valid during the call.
    this.pending.push(chunk.slice());
    this.setPendingLength(this.pendingLength + chunk.length);
    if (this.pendingFrames[this.pendingFrames.length - 1] !== frame) this.pendingFrames.push(frame);
  }

  private dropPending(): void {
    this.pending = [];
    this.setPendingLength(0);
    this.pendingFrames = [];
    this.expected = 0;
  }
}

function typeLabel(type: number): string {
  return `a ${PACKET_TYPES[type]?.name ?? 'packet'}`;
}


function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
