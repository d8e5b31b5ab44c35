export type Direction = 'c2s' | 's2c';

export interface Connection {
  /** 0-based, in order of first appearance in the capture. */
  id: number;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** "ip:port", IPv6 as "[addr]:port". */
  client: string;
  server: string;
  /** True when the SYN was seen, so the roles are certain. */
  sawSyn: boolean;
  /** First frame and its time. */
  firstFrame: number;
  startSec: number;
  startNsec: number;
  /**
   * Carried by TLS (port 8883, --tls-port, or a ClientHello found by --auto): the transport stage reports its handshake
   * and, with a key log, decrypts it (src/transport/tls/).
   */
  tls: boolean;
  /**
   * The stream layers the transport stage (src/transport/) unwrapped between TCP and MQTT, outermost first (`['tls']`:
   * decrypted; `['tls', 'websocket']`: WebSocket inside TLS); absent for MQTT straight over TCP. Set before the first MQTT byte of the connection is passed on.
   */
  transport?: TransportName[];
  /** With 'tls' in `transport`: the key-log entry whose secrets decrypted it ("keys.log line 3"). */
  transportKeys?: string;
  /**
   * tshark's `tcp.stream` number of the TCP conversation this connection began in (src/tcp/streams.ts), for
   * `tcp.stream eq N` in Wireshark; null past the numbering table's bound.
   */
  tcpStream: number | null;
  /**
   * The IP and TCP header facts of each direction's latest segment with payload (set by the TCP stage before it
   * passes that segment's bytes on): the MQTT stage copies them onto the packets the segment completes. Absent on
   * connections made by hand (tests, `explain`).
   */
  readonly segments?: { readonly c2s: SegmentFacts; readonly s2c: SegmentFacts };
}

/**
 * One direction's latest segment with payload, as Wireshark's fields name its headers (ip.ttl, ip.len, ip.flags,
 * tcp.flags, tcp.len, tcp.time_delta). Numbers overwritten per segment, so no object is made per segment or packet.
 */
export interface SegmentFacts {
  /** IPv4 TTL, total length and the 3 flag bits; -1 on IPv6 (or unknown). */
  ipTtl: number;
  ipLength: number;
  ipFlags: number;
  /** The 12 TCP flag bits; -1 unknown. */
  tcpFlags: number;
  /** The segment's payload length by its IP header (tcp.len). */
  tcpLength: number;
  /** Time since the previous frame of the connection, in either direction (tcp.time_delta; 0 for its first). */
  deltaSec: number;
  deltaNsec: number;
}

/** Facts before any segment: unknown. */
export function unknownSegment(): SegmentFacts {
  return { ipTtl: -1, ipLength: -1, ipFlags: -1, tcpFlags: -1, tcpLength: -1, deltaSec: 0, deltaNsec: 0 };
}

/** A stream layer of the transport stage. */
export type TransportName = 'tls' | 'websocket';

