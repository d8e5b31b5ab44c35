/** The registry's tshark names are real Wireshark display-filter fields (`tshark -G fields`), so field export and filters can use them. */
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
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
