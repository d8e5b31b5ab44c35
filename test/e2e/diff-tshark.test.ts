/**
 * Differential test against tshark (issue #5). Every capture in captures/, every public capture (../shared/captures/
 * public, skipped when absent) and a few captures built here are decoded by tshark (`-T json --no-duplicate-keys -Y
 * mqtt`, `-d tcp.port==P,mqtt` for 6002 and the INDEX's non-standard ports) and by us (`--json`, same `--port`s), and
 * compared PDU by PDU: matched by frame number (ours: the completing frame) and order within the frame, field by field
 * (type, direction, Remaining Length, CONNECT protocol name/level/flags/keep alive/client id/user name/password length/will topic/will payload length, CONNACK session
 * present/code, PUBLISH QoS/DUP/RETAIN/topic/packet id/payload length, SUBSCRIBE topics and QoS, SUBACK/UNSUBACK codes,
 * ack and DISCONNECT reason codes, 5.0 property ids). See test/builders/tshark.ts for the extraction.
 *
 * Every difference must be listed in EXPECTED below with its reason (also in docs/differences.md); the test fails on
 * a new difference and on a listed one that went away. Frames tshark marks [Malformed Packet] must carry an
 * error-severity finding of ours (field `malformed`).
 *
 * Measured with TShark 4.0.17 (Debian). Another tshark version may decode the listed cases differently.
 */
