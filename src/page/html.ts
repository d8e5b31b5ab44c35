/**
 * The page itself: one HTML file with its styles, its script and its data inlined, so it opens from file:// with no
 * network. The overview (capture facts and the summary's tables) is plain HTML, readable without JavaScript; the packet
 * list and the packet views are drawn by the script (src/page/client/page.ts, compiled by `npm run build`) from the
 * data embedded as JSON.
 *
 * Everything from the capture is text to the page: HTML-escaped where it is written into markup, and in the JSON
 * block every `<`, `>`, `&` and line separator is a \u escape, so no capture content can close the script element.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeText } from '../render/escape.js';
import { SUMMARY_TABLE_TITLES } from '../render/summary.js';
import type { PageData } from './model.js';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const scriptSafe = (json: string): string => json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** JSON that is safe inside a <script> element whatever strings it holds. */
export function scriptJson(v: unknown): string {
  return scriptSafe(JSON.stringify(v));
}

/** Elements of an array stringified at once by scriptJsonPieces. */
export const JSON_PIECE_ITEMS = 256;

/**
 * scriptJson of an object, in pieces that joined are exactly scriptJson(v) (JSON.stringify's order and its rules:
 * undefined members left out): each array member is written JSON_PIECE_ITEMS elements at a time, so the page of a big
 * capture is never one string (with its escaped copy and its UTF-8 copy) in memory at once.
 */
export function* scriptJsonPieces(v: Record<string, unknown>): Generator<string> {
  let sep = '{';
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    yield `${sep}${scriptSafe(JSON.stringify(k))}:`;
    sep = ',';
    if (!Array.isArray(x)) {
      yield scriptJson(x);
      continue;
    }
    yield '[';
    for (let i = 0; i < x.length; i += JSON_PIECE_ITEMS) {
      const part = JSON.stringify(x.slice(i, i + JSON_PIECE_ITEMS));
      yield `${i > 0 ? ',' : ''}${scriptSafe(part.slice(1, -1))}`;
    }
    yield ']';
  }
  yield sep === '{' ? '{}' : '}';
}

/** A summary table as the `--summary --json` records carry it. */
export interface SummaryTable {
  table: string;
  /** The heading (the summary's own tables have theirs in SUMMARY_TABLE_TITLES). */
  title?: string;
  rows: Record<string, unknown>[];
  shown?: number;
  total?: number;
  packets?: number;
}

export interface PageFacts {
  title: string;
  captures: string[];
  /** Facts shown first (label, value): frames, connections, packets, versions … */
  facts: [string, string][];
}


function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.map(cell).join('/');
  if (typeof v === 'object') return escapeHtml(escapeText(JSON.stringify(v)));
  return escapeHtml(escapeText(String(v)));
}

