/**
 * permessage-deflate and WebSocket without its handshake, through the CLI, on real captures:
 *  - captures/real-ws-8083.pcap: MQTT.js with compression on, through scripts/ws-deflate-bridge.mjs, which relays each
 *    WebSocket connection's bytes unchanged to mosquitto on 1883. The relayed connections are in the capture too, so
 *    what we inflate from the WebSocket frames must decode to exactly the packets of the plain TCP connection beside it.
 *  - captures/real-ws-8080.pcap cut with editcap after its handshakes: the packets decoded without the handshake are
 *    those of the whole capture.
 * And where tshark 4.0 differs (docs/differences.md), shown on captures built with zlib, checked against the bytes built.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePcap } from '../builders/capture-writer.js';
import { jsonLines, ROOT, runCli, tempFile } from '../builders/cli.js';
import { concat, ethernet, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';
import { tsharkAvailable } from '../builders/tshark.js';
import { clientFrame, deflateAccepted, deflateMessages, upgradeRequest, upgradeResponse, wsFrame } from '../builders/websocket.js';

const DEFLATE = join(ROOT, 'captures', 'real-ws-8083.pcap');
const WS = join(ROOT, 'captures', 'real-ws-8080.pcap');

type Rec = Record<string, unknown>;
const fields = (r: Rec) => r.fields as Record<string, unknown>;

describe('captures/real-ws-8083.pcap (permessage-deflate, context takeover, a 10-bit client window)', () => {
  it('each WebSocket connection decodes to the packets its relayed TCP connection carried, both ways', () => {
    const r = runCli(['--json', DEFLATE]);
    expect(r.status).toBe(0);
    const out = jsonLines(r.stdout);
    const packets = out.filter((o) => o.kind === 'packet');
    const hs = out.filter((o) => o.event === 'websocket');
    expect(hs.map((o) => (o.info as Rec).deflate)).toEqual(['client context takeover, 10-bit window, server context takeover, 15-bit window', 'client context takeover, 10-bit window, server context takeover, 15-bit window']);
    expect(out.filter((o) => o.event === 'websocket-inflate' || o.event === 'websocket-lost' || o.event === 'websocket-error')).toEqual([]);
    expect(out.flatMap((o) => (o.violations as unknown[] | undefined) ?? [])).toEqual([]);
    // Pair each WebSocket connection with the relayed one of the same client id (its CONNECT).
    const clientOf = new Map<number, string>();
    for (const p of packets) if (p.type === 'CONNECT') clientOf.set(p.conn as number, String(fields(p).clientId));
    const wsConns = [...clientOf].filter(([c]) => packets.some((p) => p.conn === c && p.transport === 'websocket'));
    expect(wsConns.map(([, id]) => id).sort()).toEqual(['corpus-wsz-pub', 'corpus-wsz-sub']);
    for (const [wsConn, id] of wsConns) {
      const relayed = [...clientOf].find(([c, other]) => other === id && c !== wsConn)![0];
      for (const dir of ['c2s', 's2c']) {
        const view = (c: number) => packets.filter((p) => p.conn === c && p.dir === dir).map((p) => [p.type, p.length, JSON.stringify(p.fields)]);
        expect(view(wsConn).length).toBeGreaterThan(3);
        expect(view(wsConn)).toEqual(view(relayed));
      }
    }
    const large = packets.filter((p) => fields(p).topic === 'corpus/wsz/large' && p.transport === 'websocket');
    expect(large.map((p) => fields(p).payloadLength)).toEqual([70000, 70000]);
  });

  it('-x says the bytes were inflated and have no wire offsets, and shows each frame\'s deflate bytes', () => {
    const r = runCli(['-x', '--no-color', DEFLATE]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/WebSocket frames? carrying this packet \(masked payloads were unmasked, compressed messages were inflated \(permessage-deflate\): the bytes above are the unmasked, inflated ones, and inflated bytes have no wire offsets\):/);
    expect(r.stdout).toMatch(/FIN 1, RSV 100, opcode 0x2 = binary/);
    expect(r.stdout).toMatch(/payload: \d+ bytes of deflate data \(RSV1: permessage-deflate\); the message they belong to inflated to \d+ bytes: /);
  });
});

describe('captures/real-ws-8080.pcap without its first 79 frames (SYNs, both Upgrades, the CONNECTs)', () => {
  it('recognised without the handshake: the packets decoded are the whole capture\'s, one event per connection says what is unknown', () => {
    const cut = join(mkdtempSync(join(tmpdir(), 'ws-mid-')), 'cut.pcap');
    execFileSync('editcap', ['-r', WS, cut, '80-1000000'], { stdio: 'ignore' });
    const whole = jsonLines(runCli(['--json', WS]).stdout).filter((o) => o.kind === 'packet');
    const r = runCli(['--json', cut]);
    expect(r.status).toBe(0);
    const out = jsonLines(r.stdout);
    const hs = out.filter((o) => o.event === 'websocket');
    expect(hs).toHaveLength(2);
    expect(hs.every((o) => (o.info as Rec).handshake === false)).toBe(true);
    const packets = out.filter((o) => o.kind === 'packet');
    expect(packets.every((p) => p.transport === 'websocket')).toBe(true);
    // Frame numbers move by 79 (a packet is keyed by the frame its last byte came in: without a CONNECT the MQTT stage
    // holds a connection's first packets until it has inferred the version); the version is inferred, so fields are
    // compared by what both versions share: type, direction, packet id, topic, payload length.
    const key = (p: Rec, shift: number) => JSON.stringify([(p.frames as number[]).at(-1)! + shift, p.src, p.type, fields(p).packetId ?? null, fields(p).topic ?? null, fields(p).payloadLength ?? null]);
    const wholeKeys = new Set(whole.map((p) => key(p, 0)));
    expect(packets.length).toBeGreaterThan(20);
    expect(packets.filter((p) => !wholeKeys.has(key(p, 79))).map((p) => key(p, 79))).toEqual([]);
    // And every packet of the whole capture whose bytes all came after the cut is there (26 of the 34).
    const got = new Set(packets.map((p) => key(p, 79)));
    const after = whole.filter((p) => Math.min(...(p.frames as number[])) >= 80);
    expect(after.length).toBe(26);
    expect(after.filter((p) => !got.has(key(p, 0))).map((p) => key(p, 0))).toEqual([]);
  });

  it.skipIf(!tsharkAvailable())('tshark sees no WebSocket there unless told the port is WebSocket', () => {
    const cut = join(mkdtempSync(join(tmpdir(), 'ws-mid-')), 'cut.pcap');
    execFileSync('editcap', ['-r', WS, cut, '80-1000000'], { stdio: 'ignore' });
    const frames = (d: string) => execFileSync('tshark', ['-n', '-r', cut, '-d', d, '-Y', 'websocket', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    expect(frames('tcp.port==8080,http')).toBe('');
    expect(frames('tcp.port==8080,websocket').split('\n').length).toBeGreaterThan(20);
  });
});

/** A built capture: a handshake accepting `params`, then client messages (compressed, unless `plain`) and a CONNACK. */
function deflateCapture(params: string[], client: Array<{ payload: Uint8Array; fragments?: number }>): string {
  const s = new TcpSession('10.3.0.2:42000', '10.3.0.1:8083');
  const frames = [
    ...s.handshake(),
    ...s.c2s(upgradeRequest({ host: '10.3.0.1:8083', extra: ['Sec-WebSocket-Extensions: permessage-deflate'] })),
    ...s.s2c(upgradeResponse({ extra: [deflateAccepted(...params)] })),
  ];
  client.forEach((c, i) => {
    const n = c.fragments ?? 1;
    const cuts = Array.from({ length: n + 1 }, (_, k) => Math.round((k * c.payload.length) / n));
    frames.push(...s.c2s(concat(cuts.slice(0, -1).map((from, k) => clientFrame({ rsv: k === 0 ? 4 : 0, opcode: k === 0 ? 0x2 : 0x0, fin: k === n - 1, payload: c.payload.subarray(from, cuts[k + 1]) })))));
    if (i === 0) frames.push(...s.s2c(wsFrame({ payload: m.connack({}) })));
  });
  frames.push(...s.close());
  return tempFile(`deflate-${params.join('-') || 'plain'}-${client.length}.pcap`, writePcap(frames.map((f, i) => ({ timeSec: 1_700_000_000, timeNsec: i * 1000, data: ethernet(f) }))));
}

