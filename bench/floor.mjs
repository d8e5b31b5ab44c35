#!/usr/bin/env node
/**
 * The JavaScript floor (issue #11): the least any JavaScript MQTT analyzer must do for a capture, timed as a process
 * next to ours so that the benchmark can say how far above the floor each mode runs.
 *
 *   node bench/floor.mjs count FILE    pcap records, Ethernet/IPv4/TCP, per-flow sequence tracking, MQTT framing
 *                                      across segments, counts by packet type
 *   node bench/floor.mjs tally FILE    the same plus what --summary tallies: per connection (packets, bytes each way,
 *                                      client id) and per topic (messages, bytes)
 *
 * Deliberately naive where naivety is cheap and exact where it is not: segments arriving out of order are skipped (the
 * generated capture has none), no checks, no events. Plain ESM, no dependencies, reads the file in 256 KiB chunks
 * through one buffer. Prints one JSON line of counts (so a test can check the floor sees every packet).
 */
import { openSync, readSync, closeSync } from 'node:fs';

const [mode, file] = process.argv.slice(2);
if ((mode !== 'count' && mode !== 'tally') || !file) {
  process.stderr.write('usage: floor.mjs count|tally FILE\n');
  process.exit(2);
}
const TALLY = mode === 'tally';

const CHUNK = 256 * 1024;
const buf = Buffer.allocUnsafe(CHUNK + 262144 + 16);
const fd = openSync(file, 'r');

const counts = new Float64Array(16);
let frames = 0;
let packets = 0;

/** One direction of a flow: next sequence number and the MQTT bytes of the packet in progress. */
class Dir {
  constructor() {
    this.next = -1;
    this.pending = new Uint8Array(256);
    this.held = 0;
    /** Bytes still needed to finish the packet in progress (0: at a packet boundary, -1: header incomplete). */
    this.packets = 0;
    this.bytes = 0;
  }
}
class Flow {
  constructor() {
    this.c2s = new Dir();
    this.s2c = new Dir();
    this.clientPort = 0;
    this.clientId = '';
    this.a = 0;
    this.b = 0;
    this.chain = undefined;
  }
}
const flows = new Map();
const topics = new Map();
const closed = [];
const td = new TextDecoder();

function tallyPacket(flow, d, b, start, len) {
  const type = b[start] >> 4;
  counts[type]++;
  packets++;
  if (!TALLY) return;
  d.packets++;
  d.bytes += len;
  // Remaining Length bytes.
  let p = start + 1;
  while (b[p] & 0x80) p++;
  p++;
  if (type === 1) {
    // CONNECT: name, level, flags, keep alive, [v5 properties], client id.
    const nameLen = (b[p] << 8) | b[p + 1];
    let q = p + 2 + nameLen;
    const level = b[q];
    q += 4;
    if (level === 5) {
      let v = 0, m = 1, x;
      do { x = b[q++]; v += (x & 0x7f) * m; m *= 128; } while (x & 0x80);
      q += v;
    }
    const cl = (b[q] << 8) | b[q + 1];
    flow.clientId = td.decode(b.subarray(q + 2, q + 2 + cl));
  } else if (type === 3) {
    const tl = (b[p] << 8) | b[p + 1];
    const topic = b.latin1Slice ? b.latin1Slice(p + 2, p + 2 + tl) : td.decode(b.subarray(p + 2, p + 2 + tl));
    let t = topics.get(topic);
    if (t === undefined) {
      t = { messages: 0, bytes: 0 };
      topics.set(topic, t);
    }
    t.messages++;
    t.bytes += len;
  }
}

/** Frames MQTT packets out of in-order bytes b[start..end). */
function frameBytes(flow, d, b, start, end) {
  let i = start;
  while (i < end) {
    if (d.held > 0) {
      // Finish the packet in progress.
      const need = packetLength(d.pending, 0, d.held);
      if (need < 0) {
        // Header still incomplete: take one byte at a time.
        grow(d, d.held + 1);
        d.pending[d.held++] = b[i++];
        continue;
      }
      const take = Math.min(need - d.held, end - i);
      grow(d, d.held + take);
      d.pending.set(b.subarray(i, i + take), d.held);
      d.held += take;
      i += take;
      if (d.held === need) {
        tallyPacket(flow, d, d.pending, 0, need);
        d.held = 0;
      }
      continue;
    }
    const len = packetLength(b, i, end);
    if (len >= 0 && i + len <= end) {
      tallyPacket(flow, d, b, i, len);
      i += len;
      continue;
    }
    // Starts here, ends in a later segment.
    const take = end - i;
    grow(d, take);
    d.pending.set(b.subarray(i, end), 0);
    d.held = take;
    i = end;
  }
}

