import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readCapture } from '../src/capture/source.js';
import { DialectStage, type DialectMode } from '../src/dialects/stage.js';
import { MAX_PENDING } from '../src/dialects/onenet.js';
import { ConnectionDecoder, type PacketRecord, type PacketSink, type Violation } from '../src/mqtt/connection-decoder.js';
import { decodePacket } from '../src/mqtt/decoder.js';
import type { FieldNode, ProtocolLevel } from '../src/mqtt/types.js';
import { NetDecoder } from '../src/net/decoder.js';
import { RuleEngine } from '../src/rules/engine.js';
import { TcpReassembler } from '../src/tcp/reassembler.js';
import type { Connection, StreamEvent } from '../src/tcp/types.js';
import { Chalk } from 'chalk';
import { annotatedHex } from '../src/render/hex.js';
import { MAX_DATAPOINTS, MAX_DP_NODES } from '../src/dialects/onenet-dp.js';
import { bytes, connect, hex, publish, subscribe, toHex, u16, u32 } from './builders/mqtt-bytes.js';
import { endAt } from './builders/frames.js';
import { fieldsOf } from './builders/fields.js';

// ---- harness: PacketRecords built from bytes, fed to the stage the way the pipeline would --------

function makeConn(serverPort: number, id = 0): Connection {
  return {
    id, clientIp: '10.0.0.2', clientPort: 40000 + id, serverIp: '10.0.0.1', serverPort,
    client: `10.0.0.2:${40000 + id}`, server: `10.0.0.1:${serverPort}`, sawSyn: true, firstFrame: 1, startSec: 0, startNsec: 0, tls: false, tcpStream: id,
  };
}

class Collect implements PacketSink {
  readonly packets: PacketRecord[] = [];
  readonly closed: number[] = [];
  open(): void {}
  packet(rec: PacketRecord): void { this.packets.push(rec); }
  event(_ev: StreamEvent): void {}
  close(conn: Connection): void { this.closed.push(conn.id); }
}

class H {
  readonly sink = new Collect();
  readonly stage: DialectStage;
  readonly conn: Connection;
  level: ProtocolLevel = 4;
  frame = 0;
  t = 100;

  constructor(o: { port?: number; dialect?: DialectMode; tree?: boolean; id?: number } = {}) {
    this.conn = makeConn(o.port ?? 6002, o.id ?? 0);
    this.stage = new DialectStage(this.sink, { dialect: o.dialect ?? 'auto', tree: o.tree ?? true });
    this.stage.open(this.conn);
    this.tree = o.tree ?? true;
  }

  private readonly tree: boolean;

  send(dir: 'c2s' | 's2c', b: Uint8Array, at?: number): PacketRecord {
    if (at !== undefined) this.t = at;
    const isConnect = dir === 'c2s' && b[0]! >> 4 === 1;
    const decoded = decodePacket(b, { level: this.level, dir, tree: this.tree });
    if (isConnect) this.level = decoded.level;
    this.frame++;
    const sec = Math.floor(this.t);
    const rec: PacketRecord = {
      conn: this.conn, dir, frame: this.frame, frames: [this.frame], timeSec: sec, timeNsec: Math.round((this.t - sec) * 1e9),
      bytes: b, decoded, levelInferred: false, streamOffset: 0, violations: [],
    };
    this.stage.packet(rec);
    this.t += 0.004;
    return rec;
  }

  c(b: Uint8Array, at?: number): PacketRecord { return this.send('c2s', b, at); }
  s(b: Uint8Array, at?: number): PacketRecord { return this.send('s2c', b, at); }
}

const onenet = (rec: PacketRecord): Record<string, unknown> => fieldsOf(rec.decoded)['onenet'] as Record<string, unknown>;
const ids = (rec: PacketRecord): string[] => rec.violations.map((v) => v.id);
const payloadOf = (rec: PacketRecord): FieldNode => rec.decoded.tree!.children!.find((c) => c.key === 'payload')!;
const kid = (n: FieldNode, key: string): FieldNode => {
  const k = n.children?.find((c) => c.key === key);
  if (!k) throw new Error(`no child ${key} under ${n.key}: ${JSON.stringify(n.children?.map((c) => c.key))}`);
  return k;
};
const kids = (n: FieldNode, key: string): FieldNode[] => (n.children ?? []).filter((c) => c.key === key);

function f32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setFloat32(0, v, true);
  return out;
}

const enc = new TextEncoder();
/** A $dp payload: type byte, optional 6 time bytes, then the parts as given. */
const dp = (typeByte: number, ...parts: (Uint8Array | number[] | string)[]): Uint8Array => bytes([typeByte], ...parts);
/** 2-byte length + text. */
const lp = (s: string): Uint8Array => bytes(u16(enc.encode(s).length), s);
const dpPublish = (payload: Uint8Array): Uint8Array => publish({ topic: '$dp', qos: 1, packetId: 10, payload });

/** Every node inside its parent and the packet; children in order without overlap unless all share the parent's bytes. */
function checkBounds(root: FieldNode, packetLength: number): void {
  const walk = (n: FieldNode): void => {
    expect(n.offset).toBeGreaterThanOrEqual(0);
    expect(n.length).toBeGreaterThanOrEqual(0);
    expect(n.offset + n.length).toBeLessThanOrEqual(packetLength);
    for (const c of n.children ?? []) {
      expect(c.offset, `${c.key} in ${n.key}`).toBeGreaterThanOrEqual(n.offset);
      expect(c.offset + c.length, `${c.key} in ${n.key}`).toBeLessThanOrEqual(n.offset + n.length);
      walk(c);
    }
  };
  walk(root);
}

function checkWarnings(rec: PacketRecord): void {
  for (const v of rec.violations) {
    if (!v.id.startsWith('ONENET-')) continue;
    expect(v.spec).toBe('OneNET');
    expect(['warning', 'note']).toContain(v.severity);
    if (v.offset !== undefined) {
      expect(v.offset).toBeGreaterThanOrEqual(0);
      expect(v.offset + (v.length ?? 0)).toBeLessThanOrEqual(rec.bytes.length);
    }
  }
}

// ---- the seed walkthrough ---------------------------------------------------------------------

