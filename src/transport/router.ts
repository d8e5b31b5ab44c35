/**
 * The transport stage's entry: which connection goes through which stream layers before its bytes reach MQTT.
 *
 * A stream layer is a StreamSink given its downstream StreamSink in its constructor; it forwards open/data/gap/close/
 * event for the connections it carries, passing on the inner byte stream with next.data() and its findings with
 * next.event(). The router is a StreamSink too. Per connection it decides, from the table LAYERS:
 *  - by port at open (a row's `claims`, e.g. TLS on 8883), or
 *  - by sniffing the first bytes the client sends (a row's `sniff`, e.g. an HTTP Upgrade to websocket),
 * and hands the connection to that layer; every other connection goes straight to `next`. A layer's output goes to a
 * router of the layers that may run inside it (a row's `inner`), so layers compose: TLS, then WebSocket inside it,
 * and TLS again inside WebSocket frames (found there by its ClientHello), to MAX_LAYER_DEPTH.
 *
 * Plain TCP pays at most one Map lookup per data chunk, and none while no connection is sniffed or layered: a
 * connection is in the map only while its first bytes are sniffed (normally one chunk: an MQTT stream's first byte is
 * no HTTP method's) or while a layer carries it.
 */
import type { Connection, ConnectionEnd, Direction, HeldBytes, StreamEvent, StreamSink, TransportName } from '../tcp/types.js';
import { headEnd, isWebSocketUpgrade, MAX_HEAD_BYTES, parseHead, startsHttp } from './http.js';
import type { KeyLog } from './tls/keylog.js';
import { TlsLayer } from './tls/layer.js';
import { TLS_PROBER } from './tls/probe.js';
import { firstFrameOffset, midStreamFrames, WebSocketLayer, type WsFrameSink } from './websocket.js';
import { WEBSOCKET_PORTS } from './websocket-tables.js';

/** What every layer may need from the pipeline. */
export interface LayerContext {
  /** The capture's shared count of bytes held for packets in progress. */
  held: HeldBytes;
  /** TLS session secrets (key log files, pcapng Decryption Secrets Blocks as they are read). */
  keylog: KeyLog;
  /** WebSocket frame headers for the annotated hex (null when -x is off). */
  wsNotes: WsFrameSink | null;
  /** The ports followed as MQTT (1883, 6002, --port): a stream there that starts mid-connection is MQTT mid-stream. */
  mqttPorts?: ReadonlySet<number>;
}

export type Sniff = 'yes' | 'no' | 'more';

/** One row per stream layer. */
export interface LayerRow {
  readonly name: TransportName;
  /** Ports the TCP stage follows for this layer beyond the MQTT ports; their connections are probed (probe.ts) first. */
  readonly probePorts: readonly number[];
  /**
   * Where the layer's first unit starts in the client's first `n` bytes sniff() said yes to, when not at byte 0 (a
   * capture that starts inside a WebSocket frame); the layer is told with `startInside` before any byte.
   */
  firstOffset?(first: Uint8Array, n: number): number;
  /** Connections the layer takes at open by their ports alone, before any byte (TLS on 8883). */
  claims?(conn: Connection): boolean;
  /**
   * Verdict on the first `n` bytes the client sent: the layer starts here, does not, or too few bytes yet.
   * `midConnection`: the stream may start in the middle of one of the layer's units (insideUnits()).
   */
  sniff(first: Uint8Array, n: number, midConnection: boolean): Sniff;
  /** Bytes that always decide sniff(). */
  readonly sniffBytes: number;
  /**
   * Layers that may run inside this one (their router gets this layer's output). A function, so that rows can name
   * each other (TLS inside WebSocket inside TLS) whatever their order of declaration.
   */
  inner(): readonly LayerRow[];
  /** One instance carries every connection routed to it; `next` receives its inner streams. */
  create(next: StreamSink, ctx: LayerContext): StreamSink;
}

/** A layer whose stream may start inside one of its units (WebSocketLayer: inside a frame). */
interface StartsInside {
  startInside(conn: Connection, dir: Direction, bytes: number): void;
}

