/**
 * The TLS stream layer (src/transport/tls/): records cut from any chunking, handshake facts without keys, TLS 1.0-1.3
 * decryption of every supported suite, KeyUpdate, and every failure reported: no key, wrong key, a record that does
 * not authenticate, TCP gaps inside and across records, absurd lengths, a record cut at the end, plaintext MQTT.
 */
import { hkdfSync, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { hkdfExpand, prf10, prf12 } from '../src/transport/tls/crypto.js';
import { KeyLog } from '../src/transport/tls/keylog.js';
import { MAX_RECORD_BYTES, TlsLayer, UNKNOWN_LOSS_BYTES } from '../src/transport/tls/layer.js';
import { suiteParams } from '../src/transport/tls/tables.js';
import type { Connection, ConnectionEnd, Direction, HeldBytes, StreamSink } from '../src/tcp/types.js';
import { CollectingSink } from './builders/frames.js';
import { clientHello, handshakeMsg, hex, params, record, sealers12, serverHello, Tls13Sealer, tlsConn } from './builders/tls.js';
import { clientFrame, upgradeRequest, upgradeResponse, wsFrame } from './builders/websocket.js';
import * as m from './builders/mqtt-bytes.js';
import { LAYERS, StreamRouter } from '../src/transport/router.js';

const END: ConnectionEnd = { frame: 99, timeSec: 1_700_000_001, timeNsec: 0, cause: 'fin', by: 'c2s', finC2s: true, finS2c: true };
const FINISHED = (n: number): Uint8Array => Uint8Array.from(handshakeMsg(20, new Array<number>(n).fill(0x5a)));

interface Session {
  keylog: KeyLog;
  c2s: Uint8Array[];
  s2c: Uint8Array[];
  /** Application plaintext of each direction, in order. */
  plain: Record<Direction, Uint8Array[]>;
  /** The key log's text (TLS 1.3 sessions), to join several sessions' keys in one key log. */
  keyText?: string;
}

function keyLine(label: string, random: Uint8Array, secret: Uint8Array): string {
  return `${label} ${hex(random)} ${hex(secret)}\n`;
}

/** A TLS 1.3 session: ClientHello, ServerHello, the compatibility CCS, encrypted handshakes, then application records. */
function session13(suite: number, messages: { c2s: (string | Uint8Array)[]; s2c: (string | Uint8Array)[] }, o: { handshakeKeys?: boolean; keyUpdateAfter?: number } = {}): Session {
  const p = params(suite);
  const cr = randomBytes(32);
  const sr = randomBytes(32);
  const sec = { chs: randomBytes(p.prf.len), shs: randomBytes(p.prf.len), cts: randomBytes(p.prf.len), sts: randomBytes(p.prf.len) };
  let text = '# keys\n';
  if (o.handshakeKeys !== false) text += keyLine('CLIENT_HANDSHAKE_TRAFFIC_SECRET', cr, sec.chs) + keyLine('SERVER_HANDSHAKE_TRAFFIC_SECRET', cr, sec.shs);
  text += keyLine('CLIENT_TRAFFIC_SECRET_0', cr, sec.cts) + keyLine('SERVER_TRAFFIC_SECRET_0', cr, sec.sts) + keyLine('EXPORTER_SECRET', cr, sec.sts);
  const keylog = new KeyLog();
  keylog.add(text, 'test.keys');
  const sHs = new Tls13Sealer(p, sec.shs);
  const cHs = new Tls13Sealer(p, sec.chs);
  const sApp = new Tls13Sealer(p, sec.sts);
  const cApp = new Tls13Sealer(p, sec.cts);
  const ee = Uint8Array.from([...handshakeMsg(8, [0, 0]), ...FINISHED(32)]);
  const c2s: Uint8Array[] = [clientHello({ random: cr, sni: 'broker.example', alpn: ['mqtt', 'x-amzn-mqtt-ca'], versions: [0x0304, 0x0303], suites: [suite] }), record(20, [1]), cHs.seal(22, FINISHED(32))];
  const s2c: Uint8Array[] = [serverHello({ random: sr, suite, version: 0x0304 }), record(20, [1]), sHs.seal(22, ee)];
  const plain: Record<Direction, Uint8Array[]> = { c2s: [], s2c: [] };
  messages.c2s.forEach((m, i) => {
    if (o.keyUpdateAfter === i) {
      c2s.push(cApp.seal(22, Uint8Array.from(handshakeMsg(24, [0]))));
      cApp.update();
    }
    const b = Buffer.from(m);
    plain.c2s.push(b);
    c2s.push(cApp.seal(23, b, i % 3));
  });
  s2c.push(sApp.seal(22, Uint8Array.from(handshakeMsg(4, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]))));
  for (const m of messages.s2c) {
    const b = Buffer.from(m);
    plain.s2c.push(b);
    s2c.push(sApp.seal(23, b));
  }
  return { keylog, c2s, s2c, plain, keyText: text };
}

