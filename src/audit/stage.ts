/**
 * The audit stage: reads what the pipeline produced (packet records, connection facts: addresses and the transport
 * that carried each connection) and collects security observations from the checks of checks.ts. It changes nothing
 * and passes nothing on: `mqtt-dissect audit` renders its findings once the capture is read (src/render/audit.ts).
 *
 * Every table is bounded (AUDIT_LIMITS); when one is full the stage stops adding to it and says so in `limits`.
 */
import type { PacketRecord, PacketSink } from '../mqtt/connection-decoder.js';
import type { ConnackPacket, ConnectPacket, PublishPacket, SubscribePacket } from '../mqtt/packets.js';
import { CONNACK, CONNECT, PUBLISH, SUBSCRIBE } from '../mqtt/tables.js';
import { stripShare, topicMatches } from '../mqtt/topics.js';
import { fnv1a, hashHex } from '../sessions/hash.js';
import type { Connection, StreamEvent } from '../tcp/types.js';
import { AUDIT_CHECK, AUDIT_LIMITS, DEFAULT_CLIENT_ID_PREFIXES, SECRET_JSON_KEYS, type AuditCheckId, type AuditSeverity } from './checks.js';

export interface AuditFinding {
  check: AuditCheckId;
  severity: AuditSeverity;
  /** The frame that shows it (the CONNECT, the SUBSCRIBE, the CONNACK that completed a burst …). */
  frame: number;
  conn: number | null;
  /** The client's and the server's "ip:port" (null for a finding about an address or many connections). */
  src: string | null;
  dst: string | null;
  clientId?: string;
  /** What was seen, in one sentence (secrets masked unless showSecrets). */
  message: string;
}

/** A table that reached its bound: what it is and how many entries it could not take. */
export interface AuditLimit {
  table: string;
  bound: number;
  dropped: number;
}

export interface AuditOptions {
  /** Show user names, passwords and secret values instead of masking them. */
  showSecrets?: boolean;
}

interface ConnFacts {
  conn: Connection;
  clientId: string | undefined;
  username: string | undefined;
  connectFrame: number;
  /** Keep Alive of the CONNECT, judged at the CONNACK (a Server Keep Alive may replace it) or at the close. */
  keepAlive: number | undefined;
  anonymous: boolean;
}

interface Burst {
  times: number[];
  refused: number;
  finding: AuditFinding | null;
  firstFrame: number;
}

interface Credential {
  username: string;
  withPassword: boolean;
  clientIds: Set<string>;
  more: number;
  frame: number;
  conn: number;
}

interface WildcardSub {
  filter: string;
  clientId: string;
  frame: number;
  conn: Connection;
}

interface GuessableId {
  finding: AuditFinding;
  connections: number;
}

/**
 * The MQTT bytes came out of TLS. A connection on a TLS port whose MQTT is readable without decryption (plaintext MQTT
 * on 8883, the TLS-plaintext-mqtt finding) is not: its packets reach us with no 'tls' layer. An undecrypted TLS
 * connection passes no packet at all.
 */
function encrypted(conn: Connection): boolean {
  return conn.transport?.includes('tls') ?? false;
}

function carrier(conn: Connection): string {
  return conn.transport?.includes('websocket') === true ? 'plain WebSocket' : 'plain TCP';
}

/** A value shown as its first character and its length, unless secrets are shown. */
export function mask(s: string, show: boolean): string {
  if (show) return JSON.stringify(s);
  if (s.length === 0) return '"" (empty)';
  const first = String.fromCodePoint(s.codePointAt(0)!);
  return `"${first}***" (${s.length} characters)`;
}

const PEM_PRIVATE = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/;
const JSON_STRING_MEMBER = /"([A-Za-z][A-Za-z0-9_-]{0,39})"\s*:\s*"((?:[^"\\]|\\.){1,512})"/g;
const SECRET_KEYS: ReadonlySet<string> = new Set(SECRET_JSON_KEYS);

