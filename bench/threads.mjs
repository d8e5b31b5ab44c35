/**
 * Two-thread prototype (issue 11, "Two cores"): is a worker-thread split worth building into the CLI?
 *
 *   node bench/threads.mjs FILE [--split] [--runs N]
 *
 * The split measured: the main thread reads the capture and runs net, TCP, MQTT framing + decoding and the rules; it
 * hands each packet over through a SharedArrayBuffer ring (its bytes, where and when it was seen, the level the
 * connection decoder used, the rules' findings and the topic an alias resolved to). The worker decodes the bytes again
 * (a typed packet cannot cross threads without being serialised, and decoding is cheaper than that), runs the dialect
 * stage and writes the NDJSON packet records. Without --split the same two halves run one after the other in one
 * thread, so both runs do exactly the same work apart from the handover. Each prints wall time, the CPU time of
 * the process and the md5 of the NDJSON packet records (they must be equal).
 *
 * What it leaves out (the CLI would need them; they are a small fraction of the records): stream events, close and
 * connection records. The dist/ build is used, as the CLI uses it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);

const RING_BYTES = 16 * 1024 * 1024;
/** Bytes written before the producer tells the consumer: one notify per batch, not per packet. */
const PUBLISH_EVERY = 64 * 1024;
const W = 0; // bytes written (mod 2^32)
const R = 1; // bytes read (mod 2^32)
const DONE = 2;

const T_PACKET = 1;
const T_OPEN = 2;
const T_CLOSE = 3;
const T_WRAP = 4;

// ---- the second half: decode again, dialects, NDJSON ---------------------------------------------------------

async function secondHalf() {
  const { PacketDecoder } = await dist('mqtt/decoder.js');
  const { DialectStage } = await dist('dialects/stage.js');
  const { writePacketRecord } = await dist('render/ndjson.js');
  const { ByteOut } = await dist('render/bytes-out.js');
  const hash = createHash('md5');
  let bytesOut = 0;
  const w = new ByteOut((chunk) => { hash.update(chunk); bytesOut += chunk.length; });
  const o = { redact: false, payloadLimit: 1024 };
  let records = 0;
  const last = { open() {}, close() {}, event() {}, packet(rec) { records++; writePacketRecord(w, rec, o); } };
  const dialects = new DialectStage(last, { dialect: 'auto', tree: false, views: true });
  const decoder = new PacketDecoder();
  const conns = new Map();
  return {
    open(conn) { conns.set(conn.id, conn); dialects.open(conn); },
    close(id) { const c = conns.get(id); if (c) { conns.delete(id); dialects.close(c, { frame: 0, timeSec: 0, timeNsec: 0, cause: 'fin' }); } },
    packet(connId, dir, level, levelInferred, frame, frames, timeSec, timeNsec, streamOffset, bytes, violations, resolvedTopic) {
      const decoded = decoder.decode(bytes, { level, dir, tree: false, payloadLimit: undefined });
      if (resolvedTopic !== undefined) decoded.resolvedTopic = resolvedTopic;
      dialects.packet({ conn: conns.get(connId), dir, frame, frames, timeSec, timeNsec, bytes, decoded, levelInferred, streamOffset, violations });
    },
    end() { w.flush(); return { records, bytesOut, md5: hash.digest('hex') }; },
  };
}

// ---- the first half: capture, net, TCP, MQTT, rules -----------------------------------------------------------

