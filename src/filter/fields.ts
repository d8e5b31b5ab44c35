/**
 * What a filter can ask about, declared once: every name `-Y` accepts, its type, what it means, and how to read it from
 * a record. MQTT fields take their names, labels and Wireshark names from the field registry (src/mqtt/fields.ts), so
 * a field renamed there is renamed here; the Wireshark names of a registry field become aliases limited to the packet
 * types that carry that field (`mqtt.puback.reason_code` is PUBACK's reason code, `mqtt.sub.qos` a SUBSCRIBE's QoS).
 * docs/filters.md and `--help-fields` are generated from this table (test/filter-docs.test.ts).
 *
 * A record is a packet, an event or a connection's close. Connection-level fields (clientId, username, addresses)
 * are known on every record of the connection, so `clientId == "sensor-7"` selects that client's PUBLISHes, events and
 * close; packet fields exist only on the packets that carry them, and a comparison with a field a record lacks is false.
 */
import type { PacketRecord, Violation } from '../mqtt/connection-decoder.js';
import { FIELD, PACKET_FIELDS, PROPERTY_FIELDS, type FieldDef } from '../mqtt/fields.js';
import { AuthPacket, type Properties, type SubscriptionRequest } from '../mqtt/packets.js';
import {
  CONNACK, CONNECT, DISCONNECT, AUTH, PACKET_TYPES, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK,
  UNSUBSCRIBE,
} from '../mqtt/tables.js';
import { VERSION_NAME, type ProtocolLevel } from '../mqtt/types.js';
import { END_CAUSES, EVENT_KINDS, type Connection, type ConnectionEnd, type StreamEvent } from '../tcp/types.js';

/** What the connection's CONNECT (and CONNACK) said, for the records that come after it. */
export interface ConnFacts {
  readonly conn: Connection;
  clientId: string | undefined;
  username: string | undefined;
  level: ProtocolLevel | undefined;
}

export type RecordKind = 'packet' | 'event' | 'close';

/** The record a filter is asked about. One object is reused for every record (nothing is allocated per record). */
export class Subject {
  kind: RecordKind = 'packet';
  rec: PacketRecord | null = null;
  ev: (StreamEvent & { violations?: Violation[] }) | null = null;
  end: ConnectionEnd | null = null;
  facts: ConnFacts | null = null;
}

export type FieldScope = 'record' | 'connection' | 'segment' | 'packet' | 'property' | 'event' | 'finding';

interface FieldBase {
  /** The name as in the NDJSON (or, for what the NDJSON has no key of its own, a name in the same style). */
  readonly name: string;
  readonly scope: FieldScope;
  readonly describe: string;
  /** Wireshark display-filter names accepted for it, with the packet types they are limited to (null: any record). */
  readonly tshark: readonly TsharkAlias[];
  /** String fields with a closed set of values: a value outside it is an error (with a suggestion), not "no match". */
  readonly values?: readonly string[];
  /** A secret by the registry (password, authentication data): field export masks it under --redact. */
  readonly secret?: true;
  /** How field export writes the value when the plain number would not be exact (a time to the nanosecond). */
  readonly text?: (s: Subject) => string | undefined;
  /**
   * The name is Wireshark's own (ip.flags.df, tcp.flags.syn): a bare name keeps Wireshark's meaning, the field is
   * there, as for the Wireshark aliases of our flags (use `tcp.flags.syn == 1` for "set").
   */
  readonly wiresharkName?: true;
}

export interface TsharkAlias {
  readonly name: string;
  readonly types: readonly number[] | null;
  /** The protocol levels Wireshark uses the name in, where it names a field differently by version. */
  readonly levels?: readonly ProtocolLevel[];
}

/**
 * Where Wireshark (4.0) names one field differently by version: the SUBSCRIBE's requested QoS is `mqtt.sub.qos` in
 * 3.1 and 3.1.1 and `mqtt.subscription_options_qos` in 5.0 (the Maximum QoS of the subscription options).
 */
const TSHARK_BY_LEVEL: Readonly<Record<string, readonly ProtocolLevel[]>> = { 'mqtt.sub.qos': [3, 4] };
const TSHARK_EXTRA: readonly TsharkAlias[] = [{ name: 'mqtt.subscription_options_qos', types: [SUBSCRIBE], levels: [5] }];

export type NumberValue = number | readonly number[] | undefined;
export type StringValue = string | readonly string[] | undefined;

export type FilterField =
  | (FieldBase & { readonly type: 'number'; get(s: Subject): NumberValue })
  | (FieldBase & { readonly type: 'string'; get(s: Subject): StringValue })
  | (FieldBase & { readonly type: 'boolean'; get(s: Subject): boolean | undefined })
  | (FieldBase & { readonly type: 'bytes'; get(s: Subject): Uint8Array | undefined });

/** The connection of any record. */
function connOf(s: Subject): Connection | null {
  return s.facts?.conn ?? s.rec?.conn ?? null;
}

function dirOf(s: Subject): 'c2s' | 's2c' | null {
  if (s.rec !== null) return s.rec.dir;
  if (s.ev !== null) return s.ev.dir;
  return null;
}

function violationsOf(s: Subject): readonly Violation[] {
  if (s.rec !== null) return s.rec.violations;
  return s.ev?.violations ?? NONE;
}
const NONE: readonly Violation[] = [];

function levelOf(s: Subject): ProtocolLevel | undefined {
  return s.rec !== null ? s.rec.decoded.level : s.facts?.level;
}

/** The packet's properties object (5.0), or undefined. */
function propertiesOf(s: Subject): Properties | undefined {
  const d = s.rec?.decoded;
  if (d === undefined) return undefined;
  switch (d.type) {
    case CONNECT: case CONNACK: case PUBLISH: case PUBACK: case PUBREC: case PUBREL: case PUBCOMP:
    case SUBSCRIBE: case SUBACK: case UNSUBSCRIBE: case UNSUBACK: case DISCONNECT:
      return d.properties;
    case AUTH:
      // Type 15 is also a reserved packet before 5.0.
      return d instanceof AuthPacket ? d.properties : undefined;
    default:
      return undefined;
  }
}

