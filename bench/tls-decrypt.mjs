#!/usr/bin/env node
// Decryption speed of the TLS layer (src/transport/tls/), one core: a TLS session with --mb MiB of application data
// in records of --record bytes is sealed here with Node's crypto, then the layer (dist/) cuts, decrypts and passes it
// on to a sink that only counts. Reports MB/s of TLS payload (record bytes, headers included) per suite.
//
//   npm run build && node bench/tls-decrypt.mjs [--mb 64] [--record 16384] [--runs 3] [--json]
//
// --json prints one JSON line instead of the table (what npm run bench records as tlsDecrypt). MQTT_DISSECT_NATIVE=0
// measures Node's crypto instead of the native record crypto (native/tls-records.c), as the CLI would run without it.
//
// A measurement, not a test: it prints numbers and asserts only that every plaintext byte came out.
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);
const { TlsLayer } = await dist('transport/tls/layer.js');
const { KeyLog } = await dist('transport/tls/keylog.js');
const { hkdfExpandLabel, keyBlock12 } = await dist('transport/tls/crypto.js');
const { suiteParams } = await dist('transport/tls/tables.js');

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : def; };
const MB = opt('mb', 64);
const RECORD = opt('record', 16384);
const RUNS = opt('runs', 3);
const JSON_OUT = args.includes('--json');
const { recordCryptoBackend } = await dist('transport/tls/record-keys.js');

