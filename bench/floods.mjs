#!/usr/bin/env node
/**
 * Flood benchmark (issue #18): hostile captures streamed on stdin to the CLI, nothing large written to disk.
 *
 *   npm run bench -- --floods                        # every flood at its two sizes
 *   npm run bench -- --floods --only half-open,topics --scale 0.1
 *   node bench/floods.mjs --emit half-open 1000 > x.pcap   # one flood as a file (small sizes, for looking at it)
 *
 * Options: --only a,b (flood names), --scale F (multiplies every size; default 1), --bin PATH (the CLI to run,
 * default bin/mqtt-dissect.js), --timeout S (a run longer than this is killed and recorded as such; default 900),
 * --out FILE (default bench/out/floods.json).
 *
 * `expect` names the events a flood must provoke (the caps it hits); a run that lacks one says so. Every flood runs at
 * a size and at half of it, so the times show whether the cost is linear in the input. Each run
 * is one CLI process under GNU time (peak RSS, wall); its stdout is read by this process to count the events each
 * kind (the cap events the flood should provoke). The CLI reads the pcap from stdin (`-`), written here as it is
 * generated: Ethernet, IPv4, TCP, classic pcap with microsecond times.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const TIME = '/usr/bin/time';

// ---------------------------------------------------------------------------------------------------------------------
// pcap writer: one reused buffer, flushed to a stream with back-pressure.

const CHUNK = 1 << 22;
const SERVER = [192, 168, 0, 1];
const MQTT_PORT = 1883;

class PcapWriter {
  constructor(out) {
    this.out = out;
    this.buf = Buffer.alloc(CHUNK);
    this.n = 0;
    this.usec = 0;
    this.bytes = 0;
    this.buf.writeUInt32LE(0xa1b2c3d4, 0);
    this.buf.writeUInt16LE(2, 4);
    this.buf.writeUInt16LE(4, 6);
    this.buf.writeUInt32LE(0, 8);
    this.buf.writeUInt32LE(0, 12);
    this.buf.writeUInt32LE(262144, 16);
    this.buf.writeUInt32LE(1, 20);
    this.n = 24;
  }

  /** Makes room for `len` bytes, awaiting the stream when the buffer is full. */
  async room(len) {
    if (this.n + len <= this.buf.length) return;
    await this.flush();
    if (len > this.buf.length) this.buf = Buffer.alloc(len);
  }

  async flush() {
    if (this.n === 0) return;
    const chunk = Buffer.from(this.buf.subarray(0, this.n));
    this.bytes += this.n;
    this.n = 0;
    this.buf = Buffer.alloc(this.buf.length);
    if (!this.out.write(chunk)) await new Promise((res, rej) => { this.out.once('drain', res); this.out.once('error', rej); });
  }

  async end() {
    await this.flush();
    await new Promise((res) => this.out.end(res));
  }

  /** IPv4 packet (Ethernet framed) with `ipPayloadLen` bytes after the IP header, written by `fill(buf, at)`. */
  async ip(src, dst, proto, ipPayloadLen, fill, fragment = 0, id = 0) {
    const len = 14 + 20 + ipPayloadLen;
    await this.room(16 + len);
    const b = this.buf;
    let o = this.n;
    this.usec += 10;
    b.writeUInt32LE(Math.floor(this.usec / 1e6) + 1_700_000_000, o);
    b.writeUInt32LE(this.usec % 1e6, o + 4);
    b.writeUInt32LE(len, o + 8);
    b.writeUInt32LE(len, o + 12);
    o += 16;
    b.fill(0, o, o + 12);
    b[o + 5] = 1;
    b[o + 11] = 2;
    b.writeUInt16BE(0x0800, o + 12);
    o += 14;
    b[o] = 0x45;
    b[o + 1] = 0;
    b.writeUInt16BE(20 + ipPayloadLen, o + 2);
    b.writeUInt16BE(id, o + 4);
    b.writeUInt16BE(fragment, o + 6);
    b[o + 8] = 64;
    b[o + 9] = proto;
    b.writeUInt16BE(0, o + 10);
    for (let k = 0; k < 4; k++) { b[o + 12 + k] = src[k]; b[o + 16 + k] = dst[k]; }
    fill(b, o + 20);
    this.n = o + 20 + ipPayloadLen;
  }

  /** A TCP segment; `payload` is a Buffer (or null), `flags` TCP flag bits. */
  tcp(src, sp, dst, dp, seq, ack, flags, payload) {
    const plen = payload ? payload.length : 0;
    return this.ip(src, dst, 6, 20 + plen, (b, o) => {
      b.writeUInt16BE(sp, o);
      b.writeUInt16BE(dp, o + 2);
      b.writeUInt32BE(seq >>> 0, o + 4);
      b.writeUInt32BE(ack >>> 0, o + 8);
      b[o + 12] = 0x50;
      b[o + 13] = flags;
      b.writeUInt16BE(65535, o + 14);
      b.writeUInt32BE(0, o + 16);
      if (payload) payload.copy(b, o + 20);
    });
  }
}

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;

