/**
 * Which rules a capture exercised, passed and broke: the data behind `rules --coverage` and `read --report junit|sarif`.
 *
 * "Exercised" is counted where the rules are evaluated, without a lookup per packet: the rules stage (engine.ts) adds
 * one to a typed-array counter per packet class (protocol level x carried over WebSocket or not x packet type) as it
 * runs that packet's checks, and one per TLS connection it opens. A rule's "checked" count is then the sum over the
 * classes its checks run on, given by its catalogue area (AREA_TYPES; RULE_TYPES for the rules judged elsewhere): a CONNECT rule is evaluated on every CONNECT of
 * a version it covers, a FIXED-HEADER rule on every packet, a WebSocket rule on every packet carried over WebSocket.
 * That gives every rule the count a per-rule increment at each evaluation would give, at one increment per packet
 * instead of one per rule (a PUBLISH runs about a hundred rules' checks). Rules of the sessions stage (across
 * connections) count only when that stage ran.
 *
 * "Broken" is counted from the violations that reach the end of the pipeline (packets, events, closes), each mapped
 * back to its catalogue entry by (spec, id).
 */
import type { PacketRecord, PacketSink, Violation } from '../mqtt/connection-decoder.js';
import {
  AUTH, CONNACK, CONNECT, DISCONNECT, PACKET_TYPES, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE,
  UNSUBACK, UNSUBSCRIBE,
} from '../mqtt/tables.js';
import type { ProtocolLevel } from '../mqtt/types.js';
import type { Connection, ConnectionEnd, Direction, StreamEvent } from '../tcp/types.js';
import { CATALOGUE, SESSIONS_STAGE_KEYS, type RuleEntry, type SpecVersion } from './catalogue.js';
import { TLS_RULES } from './catalogue-tls.js';
import { closeViolations } from './close.js';

/** Packet classes: ((level - 3) * 2 + overWebSocket) * 16 + packet type. */
export const COVERAGE_CLASSES = 3 * 2 * 16;

export function packetClass(level: ProtocolLevel, webSocket: boolean, type: number): number {
  return ((level - 3) * 2 + (webSocket ? 1 : 0)) * 16 + (type & 15);
}

const ALL = 0xffff;
const bit = (...types: number[]): number => types.reduce((m, t) => m | (1 << t), 0);
const ACKS = bit(PUBACK, PUBREC, PUBREL, PUBCOMP);
const WITH_ID = bit(PUBLISH, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK) | ACKS;

/**
 * The packet types whose checks evaluate the rules of each catalogue area (a bit per type). WEBSOCKET rules are
 * evaluated on every packet carried over WebSocket, and only there.
 */
export const AREA_TYPES: Readonly<Record<string, number>> = {
  'UTF8': ALL, 'FIXED-HEADER': ALL, 'LENGTH': ALL, 'DIRECTION': ALL, 'DECODER': ALL, 'VBI': ALL, 'PROPERTIES': ALL,
  'ERRORS': ALL, 'MAX-PACKET-SIZE': ALL, 'KEEPALIVE': ALL, 'WEBSOCKET': ALL,
  'PACKET-ID': WITH_ID, 'PUBACK/PUBREC/PUBREL': bit(PUBACK, PUBREC, PUBREL),
  // A CONNECT's rules are partly judged on the server's answer (an accepted malformed CONNECT, MQTT-3.1.4-1).
  'CONNECT': bit(CONNECT, CONNACK), 'CONNACK': bit(CONNACK), 'CONNECT/CONNACK': bit(CONNECT, CONNACK), 'SESSION': bit(CONNECT, CONNACK),
  // The Will (src/sessions/will.ts): judged at the close of a connection whose CONNECT carried one.
  'WILL': bit(CONNECT),
  'PUBLISH': bit(PUBLISH), 'RETAIN': bit(PUBLISH), 'EXPIRY': bit(PUBLISH),
  // A message owed to every matching subscriber (MQTT-4.5.0-1): judged on each PUBLISH, reported at the subscriber's close.
  'DELIVERY': bit(PUBLISH), 'TOPIC-ALIAS': bit(PUBLISH), 'FLOW-CONTROL': bit(PUBLISH),
  'TOPIC': bit(CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE),
  'PUBACK': bit(PUBACK), 'PUBREC': bit(PUBREC), 'PUBREL': bit(PUBREL), 'PUBCOMP': bit(PUBCOMP),
  'QOS-FLOW': bit(PUBLISH) | ACKS, 'ORDERING': bit(PUBLISH, SUBACK, UNSUBACK) | ACKS,
  'SUBSCRIBE': bit(SUBSCRIBE), 'SUB-ID': bit(SUBSCRIBE, PUBLISH), 'SHARED-SUB': bit(SUBSCRIBE), 'SUBACK': bit(SUBACK),
  'UNSUBSCRIBE': bit(UNSUBSCRIBE), 'UNSUBACK': bit(UNSUBACK), 'DISCONNECT': bit(DISCONNECT),
  'AUTH': bit(AUTH), 'ENH-AUTH': bit(AUTH, CONNECT, CONNACK), 'PINGRESP': bit(PINGREQ, PINGRESP),
};

