/**
 * Cuts one direction's reassembled byte stream into MQTT packets.
 *
 * The stream arrives in arbitrary chunks (TCP segments): a packet may span many chunks and one chunk may hold many
 * packets, and the Remaining Length itself may be split. Bytes are kept only as they arrive, never allocated because a
 * length field claims them. After a gap the framer knows where the next packet starts if the gap fell inside a packet
 * whose header it had read; otherwise it resynchronises on the next plausible packet start.
 */
import { httpStart } from './http-sniff.js';
import type { HeldBytes } from '../tcp/types.js';
import { PACKET_TYPES, PUBLISH } from './tables.js';
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
}

export type FramerEventKind = 'not-mqtt' | 'resync' | 'incomplete' | 'damaged' | 'oversize' | 'http';

export interface FramerEvent {
  event: FramerEventKind;
  frame: number;
  message: string;
  /** Bytes skipped or left over, when the event is about bytes. */
  bytes?: number;
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
/** Bytes a resync candidate may need to see before it is trusted without confirmation. */
const RESYNC_WINDOW = 64 * 1024;

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

/** What a packet of each type looks like in any version, for resynchronisation: derived from the packet-type table. */
interface ResyncShape {
  /** Required low nibble of byte 0 (3.1.1/5.0), or null for PUBLISH, whose bits carry DUP/QoS/RETAIN. */
  flags: number | null;
  /** Smallest Remaining Length in any version. */
  minRemaining: number;
  /** Remaining Length every version fixes to the same value, if they do. */
  exactRemaining: number | undefined;
}

const RESYNC_SHAPES: readonly (ResyncShape | null)[] = PACKET_TYPES.map((t) => {
  if (t.levels.length === 0) return null;
  const newest = t.levels[t.levels.length - 1]!;
  const fixed = t.levels.map((l) => t.fixedRemaining[l]);
  return {
    flags: t.flags[newest] ?? null,
    minRemaining: Math.min(...t.levels.map((l) => t.minRemaining[l] ?? 0)),
    exactRemaining: fixed.every((f) => f !== undefined && f === fixed[0]) ? fixed[0] : undefined,
  };
});

/** A known packet type with the fixed-header flags it requires (PUBLISH: any but QoS 3). */
function headerByteFits(b0: number): boolean {
  const shape = RESYNC_SHAPES[b0 >> 4];
  if (!shape) return false;
  return shape.flags === null ? (b0 & 0x06) !== 0x06 : (b0 & 0x0f) === shape.flags;
}

/**
 * How plausible a packet start at `at` is, for resynchronisation only (in sync, anything with a valid header is framed
 * and the decoder reports what is wrong with it). Strict: exact reserved flags, minimal Remaining Length, sizes.
 */
function plausibleStart(buf: Uint8Array, at: number, end: number): 'yes' | 'no' | 'more' {
  const b0 = buf[at]!;
  const type = b0 >> 4;
  const flags = b0 & 0x0f;
  if (!headerByteFits(b0)) return 'no';
  const shape = RESYNC_SHAPES[type]!;
  const h = readFixedHeader(buf, at, end);
  if (h === null) return 'more';
  if (h === 'bad') return 'no';
  // A non-minimal length is legal in 3.1.1 but no real sender emits one: refusing it avoids many false starts.
  if (h.headerLength > 2 && buf[at + h.headerLength - 1] === 0) return 'no';
  const rl = h.remainingLength;
  if (rl < shape.minRemaining || (shape.exactRemaining !== undefined && rl !== shape.exactRemaining)) return 'no';
  if (type === PUBLISH) {
    // The topic must fit and be printable: random bytes rarely pass.
    const qos = (flags >> 1) & 3;
    const t = at + h.headerLength;
    if (t + 2 > end) return 'more';
    const topicLen = (buf[t]! << 8) | buf[t + 1]!;
    if (topicLen + 2 + (qos > 0 ? 2 : 0) > rl) return 'no';
    const topicEnd = Math.min(end, t + 2 + topicLen);
    for (let i = t + 2; i < topicEnd; i++) {
      const c = buf[i]!;
      if (c < 0x20 || c === 0x7f) return 'no';
    }
  }
  const packetEnd = at + h.headerLength + rl;
  if (packetEnd > end) return rl > RESYNC_WINDOW ? 'yes' : 'more';
  if (packetEnd === end) return 'yes';
  // Confirm with the next header: a random byte pair rarely chains into a second valid packet.
  const next = plausibleStart(buf, packetEnd, end);
  return next === 'no' ? 'no' : next === 'more' ? 'more' : 'yes';
}

export class MqttFramer {
  private mode: Mode;
  private readonly sink: FramerSink;
  private readonly maxPacket: number;
  private readonly resyncLimit: number;
  private readonly budget: PendingBudget | null;

