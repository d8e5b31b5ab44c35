/**
 * The Will audit of the sessions stage: for each accepted CONNECT with a Will, whether the broker had to publish it
 * when the connection ended, and whether the capture shows it did (an s2c PUBLISH of the Will Topic with the Will
 * Payload's hash, on a subscriber's connection, after the close: within WILL_WINDOW_SEC of the moment it was due).
 *
 * Due (3.1.1 MQTT-3.1.2-8, 5.0 MQTT-3.1.2-8): the connection closed without the client's DISCONNECT (5.0: without a
 * DISCONNECT 0x00; 0x04 asks for the Will), which covers a kill, a RST, a keep-alive expiry and a server DISCONNECT. Not
 * due after the client's normal DISCONNECT (MQTT-3.14.4-3), nor (5.0) when the session reconnected before the Will Delay
 * Interval passed (MQTT-3.1.3-9). 5.0 publishes it once the Will Delay passes or the session ends, whichever is first.
 * A takeover is judged only in 5.0 and only where the statements decide it: a new Clean Start 1 connection (or an old
 * Session Expiry 0) ends the session, so the Will is due; a resumed session with a Will Delay cancels it.
 *
 * The close record of a connection with a Will waits here until that is decided (WILL_WINDOW_SEC after it was due, or
 * the end of the capture), then goes on with `will` set and the findings on it. A missing Will is reported only when a
 * subscriber of the Will Topic, whose subscriptions the capture shows whole, was connected when it was due.
 */
import type { PacketRecord, Violation } from '../mqtt/connection-decoder.js';
import type { ConnectPacket } from '../mqtt/packets.js';
import type { ProtocolLevel } from '../mqtt/types.js';
import { violation } from '../rules/catalogue.js';
import { sessionEnd, type ClosedConnection } from '../rules/close.js';
import type { Connection, ConnectionEnd } from '../tcp/types.js';
import { W } from './findings.js';
import { fnv1a } from './hash.js';
import type { SessionsClose, WillDelivery, WillOutcome } from './records.js';

/** Seconds after a Will was due within which its PUBLISH is looked for (a broker publishes it at once). */
export const WILL_WINDOW_SEC = 5;
/** A Will PUBLISH may come just before the capture shows the close (the server closed it and published first). */
const EARLY_SEC = 1;
/** 5.0: a Will published this much before its Will Delay passed is early (broker timers have about 1 s steps). */
const DELAY_SLACK_SEC = 1;
/** Close records held at once; past it the oldest is decided early (with what the capture showed so far). */
export const MAX_HELD_WILLS = 4_096;
/** Wills with one topic looked at per delivery (many connections may share one Will Topic and payload). */
const MAX_SCAN = 64;
/** Will deliveries listed per close record (all count for the outcome). */
const MAX_WILL_DELIVERIES = 64;
/** 5.0 Session Expiry Interval 0xFFFFFFFF: the session does not expire. */
const NEVER = 0xffffffff;

/** Why a Will was, or was not, due. */
type Reason = 'abnormal' | 'disconnect' | 'disconnect-will' | 'takeover-ends-session' | 'reconnected' | 'not-accepted' | 'undecided';

interface Entry {
  conn: Connection;
  level: ProtocolLevel;
  topic: string;
  hash: number;
  length: number;
  delaySec: number;
  accepted: boolean;
  /** The other entries with the same Will Topic (a list per topic, newest first, unlinked in O(1)). */
  next: Entry | null;
  prev: Entry | null;
  closed: boolean;
  end: SessionsClose | null;
  closeT: number;
  /** When it was due (the close, or 5.0 the close plus the Will Delay, capped by the Session Expiry). */
  fireAt: number;
  deadline: number;
  due: boolean | null;
  reason: Reason;
  /** The session outlived the Will Delay (5.0), so a Will before it passed is early. */
  delayBinds: boolean;
  clientId: string | null;
  deliveries: Seen[] | null;
  seen: number;
  firstT: number;
}

/** What the stage knows of the connection when it ends. */
export interface WillClose {
  conn: Connection;
  level: ProtocolLevel;
  clientId: string | null;
  /** The CONNECT was seen (else the record's `will` is null). */
  connectSeen: boolean;
  /** Session Expiry Interval in force at the close (5.0; NEVER for 3.x Clean Session 0). */
  expirySec: number;
  /** The connection was taken over, and whether the new connection started clean. */
  takeover: { conn: number; frame: number; clean: boolean | null } | null;
}

