#!/usr/bin/env node
// Sparkplug B clients for the real-traffic capture corpus (captures/real-sparkplug.pcap, driven by
// scripts/make-captures.sh, GitHub issue 17).
//
//   node scripts/corpus-sparkplug.mjs host --log FILE [--host HOST] [--port PORT]
//   node scripts/corpus-sparkplug.mjs edge --log FILE [--host HOST] [--port PORT]
//
//   host  A Sparkplug 3.0 primary host application `corpus-sp-host` (MQTT.js, MQTT 5.0): CONNECT with the Will
//         spBv1.0/STATE/corpus-sp-host {"online":false,"timestamp":T} (QoS 1, retained), one SUBSCRIBE of
//         spBv1.0/CorpusGroup/# and its own spBv1.0/STATE/corpus-sp-host (QoS 1), then the STATE birth
//         {"online":true,"timestamp":T} (QoS 1, retained, T the Will's timestamp); prints READY. It follows the edge
//         node: after its births and first data it sends an NCMD `Node Control/Rebirth` = true, after the rebirth a
//         DCMD writing `Outputs/LED` = true (by name) to Dev1; it checks every message (seq continuity modulo 256,
//         seq 0 in NBIRTH, DATA metrics by alias only, the answer to its DCMD, the DDEATH, the burst) and prints
//         ALL-RECEIVED; then it waits for the edge node's NDEATH (its Will, published by the broker once the driver
//         has killed the edge node), checks its bdSeq against the NBIRTH's, publishes the STATE death
//         {"online":false,"timestamp":now} (QoS 1, retained), waits for its echo and sends DISCONNECT (reason 0:
//         the broker does not publish its Will).
//   edge  Eclipse Tahu's JavaScript edge node client (`sparkplug-client` 3.2.4, which brings its own MQTT.js 4.3.8,
//         MQTT 3.1.1): group CorpusGroup, edge node Edge1, client id `corpus-sp-edge1`. NBIRTH, DBIRTH Dev1 and Dev2,
//         a few NDATA/DDATA by alias; on the NCMD rebirth a new NBIRTH and the DBIRTHs; on the DCMD the DDATA of the
//         written metric; DDEATH Dev2; BURST more NDATA/DDATA (seq wraps past 255); prints DONE and waits to be killed
//         with SIGKILL by the driver (so the broker publishes its NDEATH Will).
//
// --log FILE: both clients append one JSON line per Sparkplug message they published (or registered as a Will) to
// FILE, in the order they did: the client id, topic, message type, MQTT QoS and retain flag, the payload object
// exactly as it was passed to sparkplug-payload's encodePayload (Long values as decimal strings, byte arrays as
// hex) and the bytes the encoder returned, in hex. For the edge node the encoder is observed, not replaced: the
// wrapper below calls sparkplug-payload's own encodePayload and records its argument and result; sparkplug-client
// publishes exactly those bytes. STATE messages are JSON: `payload` is the object and `text` the exact UTF-8 text.
//
// Every wait is bounded; any failed check or timeout makes the process exit non-zero.
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import mqtt from 'mqtt';
import { SequentialMessageIdProvider, timeout } from './corpus-common.mjs';

const require = createRequire(import.meta.url);
// The very module instances sparkplug-client uses: sparkplug-payload 1.0.3 (its protobufjs 6 and long 4).
const spRequire = createRequire(require.resolve('sparkplug-client'));
const sparkplugPayload = spRequire('sparkplug-payload');
const spB = sparkplugPayload.get('spBv1.0');
const Long = createRequire(spRequire.resolve('sparkplug-payload'))('long');

const GROUP = 'CorpusGroup';
const EDGE = 'Edge1';
const HOST_ID = 'corpus-sp-host';
const EDGE_CLIENT_ID = 'corpus-sp-edge1';
const NS = 'spBv1.0';
const STATE_TOPIC = `${NS}/STATE/${HOST_ID}`;
const DEVICES = ['Dev1', 'Dev2'];
/** NDATA/DDATA the edge node publishes right after its first births. */
const INITIAL_DATA = 6;
/** NDATA/DDATA of the burst after the DDEATH: the seq wraps past 255 at least once. */
const BURST = 300;
/** Pause between two messages of the burst, ms. */
const BURST_GAP_MS = 3;
const STEP_TIMEOUT_MS = 10_000;
const OVERALL_TIMEOUT_MS = 45_000;

