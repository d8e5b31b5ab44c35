/**
 * Inputs for fuzzing the whole tool (test/fuzz-pipeline.test.ts in process, test/e2e/fuzz-cli.test.ts through the
 * CLI): captures made by our builders, and damage done to them at three levels.
 *
 * - Bytes of the file: bit flips, bytes inserted or deleted, overwritten 32-bit words, cuts (mutatedCaptureArb), and
 *   runs of bytes inserted or deleted anywhere.
 * - Length fields, where they are: a record's captured and wire lengths, the IPv4 total length and header length, the
 *   TCP data offset, an MQTT Remaining Length and a string length inside the packet.
 * - Frames of the sessions: TCP segments split in two, swapped with the next, duplicated (retransmitted), dropped,
 *   or cut short by the snaplen.
 */
import fc from 'fast-check';
import { mutatedCaptureArb, parseCaptureBytes, writePcap, writePcapngSimple, type FrameSpec } from './capture-writer.js';
import { ethernet, TcpSession } from './frames.js';
import * as m from './mqtt-bytes.js';
import { SYNTHETIC_CAPTURES } from './synthetic-captures.js';
import type { ReadArgs } from '../../src/cli/read.js';

export function timed(frames: Uint8Array[]): FrameSpec[] {
  return frames.map((f, i) => ({ timeSec: 1_700_000_000 + i, timeNsec: (i * 7919) % 1e9, data: ethernet(f) }));
}

/** A v5 session with many properties, a 3.1 session and a PUBLISH split over segments: lots for the decoder. */
export function richFrames(): FrameSpec[] {
  const s = new TcpSession('10.2.0.2:41000', '10.2.0.1:1883', { mss: 90 });
  const t = new TcpSession('10.2.0.3:41001', '10.2.0.1:1883');
  return timed([
    ...s.handshake(),
    ...s.c2s(m.connect({ level: 5, clientId: 'rich', username: 'u', password: 'p', properties: [['sessionExpiryInterval', 60], ['userProperty', ['k', 'v']], ['topicAliasMaximum', 4]],
      will: { topic: 'w/t', payload: 'gone', qos: 1, properties: [['willDelayInterval', 5], ['contentType', 'text/plain']] } })),
    ...s.s2c(m.connack({ level: 5, properties: [['assignedClientIdentifier', 'a-1'], ['topicAliasMaximum', 4], ['reasonString', 'welcome']] })),
    ...s.c2s(m.subscribe({ level: 5, packetId: 1, properties: [['subscriptionIdentifier', 3]], subscriptions: [{ topic: 'a/#', qos: 2, noLocal: true }, { topic: '$share/g/b', qos: 1 }] })),
    ...s.s2c(m.suback({ level: 5, packetId: 1, codes: [2, 0x80] })),
    ...s.c2s(m.publish({ level: 5, topic: 'a/b', qos: 2, packetId: 2, payload: 'x'.repeat(300), properties: [['topicAlias', 1], ['correlationData', Uint8Array.of(1, 2)]] })),
    ...s.s2c(m.ack('PUBREC', { level: 5, packetId: 2, reasonCode: 0x10 })),
    ...s.c2s(m.ack('PUBREL', { level: 5, packetId: 2 })),
    ...s.s2c(m.ack('PUBCOMP', { level: 5, packetId: 2 })),
    ...s.c2s(m.publish({ level: 5, topic: '', qos: 1, packetId: 3, payload: Uint8Array.of(0, 0xff, 0x1b), properties: [['topicAlias', 1]] })),
    ...s.s2c(m.auth({ reasonCode: 0x18, properties: [['authenticationMethod', 'X']] })),
    ...s.c2s(m.unsubscribe({ level: 5, packetId: 4, topics: ['a/#'] })),
    ...s.s2c(m.unsuback({ level: 5, packetId: 4, codes: [0x11] })),
    ...s.s2c(m.disconnect({ level: 5, reasonCode: 0x8e, properties: [['reasonString', 'taken over']] })),
    ...t.handshake(),
    ...t.c2s(m.connect({ level: 3, clientId: 'old', will: { topic: 'w', payload: 'x' } })),
    ...t.s2c(m.connack({ code: 0 })),
    ...t.c2s(m.pingreq()), ...t.s2c(m.pingresp()),
    ...t.close('client'),
  ]);
}

