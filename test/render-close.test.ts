/**
 * The close record (issue 12, "How connections end"): one per connection, in NDJSON and as a text line, with who
 * ended it and how, the silence before it against the Keep Alive, what preceded it and whether the Will was due.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { makeChalk } from '../src/render/color.js';
import { CLOSE_KEYS, closeJson, closeLine, closeObject } from '../src/render/close.js';
import { SummaryCollector } from '../src/render/summary.js';
import type { SessionsClose } from '../src/sessions/records.js';
import { ROOT } from './builders/cli.js';
import { TcpSession } from './builders/frames.js';
import { connack, connect, disconnect, pingreq, pingresp } from './builders/mqtt-bytes.js';
import { runFrames } from './builders/run-frames.js';

function timed() {
  const frames: Uint8Array[] = [];
  const times: number[] = [];
  const at = (t: number, fs: Uint8Array[] | Uint8Array): void => {
    for (const f of Array.isArray(fs) ? fs : [fs]) { frames.push(f); times.push(t); }
  };
  return { frames, times, at };
}

function closes(frames: Uint8Array[], times: number[]) {
  const r = runFrames(frames, { times });
  return r.closes.map((c) => closeObject(c.conn, c.end));
}

describe('close records', () => {
  test('a 5.0 DISCONNECT with reason code and reason string, then FIN', () => {
    const { frames, times, at } = timed();
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    at(0, s.handshake());
    at(0.1, s.c2s(connect({ level: 5, keepAlive: 30, will: { topic: 'w', payload: 'gone' } })));
    at(0.2, s.s2c(connack({ level: 5 })));
    at(0.4, s.s2c(disconnect({ level: 5, reasonCode: 0x8e, properties: [['reasonString', 'taken over']] })));
    at(1.2, s.close('server'));
    const [c] = closes(frames, times);
    expect(Object.keys(c!)).toEqual(CLOSE_KEYS.map((k) => k[0]).filter((k) => k in c!));
    expect(c).toMatchObject({
      kind: 'close', conn: 0, by: 'server', how: 'disconnect', tcp: 'fin', why: 'server-disconnect', reasonCode: 0x8e, reasonCodeName: 'Session taken over',
      reasonString: 'taken over', durationSec: 1.2, keepAlive: 30, keepAliveFrom: 'connect', keepAliveExpired: false,
      connackCode: 0, refused: false, serverDisconnect: true, willDue: true, violations: [],
    });
    expect(c!.silenceSec).toBeCloseTo(1.1, 6);
  });

  test('the client\'s normal DISCONNECT: no Will due; 3.1.1 DISCONNECT has no reason code', () => {
    const { frames, times, at } = timed();
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    at(0, s.handshake());
    at(0.1, s.c2s(connect({ will: { topic: 'w', payload: 'x' } })));
    at(0.2, s.s2c(connack({})));
    at(0.3, s.c2s(disconnect({})));
    at(0.4, s.close('client'));
    const [c] = closes(frames, times);
    expect(c).toMatchObject({ by: 'client', how: 'disconnect', why: 'client-disconnect', willDue: false });
    expect(c).not.toHaveProperty('reasonCode');
  });

  test('RST by the server after a refusing CONNACK', () => {
    const { frames, times, at } = timed();
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    at(0, s.handshake());
    at(0.1, s.c2s(connect({ will: { topic: 'w', payload: 'x' } })));
    at(0.2, s.s2c(connack({ code: 5 })));
    at(0.3, s.rst('server'));
    const [c] = closes(frames, times);
    expect(c).toMatchObject({ by: 'server', how: 'rst', why: 'refused', connackCode: 5, connackName: 'Connection Refused, not authorized', refused: true, willDue: false });
  });

  test('keep-alive expiry before the close: the findings ride on the close record', () => {
    const { frames, times, at } = timed();
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    at(0, s.handshake());
    at(0.01, s.c2s(connect({ keepAlive: 2 })));
    at(0.02, s.s2c(connack({})));
    at(7.01, s.close('server'));
    const r = runFrames(frames, { times });
    const c = closeObject(r.closes[0]!.conn, r.closes[0]!.end);
    expect(c).toMatchObject({ by: 'server', how: 'fin', why: 'keep-alive', keepAlive: 2, keepAliveExpired: true, willDue: false });
    expect((c.violations as { id: string }[]).map((v) => v.id)).toEqual(['MQTT-3.1.2-23', 'MQTT-3.1.2-24']);
    expect(JSON.parse(closeJson(r.closes[0]!.conn, r.closes[0]!.end))).toEqual(c);
    const line = closeLine(makeChalk(false), r.closes[0]!.conn, r.closes[0]!.end);
    expect(line).toMatch(/close conn 0 \(tcp.stream 0\): the server closed it with FIN; after 7\.0\d+ s; client silent 7 s before, Keep Alive 2 s, expired/);
  });

  test('still open at the end of the capture: one record per connection, in close order', () => {
    const { frames, times, at } = timed();
    const a = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    const b = new TcpSession('10.0.0.3:50001', '10.0.0.1:1883');
    at(0, a.handshake());
    at(0, b.handshake());
    at(0.1, a.c2s(connect({})));
    at(0.1, b.c2s(connect({})));
    at(0.2, a.s2c(connack({})));
    at(0.2, b.s2c(connack({})));
    at(0.3, b.close('client'));
    at(0.5, a.c2s(pingreq()));
    at(0.6, a.s2c(pingresp()));
    const cs = closes(frames, times);
    expect(cs.map((c) => [c.conn, c.how, c.by, c.why])).toEqual([[1, 'fin', 'client', 'client-fin'], [0, 'capture-end', null, 'capture-end']]);
    expect(cs[1]!.durationSec).toBeCloseTo(0.6, 6);
  });

  test('the sessions stage\'s takeover and Will audit: keys in order, and said in the text line', () => {
    const { frames, times, at } = timed();
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    at(0, s.handshake());
    at(0.1, s.c2s(connect({ will: { topic: 'w', payload: 'x' } })));
    at(0.2, s.s2c(connack({})));
    at(0.4, s.close('server'));
    const r = runFrames(frames, { times });
    const { conn, end } = r.closes[0]!;
    const withWill: SessionsClose = { ...end, takeover: { conn: 3, frame: 9 }, will: 'fired', willDeliveries: [{ conn: 1, frame: 12, clientId: 'w', qos: 1, afterCloseMs: 2 }] };
    const c = closeObject(conn, withWill);
    expect(Object.keys(c)).toEqual(CLOSE_KEYS.map((k) => k[0]).filter((k) => k in c));
    expect(c).toMatchObject({ why: 'takeover', willDue: true, takeover: { conn: 3, frame: 9 }, will: 'fired', willDeliveries: [{ frame: 12 }] });
    expect(closeLine(makeChalk(false), conn, withWill)).toMatch(/taken over by conn 3 \(frame 9\); Will published \(frame 12\)$/);
    // Without the sessions stage (--no-sessions): no such keys, and the rules' "Will due".
    const bare: SessionsClose = { ...end, will: undefined };
    expect(closeObject(conn, bare)).not.toHaveProperty('will');
    expect(closeLine(makeChalk(false), conn, bare)).toMatch(/Will due$/);
    // With it: the capture ends before the Will's window does.
    expect(closeObject(conn, end)).toMatchObject({ will: 'pending', takeover: null });
  });

  test('docs/json.md lists every key of the close record', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'json.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Close records'), doc.indexOf('### Other commands'));
    const documented = [...section.matchAll(/^\| `([a-zA-Z]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual(CLOSE_KEYS.map((k) => k[0]));
  });
});

describe('--summary connections table', () => {
  test('has the CONNACK result, the end reason, and a duration that runs to the TCP close', () => {
    const { frames, times, at } = timed();
    const s = new TcpSession('10.0.0.2:50000', '10.0.0.1:1883');
    at(0, s.handshake());
    at(0.1, s.c2s(connect({})));
    at(0.2, s.s2c(connack({ code: 4 })));
    at(1.2, s.close('server'));
    const summary = new SummaryCollector();
    const r = runFrames(frames, { times });
    summary.open(r.closes[0]!.conn);
    for (const p of r.packets) summary.packet(p);
    summary.close(r.closes[0]!.conn, r.closes[0]!.end);
    // One line per connection (a terminal wide enough for every column).
    const text = summary.render(makeChalk(false), false, 400);
    const row = text.split('\n').find((l) => l.includes('10.0.0.2:50000'))!;
    expect(row).toContain('1.200000');
    expect(row).toContain('refused 0x04');
    expect(row).toContain('FIN by server');
  });
});


