import { describe, expect, test } from 'vitest';
import { decodeSparkplugPayload, metricValue } from '../src/dialects/sparkplug/payload.js';
import { MAX_EDGE_NODES } from '../src/dialects/sparkplug/state.js';
import { parseSparkplugTopic } from '../src/dialects/sparkplug/topic.js';
import type { PublishPacket } from '../src/mqtt/packets.js';
import type { FieldNode } from '../src/mqtt/types.js';
import { keyFields } from '../src/render/fields.js';
import { SPARKPLUG_CHECKED, SPARKPLUG_OWN_RULES } from '../src/rules/catalogue-sparkplug.js';
import { connack, connect, disconnect, publish, subscribe } from './builders/mqtt-bytes.js';
import { SpHarness, spEncode, spRaw, spReferenceDecode, type SpMetricIn, type SpPayloadIn } from './builders/sparkplug.js';
import { sparkplugTypes } from '../src/dialects/sparkplug/schema.js';

const T0 = 1_700_000_000_000;
const G = 'Plant1';
const E = 'Edge1';
const EDGE = 1;
const HOST = 2;

function will(bdSeq: number): Uint8Array {
  return spEncode({ timestamp: T0, metrics: [{ name: 'bdSeq', type: 'Int64', value: bdSeq, timestamp: T0 }] });
}

function edgeConnect(o: { bdSeq?: number; willQos?: number; willRetain?: boolean; noWill?: boolean; level?: 4 | 5 } = {}): Uint8Array {
  return connect({
    level: o.level ?? 4, clientId: 'edge1', clean: true,
    ...(o.noWill ? {} : { will: { topic: `spBv1.0/${G}/NDEATH/${E}`, payload: will(o.bdSeq ?? 0), qos: o.willQos ?? 1, retain: o.willRetain ?? false } }),
  });
}

const NBIRTH_METRICS: SpMetricIn[] = [
  { name: 'bdSeq', type: 'Int64', value: 0, timestamp: T0 },
  { name: 'Node Control/Rebirth', type: 'Boolean', value: false, timestamp: T0 },
  { name: 'Temperature', alias: 1, type: 'Float', value: 21.5, timestamp: T0, properties: { engUnit: { type: 'String', value: '°C' } } },
  { name: 'Count', alias: 2, type: 'Int32', value: -3, timestamp: T0 },
];

function pub(topic: string, p: SpPayloadIn, o: { qos?: 0 | 1 | 2; retain?: boolean } = {}): Uint8Array {
  return publish({ topic, payload: spEncode(p), qos: o.qos ?? 0, retain: o.retain ?? false, ...(o.qos ? { packetId: 1 } : {}) });
}

function nbirth(seq = 0, metrics = NBIRTH_METRICS): Uint8Array {
  return pub(`spBv1.0/${G}/NBIRTH/${E}`, { timestamp: T0, seq, metrics });
}
function dbirth(seq: number, dev = 'Dev1'): Uint8Array {
  return pub(`spBv1.0/${G}/DBIRTH/${E}/${dev}`, { timestamp: T0, seq, metrics: [{ name: 'Level', alias: 10, type: 'Double', value: 1.5, timestamp: T0 }] });
}
/** NDATA by alias, without data types (what Sparkplug asks for), written field by field. */
function ndata(seq: number, metrics: Record<string, unknown>[] = [{ alias: 1, float_value: 22.25, timestamp: T0 }], extra: Record<string, unknown> = {}): Uint8Array {
  return publish({ topic: `spBv1.0/${G}/NDATA/${E}`, payload: spRaw({ timestamp: T0, seq, metrics, ...extra }) });
}
function ddata(seq: number, dev = 'Dev1'): Uint8Array {
  return publish({ topic: `spBv1.0/${G}/DDATA/${E}/${dev}`, payload: spRaw({ timestamp: T0, seq, metrics: [{ alias: 10, double_value: 2.5, timestamp: T0 }] }) });
}
const STATE = 'spBv1.0/STATE/host1';
function hostConnect(o: { level?: 4 | 5; clean?: boolean; willRetain?: boolean } = {}): Uint8Array {
  return connect({ level: o.level ?? 4, clientId: 'host1', clean: o.clean ?? true, will: { topic: STATE, payload: JSON.stringify({ online: false, timestamp: T0 }), qos: 1, retain: o.willRetain ?? true } });
}
function stateBirth(o: { qos?: 0 | 1; retain?: boolean; timestamp?: number } = {}): Uint8Array {
  return publish({ topic: STATE, payload: JSON.stringify({ online: true, timestamp: o.timestamp ?? T0 }), qos: o.qos ?? 1, packetId: 1, retain: o.retain ?? true });
}

/** An edge node's connection as Sparkplug wants it: CONNECT with its NDEATH Will, CONNACK, its command subscriptions. */
function edgeOnline(h: SpHarness, o: Parameters<typeof edgeConnect>[0] = {}): void {
  h.c(EDGE, edgeConnect(o));
  h.s(EDGE, connack({}));
  h.c(EDGE, subscribe({ packetId: 1, subscriptions: [{ topic: `spBv1.0/${G}/NCMD/${E}`, qos: 1 }, { topic: `spBv1.0/${G}/DCMD/${E}/+`, qos: 1 }] }));
}

/** A clean Sparkplug session: a host comes online, an edge node is born with a device and sends data. */
function cleanSession(h: SpHarness): void {
  h.c(HOST, hostConnect());
  h.s(HOST, connack({}));
  h.c(HOST, subscribe({ packetId: 1, subscriptions: [{ topic: STATE, qos: 1 }, { topic: 'spBv1.0/#', qos: 0 }] }));
  h.c(HOST, stateBirth());
  edgeOnline(h);
  h.c(EDGE, nbirth(0));
  h.s(HOST, nbirth(0));
  h.c(EDGE, dbirth(1));
  h.c(EDGE, ndata(2));
  h.s(HOST, ndata(2));
  h.c(EDGE, ddata(3));
}

describe('Sparkplug B payloads', () => {
  test('decodes what the reference encoder wrote, values typed by the data type', () => {
    const b = spEncode({ timestamp: T0, seq: 7, metrics: [
      { name: 'i8', type: 'Int8', value: -5, timestamp: T0 }, { name: 'i16', type: 'Int16', value: -30000, timestamp: T0 },
      { name: 'i64', type: 'Int64', value: -7, timestamp: T0 }, { name: 'u64', type: 'UInt64', value: 12345678901, timestamp: T0 },
      { name: 'f', type: 'Float', value: 1.5, timestamp: T0 }, { name: 'd', type: 'Double', value: 2.25, timestamp: T0 },
      { name: 'b', type: 'Boolean', value: true, timestamp: T0 }, { name: 's', type: 'String', value: 'héllo', timestamp: T0 },
      { name: 'dt', type: 'DateTime', value: T0, timestamp: T0 },
    ] });
    const p = decodeSparkplugPayload(b, 0, b.length);
    expect(p.error).toBeUndefined();
    expect(p.seq).toBe(7);
    expect(p.timestamp).toBe(T0);
    const values = Object.fromEntries(p.metrics.map((m) => [m.name, metricValue(b, m.raw!, m.datatype).value]));
    expect(values).toEqual({ i8: -5, i16: -30000, i64: -7, u64: 12345678901, f: 1.5, d: 2.25, b: true, s: 'héllo', dt: T0 });
    const ref = spReferenceDecode(b) as { metrics: { name: string; value: unknown }[] };
    expect(ref.metrics.map((m) => m.name)).toEqual(p.metrics.map((m) => m.name));
  });

  test('a truncated payload is an error at the offset where it stops, never an exception', () => {
    const b = spEncode({ timestamp: T0, seq: 1, metrics: NBIRTH_METRICS });
    for (let cut = 1; cut < b.length; cut++) {
      const p = decodeSparkplugPayload(b, 0, cut);
      if (p.error) expect(p.error.offset).toBeLessThanOrEqual(cut);
    }
    const p = decodeSparkplugPayload(b, 0, b.length - 3);
    expect(p.error?.message).toMatch(/declares \d+ bytes but only \d+ are left|past the end/);
  });

  test('a length prefix claiming gigabytes allocates nothing and says so', () => {
    const b = Uint8Array.of(0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01);
    const p = decodeSparkplugPayload(b, 0, b.length);
    expect(p.error?.message).toMatch(/declares 4294967295 bytes but only 1 are left/);
  });

  test('deep nesting is cut at the depth limit and reported', () => {
    // A Template inside a metric inside a Template ... 40 levels deep.
    let metric: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 20; i++) {
      const template = Uint8Array.of(0x12, metric.length, ...metric); // template.metrics (field 2, LEN)
      metric = Uint8Array.of(0x92, 0x01, template.length, ...template); // metric.template_value (field 18, LEN)
    }
    expect(metric.length).toBeLessThan(128); // one-byte length prefixes all the way
    const payload = Uint8Array.of(0x12, metric.length, ...metric); // payload.metrics
    const p = decodeSparkplugPayload(payload, 0, payload.length, { maxDepth: 4, maxFields: 1000 });
    expect(p.cut.join(' ')).toMatch(/nested deeper than 4/);
  });
});

