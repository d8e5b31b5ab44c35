/**
 * Session checks: one state machine per TCP connection, fed the connection's packets in capture order.
 *
 * State kept per sender direction: packet identifiers in flight (one id space per sender, shared by PUBLISH,
 * SUBSCRIBE and UNSUBSCRIBE), the limits the peer negotiated (MQTT 5.0), topic aliases, and whether it sent DISCONNECT.
 * Per connection: CONNECT/CONNACK facts, keep alive, outstanding PINGREQs and the client's subscriptions.
 *
 * "Unknown id" findings need complete knowledge of what is in flight: the SYN was seen, the CONNECT was seen, and the
 * session started empty (Clean Session / Clean Start, or Session Present 0). Otherwise earlier state may exist that
 * the capture does not show, and such acks are accepted silently.
 *
 * Memory: the in-flight maps are keyed by the 16-bit packet id (at most 65,536 entries each); subscriptions and alias
 * topics have explicit caps, after which the checks that depend on them switch off for the connection.
 */
import type { PacketRecord, Violation } from '../mqtt/connection-decoder.js';
import {
  AUTH, CONNACK, CONNECT, DISCONNECT, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE,
  UNSUBACK, UNSUBSCRIBE, directionAllowed, packetTypeExists,
} from '../mqtt/tables.js';
import { AuthPacket, Properties as PropertiesClass, ReservedPacket } from '../mqtt/packets.js';
import type {
  AckPacket, ConnackPacket, ConnectPacket, DisconnectPacket, MqttPacket, Properties, PublishPacket, SubackPacket,
  SubscribePacket, SubscriptionRequest, UnsubackPacket, UnsubscribePacket,
} from '../mqtt/packets.js';
import { isShared, stripShare, topicDigest, topicMatches } from '../mqtt/topics.js';
import type { ProtocolLevel } from '../mqtt/types.js';
import type { Connection, ConnectionEnd, Direction } from '../tcp/types.js';
import { endSeconds, endsOpen, type DisconnectSeen, type SessionEnd } from './close.js';
import { pair, pick, rule, violation, type RuleEntry, type RulePair } from './catalogue.js';
import { isPlainClientId } from './packet-checks.js';

// ---------------------------------------------------------------------------------------------
// Catalogue entries
// ---------------------------------------------------------------------------------------------

const S = {
  firstConnect: pair('MQTT-3.1.0-1', 'MQTT-3.1.0-1'),
  secondConnect: pair('MQTT-3.1.0-2', 'MQTT-3.1.0-2'),
  connackFirst: pair('MQTT-3.2.0-1', 'MQTT-3.2.0-1'),
  secondConnack311: rule('ref', '3.1.1:3.2.0:second-connack'),
  secondConnack50: rule('5.0', 'MQTT-3.2.0-2'),
  serverDisconnectEarly: rule('5.0', 'MQTT-3.14.0-1'),
  afterRefusal: pair('MQTT-3.2.2-5', 'MQTT-3.2.2-7'),
  afterDisconnect311: rule('3.1.1', 'MQTT-3.14.4-2'),
  afterDisconnect50: rule('5.0', 'MQTT-3.14.4-1'),
  badNameAccepted: rule('3.1.1', 'MQTT-3.1.2-1'),
  badLevelAnswer: rule('3.1.1', 'MQTT-3.1.2-2'),
  malformedConnectAccepted: pair('MQTT-3.1.4-1', 'MQTT-3.1.4-1'),
  cleanWithSessionPresent: pair('MQTT-3.2.2-1', 'MQTT-3.2.2-2'),
  clientContinuesAfterSp: rule('5.0', 'MQTT-3.2.2-4'),
  plainClientIdRejected: pair('MQTT-3.1.3-5', 'MQTT-3.1.3-5'),
  emptyClientIdNotRejected: rule('3.1.1', 'MQTT-3.1.3-8'),
  assignedClientId: rule('5.0', 'MQTT-3.2.2-16'),
  willQosAboveMax: rule('5.0', 'MQTT-3.2.2-12'),
  willRetainUnavailable: rule('5.0', 'MQTT-3.2.2-13'),
  responseInfo: rule('5.0', 'MQTT-3.1.2-28'),
  problemInfo: rule('5.0', 'MQTT-3.1.2-29'),
  authBeforeConnack: rule('5.0', 'MQTT-3.1.2-30'),
  authServerContinue: rule('5.0', 'MQTT-4.12.0-2'),
  authClientContinue: rule('5.0', 'MQTT-4.12.0-3'),
  authMethodSame: rule('5.0', 'MQTT-4.12.0-5'),
  authServerWithoutMethod: rule('5.0', 'MQTT-4.12.0-6'),
  authClientWithoutMethod: rule('5.0', 'MQTT-4.12.0-7'),
  reauthMethod: rule('5.0', 'MQTT-4.12.1-1'),
  seiAfterZero: rule('ref', '5.0:3.14.2.2.2:sei-after-zero'),
  maxQosUndeclared: rule('5.0', 'MQTT-3.2.2-9'),
  maxQos: rule('5.0', 'MQTT-3.2.2-11'),
  retainUnavailable: rule('5.0', 'MQTT-3.2.2-14'),
  subFeatures: rule('ref', '5.0:3.2.2.3.11-13:unsupported-sub-features'),
  maxPacketToServer: rule('5.0', 'MQTT-3.2.2-15'),
  maxPacketToClient: rule('5.0', 'MQTT-3.1.2-24'),
  aliasToServerAbove: rule('5.0', 'MQTT-3.2.2-17'),
  aliasToServerNone: rule('5.0', 'MQTT-3.2.2-18'),
  aliasToClientAbove: rule('5.0', 'MQTT-3.1.2-26'),
  aliasToClientNone: rule('5.0', 'MQTT-3.1.2-27'),
  aliasUnknown: rule('ref', '5.0:3.3.2.1:empty-topic-no-alias'),
  recvMaxClient: rule('5.0', 'MQTT-3.3.4-7'),
  recvMaxServer: rule('5.0', 'MQTT-3.3.4-9'),
  reuseClient: pair('MQTT-2.3.1-2', 'MQTT-2.2.1-3'),
  reuseServer: pair('MQTT-2.3.1-4', 'MQTT-2.2.1-4'),
  resendInConnection: rule('5.0', 'MQTT-4.4.0-1'),
  redeliveryWithoutDup: pair('MQTT-3.3.1-1', 'MQTT-3.3.1-1'),
  publishAfterPubrel: pair('MQTT-4.3.3-1', 'MQTT-4.3.3-6'),
  dupOnCleanClient: pair('MQTT-3.1.2-6', 'MQTT-3.1.2-4'),
  dupOnCleanServer: pair('MQTT-3.3.1-3', 'MQTT-3.3.1-3'),
  ackId: pair('MQTT-2.3.1-6', 'MQTT-2.2.1-5'),
  ackType: pair('MQTT-3.3.4-1', 'MQTT-3.3.4-1'),
  pubrelOrder: pair('MQTT-4.3.3-1', 'MQTT-4.3.3-4'),
  pubcompOrder: pair('MQTT-4.3.3-2', 'MQTT-4.3.3-11'),
  pubcompId: pair('MQTT-4.3.3-2', 'MQTT-2.2.1-5'),
  subackId: pair('MQTT-3.8.4-2', 'MQTT-3.8.4-2'),
  unsubackId: pair('MQTT-3.10.4-4', 'MQTT-3.10.4-5'),
  subackCount: pair('MQTT-3.8.4-5', 'MQTT-3.8.4-6'),
  unsubackCount: rule('5.0', 'MQTT-3.11.3-1'),
  grantedAboveRequested: pair('MQTT-3.9.3-1', 'MQTT-3.9.3-1'),
  pubackOrder: pair('MQTT-4.6.0-2', 'MQTT-4.6.0-2'),
  pubrecOrder: pair('MQTT-4.6.0-3', 'MQTT-4.6.0-3'),
  pubrelSendOrder: pair('MQTT-4.6.0-4', 'MQTT-4.6.0-4'),
  kaClient: pair('MQTT-3.1.2-23', 'MQTT-3.1.2-20'),
  kaClientServerValue: rule('5.0', 'MQTT-3.2.2-21'),
  kaServer: pair('MQTT-3.1.2-24', 'MQTT-3.1.2-22'),
  unsolicitedPingresp: rule('ref', 'ALL:3.13:unsolicited-pingresp'),
  noMatchingSubscription: pair('MQTT-3.3.2-3', 'MQTT-3.3.2-3'),
  dollarTopic: pair('MQTT-4.7.2-1', 'MQTT-4.7.2-1'),
  qosAboveGranted: pair('MQTT-3.8.4-6', 'MQTT-3.8.4-8'),
  missingSubIds: rule('5.0', 'MQTT-3.3.4-3'),
  retainedEmpty50: rule('5.0', 'MQTT-3.3.1-7'),
  continuedAfterBadFlags: rule('3.1.1', 'MQTT-2.2.2-2'),
  continuedAfterError311: rule('3.1.1', 'MQTT-4.8.0-1'),
  continuedAfterError50: rule('5.0', 'MQTT-4.13.1-1'),
  rlMax4: rule('ref', 'ALL:2.2.3:rl-max-4-bytes'),
  // Incomplete flows: rules of their own, warnings, apart from the errors of the statements they come from.
  noAck: rule('ref', 'ALL:3.3.4:publish-unanswered'),
  noPubrel: rule('ref', 'ALL:4.3.3:pubrel-missing'),
  noPubcomp: rule('ref', 'ALL:4.3.3:pubcomp-missing'),
  noSuback: rule('ref', 'ALL:3.8.4:suback-missing'),
  noUnsuback: rule('ref', 'ALL:3.10.4:unsuback-missing'),
  noPingresp: rule('ref', 'ALL:3.12.4:pingresp-missing'),
} as const;

