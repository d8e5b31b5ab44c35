import { CaptureFormatError, type CaptureSink } from './types.js';

/**
 * Largest pcap record or pcapng block we are willing to collect. The biggest frame any link type allows (a D-Bus
 * message, 128 MiB) fits with room to spare; anything bigger is a damaged length field, and collecting it would hold
 * that much memory before we could notice.
 */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/**
 * Captured length that every pcap may use whatever its snaplen says: 262144 is libpcap's own maximum snaplen, and
 * writers that store 0 or 65535 as snaplen still emit frames up to it.
 */
export const PCAP_CAPLEN_FLOOR = 262144;

const PCAP_HEADER = 24;
const PCAP_RECORD_HEADER = 16;
/** Type, length and the byte-order magic of a section header: enough to size any block. */
const PCAPNG_BLOCK_PEEK = 12;
/** Enhanced and obsolete packet blocks: 28 bytes before the data plus the trailing length. */
const PACKET_BLOCK_OVERHEAD = 32;

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
const BT_SYSTEMD_JOURNAL = 9;
/** Decryption Secrets Block: secrets type, secrets length, the secrets (pcapng spec 4.8). */
const BT_DSB = 0x0000000a;
const BT_CUSTOM = 0x00000bad;
const BT_CUSTOM_NOCOPY = 0x40000bad;
const BOM = 0x1a2b3c4d;
const BOM_SWAPPED = 0x4d3c2b1a;

const OPT_END = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_FCSLEN = 13;
const OPT_IF_TSOFFSET = 14;

const S_MAGIC = 0;
const S_PCAP_HEADER = 1;
const S_PCAP = 2;
const S_PCAPNG = 3;
const S_DONE = 4;

/** How an interface's 64-bit timestamps are split into seconds and nanoseconds. */
const TS_NUMBER = 0; // 10^k (k <= 9) or 2^n (n <= 32) units per second: double arithmetic stays exact
const TS_BIGINT = 1; // finer resolutions: rare enough for BigInt

const TWO32 = 4294967296;

interface Iface {
  linkType: number;
  snaplen: number;
  tsMode: number;
  /** Timestamp units per second (TS_NUMBER). */
  units: number;
  /** Units are 10^k with k <= 9: nanoseconds = remainder * nsPerUnit. */
  nsPerUnit: number;
  /** Units are 2^n with 9 < n <= 32: nanoseconds = floor(remainder * 1953125 / 2^(n-9)). */
  binShift: number;
  unitsBig: bigint;
  /** if_tsoffset: seconds added to every timestamp. */
  tsOffset: number;
}

function hexBytes(b: Uint8Array, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < Math.min(n, b.length); i++) out.push(b[i]!.toString(16).padStart(2, '0'));
  return out.join(' ');
}

/** Names common things people feed a capture tool by mistake, so the error says what to do instead. */
function describeNonCapture(b: Uint8Array): { what: string; command?: string } {
  const b0 = b[0]!;
  const b1 = b[1]!;
  const b2 = b[2]!;
  const b3 = b[3]!;
  if (b0 === 0x1f && b1 === 0x8b) return { what: 'gzip-compressed data, decompress it first' };
  // Not read directly (docs/decisions.md: zstd in JavaScript costs more than the tool's own pipe); the command that
  // reads it is named, with `-` for stdin, which the tool reads as a stream.
  if (b0 === 0x28 && b1 === 0xb5 && b2 === 0x2f && b3 === 0xfd) return { what: 'zstd-compressed data, not read directly', command: 'zstd -dc FILE | mqtt-dissect [options] -' };
  if (b0 === 0xfd && b1 === 0x37 && b2 === 0x7a && b3 === 0x58) return { what: 'xz-compressed data, not read directly', command: 'xz -dc FILE | mqtt-dissect [options] -' };
  if (b0 === 0x42 && b1 === 0x5a && b2 === 0x68) return { what: 'bzip2-compressed data, not read directly', command: 'bzip2 -dc FILE | mqtt-dissect [options] -' };
  if (b0 === 0x50 && b1 === 0x4b && b2 === 0x03 && b3 === 0x04) return { what: 'a zip archive' };
  if ((b0 === 0xa1 && b1 === 0xb2 && b2 === 0xcd && b3 === 0x34) || (b0 === 0x34 && b1 === 0xcd && b2 === 0xb2 && b3 === 0xa1)) {
    return { what: 'a modified (Kuznetsov) pcap, which is not supported; convert it with editcap -F pcap' };
  }
  if (b0 === 0x73 && b1 === 0x6e && b2 === 0x6f && b3 === 0x6f) return { what: 'a snoop capture; convert it with editcap -F pcap' };
  if (b0 === 0x47 && b1 === 0x4d && b2 === 0x42 && b3 === 0x55) return { what: 'a Network Monitor capture; convert it with editcap -F pcap' };
  let text = true;
  for (let i = 0; i < b.length && i < 64; i++) {
    const c = b[i]!;
    if (!(c === 9 || c === 10 || c === 13 || (c >= 0x20 && c < 0x7f))) text = false;
  }
  if (text) return { what: 'looks like text' };
  return { what: '' };
}

