/**
 * The OneNET dialect for one connection: what the platform means by the CONNECT fields, its connection constraints,
 * "$dp" data points, "$creq"/"$crsp" commands, and the OneNET Studio "$sys/{product}/{device}/..." topics. Requests
 * and their replies are linked by id per connection, in bounded maps. Findings are dialect warnings (spec "OneNET"),
 * never MQTT violations. See docs/onenet.md.
 */
import type { PacketRecord } from '../mqtt/connection-decoder.js';
import type { ConnectPacket, PublishPacket, SubscribePacket } from '../mqtt/packets.js';
import type { FieldNode } from '../mqtt/types.js';
import { displayBytes } from '../mqtt/utf8.js';
import type { Connection } from '../tcp/types.js';
import { parseJsonBytes, type JsonDoc, type JsonNode } from './json-scan.js';
import { decodeDp, MAX_DATAPOINTS, MAX_DP_NODES, type Datapoint } from './onenet-dp.js';
import {
  addChild, clip, dialectWarning, partition, payloadNode, quote, readUint, showValue, type PartItem,
} from './nodes.js';

/** The multi-protocol access port ("the OneNET port" of the walkthroughs). */
export const ONENET_PORT = 6002;
/** Pending requests remembered per connection and map; the oldest is forgotten first. */
export const MAX_PENDING = 1024;
/** Keep alive range the platform accepts, in seconds. */
export const KEEPALIVE_MIN = 120;
export const KEEPALIVE_MAX = 65535;
/** Keys of fields.onenet that hold secrets: --redact masks them (the password's authentication info). */
export const ONENET_SECRET_KEYS: readonly string[] = ['authInfo'];
/** Largest Studio JSON payload decoded into data points. */
export const STUDIO_JSON_MAX_BYTES = 1024 * 1024;

export const CONNECT_NOTES: readonly string[] = [
  'client identifier = device ID (OneNET Studio: device name)',
  'user name = product ID',
  'password = authentication info (multi-protocol: the device authentication info or an API key; Studio: a signed token)',
  'the platform accepts MQTT 3.1.1 only (protocol level 4)',
  'user name and password are required',
  `keep alive must be ${KEEPALIVE_MIN} to ${KEEPALIVE_MAX} s`,
];

export type OneNetTopic =
  | { kind: 'dp' }
  | { kind: 'creq' | 'crsp'; uuid: string }
  | { kind: 'sys'; productId: string; deviceId: string; path: string[] };

const SYS_TOPIC = /^\$sys\/([^/]+)\/([^/]+)\/(.+)$/;

/** What a Topic Name means on OneNET, or null for an ordinary topic. */
export function oneNetTopic(topic: string): OneNetTopic | null {
  // Every OneNET topic starts with '$': ordinary topics are turned away before the prefix tests and the regex.
  if (topic.charCodeAt(0) !== 0x24) return null;
  if (topic === '$dp') return { kind: 'dp' };
  if (topic.startsWith('$creq/') || topic.startsWith('$crsp/')) {
    // Some SDKs put a name level before the uuid; the uuid is always the last level.
    const uuid = topic.slice(topic.lastIndexOf('/') + 1);
    if (uuid.length === 0) return null;
    return { kind: topic.startsWith('$creq/') ? 'creq' : 'crsp', uuid };
  }
  const m = SYS_TOPIC.exec(topic);
  if (m) return { kind: 'sys', productId: m[1]!, deviceId: m[2]!, path: m[3]!.split('/') };
  return null;
}

/** A Topic Filter in a SUBSCRIBE that only a OneNET client would use. */
export function oneNetFilter(filter: string): boolean {
  return filter === '$dp' || filter.startsWith('$creq/') || filter.startsWith('$crsp/') || SYS_TOPIC.test(filter);
}

interface Pending {
  frame: number;
  timeSec: number;
  timeNsec: number;
  answered: boolean;
}

export interface PublishOutcome {
  /** A dialect node covering the whole payload, under which a generic JSON view may go. */
  container: FieldNode | null;
  /** The dialect already shows the payload's JSON (or it is not JSON by construction). */
  jsonShown: boolean;
}

/** The outcome for a PUBLISH the dialect has nothing to say about (shared: outcomes are only read). */
export const NOTHING: PublishOutcome = Object.freeze({ container: null, jsonShown: false });

export class OneNetConnection {
  active: boolean;
  private clientId: string | null = null;
  private username: string | null = null;
  // Made on first use: most connections never send a command or a post, and an empty Map costs about 180 bytes.
  private commandMap: Map<string, Pending> | null = null;
  private postMap: Map<string, Pending> | null = null;