/** What in a payload's text looks like a secret: the kind and the value (for --show-secrets), or null. */
export function secretIn(text: string): { kind: string; value: string } | null {
  const pem = PEM_PRIVATE.exec(text);
  if (pem) return { kind: 'a PEM private key', value: pem[0] };
  const jwt = JWT.exec(text);
  if (jwt) {
    const header = jwt[0].slice(0, jwt[0].indexOf('.'));
    try {
      const h: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
      if (typeof h === 'object' && h !== null && 'alg' in h) return { kind: 'a JSON Web Token', value: jwt[0] };
    } catch {
      // Not a JWT header: fall through to the JSON keys.
    }
  }
  JSON_STRING_MEMBER.lastIndex = 0;
  let m: RegExpExecArray | null;
  let guard = 0;
  while ((m = JSON_STRING_MEMBER.exec(text)) !== null && guard++ < 4096) {
    const key = m[1]!.toLowerCase().replace(/[_-]/g, '');
    if (SECRET_KEYS.has(key) && m[2]!.trim() !== '') return { kind: `a JSON key "${m[1]!}" with a string value`, value: m[2]! };
  }
  return null;
}

/** Why a ClientId is guessable, or null. */
export function guessableClientId(id: string): string | null {
  if (id.length === 0) return 'it is empty (the broker assigns one, or refuses; clients reusing "" cannot keep a session)';
  if (id.length <= AUDIT_LIMITS.numericClientIdMax && /^[0-9]+$/.test(id)) return `it is ${id.length} digit${id.length === 1 ? '' : 's'} only`;
  const lower = id.toLowerCase();
  const p = DEFAULT_CLIENT_ID_PREFIXES.find((x) => lower.startsWith(x));
  return p === undefined ? null : `it starts with "${p}", a tool or library default`;
}

function seconds(sec: number, nsec: number, sinceSec: number, sinceNsec: number): number {
  return sec - sinceSec + (nsec - sinceNsec) / 1e9;
}

export class AuditStage implements PacketSink {
  private readonly show: boolean;
  private readonly conns = new Map<number, ConnFacts>();
  private readonly found = new Map<AuditCheckId, AuditFinding[]>();
  private readonly over = new Map<AuditCheckId, number>();
  private readonly bursts = new Map<string, Burst>();
  private readonly credentials = new Map<string, Credential>();
  private readonly guessable = new Map<string, GuessableId>();
  private readonly retainedTopics = new Set<string>();
  private readonly secretTopics = new Set<string>();
  private readonly wildcards: WildcardSub[] = [];
  private readonly wildcardKeys = new Set<string>();
  /** Topic -> the ClientId that published it, for topics that name their publisher as a level. */
  private readonly publisherTopics = new Map<string, string>();
  private readonly dropped = new Map<string, { bound: number; dropped: number }>();
  /** Connections whose CONNECT was seen. */
  connections = 0;
  packets = 0;
  /** TLS connections that were not decrypted: nothing of their MQTT could be audited. */
  undecrypted = 0;

  constructor(opts: AuditOptions = {}) {
    this.show = opts.showSecrets === true;
  }

  open(conn: Connection): void {
    this.conns.set(conn.id, { conn, clientId: undefined, username: undefined, connectFrame: 0, keepAlive: undefined, anonymous: false });
  }

  event(ev: StreamEvent): void {
    if (ev.tls !== undefined && !ev.tls.decrypted) this.undecrypted++;
  }

  close(conn: Connection): void {
    const f = this.conns.get(conn.id);
    if (f !== undefined && f.keepAlive !== undefined) this.keepAlive(f, f.keepAlive);
    this.conns.delete(conn.id);
  }

  packet(rec: PacketRecord): void {
    this.packets++;
    let f = this.conns.get(rec.conn.id);
    if (f === undefined) {
      this.open(rec.conn);
      f = this.conns.get(rec.conn.id)!;
    }
    const d = rec.decoded;
    switch (d.type) {
      case CONNECT: if (rec.dir === 'c2s') this.connect(rec, d, f); break;
      case CONNACK: if (rec.dir === 's2c') this.connack(rec, d, f); break;
      case PUBLISH: if (rec.dir === 'c2s') this.publish(rec, d, f); break;
      case SUBSCRIBE: if (rec.dir === 'c2s') this.subscribe(rec, d, f); break;
      default: break;
    }
  }

