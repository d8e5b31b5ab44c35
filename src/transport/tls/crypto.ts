/**
 * TLS record protection (the record crypto itself through record-keys.ts: native/ or Node's crypto): the TLS 1.3 key
 * schedule (HKDF-Expand-Label, RFC 8446 7.1 and 7.3),
 * the TLS 1.2 PRF and key block (RFC 5246 5 and 6.3), and record decryption for AEAD (RFC 5246 6.2.3.3, RFC 8446 5.2,
 * RFC 7905 for ChaCha20-Poly1305), CBC with HMAC (RFC 5246 6.2.3.2, Encrypt-then-MAC of RFC 7366) and NULL.
 */
import { createHmac } from 'node:crypto';
import { aeadKey, cbcKey, macKey, type Aead, type CbcKey, type MacKey } from './record-keys.js';
import { isAead, type SuiteParams } from './tables.js';

/** HKDF-Expand (RFC 5869 2.3) with HMAC: Node's hkdfSync always extracts first, the TLS 1.3 schedule needs expand alone. */
export function hkdfExpand(hash: string, prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  let got = 0;
  for (let i = 1; got < length; i++) {
    t = createHmac(hash, prk).update(t).update(info).update(Uint8Array.of(i)).digest();
    out.push(t);
    got += t.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** HKDF-Expand-Label(secret, label, context, length) of RFC 8446 7.1. */
export function hkdfExpandLabel(hash: string, secret: Uint8Array, label: string, context: Uint8Array, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.alloc(2 + 1 + full.length + 1 + context.length);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  full.copy(info, 3);
  info[3 + full.length] = context.length;
  info.set(context, 4 + full.length);
  return hkdfExpand(hash, secret, info, length);
}

/** The TLS 1.2 PRF: P_hash(secret, label + seed) of RFC 5246 5. */
export function prf12(hash: string, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  const ls = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out: Buffer[] = [];
  let a: Buffer = ls;
  let got = 0;
  while (got < length) {
    a = createHmac(hash, secret).update(a).digest();
    const p = createHmac(hash, secret).update(a).update(ls).digest();
    out.push(p);
    got += p.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/**
 * The TLS 1.0 / 1.1 PRF (RFC 4346 5, RFC 2246 5): P_MD5 over the secret's first half XOR P_SHA-1 over its second half
 * (the halves share the middle byte when the length is odd).
 */
export function prf10(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  const half = Math.ceil(secret.length / 2);
  const md5 = prf12('md5', secret.subarray(0, half), label, seed, length);
  const sha = prf12('sha1', secret.subarray(secret.length - half), label, seed, length);
  for (let i = 0; i < length; i++) md5[i]! ^= sha[i]!;
  return md5;
}

/**
 * An opened record's content type and plaintext, or why it did not open. The plaintext may be a view of the layer's
 * output buffer (record-keys.ts): valid until the layer opens its next record.
 */
export type Opened = { type: number; data: Uint8Array } | { error: string };

/** Decrypts the records of one direction, given each record's sequence number. */
export interface RecordOpener {
  open(type: number, version: number, fragment: Uint8Array, seq: number): Opened;
}

/** 8-byte big-endian sequence number into `b` at `at`. */
function putSeq(b: Buffer, at: number, seq: number): void {
  b.writeUInt32BE(Math.floor(seq / 0x100000000) >>> 0, at);
  b.writeUInt32BE(seq >>> 0, at + 4);
}

/** nonce = iv XOR the sequence number, left-padded (RFC 8446 5.3, RFC 7905 2). */
function xorNonce(iv: Buffer, seq: number, out: Buffer): Buffer {
  iv.copy(out);
  const n = out.length;
  const hi = Math.floor(seq / 0x100000000) >>> 0;
  const lo = seq >>> 0;
  out[n - 1]! ^= lo & 0xff; out[n - 2]! ^= (lo >>> 8) & 0xff; out[n - 3]! ^= (lo >>> 16) & 0xff; out[n - 4]! ^= lo >>> 24;
  out[n - 5]! ^= hi & 0xff; out[n - 6]! ^= (hi >>> 8) & 0xff; out[n - 7]! ^= (hi >>> 16) & 0xff; out[n - 8]! ^= hi >>> 24;
  return out;
}

/** TLS 1.3: write key and IV from a traffic secret; the key's next generation after a KeyUpdate. */
export class Tls13Opener implements RecordOpener {
  private key: Aead;
  private iv: Buffer;
  private readonly nonce = Buffer.alloc(12);
  private readonly aad = Buffer.alloc(5);

  /** `out`: the layer's buffer for plaintexts (record-keys.ts), at least a record long. */
  constructor(private readonly p: SuiteParams, private secret: Uint8Array, private readonly out: Uint8Array) {
    this.key = aeadKey(p, hkdfExpandLabel(p.prf.node, secret, 'key', new Uint8Array(0), p.cipher.keyLen), out);
    this.iv = hkdfExpandLabel(p.prf.node, secret, 'iv', new Uint8Array(0), 12);
  }

  /** KeyUpdate (RFC 8446 7.2): application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length). */
  update(): void {
    this.secret = hkdfExpandLabel(this.p.prf.node, this.secret, 'traffic upd', new Uint8Array(0), this.p.prf.len);
    this.key = aeadKey(this.p, hkdfExpandLabel(this.p.prf.node, this.secret, 'key', new Uint8Array(0), this.p.cipher.keyLen), this.out);
    this.iv = hkdfExpandLabel(this.p.prf.node, this.secret, 'iv', new Uint8Array(0), 12);
  }

  open(type: number, version: number, fragment: Uint8Array, seq: number): Opened {
    const tagLen = this.p.cipher.tagLen;
    if (type !== 23) return { error: `a ${type} record where TLS 1.3 sends only encrypted application_data records` };
    if (fragment.length < tagLen + 1) return { error: `record of ${fragment.length} bytes is shorter than its ${tagLen}-byte tag and content type` };
    const aad = this.aad;
    aad[0] = type;
    aad.writeUInt16BE(version, 1);
    aad.writeUInt16BE(fragment.length, 3);
    const plain = this.key.open(xorNonce(this.iv, seq, this.nonce), aad, fragment);
    if (plain === null) return { error: 'authentication tag does not verify' };
    // TLSInnerPlaintext: content, the real content type, zero padding (RFC 8446 5.2).
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (end < 0) return { error: 'decrypted record has no content type (all padding)' };
    return { type: plain[end]!, data: plain.subarray(0, end) };
  }
}

/** TLS 1.2 keys of one direction, from the key block. */
export interface Tls12Keys {
  macKey: Buffer;
  key: Buffer;
  iv: Buffer;
}

/**
 * The key block of RFC 5246 6.3: both MAC keys, both write keys, both IVs (for AEAD the 4-byte salt of RFC 5288, for
 * ChaCha20-Poly1305 the 12-byte IV of RFC 7905; CBC IVs of TLS 1.1+ are explicit, the derived ones go unused).
 */
export function keyBlock12(p: SuiteParams, master: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array, legacyPrf = false): { c2s: Tls12Keys; s2c: Tls12Keys } {
  const macLen = p.mac?.len ?? 0;
  const keyLen = p.cipher.keyLen;
  const ivLen = p.cipher.kind === 'chacha' ? 12 : p.cipher.kind === 'gcm' || p.cipher.kind === 'ccm' ? 4 : p.cipher.blockLen;
  const seed = Buffer.concat([serverRandom, clientRandom]);
  const n = 2 * (macLen + keyLen + ivLen);
  const kb = legacyPrf ? prf10(master, 'key expansion', seed, n) : prf12(p.prf.node, master, 'key expansion', seed, n);
  let at = 0;
  const take = (n: number): Buffer => kb.subarray(at, (at += n));
  const cMac = take(macLen), sMac = take(macLen), cKey = take(keyLen), sKey = take(keyLen), cIv = take(ivLen), sIv = take(ivLen);
  return { c2s: { macKey: cMac, key: cKey, iv: cIv }, s2c: { macKey: sMac, key: sKey, iv: sIv } };
}

export class Tls12Opener implements RecordOpener {
  private readonly nonce: Buffer;
  private readonly aad = Buffer.alloc(13);
  /** The write key of an AEAD suite (record-keys.ts), made once. */
  private readonly aead: Aead | null;
  /** The write key of a CBC suite, made once. */
  private readonly cbc: CbcKey | null;
  /** The MAC key of a CBC or NULL suite, made once. */
  private readonly mac: MacKey | null;

  /** TLS 1.0 CBC (RFC 2246 6.2.3.2): no explicit IV; each record's IV is the previous record's last ciphertext block. */
  private chainIv: Buffer | null;

  /** `out`: the layer's buffer for plaintexts (record-keys.ts), at least a record long. */
  constructor(private readonly p: SuiteParams, private readonly k: Tls12Keys, private readonly encryptThenMac: boolean, out: Uint8Array, implicitIv = false) {
    this.nonce = Buffer.alloc(12);
    this.aead = isAead(p.cipher.kind) && k.key.length > 0 ? aeadKey(p, k.key, out) : null;
    this.cbc = p.cipher.kind === 'cbc' && k.key.length > 0 ? cbcKey(p, k.key, out) : null;
    this.mac = p.mac !== null ? macKey(p.mac.node, k.macKey) : null;
    this.chainIv = implicitIv && p.cipher.kind === 'cbc' ? Buffer.from(k.iv) : null;
  }

  open(type: number, version: number, fragment: Uint8Array, seq: number): Opened {
    const c = this.p.cipher;
    const aad = this.aad;
    putSeq(aad, 0, seq);
    aad[8] = type;
    aad.writeUInt16BE(version, 9);
    if (c.kind === 'gcm' || c.kind === 'ccm') {
      // nonce = salt (4) || explicit nonce (8, the record's first bytes): RFC 5288 3, RFC 6655 3.
      if (fragment.length < 8 + c.tagLen) return { error: `record of ${fragment.length} bytes is shorter than its explicit nonce and tag` };
      this.k.iv.copy(this.nonce, 0, 0, 4);
      this.nonce.set(fragment.subarray(0, 8), 4);
      aad.writeUInt16BE(fragment.length - 8 - c.tagLen, 11);
      const plain = this.aead!.open(this.nonce, aad, fragment.subarray(8));
      return plain === null ? { error: 'authentication tag does not verify' } : { type, data: plain };
    }
    if (c.kind === 'chacha') {
      if (fragment.length < c.tagLen) return { error: `record of ${fragment.length} bytes is shorter than its tag` };
      aad.writeUInt16BE(fragment.length - c.tagLen, 11);
      const plain = this.aead!.open(xorNonce(this.k.iv, seq, this.nonce), aad, fragment);
      return plain === null ? { error: 'authentication tag does not verify' } : { type, data: plain };
    }
    const mac = this.p.mac!;
    if (c.kind === 'null') {
      if (fragment.length < mac.len) return { error: `record of ${fragment.length} bytes is shorter than its MAC` };
      const content = fragment.subarray(0, fragment.length - mac.len);
      return this.macOk(aad, content, fragment.subarray(content.length)) ? { type, data: Buffer.from(content) } : { error: 'MAC does not verify' };
    }
    // CBC: explicit IV, then the ciphertext (and with Encrypt-then-MAC the MAC after it, over IV and ciphertext).
    const bl = c.blockLen;
    let body = fragment;
    const ivLen = this.chainIv === null ? bl : 0;
    if (this.encryptThenMac) {
      if (fragment.length < ivLen + bl + mac.len) return { error: `record of ${fragment.length} bytes is too short for ${ivLen > 0 ? 'an IV, ' : ''}a block and a MAC` };
      body = fragment.subarray(0, fragment.length - mac.len);
      if (!this.macOk(aad, body, fragment.subarray(body.length))) return { error: 'MAC (encrypt-then-MAC) does not verify' };
    }
    if (body.length < bl + ivLen || (body.length - ivLen) % bl !== 0) return { error: `CBC record of ${body.length} bytes is not ${ivLen > 0 ? 'an IV and ' : ''}whole blocks` };
    const iv = this.chainIv ?? body.subarray(0, bl);
    if (this.chainIv !== null) this.chainIv = Buffer.from(body.subarray(body.length - bl));
    const plain = this.cbc!.decrypt(iv, body.subarray(ivLen));
    if (plain === null) return { error: 'CBC decryption failed' };
    const pad = plain[plain.length - 1]!;
    const macAfter = this.encryptThenMac ? 0 : mac.len;
    if (pad + 1 + macAfter > plain.length) return { error: 'bad CBC padding (wrong key, or a damaged record)' };
    for (let i = plain.length - 1 - pad; i < plain.length - 1; i++) if (plain[i] !== pad) return { error: 'bad CBC padding (wrong key, or a damaged record)' };
    const contentEnd = plain.length - 1 - pad - macAfter;
    const content = plain.subarray(0, contentEnd);
    if (!this.encryptThenMac && !this.macOk(aad, content, plain.subarray(contentEnd, contentEnd + mac.len))) return { error: 'MAC does not verify' };
    return { type, data: content };
  }

  /** HMAC over seq || type || version || length || data (RFC 5246 6.2.3.1). */
  private macOk(aad: Buffer, data: Uint8Array, got: Uint8Array): boolean {
    aad.writeUInt16BE(data.length, 11);
    return this.mac!.verify(aad, data, got);
  }
}
