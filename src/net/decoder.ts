import type { CaptureRecord } from '../capture/types.js';
import { DEFAULT_FRAGMENT_LIMITS, FragmentTable, type FragmentLimits } from './fragments.js';
import { formatIpv4, formatIpv6 } from './ip-format.js';
import type { NetEvent, TcpSegment } from './types.js';

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** The link types decoded, by name (the page's capture facts; tcpdump's LINKTYPE_ names in brackets). */
export const LINK_TYPE_NAMES: Readonly<Record<number, string>> = {
  [LINKTYPE_NULL]: 'BSD loopback (NULL)',
  [LINKTYPE_ETHERNET]: 'Ethernet (ETHERNET)',
  [LINKTYPE_RAW]: 'raw IP (RAW)',
  [LINKTYPE_LOOP]: 'OpenBSD loopback (LOOP)',
  [LINKTYPE_LINUX_SLL]: 'Linux cooked (LINUX_SLL)',
  [LINKTYPE_IPV4]: 'raw IPv4 (IPV4)',
  [LINKTYPE_IPV6]: 'raw IPv6 (IPV6)',
  [LINKTYPE_LINUX_SLL2]: 'Linux cooked v2 (LINUX_SLL2)',
};

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;

const PROTO_TCP = 6;

const EMPTY = new Uint8Array(0);

/** Above this many distinct addresses the printable-address cache is simply emptied and refilled. */
const V4_CACHE_MAX = 4096;

export interface NetDecoderOptions {
  fragments?: Partial<FragmentLimits>;
}

/**
 * Peels link, IP and TCP headers off captured frames. One instance per capture: it remembers which
 * unsupported link types it already reported and holds IP fragments awaiting the rest of their datagram.
 */
export class NetDecoder {
  private readonly reportedLinks = new Set<number>();
  private readonly fragments: FragmentTable;
  private readonly v4Names = new Map<number, string>();
  /** The record being decoded, so helpers need not pass it around. */
  private rec!: CaptureRecord;
  /** The IP header facts of the record being decoded, set by ipv4()/ipv6() for tcp() (-1: IPv6). */
  private ipTtl = -1;
  private ipLength = -1;
  private ipFlags = -1;

  constructor(
    private readonly onEvent: (ev: NetEvent) => void,
    opts: NetDecoderOptions = {},
  ) {
    this.fragments = new FragmentTable({ ...DEFAULT_FRAGMENT_LIMITS, ...opts.fragments }, (frame, message, count) =>
      this.onEvent(count === undefined ? { event: 'ip-fragment', frame, message } : { event: 'ip-fragment', frame, message, count }),
    );
  }

  /** The TCP segment in `rec`, or null for anything else (non-IP, non-TCP, an incomplete fragment, a defect). */
  decode(rec: CaptureRecord): TcpSegment | null {
    this.rec = rec;
    if (this.fragments.busy) this.fragments.expire(rec.timeSec, rec.frame);
    const d = rec.data;
    switch (rec.linkType) {
      case LINKTYPE_ETHERNET:
        if (d.length < 14) return this.short('Ethernet header');
        return this.ethertype((d[12] << 8) | d[13], 14);
      case LINKTYPE_LINUX_SLL:
        if (d.length < 16) return this.short('Linux cooked (SLL) header');
        return this.ethertype((d[14] << 8) | d[15], 16);
      case LINKTYPE_LINUX_SLL2:
        if (d.length < 20) return this.short('Linux cooked v2 (SLL2) header');
        return this.ethertype((d[0] << 8) | d[1], 20);
      case LINKTYPE_NULL:
      case LINKTYPE_LOOP:
        return this.loopback();
      case LINKTYPE_RAW:
        if (d.length < 1) return this.short('IP header');
        return this.byVersion(0);
      case LINKTYPE_IPV4:
        return this.ipv4(0);
      case LINKTYPE_IPV6:
        return this.ipv6(0);
      default:
        if (!this.reportedLinks.has(rec.linkType)) {
          this.reportedLinks.add(rec.linkType);
          this.onEvent({
            event: 'unsupported-link',
            frame: rec.frame,
            message: `link type ${rec.linkType} is not supported; its frames are skipped`,
          });
        }
        return null;
    }
  }

