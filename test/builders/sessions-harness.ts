/**
 * Drives the rules and the sessions stage the way the pipeline does, over several connections of one capture: each
 * packet decoded with its connection's level (from its CONNECT), capture times chosen by the test, then the closes
 * and the end of the capture.
 */
import type { PacketRecord, Violation } from '../../src/mqtt/connection-decoder.js';
import { decodePacket } from '../../src/mqtt/decoder.js';
import type { ProtocolLevel } from '../../src/mqtt/types.js';
import { closeViolations } from '../../src/rules/close.js';
import { RuleEngine } from '../../src/rules/engine.js';
import { sessionsClose, type MessageRecord, type SessionRecord, type SessionsClose, type TraceRecord, type TraceSink } from '../../src/sessions/records.js';
import { SessionsStage, type SessionsOptions } from '../../src/sessions/stage.js';
import type { Connection, ConnectionEnd, Direction, EndCause, StreamEvent } from '../../src/tcp/types.js';
import { ack, connack, connect, pingreq, pingresp, publish, suback, subscribe, unsuback, unsubscribe, type Level, type Prop, type Sub } from './mqtt-bytes.js';
import { makeConn } from './rules-harness.js';

export type Ev = StreamEvent & { violations?: Violation[] };

export class Broker implements TraceSink {
  readonly packets: PacketRecord[] = [];
  readonly events: Ev[] = [];
  readonly closes: { conn: number; violations: readonly Violation[]; end: SessionsClose }[] = [];
  readonly messages: MessageRecord[] = [];
  readonly sessions: SessionRecord[] = [];
  readonly stage: SessionsStage;
  private readonly rules: RuleEngine;
  /** The rules alone, fed the same packets: what they find is not the sessions stage's. */
  private readonly shadow: RuleEngine;
  private readonly shadowFound: Violation[] = [];
  private readonly conns = new Map<number, { conn: Connection; level: ProtocolLevel }>();
  /** Client IP addresses of connections not opened yet (from()); the others are 10.0.0.2. */
  private readonly addresses = new Map<number, string>();
  private frame = 0;

  constructor(opts: SessionsOptions = {}) {
    // Every message's record, delivered or not, so that a test sees what the stage made of each (the CLI's --json
    // leaves out the undelivered ones: test 'message records only for what was delivered').
    this.stage = new SessionsStage(this, { undelivered: true, ...opts });
    this.rules = new RuleEngine(this.stage);
    const found = this.shadowFound;
    this.shadow = new RuleEngine({
      open() {}, packet(rec) { found.push(...rec.violations); }, event(ev: Ev) { found.push(...(ev.violations ?? [])); },
      close(_c, end) { found.push(...closeViolations(end)); },
    });
  }

  // TraceSink (what the stage hands on)
  open(): void {}
  packet(rec: PacketRecord): void { this.packets.push(rec); }
  event(ev: Ev): void { this.events.push(ev); }
  close(conn: Connection, end: ConnectionEnd): void { this.closes.push({ conn: conn.id, violations: closeViolations(end), end: sessionsClose(end) }); }
  traced(r: TraceRecord): void { if (r.kind === 'message') this.messages.push(r); else this.sessions.push(r); }

  /** Sends `bytes` on connection `id` (opened on first use) at capture time `t` seconds. */
  send(id: number, dir: Direction, bytes: Uint8Array, t: number): PacketRecord {
    let c = this.conns.get(id);
    if (c === undefined) {
      const base = makeConn(id);
      const ip = this.addresses.get(id);
      const at = ip === undefined ? {} : { clientIp: ip, client: `${ip}:${base.clientPort}` };
      c = { conn: { ...base, ...at, startSec: Math.floor(t) }, level: 4 };
      this.conns.set(id, c);
      this.rules.open(c.conn);
      this.shadow.open(c.conn);
    }
    const decoded = decodePacket(bytes, { level: c.level, dir, tree: false });
    if (dir === 'c2s' && decoded.type === 1) c.level = decoded.level;
    const sec = Math.floor(t);
    const rec: PacketRecord = {
      conn: c.conn, dir, frame: ++this.frame, frames: [this.frame], timeSec: sec, timeNsec: Math.round((t - sec) * 1e9), bytes, decoded,
      levelInferred: false, streamOffset: 0, violations: [],
    };
    this.rules.packet(rec);
    this.shadow.packet({ ...rec, decoded: decodePacket(bytes, { level: rec.decoded.level, dir, tree: false }), violations: [] });
    return rec;
  }

