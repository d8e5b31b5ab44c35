/**
 * MQTT over WebSocket (RFC 6455; MQTT 3.1.1 and 5.0 section 6): a stream layer. Per connection it reads the opening
 * handshake (the client's HTTP Upgrade request, the server's 101 response), then cuts each direction into frames,
 * unmasks client payloads and passes the payload bytes of data frames on as the MQTT byte stream, so an MQTT packet may
 * span frames and a frame may hold several packets (MQTT-6.0.0-2). Control frames (ping, pong, close) are reported as
 * events, also between the frames of a fragmented message.
 *
 * Nothing is allocated because a length field says so: a frame's payload streams through (a 64-bit length only sets
 * how many bytes are passed on), a handshake head is held up to MAX_HEAD_BYTES (counted in the capture's HeldBytes),
 * a frame header in a 14-byte buffer and a control payload in a 125-byte one.
 */
import { createHash } from 'node:crypto';
import type { Connection, ConnectionEnd, Direction, HeldBytes, StreamEvent, StreamSink, TransportFinding, TransportFindingCode } from '../tcp/types.js';
import { headEnd, HTTP_FIRST_BYTE, MAX_HEAD_BYTES, parseHead, tokens, type HttpHead } from './http.js';
import { DEFAULT_DEFLATE, MessageInflater, negotiatedDeflate, type DeflateParams } from './permessage-deflate.js';
import { UNKNOWN_LOSS_BYTES } from './tls/layer.js';
import {
  closeCode, MAX_COMPRESSED_MESSAGE_BYTES, MIDFRAME_FRAMES, MIDFRAME_TEXT_BYTES, MIDSTREAM_FRAMES, MAX_CONTROL_PAYLOAD, MAX_INFLATED_CONNECTION_BYTES, MAX_INFLATED_MESSAGE_BYTES,
  MQTT31_SUBPROTOCOL, MQTT_SUBPROTOCOL, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_TEXT, OPCODES, WEBSOCKET_GUID,
} from './websocket-tables.js';

/** One data frame whose payload went into the MQTT stream: what the annotated hex shows of it. */
export interface WsFrameNote {
  /** The capture frame in which the header's last byte arrived. */
  frame: number;
  /** The frame header as sent: 2 to 14 bytes (FIN/RSV/opcode, mask bit and length, extended length, masking key). */
  header: Uint8Array;
  /** The payload length the header declares. */
  payloadLength: number;
  /** Offset of the payload's first byte in the MQTT stream of its direction (gap bytes counted, as the MQTT framer counts). */
  streamOffset: number;
  /**
   * The frame belongs to a message compressed with permessage-deflate: its payload is deflate data, and the whole
   * message inflated to this many MQTT stream bytes from `streamOffset` on (inflated bytes have no place on the wire).
   */
  inflated?: number;
}

/** Most frames remembered per direction for the annotated hex: a packet spread over more shows the latest of them. */
export const FRAME_NOTES_KEPT = 64;

/** Where the layer puts its frame notes: a store the renderer reads (WsFrameNotes), or a hand-over to another thread. */
export interface WsFrameSink {
  add(conn: number, dir: Direction, note: WsFrameNote): void;
  /** The connection closed (after its close went downstream): its notes are no longer needed. */
  drop(conn: number): void;
}

/**
 * The frame headers behind each direction's MQTT stream, kept only for the annotated hex (-x): the renderer asks which
 * frames carried a packet's bytes. Bounded per direction; a connection's notes go when it closes.
 */
export class WsFrameNotes implements WsFrameSink {
  private readonly byConn = new Map<number, { c2s: WsFrameNote[]; s2c: WsFrameNote[] }>();

  add(conn: number, dir: Direction, note: WsFrameNote): void {
    let e = this.byConn.get(conn);
    if (e === undefined) {
      e = { c2s: [], s2c: [] };
      this.byConn.set(conn, e);
    }
    const list = e[dir];
    if (list.length === FRAME_NOTES_KEPT) list.shift();
    list.push(note);
  }

  /** Frames whose payload overlaps MQTT stream bytes [from, from + length) of the direction, in stream order. */
  covering(conn: number, dir: Direction, from: number, length: number): WsFrameNote[] {
    const list = this.byConn.get(conn)?.[dir];
    if (list === undefined) return [];
    const to = from + length;
    return list.filter((n) => n.streamOffset < to && n.streamOffset + (n.inflated ?? n.payloadLength) > from);
  }

  drop(conn: number): void {
    this.byConn.delete(conn);
  }
}

export interface WebSocketOptions {
  /** The capture's shared count of held bytes: handshake heads count in it. */
  held: HeldBytes;
  /** Kept when the annotated hex is shown. */
  notes?: WsFrameSink | null;
  /** The inflating caps (websocket-tables.ts), lower in tests. */
  caps?: Partial<InflateCaps>;
}

/** Bounds on permessage-deflate: one message's compressed bytes held, its inflated bytes, one connection's inflated bytes. */
export interface InflateCaps {
  compressedMessage: number;
  inflatedMessage: number;
  inflatedConnection: number;
}

const enum Phase {
  /** Collecting the HTTP head (request c2s, response s2c). */
  Handshake,
  Frames,
  /**
   * A gap took a frame header: looking for the next header that fits the direction and whose frame ends where another
   * plausible header starts, or exactly at the end of the bytes in hand (resyncAt()).
   */
  Resync,
  /** Not decoded any more (a reason was reported). */
  Stopped,
}

/** What the handshake said, for the event and the checks. */
interface Handshake {
  request: HttpHead | null;
  response: HttpHead | null;
  /**
   * RSV1 marks a compressed message (permessage-deflate): the server accepted the extension, or the capture started
   * after the handshake, when whether it did is unknown.
   */
  deflate: boolean;
  /** The handshake was not in the capture: the frames were recognised without it. */
  midStream: boolean;
  /** The request frame, for the event when no response comes. */
  requestFrame: number;
}

