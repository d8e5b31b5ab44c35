/**
 * --threads 2 (issue 11): the dialects and renderers in a worker thread print exactly what one thread prints, in
 * every mode, for every capture of captures/, and behave the same at the edges: unreadable input, a packet larger
 * than a ring message, a reader that goes away, a live pipe. --summary alone and --only-violations split before the
 * rules (they run in the worker), the other modes after them: both splits are covered.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { writePcap } from '../builders/capture-writer.js';
import { BIN, ROOT, runCli, streamCli, tempFile, type CliResult } from '../builders/cli.js';
import { ethernet, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';

const T0 = 1_700_000_000;
const timed = (frames: Uint8Array[]) => frames.map((data, i) => ({ timeSec: T0 + i, timeNsec: 250_000, data: ethernet(data) }));
/** Captures also compared in text and -x: malformed packets, transport damage, WebSocket frames (also inflated ones), TLS records. */
const TEXT_TOO = ['seed-walkthrough.pcap', 'synthetic-malformed.pcapng', 'synthetic-transport-trouble.pcap', 'real-wss-8084.pcap', 'real-ws-8080.pcap', 'real-ws-8083.pcap'];
const CAPTURES = readdirSync(`${ROOT}/captures`).filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f)).map((f) => `captures/${f}`);

/** Runs both ways at once (each run is its own process) and returns [one thread, two threads]. */
async function both(args: string[]): Promise<[CliResult, CliResult]> {
  const run = (extra: string[]) => new Promise<CliResult>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...extra, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '', FORCE_COLOR: undefined } as NodeJS.ProcessEnv });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
  return Promise.all([run([]), run(['--threads', '2'])]);
}

function expectSame([one, two]: [CliResult, CliResult]): void {
  expect(two.status).toBe(one.status);
  expect(two.stderr).toBe(one.stderr);
  // Compared whole, but reported by line: a difference then names its record.
  if (two.stdout !== one.stdout) expect(two.stdout.split('\n')).toEqual(one.stdout.split('\n'));
}

