/**
 * The field registry: every field a decoded packet can carry, declared once. The decoder takes its tree labels from
 * here, the NDJSON writer its keys and their order, the docs their tables (docs/json.md is generated from this file
 * and test/fields-docs.test.ts keeps it equal), filters and field export their names and tshark aliases.
 *
 * Two levels: FIELD holds what a field is (key, label, type, tshark name, bit layout, secret, unit) and PACKET_FIELDS
 * lists, per packet type and in NDJSON order, which fields that type carries, in which versions, and what they mean
 * there. A field that reaches the NDJSON without a row here fails test/fields-registry.test.ts.
 */
import {
  AUTH, CONNACK, CONNECT, DISCONNECT, PINGREQ, PINGRESP, PROPERTIES, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK,
  SUBSCRIBE, UNSUBACK, UNSUBSCRIBE, type PropertyInfo,
} from './tables.js';

/** What a field is on the wire and in memory. */
export type FieldType =
  | 'u8' | 'u16' | 'u32' | 'varint'
  /** One or more bits of a flags byte (see `bits`). */
  | 'bits'
  | 'bool'
  /** A code with a name table (return/reason codes). */
  | 'enum'
  /** UTF-8 Encoded String. */
  | 'string'
  /** Text-or-binary bytes value: {encoding:'utf8',text} or {encoding:'hex',data}. */
  | 'bytes'
  /** A 5.0 property block. */
  | 'properties'
  | 'list'
  /** Added by a later stage as plain JSON data. */
  | 'object';

/** The bits of one flags byte a field occupies. */
export interface BitLayout {
  /** Key of the byte's own field (connectFlags, options, acknowledgeFlags, packetTypeFlags). */
  readonly byte: string;
  readonly mask: number;
}

export interface FieldDef {
  /** The NDJSON key (camelCase), also the key of the field's tree node. */
  readonly key: string;
  /** Human label for -V, -x and explain. */
  readonly label: string;
  readonly type: FieldType;
  /** How the value appears in JSON (the docs' "type" column). */
  readonly json: string;
  /** Wireshark's display-filter name, where Wireshark has the same field. */
  readonly tshark?: string;
  readonly bits?: BitLayout;
  /** Masked by --redact in every mode. */
  readonly secret?: true;
  readonly unit?: 's' | 'bytes';
  /** The stage that adds the field, when it is not the decoder. */
  readonly addedBy?: 'rules' | 'dialects';
}

type FieldMore = Omit<FieldDef, 'key' | 'label' | 'type' | 'json'>;

/** A field definition; what `more` sets (a bit layout, a tshark name) stays known to the compiler. */
function def<M extends FieldMore = Record<never, never>>(key: string, label: string, type: FieldType, json: string, more?: M): FieldDef & M {
  // Without `more`, M is the empty default, so an empty object is a valid M.
  return { key, label, type, json, ...(more ?? ({} as M)) };
}

/** Bit fields of one flags byte. */
function bit(byte: string, mask: number): { bits: BitLayout } {
  return { bits: { byte, mask } };
}

