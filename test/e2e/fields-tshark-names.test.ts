/**
 * The registry's tshark names are real Wireshark display-filter fields (`tshark -G fields`), so field export and
 * filters can use them; so are the IP and TCP names of the filter fields; and the dataset column sets docs/filters.md
 * lists run through `-T fields -e` as they stand.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FILTER_FIELDS } from '../../src/filter/fields.js';
import { ROOT, runCli } from '../builders/cli.js';
import { FIELD, PACKET_FIELDS, PROPERTY_FIELDS, type FieldDef } from '../../src/mqtt/fields.js';
import { tsharkAvailable } from '../builders/tshark.js';

describe.skipIf(!tsharkAvailable())('registry tshark names', () => {
  test('every one is a field tshark knows', () => {
    const r = spawnSync('tshark', ['-G', 'fields'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, timeout: 60_000 });
    expect(r.status).toBe(0);
    const known = new Set(r.stdout.split('\n').map((l) => l.split('\t')[2]).filter((n): n is string => n !== undefined && n.startsWith('mqtt.')));
    expect(known.size).toBeGreaterThan(50);
    const ours = new Set<string>();
    for (const f of Object.values<FieldDef>(FIELD)) if (f.tshark) ours.add(f.tshark);
    for (const rows of PACKET_FIELDS) for (const row of rows) if (row.tshark) ours.add(row.tshark);
    for (const p of PROPERTY_FIELDS) if (p.tshark) ours.add(p.tshark);
    expect(ours.size).toBeGreaterThan(40);
    expect([...ours].filter((n) => !known.has(n))).toEqual([]);
  });
});

/** Every name inside the `dataset columns` markers of docs/filters.md (each backticked span, split on spaces). */
function datasetColumns(): string[][] {
  const doc = readFileSync(join(ROOT, 'docs', 'filters.md'), 'utf8');
  const block = doc.slice(doc.indexOf('<!-- dataset columns -->'), doc.indexOf('<!-- end of dataset columns -->'));
  return block.split('\n- ').slice(1).map((item) => [...item.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1]!.split(/\s+/)));
}

describe('the dataset column sets of docs/filters.md', () => {
  test('each list runs through -T fields -e as it stands, one column per name, the IP and TCP ones filled', () => {
    const lists = datasetColumns();
    expect(lists.map((l) => l.length)).toEqual([33, 29, 4]);
    for (const names of lists) {
      const r = runCli(['-T', 'fields', ...names.flatMap((n) => ['-e', n]), 'captures/real-v311-qos.pcap']);
      expect(r.stderr, names.join(' ')).toBe('');
      expect(r.status).toBe(0);
      const rows = r.stdout.replace(/\n$/, '').split('\n').map((l) => l.split('\t'));
      expect(rows.length).toBeGreaterThan(20);
      for (const row of rows) expect(row).toHaveLength(names.length);
      // The IP and TCP columns have a value on every row (all of this capture is IPv4).
      names.forEach((n, i) => {
        if (/^(ip|tcp)\./.test(n)) for (const row of rows) expect(row[i], n).not.toBe('');
      });
    }
  });

  test('the Wireshark 3.x flag names are the 4.0 fields under their old names', () => {
    const old = runCli(['-T', 'fields', '-e', 'tcp.flags.ns', '-e', 'tcp.flags.ecn', 'captures/real-v311-qos.pcap']);
    const now = runCli(['-T', 'fields', '-e', 'tcp.flags.ae', '-e', 'tcp.flags.ece', 'captures/real-v311-qos.pcap']);
    expect(old.status).toBe(0);
    expect(old.stdout).toBe(now.stdout);
    expect(old.stdout).toMatch(/^0\t0\n/);
  });
});

describe.skipIf(!tsharkAvailable())('filter fields named by Wireshark', () => {
  test('every ip.*, tcp.* and frame.* name a filter field has or answers for is a field tshark knows, but the 3.x flag names', () => {
    const r = spawnSync('tshark', ['-G', 'fields'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, timeout: 60_000 });
    expect(r.status).toBe(0);
    const known = new Set(r.stdout.split('\n').map((l) => l.split('\t')[2]));
    const names = FILTER_FIELDS.flatMap((f) => [f.name, ...f.tshark.map((a) => a.name)]).filter((n) => /^(ip|ipv6|tcp|frame)\./.test(n));
    expect(names.length).toBeGreaterThan(25);
    expect(names.filter((n) => !known.has(n))).toEqual(['tcp.flags.ns', 'tcp.flags.ecn']);
  });
});