function session12(suite: number, messages: { c2s: string[]; s2c: string[] }, o: { etm?: boolean; version?: number } = {}): Session {
  const version = o.version ?? 0x0303;
  const cr = randomBytes(32);
  const sr = randomBytes(32);
  const master = randomBytes(48);
  const keylog = new KeyLog();
  keylog.add(keyLine('CLIENT_RANDOM', cr, master), 'test12.keys');
  const s = sealers12(suite, master, cr, sr, o.etm === true, version);
  const c2s: Uint8Array[] = [clientHello({ random: cr, sni: 'b', suites: [suite], etm: o.etm }), record(22, handshakeMsg(16, [0, 1, 2]), version), record(20, [1], version), s.c2s.seal(22, FINISHED(12))];
  const s2c: Uint8Array[] = [serverHello({ random: sr, suite, version, etm: o.etm }), record(20, [1], version), s.s2c.seal(22, FINISHED(12))];
  const plain: Record<Direction, Uint8Array[]> = { c2s: [], s2c: [] };
  for (const m of messages.c2s) { const b = Buffer.from(m); plain.c2s.push(b); c2s.push(s.c2s.seal(23, b)); }
  for (const m of messages.s2c) { const b = Buffer.from(m); plain.s2c.push(b); s2c.push(s.s2c.seal(23, b)); }
  return { keylog, c2s, s2c, plain };
}

const cat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

/**
 * Feeds both directions cut at `cuts`, in the order a real connection has them: the ClientHello, the server's
 * handshake flight, the client's records, the server's; then closes.
 */
function run(s: Session, o: { cuts?: (dir: Direction, n: number) => number[]; keylog?: KeyLog; held?: HeldBytes; mutate?: (dir: Direction, b: Uint8Array) => Uint8Array; close?: boolean } = {}) {
  const sink = new CollectingSink();
  const held = o.held ?? { held: 0, limit: 1 << 30 };
  const layer = new TlsLayer(sink, { keylog: o.keylog ?? s.keylog, heldBytes: held });
  const conn = tlsConn();
  layer.open(conn);
  const chunks: Record<Direction, Uint8Array[][]> = { c2s: [[], []], s2c: [[], []] };
  for (const dir of ['c2s', 's2c'] as const) {
    let bytes = cat(s[dir]);
    if (o.mutate) bytes = o.mutate(dir, bytes);
    // Where the first flight ends: after the ClientHello, after the server's handshake records.
    const flight = Math.min(bytes.length, s[dir].slice(0, dir === 'c2s' ? 1 : 3).reduce((n, r) => n + r.length, 0));
    const cuts = [...new Set([0, flight, ...(o.cuts?.(dir, bytes.length) ?? []), bytes.length])].sort((a, b) => a - b);
    for (let i = 0; i + 1 < cuts.length; i++) if (cuts[i + 1]! > cuts[i]!) chunks[dir][cuts[i]! < flight ? 0 : 1]!.push(bytes.subarray(cuts[i], cuts[i + 1]));
  }
  let frame = 10;
  const feed = (dir: Direction, list: Uint8Array[]): void => { for (const c of list) layer.data(conn, dir, c, frame++, 1_700_000_000, 0); };
  feed('c2s', chunks.c2s[0]!);
  feed('s2c', chunks.s2c[0]!);
  feed('c2s', chunks.c2s[1]!);
  feed('s2c', chunks.s2c[1]!);
  if (o.close !== false) layer.close(conn, END);
  return { sink, conn, held, layer };
}

/** A layer that has seen the ClientHello and the server's handshake flight; `rest` is the client's stream after it. */
function begun(s: Session, held?: HeldBytes) {
  const sink = new CollectingSink();
  const layer = new TlsLayer(sink, { keylog: s.keylog, ...(held ? { heldBytes: held } : {}) });
  const conn = tlsConn();
  layer.open(conn);
  layer.data(conn, 'c2s', s.c2s[0]!, 1, 0, 0);
  layer.data(conn, 's2c', cat(s.s2c.slice(0, 3)), 2, 0, 0);
  return { sink, layer, conn, rest: cat(s.c2s.slice(1)), restRecords: s.c2s.slice(1) };
}

