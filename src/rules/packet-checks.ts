/**
 * Single-packet checks: every decoder problem becomes a violation citing the most precise catalogue entry for the
 * packet's protocol version, plus the few one-packet rules the decoder leaves to us.
 *
 * The clean path (no problems) costs a length check and a couple of field reads. A problem names the field it is in
 * (and, inside a property block, the property), so attributing it to a statement is a lookup, never a walk over the
 * bytes or a match on its message.
 */
import type { Violation } from '../mqtt/connection-decoder.js';
import {
  AUTH, CONNACK, CONNECT, DISCONNECT, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE,
} from '../mqtt/tables.js';
import type { MqttPacket } from '../mqtt/packets.js';
import type { DecodeProblem, ProtocolLevel } from '../mqtt/types.js';
import { pair, pick, rule, violation, type RuleEntry, type RulePair } from './catalogue.js';

// ---------------------------------------------------------------------------------------------
// Catalogue entries used here (looked up once, at module load)
// ---------------------------------------------------------------------------------------------

const R = {
  reservedTypes: rule('ref', 'ALL:2.2.1:reserved-types'),
  direction: rule('ref', 'ALL:2.2.1:direction'),
  flagsGeneric: pair('MQTT-2.2.2-1', 'MQTT-2.1.3-1'),
  flagsPubrel: pair('MQTT-3.6.1-1', 'MQTT-3.6.1-1'),
  flagsSubscribe: pair('MQTT-3.8.1-1', 'MQTT-3.8.1-1'),
  flagsUnsubscribe: pair('MQTT-3.10.1-1', 'MQTT-3.10.1-1'),
  flagsDisconnect: pair('MQTT-3.14.1-1', 'MQTT-3.14.1-1'),
  flagsAuth: rule('5.0', 'MQTT-3.15.1-1'),
  qos3: pair('MQTT-3.3.1-4', 'MQTT-3.3.1-4'),
  dupQos0: pair('MQTT-3.3.1-2', 'MQTT-3.3.1-2'),
  rlMax4: rule('ref', 'ALL:2.2.3:rl-max-4-bytes'),
  rlNonMinimal311: rule('ref', '3.1.1:2.2.3:rl-nonminimal'),
  vbiMinimal: rule('5.0', 'MQTT-1.5.5-1'),
  vbiMax4: rule('ref', '5.0:1.5.5:vbi-max-4-bytes'),
  trailing: rule('ref', 'ALL:parse:trailing-bytes'),
  fixedRl: rule('ref', '3.1.1:3.x:fixed-rl'),
  propLengthMissing: rule('5.0', 'MQTT-2.2.2-1'),
  nameLevel: rule('ref', '3.1.1:3.1.2.2:level'),
  name50: rule('5.0', 'MQTT-3.1.2-1'),
  name311: rule('3.1.1', 'MQTT-3.1.2-1'),
  bridge: rule('ref', 'ALL:3.1.2.2:bridge-bit'),
  connectReserved: pair('MQTT-3.1.2-3', 'MQTT-3.1.2-3'),
  willQosNoWill: pair('MQTT-3.1.2-13', 'MQTT-3.1.2-11'),
  willRetainNoWill: pair('MQTT-3.1.2-15', 'MQTT-3.1.2-13'),
  willQos3: pair('MQTT-3.1.2-14', 'MQTT-3.1.2-12'),
  passwordNoUser: rule('3.1.1', 'MQTT-3.1.2-22'),
  v31Missing: rule('ref', '3.1:3.1-compat:missing-user-pass'),
  clientIdEmpty311: rule('3.1.1', 'MQTT-3.1.3-7'),
  clientId31: rule('ref', '3.1:3.1.3:clientid-length'),
  clientIdMissing: pair('MQTT-3.1.3-3', 'MQTT-3.1.3-3'),
  willMissing: pair('MQTT-3.1.2-9', 'MQTT-3.1.2-9'),
  userMissing: pair('MQTT-3.1.2-19', 'MQTT-3.1.2-17'),
  passMissing: pair('MQTT-3.1.2-21', 'MQTT-3.1.2-19'),
  noPasswordField: pair('MQTT-3.1.2-20', 'MQTT-3.1.2-18'),
  utf8: pair('MQTT-1.5.3-1', 'MQTT-1.5.4-1'),
  utf8ClientId: pair('MQTT-3.1.3-4', 'MQTT-3.1.3-4'),
  utf8WillTopic: pair('MQTT-3.1.3-10', 'MQTT-3.1.3-11'),
  utf8User: pair('MQTT-3.1.3-11', 'MQTT-3.1.3-12'),
  utf8Topic: pair('MQTT-3.3.2-1', 'MQTT-3.3.2-1'),
  utf8SubFilter: pair('MQTT-3.8.3-1', 'MQTT-3.8.3-1'),
  utf8UnsubFilter: pair('MQTT-3.10.3-1', 'MQTT-3.10.3-1'),
  utf8ResponseTopic: rule('5.0', 'MQTT-3.3.2-13'),
  utf8ContentType: rule('5.0', 'MQTT-3.3.2-19'),
  utf8Pair: rule('5.0', 'MQTT-1.5.7-1'),
  nul: pair('MQTT-1.5.3-2', 'MQTT-1.5.4-2'),
  nulTopic: pair('MQTT-4.7.3-2', 'MQTT-4.7.3-2'),
  disallowedCp: rule('ref', 'ALL:1.5.3/1.5.4:disallowed-cp'),
  pidZero311: rule('3.1.1', 'MQTT-2.3.1-1'),
  pidZeroClient50: rule('5.0', 'MQTT-2.2.1-3'),
  pidZeroServer50: rule('5.0', 'MQTT-2.2.1-4'),
  pubAckId: pair('MQTT-2.3.1-6', 'MQTT-2.2.1-5'),
  pubcompId: pair('MQTT-4.3.3-2', 'MQTT-2.2.1-5'),
  subackId: pair('MQTT-3.8.4-2', 'MQTT-3.8.4-2'),
  unsubackId: pair('MQTT-3.10.4-4', 'MQTT-3.10.4-5'),
  topicWildcard: pair('MQTT-3.3.2-2', 'MQTT-3.3.2-2'),
  willTopicWildcard: pair('MQTT-4.7.1-1', 'MQTT-4.7.0-1'),
  responseTopicWildcard: rule('5.0', 'MQTT-3.3.2-14'),
  topicEmpty: pair('MQTT-4.7.3-1', 'MQTT-4.7.3-1'),
  emptyTopicNoAlias: rule('ref', '5.0:3.3.2.1:empty-topic-no-alias'),
  hashPlacement: pair('MQTT-4.7.1-2', 'MQTT-4.7.1-1'),
  plusPlacement: pair('MQTT-4.7.1-3', 'MQTT-4.7.1-2'),
  noSubFilters: pair('MQTT-3.8.3-3', 'MQTT-3.8.3-2'),
  noUnsubFilters: pair('MQTT-3.10.3-2', 'MQTT-3.10.3-2'),
  subackCount: pair('MQTT-3.8.4-5', 'MQTT-3.8.4-6'),
  unsubackCount: rule('5.0', 'MQTT-3.11.3-1'),
  subQos311: rule('3.1.1', 'MQTT-3.8.3-4'),
  subOptions50: rule('ref', '5.0:3.8.3.1:sub-options-qos3'),
  subReserved: pair('MQTT-3.8.3-4', 'MQTT-3.8.3-5'),
  sharedNoLocal: rule('5.0', 'MQTT-3.8.3-4'),
  shareName: rule('5.0', 'MQTT-4.8.2-1'),
  shareSyntax: rule('5.0', 'MQTT-4.8.2-2'),
  connackRc311: rule('ref', '3.1.1:3.2.2.3:connack-rc-reserved'),
  subackRc311: rule('3.1.1', 'MQTT-3.9.3-2'),
  connackFlags311: rule('ref', '3.1.1:3.2.2.1:connack-flags'),
  connackFlags50: rule('5.0', 'MQTT-3.2.2-1'),
  spOnFailure: pair('MQTT-3.2.2-4', 'MQTT-3.2.2-6'),
  propNotAllowed: rule('ref', '5.0:2.2.2.2:prop-not-allowed'),
  willProps: rule('ref', '5.0:3.1.3.2:will-props'),
  serverSessionExpiry: rule('5.0', 'MQTT-3.14.2-2'),
  clientSubId: rule('5.0', 'MQTT-3.3.4-6'),
  propDuplicate: rule('ref', '5.0:3.x:prop-duplicate'),
  recvMaxZero: rule('ref', '5.0:3.1.2.11.3:recv-max-zero'),
  maxPktZero: rule('ref', '5.0:3.1.2.11.4:max-pkt-zero'),
  aliasZero: rule('5.0', 'MQTT-3.3.2-8'),
  subIdZero: rule('ref', '5.0:3.3.2.3.8:subid-zero'),
  reqInfo: rule('ref', '5.0:3.1.2.11.6-7:req-info-range'),
  connackByteProps: rule('ref', '5.0:3.2.2.3:connack-byte-props'),
  pfi: rule('ref', '5.0:3.3.2.3.2:pfi-utf8'),
  authDataNoMethod: rule('ref', '5.0:3.1.2.11.10:authdata-without-method'),
  authNoMethod: rule('ref', '5.0:3.15.2.2.2:auth-needs-method'),
  authShortNoMethod: rule('ref', '5.0:3.15.2.1:short-auth-no-method'),
  reservedFlags31: rule('ref', '3.1:2.2.2:reserved-flags'),
  utf8Tolerated31: rule('ref', '3.1:1.5.3:ill-formed-utf8'),
  reasonConflict: rule('ref', '5.0:2.4:reason-table-conflict'),
  decoderProblem: rule('ref', 'ALL:decoder:problem'),
  retainedEmpty311: rule('3.1.1', 'MQTT-3.3.1-11'),
} as const;