/** Registry fields whose Wireshark names a filter field answers for, and the packet types each is limited to. */
function aliasesOf(...fields: FieldDef[]): TsharkAlias[] {
  const byName = new Map<string, Set<number>>();
  for (let type = 0; type < PACKET_FIELDS.length; type++) {
    for (const row of PACKET_FIELDS[type]!) {
      if (!fields.includes(row.field)) continue;
      const name = row.tshark ?? row.field.tshark;
      if (name === undefined) continue;
      let set = byName.get(name);
      if (set === undefined) byName.set(name, (set = new Set()));
      set.add(type);
    }
  }
  // A registry field no packet row carries (fixed-header fields) answers on every packet.
  for (const f of fields) if (f.tshark !== undefined && !byName.has(f.tshark)) return [{ name: f.tshark, types: null }];
  return [...byName].flatMap(([name, types]): TsharkAlias[] => {
    const levels = TSHARK_BY_LEVEL[name];
    const alias: TsharkAlias = { name, types: [...types].sort((a, b) => a - b), ...(levels !== undefined ? { levels } : {}) };
    return [alias, ...TSHARK_EXTRA.filter((x) => levels !== undefined && types.has(x.types![0]!))];
  });
}

function tshark(...names: string[]): TsharkAlias[] {
  return names.map((name) => ({ name, types: null }));
}

const TYPE_NAMES = [...new Set(PACKET_TYPES.map((t) => t.name))];

const num = (name: string, scope: FieldScope, describe: string, get: (s: Subject) => NumberValue, alias: TsharkAlias[] = []): FilterField =>
  ({ name, scope, describe, tshark: alias, type: 'number', get });
const str = (name: string, scope: FieldScope, describe: string, get: (s: Subject) => StringValue, alias: TsharkAlias[] = [], values?: readonly string[]): FilterField =>
  ({ name, scope, describe, tshark: alias, type: 'string', get, ...(values !== undefined ? { values } : {}) });
const bool = (name: string, scope: FieldScope, describe: string, get: (s: Subject) => boolean | undefined, alias: TsharkAlias[] = []): FilterField =>
  ({ name, scope, describe, tshark: alias, type: 'boolean', get });
const bytes = (name: string, scope: FieldScope, describe: string, get: (s: Subject) => Uint8Array | undefined, alias: TsharkAlias[] = []): FilterField =>
  ({ name, scope, describe, tshark: alias, type: 'bytes', get });

/** A registry field on the packets that carry it: name, label and Wireshark names from the registry. */
function reg(f: FieldDef, type: 'number', get: (s: Subject) => NumberValue, also?: FieldDef[], text?: string): FilterField;
function reg(f: FieldDef, type: 'string', get: (s: Subject) => StringValue, also?: FieldDef[], text?: string): FilterField;
function reg(f: FieldDef, type: 'boolean', get: (s: Subject) => boolean | undefined, also?: FieldDef[], text?: string): FilterField;
function reg(f: FieldDef, type: 'bytes', get: (s: Subject) => Uint8Array | undefined, also?: FieldDef[], text?: string): FilterField;
function reg(f: FieldDef, type: FilterField['type'], get: (s: Subject) => unknown, also: FieldDef[] = [], text?: string): FilterField {
  const others = also.filter((a) => a.label !== f.label);
  const describe = text ?? f.label + (others.length > 0 ? ` (also: ${others.map((a) => a.label).join(', ')})` : '');
  // The overloads tie `type` to the accessor's value type; the union cannot be rebuilt from them without a cast.
  return { name: f.key, scope: 'packet', describe, tshark: aliasesOf(f, ...also), type, get, ...(f.secret === true ? { secret: true } : {}) } as FilterField;
}

/**
 * A boolean option of a SUBSCRIBE's subscriptions (5.0): true when any subscription sets it, false when all of them
 * carry it unset, absent before 5.0. One value, not a list: a boolean test reads "does the SUBSCRIBE ask for it".
 */
function subscriptionOption(s: Subject, pick: (x: SubscriptionRequest) => boolean | undefined): boolean | undefined {
  const d = s.rec?.decoded;
  if (d?.type !== SUBSCRIBE || d.subscriptions === undefined) return undefined;
  let seen = false;
  for (const x of d.subscriptions) {
    const v = pick(x);
    if (v === true) return true;
    if (v === false) seen = true;
  }
  return seen ? false : undefined;
}

/**
 * One end of a directed record's connection: the sender's (`sender` true) or the receiver's, read by `pick` from the
 * connection with `client` saying whether that end is the client. Absent without a connection or a direction.
 */
function endpoint<T>(s: Subject, sender: boolean, pick: (c: Connection, client: boolean) => T, conn: Connection | null = connOf(s)): T | undefined {
  const d = dirOf(s);
  return conn === null || d === null ? undefined : pick(conn, (d === 'c2s') === sender);
}

const ip = (c: Connection, client: boolean): string => (client ? c.clientIp : c.serverIp);

/** ip.src / ip.dst / ip.addr (IPv4) and ipv6.* (IPv6), as in Wireshark: each only on connections of its version. */
function ipFields(prefix: string, version: string, v6: boolean): FilterField[] {
  const of = (s: Subject): Connection | null => {
    const c = connOf(s);
    // Addresses are text: an IPv6 one has colons (and is written bare here, without the brackets of `client`).
    return c !== null && c.clientIp.includes(':') === v6 ? c : null;
  };
  return [
    str(`${prefix}.src`, 'connection', `the sender's ${version} address (src and dst hold both versions)`, (s) => endpoint(s, true, ip, of(s))),
    str(`${prefix}.dst`, 'connection', `the receiver's ${version} address`, (s) => endpoint(s, false, ip, of(s))),
    str(`${prefix}.addr`, 'connection', `either ${version} address of the connection`, (s) => {
      const c = of(s);
      return c === null ? undefined : [c.clientIp, c.serverIp];
    }),
  ];
}