const text = (sink: CollectingSink, dir: Direction): string => Buffer.from(sink.stream(0, dir)).toString('latin1');
const want = (s: Session, dir: Direction): string => Buffer.concat(s.plain[dir]).toString('latin1');
const MSGS = { c2s: ['\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00', 'hello from the client', 'x'.repeat(5000)], s2c: ['\x20\x02\x00\x00', 'server says hi'] };

describe('TLS 1.3', () => {
  for (const suite of [0x1301, 0x1302, 0x1303, 0x1304, 0x1305]) {
    test(`${suiteParams(suite)!.name}: every record decrypted, the facts reported`, () => {
      const s = session13(suite, MSGS);
      const { sink, conn } = run(s);
      expect(text(sink, 'c2s')).toBe(want(s, 'c2s'));
      expect(text(sink, 's2c')).toBe(want(s, 's2c'));
      expect(conn.transport).toEqual(['tls']);
      expect(conn.transportKeys).toBe('test.keys line 2');
      const facts = sink.eventsOf('tls');
      expect(facts).toHaveLength(1);
      expect(facts[0]!.tls).toMatchObject({ version: 'TLS 1.3', cipherSuite: suiteParams(suite)!.name, sni: 'broker.example', alpnOffered: ['mqtt', 'x-amzn-mqtt-ca'], decrypted: true, resumptionOffered: false });
      expect(sink.eventsOf('tls-error')).toEqual([]);
      expect(sink.gaps).toEqual([]);
    });
  }

  test('without the handshake secrets: the first record the application secret opens ends the handshake', () => {
    const s = session13(0x1301, MSGS, { handshakeKeys: false });
    const { sink } = run(s);
    expect(text(sink, 'c2s')).toBe(want(s, 'c2s'));
    expect(text(sink, 's2c')).toBe(want(s, 's2c'));
    expect(sink.eventsOf('tls-error')).toEqual([]);
  });

  test('KeyUpdate: the records after it use the next traffic secret', () => {
    const s = session13(0x1303, { c2s: ['one', 'two', 'three', 'four'], s2c: ['a'] }, { keyUpdateAfter: 2 });
    const { sink } = run(s);
    expect(text(sink, 'c2s')).toBe('onetwothreefour');
    expect(sink.eventsOf('tls-error')).toEqual([]);
  });

  test('any chunking gives the same plaintext: records split across chunks, several in one', () => {
    const s = session13(0x1301, MSGS);
    fc.assert(fc.property(fc.array(fc.nat(20_000), { maxLength: 40 }), (cuts) => {
      const { sink, held } = run(s, { cuts: (_d, n) => cuts.map((c) => c % (n + 1)) });
      expect(text(sink, 'c2s')).toBe(want(s, 'c2s'));
      expect(text(sink, 's2c')).toBe(want(s, 's2c'));
      expect(held.held).toBe(0);
    }), { numRuns: 60 });
  });

  test('many connections inside a record at once (more than the pooled record buffers): each record decrypts to its own bytes', () => {
    // 40 sessions, each client record cut in two; every first half is fed before any second half, so 40 records are in
    // progress together: past the pool's 16 buffers, and each must keep its own bytes until it is read.
    const held = { held: 0, limit: 1 << 30 };
    const sink = new CollectingSink();
    const sessions = Array.from({ length: 40 }, (_, i) => session13(0x1301, { c2s: [`conn ${i} `.repeat(30 + i), `second ${i}`], s2c: ['ok'] }));
    const keylog = new KeyLog();
    for (const s of sessions) keylog.add(s.keyText!, 'test.keys');
    const layer = new TlsLayer(sink, { keylog, heldBytes: held });
    const conns = sessions.map((_, i) => tlsConn(i));
    const restOf = sessions.map((s, i) => {
      const c = conns[i]!;
      layer.open(c);
      layer.data(c, 'c2s', s.c2s[0]!, 1, 0, 0);
      layer.data(c, 's2c', cat(s.s2c.slice(0, 3)), 2, 0, 0);
      // Cut 20 bytes into the first application data record (after the CCS and the encrypted Finished).
      return { bytes: cat(s.c2s.slice(1)), cut: s.c2s[1]!.length + s.c2s[2]!.length + 20 };
    });
    restOf.forEach((r, i) => layer.data(conns[i]!, 'c2s', r.bytes.subarray(0, r.cut), 3, 0, 0));
    expect(held.held).toBeGreaterThan(40 * 200);
    restOf.forEach((r, i) => layer.data(conns[i]!, 'c2s', r.bytes.subarray(r.cut), 4, 0, 0));
    conns.forEach((c) => layer.close(c, END));
    sessions.forEach((s, i) => expect(Buffer.from(sink.stream(i, 'c2s')).toString('latin1')).toBe(want(s, 'c2s')));
    expect(held.held).toBe(0);
  });

  test('the plaintext is passed on as plain Uint8Array views, the type of every other stream chunk (not Node Buffers)', () => {
    for (const s of [session13(0x1301, MSGS), session12(0xc02f, { c2s: ['abc', 'def'], s2c: ['ghi'] })]) {
      const sink = new CollectingSink();
      const kinds: string[] = [];
      const spy: StreamSink = {
        open: (c) => sink.open(c), gap: (c, d, n, f) => sink.gap(c, d, n, f), close: (c, e) => sink.close(c, e), event: (e) => sink.event(e),
        data: (c: Connection, d: Direction, b: Uint8Array, f: number) => { kinds.push(b.constructor.name); sink.data(c, d, b, f); },
      };
      const layer = new TlsLayer(spy, { keylog: s.keylog, heldBytes: { held: 0, limit: 1 << 30 } });
      const c = tlsConn();
      layer.open(c);
      for (const dir of ['c2s', 's2c'] as const) for (const r of s[dir]) layer.data(c, dir, r, 1, 0, 0);
      expect(kinds.length).toBeGreaterThan(0);
      expect(new Set(kinds)).toEqual(new Set(['Uint8Array']));
    }
  });

  test('byte by byte', () => {
    const s = session13(0x1302, { c2s: ['abc', 'def'], s2c: ['g'] });
    const { sink } = run(s, { cuts: (_d, n) => Array.from({ length: n }, (_, i) => i) });
    expect(text(sink, 'c2s')).toBe('abcdef');
  });
});

