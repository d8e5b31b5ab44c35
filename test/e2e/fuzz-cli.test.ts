/**
 * Fuzzing the whole tool (issue #5): corrupted captures (bit flips, overwritten length words, cuts, inserted junk),
 * random bytes after a valid pcap header, and random records carrying random or damaged MQTT over TCP port 1883.
 *
 * - In process, in bulk: thousands of cases through the CLI's own pipeline and renderers (test/builders/public.ts
 *   renderCapture) in every output mode, pushed in random chunk sizes. Nothing may throw except the one
 *   CaptureFormatError the CLI turns into exit 1; every human line is free of control bytes.
 * - Through the CLI, a bounded number of processes (200 by default, split across the modes, some via stdin): exit 0
 *   or 1 (README: 0 read, 1 unreadable), at most one line on stderr (exactly one, starting "mqtt-dissect: ", with
 *   exit 1), never a stack trace or "internal error".
 *
 * Runs are seeded (FUZZ_SEED, default below) so a failure reproduces; FUZZ_RUNS and FUZZ_CLI_CASES scale them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mutatedCaptureArb, writePcap, writePcapngSimple, type FrameSpec } from '../builders/capture-writer.js';
import { BIN, ROOT } from '../builders/cli.js';
import { ethernet, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';
import { MODE_ARGS, renderCapture, type Mode } from '../builders/public.js';
import { SYNTHETIC_CAPTURES } from '../builders/synthetic-captures.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026);
const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const CLI_CASES = Number(process.env.FUZZ_CLI_CASES ?? 200);
const MODES: Mode[] = ['default', 'hex', 'verbose', 'json', 'summary'];

// ---------------------------------------------------------------------------------------------------
// Inputs

function timed(frames: Uint8Array[]): FrameSpec[] {
  return frames.map((f, i) => ({ timeSec: 1_700_000_000 + i, timeNsec: (i * 7919) % 1e9, data: ethernet(f) }));
}

/** A v5 session with many properties, a 3.1 session and a PUBLISH split over segments: lots for the decoder. */
function richFrames(): FrameSpec[] {
  const s = new TcpSession('10.2.0.2:41000', '10.2.0.1:1883', { mss: 90 });
  const t = new TcpSession('10.2.0.3:41001', '10.2.0.1:1883');
  return timed([
    ...s.handshake(),
    ...s.c2s(m.connect({ level: 5, clientId: 'rich', username: 'u', password: 'p', properties: [['sessionExpiryInterval', 60], ['userProperty', ['k', 'v']], ['topicAliasMaximum', 4]],
      will: { topic: 'w/t', payload: 'gone', qos: 1, properties: [['willDelayInterval', 5], ['contentType', 'text/plain']] } })),
    ...s.s2c(m.connack({ level: 5, properties: [['assignedClientIdentifier', 'a-1'], ['topicAliasMaximum', 4], ['reasonString', 'welcome']] })),
    ...s.c2s(m.subscribe({ level: 5, packetId: 1, properties: [['subscriptionIdentifier', 3]], subscriptions: [{ topic: 'a/#', qos: 2, noLocal: true }, { topic: '$share/g/b', qos: 1 }] })),
    ...s.s2c(m.suback({ level: 5, packetId: 1, codes: [2, 0x80] })),
    ...s.c2s(m.publish({ level: 5, topic: 'a/b', qos: 2, packetId: 2, payload: 'x'.repeat(300), properties: [['topicAlias', 1], ['correlationData', Uint8Array.of(1, 2)]] })),
    ...s.s2c(m.ack('PUBREC', { level: 5, packetId: 2, reasonCode: 0x10 })),
    ...s.c2s(m.ack('PUBREL', { level: 5, packetId: 2 })),
    ...s.s2c(m.ack('PUBCOMP', { level: 5, packetId: 2 })),
    ...s.c2s(m.publish({ level: 5, topic: '', qos: 1, packetId: 3, payload: Uint8Array.of(0, 0xff, 0x1b), properties: [['topicAlias', 1]] })),
    ...s.s2c(m.auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'X']] })),
    ...s.c2s(m.unsubscribe({ level: 5, packetId: 4, topics: ['a/#'] })),
    ...s.s2c(m.unsuback({ level: 5, packetId: 4, codes: [0x11] })),
    ...s.s2c(m.disconnect({ level: 5, reasonCode: 0x8e, properties: [['reasonString', 'taken over']] })),
    ...t.handshake(),
    ...t.c2s(m.connect({ level: 3, clientId: 'old', will: { topic: 'w', payload: 'x' } })),
    ...t.s2c(m.connack({ code: 0 })),
    ...t.c2s(m.pingreq()), ...t.s2c(m.pingresp()),
    ...t.close('client'),
  ]);
}

