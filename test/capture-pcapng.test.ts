import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CaptureParser } from '../src/capture/reader.js';
import { CaptureFormatError, type CaptureEvent, type CaptureRecord } from '../src/capture/types.js';
import {
  BLOCK_CUSTOM,
  captureInvariantProblems,
  mutatedCaptureArb,
  parseCaptureBytes,
  writePcapng,
  writePcapngSimple,
  type FrameSpec,
  type PcapngBlock,
  type PcapngFrame,
  type PcapngSection,
} from './builders/capture-writer.js';

function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 13 + seed * 5) & 0xff;
  return out;
}

const FRAMES: FrameSpec[] = [
  { timeSec: 1700000000, timeNsec: 123456789, data: bytesOf(60, 1) },
  { timeSec: 1700000000, timeNsec: 999999999, data: bytesOf(0, 2) },
  { timeSec: 1700000001, timeNsec: 7000, data: bytesOf(61, 3), wireLength: 1514 },
  { timeSec: 1, timeNsec: 1, data: bytesOf(3001, 4) },
];

/** Sizes of the blocks the builder writes, to compute offsets independently of the parser. */
const SHB_LEN = 28;
const idbLen = (options: number): number => 20 + options + (options > 0 ? 4 : 0);
const epbLen = (data: number): number => 32 + ((data + 3) & ~3);

function plain(recs: readonly CaptureRecord[]): unknown[] {
  return recs.map((r) => ({ ...r, data: Array.from(r.data) }));
}

function times(recs: readonly CaptureRecord[]): [number, number][] {
  return recs.map((r) => [r.timeSec, r.timeNsec]);
}