function startsInside(sink: StreamSink): sink is StreamSink & StartsInside {
  return 'startInside' in sink && typeof sink.startInside === 'function';
}

/**
 * A WebSocket opening handshake (GET with `Upgrade: websocket`, its head complete within MAX_HEAD_BYTES), or a capture
 * that starts after it: client frames from the first byte on, MIDSTREAM_FRAMES headers in a row (midStreamFrames).
 */
export function sniffWebSocket(b: Uint8Array, n: number, insideFrames = false): Sniff {
  const http = startsHttp(b, n);
  if (http === 'no') return midStreamFrames(b, n, insideFrames);
  if (http !== 'yes') return http;
  const end = headEnd(b, n);
  if (end < 0) return n >= MAX_HEAD_BYTES ? 'no' : 'more';
  return isWebSocketUpgrade(parseHead(b.subarray(0, end))) ? 'yes' : 'no';
}

export const WEBSOCKET_ROW: LayerRow = {
  name: 'websocket',
  probePorts: WEBSOCKET_PORTS,
  sniff: (b, n, midConnection) => sniffWebSocket(b, n, midConnection),
  firstOffset: (b, n) => startsHttp(b, n) === 'no' ? firstFrameOffset(b, n) : 0,
  sniffBytes: MAX_HEAD_BYTES,
  // A tunnel may carry TLS in its binary frames (MQTT inside TLS inside WebSocket): found by its ClientHello.
  inner: () => [TLS_INSIDE_ROW],
  create: (next, ctx) => new WebSocketLayer(next, { held: ctx.held, notes: ctx.wsNotes }),
};


/**
 * TLS: the connections the TCP stage flagged `tls` (a TLS port, or a ClientHello found by --auto), claimed at open;
 * what it decrypts may be WebSocket (wss), so that layer runs inside it.
 */
export const TLS_ROW: LayerRow = {
  name: 'tls',
  probePorts: [],
  claims: (conn) => conn.tls,
  sniff: () => 'no',
  sniffBytes: 0,
  inner: () => [WEBSOCKET_ROW],
  create: (next, ctx) => new TlsLayer(next, { keylog: ctx.keylog, heldBytes: ctx.held }),
};

/**
 * TLS found inside another layer by its ClientHello (never at the top, where TLS is claimed by port or by the TCP
 * stage's --auto probe): its own decrypted stream may be WebSocket again.
 */
export const TLS_INSIDE_ROW: LayerRow = {
  name: 'tls',
  probePorts: [],
  // A ClientHello as the first bytes of the unwrapped stream: --auto's test for TLS, whose verdicts are a sniff's.
  sniff: (b, n) => TLS_PROBER.test(b, n),
  sniffBytes: TLS_PROBER.bytes,
  inner: () => [WEBSOCKET_ROW],
  create: (next, ctx) => new TlsLayer(next, { keylog: ctx.keylog, heldBytes: ctx.held }),
};

/**
 * Layers inside layers, at most this deep: each level is a real handshake in the capture, but a hostile one could
 * nest WebSocket in TLS in WebSocket … with keys for each; past the bound the stream goes on as it is.
 */
const MAX_LAYER_DEPTH = 4;

/** Every stream layer, in the order their claims and sniffs are asked. */
export const LAYERS: readonly LayerRow[] = [TLS_ROW, WEBSOCKET_ROW];

/** Ports the TCP stage should probe for the layers of `rows` (the pipeline passes them as probePorts). */
export function layerProbePorts(rows: readonly LayerRow[] = LAYERS): number[] {
  return [...new Set(rows.flatMap((r) => r.probePorts))];
}

/** Something that arrived for a connection while its first bytes were sniffed, replayed in order once decided. */
type Held =
  | { kind: 'data'; dir: Direction; bytes: Uint8Array; frame: number; timeSec: number; timeNsec: number }
  | { kind: 'event'; ev: StreamEvent };