const BASES: Record<string, Uint8Array> = {
  ...Object.fromEntries(Object.entries(SYNTHETIC_CAPTURES).map(([k, build]) => [k, build()])),
  'rich.pcap': writePcap(richFrames()),
  'rich.pcapng': writePcapngSimple(richFrames()),
};

/** Valid MQTT packets to damage: one of each kind, both levels. */
const PACKETS: Uint8Array[] = [
  m.connect({ clientId: 'c', username: 'u', password: 'p', will: { topic: 't', payload: 'w' } }),
  m.connect({ level: 5, clientId: 'c5', properties: [['receiveMaximum', 5], ['userProperty', ['a', 'b']]] }),
  m.connack(), m.connack({ level: 5, properties: [['maximumQos', 1]] }),
  m.publish({ topic: 'a/b', payload: 'hello', qos: 1, packetId: 9 }),
  m.publish({ level: 5, topic: 'a', payload: 'p', properties: [['subscriptionIdentifier', 1], ['payloadFormatIndicator', 1]] }),
  m.ack('PUBACK', { packetId: 9 }), m.ack('PUBREL', { level: 5, packetId: 3, reasonCode: 0x92 }),
  m.subscribe({ packetId: 2, subscriptions: [{ topic: 'x/+', qos: 1 }] }), m.suback({ packetId: 2, codes: [1] }),
  m.unsubscribe({ packetId: 3, topics: ['x'] }), m.unsuback({ level: 5, packetId: 3, codes: [0] }),
  m.pingreq(), m.pingresp(), m.disconnect(), m.disconnect({ level: 5, reasonCode: 4, properties: [['sessionExpiryInterval', 0]] }), m.auth({ reasonCode: 0x19 }),
];

/** One TCP payload: random bytes, or MQTT packets with random damage. */
const payloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 200 }),
  fc.tuple(fc.array(fc.constantFrom(...PACKETS), { minLength: 1, maxLength: 5 }), fc.array(fc.tuple(fc.nat(), fc.nat(7)), { maxLength: 4 }), fc.option(fc.nat()))
    .map(([pkts, flips, cut]) => {
      const b = m.bytes(...pkts);
      for (const [at, bit] of flips) if (b.length > 0) b[at % b.length]! ^= 1 << bit;
      return cut === null ? b : b.subarray(0, cut % (b.length + 1));
    }),
);

/** A capture of random records: TCP segments to or from port 1883 (in order, reordered or with fresh sequence numbers). */
const randomRecordsArb: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.boolean(),
  fc.array(fc.tuple(fc.boolean(), payloadArb, fc.nat(3)), { minLength: 1, maxLength: 12 }),
).map(([handshake, segs]) => {
  const s = new TcpSession('10.3.0.2:42000', '10.3.0.1:1883');
  const frames: Uint8Array[] = handshake ? s.handshake() : [];
  for (const [c2s, payload, how] of segs) {
    if (how === 3) frames.push(s.raw(c2s ? 'client' : 'server', { seq: (payload.length * 7919) >>> 0, payload, flags: 'PA' }));
    else frames.push(...(c2s ? s.c2s(payload, 1 + (payload.length >> how)) : s.s2c(payload, 1 + (payload.length >> how))));
  }
  if (frames.length > 2) [frames[frames.length - 1], frames[frames.length - 2]] = [frames[frames.length - 2]!, frames[frames.length - 1]!];
  return writePcap(timed(frames));
});

/** A valid pcap file header followed by random bytes. */
const junkAfterHeaderArb: fc.Arbitrary<Uint8Array> = fc.uint8Array({ minLength: 0, maxLength: 400 }).map((junk) => m.bytes(writePcap([]), junk));

const captureArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  ...Object.values(BASES).filter((b) => b.length > 100).map((b) => mutatedCaptureArb(b)),
  randomRecordsArb,
  junkAfterHeaderArb,
  fc.uint8Array({ minLength: 0, maxLength: 64 }),
);

// ---------------------------------------------------------------------------------------------------
// Invariants

/** C0 controls except LF, DEL, and the C1 range: what a terminal would act on. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f]/;
const STACK = /\n\s+at .+[(:]\d+:\d+\)?|internal error/;

/** Human lines and JSON packet lines seen, so a run that decodes nothing (too tame a generator) is noticed. */
const seen = { human: 0, packets: 0 };

