/**
 * `--threads 2`: the main thread reads the capture and runs net, TCP, MQTT and the rules; a worker thread runs the
 * dialects and the renderers and writes stdout. The records after the rules cross in order through a shared ring
 * (src/cli/ring.ts), so the output is byte for byte what one thread prints (test/e2e/threads.test.ts). Worth it when
 * rendering is a large part of the work (text, --json, -V, -x): bench/README.md has the measurements.
 */
import { Worker } from 'node:worker_threads';
import { CaptureFormatError } from '../capture/types.js';
import type { PacketRecord, Violation } from '../mqtt/connection-decoder.js';
import type { TraceRecord, TraceSink } from '../sessions/records.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import { defaultPorts, EXIT, oneLine, type BackEndArgs } from './back-end.js';
import { noMqttMessage } from './no-mqtt.js';
import { buildFrontPipeline, readAll, type PipelineOptions } from './pipeline.js';
import type { ReadArgs, ReadIo } from './read.js';
import { newRingBuffer, RingWriter } from './ring.js';

/** What the render worker is started with (plain data and the ring's memory). */
export interface RenderWorkerData {
  sab: SharedArrayBuffer;
  args: BackEndArgs;
  color: boolean;
  width: number | undefined;
  /** The decode context of the packets as the single-threaded pipeline has it. */
  tree: boolean;
  /** Whether the worker runs the rules too (the ring then carries what the MQTT stage made). */
  rules: boolean;
  payloadLimit: number | undefined;
  /** What sessionsStage() decides from: --no-sessions and --shard. */
  sessions: Pick<PipelineOptions, 'shard' | 'sessions'>;
}

/** What the worker says: its counts when the ring ended, or that stdout closed under it (`| head`). */
export type RenderWorkerMessage =
  | { kind: 'done'; packets: number; count: number; tlsUndecrypted: number }
  | { kind: 'stdout-closed' }
  /** -c N was reached: reading can stop (the worker shows nothing more). */
  | { kind: 'limit' };

/**
 * The rules' downstream on the main thread: each call becomes a ring message. Frame times cross only where the
 * renderer reads them: the first frame's (relative times count from it) and the latest before an event or close.
 */
class RingSink implements TraceSink {
  private first = true;
  private timeSec = 0;
  private timeNsec = 0;
  private timeSent = true;

  constructor(readonly ring: RingWriter) {}

  frame(timeSec: number, timeNsec: number): void {
    this.timeSec = timeSec;
    this.timeNsec = timeNsec;
    this.timeSent = false;
    if (this.first) {
      this.first = false;
      this.sendTime();
    }
  }

  open(conn: Connection): void {
    this.ring.open(conn);
  }

  packet(rec: PacketRecord): void {
    this.ring.packet(rec);
  }

  event(ev: StreamEvent & { violations?: Violation[] }): void {
    this.sendTime();
    this.ring.event(ev);
  }

  traced(r: TraceRecord): void {
    this.ring.traced(r);
  }

  close(conn: Connection, end: ConnectionEnd): void {
    this.sendTime();
    this.ring.close(conn, end);
  }

  private sendTime(): void {
    if (this.timeSent) return;
    this.timeSent = true;
    this.ring.frameTime(this.timeSec, this.timeNsec);
  }
}

function backEndArgs(a: ReadArgs): BackEndArgs {
  return { json: a.json, verbose: a.verbose, hex: a.hex, full: a.full, redact: a.redact, color: a.color, dialect: a.dialect, summary: a.summary, onlyViolations: a.onlyViolations, failOn: a.failOn, filter: a.filter, count: a.count ?? false, maxPackets: a.maxPackets, fieldsExport: a.fieldsExport, timeFormat: a.timeFormat, decode: a.decode, shard: a.shard };
}

