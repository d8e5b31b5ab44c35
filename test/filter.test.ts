/** The filter language (-Y): syntax errors with their positions, names and values checked, and what matches what. */
import { describe, expect, it } from 'vitest';
import type { PacketRecord, PacketSink } from '../src/mqtt/connection-decoder.js';
import { checkFilter, compileFilter } from '../src/filter/compile.js';
import { FILTER_FIELDS, FILTER_NAMES, Subject } from '../src/filter/fields.js';
import { FilterStage } from '../src/filter/stage.js';
import { TraceFilter } from '../src/cli/trace.js';
import type { MessageRecord } from '../src/sessions/records.js';
import { WINDOW_SEC } from '../src/sessions/stage.js';
import { FIELD, PACKET_FIELDS, PROPERTY_FIELDS, type FieldDef } from '../src/mqtt/fields.js';
import { topicMatches } from '../src/mqtt/topics.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../src/tcp/types.js';
import { endAt } from './builders/frames.js';
import { ack, connack, connect, disconnect, publish, suback, subscribe, unsubscribe } from './builders/mqtt-bytes.js';
import { Harness, type Ev } from './builders/rules-harness.js';

/** The error lines for an expression that must not compile. */
function error(expr: string): string[] {
  const e = checkFilter(expr);
  if (e === null) throw new Error(`"${expr}" compiled`);
  return e;
}

/** Where the caret line points: [column, width]. */
function caret(lines: string[]): [number, number] {
  const l = lines[2]!;
  const at = l.indexOf('^');
  return [at - 2, l.length - at];
}

describe('syntax errors', () => {
  it('say what is wrong and put the caret under it', () => {
    expect(error('topic = "a"')[0]).toContain('use "=="');
    expect(caret(error('topic = "a"'))).toEqual([6, 1]);
    expect(error('qos > 0 and')[0]).toBe('expected a field name at the end of the expression');
    expect(caret(error('qos > 0 and'))).toEqual([11, 1]);
    expect(error('topic == "abc')[0]).toBe('unterminated string');
    expect(error('(qos == 1')[0]).toContain('expected ")" to close the "(" at column 1');
    expect(error('qos == 1 retain')[0]).toContain('join tests with "&&" or "||"');
    expect(caret(error('qos == 1 retain'))).toEqual([9, 6]);
    expect(error('qos in {}')[0]).toContain('empty set');
    expect(error('topic == "\\q"')[0]).toContain('unknown escape \\q');
    expect(error('qos == ')[0]).toBe('expected a value, found the end of the expression');
    expect(error('a & b')[0]).toContain('use "&&"');
  });

  it('name unknown fields with a suggestion, and check values and operators against the field', () => {
    const e = error('clinetId == "x"');
    expect(e[0]).toBe('unknown field "clinetId" (did you mean clientId?)');
    expect(caret(e)).toEqual([0, 8]);
    expect(error('mqtt.topik == "x"')[0]).toContain('did you mean mqtt.topic?');
    expect(error('zzzzzz')[0]).toContain('--help-fields lists them');
    expect(error('type == PUBLSH')[0]).toBe('type is never "PUBLSH" (did you mean PUBLISH?)');
    expect(error('dir == up')[0]).toContain('it is one of c2s, s2c');
    expect(error('qos == high')[0]).toBe('"high" is not a number');
    expect(error('topic < 3')[0]).toContain('"<" does not apply to topic, a string field');
    expect(error('retain == maybe')[0]).toContain('is not true, false, 1 or 0');
    expect(error('topic matches "a/#/b"')[0]).toContain('is not a topic filter');
    expect(error('topic ~ "("')[0]).toContain('not a regular expression');
  });

  it('accept Wireshark\'s spellings: word operators, unquoted values, hex numbers, byte strings', () => {
    for (const ok of ['mqtt.msgtype eq 3 and not mqtt.retain == 1', 'qos ge 1 || dup', 'packetId == 0x10', 'payload contains 7b:22', 'type == publish', 'topic in {"a" "b", c}', '!(qos == 0)']) {
      expect(checkFilter(ok), ok).toBeNull();
    }
  });

  it('bounds what a hostile expression can cost', () => {
    expect(error('x'.repeat(20_000))[0]).toContain('longer than');
    expect(error(`${'!'.repeat(500)}qos`)[0]).toContain('nests too deeply');
    expect(error(`${'('.repeat(500)}qos${')'.repeat(500)}`)[0]).toContain('nests too deeply');
    // Control characters never reach the terminal raw.
    expect(error('topic == "a\u001b[31m')[1]).not.toContain('\u001b');
  });
});