function parseArgs(argv) {
  const out = { role: undefined, host: '127.0.0.1', port: 1883, log: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--host') out.host = argv[++i];
    else if (a === '--port') out.port = Number(argv[++i]);
    else if (a === '--log') out.log = argv[++i];
    else if (!out.role) out.role = a;
    else throw new Error(`unexpected argument: ${a}`);
  }
  if (out.role !== 'host' && out.role !== 'edge') throw new Error('usage: corpus-sparkplug.mjs host|edge --log FILE [--host H] [--port P]');
  if (!out.log) throw new Error('--log FILE is required');
  if (!Number.isInteger(out.port) || out.port <= 0 || out.port > 65535) throw new Error('bad --port');
  return out;
}

const args = parseArgs(process.argv.slice(2));
const log = (...a) => console.error(`[corpus-sparkplug ${args.role}]`, ...a);

function fail(message) {
  log(`FAILED: ${message}`);
  process.exit(1);
}

function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  return timeout(promise, what, ms);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const hex = (bytes) => Buffer.from(bytes).toString('hex');

/** A payload (or anything in it) as plain JSON: Long as a decimal string, byte arrays as hex. */
function plain(v) {
  if (v === null || v === undefined) return v;
  if (Long.isLong(v)) return v.toString();
  if (v instanceof Uint8Array) return hex(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  return v;
}

/** A value sparkplug-payload's decoder returned (number, Long-like {low, high, unsigned}) as a BigInt. */
function big(v) {
  if (typeof v === 'number') return BigInt(v);
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) return BigInt(Long.fromBits(v.low, v.high, v.unsigned).toString());
  throw new Error(`not an integer: ${JSON.stringify(v)}`);
}

function record(line) {
  appendFileSync(args.log, `${JSON.stringify(line)}\n`);
}

const topicOf = (type, device) => `${NS}/${GROUP}/${type}/${EDGE}${device ? `/${device}` : ''}`;

// =============================================================================================
// Edge node: sparkplug-client
// =============================================================================================