const SEED_JSON = '{"Red_Led":1,"Green_Led":1,"Yellow_Led":1,"Blue_Led":1}';
const SEED_DP = hex(`32 41 00 03 24 64 70 00 0a 03 00 37 ${toHex(enc.encode(SEED_JSON))}`);
const UUID = 'e8b6c9b6-225b-57dc-abaa-246ba58761d8';

describe('seed walkthrough: $dp type 3', () => {
  test('the bytes are the walkthrough packet', () => {
    expect(SEED_DP.length).toBe(0x41 + 2);
    expect(SEED_DP).toEqual(dpPublish(dp(3, lp(SEED_JSON))));
  });

  test('fields.onenet: type 3, length 55, four data streams of value 1', () => {
    const h = new H();
    const rec = h.c(SEED_DP);
    expect(fieldsOf(rec.decoded)['topic']).toBe('$dp');
    expect(fieldsOf(rec.decoded)['packetId']).toBe(10);
    expect(onenet(rec)).toEqual({
      kind: 'dp', dpType: 3, dpTypeName: 'simple JSON without time', timeFlag: false, length: 55,
      datapoints: [
        { stream: 'Red_Led', value: 1 }, { stream: 'Green_Led', value: 1 }, { stream: 'Yellow_Led', value: 1 }, { stream: 'Blue_Led', value: 1 },
      ],
    });
    expect(fieldsOf(rec.decoded)['payloadView']).toBe('binary');
    expect(rec.violations).toEqual([]);
  });

  test('tree: type byte with its time flag bit, length 00 37 = 55, the JSON and one node per data stream', () => {
    const h = new H();
    const rec = h.c(SEED_DP);
    const p = payloadOf(rec);
    expect(p.offset).toBe(9);
    expect(p.children!.map((c) => c.key)).toEqual(['dpType', 'length', 'json']);
    const type = kid(p, 'dpType');
    expect(type).toMatchObject({ offset: 9, length: 1, value: '0x03' });
    expect(type.explain).toContain('type 3 (simple JSON without time)');
    expect(type.children!.map((c) => [c.key, c.value])).toEqual([['timeFlag', '0'], ['dpType', '3']]);
    const len = kid(p, 'length');
    expect(len).toMatchObject({ offset: 10, length: 2, value: '55' });
    expect(len.explain).toMatch(/^00 37 = 55 bytes/);
    const json = kid(p, 'json');
    expect(json).toMatchObject({ offset: 12, length: 55, value: SEED_JSON });
    const streams = kids(json, 'datapoint');
    expect(streams.map((s) => [s.label, s.value])).toEqual([
      ['data stream "Red_Led"', '1'], ['data stream "Green_Led"', '1'], ['data stream "Yellow_Led"', '1'], ['data stream "Blue_Led"', '1'],
    ]);
    // The stream nodes tile the JSON exactly: no byte unexplained, none printed twice.
    expect(streams[0]!.offset).toBe(12);
    for (let i = 1; i < streams.length; i++) expect(streams[i]!.offset).toBe(streams[i - 1]!.offset + streams[i - 1]!.length);
    expect(streams[3]!.offset + streams[3]!.length).toBe(67);
    // Each node starts at its stream's key.
    expect(String.fromCharCode(...rec.bytes.subarray(streams[1]!.offset, streams[1]!.offset + 12))).toBe('"Green_Led":');
    checkBounds(rec.decoded.tree!, rec.bytes.length);
  });

  test('annotated hex: every payload byte explained once, the streams by name', () => {
    const rec = new H().c(SEED_DP);
    const lines = annotatedHex(rec.bytes, rec.decoded.tree!, rec.violations, { chalk: new Chalk({ level: 0 }), full: true, redact: false });
    const text = lines.join('\n');
    expect(text).not.toContain('not explained');
    expect(text).toContain('data point type = 0x03');
    expect(text).toContain('JSON length = 55 (00 37 = 55 bytes)');
    for (const s of ['Red_Led', 'Green_Led', 'Yellow_Led', 'Blue_Led']) expect(text).toContain(`data stream "${s}" = 1`);
    // Hex columns: each of the 67 bytes appears exactly once.
    const hexCount = lines.map((l) => /^ {2}((?:[0-9a-f]{2} ?)+)/.exec(l)?.[1]?.trim().split(' ').length ?? 0).reduce((a, n) => a + n, 0);
    expect(hexCount).toBe(SEED_DP.length);
  });

  test('$creq carrying redled:0 and the $crsp reply linked to it', () => {
    const h = new H();
    const req = h.s(publish({ topic: `$creq/${UUID}`, payload: 'redled:0' }), 200);
    const rsp = h.c(publish({ topic: `$crsp/${UUID}`, payload: 'ok' }), 200.0045);
    expect(onenet(req)).toEqual({ kind: 'command', command: 'request', uuid: UUID });
    expect(onenet(rsp)).toEqual({ kind: 'command', command: 'response', uuid: UUID, requestSeen: true, requestFrame: req.frame, latencyMs: 4.5 });
    expect(ids(req)).toEqual([]);
    expect(ids(rsp)).toEqual([]);
    const reqNode = kid(payloadOf(req), 'command');
    expect(reqNode).toMatchObject({ label: 'OneNET command request', value: '"redled:0"' });
    expect(reqNode.explain).toContain(`$crsp/${UUID}`);
    expect(kid(payloadOf(rsp), 'command').explain).toBe(`answers the request in frame ${req.frame}, 4.500 ms later`);
  });

  test('the committed seed capture through the whole pipeline', async () => {
    const sink = new Collect();
    const stage = new DialectStage(sink, { dialect: 'auto', tree: true });
    const rules = new RuleEngine(stage);
    const mqtt = new ConnectionDecoder(rules, { tree: true });
    const tcp = new TcpReassembler(mqtt, { ports: new Set([1883, 6002]), auto: false });
    const net = new NetDecoder(() => {});
    let frames = 0;
    await readCapture(join(import.meta.dirname, '..', 'captures', 'seed-walkthrough.pcap'), {
      record(r) {
        frames = r.frame;
        mqtt.setCurrentFrame(r.frame, r.timeSec, r.timeNsec);
        const seg = net.decode(r);
        if (seg) tcp.segment(seg);
      },
      event() {},
    });
    net.finish(frames);
    tcp.finish(frames, 0, 0);
    expect(stage.openConnections).toBe(0);
    const plain = sink.packets.filter((p) => p.conn.serverPort === 1883);
    const one = sink.packets.filter((p) => p.conn.serverPort === 6002);
    expect(plain.length).toBeGreaterThan(0);
    for (const p of plain) expect(fieldsOf(p.decoded)['onenet']).toBeUndefined();
    const conn = one.find((p) => p.decoded.typeName === 'CONNECT')!;
    expect(onenet(conn)).toMatchObject({ deviceId: '31421353', productId: '141215', authInfo: { encoding: 'utf8', text: 'dpsO9ruH0aTZublG9g5SvBtFSEQ=' } });
    const dpRec = one.find((p) => fieldsOf(p.decoded)['topic'] === '$dp')!;
    expect(toHex(dpRec.bytes)).toBe(toHex(SEED_DP));
    expect((onenet(dpRec)['datapoints'] as unknown[]).length).toBe(4);
    const req = one.find((p) => fieldsOf(p.decoded)['topic'] === `$creq/${UUID}`)!;
    const rsp = one.find((p) => fieldsOf(p.decoded)['topic'] === `$crsp/${UUID}`)!;
    expect(onenet(rsp)).toMatchObject({ command: 'response', requestSeen: true, requestFrame: req.frame, latencyMs: 4 });
    for (const p of one) expect(p.violations.filter((v) => v.id.startsWith('ONENET-'))).toEqual([]);
  });
});

