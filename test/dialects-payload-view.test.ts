import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DialectStage, type DialectMode } from '../src/dialects/stage.js';
import { classifyPayload, CHEAP_JSON_MAX_BYTES, isJsonContentType, PRETTY_MAX_CHARS, TREE_JSON_MAX_BYTES } from '../src/dialects/payload-view.js';
import type { PacketRecord, PacketSink } from '../src/mqtt/connection-decoder.js';
import { decodePacket } from '../src/mqtt/decoder.js';
import type { FieldNode, ProtocolLevel } from '../src/mqtt/types.js';
import type { Connection } from '../src/tcp/types.js';
import { publish, type Prop } from './builders/mqtt-bytes.js';
import { fieldsOf } from './builders/fields.js';

const conn: Connection = {
  id: 0, clientIp: '10.0.0.2', clientPort: 40000, serverIp: '10.0.0.1', serverPort: 1883,
  client: '10.0.0.2:40000', server: '10.0.0.1:1883', sawSyn: true, firstFrame: 1, startSec: 0, startNsec: 0, tls: false, tcpStream: 0,
};

const sink: PacketSink = { open() {}, packet() {}, event() {}, close() {} };

/** One PUBLISH through a fresh stage. */
function run(payload: string | Uint8Array, o: { tree?: boolean; level?: ProtocolLevel; properties?: Prop[]; dialect?: DialectMode; topic?: string } = {}): PacketRecord {
  const level = o.level ?? 4;
  const tree = o.tree ?? true;
  const b = publish({ level, topic: o.topic ?? 'a/b', payload, ...(o.properties ? { properties: o.properties } : {}) });
  const rec: PacketRecord = {
    conn, dir: 'c2s', frame: 1, frames: [1], timeSec: 0, timeNsec: 0, bytes: b,
    decoded: decodePacket(b, { level, dir: 'c2s', tree }), levelInferred: false, streamOffset: 0, violations: [],
  };
  new DialectStage(sink, { dialect: o.dialect ?? 'auto', tree }).packet(rec);
  return rec;
}

const view = (rec: PacketRecord): unknown => fieldsOf(rec.decoded)['payloadView'];
const payloadNode = (rec: PacketRecord): FieldNode => rec.decoded.tree!.children!.find((c) => c.key === 'payload')!;
const jsonChild = (rec: PacketRecord): FieldNode | undefined => payloadNode(rec).children?.find((c) => c.key === 'json');

describe('payloadView', () => {
  test.each<[string, string | Uint8Array, string]>([
    ['a JSON object', '{"a":[1,2,{"b":null}]}', 'json'],
    ['a JSON array with blanks around it', ' \n[1, 2]\r\n', 'json'],
    ['text', 'hello world', 'text'],
    ['text with tabs and newlines', 'a\tb\nc\r\n', 'text'],
    ['JSON-shaped text that is not JSON', '{not json}', 'text'],
    ['a bare number (not sniffed as JSON)', '42', 'text'],
    ['UTF-8 text', '温度 21.5 °C', 'text'],
    ['empty', '', 'text'],
    ['control bytes', Uint8Array.of(0x68, 0x00, 0x69), 'binary'],
    ['a C1 control', Uint8Array.of(0x61, 0xc2, 0x85, 0x62), 'binary'],
    ['ill-formed UTF-8', Uint8Array.of(0x61, 0xff, 0x62), 'binary'],
    ['a $dp-like binary', Uint8Array.of(3, 0, 2, 0x7b, 0x7d), 'binary'],
  ])('%s → %s', (_name, payload, expected) => {
    for (const tree of [true, false]) expect(view(run(payload, { tree }))).toBe(expected);
  });

  test('MQTT 5.0 Payload Format Indicator 1 makes control characters text', () => {
    const b = Uint8Array.of(0x61, 0x01, 0x62);
    expect(view(run(b, { level: 5 }))).toBe('binary');
    expect(view(run(b, { level: 5, properties: [['payloadFormatIndicator', 1]] }))).toBe('text');
    // Ill-formed UTF-8 stays binary whatever the indicator says (the decoder reports the contradiction).
    expect(view(run(Uint8Array.of(0xff), { level: 5, properties: [['payloadFormatIndicator', 1]] }))).toBe('binary');
  });

  test('a JSON Content Type asks for JSON even when the payload does not look like it', () => {
    expect(view(run('42', { level: 5 }))).toBe('text');
    expect(view(run('42', { level: 5, properties: [['contentType', 'application/json; charset=utf-8']] }))).toBe('json');
    expect(view(run('"hi"', { level: 5, properties: [['contentType', 'application/vnd.x+json']] }))).toBe('json');
    expect(view(run('nope', { level: 5, properties: [['contentType', 'application/json']] }))).toBe('text');
    expect(isJsonContentType('Application/JSON')).toBe(true);
    expect(isJsonContentType('text/plain')).toBe(false);
  });

  test('in modes without a tree, JSON above 4 KiB is judged by its shape only', () => {
    const broken = `{"a":"${'x'.repeat(CHEAP_JSON_MAX_BYTES)}",}`;
    expect(view(run(broken, { tree: false }))).toBe('json');
    expect(view(run(broken, { tree: true }))).toBe('text');
    const small = '{"a":1,}';
    expect(view(run(small, { tree: false }))).toBe('text');
  });

  test('applies in every dialect, including none', () => {
    for (const dialect of ['auto', 'onenet', 'none'] as const) expect(view(run('{"a":1}', { dialect }))).toBe('json');
  });

  test('classifyPayload never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (b, tree) => {
      expect(['json', 'text', 'binary']).toContain(classifyPayload(b, 0, b.length, undefined, tree).view);
    }));
  });
});

describe('JSON tree node', () => {
  test('pretty-printed JSON under the payload node, covering the payload', () => {
    const rec = run('{"a":1,"b":[true,null]}');
    const p = payloadNode(rec);
    const j = jsonChild(rec)!;
    expect(j).toMatchObject({ key: 'json', label: 'JSON', offset: p.offset, length: p.length });
    expect(j.value).toBe('{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}');
    expect(j.explain).toBe('23 bytes of JSON (object with 2 members)');
  });

  test('no node without a tree, for non-JSON payloads, or above 64 KiB; long output is clipped', () => {
    expect(run('{"a":1}', { tree: false }).decoded.tree).toBeNull();
    expect(jsonChild(run('plain'))).toBeUndefined();
    const big = `[${Array.from({ length: TREE_JSON_MAX_BYTES / 2 }, () => '1').join(',')}]`;
    const bigRec = run(big);
    expect(view(bigRec)).toBe('json');
    expect(jsonChild(bigRec)).toBeUndefined();
    const wide = `[${Array.from({ length: 3000 }, (_, i) => i).join(',')}]`;
    const clipped = jsonChild(run(wide))!;
    expect(clipped.value!.length).toBe(PRETTY_MAX_CHARS + 1);
    expect(clipped.value!.endsWith('…')).toBe(true);
  });

  test('deeply nested JSON does not break the stage', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const rec = run(deep);
    expect(view(rec)).toBe('json');
    expect(rec.violations.map((v) => v.id)).not.toContain('DIALECT-internal-error');
  });
});
