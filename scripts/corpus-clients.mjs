#!/usr/bin/env node
// MQTT.js clients for the real-traffic capture corpus (driven by scripts/make-captures.sh).
//
//   node scripts/corpus-clients.mjs SCENARIO [--host HOST] [--port PORT]
//
// Scenarios (client ids, topics and payloads are fixed so reruns give captures of the same shape):
//   unsub-v31   MQTT 3.1   (MQIsdp): SUBSCRIBE 2 filters, PUBLISH to itself (QoS 1), PINGREQ, UNSUBSCRIBE, DISCONNECT
//   unsub-v311  MQTT 3.1.1 (MQTT/4): same sequence as unsub-v31
//   v5-props    MQTT 5: two clients exercising user properties, subscription identifiers, topic aliases
//               (client -> server), message expiry, content type, payload format, response topic /
//               correlation data (request/response), session expiry, UNSUBSCRIBE with properties,
//               DISCONNECT with properties
//   will-v5     MQTT 5 client with a Will (QoS 1, will properties) that prints READY and then idles
//               until it is killed (kill -9) by the driver; exits 3 by itself after 30 s
//   midstream   four publishers (3.1.1 and 5.0) streaming 100-200 KB JSON documents full of decimal digits and
//               10-60 KB binary payloads, two subscribers receiving some of them; prints READY once all are
//               connected and subscribed, streams for --seconds S (default 8), disconnects every client. With
//               --log FILE, every packet each client sent or received is written there as one JSON line (client
//               port, direction, type, packet id, QoS, topic, payload length and SHA-256): what a capture of the
//               traffic may show, and nothing else
//   tls         MQTT over TLS to --port (8883) with --ca FILE: one connection per (TLS version, cipher suite) of
//               TLS_CONNECTIONS, each CONNECT (3.1.1 or 5.0), SUBSCRIBE, PUBLISH to itself at QoS 0/1/2, a 20 KB PUBLISH
//               (records split over TCP segments and MQTT packets over records), PINGREQ, DISCONNECT. SNI
//               broker.corpus.test, ALPN "mqtt" offered. The key log is written by Node (NODE_OPTIONS=--tls-keylog=FILE)
//   ws          MQTT over WebSocket (ws://HOST:PORT/mqtt, subprotocol "mqtt"): a 3.1.1 subscriber and a 5.0
//               publisher; QoS 0/1/2 PUBLISHes, a 300-byte payload (16-bit frame length), a 70,000-byte payload
//               (64-bit frame length, many TCP segments), PINGREQ, UNSUBSCRIBE, DISCONNECT. MQTT.js (the `ws`
//               library) masks every client frame
//   ws-deflate  the ws scenario with permessage-deflate offered and every message compressed (the `ws` library's
//               perMessageDeflate, threshold 0), to scripts/ws-deflate-bridge.mjs; `wsz` in every client id, topic and
//               payload
//   wss         the ws scenario over wss://HOST:PORT/mqtt (TLS checked against --ca FILE, SNI broker.corpus.test), with
//               `wss` in every client id, topic and payload; the key log is written by Node (NODE_OPTIONS=--tls-keylog)
//
// Every step is bounded: a step that does not finish in time makes the process exit non-zero.
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { SequentialMessageIdProvider, timeout } from './corpus-common.mjs';

const STEP_TIMEOUT_MS = 10_000;
const OVERALL_TIMEOUT_MS = 40_000;

function parseArgs(argv) {
  const out = { scenario: undefined, host: '127.0.0.1', port: 1883, seconds: 8, log: undefined, ca: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--host') out.host = argv[++i];
    else if (a === '--port') out.port = Number(argv[++i]);
    else if (a === '--seconds') out.seconds = Number(argv[++i]);
    else if (a === '--log') out.log = argv[++i];
    else if (a === '--ca') out.ca = argv[++i];
    else if (!out.scenario) out.scenario = a;
    else throw new Error(`unexpected argument: ${a}`);
  }
  if (!out.scenario) throw new Error('usage: corpus-clients.mjs SCENARIO [--host H] [--port P]');
  if (!Number.isInteger(out.port) || out.port <= 0 || out.port > 65535) throw new Error('bad --port');
  if (!(out.seconds > 0 && out.seconds <= 20)) throw new Error('bad --seconds (1-20)');
  return out;
}

