/**
 * The render worker of `--threads 2` (src/cli/threads.ts): reads the records of the rules from the ring, decodes each
 * packet's bytes again with the context the main thread used, and runs the same back end as a single-threaded run
 * (src/cli/back-end.ts), writing stdout itself (synchronous writes to fd 1, so nothing waits on the busy main thread).
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { dropCutProblems, type PacketRecord } from '../mqtt/connection-decoder.js';
import type { TraceSink } from '../sessions/records.js';
import { PacketDecoder } from '../mqtt/decoder.js';
import { PUBLISH } from '../mqtt/tables.js';
import type { DecodeContext, ProtocolLevel } from '../mqtt/types.js';
import { RuleEngine } from '../rules/engine.js';
import type { Connection } from '../tcp/types.js';
import { buildBackEnd, endOutput } from './back-end.js';
import { DrainOut } from './output.js';
import { sessionsStage } from './pipeline.js';
import { RingReader } from './ring.js';
import type { RenderWorkerData, RenderWorkerMessage } from './threads.js';

/** stdout closed under us (`| head`): nothing more is worth producing. */
class StdoutClosed extends Error {}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `chunk` to fd 1; a non-blocking stdout that is full is waited for, a closed one ends the run. */
function writeAll(chunk: Uint8Array): void {
  let at = 0;
  while (at < chunk.length) {
    try {
      at += writeSync(1, chunk, at, chunk.length - at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 1);
        continue;
      }
      if (code === 'EPIPE') throw new StdoutClosed();
      throw e;
    }
  }
}

function run(data: RenderWorkerData): RenderWorkerMessage {
  const reader = new RingReader(data.sab);
  const out = new DrainOut(writeAll);
  const be = buildBackEnd(data.args, out, data.color, data.tree, () => {
    // -c N: the main thread stops reading; what it already sent is drained and dropped.
    const limit: RenderWorkerMessage = { kind: 'limit' };
    parentPort!.postMessage(limit);
  });
  // The rules, and after them the sessions stage, when the main thread left them to this worker.
  const sessions = data.rules ? sessionsStage(be.sink, data.sessions) : null;
  const sink: TraceSink = data.rules ? new RuleEngine(sessions ?? be.sink) : be.sink;
  const decoder = new PacketDecoder();
  const ctx: DecodeContext = { level: 4, dir: null, tree: data.tree, payloadLimit: data.payloadLimit };
  const conns = new Map<number, Connection>();
  try {
    const complete = reader.run({
      frameTime: (s, n) => be.renderer.frameTime(s, n),
      open: (conn) => {
        conns.set(conn.id, conn);
        sink.open(conn);
      },
      close: (id, end) => {
        const conn = conns.get(id);
        if (conn === undefined) return;
        conns.delete(id);
        sink.close(conn, end);
      },
      event: (ev) => sink.event(ev),
      traced: (r) => sink.traced?.(r),
      packet: (p) => {
        const conn = conns.get(p.connId);
        if (conn === undefined) throw new Error(`ring: a packet of connection ${p.connId}, which is not open`);
        // The level the main thread decoded with (a CONNECT's own level decides for itself either way).
        ctx.level = p.level as ProtocolLevel;
        ctx.dir = p.dir;
        const decoded = decoder.decode(p.bytes, ctx);
        if (p.truncated !== undefined) dropCutProblems(decoded, p.bytes.length);
        if (p.resolvedTopic !== undefined && decoded.type === PUBLISH) decoded.resolvedTopic = p.resolvedTopic;
        const rec: PacketRecord = {
          conn, dir: p.dir, frame: p.frame, frames: p.frames, timeSec: p.timeSec, timeNsec: p.timeNsec, bytes: p.bytes,
          decoded, levelInferred: p.levelInferred, streamOffset: p.streamOffset, violations: p.violations,
          ipTtl: p.ipTtl, ipLength: p.ipLength, ipFlags: p.ipFlags, tcpFlags: p.tcpFlags, tcpLength: p.tcpLength,
          tcpDeltaSec: p.tcpDeltaSec, tcpDeltaNsec: p.tcpDeltaNsec,
        };
        if (p.truncated !== undefined) rec.truncated = p.truncated;
        sink.packet(rec);
      },
      wsFrame: (conn, dir, note) => be.wsNotes?.add(conn, dir, note),
      wsDrop: (conn) => be.wsNotes?.drop(conn),
      idle: () => out.flush(),
    });
    // The end of the input, as pipeline.finish() gives it in one thread (also after an unreadable input).
    sessions?.finish();
    // After an unreadable input only what was decoded before the error is shown, as in one thread.
    if (complete) endOutput(data.args, be, out, data.color, data.width);
    else out.flush();
    return { kind: 'done', packets: be.counter.packets, count: be.counter.count, tlsUndecrypted: be.counter.tlsUndecrypted };
  } catch (e) {
    reader.leave();
    if (e instanceof StdoutClosed) return { kind: 'stdout-closed' };
    throw e;
  }
}

// Started by threads.ts with RenderWorkerData.
parentPort!.postMessage(run(workerData as RenderWorkerData));
