/**
 * The HTML page in Firefox and in WebKit (the engine of Safari), as the issue asks of the page ("opens from file:// in
 * Chromium, Firefox and Safari"): Debian's firefox-esr over WebDriver BiDi and WebKitGTK's MiniBrowser through
 * WebKitWebDriver (test/builders/engines.ts). Per engine, what differs between engines matters: the page's scripts
 * run without an error under its CSP, the packet list has `--json`'s count, a real click on the CONNECT's connect flags
 * byte lights the "connect flags" field and its bits, and the hostile capture runs nothing. Chromium's fuller walk
 * through the page is test/e2e/page-browser.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIREFOX, launchFirefox, launchWebKit, WEBKIT, WEBKIT_MISSING, type Engine } from '../builders/engines.js';
import { find, HOSTILE_FRAMES, HOSTILE_TOPIC_TEXT, hostileCapture, records, report, SEED, viewTree } from '../builders/page-report.js';

const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-page-engines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

if (FIREFOX === null) console.warn('page-browsers: Firefox tests skipped: no firefox-esr or firefox (apt: firefox-esr)');
if (WEBKIT === null) console.warn(`page-browsers: WebKit tests skipped: missing ${WEBKIT_MISSING}`);

const ENGINES = [
  { name: 'Firefox', missing: FIREFOX === null, launch: launchFirefox },
  { name: 'WebKit', missing: WEBKIT === null, launch: launchWebKit },
];

for (const e of ENGINES) {
  describe.skipIf(e.missing)(`report in ${e.name}`, () => {
    let engine: Engine;
    beforeAll(async () => {
      engine = await e.launch();
      console.log(`page-browsers: ${engine.name} ${engine.version}`);
    }, 90_000);
    afterAll(async () => {
      await engine?.close();
    }, 30_000);

    it('the seed walk-through: no script error, the list has --json\'s packets, a click on c2 lights "connect flags"', async () => {
      const file = report(dir, SEED, `seed-${e.name}`);
      const packets = records(SEED).filter((r) => r.kind === 'packet');
      await engine.open(file, '#p4');
      expect(await engine.evaluate<number>('document.querySelectorAll("#rows tr").length')).toBe(packets.length);
      expect(await engine.evaluate<string>('document.getElementById("view-title").textContent')).toContain('Frame 4');

      const tree = viewTree(file, 4);
      const flags = find(tree, 'connect flags')!;
      const c2 = '[...document.querySelectorAll("#hex span[data-byte]")].filter((s) => s.textContent === "c2")';
      expect(await engine.evaluate<number>(`${c2}.length`)).toBe(1);
      expect(await engine.evaluate<number>('document.querySelectorAll("#hex span.hi").length')).toBe(0);
      await engine.click(`${c2}[0]`);
      const lit = await engine.evaluate<{ bytes: number[]; nodes: string[] }>(`({
        bytes: [...document.querySelectorAll('#hex span.hi')].map((x) => Number(x.getAttribute('data-byte'))),
        nodes: [...document.querySelectorAll('#tree div.hi')].map((x) => x.textContent.trim()),
      })`);
      expect(lit).toEqual({ bytes: [flags.offset], nodes: [flags, ...flags.children!].map((n) => `${n.label}: ${n.value}`) });
      const explain = await engine.evaluate<string>('document.getElementById("explain").textContent');
      expect(explain).toContain('clean session 1');
      expect(explain).toContain(flags.explain!);
      // The plots drew (uPlot's canvas), so the charting script ran under the CSP too.
      expect(await engine.evaluate<number>('document.querySelectorAll("#plot-types canvas").length')).toBeGreaterThan(0);
      expect(await engine.errors()).toEqual([]);
      expect(await engine.dialogs()).toEqual([]);
    }, 60_000);

    it('the hostile capture runs nothing: no dialog, window.pwned undefined, no element from the capture', async () => {
      const capture = hostileCapture(dir);
      const file = report(dir, capture, `hostile-${e.name}`);
      await engine.open(file);
      for (const frame of HOSTILE_FRAMES) await engine.hash(`#p${frame}`, `document.getElementById('view-title').textContent.includes('Frame ${frame}')`);
      await engine.evaluate('(document.getElementById("d-conn").value = "0", document.getElementById("d-conn").dispatchEvent(new Event("change")), true)');
      expect(await engine.evaluate<number>('document.querySelectorAll("#diagram g.msg").length')).toBe(records(capture).filter((r) => r.kind === 'packet').length);
      expect(await engine.evaluate<string>('typeof window.pwned')).toBe('undefined');
      expect(await engine.dialogs()).toEqual([]);
      expect(await engine.errors()).toEqual([]); // a blocked inline script or handler would be a CSP violation here
      expect(await engine.evaluate<number>('document.querySelectorAll("img").length')).toBe(0);
      expect(await engine.evaluate<string>('document.querySelectorAll("#rows tr")[2].textContent')).toContain(HOSTILE_TOPIC_TEXT);
    }, 60_000);
  });
}
