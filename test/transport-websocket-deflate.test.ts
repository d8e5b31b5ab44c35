/**
 * permessage-deflate (RFC 7692) in the WebSocket layer (src/transport/websocket.ts, src/transport/permessage-deflate.ts):
 * compressed messages made with zlib's deflateRawSync (test/builders/websocket.ts deflateMessages), with and without
 * context takeover, split over fragments and TCP chunks; the negotiated parameters honoured; inflate errors, gaps and
 * decompression bombs reported, with the MQTT stream resynchronised after them; the annotated hex saying the bytes
 * were inflated.
 */
import { Chalk } from 'chalk';
import fc from 'fast-check';
import { inflateRawSync, constants as zlibConstants } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { wsFrameLines } from '../src/render/ws-frames.js';
import type { Connection, Direction, HeldBytes } from '../src/tcp/types.js';
import { negotiatedDeflate } from '../src/transport/permessage-deflate.js';
import { UNKNOWN_LOSS_BYTES } from '../src/transport/tls/layer.js';
import { WebSocketLayer, WsFrameNotes, type InflateCaps } from '../src/transport/websocket.js';
import { bytes, CollectingSink, concat, endAt, TcpSession } from './builders/frames.js';
import { connack, connect, pingreq, pingresp, publish } from './builders/mqtt-bytes.js';
import { runFrames } from './builders/run-frames.js';
import { clientFrame, deflateAccepted, deflateMessages, upgradeRequest, upgradeResponse, wsFrame } from './builders/websocket.js';

function conn(id = 0): Connection {
  return {
    id, clientIp: '10.0.0.1', clientPort: 40000, serverIp: '10.0.0.2', serverPort: 8080, client: '10.0.0.1:40000',
    server: '10.0.0.2:8080', sawSyn: true, firstFrame: 1, startSec: 0, startNsec: 0, tls: false, tcpStream: 0,
  };
}

const OFFER = 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits';

/** A WebSocket layer over a collecting sink, with a handshake that accepted permessage-deflate with `params` (null: none). */
function layer(params: string[] | null = [], o: { notes?: WsFrameNotes; caps?: Partial<InflateCaps>; held?: HeldBytes } = {}) {
  const sink = new CollectingSink();
  const held = o.held ?? { held: 0, limit: 1 << 26 };
  const ws = new WebSocketLayer(sink, { held, ...(o.notes ? { notes: o.notes } : {}), ...(o.caps ? { caps: o.caps } : {}) });
  const c = conn();
  ws.open(c);
  let frame = 1;
  const push = (dir: Direction, b: Uint8Array): void => ws.data(c, dir, b, frame++, 0, 0);
  push('c2s', upgradeRequest({ extra: [OFFER] }));
  push('s2c', upgradeResponse({ extra: params === null ? [] : [deflateAccepted(...params)] }));
  return { sink, ws, c, held, push, gap: (dir: Direction, n: number) => ws.gap(c, dir, n, frame++), close: () => ws.close(c, endAt(frame)) };
}

const codes = (sink: CollectingSink): string[] => sink.events.flatMap((e) => (e.findings ?? []).map((f) => f.code));
const inflateEvents = (sink: CollectingSink) => sink.events.filter((e) => e.event === 'websocket-inflate');
const S = zlibConstants.Z_SYNC_FLUSH;

/** Pushes `wire` in chunks of the given sizes, cycling. */
function pushCut(push: (b: Uint8Array) => void, wire: Uint8Array, sizes: readonly number[]): void {
  let at = 0;
  for (let k = 0; at < wire.length; k++) {
    const n = sizes[k % sizes.length]!;
    push(wire.subarray(at, at + n));
    at += n;
  }
}

