/**
 * `mqtt-dissect trace`: one text block per message, like a sequence diagram turned sideways: the publisher's PUBLISH,
 * then each delivery with its latency, then the deliveries that may be this message or another.
 */
import type { ChalkInstance } from 'chalk';
import type { MessageRecord } from '../sessions/records.js';
import { escapeText } from './escape.js';
import { isoTime } from './format.js';

function who(conn: number, clientId: string | null): string {
  return clientId === null ? `conn ${conn}` : `conn ${conn} ${JSON.stringify(clientId.length > 64 ? `${clientId.slice(0, 64)}…` : clientId)}`;
}

export function traceLines(r: MessageRecord, chalk: ChalkInstance): string[] {
  const head = `${String(r.frame).padStart(6)} ${isoTime(r.timeSec, r.timeNsec)} ${chalk.bold('PUBLISH')} ${escapeText(who(r.conn, r.clientId))} → ${chalk.cyan(escapeText(r.topic))}`
    + ` qos=${r.qos}${r.retain ? ' retain' : ''} ${r.payloadLength} bytes ${chalk.dim(`fnv1a ${r.payloadHash}`)}`;
  const out = [head];
  for (const d of r.deliveries) {
    out.push(`${String(d.frame).padStart(6)}   └→ ${escapeText(who(d.conn, d.clientId))} qos=${d.qos} ${chalk.green(`+${d.latencyMs.toFixed(3)} ms`)}`);
  }
  for (const a of r.ambiguous) {
    out.push(`${String(a.frame).padStart(6)}   ?→ ${escapeText(who(a.conn, a.clientId))} ${chalk.yellow(`this message or ${a.candidates - 1} other${a.candidates === 2 ? '' : 's'} with the same topic and payload`)}`);
  }
  if (r.deliveries.length === 0 && r.ambiguous.length === 0) out.push(chalk.dim('         (no delivery in the capture)'));
  return out;
}