/** Copies pieces into one fresh array of exactly `total` bytes (the caller has checked they add up). */
function concat(pieces: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** The first `n` bytes (or fewer) of a list of pieces, without copying the rest. */
function prefix(pieces: Uint8Array[], n: number): Uint8Array {
  const out: number[] = [];
  for (const piece of pieces) {
    for (let i = 0; i < piece.length && out.length < n; i++) out.push(piece[i]!);
    if (out.length >= n) break;
  }
  return Uint8Array.from(out);
}

/**
 * Push-based pcap / pcapng reader. Feed it chunks as they arrive, in any sizes; it calls `sink.record` for each
 * frame as soon as the frame's last byte is in, and holds back only the bytes of the one record in progress.
 *
 * Ownership: a chunk is read only while push() runs; the bytes of a record in progress are copied, so the caller may
 * overwrite the chunk afterwards (readCapture reuses one read buffer, keeping memory flat). Records that lie wholly
 * inside one chunk are handed out as views of it (no copy) and are valid only during the sink call: a consumer that
 * keeps bytes beyond it must copy them.
 *
 * Problems inside the file become `sink.event` calls; input that is not a capture at all throws CaptureFormatError
 * from push() (as soon as the first bytes prove it) or end().
 */
export class CaptureParser {
  private readonly sink: CaptureSink;
  private readonly name: string;

  private state = S_MAGIC;
  private fileFormat: 'pcap' | 'pcapng' | null = null;
  private failure: CaptureFormatError | null = null;
  private ended = false;
  /** File offset of the first byte not yet consumed: the start of the pending unit. */
  private pos = 0;
  private frame = 0;

  // The unit (file header, record or block) whose bytes are still arriving.
  private pending: Uint8Array[] = [];
  private pendingLen = 0;
  /** Total length of the pending unit once its header was complete, else -1. */
  private unitLen = -1;

  /** Byte order of the pcap file or the current pcapng section. */
  private le = true;

  // pcap
  private nanosecond = false;
  private linkType = 0;
  private maxCaplen = 0;

  // pcapng
  private ifaces: Iface[] = [];
  private sections = 0;
  /** Decryption Secrets Blocks read so far (to name them in messages). */
  private secretsBlocks = 0;

  // Scratch output of splitTime(); fields rather than a returned object so the per-frame path allocates nothing.
  private tSec = 0;
  private tNsec = 0;

  /** `firstFrame`: frames already read from earlier files of the same run; numbering continues after them. */
  constructor(sink: CaptureSink, name: string, firstFrame = 0) {
    this.sink = sink;
    this.name = name;
    this.frame = firstFrame;
  }

  /** Number of the last frame handed out (or taken by a block Wireshark counts as a frame). */
  get lastFrame(): number {
    return this.frame;
  }

  /** Bytes held back for the record in progress (bounded by that record's real size, never by a length field). */
  get bufferedBytes(): number {
    return this.pendingLen;
  }

  /** True once the parser needs no more input: it stopped at a corrupt block, failed, or was ended. */
  get finished(): boolean {
    return this.state === S_DONE;
  }

  /** 'pcap' or 'pcapng' once the magic number was seen. */
  get format(): 'pcap' | 'pcapng' | null {
    return this.fileFormat;
  }

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error('CaptureParser.push() after end()');
    if (this.state === S_DONE || chunk.length === 0) return;
    // Node Buffers make every subarray() go through a species lookup; a plain view over the same memory is faster
    // and gives every record the same Uint8Array type.
    const buf = chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      let p = 0;
      if (this.pendingLen > 0) {
        p = this.completePending(buf);
        if (p < 0) return;
      }
      this.consume(buf, p);
    } catch (err) {
      if (err instanceof CaptureFormatError) this.fail(err);
      throw err;
    }
  }

  end(): void {
    if (this.failure) throw this.failure;
    if (this.ended) return;
    this.ended = true;
    const state = this.state;
    this.state = S_DONE;
    const have = this.pendingLen;
    const seen = this.pos + have;
    if (state === S_DONE) return;
    if (state === S_MAGIC) {
      if (seen === 0) this.throwFormat('empty input, not a pcap or pcapng file');
      this.throwFormat(`too short to be a capture file (${seen} byte${seen === 1 ? '' : 's'}: ${hexBytes(prefix(this.pending, 4), 4)})`);
    }
    if (state === S_PCAP_HEADER) this.throwFormat(`pcap file header cut short (${have} of ${PCAP_HEADER} bytes)`);
    if (state === S_PCAPNG && this.sections === 0) {
      const need = this.unitLen > 0 ? this.unitLen : PCAPNG_BLOCK_PEEK;
      this.throwFormat(`pcapng section header block cut short (${have} of ${need} bytes)`);
    }
    if (have === 0) return;
    const what = state === S_PCAP ? 'record' : 'block';
    const head = prefix(this.pending, PCAPNG_BLOCK_PEEK);
    let headerLen = PCAP_RECORD_HEADER;
    let declared = this.unitLen;
    if (state === S_PCAPNG) {
      // A block header is 8 bytes; a section header also needs its byte-order magic before its length means anything.
      headerLen = isSectionHeader(head, 0) ? PCAPNG_BLOCK_PEEK : 8;
      if (declared < 0 && have >= headerLen) {
        const len = this.u32(head, 4);
        if (len >= 12 && len <= MAX_RECORD_BYTES) declared = len;
      }
    }
    const at = `offset ${this.pos}`;
    const message =
      declared >= 0
        ? `last ${what} at ${at} cut short: ${have} of ${declared} bytes present, ${declared - have} missing`
        : have < headerLen
          ? `${what} header at ${at} cut short: ${have} of ${headerLen} header bytes present, ${headerLen - have} missing`
          : `${what} at ${at} cut short after ${have} bytes (its length field ${this.u32(head, 4)} is not valid either)`;
    this.releasePending();
    this.sink.event({ event: 'file-truncated', offset: this.pos, frame: this.frame, message });
  }

  // ---- framing ---------------------------------------------------------------------------------------------------

  private headerNeed(): number {
    switch (this.state) {
      case S_MAGIC:
        return 4;
      case S_PCAP_HEADER:
        return PCAP_HEADER;
      case S_PCAP:
        return PCAP_RECORD_HEADER;
      default:
        return PCAPNG_BLOCK_PEEK;
    }
  }

  /**
   * Completes the pending unit from the front of `buf`. Returns where in `buf` normal parsing resumes, or -1 when
   * `buf` was absorbed (or parsing stopped).
   */
  private completePending(buf: Uint8Array): number {
    let off = 0;
    for (;;) {
      if (this.unitLen < 0) {
        const need = this.headerNeed() - this.pendingLen;
        const take = Math.min(need, buf.length - off);
        if (take > 0) {
          this.pending.push(buf.slice(off, off + take));
          this.pendingLen += take;
          off += take;
        }
        if (take < need) return -1;
        const head = this.pending.length === 1 ? this.pending[0]! : concat(this.pending, this.pendingLen);
        this.pending = [head];
        const len = this.unitLength(head, 0);
        if (len < 0) return -1;
        if (len === 0) continue; // magic recognised; the same bytes now start the file header
        this.unitLen = len;
      }
      const want = this.unitLen - this.pendingLen;
      if (buf.length - off < want) {
        if (off < buf.length) {
          this.pending.push(buf.slice(off));
          this.pendingLen += buf.length - off;
        }
        return -1;
      }
      // The last piece is only read by concat() below, before push() returns: a view is enough.
      this.pending.push(buf.subarray(off, off + want));
      off += want;
      const len = this.unitLen;
      const unit = concat(this.pending, len);
      this.releasePending();
      this.processUnit(unit, 0, len);
      return this.state === S_DONE ? -1 : off;
    }
  }

  /** Parses every complete unit in `buf` from `p` on and keeps the incomplete tail as pending. */
  private consume(buf: Uint8Array, p: number): void {
    const end = buf.length;
    while (this.state !== S_DONE) {
      if (this.state === S_PCAP) {
        p = this.pcapRun(buf, p);
        if (this.finished) return;
      }
      const avail = end - p;
      if (avail < this.headerNeed()) break;
      const len = this.unitLength(buf, p);
      if (len < 0) return;
      if (len === 0) continue;
      if (avail < len) {
        this.unitLen = len;
        break;
      }
      this.processUnit(buf, p, len);
      p += len;
    }
    if (this.state !== S_DONE && p < end) {
      this.pending.push(buf.slice(p));
      this.pendingLen = end - p;
    }
  }

  private releasePending(): void {
    this.pending = [];
    this.pendingLen = 0;
    this.unitLen = -1;
  }

  /**
   * Reads the header of the unit at `p` (headerNeed() bytes are there) and returns the unit's total length;
   * 0 when only the parser state changed; -1 when reading stopped.
   */
  private unitLength(b: Uint8Array, p: number): number {
    switch (this.state) {
      case S_MAGIC:
        this.detect(b, p);
        return 0;
      case S_PCAP_HEADER:
        return PCAP_HEADER;
      case S_PCAP: {
        const caplen = this.u32(b, p + 8);
        if (caplen > this.maxCaplen) {
          this.corruptCaplen(caplen);
          return -1;
        }
        return PCAP_RECORD_HEADER + caplen;
      }
      default:
        return this.blockLength(b, p);
    }
  }

  /** Handles one complete unit starting at file offset `pos` and advances `pos` past it (unless reading stopped). */
  private processUnit(b: Uint8Array, p: number, len: number): void {
    switch (this.state) {
      case S_PCAP_HEADER:
        this.pcapHeader(b, p);
        break;
      case S_PCAP:
        this.pcapRun(b, p); // moves pos itself
        return;
      default:
        this.block(b, p, len, this.pos);
    }
    if (this.state !== S_DONE) this.pos += len;
  }

  private detect(b: Uint8Array, p: number): void {
    const m = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
    switch (m) {
      case 0xa1b2c3d4:
      case 0xa1b23c4d:
        this.le = false;
        this.nanosecond = m === 0xa1b23c4d;
        this.state = S_PCAP_HEADER;
        this.fileFormat = 'pcap';
        return;
      case 0xd4c3b2a1:
      case 0x4d3cb2a1:
        this.le = true;
        this.nanosecond = m === 0x4d3cb2a1;
        this.state = S_PCAP_HEADER;
        this.fileFormat = 'pcap';
        return;
      case BT_SHB:
        this.state = S_PCAPNG;
        this.fileFormat = 'pcapng';
        return;
    }
    const start = b.subarray(p, p + 4);
    // A command that reads the data after all ends the line, where it is easy to copy.
    const { what, command } = describeNonCapture(start);
    if (command !== undefined) this.throwFormat(`not a pcap or pcapng file (starts with ${hexBytes(start, 4)}: ${what}; decompress it on the way in: ${command}`);
    this.throwFormat(`not a pcap or pcapng file (starts with ${hexBytes(start, 4)}${what ? `: ${what}` : ''})`);
  }

  // ---- classic pcap ----------------------------------------------------------------------------------------------

  private pcapHeader(b: Uint8Array, p: number): void {
    const major = this.u16(b, p + 4);
    const minor = this.u16(b, p + 6);
    if (major !== 2) this.throwFormat(`pcap version ${major}.${minor} is not supported (only 2.x)`);
    const snaplen = this.u32(b, p + 16);
    const field = this.u32(b, p + 20);
    this.linkType = field & 0xffff;
    this.maxCaplen = Math.min(Math.max(snaplen, PCAP_CAPLEN_FLOOR), MAX_RECORD_BYTES);
    this.state = S_PCAP;
    // libpcap's LT_FCS_DATALINK_EXT: bit 26 says the top four bits give the FCS length in 16-bit words.
    if (field & 0x04000000) {
      const fcs = (field >>> 28) * 2;
      if (fcs > 0) {
        this.sink.event({
          event: 'capture-note',
          offset: this.pos + 20,
          frame: 0,
          message: `pcap header says every frame ends with a ${fcs}-byte FCS (link-type field 0x${field.toString(16).padStart(8, '0')})`,
        });
      }
    }
  }

  /**
   * The hot loop for pcap: every whole record from `p` on, each handed out as a view of `b`; also decodes a single
   * record assembled from several chunks. Advances pos and returns where it stopped.
   */
  private pcapRun(b: Uint8Array, p: number): number {
    const end = b.length;
    const le = this.le;
    const max = this.maxCaplen;
    const limit = this.nanosecond ? 1e9 : 1e6;
    const scale = this.nanosecond ? 1 : 1000;
    const linkType = this.linkType;
    const sink = this.sink;
    let offset = this.pos;
    while (end - p >= PCAP_RECORD_HEADER) {
      const caplen = le
        ? (b[p + 8]! | (b[p + 9]! << 8) | (b[p + 10]! << 16) | (b[p + 11]! << 24)) >>> 0
        : ((b[p + 8]! << 24) | (b[p + 9]! << 16) | (b[p + 10]! << 8) | b[p + 11]!) >>> 0;
      if (caplen > max) {
        this.pos = offset;
        this.corruptCaplen(caplen);
        return p;
      }
      const next = p + PCAP_RECORD_HEADER + caplen;
      if (next > end) break;
      let sec: number;
      let frac: number;
      let orig: number;
      if (le) {
        sec = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
        frac = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
        orig = (b[p + 12]! | (b[p + 13]! << 8) | (b[p + 14]! << 16) | (b[p + 15]! << 24)) >>> 0;
      } else {
        sec = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
        frac = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
        orig = ((b[p + 12]! << 24) | (b[p + 13]! << 16) | (b[p + 14]! << 8) | b[p + 15]!) >>> 0;
      }
      if (frac >= limit) {
        // A damaged or careless writer can store a second or more here; carrying keeps timeNsec in its documented range.
        const carry = Math.floor(frac / limit);
        sec += carry;
        frac -= carry * limit;
      }
      sink.record({
        frame: ++this.frame,
        timeSec: sec,
        timeNsec: frac * scale,
        linkType,
        data: b.subarray(p + PCAP_RECORD_HEADER, next),
        wireLength: orig,
        fileOffset: offset,
      });
      offset += next - p;
      p = next;
    }
    this.pos = offset;
    return p;
  }

  private corruptCaplen(caplen: number): void {
    this.stop(
      this.pos,
      `record at offset ${this.pos} claims ${caplen} captured bytes, more than the limit of ${this.maxCaplen}: ` +
        'corrupt length; stopped reading (a pcap file cannot be resynchronised)',
    );
  }

  // ---- pcapng ----------------------------------------------------------------------------------------------------

  /** Total length of the block at `p`, validated; -1 after reporting a corrupt length. */
  private blockLength(b: Uint8Array, p: number): number {
    const isSection = isSectionHeader(b, p);
    if (isSection) {
      const bom = (b[p + 8]! | (b[p + 9]! << 8) | (b[p + 10]! << 16) | (b[p + 11]! << 24)) >>> 0;
      if (bom === BOM) this.le = true;
      else if (bom === BOM_SWAPPED) this.le = false;
      else {
        this.blockError(`section header block at offset ${this.pos} has an unknown byte-order magic ${hexBytes(b.subarray(p + 8, p + 12), 4)}`);
        return -1;
      }
    }
    const len = this.u32(b, p + 4);
    const min = isSection ? 28 : 12;
    if (len < min || len % 4 !== 0 || len > MAX_RECORD_BYTES) {
      const why = len < min ? `shorter than the minimum of ${min}` : len % 4 !== 0 ? 'not a multiple of 4' : `more than the limit of ${MAX_RECORD_BYTES}`;
      this.blockError(`block at offset ${this.pos} (type 0x${this.u32(b, p).toString(16)}) has length ${len}, ${why}: corrupt length; stopped reading`);
      return -1;
    }
    return len;
  }

  /** A framing error: before the first section it means the input is no pcapng at all. */
  private blockError(message: string): void {
    if (this.sections === 0) this.throwFormat(message);
    this.stop(this.pos, message);
  }

  private block(b: Uint8Array, p: number, len: number, offset: number): void {
    const trailer = this.u32(b, p + len - 4);
    if (trailer !== len) {
      this.blockError(`block at offset ${offset} has leading length ${len} but trailing length ${trailer}: corrupt length; stopped reading`);
      return;
    }
    const type = this.u32(b, p);
    switch (type) {
      case BT_SHB:
        this.sectionHeader(b, p, offset);
        return;
      case BT_IDB:
        this.interfaceDescription(b, p, len, offset);
        return;
      case BT_EPB:
        this.packet(b, p, len, offset, this.u32(b, p + 8));
        return;
      case BT_PB:
        this.packet(b, p, len, offset, this.u16(b, p + 8));
        return;
      case BT_SPB:
        this.simplePacket(b, p, len, offset);
        return;
      case BT_DSB:
        this.secretsBlock(b, p, len, offset);
        return;
      case BT_CUSTOM:
      case BT_CUSTOM_NOCOPY:
      case BT_SYSTEMD_JOURNAL:
        // Wireshark lists these as frames of their own; taking a number keeps our frame numbers equal to its.
        this.frame++;
        return;
      default:
      // Name resolution, statistics, secrets and unknown blocks carry no frames.
    }
  }

  private secretsBlock(b: Uint8Array, p: number, len: number, offset: number): void {
    if (this.sink.secrets === undefined) return;
    const slen = len >= 20 ? this.u32(b, p + 12) : -1;
    if (slen < 0 || slen > len - 20) {
      this.skipBlock(offset, `decryption secrets block at offset ${offset} claims ${slen < 0 ? 'no' : slen} bytes of secrets but has room for ${Math.max(0, len - 20)}; skipped`);
      return;
    }
    this.secretsBlocks++;
    this.sink.secrets(this.u32(b, p + 8), b.subarray(p + 16, p + 16 + slen), this.frame, this.secretsBlocks);
  }

  private sectionHeader(b: Uint8Array, p: number, offset: number): void {
    const major = this.u16(b, p + 12);
    if (major !== 1) {
      this.blockError(`section header block at offset ${offset} has pcapng version ${major}.${this.u16(b, p + 14)}, which is not supported (only 1.x)`);
      return;
    }
    this.sections++;
    this.ifaces = [];
  }

  private interfaceDescription(b: Uint8Array, p: number, len: number, offset: number): void {
    if (len < 20) {
      this.skipBlock(offset, `interface description block at offset ${offset} is too short (${len} bytes); ignored`);
      return;
    }
    const iface: Iface = {
      linkType: this.u16(b, p + 8),
      snaplen: this.u32(b, p + 12),
      tsMode: TS_NUMBER,
      units: 1e6,
      nsPerUnit: 1000,
      binShift: 0,
      unitsBig: 0n,
      tsOffset: 0,
    };
    const optEnd = p + len - 4;
    let q = p + 16;
    while (q + 4 <= optEnd) {
      const code = this.u16(b, q);
      const olen = this.u16(b, q + 2);
      if (code === OPT_END || q + 4 + olen > optEnd) break;
      const v = q + 4;
      if (code === OPT_IF_TSRESOL && olen >= 1) setResolution(iface, b[v]!);
      else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        const hi = this.le ? this.u32(b, v + 4) : this.u32(b, v);
        const lo = this.le ? this.u32(b, v) : this.u32(b, v + 4);
        iface.tsOffset = (hi | 0) * TWO32 + lo;
      } else if (code === OPT_IF_FCSLEN && olen >= 1 && b[v]! > 0) {
        this.sink.event({
          event: 'capture-note',
          offset,
          frame: this.frame,
          message: `interface ${this.ifaces.length} (block at offset ${offset}) says every frame ends with a ${b[v]!}-byte FCS`,
        });
      }
      q = v + ((olen + 3) & ~3);
    }
    this.ifaces.push(iface);
  }

  /** Enhanced (type 6) and obsolete (type 2) packet blocks share their layout after the interface id. */
  private packet(b: Uint8Array, p: number, len: number, offset: number, ifId: number): void {
    const kind = this.u32(b, p) === BT_EPB ? 'enhanced packet block' : 'packet block';
    if (len < PACKET_BLOCK_OVERHEAD) {
      this.skipBlock(offset, `${kind} at offset ${offset} is too short (${len} bytes); skipped`);
      return;
    }
    const iface = this.ifaces[ifId];
    if (iface === undefined) {
      this.skipBlock(offset, `${kind} at offset ${offset} names interface ${ifId}, but this section declares ${this.ifaces.length}; skipped`);
      return;
    }
    const caplen = this.u32(b, p + 20);
    if (caplen > len - PACKET_BLOCK_OVERHEAD) {
      this.skipBlock(offset, `${kind} at offset ${offset} claims ${caplen} captured bytes but has room for ${len - PACKET_BLOCK_OVERHEAD}; skipped`);
      return;
    }
    this.splitTime(iface, this.u32(b, p + 12), this.u32(b, p + 16));
    this.sink.record({
      frame: ++this.frame,
      timeSec: this.tSec,
      timeNsec: this.tNsec,
      linkType: iface.linkType,
      data: b.subarray(p + 28, p + 28 + caplen),
      wireLength: this.u32(b, p + 24),
      fileOffset: offset,
    });
  }

  private simplePacket(b: Uint8Array, p: number, len: number, offset: number): void {
    const iface = this.ifaces[0];
    if (len < 16 || iface === undefined) {
      const why = iface === undefined ? 'but this section declares no interface' : `but is too short (${len} bytes)`;
      this.skipBlock(offset, `simple packet block at offset ${offset} belongs to interface 0 ${why}; skipped`);
      return;
    }
    const orig = this.u32(b, p + 8);
    let caplen = Math.min(orig, len - 16);
    if (iface.snaplen > 0 && iface.snaplen < caplen) caplen = iface.snaplen;
    this.sink.record({
      frame: ++this.frame,
      timeSec: 0,
      timeNsec: 0,
      linkType: iface.linkType,
      data: b.subarray(p + 12, p + 12 + caplen),
      wireLength: orig,
      fileOffset: offset,
    });
  }

  private skipBlock(offset: number, message: string): void {
    this.sink.event({ event: 'corrupt-block', offset, frame: this.frame, message });
  }

  /** Converts a 64-bit count of interface time units into tSec / tNsec, exactly (sub-nanosecond parts truncated). */
  private splitTime(iface: Iface, hi: number, lo: number): void {
    let sec: number;
    let ns: number;
    if (iface.tsMode === TS_NUMBER) {
      const units = iface.units;
      let rem: number;
      if (hi < 0x100000) {
        // Below 2^52 the count and sec * units are exact doubles; the common microsecond case always lands here.
        const total = hi * TWO32 + lo;
        sec = Math.floor(total / units);
        rem = total - sec * units;
        if (rem < 0 || rem >= units) {
          // The rounded quotient landed on the wrong side of an integer; the remainder says which way.
          const fix = rem < 0 ? -1 : 1;
          sec += fix;
          rem -= fix * units;
        }
      } else {
        // Long division in 16-bit digits keeps every intermediate below 2^48, so it stays exact.
        sec = 0;
        rem = 0;
        for (let i = 0; i < 4; i++) {
          const digit = i === 0 ? hi >>> 16 : i === 1 ? hi & 0xffff : i === 2 ? lo >>> 16 : lo & 0xffff;
          const cur = rem * 65536 + digit;
          let q = Math.floor(cur / units);
          rem = cur - q * units;
          if (rem < 0 || rem >= units) {
            const fix = rem < 0 ? -1 : 1;
            q += fix;
            rem -= fix * units;
          }
          sec = sec * 65536 + q;
        }
      }
      ns = iface.binShift > 0 ? Math.floor((rem * 1953125) / 2 ** iface.binShift) : rem * iface.nsPerUnit;
    } else {
      const t = (BigInt(hi) << 32n) | BigInt(lo);
      const u = iface.unitsBig;
      sec = Number(t / u);
      ns = Number(((t % u) * 1_000_000_000n) / u);
    }
    this.tSec = sec + iface.tsOffset;
    this.tNsec = ns;
  }

  // ---- shared ----------------------------------------------------------------------------------------------------

  private u32(b: Uint8Array, p: number): number {
    return this.le
      ? (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0
      : ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  private u16(b: Uint8Array, p: number): number {
    return this.le ? b[p]! | (b[p + 1]! << 8) : (b[p]! << 8) | b[p + 1]!;
  }

  /** Reports a problem that makes the rest of the file unreadable, and stops. */
  private stop(offset: number, message: string): void {
    this.state = S_DONE;
    this.releasePending();
    this.sink.event({ event: 'corrupt-block', offset, frame: this.frame, message });
  }

  private throwFormat(message: string): never {
    throw new CaptureFormatError(`${this.name}: ${message}`);
  }

  private fail(err: CaptureFormatError): void {
    this.failure = err;
    this.state = S_DONE;
    this.releasePending();
  }
}

/** The section header type reads the same in both byte orders, so it can be recognised before the order is known. */
function isSectionHeader(b: Uint8Array, p: number): boolean {
  return b[p] === 0x0a && b[p + 1] === 0x0d && b[p + 2] === 0x0d && b[p + 3] === 0x0a;
}

/** Applies an if_tsresol value: MSB clear means 10^-n seconds per unit, MSB set means 2^-n. */
function setResolution(iface: Iface, raw: number): void {
  const n = raw & 0x7f;
  const binary = (raw & 0x80) !== 0;
  iface.nsPerUnit = 0;
  iface.binShift = 0;
  if (!binary && n <= 9) {
    iface.tsMode = TS_NUMBER;
    iface.units = 10 ** n;
    iface.nsPerUnit = 10 ** (9 - n);
  } else if (binary && n <= 32) {
    iface.tsMode = TS_NUMBER;
    iface.units = 2 ** n;
    // 10^9 = 2^9 * 1953125: below 2^9 units the nanosecond factor is a whole number, above it the shift keeps
    // rem * 1953125 under 2^53.
    if (n <= 9) iface.nsPerUnit = 2 ** (9 - n) * 1953125;
    else iface.binShift = n - 9;
  } else {
    iface.tsMode = TS_BIGINT;
    iface.unitsBig = binary ? 1n << BigInt(n) : 10n ** BigInt(n);
  }
}