  /** Bytes of the packet in progress (Sync) or of the search window (Resync), as copies. */
  private pending: Uint8Array[] = [];
  private pendingLength = 0;
  private pendingFrames: number[] = [];
  /** Total size of the packet in progress once its header is known, else 0. */
  private expected = 0;
  /** Stream offset of the first pending byte. */
  private pendingStart = 0;
  /** Stream offset of the next byte to arrive. */
  private streamOffset = 0;
  private skipRemaining = 0;
  private resyncSearched = 0;
  private lastFrame = 0;

  constructor(sink: FramerSink, opts: FramerOptions) {
    this.sink = sink;
    this.mode = opts.startUnsynced ? Mode.Resync : Mode.Sync;
    this.maxPacket = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET;
    this.resyncLimit = opts.resyncLimitBytes ?? DEFAULT_RESYNC_LIMIT;
    this.budget = opts.budget ?? null;
  }

  /** True once the framer gave up on the stream. */
  get dead(): boolean {
    return this.mode === Mode.Dead;
  }

  push(data: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    this.lastFrame = frame;
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
          if (this.skipRemaining === 0) this.mode = Mode.Sync;
          break;
        }
        case Mode.Resync:
          this.appendPending(data.subarray(off), frame);
          this.streamOffset += len - off;
          off = len;
          this.resync(frame, timeSec, timeNsec);
          break;
        case Mode.Sync:
          off = this.pendingLength === 0
            ? this.frameDirect(data, off, frame, timeSec, timeNsec)
            : this.continuePending(data, off, frame, timeSec, timeNsec);
          break;
      }
    }
  }

  /** `bytes` of the stream were lost before the next push (a TCP gap or snaplen truncation). */
  gap(bytes: number, frame: number): void {
    this.lastFrame = frame;
    if (bytes <= 0) return;
    this.streamOffset += bytes;
    switch (this.mode) {
      case Mode.Dead:
        return;
      case Mode.Skip:
        if (bytes < this.skipRemaining) {
          this.skipRemaining -= bytes;
        } else {
          // The gap ran past the packet we were skipping: where the next one starts is unknown.
          this.skipRemaining = 0;
          this.mode = Mode.Resync;
        }
        return;
      case Mode.Resync:
        // Bytes before a gap cannot chain into bytes after it.
        this.dropPending();
        return;
      case Mode.Sync: {
        if (this.pendingLength === 0) {
          this.mode = Mode.Resync;
          return;
        }
        if (this.expected > 0) {
          const missingInPacket = this.expected - this.pendingLength;
          const type = this.pending[0]![0]! >> 4;
          this.sink.event({
            event: 'damaged',
            frame,
            message: `${typeLabel(type)} of ${this.expected} bytes at stream offset ${this.pendingStart} lost ${Math.min(bytes, missingInPacket)} byte${Math.min(bytes, missingInPacket) === 1 ? '' : 's'} in a gap; not decoded`,
            bytes: Math.min(bytes, missingInPacket),
          });
          this.dropPending();
          if (bytes < missingInPacket) {
            this.skipRemaining = missingInPacket - bytes;
            this.mode = Mode.Skip;
          } else if (bytes > missingInPacket) {
            this.mode = Mode.Resync;
          }
          return;
        }
        // Gap inside a fixed header: the packet's size is unknown.
        this.dropPending();
        this.mode = Mode.Resync;
        return;
      }
    }
  }

  /** End of stream: report bytes that never completed a packet. */
  end(frame?: number): void {
    const at = frame ?? this.lastFrame;
    if (this.pendingLength > 0) {
      if (this.mode === Mode.Sync) {
        const first = this.pending[0]!;
        const type = first[0]! >> 4;
        const detail = this.expected > 0
          ? `${typeLabel(type)} declares ${this.expected} bytes, ${this.pendingLength} present`
          : `a fixed header was cut short (${this.pendingLength} byte${this.pendingLength === 1 ? '' : 's'})`;
        this.sink.event({ event: 'incomplete', frame: at, message: `${this.pendingLength} byte${this.pendingLength === 1 ? '' : 's'} at the end of the stream ${this.pendingLength === 1 ? 'does' : 'do'} not complete a packet: ${detail}`, bytes: this.pendingLength });
      } else if (this.mode === Mode.Resync) {
        const skipped = this.pendingLength + this.resyncSearched;
        this.sink.event({ event: 'resync', frame: at, message: `${skipped} byte${skipped === 1 ? '' : 's'} at the end of the stream skipped: no packet start found`, bytes: skipped });
      }
    } else if (this.mode === Mode.Resync && this.resyncSearched > 0) {
      // Searched bytes are not kept, but they must not vanish without a word.
      this.sink.event({ event: 'resync', frame: at, message: `${this.resyncSearched} byte${this.resyncSearched === 1 ? '' : 's'} at the end of the stream skipped: no packet start found`, bytes: this.resyncSearched });
    } else if (this.mode === Mode.Skip && this.skipRemaining > 0) {
      this.sink.event({ event: 'incomplete', frame: at, message: `stream ended ${this.skipRemaining} byte${this.skipRemaining === 1 ? '' : 's'} before the end of a skipped packet`, bytes: this.skipRemaining });
    }
    this.dropPending();
    this.resyncSearched = 0;
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

  private resync(frame: number, timeSec: number, timeNsec: number): void {
    const buf = concat(this.pending, this.pendingLength);
    const bufStart = this.pendingStart;
    for (let i = 0; i < buf.length; i++) {
      const verdict = plausibleStart(buf, i, buf.length);
      if (verdict === 'no') continue;
      if (verdict === 'more' && buf.length - i < RESYNC_WINDOW) {
        this.keepPending(buf.subarray(i), this.pendingFrames, bufStart + i, i, frame);
        return;
      }
      if (i > 0) {
        this.sink.event({ event: 'resync', frame, message: `skipped ${i} byte${i === 1 ? '' : 's'} at stream offset ${bufStart} to the next plausible packet start`, bytes: i });
      }
      this.resyncSearched = 0;
      this.dropPending();
      this.mode = Mode.Sync;
      const rest = buf.subarray(i);
      // Re-feed from the candidate start: offsets rewind to where its bytes were.
      this.streamOffset = bufStart + i;
      // Re-feed from the candidate start through the synced path (attributed to the current frame).
      this.push(rest, frame, timeSec, timeNsec);
      return;
    }
    this.keepPending(new Uint8Array(0), [], bufStart + buf.length, buf.length, frame);
  }

  private keepPending(rest: Uint8Array, frames: number[], restStart: number, skipped: number, frame: number): void {
    this.resyncSearched += skipped;
    this.pending = rest.length > 0 ? [rest] : [];
    this.setPendingLength(rest.length);
    this.pendingFrames = rest.length > 0 ? frames : [];
    this.pendingStart = restStart;
    if (this.resyncSearched > this.resyncLimit) {
      this.sink.event({ event: 'not-mqtt', frame, message: `no MQTT packet start found in ${this.resyncSearched} bytes; not decoding the rest of this direction`, bytes: this.resyncSearched });
      this.mode = Mode.Dead;
      this.dropPending();
    }
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
    const message = `lost packet boundaries: ${why}; searching for the next packet start`;
    this.sink.event(malformed ? { event: kind, frame, message, malformed } : { event: kind, frame, message });
    this.mode = Mode.Resync;
    this.dropPending();
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
