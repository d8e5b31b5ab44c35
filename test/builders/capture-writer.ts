/**
 * Builds pcap and pcapng files in memory for tests. Every writer returns the whole file as one Uint8Array; corrupt
 * variants are made by patching the returned bytes (offsets: see pcapRecordOffsets, or compute from block sizes).
 * parseCaptureBytes reads bytes back through the real parser, pushed in whatever chunks a test wants;
 * mutatedCaptureArb and captureInvariantProblems drive fuzz tests (random damage, and what must hold regardless).
 */

import fc from 'fast-check';
import { CaptureParser } from '../../src/capture/reader.js';
import { CaptureFormatError, type CaptureEvent, type CaptureRecord } from '../../src/capture/types.js';

/** One frame as the tests describe it. */
export interface FrameSpec {
  timeSec: number;
  /** 0..999,999,999. */
  timeNsec: number;
  /** Captured bytes. */
  data: Uint8Array;
  /** Length on the wire (default: data.length). */
  wireLength?: number;
  /** pcapng: index of the interface within its section (default 0). Ignored by writePcap. */
  interface?: number;
}

export interface PcapOptions {
  /** Written as the whole 32-bit link-type field, so FCS bits in the upper half can be tested (default 1, Ethernet). */
  linkType?: number;
  /** Nanosecond magic a1b23c4d instead of microsecond a1b2c3d4 (default false). */
  nanosecond?: boolean;
  bigEndian?: boolean;
  /** Default 262144. */
  snaplen?: number;
  /** Default [2, 4]. */
  version?: readonly [number, number];
}

export const PCAP_FILE_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;

/** File offsets of each record's header in writePcap(frames). */
export function pcapRecordOffsets(frames: readonly FrameSpec[]): number[] {
  const out: number[] = [];
  let at = PCAP_FILE_HEADER_LENGTH;
  for (const f of frames) {
    out.push(at);
    at += PCAP_RECORD_HEADER_LENGTH + f.data.length;
  }
  return out;
}

export function writePcap(frames: readonly FrameSpec[], opts: PcapOptions = {}): Uint8Array {
  let size = PCAP_FILE_HEADER_LENGTH;
  for (const f of frames) size += PCAP_RECORD_HEADER_LENGTH + f.data.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  const le = !opts.bigEndian;
  const [major, minor] = opts.version ?? [2, 4];
  dv.setUint32(0, opts.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, le);
  dv.setUint16(4, major, le);
  dv.setUint16(6, minor, le);
  dv.setUint32(16, opts.snaplen ?? 262144, le);
  dv.setUint32(20, (opts.linkType ?? 1) >>> 0, le);
  const fracDiv = opts.nanosecond ? 1 : 1000;
  let at = PCAP_FILE_HEADER_LENGTH;
  for (const f of frames) {
    dv.setUint32(at, f.timeSec, le);
    dv.setUint32(at + 4, Math.floor(f.timeNsec / fracDiv), le);
    dv.setUint32(at + 8, f.data.length, le);
    dv.setUint32(at + 12, f.wireLength ?? f.data.length, le);
    out.set(f.data, at + PCAP_RECORD_HEADER_LENGTH);
    at += PCAP_RECORD_HEADER_LENGTH + f.data.length;
  }
  return out;
}

// ---- pcapng ----------------------------------------------------------------------------------------------------------

export interface PcapngInterface {
  linkType: number;
  /** Default 0 (no limit). */
  snaplen?: number;
  /** Raw if_tsresol byte: 6 = microseconds (also the default when absent), 9 = ns, 3 = ms, 0x80 | 20 = 2^-20 s. */
  tsresol?: number;
  /** if_tsoffset in seconds; timestamps are written relative to it. */
  tsoffset?: number;
  /** if_fcslen option. */
  fcslen?: number;
}

/** A frame for an Enhanced (or obsolete) Packet Block. */
export interface PcapngFrame extends FrameSpec {
  /** Written as the 64-bit timestamp instead of converting timeSec/timeNsec (to test raw counts). */
  rawTimestamp?: bigint;
}

export type PcapngBlock =
  | ({ block?: 'epb' } & PcapngFrame)
  /** Obsolete Packet Block (type 2). */
  | ({ block: 'pb' } & PcapngFrame)
  /** Simple Packet Block: interface 0, no timestamp; data is stored as given (cut it yourself for a snaplen). */
  | { block: 'spb'; data: Uint8Array; wireLength?: number }
  /** An Interface Description Block in the middle of the section. */
  | ({ block: 'idb' } & PcapngInterface)
  /** Any other block, e.g. a custom block (0x00000BAD) or name resolution (4): skipped by readers. */
  | { block: 'raw'; type: number; body?: Uint8Array };

export interface PcapngSection {
  bigEndian?: boolean;
  /** Written as IDBs right after the section header, before `blocks`. */
  interfaces?: readonly PcapngInterface[];
  blocks?: readonly PcapngBlock[];
}

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 1;
export const BLOCK_PB = 2;
export const BLOCK_SPB = 3;
export const BLOCK_EPB = 6;
export const BLOCK_CUSTOM = 0x00000bad;

