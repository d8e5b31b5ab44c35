#!/usr/bin/env node
/**
 * The README's screenshot of the HTML page (docs/report-seed.png): `report` of the seed walk-through capture, opened
 * in headless Chromium at frame 4's connect flags byte (#p4@9). The overview and the plots are hidden for the picture
 * only, so the packet list, the field tree and the bytes fit one image. Usage: node scripts/report-screenshot.mjs [OUT]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'docs', 'report-seed.png'));
const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-shot-'));
try {
  const page = join(dir, 'seed.html');
  const made = spawnSync(process.execPath, [join(root, 'bin', 'mqtt-dissect.js'), 'report', join(root, 'captures', 'seed-walkthrough.pcap'), '-o', page], { stdio: 'inherit' });
  if (made.status !== 0) process.exit(1);
  const html = readFileSync(page, 'utf8')
    .replace('<section id="overview">', '<section id="overview" style="display:none">')
    .replace('<section id="plots">', '<section id="plots" style="display:none">');
  writeFileSync(page, html);
  const shot = spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1200,1120', `--screenshot=${out}`, `file://${page}#p4@9`], { encoding: 'utf8', timeout: 60_000 });
  if (shot.status !== 0) {
    process.stderr.write(shot.stderr);
    process.exit(1);
  }
  process.stdout.write(`${out}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
