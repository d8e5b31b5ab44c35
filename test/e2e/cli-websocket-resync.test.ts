/**
 * A TCP gap over a WebSocket frame header on a real capture (captures/real-ws-8080.pcap without frame 82, which held a
 * whole client frame: header and part of a PUBLISH): the layer reports the loss, finds the frames again at the next
 * header that fits (resync event), and every later MQTT packet of that direction is decoded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, ROOT, runCli, tempFile } from '../builders/cli.js';

/** The pcap without its record number `drop` (1-based). */
function without(pcap: Buffer, drop: number): Buffer {
  const parts: Buffer[] = [pcap.subarray(0, 24)];
  let at = 24;
  for (let n = 1; at + 16 <= pcap.length; n++) {
    const len = pcap.readUInt32LE(at + 8);
    if (n !== drop) parts.push(pcap.subarray(at, at + 16 + len));
    at += 16 + len;
  }
  return Buffer.concat(parts);
}

type Rec = Record<string, unknown>;

describe('WebSocket after a gap over a frame header (real capture, one segment removed)', () => {
  it('reports the loss, finds the frames again, and decodes every later packet of the direction', () => {
    const whole = readFileSync(join(ROOT, 'captures', 'real-ws-8080.pcap'));
    const r = runCli(['--json', tempFile('gap.pcap', without(whole, 82))]);
    expect(r.status).toBe(0);
    const recs = jsonLines(r.stdout);
    const pubConn = recs.find((l) => l.type === 'CONNECT' && (l.fields as Rec).clientId === 'corpus-ws-pub')!.conn;
    const mine = recs.filter((l) => l.conn === pubConn && l.dir === 'c2s');
    const events = mine.filter((l) => l.kind === 'event').map((l) => l.event);
    expect(events).toContain('websocket-lost');
    expect(events.indexOf('resync')).toBeGreaterThan(events.indexOf('websocket-lost'));
    const sent = mine.filter((l) => l.kind === 'packet').map((l) => [l.type, (l.fields as Rec).topic ?? null]);
    // The q1 PUBLISH was in the lost segment; everything after it is back.
    expect(sent).toEqual([
      ['CONNECT', null], ['PUBLISH', 'corpus/ws/q0'], ['PUBLISH', 'corpus/ws/q2'], ['PUBREL', null],
      ['PUBLISH', 'corpus/ws/medium'], ['PUBLISH', 'corpus/ws/large'], ['DISCONNECT', null],
    ]);
    expect(recs.filter((l) => l.kind === 'packet' && l.type === 'PUBLISH' && (l.fields as Rec).topic === 'corpus/ws/large').map((l) => (l.fields as Rec).payloadLength)).toEqual([70000, 70000]);
  });
});
