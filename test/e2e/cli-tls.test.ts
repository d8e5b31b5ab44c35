/**
 * MQTT inside TLS from the command line, on the real captures of scripts/make-captures.sh: decrypted with --tls-keylog,
 * SSLKEYLOGFILE or the keys in a pcapng Decryption Secrets Block; the handshake's facts and findings without keys;
 * every output mode on the decrypted stream.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { jsonLines, ROOT, runCli } from '../builders/cli.js';

const CAP = (f: string): string => join(ROOT, 'captures', f);
const MQTTJS = CAP('real-tls-mqttjs.pcapng');
const MQTTJS_KEYS = CAP('real-tls-mqttjs.keys');
const OPENSSL = CAP('real-tls-openssl.pcap');
const OPENSSL_KEYS = CAP('real-tls-openssl.keys');
const DSB = CAP('real-tls-openssl-dsb.pcapng');

type Rec = Record<string, unknown>;
const tlsOf = (e: Rec): Rec => e.tls as Rec;

describe('MQTT.js over TLS 1.2 and 1.3 (Node key log)', () => {
  test('--tls-keylog: every connection decrypted, every packet says so, the suites as forced', () => {
    const r = runCli(['--json', '--tls-keylog', MQTTJS_KEYS, MQTTJS]);
    expect(r.status).toBe(0);
    const recs = jsonLines(r.stdout);
    const packets = recs.filter((l) => l.kind === 'packet');
    expect(packets).toHaveLength(175);
    expect(packets.every((p) => p.transport === 'tls' && typeof p.transportKeys === 'string' && String(p.transportKeys).includes('real-tls-mqttjs.keys line'))).toBe(true);
    const facts = recs.filter((l) => l.event === 'tls').map(tlsOf);
    expect(facts.map((f) => [f.version, f.cipherSuite, f.decrypted])).toEqual([
      ['TLS 1.3', 'TLS_AES_128_GCM_SHA256', true],
      ['TLS 1.3', 'TLS_AES_256_GCM_SHA384', true],
      ['TLS 1.3', 'TLS_CHACHA20_POLY1305_SHA256', true],
      ['TLS 1.3', 'TLS_AES_128_CCM_SHA256', true],
      ['TLS 1.2', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', true],
      ['TLS 1.2', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', true],
      ['TLS 1.2', 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', true],
    ]);
    expect(facts.every((f) => f.sni === 'broker.corpus.test' && JSON.stringify(f.alpnOffered) === '["mqtt"]')).toBe(true);
    // TLS 1.3 shows the certificate only through its handshake secrets, which Node logs too.
    expect(facts.every((f) => (f.certificate as Rec | null)?.subject === 'CN=broker.corpus.test, O=mqtt-dissect corpus')).toBe(true);
    expect(recs.filter((l) => l.event === 'tls-error')).toEqual([]);
    // The MQTT checks run on the decrypted stream: the session is clean.
    expect(packets.flatMap((p) => p.violations as unknown[])).toEqual([]);
    expect(packets.filter((p) => p.type === 'PUBLISH' && (p.fields as Rec).payloadLength === 20000)).toHaveLength(14);
  });

  test('SSLKEYLOGFILE is read when --tls-keylog is absent', () => {
    const r = runCli(['--json', MQTTJS], { env: { SSLKEYLOGFILE: MQTTJS_KEYS } });
    expect(jsonLines(r.stdout).filter((l) => l.kind === 'packet')).toHaveLength(175);
  });

  test('without keys: the facts, one no-key event per connection, and a hint that names --tls-keylog', () => {
    const r = runCli(['--json', MQTTJS], { env: { SSLKEYLOGFILE: '' } });
    expect(r.status).toBe(0);
    const recs = jsonLines(r.stdout);
    expect(recs.filter((l) => l.kind === 'packet')).toEqual([]);
    expect(recs.filter((l) => l.event === 'tls').map((e) => [tlsOf(e).version, tlsOf(e).decrypted])).toHaveLength(7);
    expect(recs.filter((l) => l.event === 'tls-error').map((e) => e.reason)).toEqual(new Array(7).fill('no-key'));
    expect(r.stderr).toContain('7 TLS connections were not decrypted');
    expect(r.stderr).toContain('--tls-keylog');
  });

  test('-x shows the decrypted MQTT bytes and says they were decrypted; --summary shows the client ids', () => {
    const x = runCli(['-x', '--tls-keylog', MQTTJS_KEYS, MQTTJS]);
    expect(x.stdout).toContain('(MQTT bytes decrypted from TLS records, keys from');
    expect(x.stdout).toContain('text = "corpus-tls13-aes128gcm"');
    const s = runCli(['--summary', '--tls-keylog', MQTTJS_KEYS, MQTTJS]);
    expect(s.stdout).toContain('corpus-tls12-chacha');
    expect(s.stdout).toContain('(TLS)');
  });

  test('--threads 2 prints the same: the connection reaches the render worker with its transport set', () => {
    const args = ['--json', '--tls-keylog', MQTTJS_KEYS, MQTTJS];
    const one = runCli(args);
    const two = runCli(['--threads', '2', ...args]);
    expect(two.status).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    expect(two.stdout).toContain('"transport":"tls"');
  });

  test('SSLKEYLOGFILE naming a missing file is no error: the no-key events say so, stderr only has the hint', () => {
    const r = runCli(['--json', MQTTJS], { env: { SSLKEYLOGFILE: join(ROOT, 'captures', 'no-such.keys') } });
    expect(r.status).toBe(0);
    const noKey = jsonLines(r.stdout).filter((l) => l.event === 'tls-error');
    expect(noKey).toHaveLength(7);
    expect(String(noKey[0]!.message)).toContain('SSLKEYLOGFILE names');
    expect(r.stderr).not.toContain('SSLKEYLOGFILE names');
  });

  test('a missing --tls-keylog file is unreadable input (exit 1, one line)', () => {
    const r = runCli(['--tls-keylog', join(ROOT, 'captures', 'no-such.keys'), MQTTJS]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('no such file');
  });
});

describe('openssl s_client: CBC, CCM, KeyUpdate, resumption, TLS 1.1, NULL, an expired certificate, plaintext', () => {
  const expectOpenssl = (recs: Rec[]): void => {
    const facts = recs.filter((l) => l.event === 'tls');
    expect(facts.map((e) => e.tls === undefined ? 'plaintext' : `${tlsOf(e).version} ${tlsOf(e).cipherSuite} ${tlsOf(e).decrypted}${tlsOf(e).resumed ? ` ${tlsOf(e).resumed}` : ''}`)).toEqual([
      'TLS 1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA true',
      'TLS 1.2 TLS_RSA_WITH_AES_256_CBC_SHA256 true',
      'TLS 1.2 TLS_RSA_WITH_AES_128_CCM true',
      'TLS 1.2 TLS_RSA_WITH_AES_256_CCM_8 true',
      'TLS 1.2 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 true',
      'TLS 1.2 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 true ticket',
      'TLS 1.3 TLS_AES_128_CCM_8_SHA256 true',
      'TLS 1.1 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA true',
      'TLS 1.1 TLS_RSA_WITH_NULL_SHA true',
      'TLS 1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 true',
      'plaintext',
    ]);
    expect(facts.flatMap((e) => ((e.violations ?? []) as Rec[]).map((v) => `${v.id} ${v.spec} ${v.severity}`))).toEqual([
      'TLS-old-version TLS warning', 'TLS-old-version TLS warning', 'TLS-weak-cipher TLS error', 'TLS-cert-expired TLS warning', 'TLS-plaintext-mqtt TLS error',
    ]);
    const packets = recs.filter((l) => l.kind === 'packet');
    // Ten TLS sessions of CONNECT, CONNACK, 2 PUBLISH, PUBACK, DISCONNECT, and the plaintext CONNECT.
    expect(packets).toHaveLength(61);
    // The PUBLISH after the TLS 1.3 KeyUpdate is decrypted with the next traffic secret.
    expect(packets.some((p) => (p.fields as Rec).topic === 'corpus/tls/tls13-ccm8-keyupdate' && (p.fields as Rec).qos === 1)).toBe(true);
    expect(packets.filter((p) => p.transport === undefined).map((p) => [p.type, (p.fields as Rec).clientId])).toEqual([['CONNECT', 'corpus-plain-8883']]);
  };

  test('--tls-keylog with --tls-port for the TLS 1.1 and expired-certificate listeners', () => {
    const r = runCli(['--json', '--tls-keylog', OPENSSL_KEYS, '--tls-port', '8884', '--tls-port', '8885', OPENSSL]);
    expect(r.status).toBe(0);
    expectOpenssl(jsonLines(r.stdout));
  });

  test('the keys in a pcapng Decryption Secrets Block (editcap --inject-secrets): no key file needed', () => {
    const r = runCli(['--json', '--tls-port', '8884', '--tls-port', '8885', DSB], { env: { SSLKEYLOGFILE: '' } });
    expect(r.status).toBe(0);
    const recs = jsonLines(r.stdout);
    expectOpenssl(recs);
    expect(String(recs.find((l) => l.kind === 'packet')!.transportKeys)).toMatch(/^pcapng secrets block 1 line \d+$/);
  });

  test('--auto finds TLS on other ports by its ClientHello', () => {
    const r = runCli(['--json', '--auto', '--tls-keylog', OPENSSL_KEYS, OPENSSL]);
    const facts = jsonLines(r.stdout).filter((l) => l.event === 'tls').map((e) => String(e.dst ?? ''));
    expect(facts.filter((d) => d.endsWith(':8884'))).toHaveLength(2);
    expect(facts.filter((d) => d.endsWith(':8885'))).toHaveLength(1);
  });

  test('--fail-on error fails on the NULL cipher and the plaintext CONNECT', () => {
    const r = runCli(['--fail-on', 'error', '--tls-keylog', OPENSSL_KEYS, '--tls-port', '8884', OPENSSL]);
    expect(r.status).toBe(3);
  });
});
