/**
 * The sessions stage on every capture we have (captures/ and, when present, ../shared/captures/public): no
 * error-level finding of its own on a clean capture, and on our real mosquitto captures the deliveries their
 * scripts' clients really made (scripts/make-captures.sh, captures/MANIFEST.md) are traced to their publishers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { readCapture } from '../src/capture/source.js';
import { buildPipeline } from '../src/cli/pipeline.js';
import type { PacketRecord, Violation } from '../src/mqtt/connection-decoder.js';
import { closeViolations } from '../src/rules/close.js';
import { sessionsClose, type MessageRecord, type SessionRecord, type SessionsClose, type TraceRecord, type TraceSink } from '../src/sessions/records.js';
import type { ConnectionEnd, StreamEvent } from '../src/tcp/types.js';
import { KeyLog } from '../src/transport/tls/keylog.js';
import { allCaptures, CAPTURES_DIR, type CaptureEntry } from './builders/public.js';

interface Run {
  findings: string[];
  messages: MessageRecord[];
  sessions: SessionRecord[];
  events: (StreamEvent & { violations?: Violation[] })[];
  closes: SessionsClose[];
}

async function run(c: Pick<CaptureEntry, 'path' | 'extraPorts' | 'tls'>, sessions: boolean): Promise<Run> {
  const out: Run = { findings: [], messages: [], sessions: [], events: [], closes: [] };
  const note = (where: string, vs: readonly Violation[]): void => {
    for (const v of vs) out.findings.push(`${where} ${v.severity} ${v.spec} ${v.id}: ${v.message}`);
  };
  const sink: TraceSink = {
    open() {},
    close(conn, end?: ConnectionEnd) { if (end) { note(`close ${conn.id}`, closeViolations(end)); out.closes.push(sessionsClose(end)); } },
    packet(rec: PacketRecord) { note(`frame ${rec.frame}`, rec.violations); },
    event(ev) { out.events.push(ev); note(`event ${ev.event} ${ev.frame}`, ev.violations ?? []); },
    traced(r: TraceRecord) { if (r.kind === 'message') out.messages.push(r); else out.sessions.push(r); },
  };
  const keylog = new KeyLog();
  if (c.tls?.keylog !== undefined) keylog.add(readFileSync(c.tls.keylog, 'latin1'), c.tls.keylog);
  const pipeline = buildPipeline(sink, {
    dialect: 'auto', ports: [...new Set([1883, 6002, ...c.extraPorts])], auto: false, tree: false, sessions, keylog,
    ...(c.tls !== undefined ? { tlsPorts: c.tls.ports } : {}),
  });
  await readCapture(c.path, pipeline);
  pipeline.finish();
  return out;
}

/** Findings with the stage that are not there without it (as a multiset). */
function added(withIt: readonly string[], without: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const f of without) left.set(f, (left.get(f) ?? 0) + 1);
  const out: string[] = [];
  for (const f of withIt) {
    const n = left.get(f) ?? 0;
    if (n > 0) left.set(f, n - 1);
    else out.push(f);
  }
  return out;
}

describe('no error-level finding of the sessions stage on a clean capture', () => {
  for (const c of allCaptures().filter((x) => !x.malformed)) {
    test(c.name, async () => {
      const [a, b] = [await run(c, true), await run(c, false)];
      expect(added(a.findings, b.findings).filter((f) => / error /.test(f))).toEqual([]);
      // The stage adds nothing but findings: every other finding is the same with and without it.
      expect(added(b.findings, a.findings)).toEqual([]);
    });
  }
});

const own = (f: string): Pick<CaptureEntry, 'path' | 'extraPorts'> => ({ path: `${CAPTURES_DIR}/${f}`, extraPorts: [] });

/** The message a client published to a topic (one per test below). */
function message(r: Run, clientId: string, topic: string): MessageRecord {
  const m = r.messages.filter((x) => x.clientId === clientId && x.topic === topic);
  expect(m, `${clientId} ${topic}`).toHaveLength(1);
  return m[0]!;
}