/** Oversized packets: the specific "leave out Reason String / User Property" statement per packet type. */
const SIZE_RULES: readonly (readonly [RuleEntry, RuleEntry] | undefined)[] = (() => {
  const a: (readonly [RuleEntry, RuleEntry] | undefined)[] = new Array(16).fill(undefined);
  const set = (t: number, reason: string, user: string): void => { a[t] = [rule('5.0', reason), rule('5.0', user)]; };
  set(CONNACK, 'MQTT-3.2.2-19', 'MQTT-3.2.2-20');
  set(PUBACK, 'MQTT-3.4.2-2', 'MQTT-3.4.2-3');
  set(PUBREC, 'MQTT-3.5.2-2', 'MQTT-3.5.2-3');
  set(PUBREL, 'MQTT-3.6.2-2', 'MQTT-3.6.2-3');
  set(PUBCOMP, 'MQTT-3.7.2-2', 'MQTT-3.7.2-3');
  set(SUBACK, 'MQTT-3.9.2-1', 'MQTT-3.9.2-2');
  set(UNSUBACK, 'MQTT-3.11.2-1', 'MQTT-3.11.2-2');
  set(DISCONNECT, 'MQTT-3.14.2-3', 'MQTT-3.14.2-4');
  set(AUTH, 'MQTT-3.15.2-2', 'MQTT-3.15.2-3');
  return a;
})();

// ---------------------------------------------------------------------------------------------
// Tunables (documented in docs/rules.md)
// ---------------------------------------------------------------------------------------------

/** Slack on keep-alive deadlines: capture-point skew, scheduling and RTT. */
export function keepAliveTolerance(ka: number): number {
  return Math.max(2, ka * 0.1);
}
/** Requests younger than this when the connection's traffic ends are not reported as never answered. */
export const INCOMPLETE_GRACE_SEC = 1;
const MAX_SUBSCRIPTIONS = 4096;
/** Wildcard filters are matched one by one against each server PUBLISH, so they get a tighter cap. */
const MAX_WILDCARD_SUBSCRIPTIONS = 256;
/**
 * Characters of the filters kept per connection: real filters are short, and a capture of long ones must cost
 * neither memory nor matching time beyond this (a PUBLISH is matched against at most this many characters).
 */
export const MAX_SUBSCRIPTION_CHARS = 256 * 1024;
const MAX_ALIAS_BYTES = 1 << 20;
/**
 * Characters of a topic an unacknowledged QoS 1/2 PUBLISH keeps whole; a longer one is kept as its length and digest
 * (about 70 characters). A flight only needs its topic to tell a redelivery from a reuse of the id, and up to 65,536
 * flights per side of 60 KB topics would otherwise hold 4 GB (issue 18). Below the digest's length, so no topic kept
 * whole can equal a digest.
 */
export const FLIGHT_TOPIC_CHARS = 64;
const MAX_PINGS = 1 << 16;
/** Most violations listed in one incomplete-flow event; the message counts the rest. */
const MAX_FLOW_VIOLATIONS = 50;

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

const enum Kind {
  /** QoS 1 PUBLISH awaiting PUBACK. */
  Q1 = 1,
  /** QoS 2 PUBLISH awaiting PUBREC. */
  Q2,
  /** PUBREC received, awaiting the sender's PUBREL. */
  Q2Rec,
  /** PUBREL sent, awaiting PUBCOMP. */
  Q2Rel,
  Sub,
  Unsub,
}

interface Flight {
  kind: Kind;
  frame: number;
  time: number;
  /** Distinguishes reuses of one id (order queues keep stale entries until they reach the head). */
  seq: number;
  qos: number;
  /** The topic, or its digest when longer than FLIGHT_TOPIC_CHARS (only compared, never shown). */
  topic: string;
  payloadLength: number;
  /** SUBSCRIBE: requested maximum QoS per filter; UNSUBSCRIBE: the filter count. */
  requested: number[] | null;
  filters: number;
  subscriptions: readonly SubscriptionRequest[] | null;
}

interface Subscription {
  /** The filter ($share/ prefix removed). */
  filter: string;
  requested: number;
  granted: number;
  /** SUBACK not seen yet. */
  pending: boolean;
  removed: boolean;
  rap: boolean;
  subId: number | undefined;
  wild: boolean;
  wildcardFirst: boolean;
}

/** The flight of `id` is still the one an order-queue entry recorded (same reuse of the id, same stage). */
function inFlight(flights: Map<number, Flight>, kind: Kind, id: number, seq: number): boolean {
  const f = flights.get(id);
  return f !== undefined && f.seq === seq && f.kind === kind;
}

/** FIFO of (seq, id) packed as seq * 65536 + id, with lazy removal at the head. */
class OrderQueue {
  private a: number[] = [];
  private head = 0;

  push(seq: number, id: number): void {
    this.a.push(seq * 65536 + id);
  }

  /** Id of the oldest entry still in flight as `kind` (the same use of the id), or -1. */
  first(flights: Map<number, Flight>, kind: Kind): number {
    while (this.head < this.a.length) {
      const v = this.a[this.head]!;
      const id = v % 65536;
      if (inFlight(flights, kind, id, (v - id) / 65536)) return id;
      this.head++;
    }
    if (this.head > 0) {
      this.a = [];
      this.head = 0;
    }
    return -1;
  }

  /** Drops stale entries when the queue grows past what 65,536 live ids can explain. */
  compact(flights: Map<number, Flight>, kind: Kind): void {
    if (this.a.length - this.head <= 2 * 65536) return;
    this.a = this.a.slice(this.head).filter((v) => inFlight(flights, kind, v % 65536, Math.floor(v / 65536)));
    this.head = 0;
  }
}

class Side {
  readonly flights = new Map<number, Flight>();
  /** Bytes this side sent were lost in the capture (a gap): what they held is unknown, so no finding may rest on it. */
  lost = false;
  /** Packets seen from this side (none: the direction is probably not in the capture). */
  packets = 0;
  /** Unacknowledged QoS 1/2 PUBLISH packets (Receive Maximum). */
  pubInFlight = 0;
  sentDisconnect = false;
  disconnectTime = 0;
  /** The first DISCONNECT this side sent (for the close record). */
  disconnect: DisconnectSeen | null = null;
  reportedAfterDisconnect = false;
  /** Limits this side must respect, set by the peer (5.0). 0 / -1 = none known. */
  maxPacketSize = 0;
  receiveMaximum = 65535;
  topicAliasMax = -1;
  aliases: Map<number, string> | null = null;
  aliasBytes = 0;
  aliasFull = false;
  /** A packet with error-level decoder problems arrived from the peer, and whether bad flags were among them. */
  peerMalformed = false;
  peerMalformedFlags = false;
  reportedContinue = false;
  /** Order of arrival of this side's QoS 1 / QoS 2 PUBLISHes, and of PUBRECs for its QoS 2 PUBLISHes. */
  readonly q1Order = new OrderQueue();
  readonly q2Order = new OrderQueue();
  readonly relOrder = new OrderQueue();
  reportedOrder = false;
}

export class ConnSession {
  // Fields every packet reads come first: V8 lays an object out in the order its fields are set, so they share
  // the object's first cache lines (3,000 connections at once make every other line a miss).
  readonly conn: Connection;
  readonly c2s = new Side();
  readonly s2c = new Side();
  private lastTime = 0;
  private level: ProtocolLevel = 4;
  private connectSeen = false;
  private clientSeen = false;
  private keepAlive = 0;
  private lastClientTime = -1;
  private reportedKaServer = false;
  private kaFromServer = false;
  /** Complete knowledge of the in-flight state (see the file comment). */
  private known = false;
  private accepted = false;
  private connackCount = 0;
  private refused = false;
  private reportedBeforeConnack = false;
  private reportedAfterRefusal = false;
  private spOnClean = false;
  private reportedSpOnClean = false;
  private authMethod: string | undefined;
  private reportedAuthBeforeConnack = false;
  private requestProblemInfo = 1;
  private maxQos = 2;
  private retainAvailable = true;
  /** The client's subscriptions by filter ($share/ prefix removed); null once over the cap. */
  private subs: Map<string, Subscription> | null = new Map();
  private wildSubs: Subscription[] = [];
  // Scratch results of matching one PUBLISH (fields, so matching allocates nothing).
  private mMatched = false;
  private mDollarWild = false;
  private mMaxQos = -1;
  private mRap = false;
  private mSubId = false;
  private seq = 0;
  /**
   * Set when one of this connection's caps is reached (the checks that need the capped state switch off): the rules
   * stage reports it in a 'limit' event and clears it.
   */
  limitReached: { dir: Direction; message: string } | null = null;
  private pendingPings = 0;
  /** When the oldest unanswered PINGREQ was sent. */
  private pingSince = 0;

