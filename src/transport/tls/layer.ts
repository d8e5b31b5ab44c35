/**
 * The TLS stream layer: a StreamSink between TCP reassembly and the MQTT stage. For every TLS connection it cuts each
 * direction into records (RFC 8446 5.1, RFC 5246 6.2), reads the handshake without keys (one 'tls' event with its
 * facts and findings) and, with the session's secrets from a key log, decrypts the records and passes the plaintext
 * on as the connection's stream. The transport router hands it the connections the TCP stage flagged `tls`, and streams
 * unwrapped by another layer that begin with a ClientHello (TLS inside WebSocket).
 *
 * Every problem is an event: no key, an unsupported suite, a record that does not authenticate (the plaintext it held is
 * a gap for the MQTT framer, which resynchronises), a record length past the limit, a record cut at the end, a TCP
 * gap (record boundaries and sequence numbers are recovered when the record after it authenticates).
 */
import type { Connection, ConnectionEnd, Direction, HeldBytes, StreamEvent, StreamSink, TlsFacts, TransportFinding } from '../../tcp/types.js';
import { Tls12Opener, Tls13Opener, keyBlock12, type Opened, type RecordOpener } from './crypto.js';
import { parseCertificate, parseClientHello, parseServerHello, type CertificateFacts, type ClientHello, type ServerHello } from './handshake.js';
import type { KeyLog, SessionKeys } from './keylog.js';
import {
  ALERT_LEVEL_NAME, ALERT_NAME, CONTENT_TYPE_NAME, CT_ALERT, CT_APPLICATION_DATA, CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE, HANDSHAKE_TYPE_NAME,
  HS_CERTIFICATE, HS_CLIENT_HELLO, HS_FINISHED, HS_KEY_UPDATE, HS_SERVER_HELLO, TLS10, TLS11, TLS12, TLS13, suiteName, suiteParams, suiteWeakness, versionName, type SuiteParams,
} from './tables.js';

/** RFC 5246 6.2.3: a TLSCiphertext fragment is at most 2^14 + 2048 bytes; anything longer is no record. */
export const MAX_RECORD_BYTES = (1 << 14) + 2048;
/**
 * Buffers for records that span TCP chunks are taken from a pool and given back once the record is read (its bytes are
 * decrypted into a new buffer, or copied by the handshake reader): no allocation and zero-fill per record. At most this
 * many pooled buffers (MAX_RECORD_BYTES each) are in use at once, and as many kept free: 2 x 16 x 18 KiB whatever the
 * capture. Records beyond that (many connections inside a record at once) get a buffer of their own length, as before.
 */
const RECORD_POOL_MAX = 16;
/** Handshake messages are reassembled across records up to this size (a certificate chain fits); larger ones are skipped. */
export const MAX_HANDSHAKE_BYTES = 256 * 1024;
/** After a lost stretch, sequence numbers tried for the next record (at most this many records are assumed lost). */
export const MAX_SEQ_TRIALS = 1024;
/** TLS 1.3 records that fail to open while looking for the first application record before we give up on a direction. */
const MAX_HANDSHAKE_TRIALS = 64;
/**
 * The plaintext a lost stretch held is unknown (whole records vanished with their lengths): the MQTT framer is told the
 * most an MQTT packet can take (2^28 - 1 + 5), so it resynchronises by content instead of trusting a wrong count.
 */
export const UNKNOWN_LOSS_BYTES = 268_435_460;

const EMPTY = new Uint8Array(0);

type Phase =
  /** Plaintext records (before ChangeCipherSpec in 1.2, before the ServerHello in 1.3). */
  | 'clear'
  /** TLS 1.3: encrypted handshake records, until this direction's Finished. */
  | 'handshake'
  /** Application traffic keys in force. */
  | 'app'
  /** Encrypted, and nothing can open it (no key, unsupported suite, gave up): records are counted and dropped. */
  | 'opaque';

class DirState {
  readonly hdr = new Uint8Array(5);
  hdrLen = 0;
  /** The record being collected when it spans chunks (null when none or when it is skipped). */
  body: Uint8Array | null = null;
  /** `body` came from the layer's pool (and goes back to it). */
  pooled = false;
  /** The bytes counted as held for `body`: the record's length. */
  heldFor = 0;
  bodyLen = 0;
  /** Bytes of the current record still to come. */
  want = 0;
  /** The current record lost bytes in a TCP gap: collected only to find its end. */
  damaged = false;
  recFrame = 0;
  /** Record boundaries lost (a gap took a header): scanning for a plausible header. */
  lost = false;
  /** Ciphertext bytes lost since the last record that opened: bounds the sequence numbers tried. */
  lostBytes = 0;
  phase: Phase = 'clear';
  opener: RecordOpener | null = null;
  /** TLS 1.3: the handshake-key opener, and the application one waiting for this direction's Finished. */
  hsOpener: Tls13Opener | null = null;
  appOpener: RecordOpener | null = null;
  seq = 0;
  hsTrials = 0;
  /** Handshake message reassembly. */
  hs: Uint8Array = EMPTY;
  hsLen = 0;
  hsSkip = false;
  /** Records this direction could not open, and their bytes. */
  undecrypted = 0;
  /** A KeyUpdate in the record just opened: the next record uses the next generation. */
  keyUpdate = false;
  /** Records seen in this direction (the first one decides whether the stream is TLS at all). */
  records = 0;
}