function tableHtml(t: SummaryTable): string {
  const title = t.title ?? (t.table in SUMMARY_TABLE_TITLES ? SUMMARY_TABLE_TITLES[t.table as keyof typeof SUMMARY_TABLE_TITLES] : t.table); // checked by `in`
  const count = t.total !== undefined && t.shown !== undefined && t.total > t.shown ? ` (${t.shown} of ${t.total})` : '';
  if (t.rows.length === 0) return `<h3>${escapeHtml(title)}</h3><p class="none">(none)</p>`;
  const keys = [...new Set(t.rows.flatMap((r) => Object.keys(r)))];
  const head = keys.map((k) => `<th>${escapeHtml(k)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${keys.map((k) => `<td>${cell(r[k])}</td>`).join('')}</tr>`).join('\n');
  return `<h3>${escapeHtml(title)}${count}</h3>\n<table class="summary" data-table="${escapeHtml(t.table)}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const requireHere = createRequire(import.meta.url);
let chartLibrary: { js: string; css: string } | null = null;
/**
 * Run before uPlot in its script: uPlot formats numbers with `new Intl.NumberFormat(navigator.language)` as it loads,
 * which throws a RangeError where navigator.language is no language tag — WebKitGTK under the C locale says "C" — and
 * then no plot is drawn. Such a page gets "en-US" for navigator.language (seen in WebKit, test/e2e/page-browsers.test.ts).
 */
export const LANGUAGE_GUARD = "try{new Intl.NumberFormat(navigator.language)}catch(e){Object.defineProperty(navigator,'language',{value:'en-US',configurable:true})}\n";

/** uPlot (MIT, pinned in package.json), inlined whole after LANGUAGE_GUARD: the page never loads anything. */
function charts(): { js: string; css: string } {
  if (chartLibrary === null) {
    const dir = dirname(requireHere.resolve('uplot/package.json'));
    chartLibrary = {
      js: LANGUAGE_GUARD + readFileSync(join(dir, 'dist', 'uPlot.iife.min.js'), 'utf8').replace(/<\/script/gi, '<\\/script'),
      css: readFileSync(join(dir, 'dist', 'uPlot.min.css'), 'utf8'),
    };
  }
  return chartLibrary;
}

let pageScript: string | null = null;

/**
 * The modules of the filter box, in dependency order, bundled into the page's script: the CLI's parser and value
 * readers and the topic matcher, then the page's evaluator over its rows (docs/decisions.md: the filter box).
 */
export const FILTER_BOX_MODULES = ['mqtt/topic-match.js', 'filter/syntax.js', 'filter/values.js', 'page/row-filter.js'] as const;
/** What the bundle gives the page script, as `pageRowFilter` (src/page/client/page.ts declares it). */
const FILTER_BOX_EXPORTS = ['compileRowFilter', 'rowFilterError', 'ROW_FIELD_NAMES', 'FilterError', 'formatFilterError'];

/** A compiled file of the build: beside this module's folder once built (dist/), the build's copy when run from src/. */
function built(path: string): string {
  const places = [`../${path}`, `../../dist/${path}`].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = places.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`the page script is not built (npm run build): no ${path}`);
  return readFileSync(found, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
}

/**
 * The filter box's modules as one function scope in a plain script: each module's imports (all of them of the
 * modules before it, checked here) are dropped and its `export` keywords taken off, so the names they bind are the
 * scope's own. A module that imports anything else, imports under another name or re-exports is refused: the bundle
 * is built only from modules written for it.
 */
export function filterBoxBundle(read: (path: string) => string = built): string {
  const parts: string[] = [];
  const bundled: string[] = [];
  for (const path of FILTER_BOX_MODULES) {
    const text = read(path).replace(/^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'([^']+)';\s*$/gm, (_, names: string, from: string) => {
      const target = new URL(from, `file:///${path}`).pathname.slice(1);
      if (!bundled.includes(target)) throw new Error(`the filter box bundle: ${path} imports ${from}, which is not bundled before it`);
      if (/\bas\b/.test(names)) throw new Error(`the filter box bundle: ${path} renames an import`);
      return '';
    });
    const body = text.replace(/^export\s+(?=(?:async\s+)?(?:function|class|const|let)\b)/gm, '');
    if (/^\s*(?:import|export)\b/m.test(body)) throw new Error(`the filter box bundle: ${path} has an import or export it cannot take apart`);
    parts.push(`// ${path}\n${body}`);
    bundled.push(path);
  }
  const bundle = `const pageRowFilter = (() => {\n${parts.join('\n')}\nreturn { ${FILTER_BOX_EXPORTS.join(', ')} };\n})();\n`;
  // Inlined in a <script> element: nothing in it may end the element.
  if (/<\/script|<!--/i.test(bundle)) throw new Error('the filter box bundle holds "</script" or "<!--"');
  return bundle;
}

/**
 * The page's script: the filter box's bundle, then the compiled page script (dist/page/client/page.js), in one
 * script element (one CSP hash).
 */
function script(): string {
  if (pageScript === null) pageScript = filterBoxBundle() + built('page/client/page.js');
  return pageScript;
}

/**
 * The page's colours, per scheme, declared once: the style sheet is made from them and a test checks every text
 * colour against its background for WCAG AA contrast (4.5:1 for text, 3:1 for the lines that carry meaning).
 */
export const PALETTE = {
  light: {
    fg: '#1b1b1b', bg: '#ffffff', muted: '#5f5f5f', line: '#d0d0d0', head: '#f1f1f1', panel: '#f7f7f7', sel: '#fff3b0', hi: '#ffd54f',
    err: '#b71c1c', warn: '#a0470a', note: '#1557a8', connect: '#256b29', publish: '#1557a8', subscribe: '#6a1b9a', disconnect: '#b71c1c', lane: '#6f6f6f',
  },
  dark: {
    fg: '#e8e8e8', bg: '#141414', muted: '#a8a8a8', line: '#4a4a4a', head: '#222222', panel: '#1c1c1c', sel: '#4a4100', hi: '#75590a',
    err: '#ff8a80', warn: '#ffb74d', note: '#90caf9', connect: '#81c784', publish: '#90caf9', subscribe: '#ce93d8', disconnect: '#ff8a80', lane: '#9a9a9a',
  },
} as const;

