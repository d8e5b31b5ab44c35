/** Every audit check on captures built for it: it fires on what it is about, and stays quiet on the clean case. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runAuditCommand } from '../src/cli/audit.js';
import type { LineOut } from '../src/cli/back-end.js';
import { KeyLog } from '../src/transport/tls/keylog.js';
import { AUDIT_CHECK, AUDIT_CHECKS, AUDIT_LIMITS } from '../src/audit/checks.js';
import { guessableClientId, secretIn } from '../src/audit/stage.js';
import { makeChalk } from '../src/render/color.js';
import { auditJson, auditText } from '../src/render/audit.js';
import { auditFrames } from './builders/audit-harness.js';
import { TcpSession } from './builders/frames.js';
import * as m from './builders/mqtt-bytes.js';
import { clientHello, handshakeMsg, hex, record, sealers12, serverHello } from './builders/tls.js';

let port = 40000;
function session(client = '10.0.0.2', server = '10.0.0.1:1883', mss?: number): TcpSession {
  return new TcpSession(`${client}:${port++}`, server, mss !== undefined ? { mss } : {});
}

/** A connection: handshake, CONNECT, CONNACK, then what `more` sends. */
function conn(o: m.ConnectOpts, code = 0, more: (s: TcpSession) => Uint8Array[] = () => [], client = '10.0.0.2', server = '10.0.0.1:1883'): Uint8Array[] {
  const s = session(client, server);
  return [...s.handshake(), ...s.c2s(m.connect(o)), ...s.s2c(m.connack({ code, ...(o.level === 5 ? { level: 5 } : {}) })), ...more(s)];
}

function ids(frames: Uint8Array[], o: Parameters<typeof auditFrames>[1] = {}): string[] {
  return auditFrames(frames, o).findings.map((f) => f.check);
}

const GOOD = { clientId: 'plant7-line3-press', username: 'press', password: 'x9!Qw', keepAlive: 60 } as const;