const log = (...a) => console.error(`[corpus-clients]`, ...a);

function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  return timeout(promise, what, ms);
}

function brokerUrl(host, port, scheme = 'mqtt') {
  return host.includes(':') ? `${scheme}://[${host}]:${port}` : `${scheme}://${host}:${port}`;
}


async function connect(url, opts) {
  const client = mqtt.connect(url, {
    messageIdProvider: new SequentialMessageIdProvider(),
    reconnectPeriod: 0, // never reconnect: one TCP connection per client, fixed packet counts
    connectTimeout: STEP_TIMEOUT_MS,
    keepalive: 60, // no automatic PINGREQ during the few seconds a scenario runs
    ...opts,
  });
  client.on('error', (e) => log(`${opts.clientId}: error:`, e.message));
  await withTimeout(
    new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
      client.once('close', () => reject(new Error(`${opts.clientId}: connection closed before CONNACK`)));
    }),
    `${opts.clientId} CONNACK`,
  );
  client.removeAllListeners('close');
  return client;
}

const pub = (c, topic, payload, opts) =>
  withTimeout(c.publishAsync(topic, payload, opts), `${c.options.clientId} PUBLISH ${topic || '(alias)'}`);
const sub = (c, filters, opts) =>
  withTimeout(c.subscribeAsync(filters, opts), `${c.options.clientId} SUBSCRIBE`);
const unsub = (c, filters, opts) =>
  withTimeout(c.unsubscribeAsync(filters, opts), `${c.options.clientId} UNSUBSCRIBE`);
const end = (c, opts) =>
  withTimeout(new Promise((resolve) => c.end(false, opts ?? {}, () => resolve())), `${c.options.clientId} DISCONNECT`);