/** Seconds per timestamp unit of an if_tsresol byte, as an exact fraction 1 / unitsPerSecond. */
export function tsresolUnitsPerSecond(tsresol = 6): bigint {
  const n = BigInt(tsresol & 0x7f);
  return tsresol & 0x80 ? 1n << n : 10n ** n;
}

/** The 64-bit timestamp a pcapng writer stores for a time, in an interface's units (sub-unit parts truncated). */
export function pcapngTimestamp(timeSec: number, timeNsec: number, iface: PcapngInterface): bigint {
  const ns = (BigInt(timeSec) - BigInt(iface.tsoffset ?? 0)) * 1_000_000_000n + BigInt(timeNsec);
  return (ns * tsresolUnitsPerSecond(iface.tsresol)) / 1_000_000_000n;
}

/** Writes pcapng blocks of one byte order. */
class BlockWriter {
  constructor(
    private readonly le: boolean,
    private readonly parts: Uint8Array[],
  ) {}

  /** Appends a block: type, length, the body (padded to 4) and the trailing length. */
  block(type: number, body: Uint8Array): void {
    const padded = (body.length + 3) & ~3;
    const total = 12 + padded;
    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, type >>> 0, this.le);
    dv.setUint32(4, total, this.le);
    out.set(body, 8);
    dv.setUint32(total - 4, total, this.le);
    this.parts.push(out);
  }

  /** A body builder in this writer's byte order. */
  body(): BodyBuilder {
    return new BodyBuilder(this.le);
  }
}