describe('audit checks', () => {
  it('the table has one row per id, each with a why and a how', () => {
    expect(new Set(AUDIT_CHECKS.map((c) => c.id)).size).toBe(AUDIT_CHECKS.length);
    for (const c of AUDIT_CHECKS) {
      expect(c.why.length).toBeGreaterThan(20);
      expect(c.how.length).toBeGreaterThan(20);
      expect(AUDIT_CHECK[c.id]).toBe(c);
    }
  });

  it('cleartext-credentials: masked by default, shown with showSecrets; not over TLS', () => {
    const run = auditFrames(conn(GOOD));
    expect(run.findings.map((f) => f.check)).toEqual(['cleartext-credentials']);
    const f = run.findings[0]!;
    expect(f.message).toContain('"p***" (5 characters)');
    expect(f.message).toContain('a password (5 bytes)');
    expect(f.message).not.toContain('x9!Qw');
    expect(f.src).toMatch(/^10\.0\.0\.2:\d+$/);
    const shown = auditFrames(conn(GOOD), { showSecrets: true }).findings[0]!;
    expect(shown.message).toContain('"press"');
    expect(shown.message).toContain('x9!Qw');
    // Plaintext MQTT on the TLS port is still clear text (the read's TLS-plaintext-mqtt finding).
    const tlsPort = conn(GOOD, 0, () => [], '10.0.0.2', '10.0.0.1:8883');
    expect(auditFrames(tlsPort).findings.map((x) => x.check)).toContain('cleartext-credentials');
    // No credentials: no finding of this check.
    expect(ids(conn({ clientId: 'plant7-line3-press' }))).not.toContain('cleartext-credentials');
  });

  it('anonymous-accepted: only when the CONNACK accepts', () => {
    expect(ids(conn({ clientId: 'plant7-line3-press' }))).toEqual(['anonymous-accepted']);
    expect(ids(conn({ clientId: 'plant7-line3-press' }, 5))).toEqual([]);
  });

  it('shared-credentials: the same user name and password from 3 ClientIds, not from 2, not with different passwords', () => {
    const three = ['a1-press', 'a2-press', 'a3-press'].flatMap((c) => conn({ ...GOOD, clientId: c }));
    const run = auditFrames(three);
    const shared = run.findings.filter((f) => f.check === 'shared-credentials');
    expect(shared).toHaveLength(1);
    expect(shared[0]!.message).toContain('with the same password was used by 3 ClientIds');
    expect(shared[0]!.message).not.toContain('x9!Qw');
    expect(ids(['a1-press', 'a2-press'].flatMap((c) => conn({ ...GOOD, clientId: c })))).not.toContain('shared-credentials');
    expect(ids(['a1-press', 'a2-press', 'a3-press'].flatMap((c, i) => conn({ ...GOOD, clientId: c, password: `pw-${i}` })))).not.toContain('shared-credentials');
  });

  it('auth-failure-burst: N refusals within T seconds from one address, not spread out, not from several addresses', () => {
    const n = AUDIT_LIMITS.authBurstCount;
    const refused = (client: string): Uint8Array[] => conn({ ...GOOD, password: 'guess' }, 5, () => [], client);
    const burst = Array.from({ length: n + 2 }, () => refused('10.9.9.9')).flat();
    const run = auditFrames(burst);
    const b = run.findings.filter((f) => f.check === 'auth-failure-burst');
    expect(b).toHaveLength(1);
    expect(b[0]!.src).toBe('10.9.9.9');
    expect(b[0]!.message).toContain(`${n + 2} refusals`);
    // Each connection is 5 frames; spread them so that n refusals span more than the window.
    const spread = Array.from({ length: n }, () => refused('10.9.9.9'));
    const step = (AUDIT_LIMITS.authBurstWindowSec + 1) / (n - 1);
    const times = spread.flatMap((f, i) => f.map((_, j) => i * step + j * 0.001));
    expect(auditFrames(spread.flat(), { times }).findings.map((f) => f.check)).not.toContain('auth-failure-burst');
    const many = Array.from({ length: n }, (_, i) => refused(`10.9.9.${i + 1}`)).flat();
    expect(ids(many)).not.toContain('auth-failure-burst');
  });

  it('subscribe-all, subscribe-sys and a plain filter', () => {
    const sub = (topics: string[]) => conn(GOOD, 0, (s) => s.c2s(m.subscribe({ packetId: 1, subscriptions: topics.map((t) => ({ topic: t, qos: 0 })) })));
    expect(ids(sub(['#'])).filter((c) => c.startsWith('subscribe'))).toEqual(['subscribe-all']);
    expect(ids(sub(['$share/g/#'])).filter((c) => c.startsWith('subscribe'))).toEqual(['subscribe-all']);
    expect(ids(sub(['$SYS/#'])).filter((c) => c.startsWith('subscribe'))).toEqual(['subscribe-sys']);
    expect(ids(sub(['plant7/line3/press/cmd'])).filter((c) => c.startsWith('subscribe'))).toEqual([]);
  });

  it('subscribe-other-clients: a wildcard over a topic another client publishes under its own ClientId', () => {
    const pub = conn({ ...GOOD, clientId: 'sensor-7' }, 0, (s) => s.c2s(m.publish({ topic: 'devices/sensor-7/telemetry', payload: '21.5' })));
    const spy = conn({ ...GOOD, clientId: 'dashboard' }, 0, (s) => s.c2s(m.subscribe({ packetId: 1, subscriptions: [{ topic: 'devices/+/telemetry', qos: 0 }] })));
    const run = auditFrames([...pub, ...spy]);
    const f = run.findings.filter((x) => x.check === 'subscribe-other-clients');
    expect(f).toHaveLength(1);
    expect(f[0]!.clientId).toBe('dashboard');
    expect(f[0]!.message).toContain('devices/sensor-7/telemetry');
    // The publisher's own wildcard over its own tree is fine.
    const own = conn({ ...GOOD, clientId: 'sensor-7' }, 0, (s) => [...s.c2s(m.publish({ topic: 'devices/sensor-7/telemetry', payload: '1' })), ...s.c2s(m.subscribe({ packetId: 1, subscriptions: [{ topic: 'devices/sensor-7/#', qos: 0 }] }))]);
    expect(ids(own)).not.toContain('subscribe-other-clients');
  });

  it('guessable-client-id: the heuristic', () => {
    expect(guessableClientId('')).not.toBeNull();
    expect(guessableClientId('123456')).not.toBeNull();
    expect(guessableClientId('1234567')).toBeNull();
    expect(guessableClientId('mqttx_4f2a9c1e')).not.toBeNull();
    expect(guessableClientId('paho12345')).not.toBeNull();
    expect(guessableClientId('MQTTjs_ab12')).not.toBeNull();
    expect(guessableClientId('plant7-line3-press')).toBeNull();
    const two = [...conn({ ...GOOD, clientId: 'mqttx_4f2a9c1e' }), ...conn({ ...GOOD, clientId: 'mqttx_4f2a9c1e' })];
    const g = auditFrames(two).findings.filter((f) => f.check === 'guessable-client-id');
    expect(g).toHaveLength(1);
    expect(g[0]!.message).toContain('(2 connections)');
  });

  it('old-protocol: a 3.1 CONNECT, not a 3.1.1 one', () => {
    expect(ids(conn({ ...GOOD, level: 3, clientId: 'plant7-press' }))).toContain('old-protocol');
    expect(ids(conn(GOOD))).not.toContain('old-protocol');
  });

  it('retained-message: once per topic; an empty retained message (a delete) is not one', () => {
    const pubs = (s: TcpSession) => [
      ...s.c2s(m.publish({ topic: 'plant/state', payload: 'on', retain: true })),
      ...s.c2s(m.publish({ topic: 'plant/state', payload: 'off', retain: true })),
      ...s.c2s(m.publish({ topic: 'plant/other', payload: '', retain: true })),
      ...s.c2s(m.publish({ topic: 'plant/live', payload: '1' })),
    ];
    const r = auditFrames(conn(GOOD, 0, pubs)).findings.filter((f) => f.check === 'retained-message');
    expect(r.map((f) => f.message)).toEqual([expect.stringContaining('"plant/state"')]);
  });

  it('keep-alive: 0 and above the limit, not a normal one, and a Server Keep Alive overrides', () => {
    expect(ids(conn({ ...GOOD, keepAlive: 0 }))).toContain('keep-alive');
    expect(ids(conn({ ...GOOD, keepAlive: AUDIT_LIMITS.keepAliveMaxSec + 1 }))).toContain('keep-alive');
    expect(ids(conn({ ...GOOD, keepAlive: AUDIT_LIMITS.keepAliveMaxSec }))).not.toContain('keep-alive');
    const s = session();
    const overridden = [...s.handshake(), ...s.c2s(m.connect({ ...GOOD, level: 5, keepAlive: 0 })), ...s.s2c(m.connack({ level: 5, properties: [['serverKeepAlive', 60]] }))];
    expect(ids(overridden)).not.toContain('keep-alive');
  });

  it('secret-in-payload: PEM keys, JWTs, JSON secret keys; masked unless showSecrets', () => {
    const jwt = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"42"}').toString('base64url')}.c2lnbmF0dXJl`;
    expect(secretIn(`-----BEGIN RSA PRIVATE KEY-----\nMIIE...`)?.kind).toBe('a PEM private key');
    expect(secretIn(`-----BEGIN PUBLIC KEY-----\nMIIB...`)).toBeNull();
    expect(secretIn(`{"auth":"${jwt}"}`)?.kind).toBe('a JSON Web Token');
    expect(secretIn('{"api_key":"abc123"}')?.kind).toContain('api_key');
    expect(secretIn('{"Password" : "hunter2"}')?.value).toBe('hunter2');
    expect(secretIn('{"password":""}')).toBeNull();
    expect(secretIn('{"temperature":"21.5","tokens":3}')).toBeNull();
    const pubs = (s: TcpSession) => s.c2s(m.publish({ topic: 'cfg/device', payload: '{"ssid":"plant","password":"hunter2"}' }));
    const f = auditFrames(conn(GOOD, 0, pubs)).findings.filter((x) => x.check === 'secret-in-payload');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).not.toContain('hunter2');
    const shown = auditFrames(conn(GOOD, 0, pubs), { showSecrets: true }).findings.filter((x) => x.check === 'secret-in-payload');
    expect(shown[0]!.message).toContain('hunter2');
  });

  it('slow-connect: many small segments, or a long time after the first frame', () => {
    const s = session('10.0.0.2', '10.0.0.1:1883');
    const trickle = [...s.handshake(), ...s.c2s(m.connect(GOOD), 2), ...s.s2c(m.connack())];
    const f = auditFrames(trickle).findings.filter((x) => x.check === 'slow-connect');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toMatch(/came in \d+ segments/);
    const late = conn(GOOD);
    const times = late.map((_, i) => (i < 3 ? i * 0.001 : AUDIT_LIMITS.slowConnectSec + 1 + i * 0.001));
    expect(auditFrames(late, { times }).findings.map((x) => x.check)).toContain('slow-connect');
    expect(ids(conn(GOOD))).not.toContain('slow-connect');
  });

  it('a clean, well-behaved client gives no finding at all but its clear-text login', () => {
    expect(ids(conn(GOOD, 0, (s) => s.c2s(m.publish({ topic: 'plant7/line3/press/rate', payload: '42' }))))).toEqual(['cleartext-credentials']);
  });

  it('bounds: findings past the per-check bound are counted, not kept', () => {
    const n = AUDIT_LIMITS.findingsPerCheck + 3;
    const frames: Uint8Array[] = [];
    for (let i = 0; i < n; i++) frames.push(...conn({ clientId: `dev-${i}-press`, keepAlive: 60 }));
    const run = auditFrames(frames);
    expect(run.findings.filter((f) => f.check === 'anonymous-accepted')).toHaveLength(AUDIT_LIMITS.findingsPerCheck);
    expect(run.limits).toEqual([{ table: 'findings of anonymous-accepted', bound: AUDIT_LIMITS.findingsPerCheck, dropped: 3 }]);
    const text = auditText(run.findings, run.limits, { connections: n, packets: 0, undecrypted: 0 }, makeChalk(false));
    expect(text.some((l) => l.includes('reached its bound of 1000; 3 more'))).toBe(true);
  });

  it('renders text with why, and NDJSON with a summary; capture strings are escaped for terminals', () => {
    const run = auditFrames(conn({ ...GOOD, clientId: 'mqttx_\u001b[31mred\u009b' }));
    const text = auditText(run.findings, run.limits, { connections: 1, packets: 2, undecrypted: 0 }, makeChalk(false));
    expect(text.join('\n')).not.toContain('\u001b');
    expect(text.some((l) => l.startsWith('        why: '))).toBe(true);
    const lines = auditJson(run.findings, run.limits, { connections: 1, packets: 2, undecrypted: 0 });
    // JSON.stringify leaves C1 controls raw; the NDJSON escapes them as packet records do.
    expect(lines.join('\n')).not.toMatch(/[\u0080-\u009f]/);
    const json = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.at(-1)).toMatchObject({ kind: 'audit-summary', findings: 2, high: 1, low: 1, connections: 1 });
    expect(json[0]).toMatchObject({ kind: 'audit', check: 'cleartext-credentials', severity: 'high', clientId: 'mqttx_\u001b[31mred\u009b' });
  });
});

