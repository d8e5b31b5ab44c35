#!/usr/bin/env node
/**
 * The benchmark's MQTT traffic inside TLS (issue 13): rewrites a capture of bench/generate.mjs so that every MQTT
 * connection is TLS 1.3 with TLS_AES_128_GCM_SHA256 on port 8883, and writes the NSS key log that decrypts it.
 *
 *   node bench/tls-wrap.mjs IN.pcap OUT.pcap OUT.keys [--seed 1]
 *
 * Deterministic (no network, no randomness: the secrets and randoms are hashes of the seed and the connection's
 * number) and streaming (memory flat in the capture size). Per connection:
 *  - before the client's first payload, two frames are inserted: the client's ClientHello and the server's ServerHello
 *    (plaintext handshake records, the suite and TLS 1.3 in supported_versions, as RFC 8446 4.1.2/4.1.3 lay them out);
 *  - every TCP payload becomes one TLS 1.3 application-data record (RFC 8446 5.2: the payload, content type 23, a
 *    16-byte tag; AES-128-GCM with the key and IV of CLIENT_/SERVER_TRAFFIC_SECRET_0, nonce = IV xor sequence number),
 *    so records are as small as the segments the generator wrote (MQTT packets and MSS-sized pieces of large ones);
 *  - sequence and acknowledgement numbers are shifted by the bytes the records added, lengths and checksums redone;
 *  - ports 1883 and 6002 become 8883 (the servers have distinct addresses, so no two connections meet).
 * The key log holds only the application traffic secrets: the decoder takes the first record they open as the end of
 * the (absent) encrypted handshake. Frames of other traffic are copied as they are.
 *
 * Returns (and with the CLI prints) what was written: frames, connections, records, TLS payload bytes (record headers
 * included, the figure MB/s is computed from) and the plaintext bytes inside.
 */
