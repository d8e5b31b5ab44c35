/**
 * --decode and --decode-file as a user runs them (the built CLI): the one-line usage errors, the binding file, the
 * formats not yet available, --threads 2, the report command, and docs/decoders.md's examples, which are the CLI's
 * real output on test/builders/decode-capture.ts (UPDATE_DECODERS_DOC=1 rewrites them).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { runCli, tempFile } from '../builders/cli.js';
import { decodeDemoCapture } from '../builders/decode-capture.js';

const DEMO = tempFile('demo.pcap', decodeDemoCapture());
const BOUND = ['--decode', 'sensors/+/cbor=cbor', '--decode', 'sensors/+/gz=gzip+json', '--decode', 'sensors/+/bad-cbor=cbor', '--decode', 'sensors/#=auto'];

function usageError(args: string[]): string {
  const r = runCli(args);
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('usage errors, one line each', () => {
  test.each<[string[], string]>([
    [['--decode', 'sensors'], 'mqtt-dissect: --decode "sensors": "sensors" is no FILTER=FORMAT binding (e.g. "sensors/+/cbor=cbor") (see --help)'],
    [['--decode', 'a/#/b=json'], 'mqtt-dissect: --decode "a/#/b=json": "a/#/b" is no topic filter: \'#\' must be the last character of the filter (see --help)'],
    [['--decode', 'a=yaml'], 'mqtt-dissect: --decode "a=yaml": unknown format "yaml" (formats: json, text, hex, cbor, msgpack, auto, base64[+F], gzip+F, zlib+F, deflate+F, protobuf:FILE.proto:Type, sparkplug) (see --help)'],
    [['--decode', 'a=protobuf:x.proto'], 'mqtt-dissect: --decode "a=protobuf:x.proto": protobuf needs a .proto file and a message type: protobuf:FILE.proto:MessageType (see --help)'],
    [['--decode', 'a=protobuf:/no/such.proto:pkg.T'], 'mqtt-dissect: --decode "a=protobuf:/no/such.proto:pkg.T": /no/such.proto no such file (see --help)'],
    [['--decode-file', '/no/such.conf'], 'mqtt-dissect: --decode-file /no/such.conf: no such file (see --help)'],
  ])('%j', (args, line) => {
    expect(usageError([...args, DEMO])).toBe(line);
  });

  test('protobuf with a file that exists but lacks the message type: the schema\'s own error, one line', () => {
    const proto = tempFile('r.proto', 'syntax = "proto3"; message R { double t = 1; }\n');
    expect(usageError(['--decode', `a=protobuf:${proto}:Nope`, DEMO])).toMatch(/^mqtt-dissect: --decode "a=protobuf:.*:Nope": protobuf:.*r\.proto:Nope: no such type: Nope/);
  });

  test('a binding file with a bad line names the file and the line', () => {
    const conf = tempFile('bindings.conf', '# the demo\nsensors/+/cbor = cbor\n\nsensors/+/gz=gzip+yaml\n');
    expect(usageError(['--decode-file', conf, DEMO])).toMatch(new RegExp(`^mqtt-dissect: --decode-file ${conf.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} line 4: unknown format "yaml"`));
    // A relative .proto in a file is relative to the file's folder.
    const conf2 = tempFile('p.conf', '#=protobuf:missing.proto:T\n');
    expect(usageError(['--decode-file', conf2, DEMO])).toBe(`mqtt-dissect: --decode-file ${conf2} line 1: ${conf2.replace(/p\.conf$/, 'missing.proto')} no such file (see --help)`);
  });
});

describe('bindings at work', () => {
  test('a binding file and --decode: the --decode comes first and wins', () => {
    const conf = tempFile('bindings.conf', '# every sensor as hex\nsensors/#=hex\n');
    const r = runCli(['--json', '--decode', 'sensors/+/cbor=cbor', '--decode-file', conf, DEMO]);
    expect(r.status).toBe(0);
    const decoded = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type?: string; fields?: { payloadDecoded?: { format: string } } })
      .filter((o) => o.type === 'PUBLISH').map((o) => o.fields?.payloadDecoded?.format);
    expect(decoded).toEqual(['cbor', 'hex', 'hex', 'hex', 'hex', 'hex', 'hex', undefined]);
  });

  test('--help says how bindings combine', () => {
    const r = runCli(['--help']);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('the first binding that matches wins');
  });

  test('--threads 2 prints what one thread prints, in every mode', () => {
    for (const mode of [[], ['-V'], ['-x'], ['--json'], ['--summary']]) {
      const one = runCli([...mode, ...BOUND, DEMO]);
      const two = runCli([...mode, ...BOUND, '--threads', '2', DEMO]);
      expect(one.status).toBe(0);
      expect(two.stdout, mode.join(' ')).toBe(one.stdout);
    }
  });

  test('report: the packet views hold the decoded nodes', () => {
    const r = runCli(['report', ...BOUND, DEMO]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('decoded as cbor');
  });

  test('without --decode, a capture prints what it printed before (no decoded part anywhere)', () => {
    for (const mode of [[], ['-V'], ['--json']]) {
      const r = runCli([...mode, DEMO]);
      expect(r.stdout).not.toMatch(/payloadDecoded|decoded as|→ (cbor|auto)/);
    }
  });
});

describe('--decode on explain, stats and trace', () => {
  test('explain: the pasted PUBLISH\'s payload decoded by its binding, in the tree and in --json', () => {
    const pub = '30 1a 00 0e 73 65 6e 73 6f 72 73 2f 37 2f 63 62 6f 72 a2 61 74 f9 4d 60 61 75 61 43'.replace(/ /g, '');
    // topic sensors/7/cbor, payload CBOR {"t": 21.5 as a half float, "u": "C"}
    const plain = runCli(['explain', '--json', pub]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout.trim().split('\n')[0]!)['fields']).not.toHaveProperty('payloadDecoded');
    const r = runCli(['explain', '--json', '--decode', 'sensors/+/cbor=cbor', pub]);
    expect(r.status, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout.trim().split('\n')[0]!) as { fields: Record<string, unknown> };
    expect(rec.fields['payloadDecoded']).toEqual({ filter: 'sensors/+/cbor', format: 'cbor', value: { t: 21.5, u: 'C' } });
    const text = runCli(['explain', '--no-color', '--decode', 'sensors/+/cbor=cbor', pub]);
    expect(text.stdout).toMatch(/cbor/);
    expect(text.stdout).toMatch(/21\.5/);
  });

  test('stats: -Y on a decoded value counts only the packets it selects', () => {
    const topics = (args: string[]): [string, number][] => {
      const r = runCli(['stats', 'topics', '--json', ...args, DEMO]);
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((o) => o['kind'] === 'stats').map((o) => [String(o['topic']), Number(o['messages'])]);
    };
    expect(topics(BOUND)).toHaveLength(8);
    expect(topics([...BOUND, '-Y', 'payloadDecoded.value.temp > 21'])).toEqual([['sensors/7/cbor', 1]]);
    expect(topics(['-Y', 'payloadDecoded.value.temp > 21'])).toEqual([]);
  });

  test('trace: -Y on a decoded value selects the messages', () => {
    const r = runCli(['trace', '--json', ...BOUND, '-Y', 'payloadDecoded.value.batch >= 21', DEMO]);
    expect(r.status, r.stderr).toBe(0);
    const topics = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { topic: string }).topic);
    expect(topics).toEqual(['sensors/7/gz']);
    const none = runCli(['trace', '--json', '-Y', 'payloadDecoded.value.batch >= 21', DEMO]);
    expect(none.stdout).toBe('');
  });
});

// ---- docs/decoders.md's examples ----------------------------------------------------------------

const DOC = fileURLToPath(new URL('../../docs/decoders.md', import.meta.url));

/** `<!-- example ["--decode", …] -->` followed by a fenced block: the command and what it printed. */
const EXAMPLE = /<!-- example (\[.*?\]) -->\n```text\n[\s\S]*?```/g;

function shellWord(w: string): string {
  return /^[\w./=:,@%+-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`;
}

function examples(doc: string): string {
  return doc.replace(EXAMPLE, (_, json: string) => {
    const args = JSON.parse(json) as string[];
    const r = runCli([...args, DEMO]);
    const out = r.stdout.trimEnd();
    return `<!-- example ${json} -->\n\`\`\`text\n$ mqtt-dissect ${args.map(shellWord).join(' ')} demo.pcap\n${out}\n\`\`\``;
  });
}

test('docs/decoders.md shows what the CLI prints', () => {
  const doc = readFileSync(DOC, 'utf8');
  expect(doc.match(EXAMPLE)?.length ?? 0).toBeGreaterThan(3);
  const want = examples(doc);
  if (process.env['UPDATE_DECODERS_DOC'] === '1') writeFileSync(DOC, want);
  expect(readFileSync(DOC, 'utf8')).toBe(want);
});
