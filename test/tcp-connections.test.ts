import { describe, expect, test } from 'vitest';
import { looksLikeConnect } from '../src/mqtt/connect-probe.js';
import { LINK, TcpSession, runPipeline, toRecords } from './builders/frames.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function run(frames: Uint8Array[], opts: Parameters<typeof runPipeline>[1] = {}) {
  return runPipeline(toRecords(frames, LINK.RAW), opts);
}

/** A minimal MQTT 3.1.1 CONNECT (client id "c1"). */
const CONNECT = Uint8Array.of(0x10, 14, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 2, 0x63, 0x31);
const CONNECT_31 = Uint8Array.of(0x10, 16, 0, 6, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, 3, 2, 0, 60, 0, 2, 0x63, 0x31);
const CONNACK = Uint8Array.of(0x20, 2, 0, 0);

describe('roles', () => {
  test('the SYN sender is the client', () => {
    const s = new TcpSession('10.0.0.9:1883', '10.0.0.2:40000'); // odd ports on purpose
    const { sink } = run([...s.handshake(), ...s.c2s('hi'), ...s.close()]);
    expect(sink.conns[0]).toMatchObject({ client: '10.0.0.9:1883', server: '10.0.0.2:40000', sawSyn: true, firstFrame: 1 });
  });

  test('SYN missed: the SYN+ACK sender is the server and the client stream still starts at its ISN + 1', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883');
    const hs = s.handshake();
    const data = s.c2s(enc.encode('0123456789'), 5);
    const { sink } = run([hs[1]!, data[1]!, data[0]!, s.ack('server'), ...s.close()]);
    expect(sink.conns[0]).toMatchObject({ client: '10.0.0.1:40000', server: '10.0.0.2:1883', sawSyn: true });
    expect(dec.decode(sink.stream(0, 'c2s'))).toBe('0123456789');
  });

  test('mid-stream start: the side on the MQTT port is the server', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883');
    s.handshake();
    // The first frame seen is the server's.
    const { sink } = run([...s.s2c('from server'), ...s.c2s('from client')]);
    expect(sink.conns[0]).toMatchObject({ client: '10.0.0.1:40000', server: '10.0.0.2:1883', sawSyn: false, firstFrame: 1 });
    expect(dec.decode(sink.stream(0, 's2c'))).toBe('from server');
    expect(dec.decode(sink.stream(0, 'c2s'))).toBe('from client');
  });

  test('mid-stream start with both ports MQTT ports: the higher port is the client', () => {
    const s = new TcpSession('10.0.0.1:1883', '10.0.0.2:6002');
    s.handshake();
    const { sink } = run(s.c2s('x'));
    expect(sink.conns[0]).toMatchObject({ client: '10.0.0.2:6002', server: '10.0.0.1:1883' });
  });

  test('IPv6 endpoints are bracketed', () => {
    const s = new TcpSession('[2001:db8::a]:40000', '[2001:db8::1]:1883');
    const { sink } = run([...s.handshake(), ...s.c2s('v6')]);
    expect(sink.conns[0]).toMatchObject({
      client: '[2001:db8::a]:40000',
      server: '[2001:db8::1]:1883',
      clientIp: '2001:db8::a',
      serverPort: 1883,
    });
  });
});