// ---- every $dp type ---------------------------------------------------------------------------

const TIME = [17, 3, 22, 22, 31, 12];
const TIME_ISO = '2017-03-22T22:31:12';

describe('$dp types', () => {
  test('type 1: full JSON, streams with several data points', () => {
    const json = '{"datastreams":[{"id":"temperature","datapoints":[{"at":"2016-12-22 22:22:22","value":36.5}]},{"id":"hum","datapoints":[{"value":50},{"value":{"a":1}}]}]}';
    const rec = new H().c(dpPublish(dp(1, lp(json))));
    expect(onenet(rec)).toEqual({
      kind: 'dp', dpType: 1, dpTypeName: 'full JSON', timeFlag: false, length: json.length,
      datapoints: [
        { stream: 'temperature', value: 36.5, at: '2016-12-22 22:22:22' },
        { stream: 'hum', value: 50 },
        { stream: 'hum', value: { a: 1 } },
      ],
    });
    expect(ids(rec)).toEqual([]);
    const nodes = kids(kid(payloadOf(rec), 'json'), 'datapoint');
    expect(nodes.map((n) => [n.label, n.value, n.explain])).toEqual([
      ['data stream "temperature"', '36.5', 'at "2016-12-22 22:22:22"'],
      ['data stream "hum"', '50', undefined],
      ['data stream "hum"', '{"a":1}', undefined],
    ]);
    checkBounds(rec.decoded.tree!, rec.bytes.length);
  });

  test('type 2: JSON descriptor, 4-byte binary length, binary data', () => {
    const desc = '{"ds_id":"image","at":"2017-01-01 00:00:00","desc":"upload"}';
    const rec = new H().c(dpPublish(dp(2, lp(desc), u32(5), [1, 2, 3, 4, 5])));
    expect(onenet(rec)).toEqual({
      kind: 'dp', dpType: 2, dpTypeName: 'binary with JSON descriptor', timeFlag: false, length: desc.length,
      descriptor: { ds_id: 'image', at: '2017-01-01 00:00:00', desc: 'upload' }, binaryLength: 5,
      datapoints: [{ stream: 'image', at: '2017-01-01 00:00:00', value: { encoding: 'hex', data: '0102030405' } }],
    });
    expect(ids(rec)).toEqual([]);
    const p = payloadOf(rec);
    expect(p.children!.map((c) => c.key)).toEqual(['dpType', 'length', 'json', 'binaryLength', 'binary']);
    expect(kid(p, 'binaryLength')).toMatchObject({ value: '5', explain: '00 00 00 05 = 5 bytes' });
    expect(kid(p, 'binary')).toMatchObject({ value: '01 02 03 04 05', length: 5 });
  });

  test('type 2: a long binary is previewed in fields, cut and marked', () => {
    const data = new Uint8Array(100).map((_, i) => i);
    const rec = new H().c(dpPublish(dp(2, lp('{"ds_id":"x"}'), u32(100), data)));
    const point = (onenet(rec)['datapoints'] as Array<{ value: { data: string; truncated?: boolean } }>)[0]!;
    expect(point.value.data.length).toBe(128);
    expect(point.value.truncated).toBe(true);
  });

  test('type 3 with a non-ASCII stream name: offsets count bytes, not characters', () => {
    const json = '{"温度":21.5,"b":"x"}';
    const rec = new H().c(dpPublish(dp(3, lp(json))));
    expect(onenet(rec)['datapoints']).toEqual([{ stream: '温度', value: 21.5 }, { stream: 'b', value: 'x' }]);
    const nodes = kids(kid(payloadOf(rec), 'json'), 'datapoint');
    const second = nodes[1]!;
    expect(String.fromCharCode(...rec.bytes.subarray(second.offset, second.offset + 4))).toBe('"b":');
    checkBounds(rec.decoded.tree!, rec.bytes.length);
  });

  test('type 4: simple JSON with time', () => {
    const json = '{"temperature":{"2015-03-22 22:31:12":22.5},"hum":{"2015-03-22 22:31:12":50,"2015-03-22 22:32:12":51}}';
    const rec = new H().c(dpPublish(dp(4, lp(json))));
    expect(onenet(rec)['datapoints']).toEqual([
      { stream: 'temperature', value: 22.5, at: '2015-03-22 22:31:12' },
      { stream: 'hum', value: 50, at: '2015-03-22 22:31:12' },
      { stream: 'hum', value: 51, at: '2015-03-22 22:32:12' },
    ]);
    expect(ids(rec)).toEqual([]);
    expect(kids(kid(payloadOf(rec), 'json'), 'datapoint').length).toBe(3);
  });

  test('type 5: separators, then stream,value records', () => {
    const text = ',;temperature,22.5;humidity,56.5';
    const rec = new H().c(dpPublish(dp(5, lp(text))));
    expect(onenet(rec)).toEqual({
      kind: 'dp', dpType: 5, dpTypeName: 'delimited text', timeFlag: false, length: text.length,
      separators: { field: ',', record: ';' },
      datapoints: [{ stream: 'temperature', value: '22.5' }, { stream: 'humidity', value: '56.5' }],
    });
    const t = kid(payloadOf(rec), 'text');
    expect(t.children!.map((c) => [c.key, c.value])).toEqual([['separators', '",;"'], ['datapoint', '"22.5"'], ['datapoint', '"56.5"']]);
    expect(kid(t, 'separators').explain).toBe('field separator ",", record separator ";"');
    checkBounds(rec.decoded.tree!, rec.bytes.length);
  });

  test("type 5: the SDK's example with times and bare values", () => {
    const text = ',;temperature,2015-03-22 22:31:12,22.5;102;pm2.5,89;10';
    const rec = new H().c(dpPublish(dp(5, lp(text))));
    expect(onenet(rec)['datapoints']).toEqual([
      { stream: 'temperature', at: '2015-03-22 22:31:12', value: '22.5' },
      { stream: 'temperature', value: '102' },
      { stream: 'pm2.5', value: '89' },
      { stream: 'pm2.5', value: '10' },
    ]);
    expect(ids(rec)).toEqual([]);
  });

  test('type 6 without and with time', () => {
    const text = '#|a#1|b#2';
    const plain = new H().c(dpPublish(dp(6, lp(text))));
    expect(onenet(plain)).toMatchObject({ dpType: 6, timeFlag: false, separators: { field: '#', record: '|' } });
    expect(onenet(plain)['time']).toBeUndefined();
    const timed = new H().c(dpPublish(dp(0x86, TIME, lp(text))));
    expect(onenet(timed)).toMatchObject({ dpType: 6, timeFlag: true, time: TIME_ISO, length: text.length });
    expect(onenet(timed)['datapoints']).toEqual([{ stream: 'a', value: '1' }, { stream: 'b', value: '2' }]);
    expect(ids(timed)).toEqual([]);
    const p = payloadOf(timed);
    expect(p.children!.map((c) => c.key)).toEqual(['dpType', 'time', 'length', 'text']);
    const type = kid(p, 'dpType');
    expect(type.value).toBe('0x86');
    expect(kid(type, 'timeFlag')).toMatchObject({ value: '1', explain: '1... .... = time flag 1' });
    const time = kid(p, 'time');
    expect(time).toMatchObject({ offset: 10, length: 6, value: TIME_ISO });
    expect(time.children!.map((c) => [c.key, c.value])).toEqual([['year', '2017'], ['month', '3'], ['day', '22'], ['hour', '22'], ['minute', '31'], ['second', '12']]);
  });

  test('type 7 with time: [stream id][count][floats] (MQTT SDK layout)', () => {
    const rec = new H().c(dpPublish(dp(0x87, TIME, u16(0), u16(2), f32(34), f32(-20.3))));
    expect(onenet(rec)).toEqual({
      kind: 'dp', dpType: 7, dpTypeName: 'binary floats', timeFlag: true, time: TIME_ISO, floatLayout: 'stream-count',
      datapoints: [{ stream: '0', value: 34 }, { stream: '0', value: -20.3 }],
    });
    expect(ids(rec)).toEqual([]);
    const g = kid(payloadOf(rec), 'floatGroup');
    expect(g.children!.map((c) => [c.key, c.value])).toEqual([['streamId', '0'], ['count', '2'], ['value', '34'], ['value', '-20.3']]);
    checkBounds(rec.decoded.tree!, rec.bytes.length);
  });

  test('type 7 without time: [count] then [stream id][float] pairs (EDP SDK layout)', () => {
    const rec = new H().c(dpPublish(dp(7, u16(2), u16(1), f32(1.5), u16(2), f32(-2.25))));
    expect(onenet(rec)).toMatchObject({ dpType: 7, timeFlag: false, floatLayout: 'count-pairs', datapoints: [{ stream: '1', value: 1.5 }, { stream: '2', value: -2.25 }] });
    expect(ids(rec)).toEqual([]);
  });

  test('type 7: what fits no layout is shown as hex with a warning', () => {
    const rec = new H().c(dpPublish(dp(7, u16(5), u16(1), f32(3.25), [0xab, 0xcd, 0xef])));
    expect(onenet(rec)['datapoints']).toEqual([{ stream: '5', value: 3.25 }]);
    expect(ids(rec)).toEqual(['ONENET-dp-float']);
    expect(kid(payloadOf(rec), 'undecoded').value).toBe('ab cd ef');
  });

  test('all-zero time means no time; an impossible time is a warning', () => {
    const zero = new H().c(dpPublish(dp(0x86, [0, 0, 0, 0, 0, 0], lp(',;a,1'))));
    expect(onenet(zero)['time']).toBeUndefined();
    expect(ids(zero)).toEqual([]);
    const bad = new H().c(dpPublish(dp(0x86, [17, 13, 1, 0, 0, 0], lp(',;a,1'))));
    expect(onenet(bad)['time']).toBeUndefined();
    expect(ids(bad)).toEqual(['ONENET-dp-time']);
    expect(bad.violations[0]).toMatchObject({ spec: 'OneNET', severity: 'warning', offset: 10, length: 6 });
    const feb30 = new H().c(dpPublish(dp(0x86, [24, 2, 30, 0, 0, 0], lp(',;a,1'))));
    expect(ids(feb30)).toEqual(['ONENET-dp-time']);
  });

  test('a time flag on a type without time is a warning and is otherwise ignored', () => {
    const rec = new H().c(dpPublish(dp(0x83, lp('{"a":1}'))));
    expect(ids(rec)).toEqual(['ONENET-dp-time-flag']);
    expect(onenet(rec)).toMatchObject({ dpType: 3, timeFlag: true, datapoints: [{ stream: 'a', value: 1 }] });
  });
});