/**
 * Rules whose checks run on other packets than their area says: sequence rules judged on whichever packet comes (the
 * first packet must be CONNECT; nothing after a refusal or a DISCONNECT), acknowledgement rules judged on the answer,
 * and the incomplete-flow rules, judged at the close on the exchanges the named packets opened. By catalogue key;
 * test/rules-cases.test.ts checks every case's violations against the classes these give.
 */
const RULE_TYPES: Readonly<Record<string, number>> = {
  '3.1.1|MQTT-3.1.0-1': ALL, '5.0|MQTT-3.1.0-1': ALL, '3.1.1|MQTT-3.2.0-1': ALL, '5.0|MQTT-3.2.0-1': ALL,
  '3.1.1|MQTT-3.2.2-5': ALL, '5.0|MQTT-3.2.2-7': ALL, '5.0|MQTT-3.2.2-4': ALL, '5.0|MQTT-3.2.2-9': ALL,
  '3.1.1|MQTT-3.14.4-2': ALL, '5.0|MQTT-3.14.4-1': ALL, '3.1.1|MQTT-3.1.2-6': ALL, '5.0|MQTT-3.1.2-4': ALL,
  '5.0|MQTT-3.1.2-30': ALL,
  '3.1.1|MQTT-3.3.4-1': bit(PUBLISH) | ACKS, '5.0|MQTT-3.3.4-1': bit(PUBLISH) | ACKS,
  'ref|ALL:3.3.4:publish-unanswered': bit(PUBLISH), 'ref|ALL:4.3.3:pubrel-missing': bit(PUBLISH, PUBREC),
  'ref|ALL:4.3.3:pubcomp-missing': bit(PUBREL), 'ref|ALL:3.8.4:suback-missing': bit(SUBSCRIBE),
  'ref|ALL:3.10.4:unsuback-missing': bit(UNSUBSCRIBE), 'ref|ALL:3.12.4:pingresp-missing': bit(PINGREQ),
  // The Payload Format Indicator is a PUBLISH property and a Will property of CONNECT.
  'ref|5.0:3.3.2.3.2:pfi-utf8': bit(PUBLISH, CONNECT),
  // After a normal DISCONNECT no Will (src/sessions/will.ts): judged at the close of a connection whose CONNECT had one.
  '3.1.1|MQTT-3.14.4-3': bit(CONNECT), '5.0|MQTT-3.14.4-3': bit(CONNECT),
  // A shared subscription's message to a second member (src/sessions/stage.ts): judged on the deliveries.
  'ref|5.0:4.8:shared-one-session': bit(PUBLISH),
};

/** A rule of the report: a catalogue entry, or a TLS rule (src/rules/catalogue-tls.ts). */
export interface ReportRule {
  /** Position in REPORT_RULES. */
  index: number;
  id: string;
  /** The document: "3.1.1", "5.0", "ref", "rfc6455", "tls". */
  doc: string;
  /** What a report shows as its spec: "3.1.1", "3.1,3.1.1,5.0", "RFC 6455 5.1", "RFC 8996". */
  spec: string;
  severity: Violation['severity'];
  paraphrase: string;
  implemented: boolean;
  why?: string;
  entry: RuleEntry | null;
}

export const REPORT_RULES: readonly ReportRule[] = [
  ...CATALOGUE.map((e, i): ReportRule => ({
    index: i, id: e.id, doc: e.spec,
    spec: e.spec === 'ref' ? e.versions.join(',') : e.spec === 'rfc6455' ? `RFC 6455 ${e.section ?? ''}`.trim() : e.spec,
    severity: e.severity, paraphrase: e.paraphrase, implemented: e.implemented, ...(e.why !== undefined ? { why: e.why } : {}), entry: e,
  })),
  ...TLS_RULES.map((r, i): ReportRule => ({
    index: CATALOGUE.length + i, id: r.id, doc: 'tls', spec: r.reference, severity: r.severity, paraphrase: r.paraphrase, implemented: true, entry: null,
  })),
];

const BY_KEY: ReadonlyMap<string, number> = new Map(REPORT_RULES.map((r) => [`${r.doc}|${r.id}`, r.index]));

/** The report rule a violation cites, or -1 (a dialect's finding, which no catalogue holds). */
export function reportRuleOf(v: Violation): number {
  if (v.spec === 'TLS') return BY_KEY.get(`tls|${v.id}`) ?? -1;
  return BY_KEY.get(`${v.spec}|${v.id}`) ?? BY_KEY.get(`ref|${v.id}`) ?? BY_KEY.get(`rfc6455|${v.id}`) ?? -1;
}

const LEVEL_OF: Readonly<Record<SpecVersion, ProtocolLevel>> = { '3.1': 3, '3.1.1': 4, '5.0': 5 };

