/**
 * Reading captures: the stages wired to the renderers, the summary and the --fail-on count, over one or more inputs,
 * then what ends a run (the summary tables, the "no MQTT" hint, the exit status). Nothing here touches process: the
 * CLI (main.ts) hands in stdout, stderr, stdin and its Ctrl-C signal, and readInProcess() hands in memory instead,
 * so a test (the fuzzing harness) runs exactly what the CLI runs, thousands of times in one process.
 */
import { readCapture } from '../capture/source.js';
import { CaptureFormatError } from '../capture/types.js';
import type { PacketRecord, PacketSink, Severity, Violation } from '../mqtt/connection-decoder.js';
import type { DialectMode } from '../dialects/stage.js';
import { makeChalk } from '../render/color.js';
import { escapeText } from '../render/escape.js';
import { DEFAULT_WIDTH, SummaryCollector } from '../render/summary.js';
import { needsTree, Renderer, type DirectOut, type RenderOptions } from '../render/text.js';
import { closeViolations } from '../rules/close.js';
import type { Shard } from '../tcp/reassembler.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import { noMqttMessage } from './no-mqtt.js';
import { MemoryOut } from './output.js';
import { buildPipeline, DEFAULT_PORTS, FanOut } from './pipeline.js';

export const EXIT = { ok: 0, unreadable: 1, usage: 2, violations: 3 } as const;

/** Severities from the worst down: `--fail-on warning` fails on errors and warnings. */
const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, note: 2 };
export type FailOn = 'error' | 'warning';