  private connackCode: number | null = null;
  private connackName: string | null = null;
  private abortive = false;

  private clean = false;
  /** undefined when the CONNECT could not be decoded that far. */
  private clientId: string | undefined;
  private connectMalformed = false;
  private connectBadName = false;
  private connectBadLevel = false;
  private willFlag = false;
  private willQos = 0;
  private willRetain = false;
  private connectSessionExpiry = 0;
  private requestResponseInfo = 0;

  private wildcardAvailable = true;
  private subIdAvailable = true;
  private sharedAvailable = true;
  private maxQosDeclared = false;

  /** Characters of the filters in `subs`. */
  private subsChars = 0;

  constructor(conn: Connection) {
    this.conn = conn;
  }

  /** Characters of subscription filters this connection keeps (bounded by MAX_SUBSCRIPTION_CHARS). */
  get subscriptionChars(): number {
    return this.subsChars;
  }

  /** Characters of topics the unacknowledged flights of both sides keep (at most about 70 each); walks them all. */
  get flightTopicChars(): number {
    let n = 0;
    for (const f of this.c2s.flights.values()) n += f.topic.length;
    for (const f of this.s2c.flights.values()) n += f.topic.length;
    return n;
  }

  /**
   * The capture lost bytes of one direction (gap, snaplen cut, damaged packet). Packets may have been in them, so the
   * in-flight state is no longer complete and "first packet" / "unknown alias" findings in that direction would rest
   * on what we did not see.
   */
  bytesLost(dir: 'c2s' | 's2c'): void {
    (dir === 'c2s' ? this.c2s : this.s2c).lost = true;
    this.known = false;
  }

  /**
   * The framer lost packet boundaries because the sender broke them (a Remaining Length past 4 bytes). Only on a
   * stream seen whole from its SYN with no bytes lost before: otherwise the "packet start" may be a wrong guess.
   */
  /** The protocol level findings of this connection are cited with (3.1.1 until a packet says otherwise). */
  get protocolLevel(): ProtocolLevel {
    return this.level;
  }

  malformedFraming(dir: Direction, message: string): Violation | null {
    const side = dir === 'c2s' ? this.c2s : this.s2c;
    if (!this.conn.sawSyn || side.lost) return null;
    (dir === 'c2s' ? this.s2c : this.c2s).peerMalformed = true;
    return violation(S.rlMax4, this.level, `${dir === 'c2s' ? 'client' : 'server'} sent a malformed packet: ${message}`);
  }

  /** Checks one packet and appends its session findings to rec.violations (may set decoded.fields.resolvedTopic). */
  packet(rec: PacketRecord): void {
    const d = rec.decoded;
    const out = rec.violations;
    const dir = rec.dir;
    const lv = d.level;
    const t = rec.timeSec + rec.timeNsec / 1e9;
    this.lastTime = t;
    const type = d.type;
    const me = dir === 'c2s' ? this.c2s : this.s2c;
    const peer = dir === 'c2s' ? this.s2c : this.c2s;
    if (!this.connectSeen) this.level = lv;
    me.packets++;

    this.checkKeepAlive(dir, t, lv, out);
    if (dir === 'c2s') this.lastClientTime = t;

    if (d.problems.length > 0) this.noteMalformed(d, peer);
    if (!packetTypeExists(type, lv) || !directionAllowed(type, lv, dir)) return;

    if (me.peerMalformed && !me.reportedContinue && type !== DISCONNECT && type !== CONNACK) {
      this.checkContinued(me, dir, lv, out);
    }

    if (me.sentDisconnect && !me.reportedAfterDisconnect) {
      me.reportedAfterDisconnect = true;
      const r = lv === 5 ? S.afterDisconnect50 : S.afterDisconnect311;
      out.push(violation(r, lv, `${d.typeName} sent after this side's DISCONNECT`));
    }

    if (dir === 'c2s') {
      if (!this.clientSeen) {
        this.clientSeen = true;
        if (type !== CONNECT && this.conn.sawSyn && !this.c2s.lost) {
          out.push(violation(pick(S.firstConnect, lv), lv, `the client's first packet is ${d.typeName}, not CONNECT`));
        }
      }
      if (this.spOnClean && !this.reportedSpOnClean && type !== DISCONNECT) {
        this.reportedSpOnClean = true;
        out.push(violation(S.clientContinuesAfterSp, lv, 'the client asked for a clean start, got Session Present 1 and went on instead of closing'));
      }
      if (lv === 5 && this.authMethod !== undefined && this.connackCount === 0 && type !== AUTH && type !== DISCONNECT && type !== CONNECT
        && !this.reportedAuthBeforeConnack) {
        this.reportedAuthBeforeConnack = true;
        out.push(violation(S.authBeforeConnack, lv, `${d.typeName} sent during enhanced authentication, before CONNACK (only AUTH or DISCONNECT may be)`));
      }
    } else {
      this.checkServerOrder(type, lv, d, out);
    }

    if (lv === 5) {
      if (me.maxPacketSize > 0 && d.length > me.maxPacketSize) this.oversize(d, dir, me.maxPacketSize, out);
      if (dir === 's2c' && this.requestProblemInfo === 0 && type !== PUBLISH && type !== CONNACK && type !== DISCONNECT) {
        const props = propertiesOf(d);
        if (props && (props.reasonString !== undefined || props.userProperties !== undefined)) {
          out.push(violation(S.problemInfo, lv, `${d.typeName} carries ${props.reasonString !== undefined ? 'a Reason String' : 'User Properties'} although the client set Request Problem Information to 0`));
        }
      }
    }

    switch (d.type) {
      case CONNECT: this.onConnect(rec, d, lv, out); break;
      case CONNACK: this.onConnack(d, lv, out); break;
      case PUBLISH: this.onPublish(rec, d, me, dir, lv, t, out); break;
      case PUBACK: this.onPuback(d, me, peer, dir, lv, out); break;
      case PUBREC: this.onPubrec(d, me, peer, dir, lv, out); break;
      case PUBREL: this.onPubrel(d, me, dir, lv, out); break;
      case PUBCOMP: this.onPubcomp(d, peer, lv, out); break;
      case SUBSCRIBE: this.onSubscribe(rec, d, lv, t, out); break;
      case SUBACK: this.onSuback(d, lv, out); break;
      case UNSUBSCRIBE: this.onUnsubscribe(rec, d, lv, t, out); break;
      case UNSUBACK: this.onUnsuback(d, lv, out); break;
      case PINGREQ:
        if (this.pendingPings === 0) this.pingSince = t;
        if (this.pendingPings < MAX_PINGS) this.pendingPings++;
        break;
      case PINGRESP:
        if (this.pendingPings > 0) this.pendingPings--;
        else if (this.connectSeen && !this.c2s.lost) out.push(violation(S.unsolicitedPingresp, lv, 'PINGRESP without an outstanding PINGREQ'));
        break;
      case DISCONNECT:
        if (me.disconnect === null) me.disconnect = disconnectSeen(rec.frame, d);
        this.onDisconnect(d, me, dir, lv, t, out);
        break;
      case AUTH: if (d instanceof AuthPacket) this.onAuth(d, dir, lv, out); break; // type 15 before 5.0 is a ReservedPacket
    }
  }

  // ---- connection establishment --------------------------------------------------------------

  private checkServerOrder(type: number, lv: ProtocolLevel, d: MqttPacket, out: Violation[]): void {
    if (this.connackCount === 0) {
      // Not when the server's bytes were lost: its CONNACK may have been in them.
      if (this.connectSeen && type !== CONNACK && !(lv === 5 && type === AUTH) && !this.reportedBeforeConnack && !this.s2c.lost) {
        this.reportedBeforeConnack = true;
        if (lv === 5 && type === DISCONNECT) {
          out.push(violation(S.serverDisconnectEarly, lv, 'the server sent DISCONNECT before any CONNACK'));
        } else {
          out.push(violation(pick(S.connackFirst, lv), lv, `the server sent ${d.typeName} before CONNACK`));
        }
      }
    } else if (this.refused && !this.reportedAfterRefusal) {
      this.reportedAfterRefusal = true;
      if (lv === 5 && type === DISCONNECT) {
        out.push(violation(S.serverDisconnectEarly, lv, 'the server sent DISCONNECT after a CONNACK that refused the connection'));
      } else if (type !== CONNACK) {
        out.push(violation(pick(S.afterRefusal, lv), lv, `the server sent ${d.typeName} after refusing the connection instead of closing it`));
      }
    }
  }

