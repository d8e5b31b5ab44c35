/**
 * What comes after the rules in a read run: the dialects, the renderers, the summary and the --fail-on count, and
 * what ends the run's output (the summary tables). One builder for both ways of running: in the main thread
 * (src/cli/read.ts) and, with --threads 2, in the render worker (src/cli/render-worker.ts), so both print the same.
 */
import type { PacketRecord, PacketSink, Severity, Violation } from '../mqtt/connection-decoder.js';
import { DialectStage, type DialectMode } from '../dialects/stage.js';
import type { DecodeBinding } from '../dialects/decoders/bindings.js';
import type { TraceSink } from '../sessions/records.js';
import { makeChalk } from '../render/color.js';
import { DEFAULT_WIDTH, SummaryCollector } from '../render/summary.js';
import { Renderer, type DirectOut, type RenderOptions } from '../render/text.js';
import { closeViolations } from '../rules/close.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import type { Shard } from '../tcp/reassembler.js';
import { escapeText } from '../render/escape.js';
import type { TimeFormat } from '../render/format.js';
import { DEFAULT_PORTS, FanOut } from './pipeline.js';
import { WsFrameNotes } from '../transport/websocket.js';
import { compileFilter, resolveField } from '../filter/compile.js';
import { FieldsExporter, type ExportOptions } from '../render/fields-export.js';
import { FilterStage } from '../filter/stage.js';
import { StatsCollector, statsCsv, statsJson, statsText, type StatsOptions } from '../render/stats/stats.js';

export const EXIT = { ok: 0, unreadable: 1, usage: 2, violations: 3 } as const;

/**
 * Statistics sections (src/render/stats/) that --summary shows after its own tables, from the same pass: per client,
 * top talkers and busiest seconds, QoS flows, in-flight depth against Receive Maximum. io and topics are `stats io` / `stats topics` only: a time series per
 * bucket is for plotting, not for a summary, and the summary has its own topics table.
 */
export const SUMMARY_SECTIONS: readonly string[] = ['clients', 'talkers', 'qos-flows', 'inflight'];

/** One line for stderr, terminal-safe: messages may quote what the user typed or a file name. */
export function oneLine(s: string): string {
  return escapeText(s.replace(/[\r\n]+/g, ' ').trim());
}

/** The ports read as MQTT: the defaults and every --port. */
export function defaultPorts(port: readonly number[]): number[] {
  return [...new Set([...DEFAULT_PORTS, ...port])];
}

/** Severities from the worst down: `--fail-on warning` fails on errors and warnings. */
export const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, note: 2 };
export type FailOn = 'error' | 'warning';

/** Counts findings at or above the --fail-on threshold. */
export class ViolationCounter implements PacketSink {
  count = 0;
  /** MQTT packets seen: none means the capture holds no MQTT on the ports looked at (a hint goes to stderr). */
  packets = 0;
  /** TLS connections not decrypted (the hint then names --tls-keylog). */
  tlsUndecrypted = 0;
  constructor(private readonly worst: number) {}
  open(): void {}
  close(_conn: Connection, end: ConnectionEnd): void { this.add(closeViolations(end)); }
  packet(rec: PacketRecord): void { this.packets++; if (rec.violations.length > 0) this.add(rec.violations); }
  event(ev: StreamEvent & { violations?: Violation[] }): void {
    if (ev.violations) this.add(ev.violations);
    if (ev.tls !== undefined && !ev.tls.decrypted) this.tlsUndecrypted++;
  }
  private add(vs: readonly Violation[]): void {
    for (const v of vs) if (SEVERITY_RANK[v.severity] <= this.worst) this.count++;
  }
}

export interface CommonArgs {
  json: boolean;
  verbose: boolean;
  hex: boolean;
  full: boolean;
  redact: boolean;
  color: boolean | undefined;
}