describe('traced deliveries of the real mosquitto captures', () => {
  test('real-v311-qos: the three publishers reach the QoS 2 subscriber at their own QoS, the retained message the late subscriber', async () => {
    const r = await run(own('real-v311-qos.pcap'), true);
    for (const q of [0, 1, 2]) {
      const m = message(r, `corpus-v311-pub-q${q}`, `corpus/v311/qos/q${q}`);
      expect(m.qos).toBe(q);
      // min(published QoS, granted QoS 2) = the published QoS.
      expect(m.deliveries.map((d) => [d.clientId, d.qos])).toEqual([['corpus-v311-sub', q]]);
      expect(m.ambiguous).toEqual([]);
      expect(m.deliveries[0]!.latencyMs).toBeGreaterThanOrEqual(0);
      expect(m.deliveries[0]!.latencyMs).toBeLessThan(1000);
      expect(m.deliveries[0]!.frame).toBeGreaterThan(m.frame);
    }
    const retained = message(r, 'corpus-v311-retain', 'corpus/v311/retained/state');
    expect(retained.retain).toBe(true);
    // Delivered when the late subscriber subscribed, after the PUBLISH that set it.
    expect(retained.deliveries.map((d) => d.clientId)).toEqual(['corpus-v311-late']);
    // MQTT.js publishes to itself.
    expect(message(r, 'corpus-js-v311', 'corpus/v311/js/a').deliveries.map((d) => d.clientId)).toEqual(['corpus-js-v311']);
    expect(r.sessions.map((s) => s.clientId).sort()).toEqual([
      'corpus-js-v311', 'corpus-v311-clear', 'corpus-v311-late', 'corpus-v311-pub-q0', 'corpus-v311-pub-q1', 'corpus-v311-pub-q2', 'corpus-v311-retain', 'corpus-v311-sub',
    ]);
    expect(r.sessions.every((s) => s.takeovers === 0 && s.redeliveries === 0 && s.reconnects === 0)).toBe(true);
    expect(r.events.filter((e) => e.event === 'sessions-partial')).toEqual([]);
  });

  test('real-will-kill: the broker publishes both Wills to the watcher', async () => {
    const r = await run(own('real-will-kill.pcapng'), true);
    // A Will has no publisher PUBLISH in the capture: its deliveries are traced to the close of the killed client.
    expect(r.messages).toEqual([]);
    expect(r.events.filter((e) => e.event === 'sessions-partial')).toEqual([]);
    const wills = r.closes.filter((c) => c.will !== 'none');
    expect(wills.map((c) => [c.will, c.willDeliveries!.map((d) => [d.clientId, d.qos])])).toEqual([
      ['fired', [['corpus-will-watch', 1]]], ['fired', [['corpus-will-watch', 1]]],
    ]);
    expect(wills.every((c) => c.willDeliveries![0]!.afterCloseMs! >= 0 && c.willDeliveries![0]!.afterCloseMs! < 1000)).toBe(true);
  });

  test('real-v5-props: topic aliases resolved, the request answered, the subscription ids and QoS as granted', async () => {
    const r = await run(own('real-v5-props.pcapng'), true);
    for (const q of [0, 1, 2]) {
      expect(message(r, `corpus-v5-mpub-q${q}`, `corpus/v5/qos/q${q}`).deliveries.map((d) => [d.clientId, d.qos])).toEqual([['corpus-v5-msub', q]]);
    }
    // Published with topic aliases (an empty topic name after the alias was set): traced by the topic the alias stands for.
    expect(message(r, 'corpus-v5-pub', 'corpus/v5/props/meta').deliveries.map((d) => d.clientId)).toEqual(['corpus-v5-sub']);
    expect(r.messages.filter((m) => m.clientId === 'corpus-v5-pub' && m.topic === 'corpus/v5/alias/a').length).toBeGreaterThan(0);
    expect(r.messages.every((m) => m.topic.length > 0)).toBe(true);
  });

  test('real-large-200k: the 200 KiB message, hashed over every segment, reaches its subscriber', async () => {
    const r = await run(own('real-large-200k.pcap'), true);
    const m = message(r, 'corpus-large-pub', 'corpus/large/blob');
    expect(m.payloadLength).toBe(204800);
    expect(m.deliveries.map((d) => [d.clientId, d.qos])).toEqual([['corpus-large-sub', 1]]);
  });
});