  private add(check: AuditCheckId, rec: { frame: number; conn: Connection } | null, message: string, clientId?: string): AuditFinding | null {
    let list = this.found.get(check);
    if (list === undefined) {
      list = [];
      this.found.set(check, list);
    }
    if (list.length >= AUDIT_LIMITS.findingsPerCheck) {
      this.over.set(check, (this.over.get(check) ?? 0) + 1);
      return null;
    }
    const finding: AuditFinding = {
      check, severity: AUDIT_CHECK[check].severity, frame: rec?.frame ?? 0, conn: rec?.conn.id ?? null,
      src: rec?.conn.client ?? null, dst: rec?.conn.server ?? null, message,
      ...(clientId !== undefined ? { clientId } : {}),
    };
    list.push(finding);
    return finding;
  }

  private full(table: string, bound: number): void {
    const d = this.dropped.get(table);
    if (d === undefined) this.dropped.set(table, { bound, dropped: 1 });
    else d.dropped++;
  }

  private who(f: ConnFacts): string {
    return f.clientId === undefined ? 'the client' : `ClientId ${JSON.stringify(f.clientId)}`;
  }

  private connect(rec: PacketRecord, d: ConnectPacket, f: ConnFacts): void {
    if (f.connectFrame === 0) this.connections++;
    f.clientId = d.clientId;
    f.username = d.username;
    f.connectFrame = rec.frame;
    f.anonymous = d.username === undefined;
    f.keepAlive = d.keepAlive;
    const cid = d.clientId;
    const at = { frame: rec.frame, conn: rec.conn };
    if ((d.username !== undefined || d.password !== undefined) && !encrypted(rec.conn)) {
      const parts: string[] = [];
      if (d.username !== undefined) parts.push(`user name ${mask(d.username, this.show)}`);
      if (d.password !== undefined) {
        const pw = rec.bytes.subarray(d.password.start, Math.min(d.password.end, rec.bytes.length));
        parts.push(this.show ? `password ${JSON.stringify(Buffer.from(pw).toString('utf8'))}` : `a password (${d.password.end - d.password.start} bytes)`);
      }
      this.add('cleartext-credentials', at, `${this.who(f)} sent ${parts.join(' and ')} in clear text over ${carrier(rec.conn)}`, cid);
    }
    if (d.username !== undefined && cid !== undefined) this.credential(rec, d, d.username, cid);
    if (cid !== undefined) {
      const why = guessableClientId(cid);
      if (why !== null) {
        const g = this.guessable.get(cid);
        if (g !== undefined) g.connections++;
        else if (this.guessable.size >= AUDIT_LIMITS.seen) this.full('guessable ClientIds', AUDIT_LIMITS.seen);
        else {
          const finding = this.add('guessable-client-id', at, `ClientId ${JSON.stringify(cid)} is guessable: ${why}`, cid);
          if (finding !== null) this.guessable.set(cid, { finding, connections: 1 });
        }
      }
    }
    if (d.level === 3) this.add('old-protocol', at, `${this.who(f)} connected with MQTT 3.1 (protocol name ${JSON.stringify(d.protocolName ?? 'MQIsdp')}, level 3)`, cid);
    const segments = rec.frames.length;
    const took = seconds(rec.timeSec, rec.timeNsec, rec.conn.startSec, rec.conn.startNsec);
    if (segments >= AUDIT_LIMITS.slowConnectSegments || took > AUDIT_LIMITS.slowConnectSec) {
      this.add('slow-connect', at, `${this.who(f)}'s CONNECT (${d.length} bytes) came in ${segments} segment${segments === 1 ? '' : 's'}, completed ${took.toFixed(3)} s after the connection's first frame`, cid);
    }
  }

  private credential(rec: PacketRecord, d: ConnectPacket, username: string, clientId: string): void {
    const withPassword = d.password !== undefined;
    const pw = d.password === undefined ? null : rec.bytes.subarray(d.password.start, Math.min(d.password.end, rec.bytes.length));
    // The password only as a hash (with its length): the table never holds a secret.
    const key = `${username}\u0000${pw === null ? '-' : `${pw.length}:${hashHex(fnv1a(pw, 0, pw.length))}`}`;
    let c = this.credentials.get(key);
    if (c === undefined) {
      if (this.credentials.size >= AUDIT_LIMITS.credentials) {
        this.full('credentials', AUDIT_LIMITS.credentials);
        return;
      }
      c = { username, withPassword, clientIds: new Set(), more: 0, frame: rec.frame, conn: rec.conn.id };
      this.credentials.set(key, c);
    }
    if (c.clientIds.has(clientId)) return;
    if (c.clientIds.size >= AUDIT_LIMITS.clientsPerCredential) c.more++;
    else c.clientIds.add(clientId);
  }