/** A connection being sniffed: its open is delayed until the route is known, so its layer (or none) sees it first. */
class Sniffing {
  readonly held: Held[] = [];
  heldBytes = 0;
  /** The client's first bytes, joined. */
  first: Uint8Array = new Uint8Array(0);
  constructor(readonly conn: Connection) {}
}

interface Layered {
  readonly sink: StreamSink;
}

type Route = Sniffing | Layered;

export class StreamRouter implements StreamSink {
  private readonly routes = new Map<number, Route>();
  private readonly instances = new Map<LayerRow, StreamSink>();
  private readonly sniffLimit: number;

  /**
   * `inside`: this router takes the output of a layer (WebSocket inside TLS). While that layer passes bytes on (it
   * set the connection's `transport`: TLS being decrypted), its own events (the handshake's) come before the first
   * inner byte and are held with the connection instead of deciding it; a layer that passes nothing on (TLS without
   * keys) decides it at its first event, so its events keep their place.
   */
  constructor(
    private readonly next: StreamSink,
    private readonly rows: readonly LayerRow[],
    private readonly ctx: LayerContext,
    private readonly inside = false,
    private readonly depth = 0,
  ) {
    this.sniffLimit = Math.max(0, ...rows.map((r) => r.sniffBytes));
  }

  open(conn: Connection): void {
    for (const row of this.rows) {
      if (row.claims?.(conn) === true) {
        const sink = this.layer(row);
        this.routes.set(conn.id, { sink });
        sink.open(conn);
        return;
      }
    }
    if (this.sniffLimit === 0) {
      this.next.open(conn);
      return;
    }
    this.routes.set(conn.id, new Sniffing(conn));
  }

  data(conn: Connection, dir: Direction, data: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    // No connection sniffed or layered (a capture of plain MQTT once its connections have started): no lookup at all.
    if (this.routes.size === 0) {
      this.next.data(conn, dir, data, frame, timeSec, timeNsec);
      return;
    }
    const r = this.routes.get(conn.id);
    if (r === undefined) {
      this.next.data(conn, dir, data, frame, timeSec, timeNsec);
      return;
    }
    if (!(r instanceof Sniffing)) {
      r.sink.data(conn, dir, data, frame, timeSec, timeNsec);
      return;
    }
    if (dir === 's2c' && r.first.length === 0) {
      // The server spoke first: no client handshake to find.
      this.decide(r, null);
      this.next.data(conn, dir, data, frame, timeSec, timeNsec);
      return;
    }
    if (dir === 'c2s') {
      const take = Math.min(data.length, this.sniffLimit - r.first.length);
      // The first chunk is sniffed where it lies (a plain MQTT stream is told at its first byte, without a copy); only
      // a stream that may still be a layer's has its first bytes joined.
      let joined: Uint8Array = data.subarray(0, take);
      if (r.first.length > 0) {
        joined = new Uint8Array(r.first.length + take);
        joined.set(r.first, 0);
        joined.set(data.subarray(0, take), r.first.length);
      }
      let pending = false;
      for (const row of this.rows) {
        const v = row.sniff(joined, joined.length, this.insideUnits(conn));
        if (v === 'yes') {
          this.decide(r, row, row.firstOffset?.(joined, joined.length) ?? 0);
          this.routeData(conn, dir, data, frame, timeSec, timeNsec);
          return;
        }
        if (v === 'more') pending = true;
      }
      if (!pending || joined.length >= this.sniffLimit) {
        this.decide(r, null);
        this.next.data(conn, dir, data, frame, timeSec, timeNsec);
        return;
      }
      // Kept (the caller's bytes are valid only during the call), and counted as held like the chunks below.
      const grown = joined.length - r.first.length;
      r.first = r.first.length > 0 ? joined : joined.slice();
      r.heldBytes += grown;
      this.ctx.held.held += grown;
    }
    if (this.ctx.held.held + data.length > this.ctx.held.limit) {
      // No room to wait: the stream is passed on as it is (the MQTT stage reports what it is not).
      this.decide(r, null);
      this.next.data(conn, dir, data, frame, timeSec, timeNsec);
      return;
    }
    r.held.push({ kind: 'data', dir, bytes: data.slice(), frame, timeSec, timeNsec });
    r.heldBytes += data.length;
    this.ctx.held.held += data.length;
  }

