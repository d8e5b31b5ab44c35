/**
 * The HTML page (`report`, issue 16) on captures built for it: its data are the capture's packets and the decoder's
 * field trees, its overview the summary's numbers, capture text can never become markup, and its limits are stated.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPageCommand } from '../src/cli/page.js';
import { MemoryOut } from '../src/cli/output.js';
import { decodePacket } from '../src/mqtt/decoder.js';
import type { FieldNode } from '../src/mqtt/types.js';
import { PageCollector, TreeGate, type PageData } from '../src/page/model.js';
import { buildFrontPipeline, readAll } from '../src/cli/pipeline.js';
import type { TraceSink } from '../src/sessions/records.js';
import { CONTRAST_PAIRS, escapeHtml, JSON_PIECE_ITEMS, LANGUAGE_GUARD, PALETTE, scriptJson, scriptJsonPieces } from '../src/page/html.js';
import { escapeText } from '../src/render/escape.js';
import { KeyLog } from '../src/transport/tls/keylog.js';
import { StatsCapture } from './builders/stats-capture.js';
import * as m from './builders/mqtt-bytes.js';

const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-page-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOSTILE_ID = '</script><script>alert(1)</script>\u001b[31m';
const HOSTILE_TOPIC = 'a/<img src=x onerror=alert(2)>/&amp;/"q"';

/** Two clients; one with hostile strings, a packet with a finding (DUP on QoS 0), a run of PUBLISHes. */
function capture(): StatsCapture {
  const c = new StatsCapture();
  const a = c.conn('10.0.0.2:40001', 0);
  c.c(a, 0.01, m.connect({ clientId: HOSTILE_ID, username: 'jane', password: 's3cret-pw' }));
  c.s(a, 0.02, m.connack({}));
  for (let i = 0; i < 5; i++) c.c(a, 0.1 + i / 100, m.publish({ topic: HOSTILE_TOPIC, payload: `v${i}` }));
  c.c(a, 0.2, m.publish({ topic: 'x/y', payload: 'p', flags: 0x08 })); // DUP 1 with QoS 0: a finding
  c.c(a, 0.21, m.publish({ topic: 'x/long', payload: 'z'.repeat(300) })); // a two-byte Remaining Length
  const b = c.conn('10.0.0.3:40002', 0.3);
  c.c(b, 0.31, m.connect({ clientId: 'plain-client' }));
  c.s(b, 0.32, m.connack({}));
  c.c(b, 0.33, m.publish({ topic: 'plant/line1/temp', payload: '21.5', qos: 1, packetId: 7 }));
  c.s(b, 0.34, m.ack('PUBACK', { packetId: 7 }));
  c.close(a, 0.5);
  c.close(b, 0.5);
  return c;
}

async function page(name: string, o: { redact?: boolean; maxViews?: number; filter?: string } = {}): Promise<{ html: string; data: PageData; cap: StatsCapture }> {
  const cap = capture();
  const file = join(dir, `${name}.pcap`);
  writeFileSync(file, cap.pcap());
  const output = join(dir, `${name}.html`);
  const errors: string[] = [];
  const code = await runPageCommand({
    captures: [file], output, redact: o.redact ?? false, port: [], auto: false, keylog: new KeyLog(), tlsPorts: [], dialect: 'auto',
    ...(o.maxViews !== undefined ? { maxViews: o.maxViews } : {}),
    ...(o.filter !== undefined ? { filter: o.filter } : {}),
  }, new MemoryOut(), (l) => errors.push(l));
  expect(errors).toEqual([]);
  expect(code).toBe(0);
  const html = readFileSync(output, 'utf8');
  const block = /<script type="application\/json" id="page-data">([^<]*)<\/script>/.exec(html);
  expect(block).not.toBeNull();
  return { html, data: JSON.parse(block![1]!) as PageData, cap };
}

function flat(n: FieldNode, depth = 0, out: [number, number, number, string, string, string][] = []): typeof out {
  out.push([depth, n.offset, n.length, n.label, n.value ?? '', n.explain ?? '']);
  for (const c of n.children ?? []) flat(c, depth + 1, out);
  return out;
}

