/**
 * The WebSocket layer (src/transport/websocket.ts) and the router (src/transport/router.ts): handshake, frames,
 * unmasking, fragmentation, control frames, gaps and hostile input, on the layer alone and through the pipeline.
 */
import fc from 'fast-check';
import { KeyLog } from '../src/transport/tls/keylog.js';
import { describe, expect, test } from 'vitest';
import type { Connection, Direction, HeldBytes } from '../src/tcp/types.js';
import { LAYERS, StreamRouter } from '../src/transport/router.js';
import { UNKNOWN_LOSS_BYTES } from '../src/transport/tls/layer.js';
import { WebSocketLayer, WsFrameNotes } from '../src/transport/websocket.js';
import { bytes, CollectingSink, concat, endAt, TcpSession } from './builders/frames.js';
import { connack, connect, pingreq, pingresp, publish } from './builders/mqtt-bytes.js';
import { runFrames } from './builders/run-frames.js';
import { clientFrame, upgradeRequest, upgradeResponse, wsFrame, type WsFrameSpec } from './builders/websocket.js';

function conn(id = 0): Connection {
  return {
    id, clientIp: '10.0.0.1', clientPort: 40000, serverIp: '10.0.0.2', serverPort: 8080, client: '10.0.0.1:40000',
    server: '10.0.0.2:8080', sawSyn: true, firstFrame: 1, startSec: 0, startNsec: 0, tls: false, tcpStream: 0,
  };
}

/** A WebSocket layer over a collecting sink, with the handshake done. */
function layer(o: { held?: HeldBytes; notes?: WsFrameNotes; handshake?: boolean } = {}) {
  const sink = new CollectingSink();
  const held = o.held ?? { held: 0, limit: 1 << 24 };
  const ws = new WebSocketLayer(sink, { held, ...(o.notes ? { notes: o.notes } : {}) });
  const c = conn();
  ws.open(c);
  let frame = 1;
  const push = (dir: Direction, b: Uint8Array): void => ws.data(c, dir, b, frame++, 0, 0);
  if (o.handshake !== false) {
    push('c2s', upgradeRequest());
    push('s2c', upgradeResponse());
  }
  return { sink, ws, c, held, push, gap: (dir: Direction, n: number) => ws.gap(c, dir, n, frame++), close: () => ws.close(c, endAt(frame)) };
}

const codes = (sink: CollectingSink): string[] => sink.events.flatMap((e) => (e.findings ?? []).map((f) => f.code));

