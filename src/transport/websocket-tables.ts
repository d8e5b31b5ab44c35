/** RFC 6455 as data: opcodes (section 5.2, 11.8), close status codes (section 7.4, IANA registry), the ports. */

/** Ports where MQTT over WebSocket is commonly served (mosquitto, HiveMQ, EMQX, VerneMQ, cloud brokers). */
export const WEBSOCKET_PORTS: readonly number[] = [80, 8080, 8083, 8000, 9001];

/**
 * Ports where MQTT over WebSocket inside TLS (wss) is commonly served by MQTT brokers (EMQX's and HiveMQ's wss
 * listeners): followed as TLS like 8883, the WebSocket layer then found inside by its Upgrade once the TLS is
 * decrypted. Not 443: on most captures that is HTTPS, and following it would give every web connection a `tls`
 * event and, without its keys, a `no-key` one; `--tls-port 443` asks for it.
 */
export const WSS_PORTS: readonly number[] = [8084, 8091];

/** The GUID a server appends to Sec-WebSocket-Key before hashing it into Sec-WebSocket-Accept (section 1.3). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export interface OpcodeInfo {
  readonly name: string;
  /** Control frames (close, ping, pong): at most 125 bytes of payload, never fragmented (section 5.5). */
  readonly control: boolean;
  /** Defined by RFC 6455; the others are reserved for further frame types (section 5.2). */
  readonly defined: boolean;
}

/** Every opcode 0-15: name, control or data, defined or reserved. */
export const OPCODES: readonly OpcodeInfo[] = Array.from({ length: 16 }, (_, op): OpcodeInfo => {
  const named: Record<number, string> = { 0x0: 'continuation', 0x1: 'text', 0x2: 'binary', 0x8: 'close', 0x9: 'ping', 0xa: 'pong' };
  const name = named[op];
  return { name: name ?? `reserved 0x${op.toString(16)}`, control: op >= 0x8, defined: name !== undefined };
});

/** Largest payload of a control frame (section 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Close status codes with their registered names (section 7.4.1 and the IANA WebSocket Close Code registry). */
const CLOSE_NAMES: Readonly<Record<number, string>> = {
  1000: 'normal closure',
  1001: 'going away',
  1002: 'protocol error',
  1003: 'unsupported data',
  1007: 'invalid frame payload data',
  1008: 'policy violation',
  1009: 'message too big',
  1010: 'mandatory extension',
  1011: 'internal error',
  1012: 'service restart',
  1013: 'try again later',
  1014: 'bad gateway',
};

/**
 * Codes 1004, 1005, 1006 and 1015 are registered but must never be sent in a close frame (section 7.4.1); codes below
 * 1000 are not used, 1016-2999 are reserved for the protocol and its extensions, 3000-3999 for libraries and
 * frameworks, 4000-4999 for private use (section 7.4.2).
 */
const NEVER_SENT: Readonly<Record<number, string>> = {
  1004: 'reserved',
  1005: 'no status received (never sent in a frame)',
  1006: 'abnormal closure (never sent in a frame)',
  1015: 'TLS handshake failure (never sent in a frame)',
};

/** A close code's name, and whether a close frame may carry it. */
export function closeCode(code: number): { name: string; valid: boolean } {
  const name = CLOSE_NAMES[code];
  if (name !== undefined) return { name, valid: true };
  const never = NEVER_SENT[code];
  if (never !== undefined) return { name: never, valid: false };
  if (code >= 3000 && code <= 3999) return { name: 'registered for libraries and frameworks', valid: true };
  if (code >= 4000 && code <= 4999) return { name: 'private use', valid: true };
  if (code >= 1000 && code <= 2999) return { name: 'reserved for the protocol and its extensions (unassigned)', valid: false };
  return { name: 'outside every range', valid: false };
}

/** The subprotocol an MQTT client offers and a server selects (MQTT-6.0.0-3/-4); MQTT 3.1 clients used "mqttv3.1". */
export const MQTT_SUBPROTOCOL = 'mqtt';
export const MQTT31_SUBPROTOCOL = 'mqttv3.1';

/**
 * permessage-deflate (RFC 7692): the extension's name and parameters (section 7.1), the 4 bytes a sender strips from
 * the end of each compressed message and the receiver appends before inflating (section 7.2.2), the window a sender
 * uses when its *_max_window_bits is not negotiated.
 */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';
export const DEFLATE_PARAMS = {
  serverNoContextTakeover: 'server_no_context_takeover',
  clientNoContextTakeover: 'client_no_context_takeover',
  serverMaxWindowBits: 'server_max_window_bits',
  clientMaxWindowBits: 'client_max_window_bits',
} as const;
export const DEFLATE_TAIL: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0xff);
export const DEFLATE_DEFAULT_WINDOW_BITS = 15;
export const DEFLATE_MIN_WINDOW_BITS = 8;

/**
 * Caps on inflating, so that a decompression bomb (deflate reaches ~1000:1) cannot eat memory or time: the compressed
 * bytes of one message held until its last frame (counted in the capture's held bytes), the bytes one message may
 * inflate to, and the bytes all messages of a connection may inflate to. Past one, an event says so. One MQTT packet
 * may be up to 256 MB, but the MQTT framer itself holds at most 64 MiB of one (its buffer limit); 16 MiB per message
 * is far above what MQTT over WebSocket carries in practice.
 */
export const MAX_COMPRESSED_MESSAGE_BYTES = 16 * 1024 * 1024;
export const MAX_INFLATED_MESSAGE_BYTES = 16 * 1024 * 1024;
export const MAX_INFLATED_CONNECTION_BYTES = 1024 * 1024 * 1024;

/**
 * A capture that starts after the HTTP Upgrade: how many client frame headers in a row, from the first byte of the
 * client's stream, must check out (resyncAt: masked, defined opcode, shortest length, each ending where the next
 * begins) before the stream is taken for WebSocket. Random bytes pass one header about 1 time in 50.
 */
export const MIDSTREAM_FRAMES = 3;

/**
 * A capture that starts inside a client frame (its header before the capture): the first header the capture holds is
 * looked for at every offset of the first bytes a sniff sees (MAX_HEAD_BYTES), so it takes a longer chain than at
 * byte 0. Random bytes pass a chain of six about 1 time in 50^6 per offset: under 1 in 10^6 over 8,192 offsets.
 */
export const MIDFRAME_FRAMES = 6;

/**
 * How many first bytes, all below 0x80, rule out a start inside a client frame: a frame header has its mask bit set
 * (a byte of 0x80 or more), and masked payload bytes look random, so a text protocol (SSH's banner, SMTP) is told
 * at once instead of being held for MAX_HEAD_BYTES. It misses a start inside a frame whose payload is text and whose
 * masking key has no byte of 0x80 or more (1 in 16) when more than this many of its bytes are in the capture.
 */
export const MIDFRAME_TEXT_BYTES = 32;
