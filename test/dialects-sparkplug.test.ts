import { describe, expect, test } from 'vitest';
import { decodeSparkplugPayload, metricValue } from '../src/dialects/sparkplug/payload.js';
import { parseSparkplugTopic } from '../src/dialects/sparkplug/topic.js';
import type { PublishPacket } from '../src/mqtt/packets.js';
import type { FieldNode } from '../src/mqtt/types.js';
import { keyFields } from '../src/render/fields.js';
import { connect, disconnect, publish, subscribe } from './builders/mqtt-bytes.js';
import { SpHarness, spEncode, spRaw, spReferenceDecode, type SpMetricIn, type SpPayloadIn } from './builders/sparkplug.js';

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

/** A clean Sparkplug session: a host comes online, an edge node is born with a device and sends data. */
function cleanSession(h: SpHarness): void {
  h.c(HOST, hostConnect());
  h.c(HOST, subscribe({ packetId: 1, subscriptions: [{ topic: STATE, qos: 1 }, { topic: 'spBv1.0/#', qos: 0 }] }));
  h.c(HOST, stateBirth());
  h.c(EDGE, edgeConnect());
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
    ['SPARKPLUG-unknown-metric', (h) => { h.c(EDGE, edgeConnect()); h.c(EDGE, nbirth(0)); h.c(EDGE, ndata(1, [{ alias: 77, float_value: 3, timestamp: T0 }])); }],
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
  test.each(cases)('%s', (id, run) => {
    const h = new SpHarness();
    run(h);
    expect(h.ids()).toContain(id);
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