export interface WillHost {
  /**
   * A connection open now whose subscriptions (known whole, granted before `since`) take a PUBLISH to `topic`, named
   * (`"ClientId" (connection N)`); null when there is none, or the search's budget is spent.
   */
  observers(topic: string, since: number, notConn: number): string | null;
  emit(conn: Connection, end: ConnectionEnd): void;
  /** A cap was reached (said once). */
  limit(message: string): void;
}

/** A Will delivery as seen, with its capture time (the record has the time from the close instead). */
type Seen = WillDelivery & { t: number };

function seconds(end: ConnectionEnd): number {
  return end.timeSec + end.timeNsec / 1e9;
}

export class Wills {
  private readonly host: WillHost;
  private readonly byConn = new Map<number, Entry>();
  /** Wills by Will Topic (open connections with a Will, and held closes), newest first. */
  private readonly byTopic = new Map<string, Entry>();
  /** Held closes, by deadline (kept sorted: most arrive in order, a 5.0 Will Delay moves one later). */
  private held: Entry[] = [];
  /** 5.0 held closes whose Will waits for its Will Delay, by ClientId: what a reconnect cancels. */
  private readonly delayed = new Map<string, Entry>();
  private nextDeadline = Infinity;
  private lastT = -Infinity;
  private limitSaid = false;

  constructor(host: WillHost) {
    this.host = host;
  }

  /** Wills indexed (open connections with a Will, and held closes): 0 means deliveries need not look here. */
  get size(): number {
    return this.byTopic.size;
  }

  /** A CONNECT: its Will, if it has one, is indexed by payload hash. */
  connect(rec: PacketRecord, d: ConnectPacket): void {
    this.drop(rec.conn.id);
    if (d.willFlag !== true || d.willTopic === undefined || d.willPayload === undefined) return;
    const wp = d.willPayload;
    const e: Entry = {
      conn: rec.conn, level: d.level, topic: d.willTopic, hash: fnv1a(rec.bytes, wp.start, wp.end), length: wp.end - wp.start,
      delaySec: d.level === 5 ? d.willProperties?.willDelayInterval ?? 0 : 0, accepted: false, next: null, prev: null, closed: false,
      end: null, closeT: 0, fireAt: 0, deadline: 0, due: null, reason: 'undecided', delayBinds: false, clientId: null,
      deliveries: null, seen: 0, firstT: Infinity,
    };
    this.byConn.set(rec.conn.id, e);
    const head = this.byTopic.get(e.topic);
    if (head !== undefined) {
      e.next = head;
      head.prev = e;
    }
    this.byTopic.set(e.topic, e);
  }

  /** The CONNACK accepted the connection; a new connection of the session cancels a Will waiting for its Will Delay. */
  accepted(conn: number, clientId: string | null, resumed: boolean, t: number): void {
    const e = this.byConn.get(conn);
    if (e !== undefined) {
      e.accepted = true;
      e.clientId = clientId;
    }
    if (clientId === null || this.delayed.size === 0) return;
    const h = this.delayed.get(clientId);
    // MQTT-3.1.3-9: a new connection to the session before the Will Delay Interval passed; the Will is not sent.
    if (h !== undefined && h.due === true && t < h.fireAt && resumed) {
      h.due = false;
      h.reason = 'reconnected';
      this.delayed.delete(clientId);
    }
  }

  /** The time of each packet while closes are held (cheap: one comparison when none is due). */
  tick(t: number): void {
    if (t > this.lastT) this.lastT = t;
    if (t < this.nextDeadline) return;
    let n = 0;
    while (n < this.held.length && this.held[n]!.deadline <= t) n++;
    const due = this.held.splice(0, n);
    this.nextDeadline = this.held[0]?.deadline ?? Infinity;
    for (const h of due) this.resolve(h);
  }

  get holding(): boolean {
    return this.held.length > 0;
  }