/** readCaptures with the back end in a worker thread; resolves with the same exit status. */
export async function runThreaded(a: ReadArgs, io: ReadIo, popts: PipelineOptions): Promise<number> {
  const sab = newRingBuffer();
  const ring = new RingWriter(sab);
  const sink = new RingSink(ring);
  // Where the work splits: after the rules when rendering is most of the rest (text, --json, -V, -x), before them
  // when little is printed (--summary alone, --only-violations), so each thread gets about half
  // (bench/README.md, "--threads 2").
  const rulesInWorker = popts.fieldsShown === false || a.onlyViolations;
  const workerData: RenderWorkerData = {
    sab, args: backEndArgs(a), color: io.color, width: io.width, tree: popts.tree, rules: rulesInWorker,
    payloadLimit: popts.fieldsShown === false ? 0 : popts.payloadLimit,
    sessions: { ...(popts.shard !== undefined ? { shard: popts.shard } : {}), ...(popts.sessions !== undefined ? { sessions: popts.sessions } : {}) },
  };
  // A small young generation for the worker: its default (sized for a main thread) kept 40-50 MB more resident, which
  // took --threads 2 past 256 MB at 200 MB (266-310 MB; 222-253 MB with 8 MB). bench/README.md, "--threads 2".
  const worker = new Worker(new URL('./render-worker.js', import.meta.url), { workerData, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  let stdoutClosed = false;
  let limitReached = false;
  let onClosed = (): void => {};
  const closed = new Promise<void>((resolve) => { onClosed = resolve; });
  const done = new Promise<{ packets: number; count: number; tlsUndecrypted: number }>((resolve, reject) => {
    worker.on('message', (m: RenderWorkerMessage) => {
      if (m.kind === 'done') resolve(m);
      else if (m.kind === 'limit') {
        limitReached = true;
        onClosed();
      } else {
        stdoutClosed = true;
        onClosed();
        resolve({ packets: 0, count: 0, tlsUndecrypted: 0 });
      }
    });
    worker.once('error', (e) => {
      // Reading stops too: nothing would show what is read from here on.
      onClosed();
      reject(e);
    });
    // After 'done' this settles nothing; before it, the worker died without saying why.
    worker.once('exit', (code) => reject(new Error(`the render worker stopped (exit code ${code})`)));
  });
  // The main thread builds no field trees: only the renderers read them, and they run in the worker.
  // The annotated hex shows WebSocket frame headers: the worker's renderer gets them through the ring.
  const wsNotes = a.hex && popts.tree ? { wsNotes: ring.wsFrames } : {};
  const pipeline = buildFrontPipeline(sink, { ...popts, tree: false, ...wsNotes }, (rec) => sink.frame(rec.timeSec, rec.timeNsec), !rulesInWorker);
  const stop = io.stop ? Promise.race([io.stop, closed]) : closed;
  const interrupted = (): boolean => stdoutClosed || limitReached || (io.interrupted?.() ?? false);
  let formatError: string | null = null;
  try {
    await readAll(a.captures, pipeline, {
      ...(io.stdin ? { stdin: io.stdin } : {}),
      stop,
      // Each chunk's records go over at once, so a live capture is shown as it arrives.
      afterChunk: () => {
        ring.publish();
        return io.afterChunk?.();
      },
      interrupted,
    });
  } catch (err) {
    if (!(err instanceof CaptureFormatError)) {
      ring.end();
      await worker.terminate();
      throw err;
    }
    formatError = err.message;
  } finally {
    io.readingDone?.();
  }
  pipeline.finish();
  ring.end(formatError === null);
  const result = await done;
  if (stdoutClosed) return EXIT.ok;
  if (formatError !== null) {
    // What was decoded before the error has been printed by the worker.
    io.err(`mqtt-dissect: ${oneLine(formatError)}`);
    return EXIT.unreadable;
  }
  if (result.packets === 0 && !interrupted()) io.err(noMqttMessage(a.captures.join(', '), pipeline.ports, defaultPorts(a.port), result.tlsUndecrypted));
  return a.failOn !== undefined && result.count > 0 ? EXIT.violations : EXIT.ok;
}
