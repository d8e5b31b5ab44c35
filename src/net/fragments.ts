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

/**
 * Incomplete datagrams dropped less than this many capture seconds apart form one burst, reported in one event (as the
 * TCP stage reports connection evictions): a flood of first fragments whose rest never comes drops one datagram per
 * frame once the table is full, and one event each would be as large as the flood.
 */
export const FRAGMENT_BURST_SEC = 1;

/** Why an incomplete datagram was dropped, for the counts of a burst. */
type DropCause = 'table' | 'bytes' | 'timeout' | 'end';

interface DropBurst {
  /** The message of the burst's first drop, as it would read alone. */
  first: string;
  firstFrame: number;
  lastFrame: number;
  lastSec: number;
  count: number;
  causes: Record<DropCause, number>;
}

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
  private burst: DropBurst | null = null;

  constructor(
    private readonly limits: FragmentLimits,
    /** `count` is set on a burst's event: how many incomplete datagrams it stands for. */
    private readonly report: (frame: number, message: string, count?: number) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Something may happen on the next frame: datagrams are waiting, or a burst of drops is still unreported. */
  get busy(): boolean {
    return this.pending.size > 0 || this.burst !== null;
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
        this.evictOldest(frame, timeSec, 'table');
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
      this.evictOldest(frame, timeSec, 'bytes');
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

  /**
   * Drops datagrams whose first fragment is older than the timeout, and reports a burst of drops that has ended. Cheap
   * when nothing is pending (callers may skip it while `busy` is false).
   */
  expire(nowSec: number, frame: number): void {
    if (this.burst !== null && nowSec - this.burst.lastSec > FRAGMENT_BURST_SEC) this.reportBurst(frame);
    for (const [key, p] of this.pending) {
      // Insertion order is first-fragment order, so the first unexpired entry ends the scan.
      if (nowSec - p.firstSec <= this.limits.timeoutSec) break;
      this.drop(key, p);
      this.dropped(frame, nowSec, 'timeout', p);
    }
  }

  /** End of capture: every datagram still waiting is released, and reported with the burst in progress. */
  flush(lastFrame: number): void {
    for (const [key, p] of this.pending) {
      this.drop(key, p);
      this.dropped(lastFrame, this.burst?.lastSec ?? p.firstSec, 'end', p);
    }
    if (this.burst !== null) this.reportBurst(lastFrame);
  }

  private evictOldest(frame: number, timeSec: number, cause: DropCause): void {
    for (const [key, p] of this.pending) {
      this.drop(key, p);
      this.dropped(frame, timeSec, cause, p);
      return;
    }
  }

  /** What the drop of `p` says on its own. */
  private dropMessage(cause: DropCause, p: Pending): string {
    const what = `${p.label} incomplete (${p.parts.length} fragment(s) from frame ${p.firstFrame})`;
    switch (cause) {
      case 'table': return `${what} dropped: more than ${this.limits.maxDatagrams} datagrams were awaiting fragments`;
      case 'bytes': return `${what} dropped: the fragment buffer (${this.limits.maxBytes} bytes) was full`;
      case 'timeout': return `${what}; dropped after ${this.limits.timeoutSec} s`;
      case 'end': return `${what} at the end of the capture`;
    }
  }

  /**
   * An incomplete datagram was dropped: it joins the burst in progress, or starts one. Only the first of a burst has
   * its message made (the rest are counted), so a flood costs no string per drop.
   */
  private dropped(frame: number, timeSec: number, cause: DropCause, p: Pending): void {
    let b = this.burst;
    if (b !== null && timeSec - b.lastSec > FRAGMENT_BURST_SEC) {
      this.reportBurst(frame);
      b = null;
    }
    if (b === null) {
      b = this.burst = { first: this.dropMessage(cause, p), firstFrame: frame, lastFrame: frame, lastSec: timeSec, count: 0, causes: { table: 0, bytes: 0, timeout: 0, end: 0 } };
    }
    b.count++;
    b.causes[cause]++;
    b.lastFrame = frame;
    if (timeSec > b.lastSec) b.lastSec = timeSec;
  }

  /** One event per burst: a lone drop reads as it always did; more say how many, where, why, and the first's detail. */
  private reportBurst(frame: number): void {
    const b = this.burst!;
    this.burst = null;
    if (b.count === 1) {
      this.report(frame, b.first, 1);
      return;
    }
    const span = b.firstFrame === b.lastFrame ? `in frame ${b.firstFrame}` : `from frame ${b.firstFrame} to frame ${b.lastFrame}`;
    const why: string[] = [];
    if (b.causes.table > 0) why.push(`${b.causes.table} as more than ${this.limits.maxDatagrams} datagrams were awaiting fragments`);
    if (b.causes.bytes > 0) why.push(`${b.causes.bytes} as the fragment buffer (${this.limits.maxBytes} bytes) was full`);
    if (b.causes.timeout > 0) why.push(`${b.causes.timeout} after ${this.limits.timeoutSec} s`);
    if (b.causes.end > 0) why.push(`${b.causes.end} at the end of the capture`);
    this.report(frame, `${b.count} incomplete IP datagrams dropped ${span} (${why.join(', ')}); the first: ${b.first}`, b.count);
  }

  private drop(key: string, p: Pending): void {
    if (this.pending.get(key) === p) {
      this.pending.delete(key);
      this.bytes -= p.bytes;
    }
  }
}
