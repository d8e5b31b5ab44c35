/**
 * Time buckets for rates and time series, bounded in count: buckets of `width` seconds from a fixed origin (the first
 * counted packet's whole second); when a time falls past the last of `maxBuckets` buckets, the width doubles and
 * every registered series merges pairs of its buckets, so no series ever holds more than `maxBuckets` numbers. A
 * time before the origin (a capture whose timestamps go backwards) counts in the first bucket.
 */
export class Buckets {
  /** Seconds per bucket (the --interval, or doubled from it). */
  width: number;
  /** Times the width doubled (reported: the interval asked for was widened). */
  widened = 0;
  /** Seconds of the first bucket's start (a whole second); null before the first time. */
  origin: number | null = null;
  /** Highest bucket index used so far. */
  last = -1;
  private readonly series: number[][] = [];

  constructor(width: number, readonly maxBuckets: number) {
    this.width = width;
  }

  /** A new series of counts in these buckets. */
  register(): number[] {
    const s: number[] = [];
    this.series.push(s);
    return s;
  }

  /** The bucket a capture time (seconds, nanoseconds) falls in, widening the buckets first when needed. */
  index(sec: number, nsec: number): number {
    if (this.origin === null) this.origin = sec;
    const rel = sec - this.origin + nsec / 1e9;
    let i = rel <= 0 ? 0 : Math.floor(rel / this.width);
    while (i >= this.maxBuckets) {
      this.widen();
      i = Math.floor(rel / this.width);
    }
    if (i > this.last) this.last = i;
    return i;
  }

  private widen(): void {
    this.width *= 2;
    this.widened++;
    this.last = Math.floor(this.last / 2);
    for (const s of this.series) {
      const n = Math.ceil(s.length / 2);
      for (let k = 0; k < n; k++) s[k] = (s[2 * k] ?? 0) + (s[2 * k + 1] ?? 0);
      s.length = n;
    }
  }
}

/** Adds one to series `s` at bucket `i` (the series may be shorter: it grows with zeros). */
export function bump(s: number[], i: number, by = 1): void {
  while (s.length <= i) s.push(0);
  s[i]! += by;
}