  /** Connection `id`, once opened, comes from client address `ip`. */
  from(id: number, ip: string): this {
    this.addresses.set(id, ip);
    return this;
  }

  c(id: number, bytes: Uint8Array, t: number): PacketRecord { return this.send(id, 'c2s', bytes, t); }
  s(id: number, bytes: Uint8Array, t: number): PacketRecord { return this.send(id, 's2c', bytes, t); }

  /** Ends connection `id` at `t` (FIN by the client unless told otherwise); returns its close record's findings. */
  end(id: number, t: number, cause: EndCause = 'fin', by: Direction | null = 'c2s'): readonly Violation[] {
    const c = this.conns.get(id);
    if (c === undefined) throw new Error(`no connection ${id}`);
    this.conns.delete(id);
    const sec = Math.floor(t);
    const end: ConnectionEnd = { frame: ++this.frame, timeSec: sec, timeNsec: Math.round((t - sec) * 1e9), cause, by, finC2s: cause === 'fin', finS2c: cause === 'fin' };
    this.rules.close(c.conn, end);
    this.shadow.close(c.conn, end);
    // A close with a Will waits in the stage until the Will is decided: then nothing is returned yet.
    return this.closes.find((x) => x.conn === id)?.violations ?? [];
  }

  /** The close record of connection `id`, once the stage handed it on. */
  closed(id: number): SessionsClose {
    const c = this.closes.find((x) => x.conn === id);
    if (c === undefined) throw new Error(`connection ${id} has no close record yet`);
    return c.end;
  }

  /** The end of the capture at `t`: open connections end 'capture-end', then the stage's own end. */
  finish(t: number): void {
    for (const id of [...this.conns.keys()]) this.end(id, t, 'capture-end', null);
    this.stage.finish();
  }

  /** Every finding of the sessions stage (packets, events and closes), leaving out those the rules make alone. */
  all(): Violation[] {
    const everything = [...this.packets.flatMap((p) => p.violations), ...this.events.flatMap((e) => e.violations ?? []), ...this.closes.flatMap((c) => c.violations)];
    const rulesAlone = new Map<string, number>();
    const key = (v: Violation): string => `${v.spec} ${v.id} ${v.message}`;
    for (const v of this.shadowFound) rulesAlone.set(key(v), (rulesAlone.get(key(v)) ?? 0) + 1);
    return everything.filter((v) => {
      const n = rulesAlone.get(key(v)) ?? 0;
      if (n === 0) return true;
      rulesAlone.set(key(v), n - 1);
      return false;
    });
  }

  ids(): string[] {
    return this.all().map((v) => `${v.spec} ${v.id}`);
  }
}

export interface Login {
  level?: Level;
  clean?: boolean;
  sp?: boolean;
  expiry?: number;
  code?: number;
}

/** CONNECT and CONNACK of `clientId` on connection `id`, at `t` (CONNACK 1 ms later). */
export function login(b: Broker, id: number, clientId: string, t: number, o: Login = {}): void {
  const level = o.level ?? 4;
  const properties: Prop[] = o.expiry !== undefined ? [['sessionExpiryInterval', o.expiry]] : [];
  b.c(id, connect({ level, clientId, clean: o.clean ?? true, ...(level === 5 ? { properties } : {}) }), t);
  b.s(id, connack({ level, sessionPresent: o.sp ?? false, code: o.code ?? 0 }), t + 0.001);
}

/** SUBSCRIBE of one filter and its SUBACK granting `granted`, at `t`. */
export function sub(b: Broker, id: number, s: Sub, granted: number, t: number, level: Level = 4, packetId = 1): void {
  b.c(id, subscribe({ level, packetId, subscriptions: [s] }), t);
  b.s(id, suback({ level, packetId, codes: [granted] }), t + 0.001);
}


