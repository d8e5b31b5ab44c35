/** --max-connections on the command line (issue 18): the budget is the user's, and its evictions are reported. */
import { describe, expect, it } from 'vitest';
import { writePcap } from '../builders/capture-writer.js';
import { jsonLines, runCli, tempFile } from '../builders/cli.js';
import { ethernet, LINK, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';

const T0 = 1_700_000_000;

/** One MQTT session, then `syns` SYNs that never complete. */
function capture(syns: number): string {
  const frames: Uint8Array[] = [];
  const s = new TcpSession('192.0.2.10:40000', '192.0.2.1:1883');
  frames.push(...s.handshake(), ...s.c2s(m.connect({ clientId: 'dev-1' })), ...s.s2c(m.connack()));
  for (let i = 0; i < syns; i++) frames.push(new TcpSession(`192.0.2.${20 + i}:41000`, '192.0.2.1:1883').handshake()[0]!);
  frames.push(...s.c2s(m.pingreq()), ...s.s2c(m.pingresp()));
  return tempFile('syns.pcap', writePcap(frames.map((data, i) => ({ timeSec: T0, timeNsec: i * 1000, data: ethernet(data) })), { linkType: LINK.ETHERNET }));
}

describe('--max-connections', () => {
  it('evicts the half-open connections, keeps the one with data, and says so once with the count', () => {
    const r = runCli(['--json', '--max-connections', '3', capture(10)]);
    expect(r.status).toBe(0);
    const lines = jsonLines(r.stdout);
    const ev = lines.filter((l) => l.event === 'evicted');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ count: 8, conn: null });
    expect(String(ev[0]!.message)).toContain('8 without data yet, 0 idle longest');
    // The MQTT session survived the flood: its later packets are still decoded on connection 0.
    expect(lines.filter((l) => l.kind === 'packet').map((l) => `${String(l.conn)} ${String(l.type)}`)).toEqual(['0 CONNECT', '0 CONNACK', '0 PINGREQ', '0 PINGRESP']);
  });

  it('the default budget is not reached by a small capture: no event', () => {
    const r = runCli(['--json', capture(10)]);
    expect(jsonLines(r.stdout).filter((l) => l.event === 'evicted')).toEqual([]);
  });

  it('a budget that is no positive whole number is a usage error', () => {
    for (const bad of ['0', '-1', '2.5', 'many']) {
      const r = runCli(['--max-connections', bad, capture(0)]);
      expect(r.status, bad).toBe(2);
      expect(r.stderr).toContain('--max-connections');
    }
  });
});