describe('topicMatches', () => {
  it('follows the spec\'s examples (4.7.1, 4.7.2)', () => {
    const yes: [string, string][] = [
      ['sport/tennis/player1/#', 'sport/tennis/player1'], ['sport/tennis/player1/#', 'sport/tennis/player1/ranking'],
      ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon'], ['sport/#', 'sport'], ['#', 'a/b'],
      ['sport/tennis/+', 'sport/tennis/player1'], ['sport/+', 'sport/'], ['+/+', '/finance'], ['/+', '/finance'],
      ['+', 'finance'], ['$SYS/#', '$SYS/broker'], ['$SYS/+', '$SYS/x'], ['a//b', 'a//b'], ['+/b', '/b'],
    ];
    const no: [string, string][] = [
      ['sport/tennis/+', 'sport/tennis/player1/ranking'], ['sport/+', 'sport'], ['+', '/finance'], ['#', '$SYS/x'],
      ['+/monitor/Clients', '$SYS/monitor/Clients'], ['a/b', 'a/bc'], ['a/bc', 'a/b'], ['a', 'a/b'], ['a/+', 'a'], ['a/b', 'A/b'],
    ];
    for (const [f, t] of yes) expect(topicMatches(f, t), `${f} ~ ${t}`).toBe(true);
    for (const [f, t] of no) expect(topicMatches(f, t), `${f} !~ ${t}`).toBe(false);
  });
});

class Collect implements PacketSink {
  readonly shown: string[] = [];
  readonly forgotten: number[] = [];
  open(): void {}
  packet(rec: PacketRecord): void { this.shown.push(`${rec.conn.id}:${rec.decoded.typeName}`); }
  event(ev: Ev): void { this.shown.push(`event ${ev.event}`); }
  close(conn: Connection): void { this.shown.push(`close ${conn.id}`); }
}

/** Two clients through the rules, then the filter: what it shows, as "conn:TYPE" lines. */
function shown(expr: string): { lines: string[]; forgotten: number[] } {
  const a = new Harness({ id: 0 });
  a.c(connect({ clientId: 'sensor-7', username: 'jane' }));
  a.s(connack({}));
  a.c(publish({ topic: 'factory/3/temp', qos: 1, packetId: 5, payload: '{"t":21.5}' }));
  a.s(ack('PUBACK', { packetId: 5 }));
  a.c(subscribe({ packetId: 2, subscriptions: [{ topic: 'cmd/#', qos: 1 }, { topic: 'cfg/+', qos: 2 }] }));
  a.s(suback({ packetId: 2, codes: [1, 0x80] }));
  a.c(unsubscribe({ packetId: 3, topics: ['cfg/+'] }));
  a.c(disconnect());
  const b = new Harness({ id: 1, level: 5 });
  b.c(connect({ level: 5, clientId: '', properties: [['sessionExpiryInterval', 60]] }));
  b.s(connack({ level: 5, properties: [['assignedClientIdentifier', 'auto-1']] }));
  b.c(publish({ level: 5, topic: 'factory/4/temp', retain: true, payload: 'off', properties: [['messageExpiryInterval', 30], ['userProperty', ['site', 'north']]] }));
  // A PUBLISH with QoS 1 and packet id 0 breaks MQTT-2.2.1-3 (5.0): a packet with a finding.
  b.c(publish({ level: 5, topic: 'bad', qos: 1, packetId: 0 }));
  b.c(publish({ level: 5, topic: 'x/y', qos: 2, packetId: 9, dup: true }));

  const out = new Collect();
  const forgotten: number[] = [];
  const stage = new FilterStage(compileFilter(expr), out, (c) => { forgotten.push(c.id); });
  stage.open(a.conn);
  stage.open(b.conn);
  for (const rec of a.sink.packets) stage.packet(rec);
  const gap: StreamEvent = { event: 'gap', frame: 99, conn: 1, dir: 's2c', message: 'a gap', bytes: 10 };
  const capture: StreamEvent = { event: 'capture-note', frame: 1, conn: null, dir: null, message: 'note' };
  stage.event(capture);
  for (const rec of b.sink.packets) stage.packet(rec);
  stage.event(gap);
  const end: ConnectionEnd = endAt(100, 5, 'fin', 'c2s');
  stage.close(a.conn, end);
  stage.close(b.conn, endAt(101, 6, 'rst', 's2c'));
  expect(stage.openConnections).toBe(0);
  return { lines: out.shown, forgotten };
}

