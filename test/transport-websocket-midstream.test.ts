/**
 * MQTT over WebSocket in a capture that starts after the HTTP Upgrade (src/transport/websocket.ts midStreamFrames(),
 * the router's sniff and the TCP stage's probe): frames recognised without a handshake only on client frame headers
 * checked in a row from the stream's first byte, or (a start inside a frame) from a later offset with a longer chain
 * and fresh masking keys, said with one event, decoded through the MQTT stages; anything else left alone.
 */
import { describe, expect, test } from 'vitest';
import { MAX_HEAD_BYTES } from '../src/transport/http.js';
import { firstFrameOffset, frameStartInside, midStreamFrames } from '../src/transport/websocket.js';
import { MIDFRAME_FRAMES, MIDSTREAM_FRAMES } from '../src/transport/websocket-tables.js';
import { bytes, concat, TcpSession } from './builders/frames.js';
import { ack, connack, connect, pingreq, pingresp, publish, subscribe, vbi } from './builders/mqtt-bytes.js';
import { runFrames } from './builders/run-frames.js';
import { clientFrame, deflateMessages, wsFrame } from './builders/websocket.js';

const P1 = publish({ topic: 'mid/stream', payload: 'one', qos: 1, packetId: 7 });
const P2 = publish({ topic: 'mid/stream', payload: 'two' });

/** A connection whose SYN and Upgrade are not in the capture: client frames (masked) and server frames (unmasked). */
function midStream(server: string, o: { serverFirst?: boolean; client?: Uint8Array[]; server?: Uint8Array[] } = {}): Uint8Array[] {
  const s = new TcpSession('10.0.0.1:40000', server);
  const client = o.client ?? [clientFrame({ payload: P1 }), clientFrame({ payload: pingreq() }), clientFrame({ payload: P2 })];
  const fromServer = o.server ?? [wsFrame({ payload: ack('PUBACK', { packetId: 7 }) }), wsFrame({ payload: pingresp() })];
  const c = client.flatMap((b) => s.c2s(b));
  const sv = fromServer.flatMap((b) => s.s2c(b));
  return [...(o.serverFirst === true ? [...sv, ...c] : [...c, ...sv]), ...s.close()];
}

/**
 * `stream`, repeated to MAX_HEAD_BYTES, is never taken for a client's frames at any of its first lengths, and is
 * refused once the bytes a sniff sees are in (before that a start inside a frame may still show itself: 'more').
 */
function notFrames(stream: Uint8Array): void {
  const reps = Math.ceil(MAX_HEAD_BYTES / stream.length);
  const long = concat(Array.from({ length: reps }, () => stream)).subarray(0, MAX_HEAD_BYTES);
  for (const n of [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181, 6765]) expect(midStreamFrames(long, n)).not.toBe('yes');
  expect(midStreamFrames(long, MAX_HEAD_BYTES)).toBe('no');
}

