/**
 * Synthetic captures committed under captures/, described in code: what real peers will not produce (the seed
 * walk-through bytes, malformed packets, reordering, gaps, truncation). test/captures-synthetic.test.ts checks that
 * the committed files are exactly what these builders make; `scripts/build-synthetic-captures.sh` rewrites them.
 */
import { writePcap, writePcapngSimple, type FrameSpec } from './capture-writer.js';
import { ethernet, sll2, TcpSession, LINK } from './frames.js';
import * as m from './mqtt-bytes.js';

const T0 = 1_700_000_000; // 2023-11-14T22:13:20Z

function timed(frames: Uint8Array[], stepMs = 4, start = T0): FrameSpec[] {
  return frames.map((data, i) => {
    const ns = i * stepMs * 1_000_000;
    return { timeSec: start + Math.floor(ns / 1e9), timeNsec: ns % 1e9, data };
  });
}

/** The 47-byte CONNECT of the classic blog walk-through, and its CONNACK. */
export const SEED_CONNECT = m.hex('10 2d 00 04 4d 51 54 54 04 c2 0b b8 00 10 34 30 46 30 36 30 30 30 35 30 38 30 34 30 35 30 00 05 61 64 6d 69 6e 00 08 70 61 73 73 77 6f 72 64');
export const SEED_CONNACK = m.hex('20 02 00 00');

/** The OneNET walk-through on port 6002: device login, a $dp data point, a command and its reply. */
export const ONENET_CONNECT = m.connect({ level: 4, clean: false, keepAlive: 256, clientId: '31421353', username: '141215', password: 'dpsO9ruH0aTZublG9g5SvBtFSEQ=' });
export const ONENET_DP_JSON = '{"Red_Led":1,"Green_Led":1,"Yellow_Led":1,"Blue_Led":1}';
export const ONENET_DP = m.publish({ topic: '$dp', qos: 1, packetId: 10, payload: m.bytes(Uint8Array.of(0x03), m.u16(ONENET_DP_JSON.length), new TextEncoder().encode(ONENET_DP_JSON)) });
export const ONENET_CMD_UUID = 'e8b6c9b6-225b-57dc-abaa-246ba58761d8';
export const ONENET_CREQ = m.publish({ topic: `$creq/${ONENET_CMD_UUID}`, qos: 0, payload: 'redled:0' });
export const ONENET_CRSP = m.publish({ topic: `$crsp/${ONENET_CMD_UUID}`, qos: 0, payload: 'ok' });

function seedWalkthrough(): Uint8Array {
  const a = new TcpSession('192.168.1.10:51234', '192.168.1.1:1883');
  const b = new TcpSession('192.168.1.10:40112', '183.230.40.39:6002');
  const frames: Uint8Array[] = [
    ...a.handshake(),
    ...a.c2s(SEED_CONNECT),
    ...a.s2c(SEED_CONNACK),
    ...a.c2s(m.disconnect()),
    ...a.close('client'),
    ...b.handshake(),
    ...b.c2s(ONENET_CONNECT),
    ...b.s2c(m.connack()),
    ...b.c2s(ONENET_DP),
    ...b.s2c(m.ack('PUBACK', { packetId: 10 })),
    ...b.s2c(ONENET_CREQ),
    ...b.c2s(ONENET_CRSP),
    ...b.c2s(m.pingreq()),
    ...b.s2c(m.pingresp()),
  ];
  return writePcap(timed(frames.map((f) => ethernet(f))), { linkType: LINK.ETHERNET });
}

/** Transport trouble real peers do not make on demand: reordering, a retransmission, a lost segment, snaplen cuts. */
function transportTrouble(): Uint8Array {
  const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883', { mss: 40 });
  const hs = s.handshake();
  const conn = s.c2s(m.connect({ clientId: 'trouble', keepAlive: 30 }));
  const ack = s.s2c(m.connack());
  const pubs = s.c2s(m.bytes(m.publish({ topic: 'a/b', payload: 'one' }), m.publish({ topic: 'a/b', payload: 'two-two-two-two-two-two' }), m.publish({ topic: 'a/c', payload: 'three' })));
  // Reorder the publish segments, repeat one, and lose one of a later burst.
  const reordered = [pubs[1]!, pubs[0]!, pubs[1]!, ...pubs.slice(2)];
  const burst = s.c2s(m.bytes(m.publish({ topic: 'lost/one', payload: 'x'.repeat(50) }), m.publish({ topic: 'after/gap', payload: 'found' })));
  const lossy = burst.filter((_, i) => i !== 0);
  const tail = [...s.c2s(m.pingreq()), ...s.s2c(m.pingresp()), ...s.close('client')];
  return writePcap(timed([...hs, ...conn, ...ack, ...reordered, ...lossy, ...tail].map((f) => sll2(f))), { linkType: LINK.SLL2 });
}

/** A session with one malformed packet of each common kind, for the conformance checker. */
function malformed(): Uint8Array {
  const s = new TcpSession('10.0.0.3:50001', '10.0.0.1:1883');
  const frames = [
    ...s.handshake(),
    ...s.c2s(m.connect({ clientId: 'bad', flags: 0x03 })), // reserved connect flag bit set
    ...s.s2c(m.connack()),
    ...s.c2s(m.publish({ topic: 'a/+/b', payload: 'wildcard in a topic name' })),
    ...s.c2s(m.publish({ topic: 'q', flags: 0x06, payload: 'qos 3' })),
    ...s.c2s(m.subscribe({ packetId: 0, subscriptions: [{ topic: 'a/#/b', qos: 1 }] })),
    ...s.c2s(m.disconnect()),
    ...s.close('client'),
  ];
  return writePcapngSimple(timed(frames.map((f) => ethernet(f))), { linkType: LINK.ETHERNET });
}

export const SYNTHETIC_CAPTURES: Record<string, () => Uint8Array> = {
  'seed-walkthrough.pcap': seedWalkthrough,
  'synthetic-transport-trouble.pcap': transportTrouble,
  'synthetic-malformed.pcapng': malformed,
};
