/**
 * What the browser tests of the HTML page share (test/e2e/page-browser.test.ts drives Chromium, page-browsers.test.ts
 * Firefox and WebKit): `--json`'s records, a capture's report written to a temp dir, a field found in the decoder's
 * tree, and the hostile-strings capture. Expected values come from the CLI and the decoder, never from the page.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { decodePacket } from '../../src/mqtt/decoder.js';
import type { FieldNode } from '../../src/mqtt/types.js';
import { ROOT, runCli } from './cli.js';
import { StatsCapture } from './stats-capture.js';
import * as m from './mqtt-bytes.js';

export const SEED = join(ROOT, 'captures', 'seed-walkthrough.pcap');

export interface Rec { kind: string; type?: string; frame: number; time: string; conn: number; dir?: string; fields?: { packetId?: number; qos?: number }; deliveries?: { conn: number; frame: number; latencyMs: number }[] }

export function records(capture: string): Rec[] {
  return runCli(['--json', capture]).stdout.trim().split('\n').map((l) => JSON.parse(l) as Rec);
}

/** Writes `mqtt-dissect report` of a capture to dir/name.html and returns its path. */
export function report(dir: string, capture: string, name: string, extra: string[] = []): string {
  const out = join(dir, `${name}.html`);
  const r = runCli(['report', ...extra, capture, '-o', out]);
  expect(r.status, r.stderr).toBe(0);
  return out;
}

export function find(n: FieldNode, label: string): FieldNode | null {
  if (n.label === label) return n;
  for (const c of n.children ?? []) {
    const f = find(c, label);
    if (f !== null) return f;
  }
  return null;
}

/** The decoder's own tree of the packet view of `frame` in a written report (the bytes as the page has them). */
export function viewTree(file: string, frame: number, dir: 'c2s' | 's2c' = 'c2s'): FieldNode {
  const data = JSON.parse(/<script type="application\/json" id="page-data">([^<]*)<\/script>/.exec(readFileSync(file, 'utf8'))![1]!) as { views: { frame: number; hex: string }[] };
  return decodePacket(Buffer.from(data.views.find((v) => v.frame === frame)!.hex, 'hex'), { level: 4, dir, tree: true }).tree!;
}

/**
 * A capture with `<script>` and event handlers in a client id, a user name, user properties, a topic and a payload:
 * a page that ran any of it would set window.top.pwned or open an alert. Frames 4 (CONNECT) and 6 (PUBLISH).
 */
export function hostileCapture(dir: string): string {
  const evil = (n: number): string => `<script>window.top.pwned=${n};alert(${n})</script><img src=x onerror="window.top.pwned=${n}">`;
  const c = new StatsCapture();
  const a = c.conn('10.0.0.2:40001', 0);
  c.c(a, 0.01, m.connect({ level: 5, clientId: evil(1), username: evil(2), properties: [['userProperty', [evil(3), evil(4)]]] }));
  c.s(a, 0.02, m.connack({ level: 5 }));
  c.c(a, 0.03, m.publish({ level: 5, topic: `t/${evil(5)}`, payload: evil(6), properties: [['userProperty', ['k', evil(7)]]] }));
  c.close(a, 0.1);
  const capture = join(dir, 'hostile.pcap');
  writeFileSync(capture, c.pcap());
  return capture;
}

/** The hostile capture's frames with a packet view holding capture strings. */
export const HOSTILE_FRAMES = [4, 6];
/** Its topic as the packet list shows it (quoted as the text view quotes it). */
export const HOSTILE_TOPIC_TEXT = 'topic="t/<script>window.top.pwned=5;alert(5)</script><img src=x onerror=\\"window.top.pwned=5\\">"';