describe('report: the HTML page', () => {
  it('lists every MQTT packet in capture order, with the frame, connection, direction and type', async () => {
    const { data, cap } = await page('rows');
    expect(data.packets).toBe(cap.sent.length);
    expect(data.rows.map((r) => [r[0], r[2], r[3] === 0 ? 'c2s' : 's2c'])).toEqual(cap.sent.map((s) => [s.frame, s.conn, s.dir]));
    expect(data.rows.map((r) => r[4])).toEqual(['CONNECT', 'CONNACK', 'PUBLISH', 'PUBLISH', 'PUBLISH', 'PUBLISH', 'PUBLISH', 'PUBLISH', 'PUBLISH', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK']);
    // The connection's client id on each of its packets (the page's client filter), and a PUBLISH's topic.
    expect(data.rows[11]![7]).toBe('plain-client');
    expect(data.rows[11]![6]).toBe('plant/line1/temp');
    // Findings: the CONNECT's ClientId (characters outside the spec's safe set) and the DUP-on-QoS-0 PUBLISH.
    expect(data.rows.filter((r) => r[8] > 0).map((r) => r[0])).toEqual([cap.sent[0]!.frame, cap.sent[7]!.frame]);
  });

  it('keeps each packet view as the decoder made it: the bytes, and every field with its offset, length and explanation', async () => {
    const { data, cap } = await page('views');
    for (const [i, r] of data.rows.entries()) {
      const v = data.views[r[9]]!;
      const sent = cap.sent[i]!;
      expect(v.frame).toBe(sent.frame);
      expect(v.hex).toBe(Buffer.from(sent.bytes).toString('hex'));
      const tree = decodePacket(sent.bytes, { level: 4, dir: sent.dir, tree: true }).tree!;
      const expected = flat(tree);
      // The page's labels, values and explanations are the decoder's (escaped for display: the hostile id differs).
      expect(v.nodes.map((n) => [n[0], n[1], n[2]])).toEqual(expected.map((n) => [n[0], n[1], n[2]]));
      if (sent.type !== 1) expect(v.nodes.map((n) => [n[3], n[5]])).toEqual(expected.map((n) => [n[3], n[5]]));
      for (const n of v.nodes) expect(n[1] + n[2]).toBeLessThanOrEqual(v.length);
    }
    const long = data.views[data.rows[8]![9]]!;
    const rl = long.nodes.find((n) => n[3] === 'remaining length')!;
    expect([rl[1], rl[2]]).toEqual([1, 2]);
    expect(rl[5]).toMatch(/128/); // the Remaining Length arithmetic, from the decoder
    expect(data.views[1]!.findings).toEqual([]);
    const dup = data.views[data.rows[7]![9]]!;
    expect(dup.findings.length).toBeGreaterThan(0);
    expect(dup.findings[0]![4]).toBe(0); // the finding marks the fixed header's byte
  });

  it('never lets capture text become markup: three script elements (data, chart library, page), the hostile strings only escaped', async () => {
    const { html, data } = await page('hostile');
    expect(html.match(/<script/g)!.length).toBe(3);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('\u001b');
    // The data block holds them as \u escapes, and they come back intact.
    expect(data.rows[2]![6]).toBe(HOSTILE_TOPIC);
    expect(data.rows[0]![7]).toBe(escapeText(HOSTILE_ID));
    expect(escapeText(HOSTILE_ID)).not.toContain('\u001b');
    // The overview's topics table holds the topic HTML-escaped.
    expect(html).toContain(escapeHtml(HOSTILE_TOPIC));
    expect(scriptJson('</script>\u2028')).toBe('"\\u003c/script\\u003e\\u2028"');
  });

  it('shows the summary\'s numbers in the overview, readable without the script', async () => {
    const { html } = await page('overview');
    const types = /<table class="summary" data-table="types">([\s\S]*?)<\/table>/.exec(html)![1]!;
    const counts = Object.fromEntries([...types.matchAll(/<tr><td>(\w+)<\/td><td>(\d+)<\/td><\/tr>/g)].map((x) => [x[1], Number(x[2])]));
    expect(counts).toEqual({ PUBLISH: 8, CONNECT: 2, CONNACK: 2, PUBACK: 1 });
    expect(html).toMatch(/<th>MQTT packets<\/th><td>13<\/td>/);
    expect(html).toMatch(/<th>connections<\/th><td>2<\/td>/);
    // The builder writes raw IP frames (LINKTYPE_RAW): every frame of the capture counted under it.
    expect(html).toMatch(new RegExp(`<th>link types \\(frames\\)</th><td>raw IP \\(RAW\\): ${capture().frames.length}</td>`));
    expect(html).toContain('data-table="findings"');
  });

  it('states its limits: views for the first N packets and for those with findings, the rest counted', async () => {
    const { html, data } = await page('limits', { maxViews: 3 });
    // Three views, then the one packet with a finding gets one too.
    expect(data.views.map((v) => v.frame)).toEqual([...data.rows.slice(0, 3).map((r) => r[0]), data.rows[7]![0]]);
    expect(data.rows.filter((r) => r[9] < 0).length).toBe(13 - 4);
    expect(data.viewsLeftOut).toBe(9);
    expect(html).toContain('Packet views (field tree and bytes) are kept for the first 3 packets');
  });

  it('builds field trees only for the packets it keeps a view of, and those views are as with every tree built', async () => {
    const all = (await page('trees-all')).data;
    const { data } = await page('trees-3', { maxViews: 3 });
    expect(data.views).toHaveLength(4);
    for (const v of data.views) expect(v).toEqual(all.views.find((w) => w.frame === v.frame));
    // Behind TreeGate, where the dialect stage sits: a tree for the first 3 packets and for the one with a finding.
    const file = join(dir, 'trees-3.pcap');
    const collector = new PageCollector({ redact: false, maxViews: 3 });
    const hadTree: boolean[] = [];
    const probe: TraceSink = { open() {}, close() {}, event() {}, packet(rec) { hadTree.push(rec.decoded.tree !== null); collector.packet(rec); } };
    const pipeline = buildFrontPipeline(new TreeGate(probe, collector), { ports: [1883], auto: false, tree: true, treeWanted: () => collector.treeWanted, dialect: 'auto' });
    await readAll([file], pipeline, { interrupted: () => false });
    pipeline.finish();
    expect(hadTree).toEqual(data.rows.map((_, i) => i < 3 || i === 7));
    expect(collector.data().views.map((v) => v.frame)).toEqual(data.views.map((v) => v.frame));
  });

  it('writes its data block in pieces that joined are the one JSON (JSON.stringify\'s order, undefined left out, escaped)', async () => {
    const n = JSON_PIECE_ITEMS * 4 + 3;
    const v: Record<string, unknown> = {
      rows: Array.from({ length: n }, (_, i) => [i, `</script>${i}`, i % 2 === 0 ? undefined : '\u2028&']),
      empty: [], gone: undefined, one: [1], limits: { rows: 1, nested: [1, 2] }, count: 7, text: '<b>',
    };
    const pieces = [...scriptJsonPieces(v)];
    expect(pieces.join('')).toBe(scriptJson(v));
    expect(JSON.parse(pieces.join(''))).toEqual(JSON.parse(JSON.stringify(v)));
    expect(pieces.length).toBeGreaterThan(3); // the rows came in several pieces
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(scriptJson(v['rows']).length / 3);
    expect([...scriptJsonPieces({})].join('')).toBe('{}');
    // The page as written to a file is the page as one string (what standard output gets).
    const { html } = await page('pieces');
    const out = new MemoryOut();
    const file = join(dir, 'pieces.pcap');
    expect(await runPageCommand({ captures: [file], output: null, redact: false, port: [], auto: false, keylog: new KeyLog(), tlsPorts: [], dialect: 'auto' }, out, () => undefined)).toBe(0);
    expect(out.text()).toBe(`${html}\n`);
  });

  it('masks the password with --redact, in the tree and the list', async () => {
    const plain = await page('plain');
    expect(JSON.stringify(plain.data)).toContain('s3cret-pw');
    const { data } = await page('redacted', { redact: true });
    expect(JSON.stringify(data)).not.toContain('s3cret-pw');
    expect(data.views[0]!.nodes.some((n) => n[3] === 'password' && n[4] === '***')).toBe(true);
  });

  it('plots from the statistics: packets per type and bytes each way per bucket, round trips, busiest topics', async () => {
    const { data, cap } = await page('plots');
    const p = data.plots!;
    const sum = (v: number[]): number => v.reduce((a, b) => a + b, 0);
    expect(p.ioWidth).toBe(1);
    expect(sum(p.ioTypes['PUBLISH']!)).toBe(cap.sent.filter((x) => x.type === 3).length);
    expect(Object.keys(p.ioTypes).sort()).toEqual(['CONNACK', 'CONNECT', 'PUBACK', 'PUBLISH']);
    const bytes = (dir: string): number => cap.sent.filter((x) => x.dir === dir).reduce((n, x) => n + x.bytes.length, 0);
    expect([sum(p.bytesC2s), sum(p.bytesS2c)]).toEqual([bytes('c2s'), bytes('s2c')]);
    // Round trips at the answer's time, in ms: CONNECT 0.01 -> CONNACK 0.02 and the second client's three pairs.
    expect(p.rtt.map((r) => [r[2], r[1]])).toEqual([['CONNECT->CONNACK', 10], ['CONNECT->CONNACK', 10], ['PUBLISH->PUBACK', 10]]);
    expect(p.topics[0]!.topic).toBe(HOSTILE_TOPIC);
    // The same pairs join requests to answers in the sequence diagrams: the request's frame, the answer's row.
    expect(data.pairs).toEqual([
      [cap.sent[0]!.frame, 1, 'CONNECT->CONNACK', 10],
      [cap.sent[9]!.frame, 10, 'CONNECT->CONNACK', 10],
      [cap.sent[11]!.frame, 12, 'PUBLISH->PUBACK', 10],
    ]);
    expect(sum(p.topics[0]!.rate)).toBe(5);
  });

  it('-Y: the page shows what the expression matches, its tables count only that, and it says so', async () => {
    const { data, html, cap } = await page('filtered', { filter: 'type == PUBLISH && clientId == "plain-client"' });
    const wanted = cap.sent.filter((x) => x.type === 3 && x.conn === 1);
    expect(data.rows.map((r) => r[0])).toEqual(wanted.map((x) => x.frame));
    const types = /<table class="summary" data-table="types">([\s\S]*?)<\/table>/.exec(html)![1]!;
    expect([...types.matchAll(/<tr><td>(\w+)<\/td><td>(\d+)<\/td><\/tr>/g)].map((x) => [x[1], Number(x[2])])).toEqual([['PUBLISH', 1]]);
    expect(html).toContain('<th>shown</th><td>what -Y type == PUBLISH &amp;&amp; clientId == &quot;plain-client&quot; matches');
    // The unfiltered page lists every packet (the filter narrows, it does not find less).
    expect((await page('unfiltered')).data.rows.length).toBe(cap.sent.length);
  });

  it('passes WCAG AA contrast in both colour schemes, and its CSP lets only its own two scripts run', async () => {
    const lum = (hex: string): number => {
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    const ratio = (a: string, b: string): number => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
      return (x! + 0.05) / (y! + 0.05);
    };
    const low: string[] = [];
    for (const [scheme, colours] of Object.entries(PALETTE)) {
      for (const [fg, bg, min] of CONTRAST_PAIRS) {
        const r = ratio(colours[fg], colours[bg]);
        if (r < min) low.push(`${scheme} ${fg} on ${bg}: ${r.toFixed(2)} < ${min}`);
      }
    }
    expect(low).toEqual([]);
    expect(ratio('#777777', '#ffffff')).toBeLessThan(4.5); // the check can fail
    const { html } = await page('csp');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)![1]!;
    expect(csp).toMatch(/default-src 'none'/);
    const scriptSrc = /script-src ([^;]*)/.exec(csp)![1]!.trim().split(/\s+/);
    expect(scriptSrc).toHaveLength(2);
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((x) => x[1]!);
    expect(inline).toHaveLength(2);
    const { createHash } = await import('node:crypto');
    expect(scriptSrc).toEqual(inline.map((js) => `'sha256-${createHash('sha256').update(js, 'utf8').digest('base64')}'`));
  });

  it('runs uPlot where navigator.language is no language tag (WebKitGTK under the C locale says "C")', async () => {
    const { runInNewContext } = await import('node:vm');
    const language = (lang: string): string => runInNewContext(`${LANGUAGE_GUARD}; new Intl.NumberFormat(navigator.language); navigator.language`, { navigator: { language: lang } }) as string;
    expect(() => runInNewContext('new Intl.NumberFormat(navigator.language)', { navigator: { language: 'C' } })).toThrow(/locale/); // what uPlot does as it loads
    expect(language('C')).toBe('en-US');
    expect(language('de-DE')).toBe('de-DE');
    // The guard runs first in the chart library's script.
    const { html } = await page('language');
    expect([...html.matchAll(/<script>([\s\S]*?)<\/script>/g)][0]![1]!.startsWith(LANGUAGE_GUARD)).toBe(true);
  });
});
