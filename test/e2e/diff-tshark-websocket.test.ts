/**
 * MQTT over WebSocket against tshark. tshark 4.0 cuts the frames and unmasks them itself but does not hand binary
 * payloads to its MQTT dissector (MQTT has no ws.protocol entry there), so scripts/ws-unwrap.mjs joins the payloads
 * tshark unmasked into each direction's stream, written as a plain TCP capture dated by the original frame numbers,
 * and tshark's MQTT dissector decodes that. Both halves are tshark's own: its WebSocket framing and unmasking, its
 * MQTT decoding. Compared PDU by PDU with our decoding of the original capture (same fields as diff-tshark.test.ts).
 *
 * Captures: the real one (mosquitto's websockets listener, MQTT.js), and one built here with what MQTT.js does not
 * send: packets cut across frames at every boundary, several packets in one frame, 16- and 64-bit lengths,
 * continuation frames with a ping and a pong between them, a close frame with a code and a reason. And the real wss
 * capture (the same scenario inside TLS on 8084): tshark decrypts it with the shipped key log (-o tls.keylog_file:,
 * -d tcp.port==8084,tls, -d tls.port==8084,http) before unmasking, we with --tls-keylog.
 *
 * permessage-deflate: tshark inflates compressed messages itself (websocket.decompress, on by default) and ws-unwrap
 * takes what it inflated. The real capture real-ws-8083.pcap (MQTT.js and the `ws` library, context takeover, a
 * 10-bit client window; only its WebSocket connections, not the bridge's relayed ones on 1883), and one built here
 * with zlib: compressed messages split over 20-byte TCP segments, an uncompressed message between compressed ones,
 * a 70 kB PUBLISH (compressed messages split over WebSocket fragments tshark does not inflate: see
 * test/e2e/cli-websocket-deflate.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePcap } from '../builders/capture-writer.js';
import { ROOT, tempFile } from '../builders/cli.js';
import { bytes, concat, ethernet, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';
import { comparePdus, oursDecode, tsharkAvailable, tsharkDecode } from '../builders/tshark.js';
import { clientFrame, deflateAccepted, deflateMessages, upgradeRequest, upgradeResponse, wsFrame } from '../builders/websocket.js';

function built(): Uint8Array {
  const s = new TcpSession('10.2.0.2:41000', '10.2.0.1:8080');
  const conn = m.connect({ level: 5, clientId: 'ws-built', keepAlive: 30 });
  const pubs = Array.from({ length: 6 }, (_, i) => m.publish({ level: 5, topic: `ws/built/${i}`, payload: 'p'.repeat(10 + 40 * i), qos: (i % 3) as 0 | 1 | 2, ...(i % 3 > 0 ? { packetId: i + 1 } : {}) }));
  const big = m.publish({ level: 5, topic: 'ws/big', payload: bytes(new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff)), qos: 1, packetId: 50 });
  const stream = concat(pubs);
  const frames = [
    ...s.handshake(),
    ...s.c2s(upgradeRequest({ host: '10.2.0.1:8080', path: '/ws' })),
    ...s.s2c(upgradeResponse()),
    // The CONNECT cut after every byte of its fixed header, each piece its own frame.
    ...s.c2s(concat([clientFrame({ payload: conn.subarray(0, 1) }), clientFrame({ payload: conn.subarray(1, 2) }), clientFrame({ payload: conn.subarray(2) })])),
    ...s.s2c(wsFrame({ payload: m.connack({ level: 5 }) })),
    // Six PUBLISHes in one fragmented message (16-bit length in its first fragment), a ping and a pong between fragments.
    ...s.c2s(concat([
      clientFrame({ fin: false, payload: stream.subarray(0, 200) }),
      clientFrame({ opcode: 0x9, payload: 'keep' }),
      clientFrame({ opcode: 0x0, fin: false, payload: stream.subarray(200, 201) }),
      clientFrame({ opcode: 0xa, payload: '' }),
      clientFrame({ opcode: 0x0, payload: stream.subarray(201) }),
    ])),
    ...s.s2c(concat([wsFrame({ payload: m.ack('PUBACK', { level: 5, packetId: 2 }) }), wsFrame({ payload: m.ack('PUBREC', { level: 5, packetId: 3 }) })])),
    ...s.c2s(clientFrame({ payload: m.ack('PUBREL', { level: 5, packetId: 3 }) })),
    ...s.s2c(wsFrame({ payload: concat([m.ack('PUBCOMP', { level: 5, packetId: 3 }), m.ack('PUBACK', { level: 5, packetId: 5 })]) })),
    ...s.s2c(wsFrame({ payload: m.ack('PUBREC', { level: 5, packetId: 6 }) })),
    ...s.c2s(clientFrame({ payload: m.ack('PUBREL', { level: 5, packetId: 6 }) })),
    ...s.s2c(wsFrame({ payload: m.ack('PUBCOMP', { level: 5, packetId: 6 }) })),
    // A 70 kB PUBLISH in one frame with a 64-bit length, over many TCP segments.
    ...s.c2s(clientFrame({ payload: big })),
    ...s.s2c(wsFrame({ payload: m.ack('PUBACK', { level: 5, packetId: 50 }) })),
    ...s.c2s(clientFrame({ payload: m.disconnect({ level: 5 }) })),
    ...s.c2s(clientFrame({ opcode: 0x8, payload: concat([Uint8Array.of(0x03, 0xe8), bytes('bye')]) })),
    ...s.s2c(wsFrame({ opcode: 0x8, payload: Uint8Array.of(0x03, 0xe8) })),
    ...s.close('client'),
  ];
  return writePcap(frames.map((f, i) => ({ timeSec: 1_700_000_000, timeNsec: i * 1000, data: ethernet(f) })));
}

/** Compressed messages (context takeover both ways), as tshark 4.0 inflates them: see the file comment. */
function builtDeflate(): Uint8Array {
  const s = new TcpSession('10.2.0.2:41001', '10.2.0.1:8083');
  const sub = m.subscribe({ level: 5, packetId: 1, subscriptions: [{ topic: 'ws/deflate/#', qos: 1 }] });
  const pubs = Array.from({ length: 4 }, (_, i) => m.publish({ level: 5, topic: `ws/deflate/${i}`, payload: `reading ${i}: {"t":21.${i},"unit":"C"}`, qos: 1, packetId: 10 + i }));
  const big = m.publish({ level: 5, topic: 'ws/deflate/big', payload: bytes(new Uint8Array(70_000).map((_, i) => (i % 97) + ((i >> 10) & 7))), qos: 1, packetId: 50 });
  const client = deflateMessages([m.connect({ level: 5, clientId: 'ws-deflate-built' }), sub, ...pubs, big, m.disconnect({ level: 5 })]);
  const server = deflateMessages([m.connack({ level: 5 }), m.suback({ level: 5, packetId: 1, codes: [1] }), ...[10, 11, 12, 13, 50].map((id) => m.ack('PUBACK', { level: 5, packetId: id }))]);
  const seg = 20;
  const frames = [
    ...s.handshake(),
    ...s.c2s(upgradeRequest({ host: '10.2.0.1:8083', extra: ['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits'] })),
    ...s.s2c(upgradeResponse({ extra: [deflateAccepted()] })),
    ...s.c2s(clientFrame({ rsv: 4, payload: client[0]! }), seg),
    ...s.s2c(wsFrame({ rsv: 4, payload: server[0]! }), seg),
    // A ping, then the SUBSCRIBE. Not fragmented: tshark 4.0 does not inflate a compressed message split over
    // fragments (test/e2e/cli-websocket-deflate.test.ts, docs/differences.md).
    ...s.c2s(concat([clientFrame({ opcode: 0x9, payload: 'z' }), clientFrame({ rsv: 4, payload: client[1]! })]), seg),
    ...s.s2c(wsFrame({ rsv: 4, payload: server[1]! }), seg),
    ...client.slice(2, 6).flatMap((c, i) => [...s.c2s(clientFrame({ rsv: 4, payload: c }), seg), ...s.s2c(wsFrame({ rsv: 4, payload: server[2 + i]! }), seg)]),
    // An uncompressed message (RSV1 clear) between compressed ones: not in the window.
    ...s.c2s(clientFrame({ payload: m.pingreq() }), seg),
    ...s.s2c(wsFrame({ payload: m.pingresp() }), seg),
    ...s.c2s(clientFrame({ rsv: 4, payload: client[6]! })),
    ...s.s2c(wsFrame({ rsv: 4, payload: server[6]! }), seg),
    ...s.c2s(clientFrame({ rsv: 4, payload: client[7]! }), seg),
    ...s.close('client'),
  ];
  return writePcap(frames.map((f, i) => ({ timeSec: 1_700_000_000, timeNsec: i * 1000, data: ethernet(f) })));
}

