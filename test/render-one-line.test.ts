/** The one-line view says what explains a packet (issue 12): reason strings, code names, will and subscription details, findings with their message, connection and client. */
import { describe, expect, it } from 'vitest';
import type { PacketRecord, Violation } from '../src/mqtt/connection-decoder.js';
import { decodePacket } from '../src/mqtt/decoder.js';
import type { ProtocolLevel } from '../src/mqtt/types.js';
import { makeChalk } from '../src/render/color.js';
import { Renderer } from '../src/render/text.js';
import type { Connection } from '../src/tcp/types.js';
import { ack, connack, connect, disconnect, suback, subscribe, unsuback } from './builders/mqtt-bytes.js';

const conn: Connection = {
  id: 7, clientIp: '10.0.0.1', clientPort: 40000, serverIp: '10.0.0.2', serverPort: 1883, client: '10.0.0.1:40000',
  server: '10.0.0.2:1883', sawSyn: true, firstFrame: 1, startSec: 1_700_000_000, startNsec: 0, tls: false, tcpStream: 0,
};

function lines(packets: [Uint8Array, ProtocolLevel, 'c2s' | 's2c', Violation[]?][]): string[] {
  const out: string[] = [];
  const r = new Renderer((l) => out.push(l), { chalk: makeChalk(false), verbose: false, hex: false, full: false, redact: false, onlyViolations: false, json: false, quiet: false });
  r.open(conn);
  let frame = 1;
  for (const [b, level, dir, violations] of packets) {
    const decoded = decodePacket(b, { level, dir, tree: false });
    const rec: PacketRecord = { conn, dir, frame, frames: [frame], timeSec: conn.startSec, timeNsec: frame, bytes: b, decoded, levelInferred: false, streamOffset: 0, violations: violations ?? [] };
    frame++;
    r.packet(rec);
  }
  return out;
}

describe('one-line view', () => {
  it('names the connection, and the client once its CONNECT was seen', () => {
    const [c, a] = lines([[connect({ level: 4, clientId: 'dev-1' }), 4, 'c2s'], [connack({ level: 4 }), 4, 's2c']]);
    expect(c).toContain(' #7 clientId="dev-1"');
    expect(a).toContain(' #7 "dev-1" sessionPresent=0');
  });

  it('shows 5.0 reason strings and SUBACK/UNSUBACK code names', () => {
    const out = lines([
      [connack({ level: 5, code: 0x87, properties: [['reasonString', 'no entry']] }), 5, 's2c'],
      [suback({ level: 5, codes: [1, 0x87] }), 5, 's2c'],
      [unsuback({ level: 5, codes: [0x11] }), 5, 's2c'],
      [ack('PUBACK', { level: 5, reasonCode: 0x10, properties: [['reasonString', 'nobody listens']] }), 5, 's2c'],
      [disconnect({ level: 5, reasonCode: 0x8e, properties: [['reasonString', 'taken over']] }), 5, 's2c'],
    ]);
    expect(out[0]).toContain('rc=0x87 (Not authorized) reason="no entry"');
    expect(out[1]).toContain('codes=[0x01 Granted QoS 1, 0x87 Not authorized]');
    expect(out[2]).toContain('codes=[0x11 No subscription existed]');
    expect(out[3]).toContain('reason="nobody listens"');
    expect(out[4]).toContain('rc=0x8e (Session taken over) reason="taken over"');
  });

  it('shows will retain, will payload length and 5.0 subscription options', () => {
    const [c, s] = lines([
      [connect({ level: 5, will: { topic: 'w', payload: 'bye!', qos: 1, retain: true } }), 5, 'c2s'],
      [subscribe({ level: 5, subscriptions: [{ topic: 'a/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }, { topic: 'b', qos: 0 }] }), 5, 'c2s'],
    ]);
    expect(c).toContain('will="w" willQos=1 willRetain=1 willLen=4');
    expect(s).toContain('"a/#":1,nl,rap,rh=2 "b":0');
  });

  it('gives each finding id a short message', () => {
    const v: Violation = { id: 'MQTT-3.3.1-2', spec: '3.1.1', severity: 'error', message: 'DUP set on QoS 0' };
    const [l] = lines([[connect({ level: 4 }), 4, 'c2s', [v]]]);
    expect(l!.endsWith('[MQTT-3.3.1-2 DUP set on QoS 0]')).toBe(true);
  });
});

describe('tcp.stream in the text views', () => {
  function verbose(c: Connection): string[] {
    const out: string[] = [];
    const r = new Renderer((l) => out.push(l), { chalk: makeChalk(false), verbose: true, hex: false, full: false, redact: false, onlyViolations: false, json: false, quiet: false });
    r.open(c);
    const b = connect({ level: 4, clientId: 'dev-1' });
    r.packet({ conn: c, dir: 'c2s', frame: 1, frames: [1], timeSec: c.startSec, timeNsec: 0, bytes: b, decoded: decodePacket(b, { level: 4, dir: 'c2s', tree: true }), levelInferred: false, streamOffset: 0, violations: [] });
    return out;
  }

  it('-V names the connection and its tcp.stream before the tree, as a Wireshark filter', () => {
    expect(verbose({ ...conn, tcpStream: 12 })[1]).toBe('      connection #7, tcp.stream 12 (Wireshark: tcp.stream eq 12)');
  });

  it('-V says nothing of a stream it has no number for', () => {
    expect(verbose({ ...conn, tcpStream: null }).some((l) => l.includes('tcp.stream'))).toBe(false);
  });
});