/** One value of each of the record's findings (absent when it has none). */
function findingField(name: string, describe: string, pick: (v: Violation) => string, values?: readonly string[]): FilterField {
  return str(name, 'finding', describe, (s) => {
    const vs = violationsOf(s);
    return vs.length === 0 ? undefined : vs.map(pick);
  }, [], values);
}

/** A flags field exported as Wireshark shows it: 0x and `digits` hex digits (two for a byte). */
function hexByte(f: FilterField, digits = 2): FilterField {
  if (f.type !== 'number') return f;
  return {
    ...f,
    text: (s) => {
      const v = f.get(s);
      return typeof v === 'number' ? `0x${v.toString(16).padStart(digits, '0')}` : undefined;
    },
  };
}

/** A fact of the completing segment's headers, absent (-1) on IPv6 for the ip.* ones and on records made by hand. */
function known(v: number | undefined): number | undefined {
  return v === undefined || v < 0 ? undefined : v;
}

/**
 * The IP and TCP headers of the frame that completed the packet (PacketRecord's ipTtl … tcpDeltaSec, copied there from
 * the TCP stage), by Wireshark's names: the columns the MQTTset and MQTT-IoT-IDS2020 scripts export besides mqtt.*.
 * One flag bit per row of IP_FLAG_BITS and TCP_FLAG_BITS, with the older names Wireshark 3.x used where 4.0 renamed
 * the bit (tcp.flags.ns is 4.0's tcp.flags.ae, tcp.flags.ecn its tcp.flags.ece).
 */
const IP_FLAG_BITS: readonly { name: string; mask: number; describe: string }[] = [
  { name: 'ip.flags.rb', mask: 0x4, describe: 'the IPv4 reserved (evil) bit' },
  { name: 'ip.flags.df', mask: 0x2, describe: 'IPv4 Don\'t Fragment' },
  { name: 'ip.flags.mf', mask: 0x1, describe: 'IPv4 More Fragments' },
];
const TCP_FLAG_BITS: readonly { name: string; mask: number; describe: string; older?: string }[] = [
  { name: 'tcp.flags.res', mask: 0xe00, describe: 'any of the 3 reserved TCP flag bits' },
  { name: 'tcp.flags.ae', mask: 0x100, describe: 'TCP AE (Accurate ECN; the Nonce Sum bit, NS, in Wireshark 3.x)', older: 'tcp.flags.ns' },
  { name: 'tcp.flags.cwr', mask: 0x80, describe: 'TCP CWR (Congestion Window Reduced)' },
  { name: 'tcp.flags.ece', mask: 0x40, describe: 'TCP ECE (ECN-Echo)', older: 'tcp.flags.ecn' },
  { name: 'tcp.flags.urg', mask: 0x20, describe: 'TCP URG' },
  { name: 'tcp.flags.ack', mask: 0x10, describe: 'TCP ACK' },
  { name: 'tcp.flags.push', mask: 0x08, describe: 'TCP PSH' },
  { name: 'tcp.flags.reset', mask: 0x04, describe: 'TCP RST' },
  { name: 'tcp.flags.syn', mask: 0x02, describe: 'TCP SYN' },
  { name: 'tcp.flags.fin', mask: 0x01, describe: 'TCP FIN' },
];

const OF_SEGMENT = ' of the frame that completed the packet';

/** A key of a PUBLISH's decoded Sparkplug message. */
function sparkplugOf(s: Subject, key: string): unknown {
  const d = s.rec?.decoded;
  return d?.type === PUBLISH ? d.sparkplug?.[key] : undefined;
}

/** fields.payloadDecoded of a PUBLISH (a --decode binding matched its topic), or undefined. */
function decodedOf(s: Subject): Record<string, unknown> | undefined {
  const d = s.rec?.decoded;
  return d?.type === PUBLISH ? d.payloadDecoded : undefined;
}

/** `payloadDecoded.value.PATH`: the prefix of the names that select inside a decoded value (compile.ts). */
export const DECODED_VALUE = 'payloadDecoded.value';

/** Values one path may give (arrays along the path fan out): past it the rest is not looked at. */
export const MAX_PATH_VALUES = 10_000;

/**
 * The values at `path` (keys, array indexes) inside a decoded payload value: an array met where the path names a key
 * fans out over its elements (`readings.t` is every reading's t), and an array where the path ends gives its
 * elements, as fields with several values do elsewhere. At most MAX_PATH_VALUES.
 */
export function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  let level: unknown[] = [value];
  for (const key of path) {
    const next: unknown[] = [];
    const index = /^(0|[1-9]\d{0,8})$/.test(key) ? Number(key) : -1;
    const visit = (v: unknown, depth: number): void => {
      if (next.length >= MAX_PATH_VALUES || v === null || typeof v !== 'object') return;
      if (Array.isArray(v)) {
        if (index >= 0) {
          if (index < v.length) next.push(v[index]);
        } else if (depth === 0) {
          for (const e of v) visit(e, 1);
        }
        return;
      }
      // Decoded values are plain JSON data (src/dialects/decoders/types.ts): objects with string keys.
      const o = v as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(o, key)) next.push(o[key]);
    };
    for (const v of level) visit(v, 0);
    level = next;
    if (level.length === 0) break;
  }
  // An array at the end of the path gives its elements (`batch > 21` asks of every value in it).
  if (!level.some(Array.isArray)) return level;
  const out: unknown[] = [];
  for (const v of level) {
    if (!Array.isArray(v)) out.push(v);
    else for (const e of v) if (out.length < MAX_PATH_VALUES) out.push(e);
  }
  return out;
}