describe('pcapng', () => {
  it('reads a little-endian and a big-endian section the same way', () => {
    const le = parseCaptureBytes(writePcapngSimple(FRAMES, { linkType: 1, tsresol: 9 }));
    const be = parseCaptureBytes(writePcapngSimple(FRAMES, { linkType: 1, tsresol: 9, bigEndian: true }));
    expect(le.error).toBeNull();
    expect(le.events).toEqual([]);
    expect(plain(be.records)).toEqual(plain(le.records));
    expect(le.records.map((r) => r.frame)).toEqual([1, 2, 3, 4]);
    expect(times(le.records)).toEqual(FRAMES.map((f) => [f.timeSec, f.timeNsec]));
    expect(le.records.map((r) => r.wireLength)).toEqual([60, 0, 1514, 3001]);
    le.records.forEach((r, i) => expect(Array.from(r.data)).toEqual(Array.from(FRAMES[i]!.data)));
    // SHB, one IDB with if_tsresol, then EPBs back to back.
    let at = SHB_LEN + idbLen(8);
    le.records.forEach((r, i) => {
      expect(r.fileOffset).toBe(at);
      at += epbLen(FRAMES[i]!.data.length);
    });
  });

  it('pushing one byte at a time gives the same records as one chunk', () => {
    const file = writePcapng(multiSection());
    const whole = parseCaptureBytes(file);
    expect(whole.records.length).toBeGreaterThan(5);
    expect(plain(parseCaptureBytes(file, { chunkSize: 1 }).records)).toEqual(plain(whole.records));
    expect(parseCaptureBytes(file, { chunkSize: 1 }).events).toEqual(whole.events);
  });

  describe('timestamps', () => {
    const t = { timeSec: 1700000000, timeNsec: 123456789 };
    const frame = (over: Partial<PcapngFrame> = {}): PcapngFrame => ({ ...t, data: bytesOf(10, 1), ...over });

    it('defaults to microseconds without if_tsresol', () => {
      const r = parseCaptureBytes(writePcapngSimple([frame()])).records[0]!;
      expect([r.timeSec, r.timeNsec]).toEqual([1700000000, 123456000]);
    });

    it('reads if_tsresol 10^-3, 10^-6 and 10^-9 exactly', () => {
      for (const [tsresol, nsec] of [
        [3, 123000000],
        [6, 123456000],
        [9, 123456789],
      ] as const) {
        const r = parseCaptureBytes(writePcapngSimple([frame()], { tsresol })).records[0]!;
        expect([tsresol, r.timeSec, r.timeNsec]).toEqual([tsresol, 1700000000, nsec]);
      }
    });

    it('reads nanosecond counts beyond 2^53 exactly (no float rounding)', () => {
      // 2^63 - 1 ns = 9223372036.854775807 s: every digit must survive.
      const r = parseCaptureBytes(writePcapngSimple([frame({ rawTimestamp: 0x7fffffffffffffffn })], { tsresol: 9 }))
        .records[0]!;
      expect([r.timeSec, r.timeNsec]).toEqual([9223372036, 854775807]);
      const max = parseCaptureBytes(writePcapngSimple([frame({ rawTimestamp: 0xffffffffffffffffn })], { tsresol: 9 }))
        .records[0]!;
      expect([max.timeSec, max.timeNsec]).toEqual([18446744073, 709551615]);
    });

    it('reads binary resolutions: 2^-20 and 2^-32 exactly, truncating below a nanosecond', () => {
      for (const n of [20, 32, 5]) {
        const raw = (1700000000n << BigInt(n)) + 0x5a5a5n % (1n << BigInt(n));
        const r = parseCaptureBytes(writePcapngSimple([frame({ rawTimestamp: raw })], { tsresol: 0x80 | n })).records[0]!;
        const units = 1n << BigInt(n);
        expect([n, r.timeSec, r.timeNsec]).toEqual([n, Number(raw / units), Number(((raw % units) * 1_000_000_000n) / units)]);
      }
    });

    it('reads resolutions finer than a nanosecond (10^-12, 2^-40, via BigInt) and coarse ones (10^0)', () => {
      const cases: [number, bigint, number, number][] = [
        [12, 10_000_000_123456789_123n, 10_000_000, 123456789],
        [0x80 | 40, (5_000_000n << 40n) + (1n << 39n), 5_000_000, 500000000],
        [0, 1700000000n, 1700000000, 0],
      ];
      for (const [tsresol, raw, sec, nsec] of cases) {
        const r = parseCaptureBytes(writePcapngSimple([frame({ rawTimestamp: raw })], { tsresol })).records[0]!;
        expect([tsresol, r.timeSec, r.timeNsec]).toEqual([tsresol, sec, nsec]);
      }
    });

    it('adds if_tsoffset seconds', () => {
      const file = writePcapng([{ interfaces: [{ linkType: 1, tsresol: 9, tsoffset: 1600000000 }], blocks: [frame()] }]);
      const r = parseCaptureBytes(file).records[0]!;
      expect([r.timeSec, r.timeNsec]).toEqual([1700000000, 123456789]);
    });

    it('agrees with the builder across random times and resolutions', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 4_000_000_000 }),
          fc.integer({ min: 0, max: 999_999_999 }),
          fc.constantFrom(0, 1, 3, 6, 9, 0x80 | 10, 0x80 | 20, 0x80 | 30),
          fc.boolean(),
          (timeSec, timeNsec, tsresol, bigEndian) => {
            const file = writePcapngSimple([{ timeSec, timeNsec, data: bytesOf(4, 1) }], { tsresol, bigEndian });
            const r = parseCaptureBytes(file).records[0]!;
            // Independent reference: convert with BigInt, truncating below the resolution and below a nanosecond.
            const units = tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
            const count = ((BigInt(timeSec) * 1_000_000_000n + BigInt(timeNsec)) * units) / 1_000_000_000n;
            expect([r.timeSec, r.timeNsec]).toEqual([Number(count / units), Number(((count % units) * 1_000_000_000n) / units)]);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('sections and interfaces', () => {
    it('resets interfaces at each section and follows each section byte order', () => {
      const out = parseCaptureBytes(writePcapng(multiSection()));
      expect(out.error).toBeNull();
      expect(out.events).toEqual([]);
      expect(out.records.map((r) => [r.frame, r.linkType])).toEqual([
        [1, 1],
        [2, 113],
        // The custom block between them is frame 3, as in Wireshark.
        [4, 1],
        [5, 228], // section 2, big-endian: its interface 0 is raw IPv4
        [6, 276],
        [7, 0], // section 3, little-endian again
      ]);
      expect(times(out.records)).toEqual([
        [100, 1000],
        [101, 2_000_000],
        [102, 3000],
        [200, 123],
        [201, 456],
        [0, 0], // a Simple Packet Block has no timestamp
      ]);
    });

    it('accepts an interface declared between packets', () => {
      const out = parseCaptureBytes(
        writePcapng([
          {
            interfaces: [{ linkType: 1 }],
            blocks: [
              { timeSec: 1, timeNsec: 0, data: bytesOf(4, 1) },
              { block: 'idb', linkType: 101, tsresol: 9 },
              { timeSec: 2, timeNsec: 5, data: bytesOf(4, 2), interface: 1 },
            ],
          },
        ]),
      );
      expect(out.records.map((r) => [r.linkType, r.timeSec, r.timeNsec])).toEqual([
        [1, 1, 0],
        [101, 2, 5],
      ]);
    });

    it('reads Simple Packet Blocks: interface 0, wire length from the block, no timestamp', () => {
      const out = parseCaptureBytes(
        writePcapng([
          {
            interfaces: [{ linkType: 228, snaplen: 64 }],
            blocks: [
              { block: 'spb', data: bytesOf(61, 1) },
              // Cut to the snaplen: 64 bytes stored, 1500 on the wire.
              { block: 'spb', data: bytesOf(64, 2), wireLength: 1500 },
            ],
          },
        ]),
      );
      expect(out.events).toEqual([]);
      expect(out.records.map((r) => [r.frame, r.linkType, r.timeSec, r.timeNsec, r.data.length, r.wireLength])).toEqual([
        [1, 228, 0, 0, 61, 61],
        [2, 228, 0, 0, 64, 1500],
      ]);
      expect(Array.from(out.records[0]!.data)).toEqual(Array.from(bytesOf(61, 1)));
    });

    it('takes an SPB captured length as min(original, room in the block) when no snaplen is set', () => {
      const out = parseCaptureBytes(writePcapng([{ interfaces: [{ linkType: 1 }], blocks: [{ block: 'spb', data: bytesOf(20, 1), wireLength: 9000 }] }]));
      expect([out.records[0]!.data.length, out.records[0]!.wireLength]).toEqual([20, 9000]);
    });

    it('reads the obsolete Packet Block', () => {
      const out = parseCaptureBytes(
        writePcapng([{ interfaces: [{ linkType: 1 }, { linkType: 113, tsresol: 9 }], blocks: [{ block: 'pb', interface: 1, timeSec: 5, timeNsec: 6, data: bytesOf(7, 1) }] }]),
      );
      expect(out.records.map((r) => [r.linkType, r.timeSec, r.timeNsec, r.data.length])).toEqual([[113, 5, 6, 7]]);
    });

    it('skips non-packet blocks by their length, numbering frames as Wireshark does', () => {
      const custom = new Uint8Array([0x00, 0x00, 0x7e, 0xd9, 1, 2, 3]); // PEN + 3 bytes (padded to 8)
      const blocks: PcapngBlock[] = [
        { timeSec: 1, timeNsec: 0, data: bytesOf(4, 1) },
        { block: 'raw', type: BLOCK_CUSTOM, body: custom },
        { block: 'raw', type: 0x40000bad, body: custom },
        { block: 'raw', type: 4, body: new Uint8Array(8) }, // name resolution
        { block: 'raw', type: 5, body: new Uint8Array(12) }, // interface statistics
        { block: 'raw', type: 9, body: new TextEncoder().encode('MESSAGE=hi\n') }, // systemd journal export
        { block: 'raw', type: 0x0a, body: new Uint8Array(8) }, // decryption secrets
        { block: 'raw', type: 0x12345678 },
        { timeSec: 2, timeNsec: 0, data: bytesOf(4, 2) },
      ];
      const out = parseCaptureBytes(writePcapng([{ interfaces: [{ linkType: 1 }], blocks }]));
      expect(out.events).toEqual([]);
      // tshark 4.0.17 lists both custom blocks and the journal block as frames 2-4, so the second packet is frame 5.
      expect(out.records.map((r) => [r.frame, r.timeSec])).toEqual([
        [1, 1],
        [5, 2],
      ]);
      const first = SHB_LEN + idbLen(0);
      expect(out.records[0]!.fileOffset).toBe(first);
      expect(out.records[1]!.fileOffset).toBe(first + epbLen(4) + 20 + 20 + 20 + 24 + 24 + 20 + 12);
    });

    it('reports a packet on an undeclared interface as a corrupt block, skips it and goes on', () => {
      const file = writePcapng([
        {
          interfaces: [{ linkType: 1 }],
          blocks: [
            { timeSec: 1, timeNsec: 0, data: bytesOf(4, 1) },
            { timeSec: 2, timeNsec: 0, data: bytesOf(4, 2), interface: 3 },
            { timeSec: 3, timeNsec: 0, data: bytesOf(4, 3) },
          ],
        },
      ]);
      const out = parseCaptureBytes(file);
      const bad = SHB_LEN + idbLen(0) + epbLen(4);
      expect(out.records.map((r) => [r.frame, r.timeSec])).toEqual([
        [1, 1],
        [2, 3],
      ]);
      expect(out.events).toEqual([
        expect.objectContaining({ event: 'corrupt-block', offset: bad, frame: 1, message: expect.stringMatching(new RegExp(`offset ${bad}.*interface 3`)) }),
      ]);
    });

    it('reports an SPB in a section without interfaces and an EPB whose captured length overruns its block', () => {
      const file = writePcapng([{ blocks: [{ block: 'spb', data: bytesOf(8, 1) }] }, { interfaces: [{ linkType: 1 }], blocks: [{ timeSec: 1, timeNsec: 0, data: bytesOf(8, 1) }] }]);
      const epb = SHB_LEN + 24 + SHB_LEN + idbLen(0);
      new DataView(file.buffer).setUint32(epb + 20, 9, true); // caplen 9 in a block with room for 8
      const out = parseCaptureBytes(file);
      expect(out.records).toEqual([]);
      expect(out.events.map((e) => [e.event, e.offset])).toEqual([
        ['corrupt-block', SHB_LEN],
        ['corrupt-block', epb],
      ]);
    });

    it('notes an interface that declares an FCS length', () => {
      const out = parseCaptureBytes(writePcapng([{ interfaces: [{ linkType: 1, fcslen: 4 }] }]));
      expect(out.events).toEqual([expect.objectContaining({ event: 'capture-note', offset: SHB_LEN, message: expect.stringContaining('4-byte FCS') })]);
    });
  });

  describe('corrupt block lengths', () => {
    const file = (): Uint8Array => writePcapngSimple(FRAMES.slice(0, 3));
    const second = SHB_LEN + idbLen(0) + epbLen(FRAMES[0]!.data.length);
    const cases: [string, (dv: DataView) => void, RegExp][] = [
      ['not a multiple of 4', (dv) => dv.setUint32(second + 4, epbLen(0) + 2, true), /not a multiple of 4/],
      ['shorter than 12', (dv) => dv.setUint32(second + 4, 8, true), /shorter than the minimum of 12/],
      ['more than 256 MiB', (dv) => dv.setUint32(second + 4, 0x40000000, true), /more than the limit of 268435456/],
      ['trailing length mismatch', (dv) => dv.setUint32(second + epbLen(0) - 4, 1234, true), /trailing length 1234/],
    ];
    for (const [label, damage, message] of cases) {
      it(`reports a block length ${label} with its offset and stops`, () => {
        const bytes = file();
        damage(new DataView(bytes.buffer));
        for (const chunkSize of [undefined, 1, 5]) {
          const out = parseCaptureBytes(bytes, chunkSize === undefined ? {} : { chunkSize });
          expect(out.error).toBeNull();
          expect(out.records.map((r) => r.frame)).toEqual([1]);
          expect(out.events).toHaveLength(1);
          expect(out.events[0]).toMatchObject({ event: 'corrupt-block', offset: second, frame: 1 });
          expect(out.events[0]!.message).toMatch(message);
          expect(out.events[0]!.message).toContain(`offset ${second}`);
        }
      });
    }

    it('reports a later section header with a bad byte-order magic and stops', () => {
      const bytes = writePcapng([{ interfaces: [{ linkType: 1 }], blocks: [FRAMES[0]!] }, { interfaces: [{ linkType: 1 }], blocks: [FRAMES[1]!] }]);
      const shb2 = SHB_LEN + idbLen(0) + epbLen(60);
      bytes[shb2 + 8] = 0x99;
      const out = parseCaptureBytes(bytes);
      expect(out.records).toHaveLength(1);
      expect(out.events).toEqual([expect.objectContaining({ event: 'corrupt-block', offset: shb2, message: expect.stringContaining('byte-order magic') })]);
    });

    it('does not allocate a huge declared block: holds only the bytes actually pushed', () => {
      const head = writePcapngSimple([]);
      const claimed = 200 * 1024 * 1024;
      const blockHead = new Uint8Array(12);
      new DataView(blockHead.buffer).setUint32(0, 6, true);
      new DataView(blockHead.buffer).setUint32(4, claimed, true);
      const events: CaptureEvent[] = [];
      const parser = new CaptureParser({ record: () => undefined, event: (e) => events.push(e) }, 'huge.pcapng');
      const before = process.memoryUsage();
      parser.push(head);
      parser.push(blockHead);
      let pushed = head.length + blockHead.length;
      const chunk = new Uint8Array(64 * 1024);
      for (let i = 0; i < 16; i++) {
        parser.push(chunk);
        pushed += chunk.length;
      }
      expect(parser.bufferedBytes).toBeLessThanOrEqual(pushed - head.length);
      const after = process.memoryUsage();
      expect(after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)).toBeLessThan(claimed / 4);
      parser.end();
      expect(events).toEqual([
        expect.objectContaining({ event: 'file-truncated', offset: head.length, message: expect.stringContaining(`${claimed - (pushed - head.length)} missing`) }),
      ]);
    });
  });

  describe('truncation', () => {
    it('reports a last block cut short with its offset and the missing byte count, keeping earlier records', () => {
      const bytes = writePcapngSimple(FRAMES);
      const last = bytes.length - epbLen(3001);
      for (const chunkSize of [undefined, 1, 1000]) {
        const out = parseCaptureBytes(bytes.subarray(0, bytes.length - 100), chunkSize === undefined ? {} : { chunkSize });
        expect(out.records.map((r) => r.frame)).toEqual([1, 2, 3]);
        expect(out.events).toEqual([
          expect.objectContaining({ event: 'file-truncated', offset: last, frame: 3, message: expect.stringMatching(new RegExp(`offset ${last}.*100 missing`)) }),
        ]);
      }
    });

    it('reports a block cut inside its header', () => {
      const bytes = writePcapngSimple(FRAMES.slice(0, 1));
      const out = parseCaptureBytes(new Uint8Array([...bytes, 6, 0, 0]));
      expect(out.records).toHaveLength(1);
      expect(out.events).toEqual([expect.objectContaining({ event: 'file-truncated', offset: bytes.length, message: expect.stringContaining('5 missing') })]);
    });

    it('reports a later section header cut before its byte-order magic', () => {
      const one = writePcapngSimple(FRAMES.slice(0, 1));
      const two = writePcapng([{ interfaces: [{ linkType: 1 }], blocks: [FRAMES[0]!] }, {}]);
      const out = parseCaptureBytes(two.subarray(0, one.length + 10));
      expect(out.records).toHaveLength(1);
      expect(out.events).toEqual([
        expect.objectContaining({ event: 'file-truncated', offset: one.length, message: expect.stringContaining('10 of 12 header bytes present, 2 missing') }),
      ]);
    });

    it('reports a cut block whose length field is not valid either', () => {
      const bytes = writePcapngSimple(FRAMES.slice(0, 1));
      const out = parseCaptureBytes(new Uint8Array([...bytes, 6, 0, 0, 0, 5, 0, 0, 0, 1]));
      expect(out.events).toEqual([
        expect.objectContaining({ event: 'file-truncated', offset: bytes.length, message: expect.stringContaining('cut short after 9 bytes') }),
      ]);
    });
  });

  describe('unreadable input', () => {
    const shb = (): Uint8Array => writePcapng([{}]);
    const cases: [string, () => Uint8Array, RegExp][] = [
      ['a section header cut short', () => shb().subarray(0, 20), /^cap\.pcapng: pcapng section header block cut short \(20 of 28 bytes\)$/],
      ['only the magic', () => shb().subarray(0, 4), /^cap\.pcapng: pcapng section header block cut short \(4 of 12 bytes\)$/],
      [
        'a bad byte-order magic',
        () => {
          const b = shb();
          b[8] = 0;
          return b;
        },
        /^cap\.pcapng: section header block at offset 0 has an unknown byte-order magic 00 3c 2b 1a$/,
      ],
      [
        'an unsupported version',
        () => {
          const b = shb();
          b[12] = 2;
          return b;
        },
        /^cap\.pcapng: section header block at offset 0 has pcapng version 2\.0/,
      ],
      [
        'a section header with a bad length',
        () => {
          const b = shb();
          b[4] = 30;
          return b;
        },
        /^cap\.pcapng: block at offset 0 .*length 30, not a multiple of 4/,
      ],
    ];
    for (const [label, make, message] of cases) {
      it(`throws CaptureFormatError for ${label}`, () => {
        const out = parseCaptureBytes(make(), { name: 'cap.pcapng' });
        expect(out.error).toBeInstanceOf(CaptureFormatError);
        expect(out.error!.message).toMatch(message);
      });
    }

    it('accepts a file with a section header and nothing else', () => {
      expect(parseCaptureBytes(writePcapng([{}]))).toEqual({ records: [], events: [], error: null });
    });
  });

  it('survives hundreds of random mutations: only records, events or CaptureFormatError', () => {
    const base = writePcapng(multiSection());
    fc.assert(
      fc.property(mutatedCaptureArb(base), fc.integer({ min: 1, max: 97 }), (bytes, chunkSize) => {
        const out = parseCaptureBytes(bytes, { chunkSize });
        expect(captureInvariantProblems(out, bytes.length)).toEqual([]);
        const whole = parseCaptureBytes(bytes);
        expect(plain(out.records)).toEqual(plain(whole.records));
        expect(out.events).toEqual(whole.events);
        expect(out.error?.message).toEqual(whole.error?.message);
      }),
      { numRuns: 500 },
    );
  });
});

/** Three sections: LE with two interfaces, BE with a different interface list, LE again with interface 0 only. */
function multiSection(): PcapngSection[] {
  const d = (n: number): Uint8Array => bytesOf(n, n);
  return [
    {
      interfaces: [{ linkType: 1 }, { linkType: 113, tsresol: 3 }],
      blocks: [
        { timeSec: 100, timeNsec: 1000, data: d(60) },
        { timeSec: 101, timeNsec: 2_000_000, data: d(5), interface: 1 },
        { block: 'raw', type: BLOCK_CUSTOM, body: d(9) },
        { timeSec: 102, timeNsec: 3000, data: d(0) },
      ],
    },
    {
      bigEndian: true,
      interfaces: [{ linkType: 228, tsresol: 9 }, { linkType: 276, tsresol: 0x80 | 30 }],
      blocks: [
        { timeSec: 200, timeNsec: 123, data: d(40) },
        // 456 ns is no whole number of 2^-30 s units: 490 units are 456.3 ns, truncated to 456.
        { timeSec: 201, timeNsec: 456, data: d(41), interface: 1, rawTimestamp: (201n << 30n) + 490n },
      ],
    },
    { interfaces: [{ linkType: 0 }], blocks: [{ block: 'spb', data: d(12) }] },
  ];
}