import { describe, expect, it } from 'vitest';
import { writePcap, type FrameSpec } from '../builders/capture-writer.js';
import { tempFile } from '../builders/cli.js';
import { ethernet, fragmentIpv4, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';
import { isWebSocketCapture, ownCaptures, publicAvailable, publicCaptures, type TlsArgs } from '../builders/public.js';
import { compareMalformed, comparePdus, oursDecode, tsharkAvailable, tsharkDecode, tsharkVersion, type Difference } from '../builders/tshark.js';

// ---------------------------------------------------------------------------------------------------
// Captures built here: the cases the corpora do not hold (and tshark's known blind spots).

function pcapOf(frames: Uint8Array[]): Uint8Array {
  const specs: FrameSpec[] = frames.map((f, i) => ({ timeSec: 1_700_000_000, timeNsec: i * 1000, data: ethernet(f) }));
  return writePcap(specs);
}

/** Built on the fly, written to temp files; named `generated/<key>` in EXPECTED. */
const GENERATED: Record<string, () => Uint8Array> = {
  'rl-split': () => {
    const s = new TcpSession('10.1.0.2:40000', '10.1.0.1:1883');
    const pub = m.publish({ topic: 'split/rl', payload: 'p'.repeat(300) });
    const pub2 = m.publish({ topic: 'split/rl2', payload: 'q'.repeat(200), qos: 1, packetId: 7 });
    return pcapOf([
      ...s.handshake(), ...s.c2s(m.connect({ clientId: 'rl-split' })), ...s.s2c(m.connack()),
      ...s.c2s(pub.subarray(0, 2)), ...s.c2s(pub.subarray(2)),
      ...s.c2s(pub2.subarray(0, 1)), ...s.c2s(pub2.subarray(1, 2)), ...s.c2s(pub2.subarray(2)),
      ...s.s2c(m.ack('PUBACK', { packetId: 7 })),
      ...s.c2s(m.disconnect()), ...s.close('client'),
    ]);
  },
  'ooo': () => {
    const s = new TcpSession('10.1.0.3:40001', '10.1.0.1:1883');
    const c = s.c2s(m.connect({ clientId: 'out-of-order-client-id-long-enough' }), 12);
    return pcapOf([...s.handshake(), c[0]!, c[2]!, c[1]!, ...c.slice(3), ...s.s2c(m.connack()), ...s.c2s(m.pingreq()), ...s.s2c(m.pingresp())]);
  },
  'alias-both-ways': () => {
    const s = new TcpSession('10.1.0.4:40002', '10.1.0.1:1883');
    return pcapOf([
      ...s.handshake(),
      ...s.c2s(m.connect({ level: 5, clientId: 'alias', properties: [['topicAliasMaximum', 5]] })),
      ...s.s2c(m.connack({ level: 5, properties: [['topicAliasMaximum', 5]] })),
      ...s.c2s(m.subscribe({ level: 5, packetId: 1, subscriptions: [{ topic: 's/#', qos: 0 }] })),
      ...s.s2c(m.suback({ level: 5, packetId: 1, codes: [0] })),
      ...s.c2s(m.publish({ level: 5, topic: 'c/one', payload: 'c1', properties: [['topicAlias', 1]] })),
      ...s.s2c(m.publish({ level: 5, topic: 's/two', payload: 's1', properties: [['topicAlias', 1]] })),
      ...s.c2s(m.publish({ level: 5, topic: '', payload: 'c2', properties: [['topicAlias', 1]] })),
      ...s.s2c(m.publish({ level: 5, topic: '', payload: 's2', properties: [['topicAlias', 1]] })),
      ...s.c2s(m.disconnect({ level: 5 })),
    ]);
  },
  'many-in-one': () => {
    const s = new TcpSession('10.1.0.5:40003', '10.1.0.1:1883');
    const pings = m.bytes(...Array.from({ length: 20 }, () => m.pingreq()));
    const big = m.publish({ topic: 'span/three', payload: 'z'.repeat(2500), qos: 2, packetId: 9 });
    const tail = m.bytes(m.publish({ topic: 'a', payload: 'x' }), big, m.publish({ topic: 'b', payload: 'y' }));
    return pcapOf([
      ...s.handshake(), ...s.c2s(m.connect({ clientId: 'many' })), ...s.s2c(m.connack()),
      ...s.c2s(pings), ...s.s2c(m.bytes(...Array.from({ length: 20 }, () => m.pingresp()))),
      ...s.c2s(tail, 1000),
      ...s.s2c(m.ack('PUBREC', { packetId: 9 })), ...s.c2s(m.ack('PUBREL', { packetId: 9 })), ...s.s2c(m.ack('PUBCOMP', { packetId: 9 })),
    ]);
  },
  'midstream-v5': () => {
    const s = new TcpSession('10.1.0.6:40004', '10.1.0.1:1883');
    return pcapOf([
      ...s.c2s(m.publish({ level: 5, topic: 'mid/v5', payload: 'hello', qos: 1, packetId: 3, properties: [['contentType', 'text/plain']] })),
      ...s.s2c(m.ack('PUBACK', { level: 5, packetId: 3, reasonCode: 0x10 })),
      ...s.c2s(m.subscribe({ level: 5, packetId: 4, subscriptions: [{ topic: 'x/y', qos: 1, noLocal: true }] })),
      ...s.s2c(m.suback({ level: 5, packetId: 4, codes: [1] })),
    ]);
  },
  'kitchen-sink': () => {
    const s = new TcpSession('10.1.0.8:40006', '10.1.0.1:1883');
    const t = new TcpSession('[2001:db8::8]:40007', '[2001:db8::1]:1883');
    return pcapOf([
      ...s.handshake(),
      ...s.c2s(m.connect({ level: 3, clientId: 'ks31', will: { topic: 'will/31', payload: 'bye', qos: 2, retain: true }, username: 'u', password: 'p', keepAlive: 0 })),
      ...s.s2c(m.connack({ code: 0 })),
      ...s.c2s(m.publish({ topic: 'a/b', payload: '', qos: 2, dup: true, retain: true, packetId: 65535 })),
      ...s.s2c(m.ack('PUBREC', { packetId: 65535 })), ...s.c2s(m.ack('PUBREL', { packetId: 65535 })), ...s.s2c(m.ack('PUBCOMP', { packetId: 65535 })),
      ...s.c2s(m.subscribe({ packetId: 2, subscriptions: [{ topic: 'x/#', qos: 2 }, { topic: '+/y', qos: 1 }, { topic: 'z', qos: 0 }] })),
      ...s.s2c(m.suback({ packetId: 2, codes: [2, 0x80, 0] })),
      ...s.c2s(m.unsubscribe({ packetId: 3, topics: ['x/#', '+/y'] })), ...s.s2c(m.unsuback({ packetId: 3 })),
      ...s.c2s(m.publish({ topic: 'big/rl', payload: new Uint8Array(2_100_000).fill(0x41) }, ), 60000),
      ...s.c2s(m.disconnect()), ...s.close('client'),
      ...t.handshake(),
      ...t.c2s(m.connect({ level: 5, clientId: '', clean: true, properties: [['sessionExpiryInterval', 0xffffffff], ['receiveMaximum', 10], ['userProperty', ['k', 'v']], ['userProperty', ['k2', 'v2']], ['authenticationMethod', 'SCRAM'], ['authenticationData', Uint8Array.of(1, 2, 3)]], will: { topic: 'w', payload: 'x', properties: [['willDelayInterval', 10], ['correlationData', Uint8Array.of(9)]] } })),
      ...t.s2c(m.auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'SCRAM'], ['authenticationData', Uint8Array.of(4)]] })),
      ...t.c2s(m.auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'SCRAM']] })),
      ...t.s2c(m.connack({ level: 5, sessionPresent: true, properties: [['assignedClientIdentifier', 'auto-1'], ['serverKeepAlive', 30], ['maximumQos', 1], ['retainAvailable', 0], ['reasonString', 'ok']] })),
      ...t.c2s(m.subscribe({ level: 5, packetId: 10, properties: [['subscriptionIdentifier', 77]], subscriptions: [{ topic: 'q/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }] })),
      ...t.s2c(m.suback({ level: 5, packetId: 10, codes: [1], properties: [['reasonString', 'granted']] })),
      ...t.s2c(m.publish({ level: 5, topic: 'q/1', qos: 1, packetId: 11, payload: 'sid', properties: [['subscriptionIdentifier', 77], ['subscriptionIdentifier', 78], ['payloadFormatIndicator', 1], ['messageExpiryInterval', 9], ['responseTopic', 'r'], ['correlationData', Uint8Array.of(0, 1)]] })),
      ...t.c2s(m.ack('PUBACK', { level: 5, packetId: 11, reasonCode: 0x10, properties: [['reasonString', 'none']] })),
      ...t.c2s(m.unsubscribe({ level: 5, packetId: 12, topics: ['q/#', 'nope'], properties: [['userProperty', ['a', 'b']]] })),
      ...t.s2c(m.unsuback({ level: 5, packetId: 12, codes: [0, 0x11] })),
      ...t.s2c(m.disconnect({ level: 5, reasonCode: 0x8b, properties: [['serverReference', 'other'], ['reasonString', 'bye']] })),
    ]);
  },
  'tuple-reuse': () => {
    const a = new TcpSession('10.1.0.9:40008', '10.1.0.1:1883', { clientIsn: 100 });
    const b = new TcpSession('10.1.0.9:40008', '10.1.0.1:1883', { clientIsn: 900000, serverIsn: 700000 });
    return pcapOf([
      ...a.handshake(), ...a.c2s(m.connect({ clientId: 'first' })), ...a.s2c(m.connack()), ...a.c2s(m.disconnect()), ...a.close('client'),
      ...b.handshake(), ...b.c2s(m.connect({ level: 5, clientId: 'second' })), ...b.s2c(m.connack({ level: 5 })), ...b.c2s(m.disconnect({ level: 5 })), ...b.close('client'),
    ]);
  },
  'ip-fragments': () => {
    const s = new TcpSession('10.1.0.7:40005', '10.1.0.1:1883');
    const hs = s.handshake();
    const [conn] = s.c2s(m.connect({ clientId: 'fragmented', username: 'u'.repeat(100), password: 'p'.repeat(100) }));
    return pcapOf([...hs, ...fragmentIpv4(conn!, 120), ...s.s2c(m.connack())]);
  },
};

// ---------------------------------------------------------------------------------------------------
// Expected differences: tshark's mistakes and deliberate design differences. Diagnosis in docs/differences.md.

const R = {
  RL_SPLIT: 'tshark: a Remaining Length split across TCP segments is read from the first segment alone (RL 0 / garbage), so it loses the PDU boundary and decodes the rest of the segment as bogus packets; we buffer the fixed header until it is complete',
  OOO: 'tshark without tcp.reassemble_out_of_order (default off in 4.0) decodes a segment that arrives before a missing earlier one on its own, in its own frame; we wait for the hole and report the packets in the frame that fills it (tshark with the preference on agrees with us)',
  LOST: 'a lost segment in the middle of a PDU: tshark waits for the missing bytes forever and decodes nothing more in that direction; we report a gap and resynchronise at the next plausible packet start',
  ALIAS_WIRE: 'tshark shows the topic an alias stands for in mqtt.topic when the Topic Name is empty (5.0 topic alias); we keep the wire value "" in `topic` and give the mapped one in `resolvedTopic` (which agrees)',
  ALIAS_DIR: 'tshark keeps one topic-alias table per conversation; aliases are per direction (MQTT-3.3.2-10/-11: client-to-server and server-to-client mappings are independent), so tshark resolves the client\'s alias 1 to the server\'s topic; ours is right',
  NO_CONNECT: 'no CONNECT in the capture: tshark decodes every packet as 3.1.1 and so misreads 5.0 packets (Property Length byte read as payload/topic/QoS); we infer 5.0 from the packets themselves (versionInferred: true)',
  QOS3: 'PUBLISH with QoS 3 (malformed): its layout is undefined, so we stop decoding after the topic (docs/json.md, problem qos3, violation MQTT-3.3.1-4); tshark reads on as if QoS were 1 or 2',
  PLAIN_8883: 'an MQTT CONNECT sent in clear to the TLS port 8883: tshark dissects 8883 as TLS only and shows the bytes as "Ignored Unknown Record"; we see that no TLS record starts there, report the TLS-plaintext-mqtt finding and decode the connection as plain MQTT',
  BAD_PROPLEN: 'CONNECT whose Property Length runs past the packet: we stop at the bad length (no properties, violation ALL:parse:trailing-bytes); tshark reads a bogus property id 0x00 before marking the packet malformed',
} as const;

interface Expected {
  capture: string;
  /** "frame[pdu]" */
  at: string;
  reason: string;
  /** field -> "ours | tshark" */
  fields: Record<string, string>;
}

const x = (capture: string, at: string, reason: string, fields: Record<string, string>): Expected => ({ capture, at, reason, fields });

const SV = 'suricata-verify';
const EXPECTED: Expected[] = [
  // captures/
  x('captures/real-v5-props.pcapng', '146[1]', R.ALIAS_WIRE, { topic: ' | corpus/v5/alias/a' }),
  x('captures/real-v5-props.pcapng', '162[0]', R.ALIAS_WIRE, { topic: ' | corpus/v5/alias/b' }),
  x('captures/synthetic-malformed.pcapng', '7[0]', R.QOS3, { packetId: '(absent) | 29039', payloadLength: '(absent) | 3' }),
  x('captures/synthetic-transport-trouble.pcap', '6[0]', R.OOO, { presence: '(absent) | PUBLISH' }),
  x('captures/synthetic-transport-trouble.pcap', '7[0]', R.OOO, { presence: 'PUBLISH | (absent)' }),
  x('captures/synthetic-transport-trouble.pcap', '7[1]', R.OOO, { presence: 'PUBLISH | (absent)' }),
  x('captures/synthetic-transport-trouble.pcap', '7[2]', R.OOO, { presence: 'PUBLISH | (absent)' }),
  // After the lost segment tshark decodes nothing more from the client; we resynchronise. The client's bytes after the
  // hole wait until the server's ACK in frame 11 makes it a gap, so they complete in frame 11, before its PINGRESP.
  x('captures/synthetic-transport-trouble.pcap', '11[0]', R.LOST, {
    type: 'PUBLISH | PINGRESP', srcPort: '50000 | 1883', remainingLength: '16 | 0', topic: 'after/gap | (absent)', resolvedTopic: 'after/gap | (absent)',
    qos: '0 | (absent)', dup: 'false | (absent)', retain: 'false | (absent)', payloadLength: '5 | (absent)',
  }),
  x('captures/synthetic-transport-trouble.pcap', '11[1]', R.LOST, { presence: 'PINGREQ | (absent)' }),
  x('captures/synthetic-transport-trouble.pcap', '11[2]', R.LOST, { presence: 'PINGRESP | (absent)' }),
  x('captures/real-tls-openssl.pcap', '249[0]', R.PLAIN_8883, { presence: 'CONNECT | (absent)' }),
  x('captures/real-tls-openssl-dsb.pcapng', '249[0]', R.PLAIN_8883, { presence: 'CONNECT | (absent)' }),
  // public
  x(`${SV}/mqtt-events-invalid-qos/input.pcap`, '8[0]', R.QOS3, { packetId: '(absent) | 1', payloadLength: '(absent) | 16' }),
  x(`${SV}/mqtt-midstream-split/mqtt-midstream-split.pcap`, '4[0]', R.NO_CONNECT, { properties: '0x12,0x22 | (absent)' }),
  x(`${SV}/mqtt-midstream-split/mqtt-midstream-split.pcap`, '10[0]', R.NO_CONNECT, { payloadLength: '35758 | 35759', properties: ' | (absent)' }),
  x(`${SV}/mqtt5-excessiveproplen/input.pcap`, '4[0]', R.BAD_PROPLEN, { properties: ' | 0x00' }),
  // generated/
  x('generated/rl-split', '7[0]', R.RL_SPLIT, {
    type: 'PUBLISH | RESERVED', remainingLength: '310 | 0', qos: '0 | (absent)', dup: 'false | (absent)', retain: 'false | (absent)',
    topic: 'split/rl | (absent)', resolvedTopic: 'split/rl | (absent)', payloadLength: '300 | (absent)',
  }),
  x('generated/rl-split', '7[1]', R.RL_SPLIT, { presence: '(absent) | RESERVED' }),
  x('generated/rl-split', '7[2]', R.RL_SPLIT, { presence: '(absent) | PUBCOMP' }),
  x('generated/rl-split', '10[0]', R.RL_SPLIT, {
    type: 'PUBLISH | PUBCOMP', remainingLength: '213 | 112', qos: '1 | (absent)', dup: 'false | (absent)', retain: 'false | (absent)',
    topic: 'split/rl2 | (absent)', resolvedTopic: 'split/rl2 | (absent)', packetId: '7 | 28784', payloadLength: '200 | (absent)',
  }),
  x('generated/rl-split', '10[1]', R.RL_SPLIT, { presence: '(absent) | PUBCOMP' }),
  x('generated/rl-split', '12[0]', R.RL_SPLIT, { presence: 'DISCONNECT | (absent)' }),
  x('generated/alias-both-ways', '10[0]', R.ALIAS_DIR, { topic: ' | s/two', resolvedTopic: 'c/one | s/two' }),
  x('generated/alias-both-ways', '11[0]', R.ALIAS_WIRE, { topic: ' | s/two' }),
  x('generated/midstream-v5', '1[0]', R.NO_CONNECT, { payloadLength: '5 | 19', properties: '0x03 | (absent)' }),
  x('generated/midstream-v5', '2[0]', R.NO_CONNECT, { reasonCode: '16 | (absent)' }),
  x('generated/midstream-v5', '3[0]', R.NO_CONNECT, { topics: 'x/y | ', subQos: '1 | 3', properties: ' | (absent)', malformed: 'no error | Malformed Packet' }),
  x('generated/midstream-v5', '4[0]', R.NO_CONNECT, { codes: '1 | 0,1', properties: ' | (absent)' }),
];

function lines(diffs: Difference[]): string[] {
  return diffs.map((d) => `${d.frame}[${d.pdu}] ${d.field}: ${d.ours} | ${d.tshark}`).sort();
}

function expectedLines(capture: string): string[] {
  return EXPECTED.filter((e) => e.capture === capture).flatMap((e) => Object.entries(e.fields).map(([f, v]) => `${e.at} ${f}: ${v}`)).sort();
}

async function compare(name: string, path: string, ports: number[], tls?: TlsArgs): Promise<void> {
  const [ours, theirs] = await Promise.all([oursDecode(path, ports, tls), tsharkDecode(path, ports, tls)]);
  expect(ours.status, `${name}: exit status, stderr ${ours.stderr}`).toBe(0);
  expect(theirs.pdus.length + ours.pdus.length, `${name}: neither tool found MQTT`).toBeGreaterThan(0);
  const diffs = [...comparePdus(ours.pdus, theirs.pdus), ...compareMalformed(ours.lines, theirs.malformedFrames)];
  expect(lines(diffs), `${name}: differences from tshark ${tsharkVersion()} (frame[pdu] field: ours | tshark) other than the ones listed in EXPECTED`).toEqual(expectedLines(name));
}

const TIMEOUT = 120_000;

describe.skipIf(!tsharkAvailable())('decoding agrees with tshark, PDU by PDU', () => {
  describe('captures/', () => {
    // MQTT over WebSocket: tshark 4.0 does not decode its MQTT; test/e2e/diff-tshark-websocket.test.ts compares it.
    for (const c of ownCaptures().filter((x) => !isWebSocketCapture(x.name))) it.concurrent(c.name, () => compare(c.name, c.path, c.extraPorts, c.tls), TIMEOUT);
  });

  describe.skipIf(!publicAvailable())('public captures (../shared/captures/public)', () => {
    for (const c of publicCaptures()) it.concurrent(c.name, () => compare(c.name, c.path, c.extraPorts), TIMEOUT);
  });

  describe('generated captures', () => {
    for (const [key, build] of Object.entries(GENERATED)) {
      it.concurrent(`generated/${key}`, () => compare(`generated/${key}`, tempFile(`${key}.pcap`, build()), []), TIMEOUT);
    }
  });

  it('every EXPECTED entry names a capture this test runs, and has a reason', () => {
    const names = new Set([...ownCaptures().filter((x) => !isWebSocketCapture(x.name)), ...publicCaptures()].map((c) => c.name).concat(Object.keys(GENERATED).map((k) => `generated/${k}`)));
    for (const e of EXPECTED) {
      expect(e.reason.length).toBeGreaterThan(20);
      if (!publicAvailable() && !e.capture.startsWith('captures/') && !e.capture.startsWith('generated/')) continue;
      expect(names.has(e.capture), e.capture).toBe(true);
    }
  });
});
