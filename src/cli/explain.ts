/** `explain`: the annotated walk-through for bytes pasted from anywhere, one or more packets. */
import type { ChalkInstance } from 'chalk';
import { decodePacket } from '../mqtt/decoder.js';
import { MqttFramer, type FramedPacket, type FramerEvent } from '../mqtt/framer.js';
import { VERSION_NAME, type ProtocolLevel } from '../mqtt/types.js';
import { escapeText } from '../render/escape.js';
import { redactFields } from '../render/fields.js';
import { annotatedHex } from '../render/hex.js';
import { violationJson } from '../render/json.js';
import { violationText } from '../render/text.js';
import { checkPacketAlone } from '../rules/engine.js';

export interface ExplainOptions {
  level: ProtocolLevel | undefined;
  json: boolean;
  chalk: ChalkInstance;
  full: boolean;
  redact: boolean;
}

/** Packets only a client sends, and only a server sends: pasted bytes carry no direction, so the type decides. */
const CLIENT_ONLY = new Set([1, 8, 10, 12]);
const SERVER_ONLY = new Set([2, 9, 11, 13]);

export function explainBytes(bytes: Uint8Array, o: ExplainOptions): string[] {
  const lines: string[] = [];
  const packets: FramedPacket[] = [];
  const events: FramerEvent[] = [];
  const framer = new MqttFramer({ packet: (p) => packets.push(p), event: (e) => events.push(e) }, { startUnsynced: false });
  framer.push(bytes, 0, 0, 0);
  framer.end(0);
  let level: ProtocolLevel = o.level ?? 4;
  let levelKnown = o.level !== undefined;
  packets.forEach((p, index) => {
    const type = p.bytes[0]! >> 4;
    const dir = CLIENT_ONLY.has(type) ? 'c2s' : SERVER_ONLY.has(type) ? 's2c' : null;
    const d = decodePacket(p.bytes, { level, dir, tree: !o.json });
    if (type === 1) {
      level = d.level;
      levelKnown = true;
    }
    const violations = checkPacketAlone(p.bytes, d, dir);
    if (o.json) {
      lines.push(JSON.stringify({
        kind: 'packet', index, offset: p.streamOffset, version: VERSION_NAME[d.level], versionInferred: !levelKnown,
        type: d.typeName, length: d.length, fields: o.redact ? redactFields(d.fields) : d.fields, violations: violations.map(violationJson),
      }));
      return;
    }
    const { chalk } = o;
    const version = `MQTT ${VERSION_NAME[d.level]}${levelKnown ? '' : ', assumed: no CONNECT given (--protocol-version sets it)'}`;
    lines.push(chalk.bold(`${d.typeName} (${d.length} bytes at offset ${p.streamOffset}, ${version})`));
    if (d.tree) lines.push(...annotatedHex(p.bytes, d.tree, violations, { chalk, full: o.full, redact: o.redact }));
    else for (const v of violations) lines.push(`  ${violationText(chalk, v)}`);
    lines.push('');
  });
  for (const e of events) {
    lines.push(o.json
      ? JSON.stringify({ kind: 'event', event: e.event, ...(e.bytes !== undefined ? { bytes: e.bytes } : {}), message: e.message })
      : o.chalk.yellow(`! ${e.event}: ${escapeText(e.message)}`));
  }
  return lines;
}