describe('negotiation', () => {
  test('the response\'s parameters per sender; absent means context takeover and a 15-bit window', () => {
    expect(negotiatedDeflate('permessage-deflate')).toEqual({ c2s: { noContextTakeover: false, windowBits: 15 }, s2c: { noContextTakeover: false, windowBits: 15 } });
    expect(negotiatedDeflate('x-webkit-deflate-frame, permessage-deflate; server_no_context_takeover; client_max_window_bits="10"; server_max_window_bits=12'))
      .toEqual({ c2s: { noContextTakeover: false, windowBits: 10 }, s2c: { noContextTakeover: true, windowBits: 12 } });
    expect(negotiatedDeflate('permessage-deflate; client_no_context_takeover; client_max_window_bits=99')!.c2s).toEqual({ noContextTakeover: true, windowBits: 15 });
    expect(negotiatedDeflate('x-webkit-deflate-frame')).toBeNull();
    expect(negotiatedDeflate(undefined)).toBeNull();
  });

  test('the handshake event names what was accepted', () => {
    const { sink } = layer(['server_no_context_takeover', 'client_max_window_bits=10']);
    expect(sink.events[0]!.info).toMatchObject({ deflate: 'client context takeover, 10-bit window, server no context takeover, 15-bit window' });
    expect(sink.events[0]!.message).toMatch(/permessage-deflate \(compressed messages are inflated\)/);
  });
});

describe('inflating', () => {
  test('context takeover: later messages that refer to earlier ones decode, split over fragments and 1- to 7-byte chunks', () => {
    const p1 = publish({ topic: 'sensors/room-1/temperature', payload: '{"value":21.5,"unit":"C"}' });
    const p2 = publish({ topic: 'sensors/room-1/temperature', payload: '{"value":21.6,"unit":"C"}' });
    const p3 = concat([pingreq(), publish({ topic: 'sensors/room-1/humidity', payload: '{"value":40,"unit":"%"}' })]);
    const plain = [connect({ clientId: 'deflate-1' }), p1, p2, p3];
    const compressed = deflateMessages(plain);
    // The test is only worth something if the later messages really need the window.
    expect(() => inflateRawSync(concat([compressed[2]!, Uint8Array.of(0, 0, 0xff, 0xff)]), { finishFlush: S })).toThrow(/too far back/);
    const wire = concat([
      clientFrame({ rsv: 4, payload: compressed[0]! }),
      // Fragmented: RSV1 on the first frame only, a ping between the fragments.
      clientFrame({ rsv: 4, fin: false, payload: compressed[1]!.subarray(0, 3) }),
      clientFrame({ opcode: 0x9, payload: 'p' }),
      clientFrame({ opcode: 0x0, fin: false, payload: compressed[1]!.subarray(3, 5) }),
      clientFrame({ opcode: 0x0, payload: compressed[1]!.subarray(5) }),
      clientFrame({ rsv: 4, payload: compressed[2]! }),
      clientFrame({ rsv: 4, payload: compressed[3]! }),
    ]);
    const { sink, push, close, held } = layer();
    pushCut((b) => push('c2s', b), wire, [1, 7, 2, 5, 3]);
    expect(sink.stream(0, 'c2s')).toEqual(concat(plain));
    close();
    expect(held.held).toBe(0);
    expect(codes(sink)).toEqual([]);
    expect(inflateEvents(sink)).toEqual([]);
  });

  test('uncompressed messages (RSV1 clear) between compressed ones pass as they are and are not in the window', () => {
    const a = publish({ topic: 'a/b/c', payload: 'same same same' });
    const [c1, c2] = deflateMessages([a, a]);
    const { sink, push } = layer();
    push('s2c', concat([wsFrame({ rsv: 4, payload: c1! }), wsFrame({ payload: pingresp() }), wsFrame({ rsv: 4, payload: c2! })]));
    expect(sink.stream(0, 's2c')).toEqual(concat([a, pingresp(), a]));
  });

  test('server_no_context_takeover honoured: independent messages decode; one that refers to the previous is an inflate error', () => {
    const m = [connack({}), publish({ topic: 'x/y', payload: 'hello hello' }), publish({ topic: 'x/y', payload: 'hello hello' })];
    const independent = deflateMessages(m, { takeover: false });
    const { sink, push } = layer(['server_no_context_takeover']);
    for (const c of independent) push('s2c', wsFrame({ rsv: 4, payload: c }));
    expect(sink.stream(0, 's2c')).toEqual(concat(m));
    // A server that keeps its window although it agreed not to: the third message refers back, which zlib refuses.
    const takeover = deflateMessages(m);
    const r = layer(['server_no_context_takeover']);
    for (const c of takeover) r.push('s2c', wsFrame({ rsv: 4, payload: c }));
    expect(r.sink.stream(0, 's2c')).toEqual(concat(m.slice(0, 2)));
    const ev = inflateEvents(r.sink);
    expect(ev.map((e) => [e.reason, e.dir])).toEqual([['error', 's2c']]);
    expect(ev[0]!.message).toMatch(/invalid distance too far back/);
    expect(r.sink.gaps.map((g) => g.bytes)).toEqual([UNKNOWN_LOSS_BYTES]);
  });

  test('client_max_window_bits honoured: a reference past the negotiated window is an error, one within it decodes', () => {
    // Pseudo-random bytes (a linear congruential sequence): nothing in them repeats, so only the far copy can be referred to.
    let x = 12345;
    const first = bytes(Array.from({ length: 3000 }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff));
    // The second message repeats the first one's start: 3000 bytes back, past a 10-bit (1024-byte) window.
    const m = [first, first.subarray(0, 200)];
    const far = deflateMessages(m, { windowBits: 15 });
    const { sink, push } = layer(['client_max_window_bits=10']);
    for (const c of far) push('c2s', clientFrame({ rsv: 4, payload: c }));
    expect(sink.stream(0, 'c2s')).toEqual(first);
    expect(inflateEvents(sink)[0]!.message).toMatch(/past the 10-bit window/);
    const near = deflateMessages(m, { windowBits: 10 });
    const r = layer(['client_max_window_bits=10']);
    for (const c of near) r.push('c2s', clientFrame({ rsv: 4, payload: c }));
    expect(r.sink.stream(0, 'c2s')).toEqual(concat(m));
    expect(inflateEvents(r.sink)).toEqual([]);
  });

  test('RSV1 on a control frame or a continuation frame is a finding (RFC 7692 section 6); without deflate RSV1 is one too', () => {
    const [c] = deflateMessages([pingreq()]);
    const { sink, push } = layer();
    push('c2s', clientFrame({ opcode: 0x9, rsv: 4, payload: 'x' }));
    expect(codes(sink)).toEqual(['ws-reserved-bits']);
    expect(sink.events.at(-1)!.findings![0]!.message).toMatch(/RSV1 on a ping frame: the negotiated permessage-deflate compresses data messages only.*RFC 7692 section 6/);
    const r = layer();
    r.push('c2s', concat([clientFrame({ rsv: 4, fin: false, payload: c!.subarray(0, 2) }), clientFrame({ opcode: 0x0, rsv: 4, payload: c!.subarray(2) })]));
    expect(codes(r.sink)).toEqual(['ws-reserved-bits']);
    expect(r.sink.events.find((e) => e.event === 'websocket-error')!.message).toMatch(/RSV1 on a continuation frame/);
    // The message is what its first frame said: compressed, and inflated all the same.
    expect(r.sink.stream(0, 'c2s')).toEqual(pingreq());
    const none = layer(null);
    none.push('c2s', clientFrame({ rsv: 4, payload: pingreq() }));
    expect(codes(none.sink)).toEqual(['ws-reserved-bits']);
    expect(none.sink.events.at(-1)!.message).toMatch(/with no extension negotiated that defines them/);
    // Not inflated: its bytes are passed on as they are.
    expect(none.sink.stream(0, 'c2s')).toEqual(pingreq());
  });
});

