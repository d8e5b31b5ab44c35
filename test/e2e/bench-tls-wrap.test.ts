/**
 * bench/tls-wrap.mjs (the TLS mode of `npm run bench`): a small generated capture wrapped in TLS 1.3 decrypts, with the
 * key log it writes, to exactly the MQTT packets of the plain capture, on port 8883 with every record opened; without
 * the keys, or with keys of another seed, nothing is decoded and each connection says why.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runCli, tempFile } from '../builders/cli.js';

type Rec = Record<string, unknown>;
interface WrapStats { frames: number; insertedFrames: number; connections: number; records: number; tlsBytes: number; plaintextBytes: number }

const dir = mkdtempSync(join(tmpdir(), 'bench-tls-wrap-'));
const plain = join(dir, 'plain.pcap');
const tls = join(dir, 'tls.pcap');
const keys = join(dir, 'tls.keys');
let stats: WrapStats;
let plainPackets: Rec[];

/** A packet as both captures must show it (OneNET's dialect notes depend on port 6002, which becomes 8883). */
const essence = (p: Rec): unknown => {
  const { onenet: _o, ...fields } = p.fields as Rec;
  return [p.type, p.dir, p.version, p.length, fields, p.violations];
};

beforeAll(async () => {
  // @ts-expect-error -- plain JavaScript modules of the bench, without type declarations
  const gen = (await import('../../bench/generate.mjs')) as { generate(o: { sizeBytes: number; out: string; seed: number; log(): void }): unknown };
  // @ts-expect-error -- as above
  const wrap = (await import('../../bench/tls-wrap.mjs')) as { wrapTls(o: { input: string; output: string; keys: string; seed: number }): WrapStats };
  gen.generate({ sizeBytes: 300_000, out: plain, seed: 7, log: () => {} });
  stats = wrap.wrapTls({ input: plain, output: tls, keys, seed: 7 });
  const r = runCli(['--json', plain]);
  expect(r.status).toBe(0);
  plainPackets = jsonLines(r.stdout).filter((l) => l.kind === 'packet');
}, 60_000);

describe('bench/tls-wrap.mjs', () => {
  it('with its key log: the same MQTT packets in the same order, all over TLS, no TLS error', () => {
    expect(stats.connections).toBeGreaterThan(10);
    expect(stats.insertedFrames).toBe(2 * stats.connections);
    // One record per TCP payload, each adding 22 bytes (header, inner type, tag), and per connection a 59-byte
    // ClientHello and a 55-byte ServerHello.
    expect(stats.tlsBytes - stats.plaintextBytes).toBe(22 * stats.records + (59 + 55) * stats.connections);
    expect(stats.plaintextBytes).toBeGreaterThan(100_000);
    expect(readFileSync(keys, 'utf8').split('\n').filter((l) => l.startsWith('CLIENT_TRAFFIC_SECRET_0 '))).toHaveLength(stats.connections);
    const r = runCli(['--json', '--tls-keylog', keys, tls], { env: { SSLKEYLOGFILE: '' } });
    expect(r.status).toBe(0);
    const recs = jsonLines(r.stdout);
    const packets = recs.filter((l) => l.kind === 'packet');
    expect(packets.length).toBe(plainPackets.length);
    expect(packets.map(essence)).toEqual(plainPackets.map(essence));
    expect(packets.every((p) => p.transport === 'tls' && String(p.dst).endsWith(':8883') === (p.dir === 'c2s'))).toBe(true);
    const facts = recs.filter((l) => l.event === 'tls').map((l) => l.tls as Rec);
    expect(facts).toHaveLength(stats.connections);
    expect(facts.every((f) => f.version === 'TLS 1.3' && f.cipherSuite === 'TLS_AES_128_GCM_SHA256' && f.decrypted === true)).toBe(true);
    expect(recs.filter((l) => l.event === 'tls-error' || l.event === 'gap')).toEqual([]);
  });

  it('without keys, or with wrong secrets for the right sessions: no MQTT, one tls-error per connection', () => {
    const none = jsonLines(runCli(['--json', tls], { env: { SSLKEYLOGFILE: '' } }).stdout);
    expect(none.filter((l) => l.kind === 'packet')).toEqual([]);
    expect(none.filter((l) => l.event === 'tls-error').map((l) => l.reason)).toEqual(new Array(stats.connections).fill('no-key'));
    // The same client randoms with other secrets (each secret's first byte changed): the keys do not open the records.
    const wrongKeys = readFileSync(keys, 'utf8').replace(/^(\S+ [0-9a-f]{64} )([0-9a-f])/gm, (_m, head: string, c: string) => `${head}${c === '0' ? '1' : '0'}`);
    expect(wrongKeys).not.toBe(readFileSync(keys, 'utf8'));
    const wrong = jsonLines(runCli(['--json', '--tls-keylog', tempFile('wrong.keys', wrongKeys), tls], { env: { SSLKEYLOGFILE: '' } }).stdout);
    expect(wrong.filter((l) => l.kind === 'packet')).toEqual([]);
    const errors = wrong.filter((l) => l.event === 'tls-error');
    expect(new Set(errors.map((l) => l.conn)).size).toBe(stats.connections);
    expect(errors.some((l) => l.reason === 'no-key')).toBe(false);
  });
});