/** The capture's frames that `filter` (a tshark display filter) keeps, as a new pcap (frame numbers renumbered). */
function only(file: string, filter: string): string {
  const out = join(mkdtempSync(join(tmpdir(), 'ws-only-')), 'only.pcap');
  execFileSync('tshark', ['-n', '-r', file, '-Y', filter, '-F', 'pcap', '-w', out], { stdio: 'ignore' });
  return out;
}

/** `keylog`: the WebSocket runs inside TLS (wss), decrypted by tshark and by us with that key log. */
const CAPTURES: Array<{ name: string; path: () => string; port: number; keylog?: string; transport: string }> = [
  { name: 'captures/real-ws-8080.pcap', path: () => join(ROOT, 'captures', 'real-ws-8080.pcap'), port: 8080, transport: 'websocket' },
  { name: 'generated/ws-built', path: () => tempFile('ws-built.pcap', built()), port: 8080, transport: 'websocket' },
  { name: 'captures/real-ws-8083.pcap (permessage-deflate; its WebSocket connections)', path: () => only(join(ROOT, 'captures', 'real-ws-8083.pcap'), 'tcp.port==8083'), port: 8083, transport: 'websocket' },
  { name: 'generated/ws-deflate-built', path: () => tempFile('ws-deflate-built.pcap', builtDeflate()), port: 8083, transport: 'websocket' },
  { name: 'captures/real-wss-8084.pcap', path: () => join(ROOT, 'captures', 'real-wss-8084.pcap'), port: 8084, keylog: join(ROOT, 'captures', 'real-wss-8084.keys'), transport: 'tls+websocket' },
];