describe('audit command in process', () => {
  it('says how many TLS connections it could not audit without keys, and audits them with keys', async () => {
    const run = async (keys: string | null): Promise<string[]> => {
      const lines: string[] = [];
      const keylog = new KeyLog();
      if (keys !== null) keylog.add(readFileSync(keys, 'latin1'), keys);
      const out = { line: (l: string) => { lines.push(l); }, flush: () => {}, bytes: () => {} } as unknown as LineOut; // only line() and flush() are called
      const code = await runAuditCommand({ captures: ['captures/real-tls-openssl.pcap'], json: true, showSecrets: false, port: [], auto: false, keylog, tlsPorts: [8884, 8885] }, out, makeChalk(false), () => {});
      expect(code).toBe(0);
      return lines;
    };
    const without = JSON.parse((await run(null)).at(-1)!) as Record<string, number>;
    expect(without['undecrypted']).toBeGreaterThan(0);
    // Only the plaintext CONNECT on 8883 (captures/MANIFEST.md) is readable without keys.
    expect(without['connections']).toBe(1);
    const withKeys = JSON.parse((await run('captures/real-tls-openssl.keys')).at(-1)!) as Record<string, number>;
    expect(withKeys['connections']).toBeGreaterThan(5);
    expect(withKeys['undecrypted']).toBeLessThan(without['undecrypted']!);
  });
});