describe('--threads 2 prints what one thread prints', () => {
  it.each(CAPTURES)('%s in every mode', async (capture) => {
    // --json (split after the rules) and --summary (before them) on every capture; text and -x, which render in the
    // same worker as --json but carry frame times and WebSocket notes, on the captures with the most of those.
    const modes = capture.includes('midstream') || !TEXT_TOO.some((c) => capture.endsWith(c)) ? [['--json'], ['--summary']] : [[], ['--json'], ['-x'], ['--summary']];
    for (const mode of modes) expectSame(await both([...mode, capture]));
  }, 120_000);

  it('in the modes with more options', async () => {
    for (const mode of [['-V'], ['--json', '--summary'], ['--only-violations'], ['--fail-on', 'warning'], ['--full', '--redact', '-x'], ['--dialect', 'none', '--json']]) {
      expectSame(await both([...mode, 'captures/synthetic-malformed.pcapng', 'captures/real-onenet-6002.pcap']));
    }
  }, 120_000);

  it('a capture with findings of the sessions stage, in both splits (after the rules and before them)', async () => {
    const sub = new TcpSession('192.0.2.10:40001', '192.0.2.1:1883');
    const pub = new TcpSession('192.0.2.11:40002', '192.0.2.1:1883');
    const again = new TcpSession('192.0.2.12:40003', '192.0.2.1:1883');
    const file = tempFile('sessions.pcap', writePcap(timed([
      ...sub.handshake(), ...sub.c2s(m.connect({ clientId: 'sub' })), ...sub.s2c(m.connack()),
      ...sub.c2s(m.subscribe({ packetId: 1, subscriptions: [{ topic: 'a/+', qos: 1 }] })), ...sub.s2c(m.suback({ packetId: 1, codes: [1] })),
      ...pub.handshake(), ...pub.c2s(m.connect({ clientId: 'pub' })), ...pub.s2c(m.connack()),
      ...pub.c2s(m.publish({ topic: 'a/b', qos: 2, packetId: 3, payload: 'hello world' })), ...pub.s2c(m.ack('PUBREC', { packetId: 3 })),
      ...pub.c2s(m.ack('PUBREL', { packetId: 3 })), ...pub.s2c(m.ack('PUBCOMP', { packetId: 3 })),
      // Granted QoS 1, published at QoS 2: delivered at QoS 0 (MQTT-3.8.4-6).
      ...sub.s2c(m.publish({ topic: 'a/b', payload: 'hello world' })),
      // A second connection of ClientId "pub"; the first is never closed (MQTT-3.1.4-2).
      ...again.handshake(), ...again.c2s(m.connect({ clientId: 'pub' })), ...again.s2c(m.connack()),
      ...again.c2s(m.disconnect()), ...again.close(),
    ])));
    for (const mode of [['--json'], [], ['--only-violations'], ['--summary'], ['--json', '--only-violations'], ['--json', '--summary']]) {
      const r = await both([...mode, file]);
      expectSame(r);
      if (mode.length === 1 && mode[0] === '--json') {
        expect(r[1].stdout).toContain('"kind":"message"');
        expect(r[1].stdout).toContain('"kind":"session"');
        expect(r[1].stdout).toContain('MQTT-3.8.4-6');
        expect(r[1].stdout).toContain('MQTT-3.1.4-2');
      }
    }
  }, 120_000);

  it('a PUBLISH of 3 MiB over 2,000 segments (sent through the ring in parts)', async () => {
    const s = new TcpSession('192.0.2.10:40000', '192.0.2.1:1883');
    const payload = Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 31) & 0xff);
    const file = tempFile('big.pcap', writePcap(timed([
      ...s.handshake(), ...s.c2s(m.connect({ clientId: 'big' })), ...s.s2c(m.connack()),
      ...s.c2s(m.publish({ topic: 'big/blob', qos: 1, packetId: 1, payload }), 1600), ...s.s2c(m.ack('PUBACK', { packetId: 1 })),
    ])));
    const r = await both(['--json', '--full', file]);
    expectSame(r);
    expect(r[1].stdout).toContain('"topic":"big/blob"');
  }, 60_000);

  it('an unreadable input after a good one: what was read before, the one-line message, exit 1, no summary', async () => {
    // The second file is no capture.
    for (const args of [['--summary', 'captures/seed-walkthrough.pcap', 'README.md'], ['--json', 'captures/seed-walkthrough.pcap', 'README.md']]) {
      const r = await both(args);
      expectSame(r);
      expect(r[1].status).toBe(1);
      expect(r[1].stderr).toMatch(/^mqtt-dissect: /);
      expect(r[1].stdout).not.toContain('Packet types');
    }
    // A gzip file damaged in its middle: the garbage it inflates to ends the reading with a corrupt-block event.
    const gz = readFileSync(`${ROOT}/captures/real-midstream-json.pcap.gz`);
    const damaged = Uint8Array.from(gz);
    for (let i = 0; i < 64; i++) damaged[Math.floor(gz.length / 2) + i] ^= 0x5a;
    const file = tempFile('damaged.pcap.gz', damaged);
    const r = await both(['--json', '--summary', file]);
    expectSame(r);
    expect(r[1].stdout).toContain('"event":"corrupt-block"');
  }, 60_000);

  it('stops early, with status 0, when its reader goes away (| head)', async () => {
    const child = spawn(process.execPath, [BIN, '--threads', '2', '-x', 'captures/real-midstream-json.pcap.gz'], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    child.stdout.once('data', () => child.stdout.destroy());
    const status = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, 30_000);
      child.on('close', (code) => { clearTimeout(t); resolve(code); });
    });
    expect(stderr).toBe('');
    expect(status).toBe(0);
  }, 40_000);

  it('shows a live capture as it arrives', async () => {
    const s = new TcpSession('192.0.2.10:40000', '192.0.2.1:1883');
    const whole = writePcap(timed([
      ...s.handshake(), ...s.c2s(m.connect({ clientId: 'live' })), ...s.s2c(m.connack()),
      ...s.c2s(m.publish({ topic: 'first', payload: '1' })), ...s.c2s(m.publish({ topic: 'second', payload: '2' })),
    ]));
    const cut1 = whole.length - 200;
    const chunks = [whole.subarray(0, cut1), whole.subarray(cut1, whole.length - 40), whole.subarray(whole.length - 40)];
    const { seenAfterChunk, final } = await streamCli(['--threads', '2', '-'], chunks);
    expect(final.status).toBe(0);
    expect(seenAfterChunk[0]).toContain('clientId="live"');
    expect(seenAfterChunk[1]).toContain('topic="first"');
    expect(seenAfterChunk[1]).not.toContain('topic="second"');
    expect(final.stdout).toContain('topic="second"');
  }, 40_000);

  it('takes 1 or 2 and nothing else', () => {
    const r = runCli(['--threads', '3', 'captures/seed-walkthrough.pcap']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--threads takes 1, 2/);
  });
});
