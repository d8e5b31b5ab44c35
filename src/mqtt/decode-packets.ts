/**
 * The variable header and payload of each packet type, read with the cursor into the typed packet. A structural
 * defect throws STOP (the entry point catches it); semantic defects are recorded and reading goes on.
 */
import { bitNode, STOP, StrKind, type Cursor } from './cursor.js';
import { bits, bytesValueText, clip, duration, fmtNum, hex1, payloadExplain, RETAIN_HANDLING } from './explain-text.js';
import { FIELD } from './fields.js';
import {
  Properties, type AckPacket, type AuthPacket, type ConnackPacket, type ConnectPacket, type DisconnectPacket,
  type PublishPacket, type SubackPacket, type SubscribePacket, type SubscriptionRequest, type UnsubackPacket,
  type UnsubscribePacket,
} from './packets.js';
import {
  AUTH, CONNACK, CONNECT, DISCONNECT, PUBLISH, SUBACK, SUBACK_RETURN_CODES, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE, WILL_CONTEXT,
  PROTOCOL_NAME_31, PROTOCOL_NAME_311, connackReturnCodeName, reasonCode,
} from './tables.js';
import { isSharedFilter } from './topics.js';
import { isWellFormedUtf8 } from './utf8.js';

const F = FIELD;

export function decodeConnect(d: Cursor, p: ConnectPacket): void {
  const b = d.b;
  d.open('variableHeader', 'variable header');
  const nameAt = d.pos;
  d.field = F.protocolName.key;
  const name = d.str(F.protocolName.key, F.protocolName.label);
  p.protocolName = name;
  if (name !== PROTOCOL_NAME_311 && name !== PROTOCOL_NAME_31) {
    d.problem('bad-protocol-name', nameAt, d.pos - nameAt, `protocol name "${clip(name)}" is neither "${PROTOCOL_NAME_311}" nor "${PROTOCOL_NAME_31}"`);
  }
  const lvAt = d.pos;
  d.field = F.protocolLevel.key;
  d.need(1, F.protocolLevel.key, F.protocolLevel.label);
  const raw = b[lvAt]!;
  d.pos++;
  let lv = raw;
  if ((raw & 0x80) !== 0 && (raw & 0x7f) >= 3 && (raw & 0x7f) <= 5) {
    lv = raw & 0x7f;
    p.protocolLevel = lv;
    p.bridge = true;
    d.problem('bridge-flag', lvAt, 1, `protocol level ${hex1(raw)} has the bridge bit (0x80) set; decoded as level ${lv}`);
  } else {
    p.protocolLevel = raw;
  }
  const valid = lv === 3 || lv === 4 || lv === 5;
  if (d.t) {
    const what = valid ? `MQTT ${lv === 3 ? '3.1' : lv === 4 ? '3.1.1' : '5.0'}` : 'not a known MQTT version';
    d.node(F.protocolLevel.key, F.protocolLevel.label, lvAt, 1, String(raw), raw !== lv ? `${hex1(raw)} = bridge bit 0x80 + ${lv} (${what})` : `${raw} = ${what}`);
  }
  if (!valid) {
    d.problem('bad-protocol-level', lvAt, 1, `protocol level ${raw} is not 3, 4 or 5; the rest of the packet has no known layout`);
    throw STOP;
  }
  if ((name === PROTOCOL_NAME_311 && lv === 3) || (name === PROTOCOL_NAME_31 && lv !== 3)) {
    d.problem('name-level-mismatch', nameAt, lvAt + 1 - nameAt, `protocol name "${name}" does not go with level ${lv}`);
  }
  const level = d.level; // set from the CONNECT's own bytes by the entry point

  const flAt = d.pos;
  d.field = F.connectFlags.key;
  d.need(1, F.connectFlags.key, F.connectFlags.label);
  const fl = b[flAt]!;
  d.pos++;
  const user = (fl & F.usernameFlag.bits.mask) !== 0;
  const pass = (fl & F.passwordFlag.bits.mask) !== 0;
  const willRetain = (fl & F.willRetain.bits.mask) !== 0;
  const willQos = (fl & F.willQos.bits.mask) >> 3;
  const will = (fl & F.willFlag.bits.mask) !== 0;
  const clean = (fl & F.cleanSession.bits.mask) !== 0;
  const reserved = fl & F.connectReserved.bits.mask;
  if (level === 5) p.cleanStart = clean;
  else p.cleanSession = clean;
  p.willFlag = will;
  p.willQos = willQos;
  p.willRetain = willRetain;
  p.passwordFlag = pass;
  p.usernameFlag = user;
  if (d.t) {
    const cleanField = level === 5 ? F.cleanStart : F.cleanSession;
    const n = d.node(
      F.connectFlags.key, F.connectFlags.label, flAt, 1, hex1(fl),
      `${bits(fl, 0xff)}: user name ${+user}, password ${+pass}, will retain ${+willRetain}, will QoS ${willQos}, will ${+will}, ${cleanField.label} ${+clean}, reserved ${reserved}`,
    );
    n.children = [F.usernameFlag, F.passwordFlag, F.willRetain, F.willQos, F.willFlag, cleanField, F.connectReserved].map((f) => {
      const m = f.bits.mask;
      return bitNode(f.key, f.label, flAt, fl, m, (fl & m) >> lowestBit(m));
    });
  }
  if (reserved && level !== 3) d.problem('connect-reserved-bit', flAt, 1, 'connect flags bit 0 (reserved) is 1');
  if (!will && (willQos !== 0 || willRetain)) {
    d.problem('will-flags', flAt, 1, `Will flag is 0 but Will QoS is ${willQos} and Will Retain is ${+willRetain}`);
  }
  if (will && willQos === 3) d.problem('will-qos3', flAt, 1, 'Will QoS is 3');
  if (level === 4 && pass && !user) d.problem('password-without-username', flAt, 1, 'Password flag is 1 while User Name flag is 0');

  d.field = F.keepAlive.key;
  const ka = d.u16(F.keepAlive.key, F.keepAlive.label);
  p.keepAlive = ka;
  if (d.t) {
    d.last!.explain = ka === 0
      ? '0 = keep alive off: the server expects no traffic at any interval'
      : `${ka} s${ka >= 60 ? ` (${duration(ka)})` : ''}: the client sends something at least every ${ka} s; the server may close after 1.5x = ${fmtNum(ka * 1.5)} s of silence`;
  }
  if (level === 5) {
    const props = new Properties();
    p.properties = props;
    d.properties(props, CONNECT, 'properties', F.properties.label);
  }
  d.close();

  d.open('payload', 'payload');
  const cidAt = d.pos;
  d.field = F.clientId.key;
  const cid = d.str(F.clientId.key, F.clientId.label);
  p.clientId = cid;
  if (cid.length === 0 && ((level === 4 && !clean) || level === 3)) {
    d.problem('clientid-empty', cidAt, 2, level === 3 ? 'MQTT 3.1 requires a ClientId of 1-23 characters' : 'zero-length ClientId requires CleanSession = 1');
  }
  if (will) {
    if (level === 5) {
      const wp = new Properties();
      p.willProperties = wp;
      d.properties(wp, WILL_CONTEXT, 'willProperties', F.willProperties.label);
    }
    const wtAt = d.pos;
    d.field = F.willTopic.key;
    const wt = d.str(F.willTopic.key, F.willTopic.label, StrKind.TopicName);
    p.willTopic = wt;
    if (wt.length === 0) d.problem('topic-empty', wtAt, 2, 'Will Topic is empty');
    d.field = F.willPayload.key;
    const wpRange = d.bin(F.willPayload.key, level === 3 ? 'will message' : F.willPayload.label);
    p.willPayload = wpRange;
    if (p.willProperties?.payloadFormatIndicator === 1 && !isWellFormedUtf8(b, wpRange.start, wpRange.end)) {
      d.problem('payload-not-utf8', wpRange.start, wpRange.end - wpRange.start, 'Will Payload Format Indicator is 1 but the Will Payload is not well-formed UTF-8');
    }
  }
  if (user) {
    d.field = F.username.key;
    if (level === 3 && d.pos >= d.end) {
      d.problem('v31-missing-field', d.pos, 0, 'User Name flag is set but the packet ends before the User Name');
    } else {
      p.username = d.str(F.username.key, F.username.label);
    }
  }
  if (pass) {
    d.field = F.password.key;
    if (level === 3 && d.pos >= d.end) {
      d.problem('v31-missing-field', d.pos, 0, 'Password flag is set but the packet ends before the Password');
    } else {
      const pw = d.bin(F.password.key, F.password.label);
      p.password = pw;
      if (d.t) d.last!.value = bytesValueText(d.display(pw, -1));
    }
  }
  d.close();
  d.trailing();
}

