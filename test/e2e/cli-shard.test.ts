/**
 * --shard K/N: one capture split over N processes by connection, and the README's recipe for merging their NDJSON.
 * Together the shards must say exactly what one process says, each connection in one shard, nothing twice.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseShard } from '../../src/cli/main.js';
import { shardFilter, shardOfTuple } from '../../src/tcp/shard.js';
import { writePcap } from '../builders/capture-writer.js';
import { BIN, jsonLines, ROOT, runCli, tempFile } from '../builders/cli.js';
import { ethernet, LINK, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';

/**
 * Twelve interleaved IPv4 sessions on different client ports and two IPv6 ones, then a cut last record (a finding of
 * no connection).
 */
function capture(cut = true): Uint8Array {
  const sessions = [
    ...Array.from({ length: 12 }, (_, i) => new TcpSession(`198.51.100.${10 + i}:${41000 + i * 7}`, '198.51.100.1:1883', { mss: 60 })),
    new TcpSession('[2001:db8::10]:42002', '[2001:db8::1]:1883', { mss: 60 }),
    new TcpSession('[2001:db8::11]:42004', '[2001:db8::1]:1883', { mss: 60 }),
  ];
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

function has(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
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
  // Shards of several leave the sessions stage out (each sees only some connections): they add up to a run without it.
  const whole = jsonLines(runCli(['--json', '--no-sessions', path]).stdout);
  const N = 3;
  const parts = Array.from({ length: N }, (_, k) => {
    const r = runCli(['--json', '--shard', `${k + 1}/${N}`, path]);
    expect(r.status).toBe(0);
    return { text: r.stdout, lines: jsonLines(r.stdout) };
  });

  it('the capture has what the checks need', () => {
    expect(new Set(whole.map((o) => o.conn)).size).toBe(15); // 14 connections and null
    expect(whole.filter((o) => o.kind === 'close')).toHaveLength(14);
    expect(whole.filter((o) => o.event === 'incomplete-flow')).toHaveLength(4);
    expect(whole.filter((o) => o.conn === null).map((o) => o.event)).toEqual(['file-truncated']);
  });

  it('together the shards say exactly what one process says', () => {
    const merged = parts.flatMap((p) => p.lines.map(essence)).sort();
    expect(merged).toEqual(whole.map(essence).sort());
  });

  it('every connection is in one shard, the one its 4-tuple hash picks, with ids unique across shards', () => {
    const ids = new Set<number>();
    const endpoint = (a: string): [string, number] => {
      const i = a.lastIndexOf(':');
      return [a.slice(0, i).replace(/^\[|\]$/g, ''), Number(a.slice(i + 1))];
    };
    parts.forEach((p, k) => {
      for (const o of p.lines) {
        if (o.conn === null) continue;
        const id = o.conn as number;
        expect(id % N).toBe(k);
        const [src, sp] = endpoint(String(o.src ?? o.client));
        const [dst, dp] = endpoint(String(o.dst ?? o.server));
        expect(shardOfTuple(src, dst, sp, dp, N)).toBe(k);
        expect(shardOfTuple(dst, src, dp, sp, N)).toBe(k);
        ids.add(id);
      }
    });
    expect(ids.size).toBe(14);
    // Each shard's share is non-empty here.
    for (const p of parts) expect(p.lines.some((o) => o.kind === 'packet')).toBe(true);
  });

  it('findings of no connection come from the first shard only', () => {
    expect(parts.map((p) => p.lines.filter((o) => o.conn === null).length)).toEqual([1, 0, 0]);
  });

  /** The README's shell blocks of the sharding section, in order. */
  function readmeBlocks(): string[] {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### A capture too large'), readme.indexOf('## Design'));
    return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  }

  /** Runs a README block in a fresh directory holding big.pcap, with `mqtt-dissect` on PATH. */
  function runReadme(block: string): Record<string, unknown>[] {
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-shard-'));
    writeFileSync(join(dir, 'big.pcap'), readFileSync(path));
    const bin = join(dir, 'bin');
    execFileSync('mkdir', [bin]);
    writeFileSync(join(bin, 'mqtt-dissect'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, 'mqtt-dissect'), 0o755);
    execFileSync('bash', ['-c', block], { cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` }, stdio: 'ignore', timeout: 60_000 });
    return jsonLines(readFileSync(join(dir, 'all.ndjson'), 'utf8'));
  }

  function checkMerged(merged: Record<string, unknown>[]): void {
    expect(merged.map(essence).sort()).toEqual(whole.map(essence).sort());
    const frames = merged.map((o) => o.frame as number);
    expect(frames).toEqual([...frames].sort((a, b) => a - b));
  }

  it("the README's one-machine recipe (xargs -P) gives every line once, in frame order", () => {
    checkMerged(runReadme(readmeBlocks()[0]!));
  });

  it.skipIf(!has('parallel'))("the README's several-machine recipe (GNU parallel) gives every line once, run here on the local host", () => {
    // ':' is GNU parallel's name for the local machine.
    checkMerged(runReadme(readmeBlocks()[1]!.replace('HOSTS=host1,host2', 'HOSTS=:')));
  });

  it.skipIf(!has('tcpdump'))("the README's tcpdump filter splits a file the way --shard does", () => {
    const block = readmeBlocks()[2]!;
    const fn = block.slice(0, block.indexOf('\n}\n') + 3);
    // tcpdump stops with an error at a cut record: split the whole file.
    const whole = tempFile('uncut.pcap', capture(false));
    for (let k = 0; k < N; k++) {
      const filter = execFileSync('bash', ['-c', `${fn}\nshard_filter ${k + 1} ${N}`], { encoding: 'utf8' }).trim();
      expect(filter).toBe(shardFilter(k, N));
      const part = tempFile(`split${k}.pcap`, '');
      execFileSync('tcpdump', ['-r', whole, '-w', part, filter], { stdio: 'ignore' });
      const lines = (file: string) => jsonLines(runCli(['--json', '--shard', `${k + 1}/${N}`, file]).stdout).filter((o) => o.kind === 'packet' || o.kind === 'close');
      // Frame numbers and tshark's tcp.stream numbers count within the part file (as tshark would count them on
      // it); everything else, connection ids included, is the same.
      const strip = (o: Record<string, unknown>) => JSON.stringify({ ...o, frame: 0, frames: [], disconnectFrame: 0, tcpStream: 0 });
      const fromPart = lines(part).map(strip);
      expect(fromPart.filter((l) => l.includes('"kind":"packet"')).length).toBeGreaterThan(0);
      expect(fromPart).toEqual(lines(whole).map(strip));
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