describe('what a filter matches', () => {
  it('packet fields: type, topic (PUBLISH, SUBSCRIBE and UNSUBSCRIBE filters), qos, flags', () => {
    expect(shown('type == PUBLISH').lines).toEqual(['0:PUBLISH', '1:PUBLISH', '1:PUBLISH', '1:PUBLISH']);
    expect(shown('topic matches "factory/+/temp"').lines).toEqual(['0:PUBLISH', '1:PUBLISH']);
    expect(shown('topic == "cfg/+"').lines).toEqual(['0:SUBSCRIBE', '0:UNSUBSCRIBE']);
    expect(shown('mqtt.topic contains "cmd"').lines).toEqual(['0:SUBSCRIBE']);
    expect(shown('qos == 2').lines).toEqual(['0:SUBSCRIBE', '1:PUBLISH']);
    // Wireshark's names keep Wireshark's scope: mqtt.qos is the PUBLISH header's, mqtt.sub.qos the SUBSCRIBE's.
    expect(shown('mqtt.qos == 2').lines).toEqual(['1:PUBLISH']);
    expect(shown('mqtt.sub.qos == 2').lines).toEqual(['0:SUBSCRIBE']);
    expect(shown('retain == 1').lines).toEqual(['1:PUBLISH']);
    // A bare flag by our name is set; by Wireshark's name it is there (every PUBLISH has a RETAIN bit).
    expect(shown('retain').lines).toEqual(['1:PUBLISH']);
    expect(shown('mqtt.retain').lines).toEqual(['0:PUBLISH', '1:PUBLISH', '1:PUBLISH', '1:PUBLISH']);
    expect(shown('dup == true && packetId == 9').lines).toEqual(['1:PUBLISH']);
    expect(shown('mqtt.msgtype == 8').lines).toEqual(['0:SUBSCRIBE']);
    expect(shown('returnCode == 128').lines).toEqual(['0:SUBACK']);
    expect(shown('payload contains "21.5"').lines).toEqual(['0:PUBLISH']);
    expect(shown('payload == 6f:66:66').lines).toEqual(['1:PUBLISH']);
    expect(shown('payloadLength >= 10').lines).toEqual(['0:PUBLISH']);
    expect(shown('type in {CONNACK PINGREQ}').lines).toEqual(['0:CONNACK', '1:CONNACK']);
  });

  it('connection fields on every record of the connection: the CONNECT\'s client id and user, an assigned id', () => {
    expect(shown('clientId == "sensor-7"').lines).toEqual(['0:CONNECT', '0:CONNACK', '0:PUBLISH', '0:PUBACK', '0:SUBSCRIBE', '0:SUBACK', '0:UNSUBSCRIBE', '0:DISCONNECT', 'close 0']);
    expect(shown('username == "jane" && type == PUBLISH').lines).toEqual(['0:PUBLISH']);
    // 5.0: connected with an empty id, the server assigned one.
    expect(shown('clientId == "auto-1" && type == PUBLISH').lines).toEqual(['1:PUBLISH', '1:PUBLISH', '1:PUBLISH']);
    expect(shown('conn == 1 && event').lines).toEqual(['event gap']);
    expect(shown('tcp.port == 50001 && kind == close').lines).toEqual(['close 1']);
    expect(shown('ip.src == 10.0.0.1').lines.every((l) => /^\d:(CONNACK|PUBACK|SUBACK)$/.test(l) || l === 'event gap')).toBe(true);
    expect(shown('version == "5.0" && type == CONNECT').lines).toEqual(['1:CONNECT']);
    expect(shown('close.cause == rst').lines).toEqual(['close 1']);
  });

  it('properties, findings and events', () => {
    expect(shown('properties.messageExpiryInterval < 60').lines).toEqual(['1:PUBLISH']);
    expect(shown('properties.userProperties == "site=north"').lines).toEqual(['1:PUBLISH']);
    expect(shown('properties.sessionExpiryInterval').lines).toEqual(['1:CONNECT']);
    expect(shown('violation.id == "MQTT-2.2.1-3"').lines).toEqual(['1:PUBLISH']);
    expect(shown('violation && topic == "bad"').lines).toEqual(['1:PUBLISH']);
    expect(shown('event == "capture-note"').lines).toEqual(['event capture-note']);
    expect(shown('event').lines).toEqual(['event capture-note', 'event gap']);
  });

  it('absent fields: comparisons are false, != included; ! negates the whole test', () => {
    const all = shown('kind == packet').lines.length;
    expect(shown('topic != "bad"').lines).toEqual(['0:PUBLISH', '0:SUBSCRIBE', '0:UNSUBSCRIBE', '1:PUBLISH', '1:PUBLISH']);
    expect(shown('!(topic == "bad") && kind == packet').lines.length).toBe(all - 1);
    expect(shown('qos != 1').lines).toEqual(['1:PUBLISH', '1:PUBLISH']);
  });

  it('a close it does not show still reaches the downstream bookkeeping', () => {
    const r = shown('type == PUBLISH');
    expect(r.lines).not.toContain('close 0');
    expect(r.forgotten).toEqual([0, 1]);
  });
});