/** Which colours are read on which backgrounds (text needs 4.5:1; `lane` and `line` are lines, 3:1 for lane). */
export const CONTRAST_PAIRS: readonly (readonly [fg: keyof typeof PALETTE.light, bg: keyof typeof PALETTE.light, min: number])[] = [
  ['fg', 'bg', 4.5], ['fg', 'head', 4.5], ['fg', 'panel', 4.5], ['fg', 'sel', 4.5], ['fg', 'hi', 4.5], ['muted', 'bg', 4.5], ['muted', 'panel', 4.5],
  ['err', 'bg', 4.5], ['warn', 'bg', 4.5], ['note', 'bg', 4.5], ['connect', 'bg', 4.5], ['publish', 'bg', 4.5], ['subscribe', 'bg', 4.5],
  ['disconnect', 'bg', 4.5], ['connect', 'sel', 4.5], ['publish', 'sel', 4.5], ['lane', 'bg', 3],
];

function vars(p: Readonly<Record<string, string>>): string {
  return Object.entries(p).map(([k, v]) => `--${k}:${v}`).join(';');
}

const STYLE = `
:root{color-scheme:light dark;${vars(PALETTE.light)}}
@media (prefers-color-scheme: dark){:root{${vars(PALETTE.dark)}}}
@media (prefers-reduced-motion: reduce){*{scroll-behavior:auto!important;transition:none!important;animation:none!important}}
body{font:14px/1.4 system-ui,sans-serif;color:var(--fg);background:var(--bg);margin:0 1.5em 3em}
a{color:var(--note)}
h1{font-size:1.4em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid var(--line)}h3{font-size:1em;margin:1.2em 0 .3em}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid var(--line);padding:2px 6px;text-align:left;vertical-align:top}
th{background:var(--head)}.facts th{width:12em}.none,.limits{color:var(--muted)}
input,select,button{color:var(--fg);background:var(--bg);border:1px solid var(--lane)}
:focus-visible{outline:2px solid var(--note);outline-offset:1px}
code,.mono,#list td,#tree,#hex{font-family:ui-monospace,Menlo,Consolas,monospace}
#expr{margin:.5em 0}#expr input{font-family:ui-monospace,Menlo,Consolas,monospace;max-width:100%}#f-expr-error{margin:.2em 0;white-space:pre-wrap;font-size:13px}#f-expr-error:empty{display:none}#expr p{margin:.2em 0}
#controls{margin:.5em 0;display:flex;gap:.6em;flex-wrap:wrap;align-items:center}
#list{max-height:45vh;overflow:auto;border:1px solid var(--line)}#list table{width:100%}#list tr{cursor:pointer}
#list tr.sel{background:var(--sel)}#list tr.bad td:first-child{border-left:4px solid var(--err)}
.t-CONNECT,.t-CONNACK{color:var(--connect)}.t-PUBLISH{color:var(--publish)}.t-SUBSCRIBE,.t-SUBACK,.t-UNSUBSCRIBE,.t-UNSUBACK{color:var(--subscribe)}
.t-DISCONNECT{color:var(--disconnect)}
#view{display:grid;grid-template-columns:minmax(20em,1fr) auto;gap:1em;margin-top:1em}
#tree div{white-space:pre;cursor:pointer;padding:0 2px}#tree div.hi{background:var(--hi)}
#hex{white-space:pre;line-height:1.6}#hex span{cursor:pointer;padding:0 1px}#hex span.hi{background:var(--hi)}
#hex span.bad{text-decoration:underline wavy var(--err)}#hex .off{color:var(--muted);cursor:default}
#explain{grid-column:1/3;border:1px solid var(--line);padding:.4em .6em;min-height:2.8em;background:var(--panel)}
#diagram svg{font:12px ui-monospace,Menlo,Consolas,monospace;fill:var(--fg)}#diagram .lane{stroke:var(--lane);stroke-width:1}
#diagram .msg line{stroke:var(--fg);stroke-width:1.2}#diagram .msg{cursor:pointer}#diagram .msg.sel text{font-weight:bold}
#diagram .msg.bad line{stroke:var(--err)}#diagram .pair{stroke:var(--connect);fill:none}#diagram .pair-label{fill:var(--connect)}
#diagram .event line{stroke:var(--warn);stroke-dasharray:4 3}#diagram .event text{fill:var(--warn)}#diagram .close text{fill:var(--muted)}
#diagram marker path{fill:var(--fg)}
.sev-error{color:var(--err)}.sev-warning{color:var(--warn)}.sev-note{color:var(--note)}
`;