// ---- malformed $dp ----------------------------------------------------------------------------

describe('$dp malformed payloads: dialect warnings, never crashes', () => {
  const cases: Array<[string, Uint8Array, string[]]> = [
    ['empty payload', new Uint8Array(0), ['ONENET-dp-truncated']],
    ['type byte only', dp(3), ['ONENET-dp-truncated']],
    ['half a length', dp(3, [0]), ['ONENET-dp-truncated']],
    ['length longer than the payload', dp(3, u16(80), SEED_JSON), ['ONENET-dp-length']],
    ['length shorter than the JSON', dp(3, u16(16), SEED_JSON), ['ONENET-dp-json', 'ONENET-dp-length']],
    ['length 0: no JSON', dp(3, u16(0)), ['ONENET-dp-json']],
    ['invalid JSON', dp(3, lp('{abc}')), ['ONENET-dp-json']],
    ['JSON that is not UTF-8', dp(3, u16(4), [0x22, 0xff, 0xfe, 0x22]), ['ONENET-dp-json']],
    ['type 3 JSON not an object', dp(3, lp('[1,2]')), ['ONENET-dp-shape']],
    ['type 1 without datastreams', dp(1, lp('{"x":1}')), ['ONENET-dp-shape']],
    ['type 1 stream without id', dp(1, lp('{"datastreams":[{"datapoints":[{"value":1}]}]}')), ['ONENET-dp-shape']],
    ['type 4 stream value not an object', dp(4, lp('{"a":1}')), ['ONENET-dp-shape']],
    ['type 0', dp(0, lp('{"a":1}')), ['ONENET-dp-type']],
    ['type 8', dp(8, lp('{"a":1}')), ['ONENET-dp-type']],
    ['type 127 with the time flag', dp(0xff, [1, 2, 3]), ['ONENET-dp-type']],
    ['bare JSON without type and length', enc.encode(SEED_JSON), ['ONENET-dp-type']],
    ['time cut off', dp(0x86, [17, 3]), ['ONENET-dp-truncated']],
    ['type 2 binary longer than the payload', dp(2, lp('{"ds_id":"a"}'), u32(1000), [1, 2]), ['ONENET-dp-length']],
    ['type 2 binary length cut off', dp(2, lp('{"ds_id":"a"}'), [0, 0]), ['ONENET-dp-truncated']],
    ['type 2 descriptor without ds_id', dp(2, lp('{"desc":"a"}'), u32(1), [7]), ['ONENET-dp-shape']],
    ['type 2 bytes after the binary', dp(2, lp('{"ds_id":"a"}'), u32(1), [7, 8]), ['ONENET-dp-length']],
    ['type 5 text shorter than the separators', dp(5, lp(',')), ['ONENET-dp-text']],
    ['type 5 text not UTF-8', dp(5, u16(3), [0x2c, 0x3b, 0xff]), ['ONENET-dp-text']],
    ['type 5 value without stream', dp(5, lp(',;7')), ['ONENET-dp-text']],
    ['type 5 too many fields', dp(5, lp(',;a,b,c,d')), ['ONENET-dp-text']],
    ['type 7 empty', dp(7), ['ONENET-dp-float']],
  ];
  test.each(cases)('%s', (_name, payload, expected) => {
    for (const tree of [true, false]) {
      const rec = new H({ tree }).c(dpPublish(payload));
      expect([...ids(rec)].sort()).toEqual([...expected].sort());
      checkWarnings(rec);
      const info = onenet(rec);
      expect(info['kind']).toBe('dp');
      expect(Array.isArray(info['datapoints'])).toBe(true);
      if (tree) checkBounds(rec.decoded.tree!, rec.bytes.length);
    }
  });

  test('the length warning points at the length field; the rest is shown, not lost', () => {
    const rec = new H().c(dpPublish(dp(3, u16(80), SEED_JSON)));
    expect(rec.violations[0]).toMatchObject({ id: 'ONENET-dp-length', offset: 10, length: 2 });
    expect(rec.violations[0]!.message).toContain('runs past the end');
    expect(kid(payloadOf(rec), 'length').explain).toBe('00 50 = 80 bytes, only 55 present');
    // The bytes that are there still read as complete JSON, so their data points are shown.
    const json = kid(payloadOf(rec), 'json');
    expect(json.offset + json.length).toBe(rec.bytes.length);
    expect((onenet(rec)['datapoints'] as unknown[]).length).toBe(4);
    const cut = new H().c(dpPublish(dp(3, u16(80), SEED_JSON.slice(0, 20))));
    expect(ids(cut)).toEqual(['ONENET-dp-length']);
    expect(kid(payloadOf(cut), 'json')).toMatchObject({ label: 'JSON data points (cut off)', value: JSON.stringify(SEED_JSON.slice(0, 20)) });
    expect(onenet(cut)['datapoints']).toEqual([]);
  });

  test('trailing bytes after the declared JSON get their own node', () => {
    const rec = new H().c(dpPublish(dp(3, lp('{"a":1}'), [9, 9])));
    expect(ids(rec)).toEqual(['ONENET-dp-length']);
    expect(onenet(rec)['datapoints']).toEqual([{ stream: 'a', value: 1 }]);
    expect(kid(payloadOf(rec), 'trailingBytes')).toMatchObject({ value: '09 09', length: 2 });
  });
});

