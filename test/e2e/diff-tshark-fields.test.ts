/**
 * Field export against tshark's (issue 15): `-T fields -e …` with the MQTT columns of the MQTTset and
 * MQTT-IoT-IDS2020 dataset scripts (and a few more) prints, frame by frame, what `tshark -T fields` prints for the
 * same names. Our rows are MQTT packets, tshark's are frames: our rows of one frame are joined value by value with
 * the aggregator (what tshark does with a field that occurs several times in a frame) before they are compared.
 * Every difference is listed in EXPECTED by capture and field, with its reason (also in docs/differences.md); the
 * test fails on a new one and on a listed one that went away.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../builders/cli.js';
import { tsharkAvailable } from '../builders/tshark.js';

const run = promisify(execFile);

const CAPTURES = ['real-v311-qos.pcap', 'real-v5-props.pcapng', 'real-v31-sll2.pcap', 'real-will-kill.pcapng', 'real-onenet-6002.pcap', 'seed-walkthrough.pcap', 'real-large-200k.pcap', 'real-tls-mqttjs.pcapng'];

/** The TLS captures decrypt in both tools with their key logs (captures/NAME.keys). */
const KEYS: Readonly<Record<string, string>> = { 'real-tls-mqttjs.pcapng': 'real-tls-mqttjs.keys' };

export const SEGMENT_FIELDS = [
  'ip.ttl', 'ip.len', 'ip.proto', 'ip.flags', 'ip.flags.df', 'ip.flags.mf', 'ip.flags.rb', 'tcp.flags', 'tcp.flags.res',
  'tcp.flags.ae', 'tcp.flags.cwr', 'tcp.flags.ece', 'tcp.flags.urg', 'tcp.flags.ack', 'tcp.flags.push', 'tcp.flags.reset',
  'tcp.flags.syn', 'tcp.flags.fin', 'tcp.time_delta', 'tcp.len',
];

/** The MQTT columns of the MQTTset feature list, then further names people export. */
const FIELDS = [
  'mqtt.conack.flags', 'mqtt.conack.flags.reserved', 'mqtt.conack.flags.sp', 'mqtt.conack.val', 'mqtt.conflag.cleansess',
  'mqtt.conflag.passwd', 'mqtt.conflag.qos', 'mqtt.conflag.reserved', 'mqtt.conflag.retain', 'mqtt.conflag.uname',
  'mqtt.conflag.willflag', 'mqtt.conflags', 'mqtt.dupflag', 'mqtt.hdrflags', 'mqtt.kalive', 'mqtt.len', 'mqtt.msg',
  'mqtt.msgid', 'mqtt.msgtype', 'mqtt.proto_len', 'mqtt.protoname', 'mqtt.qos', 'mqtt.retain', 'mqtt.sub.qos',
  'mqtt.suback.qos', 'mqtt.ver', 'mqtt.willmsg', 'mqtt.willmsg_len', 'mqtt.willtopic', 'mqtt.willtopic_len',
  'mqtt.topic', 'mqtt.topic_len', 'mqtt.clientid', 'mqtt.clientid_len', 'mqtt.username', 'mqtt.username_len', 'mqtt.passwd',
  'mqtt.passwd_len', 'mqtt.hdr_reserved', 'ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport', 'frame.time_epoch',
  // The IP and TCP columns of MQTTset (tcp.flags, tcp.time_delta, tcp.len) and of MQTT-IoT-IDS2020's feature
  // extraction, by Wireshark 4.0's names (its tcp.flags.ns is 4.0's tcp.flags.ae, its tcp.flags.ecn 4.0's
  // tcp.flags.ece): the headers of the frame that completed the packet, as tshark shows them for a reassembled PDU.
  ...SEGMENT_FIELDS,
];

const EMPTY_PAYLOAD = 'tshark writes <MISSING> for a PUBLISH with an empty payload; we write an empty value';
const V31_HEADER = 'MQTT 3.1 SUBSCRIBE, UNSUBSCRIBE and PUBREL carry QoS 1 and DUP in their fixed header: tshark shows them as mqtt.qos and mqtt.dupflag, we keep those names for PUBLISH';
const EXPECTED: Readonly<Record<string, string>> = {
  'real-v311-qos.pcap|mqtt.msg': EMPTY_PAYLOAD,
  'real-v5-props.pcapng|mqtt.msg': EMPTY_PAYLOAD,
  'real-v31-sll2.pcap|mqtt.msg': EMPTY_PAYLOAD,
  'real-v31-sll2.pcap|mqtt.qos': V31_HEADER,
  'real-v31-sll2.pcap|mqtt.dupflag': V31_HEADER,
  'real-v31-sll2.pcap|mqtt.conack.flags.reserved': 'MQTT 3.1 has no acknowledge flags (the byte is reserved): tshark shows no mqtt.conack.flags there but does show its reserved bits; we show neither',
};

/** frame -> the row's cells, from tab-separated rows whose first column is the frame number. */
function byFrame(text: string): Map<string, string[]> {
  const m = new Map<string, string[][]>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [frame, ...cells] = line.split('\t');
    const rows = m.get(frame!) ?? [];
    rows.push(cells);
    m.set(frame!, rows);
  }
  // Several rows of one frame (several MQTT packets): each MQTT column's non-empty values joined, as tshark joins
  // them; a frame's own fields (addresses, ports, time) are the same on each row and taken once.
  return new Map([...m].map(([f, rows]) => [f, FIELDS.map((name, i) => name.startsWith('mqtt.')
    ? rows.map((r) => r[i] ?? '').filter((v) => v !== '').join(',')
    : rows[0]![i] ?? '')]));
}

describe.skipIf(!tsharkAvailable())('-T fields prints what tshark -T fields prints', () => {
  for (const capture of CAPTURES) {
    it(capture, async () => {
      const args = FIELDS.flatMap((f) => ['-e', f]);
      const keys = KEYS[capture];
      const { stdout } = await run('tshark', ['-r', `${ROOT}/captures/${capture}`, '-o', 'tcp.calculate_timestamps:TRUE', ...(keys !== undefined ? ['-o', `tls.keylog_file:${ROOT}/captures/${keys}`] : []), '-d', 'tcp.port==6002,mqtt', '-Y', 'mqtt', '-T', 'fields', '-e', 'frame.number', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const ours = runCli(['-T', 'fields', '-e', 'frame.number', ...args, ...(keys !== undefined ? ['--tls-keylog', `captures/${keys}`] : []), `captures/${capture}`]);
      expect(ours.status, ours.stderr).toBe(0);
      const theirs = byFrame(stdout);
      const mine = byFrame(ours.stdout);
      expect([...mine.keys()]).toEqual([...theirs.keys()]);
      const differing = new Map<string, string>();
      for (const [frame, cells] of theirs) {
        cells.forEach((v, i) => {
          const key = `${capture}|${FIELDS[i]!}`;
          const m = mine.get(frame)![i];
          if (m !== v && !differing.has(key)) differing.set(key, `frame ${frame}: tshark "${v}", ours "${m}"`);
        });
      }
      const found: string[] = [];
      for (const [key, example] of differing) if (EXPECTED[key] === undefined) found.push(`new difference ${key} (${example})`);
      for (const key of Object.keys(EXPECTED)) if (key.startsWith(`${capture}|`) && !differing.has(key)) found.push(`listed difference went away: ${key}`);
      expect(found).toEqual([]);
    }, 60_000);
  }
});
