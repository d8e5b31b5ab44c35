/**
 * The HTML page in a real browser (headless Chromium): the page's script runs from file:// with no network, and a
 * harness page drives it as a person would — a click on a byte, a click on a field, the type filter, j and Enter —
 * and writes what the page then shows into its own DOM, which Chromium prints. Expected values come from the decoder
 * and from `--json`, never from the page.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/mqtt/decoder.js';
import type { FieldNode } from '../../src/mqtt/types.js';
import { ROOT, runCli } from '../builders/cli.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const CHROMIUM = ['chromium', 'chromium-browser', 'google-chrome'].find(has);
const SEED = join(ROOT, 'captures', 'seed-walkthrough.pcap');

const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-page-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs in the harness page: drives the report in its iframe and writes the observations into #out. */
const HARNESS = `<!DOCTYPE html><html><body><pre id="out">pending</pre>
<iframe id="f" src="report.html#p4" width="1200" height="900"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {
  const out = {};
  try {
    const w = document.getElementById('f').contentWindow;
    const d = w.document;
    const hi = () => [...d.querySelectorAll('#hex span.hi')].map((s) => Number(s.dataset.byte));
    const hiNodes = () => [...d.querySelectorAll('#tree div.hi')].map((e) => e.textContent.trim());
    const explain = () => [...d.getElementById('explain').children].map((e) => e.textContent);
    out.title = d.getElementById('view-title').textContent;
    out.scripts = d.scripts.length;
    out.plots = ['plot-types', 'plot-bytes', 'plot-rtt', 'plot-topics'].map((id) => ({ canvas: d.querySelector('#' + id + ' canvas') !== null, series: Number(d.getElementById(id).dataset.series) }));
    d.querySelector('#hex span[data-byte="1"]').dispatchEvent(new w.MouseEvent('click', { bubbles: true }));
    out.byte1 = { bytes: hi(), nodes: hiNodes(), explain: explain() };
    const flags = [...d.querySelectorAll('#tree div')].find((e) => e.textContent.trim().startsWith('connect flags'));
    flags.dispatchEvent(new w.MouseEvent('click', { bubbles: true }));
    out.flags = { bytes: hi(), nodes: hiNodes(), explain: explain() };
    const sel = d.getElementById('f-type');
    sel.value = 'PUBLISH';
    sel.dispatchEvent(new w.Event('input'));
    out.publishRows = [...d.querySelectorAll('#rows tr')].map((tr) => Number(tr.children[0].textContent));
    d.dispatchEvent(new w.KeyboardEvent('keydown', { key: 'j', bubbles: true }));
    d.dispatchEvent(new w.KeyboardEvent('keydown', { key: 'j', bubbles: true }));
    d.dispatchEvent(new w.KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    out.afterKeys = { hash: w.location.hash, title: d.getElementById('view-title').textContent };
  } catch (e) { out.error = String(e); }
  document.getElementById('out').textContent = JSON.stringify(out);
});
</script></body></html>`;

interface Seen {
  error?: string;
  title: string;
  scripts: number;
  plots: { canvas: boolean; series: number }[];
  byte1: { bytes: number[]; nodes: string[]; explain: string[] };
  flags: { bytes: number[]; nodes: string[]; explain: string[] };
  publishRows: number[];
  afterKeys: { hash: string; title: string };
}

function find(n: FieldNode, label: string): FieldNode | null {
  if (n.label === label) return n;
  for (const c of n.children ?? []) {
    const f = find(c, label);
    if (f !== null) return f;
  }
  return null;
}

