/**
 * The sessions stage: a model of the broker across connections, fed the rules' records in capture order.
 *
 * - Clients by ClientId (a 5.0 Assigned Client Identifier when the CONNECT had none): each accepted connection, Clean
 *   Session / Clean Start, Session Expiry, Session Present, and the QoS 1/2 exchanges left open when a connection
 *   ended, carried to the next connection that resumes the session.
 * - Each client's subscriptions as the broker granted them (SUBACK success codes), removed by UNSUBACK, dropped when
 *   a clean session ends; matched with the one matcher of src/mqtt/topics.ts.
 * - Message tracing: every PUBLISH the broker received is indexed by topic, payload length and payload hash; every
 *   PUBLISH the broker sent is matched to the earliest indexed message it can be. Two candidates from different
 *   publishers are ambiguous and said so, never guessed. Messages leave the index WINDOW_SEC after they were
 *   published (or when the index is full), and then become `message` records.
 *
 * Findings go where the rules stage puts its own: on the packet that shows the defect, or on the close record of
 * the connection whose end does. Each is reported only when the capture shows what it needs (the subscriber's whole
 * subscription state, both connections of a takeover, the previous connection of a resumed session).
 */
import type { PacketRecord, PacketSink, Violation } from '../mqtt/connection-decoder.js';
import type {
  AckPacket, ConnackPacket, ConnectPacket, DisconnectPacket, PublishPacket, SubackPacket, SubscribePacket, UnsubackPacket,
  UnsubscribePacket,
} from '../mqtt/packets.js';
import {
  CONNACK, CONNECT, DISCONNECT, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE,
} from '../mqtt/tables.js';
import { shareName, stripShare, topicMatches } from '../mqtt/topics.js';
import type { ProtocolLevel } from '../mqtt/types.js';
import { pick, violation } from '../rules/catalogue.js';
import type { ClosedConnection } from '../rules/close.js';
import type { Connection, ConnectionEnd, Direction, StreamEvent } from '../tcp/types.js';
import { X } from './findings.js';
import { fnv1a, hashHex } from './hash.js';
import { MessageIndex, NONE } from './message-index.js';
import type { AmbiguousDelivery, Delivery, MessageRecord, PastSubscription, Receiver, ReceiversAnswer, ReceiverSubscription, SessionRecord, TraceSink } from './records.js';
import { Wills } from './will.js';

/** Seconds of capture time a message stays in the index, waiting for its deliveries. */
export const WINDOW_SEC = 60;
/**
 * Messages in the index at once; past it the oldest leaves early (a `sessions-limit` event, once). 65,536 kept 40-50 MB
 * more resident on the 200 MB benchmark capture and took --json to 1.30 x the CPU of --no-sessions (stop 24's bench
 * run); a broker forwards in milliseconds, so 16,384 waiting messages cover any live delivery but the busiest seconds.
 */
export const MAX_MESSAGES = 16_384;
/** ClientIds followed; past it new ClientIds are not (a `sessions-limit` event, once). */
export const MAX_CLIENTS = 65_536;
/** Subscriptions kept per client; past it the client's model is incomplete and its deliveries go unchecked. */
export const MAX_SUBSCRIPTIONS = 4_096;
/** Subscriptions of all clients together, and the characters of their filters; past either, new ones are not kept. */
export const MAX_ALL_SUBSCRIPTIONS = 262_144;
export const MAX_ALL_FILTER_CHARS = 16 * 1024 * 1024;
/**
 * What the message index may hold, in about bytes (topics, ClientIds, listed deliveries): past it the oldest message
 * leaves early, as past MAX_MESSAGES. 16,384 messages with 64 KiB topics would otherwise be 1 GiB.
 */
export const MAX_INDEX_BYTES = 16 * 1024 * 1024;
/** Subscriptions all searches for a missing Will's subscriber may look at together (src/sessions/will.ts). */
export const OBSERVER_BUDGET = 16_000_000;
/** Connections listed per ClientId in its session record (all are counted). */
const MAX_CONNECTIONS_LISTED = 1_024;
/** What one listed delivery costs the index, besides its ClientId. */
const DELIVERY_BYTES = 96;
/** Ambiguous deliveries listed per message (the rest are counted in `candidates` of the ones listed). */
const MAX_AMBIGUOUS_LISTED = 16;
/** Deliveries listed per message; more are not listed (a message to 10,000 subscribers is still one record). */
const MAX_DELIVERIES_LISTED = 1_024;
/**
 * A message a connected subscriber's subscription matched and that never reached it is a finding only when the
 * connection stayed open this long after the PUBLISH (capture seconds); it is judged when the connection ends or the
 * message leaves the index (WINDOW_SEC), whichever comes first. Brokers forward in milliseconds; 10 s leaves room for
 * a queue behind a full Receive Maximum or a slow link.
 */
export const MISSING_GRACE_SEC = 10;
/**
 * Messages kept per watched connection for judging at its close; past it the oldest are let go (then judged only if
 * they leave the index while the connection is open) and the finding says how many.
 */
export const MAX_OWED_PER_CONN = 4_096;
/** Subscriptions all PUBLISH packets together may look at to find who must receive them; then no more are judged. */
export const MISSING_BUDGET = 2_000_000;
/** Subscribers watched per message for a missing delivery (more are not). */
const MAX_EXPECTED = 64;
/** Missing deliveries listed on one connection's close (all are counted). */
const MAX_MISSED_LISTED = 8;
/** Takeovers back and forth between two addresses that make the warning that two devices share a ClientId. */
export const TAKEOVER_LOOP = 3;
/** How long the broker may take to close a taken-over connection before that is a finding (capture seconds). */
export const TAKEOVER_GRACE_SEC = 1;
/**
 * Deliveries of shorter payloads are traced but not judged: short payloads repeat ("on", "1"), and the same one from a
 * publisher outside the capture would be blamed on the broker.
 */
export const MIN_JUDGED_PAYLOAD = 8;
/** Session Expiry comparisons closer than this to the boundary are not judged (clock and scheduling slack). */
const EXPIRY_SLACK_SEC = 1;
/**
 * A delivery through a subscription the UNSUBACK removed is judged only for a message published this long after the
 * UNSUBACK (capture seconds): one published just before or about then may have been queued under the subscription.
 */
export const UNSUBACK_GRACE_SEC = 0.5;
/** Removed subscriptions remembered per client (for MQTT-3.10.4-2); past it the oldest is forgotten. */
const MAX_REMOVED = 64;
/**
 * Seconds a delivery's 5.0 Message Expiry Interval may differ from the published one less the time waited: brokers keep
 * whole seconds (mosquitto stores the second the message expires and sends that less the current second).
 */
export const EXPIRY_ROUNDING_SEC = 1;
/** 5.0 Session Expiry Interval 0xFFFFFFFF: the session does not expire. */
const NEVER = 0xffffffff;

export interface SessionsOptions {
  windowSec?: number;
  maxMessages?: number;
  maxClients?: number;
  /**
   * A record for every message, also those the capture shows no delivery of (`trace` lists them). Off by default:
   * then a message record is made only for a message something was matched to (a delivery, or an ambiguous one),
   * since a PUBLISH nobody in the capture received says all it can in its own packet record, and a capture of
   * publishers alone would otherwise repeat every PUBLISH as a message record (about a third more CPU for --json on
   * the benchmark capture).
   */
  undelivered?: boolean;
  /**
   * Keep the subscriptions that ended (UNSUBACK, a clean session's end, a CONNACK without a session), up to
   * MAX_HISTORY, for `receivers()` to say who was subscribed during the capture. Off by default: nothing else reads it.
   */
  history?: boolean;
  /** Subscriptions all PUBLISH packets may look at to find whom they are owed to (MISSING_BUDGET by default). */
  missingBudget?: number;
  /** Messages owed to one connection kept for its close (MAX_OWED_PER_CONN by default). */
  maxOwedPerConn?: number;
}

/** Ended subscriptions kept with `history` (past it, later ones are not: the answer says so). */
export const MAX_HISTORY = 65_536;

/** A subscription that ended during the capture (`history`). */
interface Ended {
  clientId: string;
  as: string;
  sub: Sub;
  until: number;
}

/** A QoS 1/2 exchange one side started and the other has not completed. */
interface Open {
  packetId: number;
  /** 'publish': PUBLISH sent, no PUBACK/PUBREC yet; 'pubrel': PUBREL due or sent, no PUBCOMP yet. */
  stage: 'publish' | 'pubrel';
  hash: number;
  length: number;
  frame: number;
  /** Order the sender sent it in (for MQTT-4.6.0-1). */
  seq: number;
}

interface Sub {
  /** The filter ($share/ prefix removed). */
  filter: string;
  /** The ShareName of a shared subscription, null for a plain one. */
  share: string | null;
  granted: number;
  noLocal: boolean;
  rap: boolean;
  /** 5.0 Retain Handling: 0 send retained messages at subscribe time, 1 only if the subscription is new, 2 never. */
  rh: number;
  /** The SUBSCRIBE replaced a subscription the client already had (Retain Handling 1 then sends no retained message). */
  existed: boolean;
  /** Capture time of the SUBACK that granted it (messages published after it are live deliveries). */
  since: number;
  /** 5.0 Subscription Identifier of the SUBSCRIBE that made it; 0 without one (identifiers start at 1). */
  subId: number;
}