  private connack(rec: PacketRecord, d: ConnackPacket, f: ConnFacts): void {
    const code = d.returnCode ?? d.reasonCode;
    if (code === undefined) return;
    if (f.keepAlive !== undefined) {
      this.keepAlive(f, d.properties?.serverKeepAlive ?? f.keepAlive, d.properties?.serverKeepAlive !== undefined);
      f.keepAlive = undefined;
    }
    if (code === 0) {
      if (f.anonymous && f.connectFrame !== 0) this.add('anonymous-accepted', { frame: rec.frame, conn: rec.conn }, `the server accepted ${this.who(f)} without a user name (CONNACK 0 in frame ${rec.frame} to the CONNECT in frame ${f.connectFrame})`, f.clientId);
      return;
    }
    const ip = rec.conn.clientIp;
    let b = this.bursts.get(ip);
    if (b === undefined) {
      if (this.bursts.size >= AUDIT_LIMITS.addresses) {
        this.full('client addresses with refusals', AUDIT_LIMITS.addresses);
        return;
      }
      b = { times: [], refused: 0, finding: null, firstFrame: rec.frame };
      this.bursts.set(ip, b);
    }
    b.refused++;
    const t = rec.timeSec + rec.timeNsec / 1e9;
    b.times.push(t);
    if (b.times.length > AUDIT_LIMITS.authBurstCount) b.times.shift();
    if (b.finding === null && b.times.length === AUDIT_LIMITS.authBurstCount && t - b.times[0]! <= AUDIT_LIMITS.authBurstWindowSec) {
      // The message is completed at the end, with the address's total.
      b.finding = this.add('auth-failure-burst', { frame: rec.frame, conn: rec.conn }, '');
      if (b.finding !== null) {
        b.finding.src = ip;
        b.finding.dst = rec.conn.server;
        b.finding.message = `${AUDIT_LIMITS.authBurstCount} connections from ${ip} refused within ${(t - b.times[0]!).toFixed(1)} s (last CONNACK code ${code})`;
      }
    }
  }

  private keepAlive(f: ConnFacts, ka: number, fromServer = false): void {
    f.keepAlive = undefined;
    if (ka !== 0 && ka <= AUDIT_LIMITS.keepAliveMaxSec) return;
    const what = ka === 0 ? 'Keep Alive 0: keep-alive is off, a dead client is never detected' : `Keep Alive ${ka} s (${(ka / 3600).toFixed(1)} h)`;
    this.add('keep-alive', { frame: f.connectFrame, conn: f.conn }, `${this.who(f)} connected with ${what}${fromServer ? ' (the Server Keep Alive)' : ''}`, f.clientId);
  }

  private subscribe(rec: PacketRecord, d: SubscribePacket, f: ConnFacts): void {
    const at = { frame: rec.frame, conn: rec.conn };
    for (const s of d.subscriptions ?? []) {
      const filter = stripShare(s.topic);
      if (filter === '#') this.add('subscribe-all', at, `${this.who(f)} subscribed to ${JSON.stringify(s.topic)}: every topic`, f.clientId);
      else if (filter === '$SYS' || filter.startsWith('$SYS/')) this.add('subscribe-sys', at, `${this.who(f)} subscribed to ${JSON.stringify(s.topic)}`, f.clientId);
      else if (filter.includes('+') || filter.includes('#')) {
        const cid = f.clientId ?? '';
        const key = `${cid}\u0000${filter}`;
        if (this.wildcardKeys.has(key)) continue;
        if (this.wildcards.length >= AUDIT_LIMITS.wildcardSubscriptions) {
          this.full('wildcard subscriptions', AUDIT_LIMITS.wildcardSubscriptions);
          continue;
        }
        this.wildcardKeys.add(key);
        this.wildcards.push({ filter, clientId: cid, frame: rec.frame, conn: rec.conn });
      }
    }
  }

