/**
 * `mqtt-dissect trace --receivers TOPIC`: who the broker model says would receive a PUBLISH to TOPIC, as text lines or
 * NDJSON records (docs/json.md, "Receiver records").
 */
import type { ChalkInstance } from 'chalk';
import type { Receiver, ReceiversAnswer, ReceiverSubscription } from '../sessions/records.js';
import { escapeText } from './escape.js';
import { isoTime } from './format.js';
import { terminalSafeJson } from './json.js';

/** The ClientIds listed at most in the line of clients the model cannot see into. */
const MAX_UNKNOWN_LISTED = 20;
/** Ended subscriptions listed at most (the count says how many more). */
const MAX_PAST_LISTED = 200;

const at = (sec: number): string => isoTime(Math.floor(sec), Math.round((sec - Math.floor(sec)) * 1e6) * 1000);

const quoted = (s: string): string => escapeText(JSON.stringify(s));

function reach(r: Receiver): string {
  if (r.connected) return 'connected: delivered now';
  return r.persists ? 'offline, session kept: QoS 1 and 2 wait for its next connection' : 'offline, no session: not delivered';
}

export function receiversLines(a: ReceiversAnswer, from: string | null, chalk: ChalkInstance): string[] {
  const n = a.receivers.length;
  const out = [`${chalk.bold('PUBLISH')} to ${chalk.cyan(quoted(a.topic))}${from !== null ? ` from ${quoted(from)}` : ''}: ${n} client${n === 1 ? '' : 's'} subscribed (the subscriptions the capture showed, as it left them)`];
  const groups = new Map<string, string[]>();
  for (const r of a.receivers) {
    const filters = r.subscriptions.map((s) => `${escapeText(s.filter)} (QoS ${s.qos}${s.noLocal ? ', No Local' : ''})`).join(', ');
    out.push(`  ${quoted(r.clientId)} at QoS ${r.maxQos} at most, ${reach(r)}; ${filters}${r.complete ? '' : chalk.yellow(' [its session began before the capture: other subscriptions unknown]')}`);
    for (const s of r.subscriptions) {
      if (s.shareGroup === null) continue;
      const key = `${s.shareGroup}\u0000${s.filter}`;
      const members = groups.get(key) ?? [];
      if (!members.includes(r.clientId)) members.push(r.clientId);
      groups.set(key, members);
    }
  }
  for (const [key, members] of groups) {
    const [group, filter] = key.split('\u0000') as [string, string];
    out.push(`  share group ${quoted(group)} (${escapeText(filter)}): each message goes to one of ${members.map(quoted).join(', ')}`);
  }
  if (a.past.length > 0) {
    out.push(`Subscribed during the capture, no longer at its end (${a.past.length}${a.pastCapped ? '+' : ''}):`);
    for (const p of a.past.slice(0, MAX_PAST_LISTED)) {
      out.push(`  ${quoted(p.clientId)} ${escapeText(p.filter)} (QoS ${p.qos}${p.noLocal ? ', No Local' : ''}) from ${at(p.timeSec)} to ${at(p.untilSec)}`);
    }
    if (a.past.length > MAX_PAST_LISTED) out.push(`  and ${a.past.length - MAX_PAST_LISTED} more`);
    if (a.pastCapped) out.push(chalk.yellow('  (more subscriptions ended than the history keeps: later ones are not listed)'));
  }
  if (a.unknown.length > 0) {
    const shown = a.unknown.slice(0, MAX_UNKNOWN_LISTED).map(quoted).join(', ');
    const more = a.unknown.length > MAX_UNKNOWN_LISTED ? ` and ${a.unknown.length - MAX_UNKNOWN_LISTED} more` : '';
    out.push(chalk.yellow(`  ${a.unknown.length} more client${a.unknown.length === 1 ? '' : 's'} resumed sessions from before the capture and may hold matching subscriptions it never showed: ${shown}${more}`));
  }
  if (a.capped) out.push(chalk.yellow(`  the model followed its first ${a.clients} ClientIds only: later clients are not counted`));
  return out;
}

const subscriptionObject = (s: ReceiverSubscription): Record<string, unknown> => ({ filter: s.filter, qos: s.qos, shareGroup: s.shareGroup, noLocal: s.noLocal, since: at(s.timeSec) });

/** One `receiver` record per client, then one `receivers` record with what the model could not see (docs/json.md). */
export function receiversJson(a: ReceiversAnswer): string[] {
  const out = a.receivers.map((r) => terminalSafeJson(JSON.stringify({
    kind: 'receiver', topic: a.topic, clientId: r.clientId, maxQos: r.maxQos, connected: r.connected, persists: r.persists, complete: r.complete,
    subscriptions: r.subscriptions.map(subscriptionObject),
  })));
  out.push(terminalSafeJson(JSON.stringify({
    kind: 'receivers', topic: a.topic, receivers: a.receivers.length,
    past: a.past.map((p) => ({ clientId: p.clientId, ...subscriptionObject(p), until: at(p.untilSec) })), pastCapped: a.pastCapped,
    unknown: a.unknown, clients: a.clients, capped: a.capped,
  })));
  return out;
}