export const BASES: Record<string, Uint8Array> = {
  ...Object.fromEntries(Object.entries(SYNTHETIC_CAPTURES).map(([k, build]) => [k, build()])),
  'rich.pcap': writePcap(richFrames()),
  'rich.pcapng': writePcapngSimple(richFrames()),
};

/** Valid MQTT packets to damage: one of each kind, both levels. */
export const PACKETS: Uint8Array[] = [
  m.connect({ clientId: 'c', username: 'u', password: 'p', will: { topic: 't', payload: 'w' } }),
  m.connect({ level: 5, clientId: 'c5', properties: [['receiveMaximum', 5], ['userProperty', ['a', 'b']]] }),
  m.connack(), m.connack({ level: 5, properties: [['maximumQos', 1]] }),
  m.publish({ topic: 'a/b', payload: 'hello', qos: 1, packetId: 9 }),
  m.publish({ level: 5, topic: 'a', payload: 'p', properties: [['subscriptionIdentifier', 1], ['payloadFormatIndicator', 1]] }),
  m.ack('PUBACK', { packetId: 9 }), m.ack('PUBREL', { level: 5, packetId: 3, reasonCode: 0x92 }),
  m.subscribe({ packetId: 2, subscriptions: [{ topic: 'x/+', qos: 1 }] }), m.suback({ packetId: 2, codes: [1] }),
  m.unsubscribe({ packetId: 3, topics: ['x'] }), m.unsuback({ level: 5, packetId: 3, codes: [0] }),
  m.pingreq(), m.pingresp(), m.disconnect(), m.disconnect({ level: 5, reasonCode: 4, properties: [['sessionExpiryInterval', 0]] }), m.auth({ reasonCode: 0x19 }),
];

/** One TCP payload: random bytes, or MQTT packets with random damage. */
export const payloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 200 }),
  fc.tuple(fc.array(fc.constantFrom(...PACKETS), { minLength: 1, maxLength: 5 }), fc.array(fc.tuple(fc.nat(), fc.nat(7)), { maxLength: 4 }), fc.option(fc.nat()))
    .map(([pkts, flips, cut]) => {
      const b = m.bytes(...pkts);
      for (const [at, bit] of flips) if (b.length > 0) b[at % b.length]! ^= 1 << bit;
      return cut === null ? b : b.subarray(0, cut % (b.length + 1));
    }),
);

/** A capture of random records: TCP segments to or from port 1883 (in order, reordered or with fresh sequence numbers). */
export const randomRecordsArb: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.boolean(),
  fc.array(fc.tuple(fc.boolean(), payloadArb, fc.nat(3)), { minLength: 1, maxLength: 12 }),
).map(([handshake, segs]) => {
  const s = new TcpSession('10.3.0.2:42000', '10.3.0.1:1883');
  const frames: Uint8Array[] = handshake ? s.handshake() : [];
  for (const [c2s, payload, how] of segs) {
    if (how === 3) frames.push(s.raw(c2s ? 'client' : 'server', { seq: (payload.length * 7919) >>> 0, payload, flags: 'PA' }));
    else frames.push(...(c2s ? s.c2s(payload, 1 + (payload.length >> how)) : s.s2c(payload, 1 + (payload.length >> how))));
  }
  if (frames.length > 2) [frames[frames.length - 1], frames[frames.length - 2]] = [frames[frames.length - 2]!, frames[frames.length - 1]!];
  return writePcap(timed(frames));
});

/** A valid pcap file header followed by random bytes. */
export const junkAfterHeaderArb: fc.Arbitrary<Uint8Array> = fc.uint8Array({ minLength: 0, maxLength: 400 }).map((junk) => m.bytes(writePcap([]), junk));

export const captureArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  ...Object.values(BASES).filter((b) => b.length > 100).map((b) => mutatedCaptureArb(b)),
  randomRecordsArb,
  junkAfterHeaderArb,
  fc.uint8Array({ minLength: 0, maxLength: 64 }),
);

// ---------------------------------------------------------------------------------------------------
// Damage at the three levels

/** A base capture as frames of one link type (records of other link types left out), to damage frame by frame. */
export interface FrameBase {
  name: string;
  linkType: number;
  frames: FrameSpec[];
}

/** Every base capture read back into frames (pcapng too: written again as classic pcap). */
export const FRAME_BASES: FrameBase[] = Object.entries(BASES).flatMap(([name, bytes]) => {
  const parsed = parseCaptureBytes(bytes);
  const first = parsed.records[0];
  if (first === undefined) return [];
  const frames = parsed.records.filter((r) => r.linkType === first.linkType)
    .map((r) => ({ timeSec: r.timeSec, timeNsec: r.timeNsec, data: r.data.slice(), wireLength: r.wireLength }));
  return frames.length > 2 ? [{ name, linkType: first.linkType, frames }] : [];
});

