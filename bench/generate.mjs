#!/usr/bin/env node
/**
 * Benchmark capture generator: a large, valid, deterministic MQTT capture (classic pcap, microseconds, Ethernet).
 *
 *   node bench/generate.mjs [--size 200MB] [--seed 1] [--out bench/out/mqtt-200MB.pcap] [--conns N]
 *
 * Traffic model (every choice comes from a seeded PRNG, so the same size and seed give the same bytes):
 *  - N concurrent client "devices" (3,000 for sizes >= 48 MB; fewer for tiny sizes), each with its own IPv4 address,
 *    talking to one of three brokers: two on 1883 (MQTT 3.1.1 or 5.0, about half each) and a OneNET-like one on 6002
 *    (1/7 of the devices; 3.1.1 only, user name + password, Keep Alive 120 or 300 s, as that platform demands).
 *  - Per connection: SYN / SYN-ACK / ACK (MSS option), CONNECT / CONNACK, SUBSCRIBE to three disjoint filters /
 *    SUBACK, then actions separated by 0.2-6 s of think time: QoS 0 bursts (several PUBLISH in one segment), QoS 1
 *    (single or pipelined) and QoS 2 flows with their acks, server deliveries on subscribed topics (QoS <= granted),
 *    PINGREQ/PINGRESP (forced before half the Keep Alive elapses), UNSUBSCRIBE/SUBSCRIBE, and rare large payloads
 *    (10-200 KB: JSON dumps from clients, binary firmware from the broker). Then DISCONNECT, FIN both ways, and a
 *    reconnect on a new ephemeral port (5 % reuse the same 4-tuple).
 *  - MQTT 5.0: CONNECT/CONNACK/PUBLISH/SUBSCRIBE properties (Receive Maximum, Topic Alias Maximum, Maximum Packet Size,
 *    User Property, Payload Format Indicator, Content Type, Message Expiry, Response Topic + Correlation Data,
 *    Subscription Identifier, echoed in deliveries), and every short form of the acks and DISCONNECT.
 *  - TCP: correct sequence / acknowledgement numbers, checksums, MSS 1460 segmentation, delayed ACKs (every second
 *    full segment, or after 0.5-40 ms), some bursts cut at a random byte so MQTT packets straddle segments.
 *  - At the end every open flow is completed and every connection closed, so a conforming analyzer finds nothing
 *    of severity "error".
 *
 * The file is written as a stream (4 MB chunks, synchronous writes to a temp file renamed at the end): memory stays
 * flat whatever the size. A sidecar `<out>.meta.json` records the parameters and the exact packet mix (the ground
 * truth the harness and the tests compare decoders against).
 */
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GENERATOR_VERSION = 5;
const HERE = dirname(fileURLToPath(import.meta.url));
export const OUT_DIR = resolve(HERE, 'out');

// ---------------------------------------------------------------------------------------------------------------------
// Sizes

/** "200MB", "50mb", "2 MB", "1.5GB", "800KB", "123456" -> bytes (decimal units: 1 MB = 1,000,000 bytes). */
export function parseSize(s) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|m|mb|g|gb)?\s*$/i.exec(String(s));
  if (!m) throw new Error(`bad size "${s}" (use e.g. 200MB, 50MB, 800KB)`);
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const mult = unit === 'g' ? 1e9 : unit === 'm' ? 1e6 : unit === 'k' ? 1e3 : 1;
  const n = Math.round(Number(m[1]) * mult);
  if (n < 100_000) throw new Error(`size "${s}" is too small (minimum 100KB)`);
  return n;
}

/** 200000000 -> "200MB", 2500000 -> "2.5MB", 800000 -> "800KB". */
export function sizeLabel(bytes) {
  if (bytes >= 1e9 && bytes % 1e7 === 0) return `${bytes / 1e9}GB`;
  if (bytes >= 1e6 && bytes % 1e4 === 0) return `${bytes / 1e6}MB`;
  if (bytes % 1e3 === 0) return `${bytes / 1e3}KB`;
  return `${bytes}B`;
}

export function defaultCapturePath(bytes, seed = 1) {
  return resolve(OUT_DIR, `mqtt-${sizeLabel(bytes)}${seed === 1 ? '' : `-seed${seed}`}.pcap`);
}

/** Concurrency grows with the size up to 3,000 devices (reached at 48 MB), so 50 MB and 200 MB have the same. */
export function defaultConns(bytes) {
  return Math.max(16, Math.min(3000, Math.floor(bytes / 16_000)));
}

// ---------------------------------------------------------------------------------------------------------------------
// PRNG: sfc32 seeded through splitmix32 (no Math.random anywhere).

