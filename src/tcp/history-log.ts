/**
 * What the TCP stage delivered, kept so a retransmission can be compared with the first copy: one log shared by all
 * connections, written front to back, instead of a ring per stream direction.
 *
 * Why one log: a ring per direction put every delivered segment in a different place in memory. With 3,000 devices
 * talking at once that is 12 MB of rings, each write a cache miss, and it cost 0.13 s of the TCP stage's 0.35 s on the
 * 50 MB benchmark capture (the same capture with 30 devices: the whole stage 0.14 s). Appending to one log is a
 * sequential write, and its memory is fixed (LOG_BYTES) whatever the number of connections.
 *
 * Each delivered segment is a record: a 12-byte header (distance back to the same direction's previous record, the
 * sequence number of the first byte, the byte count) and the bytes. A direction remembers only where its newest
 * record starts and walks back from there. Records are overwritten as the log wraps; a record is intact while it lies
 * within the last LOG_BYTES written, so the reach back is time-like (the last 16 MiB of the capture's traffic) rather
 * than a fixed count of bytes per connection.
 */
import { seqDiff } from './seq.js';

/** Bytes of the log: the last 16 MiB of delivered traffic can be compared with a retransmission. */
export const LOG_BYTES = 16 * 1024 * 1024;
const MASK = LOG_BYTES - 1;
const HEADER = 12;
/** A single record holds at most this much (the tail of a larger segment); TCP segments are below 64 KiB anyway. */
export const MAX_RECORD_BYTES = 64 * 1024;
/** Records walked back for one retransmission: the bound on its cost, whatever the capture. */
export const MAX_RECORDS_WALKED = 256;
/**
 * The log starts this small and doubles as it fills, up to LOG_BYTES: a short capture, or a harness running the
 * pipeline thousands of times in one process, does not allocate and zero 16 MiB per run (it was a third of the
 * in-process fuzzing's time). Until the log wraps every position is below the buffer's size, so masking with
 * LOG_BYTES - 1 reads and writes a smaller buffer exactly as the whole one.
 */
const FIRST_BYTES = 64 * 1024;
/** "No earlier record": a back distance no real one has (the log is smaller). */
const NONE = 0xffffffff;

export interface HistoryCompare {
  /** Bytes compared and how many of them differ. */
  compared: number;
  differ: number;
}

export class HistoryLog {
  private buf: Uint8Array | null = null;
  /** Bytes ever written (a position in the endless log; the buffer holds the last LOG_BYTES of it). */
  private end = 0;
  /** Result of the last compare (reused: comparing allocates nothing). */
  readonly result: HistoryCompare = { compared: 0, differ: 0 };

  /**
   * Appends `p`, delivered as sequence numbers from `seq` on, after the direction's newest record `prev` (-1: none).
   * Returns the new record's position, to be passed as `prev` next time.
   */
  append(prev: number, seq: number, p: Uint8Array): number {
    // Allocated on first use (a capture with no TCP payload never pays for it), grown until it is whole.
    let b = this.buf;
    const need = this.end + HEADER + (p.length < MAX_RECORD_BYTES ? p.length : MAX_RECORD_BYTES);
    if (b === null || (b.length < LOG_BYTES && need > b.length)) b = this.grow(need);
    let data = p;
    if (data.length > MAX_RECORD_BYTES) {
      seq = (seq + (data.length - MAX_RECORD_BYTES)) >>> 0;
      data = data.subarray(data.length - MAX_RECORD_BYTES);
    }
    const at = this.end;
    const back = prev >= 0 && at - prev < LOG_BYTES ? at - prev : NONE;
    const n = data.length;
    let w = at & MASK;
    if (w + HEADER <= LOG_BYTES) {
      b[w] = back >>> 24; b[w + 1] = back >>> 16; b[w + 2] = back >>> 8; b[w + 3] = back;
      b[w + 4] = seq >>> 24; b[w + 5] = seq >>> 16; b[w + 6] = seq >>> 8; b[w + 7] = seq;
      b[w + 8] = n >>> 24; b[w + 9] = n >>> 16; b[w + 10] = n >>> 8; b[w + 11] = n;
      w += HEADER;
    } else {
      this.putWord(w, back);
      this.putWord(w + 4, seq);
      this.putWord(w + 8, n);
      w = (w + HEADER) & MASK;
    }
    const first = LOG_BYTES - w;
    if (n <= first) {
      b.set(data, w);
    } else {
      b.set(data.subarray(0, first), w);
      b.set(data.subarray(first), 0);
    }
    this.end = at + HEADER + n;
    return at;
  }

  /**
   * Compares the first `n` bytes of `p` (sequence numbers from `seq` on) with the records of one direction, newest
   * `last` first, as far as they reach. Sets and returns `result`.
   */
  compare(last: number, seq: number, p: Uint8Array, n: number): HistoryCompare {
    const r = this.result;
    r.compared = 0;
    r.differ = 0;
    const b = this.buf;
    if (b === null || last < 0) return r;
    if (n > p.length) n = p.length;
    const segEnd = (seq + n) >>> 0;
    let at = last;
    for (let walked = 0; walked < MAX_RECORDS_WALKED && at >= 0 && this.end - at <= LOG_BYTES; walked++) {
      const back = this.word(at);
      const rSeq = this.word(at + 4);
      const rLen = this.word(at + 8);
      const rEnd = (rSeq + rLen) >>> 0;
      // Overlap of [seq, segEnd) with the record's [rSeq, rEnd).
      const from = seqDiff(rSeq, seq) > 0 ? rSeq : seq;
      const to = seqDiff(rEnd, segEnd) < 0 ? rEnd : segEnd;
      const count = seqDiff(to, from);
      if (count > 0) {
        const k0 = seqDiff(from, seq);
        const data = (at + HEADER + seqDiff(from, rSeq)) & MASK;
        for (let k = 0; k < count; k++) {
          if (p[k0 + k] !== b[(data + k) & MASK]) r.differ++;
        }
        r.compared += count;
      }
      // Older records hold earlier bytes: once one starts at or before the segment, nothing older overlaps it.
      if (seqDiff(rSeq, seq) <= 0) break;
      at = back === NONE ? -1 : at - back;
    }
    return r;
  }

  /** Bytes allocated for the log so far. */
  get allocated(): number {
    return this.buf === null ? 0 : this.buf.length;
  }

  /** A buffer of at least `need` bytes (at most LOG_BYTES) holding what was written; only before the first wrap. */
  private grow(need: number): Uint8Array {
    const old = this.buf;
    let size = old === null ? FIRST_BYTES : old.length * 2;
    while (size < need && size < LOG_BYTES) size *= 2;
    if (size > LOG_BYTES) size = LOG_BYTES;
    const b = new Uint8Array(size);
    if (old !== null) b.set(old.subarray(0, this.end));
    this.buf = b;
    return b;
  }

  private word(at: number): number {
    const b = this.buf!;
    return ((b[at & MASK]! << 24) | (b[(at + 1) & MASK]! << 16) | (b[(at + 2) & MASK]! << 8) | b[(at + 3) & MASK]!) >>> 0;
  }

  private putWord(at: number, v: number): void {
    const b = this.buf!;
    b[at & MASK] = v >>> 24;
    b[(at + 1) & MASK] = v >>> 16;
    b[(at + 2) & MASK] = v >>> 8;
    b[(at + 3) & MASK] = v;
  }
}
