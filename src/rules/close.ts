/**
 * How a connection ended, as the MQTT session saw it: the rules stage passes a ClosedConnection (the TCP stage's
 * ConnectionEnd plus these facts and the findings only the close can show) to close() of the stages after it.
 */
import type { Violation } from '../mqtt/connection-decoder.js';
import type { ConnectionEnd, Direction } from '../tcp/types.js';

/** The first DISCONNECT one side sent. */
export interface DisconnectSeen {
  frame: number;
  /** 5.0 only (3.x DISCONNECT has no reason code). */
  reasonCode?: number;
  reasonCodeName?: string;
  reasonString?: string;
}

export interface SessionEnd {
  /** Protocol level the connection spoke (0: no MQTT packet seen). */
  level: number;
  /** Who ended it: the sender of the first DISCONNECT, else of the RST or first FIN; null when neither side did. */
  by: Direction | null;
  /** The MQTT DISCONNECT that ended it, when there was one (the TCP close follows it). */
  disconnect: (DisconnectSeen & { dir: Direction }) | null;
  /** CONNACK return/reason code and its name; null without a CONNACK. */
  connackCode: number | null;
  connackName: string | null;
  refused: boolean;
  /** The server sent a DISCONNECT (5.0), whether or not it was the one that ended the connection. */
  serverDisconnect: boolean;
  /** Keep Alive in force (s; 0 off), and whether it came from CONNACK's Server Keep Alive; null without a CONNECT. */
  keepAlive: number | null;
  keepAliveFromServer: boolean;
  /** Seconds from the client's last packet to the close; null when no client packet was seen. */
  silenceSec: number | null;
  /** The client's silence before the close passed 1.5 x Keep Alive (the server may close from then on). */
  keepAliveExpired: boolean;
  /**
   * The client's Will was due: its CONNECT had a Will, was accepted, and the connection ended without the client's
   * normal DISCONNECT (a 5.0 DISCONNECT with reason 0x04 asks for the Will). null: no CONNECT seen.
   */
  willDue: boolean | null;
}

export interface ClosedConnection extends ConnectionEnd {
  session?: SessionEnd;
  /** Findings only the close can show (keep-alive silence up to the close). */
  violations?: Violation[];
}

/** The session facts of a close, when the rules stage added them. */
export function sessionEnd(end: ConnectionEnd): SessionEnd | undefined {
  return (end as ClosedConnection).session;
}

export function closeViolations(end: ConnectionEnd): readonly Violation[] {
  return (end as ClosedConnection).violations ?? [];
}

/** Connections that end open (capture end, eviction) may still get answers after the end of what we saw. */
export function endsOpen(end: ConnectionEnd): boolean {
  return end.cause === 'capture-end' || end.cause === 'evicted';
}

export function endSeconds(end: ConnectionEnd): number {
  return end.timeSec + end.timeNsec / 1e9;
}