/** Where the IPv4 and TCP headers and the TCP payload of a frame start, or null (not Ethernet/raw IPv4 + TCP). */
function tcpLayout(data: Uint8Array, linkType: number): { ip: number; tcp: number; payload: number } | null {
  let ip: number;
  if (linkType === 1) {
    if (data.length < 14 || data[12] !== 0x08 || data[13] !== 0x00) return null;
    ip = 14;
  } else if (linkType === 101 || linkType === 228) ip = 0;
  else return null;
  if (data.length < ip + 20 || data[ip]! >> 4 !== 4 || data[ip + 9] !== 6) return null;
  const tcp = ip + (data[ip]! & 15) * 4;
  if (data.length < tcp + 20) return null;
  const payload = tcp + (data[tcp + 12]! >> 4) * 4;
  return payload <= data.length ? { ip, tcp, payload } : null;
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >> 8) & 255;
  b[at + 1] = v & 255;
}

/** A TCP frame cut in two at payload byte `at`: the second half's sequence number and both IP lengths follow. */
function splitFrame(f: FrameSpec, linkType: number, at: number): FrameSpec[] {
  const l = tcpLayout(f.data, linkType);
  if (l === null) return [f];
  const n = f.data.length - l.payload;
  if (n < 2) return [f];
  const k = 1 + (at % (n - 1));
  const head = f.data.slice(0, l.payload + k);
  const tail = new Uint8Array(f.data.length - k);
  tail.set(f.data.subarray(0, l.payload));
  tail.set(f.data.subarray(l.payload + k), l.payload);
  put16(head, l.ip + 2, head.length - l.ip);
  put16(tail, l.ip + 2, tail.length - l.ip);
  const seq = new DataView(tail.buffer).getUint32(l.tcp + 4);
  new DataView(tail.buffer).setUint32(l.tcp + 4, (seq + k) >>> 0);
  return [{ ...f, data: head, wireLength: head.length }, { ...f, data: tail, wireLength: tail.length }];
}

type FrameOp =
  | { kind: 'split'; i: number; at: number }
  | { kind: 'swap'; i: number }
  | { kind: 'dup'; i: number }
  | { kind: 'drop'; i: number }
  | { kind: 'snap'; i: number; keep: number };

const frameOpArb: fc.Arbitrary<FrameOp> = fc.oneof(
  fc.record({ kind: fc.constant('split' as const), i: fc.nat(), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), i: fc.nat() }),
  fc.record({ kind: fc.constant('dup' as const), i: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), i: fc.nat() }),
  fc.record({ kind: fc.constant('snap' as const), i: fc.nat(), keep: fc.nat(120) }),
);

/** A base's frames with segments split, reordered, duplicated, dropped or cut, written again (times kept in order). */
export function frameMutationArb(base: FrameBase): fc.Arbitrary<Uint8Array> {
  return fc.array(frameOpArb, { minLength: 1, maxLength: 6 }).map((ops) => {
    let frames = base.frames.slice();
    for (const o of ops) {
      if (frames.length === 0) break;
      const i = o.i % frames.length;
      const f = frames[i]!;
      switch (o.kind) {
        case 'split': frames.splice(i, 1, ...splitFrame(f, base.linkType, o.at)); break;
        case 'swap': if (i + 1 < frames.length) [frames[i], frames[i + 1]] = [frames[i + 1]!, f]; break;
        case 'dup': frames.splice(i, 0, f); break;
        case 'drop': frames.splice(i, 1); break;
        case 'snap': frames[i] = { ...f, data: f.data.subarray(0, o.keep), wireLength: f.wireLength ?? f.data.length }; break;
      }
    }
    // Reordered frames keep increasing times, as a capture of reordered packets has them.
    frames = frames.map((f, k) => ({ ...f, timeSec: base.frames[0]!.timeSec + Math.floor(k / 10), timeNsec: (k % 10) * 1e8 }));
    return writePcap(frames, { linkType: base.linkType });
  });
}

/** Offsets of each record's fields in a classic little-endian pcap as writePcap makes it. */
function pcapRecords(b: Uint8Array): number[] {
  const out: number[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 24; at + 16 <= b.length;) {
    out.push(at);
    at += 16 + dv.getUint32(at + 8, true);
  }
  return out;
}

