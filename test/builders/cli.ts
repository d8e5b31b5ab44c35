/** Runs the built CLI the way a user does (node bin/mqtt-dissect.js), for end-to-end tests. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'mqtt-dissect.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { input?: Uint8Array | string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    input: opts.input,
    env: { ...process.env, NO_COLOR: '', FORCE_COLOR: undefined, ...opts.env } as NodeJS.ProcessEnv,
    maxBuffer: 256 * 1024 * 1024,
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

const tempDirs: string[] = [];
// Temp captures live as long as the test worker: removed when it exits, so runs leave nothing behind.
process.on('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** Writes bytes to a fresh temp file and returns its path. */
export function tempFile(name: string, bytes: Uint8Array | string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-test-'));
  tempDirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').filter((l) => l.trim().length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Streams `chunks` into the CLI's stdin one at a time and resolves with what stdout had printed after each chunk,
 * while stdin was still open: proof that output appears as packets arrive, not at end of input.
 */
export async function streamCli(args: string[], chunks: Uint8Array[], settleMs = 3000): Promise<{ seenAfterChunk: string[]; final: CliResult }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  const seenAfterChunk: string[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (const c of chunks) {
    child.stdin.write(c);
    const before = stdout.length;
    // Bounded wait: until output grows (or settleMs passes), then a little longer for the rest of the burst.
    const deadline = Date.now() + settleMs;
    while (stdout.length === before && Date.now() < deadline) await sleep(20);
    await sleep(50);
    seenAfterChunk.push(stdout);
  }
  child.stdin.end();
  const status = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, 30_000);
    child.on('close', (code) => { clearTimeout(t); resolve(code); });
  });
  return { seenAfterChunk, final: { status, stdout, stderr } };
}
