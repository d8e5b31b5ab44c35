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
import type { PacketRecord } from '../mqtt/connection-decoder.js';
import { checkPacketAlone } from '../rules/engine.js';
import type { Connection } from '../tcp/types.js';

export interface ExplainOptions {
  level: ProtocolLevel | undefined;
  json: boolean;
  chalk: ChalkInstance;
  full: boolean;
  redact: boolean;
  dialect?: DialectMode;
}

/** Pasted bytes have no addresses: a stand-in connection lets the dialect stage see them as one conversation. */
const PASTED: Connection = {
  id: 0, clientIp: 'pasted', clientPort: 0, serverIp: 'pasted', serverPort: 0, client: 'pasted', server: 'pasted',
  sawSyn: true, firstFrame: 0, startSec: 0, startNsec: 0, tls: false,
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
  let enriched: PacketRecord | null = null;
  const dialects = new DialectStage(
    { open: () => {}, close: () => {}, event: () => {}, packet: (rec) => { enriched = rec; } },
    { dialect: o.dialect ?? 'auto', tree: !o.json },
  );
  dialects.open(PASTED);
  packets.forEach((p, index) => {
    const type = p.bytes[0]! >> 4;
    const dir = directionOf(type, level);
    const decoded = decodePacket(p.bytes, { level, dir, tree: !o.json });
    if (type === CONNECT) {
      level = decoded.level;
      levelKnown = true;
    }
    const rec: PacketRecord = {
      conn: PASTED, dir: dir ?? 'c2s', frame: index, frames: [index], timeSec: 0, timeNsec: 0, bytes: p.bytes, decoded,
      levelInferred: !levelKnown, streamOffset: p.streamOffset, violations: checkPacketAlone(p.bytes, decoded, dir),
    };
    enriched = null;
    dialects.packet(rec);
    const { violations } = (enriched ?? rec) as PacketRecord;
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
    const version = `MQTT ${VERSION_NAME[d.level]}${levelKnown ? '' : ', assumed: no CONNECT given (--protocol-version sets it)'}`;
    lines.push(chalk.bold(`${d.typeName} (${d.length} byte${d.length === 1 ? '' : 's'} at offset ${p.streamOffset}, ${version})`));
    if (d.tree) lines.push(...annotatedHex(p.bytes, d.tree, violations, { chalk, full: o.full, redact: o.redact }));
    else for (const v of violations) lines.push(`  ${violationText(chalk, v)}`);
    lines.push('');
  });
  dialects.close(PASTED, { frame: 0, timeSec: 0, timeNsec: 0, cause: 'capture-end', by: null, finC2s: false, finS2c: false });
  for (const e of events) {
    lines.push(o.json
      ? terminalSafeJson(JSON.stringify({ kind: 'event', event: e.event, ...(e.bytes !== undefined ? { bytes: e.bytes } : {}), message: e.message }))
      : o.chalk.yellow(`! ${e.event}: ${escapeText(e.message)}`));
  }
  return lines;
}