describe('recognising frames without a handshake', () => {
  test('MIDSTREAM_FRAMES client headers in a row from the first byte; one short is "more", a bad one "no"', () => {
    const three = concat([clientFrame({ payload: P1 }), clientFrame({ payload: pingreq() }), clientFrame({ payload: P2 })]);
    expect(MIDSTREAM_FRAMES).toBe(3);
    expect(midStreamFrames(three, three.length)).toBe('yes');
    const two = concat([clientFrame({ payload: P1 }), clientFrame({ payload: pingreq() })]);
    expect(midStreamFrames(two, two.length)).toBe('more');
    // Server frames (unmasked), a text frame, a frame that starts mid-payload: not a client's frame stream.
    // Server frames (unmasked), a text frame, two good headers then one that does not check out (RSV2): never taken
    // for a client's frames, whatever the bytes in hand, and 'no' once all the bytes a sniff sees are in.
    const server = concat([wsFrame({ payload: P1 }), wsFrame({ payload: P1 }), wsFrame({ payload: P1 })]);
    const text = concat([clientFrame({ opcode: 0x1, payload: P1 }), clientFrame({ payload: P1 }), clientFrame({ payload: P1 })]);
    const bad = concat([two, clientFrame({ rsv: 2, payload: P2 })]);
    for (const s of [server, text, bad]) notFrames(s);
    // Three client frames whose start is cut off and nothing after them: too few headers for a start inside a frame.
    notFrames(three.subarray(3));
    // A chain that still runs past all the bytes a sniff sees is not trusted.
    const big = concat([clientFrame({ payload: new Uint8Array(100) }), clientFrame({ payload: new Uint8Array(MAX_HEAD_BYTES) })]);
    expect(midStreamFrames(big.subarray(0, MAX_HEAD_BYTES), MAX_HEAD_BYTES)).toBe('no');
    // RSV1 on a binary frame is allowed (permessage-deflate may be on), on a continuation it is not.
    const rsv1 = concat([clientFrame({ rsv: 4, payload: P1 }), clientFrame({ payload: P1 }), clientFrame({ payload: P1 })]);
    expect(midStreamFrames(rsv1, rsv1.length)).toBe('yes');
    notFrames(concat([clientFrame({ opcode: 0, rsv: 4, payload: P1 }), clientFrame({ payload: P1 }), clientFrame({ payload: P1 })]));
  });

  test('plain MQTT starting at a packet boundary is not taken for frames (every first byte, long lengths, text in the packets)', () => {
    for (const rl of [0, 2, 5, 126, 127, 128, 200, 300, 16000, 20000]) {
      for (let type = 1; type < 16; type++) {
        for (const flags of [0, 2]) {
          const p = concat([Uint8Array.of((type << 4) | flags), vbi(rl), bytes('sensor/topic/'.repeat(Math.ceil(rl / 13)).slice(0, rl))]);
          notFrames(concat([p, p, p, p]));
        }
      }
    }
    const sub = subscribe({ packetId: 1, subscriptions: [{ topic: 'x'.repeat(200), qos: 1 }] });
    notFrames(concat([sub, sub, sub]));
  });
});

describe('through the pipeline', () => {
  test('on a WebSocket port: one event, MQTT decoded both ways, no subprotocol finding', () => {
    const r = runFrames(midStream('10.0.0.2:8080'));
    expect(r.packets.map((p) => [p.dir, p.decoded.typeName])).toEqual([['c2s', 'PUBLISH'], ['c2s', 'PINGREQ'], ['c2s', 'PUBLISH'], ['s2c', 'PUBACK'], ['s2c', 'PINGRESP']]);
    expect(r.packets[0]!.conn.transport).toEqual(['websocket']);
    const ws = r.events.filter((e) => e.event === 'websocket');
    expect(ws).toHaveLength(1);
    expect(ws[0]!.info).toMatchObject({ handshake: false, selected: null, deflate: 'unknown' });
    expect(ws[0]!.message).toMatch(/capture starts after the HTTP Upgrade.*MQTT-6\.0\.0-3\/-4 .* not judged/);
    expect(r.violations.map((v) => v.id).filter((id) => id.startsWith('MQTT-6.0.0'))).toEqual([]);
    expect(r.events.filter((e) => e.event === 'websocket-error' || e.event === 'websocket-lost')).toEqual([]);
  });

  test('the server\'s frames first in the capture: recognised by the client\'s, then both decoded', () => {
    const r = runFrames(midStream('10.0.0.2:9001', { serverFirst: true }));
    expect(r.packets.map((p) => [p.dir, p.decoded.typeName]).sort()).toEqual([['c2s', 'PINGREQ'], ['c2s', 'PUBLISH'], ['c2s', 'PUBLISH'], ['s2c', 'PINGRESP'], ['s2c', 'PUBACK']]);
    expect(r.packets.every((p) => p.conn.client === '10.0.0.1:40000')).toBe(true);
  });

  test('other ports: with --auto or --port only', () => {
    expect(runFrames(midStream('10.0.0.2:12345')).packets).toEqual([]);
    expect(runFrames(midStream('10.0.0.2:12345'), { auto: true }).packets).toHaveLength(5);
    expect(runFrames(midStream('10.0.0.2:12345'), { ports: [12345] }).packets).toHaveLength(5);
  });

  test('not invented: two frames then a bad header, or bytes that are no frames, leave the stream alone', () => {
    const badThird = midStream('10.0.0.2:8080', { client: [clientFrame({ payload: P1 }), clientFrame({ payload: pingreq() }), clientFrame({ rsv: 2, payload: P2 })] });
    const r = runFrames(badThird);
    expect(r.packets).toEqual([]);
    expect(r.events.filter((e) => e.event.startsWith('websocket'))).toEqual([]);
    const junk = runFrames(midStream('10.0.0.2:8080', { client: [bytes('\x16\x03\x01 not frames at all, not http either')] }));
    expect(junk.packets).toEqual([]);
    expect(junk.events.filter((e) => e.event.startsWith('websocket'))).toEqual([]);
  });

  test('permessage-deflate mid-stream: a message that stands alone is inflated, one that refers to the missing window is reported', () => {
    // One sender with context takeover: its first message is before the capture; the second (2 bytes) cannot refer
    // back (a match takes 3), the third repeats the first and refers to it.
    const before = publish({ topic: 'before/the/capture', payload: 'A'.repeat(40) });
    const [, second, third] = deflateMessages([before, pingreq(), before]);
    const client = [clientFrame({ rsv: 4, payload: second! }), clientFrame({ payload: pingreq() }), clientFrame({ rsv: 4, payload: third! }), clientFrame({ payload: pingreq() })];
    const r = runFrames(midStream('10.0.0.2:8080', { client }));
    expect(r.packets.filter((p) => p.dir === 'c2s').map((p) => p.decoded.typeName)).toEqual(['PINGREQ', 'PINGREQ', 'PINGREQ']);
    const inflate = r.events.filter((e) => e.event === 'websocket-inflate');
    expect(inflate.map((e) => e.reason)).toEqual(['error']);
    expect(inflate[0]!.message).toMatch(/the messages before it are not all in the capture\): zlib: invalid distance too far back: it refers back to earlier messages whose bytes this capture does not have/);
  });

  test('a handshake in the capture is still read as one (the mid-stream path is only for frames where it was due)', () => {
    const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:8080');
    const r = runFrames([...s.handshake(), ...s.c2s('GET /mqtt HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n'),
      ...s.s2c('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n'),
      ...s.c2s(clientFrame({ payload: connect({ clientId: 'h' }) })), ...s.s2c(wsFrame({ payload: connack({}) })), ...s.close()]);
    expect(r.packets.map((p) => p.decoded.typeName)).toEqual(['CONNECT', 'CONNACK']);
    expect(r.events.find((e) => e.event === 'websocket')!.info).toMatchObject({ handshake: true, accept: 'valid' });
  });
});