interface Client {
  id: string;
  connections: number[];
  /** Accepted connections, also those past MAX_CONNECTIONS_LISTED. */
  connected: number;
  takeovers: number;
  redeliveries: number;
  /** By the filter as subscribed ($share/ prefix included: a shared and a plain subscription are two). */
  subs: Map<string, Sub>;
  /** How many of `subs` have a Subscription Identifier: deliveries of a client without any skip that check. */
  withIds: number;
  /** Subscriptions an UNSUBACK removed, by filter as subscribed: the filter ($share/ removed) and the UNSUBACK's time. */
  removed: Map<string, { filter: string; at: number }> | null;
  /** Takeovers from one address to another, counted while they stay between the same two (takeoverAcross). */
  loop: { a: string; b: string; count: number; said: boolean } | null;
  /** Every subscription the broker holds for the client is known (its session began in the capture). */
  complete: boolean;
  /** Accepted connections still open. */
  live: Set<ConnState>;
  /** How the session stood when the client's last connection ended; null before any ended. */
  last: { time: number; persists: boolean; expirySec: number; conn: number } | null;
  /** Exchanges left open by the last connection, per sender, when its session persists. */
  carried: { c2s: Open[]; s2c: Open[] } | null;
}

/** A watched subscriber a message is owed to, and the subscription (as subscribed) that matched it. */
interface Owed {
  st: ConnState;
  as: string;
}

interface Pending {
  filters: { topic: string; noLocal: boolean; rap: boolean; rh: number; qos: number }[];
  /** The SUBSCRIBE's Subscription Identifier (it applies to every filter of the packet); 0 without one. */
  subId: number;
}

interface ConnState {
  conn: Connection;
  level: ProtocolLevel;
  clientId: string | null;
  client: Client | null;
  connect: { clean: boolean; expirySec: number; time: number } | null;
  accepted: boolean;
  /** The CONNACK resumed a stored session (Clean 0, Session Present 1). */
  resumed: boolean;
  open: { c2s: Map<number, Open>; s2c: Map<number, Open> };
  seq: number;
  subscribes: Map<number, Pending>;
  unsubscribes: Map<number, string[]>;
  /** Carried exchanges this connection has resent, and the latest one's place in the original order. */
  resent: { c2s: Set<number>; s2c: Set<number>; lastSeq: number };
  takenOver: { frame: number; time: number; by: number } | null;
  /**
   * Deliveries on this connection that no message of the capture explains: publishers the capture does not hold (or a
   * Will, a retained message from before it). From the first one on, this subscriber's deliveries are not judged.
   */
  untraced: number;
  /** In `watch`: a subscriber whose missing deliveries are judged. */
  watched: boolean;
  /** The connection has ended: a message that matched it can no longer be owed to it. */
  ended: boolean;
  /** Messages it should have got and did not (MISSING_GRACE_SEC), for its close record; null before the first. */
  missed: { count: number; listed: string[] } | null;
  /** Messages owed to it still in the index, as slot and frame pairs (judged at its close); null before the first. */
  owed: number[] | null;
  /** Messages owed to it let go past maxOwedPerConn while still waiting: the close's finding may miss them. */
  owedLetGo: number;
  /** c2s QoS 1/2 PUBLISH packets awaiting their PUBACK/PUBREC whose message waits for subscribers: by packet id. */
  awaiting: Map<number, { slot: number; frame: number }> | null;
  /**
   * Messages still indexed whose copies to this connection are counted for MQTT-3.3.4-5, by index slot (judged when
   * the message leaves the index or the connection ends); null before the first.
   */
  copies: Map<number, Copies> | null;
  /** Messages sent here in several copies none of which carried a matching subscription's identifier; null before the first. */
  copyMissed: { count: number; listed: string[] } | null;
}

/**
 * 5.0: the copies of one message to one connection whose client has several matching plain subscriptions with
 * Subscription Identifiers (MQTT-3.3.4-4/-5): how many, the identifiers they carried, the ones expected.
 */
interface Copies {
  /** The message's frame (its slot is reused once it leaves the index). */
  frame: number;
  copies: number;
  seen: number[];
  /** The matching non-shared subscriptions' identifiers and filters as subscribed, at the first copy. */
  expected: { id: number; as: string }[];
  /** A copy already had a finding of its own (an identifier no matching subscription has): not judged again. */
  said: boolean;
}

/**
 * Whether the connection's session may outlive it, so its unfinished QoS 1/2 exchanges must be kept for the next
 * connection of the ClientId: 3.x Clean Session 0, 5.0 a Session Expiry Interval above 0 (from the CONNECT, or the
 * CONNACK's); a connection whose CONNECT the capture missed may.
 */
function mayPersist(st: ConnState): boolean {
  const cn = st.connect;
  if (cn === null) return true;
  return st.level === 5 ? cn.expirySec > 0 : !cn.clean;
}

function seconds(sec: number, nsec: number): number {
  return sec + nsec / 1e9;
}

export class SessionsStage implements PacketSink {
  private readonly next: TraceSink;
  private readonly windowSec: number;
  private readonly maxMessages: number;
  private readonly maxClients: number;
  private readonly conns = new Map<number, ConnState>();
  private readonly clients = new Map<string, Client>();
  /** Indexed messages in publish order, by payload hash (a number key: no string is built per PUBLISH). */
  private readonly idx: MessageIndex<Owed, ConnState>;
  private published = 0;
  private delivered = 0;
  private unmatched = 0;
  private limitSaid = { messages: false, clients: false, subscriptions: false };
  private allSubs = 0;
  private allFilterChars = 0;
  private lastFrame = 0;

  private readonly undelivered: boolean;
  private readonly history: Ended[] | null;
  private historyCapped = false;
  /** The Will audit: close records of connections with a Will wait there until it is decided. */
  private readonly wills: Wills;
  private observerBudget = OBSERVER_BUDGET;
  /**
   * Accepted, open connections whose client's subscriptions are all known and that have a plain subscription: the
   * subscribers a PUBLISH is owed to (MQTT-4.5.0-1). Empty on captures of publishers alone: nothing is looked at then.
   */
  private readonly watch = new Set<ConnState>();
  private readonly missingBudgetAll: number;
  private readonly maxOwedPerConn: number;
  private missingBudget: number;
  /** Capture time of the latest packet or close. */
  private now = 0;
  /**
   * A delivery was traced to a PUBLISH of the capture: it shows the broker forwarding between connections it holds.
   * Until then no message is owed to anyone (a capture of generated or unrelated traffic pays nothing for it).
   */
  private tracedAny = false;
  /** Scratch lists of the Subscription Identifiers of a delivery's matching subscriptions (checkDelivery). */
  private readonly idsAll: number[] = [];
  private readonly idsPlain: number[] = [];
  /** The filters (as subscribed) of idsPlain, in its order. */
  private readonly idsPlainAs: string[] = [];

  constructor(next: TraceSink, opts: SessionsOptions = {}) {
    this.next = next;
    this.windowSec = opts.windowSec ?? WINDOW_SEC;
    this.maxMessages = opts.maxMessages ?? MAX_MESSAGES;
    this.idx = new MessageIndex<Owed, ConnState>(this.maxMessages);
    this.maxClients = opts.maxClients ?? MAX_CLIENTS;
    this.undelivered = opts.undelivered ?? false;
    this.missingBudgetAll = this.missingBudget = opts.missingBudget ?? MISSING_BUDGET;
    this.maxOwedPerConn = opts.maxOwedPerConn ?? MAX_OWED_PER_CONN;
    this.history = opts.history === true ? [] : null;
    this.wills = new Wills({
      observers: (topic, since, notConn) => this.observers(topic, since, notConn),
      emit: (conn, end) => this.next.close(conn, end),
      limit: (message) => this.say('sessions-limit', message),
    });
  }

  open(conn: Connection): void {
    this.conns.set(conn.id, this.newConn(conn));
    this.next.open(conn);
  }

  packet(rec: PacketRecord): void {
    this.lastFrame = rec.frame;
    if (this.wills.holding) this.wills.tick(seconds(rec.timeSec, rec.timeNsec));
    this.now = seconds(rec.timeSec, rec.timeNsec);
    // Only the packets the model reads; a cut packet's fields may be missing, so it is left out.
    if (rec.truncated === undefined) {
      try {
        this.read(rec);
      } catch (e) {
        // The model is an extra: a bug in it must not lose the packet or stop the capture.
        rec.violations.push({ id: 'SESSIONS-internal-error', spec: 'mqtt-dissect', severity: 'warning', message: `sessions stage error: ${e instanceof Error ? e.message : String(e)}` });
      }
    }
    this.next.packet(rec);
  }

  event(ev: StreamEvent & { violations?: Violation[] }): void {
    this.next.event(ev);
  }