class TlsConn {
  readonly c2s = new DirState();
  readonly s2c = new DirState();
  ch: ClientHello | null = null;
  sh: ServerHello | null = null;
  cert: CertificateFacts | null = null;
  params: SuiteParams | null = null;
  keys: SessionKeys | undefined = undefined;
  factsSent = false;
  /** This layer has named itself in the connection's `transport`. */
  announced = false;
  /** Decryption set up for both directions (the 'tls' event says so). */
  decrypting = false;
  /** Why not, once decided (the one event per connection). */
  noDecrypt: string | null = null;
  /** The client sent an MQTT CONNECT where a ClientHello belongs: the connection is passed on as plain MQTT. */
  plaintext = false;
  /** Not TLS and not MQTT: nothing passed on. */
  notTls = false;
  /** Plaintext already passed on in some direction. */
  delivered = false;
  /**
   * Opened downstream: delayed until the ServerHello says whether the connection is decrypted (so `transport` is set
   * in the Connection every later stage, and the --threads ring, first sees), or until anything must be passed on.
   */
  opened = false;
  constructor(readonly conn: Connection) {}
  dir(d: Direction): DirState {
    return d === 'c2s' ? this.c2s : this.s2c;
  }
}

export interface TlsLayerOptions {
  /** Session secrets (--tls-keylog, SSLKEYLOGFILE, pcapng Decryption Secrets Blocks); looked up at each handshake. */
  keylog: KeyLog;
  /**
   * The capture's shared count of bytes held for packets in progress: records spanning segments and handshake
   * messages spanning records are counted in it, and a record that would take it past its limit is skipped (reported).
   */
  heldBytes?: HeldBytes;
}

export class TlsLayer implements StreamSink {
  private readonly conns = new Map<number, TlsConn>();
  /** Free record buffers (RECORD_POOL_MAX at most), each MAX_RECORD_BYTES long. */
  private readonly pool: Uint8Array[] = [];
  /**
   * Where records are decrypted into (record-keys.ts): one buffer for every connection of this layer, valid until the
   * next record, which is as long as the stages after this one may keep a chunk. A layer inside this one has its own.
   */
  private readonly plainOut = new Uint8Array(MAX_RECORD_BYTES);
  /** Pooled buffers holding a record in progress (RECORD_POOL_MAX at most). */
  private pooledInUse = 0;

  private readonly held: HeldBytes;

  constructor(private readonly next: StreamSink, private readonly opts: TlsLayerOptions) {
    this.held = opts.heldBytes ?? { held: 0, limit: 128 * 1024 * 1024 };
  }

  /** Every connection given is a TLS one: the router hands this layer only those it claims or found a ClientHello in. */
  open(conn: Connection): void {
    this.conns.set(conn.id, new TlsConn(conn));
  }

  private ensureOpen(t: TlsConn): void {
    if (!t.opened) {
      t.opened = true;
      this.next.open(t.conn);
    }
  }

  data(conn: Connection, dir: Direction, data: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    const t = this.conns.get(conn.id);
    if (t === undefined) return;
    if (t.plaintext) {
      this.ensureOpen(t);
      this.next.data(conn, dir, data, frame, timeSec, timeNsec);
      return;
    }
    if (t.notTls) return;
    this.bytes(t, dir, t.dir(dir), data, frame, timeSec, timeNsec);
  }

  gap(conn: Connection, dir: Direction, bytes: number, frame: number, cut?: { timeSec: number; timeNsec: number }): void {
    const t = this.conns.get(conn.id);
    if (t === undefined || t.plaintext) {
      if (t !== undefined) this.ensureOpen(t);
      this.next.gap(conn, dir, bytes, frame, cut);
      return;
    }
    const d = t.dir(dir);
    if (d.lost) {
      d.lostBytes += bytes;
      return;
    }
    if (d.want > 0 && d.hdrLen === 5 && bytes < d.want) {
      // The gap falls inside a record whose header we read: its end is still known, only this record is lost.
      d.want -= bytes;
      if (!d.damaged) {
        d.damaged = true;
        this.release(d);
      }
      return;
    }
    // A header is gone with the bytes: boundaries and sequence numbers must be found again.
    const partial = d.hdrLen === 5 ? d.bodyLen : 0;
    d.lost = true;
    d.lostBytes = bytes + partial;
    d.hdrLen = 0;
    this.release(d);
    d.bodyLen = 0;
    d.want = 0;
    d.damaged = false;
    if (d.phase === 'app') {
      this.next.gap(conn, dir, UNKNOWN_LOSS_BYTES, frame);
      t.delivered = true;
    }
  }

