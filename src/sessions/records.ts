/**
 * What the sessions stage tells the stages after it besides findings: one `message` record per PUBLISH the broker
 * received (with the deliveries it caused) and one `session` record per ClientId at the end of the capture. Plain
 * data (they cross to the render worker of --threads 2 as JSON); docs/json.md documents every key.
 */
import type { PacketSink } from '../mqtt/connection-decoder.js';

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

export type TraceRecord = MessageRecord | SessionRecord;

/** The stages after the sessions stage: a PacketSink that may also take its records. */
export interface TraceSink extends PacketSink {
  traced?(r: TraceRecord): void;
}
