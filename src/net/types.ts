/** A TCP segment peeled out of a frame, with addresses as printable strings. */
export interface TcpSegment {
  frame: number;
  timeSec: number;
  timeNsec: number;
  ipVersion: 4 | 6;
  /** Printable source address ("192.0.2.1", "2001:db8::1"). */
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TCP flag bits: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20. */
  flags: number;
  /** Payload bytes actually captured (a view into the frame, not a copy). */
  payload: Uint8Array;
  /** Payload length according to the IP header (>= payload.length; larger when the snaplen cut the frame). */
  payloadLength: number;
  /**
   * The IPv4 header's TTL, total length and flags (its top 3 bits: reserved, DF, MF, as Wireshark's ip.flags), -1 on
   * IPv6; and all 12 TCP flag bits (reserved 3, AE/NS, CWR, ECE, then `flags`), Wireshark's tcp.flags. Only field
   * export and filters read them (ip.ttl, tcp.flags.cwr, …); segments a test makes by hand may leave them out.
   */
  ipTtl?: number;
  ipLength?: number;
  ipFlags?: number;
  tcpFlags?: number;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** A link/network-layer finding (e.g. an unsupported link type, an IPv4 fragment that never completed). */
export interface NetEvent {
  event: 'unsupported-link' | 'malformed-frame' | 'ip-fragment' | 'truncated';
  frame: number;
  message: string;
  /** How many incomplete datagrams an ip-fragment event stands for (one event per burst of drops). */
  count?: number;
}
