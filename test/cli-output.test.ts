/** Output (src/cli/output.ts) encodes lines into buffers; what reaches the stream must be exactly the lines, in order. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Output } from '../src/cli/output.js';

function sink(): { stream: Writable; bytes: () => Buffer; writes: () => number } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks), writes: () => chunks.length };
}

describe('Output', () => {
  it('writes every line once, in order, whatever its size and characters', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const kind = i % 7;
      lines.push(
        kind === 0 ? `plain line ${i}`
          : kind === 1 ? 'é€😀 multi-byte '.repeat(i % 50)
            : kind === 2 ? 'x'.repeat(30_000 + i) // longer than the buffer: written on its own, after what came before
              : kind === 3 ? ''
                : kind === 4 ? `lone surrogate \ud800 ${i}`
                  : 'y'.repeat((i * 37) % 21_000),
      );
    }
    const s = sink();
    const out = new Output(s.stream);
    for (const l of lines) out.line(l);
    out.flush();
    await new Promise((r) => setImmediate(r));
    expect(s.bytes().equals(Buffer.from(lines.join('\n') + '\n', 'utf8'))).toBe(true);
    expect(s.writes()).toBeGreaterThan(100);
  });

  it('batches short lines into few writes, and writes them on the next turn of the event loop', async () => {
    const s = sink();
    const out = new Output(s.stream);
    for (let i = 0; i < 100; i++) out.line(`line ${i}`);
    expect(s.writes()).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(s.writes()).toBe(1);
    expect(s.bytes().toString()).toBe(Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''));
  });
});