type LengthField = 'caplen' | 'wirelen' | 'iplen' | 'ihl' | 'tcpoff' | 'mqttlen' | 'strlen';

const LENGTH_VALUES = [0, 1, 2, 3, 4, 19, 20, 21, 40, 127, 128, 255, 256, 1500, 16383, 16384, 65535, 0x7fffffff, 0xffffffff];

/** One length field of one record set to an edge value or a random one (writePcap output: little endian). */
export function lengthEditArb(base: FrameBase): fc.Arbitrary<Uint8Array> {
  const clean = writePcap(base.frames, { linkType: base.linkType });
  const records = pcapRecords(clean);
  const field = fc.constantFrom<LengthField>('caplen', 'wirelen', 'iplen', 'ihl', 'tcpoff', 'mqttlen', 'mqttlen', 'strlen', 'strlen');
  const value = fc.oneof(fc.constantFrom(...LENGTH_VALUES), fc.nat(), fc.integer({ min: -3, max: 3 }));
  return fc.array(fc.tuple(fc.nat(), field, value), { minLength: 1, maxLength: 3 }).map((edits) => {
    const b = clean.slice();
    const dv = new DataView(b.buffer);
    for (const [r, what, v] of edits) {
      const at = records[r % records.length]!;
      const data = b.subarray(at + 16, at + 16 + dv.getUint32(at + 8, true));
      const l = tcpLayout(data, base.linkType);
      const d = at + 16;
      switch (what) {
        case 'caplen': dv.setUint32(at + 8, v >>> 0, true); break;
        case 'wirelen': dv.setUint32(at + 12, v >>> 0, true); break;
        case 'iplen': if (l) put16(b, d + l.ip + 2, v & 0xffff); break;
        case 'ihl': if (l) b[d + l.ip] = 0x40 | (v & 15); break;
        case 'tcpoff': if (l) b[d + l.tcp + 12] = (v & 15) << 4; break;
        // The byte after the first MQTT fixed header byte: the (first byte of the) Remaining Length; v small = an
        // adjustment of the true value, as an off-by-one encoder writes it.
        case 'mqttlen': if (l && l.payload + 1 < data.length) b[d + l.payload + 1] = (v >= -3 && v <= 3 ? b[d + l.payload + 1]! + v : v) & 255; break;
        // A 16-bit length inside the packet (protocol name, topic, client id: two bytes after a short header).
        case 'strlen': if (l && l.payload + 4 <= data.length) put16(b, d + l.payload + 2, v & 0xffff); break;
      }
    }
    return b;
  });
}

/** Runs of bytes inserted or deleted anywhere in the file (mutatedCaptureArb does single bytes and junk). */
export function runEditArb(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }).map((edits) => {
    let b = base;
    for (const [insert, atRaw, n, v] of edits) {
      const at = b.length === 0 ? 0 : atRaw % b.length;
      const removed = insert ? 0 : Math.min(n, b.length - at);
      const next = new Uint8Array(insert ? b.length + n : b.length - removed);
      next.set(b.subarray(0, at));
      if (insert) {
        next.fill(v, at, at + n);
        next.set(b.subarray(at), at + n);
      } else next.set(b.subarray(at + removed), at);
      b = next;
    }
    return b;
  });
}

/** Every kind of damage, over every base, plus the random-record and junk captures. */
export const damagedCaptureArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { arbitrary: captureArb, weight: 3 },
  { arbitrary: fc.oneof(...FRAME_BASES.map((b) => frameMutationArb(b))), weight: 3 },
  { arbitrary: fc.oneof(...FRAME_BASES.map((b) => lengthEditArb(b))), weight: 3 },
  { arbitrary: fc.oneof(...Object.values(BASES).map((b) => runEditArb(b))), weight: 1 },
);

// ---------------------------------------------------------------------------------------------------
// Output modes

/** The output modes fuzzed: the command-line options and the same as the CLI's parsed arguments. */
export const FUZZ_MODES: Record<string, { argv: string[]; args: Partial<ReadArgs> }> = {
  text: { argv: [], args: {} },
  json: { argv: ['--json'], args: { json: true } },
  summary: { argv: ['--summary'], args: { summary: true } },
  verbose: { argv: ['-V'], args: { verbose: true } },
  hex: { argv: ['-x'], args: { hex: true } },
  'summary-json': { argv: ['--summary', '--json'], args: { summary: true, json: true } },
};
