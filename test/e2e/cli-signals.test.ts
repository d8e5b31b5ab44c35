/**
 * SIGINT / SIGTERM on a live pipe (issue 12, issue 18 item 7): reading stops and everything is flushed as at the end
 * of the input (pending events, incomplete flows, the summary), then the exit status is 130 / 143. A real child
 * process is fed through a pipe that stays open and is signalled by its PID; every wait is bounded.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { writePcap } from '../builders/capture-writer.js';
import { BIN, ROOT, runCli } from '../builders/cli.js';
import { ethernet, LINK, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';

const T0 = 1_700_000_000;

/** A connection left open, its last PUBLISH only half sent: only the end of the input reports that one. */
function openSession(): Uint8Array {
  const s = new TcpSession('192.0.2.10:40000', '192.0.2.1:1883');
  const frames = [
    ...s.handshake(),
    ...s.c2s(m.connect({ clientId: 'sig', keepAlive: 2 })),
    ...s.s2c(m.connack()),
    ...s.c2s(m.publish({ topic: 'a/b', qos: 1, packetId: 7, payload: 'unacked' })),
    ...s.c2s(m.publish({ topic: 'a/c', payload: 'x'.repeat(40) }).subarray(0, 20)),
  ];
  return writePcap(frames.map((data, i) => ({ timeSec: T0 + i * 5, timeNsec: 0, data: ethernet(data) })), { linkType: LINK.ETHERNET });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Feeds `input` into a child that keeps its stdin open, waits until `ready` is on stdout, then sends `signal` by PID. */
async function interrupted(args: string[], input: Uint8Array, ready: string, signal: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string; sawReady: boolean }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdin.write(input);
  const deadline = Date.now() + 15_000;
  while (!stdout.includes(ready) && Date.now() < deadline) await sleep(20);
  const sawReady = stdout.includes(ready);
  process.kill(child.pid!, signal);
  const killer = setTimeout(() => { process.kill(child.pid!, 'SIGKILL'); }, 15_000);
  const code = await closed;
  clearTimeout(killer);
  child.stdin.destroy();
  return { code, stdout, stderr, sawReady };
}

describe('a signal ends the run as the end of the input would', () => {
  const input = openSession();

  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal}: the same output as at end of input, then exit ${status}`, async () => {
      const args = ['--json', '--summary', '-'];
      // What end of input prints for the same bytes: the oracle.
      const atEnd = runCli(args, { input });
      expect(atEnd.status).toBe(0);
      const r = await interrupted(args, input, '"type":"PUBLISH"', signal);
      expect(r.sawReady).toBe(true);
      expect(r.code).toBe(status);
      expect(r.stdout).toBe(atEnd.stdout);
      // And that output holds what only the end of input produces: the unfinished flow and the summary.
      const tail = atEnd.stdout.slice(atEnd.stdout.indexOf('"type":"PUBLISH"'));
      expect(tail).toMatch(/\n\{"kind":"event"[^\n]*"conn":0/);
      // --summary --json: the tables are kind:"summary" records (the connections row names the client id).
      expect(tail).toMatch(/\n\{"kind":"summary","table":"connections"[^\n]*"clientId":"sig"/);
    });
  }

  it('text mode with --summary: the same lines and tables as at end of input', async () => {
    const args = ['--summary', '-'];
    const atEnd = runCli(['-V', ...args], { input });
    const r = await interrupted(['-V', ...args], input, 'a/b', 'SIGINT');
    expect(r.code).toBe(130);
    expect(r.stdout).toBe(atEnd.stdout);
    expect(atEnd.stdout).toMatch(/Packet types/);
  });
});
