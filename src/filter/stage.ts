/**
 * The filter stage (`-Y`, `-c N`): after every check ran (rules, dialects), before what shows records (renderers,
 * summary). It passes on the packets, events and closes the filter matches, and keeps what the connection-level
 * fields need: each open connection's Client Identifier, User Name and version from its CONNECT. A filter never
 * changes what is found (the --fail-on count sits before it), only what is shown. With a packet limit (-c N) it
 * passes nothing after the Nth packet it showed, and says so once through `onLimit` (reading then stops).
 */
import type { PacketRecord, PacketSink, Violation } from '../mqtt/connection-decoder.js';
import { CONNACK, CONNECT } from '../mqtt/tables.js';
import type { TraceSink } from '../sessions/records.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import type { CompiledFilter } from './compile.js';
import { Subject, type ConnFacts } from './fields.js';

/**
 * What the connection-level fields read: each open connection's Client Identifier, User Name and version from its
 * CONNECT (in 5.0 the Assigned Client Identifier when the client sent none). Bounded like the reassembler's table:
 * an entry lives from open() to close().
 */
export class ConnFactsTable {
  private readonly facts = new Map<number, ConnFacts>();

  get size(): number {
    return this.facts.size;
  }

  open(conn: Connection): void {
    this.facts.set(conn.id, { conn, clientId: undefined, username: undefined, level: undefined });
  }

  /** The facts the packet's records are read with, updated by the packet itself (a CONNECT, a CONNACK). */
  packet(rec: PacketRecord): ConnFacts {
    const facts = this.of(rec.conn);
    const d = rec.decoded;
    if (d.type === CONNECT && rec.dir === 'c2s') {
      facts.clientId = d.clientId;
      facts.username = d.username;
      facts.level = d.level;
    } else if (d.type === CONNACK && facts.clientId === '' && d.properties?.assignedClientIdentifier !== undefined) {
      // 5.0: the server named a client that connected without an identifier.
      facts.clientId = d.properties.assignedClientIdentifier;
    }
    return facts;
  }

  get(connId: number): ConnFacts | null {
    return this.facts.get(connId) ?? null;
  }

  of(conn: Connection): ConnFacts {
    let f = this.facts.get(conn.id);
    if (f === undefined) {
      // A record of a connection never opened (a sink fed directly): start its facts now.
      f = { conn, clientId: undefined, username: undefined, level: undefined };
      this.facts.set(conn.id, f);
    }
    return f;
  }

  close(conn: Connection): void {
    this.facts.delete(conn.id);
  }
}

/**
 * Asks `test` about a packet, read with its connection's facts (which the packet itself updates first: a CONNECT, a
 * CONNACK). One place for the filter stage and trace -Y; `s` is the caller's reused subject.
 */
export function testPacket(test: CompiledFilter['test'], facts: ConnFactsTable, s: Subject, rec: PacketRecord): boolean {
  const f = facts.packet(rec);
  s.kind = 'packet';
  s.rec = rec;
  s.ev = null;
  s.end = null;
  s.facts = f;
  const ok = test(s);
  s.rec = null;
  s.facts = null;
  return ok;
}

export class FilterStage implements TraceSink {
  private readonly next: PacketSink;
  private readonly test: CompiledFilter['test'];
  /**
   * A close the filter does not show still reaches what keeps per-connection state downstream (the renderer forgets
   * the connection, the summary notes how it ended), without being shown.
   */
  private readonly forget: (conn: Connection, end: ConnectionEnd) => void;
  /** A packet the filter does not show, for what downstream keeps per connection from it (the text view's client id). */
  private readonly unshown: (rec: PacketRecord) => void;
  private readonly facts = new ConnFactsTable();
  private readonly subject = new Subject();
  /** Records shown and not shown; packets shown (what --count prints and -c counts). */
  shown = 0;
  hidden = 0;
  packets = 0;
  private readonly limit: number;
  private readonly onLimit: () => void;

  /** `filter` null: every record matches (a packet limit alone). `limit`: packets to show at most (-c). */
  constructor(filter: CompiledFilter | null, next: PacketSink, forget: (conn: Connection, end: ConnectionEnd) => void, limit = Infinity, onLimit: () => void = () => {}, unshown: (rec: PacketRecord) => void = () => {}) {
    this.test = filter?.test ?? (() => true);
    this.next = next;
    this.forget = forget;
    this.unshown = unshown;
    this.limit = limit;
    this.onLimit = onLimit;
  }

  /** The packet limit was reached: nothing more is shown. */
  get full(): boolean {
    return this.packets >= this.limit;
  }

  /** Connections whose facts are kept (for tests: released at close). */
  get openConnections(): number {
    return this.facts.size;
  }

  /**
   * The sessions stage's message and session records are about no one packet the filter could select: with -Y, -c or
   * --count they are not shown.
   */
  traced(): void {}

  open(conn: Connection): void {
    this.facts.open(conn);
    this.next.open(conn);
  }

  packet(rec: PacketRecord): void {
    let ok = false;
    if (this.full) this.facts.packet(rec);
    else ok = testPacket(this.test, this.facts, this.subject, rec);
    if (ok) {
      this.shown++;
      this.packets++;
      this.next.packet(rec);
      if (this.full) this.onLimit();
    } else {
      this.hidden++;
      this.unshown(rec);
    }
  }

  event(ev: StreamEvent & { violations?: Violation[] }): void {
    const s = this.subject;
    s.kind = 'event';
    s.rec = null;
    s.ev = ev;
    s.end = null;
    s.facts = ev.conn !== null ? this.facts.get(ev.conn) : null;
    const ok = !this.full && this.test(s);
    s.ev = null;
    if (ok) {
      this.shown++;
      this.next.event(ev);
    } else {
      this.hidden++;
    }
  }

  close(conn: Connection, end: ConnectionEnd): void {
    const s = this.subject;
    s.kind = 'close';
    s.rec = null;
    s.ev = null;
    s.end = end;
    s.facts = this.facts.of(conn);
    const ok = !this.full && this.test(s);
    s.end = null;
    s.facts = null;
    this.facts.close(conn);
    if (ok) {
      this.shown++;
      this.next.close(conn, end);
    } else {
      this.hidden++;
      this.forget(conn, end);
    }
  }
}