export function renderOptions(a: CommonArgs & { summary?: boolean; onlyViolations?: boolean; count?: boolean; fieldsExport?: FieldsExportArgs | undefined; timeFormat?: TimeFormat | undefined; stats?: StatsArgs | undefined }, color: boolean): RenderOptions {
  // --count and field export print no record in any mode; --summary alone prints only its tables.
  const summaryOnly = a.count === true || a.fieldsExport !== undefined || a.stats !== undefined || (a.summary === true && !a.json && !a.verbose && !a.hex);
  return {
    chalk: makeChalk(color),
    verbose: a.verbose,
    hex: a.hex,
    full: a.full,
    redact: a.redact,
    onlyViolations: a.onlyViolations === true,
    json: a.json,
    quiet: summaryOnly,
    ...(a.timeFormat !== undefined ? { timeFormat: a.timeFormat } : {}),
  };
}

/** What the back end needs of the command line (plain data: it is also handed to the render worker). */
export interface BackEndArgs extends CommonArgs {
  dialect: DialectMode;
  /** --shard K/N: with N > 1 this run sees only some connections (the dialect stage then judges nothing across them). */
  shard?: Shard | undefined;
  summary: boolean;
  onlyViolations: boolean;
  failOn: FailOn | undefined;
  /** -Y: the filter expression (checked before the run starts, so it compiles here). */
  filter?: string | undefined;
  /** --count: print how many packets match instead of the packets. */
  count?: boolean;
  /** -t: the text view's time column. */
  timeFormat?: TimeFormat | undefined;
  /** -c N: show at most N packets, then stop reading. */
  maxPackets?: number | undefined;
  /** -T fields -e … -E …, --csv: rows of fields instead of records (the names were checked before the run). */
  fieldsExport?: FieldsExportArgs | undefined;
  /** `stats NAME`: one statistics section instead of the records (src/render/stats/). */
  stats?: StatsArgs | undefined;
  /** --decode, --decode-file: payload formats bound to topic filters (checked before the run). */
  decode?: readonly DecodeBinding[] | undefined;
}

/** A statistics section and how it is printed (plain data, like the rest of the back end's arguments). */
export interface StatsArgs extends StatsOptions {
  format: 'text' | 'json' | 'csv';
}

/** Field export as plain data (it crosses to the render worker): the names as given and the -E settings. */
export interface FieldsExportArgs {
  readonly names: readonly string[];
  readonly options: Omit<ExportOptions, 'fields'>;
}

/** Where a run's output goes: lines and NDJSON records (stdout). */
export interface LineOut extends DirectOut {
  line(s: string): void;
  flush(): void;
}

export interface BackEnd {
  /** The rules' (and the sessions stage's) downstream: dialects, then renderer, counter and summary. */
  readonly sink: TraceSink;
  readonly renderer: Renderer;
  readonly counter: ViolationCounter;
  readonly summary: SummaryCollector | null;
  /** The statistics sections --summary shows after its own tables (SUMMARY_SECTIONS); its pairing is the timing table's. */
  readonly summaryStats: StatsCollector | null;
  readonly ro: RenderOptions;
  /**
   * The WebSocket frame headers the annotated hex shows below a packet carried over WebSocket (null without -x): the
   * transport stage fills it, in this thread or, with --threads 2, through the ring.
   */
  readonly wsNotes: WsFrameNotes | null;
  /** -Y, -c, --count: what decides which records are shown (null: all are). */
  readonly shown: FilterStage | null;
  /** `stats NAME`: the section collected. */
  readonly stats: StatsCollector | null;
}

/**
 * `tree`: whether the dialects build tree nodes (the modes that show the field tree). `onLimit`: called once when -c's
 * packet count is reached (the caller stops reading). `beside`: sinks that see every record, as the --fail-on counter
 * does, whatever a filter shows (the --report collector). `alsoShown`: sinks that see what the filter shows, as the
 * renderer and the summary do (the HTML page).
 */