  /**
   * An s2c PUBLISH that matched no indexed message: a Will when its topic and payload are one's (a held close whose Will
   * was due first, then any held one, then an open connection's, just before its close shows). True when it was.
   */
  delivery(rec: PacketRecord, clientId: string | null, qos: number, topic: string, hash: number, length: number, t: number): boolean {
    let best: Entry | null = null;
    let rank = 0;
    let scanned = 0;
    for (let e = this.byTopic.get(topic) ?? null; e !== null && scanned < MAX_SCAN; e = e.next, scanned++) {
      if (e.hash !== hash || e.length !== length || e.conn.id === rec.conn.id) continue;
      const r = e.closed ? (e.due === true && t >= e.fireAt - DELAY_SLACK_SEC ? 3 : 2) : e.accepted ? 1 : 0;
      if (r > rank || (r === rank && best !== null && e.closed && e.closeT < best.closeT)) {
        best = e;
        rank = r;
      }
    }
    if (best === null || rank === 0) return false;
    best.seen++;
    if (t < best.firstT) best.firstT = t;
    if ((best.deliveries?.length ?? 0) < MAX_WILL_DELIVERIES) {
      (best.deliveries ??= []).push({ conn: rec.conn.id, frame: rec.frame, clientId, qos, afterCloseMs: null, t });
    }
    return true;
  }

