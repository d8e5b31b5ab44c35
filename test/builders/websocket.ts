/**
 * WebSocket bytes for tests (RFC 6455): frames with any FIN/RSV/opcode, mask and length form (also lengths no real
 * payload follows: 64-bit lengths up to 2^64 - 1), and the opening handshake's request and response.
 */
import { createHash } from 'node:crypto';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { WEBSOCKET_GUID } from '../../src/transport/websocket-tables.js';
import { bytes, concat } from './frames.js';

export interface WsFrameSpec {
  /** Opcode (default 0x2, binary). */
  opcode?: number;
  fin?: boolean;
  /** RSV1-3 as a 3-bit number. */
  rsv?: number;
  /** A masking key (client frames), or none. */
  mask?: Uint8Array | readonly number[] | null;
  payload?: Uint8Array | string;
  /** Force a length form (7, 16 or 64 bits) instead of the shortest. */
  form?: 7 | 16 | 64;
  /** Declare this length instead of the payload's (a frame whose bytes never all come). */
  declared?: bigint;
}

export const KEY = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);

export function wsFrame(spec: WsFrameSpec = {}): Uint8Array {
  const payload = bytes(spec.payload ?? new Uint8Array(0));
  const op = spec.opcode ?? 0x2;
  const fin = spec.fin ?? true;
  const b0 = (fin ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | op;
  const len = spec.declared ?? BigInt(payload.length);
  const form = spec.form ?? (len < 126n ? 7 : len < 65536n ? 16 : 64);
  const mask = spec.mask === undefined || spec.mask === null ? null : Uint8Array.from(spec.mask);
  const head: number[] = [b0];
  const m = mask !== null ? 0x80 : 0;
  if (form === 7) head.push(m | Number(len));
  else if (form === 16) head.push(m | 126, Number(len >> 8n) & 0xff, Number(len) & 0xff);
  else {
    head.push(m | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((len >> BigInt(8 * i)) & 0xffn));
  }
  let body = payload;
  if (mask !== null) {
    head.push(...mask);
    body = payload.map((b, i) => b ^ mask[i & 3]!);
  }
  return concat([Uint8Array.from(head), body]);
}

/** A client frame: masked with KEY unless told otherwise. */
export function clientFrame(spec: WsFrameSpec = {}): Uint8Array {
  return wsFrame({ mask: KEY, ...spec });
}

export const SEC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

export function acceptFor(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

export function upgradeRequest(o: { path?: string; host?: string; protocols?: string | null; key?: string; extra?: string[] } = {}): Uint8Array {
  const lines = [
    `GET ${o.path ?? '/mqtt'} HTTP/1.1`,
    `Host: ${o.host ?? 'broker.example:8080'}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${o.key ?? SEC_KEY}`,
    'Sec-WebSocket-Version: 13',
    ...(o.protocols === null ? [] : [`Sec-WebSocket-Protocol: ${o.protocols ?? 'mqtt'}`]),
    ...(o.extra ?? []),
  ];
  return bytes(`${lines.join('\r\n')}\r\n\r\n`);
}

export function upgradeResponse(o: { status?: string; protocol?: string | null; accept?: string | null; key?: string; extra?: string[] } = {}): Uint8Array {
  const status = o.status ?? '101 Switching Protocols';
  const lines = [
    `HTTP/1.1 ${status}`,
    ...(status.startsWith('101') ? ['Upgrade: websocket', 'Connection: Upgrade'] : []),
    ...(o.accept === null ? [] : [`Sec-WebSocket-Accept: ${o.accept ?? acceptFor(o.key ?? SEC_KEY)}`]),
    ...(o.protocol === null ? [] : [`Sec-WebSocket-Protocol: ${o.protocol ?? 'mqtt'}`]),
    ...(o.extra ?? []),
  ];
  return bytes(`${lines.join('\r\n')}\r\n\r\n`);
}

/**
 * permessage-deflate's compression (RFC 7692 section 7.2.1) with zlib: each message deflated and ended with a sync
 * flush, its 00 00 ff ff tail removed. With context takeover (the default) the window runs on from message to message:
 * zlib is given the earlier messages' bytes as its preset dictionary, which is what a sender's running window holds.
 */
export function deflateMessages(messages: readonly (Uint8Array | string)[], o: { takeover?: boolean; windowBits?: number } = {}): Uint8Array[] {
  const takeover = o.takeover ?? true;
  const windowBits = o.windowBits ?? 15;
  let window: Uint8Array = new Uint8Array(0);
  return messages.map((m) => {
    const plain = bytes(m);
    const c = deflateRawSync(plain, { finishFlush: zlibConstants.Z_SYNC_FLUSH, windowBits, ...(takeover && window.length > 0 ? { dictionary: window } : {}) });
    if (c.subarray(c.length - 4).join() !== '0,0,255,255') throw new Error('deflateMessages: no sync-flush tail');
    const joined = concat([window, plain]);
    window = joined.subarray(Math.max(0, joined.length - (1 << windowBits)));
    return new Uint8Array(c.subarray(0, c.length - 4));
  });
}

/** The response header that accepts permessage-deflate, with its parameters ("server_no_context_takeover", ...). */
export function deflateAccepted(...params: string[]): string {
  return `Sec-WebSocket-Extensions: ${['permessage-deflate', ...params].join('; ')}`;
}
