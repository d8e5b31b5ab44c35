/**
 * The rules stage: turns decoder problems and session state into violations that cite the spec, then passes every
 * record on. (Filled in by the conformance work; see rules/catalogue.ts.)
 */
import type { PacketRecord, PacketSink, Violation } from '../mqtt/connection-decoder.js';
import type { Connection, StreamEvent } from '../tcp/types.js';

export class RuleEngine implements PacketSink {
  private readonly next: PacketSink;

  constructor(next: PacketSink) {
    this.next = next;
  }

  open(conn: Connection): void {
    this.next.open(conn);
  }

  packet(rec: PacketRecord): void {
    this.next.packet(rec);
  }

  event(ev: StreamEvent & { violations?: Violation[] }): void {
    this.next.event(ev);
  }

  close(conn: Connection, frame: number): void {
    this.next.close(conn, frame);
  }
}

/** Packet-level findings for one packet with no connection around it (explain). */
export function checkPacketAlone(_bytes: Uint8Array, _decoded: import('../mqtt/types.js').DecodedPacket, _dir: 'c2s' | 's2c' | null): Violation[] {
  return [];
}