  /** End of capture: reports IP datagrams still waiting for fragments. */
  finish(lastFrame: number): void {
    this.fragments.flush(lastFrame);
  }

  private ethertype(type: number, off: number): TcpSegment | null {
    const d = this.rec.data;
    while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
      if (d.length < off + 4) return this.short('VLAN tag');
      type = (d[off + 2] << 8) | d[off + 3];
      off += 4;
    }
    if (type === ETHERTYPE_IPV4) return this.ipv4(off);
    if (type === ETHERTYPE_IPV6) return this.ipv6(off);
    return null;
  }

  private loopback(): TcpSegment | null {
    const d = this.rec.data;
    if (d.length < 4) return this.short('loopback header');
    // NULL stores the family in the capturing host's byte order and LOOP in network order, but writers
    // get LOOP wrong too, so both orders are accepted for both: real families are tiny numbers.
    const le = (d[0] | (d[1] << 8) | (d[2] << 16) | (d[3] << 24)) >>> 0;
    const be = ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
    const family = le < 256 ? le : be;
    if (family === 2) return this.ipv4(4);
    if (family === 24 || family === 28 || family === 30) return this.ipv6(4);
    return null;
  }

  private byVersion(off: number): TcpSegment | null {
    const v = this.rec.data[off] >> 4;
    if (v === 4) return this.ipv4(off);
    if (v === 6) return this.ipv6(off);
    return null;
  }

  private ipv4(off: number): TcpSegment | null {
    const rec = this.rec;
    const d = rec.data;
    const avail = d.length - off;
    if (avail < 20) {
      if (avail >= 10 && d[off + 9] !== PROTO_TCP) return null;
      return this.short('IPv4 header');
    }
    const vihl = d[off];
    if (vihl >> 4 !== 4) return this.malformed(`IPv4 header has version ${vihl >> 4}`);
    if (d[off + 9] !== PROTO_TCP) return null;
    const ihl = (vihl & 0x0f) * 4;
    if (ihl < 20) return this.malformed(`IPv4 header length ${ihl} is below 20`);
    if (avail < ihl) return this.short('IPv4 options');
    let totalLen = (d[off + 2] << 8) | d[off + 3];
    if (totalLen === 0) {
      // Segmentation offload on the capturing host leaves the length unset; the frame is all there is.
      totalLen = avail;
    } else if (totalLen < ihl) {
      return this.malformed(`IPv4 total length ${totalLen} is shorter than its ${ihl}-byte header`);
    } else if (totalLen > avail && d.length >= rec.wireLength) {
      // Not a snaplen cut: the header lies. Trusting it would make the TCP stage expect bytes that
      // never existed, so only what the frame holds is used.
      this.malformed(`IPv4 total length ${totalLen} exceeds the ${avail} bytes in the frame`);
      totalLen = avail;
    }
    const claimedEnd = off + totalLen;
    const capturedEnd = claimedEnd < d.length ? claimedEnd : d.length;
    const src = ((d[off + 12] << 24) | (d[off + 13] << 16) | (d[off + 14] << 8) | d[off + 15]) >>> 0;
    const dst = ((d[off + 16] << 24) | (d[off + 17] << 16) | (d[off + 18] << 8) | d[off + 19]) >>> 0;
    const fragField = (d[off + 6] << 8) | d[off + 7];
    if ((fragField & 0x3fff) !== 0) {
      const more = (fragField & 0x2000) !== 0;
      const fragOff = (fragField & 0x1fff) * 8;
      const id = (d[off + 4] << 8) | d[off + 5];
      const srcName = this.v4Name(src);
      const dstName = this.v4Name(dst);
      const whole = this.fragments.add(
        `4 ${src} ${dst} ${id} ${PROTO_TCP}`,
        `IPv4 datagram ${srcName} > ${dstName} id 0x${id.toString(16).padStart(4, '0')}`,
        rec.frame,
        rec.timeSec,
        fragOff,
        d.subarray(off + ihl, capturedEnd),
        totalLen - ihl,
        more,
        PROTO_TCP,
      );
      if (whole === null) return null;
      this.setIpv4Header(d, off);
      return this.tcp(whole.data, 0, whole.data.length, whole.captured, 4, srcName, dstName);
    }
    this.setIpv4Header(d, off);
    return this.tcp(d, off + ihl, claimedEnd, capturedEnd, 4, this.v4Name(src), this.v4Name(dst));
  }

  /** The IPv4 header facts the segment carries (ip.ttl, ip.len, ip.flags): of this frame's header, a fragment's too. */
  private setIpv4Header(d: Uint8Array, off: number): void {
    this.ipTtl = d[off + 8];
    this.ipLength = (d[off + 2] << 8) | d[off + 3];
    this.ipFlags = d[off + 6] >> 5;
  }

  private ipv6(off: number): TcpSegment | null {
    const rec = this.rec;
    const d = rec.data;
    const avail = d.length - off;
    if (avail < 40) {
      if (avail >= 7 && !isIpv6Carrier(d[off + 6])) return null;
      return this.short('IPv6 header');
    }
    if (d[off] >> 4 !== 6) return this.malformed(`IPv6 header has version ${d[off] >> 4}`);
    const nh = d[off + 6];
    if (!isIpv6Carrier(nh)) return null;
    let payloadLen = (d[off + 4] << 8) | d[off + 5];
    if (payloadLen === 0) {
      // Jumbogram or segmentation offload; either way the frame is the only length there is.
      payloadLen = avail - 40;
    } else if (payloadLen > avail - 40 && d.length >= rec.wireLength) {
      this.malformed(`IPv6 payload length ${payloadLen} exceeds the ${avail - 40} bytes in the frame`);
      payloadLen = avail - 40;
    }
    const claimedEnd = off + 40 + payloadLen;
    const capturedEnd = claimedEnd < d.length ? claimedEnd : d.length;
    this.ipTtl = this.ipLength = this.ipFlags = -1;
    return this.ipv6Chain(d, off + 40, claimedEnd, capturedEnd, nh, off + 8, true);
  }

  /**
   * Walks IPv6 extension headers from `p` until TCP. `addrOff` locates the source and destination
   * addresses in `this.rec.data` (fragments are reassembled into a separate buffer).
   */
  private ipv6Chain(
    buf: Uint8Array,
    p: number,
    claimedEnd: number,
    capturedEnd: number,
    nh: number,
    addrOff: number,
    fragmentsAllowed: boolean,
  ): TcpSegment | null {
    for (;;) {
      switch (nh) {
        case PROTO_TCP: {
          const d = this.rec.data;
          return this.tcp(buf, p, claimedEnd, capturedEnd, 6, formatIpv6(d, addrOff), formatIpv6(d, addrOff + 16));
        }
        case 0: // hop-by-hop options
        case 43: // routing
        case 60: // destination options
        case 135: // mobility
        case 139: // HIP
        case 140: // shim6
        case 51: {
          // AH counts its length in 4-byte units minus 2; the others in 8-byte units minus 1.
          if (p + 2 > capturedEnd) return p + 2 > claimedEnd ? this.malformed('IPv6 extension header beyond the packet') : this.short('IPv6 extension header');
          const len = nh === 51 ? (buf[p + 1] + 2) * 4 : (buf[p + 1] + 1) * 8;
          nh = buf[p];
          p += len;
          if (p > claimedEnd) return this.malformed('IPv6 extension header beyond the packet');
          break;
        }
        case 44: {
          if (p + 8 > capturedEnd) return p + 8 > claimedEnd ? this.malformed('IPv6 fragment header beyond the packet') : this.short('IPv6 fragment header');
          const field = (buf[p + 2] << 8) | buf[p + 3];
          const fragOff = field & 0xfff8;
          const more = (field & 1) !== 0;
          const inner = buf[p];
          if (fragOff === 0 && !more) {
            // Atomic fragment (RFC 6946): the whole datagram is here.
            nh = inner;
            p += 8;
            break;
          }
          if (!fragmentsAllowed) return this.malformed('IPv6 fragment header inside a fragmented datagram');
          if (!isIpv6Carrier(inner)) return null;
          const id = ((buf[p + 4] << 24) | (buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7]) >>> 0;
          const d = this.rec.data;
          const src = formatIpv6(d, addrOff);
          const dst = formatIpv6(d, addrOff + 16);
          const start = p + 8;
          const whole = this.fragments.add(
            `6 ${src} ${dst} ${id}`,
            `IPv6 datagram ${src} > ${dst} id 0x${id.toString(16).padStart(8, '0')}`,
            this.rec.frame,
            this.rec.timeSec,
            fragOff,
            buf.subarray(start, capturedEnd),
            claimedEnd - start,
            more,
            inner,
          );
          if (whole === null) return null;
          return this.ipv6Chain(whole.data, 0, whole.data.length, whole.captured, whole.nextHeader, addrOff, false);
        }
        default:
          // ESP (50), no next header (59), UDP and everything else: not TCP, or not readable.
          return null;
      }
    }
  }

  private tcp(
    buf: Uint8Array,
    off: number,
    claimedEnd: number,
    capturedEnd: number,
    ipVersion: 4 | 6,
    srcIp: string,
    dstIp: string,
  ): TcpSegment | null {
    const claimedLen = claimedEnd - off;
    if (claimedLen < 20) return this.malformed(`TCP header needs 20 bytes, the IP packet leaves ${claimedLen}`);
    // Ports, sequence numbers, data offset and flags are all in the first 14 bytes; a cut after them
    // still yields a usable segment whose payload is entirely missing.
    if (capturedEnd - off < 14) return this.short('TCP header');
    const doff = (buf[off + 12] >> 4) * 4;
    if (doff < 20) return this.malformed(`TCP data offset ${doff >> 2} is below 5`);
    if (doff > claimedLen) return this.malformed(`TCP header of ${doff} bytes runs beyond the ${claimedLen}-byte segment`);
    const start = off + doff;
    const rec = this.rec;
    return {
      frame: rec.frame,
      timeSec: rec.timeSec,
      timeNsec: rec.timeNsec,
      ipVersion,
      srcIp,
      dstIp,
      srcPort: (buf[off] << 8) | buf[off + 1],
      dstPort: (buf[off + 2] << 8) | buf[off + 3],
      seq: ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0,
      ack: ((buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11]) >>> 0,
      flags: buf[off + 13],
      payload: start < capturedEnd ? buf.subarray(start, capturedEnd) : EMPTY,
      payloadLength: claimedLen - doff,
      ipTtl: this.ipTtl,
      ipLength: this.ipLength,
      ipFlags: this.ipFlags,
      tcpFlags: ((buf[off + 12] & 0x0f) << 8) | buf[off + 13],
    };
  }

  private v4Name(addr: number): string {
    // Keyed by the signed 32-bit view of the address: it stays a small integer, while addresses from 128.0.0.0 up
    // would otherwise be heap numbers, which a Map hashes and compares far more slowly.
    const key = addr | 0;
    let name = this.v4Names.get(key);
    if (name === undefined) {
      if (this.v4Names.size >= V4_CACHE_MAX) this.v4Names.clear();
      name = formatIpv4(addr);
      this.v4Names.set(key, name);
    }
    return name;
  }

  /** The frame ends inside a header: a snaplen cut is 'truncated', a short frame on the wire is malformed. */
  private short(what: string): null {
    const rec = this.rec;
    if (rec.data.length < rec.wireLength) {
      this.onEvent({
        event: 'truncated',
        frame: rec.frame,
        message: `frame ${rec.frame} cut by the snaplen inside the ${what} (${rec.data.length} of ${rec.wireLength} bytes captured)`,
      });
      return null;
    }
    return this.malformed(`frame ends inside the ${what}`);
  }

  private malformed(message: string): null {
    const frame = this.rec.frame;
    this.onEvent({ event: 'malformed-frame', frame, message: `frame ${frame}: ${message}` });
    return null;
  }
}

/** Next-header values that can lead to TCP: TCP itself and the extension headers walked above. */
function isIpv6Carrier(nh: number): boolean {
  return nh === PROTO_TCP || nh === 0 || nh === 43 || nh === 44 || nh === 60 || nh === 51 || nh === 135 || nh === 139 || nh === 140;
}
