/**
 * AEAD record opening (RFC 5116) for the TLS layer, in one of two ways with the same results:
 * - native: native/aead.c, OpenSSL's EVP API (the library inside Node's crypto) with one cipher context per key, so a
 *   record costs its decryption and a nonce change (about 0.3 us for a 210-byte AES-GCM record here);
 * - Node's crypto: a new decipher per record (its API cannot re-IV one), about 3.5 us for the same record.
 * MQTT clients write small records (one per packet), so the per-record cost is what counts (docs/decisions.md). The
 * native opener is used for AES-GCM and ChaCha20-Poly1305 when native/ was built (`npm run build` tries; without a
 * compiler it is skipped) and MQTT_DISSECT_NATIVE is not 0; AES-CCM and everything else always use Node's crypto.
 */
import { createDecipheriv, createSecretKey, type DecipherCCM, type DecipherChaCha20Poly1305, type DecipherGCM, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type { SuiteParams } from './tables.js';

/** One direction's AEAD key. */
export interface Aead {
  /**
   * Opens `sealed` (ciphertext then tag) with `nonce` and `aad`: the plaintext, or null when the tag does not verify.
   * The plaintext may be a view of the layer's output buffer: valid until the next open() with the same buffer.
   */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null;
}

/** The native module's two functions (native/aead.c). */
interface NativeAead {
  key(name: string, key: Uint8Array): object;
  open(key: object, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array): number;
}

/** Where `npm run build` puts the module (scripts/build-native.mjs), from src/transport/tls/ and dist/transport/tls/ alike. */
const NATIVE_PATH = '../../../native/build/Release/mqtt_dissect_aead.node';

function loadNative(): { mod: NativeAead | null; why: string } {
  if (process.env['MQTT_DISSECT_NATIVE'] === '0') return { mod: null, why: 'MQTT_DISSECT_NATIVE=0' };
  try {
    // A native module's exports are untyped; these two functions are what native/aead.c registers.
    const mod = createRequire(import.meta.url)(NATIVE_PATH) as NativeAead;
    return typeof mod.key === 'function' && typeof mod.open === 'function' ? { mod, why: '' } : { mod: null, why: 'the module has no key/open' };
  } catch (e) {
    return { mod: null, why: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}

const loaded = loadNative();
let native: NativeAead | null = loaded.mod;

/** Which opener AES-GCM and ChaCha20-Poly1305 records get, and why not the native one when it is not. */
export function aeadBackend(): { backend: 'native' | 'node'; why: string } {
  return native !== null ? { backend: 'native', why: '' } : { backend: 'node', why: loaded.why };
}

/** Tests and measurements: false makes every key made after it use Node's crypto; true the native module again. */
export function useNativeAead(on: boolean): void {
  native = on ? loaded.mod : null;
}

/** A 16-byte-tag AEAD key for the suite: native when it can be, else Node's crypto. `out` takes native plaintexts. */
export function aeadKey(p: SuiteParams, key: Uint8Array, out: Uint8Array): Aead {
  const c = p.cipher;
  if (native !== null && (c.kind === 'gcm' || c.kind === 'chacha') && c.tagLen === 16) {
    try {
      return new NativeKey(native, native.key(c.node, key), out);
    } catch {
      // A cipher this OpenSSL does not offer natively: Node's crypto says the same, with its own message, per record.
    }
  }
  return new NodeKey(p, createSecretKey(key));
}

class NativeKey implements Aead {
  constructor(private readonly mod: NativeAead, private readonly key: object, private readonly out: Uint8Array) {}

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    if (sealed.length < 16 || sealed.length - 16 > this.out.length) return null;
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
