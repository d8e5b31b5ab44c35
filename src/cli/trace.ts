/**
 * `mqtt-dissect trace CAPTURE...`: the sessions stage's message records as text blocks (src/render/trace-text.ts) or
 * NDJSON, narrowed by --client (the publisher or a receiver) and --topic (a Topic Filter, matched as a subscription
 * would) and -Y (a filter expression, docs/filters.md: a message is shown when its publisher's PUBLISH or one of the
 * PUBLISHes that delivered it matches); with --receivers TOPIC, the clients the broker model says would receive a
 * PUBLISH to TOPIC.
 */
import { CaptureFormatError } from '../capture/types.js';
import type { PacketRecord } from '../mqtt/connection-decoder.js';
import { checkFilterSyntax, stripShare, topicMatches } from '../mqtt/topics.js';
import { compileFilter, type Predicate } from '../filter/compile.js';
import { Subject } from '../filter/fields.js';
import { ConnFactsTable, testPacket } from '../filter/stage.js';
import { PUBLISH } from '../mqtt/tables.js';
import { WINDOW_SEC } from '../sessions/stage.js';
import type { ChalkInstance } from 'chalk';
import { traceLines } from '../render/trace-text.js';
import { traceJson } from '../render/trace.js';
import { receiversJson, receiversLines } from '../render/receivers.js';
import type { MessageRecord, TraceRecord, TraceSink } from '../sessions/records.js';
import type { Connection } from '../tcp/types.js';
import { KeyLog } from '../transport/tls/keylog.js';
import { defaultPorts, EXIT, oneLine, type LineOut } from './back-end.js';
import { buildFrontPipeline, readAll, type Pipeline } from './pipeline.js';
import type { DecodeBinding } from '../dialects/decoders/bindings.js';
import { DialectStage } from '../dialects/stage.js';

export interface TraceArgs {
  captures: string[];
  /** --decode, --decode-file: payload formats bound to topic filters (for -Y on payloadDecoded.*). */
  decode?: readonly DecodeBinding[];
  client: string | undefined;
  topic: string | undefined;
  /** A -Y expression (several joined with &&), already checked. */
  filter?: string | undefined;
  /** A Topic Name: answer who would receive a PUBLISH to it instead of listing messages. */
  receivers?: string | undefined;
  /** With receivers: the publisher's ClientId (No Local). */
  from?: string | undefined;
  json?: boolean;
  port: number[];
  auto: boolean;
  keylog: KeyLog;
  tlsPorts: number[];
}

/** A --receivers that is no Topic Name (empty, or with a wildcard): the usage error, or null. */
export function topicNameError(topic: string): string | null {
  if (topic.length === 0) return '--receivers needs a Topic Name (e.g. "sensors/7/temp")';
  if (topic.includes('+') || topic.includes('#')) return `--receivers "${topic}" is no Topic Name: a PUBLISH topic has no wildcards (+ and # are for --topic)`;
  if (topic.includes('\u0000')) return '--receivers: a Topic Name has no U+0000';
  return null;
}

/** A --topic that is no valid Topic Filter: the usage error, or null. */
export function topicFilterError(filter: string): string | null {
  const b = new TextEncoder().encode(filter);
  if (b.length === 0) return '--topic needs a Topic Filter (e.g. "sensors/+/temp" or "plant/#")';
  const issue = checkFilterSyntax(b, 0, b.length);
  return issue === null ? null : `--topic "${filter}" is no Topic Filter: ${issue.message}`;
}

/**
 * How long a matching PUBLISH waits for the message record that names it: the sessions stage hands a message on at
 * the latest WINDOW_SEC after its PUBLISH (when its deliveries window closes), so twice that is past every record
 * that can still come. MAX_MATCHED bounds the table whatever the timestamps do (a capture whose clock stands still).
 */
const MATCH_KEEP_SEC = 2 * WINDOW_SEC;
const MAX_MATCHED = 1 << 20;

/**
 * -Y in trace: the filter is asked about every PUBLISH packet as it passes (with the connection-level fields of
 * src/filter/stage.ts), and the ones it matches are remembered by connection, frame and topic until the message
 * record that names them (as its publisher's PUBLISH or as one of its deliveries) arrives. A key per matching
 * PUBLISH only; nothing is kept when there is no -Y.
 */
export class TraceFilter {
  private readonly facts = new ConnFactsTable();
  private readonly subject = new Subject();
  /** Key to the capture time (seconds) of the PUBLISH, in arrival order (so the oldest is first). */
  private readonly matched = new Map<string, number>();
  /** Keys dropped by MAX_MATCHED before their message record came (said on stderr at the end). */
  dropped = 0;
  constructor(private readonly test: Predicate) {}

  open(conn: Connection): void { this.facts.open(conn); }
  close(conn: Connection): void { this.facts.close(conn); }

  packet(rec: PacketRecord): void {
    const d = rec.decoded;
    if (d.type !== PUBLISH) {
      this.facts.packet(rec); // a CONNECT's client id and user name hold for the PUBLISHes after it
      return;
    }
    const ok = testPacket(this.test, this.facts, this.subject, rec);
    this.forgetBefore(rec.timeSec - MATCH_KEEP_SEC);
    if (!ok) return;
    if (this.matched.size >= MAX_MATCHED) {
      this.matched.delete(this.matched.keys().next().value!);
      this.dropped++;
    }
    // The message record names a PUBLISH by connection and frame; topic, QoS and payload length tell apart the
    // PUBLISHes of one frame (which may carry several, one of them matching).
    this.matched.set(key(rec.conn.id, rec.frame, publishedTopic(d.resolvedTopic, d.topic), d.qos, d.payloadLength ?? 0), rec.timeSec);
  }

