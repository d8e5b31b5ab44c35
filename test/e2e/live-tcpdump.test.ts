/**
 * The way users run it live: `tcpdump -U -w - port 1883 | mqtt-dissect -` against a real mosquitto broker and client.
 * Everything runs in a network namespace this test creates, and every process is stopped by its PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../builders/cli.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const isRoot = process.getuid?.() === 0;
const ready = isRoot && ['ip', 'tcpdump', 'mosquitto', 'mosquitto_pub'].every(has);
const ns = `mqd-live-${process.pid}`;
const started: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await sleep(50);
  }
  return check();
}

function inNs(args: string[]): ChildProcess {
  const p = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(p);
  return p;
}

afterAll(async () => {
  for (const p of started.reverse()) {
    if (p.exitCode === null && p.pid !== undefined) {
      try { process.kill(p.pid, 'SIGTERM'); } catch { /* already gone */ }
    }
  }
  await sleep(200);
  if (ready) spawnSync('ip', ['netns', 'delete', ns]);
});

describe.skipIf(!ready)('live pipe from tcpdump', () => {
  it('prints packets while tcpdump is still running', async () => {
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    expect(spawnSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']).status).toBe(0);
    const broker = inNs(['mosquitto', '-p', '1883']);
    // The broker is ready once something listens on 1883 inside the namespace.
    const listening = await waitFor(() => /:1883\b/.test(spawnSync('ip', ['netns', 'exec', ns, 'ss', '-ltn']).stdout.toString()), 10_000);
    expect(listening, 'mosquitto did not start').toBe(true);

    const tcpdump = inNs(['tcpdump', '-U', '--immediate-mode', '-i', 'lo', '-w', '-', 'port', '1883']);
    let tcpdumpErr = '';
    tcpdump.stderr!.on('data', (d: Buffer) => { tcpdumpErr += d.toString(); });
    const cli = spawn(process.execPath, [BIN, '-'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(cli);
    tcpdump.stdout!.pipe(cli.stdin!);
    let out = '';
    cli.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    expect(await waitFor(() => /listening on/.test(tcpdumpErr), 10_000), 'tcpdump did not start').toBe(true);

    const pub = inNs(['mosquitto_pub', '-h', '127.0.0.1', '-p', '1883', '-V', 'mqttv311', '-i', 'live-client', '-q', '1', '-t', 'live/topic', '-m', 'hello live']);
    const pubExit = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => resolve(null), 10_000);
      pub.on('close', (code) => { clearTimeout(t); resolve(code); });
    });
    expect(pubExit).toBe(0);

    const seen = await waitFor(() => out.includes('PUBACK') && out.includes('DISCONNECT'), 10_000);
    // The proof: the packets are on our stdout while tcpdump (and so our stdin) is still open.
    expect(tcpdump.exitCode).toBeNull();
    expect(cli.exitCode).toBeNull();
    expect(seen, `output so far:\n${out}`).toBe(true);
    expect(out).toContain('clientId="live-client"');
    expect(out).toMatch(/PUBLISH +v3\.1\.1 #\d+ "live-client" topic="live\/topic" qos=1 id=\d+ len=10 "hello live"/);

    process.kill(tcpdump.pid!, 'SIGINT');
    const cliExit = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => resolve(null), 10_000);
      cli.on('close', (code) => { clearTimeout(t); resolve(code); });
    });
    expect(cliExit).toBe(0);
    process.kill(broker.pid!, 'SIGTERM');
  }, 60_000);
});
