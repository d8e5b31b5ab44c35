/**
 * The rules stage: turns decoder problems and session state into violations that cite the spec, then passes every
 * record on. Single-packet checks live in packet-checks.ts, the per-connection state machine in session.ts and the
 * rule catalogue in catalogue.ts.
 */
import type { PacketRecord, PacketSink, Violation } from '../mqtt/connection-decoder.js';
import type { MqttPacket } from '../mqtt/packets.js';
import type { Connection, ConnectionEnd, Direction, StreamEvent, TransportFinding } from '../tcp/types.js';
import type { ClosedConnection } from './close.js';
import { checkPacket } from './packet-checks.js';
import { newCounters, packetClass, type RuleCounters } from './coverage.js';
import { ConnSession } from './session.js';
import { ATTACHED_TO_FIRST_PACKET, transportViolation } from './transport-findings.js';

/** Transport events after which some of a direction's bytes are unknown. */
const LOSSY_EVENTS: ReadonlySet<string> = new Set(['gap', 'truncated', 'damaged', 'resync', 'oversize', 'buffer-overflow', 'not-mqtt', 'http', 'tls-error', 'websocket-lost']);

export interface RuleEngineOptions {
  /** Per-connection checks (sequence, packet ids, keep alive, negotiated limits). Default true. */
  session?: boolean;
}

export class RuleEngine implements PacketSink {
  private readonly next: PacketSink;
  private readonly session: boolean;
  private readonly sessions = new Map<number, ConnSession>();
  /** Transport findings waiting for the first packet of a direction (see ATTACHED_TO_FIRST_PACKET), per connection. */
  private readonly waiting = new Map<number, { dir: Direction; finding: TransportFinding }[]>();
  /**
   * How often the checks ran, by packet class (src/rules/coverage.ts turns it into a count per rule): one typed-array
   * increment per packet, no lookup, no allocation.
   */
  readonly counters: RuleCounters = newCounters();

  constructor(next: PacketSink, opts: RuleEngineOptions = {}) {
    this.next = next;
    this.session = opts.session !== false;
  }

  open(conn: Connection): void {
    if (conn.tls) this.counters.tlsConnections++;
    if (this.session) this.sessions.set(conn.id, new ConnSession(conn));
    this.next.open(conn);
  }

  packet(rec: PacketRecord): void {
    const t = rec.conn.transport;
    this.counters.classes[packetClass(rec.decoded.level, t !== undefined && t[t.length - 1] === 'websocket', rec.decoded.type)]!++;
    checkPacket(rec.bytes, rec.decoded, rec.dir, rec.violations);
    if (this.waiting.size > 0) this.attachWaiting(rec);
    if (this.session) {
      let s = this.sessions.get(rec.conn.id);
      if (!s) {
        // A packet for a connection that was never opened (a sink feeding us directly): start its state now.
        s = new ConnSession(rec.conn);
        this.sessions.set(rec.conn.id, s);
      }
      s.packet(rec);
      if (s.limitReached !== null) {
        this.next.packet(rec);
        const l = s.limitReached;
        s.limitReached = null;
        this.next.event({ event: 'limit', frame: rec.frame, conn: rec.conn.id, dir: l.dir, message: l.message });
        return;
      }
    }
    this.next.packet(rec);
  }

  event(ev: StreamEvent & { violations?: Violation[] }): void {
    if (ev.findings !== undefined) this.transportFindings(ev, ev.conn, ev.findings);
    if (ev.malformed !== undefined && this.session && ev.conn !== null && ev.dir !== null) {
      const v = this.sessions.get(ev.conn)?.malformedFraming(ev.dir, ev.message);
      if (v) ev.violations = [...(ev.violations ?? []), v];
    }
    if (this.session && ev.conn !== null && ev.dir !== null && LOSSY_EVENTS.has(ev.event)) this.sessions.get(ev.conn)?.bytesLost(ev.dir);
    this.next.event(ev);
  }

  /** Transport findings become violations on the event, or wait for the packet whose version decides them. */
  private transportFindings(ev: StreamEvent & { violations?: Violation[] }, conn: number | null, findings: readonly TransportFinding[]): void {
    const level = (conn === null ? undefined : this.sessions.get(conn)?.protocolLevel) ?? 4;
    const now: Violation[] = [];
    for (const f of findings) {
      const dir = ATTACHED_TO_FIRST_PACKET[f.code];
      if (dir !== undefined && conn !== null) {
        let list = this.waiting.get(conn);
        if (list === undefined) {
          list = [];
          this.waiting.set(conn, list);
        }
        list.push({ dir, finding: f });
        continue;
      }
      const v = transportViolation(f, level);
      if (v !== null) now.push(v);
    }
    if (now.length > 0) ev.violations = [...(ev.violations ?? []), ...now];
  }

  private attachWaiting(rec: PacketRecord): void {
    const list = this.waiting.get(rec.conn.id);
    if (list === undefined) return;
    const keep = list.filter((w) => {
      if (w.dir !== rec.dir) return true;
      const v = transportViolation(w.finding, rec.decoded.level);
      if (v !== null) rec.violations.push(v);
      return false;
    });
    if (keep.length > 0) this.waiting.set(rec.conn.id, keep);
    else this.waiting.delete(rec.conn.id);
  }

  close(conn: Connection, end: ConnectionEnd): void {
    this.waiting.delete(conn.id);
    const frame = end.frame;
    const s = this.sessions.get(conn.id);
    let closed: ClosedConnection = end;
    if (s) {
      this.sessions.delete(conn.id);
      const violations = s.closeFindings(end);
      closed = { ...end, session: s.endFacts(end), ...(violations.length > 0 ? { violations } : {}) };
      for (const g of s.incompleteFlows(end)) {
        const who = g.dir === 'c2s' ? 'client' : 'server';
        const listed = g.violations.length < g.total ? ` (first ${g.violations.length} listed)` : '';
        this.next.event({
          event: 'incomplete-flow',
          frame,
          conn: conn.id,
          dir: g.dir,
          message: `${g.total} exchange${g.total === 1 ? '' : 's'} the ${who} never completed before the connection ended${listed}`,
          violations: g.violations,
        });
      }
    }
    this.next.close(conn, closed);
  }
}

/** Packet-level findings for one packet with no connection around it (explain). */
export function checkPacketAlone(bytes: Uint8Array, decoded: MqttPacket, dir: 'c2s' | 's2c' | null): Violation[] {
  const out: Violation[] = [];
  checkPacket(bytes, decoded, dir, out);
  return out;
}
