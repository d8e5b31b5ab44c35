/**
 * -Y end to end (issue 15): on real captures, what a filter shows is exactly the unfiltered output's records that a
 * separate oracle (plain JavaScript over the NDJSON) selects; the text view, --summary, --threads 2 and the exit
 * status agree; a bad expression stops the run with a caret.
 */
import { describe, expect, it } from 'vitest';
import { jsonLines, runCli } from '../builders/cli.js';

type Rec = Record<string, unknown> & { kind: string; conn?: number; type?: string; fields?: Record<string, unknown> };

const CAPTURES = ['captures/real-v311-qos.pcap', 'captures/real-v5-props.pcapng', 'captures/synthetic-malformed.pcapng'];

function records(args: string[]): Rec[] {
  const r = runCli(['--json', ...args]);
  expect(r.stderr).toBe('');
  return jsonLines(r.stdout) as Rec[];
}

/** Each connection's client id, from its CONNECT record (the oracle's own reading of the NDJSON). */
function clientIds(all: Rec[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const r of all) if (r.kind === 'packet' && r.type === 'CONNECT' && typeof r.fields?.['clientId'] === 'string') m.set(r.conn!, r.fields['clientId']);
  return m;
}

describe('-Y shows exactly what the expression selects', () => {
  for (const capture of CAPTURES) {
    it(capture, () => {
      const all = records([capture]);
      expect(all.length).toBeGreaterThan(5);
      const ids = clientIds(all);
      const firstId = [...ids.values()].find((v) => v !== '') ?? '';
      const cases: [string, (r: Rec) => boolean][] = [
        ['type == PUBLISH', (r) => r.kind === 'packet' && r.type === 'PUBLISH'],
        ['kind == close', (r) => r.kind === 'close'],
        ['event', (r) => r.kind === 'event'],
        // qos is a PUBLISH's QoS and a SUBSCRIBE's requested ones.
        ['qos >= 1 && dir == c2s', (r) => r.kind === 'packet' && r['dir'] === 'c2s' && (
          (r.type === 'PUBLISH' && (r.fields?.['qos'] as number) >= 1)
          || (r.type === 'SUBSCRIBE' && ((r.fields?.['subscriptions'] ?? []) as { qos: number }[]).some((x) => x.qos >= 1)))],
        ['mqtt.qos >= 1 && dir == c2s', (r) => r.kind === 'packet' && r['dir'] === 'c2s' && r.type === 'PUBLISH' && (r.fields?.['qos'] as number) >= 1],
        [`clientId == "${firstId}"`, (r) => r.conn !== undefined && ids.get(r.conn) === firstId],
        ['violation', (r) => Array.isArray(r['violations']) && (r['violations'] as unknown[]).length > 0],
        ['!(type in {PUBLISH PUBACK}) && kind == packet', (r) => r.kind === 'packet' && r.type !== 'PUBLISH' && r.type !== 'PUBACK'],
      ];
      for (const [expr, oracle] of cases) {
        const want = all.filter(oracle);
        expect(records(['-Y', expr, capture]), expr).toEqual(want);
      }
    });
  }

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