export function decodeConnack(d: Cursor, p: ConnackPacket): void {
  const b = d.b;
  d.open('variableHeader', 'variable header');
  const flAt = d.pos;
  d.field = F.acknowledgeFlags.key;
  d.need(1, F.acknowledgeFlags.key, F.acknowledgeFlags.label);
  const fl = b[flAt]!;
  d.pos++;
  const level = d.level;
  const sp = (fl & F.sessionPresent.bits.mask) !== 0;
  if (level !== 3) p.sessionPresent = sp;
  if (d.t) {
    if (level === 3) {
      d.node(F.acknowledgeFlags.key, 'reserved (3.1: topic name compression response)', flAt, 1, hex1(fl), 'not used in MQTT 3.1');
    } else {
      const n = d.node(F.acknowledgeFlags.key, F.acknowledgeFlags.label, flAt, 1, hex1(fl), `${bits(fl, 0xff)}: reserved ${bits(fl >> 1, 0x7f).replace(/ /g, '').slice(1)}, session present ${+sp}`);
      n.children = [
        { key: 'reserved', label: 'reserved', offset: flAt, length: 1, value: hex1(fl & 0xfe), explain: `${bits(fl, 0xfe)} = reserved, must be 0` },
        bitNode(F.sessionPresent.key, F.sessionPresent.label, flAt, fl, F.sessionPresent.bits.mask, +sp),
      ];
    }
  }
  if (level !== 3 && (fl & 0xfe) !== 0) d.problem('connack-reserved-bits', flAt, 1, `acknowledge flags ${hex1(fl)}: bits 7-1 must be 0`);
  if (level !== 5) {
    const rcAt = d.pos;
    d.field = F.returnCode.key;
    d.need(1, F.returnCode.key, F.returnCode.label);
    const rc = b[rcAt]!;
    d.pos++;
    const name = connackReturnCodeName(rc);
    p.returnCode = rc;
    p.returnCodeName = name ?? 'Reserved';
    if (d.t) d.node(F.returnCode.key, F.returnCode.label, rcAt, 1, String(rc), name ?? `${rc} is reserved (only 0-5 are defined)`);
    if (!name) d.problem('bad-return-code', rcAt, 1, `CONNACK return code ${rc} is reserved (0-5 are defined)`);
    if (level === 4 && sp && rc !== 0) d.problem('session-present-on-failure', flAt, 1, `Session Present is 1 with return code ${rc}`);
    d.close();
    d.trailing();
    return;
  }
  const rc = d.reason(p);
  if (sp && rc !== 0) {
    d.field = F.acknowledgeFlags.key;
    d.problem('session-present-on-failure', flAt, 1, `Session Present is 1 with reason code ${hex1(rc)}`);
  }
  const props = new Properties();
  p.properties = props;
  d.properties(props, CONNACK, 'properties', F.properties.label);
  d.close();
  d.trailing();
}

