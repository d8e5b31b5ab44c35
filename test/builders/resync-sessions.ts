/**
 * Clean MQTT sessions (3.1.1 or 5.0) cut into TCP segments, with one data segment dropped, and a check of what the
 * pipeline made of them: which packets the gap did not touch and were not reported exactly once (lost), which
 * reported packets the clients never sent (phantoms), and how many stream bytes no packet, gap or event accounts for.
 *
 * A session is a pure function of its seed (a small PRNG, not fast-check), so a failing seed reproduces on its own
 * and the same population can be measured on two trees.
 */
import * as m from './mqtt-bytes.js';
import { FIN, ACK, TcpSession } from './frames.js';
import { runFrames } from './run-frames.js';
import type { Direction } from '../../src/tcp/types.js';

/** mulberry32: tiny, seedable, good enough to vary test inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SentPacket {
  dir: Direction;
  offset: number;
  bytes: Uint8Array;
}

export interface DropSession {
  seed: number;
  level: 4 | 5;
  frames: Uint8Array[];
  packets: SentPacket[];
  streamLength: Record<Direction, number>;
  dropped: { dir: Direction; from: number; to: number };
}

/** What real publishers send: JSON full of decimal digits, opaque binary, short text. */
function payload(rnd: () => number, large: boolean): Uint8Array {
  const kind = rnd();
  const n = large ? 20_000 + Math.floor(rnd() * 60_000) : 1 + Math.floor(rnd() * (rnd() < 0.3 ? 3000 : 200));
  if (kind < 0.45) {
    let s = `{"ts":${1733220000000 + Math.floor(rnd() * 1e9)},"values":[`;
    while (s.length < n) s += `${(rnd() * 1000).toFixed(3)},`;
    return new TextEncoder().encode(`${s.slice(0, Math.max(0, n - 2))}]}`);
  }
  if (kind < 0.85) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
    return b;
  }
  return new TextEncoder().encode(`state ${Math.floor(rnd() * 1e6)}`.repeat(Math.max(1, Math.floor(n / 12))));
}

export function makeDropSession(seed: number): DropSession {
  const rnd = prng(seed);
  const level: 4 | 5 = rnd() < 0.5 ? 4 : 5;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const flights: { dir: Direction; bytes: Uint8Array[] }[] = [];
  const say = (dir: Direction, ...pkts: Uint8Array[]): void => {
    const last = flights[flights.length - 1];
    // Packets sent back to back by one side often share a segment.
    if (last && last.dir === dir && rnd() < 0.5) last.bytes.push(...pkts);
    else flights.push({ dir, bytes: pkts });
  };
  let clientId = 1;
  let serverId = 1;
  const topic = (): string => `plant/${pick(['line-1', 'line-2', 'boiler'])}/${pick(['temp', 'pressure', 'state', 'json'])}`;

  say('c2s', m.connect({ level, clientId: `dev-${seed}`, keepAlive: 60 }));
  say('s2c', m.connack({ level }));
  // The client subscribes to what the server will forward, as a real one does.
  say('c2s', m.subscribe({ level, packetId: clientId, subscriptions: [{ topic: 'plant/#', qos: 2 }] }));
  say('s2c', m.suback({ level, packetId: clientId++, codes: [2] }));
  const ops = 4 + Math.floor(rnd() * 20);
  for (let k = 0; k < ops; k++) {
    const op = rnd();
    const large = rnd() < 0.04;
    if (op < 0.45) {
      const qos = pick([0, 0, 1, 2]);
      const packetId = qos > 0 ? clientId++ : undefined;
      say('c2s', m.publish({ level, topic: topic(), qos, payload: payload(rnd, large), ...(packetId ? { packetId } : {}) }));
      if (qos === 1) say('s2c', m.ack('PUBACK', { packetId: packetId!, level }));
      if (qos === 2) {
        say('s2c', m.ack('PUBREC', { packetId: packetId!, level }));
        say('c2s', m.ack('PUBREL', { packetId: packetId!, level }));
        say('s2c', m.ack('PUBCOMP', { packetId: packetId!, level }));
      }
    } else if (op < 0.75) {
      const qos = pick([0, 1, 2]);
      const packetId = qos > 0 ? serverId++ : undefined;
      say('s2c', m.publish({ level, topic: topic(), qos, payload: payload(rnd, large), ...(packetId ? { packetId } : {}) }));
      if (qos === 1) say('c2s', m.ack('PUBACK', { packetId: packetId!, level }));
      if (qos === 2) {
        say('c2s', m.ack('PUBREC', { packetId: packetId!, level }));
        say('s2c', m.ack('PUBREL', { packetId: packetId!, level }));
        say('c2s', m.ack('PUBCOMP', { packetId: packetId!, level }));
      }
    } else if (op < 0.85) {
      const packetId = clientId++;
      const n = 1 + Math.floor(rnd() * 3);
      const subscriptions = Array.from({ length: n }, () => ({ topic: pick(['alerts', 'alerts/+', 'cmd/dev/+', 'cfg/#']), qos: pick([0, 1, 2]) }));
      say('c2s', m.subscribe({ level, packetId, subscriptions }));
      say('s2c', m.suback({ level, packetId, codes: subscriptions.map((s) => s.qos) }));
    } else if (op < 0.9) {
      const packetId = clientId++;
      say('c2s', m.unsubscribe({ level, packetId, topics: ['alerts'] }));
      say('s2c', m.unsuback({ level, packetId, codes: [0] }));
    } else {
      say('c2s', m.pingreq());
      say('s2c', m.pingresp());
    }
    if (clientId > 60000) clientId = 1;
    if (serverId > 60000) serverId = 1;
  }
  say('c2s', m.disconnect({ level }));

  const s = new TcpSession(`10.1.${(seed >> 8) & 255}.${seed & 255}:${40000 + (seed % 20000)}`, '10.9.0.1:1883', { clientIsn: Math.floor(rnd() * 2 ** 32) });
  const frames: Uint8Array[] = [...s.handshake()];
  const packets: SentPacket[] = [];
  const at: Record<Direction, number> = { c2s: 0, s2c: 0 };
  const segs: { index: number; dir: Direction; from: number; to: number }[] = [];
  for (const f of flights) {
    const data = m.bytes(...f.bytes);
    for (const p of f.bytes) {
      packets.push({ dir: f.dir, offset: at[f.dir], bytes: p });
      at[f.dir] += p.length;
    }
    const mss = 20 + Math.floor(rnd() * 1441);
    const start = at[f.dir] - data.length;
    const out = s.send(f.dir === 'c2s' ? 'client' : 'server', data, mss);
    out.forEach((frame, i) => {
      segs.push({ index: frames.length, dir: f.dir, from: start + i * mss, to: Math.min(start + (i + 1) * mss, at[f.dir]) });
      frames.push(frame);
    });
  }
  frames.push(s.fin('client'), s.fin('server'), s.raw('client', { flags: ACK }));
  void FIN;
  const drop = segs[Math.floor(rnd() * segs.length)]!;
  frames.splice(drop.index, 1);
  return { seed, level, frames, packets, streamLength: at, dropped: { dir: drop.dir, from: drop.from, to: drop.to } };
}

