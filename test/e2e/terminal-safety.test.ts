/**
 * Terminal safety (issue #5): capture bytes are hostile. A capture whose client id, user name, password, will topic and
 * payload, topic, payload, topic filters, 5.0 user properties, reason strings and other string properties carry ESC
 * (with real CSI/OSC sequences), BEL, BS, CR, LF, DEL, NUL and C1 controls — 0x9b as a raw byte in invalid UTF-8 and
 * as U+009B in valid UTF-8 — and bidi overrides must not put any of them on the terminal raw, in any human output
 * mode (default, -V, -x, -V -x, --summary, --only-violations, explain). The only control byte allowed is the \n that
 * ends a line; with --color, ESC only as an SGR colour sequence (ESC [ ... m).
 */
import { describe, expect, it } from 'vitest';
import { writePcap } from '../builders/capture-writer.js';
import { runCli, tempFile } from '../builders/cli.js';
import { ethernet, TcpSession } from '../builders/frames.js';
import * as m from '../builders/mqtt-bytes.js';
import { renderCapture } from '../builders/public.js';
import { unsafeCharSource } from '../../src/render/unsafe.js';
import { explainBytes } from '../../src/cli/explain.js';
import { makeChalk } from '../../src/render/color.js';

const enc = new TextEncoder();

/**
 * Valid UTF-8 full of controls: CSI clear-screen, BEL, BS, CR, LF, DEL, NUL, U+009B (C1 CSI), OSC title, RLO; and
 * invisible format characters: line and paragraph separators, soft hyphen, zero-width space and joiner, BOM, a tag.
 */
const EVIL = 'A\u001b[2J\u0007B\bC\rD\nE\u007fF\u0000G\u009b31mH\u001b]0;pwned\u0007I\u202eJ\u2028K\u2029L\u00adM\u200bN\u200dO\ufeffP\u{e0041}Q';
/** Invalid UTF-8: a raw 0x9b byte starting a C1 CSI sequence, plus raw ESC and BEL. */
const RAW = Uint8Array.from([0x61, 0x9b, 0x33, 0x31, 0x6d, 0x62, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x07, 0x63]);
const evil = (tag: string): string => `${tag}:${EVIL}`;
const raw = (tag: string): Uint8Array => m.bytes(enc.encode(`${tag}:`), RAW);

/** A user property with arbitrary bytes for name and value (the builder's pairs are strings). */
function rawUserProperty(k: Uint8Array, v: Uint8Array): Uint8Array {
  return m.bytes(m.u8(m.PID.userProperty), m.str(k), m.str(v));
}