describe('TLS 1.2 and older', () => {
  const cases: Array<[string, number, { etm?: boolean; version?: number }]> = [
    ['ECDHE-RSA-AES128-GCM-SHA256', 0xc02f, {}],
    ['ECDHE-RSA-AES256-GCM-SHA384', 0xc030, {}],
    ['ECDHE-RSA-CHACHA20-POLY1305', 0xcca8, {}],
    ['AES128-CCM', 0xc09c, {}],
    ['ECDHE-ECDSA-AES256-CCM8', 0xc0af, {}],
    ['ECDHE-RSA-AES128-SHA (CBC, MAC then encrypt)', 0xc013, {}],
    ['ECDHE-RSA-AES128-SHA (CBC, encrypt then MAC)', 0xc013, { etm: true }],
    ['AES256-SHA256 (CBC)', 0x003d, {}],
    ['ECDHE-RSA-AES256-SHA384 (CBC, SHA-384 PRF)', 0xc028, { etm: true }],
    ['DES-CBC3-SHA', 0x000a, {}],
    ['TLS 1.1 AES128-SHA', 0x002f, { version: 0x0302 }],
    ['TLS 1.0 AES256-SHA (chained IVs)', 0x0035, { version: 0x0301 }],
    ['TLS 1.0 AES256-SHA (chained IVs, encrypt then MAC)', 0x0035, { version: 0x0301, etm: true }],
    ['NULL-SHA256', 0x003b, {}],
  ];
  for (const [name, suite, o] of cases) {
    test(name, () => {
      const s = session12(suite, MSGS, o);
      const { sink } = run(s, { cuts: (_d, n) => [7, Math.floor(n / 2), n - 3] });
      expect(text(sink, 'c2s')).toBe(want(s, 'c2s'));
      expect(text(sink, 's2c')).toBe(want(s, 's2c'));
      expect(sink.eventsOf('tls-error')).toEqual([]);
    });
  }
  test('TLS 1.1 is a finding, a NULL cipher another', () => {
    const s = session12(0x0002, MSGS, { version: 0x0302 });
    const { sink } = run(s);
    expect(sink.eventsOf('tls')[0]!.findings!.map((f) => f.code)).toEqual(['TLS-old-version', 'TLS-weak-cipher']);
    expect(text(sink, 'c2s')).toBe(want(s, 'c2s'));
  });
});