  private get commands(): Map<string, Pending> {
    return (this.commandMap ??= new Map());
  }

  private get posts(): Map<string, Pending> {
    return (this.postMap ??= new Map());
  }

  constructor(readonly conn: Connection, mode: 'auto' | 'onenet') {
    this.active = mode === 'onenet' || conn.serverPort === ONENET_PORT;
  }

  // ---- CONNECT -------------------------------------------------------------------------------

  connect(rec: PacketRecord, p: ConnectPacket, tree: boolean): void {
    this.clientId = p.clientId ?? null;
    this.username = p.username ?? null;
    if (!this.active) return;
    const info: Record<string, unknown> = {};
    if (this.clientId !== null) info['deviceId'] = this.clientId;
    if (this.username !== null) info['productId'] = this.username;
    // The credential as the password shows it: text or hex, never cut.
    if (p.password !== undefined) info['authInfo'] = displayBytes(rec.bytes, p.password.start, p.password.end, -1);
    info['platformNotes'] = [...CONNECT_NOTES];
    p.onenet = info;

    const at = connectOffsets(rec);
    const level = p.protocolLevel;
    if (level !== undefined && level !== 4) {
      const name = level === 3 ? 'MQTT 3.1' : level === 5 ? 'MQTT 5.0' : `level ${level}`;
      rec.violations.push(dialectWarning('ONENET-protocol-version', `OneNET accepts MQTT 3.1.1 (protocol level 4) only; this CONNECT uses ${name}`, at?.level, 1));
    }
    const missing: string[] = [];
    if (p.usernameFlag === false) missing.push('user name (product ID)');
    if (p.passwordFlag === false) missing.push('password (authentication info)');
    if (missing.length > 0) {
      rec.violations.push(dialectWarning('ONENET-credentials', `OneNET requires a user name and a password; this CONNECT has no ${missing.join(' and no ')}`, at?.flags, 1));
    }
    const ka = p.keepAlive;
    if (ka !== undefined && (ka < KEEPALIVE_MIN || ka > KEEPALIVE_MAX)) {
      const shown = ka === 0 ? '0 (off)' : `${ka} s`;
      rec.violations.push(dialectWarning('ONENET-keepalive-range', `keep alive ${shown} is outside the ${KEEPALIVE_MIN} to ${KEEPALIVE_MAX} s OneNET accepts`, at?.keepAlive, 2));
    }

    if (!tree) return;
    const payload = rec.decoded.tree?.children?.find((c) => c.key === 'payload');
    if (!payload) return;
    for (const n of payload.children ?? []) {
      const end = n.offset + n.length;
      if (n.key === 'clientId' && this.clientId !== null) {
        addChild(n, { key: 'deviceId', label: 'OneNET device ID', offset: end, length: 0, value: quote(this.clientId), explain: 'the client identifier names the device' });
      } else if (n.key === 'username' && this.username !== null) {
        addChild(n, { key: 'productId', label: 'OneNET product ID', offset: end, length: 0, value: quote(this.username), explain: 'the user name names the product' });
      } else if (n.key === 'password') {
        addChild(n, { key: 'authInfo', label: 'OneNET authentication info', offset: end, length: 0, explain: 'the password carries the device credential: authentication info, API key or token' });
      }
    }
  }

  // ---- SUBSCRIBE (detection only) ---------------------------------------------------------------

  /** True when a filter switched the dialect on. */
  subscribe(p: SubscribePacket): boolean {
    if (this.active) return false;
    const subs = p.subscriptions;
    if (subs === undefined) return false;
    for (const s of subs) {
      if (oneNetFilter(s.topic)) {
        this.active = true;
        return true;
      }
    }
    return false;
  }

  // ---- PUBLISH -------------------------------------------------------------------------------

  publish(rec: PacketRecord, f: PublishPacket, topic: string, start: number, end: number, tree: boolean): PublishOutcome {
    const t = oneNetTopic(topic);
    if (!t) return NOTHING;
    this.active = true;
    const pn = tree ? payloadNode(rec, start) : null;
    switch (t.kind) {
      case 'dp': {
        const r = decodeDp(rec.bytes, start, end, tree);
        f.onenet = r.info;
        rec.violations.push(...r.warnings);
        if (pn) {
          pn.label = 'payload (OneNET $dp data points)';
          if (r.nodes.length > 0) pn.children = r.nodes;
        }
        return { container: null, jsonShown: true };
      }
      case 'creq':
        if (rec.dir === 'c2s') this.direction(rec, topic, 'the platform sends command requests; a device answers on $crsp/<uuid>');
        else implicitSubscription(rec);
        f.onenet = this.request(rec, `creq:${t.uuid}`, { kind: 'command', command: 'request', uuid: t.uuid });
        return this.container(pn, start, end, 'command', 'OneNET command request', `command ${t.uuid}; the device answers on $crsp/${t.uuid}`);
      case 'crsp':
        return this.response(rec, f, pn, start, end, `creq:${t.uuid}`, { kind: 'command', command: 'response', uuid: t.uuid }, 'command');
      case 'sys':
        return this.studio(rec, f, t, pn, start, end);
    }
  }

