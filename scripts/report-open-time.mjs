#!/usr/bin/env node
/**
 * How fast a report page opens and answers in headless Chromium (Debian's, through playwright-core): for a page made by
 * `mqtt-dissect report`, three fresh loads, each timed to the packet list drawn, then a click on a row to its packet
 * view, then the type filter. Usage: node scripts/report-open-time.mjs PAGE.html (CHROMIUM=path for another binary).
 */
import { chromium } from 'playwright-core';
const file = process.argv[2];
const b = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
for (let run = 0; run < 3; run++) {
  const p = await b.newPage({ viewport: { width: 1200, height: 900 } });
  const t0 = Date.now();
  await p.goto(`file://${file}`, { timeout: 120000 });
  await p.waitForFunction(() => (document.getElementById('count')?.textContent ?? '') !== '', null, { timeout: 120000 });
  const loaded = Date.now() - t0;
  const t1 = Date.now();
  await p.locator('#rows tr').nth(5).click();
  await p.waitForFunction(() => document.getElementById('view-title')?.textContent?.startsWith('Frame'));
  const click = Date.now() - t1;
  const t2 = Date.now();
  await p.selectOption('#f-type', 'SUBSCRIBE');
  const filter = Date.now() - t2;
  console.log(JSON.stringify({ run, loadedMs: loaded, clickMs: click, filterMs: filter }));
  await p.close();
}
await b.close();