  private onConnect(rec: PacketRecord, d: ConnectPacket, lv: ProtocolLevel, out: Violation[]): void {
    if (this.connectSeen) {
      out.push(violation(pick(S.secondConnect, lv), lv, 'second CONNECT on the same connection'));
      return;
    }
    this.connectSeen = true;
    this.level = lv;
    this.clean = (d.cleanStart ?? d.cleanSession) === true;
    this.clientId = d.clientId;
    this.willFlag = d.willFlag === true;
    this.willQos = d.willQos ?? 0;
    this.willRetain = d.willRetain === true;
    this.keepAlive = d.keepAlive ?? 0;
    this.lastClientTime = rec.timeSec + rec.timeNsec / 1e9;
    for (const p of d.problems) {
      if (p.code === 'bad-protocol-name') this.connectBadName = true;
      else if (p.code === 'bad-protocol-level') this.connectBadLevel = true;
      else if (p.severity !== 'warning') this.connectMalformed = true;
    }
    this.known = this.conn.sawSyn && this.clean;
    if (lv === 5) {
      const props = d.properties;
      this.authMethod = props?.authenticationMethod;
      this.connectSessionExpiry = props?.sessionExpiryInterval ?? 0;
      this.requestProblemInfo = props?.requestProblemInformation ?? 1;
      this.requestResponseInfo = props?.requestResponseInformation ?? 0;
      this.s2c.maxPacketSize = props?.maximumPacketSize ?? 0;
      this.s2c.receiveMaximum = props?.receiveMaximum || 65535;
      this.s2c.topicAliasMax = props?.topicAliasMaximum ?? 0;
    }
  }

  private onConnack(d: ConnackPacket, lv: ProtocolLevel, out: Violation[]): void {
    if (this.connackCount > 0) {
      out.push(lv === 5
        ? violation(S.secondConnack50, lv, 'second CONNACK on the same connection')
        : violation(S.secondConnack311, lv, 'second CONNACK on the same connection'));
      return;
    }
    this.connackCount = 1;
    const rc = (lv === 5 ? d.reasonCode : d.returnCode) ?? 0;
    const sp = d.sessionPresent;
    this.connackCode = rc;
    this.connackName = (lv === 5 ? d.reasonCodeName : d.returnCodeName) ?? null;
    this.accepted = rc === 0;
    this.refused = !this.accepted;
    const props = d.properties ?? NO_PROPERTIES;
    if (this.connectSeen) {
      if (lv !== 5) {
        if (this.connectBadName && this.accepted) {
          out.push(violation(S.badNameAccepted, lv, 'the server accepted a CONNECT whose protocol name is wrong', 3, 1));
        }
        if (this.connectBadLevel && rc !== 1) {
          out.push(violation(S.badLevelAnswer, lv, `the server answered a CONNECT with an unsupported protocol level with return code ${rc}, not 1`, 3, 1));
        }
        if (lv === 4 && this.clientId === '' && !this.clean && rc !== 2) {
          out.push(violation(S.emptyClientIdNotRejected, lv, `zero-length ClientId with CleanSession 0 answered with return code ${rc}, not 2`, 3, 1));
        }
      }
      if (this.connectMalformed && this.accepted) {
        out.push(violation(pick(S.malformedConnectAccepted, lv), lv, 'the server accepted a malformed CONNECT'));
      }
      if (this.accepted && this.clean && sp === true) {
        out.push(violation(pick(S.cleanWithSessionPresent, lv), lv, `Session Present is 1 although the client asked for a ${lv === 5 ? 'clean start' : 'clean session'}`, 2, 1));
        if (lv === 5) this.spOnClean = true;
      }
      if (this.clientId !== undefined && isPlainClientId(this.clientId) && rc === (lv === 5 ? 0x85 : 2)) {
        out.push(violation(pick(S.plainClientIdRejected, lv), lv, `the server rejected ClientId "${this.clientId}", which every server must accept (1-23 of 0-9, a-z, A-Z)`, 3, 1));
      }
      if (lv === 5) {
        const method = props.authenticationMethod;
        if (this.authMethod === undefined && method !== undefined) {
          out.push(violation(S.authServerWithoutMethod, lv, 'CONNACK carries an Authentication Method although the CONNECT had none'));
        } else if (this.authMethod !== undefined && this.accepted && method !== this.authMethod) {
          out.push(violation(S.authMethodSame, lv, method === undefined
            ? 'successful CONNACK without the Authentication Method of the CONNECT'
            : `CONNACK Authentication Method "${String(method)}" differs from the CONNECT's "${this.authMethod}"`));
        }
        if (this.accepted) {
          if (this.clientId === '' && props.assignedClientIdentifier === undefined) {
            out.push(violation(S.assignedClientId, lv, 'zero-length ClientId accepted without an Assigned Client Identifier'));
          }
          const mq = props.maximumQos;
          if (this.willFlag && mq !== undefined && this.willQos > mq) {
            out.push(violation(S.willQosAboveMax, lv, `the server accepted a Will with QoS ${this.willQos} while its Maximum QoS is ${mq}`));
          }
          if (this.willFlag && this.willRetain && props.retainAvailable === 0) {
            out.push(violation(S.willRetainUnavailable, lv, 'the server accepted a retained Will while declaring Retain Available 0'));
          }
          if (this.requestResponseInfo !== 1 && props.responseInformation !== undefined) {
            out.push(violation(S.responseInfo, lv, 'CONNACK carries Response Information the client did not request'));
          }
        }
      }
    }
    if (sp === true) this.known = false;
    else if (sp === false && this.connectSeen && this.conn.sawSyn && !this.c2s.lost && !this.s2c.lost) this.known = true;
    if (lv === 5) {
      this.c2s.maxPacketSize = props.maximumPacketSize ?? 0;
      this.c2s.receiveMaximum = props.receiveMaximum || 65535;
      this.c2s.topicAliasMax = props.topicAliasMaximum ?? 0;
      this.maxQosDeclared = props.maximumQos !== undefined;
      this.maxQos = props.maximumQos ?? 2;
      this.retainAvailable = props.retainAvailable !== 0;
      this.wildcardAvailable = props.wildcardSubscriptionAvailable !== 0;
      this.subIdAvailable = props.subscriptionIdentifierAvailable !== 0;
      this.sharedAvailable = props.sharedSubscriptionAvailable !== 0;
      const ska = props.serverKeepAlive;
      if (ska !== undefined) {
        this.keepAlive = ska;
        this.kaFromServer = true;
      }
    }
  }

  // ---- keep alive -----------------------------------------------------------------------------

  private checkKeepAlive(dir: Direction, t: number, lv: ProtocolLevel, out: Violation[]): void {
    const ka = this.keepAlive;
    if (ka <= 0 || this.lastClientTime < 0 || this.c2s.sentDisconnect) return;
    const gap = t - this.lastClientTime;
    const tol = keepAliveTolerance(ka);
    if (gap > 1.5 * ka + tol && !this.reportedKaServer) {
      this.reportedKaServer = true;
      out.push(violation(pick(S.kaServer, lv), lv,
        `no packet from the client for ${fmt(gap)} s (1.5 x Keep Alive ${ka} s = ${fmt(1.5 * ka)} s), yet the server kept the connection open`));
    }
    if (dir === 'c2s') {
      if (gap > ka + tol) {
        const r = lv === 5 && this.kaFromServer ? S.kaClientServerValue : pick(S.kaClient, lv);
        out.push(violation(r, lv, `the client was silent for ${fmt(gap)} s, longer than the Keep Alive of ${ka} s${this.kaFromServer ? ' (Server Keep Alive)' : ''}`));
      }
      this.reportedKaServer = false;
    }
  }

  // ---- malformed packets and the receiver's duty to close ---------------------------------------

  private noteMalformed(d: MqttPacket, receiver: Side): void {
    if (receiver.peerMalformed) return;
    for (const p of d.problems) {
      if (p.severity === 'warning') continue;
      receiver.peerMalformed = true;
      receiver.peerMalformedFlags = p.code === 'reserved-flags';
      return;
    }
  }

  private checkContinued(me: Side, dir: Direction, lv: ProtocolLevel, out: Violation[]): void {
    me.reportedContinue = true;
    if (lv === 5) {
      if (dir !== 's2c') return;
      out.push(violation(S.continuedAfterError50, lv, 'the server kept sending after receiving a malformed packet instead of closing the connection'));
      return;
    }
    const who = dir === 'c2s' ? 'client' : 'server';
    out.push(me.peerMalformedFlags
      ? violation(S.continuedAfterBadFlags, lv, `the ${who} kept sending after receiving a packet with invalid fixed-header flags`)
      : violation(S.continuedAfterError311, lv, `the ${who} kept sending after receiving a malformed packet instead of closing the connection`));
  }