describe('what goes wrong is reported', () => {
  test('no key: one tls-error per connection, nothing passed on', () => {
    const s = session13(0x1301, MSGS);
    const other = new KeyLog();
    other.add(`CLIENT_RANDOM ${'ab'.repeat(32)} ${'cd'.repeat(48)}\n`, 'other.keys');
    const { sink, conn } = run(s, { keylog: other });
    expect(sink.chunks).toEqual([]);
    expect(sink.eventsOf('tls-error').map((e) => e.reason)).toEqual(['no-key']);
    expect(conn.transport).toBeUndefined();
    expect(sink.eventsOf('tls')[0]!.tls!.decrypted).toBe(false);
  });

  test('no key log at all: the facts, and one event that says so', () => {
    const { sink } = run(session13(0x1301, MSGS), { keylog: new KeyLog() });
    expect(sink.eventsOf('tls-error').map((e) => [e.reason, e.message.includes('no key log given')])).toEqual([['no-key', true]]);
  });

  test('wrong keys: given up after a bounded number of records, reported, nothing decoded', () => {
    const s = session13(0x1301, { c2s: Array.from({ length: 80 }, (_, i) => `m${i}`), s2c: ['x'] }, { handshakeKeys: false });
    const wrong = new KeyLog();
    const cr = s.c2s[0]!.subarray(11, 43);
    wrong.add(keyLine('CLIENT_TRAFFIC_SECRET_0', cr, randomBytes(32)) + keyLine('SERVER_TRAFFIC_SECRET_0', cr, randomBytes(32)), 'wrong.keys');
    const { sink } = run(s, { keylog: wrong });
    expect(sink.chunks).toEqual([]);
    // The client's 80 records pass the trial bound; the server's one record is said at the end of the session.
    expect(sink.eventsOf('tls-error').map((e) => [e.reason, e.dir])).toEqual([['bad-key', 'c2s'], ['bad-key', 's2c']]);
  });

  test('a record that does not authenticate: reported, its plaintext a gap, decoding goes on at the next record', () => {
    const s = session13(0x1301, { c2s: ['first', 'second', 'third'], s2c: ['x'] });
    const victim = s.c2s.length - 2; // 'second'
    const at = s.c2s.slice(0, victim).reduce((n, r) => n + r.length, 0) + 9;
    const { sink } = run(s, { mutate: (dir, b) => { if (dir === 'c2s') b[at]! ^= 1; return b; } });
    expect(text(sink, 'c2s')).toBe('firstthird');
    const errs = sink.eventsOf('tls-error');
    expect(errs.map((e) => e.reason)).toEqual(['bad-record']);
    // The framer is told the record's content and padding (1 byte here): the padding's length is encrypted too, so
    // this is exact only for unpadded records, which is what every stack we captured sends.
    expect(sink.gaps).toEqual([{ conn: 0, dir: 'c2s', bytes: 'second'.length + 1, frame: expect.any(Number) }]);
  });

  test('TLS 1.2 GCM: a damaged record is a gap of exactly its plaintext', () => {
    const s = session12(0xc02f, { c2s: ['aaaa', 'bbbbbbbb', 'cc'], s2c: [] });
    const at = s.c2s.slice(0, 5).reduce((n, r) => n + r.length, 0) + 20;
    const { sink } = run(s, { mutate: (dir, b) => { if (dir === 'c2s') b[at]! ^= 0x80; return b; } });
    expect(text(sink, 'c2s')).toBe('aaaacc');
    expect(sink.gaps.map((g) => g.bytes)).toEqual([8]);
  });

  test('a TCP gap inside a record: that record is lost, the next one decrypts (its end was known)', () => {
    const s = session13(0x1301, { c2s: ['one', 'x'.repeat(3000), 'three'], s2c: [] });
    const { sink, layer, conn, rest: bytes, restRecords } = begun(s);
    const start = restRecords.slice(0, restRecords.length - 2).reduce((n, r) => n + r.length, 0);
    layer.data(conn, 'c2s', bytes.subarray(0, start + 100), 1, 0, 0);
    layer.gap(conn, 'c2s', 1000, 2);
    layer.data(conn, 'c2s', bytes.subarray(start + 1100), 3, 0, 0);
    layer.close(conn, END);
    expect(Buffer.from(sink.stream(0, 'c2s')).toString()).toBe('onethree');
    expect(sink.eventsOf('tls-error').map((e) => e.reason)).toEqual(['record-lost']);
    expect(sink.gaps).toHaveLength(1);
  });

  test('a TCP gap that takes record headers: boundaries and sequence number are found again', () => {
    const msgs = Array.from({ length: 12 }, (_, i) => `message ${i} `.repeat(20));
    const s = session13(0x1303, { c2s: msgs, s2c: [] });
    const { sink, layer, conn, rest: bytes, restRecords } = begun(s);
    // Records 0-3 of the application arrive; then a gap eats the rest of record 4, records 5-6 and record 7's start.
    const firstApp = restRecords.length - msgs.length;
    const off = (i: number): number => restRecords.slice(0, firstApp + i).reduce((n, r) => n + r.length, 0);
    const cut = off(4) + 2; // inside record 4's header
    const resume = off(7) + 50;
    layer.data(conn, 'c2s', bytes.subarray(0, cut), 1, 0, 0);
    layer.gap(conn, 'c2s', resume - cut, 2);
    layer.data(conn, 'c2s', bytes.subarray(resume), 3, 0, 0);
    layer.close(conn, END);
    expect(Buffer.from(sink.stream(0, 'c2s')).toString()).toBe(msgs.slice(0, 4).join('') + msgs.slice(8).join(''));
    expect(sink.gaps.map((g) => g.bytes)).toEqual([UNKNOWN_LOSS_BYTES]);
  });

  test('a record length past 2^14 + 2048: a finding, no allocation, the boundaries are searched again', () => {
    const s = session13(0x1301, { c2s: ['ok', 'later'], s2c: [] });
    const held = { held: 0, limit: 1 << 30 };
    const { sink, layer, conn, restRecords } = begun(s, held);
    const good = cat(restRecords.slice(0, -1));
    layer.data(conn, 'c2s', good, 1, 0, 0);
    layer.data(conn, 'c2s', Uint8Array.of(23, 3, 3, 0xff, 0xff, 1, 2, 3), 2, 0, 0);
    expect(held.held).toBe(0);
    layer.data(conn, 'c2s', s.c2s.at(-1)!, 3, 0, 0);
    layer.close(conn, END);
    const ev = sink.eventsOf('tls-error');
    expect(ev.map((e) => [e.reason, e.bytes])).toEqual([['record-too-long', 0xffff]]);
    expect(ev[0]!.findings!.map((f) => f.code)).toEqual(['TLS-record-overflow']);
    expect(0xffff).toBeGreaterThan(MAX_RECORD_BYTES);
    expect(Buffer.from(sink.stream(0, 'c2s')).toString()).toBe('oklater');
  });

  test('a record cut by the end of the stream is reported', () => {
    const s = session13(0x1301, { c2s: ['complete', 'cut short'], s2c: [] });
    const last = s.c2s.at(-1)!;
    const { sink } = run({ ...s, c2s: [...s.c2s.slice(0, -1), last.subarray(0, last.length - 4)] });
    expect(text(sink, 'c2s')).toBe('complete');
    const t = sink.eventsOf('tls-error').filter((e) => e.reason === 'truncated-record');
    expect(t).toHaveLength(1);
    expect(t[0]!.message).toMatch(/ends inside a TLS record: \d+ of its \d+ bytes/);
  });

  test('an MQTT CONNECT on 8883: a finding, and the connection is decoded as plain MQTT', () => {
    const connect = Buffer.from('100c00044d5154540402003c0000', 'hex');
    const { sink } = run({ keylog: new KeyLog(), c2s: [connect], s2c: [Uint8Array.of(0x20, 2, 0, 0)], plain: { c2s: [], s2c: [] } }, { cuts: () => [3] });
    expect(hex(sink.stream(0, 'c2s'))).toBe(connect.toString('hex'));
    expect(hex(sink.stream(0, 's2c'))).toBe('20020000');
    expect(sink.eventsOf('tls')[0]!.findings!.map((f) => f.code)).toEqual(['TLS-plaintext-mqtt']);
  });

  test('encrypted records before the ServerHello (0-RTT early data): said once, the session then decrypted', () => {
    const s = session13(0x1301, { c2s: ['after'], s2c: ['x'] });
    const early = record(23, randomBytes(40));
    const sink = new CollectingSink();
    const layer = new TlsLayer(sink, { keylog: s.keylog });
    const conn = tlsConn();
    layer.open(conn);
    layer.data(conn, 'c2s', cat([s.c2s[0]!, early, early]), 1, 0, 0);
    layer.data(conn, 's2c', cat(s.s2c), 2, 0, 0);
    layer.data(conn, 'c2s', cat(s.c2s.slice(1)), 3, 0, 0);
    layer.close(conn, END);
    expect(sink.eventsOf('tls-error').map((e) => e.reason)).toEqual(['early-data']);
    expect(sink.eventsOf('tls')[0]!.tls!.version).toBe('TLS 1.3');
    expect(text(sink, 'c2s')).toBe('after');
  });

  test('a stream that is not TLS: one event, nothing passed on', () => {
    const { sink } = run({ keylog: new KeyLog(), c2s: [Buffer.from('GET / HTTP/1.1\r\n\r\n')], s2c: [], plain: { c2s: [], s2c: [] } });
    expect(sink.chunks).toEqual([]);
    expect(sink.eventsOf('tls-error').map((e) => e.reason)).toEqual(['not-tls']);
  });

  test('hostile input: random bytes and damaged sessions never throw, and every held byte is given back', () => {
    const s = session13(0x1301, MSGS);
    const base = { c2s: cat(s.c2s), s2c: cat(s.s2c) };
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.boolean(),
      (junk, flips, cuts, prefixJunk) => {
        const held = { held: 0, limit: 1 << 30 };
        const mutate = (dir: Direction, b: Uint8Array): Uint8Array => {
          const out = prefixJunk && dir === 'c2s' ? Uint8Array.from(Buffer.concat([Uint8Array.of(0x16, 3, 3), junk])) : Uint8Array.from(Buffer.concat([base[dir], junk]));
          for (const [at, v] of flips) if (out.length > 0) out[at % out.length] = v;
          void b;
          return out;
        };
        const { sink } = run(s, { mutate, held, cuts: (_d, n) => cuts.map((c) => c % (n + 1)) });
        expect(held.held).toBe(0);
        for (const e of sink.events) expect(e.message.length).toBeGreaterThan(0);
      },
    ), { numRuns: 150 });
  });

  test('records that would pass the shared budget are skipped and reported', () => {
    const s = session13(0x1301, { c2s: ['y'.repeat(9000)], s2c: [] });
    const held = { held: 0, limit: 4096 };
    const { sink } = run(s, { held, cuts: (_d, n) => Array.from({ length: Math.ceil(n / 1000) }, (_, i) => i * 1000) });
    expect(sink.eventsOf('tls-error').some((e) => e.reason === 'buffer-overflow')).toBe(true);
    expect(held.held).toBe(0);
  });
});

