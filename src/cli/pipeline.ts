/**
 * Wires the stages in data-flow order: capture record -> link/IP/TCP -> reassembly -> MQTT framing and decoding ->
 * rules -> renderers. Everything is synchronous per record, so output appears as soon as a record's bytes arrive.
 */
import { readCapture } from '../capture/source.js';
import type { CaptureEvent, CaptureRecord, CaptureSink } from '../capture/types.js';
import { CONNECT_PROBER } from '../mqtt/connect-probe.js';
import { ConnectionDecoder, type PacketRecord, type PacketSink, type Violation } from '../mqtt/connection-decoder.js';
import { NetDecoder } from '../net/decoder.js';
import type { NetEvent } from '../net/types.js';
import { DialectStage, type DialectMode } from '../dialects/stage.js';
import { RuleEngine } from '../rules/engine.js';
import type { TraceRecord, TraceSink } from '../sessions/records.js';
import { SessionsStage } from '../sessions/stage.js';
import { PortCensus } from './no-mqtt.js';
import { MQTT_TLS_PORT, TcpReassembler, type Shard } from '../tcp/reassembler.js';
import { KeyLog } from '../transport/tls/keylog.js';
import { SECRETS_TLS_KEY_LOG } from '../transport/tls/tables.js';
import { TLS_PROBER } from '../transport/tls/probe.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import { transportProber } from '../transport/probe.js';
import { LAYERS, layerProbePorts, StreamRouter } from '../transport/router.js';
import type { WsFrameSink } from '../transport/websocket.js';
import { WSS_PORTS } from '../transport/websocket-tables.js';

export const DEFAULT_PORTS: readonly number[] = [1883, 6002];

export interface PipelineOptions {
  ports: number[];
  auto: boolean;
  tree: boolean;
  /** With `tree`: whether the next packet's tree is built (ConnectionDecoderOptions.treeWanted); default always. */
  treeWanted?: () => boolean;
  payloadLimit?: number;
  dialect: DialectMode;
  /**
   * Some output shows packet fields (false for --summary alone). Otherwise presentation-only work is skipped: payload
   * views and payload text (payloadLength stays exact).
   */
  fieldsShown?: boolean;
  /**
   * Only the connections of this shard (--shard). Findings that belong to no connection (capture and IP level) are
   * reported by shard 0 alone, so the shards of one capture together say everything exactly once.
   */
  shard?: Shard;
  /** Connections tracked at once (--max-connections); the reassembler's default otherwise. */
  maxConnections?: number;
  /** TLS session secrets (--tls-keylog, SSLKEYLOGFILE); pcapng Decryption Secrets Blocks are added as they are read. */
  keylog?: KeyLog;
  /** Ports carrying MQTT over TLS besides 8883 and WSS_PORTS (--tls-port). */
  tlsPorts?: number[];
  /** Where the WebSocket layer keeps frame headers for the annotated hex (-x); none otherwise. */
  wsNotes?: WsFrameSink;
  /** The sessions stage (default true; off with a `shard` of more than one): false leaves it out (--no-sessions). */
  sessions?: boolean;
  /** The sessions stage keeps the subscriptions that ended, for `trace --receivers`. */
  subscriptionHistory?: boolean;
  /** A message record for every message, delivered or not (mqtt-dissect trace). */
  allMessages?: boolean;
}

/** Sends every record to several sinks (renderer, summary, counters). */
export class FanOut implements TraceSink {
  constructor(private readonly sinks: TraceSink[]) {}
  traced(r: TraceRecord): void { for (const s of this.sinks) s.traced?.(r); }
  open(conn: Connection): void { for (const s of this.sinks) s.open(conn); }
  packet(rec: PacketRecord): void { for (const s of this.sinks) s.packet(rec); }
  event(ev: StreamEvent & { violations?: Violation[] }): void { for (const s of this.sinks) s.event(ev); }
  close(conn: Connection, end: ConnectionEnd): void { for (const s of this.sinks) s.close(conn, end); }
}

export interface Pipeline extends CaptureSink {
  /** End of input: flush reassembly and framers. */
  finish(): void;
  /** Frames read so far. */
  readonly frames: number;
  /** TCP segments seen per port, for the "no MQTT" hint. */
  readonly ports: PortCensus;
  /**
   * The sessions stage, when it runs here (for queries of its broker model: `trace --receivers`; and the rules it
   * checks count as exercised only when it runs).
   */
  readonly sessions: SessionsStage | null;
  /** The rules stage (null when this pipeline stops before it): its counters say which rules the capture exercised. */
  readonly rules: RuleEngine | null;
}

export function buildPipeline(out: TraceSink, opts: PipelineOptions, onFrame?: (rec: CaptureRecord) => void): Pipeline {
  return buildFrontPipeline(new DialectStage(out, { dialect: opts.dialect, tree: opts.tree, views: opts.fieldsShown ?? true }), opts, onFrame);
}

/**
 * The stages up to and including the rules, handing their records to `afterRules` (the dialect stage, or with
 * --threads 2 the ring to the render worker). `opts.dialect` is not used here. `withRules` false: the stages up to
 * MQTT decoding only, `afterRules` then getting what the rules would have (--threads 2 runs the rules in the worker
 * when rendering is light).
 */
