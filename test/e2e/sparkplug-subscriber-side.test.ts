/**
 * Sparkplug from the subscribers' side on real traffic: captures/real-sparkplug.pcap cut down by tshark to the host
 * application's connection alone (what a capture on the host's machine holds). The host's deliveries must decode to
 * the same Sparkplug records as in the whole capture (names and types through the births it received), and the copies
 * it received are judged for their payload bytes only: the Tahu edge node's departures are all of the kinds a copy
 * cannot show (Will QoS, subscriptions, data types repeated in data), so nothing is found.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { jsonLines, ROOT, runCli } from '../builders/cli.js';
import { tsharkAvailable } from '../builders/tshark.js';

const REAL = join(ROOT, 'captures', 'real-sparkplug.pcap');
const dir = mkdtempSync(join(tmpdir(), 'sp-sub-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!tsharkAvailable())('a capture of the host application\'s connection alone', () => {
  test('the same decoded Sparkplug records as in the whole capture, and no finding', () => {
    const whole = jsonLines(runCli(['--json', REAL]).stdout);
    const host = whole.find((r) => r['type'] === 'CONNECT' && (r['fields'] as Record<string, unknown>)['clientId'] === 'corpus-sp-host')!;
    const hostConn = host['conn'] as number;
    const sub = join(dir, 'host-only.pcap');
    execFileSync('tshark', ['-r', REAL, '-Y', `tcp.stream == ${hostConn}`, '-w', sub], { stdio: 'ignore', timeout: 60_000 });
    const r = runCli(['--json', sub]);
    expect(r.status, r.stderr).toBe(0);
    const part = jsonLines(r.stdout);
    const sparkplug = (rs: Record<string, unknown>[], conn: number | null): unknown[] => rs
      .filter((x) => x['type'] === 'PUBLISH' && x['dir'] === 's2c' && (conn === null || x['conn'] === conn))
      .map((x) => (x['fields'] as Record<string, unknown>)['sparkplug']);
    const want = sparkplug(whole, hostConn);
    expect(want.length).toBeGreaterThan(300);
    expect(sparkplug(part, null)).toEqual(want);
    expect(part.flatMap((x) => (x['violations'] as unknown[] | undefined) ?? [])).toEqual([]);
    // The cut capture is the host's connection (tshark numbers streams as we number connections here), and the edge
    // node's own connection is not in it: its deliveries are judged as copies there.
    expect(part.some((x) => x['type'] === 'CONNECT' && (x['fields'] as Record<string, unknown>)['clientId'] === 'corpus-sp-host')).toBe(true);
    expect(part.some((x) => x['type'] === 'CONNECT' && (x['fields'] as Record<string, unknown>)['clientId'] !== 'corpus-sp-host')).toBe(false);
  });
});
