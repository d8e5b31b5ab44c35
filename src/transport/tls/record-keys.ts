/**
 * The per-key record crypto of the TLS layer: AEAD opening (RFC 5116), CBC decryption and the record HMAC, each in one
 * of two ways with the same results:
 * - native: native/tls-records.c, OpenSSL's EVP API (the library inside Node's crypto) with one context per key, so a
 *   record costs its own work and a nonce or IV change (about 0.3 us for a 210-byte AES-GCM record here);
 * - Node's crypto: a new decipher (or HMAC) per record, since its API cannot re-IV or re-key one: about 3.5 us.
 * MQTT clients write small records (one per packet), so the per-record cost is what counts (docs/decisions.md). The
 * native path is taken when native/ was built (`npm run build` tries; without a compiler it is skipped) and
 * MQTT_DISSECT_NATIVE is not 0, for AES-GCM, AES-CCM(_8), ChaCha20-Poly1305, AES/3DES-CBC and HMAC.
 */
import { createDecipheriv, createHmac, createSecretKey, timingSafeEqual, type DecipherCCM, type DecipherChaCha20Poly1305, type DecipherGCM, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { isAead, type SuiteParams } from './tables.js';

/** One direction's AEAD key. */
export interface Aead {
  /**
   * Opens `sealed` (ciphertext then tag) with `nonce` and `aad`: the plaintext, or null when the tag does not verify.
   * The plaintext may be a view of the layer's output buffer: valid until the next record is opened into it.
   */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null;
}

/** One direction's CBC key. */
export interface CbcKey {
  /**
   * `data` (whole blocks) decrypted with `iv`, padding still in place; null when it cannot be. May be a view of the
   * layer's output buffer, as with Aead.
   */
  decrypt(iv: Uint8Array, data: Uint8Array): Uint8Array | null;
}

/** One direction's MAC key (TLS 1.2 and older CBC and NULL suites). */
export interface MacKey {
  /** Whether HMAC(head || data) is `got` (compared in constant time). */
  verify(head: Uint8Array, data: Uint8Array, got: Uint8Array): boolean;
}

/** The native module's functions (native/tls-records.c); the MAC pair only where OpenSSL 3's EVP_MAC is. */
export interface NativeTls {
  key(name: string, key: Uint8Array, tagLen: number): object;
  open(key: object, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array): number;
  cbcKey(name: string, key: Uint8Array): object;
  cbcDecrypt(key: object, iv: Uint8Array, data: Uint8Array, out: Uint8Array): number;
  macKey?: (digest: string, key: Uint8Array) => object;
  macVerify?: (key: object, head: Uint8Array, data: Uint8Array, got: Uint8Array) => boolean;
}

/** Where `npm run build` puts the module (scripts/build-native.mjs), from src/transport/tls/ and dist/transport/tls/ alike. */
const NATIVE_PATH = '../../../native/build/Release/mqtt_dissect_tls.node';

function loadNative(): { mod: NativeTls | null; why: string } {
  if (process.env['MQTT_DISSECT_NATIVE'] === '0') return { mod: null, why: 'MQTT_DISSECT_NATIVE=0' };
  try {
    // A native module's exports are untyped; these are the functions native/tls-records.c registers (checked below).
    const mod = createRequire(import.meta.url)(NATIVE_PATH) as NativeTls;
    const ok = [mod.key, mod.open, mod.cbcKey, mod.cbcDecrypt].every((f) => typeof f === 'function');
    return ok ? { mod, why: '' } : { mod: null, why: 'the module lacks functions this build expects (rebuild it: npm run build)' };
  } catch (e) {
    return { mod: null, why: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}

const loaded = loadNative();
let native: NativeTls | null = loaded.mod;

/** Which way records are decrypted, and why not the native one when it is not. */
export function recordCryptoBackend(): { backend: 'native' | 'node'; why: string } {
  return native !== null ? { backend: 'native', why: '' } : { backend: 'node', why: loaded.why };
}

/** Tests and measurements: false makes every key made after it use Node's crypto; true the native module again. */
export function useNativeRecordCrypto(on: boolean): void {
  native = on ? loaded.mod : null;
}

/** An AEAD key for the suite: native when it can be, else Node's crypto. `out` takes native plaintexts. */
export function aeadKey(p: SuiteParams, key: Uint8Array, out: Uint8Array): Aead {
  const c = p.cipher;
  if (native !== null && isAead(c.kind)) {
    try {
      return new NativeKey(native, native.key(c.node, key, c.tagLen), out, c.tagLen);
    } catch {
      // A cipher this OpenSSL does not offer natively: Node's crypto says the same, with its own message, per record.
    }
  }
  return new NodeKey(p, createSecretKey(key));
}

/** A CBC key for the suite's block cipher: native when it can be, else Node's crypto. */
export function cbcKey(p: SuiteParams, key: Uint8Array, out: Uint8Array): CbcKey {
  if (native !== null) {
    try {
      return new NativeCbc(native, native.cbcKey(p.cipher.node, key), out);
    } catch {
      // As for AEAD: Node's crypto then reports the cipher per record.
    }
  }
  return new NodeCbc(p.cipher.node, createSecretKey(key));
}

/** An HMAC key with the digest Node names `digest` (sha1, sha256, sha384, md5): native when it can be. */
export function macKey(digest: string, key: Uint8Array): MacKey {
  const m = native;
  if (m !== null && m.macKey !== undefined && m.macVerify !== undefined) {
    try {
      return new NativeMac(m.macVerify, m.macKey(digest, key));
    } catch {
      // A digest this OpenSSL does not offer natively: Node's HMAC.
    }
  }
  return new NodeMac(digest, key);
}

class NativeCbc implements CbcKey {
  constructor(private readonly mod: NativeTls, private readonly key: object, private readonly out: Uint8Array) {}

  decrypt(iv: Uint8Array, data: Uint8Array): Uint8Array | null {
    if (data.length > this.out.length) return null;
    try {
      const n = this.mod.cbcDecrypt(this.key, iv, data, this.out);
      return n < 0 ? null : this.out.subarray(0, n);
    } catch {
      // An IV not one block or data not whole blocks: the caller checked both, so this is a damaged record.
      return null;
    }
  }
}

class NodeCbc implements CbcKey {
  constructor(private readonly node: string, private readonly key: KeyObject) {}

  decrypt(iv: Uint8Array, data: Uint8Array): Uint8Array | null {
    try {
      const d = createDecipheriv(this.node, this.key, iv);
      d.setAutoPadding(false);
      return Buffer.concat([d.update(data), d.final()]);
    } catch {
      return null;
    }
  }
}

class NativeMac implements MacKey {
  constructor(private readonly verifyFn: NonNullable<NativeTls['macVerify']>, private readonly key: object) {}

  verify(head: Uint8Array, data: Uint8Array, got: Uint8Array): boolean {
    return this.verifyFn(this.key, head, data, got);
  }
}

class NodeMac implements MacKey {
  constructor(private readonly digest: string, private readonly key: Uint8Array) {}

  verify(head: Uint8Array, data: Uint8Array, got: Uint8Array): boolean {
    const want = createHmac(this.digest, this.key).update(head).update(data).digest();
    return got.length === want.length && timingSafeEqual(want, got);
  }
}

class NativeKey implements Aead {
  constructor(private readonly mod: NativeTls, private readonly key: object, private readonly out: Uint8Array, private readonly tagLen: number) {}

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    if (sealed.length < this.tagLen || sealed.length - this.tagLen > this.out.length) return null;
    const n = this.mod.open(this.key, nonce, aad, sealed, this.out);
    return n < 0 ? null : this.out.subarray(0, n);
  }
}

type AeadDecipher = DecipherGCM | DecipherCCM | DecipherChaCha20Poly1305;

class NodeKey implements Aead {
  constructor(private readonly p: SuiteParams, private readonly key: KeyObject) {}

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    const c = this.p.cipher;
    if (sealed.length < c.tagLen) return null;
    const ct = sealed.subarray(0, sealed.length - c.tagLen);
    // CCM needs the tag length and (below) the plaintext length given; GCM and ChaCha20-Poly1305 default to 16-byte tags.
    const ccm = c.kind === 'ccm';
    try {
      // createDecipheriv's overloads pick the AEAD decipher type by the algorithm string, which is data here.
      const d = (ccm ? createDecipheriv(c.node, this.key, nonce, { authTagLength: c.tagLen } as never) : createDecipheriv(c.node, this.key, nonce)) as unknown as AeadDecipher;
      d.setAuthTag(sealed.subarray(ct.length));
      // Narrowed by the cipher kind the decipher was made for: CCM takes the plaintext length; for GCM and
      // ChaCha20-Poly1305 it is optional (only the ChaCha20-Poly1305 typing insists on the options object).
      if (ccm) (d as DecipherCCM).setAAD(aad, { plaintextLength: ct.length });
      else (d as DecipherGCM).setAAD(aad);
      const first = d.update(ct);
      const last = d.final();
      return last.length === 0 ? first : Buffer.concat([first, last]);
    } catch {
      return null;
    }
  }
}
