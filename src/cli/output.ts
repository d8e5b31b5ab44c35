/**
 * Buffered line output. Lines are batched (one write per 64 KiB) for speed, and flushed on the next turn of the event
 * loop, so a live pipe shows each packet as soon as the chunk that completed it has been processed.
 *
 * Back-pressure: writes to a pipe are asynchronous, so output faster than its reader would pile up in memory
 * (hundreds of MB for a big capture into `| jq`). drained() tells the reading loop to wait until the pipe took it.
 */
const FLUSH_BYTES = 64 * 1024;

export class Output {
  private parts: string[] = [];
  private size = 0;
  private scheduled = false;
  private closed = false;
  /** The stream's buffer is over its limit since our last write: wait for 'drain' before producing more. */
  private full = false;
  private waiting: Promise<void> | undefined;

  constructor(private readonly stream: NodeJS.WritableStream & { readonly writableNeedDrain?: boolean }) {
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
    this.parts.push(s, '\n');
    this.size += s.length + 1;
    if (this.size >= FLUSH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  flush(): void {
    if (this.parts.length === 0 || this.closed) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(text)) this.full = true;
  }
}
