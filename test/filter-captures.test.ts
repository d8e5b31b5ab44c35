/**
 * -Y over every capture in captures/, through the CLI's own read path in process: what a filter shows is exactly the
 * unfiltered output's records that a separate oracle (plain JavaScript over the NDJSON) selects, and any expression
 * and its negation split the records between them (a property test over generated expressions).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readInProcess } from '../src/cli/read.js';

type Rec = Record<string, unknown> & { kind: string; conn?: number; type?: string; fields?: Record<string, unknown> };

const DIR = new URL('../captures/', import.meta.url);
const CAPTURES = readdirSync(DIR).filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f) && !f.startsWith('real-large'));

function load(name: string): Uint8Array {
  const b = readFileSync(new URL(name, DIR));
  return name.endsWith('.gz') ? gunzipSync(b) : b;
}

/** The TLS captures decrypt with their own key logs (captures/NAME.keys). */
function keylogOf(name: string): string | undefined {
  const base = name.replace(/(-dsb)?\.pcap(ng)?(\.gz)?$/, '');
  const file = new URL(`${base}.keys`, DIR);
  try { readFileSync(file); return file.pathname; } catch { return undefined; }
}

async function run(bytes: Uint8Array, capture: string, filter?: string): Promise<Rec[]> {
  const k = keylogOf(capture);
  const r = await readInProcess(bytes, { json: true, ...(filter !== undefined ? { filter } : {}), ...(k !== undefined ? { tlsKeylog: k } : {}), port: [8080] });
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Rec);
}

/** The records a filter chooses from: the sessions stage's message and session records are never shown with -Y. */
function unfiltered(all: Rec[]): Rec[] {
  return all.filter((r) => r.kind !== 'message' && r.kind !== 'session');
}

function clientIds(all: Rec[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const r of all) if (r.kind === 'packet' && r.type === 'CONNECT' && r['dir'] === 'c2s' && typeof r.fields?.['clientId'] === 'string') m.set(r.conn!, r.fields['clientId']);
  return m;
}

const subs = (r: Rec): { topic: string; qos: number }[] => (r.fields?.['subscriptions'] ?? []) as { topic: string; qos: number }[];

describe('-Y shows exactly what the oracle selects', () => {
  for (const capture of CAPTURES) {
    it(capture, async () => {
      const bytes = load(capture);
      const all = unfiltered(await run(bytes, capture));
      const ids = clientIds(all);
      const connectFrame = new Map<number, number>();
      for (const r of all) if (r.kind === 'packet' && r.type === 'CONNECT' && !connectFrame.has(r.conn!)) connectFrame.set(r.conn!, r['frame'] as number);
      const firstId = [...ids.values()].find((v) => v !== '' && !v.includes('"') && !v.includes('\\')) ?? 'none';
      const topic = (r: Rec): string | undefined => (r.fields?.['resolvedTopic'] ?? r.fields?.['topic']) as string | undefined;
      const cases: [string, (r: Rec) => boolean][] = [
        ['type == PUBLISH', (r) => r.kind === 'packet' && r.type === 'PUBLISH'],
        ['kind == close', (r) => r.kind === 'close'],
        ['event', (r) => r.kind === 'event'],
        ['qos >= 1 && dir == c2s', (r) => r.kind === 'packet' && r['dir'] === 'c2s' && (
          (r.type === 'PUBLISH' && (r.fields?.['qos'] as number) >= 1) || (r.type === 'SUBSCRIBE' && subs(r).some((x) => x.qos >= 1)))],
        ['mqtt.qos >= 1', (r) => r.kind === 'packet' && r.type === 'PUBLISH' && (r.fields?.['qos'] as number) >= 1],
        // Known from the connection's CONNECT on: a TLS or WebSocket handshake event before it has no client id yet.
        [`clientId == "${firstId}"`, (r) => r.conn !== undefined && ids.get(r.conn) === firstId && (r.frame as number) >= connectFrame.get(r.conn)!],
        ['violation', (r) => Array.isArray(r['violations']) && (r['violations'] as unknown[]).length > 0],
        ['violation.severity == error', (r) => Array.isArray(r['violations']) && (r['violations'] as { severity: string }[]).some((v) => v.severity === 'error')],
        ['!(type in {PUBLISH PUBACK}) && kind == packet', (r) => r.kind === 'packet' && r.type !== 'PUBLISH' && r.type !== 'PUBACK'],
        // "+/#" matches every topic but the $ ones: '#' also matches its parent level (4.7.1.2).
        ['topic matches "+/#" && type == PUBLISH', (r) => r.kind === 'packet' && r.type === 'PUBLISH' && topic(r) !== undefined && !topic(r)!.startsWith('$')],
        ['topic matches "+/+" && type == PUBLISH', (r) => r.kind === 'packet' && r.type === 'PUBLISH' && topic(r) !== undefined && !topic(r)!.startsWith('$') && topic(r)!.split('/').length === 2],
        ['retain == true', (r) => r.kind === 'packet' && r.type === 'PUBLISH' && r.fields?.['retain'] === true],
        ['tcp.port == 1883', (r) => r.conn !== undefined && all.some((x) => x.kind === 'close' && x.conn === r.conn && (String(x['client']).endsWith(':1883') || String(x['server']).endsWith(':1883')))],
      ];
      for (const [expr, oracle] of cases) {
        const want = all.filter(oracle);
        expect(await run(bytes, capture, expr), expr).toEqual(want);
      }
    });
  }
});

/** Expressions over fields every capture has, built from a small grammar. */
const atom = fc.oneof(
  fc.constantFrom('type == PUBLISH', 'type == CONNECT', 'qos == 1', 'qos > 0', 'retain', 'dup == 1', 'dir == c2s', 'event', 'violation',
    'kind == close', 'topic contains "a"', 'topic matches "#"', 'payloadLength > 10', 'packetId < 5', 'clientId', 'version == "5.0"',
    'tcp.port == 1883', 'properties.topicAlias', 'payload contains "1"', 'mqtt.msgtype in {4 5 6 7}', 'frame > 20',
    'tcp.len > 40', 'ip.ttl == 64', 'tcp.flags.push == 1', 'reasonCode == 0', 'src contains ":1883"'),
);
const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    atom,
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => `(${a}) && (${b})`),
    fc.tuple(tie('e'), tie('e')).map(([a, b]) => `(${a}) || (${b})`),
    tie('e').map((a) => `!(${a})`)),
})).e;

describe('an expression and its negation', () => {
  // Every capture, with a bounded number of expressions each (more on the one with the most field kinds); seeded, so a
  // failure reproduces.
  for (const capture of CAPTURES) {
    const numRuns = capture === 'real-v5-props.pcapng' ? 60 : 8;
    it(`split ${capture}'s records between them, in order (${numRuns} expressions)`, async () => {
      const bytes = load(capture);
      const all = unfiltered(await run(bytes, capture));
      expect(all.length).toBeGreaterThan(0);
      const key = (r: Rec): string => JSON.stringify(r);
      await fc.assert(fc.asyncProperty(expr, async (e) => {
        const yes = await run(bytes, capture, e);
        const no = await run(bytes, capture, `!(${e})`);
        expect(yes.length + no.length).toBe(all.length);
        const inYes = new Set(yes.map(key));
        // Merged back by position they give the whole output: nothing lost, nothing twice, nothing reordered.
        expect(all.filter((r) => inYes.has(key(r)))).toEqual(yes);
        expect(all.filter((r) => !inYes.has(key(r)))).toEqual(no);
      }), { numRuns, seed: 15 });
    }, 120_000);
  }
});