class WsDir {
  phase = Phase.Handshake;
  /** Handshake head bytes held (copies). */
  head: Uint8Array[] = [];
  headLength = 0;
  /** The frame header being read. */
  readonly hdr = new Uint8Array(14);
  hdrLength = 0;
  /** Header bytes needed (2 until the second byte says more). */
  hdrNeed = 2;
  /** Inside a frame's payload: its bytes still to come (a double: 64-bit lengths are counted, never allocated). */
  remaining = 0;
  inPayload = false;
  payloadPos = 0;
  payloadLength = 0;
  opcode = 0;
  fin = false;
  masked = false;
  readonly key = new Uint8Array(4);
  /** The payload goes into the MQTT stream (a data frame). */
  forward = false;
  /** A control frame's payload, up to 125 bytes; `controlLost` when a gap took some of it. */
  readonly control = new Uint8Array(MAX_CONTROL_PAYLOAD);
  controlLength = 0;
  controlLost = false;
  /** Findings of the frame being read (reported with its control event, or at once for data frames). */
  /** Emptied (not replaced) per frame: reports copy what they keep. */
  readonly frameFindings: TransportFinding[] = [];
  /** A fragmented data message is in progress, and its opcode. */
  inMessage = false;
  messageOpcode = OP_BINARY;
  /** This side sent a close frame. */
  closed = false;
  /** Offset of the next MQTT byte of this direction (payload passed on plus gap bytes passed on). */
  mqttOffset = 0;
  /** Codes already reported for this direction: a defect repeated in every frame is reported once. */
  readonly reported = new Set<TransportFindingCode>();
  /** Bytes of this direction dropped after decoding stopped. */
  dropped = 0;
  /** Bytes skipped while looking for a frame header after a gap (Phase.Resync). */
  skipped = 0;
  /** The first data frame after a resynchronisation: whether a fragmented message was in progress is unknown. */
  afterResync = false;
  /** Looking for the first frame header of a direction whose handshake is not in the capture (Phase.Resync). */
  midStreamStart = false;
  /**
   * Bytes before the first frame header in a client stream that starts inside a frame (the router found the header:
   * firstFrameOffset); skipped, then frames from there.
   */
  startSkip = 0;
  /** permessage-deflate of this direction's sender (null: RSV1 marks nothing here). */
  inflater: MessageInflater | null = null;
  /** The data message in progress is compressed (RSV1 on its first frame): its payload is collected, then inflated. */
  compressedMessage = false;
  /** Its unmasked payload bytes so far (copies, counted in the capture's held bytes). */
  compressed: Uint8Array[] = [];
  compressedLength = 0;
  /** Why the compressed message in progress cannot be inflated (a gap took some of it, it passed the cap), or null. */
  compressedLost: { reason: 'gap' | 'compressed-cap'; message: string } | null = null;
  /** The frame notes of that message, noted once it is inflated and its stream bytes are known. */
  messageNotes: WsFrameNote[] = [];
  /** Compressed messages inflated, and lost, in this direction (for the end-of-stream count). */
  inflatedMessages = 0;
  /** Time of the latest bytes, for what a frame's end passes on (a gap can end a frame). */
  timeSec = 0;
  timeNsec = 0;
}

class WsConn {
  readonly c2s = new WsDir();
  readonly s2c = new WsDir();
  readonly hs: Handshake = { request: null, response: null, deflate: false, midStream: false, requestFrame: 0 };
  /** MQTT bytes inflated on this connection, both directions (MAX_INFLATED_CONNECTION_BYTES). */
  inflatedTotal = 0;
  constructor(readonly conn: Connection) {}
}

/** RFC 6455 section of each finding, for the messages (the catalogue has the same). */
const FINDING_SECTION: Readonly<Partial<Record<TransportFindingCode, string>>> = {
  'ws-client-unmasked': '5.1', 'ws-server-masked': '5.1', 'ws-reserved-bits': '5.2', 'ws-reserved-opcode': '5.2',
  'ws-length-msb': '5.2', 'ws-length-not-minimal': '5.2', 'ws-control-too-long': '5.5', 'ws-control-fragmented': '5.5',
  'ws-continuation-without-start': '5.4', 'ws-data-inside-fragmented': '5.4', 'ws-bad-close-code': '7.4',
  'ws-close-payload-1': '5.5.1', 'ws-data-after-close': '5.5.1', 'ws-accept-mismatch': '4.2.2', 'ws-bad-request': '4.1',
};

/** A sender's permessage-deflate parameters in words, for the handshake event. */
function deflateSummary(p: DeflateParams): string {
  return `${p.noContextTakeover ? 'no context takeover' : 'context takeover'}, ${p.windowBits}-bit window`;
}

/** What an Upgrade request lacks of the fields RFC 6455 section 4.1 requires (the Upgrade itself was sniffed). */
function requestDefects(req: HttpHead): string[] {
  const out: string[] = [];
  if (!tokens(req.headers.get('connection')).some((t) => t.toLowerCase() === 'upgrade')) out.push('has no "Connection: Upgrade"');
  const key = req.headers.get('sec-websocket-key');
  if (key === undefined) out.push('has no Sec-WebSocket-Key');
  else if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) out.push(`has a Sec-WebSocket-Key ${JSON.stringify(key)} that is not 16 bytes in base64`);
  const version = req.headers.get('sec-websocket-version');
  if (version !== '13') out.push(version === undefined ? 'has no Sec-WebSocket-Version' : `has Sec-WebSocket-Version ${JSON.stringify(version)}, not 13`);
  return out;
}

/** Headers a resynchronisation checks: the candidate and the one its frame ends at. */
const RESYNC_DEPTH = 2;

/**
 * The frame header at data[i], checked as a resynchronisation must (RFC 6455 5.2, 5.5): a defined opcode other than
 * text, RSV 0 unless permessage-deflate may set RSV1 (on a binary frame, the first of a message: RFC 7692 section 6),
 * the mask bit set exactly on client frames, control frames with FIN and at most 125 bytes, lengths in their shortest
 * form. Returns where its frame ends (which may be past `data`), 'no', or 'more' when the header is cut short.
 */
export function checkHeader(data: Uint8Array, i: number, client: boolean, deflate: boolean): number | 'no' | 'more' {
  const n = data.length;
  if (n - i < 2) return 'more';
  const b0 = data[i]!;
  const b1 = data[i + 1]!;
  const op = b0 & 0x0f;
  const info = OPCODES[op]!;
  if (!info.defined || op === OP_TEXT) return 'no';
  const rsv = (b0 >> 4) & 7;
  if (rsv !== 0 && !(rsv === 4 && deflate && op === OP_BINARY)) return 'no';
  if (((b1 & 0x80) !== 0) !== client) return 'no';
  const len7 = b1 & 0x7f;
  const fin = (b0 & 0x80) !== 0;
  if (info.control && (!fin || len7 > MAX_CONTROL_PAYLOAD)) return 'no';
  let at = i + 2;
  let length = len7;
  if (len7 === 126) {
    if (n - at < 2) return 'more';
    length = (data[at]! << 8) | data[at + 1]!;
    if (length < 126) return 'no';
    at += 2;
  } else if (len7 === 127) {
    if (n - at < 8) return 'more';
    const hi = ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
    const lo = ((data[at + 4]! << 24) | (data[at + 5]! << 16) | (data[at + 6]! << 8) | data[at + 7]!) >>> 0;
    if (hi >= 0x80000000) return 'no';
    length = hi * 0x100000000 + lo;
    if (length <= 0xffff) return 'no';
    at += 8;
  }
  if (client) at += 4;
  if (at > n) return 'more';
  return at + length;
}

/**
 * Is there a frame header at data[i] that a resynchronisation may trust? Returns where its frame ends (> 0), or 0. It
 * must pass checkHeader() and its frame must end exactly at the end of `data` or where the next `depth` - 1 headers
 * check out the same way; a frame that ends past `data` cannot be checked here and is not trusted.
 */