/**
 * A subscriber granted QoS 1 on `a/+` (and, with `overlap`, QoS 2 on `a/#` too) receives a QoS 2 message at
 * `delivered`: the delivered-QoS scenario of the sessions tests and of the rules catalogue's cases.
 */
export function qosDeliveryScenario(level: Level, delivered: number, overlap: boolean): Broker {
  const b = new Broker();
  login(b, 0, 'sub', 0, { level });
  sub(b, 0, { topic: 'a/+', qos: 1 }, 1, 0.01, level);
  if (overlap) sub(b, 0, { topic: 'a/#', qos: 2 }, 2, 0.02, level, 2);
  login(b, 1, 'pub', 0.1, { level });
  b.c(1, publish({ level, topic: 'a/b', qos: 2, packetId: 5, payload: 'reading-1' }), 1);
  b.s(0, publish({ level, topic: 'a/b', qos: delivered, packetId: 9, payload: 'reading-1' }), 1.002);
  b.finish(2);
  return b;
}

/**
 * A 5.0 client subscribed to `chat/+` (with or without No Local, and with `otherSub` also to `chat/#` without it)
 * publishes a message and gets it back: the No Local scenario of the sessions tests and of the rules catalogue's cases.
 */
export function noLocalScenario(noLocal: boolean, otherSub: boolean): Broker {
  const b = new Broker();
  login(b, 0, 'me', 0, { level: 5 });
  sub(b, 0, { topic: 'chat/+', qos: 0, noLocal }, 0, 0.01, 5);
  if (otherSub) sub(b, 0, { topic: 'chat/#', qos: 0 }, 0, 0.02, 5, 2);
  b.c(0, publish({ level: 5, topic: 'chat/room', qos: 0, payload: 'hello, everyone' }), 1);
  b.s(0, publish({ level: 5, topic: 'chat/room', qos: 0, payload: 'hello, everyone' }), 1.001);
  b.finish(2);
  return b;
}

/**
 * A subscriber of `plant/#` unsubscribes at 1 s (UNSUBACK 1 ms later; with `resubscribe` it subscribes again at 1.5 s),
 * then a message published at `publishedAt` is delivered to it: the after-UNSUBACK scenario.
 */
export function unsubackScenario(level: Level, publishedAt: number, resubscribe: boolean): Broker {
  const b = new Broker();
  login(b, 0, 'sub', 0, { level });
  sub(b, 0, { topic: 'plant/#', qos: 0 }, 0, 0.01, level);
  b.c(0, unsubscribe({ level, packetId: 2, topics: ['plant/#'] }), 1);
  b.s(0, unsuback({ level, packetId: 2 }), 1.001);
  if (resubscribe) sub(b, 0, { topic: 'plant/#', qos: 0 }, 0, 1.5, level, 3);
  login(b, 1, 'pub', 0, { level });
  b.c(1, publish({ level, topic: 'plant/7/temp', qos: 0, payload: 'reading 21.5' }), publishedAt);
  b.s(0, publish({ level, topic: 'plant/7/temp', qos: 0, payload: 'reading 21.5' }), publishedAt + 0.001);
  b.finish(5);
  return b;
}

/**
 * 5.0: a retained message is published at 1 s; at 2 s a client subscribes to it with Retain Handling `rh` (with
 * `again`, a second time: the subscription then existed), and the broker sends the retained copy: the Retain Handling
 * scenario of the sessions tests and of the rules catalogue's cases.
 */
export function retainHandlingScenario(rh: number, again: boolean): Broker {
  const b = new Broker();
  login(b, 1, 'pub', 0, { level: 5 });
  login(b, 0, 'sub', 0, { level: 5 });
  b.c(1, publish({ level: 5, topic: 'state/door', qos: 0, retain: true, payload: 'door: open' }), 1);
  if (again) sub(b, 0, { topic: 'state/#', qos: 0, retainHandling: rh }, 0, 1.5, 5, 1);
  sub(b, 0, { topic: 'state/#', qos: 0, retainHandling: rh }, 0, 2, 5, 2);
  b.s(0, publish({ level: 5, topic: 'state/door', qos: 0, retain: true, payload: 'door: open' }), 2.002);
  b.finish(3);
  return b;
}

