/**
 * The protobuf:FILE.proto:Type and sparkplug formats of --decode (src/dialects/decoders/protobuf.ts): payloads made
 * by the reference encoders (protobufjs from the same .proto, sparkplug-payload), truncated and hostile ones, and the
 * CLI's --json and -x on a capture that carries them.
 */
import protobuf from 'protobufjs';
import { describe, expect, test } from 'vitest';
import { compileFormat, parseFormat } from '../src/dialects/decoders/formats.js';
import { DEFAULT_DECODE_LIMITS, type PayloadDecoder } from '../src/dialects/decoders/types.js';
import { writePcap } from './builders/capture-writer.js';
import { jsonLines, runCli, tempFile } from './builders/cli.js';
import { ethernet, LINK, TcpSession } from './builders/frames.js';
import * as m from './builders/mqtt-bytes.js';
import { spEncode } from './builders/sparkplug.js';

const PROTO = `syntax = "proto3";
package demo;
enum Unit { CELSIUS = 0; KELVIN = 1; }
message Reading { string sensor = 1; double value = 2; Unit unit = 3; repeated sint32 history = 4; Meta meta = 5; bytes raw = 6; uint64 big = 7; }
message Meta { string site = 1; int32 floor = 2; }
`;
const protoFile = tempFile('demo.proto', PROTO);
const Reading = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('demo.Reading');
const reading = Reading.encode(Reading.fromObject({ sensor: 't7', value: 21.5, unit: 1, history: [-1, 2, -300], meta: { site: 'plant', floor: -2 }, raw: Buffer.from([1, 2, 255]), big: '18446744073709551615' })).finish();

function decoder(format: string): PayloadDecoder {
  const spec = parseFormat(format);
  if (typeof spec === 'string') throw new Error(spec);
  const d = compileFormat(spec);
  if (typeof d === 'string') throw new Error(d);
  return d;
}

const ctx = { tree: true, limits: DEFAULT_DECODE_LIMITS, topic: 't' };

describe('protobuf:FILE.proto:Type', () => {
  test('decodes what protobufjs encoded from the same schema: names, enums by name, zigzag, nested, bytes as hex, 64-bit as text', () => {
    const r = decoder(`protobuf:${protoFile}:demo.Reading`).decode(reading, 0, reading.length, ctx);
    expect(r.error).toBeUndefined();
    expect(r.value).toEqual({ sensor: 't7', value: 21.5, unit: 'KELVIN', history: [-1, 2, -300], meta: { site: 'plant', floor: -2 }, raw: '0102ff', big: '18446744073709551615' });
    // Every byte under one node each, from the first tag to the end.
    const leaves: { offset: number; length: number }[] = [];
    const walk = (n: { offset: number; length: number; children?: unknown[] }): void => {
      if (n.children?.length) for (const c of n.children) walk(c as typeof n); else leaves.push(n);
    };
    for (const n of r.nodes!) walk(n);
    let at = 0;
    for (const l of leaves) { expect(l.offset).toBe(at); at += l.length; }
    expect(at).toBe(reading.length);
  });

  test('truncated at every length: an error with its offset or a shorter value, never an exception', () => {
    const d = decoder(`protobuf:${protoFile}:demo.Reading`);
    for (let n = 0; n < reading.length; n++) {
      const r = d.decode(reading, 0, n, ctx);
      if (r.error) expect(r.error.offset).toBeLessThanOrEqual(n);
    }
  });

  test('a length prefix claiming 4 GiB and unknown fields: an error, and unknown fields kept by number', () => {
    const d = decoder(`protobuf:${protoFile}:demo.Reading`);
    const huge = Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x41);
    expect(d.decode(huge, 0, huge.length, ctx).error?.message).toMatch(/declares 4294967295 bytes but only 1 are left/);
    const unknown = Uint8Array.of(0xa0, 0x06, 0x05); // field 100, varint 5
    expect(d.decode(unknown, 0, unknown.length, ctx).value).toEqual({ _unknown: { 100: [5] } });
  });

  test('a message type the schema lacks is refused when the binding is made', () => {
    expect(() => decoder(`protobuf:${protoFile}:demo.Nope`)).toThrow(/no such type/);
  });
});

describe('sparkplug (one payload, no state)', () => {
  test('decodes what sparkplug-payload encoded', () => {
    const b = spEncode({ timestamp: 1, seq: 4, metrics: [{ name: 'T', alias: 2, type: 'Int16', value: -7, timestamp: 1 }] });
    const r = decoder('sparkplug').decode(b, 0, b.length, ctx);
    expect(r.value).toEqual({ timestamp: 1, seq: 4, metrics: [{ name: 'T', alias: 2, datatype: 'Int16', timestamp: 1, value: -7 }] });
  });
});

describe('the CLI with protobuf and sparkplug bindings', () => {
  const s = new TcpSession('192.0.2.10:40000', '192.0.2.1:1883');
  const sp = spEncode({ timestamp: 1, seq: 0, metrics: [{ name: 'Level', type: 'Double', value: 2.5, timestamp: 1 }] });
  const frames = [
    ...s.handshake(),
    ...s.c2s(m.connect({ clientId: 'pb' })),
    ...s.s2c(m.connack({})),
    ...s.c2s(m.publish({ topic: 'plant/reading', payload: reading })),
    ...s.c2s(m.publish({ topic: 'plant/sparkplug', payload: sp })),
    ...s.c2s(m.disconnect({})),
    ...s.close('client'),
  ];
  const file = tempFile('pb.pcap', writePcap(frames.map((data, i) => ({ timeSec: 1_700_000_000 + i, timeNsec: 0, data: ethernet(data) })), { linkType: LINK.ETHERNET }));
  const args = ['--decode', `plant/reading=protobuf:${protoFile}:demo.Reading`, '--decode', 'plant/sparkplug=sparkplug', file];

  test('--json carries the decoded values', () => {
    const r = runCli(['--json', ...args]);
    expect(r.status, r.stderr).toBe(0);
    const pubs = jsonLines(r.stdout).filter((x) => x['type'] === 'PUBLISH').map((x) => (x['fields'] as Record<string, unknown>)['payloadDecoded'] as Record<string, unknown>);
    expect(pubs[0]!['value']).toMatchObject({ sensor: 't7', unit: 'KELVIN', history: [-1, 2, -300] });
    expect(pubs[1]!['value']).toMatchObject({ seq: 0, metrics: [{ name: 'Level', value: 2.5 }] });
  });

  test('-x shows the tags and varints of the user schema', () => {
    const r = runCli(['-x', ...args]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('field 1 (sensor) × 8 + wire type 2 (length-delimited)');
    expect(r.stdout).toMatch(/zigzag-decoded to -300/);
  });
});