/** A value as filter text: strings as they are, anything else as its JSON. */
export function valueText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? 'null';
}

function decodedFields(): FilterField[] {
  const text = (key: string) => (s: Subject): string | undefined => {
    const v = decodedOf(s)?.[key];
    return typeof v === 'string' ? v : undefined;
  };
  return [
    str('payloadDecoded.format', 'packet', 'the format of the --decode binding that matched the PUBLISH\'s topic (json, cbor, gzip+json, protobuf:…, auto, …)', text('format')),
    str('payloadDecoded.detected', 'packet', 'what `auto` detected the payload to be', text('detected')),
    str('payloadDecoded.error', 'packet', 'why the payload did not decode as its binding says', (s) => {
      const e = decodedOf(s)?.['error'];
      return e !== null && typeof e === 'object' && typeof (e as Record<string, unknown>)['message'] === 'string' ? (e as Record<string, string>)['message'] : undefined;
    }),
    str(DECODED_VALUE, 'packet', `the decoded payload as JSON text (for contains and matches); \`${DECODED_VALUE}.KEY.KEY…\` selects inside it (array indexes as keys, an array met where a key is named gives all its elements' values): a number compared with a number, text with text, \`true\`/\`false\` with a boolean, present when the path leads to a value`, (s) => {
      const d = decodedOf(s);
      return d !== undefined && 'value' in d ? valueText(d['value']) : undefined;
    }),
  ];
}

function sparkplugFields(): FilterField[] {
  const text = (key: string) => (s: Subject): string | undefined => {
    const v = sparkplugOf(s, key);
    return typeof v === 'string' ? v : undefined;
  };
  return [
    str('sparkplug.type', 'packet', 'the Sparkplug B message type of a PUBLISH on spBv1.0/ (NBIRTH, NDATA, …, STATE; invalid for a malformed topic)', text('kind'), [], ['NBIRTH', 'NDEATH', 'DBIRTH', 'DDEATH', 'NDATA', 'DDATA', 'NCMD', 'DCMD', 'STATE', 'invalid']),
    str('sparkplug.group', 'packet', 'the Sparkplug group id', text('group')),
    str('sparkplug.edge', 'packet', 'the Sparkplug edge node id', text('edge')),
    str('sparkplug.device', 'packet', 'the Sparkplug device id', text('device')),
    str('sparkplug.host', 'packet', 'the host application id of a STATE message', text('host')),
    num('sparkplug.seq', 'packet', 'the Sparkplug payload\'s seq (0-255)', (s) => {
      const v = sparkplugOf(s, 'seq');
      return typeof v === 'number' ? v : undefined;
    }),
    str('sparkplug.metric', 'packet', 'the names of the message\'s metrics (an alias resolved through the birth)', (s) => {
      const v = sparkplugOf(s, 'metrics');
      if (!Array.isArray(v)) return undefined;
      const names: string[] = [];
      // The dialect stage writes metrics as plain objects with an optional string name.
      for (const m of v as Record<string, unknown>[]) if (typeof m['name'] === 'string') names.push(m['name']);
      return names;
    }),
    num('sparkplug.metric.value', 'packet', 'the numeric values of the message\'s metrics (integers, floats, DateTime ms; typed by the birth for an alias; 64-bit integers beyond 2^53 left out)', (s) => {
      const v = sparkplugOf(s, 'metrics');
      if (!Array.isArray(v)) return undefined;
      const values: number[] = [];
      // As above: plain objects; a 64-bit integer a double cannot hold exactly is a decimal string, and is left out.
      for (const m of v as Record<string, unknown>[]) if (typeof m['value'] === 'number') values.push(m['value']);
      return values;
    }),
  ];
}

function segmentFields(): FilterField[] {
  const ws = (f: FilterField): FilterField => ({ ...f, wiresharkName: true });
  const ipFlags = (s: Subject): number | undefined => known(s.rec?.ipFlags);
  const tcpFlags = (s: Subject): number | undefined => known(s.rec?.tcpFlags);
  return [
    ws(num('ip.ttl', 'segment', `the IPv4 Time to Live${OF_SEGMENT}`, (s) => known(s.rec?.ipTtl))),
    ws(num('ip.len', 'segment', `the IPv4 total length${OF_SEGMENT}`, (s) => known(s.rec?.ipLength))),
    ws(num('ip.proto', 'segment', `the IPv4 protocol${OF_SEGMENT} (6: TCP, the only one carrying MQTT here)`, (s) => (known(s.rec?.ipTtl) === undefined ? undefined : 6))),
    ws(hexByte(num('ip.flags', 'segment', `the 3 IPv4 flag bits${OF_SEGMENT} (reserved, DF, MF), as a number`, ipFlags))),
    ...IP_FLAG_BITS.map((b) => ws(bool(b.name, 'segment', b.describe + OF_SEGMENT, (s) => {
      const v = ipFlags(s);
      return v === undefined ? undefined : (v & b.mask) !== 0;
    }))),
    ws(hexByte(num('tcp.flags', 'segment', `the 12 TCP flag bits${OF_SEGMENT}`, tcpFlags), 4)),
    ...TCP_FLAG_BITS.map((b) => ws(bool(b.name, 'segment', b.describe + OF_SEGMENT, (s) => {
      const v = tcpFlags(s);
      return v === undefined ? undefined : (v & b.mask) !== 0;
    }, b.older !== undefined ? tshark(b.older) : []))),
    ws(num('tcp.len', 'segment', `the TCP payload length${OF_SEGMENT} (its own bytes, not the packet's)`, (s) => known(s.rec?.tcpLength))),
    ws({
      ...num('tcp.time_delta', 'segment', `seconds since the previous frame of the TCP connection, either direction, to the frame that completed the packet (tshark needs -o tcp.calculate_timestamps:TRUE)`, (s) => {
        const r = s.rec;
        return r === null || r.tcpLength === undefined || r.tcpLength < 0 ? undefined : r.tcpDeltaSec! + r.tcpDeltaNsec! / 1e9;
      }),
      // Exported as tshark writes it: seconds and nine decimals, exact.
      text: (s) => {
        const r = s.rec;
        return r === null || r.tcpLength === undefined || r.tcpLength < 0 ? undefined : `${r.tcpDeltaSec}.${String(r.tcpDeltaNsec).padStart(9, '0')}`;
      },
    }),
  ];
}