describe('bounds on big payloads', () => {
  test('type 3 with more streams than listed: counted, and one tree node covers the rest', () => {
    const json = `{${Array.from({ length: MAX_DATAPOINTS + 500 }, (_, i) => `"s${i}":${i}`).join(',')}}`;
    for (const tree of [true, false]) {
      const rec = new H({ tree }).c(dpPublish(dp(3, lp(json))));
      const info = onenet(rec);
      expect((info['datapoints'] as unknown[]).length).toBe(MAX_DATAPOINTS);
      expect(info['datapointsOmitted']).toBe(500);
      if (!tree) continue;
      const nodes = kid(payloadOf(rec), 'json').children!;
      expect(nodes.length).toBe(MAX_DP_NODES + 1);
      expect(nodes[MAX_DP_NODES]).toMatchObject({ key: 'more', label: `${MAX_DATAPOINTS + 500 - MAX_DP_NODES} more data points` });
      checkBounds(rec.decoded.tree!, rec.bytes.length);
    }
  });

  test('type 7 with many floats', () => {
    const n = MAX_DATAPOINTS + 10;
    const floats = bytes(...Array.from({ length: n }, (_, i) => f32(i)));
    const rec = new H().c(dpPublish(dp(7, u16(9), u16(n), floats)));
    expect(onenet(rec)).toMatchObject({ floatLayout: 'stream-count', datapointsOmitted: 10 });
    expect(ids(rec)).toEqual([]);
    const g = kid(payloadOf(rec), 'floatGroup');
    expect(kid(g, 'more').label).toBe(`${n - MAX_DP_NODES} more values`);
    checkBounds(rec.decoded.tree!, rec.bytes.length);
  });
});