describe('what goes wrong is reported, and the stream goes on', () => {
  test('an inflate error: one event, a loss for the MQTT framer, the next messages decode (a packet after it through the pipeline)', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:8080');
    const after = publish({ topic: 'after/error', payload: 'ok' });
    const [cc, cp] = deflateMessages([connect({ clientId: 'bad-deflate' }), after], { takeover: false });
    const frames = [
      ...s.handshake(),
      ...s.c2s(upgradeRequest({ extra: [OFFER] })),
      ...s.s2c(upgradeResponse({ extra: [deflateAccepted('client_no_context_takeover')] })),
      ...s.c2s(clientFrame({ rsv: 4, payload: cc! })),
      ...s.s2c(wsFrame({ payload: connack({}) })),
      // 0x07 starts a block of the reserved type 3: invalid deflate data.
      ...s.c2s(clientFrame({ rsv: 4, payload: Uint8Array.of(0x07, 0x01, 0x02, 0x03) })),
      ...s.c2s(clientFrame({ rsv: 4, payload: cp! })),
      ...s.close(),
    ];
    const r = runFrames(frames);
    expect(r.packets.map((p) => p.decoded.typeName)).toEqual(['CONNECT', 'CONNACK', 'PUBLISH']);
    expect(r.packets[2]!.conn.transport).toEqual(['websocket']);
    const ev = r.events.filter((e) => e.event === 'websocket-inflate');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ reason: 'error', dir: 'c2s' });
    expect(ev[0]!.message).toMatch(/^a compressed \(permessage-deflate\) message of 4 bytes is not inflated: zlib: invalid block type; the MQTT stream goes on after it as after a gap$/);
  });

  test('a gap inside a compressed payload: that message is lost; with context takeover the next decodes only if it stands alone', () => {
    const p = [publish({ topic: 't/1', payload: 'abcabcabc' }), publish({ topic: 't/1', payload: 'abcabcabc' })];
    const c = deflateMessages(p);
    const alone = deflateMessages([pingreq()], { takeover: false })[0]!;
    const { sink, ws, c: cn, push } = layer();
    const f = clientFrame({ rsv: 4, payload: c[0]! });
    ws.data(cn, 'c2s', f.subarray(0, 8), 10, 0, 0);
    ws.gap(cn, 'c2s', 2, 11);
    ws.data(cn, 'c2s', f.subarray(10), 12, 0, 0);
    push('c2s', clientFrame({ rsv: 4, payload: c[1]! }));
    push('c2s', clientFrame({ rsv: 4, payload: alone }));
    expect(sink.stream(0, 'c2s')).toEqual(pingreq());
    const ev = inflateEvents(sink);
    expect(ev.map((e) => e.reason)).toEqual(['gap', 'error']);
    expect(ev[0]!.message).toMatch(/2 bytes of its compressed payload were not captured/);
    expect(ev[1]!.message).toMatch(/the messages before it are not all in the capture.*refers back to earlier messages whose bytes this capture does not have/);
    expect(sink.gaps.map((g) => g.bytes)).toEqual([UNKNOWN_LOSS_BYTES, UNKNOWN_LOSS_BYTES]);
  });

  test('a decompression bomb: the message cap is an event, memory stays bounded, the next message decodes', () => {
    const bomb = deflateMessages([new Uint8Array(8 << 20)], { takeover: false })[0]!;
    expect(bomb.length).toBeLessThan(16 * 1024);
    const { sink, push, close, held } = layer(['server_no_context_takeover'], { caps: { inflatedMessage: 1 << 20 } });
    const before = process.memoryUsage().arrayBuffers;
    push('s2c', wsFrame({ rsv: 4, payload: bomb }));
    push('s2c', wsFrame({ rsv: 4, payload: deflateMessages([pingresp()], { takeover: false })[0]! }));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 << 20);
    expect(sink.stream(0, 's2c')).toEqual(pingresp());
    const ev = inflateEvents(sink);
    expect(ev.map((e) => e.reason)).toEqual(['message-cap']);
    expect(ev[0]!.message).toMatch(/inflates to more than 1048576 bytes \(the cap\)/);
    close();
    expect(held.held).toBe(0);
  });

  test('the connection cap: once a connection\'s messages inflated to it, the direction stops with an event', () => {
    const msgs = deflateMessages(Array.from({ length: 5 }, () => new Uint8Array(1000)), { takeover: false });
    const { sink, push } = layer(['client_no_context_takeover'], { caps: { inflatedConnection: 3500 } });
    for (const m of msgs) push('c2s', clientFrame({ rsv: 4, payload: m }));
    expect(sink.stream(0, 'c2s').length).toBe(3000);
    expect(inflateEvents(sink).map((e) => e.reason)).toEqual(['connection-cap']);
    const lost = sink.events.filter((e) => e.event === 'websocket-lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]!.message).toMatch(/cap on the bytes one connection's compressed messages inflate to \(3500\)/);
  });

  test('the compressed-bytes cap: a message whose compressed payload passes it is not held, and is reported', () => {
    const { sink, push, held, close } = layer([], { caps: { compressedMessage: 100 } });
    push('c2s', clientFrame({ rsv: 4, fin: false, payload: new Uint8Array(80) }));
    expect(held.held).toBe(80);
    push('c2s', clientFrame({ opcode: 0x0, payload: new Uint8Array(80) }));
    expect(held.held).toBe(0);
    expect(inflateEvents(sink).map((e) => e.reason)).toEqual(['compressed-cap']);
    close();
    expect(held.held).toBe(0);
  });

  test('a stream that ends inside a compressed message: said, nothing held', () => {
    const { sink, push, close, held } = layer();
    push('c2s', clientFrame({ rsv: 4, fin: false, payload: deflateMessages([pingreq()])[0]! }));
    close();
    expect(held.held).toBe(0);
    expect(inflateEvents(sink).map((e) => e.reason)).toEqual(['cut']);
  });
});