describe.skipIf(!tsharkAvailable())('MQTT over WebSocket: every PDU agrees with tshark (its WebSocket unmasking, its MQTT dissector)', () => {
  for (const c of CAPTURES) {
    it(c.name, async () => {
      const file = c.path();
      const unwrapped = join(mkdtempSync(join(tmpdir(), 'ws-diff-')), 'unwrapped.pcap');
      execFileSync(process.execPath, [join(ROOT, 'scripts', 'ws-unwrap.mjs'), file, String(c.port), unwrapped, ...(c.keylog !== undefined ? [c.keylog] : [])], { stdio: 'ignore' });
      const theirs = await tsharkDecode(unwrapped, [c.port], undefined, { frameFromTime: true });
      const ours = await oursDecode(file, [], c.keylog !== undefined ? { keylog: c.keylog, ports: [] } : undefined);
      expect(ours.status).toBe(0);
      expect(theirs.malformedFrames).toEqual([]);
      expect(ours.pdus.length).toBeGreaterThan(10);
      expect(ours.pdus.length).toBe(theirs.pdus.length);
      expect(comparePdus(ours.pdus, theirs.pdus)).toEqual([]);
      // Every packet record of the WebSocket connections says how it was carried.
      const packets = ours.lines.filter((l) => l.kind === 'packet');
      expect(packets.every((l) => l.transport === c.transport)).toBe(true);
    }, 60_000);
  }
});