export interface DropOutcome {
  /** Packets the gap did not touch that were not reported exactly once. */
  lost: number;
  /** Reported packets that are not what the sender sent at that place. */
  phantoms: number;
  /** Stream bytes in no reported packet, no gap and no event's skipped count (negative: counted twice). */
  unaccounted: number;
  /** Findings on packets or events (a clean session has none to find). */
  findings: number;
  details: string[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Bytes an event says were skipped (arrived, not decoded). `skipped` where present; else what older code said. */
function skippedOf(ev: { event: string; bytes?: number; skipped?: number; message: string }): number {
  if (ev.skipped !== undefined) return ev.skipped;
  if (ev.event === 'resync' || ev.event === 'incomplete' || ev.event === 'not-mqtt') return ev.bytes ?? 0;
  if (ev.event === 'damaged') {
    // Before `skipped`: "a PUBLISH of N bytes at stream offset X lost K bytes in a gap".
    const mm = /of (\d+) bytes at stream offset \d+ lost (\d+) byte/.exec(ev.message);
    return mm ? Number(mm[1]) - Number(mm[2]) : 0;
  }
  return 0;
}

export function runDropSession(s: DropSession): DropOutcome {
  const run = runFrames(s.frames);
  const details: string[] = [];
  const sent = new Map<string, SentPacket>();
  for (const p of s.packets) sent.set(`${p.dir}@${p.offset}`, p);
  const seen = new Map<string, number>();
  let phantoms = 0;
  const decodedBytes: Record<Direction, number> = { c2s: 0, s2c: 0 };
  for (const r of run.packets) {
    const key = `${r.dir}@${r.streamOffset}`;
    const want = sent.get(key);
    decodedBytes[r.dir] += r.bytes.length;
    if (!want || hex(want.bytes) !== hex(r.bytes)) {
      phantoms++;
      details.push(`phantom ${r.decoded.typeName} ${key} (${r.bytes.length} bytes)`);
      continue;
    }
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  let lost = 0;
  for (const p of s.packets) {
    const touched = p.dir === s.dropped.dir && p.offset < s.dropped.to && p.offset + p.bytes.length > s.dropped.from;
    if (touched) continue;
    const n = seen.get(`${p.dir}@${p.offset}`) ?? 0;
    if (n !== 1) {
      lost++;
      details.push(`${n === 0 ? 'lost' : `reported ${n} times:`} ${p.dir}@${p.offset} type ${p.bytes[0]! >> 4} (${p.bytes.length} bytes)`);
    }
  }
  let unaccounted = 0;
  for (const dir of ['c2s', 's2c'] as const) {
    const evs = run.events.filter((e) => e.dir === dir);
    const gaps = evs.filter((e) => e.event === 'gap').reduce((n, e) => n + (e.bytes ?? 0), 0);
    const skipped = evs.reduce((n, e) => n + skippedOf(e), 0);
    const diff = s.streamLength[dir] - decodedBytes[dir] - gaps - skipped;
    if (diff !== 0) details.push(`${dir}: ${diff} bytes unaccounted (${evs.map((e) => `${e.event}:${e.bytes ?? ''}/${e.skipped ?? ''}`).join(' ')})`);
    unaccounted += Math.abs(diff);
  }
  const findings = run.violations.length;
  if (findings > 0) details.push(`findings: ${run.violations.map((v) => `${v.id} ${v.message}`).slice(0, 3).join('; ')}`);
  return { lost, phantoms, unaccounted, findings, details };
}
