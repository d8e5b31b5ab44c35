/**
 * tshark's `tcp.stream` numbers, so a connection can be handed to Wireshark (`tcp.stream eq N`).
 *
 * tshark numbers every TCP conversation of the capture, on any port, from 0 in order of first appearance. What
 * makes a new conversation was measured against TShark 4.0 on crafted captures (test/tcp-streams.test.ts holds
 * each case):
 *  - the first segment of a 4-tuple not seen before, whatever its flags (a bare ACK or a RST counts);
 *  - a SYN without ACK whose sequence number differs from the "base" of its sender's direction, when that base is
 *    known; the base is the sequence number of the direction's first segment (minus 1 unless it was a SYN), or,
 *    before the direction sent anything, the other side's first acknowledgement number minus 1. No close is needed:
 *    a new SYN with a new ISN starts a new stream even on an open connection; the same ISN is a retransmission;
 *  - nothing else (a SYN+ACK never does, and neither does a SYN from a side whose base is not known yet).
 *
 * The table that remembers conversations is bounded: tshark never forgets one, and a conversation we forgot that
 * comes back (a stray ACK after years of other traffic) would get a new number and shift every later one. So past
 * MAX_CONVERSATIONS the numbering stops instead of guessing: the table is released, and connections opened from
 * then on have no number (null).
 */
import { TCP_ACK, TCP_SYN, type TcpSegment } from '../net/types.js';

/** Conversations remembered for numbering (about 150 bytes each). */
export const MAX_CONVERSATIONS = 1 << 17;

/** One conversation as tshark counts it. Side A is the lower port (the smaller address on equal ports). */
export class Conversation {
  /** Bit 1: baseA is known; bit 2: baseB is known. */
  known = 0;
  baseA = 0;
  baseB = 0;
  constructor(readonly stream: number) {}
}

/** Conversations of one port pair sharing it, by the address on side A, then the address on side B. */
type Group = Map<string, Map<string, Conversation>>;

interface Alone {
  ipA: string;
  ipB: string;
  conv: Conversation;
}

export class StreamNumbers {
  /** Port pairs with one conversation so far, by port pair (a number key: no string is built per segment). */
  private readonly alone = new Map<number, Alone>();
  /** Port pairs that several address pairs share. */
  private readonly groups = new Map<number, Group>();
  private size = 0;
  private next = 0;
  /** The bound was reached at this frame: no numbers from then on. */
  overflowFrame: number | null = null;

  /**
   * The conversation of a segment (a new one when the segment starts one), its bases updated; null once the table
   * overflowed. `portKey` is the reassembler's (lower port x 65536 + higher port).
   */
  see(seg: TcpSegment, portKey: number): Conversation | null {
    if (this.overflowFrame !== null) return null;
    const sp = seg.srcPort;
    const dp = seg.dstPort;
    const srcA = sp < dp || (sp === dp && seg.srcIp <= seg.dstIp);
    const ipA = srcA ? seg.srcIp : seg.dstIp;
    const ipB = srcA ? seg.dstIp : seg.srcIp;
    let c: Conversation | undefined;
    const one = this.alone.get(portKey);
    if (one !== undefined) {
      if (one.ipA === ipA && one.ipB === ipB) c = one.conv;
    } else if (this.groups.size > 0) {
      c = this.groups.get(portKey)?.get(ipA)?.get(ipB);
    }
    if (c === undefined) {
      if (this.size >= MAX_CONVERSATIONS) {
        this.overflowFrame = seg.frame;
        this.alone.clear();
        this.groups.clear();
        return null;
      }
      c = new Conversation(this.next++);
      this.size++;
      this.put(portKey, ipA, ipB, c, one);
    } else if ((seg.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && (c.known & (srcA ? 1 : 2)) !== 0 && seg.seq !== (srcA ? c.baseA : c.baseB)) {
      // Replaced in place: the old conversation keeps its number for the connections that hold it.
      c = new Conversation(this.next++);
      this.put(portKey, ipA, ipB, c, one);
    }
    if (c.known !== 3) note(c, seg, srcA);
    return c;
  }

  private put(portKey: number, ipA: string, ipB: string, c: Conversation, one: Alone | undefined): void {
    if (one !== undefined && one.ipA === ipA && one.ipB === ipB) {
      one.conv = c;
      return;
    }
    let g = this.groups.get(portKey);
    if (g === undefined) {
      if (one === undefined) {
        this.alone.set(portKey, { ipA, ipB, conv: c });
        return;
      }
      // A second address pair on this port pair: both move to a group.
      this.alone.delete(portKey);
      g = new Map();
      this.groups.set(portKey, g);
      groupSet(g, one.ipA, one.ipB, one.conv);
    }
    groupSet(g, ipA, ipB, c);
  }
}

/**
 * A segment of a conversation whose bases are not both known yet. Cheap enough for every segment of a connection
 * until both are (usually its first two segments); `srcA` says which side sent it.
 */
export function note(c: Conversation, seg: TcpSegment, srcA: boolean): void {
  const fwd = srcA ? 1 : 2;
  if ((c.known & fwd) === 0) {
    const base = (seg.flags & TCP_SYN) !== 0 ? seg.seq : (seg.seq - 1) >>> 0;
    if (srcA) c.baseA = base;
    else c.baseB = base;
    c.known |= fwd;
  }
  const rev = 3 - fwd;
  if ((seg.flags & TCP_ACK) !== 0 && (c.known & rev) === 0) {
    const base = (seg.ack - 1) >>> 0;
    if (srcA) c.baseB = base;
    else c.baseA = base;
    c.known |= rev;
  }
}

function groupSet(g: Group, ipA: string, ipB: string, c: Conversation): void {
  let inner = g.get(ipA);
  if (inner === undefined) {
    inner = new Map();
    g.set(ipA, inner);
  }
  inner.set(ipB, c);
}
