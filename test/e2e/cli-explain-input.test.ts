/** explain (issue 12, issue 18 item 8): pasted formats, version detection, exit status, limits, hostile input. */
import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';
import { jsonLines, runCli, tempFile } from '../builders/cli.js';

const CONNECT = '10 2d 00 04 4d 51 54 54 04 c2 0b b8 00 10 34 30 46 30 36 30 30 30 35 30 38 30 34 30 35 30 00 05 61 64 6d 69 6e 00 08 70 61 73 73 77 6f 72 64';
const bytesOf = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');
const hasTshark = spawnSync('tshark', ['-v']).status === 0;

describe('explain reads what people paste', () => {
  const want = runCli(['explain', '--json', CONNECT]).stdout;

  it('hexdump -C, xxd, base64, C array and escaped string give the same packet', () => {
    const file = tempFile('connect.bin', bytesOf(CONNECT));
    const hexdump = spawnSync('hexdump', ['-C', file], { encoding: 'utf8' }).stdout;
    const xxd = spawnSync('xxd', [file], { encoding: 'utf8' }).stdout;
    const b = bytesOf(CONNECT);
    const cArray = `char packet_bytes[] = {\n  ${[...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`).join(', ')}\n};`;
    const escaped = `"${[...b].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('')}"`;
    const inputs: Array<[string, string, RegExp | null]> = [
      ['base64', b.toString('base64'), /read as base64/],
      ['C array', cArray, /read as C array/],
      ['escaped string', escaped, /read as escaped string/],
    ];
    if (hexdump) inputs.push(['hexdump -C', hexdump, /read as hex dump/]);
    if (xxd) inputs.push(['xxd', xxd, /read as hex dump/]);
    for (const [name, input, note] of inputs) {
      const r = runCli(['explain', '--json'], { input });
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout, name).toBe(want);
      if (note) expect(r.stderr, name).toMatch(note);
    }
    expect(runCli(['explain', '--json', '--base64', b.toString('base64')]).stdout).toBe(want);
  }, 60_000);

  it.skipIf(!hasTshark)('tshark -x of a frame with Ethernet, IP and TCP headers: the TCP payload is explained', () => {
    const capture = 'captures/real-v311-qos.pcap';
    const fields = spawnSync('tshark', ['-r', capture, '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.payload', '-Y', 'tcp.len > 0'], { encoding: 'utf8' }).stdout;
    const all = fields.trim().split('\n').map((l) => l.split('\t') as [string, string]);
    // The first frame with a payload (the CONNECT), one from the middle and the last: one tshark run dumps all three,
    // a blank line after each.
    const frames = [all[0]!, all[all.length >> 1]!, all[all.length - 1]!];
    expect(new Set(frames.map((f) => f[0])).size).toBe(3);
    const dumps = spawnSync('tshark', ['-r', capture, '-x', '-Y', `frame.number in {${frames.map((f) => f[0]).join(',')}}`], { encoding: 'utf8' }).stdout
      .split(/\n\s*\n/).map((d) => d.trim()).filter((d) => d.length > 0);
    expect(dumps).toHaveLength(3);
    for (const [i, [number, payload]] of frames.entries()) {
      const r = runCli(['explain', '--json'], { input: dumps[i]! });
      expect(r.status, `frame ${number}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toMatch(/captured frame \(Ethernet frame .*TCP payload/);
      expect(r.stdout, `frame ${number}`).toBe(runCli(['explain', '--json', payload]).stdout);
    }
  }, 120_000);
});

describe('explain finds the version by itself', () => {
  it('a 5.0-only packet without a CONNECT decodes as 5.0, and says so', () => {
    // PUBACK with reason code 0x10: a problem in 3.1.1 (a third byte), clean in 5.0.
    const r = runCli(['explain', '--json', '40 03 00 07 10']);
    expect(jsonLines(r.stdout)[0]).toMatchObject({ version: '5.0', fields: { packetId: 7, reasonCode: 16 }, violations: [] });
    expect(r.stderr).toMatch(/decoded as MQTT 5\.0/);
    expect(runCli(['explain', '40 03 00 07 10']).stdout).toMatch(/MQTT 5\.0, detected/);
  });

  it('a packet clean in both stays 3.1.1 (assumed), and a CONNECT says its level', () => {
    expect(jsonLines(runCli(['explain', '--json', '40 02 00 07']).stdout)[0]).toMatchObject({ version: '3.1.1', versionInferred: true });
    const v5 = '10 10 00 04 4d 51 54 54 05 02 00 3c 00 00 03 61 62 63';
    expect(jsonLines(runCli(['explain', '--json', v5]).stdout)[0]).toMatchObject({ version: '5.0', versionInferred: false });
  });
});

describe('explain exit status', () => {
  const malformed = '10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00';
  it('malformed bytes exit 3 only with --fail-on', () => {
    expect(runCli(['explain', malformed]).status).toBe(0);
    expect(runCli(['explain', '--fail-on', 'error', malformed]).status).toBe(3);
    expect(runCli(['explain', '--fail-on', 'error', '30 0a 00 03 61 2f 62']).status).toBe(3);
    expect(runCli(['explain', '--fail-on', 'error', CONNECT]).status).toBe(0);
  });

  it('-V and -x are rejected with a usage error', () => {
    for (const flag of ['-V', '-x', '--verbose', '--hex']) {
      const r = runCli(['explain', flag, CONNECT]);
      expect(r.status, flag).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/explain always prints the annotated hex/);
    }
  });
});

describe('explain limits and hostile input (issue 18 item 8)', () => {
  it('more than 16 MiB on stdin is a usage error, exit 2, one line', () => {
    const r = runCli(['explain'], { input: '00 '.repeat(6 * 1024 * 1024) });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/more than 16 MiB/);
  });

  it('"not hex" quotes the word with its control characters escaped', () => {
    // Through stdin: an argument cannot hold NUL.
    const r = runCli(['explain'], { input: '10 \u001b[2J\u0007\u0000\u009b31m' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not hex/);
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  it('100,000 words on the command line are read (no quadratic option parser in the way)', () => {
    const n = 100_000;
    const rl = n + 3; // topic length (2) + "a" + n payload bytes
    const vbi: string[] = [];
    for (let x = rl; ; ) { const d = x % 128; x = Math.floor(x / 128); vbi.push((x > 0 ? d | 128 : d).toString(16).padStart(2, '0')); if (x === 0) break; }
    const words = ['30', ...vbi, '00', '01', '61', ...Array.from({ length: n }, () => '78')];
    const r = runCli(['explain', '--json', ...words]);
    expect(r.status, r.stderr).toBe(0);
    expect(jsonLines(r.stdout)[0]).toMatchObject({ type: 'PUBLISH', length: 1 + vbi.length + rl, fields: { topic: 'a', payloadLength: n } });
  });
});