export function buildBackEnd(a: BackEndArgs, out: LineOut, color: boolean, tree: boolean, onLimit?: () => void, beside: readonly PacketSink[] = [], alsoShown: readonly TraceSink[] = []): BackEnd {
  const ro = renderOptions(a, color);
  const wsNotes = ro.hex && tree && !ro.json && !ro.quiet ? new WsFrameNotes() : null;
  if (wsNotes !== null) ro.wsNotes = wsNotes;
  const renderer = new Renderer((l) => out.line(l), ro, out);
  const stats = a.stats !== undefined ? new StatsCollector(a.stats) : null;
  // The summary's timing table comes from the timing section's code (its pairing sees every packet, like the stats).
  const summaryTiming = a.summary ? new StatsCollector({ section: 'timing', overallOnly: true, also: SUMMARY_SECTIONS }) : null;
  const summary = a.summary ? new SummaryCollector(summaryTiming?.pairing ?? undefined) : null;
  const collectors = [stats, summaryTiming].filter((x) => x !== null);
  const counter = new ViolationCounter(SEVERITY_RANK[a.failOn ?? 'error']);
  const shown: TraceSink[] = [renderer];
  if (a.fieldsExport !== undefined) {
    const fields = a.fieldsExport.names.map((name) => ({ name, field: resolveField(name) }));
    shown.push(new FieldsExporter({ ...a.fieldsExport.options, fields, redact: a.redact }, (l) => out.line(l)));
  }
  if (summary) shown.push(summary);
  shown.push(...alsoShown);
  for (const c of collectors) shown.push(c.counted);
  // The --fail-on count sees every finding; a filter only narrows what is printed and summed up.
  const filter = a.filter !== undefined ? compileFilter(a.filter) : null;
  const stage = filter === null && a.maxPackets === undefined && a.count !== true ? null
    : new FilterStage(filter, new FanOut(shown), (conn, end) => {
      renderer.close(conn);
      summary?.close(conn, end);
      for (const c of collectors) c.close(conn, end, false);
    }, a.maxPackets ?? Infinity, onLimit, (rec) => renderer.hidden(rec));
  // The collectors' observers see every record, before the filter (the pairing of requests and responses), as does
  // what is `beside` (the --report collector).
  const sink = new DialectStage(new FanOut([counter, ...beside, ...collectors.map((c) => c.observer), ...(stage === null ? shown : [stage])]), {
    // A filter or an exported column may ask how a payload reads (payloadView) even when no record is printed.
    dialect: a.dialect, tree, views: !ro.quiet || filter !== null || a.fieldsExport !== undefined,
    ...(a.shard !== undefined && a.shard.count > 1 ? { someConnections: true } : {}),
    ...(a.decode !== undefined && a.decode.length > 0 ? { decode: a.decode } : {}),
  });
  summary?.useSparkplug(sink.sparkplug);
  return { sink, renderer, counter, summary, summaryStats: summaryTiming, ro, wsNotes, shown: stage, stats };
}

/** After the last record: the summary tables (as text, or as kind:"summary" records with --json), then a flush. */
export function endOutput(a: BackEndArgs, be: BackEnd, out: LineOut, color: boolean, width: number | undefined): void {
  if (be.summary && a.json) {
    // Pure NDJSON: the tables become kind:"summary" records after the packet, event and close records.
    for (const line of be.summary.renderJson()) out.line(line);
    for (const line of statsJson(be.summaryStats?.alsoTables() ?? [])) out.line(line);
  } else if (be.summary) {
    if (!be.ro.quiet) out.line('');
    out.line(be.summary.render(be.ro.chalk, color, width ?? DEFAULT_WIDTH));
    for (const line of statsText(be.summaryStats?.alsoTables() ?? [], be.ro.chalk, color, width ?? DEFAULT_WIDTH)) out.line(line);
  }
  if (be.stats !== null && a.stats !== undefined) {
    const tables = be.stats.tables();
    const lines = a.stats.format === 'json' ? statsJson(tables) : a.stats.format === 'csv' ? statsCsv(tables) : statsText(tables, be.ro.chalk, color, width ?? DEFAULT_WIDTH);
    for (const l of lines) out.line(l);
  }
  if (a.count === true) {
    const n = be.shown?.packets ?? 0;
    out.line(a.json ? `{"kind":"count","packets":${n}}` : String(n));
  }
  out.flush();
}
