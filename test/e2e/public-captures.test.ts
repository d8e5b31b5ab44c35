/**
 * Every capture we have, real and public, goes through the CLI (issue #5): exit 0, nothing on stderr, no stack trace,
 * and no error-severity finding except
 *   - in captures INDEX.tsv describes as MALFORMED (and our synthetic-malformed.pcapng): there the malformation must be
 *     flagged, by the violation listed in MALFORMED_FLAGGED;
 *   - the findings in ACCEPTED_ERRORS: real defects of traffic that INDEX.tsv does not call malformed, each with the
 *     reason it is right.
 * Anything else at error level is a false positive of ours until shown otherwise (the test lists it).
 * Public captures come from ../shared/captures/public and are skipped when it is absent.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../builders/cli.js';
import { ownCaptures, publicAvailable, publicCaptures, type CaptureEntry } from '../builders/public.js';

const run = promisify(execFile);

interface Finding {
  frame: number;
  id: string;
}

/** The finding that shows each known malformation was seen. */
const MALFORMED_FLAGGED: Record<string, Finding[]> = {
  'captures/synthetic-malformed.pcapng': [
    { frame: 4, id: 'MQTT-3.1.2-3' }, // reserved connect flag
    { frame: 6, id: 'MQTT-3.3.2-2' }, // '+' in a topic name
    { frame: 7, id: 'MQTT-3.3.1-4' }, // QoS 3
    { frame: 8, id: 'MQTT-2.3.1-1' }, // packet identifier 0
    { frame: 8, id: 'MQTT-4.7.1-2' }, // '#' not last
  ],
  'suricata-verify/mqtt-events-invalid-qos/input.pcap': [{ frame: 8, id: 'MQTT-3.3.1-4' }],
  'suricata-verify/mqtt-events-unassigned-msgtype/input.pcap': [{ frame: 8, id: 'ALL:2.2.1:reserved-types' }],
  'suricata-verify/mqtt5-excessiveproplen/input.pcap': [{ frame: 4, id: 'ALL:parse:trailing-bytes' }],
};

const PFI = 'mosquitto_pub/sub were given Payload Format Indicator values 144 (Will) and 88 (PUBLISH); only 0 and 1 exist (5.0 3.1.3.2.3, 3.3.2.3.2), so the packet is malformed and the broker should not have accepted it (MQTT-3.1.4-1). INDEX.tsv does not call the capture malformed, but the bytes are';
const ARKIME_TOPICS = 'SYNTHETIC capture (Arkime test generator): the "server" publishes server/bigdata and server/interrupt to a client subscribed only to test/topic1, test/topic2 and test/#';

/** Error-level findings in captures not described as malformed that are right, and why. */
const PLAIN_8883 = 'the capture script sends an MQTT CONNECT in clear to the TLS port 8883 on purpose (TLS-plaintext-mqtt)';
const NULL_CIPHER = 'the capture script forces the NULL-SHA suite on the TLS 1.1 listener on purpose (TLS-weak-cipher)';

const TAHU = 'sparkplug-client 3.2.4 (Eclipse Tahu JavaScript) departs from Sparkplug 3.0 here: its NDEATH Will is QoS 0 and its bdSeq UInt64 (not Int64, no timestamp), and it subscribes to its NCMD and DCMD topics at QoS 0 (captures/MANIFEST.md, docs/sparkplug.md)';

