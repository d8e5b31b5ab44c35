/**
 * Captures for the statistics tests: TCP conversations scripted with TcpSession, every frame at a capture time the
 * test chooses, and a log of each MQTT packet sent (time, frame, connection, direction, type, bytes) from which a test
 * computes the figures it expects on its own.
 */
import { writePcap, type FrameSpec } from './capture-writer.js';
import { LINK, TcpSession } from './frames.js';

export const T0 = 1_700_000_000;

export interface Sent {
  t: number;
  frame: number;
  conn: number;
  dir: 'c2s' | 's2c';
  type: number;
  bytes: Uint8Array;
}

export class StatsCapture {
  readonly frames: FrameSpec[] = [];
  readonly sent: Sent[] = [];
  private readonly sessions: TcpSession[] = [];

  /** A new connection (numbered in order, as the pipeline numbers them once it sees its SYN), its handshake at `t`. */
  conn(client: string, t: number, server = '10.0.0.100:1883'): number {
    const s = new TcpSession(client, server);
    this.sessions.push(s);
    this.push(t, s.handshake());
    return this.sessions.length - 1;
  }

  c(conn: number, t: number, packet: Uint8Array): number { return this.send(conn, 'c2s', t, packet); }
  s(conn: number, t: number, packet: Uint8Array): number { return this.send(conn, 's2c', t, packet); }

  /** Orderly close (FIN from the client first) at `t`. */
  close(conn: number, t: number): void {
    this.push(t, this.sessions[conn]!.close('client'));
  }

  /** A RST from `from` at `t`. */
  reset(conn: number, t: number, from: 'client' | 'server' = 'client'): void {
    this.push(t, [this.sessions[conn]!.rst(from)]);
  }

  /** An orderly close that the server starts (its FIN first). */
  closeByServer(conn: number, t: number): void {
    this.push(t, this.sessions[conn]!.close('server'));
  }

  pcap(): Uint8Array {
    return writePcap(this.frames, { linkType: LINK.RAW });
  }

  private send(conn: number, dir: 'c2s' | 's2c', t: number, packet: Uint8Array): number {
    const s = this.sessions[conn]!;
    const frames = dir === 'c2s' ? s.c2s(packet) : s.s2c(packet);
    if (frames.length !== 1) throw new Error('one packet, one segment');
    this.push(t, frames);
    const frame = this.frames.length;
    this.sent.push({ t, frame, conn, dir, type: packet[0]! >> 4, bytes: packet });
    return frame;
  }

  private push(t: number, frames: Uint8Array[]): void {
    const sec = Math.floor(t);
    for (const data of frames) this.frames.push({ timeSec: T0 + sec, timeNsec: Math.round((t - sec) * 1e9), data });
  }
}

/** Nearest-rank percentile of a list, computed directly. */
export function nearestRank(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]!;
}