const textDecoder = new TextDecoder();

/** Control characters (C0, DEL, C1) and the backslash as escapes, so an exported value stays one safe line. */
export function escapeControls(s: string): string {
  // eslint-disable-next-line no-control-regex -- the point is to find control characters
  return /[\u0000-\u001f\u007f-\u009f\\]/.test(s) ? s.replace(/[\u0000-\u001f\u007f-\u009f\\]/g, (c) => {
    switch (c) {
      case '\n': return '\\n';
      case '\r': return '\\r';
      case '\t': return '\\t';
      case '\\': return '\\\\';
      default: return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    }
  }) : s;
}

/** The CONNECT's connect flags byte, read where the decoder found it (after the protocol name and level). */
function connectFlagsByte(s: Subject): number | undefined {
  const rec = s.rec;
  const d = rec?.decoded;
  if (rec === null || d?.type !== CONNECT || d.protocolLevel === undefined) return undefined;
  const b = rec.bytes;
  const nameAt = d.headerLength;
  if (nameAt + 2 > b.length) return undefined;
  const at = nameAt + 2 + ((b[nameAt]! << 8) | b[nameAt + 1]!) + 1;
  return at < b.length && at < d.headerLength + d.remainingLength ? b[at] : undefined;
}

function connackFlagsByte(s: Subject): number | undefined {
  const rec = s.rec;
  const d = rec?.decoded;
  // MQTT 3.1 has no acknowledge flags: the byte is reserved (topic name compression, never used).
  if (rec === null || d?.type !== CONNACK || d.level === 3 || d.headerLength >= rec.bytes.length || d.remainingLength < 1) return undefined;
  return rec.bytes[d.headerLength];
}

const utf8Length = (v: string | undefined): number | undefined => (v === undefined ? undefined : Buffer.byteLength(v, 'utf8'));

/** Byte lengths of the strings and binary fields, as Wireshark shows them (mqtt.topic_len and the like). */
function lengthFields(): FilterField[] {
  const connect = (s: Subject) => (s.rec?.decoded.type === CONNECT ? s.rec.decoded : undefined);
  return [
    num('protocolNameLength', 'packet', 'bytes of the CONNECT\'s protocol name', (s) => utf8Length(connect(s)?.protocolName), tshark('mqtt.proto_len')),
    num('clientIdLength', 'packet', 'bytes of the CONNECT\'s Client Identifier', (s) => utf8Length(connect(s)?.clientId), tshark('mqtt.clientid_len')),
    num('usernameLength', 'packet', 'bytes of the CONNECT\'s User Name', (s) => utf8Length(connect(s)?.username), tshark('mqtt.username_len')),
    num('passwordLength', 'packet', 'bytes of the CONNECT\'s Password', (s) => {
      const p = connect(s)?.password;
      return p === undefined ? undefined : p.end - p.start;
    }, tshark('mqtt.passwd_len')),
    num('willTopicLength', 'packet', 'bytes of the CONNECT\'s Will Topic', (s) => utf8Length(connect(s)?.willTopic), tshark('mqtt.willtopic_len')),
    num('willPayloadLength', 'packet', 'bytes of the CONNECT\'s Will Payload', (s) => {
      const p = connect(s)?.willPayload;
      return p === undefined ? undefined : p.end - p.start;
    }, tshark('mqtt.willmsg_len')),
    num('topicLength', 'packet', 'bytes of a PUBLISH\'s Topic Name as sent (0 with a 5.0 Topic Alias alone), of each SUBSCRIBE or UNSUBSCRIBE Topic Filter', (s) => {
      const d = s.rec?.decoded;
      if (d?.type === PUBLISH) return utf8Length(d.topic);
      if (d?.type === SUBSCRIBE) return d.subscriptions?.map((x) => Buffer.byteLength(x.topic, 'utf8'));
      if (d?.type === UNSUBSCRIBE) return d.topics?.map((t) => Buffer.byteLength(t, 'utf8'));
      return undefined;
    }, tshark('mqtt.topic_len')),
  ];
}

/** A byte range of the packet as a view (no copy). */
function range(s: Subject, r: { start: number; end: number } | undefined): Uint8Array | undefined {
  return r === undefined || s.rec === null ? undefined : s.rec.bytes.subarray(r.start, r.end);
}

/**
 * How to read each 5.0 property from a Properties object, by its type: a typed accessor per key, picked once when the
 * table is built (never a lookup by name per record). A property without one fails at start-up (and in the tests).
 */
const PROP_STRING: Readonly<Record<string, (p: Properties) => string | undefined>> = {
  contentType: (p) => p.contentType,
  responseTopic: (p) => p.responseTopic,
  assignedClientIdentifier: (p) => p.assignedClientIdentifier,
  authenticationMethod: (p) => p.authenticationMethod,
  responseInformation: (p) => p.responseInformation,
  serverReference: (p) => p.serverReference,
  reasonString: (p) => p.reasonString,
};

