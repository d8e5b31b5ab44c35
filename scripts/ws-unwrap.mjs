#!/usr/bin/env node
// tshark 4.0 cuts MQTT over WebSocket into frames and unmasks them, but hands binary payloads to its "data"
// dissector: MQTT has no entry in its ws.protocol table, so `-Y mqtt` finds nothing. This script takes tshark's own
// unmasked payloads (data.data, in capture order, per TCP stream and direction), joins them into each direction's
// byte stream and writes them as a plain TCP capture with the original ports, so tshark's MQTT dissector can decode exactly the
// stream its WebSocket dissector unwrapped. Each written segment's timestamp (seconds) is the number of the original
// frame that carried its bytes, so packets can be matched to the original capture's frames.
//
//   node scripts/ws-unwrap.mjs CAPTURE PORT OUT.pcap [KEYLOG]
//
// With KEYLOG the WebSocket runs inside TLS on PORT (wss): tshark decrypts it with that key log first
// (-o tls.keylog_file:KEYLOG, -d tcp.port==PORT,tls, -d tls.port==PORT,http), the rest is the same.
//
// Then: tshark -r OUT.pcap -d tcp.port==PORT,mqtt -Y mqtt ...   (frame.time_epoch = original frame number)
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const [capture, portText, outFile, keylog] = process.argv.slice(2);
const port = Number(portText);
if (!capture || !outFile || !Number.isInteger(port)) {
  console.error('usage: ws-unwrap.mjs CAPTURE PORT OUT.pcap [KEYLOG]');
  process.exit(2);
}

const fields = execFileSync('tshark', [
  '-n', '-r', capture,
  ...(keylog === undefined ? ['-d', `tcp.port==${port},http`] : ['-o', `tls.keylog_file:${keylog}`, '-d', `tcp.port==${port},tls`, '-d', `tls.port==${port},http`]),
  '-Y', 'websocket && data',
  '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'data.data',
], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });

/** Per TCP stream: sequence numbers of both directions; segments in capture order. */
const streams = new Map();
const segments = [];
for (const line of fields.split('\n')) {
  if (line === '') continue;
  const [frame, stream, srcPort, dstPort, data] = line.split('\t');
  const fromClient = Number(srcPort) !== port;
  const clientPort = fromClient ? Number(srcPort) : Number(dstPort);
  const bytes = Buffer.from(data.replace(/[,:]/g, ''), 'hex');
  if (!streams.has(stream)) streams.set(stream, { c: 1000, s: 5000, clientPort });
  segments.push({ frame: Number(frame), stream: Number(stream), fromClient, bytes });
}

const CLIENT = [10, 0, 0, 1];
const SERVER = [10, 0, 0, 2];
const records = [];
function segment(st, stream, fromClient, flags, payload, sec) {
  const ip = Buffer.alloc(40 + payload.length);
  ip[0] = 0x45;
  ip.writeUInt16BE(ip.length, 2);
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from(fromClient ? CLIENT : SERVER).copy(ip, 12);
  Buffer.from(fromClient ? SERVER : CLIENT).copy(ip, 16);
  const cport = st.clientPort;
  ip.writeUInt16BE(fromClient ? cport : port, 20);
  ip.writeUInt16BE(fromClient ? port : cport, 22);
  ip.writeUInt32BE((fromClient ? st.c : st.s) >>> 0, 24);
  ip.writeUInt32BE((fromClient ? st.s : st.c) >>> 0, 28);
  ip[32] = 0x50;
  ip[33] = flags;
  ip.writeUInt16BE(65535, 34);
  payload.copy(ip, 40);
  if (fromClient) st.c += payload.length + ((flags & 0x02) !== 0 ? 1 : 0);
  else st.s += payload.length + ((flags & 0x02) !== 0 ? 1 : 0);
  const rec = Buffer.alloc(16);
  rec.writeUInt32LE(sec, 0);
  rec.writeUInt32LE(ip.length, 8);
  rec.writeUInt32LE(ip.length, 12);
  records.push(rec, ip);
}

const opened = new Set();
for (const s of segments) {
  const st = streams.get(String(s.stream));
  if (!opened.has(s.stream)) {
    opened.add(s.stream);
    segment(st, s.stream, true, 0x02, Buffer.alloc(0), s.frame);
    segment(st, s.stream, false, 0x12, Buffer.alloc(0), s.frame);
    segment(st, s.stream, true, 0x10, Buffer.alloc(0), s.frame);
  }
  for (let at = 0; at < s.bytes.length; at += 1400) segment(st, s.stream, s.fromClient, 0x18, s.bytes.subarray(at, at + 1400), s.frame);
}

const header = Buffer.alloc(24);
header.writeUInt32LE(0xa1b2c3d4, 0);
header.writeUInt16LE(2, 4);
header.writeUInt16LE(4, 6);
header.writeUInt32LE(262144, 16);
header.writeUInt32LE(101, 20); // LINKTYPE_RAW: IPv4 packets
writeFileSync(outFile, Buffer.concat([header, ...records]));
console.error(`ws-unwrap: ${segments.length} frames with WebSocket data in ${streams.size} streams -> ${outFile}`);
