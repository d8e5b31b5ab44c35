/**
 * `mqtt-dissect trace CAPTURE...`: the sessions stage's message records as text blocks (src/render/trace-text.ts) or
 * NDJSON, narrowed by --client (the publisher or a receiver) and --topic (a Topic Filter, matched as a subscription
 * would); with --receivers TOPIC, the clients the broker model says would receive a PUBLISH to TOPIC.
 */
import { CaptureFormatError } from '../capture/types.js';
import type { PacketRecord } from '../mqtt/connection-decoder.js';
import { checkFilterSyntax, stripShare, topicMatches } from '../mqtt/topics.js';
import type { ChalkInstance } from 'chalk';
import { traceLines } from '../render/trace-text.js';
import { traceJson } from '../render/trace.js';
import { receiversJson, receiversLines } from '../render/receivers.js';
import type { MessageRecord, TraceRecord, TraceSink } from '../sessions/records.js';
import { KeyLog } from '../transport/tls/keylog.js';
import { defaultPorts, EXIT, oneLine, type LineOut } from './back-end.js';
import { buildFrontPipeline, readAll, type Pipeline } from './pipeline.js';

export interface TraceArgs {
  captures: string[];
  client: string | undefined;
  topic: string | undefined;
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

class TraceOut implements TraceSink {
  shown = 0;
  packets = 0;
  /** The --topic filter, `$share/{group}/` removed (it selects as the subscription would). */
  private readonly filter: string | null;
  constructor(private readonly a: TraceArgs, private readonly out: LineOut, private readonly chalk: ChalkInstance) {
    this.filter = a.topic === undefined ? null : stripShare(a.topic);
  }
  open(): void {}
  packet(_rec: PacketRecord): void { this.packets++; }
  event(): void {}
  close(): void {}
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
    if (c !== undefined && r.clientId !== c && !r.deliveries.some((d) => d.clientId === c) && !r.ambiguous.some((d) => d.clientId === c)) return false;
    return this.filter === null || topicMatches(this.filter, r.topic);
  }
}

export async function runTraceCommand(a: TraceArgs, out: LineOut, chalk: ChalkInstance, err: (line: string) => void): Promise<number> {
  const sink = new TraceOut(a, out, chalk);
  const pipeline = buildFrontPipeline(sink, {
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