export function resyncAt(data: Uint8Array, i: number, client: boolean, deflate: boolean, depth: number): number {
  const end = checkHeader(data, i, client, deflate);
  if (typeof end !== 'number') return 0;
  // The header that confirms another: it fits, wherever its own frame ends.
  if (depth <= 1) return end;
  const n = data.length;
  if (end > n) return 0;
  if (end === n) return end;
  return resyncAt(data, end, client, deflate, depth - 1) > 0 ? end : 0;
}

/**
 * Do `need` client frame headers check out in a row from data[at], each where the previous frame ends? 'more' while
 * the chain runs past the bytes in hand. With `freshKeys`, each frame's masking key must differ from the one before
 * it: a client picks a fresh unpredictable key per frame (RFC 6455 5.3), while repeated bytes (a stream of empty
 * MQTT packets, "80 00 80 00 ...") chain up as masked empty frames with one key.
 */
function headerChain(data: Uint8Array, at: number, need: number, freshKeys: boolean): 'yes' | 'no' | 'more' {
  const n = data.length;
  let lastKey = -1;
  for (let k = 1; ; k++) {
    const end = checkHeader(data, at, true, true);
    if (end === 'no') return 'no';
    if (end === 'more') return 'more';
    if (freshKeys) {
      const len7 = data[at + 1]! & 0x7f;
      const keyAt = at + 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
      const key = ((data[keyAt]! << 24) | (data[keyAt + 1]! << 16) | (data[keyAt + 2]! << 8) | data[keyAt + 3]!) >>> 0;
      if (key === lastKey) return 'no';
      lastKey = key;
    }
    if (k === need) return 'yes';
    if (end >= n) return 'more';
    at = end;
  }
}

/**
 * Where the first client frame header of a stream that starts inside a frame (its header was before the capture) is
 * in its first `n` bytes: the first offset from 1 on where MIDFRAME_FRAMES headers check out in a row, each with a
 * masking key other than the one before it; -1 when none
 * does; 'more' when none does yet but one may with more bytes (fewer than MAX_HEAD_BYTES in hand, and not text).
 */
export function frameStartInside(b: Uint8Array, n: number): number | 'more' {
  const data = b.subarray(0, n);
  let text = n >= MIDFRAME_TEXT_BYTES;
  for (let i = 0; text && i < MIDFRAME_TEXT_BYTES; i++) if (data[i]! >= 0x80) text = false;
  if (text) return -1;
  // A header's second byte has the mask bit: only offsets before such a byte can start one.
  for (let i = 1; i + 1 < n; i++) {
    if (data[i + 1]! < 0x80) continue;
    if (headerChain(data, i, MIDFRAME_FRAMES, true) === 'yes') return i;
  }
  return n >= MAX_HEAD_BYTES ? -1 : 'more';
}

/**
 * A capture that starts after the handshake: is the client's stream WebSocket frames? From its first `n` bytes: yes
 * when MIDSTREAM_FRAMES client frame headers check out in a row from the first byte, each where the previous frame
 * ends, or MIDFRAME_FRAMES from a later offset (the stream starts inside a frame: frameStartInside). 'no' when neither
 * can, or when the bytes a sniff sees (MAX_HEAD_BYTES) are in and no chain checked out: a stream is taken for
 * WebSocket only on headers checked, never on one header's word. RSV1 is allowed on binary frames (whether
 * permessage-deflate was negotiated is unknown). Plain MQTT that starts at a packet boundary hardly passes: of the
 * first bytes of valid packets only SUBSCRIBE's 0x82 is allowed here (with a Remaining Length of 128 or more, for the
 * mask bit), and its frame would end inside the packet, among topic filter bytes, which would have to be two more
 * headers with the mask bit (bytes of 0x80 and more: no ASCII).
 */
export function midStreamFrames(b: Uint8Array, n: number, insideFrames = true): 'yes' | 'no' | 'more' {
  const fromStart = headerChain(b.subarray(0, n), 0, MIDSTREAM_FRAMES, false);
  if (fromStart === 'yes') return 'yes';
  if (fromStart === 'more') return n < MAX_HEAD_BYTES ? 'more' : insideFrames ? frameVerdict(b, n) : 'no';
  return insideFrames ? frameVerdict(b, n) : 'no';
}

function frameVerdict(b: Uint8Array, n: number): 'yes' | 'no' | 'more' {
  const inside = frameStartInside(b, n);
  return inside === 'more' ? 'more' : inside > 0 ? 'yes' : 'no';
}

/** Where the client's first frame header is in the first `n` bytes midStreamFrames() said yes to. */
export function firstFrameOffset(b: Uint8Array, n: number): number {
  if (headerChain(b.subarray(0, n), 0, MIDSTREAM_FRAMES, false) === 'yes') return 0;
  const inside = frameStartInside(b, n);
  return typeof inside === 'number' && inside > 0 ? inside : 0;
}

