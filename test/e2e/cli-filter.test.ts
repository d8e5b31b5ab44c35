/**
 * -Y, -c and --count end to end (issue 15): the text view, --summary, --threads 2 and the exit status agree with the
 * NDJSON (test/filter-captures.test.ts proves the NDJSON against an oracle on every capture, in process); a bad
 * expression stops the run with a caret; -c ends a live pipe.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN, jsonLines, ROOT, runCli } from '../builders/cli.js';

type Rec = Record<string, unknown> & { kind: string; conn?: number; type?: string; fields?: Record<string, unknown> };

function records(args: string[]): Rec[] {
  const r = runCli(['--json', ...args]);
  expect(r.stderr).toBe('');
  return jsonLines(r.stdout) as Rec[];
}

describe('-Y in the CLI', () => {
  it('prints the same in text, and with --threads 2', () => {
    const capture = 'captures/real-v311-qos.pcap';
    const publishes = records(['-Y', 'type == PUBLISH', capture]).length;
    const one = runCli(['-Y', 'type == PUBLISH', capture]);
    const lines = one.stdout.trim().split('\n');
    expect(lines.length).toBe(publishes);
    for (const l of lines) expect(l).toContain(' PUBLISH ');
    for (const args of [['-Y', 'type == PUBLISH'], ['--json', '-Y', 'conn == 2 || event'], ['-V', '-Y', 'topic matches "corpus/#"'], ['--summary', '-Y', 'qos == 1']]) {
      const a = runCli([...args, capture]);
      const b = runCli(['--threads', '2', ...args, capture]);
      expect(b.stdout, args.join(' ')).toBe(a.stdout);
      expect(b.status).toBe(a.status);
    }
  });

  it('--summary counts only what matches', () => {
    const capture = 'captures/real-v311-qos.pcap';
    const summary = records(['--summary', '-Y', 'type == PUBLISH', capture]).filter((r) => r.kind === 'summary');
    const rows = (summary.find((r) => r['table'] === 'types')?.['rows'] ?? []) as { type: string; count: number }[];
    const publishes = records(['-Y', 'type == PUBLISH', capture]).length;
    expect(rows).toEqual([{ type: 'PUBLISH', count: publishes }]);
    const conns = summary.find((r) => r['table'] === 'connections');
    expect(conns?.['packets']).toBe(publishes);
  });

  it('never changes what is found: --fail-on still counts every finding', () => {
    const capture = 'captures/synthetic-malformed.pcapng';
    expect(runCli(['--fail-on', 'error', capture]).status).toBe(3);
    const r = runCli(['--fail-on', 'error', '-Y', 'kind == close && !violation', capture]);
    expect(r.stdout).not.toContain('error');
    expect(r.status).toBe(3);
  });

  it('stops a bad expression before reading, with a caret, exit 2', () => {
    const r = runCli(['-Y', 'clinetId == "x"', 'captures/real-v311-qos.pcap']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual(['mqtt-dissect: -Y: unknown field "clinetId" (did you mean clientId?)', '  clinetId == "x"', '  ^^^^^^^^', '']);
    // No input is read: a missing file would have been a different error.
    expect(runCli(['-Y', 'qos ==', 'no-such-file.pcap']).status).toBe(2);
  });

  it('--help-fields lists the fields with their Wireshark names', () => {
    const r = runCli(['--help-fields']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/clientId +string .*\[mqtt\.clientid\]/);
    expect(r.stdout).toContain('properties.messageExpiryInterval');
  });
});

describe('-c N and --count', () => {
  const capture = 'captures/real-v311-qos.pcap';

  it('-c N shows the first N matching packets, in every mode and both ways of running', () => {
    const publishes = records(['-Y', 'type == PUBLISH', capture]);
    for (const threads of ['1', '2']) {
      expect(records(['--threads', threads, '-c', '3', '-Y', 'type == PUBLISH', capture])).toEqual(publishes.slice(0, 3));
      const text = runCli(['--threads', threads, '-c', '2', capture]);
      expect(text.stdout.trim().split('\n')).toHaveLength(2);
      // --count: the number alone (the oracle: the filtered NDJSON's length).
      expect(runCli(['--threads', threads, '--count', '-Y', 'type == PUBLISH', capture]).stdout).toBe(`${publishes.length}\n`);
      expect(records(['--threads', threads, '--count', '-Y', 'type == PUBLISH', capture])).toEqual([{ kind: 'count', packets: publishes.length }]);
    }
    // A filter on how a payload reads works without printing the payloads.
    const texts = records([capture]).filter((r) => r.kind === 'packet' && r.fields?.['payloadView'] === 'text').length;
    expect(texts).toBeGreaterThan(0);
    expect(runCli(['--count', '-Y', 'payloadView == text', capture]).stdout).toBe(`${texts}\n`);
  });

  it('-c N on a live pipe stops reading without waiting for the end of the input', async () => {
    const bytes = readFileSync(`${ROOT}/${capture}`);
    for (const threads of ['1', '2']) {
      const child = spawn(process.execPath, [BIN, '--threads', threads, '-c', '2', '-'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
      child.stdin.on('error', () => {});
      // The whole capture, and then the pipe stays open: only -c can end the run.
      child.stdin.write(bytes);
      const status = await new Promise<number | null>((resolve) => {
        const t = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, 20_000);
        child.on('close', (code) => { clearTimeout(t); resolve(code); });
      });
      expect(status, `--threads ${threads}`).toBe(0);
      expect(stdout.trim().split('\n')).toHaveLength(2);
    }
  });
});

describe('-t and --conn', () => {
  const capture = 'captures/real-v311-qos.pcap';
  const timeColumn = (out: string): string[] => out.trim().split('\n').map((l) => l.trim().split(/\s+/).slice(1, 3).join(' '));

  it('-t writes the time column as tshark\'s formats do, in UTC, from the packet\'s own time', () => {
    const iso = records(['-c', '3', capture]).map((r) => r['time'] as string);
    const epoch = iso.map((t) => {
      const [s, frac] = t.replace('Z', '').split('.');
      return `${Date.parse(`${s}Z`) / 1000}.${frac}`;
    });
    expect(timeColumn(runCli(['-c', '3', '-t', 'e', capture]).stdout).map((c) => c.split(' ')[0])).toEqual(epoch);
    expect(timeColumn(runCli(['-c', '3', '-t', 'ad', capture]).stdout)).toEqual(iso.map((t) => t.replace('T', ' ').replace('Z', '')));
    expect(timeColumn(runCli(['-c', '3', '-t', 'a', capture]).stdout).map((c) => c.split(' ')[0])).toEqual(iso.map((t) => t.slice(11, -1)));
    const deltas = timeColumn(runCli(['-c', '3', '-t', 'd', '--conn', '2', capture]).stdout).map((c) => Number(c.split(' ')[0]));
    expect(deltas[0]).toBe(0);
    for (const d of deltas) expect(d).toBeGreaterThanOrEqual(0);
    expect(runCli(['-t', 'ud', '-c', '1', capture]).stdout).toBe(runCli(['-t', 'ad', '-c', '1', capture]).stdout);
  });

  it('--conn N is -Y \'conn == N\'', () => {
    expect(runCli(['--conn', '3', capture]).stdout).toBe(runCli(['-Y', 'conn == 3', capture]).stdout);
    expect(records(['--conn', '3', '-Y', 'type == PUBLISH', capture]).every((r) => r.conn === 3 && r.type === 'PUBLISH')).toBe(true);
    expect(runCli(['--conn', 'x', capture]).status).toBe(2);
  });

  it('follow N is --conn N, in any mode; N comes right after it', () => {
    expect(runCli(['follow', '3', '--json', capture]).stdout).toBe(runCli(['--conn', '3', '--json', capture]).stdout);
    expect(runCli(['-x', 'follow', '3', capture]).stdout).toBe(runCli(['-x', '--conn', '3', capture]).stdout);
    for (const args of [['follow', capture], ['follow', '--json', '3', capture], ['follow']]) {
      const r = runCli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^mqtt-dissect: follow needs a connection number right after it/);
    }
  });
});