describe('key log', () => {
  test('labels kept, comments, unknown labels and malformed lines ignored, the source line named', () => {
    const k = new KeyLog();
    const r = 'aa'.repeat(32);
    k.add(`# comment\n\nCLIENT_RANDOM ${r} ${'11'.repeat(48)}\nEXPORTER_SECRET ${r} ${'22'.repeat(32)}\nCLIENT_RANDOM zz 11\nSERVER_TRAFFIC_SECRET_0 ${r.toUpperCase()} ${'33'.repeat(32)}\r\n`, 'f.keys');
    const e = k.get(Buffer.from(r, 'hex'))!;
    expect(Object.keys(e.secrets).sort()).toEqual(['CLIENT_RANDOM', 'SERVER_TRAFFIC_SECRET_0']);
    expect(e.source).toBe('f.keys line 3');
    expect(k.ignored).toBe(2);
  });

  test('the session cap: later sessions are not kept, one note says so', () => {
    const k = new KeyLog(3);
    let t = '';
    for (let i = 0; i < 5; i++) t += `CLIENT_RANDOM ${i.toString(16).padStart(64, '0')} ${'11'.repeat(48)}\n`;
    k.add(t, 'big.keys');
    expect(k.size).toBe(3);
    expect(k.notes).toHaveLength(1);
    expect(k.notes[0]!.message).toContain('big.keys line 4');
  });
});