  close(conn: Connection, end: ConnectionEnd): void {
    const st = this.conns.get(conn.id);
    this.conns.delete(conn.id);
    this.now = seconds(end.timeSec, end.timeNsec);
    let out: ConnectionEnd = end;
    if (st !== undefined) {
      const vs = this.ended(st, end);
      if (vs.length > 0) {
        // Every close reaching this stage comes from the rules stage: a ConnectionEnd, or the ClosedConnection it extends.
        const closed: ClosedConnection = end;
        const withFindings: ClosedConnection = { ...closed, violations: [...(closed.violations ?? []), ...vs] };
        out = withFindings;
      }
      const tk = st.takenOver;
      const by = tk === null ? undefined : this.conns.get(tk.by);
      this.wills.close({
        conn, level: st.level, clientId: st.clientId, connectSeen: st.connect !== null, expirySec: st.connect?.expirySec ?? 0,
        takeover: tk === null ? null : { conn: tk.by, frame: tk.frame, clean: by?.connect?.clean ?? null },
      }, out);
      return;
    }
    this.next.close(conn, out);
  }

  /** End of the capture: every message still indexed, what the capture could not show, then one record per client. */
  finish(): void {
    this.wills.finish();
    while (this.idx.size > 0) this.expire(this.idx.shift());
    if (this.published > 0 && this.delivered === 0) {
      this.say('sessions-partial', `${this.published} PUBLISH packet${this.published === 1 ? '' : 's'} to the broker and none from it in the capture (only the publishers' side?): deliveries are not traced, and no delivery finding is made`);
    } else if (this.delivered > 0 && this.published === 0) {
      this.say('sessions-partial', `${this.delivered} PUBLISH packet${this.delivered === 1 ? '' : 's'} from the broker and none to it in the capture (only the subscribers' side?): no delivery is traced to its publisher, and no delivery finding is made`);
    }
    for (const c of this.clients.values()) {
      const r: SessionRecord = {
        kind: 'session', clientId: c.id, connections: c.connections, reconnects: Math.max(0, c.connected - 1),
        takeovers: c.takeovers, redeliveries: c.redeliveries, subscriptions: c.complete ? c.subs.size : null,
      };
      this.next.traced?.(r);
    }
  }

  // ---- packets -------------------------------------------------------------------------------

  private newConn(conn: Connection): ConnState {
    return {
      conn, level: 4, clientId: null, client: null, connect: null, accepted: false, resumed: false,
      open: { c2s: new Map(), s2c: new Map() }, seq: 0, subscribes: new Map(), unsubscribes: new Map(),
      resent: { c2s: new Set(), s2c: new Set(), lastSeq: -1 }, takenOver: null, untraced: 0,
      watched: false, ended: false, missed: null, owed: null, owedLetGo: 0, awaiting: null, copies: null, copyMissed: null,
    };
  }

  private state(conn: Connection): ConnState {
    let st = this.conns.get(conn.id);
    if (st === undefined) {
      // A packet of a connection never opened (a sink fed directly): start its state now.
      st = this.newConn(conn);
      this.conns.set(conn.id, st);
    }
    return st;
  }

  private read(rec: PacketRecord): void {
    const d = rec.decoded;
    const c2s = rec.dir === 'c2s';
    switch (d.type) {
      case CONNECT: if (c2s) this.onConnect(rec, d); return;
      case CONNACK: if (!c2s) this.onConnack(rec, d); return;
      case PUBLISH: this.onPublish(rec, d); return;
      case PUBACK: case PUBREC: case PUBCOMP: this.onAck(rec, d); return;
      case PUBREL: this.onPubrel(rec, d); return;
      case SUBSCRIBE: if (c2s) this.onSubscribe(rec, d); return;
      case SUBACK: if (!c2s) this.onSuback(rec, d); return;
      case UNSUBSCRIBE: if (c2s) this.onUnsubscribe(rec, d); return;
      case UNSUBACK: if (!c2s) this.onUnsuback(rec, d); return;
      case DISCONNECT: if (c2s) this.onDisconnect(rec, d); return;
      default: return;
    }
  }

  private onConnect(rec: PacketRecord, d: ConnectPacket): void {
    const st = this.state(rec.conn);
    st.level = d.level;
    const clean = (d.level === 5 ? d.cleanStart : d.cleanSession) === true;
    // 3.x: a Clean Session 0 session lasts until a clean connection; 5.0: Session Expiry Interval (default 0).
    const expirySec = d.level === 5 ? d.properties?.sessionExpiryInterval ?? 0 : clean ? 0 : NEVER;
    st.connect = { clean, expirySec, time: seconds(rec.timeSec, rec.timeNsec) };
    st.clientId = d.clientId !== undefined && d.clientId.length > 0 ? d.clientId : null;
    this.wills.connect(rec, d);
  }

  private onConnack(rec: PacketRecord, d: ConnackPacket): void {
    const st = this.state(rec.conn);
    const cn = st.connect;
    if (cn === null || st.accepted) return;
    const code = d.level === 5 ? d.reasonCode : d.returnCode;
    if (code !== 0) return;
    st.accepted = true;
    if (d.level === 5) {
      if (st.clientId === null && d.properties?.assignedClientIdentifier !== undefined && d.properties.assignedClientIdentifier.length > 0) st.clientId = d.properties.assignedClientIdentifier;
      // The server may set the Session Expiry Interval it uses (5.0 3.2.2.3.2).
      if (d.properties?.sessionExpiryInterval !== undefined) cn.expirySec = d.properties.sessionExpiryInterval;
    }
    this.wills.accepted(rec.conn.id, st.clientId, !cn.clean && d.sessionPresent === true, seconds(rec.timeSec, rec.timeNsec));
    if (st.clientId === null) return;
    const client = this.client(st.clientId, rec);
    if (client === null) return;
    st.client = client;
    const t = seconds(rec.timeSec, rec.timeNsec);
    const sp = d.sessionPresent === true;
    if (!cn.clean && st.level !== 3) this.checkSessionPresent(rec, st, client, sp, t);
    // Takeover: the broker now closes every other live connection of this ClientId.
    for (const old of client.live) {
      if (old.takenOver === null) {
        old.takenOver = { frame: rec.frame, time: t, by: rec.conn.id };
        client.takeovers++;
        this.unwatch(old);
        if (old.conn.clientIp !== rec.conn.clientIp) this.takeoverAcross(rec, st, client, old);
      }
    }
    client.live.add(st);
    if (client.connections.length < MAX_CONNECTIONS_LISTED) client.connections.push(rec.conn.id);
    client.connected++;
    st.resumed = !cn.clean && sp;
    if (!sp) {
      // No session on the server: nothing carried, no subscription, and from here every subscription is seen.
      this.clearSubs(client, t);
      client.complete = true;
      client.carried = null;
    } else if (client.last === null && client.live.size === 1) {
      // A session from before the capture: its subscriptions were never seen.
      client.complete = false;
    }
    this.watchIfOwed(st);
  }

  /**
   * A takeover of the ClientId from another address: counted per pair of addresses (a takeover between other ones
   * starts the count again), and at TAKEOVER_LOOP of them back and forth a warning on this CONNACK, once per ClientId:
   * two devices sharing one ClientId throw each other off. One device reconnecting from the same address (a
   * half-open connection) is not counted.
   */
  private takeoverAcross(rec: PacketRecord, st: ConnState, client: Client, old: ConnState): void {
    const from = old.conn.clientIp;
    const to = rec.conn.clientIp;
    const l = client.loop;
    if (l === null || !((l.a === from && l.b === to) || (l.a === to && l.b === from))) {
      client.loop = { a: from, b: to, count: 1, said: l?.said ?? false };
      return;
    }
    if (++l.count < TAKEOVER_LOOP || l.said) return;
    l.said = true;
    rec.violations.push(violation(X.clientIdShared, st.level, `ClientId "${client.id}" taken over ${l.count} times back and forth between ${l.a} and ${l.b} (this connection ${rec.conn.id} from ${to} takes it from connection ${old.conn.id}): two devices sharing one ClientId? The session record counts all its takeovers`));
  }

  /** Session Present against the client's previous connection, when the capture holds it (a warning: brokers may drop sessions). */
  private checkSessionPresent(rec: PacketRecord, st: ConnState, client: Client, sp: boolean, t: number): void {
    // A live connection of the ClientId (a takeover) holds the session for the new one when it persists.
    let exists: boolean | null = null;
    let why = '';
    for (const old of client.live) {
      const oc = old.connect;
      if (oc === null) continue;
      exists = st.level === 5 ? true : !oc.clean;
      why = `connection ${old.conn.id} of the same ClientId is still open${exists ? '' : ' with a clean session'}`;
    }
    const last = client.last;
    if (exists === null && last !== null) {
      const gap = t - last.time;
      if (!last.persists) {
        exists = false;
        why = `the previous connection (${last.conn}) of this ClientId ended its session`;
      } else if (last.expirySec === NEVER || gap < last.expirySec - EXPIRY_SLACK_SEC) {
        exists = true;
        why = `the previous connection (${last.conn}) of this ClientId left a session${last.expirySec === NEVER ? '' : ` that expires ${last.expirySec} s after it (${gap.toFixed(3)} s ago)`}`;
      } else if (gap > last.expirySec + EXPIRY_SLACK_SEC) {
        exists = false;
        why = `the session of the previous connection (${last.conn}) expired ${last.expirySec} s after it, ${gap.toFixed(3)} s ago`;
      }
    }
    if (exists === null || exists === sp) return;
    const lv = st.level;
    const r = lv === 5 ? X.sessionPresent50 : exists ? X.sessionKept311 : X.sessionNone311;
    rec.violations.push(violation(r, lv, `Session Present ${sp ? 1 : 0} for a ${lv === 5 ? 'Clean Start' : 'Clean Session'} 0 CONNECT although ${why}`));
  }

