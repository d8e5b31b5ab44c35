import { open } from 'node:fs/promises';
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

/**
 * Streams a capture file, or standard input when `path` is '-', into `sink`. Records reach the sink synchronously as
 * each chunk arrives, so a live pipe (`tcpdump -w - | ...`) shows frames as they are captured. Resolves once the
 * input ended or a corrupt block stopped reading; rejects with CaptureFormatError when the input cannot be read or
 * is not a capture. Errors thrown by the sink propagate unchanged.
 */
export async function readCapture(path: string | '-', sink: CaptureSink, opts: ReadCaptureOptions = {}): Promise<void> {
  const name = path === '-' ? 'stdin' : path;
  const parser = new CaptureParser(sink, name);
  const input: AsyncIterable<Uint8Array> = path === '-' ? (opts.stdin ?? process.stdin) : readFileChunks(path, opts.highWaterMark ?? DEFAULT_CHUNK);
  const iterator = input[Symbol.asyncIterator]();
  try {
    for (;;) {
      let step: IteratorResult<Uint8Array>;
      try {
        step = await iterator.next();
      } catch (err) {
        throw ioError(name, err);
      }
      if (step.done) break;
      parser.push(step.value);
      // Nothing after a corrupt pcap record or pcapng block can be trusted; stop reading instead of draining.
      if (parser.finished) break;
      const wait = opts.afterChunk?.();
      if (wait !== undefined) await wait;
    }
  } finally {
    // Closes the file (or detaches from the pipe) whether we finished, stopped early or failed. A failure while
    // closing would only hide the outcome we already have, so it is dropped.
    try {
      await iterator.return?.();
    } catch {
      /* see above */
    }
  }
  parser.end();
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