  private studio(rec: PacketRecord, f: PublishPacket, t: { productId: string; deviceId: string; path: string[] }, pn: FieldNode | null, start: number, end: number): PublishOutcome {
    const base = { productId: t.productId, deviceId: t.deviceId };
    const p = t.path;
    if (rec.dir === 'c2s') this.identity(rec, t.productId, t.deviceId);
    const tail = p[p.length - 1];
    const isResult = tail === 'accepted' || tail === 'rejected';
    if (p.length === 3 && p[0] === 'dp' && p[1] === 'post' && p[2] === 'json') {
      return this.dpPost(rec, f, base, pn, start, end);
    }
    if (p.length === 4 && p[0] === 'dp' && p[1] === 'post' && p[2] === 'json' && isResult) {
      if (rec.dir === 'c2s') this.direction(rec, `$sys/…/dp/post/json/${tail}`, 'the platform sends upload results');
      return this.dpPostResult(rec, f, base, tail, pn, start, end);
    }
    if (p.length === 3 && p[0] === 'cmd' && p[1] === 'request' && p[2]!.length > 0) {
      if (rec.dir === 'c2s') this.direction(rec, '$sys/…/cmd/request/…', 'the platform sends command requests');
      f.onenet = this.request(rec, `cmd:${t.productId}/${t.deviceId}/${p[2]}`, { kind: 'command', command: 'request', uuid: p[2], ...base });
      return this.container(pn, start, end, 'command', 'OneNET command request', `command ${p[2]}; the device answers on $sys/${t.productId}/${t.deviceId}/cmd/response/${p[2]}`);
    }
    if (p.length === 3 && p[0] === 'cmd' && p[1] === 'response' && p[2]!.length > 0) {
      return this.response(rec, f, pn, start, end, `cmd:${t.productId}/${t.deviceId}/${p[2]}`, { kind: 'command', command: 'response', uuid: p[2], ...base }, 'command');
    }
    if (p.length === 4 && p[0] === 'cmd' && p[1] === 'response' && isResult) {
      if (rec.dir === 'c2s') this.direction(rec, `$sys/…/cmd/response/…/${tail}`, 'the platform sends command response results');
      f.onenet = { kind: 'command-result', result: tail, uuid: p[2], ...base };
      return this.container(pn, start, end, 'commandResult', `OneNET command response ${tail}`, `the platform ${tail} the response to command ${p[2]}`);
    }
    f.onenet = { kind: 'sys', ...base, path: p.join('/') };
    return NOTHING;
  }

  /** "$sys/{pid}/{dev}/dp/post/json": {"id":..,"dp":{"stream":[{"v":..,"t":..}]}}. */
  private dpPost(rec: PacketRecord, f: PublishPacket, base: Record<string, string>, pn: FieldNode | null, start: number, end: number): PublishOutcome {
    const info: Record<string, unknown> = { kind: 'dp-post', ...base };
    f.onenet = info;
    const points: Datapoint[] = [];
    let omitted = 0;
    try {
      return this.dpPostBody(rec, base, pn, start, end, info, points, () => omitted++);
    } finally {
      // Last, so the id comes first in the JSON output.
      info['datapoints'] = points;
      if (omitted > 0) info['datapointsOmitted'] = omitted;
    }
  }

