/**
 * TLS byte streams for tests: handshake records built field by field, and records encrypted with Node's crypto the
 * way a TLS stack protects them (RFC 8446 5.2, RFC 5246 6.2.3), so the layer under test can be fed any chunking,
 * damage or key. The key schedule comes from src (checked there against Node's hkdfSync and by the real captures).
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { hkdfExpandLabel, keyBlock12 } from '../../src/transport/tls/crypto.js';
import { suiteParams, type SuiteParams } from '../../src/transport/tls/tables.js';
import type { Connection } from '../../src/tcp/types.js';

export function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}
function u24(n: number): number[] {
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}
function ext(type: number, body: number[]): number[] {
  return [...u16(type), ...u16(body.length), ...body];
}

export function record(type: number, body: Uint8Array | number[], version = 0x0303): Uint8Array {
  const b = Uint8Array.from(body);
  return Uint8Array.from([type, version >> 8, version & 0xff, ...u16(b.length), ...b]);
}

export function handshakeMsg(type: number, body: number[] | Uint8Array): number[] {
  const b = Array.from(body);
  return [type, ...u24(b.length), ...b];
}

export interface HelloOpts {
  random: Uint8Array;
  sni?: string;
  alpn?: string[];
  versions?: number[];
  suites?: number[];
  sessionId?: Uint8Array;
  etm?: boolean;
}

export function clientHello(o: HelloOpts): Uint8Array {
  const exts: number[] = [];
  if (o.sni !== undefined) {
    const n = [...Buffer.from(o.sni)];
    exts.push(...ext(0, [...u16(n.length + 3), 0, ...u16(n.length), ...n]));
  }
  if (o.alpn !== undefined) {
    const list = o.alpn.flatMap((p) => [p.length, ...Buffer.from(p)]);
    exts.push(...ext(16, [...u16(list.length), ...list]));
  }
  if (o.versions !== undefined) exts.push(...ext(43, [o.versions.length * 2, ...o.versions.flatMap(u16)]));
  if (o.etm === true) exts.push(...ext(22, []));
  const sid = [...(o.sessionId ?? new Uint8Array(0))];
  const suites = (o.suites ?? [0x1301, 0xc02f]).flatMap(u16);
  const body = [...u16(0x0303), ...o.random, sid.length, ...sid, ...u16(suites.length), ...suites, 1, 0, ...u16(exts.length), ...exts];
  return record(22, handshakeMsg(1, body), 0x0301);
}

export function serverHello(o: { random: Uint8Array; suite: number; version: number; sessionId?: Uint8Array; etm?: boolean }): Uint8Array {
  const exts: number[] = [];
  if (o.version === 0x0304) exts.push(...ext(43, u16(0x0304)));
  if (o.etm === true) exts.push(...ext(22, []));
  const sid = [...(o.sessionId ?? new Uint8Array(0))];
  const legacy = o.version === 0x0304 ? 0x0303 : o.version;
  const body = [...u16(legacy), ...o.random, sid.length, ...sid, ...u16(o.suite), 0, ...u16(exts.length), ...exts];
  return record(22, handshakeMsg(2, body), legacy);
}

function aeadSeal(p: SuiteParams, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array): Uint8Array {
  // The AEAD cipher is chosen by name at run time; the options type follows it.
  const c = createCipheriv(p.cipher.node, key, nonce, { authTagLength: p.cipher.tagLen } as never) as unknown as {
    setAAD(b: Uint8Array, o: { plaintextLength: number }): void; update(b: Uint8Array): Buffer; final(): Buffer; getAuthTag(): Buffer;
  };
  c.setAAD(aad, { plaintextLength: plain.length });
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([ct, c.getAuthTag()]);
}

function seqBytes(seq: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(seq / 0x100000000), 0);
  b.writeUInt32BE(seq >>> 0, 4);
  return b;
}

/** Seals TLS 1.3 records of one direction from a traffic secret (sequence numbers from 0; update() as KeyUpdate). */
export class Tls13Sealer {
  private key: Buffer;
  private iv: Buffer;
  seq = 0;
  constructor(readonly p: SuiteParams, private secret: Uint8Array) {
    this.key = hkdfExpandLabel(p.prf.node, secret, 'key', new Uint8Array(0), p.cipher.keyLen);
    this.iv = hkdfExpandLabel(p.prf.node, secret, 'iv', new Uint8Array(0), 12);
  }
  update(): void {
    this.secret = hkdfExpandLabel(this.p.prf.node, this.secret, 'traffic upd', new Uint8Array(0), this.p.prf.len);
    this.key = hkdfExpandLabel(this.p.prf.node, this.secret, 'key', new Uint8Array(0), this.p.cipher.keyLen);
    this.iv = hkdfExpandLabel(this.p.prf.node, this.secret, 'iv', new Uint8Array(0), 12);
    this.seq = 0;
  }
  seal(innerType: number, content: Uint8Array, padding = 0): Uint8Array {
    const inner = Buffer.concat([content, Uint8Array.of(innerType), Buffer.alloc(padding)]);
    const len = inner.length + this.p.cipher.tagLen;
    const aad = Uint8Array.of(23, 3, 3, ...u16(len));
    const nonce = Buffer.from(this.iv);
    const s = seqBytes(this.seq++);
    for (let i = 0; i < 8; i++) nonce[4 + i]! ^= s[i]!;
    return record(23, aeadSeal(this.p, this.key, nonce, aad, inner));
  }
}

