/** Human output: one line per packet (tshark-like), optionally followed by the field tree (-V) or annotated hex (-x). */
import type { TraceRecord, TraceSink } from '../sessions/records.js';
import { traceJson } from './trace.js';
import type { ChalkInstance } from 'chalk';
import type { PacketRecord, Violation } from '../mqtt/connection-decoder.js';
import { VERSION_NAME } from '../mqtt/types.js';
import { closeViolations } from '../rules/close.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import { closeJson, closeLine } from './close.js';
import { escapeText, quote } from './escape.js';
import { CONNECT } from '../mqtt/tables.js';
import { keyFields, payloadLimit } from './fields.js';
import { clockTime, relativeSeconds, type TimeFormat } from './format.js';
import { annotatedHex, fieldTree } from './hex.js';
import type { ByteOut } from './bytes-out.js';
import { eventJson, type EventTime } from './json.js';
import { packetJsonText, writePacketRecord, type JsonOptions } from './ndjson.js';
import type { WsFrameNotes } from '../transport/websocket.js';
import { wsFrameLines } from './ws-frames.js';

export type Write = (line: string) => void;

/** Output that takes bytes directly (the CLI's stdout buffer): NDJSON records are written into it without strings. */
export interface DirectOut {
  readonly bytes: ByteOut;
  /** Called after each record written into `bytes`, so the owner can schedule a flush. */
  wrote(): void;
}

export interface RenderOptions {
  chalk: ChalkInstance;
  verbose: boolean;
  hex: boolean;
  full: boolean;
  redact: boolean;
  onlyViolations: boolean;
  json: boolean;
  /** Print nothing per packet (--summary alone). */
  quiet: boolean;
  /** The WebSocket frame headers behind each stream, for the annotated hex (filled by the transport stage). */
  wsNotes?: WsFrameNotes;
  /** -t: how the one-line view writes times (relative to the first frame when absent). */
  timeFormat?: TimeFormat;
}

/** Whether a renderer with these options needs field trees from the decoder. */
export function needsTree(o: Pick<RenderOptions, 'verbose' | 'hex' | 'json' | 'quiet'>): boolean {
  return !o.json && !o.quiet && (o.verbose || o.hex);
}

/** Characters of a finding's message shown beside its id in the one-line view. */
const SHORT_MESSAGE = 48;

/** `[MQTT-3.3.1-2 PUBLISH has DUP 1 with QoS 0]` for up to three findings (their ids once each), `+N` for the rest. */
function severityMark(chalk: ChalkInstance, vs: Violation[]): string {
  if (vs.length === 0) return '';
  const paint = vs.some((v) => v.severity === 'error') ? chalk.red : vs.some((v) => v.severity === 'warning') ? chalk.yellow : chalk.cyan;
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const v of vs) {
    if (seen.has(v.id)) continue;
    seen.add(v.id);
    if (parts.length < 3) {
      const m = v.message.length > SHORT_MESSAGE ? `${v.message.slice(0, SHORT_MESSAGE)}…` : v.message;
      parts.push(`${v.id} ${escapeText(m)}`);
    }
  }
  const more = seen.size > 3 ? ` +${seen.size - 3}` : '';
  return ' ' + paint(`[${parts.join('] [')}]${more}`);
}

export class Renderer implements TraceSink {
  private readonly write: Write;
  private readonly o: RenderOptions;
  private readonly conns = new Map<number, Connection>();
  /** Client ids of open connections, from their CONNECT (released on close). */
  private readonly clientIds = new Map<number, string>();
  private base: EventTime | null = null;
  /** Time of the latest frame seen, for events (which carry only a frame number). */
  private latest: EventTime | null = null;
  /** -t d: the time of the packet shown before. */
  private previousShown: EventTime | null = null;

  private readonly direct: DirectOut | null;
  private readonly json: JsonOptions;