class BodyBuilder {
  private parts: Uint8Array[] = [];
  private length = 0;
  constructor(private readonly le: boolean) {}

  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, this.le);
    return this.raw(b);
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, this.le);
    return this.raw(b);
  }
  /** A real 64-bit integer (options such as if_tsoffset), unlike the split packet timestamps. */
  u64(v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), this.le);
    return this.raw(b);
  }
  raw(data: Uint8Array): this {
    this.parts.push(data);
    this.length += data.length;
    return this;
  }
  pad4(): this {
    const n = (4 - (this.length % 4)) % 4;
    return n > 0 ? this.raw(new Uint8Array(n)) : this;
  }
  option(code: number, value: BodyBuilder | Uint8Array): this {
    const v = value instanceof Uint8Array ? value : value.done();
    return this.u16(code).u16(v.length).raw(v).pad4();
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function writeInterface(w: BlockWriter, iface: PcapngInterface): void {
  const b = w.body().u16(iface.linkType).u16(0).u32(iface.snaplen ?? 0);
  let options = false;
  if (iface.tsresol !== undefined) {
    b.option(9, Uint8Array.of(iface.tsresol));
    options = true;
  }
  if (iface.tsoffset !== undefined) {
    b.option(14, w.body().u64(BigInt(iface.tsoffset)));
    options = true;
  }
  if (iface.fcslen !== undefined) {
    b.option(13, Uint8Array.of(iface.fcslen));
    options = true;
  }
  if (options) b.u16(0).u16(0);
  w.block(BLOCK_IDB, b.done());
}

export function writePcapng(sections: readonly PcapngSection[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const section of sections) {
    const le = !section.bigEndian;
    const w = new BlockWriter(le, parts);
    // Section length -1: "not specified", as streaming writers do.
    w.block(BLOCK_SHB, w.body().u32(0x1a2b3c4d).u16(1).u16(0).u64(-1n).done());
    const ifaces: PcapngInterface[] = [];
    for (const iface of section.interfaces ?? []) {
      writeInterface(w, iface);
      ifaces.push(iface);
    }
    for (const blk of section.blocks ?? []) {
      switch (blk.block) {
        case 'idb':
          writeInterface(w, blk);
          ifaces.push(blk);
          break;
        case 'spb': {
          const body = w.body().u32(blk.wireLength ?? blk.data.length).raw(blk.data).pad4();
          w.block(BLOCK_SPB, body.done());
          break;
        }
        case 'raw':
          w.block(blk.type, blk.body ?? new Uint8Array(0));
          break;
        default: {
          const ifId = blk.interface ?? 0;
          const iface = ifaces[ifId] ?? { linkType: 1 };
          const ts = blk.rawTimestamp ?? pcapngTimestamp(blk.timeSec, blk.timeNsec, iface);
          const body = w.body();
          if (blk.block === 'pb') body.u16(ifId).u16(0);
          else body.u32(ifId);
          // Packet timestamps are two 32-bit words, high word first in either byte order (not one 64-bit integer).
          const wide = BigInt.asUintN(64, ts);
          body.u32(Number(wide >> 32n)).u32(Number(wide & 0xffffffffn));
          body.u32(blk.data.length).u32(blk.wireLength ?? blk.data.length).raw(blk.data).pad4();
          w.block(blk.block === 'pb' ? BLOCK_PB : BLOCK_EPB, body.done());
        }
      }
    }
  }
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The common case: one little-endian section, one interface, every frame an EPB on it. */
export function writePcapngSimple(
  frames: readonly PcapngFrame[],
  opts: { linkType?: number; tsresol?: number; bigEndian?: boolean } = {},
): Uint8Array {
  const iface: PcapngInterface = { linkType: opts.linkType ?? 1 };
  if (opts.tsresol !== undefined) iface.tsresol = opts.tsresol;
  return writePcapng([{ bigEndian: opts.bigEndian ?? false, interfaces: [iface], blocks: frames.map((f) => ({ ...f, interface: 0 })) }]);
}

// ---- reading back ----------------------------------------------------------------------------------------------------

export interface ParsedCapture {
  records: CaptureRecord[];
  events: CaptureEvent[];
  /** Set when the parser rejected the input as a whole; records/events hold what came before. */
  error: CaptureFormatError | null;
}

/**
 * Runs bytes through a CaptureParser and collects everything it reports. `chunkSize` (default: all at once) or
 * explicit `splits` (ascending cut offsets) decide how the bytes are pushed. Only CaptureFormatError is caught.
 */
export function parseCaptureBytes(
  bytes: Uint8Array,
  opts: { chunkSize?: number; splits?: readonly number[]; name?: string } = {},
): ParsedCapture {
  const out: ParsedCapture = { records: [], events: [], error: null };
  const parser = new CaptureParser({ record: (r) => out.records.push(r), event: (e) => out.events.push(e) }, opts.name ?? 'test.pcap');
  const cuts = opts.splits ?? [];
  const step = opts.chunkSize ?? Math.max(bytes.length, 1);
  try {
    if (opts.splits) {
      let from = 0;
      for (const cut of [...cuts, bytes.length]) {
        parser.push(bytes.subarray(from, cut));
        from = cut;
      }
    } else {
      for (let at = 0; at < bytes.length; at += step) parser.push(bytes.subarray(at, at + step));
    }
    parser.end();
  } catch (err) {
    if (!(err instanceof CaptureFormatError)) throw err;
    out.error = err;
  }
  return out;
}

// ---- damage ----------------------------------------------------------------------------------------------------------

/** Random damage to a valid file: bit flips, overwritten 32-bit words (length fields), cuts and inserted junk. */
export function mutatedCaptureArb(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({
      kind: fc.constant('word' as const),
      at: fc.nat(),
      value: fc.oneof(fc.nat(), fc.constantFrom(0, 3, 11, 12, 0x7fffffff, 0xffffffff, 0x10000000)),
      le: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), junk: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  );
  return fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => {
    let b = base.slice();
    for (const o of ops) {
      const at = b.length === 0 ? 0 : o.at % b.length;
      if (o.kind === 'flip') {
        if (b.length > 0) b[at]! ^= 1 << o.bit;
      } else if (o.kind === 'word') {
        // Aligned, so it tends to land on length and interface fields.
        const w = at & ~3;
        if (w + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(w, o.value >>> 0, o.le);
      } else if (o.kind === 'cut') {
        b = b.slice(0, at);
      } else {
        const next = new Uint8Array(b.length + o.junk.length);
        next.set(b.subarray(0, at));
        next.set(o.junk, at);
        next.set(b.subarray(at), at + o.junk.length);
        b = next;
      }
    }
    return b;
  });
}

/** What is wrong with a parse result whatever the input was; [] when it is consistent. */
export function captureInvariantProblems(out: ParsedCapture, inputLength: number): string[] {
  const problems: string[] = [];
  out.records.forEach((r, i) => {
    // Numbers may skip (pcapng custom blocks take one, as in Wireshark) but never repeat or go back.
    const prev = i === 0 ? 0 : out.records[i - 1]!.frame;
    if (!Number.isInteger(r.frame) || r.frame <= prev) problems.push(`record ${i} has frame ${r.frame} after ${prev}`);
    if (!(r.timeNsec >= 0 && r.timeNsec < 1e9 && Number.isInteger(r.timeNsec))) problems.push(`frame ${r.frame}: timeNsec ${r.timeNsec}`);
    if (!Number.isFinite(r.timeSec)) problems.push(`frame ${r.frame}: timeSec ${r.timeSec}`);
    if (r.fileOffset + r.data.length > inputLength) problems.push(`frame ${r.frame}: data beyond the input`);
    if (i > 0 && r.fileOffset <= out.records[i - 1]!.fileOffset) problems.push(`frame ${r.frame}: offset not increasing`);
  });
  for (const e of out.events) {
    if (e.offset > inputLength || e.offset < 0) problems.push(`event at offset ${e.offset} outside the input`);
    if (e.message.length === 0 || e.message.includes('\n')) problems.push(`event message ${JSON.stringify(e.message)}`);
  }
  if (out.error && out.error.message.includes('\n')) problems.push('multi-line error');
  return problems;
}