  // ---- 5.0 limits ---------------------------------------------------------------------------------

  private oversize(d: MqttPacket, dir: Direction, max: number, out: Violation[]): void {
    const props = propertiesOf(d);
    const specific = SIZE_RULES[d.type];
    const msg = `${d.typeName} of ${d.length} bytes exceeds the peer's Maximum Packet Size of ${max}`;
    if (specific && props && props.reasonString !== undefined) {
      out.push(violation(specific[0], 5, `${msg}; the Reason String should have been left out`));
    } else if (specific && props && props.userProperties !== undefined) {
      out.push(violation(specific[1], 5, `${msg}; the User Properties should have been left out`));
    } else {
      out.push(violation(dir === 'c2s' ? S.maxPacketToServer : S.maxPacketToClient, 5, msg));
    }
  }

  // ---- PUBLISH and its acknowledgements ----------------------------------------------------------

  private onPublish(rec: PacketRecord, d: PublishPacket, me: Side, dir: Direction, lv: ProtocolLevel, t: number, out: Violation[]): void {
    const qos = d.headerFields ? d.qos : 0;
    let topic = d.topic ?? '';
    const props = d.properties;
    if (lv === 5) {
      const alias = props?.topicAlias;
      if (alias !== undefined) topic = this.resolveAlias(d, me, dir, alias, topic, lv, out);
      if (dir === 'c2s' && this.accepted) {
        if (qos > this.maxQos && qos !== 3) {
          out.push(violation(S.maxQos, lv, `PUBLISH with QoS ${qos} above the server's Maximum QoS ${this.maxQos}`, 0, 1));
        }
        if (d.headerFields && d.retain && !this.retainAvailable) {
          out.push(violation(S.retainUnavailable, lv, 'PUBLISH with RETAIN 1 although the server declared Retain Available 0', 0, 1));
        }
      }
    }
    if (dir === 's2c' && this.known && this.subs !== null && topic !== '') this.checkDelivery(d, topic, qos, props, lv, out);

    const id = d.packetId;
    if ((qos !== 1 && qos !== 2) || id === undefined) return;
    const payloadLength = d.payloadLength ?? 0;
    const dup = d.dup;
    const old = me.flights.get(id);
    const kept = topicDigest(topic, FLIGHT_TOPIC_CHARS);
    if (old) {
      const same = (old.kind === Kind.Q1 || old.kind === Kind.Q2 || old.kind === Kind.Q2Rec || old.kind === Kind.Q2Rel)
        && old.qos === qos && old.topic === kept && old.payloadLength === payloadLength;
      if (!same) {
        const b = rec.bytes;
        const idAt = d.headerLength + 2 + ((b[d.headerLength]! << 8) | b[d.headerLength + 1]!);
        out.push(violation(pick(dir === 'c2s' ? S.reuseClient : S.reuseServer, lv), lv,
          `packet identifier ${id} is still in use by the ${kindName(old.kind)} of frame ${old.frame}`, idAt, 2));
        return;
      }
      if (old.kind === Kind.Q2Rel) {
        out.push(violation(pick(S.publishAfterPubrel, lv), lv, `QoS 2 PUBLISH ${id} sent again after its PUBREL`));
      } else if (lv === 5) {
        out.push(violation(S.resendInConnection, lv, `PUBLISH ${id} resent on the same connection (first sent in frame ${old.frame}); MQTT 5.0 resends only after a reconnect`));
      }
      if (!dup) out.push(violation(pick(S.redeliveryWithoutDup, lv), lv, `PUBLISH ${id} re-delivered with DUP 0 (first sent in frame ${old.frame})`, 0, 1));
      return;
    }
    if (dup && this.known) {
      out.push(violation(pick(dir === 'c2s' ? S.dupOnCleanClient : S.dupOnCleanServer, lv), lv,
        dir === 'c2s'
          ? `PUBLISH ${id} has DUP 1 but was never sent on this clean session`
          : `PUBLISH ${id} has DUP 1 but the server never sent it on this clean session`, 0, 1));
    }
    if (lv === 5 && me.pubInFlight >= me.receiveMaximum) {
      out.push(violation(dir === 'c2s' ? S.recvMaxClient : S.recvMaxServer, lv,
        `${me.pubInFlight + 1} unacknowledged QoS 1/2 PUBLISH packets exceed the peer's Receive Maximum of ${me.receiveMaximum}`));
    }
    const seq = ++this.seq;
    me.flights.set(id, {
      kind: qos === 1 ? Kind.Q1 : Kind.Q2, frame: rec.frame, time: t, seq, qos, topic: kept, payloadLength,
      requested: null, filters: 0, subscriptions: null,
    });
    me.pubInFlight++;
    if (dir === 's2c') {
      if (qos === 1) {
        me.q1Order.push(seq, id);
        me.q1Order.compact(me.flights, Kind.Q1);
      } else {
        me.q2Order.push(seq, id);
        me.q2Order.compact(me.flights, Kind.Q2);
      }
    }
  }

  private resolveAlias(d: PublishPacket, me: Side, dir: Direction, alias: number, topic: string, lv: ProtocolLevel, out: Violation[]): string {
    const max = me.topicAliasMax;
    if (max >= 0 && alias > 0) {
      if (max === 0) {
        out.push(violation(dir === 'c2s' ? S.aliasToServerNone : S.aliasToClientNone, lv,
          `Topic Alias ${alias} used although the ${dir === 'c2s' ? 'server' : 'client'} allows none (Topic Alias Maximum absent or 0)`));
      } else if (alias > max) {
        out.push(violation(dir === 'c2s' ? S.aliasToServerAbove : S.aliasToClientAbove, lv,
          `Topic Alias ${alias} is above the ${dir === 'c2s' ? 'server' : 'client'}'s Topic Alias Maximum ${max}`));
      }
    }
    if (alias === 0) return topic;
    if (topic !== '') {
      if (me.aliasFull) return topic;
      const map = (me.aliases ??= new Map());
      const prev = map.get(alias);
      me.aliasBytes += topic.length - (prev?.length ?? 0);
      map.set(alias, topic);
      if (me.aliasBytes > MAX_ALIAS_BYTES) {
        // Beyond the cap, stop resolving rather than keep megabytes of topics per connection.
        me.aliasFull = true;
        me.aliases = null;
        this.limitReached = { dir, message: `topic aliases set by the ${dir === 'c2s' ? 'client' : 'server'} reached the cap of ${MAX_ALIAS_BYTES} characters of topics; aliases are no longer resolved in ${dir} on this connection` };
      }
      return topic;
    }
    const mapped = me.aliases?.get(alias);
    if (mapped !== undefined) {
      d.resolvedTopic = mapped;
      return mapped;
    }
    if (this.connectSeen && this.conn.sawSyn && !me.aliasFull && !me.lost) {
      out.push(violation(S.aliasUnknown, lv, `empty Topic Name with Topic Alias ${alias}, which has not been set on this connection`));
    }
    return '';
  }

  private onPuback(d: AckPacket, me: Side, peer: Side, dir: Direction, lv: ProtocolLevel, out: Violation[]): void {
    const id = d.packetId ?? -1;
    const f = peer.flights.get(id);
    if (!f) {
      if (this.known) out.push(violation(pick(S.ackId, lv), lv, `PUBACK for packet identifier ${id}, which has no QoS 1 PUBLISH in flight`, d.headerLength, 2));
      return;
    }
    if (f.kind === Kind.Q1) {
      if (dir === 'c2s') this.checkOrder(peer.q1Order, peer.flights, Kind.Q1, id, me, S.pubackOrder, 'PUBACK', lv, out);
      peer.flights.delete(id);
      peer.pubInFlight--;
      return;
    }
    if (f.kind === Kind.Sub || f.kind === Kind.Unsub) {
      out.push(violation(pick(S.ackId, lv), lv, `PUBACK for packet identifier ${id}, which belongs to the ${kindName(f.kind)} of frame ${f.frame}`, d.headerLength, 2));
      return;
    }
    out.push(violation(pick(S.ackType, lv), lv, `PUBACK answers the QoS 2 PUBLISH of frame ${f.frame} (QoS 2 needs PUBREC)`));
  }