function hostilePackets(): { c2s: Uint8Array[]; s2c: Uint8Array[]; v311: { c2s: Uint8Array[]; s2c: Uint8Array[] } } {
  return {
    c2s: [
      m.connect({
        level: 5, clientId: evil('cid'), username: evil('user'), password: evil('pass'),
        properties: [['userProperty', [evil('ck'), evil('cv')]], rawUserProperty(raw('rk'), raw('rv')), ['authenticationMethod', evil('am')]],
        will: { topic: evil('wt'), payload: m.bytes(enc.encode(evil('wp')), RAW), qos: 1, properties: [['contentType', evil('ct')], ['responseTopic', evil('rt')], ['userProperty', [evil('wk'), evil('wv')]]] },
      }),
      m.subscribe({ level: 5, packetId: 1, subscriptions: [{ topic: evil('filter'), qos: 1 }, { topic: raw('rawfilter'), qos: 0 }], properties: [['userProperty', [evil('sk'), evil('sv')]]] }),
      m.publish({ level: 5, topic: evil('topic'), qos: 1, packetId: 2, payload: enc.encode(evil('payload')),
        properties: [['contentType', evil('ct')], ['responseTopic', evil('rt')], ['correlationData', RAW], ['userProperty', [evil('pk'), evil('pv')]]] }),
      m.publish({ level: 5, topic: raw('rawtopic'), payload: RAW }),
      m.publish({ level: 5, topic: `${EVIL}/+`, payload: 'wildcard in a topic name: the violation message quotes it' }),
      m.unsubscribe({ level: 5, packetId: 3, topics: [evil('unsub'), raw('rawunsub')] }),
      m.disconnect({ level: 5, reasonCode: 0x80, properties: [['reasonString', evil('bye')], ['userProperty', [evil('dk'), evil('dv')]]] }),
    ],
    s2c: [
      m.connack({ level: 5, properties: [['reasonString', evil('welcome')], ['assignedClientIdentifier', evil('assigned')], ['responseInformation', evil('ri')], ['serverReference', evil('sr')], ['userProperty', [evil('ak'), evil('av')]]] }),
      m.suback({ level: 5, packetId: 1, codes: [1, 0], properties: [['reasonString', evil('suback')]] }),
      m.ack('PUBACK', { level: 5, packetId: 2, reasonCode: 0x10, properties: [['reasonString', evil('puback')], ['userProperty', [evil('xk'), evil('xv')]]] }),
      m.publish({ level: 5, topic: evil('unsubscribed'), payload: RAW }),
      m.unsuback({ level: 5, packetId: 3, codes: [0, 0x11], properties: [['reasonString', evil('unsuback')]] }),
    ],
    v311: {
      c2s: [
        // By hand: the builder takes client id and will topic as strings, and these are not UTF-8.
        m.packet(1, 0, m.bytes(m.str('MQTT'), m.u8(4), m.u8(0xc6), m.u16(60), m.str(raw('cid311')), m.str(raw('wt311')), m.str(RAW), m.str(evil('user311')), m.str(RAW))),
        m.publish({ topic: raw('t311'), payload: m.bytes(enc.encode(EVIL), RAW), qos: 1, packetId: 7 }),
        m.subscribe({ packetId: 8, subscriptions: [{ topic: evil('f311'), qos: 2 }] }),
      ],
      s2c: [m.connack(), m.ack('PUBACK', { packetId: 7 }), m.suback({ packetId: 8, codes: [2] })],
    },
  };
}

function hostileCapture(): Uint8Array {
  const p = hostilePackets();
  const s = new TcpSession('10.4.0.2:43000', '10.4.0.1:1883');
  const t = new TcpSession('10.4.0.3:43001', '10.4.0.1:1883');
  const frames: Uint8Array[] = [...s.handshake(), ...s.c2s(p.c2s[0]!), ...s.s2c(p.s2c[0]!)];
  frames.push(...s.c2s(p.c2s[1]!), ...s.s2c(p.s2c[1]!), ...s.c2s(p.c2s[2]!), ...s.s2c(p.s2c[2]!));
  frames.push(...s.c2s(p.c2s[3]!), ...s.c2s(p.c2s[4]!), ...s.s2c(p.s2c[3]!), ...s.c2s(p.c2s[5]!), ...s.s2c(p.s2c[4]!), ...s.c2s(p.c2s[6]!));
  frames.push(...t.handshake());
  p.v311.c2s.forEach((c, i) => frames.push(...t.c2s(c), ...t.s2c(p.v311.s2c[i]!)));
  return writePcap(frames.map((f, i) => ({ timeSec: 1_700_000_000, timeNsec: i * 1000, data: ethernet(f) })));
}

// ---------------------------------------------------------------------------------------------------

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Everything wrong with `out` as terminal output: raw control bytes, C1 code points, bidi overrides, invalid UTF-8. */
function unsafe(out: Uint8Array | string, color: boolean): string[] {
  const bytes = typeof out === 'string' ? Buffer.from(out, 'utf8') : Buffer.from(out);
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return ['output is not valid UTF-8 (a raw byte of the capture got through)'];
  }
  if (color) text = text.replace(/\u001b\[[0-9;]*m/g, '');
  const problems: string[] = [];
  // Every character of the one list in src/render/unsafe.ts (checked against Unicode in test/render-escape.test.ts).
  const re = new RegExp(unsafeCharSource(), 'g');
  for (const mm of text.matchAll(re)) {
    if (mm[0] === '\n') continue;
    const at = mm.index;
    problems.push(`U+${mm[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 30), at + 10))}`);
    if (problems.length > 5) break;
  }
  return problems;
}

const MODES: Array<[string, string[]]> = [
  ['default', []],
  ['-V', ['-V']],
  ['-x', ['-x']],
  ['-V -x', ['-V', '-x']],
  ['--summary', ['--summary']],
  ['--only-violations -V', ['--only-violations', '-V']],
  ['--full -x', ['--full', '-x']],
];

