/**
 * Differential decoding against tshark: runs `tshark -T json` and our `--json` on the same capture and brings both
 * to one flat per-PDU view (field name -> normalised string), so they can be compared packet by packet.
 *
 * tshark's JSON (with --no-duplicate-keys) puts one `mqtt` object per frame, or an array of them when a frame holds
 * several MQTT PDUs; repeated fields inside one PDU (SUBSCRIBE topics, property ids) become arrays.
 */
import type { TlsArgs } from './public.js';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { PROPERTY_BY_KEY } from '../../src/mqtt/tables.js';
import { BIN, ROOT } from './cli.js';

const run = promisify(execFile);

let tsharkChecked: boolean | null = null;

export function tsharkAvailable(): boolean {
  if (tsharkChecked === null) {
    const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
    tsharkChecked = r.status === 0 && /TShark/.test(r.stdout);
  }
  return tsharkChecked;
}

export function tsharkVersion(): string {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  return /TShark \(Wireshark\) (\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

/** One MQTT PDU, flattened. Only fields that exist for the packet appear in `values`. */
export interface PduView {
  frame: number;
  /** Position among the PDUs this tool shows in `frame` (0-based). */
  index: number;
  values: Record<string, string>;
}

export const TYPE_NAMES = ['RESERVED', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE',
  'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'] as const;

/** The fields compared, in report order. */
export const COMPARED_FIELDS = ['type', 'srcPort', 'remainingLength', 'protocolName', 'protocolLevel', 'connectFlags', 'keepAlive', 'clientId',
  'username', 'passwordLength', 'willTopic', 'willPayloadLength', 'sessionPresent', 'connackCode', 'qos', 'dup', 'retain', 'topic', 'resolvedTopic', 'packetId',
  'payloadLength', 'topics', 'subQos', 'codes', 'reasonCode', 'properties', 'willProperties'] as const;

/** Property ids as a sorted list ("0x11,0x26,0x26"): order-free, because we group repeated User Properties. */
function idList(ids: number[]): string {
  return ids.sort((a, b) => a - b).map((i) => `0x${i.toString(16).padStart(2, '0')}`).join(',');
}

type JsonObj = { [k: string]: unknown };

function isObj(v: unknown): v is JsonObj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Depth-first search for the first value of `key` anywhere under `o` (tshark nests fields in *_tree objects). */
function find(o: unknown, key: string): unknown {
  if (Array.isArray(o)) {
    for (const x of o) {
      const r = find(x, key);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (!isObj(o)) return undefined;
  if (key in o) return o[key];
  for (const v of Object.values(o)) {
    if (v !== null && typeof v === 'object') {
      const r = find(v, key);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

/** Every value of `key` under `o`, in document order, arrays flattened. */
function findAll(o: unknown, key: string, out: string[] = []): string[] {
  if (Array.isArray(o)) {
    for (const x of o) findAll(x, key, out);
    return out;
  }
  if (!isObj(o)) return out;
  for (const [k, v] of Object.entries(o)) {
    if (k === key) {
      if (Array.isArray(v)) out.push(...v.map(String));
      else if (typeof v === 'string') out.push(v);
    } else if (v !== null && typeof v === 'object') findAll(v, key, out);
  }
  return out;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** Bytes in a tshark FT_BYTES display value ("62:61:61", or "" for none). */
function byteCount(v: string): number {
  return v === '' ? 0 : (v.length + 1) / 3;
}

function vbiSize(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/** A string field: its value, or "" when tshark shows only a zero length for it. */
function tsString(m: JsonObj, key: string, lenKey: string): string | undefined {
  const v = str(m[key]);
  if (v !== undefined) return v;
  if (str(m[lenKey]) === '0') return '';
  return undefined;
}

/** Flattens one tshark `mqtt` object. */
export function tsharkPduValues(m: JsonObj, srcPort: string): Record<string, string> {
  const out: Record<string, string> = {};
  const type = Number(find(m, 'mqtt.msgtype'));
  out.type = TYPE_NAMES[type] ?? `type-${type}`;
  out.srcPort = srcPort;
  const rl = str(m['mqtt.len']);
  if (rl !== undefined) out.remainingLength = rl;
  const props = m['mqtt.properties'];
  const isV5 = props !== undefined;
  const propLen = isObj(props) ? Number(str(props['mqtt.property_len']) ?? 0) : 0;
  if (props !== undefined) out.properties = idList(findAll(props, 'mqtt.property_id').map((x) => Number(x)));
  if (m['mqtt.will_properties'] !== undefined) out.willProperties = idList(findAll(m['mqtt.will_properties'], 'mqtt.property_id').map((x) => Number(x)));
  switch (type) {
    case 1: {
      const name = str(m['mqtt.protoname']);
      if (name !== undefined) out.protocolName = name;
      const pl = str(m['mqtt.passwd_len']);
      if (pl !== undefined) out.passwordLength = pl;
      const wl = str(m['mqtt.willmsg_len']);
      if (wl !== undefined) out.willPayloadLength = wl;
      const ver = str(m['mqtt.ver']);
      if (ver !== undefined) out.protocolLevel = String(Number(ver) & 0x7f);
      const cf = str(m['mqtt.conflags']);
      // Bit 0 (reserved) is left out: we report it as a violation, not as a field.
      if (cf !== undefined) out.connectFlags = `0x${(Number(cf) & 0xfe).toString(16).padStart(2, '0')}`;
      const ka = str(m['mqtt.kalive']);
      if (ka !== undefined) out.keepAlive = ka;
      const cid = tsString(m, 'mqtt.clientid', 'mqtt.clientid_len');
      if (cid !== undefined) out.clientId = cid;
      const user = tsString(m, 'mqtt.username', 'mqtt.username_len');
      if (user !== undefined) out.username = user;
      const wt = tsString(m, 'mqtt.willtopic', 'mqtt.willtopic_len');
      if (wt !== undefined) out.willTopic = wt;
      break;
    }
    case 2: {
      const rc = str(find(m, 'mqtt.conack.val')) ?? str(find(m, 'mqtt.connack.reason_code'));
      if (rc !== undefined) out.connackCode = rc;
      const sp = str(find(m, 'mqtt.conack.flags.sp'));
      if (sp !== undefined) out.sessionPresent = String(sp === '1');
      break;
    }
    case 3: {
      const qos = Number(find(m, 'mqtt.qos'));
      out.qos = String(qos);
      out.dup = String(find(m, 'mqtt.dupflag') === '1');
      out.retain = String(find(m, 'mqtt.retain') === '1');
      const topic = tsString(m, 'mqtt.topic', 'mqtt.topic_len');
      if (topic !== undefined) {
        out.topic = topic;
        // tshark shows one topic: the alias's topic when the Topic Name is empty (see resolvedTopic on our side).
        out.resolvedTopic = topic;
      }
      const id = str(m['mqtt.msgid']);
      if (id !== undefined) out.packetId = id;
      const msg = str(m['mqtt.msg']);
      if (msg !== undefined) out.payloadLength = String(byteCount(msg));
      else if (rl !== undefined && topic !== undefined) {
        // No mqtt.msg: an empty payload. Derive it from the lengths to be sure.
        const n = Number(rl) - 2 - Number(str(m['mqtt.topic_len']) ?? 0) - (qos > 0 ? 2 : 0) - (isV5 ? propLen + vbiSize(propLen) : 0);
        out.payloadLength = String(n);
      }
      break;
    }
    case 4: case 5: case 6: case 7: {
      const id = str(m['mqtt.msgid']);
      if (id !== undefined) out.packetId = id;
      const name = ['puback', 'pubrec', 'pubrel', 'pubcomp'][type - 4]!;
      const rc = str(m[`mqtt.${name}.reason_code`]);
      if (rc !== undefined) out.reasonCode = rc;
      break;
    }
    case 8: {
      const id = str(m['mqtt.msgid']);
      if (id !== undefined) out.packetId = id;
      out.topics = findAll(m, 'mqtt.topic').join(',');
      const q = findAll(m, 'mqtt.sub.qos');
      out.subQos = (q.length > 0 ? q : findAll(m, 'mqtt.subscription_options_qos')).join(',');
      break;
    }
    case 9: {
      const id = str(m['mqtt.msgid']);
      if (id !== undefined) out.packetId = id;
      const q = findAll(m, 'mqtt.suback.qos');
      out.codes = (q.length > 0 ? q : findAll(m, 'mqtt.suback.reason_code')).join(',');
      break;
    }
    case 10: {
      const id = str(m['mqtt.msgid']);
      if (id !== undefined) out.packetId = id;
      out.topics = findAll(m, 'mqtt.topic').join(',');
      break;
    }
    case 11: {
      const id = str(m['mqtt.msgid']);
      if (id !== undefined) out.packetId = id;
      const c = findAll(m, 'mqtt.unsuback.reason_code');
      if (c.length > 0) out.codes = c.join(',');
      break;
    }
    case 14: {
      const rc = str(m['mqtt.disconnect.reason_code']);
      if (rc !== undefined) out.reasonCode = rc;
      break;
    }
    default:
      break;
  }
  return out;
}

export interface TsharkResult {
  pdus: PduView[];
  /** Frames tshark marks as malformed (an `_ws.malformed` layer). */
  malformedFrames: number[];
}

/** Runs tshark on `file`, decoding `ports` (beyond 1883) as MQTT. */
/**
 * `tls`: key log and TLS ports for tshark. `frameFromTime`: the frame number is the capture's timestamp in seconds (a
 * capture written by scripts/ws-unwrap.mjs, whose segments are dated by the original frame that carried their bytes).
 */
export async function tsharkDecode(file: string, ports: number[], tls?: TlsArgs, o: { frameFromTime?: boolean } = {}): Promise<TsharkResult> {
  const args = ['-n', '-r', file, '-T', 'json', '--no-duplicate-keys', '-Y', 'mqtt'];
  for (const p of [6002, ...ports]) args.push('-d', `tcp.port==${p},mqtt`);
  // MQTT inside TLS: the key log, and TLS (then MQTT inside it) on the ports beyond 8883.
  if (tls?.keylog !== undefined) args.push('-o', `tls.keylog_file:${tls.keylog}`);
  for (const p of tls?.ports ?? []) args.push('-d', `tcp.port==${p},tls`, '-d', `tls.port==${p},mqtt`);
  const { stdout } = await run('tshark', args, { maxBuffer: 512 * 1024 * 1024, cwd: ROOT, env: { ...process.env, LC_ALL: 'C' } });
  const parsed: unknown = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
  const pdus: PduView[] = [];
  const malformedFrames: number[] = [];
  for (const pkt of Array.isArray(parsed) ? parsed : []) {
    const layers = find(pkt, 'layers');
    if (!isObj(layers)) continue;
    const frame = o.frameFromTime === true ? Math.round(Number(find(layers.frame, 'frame.time_epoch'))) : Number(find(layers.frame, 'frame.number'));
    const srcPort = str(find(layers.tcp, 'tcp.srcport')) ?? '';
    const mq = layers.mqtt;
    const list = Array.isArray(mq) ? mq : [mq];
    list.forEach((m, index) => {
      if (isObj(m)) pdus.push({ frame, index, values: tsharkPduValues(m, srcPort) });
    });
    if ('_ws.malformed' in layers) malformedFrames.push(frame);
  }
  return { pdus, malformedFrames };
}

// ---------------------------------------------------------------------------------------------------
// Ours

export interface OursResult {
  pdus: PduView[];
  /** Every NDJSON line, parsed. */
  lines: Array<Record<string, unknown>>;
  stderr: string;
  status: number | null;
}

function portOf(endpoint: unknown): string {
  return typeof endpoint === 'string' ? endpoint.slice(endpoint.lastIndexOf(':') + 1) : '';
}

function bytesLen(length: number): number {
  // Remaining Length from the whole packet length: the VBI size that makes 1 + size + rl === length.
  for (let k = 1; k <= 4; k++) {
    const rl = length - 1 - k;
    if (rl >= 0 && vbiSize(rl) === k) return rl;
  }
  return -1;
}

/** Byte length of a bytes value ({encoding, text|data}); undefined when cut (`truncated`) or absent. */
function bytesValueLength(v: unknown): number | undefined {
  if (!isObj(v) || v.truncated === true) return undefined;
  if (v.encoding === 'utf8' && typeof v.text === 'string') return Buffer.byteLength(v.text, 'utf8');
  if (v.encoding === 'hex' && typeof v.data === 'string') return v.data.length / 2;
  return undefined;
}

function asStr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Flattens one of our NDJSON packet objects into the same view as tsharkPduValues. */
export function ourPduValues(p: Record<string, unknown>): Record<string, string> {
  const f = (isObj(p.fields) ? p.fields : {}) as JsonObj;
  const out: Record<string, string> = {};
  const type = String(p.type);
  out.type = type;
  out.srcPort = portOf(p.src);
  if (typeof p.length === 'number') out.remainingLength = String(bytesLen(p.length));
  const set = (k: string, v: unknown): void => {
    if (v !== undefined && v !== null) out[k] = String(v);
  };
  const ids = (props: unknown): string | undefined => {
    if (!isObj(props)) return undefined;
    const list: number[] = [];
    for (const [k, v] of Object.entries(props)) {
      const info = PROPERTY_BY_KEY.get(k);
      if (!info) continue;
      const n = Array.isArray(v) && (k === 'userProperties' || k === 'subscriptionIdentifier') ? v.length : 1;
      for (let i = 0; i < n; i++) list.push(info.id);
    }
    return idList(list);
  };
  set('properties', ids(f.properties));
  set('willProperties', ids(f.willProperties));
  switch (type) {
    case 'CONNECT': {
      set('protocolLevel', f.protocolLevel);
      if (typeof f.usernameFlag === 'boolean') {
        const b = (x: unknown, bit: number): number => (x === true ? 1 << bit : 0);
        const flags = b(f.usernameFlag, 7) | b(f.passwordFlag, 6) | b(f.willRetain, 5) | ((Number(f.willQos) & 3) << 3) | b(f.willFlag, 2)
          | b(f.cleanSession ?? f.cleanStart, 1);
        out.connectFlags = `0x${flags.toString(16).padStart(2, '0')}`;
      }
      set('keepAlive', f.keepAlive);
      set('clientId', asStr(f.clientId));
      set('username', asStr(f.username));
      set('willTopic', asStr(f.willTopic));
      set('protocolName', asStr(f.protocolName));
      set('passwordLength', bytesValueLength(f.password));
      set('willPayloadLength', bytesValueLength(f.willPayload));
      break;
    }
    case 'CONNACK':
      set('sessionPresent', f.sessionPresent);
      set('connackCode', f.returnCode ?? f.reasonCode);
      break;
    case 'PUBLISH':
      set('qos', f.qos);
      set('dup', f.dup);
      set('retain', f.retain);
      set('topic', asStr(f.topic));
      set('resolvedTopic', asStr(f.resolvedTopic) ?? asStr(f.topic));
      set('packetId', f.packetId);
      set('payloadLength', f.payloadLength);
      break;
    case 'PUBACK': case 'PUBREC': case 'PUBREL': case 'PUBCOMP':
      set('packetId', f.packetId);
      set('reasonCode', f.reasonCode);
      break;
    case 'SUBSCRIBE': {
      set('packetId', f.packetId);
      const subs = Array.isArray(f.subscriptions) ? f.subscriptions.filter(isObj) : [];
      out.topics = subs.map((s) => String(s.topic)).join(',');
      out.subQos = subs.map((s) => String(s.qos)).join(',');
      break;
    }
    case 'SUBACK': {
      set('packetId', f.packetId);
      const c = (f.returnCodes ?? f.reasonCodes) as unknown;
      if (Array.isArray(c)) out.codes = c.map(String).join(',');
      break;
    }
    case 'UNSUBSCRIBE':
      set('packetId', f.packetId);
      if (Array.isArray(f.topics)) out.topics = f.topics.map(String).join(',');
      break;
    case 'UNSUBACK':
      set('packetId', f.packetId);
      if (Array.isArray(f.reasonCodes)) out.codes = f.reasonCodes.map(String).join(',');
      break;
    case 'DISCONNECT':
      set('reasonCode', f.reasonCode);
      break;
    default:
      break;
  }
  return out;
}

/** Runs our CLI with --json on `file`. */
export async function oursDecode(file: string, ports: number[], tls?: TlsArgs): Promise<OursResult> {
  const args = [BIN, '--json', ...ports.flatMap((p) => ['--port', String(p)]), ...(tls?.keylog !== undefined ? ['--tls-keylog', tls.keylog] : []), ...(tls?.ports ?? []).flatMap((p) => ['--tls-port', String(p)]), file];
  let stdout = '';
  let stderr = '';
  let status: number | null = 0;
  try {
    const r = await run(process.execPath, args, { maxBuffer: 512 * 1024 * 1024, cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    stdout = r.stdout;
    stderr = r.stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    stdout = e.stdout ?? '';
    stderr = e.stderr ?? '';
    status = typeof e.code === 'number' ? e.code : null;
  }
  const lines = stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const pdus: PduView[] = [];
  const perFrame = new Map<number, number>();
  for (const l of lines) {
    if (l.kind !== 'packet') continue;
    const frame = Number(l.frame);
    const index = perFrame.get(frame) ?? 0;
    perFrame.set(frame, index + 1);
    pdus.push({ frame, index, values: ourPduValues(l) });
  }
  return { pdus, lines, stderr, status };
}

// ---------------------------------------------------------------------------------------------------
// Comparison

export interface Difference {
  frame: number;
  /** PDU position within the frame. */
  pdu: number;
  /** A compared field, or `presence` when one tool shows a PDU the other does not. */
  field: string;
  ours: string;
  tshark: string;
}

const ABSENT = '(absent)';

/**
 * Normalisations that are representation, not meaning: 5.0 acknowledgements and DISCONNECT may leave the reason code
 * and the properties out (the reason code is then 0, Success, and there are no properties); we print 0 and `{}`
 * (docs/json.md), tshark prints nothing.
 */
function normalise(ours: Record<string, string>, theirs: Record<string, string>): void {
  if ('reasonCode' in ours && !('reasonCode' in theirs) && ours.reasonCode === '0') theirs.reasonCode = '0';
  if (ours.properties === '' && !('properties' in theirs) && ['PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'DISCONNECT', 'AUTH'].includes(ours.type!)) {
    theirs.properties = '';
  }
}

/**
 * Frames tshark marks [Malformed Packet] where we report no error-severity finding on any packet completed in that
 * frame (field `malformed`). The other way round is not a difference: most of our errors are rule violations in
 * packets tshark decodes without complaint.
 */
export function compareMalformed(lines: Array<Record<string, unknown>>, malformedFrames: number[]): Difference[] {
  const flagged = new Set<number>();
  for (const l of lines) {
    if (l.kind !== 'packet' || !Array.isArray(l.violations)) continue;
    if (l.violations.some((v) => isObj(v) && v.severity === 'error')) flagged.add(Number(l.frame));
  }
  return malformedFrames.filter((f) => !flagged.has(f)).map((frame) => ({ frame, pdu: 0, field: 'malformed', ours: 'no error', tshark: 'Malformed Packet' }));
}

export function comparePdus(ours: PduView[], theirs: PduView[]): Difference[] {
  const group = (l: PduView[]): Map<number, PduView[]> => {
    const m = new Map<number, PduView[]>();
    for (const p of l) m.set(p.frame, [...(m.get(p.frame) ?? []), p]);
    return m;
  };
  const a = group(ours);
  const b = group(theirs);
  const frames = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
  const out: Difference[] = [];
  for (const frame of frames) {
    const la = a.get(frame) ?? [];
    const lb = b.get(frame) ?? [];
    for (let i = 0; i < Math.max(la.length, lb.length); i++) {
      const pa = la[i];
      const pb = lb[i];
      if (!pa || !pb) {
        out.push({ frame, pdu: i, field: 'presence', ours: pa ? pa.values.type! : ABSENT, tshark: pb ? pb.values.type! : ABSENT });
        continue;
      }
      const va = { ...pa.values };
      const vb = { ...pb.values };
      normalise(va, vb);
      for (const field of COMPARED_FIELDS) {
        const x = va[field] ?? ABSENT;
        const y = vb[field] ?? ABSENT;
        if (x !== y) out.push({ frame, pdu: i, field, ours: x, tshark: y });
      }
    }
  }
  return out;
}