function concatBytes(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class WebSocketLayer implements StreamSink {
  private readonly conns = new Map<number, WsConn>();
  private readonly held: HeldBytes;
  private readonly notes: WsFrameSink | null;
  /** Unmasked payload bytes, reused: what is passed on is valid only during the call. */
  private scratch = new Uint8Array(4096);
  private readonly caps: InflateCaps;

  constructor(private readonly next: StreamSink, opts: WebSocketOptions) {
    this.held = opts.held;
    this.notes = opts.notes ?? null;
    this.caps = {
      compressedMessage: MAX_COMPRESSED_MESSAGE_BYTES, inflatedMessage: MAX_INFLATED_MESSAGE_BYTES, inflatedConnection: MAX_INFLATED_CONNECTION_BYTES,
      ...opts.caps,
    };
  }

  open(conn: Connection): void {
    this.conns.set(conn.id, new WsConn(conn));
    conn.transport = [...(conn.transport ?? []), 'websocket'];
    this.next.open(conn);
  }

  data(conn: Connection, dir: Direction, data: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    const st = this.conns.get(conn.id);
    if (st === undefined) return;
    const d = dir === 'c2s' ? st.c2s : st.s2c;
    let off = 0;
    while (off < data.length) {
      switch (d.phase) {
        case Phase.Stopped:
          d.dropped += data.length - off;
          return;
        case Phase.Handshake:
          // No HTTP message starts with a byte a frame header may start with (HTTP_FIRST_BYTE): frames where the
          // handshake was due mean the capture started after it (the router took the stream for WebSocket on
          // checked frame headers: midStreamFrames()).
          if (d.headLength === 0 && st.hs.request === null && st.c2s.headLength === 0 && (d.startSkip > 0 || HTTP_FIRST_BYTE[data[off]!] === 0)) {
            this.beginMidStream(st, frame);
            if (d.startSkip === 0 && typeof checkHeader(data.subarray(off), 0, dir === 'c2s', true) === 'number') {
              d.phase = Phase.Frames;
              d.afterResync = true;
              d.midStreamStart = false;
            }
            break;
          }
          off = this.handshake(st, d, dir, data, off, frame);
          break;
        case Phase.Frames:
          off = this.frames(st, d, dir, data, off, frame, timeSec, timeNsec);
          break;
        case Phase.Resync:
          off = d.startSkip > 0 ? this.skipToFirstHeader(st, d, dir, data, off, frame) : this.resync(st, d, dir, data, off, frame);
          break;
      }
    }
  }

  gap(conn: Connection, dir: Direction, bytes: number, frame: number, cut?: { timeSec: number; timeNsec: number }): void {
    const st = this.conns.get(conn.id);
    if (st === undefined) return;
    const d = dir === 'c2s' ? st.c2s : st.s2c;
    if (d.phase === Phase.Stopped) return;
    if (d.phase === Phase.Resync) {
      // Still looking: the framer was told of an unknown loss already.
      d.skipped += bytes;
      return;
    }
    if (d.phase === Phase.Handshake) {
      this.stop(st, d, dir, frame, `${bytes} bytes of the ${dir === 'c2s' ? 'Upgrade request' : 'handshake response'} were not captured (a gap): this direction is not decoded`);
      return;
    }
    if (d.inPayload && bytes <= d.remaining) {
      // Inside a payload the frame's length says where the next header starts: the hole is passed on as it is, and
      // the masking key's phase moves on with it, so the bytes after it unmask right.
      if (d.forward && d.compressedMessage) {
        // Deflate data with a hole cannot be inflated: the message is lost, said when its last frame ends.
        if (d.compressedLost === null) {
          this.releaseCompressed(d);
          d.compressedLost = { reason: 'gap', message: `${bytes} bytes of its compressed payload were not captured (a gap)` };
        }
      } else if (d.forward) {
        this.next.gap(conn, dir, bytes, frame, cut);
        d.mqttOffset += bytes;
      } else {
        d.controlLost = true;
      }
      d.remaining -= bytes;
      d.payloadPos += bytes;
      if (d.remaining === 0) this.endFrame(st, d, dir, frame);
      return;
    }
    // The hole covers a frame header: where the frames continue is unknown. The MQTT framer is told of a loss of
    // unknown size (it resynchronises by content); the frames are looked for again, each candidate header checked
    // against the one after it (resyncAt), so payload bytes are not taken for frames on the word of one header.
    this.next.gap(conn, dir, UNKNOWN_LOSS_BYTES, frame, cut);
    d.mqttOffset += UNKNOWN_LOSS_BYTES;
    if (d.compressedMessage) this.dropCompressed(d);
    // A message may have been lost in the hole: with context takeover the sender's window is no longer known.
    d.inflater?.lose();
    d.phase = Phase.Resync;
    d.inPayload = false;
    d.hdrLength = 0;
    d.hdrNeed = 2;
    d.skipped = bytes;
    this.next.event({ event: 'websocket-lost', frame, conn: st.conn.id, dir, bytes, message: `${bytes} bytes missing (a gap) where a WebSocket frame header was due: frame boundaries are lost; looking for the next frame header (one that fits this direction and whose frame ends where another begins)` });
  }

  /**
   * A client stream that starts inside a frame whose header is not in the capture: the router found where the first
   * header is (`startInside`). The bytes before it are skipped (their frame's masking key and length are unknown), and
   * the frames go on from there.
   */
  startInside(conn: Connection, dir: Direction, bytes: number): void {
    const d = this.conns.get(conn.id)?.[dir];
    if (d !== undefined && d.phase === Phase.Handshake && d.headLength === 0 && bytes > 0) d.startSkip = bytes;
  }

  private skipToFirstHeader(st: WsConn, d: WsDir, dir: Direction, data: Uint8Array, off: number, frame: number): number {
    const take = Math.min(d.startSkip, data.length - off);
    d.startSkip -= take;
    d.skipped += take;
    off += take;
    if (d.startSkip > 0) return off;
    d.phase = Phase.Frames;
    d.inMessage = false;
    d.afterResync = true;
    d.midStreamStart = false;
    const where = off < data.length ? `a ${OPCODES[data[off]! & 0x0f]!.name} frame header in frame ${frame}` : `after frame ${frame}`;
    this.next.event({ event: 'resync', frame, conn: st.conn.id, dir, bytes: d.skipped, message: `the first WebSocket frame header of the ${dir === 'c2s' ? 'client' : 'server'} this capture has: ${where}, after ${d.skipped} bytes of a frame whose start is not in the capture (skipped; found by ${MIDFRAME_FRAMES} frame headers in a row)` });
    d.skipped = 0;
    return off;
  }

  /** Phase.Resync: skips to the first plausible frame header in data[off..] and goes on with the frames from there. */
  private resync(st: WsConn, d: WsDir, dir: Direction, data: Uint8Array, off: number, frame: number): number {
    const deflate = st.hs.deflate;
    for (let i = off; i < data.length; i++) {
      if (resyncAt(data, i, dir === 'c2s', deflate, RESYNC_DEPTH) <= 0) continue;
      d.skipped += i - off;
      d.phase = Phase.Frames;
      d.inMessage = false;
      d.afterResync = true;
      const name = OPCODES[data[i]! & 0x0f]!.name;
      if (!d.midStreamStart) {
        this.next.event({ event: 'resync', frame, conn: st.conn.id, dir, bytes: d.skipped, message: `WebSocket frame boundaries found again: a ${name} frame header in frame ${frame}, ${d.skipped} bytes after the last known boundary (lost and skipped)` });
      } else if (d.skipped > 0) {
        this.next.event({ event: 'resync', frame, conn: st.conn.id, dir, bytes: d.skipped, message: `the first WebSocket frame header of the ${dir === 'c2s' ? 'client' : 'server'} this capture has: a ${name} frame header in frame ${frame}, after ${d.skipped} bytes of a frame whose start is not in the capture (skipped)` });
      }
      d.midStreamStart = false;
      d.skipped = 0;
      return i;
    }
    d.skipped += data.length - off;
    return data.length;
  }

  close(conn: Connection, end: ConnectionEnd): void {
    const st = this.conns.get(conn.id);
    if (st !== undefined) {
      this.endDir(st, st.c2s, 'c2s', end.frame);
      this.endDir(st, st.s2c, 's2c', end.frame);
      this.conns.delete(conn.id);
    }
    this.next.close(conn, end);
    this.notes?.drop(conn.id);
  }

  event(ev: StreamEvent): void {
    this.next.event(ev);
  }

  // ---- handshake ---------------------------------------------------------------------------------

  /** Collects an HTTP head; returns where the frames start in `data` (or data.length while the head goes on). */
  private handshake(st: WsConn, d: WsDir, dir: Direction, data: Uint8Array, off: number, frame: number): number {
    const room = MAX_HEAD_BYTES - d.headLength;
    const take = Math.min(room, data.length - off);
    if (this.held.held + take > this.held.limit) {
      this.stop(st, d, dir, frame, `the handshake head would take the bytes held for packets in progress past ${this.held.limit} bytes: not decoded`);
      return data.length;
    }
    // Search only where the end can be: the last 3 bytes held plus the new ones.
    const before = d.headLength;
    this.holdHead(d, data.subarray(off, off + take));
    const joined = this.joinedHead(d);
    const endAt = headEnd(joined, joined.length);
    if (endAt < 0) {
      if (d.headLength >= MAX_HEAD_BYTES) {
        this.stop(st, d, dir, frame, `no end of the ${dir === 'c2s' ? 'Upgrade request' : 'handshake response'} head in its first ${MAX_HEAD_BYTES} bytes: not decoded`);
        return data.length;
      }
      return off + take;
    }
    const head = parseHead(joined.subarray(0, endAt));
    this.releaseHead(d);
    d.phase = Phase.Frames;
    if (dir === 'c2s') {
      st.hs.request = head;
      st.hs.requestFrame = frame;
    } else {
      st.hs.response = head;
      this.handshakeDone(st, frame);
    }
    return off + (endAt - before);
  }

  private holdHead(d: WsDir, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    d.head.push(bytes.slice());
    d.headLength += bytes.length;
    this.held.held += bytes.length;
  }

  private joinedHead(d: WsDir): Uint8Array {
    if (d.head.length === 1) return d.head[0]!;
    const out = new Uint8Array(d.headLength);
    let at = 0;
    for (const c of d.head) {
      out.set(c, at);
      at += c.length;
    }
    d.head = [out];
    return out;
  }

  private releaseHead(d: WsDir): void {
    this.held.held -= d.headLength;
    d.head = [];
    d.headLength = 0;
  }

  /**
   * Frames without a handshake (the capture starts after the Upgrade): one `websocket` event saying what is unknown.
   * Whether permessage-deflate was negotiated is unknown too: RSV1 on a binary frame is taken to mark a compressed
   * message, inflated when it decodes on its own (zlib refuses references into the window the capture lacks).
   */
  private beginMidStream(st: WsConn, frame: number): void {
    if (st.hs.midStream) return;
    st.hs.midStream = true;
    st.hs.deflate = true;
    for (const d of [st.c2s, st.s2c]) {
      if (d.phase !== Phase.Handshake || d.headLength > 0) continue;
      d.phase = Phase.Resync;
      d.midStreamStart = true;
      d.skipped = 0;
    }
    const message = [
      `WebSocket frames without their opening handshake (${st.conn.sawSyn ? 'the connection starts with frames' : 'the capture starts after the HTTP Upgrade'})`,
      'path, Host, subprotocols and extensions unknown: MQTT-6.0.0-3/-4 (subprotocol "mqtt" offered and selected) not judged',
      'permessage-deflate unknown: a compressed (RSV1) message is inflated when it decodes on its own, else reported (websocket-inflate)',
    ].join('; ');
    this.next.event({
      event: 'websocket', frame, conn: st.conn.id, dir: null, message,
      info: { handshake: false, path: null, host: null, offered: [], status: null, reason: null, selected: null, accept: null, extensions: [], deflate: 'unknown' },
    });
  }

  /** The server's response head is in: one `websocket` event with what both heads said, and the handshake checks. */
  private handshakeDone(st: WsConn, frame: number): void {
    const req = st.hs.request;
    const res = st.hs.response!;
    const conn = st.conn;
    const offered = tokens(req?.headers.get('sec-websocket-protocol'));
    const selectedList = tokens(res.headers.get('sec-websocket-protocol'));
    const selected = selectedList.length > 0 ? selectedList.join(', ') : null;
    const extensions = tokens(res.headers.get('sec-websocket-extensions'));
    const deflate = res.status === 101 ? negotiatedDeflate(res.headers.get('sec-websocket-extensions')) : null;
    st.hs.deflate = deflate !== null;
    if (deflate !== null) {
      st.c2s.inflater = new MessageInflater(deflate.c2s, true, this.held);
      st.s2c.inflater = new MessageInflater(deflate.s2c, true, this.held);
    }
    const findings: TransportFinding[] = [];
    const path = req?.target ?? null;
    const host = req?.headers.get('host') ?? null;
    const status = res.status;
    let accept: 'valid' | 'missing' | 'wrong' | 'no key' = 'missing';
    const key = req?.headers.get('sec-websocket-key');
    const got = res.headers.get('sec-websocket-accept');
    if (status === 101) {
      if (key === undefined) accept = 'no key';
      else if (got !== undefined) {
        const want = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
        accept = got === want ? 'valid' : 'wrong';
        if (accept === 'wrong') findings.push({ code: 'ws-accept-mismatch', message: `Sec-WebSocket-Accept is ${JSON.stringify(got)}; the key ${JSON.stringify(key)} gives ${JSON.stringify(want)}` });
      } else {
        findings.push({ code: 'ws-accept-mismatch', message: 'the 101 response has no Sec-WebSocket-Accept' });
      }
      if (req !== null) {
        const missing = requestDefects(req);
        if (missing.length > 0) findings.push({ code: 'ws-bad-request', message: `the Upgrade request (frame ${st.hs.requestFrame}) ${missing.join(', ')}` });
      }
      if (req !== null && !offered.includes(MQTT_SUBPROTOCOL)) {
        const what = offered.length === 0 ? 'no Sec-WebSocket-Protocol' : `Sec-WebSocket-Protocol ${JSON.stringify(offered.join(', '))}`;
        findings.push({ code: 'ws-subprotocol-offered', message: `the Upgrade request (frame ${st.hs.requestFrame}) offers ${what}, not "mqtt"`, ...(offered.includes(MQTT31_SUBPROTOCOL) ? { exceptLevel3: true as const } : {}) });
      }
      if (selected !== MQTT_SUBPROTOCOL) {
        const what = selected === null ? 'selects no subprotocol' : `selects ${JSON.stringify(selected)}`;
        findings.push({ code: 'ws-subprotocol-selected', message: `the 101 response (frame ${frame}) ${what}, not "mqtt"`, ...(selected === MQTT31_SUBPROTOCOL ? { exceptLevel3: true as const } : {}) });
      }
    }
    const statusText = `${status ?? '?'}${res.reason ? ` ${res.reason}` : ''}`;
    const parts = [
      `WebSocket handshake: ${req === null ? 'request not captured' : `${req.method ?? '?'} ${JSON.stringify(path ?? '')}`}`,
      `Host ${host === null ? '(none)' : JSON.stringify(host)}`,
      `subprotocols offered ${offered.length === 0 ? '(none)' : offered.join(', ')}`,
      `server ${statusText}`,
      `selected ${selected ?? '(none)'}`,
    ];
    if (status === 101 && accept !== 'valid') parts.push(`accept key ${accept}`);
    if (extensions.length > 0) parts.push(`extensions ${extensions.join(', ')}`);
    const deflateText = deflate === null ? null : `client ${deflateSummary(deflate.c2s)}, server ${deflateSummary(deflate.s2c)}`;
    if (deflateText !== null) parts.push(`permessage-deflate (compressed messages are inflated): ${deflateText}`);
    this.next.event({
      event: 'websocket',
      frame,
      conn: conn.id,
      dir: null,
      message: parts.join('; '),
      info: { handshake: true, path, host, offered, status, reason: res.reason, selected, accept, extensions, deflate: deflateText },
      ...(findings.length > 0 ? { findings } : {}),
    });
    if (status !== 101) {
      // The server refused the upgrade: what follows is HTTP (a body, another request), not WebSocket frames.
      const why = `the server answered ${statusText} instead of 101 Switching Protocols: no WebSocket, not decoded`;
      this.stop(st, st.s2c, 's2c', frame, why);
      this.stop(st, st.c2s, 'c2s', frame, why);
    }
  }

  // ---- frames ------------------------------------------------------------------------------------

  /** Reads frame headers and payloads from data[off..]; returns the offset reached (the end, or where decoding stopped). */
  private frames(st: WsConn, d: WsDir, dir: Direction, data: Uint8Array, off: number, frame: number, timeSec: number, timeNsec: number): number {
    const len = data.length;
    d.timeSec = timeSec;
    d.timeNsec = timeNsec;
    while (off < len && d.phase === Phase.Frames) {
      if (!d.inPayload) {
        // Header bytes, up to what is known to be needed.
        while (d.hdrLength < d.hdrNeed && off < len) {
          d.hdr[d.hdrLength++] = data[off++]!;
          if (d.hdrLength === 2) d.hdrNeed = 2 + ((d.hdr[1]! & 0x7f) === 126 ? 2 : (d.hdr[1]! & 0x7f) === 127 ? 8 : 0) + ((d.hdr[1]! & 0x80) !== 0 ? 4 : 0);
        }
        if (d.hdrLength < d.hdrNeed) return off;
        this.startFrame(st, d, dir, frame);
        continue;
      }
      const n = Math.min(d.remaining, len - off);
      if (d.forward) {
        let out = data.subarray(off, off + n);
        if (d.masked) out = this.unmask(out, d.key, d.payloadPos);
        if (d.compressedMessage) {
          this.collectCompressed(d, out);
        } else {
          this.next.data(st.conn, dir, out, frame, timeSec, timeNsec);
          d.mqttOffset += n;
        }
      } else {
        const keep = Math.min(n, MAX_CONTROL_PAYLOAD - d.controlLength);
        if (keep > 0) {
          const part = data.subarray(off, off + keep);
          d.control.set(d.masked ? this.unmask(part, d.key, d.payloadPos) : part, d.controlLength);
          d.controlLength += keep;
        }
      }
      off += n;
      d.remaining -= n;
      d.payloadPos += n;
      if (d.remaining === 0) this.endFrame(st, d, dir, frame);
    }
    if (d.phase === Phase.Stopped) d.dropped += len - off;
    return len;
  }

  /** XORs payload bytes with the masking key from payload position `pos` on, into the scratch buffer (section 5.3). */
  private unmask(bytes: Uint8Array, key: Uint8Array, pos: number): Uint8Array {
    if (this.scratch.length < bytes.length) this.scratch = new Uint8Array(Math.max(bytes.length, 2 * this.scratch.length));
    const out = this.scratch;
    const k0 = key[pos & 3]!;
    const k1 = key[(pos + 1) & 3]!;
    const k2 = key[(pos + 2) & 3]!;
    const k3 = key[(pos + 3) & 3]!;
    const n = bytes.length;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      out[i] = bytes[i]! ^ k0;
      out[i + 1] = bytes[i + 1]! ^ k1;
      out[i + 2] = bytes[i + 2]! ^ k2;
      out[i + 3] = bytes[i + 3]! ^ k3;
    }
    const ks = [k0, k1, k2, k3];
    for (; i < n; i++) out[i] = bytes[i]! ^ ks[i & 3]!;
    return out.subarray(0, n);
  }

  /** A whole header has arrived: check it, and set up its payload. */
  private startFrame(st: WsConn, d: WsDir, dir: Direction, frame: number): void {
    const h = d.hdr;
    const b0 = h[0]!;
    const b1 = h[1]!;
    const op = b0 & 0x0f;
    const info = OPCODES[op]!;
    d.fin = (b0 & 0x80) !== 0;
    d.opcode = op;
    d.masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    let length: number = len7;
    let at = 2;
    d.frameFindings.length = 0;
    if (len7 === 126) {
      length = (h[2]! << 8) | h[3]!;
      at = 4;
      if (length < 126) this.note(d, 'ws-length-not-minimal', `a ${length}-byte payload length written in the 16-bit form (frame ${frame})`);
    } else if (len7 === 127) {
      const hi = ((h[2]! << 24) | (h[3]! << 16) | (h[4]! << 8) | h[5]!) >>> 0;
      const lo = ((h[6]! << 24) | (h[7]! << 16) | (h[8]! << 8) | h[9]!) >>> 0;
      at = 10;
      if (hi >= 0x80000000) {
        this.report(st, d, dir, frame, [{ code: 'ws-length-msb', message: `a 64-bit payload length with its most significant bit set (0x${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')})` }]);
        this.stop(st, d, dir, frame, 'an impossible frame length: frame boundaries are lost, the rest of this direction is not decoded');
        return;
      }
      // Exact below 2^53; above it the count is approximate, which only matters for a frame that never ends anyway.
      length = hi * 0x100000000 + lo;
      if (length <= 0xffff) this.note(d, 'ws-length-not-minimal', `a ${length}-byte payload length written in the 64-bit form (frame ${frame})`);
    }
    if (d.masked) {
      d.key.set(h.subarray(at, at + 4));
      at += 4;
    }
    if (!info.defined) {
      this.report(st, d, dir, frame, [...d.frameFindings, { code: 'ws-reserved-opcode', message: `a frame with the reserved opcode 0x${op.toString(16)} (frame ${frame})` }]);
      this.stop(st, d, dir, frame, `a frame with the reserved opcode 0x${op.toString(16)}: its meaning is unknown, the rest of this direction is not decoded`);
      return;
    }
    const rsv = (b0 >> 4) & 7;
    // RSV1 is permessage-deflate's "Per-Message Compressed" bit, on the first frame of a data message only (RFC 7692
    // section 6); RSV2 and RSV3 no extension here defines.
    const rsv1 = (rsv & 4) !== 0 && st.hs.deflate;
    const undefinedBits = st.hs.deflate ? rsv & 3 : rsv;
    let compressedStart = false;
    if (rsv1) {
      const what = st.hs.midStream ? 'permessage-deflate, if negotiated,' : 'the negotiated permessage-deflate';
      if (info.control) this.note(d, 'ws-reserved-bits', `RSV1 on a ${info.name} frame: ${what} compresses data messages only, never control frames (RFC 7692 section 6; frame ${frame})`);
      else if (op === OP_CONTINUATION) this.note(d, 'ws-reserved-bits', `RSV1 on a continuation frame: ${what} marks a compressed message on its first frame only (RFC 7692 section 6; frame ${frame}); the message is what its first frame said`);
      else compressedStart = true;
    }
    if (undefinedBits !== 0) this.note(d, 'ws-reserved-bits', `RSV bits ${rsv.toString(2).padStart(3, '0')} set with no extension negotiated that defines ${st.hs.deflate ? 'RSV2 or RSV3' : 'them'} (frame ${frame})`);
    if (dir === 'c2s' && !d.masked) this.note(d, 'ws-client-unmasked', `a client frame without a masking key (frame ${frame})`);
    if (dir === 's2c' && d.masked) this.note(d, 'ws-server-masked', `a masked server frame (frame ${frame})`);
    if (d.closed) this.note(d, 'ws-data-after-close', `a ${info.name} frame after this side's close frame (frame ${frame})`);
    d.payloadLength = length;
    d.remaining = length;
    d.payloadPos = 0;
    d.controlLength = 0;
    d.controlLost = false;
    d.inPayload = true;
    d.hdrLength = 0;
    d.hdrNeed = 2;
    if (info.control) {
      d.forward = false;
      if (length > MAX_CONTROL_PAYLOAD) this.note(d, 'ws-control-too-long', `a ${info.name} frame with ${length} bytes of payload, more than 125 (frame ${frame})`);
      if (!d.fin) this.note(d, 'ws-control-fragmented', `a ${info.name} frame without FIN (frame ${frame})`);
    } else {
      d.forward = true;
      let effective = op;
      if (op === OP_CONTINUATION) {
        if (!d.inMessage && !d.afterResync) this.note(d, 'ws-continuation-without-start', `a continuation frame with no fragmented message in progress (frame ${frame})`);
        effective = d.inMessage ? d.messageOpcode : OP_BINARY;
        if (d.fin) d.inMessage = false;
        d.afterResync = false;
      } else {
        d.afterResync = false;
        if (d.inMessage) this.note(d, 'ws-data-inside-fragmented', `a new ${info.name} frame while a fragmented message was still in progress (frame ${frame})`);
        // A compressed message cut off by a new one cannot be inflated: its end never comes.
        if (d.compressedMessage) this.abandonCompressed(st, d, dir, frame, 'a new message began before its last frame');
        d.messageOpcode = op;
        d.inMessage = !d.fin;
        if (compressedStart) this.startCompressed(d);
      }
      if (effective === OP_TEXT) this.note(d, 'ws-not-binary', `MQTT bytes in a text frame (frame ${frame}); they are decoded all the same`);
      // Findings of a data frame are reported as they are found; its payload follows in the MQTT stream.
      if (d.frameFindings.length > 0) this.report(st, d, dir, frame, d.frameFindings);
      d.frameFindings.length = 0;
      const note: WsFrameNote = { frame, header: h.slice(0, at), payloadLength: length, streamOffset: d.mqttOffset };
      if (d.compressedMessage) {
        // Its stream bytes are known once the message is inflated.
        if (this.notes !== null && d.messageNotes.length < FRAME_NOTES_KEPT) d.messageNotes.push(note);
      } else {
        this.notes?.add(st.conn.id, dir, note);
      }
    }
    if (length === 0) this.endFrame(st, d, dir, frame);
  }

  /** A frame's payload is complete: a control frame becomes an event. */
  private endFrame(st: WsConn, d: WsDir, dir: Direction, frame: number): void {
    d.inPayload = false;
    if (d.forward) {
      if (d.compressedMessage && d.fin) this.endCompressed(st, d, dir, frame);
      return;
    }
    const op = d.opcode;
    const name = OPCODES[op]!.name;
    const shown = d.controlLength;
    const lost = d.controlLost ? ' (part of it was not captured)' : '';
    const info: Record<string, string | number | null> = { opcode: name, length: d.payloadLength };
    let message: string;
    if (op === OP_CLOSE) {
      d.closed = true;
      if (d.payloadLength === 1) this.note(d, 'ws-close-payload-1', `a close frame with a 1-byte payload: a status code takes 2 (frame ${frame})`);
      if (shown >= 2 && !d.controlLost) {
        const code = (d.control[0]! << 8) | d.control[1]!;
        const c = closeCode(code);
        const reason = new TextDecoder('utf-8').decode(d.control.subarray(2, shown));
        info.code = code;
        info.codeName = c.name;
        info.reason = reason;
        if (!c.valid) this.note(d, 'ws-bad-close-code', `close status code ${code} (${c.name}) may not be sent in a close frame (frame ${frame})`);
        message = `close frame from the ${dir === 'c2s' ? 'client' : 'server'}: status ${code} (${c.name})${reason.length > 0 ? `, reason ${JSON.stringify(reason)}` : ''}${lost}`;
        if (d.inMessage) message += ', between the frames of a fragmented message';
      } else {
        message = `close frame from the ${dir === 'c2s' ? 'client' : 'server'} without a status code${lost}`;
      }
    } else {
      const hex = Array.from(d.control.subarray(0, Math.min(shown, 16)), (b) => b.toString(16).padStart(2, '0')).join(' ');
      info.payload = hex;
      message = `${name} frame from the ${dir === 'c2s' ? 'client' : 'server'}, ${d.payloadLength} byte${d.payloadLength === 1 ? '' : 's'} of payload${shown > 0 ? ` (${hex}${shown > 16 ? ' …' : ''})` : ''}${lost}`;
      if (d.inMessage) message += ', between the frames of a fragmented message';
    }
    const findings = this.fresh(d, d.frameFindings);
    d.frameFindings.length = 0;
    this.next.event({ event: 'websocket-control', frame, conn: st.conn.id, dir, message, info, ...(findings.length > 0 ? { findings } : {}) });
  }

  // ---- permessage-deflate -------------------------------------------------------------------------

  /** RSV1 on the first frame of a data message: its payload is collected until its last frame, then inflated. */
  private startCompressed(d: WsDir): void {
    if (d.inflater === null) d.inflater = new MessageInflater(DEFAULT_DEFLATE, false, this.held);
    d.compressedMessage = true;
    d.compressed = [];
    d.compressedLength = 0;
    d.compressedLost = null;
    d.messageNotes = [];
  }

  /** Unmasked payload bytes of a compressed message: kept (a copy: the caller's bytes are valid only during the call). */
  private collectCompressed(d: WsDir, bytes: Uint8Array): void {
    if (d.compressedLost !== null || bytes.length === 0) return;
    const total = d.compressedLength + bytes.length;
    const cap = this.caps.compressedMessage;
    if (total > cap || this.held.held + bytes.length > this.held.limit) {
      const why = total > cap
        ? `its compressed payload passes ${cap} bytes (the cap on one message's compressed bytes)`
        : `holding its compressed payload would take the bytes held for packets in progress past ${this.held.limit}`;
      this.releaseCompressed(d);
      d.compressedLost = { reason: 'compressed-cap', message: why };
      return;
    }
    d.compressed.push(bytes.slice());
    d.compressedLength = total;
    this.held.held += bytes.length;
  }

  private releaseCompressed(d: WsDir): void {
    this.held.held -= d.compressedLength;
    d.compressed = [];
    d.compressedLength = 0;
  }

  /** The compressed message in progress is forgotten (its loss is told otherwise: a gap over a header, a stop). */
  private dropCompressed(d: WsDir): void {
    this.releaseCompressed(d);
    d.compressedMessage = false;
    d.compressedLost = null;
    d.messageNotes = [];
  }

  /** A compressed message that will never end: one event, a loss for the MQTT framer, the window unknown. */
  private abandonCompressed(st: WsConn, d: WsDir, dir: Direction, frame: number, why: string): void {
    this.dropCompressed(d);
    d.inflater?.lose();
    this.lostMessage(st, d, dir, frame, 'cut', `a compressed (permessage-deflate) message is not inflated: ${why}`);
  }

  /** The last frame of a compressed message ended: inflate it and pass its bytes on, or say why not. */
  private endCompressed(st: WsConn, d: WsDir, dir: Direction, frame: number): void {
    const lost = d.compressedLost;
    const notes = d.messageNotes;
    const length = d.compressedLength;
    const joined = d.compressed.length === 1 ? d.compressed[0]! : concatBytes(d.compressed, length);
    this.releaseCompressed(d);
    d.compressedMessage = false;
    d.compressedLost = null;
    d.messageNotes = [];
    const inflater = d.inflater!;
    if (lost !== null) {
      inflater.lose();
      this.lostMessage(st, d, dir, frame, lost.reason, `a compressed (permessage-deflate) message is not inflated: ${lost.message}`);
      return;
    }
    const { inflatedMessage, inflatedConnection } = this.caps;
    const budget = inflatedConnection - st.inflatedTotal;
    const known = inflater.windowKnown;
    const r = inflater.inflate(joined, Math.min(inflatedMessage, budget));
    if (!r.ok) {
      if (r.reason === 'message-cap' && budget < inflatedMessage) {
        this.lostMessage(st, d, dir, frame, 'connection-cap', `a compressed (permessage-deflate) message is not inflated: it would take this connection's inflated bytes past ${inflatedConnection} (the cap on one connection's inflated bytes)`);
        this.stop(st, d, dir, frame, `the cap on the bytes one connection's compressed messages inflate to (${inflatedConnection}) was reached: the rest of this direction is not decoded`);
        return;
      }
      const unknown = known ? '' : ' (the messages before it are not all in the capture)';
      this.lostMessage(st, d, dir, frame, r.reason, `a compressed (permessage-deflate) message of ${length} bytes is not inflated${unknown}: ${r.message}`);
      return;
    }
    const out = r.bytes;
    st.inflatedTotal += out.length;
    d.inflatedMessages++;
    const start = d.mqttOffset;
    if (this.notes !== null) for (const n of notes) this.notes.add(st.conn.id, dir, { ...n, streamOffset: start, inflated: out.length });
    if (out.length > 0) this.next.data(st.conn, dir, out, frame, d.timeSec, d.timeNsec);
    d.mqttOffset += out.length;
  }

  /**
   * A message whose bytes do not reach the MQTT stream: one `websocket-inflate` event, and a loss of unknown size for
   * the MQTT framer, which resynchronises by content as after a TCP gap.
   */
  private lostMessage(st: WsConn, d: WsDir, dir: Direction, frame: number, reason: string, message: string): void {
    this.next.event({ event: 'websocket-inflate', frame, conn: st.conn.id, dir, reason, message: `${message}; the MQTT stream goes on after it as after a gap` });
    this.next.gap(st.conn, dir, UNKNOWN_LOSS_BYTES, frame);
    d.mqttOffset += UNKNOWN_LOSS_BYTES;
  }

  /** Notes a finding of the frame being read. */
  private note(d: WsDir, code: TransportFindingCode, message: string): void {
    d.frameFindings.push({ code, message });
  }

  /** The findings not yet reported for this direction (each code once). */
  private fresh(d: WsDir, findings: readonly TransportFinding[]): TransportFinding[] {
    const out: TransportFinding[] = [];
    for (const f of findings) {
      if (d.reported.has(f.code)) continue;
      d.reported.add(f.code);
      out.push(f);
    }
    return out;
  }

  /** One `websocket-error` event for the findings of a frame not reported before in this direction. */
  private report(st: WsConn, d: WsDir, dir: Direction, frame: number, findings: readonly TransportFinding[]): void {
    const fresh = this.fresh(d, findings);
    if (fresh.length === 0) return;
    const text = fresh.map((f) => {
      const section = FINDING_SECTION[f.code];
      return section === undefined ? f.message : `${f.message} (RFC 6455 section ${section})`;
    }).join('; ');
    this.next.event({ event: 'websocket-error', frame, conn: st.conn.id, dir, message: `${text}; later frames of ${dir} with the same defect are not reported again`, findings: fresh });
  }

  /** Decoding of a direction ends here, with one event saying why. */
  private stop(st: WsConn, d: WsDir, dir: Direction, frame: number, why: string): void {
    if (d.phase === Phase.Stopped) return;
    if (d.phase === Phase.Handshake) this.releaseHead(d);
    d.phase = Phase.Stopped;
    d.inPayload = false;
    this.dropCompressed(d);
    d.inflater?.release();
    this.next.event({ event: 'websocket-lost', frame, conn: st.conn.id, dir, message: why });
  }

  /** The end of a direction: a handshake that never completed, a frame cut short. */
  private endDir(st: WsConn, d: WsDir, dir: Direction, frame: number): void {
    if (d.phase === Phase.Handshake) {
      if (dir === 's2c' && st.hs.request !== null) {
        this.stop(st, d, dir, frame, `the Upgrade request (frame ${st.hs.requestFrame}) was never answered: the WebSocket handshake did not complete`);
      } else if (d.headLength > 0) {
        this.stop(st, d, dir, frame, `the ${dir === 'c2s' ? 'Upgrade request' : 'handshake response'} head never ended (${d.headLength} bytes): the WebSocket handshake did not complete`);
      }
      this.releaseHead(d);
      return;
    }
    const compressing = d.compressedMessage;
    this.dropCompressed(d);
    d.inflater?.release();
    if (d.phase !== Phase.Frames) return;
    if (compressing && !(d.inPayload && d.remaining > 0)) {
      this.next.event({ event: 'websocket-inflate', frame, conn: st.conn.id, dir, reason: 'cut', message: 'the stream ended inside a compressed (permessage-deflate) message: its last frame never came, it is not inflated' });
    }
    if (d.inPayload && d.remaining > 0) {
      const name = OPCODES[d.opcode]!.name;
      this.next.event({ event: 'websocket-lost', frame, conn: st.conn.id, dir, bytes: d.remaining, message: `the stream ended ${d.remaining} bytes before the end of a ${name} frame of ${d.payloadLength} bytes` });
    } else if (d.hdrLength > 0) {
      this.next.event({ event: 'websocket-lost', frame, conn: st.conn.id, dir, bytes: d.hdrLength, message: `the stream ended inside a WebSocket frame header (${d.hdrLength} of ${d.hdrNeed} bytes)` });
    }
  }
}
