/**
 * Firefox and WebKit (the engine Safari uses), the system's own builds driven over the W3C WebDriver protocols, with
 * no browser download (test/builders/browser.ts drives Chromium through playwright-core):
 *
 * - Firefox (Debian's firefox-esr) over WebDriver BiDi, which Firefox speaks itself (`--remote-debugging-port`), on a
 *   WebSocket (the `ws` package). playwright-core's own Firefox BiDi channel asks for commands Firefox ESR does not
 *   have (emulation.setMediaFeaturesOverride), and classic WebDriver would need geckodriver, which Debian does not ship.
 * - WebKitGTK's MiniBrowser through WebKitWebDriver (Debian's webkit2gtk-driver), a classic W3C WebDriver HTTP server,
 *   with plain fetch calls; MiniBrowser needs a display, so an Xvfb of our own runs beside it.
 *
 * Every process is started in its own process group and killed by that group in close(). Every wait is bounded.
 * Script errors are collected by HOOK, run before the page's own scripts: Firefox gets it as a BiDi preload script
 * (and its log events besides); WebKit's classic WebDriver cannot run anything before a page loads, so it opens a copy
 * of the page with HOOK as the first script and its hash added to the page's CSP (the page's own scripts unchanged).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const which = (cmd: string): string | null => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

/** Debian's Firefox ESR (or a firefox), or null. */
export const FIREFOX: string | null = which('firefox-esr') ?? which('firefox');

const MINIBROWSERS = ['/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', '/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser', '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser'];
const webkitDriver = which('WebKitWebDriver');
const miniBrowser = MINIBROWSERS.find((p) => existsSync(p)) ?? null;
const xvfb = which('Xvfb');

/** What WebKit needs (WebKitWebDriver, MiniBrowser, Xvfb), or null with what is missing. */
export const WEBKIT: { driver: string; browser: string; xvfb: string } | null =
  webkitDriver !== null && miniBrowser !== null && xvfb !== null ? { driver: webkitDriver, browser: miniBrowser, xvfb } : null;
export const WEBKIT_MISSING = [webkitDriver === null ? 'WebKitWebDriver (apt: webkit2gtk-driver)' : '', miniBrowser === null ? 'MiniBrowser (apt: webkit2gtk-driver)' : '', xvfb === null ? 'Xvfb (apt: xvfb)' : ''].filter((x) => x !== '').join(', ');

/**
 * Collects what goes wrong in the page into window.__errors: uncaught errors (and resources that fail to load, caught
 * on the way down), rejected promises, CSP violations (an inline script or handler the policy blocked), console.error.
 */
export const HOOK = `(() => {
  const w = window, errs = [];
  Object.defineProperty(w, '__errors', { value: errs });
  w.addEventListener('error', (e) => errs.push('error: ' + (e.message || (e.target && e.target.tagName) || 'unknown') + (e.filename ? ' at ' + e.filename.slice(-40) + ':' + e.lineno + ':' + e.colno : '')), true);
  w.addEventListener('unhandledrejection', (e) => errs.push('rejection: ' + String(e.reason)));
  document.addEventListener('securitypolicyviolation', (e) => errs.push('csp: ' + e.violatedDirective + ' ' + e.blockedURI));
  const ce = console.error.bind(console);
  console.error = (...a) => { errs.push('console: ' + a.map(String).join(' ')); ce(...a); };
})();`;

export interface Engine {
  readonly name: string;
  readonly version: string;
  /** Opens a file (with a #hash) and waits for it to load. */
  open(file: string, hash?: string): Promise<void>;
  /** Sets location.hash and waits until `until` (a JS expression) is true. */
  hash(h: string, until: string): Promise<void>;
  /** The value of a JS expression in the page (JSON-serialisable). */
  evaluate<T>(expr: string): Promise<T>;
  /** A real pointer click (WebDriver actions) on the element a JS expression yields. */
  click(elementExpr: string): Promise<void>;
  /** Script errors so far: the hook's, and for Firefox the BiDi log's. */
  errors(): Promise<string[]>;
  /** Dialogs the page opened (alert, confirm, prompt). */
  dialogs(): Promise<string[]>;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it returns a value (not undefined), at most `ms`. */
async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(50);
  }
}

