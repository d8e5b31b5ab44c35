/**
 * --shard K/N: one capture split over N processes by connection, and the README's recipe for merging their NDJSON.
 * Together the shards must say exactly what one process says, each connection in one shard, nothing twice.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseShard } from '../../src/cli/main.js';
import { shardOf } from '../../src/tcp/reassembler.js';
import { writePcap } from '../builders/capture-writer.js';
import { jsonLines, runCli, tempFile } from '../builders/cli.js';
import { ethernet, LINK, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';

/** Twelve interleaved sessions on different client ports, then a cut last record (a finding of no connection). */
function capture(cut = true): Uint8Array {
  const sessions = Array.from({ length: 12 }, (_, i) => new TcpSession(`198.51.100.${10 + i}:${41000 + i * 7}`, '198.51.100.1:1883', { mss: 60 }));
  const rounds: Uint8Array[][] = sessions.map((s, i) => [
    ...s.handshake(),
    ...s.c2s(m.connect({ clientId: `dev${i}`, keepAlive: 30 })),
    ...s.s2c(m.connack()),
    // A QoS 2 flow left open: the connection's end reports it (an event with findings, at close).
    ...(i % 4 === 0 ? s.c2s(m.publish({ topic: `t/${i}`, qos: 2, packetId: 2, payload: 'y' })) : []),
    ...s.c2s(m.publish({ topic: `t/${i}`, qos: 1, packetId: 1, payload: 'x'.repeat(20 + i * 9) })),
    ...s.s2c(m.ack('PUBACK', { packetId: 1 })),
    ...s.close('client'),
  ]);
  const frames: Uint8Array[] = [];
  for (let step = 0; rounds.some((r) => step < r.length); step++) for (const r of rounds) if (step < r.length) frames.push(r[step]!);
  const pcap = writePcap(frames.map((p, i) => ({ timeSec: 1_700_000_000 + i, timeNsec: 0, data: ethernet(p) })), { linkType: LINK.ETHERNET });
  return cut ? pcap.subarray(0, pcap.length - 5) : pcap;
}

function hasTcpdump(): boolean {
  try {
    execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What a line says, without the connection id (numbered per shard). */
function essence(o: Record<string, unknown>): string {
  const { conn: _conn, ...rest } = o;
  return JSON.stringify(rest);
}

describe('--shard', () => {
  const path = tempFile('shards.pcap', capture());
  const whole = jsonLines(runCli(['--json', path]).stdout);
  const N = 3;
  const parts = Array.from({ length: N }, (_, k) => {
    const r = runCli(['--json', '--shard', `${k + 1}/${N}`, path]);
    expect(r.status).toBe(0);
    return { text: r.stdout, lines: jsonLines(r.stdout) };
  });

  it('the capture has what the checks need', () => {
    expect(new Set(whole.map((o) => o.conn)).size).toBe(13); // 12 connections and null
    expect(whole.filter((o) => o.event === 'incomplete-flow')).toHaveLength(3);
    expect(whole.filter((o) => o.conn === null).map((o) => o.event)).toEqual(['file-truncated']);
  });

  it('together the shards say exactly what one process says', () => {
    const merged = parts.flatMap((p) => p.lines.map(essence)).sort();
    expect(merged).toEqual(whole.map(essence).sort());
  });

  it('every connection is in one shard, the one its port sum picks, with ids unique across shards', () => {
    const ids = new Set<number>();
    parts.forEach((p, k) => {
      for (const o of p.lines) {
        if (o.conn === null) continue;
        const id = o.conn as number;
        expect(id % N).toBe(k);
        const [src, dst] = [String(o.src), String(o.dst)].map((a) => Number(a.split(':').pop()));
        expect(shardOf(src!, dst!, N)).toBe(k);
        ids.add(id);
      }
    });
    expect(ids.size).toBe(12);
    // Each shard's share is non-empty here (port sums spread over every residue).
    for (const p of parts) expect(p.lines.some((o) => o.kind === 'packet')).toBe(true);
  });

  it('findings of no connection come from the first shard only', () => {
    expect(parts.map((p) => p.lines.filter((o) => o.conn === null).length)).toEqual([1, 0, 0]);
  });

  it("the README's merge gives every line once, in frame order", () => {
    const files = parts.map((p, k) => tempFile(`part${k + 1}.ndjson`, p.text));
    const key = `key() { awk '{ match($0, /"frame":[0-9]+/); print substr($0, RSTART + 8, RLENGTH - 8) "\\t" $0 }' "$1"; }`;
    const script = `${key}\nLC_ALL=C sort -m -s -n -k1,1 ${files.map((f) => `<(key '${f}')`).join(' ')} | cut -f2-`;
    const out = execFileSync('bash', ['-c', script], { encoding: 'utf8' });
    const merged = jsonLines(out);
    expect(merged.map(essence).sort()).toEqual(whole.map(essence).sort());
    const frames = merged.map((o) => o.frame as number);
    expect(frames).toEqual([...frames].sort((a, b) => a - b));
  });

  it.skipIf(!hasTcpdump())("the README's tcpdump filter splits a file the way --shard does", () => {
    // tcpdump stops with an error at a cut record: split the whole file.
    const whole = tempFile('uncut.pcap', capture(false));
    for (let k = 0; k < N; k++) {
      const part = tempFile(`split${k}.pcap`, '');
      execFileSync('tcpdump', ['-r', whole, '-w', part, `tcp and (tcp[0:2] + tcp[2:2]) % ${N} = ${k}`], { stdio: 'ignore' });
      const packets = (file: string) => jsonLines(runCli(['--json', '--shard', `${k + 1}/${N}`, file]).stdout).filter((o) => o.kind === 'packet');
      // Frame numbers count within the part file; everything else, connection ids included, is the same.
      const strip = (o: Record<string, unknown>) => JSON.stringify({ ...o, frame: 0, frames: [] });
      const fromPart = packets(part).map(strip);
      expect(fromPart.length).toBeGreaterThan(0);
      expect(fromPart).toEqual(packets(whole).map(strip));
    }
  });

  it('is one shard of one: the same as without it', () => {
    expect(runCli(['--json', '--shard', '1/1', path]).stdout).toBe(runCli(['--json', path]).stdout);
  });

  it('parses K/N and refuses anything else with a usage error', () => {
    expect(parseShard('2/4')).toEqual({ index: 1, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', 'x', '1/', '1/2/3', '-1/2', '1/99999']) expect(typeof parseShard(bad)).toBe('string');
    const r = runCli(['--shard', '3/2', path]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^mqtt-dissect: --shard 3\/2 is not K\/N/);
  });
});