export const FIELD = {
  // Fixed header
  packetTypeFlags: def('packetTypeFlags', 'packet type and flags', 'u8', 'number', { tshark: 'mqtt.hdrflags' }),
  packetType: def('packetType', 'packet type', 'bits', 'number', { tshark: 'mqtt.msgtype', ...bit('packetTypeFlags', 0xf0) }),
  remainingLength: def('remainingLength', 'remaining length', 'varint', 'number', { tshark: 'mqtt.len', unit: 'bytes' }),
  reservedFlags: def('reservedFlags', 'reserved flags', 'bits', 'number', { tshark: 'mqtt.hdr_reserved', ...bit('packetTypeFlags', 0x0f) }),
  qos: def('qos', 'QoS', 'bits', 'number', { tshark: 'mqtt.qos', ...bit('packetTypeFlags', 0x06) }),
  dup: def('dup', 'DUP', 'bits', 'boolean', { tshark: 'mqtt.dupflag', ...bit('packetTypeFlags', 0x08) }),
  retain: def('retain', 'RETAIN', 'bits', 'boolean', { tshark: 'mqtt.retain', ...bit('packetTypeFlags', 0x01) }),

  // CONNECT
  protocolName: def('protocolName', 'protocol name', 'string', 'string', { tshark: 'mqtt.protoname' }),
  protocolLevel: def('protocolLevel', 'protocol level', 'u8', 'number', { tshark: 'mqtt.ver' }),
  bridge: def('bridge', 'bridge bit', 'bits', '`true`'),
  connectFlags: def('connectFlags', 'connect flags', 'u8', 'number', { tshark: 'mqtt.conflags' }),
  usernameFlag: def('usernameFlag', 'user name flag', 'bits', 'boolean', { tshark: 'mqtt.conflag.uname', ...bit('connectFlags', 0x80) }),
  passwordFlag: def('passwordFlag', 'password flag', 'bits', 'boolean', { tshark: 'mqtt.conflag.passwd', ...bit('connectFlags', 0x40) }),
  willRetain: def('willRetain', 'will retain', 'bits', 'boolean', { tshark: 'mqtt.conflag.retain', ...bit('connectFlags', 0x20) }),
  willQos: def('willQos', 'will QoS', 'bits', 'number', { tshark: 'mqtt.conflag.qos', ...bit('connectFlags', 0x18) }),
  willFlag: def('willFlag', 'will flag', 'bits', 'boolean', { tshark: 'mqtt.conflag.willflag', ...bit('connectFlags', 0x04) }),
  cleanSession: def('cleanSession', 'clean session', 'bits', 'boolean', { tshark: 'mqtt.conflag.cleansess', ...bit('connectFlags', 0x02) }),
  cleanStart: def('cleanStart', 'clean start', 'bits', 'boolean', { tshark: 'mqtt.conflag.cleansess', ...bit('connectFlags', 0x02) }),
  connectReserved: def('reserved', 'reserved', 'bits', 'number', { tshark: 'mqtt.conflag.reserved', ...bit('connectFlags', 0x01) }),
  keepAlive: def('keepAlive', 'keep alive', 'u16', 'number', { tshark: 'mqtt.kalive', unit: 's' }),
  clientId: def('clientId', 'client identifier', 'string', 'string', { tshark: 'mqtt.clientid' }),
  willTopic: def('willTopic', 'will topic', 'string', 'string', { tshark: 'mqtt.willtopic' }),
  willPayload: def('willPayload', 'will payload', 'bytes', 'bytes value', { tshark: 'mqtt.willmsg' }),
  username: def('username', 'user name', 'string', 'string', { tshark: 'mqtt.username' }),
  password: def('password', 'password', 'bytes', 'bytes value', { tshark: 'mqtt.passwd', secret: true }),
  properties: def('properties', 'properties', 'properties', 'object', { tshark: 'mqtt.properties' }),
  willProperties: def('willProperties', 'will properties', 'properties', 'object', { tshark: 'mqtt.will_properties' }),

  // CONNACK
  acknowledgeFlags: def('acknowledgeFlags', 'acknowledge flags', 'u8', 'number', { tshark: 'mqtt.conack.flags' }),
  sessionPresent: def('sessionPresent', 'session present', 'bits', 'boolean', { tshark: 'mqtt.conack.flags.sp', ...bit('acknowledgeFlags', 0x01) }),
  returnCode: def('returnCode', 'return code', 'enum', 'number', { tshark: 'mqtt.conack.val' }),
  returnCodeName: def('returnCodeName', 'return code name', 'enum', 'string'),
  reasonCode: def('reasonCode', 'reason code', 'enum', 'number'),
  reasonCodeName: def('reasonCodeName', 'reason code name', 'enum', 'string'),

  // PUBLISH
  topic: def('topic', 'topic name', 'string', 'string', { tshark: 'mqtt.topic' }),
  packetId: def('packetId', 'packet identifier', 'u16', 'number', { tshark: 'mqtt.msgid' }),
  payloadLength: def('payloadLength', 'payload length', 'u32', 'number', { unit: 'bytes' }),
  payload: def('payload', 'payload', 'bytes', 'bytes value', { tshark: 'mqtt.msg' }),
  resolvedTopic: def('resolvedTopic', 'resolved topic', 'string', 'string', { addedBy: 'rules' }),
  onenet: def('onenet', 'OneNET', 'object', 'object', { addedBy: 'dialects' }),
  sparkplug: def('sparkplug', 'Sparkplug B', 'object', 'object', { addedBy: 'dialects' }),
  payloadView: def('payloadView', 'payload view', 'enum', 'string', { addedBy: 'dialects' }),
  payloadDecoded: def('payloadDecoded', 'decoded payload', 'object', 'object', { addedBy: 'dialects' }),

  // SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK
  subscriptions: def('subscriptions', 'subscriptions', 'list', 'array'),
  subscriptionTopic: def('topic', 'topic filter', 'string', 'string', { tshark: 'mqtt.topic' }),
  subscriptionQos: def('qos', 'QoS', 'bits', 'number', { tshark: 'mqtt.sub.qos', ...bit('options', 0x03) }),
  noLocal: def('noLocal', 'no local', 'bits', 'boolean', { tshark: 'mqtt.subscription_options_nl', ...bit('options', 0x04) }),
  retainAsPublished: def('retainAsPublished', 'retain as published', 'bits', 'boolean', { tshark: 'mqtt.subscription_options_rap', ...bit('options', 0x08) }),
  retainHandling: def('retainHandling', 'retain handling', 'bits', 'number', { tshark: 'mqtt.subscription_options_retain', ...bit('options', 0x30) }),
  options: def('options', 'subscription options', 'u8', 'number', { tshark: 'mqtt.subscription_options' }),
  returnCodes: def('returnCodes', 'return codes', 'list', 'number[]', { tshark: 'mqtt.suback.qos' }),
  returnCodeNames: def('returnCodeNames', 'return code names', 'list', 'string[]'),
  reasonCodes: def('reasonCodes', 'reason codes', 'list', 'number[]'),
  reasonCodeNames: def('reasonCodeNames', 'reason code names', 'list', 'string[]'),
  topics: def('topics', 'topic filters', 'list', 'string[]', { tshark: 'mqtt.topic' }),
} as const satisfies Record<string, FieldDef>;