/** Loads `page` in a harness whose script drives it (`drive` runs with w, d and out in scope) and returns `out`. */
function inBrowser<T>(name: string, page: string, drive: string): T {
  writeFileSync(join(dir, `${name}.html`), `<!DOCTYPE html><html><body><pre id="out">pending</pre>
<iframe id="f" src="${page}" width="1200" height="900"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {
  const out = {};
  try {
    const w = document.getElementById('f').contentWindow;
    const d = w.document;
${drive}
  } catch (e) { out.error = String(e); }
  document.getElementById('out').textContent = JSON.stringify(out);
});
</script></body></html>`);
  const r = spawnSync(CHROMIUM!, [
    '--headless', '--no-sandbox', '--disable-gpu', '--allow-file-access-from-files', '--virtual-time-budget=5000', '--dump-dom',
    `file://${join(dir, `${name}.html`)}`,
  ], { encoding: 'utf8', timeout: 60_000 });
  const m = /<pre id="out">([^<]*)<\/pre>/.exec(r.stdout);
  expect(m, r.stderr.slice(-2000)).not.toBeNull();
  const out = JSON.parse(m![1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as T & { error?: string };
  expect(out.error).toBeUndefined();
  return out;
}

interface Rec { kind: string; type?: string; frame: number; time: string; conn: number; dir?: string; fields?: { packetId?: number; qos?: number } }

function micros(iso: string): number {
  const m = /T(\d\d):(\d\d):(\d\d)\.(\d{6})Z$/.exec(iso)!;
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1e6 + Number(m[4]);
}

describe.skipIf(CHROMIUM === undefined)('report in a real browser (Chromium)', () => {
  it('maps bytes to fields and fields to bytes, filters, and follows the keyboard', () => {
    const made = runCli(['report', SEED, '-o', join(dir, 'report.html')]);
    expect(made.status).toBe(0);
    writeFileSync(join(dir, 'harness.html'), HARNESS);
    const r = spawnSync(CHROMIUM!, [
      '--headless', '--no-sandbox', '--disable-gpu', '--allow-file-access-from-files', '--virtual-time-budget=5000', '--dump-dom',
      `file://${join(dir, 'harness.html')}`,
    ], { encoding: 'utf8', timeout: 60_000 });
    const m = /<pre id="out">([^<]*)<\/pre>/.exec(r.stdout);
    expect(m, r.stderr.slice(-2000)).not.toBeNull();
    const text = m![1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    const seen = JSON.parse(text) as Seen;
    expect(seen.error).toBeUndefined();
    expect(seen.scripts).toBe(3);
    // The plots are drawn (uPlot, inlined): one series per packet type the seed capture has, two byte directions.
    const types = new Set(runCli(['--json', SEED]).stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; type?: string }).filter((x) => x.kind === 'packet').map((x) => x.type));
    expect(seen.plots.map((p) => p.canvas)).toEqual([true, true, true, true]);
    expect(seen.plots[0]!.series).toBe(types.size);
    expect(seen.plots[1]!.series).toBe(2);

    // Frame 4 of the seed capture is the CONNECT: what the decoder says of its bytes is what the page shows.
    const data = JSON.parse(/<script type="application\/json" id="page-data">([^<]*)<\/script>/.exec(readFileSync(join(dir, 'report.html'), 'utf8'))![1]!) as { views: { frame: number; hex: string }[] };
    const view = data.views.find((v) => v.frame === 4)!;
    const tree = decodePacket(Buffer.from(view.hex, 'hex'), { level: 4, dir: 'c2s', tree: true }).tree!;
    expect(seen.title).toContain('Frame 4');
    expect(seen.title).toContain('CONNECT');

    const rl = find(tree, 'remaining length')!;
    expect(seen.byte1.bytes).toEqual([1]);
    expect(seen.byte1.nodes).toEqual([`${rl.label}: ${rl.value}`]);
    expect(seen.byte1.explain[1]).toBe(rl.explain);

    const flags = find(tree, 'connect flags')!;
    expect(seen.flags.bytes).toEqual([flags.offset]);
    expect(seen.flags.nodes).toEqual([flags, ...flags.children!].map((n) => `${n.label}: ${n.value}`));
    expect(seen.flags.explain[1]).toBe(flags.explain);

    // The type filter lists exactly the PUBLISH packets --json reports; j j Enter opens the second of them.
    const records = runCli(['--json', SEED]).stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; type?: string; frame: number });
    const publishes = records.filter((x) => x.kind === 'packet' && x.type === 'PUBLISH').map((x) => x.frame);
    expect(seen.publishRows).toEqual(publishes);
    expect(seen.afterKeys.hash).toBe(`#p${publishes[1]}`);
    expect(seen.afterKeys.title).toContain(`Frame ${publishes[1]}`);

    // A link to a byte (#p4@9) opens the packet with the field holding that byte pinned.
    const linked = inBrowser<{ bytes: number[]; explain: string }>('byte-link', `report.html#p4@${flags.offset}`, `
    out.bytes = [...d.querySelectorAll('#hex span.hi')].map((s) => Number(s.dataset.byte));
    out.explain = d.getElementById('explain').children[1].textContent;`);
    expect(linked).toMatchObject({ bytes: [flags.offset], explain: flags.explain });
  });

  it('draws a connection as a sequence diagram: an arrow per packet, each answer joined to its request with the time between, the close', () => {
    const capture = join(ROOT, 'captures', 'real-v311-qos.pcap');
    expect(runCli(['report', capture, '-o', join(dir, 'qos.html')]).status).toBe(0);
    const seen = inBrowser<{ arrows: { row: number; dir: string; text: string }[]; labels: string[]; close: string }>('ladder', 'qos.html', `
    const sel = d.getElementById('d-conn');
    sel.value = '0';
    sel.dispatchEvent(new w.Event('input'));
    out.arrows = [...d.querySelectorAll('#diagram g.msg')].map((g) => {
      const l = g.querySelector('line');
      return { row: Number(g.getAttribute('data-row')), dir: Number(l.getAttribute('x1')) < Number(l.getAttribute('x2')) ? 'c2s' : 's2c', text: g.querySelector('text').textContent };
    });
    out.labels = [...d.querySelectorAll('#diagram text.pair-label')].map((t) => t.textContent);
    out.close = d.querySelector('#diagram g.close text').textContent;`);

    // The oracle: connection 0's packets in --json, and the request/answer times computed from them here.
    const recs = runCli(['--json', capture]).stdout.trim().split('\n').map((l) => JSON.parse(l) as Rec).filter((r) => r.conn === 0);
    const packets = recs.filter((r) => r.kind === 'packet');
    expect(seen.arrows.map((a) => [a.dir, a.text.split(' ')[0]])).toEqual(packets.map((p) => [p.dir, p.type]));
    const ms = (a: Rec, b: Rec): string => ((micros(b.time) - micros(a.time)) / 1000).toFixed(3);
    const find = (type: string, dir: string, id?: number): Rec => packets.find((p) => p.type === type && p.dir === dir && (id === undefined || p.fields?.packetId === id))!;
    const q1 = packets.find((p) => p.type === 'PUBLISH' && p.fields?.qos === 1)!;
    const q2 = packets.find((p) => p.type === 'PUBLISH' && p.fields?.qos === 2)!;
    const back = q1.dir === 'c2s' ? 's2c' : 'c2s';
    const rec = find('PUBREC', back, q2.fields!.packetId);
    const rel = find('PUBREL', q2.dir!, q2.fields!.packetId);
    const comp = find('PUBCOMP', back, q2.fields!.packetId);
    expect(seen.labels).toEqual([
      `CONNACK ${ms(find('CONNECT', 'c2s'), find('CONNACK', 's2c'))} ms`,
      `SUBACK ${ms(find('SUBSCRIBE', 'c2s'), find('SUBACK', 's2c'))} ms`,
      `PUBACK ${ms(q1, find('PUBACK', back, q1.fields!.packetId))} ms`,
      `PUBREC ${ms(q2, rec)} ms`,
      `PUBREL ${ms(rec, rel)} ms`,
      `PUBCOMP ${ms(rel, comp)} ms, PUBLISH->PUBCOMP ${ms(q2, comp)} ms`,
    ]);
    // The close is said as the text view says it.
    expect(runCli([capture]).stdout).toContain(seen.close);
  });

  it('explain --html: pasted bytes as packet views, the classic CONNECT with its flags byte', () => {
    const hex = '102d00044d5154540 4c20bb8001034304630363030303530383034303530000561646d696e000870617373776f7264'.replace(/ /g, '');
    const r = runCli(['explain', '--html', hex]);
    expect(r.status).toBe(0);
    writeFileSync(join(dir, 'explain.html'), r.stdout);
    const tree = decodePacket(Buffer.from(hex, 'hex'), { level: 4, dir: 'c2s', tree: true }).tree!;
    const flags = find(tree, 'connect flags')!;
    const seen = inBrowser<{ title: string; bytes: number[]; explain: string }>('explain-harness', 'explain.html', `
    out.title = d.getElementById('view-title').textContent;
    d.querySelector('#hex span[data-byte="${flags.offset}"]').dispatchEvent(new w.MouseEvent('click', { bubbles: true }));
    out.bytes = [...d.querySelectorAll('#hex span.hi')].map((s) => Number(s.dataset.byte));
    out.explain = d.getElementById('explain').children[1].textContent;`);
    expect(seen.title).toContain('CONNECT');
    expect(seen.bytes).toEqual([flags.offset]);
    expect(seen.explain).toBe(flags.explain);
  });

  it('follows a message across connections: the publish lists its deliveries with latencies, a delivery names its publish', () => {
    const capture = join(ROOT, 'captures', 'real-sessions.pcap');
    expect(runCli(['report', capture, '-o', join(dir, 'sess.html')]).status).toBe(0);
    const messages = runCli(['--json', capture]).stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; frame: number; conn: number; deliveries?: { conn: number; frame: number; latencyMs: number }[] })
      .filter((r) => r.kind === 'message' && r.deliveries!.length > 0);
    const m = messages[0]!;
    const d = m.deliveries![0]!;
    const seen = inBrowser<{ publish: string[]; links: string[]; delivery: string; arrow: string }>('sess-harness', `sess.html#p${m.frame}`, `
    out.publish = [...d.querySelectorAll('#deliveries li')].map((li) => li.textContent);
    out.links = [...d.querySelectorAll('#deliveries li a')].map((a) => a.getAttribute('href'));
    w.location.hash = '#p${d.frame}';
    w.dispatchEvent(new w.HashChangeEvent('hashchange'));
    out.delivery = d.getElementById('view-message').querySelector('p').textContent;
    out.arrow = [...d.querySelectorAll('#diagram g.msg.sel text')].map((t) => t.textContent).join(' | ');`);
    expect(seen.publish).toHaveLength(m.deliveries!.length);
    m.deliveries!.forEach((x, i) => {
      expect(seen.publish[i]).toMatch(new RegExp(`^conn ${x.conn}\\b`));
      expect(seen.publish[i]).toContain(`frame ${x.frame}, ${x.latencyMs.toFixed(3)} ms after the publish`);
    });
    expect(seen.links).toEqual(m.deliveries!.map((x) => `#p${x.frame}`));
    expect(seen.delivery).toContain(`published by conn ${m.conn}`);
    expect(seen.delivery).toContain(`frame ${m.frame}`);
    expect(seen.arrow).toContain(`⇐ conn ${m.conn} frame ${m.frame}`);
  });
});
