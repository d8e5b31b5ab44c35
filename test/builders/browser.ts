/**
 * Debian's Chromium, driven headless through playwright-core (no browser download: the system's own binary). Tests
 * that need it skip when no Chromium is installed; `.ci/run` installs it, so CI runs them.
 */
import { spawnSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';

const has = (cmd: string): string | null => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

/** The Chromium binary, or null when none is installed. */
export const CHROMIUM: string | null = has('chromium') ?? has('chromium-browser') ?? has('google-chrome');

export interface Opened {
  page: Page;
  /** Console errors and uncaught exceptions, as they came. */
  errors: string[];
  /** Dialogs the page tried to open (alert, confirm, prompt): a page that runs capture text would. */
  dialogs: string[];
}

let browser: Browser | null = null;

export async function launch(): Promise<Browser> {
  if (browser === null) {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox', '--disable-gpu'] });
  }
  return browser;
}

export async function closeBrowser(): Promise<void> {
  await browser?.close();
  browser = null;
}

/** Opens a file in a new page (light or dark scheme) and collects its console errors and dialogs. */
export async function open(file: string, hash = '', o: { colorScheme?: 'light' | 'dark'; width?: number; height?: number } = {}): Promise<Opened> {
  const b = await launch();
  const context = await b.newContext({ colorScheme: o.colorScheme ?? 'light', viewport: { width: o.width ?? 1200, height: o.height ?? 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  await page.goto(`file://${file}${hash}`);
  return { page, errors, dialogs };
}