describe('annotated hex', () => {
  test('the frames of a compressed message: deflate data, the message inflated to the packet\'s bytes, no wire offsets', () => {
    const notes = new WsFrameNotes();
    const p = publish({ topic: 'hex/view', payload: 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz' });
    const [c] = deflateMessages([concat([p, pingreq()])]);
    const { push } = layer([], { notes });
    push('c2s', concat([clientFrame({ rsv: 4, fin: false, payload: c!.subarray(0, 4) }), clientFrame({ opcode: 0x0, payload: c!.subarray(4) })]));
    const covering = notes.covering(0, 'c2s', 0, p.length);
    expect(covering.map((n) => [n.streamOffset, n.inflated, n.payloadLength])).toEqual([[0, p.length + 2, 4], [0, p.length + 2, c!.length - 4]]);
    // The PINGREQ after the PUBLISH is in the same inflated message, at stream offset p.length.
    expect(notes.covering(0, 'c2s', p.length, 2)).toHaveLength(2);
    const lines = wsFrameLines(covering, 0, p.length, new Chalk({ level: 0 }), '');
    expect(lines[0]).toBe('WebSocket frames carrying this packet (masked payloads were unmasked, compressed messages were inflated (permessage-deflate): the bytes above are the unmasked, inflated ones, and inflated bytes have no wire offsets):');
    expect(lines.join('\n')).toMatch(/FIN 0, RSV 100, opcode 0x2 = binary/);
    expect(lines.join('\n')).toMatch(new RegExp(`payload: 4 bytes of deflate data \\(RSV1: permessage-deflate\\); the message they belong to inflated to ${p.length + 2} bytes: the whole packet \\(and 2 bytes of other packets\\)`));
  });
});

describe('hostile input', () => {
  test('fuzz: compressed messages cut anywhere give the plain stream; random RSV1 payloads never throw, hold nothing at the end, invent nothing', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ data: fc.uint8Array({ maxLength: 400 }), fragments: fc.integer({ min: 1, max: 3 }), plain: fc.boolean() }), { maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
      fc.boolean(),
      (specs, cuts, takeover) => {
        const compressed = deflateMessages(specs.filter((x) => !x.plain).map((x) => x.data), { takeover });
        let k = 0;
        const wire: Uint8Array[] = [];
        for (const x of specs) {
          const payload = x.plain ? x.data : compressed[k++]!;
          const n = Math.min(x.fragments, Math.max(1, payload.length));
          for (let i = 0; i < n; i++) {
            const part = payload.subarray(Math.floor((i * payload.length) / n), Math.floor(((i + 1) * payload.length) / n));
            wire.push(clientFrame({ rsv: i === 0 && !x.plain ? 4 : 0, opcode: i === 0 ? 0x2 : 0x0, fin: i === n - 1, payload: part }));
          }
        }
        const { sink, push, close, held } = layer(takeover ? [] : ['client_no_context_takeover']);
        pushCut((b) => push('c2s', b), concat(wire), cuts);
        close();
        expect(sink.stream(0, 'c2s')).toEqual(concat(specs.map((x) => x.data)));
        expect(inflateEvents(sink)).toEqual([]);
        expect(held.held).toBe(0);
      },
    ), { numRuns: 150, seed: 7692 });

    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 5 }), (payloads, cuts) => {
      const { sink, push, close, held } = layer([], { caps: { inflatedMessage: 4096 } });
      pushCut((b) => push('s2c', b), concat(payloads.map((p) => wsFrame({ rsv: 4, payload: p }))), cuts);
      close();
      expect(held.held).toBe(0);
      // Every message is either inflated or one event (and a loss of unknown size for the framer).
      const lost = inflateEvents(sink).length;
      expect(lost).toBeLessThanOrEqual(payloads.length);
      expect(sink.gaps.length).toBe(lost);
      expect(sink.stream(0, 's2c').length).toBeLessThanOrEqual(4096 * payloads.length);
    }), { numRuns: 300, seed: 1951 });
  });
});