/** One 5.0 client whose strings need escapes, and a PUBACK with each reason code: what a filter shows of it, by frame order. */
function escaped(expr: string): string[] {
  const h = new Harness({ id: 2, level: 5 });
  h.c(connect({ level: 5, clientId: 'q"\\c' }));
  h.s(connack({ level: 5 }));
  h.c(publish({ level: 5, topic: 'a"b\\c', qos: 1, packetId: 1 }));
  h.s(ack('PUBACK', { level: 5, packetId: 1, reasonCode: 0x10 }));
  h.c(publish({ level: 5, topic: 'caf\u00e9/\u20ac', qos: 1, packetId: 2 }));
  h.s(ack('PUBACK', { level: 5, packetId: 2, reasonCode: 0 }));
  h.c(publish({ level: 5, topic: "it's/x", qos: 1, packetId: 3 }));
  h.s(ack('PUBACK', { level: 5, packetId: 3, reasonCode: 0x97 }));
  const out = new Collect();
  const stage = new FilterStage(compileFilter(expr), out, () => {});
  stage.open(h.conn);
  for (const rec of h.sink.packets) stage.packet(rec);
  return out.shown;
}

describe('grammar', () => {
  it('precedence: && binds tighter than ||, and ! tighter than both', () => {
    // a || b && c is a || (b && c): the CONNECTs, and the QoS 2 PUBLISH; (a || b) && c would drop the CONNECTs.
    expect(shown('type == CONNECT || type == PUBLISH && qos == 2').lines).toEqual(['0:CONNECT', '1:CONNECT', '1:PUBLISH']);
    expect(shown('type == CONNECT || (type == PUBLISH && qos == 2)').lines).toEqual(shown('type == CONNECT || type == PUBLISH && qos == 2').lines);
    expect(shown('(type == CONNECT || type == PUBLISH) && qos == 2').lines).toEqual(['1:PUBLISH']);
    // b && c || a: the same grouping from the other side.
    expect(shown('type == PUBLISH && qos == 2 || type == CONNECT').lines).toEqual(['0:CONNECT', '1:CONNECT', '1:PUBLISH']);
    // !retain && type == PUBLISH is (!retain) && …: the three PUBLISHes without RETAIN, not everything but the retained one.
    expect(shown('!retain && type == PUBLISH').lines).toEqual(['0:PUBLISH', '1:PUBLISH', '1:PUBLISH']);
    expect(shown('!(retain && type == PUBLISH) && kind == packet').lines.length).toBe(shown('kind == packet').lines.length - 1);
    expect(shown('!!retain').lines).toEqual(shown('retain').lines);
  });

  it('and, or and not are &&, || and !, with the same precedence', () => {
    for (const [words, symbols] of [
      ['not retain and type == PUBLISH or type == CONNACK', '!retain && type == PUBLISH || type == CONNACK'],
      ['type == CONNECT or type == PUBLISH and qos == 2', 'type == CONNECT || type == PUBLISH && qos == 2'],
      ['not (qos == 1 or qos == 2) and type == PUBLISH', '!(qos == 1 || qos == 2) && type == PUBLISH'],
    ]) {
      const a = shown(words!).lines;
      expect(a.length, words).toBeGreaterThan(0);
      expect(a, words).toEqual(shown(symbols!).lines);
    }
    expect(shown('not (qos == 1 or qos == 2) and type == PUBLISH').lines).toEqual(['1:PUBLISH']);
  });

  it('escapes in strings: \\" \\\\ \\xHH \\uHHHH, in double and single quotes', () => {
    expect(escaped('topic == "a\\"b\\\\c"')).toEqual(['2:PUBLISH']);
    expect(escaped("topic == 'a\"b\\\\c'")).toEqual(['2:PUBLISH']);
    expect(escaped('clientId == "q\\"\\\\c" && type == CONNECT')).toEqual(['2:CONNECT']);
    expect(escaped('topic == "caf\\xe9/\\u20ac"')).toEqual(['2:PUBLISH']);
    expect(escaped('topic == "caf\\u00e9/\\u20AC"')).toEqual(['2:PUBLISH']);
    expect(escaped("topic == 'it\\'s/x'")).toEqual(['2:PUBLISH']);
    expect(escaped('topic == "it\'s/x"')).toEqual(['2:PUBLISH']);
    // Without its escape the backslash is an error, not a literal: nothing is guessed.
    expect(error('topic == "a\\qb"')[0]).toContain('unknown escape \\q');
    expect(error('topic == "\\x4"')[0]).toContain('unknown escape \\x');
    expect(error('topic == "\\u12"')[0]).toContain('unknown escape \\u');
  });

  it('<=, >=, <, > on numbers, at the bounds', () => {
    expect(shown('packetId <= 5 && type == PUBLISH').lines).toEqual(['0:PUBLISH', '1:PUBLISH']);
    expect(shown('packetId < 5 && type == PUBLISH').lines).toEqual(['1:PUBLISH']);
    expect(shown('packetId >= 9').lines).toEqual(['1:PUBLISH']);
    expect(shown('packetId > 9').lines).toEqual([]);
    expect(shown('mqtt.msgid le 0').lines).toEqual(['1:PUBLISH']);
  });

  it('~ is a regular expression on strings (and (?i) makes it case-blind), anchored only where the pattern says', () => {
    expect(shown('topic ~ "^factory/[0-9]+/temp$"').lines).toEqual(['0:PUBLISH', '1:PUBLISH']);
    expect(shown('topic ~ "temp"').lines).toEqual(['0:PUBLISH', '1:PUBLISH']);
    expect(shown('topic ~ "^temp"').lines).toEqual([]);
    expect(shown('topic ~ "CMD"').lines).toEqual([]);
    expect(shown('topic ~ "(?i)CMD"').lines).toEqual(['0:SUBSCRIBE']);
    // A regular expression's own backslash is doubled inside the quotes (as in Wireshark): a single one before d is an unknown escape.
    expect(shown('clientId ~ "^sensor-\\\\d$" && type == CONNECT').lines).toEqual(['0:CONNECT']);
    expect(error('clientId ~ "^sensor-\\d$"')[0]).toContain('unknown escape \\d');
  });

  it('reasonCode: every packet type that carries one, and a name', () => {
    expect(escaped('reasonCode == 0x10')).toEqual(['2:PUBACK']);
    expect(escaped('reasonCode >= 0x80')).toEqual(['2:PUBACK']);
    expect(escaped('reasonCode == 0')).toEqual(['2:CONNACK', '2:PUBACK']);
    expect(escaped('mqtt.puback.reason_code == 0')).toEqual(['2:PUBACK']);
    expect(escaped('reasonCodeName contains "subscribers"')).toEqual(['2:PUBACK']);
  });

  it('src, dst and ip.src: the sender and the receiver of each record', () => {
    expect(shown('src == "10.0.0.2:50001"').lines).toEqual(['1:CONNECT', '1:PUBLISH', '1:PUBLISH', '1:PUBLISH']);
    expect(shown('dst == "10.0.0.2:50000"').lines).toEqual(['0:CONNACK', '0:PUBACK', '0:SUBACK']);
    expect(shown('ip.src == 10.0.0.1').lines).toEqual(['0:CONNACK', '0:PUBACK', '0:SUBACK', '1:CONNACK', 'event gap']);
    expect(shown('ip.dst == 10.0.0.1 && conn == 0').lines).toEqual(['0:CONNECT', '0:PUBLISH', '0:SUBSCRIBE', '0:UNSUBSCRIBE', '0:DISCONNECT']);
    // Closes and capture-wide events have no direction, so no sender; ip.addr holds on every record of a connection.
    expect(shown('ip.addr == 10.0.0.1 && kind == close').lines).toEqual(['close 0', 'close 1']);
    expect(shown('ipv6.src').lines).toEqual([]);
  });
});

