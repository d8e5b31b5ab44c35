/**
 * Handshake messages read without keys: ClientHello, ServerHello (RFC 8446 4.1.2-4.1.3, RFC 5246 7.4.1) and
 * Certificate (RFC 5246 7.4.2, RFC 8446 4.4.2). Every length is checked against what encloses it; a message that does
 * not fit is reported by the caller, never read past.
 */
import { X509Certificate } from 'node:crypto';
import { EXT_ALPN, EXT_ENCRYPT_THEN_MAC, EXT_EXTENDED_MASTER_SECRET, EXT_PRE_SHARED_KEY, EXT_SERVER_NAME, EXT_SESSION_TICKET, EXT_SUPPORTED_VERSIONS } from './tables.js';

/** Reads big-endian fields of one message; every read is bounds-checked and throws ShortMessage past `end`. */
class Reader {
  constructor(readonly b: Uint8Array, public at: number, readonly end: number) {}
  need(n: number): void {
    if (n < 0 || this.at + n > this.end) throw new ShortMessage();
  }
  u8(): number { this.need(1); return this.b[this.at++]!; }
  u16(): number { this.need(2); const v = (this.b[this.at]! << 8) | this.b[this.at + 1]!; this.at += 2; return v; }
  u24(): number { this.need(3); const v = (this.b[this.at]! << 16) | (this.b[this.at + 1]! << 8) | this.b[this.at + 2]!; this.at += 3; return v; }
  bytes(n: number): Uint8Array { this.need(n); const v = this.b.subarray(this.at, this.at + n); this.at += n; return v; }
  /** A sub-reader over the next `n` bytes. */
  sub(n: number): Reader { this.need(n); const r = new Reader(this.b, this.at, this.at + n); this.at += n; return r; }
  get left(): number { return this.end - this.at; }
}

export class ShortMessage extends Error {
  constructor() {
    super('a length runs past the end of its message');
  }
}

export interface ClientHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  suites: number[];
  sni: string | null;
  alpn: string[];
  /** supported_versions, when offered (TLS 1.3 clients). */
  versions: number[];
  /** A non-empty session_ticket extension (RFC 5077) or a pre_shared_key (RFC 8446): a resumption offer. */
  ticket: boolean;
  psk: boolean;
  encryptThenMac: boolean;
  extendedMasterSecret: boolean;
}

export interface ServerHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  suite: number;
  /** The negotiated version: supported_versions when present (TLS 1.3), else the legacy field. */
  version: number;
  alpn: string | null;
  psk: boolean;
  encryptThenMac: boolean;
  extendedMasterSecret: boolean;
  /** A HelloRetryRequest (RFC 8446 4.1.3): a ServerHello with this fixed random. */
  retry: boolean;
}

/** SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest (RFC 8446 4.1.3). */
const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

function text(b: Uint8Array): string {
  // Host names and ALPN ids are ASCII by their RFCs; anything else is shown as latin1 and escaped by the renderer.
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function alpnList(r: Reader): string[] {
  const list = r.sub(r.u16());
  const out: string[] = [];
  while (list.left > 0 && out.length < 64) out.push(text(list.bytes(list.u8())));
  return out;
}

/** Body of a ClientHello handshake message. */
export function parseClientHello(b: Uint8Array): ClientHello {
  const r = new Reader(b, 0, b.length);
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sessionId = r.bytes(r.u8());
  const sl = r.sub(r.u16());
  const suites: number[] = [];
  while (sl.left >= 2) suites.push(sl.u16());
  r.bytes(r.u8()); // compression methods
  const ch: ClientHello = { legacyVersion, random: Uint8Array.from(random), sessionId: Uint8Array.from(sessionId), suites, sni: null, alpn: [], versions: [], ticket: false, psk: false, encryptThenMac: false, extendedMasterSecret: false };
  if (r.left === 0) return ch;
  const ext = r.sub(r.u16());
  while (ext.left >= 4) {
    const type = ext.u16();
    const e = ext.sub(ext.u16());
    switch (type) {
      case EXT_SERVER_NAME: {
        const list = e.sub(e.u16());
        while (list.left >= 3) {
          const kind = list.u8();
          const name = list.bytes(list.u16());
          if (kind === 0 && ch.sni === null) ch.sni = text(name);
        }
        break;
      }
      case EXT_ALPN: ch.alpn = alpnList(e); break;
      case EXT_SUPPORTED_VERSIONS: {
        const v = e.sub(e.u8());
        while (v.left >= 2) ch.versions.push(v.u16());
        break;
      }
      case EXT_SESSION_TICKET: ch.ticket = e.left > 0; break;
      case EXT_PRE_SHARED_KEY: ch.psk = true; break;
      case EXT_ENCRYPT_THEN_MAC: ch.encryptThenMac = true; break;
      case EXT_EXTENDED_MASTER_SECRET: ch.extendedMasterSecret = true; break;
      default:
    }
  }
  return ch;
}

/** Body of a ServerHello handshake message. */
export function parseServerHello(b: Uint8Array): ServerHello {
  const r = new Reader(b, 0, b.length);
  const legacyVersion = r.u16();
  const random = Uint8Array.from(r.bytes(32));
  const sessionId = Uint8Array.from(r.bytes(r.u8()));
  const suite = r.u16();
  r.u8(); // compression method
  const sh: ServerHello = { legacyVersion, random, sessionId, suite, version: legacyVersion, alpn: null, psk: false, encryptThenMac: false, extendedMasterSecret: false, retry: Buffer.from(random).equals(HRR_RANDOM) };
  if (r.left === 0) return sh;
  const ext = r.sub(r.u16());
  while (ext.left >= 4) {
    const type = ext.u16();
    const e = ext.sub(ext.u16());
    switch (type) {
      case EXT_SUPPORTED_VERSIONS: sh.version = e.u16(); break;
      case EXT_ALPN: sh.alpn = alpnList(e)[0] ?? null; break;
      case EXT_PRE_SHARED_KEY: sh.psk = true; break;
      case EXT_ENCRYPT_THEN_MAC: sh.encryptThenMac = true; break;
      case EXT_EXTENDED_MASTER_SECRET: sh.extendedMasterSecret = true; break;
      default:
    }
  }
  return sh;
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** Seconds since the epoch, for the validity check against the capture's time. */
  notBeforeSec: number;
  notAfterSec: number;
  /** Certificates in the chain. */
  chain: number;
}

/** The leaf certificate of a Certificate message (TLS 1.3 bodies start with a request context and carry extensions). */
export function parseCertificate(b: Uint8Array, tls13: boolean): CertificateFacts | null {
  const r = new Reader(b, 0, b.length);
  if (tls13) r.bytes(r.u8());
  const list = r.sub(r.u24());
  let leaf: Uint8Array | null = null;
  let chain = 0;
  while (list.left >= 3 && chain < 64) {
    const der = list.bytes(list.u24());
    if (tls13) list.bytes(list.u16());
    if (leaf === null) leaf = der;
    chain++;
  }
  if (leaf === null) return null;
  let x: X509Certificate;
  try {
    x = new X509Certificate(leaf);
  } catch {
    return null;
  }
  // One line per RDN: shown as "CN=a, O=b".
  const dn = (s: string): string => s.split('\n').filter((l) => l !== '').join(', ');
  return {
    subject: dn(x.subject), issuer: dn(x.issuer), notBefore: new Date(x.validFrom).toISOString(), notAfter: new Date(x.validTo).toISOString(),
    notBeforeSec: Date.parse(x.validFrom) / 1000, notAfterSec: Date.parse(x.validTo) / 1000, chain,
  };
}
