/** `explain`: the annotated walk-through for bytes pasted from anywhere, one or more packets. */
import type { ChalkInstance } from 'chalk';
import { decodePacket } from '../mqtt/decoder.js';
import { MqttFramer, type FramedPacket, type FramerEvent } from '../mqtt/framer.js';
import { CONNECT, PACKET_TYPES } from '../mqtt/tables.js';
import { VERSION_NAME, type ProtocolLevel } from '../mqtt/types.js';
import { escapeText } from '../render/escape.js';
import { payloadLimit } from '../render/fields.js';
import { annotatedHex } from '../render/hex.js';
import { terminalSafeJson, violationJson } from '../render/json.js';
import { fieldsText } from '../render/ndjson.js';
import { violationText } from '../render/text.js';
import { DialectStage, type DialectMode } from '../dialects/stage.js';
import type { DecodeBinding } from '../dialects/decoders/bindings.js';
import type { PacketRecord, PacketSink } from '../mqtt/connection-decoder.js';
import { checkPacketAlone } from '../rules/engine.js';
import type { Connection } from '../tcp/types.js';

export interface ExplainOptions {
  level: ProtocolLevel | undefined;
  json: boolean;
  chalk: ChalkInstance;
  full: boolean;
  redact: boolean;
  dialect?: DialectMode;
  /** --decode, --decode-file: payload formats bound to topic filters. */
  decode?: readonly DecodeBinding[];
  /** Filled with what was found: findings by severity and framing events (bytes that are no whole packet). */
  stats?: ExplainStats;
  /** Also hands each packet, with its field tree, to this sink (`explain --html`: the HTML page's packet views). */
  page?: PacketSink;
  /** Framing events as one-line messages (for the page, which has no other place for them). */
  eventNotes?: string[];
}

export interface ExplainStats {
  errors: number;
  warnings: number;
  /** Framing events: bytes left over, a packet cut short. */
  events: number;
  /** The level taken without a CONNECT or --protocol-version because only it decodes cleanly. */
  detectedLevel?: ProtocolLevel;
}

/** How a packet decodes at a level: the packet, its findings, and whether it decoded without any. */
function decodeAt(bytes: Uint8Array, level: ProtocolLevel, tree: boolean) {
  const type = bytes[0]! >> 4;
  const dir = directionOf(type, level);
  const decoded = decodePacket(bytes, { level, dir, tree });
  const violations = checkPacketAlone(bytes, decoded, dir);
  return { dir, decoded, violations, clean: decoded.problems.length === 0 && violations.length === 0 };
}

/** Pasted bytes have no addresses: a stand-in connection lets the dialect stage see them as one conversation. */
const PASTED: Connection = {
  id: 0, clientIp: 'pasted', clientPort: 0, serverIp: 'pasted', serverPort: 0, client: 'pasted', server: 'pasted',
  sawSyn: true, firstFrame: 0, startSec: 0, startNsec: 0, tls: false, tcpStream: null,
};

/** Pasted bytes carry no direction: the packet type decides where only one side may send it. */
function directionOf(type: number, level: ProtocolLevel): 'c2s' | 's2c' | null {
  const d = PACKET_TYPES[type]?.direction[level];
  return d === 'c2s' || d === 's2c' ? d : null;
}

export function explainBytes(bytes: Uint8Array, o: ExplainOptions): string[] {
  const lines: string[] = [];
  const packets: FramedPacket[] = [];
  const events: FramerEvent[] = [];
  const framer = new MqttFramer({ packet: (p) => packets.push(p), event: (e) => events.push(e) }, { startUnsynced: false });
  framer.push(bytes, 0, 0, 0);
  framer.end(0);
  let level: ProtocolLevel = o.level ?? 4;
  let levelKnown = o.level !== undefined;
  /** Set when the level was chosen because only it decodes the bytes cleanly (no CONNECT, no --protocol-version). */
  let detected = false;
  let enriched: PacketRecord | null = null;
  const dialects = new DialectStage(
    { open: () => {}, close: () => {}, event: () => {}, packet: (rec) => { enriched = rec; } },
    { dialect: o.dialect ?? 'auto', tree: !o.json, ...(o.decode !== undefined && o.decode.length > 0 ? { decode: o.decode } : {}) },
  );
  dialects.open(PASTED);
  o.page?.open(PASTED);
  packets.forEach((p, index) => {
    const type = p.bytes[0]! >> 4;
    let at = decodeAt(p.bytes, level, !o.json);
    if (type === CONNECT) {
      level = at.decoded.level;
      levelKnown = true;
      detected = false;
    } else if (!levelKnown && !detected && !at.clean) {
      // No CONNECT says the level: the other one is taken when only it decodes the packet without problems.
      const other = decodeAt(p.bytes, level === 5 ? 4 : 5, !o.json);
      if (other.clean) {
        at = other;
        level = other.decoded.level;
        detected = true;
        if (o.stats) o.stats.detectedLevel = level;
      }
    }
    const { dir, decoded } = at;
    const rec: PacketRecord = {
      conn: PASTED, dir: dir ?? 'c2s', frame: index, frames: [index], timeSec: 0, timeNsec: 0, bytes: p.bytes, decoded,
      levelInferred: !levelKnown, streamOffset: p.streamOffset, violations: at.violations,
    };
    enriched = null;
    dialects.packet(rec);
    const { violations } = (enriched ?? rec) as PacketRecord;
    o.page?.packet((enriched ?? rec) as PacketRecord);
    if (o.stats) for (const v of violations) if (v.severity === 'error') o.stats.errors++; else if (v.severity === 'warning') o.stats.warnings++;
    const d = decoded;
    if (o.json) {
      const head = JSON.stringify({
        kind: 'packet', index, offset: p.streamOffset, version: VERSION_NAME[d.level], versionInferred: !levelKnown, type: d.typeName, length: d.length,
      });
      const fields = fieldsText(d, { redact: o.redact, payloadLimit: payloadLimit(o.full) });
      lines.push(terminalSafeJson(`${head.slice(0, -1)},"fields":${fields},"violations":${JSON.stringify(violations.map(violationJson))}}`));
      return;
    }
    const { chalk } = o;
    const other = VERSION_NAME[d.level === 5 ? 4 : 5];
    const version = `MQTT ${VERSION_NAME[d.level]}${levelKnown ? '' : detected ? `, detected: no CONNECT given, and as ${other} the bytes have problems` : ', assumed: no CONNECT given (--protocol-version sets it)'}`;
    lines.push(chalk.bold(`${d.typeName} (${d.length} byte${d.length === 1 ? '' : 's'} at offset ${p.streamOffset}, ${version})`));
    if (d.tree) lines.push(...annotatedHex(p.bytes, d.tree, violations, { chalk, full: o.full, redact: o.redact }));
    else for (const v of violations) lines.push(`  ${violationText(chalk, v)}`);
    lines.push('');
  });
  dialects.close(PASTED, { frame: 0, timeSec: 0, timeNsec: 0, cause: 'capture-end', by: null, finC2s: false, finS2c: false });
  if (o.stats) o.stats.events += events.length;
  if (o.eventNotes) for (const e of events) o.eventNotes.push(`${e.event}: ${e.message}`);
  for (const e of events) {
    lines.push(o.json
      ? terminalSafeJson(JSON.stringify({ kind: 'event', event: e.event, ...(e.bytes !== undefined ? { bytes: e.bytes } : {}), message: e.message }))
      : o.chalk.yellow(`! ${e.event}: ${escapeText(e.message)}`));
  }
  return lines;
}
