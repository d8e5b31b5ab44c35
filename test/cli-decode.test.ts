/**
 * --decode through the CLI's own read path (readInProcess) on captures built here: every output mode carries the
 * decoded payload (--threads 2: test/e2e/cli-decode.test.ts), and without a binding that matches nothing differs from a run
 * without --decode on the captures in captures/.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { encode as cborEncode } from 'cbor-x';
import { describe, expect, test } from 'vitest';
import { parseBinding, type DecodeBinding } from '../src/dialects/decoders/bindings.js';
import { readInProcess } from '../src/cli/read.js';
import { decodeDemoCapture } from './builders/decode-capture.js';

function bindings(...texts: string[]): DecodeBinding[] {
  return texts.map((t) => {
    const r = parseBinding(t);
    if (typeof r === 'string') throw new Error(r);
    return r.binding;
  });
}

const DEMO = decodeDemoCapture();
const BOUND = bindings('sensors/+/cbor=cbor', 'sensors/+/msgpack=msgpack', 'sensors/+/gz=gzip+json', 'sensors/+/b64=base64', 'sensors/+/bad-cbor=cbor', 'sensors/#=auto');

function records(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('--decode', () => {
  test('--json carries the decoded value of every bound PUBLISH, in the fields after payloadView', async () => {
    const r = await readInProcess(DEMO, { json: true, decode: BOUND });
    const pubs = records(r.stdout).filter((o) => o['type'] === 'PUBLISH');
    const decoded = pubs.map((p) => (p['fields'] as Record<string, unknown>)['payloadDecoded']);
    expect(decoded).toEqual([
      { filter: 'sensors/+/cbor', format: 'cbor', value: { temp: 21.5, unit: 'C' } },
      { filter: 'sensors/+/msgpack', format: 'msgpack', value: { rh: 40, ok: true } },
      { filter: 'sensors/+/gz', format: 'gzip+json', layers: [{ format: 'gzip', inBytes: expect.any(Number) as number, outBytes: 26 }], value: { batch: [20.5, 20.7, 21.1] } },
      { filter: 'sensors/+/b64', format: 'base64', detected: 'text (the bytes are UTF-8 without control characters)', layers: [{ format: 'base64', inBytes: 28, outBytes: 19 }], value: 'hello from sensor 7' },
      { filter: 'sensors/#', format: 'auto', detected: 'zlib+cbor (zlib header 78 9c; then one well-formed CBOR item takes all 4 bytes)', layers: [{ format: 'zlib', inBytes: 12, outBytes: 4 }], value: [1, 2, 3] },
      { filter: 'sensors/#', format: 'auto', detected: 'text (UTF-8 without control characters)', value: '{"temp": 21.5, "unit":' },
      { filter: 'sensors/+/bad-cbor', format: 'cbor', error: { message: 'an array declares 18446744073709551615 items but 1 byte remains', offset: expect.any(Number) as number } },
      undefined,
    ]);
    expect(Object.keys(pubs[0]!['fields'] as object).slice(-2)).toEqual(['payloadView', 'payloadDecoded']);
    const bad = pubs[6]!;
    expect((bad['violations'] as { id: string }[]).map((v) => v.id)).toEqual(['PAYLOAD-decode-error']);
    const json = pubs[5]!;
    expect((json['violations'] as { id: string }[]).map((v) => v.id)).toEqual(['5.0:3.3.2.3.9:content-type-json']);
  });

  test('the text view: one line per packet with the value after the payload', async () => {
    const r = await readInProcess(DEMO, { decode: BOUND });
    const lines = r.stdout.split('\n').filter((l) => l.includes('PUBLISH'));
    expect(lines[0]).toMatch(/topic="sensors\/7\/cbor" qos=0 len=24 0x[0-9a-f]+ → cbor \{"temp":21\.5,"unit":"C"\}$/);
    expect(lines[2]).toMatch(/→ gzip\+json \{"batch":\[20\.5,20\.7,21\.1\]\}$/);
    expect(lines[4]).toMatch(/→ auto:zlib\+cbor \[1,2,3\]$/);
    expect(lines[6]).toMatch(/→ cbor error: an array declares 18446744073709551615 items but 1 byte remains \[PAYLOAD-decode-error cbor: /);
    expect(lines[7]).toMatch(/topic="status\/7" qos=0 len=6 "online"$/);
  });

  test('-V and -x show the decoded nodes under the payload', async () => {
    const v = await readInProcess(DEMO, { verbose: true, decode: BOUND });
    expect(v.stdout).toContain('decoded as cbor');
    expect(v.stdout).toMatch(/"temp": 21\.5 — double-precision float/);
    const x = await readInProcess(DEMO, { hex: true, decode: BOUND });
    expect(x.stdout).toMatch(/fb 40 35 80 00 00 00 00 +"temp" = 21\.5 \(double-precision float\)/);
  });

  test('the first binding that matches wins', async () => {
    const r = await readInProcess(DEMO, { json: true, decode: bindings('sensors/#=hex', 'sensors/+/cbor=cbor') });
    const first = records(r.stdout).find((o) => o['type'] === 'PUBLISH')!;
    expect((first['fields'] as Record<string, unknown>)['payloadDecoded']).toMatchObject({ filter: 'sensors/#', format: 'hex' });
  });

  test('a gzip bomb in a capture: a cut, no value, no finding, and the run goes on', async () => {
    const { TcpSession, ethernet, LINK } = await import('./builders/frames.js');
    const { writePcap } = await import('./builders/capture-writer.js');
    const m = await import('./builders/mqtt-bytes.js');
    const s = new TcpSession('192.0.2.10:40000', '192.0.2.1:1883');
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const frames = [...s.handshake(), ...s.c2s(m.connect({ clientId: 'b' })), ...s.c2s(m.publish({ topic: 'bomb', payload: bomb })), ...s.c2s(m.publish({ topic: 'ok', payload: cborEncode({ a: 1 }) })), ...s.close('client')];
    const pcap = writePcap(frames.map((data, i) => ({ timeSec: 1_700_000_000 + i, timeNsec: 0, data: ethernet(data) })), { linkType: LINK.ETHERNET });
    const r = await readInProcess(pcap, { json: true, decode: bindings('ok=cbor', '#=gzip+text') });
    const pubs = records(r.stdout).filter((o) => o['type'] === 'PUBLISH');
    expect(pubs.map((p) => (p['fields'] as Record<string, unknown>)['payloadDecoded'])).toEqual([
      { filter: '#', format: 'gzip+text', cut: ['gzip: inflates to more than 4 MiB (the limit of inflated bytes per payload); not decoded'] },
      { filter: 'ok', format: 'cbor', value: { a: 1 } },
    ]);
    expect(pubs[0]!['violations']).toEqual([]);
  });
});

describe('without a binding that matches, every output is what it was without --decode', () => {
  const captures = ['seed-walkthrough.pcap', 'real-v5-props.pcapng', 'real-onenet-6002.pcap', 'real-v311-qos.pcap', 'synthetic-malformed.pcapng'];
  for (const name of captures) {
    test(name, async () => {
      const bytes = new Uint8Array(readFileSync(new URL(`../captures/${name}`, import.meta.url)));
      for (const mode of [{}, { verbose: true }, { hex: true }, { json: true }, { summary: true }]) {
        const plain = await readInProcess(bytes, mode);
        const bound = await readInProcess(bytes, { ...mode, decode: bindings('no/such/topic/#=auto') });
        expect(bound.stdout, JSON.stringify(mode)).toBe(plain.stdout);
        expect(plain.stdout).not.toContain('payloadDecoded');
      }
    });
  }

  test('and a binding that matches changes only the PUBLISH records it matched', async () => {
    const bytes = new Uint8Array(readFileSync(new URL('../captures/real-v5-props.pcapng', import.meta.url)));
    const plain = records((await readInProcess(bytes, { json: true })).stdout);
    const bound = records((await readInProcess(bytes, { json: true, decode: bindings('corpus/v5/props/#=json') })).stdout);
    expect(bound.length).toBe(plain.length);
    let changed = 0;
    bound.forEach((o, i) => {
      const fields = o['fields'] as Record<string, unknown> | undefined;
      if (fields?.['payloadDecoded'] === undefined) {
        expect(o).toEqual(plain[i]);
        return;
      }
      changed++;
      // The decoded value, and a decoder's finding when the payload was not JSON: nothing else.
      const { payloadDecoded: _, ...rest } = fields;
      const violations = (o['violations'] as { id: string }[]).filter((v) => v.id !== 'PAYLOAD-decode-error');
      expect({ ...o, fields: rest, violations }).toEqual(plain[i]);
      expect(String(fields['topic'])).toMatch(/^corpus\/v5\/props\//);
    });
    expect(changed).toBeGreaterThan(0);
  });
});

describe('-Y on decoded payloads (payloadDecoded.*)', () => {
  const topicsOf = async (filter: string, bound = BOUND): Promise<string[]> => {
    const r = await readInProcess(DEMO, { json: true, decode: bound, filter });
    return records(r.stdout).filter((o) => o['type'] === 'PUBLISH').map((o) => (o['fields'] as Record<string, string>)['topic']!);
  };

  test('a path inside the value: numbers with numbers, text with text, booleans, array elements, presence', async () => {
    expect(await topicsOf('payloadDecoded.value.temp > 21')).toEqual(['sensors/7/cbor']);
    expect(await topicsOf('payloadDecoded.value.temp > 22')).toEqual([]);
    expect(await topicsOf('payloadDecoded.value.unit == "C"')).toEqual(['sensors/7/cbor']);
    expect(await topicsOf('payloadDecoded.value.ok == true')).toEqual(['sensors/7/msgpack']);
    expect(await topicsOf('payloadDecoded.value.ok == false')).toEqual([]);
    // An array met where a key is named gives every element; an index picks one.
    expect(await topicsOf('payloadDecoded.value.batch >= 21.1')).toEqual(['sensors/7/gz']);
    expect(await topicsOf('payloadDecoded.value.batch.0 >= 21.1')).toEqual([]);
    expect(await topicsOf('payloadDecoded.value.batch.2 == 21.1')).toEqual(['sensors/7/gz']);
    expect(await topicsOf('payloadDecoded.value.rh')).toEqual(['sensors/7/msgpack']);
    // A number field skips text: "C" is not compared with 21.
    expect(await topicsOf('payloadDecoded.value.unit > 0')).toEqual([]);
  });

  test('the value as JSON text, the format, what auto detected, the error', async () => {
    expect(await topicsOf('payloadDecoded.value contains "batch"')).toEqual(['sensors/7/gz']);
    expect(await topicsOf('payloadDecoded.format == "gzip+json"')).toEqual(['sensors/7/gz']);
    expect(await topicsOf('payloadDecoded.detected contains "zlib+cbor"')).toEqual(['sensors/7/zcbor']);
    expect(await topicsOf('payloadDecoded.error contains "declares"')).toEqual(['sensors/7/bad-cbor']);
    // Without a binding nothing is decoded, so nothing matches.
    expect(await topicsOf('payloadDecoded.value.temp > 21', [])).toEqual([]);
  });

  test('-e exports a value inside the payload as text', async () => {
    const r = await readInProcess(DEMO, { decode: BOUND, filter: 'payloadDecoded.value', fieldsExport: { names: ['topic', 'payloadDecoded.value.temp', 'payloadDecoded.value.batch'], options: { separator: '\t', header: false, quote: 'n', aggregator: ';' } } });
    const rows = r.stdout.split('\n').filter((l) => l.length > 0);
    expect(rows[0]).toBe('sensors/7/cbor\t21.5\t');
    expect(rows).toContain('sensors/7/gz\t\t20.5;20.7;21.1');
  });

  test('an empty key is refused with its place', async () => {
    const { checkFilter } = await import('../src/filter/compile.js');
    expect(checkFilter('payloadDecoded.value..t > 1')?.join('\n')).toMatch(/a key of the path is empty/);
  });
});