describe('Sparkplug B topics', () => {
  test.each([
    ['spBv1.0/G/NDATA/E', { kind: 'message', group: 'G', type: 'NDATA', edge: 'E', device: undefined }],
    ['spBv1.0/G/DDATA/E/D', { kind: 'message', group: 'G', type: 'DDATA', edge: 'E', device: 'D' }],
    ['spBv1.0/STATE/h', { kind: 'state', host: 'h' }],
  ])('%s', (topic, want) => {
    expect(parseSparkplugTopic(topic)).toEqual(want);
  });
  test.each([
    ['spBv1.0/G/NDATA', 'tck-id-topic-structure'],
    ['spBv1.0/G/XDATA/E', 'tck-id-topic-structure'],
    ['spBv1.0/G/DDATA/E', 'tck-id-topic-structure-namespace-device-id-associated-message-types'],
    ['spBv1.0/G/NDATA/E/D', 'tck-id-topic-structure-namespace-device-id-non-associated-message-types'],
    ['spBv1.0//NDATA/E', 'tck-id-topic-structure-namespace-valid-group-id'],
    ['spBv1.0/G/NDATA/', 'tck-id-topic-structure-namespace-valid-edge-node-id'],
    ['spBv1.0/STATE/h/x', 'tck-id-host-topic-phid-birth-topic'],
  ])('%s is invalid (%s)', (topic, id) => {
    const t = parseSparkplugTopic(topic);
    expect(t?.kind === 'invalid' ? t.id : null).toBe(id);
  });
  test('other topics are not Sparkplug', () => {
    expect(parseSparkplugTopic('spAv1.0/G/NDATA/E')).toBeNull();
  });
});

describe('Sparkplug B state across connections', () => {
  test('a clean session has no finding, and NDATA by alias gets its name, unit and type from the NBIRTH', () => {
    const h = new SpHarness();
    cleanSession(h);
    h.end(EDGE);
    h.end(HOST);
    expect(h.findings()).toEqual([]);
    const data = h.packets.filter((p) => (p.decoded as PublishPacket).sparkplug?.['kind'] === 'NDATA');
    expect(data).toHaveLength(2);
    for (const p of data) {
      const sp = (p.decoded as PublishPacket).sparkplug!;
      expect(sp['metrics']).toEqual([{ name: 'Temperature', alias: 1, datatype: 'Float', timestamp: T0, value: 22.25, unit: '°C' }]);
    }
  });

  test('the text line names the message, its seq and its metrics with units, instead of the protobuf bytes', () => {
    const h = new SpHarness();
    cleanSession(h);
    const rec = h.packets.find((p) => (p.decoded as PublishPacket).sparkplug?.['kind'] === 'NDATA')!;
    const line = keyFields(rec, false);
    expect(line).toContain('NDATA Plant1/Edge1 seq=2 Temperature=22.25 °C (alias 1)');
    expect(line).not.toMatch(/payload=|\\x/);
    const birth = keyFields(h.packets.find((p) => (p.decoded as PublishPacket).sparkplug?.['kind'] === 'NBIRTH')!, false);
    expect(birth).toContain('NBIRTH Plant1/Edge1 seq=0 bdSeq=0, Node Control/Rebirth=false, Temperature=21.5 °C (alias 1), Count=-3 (alias 2)');
  });
});

describe('Sparkplug B in the annotated hex', () => {
  test('every payload byte is explained once, the tag arithmetic and metric names shown', () => {
    const h = new SpHarness(true);
    cleanSession(h);
    for (const rec of h.packets) {
      const d = rec.decoded as PublishPacket;
      if (d.type !== 3 || d.sparkplug === undefined || d.sparkplug['kind'] === 'STATE') continue;
      const pn = d.tree!.children!.find((c) => c.key === 'payload')!;
      expect(pn.label).toBe(`payload (Sparkplug B ${String(d.sparkplug['kind'])})`);
      const leaves: FieldNode[] = [];
      const walk = (n: FieldNode): void => { if (n.children?.length) n.children.forEach(walk); else leaves.push(n); };
      walk(pn);
      let at = d.payloadOffset;
      for (const l of leaves) {
        expect(l.offset).toBe(at);
        at += l.length;
      }
      expect(at).toBe(d.payloadEnd);
    }
    const data = h.packets.find((p) => (p.decoded as PublishPacket).sparkplug?.['kind'] === 'NDATA')!;
    const pn = data.decoded.tree!.children!.find((c) => c.key === 'payload')!;
    const metric = pn.children!.find((c) => c.key === 'metrics')!;
    expect(metric.label).toBe('metric 0 "Temperature" (alias 1)');
    expect(metric.children![0]!.explain).toBe('field 2 (metrics) × 8 + wire type 2 (length-delimited)');
    expect(metric.children!.find((c) => c.key === 'float_value')!.value).toBe('22.25 (Float)');
  });
});

/** A Template definition Motor (member Speed: Int32; parameter size: Int32) and an instance of it, as NBIRTH metrics. */
const MOTOR_DEF = { name: 'Motor', alias: 3, datatype: 19, timestamp: T0, template_value: { version: '1.0', is_definition: true, metrics: [{ name: 'Speed', datatype: 3, int_value: 0 }], parameters: [{ name: 'size', type: 3, int_value: 1 }] } };
function motor(o: { alias?: number; metrics?: Record<string, unknown>[]; parameters?: Record<string, unknown>[] } = {}): Record<string, unknown> {
  return { name: 'Motor1', alias: o.alias ?? 4, datatype: 19, timestamp: T0, template_value: { is_definition: false, template_ref: 'Motor', metrics: o.metrics ?? [{ name: 'Speed', datatype: 3, int_value: 5 }], parameters: o.parameters ?? [{ name: 'size', type: 3, int_value: 2 }] } };
}

/** One message of the schema (Payload.Metric, Payload.Template.Parameter, …) encoded by protobufjs from its fields. */
function spPart(type: string, o: Record<string, unknown>): Uint8Array {
  const t = sparkplugTypes().payload.lookupType(type);
  return t.encode(t.fromObject(o)).finish();
}
/** A varint of any width (protobuf base 128). */
function varint(n: bigint): number[] {
  const out: number[] = [];
  do {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? b | 0x80 : b);
  } while (n > 0n);
  return out;
}
/** A field appended to an encoded message (protobuf: the last occurrence of a scalar wins), its length prefix included. */
function lenField(fieldNo: number, body: Uint8Array): number[] {
  return [...varint(BigInt((fieldNo << 3) | 2)), ...varint(BigInt(body.length)), ...body];
}
/** A 33-bit value for a uint32 field: wider than the field. */
const WIDE = varint(1n << 32n);
/** `bytes` with the one occurrence of ASCII `marker` starting with byte `to` instead (same length: no prefix changes). */
function patchAscii(bytes: Uint8Array, marker: string, to: number): Uint8Array {
  const m = Buffer.from(marker, 'latin1');
  const at = Buffer.from(bytes).indexOf(m);
  if (at < 0 || Buffer.from(bytes).indexOf(m, at + 1) >= 0) throw new Error(`marker ${marker} not found once`);
  const out = Uint8Array.from(bytes);
  out[at] = to;
  return out;
}

