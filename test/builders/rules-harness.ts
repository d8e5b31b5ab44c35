/**
 * Drives the rules stage the way the pipeline does: packets of one connection in capture order, each decoded with
 * the connection's level (taken from its CONNECT), with capture timestamps, then close().
 */
import { SPARKPLUG_OWN_RULES, SPARKPLUG_RULES, sparkplugSpec } from '../../src/rules/catalogue-sparkplug.js';
import { TLS_RULES } from '../../src/rules/catalogue-tls.js';
import type { PacketRecord, PacketSink, Violation } from '../../src/mqtt/connection-decoder.js';
import { decodePacket } from '../../src/mqtt/decoder.js';
import type { ProtocolLevel } from '../../src/mqtt/types.js';
import { CATALOGUE } from '../../src/rules/catalogue.js';
import { RuleEngine, checkPacketAlone } from '../../src/rules/engine.js';
import type { Connection, StreamEvent } from '../../src/tcp/types.js';
import { endAt } from './frames.js';

export type Ev = StreamEvent & { violations?: Violation[] };

export function makeConn(id = 0, sawSyn = true): Connection {
  return {
    id, clientIp: '10.0.0.2', clientPort: 50000 + id, serverIp: '10.0.0.1', serverPort: 1883,
    client: `10.0.0.2:${50000 + id}`, server: '10.0.0.1:1883', sawSyn, firstFrame: 1, startSec: 0, startNsec: 0, tls: false, tcpStream: id,
  };
}

class Collect implements PacketSink {
  readonly packets: PacketRecord[] = [];
  readonly events: Ev[] = [];
  readonly closed: number[] = [];
  open(): void {}
  packet(rec: PacketRecord): void { this.packets.push(rec); }
  event(ev: Ev): void { this.events.push(ev); }
  close(conn: Connection): void { this.closed.push(conn.id); }
}

export interface HarnessOpts {
  sawSyn?: boolean;
  /** Level for packets before any CONNECT (default 4). */
  level?: ProtocolLevel;
  id?: number;
}

/** Every Harness made since the last reset (the coverage test reads their packets and counters). */
export const HARNESSES: Harness[] = [];

export class Harness {
  readonly conn: Connection;
  readonly sink = new Collect();
  readonly engine: RuleEngine;
  level: ProtocolLevel;
  /** Capture time in seconds of the next packet (advances 10 ms per packet unless set). */
  t = 0;
  frame = 0;

  constructor(o: HarnessOpts = {}) {
    this.conn = makeConn(o.id ?? 0, o.sawSyn ?? true);
    this.level = o.level ?? 4;
    this.engine = new RuleEngine(this.sink);
    this.engine.open(this.conn);
    HARNESSES.push(this);
  }

  send(dir: 'c2s' | 's2c', bytes: Uint8Array, at?: number): PacketRecord {
    if (at !== undefined) this.t = at;
    const isConnect = dir === 'c2s' && bytes[0]! >> 4 === 1;
    const decoded = decodePacket(bytes, { level: this.level, dir, tree: false });
    if (isConnect) this.level = decoded.level;
    this.frame++;
    const sec = Math.floor(this.t);
    const rec: PacketRecord = {
      conn: this.conn, dir, frame: this.frame, frames: [this.frame], timeSec: sec, timeNsec: Math.round((this.t - sec) * 1e9),
      bytes, decoded, levelInferred: false, streamOffset: 0, violations: [],
    };
    this.engine.packet(rec);
    this.t += 0.01;
    return rec;
  }

  c(bytes: Uint8Array, at?: number): PacketRecord { return this.send('c2s', bytes, at); }
  s(bytes: Uint8Array, at?: number): PacketRecord { return this.send('s2c', bytes, at); }

  close(): Ev[] {
    const before = this.sink.events.length;
    this.engine.close(this.conn, endAt(this.frame + 1, this.t));
    return this.sink.events.slice(before);
  }

  /** Every violation so far: packets and events. */
  all(): Violation[] {
    return [...this.sink.packets.flatMap((p) => p.violations), ...this.sink.events.flatMap((e) => e.violations ?? [])];
  }
}

/** Single-packet findings, as `explain` gets them. */
export function alone(bytes: Uint8Array, level: ProtocolLevel = 4, dir: 'c2s' | 's2c' | null = null): Violation[] {
  return checkPacketAlone(bytes, decodePacket(bytes, { level, dir, tree: false }), dir);
}

export function describeViolations(vs: readonly Violation[]): string {
  return vs.map((v) => `${v.severity} ${v.spec} ${v.id}: ${v.message}`).join('\n') || '(none)';
}

/**
 * Findings whose severity is not the one their catalogue entry lists, as `spec id: emitted, catalogue says X`.
 * Dialect findings (spec OneNET, mqtt-dissect) have no catalogue entry and are left out.
 */
export function severityMismatches(vs: readonly Violation[]): string[] {
  const out = new Set<string>();
  for (const v of vs) {
    if (v.spec === 'OneNET' || v.spec === 'mqtt-dissect') continue;
    if (v.spec === 'TLS') {
      // TLS findings have their own table (src/rules/catalogue-tls.ts).
      const t = TLS_RULES.find((r) => r.id === v.id);
      if (t === undefined) out.add(`TLS ${v.id}: no catalogue entry`);
      else if (t.severity !== v.severity) out.add(`TLS ${v.id}: ${v.severity}, the catalogue says ${t.severity}`);
      continue;
    }
    if (v.spec.startsWith('Sparkplug 3.0')) {
      // Sparkplug findings have their own table (src/rules/catalogue-sparkplug.ts): its row's severity and section.
      const r = [...SPARKPLUG_RULES, ...SPARKPLUG_OWN_RULES].find((x) => x.id === v.id);
      if (r === undefined) out.add(`${v.spec} ${v.id}: no catalogue entry`);
      else if (r.severity !== v.severity || sparkplugSpec(r) !== v.spec) out.add(`${v.spec} ${v.id}: ${v.severity}, the catalogue says ${r.severity} (${sparkplugSpec(r)})`);
      continue;
    }
    const e = CATALOGUE.find((x) => x.id === v.id && (x.spec === v.spec || x.spec === 'ref' || (x.spec === 'rfc6455' && v.spec.startsWith('RFC 6455 '))));
    if (e === undefined) out.add(`${v.spec} ${v.id}: no catalogue entry`);
    else if (e.severity !== v.severity) out.add(`${v.spec} ${v.id}: ${v.severity}, the catalogue says ${e.severity}`);
  }
  return [...out];
}