function makeRng(seed) {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  const u32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) u32();
  const f = () => u32() / 4294967296;
  return {
    u32,
    /** [0, 1) */
    f,
    /** integer in [lo, hi] */
    int: (lo, hi) => lo + Math.floor(f() * (hi - lo + 1)),
    chance: (p) => f() < p,
    pick: (arr) => arr[Math.floor(f() * arr.length)],
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// MQTT encoding (independent of src/: plain bytes, spec layout)

class W {
  constructor(cap = 256) {
    this.buf = Buffer.allocUnsafe(cap);
    this.n = 0;
  }
  room(k) {
    if (this.n + k <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.n + k) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.buf.copy(nb, 0, 0, this.n);
    this.buf = nb;
  }
  u8(v) { this.room(1); this.buf[this.n++] = v & 0xff; return this; }
  u16(v) { this.room(2); this.buf[this.n++] = (v >>> 8) & 0xff; this.buf[this.n++] = v & 0xff; return this; }
  u32(v) { this.room(4); this.buf.writeUInt32BE(v >>> 0, this.n); this.n += 4; return this; }
  vbi(v) {
    do {
      let d = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) d |= 0x80;
      this.u8(d);
    } while (v > 0);
    return this;
  }
  raw(b) { this.room(b.length); b.copy(this.buf, this.n); this.n += b.length; return this; }
  /** 2-byte length + UTF-8 text or bytes. */
  str(s) {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    return this.u16(b.length).raw(b);
  }
  done() { return Buffer.from(this.buf.subarray(0, this.n)); }
}

const P = {
  payloadFormatIndicator: [0x01, 'byte'],
  messageExpiryInterval: [0x02, 'u32'],
  contentType: [0x03, 'str'],
  responseTopic: [0x08, 'str'],
  correlationData: [0x09, 'str'],
  subscriptionIdentifier: [0x0b, 'vbi'],
  sessionExpiryInterval: [0x11, 'u32'],
  receiveMaximum: [0x21, 'u16'],
  topicAliasMaximum: [0x22, 'u16'],
  userProperty: [0x26, 'pair'],
  maximumPacketSize: [0x27, 'u32'],
  retainAvailable: [0x25, 'byte'],
  wildcardSubscriptionAvailable: [0x28, 'byte'],
  sharedSubscriptionAvailable: [0x2a, 'byte'],
};

/** Property Length + properties, from [[name, value], ...]. */
function props(w, list) {
  const p = new W(64);
  for (const [name, v] of list) {
    const [id, kind] = P[name];
    p.u8(id);
    if (kind === 'byte') p.u8(v);
    else if (kind === 'u16') p.u16(v);
    else if (kind === 'u32') p.u32(v);
    else if (kind === 'vbi') p.vbi(v);
    else if (kind === 'str') p.str(v);
    else p.str(v[0]).str(v[1]);
  }
  w.vbi(p.n).raw(p.buf.subarray(0, p.n));
}

const TYPE_NAME = ['RESERVED', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE',
  'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'];

function fixed(type, flags, body) {
  const w = new W(body.n + 5);
  w.u8((type << 4) | flags).vbi(body.n).raw(body.buf.subarray(0, body.n));
  return w.done();
}

function mqttConnect(lv, o) {
  const b = new W(128);
  b.str('MQTT').u8(lv);
  let fl = 0x02; // clean session / clean start
  if (o.will) fl |= 0x04 | (o.will.qos << 3) | (o.will.retain ? 0x20 : 0);
  if (o.password !== undefined) fl |= 0x40;
  if (o.username !== undefined) fl |= 0x80;
  b.u8(fl).u16(o.keepAlive);
  if (lv === 5) props(b, o.props ?? []);
  b.str(o.clientId);
  if (o.will) {
    if (lv === 5) props(b, o.will.props ?? []);
    b.str(o.will.topic).str(Buffer.from(o.will.payload, 'utf8'));
  }
  if (o.username !== undefined) b.str(o.username);
  if (o.password !== undefined) b.str(Buffer.from(o.password, 'utf8'));
  return fixed(1, 0, b);
}

function mqttConnack(lv, pr) {
  const b = new W(32);
  b.u8(0).u8(0);
  if (lv === 5) props(b, pr ?? []);
  return fixed(2, 0, b);
}

function mqttPublish(lv, o) {
  const b = new W(o.payload.length + 64);
  b.str(o.topic);
  if (o.qos > 0) b.u16(o.pid);
  if (lv === 5) props(b, o.props ?? []);
  b.raw(o.payload);
  return fixed(3, (o.qos << 1) | (o.retain ? 1 : 0), b);
}

/** PUBACK 4, PUBREC 5, PUBREL 6, PUBCOMP 7. form (5.0 only): 0 short (RL 2), 1 reason code (RL 3), 2 + empty props. */
function mqttAck(lv, type, pid, form = 0, rc = 0) {
  const b = new W(8);
  b.u16(pid);
  if (lv === 5 && form >= 1) b.u8(rc);
  if (lv === 5 && form >= 2) b.u8(0);
  return fixed(type, type === 6 ? 2 : 0, b);
}

/** SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK: packet id, properties (5.0), then a list written by `items`. */
function withList(type, flags, lv, pid, cap, propList, items) {
  const b = new W(cap);
  b.u16(pid);
  if (lv === 5) props(b, propList);
  items(b);
  return fixed(type, flags, b);
}

