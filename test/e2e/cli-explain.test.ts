import { describe, expect, it } from 'vitest';
import { jsonLines, runCli } from '../builders/cli.js';
import { SEED_CONNECT, SEED_CONNACK } from '../builders/synthetic-captures.js';

const spaced = (b: Uint8Array) => Buffer.from(b).toString('hex').match(/../g)!.join(' ');

/** The hex column of annotated lines, in order: every packet byte must appear exactly once. */
function hexColumn(lines: string[]): string {
  return lines.map((l) => /^ {2}((?:[0-9a-f]{2} )*[0-9a-f]{2})(?: {2,}|$)/.exec(l)?.[1] ?? '').filter((h) => h !== '').join(' ');
}

describe('explain: the classic walk-through, byte by byte', () => {
  const r = runCli(['explain', `${spaced(SEED_CONNECT)} ${spaced(SEED_CONNACK)}`]);
  const lines = r.stdout.split('\n');
  const connack = lines.findIndex((l) => l.startsWith('CONNACK'));

  it('covers every byte once, in order', () => {
    expect(r.status).toBe(0);
    expect(hexColumn(lines.slice(0, connack))).toBe(spaced(SEED_CONNECT));
    expect(hexColumn(lines.slice(connack))).toBe(spaced(SEED_CONNACK));
  });

  it('explains each field from its bytes', () => {
    const row = (hex: string) => lines.find((l) => l.startsWith(`  ${hex} `))!;
    expect(lines[0]).toMatch(/^CONNECT \(47 bytes/);
    expect(row('10')).toMatch(/CONNECT, flags 0000/);
    expect(row('2d')).toMatch(/remaining length = 45/);
    expect(row('00 04')).toMatch(/length = 4/);
    expect(row('4d 51 54 54')).toContain('"MQTT"');
    expect(row('04')).toMatch(/protocol level = 4 = MQTT 3\.1\.1/);
    expect(row('c2')).toMatch(/1100 0010: user name 1, password 1, will retain 0, will QoS 0, will 0, clean session 1, reserved 0/);
    expect(row('0b b8')).toMatch(/keep alive = 3000 s/);
    expect(row('00 10')).toMatch(/length = 16/);
    expect(r.stdout).toContain('"40F0600050804050"');
    expect(row('00 05')).toMatch(/length = 5/);
    expect(r.stdout).toContain('"admin"');
    expect(row('00 08')).toMatch(/length = 8/);
  });

  it('3.1.1 CONNACK byte 1 bit 0 is Session Present', () => {
    const ack = lines.slice(connack);
    expect(ack.find((l) => l.startsWith('  02 '))).toMatch(/remaining length = 2/);
    expect(ack.find((l) => l.startsWith('  00 ') && /session present 0/.test(l))).toBeDefined();
    expect(ack.find((l) => l.startsWith('  00 ') && /return code = 0 \(Connection Accepted\)/.test(l))).toBeDefined();
  });

  it('the same from a capture with -x', () => {
    const x = runCli(['-x', 'captures/seed-walkthrough.pcap']).stdout.split('\n');
    const start = x.findIndex((l) => / CONNECT /.test(l));
    const end = x.findIndex((l, i) => i > start && / CONNACK /.test(l));
    expect(hexColumn(x.slice(start + 1, end).map((l) => l.slice(4)))).toBe(spaced(SEED_CONNECT));
  });
});

describe('explain input and options', () => {
  it('a two-byte Remaining Length shows its arithmetic: 130 = 82 01', () => {
    const payload = Array.from({ length: 125 }, () => '78').join(' ');
    const out = runCli(['explain', `30 82 01 00 03 61 2f 62 ${payload}`]).stdout;
    expect(out).toMatch(/\n {2}82 01 +remaining length = 130 \(2 \+ 1x128 = 130\)/);
  });

  it('a topic of 65,535 bytes is fine', () => {
    const topic = 'a'.repeat(65535);
    const body = Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.from(topic)]);
    const rl = body.length; // 65537 = 0x81 0x80 0x04
    const pkt = Buffer.concat([Buffer.from([0x30, 0x81, 0x80, 0x04]), body]);
    expect(rl).toBe(1 + 0 * 128 + 4 * 16384);
    // Through stdin: one argument of 131 kB is over the kernel's per-argument limit.
    const r = runCli(['explain', '--json'], { input: pkt.toString('hex') });
    const [p] = jsonLines(r.stdout);
    expect(p).toMatchObject({ type: 'PUBLISH', length: 65541 });
    expect((p!.fields as { topic: string }).topic).toHaveLength(65535);
    expect(p!.violations).toEqual([]);
  });

  it('reads stdin, and --protocol-version decodes v5 packets without a CONNECT', () => {
    // PUBACK with reason code 0x10 and no properties: only meaningful in 5.0.
    const v5 = jsonLines(runCli(['explain', '--json', '--protocol-version', '5'], { input: '0x40,0x03,0x00,0x07,0x10' }).stdout);
    expect(v5[0]).toMatchObject({ type: 'PUBACK', version: '5.0', fields: { packetId: 7, reasonCode: 16 } });
  });

  it('a CONNECT sets the version for the packets after it', () => {
    const connect5 = '10 10 00 04 4d 51 54 54 05 02 00 3c 00 00 03 61 62 63';
    const out = jsonLines(runCli(['explain', '--json', `${connect5} 40 03 00 07 10`]).stdout);
    expect(out.map((o) => o.version)).toEqual(['5.0', '5.0']);
  });

  it('flags violations at the offending bytes', () => {
    const out = runCli(['explain', '10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00']).stdout;
    const lines = out.split('\n');
    const flags = lines.findIndex((l) => l.startsWith('  03 '));
    expect(lines[flags + 1]).toMatch(/\^\^.*\[MQTT-3\.1\.2-3\] 3\.1\.1 error/);
  });

  it('explains what is left over when the bytes stop mid-packet', () => {
    const out = runCli(['explain', '30 0a 00 03 61 2f 62']).stdout;
    expect(out).toMatch(/incomplete: 7 bytes .* declares 12 bytes, 7 present/);
  });

  it('rejects text that is not hex', () => {
    const r = runCli(['explain', 'hello']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('rules and --fail-on-violation', () => {
  it('rules lists the catalogue, checked or with a reason', () => {
    const rows = jsonLines(runCli(['rules', '--json']).stdout);
    expect(rows.length).toBeGreaterThan(400);
    expect(rows.find((r) => r.id === 'MQTT-3.1.2-3' && r.spec === '3.1.1')).toMatchObject({ implemented: true, severity: 'error' });
    for (const r of rows.filter((x) => x.implemented === false)) expect(typeof r.why).toBe('string');
    expect(runCli(['rules']).stdout).toMatch(/checked: MQTT 3\.1\.1 \d+\/141 statements, MQTT 5\.0 \d+\/251/);
  });

  it('exits 3 with --fail-on-violation when something was found, 0 otherwise', () => {
    expect(runCli(['--fail-on-violation', 'captures/synthetic-malformed.pcapng']).status).toBe(3);
    expect(runCli(['captures/synthetic-malformed.pcapng']).status).toBe(0);
    expect(runCli(['--fail-on-violation', 'captures/real-v311-qos.pcap']).status).toBe(0);
  });

  it('--only-violations prints only packets with findings', () => {
    const out = runCli(['--only-violations', 'captures/synthetic-malformed.pcapng']).stdout;
    expect(out).not.toMatch(/DISCONNECT/);
    expect(out).toMatch(/\[MQTT-3\.3\.1-4\]/);
  });
});