/**
 * A TLS 1.2 (ECDHE-RSA-AES128-GCM) connection to 8883 whose client logs in with a user name and password, and its
 * key log: ClientHello, the server's flight, the client's Finished, then the CONNECT and CONNACK as application data.
 */
function tlsLogin(o: m.ConnectOpts): { frames: Uint8Array[]; keylog: KeyLog } {
  const suite = 0xc02f;
  const cr = randomBytes(32);
  const sr = randomBytes(32);
  const master = randomBytes(48);
  const keylog = new KeyLog();
  keylog.add(`CLIENT_RANDOM ${hex(cr)} ${hex(master)}\n`, 'login.keys');
  const seal = sealers12(suite, master, cr, sr);
  const finished = Uint8Array.from(handshakeMsg(20, new Array<number>(12).fill(0x5a)));
  const s = session('10.0.0.2', '10.0.0.1:8883');
  const cat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
  const frames = [
    ...s.handshake(),
    ...s.c2s(clientHello({ random: cr, sni: 'broker.example', suites: [suite] })),
    ...s.s2c(cat([serverHello({ random: sr, suite, version: 0x0303 }), record(20, [1]), seal.s2c.seal(22, finished)])),
    ...s.c2s(cat([record(22, handshakeMsg(16, [0, 1, 2])), record(20, [1]), seal.c2s.seal(22, finished)])),
    ...s.c2s(seal.c2s.seal(23, m.connect(o))),
    ...s.s2c(seal.s2c.seal(23, m.connack())),
  ];
  return { frames, keylog };
}

describe('audit over TLS', () => {
  it('credentials inside a decrypted TLS connection are no clear-text finding; the same login over plain TCP is one', () => {
    const { frames, keylog } = tlsLogin(GOOD);
    const run = auditFrames(frames, { keylog });
    // Decrypted and audited: the CONNECT was read (so its login is known), and nothing said it was sent in the clear.
    expect(run.stage.connections).toBe(1);
    expect(run.stage.undecrypted).toBe(0);
    expect(run.findings.map((f) => f.check)).not.toContain('cleartext-credentials');
    expect(run.findings.map((f) => f.check)).not.toContain('anonymous-accepted');
    // Without the keys nothing of it is read at all.
    const blind = auditFrames(frames);
    expect(blind.stage.undecrypted).toBe(1);
    expect(blind.findings).toEqual([]);
    // The control: the very same CONNECT over plain TCP.
    expect(ids(conn(GOOD))).toContain('cleartext-credentials');
  });
});