/** 5.0 reason-code table statement per packet type. */
const REASON_RULE: readonly (RuleEntry | undefined)[] = (() => {
  const a: (RuleEntry | undefined)[] = new Array(16).fill(undefined);
  a[CONNACK] = rule('5.0', 'MQTT-3.2.2-8');
  a[PUBACK] = rule('5.0', 'MQTT-3.4.2-1');
  a[PUBREC] = rule('5.0', 'MQTT-3.5.2-1');
  a[PUBREL] = rule('5.0', 'MQTT-3.6.2-1');
  a[PUBCOMP] = rule('5.0', 'MQTT-3.7.2-1');
  a[SUBACK] = rule('5.0', 'MQTT-3.9.3-2');
  a[UNSUBACK] = rule('5.0', 'MQTT-3.11.3-2');
  a[DISCONNECT] = rule('5.0', 'MQTT-3.14.2-1');
  a[AUTH] = rule('5.0', 'MQTT-3.15.2-1');
  return a;
})();

/** ClientIds a server must accept: 1-23 of [0-9a-zA-Z] (MQTT-3.1.3-5 in both versions). */
export function isPlainClientId(s: string): boolean {
  if (s.length < 1 || s.length > 23) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Problem -> violation
// ---------------------------------------------------------------------------------------------

function flagsRule(type: number): RulePair | RuleEntry {
  switch (type) {
    case PUBREL: return R.flagsPubrel;
    case SUBSCRIBE: return R.flagsSubscribe;
    case UNSUBSCRIBE: return R.flagsUnsubscribe;
    case DISCONNECT: return R.flagsDisconnect;
    case AUTH: return R.flagsAuth;
    default: return R.flagsGeneric;
  }
}

function isPair(x: RulePair | RuleEntry): x is RulePair {
  return Array.isArray(x);
}

/** Property ids whose strings have statements of their own. */
const RESPONSE_TOPIC = 0x08;
const CONTENT_TYPE = 0x03;
const USER_PROPERTY = 0x26;

function utf8Rule(d: MqttPacket, p: DecodeProblem): RulePair | RuleEntry {
  switch (p.field) {
    case 'clientId': return R.utf8ClientId;
    case 'willTopic': return R.utf8WillTopic;
    case 'username': return R.utf8User;
    case 'topic': return R.utf8Topic;
    case 'subscriptions': return R.utf8SubFilter;
    case 'topics': return R.utf8UnsubFilter;
  }
  if (d.level === 5) {
    if (p.propertyId === RESPONSE_TOPIC) return R.utf8ResponseTopic;
    if (p.propertyId === CONTENT_TYPE) return R.utf8ContentType;
    if (p.propertyId === USER_PROPERTY) return R.utf8Pair;
  }
  return R.utf8;
}

/** A Topic Name or Topic Filter (not a Response Topic: a property has its own statement). */
function isTopicOrFilter(p: DecodeProblem): boolean {
  return p.propertyId === undefined && (p.field === 'willTopic' || p.field === 'topic' || p.field === 'subscriptions' || p.field === 'topics');
}

function packetIdZeroRule(d: MqttPacket, dir: 'c2s' | 's2c' | null): RuleEntry {
  const lv = d.level;
  switch (d.type) {
    case PUBACK: case PUBREC: case PUBREL: return pick(R.pubAckId, lv);
    case PUBCOMP: return pick(R.pubcompId, lv);
    case SUBACK: return pick(R.subackId, lv);
    case UNSUBACK: return pick(R.unsubackId, lv);
    default:
      if (lv !== 5) return R.pidZero311;
      return d.type === PUBLISH && dir === 's2c' ? R.pidZeroServer50 : R.pidZeroClient50;
  }
}

function propValueRule(p: DecodeProblem): RuleEntry {
  switch (p.propertyId) {
    case 0x21: return R.recvMaxZero;
    case 0x27: return R.maxPktZero;
    case 0x23: return R.aliasZero;
    case 0x0b: return R.subIdZero;
    case 0x17: case 0x19: return R.reqInfo;
    case 0x24: case 0x25: case 0x28: case 0x29: case 0x2a: return R.connackByteProps;
    case 0x01: return R.pfi;
    default: return R.propNotAllowed;
  }
}

function connectOverrunRule(d: MqttPacket, p: DecodeProblem): RulePair | RuleEntry {
  // 3.1 lets the Remaining Length win over the User Name / Password flags.
  const v31 = d.level === 3;
  switch (p.field) {
    case 'clientId': return R.clientIdMissing;
    case 'willProperties': case 'willTopic': case 'willPayload': return R.willMissing;
    case 'username': return v31 ? R.trailing : R.userMissing;
    case 'password': return v31 ? R.trailing : R.passMissing;
    default: return R.trailing;
  }
}

/** The catalogue entry for one decoder problem (null: handled by the caller with several violations). */
function problemRule(b: Uint8Array, d: MqttPacket, p: DecodeProblem, dir: 'c2s' | 's2c' | null): RulePair | RuleEntry | null {
  const lv: ProtocolLevel = d.level;
  switch (p.code) {
    case 'reserved-type': return R.reservedTypes;
    // 3.1 tolerates these (the decoder reports them as warnings there): rules of their own, so one id has one severity.
    case 'reserved-flags': return lv === 3 ? R.reservedFlags31 : flagsRule(d.type);
    case 'qos3': return R.qos3;
    case 'dup-qos0': return R.dupQos0;
    case 'rl-too-long': return R.rlMax4;
    case 'rl-nonminimal': return lv === 5 ? R.vbiMinimal : R.rlNonMinimal311;
    case 'vbi-too-long': return R.vbiMax4;
    case 'prop-nonminimal': return R.vbiMinimal;
    case 'overrun':
      if (d.type === CONNECT && p.offset >= d.headerLength) {
        const r = connectOverrunRule(d, p);
        if (r !== R.trailing) return r;
      }
      // A Property Length that is not there at all (id 0 stands for the length itself).
      if (lv === 5 && p.length === 0 && p.propertyId === 0) return R.propLengthMissing;
      return R.trailing;
    case 'trailing-bytes':
      if (d.type === CONNECT && d.passwordFlag === false && lv !== 3) return R.noPasswordField;
      return R.trailing;
    case 'bad-size': return lv === 5 ? R.trailing : R.fixedRl;
    case 'wrong-direction': return R.direction;
    case 'bad-protocol-name': return lv === 5 ? R.name50 : R.name311;
    case 'bad-protocol-level': case 'name-level-mismatch': return R.nameLevel;
    case 'bridge-flag': return R.bridge;
    case 'connect-reserved-bit': return R.connectReserved;
    case 'will-flags': return null;
    case 'will-qos3': return R.willQos3;
    case 'password-without-username': return R.passwordNoUser;
    case 'v31-missing-field': return R.v31Missing;
    case 'clientid-empty': return lv === 3 ? R.clientId31 : R.clientIdEmpty311;
    case 'bad-utf8': return lv === 3 ? R.utf8Tolerated31 : utf8Rule(d, p);
    case 'utf8-null': return isTopicOrFilter(p) ? R.nulTopic : R.nul;
    case 'utf8-control': case 'utf8-noncharacter': return R.disallowedCp;
    case 'packet-id-zero': return packetIdZeroRule(d, dir);
    case 'topic-wildcard':
      if (p.propertyId === undefined && p.field === 'willTopic') return R.willTopicWildcard;
      if (p.propertyId === undefined && p.field === 'topic') return R.topicWildcard;
      return R.responseTopicWildcard;
    case 'topic-empty': return lv === 5 && d.type === PUBLISH ? R.emptyTopicNoAlias : R.topicEmpty;
    case 'filter-invalid': return b[p.offset] === 0x23 ? R.hashPlacement : R.plusPlacement;
    case 'filter-empty': return R.topicEmpty;
    case 'no-filters': return d.type === UNSUBSCRIBE ? R.noUnsubFilters : R.noSubFilters;
    case 'no-reason-codes': return d.type === UNSUBACK ? R.unsubackCount : R.subackCount;
    case 'sub-qos3': return lv === 5 ? R.subOptions50 : R.subQos311;
    case 'sub-reserved-bits': return R.subReserved;
    case 'retain-handling3': return R.subOptions50;
    case 'shared-nolocal': return R.sharedNoLocal;
    case 'share-syntax': return p.length === 0 ? R.shareName : R.shareSyntax;
    case 'bad-return-code': return d.type === SUBACK ? R.subackRc311 : R.connackRc311;
    case 'connack-reserved-bits': return lv === 5 ? R.connackFlags50 : R.connackFlags311;
    case 'session-present-on-failure': return R.spOnFailure;
    case 'prop-unknown': return R.propNotAllowed;
    case 'prop-not-allowed': {
      const id = p.propertyId;
      if (d.type === DISCONNECT && id === 0x11) return R.serverSessionExpiry;
      if (d.type === PUBLISH && id === 0x0b) return R.clientSubId;
      if (d.type === CONNECT && p.field === 'willProperties') return R.willProps;
      return R.propNotAllowed;
    }
    case 'prop-duplicate': return R.propDuplicate;
    case 'prop-value': return propValueRule(p);
    case 'auth-data-without-method': return R.authDataNoMethod;
    case 'auth-without-method': return p.severity === 'warning' ? R.authShortNoMethod : R.authNoMethod;
    case 'bad-reason-code': return REASON_RULE[d.type] ?? R.decoderProblem;
    case 'reason-code-conflict': return R.reasonConflict;
    case 'payload-not-utf8': return R.pfi;
    default: return R.decoderProblem;
  }
}

function willFlagViolations(d: MqttPacket, p: DecodeProblem, out: Violation[]): void {
  if (d.type !== CONNECT) return;
  const lv = d.level;
  const q = d.willQos;
  if (q !== undefined && q !== 0) {
    out.push(violation(pick(R.willQosNoWill, lv), lv, `Will flag is 0 but Will QoS is ${q}`, p.offset, p.length, p.severity));
  }
  if (d.willRetain === true) {
    out.push(violation(pick(R.willRetainNoWill, lv), lv, 'Will flag is 0 but Will Retain is 1', p.offset, p.length, p.severity));
  }
}

/**
 * Appends the violations one packet shows on its own (no connection state) to `out`.
 * `dir` is the sender when known.
 */
export function checkPacket(b: Uint8Array, d: MqttPacket, dir: 'c2s' | 's2c' | null, out: Violation[]): void {
  const lv = d.level;
  const problems = d.problems;
  for (let i = 0; i < problems.length; i++) {
    const p = problems[i]!;
    if (p.code === 'will-flags') {
      willFlagViolations(d, p, out);
      continue;
    }
    const r = problemRule(b, d, p, dir);
    if (r === null) continue;
    const e = isPair(r) ? pick(r, lv) : r;
    out.push(violation(e, lv, p.message, p.offset, p.length, p.severity));
  }
  if (d.type === CONNECT && lv === 3) {
    const cid = d.clientId;
    if (cid !== undefined && cid.length > 23) {
      out.push(violation(R.clientId31, lv, `ClientId has ${cid.length} characters; MQTT 3.1 allows 1 to 23`));
    }
  } else if (d.type === PUBLISH && dir === 's2c' && lv !== 5 && d.headerFields && d.retain && d.payloadLength === 0) {
    // Before 5.0 a server sets RETAIN only on messages from its retained store, which never holds an empty one.
    out.push(violation(R.retainedEmpty311, lv, 'server sent a retained PUBLISH with an empty payload: zero-byte retained messages are never stored', 0, 1));
  }
}