// ---- commands ---------------------------------------------------------------------------------

describe('commands', () => {
  test('a reply without a seen request is noted, not an error', () => {
    const h = new H();
    const rsp = h.c(publish({ topic: `$crsp/${UUID}`, payload: 'ok' }));
    expect(onenet(rsp)).toEqual({ kind: 'command', command: 'response', uuid: UUID, requestSeen: false });
    expect(rsp.violations).toEqual([expect.objectContaining({ id: 'ONENET-cmd-unmatched', severity: 'note', spec: 'OneNET' })]);
    expect(kid(payloadOf(rsp), 'command').explain).toContain('not seen');
  });

  test('a second reply to the same request is linked and marked repeated', () => {
    const h = new H();
    h.s(publish({ topic: `$creq/${UUID}`, payload: 'x' }));
    h.c(publish({ topic: `$crsp/${UUID}`, payload: 'ok' }));
    const again = h.c(publish({ topic: `$crsp/${UUID}`, payload: 'ok' }));
    expect(onenet(again)).toMatchObject({ requestSeen: true, repeated: true });
  });

  test('requests are linked per connection', () => {
    const a = new H({ id: 1 });
    const b = new H({ id: 2 });
    a.s(publish({ topic: `$creq/${UUID}`, payload: 'x' }));
    expect(onenet(b.c(publish({ topic: `$crsp/${UUID}`, payload: 'ok' })))['requestSeen']).toBe(false);
  });

  test(`pending requests are bounded: past ${MAX_PENDING} the oldest is forgotten`, () => {
    const h = new H({ tree: false });
    for (let i = 0; i <= MAX_PENDING; i++) h.s(publish({ topic: `$creq/cmd-${i}`, payload: 'x' }));
    expect(onenet(h.c(publish({ topic: '$crsp/cmd-0', payload: 'ok' })))['requestSeen']).toBe(false);
    expect(onenet(h.c(publish({ topic: '$crsp/cmd-1', payload: 'ok' })))['requestSeen']).toBe(true);
    expect(onenet(h.c(publish({ topic: `$crsp/cmd-${MAX_PENDING}`, payload: 'ok' })))['requestSeen']).toBe(true);
  });

  test('a device publishing to $creq gets a direction warning', () => {
    const rec = new H().c(publish({ topic: `$creq/${UUID}`, payload: 'x' }));
    expect(ids(rec)).toEqual(['ONENET-topic-direction']);
  });

  test('JSON command payloads get the generic JSON view under the command node', () => {
    const rec = new H().s(publish({ topic: `$creq/${UUID}`, payload: '{"led":0}' }));
    expect(fieldsOf(rec.decoded)['payloadView']).toBe('json');
    const json = kid(kid(payloadOf(rec), 'command'), 'json');
    expect(json.value).toBe('{\n  "led": 0\n}');
  });

  test('state is released on close', () => {
    const h = new H();
    h.s(publish({ topic: `$creq/${UUID}`, payload: 'x' }));
    expect(h.stage.openConnections).toBe(1);
    h.stage.close(h.conn, endAt(99));
    expect(h.stage.openConnections).toBe(0);
    expect(h.sink.closed).toEqual([h.conn.id]);
  });
});

// ---- OneNET Studio topics ---------------------------------------------------------------------