  close(conn: Connection, end: ConnectionEnd): void {
    const t = this.conns.get(conn.id);
    if (t !== undefined) {
      this.conns.delete(conn.id);
      for (const dir of ['c2s', 's2c'] as const) {
        const d = t.dir(dir);
        if (!t.plaintext && !t.notTls && (d.hdrLen > 0 || d.want > 0) && !d.lost) {
          const have = d.hdrLen < 5 ? d.hdrLen : 5 + d.bodyLen;
          const total = d.hdrLen < 5 ? null : 5 + d.bodyLen + d.want;
          this.emit(t, {
            event: 'tls-error', frame: end.frame, conn: conn.id, dir, reason: 'truncated-record', bytes: have,
            message: total === null ? `the stream ends inside a TLS record header (${have} of 5 bytes)` : `the stream ends inside a TLS record: ${have} of its ${total} bytes arrived`,
          });
          if (d.phase === 'app') this.next.gap(conn, dir, UNKNOWN_LOSS_BYTES, end.frame);
        }
        if (d.phase === 'handshake' && d.hsOpener === null && d.hsTrials > 0) {
          // Fewer records than MAX_HANDSHAKE_TRIALS, none opened by the application secret: said at the end rather
          // than never (a short session with wrong keys would otherwise vanish without a word).
          const label = dir === 'c2s' ? 'CLIENT' : 'SERVER';
          this.emit(t, {
            event: 'tls-error', frame: end.frame, conn: conn.id, dir, reason: 'bad-key',
            message: `none of the ${d.hsTrials} encrypted TLS records of the ${dir === 'c2s' ? 'client' : 'server'} opens with the key log's ${label}_TRAFFIC_SECRET_0 (${t.keys?.source ?? ''}): wrong keys, or a session that ended inside its handshake; this direction is not decoded`,
          });
        }
      }
      if (!t.factsSent && !t.plaintext && !t.notTls) this.facts(t, end.frame);
      for (const d of [t.c2s, t.s2c]) {
        this.release(d);
        this.dropHandshake(d);
      }
      this.ensureOpen(t);
    }
    this.next.close(conn, end);
  }

  event(ev: StreamEvent): void {
    // The TCP stage's events about a TLS connection (a gap, an overlap) follow its open downstream.
    if (ev.conn !== null) {
      const t = this.conns.get(ev.conn);
      if (t !== undefined) this.ensureOpen(t);
    }
    this.next.event(ev);
  }

  // ---- records ------------------------------------------------------------------------------

  /** Cuts one direction's bytes into records; a record wholly inside `data` is handled in place, without a copy. */
  private bytes(t: TlsConn, dir: Direction, d: DirState, data: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    let at = 0;
    const n = data.length;
    while (at < n) {
      if (t.plaintext || t.notTls) {
        if (t.plaintext) {
          this.ensureOpen(t);
          this.next.data(t.conn, dir, data.subarray(at), frame, timeSec, timeNsec);
        }
        return;
      }
      if (d.lost) {
        const found = this.scan(data, at);
        if (found < 0) {
          d.lostBytes += n - at;
          return;
        }
        d.lostBytes += found - at;
        at = found;
        d.lost = false;
      }
      if (d.hdrLen < 5) {
        if (d.hdrLen === 0 && n - at >= 5) {
          d.hdr.set(data.subarray(at, at + 5));
          d.hdrLen = 5;
          at += 5;
        } else {
          const take = Math.min(5 - d.hdrLen, n - at);
          d.hdr.set(data.subarray(at, at + take), d.hdrLen);
          d.hdrLen += take;
          at += take;
          if (d.hdrLen < 5) return;
        }
        d.recFrame = frame;
        if (!this.header(t, dir, d, frame, timeSec, timeNsec)) continue;
        d.want = (d.hdr[3]! << 8) | d.hdr[4]!;
        d.bodyLen = 0;
        if (d.want === 0) {
          this.record(t, dir, d, EMPTY, frame, timeSec, timeNsec);
          continue;
        }
        if (n - at >= d.want) {
          const body = data.subarray(at, at + d.want);
          at += d.want;
          d.want = 0;
          this.record(t, dir, d, body, frame, timeSec, timeNsec);
          continue;
        }
        if (this.held.held + d.want > this.held.limit) {
          // Kept only to find its end: the bytes held for packets in progress are at their limit.
          this.emit(t, { event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'buffer-overflow', bytes: d.want, message: `a TLS record of ${d.want} bytes would take the bytes held for packets in progress past ${this.held.limit}; skipped` });
          d.damaged = true;
        } else {
          d.pooled = this.pooledInUse < RECORD_POOL_MAX;
          if (d.pooled) this.pooledInUse++;
          d.body = d.pooled ? this.pool.pop() ?? new Uint8Array(MAX_RECORD_BYTES) : new Uint8Array(d.want);
          d.heldFor = d.want;
          this.held.held += d.want;
        }
      }
      const take = Math.min(d.want, n - at);
      if (!d.damaged && d.body !== null) d.body.set(data.subarray(at, at + take), d.bodyLen);
      d.bodyLen += take;
      d.want -= take;
      at += take;
      if (d.want === 0) {
        const body = d.damaged || d.body === null ? null : d.body.subarray(0, d.bodyLen);
        if (body === null) {
          this.release(d);
          this.damagedRecord(t, dir, d, frame);
        } else {
          // Released after it was read: a pooled buffer must not be handed out again while its record is in use.
          const taken = d.body;
          this.record(t, dir, d, body, frame, timeSec, timeNsec);
          if (d.body === taken) this.release(d);
        }
      }
    }
  }