/** Client address number i as 4 bytes in 10.0.0.0/8 (16 M distinct). */
function client(i) {
  return [10, (i >> 16) & 255, (i >> 8) & 255, i & 255];
}

function vbi(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A PUBLISH (QoS 0) header and topic for a packet whose whole Remaining Length is `remaining`. */
function publishHead(topic, remaining) {
  const t = Buffer.from(topic, 'latin1');
  return Buffer.concat([Buffer.from([0x30, ...vbi(remaining), t.length >> 8, t.length & 255]), t]);
}

function connect(clientId) {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, id.length >> 8, id.length & 255]), id]);
  return Buffer.concat([Buffer.from([0x10, ...vbi(body.length)]), body]);
}

/**
 * A string of `len` bytes unique to `i` (printable, no wildcards, no '/' after the prefix). The names differ only at
 * the end, so telling two apart means reading them whole (the worst case for comparisons).
 */
function longName(prefix, i, len) {
  const tail = `-${i}`;
  return prefix + 'x'.repeat(len - prefix.length - tail.length) + tail;
}

/** The handshake of connection `i` on client port `port`: SYN, SYN+ACK, ACK. Returns the client's next seq. */
async function handshake(w, i, port, full = true) {
  const c = client(i);
  const isn = (i * 7919) >>> 0;
  await w.tcp(c, port, SERVER, MQTT_PORT, isn, 0, SYN, null);
  if (!full) return isn + 1;
  await w.tcp(SERVER, MQTT_PORT, c, port, 5000, isn + 1, SYN | ACK, null);
  await w.tcp(c, port, SERVER, MQTT_PORT, isn + 1, 5001, ACK, null);
  return isn + 1;
}

const portOf = (i) => 1024 + (i % 60000);