export function buildFrontPipeline(afterRules: TraceSink, opts: PipelineOptions, onFrame?: (rec: CaptureRecord) => void, withRules = true): Pipeline {
  // The sessions stage follows the rules wherever they run (here, or in the --threads 2 worker).
  const sessions = withRules ? sessionsStage(afterRules, opts) : null;
  const engine = withRules ? new RuleEngine(sessions ?? afterRules) : null;
  const rules: PacketSink = engine ?? afterRules;
  const payloadLimit = opts.fieldsShown === false ? 0 : opts.payloadLimit;
  const mqtt = new ConnectionDecoder(rules, { tree: opts.tree, ...(opts.treeWanted !== undefined ? { treeWanted: opts.treeWanted } : {}), ...(payloadLimit !== undefined ? { payloadLimit } : {}) });
  // TCP -> transport (stream layers chosen by port and by the first bytes: TLS, WebSocket, WebSocket inside TLS) -> MQTT.
  const keylog = opts.keylog ?? new KeyLog();
  const mqttPorts = new Set(opts.ports);
  const transport = new StreamRouter(mqtt, LAYERS, { held: mqtt.budget, wsNotes: opts.wsNotes ?? null, keylog, mqttPorts });
  const probePorts = new Set(layerProbePorts().filter((p) => !mqttPorts.has(p)));
  const prober = transportProber(opts.auto ? CONNECT_PROBER : null);
  const tlsPorts = new Set([MQTT_TLS_PORT, ...WSS_PORTS, ...(opts.tlsPorts ?? [])]);
  const tcp = new TcpReassembler(transport, { ports: mqttPorts, auto: opts.auto, connectProber: prober, probePorts, tlsPorts, tlsProber: TLS_PROBER, heldBytes: mqtt.budget, ...(opts.shard ? { shard: opts.shard } : {}), ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}) });
  let notesShown = 0;
  const keyNotes = (frame: number): void => {
    while (notesShown < keylog.notes.length) {
      const n = keylog.notes[notesShown++]!;
      if (reportsUnconnected) rules.event({ event: 'capture-note', frame, conn: null, dir: null, message: n.message, ...(n.count !== undefined ? { count: n.count } : {}) });
    }
  };
  const reportsUnconnected = (opts.shard?.index ?? 0) === 0;
  keyNotes(0);
  const net = new NetDecoder((ev: NetEvent) => {
    if (reportsUnconnected) rules.event({ event: ev.event, frame: ev.frame, conn: null, dir: null, message: ev.message, ...(ev.count !== undefined ? { count: ev.count } : {}) });
  });
  let frames = 0;
  const ports = new PortCensus();
  let lastSec = 0;
  let lastNsec = 0;
  return {
    get frames() { return frames; },
    ports,
    sessions,
    rules: engine,
    record(rec: CaptureRecord): void {
      frames = rec.frame;
      lastSec = rec.timeSec;
      lastNsec = rec.timeNsec;
      onFrame?.(rec);
      mqtt.setCurrentFrame(rec.frame, rec.timeSec, rec.timeNsec);
      const seg = net.decode(rec);
      if (seg) {
        ports.add(seg);
        tcp.segment(seg);
      }
    },
    event(ev: CaptureEvent): void {
      if (reportsUnconnected) rules.event({ event: ev.event, frame: ev.frame, conn: null, dir: null, message: ev.message });
    },
    secrets(type: number, data: Uint8Array, frame: number, block: number): void {
      // pcapng Decryption Secrets Block: 'TLSK' holds an NSS key log (as editcap --inject-secrets tls,FILE writes it).
      if (type === SECRETS_TLS_KEY_LOG) keylog.add(Buffer.from(data).toString('latin1'), `pcapng secrets block ${block}`);
      else if (reportsUnconnected) rules.event({ event: 'capture-note', frame, conn: null, dir: null, message: `pcapng secrets block ${block} of type 0x${type.toString(16)} is not a TLS key log; ignored` });
      keyNotes(frame);
    },
    finish(): void {
      net.finish(frames);
      tcp.finish(frames, lastSec, lastNsec);
      sessions?.finish();
    },
  };
}

/**
 * The sessions stage in front of `next`, or null: --no-sessions, or a shard of several (it would see only some of the
 * connections, so a model across them would be wrong, not partial; the shards together then say what one
 * --no-sessions run says).
 */
export function sessionsStage(next: TraceSink, opts: Pick<PipelineOptions, 'shard' | 'sessions' | 'allMessages' | 'subscriptionHistory'>): SessionsStage | null {
  return (opts.shard === undefined || opts.shard.count === 1) && opts.sessions !== false ? new SessionsStage(next, { undelivered: opts.allMessages === true, history: opts.subscriptionHistory === true }) : null;
}

export interface ReadAllOptions {
  /** What "-" reads (process.stdin when absent). */
  stdin?: AsyncIterable<Uint8Array>;
  /** Settles when reading should stop early. */
  stop?: Promise<void>;
  /** After each input chunk. */
  afterChunk?: () => Promise<void> | undefined;
  /** Checked after each file: true stops before the next. */
  interrupted: () => boolean;
}

/**
 * Feeds every capture to the pipeline, one after the other, as one run (as `mergecap -a` joins them): frame numbers
 * continue from file to file and connections carry on across them. A CaptureFormatError propagates.
 */
export async function readAll(captures: readonly string[], pipeline: Pipeline, o: ReadAllOptions): Promise<void> {
  let frames = 0;
  for (const capture of captures) {
    frames = await readCapture(capture, pipeline, {
      firstFrame: frames,
      ...(o.stdin ? { stdin: o.stdin } : {}),
      ...(o.stop ? { stop: o.stop } : {}),
      ...(o.afterChunk ? { afterChunk: o.afterChunk } : {}),
    });
    if (o.interrupted()) break;
  }
}