describe('WebSocket layer', () => {
  test('the handshake is one event with path, Host, subprotocols offered and selected, status', () => {
    const { sink, c } = layer();
    expect(c.transport).toEqual(['websocket']);
    expect(sink.events).toHaveLength(1);
    const ev = sink.events[0]!;
    expect(ev.event).toBe('websocket');
    expect(ev.info).toEqual({ handshake: true, path: '/mqtt', host: 'broker.example:8080', offered: ['mqtt'], status: 101, reason: 'Switching Protocols', selected: 'mqtt', accept: 'valid', extensions: [], deflate: null });
    expect(ev.findings).toBeUndefined();
  });

  test('a packet spread over frames and several packets in one frame give the MQTT stream, unmasked', () => {
    const { sink, push, held, close } = layer();
    const c1 = connect({ clientId: 'a' });
    const stream = concat([c1, pingreq(), publish({ topic: 't', payload: 'x'.repeat(300) }), pingreq()]);
    // 1 byte, 3 bytes, the rest of the CONNECT and a PINGREQ in one frame, then the PUBLISH (16-bit length) and a PINGREQ.
    const cut = [0, 1, 4, c1.length + 2, stream.length];
    for (let i = 0; i + 1 < cut.length; i++) push('c2s', clientFrame({ payload: stream.subarray(cut[i], cut[i + 1]) }));
    expect(sink.stream(0, 'c2s')).toEqual(stream);
    close();
    expect(held.held).toBe(0);
    expect(codes(sink)).toEqual([]);
  });

  test('7-, 16- and 64-bit lengths; a frame split over many chunks keeps the masking key in phase', () => {
    const { sink, push } = layer();
    const big = bytes(new Uint8Array(70_000).map((_, i) => i & 0xff));
    const f = clientFrame({ payload: big });
    expect(f[1]! & 0x7f).toBe(127);
    for (let at = 0; at < f.length; at += 997) push('c2s', f.subarray(at, at + 997));
    push('s2c', wsFrame({ payload: new Uint8Array(200).fill(7) }));
    expect(Buffer.compare(sink.stream(0, 'c2s'), big)).toBe(0);
    expect(sink.stream(0, 's2c')).toEqual(new Uint8Array(200).fill(7));
  });

  test('continuation frames with control frames between them; close code and reason', () => {
    const { sink, push } = layer();
    const p = publish({ topic: 'frag', payload: 'y'.repeat(20) });
    push('c2s', concat([
      clientFrame({ fin: false, payload: p.subarray(0, 5) }),
      clientFrame({ opcode: 0x9, payload: 'ping!' }),
      clientFrame({ opcode: 0x0, fin: false, payload: p.subarray(5, 9) }),
      clientFrame({ opcode: 0xa }),
      clientFrame({ opcode: 0x0, payload: p.subarray(9) }),
      clientFrame({ opcode: 0x8, payload: concat([Uint8Array.of(0x03, 0xe9), bytes('going away')]) }),
    ]));
    expect(sink.stream(0, 'c2s')).toEqual(p);
    const control = sink.events.filter((e) => e.event === 'websocket-control');
    expect(control.map((e) => e.info?.opcode)).toEqual(['ping', 'pong', 'close']);
    expect(control[0]!.message).toMatch(/between the frames of a fragmented message/);
    expect(control[2]!.info).toMatchObject({ code: 1001, codeName: 'going away', reason: 'going away' });
    expect(codes(sink)).toEqual([]);
  });

  test('each RFC 6455 defect is reported once per direction, with its code', () => {
    const { sink, push } = layer();
    for (let i = 0; i < 3; i++) push('c2s', wsFrame({ payload: pingreq() }));
    push('s2c', clientFrame({ payload: pingresp() }));
    push('c2s', clientFrame({ opcode: 0x1, payload: pingreq() }));
    push('c2s', clientFrame({ opcode: 0x9, payload: new Uint8Array(130) }));
    push('c2s', clientFrame({ opcode: 0x8, payload: Uint8Array.of(0x03, 0xee) }));
    push('c2s', clientFrame({ payload: pingreq() }));
    expect(codes(sink)).toEqual(['ws-client-unmasked', 'ws-server-masked', 'ws-not-binary', 'ws-control-too-long', 'ws-bad-close-code', 'ws-data-after-close']);
    // All PINGREQs and the PINGRESP still reach MQTT: the defects are reported, the bytes decoded.
    expect(sink.stream(0, 'c2s')).toEqual(concat([pingreq(), pingreq(), pingreq(), pingreq(), pingreq()]));
    expect(sink.stream(0, 's2c')).toEqual(pingresp());
  });

  test('a gap inside a payload is passed on as a gap and the bytes after it unmask right', () => {
    const { sink, ws, c, gap } = layer();
    const p = publish({ topic: 'g', payload: bytes(new Uint8Array(100).map((_, i) => i)) });
    const f = clientFrame({ payload: concat([p, pingreq()]) });
    ws.data(c, 'c2s', f.subarray(0, 40), 10, 0, 0);
    gap('c2s', 30);
    ws.data(c, 'c2s', f.subarray(70), 12, 0, 0);
    const headerLength = 6;
    const expected = concat([p, pingreq()]);
    const got = sink.streamWithGaps(0, 'c2s', 0);
    expect(got.length).toBe(expected.length);
    expect(got.subarray(0, 40 - headerLength)).toEqual(expected.subarray(0, 40 - headerLength));
    expect(got.subarray(70 - headerLength)).toEqual(expected.subarray(70 - headerLength));
    expect(sink.gaps).toEqual([{ conn: 0, dir: 'c2s', bytes: 30, frame: expect.any(Number) }]);
  });

  test('a gap over a frame header: the MQTT framer is told of an unknown loss, payload bytes after it are not taken for frames', () => {
    const { sink, push, gap } = layer();
    push('c2s', clientFrame({ payload: pingreq() }));
    gap('c2s', 8);
    // The rest of a lost frame: payload bytes only, one of them 0x82 (a binary FIN header byte) with no mask bit after it.
    push('c2s', bytes([0x41, 0x82, 0x05, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80]));
    push('s2c', wsFrame({ payload: pingresp() }));
    expect(sink.stream(0, 'c2s')).toEqual(pingreq());
    expect(sink.stream(0, 's2c')).toEqual(pingresp());
    expect(sink.gaps.map((g) => [g.dir, g.bytes])).toEqual([['c2s', UNKNOWN_LOSS_BYTES]]);
    const lost = sink.events.filter((e) => e.event === 'websocket-lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]!.dir).toBe('c2s');
    expect(lost[0]!.message).toMatch(/frame header/);
    expect(sink.events.filter((e) => e.event === 'resync')).toEqual([]);
  });

  test('after a gap over a header: frames found again at a header that fits the direction and ends where the next begins', () => {
    const { sink, push, gap } = layer();
    push('c2s', clientFrame({ payload: pingreq() }));
    gap('c2s', 20);
    const p = publish({ topic: 'after/gap', payload: 'back in step' });
    // 7 payload bytes of the frame the gap cut (one looks like a masked binary header whose length runs past the chunk),
    // then two whole frames: the first is trusted because its end is the second's header.
    const tail = bytes([0x00, 0x82, 0xfe, 0x01, 0x02, 0x03, 0x04]);
    push('c2s', concat([tail, clientFrame({ payload: p }), clientFrame({ payload: pingreq() })]));
    expect(sink.stream(0, 'c2s')).toEqual(concat([pingreq(), p, pingreq()]));
    const resync = sink.events.filter((e) => e.event === 'resync');
    expect(resync).toHaveLength(1);
    expect(resync[0]!.dir).toBe('c2s');
    // The gap's 20 bytes and the 7 skipped.
    expect(resync[0]!.bytes).toBe(27);
    expect(resync[0]!.message).toMatch(/binary frame header/);
    // A continuation frame right after the resynchronisation is no finding: the message in progress is unknown.
    gap('c2s', 3);
    push('c2s', clientFrame({ opcode: 0x0, payload: pingreq() }));
    expect(sink.stream(0, 'c2s')).toEqual(concat([pingreq(), p, pingreq(), pingreq()]));
    expect(codes(sink)).toEqual([]);
  });

  test('resynchronisation is direction-aware: a masked header in the server stream or an unmasked one in the client stream is refused', () => {
    const { sink, push, gap } = layer();
    gap('s2c', 5);
    gap('c2s', 5);
    // Each frame is whole and alone in its chunk, but masked the wrong way for its direction.
    push('s2c', clientFrame({ payload: pingresp() }));
    push('c2s', wsFrame({ payload: pingreq() }));
    expect(sink.stream(0, 's2c')).toEqual(new Uint8Array(0));
    expect(sink.stream(0, 'c2s')).toEqual(new Uint8Array(0));
    // The right ones, each ending exactly at the end of its chunk, are taken.
    push('s2c', wsFrame({ payload: pingresp() }));
    push('c2s', clientFrame({ payload: pingreq() }));
    expect(sink.stream(0, 's2c')).toEqual(pingresp());
    expect(sink.stream(0, 'c2s')).toEqual(pingreq());
    expect(sink.events.filter((e) => e.event === 'resync').map((e) => e.dir)).toEqual(['s2c', 'c2s']);
  });
});

describe('hostile input: no allocation by a length field, bounded holding, one event each', () => {
  test('a 64-bit length near 2^63 that never ends', () => {
    const { sink, push, close, held } = layer();
    push('c2s', clientFrame({ payload: pingreq(), form: 64, declared: (1n << 63n) - 1n }));
    push('c2s', new Uint8Array(1000));
    close();
    expect(held.held).toBe(0);
    const lost = sink.events.filter((e) => e.event === 'websocket-lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]!.message).toMatch(/stream ended .* before the end of a binary frame/);
  });

  test('a 64-bit length with its top bit set', () => {
    const { sink, push } = layer();
    push('c2s', clientFrame({ payload: pingreq(), form: 64, declared: (1n << 64n) - 1n }));
    push('c2s', clientFrame({ payload: pingreq() }));
    expect(codes(sink)).toEqual(['ws-length-msb']);
    expect(sink.events.filter((e) => e.event === 'websocket-lost')).toHaveLength(1);
    expect(sink.stream(0, 'c2s')).toEqual(new Uint8Array(0));
  });

  test('a request head that never ends is held only up to its limit', () => {
    const held = { held: 0, limit: 1 << 24 };
    const { sink, push, close } = layer({ held, handshake: false });
    push('c2s', bytes('GET /mqtt HTTP/1.1\r\nUpgrade: websocket\r\n'));
    for (let i = 0; i < 100; i++) push('c2s', bytes(`X-Filler-${i}: ${'z'.repeat(200)}\r\n`));
    expect(held.held).toBe(0);
    close();
    const lost = sink.events.filter((e) => e.event === 'websocket-lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]!.message).toMatch(/no end of the Upgrade request head in its first 8192 bytes/);
  });

  test('an upgrade never answered', () => {
    const { sink, push, close, held } = layer({ handshake: false });
    push('c2s', upgradeRequest());
    close();
    expect(held.held).toBe(0);
    expect(sink.events.map((e) => [e.event, e.dir])).toEqual([['websocket-lost', 's2c']]);
    expect(sink.events[0]!.message).toMatch(/never answered/);
  });

  test('a refused upgrade: the rest is HTTP, not decoded', () => {
    const { sink, push } = layer({ handshake: false });
    push('c2s', upgradeRequest());
    push('s2c', concat([upgradeResponse({ status: '403 Forbidden' }), bytes('<html>no</html>')]));
    push('c2s', bytes('GET /again HTTP/1.1\r\n\r\n'));
    expect(sink.events.map((e) => e.event)).toEqual(['websocket', 'websocket-lost', 'websocket-lost']);
    expect(sink.chunks).toEqual([]);
  });

  test('fuzz: valid frames cut anywhere give the same stream; garbage never throws, invents nothing, holds nothing at the end', () => {
    const frameArb = fc.record({
      data: fc.uint8Array({ minLength: 0, maxLength: 300 }),
      form: fc.constantFrom<7 | 16 | 64 | undefined>(undefined, undefined, 16, 64),
      ping: fc.boolean(),
      fragments: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (specs, cuts) => {
      const wire: Uint8Array[] = [];
      const stream: Uint8Array[] = [];
      for (const s of specs) {
        const parts = s.fragments === 1 || s.data.length < s.fragments ? [s.data] : [s.data.subarray(0, 1), s.data.subarray(1)];
        parts.forEach((part, i) => {
          const spec: WsFrameSpec = { payload: part, opcode: i === 0 ? 0x2 : 0x0, fin: i === parts.length - 1, ...(s.form !== undefined && (s.form !== 16 || part.length < 65536) ? { form: s.form } : {}) };
          wire.push(clientFrame(spec));
          if (s.ping && i === 0) wire.push(clientFrame({ opcode: 0x9, payload: 'p' }));
        });
        stream.push(s.data);
      }
      const all = concat(wire);
      const { sink, push, close, held } = layer();
      let at = 0;
      let k = 0;
      while (at < all.length) {
        const n = cuts[k++ % cuts.length]!;
        push('c2s', all.subarray(at, at + n));
        at += n;
      }
      close();
      expect(sink.stream(0, 'c2s')).toEqual(concat(stream));
      expect(codes(sink).filter((c) => c !== 'ws-length-not-minimal')).toEqual([]);
      expect(held.held).toBe(0);
    }), { numRuns: 200, seed: 6455 });

    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }), fc.integer({ min: 0, max: 50 }), (garbage, cuts, gapAt) => {
      const { sink, push, gap, close, held } = layer();
      let at = 0;
      let k = 0;
      while (at < garbage.length) {
        if (k === gapAt) gap('s2c', 17);
        const n = cuts[k++ % cuts.length]!;
        push('s2c', garbage.subarray(at, at + n));
        at += n;
      }
      close();
      // A loss of unknown size (a gap over a header) is not counted: it says nothing of how many bytes were passed.
      const passed = sink.stream(0, 's2c').length + sink.gaps.filter((g) => g.bytes !== UNKNOWN_LOSS_BYTES).reduce((n, g) => n + g.bytes, 0);
      expect(passed).toBeLessThanOrEqual(garbage.length + 17);
      expect(held.held).toBe(0);
      // Findings at most once per code; one 'websocket-lost' for the gap at most and one for a stop after it; no
      // control frame is reported after a loss unless the frames were found again.
      expect(new Set(codes(sink)).size).toBe(codes(sink).length);
      expect(sink.events.filter((e) => e.event === 'websocket-lost').length).toBeLessThanOrEqual(2);
      const lost = sink.events.map((e) => e.event).lastIndexOf('websocket-lost');
      const after = sink.events.slice(lost + 1);
      if (lost >= 0 && !after.some((e) => e.event === 'resync')) expect(after.filter((e) => e.event === 'websocket-control')).toEqual([]);
    }), { numRuns: 300, seed: 13 });
  });
});

