/**
 * The capture docs/decoders.md's examples run on (test/e2e/cli-decode.test.ts checks that the page shows what the CLI
 * prints for it): one MQTT 5.0 client publishing the same kind of reading in several encodings, each made by the
 * format's reference encoder (cbor-x, @msgpack/msgpack, Node's zlib, Buffer's base64).
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { encode as cborEncode } from 'cbor-x';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { writePcap } from './capture-writer.js';
import { ethernet, LINK, TcpSession } from './frames.js';
import * as m from './mqtt-bytes.js';

const T0 = 1_700_000_000;

/** The PUBLISHes of the demo, in order: topic, payload, properties. */
export const DEMO_PUBLISHES: readonly { topic: string; payload: Uint8Array | string; properties?: m.Prop[] }[] = [
  { topic: 'sensors/7/cbor', payload: cborEncode({ temp: 21.5, unit: 'C' }) },
  { topic: 'sensors/7/msgpack', payload: msgpackEncode({ rh: 40, ok: true }) },
  { topic: 'sensors/7/gz', payload: gzipSync(JSON.stringify({ batch: [20.5, 20.7, 21.1] })) },
  { topic: 'sensors/7/b64', payload: Buffer.from('hello from sensor 7').toString('base64') },
  { topic: 'sensors/7/zcbor', payload: deflateSync(cborEncode([1, 2, 3])) },
  { topic: 'sensors/7/json', payload: '{"temp": 21.5, "unit":', properties: [['contentType', 'application/json']] },
  { topic: 'sensors/7/bad-cbor', payload: Uint8Array.of(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01) },
  { topic: 'status/7', payload: 'online' },
];

export function decodeDemoCapture(): Uint8Array {
  const s = new TcpSession('192.0.2.10:40000', '192.0.2.1:1883');
  const frames = [
    ...s.handshake(),
    ...s.c2s(m.connect({ level: 5, clientId: 'sensor-7' })),
    ...s.s2c(m.connack({ level: 5 })),
    ...DEMO_PUBLISHES.flatMap((p) => s.c2s(m.publish({ level: 5, topic: p.topic, payload: p.payload, ...(p.properties ? { properties: p.properties } : {}) }))),
    ...s.c2s(m.disconnect({ level: 5 })),
    ...s.close('client'),
  ];
  return writePcap(frames.map((data, i) => ({ timeSec: T0 + i, timeNsec: 0, data: ethernet(data) })), { linkType: LINK.ETHERNET });
}