function mqttSubscribe(lv, pid, subs, subId) {
  return withList(8, 2, lv, pid, 128, subId ? [['subscriptionIdentifier', subId]] : [], (b) => { for (const s of subs) b.str(s.filter).u8(s.qos); });
}

function mqttSuback(lv, pid, codes) {
  return withList(9, 0, lv, pid, 16, [], (b) => { for (const c of codes) b.u8(c); });
}

function mqttUnsubscribe(lv, pid, filters) {
  return withList(10, 2, lv, pid, 64, [], (b) => { for (const f of filters) b.str(f); });
}

/** 3.1.1 UNSUBACK has no payload; 5.0 has one reason code (Success) per filter. */
function mqttUnsuback(lv, pid, n) {
  return withList(11, 0, lv, pid, 16, [], (b) => { if (lv === 5) for (let i = 0; i < n; i++) b.u8(0); });
}

const PINGREQ = Buffer.from([0xc0, 0x00]);
const PINGRESP = Buffer.from([0xd0, 0x00]);

function mqttDisconnect(lv, form) {
  if (lv === 5 && form === 1) return Buffer.from([0xe0, 0x01, 0x00]);
  if (lv === 5 && form === 2) return Buffer.from([0xe0, 0x02, 0x00, 0x00]);
  return Buffer.from([0xe0, 0x00]);
}

// ---------------------------------------------------------------------------------------------------------------------
// pcap / Ethernet / IPv4 / TCP writer

const CHUNK = 4 << 20;
const MSS = 1460;
const F_FIN = 0x01, F_SYN = 0x02, F_PSH = 0x08, F_ACK = 0x10;
const T0_US = 1_700_000_000 * 1_000_000;

class PcapStream {
  constructor(path) {
    this.path = path;
    this.fd = openSync(path, 'w');
    this.buf = Buffer.alloc(CHUNK);
    this.n = 0;
    this.bytes = 0;
    this.frames = 0;
    const h = this.buf;
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    this.n = 24;
    this.bytes = 24;
  }

  flush() {
    if (this.n > 0) writeSync(this.fd, this.buf, 0, this.n);
    this.n = 0;
  }

  close() {
    this.flush();
    closeSync(this.fd);
  }

  /**
   * One Ethernet/IPv4/TCP frame. `c` is the connection, `dir` 0 = client to server, 1 = server to client.
   * payload: Buffer slice or null.
   */
  frame(tUs, c, dir, flags, seq, ack, payload) {
    const optLen = flags & F_SYN ? 4 : 0;
    const plen = payload ? payload.length : 0;
    const tcpLen = 20 + optLen + plen;
    const ipLen = 20 + tcpLen;
    const caplen = 14 + ipLen;
    if (this.n + 16 + caplen > CHUNK) this.flush();
    const b = this.buf;
    let o = this.n;
    // record header
    b.writeUInt32LE(Math.floor(tUs / 1e6), o);
    b.writeUInt32LE(tUs % 1e6, o + 4);
    b.writeUInt32LE(caplen, o + 8);
    b.writeUInt32LE(caplen, o + 12);
    o += 16;
    // Ethernet
    const cm = c.mac, gm = GW_MAC;
    const dst = dir === 0 ? gm : cm, src = dir === 0 ? cm : gm;
    for (let i = 0; i < 6; i++) { b[o + i] = dst[i]; b[o + 6 + i] = src[i]; }
    b[o + 12] = 0x08; b[o + 13] = 0x00;
    o += 14;
    // IPv4
    const ip = o;
    const sIp = dir === 0 ? c.ip : c.server.ip, dIp = dir === 0 ? c.server.ip : c.ip;
    b[ip] = 0x45; b[ip + 1] = 0;
    b[ip + 2] = ipLen >>> 8; b[ip + 3] = ipLen & 0xff;
    const id = c.ipId[dir];
    c.ipId[dir] = (id + 1) & 0xffff;
    b[ip + 4] = id >>> 8; b[ip + 5] = id & 0xff;
    b[ip + 6] = 0x40; b[ip + 7] = 0; // DF
    b[ip + 8] = dir === 0 ? 64 : 57;
    b[ip + 9] = 6;
    b[ip + 10] = 0; b[ip + 11] = 0;
    for (let i = 0; i < 4; i++) { b[ip + 12 + i] = sIp[i]; b[ip + 16 + i] = dIp[i]; }
    let s = 0;
    for (let i = 0; i < 20; i += 2) s += (b[ip + i] << 8) | b[ip + i + 1];
    s = (s & 0xffff) + (s >>> 16);
    s = (s & 0xffff) + (s >>> 16);
    const ipc = ~s & 0xffff;
    b[ip + 10] = ipc >>> 8; b[ip + 11] = ipc & 0xff;
    o += 20;
    // TCP
    const t = o;
    const sp = dir === 0 ? c.cport : c.server.port, dp = dir === 0 ? c.server.port : c.cport;
    b[t] = sp >>> 8; b[t + 1] = sp & 0xff; b[t + 2] = dp >>> 8; b[t + 3] = dp & 0xff;
    b.writeUInt32BE(seq >>> 0, t + 4);
    b.writeUInt32BE(flags & F_ACK ? ack >>> 0 : 0, t + 8);
    b[t + 12] = ((20 + optLen) / 4) << 4;
    b[t + 13] = flags;
    b[t + 14] = 0xfa; b[t + 15] = 0xf0; // window 64240
    b[t + 16] = 0; b[t + 17] = 0; b[t + 18] = 0; b[t + 19] = 0;
    if (optLen) { b[t + 20] = 2; b[t + 21] = 4; b[t + 22] = MSS >>> 8; b[t + 23] = MSS & 0xff; }
    if (plen) payload.copy(b, t + 20 + optLen);
    // checksum: pseudo header + segment
    s = ((sIp[0] << 8) | sIp[1]) + ((sIp[2] << 8) | sIp[3]) + ((dIp[0] << 8) | dIp[1]) + ((dIp[2] << 8) | dIp[3]) + 6 + tcpLen;
    const end = t + tcpLen;
    let i = t;
    for (; i + 1 < end; i += 2) s += (b[i] << 8) | b[i + 1];
    if (i < end) s += b[i] << 8;
    while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
    const tc = ~s & 0xffff;
    b[t + 16] = tc >>> 8; b[t + 17] = tc & 0xff;
    this.n = end;
    this.bytes += 16 + caplen;
    this.frames++;
  }
}

