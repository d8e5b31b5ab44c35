/** docs/json.md's packet-record table lists the keys a packet record has, in output order (those of a snaplen-cut packet too). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { decodePacket } from '../src/mqtt/decoder.js';
import { packetJsonText } from '../src/render/ndjson.js';
import { traceJson } from '../src/render/trace.js';
import { receiversJson } from '../src/render/receivers.js';
import type { MessageRecord, SessionRecord } from '../src/sessions/records.js';
import type { Connection } from '../src/tcp/types.js';
import { ROOT } from './builders/cli.js';
import { connect } from './builders/mqtt-bytes.js';

const conn: Connection = {
  id: 3, clientIp: '10.0.0.1', clientPort: 40000, serverIp: '10.0.0.2', serverPort: 1883, client: '10.0.0.1:40000',
  server: '10.0.0.2:1883', sawSyn: true, firstFrame: 1, startSec: 1_700_000_000, startNsec: 0, tls: false, tcpStream: 9,
};

test('docs/json.md lists every key of the packet record, in order', () => {
  const b = connect({ level: 4, clientId: 'a' });
  const rec = JSON.parse(packetJsonText({ conn, dir: 'c2s', frame: 4, frames: [4], timeSec: conn.startSec, timeNsec: 0, bytes: b, decoded: decodePacket(b, { level: 4, dir: 'c2s', tree: false }), levelInferred: false, streamOffset: 0, violations: [] }, { redact: false, payloadLimit: 1024 })) as Record<string, unknown>;
  expect(rec.tcpStream).toBe(9);
  const doc = readFileSync(join(ROOT, 'docs', 'json.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Packet records'), doc.indexOf('### Violations'));
  // A row may document several keys (`src`, `dst`).
  // A row may document several keys (`src`, `dst`); rows for keys that appear "only" in some records are left out.
  const rows = [...section.matchAll(/^\| (`[a-zA-Z]+`(?:, `[a-zA-Z]+`)*) \| [^|]*(?:\\\|[^|]*)* \|(.*)\|$/gm)];
  const documented = rows.filter((m) => !m[2]!.trim().startsWith('only ')).flatMap((m) => m[1]!.split(', ').map((k) => k.slice(1, -1)));
  expect(documented).toEqual(Object.keys(rec));
  // The keys of a packet the snaplen cut on a decrypted TLS connection, in their place.
  const tlsConn: Connection = { ...conn, tls: true, transport: ['tls'], transportKeys: 'keys.log line 1' };
  const cut = JSON.parse(packetJsonText({ conn: tlsConn, dir: 'c2s', frame: 4, frames: [4], timeSec: conn.startSec, timeNsec: 0, bytes: b.subarray(0, 9), decoded: decodePacket(b.subarray(0, 9), { level: 4, dir: 'c2s', tree: false }), levelInferred: false, streamOffset: 0, truncated: b.length, violations: [] }, { redact: false, payloadLimit: 1024 })) as Record<string, unknown>;
  const all = rows.flatMap((m) => m[1]!.split(', ').map((k) => k.slice(1, -1)));
  expect(all).toEqual(Object.keys(cut));
  expect(cut).toMatchObject({ length: b.length, truncated: true, capturedLength: 9, transport: 'tls', transportKeys: 'keys.log line 1' });
  // The same on a WebSocket connection (no key-log entry: only transport).
  const wsCut = JSON.parse(packetJsonText({ conn: { ...conn, transport: ['websocket'] }, dir: 'c2s', frame: 4, frames: [4], timeSec: conn.startSec, timeNsec: 0, bytes: b.subarray(0, 9), decoded: decodePacket(b.subarray(0, 9), { level: 4, dir: 'c2s', tree: false }), levelInferred: false, streamOffset: 0, truncated: b.length, violations: [] }, { redact: false, payloadLimit: 1024 })) as Record<string, unknown>;
  expect(wsCut).toMatchObject({ transport: 'websocket' });
  expect(wsCut).not.toHaveProperty('transportKeys');
});

/** The keys of a table of docs/json.md between two headings, in row order. */
function documentedKeys(from: string, to: string): string[] {
  const doc = readFileSync(join(ROOT, 'docs', 'json.md'), 'utf8');
  const section = doc.slice(doc.indexOf(from), doc.indexOf(to, doc.indexOf(from)));
  return [...section.matchAll(/^\| (`[a-zA-Z]+`(?:, `[a-zA-Z]+`)*) \| [^|]*(?:\\\|[^|]*)* \|(.*)\|$/gm)].flatMap((m) => m[1]!.split(', ').map((k) => k.slice(1, -1)));
}

test('docs/json.md lists every key of the message and session records, in order', () => {
  const message: MessageRecord = {
    kind: 'message', frame: 4, timeSec: 1_700_000_000, timeNsec: 5000, conn: 1, clientId: 'p', topic: 't', qos: 1, retain: false,
    payloadLength: 2, payloadHash: '0000abcd', deliveries: [{ conn: 2, frame: 6, clientId: 's', qos: 1, latencyMs: 0.25 }],
    ambiguous: [{ conn: 3, frame: 7, clientId: null, candidates: 2 }],
  };
  const m = JSON.parse(traceJson(message)) as Record<string, unknown>;
  expect(documentedKeys('### Message records', '### Session records')).toEqual(Object.keys(m));
  expect(m).toMatchObject({ time: '2023-11-14T22:13:20.000005Z', deliveries: message.deliveries, ambiguous: message.ambiguous });
  const session: SessionRecord = { kind: 'session', clientId: 'p', connections: [1, 5], reconnects: 1, takeovers: 0, redeliveries: 0, subscriptions: null };
  expect(documentedKeys('### Session records', '### Receiver records')).toEqual(Object.keys(JSON.parse(traceJson(session)) as Record<string, unknown>));
});

test('docs/json.md lists every key of the receiver records of trace --receivers, in order', () => {
  const s = { filter: '$share/g/a/+', qos: 1, shareGroup: 'g', noLocal: false, timeSec: 1_700_000_000.5 };
  const lines = receiversJson({
    topic: 'a/b', receivers: [{ kind: 'receiver', clientId: 'c', subscriptions: [s], maxQos: 1, connected: true, persists: false, complete: true }],
    past: [{ ...s, clientId: 'd', untilSec: 1_700_000_001 }], pastCapped: false, unknown: [], clients: 2, capped: false,
  }).map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(documentedKeys('### Receiver records', 'The closing `receivers` record')).toEqual(Object.keys(lines[0]!));
  expect(documentedKeys('The closing `receivers` record', 'What the stage checks')).toEqual(Object.keys(lines[1]!));
  expect(lines[0]).toMatchObject({ subscriptions: [{ filter: '$share/g/a/+', since: '2023-11-14T22:13:20.500000Z' }] });
  expect(lines[1]).toMatchObject({ past: [{ clientId: 'd', until: '2023-11-14T22:13:21.000000Z' }] });
});