  private client(id: string, rec: PacketRecord): Client | null {
    let c = this.clients.get(id);
    if (c !== undefined) return c;
    if (this.clients.size >= this.maxClients) {
      if (!this.limitSaid.clients) {
        this.limitSaid.clients = true;
        this.next.event({ event: 'sessions-limit', frame: rec.frame, conn: rec.conn.id, dir: null, message: `${this.maxClients} ClientIds followed: later ClientIds are not (their sessions, subscriptions and deliveries go unchecked)` });
      }
      return null;
    }
    c = { id, connections: [], connected: 0, takeovers: 0, redeliveries: 0, subs: new Map(), withIds: 0, loop: null, removed: null, complete: false, live: new Set(), last: null, carried: null };
    this.clients.set(id, c);
    return c;
  }

  private onPublish(rec: PacketRecord, d: PublishPacket): void {
    const st = this.state(rec.conn);
    const topic = d.resolvedTopic !== undefined && d.resolvedTopic.length > 0 ? d.resolvedTopic : d.topic;
    if (topic === undefined || d.payloadLength === undefined) return;
    const dir = rec.dir;
    const hash = fnv1a(rec.bytes, d.payloadOffset, d.payloadEnd);
    const t = seconds(rec.timeSec, rec.timeNsec);
    this.expireUntil(t);
    const id = d.packetId;
    let redelivery = false;
    if (d.qos > 0 && id !== undefined) {
      if (mayPersist(st)) {
        const open = st.open[dir];
        const prev = open.get(id);
        // A resend inside the connection: the rules stage judges it; it is the same message.
        if (prev !== undefined && d.dup && prev.hash === hash) return;
        redelivery = this.resend(rec, st, dir, id, 'publish', d);
        open.set(id, { packetId: id, stage: 'publish', hash, length: d.payloadLength, frame: rec.frame, seq: st.seq++ });
      } else if (d.dup && dir === 'c2s' && this.indexedFrom(hash, rec.conn.id, topic)) {
        // A session that ends with its connection carries nothing to the next one, so its exchanges are not kept
        // (one object per QoS 1/2 PUBLISH saved); a resend inside it is known by the index instead.
        return;
      }
    }
    if (redelivery) return;
    if (dir === 'c2s') this.index(rec, st, d, topic, hash, t);
    else this.deliver(rec, st, d, topic, hash, t);
  }

  /**
   * A PUBLISH or PUBREL with a packet id the previous connection left open, on a connection that resumed its session:
   * a redelivery. DUP=1 and the original order are checked; true when it was one.
   */
  private resend(rec: PacketRecord, st: ConnState, dir: Direction, id: number, stage: 'publish' | 'pubrel', d: PublishPacket | null): boolean {
    const carried = st.resumed ? st.client?.carried?.[dir] : undefined;
    if (carried === undefined) return false;
    const o = carried.find((x) => x.packetId === id);
    if (o === undefined || st.resent[dir].has(id)) return false;
    if (d !== null && (o.stage !== 'publish' || o.hash !== fnv1a(rec.bytes, d.payloadOffset, d.payloadEnd))) return false;
    st.resent[dir].add(id);
    st.client!.redeliveries++;
    const lv = st.level;
    if (d !== null && !d.dup) rec.violations.push(violation(pick(X.dup, lv), lv, `PUBLISH resent after the reconnect (packet identifier ${id}, first sent in frame ${o.frame} on the previous connection) with DUP=0`, 0, 1));
    if (dir === 'c2s' && stage === 'publish') {
      if (o.seq < st.resent.lastSeq) rec.violations.push(violation(pick(X.order, lv), lv, `PUBLISH ${id} (first sent in frame ${o.frame}) resent after a PUBLISH the client had sent later`));
      st.resent.lastSeq = Math.max(st.resent.lastSeq, o.seq);
    }
    return true;
  }

  private onAck(rec: PacketRecord, d: AckPacket<4> | AckPacket<5> | AckPacket<7>): void {
    const id = d.packetId;
    if (id === undefined) return;
    const st = this.state(rec.conn);
    const aw = st.awaiting;
    if (aw !== null && rec.dir === 's2c' && d.type !== PUBCOMP) {
      const w = aw.get(id);
      aw.delete(id);
      // 5.0: a refused PUBLISH (PUBACK/PUBREC 0x80 or above: not authorized, quota...) is owed to no one.
      if (w !== undefined && d.reasonCode !== undefined && d.reasonCode >= 0x80 && this.idx.frame[w.slot] === w.frame) this.idx.expected[w.slot] = null;
    }
    if (!mayPersist(st)) return;
    // An acknowledgement answers the other side's PUBLISH or PUBREL.
    const open = st.open[rec.dir === 'c2s' ? 's2c' : 'c2s'];
    const o = open.get(id);
    if (o === undefined) return;
    if (d.type === PUBREC && o.stage === 'publish') {
      // 5.0: a PUBREC with a failure code ends the exchange.
      if (d.reasonCode !== undefined && d.reasonCode >= 0x80) open.delete(id);
      else o.stage = 'pubrel';
    } else if ((d.type === PUBACK && o.stage === 'publish') || (d.type === PUBCOMP && o.stage === 'pubrel')) {
      open.delete(id);
    }
  }

  private onPubrel(rec: PacketRecord, d: AckPacket<6>): void {
    const id = d.packetId;
    if (id === undefined) return;
    const st = this.state(rec.conn);
    const o = st.open[rec.dir].get(id);
    if (o !== undefined) return;
    // A PUBREL for an exchange of the previous connection: its resend.
    const carried = st.resumed ? st.client?.carried?.[rec.dir] : undefined;
    const c = carried?.find((x) => x.packetId === id && x.stage === 'pubrel');
    if (c !== undefined && this.resend(rec, st, rec.dir, id, 'pubrel', null)) st.open[rec.dir].set(id, { ...c });
  }

  private onSubscribe(rec: PacketRecord, d: SubscribePacket): void {
    if (d.packetId === undefined || d.subscriptions === undefined) return;
    const st = this.state(rec.conn);
    // Bounded by the 16-bit packet id space.
    const sid = d.properties?.subscriptionIdentifier;
    st.subscribes.set(d.packetId, {
      filters: d.subscriptions.map((s) => ({ topic: s.topic, noLocal: s.noLocal === true, rap: s.retainAsPublished === true, rh: s.retainHandling ?? 0, qos: s.qos })),
      subId: typeof sid === 'number' ? sid : 0,
    });
  }