/** Each check: the clean session with one thing changed must raise that id, and the clean one must not. */
describe('Sparkplug B conformance checks', () => {
  const cases: [string, (h: SpHarness) => void][] = [
    ['tck-id-payloads-ndeath-will-message-qos', (h) => { h.c(EDGE, edgeConnect({ willQos: 0 })); }],
    ['tck-id-payloads-ndeath-will-message-retain', (h) => { h.c(EDGE, edgeConnect({ willRetain: true })); }],
    ['tck-id-payloads-ndeath-will-message', (h) => { h.c(EDGE, edgeConnect({ noWill: true })); h.c(EDGE, nbirth(0)); }],
    ['tck-id-topics-nbirth-bdseq-increment', (h) => { h.c(EDGE, edgeConnect({ bdSeq: 0 })); h.end(EDGE); h.c(EDGE + 10, edgeConnect({ bdSeq: 5 })); }],
    ['tck-id-payloads-nbirth-bdseq-repeat', (h) => { h.c(EDGE, edgeConnect({ bdSeq: 3 })); h.c(EDGE, nbirth(0)); }],
    ['tck-id-payloads-nbirth-bdseq', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0, NBIRTH_METRICS.slice(1))); }],
    ['tck-id-payloads-nbirth-rebirth-req', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0, NBIRTH_METRICS.filter((m) => m.name !== 'Node Control/Rebirth'))); }],
    ['tck-id-operational-behavior-data-commands-rebirth-value', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0, NBIRTH_METRICS.map((m) => (m.name === 'Node Control/Rebirth' ? { ...m, value: true } : m)))); }],
    ['tck-id-operational-behavior-data-commands-rebirth-datatype', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0, NBIRTH_METRICS.map((m) => (m.name === 'Node Control/Rebirth' ? { ...m, type: 'Int32', value: 0 } : m)))); }],
    ['tck-id-topics-nbirth-seq-num', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(4)); }],
    ['tck-id-payloads-nbirth-qos', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, pub(`spBv1.0/${G}/NBIRTH/${E}`, { timestamp: T0, seq: 0, metrics: NBIRTH_METRICS }, { qos: 1 })); }],
    ['tck-id-payloads-nbirth-retain', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, pub(`spBv1.0/${G}/NBIRTH/${E}`, { timestamp: T0, seq: 0, metrics: NBIRTH_METRICS }, { retain: true })); }],
    ['tck-id-payloads-nbirth-timestamp', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, pub(`spBv1.0/${G}/NBIRTH/${E}`, { seq: 0, metrics: NBIRTH_METRICS })); }],
    ['tck-id-payloads-ndata-seq-inc', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, ndata(1)); h.c(EDGE, ndata(3)); }],
    ['tck-id-payloads-ndata-seq', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, publish({ topic: `spBv1.0/${G}/NDATA/${E}`, payload: spRaw({ timestamp: T0, metrics: [{ alias: 1, float_value: 1.5, timestamp: T0 }] }) })); }],
    ['tck-id-payloads-ndata-order', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, ndata(1)); }],
    ['tck-id-payloads-ddata-order', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, ddata(1)); }],
    ['tck-id-message-flow-device-birth-publish-nbirth-wait', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, dbirth(1)); }],
    ['tck-id-payloads-dbirth-seq-inc', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, dbirth(5)); }],
    ['tck-id-payloads-alias-uniqueness', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, pub(`spBv1.0/${G}/DBIRTH/${E}/Dev1`, { timestamp: T0, seq: 1, metrics: [{ name: 'Level', alias: 1, type: 'Double', value: 1, timestamp: T0 }] })); }],
    ['tck-id-payloads-alias-birth-requirement', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0, [...NBIRTH_METRICS, { name: 'NoAlias', type: 'Int32', value: 1, timestamp: T0 }])); }],
    ['tck-id-topics-nbirth-metrics', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: spRaw({ timestamp: T0, seq: 0, metrics: [{ name: 'bdSeq', datatype: 4, long_value: 0, timestamp: T0 }, { name: 'Untyped', alias: 9, int_value: 1, timestamp: T0 }] }) })); }],
    ['tck-id-payloads-name-birth-data-requirement', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, ndata(1, [{ alias: 1, float_value: 3 }])); }],
    ['tck-id-payloads-name-requirement', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, ndata(1, [{ float_value: 3, timestamp: T0 }])); }],
    ['tck-id-payloads-alias-data-cmd-requirement', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, ndata(1, [{ name: 'Temperature', alias: 1, float_value: 3, timestamp: T0 }])); }],
    ['tck-id-payloads-metric-datatype-not-req', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, ndata(1, [{ alias: 1, datatype: 9, float_value: 3, timestamp: T0 }])); }],
    ['tck-id-topics-nbirth-metric-reqs', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, ndata(1, [{ alias: 77, float_value: 3, timestamp: T0 }])); }],
    ['tck-id-case-sensitivity-metric-names', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0, [...NBIRTH_METRICS, { name: 'temperature', alias: 8, type: 'Float', value: 1, timestamp: T0 }])); }],
    ['tck-id-topics-ndeath-payload', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, pub(`spBv1.0/${G}/NDEATH/${E}`, { timestamp: T0, metrics: [{ name: 'bdSeq', type: 'Int64', value: 0 }, { name: 'extra', type: 'Int32', value: 1 }] })); }],
    ['tck-id-payloads-ndeath-seq', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, pub(`spBv1.0/${G}/NDEATH/${E}`, { timestamp: T0, seq: 3, metrics: [{ name: 'bdSeq', type: 'Int64', value: 0 }] })); }],
    ['tck-id-payloads-ndeath-will-message-publisher-disconnect-mqtt311', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, disconnect()); }],
    ['tck-id-payloads-ndeath-will-message-publisher-disconnect-mqtt50', (h) => { h.c(EDGE, edgeConnect({ level: 5 })); h.c(EDGE, publish({ level: 5, topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: spEncode({ timestamp: T0, seq: 0, metrics: NBIRTH_METRICS }) })); h.c(EDGE, disconnect({ level: 5, reasonCode: 0 })); }],
    ['tck-id-operational-behavior-data-commands-ncmd-rebirth-value', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(HOST, hostConnect()); h.c(HOST, pub(`spBv1.0/${G}/NCMD/${E}`, { timestamp: T0, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: false }] })); }],
    ['tck-id-payloads-ncmd-seq', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(HOST, hostConnect()); h.c(HOST, pub(`spBv1.0/${G}/NCMD/${E}`, { timestamp: T0, seq: 4, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })); }],
    ['tck-id-operational-behavior-data-commands-dcmd-metric-name', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, dbirth(1)); h.c(HOST, hostConnect()); h.c(HOST, pub(`spBv1.0/${G}/DCMD/${E}/Dev1`, { timestamp: T0, metrics: [{ name: 'Nope', type: 'Double', value: 1 }] })); }],
    ['tck-id-operational-behavior-data-commands-dcmd-metric-value', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, dbirth(1)); h.c(HOST, hostConnect()); h.c(HOST, pub(`spBv1.0/${G}/DCMD/${E}/Dev1`, { timestamp: T0, metrics: [{ name: 'Level', type: 'String', value: 'x' }] })); }],
    ['tck-id-operational-behavior-data-commands-rebirth-action-1', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.s(EDGE, pub(`spBv1.0/${G}/NCMD/${E}`, { timestamp: T0, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })); h.c(EDGE, ndata(1)); }],
    ['tck-id-operational-behavior-data-commands-rebirth-action-2', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.s(EDGE, pub(`spBv1.0/${G}/NCMD/${E}`, { timestamp: T0, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })); h.end(EDGE); }],
    ['tck-id-payloads-propertyset-keys-array-size', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: withBrokenPropertySet() })); }],
    ['tck-id-operational-behavior-host-application-connect-will-retained', (h) => { h.c(HOST, hostConnect({ willRetain: false })); }],
    ['tck-id-message-flow-phid-sparkplug-clean-session-311', (h) => { h.c(HOST, hostConnect({ clean: false })); }],
    ['tck-id-operational-behavior-host-application-connect-birth-qos', (h) => { h.c(HOST, hostConnect()); h.c(HOST, subscribe({ packetId: 1, subscriptions: [{ topic: STATE, qos: 1 }] })); h.c(HOST, stateBirth({ qos: 0 })); }],
    ['tck-id-operational-behavior-host-application-connect-birth-retained', (h) => { h.c(HOST, hostConnect()); h.c(HOST, subscribe({ packetId: 1, subscriptions: [{ topic: STATE, qos: 1 }] })); h.c(HOST, stateBirth({ retain: false })); }],
    ['tck-id-host-topic-phid-birth-payload-timestamp', (h) => { h.c(HOST, hostConnect()); h.c(HOST, subscribe({ packetId: 1, subscriptions: [{ topic: STATE, qos: 1 }] })); h.c(HOST, stateBirth({ timestamp: T0 + 5 })); }],
    ['tck-id-payloads-state-subscribe', (h) => { h.c(HOST, hostConnect()); h.c(HOST, stateBirth()); }],
    ['SPARKPLUG-value-field', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0, [...NBIRTH_METRICS, { name: 'U32', alias: 5, type: 'UInt32', value: 7, timestamp: T0 }])); }],
    ['SPARKPLUG-payload-malformed', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, publish({ topic: `spBv1.0/${G}/NDATA/${E}`, payload: Uint8Array.of(0x12, 0x40, 0x01) })); }],
  ];
  // The per-message-type families: QoS, RETAIN, the payload timestamp and seq, on each type that has the rule.
  const T = T0;
  const bodies: Record<string, { topic: string; metrics: Record<string, unknown>[]; seq: number | undefined; from: number }> = {
    DBIRTH: { topic: `spBv1.0/${G}/DBIRTH/${E}/Dev2`, metrics: [{ name: 'Level2', alias: 20, datatype: 10, double_value: 1.5, timestamp: T }], seq: 2, from: EDGE },
    NDATA: { topic: `spBv1.0/${G}/NDATA/${E}`, metrics: [{ alias: 1, float_value: 1.5, timestamp: T }], seq: 2, from: EDGE },
    DDATA: { topic: `spBv1.0/${G}/DDATA/${E}/Dev1`, metrics: [{ alias: 10, double_value: 1.5, timestamp: T }], seq: 2, from: EDGE },
    DDEATH: { topic: `spBv1.0/${G}/DDEATH/${E}/Dev1`, metrics: [], seq: 2, from: EDGE },
    NCMD: { topic: `spBv1.0/${G}/NCMD/${E}`, metrics: [{ name: 'Temperature', float_value: 5 }], seq: undefined, from: HOST },
    DCMD: { topic: `spBv1.0/${G}/DCMD/${E}/Dev1`, metrics: [{ name: 'Level', double_value: 5 }], seq: undefined, from: HOST },
  };
  const born = (h: SpHarness): void => { h.c(HOST, hostConnect()); h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, dbirth(1)); };
  const send = (h: SpHarness, type: string, o: { qos?: number; retain?: boolean; noTimestamp?: boolean; seq?: number | null } = {}): void => {
    const m = bodies[type]!;
    const seq = o.seq === null ? undefined : o.seq ?? m.seq;
    const payload = spRaw({ ...(o.noTimestamp ? {} : { timestamp: T }), ...(seq !== undefined ? { seq } : {}), metrics: m.metrics });
    h.c(m.from, publish({ topic: m.topic, payload, qos: o.qos ?? 0, retain: o.retain ?? false, ...(o.qos ? { packetId: 7 } : {}) }));
  };
  for (const type of Object.keys(bodies)) {
    const lower = type.toLowerCase();
    cases.push([type === 'DDEATH' ? 'tck-id-topics-ddeath-mqtt' : `tck-id-payloads-${lower}-qos`, (h) => { born(h); send(h, type, { qos: 1 }); }]);
    if (type !== 'DDEATH') cases.push([`tck-id-payloads-${lower}-retain`, (h) => { born(h); send(h, type, { retain: true }); }]);
    cases.push([`tck-id-payloads-${lower}-timestamp`, (h) => { born(h); send(h, type, { noTimestamp: true }); }]);
    if (bodies[type]!.seq !== undefined) {
      cases.push([`tck-id-payloads-${lower}-seq`, (h) => { born(h); send(h, type, { seq: null }); }]);
      cases.push([`tck-id-payloads-${lower}-seq-inc`, (h) => { born(h); send(h, type, { seq: 9 }); }]);
    } else {
      cases.push([`tck-id-payloads-${lower}-seq`, (h) => { born(h); send(h, type, { seq: 3 }); }]);
    }
  }
  const raw = (topic: string, p: Record<string, unknown>, from = EDGE) => (h: SpHarness): void => { h.c(from, publish({ topic, payload: spRaw(p) })); };
  const birthWith = (metric: Record<string, unknown>) => (h: SpHarness): void => {
    h.c(EDGE, edgeConnect());
    raw(`spBv1.0/${G}/NBIRTH/${E}`, { timestamp: T, seq: 0, metrics: [{ name: 'bdSeq', datatype: 4, long_value: 0, timestamp: T }, { name: 'Node Control/Rebirth', datatype: 11, boolean_value: false, timestamp: T }, metric] })(h);
  };
  /** An NBIRTH payload with bdSeq, the Rebirth metric and these metrics (fields as the schema names them). */
  const birthPayload = (metrics: Record<string, unknown>[]): Uint8Array => spRaw({ timestamp: T, seq: 0, metrics: [{ name: 'bdSeq', datatype: 4, long_value: 0, timestamp: T }, { name: 'Node Control/Rebirth', datatype: 11, boolean_value: false, timestamp: T }, ...metrics] });
  const birthWithAll = (metrics: Record<string, unknown>[]) => (h: SpHarness): void => {
    h.c(EDGE, edgeConnect());
    h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: birthPayload(metrics) }));
  };
  /** An NBIRTH whose DataSet metric has these bytes appended to its DataSet (one column "a" of Int32 otherwise). */
  const datasetBirth = (h: SpHarness, extra: number[]): void => {
    const ds = Uint8Array.from([...spPart('DataSet', { num_of_columns: 1, columns: ['a'], ...(extra[0] === 0x1d || extra[0] === 0x18 ? {} : { types: [3] }) }), ...extra]);
    const metric = Uint8Array.from([...spPart('Metric', { name: 'DS', alias: 3, datatype: 16, timestamp: T }), ...lenField(17, ds)]);
    h.c(EDGE, edgeConnect());
    h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: Uint8Array.from([...birthPayload([]), ...lenField(2, metric)]) }));
  };
  const hostUp = (h: SpHarness): void => { h.c(HOST, hostConnect()); h.s(HOST, connack({})); h.c(HOST, subscribe({ packetId: 1, subscriptions: [{ topic: STATE, qos: 1 }] })); };
  const hostState = (online: boolean, timestamp: number): Uint8Array => publish({ topic: STATE, payload: JSON.stringify({ online, timestamp }), qos: 1, packetId: 5, retain: true });
  const primaryEdge = (h: SpHarness): void => { edgeOnline(h); h.c(EDGE, subscribe({ packetId: 2, subscriptions: [{ topic: STATE, qos: 1 }] })); };
  const invalidTopics: [string, string][] = [
    ['tck-id-topic-structure', 'spBv1.0/G/XDATA/E'],
    ['tck-id-topic-structure-namespace-device-id-associated-message-types', 'spBv1.0/G/DDATA/E'],
    ['tck-id-topic-structure-namespace-device-id-non-associated-message-types', 'spBv1.0/G/NDATA/E/D'],
    ['tck-id-topic-structure-namespace-valid-group-id', 'spBv1.0//NDATA/E'],
    ['tck-id-topic-structure-namespace-valid-edge-node-id', 'spBv1.0/G/NDATA/'],
    ['tck-id-topic-structure-namespace-valid-device-id', 'spBv1.0/G/DDATA/E/'],
    ['tck-id-host-topic-phid-birth-topic', 'spBv1.0/STATE/h/x'],
  ];
  for (const [id, topic] of invalidTopics) cases.push([id, (h) => { h.c(EDGE, publish({ topic, payload: 'x' })); }]);
  const garbage = Uint8Array.of(0x12, 0x40, 0x01);
  cases.push(
    ['tck-id-message-flow-edge-node-birth-publish-nbirth-payload', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: garbage })); }],
    ['tck-id-message-flow-device-birth-publish-dbirth-payload', (h) => { born(h); h.c(EDGE, publish({ topic: `spBv1.0/${G}/DBIRTH/${E}/Dev3`, payload: garbage })); }],
    ['tck-id-message-flow-edge-node-birth-publish-nbirth-payload-bdSeq', (h) => { h.c(EDGE, edgeConnect()); raw(`spBv1.0/${G}/NBIRTH/${E}`, { timestamp: T, seq: 0, metrics: [{ name: 'bdSeq', datatype: 8, long_value: 0, timestamp: T }, { name: 'Node Control/Rebirth', datatype: 11, boolean_value: false, timestamp: T }] })(h); }],
    ['tck-id-message-flow-edge-node-birth-publish-will-message-payload', (h) => { h.c(EDGE, connect({ clientId: 'e', will: { topic: `spBv1.0/${G}/NDEATH/${E}`, payload: garbage, qos: 1 } })); }],
    ['tck-id-message-flow-edge-node-birth-publish-will-message-payload-bdSeq', (h) => { h.c(EDGE, connect({ clientId: 'e', will: { topic: `spBv1.0/${G}/NDEATH/${E}`, payload: spRaw({ timestamp: T }), qos: 1 } })); }],
    ['tck-id-message-flow-phid-sparkplug-clean-session-50', (h) => { h.c(HOST, hostConnect({ level: 5, clean: false })); }],
    ['tck-id-operational-behavior-data-commands-ncmd-metric-name', (h) => { born(h); raw(`spBv1.0/${G}/NCMD/${E}`, { timestamp: T, metrics: [{ name: 'Nope', float_value: 1 }] }, HOST)(h); }],
    ['tck-id-operational-behavior-data-commands-ncmd-metric-value', (h) => { born(h); raw(`spBv1.0/${G}/NCMD/${E}`, { timestamp: T, metrics: [{ name: 'Temperature', string_value: 'hot' }] }, HOST)(h); }],
    ['tck-id-operational-behavior-data-commands-rebirth-name-aliases', (h) => { h.c(EDGE, edgeConnect()); raw(`spBv1.0/${G}/NBIRTH/${E}`, { timestamp: T, seq: 0, metrics: [{ name: 'bdSeq', datatype: 4, long_value: 0, timestamp: T }, { name: 'Node Control/Rebirth', alias: 99, datatype: 11, boolean_value: false, timestamp: T }, { name: 'A', alias: 1, datatype: 3, int_value: 1, timestamp: T }] })(h); }],
    ['tck-id-operational-behavior-host-application-connect-birth-payload', (h) => { h.c(HOST, hostConnect()); h.c(HOST, subscribe({ packetId: 1, subscriptions: [{ topic: STATE, qos: 1 }] })); h.c(HOST, publish({ topic: STATE, payload: '{"online":true}', qos: 1, packetId: 2, retain: true })); }],
    ['tck-id-operational-behavior-host-application-connect-will-payload', (h) => { h.c(HOST, connect({ clientId: 'host1', will: { topic: STATE, payload: 'offline', qos: 1, retain: true } })); }],
    ['tck-id-operational-behavior-host-application-connect-will-qos', (h) => { h.c(HOST, connect({ clientId: 'host1', will: { topic: STATE, payload: JSON.stringify({ online: false, timestamp: T }), qos: 0, retain: true } })); }],
    ['tck-id-operational-behavior-host-application-death-payload', (h) => { h.c(HOST, hostConnect()); h.c(HOST, publish({ topic: STATE, payload: 'bye', qos: 1, packetId: 2, retain: true })); }],
    ['tck-id-operational-behavior-host-application-death-qos', (h) => { h.c(HOST, hostConnect()); h.c(HOST, publish({ topic: STATE, payload: JSON.stringify({ online: false, timestamp: T }), qos: 0, retain: true })); }],
    ['tck-id-operational-behavior-host-application-death-retained', (h) => { h.c(HOST, hostConnect()); h.c(HOST, publish({ topic: STATE, payload: JSON.stringify({ online: false, timestamp: T }), qos: 1, packetId: 2 })); }],
    ['tck-id-payloads-dataset-parameter-type-req', birthWith({ name: 'DS', alias: 3, datatype: 16, timestamp: T, dataset_value: { num_of_columns: 1, columns: ['a'] } })],
    ['tck-id-payloads-dataset-types-num', birthWith({ name: 'DS', alias: 3, datatype: 16, timestamp: T, dataset_value: { num_of_columns: 2, columns: ['a', 'b'], types: [3] } })],
    ['tck-id-payloads-metric-datatype-value', birthWith({ name: 'Odd', alias: 3, datatype: 99, int_value: 1, timestamp: T })],
    ['tck-id-payloads-template-definition-ref', birthWith({ name: 'TD', alias: 3, datatype: 19, timestamp: T, template_value: { is_definition: true, template_ref: 'X' } })],
    ['tck-id-payloads-template-instance-ref', birthWith({ name: 'TI', alias: 3, datatype: 19, timestamp: T, template_value: { is_definition: false } })],
    ['tck-id-payloads-template-is-definition', birthWith({ name: 'T?', alias: 3, datatype: 19, timestamp: T, template_value: { version: '1' } })],
    ['tck-id-payloads-template-definition-nbirth-only', (h) => { born(h); raw(`spBv1.0/${G}/DBIRTH/${E}/Dev2`, { timestamp: T, seq: 2, metrics: [{ name: 'TD', alias: 30, datatype: 19, timestamp: T, template_value: { is_definition: true } }] })(h); }],
    ['tck-id-payloads-nbirth-seq', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(300)); }],
    ['tck-id-payloads-ndeath-bdseq', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); raw(`spBv1.0/${G}/NDEATH/${E}`, { timestamp: T, metrics: [{ name: 'bdSeq', datatype: 4, long_value: 7 }] })(h); }],
    ['tck-id-topics-dbirth-metrics', (h) => { born(h); raw(`spBv1.0/${G}/DBIRTH/${E}/Dev2`, { timestamp: T, seq: 2, metrics: [{ name: 'Untyped', alias: 40, int_value: 1, timestamp: T }] })(h); }],
    ['tck-id-topics-dbirth-metric-reqs', (h) => { born(h); h.c(EDGE, publish({ topic: `spBv1.0/${G}/DDATA/${E}/Dev1`, payload: spRaw({ timestamp: T, seq: 2, metrics: [{ alias: 55, double_value: 1, timestamp: T }] }) })); }],
    ['tck-id-message-flow-edge-node-birth-publish-will-message-topic', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, pub(`spBv1.0/${G}/NBIRTH/Other`, { timestamp: T0, seq: 0, metrics: NBIRTH_METRICS })); }],
    ['tck-id-message-flow-device-birth-publish-dbirth-match-edge-node-topic', (h) => { born(h); h.c(EDGE, pub(`spBv1.0/${G}/DBIRTH/Other/Dev9`, { timestamp: T0, seq: 2, metrics: [{ name: 'X', alias: 70, type: 'Int32', value: 1, timestamp: T0 }] })); }],
    ['tck-id-operational-behavior-host-application-connect-will', (h) => { h.c(HOST, connect({ clientId: 'host1' })); h.c(HOST, subscribe({ packetId: 1, subscriptions: [{ topic: STATE, qos: 1 }] })); h.c(HOST, stateBirth()); }],
    ['tck-id-operational-behavior-data-publish-nbirth-values', birthWith({ name: 'N', alias: 3, datatype: 3, is_null: true, int_value: 4, timestamp: T })],
    ['tck-id-operational-behavior-data-publish-dbirth-values', (h) => { born(h); raw(`spBv1.0/${G}/DBIRTH/${E}/Dev2`, { timestamp: T, seq: 2, metrics: [{ name: 'N', alias: 71, datatype: 3, is_null: true, int_value: 4, timestamp: T }] })(h); }],
    ['tck-id-payloads-metric-propertyvalue-type-req', birthWith({ name: 'P', alias: 3, datatype: 3, int_value: 1, timestamp: T, properties: { keys: ['engUnit'], values: [{ string_value: 'C' }] } })],
    ['tck-id-payloads-metric-propertyvalue-type-value', birthWith({ name: 'P', alias: 3, datatype: 3, int_value: 1, timestamp: T, properties: { keys: ['odd'], values: [{ type: 17, string_value: 'C' }] } })],
    ['tck-id-payloads-propertyset-quality-value-type', birthWith({ name: 'P', alias: 3, datatype: 3, int_value: 1, timestamp: T, properties: { keys: ['Quality'], values: [{ type: 7, int_value: 192 }] } })],
    ['tck-id-payloads-propertyset-quality-value-value', birthWith({ name: 'P', alias: 3, datatype: 3, int_value: 1, timestamp: T, properties: { keys: ['Quality'], values: [{ type: 3, int_value: 100 }] } })],
    ['tck-id-payloads-dataset-types-value', birthWith({ name: 'DS', alias: 3, datatype: 16, timestamp: T, dataset_value: { num_of_columns: 1, columns: ['a'], types: [19] } })],
    ['tck-id-payloads-template-parameter-name-required', birthWith({ name: 'TD', alias: 3, datatype: 19, timestamp: T, template_value: { is_definition: true, parameters: [{ type: 3, int_value: 1 }] } })],
    ['tck-id-principles-persistence-clean-session-311', (h) => { h.c(EDGE, connect({ clientId: 'e', clean: false, will: { topic: `spBv1.0/${G}/NDEATH/${E}`, payload: will(0), qos: 1 } })); }],
    ['tck-id-principles-persistence-clean-session-50', (h) => { h.c(EDGE, connect({ level: 5, clientId: 'e', clean: true, properties: [['sessionExpiryInterval', 60]], will: { topic: `spBv1.0/${G}/NDEATH/${E}`, payload: will(0), qos: 1 } })); }],
    ['tck-id-message-flow-edge-node-ncmd-subscribe', (h) => { h.c(EDGE, edgeConnect()); h.s(EDGE, connack({})); h.c(EDGE, subscribe({ packetId: 1, subscriptions: [{ topic: `spBv1.0/${G}/NCMD/${E}/#`, qos: 0 }] })); }],
    ['tck-id-message-flow-device-dcmd-subscribe', (h) => { h.c(EDGE, edgeConnect()); h.s(EDGE, connack({})); h.c(EDGE, subscribe({ packetId: 1, subscriptions: [{ topic: `spBv1.0/${G}/DCMD/${E}/#`, qos: 0 }] })); }],
    ['tck-id-principles-birth-certificates-order', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, ddata(1)); }],
    ['tck-id-host-topic-phid-birth-message', (h) => { h.c(HOST, hostConnect()); raw(`spBv1.0/${G}/NCMD/${E}`, { timestamp: T, metrics: [] }, HOST)(h); h.c(HOST, stateBirth()); }],
    ['tck-id-message-flow-edge-node-birth-publish-connect', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); }],
    // Templates: a definition Motor (member Speed, parameter size) in the NBIRTH, instances checked against it.
    ['tck-id-topics-nbirth-templates', birthWithAll([MOTOR_DEF, { name: 'M1', alias: 4, datatype: 19, timestamp: T, template_value: { is_definition: false, template_ref: 'Missing', metrics: [] } }])],
    ['tck-id-payloads-template-instance-members', birthWithAll([MOTOR_DEF, motor({ metrics: [{ name: 'Speed', datatype: 3, int_value: 1 }, { name: 'Extra', datatype: 3, int_value: 2 }] })])],
    ['tck-id-payloads-template-instance-members-birth', (h) => { birthWithAll([MOTOR_DEF])(h); raw(`spBv1.0/${G}/DBIRTH/${E}/Dev1`, { timestamp: T, seq: 1, metrics: [motor({ alias: 50, metrics: [] })] })(h); }],
    ['tck-id-payloads-template-definition-parameters', birthWithAll([MOTOR_DEF, motor({ parameters: [{ name: 'size', type: 3, int_value: 2 }, { name: 'colour', type: 12, string_value: 'red' }] })])],
    ['tck-id-payloads-template-version', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: patchAscii(birthPayload([{ ...MOTOR_DEF, template_value: { ...MOTOR_DEF.template_value, version: 'vZZ' } }]), 'ZZ', 0xff) })); }],
    ['tck-id-payloads-template-parameter-name-type', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: patchAscii(birthPayload([{ ...MOTOR_DEF, template_value: { ...MOTOR_DEF.template_value, parameters: [{ name: 'sZZ', type: 3, int_value: 1 }] } }]), 'ZZ', 0xff) })); }],
    ['tck-id-payloads-template-parameter-value-type', (h) => {
      // A parameter whose type field (2) is a 33-bit varint.
      const prm = Uint8Array.from([...spPart('Template.Parameter', { name: 'size', int_value: 1 }), 0x10, ...WIDE]);
      const tpl = Uint8Array.from([...spPart('Template', { is_definition: true, metrics: [{ name: 'Speed', datatype: 3, int_value: 0 }] }), ...lenField(3, prm)]);
      const metric = Uint8Array.from([...spPart('Metric', { name: 'Motor', alias: 3, datatype: 19, timestamp: T }), ...lenField(18, tpl)]);
      h.c(EDGE, edgeConnect());
      h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: Uint8Array.from([...birthPayload([]), ...lenField(2, metric)]) }));
    }],
    ['tck-id-payloads-template-parameter-type-value', birthWithAll([{ ...MOTOR_DEF, template_value: { ...MOTOR_DEF.template_value, parameters: [{ name: 'size', type: 19, int_value: 1 }] } }])],
    ['tck-id-payloads-template-parameter-type-req', birthWithAll([{ ...MOTOR_DEF, template_value: { ...MOTOR_DEF.template_value, parameters: [{ name: 'size', int_value: 1 }] } }])],
    ['tck-id-payloads-template-parameter-value', birthWithAll([{ ...MOTOR_DEF, template_value: { ...MOTOR_DEF.template_value, parameters: [{ name: 'size', type: 3, extension_value: Uint8Array.of(1) }] } }])],
    ['tck-id-payloads-template-dataset-value', birthWith({ name: 'DS', alias: 3, datatype: 16, timestamp: T, dataset_value: { num_of_columns: 1, columns: ['a'], types: [3], rows: [{ elements: [{ extension_value: Uint8Array.of(1) }] }] } })],
    ['tck-id-payloads-dataset-column-size', (h) => { datasetBirth(h, [0x0a, 0x01, 0x01]); }],
    ['tck-id-payloads-dataset-types-def', (h) => { datasetBirth(h, [0x1d, 3, 0, 0, 0]); }],
    ['tck-id-payloads-dataset-types-type', (h) => { datasetBirth(h, [0x18, ...WIDE]); }],
    ['tck-id-payloads-metric-datatype-value-type', (h) => {
      const metric = Uint8Array.from([...spPart('Metric', { name: 'Wide', alias: 3, timestamp: T, int_value: 1 }), 0x20, ...WIDE]);
      h.c(EDGE, edgeConnect());
      h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: Uint8Array.from([...birthPayload([]), ...lenField(2, metric)]) }));
    }],
    ['tck-id-payloads-metric-propertyvalue-type-type', (h) => {
      const value = Uint8Array.from([...spPart('PropertyValue', { string_value: 'C' }), 0x08, ...WIDE]);
      const set = Uint8Array.from([...spPart('PropertySet', { keys: ['engUnit'] }), ...lenField(2, value)]);
      const metric = Uint8Array.from([...spPart('Metric', { name: 'P', alias: 3, datatype: 3, timestamp: T, int_value: 1 }), ...lenField(9, set)]);
      h.c(EDGE, edgeConnect());
      h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: Uint8Array.from([...birthPayload([]), ...lenField(2, metric)]) }));
    }],
    // Topics under the connection's own edge node.
    ['tck-id-topics-ndata-topic', (h) => { born(h); raw(`spBv1.0/${G}/NDATA/Other`, { timestamp: T, seq: 2, metrics: [] })(h); }],
    ['tck-id-topics-ndeath-topic', (h) => { born(h); raw(`spBv1.0/${G}/NDEATH/Other`, { timestamp: T, metrics: [{ name: 'bdSeq', datatype: 4, long_value: 0 }] })(h); }],
    ['tck-id-topics-ddata-topic', (h) => { born(h); raw(`spBv1.0/${G}/DDATA/Other/Dev1`, { timestamp: T, seq: 2, metrics: [] })(h); }],
    ['tck-id-topics-ddeath-topic', (h) => { born(h); raw(`spBv1.0/${G}/DDEATH/Other/Dev1`, { timestamp: T, seq: 2 })(h); }],
    ['tck-id-operational-behavior-data-commands-ncmd-rebirth-verb', (h) => { born(h); raw(`spBv1.0/${G}/DCMD/${E}/Dev1`, { timestamp: T, metrics: [{ name: 'Node Control/Rebirth', datatype: 11, boolean_value: true }] }, HOST)(h); }],
    ['tck-id-case-sensitivity-sparkplug-ids', (h) => { born(h); h.c(EDGE, dbirth(2, 'DEV1')); }],
    ['tck-id-case-sensitivity-sparkplug-ids', (h) => { born(h); h.c(EDGE + 20, publish({ topic: `spBv1.0/plant1/NDATA/E9`, payload: spRaw({ timestamp: T, seq: 0, metrics: [] }) })); }],
    ['tck-id-payloads-dbirth-order', (h) => { born(h); h.c(EDGE, ndata(2)); h.c(EDGE, dbirth(3, 'Dev5')); }],
    ['tck-id-operational-behavior-data-publish-nbirth-order', (h) => { born(h); h.c(EDGE, ndata(2, [{ alias: 1, float_value: 1, timestamp: T + 5 }, { alias: 1, float_value: 2, timestamp: T }])); }],
    ['tck-id-operational-behavior-data-publish-dbirth-order', (h) => { born(h); raw(`spBv1.0/${G}/DDATA/${E}/Dev1`, { timestamp: T, seq: 2, metrics: [{ alias: 10, double_value: 1, timestamp: T + 5 }, { alias: 10, double_value: 2, timestamp: T }] })(h); }],
    ['tck-id-payloads-ndeath-will-message-publisher', (h) => { h.c(EDGE, edgeConnect({ level: 5 })); h.c(EDGE, publish({ level: 5, topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: spEncode({ timestamp: T0, seq: 0, metrics: NBIRTH_METRICS }) })); h.c(EDGE, disconnect({ level: 5, reasonCode: 4 })); }],
    // Host applications: STATE under their own Host ID, births and deaths around the session.
    ['tck-id-operational-behavior-host-application-connect-birth-topic', (h) => { hostUp(h); h.c(HOST, publish({ topic: 'spBv1.0/STATE/host2', payload: JSON.stringify({ online: true, timestamp: T }), qos: 1, packetId: 3, retain: true })); }],
    ['tck-id-host-topic-phid-death-topic', (h) => { hostUp(h); h.c(HOST, stateBirth()); h.c(HOST, publish({ topic: 'spBv1.0/STATE/host2', payload: JSON.stringify({ online: false, timestamp: T }), qos: 1, packetId: 3, retain: true })); }],
    ['tck-id-operational-behavior-host-application-connect-will-topic', (h) => { h.c(HOST, connect({ clientId: 'host1', will: { topic: 'STATE/host1', payload: JSON.stringify({ online: false, timestamp: T }), qos: 1, retain: true } })); h.c(HOST, subscribe({ packetId: 1, subscriptions: [{ topic: STATE, qos: 1 }] })); h.c(HOST, stateBirth()); }],
    ['tck-id-operational-behavior-host-application-termination', (h) => { hostUp(h); h.c(HOST, stateBirth()); h.c(HOST, disconnect()); }],
    ['tck-id-operational-behavior-host-application-connect-birth', (h) => { hostUp(h); h.end(HOST); }],
    ['tck-id-message-flow-hid-sparkplug-state-message-delivered', (h) => { hostUp(h); h.c(HOST, stateBirth()); h.s(HOST, publish({ topic: STATE, payload: JSON.stringify({ online: false, timestamp: T }), qos: 1, packetId: 9, retain: true })); raw(`spBv1.0/${G}/NCMD/${E}`, { timestamp: T, metrics: [] }, HOST)(h); }],
    // An edge node waiting for its Primary Host Application host1 (it subscribes to spBv1.0/STATE/host1).
    ['tck-id-message-flow-edge-node-birth-publish-phid-wait', (h) => { primaryEdge(h); h.c(EDGE, nbirth(0)); }],
    ['tck-id-message-flow-edge-node-birth-publish-phid-wait-online', (h) => { primaryEdge(h); h.s(EDGE, hostState(false, T)); h.c(EDGE, nbirth(0)); }],
    ['tck-id-message-flow-edge-node-birth-publish-phid-wait-timestamp', (h) => { primaryEdge(h); h.s(EDGE, hostState(false, T + 10)); h.s(EDGE, hostState(true, T + 5)); h.c(EDGE, nbirth(0)); }],
    ['tck-id-message-flow-edge-node-birth-publish-phid-offline', (h) => { primaryEdge(h); h.s(EDGE, hostState(true, T)); h.c(EDGE, nbirth(0)); h.s(EDGE, hostState(false, T + 20)); h.c(EDGE, ndata(1)); }],
    ['SPARKPLUG-datatype-changed', (h) => { born(h); h.c(EDGE, ndata(2, [{ alias: 1, datatype: 10, double_value: 1, timestamp: T }])); }],
    ['SPARKPLUG-death-before-birth', (h) => { h.c(EDGE, edgeConnect()); raw(`spBv1.0/${G}/DDEATH/${E}/Dev1`, { timestamp: T, seq: 0 })(h); }],
    ['SPARKPLUG-limit', (h) => {
      const p = spRaw({ timestamp: T, seq: 0, metrics: [] });
      for (let i = 0; i <= MAX_EDGE_NODES; i++) h.s(HOST, publish({ topic: `spBv1.0/${G}/NDATA/edge${i}`, payload: p }));
    }],
  );

  describe('a capture of the subscribers\' side only (no connection of the edge node itself)', () => {
    const SUB2 = 3;
    /** A host (and a second subscriber) receiving an edge node's messages; the edge node's own connection is not captured. */
    const hosts = (h: SpHarness, ...messages: Uint8Array[]): void => {
      h.c(HOST, hostConnect());
      h.s(HOST, connack({}));
      h.c(SUB2, connect({ clientId: 'viewer', clean: true }));
      h.s(SUB2, connack({}));
      for (const m of messages) {
        h.s(HOST, m);
        h.s(SUB2, m);
      }
    };

    test('what the payload bytes show is judged once, on one subscriber\'s copies, and says it was a copy', () => {
      const h = new SpHarness();
      hosts(h, nbirth(3), ndata(4, undefined, { timestamp: undefined }), publish({ topic: `spBv1.0/${G}/NDATA/${E}`, payload: spRaw({ timestamp: T0, metrics: [] }) }));
      const f = h.findings();
      expect(f.map((v) => v.id)).toEqual(['tck-id-topics-nbirth-seq-num', 'tck-id-payloads-ndata-timestamp', 'tck-id-payloads-ndata-seq']);
      expect(f.every((v) => /judged on the copy delivered to this subscriber: the capture has no connection of Plant1\/Edge1 itself/.test(v.message))).toBe(true);
      expect(new Set(h.packets.filter((p) => p.violations.length > 0).map((p) => p.conn.id))).toEqual(new Set([HOST]));
    });

    test('not judged on copies: QoS, RETAIN, seq continuity, metrics the subscriber never saw born', () => {
      const h = new SpHarness();
      hosts(h, pub(`spBv1.0/${G}/NDATA/${E}`, { timestamp: T0, seq: 9, metrics: [{ name: 'Never born', type: 'Int32', value: 1, timestamp: T0 }] }, { qos: 1, retain: true }), ndata(20));
      expect(h.findings()).toEqual([]);
    });

    test('with the edge node\'s own connection in the capture, copies are not judged again', () => {
      const h = new SpHarness();
      edgeOnline(h);
      h.c(EDGE, nbirth(3));
      h.s(HOST, nbirth(3));
      h.s(SUB2, nbirth(3));
      expect(h.findings().map((v) => [v.id, h.packets.find((p) => p.violations.includes(v))!.conn.id])).toEqual([['tck-id-topics-nbirth-seq-num', EDGE]]);
    });
  });

  test('a run that sees only some connections (--shard K/N) does not judge bdSeq from one CONNECT to the next', () => {
    const twoConnects = (h: SpHarness): void => { h.c(EDGE, edgeConnect({ bdSeq: 0 })); h.end(EDGE); h.c(EDGE + 10, edgeConnect({ bdSeq: 5 })); };
    const whole = new SpHarness();
    twoConnects(whole);
    expect(whole.findings().map((v) => v.id)).toContain('tck-id-topics-nbirth-bdseq-increment');
    // Another shard may have held the CONNECTs with bdSeq 1 to 4.
    const shard = new SpHarness(false, true);
    twoConnects(shard);
    expect(shard.findings().map((v) => v.id)).not.toContain('tck-id-topics-nbirth-bdseq-increment');
  });

  test('conforming: Templates defined in the NBIRTH, instances with their members in births and a subset in data', () => {
    const h = new SpHarness();
    edgeOnline(h);
    h.c(EDGE, publish({ topic: `spBv1.0/${G}/NBIRTH/${E}`, payload: birthPayload([motor(), MOTOR_DEF]) }));
    raw(`spBv1.0/${G}/DBIRTH/${E}/Dev1`, { timestamp: T, seq: 1, metrics: [motor({ alias: 50, parameters: [] })] })(h);
    raw(`spBv1.0/${G}/NDATA/${E}`, { timestamp: T, seq: 2, metrics: [{ alias: 4, timestamp: T, template_value: { is_definition: false, template_ref: 'Motor', metrics: [] } }] })(h);
    expect(h.findings()).toEqual([]);
  });

  test('conforming: a host born, dead by its own STATE, then disconnecting; its own death delivered back asks for nothing', () => {
    const h = new SpHarness();
    hostUp(h);
    h.c(HOST, stateBirth());
    h.c(HOST, hostState(false, T));
    h.s(HOST, hostState(false, T));
    h.c(HOST, disconnect());
    h.end(HOST);
    expect(h.findings()).toEqual([]);
  });

  test('conforming: an edge node born after its Primary Host is online, dying at once when it goes offline; older STATEs ignored', () => {
    const h = new SpHarness();
    primaryEdge(h);
    h.s(EDGE, hostState(true, T + 10));
    h.s(EDGE, hostState(false, T + 5)); // older than the online one: ignored
    h.c(EDGE, nbirth(0));
    h.c(EDGE, dbirth(1));
    h.c(EDGE, ndata(2));
    h.s(EDGE, hostState(false, T + 20));
    h.c(EDGE, pub(`spBv1.0/${G}/NDEATH/${E}`, { timestamp: T0, metrics: [{ name: 'bdSeq', type: 'Int64', value: 0 }] }));
    h.c(EDGE, disconnect());
    expect(h.findings()).toEqual([]);
  });

  test('conforming: a device born again after its DDEATH once data flowed; several metrics with their own times', () => {
    const h = new SpHarness();
    edgeOnline(h);
    h.c(EDGE, nbirth(0));
    h.c(EDGE, dbirth(1));
    h.c(EDGE, ndata(2, [{ alias: 1, float_value: 1, timestamp: T + 5 }, { alias: 2, int_value: 4, timestamp: T }, { alias: 1, float_value: 2, timestamp: T + 6 }]));
    raw(`spBv1.0/${G}/DDEATH/${E}/Dev1`, { timestamp: T, seq: 3 })(h);
    h.c(EDGE, dbirth(4));
    expect(h.findings()).toEqual([]);
  });

  test.each(cases)('%s', (id, run) => {
    const h = new SpHarness();
    run(h);
    expect(h.ids()).toContain(id);
  });

  test('every id the catalogue calls checked has a case here that raises it, and every raised id is catalogued', () => {
    const raised = new Set<string>();
    for (const [, run] of cases) {
      const h = new SpHarness();
      run(h);
      for (const id of h.ids()) raised.add(id);
    }
    const catalogued = new Set([...SPARKPLUG_CHECKED, ...SPARKPLUG_OWN_RULES.map((r) => r.id)]);
    expect([...catalogued].filter((id) => !raised.has(id)).sort()).toEqual([]);
    expect([...raised].filter((id) => !catalogued.has(id)).sort()).toEqual([]);
  });
});

