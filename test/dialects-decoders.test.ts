/**
 * Payload decoders bound to topics (--decode, src/dialects/decoders/): every format on bytes its reference encoder
 * made, truncated and hostile variants of each (an error or a cut, never a throw, never an allocation a header asks
 * for), topic-filter matching with the first binding winning, the binding file syntax, and what reaches the fields,
 * the tree and the findings.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync, deflateSync, deflateRawSync } from 'node:zlib';
import { encode as cborEncode } from 'cbor-x';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { parseBinding, parseBindingFile, PayloadBindings } from '../src/dialects/decoders/bindings.js';
import { scanCbor } from '../src/dialects/decoders/cbor.js';
import { compileFormat, parseFormat, registerPayloadFormat, unregisterPayloadFormat } from '../src/dialects/decoders/formats.js';
import { quoteBigIntegers, utf8Errors } from '../src/dialects/decoders/text.js';
import { DEFAULT_DECODE_LIMITS, type DecodedPayload, type DecodeLimits, type PayloadDecoder } from '../src/dialects/decoders/types.js';
import { boundedValue, DEPTH_MARK } from '../src/dialects/decoders/value.js';
import { DialectStage } from '../src/dialects/stage.js';
import type { PacketRecord, PacketSink } from '../src/mqtt/connection-decoder.js';
import { decodePacket } from '../src/mqtt/decoder.js';
import type { FieldNode, ProtocolLevel } from '../src/mqtt/types.js';
import { annotatedHex, fieldTree } from '../src/render/hex.js';
import { keyFields } from '../src/render/fields.js';
import { makeChalk } from '../src/render/color.js';
import type { Connection } from '../src/tcp/types.js';
import { fieldsOf } from './builders/fields.js';
import { publish, type Prop } from './builders/mqtt-bytes.js';

const conn: Connection = {
  id: 0, clientIp: '10.0.0.2', clientPort: 40000, serverIp: '10.0.0.1', serverPort: 1883,
  client: '10.0.0.2:40000', server: '10.0.0.1:1883', sawSyn: true, firstFrame: 1, startSec: 0, startNsec: 0, tls: false, tcpStream: 0,
};
const sink: PacketSink = { open() {}, packet() {}, event() {}, close() {} };
const enc = new TextEncoder();

/** Decodes bytes with a format directly (the payload starts at `pad` inside a bigger buffer, as in a packet). */
function dec(format: string, payload: Uint8Array | string, o: { tree?: boolean; limits?: Partial<DecodeLimits>; pad?: number } = {}): DecodedPayload {
  const spec = parseFormat(format);
  if (typeof spec === 'string') throw new Error(spec);
  const d = compileFormat(spec);
  if (typeof d === 'string') throw new Error(d);
  const p = typeof payload === 'string' ? enc.encode(payload) : payload;
  const pad = o.pad ?? 5;
  const buf = new Uint8Array(pad + p.length + 3);
  buf.set(p, pad);
  return d.decode(buf, pad, pad + p.length, { tree: o.tree ?? false, limits: { ...DEFAULT_DECODE_LIMITS, ...o.limits }, topic: 't' });
}

/** One PUBLISH through a fresh dialect stage with bindings. */
function run(payload: string | Uint8Array, o: { decode?: string[]; tree?: boolean; level?: ProtocolLevel; properties?: Prop[]; topic?: string; limits?: DecodeLimits } = {}): PacketRecord {
  const level = o.level ?? 4;
  const tree = o.tree ?? true;
  const b = publish({ level, topic: o.topic ?? 'a/b', payload, ...(o.properties ? { properties: o.properties } : {}) });
  const rec: PacketRecord = {
    conn, dir: 'c2s', frame: 1, frames: [1], timeSec: 0, timeNsec: 0, bytes: b,
    decoded: decodePacket(b, { level, dir: 'c2s', tree }), levelInferred: false, streamOffset: 0, violations: [],
  };
  const decode = (o.decode ?? []).map((t) => {
    const r = parseBinding(t);
    if (typeof r === 'string') throw new Error(r);
    return r.binding;
  });
  new DialectStage(sink, { dialect: 'none', tree, decode, ...(o.limits ? { limits: o.limits } : {}) }).packet(rec);
  return rec;
}

const decodedField = (rec: PacketRecord): Record<string, unknown> | undefined => fieldsOf(rec.decoded)['payloadDecoded'] as Record<string, unknown> | undefined;
const payloadNodeOf = (rec: PacketRecord): FieldNode => rec.decoded.tree!.children!.find((c) => c.key === 'payload')!;

/** Every node inside [start, end), children inside their parent and in order without overlap. */
function exactNodes(nodes: readonly FieldNode[], start: number, end: number): string[] {
  const bad: string[] = [];
  let at = start;
  for (const n of nodes) {
    if (n.offset < at || n.offset + n.length > end) bad.push(`${n.label} [${n.offset}+${n.length}] outside [${at}, ${end})`);
    if (n.children) bad.push(...exactNodes(n.children, n.offset, n.offset + n.length));
    at = n.offset + n.length;
  }
  return bad;
}