  gap(conn: Connection, dir: Direction, bytes: number, frame: number, cut?: { timeSec: number; timeNsec: number }): void {
    const r = this.routes.get(conn.id);
    if (r === undefined) {
      this.next.gap(conn, dir, bytes, frame, cut);
      return;
    }
    if (r instanceof Sniffing) {
      // The first bytes cannot be told past a hole: the stream goes on as plain TCP.
      this.decide(r, null);
      this.next.gap(conn, dir, bytes, frame, cut);
      return;
    }
    r.sink.gap(conn, dir, bytes, frame, cut);
  }

  close(conn: Connection, end: ConnectionEnd): void {
    const r = this.routes.get(conn.id);
    if (r === undefined) {
      this.next.close(conn, end);
      return;
    }
    this.routes.delete(conn.id);
    if (r instanceof Sniffing) {
      // Still undecided at its end (a few bytes of something): passed on as it came.
      this.decide(r, null);
      this.next.close(conn, end);
      return;
    }
    r.sink.close(conn, end);
  }

  event(ev: StreamEvent): void {
    const r = ev.conn === null ? undefined : this.routes.get(ev.conn);
    if (r === undefined) {
      this.next.event(ev);
      return;
    }
    if (r instanceof Sniffing) {
      if ((!this.inside || r.conn.transport === undefined) && r.first.length === 0 && r.held.length === 0) {
        // Nothing to sniff yet (the TCP stage's note on a TLS connection, a hole before the first byte): holding the
        // event would move it after other connections' output, so the stream goes on as plain TCP.
        this.decide(r, null);
        this.next.event(ev);
        return;
      }
      r.held.push({ kind: 'event', ev });
      return;
    }
    r.sink.event(ev);
  }

  /**
   * May the connection's first bytes be the middle of a layer's unit (a WebSocket frame whose header is before the
   * capture)? Only when its SYN is not in the capture, and not on an MQTT port: there, a capture that starts
   * mid-connection is MQTT mid-stream, which the MQTT stage resynchronises, and holding its bytes to look for frames
   * would only delay it.
   */
  private insideUnits(conn: Connection): boolean {
    return !conn.sawSyn && !(this.ctx.mqttPorts?.has(conn.serverPort) ?? false);
  }

  /** The route is known: open the connection there and replay what was held, in order. */
  private decide(r: Sniffing, row: LayerRow | null, startInside = 0): void {
    const conn = r.conn;
    const sink = row === null ? this.next : this.layer(row);
    if (row === null) this.routes.delete(conn.id);
    else this.routes.set(conn.id, { sink });
    this.ctx.held.held -= r.heldBytes;
    r.heldBytes = 0;
    sink.open(conn);
    if (startInside > 0 && startsInside(sink)) sink.startInside(conn, 'c2s', startInside);
    for (const h of r.held) {
      if (h.kind === 'data') sink.data(conn, h.dir, h.bytes, h.frame, h.timeSec, h.timeNsec);
      else sink.event(h.ev);
    }
    r.held.length = 0;
  }

  private routeData(conn: Connection, dir: Direction, data: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    const r = this.routes.get(conn.id);
    if (r !== undefined && !(r instanceof Sniffing)) r.sink.data(conn, dir, data, frame, timeSec, timeNsec);
    else this.next.data(conn, dir, data, frame, timeSec, timeNsec);
  }

  /** The row's instance, made on first use; its output goes to a router of the layers allowed inside it. */
  private layer(row: LayerRow): StreamSink {
    let sink = this.instances.get(row);
    if (sink === undefined) {
      const inner = this.depth + 1 < MAX_LAYER_DEPTH ? row.inner() : [];
      sink = row.create(inner.length > 0 ? new StreamRouter(this.next, inner, this.ctx, true, this.depth + 1) : this.next, this.ctx);
      this.instances.set(row, sink);
    }
    return sink;
  }
}