  /**
   * The first bytes of a stream that is not TLS: an MQTT CONNECT (plaintext MQTT on a TLS port, a finding) is passed on
   * as MQTT; anything else is reported. Later, a header that cannot be a record loses the boundaries.
   */
  private header(t: TlsConn, dir: Direction, d: DirState, frame: number, timeSec: number, timeNsec: number): boolean {
    const h = d.hdr;
    const type = h[0]!;
    const len = (h[3]! << 8) | h[4]!;
    const ok = type >= 20 && type <= 24 && h[1] === 3 && h[2]! <= 4;
    if (ok && len <= MAX_RECORD_BYTES) return true;
    if (d.records === 0 && t.ch === null && !t.delivered) {
      // Nothing of this connection was TLS so far.
      if (dir === 'c2s' && type === 0x10) {
        t.plaintext = true;
        t.factsSent = true;
        this.emit(t, {
          event: 'tls', frame, conn: t.conn.id, dir: null,
          message: `plaintext MQTT on TLS port ${t.conn.serverPort} between ${t.conn.client} and ${t.conn.server}: the client sent a CONNECT where a TLS ClientHello belongs; decoded as MQTT`,
          findings: [{ code: 'TLS-plaintext-mqtt', message: `an MQTT CONNECT (first byte 0x10) on TLS port ${t.conn.serverPort}: the connection is not encrypted` }],
        });
        const b = Uint8Array.from(h);
        d.hdrLen = 0;
        for (const other of ['c2s', 's2c'] as const) {
          const od = t.dir(other);
          if (other !== dir && od.hdrLen > 0) {
            this.next.data(t.conn, other, od.hdr.subarray(0, od.hdrLen), frame, timeSec, timeNsec);
            od.hdrLen = 0;
          }
        }
        this.next.data(t.conn, dir, b, frame, timeSec, timeNsec);
        return false;
      }
      t.notTls = true;
      this.emit(t, {
        event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'not-tls',
        message: `the ${dir === 'c2s' ? 'client' : 'server'} stream on TLS port ${t.conn.serverPort} does not start with a TLS record (first bytes ${hex(h)}); not decoded`,
      });
      return false;
    }
    if (ok) {
      this.emit(t, {
        event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'record-too-long', bytes: len,
        message: `TLS record header claims ${len} bytes, more than the ${MAX_RECORD_BYTES} a record may hold; record boundaries lost, looking for the next record`,
        findings: [{ code: 'TLS-record-overflow', message: `record length ${len} exceeds 2^14 + 2048` }],
      });
    } else {
      this.emit(t, {
        event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'bad-record-header',
        message: `bytes ${hex(h)} are no TLS record header (content type ${type}, version ${h[1]}.${h[2]}); record boundaries lost, looking for the next record`,
      });
    }
    d.lost = true;
    d.lostBytes = 5;
    d.hdrLen = 0;
    if (d.phase === 'app') this.next.gap(t.conn, dir, UNKNOWN_LOSS_BYTES, frame);
    return false;
  }

  /** Offset of the next plausible record header at or after `from` (the connection's record version), or -1. */
  private scan(b: Uint8Array, from: number): number {
    for (let i = from; i + 5 <= b.length; i++) {
      const type = b[i]!;
      if (type < 20 || type > 24 || b[i + 1] !== 3 || b[i + 2] !== 3) continue;
      const len = (b[i + 3]! << 8) | b[i + 4]!;
      if (len === 0 || len > MAX_RECORD_BYTES) continue;
      // A chain: when the record ends inside these bytes, another header must start there.
      const nx = i + 5 + len;
      if (nx + 3 <= b.length && !(b[nx]! >= 20 && b[nx]! <= 24 && b[nx + 1] === 3 && b[nx + 2]! <= 4)) continue;
      return i;
    }
    // A header split over two chunks is not found: the search goes on in the next chunk (only after a loss).
    return -1;
  }

  /** Gives a spanning record's buffer back to the shared count. */
  /** The record buffer back to the pool; the bytes held for it are released (counted as the record's length). */
  private release(d: DirState): void {
    if (d.body !== null) {
      this.held.held -= d.heldFor;
      if (d.pooled) {
        this.pooledInUse--;
        if (this.pool.length < RECORD_POOL_MAX) this.pool.push(d.body);
        d.pooled = false;
      }
      d.body = null;
    }
  }

  private damagedRecord(t: TlsConn, dir: Direction, d: DirState, frame: number): void {
    const len = (d.hdr[3]! << 8) | d.hdr[4]!;
    d.hdrLen = 0;
    d.damaged = false;
    d.records++;
    if (d.phase === 'clear') return;
    d.seq++;
    if (d.phase === 'app') {
      this.emit(t, { event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'record-lost', bytes: len, message: `a TLS record of ${len} bytes lost bytes in a TCP gap: it cannot be authenticated or decrypted; decoding resumes at the next record` });
      this.next.gap(t.conn, dir, this.plainEstimate(t, len), frame);
    }
  }