  private dpPostBody(
    rec: PacketRecord, base: Record<string, string>, pn: FieldNode | null, start: number, end: number,
    info: Record<string, unknown>, points: Datapoint[], omit: () => void,
  ): PublishOutcome {
    if (pn) pn.label = 'payload (OneNET Studio data points)';
    if (end - start > STUDIO_JSON_MAX_BYTES) return NOTHING;
    if (end === start) {
      rec.violations.push(dialectWarning('ONENET-dp-json', 'data point upload with an empty payload; JSON {"id":..,"dp":{..}} is expected', start, 0));
      return NOTHING;
    }
    const r = parseJsonBytes(rec.bytes, start, end);
    if (!r.ok) {
      rec.violations.push(dialectWarning('ONENET-dp-json', `data point upload is not valid JSON: ${r.error}`, start, end - start));
      return { container: null, jsonShown: true };
    }
    const doc = r.doc;
    const root = doc.root;
    const items: PartItem[] = [];
    const shape = (n: JsonNode, message: string): void => {
      const s = start + doc.byteOffset(n.start);
      rec.violations.push(dialectWarning('ONENET-dp-shape', message, s, start + doc.byteOffset(n.end) - s));
    };
    if (root.kind !== 'object') {
      shape(root, 'data point upload must be a JSON object {"id":..,"dp":{..}}');
    } else {
      const idNode = member(root, 'id');
      if (idNode) {
        const id = doc.valueOf(idNode);
        info['id'] = id;
        this.remember(this.posts, postKey(base, id), rec);
      } else {
        shape(root, 'data point upload has no "id"');
      }
      const dp = member(root, 'dp');
      if (!dp || dp.kind !== 'object') {
        shape(dp ?? root, 'data point upload needs a "dp" object of data streams');
      } else {
        for (const m of dp.members ?? []) {
          if (m.value.kind !== 'array') {
            shape(m.value, `data stream ${JSON.stringify(m.key)} must be an array of {"v":..,"t":..}`);
            continue;
          }
          let first = true;
          for (const it of m.value.items ?? []) {
            const v = it.kind === 'object' ? member(it, 'v') : undefined;
            if (!v) {
              shape(it, `data stream ${JSON.stringify(m.key)}: each data point needs "v"`);
              continue;
            }
            const point: Datapoint = { stream: m.key, value: doc.valueOf(v) };
            const tn = member(it, 't');
            if (tn) point.at = doc.valueOf(tn);
            if (points.length < MAX_DATAPOINTS) points.push(point);
            else omit();
            const item: PartItem = {
              at: start + doc.byteOffset(first ? m.keyStart : it.start), key: 'datapoint', label: `data stream ${quote(m.key, 60)}`, value: showValue(point.value),
            };
            if (point.at !== undefined) item.explain = `at ${showValue(point.at, 40)}${typeof point.at === 'number' ? ` (${unixTime(point.at)})` : ''}`;
            items.push(item);
            first = false;
          }
        }
      }
    }
    if (!pn) return { container: null, jsonShown: true };
    const jn: FieldNode = {
      key: 'json', label: 'JSON data points', offset: start, length: end - start, value: clip(doc.text),
      explain: `${end - start} byte${end - start === 1 ? '' : 's'} of JSON`,
    };
    const kids = partition(items, start, end, MAX_DP_NODES, 'data points');
    if (kids.length > 0) jn.children = kids;
    pn.children = [jn];
    return { container: jn, jsonShown: true };
  }

  private dpPostResult(rec: PacketRecord, f: PublishPacket, base: Record<string, string>, result: string, pn: FieldNode | null, start: number, end: number): PublishOutcome {
    const info: Record<string, unknown> = { kind: 'dp-post-result', ...base, result };
    f.onenet = info;
    const doc = end - start <= STUDIO_JSON_MAX_BYTES ? jsonObject(rec.bytes, start, end) : null;
    let explain = `the platform ${result} a data point upload`;
    if (doc && doc.root.kind === 'object') {
      const id = member(doc.root, 'id');
      const code = member(doc.root, 'code');
      const msg = member(doc.root, 'msg');
      if (code) info['code'] = doc.valueOf(code);
      if (msg) info['msg'] = doc.valueOf(msg);
      if (id) {
        const idValue = doc.valueOf(id);
        info['id'] = idValue;
        const link = this.link(rec, this.posts, postKey(base, idValue), info);
        explain = link ?? `${explain} (id ${showValue(idValue, 40)}, not seen in this capture)`;
      }
    }
    return this.container(pn, start, end, 'dpPostResult', `OneNET data point upload ${result}`, explain);
  }

  // ---- requests and responses ------------------------------------------------------------------

  private request(rec: PacketRecord, key: string, info: Record<string, unknown>): Record<string, unknown> {
    this.remember(this.commands, key, rec);
    return info;
  }

  private response(rec: PacketRecord, f: PublishPacket, pn: FieldNode | null, start: number, end: number, key: string, info: Record<string, unknown>, nodeKey: string): PublishOutcome {
    f.onenet = info;
    const linked = this.link(rec, this.commands, key, info);
    if (!linked) {
      rec.violations.push(dialectWarning('ONENET-cmd-unmatched', `reply to command ${String(info['uuid'])}, whose request was not seen on this connection`, undefined, undefined, 'note'));
    }
    return this.container(pn, start, end, nodeKey, 'OneNET command response', linked ?? `reply to command ${String(info['uuid'])}; its request was not seen in this capture`);
  }

