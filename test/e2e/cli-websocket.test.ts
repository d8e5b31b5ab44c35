/** MQTT over WebSocket through the CLI, on the real capture: every output mode, and what each says of the transport. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, ROOT, runCli } from '../builders/cli.js';

const FILE = join(ROOT, 'captures', 'real-ws-8080.pcap');

describe('mqtt-dissect on captures/real-ws-8080.pcap', () => {
  it('--json: every record of the two WebSocket connections says so; the handshakes are events with what they said', () => {
    const r = runCli(['--json', FILE]);
    expect(r.status).toBe(0);
    const out = jsonLines(r.stdout);
    const packets = out.filter((o) => o.kind === 'packet');
    expect(packets.length).toBe(34);
    // (Message and session records are about messages and clients, not one connection's bytes.)
    expect(out.filter((o) => o.conn !== null && o.kind !== 'summary' && o.kind !== 'message' && o.kind !== 'session').every((o) => o.transport === 'websocket')).toBe(true);
    const hs = out.filter((o) => o.event === 'websocket');
    expect(hs.map((o) => o.info)).toEqual([0, 1].map(() => ({ handshake: true, path: '/mqtt', host: '127.0.0.1:8080', offered: ['mqtt'], status: 101, reason: 'Switching Protocols', selected: 'mqtt', accept: 'valid', extensions: [], deflate: null })));
    // MQTT.js and mosquitto break nothing.
    expect(out.flatMap((o) => (o.violations as unknown[] | undefined) ?? [])).toEqual([]);
    const large = packets.filter((o) => (o.fields as Record<string, unknown>).topic === 'corpus/ws/large');
    expect(large.map((o) => (o.fields as Record<string, unknown>).payloadLength)).toEqual([70000, 70000]);
  });

  it('-x: each packet shows the frames that carried it, header byte by byte, and says the payload was unmasked', () => {
    const r = runCli(['-x', '--no-color', FILE]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/WebSocket frames carrying this packet \(masked payloads were unmasked: the bytes above are the unmasked ones\):/);
    expect(r.stdout).toMatch(/^ {10}82 {22}FIN 1, RSV 000, opcode 0x2 = binary$/m);
    expect(r.stdout).toMatch(/MASK 1, payload length: 127 = in the next 8 bytes/);
    expect(r.stdout).toMatch(/00 00 00 00 00 01 11 70 extended payload length 70000 \(64-bit\)/);
    expect(r.stdout).toMatch(/masking key: payload byte i was XORed with key byte i mod 4/);
    // The CONNECT came in 1- to 7-byte frames: each names the packet bytes it held.
    expect(r.stdout).toMatch(/payload: packet byte 0\n/);
  });

  it('text, -V and --summary work as over TCP, and the text line names the transport', () => {
    const text = runCli(['--no-color', FILE]);
    expect(text.stdout).toMatch(/CONNECT {5}v3\.1\.1 #0 websocket clientId="corpus-ws-sub"/);
    expect(text.stdout).toMatch(/- close conn 0 \(tcp\.stream 0\) over websocket:/);
    const v = runCli(['-V', '--no-color', FILE]);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/client identifier: "corpus-ws-pub"/);
    expect(v.stdout).toMatch(/connection #1, tcp\.stream 1 \(Wireshark: tcp\.stream eq 1\), over websocket \(offsets are within the MQTT stream the frames carried\)/);
    const s = runCli(['--summary', '--no-color', FILE]);
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/PUBLISH/);
  });
});
