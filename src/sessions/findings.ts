/**
 * The catalogue statements the sessions stage checks (src/rules/catalogue.ts lists them as implemented, with the
 * per-connection rules): one finding per defect, cited for the version of the connection it is reported on.
 */
import { pair, rule, type RuleEntry, type RulePair } from '../rules/catalogue.js';

export const X = {
  /** Delivery QoS = the lower of the published QoS and the granted QoS (one matching subscription). */
  qosMin: pair('MQTT-3.8.4-6', 'MQTT-3.8.4-8'),
  /** With several matching subscriptions: the highest of their QoS (capped by the published one). */
  qosOverlap: pair('MQTT-3.3.5-1', 'MQTT-3.3.4-2'),
  /** A second CONNECT of a connected ClientId: the broker closes the first connection. */
  takeover: pair('MQTT-3.1.4-2', 'MQTT-3.1.4-3'),
  /** 3.1.1: Clean Session 0 and a stored session: Session Present 1. */
  sessionKept311: rule('3.1.1', 'MQTT-3.2.2-2'),
  /** 3.1.1: Clean Session 0 without a stored session: Session Present 0. */
  sessionNone311: rule('3.1.1', 'MQTT-3.2.2-3'),
  /** 5.0: Clean Start 0: Session Present says whether the server holds the session. */
  sessionPresent50: rule('5.0', 'MQTT-3.2.2-3'),
  /** A resent PUBLISH carries DUP=1. */
  dup: pair('MQTT-3.3.1-1', 'MQTT-3.3.1-1'),
  /** Unacknowledged PUBLISH and PUBREL are resent after a reconnect that resumes the session. */
  resend: pair('MQTT-4.4.0-1', 'MQTT-4.4.0-1'),
  /** The client resends in the original order. */
  order: pair('MQTT-4.6.0-1', 'MQTT-4.6.0-1'),
  /** A live delivery (the subscription existed before the message was published) has RETAIN=0. */
  retainLive311: rule('3.1.1', 'MQTT-3.3.1-9'),
  retainLive50: rule('5.0', 'MQTT-3.3.1-12'),
  /** 5.0 No Local: no message back to a connection with the publisher's ClientId through a No Local subscription. */
  noLocal: rule('5.0', 'MQTT-3.8.3-3'),
  /** 5.0 Retain Handling 1: retained messages at subscribe time only for a subscription that did not exist. */
  retainHandling1: rule('5.0', 'MQTT-3.3.1-10'),
  /** 5.0 Retain Handling 2: no retained messages at subscribe time. */
  retainHandling2: rule('5.0', 'MQTT-3.3.1-11'),
  /** After the UNSUBACK, no new message through the subscription it removed. */
  afterUnsuback: pair('MQTT-3.10.4-2', 'MQTT-3.10.4-2'),
  /** 5.0: a delivery carries the published Message Expiry Interval less the seconds the broker held the message. */
  expiryReduced: rule('5.0', 'MQTT-3.3.2-6'),
  /** 5.0: a single copy for several matching subscriptions carries the Subscription Identifiers of all of them. */
  subIdsAll: rule('5.0', 'MQTT-3.3.4-4'),
  /** 5.0: each of several copies carries the Subscription Identifier of its own matching subscription. */
  subIdOwn: rule('5.0', 'MQTT-3.3.4-5'),
  /** A message a connected subscriber's subscription matched never reached it (a warning: brokers' ACLs are unseen). */
  owed: pair('MQTT-4.5.0-1', 'MQTT-4.5.0-1'),
  /** Takeovers of one ClientId back and forth between two addresses: two devices share it. */
  clientIdShared: rule('ref', 'ALL:3.1.4:clientid-shared'),
  /** 5.0: a message matching a shared subscription goes to one of the sessions attached to it. */
  sharedOnce: rule('ref', '5.0:4.8:shared-one-session'),
  /** 5.0: no delivery starts once the message's Message Expiry Interval has passed. */
  expired: rule('5.0', 'MQTT-3.3.2-5'),
} satisfies Record<string, RulePair | RuleEntry>;

/** The Will audit (src/sessions/will.ts). */
export const W = {
  /** The Will is published when the connection closes without the client's (5.0: 0x00) DISCONNECT; 5.0 after the Will Delay. */
  due: pair('MQTT-3.1.2-8', 'MQTT-3.1.2-8'),
  /** No Will after the client's normal DISCONNECT. */
  notAfterDisconnect: pair('MQTT-3.14.4-3', 'MQTT-3.14.4-3'),
  /** 5.0: a new connection to the session within the Will Delay Interval: the Will is not sent. */
  reconnected: rule('5.0', 'MQTT-3.1.3-9'),
} satisfies Record<string, RulePair | RuleEntry>;