const ACCEPTED_ERRORS: Record<string, Array<Finding & { reason: string }>> = {
  'captures/real-sparkplug.pcap': [
    { frame: 18, id: 'tck-id-payloads-ndeath-will-message-qos', reason: TAHU },
    { frame: 18, id: 'tck-id-message-flow-edge-node-birth-publish-will-message-payload-bdSeq', reason: TAHU },
    { frame: 22, id: 'tck-id-message-flow-edge-node-ncmd-subscribe', reason: TAHU },
    { frame: 22, id: 'tck-id-message-flow-device-dcmd-subscribe', reason: TAHU },
    { frame: 24, id: 'tck-id-message-flow-edge-node-birth-publish-nbirth-payload-bdSeq', reason: TAHU },
    { frame: 24, id: 'tck-id-payloads-name-birth-data-requirement', reason: TAHU },
    { frame: 59, id: 'tck-id-message-flow-edge-node-birth-publish-nbirth-payload-bdSeq', reason: TAHU },
    { frame: 59, id: 'tck-id-payloads-name-birth-data-requirement', reason: TAHU },
  ],
  'captures/real-tls-openssl.pcap': [
    { frame: 206, id: 'TLS-weak-cipher', reason: NULL_CIPHER },
    { frame: 249, id: 'TLS-plaintext-mqtt', reason: PLAIN_8883 },
  ],
  'captures/real-tls-openssl-dsb.pcapng': [
    { frame: 206, id: 'TLS-weak-cipher', reason: NULL_CIPHER },
    { frame: 249, id: 'TLS-plaintext-mqtt', reason: PLAIN_8883 },
  ],
  'suricata-verify/mqtt5-pub-mosquittoprops/input.pcap': [
    { frame: 4, id: '5.0:3.3.2.3.2:pfi-utf8', reason: PFI },
    { frame: 6, id: 'MQTT-3.1.4-1', reason: PFI },
    { frame: 8, id: '5.0:3.3.2.3.2:pfi-utf8', reason: PFI },
  ],
  'suricata-verify/mqtt5-sub-mosquittoprops/input.pcap': [
    { frame: 4, id: '5.0:3.3.2.3.2:pfi-utf8', reason: PFI },
    { frame: 6, id: 'MQTT-3.1.4-1', reason: PFI },
  ],
  'arkime/mqtt_big.pcap': [
    { frame: 36, id: 'MQTT-3.3.2-3', reason: ARKIME_TOPICS },
    { frame: 39, id: 'MQTT-3.3.2-3', reason: ARKIME_TOPICS },
  ],
};

const STACK = /\n\s+at .+[(:]\d+:\d+\)?|internal error|TypeError|RangeError|ReferenceError|SyntaxError/;

async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 512 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function errorsOf(ndjson: string): Finding[] {
  const out: Finding[] = [];
  for (const line of ndjson.split('\n')) {
    if (line.trim() === '') continue;
    const o = JSON.parse(line) as { frame: number; violations?: Array<{ id: string; severity: string }> };
    for (const v of o.violations ?? []) if (v.severity === 'error') out.push({ frame: o.frame, id: v.id });
  }
  return out;
}

const key = (f: Finding): string => `${f.frame} ${f.id}`;

async function check(c: CaptureEntry): Promise<void> {
  // The TLS captures are read with their key logs (the -dsb pcapng carries its own) and their TLS ports.
  const tls = c.tls === undefined ? [] : [...(c.tls.keylog !== undefined ? ['--tls-keylog', c.tls.keylog] : []), ...c.tls.ports.flatMap((p) => ['--tls-port', String(p)])];
  const ports = [...c.extraPorts.flatMap((p) => ['--port', String(p)]), ...tls];
  const [json, text] = await Promise.all([cli(['--json', ...ports, c.path]), cli(['-V', '-x', '--summary', ...ports, c.path])]);
  for (const [mode, r] of [['--json', json], ['-V -x --summary', text]] as const) {
    expect(r.status, `${c.name} ${mode}: exit status (stderr: ${r.stderr})`).toBe(0);
    expect(r.stderr, `${c.name} ${mode}: stderr`).toBe('');
    expect(STACK.test(r.stdout), `${c.name} ${mode}: stack trace or internal error in stdout`).toBe(false);
  }
  expect(text.stdout.length).toBeGreaterThan(0);
  const errors = errorsOf(json.stdout);
  const flagged = MALFORMED_FLAGGED[c.name];
  if (c.malformed || flagged) {
    expect(flagged, `${c.name} is MALFORMED: list the finding that flags it in MALFORMED_FLAGGED`).toBeDefined();
    const got = new Set(errors.map(key));
    for (const f of flagged!) expect(got.has(key(f)), `${c.name}: malformation not flagged: ${key(f)}; errors: ${[...got].join(', ')}`).toBe(true);
  } else {
    const accepted = (ACCEPTED_ERRORS[c.name] ?? []).map(key).sort();
    expect(errors.map(key).sort(), `${c.name}: error-severity findings (frame id) in a capture that is not malformed`).toEqual(accepted);
  }
}

const TIMEOUT = 120_000;

describe('our captures: read cleanly, errors only where the traffic is broken', () => {
  for (const c of ownCaptures()) it.concurrent(c.name, () => check(c), TIMEOUT);
});

describe.skipIf(!publicAvailable())('public captures: read cleanly, errors only where the traffic is broken', () => {
  for (const c of publicCaptures()) it.concurrent(c.name, () => check(c), TIMEOUT);

  it('INDEX.tsv MALFORMED captures are the ones listed here', () => {
    const malformed = publicCaptures().filter((c) => c.malformed).map((c) => c.name).sort();
    expect(malformed).toEqual(Object.keys(MALFORMED_FLAGGED).filter((n) => !n.startsWith('captures/')).sort());
  });
});