import { closeSync, openSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TLS_PORT = 8883;
const MQTT_PORTS = new Set([1883, 6002]);
const SUITE = 0x1301; // TLS_AES_128_GCM_SHA256
const TAG = 16;
/** Bytes a record adds to its payload: 5-byte header, inner content type, tag. */
export const RECORD_OVERHEAD = 5 + 1 + TAG;

const u16 = (n) => [(n >> 8) & 0xff, n & 0xff];

/** HKDF-Expand-Label (RFC 8446 7.1) for outputs up to one SHA-256 block, from HMAC alone. */
function expandLabel(secret, label, length) {
  const full = Buffer.from(`tls13 ${label}`);
  const info = Buffer.concat([Buffer.from([...u16(length), full.length]), full, Buffer.from([0])]);
  return createHmac('sha256', secret).update(info).update(Buffer.from([1])).digest().subarray(0, length);
}

function handshakeRecord(type, body) {
  const msg = Buffer.concat([Buffer.from([type, 0, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([22, 3, 1, ...u16(msg.length)]), msg]);
}

function clientHello(random) {
  const ext = Buffer.from([0, 43, 0, 3, 2, 3, 4]); // supported_versions: TLS 1.3
  const body = Buffer.concat([Buffer.from([3, 3]), random, Buffer.from([0, 0, 2, ...u16(SUITE), 1, 0, ...u16(ext.length)]), ext]);
  return handshakeRecord(1, body);
}

function serverHello(random) {
  const ext = Buffer.from([0, 43, 0, 2, 3, 4]);
  const body = Buffer.concat([Buffer.from([3, 3]), random, Buffer.from([0, ...u16(SUITE), 0, ...u16(ext.length)]), ext]);
  return handshakeRecord(2, body);
}

/** One direction's record protection: key, IV, sequence number. */
class Sealer {
  constructor(secret) {
    this.key = expandLabel(secret, 'key', 16);
    this.iv = expandLabel(secret, 'iv', 12);
    this.seq = 0;
    this.nonce = Buffer.alloc(12);
  }
  seal(payload) {
    const n = this.nonce;
    this.iv.copy(n);
    // The 64-bit sequence number, xored into the IV's last 8 bytes (the count stays below 2^32 here).
    const s = this.seq++;
    n[8] ^= (s >>> 24) & 0xff; n[9] ^= (s >>> 16) & 0xff; n[10] ^= (s >>> 8) & 0xff; n[11] ^= s & 0xff;
    const len = payload.length + 1 + TAG;
    const header = Buffer.from([23, 3, 3, ...u16(len)]);
    const c = createCipheriv('aes-128-gcm', this.key, n);
    c.setAAD(header);
    const body = Buffer.concat([c.update(payload), c.update(Buffer.from([23])), c.final(), c.getAuthTag()]);
    return Buffer.concat([header, body]);
  }
}

/** One connection's rewriting state; index 0 is client to server, 1 server to client. */
class Conn {
  constructor(n, seed) {
    const h = (what) => createHash('sha256').update(`mqtt-dissect bench tls ${seed} ${n} ${what}`).digest();
    this.clientRandom = h('client random');
    this.serverRandom = h('server random');
    const cts = h('client traffic secret');
    const sts = h('server traffic secret');
    this.keyLines = `CLIENT_TRAFFIC_SECRET_0 ${this.clientRandom.toString('hex')} ${cts.toString('hex')}\nSERVER_TRAFFIC_SECRET_0 ${this.clientRandom.toString('hex')} ${sts.toString('hex')}\n`;
    this.sealers = [new Sealer(cts), new Sealer(sts)];
    this.isn = [null, null];
    /** Bytes added so far to each direction's stream. */
    this.added = [0, 0];
    /** Per direction: [old relative end, bytes added up to it], for mapping the other side's acknowledgements. */
    this.marks = [[], []];
    this.acked = [0, 0];
    this.hello = false;
  }
  /** The new acknowledgement number for `ack` of direction `d`'s stream. */
  mapAck(d, ack) {
    if (this.isn[d] === null) return ack;
    const rel = (ack - this.isn[d] - 1) >>> 0;
    const m = this.marks[d];
    let i = 0;
    while (i < m.length && m[i][0] <= rel) this.acked[d] = m[i++][1];
    if (i > 0) m.splice(0, i);
    return (ack + this.acked[d]) >>> 0;
  }
  /** Records the `len` bytes of direction `d` at `seq` as grown by `grow` bytes. */
  grew(d, seq, len, grow) {
    const rel = (seq - this.isn[d] - 1) >>> 0;
    this.added[d] += grow;
    this.marks[d].push([rel + len, this.added[d]]);
  }
}

function checksum16(buf, start, end, initial) {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return (~sum) & 0xffff;
}

/** An Ethernet + IPv4 + TCP frame like `frame` (addresses, flags, window) with new numbers and payload. */
function rebuild(frame, ipOff, ihl, tcpOff, thl, fields, payload) {
  const head = Buffer.from(frame.subarray(0, tcpOff + thl));
  const out = Buffer.concat([head, payload]);
  const ipLen = out.length - ipOff;
  out.writeUInt16BE(ipLen, ipOff + 2);
  out.writeUInt16BE(0, ipOff + 10);
  out.writeUInt16BE(checksum16(out, ipOff, ipOff + ihl, 0), ipOff + 10);
  if (fields.swap) {
    // The other direction's frame: addresses and ports exchanged.
    const src = Buffer.from(out.subarray(ipOff + 12, ipOff + 16));
    out.copy(out, ipOff + 12, ipOff + 16, ipOff + 20);
    src.copy(out, ipOff + 16);
    const sp = out.readUInt16BE(tcpOff);
    out.writeUInt16BE(out.readUInt16BE(tcpOff + 2), tcpOff);
    out.writeUInt16BE(sp, tcpOff + 2);
    const mac = Buffer.from(out.subarray(0, 6));
    out.copy(out, 0, 6, 12);
    mac.copy(out, 6);
  }
  if (fields.srcPort !== undefined) out.writeUInt16BE(fields.srcPort, tcpOff);
  if (fields.dstPort !== undefined) out.writeUInt16BE(fields.dstPort, tcpOff + 2);
  out.writeUInt32BE(fields.seq >>> 0, tcpOff + 4);
  out.writeUInt32BE(fields.ack >>> 0, tcpOff + 8);
  if (fields.flags !== undefined) out[tcpOff + 13] = fields.flags;
  out.writeUInt16BE(0, tcpOff + 16);
  const tcpLen = out.length - tcpOff;
  let pseudo = 6 + tcpLen;
  for (let i = ipOff + 12; i < ipOff + 20; i += 2) pseudo += (out[i] << 8) | out[i + 1];
  out.writeUInt16BE(checksum16(out, tcpOff, out.length, pseudo), tcpOff + 16);
  return out;
}

/** Streams the pcap records of `path`: `onHeader(fileHeader)`, then `each(recordHeader, data)` per record. */
function readPcap(path, onHeader, each) {
  const fd = openSync(path, 'r');
  try {
    const CHUNK = 4 << 20;
    let buf = Buffer.alloc(0);
    const more = () => {
      const b = Buffer.allocUnsafe(CHUNK);
      const n = readSync(fd, b, 0, CHUNK, null);
      if (n === 0) return false;
      buf = buf.length === 0 ? b.subarray(0, n) : Buffer.concat([buf, b.subarray(0, n)]);
      return true;
    };
    while (buf.length < 24) if (!more()) throw new Error(`${path}: no pcap header`);
    if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${path}: not a little-endian microsecond pcap (bench/generate.mjs writes one)`);
    onHeader(buf.subarray(0, 24));
    let at = 24;
    for (;;) {
      const have = buf.length - at;
      const need = have < 16 ? 16 : 16 + buf.readUInt32LE(at + 8);
      if (have < need) {
        buf = buf.subarray(at);
        at = 0;
        if (more()) continue;
        if (buf.length === 0) break;
        throw new Error(`${path}: truncated record`);
      }
      const incl = need - 16;
      each(buf.subarray(at, at + 16), buf.subarray(at + 16, at + 16 + incl));
      at += 16 + incl;
    }
  } finally {
    closeSync(fd);
  }
}

export function wrapTls({ input, output, keys, seed = 1 }) {
  const tmp = `${output}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const pending = [];
  let pendingBytes = 0;
  const write = (b) => {
    pending.push(b);
    pendingBytes += b.length;
    if (pendingBytes >= 4 << 20) flush();
  };
  const flush = () => {
    if (pending.length === 0) return;
    writeSync(fd, Buffer.concat(pending));
    pending.length = 0;
    pendingBytes = 0;
  };
  const conns = new Map();
  const keyLines = [];
  const stats = { frames: 0, insertedFrames: 0, connections: 0, records: 0, tlsBytes: 0, plaintextBytes: 0 };
  const record = (hdr, data) => {
    const h = Buffer.from(hdr);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(data.length, 12);
    write(h);
    write(data);
    stats.frames++;
  };
  readPcap(input, (h) => {
    const hh = Buffer.from(h);
    hh.writeUInt32LE(262144, 16); // snap length: the records make frames longer than the MSS
    write(hh);
  }, (hdr, frame) => {
    // Ethernet, IPv4, TCP on an MQTT port: anything else is copied.
    if (frame.length < 14 + 20 + 20 || frame.readUInt16BE(12) !== 0x0800 || frame[14 + 9] !== 6) return record(hdr, frame);
    const ipOff = 14;
    const ihl = (frame[ipOff] & 0x0f) * 4;
    const tcpOff = ipOff + ihl;
    const thl = (frame[tcpOff + 12] >> 4) * 4;
    const sp = frame.readUInt16BE(tcpOff);
    const dp = frame.readUInt16BE(tcpOff + 2);
    const toServer = MQTT_PORTS.has(dp);
    if (!toServer && !MQTT_PORTS.has(sp)) return record(hdr, frame);
    const d = toServer ? 0 : 1;
    const ipEnd = ipOff + frame.readUInt16BE(ipOff + 2);
    const payload = frame.subarray(tcpOff + thl, ipEnd);
    const flags = frame[tcpOff + 13];
    const seq = frame.readUInt32BE(tcpOff + 4);
    const ack = frame.readUInt32BE(tcpOff + 8);
    // Keyed client first: client address, server address, client port > server port.
    const src = frame.subarray(ipOff + 12, ipOff + 16).toString('hex');
    const dst = frame.subarray(ipOff + 16, ipOff + 20).toString('hex');
    const key = toServer ? `${src}${dst}:${sp}>${dp}` : `${dst}${src}:${dp}>${sp}`;
    let c = conns.get(key);
    const syn = (flags & 0x02) !== 0;
    if (syn && d === 0) {
      // A new connection (also a 4-tuple used again).
      c = new Conn(stats.connections++, seed);
      conns.set(key, c);
      keyLines.push(c.keyLines);
    }
    if (c === undefined) return record(hdr, frame);
    if (syn) c.isn[d] = seq;
    if ((flags & 0x01) !== 0 && c.isn[d] === null) c.isn[d] = (seq - 1) >>> 0;
    const ports = toServer ? { dstPort: TLS_PORT } : { srcPort: TLS_PORT };
    const hasAck = (flags & 0x10) !== 0;
    if (payload.length > 0 && c.isn[d] === null) c.isn[d] = (seq - 1) >>> 0;
    if (payload.length > 0 && !c.hello && d === 0) {
      // ClientHello (its own frame), then the server's ServerHello, before the first byte of MQTT.
      c.hello = true;
      const ch = clientHello(c.clientRandom);
      const sh = serverHello(c.serverRandom);
      const serverIsn = c.isn[1];
      const chSeq = (seq + c.added[0]) >>> 0;
      record(hdr, rebuild(frame, ipOff, ihl, tcpOff, thl, { ...ports, seq: chSeq, ack: c.mapAck(1, ack), flags: 0x18 }, ch));
      c.added[0] += ch.length;
      c.marks[0].push([0, c.added[0]]);
      if (serverIsn !== null) {
        const shSeq = (serverIsn + 1 + c.added[1]) >>> 0;
        record(hdr, rebuild(frame, ipOff, ihl, tcpOff, thl, { swap: true, srcPort: TLS_PORT, seq: shSeq, ack: c.mapAck(0, (c.isn[0] + 1) >>> 0), flags: 0x18 }, sh));
        c.added[1] += sh.length;
        c.marks[1].push([0, c.added[1]]);
      }
      stats.insertedFrames += 2;
      stats.tlsBytes += ch.length + sh.length;
    }
    const newSeq = (seq + c.added[d]) >>> 0;
    const newAck = hasAck ? c.mapAck(1 - d, ack) : ack;
    if (payload.length === 0) return record(hdr, rebuild(frame, ipOff, ihl, tcpOff, thl, { ...ports, seq: newSeq, ack: newAck }, payload));
    const rec = c.sealers[d].seal(payload);
    c.grew(d, seq, payload.length, rec.length - payload.length);
    stats.records++;
    stats.tlsBytes += rec.length;
    stats.plaintextBytes += payload.length;
    record(hdr, rebuild(frame, ipOff, ihl, tcpOff, thl, { ...ports, seq: newSeq, ack: newAck }, rec));
  });
  flush();
  closeSync(fd);
  renameSync(tmp, output);
  writeFileSync(keys, keyLines.join(''));
  return stats;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--seed');
  const seed = i >= 0 ? Number(args.splice(i, 2)[1]) : 1;
  const [input, output, keys] = args;
  if (!input || !output || !keys) {
    process.stderr.write('usage: node bench/tls-wrap.mjs IN.pcap OUT.pcap OUT.keys [--seed 1]\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(wrapTls({ input, output, keys, seed }))}\n`);
}
