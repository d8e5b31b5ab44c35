/**
 * MQTT over WebSocket in a capture that starts after the HTTP Upgrade (src/transport/websocket.ts midStreamFrames(),
 * the router's sniff and the TCP stage's probe): frames recognised without a handshake only on client frame headers
 * checked in a row from the stream's first byte, said with one event, decoded through the MQTT stages; anything else
 * left alone.
 */
import { describe, expect, test } from 'vitest';
import { MAX_HEAD_BYTES } from '../src/transport/http.js';
import { midStreamFrames } from '../src/transport/websocket.js';
import { MIDSTREAM_FRAMES } from '../src/transport/websocket-tables.js';
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

describe('recognising frames without a handshake', () => {
  test('MIDSTREAM_FRAMES client headers in a row from the first byte; one short is "more", a bad one "no"', () => {
    const three = concat([clientFrame({ payload: P1 }), clientFrame({ payload: pingreq() }), clientFrame({ payload: P2 })]);
    expect(MIDSTREAM_FRAMES).toBe(3);
    expect(midStreamFrames(three, three.length)).toBe('yes');
    const two = concat([clientFrame({ payload: P1 }), clientFrame({ payload: pingreq() })]);
    expect(midStreamFrames(two, two.length)).toBe('more');
    // Server frames (unmasked), a text frame, a frame that starts mid-payload: not a client's frame stream.
    const server = concat([wsFrame({ payload: P1 }), wsFrame({ payload: P1 }), wsFrame({ payload: P1 })]);
    expect(midStreamFrames(server, server.length)).toBe('no');
    const text = concat([clientFrame({ opcode: 0x1, payload: P1 }), clientFrame({ payload: P1 }), clientFrame({ payload: P1 })]);
    expect(midStreamFrames(text, text.length)).toBe('no');
    expect(midStreamFrames(three.subarray(3), three.length - 3)).toBe('no');
    // Two good headers, then one that does not check out (RSV2).
    const bad = concat([two, clientFrame({ rsv: 2, payload: P2 })]);
    expect(midStreamFrames(bad, bad.length)).toBe('no');
    // A chain that still runs past all the bytes a sniff sees is not trusted.
    const big = concat([clientFrame({ payload: new Uint8Array(100) }), clientFrame({ payload: new Uint8Array(MAX_HEAD_BYTES) })]);
    expect(midStreamFrames(big.subarray(0, MAX_HEAD_BYTES), MAX_HEAD_BYTES)).toBe('no');
    // RSV1 on a binary frame is allowed (permessage-deflate may be on), on a continuation it is not.
    const rsv1 = concat([clientFrame({ rsv: 4, payload: P1 }), clientFrame({ payload: P1 }), clientFrame({ payload: P1 })]);
    expect(midStreamFrames(rsv1, rsv1.length)).toBe('yes');
    const rsv1c = concat([clientFrame({ opcode: 0, rsv: 4, payload: P1 }), clientFrame({ payload: P1 }), clientFrame({ payload: P1 })]);
    expect(midStreamFrames(rsv1c, rsv1c.length)).toBe('no');
  });

  test('plain MQTT starting at a packet boundary is not taken for frames (every first byte, long lengths, text in the packets)', () => {
    for (const rl of [0, 2, 5, 126, 127, 128, 200, 300, 16000, 20000]) {
      for (let type = 1; type < 16; type++) {
        for (const flags of [0, 2]) {
          const p = concat([Uint8Array.of((type << 4) | flags), vbi(rl), bytes('sensor/topic/'.repeat(Math.ceil(rl / 13)).slice(0, rl))]);
          const stream = concat([p, p, p, p]);
          expect(midStreamFrames(stream, Math.min(stream.length, MAX_HEAD_BYTES))).toBe('no');
        }
      }
    }
    const sub = subscribe({ packetId: 1, subscriptions: [{ topic: 'x'.repeat(200), qos: 1 }] });
    const s3 = concat([sub, sub, sub]);
    expect(midStreamFrames(s3, s3.length)).toBe('no');
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