  private onPubrec(d: AckPacket, me: Side, peer: Side, dir: Direction, lv: ProtocolLevel, out: Violation[]): void {
    const id = d.packetId ?? -1;
    const f = peer.flights.get(id);
    if (!f) {
      if (this.known) out.push(violation(pick(S.ackId, lv), lv, `PUBREC for packet identifier ${id}, which has no QoS 2 PUBLISH in flight`, d.headerLength, 2));
      return;
    }
    switch (f.kind) {
      case Kind.Q2: {
        if (dir === 'c2s') this.checkOrder(peer.q2Order, peer.flights, Kind.Q2, id, me, S.pubrecOrder, 'PUBREC', lv, out);
        if (lv === 5 && (d.reasonCode ?? 0) >= 0x80) {
          peer.flights.delete(id);
          peer.pubInFlight--;
          return;
        }
        f.kind = Kind.Q2Rec;
        f.seq = ++this.seq;
        if (dir === 's2c') {
          peer.relOrder.push(f.seq, id);
          peer.relOrder.compact(peer.flights, Kind.Q2Rec);
        }
        return;
      }
      case Kind.Q2Rec: case Kind.Q2Rel:
        return; // a repeated PUBREC answers a duplicate PUBLISH
      case Kind.Q1:
        out.push(violation(pick(S.ackType, lv), lv, `PUBREC answers the QoS 1 PUBLISH of frame ${f.frame} (QoS 1 needs PUBACK)`));
        return;
      default:
        out.push(violation(pick(S.ackId, lv), lv, `PUBREC for packet identifier ${id}, which belongs to the ${kindName(f.kind)} of frame ${f.frame}`, d.headerLength, 2));
    }
  }

  private onPubrel(d: AckPacket, me: Side, dir: Direction, lv: ProtocolLevel, out: Violation[]): void {
    const id = d.packetId ?? -1;
    const f = me.flights.get(id);
    if (!f) {
      if (this.known) out.push(violation(pick(S.ackId, lv), lv, `PUBREL for packet identifier ${id}, which has no QoS 2 PUBLISH in flight`, d.headerLength, 2));
      return;
    }
    switch (f.kind) {
      case Kind.Q2Rec:
        if (dir === 'c2s') this.checkOrder(me.relOrder, me.flights, Kind.Q2Rec, id, me, S.pubrelSendOrder, 'PUBREL', lv, out);
        f.kind = Kind.Q2Rel;
        return;
      case Kind.Q2:
        // The PUBREC comes from the other side: lost in a gap, it was not missing. And after a gap in this side's own
        // stream its packets may be decoded late (resynchronisation waits for a chain), after the PUBREC went by.
        if (!me.lost && !(me === this.c2s ? this.s2c : this.c2s).lost) {
          out.push(violation(pick(S.pubrelOrder, lv), lv, `PUBREL ${id} sent before the PUBREC for the PUBLISH of frame ${f.frame}`));
        }
        f.kind = Kind.Q2Rel;
        return;
      case Kind.Q2Rel:
        if (lv === 5) out.push(violation(S.resendInConnection, lv, `PUBREL ${id} resent on the same connection; MQTT 5.0 resends only after a reconnect`));
        return;
      default:
        out.push(violation(pick(S.ackId, lv), lv, `PUBREL for packet identifier ${id}, which belongs to the ${kindName(f.kind)} of frame ${f.frame}`, d.headerLength, 2));
    }
  }

  private onPubcomp(d: AckPacket, peer: Side, lv: ProtocolLevel, out: Violation[]): void {
    const id = d.packetId ?? -1;
    const f = peer.flights.get(id);
    if (!f) {
      if (this.known) out.push(violation(pick(S.pubcompId, lv), lv, `PUBCOMP for packet identifier ${id}, which has no PUBREL outstanding`, d.headerLength, 2));
      return;
    }
    switch (f.kind) {
      case Kind.Q2Rel:
        peer.flights.delete(id);
        peer.pubInFlight--;
        return;
      case Kind.Q2: case Kind.Q2Rec:
        // The PUBREL comes from the PUBLISH's sender: lost in a gap, it was not missing.
        if (!peer.lost) out.push(violation(pick(S.pubcompOrder, lv), lv, `PUBCOMP ${id} sent before the PUBREL for the PUBLISH of frame ${f.frame}`));
        peer.flights.delete(id);
        peer.pubInFlight--;
        return;
      default:
        out.push(violation(pick(S.pubcompId, lv), lv, `PUBCOMP for packet identifier ${id}, which belongs to the ${kindName(f.kind)} of frame ${f.frame}`, d.headerLength, 2));
    }
  }

