/**
 * The HTML page in a real browser: Debian's Chromium, headless, driven through playwright-core as a person would use
 * the page — a click on a byte, on a field, the filter box, j and Enter, Tab to a field — with no console error on any
 * page. Expected values come from the decoder and from `--json`, never from the page. The test run writes screenshots
 * of the overview, a packet view and a sequence diagram to a temp dir (docs/ keeps one of each, made by
 * scripts/report-screenshot.mjs).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/mqtt/decoder.js';
import { PALETTE } from '../../src/page/html.js';
import { CHROMIUM, closeBrowser, open } from '../builders/browser.js';
import { ROOT, runCli } from '../builders/cli.js';
import { find, HOSTILE_FRAMES, HOSTILE_TOPIC_TEXT, hostileCapture, records, report as writeReport, SEED, viewTree, type Rec } from '../builders/page-report.js';

const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-page-e2e-'));
afterAll(async () => {
  await closeBrowser();
  rmSync(dir, { recursive: true, force: true });
});

const report = (capture: string, name: string, extra: string[] = []): string => writeReport(dir, capture, name, extra);

function micros(iso: string): number {
  const x = /T(\d\d):(\d\d):(\d\d)\.(\d{6})Z$/.exec(iso)!;
  return ((Number(x[1]) * 60 + Number(x[2])) * 60 + Number(x[3])) * 1e6 + Number(x[4]);
}

describe.skipIf(CHROMIUM === null)('report in a real browser (Chromium via playwright-core)', () => {
  it('the seed walk-through: the list, a click on c2 explains the connect flags, fields map to bytes, filter, keys, links, plots', async () => {
    const file = report(SEED, 'seed');
    const { page, errors, dialogs } = await open(file, '#p4');
    const packets = records(SEED).filter((r) => r.kind === 'packet');
    expect(await page.locator('#rows tr').count()).toBe(packets.length);
    expect(await page.textContent('#view-title')).toContain('Frame 4');

    // The CONNECT's byte c2 is its connect flags: the field and its bits light up, the decoder's explanation shows.
    const tree = viewTree(file, 4);
    const flags = find(tree, 'connect flags')!;
    const c2 = page.locator('#hex span[data-byte]', { hasText: /^c2$/ });
    expect(await c2.count()).toBe(1);
    await c2.click();
    const lit = async (): Promise<{ bytes: number[]; nodes: string[] }> => ({
      bytes: await page.locator('#hex span.hi').evaluateAll((xs) => xs.map((x) => Number(x.getAttribute('data-byte')))),
      nodes: (await page.locator('#tree div.hi').allTextContents()).map((t) => t.trim()),
    });
    expect(await lit()).toEqual({ bytes: [flags.offset], nodes: [flags, ...flags.children!].map((n) => `${n.label}: ${n.value}`) });
    expect(await page.textContent('#explain')).toContain('clean session 1');
    expect(await page.textContent('#explain')).toContain(flags.explain!);

    // A field chosen in the tree lights its bytes; Tab and Enter do the same as a click.
    const rl = find(tree, 'remaining length')!;
    await page.locator('#tree div', { hasText: /^\s*remaining length:/ }).click();
    expect((await lit()).bytes).toEqual([rl.offset]);
    expect(await page.textContent('#explain')).toContain(rl.explain!);
    const clientId = find(tree, 'client identifier')!;
    await page.locator('#tree div', { hasText: /^\s*client identifier:/ }).focus();
    await page.keyboard.press('Enter');
    expect((await lit()).bytes).toEqual(Array.from({ length: clientId.length }, (_, i) => clientId.offset + i));

    // The type filter narrows the list to what --json calls PUBLISH; j j Enter opens the second of them.
    await page.selectOption('#f-type', 'PUBLISH');
    const publishes = packets.filter((p) => p.type === 'PUBLISH').map((p) => p.frame);
    expect((await page.locator('#rows tr td:first-child').allTextContents()).map(Number)).toEqual(publishes);
    await page.locator('h1').click();
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    // Browser-side code as strings: this file is type-checked without the DOM library.
    expect(await page.evaluate('location.hash')).toBe(`#p${publishes[1]}`);
    expect(await page.textContent('#view-title')).toContain(`Frame ${publishes[1]}`);

    // The plots are drawn: one series per packet type the capture has, two byte directions.
    for (const id of ['plot-types', 'plot-bytes', 'plot-rtt', 'plot-topics']) expect(await page.locator(`#${id} canvas`).count()).toBeGreaterThan(0);
    expect(Number(await page.getAttribute('#plot-types', 'data-series'))).toBe(new Set(packets.map((p) => p.type)).size);

    // Screenshots of the three views, written by the test run.
    await page.locator('#overview').screenshot({ path: join(dir, 'overview.png') });
    await page.goto(`file://${file}#p4@${flags.offset}`);
    await page.reload();
    expect((await lit()).bytes).toEqual([flags.offset]); // a link to a byte opens with its field pinned
    await page.locator('#packet').screenshot({ path: join(dir, 'packet.png') });
    await page.locator('#ladder').screenshot({ path: join(dir, 'ladder.png') });
    for (const f of ['overview.png', 'packet.png', 'ladder.png']) expect(statSync(join(dir, f)).size).toBeGreaterThan(5_000);
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
  });

  it('the filter box takes -Y expressions: the list has --json -Y\'s packets; a wrong one shows the CLI\'s error and caret', async () => {
    const capture = join(ROOT, 'captures', 'real-sessions-v5.pcap');
    const { page, errors } = await open(report(capture, 'expr'));
    const all = records(capture).filter((r) => r.kind === 'packet').length;
    for (const expr of ['type == PUBLISH && topic matches "+/#"', 'qos > 0 || type in {SUBSCRIBE, SUBACK}', 'conn != 0 && !(dir == s2c)', 'violation || length > 100']) {
      const want = runCli(['--json', '-Y', expr, capture]).stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Rec)
        .filter((r) => r.kind === 'packet');
      await page.fill('#f-expr', expr);
      expect(await page.textContent('#count'), expr).toBe(`${want.length} of ${all} packets listed`);
      expect((await page.locator('#rows tr td:first-child').allTextContents()).map(Number), expr).toEqual(want.slice(0, 500).map((r) => r.frame));
      expect(await page.textContent('#f-expr-error'), expr).toBe('');
    }
    // An error: the CLI's message and caret under the box, the expression not applied, nothing thrown.
    await page.fill('#f-expr', 'type == PUBLISH && qos = 1');
    const cli = runCli(['--json', '-Y', 'type == PUBLISH && qos = 1', capture]);
    expect(cli.status).not.toBe(0);
    const shown = (await page.textContent('#f-expr-error'))!;
    for (const line of shown.split('\n')) expect(cli.stderr).toContain(line);
    expect(shown).toContain('"=" is not an operator');
    expect(shown.split('\n')[2]).toBe(`  ${' '.repeat(23)}^`);
    expect(await page.textContent('#count')).toContain(`${all} of ${all} packets listed (the expression is not applied`);
    // A field the page does not hold says so.
    await page.fill('#f-expr', 'payload contains "x"');
    expect(await page.textContent('#f-expr-error')).toMatch(/^payload is not in the page .*report -Y/);
    expect(await page.getAttribute('#f-expr', 'aria-invalid')).toBe('true');
    await page.fill('#f-expr', '');
    expect(await page.textContent('#count')).toBe(`${all} of ${all} packets listed`);
    expect(errors).toEqual([]);
  });

  it('a sequence diagram: an arrow per packet, each answer joined to its request with the time between, the close', async () => {
    const capture = join(ROOT, 'captures', 'real-v311-qos.pcap');
    const { page, errors } = await open(report(capture, 'qos'));
    await page.selectOption('#d-conn', '0');
    const arrows = await page.locator('#diagram g.msg').evaluateAll((gs) => gs.map((g) => {
      const l = g.querySelector('line')!;
      return { dir: Number(l.getAttribute('x1')) < Number(l.getAttribute('x2')) ? 'c2s' : 's2c', text: g.querySelector('text')!.textContent ?? '' };
    }));
    const packets = records(capture).filter((r) => r.kind === 'packet' && r.conn === 0);
    expect(arrows.map((a) => [a.dir, a.text.split(' ')[0]])).toEqual(packets.map((p) => [p.dir, p.type]));
    const ms = (a: Rec, b: Rec): string => ((micros(b.time) - micros(a.time)) / 1000).toFixed(3);
    const pick = (type: string, dir: string, id?: number): Rec => packets.find((p) => p.type === type && p.dir === dir && (id === undefined || p.fields?.packetId === id))!;
    const q1 = packets.find((p) => p.type === 'PUBLISH' && p.fields?.qos === 1)!;
    const q2 = packets.find((p) => p.type === 'PUBLISH' && p.fields?.qos === 2)!;
    const back = q1.dir === 'c2s' ? 's2c' : 'c2s';
    const rec = pick('PUBREC', back, q2.fields!.packetId);
    const rel = pick('PUBREL', q2.dir!, q2.fields!.packetId);
    const comp = pick('PUBCOMP', back, q2.fields!.packetId);
    expect(await page.locator('#diagram text.pair-label').allTextContents()).toEqual([
      `CONNACK ${ms(pick('CONNECT', 'c2s'), pick('CONNACK', 's2c'))} ms`,
      `SUBACK ${ms(pick('SUBSCRIBE', 'c2s'), pick('SUBACK', 's2c'))} ms`,
      `PUBACK ${ms(q1, pick('PUBACK', back, q1.fields!.packetId))} ms`,
      `PUBREC ${ms(q2, rec)} ms`,
      `PUBREL ${ms(rec, rel)} ms`,
      `PUBCOMP ${ms(rel, comp)} ms, PUBLISH->PUBCOMP ${ms(q2, comp)} ms`,
    ]);
    // The close is said as the text view says it; an arrow opens its packet.
    expect(runCli([capture]).stdout).toContain(await page.textContent('#diagram g.close text'));
    await page.locator('#diagram g.msg').nth(2).click();
    expect(await page.textContent('#view-title')).toContain(`Frame ${packets[2]!.frame}`);
    expect(errors).toEqual([]);
  });

  it('explain --html: pasted bytes as packet views, the classic CONNECT with its flags byte', async () => {
    const hex = '102d00044d51545404c20bb8001034304630363030303530383034303530000561646d696e000870617373776f7264';
    const r = runCli(['explain', '--html', hex]);
    expect(r.status).toBe(0);
    writeFileSync(join(dir, 'explain.html'), r.stdout);
    const flags = find(decodePacket(Buffer.from(hex, 'hex'), { level: 4, dir: 'c2s', tree: true }).tree!, 'connect flags')!;
    const { page, errors } = await open(join(dir, 'explain.html'));
    expect(await page.textContent('#view-title')).toContain('CONNECT');
    await page.click(`#hex span[data-byte="${flags.offset}"]`);
    expect(await page.textContent('#explain')).toContain(flags.explain!);
    expect(errors).toEqual([]);
  });

  it('follows a message across connections: the publish lists its deliveries with latencies, a delivery names its publish', async () => {
    const capture = join(ROOT, 'captures', 'real-sessions.pcap');
    const msg = records(capture).find((r) => r.kind === 'message' && r.deliveries!.length > 0)!;
    const { page, errors } = await open(report(capture, 'sess'), `#p${msg.frame}`);
    const items = await page.locator('#deliveries li').allTextContents();
    expect(items).toHaveLength(msg.deliveries!.length);
    msg.deliveries!.forEach((x, i) => {
      expect(items[i]).toMatch(new RegExp(`^conn ${x.conn}\\b`));
      expect(items[i]).toContain(`frame ${x.frame}, ${x.latencyMs.toFixed(3)} ms after the publish`);
    });
    await page.locator('#deliveries li a').first().click();
    expect(await page.textContent('#view-message p')).toContain(`published by conn ${msg.conn}`);
    expect(await page.locator('#diagram g.msg.sel text').first().textContent()).toContain(`⇐ conn ${msg.conn} frame ${msg.frame}`);
    expect(errors).toEqual([]);
  });

  it('runs nothing from the capture: <script> and event handlers in topics, client ids, payloads and user properties stay text', async () => {
    const capture = hostileCapture(dir);
    const file = report(capture, 'hostile');
    const { page, errors, dialogs } = await open(file);
    for (const frame of HOSTILE_FRAMES) {
      await page.evaluate(`location.hash = '#p${frame}'`);
      await page.waitForFunction(`document.getElementById('view-title').textContent.includes('Frame ${frame}')`);
    }
    await page.selectOption('#d-conn', '0');
    expect(await page.evaluate('typeof window.pwned')).toBe('undefined');
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]); // a blocked inline script would be a CSP error here
    expect(await page.locator('img').count()).toBe(0);
    // The topic is shown as the text it is (quoted as the text view quotes it).
    expect(await page.locator('#rows tr').nth(2).textContent()).toContain(HOSTILE_TOPIC_TEXT);
    expect(await page.evaluate('document.scripts.length')).toBe(3);
  });

  it('follows the dark colour scheme', async () => {
    const { page } = await open(report(SEED, 'dark'), '', { colorScheme: 'dark' });
    const colours = await page.evaluate('[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]');
    const rgb = (hex: string): string => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
    expect(colours).toEqual([rgb(PALETTE.dark.bg), rgb(PALETTE.dark.fg)]);
  });
});