/** Seals TLS 1.0-1.2 records of one direction from the key block. */
export class Tls12Sealer {
  seq = 0;
  private chainIv: Buffer | null;
  constructor(readonly p: SuiteParams, private readonly k: { macKey: Buffer; key: Buffer; iv: Buffer }, private readonly etm = false, private readonly version = 0x0303) {
    this.chainIv = version === 0x0301 && p.cipher.kind === 'cbc' ? Buffer.from(k.iv) : null;
  }
  seal(type: number, content: Uint8Array): Uint8Array {
    const c = this.p.cipher;
    const hdr = (len: number): Buffer => Buffer.from([...seqBytes(this.seq), type, this.version >> 8, this.version & 0xff, ...u16(len)]);
    let body: Uint8Array;
    if (c.kind === 'gcm' || c.kind === 'ccm') {
      const explicit = seqBytes(this.seq);
      const nonce = Buffer.concat([this.k.iv.subarray(0, 4), explicit]);
      body = Buffer.concat([explicit, aeadSeal(this.p, this.k.key, nonce, hdr(content.length), content)]);
    } else if (c.kind === 'chacha') {
      const nonce = Buffer.from(this.k.iv);
      const s = seqBytes(this.seq);
      for (let i = 0; i < 8; i++) nonce[4 + i]! ^= s[i]!;
      body = aeadSeal(this.p, this.k.key, nonce, hdr(content.length), content);
    } else if (c.kind === 'null') {
      const mac = this.p.mac!;
      body = Buffer.concat([content, createHmac(mac.node, this.k.macKey).update(hdr(content.length)).update(content).digest()]);
    } else {
      const mac = this.p.mac!;
      const hmac = (data: Uint8Array): Buffer => createHmac(mac.node, this.k.macKey).update(hdr(data.length)).update(data).digest();
      const bl = c.blockLen;
      const pad = (n: number): Buffer => { const p = bl - ((n + 1) % bl); return Buffer.alloc(p + 1, p); };
      const iv = this.chainIv ?? randomBytes(bl);
      const enc = (plain: Buffer): Buffer => { const e = createCipheriv(c.node, this.k.key, iv); e.setAutoPadding(false); return Buffer.concat([e.update(plain), e.final()]); };
      const ivOut = this.chainIv === null ? iv : Buffer.alloc(0);
      if (this.etm) {
        const plain = Buffer.concat([content, pad(content.length)]);
        const ct = Buffer.concat([ivOut, enc(plain)]);
        body = Buffer.concat([ct, hmac(ct)]);
      } else {
        const withMac = Buffer.concat([content, hmac(content)]);
        body = Buffer.concat([ivOut, enc(Buffer.concat([withMac, pad(withMac.length)]))]);
      }
      if (this.chainIv !== null) this.chainIv = Buffer.from(body.subarray(body.length - bl - (this.etm ? mac.len : 0), body.length - (this.etm ? mac.len : 0)));
    }
    this.seq++;
    return record(type, body, this.version);
  }
}

export function params(suite: number): SuiteParams {
  const p = suiteParams(suite);
  if (p === null) throw new Error(`suite 0x${suite.toString(16)} has no parameters`);
  return p;
}

export function sealers12(suite: number, master: Uint8Array, cr: Uint8Array, sr: Uint8Array, etm = false, version = 0x0303): { c2s: Tls12Sealer; s2c: Tls12Sealer } {
  const p = params(suite);
  const kb = keyBlock12(p, master, cr, sr, version !== 0x0303);
  return { c2s: new Tls12Sealer(p, kb.c2s, etm, version), s2c: new Tls12Sealer(p, kb.s2c, etm, version) };
}

export function tlsConn(id = 0, port = 8883): Connection {
  return {
    id, clientIp: '10.0.0.1', clientPort: 40000 + id, serverIp: '10.0.0.2', serverPort: port, client: `10.0.0.1:${40000 + id}`,
    server: `10.0.0.2:${port}`, sawSyn: true, firstFrame: 1, startSec: 1_700_000_000, startNsec: 0, tls: true, tcpStream: id,
  };
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