describe('key derivation', () => {
  test('HKDF-Expand equals Node hkdfSync after the extract step', () => {
    for (const hash of ['sha256', 'sha384']) {
      const ikm = randomBytes(32);
      const salt = randomBytes(16);
      const info = randomBytes(20);
      const prk = createHmac(hash, salt).update(ikm).digest();
      expect(hex(hkdfExpand(hash, prk, info, 100))).toBe(hex(new Uint8Array(hkdfSync(hash, ikm, salt, info, 100))));
    }
  });
  test('the TLS 1.0 PRF is P_MD5 XOR P_SHA1 over the halves of the secret', () => {
    const secret = randomBytes(47);
    const seed = randomBytes(64);
    const a = prf12('md5', secret.subarray(0, 24), 'x', seed, 40);
    const b = prf12('sha1', secret.subarray(23), 'x', seed, 40);
    expect(hex(prf10(secret, 'x', seed, 40))).toBe(hex(a.map((v, i) => v ^ b[i]!)));
  });
});

describe('WebSocket inside TLS (wss), through the transport router', () => {
  test('TLS is decrypted, the WebSocket inside it unwrapped: the MQTT stream comes out whole, transport tls+websocket', () => {
    const connect = m.connect({ clientId: 'wss-client' });
    const connack = m.connack();
    const publish = m.publish({ topic: 'wss/t', qos: 1, packetId: 7, payload: 'over wss' });
    // The CONNECT split over two frames, the PUBLISH in a third; the server's CONNACK in one frame.
    const s = session13(0x1301, {
      c2s: [upgradeRequest(), clientFrame({ payload: connect.subarray(0, 5), fin: true }), clientFrame({ payload: connect.subarray(5) }), clientFrame({ payload: publish })],
      s2c: [upgradeResponse(), wsFrame({ payload: connack })],
    });
    const sink = new CollectingSink();
    const held = { held: 0, limit: 1 << 30 };
    const router = new StreamRouter(sink, LAYERS, { held, wsNotes: null, keylog: s.keylog });
    const conn = tlsConn();
    router.open(conn);
    let frame = 10;
    router.data(conn, 'c2s', s.c2s[0]!, frame++, 1_700_000_000, 0);
    router.data(conn, 's2c', cat(s.s2c.slice(0, 3)), frame++, 1_700_000_000, 0);
    router.data(conn, 'c2s', cat(s.c2s.slice(1, 4)), frame++, 1_700_000_000, 0);
    router.data(conn, 's2c', cat(s.s2c.slice(3)), frame++, 1_700_000_000, 0);
    router.data(conn, 'c2s', cat(s.c2s.slice(4)), frame++, 1_700_000_000, 0);
    router.close(conn, END);
    expect(conn.transport).toEqual(['tls', 'websocket']);
    expect(Buffer.from(sink.stream(0, 'c2s')).toString('hex')).toBe(Buffer.concat([connect, publish]).toString('hex'));
    expect(Buffer.from(sink.stream(0, 's2c')).toString('hex')).toBe(Buffer.from(connack).toString('hex'));
    expect(held.held).toBe(0);
  });
});

