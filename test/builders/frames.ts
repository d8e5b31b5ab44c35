/*
 * Frame builders for tests: TCP/IP packets from a description, link-layer wrappers for every supported
 * link type, IPv4/IPv6 fragmentation, a TCP session scripter, and a StreamSink that records everything.
 * Frames are plain byte arrays so tests can reorder, duplicate, drop or cut them at will.
 */
import { CONNECT_PROBER } from '../../src/mqtt/connect-probe.js';
import type { CaptureRecord } from '../../src/capture/types.js';
import { NetDecoder } from '../../src/net/decoder.js';
import type { NetEvent } from '../../src/net/types.js';
import { TcpReassembler, type TcpReassemblerOptions } from '../../src/tcp/reassembler.js';
import type { Connection, ConnectionEnd, Direction, EndCause, StreamEvent, StreamSink } from '../../src/tcp/types.js';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;

export const LINK = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  SLL: 113,
  IPV4: 228,
  IPV6: 229,
  SLL2: 276,
} as const;

const enc = new TextEncoder();

export function bytes(x: Uint8Array | string | number[] | undefined): Uint8Array {
  if (x === undefined) return new Uint8Array(0);
  if (typeof x === 'string') return enc.encode(x);
  return x instanceof Uint8Array ? x : Uint8Array.from(x);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Addresses and checksums

export function parseIpv4(s: string): Uint8Array {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address ${s}`);
  return Uint8Array.from(parts);
}

export function parseIpv6(s: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = s;
  // Trailing dotted quad (::ffff:1.2.3.4) becomes two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4(tail);
    text = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address ${s}`);
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  if (halves.length === 1 && head.length !== 8) throw new Error(`bad IPv6 address ${s}`);
  const groups = [...head, ...new Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function isV6(addr: string): boolean {
  return addr.includes(':');
}

function sum16(buf: Uint8Array, acc = 0): number {
  for (let i = 0; i + 1 < buf.length; i += 2) acc += (buf[i]! << 8) | buf[i + 1]!;
  if (buf.length & 1) acc += buf[buf.length - 1]! << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return ~acc & 0xffff;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function pad4(b: Uint8Array | undefined): Uint8Array {
  if (!b || b.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(Math.ceil(b.length / 4) * 4); // zero fill = End of Option List
  out.set(b);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// TCP/IP

/** An IPv6 extension header to put between the IPv6 header and TCP: a type, optionally its total size. */
export type Ipv6Ext = number | { type: number; size: number };

export interface TcpFrameSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  /** Flag bits, or letters: S(YN) A(CK) F(IN) R(ST) P(SH) U(RG), e.g. 'SA', 'PA'. Default ACK. */
  flags?: number | string;
  payload?: Uint8Array | string | number[];
  /** Default: taken from the address syntax. */
  ipv6?: boolean;
  /** IPv4 options, zero-padded to a multiple of 4. */
  ipOptions?: Uint8Array | number[];
  /** TCP options, zero-padded to a multiple of 4. */
  tcpOptions?: Uint8Array | number[];
  /** IPv6 extension headers in order: 0 hop-by-hop, 43 routing, 60 destination options, 51 AH, 44 atomic fragment. */
  ipv6Ext?: Ipv6Ext[];
  ipId?: number;
  ttl?: number;
  window?: number;
  dontFragment?: boolean;
}

export function parseFlags(f: number | string | undefined): number {
  if (f === undefined) return ACK;
  if (typeof f === 'number') return f;
  let v = 0;
  for (const ch of f.toUpperCase()) {
    const bit = { F: FIN, S: SYN, R: RST, P: PSH, A: ACK, U: URG }[ch];
    if (bit === undefined) throw new Error(`unknown TCP flag letter ${ch}`);
    v |= bit;
  }
  return v;
}

/** An IP packet (IPv4 or IPv6, no link layer) carrying one TCP segment with correct checksums. */
export function tcpFrame(spec: TcpFrameSpec): Uint8Array {
  const v6 = spec.ipv6 ?? isV6(spec.src);
  const src = v6 ? parseIpv6(spec.src) : parseIpv4(spec.src);
  const dst = v6 ? parseIpv6(spec.dst) : parseIpv4(spec.dst);
  const payload = bytes(spec.payload);
  const topts = pad4(spec.tcpOptions ? bytes(spec.tcpOptions) : undefined);
  const thl = 20 + topts.length;
  if (thl > 60) throw new Error('TCP options too long');
  const tcp = new Uint8Array(thl + payload.length);
  put16(tcp, 0, spec.sport);
  put16(tcp, 2, spec.dport);
  put32(tcp, 4, spec.seq >>> 0);
  put32(tcp, 8, (spec.ack ?? 0) >>> 0);
  tcp[12] = (thl / 4) << 4;
  tcp[13] = parseFlags(spec.flags);
  put16(tcp, 14, spec.window ?? 65535);
  tcp.set(topts, 20);
  tcp.set(payload, thl);

  // Checksum over the pseudo-header; correct so that the frames also look right in Wireshark.
  const acc = sum16(src) + sum16(dst) + 6 + tcp.length;
  put16(tcp, 16, fold(sum16(tcp, acc)));

  return v6 ? ipv6Packet(src, dst, 6, tcp, spec.ipv6Ext ?? []) : ipv4Packet(src, dst, 6, tcp, spec);
}

function ipv4Packet(
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  body: Uint8Array,
  spec: Pick<TcpFrameSpec, 'ipOptions' | 'ipId' | 'ttl' | 'dontFragment'>,
): Uint8Array {
  const opts = pad4(spec.ipOptions ? bytes(spec.ipOptions) : undefined);
  const ihl = 20 + opts.length;
  if (ihl > 60) throw new Error('IPv4 options too long');
  const out = new Uint8Array(ihl + body.length);
  out[0] = 0x40 | (ihl / 4);
  put16(out, 2, out.length);
  put16(out, 4, spec.ipId ?? 0x1234);
  put16(out, 6, spec.dontFragment ? 0x4000 : 0);
  out[8] = spec.ttl ?? 64;
  out[9] = proto;
  out.set(src, 12);
  out.set(dst, 16);
  out.set(opts, 20);
  put16(out, 10, fold(sum16(out.subarray(0, ihl))));
  out.set(body, ihl);
  return out;
}

function extHeader(type: number, next: number, size?: number): Uint8Array {
  if (type === 51) {
    const n = size ?? 24; // 12 fixed bytes + a 12-byte ICV
    const h = new Uint8Array(n);
    h[0] = next;
    h[1] = n / 4 - 2;
    put32(h, 4, 0x100); // SPI
    put32(h, 8, 1); // sequence number
    return h;
  }
  if (type === 44) {
    const h = new Uint8Array(8); // atomic fragment: offset 0, M clear
    h[0] = next;
    put32(h, 4, 0xabcd);
    return h;
  }
  const n = size ?? 8;
  if (n % 8 !== 0 || n < 8) throw new Error('IPv6 extension header size must be a multiple of 8');
  const h = new Uint8Array(n);
  h[0] = next;
  h[1] = n / 8 - 1;
  if (type === 0 || type === 60) {
    h[2] = 1; // PadN covering the rest
    h[3] = n - 4;
  } else if (type === 43) {
    h[2] = 4; // segment routing type, segments left 0: nothing to do for the receiver
  }
  return h;
}

function ipv6Packet(src: Uint8Array, dst: Uint8Array, proto: number, body: Uint8Array, exts: Ipv6Ext[]): Uint8Array {
  const specs = exts.map((e) => (typeof e === 'number' ? { type: e, size: undefined } : e));
  const headers: Uint8Array[] = [];
  for (let i = 0; i < specs.length; i++) {
    const next = i + 1 < specs.length ? specs[i + 1]!.type : proto;
    headers.push(extHeader(specs[i]!.type, next, specs[i]!.size));
  }
  const payload = concat([...headers, body]);
  const out = new Uint8Array(40 + payload.length);
  out[0] = 0x60;
  put16(out, 4, payload.length);
  out[6] = specs.length > 0 ? specs[0]!.type : proto;
  out[7] = 64;
  out.set(src, 8);
  out.set(dst, 24);
  out.set(payload, 40);
  return out;
}

/** Splits an IPv4 packet into fragments of at most `mtu` bytes (header included). */
export function fragmentIpv4(ip: Uint8Array, mtu: number): Uint8Array[] {
  const ihl = (ip[0]! & 0x0f) * 4;
  const total = (ip[2]! << 8) | ip[3]!;
  const body = ip.subarray(ihl, total);
  const step = Math.floor((mtu - ihl) / 8) * 8;
  if (step <= 0) throw new Error('MTU too small');
  const out: Uint8Array[] = [];
  for (let off = 0; off < body.length; off += step) {
    const part = body.subarray(off, Math.min(off + step, body.length));
    const f = new Uint8Array(ihl + part.length);
    f.set(ip.subarray(0, ihl));
    put16(f, 2, f.length);
    const more = off + step < body.length;
    put16(f, 6, (more ? 0x2000 : 0) | (off / 8));
    put16(f, 10, 0);
    put16(f, 10, fold(sum16(f.subarray(0, ihl))));
    f.set(part, ihl);
    out.push(f);
  }
  return out;
}

/** Splits an IPv6 packet (everything after the base header is fragmentable) into fragments of at most `mtu` bytes. */
export function fragmentIpv6(ip: Uint8Array, mtu: number, id = 0x5eed): Uint8Array[] {
  const nh = ip[6]!;
  const body = ip.subarray(40, 40 + ((ip[4]! << 8) | ip[5]!));
  const step = Math.floor((mtu - 48) / 8) * 8;
  if (step <= 0) throw new Error('MTU too small');
  const out: Uint8Array[] = [];
  for (let off = 0; off < body.length; off += step) {
    const part = body.subarray(off, Math.min(off + step, body.length));
    const f = new Uint8Array(48 + part.length);
    f.set(ip.subarray(0, 40));
    put16(f, 4, 8 + part.length);
    f[6] = 44;
    f[40] = nh;
    const more = off + step < body.length;
    put16(f, 42, off | (more ? 1 : 0));
    put32(f, 44, id);
    f.set(part, 48);
    out.push(f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Link layers

function ipVersion(ip: Uint8Array): 4 | 6 {
  return ip[0]! >> 4 === 6 ? 6 : 4;
}

export interface EthernetOptions {
  /** VLAN ids, outermost first. */
  vlan?: number[];
  /** With vlan: the outer tag uses 802.1ad (0x88a8) instead of 802.1Q. */
  qinq?: boolean;
  /** Explicit tag protocol ids per VLAN tag (e.g. 0x9100), overriding vlan/qinq defaults. */
  tpids?: number[];
  /** Pad to the 60-byte Ethernet minimum (without FCS) as a NIC does. Default true. */
  pad?: boolean;
}

export function ethernet(ip: Uint8Array, opts: EthernetOptions = {}): Uint8Array {
  const vlans = opts.vlan ?? [];
  const hdr = new Uint8Array(14 + 4 * vlans.length);
  hdr.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
  let o = 12;
  vlans.forEach((vid, i) => {
    const tpid = opts.tpids?.[i] ?? (opts.qinq && i === 0 && vlans.length > 1 ? 0x88a8 : 0x8100);
    put16(hdr, o, tpid);
    put16(hdr, o + 2, vid & 0x0fff);
    o += 4;
  });
  put16(hdr, o, ipVersion(ip) === 6 ? 0x86dd : 0x0800);
  const frame = concat([hdr, ip]);
  if (opts.pad !== false && frame.length < 60) {
    const padded = new Uint8Array(60);
    padded.set(frame);
    // Non-zero filler so a decoder that takes padding for payload is caught.
    padded.fill(0xee, frame.length);
    return padded;
  }
  return frame;
}

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL). */
export function sll(ip: Uint8Array, packetType = 0): Uint8Array {
  const h = new Uint8Array(16);
  put16(h, 0, packetType);
  put16(h, 2, 1); // ARPHRD_ETHER
  put16(h, 4, 6);
  h.set([0x02, 0, 0, 0, 0, 0x01], 6);
  put16(h, 14, ipVersion(ip) === 6 ? 0x86dd : 0x0800);
  return concat([h, ip]);
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2). */
export function sll2(ip: Uint8Array, packetType = 0): Uint8Array {
  const h = new Uint8Array(20);
  put16(h, 0, ipVersion(ip) === 6 ? 0x86dd : 0x0800);
  put32(h, 4, 2); // interface index
  put16(h, 8, 1); // ARPHRD_ETHER
  h[10] = packetType;
  h[11] = 6;
  h.set([0x02, 0, 0, 0, 0, 0x01], 12);
  return concat([h, ip]);
}

export interface NullOptions {
  /** Byte order of the family field: the capturing host's (little-endian on x86). */
  littleEndian: boolean;
  /** AF_INET6 value of the capturing BSD: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS). Default 30. */
  v6family?: 24 | 28 | 30;
}

/** BSD loopback (LINKTYPE_NULL): a 4-byte address family in host byte order. */
export function nullLoop(ip: Uint8Array, opts: NullOptions): Uint8Array {
  const family = ipVersion(ip) === 6 ? (opts.v6family ?? 30) : 2;
  const h = new Uint8Array(4);
  if (opts.littleEndian) h[0] = family;
  else h[3] = family;
  return concat([h, ip]);
}

/** OpenBSD loopback (LINKTYPE_LOOP): the family in network byte order. */
export function loop(ip: Uint8Array, v6family: 24 | 28 | 30 = 24): Uint8Array {
  return nullLoop(ip, { littleEndian: false, v6family });
}

/** LINKTYPE_RAW (and LINKTYPE_IPV4/IPV6): the IP packet itself. */
export function raw(ip: Uint8Array): Uint8Array {
  return ip;
}

// ---------------------------------------------------------------------------------------------------
// Capture records

export interface RecordOptions {
  /** Frames are cut to this many bytes, the wire length kept. */
  snaplen?: number;
  startSec?: number;
  /** Time between frames, nanoseconds. Default 1 ms. */
  stepNsec?: number;
  firstFrame?: number;
}

/** In-memory capture records for frames of one link type, numbered from 1. */
export function toRecords(frames: Uint8Array[], linkType: number, opts: RecordOptions = {}): CaptureRecord[] {
  const step = opts.stepNsec ?? 1_000_000;
  const start = opts.startSec ?? 1_700_000_000;
  return frames.map((f, i) => {
    const t = i * step;
    const data = opts.snaplen !== undefined && f.length > opts.snaplen ? f.slice(0, opts.snaplen) : f;
    return {
      frame: (opts.firstFrame ?? 1) + i,
      timeSec: start + Math.floor(t / 1e9),
      timeNsec: t % 1e9,
      linkType,
      data,
      wireLength: f.length,
      fileOffset: 0,
    };
  });
}

// ---------------------------------------------------------------------------------------------------
// TCP session scripter

export interface Endpoint {
  ip: string;
  port: number;
}

export interface SessionOptions {
  clientIsn?: number;
  serverIsn?: number;
  /** Largest payload per segment for c2s()/s2c(). Default 1460. */
  mss?: number;
  tcpOptions?: Uint8Array | number[];
  ipOptions?: Uint8Array | number[];
  ipv6Ext?: Ipv6Ext[];
}

export type Side = 'client' | 'server';

/**
 * Scripts one TCP connection, tracking sequence numbers. Every method returns IP-level frames in send
 * order; each side acknowledges everything the other has sent so far.
 */
export class TcpSession {
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** Next sequence number each side will send. */
  clientSeq: number;
  serverSeq: number;
  private readonly opts: SessionOptions;
  private ipId = 1;

  constructor(client: Endpoint | string, server: Endpoint | string, opts: SessionOptions = {}) {
    this.client = typeof client === 'string' ? parseEndpoint(client) : client;
    this.server = typeof server === 'string' ? parseEndpoint(server) : server;
    this.opts = opts;
    this.clientSeq = (opts.clientIsn ?? 1000) >>> 0;
    this.serverSeq = (opts.serverIsn ?? 5000) >>> 0;
  }

  /** Client ISN, server ISN as given (the handshake advances the counters past them). */
  handshake(): Uint8Array[] {
    const syn = this.frame('client', { seq: this.clientSeq, ack: 0, flags: SYN });
    this.clientSeq = (this.clientSeq + 1) >>> 0;
    const synAck = this.frame('server', { seq: this.serverSeq, ack: this.clientSeq, flags: SYN | ACK });
    this.serverSeq = (this.serverSeq + 1) >>> 0;
    return [syn, synAck, this.ack('client')];
  }

  c2s(data: Uint8Array | string, mss?: number): Uint8Array[] {
    return this.send('client', bytes(data), mss);
  }

  s2c(data: Uint8Array | string, mss?: number): Uint8Array[] {
    return this.send('server', bytes(data), mss);
  }

  /** Data from one side, split into segments of at most `mss` bytes (PSH on the last). */
  send(from: Side, data: Uint8Array, mss = this.opts.mss ?? 1460): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let off = 0; off < data.length; off += mss) {
      const part = data.subarray(off, Math.min(off + mss, data.length));
      const last = off + mss >= data.length;
      out.push(this.frame(from, { seq: this.seqOf(from), ack: this.ackOf(from), flags: ACK | (last ? PSH : 0), payload: part }));
      this.advance(from, part.length);
    }
    return out;
  }

  /** A bare ACK from `from` acknowledging everything the other side sent. */
  ack(from: Side): Uint8Array {
    return this.frame(from, { seq: this.seqOf(from), ack: this.ackOf(from), flags: ACK });
  }

  fin(from: Side = 'client'): Uint8Array {
    const f = this.frame(from, { seq: this.seqOf(from), ack: this.ackOf(from), flags: FIN | ACK });
    this.advance(from, 1);
    return f;
  }

  /** Orderly close: FIN from `first`, FIN from the other side, final ACK. */
  close(first: Side = 'client'): Uint8Array[] {
    const other: Side = first === 'client' ? 'server' : 'client';
    return [this.fin(first), this.fin(other), this.ack(first)];
  }

  rst(from: Side = 'client'): Uint8Array {
    return this.frame(from, { seq: this.seqOf(from), ack: this.ackOf(from), flags: RST | ACK });
  }

  /** Any segment, sequence numbers untouched unless given (for crafted overlaps and retransmissions). */
  raw(from: Side, spec: { seq?: number; ack?: number; flags?: number | string; payload?: Uint8Array | string | number[] }): Uint8Array {
    return this.frame(from, {
      seq: spec.seq ?? this.seqOf(from),
      ack: spec.ack ?? this.ackOf(from),
      flags: spec.flags ?? ACK,
      payload: spec.payload,
    });
  }

  seqOf(side: Side): number {
    return side === 'client' ? this.clientSeq : this.serverSeq;
  }

  private ackOf(side: Side): number {
    return side === 'client' ? this.serverSeq : this.clientSeq;
  }

  private advance(side: Side, n: number): void {
    if (side === 'client') this.clientSeq = (this.clientSeq + n) >>> 0;
    else this.serverSeq = (this.serverSeq + n) >>> 0;
  }

  private frame(from: Side, s: { seq: number; ack: number; flags: number | string; payload?: Uint8Array | string | number[] }): Uint8Array {
    const a = from === 'client' ? this.client : this.server;
    const b = from === 'client' ? this.server : this.client;
    return tcpFrame({
      src: a.ip,
      dst: b.ip,
      sport: a.port,
      dport: b.port,
      seq: s.seq,
      ack: s.ack,
      flags: s.flags,
      payload: s.payload,
      ipId: this.ipId++ & 0xffff,
      tcpOptions: this.opts.tcpOptions,
      ipOptions: this.opts.ipOptions,
      ipv6Ext: this.opts.ipv6Ext,
    });
  }
}

/** "10.0.0.1:1883" or "[2001:db8::1]:1883". */
export function parseEndpoint(s: string): Endpoint {
  const m = /^\[(.+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) throw new Error(`bad endpoint ${s}`);
  return { ip: m[1]!, port: Number(m[2]) };
}

// ---------------------------------------------------------------------------------------------------
// Collecting sink and a net+tcp pipeline

export interface DataCall {
  conn: number;
  dir: Direction;
  bytes: Uint8Array;
  frame: number;
}

export interface GapCall {
  conn: number;
  dir: Direction;
  bytes: number;
  frame: number;
}

/** Records every StreamSink call (data copied, since the views are only valid during the call). */
export class CollectingSink implements StreamSink {
  readonly conns: Connection[] = [];
  readonly chunks: DataCall[] = [];
  readonly gaps: GapCall[] = [];
  readonly closes: Array<{ conn: number; frame: number }> = [];
  /** How each connection ended, in close order. */
  readonly ends: ConnectionEnd[] = [];
  readonly events: StreamEvent[] = [];
  /** Call order, e.g. "open 0", "data 0 c2s 12", "gap 0 c2s 1448", "close 0". */
  readonly log: string[] = [];

  open(conn: Connection): void {
    this.conns.push(conn);
    this.log.push(`open ${conn.id}`);
  }

  data(conn: Connection, dir: Direction, bytes: Uint8Array, frame: number): void {
    this.chunks.push({ conn: conn.id, dir, bytes: bytes.slice(), frame });
    this.log.push(`data ${conn.id} ${dir} ${bytes.length}`);
  }

  gap(conn: Connection, dir: Direction, bytes: number, frame: number): void {
    this.gaps.push({ conn: conn.id, dir, bytes, frame });
    this.log.push(`gap ${conn.id} ${dir} ${bytes}`);
  }

  close(conn: Connection, end: ConnectionEnd): void {
    this.closes.push({ conn: conn.id, frame: end.frame });
    this.ends.push(end);
    this.log.push(`close ${conn.id}`);
  }

  event(ev: StreamEvent): void {
    this.events.push(ev);
  }

  /** Concatenated delivered bytes of one direction (gaps leave no trace here; see gaps). */
  stream(conn: number, dir: Direction): Uint8Array {
    return concat(this.chunks.filter((d) => d.conn === conn && d.dir === dir).map((d) => d.bytes));
  }

  /** Delivered bytes with each gap filled by `fill` bytes, to compare against an expected stream. */
  streamWithGaps(conn: number, dir: Direction, fill = 0): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const line of this.ordered(conn, dir)) {
      parts.push(typeof line === 'number' ? new Uint8Array(line).fill(fill) : line);
    }
    return concat(parts);
  }

  eventsOf(kind: StreamEvent['event']): StreamEvent[] {
    return this.events.filter((e) => e.event === kind);
  }

  private ordered(conn: number, dir: Direction): Array<Uint8Array | number> {
    // Rebuild the interleaving of data and gaps from the log: both lists are in call order.
    const out: Array<Uint8Array | number> = [];
    let di = 0;
    let gi = 0;
    const mine = (x: { conn: number; dir: Direction }): boolean => x.conn === conn && x.dir === dir;
    for (const line of this.log) {
      if (line.startsWith('data ')) {
        const d = this.chunks[di++]!;
        if (mine(d)) out.push(d.bytes);
      } else if (line.startsWith('gap ')) {
        const g = this.gaps[gi++]!;
        if (mine(g)) out.push(g.bytes);
      }
    }
    return out;
  }
}

export interface PipelineResult {
  sink: CollectingSink;
  netEvents: NetEvent[];
  reassembler: TcpReassembler;
}

/** Runs records through NetDecoder and TcpReassembler into a CollectingSink, then finishes both. */
export function runPipeline(
  records: CaptureRecord[],
  opts: Partial<TcpReassemblerOptions> = {},
): PipelineResult {
  const sink = new CollectingSink();
  const netEvents: NetEvent[] = [];
  const net = new NetDecoder((ev) => netEvents.push(ev));
  const reassembler = new TcpReassembler(sink, { ports: opts.ports ?? new Set([1883, 6002]), auto: opts.auto ?? false, connectProber: CONNECT_PROBER, ...opts });
  let last = 0;
  let lastSec = 0;
  let lastNsec = 0;
  for (const rec of records) {
    const seg = net.decode(rec);
    if (seg !== null) reassembler.segment(seg);
    last = rec.frame;
    lastSec = rec.timeSec;
    lastNsec = rec.timeNsec;
  }
  net.finish(last);
  reassembler.finish(last, lastSec, lastNsec);
  return { sink, netEvents, reassembler };
}

/** A connection end for tests that call close() on a stage directly. */
export function endAt(frame: number, timeSec = 0, cause: EndCause = 'capture-end', by: Direction | null = null): ConnectionEnd {
  return { frame, timeSec, timeNsec: 0, cause, by, finC2s: cause === 'fin', finS2c: cause === 'fin' };
}