/** n connections, each sending the first `sent` bytes (one segment) of a PUBLISH of Remaining Length `declared`. */
async function unfinished(w, n, declared, sent) {
  const head = publishHead('big', declared);
  const seg = Buffer.concat([head, Buffer.alloc(sent - head.length, 0x42)]);
  for (let i = 0; i < n; i++) {
    const seq = await handshake(w, i, portOf(i));
    await w.tcp(client(i), portOf(i), SERVER, MQTT_PORT, seq, 5001, ACK | PSH, seg);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The floods. `size` is the count the issue names; each also runs at half of it.

export const FLOODS = {
  'half-open': {
    what: 'SYNs that never complete, each from its own address',
    size: 1_000_000, args: ['--json'], expect: ['evicted'],
    async gen(w, n) {
      for (let i = 0; i < n; i++) await handshake(w, i, portOf(i), false);
    },
  },
  'shared-ports': {
    what: 'SYNs from distinct addresses that share 16 client ports',
    size: 250_000, args: ['--json'], expect: ['evicted'],
    async gen(w, n) {
      for (let i = 0; i < n; i++) {
        const c = client(i >> 4);
        await w.tcp(c, 40000 + (i & 15), SERVER, MQTT_PORT, i * 7919, 0, SYN, null);
      }
    },
  },
  'giant-unfinished': {
    what: 'connections each sending the first 1,000 bytes of a PUBLISH declaring 268,435,455 bytes',
    size: 200_000, args: ['--json'], expect: ['evicted', 'incomplete'],
    gen: (w, n) => unfinished(w, n, 268_435_455, 1000),
  },
  'unfinished-60k': {
    what: 'connections each holding 60 KB (one segment) of an unfinished 1 MB PUBLISH',
    size: 10_000, args: ['--json'], expect: ['oversize', 'incomplete'],
    gen: (w, n) => unfinished(w, n, 1_000_000, 60_000),
  },
  'ooo-holes': {
    what: 'connections each with 1,400 bytes waiting behind a hole that never fills',
    size: 100_000, args: ['--json'], expect: ['evicted', 'gap'],
    async gen(w, n) {
      const seg = Buffer.alloc(1400, 0x43);
      for (let i = 0; i < n; i++) {
        const seq = await handshake(w, i, portOf(i));
        await w.tcp(client(i), portOf(i), SERVER, MQTT_PORT, seq + 1460, 5001, ACK | PSH, seg);
      }
    },
  },
  'ip-fragments': {
    what: 'first IPv4 fragments (More Fragments set) whose rest never comes',
    size: 1_000_000, args: ['--json'], expect: ['ip-fragment'],
    async gen(w, n) {
      const body = Buffer.alloc(120, 0x44);
      for (let i = 0; i < n; i++) {
        const c = client(i >> 4);
        await w.ip(c, SERVER, 6, 20 + body.length, (b, o) => {
          b.writeUInt16BE(portOf(i), o);
          b.writeUInt16BE(MQTT_PORT, o + 2);
          b.fill(0, o + 4, o + 20);
          b[o + 12] = 0x50;
          b[o + 13] = ACK;
          body.copy(b, o + 20);
        }, 0x2000, i & 0xffff);
      }
    },
  },
  topics: {
    what: 'one connection publishing to distinct 60 KB topics',
    size: 4_000, args: ['--summary'], expect: [],
    async gen(w, n) {
      let seq = await handshake(w, 0, 50000);
      const c = client(0);
      const send = async (p) => { await w.tcp(c, 50000, SERVER, MQTT_PORT, seq, 5001, ACK | PSH, p); seq += p.length; };
      await send(connect('floods'));
      await w.tcp(SERVER, MQTT_PORT, c, 50000, 5001, seq, ACK | PSH, Buffer.from([0x20, 2, 0, 0]));
      for (let i = 0; i < n; i++) {
        const topic = longName('t/', i, 60_000);
        const payload = Buffer.from('{"v":1}');
        await send(Buffer.concat([publishHead(topic, 2 + topic.length + payload.length), payload]));
      }
    },
  },
  'inflight-topics': {
    what: 'one connection sending QoS 1 PUBLISH packets to distinct 60 KB topics that are never acknowledged',
    size: 8_192, args: ['--summary'], expect: [],
    async gen(w, n) {
      let seq = await handshake(w, 0, 50002);
      const c = client(0);
      const send = async (p) => { await w.tcp(c, 50002, SERVER, MQTT_PORT, seq, 5001, ACK | PSH, p); seq += p.length; };
      await send(connect('floods'));
      await w.tcp(SERVER, MQTT_PORT, c, 50002, 5001, seq, ACK | PSH, Buffer.from([0x20, 2, 0, 0]));
      for (let i = 0; i < n; i++) {
        const t = Buffer.from(longName('q/', i, 60_000), 'latin1');
        const id = (i % 65535) + 1;
        // QoS 1 (flags 0x32): the packet identifier follows the topic; nobody answers with PUBACK.
        const body = Buffer.concat([Buffer.from([t.length >> 8, t.length & 255]), t, Buffer.from([id >> 8, id & 255]), Buffer.from('{"v":1}')]);
        await send(Buffer.concat([Buffer.from([0x32, ...vbi(body.length)]), body]));
      }
    },
  },
  filters: {
    what: 'two connections each subscribing 60 KB filters (one per SUBSCRIBE), then the server publishing on them',
    size: 4_096, args: ['--json'], expect: ['limit'],
    async gen(w, n) {
      for (const k of [0, 1]) {
        const port = 50000 + k;
        const c = client(k);
        let seq = await handshake(w, k, port);
        let sseq = 5001;
        const send = async (p) => { await w.tcp(c, port, SERVER, MQTT_PORT, seq, sseq, ACK | PSH, p); seq += p.length; };
        const recv = async (p) => { await w.tcp(SERVER, MQTT_PORT, c, port, sseq, seq, ACK | PSH, p); sseq += p.length; };
        await send(connect(`floods${k}`));
        await recv(Buffer.from([0x20, 2, 0, 0]));
        for (let i = 0; i < n; i++) {
          const f = Buffer.from(longName(i % 2 === 0 ? 'f/+/' : 'f/', i, 60_000), 'latin1');
          const id = (i % 65535) + 1;
          const body = Buffer.concat([Buffer.from([id >> 8, id & 255, f.length >> 8, f.length & 255]), f, Buffer.from([1])]);
          await send(Buffer.concat([Buffer.from([0x82, ...vbi(body.length)]), body]));
          await recv(Buffer.from([0x90, 3, id >> 8, id & 255, 1]));
        }
        // Deliveries matching an exact filter (odd i) and a wildcard one (even i: 'f/+/...' matches 'f/a/...').
        for (let i = 0; i < n; i += 8) {
          const topic = i % 16 === 0 ? longName('f/a/', i, 60_000) : longName('f/', i + 1, 60_000);
          await recv(publishHead(topic, 2 + topic.length));
        }
      }
    },
  },
};

// ---------------------------------------------------------------------------------------------------------------------
// Runner

function parseArgs(argv) {
  const o = { only: null, scale: 1, bin: join(ROOT, 'bin', 'mqtt-dissect.js'), timeout: 900, out: join(HERE, 'out', 'floods.json'), emit: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--only': o.only = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--scale': o.scale = Number(val()); break;
      case '--bin': o.bin = resolve(val()); break;
      case '--timeout': o.timeout = Number(val()); break;
      case '--out': o.out = resolve(val()); break;
      case '--emit': o.emit = [val(), Number(val())]; break;
      case '--floods': break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  for (const name of o.only ?? []) if (!(name in FLOODS)) throw new Error(`unknown flood ${name} (${Object.keys(FLOODS).join(', ')})`);
  return o;
}

/** Counts NDJSON event kinds, or the summary's event table, from the CLI's stdout. */
function eventCounter() {
  const counts = {};
  let tail = '';
  const line = (l) => {
    let m = /^\{"kind":"event","event":"([a-z-]+)"/.exec(l);
    if (m) { counts[m[1]] = (counts[m[1]] ?? 0) + 1; return; }
    m = /^│ ([a-z-]+) +│ (\d+) +│$/.exec(l) ?? /^\| ([a-z-]+) +\| (\d+) +\|$/.exec(l);
    if (m && summaryEvents) counts[m[1]] = (counts[m[1]] ?? 0) + Number(m[2]);
    if (/^Capture and transport events/.test(l)) summaryEvents = true;
    if (/^Topics/.test(l)) counts['(summary) ' + l.trim()] = 1;
  };
  let summaryEvents = false;
  return {
    counts,
    push(chunk) {
      const s = tail + chunk.toString('utf8');
      const lines = s.split('\n');
      tail = lines.pop();
      for (const l of lines) line(l);
    },
    end() { if (tail) line(tail); },
  };
}

async function runOne(o, name, n) {
  const f = FLOODS[name];
  const timeFile = join(tmpdir(), `floods-time-${process.pid}-${name}-${n}`);
  const child = spawn(TIME, ['-f', '%e %U %S %M', '-o', timeFile, process.execPath, o.bin, ...f.args, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const counter = eventCounter();
  let stderr = '';
  child.stdout.on('data', (c) => counter.push(c));
  child.stderr.on('data', (c) => { if (stderr.length < 4000) stderr += c; });
  child.stdin.on('error', () => {});
  child.stdin.setMaxListeners(0);
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, o.timeout * 1000);
  const done = new Promise((res) => child.on('close', (code, signal) => res({ code, signal })));
  const w = new PcapWriter(child.stdin);
  try {
    await f.gen(w, n);
    await w.end();
  } catch (e) {
    if (!timedOut) throw e;
  }
  const { code } = await done;
  clearTimeout(timer);
  counter.end();
  let wall = null, cpu = null, rssMB = null;
  if (existsSync(timeFile)) {
    const parts = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
    if (parts.length >= 4 && parts.every(Number.isFinite)) [wall, cpu, rssMB] = [parts[0], parts[1] + parts[2], Math.round(parts[3] / 1024)];
    rmSync(timeFile, { force: true });
  }
  const r = { flood: name, n, inputMB: +(w.bytes / 1e6).toFixed(1), wall, cpu, peakRssMB: rssMB, exit: timedOut ? 'timeout' : code, events: counter.counts };
  if (!timedOut && code !== 0) r.stderr = stderr.slice(0, 500);
  return r;
}

export async function main(argv) {
  const o = parseArgs(argv);
  if (o.emit) {
    const [name, n] = o.emit;
    if (!(name in FLOODS)) throw new Error(`unknown flood ${name}`);
    const w = new PcapWriter(process.stdout);
    await FLOODS[name].gen(w, n);
    await w.flush();
    return;
  }
  const names = o.only ?? Object.keys(FLOODS);
  const results = [];
  for (const name of names) {
    const big = Math.max(2, Math.round(FLOODS[name].size * o.scale));
    for (const n of [Math.round(big / 2), big]) {
      const r = await runOne(o, name, n);
      results.push(r);
      const ev = Object.entries(r.events).filter(([k]) => !k.startsWith('(')).map(([k, v]) => `${k} ${v}`).join(', ');
      const missing = FLOODS[name].expect.filter((k) => !(k in r.events));
      process.stdout.write(`${name.padEnd(17)} n=${String(n).padStart(9)} ${String(r.inputMB).padStart(7)} MB in  wall ${String(r.wall ?? '-').padStart(7)} s  cpu ${(r.cpu ?? 0).toFixed(1).padStart(6)} s  rss ${String(r.peakRssMB ?? '-').padStart(5)} MB  exit ${r.exit}  ${ev}${missing.length > 0 ? `  (missing: ${missing.join(', ')})` : ''}\n`);
      for (const [k] of Object.entries(r.events)) if (k.startsWith('(')) process.stdout.write(`${''.padEnd(19)}${k}\n`);
      if (r.stderr) process.stdout.write(`  stderr: ${r.stderr}\n`);
    }
  }
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, bin: o.bin, scale: o.scale, results }, null, 2)}\n`);
  process.stderr.write(`floods: results written to ${o.out}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`floods: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