  /**
   * A connection ended: its close record with `will` (and `takeover`) set goes on at once, or (a Will to decide) is held.
   */
  close(c: WillClose, end: ClosedConnection): void {
    const e = this.byConn.get(c.conn.id);
    const tk = c.takeover === null ? null : { conn: c.takeover.conn, frame: c.takeover.frame };
    const base: SessionsClose = { ...end, takeover: tk, will: c.connectSeen ? 'none' : null, willDeliveries: [] };
    if (e === undefined) {
      this.host.emit(c.conn, base);
      return;
    }
    this.byConn.delete(c.conn.id);
    e.closed = true;
    e.end = base;
    e.closeT = seconds(end);
    e.clientId = c.clientId ?? e.clientId;
    if (end.cause === 'capture-end' || end.cause === 'evicted') {
      // Still open when the capture ended (or dropped from memory): nothing was due yet.
      this.finishEntry(e, 'open', []);
      return;
    }
    const facts = sessionEnd(end);
    if (!e.accepted) {
      e.due = false;
      e.reason = 'not-accepted';
    } else if (c.takeover !== null) {
      // Taken over: 3.1.1 does not say; 5.0 decides it when the session ends, or is resumed within a Will Delay.
      const endsSession = c.takeover.clean === true || c.expirySec === 0;
      if (c.level !== 5 || c.takeover.clean === null) e.reason = 'undecided';
      else if (endsSession) { e.due = true; e.reason = 'takeover-ends-session'; }
      else if (e.delaySec > 0) { e.due = false; e.reason = 'reconnected'; }
      else e.reason = 'undecided';
    } else if (facts?.willDue === true) {
      e.due = true;
      e.reason = facts.disconnect?.dir === 'c2s' ? 'disconnect-will' : 'abnormal';
    } else if (facts?.willDue === false) {
      e.due = false;
      e.reason = 'disconnect';
    }
    const delay = c.level === 5 ? Math.min(e.delaySec, c.expirySec) : 0;
    e.delayBinds = c.level === 5 && e.delaySec > 0 && (c.expirySec === NEVER || c.expirySec > e.delaySec + DELAY_SLACK_SEC);
    e.fireAt = e.closeT + (e.due === true ? delay : 0);
    e.deadline = e.fireAt + WILL_WINDOW_SEC;
    // Deliveries seen before the close (the server published, then closed) count only just before it.
    if (e.deliveries !== null) {
      e.deliveries = e.deliveries.filter((x) => x.t >= e.closeT - EARLY_SEC);
      e.seen = e.deliveries.length;
      e.firstT = e.deliveries.reduce((m, x) => Math.min(m, x.t), Infinity);
    }
    if (e.closeT > this.lastT) this.lastT = e.closeT;
    if (e.level === 5 && e.due === true && e.fireAt > e.closeT && e.clientId !== null) this.delayed.set(e.clientId, e);
    if (this.held.length >= MAX_HELD_WILLS) {
      if (!this.limitSaid) {
        this.limitSaid = true;
        this.host.limit(`${MAX_HELD_WILLS} close records wait for their Wills to be decided: from here on the oldest is decided before its ${WILL_WINDOW_SEC} s window ends`);
      }
      const old = this.held.shift()!;
      this.resolve(old);
    }
    // Sorted by deadline: from the end, since closes come in capture order and most have no Will Delay.
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.deadline > e.deadline) i--;
    this.held.splice(i, 0, e);
    this.nextDeadline = this.held[0]!.deadline;
  }

  /** End of the capture: every held close goes on, decided with what the capture showed. */
  finish(): void {
    const held = this.held;
    this.held = [];
    this.delayed.clear();
    this.nextDeadline = Infinity;
    for (const h of held) this.resolve(h);
  }

  private resolve(e: Entry): void {
    const lv = e.level;
    const out: Violation[] = [];
    const who = (e.deliveries ?? []).slice(0, 4).map((x) => `${x.clientId === null ? `connection ${x.conn}` : `"${x.clientId}"`} in frame ${x.frame}`).join(', ');
    const name = `the Will of ${e.clientId === null ? `connection ${e.conn.id}` : `"${e.clientId}"`} (topic "${e.topic}")`;
    let outcome: WillOutcome;
    if (e.seen > 0) {
      if (e.due === false) {
        outcome = 'fired-not-due';
        if (e.reason === 'disconnect') {
          out.push(violation(W.notAfterDisconnect[lv === 5 ? 1 : 0], lv, `${name} was published (to ${who}) although the client ended the connection with a ${lv === 5 ? 'DISCONNECT 0x00' : 'DISCONNECT'}`));
        } else if (e.reason === 'reconnected') {
          out.push(violation(W.reconnected, lv, `${name} was published (to ${who}) although the session was resumed by a new connection before its Will Delay Interval of ${e.delaySec} s passed`));
        }
      } else {
        outcome = 'fired';
        if (e.due === true && e.delayBinds && e.firstT < e.closeT + e.delaySec - DELAY_SLACK_SEC) {
          outcome = 'fired-early';
          out.push(violation(W.due[1], lv, `${name} was published ${(e.firstT - e.closeT).toFixed(3)} s after the close (to ${who}), before its Will Delay Interval of ${e.delaySec} s passed`));
        }
      }
    } else if (this.lastT < e.deadline && e.due !== false) {
      // The capture ended (or the cap made room) before the Will's window passed. A Will the close made not due
      // (DISCONNECT 0x00) is not waiting for anything: it falls through to 'not-fired' below.
      outcome = 'pending';
    } else if (e.reason === 'reconnected') {
      outcome = 'cancelled';
    } else if (e.due !== true) {
      // Not due (or not decided) and not seen: nothing to judge, so no witness is looked for.
      outcome = 'not-fired';
    } else {
      const witness = this.host.observers(e.topic, e.fireAt, e.conn.id);
      outcome = witness === null ? 'due-unobserved' : 'should-fire-not-seen';
      if (witness !== null) {
        const why = e.reason === 'takeover-ends-session' ? 'the connection was taken over by a clean one (the session ended)'
          : e.reason === 'disconnect-will' ? 'the client disconnected with 0x04 (Disconnect with Will Message)'
            : `the connection ended without the client's ${lv === 5 ? 'DISCONNECT 0x00' : 'DISCONNECT'}`;
        out.push(violation(W.due[lv === 5 ? 1 : 0], lv, `${name} was not published within ${WILL_WINDOW_SEC} s${e.fireAt > e.closeT ? ` of its Will Delay (${(e.fireAt - e.closeT).toFixed(0)} s)` : ''} although ${why} and a subscriber in the capture (${witness}) would have received it`));
      }
    }
    if (e.clientId !== null && this.delayed.get(e.clientId) === e) this.delayed.delete(e.clientId);
    this.finishEntry(e, outcome, out);
  }

  private finishEntry(e: Entry, outcome: WillOutcome, vs: Violation[]): void {
    this.unindex(e);
    const base = e.end!;
    const ds = (e.deliveries ?? []).map(({ t, ...d }) => ({ ...d, afterCloseMs: Math.round((t - e.closeT) * 1e6) / 1e3 }));
    const rec: SessionsClose = {
      ...base, will: outcome, willDeliveries: ds,
      ...(vs.length > 0 ? { violations: [...(base.violations ?? []), ...vs] } : {}),
    };
    this.host.emit(e.conn, rec);
  }

  /** A connection's Will leaves the index (a new CONNECT on it, or its close decided). */
  private drop(conn: number): void {
    const e = this.byConn.get(conn);
    if (e === undefined) return;
    this.byConn.delete(conn);
    this.unindex(e);
  }

  private unindex(e: Entry): void {
    if (e.prev !== null) e.prev.next = e.next;
    else if (this.byTopic.get(e.topic) === e) {
      if (e.next === null) this.byTopic.delete(e.topic);
      else this.byTopic.set(e.topic, e.next);
    }
    if (e.next !== null) e.next.prev = e.prev;
    e.next = null;
    e.prev = null;
  }
}
