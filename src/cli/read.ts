/**
 * Reading captures: the stages wired to the renderers, the summary and the --fail-on count, over one or more inputs,
 * then what ends a run (the summary tables, the "no MQTT" hint, the exit status). Nothing here touches process: the
 * CLI (main.ts) hands in stdout, stderr, stdin and its Ctrl-C signal, and readInProcess() hands in memory instead,
 * so a test (the fuzzing harness) runs exactly what the CLI runs, thousands of times in one process.
 */
import { CaptureFormatError } from '../capture/types.js';
import { needsTree } from '../render/text.js';
import type { Shard } from '../tcp/reassembler.js';
import { buildBackEnd, defaultPorts, endOutput, EXIT, oneLine, renderOptions, type BackEndArgs, type LineOut } from './back-end.js';
import { noMqttMessage } from './no-mqtt.js';
import { MemoryOut } from './output.js';
import { buildFrontPipeline, readAll, type PipelineOptions } from './pipeline.js';
import { runThreaded } from './threads.js';
import { loadKeyLog } from './keylog-file.js';
import { CoverageCollector } from '../rules/coverage.js';
import { rowsOf, writeReports, type ReportRequest } from './report.js';
import type { KeyLog } from '../transport/tls/keylog.js';

export { EXIT, oneLine, renderOptions, type CommonArgs, type FailOn } from './back-end.js';

export interface ReadArgs extends BackEndArgs {
  captures: string[];
  port: number[];
  auto: boolean;
  shard: Shard | undefined;
  /** --threads: 1, or 2 to run the dialects and renderers in a worker thread (src/cli/threads.ts). */
  threads?: number;
  /** --max-connections: connections tracked at once (the reassembler's default when absent). */
  maxConnections: number | undefined;
  /** --tls-keylog FILE (else SSLKEYLOGFILE), --tls-port N. */
  tlsKeylog?: string | undefined;
  tlsPorts?: number[];
  /** --no-sessions: false leaves the sessions stage out (it is off with --shard K/N, N > 1, either way). */
  sessions?: boolean;
  /** --report junit|sarif FILE: CI reports written after the run (in one thread only: the rules' counters are read here). */
  reports?: ReportRequest[];
}

/** Where a run's output goes: lines and NDJSON records (stdout), and one-line messages (stderr). */
export type ReadOut = LineOut;

export interface ReadIo {
  out: ReadOut;
  /** One line for stderr, without its newline. */
  err(line: string): void;
  /** Colour decided by the caller (flag, terminal, NO_COLOR). */
  color: boolean;
  /** The environment (SSLKEYLOGFILE); none when absent. */
  env?: Readonly<Record<string, string | undefined>>;
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


/**
 * Reads every capture of `a` (one after the other, as one run) and prints what the options ask for. Resolves with
 * the exit status: ok, unreadable (after printing what was decoded before the error) or violations (--fail-on). An
 * interrupted run resolves ok or violations too; the caller turns the signal into its status.
 */
export async function readCaptures(a: ReadArgs, io: ReadIo): Promise<number> {
  const keylog = loadKeyLog(a.tlsKeylog, io.env, io.err);
  if (keylog === null) return EXIT.unreadable;
  if ((a.threads ?? 1) > 1) return runThreaded(a, io, pipelineOptions(a, keylog));
  const { out } = io;
  // -c N: reading stops once the back end has shown N packets.
  let limitReached = false;
  let onLimit = (): void => {};
  const limit = new Promise<void>((resolve) => { onLimit = () => { limitReached = true; resolve(); }; });
  const reports = a.reports ?? [];
  const collector = reports.length > 0 ? new CoverageCollector() : null;
  const be = buildBackEnd(a, out, io.color, needsTree(renderOptions(a, io.color)), onLimit, collector !== null ? [collector] : []);
  const pipeline = buildFrontPipeline(be.sink, { ...pipelineOptions(a, keylog), ...(be.wsNotes !== null ? { wsNotes: be.wsNotes } : {}) }, (rec) => be.renderer.frameTime(rec.timeSec, rec.timeNsec));
  const signalled = io.interrupted ?? ((): boolean => false);
  const interrupted = (): boolean => limitReached || signalled();
  const stop = io.stop ? Promise.race([io.stop, limit]) : limit;
  try {
    await readAll(a.captures, pipeline, { ...(io.stdin ? { stdin: io.stdin } : {}), stop, ...(io.afterChunk ? { afterChunk: io.afterChunk } : {}), interrupted });
  } catch (err) {
    if (err instanceof CaptureFormatError) {
      // What was decoded before the error is still shown.
      pipeline.finish();
      out.flush();
      io.err(`mqtt-dissect: ${oneLine(err.message)}`);
      if (collector !== null) {
        const bad = writeReports(reports, rowsOf(pipeline, collector), a.captures);
        if (bad !== null) io.err(`mqtt-dissect: ${oneLine(bad)}`);
      }
      return EXIT.unreadable;
    }
    throw err;
  } finally {
    io.readingDone?.();
  }
  pipeline.finish();
  endOutput(a, be, out, io.color, io.width);
  if (collector !== null) {
    const bad = writeReports(reports, rowsOf(pipeline, collector), a.captures);
    if (bad !== null) {
      io.err(`mqtt-dissect: ${oneLine(bad)}`);
      return EXIT.unreadable;
    }
  }
  if (be.counter.packets === 0 && !interrupted()) io.err(noMqttMessage(a.captures.join(', '), pipeline.ports, defaultPorts(a.port), be.counter.tlsUndecrypted));
  return a.failOn !== undefined && be.counter.count > 0 ? EXIT.violations : EXIT.ok;
}


/** The stages' options a command line asks for (the same in both ways of running). */
function pipelineOptions(a: ReadArgs, keylog: KeyLog): PipelineOptions {
  const ro = renderOptions(a, false);
  return {
    ports: defaultPorts(a.port), auto: a.auto, dialect: a.dialect, tree: needsTree(ro), fieldsShown: !ro.quiet, keylog,
    ...(a.tlsPorts !== undefined && a.tlsPorts.length > 0 ? { tlsPorts: a.tlsPorts } : {}),
    ...(a.full ? { payloadLimit: Number.MAX_SAFE_INTEGER } : {}), ...(a.shard ? { shard: a.shard } : {}), ...(a.sessions === false ? { sessions: false } : {}), ...(a.maxConnections !== undefined ? { maxConnections: a.maxConnections } : {}),
  };
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
