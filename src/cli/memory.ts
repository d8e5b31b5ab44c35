/**
 * Keeps the process's memory flat on long captures.
 *
 * The pipeline's live state is small (about 30 MB for 3,000 concurrent connections), but with plenty of free RAM V8
 * lets dead objects and buffers pile up: a 200 MB capture peaked at 246 MB RSS, a 50 MB one at 180 MB. Heap limits
 * can only be set when node starts (`--max-old-space-size`), which `node bin/mqtt-dissect.js` and `npx` bypass, so
 * the CLI checks the heap and buffer bytes in use (live or dead) between input chunks and asks for a full collection
 * when they pass a budget. RSS itself is no signal: pages freed by a collection stay resident for reuse. If a
 * collection does not bring usage back under the budget (the live state really is that big), the budget moves up
 * instead of collecting on every chunk. Measurements: docs/decisions.md.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Heap plus buffer bytes in use above which a full collection is requested. */
export const DEFAULT_BUDGET = 96 * 1024 * 1024;
/** Checked once per this many chunks (256 KiB each from readCapture): reading the figures is cheap, not free. */
const CHECK_EVERY = 8;
/** When a collection leaves usage above the budget, the next one waits until this much more is in use. */
const HEADROOM = 64 * 1024 * 1024;

type Collect = () => void;

let collect: Collect | null | undefined;

/** node's full collection, made reachable without a command-line flag; null if this runtime refuses. */
function fullCollection(): Collect | null {
  if (collect !== undefined) return collect;
  try {
    setFlagsFromString('--expose-gc');
    // A fresh context sees the flag; the current one was created before it.
    const gc: unknown = runInNewContext('gc');
    collect = typeof gc === 'function' ? (gc as Collect) : null;
  } catch {
    collect = null;
  }
  return collect;
}

function bytesInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export class MemoryGuard {
  private chunks = 0;
  private budget: number;
  /** Full collections requested so far (for tests and the benchmark's notes). */
  collections = 0;

  constructor(
    budget = DEFAULT_BUDGET,
    private readonly inUse: () => number = bytesInUse,
    private readonly gc: Collect | null = fullCollection(),
  ) {
    this.budget = budget;
  }

  /** Called after each input chunk. */
  afterChunk(): void {
    if (this.gc === null || ++this.chunks % CHECK_EVERY !== 0) return;
    if (this.inUse() <= this.budget) return;
    this.gc();
    this.collections++;
    const after = this.inUse();
    if (after > this.budget) this.budget = after + HEADROOM;
    // A full collection costs in proportion to what survives it, so the next one waits for new allocation of half
    // that much (at most HEADROOM). With the live state just under the budget (32,768 tracked connections hold about
    // 160 MB) a budget left where it was would be crossed again after a few MB, and collections of the whole live
    // heap would follow one another (issue 18: the ooo-holes flood spent about 45% of its CPU in them, more the
    // longer it ran). Small live states (ordinary captures, under 64 MB) leave the budget as it was.
    else {
      const next = after + (after / 2 < HEADROOM ? after / 2 : HEADROOM);
      if (next > this.budget) this.budget = next;
    }
  }
}