  private publish(rec: PacketRecord, d: PublishPacket, f: ConnFacts): void {
    const topic = d.resolvedTopic ?? d.topic;
    if (topic === undefined) return;
    const at = { frame: rec.frame, conn: rec.conn };
    const end = Math.min(d.payloadEnd, rec.bytes.length);
    const length = d.payloadLength ?? Math.max(0, end - d.payloadOffset);
    if (d.retain && length > 0 && !this.retainedTopics.has(topic)) {
      if (this.retainedTopics.size >= AUDIT_LIMITS.seen) this.full('retained topics', AUDIT_LIMITS.seen);
      else {
        this.retainedTopics.add(topic);
        this.add('retained-message', at, `${this.who(f)} published a retained message (${length} bytes) on ${JSON.stringify(topic)}`, f.clientId);
      }
    }
    const cid = f.clientId;
    if (cid !== undefined && cid !== '' && !this.publisherTopics.has(topic) && topic.split('/').includes(cid)) {
      if (this.publisherTopics.size >= AUDIT_LIMITS.publisherTopics) this.full('topics naming their publisher', AUDIT_LIMITS.publisherTopics);
      else this.publisherTopics.set(topic, cid);
    }
    if (end > d.payloadOffset) {
      const scan = rec.bytes.subarray(d.payloadOffset, Math.min(end, d.payloadOffset + AUDIT_LIMITS.secretScanBytes));
      const s = secretIn(Buffer.from(scan).toString('latin1'));
      if (s !== null) {
        const key = `${topic}\u0000${s.kind}`;
        if (!this.secretTopics.has(key)) {
          if (this.secretTopics.size >= AUDIT_LIMITS.seen) this.full('topics with secrets', AUDIT_LIMITS.seen);
          else {
            this.secretTopics.add(key);
            const value = this.show ? `: ${JSON.stringify(s.value.length > 200 ? `${s.value.slice(0, 200)}…` : s.value)}` : ' (value masked; --show-secrets shows it)';
            this.add('secret-in-payload', at, `${this.who(f)} published ${s.kind} on ${JSON.stringify(topic)}${encrypted(rec.conn) ? '' : `, over ${carrier(rec.conn)}`}${value}`, f.clientId);
          }
        }
      }
    }
  }

  /** Ends the audit: the checks that need the whole capture, then every finding in frame order. */
  finish(): AuditFinding[] {
    for (const f of this.conns.values()) if (f.keepAlive !== undefined) this.keepAlive(f, f.keepAlive);
    for (const b of this.bursts.values()) {
      if (b.finding !== null && b.refused > AUDIT_LIMITS.authBurstCount) b.finding.message += `; ${b.refused} refusals from this address in the capture`;
    }
    for (const c of this.credentials.values()) {
      const n = c.clientIds.size + c.more;
      if (n < AUDIT_LIMITS.sharedCredentialClients) continue;
      const ids = [...c.clientIds].slice(0, 10).map((x) => JSON.stringify(x)).join(', ');
      const finding = this.add('shared-credentials', null, `user name ${mask(c.username, this.show)} ${c.withPassword ? 'with the same password' : 'without a password'} was used by ${n} ClientIds: ${ids}${n > 10 ? ', …' : ''}`);
      if (finding !== null) {
        finding.frame = c.frame;
        finding.conn = c.conn;
      }
    }
    for (const g of this.guessable.values()) if (g.connections > 1) g.finding.message += ` (${g.connections} connections)`;
    for (const w of this.wildcards) {
      for (const [topic, publisher] of this.publisherTopics) {
        if (publisher === w.clientId || !topicMatches(w.filter, topic)) continue;
        this.add('subscribe-other-clients', w, `ClientId ${JSON.stringify(w.clientId)} subscribed to ${JSON.stringify(w.filter)}, which covers ${JSON.stringify(topic)} published by ClientId ${JSON.stringify(publisher)}`, w.clientId);
        break;
      }
    }
    this.wildcards.length = 0;
    const all = [...this.found.values()].flat();
    all.sort((a, b) => a.frame - b.frame);
    return all;
  }

  /** Tables that reached their bound, and findings past the per-check bound. */
  limits(): AuditLimit[] {
    const out: AuditLimit[] = [...this.dropped].map(([table, d]) => ({ table, ...d }));
    for (const [check, n] of this.over) out.push({ table: `findings of ${check}`, bound: AUDIT_LIMITS.findingsPerCheck, dropped: n });
    return out;
  }
}
