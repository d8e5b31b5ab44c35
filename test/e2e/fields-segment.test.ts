/**
 * The IP and TCP columns of field export and -Y (ip.ttl, ip.flags.df, tcp.flags, tcp.len, tcp.time_delta, …) on a
 * builder capture whose headers the test chose frame by frame: each packet takes the headers of the frame that
 * completed it (a PUBLISH split over two segments takes the second one's, and its time since the ACK between them),
 * IPv6 leaves the ip.* ones empty, and the Wireshark names keep Wireshark's meaning in a filter.
 * (test/e2e/diff-tshark-fields.test.ts compares the same names with tshark on the real captures.)
 */
import { describe, expect, it } from 'vitest';
import { writePcap, type FrameSpec } from '../builders/capture-writer.js';
import { jsonLines, runCli, tempFile } from '../builders/cli.js';
import { LINK, tcpFrame, type TcpFrameSpec } from '../builders/frames.js';
import { connack, connect, publish } from '../builders/mqtt-bytes.js';

const T0 = 1_700_000_000;
const CWR = 0x80;
const ECE = 0x40;

/** One connection's frames at chosen times; `ns` sets the AE (NS) bit, which lives in the data-offset byte. */
function capture(client: string, server: string): Uint8Array {
  const frames: FrameSpec[] = [];
  const c = { src: client, dst: server, sport: 40000, dport: 1883 };
  const s = { src: server, dst: client, sport: 1883, dport: 40000 };
  let cseq = 1000;
  let sseq = 5000;
  const at = (t: number, spec: TcpFrameSpec, ns = false): void => {
    const data = tcpFrame(spec);
    if (ns) data[(spec.src.includes(':') ? 40 : 20) + 12]! |= 0x01;
    frames.push({ timeSec: T0 + Math.floor(t), timeNsec: Math.round((t % 1) * 1e9), data });
  };
  at(0, { ...c, seq: cseq++, flags: 'S' });
  at(0.001, { ...s, seq: sseq++, ack: cseq, flags: 'SA' });
  at(0.002, { ...c, seq: cseq, ack: sseq, flags: 'A' });
  const conn = connect({ clientId: 'hdr' });
  at(0.010, { ...c, seq: cseq, ack: sseq, flags: 0x18 | CWR, payload: conn, ttl: 50, dontFragment: true });
  cseq += conn.length;
  const ca = connack();
  at(0.0105, { ...s, seq: sseq, ack: cseq, flags: 'PA', payload: ca, ttl: 64 });
  sseq += ca.length;
  const pub = publish({ topic: 'a/b', qos: 0, payload: 'p'.repeat(60) });
  at(1.0, { ...c, seq: cseq, ack: sseq, flags: 'A', payload: pub.subarray(0, 30), ttl: 50 });
  cseq += 30;
  at(1.25, { ...s, seq: sseq, ack: cseq, flags: 'A' });
  at(1.5, { ...c, seq: cseq, ack: sseq, flags: 0x18 | ECE, payload: pub.subarray(30), ttl: 49 }, true);
  return writePcap(frames, { linkType: LINK.RAW });
}

const COLUMNS = ['frame', 'type', 'ip.ttl', 'ip.len', 'ip.proto', 'ip.flags', 'ip.flags.df', 'ip.flags.mf', 'ip.flags.rb', 'tcp.flags',
  'tcp.flags.res', 'tcp.flags.ae', 'tcp.flags.ns', 'tcp.flags.cwr', 'tcp.flags.ece', 'tcp.flags.ecn', 'tcp.flags.ack', 'tcp.flags.push',
  'tcp.flags.syn', 'tcp.flags.fin', 'tcp.len', 'tcp.time_delta'];

function rows(file: string, extra: string[] = []): string[][] {
  const r = runCli(['-T', 'fields', ...COLUMNS.flatMap((n) => ['-e', n]), ...extra, file]);
  expect(r.stderr).toBe('');
  return r.stdout.replace(/\n$/, '').split('\n').map((l) => l.split('\t'));
}

describe('IP and TCP columns: the headers of the frame that completed the packet', () => {
  const v4 = tempFile('headers-v4.pcap', capture('10.0.0.1', '10.0.0.2'));
  const v6 = tempFile('headers-v6.pcap', capture('2001:db8::1', '2001:db8::2'));

  it('IPv4: TTL, lengths, flags and the time since the connection\'s previous frame, per packet', () => {
    const pubLength = publish({ topic: 'a/b', qos: 0, payload: 'p'.repeat(60) }).length;
    expect(rows(v4)).toEqual([
      // The CONNECT: TTL 50, DF, CWR+PSH+ACK; 8 ms after the handshake's last ACK.
      ['4', 'CONNECT', '50', String(20 + 20 + connect({ clientId: 'hdr' }).length), '6', '0x02', '1', '0', '0', '0x0098',
        '0', '0', '0', '1', '0', '0', '1', '1', '0', '0', String(connect({ clientId: 'hdr' }).length), '0.008000000'],
      ['5', 'CONNACK', '64', '44', '6', '0x00', '0', '0', '0', '0x0018', '0', '0', '0', '0', '0', '0', '1', '1', '0', '0', '4', '0.000500000'],
      // The PUBLISH came in frames 6 and 8: frame 8's headers (TTL 49, AE+ECE, its 44 bytes), 0.25 s after the ACK of
      // frame 7 (the other direction's frame counts: tcp.time_delta is per TCP stream).
      ['8', 'PUBLISH', '49', String(40 + pubLength - 30), '6', '0x00', '0', '0', '0', '0x0158', '0', '1', '1', '0', '1', '1', '1', '1', '0', '0',
        String(pubLength - 30), '0.250000000'],
    ]);
  });

  it('IPv6: the ip.* columns are empty, as in tshark; the TCP ones are filled', () => {
    const r = rows(v6);
    expect(r.map((row) => row.slice(2, 9))).toEqual([['', '', '', '', '', '', ''], ['', '', '', '', '', '', ''], ['', '', '', '', '', '', '']]);
    expect(r.map((row) => [row[0], row[9], row[20], row[21]])).toEqual([
      ['4', '0x0098', String(connect({ clientId: 'hdr' }).length), '0.008000000'],
      ['5', '0x0018', '4', '0.000500000'],
      ['8', '0x0158', String(publish({ topic: 'a/b', qos: 0, payload: 'p'.repeat(60) }).length - 30), '0.250000000'],
    ]);
  });

  it('-Y reads them: comparisons as numbers, a bare Wireshark name tests presence (as in Wireshark)', () => {
    const frames = (filter: string, file = v4): number[] => jsonLines(runCli(['--json', '-Y', filter, file]).stdout).map((r) => r['frame'] as number);
    expect(frames('ip.ttl < 50')).toEqual([8]);
    expect(frames('tcp.flags.ece == 1')).toEqual([8]);
    expect(frames('tcp.flags.ns == 1 && tcp.flags.ae')).toEqual([8]);
    expect(frames('ip.flags.df == 1')).toEqual([4]);
    expect(frames('tcp.flags == 0x98')).toEqual([4]);
    expect(frames('tcp.len >= 30 && tcp.time_delta > 0.1')).toEqual([8]);
    // Present on every packet (not on the close record), set on none.
    expect(frames('tcp.flags.syn')).toEqual([4, 5, 8]);
    expect(frames('tcp.flags.syn == 1')).toEqual([]);
    expect(frames('ip.ttl', v6)).toEqual([]);
    // On IPv6 no packet has ip.ttl.
    expect(frames('!ip.ttl && kind == packet', v6)).toEqual([4, 5, 8]);
  });
});