  /** The message is shown: its PUBLISH or one of its deliveries matched. Its keys are released either way. */
  selects(r: MessageRecord): boolean {
    let ok = this.take(key(r.conn, r.frame, r.topic, r.qos, r.payloadLength));
    for (const d of r.deliveries) ok = this.take(key(d.conn, d.frame, r.topic, d.qos, r.payloadLength)) || ok;
    // An ambiguous delivery's QoS is not in the record: any QoS of it.
    for (const d of r.ambiguous) for (let q = 0; q <= 2; q++) ok = this.take(key(d.conn, d.frame, r.topic, q, r.payloadLength)) || ok;
    return ok;
  }

  /** Matching PUBLISHes waiting for their message record (for tests: bounded). */
  get waiting(): number {
    return this.matched.size;
  }

  private take(k: string): boolean {
    return this.matched.delete(k);
  }

  private forgetBefore(sec: number): void {
    for (const [k, t] of this.matched) {
      if (t >= sec) return;
      this.matched.delete(k);
    }
  }
}

/** The topic as the sessions stage records it (the resolved one of a 5.0 Topic Alias). */
function publishedTopic(resolved: string | undefined, topic: string | undefined): string {
  return resolved !== undefined && resolved.length > 0 ? resolved : topic ?? '';
}

function key(conn: number, frame: number, topic: string, qos: number, payloadLength: number): string {
  return `${conn} ${frame} ${qos} ${payloadLength} ${topic}`;
}

class TraceOut implements TraceSink {
  shown = 0;
  packets = 0;
  /** The --topic filter, `$share/{group}/` removed (it selects as the subscription would). */
  private readonly filter: string | null;
  readonly expression: TraceFilter | null;
  constructor(private readonly a: TraceArgs, private readonly out: LineOut, private readonly chalk: ChalkInstance) {
    this.filter = a.topic === undefined ? null : stripShare(a.topic);
    this.expression = a.filter === undefined ? null : new TraceFilter(compileFilter(a.filter).test);
  }
  open(conn: Connection): void { this.expression?.open(conn); }
  packet(rec: PacketRecord): void {
    this.packets++;
    this.expression?.packet(rec);
  }
  event(): void {}
  close(conn: Connection): void { this.expression?.close(conn); }
  traced(r: TraceRecord): void {
    if (r.kind !== 'message' || this.a.receivers !== undefined || !this.wanted(r)) return;
    if (this.a.json === true) {
      this.shown++;
      this.out.line(traceJson(r));
      return;
    }
    if (this.shown++ > 0) this.out.line('');
    for (const l of traceLines(r, this.chalk)) this.out.line(l);
  }
  private wanted(r: MessageRecord): boolean {
    const c = this.a.client;
    // Asked first, so that the keys of a message the other options leave out are released too.
    if (this.expression !== null && !this.expression.selects(r)) return false;
    if (c !== undefined && r.clientId !== c && !r.deliveries.some((d) => d.clientId === c) && !r.ambiguous.some((d) => d.clientId === c)) return false;
    return this.filter === null || topicMatches(this.filter, r.topic);
  }
}

export async function runTraceCommand(a: TraceArgs, out: LineOut, chalk: ChalkInstance, err: (line: string) => void): Promise<number> {
  const sink = new TraceOut(a, out, chalk);
  // With --decode the payloads are decoded first, for -Y on payloadDecoded.* (no dialect, no views: nothing shows them).
  const front: TraceSink = a.decode !== undefined && a.decode.length > 0 ? new DialectStage(sink, { dialect: 'none', tree: false, views: false, decode: a.decode }) : sink;
  const pipeline = buildFrontPipeline(front, {
    ports: defaultPorts(a.port), auto: a.auto, tree: false, fieldsShown: false, dialect: 'none', keylog: a.keylog,
    allMessages: a.receivers === undefined, subscriptionHistory: a.receivers !== undefined,
    ...(a.tlsPorts.length > 0 ? { tlsPorts: a.tlsPorts } : {}),
  });
  try {
    await readAll(a.captures, pipeline, { interrupted: () => false });
    if (a.receivers !== undefined) return receiversAnswer(a, a.receivers, pipeline, sink, out, chalk, err);
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
    pipeline.finish();
    out.flush();
    err(`mqtt-dissect trace: ${oneLine(e.message)}`);
    return EXIT.unreadable;
  }
  pipeline.finish();
  out.flush();
  const dropped = sink.expression?.dropped ?? 0;
  if (dropped > 0) err(`mqtt-dissect trace: -Y: ${dropped} matching PUBLISH packet${dropped === 1 ? '' : 's'} left the table of ${MAX_MATCHED} before their message record came, so their messages are not shown`);
  if (sink.shown === 0) err(sink.packets === 0 ? 'mqtt-dissect trace: no MQTT in the capture' : 'mqtt-dissect trace: no message the filters select was published in the capture');
  return EXIT.ok;
}

/** --receivers: the broker model asked before the capture's end closes its connections (which drops clean sessions). */
function receiversAnswer(a: TraceArgs, topic: string, pipeline: Pipeline, sink: TraceOut, out: LineOut, chalk: ChalkInstance, err: (line: string) => void): number {
  const answer = pipeline.sessions?.receivers(topic, a.from ?? null) ?? null;
  pipeline.finish();
  if (answer === null) {
    out.flush();
    err('mqtt-dissect trace: the sessions stage is off, so there is no broker model to ask');
    return EXIT.ok;
  }
  for (const l of a.json === true ? receiversJson(answer) : receiversLines(answer, a.from ?? null, chalk)) out.line(l);
  out.flush();
  if (sink.packets === 0) err('mqtt-dissect trace: no MQTT in the capture');
  return EXIT.ok;
}