/**
 * The client sends QoS 1 PUBLISH 7 then 8, unacknowledged; the connection breaks (RST); it reconnects with the session
 * kept (Session Present 1). The redelivery scenarios of the sessions tests and of the rules catalogue's cases go on from here.
 */
export function brokenSession(): Broker {
  const b = new Broker();
  login(b, 0, 'dev', 0, { clean: false });
  b.c(0, publish({ topic: 't/1', qos: 1, packetId: 7, payload: 'seven' }), 0.1);
  b.c(0, publish({ topic: 't/2', qos: 1, packetId: 8, payload: 'eight' }), 0.2);
  b.end(0, 0.3, 'rst', 'c2s');
  login(b, 1, 'dev', 1, { clean: false, sp: true });
  return b;
}

/**
 * 5.0: a message published at 1 s with a Message Expiry Interval of `published` s reaches a subscriber `waited` s later
 * carrying `delivered` (null: no Message Expiry Interval): the Message Expiry scenario of the sessions tests and of the
 * rules catalogue's cases.
 */
export function expiryScenario(published: number, waited: number, delivered: number | null): Broker {
  const b = new Broker();
  login(b, 0, 'sub', 0, { level: 5 });
  sub(b, 0, { topic: 'alerts/#', qos: 1 }, 1, 0.01, 5);
  login(b, 1, 'pub', 0, { level: 5 });
  b.c(1, publish({ level: 5, topic: 'alerts/fire', qos: 1, packetId: 3, properties: [['messageExpiryInterval', published]], payload: 'smoke in hall B' }), 1);
  const properties: Prop[] = delivered === null ? [] : [['messageExpiryInterval', delivered]];
  b.s(0, publish({ level: 5, topic: 'alerts/fire', qos: 1, packetId: 4, properties, payload: 'smoke in hall B' }), 1 + waited);
  b.finish(2 + waited);
  return b;
}

/**
 * 5.0: a client subscribes to each filter of `subs` in its own SUBSCRIBE (with the Subscription Identifier given; 0:
 * none), then a message on `topic` published at 1 s reaches it as one copy per entry of `copies`, each carrying those
 * identifiers: the Subscription Identifier scenario of the sessions tests and of the rules catalogue's cases.
 */
export function subIdScenario(subs: readonly [filter: string, id: number][], topic: string, copies: readonly (readonly number[])[]): Broker {
  const b = new Broker();
  login(b, 0, 'sub', 0, { level: 5 });
  subs.forEach(([filter, id], i) => {
    const properties: Prop[] = id > 0 ? [['subscriptionIdentifier', id]] : [];
    b.c(0, subscribe({ level: 5, packetId: i + 1, properties, subscriptions: [{ topic: filter, qos: 0 }] }), 0.01 + i * 0.01);
    b.s(0, suback({ level: 5, packetId: i + 1, codes: [0] }), 0.015 + i * 0.01);
  });
  login(b, 1, 'pub', 0, { level: 5 });
  b.c(1, publish({ level: 5, topic, payload: 'meter reading 42' }), 1);
  copies.forEach((ids, i) => {
    b.s(0, publish({ level: 5, topic, properties: ids.map((id): Prop => ['subscriptionIdentifier', id]), payload: 'meter reading 42' }), 1.001 + i * 0.001);
  });
  b.finish(2);
  return b;
}

/**
 * 5.0: workers w1 and w2 subscribe to `$share/pool/jobs/#` (w2, with `otherGroup`, to `$share/other/jobs/#`); one
 * message published at 1 s reaches both (with `firstGone`, w1's connection ends before w2 gets it): the shared
 * subscription scenario of the sessions tests and of the rules catalogue's cases.
 */
export function sharedScenario(otherGroup: boolean, firstGone: boolean): Broker {
  const b = new Broker();
  login(b, 0, 'w1', 0, { level: 5 });
  sub(b, 0, { topic: '$share/pool/jobs/#', qos: 1 }, 1, 0.01, 5);
  login(b, 1, 'w2', 0, { level: 5 });
  sub(b, 1, { topic: `$share/${otherGroup ? 'other' : 'pool'}/jobs/#`, qos: 1 }, 1, 0.01, 5);
  login(b, 2, 'boss', 0, { level: 5 });
  b.c(2, publish({ level: 5, topic: 'jobs/resize', qos: 1, packetId: 1, payload: 'job 17: resize' }), 1);
  b.s(0, publish({ level: 5, topic: 'jobs/resize', qos: 1, packetId: 1, payload: 'job 17: resize' }), 1.001);
  if (firstGone) b.end(0, 1.5, 'rst', 'c2s');
  b.s(1, publish({ level: 5, topic: 'jobs/resize', qos: 1, packetId: 1, payload: 'job 17: resize' }), 2);
  b.finish(3);
  return b;
}

