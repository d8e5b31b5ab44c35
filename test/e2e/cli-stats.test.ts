/** `mqtt-dissect stats` from the command line, on a real capture: kept lean (the figures are tested in test/stats.test.ts). */
import { describe, expect, it } from 'vitest';
import { jsonLines, runCli } from '../builders/cli.js';

const CAPTURE = 'captures/real-v311-qos.pcap';

describe('mqtt-dissect stats', () => {
  it('--list names every section; a bad section or a missing capture is a one-line usage error', () => {
    const list = runCli(['stats', '--list']);
    expect(list.status).toBe(0);
    for (const s of ['clients', 'topics', 'talkers', 'io', 'timing', 'qos-flows']) expect(list.stdout).toMatch(new RegExp(`^${s} `, 'm'));
    const bad = runCli(['stats', 'bogus', CAPTURE]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('no stats section "bogus"');
    expect(runCli(['stats', 'io']).status).toBe(2);
  });

  it('qos-flows and io agree with the packet records of the same capture', () => {
    const packets = jsonLines(runCli(['--json', CAPTURE]).stdout).filter((o) => o.kind === 'packet');
    const flows = jsonLines(runCli(['stats', 'qos-flows', '--json', CAPTURE]).stdout).filter((o) => o.kind === 'stats');
    const completed = (qos: number): number => flows.filter((o) => o.table === 'states' && o.qos === qos && o.state === 'completed').reduce((n, o) => n + (o.count as number), 0);
    expect(completed(1)).toBe(packets.filter((p) => p.type === 'PUBACK').length);
    expect(completed(2)).toBe(packets.filter((p) => p.type === 'PUBCOMP').length);
    const io = runCli(['stats', 'io', '--csv', CAPTURE]);
    expect(io.status).toBe(0);
    const [head, ...rows] = io.stdout.trimEnd().split('\n');
    const col = head!.split(',').indexOf('packets');
    expect(rows.reduce((n, r) => n + Number(r.split(',')[col]), 0)).toBe(packets.length);
  });

  it('text tables, narrowed by -Y', () => {
    const r = runCli(['stats', 'timing', '-Y', 'clientId == "corpus-v311-pub-q1"', CAPTURE]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/│ PUBLISH->PUBACK +│ 1 +│/);
    expect(r.stdout).toMatch(/│ SUBSCRIBE->SUBACK +│ 0 +│/);
  });
});