/** The CSP source of an inline script: its SHA-256, so that only the page's own scripts can run. */
function scriptHash(js: string): string {
  return `'sha256-${createHash('sha256').update(js, 'utf8').digest('base64')}'`;
}

/** The whole page. `summary`: the `--summary --json` tables; `data`: the packet list and views. */
export function pageHtml(facts: PageFacts, summary: readonly SummaryTable[], data: PageData): string {
  return [...pageHtmlPieces(facts, summary, data)].join('');
}

/** pageHtml in pieces, to be written one after another (the data block in scriptJsonPieces' pieces). */
export function* pageHtmlPieces(facts: PageFacts, summary: readonly SummaryTable[], data: PageData): Generator<string> {
  const factRows = facts.facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(escapeText(v))}</td></tr>`).join('\n');
  const limits: string[] = [];
  if (data.rowsLeftOut > 0) limits.push(`The packet list holds the first ${data.limits.rows} packets; ${data.rowsLeftOut} more are counted in the overview but not listed.`);
  if (data.viewsLeftOut > 0) limits.push(`Packet views (field tree and bytes) are kept for the first ${data.limits.views} packets and for up to ${data.limits.findingViews} more with findings; ${data.viewsLeftOut} packets have none.`);
  yield `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src ${scriptHash(charts().js)} ${scriptHash(script())}">
<title>${escapeHtml(escapeText(facts.title))}</title>
<style>${STYLE}${charts().css}</style></head>
<body>
<h1>${escapeHtml(escapeText(facts.title))}</h1>
<section id="overview"><h2>Overview</h2>
<table class="facts">${factRows}</table>
${limits.map((l) => `<p class="limits">${escapeHtml(l)}</p>`).join('\n')}
${summary.map(tableHtml).join('\n')}
</section>
<section id="plots"><h2>Plots</h2>
<noscript><p>The plots need JavaScript.</p></noscript>
<p id="plot-notes" class="limits"></p>
<div id="plot-types"></div><div id="plot-bytes"></div><div id="plot-rtt"></div><div id="plot-topics"></div>
</section>
<section id="packets"><h2>Packets</h2>
<noscript><p>The packet list and the packet views need JavaScript; the overview above does not.</p></noscript>
<div id="expr"><label for="f-expr">filter (as <code>-Y</code>)</label> <input id="f-expr" size="60" spellcheck="false" autocomplete="off" aria-describedby="f-expr-help f-expr-error" placeholder="type == PUBLISH &amp;&amp; topic matches plant/+/temp">
<pre id="f-expr-error" class="sev-error" role="status" aria-live="polite"></pre>
<p id="f-expr-help" class="limits"></p></div>
<div id="controls">
<label>type <select id="f-type"><option value="">any</option></select></label>
<label>connection <input id="f-conn" size="5" inputmode="numeric"></label>
<label>topic contains <input id="f-topic" size="18"></label>
<label>client id <input id="f-client" size="14"></label>
<label><input type="checkbox" id="f-bad"> findings only</label>
<span id="count" class="limits"></span>
<span class="limits">keys: j / k move, Enter opens</span>
</div>
<div id="list"><table><thead><tr><th>frame</th><th>time s</th><th>conn</th><th>dir</th><th>type</th><th>fields</th><th>findings</th></tr></thead><tbody id="rows"></tbody></table></div>
<div id="more"></div>
<section id="packet"><h3 id="view-title">Packet view</h3><p id="view-note" class="limits">Choose a packet.</p>
<div id="view"><div id="tree"></div><div id="hex"></div><div id="explain"></div></div>
<div id="view-findings"></div>
<div id="view-message"></div>
</section>
<section id="ladder"><h3>Sequence diagram</h3>
<label>connection <select id="d-conn"></select></label> <span id="ladder-note" class="limits"></span>
<div id="diagram"></div>
</section>
</section>
<script type="application/json" id="page-data">`;
  yield* scriptJsonPieces(data as unknown as Record<string, unknown>);
  yield `</script>
<script>${charts().js}</script>
<script>${script()}</script>
</body></html>
`;
}