describe('router and ports', () => {
  function wsSession(server: string, extra: Uint8Array[] = []): Uint8Array[] {
    const s = new TcpSession('10.0.0.1:40000', server);
    return [
      ...s.handshake(), ...s.c2s(upgradeRequest()), ...s.s2c(upgradeResponse()),
      ...s.c2s(clientFrame({ payload: connect({ clientId: 'r' }) })), ...s.s2c(wsFrame({ payload: connack({}) })), ...extra.flatMap((b) => s.c2s(b)), ...s.close(),
    ];
  }

  test.each([80, 8080, 8083, 8000, 9001])('port %i is probed for an Upgrade by default', (port) => {
    const r = runFrames(wsSession(`10.0.0.2:${port}`));
    expect(r.packets.map((p) => p.decoded.typeName)).toEqual(['CONNECT', 'CONNACK']);
    expect(r.packets[0]!.conn.transport).toEqual(['websocket']);
  });

  test('other ports: only with --port N or --auto', () => {
    expect(runFrames(wsSession('10.0.0.2:12345')).packets).toEqual([]);
    expect(runFrames(wsSession('10.0.0.2:12345'), { ports: [12345] }).packets).toHaveLength(2);
    expect(runFrames(wsSession('10.0.0.2:12345'), { auto: true }).packets).toHaveLength(2);
  });

  test('HTTP that is no upgrade on a WebSocket port: one event, no connection', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:80');
    const r = runFrames([...s.handshake(), ...s.c2s('GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n'), ...s.s2c('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'), ...s.close()]);
    expect(r.events.map((e) => [e.event, e.conn])).toEqual([['http', null]]);
    expect(r.events[0]!.message).toMatch(/10\.0\.0\.1:40000 -> 10\.0\.0\.2:80: HTTP \("GET \/index\.html HTTP\/1\.1"\) that is no WebSocket upgrade; not decoded/);
    expect(r.closes).toEqual([]);
  });

  test('plain MQTT goes straight through: same records as without the router, connection without transport', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883');
    const r = runFrames([...s.handshake(), ...s.c2s(connect({})), ...s.s2c(connack({})), ...s.close()]);
    expect(r.packets).toHaveLength(2);
    expect(r.packets[0]!.conn.transport).toBeUndefined();
  });

  test('a connection is opened downstream exactly once, before anything else about it', () => {
    const sink = new CollectingSink();
    const held = { held: 0, limit: 1 << 20 };
    const router = new StreamRouter(sink, LAYERS, { held, wsNotes: null, keylog: new KeyLog() });
    const c = conn();
    router.open(c);
    expect(sink.log).toEqual([]);
    router.data(c, 'c2s', upgradeRequest().subarray(0, 10), 1, 0, 0);
    // The chunk held for replay and the joined first bytes the sniff keeps: both counted.
    expect(held.held).toBe(20);
    router.data(c, 'c2s', upgradeRequest().subarray(10), 2, 0, 0);
    router.data(c, 's2c', upgradeResponse(), 3, 0, 0);
    router.data(c, 'c2s', clientFrame({ payload: pingreq() }), 4, 0, 0);
    router.close(c, endAt(5));
    expect(sink.log).toEqual(['open 0', 'data 0 c2s 2', 'close 0']);
    expect(held.held).toBe(0);
  });
});