/** Counts findings at or above the --fail-on threshold. */
class ViolationCounter implements PacketSink {
  count = 0;
  /** MQTT packets seen: none means the capture holds no MQTT on the ports looked at (a hint goes to stderr). */
  packets = 0;
  constructor(private readonly worst: number) {}
  open(): void {}
  close(_conn: Connection, end: ConnectionEnd): void { this.add(closeViolations(end)); }
  packet(rec: PacketRecord): void { this.packets++; if (rec.violations.length > 0) this.add(rec.violations); }
  event(ev: StreamEvent & { violations?: Violation[] }): void { if (ev.violations) this.add(ev.violations); }
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

export function renderOptions(a: CommonArgs & { summary?: boolean; onlyViolations?: boolean }, color: boolean): RenderOptions {
  const summaryOnly = a.summary === true && !a.json && !a.verbose && !a.hex;
  return {
    chalk: makeChalk(color),
    verbose: a.verbose,
    hex: a.hex,
    full: a.full,
    redact: a.redact,
    onlyViolations: a.onlyViolations === true,
    json: a.json,
    quiet: summaryOnly,
  };
}

export interface ReadArgs extends CommonArgs {
  captures: string[];
  port: number[];
  auto: boolean;
  dialect: DialectMode;
  summary: boolean;
  onlyViolations: boolean;
  failOn: FailOn | undefined;
  shard: Shard | undefined;
  /** --max-connections: connections tracked at once (the reassembler's default when absent). */
  maxConnections: number | undefined;
}

/** Where a run's output goes: lines and NDJSON records (stdout), and one-line messages (stderr). */
export interface ReadOut extends DirectOut {
  line(s: string): void;
  flush(): void;
}

export interface ReadIo {
  out: ReadOut;
  /** One line for stderr, without its newline. */
  err(line: string): void;
  /** Colour decided by the caller (flag, terminal, NO_COLOR). */
  color: boolean;
  /** Columns the --summary tables fit (the terminal's; DEFAULT_WIDTH when absent: a pipe, a file, CI). */
  width?: number;
  /** What "-" reads (process.stdin when absent). */
  stdin?: AsyncIterable<Uint8Array>;
  /** Settles when reading should stop early (SIGINT/SIGTERM); `interrupted()` then says so. */
  stop?: Promise<void>;
  interrupted?: () => boolean;
  /** After each input chunk (memory policy, stdout back-pressure). */
  afterChunk?: () => Promise<void> | undefined;
  /** Reading is over (ended, stopped or failed), before what ends the run is printed. */
  readingDone?: () => void;
}

/** One line for stderr, terminal-safe: messages may quote what the user typed or a file name. */
export function oneLine(s: string): string {
  return escapeText(s.replace(/[\r\n]+/g, ' ').trim());
}

/**
 * Reads every capture of `a` (one after the other, as one run) and prints what the options ask for. Resolves with
 * the exit status: ok, unreadable (after printing what was decoded before the error) or violations (--fail-on). An
 * interrupted run resolves ok or violations too; the caller turns the signal into its status.
 */
export async function readCaptures(a: ReadArgs, io: ReadIo): Promise<number> {
  const { out } = io;
  const ro = renderOptions(a, io.color);
  const renderer = new Renderer((l) => out.line(l), ro, out);
  const summary = a.summary ? new SummaryCollector() : null;
  const counter = new ViolationCounter(SEVERITY_RANK[a.failOn ?? 'error']);
  const sinks: PacketSink[] = [renderer, counter];
  if (summary) sinks.push(summary);
  const ports = [...new Set([...DEFAULT_PORTS, ...a.port])];
  const pipeline = buildPipeline(
    new FanOut(sinks),
    { ports, auto: a.auto, dialect: a.dialect, tree: needsTree(ro), fieldsShown: !ro.quiet, ...(a.full ? { payloadLimit: Number.MAX_SAFE_INTEGER } : {}), ...(a.shard ? { shard: a.shard } : {}), ...(a.maxConnections !== undefined ? { maxConnections: a.maxConnections } : {}) },
    (rec) => renderer.frameTime(rec.timeSec, rec.timeNsec),
  );
  const interrupted = io.interrupted ?? ((): boolean => false);
  try {
    // Several files are one run, read one after the other in the order given (as `mergecap -a` joins them): frame
    // numbers continue from file to file and connections carry on across them.
    let frames = 0;
    for (const capture of a.captures) {
      frames = await readCapture(capture, pipeline, {
        firstFrame: frames,
        ...(io.stdin ? { stdin: io.stdin } : {}),
        ...(io.stop ? { stop: io.stop } : {}),
        ...(io.afterChunk ? { afterChunk: io.afterChunk } : {}),
      });
      if (interrupted()) break;
    }
  } catch (err) {
    if (err instanceof CaptureFormatError) {
      // What was decoded before the error is still shown.
      pipeline.finish();
      out.flush();
      io.err(`mqtt-dissect: ${oneLine(err.message)}`);
      return EXIT.unreadable;
    }
    throw err;
  } finally {
    io.readingDone?.();
  }
  pipeline.finish();
  if (summary && a.json) {
    // Pure NDJSON: the tables become kind:"summary" records after the packet, event and close records.
    for (const line of summary.renderJson()) out.line(line);
  } else if (summary) {
    if (!ro.quiet) out.line('');
    out.line(summary.render(ro.chalk, io.color, io.width ?? DEFAULT_WIDTH));
  }
  out.flush();
  if (counter.packets === 0 && !interrupted()) io.err(noMqttMessage(a.captures.join(', '), pipeline.ports, ports));
  return a.failOn !== undefined && counter.count > 0 ? EXIT.violations : EXIT.ok;
}

/** The options of a plain `mqtt-dissect -` with nothing else given; callers override what they set. */
export const READ_DEFAULTS: ReadArgs = {
  captures: ['-'], json: false, verbose: false, hex: false, full: false, redact: false, color: false,
  port: [], auto: false, dialect: 'auto', summary: false, onlyViolations: false, failOn: undefined, shard: undefined, maxConnections: undefined,
};

export interface InProcessResult {
  /** Exit status, as the CLI would return it. */
  exit: number;
  /** stdout as text (at most `outLimit` bytes of it are kept). */
  stdout: string;
  /** Bytes written to stdout, counted whole even past `outLimit`. */
  stdoutBytes: number;
  stderr: string[];
}

/**
 * The CLI's read path over a capture in memory (given as "-"), pushed in `chunk`-byte pieces, into memory: what
 * `mqtt-dissect [options] - < capture` prints and returns, without a process. For harnesses that run it thousands of
 * times; anything thrown is what the CLI would report as an internal error.
 */
export async function readInProcess(bytes: Uint8Array, args: Partial<ReadArgs> = {}, opts: { chunk?: number; outLimit?: number } = {}): Promise<InProcessResult> {
  const a: ReadArgs = { ...READ_DEFAULTS, ...args, captures: ['-'] };
  const out = new MemoryOut(opts.outLimit);
  const stderr: string[] = [];
  const step = Math.max(1, opts.chunk ?? 256 * 1024);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < bytes.length; at += step) yield bytes.subarray(at, at + step);
  }
  const exit = await readCaptures(a, { out, err: (l) => stderr.push(l), color: a.color === true, stdin: chunks() });
  out.flush();
  return { exit, stdout: out.text(), stdoutBytes: out.total, stderr };
}