async function firstHalf(file, hand) {
  const { CaptureParser } = await dist('capture/reader.js');
  const { NetDecoder } = await dist('net/decoder.js');
  const { TcpReassembler } = await dist('tcp/reassembler.js');
  const { ConnectionDecoder } = await dist('mqtt/connection-decoder.js');
  const { RuleEngine } = await dist('rules/engine.js');
  const sink = {
    open(conn) { hand.open(conn); },
    close(conn) { hand.close(conn.id); },
    event() {},
    packet(rec) {
      const d = rec.decoded;
      hand.packet(rec.conn.id, rec.dir, rec.decoded.level, rec.levelInferred, rec.frame, rec.frames, rec.timeSec, rec.timeNsec, rec.streamOffset, rec.bytes, rec.violations, d.resolvedTopic);
    },
  };
  const mqtt = new ConnectionDecoder(new RuleEngine(sink), { tree: false });
  const tcp = new TcpReassembler(mqtt, { ports: new Set([1883, 6002]), auto: false, heldBytes: mqtt.budget });
  const net = new NetDecoder(() => {});
  const parser = new CaptureParser({
    record(rec) {
      mqtt.setCurrentFrame(rec.frame, rec.timeSec, rec.timeNsec);
      const seg = net.decode(rec);
      if (seg) tcp.segment(seg);
    },
    event() {},
  }, file);
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    parser.push(chunk);
    hand.batch?.();
  }
  parser.end();
  net.finish(0);
  tcp.finish(0, 0, 0);
}

// ---- the ring -------------------------------------------------------------------------------------------------

const enc = new TextEncoder();
const dec = new TextDecoder();

class RingWriter {
  constructor(sab) {
    this.ctrl = new Int32Array(sab, 0, 4);
    this.u8 = new Uint8Array(sab, 16, RING_BYTES);
    this.dv = new DataView(sab, 16, RING_BYTES);
    this.w = 0;
    this.published = 0;
    this.waits = 0;
  }

  /** Room for n more bytes at the write position without wrapping; waits for the reader when the ring is full. */
  reserve(n) {
    let off = this.w % RING_BYTES;
    if (off + n > RING_BYTES) {
      this.need(RING_BYTES - off);
      if (RING_BYTES - off >= 4) this.dv.setUint32(off, T_WRAP << 24);
      this.w = (this.w + RING_BYTES - off) >>> 0;
      off = 0;
    }
    this.need(n);
    return off;
  }

  need(n) {
    for (;;) {
      const r = Atomics.load(this.ctrl, R) >>> 0;
      if (RING_BYTES - ((this.w - r) >>> 0) >= n) return;
      this.publish();
      this.waits++;
      Atomics.wait(this.ctrl, R, r | 0, 50);
    }
  }

  commit(n) {
    this.w = (this.w + n) >>> 0;
    if (((this.w - this.published) >>> 0) >= PUBLISH_EVERY) this.publish();
  }

  publish() {
    if (this.published === this.w) return;
    this.published = this.w;
    Atomics.store(this.ctrl, W, this.w | 0);
    Atomics.notify(this.ctrl, W);
  }

  packet(connId, dir, level, inferred, frame, frames, timeSec, timeNsec, streamOffset, bytes, violations, resolvedTopic) {
    const extra = violations.length > 0 || resolvedTopic !== undefined ? enc.encode(JSON.stringify([violations, resolvedTopic ?? null])) : null;
    const extraLen = extra === null ? 0 : extra.length;
    const n = (36 + 4 * frames.length + bytes.length + extraLen + 3) & ~3;
    const off = this.reserve(n);
    const dv = this.dv;
    dv.setUint32(off, (T_PACKET << 24) | n);
    this.u8[off + 4] = dir === 'c2s' ? 0 : 1;
    this.u8[off + 5] = level;
    this.u8[off + 6] = inferred ? 1 : 0;
    this.u8[off + 7] = 0;
    dv.setUint32(off + 8, connId);
    dv.setUint32(off + 12, frame);
    dv.setUint32(off + 16, timeSec);
    dv.setUint32(off + 20, timeNsec);
    dv.setUint32(off + 24, streamOffset);
    dv.setUint16(off + 28, frames.length);
    dv.setUint16(off + 30, extraLen);
    dv.setUint32(off + 32, bytes.length);
    let p = off + 36;
    for (let i = 0; i < frames.length; i++, p += 4) dv.setUint32(p, frames[i]);
    this.u8.set(bytes, p);
    p += bytes.length;
    if (extra !== null) this.u8.set(extra, p);
    this.commit(n);
  }