const u16 = (n) => [(n >> 8) & 0xff, n & 0xff];
const rec = (type, body, v = 0x0303) => Buffer.concat([Buffer.from([type, v >> 8, v & 0xff, ...u16(body.length)]), body]);
const hs = (type, body) => Buffer.concat([Buffer.from([type, 0, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
function hello(type, random, suite, v13) {
  const ext = v13 ? Buffer.from(type === 1 ? [0, 43, 0, 3, 2, 3, 4] : [0, 43, 0, 2, 3, 4]) : Buffer.alloc(0);
  const suites = type === 1 ? Buffer.from([0, 2, ...u16(suite), 1, 0]) : Buffer.from([...u16(suite), 0]);
  return rec(22, hs(type, Buffer.concat([Buffer.from([3, 3]), random, Buffer.from([0]), suites, Buffer.from(u16(ext.length)), ext])), 0x0301);
}
function seal(p, key, nonce, aad, plain) {
  const c = createCipheriv(p.cipher.node, key, nonce, { authTagLength: p.cipher.tagLen });
  c.setAAD(aad, { plaintextLength: plain.length });
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}
const seq8 = (s) => { const b = Buffer.alloc(8); b.writeUInt32BE(Math.floor(s / 2 ** 32), 0); b.writeUInt32BE(s >>> 0, 4); return b; };

/** The client's stream: hello records, then `total` bytes of application data in records of `size`. */
function session(suite, total, size) {
  const p = suiteParams(suite);
  const cr = randomBytes(32), sr = randomBytes(32);
  const keylog = new KeyLog();
  const chunks = [];
  const payload = randomBytes(size);
  let s2c;
  if (p.tls13) {
    const cts = randomBytes(p.prf.len), sts = randomBytes(p.prf.len);
    keylog.add(`CLIENT_TRAFFIC_SECRET_0 ${cr.toString('hex')} ${cts.toString('hex')}\nSERVER_TRAFFIC_SECRET_0 ${cr.toString('hex')} ${sts.toString('hex')}\n`, 'bench');
    const key = hkdfExpandLabel(p.prf.node, cts, 'key', new Uint8Array(0), p.cipher.keyLen);
    const iv = hkdfExpandLabel(p.prf.node, cts, 'iv', new Uint8Array(0), 12);
    chunks.push(hello(1, cr, suite, true));
    s2c = hello(2, sr, suite, true);
    for (let i = 0, done = 0; done < total; i++, done += size) {
      const inner = Buffer.concat([payload, Buffer.from([23])]);
      const nonce = Buffer.from(iv); const sb = seq8(i); for (let j = 0; j < 8; j++) nonce[4 + j] ^= sb[j];
      chunks.push(rec(23, seal(p, key, nonce, Buffer.from([23, 3, 3, ...u16(inner.length + p.cipher.tagLen)]), inner)));
    }
  } else {
    const master = randomBytes(48);
    keylog.add(`CLIENT_RANDOM ${cr.toString('hex')} ${master.toString('hex')}\n`, 'bench');
    const k = keyBlock12(p, master, cr, sr).c2s;
    chunks.push(hello(1, cr, suite, false), rec(20, Buffer.from([1])));
    s2c = hello(2, sr, suite, false);
    for (let i = 0, done = 0; done < total; i++, done += size) {
      const aad = Buffer.concat([seq8(i), Buffer.from([23, 3, 3, ...u16(payload.length)])]);
      let body;
      if (p.cipher.kind === 'gcm' || p.cipher.kind === 'ccm') {
        body = Buffer.concat([seq8(i), seal(p, k.key, Buffer.concat([k.iv.subarray(0, 4), seq8(i)]), aad, payload)]);
      } else if (p.cipher.kind === 'chacha') {
        const nonce = Buffer.from(k.iv); const sb = seq8(i); for (let j = 0; j < 8; j++) nonce[4 + j] ^= sb[j];
        body = seal(p, k.key, nonce, aad, payload);
      } else {
        const mac = createHmac(p.mac.node, k.macKey).update(aad).update(payload).digest();
        const m = Buffer.concat([payload, mac]);
        const bl = p.cipher.blockLen;
        const padLen = (bl - ((m.length + 1) % bl)) % bl;
        const ivb = randomBytes(bl);
        const c = createCipheriv(p.cipher.node, k.key, ivb); c.setAutoPadding(false);
        body = Buffer.concat([ivb, c.update(Buffer.concat([m, Buffer.alloc(padLen + 1, padLen)])), c.final()]);
      }
      chunks.push(rec(23, body));
    }
  }
  return { keylog, c2s: Buffer.concat(chunks), s2c, plain: Math.ceil(total / size) * size, hello: chunks[0].length };
}

const conn = { id: 0, clientIp: '10.0.0.1', clientPort: 40000, serverIp: '10.0.0.2', serverPort: 8883, client: '10.0.0.1:40000', server: '10.0.0.2:8883', sawSyn: true, firstFrame: 1, startSec: 0, startNsec: 0, tls: true, tcpStream: 0 };
const suites = [
  [0x1301, 'TLS 1.3 AES-128-GCM'], [0x1302, 'TLS 1.3 AES-256-GCM'], [0x1303, 'TLS 1.3 CHACHA20-POLY1305'], [0x1304, 'TLS 1.3 AES-128-CCM'],
  [0x1305, 'TLS 1.3 AES-128-CCM_8'], [0xc02f, 'TLS 1.2 AES-128-GCM'], [0xcca8, 'TLS 1.2 CHACHA20-POLY1305'], [0xc0ae, 'TLS 1.2 AES-128-CCM_8'],
  [0x003c, 'TLS 1.2 AES-128-CBC-SHA256'], [0xc013, 'TLS 1.2 AES-128-CBC-SHA'], [0x000a, 'TLS 1.2 3DES-EDE-CBC-SHA'],
];
if (!JSON_OUT) console.log(`${MB} MiB of application data in ${RECORD}-byte records, cut into 1448-byte TCP chunks; best of ${RUNS} (${recordCryptoBackend().backend} record crypto)`);
const results = [];
for (const [suite, name] of suites) {
  const s = session(suite, MB * 1024 * 1024, RECORD);
  let best = Infinity;
  for (let r = 0; r < RUNS; r++) {
    let out = 0;
    const sink = { open() {}, data(_c, _d, b) { out += b.length; }, gap() {}, close() {}, event(e) { if (e.event === 'tls-error') throw new Error(e.message); } };
    const layer = new TlsLayer(sink, { keylog: s.keylog });
    const c = { ...conn };
    const t0 = process.cpuUsage();
    layer.open(c);
    layer.data(c, 'c2s', s.c2s.subarray(0, s.hello), 1, 0, 0);
    layer.data(c, 's2c', s.s2c, 2, 0, 0);
    for (let at = s.hello; at < s.c2s.length; at += 1448) layer.data(c, 'c2s', s.c2s.subarray(at, Math.min(at + 1448, s.c2s.length)), 3, 0, 0);
    const t = process.cpuUsage(t0);
    const sec = (t.user + t.system) / 1e6;
    if (out !== s.plain) throw new Error(`${name}: ${out} of ${s.plain} plaintext bytes came out`);
    best = Math.min(best, sec);
  }
  const mbPerSec = s.c2s.length / 1e6 / best;
  results.push({ suite, name, mbPerSec: Math.round(mbPerSec), cpuSec: Number(best.toFixed(3)), tlsBytes: s.c2s.length });
  if (!JSON_OUT) console.log(`${name.padEnd(28)} ${mbPerSec.toFixed(0).padStart(6)} MB/s of TLS payload (${best.toFixed(3)} s CPU for ${(s.c2s.length / 1e6).toFixed(1)} MB)`);
}
if (JSON_OUT) console.log(JSON.stringify({ mb: MB, record: RECORD, runs: RUNS, backend: recordCryptoBackend(), suites: results }));