  private onSuback(rec: PacketRecord, d: SubackPacket): void {
    if (d.packetId === undefined) return;
    const st = this.state(rec.conn);
    const p = st.subscribes.get(d.packetId);
    st.subscribes.delete(d.packetId);
    const client = st.client;
    const codes = d.returnCodes ?? d.reasonCodes;
    if (p === undefined || client === null || codes === undefined) return;
    if (codes.length !== p.filters.length) {
      // Which filter got which code is unknown (the rules stage reports the count): the model is no longer whole.
      client.complete = false;
      return;
    }
    const t = seconds(rec.timeSec, rec.timeNsec);
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      const f = p.filters[i]!;
      if (code > 2) continue;
      const prev = client.subs.get(f.topic);
      if (prev === undefined && !this.roomForSub(client, f.topic, rec)) {
        client.complete = false;
        continue;
      }
      // A SUBSCRIBE to a filter the client has replaces the subscription, its Subscription Identifier included.
      if (prev !== undefined && prev.subId > 0) client.withIds--;
      if (p.subId > 0) client.withIds++;
      client.subs.set(f.topic, { filter: stripShare(f.topic), share: shareName(f.topic), granted: code, noLocal: f.noLocal, rap: f.rap, rh: f.rh, existed: prev !== undefined, since: t, subId: p.subId });
      client.removed?.delete(f.topic);
    }
    this.watchIfOwed(st);
  }

  private onUnsubscribe(rec: PacketRecord, d: UnsubscribePacket): void {
    if (d.packetId === undefined || d.topics === undefined) return;
    this.state(rec.conn).unsubscribes.set(d.packetId, d.topics);
  }

  private onUnsuback(rec: PacketRecord, d: UnsubackPacket): void {
    if (d.packetId === undefined) return;
    const st = this.state(rec.conn);
    const topics = st.unsubscribes.get(d.packetId);
    st.unsubscribes.delete(d.packetId);
    if (topics === undefined || st.client === null) return;
    // 3.x UNSUBACK has no codes; 5.0 codes say per filter whether it was removed (0x00) or did not exist (0x11).
    for (let i = 0; i < topics.length; i++) {
      const code = d.reasonCodes?.[i];
      const topic = topics[i]!;
      const gone = st.client.subs.get(topic);
      if ((code === undefined || code < 0x80) && gone !== undefined) {
        st.client.subs.delete(topic);
        if (gone.subId > 0) st.client.withIds--;
        const t = seconds(rec.timeSec, rec.timeNsec);
        this.ended1(st.client, topic, gone, t);
        const removed = (st.client.removed ??= new Map());
        if (removed.size >= MAX_REMOVED) removed.delete(removed.keys().next().value!);
        removed.set(topic, { filter: gone.filter, at: t });
        this.allSubs--;
        this.allFilterChars -= topic.length;
      }
    }
  }

  private onDisconnect(rec: PacketRecord, d: DisconnectPacket): void {
    const st = this.state(rec.conn);
    // 5.0: the client may change the Session Expiry Interval when it disconnects.
    const e = d.properties?.sessionExpiryInterval;
    if (e !== undefined && st.connect !== null) st.connect.expirySec = e;
  }

  /** Whether one more subscription fits the caps (counted when it does); the first refusal is an event. */
  private roomForSub(client: Client, filter: string, rec: PacketRecord): boolean {
    if (client.subs.size < MAX_SUBSCRIPTIONS && this.allSubs < MAX_ALL_SUBSCRIPTIONS && this.allFilterChars + filter.length <= MAX_ALL_FILTER_CHARS) {
      this.allSubs++;
      this.allFilterChars += filter.length;
      return true;
    }
    if (!this.limitSaid.subscriptions) {
      this.limitSaid.subscriptions = true;
      this.next.event({ event: 'sessions-limit', frame: rec.frame, conn: rec.conn.id, dir: 's2c', message: `subscriptions reached a cap (${MAX_SUBSCRIPTIONS} per client, ${MAX_ALL_SUBSCRIPTIONS} in all, ${MAX_ALL_FILTER_CHARS} characters of filters): clients whose subscriptions no longer fit have their deliveries unchecked` });
    }
    return false;
  }

  /** A subscription ended at capture time `t`: kept in the history when that is on. */
  private ended1(client: Client, as: string, sub: Sub, t: number): void {
    const h = this.history;
    if (h === null) return;
    if (h.length >= MAX_HISTORY) {
      this.historyCapped = true;
      return;
    }
    h.push({ clientId: client.id, as, sub, until: t });
  }

  private clearSubs(client: Client, t: number): void {
    if (this.history !== null) for (const [as, sub] of client.subs) this.ended1(client, as, sub, t);
    for (const f of client.subs.keys()) this.allFilterChars -= f.length;
    this.allSubs -= client.subs.size;
    client.subs.clear();
    client.withIds = 0;
    client.removed = null;
  }

  // ---- tracing -------------------------------------------------------------------------------

  /** Whether the index holds a message of this connection with this payload hash and topic (a resend inside it). */
  private indexedFrom(hash: number, conn: number, topic: string): boolean {
    const x = this.idx;
    for (let m = x.first(hash); m !== NONE; m = x.next(m)) if (x.hash[m] === hash && x.conn[m] === conn && x.topic[m] === topic) return true;
    return false;
  }

  private index(rec: PacketRecord, st: ConnState, d: PublishPacket, topic: string, hash: number, t: number): void {
    this.published++;
    const x = this.idx;
    const bytes = 256 + topic.length + (st.clientId?.length ?? 0);
    if (x.full || x.heldBytes + bytes > MAX_INDEX_BYTES) this.makeRoom(rec, bytes);
    const m = x.add(hash, topic, st.clientId, bytes);
    x.frame[m] = rec.frame;
    x.timeSec[m] = rec.timeSec;
    x.timeNsec[m] = rec.timeNsec;
    x.t[m] = t;
    x.conn[m] = rec.conn.id;
    x.length[m] = d.payloadLength ?? 0;
    x.qos[m] = d.qos;
    x.retain[m] = d.retain ? 1 : 0;
    x.expiry[m] = d.properties?.messageExpiryInterval ?? -1;
    if (this.watch.size > 0 && this.tracedAny && this.missingBudget >= 0 && x.length[m]! >= MIN_JUDGED_PAYLOAD && (x.expiry[m]! < 0 || x.expiry[m]! > MISSING_GRACE_SEC)) this.owe(rec, st, d, m, topic, t);
  }

  /** Watches a connection for missing deliveries once it is accepted, its client's subscriptions whole, and one plain. */
  private watchIfOwed(st: ConnState): void {
    const c = st.client;
    if (st.watched || st.ended || !st.accepted || st.connect === null || st.untraced > 0 || st.takenOver !== null || c === null || !c.complete) return;
    for (const s of c.subs.values()) {
      if (s.share === null) {
        st.watched = true;
        this.watch.add(st);
        return;
      }
    }
  }

  private unwatch(st: ConnState): void {
    if (!st.watched) return;
    st.watched = false;
    this.watch.delete(st);
  }

  /**
   * The watched subscribers message `m` is owed to (MQTT-4.5.0-1): a plain subscription granted before it was published
   * matches it (No Local aside). Kept on the message and on each subscriber; judged at the subscriber's close or when
   * the message leaves the index.
   */
  private owe(rec: PacketRecord, publisher: ConnState, d: PublishPacket, m: number, topic: string, t: number): void {
    const x = this.idx;
    let list: Owed[] | null = null;
    for (const w of this.watch) {
      const c = w.client!;
      if (!c.complete) continue;
      for (const [as, s] of c.subs) {
        if (--this.missingBudget < 0) {
          this.say('sessions-limit', `${this.missingBudgetAll} subscriptions looked at for the subscribers PUBLISH packets are owed to: missing deliveries are no longer judged`);
          this.watch.clear();
          break;
        }
        if (s.share !== null || s.since >= t || (s.noLocal && publisher.clientId !== null && publisher.clientId === c.id) || !topicMatches(s.filter, topic)) continue;
        (list ??= []).push({ st: w, as });
        break;
      }
      if (list !== null && list.length >= MAX_EXPECTED) break;
    }
    if (list === null) return;
    x.expected[m] = list;
    x.grow(m, list.length * DELIVERY_BYTES);
    for (const e of list) {
      const owed = (e.st.owed ??= []);
      // Two numbers a message: at the cap, those that left the index go, and past half the cap the oldest waiting ones.
      if (owed.length >= 2 * this.maxOwedPerConn) e.st.owedLetGo += this.compactOwed(owed);
      owed.push(m, rec.frame);
    }
    if (d.qos > 0 && d.packetId !== undefined) (publisher.awaiting ??= new Map()).set(d.packetId, { slot: m, frame: rec.frame });
  }

  /**
   * Keeps the pairs (slot, frame) of messages still in the index and not judged, the newest half of the cap of them at
   * most, so that pairs are let go in steps; returns how many waiting ones it let go.
   */
  private compactOwed(owed: number[]): number {
    const x = this.idx;
    let w = 0;
    for (let i = 0; i < owed.length; i += 2) {
      const m = owed[i]!;
      if (x.frame[m] === owed[i + 1] && x.expected[m] !== null) {
        owed[w++] = m;
        owed[w++] = owed[i + 1]!;
      }
    }
    const keep = Math.min(w, this.maxOwedPerConn);
    owed.copyWithin(0, w - keep, w);
    owed.length = keep;
    return (w - keep) / 2;
  }

  /** At the close of `st`: each message owed to it, still indexed, published MISSING_GRACE_SEC or more before `t`. */
  private judgeOwedAtClose(st: ConnState, t: number): void {
    const x = this.idx;
    const owed = st.owed!;
    st.owed = null;
    for (let i = 0; i < owed.length; i += 2) {
      const m = owed[i]!;
      if (x.frame[m] !== owed[i + 1] || x.expected[m] === null || x.t[m]! + MISSING_GRACE_SEC > t) continue;
      const e = x.expected[m]!.find((o) => o.st === st);
      if (e !== undefined) this.judgeOwed1(m, st, e.as);
    }
  }

  /** A message leaving the index: each subscriber it is owed to that is still open (and was long enough) is judged. */
  private judgeOwedAtLeaving(m: number): void {
    const x = this.idx;
    const list = x.expected[m];
    if (list === null || list === undefined || x.t[m]! + MISSING_GRACE_SEC > this.now) return;
    for (const e of list) this.judgeOwed1(m, e.st, e.as);
  }

  private judgeOwed1(m: number, w: ConnState, as: string): void {
    const x = this.idx;
    const c = w.client!;
    // Ended, taken over, made untraced, or no longer holding the subscription since: not owed, or not decidable.
    if (w.ended || w.takenOver !== null || w.untraced > 0 || !c.complete || !c.subs.has(as)) return;
    if (x.deliveredTo[m]?.has(w.clientId ?? `#${w.conn.id}`) === true) return;
    if (x.ambiguous[m]?.some((a) => a.conn === w.conn.id) === true) return;
    const missed = (w.missed ??= { count: 0, listed: [] });
    missed.count++;
    if (missed.listed.length < MAX_MISSED_LISTED) missed.listed.push(`frame ${x.frame[m]} (${JSON.stringify(x.topic[m])} from ${x.clientId[m] === null ? `connection ${x.conn[m]}` : JSON.stringify(x.clientId[m])}, through ${JSON.stringify(as)})`);
  }

  /** The index is full (by count or by bytes): the oldest messages leave it early; the first time is an event. */
  private makeRoom(rec: PacketRecord, bytes: number): void {
    if (!this.limitSaid.messages) {
      this.limitSaid.messages = true;
      this.next.event({ event: 'sessions-limit', frame: rec.frame, conn: rec.conn.id, dir: rec.dir, message: `the message index is full (${this.maxMessages} messages or ${MAX_INDEX_BYTES} bytes waiting for their deliveries): from here on the oldest leaves it before its ${this.windowSec} s window ends` });
    }
    const x = this.idx;
    while (x.size > 0 && (x.full || x.heldBytes + bytes > MAX_INDEX_BYTES)) this.expire(x.shift());
  }

  /** Whether indexed message `m` may be what a delivery of this topic and payload to `who` is. */
  private candidate(m: number, hash: number, length: number, topic: string, who: string): boolean {
    const x = this.idx;
    return x.hash[m] === hash && x.length[m] === length && x.topic[m] === topic && x.deliveredTo[m]?.has(who) !== true;
  }

  private deliver(rec: PacketRecord, st: ConnState, d: PublishPacket, topic: string, hash: number, t: number): void {
    this.delivered++;
    const x = this.idx;
    const length = d.payloadLength ?? 0;
    const who = st.clientId ?? `#${rec.conn.id}`;
    // The earliest candidate, how many there are, and whether they came from more than one publisher (no list is built).
    let m = NONE;
    let count = 0;
    let mixed = false;
    for (let c = x.first(hash); c !== NONE; c = x.next(c)) {
      if (!this.candidate(c, hash, length, topic, who)) continue;
      if (count++ === 0) m = c;
      else if (x.conn[c] !== x.conn[m]) mixed = true;
    }
    if (count === 0) {
      // A Will the broker published (src/sessions/will.ts): explained, so not untraced, and no message delivery.
      if (this.wills.size > 0 && this.wills.delivery(rec, st.clientId, d.qos, topic, hash, length, t)) {
        this.delivered--;
        return;
      }
      m = this.copyOf(hash, length, topic, who);
      if (m === NONE) {
        this.unmatched++;
        st.untraced++;
        this.unwatch(st);
        return;
      }
    } else if (mixed) {
      // Publishers on several connections sent this topic and payload: which one this delivery is cannot be told.
      for (let c = m; c !== NONE; c = x.next(c)) {
        if (!this.candidate(c, hash, length, topic, who)) continue;
        const list = x.ambiguous[c];
        if ((list?.length ?? 0) < MAX_AMBIGUOUS_LISTED) {
          const a: AmbiguousDelivery = { conn: rec.conn.id, frame: rec.frame, clientId: st.clientId, candidates: count };
          if (list === null || list === undefined) x.ambiguous[c] = [a];
          else list.push(a);
          this.listed(c, st.clientId);
        }
      }
      this.roomAfterListing(rec);
      return;
    }
    // One publisher: its messages on one topic reach a subscriber in the order it sent them (Ordered Topic), so the
    // earliest; or a further copy of one already delivered to this client (copyOf).
    this.tracedAny = true;
    let to = x.deliveredTo[m];
    if (to === null || to === undefined) x.deliveredTo[m] = to = new Set();
    to.add(who);
    const list = x.deliveries[m];
    const first = list === null || list === undefined || !list.some((y) => y.conn === rec.conn.id);
    const entry: Delivery = { conn: rec.conn.id, frame: rec.frame, clientId: st.clientId, qos: d.qos, latencyMs: Math.round((t - x.t[m]!) * 1e6) / 1e3 };
    if (list === null || list === undefined) x.deliveries[m] = [entry];
    else if (list.length < MAX_DELIVERIES_LISTED) list.push(entry);
    // Counted listed or not: deliveredTo holds every receiver.
    this.listed(m, st.clientId);
    this.checkDelivery(rec, st, d, topic, m, first);
    if (x.expiry[m]! >= 0) this.checkExpiry(rec, st, d, m, t, first);
    this.roomAfterListing(rec);
  }

  /**
   * The message a delivery no undelivered message explains is a further copy of: the newest indexed one with this topic
   * and payload already delivered to `who`, when one publisher sent all such (a copy per overlapping subscription,
   * 5.0 MQTT-3.3.4-5, or a resend); NONE otherwise (the delivery is then untraced).
   */
  private copyOf(hash: number, length: number, topic: string, who: string): number {
    const x = this.idx;
    let m = NONE;
    for (let c = x.first(hash); c !== NONE; c = x.next(c)) {
      if (x.hash[c] !== hash || x.length[c] !== length || x.topic[c] !== topic || x.deliveredTo[c]?.has(who) !== true) continue;
      if (m !== NONE && x.conn[c] !== x.conn[m]) return NONE;
      m = c;
    }
    return m;
  }

  /** A delivery listed on a message: its cost to the index. */
  private listed(m: number, clientId: string | null): void {
    this.idx.grow(m, DELIVERY_BYTES + (clientId?.length ?? 0));
  }

  /** Room made once a delivery is listed (not while its candidates are walked: that would send them out mid-walk). */
  private roomAfterListing(rec: PacketRecord): void {
    if (this.idx.heldBytes > MAX_INDEX_BYTES) this.makeRoom(rec, 0);
  }

  /** QoS and RETAIN of a delivery against the publisher's PUBLISH and the subscriber's subscriptions, when all are known. */
  private checkDelivery(rec: PacketRecord, st: ConnState, d: PublishPacket, topic: string, m: number, first: boolean): void {
    const client = st.client;
    const x = this.idx;
    if (client === null || !client.complete || st.untraced > 0 || x.length[m]! < MIN_JUDGED_PAYLOAD) return;
    const published = x.qos[m]!;
    const publisher = x.clientId[m];
    let maxGranted = -1;
    let matching = 0;
    let newest = -Infinity;
    let anyRap = false;
    /** Bit q set: some matching subscription gives QoS q. */
    let allowed = 0;
    let ownNoLocal = 0;
    /** Matching subscriptions granted after the message was published that allow a retained copy at subscribe time. */
    let retainedAllowed = 0;
    let rh: { sub: string; handling: number } | null = null;
    // 5.0 Subscription Identifiers of the matching subscriptions (all, and the non-shared ones), gathered only when a
    // subscription has one or the delivery carries one; the arrays are the stage's, reused.
    const lv = st.level;
    const ids = lv === 5 && (client.withIds > 0 || d.properties?.subscriptionIdentifier !== undefined);
    const idsAll = this.idsAll;
    const idsPlain = this.idsPlain;
    const idsPlainAs = this.idsPlainAs;
    if (ids) idsAll.length = idsPlain.length = idsPlainAs.length = 0;
    let shared = 0;
    /** The shared subscription (as subscribed: `$share/{ShareName}/{filter}`) among the matching ones, the last seen. */
    let group: string | null = null;
    for (const [filter, s] of client.subs) {
      if (!topicMatches(s.filter, topic)) continue;
      // A No Local subscription takes no message of the client's own (5.0); the broker may skip it.
      if (s.noLocal && publisher !== null && publisher === st.clientId && s.share === null) {
        ownNoLocal++;
        continue;
      }
      matching++;
      if (s.share !== null) {
        shared++;
        group = filter;
      }
      if (ids && s.subId > 0) {
        idsAll.push(s.subId);
        if (s.share === null) {
          idsPlain.push(s.subId);
          idsPlainAs.push(filter);
        }
      }
      maxGranted = Math.max(maxGranted, s.granted);
      allowed |= 1 << Math.min(published, s.granted);
      newest = Math.max(newest, s.since);
      if (s.rap) anyRap = true;
      if (s.since > x.t[m]!) {
        if (s.rh === 0 || (s.rh === 1 && !s.existed)) retainedAllowed++;
        else rh ??= { sub: filter, handling: s.rh };
      }
    }
    if (matching === 0 && first) {
      if (ownNoLocal > 0 && lv === 5) {
        rec.violations.push(violation(X.noLocal, lv, `the client's own message (frame ${x.frame[m]}) delivered back to it, though every subscription of its that matches ${JSON.stringify(topic)} has No Local set`, 0, 1));
        return;
      }
      const gone = this.removedMatching(client, topic, x.t[m]!);
      if (gone !== null) {
        rec.violations.push(violation(pick(X.afterUnsuback, lv), lv, `delivered through ${JSON.stringify(gone.as)}, which an UNSUBACK removed ${(x.t[m]! - gone.at).toFixed(3)} s before the message (frame ${x.frame[m]}) was published; no other subscription of the client matches`, 0, 1));
        return;
      }
    }
    // No matching subscription is the rules stage's finding (MQTT-3.3.2-3), and above the granted QoS too (MQTT-3.8.4-6/-8).
    if (matching === 0) return;
    // Copies are counted for a live message (every matching subscription older than it: copies at subscribe time are
    // one per SUBSCRIBE, not per message) that is not a resend.
    if (ids) this.checkSubIds(rec, st, d, topic, m, matching, shared, newest < x.t[m]! && !d.dup);
    // Through a shared subscription only when it is the one matching subscription (else the copy may be another's).
    if (lv === 5 && first && matching === 1 && group !== null) this.checkShared(rec, st, group, m);
    if (d.qos > maxGranted) return;
    const expected = Math.min(published, maxGranted);
    const from = `the message published at QoS ${published} in frame ${x.frame[m]}`;
    if (first && d.qos !== expected) {
      const r = matching > 1 ? X.qosOverlap : X.qosMin;
      rec.violations.push(violation(pick(r, lv), lv, `delivered at QoS ${d.qos}, ${from}, to a subscription${matching > 1 ? 's' : ''} granted QoS ${maxGranted}${matching > 1 ? ' at most' : ''}: expected QoS ${expected}`, 0, 1));
    } else if (!first && (allowed & (1 << d.qos)) === 0) {
      const gives = [0, 1, 2].filter((q) => (allowed & (1 << q)) !== 0).join(', ');
      rec.violations.push(violation(pick(X.qosMin, lv), lv, `another copy of ${from} at QoS ${d.qos}, which no matching subscription gives (${gives})`, 0, 1));
    }
    // A retained copy sent at subscribe time (the message older than the subscription) that Retain Handling forbade.
    if (lv === 5 && first && d.retain && rh !== null && retainedAllowed === 0 && newest > x.t[m]! && x.retain[m] === 1) {
      const why = rh.handling === 2 ? 'Retain Handling 2 (never at subscribe time)' : 'Retain Handling 1, and the subscription already existed';
      rec.violations.push(violation(rh.handling === 2 ? X.retainHandling2 : X.retainHandling1, lv, `the retained message of frame ${x.frame[m]} sent for the subscription ${JSON.stringify(rh.sub)}, which asked for ${why}`, 0, 1));
    }
    // Live: every matching subscription was granted before the message was published, so no retained copy is due.
    if (d.retain && newest < x.t[m]! && !(lv === 5 && anyRap)) {
      const r = lv === 5 ? X.retainLive50 : X.retainLive311;
      rec.violations.push(violation(r, lv, `RETAIN=1 on a live delivery of ${from}: the subscription was granted before it was published`, 0, 1));
    }
  }

  /**
   * 5.0 Message Expiry on a delivery traced to a PUBLISH that set one: the delivery carries the published interval less
   * the time the broker held the message (MQTT-3.3.2-6), and none starts after the interval passed (MQTT-3.3.2-5; a
   * second copy on the connection may be the resend of one started in time, so only the first is judged; a DUP=1 copy
   * is a resend, and is not judged at all). Brokers count whole seconds, so EXPIRY_ROUNDING_SEC either way is allowed;
   * the subscriber's subscriptions do not matter.
   */
  private checkExpiry(rec: PacketRecord, st: ConnState, d: PublishPacket, m: number, t: number, first: boolean): void {
    const x = this.idx;
    if (st.level !== 5 || st.untraced > 0 || d.dup || x.length[m]! < MIN_JUDGED_PAYLOAD) return;
    const published = x.expiry[m]!;
    const waited = t - x.t[m]!;
    const held = `${waited.toFixed(3)} s after the message of frame ${x.frame[m]} was published with a Message Expiry Interval of ${published} s`;
    if (waited > published + EXPIRY_ROUNDING_SEC) {
      if (first) rec.violations.push(violation(X.expired, 5, `delivered ${held}: it had expired`));
      return;
    }
    const got = d.properties?.messageExpiryInterval;
    const expected = Math.max(0, published - waited);
    if (got === undefined) {
      rec.violations.push(violation(X.expiryReduced, 5, `no Message Expiry Interval on a delivery ${held} (expected about ${expected.toFixed(0)} s)`));
    } else if (Math.abs(got - expected) > EXPIRY_ROUNDING_SEC) {
      rec.violations.push(violation(X.expiryReduced, 5, `Message Expiry Interval ${got} s on a delivery ${held}: expected ${published} s less the ${waited.toFixed(3)} s it waited, about ${expected.toFixed(0)} s`));
    }
  }

  /**
   * 5.0 Subscription Identifiers on a delivery, against the matching subscriptions (this.idsAll, this.idsPlain). The
   * broker sends one copy carrying the identifiers of all of them (MQTT-3.3.4-4) or one copy per subscription carrying
   * its own (MQTT-3.3.4-5), so: an identifier no matching subscription has is wrong either way (-4 when the copy can
   * only be the single one: one matching subscription, or several identifiers on it; else -5); a copy with several
   * identifiers stands for several subscriptions, so it is the single copy and lacks none of the non-shared ones' (a
   * shared subscription's copy is its own). One identifier of several expected may be one of several copies: the
   * copies of a live message (`countable`: no retained copy sent at subscribe time, no DUP resend) to the connection
   * are counted (countCopies) and judged once they are all in (judgeCopies). A copy with none is MQTT-3.3.4-3, the
   * rules stage's.
   */
  private checkSubIds(rec: PacketRecord, st: ConnState, d: PublishPacket, topic: string, m: number, matching: number, shared: number, countable: boolean): void {
    const p = d.properties?.subscriptionIdentifier;
    if (p === undefined) return;
    const carried = typeof p === 'number' ? [p] : p;
    if (carried.length === 0) return;
    const all = this.idsAll;
    const of = `a delivery of ${JSON.stringify(topic)} (the message of frame ${this.idx.frame[m]})`;
    const theirs = all.length === 0 ? 'they have none' : `they have ${all.join(', ')}`;
    const counted = countable && shared === 0 && this.idsPlain.length >= 2 ? this.countCopies(st, m, carried) : null;
    for (const id of carried) {
      if (all.includes(id)) continue;
      if (counted !== null) counted.said = true;
      const single = matching === 1 || carried.length > 1;
      rec.violations.push(violation(single ? X.subIdsAll : X.subIdOwn, 5, `Subscription Identifier ${id} on ${of}, which none of the client's ${matching} matching subscription${matching === 1 ? '' : 's'} has (${theirs})`));
      return;
    }
    if (carried.length < 2 || shared > 0) return;
    const missing = this.idsPlain.filter((id) => !carried.includes(id));
    if (missing.length > 0) {
      rec.violations.push(violation(X.subIdsAll, 5, `${of} carries Subscription Identifiers ${carried.join(', ')}, so it is the one copy for several subscriptions, but not ${missing.join(', ')} of the other matching subscription${missing.length === 1 ? '' : 's'}`));
    }
  }

  /**
   * A copy of message `m` to `st`, whose client has several matching plain subscriptions with identifiers (and no
   * shared one: its copy would be its own): counted, with the identifiers it carries, for judgeCopies.
   */
  private countCopies(st: ConnState, m: number, carried: readonly number[]): Copies {
    const x = this.idx;
    const map = (st.copies ??= new Map());
    let w = map.get(m);
    if (w === undefined || w.frame !== x.frame[m]) {
      w = { frame: x.frame[m]!, copies: 0, seen: [], expected: this.idsPlain.map((id, i) => ({ id, as: this.idsPlainAs[i]! })), said: false };
      map.set(m, w);
      const to = x.copiedTo[m];
      if (to === null || to === undefined) x.copiedTo[m] = [st];
      else to.push(st);
      x.grow(m, DELIVERY_BYTES);
    }
    w.copies++;
    for (const id of carried) if (!w.seen.includes(id)) w.seen.push(id);
    return w;
  }

  /**
   * 5.0 MQTT-3.3.4-5, once every copy of message `m` to `st` is in (the message left the index, or the connection
   * ended): several copies were sent, so one per subscription, each with its own subscription's identifier; a matching
   * subscription's identifier on none of them means that subscription's copy is missing or carried another's. Kept for
   * the connection's close record. A single copy with one identifier of several is not judged (see checkSubIds).
   */
  private judgeCopies(st: ConnState, m: number, w: Copies): void {
    if (w.said || w.copies < 2) return;
    const missing = w.expected.filter((e) => !w.seen.includes(e.id));
    if (missing.length === 0) return;
    const x = this.idx;
    const got = (st.copyMissed ??= { count: 0, listed: [] });
    got.count++;
    if (got.listed.length < MAX_MISSED_LISTED) {
      got.listed.push(`frame ${x.frame[m]} (${JSON.stringify(x.topic[m])}, ${w.copies} copies carrying ${w.seen.join(', ')}; none ${missing.map((e) => `${e.id} of ${JSON.stringify(e.as)}`).join(', ')})`);
    }
  }

  /** The copies counted of a message leaving the index: judged for each connection still open. */
  private judgeCopiesAtLeaving(m: number): void {
    const x = this.idx;
    for (const st of x.copiedTo[m]!) {
      const w = st.copies?.get(m);
      if (w === undefined || w.frame !== x.frame[m]) continue;
      st.copies!.delete(m); // got from it just above
      if (!st.ended) this.judgeCopies(st, m, w);
    }
  }

  /**
   * 5.0: a message that matches a shared subscription goes to one of the sessions attached to it (4.8). The group is
   * the subscription as subscribed (ShareName and filter); its first member to get the message is kept on the message,
   * and another member getting it too is a warning, unless the first one's connection has closed since: the broker may
   * then send an unacknowledged QoS 1/2 message to another member (4.8.2). Once per message and group.
   */
  private checkShared(rec: PacketRecord, st: ConnState, group: string, m: number): void {
    const x = this.idx;
    const who = st.clientId ?? `#${rec.conn.id}`;
    let got = x.sharedTo[m];
    if (got === null || got === undefined) x.sharedTo[m] = got = new Map();
    const earlier = got.get(group);
    if (earlier === undefined) {
      got.set(group, { who, conn: rec.conn.id, frame: rec.frame, said: false });
      x.grow(m, DELIVERY_BYTES + group.length);
      return;
    }
    if (earlier.said || earlier.who === who || !this.conns.has(earlier.conn)) return;
    earlier.said = true;
    rec.violations.push(violation(X.sharedOnce, 5, `the message of frame ${x.frame[m]} delivered through the shared subscription ${JSON.stringify(group)} to ${JSON.stringify(who)} here and to ${JSON.stringify(earlier.who)} (connection ${earlier.conn}, frame ${earlier.frame}, still open): a shared subscription's message goes to one member`));
  }

  /** A subscription an UNSUBACK removed more than UNSUBACK_GRACE_SEC before `published` whose filter matches `topic`. */
  private removedMatching(client: Client, topic: string, published: number): { as: string; at: number } | null {
    if (client.removed === null) return null;
    for (const [as, r] of client.removed) if (published - r.at > UNSUBACK_GRACE_SEC && topicMatches(r.filter, topic)) return { as, at: r.at };
    return null;
  }

  private expireUntil(t: number): void {
    const limit = t - this.windowSec;
    const x = this.idx;
    while (x.size > 0 && x.t[x.oldest()]! < limit) this.expire(x.shift());
  }

  /** A message that left the index: its record, when it has something to say. */
  private expire(m: number): void {
    const x = this.idx;
    if (x.expected[m] !== null) this.judgeOwedAtLeaving(m);
    if (x.copiedTo[m] !== null) this.judgeCopiesAtLeaving(m);
    const deliveries = x.deliveries[m] ?? null;
    const ambiguous = x.ambiguous[m] ?? null;
    if (this.undelivered || deliveries !== null || ambiguous !== null) {
      const r: MessageRecord = {
        kind: 'message', frame: x.frame[m]!, timeSec: x.timeSec[m]!, timeNsec: x.timeNsec[m]!, conn: x.conn[m]!, clientId: x.clientId[m] ?? null,
        topic: x.topic[m]!, qos: x.qos[m]!, retain: x.retain[m] === 1, payloadLength: x.length[m]!, payloadHash: hashHex(x.hash[m]!),
        deliveries: deliveries ?? [], ambiguous: ambiguous ?? [],
      };
      x.release(m);
      this.next.traced?.(r);
    } else {
      x.release(m);
    }
  }

  // ---- ends ----------------------------------------------------------------------------------

  private ended(st: ConnState, end: ConnectionEnd): Violation[] {
    const out: Violation[] = [];
    // The messages owed to it that it never got, while it was open long enough: for this close record.
    if (st.owed !== null) this.judgeOwedAtClose(st, seconds(end.timeSec, end.timeNsec));
    // The copies of messages still indexed: no more can come on this connection.
    if (st.copies !== null) {
      for (const [m, w] of st.copies) if (w.frame === this.idx.frame[m]) this.judgeCopies(st, m, w);
      st.copies = null;
    }
    st.ended = true;
    this.unwatch(st);
    const client = st.client;
    if (client === null || !st.accepted) return out;
    client.live.delete(st);
    const missed = st.missed;
    if (missed !== null) {
      const more = (missed.count > missed.listed.length ? `, and ${missed.count - missed.listed.length} more` : '')
        + (st.owedLetGo > 0 ? ` (${st.owedLetGo} older message${st.owedLetGo === 1 ? '' : 's'} owed to it not kept to be judged: ${this.maxOwedPerConn} are)` : '');
      out.push(violation(pick(X.owed, st.level), st.level, `${missed.count} message${missed.count === 1 ? '' : 's'} published while this connection was open, matching a subscription of "${client.id}" granted before, never reached it, though the connection stayed open ${MISSING_GRACE_SEC} s or more after: ${missed.listed.join('; ')}${more}`));
    }
    const cm = st.copyMissed;
    if (cm !== null) {
      const more = cm.count > cm.listed.length ? `, and ${cm.count - cm.listed.length} more` : '';
      out.push(violation(X.subIdOwn, 5, `${cm.count} message${cm.count === 1 ? '' : 's'} sent to "${client.id}" in several copies, so one per matching subscription with its own Subscription Identifier, but a matching subscription's identifier on none of them: ${cm.listed.join('; ')}${more}`));
    }
    const t = seconds(end.timeSec, end.timeNsec);
    const lv = st.level;
    const tk = st.takenOver;
    if (tk !== null && t - tk.time > TAKEOVER_GRACE_SEC) {
      const still = end.cause === 'capture-end' || end.cause === 'evicted' ? 'was still open at the end of the capture' : `was closed only ${(t - tk.time).toFixed(3)} s later`;
      out.push(violation(pick(X.takeover, lv), lv, `connection ${tk.by} (frame ${tk.frame}) took over ClientId "${client.id}", but this connection ${still}`));
    }
    // Carried exchanges this resumed connection never resent, though it was seen whole and ended before the capture did.
    const carried = st.resumed ? client.carried : null;
    if (carried !== null && st.conn.sawSyn && end.cause !== 'capture-end' && end.cause !== 'evicted') {
      for (const dir of ['c2s', 's2c'] as const) {
        const missing = carried[dir].filter((o) => !st.resent[dir].has(o.packetId));
        if (missing.length > 0) {
          const who = dir === 'c2s' ? 'client' : 'server';
          out.push(violation(pick(X.resend, lv), lv, `the ${who} resumed the session but never resent ${missing.length} unacknowledged exchange${missing.length === 1 ? '' : 's'} of connection ${client.last?.conn ?? '?'} (packet identifier${missing.length === 1 ? '' : 's'} ${missing.slice(0, 8).map((o) => o.packetId).join(', ')})`));
        }
      }
    }
    const cn = st.connect;
    // 5.0: the session outlives the connection by its Session Expiry Interval (Clean Start only said how it began);
    // 3.x: while Clean Session was 0.
    const persists = cn !== null && (lv === 5 ? cn.expirySec > 0 : !cn.clean);
    if (tk === null || client.live.size === 0) {
      client.last = { time: t, persists, expirySec: cn?.expirySec ?? 0, conn: st.conn.id };
      if (!persists) {
        this.clearSubs(client, t);
        client.complete = true;
        client.carried = null;
      } else {
        const take = (m: Map<number, Open>): Open[] => [...m.values()].sort((a, b) => a.seq - b.seq);
        client.carried = { c2s: take(st.open.c2s), s2c: take(st.open.s2c) };
      }
    }
    return out;
  }

  /**
   * Who the broker model says would receive a PUBLISH to `topic` from `publisher` (a ClientId, for No Local), as the
   * packets so far left the subscriptions (call it before finish(): the ends of the capture's connections would drop
   * the clean sessions' subscriptions). `$`-topics match no filter starting with a wildcard (MQTT-4.7.2-1).
   */
  receivers(topic: string, publisher: string | null = null): ReceiversAnswer {
    const receivers: Receiver[] = [];
    const unknown: string[] = [];
    const matching = (clientId: string, as: string, s: Sub): ReceiverSubscription | null => {
      if (!topicMatches(s.filter, topic)) return null;
      if (s.noLocal && s.share === null && publisher !== null && publisher === clientId) return null;
      return { filter: as, qos: s.granted, shareGroup: s.share, noLocal: s.noLocal, timeSec: s.since };
    };
    for (const c of this.clients.values()) {
      const subs: ReceiverSubscription[] = [];
      let maxQos = -1;
      for (const [as, s] of c.subs) {
        const m = matching(c.id, as, s);
        if (m === null) continue;
        subs.push(m);
        maxQos = Math.max(maxQos, s.granted);
      }
      if (subs.length > 0) {
        receivers.push({ kind: 'receiver', clientId: c.id, subscriptions: subs, maxQos, connected: c.live.size > 0, persists: c.live.size > 0 ? [...c.live].some(mayPersist) : c.last?.persists === true, complete: c.complete });
      } else if (!c.complete) {
        unknown.push(c.id);
      }
    }
    const past: PastSubscription[] = [];
    for (const e of this.history ?? []) {
      const m = matching(e.clientId, e.as, e.sub);
      if (m !== null) past.push({ ...m, clientId: e.clientId, untilSec: e.until });
    }
    return { topic, receivers, past, pastCapped: this.historyCapped, unknown, clients: this.clients.size, capped: this.limitSaid.clients };
  }

  /**
   * An open connection whose whole subscriptions (granted before `since`) take a PUBLISH to `topic`: the witness a
   * missing Will needs. Looked for only for a due Will that was not seen; all searches together look at no more than
   * OBSERVER_BUDGET subscriptions (then a `sessions-limit` event, and no more missing Wills are judged).
   */
  private observers(topic: string, since: number, notConn: number): string | null {
    for (const c of this.clients.values()) {
      if (c.live.size === 0 || !c.complete) continue;
      let takes = false;
      for (const s of c.subs.values()) {
        if (--this.observerBudget < 0) {
          if (this.observerBudget === -1) this.say('sessions-limit', `${OBSERVER_BUDGET} subscriptions looked at for subscribers of Will Topics: Wills not seen are no longer judged`);
          this.observerBudget = -2;
          return null;
        }
        if (s.since <= since && !(s.noLocal && s.share === null) && topicMatches(s.filter, topic)) {
          takes = true;
          break;
        }
      }
      if (!takes) continue;
      for (const o of c.live) if (o.conn.id !== notConn && o.connect !== null && o.connect.time <= since) return `"${c.id}" (connection ${o.conn.id})`;
    }
    return null;
  }

  private say(event: 'sessions-partial' | 'sessions-limit', message: string): void {
    this.next.event({ event, frame: this.lastFrame, conn: null, dir: null, message });
  }
}