describe('terminal safety: hostile strings never reach the terminal raw', () => {
  it('the checker itself catches raw controls, C1, bidi and invalid UTF-8', () => {
    expect(unsafe('ok\n', false)).toEqual([]);
    expect(unsafe('a\u001b[2Jb', false)).not.toEqual([]);
    expect(unsafe('a\u009bb', false)).not.toEqual([]);
    expect(unsafe('a\u202eb', false)).not.toEqual([]);
    expect(unsafe('a\rb', false)).not.toEqual([]);
    for (const c of ['\u2028', '\u2029', '\u00ad', '\u200b', '\ufeff', '\u{e0041}']) expect(unsafe(`a${c}b`, false)).not.toEqual([]);
    expect(unsafe(Uint8Array.of(0x61, 0x9b, 0x62), false)).not.toEqual([]);
    expect(unsafe('\u001b[31mred\u001b[0m', true)).toEqual([]);
  });

  const file = tempFile('hostile.pcap', hostileCapture());

  it('the capture really carries the hostile bytes (JSON keeps them, escaped by JSON)', () => {
    const r = runCli(['--json', file]);
    expect(r.status).toBe(0);
    const packets = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; fields: Record<string, unknown> });
    expect(packets.filter((p) => p.type !== undefined).length).toBe(18);
    const connect = packets.find((p) => p.type === 'CONNECT')!;
    expect(connect.fields.clientId).toBe(evil('cid'));
    expect(connect.fields.username).toBe(evil('user'));
    // NDJSON writes every one of them as a \u escape (the parsed value above is unchanged).
    expect(unsafe(r.stdout, false)).toEqual([]);
  });

  for (const [name, args] of MODES) {
    it(`CLI ${name}, no colour`, () => {
      const r = runCli([...args, file], { env: { NO_COLOR: '1' } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(200);
      expect(unsafe(r.stdout, false)).toEqual([]);
      expect(unsafe(r.stderr, false)).toEqual([]);
    });
  }

  for (const [name, args] of MODES.slice(0, 4)) {
    it(`CLI ${name} --color: ESC only in colour sequences`, () => {
      const r = runCli(['--color', ...args, file]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('\u001b[');
      expect(unsafe(r.stdout, true)).toEqual([]);
    });
  }

  it('in process, every mode, the bytes pushed one at a time', () => {
    const bytes = hostileCapture();
    for (const mode of ['default', 'hex', 'verbose', 'summary'] as const) {
      const r = renderCapture(bytes, mode, { chunk: 1 });
      expect(r.formatError).toBeNull();
      expect(unsafe(r.lines.join('\n'), false), mode).toEqual([]);
    }
  });

  describe('explain', () => {
    const p = hostilePackets();
    const all = [...p.c2s, ...p.s2c, ...p.v311.c2s, ...p.v311.s2c];
    // Every packet in process (what explain prints is explainBytes' lines), and a few through the CLI, stdin and stderr
    // included: 72 CLI runs took 100 s of the suite and proved no more than these.
    const chalk = makeChalk(false);
    for (const [i, pkt] of all.entries()) {
      it(`packet ${i} (type ${pkt[0]! >> 4}), explained in process`, () => {
        for (const o of [{ level: undefined, full: false }, { level: 5 as const, full: false }, { level: undefined, full: true }]) {
          const out = explainBytes(pkt, { ...o, json: false, chalk, redact: false }).join('\n');
          expect(out.length).toBeGreaterThan(50);
          expect(unsafe(out, false), `explain ${JSON.stringify(o)}`).toEqual([]);
        }
      });
    }
    for (const i of [0, p.c2s.length, all.length - 1]) {
      it(`packet ${i} (type ${all[i]![0]! >> 4}) pasted as hex into the CLI`, () => {
        const hex = m.toHex(all[i]!);
        for (const extra of [[], ['--protocol-version', '5'], ['--full']]) {
          const r = runCli(['explain', ...extra], { input: hex, env: { NO_COLOR: '1' } });
          expect(r.status, r.stderr).toBe(0);
          expect(r.stdout.length).toBeGreaterThan(50);
          expect(unsafe(r.stdout, false), `explain ${extra.join(' ')}`).toEqual([]);
          expect(unsafe(r.stderr, false)).toEqual([]);
        }
      });
    }
  });
});
