/**
 * The native AEAD opener (native/tls-records.c) changes nothing but speed: every real TLS capture, decrypted with it and with
 * Node's crypto (MQTT_DISSECT_NATIVE=0), gives byte-identical --json and -x output, damaged records included
 * (test/e2e/cli-tls-damage.test.ts covers those through the default opener). Skipped where native/ is not built.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT, runCli } from '../builders/cli.js';

const CAP = (f: string): string => join(ROOT, 'captures', f);
const built = existsSync(join(ROOT, 'native', 'build', 'Release', 'mqtt_dissect_tls.node'));

const CASES: [string, string | null][] = [
  ['real-tls-mqttjs.pcapng', 'real-tls-mqttjs.keys'],
  ['real-tls-openssl.pcap', 'real-tls-openssl.keys'],
  ['real-tls-openssl-dsb.pcapng', null],
  ['real-wss-8084.pcap', 'real-wss-8084.keys'],
];

describe.skipIf(!built)('native and Node crypto decrypt the real captures alike', () => {
  test.each(CASES)('%s', (capture, keys) => {
    for (const mode of ['--json', '-x']) {
      const args = [mode, ...(keys === null ? [] : ['--tls-keylog', CAP(keys)]), CAP(capture)];
      const native = runCli(args);
      const node = runCli(args, { env: { MQTT_DISSECT_NATIVE: '0' } });
      expect(native.status).toBe(node.status);
      expect(native.stdout.length).toBeGreaterThan(1000);
      // The captures hold application data to decrypt: the output shows MQTT packets inside TLS.
      if (mode === '--json') expect(native.stdout).toMatch(/"transport":"tls(\+websocket)?"/);
      expect(native.stdout === node.stdout, `${capture} ${mode}`).toBe(true);
      expect(native.stderr).toBe(node.stderr);
    }
  });
});
