/**
 * -Y narrows every mode (issue 15): `trace` (a message is shown when its publisher's PUBLISH or one of its deliveries
 * matches), `-V` and `-x` (only the matching packets' blocks), field export with our extras on every row, the course
 * question "how many messages did jane publish on factory/+/+" as one command, and `-t r` against tshark's
 * frame.time_relative. On the real captures in captures/ and on a builder capture whose answer the test knows.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { jsonLines, ROOT, runCli, tempFile } from '../builders/cli.js';
import { ack, connack, connect, publish, suback, subscribe } from '../builders/mqtt-bytes.js';
import { StatsCapture } from '../builders/stats-capture.js';
import { tsharkAvailable } from '../builders/tshark.js';

type Rec = Record<string, unknown> & { kind: string; frame: number; conn: number; type?: string; dir?: string; fields?: Record<string, unknown> };
type Message = { frame: number; conn: number; clientId: string; topic: string; qos: number; deliveries: { conn: number; frame: number; clientId: string; qos: number }[] };

const V311 = 'captures/real-v311-qos.pcap';
const V5 = 'captures/real-v5-props.pcapng';

function packets(args: string[]): Rec[] {
  const r = runCli(['--json', ...args]);
  expect(r.stderr).toBe('');
  return (jsonLines(r.stdout) as Rec[]).filter((x) => x.kind === 'packet');
}

function messages(args: string[]): Message[] {
  const r = runCli(['trace', '--json', ...args]);
  expect(r.status, r.stderr).toBe(0);
  return jsonLines(r.stdout) as unknown as Message[];
}

const HEADING = /^ *\d+ +\d+\.\d+ \S+ → \S+ [A-Z]+ /;

/** The frame numbers of the packet headings of the text, -V and -x views (a heading starts with the frame number). */
function headings(text: string): number[] {
  return text.split('\n').filter((l) => HEADING.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('trace -Y', () => {
  it('shows the messages whose publisher\'s PUBLISH matches, and those whose deliveries match', () => {
    for (const capture of [V311, V5, 'captures/real-sessions.pcap']) {
      const all = messages([capture]);
      const publishes = packets(['-Y', 'type == PUBLISH', capture]);
      expect(all.length, capture).toBeGreaterThan(2);
      // By the publisher: -Y on the c2s PUBLISH's own fields picks exactly the messages of those PUBLISHes.
      const publisher = all[1]!.clientId;
      const byPublisher = messages(['-Y', `clientId == "${publisher}" && dir == c2s`, capture]);
      expect(byPublisher.length, capture).toBeGreaterThan(0);
      expect(byPublisher.length, capture).toBeLessThan(all.length);
      expect(byPublisher).toEqual(all.filter((m) => m.clientId === publisher));
      // By a delivery: a receiver's ClientId selects the messages delivered to it, though it published none of them.
      const receiver = all.flatMap((m) => m.deliveries).find((d) => d.clientId !== null)!.clientId;
      const delivered = all.filter((m) => m.clientId === receiver || m.deliveries.some((d) => d.clientId === receiver));
      expect(messages(['-Y', `clientId == "${receiver}"`, capture])).toEqual(delivered);
      // A delivery's own frame: the one message it carried (a frame may carry several deliveries: the topic tells).
      const d = all.find((m) => m.deliveries.length > 0)!;
      const deliveryFrame = d.deliveries[0]!.frame;
      const inFrame = publishes.filter((p) => p.frame === deliveryFrame).map((p) => p.fields!['topic']);
      const byFrame = messages(['-Y', `frame == ${deliveryFrame} && topic == "${d.topic}"`, capture]);
      expect(byFrame.map((m) => m.frame)).toEqual(all.filter((m) => m.topic === d.topic && m.deliveries.some((x) => x.frame === deliveryFrame)).map((m) => m.frame));
      expect(byFrame.length).toBeLessThanOrEqual(inFrame.length);
      // QoS of the PUBLISH or of a delivery, as on the packets.
      const qos1 = messages(['-Y', 'qos == 1', capture]);
      expect(qos1).toEqual(all.filter((m) => m.qos === 1 || m.deliveries.some((x) => x.qos === 1)));
    }
  });

  it('selects nothing on packets no message is about, with the usual line on stderr', () => {
    const r = runCli(['trace', '-Y', 'type == CONNECT', V311]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('mqtt-dissect trace: no message the filters select was published in the capture\n');
  });

  it('the text blocks are the JSON records\' messages, and -Y goes with --client and --topic (all must hold)', () => {
    const json = messages(['-Y', 'qos >= 1', V311]);
    const text = runCli(['trace', '-Y', 'qos >= 1', V311]).stdout;
    expect(text.trim().split('\n\n')).toHaveLength(json.length);
    const both = messages(['-Y', 'qos >= 1', '--topic', 'corpus/v311/qos/#', V311]);
    expect(both.length).toBeGreaterThan(0);
    expect(both).toEqual(json.filter((m) => m.topic.startsWith('corpus/v311/qos/')));
    expect(messages(['-Y', 'qos >= 1', '-Y', 'qos <= 1', V311])).toEqual(messages(['-Y', 'qos == 1', V311]));
  });

  it('a bad expression is exit 2 with the caret, and -Y does not go with --receivers', () => {
    const bad = runCli(['trace', '-Y', 'clinetId == "x"', V311]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^mqtt-dissect: -Y: unknown field "clinetId" \(did you mean clientId\?\)\n {2}clinetId == "x"\n {2}\^+\n$/);
    const mixed = runCli(['trace', '-Y', 'qos == 1', '--receivers', 'a/b', V311]);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toContain('-Y select messages, not receivers');
  });
});

describe('-V and -x print only the matching packets', () => {
  for (const mode of ['-V', '-x']) {
    it(mode, () => {
      for (const [capture, filter] of [[V311, 'type == PUBLISH && qos == 1'], [V5, 'properties.topicAlias'], ['captures/synthetic-malformed.pcapng', 'violation.severity == error && dir == c2s']] as const) {
        const all = headings(runCli([mode, capture]).stdout);
        const want = packets(['-Y', filter, capture]).map((p) => p.frame);
        expect(want.length, `${capture} ${filter}`).toBeGreaterThan(0);
        expect(want.length, `${capture} ${filter}`).toBeLessThan(all.length);
        const out = runCli([mode, '-Y', filter, capture]).stdout;
        expect(headings(out), `${capture} ${filter}`).toEqual(want);
        // Each block is the packet's whole view as the unfiltered run prints it, heading included (which names the
        // client from a CONNECT the filter did not show).
        const plain = runCli([mode, capture]).stdout;
        for (const block of out.split(/\n(?= *\d+ +\d+\.\d+ )/)) {
          expect(block.split('\n').length).toBeGreaterThan(1);
          expect(plain).toContain(block.trimEnd());
        }
      }
    });
  }
});

describe('the text view under -Y', () => {
  it('names the client on a packet shown without its CONNECT, as the unfiltered view does', () => {
    const line = runCli(['-Y', 'type == PUBLISH && dir == c2s && qos == 1', V311]).stdout.split('\n')[0]!;
    expect(line).toMatch(/ PUBLISH +v3\.1\.1 #2 "corpus-v311-pub-q1" topic=/);
    const all = runCli([V311]).stdout.split('\n');
    expect(all).toContain(line);
  });
});

describe('field export carries our extras on every row', () => {
  it('conn, violation.id and the resolved Topic Alias, row by row as in the NDJSON', () => {
    for (const capture of [V5, 'captures/synthetic-malformed.pcapng']) {
      const recs = packets([capture]);
      const rows = runCli(['-T', 'fields', '-e', 'frame', '-e', 'conn', '-e', 'violation.id', '-e', 'topic', capture]).stdout.replace(/\n$/, '').split('\n').map((l) => l.split('\t'));
      expect(rows).toHaveLength(recs.length);
      rows.forEach((row, i) => {
        const r = recs[i]! as Rec & { violations?: { id: string }[] };
        expect(row[0]).toBe(String(r.frame));
        expect(row[1]).toBe(String(r.conn));
        expect(row[2]).toBe((r.violations ?? []).map((v) => v.id).join(','));
      });
      if (capture === V5) {
        // Frame 146 holds a PUBLISH that sets Topic Alias 1 for corpus/v5/alias/a, then one that sends the alias alone.
        const aliasOnly = recs.filter((r) => r.type === 'PUBLISH' && r.fields!['topic'] === '');
        expect(aliasOnly.length).toBe(2);
        for (const r of aliasOnly) {
          const row = rows[recs.indexOf(r)]!;
          expect(row[3]).toMatch(/^corpus\/v5\/alias\/[ab]$/);
        }
      } else {
        expect(rows.filter((r) => r[2] !== '').length).toBeGreaterThan(3);
      }
    }
  });
});

describe('one command per course question', () => {
  it('how many messages on factory/+/+ did user jane publish: -Y … --count', () => {
    const cap = new StatsCapture();
    const jane = cap.conn('10.0.0.1:40001', 0);
    cap.c(jane, 0, connect({ clientId: 'press-1', username: 'jane' }));
    cap.s(jane, 0.01, connack());
    const bob = cap.conn('10.0.0.2:40002', 0.1);
    cap.c(bob, 0.1, connect({ clientId: 'press-2', username: 'bob' }));
    cap.s(bob, 0.11, connack());
    const janeSub = cap.conn('10.0.0.3:40003', 0.2);
    cap.c(janeSub, 0.2, connect({ clientId: 'dash', username: 'jane' }));
    cap.s(janeSub, 0.21, connack());
    cap.c(janeSub, 0.3, subscribe({ packetId: 1, subscriptions: [{ topic: 'factory/#', qos: 1 }] }));
    cap.s(janeSub, 0.31, suback({ packetId: 1, codes: [1] }));
    let id = 1;
    const janePublishes = [
      ['factory/department1/temp', true], ['factory/department2/pressure', true], ['factory/department1/temp/raw', false],
      ['factory/dept', false], ['office/department1/temp', false], ['factory/department3/temp', true],
    ] as const;
    let t = 1;
    for (const [topic] of janePublishes) {
      cap.c(jane, t, publish({ topic, qos: 1, packetId: id, payload: 'v' }));
      cap.s(jane, t + 0.01, ack('PUBACK', { packetId: id++ }));
      // Bob publishes on the same topics; the broker delivers jane's matching ones to her dashboard (s2c PUBLISHes).
      cap.c(bob, t + 0.1, publish({ topic, qos: 0, payload: 'w' }));
      t += 1;
    }
    cap.s(janeSub, t, publish({ topic: 'factory/department1/temp', qos: 0, payload: 'v' }));
    const file = tempFile('jane.pcap', cap.pcap());
    const count = runCli(['-Y', 'username == "jane" && topic matches "factory/+/+" && type == PUBLISH', '--count', file]);
    expect(count.stderr).toBe('');
    // Jane's three PUBLISHes, and the one the broker delivered to her own dashboard (a PUBLISH on her connection).
    expect(count.stdout).toBe(`${janePublishes.filter(([, yes]) => yes).length + 1}\n`);
    const published = runCli(['-Y', 'username == "jane" && topic matches "factory/+/+" && type == PUBLISH && dir == c2s', '--count', file]);
    expect(published.stdout).toBe('3\n');
    expect(runCli(['-Y', 'username == "bob" && topic matches "factory/+/+" && type == PUBLISH', '--count', file]).stdout).toBe('3\n');
    expect(runCli(['--json', '-Y', 'username == "jane" && topic matches "factory/+/+" && type == PUBLISH && dir == c2s', '--count', file]).stdout).toBe('{"kind":"count","packets":3}\n');
  });
});

describe.skipIf(!tsharkAvailable())('-t r', () => {
  it('is tshark\'s frame.time_relative: the time since the capture\'s first frame, not its first MQTT packet', () => {
    for (const capture of [V311, V5]) {
      const ours = runCli(['-t', 'r', capture]).stdout.split('\n').filter((l) => HEADING.test(l)).map((l) => l.trim().split(/\s+/).slice(0, 2));
      const tshark = new Map(execFileSync('tshark', ['-r', `${ROOT}/${capture}`, '-T', 'fields', '-e', 'frame.number', '-e', 'frame.time_relative'], { encoding: 'utf8' })
        .trimEnd().split('\n').map((l) => l.split('\t') as [string, string]));
      expect(ours.length).toBeGreaterThan(10);
      // The first MQTT packet is not the first frame (the TCP handshake is), so its time is not 0.
      expect(Number(ours[0]![1])).toBeGreaterThan(0);
      for (const [frame, rel] of ours) {
        const want = tshark.get(frame!)!;
        const digits = rel!.split('.')[1]!.length;
        // tshark prints nanoseconds; we print the capture's resolution or microseconds, cut (not rounded) as tshark's -t cuts.
        const [sec, frac] = want.split('.');
        expect(rel, `${capture} frame ${frame}`).toBe(`${sec}.${frac!.slice(0, digits)}`);
      }
    }
  });
});
