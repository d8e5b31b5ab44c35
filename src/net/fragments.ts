/** Bounds on what the fragment table may hold; all three exist so a hostile capture cannot grow memory. */
export interface FragmentLimits {
  /** A datagram still incomplete this many capture-time seconds after its first fragment is dropped. */
  timeoutSec: number;
  /** Datagrams awaiting fragments at once; the oldest is dropped to make room. */
  maxDatagrams: number;
  /** Captured fragment bytes held at once, over all datagrams. */
  maxBytes: number;
}

export const DEFAULT_FRAGMENT_LIMITS: FragmentLimits = {
  timeoutSec: 30,
  maxDatagrams: 256,
  maxBytes: 4 * 1024 * 1024,
};

/** IP payloads cannot exceed this (16-bit length fields in both IPv4 and IPv6 without jumbograms). */
const MAX_DATAGRAM = 65535;

interface Part {
  off: number;
  /** End of the fragment according to its header (may exceed off + data.length when the snaplen cut it). */
  end: number;
  /** Private copy of the captured bytes: the frame buffer may be reused after decode() returns. */
  data: Uint8Array;
}

class Pending {
  parts: Part[] = [];
  /** Known once the last fragment (MF/M clear) arrived; -1 before. */
  totalLen = -1;
  bytes = 0;
  constructor(
    readonly label: string,
    readonly firstFrame: number,
    readonly firstSec: number,
    readonly nextHeader: number,
  ) {}
}

export interface Reassembled {
  /** The reassembled payload (everything after the fragment header / IPv4 header). */
  data: Uint8Array;
  /** Leading bytes of `data` that were really captured; the rest is missing because a fragment was cut. */
  captured: number;
  /** Protocol (IPv4) or next header of the fragmentable part (IPv6). */
  nextHeader: number;
}

/** Reassembles IPv4 and IPv6 fragments keyed by the caller (source, destination, id, protocol). */
export class FragmentTable {
  private readonly pending = new Map<string, Pending>();
  private bytes = 0;

  constructor(
    private readonly limits: FragmentLimits,
    private readonly report: (frame: number, message: string) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Adds one fragment; `label` names the datagram in messages. Returns the whole payload when this
   * fragment completed it.
   */
  add(
    key: string,
    label: string,
    frame: number,
    timeSec: number,
    offset: number,
    data: Uint8Array,
    claimedLen: number,
    more: boolean,
    nextHeader: number,
  ): Reassembled | null {
    const end = offset + claimedLen;
    let p = this.pending.get(key);
    if (end > MAX_DATAGRAM) {
      const what = p ? p.label : label;
      if (p) this.drop(key, p);
      this.report(frame, `${what}: fragment at offset ${offset} ends beyond ${MAX_DATAGRAM} bytes; datagram dropped`);
      return null;
    }
    if (p === undefined) {
      if (this.pending.size >= this.limits.maxDatagrams) {
        this.evictOldest(frame, `more than ${this.limits.maxDatagrams} datagrams were awaiting fragments`);
      }
      p = new Pending(label, frame, timeSec, nextHeader);
      this.pending.set(key, p);
    }

    if (!more) {
      if ((p.totalLen >= 0 && p.totalLen !== end) || p.parts.some((q) => q.end > end)) {
        this.drop(key, p);
        this.report(frame, `${p.label}: fragments disagree on the datagram length; datagram dropped`);
        return null;
      }
      p.totalLen = end;
    } else if (p.totalLen >= 0 && end > p.totalLen) {
      this.drop(key, p);
      this.report(frame, `${p.label}: fragment extends past the last fragment; datagram dropped`);
      return null;
    }

    if (data.length > this.limits.maxBytes) {
      this.drop(key, p);
      this.report(frame, `${p.label}: fragment larger than the ${this.limits.maxBytes}-byte fragment buffer; datagram dropped`);
      return null;
    }
    while (this.bytes + data.length > this.limits.maxBytes && this.pending.size > 0) {
      this.evictOldest(frame, `the fragment buffer (${this.limits.maxBytes} bytes) was full`);
    }
    if (!this.pending.has(key)) {
      // The eviction loop took this datagram too: start it afresh so the new fragment is not lost.
      p = new Pending(p.label, frame, timeSec, nextHeader);
      if (!more) p.totalLen = end;
      this.pending.set(key, p);
    }

    p.parts.push({ off: offset, end, data: data.slice() });
    p.bytes += data.length;
    this.bytes += data.length;

    if (p.totalLen < 0) return null;
    const sorted = p.parts.slice().sort((a, b) => a.off - b.off);
    let covered = 0;
    for (const q of sorted) {
      if (q.off > covered) return null;
      if (q.end > covered) covered = q.end;
    }
    if (covered < p.totalLen) return null;

    const out = new Uint8Array(p.totalLen);
    // Reverse arrival order so that where fragments overlap, the first one captured wins.
    for (let i = p.parts.length - 1; i >= 0; i--) {
      const q = p.parts[i]!;
      out.set(q.data.subarray(0, Math.min(q.data.length, p.totalLen - q.off)), q.off);
    }
    let captured = 0;
    for (const q of sorted) {
      if (q.off > captured) break;
      const capEnd = q.off + q.data.length;
      if (capEnd > captured) captured = capEnd;
    }
    this.drop(key, p);
    return { data: out, captured: Math.min(captured, p.totalLen), nextHeader: p.nextHeader };
  }

  /** Drops datagrams whose first fragment is older than the timeout. Cheap when nothing is pending. */
  expire(nowSec: number, frame: number): void {
    for (const [key, p] of this.pending) {
      // Insertion order is first-fragment order, so the first unexpired entry ends the scan.
      if (nowSec - p.firstSec <= this.limits.timeoutSec) break;
      this.drop(key, p);
      this.report(frame, `${p.label} incomplete (${p.parts.length} fragment(s) from frame ${p.firstFrame}); dropped after ${this.limits.timeoutSec} s`);
    }
  }

  /** End of capture: every datagram still waiting is reported and released. */
  flush(lastFrame: number): void {
    for (const [key, p] of this.pending) {
      this.drop(key, p);
      this.report(lastFrame, `${p.label} incomplete (${p.parts.length} fragment(s) from frame ${p.firstFrame}) at the end of the capture`);
    }
  }

  private evictOldest(frame: number, why: string): void {
    for (const [key, p] of this.pending) {
      this.drop(key, p);
      this.report(frame, `${p.label} incomplete (${p.parts.length} fragment(s) from frame ${p.firstFrame}) dropped: ${why}`);
      return;
    }
  }

  private drop(key: string, p: Pending): void {
    if (this.pending.get(key) === p) {
      this.pending.delete(key);
      this.bytes -= p.bytes;
    }
  }
}