export type FieldName = keyof typeof FIELD;

/** One field as one packet type carries it. */
export interface PacketFieldRow {
  readonly field: FieldDef;
  /** Dotted path for nested fields (`subscriptions[].topic`), else the key. */
  readonly path: string;
  /** When it is present: versions, or a condition ("QoS 1, 2", "will", "user flag"). */
  readonly versions: string;
  readonly meaning: string;
  /** Wireshark's name for this field in this packet type, where it differs from the field's own. */
  readonly tshark?: string;
}

function row(field: FieldDef, versions: string, meaning: string, more: { path?: string; tshark?: string } = {}): PacketFieldRow {
  return { field, path: more.path ?? field.key, versions, meaning, ...(more.tshark ? { tshark: more.tshark } : {}) };
}

const F = FIELD;

/** Wireshark names the 5.0 reason code per packet type. */
function reasonRows(tshark: string, omitted: string, names: string): PacketFieldRow[] {
  return [row(F.reasonCode, '5.0', omitted, { tshark }), row(F.reasonCodeName, '5.0', names)];
}

/**
 * Per packet type, the fields in NDJSON order (decoder fields in the order their bytes are read, then what later
 * stages add). Types without fields have an empty list.
 */
export const PACKET_FIELDS: readonly (readonly PacketFieldRow[])[] = (() => {
  const t: PacketFieldRow[][] = Array.from({ length: 16 }, () => []);
  t[CONNECT] = [
    row(F.protocolName, 'all', '`"MQTT"` (3.1.1, 5.0) or `"MQIsdp"` (3.1)'),
    row(F.protocolLevel, 'all', 'level byte; with the bridge bit (0x80) set, the value without it'),
    row(F.bridge, 'all', 'present only when bit 7 of the level byte was set (mosquitto bridge marker)'),
    row(F.cleanSession, '3.1, 3.1.1', 'connect flags bit 1'),
    row(F.cleanStart, '5.0', 'connect flags bit 1 (renamed in 5.0)'),
    row(F.willFlag, 'all', 'bit 2'),
    row(F.willQos, 'all', 'bits 4-3 (3 is reported as a problem)'),
    row(F.willRetain, 'all', 'bit 5'),
    row(F.passwordFlag, 'all', 'bit 6'),
    row(F.usernameFlag, 'all', 'bit 7'),
    row(F.keepAlive, 'all', 'seconds; 0 = off. The server may close after 1.5 × this without traffic'),
    row(F.properties, '5.0', 'CONNECT properties (see [Properties](#properties-50))'),
    row(F.clientId, 'all', 'Client Identifier (may be `""`)'),
    row(F.willProperties, '5.0, will', 'Will Properties'),
    row(F.willTopic, 'will', 'Will Topic'),
    row(F.willPayload, 'will', 'Will Message (3.1) / Will Payload (3.1.1, 5.0), cut after `payloadLimit`'),
    row(F.username, 'user flag', 'User Name'),
    row(F.password, 'password flag', 'Password. Never cut. **Secret**: redact'),
    row(F.onenet, 'OneNET', 'added by the dialect stage: device and product ids, authentication info (docs/onenet.md)'),
  ];
  t[CONNACK] = [
    row(F.sessionPresent, '3.1.1, 5.0', 'bit 0 of the acknowledge flags (3.1 has no such bit; left out)'),
    row(F.returnCode, '3.1, 3.1.1', '0..5 defined; 6..255 reserved'),
    row(F.returnCodeName, '3.1, 3.1.1', 'e.g. `"Connection Accepted"`, `"Connection Refused, not authorized"`, `"Reserved"`'),
    row(F.reasonCode, '5.0', 'Connect Reason Code', { tshark: 'mqtt.connack.reason_code' }),
    row(F.reasonCodeName, '5.0', 'e.g. `"Success"`, `"Bad User Name or Password"`, `"Unknown"`'),
    row(F.properties, '5.0', 'CONNACK properties'),
  ];
  t[PUBLISH] = [
    row(F.qos, 'all', 'fixed-header bits 2-1 (3 is a problem; decoding then stops after the topic)'),
    row(F.dup, 'all', 'fixed-header bit 3'),
    row(F.retain, 'all', 'fixed-header bit 0'),
    row(F.topic, 'all', 'Topic Name. In 5.0 it may be `""` when a Topic Alias is present; a later stage may add `resolvedTopic`'),
    row(F.packetId, 'QoS 1, 2', 'Packet Identifier'),
    row(F.properties, '5.0', 'PUBLISH properties'),
    row(F.payloadLength, 'all', 'the true payload length in bytes'),
    row(F.payload, 'all', 'the payload, cut after `payloadLimit` bytes (then `"truncated": true`)'),
    row(F.resolvedTopic, '5.0, alias', 'added by the rules stage: the topic the Topic Alias stands for in that direction'),
    row(F.onenet, 'OneNET', 'added by the dialect stage: `$dp` data points, command links (docs/onenet.md)'),
    row(F.sparkplug, 'Sparkplug B', 'added by the dialect stage on `spBv1.0/` topics: message type, group, edge node, device, seq, timestamp and the metrics with names and typed values (docs/sparkplug.md)'),
    row(F.payloadView, 'all', 'added by the dialect stage: `"json"`, `"text"` or `"binary"` (how the payload reads)'),
    row(F.payloadDecoded, '--decode', 'added by the dialect stage when a `--decode FILTER=FORMAT` binding matches the topic: `{filter, format, detected?, layers?, value?, cut?, error?}` (docs/decoders.md)'),
  ];
  for (const [type, tshark] of [
    [PUBACK, 'mqtt.puback.reason_code'],
    [PUBREC, 'mqtt.pubrec.reason_code'],
    [PUBREL, 'mqtt.pubrel.reason_code'],
    [PUBCOMP, 'mqtt.pubcomp.reason_code'],
  ] as const) {
    t[type] = [
      row(F.packetId, 'all', 'Packet Identifier'),
      ...reasonRows(tshark, 'reason code; `0` when left out (Remaining Length 2)',
        'name from that packet type\'s table, e.g. `"No matching subscribers"` (PUBACK, PUBREC), `"Packet Identifier not found"` (PUBREL, PUBCOMP)'),
      row(F.properties, '5.0', 'properties; `{}` when the short form leaves them out (Remaining Length 2 or 3)'),
    ];
  }
  t[SUBSCRIBE] = [
    row(F.packetId, 'all', 'Packet Identifier'),
    row(F.properties, '5.0', 'SUBSCRIBE properties (Subscription Identifier, User Property)'),
    row(F.subscriptions, 'all', 'one entry per Topic Filter, in wire order'),
    row(F.subscriptionTopic, 'all', 'the Topic Filter (including any `$share/{name}/` prefix)', { path: 'subscriptions[].topic' }),
    row(F.subscriptionQos, 'all', 'requested QoS (3.x) / Maximum QoS (5.0), bits 1-0', { path: 'subscriptions[].qos' }),
    row(F.noLocal, '5.0', 'options bit 2', { path: 'subscriptions[].noLocal' }),
    row(F.retainAsPublished, '5.0', 'options bit 3', { path: 'subscriptions[].retainAsPublished' }),
    row(F.retainHandling, '5.0', 'options bits 5-4: 0 send retained, 1 only for a new subscription, 2 never', { path: 'subscriptions[].retainHandling' }),
  ];
  t[SUBACK] = [
    row(F.packetId, 'all', 'Packet Identifier'),
    row(F.properties, '5.0', 'SUBACK properties'),
    row(F.returnCodes, '3.1, 3.1.1', 'one per filter: 0, 1, 2 granted QoS; 0x80 (128) failure'),
    row(F.returnCodeNames, '3.1, 3.1.1', 'e.g. `"Success - Maximum QoS 1"`, `"Failure"`, `"Unknown"`'),
    row(F.reasonCodes, '5.0', 'one per filter', { tshark: 'mqtt.suback.reason_code' }),
    row(F.reasonCodeNames, '5.0', 'e.g. `"Granted QoS 2"`, `"Not authorized"`, `"Unknown"`'),
  ];
  t[UNSUBSCRIBE] = [
    row(F.packetId, 'all', 'Packet Identifier'),
    row(F.properties, '5.0', 'UNSUBSCRIBE properties (User Property only)'),
    row(F.topics, 'all', 'the Topic Filters, in wire order'),
  ];
  t[UNSUBACK] = [
    row(F.packetId, 'all', 'Packet Identifier'),
    row(F.properties, '5.0', 'UNSUBACK properties'),
    row(F.reasonCodes, '5.0', 'one per filter', { tshark: 'mqtt.unsuback.reason_code' }),
    row(F.reasonCodeNames, '5.0', 'e.g. `"Success"`, `"No subscription existed"`'),
  ];
  t[PINGREQ] = [];
  t[PINGRESP] = [];
  t[DISCONNECT] = [
    ...reasonRows('mqtt.disconnect.reason_code', '`0` when left out (Remaining Length 0)', 'e.g. `"Normal disconnection"`, `"Session taken over"`'),
    row(F.properties, '5.0', '`{}` when left out (Remaining Length 0 or 1)'),
  ];
  t[AUTH] = [
    ...reasonRows('mqtt.auth.reason_code', '`0` when left out (Remaining Length 0)', '`"Success"`, `"Continue authentication"`, `"Re-authenticate"`'),
    row(F.properties, '5.0', '`{}` when left out; otherwise it should hold `authenticationMethod`'),
  ];
  return t;
})();

