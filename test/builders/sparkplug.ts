/**
 * Sparkplug B test parts: payloads made by the reference encoder (sparkplug-payload, the Eclipse Tahu JavaScript
 * library), and a harness that feeds MQTT packets of several connections through the dialect stage the way the
 * pipeline does, collecting what it hands on.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { sparkplugTypes } from '../../src/dialects/sparkplug/schema.js';
import { DialectStage } from '../../src/dialects/stage.js';
import type { PacketRecord, Violation } from '../../src/mqtt/connection-decoder.js';
import { decodePacket } from '../../src/mqtt/decoder.js';
import type { ProtocolLevel } from '../../src/mqtt/types.js';
import { closeViolations } from '../../src/rules/close.js';
import type { Connection, ConnectionEnd, Direction } from '../../src/tcp/types.js';
import { makeConn } from './rules-harness.js';

const require = createRequire(import.meta.url);
interface SparkplugPayloadLib {
  encodePayload(p: unknown): Uint8Array;
  decodePayload(b: Uint8Array): Record<string, unknown>;
}
// sparkplug-payload is CommonJS without an ESM entry; its get() returns the codec of one namespace.
const lib = (require('sparkplug-payload') as { get(ns: string): SparkplugPayloadLib }).get('spBv1.0');

export interface SpMetricIn {
  name?: string;
  alias?: number;
  timestamp?: number;
  type?: string;
  value?: unknown;
  isNull?: boolean;
  properties?: Record<string, { type: string; value: unknown }>;
}

export interface SpPayloadIn {
  timestamp?: number;
  seq?: number;
  metrics?: SpMetricIn[];
  uuid?: string;
}

/** Encodes with the reference encoder. */
export function spEncode(p: SpPayloadIn): Uint8Array {
  return new Uint8Array(lib.encodePayload(p));
}

/**
 * Encodes fields as given, by protobufjs with the schema's field names (int_value, float_value, …): for what the
 * reference encoder cannot write (a metric without a data type, as NDATA by alias should be; wrong value fields).
 */
export function spRaw(p: Record<string, unknown>): Uint8Array {
  const t = sparkplugTypes().payload;
  return t.encode(t.fromObject(p)).finish();
}

/** Decodes with the reference decoder. */
export function spReferenceDecode(b: Uint8Array): Record<string, unknown> {
  return lib.decodePayload(b);
}

/** A metric of captures/real-sparkplug.expected.ndjson, as the client passed it to the encoder. */
export interface ExpectedMetric {
  name?: string;
  alias?: number;
  type: string;
  value: unknown;
}

/** One line of captures/real-sparkplug.expected.ndjson: what a Sparkplug client of the capture published. */
export interface ExpectedPublish {
  client: string;
  message_type: string;
  topic: string;
  /** The message is a CONNECT's Will (published by the broker, if ever). */
  will?: boolean;
  qos: number;
  retain: boolean;
  /** Sparkplug payloads as passed to the encoder; STATE payloads as JSON. */
  payload: { seq?: number; timestamp?: number; metrics?: ExpectedMetric[]; online?: boolean } & Record<string, unknown>;
  /** The encoder's bytes (protobuf payloads) … */
  hex?: string;
  /** … or the text (STATE). */
  text?: string;
}

/** The clients' own record of what they published in captures/real-sparkplug.pcap. */
export function readExpectedPublishes(): ExpectedPublish[] {
  return readFileSync(join(import.meta.dirname, '..', '..', 'captures', 'real-sparkplug.expected.ndjson'), 'utf8')
    .trim().split('\n').map((l) => JSON.parse(l) as ExpectedPublish);
}

export class SpHarness {
  readonly packets: PacketRecord[] = [];
  readonly closeFindings: Violation[] = [];
  readonly stage: DialectStage;
  private readonly conns = new Map<number, { conn: Connection; level: ProtocolLevel }>();
  private frame = 0;

  /** `someConnections`: the run sees only some connections (--shard K/N, N > 1). */
  constructor(tree = false, someConnections = false) {
    const packets = this.packets;
    const closes = this.closeFindings;
    this.stage = new DialectStage({
      open() {}, packet(rec) { packets.push(rec); }, event() {},
      close(_c, end) { closes.push(...closeViolations(end)); },
    }, { dialect: 'auto', tree, ...(someConnections ? { someConnections } : {}) });
  }

  send(id: number, dir: Direction, bytes: Uint8Array): PacketRecord {
    let c = this.conns.get(id);
    if (c === undefined) {
      c = { conn: makeConn(id), level: 4 };
      this.conns.set(id, c);
      this.stage.open(c.conn);
    }
    const decoded = decodePacket(bytes, { level: c.level, dir, tree: true });
    if (dir === 'c2s' && decoded.type === 1) c.level = decoded.level;
    const f = ++this.frame;
    const rec: PacketRecord = { conn: c.conn, dir, frame: f, frames: [f], timeSec: f, timeNsec: 0, bytes, decoded, levelInferred: false, streamOffset: 0, violations: [] };
    this.stage.packet(rec);
    return rec;
  }

  c(id: number, bytes: Uint8Array): PacketRecord { return this.send(id, 'c2s', bytes); }
  s(id: number, bytes: Uint8Array): PacketRecord { return this.send(id, 's2c', bytes); }

  end(id: number): void {
    const c = this.conns.get(id);
    if (!c) throw new Error(`no connection ${id}`);
    this.conns.delete(id);
    const end: ConnectionEnd = { frame: ++this.frame, timeSec: this.frame, timeNsec: 0, cause: 'fin', by: 'c2s', finC2s: true, finS2c: true };
    this.stage.close(c.conn, end);
  }

  /** Every Sparkplug finding (packets and closes). */
  findings(): Violation[] {
    return [...this.packets.flatMap((p) => p.violations), ...this.closeFindings].filter((v) => v.id.startsWith('tck-id-') || v.id.startsWith('SPARKPLUG-'));
  }

  ids(): string[] {
    return this.findings().map((v) => v.id);
  }
}
