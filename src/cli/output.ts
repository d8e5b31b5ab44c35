/**
 * Buffered line output. Lines are batched (one write per 64 KiB) for speed, and flushed on the next turn of the event
 * loop, so a live pipe shows each packet as soon as the chunk that completed it has been processed.
 */
const FLUSH_BYTES = 64 * 1024;

export class Output {
  private parts: string[] = [];
  private size = 0;
  private scheduled = false;
  private closed = false;

  constructor(private readonly stream: NodeJS.WritableStream) {
    // A reader that goes away (`| head`) is not an error worth a stack trace.
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') {
        this.closed = true;
        process.exit(0);
      }
    });
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
    this.stream.write(text);
  }
}