/** Every kind of event record, as data: docs/json.md has a row for each (test/events-docs.test.ts). */
export const EVENT_KINDS = [
  'gap', 'late-data', 'truncated', 'overlap-conflict', 'capture-note', 'resync', 'damaged', 'oversize', 'buffer-overflow',
  'not-mqtt', 'tls', 'incomplete', 'ip-fragment', 'file-truncated', 'corrupt-block', 'unsupported-link', 'malformed-frame',
  'incomplete-flow', 'http', 'evicted', 'limit', 'tls-alert', 'tls-error', 'websocket', 'websocket-control', 'websocket-error',
  'websocket-lost', 'websocket-inflate', 'sessions-partial', 'sessions-limit',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

/** What a TLS connection's handshake showed, read without keys (the 'tls' event). */
export interface TlsFacts {
  /** Negotiated version ("TLS 1.3"), null before a ServerHello. */
  version: string | null;
  cipherSuite: string | null;
  sni: string | null;
  alpnOffered: string[];
  /** ALPN selected (TLS 1.2 ServerHello; TLS 1.3 sends it encrypted, so null there unless decrypted). */
  alpn: string | null;
  /** The client offered to resume (a session id, a ticket, a PSK). */
  resumptionOffered: boolean;
  /** The server accepted: how. */
  resumed: 'session-id' | 'ticket' | 'psk' | null;
  certificate: { subject: string; issuer: string; notBefore: string; notAfter: string; chain: number } | null;
  /** Decrypted with a key-log entry (named), or why not. */
  decrypted: boolean;
  keys: string | null;
}

/** Transport findings: every defect reported, never hidden. */
export interface StreamEvent {
  event: EventKind;
  frame: number;
  conn: number | null;
  dir: Direction | null;
  message: string;
  /** Missing byte count for gap/truncated events. */
  bytes?: number;
  /**
   * Bytes that arrived but are in no decoded packet (skipped while resynchronising, a damaged packet's surviving
   * bytes, a cut-short packet at the end): with the decoded packets and the gaps they account for every stream byte.
   */
  skipped?: number;
  /** A resync caused by the sender's own malformed framing (a Remaining Length past 4 bytes), not by the capture. */
  malformed?: 'rl-too-long';
  /** How many things the event is about (connections evicted, entries left untracked past a cap). */
  count?: number;
  /** tls-error: what went wrong, one word ('no-key', 'bad-record', 'unsupported-suite', …; docs/json.md). */
  reason?: string;
  /** The 'tls' event: the handshake's facts. */
  tls?: TlsFacts;
  /**
   * What a transport layer decoded, as plain data (a WebSocket handshake's path, Host and subprotocols; a close
   * frame's code and reason): written as `info` in NDJSON.
   */
  info?: Readonly<Record<string, string | number | boolean | null | readonly string[]>>;
  /**
   * Findings of a transport layer, by the catalogue rule each breaks (the rules stage turns them into violations:
   * src/rules/transport-findings.ts, src/rules/catalogue-tls.ts): the transport stage cannot import the rules.
   */
  findings?: readonly TransportFinding[];
}

/** A defect a transport layer saw, named by a stable code (the rules stage cites the catalogue entry for it). */
export interface TransportFinding {
  code: TransportFindingCode;
  message: string;
  /** Not a finding on an MQTT 3.1 connection (a 3.1 client's subprotocol "mqttv3.1"). */
  exceptLevel3?: true;
}

export type TransportFindingCode =
  | 'ws-not-binary' | 'ws-subprotocol-offered' | 'ws-subprotocol-selected'
  | 'ws-client-unmasked' | 'ws-server-masked' | 'ws-reserved-bits' | 'ws-reserved-opcode' | 'ws-length-msb'
  | 'ws-length-not-minimal' | 'ws-control-too-long' | 'ws-control-fragmented' | 'ws-continuation-without-start'
  | 'ws-data-inside-fragmented' | 'ws-bad-close-code' | 'ws-close-payload-1' | 'ws-data-after-close'
  | 'ws-accept-mismatch' | 'ws-bad-request'
  | TlsFindingCode;

/** The TLS layer's findings: their codes are their catalogue ids (src/rules/catalogue-tls.ts). */
export type TlsFindingCode = 'TLS-old-version' | 'TLS-weak-cipher' | 'TLS-cert-expired' | 'TLS-cert-not-yet-valid' | 'TLS-plaintext-mqtt' | 'TLS-record-overflow';

/**
 * Bytes held for packets in progress by every stage of one capture together (out-of-order TCP data here, MQTT
 * packets not yet complete in the framers): one count, one limit. Whoever would take `held` past `limit` refuses
 * the bytes and reports it (buffer-overflow, oversize).
 */
export interface HeldBytes {
  held: number;
  readonly limit: number;
}

/**
 * How a connection's TCP stream ended, as data (filters check `close.cause` values against it): fin, FIN both ways
 * (each reached in sequence); rst, a RST from either side; reuse, a new SYN on the same 4-tuple started another
 * connection; capture-end, the capture ended while the connection was open; evicted, dropped to stay within the
 * connection budget (--max-connections).
 */
export const END_CAUSES = ['fin', 'rst', 'reuse', 'capture-end', 'evicted'] as const;

export type EndCause = (typeof END_CAUSES)[number];

/** Where, when and how a connection ended: every stage gets it with close(). */
export interface ConnectionEnd {
  /** The frame that ended it (the last frame of the capture for 'capture-end'). */
  frame: number;
  timeSec: number;
  timeNsec: number;
  cause: EndCause;
  /** The side that sent the RST or the first FIN; null when neither did (reuse, capture end, eviction). */
  by: Direction | null;
  /** Whether each side sent a FIN. */
  finC2s: boolean;
  finS2c: boolean;
}

/** Receives the reassembled, ordered bytes of every connection. Called synchronously, in capture order. */
export interface StreamSink {
  open(conn: Connection): void;
  /** In-order bytes of one direction; `data` is only valid during the call (copy it to keep it). */
  data(conn: Connection, dir: Direction, data: Uint8Array, frame: number, timeSec: number, timeNsec: number): void;
  /**
   * A hole of `bytes` missing bytes in this direction, before the next data() call. `cut` is set when the snaplen cut
   * them off the frame just delivered (with that frame's time), so the bytes before the hole are a packet's start.
   */
  gap(conn: Connection, dir: Direction, bytes: number, frame: number, cut?: { timeSec: number; timeNsec: number }): void;
  /** The connection ended (FIN/RST both ways, 4-tuple reuse, or end of capture): how, when, by whom. */
  close(conn: Connection, end: ConnectionEnd): void;
  event(ev: StreamEvent): void;
}

/** Verdict on the first bytes of a stream: an MQTT CONNECT, not one, or too few bytes to tell yet. */
export type ConnectProbe = 'yes' | 'no' | 'more';

/**
 * How --auto recognises MQTT on other ports: the MQTT stage's test of a stream's first bytes (src/mqtt/connect-probe.ts),
 * handed to the TCP stage by the pipeline, and how many first bytes always decide it.
 */
export interface ConnectProber {
  bytes: number;
  /**
   * `midConnection`: the connection's SYN is not in the capture, so its first bytes may be the middle of a unit of
   * some layer (a WebSocket frame cut by the capture's start).
   */
  test(b: Uint8Array, n: number, midConnection?: boolean): ConnectProbe;
  /**
   * For a stream on a probed port (probePorts) judged 'no': why it is still worth one event (HTTP that is no
   * WebSocket upgrade on a WebSocket port), or null to drop it silently.
   */
  explain?(b: Uint8Array, n: number): string | null;
}
