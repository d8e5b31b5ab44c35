/**
 * Buffered output. Everything goes into 64 KiB buffers (src/render/bytes-out.ts): text lines are encoded into them,
 * NDJSON records are written into them byte by byte, and each full buffer is one write. Buffers are flushed on the next
 * turn of the event loop, so a live pipe shows each packet as soon as the chunk that completed it has been processed.
 *
 * Back-pressure: writes to a pipe are asynchronous, so output faster than its reader would pile up in memory
 * (hundreds of MB for a big capture into `| jq`). drained() tells the reading loop to wait until the pipe took it.
 */
import { ByteOut, type Drain } from '../render/bytes-out.js';
import type { DirectOut } from '../render/text.js';

export class Output implements DirectOut {
  /** Where lines and records are written; a fresh buffer after every hand-over (a pipe may still hold the old one). */
  readonly bytes: ByteOut;
  private scheduled = false;
  private closed = false;
  /** The stream's buffer is over its limit since our last write: wait for 'drain' before producing more. */
  private full = false;
  private waiting: Promise<void> | undefined;

  constructor(private readonly stream: NodeJS.WritableStream & { readonly writableNeedDrain?: boolean }) {
    this.bytes = new ByteOut((chunk) => this.hand(chunk));
    // A reader that goes away (`| head`) is not an error worth a stack trace.
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') {
        this.closed = true;
        process.exit(0);
      }
    });
  }

  /**
   * Undefined when more output may be produced now; otherwise a promise that settles once the stream drained (or
   * closed, or failed: output then stops mattering, and waiting must not hang).
   */
  drained(): Promise<void> | undefined {
    if (!this.full || this.closed) return undefined;
    // A flush on a later turn of the event loop may have filled the buffer and seen it drain since: do not wait for a
    // 'drain' that already happened.
    if (this.stream.writableNeedDrain === false) {
      this.full = false;
      return undefined;
    }
    this.waiting ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.removeListener('drain', done);
        this.stream.removeListener('close', done);
        this.stream.removeListener('error', done);
        this.full = false;
        this.waiting = undefined;
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
      this.stream.on('error', done);
    });
    return this.waiting;
  }

  line(s: string): void {
    if (this.closed) return;
    this.bytes.utf8(s);
    this.bytes.byte(0x0a);
    this.wrote();
  }

  /** Something was written into `bytes`: make sure it goes out on the next turn of the event loop. */
  wrote(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  flush(): void {
    this.bytes.flush();
  }

  private hand(chunk: Buffer): void {
    if (this.closed) return;
    if (!this.stream.write(chunk)) this.full = true;
  }
}

/**
 * Lines and records written synchronously to a drain, each full buffer at once: no event loop involved (the render
 * worker's stdout, which it writes itself; memory, for the in-process read path).
 */
export class DrainOut implements DirectOut {
  readonly bytes: ByteOut;

  constructor(drain: Drain) {
    this.bytes = new ByteOut(drain);
  }

  line(s: string): void {
    this.bytes.utf8(s);
    this.bytes.byte(0x0a);
  }

  wrote(): void {}

  flush(): void {
    this.bytes.flush();
  }
}

/**
 * Output into memory, for running the CLI's read path in process (readInProcess): the same ByteOut as stdout, its
 * chunks kept up to `limit` bytes (past it they are only counted, so a run that floods its output cannot exhaust the
 * caller's memory).
 */
export class MemoryOut extends DrainOut {
  /** Bytes written, including those past the limit. */
  total = 0;
  private kept = 0;
  private readonly chunks: Buffer[] = [];

  constructor(private readonly limit = 64 * 1024 * 1024) {
    super((chunk) => this.keep(chunk));
  }

  /** What was kept, as text. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  private keep(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.kept >= this.limit) return;
    const part = this.kept + chunk.length > this.limit ? chunk.subarray(0, this.limit - this.kept) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }
}