  /** One whole record of one direction. */
  private record(t: TlsConn, dir: Direction, d: DirState, body: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    const type = d.hdr[0]!;
    const version = (d.hdr[1]! << 8) | d.hdr[2]!;
    d.hdrLen = 0;
    d.records++;
    if (type === CT_CHANGE_CIPHER_SPEC) {
      // TLS 1.3's compatibility CCS changes nothing; in 1.2 the sender's next records are encrypted.
      if (t.sh !== null && t.sh.version !== TLS13 && d.phase === 'clear') {
        if (!t.factsSent) this.facts(t, frame);
        this.startEncrypted12(t, d);
      }
      return;
    }
    if (d.phase === 'clear') {
      if (t.sh !== null && t.sh.version === TLS13 && type === CT_APPLICATION_DATA) {
        // The first encrypted record of a TLS 1.3 direction: keys from here on.
        this.startEncrypted13(t, dir, d, frame);
      } else {
        if (type === CT_HANDSHAKE) this.handshake(t, dir, d, body, frame, false);
        else if (type === CT_ALERT) this.alert(t, dir, body, frame, false);
        else if (type === CT_APPLICATION_DATA) {
          // Encrypted before any ServerHello: TLS 1.3 0-RTT early data (its key, CLIENT_EARLY_TRAFFIC_SECRET, is not
          // used), or a handshake the capture missed. Said once per direction.
          if (d.undecrypted === 0) {
            this.emit(t, { event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'early-data', message: `encrypted TLS records before ${t.sh === null ? 'any ServerHello' : 'the keys changed'} (TLS 1.3 early data, or a handshake the capture does not hold): not decrypted` });
          }
          // Counted only: the handshake's facts are told once its ServerHello is read.
          d.undecrypted++;
        }
        return;
      }
    }
    this.encrypted(t, dir, d, type, version, body, frame, timeSec, timeNsec);
  }

  private encrypted(t: TlsConn, dir: Direction, d: DirState, type: number, version: number, body: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    if (d.phase === 'opaque') {
      this.opaque(t, d, frame);
      return;
    }
    if (d.phase === 'handshake') {
      this.handshake13(t, dir, d, type, version, body, frame, timeSec, timeNsec);
      return;
    }
    const opener = d.opener!;
    let r: Opened;
    if (d.lostBytes > 0) {
      r = this.reopen(t, d, opener, type, version, body);
    } else {
      r = opener.open(type, version, body, d.seq);
      d.seq++;
    }
    if ('error' in r) {
      this.emit(t, {
        event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'bad-record', bytes: body.length,
        message: `TLS record of ${body.length} bytes (${CONTENT_TYPE_NAME[type] ?? type}) in frame ${frame} does not decrypt: ${r.error}; its bytes are a gap, decoding resumes at the next record`,
      });
      d.undecrypted++;
      this.next.gap(t.conn, dir, this.plainEstimate(t, body.length), frame);
      return;
    }
    this.plain(t, dir, d, r, frame, timeSec, timeNsec);
  }

  /** After a loss: the next record's sequence number is found by trying those the lost bytes allow. */
  private reopen(t: TlsConn, d: DirState, opener: RecordOpener, type: number, version: number, body: Uint8Array): Opened {
    const tries = Math.min(MAX_SEQ_TRIALS, Math.floor(d.lostBytes / 22) + 2);
    let first: Opened | null = null;
    // TLS 1.2 GCM/CCM: the explicit nonce is the sequence number in every common stack: try it first.
    const p = t.params!;
    if (!p.tls13 && (p.cipher.kind === 'gcm' || p.cipher.kind === 'ccm') && body.length >= 8) {
      const hi = ((body[0]! << 24) | (body[1]! << 16) | (body[2]! << 8) | body[3]!) >>> 0;
      const lo = ((body[4]! << 24) | (body[5]! << 16) | (body[6]! << 8) | body[7]!) >>> 0;
      const s = hi * 0x100000000 + lo;
      if (s >= d.seq && s < d.seq + MAX_SEQ_TRIALS * 16) {
        const r = opener.open(type, version, body, s);
        if (!('error' in r)) {
          d.seq = s + 1;
          d.lostBytes = 0;
          return r;
        }
      }
    }
    for (let i = 0; i < tries; i++) {
      const r = opener.open(type, version, body, d.seq + i);
      if (!('error' in r)) {
        d.seq += i + 1;
        d.lostBytes = 0;
        return r;
      }
      first ??= r;
    }
    // None fits: this record stays unread; the search goes on at the next one.
    d.lostBytes += body.length + 5;
    return { error: `no sequence number within ${tries} records after the lost bytes opens it (${'error' in first! ? first.error : ''})` };
  }

  /** A record opened: handshake messages, alerts and application data by its (inner) type. */
  private plain(t: TlsConn, dir: Direction, d: DirState, r: { type: number; data: Uint8Array }, frame: number, timeSec: number, timeNsec: number): void {
    switch (r.type) {
      case CT_APPLICATION_DATA:
        if (!t.factsSent) this.facts(t, frame);
        if (r.data.length > 0) {
          t.delivered = true;
          // Passed on as a plain Uint8Array view, the type every other stream chunk has (capture/reader.ts): a Node
          // Buffer here made the MQTT stages' byte reads polymorphic, and each subarray() a species lookup.
          const b = r.data;
          this.next.data(t.conn, dir, new Uint8Array(b.buffer, b.byteOffset, b.length), frame, timeSec, timeNsec);
        }
        return;
      case CT_HANDSHAKE:
        this.handshake(t, dir, d, r.data, frame, true);
        if (d.keyUpdate) {
          d.keyUpdate = false;
          if (d.opener instanceof Tls13Opener) {
            d.opener.update();
            d.seq = 0;
          }
        }
        return;
      case CT_ALERT:
        this.alert(t, dir, r.data, frame, true);
        return;
      default:
    }
  }