describe('TLS inside WebSocket, through the transport router', () => {
  const wsConn = (): Connection => ({ ...tlsConn(0, 8080), tls: false });

  test('a WebSocket whose binary frames carry TLS: found by the ClientHello, decrypted, MQTT whole, transport websocket+tls', () => {
    const connect = m.connect({ clientId: 'tunnel-client' });
    const publish = m.publish({ topic: 'tunnel/t', payload: 'over tls over ws' });
    const connack = m.connack();
    const s = session13(0x1301, { c2s: [connect, publish], s2c: [connack] });
    // Each TLS record in its own WebSocket frame, the client's masked; two records share one frame once.
    const c2sFrames = [clientFrame({ payload: s.c2s[0]! }), clientFrame({ payload: cat(s.c2s.slice(1, 3)) }), ...s.c2s.slice(3).map((r) => clientFrame({ payload: r }))];
    const s2cFrames = s.s2c.map((r) => wsFrame({ payload: r }));
    const sink = new CollectingSink();
    const held = { held: 0, limit: 1 << 30 };
    const router = new StreamRouter(sink, LAYERS, { held, wsNotes: null, keylog: s.keylog });
    const conn = wsConn();
    router.open(conn);
    let frame = 10;
    router.data(conn, 'c2s', upgradeRequest(), frame++, 1_700_000_000, 0);
    router.data(conn, 's2c', upgradeResponse(), frame++, 1_700_000_000, 0);
    router.data(conn, 'c2s', c2sFrames[0]!, frame++, 1_700_000_000, 0);
    router.data(conn, 's2c', cat(s2cFrames.slice(0, 3)), frame++, 1_700_000_000, 0);
    router.data(conn, 'c2s', cat(c2sFrames.slice(1)), frame++, 1_700_000_000, 0);
    router.data(conn, 's2c', cat(s2cFrames.slice(3)), frame++, 1_700_000_000, 0);
    router.close(conn, END);
    expect(conn.transport).toEqual(['websocket', 'tls']);
    expect(Buffer.from(sink.stream(0, 'c2s')).toString('hex')).toBe(Buffer.concat([connect, publish]).toString('hex'));
    expect(Buffer.from(sink.stream(0, 's2c')).toString('hex')).toBe(Buffer.from(connack).toString('hex'));
    // The WebSocket handshake, then the TLS facts (decrypted), in that order.
    expect(sink.events.map((e) => e.event).filter((e) => e === 'websocket' || e === 'tls')).toEqual(['websocket', 'tls']);
    expect(sink.events.find((e) => e.event === 'tls')?.tls?.decrypted).toBe(true);
    expect(held.held).toBe(0);
  });

  test('MQTT straight in WebSocket frames is not taken for TLS', () => {
    const connect = m.connect({ clientId: 'ws-client' });
    const sink = new CollectingSink();
    const router = new StreamRouter(sink, LAYERS, { held: { held: 0, limit: 1 << 30 }, wsNotes: null, keylog: new KeyLog() });
    const conn = wsConn();
    router.open(conn);
    router.data(conn, 'c2s', cat([upgradeRequest(), clientFrame({ payload: connect })]), 1, 1_700_000_000, 0);
    router.data(conn, 's2c', upgradeResponse(), 2, 1_700_000_000, 0);
    router.close(conn, END);
    expect(conn.transport).toEqual(['websocket']);
    expect(Buffer.from(sink.stream(0, 'c2s')).toString('hex')).toBe(Buffer.from(connect).toString('hex'));
  });
});