/** The children of every node cover it without a gap (the annotated hex then prints each byte once). */
function gapless(n: FieldNode): string[] {
  if (!n.children || n.children.length === 0) return [];
  const bad: string[] = [];
  let at = n.offset;
  for (const c of n.children) {
    if (c.offset !== at) bad.push(`${n.label}: gap or overlap before ${c.label} at ${c.offset} (expected ${at})`);
    at = c.offset + c.length;
    bad.push(...gapless(c));
  }
  if (at !== n.offset + n.length) bad.push(`${n.label}: children end at ${at}, node at ${n.offset + n.length}`);
  return bad;
}

describe('format syntax', () => {
  test.each<[string, string | RegExp]>([
    ['json', 'json'], ['gzip+json', 'gzip+json'], ['base64', 'base64'], ['base64+gzip+cbor', 'base64+gzip+cbor'],
    ['  msgpack ', 'msgpack'], ['protobuf:a+b.proto:pkg.T', 'protobuf:a+b.proto:pkg.T'], ['sparkplug', 'sparkplug'],
  ])('%s parses', (f, text) => {
    const s = parseFormat(f);
    expect(typeof s === 'string' ? s : s.text).toBe(text);
  });

  test('protobuf: the file may hold colons, the type is after the last one', () => {
    const s = parseFormat('protobuf:C:\\protos\\x.proto:a.B');
    expect(typeof s !== 'string' && s.args).toEqual(['C:\\protos\\x.proto', 'a.B']);
  });

  test.each<[string, RegExp]>([
    ['', /no format/],
    ['xml', /unknown format "xml" \(formats: json/],
    ['json+gzip', /json comes last; layers go before it \(e\.g\. gzip\+json\)/],
    ['json:x', /json takes no arguments/],
    ['protobuf', /protobuf needs a \.proto file and a message type/],
    ['protobuf:x.proto', /protobuf needs a \.proto file and a message type/],
    ['protobuf:x.proto:1bad', /no message type name/],
    ['sparkplug:b', /sparkplug takes no arguments/],
    ['gzip+gzip+gzip+gzip+gzip+json', /5 layers \(at most 4\)/],
  ])('%j is refused: %s', (f, msg) => {
    expect(parseFormat(f)).toMatch(msg);
  });

  test('protobuf and sparkplug are known but not available until a decoder registers', () => {
    // formats.ts registers both (src/dialects/decoders/protobuf.ts): forget them to see the state before.
    unregisterPayloadFormat('sparkplug');
    unregisterPayloadFormat('protobuf');
    for (const f of ['sparkplug', 'protobuf:x.proto:T']) {
      const s = parseFormat(f);
      expect(typeof s).not.toBe('string');
      if (typeof s !== 'string') expect(compileFormat(s)).toBe(`format ${s.name} is not available`);
    }
  });
});

describe('registerPayloadFormat', () => {
  afterEach(() => {
    unregisterPayloadFormat('sparkplug');
    unregisterPayloadFormat('protobuf');
  });

  test('a registered sparkplug decoder is dispatched to, also after a layer', () => {
    const seen: [number, number, boolean][] = [];
    const d: PayloadDecoder = { decode: (_b, s, e, ctx) => { seen.push([s, e, ctx.tree]); return { format: 'sparkplug', value: { metrics: e - s } }; } };
    registerPayloadFormat('sparkplug', d);
    const rec = run(new Uint8Array([8, 1, 0x12, 0]), { decode: ['spBv1.0/#=sparkplug'], topic: 'spBv1.0/g/NDATA/n' });
    expect(decodedField(rec)).toEqual({ filter: 'spBv1.0/#', format: 'sparkplug', value: { metrics: 4 } });
    expect(dec('base64+sparkplug', Buffer.from([1, 2, 3]).toString('base64')).value).toEqual({ metrics: 3 });
    expect(seen.map((x) => x[2])).toEqual([true, false]);
  });

  test('a protobuf factory gets the file and the message type; its error is the binding\'s', () => {
    const args: (readonly string[])[] = [];
    registerPayloadFormat('protobuf', (a) => {
      args.push(a);
      if (a[1] === 'Missing') throw new Error('no message type Missing in x.proto');
      return { decode: () => ({ format: 'protobuf', value: 1 }) };
    });
    const ok = parseFormat('protobuf:x.proto:pkg.Reading');
    const bad = parseFormat('protobuf:x.proto:Missing');
    if (typeof ok === 'string' || typeof bad === 'string') throw new Error('parse');
    expect(typeof compileFormat(ok)).toBe('object');
    expect(compileFormat(bad)).toBe('protobuf: no message type Missing in x.proto');
    expect(args).toEqual([['x.proto', 'pkg.Reading'], ['x.proto', 'Missing']]);
  });

  test('a decoder that throws, or returns nodes outside the payload, loses nothing', () => {
    registerPayloadFormat('sparkplug', { decode: () => { throw new Error('boom'); } });
    const rec = run('x', { decode: ['#=sparkplug'] });
    expect(decodedField(rec)).toMatchObject({ error: { message: 'the decoder failed: boom' } });
    expect(rec.violations.map((v) => v.id)).toEqual(['PAYLOAD-decode-error']);
    registerPayloadFormat('sparkplug', { decode: () => ({ format: 'sparkplug', value: 1, nodes: [{ key: 'x', label: 'x', offset: 0, length: 2 }] }) });
    const rec2 = run('xy', { decode: ['#=sparkplug'] });
    const node = payloadNodeOf(rec2).children![0]!;
    expect(node.children).toBeUndefined();
    expect(node.value).toBe('1');
  });

  test('built-in names cannot be taken', () => {
    expect(() => registerPayloadFormat('json', { decode: () => ({ format: 'json' }) })).toThrow(/built in/);
    expect(() => registerPayloadFormat('gzip', { decode: () => ({ format: 'gzip' }) })).toThrow(/built in/);
  });
});

describe('bindings', () => {
  test('FILTER=FORMAT splits at the last "=" (topics may hold one)', () => {
    expect(parseBinding('dev/id=7/#=cbor')).toMatchObject({ binding: { filter: 'dev/id=7/#', format: 'cbor' } });
    expect(parseBinding('nothing')).toMatch(/is no FILTER=FORMAT binding/);
    expect(parseBinding('=json')).toMatch(/topic filter is empty/);
    expect(parseBinding('a/#/b=json')).toMatch(/no topic filter: '#' must be the last/);
    expect(parseBinding('a+/b=json')).toMatch(/'\+' must occupy a whole topic level/);
    expect(parseBinding('$share/g/a=json')).toMatch(/\$share\//);
    expect(parseBinding('a=bogus')).toMatch(/unknown format "bogus"/);
  });

  test('MQTT matching: + one level, # the parent too, no leading wildcard on $ topics; the first match wins', () => {
    const bs = new PayloadBindings(['plant/+/temp=json', 'plant/#=cbor', '#=auto', '$SYS/#=text'].map((t) => {
      const r = parseBinding(t);
      if (typeof r === 'string') throw new Error(r);
      return r.binding;
    }));
    const f = (topic: string): string | undefined => bs.match(topic)?.format;
    expect(f('plant/7/temp')).toBe('json');
    expect(f('plant/7/temp/x')).toBe('cbor');
    expect(f('plant')).toBe('cbor');
    expect(f('other')).toBe('auto');
    expect(f('$SYS/broker/load')).toBe('text');
    expect(f('$other')).toBeUndefined();
  });

  test('a binding file: comments, blank lines, "#=" is a binding, a bad line is named', () => {
    const ok = parseBindingFile('# sensors\n\nsensors/+/cbor = cbor\r\n  #=auto\n', 'f.conf');
    expect(typeof ok !== 'string' && ok.map((b) => [b.binding.filter, b.binding.format, b.line])).toEqual([['sensors/+/cbor ', 'cbor', 3], ['#', 'auto', 4]]);
    expect(parseBindingFile('a=json\n# ok\nb/#/c=json\n', 'f.conf')).toBe('f.conf line 3: "b/#/c" is no topic filter: \'#\' must be the last character of the filter');
    expect(parseBindingFile('a=json\nb=yaml', 'f.conf')).toMatch(/^f\.conf line 2: unknown format "yaml"/);
  });

  test('first match wins through the stage; no match: no field, no node, nothing else changed', () => {
    const rec = run('{"t":1}', { decode: ['a/+=text', 'a/#=json'] });
    expect(decodedField(rec)).toEqual({ filter: 'a/+', format: 'text', value: '{"t":1}' });
    const none = run('{"t":1}', { decode: ['x/#=json'] });
    const plain = run('{"t":1}');
    expect(decodedField(none)).toBeUndefined();
    expect(fieldsOf(none.decoded)).toEqual(fieldsOf(plain.decoded));
    expect(none.decoded.tree).toEqual(plain.decoded.tree);
  });

  test('an empty payload (a retained message cleared) is not decoded', () => {
    expect(decodedField(run('', { decode: ['#=json'] }))).toBeUndefined();
  });
});

describe('json', () => {
  test('the value, with integers past 2^53 as their exact decimal strings', () => {
    expect(dec('json', '{"t":21.5,"id":12345678901234567890,"s":"12345678901234567890","n":[1,-9007199254740993]}').value)
      .toEqual({ t: 21.5, id: '12345678901234567890', s: '12345678901234567890', n: [1, '-9007199254740993'] });
    expect(quoteBigIntegers('[1.2345678901234567890e5,"\\"12345678901234567890"]')).toBe('[1.2345678901234567890e5,"\\"12345678901234567890"]');
  });

  test('not JSON: an error; ill-formed UTF-8 located', () => {
    expect(dec('json', '{"a":}').error?.message).toMatch(/^not JSON: /);
    const r = dec('json', new Uint8Array([0x22, 0xff, 0x22]), { pad: 5 });
    expect(r.error).toEqual({ message: 'not JSON: ill-formed UTF-8 at byte 1 of the payload', offset: 6 });
  });

  test('tree nodes partition the payload exactly and show the capture\'s own text', () => {
    const rec = run('{"t": 21.5, "id": 12345678901234567890, "a": [1, {"b": true}]}', { decode: ['#=json'] });
    const p = payloadNodeOf(rec);
    const d = p.children![0]!;
    expect(d.label).toBe('decoded as json');
    expect(exactNodes([d], p.offset, p.offset + p.length)).toEqual([]);
    expect(gapless(d)).toEqual([]);
    const text = fieldTree(rec.decoded.tree!, { chalk: makeChalk(false), full: false, redact: false }).join('\n');
    expect(text).toContain('id: 12345678901234567890 — number');
    // The JSON view the stage adds without a binding is not added as well: the bytes are not shown twice.
    expect(p.children!.length).toBe(1);
    const hex = annotatedHex(rec.bytes, rec.decoded.tree!, rec.violations, { chalk: makeChalk(false), full: true, redact: false });
    expect(hex.join('\n')).not.toContain('not explained');
  });

  test('hostile: nesting 500,000 deep is cut at the depth limit, a wide array at the item limit', () => {
    const deep = dec('json', `${'['.repeat(500_000)}${']'.repeat(500_000)}`);
    expect(deep.error).toBeUndefined();
    expect(deep.cut).toEqual(['containers nested deeper than 64 levels are shown as "…"']);
    let v = deep.value;
    let depth = 0;
    while (Array.isArray(v)) {
      v = v[0];
      depth++;
    }
    expect([depth, v]).toEqual([64, DEPTH_MARK]);
    const wide = dec('json', `[${'0,'.repeat(50_000)}0]`);
    expect((wide.value as unknown[]).length).toBe(9_999);
    expect(wide.cut).toEqual(['more than 10,000 values: the rest are left out']);
  });
});

describe('text and hex', () => {
  test('text: ill-formed sequences counted as TextDecoder replaces them, the first located', () => {
    const r = dec('text', new Uint8Array([0x61, 0xe2, 0x82, 0x62, 0xff, 0xc3, 0xa9]), { pad: 10 });
    expect(r.value).toBe('a\ufffdb\ufffdé');
    expect(r.error).toEqual({ message: '2 ill-formed UTF-8 sequences (shown as U+FFFD), the first at byte 1 of the payload', offset: 11 });
    const fine = enc.encode('héllo ✓ 𝄞');
    expect(utf8Errors(fine, 0, fine.length)).toEqual({ count: 0, first: -1 });
    // Surrogates and overlong forms are ill-formed (maximal subparts: ED A0 is one, then 80 one more).
    expect(utf8Errors(new Uint8Array([0xed, 0xa0, 0x80, 0xc0, 0xaf]), 0, 5).count).toBe(new TextDecoder().decode(new Uint8Array([0xed, 0xa0, 0x80, 0xc0, 0xaf])).split('\ufffd').length - 1);
  });

  test('hex', () => {
    expect(dec('hex', new Uint8Array([0, 0xab, 0x10])).value).toBe('00ab10');
  });
});

describe('base64', () => {
  test('alone: text when the decoded bytes are text, else hex, and it says which', () => {
    expect(dec('base64', Buffer.from('hello').toString('base64'))).toMatchObject({ value: 'hello', detected: 'text (the bytes are UTF-8 without control characters)', layers: [{ format: 'base64', inBytes: 8, outBytes: 5 }] });
    expect(dec('base64', Buffer.from([0, 1, 2]).toString('base64'))).toMatchObject({ value: '000102', detected: 'hex (the bytes are not text)' });
  });

  test('chained, URL-safe and with line breaks', () => {
    const b64 = Buffer.from(JSON.stringify({ v: [1, 2, 3], s: '??>>' })).toString('base64url');
    expect(dec('base64+json', `${b64.slice(0, 10)}\r\n${b64.slice(10)}`).value).toEqual({ v: [1, 2, 3], s: '??>>' });
  });

  test('strict: a character outside the alphabet, bad padding, 4n+1 characters', () => {
    expect(dec('base64', 'aGVs*G8=', { pad: 5 }).error).toEqual({ message: 'base64: byte 0x2a is not in the base64 alphabet', offset: 9 });
    expect(dec('base64', 'aGVsbG8=x').error?.message).toBe('base64: characters after the "=" padding');
    expect(dec('base64', 'aGVsb').error?.message).toBe('base64: 5 characters (4n+1 cannot be base64)');
    expect(dec('base64', 'aGVsbA=').error?.message).toBe('base64: the padding does not complete a group of four characters');
  });

  test('an error after the layer is placed in the decoded bytes, not the packet\'s', () => {
    const r = dec('base64+json', Buffer.from('{"a":').toString('base64'));
    expect(r.error?.offset).toBeUndefined();
    expect(r.error?.message).toMatch(/^not JSON: /);
    const t = dec('base64+text', Buffer.from([0x61, 0xff]).toString('base64'));
    expect(t.error).toEqual({ message: '1 ill-formed UTF-8 sequence (shown as U+FFFD), the first at byte 1 of the payload (at byte 1 of the base64-decoded data)' });
  });
});

describe('gzip, zlib, deflate', () => {
  const doc = { temp: 21.5, tags: ['a', 'b'] };
  test.each<[string, Uint8Array]>([
    ['gzip', gzipSync(JSON.stringify(doc))],
    ['zlib', deflateSync(JSON.stringify(doc))],
    ['deflate', deflateRawSync(JSON.stringify(doc))],
  ])('%s+json', (layer, bytes) => {
    const r = dec(`${layer}+json`, bytes, { tree: true });
    expect(r.value).toEqual(doc);
    expect(r.layers).toEqual([{ format: layer, inBytes: bytes.length, outBytes: JSON.stringify(doc).length }]);
    // Inflated bytes have no place in the packet: one node over the whole payload, saying so.
    expect(r.nodes).toHaveLength(1);
    expect(r.nodes![0]).toMatchObject({ offset: 5, length: bytes.length });
    expect(r.nodes![0]!.explain).toContain('the decoded bytes are not the packet\'s, so this node covers the whole payload');
  });

  test('gzip of cbor, base64 of gzip of msgpack', () => {
    expect(dec('gzip+cbor', gzipSync(cborEncode({ a: 1 }))).value).toEqual({ a: 1 });
    expect(dec('base64+gzip+msgpack', gzipSync(msgpackEncode([1, 'x'])).toString('base64')).value).toEqual([1, 'x']);
  });

  test('hostile: a gzip bomb (100 MiB of zeros in 100 KB) stops at 4 MiB: a cut, no value, in bounded time', () => {
    const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(120_000);
    const t0 = performance.now();
    const r = dec('gzip+text', bomb);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(r.value).toBeUndefined();
    expect(r.cut).toEqual(['gzip: inflates to more than 4 MiB (the limit of inflated bytes per payload); not decoded']);
    // The limit holds over the layers together: 3 MiB that do not compress, gzipped twice, inflate to 6 MiB.
    const nested = gzipSync(gzipSync(randomBytes(3 * 1024 * 1024)));
    expect(dec('gzip+gzip+hex', nested).cut).toEqual(['gzip: inflates to more than 4 MiB (the limit of inflated bytes per payload); not decoded']);
    expect(dec('gzip+gzip+hex', nested, { limits: { maxInflatedBytes: 8 * 1024 * 1024 } }).cut).toBeUndefined();
  });

  test('truncated and corrupt streams are errors at the payload', () => {
    const z = gzipSync('hello hello hello hello');
    expect(dec('gzip+text', z.subarray(0, z.length - 6), { pad: 5 }).error).toEqual({ message: 'gzip: unexpected end of file', offset: 5 });
    const bad = Buffer.from(z);
    bad[12] ^= 0xff;
    expect(dec('gzip+text', bad).error?.message).toMatch(/^gzip: /);
    expect(dec('zlib+text', 'not zlib').error?.message).toMatch(/^zlib: incorrect header check/);
  });
});

describe('cbor', () => {
  const value = { temp: 21.5, ok: true, n: null, list: [1, -2, 'x'], big: 2n ** 64n - 1n, bytes: new Uint8Array([1, 2]) };
  test('reference-encoded values, with bigints as decimal strings and bytes as hex', () => {
    expect(dec('cbor', cborEncode(value)).value).toEqual({ temp: 21.5, ok: true, n: null, list: [1, -2, 'x'], big: '18446744073709551615', bytes: '0102' });
  });

  test('maps with keys that are no strings keep their values; tags, dates, undefined', () => {
    expect(dec('cbor', cborEncode(new Map<unknown, string>([[1, 'a'], [[1, 2], 'b']]))).value).toEqual({ 1: 'a', '[1,2]': 'b' });
    expect(dec('cbor', new Uint8Array([0xc1, 0x1a, 0, 0, 0, 1])).value).toBe('1970-01-01T00:00:01.000Z');
    expect(dec('cbor', new Uint8Array([0xd8, 0x99, 0x01])).value).toEqual({ tag: 153, value: 1 });
    expect(dec('cbor', new Uint8Array([0xf7])).value).toBeNull();
    expect(dec('cbor', new Uint8Array([0xf9, 0x7c, 0x00])).value).toBe('Infinity');
  });

  test('tree nodes: exact offsets, header nodes, map values labelled by key, no gaps', () => {
    const rec = run(cborEncode({ temp: 21.5, list: [1, 2] }), { decode: ['#=cbor'] });
    const p = payloadNodeOf(rec);
    const d = p.children![0]!;
    expect(exactNodes([d], p.offset, p.offset + p.length)).toEqual([]);
    expect(gapless(d)).toEqual([]);
    const text = fieldTree(rec.decoded.tree!, { chalk: makeChalk(false), full: false, redact: false }).join('\n');
    expect(text).toContain('"temp": 21.5 — double-precision float');
    expect(text).toContain('map of 2 pairs');
    expect(annotatedHex(rec.bytes, rec.decoded.tree!, rec.violations, { chalk: makeChalk(false), full: true, redact: false }).join('\n')).not.toContain('not explained');
  });

  test('indefinite lengths, and their break bytes in the tree', () => {
    // {_ "a": [_ 1, 2], "b": 3 }
    const ok = new Uint8Array([0xbf, 0x61, 0x61, 0x9f, 0x01, 0x02, 0xff, 0x61, 0x62, 0x03, 0xff]);
    const r = dec('cbor', ok, { tree: true });
    expect(r.value).toEqual({ a: [1, 2], b: 3 });
    expect(gapless(r.nodes![0]!)).toEqual([]);
    expect(r.nodes![0]!.children!.at(-1)).toMatchObject({ key: 'break', offset: 15, length: 1 });
    // A key without its value.
    expect(dec('cbor', new Uint8Array([0xbf, 0x61, 0x61, 0xff])).error?.message).toBe('an indefinite-length map ends after a key, without its value');
    // Indefinite-length strings are well-formed CBOR that cbor-x does not decode: its refusal is the error.
    expect(dec('cbor', new Uint8Array([0x7f, 0x61, 0x63, 0x61, 0x64, 0xff])).error?.message).toBe('cbor-x: Indefinite length not supported for byte or text strings');
  });

  test.each<[string, number[], RegExp]>([
    ['a count past the bytes', [0x82, 0x01], /an array declares 2 items but 1 byte remains/],
    ['truncated', [0x82, 0x19, 0x01], /the data ends inside a header \(2 argument bytes declared\)/],
    ['a 2^64-1 element array in 10 bytes', [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], /an array declares 18446744073709551615 items but 1 byte remains/],
    ['a 2^31 byte string', [0x5a, 0x7f, 0xff, 0xff, 0xff, 0x01], /a byte string declares 2147483647 bytes but 1 byte remains/],
    ['a 2^32 pair map', [0xba, 0xff, 0xff, 0xff, 0xff, 0x00], /a map declares 4294967295 pairs but 1 byte remains/],
    ['trailing bytes', [0x01, 0x02], /1 byte after the first CBOR item/],
    ['reserved additional information', [0x1c], /reserved additional information 28/],
    ['a break outside', [0xff], /a break \(0xff\) outside/],
    ['an indefinite integer', [0x1f], /an indefinite length on an unsigned integer/],
    ['a header cut short', [0x19, 0x01], /the data ends inside a header/],
  ])('hostile: %s is an error', (_, bytes, msg) => {
    const r = dec('cbor', new Uint8Array(bytes));
    expect(r.error?.message).toMatch(msg);
    expect(r.value).toBeUndefined();
  });

  test('hostile: nesting 100,000 deep is an error at depth 64 (cbor-x would overflow the stack)', () => {
    const b = new Uint8Array(100_001).fill(0x81);
    b[100_000] = 0;
    const r = dec('cbor', b, { pad: 0 });
    expect(r.error).toEqual({ message: 'nesting deeper than 64 levels', offset: 64 });
    const ok = new Uint8Array(65).fill(0x81);
    ok[64] = 0;
    expect(dec('cbor', ok).error).toBeUndefined();
  });

  test('hostile: shared references that make a cycle are cut at the depth limit', () => {
    // tag 28 (shareable) [ tag 29 (shared ref 0) ]: an array that holds itself.
    const r = dec('cbor', new Uint8Array([0xd8, 0x1c, 0x81, 0xd8, 0x1d, 0x00]));
    expect(r.cut).toEqual(['containers nested deeper than 64 levels are shown as "…"']);
  });

  test('the tree stops at the node limit and one node covers the rest', () => {
    const big = cborEncode(Array.from({ length: 50 }, (_, i) => i));
    const s = scanCbor(big, 0, big.length, 64, 10);
    expect(s.root?.children?.length).toBe(9);
    const r = dec('cbor', big, { tree: true, limits: { maxItems: 10 } });
    expect(gapless(r.nodes![0]!)).toEqual([]);
    expect(r.nodes![0]!.children!.at(-1)!.label).toMatch(/more/);
  });
});

describe('msgpack', () => {
  test('reference-encoded values, 64-bit integers exact', () => {
    const v = { temp: 21.5, ok: false, list: [1, -200, 'x', null], big: 2n ** 63n, small: 5n, bin: new Uint8Array([255]) };
    expect(dec('msgpack', msgpackEncode(v, { useBigInt64: true })).value).toEqual({ temp: 21.5, ok: false, list: [1, -200, 'x', null], big: '9223372036854775808', small: 5, bin: 'ff' });
  });

  test('extensions, timestamps, keys that are no strings', () => {
    expect(dec('msgpack', new Uint8Array([0xd4, 0x05, 0x01])).value).toEqual({ extType: 5, data: '01' });
    expect(dec('msgpack', new Uint8Array([0xd6, 0xff, 0, 0, 0, 1])).value).toBe('1970-01-01T00:00:01.000Z');
    expect(dec('msgpack', new Uint8Array([0x81, 0x91, 0x01, 0x02])).value).toEqual({ '[1]': 2 });
  });

  test('tree nodes partition the payload', () => {
    const rec = run(msgpackEncode({ a: [1, 2, { b: 'c' }], d: 1.5 }), { decode: ['a/b=msgpack'] });
    const d = payloadNodeOf(rec).children![0]!;
    expect(gapless(d)).toEqual([]);
  });

  test.each<[string, number[], RegExp]>([
    ['a count past the bytes', [0x92, 0x01], /an array declares 2 items but 1 byte remains/],
    ['truncated', [0x92, 0x01, 0xcd, 0x01], /uint 16 declares 2 bytes but 1 byte remains/],
    ['a 2^32-1 element array in 6 bytes', [0xdd, 0xff, 0xff, 0xff, 0xff, 0x01], /an array declares 4294967295 items but 1 byte remains/],
    ['a 4 GiB string', [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61], /a string declares 4294967295 bytes but 1 byte remains/],
    ['a 4 GiB bin', [0xc6, 0xff, 0xff, 0xff, 0xff, 0x00], /bin 32 declares 4294967295 bytes but 1 byte remains/],
    ['a 4 GiB extension', [0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00], /an extension declares 4294967295 bytes but 1 byte remains/],
    ['a map of 2^32-1 pairs', [0xdf, 0xff, 0xff, 0xff, 0xff, 0x00], /a map declares 4294967295 pairs but 1 byte remains/],
    ['0xc1', [0xc1], /0xc1, which MessagePack never uses/],
    ['trailing bytes', [0x01, 0x02], /1 byte after the first MessagePack item/],
    ['a float cut short', [0xcb, 0x00, 0x00], /float 64 declares 8 bytes but 2 bytes remain/],
  ])('hostile: %s is an error', (_, bytes, msg) => {
    const r = dec('msgpack', new Uint8Array(bytes));
    expect(r.error?.message).toMatch(msg);
    expect(r.value).toBeUndefined();
  });

  test('hostile: nesting 100,000 deep is an error at depth 64', () => {
    const b = new Uint8Array(100_001).fill(0x91);
    b[100_000] = 0;
    expect(dec('msgpack', b, { pad: 0 }).error).toEqual({ message: 'nesting deeper than 64 levels', offset: 64 });
  });
});

describe('auto', () => {
  test.each<[string, Uint8Array | string, string, unknown]>([
    ['gzip of JSON', gzipSync('{"a":1}'), 'gzip+json (magic 1f 8b; then valid JSON text)', { a: 1 }],
    ['zlib of text', deflateSync('hello'), 'zlib+text (zlib header 78 9c; then UTF-8 without control characters)', 'hello'],
    ['JSON', '{"a":[1,2]}', 'json (valid JSON text)', { a: [1, 2] }],
    ['a digit is JSON, not the one-byte CBOR -22', '5', 'json (valid JSON text)', 5],
    ['a letter is text, not a MessagePack fixint', 'a', 'text (UTF-8 without control characters)', 'a'],
    ['CBOR', cborEncode({ t: 21 }), `cbor (one well-formed CBOR item takes all ${cborEncode({ t: 21 }).length} bytes)`, { t: 21 }],
    ['MessagePack', msgpackEncode({ t: 21, u: [1, 2] }), `msgpack (one well-formed MessagePack item takes all ${msgpackEncode({ t: 21, u: [1, 2] }).length} bytes)`, { t: 21, u: [1, 2] }],
    ['text with controls', 'a\u0001b', 'text (UTF-8 with control characters)', 'a\u0001b'],
    ['binary', new Uint8Array([0xc1, 0x00, 0xff]), 'hex (not gzip, zlib, JSON, UTF-8, CBOR or MessagePack)', 'c100ff'],
  ])('%s', (_, bytes, detected, value) => {
    const r = dec('auto', bytes);
    expect(r.detected).toBe(detected);
    expect(r.value).toEqual(value);
  });

  test('a zlib-looking header that does not inflate is said, then the bytes are detected as they are', () => {
    // "x^" passes the zlib header check (0x785e is a multiple of 31).
    const r = dec('auto', 'x^ marks the spot');
    expect(r.detected).toMatch(/^text \(UTF-8 without control characters; zlib header 78 5e but it does not inflate: zlib: /);
    expect(r.value).toBe('x^ marks the spot');
  });

  test('bytes that are CBOR and MessagePack both: CBOR, and it says so', () => {
    // 0x82 0x01 0x02: CBOR [1, 2]; MessagePack fixmap of 2 pairs needs 4 items: not both. 0xc3: CBOR tag 3 needs content.
    // A CBOR array of two fixints (0x82 0x00 0x00) is MessagePack "fixmap 2" (needs 4 items): CBOR only.
    expect(dec('auto', new Uint8Array([0x82, 0x00, 0x00])).detected).toBe('cbor (one well-formed CBOR item takes all 3 bytes)');
    // 0xa1 0x00 0x00: CBOR {0: 0}; MessagePack fixstr of 1 byte then a fixint: trailing, not one item.
    expect(dec('auto', new Uint8Array([0x92, 0x80, 0x80])).detected).toBe('msgpack (one well-formed MessagePack item takes all 3 bytes)');
  });

  test('a gzip bomb under auto is a cut too', () => {
    const r = dec('auto', gzipSync(Buffer.alloc(20 * 1024 * 1024)));
    expect(r.detected).toBe('gzip (magic 1f 8b)');
    expect(r.cut).toEqual(['gzip: inflates to more than 4 MiB (the limit of inflated bytes per payload); not decoded']);
  });

  test('auto in the tree: exact nodes for plain formats, one covering node after a layer', () => {
    const plain = run(cborEncode([1, 2]), { decode: ['#=auto'] });
    expect(gapless(payloadNodeOf(plain).children![0]!)).toEqual([]);
    expect(payloadNodeOf(plain).children![0]!.explain).toBe('detected cbor (one well-formed CBOR item takes all 3 bytes)');
    const z = run(gzipSync('{"a":1}'), { decode: ['#=auto'] });
    const node = payloadNodeOf(z).children![0]!.children![0]!;
    expect(node.explain).toMatch(/^gzip \d+ → 7 bytes; the decoded bytes are not the packet's/);
  });
});

describe('limits and the stage', () => {
  test('a payload past maxInputBytes is not decoded, and the cut says so', () => {
    const rec = run('x'.repeat(2000), { decode: ['#=text'], limits: { ...DEFAULT_DECODE_LIMITS, maxInputBytes: 1000 } });
    expect(decodedField(rec)).toEqual({ filter: '#', format: 'text', cut: ['the payload\'s 2,000 bytes are more than the 1,000 bytes decoded per payload; not decoded'] });
  });

  test('boundedValue: bigint, non-finite numbers, typed arrays, Sets, __proto__ keys', () => {
    const v = boundedValue({ a: 1n, b: NaN, c: new Float32Array([1.5]), d: new Set([1]), e: JSON.parse('{"__proto__":1}') as unknown }, DEFAULT_DECODE_LIMITS).value as Record<string, unknown>;
    expect(v).toEqual({ a: 1, b: 'NaN', c: [1.5], d: [1], e: JSON.parse('{"__proto__":1}') });
    expect(Object.getPrototypeOf(v['e'])).toBe(Object.prototype);
  });

  test('a decoder error is a warning on the packet, at the offending byte', () => {
    const rec = run(new Uint8Array([0x82, 0x01, 0x19, 0x01]), { decode: ['#=cbor'] });
    const p = rec.decoded.type === 3 ? rec.decoded.payloadOffset : -1;
    const message = 'the data ends inside a header (2 argument bytes declared)';
    expect(rec.violations).toEqual([{ id: 'PAYLOAD-decode-error', spec: 'mqtt-dissect', severity: 'warning', message: `cbor: ${message}`, offset: p + 2, length: 1 }]);
    expect(decodedField(rec)).toEqual({ filter: '#', format: 'cbor', error: { message, offset: p + 2 } });
  });

  test('the text view line: the value compact, bounded and escaped', () => {
    const rec = run(cborEncode({ msg: 'a\u001b[31mred', list: Array.from({ length: 100 }, (_, i) => i) }), { decode: ['#=cbor'], tree: false });
    const line = keyFields(rec, false, false);
    expect(line).toContain('→ cbor {"msg":"a\\u001b[31mred","list":[0,1,2,');
    expect(line).not.toContain('\u001b');
    expect(line.endsWith('…')).toBe(true);
    expect(keyFields(run('{"a":1}', { decode: ['#=auto'], tree: false }), false, false)).toMatch(/→ auto:json \{"a":1\}$/);
  });
});

describe('5.0 Content Type JSON check (own rule 5.0:3.3.2.3.9:content-type-json)', () => {
  const ct: Prop[] = [['contentType', 'application/json; charset=utf-8']];
  test('a JSON Content Type on a payload that is not JSON is a warning', () => {
    const rec = run('{"a":', { level: 5, properties: ct });
    expect(rec.violations.map((v) => [v.id, v.spec, v.severity])).toEqual([['5.0:3.3.2.3.9:content-type-json', '5.0', 'warning']]);
    expect(rec.violations[0]!.message).toMatch(/^Content Type "application\/json; charset=utf-8" declares JSON but the payload is not JSON: /);
    expect(run('{"a":1}', { level: 5, properties: ct }).violations).toEqual([]);
    expect(run('{"a":', { level: 5, properties: [['contentType', 'text/plain']] }).violations).toEqual([]);
    expect(run('{"a":', { level: 5, properties: [['contentType', 'application/vnd.x+json']] }).violations).toHaveLength(1);
  });

  test('in every mode alike (the check does not depend on the tree)', () => {
    const big = `[${'1,'.repeat(5000)}x]`;
    expect(run(big, { level: 5, properties: ct, tree: false }).violations.map((v) => v.id)).toEqual(['5.0:3.3.2.3.9:content-type-json']);
    expect(run(big, { level: 5, properties: ct, tree: true }).violations.map((v) => v.id)).toEqual(['5.0:3.3.2.3.9:content-type-json']);
  });

  test('too big to check: a note says so', () => {
    const rec = run(`"${'x'.repeat(70_000)}`, { level: 5, properties: ct });
    expect(rec.violations.map((v) => [v.id, v.severity])).toEqual([['PAYLOAD-json-unchecked', 'note']]);
    expect(rec.violations[0]!.message).toContain('more than the 64 KiB checked');
  });
});

describe('random and damaged bytes never throw', () => {
  const FORMATS = ['json', 'text', 'hex', 'cbor', 'msgpack', 'auto', 'base64', 'gzip+json', 'zlib+cbor', 'deflate+msgpack', 'base64+gzip+auto'];
  /** Reference encodings of small values, then damaged: truncated, a byte changed, bytes appended. */
  const seeds = [
    cborEncode({ a: [1, 2, { b: 'c' }], n: -5, f: 1.5, big: 2n ** 70n }), msgpackEncode({ a: [1, 2, { b: 'c' }], n: -5, f: 1.5 }),
    gzipSync('{"a":[1,2,3]}'), deflateSync(cborEncode([1, 'x'])), deflateRawSync(msgpackEncode({ k: 1 })), enc.encode(Buffer.from(gzipSync('{"x":1}')).toString('base64')),
  ];
  const damaged = fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 8 }), fc.constantFrom('cut', 'flip', 'append'))
    .map(([s, at, v, more, how]) => {
      const b = new Uint8Array(s);
      if (how === 'cut') return b.subarray(0, at % (b.length + 1));
      if (how === 'flip') { b[at % b.length] = v; return b; }
      return new Uint8Array([...b, ...more]);
    });
  test.each(FORMATS)('%s', (format) => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), damaged), fc.boolean(), (bytes, tree) => {
      const r = dec(format, bytes, { tree, pad: 7 });
      expect(typeof r.format).toBe('string');
      expect(() => JSON.stringify(r.value)).not.toThrow();
      if (r.nodes) expect(exactNodes(r.nodes, 7, 7 + bytes.length)).toEqual([]);
      if (r.error?.offset !== undefined) expect(r.error.offset >= 7 && r.error.offset <= 7 + bytes.length).toBe(true);
    }), { numRuns: 300 });
  });
});
