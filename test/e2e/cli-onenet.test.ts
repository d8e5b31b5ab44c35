import { describe, expect, it } from 'vitest';
import { jsonLines, runCli } from '../builders/cli.js';

const SEED = 'captures/seed-walkthrough.pcap';
const packets = (args: string[]) => jsonLines(runCli(['--json', ...args, SEED]).stdout).filter((o) => o.kind === 'packet');

describe('OneNET dialect through the CLI (seed walk-through on port 6002)', () => {
  it('decodes the $dp data points: type 3, length 00 37 = 55, four streams of value 1', () => {
    const dp = packets([]).find((o) => (o.fields as { topic?: string }).topic === '$dp')!;
    expect(dp.fields).toMatchObject({ qos: 1, packetId: 10, onenet: { kind: 'dp', dpType: 3, length: 55 } });
    const points = (dp.fields as { onenet: { datapoints: Array<{ stream: string; value: unknown }> } }).onenet.datapoints;
    expect(points).toEqual([
      { stream: 'Red_Led', value: 1 }, { stream: 'Green_Led', value: 1 }, { stream: 'Yellow_Led', value: 1 }, { stream: 'Blue_Led', value: 1 },
    ]);
  });

  it('links the $crsp reply to its $creq command', () => {
    const all = packets([]);
    const req = all.find((o) => String((o.fields as { topic?: string }).topic).startsWith('$creq/'))!;
    const rsp = all.find((o) => String((o.fields as { topic?: string }).topic).startsWith('$crsp/'))!;
    expect((req.fields as { payload: unknown }).payload).toEqual({ encoding: 'utf8', text: 'redled:0' });
    expect(rsp.fields).toMatchObject({ onenet: { command: 'response', uuid: 'e8b6c9b6-225b-57dc-abaa-246ba58761d8', requestFrame: req.frame } });
  });

  it('explains the CONNECT in platform terms and masks the auth info with --redact', () => {
    const connect = packets([]).find((o) => o.type === 'CONNECT' && (o.fields as { clientId: string }).clientId === '31421353')!;
    expect(connect.fields).toMatchObject({ keepAlive: 256, username: '141215', onenet: { deviceId: '31421353', productId: '141215' } });
    const redacted = runCli(['--json', '--redact', SEED]).stdout;
    expect(redacted).not.toContain('dpsO9ruH0aTZublG9g5SvBtFSEQ');
    expect(runCli(['-x', SEED]).stdout).toMatch(/data stream "Red_Led" = 1/);
  });

  it('--dialect none leaves payloads as plain MQTT', () => {
    const dp = packets(['--dialect', 'none']).find((o) => (o.fields as { topic?: string }).topic === '$dp')!;
    expect((dp.fields as { onenet?: unknown }).onenet).toBeUndefined();
  });

  it('explain decodes a pasted $dp PUBLISH by its topic', () => {
    const json = '{"Red_Led":1,"Green_Led":1,"Yellow_Led":1,"Blue_Led":1}';
    const hex = `32 41 00 03 24 64 70 00 0a 03 00 37 ${Buffer.from(json).toString('hex')}`;
    const out = runCli(['explain', hex]).stdout;
    expect(out).toMatch(/00 37 +JSON length = 55 \(00 37 = 55 bytes\)/);
    expect(out).toMatch(/data stream "Blue_Led" = 1/);
  });
});
