/**
 * The corpus script reproduces captures of the same shape on this machine: it regenerates every real-traffic capture
 * with real mosquitto and clients in a private network namespace and compares the MQTT packet-type counts with
 * captures/MANIFEST.md. Needs root (namespaces, capture); skipped cleanly otherwise.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../builders/cli.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const ready = process.getuid?.() === 0 && ['ip', 'mosquitto', 'mosquitto_pub', 'tcpdump', 'dumpcap', 'tshark'].every(has);

describe.skipIf(!ready)('scripts/make-captures.sh --check', () => {
  it('regenerates the corpus with the same packet-type counts', () => {
    const r = spawnSync('bash', ['scripts/make-captures.sh', '--check'], { cwd: ROOT, timeout: 240_000, encoding: 'utf8' });
    expect(r.status, `${r.stderr.slice(-3000)}`).toBe(0);
    expect(r.stderr).toMatch(/same packet-type counts as MANIFEST\.md/);
    expect(r.stderr).not.toMatch(/DIFFERENT/);
  }, 300_000);
});