  /** TLS 1.3 encrypted handshake records: opened with the handshake secret when the key log has it, else skipped. */
  private handshake13(t: TlsConn, dir: Direction, d: DirState, type: number, version: number, body: Uint8Array, frame: number, timeSec: number, timeNsec: number): void {
    if (d.hsOpener !== null) {
      const r = d.hsOpener.open(type, version, body, d.seq);
      if (!('error' in r)) {
        d.seq++;
        if (r.type === CT_HANDSHAKE) this.handshake(t, dir, d, r.data, frame, true);
        else if (r.type === CT_ALERT) this.alert(t, dir, r.data, frame, true);
        return;
      }
      // The handshake secret does not fit (or the Finished was missed): look for the application keys instead.
      d.hsOpener = null;
    }
    // Without the handshake secret: the first record the application secret opens (sequence 0) ends the handshake.
    const app = d.appOpener!;
    const r = app.open(type, version, body, 0);
    if (!('error' in r)) {
      this.toApp(t, dir, d, frame);
      d.seq = 1;
      this.plain(t, dir, d, r, frame, timeSec, timeNsec);
      return;
    }
    if (++d.hsTrials > MAX_HANDSHAKE_TRIALS) {
      d.phase = 'opaque';
      this.emit(t, {
        event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'bad-key',
        message: `no TLS record of the ${dir === 'c2s' ? 'client' : 'server'} opens with the key log's ${dir === 'c2s' ? 'CLIENT' : 'SERVER'}_TRAFFIC_SECRET_0 (${t.keys?.source ?? ''}) after ${MAX_HANDSHAKE_TRIALS} records: wrong keys; this direction is not decoded`,
      });
    }
  }

  private toApp(t: TlsConn, dir: Direction, d: DirState, frame: number): void {
    d.phase = 'app';
    d.opener = d.appOpener;
    d.seq = 0;
    if (!t.factsSent && dir === 's2c') this.facts(t, frame);
  }

  // ---- handshake ----------------------------------------------------------------------------

  /** Handshake bytes of one direction (reassembled across records), then each whole message. */
  private handshake(t: TlsConn, dir: Direction, d: DirState, bytes: Uint8Array, frame: number, encrypted: boolean): void {
    if (d.hsLen + bytes.length > MAX_HANDSHAKE_BYTES) {
      if (!d.hsSkip) {
        d.hsSkip = true;
        this.emit(t, { event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'handshake-too-long', message: `TLS handshake messages of more than ${MAX_HANDSHAKE_BYTES} bytes in a row; not read` });
      }
      this.dropHandshake(d);
      return;
    }
    if (d.hs.length < d.hsLen + bytes.length) {
      const size = Math.max(d.hsLen + bytes.length, Math.min(MAX_HANDSHAKE_BYTES, d.hs.length * 2 + 256));
      if (this.held.held + size - d.hs.length > this.held.limit) {
        this.emit(t, { event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'buffer-overflow', bytes: size, message: `TLS handshake messages would take the bytes held for packets in progress past ${this.held.limit}; not read` });
        this.dropHandshake(d);
        return;
      }
      const nb = new Uint8Array(size);
      nb.set(d.hs.subarray(0, d.hsLen));
      this.held.held += size - d.hs.length;
      d.hs = nb;
    }
    d.hs.set(bytes, d.hsLen);
    d.hsLen += bytes.length;
    let at = 0;
    while (d.hsLen - at >= 4) {
      const type = d.hs[at]!;
      const len = (d.hs[at + 1]! << 16) | (d.hs[at + 2]! << 8) | d.hs[at + 3]!;
      if (len > MAX_HANDSHAKE_BYTES) {
        this.emit(t, { event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'handshake-too-long', message: `TLS ${HANDSHAKE_TYPE_NAME[type] ?? `handshake type ${type}`} of ${len} bytes is larger than ${MAX_HANDSHAKE_BYTES}; not read` });
        at = d.hsLen;
        break;
      }
      if (d.hsLen - at < 4 + len) break;
      this.message(t, dir, d, type, d.hs.subarray(at + 4, at + 4 + len), frame, encrypted);
      at += 4 + len;
    }
    if (at > 0) {
      d.hs.copyWithin(0, at, d.hsLen);
      d.hsLen -= at;
    }
    if (d.hsLen === 0) this.dropHandshake(d);
  }

  private dropHandshake(d: DirState): void {
    this.held.held -= d.hs.length;
    d.hs = EMPTY;
    d.hsLen = 0;
  }