  constructor(write: Write, opts: RenderOptions, direct: DirectOut | null = null) {
    this.write = write;
    this.o = opts;
    this.direct = direct;
    this.json = { redact: opts.redact, payloadLimit: payloadLimit(opts.full) };
  }

  /** Every capture record passes its time here first, so relative times count from the first frame. */
  frameTime(timeSec: number, timeNsec: number): void {
    if (this.base === null) this.base = { timeSec, timeNsec };
    // Updated in place: this runs for every frame, and the object is only read while an event is rendered.
    if (this.latest === null) this.latest = { timeSec, timeNsec };
    else {
      this.latest.timeSec = timeSec;
      this.latest.timeNsec = timeNsec;
    }
  }

  open(conn: Connection): void {
    this.conns.set(conn.id, conn);
  }

  /** The time column of the one-line view, in the -t format. */
  private timeText(sec: number, nsec: number, base: EventTime | null): string {
    switch (this.o.timeFormat ?? 'r') {
      case 'r':
        // Without a frame time yet (a sink fed directly), the packet itself is time zero.
        return base === null ? relativeSeconds(0, 0, 0, 0) : relativeSeconds(sec, nsec, base.timeSec, base.timeNsec);
      case 'a': return clockTime(sec, nsec, false);
      case 'ad': return clockTime(sec, nsec, true);
      case 'e': return `${sec}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
      case 'd': {
        const prev = this.previousShown;
        const text = prev === null ? relativeSeconds(0, 0, 0, 0) : relativeSeconds(sec, nsec, prev.timeSec, prev.timeNsec);
        if (prev === null) this.previousShown = { timeSec: sec, timeNsec: nsec };
        else {
          prev.timeSec = sec;
          prev.timeNsec = nsec;
        }
        return text;
      }
    }
  }

  /**
   * A packet a filter did not show (-Y): only what names the connection's later lines is kept, so a PUBLISH shown
   * without its CONNECT still says which client sent it.
   */
  hidden(rec: PacketRecord): void {
    const d = rec.decoded;
    if (d.type === CONNECT && rec.dir === 'c2s' && d.clientId !== undefined) this.clientIds.set(rec.conn.id, d.clientId);
  }

  close(conn: Connection, end?: ConnectionEnd): void {
    this.conns.delete(conn.id);
    this.clientIds.delete(conn.id);
    const o = this.o;
    if (end === undefined || o.quiet) return;
    const vs = closeViolations(end);
    if (o.onlyViolations && vs.length === 0) return;
    if (o.json) {
      this.write(closeJson(conn, end));
      return;
    }
    this.write(closeLine(o.chalk, conn, end));
    for (const v of vs) this.write(`      ${violationText(o.chalk, v)}`);
  }

  packet(rec: PacketRecord): void {
    const o = this.o;
    if (o.quiet) return;
    if (o.onlyViolations && rec.violations.length === 0) return;
    if (o.json) {
      if (this.direct !== null) {
        writePacketRecord(this.direct.bytes, rec, this.json);
        this.direct.wrote();
      } else {
        this.write(packetJsonText(rec, this.json));
      }
      return;
    }
    const { chalk } = o;
    const base = this.base;
    const conn = rec.conn;
    const c2s = rec.dir === 'c2s';
    const d = rec.decoded;
    const version = VERSION_NAME[d.level] + (rec.levelInferred ? '?' : '');
    // Without a frame time yet (a sink fed directly), the packet itself is time zero.
    const rel = this.timeText(rec.timeSec, rec.timeNsec, base);
    // One concatenation per packet (no array, no endpoint object): this line is written for every packet.
    // The connection number (NDJSON `conn`) and, once its CONNECT was seen, the client id: which device this is.
    // The stream layers that carried it (`#0 websocket`): MQTT over TCP shows none.
    let who = conn.transport === undefined ? `#${conn.id}` : `#${conn.id} ${conn.transport.join('+')}`;
    if (d.type === CONNECT && c2s && d.clientId !== undefined) this.clientIds.set(conn.id, d.clientId);
    else {
      const id = this.clientIds.get(conn.id);
      if (id !== undefined) who += ` ${quote(id.length > 32 ? `${id.slice(0, 32)}…` : id)}`;
    }
    const line = `${String(rec.frame).padStart(5)} ${rel.padStart(11)} ${c2s ? conn.client : conn.server} → ${c2s ? conn.server : conn.client} `
      + `${chalk.bold(d.typeName.padEnd(11))} ${chalk.dim(`v${version}`)} ${chalk.dim(who)} ${keyFields(rec, o.redact, o.full)}`;
    const cut = rec.truncated === undefined ? '' : ` ${chalk.yellow(`(cut by the snaplen: ${rec.bytes.length} of ${rec.truncated} bytes captured)`)}`;
    this.write(line.trimEnd() + cut + severityMark(chalk, rec.violations));
    if (o.verbose && d.tree) {
      // Which TCP conversation this is in Wireshark's numbering: `tcp.stream eq N` opens it there.
      const over = conn.transport === undefined ? '' : `, over ${conn.transport.join('+')} (offsets are within the MQTT stream the frames carried)`;
      if (conn.tcpStream !== null) this.write(chalk.dim(`      connection #${conn.id}, tcp.stream ${conn.tcpStream} (Wireshark: tcp.stream eq ${conn.tcpStream})${over}`));
      for (const l of fieldTree(d.tree, { chalk, full: o.full, redact: o.redact, indent: '      ' })) this.write(l);
    }
    if (o.hex && d.tree) {
      // Bytes the transport stage unwrapped: these are the MQTT bytes after decryption, not the frame's.
      if (conn.transport?.includes('tls') === true) this.write(chalk.dim(`      (MQTT bytes decrypted from TLS records, keys from ${escapeText(conn.transportKeys ?? '?')}; offsets are in the decrypted stream)`));
      for (const l of annotatedHex(rec.bytes, d.tree, rec.violations, { chalk, full: o.full, redact: o.redact, indent: '      ' })) this.write(l);
      if (o.wsNotes !== undefined && conn.transport?.includes('websocket') === true) {
        const length = rec.truncated ?? rec.bytes.length;
        for (const l of wsFrameLines(o.wsNotes.covering(conn.id, rec.dir, rec.streamOffset, length), rec.streamOffset, length, chalk, '      ')) this.write(l);
      }
    } else if (rec.violations.length > 0 && (o.verbose || o.onlyViolations)) {
      for (const v of rec.violations) this.write(`      ${violationText(chalk, v)}`);
    }
    if (o.verbose || o.hex) this.write('');
  }

  /** The sessions stage's records: NDJSON only (they carry no findings, so --only-violations leaves them out). */
  traced(r: TraceRecord): void {
    const o = this.o;
    if (o.quiet || o.onlyViolations || !o.json) return;
    this.write(traceJson(r));
  }

  event(ev: StreamEvent & { violations?: Violation[] }): void {
    const o = this.o;
    if (o.quiet) return;
    const conn = ev.conn !== null ? this.conns.get(ev.conn) : undefined;
    if (o.json) {
      this.write(eventJson(ev, conn, this.latest));
      return;
    }
    const { chalk } = o;
    const where = ev.conn !== null ? `conn ${ev.conn}${ev.dir ? ` ${ev.dir}` : ''}` : 'capture';
    const paint = ev.event === 'tls' ? chalk.cyan : chalk.yellow;
    this.write(`${String(ev.frame).padStart(5)} ${paint(`! ${ev.event}`)} ${chalk.dim(where)}: ${escapeText(ev.message)}`);
    for (const v of ev.violations ?? []) this.write(`      ${violationText(chalk, v)}`);
  }
}

export function violationText(chalk: ChalkInstance, v: Violation): string {
  const paint = v.severity === 'error' ? chalk.red : v.severity === 'warning' ? chalk.yellow : chalk.cyan;
  return paint(`[${v.id}] ${v.spec} ${v.severity}: ${escapeText(v.message)}`);
}