const GW_MAC = Buffer.from([0x02, 0x00, 0x5e, 0x00, 0x00, 0x01]);

// ---------------------------------------------------------------------------------------------------------------------
// Binary heap of connections keyed by (t, id)

class Heap {
  constructor() { this.a = []; }
  get size() { return this.a.length; }
  less(x, y) { return x.t < y.t || (x.t === y.t && x.id < y.id); }
  push(x) {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop() {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The generator

const SERVERS = [
  { ip: [192, 0, 2, 10], port: 1883 },
  { ip: [192, 0, 2, 11], port: 1883 },
  { ip: [198, 51, 100, 7], port: 6002 },
];

/**
 * Generates the capture. Returns the statistics also written to `<out>.meta.json`.
 * @param {{ sizeBytes: number, out?: string, seed?: number, conns?: number, log?: (s: string) => void }} opts
 */
export function generate(opts) {
  const target = opts.sizeBytes;
  const seed = opts.seed ?? 1;
  const out = resolve(opts.out ?? defaultCapturePath(target, seed));
  const nConns = opts.conns ?? defaultConns(target);
  const log = opts.log ?? (() => {});
  const rng = makeRng(seed);
  const started = Date.now();

  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const w = new PcapStream(tmp);

  const stats = {
    packets: 0,
    byType: {},
    byVersion: { '3.1.1': 0, '5.0': 0 },
    byQos: { 0: 0, 1: 0, 2: 0 },
    connections: 0,
    tupleReuse: 0,
    largePayloads: 0,
    largePayloadBytes: 0,
    multiPacketSegments: 0,
    splitPackets: 0,
    pureAcks: 0,
  };
  for (let t = 1; t <= 14; t++) stats.byType[TYPE_NAME[t]] = 0;

  // Closing everything takes about 6 frames of ~70 bytes per connection; a large transfer may still be running.
  const reserve = nConns * 300 + 100_000;
  let stopping = false;

  // ---- devices -----------------------------------------------------------------------------------------------------
  const conns = [];
  for (let i = 0; i < nConns; i++) {
    const host = i + 10;
    const server = SERVERS[i % 7 === 6 ? 2 : i % 2];
    const onenet = server.port === 6002;
    const c = {
      id: i,
      t: T0_US + rng.int(0, 2_000_000), // staggered start over 2 s
      ip: [10, 1 + (host >> 16), (host >> 8) & 0xff, host & 0xff],
      mac: Buffer.from([0x02, 0x00, 0x0a, (host >> 16) & 0xff, (host >> 8) & 0xff, host & 0xff]),
      server,
      cport: 32768 + rng.int(0, 20000),
      // OneNET (port 6002) accepts only MQTT 3.1.1 with a user name and password and Keep Alive 120-65535 s.
      lv: !onenet && rng.chance(0.45) ? 5 : 4,
      onenet,
      clientId: onenet ? String(30_000_000 + i * 7) : `dev${String(i).padStart(6, '0')}x${rng.int(10, 99)}`,
      group: `g${i % 40}`,
      keepAlive: onenet ? rng.pick([120, 300]) : rng.pick([30, 60, 60, 120, 300]),
      ipId: [rng.int(0, 65535), rng.int(0, 65535)],
      seq: [0, 0],
      state: 'closed', // closed | open (MQTT session up)
      steps: [],
      si: 0,
      unacked: [0, 0], // full segments not yet acknowledged, per sender
      pendingAck: [false, false],
      pid: [1, 1],
      subs: [],
      actionsLeft: 0,
      lastClient: 0,
      seqNo: 0,
      done: false,
    };
    conns.push(c);
  }

  // ---- step building -----------------------------------------------------------------------------------------------
  // A step is one TCP segment: { d: 0|1, f: flags, p: Buffer|null, dt: µs after the previous step of this connection }

  const step = (c, d, f, p, dt) => {
    c.steps.push({ d, f, p, dt });
    if (p && p.length) c.pendingAck[d] = true;
    // Any segment from the other side carries the acknowledgement.
    c.pendingAck[1 - d] = false;
    c.unacked[1 - d] = 0;
  };

  const respDelay = () => rng.int(300, 8000);
  const burstGap = () => rng.int(10, 120);

  /** MQTT packets from d, as one byte stream cut into segments (MSS, sometimes at a random byte). */
  const send = (c, d, packets, dt) => {
    for (const p of packets) {
      stats.packets++;
      stats.byType[TYPE_NAME[p[0] >> 4]]++;
      stats.byVersion[c.lv === 5 ? '5.0' : '3.1.1']++;
      if (p[0] >> 4 === 3) stats.byQos[(p[0] >> 1) & 3]++;
    }
    const data = packets.length === 1 ? packets[0] : Buffer.concat(packets);
    // Segment ends: every MSS bytes, or (6 % of short bursts) at a random byte. A cut never falls inside an MQTT
    // fixed header (type byte + Remaining Length): tshark 4.0 cannot reassemble such a split (it reports the rest of
    // the stream as Malformed), and real stacks almost never produce one. Such cuts are moved to the packet start.
    const cuts = [];
    const safe = (x) => {
      for (let k = 0, start = 0; k < packets.length; start += packets[k].length, k++) {
        const p = packets[k];
        let hl = 2;
        while (hl < 5 && p[hl - 1] & 0x80) hl++;
        if (x > start && x < start + hl) return start;
      }
      return x;
    };
    if (data.length > MSS) {
      let last = 0;
      for (let o = MSS; o < data.length; o = last + MSS) {
        const x = safe(o);
        if (x > last) cuts.push((last = x));
        else cuts.push((last = o));
      }
    } else if (data.length > 8 && rng.chance(0.06)) {
      const x = safe(rng.int(1, data.length - 1));
      if (x > 0) cuts.push(x);
    }
    cuts.push(data.length);
    // Packet boundaries: count packets that straddle segments and segments holding several packets.
    let from = 0;
    for (const to of cuts) {
      let inSeg = 0;
      for (let k = 0, start = 0; k < packets.length; start += packets[k].length, k++) {
        const end = start + packets[k].length;
        if (start < to && end > from) inSeg++;
      }
      if (inSeg > 1) stats.multiPacketSegments++;
      step(c, d, F_ACK | (to === data.length ? F_PSH : 0), data.subarray(from, to), from === 0 ? dt : burstGap());
      if (to - from === MSS && ++c.unacked[d] >= 2) {
        // Delayed ACK: every second full-sized segment.
        step(c, 1 - d, F_ACK, null, rng.int(20, 200));
        stats.pureAcks++;
      }
      from = to;
    }
    for (let k = 0, start = 0; k < packets.length; start += packets[k].length, k++) {
      const end = start + packets[k].length;
      if (cuts.some((x) => x > start && x < end)) stats.splitPackets++;
    }
  };

  /** At the end of an action: the side still owed an ACK sends a pure one after the delayed-ACK timer. */
  const settleAcks = (c) => {
    for (const d of [0, 1]) {
      if (c.pendingAck[d]) {
        step(c, 1 - d, F_ACK, null, rng.int(500, 40_000));
        stats.pureAcks++;
      }
    }
  };

  const nextPid = (c, d) => {
    const p = c.pid[d];
    c.pid[d] = p >= 65535 ? 1 : p + 1;
    return p;
  };

  // ---- payloads ------------------------------------------------------------------------------------------------------
  const smallJson = (c) => {
    const n = rng.int(0, 3);
    let s = `{"id":"${c.clientId}","seq":${c.seqNo++},"ts":${1_700_000_000_000 + rng.int(0, 9_999_999)},"temp":${(rng.f() * 40 - 5).toFixed(2)},"hum":${(rng.f() * 100).toFixed(1)}`;
    if (n >= 1) s += `,"bat":${rng.int(0, 100)},"rssi":${-rng.int(30, 110)}`;
    if (n >= 2) s += `,"state":"${rng.pick(['ok', 'idle', 'busy', 'charging'])}","fw":"1.${rng.int(0, 9)}.${rng.int(0, 30)}"`;
    if (n >= 3) s += `,"tags":["${c.group}","site-${rng.int(1, 30)}","rack-${rng.int(1, 99)}"],"note":"${'x'.repeat(rng.int(10, 300))}"`;
    return Buffer.from(`${s}}`, 'utf8');
  };

  const largeJson = (c, n) => {
    const parts = ['{"id":"', c.clientId, '","dump":['];
    let len = 40;
    let first = true;
    while (len < n) {
      const r = `${first ? '' : ','}{"t":${1_700_000_000 + rng.int(0, 99_999)},"v":${(rng.f() * 1000).toFixed(3)},"q":${rng.int(0, 3)}}`;
      parts.push(r);
      len += r.length;
      first = false;
    }
    parts.push(']}');
    return Buffer.from(parts.join(''), 'utf8');
  };

  const binary = (n) => {
    const b = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE(rng.u32(), i);
    for (; i < n; i++) b[i] = rng.u32() & 0xff;
    return b;
  };

  const pubProps = (c, json) => {
    if (c.lv !== 5) return [];
    const pr = [];
    if (json && rng.chance(0.7)) pr.push(['payloadFormatIndicator', 1]);
    if (rng.chance(0.3)) pr.push(['messageExpiryInterval', rng.pick([60, 300, 3600])]);
    if (json && rng.chance(0.5)) pr.push(['contentType', 'application/json']);
    if (rng.chance(0.1)) pr.push(['responseTopic', `reply/${c.clientId}`], ['correlationData', `c${rng.int(0, 1e6)}`]);
    if (rng.chance(0.25)) pr.push(['userProperty', ['site', `s${rng.int(1, 30)}`]]);
    return pr;
  };

  // ---- actions -------------------------------------------------------------------------------------------------------

  const tele = (c) => `tele/${c.group}/${c.clientId}/${rng.pick(['state', 'metrics', 'metrics', 'env'])}`;

  const actConnect = (c) => {
    if (c.everConnected) {
      if (rng.chance(0.05)) stats.tupleReuse++;
      else c.cport = c.cport >= 60999 ? 32768 : c.cport + 1;
    }
    c.everConnected = true;
    stats.connections++;
    c.seq = [rng.u32(), rng.u32()];
    c.pid = [1, 1];
    c.unacked = [0, 0];
    c.pendingAck = [false, false];
    // handshake
    step(c, 0, F_SYN, null, 0);
    step(c, 1, F_SYN | F_ACK, null, respDelay());
    step(c, 0, F_ACK, null, respDelay());
    const lv = c.lv;
    const o = { clientId: c.clientId, keepAlive: c.keepAlive };
    if (c.onenet) { o.username = '141215'; o.password = `auth${c.id}x${rng.int(1000, 9999)}`; }
    else if (rng.chance(0.6)) { o.username = `user${c.id % 100}`; o.password = `pw-${c.id}-${rng.int(0, 9999)}`; }
    if (rng.chance(0.3)) o.will = { topic: `status/${c.clientId}`, payload: 'offline', qos: 1, retain: rng.chance(0.5), props: lv === 5 && rng.chance(0.5) ? [['messageExpiryInterval', 600]] : [] };
    if (lv === 5) {
      o.props = [['receiveMaximum', 32], ['maximumPacketSize', 1 << 20]];
      if (rng.chance(0.5)) o.props.push(['topicAliasMaximum', 10]);
      if (rng.chance(0.3)) o.props.push(['userProperty', ['app', 'bench']]);
    }
    send(c, 0, [mqttConnect(lv, o)], 200);
    send(c, 1, [mqttConnack(lv, lv === 5 ? [['receiveMaximum', 100], ['topicAliasMaximum', 10], ['retainAvailable', 1], ['wildcardSubscriptionAvailable', 1], ['sharedSubscriptionAvailable', 0]] : [])], respDelay());
    // Three disjoint filters: commands (QoS 1), configuration (QoS 2), fleet alerts (QoS 0).
    c.subs = [
      { filter: `cmd/${c.clientId}/#`, qos: 1, subId: lv === 5 ? 1 + c.id : 0, topic: () => `cmd/${c.clientId}/${rng.pick(['reboot', 'led', 'sample', 'ota/check'])}` },
      { filter: `cfg/${c.clientId}`, qos: 2, subId: lv === 5 ? 100_000 + c.id : 0, topic: () => `cfg/${c.clientId}` },
      { filter: `fleet/${c.group}/+/alert`, qos: 0, subId: lv === 5 ? 200_000 + c.id : 0, topic: () => `fleet/${c.group}/dev${rng.int(0, 999)}/alert` },
    ];
    subscribeAll(c, c.subs, respDelay());
    c.state = 'open';
    c.actionsLeft = rng.int(5, 80);
  };

  /** One SUBSCRIBE per filter in 5.0 (each with its own Subscription Identifier), one for all in 3.1.1. */
  const subscribeAll = (c, subs, dt) => {
    if (c.lv === 5) {
      const pids = subs.map(() => nextPid(c, 0));
      send(c, 0, subs.map((s, k) => mqttSubscribe(5, pids[k], [s], s.subId)), dt);
      send(c, 1, subs.map((s, k) => mqttSuback(5, pids[k], [s.qos])), respDelay());
    } else {
      const pid = nextPid(c, 0);
      send(c, 0, [mqttSubscribe(4, pid, subs)], dt);
      send(c, 1, [mqttSuback(4, pid, subs.map((s) => s.qos))], respDelay());
    }
  };

  const deliveryPacket = (c, sub, qos, payload, json) => {
    const pr = c.lv === 5 ? [['subscriptionIdentifier', sub.subId], ...pubProps(c, json)] : [];
    const pid = qos > 0 ? nextPid(c, 1) : 0;
    return { pid, pkt: mqttPublish(c.lv, { topic: sub.topic(), qos, pid, props: pr, payload }) };
  };

  const ackForm = (c) => (c.lv === 5 ? rng.pick([0, 0, 0, 1, 2]) : 0);

  /**
   * Client publishes (one QoS per packet, all in one burst) answered by the broker in order: PUBACK for QoS 1,
   * PUBREC for QoS 2, then PUBREL / PUBCOMP for the QoS 2 ones. `extraS2c` rides in the broker's answer segment.
   */
  const clientPubs = (c, qosList, payloadFn, extraS2c = null) => {
    const flights = [];
    const pkts = [];
    for (const qos of qosList) {
      const pid = qos > 0 ? nextPid(c, 0) : 0;
      if (qos > 0) flights.push({ qos, pid });
      const { payload, json } = payloadFn();
      pkts.push(mqttPublish(c.lv, { topic: tele(c), qos, pid, retain: qos === 0 && rng.chance(0.03), props: pubProps(c, json), payload }));
    }
    send(c, 0, pkts, 0);
    const answers = flights.map((f) => (f.qos === 1
      ? mqttAck(c.lv, 4, f.pid, ackForm(c), c.lv === 5 && rng.chance(0.1) ? 0x10 : 0)
      : mqttAck(c.lv, 5, f.pid, ackForm(c))));
    if (extraS2c) answers.push(extraS2c);
    if (answers.length > 0) send(c, 1, answers, respDelay());
    const q2 = flights.filter((f) => f.qos === 2);
    if (q2.length > 0) {
      send(c, 0, q2.map((f) => mqttAck(c.lv, 6, f.pid, ackForm(c))), respDelay());
      send(c, 1, q2.map((f) => mqttAck(c.lv, 7, f.pid, ackForm(c))), respDelay());
    }
  };

  /** A broker delivery to the client with its acks. */
  const delivery = (c, sub, qos, payload, json) => {
    const { pid, pkt } = deliveryPacket(c, sub, qos, payload, json);
    send(c, 1, [pkt], 0);
    if (qos === 1) {
      send(c, 0, [mqttAck(c.lv, 4, pid, ackForm(c))], respDelay());
    } else if (qos === 2) {
      send(c, 0, [mqttAck(c.lv, 5, pid, ackForm(c))], respDelay());
      send(c, 1, [mqttAck(c.lv, 6, pid, ackForm(c))], respDelay());
      send(c, 0, [mqttAck(c.lv, 7, pid, ackForm(c))], respDelay());
    }
    return qos > 0;
  };

  const small = (c) => () => ({ payload: smallJson(c), json: true });

  const actDisconnect = (c) => {
    send(c, 0, [mqttDisconnect(c.lv, c.lv === 5 ? rng.pick([0, 1, 2]) : 0)], 0);
    // client FIN, server FIN, client ACK
    step(c, 0, F_FIN | F_ACK, null, rng.int(50, 2000));
    step(c, 1, F_FIN | F_ACK, null, respDelay());
    step(c, 0, F_ACK, null, respDelay());
    c.pendingAck = [false, false];
    c.state = 'closed';
  };

  /** Fills c.steps with the next action. Returns false when the device is finished (end of capture). */
  const plan = (c, now) => {
    c.steps.length = 0;
    c.si = 0;
    if (c.state === 'closed') {
      if (stopping) return false;
      actConnect(c);
      c.lastClient = now;
      settleAcks(c);
      return true;
    }
    if (stopping || c.actionsLeft-- <= 0) {
      actDisconnect(c);
      return true;
    }
    const lv = c.lv;
    const idle = now - c.lastClient;
    if (idle > (c.keepAlive * 1e6) / 2) {
      send(c, 0, [PINGREQ], 0);
      send(c, 1, [PINGRESP], respDelay());
      c.lastClient = now;
      settleAcks(c);
      return true;
    }
    const r = rng.f();
    if (r < 0.26) {
      // QoS 0 burst: 1-4 PUBLISH in one segment
      clientPubs(c, new Array(rng.pick([1, 1, 2, 3, 4])).fill(0), small(c));
      c.lastClient = now;
    } else if (r < 0.44) {
      clientPubs(c, new Array(rng.pick([1, 1, 1, 2, 3])).fill(1), small(c));
      c.lastClient = now;
    } else if (r < 0.52) {
      clientPubs(c, new Array(rng.pick([1, 1, 2])).fill(2), small(c));
      c.lastClient = now;
    } else if (r < 0.60) {
      // PUBACK and a delivery from the broker in the same segment
      const sub = c.subs[rng.int(0, 2)];
      const { pid, pkt } = deliveryPacket(c, sub, Math.min(sub.qos, 1), smallJson(c), true);
      clientPubs(c, [1], small(c), pkt);
      if (Math.min(sub.qos, 1) === 1) send(c, 0, [mqttAck(lv, 4, pid, ackForm(c))], respDelay());
      c.lastClient = now;
    } else if (r < 0.84) {
      const sub = c.subs[rng.int(0, 2)];
      if (delivery(c, sub, rng.int(0, sub.qos), smallJson(c), true)) c.lastClient = now;
    } else if (r < 0.93) {
      send(c, 0, [PINGREQ], 0);
      send(c, 1, [PINGRESP], respDelay());
      c.lastClient = now;
    } else if (r < 0.955) {
      // resubscribe the fleet filter
      const sub = c.subs[2];
      const pid = nextPid(c, 0);
      send(c, 0, [mqttUnsubscribe(lv, pid, [sub.filter])], 0);
      send(c, 1, [mqttUnsuback(lv, pid, 1)], respDelay());
      subscribeAll(c, [sub], respDelay());
      c.lastClient = now;
    } else if (r < 0.9562) {
      // large payload: client JSON dump (QoS 0/1) or broker firmware block (QoS 1)
      const n = rng.int(10_000, 200_000);
      stats.largePayloads++;
      stats.largePayloadBytes += n;
      if (rng.chance(0.7)) {
        clientPubs(c, [rng.int(0, 1)], () => ({ payload: largeJson(c, n), json: true }));
        c.lastClient = now;
      } else {
        delivery(c, c.subs[0], 1, binary(n), false);
        c.lastClient = now;
      }
    } else {
      // mixed burst from the client in one segment, answered in order
      clientPubs(c, rng.pick([[1, 0, 1], [2, 1], [1, 2, 0], [0, 2, 2]]), small(c));
      c.lastClient = now;
    }
    settleAcks(c);
    return true;
  };

  const think = (c) => (c.state === 'closed' ? rng.int(50_000, 2_000_000) : rng.int(200_000, 6_000_000));

  // ---- main loop -----------------------------------------------------------------------------------------------------
  const heap = new Heap();
  for (const c of conns) heap.push(c);
  let lastLog = Date.now();
  let lastT = 0;

  while (heap.size > 0) {
    const c = heap.pop();
    const now = c.t;
    if (now < lastT) throw new Error('internal: time went backwards');
    lastT = now;
    if (c.si >= c.steps.length) {
      if (!plan(c, now)) continue;
    }
    const st = c.steps[c.si++];
    const d = st.d;
    const ack = c.seq[1 - d];
    w.frame(now, c, d, st.f, c.seq[d], ack, st.p);
    let adv = st.p ? st.p.length : 0;
    if (st.f & (F_SYN | F_FIN)) adv += 1;
    c.seq[d] = (c.seq[d] + adv) >>> 0;
    if (c.si < c.steps.length) {
      c.t = now + Math.max(1, c.steps[c.si].dt);
    } else {
      c.steps.length = 0;
      c.si = 0;
      c.t = now + think(c);
    }
    heap.push(c);
    if (!stopping && w.bytes >= target - reserve) stopping = true;
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`generate: ${(w.bytes / 1e6).toFixed(0)} / ${(target / 1e6).toFixed(0)} MB`);
    }
  }
  w.close();
  renameSync(tmp, out);

  const meta = {
    generatorVersion: GENERATOR_VERSION,
    seed,
    sizeLabel: sizeLabel(target),
    targetBytes: target,
    bytes: w.bytes,
    frames: w.frames,
    concurrentDevices: nConns,
    ports: [...new Set(SERVERS.map((s) => s.port))],
    durationSec: (lastT - T0_US) / 1e6,
    generatedInSec: (Date.now() - started) / 1000,
    ...stats,
  };
  writeFileSync(`${out}.meta.json`, `${JSON.stringify(meta, null, 2)}\n`);
  return { path: out, meta };
}

// ---------------------------------------------------------------------------------------------------------------------
// CLI

function parseArgs(argv) {
  const o = { size: '200MB', seed: 1, out: undefined, conns: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a.startsWith('--size')) o.size = val();
    else if (a.startsWith('--seed')) o.seed = Number(val());
    else if (a.startsWith('--out')) o.out = val();
    else if (a.startsWith('--conns')) o.conns = Number(val());
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node bench/generate.mjs [--size 200MB] [--seed 1] [--out FILE] [--conns N]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const a = parseArgs(process.argv.slice(2));
    const sizeBytes = parseSize(a.size);
    const { path, meta } = generate({ sizeBytes, seed: a.seed, out: a.out, conns: a.conns, log: (s) => process.stderr.write(`${s}\n`) });
    process.stdout.write(`${path}: ${meta.bytes} bytes, ${meta.frames} frames, ${meta.packets} MQTT packets, ${meta.connections} connections, ${meta.generatedInSec.toFixed(1)} s\n`);
  } catch (e) {
    process.stderr.write(`generate: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
}