describe('trace -Y: the matching PUBLISHes waiting for their message record', () => {
  it('are released by the record that names them, or once no record can come any more', () => {
    const h = new Harness({ id: 0 });
    h.c(connect({ clientId: 'pub' }), 0);
    const first = h.c(publish({ topic: 't/1', payload: 'a' }), 1);
    h.c(publish({ topic: 'u/1', payload: 'b' }), 2);
    const f = new TraceFilter(compileFilter('topic matches "t/#"').test);
    f.open(h.conn);
    for (const rec of h.sink.packets) f.packet(rec);
    // Only the matching PUBLISH is remembered.
    expect(f.waiting).toBe(1);
    const message = (frame: number, topic: string): MessageRecord => ({
      kind: 'message', frame, timeSec: 1, timeNsec: 0, conn: 0, clientId: 'pub', topic, qos: 0, retain: false, payloadLength: 1,
      payloadHash: '00000000', deliveries: [], ambiguous: [],
    });
    expect(f.selects(message(first.frame + 1, 'u/1'))).toBe(false);
    expect(f.selects(message(first.frame, 't/1'))).toBe(true);
    expect(f.waiting).toBe(0);
    // A second record for the same PUBLISH finds nothing: each key is taken once.
    expect(f.selects(message(first.frame, 't/1'))).toBe(false);
    // One whose record never comes leaves once 2 x WINDOW_SEC of capture time have passed.
    const late = new Harness({ id: 1 });
    late.c(connect({ clientId: 'pub2' }), 0);
    late.c(publish({ topic: 't/2', payload: 'a' }), 1);
    late.c(publish({ topic: 't/3', payload: 'a' }), 2 + 2 * WINDOW_SEC);
    for (const rec of late.sink.packets) f.packet(rec);
    expect(f.waiting).toBe(1);
    expect(f.dropped).toBe(0);
  });
});