export function decodePublish(d: Cursor, p: PublishPacket): void {
  const b = d.b;
  const qos = p.qos;
  p.headerFields = true;
  d.open('variableHeader', 'variable header');
  const tAt = d.pos;
  d.field = F.topic.key;
  const topic = d.str(F.topic.key, F.topic.label, StrKind.TopicName);
  p.topic = topic;
  if (topic.length === 0 && d.level !== 5) d.problem('topic-empty', tAt, 2, 'Topic Name is empty');
  // With QoS 3 nobody can tell whether a Packet Identifier follows.
  if (qos === 3) throw STOP;
  if (qos > 0) p.packetId = d.packetId();
  if (d.level === 5) {
    const props = new Properties();
    p.properties = props;
    d.properties(props, PUBLISH, 'properties', F.properties.label);
    if (topic.length === 0 && props.topicAlias === undefined) {
      d.field = F.topic.key;
      d.problem('topic-empty', tAt, 2, 'Topic Name is empty and there is no Topic Alias');
    }
  }
  d.close();
  const pAt = d.pos;
  const avail = d.end - pAt;
  d.field = F.payload.key;
  p.payloadLength = d.declaredEnd - pAt;
  p.payloadOffset = pAt;
  p.payloadEnd = d.end;
  if (p.properties?.payloadFormatIndicator === 1 && !isWellFormedUtf8(b, pAt, d.end)) {
    d.problem('payload-not-utf8', pAt, avail, 'Payload Format Indicator is 1 but the payload is not well-formed UTF-8');
  }
  if (d.t) {
    const payload = d.display({ start: pAt, end: d.end }, d.payloadLimit, d.declaredEnd);
    d.node(F.payload.key, F.payload.label, pAt, avail, bytesValueText(payload), payloadExplain(p.payloadLength, payload));
  }
  d.pos = d.end;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP. */
export function decodeAck(d: Cursor, p: AckPacket): void {
  d.open('variableHeader', 'variable header');
  p.packetId = d.packetId();
  if (d.level === 5) {
    const rest = d.end - d.pos;
    if (rest === 0) {
      d.impliedReason(p, 'Remaining Length 2 means reason 0x00 and no properties');
      p.properties = new Properties();
    } else {
      d.reason(p);
      const props = new Properties();
      p.properties = props;
      if (d.pos !== d.end) d.properties(props, p.type, 'properties', F.properties.label);
    }
  }
  d.close();
  d.trailing();
}

export function decodeSubscribe(d: Cursor, p: SubscribePacket): void {
  const b = d.b;
  const v5 = d.level === 5;
  idAndProperties(d, p, SUBSCRIBE);
  d.open('payload', 'payload');
  const subs: SubscriptionRequest[] = [];
  p.subscriptions = subs;
  d.field = F.subscriptions.key;
  while (d.pos < d.end) {
    d.open('subscription', 'subscription');
    const fAt = d.pos;
    const topic = d.str(F.subscriptionTopic.key, F.subscriptionTopic.label, StrKind.Filter);
    const oAt = d.pos;
    d.need(1, v5 ? F.options.key : F.subscriptionQos.key, v5 ? F.options.label : 'requested QoS');
    const o = b[oAt]!;
    d.pos++;
    const qos = o & F.subscriptionQos.bits.mask;
    if (qos === 3) d.problem('sub-qos3', oAt, 1, `subscription to "${clip(topic)}" requests QoS 3`);
    if (v5) {
      const noLocal = (o & F.noLocal.bits.mask) !== 0;
      const rap = (o & F.retainAsPublished.bits.mask) !== 0;
      const rh = (o & F.retainHandling.bits.mask) >> 4;
      subs.push({ topic, qos, noLocal, retainAsPublished: rap, retainHandling: rh });
      if (rh === 3) d.problem('retain-handling3', oAt, 1, `subscription to "${clip(topic)}" has Retain Handling 3`);
      if (o & 0xc0) d.problem('sub-reserved-bits', oAt, 1, `subscription options ${hex1(o)}: bits 7-6 must be 0`);
      if (noLocal && isSharedFilter(b, fAt + 2, oAt)) d.problem('shared-nolocal', oAt, 1, `No Local is 1 on shared subscription "${clip(topic)}"`);
      if (d.t) {
        const n = d.node(F.options.key, F.options.label, oAt, 1, hex1(o),
          `${bits(o, 0xff)}: QoS ${qos}, no local ${+noLocal}, retain as published ${+rap}, retain handling ${rh}, reserved ${o >> 6}`);
        n.children = [
          bitNode('reserved', 'reserved', oAt, o, 0xc0, o >> 6),
          bitNode(F.retainHandling.key, F.retainHandling.label, oAt, o, F.retainHandling.bits.mask, rh, RETAIN_HANDLING[rh]),
          bitNode(F.retainAsPublished.key, F.retainAsPublished.label, oAt, o, F.retainAsPublished.bits.mask, +rap),
          bitNode(F.noLocal.key, F.noLocal.label, oAt, o, F.noLocal.bits.mask, +noLocal),
          bitNode(F.subscriptionQos.key, 'maximum QoS', oAt, o, F.subscriptionQos.bits.mask, qos),
        ];
      }
    } else {
      subs.push({ topic, qos });
      if (d.level === 4 && (o & 0xfc)) d.problem('sub-reserved-bits', oAt, 1, `requested QoS byte ${hex1(o)}: bits 7-2 must be 0`);
      if (d.t) {
        const n = d.node(F.subscriptionQos.key, 'requested QoS', oAt, 1, String(qos), `${bits(o, 0xff)}: QoS ${qos}${o & 0xfc ? `, reserved bits ${hex1(o & 0xfc)}` : ''}`);
        n.children = [
          { key: 'reserved', label: 'reserved', offset: oAt, length: 1, value: String(o >> 2), explain: `${bits(o, 0xfc)} = reserved` },
          { key: F.subscriptionQos.key, label: F.subscriptionQos.label, offset: oAt, length: 1, value: String(qos), explain: `${bits(o, 0x03)} = QoS ${qos}` },
        ];
      }
    }
    d.close();
  }
  if (subs.length === 0) d.problem('no-filters', d.pos, 0, 'SUBSCRIBE has no Topic Filter');
  d.close();
}

export function decodeSuback(d: Cursor, p: SubackPacket): void {
  const b = d.b;
  const v5 = d.level === 5;
  idAndProperties(d, p, SUBACK);
  d.open('payload', 'payload');
  const codes: number[] = [];
  const names: string[] = [];
  if (v5) {
    p.reasonCodes = codes;
    p.reasonCodeNames = names;
  } else {
    p.returnCodes = codes;
    p.returnCodeNames = names;
  }
  d.field = v5 ? F.reasonCodes.key : F.returnCodes.key;
  while (d.pos < d.end) {
    const at = d.pos;
    const rc = b[at]!;
    d.pos++;
    let name: string | undefined;
    if (v5) {
      const e = reasonCode(SUBACK, rc);
      name = e?.name;
      if (!e) d.problem('bad-reason-code', at, 1, `reason code ${hex1(rc)} is not defined for SUBACK`);
    } else {
      name = SUBACK_RETURN_CODES.get(rc);
      if (!name) d.problem('bad-return-code', at, 1, `SUBACK return code ${hex1(rc)} is reserved (0x00, 0x01, 0x02, 0x80 are defined)`);
    }
    codes.push(rc);
    names.push(name ?? 'Unknown');
    if (d.t) d.node(v5 ? 'reasonCode' : 'returnCode', v5 ? 'reason code' : 'return code', at, 1, hex1(rc), name ?? 'not a SUBACK code');
  }
  if (codes.length === 0) d.problem('no-reason-codes', d.pos, 0, `SUBACK has no ${v5 ? 'reason' : 'return'} codes`);
  d.close();
}

export function decodeUnsubscribe(d: Cursor, p: UnsubscribePacket): void {
  idAndProperties(d, p, UNSUBSCRIBE);
  d.open('payload', 'payload');
  const topics: string[] = [];
  p.topics = topics;
  d.field = F.topics.key;
  while (d.pos < d.end) topics.push(d.str(F.subscriptionTopic.key, F.subscriptionTopic.label, StrKind.Filter));
  if (topics.length === 0) d.problem('no-filters', d.pos, 0, 'UNSUBSCRIBE has no Topic Filter');
  d.close();
}

export function decodeUnsuback(d: Cursor, p: UnsubackPacket): void {
  const b = d.b;
  idAndProperties(d, p, UNSUBACK);
  if (d.level !== 5) {
    d.trailing();
    return;
  }
  d.open('payload', 'payload');
  const codes: number[] = [];
  const names: string[] = [];
  p.reasonCodes = codes;
  p.reasonCodeNames = names;
  d.field = F.reasonCodes.key;
  while (d.pos < d.end) {
    const at = d.pos;
    const rc = b[at]!;
    d.pos++;
    const e = reasonCode(UNSUBACK, rc);
    if (!e) d.problem('bad-reason-code', at, 1, `reason code ${hex1(rc)} is not defined for UNSUBACK`);
    codes.push(rc);
    names.push(e ? e.name : 'Unknown');
    if (d.t) d.node('reasonCode', 'reason code', at, 1, hex1(rc), e ? e.name : 'not an UNSUBACK code');
  }
  if (codes.length === 0) d.problem('no-reason-codes', d.pos, 0, 'UNSUBACK has no reason codes');
  d.close();
}

export function decodeDisconnect(d: Cursor, p: DisconnectPacket): void {
  if (d.level !== 5) {
    d.trailing();
    return;
  }
  d.open('variableHeader', 'variable header');
  const rest = d.end - d.pos;
  if (rest === 0) {
    d.impliedReason(p, 'Remaining Length 0 means reason 0x00 and no properties');
    p.properties = new Properties();
  } else {
    d.reason(p);
    const props = new Properties();
    p.properties = props;
    if (d.pos !== d.end) d.properties(props, DISCONNECT, 'properties', F.properties.label);
  }
  d.close();
  d.trailing();
}

export function decodeAuth(d: Cursor, p: AuthPacket): void {
  d.open('variableHeader', 'variable header');
  if (d.pos === d.end) {
    d.impliedReason(p, 'Remaining Length 0 means reason 0x00 and no properties');
    p.properties = new Properties();
    d.problemAs('auth-without-method', 'warning', 0, d.end, 'AUTH short form (Remaining Length 0) carries no Authentication Method');
  } else {
    d.reason(p);
    // Only the 0-length form may omit the Property Length (MQTT 5.0 §3.15.2.1).
    const props = new Properties();
    p.properties = props;
    d.properties(props, AUTH, 'properties', F.properties.label);
    if (props.authenticationMethod === undefined) {
      d.field = F.properties.key;
      d.problem('auth-without-method', 0, d.end, 'AUTH without Authentication Method');
    }
  }
  d.close();
  d.trailing();
}

/** Position of the lowest set bit of a mask (the shift that turns masked bits into the field's value). */
/** The variable header of SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK: Packet Identifier, then (5.0) properties. */
function idAndProperties(
  d: Cursor,
  p: SubscribePacket | SubackPacket | UnsubscribePacket | UnsubackPacket,
  type: typeof SUBSCRIBE | typeof SUBACK | typeof UNSUBSCRIBE | typeof UNSUBACK,
): void {
  d.open('variableHeader', 'variable header');
  p.packetId = d.packetId();
  if (d.level === 5) {
    const props = new Properties();
    p.properties = props;
    d.properties(props, type, 'properties', F.properties.label);
  }
  d.close();
}

function lowestBit(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}