/** A birth whose one metric has a PropertySet with two keys and one value (hand-built: the encoder keeps them paired). */
function withBrokenPropertySet(): Uint8Array {
  const good = spEncode({ timestamp: T0, seq: 0, metrics: [{ name: 'M', alias: 1, type: 'Int32', value: 1, timestamp: T0, properties: { a: { type: 'Int32', value: 1 } } }] });
  const p = decodeSparkplugPayload(good, 0, good.length);
  const ps = p.metrics[0]!.properties!;
  // Insert one more key (field 1, "b") at the start of the PropertySet's contents and fix the two length prefixes.
  const extra = Uint8Array.of(0x0a, 0x01, 0x62);
  const psField = p.wire.find((f) => f.name === 'metrics')!.message!.find((f) => f.name === 'properties')!;
  const metricField = p.wire.find((f) => f.name === 'metrics')!;
  void ps;
  const out: number[] = [];
  for (let i = 0; i < good.length; i++) {
    if (i === metricField.tagEnd) { out.push(metricField.end - metricField.start + extra.length); continue; }
    if (i === psField.tagEnd) { out.push(psField.end - psField.start + extra.length); continue; }
    if (i === psField.start) out.push(...extra);
    out.push(good[i]!);
  }
  return Uint8Array.from(out);
}
