/**
 * --summary keeps only the rows it may still print: closed connections are cut back to the busiest 100, so memory does
 * not grow with the number of connections in a capture. The table must still be exactly the 100 busiest of all.
 */
import { describe, expect, it } from 'vitest';
import type { PacketRecord, Violation } from '../src/mqtt/connection-decoder.js';
import { makeChalk } from '../src/render/color.js';
import { SummaryCollector } from '../src/render/summary.js';
import type { Connection } from '../src/tcp/types.js';

function conn(id: number): Connection {
  return {
    id, clientIp: '10.0.0.1', clientPort: 10000 + id, serverIp: '10.0.0.2', serverPort: 1883,
    client: `10.0.0.1:${10000 + id}`, server: '10.0.0.2:1883', sawSyn: true, firstFrame: id + 1,
    startSec: 1_700_000_000 + id, startNsec: 0, tls: false, tcpStream: id,
  };
}

const finding: Violation = { id: 'MQTT-3.3.1-4', spec: '3.1.1', severity: 'error', message: 'QoS 3' } as Violation;

/** Only what the collector reads of a packet record. */
function pingreq(c: Connection, findings: number): PacketRecord {
  // The collector reads a handful of fields; a whole decoded packet would only add noise here.
  return {
    conn: c, dir: 'c2s', frame: 1, frames: [1], timeSec: c.startSec + 1, timeNsec: 0, bytes: new Uint8Array([0xc0, 0]),
    decoded: { type: 12, typeName: 'PINGREQ', length: 2, level: 4, fields: {} },
    levelInferred: false, streamOffset: 0, violations: Array.from({ length: findings }, () => finding),
  } as unknown as PacketRecord;
}

function rowIds(table: string): number[] {
  const section = table.split('Topics')[0]!;
  return [...section.matchAll(/^│ (\d+) +│/gm)].map((m) => Number(m[1]));
}

describe('summary connection rows', () => {
  it('lists exactly the 100 busiest of 1,000 connections, most of them closed long before the end', () => {
    const s = new SummaryCollector();
    const all: Array<{ id: number; packets: number; findings: number }> = [];
    for (let id = 0; id < 1000; id++) {
      const c = conn(id);
      s.open(c);
      const packets = (id * 37) % 23;
      const findings = id % 97 === 0 ? id % 5 : 0;
      for (let k = 0; k < packets; k++) s.packet(pingreq(c, k === 0 ? findings : 0));
      all.push({ id, packets, findings: packets > 0 ? findings : 0 });
      // Every tenth connection stays open to the end, like long-lived devices.
      if (id % 10 !== 0) s.close(c);
    }
    const expected = all
      .filter((c) => c.packets > 0)
      .sort((a, b) => b.findings - a.findings || b.packets - a.packets || a.id - b.id)
      .slice(0, 100)
      .map((c) => c.id)
      .sort((a, b) => a - b);
    const table = s.render(makeChalk(false), false);
    expect(rowIds(table)).toEqual(expected);
    const shown = all.filter((c) => c.packets > 0);
    const packets = shown.reduce((n, c) => n + c.packets, 0);
    expect(table).toContain(`(the 100 with most findings and packets, of ${shown.length}; ${packets} packets in all;`);
  });

  it('lists every connection when there are at most 100', () => {
    const s = new SummaryCollector();
    for (let id = 0; id < 30; id++) {
      const c = conn(id);
      s.open(c);
      s.packet(pingreq(c, 0));
      s.close(c);
    }
    expect(rowIds(s.render(makeChalk(false), false))).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});