function checkGranted(granted, expected, who) {
  const got = granted.map((g) => g.qos);
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    throw new Error(`${who}: SUBACK granted ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
}

/** Resolves once `count` messages have arrived on `client` (collected in order). */
function collect(client, count, what) {
  const msgs = [];
  const p = new Promise((resolve) => {
    client.on('message', (topic, payload, packet) => {
      msgs.push({ topic, payload: payload.toString(), packet });
      if (msgs.length === count) resolve(msgs);
    });
  });
  return withTimeout(p, `${what}: ${count} message(s)`);
}

async function ping(client) {
  const got = new Promise((resolve) => {
    const onPacket = (p) => {
      if (p.cmd === 'pingresp') {
        client.removeListener('packetreceive', onPacket);
        resolve();
      }
    };
    client.on('packetreceive', onPacket);
  });
  client.sendPing();
  await withTimeout(got, `${client.options.clientId} PINGRESP`);
}

// ---------------------------------------------------------------------------------------------

async function unsubScenario(url, version) {
  const v31 = version === 3;
  const tag = v31 ? 'v31' : 'v311';
  const clientId = `corpus-js-${tag}`;
  const c = await connect(url, {
    clientId,
    protocolVersion: version,
    protocolId: v31 ? 'MQIsdp' : 'MQTT',
    clean: true,
  });
  const a = `corpus/${tag}/js/a`;
  const b = `corpus/${tag}/js/b`;
  const granted = await sub(c, { [a]: { qos: 1 }, [b]: { qos: 2 } });
  checkGranted(granted, [1, 2], clientId);
  const inbox = collect(c, 1, clientId);
  await pub(c, a, `hello from ${clientId}`, { qos: 1 });
  const [m] = await inbox;
  if (m.topic !== a) throw new Error(`${clientId}: got message on ${m.topic}`);
  await ping(c);
  await unsub(c, [a, b]);
  await end(c);
  log(`${clientId}: done`);
}

async function v5PropsScenario(url) {
  const subId = 'corpus-v5-sub';
  const pubId = 'corpus-v5-pub';
  const replyTopic = `corpus/v5/reply/${pubId}`;

  const s = await connect(url, {
    clientId: subId,
    protocolVersion: 5,
    clean: true,
    properties: {
      sessionExpiryInterval: 300,
      receiveMaximum: 20,
      maximumPacketSize: 1 << 20,
      topicAliasMaximum: 10,
      requestProblemInformation: true,
      userProperties: { role: 'subscriber', corpus: 'mqtt-dissect' },
    },
  });
  // Two SUBSCRIBE packets, each with a subscription identifier (and user properties on the first).
  checkGranted(
    await sub(s, { 'corpus/v5/props/#': { qos: 1 } }, {
      properties: { subscriptionIdentifier: 42, userProperties: { purpose: 'props' } },
    }),
    [1],
    subId,
  );
  checkGranted(
    await sub(s, { 'corpus/v5/alias/+': { qos: 2, nl: true, rap: true, rh: 0 } }, {
      properties: { subscriptionIdentifier: 7 },
    }),
    [2],
    subId,
  );
  // Responder: answer every request that carries a response topic, echoing the correlation data.
  s.on('message', (_topic, _payload, packet) => {
    const rt = packet.properties?.responseTopic;
    if (rt) {
      s.publish(rt, 'pong', {
        qos: 1,
        properties: {
          correlationData: packet.properties.correlationData,
          contentType: 'text/plain',
          userProperties: { answered: 'yes' },
        },
      });
    }
  });
  const subInbox = collect(s, 6, subId);

  const p = await connect(url, {
    clientId: pubId,
    protocolVersion: 5,
    clean: true,
    properties: {
      sessionExpiryInterval: 60,
      userProperties: { role: 'publisher' },
    },
  });
  checkGranted(
    await sub(p, { [replyTopic]: { qos: 1 } }, { properties: { subscriptionIdentifier: 9 } }),
    [1],
    pubId,
  );
  const pubInbox = collect(p, 1, pubId);

  // 1. Metadata-rich PUBLISH (QoS 1).
  await pub(p, 'corpus/v5/props/meta', '{"temp":21.5,"unit":"C"}', {
    qos: 1,
    properties: {
      payloadFormatIndicator: true,
      messageExpiryInterval: 3600,
      contentType: 'application/json',
      userProperties: { unit: 'C', source: 'corpus' },
    },
  });
  // 2. Request (QoS 2) with response topic + correlation data; the subscriber answers (QoS 1).
  await pub(p, 'corpus/v5/props/request', 'ping', {
    qos: 2,
    properties: {
      responseTopic: replyTopic,
      correlationData: Buffer.from('corr-0001'),
      contentType: 'text/plain',
      messageExpiryInterval: 120,
    },
  });
  const [reply] = await pubInbox;
  if (reply.packet.properties?.correlationData?.toString() !== 'corr-0001') {
    throw new Error(`${pubId}: reply without the expected correlation data`);
  }
  // 3. Topic aliases, client -> server: register alias 1 and 2 with a topic, then use them with an
  //    empty topic name.
  await pub(p, 'corpus/v5/alias/a', 'alias-1 set', { qos: 0, properties: { topicAlias: 1 } });
  await pub(p, '', 'alias-1 used', { qos: 1, properties: { topicAlias: 1 } });
  await pub(p, 'corpus/v5/alias/b', 'alias-2 set', { qos: 2, properties: { topicAlias: 2 } });
  await pub(p, '', 'alias-2 used', { qos: 1, properties: { topicAlias: 2, userProperties: { via: 'alias' } } });

  const got = await subInbox;
  const topics = got.map((m) => m.topic).sort();
  const want = [
    'corpus/v5/alias/a',
    'corpus/v5/alias/a',
    'corpus/v5/alias/b',
    'corpus/v5/alias/b',
    'corpus/v5/props/meta',
    'corpus/v5/props/request',
  ];
  if (JSON.stringify(topics) !== JSON.stringify(want)) {
    throw new Error(`${subId}: received topics ${JSON.stringify(topics)}`);
  }

  // 4. UNSUBSCRIBE (with a user property) both filters; DISCONNECTs with properties.
  await unsub(s, ['corpus/v5/props/#', 'corpus/v5/alias/+'], {
    properties: { userProperties: { reason: 'corpus done' } },
  });
  await end(p, { reasonCode: 0, properties: { reasonString: 'publisher done' } });
  await end(s, { reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
  log('v5-props: done');
}

async function willV5Scenario(url) {
  const clientId = 'corpus-will-v5';
  await connect(url, {
    clientId,
    protocolVersion: 5,
    clean: true,
    properties: { sessionExpiryInterval: 0 },
    will: {
      topic: 'corpus/will/v5',
      payload: Buffer.from(`${clientId} lost`),
      qos: 1,
      retain: false,
      properties: {
        willDelayInterval: 0,
        payloadFormatIndicator: true,
        messageExpiryInterval: 600,
        contentType: 'text/plain',
        userProperties: { kind: 'will', client: clientId },
      },
    },
  });
  // The driver waits for this line, then kills this process with SIGKILL.
  process.stdout.write('READY\n');
  await new Promise((resolve) => setTimeout(resolve, 30_000));
  throw new Error(`${clientId}: was not killed within 30 s`);
}


// ---------------------------------------------------------------------------------------------
// midstream: large JSON and binary payloads, for captures started while they flow (issue 18, defect 5)

/** Deterministic bytes (32-bit LCG) for payload `n` of `seed`: reruns send the same documents. */
function lcg(seed) {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

/** A JSON document of 100-200 KB that is mostly decimal digits (bytes 0x30-0x39 read like PUBLISH headers). */
function jsonDocument(seed, n) {
  const r = lcg(seed * 7919 + n);
  const size = 100_000 + (r() % 100_000);
  const parts = [`{"doc":${n},"ts":${1733220000000 + n * 250},"readings":[`];
  let len = parts[0].length;
  while (len < size) {
    const v = `[${r() % 100000},${(r() % 1000000) / 1000},${r() % 10}],`;
    parts.push(v);
    len += v.length;
  }
  parts.push('[0,0,0]]}');
  return Buffer.from(parts.join(''));
}

function binaryPayload(seed, n) {
  const r = lcg(seed * 104729 + n);
  const b = Buffer.alloc(10_000 + (r() % 50_000));
  for (let i = 0; i < b.length; i++) b[i] = r() >>> 24;
  return b;
}

async function midstreamScenario(url, seconds, logFile) {
  const fs = await import('node:fs');
  const { createHash } = await import('node:crypto');
  const out = logFile ? fs.openSync(logFile, 'w') : null;
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  const record = (c, dir, p) => {
    if (out === null) return;
    const line = {
      client: c.options.clientId,
      port: c.stream?.localPort ?? null,
      dir,
      type: p.cmd,
      // MQTT.js gives a QoS 0 PUBLISH the id 0, which is not on the wire.
      id: p.cmd === 'publish' && !p.qos ? null : p.messageId ?? null,
      qos: p.qos ?? null,
      topic: p.cmd === 'publish' ? p.topic : null,
      len: p.cmd === 'publish' ? Buffer.byteLength(p.payload ?? '') : null,
      sha256: p.cmd === 'publish' ? sha(Buffer.from(p.payload ?? '')) : null,
    };
    fs.writeSync(out, `${JSON.stringify(line)}\n`);
  };
  const open = async (clientId, protocolVersion) => {
    const c = await connect(url, { clientId, protocolVersion, clean: true });
    // The CONNECT and CONNACK were before any capture could start; every later packet is logged.
    c.on('packetsend', (p) => record(c, 'c2s', p));
    c.on('packetreceive', (p) => record(c, 's2c', p));
    return c;
  };
  const subs = [await open('corpus-mid-sub-v311', 4), await open('corpus-mid-sub-v5', 5)];
  await sub(subs[0], 'corpus/mid/json/v311', { qos: 1 });
  await sub(subs[1], 'corpus/mid/bin/v5', { qos: 2 });
  const pubs = [
    { c: await open('corpus-mid-json-v311', 4), topic: 'corpus/mid/json/v311', make: jsonDocument, seed: 1, qos: [0, 1] },
    { c: await open('corpus-mid-json-v5', 5), topic: 'corpus/mid/json/v5', make: jsonDocument, seed: 2, qos: [1, 0] },
    { c: await open('corpus-mid-bin-v311', 4), topic: 'corpus/mid/bin/v311', make: binaryPayload, seed: 3, qos: [1, 2] },
    { c: await open('corpus-mid-bin-v5', 5), topic: 'corpus/mid/bin/v5', make: binaryPayload, seed: 4, qos: [2, 0] },
  ];
  process.stdout.write('READY\n');
  // Each publisher sends a document every 500 ms, waiting for its QoS flow to finish: bounded by count and time.
  const count = Math.ceil(seconds * 2);
  await Promise.all(pubs.map(async (p, k) => {
    await new Promise((resolve) => setTimeout(resolve, 120 * k));
    for (let n = 0; n < count; n++) {
      const started = Date.now();
      await pub(p.c, p.topic, p.make(p.seed, n), { qos: p.qos[n % 2] });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 500 - (Date.now() - started))));
    }
  }));
  // Let the subscribers' last deliveries (and their acks) finish before everyone disconnects.
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const c of [...pubs.map((p) => p.c), ...subs]) await end(c);
  if (out !== null) fs.closeSync(out);
}

/**
 * MQTT over WebSocket: what the plain scenarios do, framed by WebSocket (payload sizes chosen for each length form).
 * `tag` names the client ids, topics and payloads (`ws`, or `wss` for the same scenario inside TLS); `extra` are the
 * connection options (the CA and SNI for wss).
 */
async function wsScenario(url, tag = 'ws', extra = {}) {
  const subscriber = await connect(url, { clientId: `corpus-${tag}-sub`, protocolVersion: 4, clean: true, ...extra });
  const granted = await sub(subscriber, { [`corpus/${tag}/#`]: { qos: 2 } });
  checkGranted(granted, [2], `corpus-${tag}-sub`);
  const publisher = await connect(url, { clientId: `corpus-${tag}-pub`, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 }, ...extra });
  const medium = 'm'.repeat(300);
  // Deterministic bytes, so reruns carry the same payload.
  const large = Buffer.alloc(70_000);
  for (let i = 0, x = 0x1234567; i < large.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    large[i] = x >>> 24;
  }
  const got = collect(subscriber, 5, `corpus-${tag}-sub`);
  await pub(publisher, `corpus/${tag}/q0`, `${tag} payload at QoS 0`, { qos: 0 });
  await pub(publisher, `corpus/${tag}/q1`, `${tag} payload at QoS 1`, { qos: 1 });
  await pub(publisher, `corpus/${tag}/q2`, `${tag} payload at QoS 2`, { qos: 2 });
  await pub(publisher, `corpus/${tag}/medium`, medium, { qos: 1 });
  await pub(publisher, `corpus/${tag}/large`, large, { qos: 1 });
  const msgs = await got;
  const large2 = msgs.find((m) => m.topic === `corpus/${tag}/large`);
  if (large2 === undefined || Buffer.compare(large2.packet.payload, large) !== 0) throw new Error(`corpus-${tag}-sub: the 70,000-byte payload did not arrive intact`);
  await ping(subscriber);
  await unsub(subscriber, [`corpus/${tag}/#`]);
  await end(subscriber);
  await end(publisher);
}

/** MQTT over WebSocket inside TLS (wss://): the ws scenario, TLS checked against --ca with SNI broker.corpus.test. */
function wssScenario(host, port, caFile) {
  if (!caFile) throw new Error('wss: --ca FILE is needed');
  const ca = readFileSync(caFile);
  // MQTT.js hands these to the `ws` library, which opens the TLS connection with Node's tls (so --tls-keylog logs it).
  const tls = { wsOptions: { ca, servername: 'broker.corpus.test', rejectUnauthorized: true } };
  return wsScenario(`${brokerUrl(host, port, 'wss')}/mqtt`, 'wss', tls);
}

// ---------------------------------------------------------------------------------------------

const args = (() => {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (e) {
    log(e.message);
    process.exit(2);
  }
})();

/** TLS versions and suites MQTT.js negotiates with mosquitto, one connection each (with the MQTT version used). */
const TLS_CONNECTIONS = [
  { id: 'corpus-tls13-aes128gcm', v: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256', level: 4 },
  { id: 'corpus-tls13-aes256gcm', v: 'TLSv1.3', ciphers: 'TLS_AES_256_GCM_SHA384', level: 5 },
  { id: 'corpus-tls13-chacha', v: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256', level: 5 },
  { id: 'corpus-tls13-aes128ccm', v: 'TLSv1.3', ciphers: 'TLS_AES_128_CCM_SHA256', level: 4 },
  { id: 'corpus-tls12-aes128gcm', v: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', level: 4 },
  { id: 'corpus-tls12-aes256gcm', v: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', level: 5 },
  { id: 'corpus-tls12-chacha', v: 'TLSv1.2', ciphers: 'ECDHE-RSA-CHACHA20-POLY1305', level: 4 },
];

async function tlsScenario(host, port, caFile) {
  if (!caFile) throw new Error('tls: --ca FILE is needed');
  const ca = readFileSync(caFile);
  const blob = Buffer.alloc(20_000);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 31 + 7) & 0xff;
  for (const c of TLS_CONNECTIONS) {
    const url = host.includes(':') ? `mqtts://[${host}]:${port}` : `mqtts://${host}:${port}`;
    const client = await connect(url, {
      clientId: c.id, protocolVersion: c.level, clean: true, ca, servername: 'broker.corpus.test', rejectUnauthorized: true,
      ALPNProtocols: ['mqtt'], minVersion: c.v, maxVersion: c.v, ciphers: c.ciphers,
    });
    const topic = `corpus/tls/${c.id}`;
    const got = collect(client, 4, `${c.id} self messages`);
    checkGranted(await sub(client, { [topic]: { qos: 2 } }), [2], c.id);
    await pub(client, topic, `${c.id} qos0`, { qos: 0 });
    await pub(client, topic, `${c.id} qos1`, { qos: 1 });
    await pub(client, topic, `${c.id} qos2`, { qos: 2 });
    await pub(client, topic, blob, { qos: 1 });
    await got;
    await ping(client);
    await end(client);
  }
}

const overall = setTimeout(() => {
  log(`${args.scenario}: overall timeout (${OVERALL_TIMEOUT_MS} ms)`);
  process.exit(4);
}, OVERALL_TIMEOUT_MS);

const url = brokerUrl(args.host, args.port);
const scenarios = {
  'unsub-v31': () => unsubScenario(url, 3),
  'unsub-v311': () => unsubScenario(url, 4),
  'v5-props': () => v5PropsScenario(url),
  'will-v5': () => willV5Scenario(url),
  midstream: () => midstreamScenario(url, args.seconds, args.log),
  tls: () => tlsScenario(args.host, args.port, args.ca),
  ws: () => wsScenario(`${brokerUrl(args.host, args.port, 'ws')}/mqtt`),
  'ws-deflate': () => wsScenario(`${brokerUrl(args.host, args.port, 'ws')}/mqtt`, 'wsz', { wsOptions: { perMessageDeflate: { threshold: 0 } } }),
  wss: () => wssScenario(args.host, args.port, args.ca),
};
const run = scenarios[args.scenario];
if (!run) {
  log(`unknown scenario ${args.scenario}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
run().then(
  () => {
    clearTimeout(overall);
    process.exit(0);
  },
  (e) => {
    log(`${args.scenario}: FAILED: ${e.message}`);
    process.exit(1);
  },
);