describe('connection lifetime', () => {
  test('40 interleaved connections, one 4-tuple reused after FIN: 41 connections numbered by first appearance, every stream exact', () => {
    const sessions = Array.from({ length: 40 }, (_, i) => new TcpSession(`10.0.${i >> 4}.${(i & 15) + 1}:${30000 + i}`, '10.9.9.9:1883', { clientIsn: 1000 * i, serverIsn: 7 * i }));
    const scripts = sessions.map((s, i) => [
      ...s.handshake(),
      ...s.c2s(`connect ${i} `.repeat(i + 1), 9),
      s.ack('server'),
      ...s.s2c(`ack ${i}`.repeat(3), 5),
      s.ack('client'),
      ...s.close(i % 2 === 0 ? 'client' : 'server'),
    ]);
    // Round-robin interleave, starting each connection one step later than the previous one, so first
    // appearance order is 0..39.
    const frames: Uint8Array[] = [];
    const cursors = scripts.map(() => 0);
    for (let round = 0; frames.length < scripts.reduce((n, x) => n + x.length, 0); round++) {
      for (let i = 0; i <= Math.min(round, 39); i++) {
        const f = scripts[i]![cursors[i]!];
        if (f) {
          frames.push(f);
          cursors[i]!++;
        }
      }
    }
    // Connection 7's 4-tuple comes back after everything closed, with a fresh ISN.
    const again = new TcpSession('10.0.0.8:30007', '10.9.9.9:1883', { clientIsn: 999_999, serverIsn: 1 });
    frames.push(...again.handshake(), ...again.c2s('second life'), ...again.s2c('ok'), ...again.close());

    const { sink } = run(frames);
    expect(sink.events).toEqual([]);
    expect(sink.conns).toHaveLength(41);
    expect(sink.conns.map((c) => c.id)).toEqual(Array.from({ length: 41 }, (_, i) => i));
    for (let i = 0; i < 40; i++) {
      expect(sink.conns[i]!.client).toBe(`10.0.${i >> 4}.${(i & 15) + 1}:${30000 + i}`);
      expect(dec.decode(sink.stream(i, 'c2s'))).toBe(`connect ${i} `.repeat(i + 1));
      expect(dec.decode(sink.stream(i, 's2c'))).toBe(`ack ${i}`.repeat(3));
    }
    expect(sink.conns[40]!.client).toBe('10.0.0.8:30007');
    expect(dec.decode(sink.stream(40, 'c2s'))).toBe('second life');
    expect(dec.decode(sink.stream(40, 's2c'))).toBe('ok');
    expect(sink.closes.map((c) => c.conn).sort((a, b) => a - b)).toEqual(Array.from({ length: 41 }, (_, i) => i));
    // Connection 7 closed before 40 opened.
    expect(sink.log.indexOf('close 7')).toBeLessThan(sink.log.indexOf('open 40'));
  });

  test('a fresh SYN with a different ISN on a live 4-tuple closes the old connection first', () => {
    const a = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', { clientIsn: 100 });
    const b = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', { clientIsn: 90_000 });
    const { sink } = run([...a.handshake(), ...a.c2s('old'), ...b.handshake(), ...b.c2s('new')]);
    expect(sink.log).toEqual(['open 0', 'data 0 c2s 3', 'close 0', 'open 1', 'data 1 c2s 3', 'close 1']);
    expect(sink.closes[0]).toEqual({ conn: 0, frame: 5 });
  });

  test('a retransmitted SYN is not a new connection', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883');
    const hs = s.handshake();
    const { sink } = run([hs[0]!, hs[0]!, hs[1]!, hs[2]!, ...s.c2s('once')]);
    expect(sink.conns).toHaveLength(1);
    expect(dec.decode(sink.stream(0, 'c2s'))).toBe('once');
  });

  test('stray segments after a close (final ACK, retransmitted FIN, data after RST) do not open connections', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883');
    const frames = [...s.handshake(), ...s.c2s('a'), ...s.close()];
    const t = new TcpSession('10.0.0.3:40000', '10.0.0.2:1883');
    const more = [...t.handshake(), t.rst('client'), ...t.s2c('in flight')];
    const { sink } = run([...frames, frames.at(-2)!, frames.at(-1)!, ...more]);
    expect(sink.conns).toHaveLength(2);
    expect(sink.closes.map((c) => c.conn)).toEqual([0, 1]);
  });

  test('a SYN after the close of the same 4-tuple starts a new connection', () => {
    const a = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', { clientIsn: 5 });
    const b = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', { clientIsn: 50_000 });
    const { sink } = run([...a.handshake(), ...a.c2s('one'), ...a.close(), ...b.handshake(), ...b.c2s('two'), b.rst('client')]);
    expect(sink.conns).toHaveLength(2);
    expect(dec.decode(sink.stream(1, 'c2s'))).toBe('two');
  });

  test('segments of connections on other ports are ignored without --auto', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:80');
    const { sink } = run([...s.handshake(), ...s.c2s('GET / HTTP/1.1\r\n\r\n'), ...s.close()]);
    expect(sink.log).toEqual([]);
  });

  test('--port adds a port', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:9999');
    const { sink } = run([...s.handshake(), ...s.c2s('x')], { ports: new Set([1883, 9999]) });
    expect(sink.conns).toHaveLength(1);
  });

  test('finish() closes the remaining connections in connection order', () => {
    const a = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883');
    const b = new TcpSession('10.0.0.3:40000', '10.0.0.2:1883');
    const ha = a.handshake();
    const hb = b.handshake();
    const { sink } = run([hb[0]!, ha[0]!, hb[1]!, ha[1]!, ...a.c2s('a'), ...b.c2s('b')]);
    expect(sink.conns.map((c) => c.client)).toEqual(['10.0.0.3:40000', '10.0.0.1:40000']);
    expect(sink.closes).toEqual([
      { conn: 0, frame: 6 },
      { conn: 1, frame: 6 },
    ]);
  });
});

