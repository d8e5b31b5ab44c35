/**
 * What the sessions stage tells the stages after it besides findings: one `message` record per PUBLISH the broker
 * received (with the deliveries it caused) and one `session` record per ClientId at the end of the capture. Plain
 * data (they cross to the render worker of --threads 2 as JSON); docs/json.md documents every key.
 */
import type { PacketSink } from '../mqtt/connection-decoder.js';
import type { ClosedConnection } from '../rules/close.js';
import type { ConnectionEnd } from '../tcp/types.js';

/** One s2c PUBLISH matched to the message that caused it. */
export interface Delivery {
  conn: number;
  frame: number;
  clientId: string | null;
  qos: number;
  /** Publisher's PUBLISH to this delivery, capture time, milliseconds (microsecond precision). */
  latencyMs: number;
}

/** An s2c PUBLISH that may be this message or another one with the same topic and payload: not attributed. */
export interface AmbiguousDelivery {
  conn: number;
  frame: number;
  clientId: string | null;
  /** How many indexed messages it could be. */
  candidates: number;
}

export interface MessageRecord {
  kind: 'message';
  /** The publisher's PUBLISH: its frame, time, connection and client. */
  frame: number;
  timeSec: number;
  timeNsec: number;
  conn: number;
  clientId: string | null;
  topic: string;
  qos: number;
  retain: boolean;
  payloadLength: number;
  /** FNV-1a (32 bit) of the payload bytes, 8 hex digits: what deliveries are matched by, with the topic. */
  payloadHash: string;
  deliveries: Delivery[];
  ambiguous: AmbiguousDelivery[];
}

export interface SessionRecord {
  kind: 'session';
  clientId: string;
  /** Connection numbers of the client's accepted CONNECTs, in order. */
  connections: number[];
  reconnects: number;
  /** Connections of this ClientId that a later CONNECT of the same ClientId took over. */
  takeovers: number;
  /** PUBLISH and PUBREL packets resent on a resumed session (either direction). */
  redeliveries: number;
  /** Subscriptions the broker model holds for the client at the end; null when the model is incomplete. */
  subscriptions: number | null;
}

/** A matching subscription of a receiver (`mqtt-dissect trace --receivers TOPIC`). */
export interface ReceiverSubscription {
  /** As subscribed: a shared subscription keeps its `$share/{group}/` prefix. */
  filter: string;
  /** The QoS the SUBACK granted. */
  qos: number;
  /** The share group, or null for a plain subscription (a shared one gets each message to one member of its group). */
  shareGroup: string | null;
  noLocal: boolean;
  /** Capture time of the SUBACK that granted it. */
  timeSec: number;
}

/** A client the broker model says would receive a PUBLISH to the topic asked about, as the capture left things. */
export interface Receiver {
  kind: 'receiver';
  clientId: string;
  subscriptions: ReceiverSubscription[];
  /** The highest granted QoS of its matching subscriptions: a PUBLISH at QoS q reaches it at min(q, this). */
  maxQos: number;
  /** A connection of the client is open: delivered now. Otherwise a persistent session queues QoS 1/2 messages. */
  connected: boolean;
  persists: boolean;
  /** false: the session began before the capture, so subscriptions the capture never showed may match as well. */
  complete: boolean;
}

/** A matching subscription that ended during the capture (UNSUBACK, or its clean session ended). */
export interface PastSubscription extends ReceiverSubscription {
  clientId: string;
  /** Capture time it ended. */
  untilSec: number;
}

/** The answer to "who would receive a PUBLISH to this topic": receivers, and what the model cannot see. */
export interface ReceiversAnswer {
  topic: string;
  /** Subscribed at the end of the capture. */
  receivers: Receiver[];
  /** Subscribed for a while during the capture, no longer at its end, in the order they ended. */
  past: PastSubscription[];
  /** More subscriptions ended than the history keeps (MAX_HISTORY): `past` lists the first ones. */
  pastCapped: boolean;
  /** Clients with no matching subscription known, whose session began before the capture: they may receive it too. */
  unknown: string[];
  /** ClientIds followed, the model's cap, and whether it was reached (later ClientIds unknown). */
  clients: number;
  capped: boolean;
}

export type TraceRecord = MessageRecord | SessionRecord;

/** The stages after the sessions stage: a PacketSink that may also take its records. */
export interface TraceSink extends PacketSink {
  traced?(r: TraceRecord): void;
}

/**
 * What the close record says of the client's Will (src/sessions/will.ts): `none` (the CONNECT had no Will), `fired` (due
 * and published), `fired-early` (5.0: published before its Will Delay passed), `fired-not-due` (published after a normal
 * DISCONNECT, a resumed session within the Will Delay, or a refused CONNECT), `should-fire-not-seen` (due, a subscriber in
 * the capture would have received it, none did), `not-fired` (not due, and none seen), `due-unobserved` (due, and no
 * subscriber of the Will Topic in the capture to tell whether it was published), `cancelled` (5.0: the session
 * reconnected within the Will Delay), `pending` (the capture ended before the Will was due or its window passed), `open`
 * (the connection was still open at the end of the capture, or dropped from memory).
 */
export type WillOutcome =
  | 'none' | 'fired' | 'fired-early' | 'fired-not-due' | 'should-fire-not-seen' | 'not-fired' | 'due-unobserved'
  | 'cancelled' | 'pending' | 'open';

/** An s2c PUBLISH of a closed connection's Will Topic and Will Payload. */
export interface WillDelivery {
  conn: number;
  frame: number;
  clientId: string | null;
  qos: number;
  /** Close of the Will's connection to this delivery, capture time, milliseconds (negative: just before the close). */
  afterCloseMs: number | null;
}

/** The close record as the sessions stage hands it on: the rules stage's, plus the takeover and the Will audit. */
export interface SessionsClose extends ClosedConnection {
  /** The connection that took this one's ClientId over (its CONNACK's frame); null when none did. */
  takeover?: { conn: number; frame: number } | null;
  /** Null when the CONNECT was not seen. */
  will?: WillOutcome | null;
  willDeliveries?: WillDelivery[];
}

/** The sessions stage's facts of a close, when it added them. */
export function sessionsClose(end: ConnectionEnd): SessionsClose {
  return end;
}