describe('OneNET Studio topics on port 1883', () => {
  const PID = '482913';
  const DEV = 'dev-1';
  const base = `$sys/${PID}/${DEV}`;
  const POST = '{"id":123,"dp":{"temperature":[{"v":30,"t":1552289676}],"power":[{"v":4.5}],"status":[{"v":{"color":"blue"},"t":1552289677},{"v":{"color":"red"}}]}}';

  test('dp/post/json is decoded and its accepted reply linked by id', () => {
    const h = new H({ port: 1883 });
    const c = h.c(connect({ clientId: DEV, username: PID, password: 'tok', keepAlive: 300 }));
    // The dialect is recognised from the topics, after the CONNECT went by.
    expect(fieldsOf(c.decoded)['onenet']).toBeUndefined();
    const post = h.c(publish({ topic: `${base}/dp/post/json`, qos: 1, packetId: 1, payload: POST }), 300);
    expect(onenet(post)).toEqual({
      kind: 'dp-post', productId: PID, deviceId: DEV, id: 123,
      datapoints: [
        { stream: 'temperature', value: 30, at: 1552289676 },
        { stream: 'power', value: 4.5 },
        { stream: 'status', value: { color: 'blue' }, at: 1552289677 },
        { stream: 'status', value: { color: 'red' } },
      ],
    });
    expect(fieldsOf(post.decoded)['payloadView']).toBe('json');
    expect(ids(post)).toEqual([]);
    const json = kid(payloadOf(post), 'json');
    const nodes = kids(json, 'datapoint');
    expect(nodes.length).toBe(4);
    expect(nodes[0]!.explain).toBe('at 1552289676 (2019-03-11T07:34:36Z)');
    checkBounds(post.decoded.tree!, post.bytes.length);
    const ok = h.s(publish({ topic: `${base}/dp/post/json/accepted`, payload: '{"id":"123"}' }), 300.02);
    expect(onenet(ok)).toEqual({
      kind: 'dp-post-result', productId: PID, deviceId: DEV, result: 'accepted', id: '123', requestSeen: true, requestFrame: post.frame, latencyMs: 20,
    });
    const bad = h.s(publish({ topic: `${base}/dp/post/json/rejected`, payload: '{"id":"9","code":2,"msg":"bad"}' }));
    expect(onenet(bad)).toMatchObject({ result: 'rejected', id: '9', code: 2, msg: 'bad', requestSeen: false });
    // The result node covers the payload; the JSON view goes under it.
    expect(kid(kid(payloadOf(bad), 'dpPostResult'), 'json').value).toContain('"code": 2');
  });

  test('cmd/request and cmd/response are linked like $creq/$crsp', () => {
    const h = new H({ port: 1883 });
    h.c(connect({ clientId: DEV, username: PID, password: 'tok', keepAlive: 300 }));
    const req = h.s(publish({ topic: `${base}/cmd/request/abc-1`, payload: 'on' }), 50);
    const rsp = h.c(publish({ topic: `${base}/cmd/response/abc-1`, payload: 'done' }), 50.25);
    expect(onenet(req)).toEqual({ kind: 'command', command: 'request', uuid: 'abc-1', productId: PID, deviceId: DEV });
    expect(onenet(rsp)).toEqual({ kind: 'command', command: 'response', uuid: 'abc-1', productId: PID, deviceId: DEV, requestSeen: true, requestFrame: req.frame, latencyMs: 250 });
    const res = h.s(publish({ topic: `${base}/cmd/response/abc-1/accepted`, payload: '' }));
    expect(onenet(res)).toEqual({ kind: 'command-result', result: 'accepted', uuid: 'abc-1', productId: PID, deviceId: DEV });
    expect([...ids(req), ...ids(rsp), ...ids(res)]).toEqual([]);
  });

  test('a topic naming another device than the CONNECT is a warning', () => {
    const h = new H({ port: 1883 });
    h.c(connect({ clientId: DEV, username: PID, password: 'tok' }));
    const rec = h.c(publish({ topic: `$sys/${PID}/other/dp/post/json`, payload: '{"id":1,"dp":{}}' }));
    expect(ids(rec)).toEqual(['ONENET-topic-identity']);
  });

  test('malformed uploads are dialect warnings', () => {
    const h = new H({ port: 1883 });
    expect(ids(h.c(publish({ topic: `${base}/dp/post/json`, payload: '{"id":1,' })))).toEqual(['ONENET-dp-json']);
    expect(ids(h.c(publish({ topic: `${base}/dp/post/json`, payload: '{"dp":{"a":[{"v":1}]}}' })))).toEqual(['ONENET-dp-shape']);
    expect(ids(h.c(publish({ topic: `${base}/dp/post/json`, payload: '{"id":1,"dp":{"a":5}}' })))).toEqual(['ONENET-dp-shape']);
    expect(ids(h.c(publish({ topic: `${base}/dp/post/json/accepted`, payload: '{}' })))).toEqual(['ONENET-topic-direction']);
  });

  test('other $sys topics are named, and SUBSCRIBE filters switch the dialect on', () => {
    const h = new H({ port: 1883 });
    const rec = h.c(publish({ topic: `${base}/thing/property/post`, payload: '{}' }));
    expect(onenet(rec)).toEqual({ kind: 'sys', productId: PID, deviceId: DEV, path: 'thing/property/post' });
    const h2 = new H({ port: 1883 });
    h2.c(subscribe({ subscriptions: [{ topic: `$sys/${PID}/+/dp/post/json`, qos: 1 }] }));
    expect(onenet(h2.s(publish({ topic: `${base}/dp/post/json`, payload: '{"id":5,"dp":{}}' })))).toMatchObject({ kind: 'dp-post', id: 5 });
  });
});

// ---- when the dialect applies -----------------------------------------------------------------

describe('dialect selection', () => {
  test('off on a plain 1883 connection: no fields.onenet, no OneNET findings, payload views still there', () => {
    const h = new H({ port: 1883 });
    const recs = [
      h.c(connect({ clientId: 'c', keepAlive: 10 })),
      h.c(subscribe({ subscriptions: [{ topic: 'a/#' }] })),
      h.c(publish({ topic: 'a/b', payload: '{"x":1}' })),
      h.s(publish({ topic: 'a/b', payload: Uint8Array.of(0, 1, 2) })),
      h.c(publish({ topic: '$SYS/broker/uptime', payload: '5' })),
    ];
    for (const r of recs) {
      expect(fieldsOf(r.decoded)['onenet']).toBeUndefined();
      expect(r.violations.filter((v) => v.id.startsWith('ONENET'))).toEqual([]);
    }
    expect(recs.slice(2).map((r) => fieldsOf(r.decoded)['payloadView'])).toEqual(['json', 'binary', 'text']);
  });

  test("'none' turns OneNET off even on port 6002; 'onenet' forces it on any port", () => {
    const off = new H({ dialect: 'none' });
    expect(fieldsOf(off.c(connect({ clientId: 'c', keepAlive: 10 })).decoded)['onenet']).toBeUndefined();
    const d = off.c(dpPublish(dp(3, lp('{"a":1}'))));
    expect(fieldsOf(d.decoded)['onenet']).toBeUndefined();
    expect(fieldsOf(d.decoded)['payloadView']).toBe('binary');
    const on = new H({ dialect: 'onenet', port: 1883 });
    const c = on.c(connect({ clientId: '1', username: '2', password: '3', keepAlive: 300 }));
    expect(onenet(c)).toMatchObject({ deviceId: '1', productId: '2' });
  });

  test('auto: $dp on another port switches it on for the rest of the connection', () => {
    const h = new H({ port: 1883 });
    const first = h.c(dpPublish(dp(3, lp('{"a":1}'))));
    expect(onenet(first)['kind']).toBe('dp');
    expect(onenet(h.s(publish({ topic: `$creq/${UUID}`, payload: 'x' })))['kind']).toBe('command');
  });
});

// ---- CONNECT --------------------------------------------------------------------------------------