describe('MQTT over TLS (8883)', () => {
  // The TCP stage only flags TLS connections; the transport stage (src/transport/tls/) reports and unwraps them.
  test('delivered like any followed connection, flagged tls: true, with no event of the TCP stage', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:8883');
    const t = new TcpSession('10.0.0.1:40001', '10.0.0.2:8883');
    const hello = Uint8Array.of(0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5);
    const frames = [...s.handshake(), ...s.c2s(hello), ...s.s2c('tls'), ...s.close(), ...t.handshake(), ...t.c2s('x')];
    const { sink } = run(frames);
    expect(sink.conns.map((c) => c.tls)).toEqual([true, true]);
    expect(sink.chunks.map((c) => [c.conn, c.dir, Buffer.from(c.bytes).toString('latin1')])).toEqual([
      [0, 'c2s', Buffer.from(hello).toString('latin1')],
      [0, 's2c', 'tls'],
      [1, 'c2s', 'x'],
    ]);
    expect(sink.events).toEqual([]);
    expect(sink.closes.map((c) => c.conn)).toEqual([0, 1]);
    expect(sink.log.indexOf('close 0')).toBeLessThan(sink.log.indexOf('open 1'));
  });
});

describe('--auto', () => {
  test('a CONNECT on port 12345 is detected; a non-MQTT stream on another port is ignored', () => {
    const m = new TcpSession('10.0.0.1:40000', '10.0.0.2:12345');
    const h = new TcpSession('10.0.0.1:40001', '10.0.0.2:8080');
    const mh = m.handshake();
    const hh = h.handshake();
    const frames = [
      hh[0]!, mh[0]!, hh[1]!, mh[1]!, hh[2]!, mh[2]!,
      ...h.c2s('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      ...m.c2s(CONNECT),
      ...h.s2c('HTTP/1.1 200 OK\r\n\r\n'),
      ...m.s2c(CONNACK),
      ...h.close(),
      ...m.close(),
    ];
    const { sink } = run(frames, { auto: true });
    expect(sink.conns).toHaveLength(1);
    expect(sink.conns[0]).toMatchObject({ id: 0, server: '10.0.0.2:12345', firstFrame: 2 });
    expect(sink.stream(0, 'c2s')).toEqual(CONNECT);
    expect(sink.stream(0, 's2c')).toEqual(CONNACK);
    expect(sink.events).toEqual([]);
    expect(sink.closes.map((c) => c.conn)).toEqual([0]);

    const off = run(frames, { auto: false });
    expect(off.sink.conns).toEqual([]);
  });

  test('a CONNECT split into 1-byte segments and reordered is still detected, and MQTT 3.1 (MQIsdp) too', () => {
    const m = new TcpSession('10.0.0.1:40000', '10.0.0.2:12345');
    const hs = m.handshake();
    const parts = m.c2s(CONNECT_31, 1);
    const { sink } = run([...hs, parts[2]!, parts[0]!, parts[1]!, ...parts.slice(3), ...m.s2c(CONNACK)], { auto: true });
    expect(sink.conns).toHaveLength(1);
    expect(sink.stream(0, 'c2s')).toEqual(CONNECT_31);
    expect(sink.stream(0, 's2c')).toEqual(CONNACK);
  });

  test('without a SYN, a CONNECT from the side guessed as the server swaps the roles', () => {
    const m = new TcpSession('10.0.0.1:20000', '10.0.0.2:30000');
    m.handshake();
    const { sink } = run([...m.c2s(CONNECT), ...m.s2c(CONNACK)], { auto: true });
    expect(sink.conns).toHaveLength(1);
    expect(sink.conns[0]).toMatchObject({ client: '10.0.0.1:20000', server: '10.0.0.2:30000', sawSyn: false });
    expect(sink.stream(0, 'c2s')).toEqual(CONNECT);
    expect(sink.stream(0, 's2c')).toEqual(CONNACK);
  });

  test('a server that talks first on an auto port is held back, then ignored when the client does not CONNECT', () => {
    const m = new TcpSession('10.0.0.1:40000', '10.0.0.2:2222');
    const frames = [...m.handshake(), ...m.s2c('SSH-2.0-OpenSSH_9.6\r\n'), ...m.c2s('SSH-2.0-client\r\n'), ...m.close()];
    const { sink } = run(frames, { auto: true });
    expect(sink.log).toEqual([]);
  });

  test('listed ports are delivered even when the stream is not MQTT', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883');
    const { sink } = run([...s.handshake(), ...s.c2s('not mqtt at all')], { auto: true });
    expect(dec.decode(sink.stream(0, 'c2s'))).toBe('not mqtt at all');
  });
});

