/**
 * The per-key record crypto of the TLS layer (src/transport/tls/record-keys.ts) against Node's own sealing: the native
 * one (native/tls-records.c, built by `npm run build`) and Node's crypto, for AEAD opening, CBC decryption and the
 * record HMAC, on random keys, IVs, nonces, AADs and lengths, every way a record can be damaged, and arguments the
 * native code must refuse without crashing. Where native/ is not built the native cases are skipped, unless a C
 * compiler is on the machine: then `npm run build` should have built it.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHmac } from 'node:crypto';
import { createRequire as nodeRequire } from 'node:module';
import { afterAll, describe, expect, test } from 'vitest';
import { aeadKey, cbcKey, macKey, recordCryptoBackend, useNativeRecordCrypto, type Aead, type CbcKey, type MacKey, type NativeTls } from '../src/transport/tls/record-keys.js';
import { MAX_RECORD_BYTES } from '../src/transport/tls/layer.js';
import { suiteParams, type SuiteParams } from '../src/transport/tls/tables.js';

/** Seeded bytes (xorshift32), so a failure repeats. */
function rng(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      b[i] = x & 0xff;
    }
    return b;
  };
}

function seal(p: SuiteParams, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array): Uint8Array {
  // The overloads pick the AEAD cipher type by the algorithm string, which is data here; CCM's options suit all four.
  const c = createCipheriv(p.cipher.node as 'aes-128-ccm', key, nonce, { authTagLength: p.cipher.tagLen });
  c.setAAD(aad, { plaintextLength: plain.length });
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

const SUITES: [number, string][] = [
  [0x1301, 'TLS_AES_128_GCM_SHA256'], [0x1302, 'TLS_AES_256_GCM_SHA384'], [0x1303, 'TLS_CHACHA20_POLY1305_SHA256'],
  [0x1304, 'TLS_AES_128_CCM_SHA256'], [0x1305, 'TLS_AES_128_CCM_8_SHA256'], [0xc0ad, 'TLS_ECDHE_ECDSA_WITH_AES_256_CCM'],
];
const LENGTHS = [0, 1, 15, 16, 17, 31, 32, 210, 1447, 4096, (1 << 14) + 255];

const built = recordCryptoBackend().backend === 'native';
const compilerHere = spawnSync('cc', ['--version'], { encoding: 'utf8' }).status === 0;

/** The same key made both ways: Node's crypto, and the native module where it is built. */
function both<T>(make: () => T): { name: string; k: T }[] {
  useNativeRecordCrypto(false);
  const list = [{ name: 'node', k: make() }];
  useNativeRecordCrypto(true);
  if (built) list.push({ name: 'native', k: make() });
  return list;
}

function openers(p: SuiteParams, key: Uint8Array, out: Uint8Array): { name: string; k: Aead }[] {
  return both(() => aeadKey(p, key, out));
}

afterAll(() => useNativeRecordCrypto(true));

test('native/ is built wherever a C compiler is (npm run build); without one the layer says why it uses Node crypto', () => {
  if (!built) {
    expect(recordCryptoBackend().why.length).toBeGreaterThan(0);
    // A machine with a compiler must have built it: CI installs nothing special for it.
    expect(compilerHere, `native/ not built although cc is here: ${recordCryptoBackend().why}`).toBe(false);
  }
});

describe.each(SUITES)('suite 0x%s %s', (suite) => {
  const p = suiteParams(suite)!;
  const bytes = rng(suite);

  test('both openers give the plaintext Node sealed, at every length', () => {
    const out = new Uint8Array(MAX_RECORD_BYTES);
    const key = bytes(p.cipher.keyLen);
    const ks = openers(p, key, out);
    for (const n of LENGTHS) {
      for (let trial = 0; trial < 3; trial++) {
        const nonce = bytes(12);
        const aad = bytes(trial === 0 ? 0 : trial === 1 ? 5 : 13);
        const plain = bytes(n);
        const sealed = seal(p, key, nonce, aad, plain);
        for (const { name, k } of ks) {
          const got = k.open(nonce, aad, sealed);
          expect(got, `${name} n=${n}`).not.toBeNull();
          expect(Buffer.from(got!).equals(Buffer.from(plain)), `${name} n=${n}`).toBe(true);
        }
      }
    }
  });

  test('a flipped bit anywhere (ciphertext, tag, AAD, nonce) or a cut record is refused by both', () => {
    const out = new Uint8Array(MAX_RECORD_BYTES);
    const key = bytes(p.cipher.keyLen);
    const ks = openers(p, key, out);
    const nonce = bytes(12);
    const aad = bytes(5);
    const sealed = seal(p, key, nonce, aad, bytes(64));
    for (const { name, k } of ks) {
      for (let i = 0; i < sealed.length; i++) {
        const bad = Uint8Array.from(sealed);
        bad[i]! ^= 1 << (i % 8);
        expect(k.open(nonce, aad, bad), `${name} byte ${i}`).toBeNull();
      }
      for (let i = 0; i < aad.length; i++) {
        const badAad = Uint8Array.from(aad);
        badAad[i]! ^= 0x80;
        expect(k.open(nonce, badAad, sealed), `${name} aad ${i}`).toBeNull();
      }
      const badNonce = Uint8Array.from(nonce);
      badNonce[11]! ^= 1;
      expect(k.open(badNonce, aad, sealed), name).toBeNull();
      expect(k.open(nonce, aad, sealed.subarray(0, sealed.length - 1)), `${name} cut`).toBeNull();
      expect(k.open(nonce, aad, sealed.subarray(0, p.cipher.tagLen - 1)), `${name} shorter than a tag`).toBeNull();
      // A wrong key is a refusal too, and the right record still opens afterwards (no state left behind).
      expect(k.open(nonce, aad, seal(p, bytes(p.cipher.keyLen), nonce, aad, bytes(64)))).toBeNull();
      expect(k.open(nonce, aad, sealed), `${name} after refusals`).not.toBeNull();
    }
  });

  test('keys of many connections interleaved: each record opens with its own key only', () => {
    const out = new Uint8Array(MAX_RECORD_BYTES);
    const keys = Array.from({ length: 8 }, () => bytes(p.cipher.keyLen));
    const sets = keys.map((key) => openers(p, key, out));
    for (let r = 0; r < 64; r++) {
      const i = r % keys.length;
      const nonce = bytes(12);
      const plain = bytes(r * 7);
      const sealed = seal(p, keys[i]!, nonce, new Uint8Array(0), plain);
      for (let j = 0; j < keys.length; j++) {
        for (const { name, k } of sets[j]!) {
          const got = k.open(nonce, new Uint8Array(0), sealed);
          if (j === i) expect(Buffer.from(got!).equals(Buffer.from(plain)), name).toBe(true);
          else expect(got, name).toBeNull();
        }
      }
    }
  });
});

const CBC: [string, number, number][] = [['aes-128-cbc', 16, 16], ['aes-256-cbc', 32, 16], ['des-ede3-cbc', 24, 8]];

describe.each(CBC)('%s', (name, keyLen, block) => {
  const bytes = rng(keyLen * 7 + block);
  const p = { cipher: { node: name } } as SuiteParams; // cbcKey reads only the cipher's name

  function cbcs(key: Uint8Array, out: Uint8Array): { name: string; k: CbcKey }[] {
    return both(() => cbcKey(p, key, out));
  }

  test('both decrypt what Node encrypted (padding left in place), key after key and IV after IV', () => {
    const out = new Uint8Array(MAX_RECORD_BYTES);
    for (let round = 0; round < 4; round++) {
      const key = bytes(keyLen);
      const ks = cbcs(key, out);
      for (const blocks of [1, 2, 13, 1024]) {
        const iv = bytes(block);
        const plain = bytes(blocks * block);
        const c = createCipheriv(name, key, iv);
        c.setAutoPadding(false);
        const data = Buffer.concat([c.update(plain), c.final()]);
        for (const { name: n, k } of ks) {
          const got = k.decrypt(iv, data);
          expect(Buffer.from(got!).equals(Buffer.from(plain)), `${n} ${blocks} blocks`).toBe(true);
        }
      }
      // Data that is not whole blocks: no plaintext from either.
      for (const { name: n, k } of ks) expect(k.decrypt(bytes(block), bytes(block + 1)), n).toBeNull();
    }
  });
});

describe.each(['sha1', 'sha256', 'sha384', 'md5'])('HMAC-%s', (digest) => {
  const bytes = rng(digest.length * 31);

  function macs(key: Uint8Array): { name: string; k: MacKey }[] {
    return both(() => macKey(digest, key));
  }

  test('both accept the right MAC over head and data, again and again, and refuse every other', () => {
    for (const keyLen of [0, 20, 32, 48, 200]) {
      const key = bytes(keyLen);
      const ks = macs(key);
      for (const n of [0, 1, 64, 1000]) {
        const head = bytes(13);
        const data = bytes(n);
        const mac = createHmac(digest, key).update(head).update(data).digest();
        for (const { name, k } of ks) {
          expect(k.verify(head, data, mac), `${name} key ${keyLen} data ${n}`).toBe(true);
          const bad = Uint8Array.from(mac);
          bad[n % bad.length]! ^= 1;
          expect(k.verify(head, data, bad), name).toBe(false);
          expect(k.verify(head, data, mac.subarray(1)), name).toBe(false);
          if (n > 0) {
            const badData = Uint8Array.from(data);
            badData[0]! ^= 1;
            expect(k.verify(head, badData, mac), name).toBe(false);
          }
          const badHead = Uint8Array.from(head);
          badHead[12]! ^= 1;
          expect(k.verify(badHead, data, mac), name).toBe(false);
        }
      }
    }
  });
});

describe.skipIf(!built)('the native module refuses bad arguments with an exception, never a crash', () => {
  // Loaded here directly to call it with what record-keys.ts never passes; the type is what native/tls-records.c registers.
  const mod = (built ? nodeRequire(import.meta.url)('../native/build/Release/mqtt_dissect_tls.node') : null) as NativeTls;

  test('keys of one kind are refused by the functions of another', () => {
    const aead = mod.key('aes-128-gcm', new Uint8Array(16), 16);
    const cbc = mod.cbcKey('aes-128-cbc', new Uint8Array(16));
    expect(() => mod.open(cbc, new Uint8Array(12), new Uint8Array(0), new Uint8Array(16), new Uint8Array(16))).toThrow(TypeError);
    expect(() => mod.cbcDecrypt(aead, new Uint8Array(16), new Uint8Array(16), new Uint8Array(16))).toThrow(TypeError);
    if (mod.macVerify !== undefined) expect(() => mod.macVerify!(cbc, new Uint8Array(0), new Uint8Array(0), new Uint8Array(20))).toThrow(TypeError);
  });

  test('cbcKey()/cbcDecrypt(): non-CBC ciphers, wrong key, IV and data lengths', () => {
    expect(() => mod.cbcKey('aes-128-gcm', new Uint8Array(16))).toThrow(/only CBC/);
    expect(() => mod.cbcKey('aes-128-cbc', new Uint8Array(17))).toThrow(TypeError);
    const k = mod.cbcKey('aes-128-cbc', new Uint8Array(16));
    expect(() => mod.cbcDecrypt(k, new Uint8Array(8), new Uint8Array(16), new Uint8Array(16))).toThrow(RangeError);
    expect(() => mod.cbcDecrypt(k, new Uint8Array(16), new Uint8Array(17), new Uint8Array(32))).toThrow(RangeError);
    expect(() => mod.cbcDecrypt(k, new Uint8Array(16), new Uint8Array(32), new Uint8Array(16))).toThrow(RangeError);
    expect(mod.cbcDecrypt(k, new Uint8Array(16), new Uint8Array(32), new Uint8Array(32))).toBe(32);
  });

  test('macKey()/macVerify(): unknown digests and a wrong-length MAC', () => {
    if (mod.macKey === undefined) return;
    expect(() => mod.macKey!('no-such-digest', new Uint8Array(20))).toThrow();
    const k = mod.macKey('sha256', new Uint8Array(32));
    expect(mod.macVerify!(k, new Uint8Array(13), new Uint8Array(5), new Uint8Array(31))).toBe(false);
    expect(() => mod.macVerify!(k, new Uint8Array(13), 'x' as unknown as Uint8Array, new Uint8Array(32))).toThrow(TypeError);
  });

  test('key(): unknown or unsupported ciphers and wrong key lengths', () => {
    expect(() => mod.key('no-such-cipher', new Uint8Array(16), 16)).toThrow();
    expect(() => mod.key('aes-128-cbc', new Uint8Array(16), 16)).toThrow(/only AES-GCM/);
    expect(() => mod.key('aes-128-gcm', new Uint8Array(15), 16)).toThrow(TypeError);
    expect(() => mod.key('aes-128-gcm', 'x'.repeat(16) as unknown as Uint8Array, 16)).toThrow(TypeError);
    expect(() => mod.key('aes-128-gcm', new Uint16Array(8) as unknown as Uint8Array, 16)).toThrow(TypeError);
    expect(() => mod.key('aes-128-gcm', new Uint8Array(16), 8)).toThrow(RangeError);
    expect(() => mod.key('aes-128-ccm', new Uint8Array(16), 12)).toThrow(RangeError);
    expect(() => (mod.key as unknown as (n: string, k: Uint8Array) => object)('aes-128-gcm', new Uint8Array(16))).toThrow(TypeError);
    expect(() => (mod.key as unknown as () => object)()).toThrow(TypeError);
  });

  test('open(): a nonce not 12 bytes, an output too small, and values that are no byte arrays', () => {
    const k = mod.key('aes-128-gcm', new Uint8Array(16), 16);
    const ok = [new Uint8Array(12), new Uint8Array(5), new Uint8Array(32), new Uint8Array(16)] as const;
    expect(() => mod.open(k, new Uint8Array(11), ok[1], ok[2], ok[3])).toThrow(RangeError);
    expect(() => mod.open(k, ok[0], ok[1], ok[2], new Uint8Array(15))).toThrow(RangeError);
    expect(() => mod.open(k, ok[0], ok[1], new Uint8Array(15), ok[3])).toThrow(RangeError);
    expect(() => mod.open({}, ok[0], ok[1], ok[2], ok[3])).toThrow(TypeError);
    expect(() => mod.open(k, ok[0], null as unknown as Uint8Array, ok[2], ok[3])).toThrow(TypeError);
    expect(() => (mod.open as unknown as (k: object) => number)(k)).toThrow(TypeError);
    // Well-formed but unauthentic: -1, not an exception.
    expect(mod.open(k, ok[0], ok[1], ok[2], ok[3])).toBe(-1);
  });
});