  private message(t: TlsConn, dir: Direction, d: DirState, type: number, body: Uint8Array, frame: number, encrypted: boolean): void {
    try {
      if (type === HS_CLIENT_HELLO && dir === 'c2s' && !encrypted) {
        const ch = parseClientHello(body);
        // A second ClientHello after a HelloRetryRequest keeps the same random (RFC 8446 4.1.2).
        if (t.ch === null || t.sh?.retry === true) t.ch = ch;
      } else if (type === HS_SERVER_HELLO && dir === 's2c' && !encrypted) {
        const sh = parseServerHello(body);
        t.sh = sh;
        if (!sh.retry) this.serverHello(t);
      } else if (type === HS_CERTIFICATE && dir === 's2c' && t.cert === null) {
        t.cert = parseCertificate(body, t.sh?.version === TLS13);
      } else if (type === HS_FINISHED && encrypted && d.phase === 'handshake') {
        this.toApp(t, dir, d, frame);
      } else if (type === HS_KEY_UPDATE && encrypted && d.phase === 'app') {
        d.keyUpdate = true;
      }
    } catch (e) {
      this.emit(t, { event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'bad-handshake', message: `TLS ${HANDSHAKE_TYPE_NAME[type] ?? `handshake type ${type}`} of ${body.length} bytes is malformed: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  /** The ServerHello decides version and suite: look up the session's secrets now. */
  private serverHello(t: TlsConn): void {
    const sh = t.sh!;
    t.params = suiteParams(sh.suite);
    if (t.ch === null) {
      t.noDecrypt = 'the ClientHello was not captured (its random names the session in the key log)';
      return;
    }
    if (this.opts.keylog.size === 0) return;
    t.keys = this.opts.keylog.get(t.ch.random);
    if (t.keys === undefined) {
      t.noDecrypt = `no key-log entry for this session (client random ${hex(t.ch.random)})`;
      return;
    }
    if (t.params === null) {
      t.noDecrypt = `cipher suite ${suiteName(sh.suite)} is not supported for decryption`;
      return;
    }
    if (sh.version === TLS13) {
      const s = t.keys.secrets;
      if (s.CLIENT_TRAFFIC_SECRET_0 === undefined || s.SERVER_TRAFFIC_SECRET_0 === undefined) {
        t.noDecrypt = `the key log has no CLIENT_TRAFFIC_SECRET_0 / SERVER_TRAFFIC_SECRET_0 for this TLS 1.3 session (${t.keys.source})`;
        return;
      }
    } else if (sh.version === TLS12 || sh.version === TLS10 || sh.version === TLS11) {
      if (t.keys.secrets.CLIENT_RANDOM === undefined) {
        t.noDecrypt = `the key log has no CLIENT_RANDOM (master secret) for this ${versionName(sh.version)} session (${t.keys.source})`;
        return;
      }
      if (sh.version !== TLS12 && t.params.cipher.kind !== 'cbc' && t.params.cipher.kind !== 'null') {
        t.noDecrypt = `cipher suite ${suiteName(sh.suite)} does not exist in ${versionName(sh.version)}`;
        return;
      }
    } else {
      t.noDecrypt = `${versionName(sh.version)} is not decrypted (only TLS 1.0 to 1.3)`;
      return;
    }
    t.decrypting = true;
    this.announce(t);
    this.ensureOpen(t);
  }

  private startEncrypted12(t: TlsConn, d: DirState): void {
    d.seq = 0;
    if (!t.decrypting) {
      d.phase = 'opaque';
      return;
    }
    const p = t.params!;
    const ch = t.ch!;
    const sh = t.sh!;
    // TLS 1.0 and 1.1 use the MD5/SHA-1 PRF; 1.0 chains CBC IVs from record to record.
    const legacy = sh.version !== TLS12;
    const kb = keyBlock12(p, t.keys!.secrets.CLIENT_RANDOM!, ch.random, sh.random, legacy);
    const etm = ch.encryptThenMac && sh.encryptThenMac && (p.cipher.kind === 'cbc');
    d.opener = new Tls12Opener(p, d === t.c2s ? kb.c2s : kb.s2c, etm, this.plainOut, sh.version === TLS10);
    d.phase = 'app';
    this.announce(t);
  }

  private startEncrypted13(t: TlsConn, dir: Direction, d: DirState, frame: number): void {
    d.seq = 0;
    if (!t.decrypting) {
      d.phase = 'opaque';
      if (!t.factsSent) this.facts(t, frame);
      return;
    }
    const p = t.params!;
    const s = t.keys!.secrets;
    const hs = dir === 'c2s' ? s.CLIENT_HANDSHAKE_TRAFFIC_SECRET : s.SERVER_HANDSHAKE_TRAFFIC_SECRET;
    d.hsOpener = hs === undefined ? null : new Tls13Opener(p, hs, this.plainOut);
    d.appOpener = new Tls13Opener(p, dir === 'c2s' ? s.CLIENT_TRAFFIC_SECRET_0! : s.SERVER_TRAFFIC_SECRET_0!, this.plainOut);
    d.phase = 'handshake';
    this.announce(t);
    if (!t.factsSent && dir === 's2c' && d.hsOpener === null) this.facts(t, frame);
  }

  /** Marks the connection as carried by TLS for the records the MQTT stage writes, before any plaintext reaches it. */
  private announce(t: TlsConn): void {
    if (!t.announced) {
      // Outermost (['tls']), or inside the layers already unwrapped (['websocket', 'tls']: TLS in WebSocket frames).
      t.announced = true;
      t.conn.transport = [...(t.conn.transport ?? []), 'tls'];
      t.conn.transportKeys = t.keys!.source;
    }
  }

  private opaque(t: TlsConn, d: DirState, frame: number): void {
    d.undecrypted++;
    if (!t.factsSent) this.facts(t, frame);
  }

  private alert(t: TlsConn, dir: Direction, b: Uint8Array, frame: number, decrypted: boolean): void {
    if (!t.factsSent) this.facts(t, frame);
    if (b.length < 2) {
      this.emit(t, { event: 'tls-error', frame, conn: t.conn.id, dir, reason: 'bad-alert', message: `a TLS alert of ${b.length} bytes (2 expected)` });
      return;
    }
    const level = ALERT_LEVEL_NAME[b[0]!] ?? `level ${b[0]}`;
    const desc = ALERT_NAME[b[1]!] ?? `description ${b[1]}`;
    this.emit(t, { event: 'tls-alert', frame, conn: t.conn.id, dir, reason: desc, message: `TLS ${level} alert from the ${dir === 'c2s' ? 'client' : 'server'}: ${desc} (${b[1]})${decrypted ? ', decrypted' : ''}` });
  }

  // ---- reporting ----------------------------------------------------------------------------

  /** The one 'tls' event of a connection: what the handshake showed, its findings, and whether it is decrypted. */
  private facts(t: TlsConn, frame: number): void {
    t.factsSent = true;
    const ch = t.ch;
    const sh = t.sh;
    const cert = t.cert;
    const resumed = sh === null || ch === null ? null
      : sh.version === TLS13 ? (sh.psk ? 'psk' : null)
      : ch.sessionId.length > 0 && Buffer.from(ch.sessionId).equals(Buffer.from(sh.sessionId)) ? (ch.ticket ? 'ticket' : 'session-id') : null;
    const facts: TlsFacts = {
      version: sh === null ? null : versionName(sh.version),
      cipherSuite: sh === null ? null : suiteName(sh.suite),
      sni: ch?.sni ?? null,
      alpnOffered: ch?.alpn ?? [],
      alpn: sh?.alpn ?? null,
      // A TLS 1.3 client's legacy session id is random filler (RFC 8446 D.4): only a PSK offers resumption there.
      resumptionOffered: ch !== null && (sh?.version === TLS13 || ch.versions.includes(TLS13) && sh === null ? ch.psk : ch.sessionId.length > 0 || ch.ticket || ch.psk),
      resumed,
      certificate: cert === null ? null : { subject: cert.subject, issuer: cert.issuer, notBefore: cert.notBefore, notAfter: cert.notAfter, chain: cert.chain },
      decrypted: t.decrypting,
      keys: t.decrypting ? t.keys!.source : null,
    };
    const findings: TransportFinding[] = [];
    if (sh !== null && (sh.version === 0x0301 || sh.version === 0x0302 || sh.version === 0x0300)) {
      findings.push({ code: 'TLS-old-version', message: `${versionName(sh.version)} negotiated (deprecated by RFC 8996)` });
    }
    const weak = sh === null ? null : suiteWeakness(sh.suite);
    if (weak !== null) findings.push({ code: 'TLS-weak-cipher', message: `cipher suite ${suiteName(sh!.suite)} selected: ${weak === 'anonymous' ? 'no server authentication' : `${weak} cipher`}` });
    if (cert !== null) {
      const now = t.conn.startSec;
      if (now > cert.notAfterSec) findings.push({ code: 'TLS-cert-expired', message: `the server certificate (${cert.subject}) expired ${cert.notAfter}, before this capture (${new Date(now * 1000).toISOString()})` });
      else if (now < cert.notBeforeSec) findings.push({ code: 'TLS-cert-not-yet-valid', message: `the server certificate (${cert.subject}) is valid only from ${cert.notBefore}, after this capture (${new Date(now * 1000).toISOString()})` });
    }
    const parts: string[] = [];
    parts.push(sh === null ? 'no ServerHello' : `${versionName(sh.version)} ${suiteName(sh.suite)}`);
    if (ch?.sni) parts.push(`SNI ${ch.sni}`);
    if (ch !== null && ch.alpn.length > 0) parts.push(`ALPN offered ${ch.alpn.join(',')}${sh?.alpn ? `, selected ${sh.alpn}` : ''}`);
    if (resumed !== null) parts.push(`resumed (${resumed})`);
    if (cert !== null) parts.push(`certificate "${cert.subject}" from "${cert.issuer}", valid ${cert.notBefore.slice(0, 10)} to ${cert.notAfter.slice(0, 10)}`);
    const how = t.decrypting ? `decrypted with ${t.keys!.source}` : t.noDecrypt !== null ? 'not decrypted' : 'not decrypted (no key log given)';
    this.emit(t, {
      event: 'tls', frame, conn: t.conn.id, dir: null, tls: facts,
      message: `MQTT over TLS between ${t.conn.client} and ${t.conn.server}: ${parts.join('; ')}; ${how}`,
      ...(findings.length > 0 ? { findings } : {}),
    });
    if (!t.decrypting && sh !== null && !sh.retry) {
      const why = t.noDecrypt ?? this.opts.keylog.unavailable ?? 'no key log given (--tls-keylog, SSLKEYLOGFILE or a pcapng with secrets)';
      this.emit(t, {
        event: 'tls-error', frame, conn: t.conn.id, dir: null,
        reason: t.params === null ? 'unsupported-suite' : t.keys === undefined ? 'no-key' : 'unsupported',
        message: `TLS connection not decrypted: ${why}; its MQTT is not decoded`,
      });
    }
  }

  /** Plaintext a record of `len` ciphertext bytes held, as far as the suite tells (its overhead is fixed for AEAD). */
  private plainEstimate(t: TlsConn, len: number): number {
    const p = t.params;
    if (p === null) return UNKNOWN_LOSS_BYTES;
    const c = p.cipher;
    if (p.tls13) return Math.max(0, len - c.tagLen - 1);
    if (c.kind === 'gcm' || c.kind === 'ccm') return Math.max(0, len - 8 - c.tagLen);
    if (c.kind === 'chacha') return Math.max(0, len - c.tagLen);
    // CBC padding is unknown without the keys' verdict: the framer resynchronises.
    return UNKNOWN_LOSS_BYTES;
  }

  private emit(t: TlsConn, ev: StreamEvent): void {
    this.ensureOpen(t);
    this.next.event(ev);
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
