/**
 * The rules stage: turns decoder problems and session state into violations that cite the spec, then passes every
 * record on. Single-packet checks live in packet-checks.ts, the per-connection state machine in session.ts and the
 * rule catalogue in catalogue.ts.
 */
import type { PacketRecord, PacketSink, Violation } from '../mqtt/connection-decoder.js';
import type { MqttPacket } from '../mqtt/packets.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import type { ClosedConnection } from './close.js';
import { tlsViolation } from './catalogue-tls.js';
import { checkPacket } from './packet-checks.js';
import { ConnSession } from './session.js';

/** Transport events after which some of a direction's bytes are unknown. */
const LOSSY_EVENTS: ReadonlySet<string> = new Set(['gap', 'truncated', 'damaged', 'resync', 'oversize', 'buffer-overflow', 'not-mqtt', 'http', 'tls-error']);

export interface RuleEngineOptions {
  /** Per-connection checks (sequence, packet ids, keep alive, negotiated limits). Default true. */
  session?: boolean;
}

export class RuleEngine implements PacketSink {
  private readonly next: PacketSink;
  private readonly session: boolean;
  private readonly sessions = new Map<number, ConnSession>();

  constructor(next: PacketSink, opts: RuleEngineOptions = {}) {
    this.next = next;
    this.session = opts.session !== false;
  }

  open(conn: Connection): void {
    if (this.session) this.sessions.set(conn.id, new ConnSession(conn));
    this.next.open(conn);
  }

  packet(rec: PacketRecord): void {
    checkPacket(rec.bytes, rec.decoded, rec.dir, rec.violations);
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
    if (ev.findings !== undefined) ev.violations = [...(ev.violations ?? []), ...ev.findings.map((f) => tlsViolation(f.code, f.message))];
    if (ev.malformed !== undefined && this.session && ev.conn !== null && ev.dir !== null) {
      const v = this.sessions.get(ev.conn)?.malformedFraming(ev.dir, ev.message);
      if (v) ev.violations = [...(ev.violations ?? []), v];
    }
    if (this.session && ev.conn !== null && ev.dir !== null && LOSSY_EVENTS.has(ev.event)) this.sessions.get(ev.conn)?.bytesLost(ev.dir);
    this.next.event(ev);
  }

  close(conn: Connection, end: ConnectionEnd): void {
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
