/**
 * --summary keeps only the rows it may still print: closed connections are cut back to the busiest 100, so memory does
 * not grow with the number of connections in a capture. The table must still be exactly the 100 busiest of all.
 */
import { describe, expect, it } from 'vitest';
import type { PacketRecord, Violation } from '../src/mqtt/connection-decoder.js';
import { makeChalk } from '../src/render/color.js';
import { SummaryCollector } from '../src/render/summary.js';
import type { Connection } from '../src/tcp/types.js';
import { TcpSession } from './builders/frames.js';
import { connack, connect, publish } from './builders/mqtt-bytes.js';
import { runFrames } from './builders/run-frames.js';

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

describe('summary tables fit the terminal', () => {
  /** Connections with long client ids and addresses, long topics, a finding, and big numbers to watch for cuts. */
  function busy(): SummaryCollector {
    const s = new SummaryCollector();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      const t = new TcpSession(`[2001:db8:aaaa:bbbb::${i + 1}]:${50000 + i}`, '[2001:db8:cccc:dddd::1]:1883');
      frames.push(...t.handshake(), ...t.c2s(connect({ clientId: `device-with-a-rather-long-client-identifier-${i}` })), ...t.s2c(connack({})));
      for (let k = 0; k <= i; k++) frames.push(...t.c2s(publish({ topic: `building/${i}/floor/${k}/room/with/a/very/long/topic/name/sensor/temperature`, payload: 'x'.repeat(12345) })));
      frames.push(...t.c2s(publish({ topic: 'a', qos: 3 as 0, payload: 'bad' })), ...t.close());
    }
    const r = runFrames(frames);
    const opened = new Set<number>();
    for (const seen of r.seen) {
      if (seen.kind === 'packet') {
        if (!opened.has(seen.rec.conn.id)) s.open(seen.rec.conn);
        opened.add(seen.rec.conn.id);
        s.packet(seen.rec);
      } else if (seen.kind === 'event') s.event(seen.ev);
      else s.close(seen.conn, seen.end);
    }
    return s;
  }

  const visible = (line: string): number => [...line].length;

  for (const width of [100, 90, 132]) {
    it(`every line fits ${width} columns and no number is cut`, () => {
      const s = busy();
      const text = s.render(makeChalk(false), false, width);
      const lines = text.split('\n');
      expect(lines.filter((l) => visible(l) > width)).toEqual([]);
      const cells = new Set(lines.flatMap((l) => l.split('│').map((c) => c.trim())));
      // Every number the NDJSON summary has, whole in a cell of its own.
      const json = s.renderJson().map((l) => JSON.parse(l) as { table: string; rows: Record<string, unknown>[] });
      const numbers = json.flatMap((t) => t.rows.flatMap((r) => Object.entries(r).filter(([k, v]) => typeof v === 'number' && k !== 'tcpStream').map(([, v]) => String(v))));
      expect(numbers.length).toBeGreaterThan(20);
      for (const n of numbers) expect(cells.has(n) || [...cells].some((c) => c === n.padEnd(8, '0')), n).toBe(true);
      // Names wrap; one too long for four lines is cut with the count of what is left out. A column's text, read
      // down the table, holds each name in one piece.
      const rows = lines.filter((l) => l.startsWith('│')).map((l) => l.split('│').slice(1, -1).map((c) => c.trim()));
      const joined = [0, 1, 2, 3].map((col) => rows.map((r) => r[col] ?? '').join('')).join(' ');
      const id = 'device-with-a-rather-long-client-identifier-2';
      const cut = /device-with[^+]*… \+(\d+)/.exec(joined);
      if (joined.includes(id)) expect(cut).toBeNull();
      else expect(cut, 'a cut client id says how much is left out').not.toBeNull();
      expect(joined).toContain('building/2/floor/2/room/with/a/very/long/topic/name/sensor/temperature');
    });
  }

  it('a terminal too narrow for the table still gets every number whole', () => {
    const text = busy().render(makeChalk(false), false, 40);
    expect(text).toContain('│ 12491   │');
  });

  it('a wide terminal gets one column per value', () => {
    const text = busy().render(makeChalk(false), false, 400);
    expect(text.split('\n').find((l) => l.includes('duration s'))).toContain('│ packets │ bytes │ findings │');
  });
});
