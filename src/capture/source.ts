import { open } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CaptureParser } from './reader.js';
import { CaptureFormatError, type CaptureSink } from './types.js';

export interface ReadCaptureOptions {
  /** Read size for files (default 256 KiB). */
  highWaterMark?: number;
  /** What '-' reads instead of process.stdin; lets tests and embedders feed a pipe of their own. */
  stdin?: AsyncIterable<Uint8Array>;
  /**
   * Called after each chunk has gone through the sink; reading waits for a returned promise. The CLI waits here for
   * a slow stdout reader, so output does not pile up in memory (back-pressure).
   */
  afterChunk?: () => Promise<void> | undefined;
  /**
   * Settles when reading should stop early (the CLI's SIGINT/SIGTERM): the input is closed and what was read is
   * ended as at the end of the input.
   */
  stop?: Promise<unknown>;
  /** Frames read from earlier files of the same run: frame numbers continue after them. */
  firstFrame?: number;
}

const DEFAULT_CHUNK = 256 * 1024;

/** Short reasons for the errors people actually hit when naming a file, keyed by errno code. */
const OPEN_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a parent is not a directory)',
  EISDIR: 'is a directory, not a capture file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error while reading',
};

function ioError(name: string, err: unknown): CaptureFormatError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const reason = (code !== undefined && OPEN_ERRORS[code]) || (err instanceof Error ? err.message.split('\n')[0] : String(err));
  return new CaptureFormatError(`${name}: ${reason}`);
}

/** The gzip magic number: `.pcap.gz` / `.pcapng.gz` (and gzip on a pipe) are decompressed as they are read. */
function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** What a finished next() or the stop signal gave. */
type Step = IteratorResult<Uint8Array> | 'stop';

/**
 * Streams a capture file, or standard input when `path` is '-', into `sink`. Records reach the sink synchronously as
 * each chunk arrives, so a live pipe (`tcpdump -w - | ...`) shows frames as they are captured. gzip-compressed input
 * (told by its magic number, not the file name) is decompressed as a stream, so memory stays bounded whatever its
 * size. Resolves with the number of the last frame once the input ended, a corrupt block stopped reading or `stop`
 * settled; rejects with CaptureFormatError when the input cannot be read or is not a capture. Errors thrown by the
 * sink propagate unchanged.
 */
export async function readCapture(path: string | '-', sink: CaptureSink, opts: ReadCaptureOptions = {}): Promise<number> {
  const name = path === '-' ? 'stdin' : path;
  const parser = new CaptureParser(sink, name, opts.firstFrame ?? 0);
  const raw: AsyncIterable<Uint8Array> = path === '-' ? (opts.stdin ?? process.stdin) : readFileChunks(path, opts.highWaterMark ?? DEFAULT_CHUNK);
  let iterator = raw[Symbol.asyncIterator]();
  // Promise.race against the long-lived stop promise would leave one reaction (holding the chunk read) on it per
  // read: memory grew with the input. One waiter at a time is woken instead.
  let stopped = false;
  let wake: ((s: Step) => void) | null = null;
  opts.stop?.then(() => {
    stopped = true;
    wake?.('stop');
  });
  const untilStop = <T>(p: Promise<T>): Promise<T | 'stop'> => {
    if (opts.stop === undefined) return p;
    if (stopped) return Promise.resolve('stop');
    return new Promise<T | 'stop'>((resolve, reject) => {
      wake = resolve as (s: Step) => void;
      p.then(resolve, (err: unknown) => { if (!stopped) reject(err); });
    });
  };
  const next = (): Promise<Step> => untilStop(iterator.next());
  let sniffed = false;
  let head: Uint8Array | null = null;
  let gz: { name: string; out: number } | null = null;
  try {
    for (;;) {
      let step: Step;
      try {
        step = await next();
      } catch (err) {
        if (gz && isCutShortGzip(err)) {
          sink.event({ event: 'file-truncated', offset: gz.out, frame: parser.lastFrame, message: `${name}: gzip data cut short after ${gz.out} decompressed bytes` });
          break;
        }
        throw gz ? new CaptureFormatError(`${name}: not readable as gzip (${err instanceof Error ? err.message : String(err)})`) : ioError(name, err);
      }
      if (step === 'stop') break;
      if (step.done) {
        if (head) parser.push(head);
        break;
      }
      let chunk = step.value;
      if (!sniffed) {
        // The magic number needs two bytes; a pipe may deliver one.
        if (chunk.length < 2 && head === null) {
          head = Uint8Array.from(chunk);
          continue;
        }
        if (head) chunk = concat(head, chunk);
        head = null;
        sniffed = true;
        if (isGzip(chunk)) {
          iterator = gunzip(chunk, iterator)[Symbol.asyncIterator]();
          gz = { name, out: 0 };
          continue;
        }
      }
      if (gz) gz.out += chunk.length;
      parser.push(chunk);
      // Nothing after a corrupt pcap record or pcapng block can be trusted; stop reading instead of draining.
      if (parser.finished) break;
      const wait = opts.afterChunk?.();
      if (wait !== undefined && (await untilStop(wait)) === 'stop') {
        stopped = true;
        break;
      }
    }
  } finally {
    // Closes the file (or detaches from the pipe) whether we finished, stopped early or failed. A failure while
    // closing would only hide the outcome we already have, so it is dropped.
    try {
      const closing = iterator.return?.();
      // A pending read on stdin may keep return() waiting; after a stop nobody needs to wait for the close.
      if (!stopped) await closing;
      else {
        closing?.catch(() => {});
        // A pipe that stays open would keep the process alive with a read pending on it.
        if (path === '-') (raw as Partial<NodeJS.ReadableStream & { destroy(): void }>).destroy?.();
      }
    } catch {
      /* see above */
    }
  }
  parser.end();
  return parser.lastFrame;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** zlib's error for a stream that ends inside its compressed data. */
function isCutShortGzip(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'Z_BUF_ERROR';
}

/**
 * The decompressed bytes of a gzip stream whose first chunk is `first` and the rest comes from `rest`. Compressed
 * chunks are copied before zlib sees them (the file reader reuses its buffer; zlib works on them asynchronously);
 * the pipeline's back-pressure keeps at most a few buffers in flight. Concatenated gzip members are read as one.
 */
function gunzip(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  async function* compressed(): AsyncGenerator<Uint8Array> {
    yield Uint8Array.from(first);
    try {
      for (;;) {
        const step = await rest.next();
        if (step.done) return;
        yield Uint8Array.from(step.value);
      }
    } finally {
      await rest.return?.();
    }
  }
  const z = createGunzip({ chunkSize: DEFAULT_CHUNK });
  pipeline(Readable.from(compressed(), { objectMode: false, highWaterMark: DEFAULT_CHUNK }), z, () => {});
  return z;
}

/**
 * A file's bytes, read into one buffer that every chunk reuses. A stream would allocate a fresh buffer per chunk,
 * and the dead ones pile up outside the JavaScript heap until a full collection (about 55 MB on a 200 MB capture).
 * Reuse is safe because the parser reads a chunk only during push() and copies the bytes it keeps (see
 * CaptureParser); test/capture-reuse.test.ts poisons the buffer between chunks to prove no stage keeps a view.
 */
async function* readFileChunks(path: string, size: number): AsyncGenerator<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const buf = new Uint8Array(size);
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, size, null);
      if (bytesRead === 0) return;
      yield bytesRead === size ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}