/** Client frames as a real client masks them: a fresh key per frame (RFC 6455 5.3). */
function keyed(i: number, payload: Uint8Array, opcode = 0x2): Uint8Array {
  return clientFrame({ opcode, payload, mask: [0x11 * (i + 1) & 0xff, 0x9d, (0x35 + 7 * i) & 0xff, 0xc4 ^ i] });
}

/** A big client frame (a PUBLISH of 600 bytes) whose first `cut` bytes are before the capture, then `after` frames. */
function cutStream(cut: number, after: number): { stream: Uint8Array; skipped: number; packets: string[] } {
  const big = keyed(99, publish({ topic: 'big/one', payload: 'Z'.repeat(600) }));
  const rest: Uint8Array[] = [];
  const packets: string[] = [];
  for (let i = 0; i < after; i++) {
    const p = i % 3 === 2 ? pingreq() : publish({ topic: `t/${i}`, payload: `v${i}`, qos: 1, packetId: 10 + i });
    packets.push(i % 3 === 2 ? 'PINGREQ' : 'PUBLISH');
    rest.push(keyed(i, p));
  }
  return { stream: concat([big.subarray(cut), ...rest]), skipped: big.length - cut, packets };
}

describe('a capture that starts inside a client frame', () => {
  test(`MIDFRAME_FRAMES (${MIDFRAME_FRAMES}) headers in a row with fresh masking keys, at any offset: the offset is where the first header is`, () => {
    for (const cut of [1, 2, 5, 8, 100, 400, 600]) {
      const { stream, skipped } = cutStream(cut, MIDFRAME_FRAMES);
      expect(midStreamFrames(stream, stream.length)).toBe('yes');
      expect(frameStartInside(stream, stream.length)).toBe(skipped);
      expect(firstFrameOffset(stream, stream.length)).toBe(skipped);
      // One header short: still 'more' (a later byte may complete the chain), never 'yes'.
      const short = cutStream(cut, MIDFRAME_FRAMES - 1).stream;
      expect(midStreamFrames(short, short.length)).toBe('more');
    }
    // The same frames all masked with one key are no client's: refused once all the bytes a sniff sees are in.
    const big = clientFrame({ payload: publish({ topic: 'big/one', payload: 'Z'.repeat(600) }) });
    const oneKey = concat([big.subarray(50), ...Array.from({ length: 40 }, (_, i) => clientFrame({ payload: publish({ topic: `t/${i}`, payload: 'x'.repeat(200) }) }))]);
    expect(oneKey.length).toBeGreaterThan(MAX_HEAD_BYTES);
    expect(midStreamFrames(oneKey, MAX_HEAD_BYTES)).toBe('no');
    // A frame stream from byte 0 is found there (offset 0), as before.
    const three = concat([keyed(0, P1), keyed(1, pingreq()), keyed(2, P2)]);
    expect(firstFrameOffset(three, three.length)).toBe(0);
  });

  test('text streams are told at once; random bytes are never taken for frames (2,000 streams of 8 KB)', () => {
    const ssh = bytes('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n' + 'x'.repeat(100));
    expect(midStreamFrames(ssh, ssh.length)).toBe('no');
    let seed = 0x2545f491;
    const rnd = (): number => {
      seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
      return seed >>> 0;
    };
    let taken = 0;
    for (let k = 0; k < 2000; k++) {
      const b = new Uint8Array(MAX_HEAD_BYTES);
      for (let i = 0; i < b.length; i += 4) {
        const r = rnd();
        b[i] = r & 0xff; b[i + 1] = (r >>> 8) & 0xff; b[i + 2] = (r >>> 16) & 0xff; b[i + 3] = r >>> 24;
      }
      if (midStreamFrames(b, b.length) !== 'no') taken++;
    }
    expect(taken).toBe(0);
  });

  test('through the pipeline: the bytes before the first header are skipped and said, the frames after it decoded', () => {
    for (const cut of [3, 333]) {
      const { stream, skipped, packets } = cutStream(cut, 8);
      const r = runFrames(midStream('10.0.0.2:8080', { client: [stream] }));
      expect(r.packets.filter((p) => p.dir === 'c2s').map((p) => p.decoded.typeName)).toEqual(packets);
      expect(r.packets.filter((p) => p.dir === 's2c').map((p) => p.decoded.typeName)).toEqual(['PUBACK', 'PINGRESP']);
      expect(r.events.filter((e) => e.event === 'websocket')).toHaveLength(1);
      const resync = r.events.filter((e) => e.event === 'resync' && e.dir === 'c2s');
      expect(resync).toHaveLength(1);
      expect(resync[0]!.bytes).toBe(skipped);
      expect(resync[0]!.message).toMatch(new RegExp(`first WebSocket frame header of the client this capture has: a binary frame header in frame \\d+, after ${skipped} bytes of a frame whose start is not in the capture`));
      expect(r.events.filter((e) => e.event === 'websocket-error' || e.event === 'websocket-lost')).toEqual([]);
    }
  });

  test('the skipped bytes may hold what looks like two frame headers: the frames start where the chain of six does', () => {
    // The tail of the cut frame is any bytes (a masked payload): here two masked frame headers, each where the other
    // ends, which a resynchronisation after a gap (two headers) would take, then bytes that are none.
    const fake = concat([Uint8Array.of(0x82, 0x81, 1, 2, 3, 4, 0x55), Uint8Array.of(0x82, 0x80, 5, 6, 7, 8), bytes('no frame here, only a payload tail')]);
    const { stream, skipped, packets } = cutStream(600, 8);
    const r = runFrames(midStream('10.0.0.2:8080', { client: [concat([fake, stream])] }));
    expect(r.packets.filter((p) => p.dir === 'c2s').map((p) => p.decoded.typeName)).toEqual(packets);
    expect(r.events.filter((e) => e.event === 'resync' && e.dir === 'c2s').map((e) => e.bytes)).toEqual([fake.length + skipped]);
  });

  test('segment by segment (the sniff waits for the chain): the same packets', () => {
    const { stream, packets } = cutStream(200, 8);
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += 97) pieces.push(stream.subarray(i, i + 97));
    const r = runFrames(midStream('10.0.0.2:8080', { client: pieces }));
    expect(r.packets.filter((p) => p.dir === 'c2s').map((p) => p.decoded.typeName)).toEqual(packets);
  });

  test('not invented: too few frames after the cut leave the stream alone', () => {
    const { stream } = cutStream(200, MIDFRAME_FRAMES - 1);
    const r = runFrames(midStream('10.0.0.2:8080', { client: [stream] }));
    expect(r.packets.filter((p) => p.dir === 'c2s')).toEqual([]);
    expect(r.events.filter((e) => e.event.startsWith('websocket'))).toEqual([]);
  });
});