const PROP_NUMBER: Readonly<Record<string, (p: Properties) => NumberValue>> = {
  payloadFormatIndicator: (p) => p.payloadFormatIndicator,
  messageExpiryInterval: (p) => p.messageExpiryInterval,
  subscriptionIdentifier: (p) => p.subscriptionIdentifier,
  sessionExpiryInterval: (p) => p.sessionExpiryInterval,
  serverKeepAlive: (p) => p.serverKeepAlive,
  requestProblemInformation: (p) => p.requestProblemInformation,
  willDelayInterval: (p) => p.willDelayInterval,
  requestResponseInformation: (p) => p.requestResponseInformation,
  receiveMaximum: (p) => p.receiveMaximum,
  topicAliasMaximum: (p) => p.topicAliasMaximum,
  topicAlias: (p) => p.topicAlias,
  maximumQos: (p) => p.maximumQos,
  retainAvailable: (p) => p.retainAvailable,
  maximumPacketSize: (p) => p.maximumPacketSize,
  wildcardSubscriptionAvailable: (p) => p.wildcardSubscriptionAvailable,
  subscriptionIdentifierAvailable: (p) => p.subscriptionIdentifierAvailable,
  sharedSubscriptionAvailable: (p) => p.sharedSubscriptionAvailable,
};

const PROP_BYTES: Readonly<Record<string, (p: Properties) => { start: number; end: number } | undefined>> = {
  correlationData: (p) => p.correlationData,
  authenticationData: (p) => p.authenticationData,
};

function accessor<T>(table: Readonly<Record<string, T>>, key: string): T {
  const a = table[key];
  if (a === undefined) throw new Error(`property ${key} has no filter accessor`);
  return a;
}

const F = FIELD;