describe('the field table', () => {
  it('gives every registry field with a Wireshark name a filter field, under the registry\'s names', () => {
    // The flag bytes themselves are not kept on decoded packets: filters test their bits, which are fields.
    // The subscription options byte is not kept (its bits are fields); property blocks are objects (each property is a field).
    const notFilterable = new Set<FieldDef>([FIELD.options, FIELD.properties, FIELD.willProperties]);
    const tsharkNames = new Set<string>();
    for (const rows of PACKET_FIELDS) for (const r of rows) {
      const n = r.tshark ?? r.field.tshark;
      if (n !== undefined && !notFilterable.has(r.field)) tsharkNames.add(n);
    }
    for (const f of Object.values(FIELD) as FieldDef[]) if (f.tshark !== undefined && !notFilterable.has(f)) tsharkNames.add(f.tshark);
    for (const n of tsharkNames) expect(FILTER_NAMES.has(n), n).toBe(true);
    for (const p of PROPERTY_FIELDS) {
      expect(FILTER_NAMES.has(`properties.${p.property.key}`), p.property.key).toBe(true);
      if (p.tshark !== undefined) expect(FILTER_NAMES.get(p.tshark)?.field.name).toBe(`properties.${p.property.key}`);
    }
    // Our own names of registry fields are the NDJSON keys.
    expect(FILTER_NAMES.get('mqtt.clientid')?.field.name).toBe(FIELD.clientId.key);
    expect(FILTER_NAMES.get('mqtt.topic')?.field.name).toBe(FIELD.topic.key);
  });

  it('reads every field without throwing on records of every kind', () => {
    const h = new Harness({ level: 5 });
    h.c(connect({ level: 5, will: { topic: 'w', payload: 'x' }, username: 'u', password: 'p' }));
    h.s(connack({ level: 5 }));
    const s = new Subject();
    for (const rec of h.sink.packets) {
      s.rec = rec;
      s.facts = { conn: rec.conn, clientId: 'c', username: 'u', level: 5 };
      for (const f of FILTER_FIELDS) f.get(s);
    }
    s.rec = null;
    s.kind = 'event';
    s.ev = { event: 'gap', frame: 1, conn: null, dir: null, message: 'm' };
    s.facts = null;
    for (const f of FILTER_FIELDS) expect(() => f.get(s), f.name).not.toThrow();
  });
});
