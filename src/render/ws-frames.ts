/**
 * The annotated hex of a packet carried over WebSocket: below the MQTT bytes (whose offsets stay those of the MQTT
 * packet), the header of every frame that carried them, byte by byte, and which packet bytes each frame's payload
 * held. Client payloads are masked on the wire; the MQTT bytes shown above are the unmasked ones, and this says so.
 */
import type { ChalkInstance } from 'chalk';
import type { WsFrameNote } from '../transport/websocket.js';
import { OPCODES } from '../transport/websocket-tables.js';

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** Lines for the frames in `notes` that overlap packet bytes [packetOffset, packetOffset + packetLength) of the stream. */
export function wsFrameLines(notes: readonly WsFrameNote[], packetOffset: number, packetLength: number, chalk: ChalkInstance, indent: string): string[] {
  if (notes.length === 0) return [];
  const out: string[] = [];
  const masked = notes.some((n) => (n.header[1]! & 0x80) !== 0);
  const inflated = notes.some((n) => n.inflated !== undefined);
  const how = [masked ? 'masked payloads were unmasked' : '', inflated ? 'compressed messages were inflated (permessage-deflate)' : ''].filter((t) => t !== '');
  const said = how.length === 0 ? '' : ` (${how.join(', ')}: the bytes above are the ${masked && inflated ? 'unmasked, inflated' : masked ? 'unmasked' : 'inflated'} ones${inflated ? ', and inflated bytes have no wire offsets' : ''})`;
  out.push(`${indent}${chalk.dim(`WebSocket frame${notes.length === 1 ? '' : 's'} carrying this packet${said}:`)}`);
  const pad = 24;
  const row = (bytes: Uint8Array, what: string): string => `${indent}    ${hex(bytes).padEnd(pad)}${what}`;
  for (const n of notes) {
    const h = n.header;
    const b0 = h[0]!;
    const b1 = h[1]!;
    const op = OPCODES[b0 & 0x0f]!;
    const len7 = b1 & 0x7f;
    const isMasked = (b1 & 0x80) !== 0;
    out.push(`${indent}  frame ${n.frame}: header ${hex(h)}`);
    out.push(row(h.subarray(0, 1), `FIN ${b0 >> 7}, RSV ${((b0 >> 4) & 7).toString(2).padStart(3, '0')}, opcode 0x${(b0 & 0x0f).toString(16)} = ${op.name}`));
    const lenText = len7 < 126 ? `payload length ${len7} (7-bit form)` : len7 === 126 ? 'payload length: 126 = in the next 2 bytes' : 'payload length: 127 = in the next 8 bytes';
    out.push(row(h.subarray(1, 2), `MASK ${isMasked ? 1 : 0}, ${lenText}`));
    let at = 2;
    if (len7 === 126) {
      out.push(row(h.subarray(2, 4), `extended payload length ${n.payloadLength} (16-bit)`));
      at = 4;
    } else if (len7 === 127) {
      out.push(row(h.subarray(2, 10), `extended payload length ${n.payloadLength} (64-bit)`));
      at = 10;
    }
    if (isMasked) out.push(row(h.subarray(at, at + 4), `masking key: payload byte i was XORed with key byte i mod 4`));
    const span = n.inflated ?? n.payloadLength;
    const from = Math.max(n.streamOffset, packetOffset) - packetOffset;
    const to = Math.min(n.streamOffset + span, packetOffset + packetLength) - packetOffset;
    const whole = from === 0 && to === packetLength;
    const share = whole ? 'the whole packet' : to - from === 1 ? `packet byte ${from}` : `packet bytes ${from}-${to - 1}`;
    const rest = span - (to - from);
    const others = rest > 0 ? ` (and ${rest} byte${rest === 1 ? '' : 's'} of other packets)` : '';
    // A compressed message's frames hold deflate data: which packet bytes came from which frame is unknown, only that
    // the message as a whole inflated to them.
    const what = n.inflated === undefined
      ? `payload: ${share}${others}`
      : `payload: ${n.payloadLength} bytes of deflate data (RSV1: permessage-deflate); the message they belong to inflated to ${n.inflated} bytes: ${share}${others}`;
    out.push(`${indent}    ${''.padEnd(pad)}${chalk.dim(what)}`);
  }
  return out;
}