/** Kills a process group we started (SIGKILL after a bounded wait for SIGTERM). */
async function killGroup(p: ChildProcess | null): Promise<void> {
  if (p === null || p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  try { process.kill(-p.pid, 'SIGTERM'); } catch { return; }
  const t = await Promise.race([exited.then(() => 'exited'), sleep(3_000).then(() => 'late')]);
  if (t === 'late') {
    try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
    await Promise.race([exited, sleep(2_000)]);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Firefox over WebDriver BiDi

interface BidiMessage { id?: number; type?: string; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: string; message?: string }

export async function launchFirefox(): Promise<Engine> {
  const { WebSocket } = await import('ws');
  const profile = mkdtempSync(join(tmpdir(), 'mqtt-dissect-firefox-'));
  // Firefox as root needs a HOME it owns; a fresh profile has no first-run pages under automation.
  const proc = spawn(FIREFOX!, ['--headless', '--remote-debugging-port=0', '--no-remote', '--profile', profile, 'about:blank'], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' },
  });
  let log = '';
  const url = new Promise<string>((resolve) => {
    const on = (d: Buffer): void => {
      log = (log + d.toString('utf8')).slice(-20_000);
      const x = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(log);
      if (x) resolve(x[1]!);
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
  });
  const cleanup = async (): Promise<void> => {
    await killGroup(proc);
    rmSync(profile, { recursive: true, force: true });
  };
  let ws: InstanceType<typeof WebSocket>;
  try {
    const endpoint = await Promise.race([url, sleep(30_000).then(() => { throw new Error(`Firefox did not start its WebDriver BiDi server in 30 s:\n${log}`); })]);
    ws = new WebSocket(`${endpoint}/session`);
    await Promise.race([new Promise<void>((r, j) => { ws.once('open', () => r()); ws.once('error', j); }), sleep(10_000).then(() => { throw new Error('BiDi WebSocket did not open in 10 s'); })]);
  } catch (e) {
    await cleanup();
    throw e;
  }
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  const logErrors: string[] = [];
  const dialogs: string[] = [];
  ws.on('message', (raw: Buffer) => {
    const msg = JSON.parse(raw.toString('utf8')) as BidiMessage;
    if (msg.id !== undefined && pending.has(msg.id)) {
      const p = pending.get(msg.id)!;
      pending.delete(msg.id);
      if (msg.type === 'error') p.reject(new Error(`${msg.error}: ${msg.message}`));
      else p.resolve(msg.result ?? {});
      return;
    }
    if (msg.method === 'log.entryAdded') {
      const e = msg.params as { level?: string; text?: string; type?: string };
      if (e.level === 'error') logErrors.push(`${e.type ?? 'log'}: ${e.text ?? ''}`);
    } else if (msg.method === 'browsingContext.userPromptOpened') {
      const e = msg.params as { context: string; message?: string };
      dialogs.push(e.message ?? '');
      void send('browsingContext.handleUserPrompt', { context: e.context, accept: false }).catch(() => undefined);
    }
  });
  const send = (method: string, params: Record<string, unknown>, ms = 30_000): Promise<Record<string, unknown>> => {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { pending.delete(id); reject(new Error(`BiDi ${method}: no answer in ${ms} ms`)); }, ms);
      pending.set(id, { resolve: (v) => { clearTimeout(timer); resolve(v); }, reject: (e) => { clearTimeout(timer); reject(e); } });
      ws.send(JSON.stringify({ id, method, params }));
    });
  };
  let context = '';
  let version = '';
  try {
    const s = await send('session.new', { capabilities: { alwaysMatch: { unhandledPromptBehavior: { default: 'ignore' } } } });
    version = String((s['capabilities'] as { browserVersion?: string }).browserVersion ?? '');
    await send('session.subscribe', { events: ['log.entryAdded', 'browsingContext.userPromptOpened'] });
    await send('script.addPreloadScript', { functionDeclaration: `() => { ${HOOK} }` });
    const tree = await send('browsingContext.getTree', {});
    context = (tree['contexts'] as { context: string }[])[0]!.context;
    await send('browsingContext.setViewport', { context, viewport: { width: 1200, height: 900 } });
  } catch (e) {
    ws.close();
    await cleanup();
    throw e;
  }
  const evaluate = async <T>(expr: string): Promise<T> => {
    const r = await send('script.evaluate', { expression: `JSON.stringify((() => (${expr}))() ?? null)`, target: { context }, awaitPromise: true, resultOwnership: 'none' });
    if (r['type'] === 'exception') throw new Error(`evaluate ${expr}: ${JSON.stringify(r['exceptionDetails'])}`);
    return JSON.parse(String((r['result'] as { value: string }).value)) as T;
  };
  return {
    name: 'Firefox',
    version,
    async open(file, hash = '') {
      await send('browsingContext.navigate', { context, url: `${pathToFileURL(file).href}${hash}`, wait: 'complete' });
    },
    async hash(h, cond) {
      await evaluate(`(location.hash = ${JSON.stringify(h)}, true)`);
      await until(`${cond} after ${h}`, 10_000, async () => ((await evaluate<boolean>(cond)) ? true : undefined));
    },
    evaluate,
    async click(elementExpr) {
      const r = await send('script.evaluate', { expression: `(${elementExpr})`, target: { context }, awaitPromise: false, resultOwnership: 'root' });
      const node = r['result'] as { type: string; sharedId?: string };
      if (node.type !== 'node' || node.sharedId === undefined) throw new Error(`click: ${elementExpr} is no element (${node.type})`);
      await evaluate(`(${elementExpr}).scrollIntoView({ block: 'center' })`);
      await send('input.performActions', {
        context,
        actions: [{ type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' }, actions: [
          { type: 'pointerMove', x: 0, y: 0, origin: { type: 'element', element: { sharedId: node.sharedId } } },
          { type: 'pointerDown', button: 0 },
          { type: 'pointerUp', button: 0 },
        ] }],
      });
      await send('input.releaseActions', { context });
    },
    async errors() {
      return [...(await evaluate<string[] | null>('window.__errors') ?? ['the error hook did not run']), ...logErrors];
    },
    async dialogs() {
      return [...dialogs];
    },
    async close() {
      try { await send('browser.close', {}, 5_000); } catch { /* killed below */ }
      ws.close();
      await cleanup();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// WebKit over classic WebDriver (HTTP)

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

/** A copy of the page beside it with HOOK as its first script, and HOOK's hash in the CSP's script-src. */
export function hooked(file: string): string {
  const html = readFileSync(file, 'utf8');
  const hash = `'sha256-${createHash('sha256').update(HOOK, 'utf8').digest('base64')}'`;
  const withCsp = html.replace(/(<meta http-equiv="Content-Security-Policy" content="[^"]*script-src )/, `$1${hash} `);
  if (withCsp === html) throw new Error(`${file}: no Content-Security-Policy with script-src`);
  const out = withCsp.replace('<head>', `<head><script>${HOOK}</script>`);
  if (out === withCsp) throw new Error(`${file}: no <head>`);
  const copy = join(dirname(file), `hooked-${basename(file)}`);
  writeFileSync(copy, out);
  return copy;
}

export async function launchWebKit(): Promise<Engine> {
  const w = WEBKIT!;
  // Xvfb picks a free display itself and writes its number to fd 3.
  const x = spawn(w.xvfb, ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '1280x1024x24'], { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let drv: ChildProcess | null = null;
  const cleanup = async (): Promise<void> => {
    await killGroup(drv);
    await killGroup(x);
  };
  let base = '';
  let session = '';
  try {
    const display = await Promise.race([
      new Promise<string>((r) => { let s = ''; x.stdio[3]!.on('data', (d: Buffer) => { s += d.toString(); if (s.includes('\n')) r(s.trim()); }); }),
      sleep(15_000).then(() => { throw new Error('Xvfb gave no display in 15 s'); }),
    ]);
    const port = await freePort();
    drv = spawn(w.driver, [`--port=${port}`, '--host=127.0.0.1'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], // The C locale, as a bare server or CI may have it: WebKitGTK's navigator.language is then "C", which the page
    // must cope with (src/page/html.ts LANGUAGE_GUARD).
    env: { ...process.env, DISPLAY: `:${display}`, LC_ALL: 'C', LANG: 'C' } });
    base = `http://127.0.0.1:${port}`;
    await until('WebKitWebDriver to answer /status', 15_000, async () => {
      try { return (await fetch(`${base}/status`, { signal: AbortSignal.timeout(1_000) })).ok ? true : undefined; } catch { return undefined; }
    });
    const s = await call<{ sessionId: string; capabilities: { browserVersion?: string } }>(base, 'POST', '/session', {
      capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: w.browser, args: ['--automation'] }, unhandledPromptBehavior: 'ignore' } },
    }, 60_000);
    session = `/session/${s.sessionId}`;
    await call(base, 'POST', `${session}/window/rect`, { width: 1200, height: 900 });
    const version = s.capabilities.browserVersion ?? '';
    const evaluate = async <T>(expr: string): Promise<T> => call<T>(base, 'POST', `${session}/execute/sync`, { script: `return (${expr}) ?? null;`, args: [] });
    const dialogs: string[] = [];
    const prompt = async (): Promise<void> => {
      const r = await fetch(`${base}${session}/alert/text`, { signal: AbortSignal.timeout(10_000) });
      const j = (await r.json()) as { value: unknown };
      if (r.ok) {
        dialogs.push(String(j.value));
        await call(base, 'POST', `${session}/alert/dismiss`, {});
      }
    };
    return {
      name: 'WebKit',
      version,
      async open(file, hash = '') {
        await call(base, 'POST', `${session}/url`, { url: `${pathToFileURL(hooked(file)).href}${hash}` }, 60_000);
        await prompt();
      },
      async hash(h, cond) {
        await evaluate(`(location.hash = ${JSON.stringify(h)}, true)`);
        await until(`${cond} after ${h}`, 10_000, async () => ((await evaluate<boolean>(cond)) ? true : undefined));
        await prompt();
      },
      evaluate,
      async click(elementExpr) {
        const el = await call<Record<string, string> | null>(base, 'POST', `${session}/execute/sync`, { script: `const e = (${elementExpr}); e?.scrollIntoView({ block: 'center' }); return e ?? null;`, args: [] });
        if (el === null || el[ELEMENT] === undefined) throw new Error(`click: ${elementExpr} is no element`);
        await call(base, 'POST', `${session}/actions`, { actions: [{ type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' }, actions: [
          { type: 'pointerMove', x: 0, y: 0, origin: { [ELEMENT]: el[ELEMENT] } },
          { type: 'pointerDown', button: 0 },
          { type: 'pointerUp', button: 0 },
        ] }] });
        await call(base, 'DELETE', `${session}/actions`);
      },
      async errors() {
        return (await evaluate<string[] | null>('window.__errors')) ?? ['the error hook did not run'];
      },
      async dialogs() {
        await prompt();
        return [...dialogs];
      },
      async close() {
        try { await call(base, 'DELETE', session, undefined, 10_000); } catch { /* killed below */ }
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

async function call<T>(base: string, method: string, path: string, body?: unknown, ms = 30_000): Promise<T> {
  const r = await fetch(`${base}${path}`, {
    method, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(ms),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const j = (await r.json()) as { value: T & { error?: string; message?: string } };
  if (!r.ok) throw new Error(`WebDriver ${method} ${path}: ${j.value.error ?? r.status}: ${j.value.message ?? ''}`);
  return j.value;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}