function checkRendered(bytes: Uint8Array, mode: Mode, chunk: number): void {
  const r = renderCapture(bytes, mode, { chunk });
  if (mode !== 'json') seen.human += r.lines.length;
  else seen.packets += r.lines.filter((l) => l.startsWith('{"kind":"packet"')).length;
  if (r.formatError !== null) expect(r.formatError.includes('\n'), `multi-line error: ${r.formatError}`).toBe(false);
  for (const line of r.lines) {
    if (mode === 'json') {
      for (const l of line.split('\n')) if (l !== '') JSON.parse(l);
    } else {
      expect(RAW_CONTROL.test(line), `${mode}: raw control byte in ${JSON.stringify(line)}`).toBe(false);
    }
  }
}

describe('fuzz, in process: every mode, random chunking', () => {
  it(`${RUNS} corrupted captures x ${MODES.length} modes (seed ${SEED})`, () => {
    fc.assert(
      fc.property(captureArb, fc.integer({ min: 1, max: 5000 }), (bytes, chunk) => {
        for (const mode of MODES) checkRendered(bytes, mode, chunk);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The generators must reach the decoder and the renderers, not only the capture reader.
    expect(seen.packets).toBeGreaterThan(RUNS);
    expect(seen.human).toBeGreaterThan(RUNS * 4);
  }, 300_000);

  it(`${RUNS * 2} random-record captures (seed ${SEED + 1})`, () => {
    fc.assert(
      fc.property(randomRecordsArb, fc.constantFrom(...MODES), fc.integer({ min: 1, max: 300 }), (bytes, mode, chunk) => {
        checkRendered(bytes, mode, chunk);
      }),
      { seed: SEED + 1, numRuns: RUNS * 2 },
    );
  }, 300_000);

});

// ---------------------------------------------------------------------------------------------------
// Through the CLI

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCliAsync(args: string[], input?: Uint8Array): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024, timeout: 60_000, encoding: 'buffer', env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code ?? null) : 0;
        resolve({ status: typeof code === 'number' ? code : null, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') });
      });
    if (input) child.stdin?.end(Buffer.from(input));
    else child.stdin?.end();
  });
}

async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('fuzz, through the CLI', () => {
  it(`${CLI_CASES} corrupted captures, spread over the modes and stdin (seed ${SEED + 2})`, async () => {
    const cases = fc.sample(captureArb, { seed: SEED + 2, numRuns: CLI_CASES });
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-fuzz-'));
    const failures: string[] = [];
    const seen = { 0: 0, 1: 0 } as Record<number, number>;
    await pool(cases.map((bytes, i) => ({ bytes, i })), Math.max(2, cpus().length * 2), async ({ bytes, i }) => {
      const mode = MODES[i % MODES.length]!;
      const viaStdin = i % 7 === 3;
      const file = join(dir, `case-${i}.pcap`);
      writeFileSync(file, bytes);
      const r = await runCliAsync([...MODE_ARGS[mode], viaStdin ? '-' : file], viaStdin ? bytes : undefined);
      const where = `case ${i} (${mode}${viaStdin ? ', stdin' : ''}, ${file})`;
      const errLines = r.stderr.split('\n').filter((l) => l !== '');
      if (r.status !== 0 && r.status !== 1) failures.push(`${where}: exit ${String(r.status)}: ${r.stderr.slice(0, 300)}`);
      else seen[r.status]!++;
      if (errLines.length > 1) failures.push(`${where}: ${errLines.length} lines on stderr: ${r.stderr.slice(0, 300)}`);
      if (r.status === 1 && !(errLines.length === 1 && errLines[0]!.startsWith('mqtt-dissect: '))) failures.push(`${where}: exit 1 without a one-line message: ${JSON.stringify(r.stderr)}`);
      // Exit 0 may say, in one line, that no MQTT was found (and where the TCP traffic was); nothing else.
      if (r.status === 0 && errLines.length > 0 && !(errLines.length === 1 && errLines[0]!.startsWith('mqtt-dissect: no MQTT '))) failures.push(`${where}: exit 0 with stderr ${JSON.stringify(r.stderr)}`);
      if (STACK.test(r.stderr) || STACK.test(r.stdout)) failures.push(`${where}: stack trace / internal error: ${r.stderr.slice(0, 300)}`);
      if (mode === 'json') for (const l of r.stdout.split('\n')) if (l !== '') { try { JSON.parse(l); } catch { failures.push(`${where}: bad NDJSON line ${l.slice(0, 100)}`); break; } }
    });
    expect(failures).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
    // Both outcomes must occur, or the inputs are too tame (or too broken) to mean anything.
    expect(seen[0]).toBeGreaterThan(CLI_CASES / 10);
    expect(seen[1]).toBeGreaterThan(0);
  }, 600_000);
});