/** Every field a filter can name, in the order docs/filters.md lists them. */
export const FILTER_FIELDS: readonly FilterField[] = [
  // The record.
  str('kind', 'record', 'what the record is', (s) => s.kind, [], ['packet', 'event', 'close']),
  num('frame', 'record', 'the frame number (of a packet: the frame that completed it; of a close: the frame that ended the connection)',
    (s) => s.rec?.frame ?? s.ev?.frame ?? s.end?.frame, tshark('frame.number')),
  {
    ...num('time', 'record', 'seconds since the epoch (packets and closes)', (s) => {
      if (s.rec !== null) return s.rec.timeSec + s.rec.timeNsec / 1e9;
      return s.end !== null ? s.end.timeSec + s.end.timeNsec / 1e9 : undefined;
    }, tshark('frame.time_epoch')),
    // Exported as tshark writes frame.time_epoch: seconds and nine decimals, exact (a double is not).
    text: (s) => {
      const sec = s.rec?.timeSec ?? s.end?.timeSec;
      const nsec = s.rec?.timeNsec ?? s.end?.timeNsec;
      return sec === undefined || nsec === undefined ? undefined : `${sec}.${String(nsec).padStart(9, '0')}`;
    },
  },
  num('conn', 'record', 'the connection number (as in the NDJSON `conn`)', (s) => connOf(s)?.id ?? (s.ev?.conn ?? undefined)),
  str('dir', 'record', 'direction: c2s is client to server', (s) => dirOf(s) ?? undefined, [], ['c2s', 's2c']),

  // The connection: on every record of it.
  str('client', 'connection', 'the client\'s address and port ("10.0.0.5:51000", IPv6 as "[addr]:port")', (s) => connOf(s)?.client),
  str('server', 'connection', 'the server\'s address and port', (s) => connOf(s)?.server),
  str('src', 'connection', 'the sender\'s address and port (client for c2s, server for s2c)', (s) => endpoint(s, true, (c, client) => (client ? c.client : c.server))),
  str('dst', 'connection', 'the receiver\'s address and port', (s) => endpoint(s, false, (c, client) => (client ? c.client : c.server))),
  ...ipFields('ip', 'IPv4', false),
  ...ipFields('ipv6', 'IPv6', true),
  num('tcp.srcport', 'connection', 'the sender\'s TCP port', (s) => endpoint(s, true, (c, client) => (client ? c.clientPort : c.serverPort))),
  num('tcp.dstport', 'connection', 'the receiver\'s TCP port', (s) => endpoint(s, false, (c, client) => (client ? c.clientPort : c.serverPort))),
  num('tcp.port', 'connection', 'either TCP port of the connection', (s) => {
    const c = connOf(s);
    return c === null ? undefined : [c.clientPort, c.serverPort];
  }),
  num('tcp.stream', 'connection', 'Wireshark\'s tcp.stream number of the connection (as in the NDJSON `tcpStream`)', (s) => connOf(s)?.tcpStream ?? undefined),
  str('transport', 'connection', 'the layers MQTT came through (absent for plain TCP; WebSocket inside TLS has both)', (s) => connOf(s)?.transport, [], ['tls', 'websocket']),
  str('clientId', 'connection', 'the Client Identifier of the connection\'s CONNECT (or the one the server assigned)', (s) => s.facts?.clientId, aliasesOf(F.clientId)),
  str('username', 'connection', 'the User Name of the connection\'s CONNECT', (s) => s.facts?.username, aliasesOf(F.username)),
  str('version', 'connection', 'the MQTT version the packet (or the connection) was decoded with', (s) => {
    const lv = levelOf(s);
    return lv === undefined ? undefined : VERSION_NAME[lv];
  }, [], ['3.1', '3.1.1', '5.0']),

  // The frame's headers.
  ...segmentFields(),

  // Sparkplug B (the dialect stage's fields.sparkplug, docs/sparkplug.md).
  ...sparkplugFields(),
  ...decodedFields(),

  // The packet.
  str('type', 'packet', 'the packet type by name (PUBLISH, CONNECT, …; RESERVED for 0 and 15 before 5.0)', (s) => s.rec?.decoded.typeName, [], TYPE_NAMES),
  num('packetType', 'packet', 'the packet type as a number (the high nibble of the first byte, 0-15)', (s) => s.rec?.decoded.wireType, aliasesOf(F.packetType)),
  num('length', 'packet', 'the packet\'s length in bytes, fixed header included (as on the wire when the capture cut it)', (s) => s.rec === null ? undefined : s.rec.truncated ?? s.rec.decoded.length),
  num('remainingLength', 'packet', F.remainingLength.label, (s) => s.rec?.decoded.remainingLength, aliasesOf(F.remainingLength)),
  hexByte(num('packetTypeFlags', 'packet', F.packetTypeFlags.label + ' (the whole first byte)', (s) => {
    const d = s.rec?.decoded;
    return d === undefined ? undefined : (d.wireType << 4) | d.flags;
  }, aliasesOf(F.packetTypeFlags))),
  reg(F.qos, 'number', (s) => {
    const d = s.rec?.decoded;
    if (d?.type === PUBLISH) return d.qos;
    if (d?.type === SUBSCRIBE) return d.subscriptions?.map((x) => x.qos);
    return undefined;
  }, [F.subscriptionQos], 'QoS of a PUBLISH; the requested (5.0: maximum) QoS of each SUBSCRIBE filter'),
  reg(F.reservedFlags, 'number', (s) => {
    // The low nibble of the first byte where it is not DUP/QoS/RETAIN: PUBLISH's, and in MQTT 3.1 also those of
    // SUBSCRIBE, UNSUBSCRIBE and PUBREL, which 3.1 sends with QoS 1 (and DUP on a retry).
    const d = s.rec?.decoded;
    if (d === undefined || d.type === PUBLISH) return undefined;
    if (d.level === 3 && (d.type === SUBSCRIBE || d.type === UNSUBSCRIBE || d.type === PUBREL)) return undefined;
    return d.flags;
  }),
  hexByte(reg(F.connectFlags, 'number', (s) => connectFlagsByte(s))),
  reg(F.connectReserved, 'number', (s) => {
    const b = connectFlagsByte(s);
    return b === undefined ? undefined : b & F.connectReserved.bits.mask;
  }),
  hexByte(reg(F.acknowledgeFlags, 'number', (s) => connackFlagsByte(s))),
  num('acknowledgeReserved', 'packet', 'the reserved bits 7-1 of the CONNACK acknowledge flags', (s) => {
    const b = connackFlagsByte(s);
    return b === undefined ? undefined : b & 0xfe;
  }, tshark('mqtt.conack.flags.reserved')),
  ...lengthFields(),
  reg(F.noLocal, 'boolean', (s) => subscriptionOption(s, (x) => x.noLocal)),
  reg(F.retainAsPublished, 'boolean', (s) => subscriptionOption(s, (x) => x.retainAsPublished)),
  reg(F.retainHandling, 'number', (s) => {
    const d = s.rec?.decoded;
    if (d?.type !== SUBSCRIBE || d.subscriptions === undefined) return undefined;
    const out: number[] = [];
    for (const x of d.subscriptions) if (x.retainHandling !== undefined) out.push(x.retainHandling);
    return out.length === 0 ? undefined : out;
  }),
  reg(F.dup, 'boolean', (s) => (s.rec?.decoded.type === PUBLISH ? s.rec.decoded.dup : undefined)),
  reg(F.retain, 'boolean', (s) => (s.rec?.decoded.type === PUBLISH ? s.rec.decoded.retain : undefined)),
  reg(F.topic, 'string', (s) => {
    const d = s.rec?.decoded;
    if (d?.type === PUBLISH) return d.resolvedTopic ?? d.topic;
    if (d?.type === SUBSCRIBE) return d.subscriptions?.map((x) => x.topic);
    if (d?.type === UNSUBSCRIBE) return d.topics;
    return undefined;
  }, [F.subscriptionTopic, F.topics], 'Topic Name of a PUBLISH (the resolved one for a 5.0 Topic Alias); the Topic Filters of a SUBSCRIBE or UNSUBSCRIBE'),
  reg(F.packetId, 'number', (s) => {
    const d = s.rec?.decoded;
    switch (d?.type) {
      case PUBLISH: case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: case SUBSCRIBE: case SUBACK: case UNSUBSCRIBE: case UNSUBACK:
        return d.packetId;
      default:
        return undefined;
    }
  }),
  reg(F.payloadLength, 'number', (s) => (s.rec?.decoded.type === PUBLISH ? s.rec.decoded.payloadLength : undefined)),
  reg(F.payload, 'bytes', (s) => {
    const d = s.rec?.decoded;
    if (d?.type !== PUBLISH || d.payloadLength === undefined) return undefined;
    // What the capture holds of it (the snaplen may have cut it).
    return s.rec!.bytes.subarray(d.payloadOffset, Math.min(d.payloadEnd, s.rec!.bytes.length));
  }),
  reg(F.payloadView, 'string', (s) => (s.rec?.decoded.type === PUBLISH ? s.rec.decoded.payloadView : undefined)),
  reg(F.protocolName, 'string', (s) => (s.rec?.decoded.type === CONNECT ? s.rec.decoded.protocolName : undefined)),
  reg(F.protocolLevel, 'number', (s) => (s.rec?.decoded.type === CONNECT ? s.rec.decoded.protocolLevel : undefined)),
  reg(F.cleanSession, 'boolean', (s) => {
    const d = s.rec?.decoded;
    return d?.type === CONNECT ? d.cleanSession ?? d.cleanStart : undefined;
  }, [F.cleanStart]),
  reg(F.willFlag, 'boolean', (s) => (s.rec?.decoded.type === CONNECT ? s.rec.decoded.willFlag : undefined)),
  reg(F.willQos, 'number', (s) => (s.rec?.decoded.type === CONNECT ? s.rec.decoded.willQos : undefined)),
  reg(F.willRetain, 'boolean', (s) => (s.rec?.decoded.type === CONNECT ? s.rec.decoded.willRetain : undefined)),
  reg(F.usernameFlag, 'boolean', (s) => (s.rec?.decoded.type === CONNECT ? s.rec.decoded.usernameFlag : undefined)),
  reg(F.passwordFlag, 'boolean', (s) => (s.rec?.decoded.type === CONNECT ? s.rec.decoded.passwordFlag : undefined)),
  reg(F.keepAlive, 'number', (s) => (s.rec?.decoded.type === CONNECT ? s.rec.decoded.keepAlive : undefined)),
  reg(F.willTopic, 'string', (s) => (s.rec?.decoded.type === CONNECT ? s.rec.decoded.willTopic : undefined)),
  reg(F.willPayload, 'bytes', (s) => (s.rec?.decoded.type === CONNECT ? range(s, s.rec.decoded.willPayload) : undefined)),
  {
    ...reg(F.password, 'bytes', (s) => (s.rec?.decoded.type === CONNECT ? range(s, s.rec.decoded.password) : undefined)),
    // Exported as text, as Wireshark shows a password (mqtt.passwd is a string there).
    text: (s) => {
      const p = s.rec?.decoded.type === CONNECT ? range(s, s.rec.decoded.password) : undefined;
      return p === undefined ? undefined : escapeControls(textDecoder.decode(p));
    },
  },
  reg(F.sessionPresent, 'boolean', (s) => (s.rec?.decoded.type === CONNACK ? s.rec.decoded.sessionPresent : undefined)),
  reg(F.returnCode, 'number', (s) => {
    const d = s.rec?.decoded;
    if (d?.type === CONNACK) return d.returnCode;
    if (d?.type === SUBACK) return d.returnCodes;
    return undefined;
  }, [F.returnCodes]),
  reg(F.reasonCode, 'number', (s) => {
    const d = s.rec?.decoded;
    switch (d?.type) {
      case CONNACK: case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: case DISCONNECT:
        return d.reasonCode;
      case AUTH:
        return d instanceof AuthPacket ? d.reasonCode : undefined;
      case SUBACK: case UNSUBACK:
        return d.reasonCodes;
      default:
        return undefined;
    }
  }, [F.reasonCodes]),
  reg(F.reasonCodeName, 'string', (s) => {
    const d = s.rec?.decoded;
    switch (d?.type) {
      case CONNACK:
        return d.reasonCodeName ?? d.returnCodeName;
      case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: case DISCONNECT:
        return d.reasonCodeName;
      case AUTH:
        return d instanceof AuthPacket ? d.reasonCodeName : undefined;
      case SUBACK:
        return d.reasonCodeNames ?? d.returnCodeNames;
      case UNSUBACK:
        return d.reasonCodeNames;
      default:
        return undefined;
    }
  }, [F.returnCodeName, F.reasonCodeNames, F.returnCodeNames]),

  // 5.0 properties, one field each.
  ...PROPERTY_FIELDS.map((p): FilterField => {
    const key = p.property.key;
    const name = `properties.${key}`;
    const alias = p.tshark !== undefined ? tshark(p.tshark) : [];
    const describe = `${p.property.name} (${p.json.replace(/`/g, '')})`;
    switch (p.property.type) {
      case 'utf8': {
        const get = accessor(PROP_STRING, key);
        return str(name, 'property', describe, (s) => {
          const props = propertiesOf(s);
          return props === undefined ? undefined : get(props);
        }, alias);
      }
      case 'utf8Pair':
        return str(name, 'property', `${p.property.name}, each as "name=value"`, (s) => {
          const u = propertiesOf(s)?.userProperties;
          return u?.map(([k, v]) => `${k}=${v}`);
        }, alias);
      case 'binary': {
        const get = accessor(PROP_BYTES, key);
        const f = bytes(name, 'property', describe, (s) => {
          const props = propertiesOf(s);
          return props === undefined ? undefined : range(s, get(props));
        }, alias);
        return p.secret === true ? { ...f, secret: true } : f;
      }
      default: {
        const get = accessor(PROP_NUMBER, key);
        return num(name, 'property', describe, (s) => {
          const props = propertiesOf(s);
          return props === undefined ? undefined : get(props);
        }, alias);
      }
    }
  }),

  // Findings and events.
  bool('violation', 'finding', 'the record has findings (bare `violation`); see violation.id', (s) => (violationsOf(s).length > 0 ? true : undefined)),
  findingField('violation.id', 'the statement ids of the record\'s findings (MQTT-3.1.2-3, RFC6455:5.1:client-mask, …)', (v) => v.id),
  findingField('violation.severity', 'the severities of the record\'s findings', (v) => v.severity, ['error', 'warning', 'note']),
  findingField('violation.spec', 'the versions the findings cite (3.1, 3.1.1, 5.0, RFC6455, TLS, ref)', (v) => v.spec),
  findingField('violation.message', 'the findings\' messages', (v) => v.message),
  str('event', 'event', 'the event\'s kind (gap, tls, websocket, …: docs/json.md)', (s) => s.ev?.event, [], EVENT_KINDS),
  str('message', 'event', 'the event\'s message', (s) => s.ev?.message),
  str('close.cause', 'record', 'why the connection ended (the close record\'s cause)', (s) => s.end?.cause, [], END_CAUSES),
];

/** A name as the user typed it, resolved: the field and, for a Wireshark name, the packet types it is limited to. */
export interface ResolvedName {
  readonly field: FilterField;
  readonly types: readonly number[] | null;
  readonly levels?: readonly ProtocolLevel[];
}

/** Every accepted name: our own, then Wireshark's. */
export const FILTER_NAMES: ReadonlyMap<string, ResolvedName> = (() => {
  const m = new Map<string, ResolvedName>();
  for (const f of FILTER_FIELDS) {
    if (m.has(f.name)) throw new Error(`filter field ${f.name} declared twice`);
    m.set(f.name, { field: f, types: null });
  }
  for (const f of FILTER_FIELDS) {
    for (const a of f.tshark) {
      const had = m.get(a.name);
      if (had !== undefined && had.field !== f) throw new Error(`Wireshark name ${a.name} given to both ${had.field.name} and ${f.name}`);
      if (had === undefined) m.set(a.name, { field: f, types: a.types, ...(a.levels !== undefined ? { levels: a.levels } : {}) });
    }
  }
  return m;
})();
