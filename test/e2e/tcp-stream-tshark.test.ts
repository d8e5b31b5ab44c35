/**
 * Our `tcpStream` against tshark's `tcp.stream`, connection by connection: every MQTT packet record and every close
 * record that ends at a FIN or RST must carry the tcp.stream tshark gives the frame it names. Runs over captures/,
 * the public captures (when ../shared/captures/public is there) and captures built here with what the corpora lack:
 * conversations on ports we do not decode, 4-tuple reuse, a capture that starts mid-connection, --shard.
 * Skipped when tshark is not installed. Measured with TShark 4.0.17.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { writePcap, type FrameSpec } from '../builders/capture-writer.js';
import { jsonLines, runCli, tempFile } from '../builders/cli.js';
import { ethernet, TcpSession, tcpFrame } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';
import { ownCaptures, publicCaptures, type CaptureEntry } from '../builders/public.js';
import { tsharkAvailable } from '../builders/tshark.js';

function pcapOf(frames: Uint8Array[]): Uint8Array {
  const specs: FrameSpec[] = frames.map((f, i) => ({ timeSec: 1_700_000_000, timeNsec: i * 1000, data: ethernet(f) }));
  return writePcap(specs);
}

/** A short MQTT session on `s`: handshake, CONNECT/CONNACK, one PUBLISH, then the close given. */
function mqtt(s: TcpSession, end: 'fin' | 'rst' | 'open' = 'fin'): Uint8Array[] {
  const out = [...s.handshake(), ...s.c2s(m.connect({ clientId: 'c' })), ...s.s2c(m.connack()), ...s.c2s(m.publish({ topic: 't', payload: 'x' }))];
  if (end === 'fin') out.push(...s.close());
  if (end === 'rst') out.push(s.rst('server'));
  return out;
}

function http(s: TcpSession): Uint8Array[] {
  return [...s.handshake(), ...s.c2s('GET / HTTP/1.1\r\n\r\n'), ...s.s2c('HTTP/1.1 200 OK\r\n\r\n'), ...s.close()];
}

const GENERATED: Record<string, () => Uint8Array> = {
  // Conversations we do not follow, before, between and inside MQTT ones, interleaved frame by frame.
  'foreign-ports': () => {
    const a = http(new TcpSession('10.2.0.2:41000', '10.2.0.1:80'));
    const b = mqtt(new TcpSession('10.2.0.2:41001', '10.2.0.1:1883'));
    const stray = tcpFrame({ src: '10.2.0.9', dst: '10.2.0.1', sport: 5555, dport: 22, seq: 7, ack: 9, flags: 'A' });
    const c = http(new TcpSession('10.2.0.3:41002', '10.2.0.1:8080'));
    const d = mqtt(new TcpSession('10.2.0.3:41003', '10.2.0.1:1883'), 'rst');
    const frames: Uint8Array[] = [];
    for (let i = 0; i < Math.max(a.length, b.length, c.length, d.length); i++) {
      for (const x of [a, b, c, d]) if (i < x.length) frames.push(x[i]!);
      if (i === 2) frames.push(stray);
    }
    return pcapOf(frames);
  },
  // The same 4-tuple three times: after a FIN, after a RST, and once with no close at all before the new SYN.
  reuse: () => {
    const ep = ['10.3.0.2:42000', '10.3.0.1:1883'] as const;
    const first = mqtt(new TcpSession(...ep, { clientIsn: 100 }));
    const second = mqtt(new TcpSession(...ep, { clientIsn: 90_000 }), 'rst');
    const third = mqtt(new TcpSession(...ep, { clientIsn: 7_000_000 }), 'open');
    const fourth = mqtt(new TcpSession(...ep, { clientIsn: 4_000_000_000 }));
    const retransmittedSyn = fourth[0]!;
    return pcapOf([...first, ...second, ...third, ...fourth.slice(0, 1), retransmittedSyn, ...fourth.slice(1)]);
  },
  // The capture starts inside connections (no SYN), with one on another port between them.
  'mid-stream': () => {
    const s = new TcpSession('10.4.0.2:43000', '10.4.0.1:1883');
    const t = new TcpSession('10.4.0.2:43001', '10.4.0.1:443');
    const u = new TcpSession('[2001:db8::2]:43002', '[2001:db8::1]:1883');
    const late = [...s.handshake(), ...s.c2s(m.connect({ clientId: 'a' }))].slice(3);
    t.handshake();
    u.handshake();
    return pcapOf([...late, ...t.c2s('tls bytes'), ...u.c2s(m.pingreq()), ...s.s2c(m.connack()), ...u.s2c(m.pingresp()), ...s.close(), ...u.close()]);
  },
};