  private checkOrder(q: OrderQueue, flights: Map<number, Flight>, kind: Kind, id: number, acker: Side, r: RulePair, what: string, lv: ProtocolLevel, out: Violation[]): void {
    const first = q.first(flights, kind);
    // An acknowledgement lost in a gap makes the next one look early.
    if (first >= 0 && first !== id && !acker.reportedOrder && !acker.lost) {
      acker.reportedOrder = true;
      out.push(violation(pick(r, lv), lv, `${what} ${id} sent before the ${what} for ${first}, which arrived earlier`));
    }
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE -----------------------------------------------------------------

  private newRequest(rec: PacketRecord, d: SubscribePacket | UnsubscribePacket, kind: Kind, t: number, lv: ProtocolLevel, out: Violation[]): Flight | null {
    const id = d.packetId;
    if (id === undefined) return null;
    const old = this.c2s.flights.get(id);
    if (old) {
      out.push(violation(pick(S.reuseClient, lv), lv, `packet identifier ${id} is still in use by the ${kindName(old.kind)} of frame ${old.frame}`, d.headerLength, 2));
      return null;
    }
    const f: Flight = { kind, frame: rec.frame, time: t, seq: ++this.seq, qos: 0, topic: '', payloadLength: 0, requested: null, filters: 0, subscriptions: null };
    this.c2s.flights.set(id, f);
    return f;
  }

  private onSubscribe(rec: PacketRecord, d: SubscribePacket, lv: ProtocolLevel, t: number, out: Violation[]): void {
    const subs = d.subscriptions ?? [];
    const subId = d.properties?.subscriptionIdentifier;
    if (lv === 5 && this.accepted) this.checkSubFeatures(subs, subId, out);
    const f = this.newRequest(rec, d, Kind.Sub, t, lv, out);
    if (!f) return;
    f.subscriptions = subs;
    f.filters = subs.length;
    if (this.subs === null) return;
    for (const s of subs) {
      if (s.topic === '') continue;
      const filter = stripShare(s.topic);
      const prev = this.subs.get(filter);
      if (prev) {
        prev.requested = s.qos;
        prev.pending = true;
        prev.removed = false;
        prev.rap = s.retainAsPublished === true;
        prev.subId = typeof subId === 'number' ? subId : undefined;
        continue;
      }
      const wild = filter.includes('+') || filter.includes('#');
      if (this.subs.size >= MAX_SUBSCRIPTIONS || (wild && this.wildSubs.length >= MAX_WILDCARD_SUBSCRIPTIONS) || this.subsChars + filter.length > MAX_SUBSCRIPTION_CHARS) {
        const why = this.subs.size >= MAX_SUBSCRIPTIONS ? `${MAX_SUBSCRIPTIONS} subscriptions`
          : wild && this.wildSubs.length >= MAX_WILDCARD_SUBSCRIPTIONS ? `${MAX_WILDCARD_SUBSCRIPTIONS} wildcard subscriptions`
            : `${MAX_SUBSCRIPTION_CHARS} characters of filters`;
        this.limitReached = { dir: 'c2s', message: `the client's subscriptions reached the cap of ${why} (frame ${rec.frame}); deliveries are no longer checked against them on this connection` };
        this.subs = null;
        this.wildSubs = [];
        this.subsChars = 0;
        return;
      }
      this.subsChars += filter.length;
      const sub: Subscription = {
        filter, requested: s.qos, granted: -1, pending: true, removed: false, rap: s.retainAsPublished === true,
        subId: typeof subId === 'number' ? subId : undefined, wild, wildcardFirst: filter.startsWith('+') || filter.startsWith('#'),
      };
      this.subs.set(filter, sub);
      if (wild) this.wildSubs.push(sub);
    }
  }

  private checkSubFeatures(subs: readonly SubscriptionRequest[], subId: number | number[] | undefined, out: Violation[]): void {
    if (subId !== undefined && !this.subIdAvailable) {
      out.push(violation(S.subFeatures, 5, 'SUBSCRIBE with a Subscription Identifier although the server declared them unavailable'));
    }
    for (const s of subs) {
      if (!this.sharedAvailable && isShared(s.topic)) {
        out.push(violation(S.subFeatures, 5, `shared subscription "${s.topic}" although the server declared Shared Subscription Available 0`));
        return;
      }
      if (!this.wildcardAvailable && (s.topic.includes('+') || s.topic.includes('#'))) {
        out.push(violation(S.subFeatures, 5, `wildcard filter "${s.topic}" although the server declared Wildcard Subscription Available 0`));
        return;
      }
    }
  }

  private onSuback(d: SubackPacket, lv: ProtocolLevel, out: Violation[]): void {
    const id = d.packetId ?? -1;
    const f = this.c2s.flights.get(id);
    if (!f || f.kind !== Kind.Sub) {
      if (f || this.known) {
        out.push(violation(pick(S.subackId, lv), lv, f
          ? `SUBACK for packet identifier ${id}, which belongs to the ${kindName(f.kind)} of frame ${f.frame}`
          : `SUBACK for packet identifier ${id}, which has no SUBSCRIBE in flight`, d.headerLength, 2));
      }
      return;
    }
    this.c2s.flights.delete(id);
    const codes = d.returnCodes ?? d.reasonCodes;
    const subs = f.subscriptions ?? [];
    // Empty lists on either side are the decoder's findings already.
    if (codes === undefined || codes.length === 0 || subs.length === 0) return;
    if (codes.length !== subs.length) {
      out.push(violation(pick(S.subackCount, lv), lv, `SUBACK has ${codes.length} code${codes.length === 1 ? '' : 's'} for the ${subs.length} filter${subs.length === 1 ? '' : 's'} of the SUBSCRIBE in frame ${f.frame}`));
      return;
    }
    let reported = false;
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i]!;
      const s = subs[i]!;
      if (c < 0x80 && c > s.qos && !reported) {
        reported = true;
        out.push(violation(pick(S.grantedAboveRequested, lv), lv, `SUBACK grants QoS ${c} for "${s.topic}", which requested QoS ${s.qos}: codes out of order or over-granted`, d.length - codes.length + i, 1));
      }
      if (this.subs === null) continue;
      const sub = this.subs.get(stripShare(s.topic));
      if (!sub || !sub.pending) continue;
      sub.pending = false;
      if (c < 0x80) sub.granted = c;
      else if (sub.granted < 0) {
        this.subs.delete(stripShare(s.topic));
        this.subsChars -= stripShare(s.topic).length;
        if (sub.wild) this.wildSubs.splice(this.wildSubs.indexOf(sub), 1);
      }
    }
  }

  private onUnsubscribe(rec: PacketRecord, d: UnsubscribePacket, lv: ProtocolLevel, t: number, out: Violation[]): void {
    const topics = d.topics ?? [];
    const f = this.newRequest(rec, d, Kind.Unsub, t, lv, out);
    if (f) f.filters = topics.length;
    if (this.subs === null) return;
    for (const tp of topics) {
      // Kept, marked removed: messages already on their way may still arrive for it.
      const sub = this.subs.get(stripShare(tp));
      if (sub) sub.removed = true;
    }
  }

  private onUnsuback(d: UnsubackPacket, lv: ProtocolLevel, out: Violation[]): void {
    const id = d.packetId ?? -1;
    const f = this.c2s.flights.get(id);
    if (!f || f.kind !== Kind.Unsub) {
      if (f || this.known) {
        out.push(violation(pick(S.unsubackId, lv), lv, f
          ? `UNSUBACK for packet identifier ${id}, which belongs to the ${kindName(f.kind)} of frame ${f.frame}`
          : `UNSUBACK for packet identifier ${id}, which has no UNSUBSCRIBE in flight`, d.headerLength, 2));
      }
      return;
    }
    this.c2s.flights.delete(id);
    const codes = d.reasonCodes;
    if (lv === 5 && codes !== undefined && codes.length > 0 && f.filters > 0 && codes.length !== f.filters) {
      out.push(violation(S.unsubackCount, lv, `UNSUBACK has ${codes.length} reason code${codes.length === 1 ? '' : 's'} for the ${f.filters} filter${f.filters === 1 ? '' : 's'} of the UNSUBSCRIBE in frame ${f.frame}`));
    }
  }

  private take(s: Subscription): void {
    this.mMatched = true;
    const g = s.granted >= 0 && !s.pending ? s.granted : Math.max(s.granted, s.requested);
    if (g > this.mMaxQos) this.mMaxQos = g;
    if (s.rap) this.mRap = true;
    if (!s.removed && !s.pending && s.subId !== undefined) this.mSubId = true;
  }

  /** A server PUBLISH against the client's subscriptions on this (clean) session. */
  private checkDelivery(d: PublishPacket, topic: string, qos: number, props: Properties | undefined, lv: ProtocolLevel, out: Violation[]): void {
    this.mMatched = false;
    this.mDollarWild = false;
    this.mMaxQos = -1;
    this.mRap = false;
    this.mSubId = false;
    const exact = this.subs!.get(topic);
    if (exact && !exact.wild) this.take(exact);
    const dollar = topic.charCodeAt(0) === 0x24;
    const wild = this.wildSubs;
    for (let i = 0; i < wild.length; i++) {
      const s = wild[i]!;
      // Without the '$' rule: a '$' topic only wildcard-first filters match is a finding of its own, below.
      if (!topicMatches(s.filter, topic, false)) continue;
      if (dollar && s.wildcardFirst) this.mDollarWild = true;
      else this.take(s);
    }
    const matched = this.mMatched;
    const dollarOnlyWildcard = this.mDollarWild;
    const maxQos = this.mMaxQos;
    const anyRap = this.mRap;
    const wantsSubId = this.mSubId;
    if (!matched) {
      if (dollarOnlyWildcard) {
        out.push(violation(pick(S.dollarTopic, lv), lv, `topic "${topic}" starts with '$' but only filters starting with a wildcard match it`));
      } else if (this.accepted) {
        // Platforms deliver commands on '$' topics, or to clients that never subscribed (implicit subscriptions, as
        // OneNET's $creq, which the OneNET dialect takes back). The message says so; the severity is the catalogue's.
        const implicit = dollar || (this.subs!.size === 0 && wild.length === 0);
        out.push(violation(pick(S.noMatchingSubscription, lv), lv, implicit
          ? `the server sent topic "${topic}" to a client with no subscription matching it (an implicit, platform-side subscription?)`
          : `the server sent topic "${topic}", which matches none of the client's subscriptions on this session`));
      }
      return;
    }
    if (qos > maxQos && qos !== 3) {
      out.push(violation(pick(S.qosAboveGranted, lv), lv, `PUBLISH with QoS ${qos} above the QoS ${maxQos} granted to the matching subscription${maxQos >= 0 ? '' : 's'}`, 0, 1));
    }
    if (lv === 5) {
      if (wantsSubId && props?.subscriptionIdentifier === undefined) {
        out.push(violation(S.missingSubIds, lv, `PUBLISH on "${topic}" lacks the Subscription Identifier of the matching subscription`));
      }
      if (d.headerFields && d.retain && d.payloadLength === 0 && !anyRap) {
        out.push(violation(S.retainedEmpty50, lv, 'retained PUBLISH with an empty payload on a subscription without Retain As Published: zero-byte retained messages are never stored', 0, 1));
      }
    }
  }

  // ---- DISCONNECT / AUTH --------------------------------------------------------------------------

  private onDisconnect(d: DisconnectPacket, me: Side, dir: Direction, lv: ProtocolLevel, t: number, out: Violation[]): void {
    if (!me.sentDisconnect) {
      me.sentDisconnect = true;
      me.disconnectTime = t;
    }
    if (lv !== 5) return;
    const rc = d.reasonCode ?? 0;
    if (rc >= 0x80) this.abortive = true;
    const props = d.properties;
    if (dir === 'c2s') {
      const sei = props?.sessionExpiryInterval;
      if (sei !== undefined && sei > 0 && this.connectSeen && this.connectSessionExpiry === 0) {
        out.push(violation(S.seiAfterZero, lv, `DISCONNECT sets Session Expiry Interval ${sei} after the CONNECT had 0`));
      }
    } else if (rc === 0x9b && this.connackCount > 0 && !this.maxQosDeclared) {
      out.push(violation(S.maxQosUndeclared, lv, 'the server disconnects with "QoS not supported" without having declared a Maximum QoS in CONNACK'));
    }
  }

  private onAuth(d: AuthPacket, dir: Direction, lv: ProtocolLevel, out: Violation[]): void {
    if (!this.connectSeen) return;
    const method = d.properties?.authenticationMethod;
    const rc = d.reasonCode ?? 0;
    if (this.authMethod === undefined) {
      out.push(dir === 'c2s'
        ? violation(S.authClientWithoutMethod, lv, 'the client sent AUTH although its CONNECT had no Authentication Method')
        : violation(S.authServerWithoutMethod, lv, 'the server sent AUTH although the CONNECT had no Authentication Method'));
      return;
    }
    if (method !== undefined && method !== this.authMethod) {
      out.push(violation(dir === 'c2s' && rc === 0x19 ? S.reauthMethod : S.authMethodSame, lv,
        `AUTH Authentication Method "${method}" differs from the CONNECT's "${this.authMethod}"`));
    }
    if (this.connackCount === 0 && rc !== 0x18) {
      out.push(dir === 'c2s'
        ? violation(S.authClientContinue, lv, `client AUTH during authentication has reason ${hex(rc)}, not 0x18 (Continue authentication)`)
        : violation(S.authServerContinue, lv, `server AUTH during authentication has reason ${hex(rc)}, not 0x18 (Continue authentication)`));
    }
  }

  // ---- end of connection -----------------------------------------------------------------------

  /**
   * Keep Alive measured to the close: the client's silence from its last packet to the TCP close (or the end of the
   * capture). A client silent past Keep Alive plus tolerance broke its rule; a server that let the silence run past
   * 1.5 x Keep Alive plus tolerance before the close kept the connection open too long (unless a later packet
   * already showed it). Not after the client's DISCONNECT, nor when client bytes were lost, nor for a connection
   * still open at the end of the capture.
   */
  closeFindings(end: ConnectionEnd): Violation[] {
    const ka = this.keepAlive;
    // Only at a real close: a connection still open when the capture ended (or dropped from memory) may have had
    // traffic the capture does not hold (captures joined from pieces, a filter that ends early); its record still
    // says whether the silence passed 1.5 x Keep Alive.
    if (ka <= 0 || this.lastClientTime < 0 || this.c2s.sentDisconnect || this.c2s.lost || endsOpen(end)) return [];
    const lv = this.level;
    const out: Violation[] = [];
    const gap = endSeconds(end) - this.lastClientTime;
    const tol = keepAliveTolerance(ka);
    const how = 'the connection closed';
    if (gap > ka + tol) {
      const r = lv === 5 && this.kaFromServer ? S.kaClientServerValue : pick(S.kaClient, lv);
      out.push(violation(r, lv, `the client was silent for ${fmt(gap)} s until ${how}, longer than the Keep Alive of ${ka} s${this.kaFromServer ? ' (Server Keep Alive)' : ''}`));
    }
    if (gap > 1.5 * ka + tol && !this.reportedKaServer) {
      out.push(violation(pick(S.kaServer, lv), lv,
        `no packet from the client for ${fmt(gap)} s (1.5 x Keep Alive ${ka} s = ${fmt(1.5 * ka)} s) before ${how}: the server kept the connection open past the deadline`));
    }
    return out;
  }

  /** What the close record says about the session. */
  endFacts(end: ConnectionEnd): SessionEnd {
    const c = this.c2s.disconnect;
    const sv = this.s2c.disconnect;
    // The DISCONNECT that came first ended the session; the TCP close follows it.
    const first = c !== null && (sv === null || c.frame <= sv.frame) ? { ...c, dir: 'c2s' as const } : sv !== null ? { ...sv, dir: 's2c' as const } : null;
    const silence = this.lastClientTime >= 0 ? Math.max(0, endSeconds(end) - this.lastClientTime) : null;
    const ka = this.connectSeen || this.kaFromServer ? this.keepAlive : null;
    let willDue: boolean | null = null;
    if (this.connectSeen) {
      // 3.x: any DISCONNECT of the client deletes the Will; 5.0: only 0x00 (3.1.2-8), 0x04 and the error codes do not.
      const normal = c !== null && (c.reasonCode === undefined || c.reasonCode === 0x00);
      willDue = this.willFlag && this.accepted && !normal;
    }
    return {
      level: this.clientSeen || this.connackCount > 0 ? this.level : 0,
      by: first !== null ? first.dir : end.by,
      disconnect: first,
      connackCode: this.connackCode,
      connackName: this.connackName,
      refused: this.refused,
      serverDisconnect: sv !== null,
      keepAlive: ka,
      keepAliveFromServer: this.kaFromServer,
      silenceSec: silence,
      keepAliveExpired: ka !== null && ka > 0 && silence !== null && silence > 1.5 * ka,
      willDue,
    };
  }

  /**
   * Findings about exchanges still open when the connection ended, grouped by the side that owed the next packet.
   * On a connection still open at the end of the capture, requests younger than INCOMPLETE_GRACE_SEC at that end are
   * left out: the answer may simply be past the end of the capture.
   */
  incompleteFlows(end?: ConnectionEnd): { dir: Direction; violations: Violation[]; total: number }[] {
    // Warnings (their catalogue entries say so): the connection may have ended for reasons the capture does not show.
    if (this.refused || this.abortive) return [];
    const lv = this.level;
    // A connection that really closed (FIN, RST, reuse) can get no answer any more: every open exchange counts. One
    // still open at the end of the capture may get it just after: the grace period counts back from that end.
    const cutoff = end === undefined ? this.lastTime - INCOMPLETE_GRACE_SEC
      : endsOpen(end) ? Math.max(this.lastTime, endSeconds(end)) - INCOMPLETE_GRACE_SEC : Infinity;
    const owed: Record<Direction, Violation[]> = { c2s: [], s2c: [] };
    const totals: Record<Direction, number> = { c2s: 0, s2c: 0 };
    const add = (who: Direction, v: () => Violation): void => {
      // A side that received a malformed packet must close the connection, not answer what is still open; a side
      // whose bytes the capture lost (a gap) may have answered in them.
      const owing = who === 'c2s' ? this.c2s : this.s2c;
      if (owing.peerMalformed || owing.lost) return;
      totals[who]++;
      if (owed[who].length < MAX_FLOW_VIOLATIONS) owed[who].push(v());
    };
    for (const sender of ['c2s', 's2c'] as const) {
      const side = sender === 'c2s' ? this.c2s : this.s2c;
      // After a gap in the sender's stream its packets may be decoded late (resynchronisation waits for a chain of
      // packets), after the answer went by: an open exchange may have been answered.
      if (side.lost) continue;
      const other: Direction = sender === 'c2s' ? 's2c' : 'c2s';
      const receiver = sender === 'c2s' ? 'server' : 'client';
      for (const [id, f] of side.flights) {
        if (f.time > cutoff) continue;
        switch (f.kind) {
          case Kind.Q1: case Kind.Q2:
            add(other, () => violation(S.noAck, lv,
              `the ${receiver} never answered the QoS ${f.qos} PUBLISH ${id} of frame ${f.frame} with ${f.qos === 1 ? 'PUBACK' : 'PUBREC'}`));
            break;
          case Kind.Q2Rec:
            add(sender, () => violation(S.noPubrel, lv, `no PUBREL followed the PUBREC for the QoS 2 PUBLISH ${id} of frame ${f.frame}`));
            break;
          case Kind.Q2Rel:
            add(other, () => violation(S.noPubcomp, lv, `the ${receiver} never answered the PUBREL for the QoS 2 PUBLISH ${id} of frame ${f.frame} with PUBCOMP`));
            break;
          case Kind.Sub:
            add('s2c', () => violation(S.noSuback, lv, `the server never answered the SUBSCRIBE ${id} of frame ${f.frame} with SUBACK`));
            break;
          case Kind.Unsub:
            add('s2c', () => violation(S.noUnsuback, lv, `the server never answered the UNSUBSCRIBE ${id} of frame ${f.frame} with UNSUBACK`));
            break;
        }
      }
    }
    // The same for PINGREQs decoded late after a gap in the client's stream.
    if (this.pendingPings > 0 && this.pingSince <= cutoff && !this.c2s.lost) {
      add('s2c', () => violation(S.noPingresp, lv, `${this.pendingPings} PINGREQ${this.pendingPings === 1 ? '' : 's'} never answered with PINGRESP`));
    }
    const res: { dir: Direction; violations: Violation[]; total: number }[] = [];
    for (const dir of ['c2s', 's2c'] as const) {
      // A side never heard from is most likely not in the capture (one-way capture), not silent.
      if (totals[dir] > 0 && (dir === 'c2s' ? this.c2s : this.s2c).packets > 0) res.push({ dir, violations: owed[dir], total: totals[dir] });
    }
    return res;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** The property block of any packet type that has one. */
function propertiesOf(d: MqttPacket): Properties | undefined {
  switch (d.type) {
    case CONNECT: case CONNACK: case PUBLISH: case PUBACK: case PUBREC: case PUBREL: case PUBCOMP: case SUBSCRIBE:
    case SUBACK: case UNSUBSCRIBE: case UNSUBACK: case DISCONNECT: case AUTH:
      return d instanceof ReservedPacket ? undefined : d.properties; // type 15 before 5.0 is a ReservedPacket
    default:
      return undefined;
  }
}

/** What an absent property block reads as. */
const NO_PROPERTIES: Readonly<Properties> = new PropertiesClass();

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function hex(v: number): string {
  return '0x' + v.toString(16).padStart(2, '0');
}

function disconnectSeen(frame: number, d: DisconnectPacket): DisconnectSeen {
  const seen: DisconnectSeen = { frame };
  if (d.reasonCode !== undefined) seen.reasonCode = d.reasonCode;
  if (d.reasonCodeName !== undefined) seen.reasonCodeName = d.reasonCodeName;
  const rs = d.properties?.reasonString;
  if (rs !== undefined) seen.reasonString = rs;
  return seen;
}

function kindName(k: Kind): string {
  switch (k) {
    case Kind.Q1: return 'QoS 1 PUBLISH';
    case Kind.Q2: case Kind.Q2Rec: case Kind.Q2Rel: return 'QoS 2 PUBLISH';
    case Kind.Sub: return 'SUBSCRIBE';
    case Kind.Unsub: return 'UNSUBSCRIBE';
  }
}
