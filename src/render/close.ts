/**
 * The close record of a connection (NDJSON `kind:"close"`, and a line in the text view): who ended it and how, when,
 * the client's silence before it against the Keep Alive in force, what preceded it and whether the Will was due.
 * Keys are declared once in CLOSE_KEYS (docs/json.md lists them; test/render-close.test.ts keeps the two equal).
 */
import type { ChalkInstance } from 'chalk';
import { closeViolations, endSeconds, sessionEnd, type SessionEnd } from '../rules/close.js';
import { sessionsClose, type WillOutcome } from '../sessions/records.js';
import type { Connection, ConnectionEnd, Direction } from '../tcp/types.js';
import { escapeText } from './escape.js';
import { isoTime, relativeSeconds } from './format.js';
import { terminalSafeJson, violationJson } from './json.js';

/** Every key of a close record, in output order, with what it means (the docs table). */
export const CLOSE_KEYS: readonly (readonly [key: string, type: string, meaning: string])[] = [
  ['kind', '`"close"`', ''],
  ['frame', 'number', 'the frame that ended the connection (the last frame of the capture when it was still open)'],
  ['time', 'string', 'ISO-8601 UTC time of that frame'],
  ['conn', 'number', 'connection number, as in packet records'],
  ['tcpStream', 'number \\| null', 'tshark\'s `tcp.stream` number, as in packet records'],
  ['client', 'string', '`ip:port` of the client'],
  ['server', 'string', '`ip:port` of the server'],
  ['transport', 'string', 'only on a connection carried by stream layers: `"websocket"` (MQTT over WebSocket), as in packet records'],
  ['by', '`"client"` \\| `"server"` \\| null', 'who ended it: the sender of the first DISCONNECT, else of the RST or first FIN; null when neither did (capture end, eviction, reuse)'],
  ['how', 'string', '`"disconnect"` (an MQTT DISCONNECT, then the TCP close), `"fin"`, `"rst"`, `"capture-end"` (still open when the capture ended), `"evicted"` (dropped to stay within the connection budget), `"reuse"` (a new SYN on the same 4-tuple)'],
  ['tcp', 'string', 'how the TCP stream ended: `"fin"`, `"rst"`, `"capture-end"`, `"evicted"`, `"reuse"`'],
  ['why', 'string', 'why it ended, first that applies: `"capture-end"`, `"evicted"`, `"takeover"` (a later CONNECT of the same ClientId; sessions stage), `"refused"` (a refusing CONNACK), `"client-disconnect"` / `"server-disconnect"` (an MQTT DISCONNECT; see `reasonCode`), `"reuse"`, `"keep-alive"` (the server closed it after the client was silent past 1.5 × Keep Alive), `"client-fin"`, `"client-rst"`, `"server-fin"`, `"server-rst"` (a TCP close without DISCONNECT; `silenceSec` says after how long a silence), `"fin"` / `"rst"` (by neither side known)'],
  ['disconnectFrame', 'number', 'only with `how:"disconnect"`: the frame of that DISCONNECT'],
  ['reasonCode', 'number', 'only with a 5.0 DISCONNECT: its reason code'],
  ['reasonCodeName', 'string', 'only with a 5.0 DISCONNECT: the reason code\'s name'],
  ['reasonString', 'string', 'only when that DISCONNECT carries a Reason String'],
  ['durationSec', 'number', 'seconds from the connection\'s first frame to the close (microseconds)'],
  ['silenceSec', 'number \\| null', 'seconds from the client\'s last MQTT packet to the close; null when none was seen'],
  ['keepAlive', 'number \\| null', 'the Keep Alive in force, seconds (0: off); null without a CONNECT'],
  ['keepAliveFrom', '`"connect"` \\| `"connack"` \\| null', 'where it came from (5.0 Server Keep Alive: `"connack"`)'],
  ['keepAliveExpired', 'boolean', 'the client\'s silence before the close passed 1.5 × Keep Alive'],
  ['connackCode', 'number \\| null', 'the CONNACK return code (3.x) or reason code (5.0); null without a CONNACK'],
  ['connackName', 'string \\| null', 'its name'],
  ['refused', 'boolean', 'the CONNACK refused the connection'],
  ['serverDisconnect', 'boolean', 'the server sent a DISCONNECT (5.0)'],
  ['willDue', 'boolean \\| null', 'the client\'s Will was due: its accepted CONNECT had a Will and the connection ended without the client\'s normal DISCONNECT (5.0: a DISCONNECT 0x00; 0x04 and the error codes leave it due); null without a CONNECT'],
  ['takeover', '{conn, frame} \\| null', 'the connection whose CONNECT took this one\'s ClientId over (`frame`: its CONNACK); null when none did. Absent with `--no-sessions` or `--shard`, like the keys below'],
  ['will', 'string \\| null', 'what the sessions stage made of the Will: `"none"` (no Will in the CONNECT), `"fired"` (due and published), `"fired-early"` (5.0: before its Will Delay passed), `"fired-not-due"` (published after a normal DISCONNECT, a resumed session within the Will Delay, or a refused CONNECT), `"should-fire-not-seen"` (due; a subscriber of the Will Topic in the capture got nothing), `"not-fired"` (not due, and none seen), `"due-unobserved"` (due; no subscriber in the capture to tell), `"cancelled"` (5.0: the session reconnected within the Will Delay), `"pending"` (the capture ended first), `"open"` (still open at the end); null without a CONNECT. A close with a Will is written when this is decided: up to 5 s (plus the Will Delay) of capture time after the close'],
  ['willDeliveries', 'object[]', 'the Will\'s PUBLISH packets the broker sent: `{conn, frame, clientId, qos, afterCloseMs}` (milliseconds from the close; negative just before it), at most 64'],
  ['violations', 'object[]', 'findings only the close shows (a keep-alive silence that ran to the close, the Will audit)'],
];

