/**
 * Pasted bytes that are a whole captured frame (tshark -x, Wireshark's hex dump of a frame): the MQTT bytes are the
 * TCP payload. The frame is decoded by the capture pipeline's own link/IP/TCP decoder (src/net), trying the link
 * layers a dump comes from; it counts as a frame only when that decoder takes it without a complaint and the IP
 * lengths account for every byte (Ethernet padding aside), so MQTT bytes are not mistaken for one.
 */
import type { CaptureRecord } from '../capture/types.js';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW, NetDecoder } from '../net/decoder.js';
import type { TcpSegment } from '../net/types.js';
import { HexInputError, readPasted } from './hex-input.js';

export interface FramePayload {
  payload: Uint8Array;
  /** "Ethernet frame 192.0.2.1:51234 → 192.0.2.2:1883" */
  description: string;
  segment: TcpSegment;
}

const ETHERTYPES = new Set([0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100]);

const LINKS: Array<{ type: number; name: string; plausible: (b: Uint8Array) => boolean }> = [
  { type: LINKTYPE_ETHERNET, name: 'Ethernet', plausible: (b) => b.length >= 34 && ETHERTYPES.has((b[12]! << 8) | b[13]!) },
  { type: LINKTYPE_LINUX_SLL2, name: 'Linux cooked v2', plausible: (b) => b.length >= 40 && ETHERTYPES.has((b[0]! << 8) | b[1]!) && b[2] === 0 && b[3] === 0 },
  { type: LINKTYPE_LINUX_SLL, name: 'Linux cooked', plausible: (b) => b.length >= 36 && ETHERTYPES.has((b[14]! << 8) | b[15]!) && b[0] === 0 && b[1]! <= 4 },
  { type: LINKTYPE_RAW, name: 'IP packet', plausible: (b) => b.length >= 40 && (b[0] === 0x45 || (b[0]! >> 4) === 6) },
];

/** Bytes after the TCP payload that a frame may carry: Ethernet pads frames to 60 bytes. */
function trailingOk(type: number, frame: Uint8Array, seg: TcpSegment): boolean {
  const end = seg.payload.byteOffset - frame.byteOffset + seg.payload.length;
  return end === frame.length || (type === LINKTYPE_ETHERNET && frame.length <= 60 && frame.subarray(end).every((x) => x === 0));
}

export function tcpPayloadOf(bytes: Uint8Array): FramePayload | null {
  for (const link of LINKS) {
    if (!link.plausible(bytes)) continue;
    let complaints = 0;
    const net = new NetDecoder(() => { complaints++; });
    const rec: CaptureRecord = { frame: 1, timeSec: 0, timeNsec: 0, linkType: link.type, data: bytes, wireLength: bytes.length, fileOffset: 0 };
    const seg = net.decode(rec);
    net.finish(1);
    if (!seg || complaints > 0 || seg.payloadLength !== seg.payload.length || !trailingOk(link.type, bytes, seg)) continue;
    const v6 = (ip: string): string => (ip.includes(':') ? `[${ip}]` : ip);
    return {
      payload: seg.payload,
      description: `${link.name} frame ${v6(seg.srcIp)}:${seg.srcPort} → ${v6(seg.dstIp)}:${seg.dstPort}`,
      segment: seg,
    };
  }
  return null;
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The MQTT bytes of pasted text: frames (a tshark -x dump of one or more frames) give their TCP payloads in order,
 * anything else its bytes. What was detected is added to `notes`, for stderr.
 */
export function pastedMqttBytes(text: string, base64: boolean, notes: string[]): Uint8Array {
  const pasted = readPasted(text, { base64 });
  if (pasted.format !== null) notes.push(`read as ${pasted.format}${pasted.format === 'base64' && !base64 ? ' (it cannot be hex)' : ''}`);
  if (pasted.note !== null) notes.push(pasted.note);
  const frames = pasted.blocks.map(tcpPayloadOf);
  if (!frames.every((f) => f !== null)) return join(pasted.blocks);
  const payload = join(frames.map((f) => f!.payload));
  const what = frames.length === 1 ? `a captured frame (${frames[0]!.description})` : `${frames.length} captured frames (the first: ${frames[0]!.description})`;
  if (payload.length === 0) throw new HexInputError(`the bytes are ${what} with no TCP payload: no MQTT bytes to explain`);
  notes.push(`the bytes are ${what}: explaining the ${payload.length}-byte TCP payload`);
  return payload;
}
