/**
 * The dialect stage: sits after the rules and before the renderers, decides per connection whether a platform dialect
 * applies (today: OneNET), enriches each PacketRecord in place (fields.onenet, tree nodes under the payload, dialect
 * warnings in rec.violations) and passes it on. Every PUBLISH also gets fields.payloadView in any dialect.
 *
 * Packets stream through: nothing is held back, so a dialect recognised from a later topic cannot change packets
 * already passed on (an auto-detected connection on another port gets no CONNECT annotations).
 */
import type { PacketRecord, Violation } from '../mqtt/connection-decoder.js';
import { CONNACK, CONNECT, DISCONNECT, PUBLISH, SUBSCRIBE } from '../mqtt/tables.js';
import type { ClosedConnection } from '../rules/close.js';
import type { TraceRecord, TraceSink } from '../sessions/records.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import { addChild, payloadNode, payloadRange } from './nodes.js';
import { NOTHING, OneNetConnection, type PublishOutcome } from './onenet.js';
import { classifyPayload, jsonViewNode, TREE_JSON_MAX_BYTES } from './payload-view.js';
import { sparkplugNodes, sparkplugTreeLabel } from './sparkplug/view.js';
import { SparkplugTracker } from './sparkplug/state.js';
import { inSparkplugNamespace } from './sparkplug/topic.js';
import { PublishPayloads, type PublishPayloadOptions } from './decoders/publish.js';

export type DialectMode = 'auto' | 'onenet' | 'none';

export interface DialectStageOptions extends PublishPayloadOptions {
  /** auto: OneNET on server port 6002 or once OneNET topics appear; onenet: always; none: only payload views. */
  dialect: DialectMode;
  /** Build tree nodes (-x, -V); the fields are filled either way. */
  tree: boolean;
  /**
   * Classify payloads into fields.payloadView (default true). Off when no output shows packet fields (--summary
   * alone): the view is presentation, and classifying every payload cost about a tenth of that mode's time.
   */
  views?: boolean;
  /**
   * The run sees only some of the capture's connections (--shard K/N, N > 1): what needs an edge node's other
   * connections (bdSeq from one CONNECT to the next) is not judged, as another shard may hold the one between.
   */
  someConnections?: boolean;
}

export class DialectStage implements TraceSink {
  private readonly next: TraceSink;
  private readonly opts: DialectStageOptions;
  private readonly conns = new Map<number, OneNetConnection>();
  /** Sparkplug B state across all connections (null with --dialect none). */
  readonly sparkplug: SparkplugTracker | null;
  /** The Content Type check and the --decode bindings (src/dialects/decoders/). */
  private readonly payloads: PublishPayloads;

  constructor(next: TraceSink, opts: DialectStageOptions) {
    this.next = next;
    this.opts = opts;
    this.sparkplug = opts.dialect === 'none' ? null : new SparkplugTracker({ acrossConnections: opts.someConnections !== true });
    this.payloads = new PublishPayloads(opts);
  }

  /** Connections with dialect state (released on close). */
  get openConnections(): number {
    return this.conns.size;
  }

  open(conn: Connection): void {
    if (this.opts.dialect !== 'none') this.conns.set(conn.id, new OneNetConnection(conn, this.opts.dialect));
    this.next.open(conn);
  }

  packet(rec: PacketRecord): void {
    try {
      this.enrich(rec);
    } catch (e) {
      // Enrichment is an extra; a bug in it must not lose the packet or stop the capture.
      rec.violations.push(internalError(e));
    }
    this.next.packet(rec);
  }

  event(ev: StreamEvent & { violations?: Violation[] }): void {
    this.next.event(ev);
  }

  traced(r: TraceRecord): void {
    this.next.traced?.(r);
  }

  close(conn: Connection, end: ConnectionEnd): void {
    this.conns.delete(conn.id);
    const vs = this.sparkplug?.close(conn, end.cause) ?? [];
    if (vs.length > 0) {
      // Every close reaching this stage comes through the rules stage: a ConnectionEnd, or the ClosedConnection it extends.
      const closed: ClosedConnection = end;
      const withFindings: ClosedConnection = { ...closed, violations: [...(closed.violations ?? []), ...vs] };
      this.next.close(conn, withFindings);
      return;
    }
    this.next.close(conn, end);
  }

  private state(conn: Connection): OneNetConnection | null {
    const mode = this.opts.dialect;
    if (mode === 'none') return null;
    let st = this.conns.get(conn.id);
    if (!st) {
      // A packet for a connection never opened (a sink fed directly): start its state now.
      st = new OneNetConnection(conn, mode);
      this.conns.set(conn.id, st);
    }
    return st;
  }

  private enrich(rec: PacketRecord): void {
    // A packet the snaplen cut is not all there: its payload cannot be classified nor its dialect data judged.
    if (rec.truncated !== undefined) return;
    const d = rec.decoded;
    const tree = this.opts.tree && d.tree !== null;
    const st = this.state(rec.conn);
    const sp = this.sparkplug;
    if (d.type === CONNECT) {
      if (st && rec.dir === 'c2s') st.connect(rec, d, tree);
      sp?.connect(rec, d);
      return;
    }
    if (d.type === SUBSCRIBE) {
      st?.subscribe(d);
      sp?.subscribe(rec, d);
      return;
    }
    if (d.type === DISCONNECT) {
      sp?.disconnect(rec, d);
      return;
    }
    if (d.type === CONNACK) {
      sp?.connack(rec, d.reasonCode ?? d.returnCode);
      return;
    }
    if (d.type !== PUBLISH) return;
    const range = payloadRange(d);
    if (!range) return;
    const resolved = d.resolvedTopic;
    const topic = resolved !== undefined && resolved.length > 0 ? resolved : d.topic;
    let out: PublishOutcome = NOTHING;
    if (sp && topic !== undefined && inSparkplugNamespace(topic)) {
      const r = sp.publish(rec, d, topic, range.start, range.end);
      if (r !== null) {
        d.sparkplug = r.info;
        if (tree && r.payload) {
          const pn = payloadNode(rec, range.start);
          if (pn) {
            pn.label = sparkplugTreeLabel(r.info);
            pn.children = sparkplugNodes(rec.bytes, r, range.end);
          }
          out = { container: null, jsonShown: true };
        }
      }
    } else if (st && topic !== undefined) out = st.publish(rec, d, topic, range.start, range.end, tree);
    const decodedShown = this.payloads.publish(rec, d, topic, range.start, range.end, tree, out.container);
    if (this.opts.views === false) return;
    const view = classifyPayload(rec.bytes, range.start, range.end, d.properties, tree);
    d.payloadView = view.view;
    const n = range.end - range.start;
    if (tree && view.json && !out.jsonShown && !decodedShown && n <= TREE_JSON_MAX_BYTES) {
      const parent = out.container ?? payloadNode(rec, range.start);
      if (parent) addChild(parent, jsonViewNode(view.json.value, range.start, n));
    }
  }
}

function internalError(e: unknown): Violation {
  return {
    id: 'DIALECT-internal-error',
    spec: 'mqtt-dissect',
    severity: 'warning',
    message: `dialect stage error (the packet is shown undecorated): ${e instanceof Error ? e.message : String(e)}`,
  };
}