function grow(d, n) {
  if (n <= d.pending.length) return;
  let size = d.pending.length;
  while (size < n) size *= 2;
  const g = new Uint8Array(size);
  g.set(d.pending.subarray(0, d.held));
  d.pending = g;
}

/** Whole length of the packet at b[i..end), or -1 while its fixed header is incomplete. */
function packetLength(b, i, end) {
  let v = 0, m = 1, p = i + 1;
  for (;;) {
    if (p >= end) return -1;
    const x = b[p++];
    v += (x & 0x7f) * m;
    if ((x & 0x80) === 0) break;
    m *= 128;
  }
  return p - i + v;
}

function segment(b, off, caplen) {
  // Ethernet II, IPv4, TCP (the generated capture has nothing else).
  if (caplen < 14 + 20 + 20) return;
  if (b[off + 12] !== 0x08 || b[off + 13] !== 0x00) return;
  const ip = off + 14;
  const ihl = (b[ip] & 15) * 4;
  if (b[ip + 9] !== 6) return;
  const totalLen = (b[ip + 2] << 8) | b[ip + 3];
  const tcp = ip + ihl;
  const src = b.readUInt32BE(ip + 12);
  const dst = b.readUInt32BE(ip + 16);
  const sp = (b[tcp] << 8) | b[tcp + 1];
  const dp = (b[tcp + 2] << 8) | b[tcp + 3];
  const seq = b.readUInt32BE(tcp + 4);
  const dataOff = (b[tcp + 12] >> 4) * 4;
  const flags = b[tcp + 13];
  const payload = tcp + dataOff;
  const plen = ip + totalLen - payload;
  // The port pair and the address sum make the key; a flow keeps its addresses to tell collisions apart.
  const key = (sp < dp ? dp * 65536 + sp : sp * 65536 + dp) * 8589934592 + src + dst;
  let flow = flows.get(key);
  while (flow !== undefined && !((flow.a === src && flow.b === dst) || (flow.a === dst && flow.b === src))) flow = flow.chain;
  if (flow === undefined) {
    if ((flags & 0x02) === 0) return;
    flow = new Flow();
    flow.a = src;
    flow.b = dst;
    flow.clientPort = (flags & 0x10) === 0 ? sp : dp;
    flow.chain = flows.get(key);
    flows.set(key, flow);
  }
  const d = sp === flow.clientPort ? flow.c2s : flow.s2c;
  if ((flags & 0x02) !== 0) {
    d.next = (seq + 1) >>> 0;
    return;
  }
  if (plen > 0) {
    if (seq === d.next) {
      frameBytes(flow, d, b, payload, payload + plen);
      d.next = (seq + plen) >>> 0;
    }
  }
  if ((flags & 0x05) !== 0 && sp !== flow.clientPort) {
    if (flows.get(key) === flow) {
      if (flow.chain === undefined) flows.delete(key);
      else flows.set(key, flow.chain);
    } else {
      for (let f = flows.get(key); f !== undefined; f = f.chain) if (f.chain === flow) { f.chain = flow.chain; break; }
    }
    if (TALLY) closed.push(flow);
  }
}

// pcap: 24-byte header, then 16-byte record headers (little-endian, microseconds, as the generator writes).
let have = readSync(fd, buf, 0, CHUNK, 0);
let filePos = have;
let pos = 24;
for (;;) {
  if (have - pos < 16 || have - pos < 16 + buf.readUInt32LE(pos + 8)) {
    const left = have - pos;
    buf.copy(buf, 0, pos, have);
    const n = readSync(fd, buf, left, CHUNK, filePos);
    filePos += n;
    have = left + n;
    pos = 0;
    if (n === 0) break;
    continue;
  }
  const caplen = buf.readUInt32LE(pos + 8);
  frames++;
  segment(buf, pos + 16, caplen);
  pos += 16 + caplen;
}
closeSync(fd);

const out = { mode, frames, packets, byType: Array.from(counts) };
if (TALLY) {
  out.topics = topics.size;
  out.connections = closed.length + flows.size;
}
process.stdout.write(`${JSON.stringify(out)}\n`);