/** Per report rule, the packet classes its checks run on (empty for TLS rules, counted per TLS connection). */
const RULE_CLASSES: readonly Int32Array[] = REPORT_RULES.map((r) => {
  const e = r.entry;
  if (e === null || !e.implemented) return new Int32Array(0);
  const types = RULE_TYPES[e.key] ?? AREA_TYPES[e.area] ?? 0;
  const out: number[] = [];
  for (const v of e.versions) {
    const level = LEVEL_OF[v];
    for (const ws of e.area === 'WEBSOCKET' ? [true] : [false, true]) {
      for (let t = 0; t < 16; t++) if ((types & (1 << t)) !== 0) out.push(packetClass(level, ws, t));
    }
  }
  return Int32Array.from(out);
});

/** The packet classes whose checks evaluate a report rule (tests check violations against it). */
export function ruleClasses(index: number): Int32Array {
  return RULE_CLASSES[index] ?? new Int32Array(0);
}

/** What the rules stage counted while it ran (engine.ts fills it). */
export interface RuleCounters {
  readonly classes: Float64Array;
  tlsConnections: number;
}

export function newCounters(): RuleCounters {
  return { classes: new Float64Array(COVERAGE_CLASSES), tlsConnections: 0 };
}

/** Times each report rule was evaluated, indexed by report rule. `sessions`: whether the sessions stage ran. */
export function checkedCounts(c: RuleCounters, sessions: boolean): Float64Array {
  const out = new Float64Array(REPORT_RULES.length);
  for (const r of REPORT_RULES) {
    if (r.entry === null) {
      out[r.index] = c.tlsConnections;
      continue;
    }
    if (!sessions && SESSIONS_STAGE_KEYS.has(r.entry.key)) continue;
    let n = 0;
    for (const k of RULE_CLASSES[r.index]!) n += c.classes[k]!;
    out[r.index] = n;
  }
  return out;
}

export interface Occurrence {
  frame: number;
  conn: number | null;
  dir: Direction | null;
  message: string;
}

/** Occurrences kept per rule; the rest are counted. */
export const OCCURRENCES_KEPT = 20;

/** Collects the violations of a run by report rule (a sink at the end of the pipeline, beside the renderers). */
export class CoverageCollector implements PacketSink {
  readonly broken = new Float64Array(REPORT_RULES.length);
  readonly occurrences = new Map<number, Occurrence[]>();
  /** Violations that cite no catalogue rule (dialect findings). */
  unmapped = 0;
  packets = 0;

  open(): void {}
  packet(rec: PacketRecord): void {
    this.packets++;
    if (rec.violations.length > 0) this.add(rec.violations, rec.frame, rec.conn.id, rec.dir);
  }
  event(ev: StreamEvent & { violations?: Violation[] }): void {
    if (ev.violations !== undefined) this.add(ev.violations, ev.frame, ev.conn, ev.dir);
  }
  close(conn: Connection, end: ConnectionEnd): void {
    const vs = closeViolations(end);
    if (vs.length > 0) this.add(vs, end.frame, conn.id, null);
  }
  private add(vs: readonly Violation[], frame: number, conn: number | null, dir: Direction | null): void {
    for (const v of vs) {
      const i = reportRuleOf(v);
      if (i < 0) {
        this.unmapped++;
        continue;
      }
      this.broken[i]!++;
      let list = this.occurrences.get(i);
      if (list === undefined) {
        list = [];
        this.occurrences.set(i, list);
      }
      if (list.length < OCCURRENCES_KEPT) list.push({ frame, conn, dir, message: v.message });
    }
  }
}

export type CoverageStatus = 'passed' | 'broken' | 'not-exercised' | 'not-checked';

export interface CoverageRow {
  rule: ReportRule;
  status: CoverageStatus;
  checked: number;
  broken: number;
  occurrences: readonly Occurrence[];
}

/** One row per report rule: broken (a violation cites it), passed (evaluated, none), not exercised, not checked. */
export function coverageRows(checked: Float64Array, c: CoverageCollector): CoverageRow[] {
  return REPORT_RULES.map((rule) => {
    const broken = c.broken[rule.index]!;
    const n = Math.max(checked[rule.index]!, broken);
    const status: CoverageStatus = broken > 0 ? 'broken' : !rule.implemented ? 'not-checked' : n > 0 ? 'passed' : 'not-exercised';
    return { rule, status, checked: n, broken, occurrences: c.occurrences.get(rule.index) ?? [] };
  });
}

/** Why a rule was not exercised, for the reports' skipped entries. */
export function notExercisedReason(r: ReportRule): string {
  if (!r.implemented) return `not checked by mqtt-dissect: ${r.why ?? 'no reason recorded'}`;
  const e = r.entry;
  if (e === null) return 'no TLS connection in the capture';
  if (e.area === 'WEBSOCKET') return 'no MQTT over WebSocket in the capture';
  const types = RULE_TYPES[e.key] ?? AREA_TYPES[e.area] ?? 0;
  const names = types === ALL ? 'packet' : PACKET_TYPES.filter((p) => (types & (1 << p.type)) !== 0).map((p) => p.name).join(' / ');
  return `no ${names} of MQTT ${e.versions.join(' / ')} in the capture${SESSIONS_STAGE_KEYS.has(e.key) ? ' (or the sessions stage was off)' : ''}`;
}
