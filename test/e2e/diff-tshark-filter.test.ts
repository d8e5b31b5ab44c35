/**
 * -Y against tshark's -Y (issue 15): the same display filter, written with Wireshark's field names, must select the
 * same frames in both tools on the captures both decode alike (test/e2e/diff-tshark.test.ts compares the decoding
 * itself; the captures where the decoders disagree by design - a stream picked up mid-way, deliberate transport
 * damage - are left out here because they would only repeat those differences). Every difference is listed in
 * EXPECTED with its reason, also in docs/differences.md; the test fails on a new one and on a listed one that went away.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readInProcess } from '../../src/cli/read.js';
import { ROOT } from '../builders/cli.js';
import { tsharkAvailable } from '../builders/tshark.js';

// Each filter costs one tshark run (about 0.4 s): three captures of the three versions, and one on port 6002.
const CAPTURES = ['real-v311-qos.pcap', 'real-v5-props.pcapng', 'real-v31-sll2.pcap', 'real-onenet-6002.pcap'];

/** Display filters as a Wireshark user writes them (tshark 4.0 needs commas in sets). */
const FILTERS = [
  'mqtt.msgtype == 3', 'mqtt.qos == 1', 'mqtt.retain == 1', 'mqtt.dupflag == 1', 'mqtt.topic contains "a"', 'mqtt.topic ~ "^corpus"',
  'mqtt.clientid', 'mqtt.username', 'mqtt.passwd', 'mqtt.willtopic', 'mqtt.msgtype in {4,5,6,7}', 'mqtt.kalive > 30',
  'mqtt.conflag.cleansess == 1', 'mqtt.msgid == 1', 'mqtt.len > 20', 'mqtt.conack.val == 0', 'mqtt.ver == 5',
  'mqtt.property.topic_alias', 'mqtt.sub.qos == 2', 'mqtt.subscription_options_qos == 1', 'mqtt.suback.qos == 128',
  'mqtt.msgtype == 8 || mqtt.msgtype == 10', 'tcp.port == 1883 && mqtt.msgtype == 12', '!(mqtt.msgtype == 3) && mqtt.len < 3',
  // The headers of the frame (of the one that completed the packet, for us).
  'mqtt.msgtype && tcp.len > 40', 'mqtt.msgtype == 3 && tcp.flags.push == 1 && ip.ttl == 64 && ip.flags.df == 1',
];

const EXPECTED: Readonly<Record<string, string>> = {
  'real-v5-props.pcapng|!(mqtt.msgtype == 3) && mqtt.len < 3': 'frame 138 holds a PUBLISH and a short PUBACK: tshark filters frames (mqtt.msgtype == 3 holds for the frame, so its negation fails), we filter packets (the PUBACK matches)',
  'real-v31-sll2.pcap|mqtt.qos == 1': 'MQTT 3.1 SUBSCRIBE, UNSUBSCRIBE and PUBREL carry QoS 1 in their fixed-header flags; tshark shows those bits as mqtt.qos, we keep mqtt.qos for the PUBLISH QoS (the flags are packetTypeFlags)',
};

const run = promisify(execFile);

async function tsharkFrames(capture: string, filter: string): Promise<string> {
  const { stdout } = await run('tshark', ['-r', `${ROOT}/captures/${capture}`, '-d', 'tcp.port==6002,mqtt', '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  return [...new Set(stdout.split('\n').filter((l) => l !== '').map(Number))].sort((a, b) => a - b).join(' ');
}

/** Ours through the CLI's read path in process (the CLI itself is proved to print the same in cli-filter.test.ts). */
async function ourFrames(capture: string, filter: string): Promise<string> {
  const r = await readInProcess(readFileSync(`${ROOT}/captures/${capture}`), { json: true, filter });
  expect(r.exit).toBe(0);
  const frames = new Set<number>();
  for (const l of r.stdout.split('\n')) {
    if (l === '') continue;
    const rec = JSON.parse(l) as { kind: string; frame: number };
    if (rec.kind === 'packet') frames.add(rec.frame);
  }
  return [...frames].sort((a, b) => a - b).join(' ');
}

describe.skipIf(!tsharkAvailable())('-Y selects the frames tshark -Y selects', () => {
  for (const capture of CAPTURES) {
    it(capture, async () => {
      const found: string[] = [];
      // Two tshark runs at a time (two cores).
      for (let i = 0; i < FILTERS.length; i += 2) {
        await Promise.all(FILTERS.slice(i, i + 2).map(async (f) => {
          const key = `${capture}|${f}`;
          const [theirs, ours] = [await tsharkFrames(capture, f), await ourFrames(capture, f)];
          if (theirs !== ours && EXPECTED[key] === undefined) found.push(`new difference: ${key}: tshark ${theirs} / ours ${ours}`);
          if (theirs === ours && EXPECTED[key] !== undefined) found.push(`listed difference went away: ${key}`);
        }));
      }
      expect(found).toEqual([]);
    }, 120_000);
  }
});
