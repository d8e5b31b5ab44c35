/**
 * Percentiles in bounded memory: a log-scale histogram (the statistics' percentiles, docs/stats.md).
 *
 * A positive value v goes to bucket floor(32 x log2 v), so a bucket spans a factor of 2^(1/32) (2.2 %); zero (and
 * anything below 2^-40, about 1 ps) has a bucket of its own. A percentile is the nearest-rank value (the smallest
 * value with at least p x n values at or below it), estimated as the geometric middle of its bucket, clamped to the
 * exact minimum and maximum: it is within 2^(1/64) - 1 < 1.1 % of the exact nearest-rank value, and exact for the
 * minimum, the maximum and zero. For whole numbers (payload sizes) rounded to a whole number it is exact up to 45
 * (1.1 % of 45 is under one half). Buckets are kept sparse: values spanning nine decades take at most about 1,000.
 */

const PER_OCTAVE = 32;
/** Below this a value counts as zero (latencies are nanoseconds at the finest, sizes whole bytes). */
const TINY = 2 ** -40;

/** The error bound stated above, as a number (tests and docs use it). */
export const RELATIVE_ERROR = 2 ** (1 / (2 * PER_OCTAVE)) - 1;

export class LogHistogram {
  count = 0;
  min = Infinity;
  max = -Infinity;
  sum = 0;
  private zeros = 0;
  private readonly buckets = new Map<number, number>();
  /** The bucket keys in order, kept between quantile() calls until a new bucket appears (p50, p90, p99 sort once). */
  private sorted: number[] | null = null;

  add(v: number): void {
    if (!Number.isFinite(v)) return;
    const x = Math.max(0, v);
    this.count++;
    this.sum += x;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    if (x < TINY) {
      this.zeros++;
      return;
    }
    const b = Math.floor(Math.log2(x) * PER_OCTAVE);
    const had = this.buckets.get(b);
    if (had === undefined) this.sorted = null;
    this.buckets.set(b, (had ?? 0) + 1);
  }

  /** Nearest-rank percentile, 0 < p <= 1 (see the error bound above); null when empty. */
  quantile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(p * this.count));
    if (rank === this.count) return this.max;
    if (rank <= this.zeros || rank === 1) return this.min;
    let seen = this.zeros;
    const keys = this.sorted ??= [...this.buckets.keys()].sort((a, b) => a - b);
    for (const k of keys) {
      seen += this.buckets.get(k)!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, 2 ** ((k + 0.5) / PER_OCTAVE)));
    }
    return this.max;
  }

  /** Buckets in use (the memory it holds). */
  get size(): number {
    return this.buckets.size + (this.zeros > 0 ? 1 : 0);
  }
}
