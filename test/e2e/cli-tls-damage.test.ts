/**
 * Damage inside TLS through the whole pipeline: a record that does not authenticate and a TCP segment lost inside
 * TLS records. Each is reported, the MQTT framer resynchronises at the next record, and the MQTT packets around the
 * damage are decoded with their checks.
 */
import { randomBytes } from 'node:crypto';
import { expect, test } from 'vitest';
import { writePcap } from '../builders/capture-writer.js';
import { jsonLines, runCli, tempFile } from '../builders/cli.js';
import { ethernet, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';
import { clientHello, handshakeMsg, hex, params, record, serverHello, Tls13Sealer } from '../builders/tls.js';

test('a bad tag and a lost segment inside TLS: reported, and decoding goes on at the next record', () => {
  const p = params(0x1301);
  const cr = randomBytes(32);
  const cts = randomBytes(32);
  const sts = randomBytes(32);
  const keys = tempFile('damage.keys', `CLIENT_TRAFFIC_SECRET_0 ${hex(cr)} ${hex(cts)}\nSERVER_TRAFFIC_SECRET_0 ${hex(cr)} ${hex(sts)}\n`);
  const c = new Tls13Sealer(p, cts);
  const s = new Tls13Sealer(p, sts);
  const hsJunk = new Tls13Sealer(p, randomBytes(32));
  const t = new TcpSession('10.9.0.1:41000', '10.9.0.2:8883');
  const pub = (n: number, size = 20): Uint8Array => m.publish({ topic: `t/${n}`, payload: 'p'.repeat(size), qos: 1, packetId: n });
  // Sealed in the order they are sent: the sequence numbers follow it.
  const connect = c.seal(23, m.connect({ clientId: 'damaged-tls' }));
  const pub1 = c.seal(23, pub(1));
  const bad = c.seal(23, pub(2));
  bad[bad.length - 3]! ^= 0x40;
  const pub3 = c.seal(23, pub(3));
  const bigRecord = c.seal(23, pub(4, 6000));
  const pub5 = c.seal(23, pub(5));
  const disconnect = c.seal(23, m.disconnect());
  const head = [
    ...t.handshake(),
    ...t.c2s(clientHello({ random: cr, versions: [0x0304], suites: [0x1301] })),
    ...t.s2c(Buffer.concat([serverHello({ random: randomBytes(32), suite: 0x1301, version: 0x0304 }), record(20, [1]), hsJunk.seal(22, Uint8Array.from(handshakeMsg(8, [0, 0])))])),
    ...t.c2s(Buffer.concat([record(20, [1]), hsJunk.seal(22, Uint8Array.from(handshakeMsg(20, new Array<number>(32).fill(1))))])),
    ...t.c2s(connect),
    ...t.s2c(s.seal(23, m.connack())),
    ...t.c2s(pub1),
    ...t.s2c(s.seal(23, m.ack('PUBACK', { packetId: 1 }))),
    ...t.c2s(bad),
    ...t.c2s(pub3),
    ...t.s2c(s.seal(23, m.ack('PUBACK', { packetId: 3 }))),
  ];
  // A 6000-byte PUBLISH in one record, sent in 1000-byte segments: the third segment is lost.
  const big = t.c2s(bigRecord, 1000);
  const frames = [
    ...head,
    ...big.slice(0, 2), ...big.slice(3),
    ...t.c2s(pub5),
    ...t.s2c(s.seal(23, m.ack('PUBACK', { packetId: 5 }))),
    ...t.c2s(disconnect),
    ...t.close('client'),
  ];
  const file = tempFile('damage.pcap', writePcap(frames.map((f, i) => ({ timeSec: 1_700_000_000, timeNsec: i * 1000, data: ethernet(f) }))));
  const r = runCli(['--json', '--tls-keylog', keys, file]);
  expect(r.status).toBe(0);
  const recs = jsonLines(r.stdout);
  const packets = recs.filter((l) => l.kind === 'packet').map((l) => `${l.type}${(l.fields as { packetId?: number }).packetId ?? ''}`);
  expect(packets).toEqual(['CONNECT', 'CONNACK', 'PUBLISH1', 'PUBACK1', 'PUBLISH3', 'PUBACK3', 'PUBLISH5', 'PUBACK5', 'DISCONNECT']);
  const tlsErrors = recs.filter((l) => l.event === 'tls-error').map((l) => l.reason);
  expect(tlsErrors).toEqual(['bad-record', 'record-lost']);
  expect(recs.some((l) => l.event === 'gap' && l.dir === 'c2s')).toBe(true);
  // Nothing is blamed on the client for the PUBLISHes the damage took: their PUBACKs were never sent either.
  const violations = recs.flatMap((l) => ((l.violations ?? []) as { id: string }[]).map((v) => v.id));
  expect(violations).toEqual([]);
});
