#!/usr/bin/env node
/**
 * The README's pictures of the HTML page, made in headless Chromium (Debian's, through playwright-core):
 * docs/report-overview.png (`report` of captures/real-v311-qos.pcap: its overview), docs/report-seed.png (the seed
 * walk-through's CONNECT with its connect flags byte chosen, #p4@9) and docs/report-ladder.png (real-v311-qos's first
 * connection as a sequence diagram). Usage: node scripts/report-screenshot.mjs [DIR]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..');
const outDir = resolve(process.argv[2] ?? join(root, 'docs'));
const work = mkdtempSync(join(tmpdir(), 'mqtt-dissect-shot-'));
const browserPath = ['chromium', 'chromium-browser', 'google-chrome']
  .map((c) => spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }))
  .find((r) => r.status === 0)?.stdout.trim();
if (browserPath === undefined) {
  process.stderr.write('report-screenshot: no Chromium installed (apt-get install chromium)\n');
  process.exit(1);
}

function report(capture, name) {
  const out = join(work, `${name}.html`);
  const r = spawnSync(process.execPath, [join(root, 'bin', 'mqtt-dissect.js'), 'report', join(root, 'captures', capture), '-o', out], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
  return out;
}

const browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const qos = report('real-v311-qos.pcap', 'qos');
  await page.goto(`file://${qos}`);
  await page.locator('#overview').screenshot({ path: join(outDir, 'report-overview.png') });
  await page.selectOption('#d-conn', '0');
  await page.locator('#ladder').screenshot({ path: join(outDir, 'report-ladder.png') });
  const seed = report('seed-walkthrough.pcap', 'seed');
  await page.goto(`file://${seed}#p4@9`);
  await page.locator('#packet').screenshot({ path: join(outDir, 'report-seed.png') });
  for (const f of ['report-overview.png', 'report-seed.png', 'report-ladder.png']) process.stdout.write(`${join(outDir, f)}\n`);
} finally {
  await browser.close();
  rmSync(work, { recursive: true, force: true });
}