/**
 * `connections` connections of ClientId `sensor`, one a second, alternately from 10.0.0.7 and 10.0.0.8 (or, with
 * `oneAddress`, all from 10.0.0.7); each takes the session over and the broker closes the older one 10 ms later: the
 * takeover-loop scenario of the sessions tests and of the rules catalogue's cases.
 */
export function takeoverLoopScenario(connections: number, oneAddress = false, level: Level = 4): Broker {
  const b = new Broker();
  for (let i = 0; i < connections; i++) {
    b.from(i, oneAddress || i % 2 === 0 ? '10.0.0.7' : '10.0.0.8');
    login(b, i, 'sensor', i, { level });
    if (i > 0) b.end(i - 1, i + 0.01, 'fin', 's2c');
  }
  b.finish(connections + 1);
  return b;
}

/**
 * A QoS 0 message on `plant/0/boot` from connection `from` at `t`, delivered to connection `to` 1 ms later: the
 * capture then shows the broker forwarding, which messages need before they are owed to anyone.
 */
export function forwarded(b: Broker, from: number, to: number, t: number, level: Level = 4): void {
  b.c(from, publish({ level, topic: 'plant/0/boot', payload: 'first reading' }), t);
  b.s(to, publish({ level, topic: 'plant/0/boot', payload: 'first reading' }), t + 0.001);
}

export interface OwedOpts {
  level?: Level;
  /** The broker forwards the message to the subscriber (1 ms after the PUBLISH). */
  delivered?: boolean;
  /** When the subscriber's connection ends (FIN by the client); 20 s by default. */
  endAt?: number;
  /** 5.0: the broker refuses the PUBLISH (PUBACK 0x87, not authorized). */
  refused?: boolean;
  /** The subscriber unsubscribes at 2 s. */
  unsubscribe?: boolean;
}

/**
 * A subscriber of `plant/#` (QoS 1) gets a first message at 0.5 s (forwarded()) and stays connected while a publisher
 * sends a QoS 1 message at 1 s, PUBACKed; the
 * publisher pings at 12 s (past MISSING_GRACE_SEC): the missing-delivery scenario of the sessions tests and of the
 * rules catalogue's cases. The subscriber's close record is where a finding goes.
 */
export function owedScenario(o: OwedOpts = {}): Broker {
  const level = o.level ?? 4;
  const b = new Broker();
  login(b, 0, 'sub', 0, { level });
  sub(b, 0, { topic: 'plant/#', qos: 1 }, 1, 0.01, level);
  login(b, 1, 'pub', 0, { level });
  forwarded(b, 1, 0, 0.5, level);
  b.c(1, publish({ level, topic: 'plant/7/temp', qos: 1, packetId: 4, payload: 'reading 21.5' }), 1);
  b.s(1, ack('PUBACK', { level, packetId: 4, ...(o.refused === true ? { reasonCode: 0x87 } : {}) }), 1.001);
  if (o.delivered === true) {
    b.s(0, publish({ level, topic: 'plant/7/temp', qos: 1, packetId: 2, payload: 'reading 21.5' }), 1.002);
    b.c(0, ack('PUBACK', { level, packetId: 2 }), 1.003);
  }
  if (o.unsubscribe === true) {
    b.c(0, unsubscribe({ level, packetId: 3, topics: ['plant/#'] }), 2);
    b.s(0, unsuback({ level, packetId: 3 }), 2.001);
  }
  const endAt = o.endAt ?? 20;
  if (endAt < 12) b.end(0, endAt);
  b.c(1, pingreq(), 12);
  b.s(1, pingresp(), 12.001);
  if (endAt >= 12) b.end(0, endAt);
  b.finish(30);
  return b;
}