/** The edge node's metrics: name, alias (unique across the edge node), type, first value, properties. */
const NODE_METRICS = [
  // Sparkplug 3.0 (tck-id-operational-behavior-data-commands-rebirth-name-aliases): no alias for the rebirth metric.
  { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
  { name: 'Node Info/Restarts', alias: 1, type: 'Int32', value: 42 },
  { name: 'Node Info/Counter64', alias: 2, type: 'Int64', value: Long.fromString('9007199254740993') },
  { name: 'Node Info/Delta64', alias: 3, type: 'Int64', value: -1234567890123 },
  { name: 'Node Info/Offset', alias: 4, type: 'Int16', value: -12 },
  {
    name: 'Node Info/Temperature',
    alias: 5,
    type: 'Float',
    value: 23.7,
    properties: { engUnit: { type: 'String', value: '°C' }, engLow: { type: 'Float', value: -40 }, engHigh: { type: 'Float', value: 125 } },
  },
  { name: 'Node Info/Voltage', alias: 6, type: 'Double', value: 230.125 },
  { name: 'Node Info/Enabled', alias: 7, type: 'Boolean', value: true },
  { name: 'Node Info/Firmware', alias: 8, type: 'String', value: 'tahu-js 3.2.4 – Grüße ✓' },
  { name: 'Node Info/Boot Time', alias: 9, type: 'DateTime', value: 0 }, // set at start
  { name: 'Node Info/Packets', alias: 10, type: 'UInt32', value: 4000000000 },
];
const DEVICE_METRICS = {
  Dev1: [
    { name: 'Inputs/Pressure', alias: 101, type: 'Double', value: 1.01325, properties: { engUnit: { type: 'String', value: 'bar' } } },
    { name: 'Inputs/Level', alias: 102, type: 'Int32', value: -7 },
    { name: 'Outputs/LED', alias: 103, type: 'Boolean', value: false },
    { name: 'Outputs/Setpoint', alias: 104, type: 'Float', value: 50.5 },
    { name: 'Info/Serial', alias: 105, type: 'String', value: 'DEV1-0001' },
  ],
  Dev2: [
    { name: 'Inputs/Switch', alias: 201, type: 'Boolean', value: false },
    { name: 'Inputs/Count', alias: 202, type: 'UInt16', value: 65000 },
    { name: 'Inputs/Raw', alias: 203, type: 'Bytes', value: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) },
    { name: 'Inputs/Tilt', alias: 204, type: 'Int8', value: -128 },
    { name: 'Info/Id', alias: 205, type: 'UUID', value: 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6' },
  ],
};
const DCMD_METRIC = 'Outputs/LED';

/** A birth's metrics: name, alias, type, value, timestamp, properties (fresh objects: sparkplug-client mutates them). */
function birthMetrics(list, ts) {
  return list.map((m) => ({ ...m, timestamp: ts, ...(m.properties ? { properties: structuredClone(m.properties) } : {}) }));
}

/** A DATA metric by alias only (the type is needed by sparkplug-payload's encoder: it picks the value field). */
function byAlias(list, name, value, ts) {
  const m = list.find((x) => x.name === name);
  if (!m || m.alias === undefined) throw new Error(`no aliased metric ${name}`);
  m.value = value;
  return { alias: m.alias, type: m.type, value, timestamp: ts };
}

async function edge() {
  // Observe sparkplug-payload's encoder: sparkplug-client calls it as sparkplugbpayload.encodePayload(payload) on the
  // same module object (the Will in its constructor, every publish after that).
  const encoded = [];
  const realEncode = spB.encodePayload;
  spB.encodePayload = (payload) => {
    const snapshot = plain(payload);
    const bytes = realEncode(payload);
    encoded.push({ snapshot, hex: hex(bytes) });
    return bytes;
  };
  const sparkplugClient = spRequire('sparkplug-client');
  const client = sparkplugClient.newClient({
    serverUrl: `mqtt://${args.host}:${args.port}`,
    clientId: EDGE_CLIENT_ID,
    username: null,
    password: null,
    groupId: GROUP,
    edgeNode: EDGE,
    keepalive: 60, // sparkplug-client's default of 5 s would add PINGREQs at timing-dependent moments
    mqttOptions: { reconnectPeriod: 0 },
  });
  const will = client.mqttOptions.will;
  const willEnc = encoded.shift();
  if (!willEnc || willEnc.hex !== hex(will.payload)) fail('the Will payload is not what the encoder returned');
  record({ client: EDGE_CLIENT_ID, message_type: 'NDEATH', topic: will.topic, will: true, qos: will.qos, retain: will.retain, payload: willEnc.snapshot, hex: willEnc.hex });
  log(`Will ${will.topic} QoS ${will.qos} retain ${will.retain}: ${JSON.stringify(willEnc.snapshot)}`);

  // Every PUBLISH sparkplug-client makes goes through its MQTT.js client: pair it with the encoding it came from.
  const mq = client.client;
  const realPublish = mq.publish.bind(mq);
  mq.publish = (topic, message, opts, cb) => {
    const enc = encoded.shift();
    if (!enc || enc.hex !== hex(message)) fail(`PUBLISH ${topic}: its payload is not the last thing encoded`);
    const o = typeof opts === 'object' && opts !== null ? opts : {};
    record({
      client: EDGE_CLIENT_ID,
      message_type: topic.split('/')[2],
      topic,
      qos: o.qos ?? 0,
      retain: o.retain ?? false,
      payload: enc.snapshot,
      hex: enc.hex,
    });
    return realPublish(topic, message, opts, cb);
  };

  let done = false;
  client.on('error', (e) => fail(`error: ${e.message}`));
  client.on('close', () => {
    if (!done) fail('connection closed');
  });
  client.on('reconnect', () => fail('reconnect'));
  client.on('message', (topic) => fail(`unexpected message on ${topic}`));

  NODE_METRICS.find((m) => m.name === 'Node Info/Boot Time').value = Date.now();
  const births = () => {
    const ts = Date.now();
    client.publishNodeBirth({ timestamp: ts, metrics: birthMetrics(NODE_METRICS, ts) });
    for (const d of DEVICES) client.publishDeviceBirth(d, { timestamp: ts, metrics: birthMetrics(DEVICE_METRICS[d], ts) });
  };

  const born = new Promise((resolve) => client.once('birth', resolve));
  const rebirth = new Promise((resolve) => client.on('ncmd', resolve));
  const dcmd = new Promise((resolve) => client.on('dcmd', (device, payload) => resolve({ device, payload })));

  await withTimeout(born, 'CONNACK and the birth event');
  births();
  // A few NDATA and DDATA by alias, one of them with a null value (is_null).
  const N = NODE_METRICS;
  const D1 = DEVICE_METRICS.Dev1;
  const D2 = DEVICE_METRICS.Dev2;
  const initial = [
    (ts) => client.publishNodeData({ timestamp: ts, metrics: [byAlias(N, 'Node Info/Temperature', 24.25, ts), byAlias(N, 'Node Info/Voltage', 229.5, ts)] }),
    (ts) => client.publishDeviceData('Dev1', { timestamp: ts, metrics: [byAlias(D1, 'Inputs/Pressure', 1.2, ts), byAlias(D1, 'Inputs/Level', -3, ts)] }),
    (ts) => client.publishDeviceData('Dev2', { timestamp: ts, metrics: [byAlias(D2, 'Inputs/Switch', true, ts), byAlias(D2, 'Inputs/Count', 65001, ts)] }),
    (ts) => client.publishNodeData({ timestamp: ts, metrics: [byAlias(N, 'Node Info/Temperature', null, ts), byAlias(N, 'Node Info/Counter64', Long.fromString('9007199254740995'), ts)] }),
    (ts) => client.publishDeviceData('Dev2', { timestamp: ts, metrics: [byAlias(D2, 'Inputs/Raw', new Uint8Array([0x00, 0xff, 0x10]), ts), byAlias(D2, 'Inputs/Tilt', 17, ts)] }),
    (ts) => client.publishNodeData({ timestamp: ts, metrics: [byAlias(N, 'Node Info/Offset', -32768, ts), byAlias(N, 'Node Info/Enabled', false, ts)] }),
  ];
  if (initial.length !== INITIAL_DATA) throw new Error('INITIAL_DATA does not match the list');
  for (const p of initial) {
    await sleep(20);
    p(Date.now());
  }
  log(`births and ${INITIAL_DATA} data messages published; waiting for the rebirth request`);

  const ncmd = await withTimeout(rebirth, 'the NCMD rebirth request');
  const rb = (ncmd.metrics ?? []).find((m) => m.name === 'Node Control/Rebirth');
  if (!rb || rb.value !== true) fail(`NCMD is not a rebirth request: ${JSON.stringify(plain(ncmd))}`);
  births();
  log('rebirth published; waiting for the DCMD');

  const { device, payload } = await withTimeout(dcmd, 'the DCMD');
  const w = (payload.metrics ?? []).find((m) => m.name === DCMD_METRIC);
  if (device !== 'Dev1' || !w || typeof w.value !== 'boolean') fail(`unexpected DCMD for ${device}: ${JSON.stringify(plain(payload))}`);
  let ts = Date.now();
  client.publishDeviceData('Dev1', { timestamp: ts, metrics: [byAlias(D1, DCMD_METRIC, w.value, ts)] });
  await sleep(20);
  client.publishDeviceDeath('Dev2', { timestamp: Date.now() });
  await sleep(20);

  // The burst: every 10th an NDATA, else a Dev1 DDATA (Dev2 is dead), small payloads.
  for (let i = 0; i < BURST; i++) {
    ts = Date.now();
    if (i % 10 === 9) client.publishNodeData({ timestamp: ts, metrics: [byAlias(N, 'Node Info/Restarts', 42 + i, ts)] });
    else client.publishDeviceData('Dev1', { timestamp: ts, metrics: [byAlias(D1, 'Inputs/Level', i - 150, ts), byAlias(D1, 'Outputs/Setpoint', 50 + (i % 8) / 4, ts)] });
    await sleep(BURST_GAP_MS);
  }
  if (encoded.length !== 0) fail(`${encoded.length} encoding(s) not published`);
  done = true;
  // The driver waits for this line (and the host's ALL-RECEIVED), then kills this process with SIGKILL.
  process.stdout.write('DONE\n');
  await sleep(30_000);
  log('was not killed within 30 s');
  process.exit(3);
}

// =============================================================================================
// Primary host application: MQTT.js 5, sparkplug-payload for NCMD/DCMD
// =============================================================================================


/** Waits for the next message the predicate accepts; any other message first is a failure. */
function makeInbox(client) {
  const queue = [];
  let waiter = null;
  client.on('message', (topic, message, packet) => {
    queue.push({ topic, message, packet });
    if (waiter) waiter();
  });
  return async function next(what) {
    if (queue.length === 0) {
      await withTimeout(new Promise((resolve) => { waiter = resolve; }), what);
      waiter = null;
    }
    return queue.shift();
  };
}

async function host() {
  const ts0 = Date.now();
  const willText = JSON.stringify({ online: false, timestamp: ts0 });
  const will = { topic: STATE_TOPIC, payload: Buffer.from(willText), qos: 1, retain: true };
  record({ client: HOST_ID, message_type: 'STATE', topic: STATE_TOPIC, will: true, qos: 1, retain: true, payload: JSON.parse(willText), text: willText });
  const client = mqtt.connect(`mqtt://${args.host}:${args.port}`, {
    clientId: HOST_ID,
    protocolVersion: 5,
    clean: true,
    properties: { sessionExpiryInterval: 0 },
    keepalive: 60,
    reconnectPeriod: 0,
    connectTimeout: STEP_TIMEOUT_MS,
    messageIdProvider: new SequentialMessageIdProvider(),
    will,
  });
  client.on('error', (e) => fail(`error: ${e.message}`));
  let closing = false;
  client.on('close', () => {
    if (!closing) fail('connection closed');
  });
  const next = makeInbox(client);
  await withTimeout(new Promise((resolve) => client.once('connect', resolve)), 'CONNACK');

  // Sparkplug 3.0: subscribe to the namespace and to its own STATE first, then publish the STATE birth with the
  // Will's timestamp.
  const granted = await withTimeout(
    client.subscribeAsync({ [`${NS}/${GROUP}/#`]: { qos: 1 }, [STATE_TOPIC]: { qos: 1 } }),
    'SUBACK',
  );
  if (granted.length !== 2 || granted.some((g) => g.qos !== 1)) fail(`SUBACK: ${JSON.stringify(granted)}`);

  const publishState = async (online, timestamp) => {
    const text = JSON.stringify({ online, timestamp });
    record({ client: HOST_ID, message_type: 'STATE', topic: STATE_TOPIC, qos: 1, retain: true, payload: { online, timestamp }, text });
    await withTimeout(client.publishAsync(STATE_TOPIC, text, { qos: 1, retain: true }), `PUBLISH STATE online=${online}`);
    const echo = await next(`the echo of STATE online=${online}`);
    if (echo.topic !== STATE_TOPIC || echo.message.toString() !== text) fail(`expected the echo of STATE, got ${echo.topic}`);
  };
  await publishState(true, ts0);
  process.stdout.write('READY\n');

  const publishCmd = async (type, device, payload) => {
    const topic = topicOf(type, device);
    const snapshot = plain(payload);
    const bytes = spB.encodePayload(payload);
    record({ client: HOST_ID, message_type: type, topic, qos: 0, retain: false, payload: snapshot, hex: hex(bytes) });
    await withTimeout(client.publishAsync(topic, Buffer.from(bytes), { qos: 0, retain: false }), `PUBLISH ${type}`);
    const echo = await next(`the echo of ${type}`);
    if (echo.topic !== topic || hex(echo.message) !== hex(bytes)) fail(`expected the echo of ${type}, got ${echo.topic}`);
  };

  // Follows the edge node's session: seq continuity, births, aliases.
  let seq = -1;
  let bdSeq = null;
  const aliases = new Map(); // alias -> { name, type }
  const counts = {};
  /** Checks message `m`, which must be a `type` message (of `device`). */
  function check(m, type, device, what) {
    const want = topicOf(type, device);
    if (m.topic !== want) fail(`${what}: expected ${want}, got ${m.topic}`);
    if (m.packet.retain) fail(`${m.topic}: retained`);
    if (m.packet.qos !== 0) fail(`${m.topic}: QoS ${m.packet.qos}`);
    const p = spB.decodePayload(m.message);
    counts[type] = (counts[type] ?? 0) + 1;
    if (type === 'NDEATH') {
      if (p.seq !== undefined) fail('NDEATH carries a seq');
      return p;
    }
    const s = Number(big(p.seq));
    if (type === 'NBIRTH') {
      // A new sequence starts here (Sparkplug 3.0: 0, tck-id-topics-nbirth-seq-num); logged, not assumed.
      if (!(s >= 0 && s <= 255)) fail(`NBIRTH seq ${s}`);
      log(`NBIRTH seq ${s}`);
    } else if (s !== (seq + 1) % 256) fail(`${m.topic}: seq ${s} after ${seq}`);
    seq = s;
    if (type === 'NBIRTH' || type === 'DBIRTH') {
      for (const x of p.metrics ?? []) {
        if (x.name === undefined) fail(`${m.topic}: a metric without a name`);
        if (x.alias === undefined) continue;
        const n = Number(big(x.alias));
        const known = aliases.get(n);
        if (known && known.name !== x.name) fail(`alias ${n} is ${known.name} and ${x.name}`);
        aliases.set(n, { name: x.name, type: x.type });
      }
      if (type === 'NBIRTH') {
        const b = p.metrics.find((x) => x.name === 'bdSeq');
        const r = p.metrics.find((x) => x.name === 'Node Control/Rebirth');
        if (!b) fail('NBIRTH without bdSeq');
        if (!r || r.value !== false || r.type !== 'Boolean') fail('NBIRTH without Node Control/Rebirth = false');
        const v = big(b.value);
        if (bdSeq !== null && v !== bdSeq) fail(`rebirth NBIRTH bdSeq ${v}, first ${bdSeq}`);
        bdSeq = v;
      }
    } else if (type === 'NDATA' || type === 'DDATA') {
      for (const x of p.metrics ?? []) {
        if (x.name !== undefined) fail(`${m.topic}: metric by name ${x.name}`);
        if (x.alias === undefined || !aliases.has(Number(big(x.alias)))) fail(`${m.topic}: unknown alias ${JSON.stringify(x.alias)}`);
      }
    }
    return p;
  }
  const expect = async (type, device, what) => check(await next(what), type, device, what);
  const expectData = async (n, what) => {
    for (let i = 0; i < n; i++) {
      const m = await next(what);
      const [, , type, , device] = m.topic.split('/');
      if (type !== 'NDATA' && type !== 'DDATA') fail(`${what}: got ${m.topic}`);
      check(m, type, device, what);
    }
  };

  // 1. The first births and data.
  await expect('NBIRTH', undefined, 'the NBIRTH');
  await expect('DBIRTH', 'Dev1', 'the DBIRTH of Dev1');
  await expect('DBIRTH', 'Dev2', 'the DBIRTH of Dev2');
  await expectData(INITIAL_DATA, 'the first NDATA/DDATA');
  // 2. A rebirth request; the edge node answers with NBIRTH and DBIRTHs.
  await publishCmd('NCMD', undefined, { timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] });
  await expect('NBIRTH', undefined, 'the rebirth NBIRTH');
  await expect('DBIRTH', 'Dev1', 'the rebirth DBIRTH of Dev1');
  await expect('DBIRTH', 'Dev2', 'the rebirth DBIRTH of Dev2');
  // 3. A write to Dev1, by name; the edge node answers with the DDATA of the metric (by alias).
  await publishCmd('DCMD', 'Dev1', { timestamp: Date.now(), metrics: [{ name: DCMD_METRIC, type: 'Boolean', value: true }] });
  const answer = await expect('DDATA', 'Dev1', 'the DDATA answering the DCMD');
  const a = answer.metrics?.[0];
  if (answer.metrics?.length !== 1 || aliases.get(Number(big(a.alias)))?.name !== DCMD_METRIC || a.value !== true) {
    fail(`the DCMD answer: ${JSON.stringify(answer)}`);
  }
  await expect('DDEATH', 'Dev2', 'the DDEATH of Dev2');
  await expectData(BURST, 'the burst');
  log(`received ${JSON.stringify(counts)}, last seq ${seq}`);
  process.stdout.write('ALL-RECEIVED\n');
  // 4. The driver kills the edge node: the broker publishes its NDEATH Will.
  const death = await expect('NDEATH', undefined, 'the NDEATH');
  const b = death.metrics?.find((x) => x.name === 'bdSeq');
  if (!b || big(b.value) !== bdSeq) fail(`NDEATH bdSeq ${b && big(b.value)}, NBIRTH's ${bdSeq}`);
  // 5. The STATE death (Sparkplug 3.0: published before a clean DISCONNECT, timestamp = now), then DISCONNECT.
  await publishState(false, Date.now());
  closing = true;
  await withTimeout(client.endAsync(false, { reasonCode: 0 }), 'DISCONNECT');
  log('done');
}

const overall = setTimeout(() => {
  log(`overall timeout (${OVERALL_TIMEOUT_MS} ms)`);
  process.exit(4);
}, OVERALL_TIMEOUT_MS);
(args.role === 'edge' ? edge() : host()).then(
  () => {
    clearTimeout(overall);
    process.exit(0);
  },
  (e) => fail(e.stack ?? e.message),
);