describe('CONNECT on OneNET', () => {
  test('platform terms in fields and tree; the credential under authInfo', () => {
    const rec = new H().c(connect({ clientId: '31421353', username: '141215', password: 'secret', keepAlive: 256 }));
    const info = onenet(rec);
    expect(info).toMatchObject({ deviceId: '31421353', productId: '141215', authInfo: { encoding: 'utf8', text: 'secret' } });
    expect((info['platformNotes'] as string[]).length).toBeGreaterThan(3);
    expect(rec.violations).toEqual([]);
    const payload = rec.decoded.tree!.children!.find((c) => c.key === 'payload')!;
    expect(kid(kid(payload, 'clientId'), 'deviceId')).toMatchObject({ label: 'OneNET device ID', value: '"31421353"', length: 0 });
    expect(kid(kid(payload, 'username'), 'productId').value).toBe('"141215"');
    const auth = kid(kid(payload, 'password'), 'authInfo');
    expect(auth.value).toBeUndefined();
    checkBounds(rec.decoded.tree!, rec.bytes.length);
  });

  test.each([
    [60, true], [119, true], [0, true], [120, false], [256, false], [65535, false],
  ])('keep alive %i: warning %s', (ka, warned) => {
    const rec = new H().c(connect({ clientId: '1', username: '2', password: '3', keepAlive: ka }));
    const v = rec.violations.find((x) => x.id === 'ONENET-keepalive-range');
    expect(v !== undefined).toBe(warned);
    if (v) {
      expect(v).toMatchObject({ spec: 'OneNET', severity: 'warning', offset: 10, length: 2 });
      expect(v.message).toContain(ka === 0 ? '0 (off)' : `${ka} s`);
    }
  });

  test('MQTT 5.0, 3.1 and missing credentials are dialect warnings', () => {
    const v5 = new H().c(connect({ level: 5, clientId: '1', username: '2', password: '3', keepAlive: 300 }));
    expect(ids(v5)).toEqual(['ONENET-protocol-version']);
    expect(v5.violations[0]).toMatchObject({ offset: 8, length: 1 });
    const v31 = new H().c(connect({ level: 3, clientId: '1', username: '2', password: '3', keepAlive: 300 }));
    expect(ids(v31)).toEqual(['ONENET-protocol-version']);
    const anon = new H().c(connect({ clientId: '1', keepAlive: 300 }));
    expect(ids(anon)).toEqual(['ONENET-credentials']);
    expect(anon.violations[0]!.message).toContain('no user name (product ID) and no password');
    expect(fieldsOf(anon.decoded)['onenet']).toMatchObject({ deviceId: '1' });
  });
});

// ---- properties -------------------------------------------------------------------------------------

const TYPE_BYTES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0x81, 0x83, 0x86, 0x87, 0x7b, 0xff];

const dpPayloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.tuple(fc.constantFrom(...TYPE_BYTES), fc.uint8Array({ maxLength: 8 }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 120 }))
    .map(([t, time, len, rest]) => bytes([t], time, u16(len), rest)),
  fc.tuple(fc.constantFrom(1, 3, 4, 0x83), fc.json({ maxDepth: 4 }), fc.integer({ min: -3, max: 3 }))
    .map(([t, json, skew]) => {
      const b = enc.encode(json);
      return bytes([t], u16(Math.max(0, b.length + skew)), b);
    }),
  fc.tuple(fc.constantFrom(5, 6, 0x86), fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.string({ maxLength: 60 }))
    .map(([t, time, s]) => bytes([t], t === 0x86 ? time : [], lp(s))),
  fc.tuple(fc.constantFrom(2), fc.json({ maxDepth: 2 }), fc.integer({ min: 0, max: 300 }), fc.uint8Array({ maxLength: 40 }))
    .map(([t, json, n, data]) => bytes([t], lp(json), u32(n), data)),
  fc.tuple(fc.constantFrom(7, 0x87), fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.uint8Array({ maxLength: 60 }))
    .map(([t, time, data]) => bytes([t], t === 0x87 ? time : [], data)),
);

describe('properties', () => {
  test('random $dp payloads never throw; nodes and warnings stay within the packet; tree and no tree agree', () => {
    fc.assert(
      fc.property(dpPayloadArb, fc.boolean(), (payload, cut) => {
        const full = dpPublish(payload);
        // Sometimes the packet itself is cut short (a truncated capture): the payload ends early.
        const b = cut && full.length > 12 ? full.subarray(0, full.length - 3) : full;
        const withTree = new H({ tree: true }).c(b);
        const noTree = new H({ tree: false }).c(b);
        for (const rec of [withTree, noTree]) {
          expect(rec.violations.map((v: Violation) => v.id)).not.toContain('DIALECT-internal-error');
          checkWarnings(rec);
        }
        checkBounds(withTree.decoded.tree!, withTree.bytes.length);
        const p = payloadOf(withTree);
        for (const c of p.children ?? []) {
          expect(c.offset).toBeGreaterThanOrEqual(p.offset);
          expect(c.offset + c.length).toBeLessThanOrEqual(withTree.bytes.length);
        }
        expect(fieldsOf(withTree.decoded)['onenet']).toEqual(fieldsOf(noTree.decoded)['onenet']);
        expect(withTree.violations).toEqual(noTree.violations);
        expect(JSON.parse(JSON.stringify(fieldsOf(withTree.decoded)['onenet']))).toBeTypeOf('object');
      }),
      { numRuns: 1500 },
    );
  });

  test('random topics and payloads on a OneNET connection never throw', () => {
    const topicArb = fc.oneof(
      fc.constantFrom('$dp', `$creq/${UUID}`, `$crsp/${UUID}`, '$sys/1/2/dp/post/json', '$sys/1/2/dp/post/json/accepted', '$sys/1/2/cmd/request/x', '$sys/1/2/cmd/response/x', '$creq/', '$sys/1/2/'),
      fc.string({ maxLength: 30 }).map((s) => `$sys/${s}`),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), topicArb, fc.oneof(fc.uint8Array({ maxLength: 60 }), fc.json({ maxDepth: 3 }).map((j) => enc.encode(j)))), { maxLength: 12 }), (msgs) => {
        const h = new H();
        for (const [c2s, topic, payload] of msgs) {
          const rec = h.send(c2s ? 'c2s' : 's2c', publish({ topic, payload }));
          expect(ids(rec)).not.toContain('DIALECT-internal-error');
          checkWarnings(rec);
          checkBounds(rec.decoded.tree!, rec.bytes.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
