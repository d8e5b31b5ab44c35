/**
 * readCapture reads a file through one reused buffer (src/capture/source.ts), which is only sound if no stage keeps
 * a view of a chunk after push() returns. Here every capture we have goes through every output mode twice: once in
 * fresh chunks and once through a single buffer poisoned right after each push. Any kept view changes the output.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../src/capture/source.js';
import type { CaptureEvent, CaptureRecord } from '../src/capture/types.js';
import { tempFile } from './builders/cli.js';
import { allCaptures, renderCapture, type Mode } from './builders/public.js';

const MODES: Mode[] = ['default', 'verbose', 'hex', 'json', 'summary'];
// An odd small size puts chunk boundaries inside record headers, MQTT headers and payloads; 64 KiB is the usual case.
const CHUNKS = [777, 65536];

describe('no stage keeps a view of a reused read buffer', () => {
  const captures = allCaptures();
  it('has captures to check', () => {
    expect(captures.length).toBeGreaterThanOrEqual(9);
  });
  for (const c of captures) {
    it(c.name, () => {
      const bytes = readFileSync(c.path);
      for (const mode of MODES) {
        for (const chunk of CHUNKS) {
          const fresh = renderCapture(bytes, mode, { chunk, ports: c.extraPorts });
          const reused = renderCapture(bytes, mode, { chunk, ports: c.extraPorts, reuseBuffer: true });
          expect(reused, `${mode}, ${chunk}-byte chunks`).toEqual(fresh);
        }
      }
    });
  }
});

describe('readCapture on a file', () => {
  it('hands every record over intact when the file spans many reads of one buffer', async () => {
    const bytes = readFileSync(allCaptures().find((c) => c.name.endsWith('real-v311-qos.pcap'))!.path);
    const path = tempFile('reuse.pcap', bytes);
    const seen: string[] = [];
    const sink = {
      record: (r: CaptureRecord) => seen.push(`${r.frame} ${Buffer.from(r.data).toString('hex')}`),
      event: (e: CaptureEvent) => seen.push(e.event),
    };
    const whole: string[] = [];
    await readCapture(path, { record: (r) => whole.push(`${r.frame} ${Buffer.from(r.data).toString('hex')}`), event: (e) => whole.push(e.event) }, { highWaterMark: 1 << 20 });
    await readCapture(path, sink, { highWaterMark: 1000 });
    expect(whole.length).toBeGreaterThan(100);
    expect(seen).toEqual(whole);
  });
});
