/** NDJSON of the sessions stage's records (docs/json.md, "Message records" and "Session records"). */
import type { MessageRecord, SessionRecord, TraceRecord } from '../sessions/records.js';
import { isoTime } from './format.js';
import { terminalSafeJson } from './json.js';

export function messageObject(r: MessageRecord): Record<string, unknown> {
  return {
    kind: 'message', frame: r.frame, time: isoTime(r.timeSec, r.timeNsec), conn: r.conn, clientId: r.clientId, topic: r.topic,
    qos: r.qos, retain: r.retain, payloadLength: r.payloadLength, payloadHash: r.payloadHash, deliveries: r.deliveries, ambiguous: r.ambiguous,
  };
}

export function sessionObject(r: SessionRecord): Record<string, unknown> {
  return {
    kind: 'session', clientId: r.clientId, connections: r.connections, reconnects: r.reconnects, takeovers: r.takeovers,
    redeliveries: r.redeliveries, subscriptions: r.subscriptions,
  };
}

export function traceJson(r: TraceRecord): string {
  // Topics and ClientIds are text the capture chose: escaped for the terminal like every other record.
  return terminalSafeJson(JSON.stringify(r.kind === 'message' ? messageObject(r) : sessionObject(r)));
}
