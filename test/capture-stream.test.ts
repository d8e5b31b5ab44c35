import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { readCapture } from '../src/capture/source.js';
import { CaptureFormatError, type CaptureEvent, type CaptureRecord, type CaptureSink } from '../src/capture/types.js';
import { parseCaptureBytes, pcapRecordOffsets, writePcap, writePcapng, type FrameSpec } from './builders/capture-writer.js';

function frames(n: number, size: (i: number) => number): FrameSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const data = new Uint8Array(size(i));
    for (let j = 0; j < data.length; j++) data[j] = (i + j) & 0xff;
    return { timeSec: 1700000000 + i, timeNsec: (i * 7919) % 1e9, data };
  });
}

const FRAMES = frames(50, (i) => (i * 37) % 1600);
const PCAP = writePcap(FRAMES, { nanosecond: true });
const PCAPNG = writePcapng([
  { interfaces: [{ linkType: 1, tsresol: 9 }], blocks: FRAMES.slice(0, 25) },
  { bigEndian: true, interfaces: [{ linkType: 1, tsresol: 9 }], blocks: FRAMES.slice(25) },
]);

function collector(): CaptureSink & { records: CaptureRecord[]; events: CaptureEvent[] } {
  const records: CaptureRecord[] = [];
  const events: CaptureEvent[] = [];
  // A record's bytes are valid only during the call (files are read through one reused buffer): keep a copy.
  return { records, events, record: (r) => records.push({ ...r, data: r.data.slice() }), event: (e) => events.push(e) };
}

function plain(recs: readonly CaptureRecord[]): unknown[] {
  return recs.map((r) => ({ ...r, data: Array.from(r.data) }));
}

async function* chunksOf(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'capture-stream-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('readCapture on files', () => {
  for (const [label, bytes] of [
    ['pcap', PCAP],
    ['pcapng', PCAPNG],
  ] as const) {
    it(`streams a ${label} file in small and default chunks with the same result as one buffer`, async () => {
      const path = join(dir, `ok.${label}`);
      writeFileSync(path, bytes);
      const reference = parseCaptureBytes(bytes);
      expect(reference.records).toHaveLength(50);
      for (const highWaterMark of [7, 4096, undefined]) {
        const sink = collector();
        await readCapture(path, sink, highWaterMark === undefined ? {} : { highWaterMark });
        expect(plain(sink.records)).toEqual(plain(reference.records));
        expect(sink.events).toEqual([]);
      }
    });
  }

  it('reads a multi-megabyte file in 256 KiB chunks without losing a byte', async () => {
    const big = frames(4000, (i) => 200 + ((i * 131) % 1400));
    const path = join(dir, 'big.pcap');
    writeFileSync(path, writePcap(big));
    let count = 0;
    let sum = 0;
    await readCapture(path, {
      record: (r) => {
        count++;
        for (const b of r.data) sum += b;
      },
      event: () => undefined,
    });
    let expectedSum = 0;
    for (const f of big) for (const b of f.data) expectedSum += b;
    expect([count, sum]).toEqual([4000, expectedSum]);
  });

  it('reports a truncated file and keeps the records before the cut', async () => {
    const path = join(dir, 'cut.pcap');
    writeFileSync(path, PCAP.subarray(0, PCAP.length - 3));
    const sink = collector();
    await readCapture(path, sink, { highWaterMark: 1000 });
    expect(sink.records).toHaveLength(49);
    expect(sink.events).toEqual([expect.objectContaining({ event: 'file-truncated', offset: pcapRecordOffsets(FRAMES)[49], frame: 49 })]);
  });

  it('rejects a missing file with a one-line CaptureFormatError naming it', async () => {
    await expect(readCapture('nope.pcap', collector())).rejects.toThrow(new CaptureFormatError('nope.pcap: no such file'));
    await expect(readCapture(join(dir, 'missing', 'x.pcap'), collector())).rejects.toBeInstanceOf(CaptureFormatError);
  });

  it('rejects a directory', async () => {
    await expect(readCapture(dir, collector())).rejects.toThrow(new CaptureFormatError(`${dir}: is a directory, not a capture file`));
  });

  it.skipIf(process.getuid?.() === 0)('rejects an unreadable file', async () => {
    const path = join(dir, 'secret.pcap');
    writeFileSync(path, PCAP, { mode: 0o000 });
    await expect(readCapture(path, collector())).rejects.toThrow(new CaptureFormatError(`${path}: permission denied`));
  });

  it('rejects an empty file and a non-capture with the file name first', async () => {
    const empty = join(dir, 'empty.pcap');
    writeFileSync(empty, new Uint8Array(0));
    await expect(readCapture(empty, collector())).rejects.toThrow(/^.*empty\.pcap: empty input/);
    const html = join(dir, 'page.pcap');
    writeFileSync(html, '<html><body>not a capture</body></html>\n'.repeat(100));
    const err: unknown = await readCapture(html, collector()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureFormatError);
    expect((err as Error).message).toBe(`${html}: not a pcap or pcapng file (starts with 3c 68 74 6d: looks like text)`);
  });

  it('lets an exception from the sink through unchanged', async () => {
    const path = join(dir, 'sink.pcap');
    writeFileSync(path, PCAP);
    const boom = new Error('sink failed');
    await expect(
      readCapture(path, {
        record: () => {
          throw boom;
        },
        event: () => undefined,
      }),
    ).rejects.toBe(boom);
  });
});

describe('readCapture on stdin', () => {
  it('names the input "stdin" in errors', async () => {
    const err: unknown = await readCapture('-', collector(), { stdin: chunksOf(new TextEncoder().encode('hello world')) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureFormatError);
    expect((err as Error).message).toMatch(/^stdin: not a pcap or pcapng file/);
    await expect(readCapture('-', collector(), { stdin: chunksOf() })).rejects.toThrow(/^stdin: empty input/);
  });

  it('delivers records while the pipe is still open', async () => {
    const pipe = new PassThrough();
    const sink = collector();
    const done = readCapture('-', sink, { stdin: pipe });
    const half = pcapRecordOffsets(FRAMES)[10]!;
    pipe.write(PCAP.subarray(0, half));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sink.records).toHaveLength(10);
    pipe.end(PCAP.subarray(half));
    await done;
    expect(sink.records).toHaveLength(50);
  });

  it('stops reading after a corrupt record instead of draining the rest of the input', async () => {
    const bad = PCAP.slice();
    new DataView(bad.buffer).setUint32(pcapRecordOffsets(FRAMES)[3]! + 8, 0x7fffffff, true);
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      pulled++;
      yield bad;
      for (;;) {
        pulled++;
        yield new Uint8Array(1 << 16);
      }
    }
    const sink = collector();
    await readCapture('-', sink, { stdin: endless() });
    expect(pulled).toBe(1);
    expect(sink.records).toHaveLength(3);
    expect(sink.events).toEqual([expect.objectContaining({ event: 'corrupt-block', offset: pcapRecordOffsets(FRAMES)[3] })]);
  });
});

describe('arbitrary chunk boundaries', () => {
  for (const [label, bytes] of [
    ['pcap', PCAP],
    ['pcapng', PCAPNG],
  ] as const) {
    it(`${label}: any split of the input gives the records of a single push`, () => {
      const reference = plain(parseCaptureBytes(bytes).records);
      fc.assert(
        fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), (cuts) => {
          const out = parseCaptureBytes(bytes, { splits: [...cuts].sort((a, b) => a - b) });
          expect(out.error).toBeNull();
          expect(out.events).toEqual([]);
          expect(plain(out.records)).toEqual(reference);
        }),
        { numRuns: 200 },
      );
    });
  }
});
