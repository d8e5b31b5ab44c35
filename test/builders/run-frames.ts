/**
 * The whole in-process pipeline (net -> tcp -> mqtt -> rules -> dialects) over IP frames, collecting what reaches
 * the renderers: packets, events and closes, in order.
 */
import { buildPipeline, DEFAULT_PORTS, type Pipeline, type PipelineOptions } from '../../src/cli/pipeline.js';
import type { PacketRecord, PacketSink, Violation } from '../../src/mqtt/connection-decoder.js';
import { closeViolations } from '../../src/rules/close.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../../src/tcp/types.js';
import { LINK, toRecords, type RecordOptions } from './frames.js';

export type Seen =
  | { kind: 'packet'; rec: PacketRecord }
  | { kind: 'event'; ev: StreamEvent & { violations?: Violation[] } }
  | { kind: 'close'; conn: Connection; end: ConnectionEnd };

export interface FramesRun {
  seen: Seen[];
  packets: PacketRecord[];
  events: (StreamEvent & { violations?: Violation[] })[];
  closes: { conn: Connection; end: ConnectionEnd }[];
  /** Every violation, of packets, events and closes. */
  violations: Violation[];
}

/**
 * Frames (raw IP) into a pipeline as capture records, then its end; `times[i]`, when given, is frame i's capture time
 * in seconds after the first frame's.
 */
export function feedFrames(p: Pipeline, frames: Uint8Array[], times?: readonly number[], records: RecordOptions = {}): void {
  const recs = toRecords(frames, LINK.RAW, records);
  const start = recs[0]?.timeSec ?? 0;
  recs.forEach((r, i) => {
    const t = times?.[i];
    if (t !== undefined) {
      r.timeSec = start + Math.floor(t);
      r.timeNsec = Math.round((t - Math.floor(t)) * 1e9);
    }
    p.record(r);
  });
  p.finish();
}

export function runFrames(frames: Uint8Array[], o: Partial<PipelineOptions> & { times?: number[]; records?: RecordOptions } = {}): FramesRun {
  const seen: Seen[] = [];
  const sink: PacketSink = {
    open() {},
    packet(rec) { seen.push({ kind: 'packet', rec: { ...rec, bytes: rec.bytes.slice() } }); },
    event(ev) { seen.push({ kind: 'event', ev }); },
    close(conn, end) { seen.push({ kind: 'close', conn, end }); },
  };
  const p = buildPipeline(sink, { ports: [...DEFAULT_PORTS, ...(o.ports ?? [])], auto: o.auto ?? false, tree: false, dialect: o.dialect ?? 'auto' });
  feedFrames(p, frames, o.times, o.records);
  const packets = seen.flatMap((s) => (s.kind === 'packet' ? [s.rec] : []));
  const events = seen.flatMap((s) => (s.kind === 'event' ? [s.ev] : []));
  const closes = seen.flatMap((s) => (s.kind === 'close' ? [{ conn: s.conn, end: s.end }] : []));
  return { seen, packets, events, closes, violations: [...packets.flatMap((r) => r.violations), ...events.flatMap((e) => e.violations ?? []), ...closes.flatMap((c) => closeViolations(c.end))] };
}
