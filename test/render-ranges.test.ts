/** -V byte ranges of zero-length fields, and "1 byte" in messages (issue 12, "Output people read"). */
import { describe, expect, test } from 'vitest';
import { decodePacket } from '../src/mqtt/decoder.js';
import { MqttFramer, type FramerEvent } from '../src/mqtt/framer.js';
import { makeChalk } from '../src/render/color.js';
import { byteRange, fieldTree } from '../src/render/hex.js';
import { bytes, connect, pingreq } from './builders/mqtt-bytes.js';

describe('-V byte ranges', () => {
  test('a zero-length field is shown at its offset, never as an inverted range', () => {
    const d = decodePacket(connect({ clientId: '' }), { level: 4, dir: 'c2s', tree: true });
    const lines = fieldTree(d.tree!, { chalk: makeChalk(false), full: false, redact: false });
    const ranges = lines.flatMap((l) => [...l.matchAll(/\[(\d+)\.\.(\d+)\]/g)].map((m) => [Number(m[1]), Number(m[2])] as const));
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.filter(([a, b]) => b < a)).toEqual([]);
    expect(lines.some((l) => l.includes('[14, empty]'))).toBe(true);
    expect(byteRange(3, 1)).toBe('[3..3]');
  });
});

describe('"1 byte", not "1 bytes"', () => {
  test('in decoder problems and framer events', () => {
    const d = decodePacket(bytes([0xc0, 0x01, 0x00]), { level: 4, dir: 'c2s', tree: false });
    expect(d.problems.map((p) => p.message).join('\n')).not.toMatch(/\b1 bytes/);
    const events: FramerEvent[] = [];
    const f = new MqttFramer({ packet: () => {}, event: (e) => events.push(e) }, { startUnsynced: true });
    // Two packets before the cut one: a chain the end of the stream may confirm.
    f.push(bytes([0x00], pingreq(), pingreq()), 1, 0, 0);
    f.push(bytes([0x10]), 2, 0, 0);
    f.end();
    const text = events.map((e) => e.message).join('\n');
    expect(text).toMatch(/\b1 byte\b/);
    expect(text).not.toMatch(/\b1 bytes/);
  });
});