const ROLE: Record<Direction, 'client' | 'server'> = { c2s: 'client', s2c: 'server' };

const NO_FACTS: SessionEnd = {
  level: 0, by: null, disconnect: null, connackCode: null, connackName: null, refused: false, serverDisconnect: false,
  keepAlive: null, keepAliveFromServer: false, silenceSec: null, keepAliveExpired: false, willDue: null,
};

function micro(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** The close as a plain object with the keys of CLOSE_KEYS, in that order. */
export function closeObject(conn: Connection, end: ConnectionEnd): Record<string, unknown> {
  const f = sessionEnd(end) ?? { ...NO_FACTS, by: end.by };
  const d = f.disconnect;
  const o: Record<string, unknown> = {
    kind: 'close',
    frame: end.frame,
    time: isoTime(end.timeSec, end.timeNsec),
    conn: Number.isFinite(conn.id) ? conn.id : null,
    tcpStream: conn.tcpStream,
    client: conn.client,
    server: conn.server,
    ...(conn.transport !== undefined ? { transport: conn.transport.join('+') } : {}),
    by: f.by === null ? null : ROLE[f.by],
    how: d !== null ? 'disconnect' : end.cause,
    tcp: end.cause,
    why: whyEnded(end, f),
  };
  if (d !== null) {
    o.disconnectFrame = d.frame;
    if (d.reasonCode !== undefined) o.reasonCode = d.reasonCode;
    if (d.reasonCodeName !== undefined) o.reasonCodeName = d.reasonCodeName;
    if (d.reasonString !== undefined) o.reasonString = d.reasonString;
  }
  o.durationSec = micro(Math.max(0, endSeconds(end) - (conn.startSec + conn.startNsec / 1e9)));
  o.silenceSec = f.silenceSec === null ? null : micro(f.silenceSec);
  o.keepAlive = f.keepAlive;
  o.keepAliveFrom = f.keepAlive === null ? null : f.keepAliveFromServer ? 'connack' : 'connect';
  o.keepAliveExpired = f.keepAliveExpired;
  o.connackCode = f.connackCode;
  o.connackName = f.connackName;
  o.refused = f.refused;
  o.serverDisconnect = f.serverDisconnect;
  o.willDue = f.willDue;
  const sc = sessionsClose(end);
  if (sc.will !== undefined) {
    o.takeover = sc.takeover ?? null;
    o.will = sc.will;
    o.willDeliveries = sc.willDeliveries ?? [];
  }
  o.violations = closeViolations(end).map(violationJson);
  return o;
}

/** The one cause of the close record's `why` key. */
function whyEnded(end: ConnectionEnd, f: SessionEnd): string {
  if (end.cause === 'capture-end' || end.cause === 'evicted') return end.cause;
  if (sessionsClose(end).takeover) return 'takeover';
  if (f.refused) return 'refused';
  if (f.disconnect !== null) return f.disconnect.dir === 'c2s' ? 'client-disconnect' : 'server-disconnect';
  if (end.cause === 'reuse') return end.cause;
  if (f.keepAliveExpired && f.by === 's2c') return 'keep-alive';
  return f.by === null ? end.cause : `${ROLE[f.by]}-${end.cause}`;
}

export function closeJson(conn: Connection, end: ConnectionEnd): string {
  return terminalSafeJson(JSON.stringify(closeObject(conn, end)));
}

function hex(v: number): string {
  return '0x' + v.toString(16).padStart(2, '0');
}

/** "DISCONNECT by client", "RST by server", "open at end": the summary table's end column. */
export function endText(end: ConnectionEnd): string {
  const f = sessionEnd(end);
  const by = f?.by ?? end.by;
  const who = by === null ? '' : ` by ${ROLE[by]}`;
  const tk = sessionsClose(end).takeover;
  if (tk && end.cause !== 'capture-end' && end.cause !== 'evicted') return `taken over (conn ${tk.conn})`;
  if (f?.disconnect) return `DISCONNECT${f.disconnect.reasonCode !== undefined && f.disconnect.reasonCode !== 0 ? ` ${hex(f.disconnect.reasonCode)}` : ''}${who}`;
  switch (end.cause) {
    case 'fin': return `FIN${who}`;
    case 'rst': return `RST${who}`;
    case 'capture-end': return 'open at end';
    case 'evicted': return 'evicted';
    case 'reuse': return 'port reused';
  }
}

/** "accepted", "refused 0x05", "-": the summary table's CONNACK column. */
export function connackText(end: ConnectionEnd | undefined): string {
  const f = end === undefined ? undefined : sessionEnd(end);
  if (!f || f.connackCode === null) return '-';
  return f.refused ? `refused ${hex(f.connackCode)}` : 'accepted';
}

function secs(x: number): string {
  return x < 10 ? x.toFixed(3).replace(/\.?0+$/, '') || '0' : x.toFixed(1);
}

/** The close as one human line (without the frame column). */
export function closeText(conn: Connection, end: ConnectionEnd): string {
  const f = sessionEnd(end);
  const parts: string[] = [];
  const by = f?.by ?? end.by;
  const who = by === null ? '' : `the ${ROLE[by]} `;
  const d = f?.disconnect;
  if (d) {
    const rc = d.reasonCode !== undefined ? ` ${hex(d.reasonCode)}${d.reasonCodeName ? ` ${d.reasonCodeName}` : ''}` : '';
    const rs = d.reasonString !== undefined ? ` "${d.reasonString}"` : '';
    parts.push(`${who}sent DISCONNECT${rc}${rs} in frame ${d.frame}, then ${tcpText(end)}`);
  } else if (end.cause === 'capture-end') {
    parts.push('still open at the end of the capture');
  } else if (end.cause === 'evicted') {
    parts.push('dropped to stay within the connection budget');
  } else if (end.cause === 'reuse') {
    parts.push('ended by a new SYN on the same ports');
  } else {
    parts.push(`${who}closed it with ${end.cause === 'rst' ? 'RST' : 'FIN'}`);
  }
  parts.push(`after ${relativeSeconds(end.timeSec, end.timeNsec, conn.startSec, conn.startNsec)} s`);
  if (f && f.silenceSec !== null) {
    const ka = f.keepAlive;
    const kaText = ka === null ? '' : ka === 0 ? ', Keep Alive off' : `, Keep Alive ${ka} s${f.keepAliveFromServer ? ' (Server Keep Alive)' : ''}${f.keepAliveExpired ? ', expired' : ''}`;
    parts.push(`client silent ${secs(f.silenceSec)} s before${kaText}`);
  }
  if (f?.refused) parts.push(`after a refusing CONNACK${f.connackCode !== null ? ` ${hex(f.connackCode)}` : ''}${f.connackName ? ` ${f.connackName}` : ''}`);
  if (f?.serverDisconnect && !(d && f.by === 's2c')) parts.push('after a server DISCONNECT');
  const sc = sessionsClose(end);
  if (sc.takeover) parts.push(`taken over by conn ${sc.takeover.conn} (frame ${sc.takeover.frame})`);
  const will = sc.will === undefined || sc.will === null || sc.will === 'none' ? null : WILL_TEXT[sc.will];
  if (will !== null) {
    const ds = sc.willDeliveries ?? [];
    parts.push(ds.length > 0 ? `${will} (frame${ds.length === 1 ? '' : 's'} ${ds.slice(0, 4).map((x) => x.frame).join(', ')}${ds.length > 4 ? ', ...' : ''})` : will);
  } else if (f?.willDue) parts.push('Will due');
  return escapeText(parts.join('; '));
}

const WILL_TEXT: Record<Exclude<WillOutcome, 'none'>, string> = {
  fired: 'Will published', 'fired-early': 'Will published before its Will Delay', 'fired-not-due': 'Will published though not due',
  'should-fire-not-seen': 'Will due, not published', 'not-fired': 'Will not published', 'due-unobserved': 'Will due (no subscriber in the capture to show it)',
  cancelled: 'Will cancelled by a reconnect', pending: 'Will due (the capture ended first)', open: 'Will held (still open)',
};

function tcpText(end: ConnectionEnd): string {
  switch (end.cause) {
    case 'fin': return 'FIN';
    case 'rst': return 'RST';
    case 'capture-end': return 'still open at the end of the capture';
    case 'evicted': return 'dropped from memory';
    case 'reuse': return 'a new SYN on the same ports';
  }
}

export function closeLine(chalk: ChalkInstance, conn: Connection, end: ConnectionEnd): string {
  const over = conn.transport === undefined ? '' : ` over ${conn.transport.join('+')}`;
  return `${String(end.frame).padStart(5)} ${chalk.cyan('- close')} ${chalk.dim(`conn ${conn.id}${streamText(conn)}${over}`)}: ${closeText(conn, end)}`;
}

/** ` (tcp.stream 3)` beside a connection number in text, so it can be found in Wireshark; empty without one. */
export function streamText(conn: Connection): string {
  return conn.tcpStream === null ? '' : ` (tcp.stream ${conn.tcpStream})`;
}