/** tshark's tcp.stream of every frame (frames without TCP are left out). */
function tsharkStreams(path: string): Map<number, number> {
  const out = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.stream'], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  const map = new Map<number, number>();
  for (const line of out.split('\n')) {
    const [f, s] = line.split('\t');
    // A frame with TCP inside an ICMP error lists two streams; the outer one is first.
    if (f && s) map.set(Number(f), Number(s.split(',')[0]));
  }
  return map;
}

interface Agreement {
  connections: number;
  agreed: number;
  wrong: string[];
}

function compare(path: string, args: string[]): Agreement {
  const want = tsharkStreams(path);
  const r = runCli(['--json', ...args, path]);
  expect(r.status, r.stderr).toBe(0);
  const byConn = new Map<number, { stream: unknown; ok: boolean }>();
  const wrong: string[] = [];
  const check = (conn: number, stream: unknown, frame: number, what: string): void => {
    const e = byConn.get(conn) ?? { stream, ok: true };
    byConn.set(conn, e);
    if (stream !== want.get(frame)) {
      e.ok = false;
      if (wrong.length < 10) wrong.push(`conn ${conn} ${what} frame ${frame}: ours ${String(stream)}, tshark ${String(want.get(frame))}`);
    }
  };
  for (const rec of jsonLines(r.stdout)) {
    if (rec.kind === 'packet') for (const f of rec.frames as number[]) check(rec.conn as number, rec.tcpStream, f, 'packet');
    // A close at a FIN or RST is that conversation's frame; capture-end and reuse closes name a frame of another.
    if (rec.kind === 'close' && (rec.tcp === 'fin' || rec.tcp === 'rst')) check(rec.conn as number, rec.tcpStream, rec.frame as number, 'close');
  }
  const agreed = [...byConn.values()].filter((e) => e.ok).length;
  return { connections: byConn.size, agreed, wrong };
}

function portArgs(c: CaptureEntry): string[] {
  return c.extraPorts.flatMap((p) => ['--port', String(p)]);
}

describe.skipIf(!tsharkAvailable())('tcpStream agrees with tshark tcp.stream', () => {
  const totals = { captures: 0, connections: 0, agreed: 0 };
  for (const [name, build] of Object.entries(GENERATED)) {
    it(`generated/${name}`, () => {
      const path = tempFile(`tcp-stream-${name}.pcap`, build());
      for (const args of [[], ['--shard', '1/2'], ['--shard', '2/2'], ['--auto']]) {
        const a = compare(path, args);
        expect(a.wrong, args.join(' ')).toEqual([]);
        if (args.length === 0) {
          expect(a.connections).toBeGreaterThan(0);
          totals.captures++;
          totals.connections += a.connections;
          totals.agreed += a.agreed;
        }
      }
    });
  }
  for (const c of [...ownCaptures(), ...publicCaptures()]) {
    it(c.name, () => {
      const a = compare(c.path, portArgs(c));
      expect(a.wrong).toEqual([]);
      totals.captures++;
      totals.connections += a.connections;
      totals.agreed += a.agreed;
    });
  }
  it('every connection compared agrees', () => {
    console.log(`tcpStream agreement: ${totals.agreed} of ${totals.connections} connections on ${totals.captures} captures`);
    expect(totals.agreed).toBe(totals.connections);
  });
});
