/** `--summary --json` is pure NDJSON (issue 12): the tables come as kind:"summary" records, so jq works on the whole output. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../builders/cli.js';

describe('--summary --json', () => {
  it('every line is JSON; the tables are summary records that agree with the packet records', () => {
    const r = runCli(['--summary', '--json', 'captures/real-v311-qos.pcap']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(r.stdout).not.toMatch(/[┌│└─]/);
    const summary = records.filter((o) => o.kind === 'summary');
    expect(summary.map((o) => o.table)).toEqual(['connections', 'topics', 'types', 'timing', 'timing-clients', 'findings', 'events']);
    // They come last, after every packet, event and close record, followed only by the statistics sections --summary
    // shows too (per client, talkers, QoS flows, in-flight depth: stats-table records, each followed by its rows).
    const tail = records.slice(records.indexOf(summary[0]!));
    expect(tail.every((o) => o.kind === 'summary' || o.kind === 'stats-table' || o.kind === 'stats')).toBe(true);
    expect(tail.slice(0, summary.length).every((o) => o.kind === 'summary')).toBe(true);
    const statsTables = records.filter((o) => o.kind === 'stats-table').map((o) => `${String(o.section)}/${String(o.table)}`);
    expect(statsTables).toEqual(['clients/clients', 'talkers/connections', 'talkers/addresses', 'talkers/seconds', 'qos-flows/states', 'qos-flows/unacknowledged', 'inflight/connections']);
    // The per-client rows count the packet records: every packet belongs to one client row.
    const clientRows = records.filter((o) => o.kind === 'stats' && o.section === 'clients') as Array<{ packetsC2s: number; packetsS2c: number }>;
    const packets = records.filter((o) => o.kind === 'packet');
    expect(clientRows.reduce((n, c) => n + c.packetsC2s + c.packetsS2c, 0)).toBe(packets.length);
    const conns = summary[0] as { packets: number; total: number; rows: Array<{ conn: number; packets: number }> };
    expect(conns.packets).toBe(packets.length);
    expect(conns.rows.reduce((n, c) => n + c.packets, 0)).toBe(packets.length);
    expect(conns.total).toBe(new Set(packets.map((p) => p.conn)).size);
    const types = summary[2] as { rows: Array<{ type: string; count: number }> };
    const byType = new Map<string, number>();
    for (const p of packets) byType.set(p.type as string, (byType.get(p.type as string) ?? 0) + 1);
    expect(Object.fromEntries(types.rows.map((t) => [t.type, t.count]))).toEqual(Object.fromEntries(byType));
    const timing = summary[3] as { rows: Array<{ pair: string; count: number }> };
    expect(timing.rows.find((t) => t.pair === 'PUBLISH->PUBACK')?.count).toBe(byType.get('PUBACK'));
    // Per client the same pairs, each counted once: for every pair kind the clients' counts add up to the overall one.
    const perClient = summary[4] as { shown: number; total: number; rows: Array<{ pair: string; count: number }> };
    expect(perClient.shown).toBe(perClient.total);
    for (const t of timing.rows) expect(perClient.rows.filter((c) => c.pair === t.pair).reduce((n, c) => n + c.count, 0), t.pair).toBe(t.count);
    const topics = summary[1] as { rows: Array<{ topic: string; messages: number }> };
    const publishes = packets.filter((p) => p.type === 'PUBLISH').length;
    expect(topics.rows.reduce((n, t) => n + t.messages, 0)).toBe(publishes);
  });

  it('text mode keeps the tables, and shows the per-client, talkers, QoS flow and in-flight depth sections after them', () => {
    const r = runCli(['--summary', 'captures/real-v311-qos.pcap']);
    expect(r.stdout).toContain('Connections');
    const at = (title: string): number => r.stdout.indexOf(`\n${title}`);
    expect(at('Findings by rule')).toBeGreaterThan(0);
    expect(at('Timing per client, ms')).toBeGreaterThan(at('Timing, ms'));
    expect(at('Findings by rule')).toBeGreaterThan(at('Timing per client, ms'));
    for (const title of ['Clients', 'Top connections', 'Busiest seconds', 'QoS flows', 'In-flight depth']) expect(at(title)).toBeGreaterThan(at('Findings by rule'));
    expect(r.stdout).toMatch(/[┌│└─]/);
  });
});