  /** Links a reply to its request; adds requestSeen (+ requestFrame, latencyMs); returns an explanation when linked. */
  private link(rec: PacketRecord, map: Map<string, Pending>, key: string, info: Record<string, unknown>): string | null {
    const p = map.get(key);
    if (!p) {
      info['requestSeen'] = false;
      return null;
    }
    const ms = Math.round(((rec.timeSec - p.timeSec) * 1e3 + (rec.timeNsec - p.timeNsec) / 1e6) * 1000) / 1000;
    info['requestSeen'] = true;
    info['requestFrame'] = p.frame;
    info['latencyMs'] = ms;
    if (p.answered) info['repeated'] = true;
    p.answered = true;
    return `answers the request in frame ${p.frame}, ${ms.toFixed(3)} ms later${info['repeated'] ? ' (that request was already answered)' : ''}`;
  }

  private remember(map: Map<string, Pending>, key: string, rec: PacketRecord): void {
    map.delete(key);
    map.set(key, { frame: rec.frame, timeSec: rec.timeSec, timeNsec: rec.timeNsec, answered: false });
    if (map.size > MAX_PENDING) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
  }

  // ---- checks and nodes --------------------------------------------------------------------------

  private direction(rec: PacketRecord, topic: string, why: string): void {
    rec.violations.push(dialectWarning('ONENET-topic-direction', `client published to ${clip(topic, 80)}: ${why}`));
  }

  private identity(rec: PacketRecord, productId: string, deviceId: string): void {
    const bad: string[] = [];
    if (this.username !== null && productId !== this.username) bad.push(`product ${JSON.stringify(productId)} is not the CONNECT user name ${JSON.stringify(this.username)}`);
    if (this.clientId !== null && deviceId !== this.clientId) bad.push(`device ${JSON.stringify(deviceId)} is not the CONNECT client identifier ${JSON.stringify(this.clientId)}`);
    if (bad.length > 0) rec.violations.push(dialectWarning('ONENET-topic-identity', `topic names another device: ${bad.join('; ')}`));
  }

  /** A node covering the whole payload that says what it is; generic views go under it. */
  private container(pn: FieldNode | null, start: number, end: number, key: string, label: string, explain: string): PublishOutcome {
    if (!pn) return NOTHING;
    const n: FieldNode = { key, label, offset: start, length: end - start, explain };
    if (pn.value !== undefined && end > start) n.value = pn.value;
    pn.label = `payload (${label})`;
    pn.children = [n];
    return { container: n, jsonShown: false };
  }
}

function member(o: JsonNode, key: string): JsonNode | undefined {
  let hit: JsonNode | undefined;
  for (const m of o.members ?? []) if (m.key === key) hit = m.value;
  return hit;
}

function jsonObject(b: Uint8Array, start: number, end: number): JsonDoc | null {
  if (end <= start) return null;
  const r = parseJsonBytes(b, start, end);
  return r.ok ? r.doc : null;
}

/** Upload ids are numbers in requests and strings in results: both key the same upload. */
function postKey(base: Record<string, string>, id: unknown): string {
  return `${base['productId']}/${base['deviceId']}/${typeof id === 'string' ? id : JSON.stringify(id)}`;
}

function unixTime(t: number): string {
  // Studio's "t" is in seconds; a value that only fits as milliseconds is read as such.
  const ms = t > 1e11 ? t : t * 1000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? 'not a time' : d.toISOString().replace('.000Z', 'Z');
}

/** Packet offsets of the CONNECT protocol level, connect flags and keep alive, when the bytes reach that far. */
/**
 * OneNET delivers $creq commands to every device without a SUBSCRIBE (docs/onenet.md): the platform's implicit
 * subscription is normal here, so the rules stage's "no subscription matches" finding is taken back.
 */
function implicitSubscription(rec: PacketRecord): void {
  const vs = rec.violations;
  for (let i = vs.length - 1; i >= 0; i--) if (vs[i]!.id === 'MQTT-3.3.2-3') vs.splice(i, 1);
}

function connectOffsets(rec: PacketRecord): { level: number; flags: number; keepAlive: number } | null {
  const b = rec.bytes;
  const h = rec.decoded.headerLength;
  if (h + 2 > b.length) return null;
  const level = h + 2 + readUint(b, h, 2);
  if (level + 4 > b.length) return null;
  return { level, flags: level + 1, keepAlive: level + 2 };
}