  json(type, value) {
    const b = enc.encode(JSON.stringify(value));
    const n = (8 + b.length + 3) & ~3;
    const off = this.reserve(n);
    this.dv.setUint32(off, (type << 24) | n);
    this.dv.setUint32(off + 4, b.length);
    this.u8.set(b, off + 8);
    this.commit(n);
  }

  open(conn) { this.json(T_OPEN, conn); }
  close(id) { this.json(T_CLOSE, id); }
  batch() { this.publish(); }

  end() {
    this.publish();
    Atomics.store(this.ctrl, DONE, 1);
    Atomics.notify(this.ctrl, W);
  }
}

async function consume(sab) {
  const half = await secondHalf();
  const ctrl = new Int32Array(sab, 0, 4);
  const u8 = new Uint8Array(sab, 16, RING_BYTES);
  const dv = new DataView(sab, 16, RING_BYTES);
  let r = 0;
  let waits = 0;
  for (;;) {
    const w = Atomics.load(ctrl, W) >>> 0;
    if (w === r) {
      if (Atomics.load(ctrl, DONE) === 1 && (Atomics.load(ctrl, W) >>> 0) === r) break;
      waits++;
      Atomics.wait(ctrl, W, w | 0, 50);
      continue;
    }
    while (r !== w) {
      const off = r % RING_BYTES;
      const head = dv.getUint32(off);
      const type = head >>> 24;
      if (type === T_WRAP || RING_BYTES - off < 4) {
        r = (r + RING_BYTES - off) >>> 0;
        continue;
      }
      const n = head & 0xffffff;
      if (type === T_PACKET) {
        const frames = new Array(dv.getUint16(off + 28));
        let p = off + 36;
        for (let i = 0; i < frames.length; i++, p += 4) frames[i] = dv.getUint32(p);
        const len = dv.getUint32(off + 32);
        // A copy: the ring's bytes are overwritten once the reader moves on, and the record may be kept by a stage.
        const bytes = u8.slice(p, p + len);
        p += len;
        const extraLen = dv.getUint16(off + 30);
        let violations = [];
        let resolved;
        if (extraLen > 0) {
          const [v, t] = JSON.parse(dec.decode(u8.subarray(p, p + extraLen)));
          violations = v;
          resolved = t ?? undefined;
        }
        half.packet(dv.getUint32(off + 8), u8[off + 4] === 0 ? 'c2s' : 's2c', u8[off + 5], u8[off + 6] === 1, dv.getUint32(off + 12), frames,
          dv.getUint32(off + 16), dv.getUint32(off + 20), dv.getUint32(off + 24), bytes, violations, resolved);
      } else {
        const v = JSON.parse(dec.decode(u8.subarray(off + 8, off + 8 + dv.getUint32(off + 4))));
        if (type === T_OPEN) half.open(v);
        else half.close(v);
      }
      r = (r + n) >>> 0;
    }
    Atomics.store(ctrl, R, r | 0);
    Atomics.notify(ctrl, R);
  }
  return { ...half.end(), waits };
}

// ---- main -------------------------------------------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    process.stderr.write('usage: node bench/threads.mjs FILE [--split]\n');
    process.exit(2);
  }
  const split = args.includes('--split');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let result;
  let producerWaits = 0;
  if (!split) {
    const half = await secondHalf();
    await firstHalf(file, half);
    result = half.end();
  } else {
    const sab = new SharedArrayBuffer(16 + RING_BYTES);
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { sab } });
    const done = new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const ring = new RingWriter(sab);
    await firstHalf(file, ring);
    ring.end();
    result = await done;
    producerWaits = ring.waits;
    await worker.terminate();
  }
  const c = process.cpuUsage(c0);
  process.stdout.write(`${JSON.stringify({ mode: split ? 'split' : 'one-thread', wallSec: +((performance.now() - t0) / 1000).toFixed(3), cpuSec: +((c.user + c.system) / 1e6).toFixed(3), ...result, producerWaits })}\n`);
}

if (isMainThread) {
  await main();
} else {
  parentPort.postMessage(await consume(workerData.sab));
}