test('looksLikeConnect', () => {
  expect(looksLikeConnect(CONNECT)).toBe('yes');
  expect(looksLikeConnect(CONNECT_31)).toBe('yes');
  expect(looksLikeConnect(CONNECT.subarray(0, 5))).toBe('more');
  expect(looksLikeConnect(new Uint8Array(0))).toBe('more');
  expect(looksLikeConnect(enc.encode('GET /'))).toBe('no');
  expect(looksLikeConnect(Uint8Array.of(0x10, 0x80, 0x80, 0x80, 0x80, 1))).toBe('no'); // 5-byte Remaining Length
  expect(looksLikeConnect(Uint8Array.of(0x10, 0xff, 0x01, 0, 4, 0x4d, 0x51, 0x54, 0x54))).toBe('yes');
  expect(looksLikeConnect(Uint8Array.of(0x10, 3, 0, 4, 0x4d, 0x51, 0x54, 0x54))).toBe('no'); // too short to be a CONNECT
  expect(looksLikeConnect(Uint8Array.of(0x10, 14, 0, 4, 0x4d, 0x51, 0x54, 0x55))).toBe('no');
  expect(looksLikeConnect(Uint8Array.of(0x12, 14, 0, 4))).toBe('no');
});

test('a retransmitted SYN on a TLS connection does not open a second one', () => {
  const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:8883');
  const hs = s.handshake();
  const { sink } = run([hs[0]!, hs[0]!, hs[1]!, hs[2]!, ...s.c2s('x'), ...s.close()]);
  expect(sink.conns).toHaveLength(1);
  expect(sink.conns[0]!.tls).toBe(true);
  expect(sink.closes).toHaveLength(1);
});

describe('how a connection ends reaches the sink with its frame, time, cause and side', () => {
  test('FIN from the server first, RST from the client, end of capture', () => {
    const fin = new TcpSession('10.0.0.1:40001', '10.0.0.2:1883');
    const rst = new TcpSession('10.0.0.1:40002', '10.0.0.2:1883');
    const open = new TcpSession('10.0.0.1:40003', '10.0.0.2:1883');
    const frames = [...fin.handshake(), ...fin.c2s(CONNECT), ...fin.close('server'), ...rst.handshake(), rst.rst('client'), ...open.handshake(), ...open.c2s(CONNECT)];
    const { sink } = run(frames);
    expect(sink.ends.map((e) => [e.cause, e.by, e.finC2s, e.finS2c])).toEqual([
      ['fin', 's2c', true, true],
      ['rst', 'c2s', false, false],
      ['capture-end', null, false, false],
    ]);
    // The FIN close happens at the client's FIN (the second one), the RST close at the RST frame.
    expect(sink.closes.map((c) => c.frame)).toEqual([6, 11, 15]);
    for (const e of sink.ends) expect(e.timeSec).toBeGreaterThan(0);
  });

  test('a new SYN on the 4-tuple ends the old connection as a reuse', () => {
    const a = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', { clientIsn: 1000 });
    const b = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', { clientIsn: 900000 });
    const { sink } = run([...a.handshake(), ...a.c2s(CONNECT), ...b.handshake(), ...b.c2s(CONNECT)]);
    expect(sink.ends.map((e) => e.cause)).toEqual(['reuse', 'capture-end']);
  });
});