/** tshark's inflated payload per client data frame (data.data, hex), '' where it gave none. */
function tsharkData(file: string): string[] {
  return execFileSync('tshark', ['-n', '-r', file, '-d', 'tcp.port==8083,http', '-Y', 'websocket && tcp.srcport == 42000 && (websocket.opcode == 2 || websocket.opcode == 0)', '-T', 'fields', '-e', 'data.data'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n').slice(0, -1);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe.skipIf(!tsharkAvailable())('where tshark 4.0 inflates differently (docs/differences.md)', () => {
  const connect = m.connect({ clientId: 'deflate-diff/sensor-1' });
  const sub = m.subscribe({ packetId: 1, subscriptions: [{ topic: 'deflate-diff/sensor-1/#', qos: 1 }] });
  const pub = m.publish({ topic: 'deflate-diff/sensor-1/t', payload: 'deflate-diff' });

  it('a compressed message split over fragments: tshark passes the last fragment\'s deflate bytes and then inflates later messages to wrong bytes; we decode them', () => {
    const [c0, c1, c2] = deflateMessages([connect, sub, pub]);
    const file = deflateCapture([], [{ payload: c0! }, { payload: c1!, fragments: 3 }, { payload: c2! }]);
    const theirs = tsharkData(file);
    expect(theirs[0]).toBe(hex(connect));
    // Not the SUBSCRIBE: raw deflate bytes of its last fragment (and nothing for the first two).
    expect(theirs).not.toContain(hex(sub));
    // The PUBLISH refers back into the SUBSCRIBE, which is missing from tshark's window: wrong bytes, no warning.
    expect(theirs.at(-1)).not.toBe(hex(pub));
    expect(theirs.at(-1)!.length).toBe(hex(pub).length);
    const ours = jsonLines(runCli(['--json', file]).stdout);
    expect(ours.filter((o) => o.kind === 'packet' && o.dir === 'c2s').map((o) => o.type)).toEqual(['CONNECT', 'SUBSCRIBE', 'PUBLISH']);
    expect(fields(ours.find((o) => o.type === 'PUBLISH')!).topic).toBe('deflate-diff/sensor-1/t');
  });

  it('server_no_context_takeover: tshark also resets the client\'s window and inflates client messages that refer back to nothing; we decode them', () => {
    const [c0, c1, c2] = deflateMessages([connect, sub, pub]);
    const file = deflateCapture(['server_no_context_takeover'], [{ payload: c0! }, { payload: c1! }, { payload: c2! }]);
    const theirs = tsharkData(file);
    expect(theirs[0]).toBe(hex(connect));
    expect(theirs.slice(1)).toEqual(['', '']);
    const ours = jsonLines(runCli(['--json', file]).stdout);
    expect(ours.filter((o) => o.kind === 'packet' && o.dir === 'c2s').map((o) => o.type)).toEqual(['CONNECT', 'SUBSCRIBE', 'PUBLISH']);
    expect(ours.filter((o) => o.event === 'websocket-inflate')).toEqual([]);
  });
});