/** A 5.0 property as a field: its key in a `properties` object, JSON type and Wireshark name. */
export interface PropertyFieldRow {
  readonly property: PropertyInfo;
  readonly json: string;
  readonly tshark?: string;
  readonly secret?: true;
  readonly unit?: 's' | 'bytes';
}

/** What the docs say of each property's JSON value (the property table itself is PROPERTIES in tables.ts). */
const PROPERTY_JSON: Readonly<Record<string, Omit<PropertyFieldRow, 'property'>>> = {
  payloadFormatIndicator: { json: 'number (0 bytes, 1 UTF-8)' },
  messageExpiryInterval: { json: 'number (s)', unit: 's' },
  contentType: { json: 'string', tshark: 'mqtt.property.content_type' },
  responseTopic: { json: 'string' },
  correlationData: { json: "`{encoding:'hex', data}`" },
  subscriptionIdentifier: { json: 'number[] in PUBLISH, number in SUBSCRIBE' },
  sessionExpiryInterval: { json: 'number (s; 0xFFFFFFFF = never)', unit: 's' },
  assignedClientIdentifier: { json: 'string' },
  serverKeepAlive: { json: 'number (s)', unit: 's' },
  authenticationMethod: { json: 'string' },
  authenticationData: { json: 'bytes value (**secret**)', secret: true },
  requestProblemInformation: { json: 'number 0/1' },
  willDelayInterval: { json: 'number (s)', unit: 's' },
  requestResponseInformation: { json: 'number 0/1' },
  responseInformation: { json: 'string' },
  serverReference: { json: 'string' },
  reasonString: { json: 'string' },
  receiveMaximum: { json: 'number' },
  topicAliasMaximum: { json: 'number' },
  topicAlias: { json: 'number', tshark: 'mqtt.property.topic_alias' },
  maximumQos: { json: 'number 0/1', tshark: 'mqtt.property.max_qos' },
  retainAvailable: { json: 'number 0/1' },
  userProperties: { json: '`[string, string][]`' },
  maximumPacketSize: { json: 'number', unit: 'bytes' },
  wildcardSubscriptionAvailable: { json: 'number 0/1' },
  subscriptionIdentifierAvailable: { json: 'number 0/1' },
  sharedSubscriptionAvailable: { json: 'number 0/1' },
};

export const PROPERTY_FIELDS: readonly PropertyFieldRow[] = PROPERTIES.map((p) => {
  const j = PROPERTY_JSON[p.key];
  if (!j) throw new Error(`property ${p.key} has no registry row`);
  return { property: p, ...j };
});

/** Keys whose values are secrets (masked by --redact in every mode): from the registry. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  ...Object.values(FIELD as Record<string, FieldDef>).filter((f) => f.secret).map((f) => f.key),
  ...PROPERTY_FIELDS.filter((p) => p.secret).map((p) => p.property.key),
]);

/** Every key a packet of `type` may carry in its fields object (top level), in NDJSON order. */
export function fieldKeys(type: number): string[] {
  const seen = new Set<string>();
  for (const r of PACKET_FIELDS[type & 15] ?? []) if (!r.path.includes('.')) seen.add(r.field.key);
  return [...seen];
}
