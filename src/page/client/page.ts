/**
 * The script of the HTML page (src/page/html.ts inlines its compiled form). A plain browser script: no imports, no
 * network, no framework. It reads the data block the page embeds and draws the packet list (filtered, paged,
 * keyboard-driven) and the packet view: the field tree beside the bytes, each byte mapped to the smallest field that
 * holds it and each field to its bytes, both ways, with the decoder's explanation of the field chosen.
 *
 * Capture text reaches the document only through textContent, never as markup.
 */

/** A row's filter fields beyond its columns (src/page/model.ts, PageExtra). */
interface Extra { l: number; q?: number | number[]; p?: number; r?: 1; d?: 1; t?: string[]; v?: [string, string, string][] }
type Row = [number, string, number, 0 | 1, string, string, string, string, number, number, Extra];
type TreeNode = [number, number, number, string, string, string];
type Finding = [string, string, string, string, number, number];
interface View { frame: number; hex: string; length: number; nodes: TreeNode[]; nodesLeftOut: number; findings: Finding[] }
interface Conn { conn: number; client: string; server: string; close: string | null; closeFrame: number }
type Pair = [number, number, string, number];
type ConnEvent = [number, number, string, string];
interface Plots {
  ioWidth: number; ioOffsets: number[]; ioTypes: Record<string, number[]>; bytesC2s: number[]; bytesS2c: number[];
  topicWidth: number; topics: { topic: string; rate: number[] }[]; rtt: [number, number, string][]; notes: string[];
}
interface Message { frame: number; conn: number; clientId: string; topic: string; deliveries: [number, number, number, string][]; ambiguous: number }
interface Data {
  plots?: Plots;
  messages: Message[];
  rows: Row[]; views: View[]; connections: Conn[]; pairs: Pair[]; events: ConnEvent[]; packets: number; rowsLeftOut: number; viewsLeftOut: number;
  limits: { views: number; findingViews: number; viewBytes: number };
  filterNames: string[]; typeNames: string[];
}

/**
 * The filter box's evaluator: src/page/row-filter.ts with the CLI's parser and value readers, bundled before this
 * script by src/page/html.ts (filterBoxBundle).
 */
interface FilterErrorLike extends Error { at: number; length: number }
declare const pageRowFilter: {
  compileRowFilter(source: string, ctx: { filterNames: readonly string[]; typeNames: readonly string[] }): (r: Row) => boolean;
  FilterError: new (message: string, at: number, length?: number) => FilterErrorLike;
  formatFilterError(source: string, e: FilterErrorLike): string[];
  ROW_FIELD_NAMES: readonly string[];
};

/** Rows drawn at once; "show more" draws the next ones. */
const PAGE_ROWS = 500;
/** Packets of one connection drawn in its sequence diagram. */
const LADDER_ROWS = 400;
const BYTES_PER_LINE = 16;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls !== undefined) e.className = cls;
  return e;
}

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`page: no #${id}`);
  return e as T; // the page's own markup (src/page/html.ts) has every id asked for
}

const data = JSON.parse(byId('page-data').textContent ?? '{}') as Data;
const rowsBody = byId<HTMLTableSectionElement>('rows');
const fType = byId<HTMLSelectElement>('f-type');
const fConn = byId<HTMLInputElement>('f-conn');
const fTopic = byId<HTMLInputElement>('f-topic');
const fClient = byId<HTMLInputElement>('f-client');
const fBad = byId<HTMLInputElement>('f-bad');
const fExpr = byId<HTMLInputElement>('f-expr');
const fExprError = byId('f-expr-error');
byId('f-expr-help').textContent = `Accepts the CLI's -Y expressions (docs/filters.md) over the fields the page holds: ${pageRowFilter.ROW_FIELD_NAMES.join(', ')}. Combined with the choices below.`;

/** The expression's test (null: the box is empty or the expression is wrong, and then the error is shown under it). */
let exprSource = '';
let exprTest: ((r: Row) => boolean) | null = null;
function compileExpr(): void {
  const src = fExpr.value;
  if (src === exprSource && (exprTest !== null || src.trim() === '')) return;
  exprSource = src;
  exprTest = null;
  fExprError.textContent = '';
  fExpr.removeAttribute('aria-invalid');
  if (src.trim() === '') return;
  try {
    exprTest = pageRowFilter.compileRowFilter(src, data);
  } catch (e) {
    if (!(e instanceof pageRowFilter.FilterError)) throw e;
    fExprError.textContent = pageRowFilter.formatFilterError(src, e).join('\n');
    fExpr.setAttribute('aria-invalid', 'true');
  }
}

/** Traced messages by their publisher's PUBLISH and by each delivery ("conn:frame"). */
const messageOf = new Map<string, Message>();
for (const msg of data.messages) {
  messageOf.set(`${msg.conn}:${msg.frame}`, msg);
  for (const d of msg.deliveries) messageOf.set(`${d[0]}:${d[1]}`, msg);
}

/** Indexes (into data.rows) the filter matches, how many of them are drawn, and the selected one (-1: none). */
let matched: number[] = [];
let drawn = 0;
let selected = -1;

for (const t of [...new Set(data.rows.map((r) => r[4]))].sort()) {
  const o = el('option', t);
  o.value = t;
  fType.append(o);
}

/** `#p17` is the first packet of frame 17, `#p17.2` its second (a frame may carry several MQTT packets). */
function anchorOf(i: number): string {
  const frame = data.rows[i]![0];
  let n = 1;
  for (let j = i - 1; j >= 0 && data.rows[j]![0] === frame; j--) n++;
  return n === 1 ? `p${frame}` : `p${frame}.${n}`;
}

function rowOfAnchor(hash: string): number {
  const m = /^#p(\d+)(?:\.(\d+))?(?:@\d+)?$/.exec(hash);
  if (m === null) return -1;
  const frame = Number(m[1]);
  const nth = m[2] === undefined ? 1 : Number(m[2]);
  let seen = 0;
  for (let i = 0; i < data.rows.length; i++) {
    if (data.rows[i]![0] === frame && ++seen === nth) return i;
  }
  return -1;
}

function applyFilter(): void {
  const type = fType.value;
  const conn = fConn.value.trim() === '' ? -1 : Number(fConn.value);
  const topic = fTopic.value;
  const client = fClient.value;
  const bad = fBad.checked;
  compileExpr();
  const expr = exprTest;
  matched = [];
  data.rows.forEach((r, i) => {
    if (type !== '' && r[4] !== type) return;
    if (conn >= 0 && r[2] !== conn) return;
    if (topic !== '' && !r[6].includes(topic)) return;
    if (client !== '' && !r[7].includes(client)) return;
    if (bad && r[8] === 0) return;
    if (expr !== null && !expr(r)) return;
    matched.push(i);
  });
  rowsBody.replaceChildren();
  drawn = 0;
  drawMore();
  const wrong = exprTest === null && fExpr.value.trim() !== '';
  byId('count').textContent = `${matched.length} of ${data.rows.length} packets listed${wrong ? ' (the expression is not applied: see the error above)' : ''}`;
}

function drawMore(): void {
  const end = Math.min(matched.length, drawn + PAGE_ROWS);
  for (let k = drawn; k < end; k++) {
    const i = matched[k]!;
    const r = data.rows[i]!;
    const tr = el('tr');
    tr.dataset['row'] = String(i);
    tr.id = anchorOf(i);
    if (r[8] > 0) tr.className = 'bad';
    tr.append(el('td', String(r[0])), el('td', r[1]), el('td', String(r[2])), el('td', r[3] === 0 ? 'c2s' : 's2c'), el('td', r[4], `t-${r[4]}`), el('td', r[5]), el('td', r[8] > 0 ? String(r[8]) : ''));
    if (i === selected) tr.classList.add('sel');
    rowsBody.append(tr);
  }
  drawn = end;
  const more = byId('more');
  more.replaceChildren();
  if (drawn < matched.length) {
    const b = el('button', `show ${Math.min(PAGE_ROWS, matched.length - drawn)} more`);
    b.addEventListener('click', drawMore);
    more.append(b);
  }
}

function select(i: number, open: boolean): void {
  rowsBody.querySelector('tr.sel')?.classList.remove('sel');
  selected = i;
  const tr = rowsBody.querySelector(`tr[data-row="${i}"]`);
  tr?.classList.add('sel');
  tr?.scrollIntoView({ block: 'nearest' });
  if (open) {
    history.replaceState(null, '', `#${anchorOf(i)}`);
    showView(i);
    showLadder(data.rows[i]![2], i);
  }
}

/** The packet view's state: the view shown, each byte's field, the field highlighted and whether a click pinned it. */
let view: View | null = null;
let owner: Int32Array = new Int32Array(0);
let pinned = false;

function showView(i: number): void {
  const r = data.rows[i]!;
  const title = byId('view-title');
  const note = byId('view-note');
  const tree = byId('tree');
  const hex = byId('hex');
  const explain = byId('explain');
  const found = byId('view-findings');
  showMessage(r);
  title.textContent = `Frame ${r[0]} · conn ${r[2]} ${r[3] === 0 ? 'c2s' : 's2c'} · ${r[4]}`;
  tree.replaceChildren();
  hex.replaceChildren();
  explain.replaceChildren();
  found.replaceChildren();
  pinned = false;
  view = r[9] >= 0 ? data.views[r[9]] ?? null : null;
  if (view === null) {
    note.textContent = `No packet view was kept for this packet: views are kept for the first ${data.limits.views} packets and for up to ${data.limits.findingViews} more with findings.`;
    return;
  }
  const v = view;
  const shown = v.hex.length / 2;
  note.textContent = `${v.length} bytes${shown < v.length ? `, the first ${shown} shown` : ''}; point at a byte or a field.${v.nodesLeftOut > 0 ? ` ${v.nodesLeftOut} fields past the first ${v.nodes.length} are not listed.` : ''}`;
  // Each byte's field: the smallest node holding it; among equals the first (a flags byte before its bits).
  owner = new Int32Array(shown).fill(-1);
  v.nodes.forEach((n, k) => {
    for (let b = n[1]; b < n[1] + n[2] && b < shown; b++) {
      const cur = owner[b]!;
      if (cur < 0 || n[2] < v.nodes[cur]![2]) owner[b] = k;
    }
  });
  v.nodes.forEach((n, k) => {
    const d = el('div', `${'  '.repeat(n[0])}${n[3]}${n[4] !== '' ? `: ${n[4]}` : ''}`);
    d.dataset['node'] = String(k);
    // Fields are reachable by Tab, and Enter or Space chooses one (as a click does).
    d.tabIndex = 0;
    d.setAttribute('role', 'button');
    d.title = `bytes ${n[1]}..${n[1] + n[2] - 1}`;
    tree.append(d);
  });
  const bad = new Uint8Array(shown);
  for (const f of v.findings) for (let b = Math.max(0, f[4]); f[4] >= 0 && b < f[4] + f[5] && b < shown; b++) bad[b] = 1;
  for (let line = 0; line < shown; line += BYTES_PER_LINE) {
    hex.append(el('span', `${line.toString(16).padStart(4, '0')}  `, 'off'));
    for (let b = line; b < Math.min(shown, line + BYTES_PER_LINE); b++) {
      const s = el('span', v.hex.slice(2 * b, 2 * b + 2));
      s.dataset['byte'] = String(b);
      if (bad[b] === 1) s.classList.add('bad');
      hex.append(s);
      if (b + 1 < Math.min(shown, line + BYTES_PER_LINE)) hex.append(' ');
    }
    hex.append('\n');
  }
  if (v.findings.length > 0) {
    const ul = el('ul');
    for (const f of v.findings) {
      const li = el('li', `[${f[0]}] (${f[1]}, ${f[2]}) ${f[3]}${f[4] >= 0 ? ` — bytes ${f[4]}..${f[4] + f[5] - 1}` : ''}`, `sev-${f[2]}`);
      ul.append(li);
    }
    found.append(el('h4', 'Findings'), ul);
  }
}

/** A link to the first packet of a frame. */
function frameLink(frame: number, text: string): HTMLAnchorElement {
  const a = el('a', text);
  a.href = `#p${frame}`;
  return a;
}

/** The message path of a PUBLISH: its publisher, and every delivery the broker made of it, with the latency. */
function showMessage(r: Row): void {
  const box = byId('view-message');
  box.replaceChildren();
  if (r[4] !== 'PUBLISH') return;
  const msg = messageOf.get(`${r[2]}:${r[0]}`);
  if (msg === undefined) return;
  box.append(el('h4', 'Message path'));
  const from = el('p');
  from.append(`published by conn ${msg.conn}${msg.clientId !== '' ? ` (${msg.clientId})` : ''} in `, frameLink(msg.frame, `frame ${msg.frame}`), ` to ${msg.topic}; delivered ${msg.deliveries.length} time${msg.deliveries.length === 1 ? '' : 's'}:`);
  box.append(from);
  const ul = el('ul');
  ul.id = 'deliveries';
  for (const d of msg.deliveries) {
    const li = el('li');
    li.append(`conn ${d[0]}${d[3] !== '' ? ` (${d[3]})` : ''}, `, frameLink(d[1], `frame ${d[1]}`), `, ${d[2].toFixed(3)} ms after the publish`);
    ul.append(li);
  }
  box.append(ul);
  if (msg.ambiguous > 0) box.append(el('p', `${msg.ambiguous} more cop${msg.ambiguous === 1 ? 'y' : 'ies'} with the same topic and payload could be this message or another one: not attributed.`, 'limits'));
}

/** Highlights node k, its descendants in the tree and its bytes, and explains it. */
function highlight(k: number): void {
  const v = view;
  if (v === null || k < 0 || k >= v.nodes.length) return;
  const n = v.nodes[k]!;
  for (const e of document.querySelectorAll('#tree div.hi, #hex span.hi')) e.classList.remove('hi');
  const divs = byId('tree').children;
  divs[k]?.classList.add('hi');
  for (let j = k + 1; j < v.nodes.length && v.nodes[j]![0] > n[0]; j++) divs[j]?.classList.add('hi');
  for (const s of byId('hex').querySelectorAll<HTMLElement>('span[data-byte]')) {
    const b = Number(s.dataset['byte']);
    if (b >= n[1] && b < n[1] + n[2]) s.classList.add('hi');
  }
  const explain = byId('explain');
  explain.replaceChildren();
  const head = el('div');
  head.append(el('strong', n[3]), ` — ${n[2] === 0 ? 'no bytes' : n[2] === 1 ? `byte ${n[1]}` : `bytes ${n[1]}..${n[1] + n[2] - 1}`}${n[4] !== '' ? `: ${n[4]}` : ''}`);
  explain.append(head);
  if (n[5] !== '') explain.append(el('div', n[5]));
  explain.dataset['node'] = String(k);
}

byId('tree').addEventListener('click', (e) => {
  const t = (e.target as HTMLElement).closest<HTMLElement>('div[data-node]'); // events come from the tree's own nodes
  if (t === null) return;
  pinned = true;
  highlight(Number(t.dataset['node']));
});
byId('tree').addEventListener('keydown', (e) => {
  if (e.key !== 'Enter' && e.key !== ' ') return;
  const t = (e.target as HTMLElement).closest<HTMLElement>('div[data-node]');
  if (t === null) return;
  e.preventDefault();
  e.stopPropagation();
  pinned = true;
  highlight(Number(t.dataset['node']));
});
byId('tree').addEventListener('mouseover', (e) => {
  const t = (e.target as HTMLElement).closest<HTMLElement>('div[data-node]');
  if (t !== null && !pinned) highlight(Number(t.dataset['node']));
});
function byteTarget(e: Event): number {
  const t = (e.target as HTMLElement).closest<HTMLElement>('span[data-byte]');
  return t === null ? -1 : owner[Number(t.dataset['byte'])] ?? -1;
}
byId('hex').addEventListener('mouseover', (e) => {
  const k = byteTarget(e);
  if (k >= 0 && !pinned) highlight(k);
});
byId('hex').addEventListener('click', (e) => {
  const k = byteTarget(e);
  if (k < 0) return;
  pinned = true;
  highlight(k);
});

rowsBody.addEventListener('click', (e) => {
  const tr = (e.target as HTMLElement).closest<HTMLElement>('tr[data-row]');
  if (tr !== null) select(Number(tr.dataset['row']), true);
});

document.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement;
  if (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.closest('#tree') !== null) return;
  const at = matched.indexOf(selected);
  if (e.key === 'j' || e.key === 'k') {
    const next = e.key === 'j' ? Math.min(matched.length - 1, at + 1) : Math.max(0, at - 1);
    while (next >= drawn && drawn < matched.length) drawMore();
    if (matched[next] !== undefined) select(matched[next]!, false);
  } else if (e.key === 'Enter' && selected >= 0) {
    select(selected, true);
  }
});

for (const c of [fType, fConn, fTopic, fClient, fBad, fExpr]) c.addEventListener('input', applyFilter);

// Sequence diagrams: one connection at a time, client and broker lanes, an arrow per packet, requests joined to
// their answers (the pairs the summary's timing table counts) with the time between, transport events and the close.
const SVG = 'http://www.w3.org/2000/svg';
const dConn = byId<HTMLSelectElement>('d-conn');
const rowsOfConn = new Map<number, number[]>();
data.rows.forEach((r, i) => {
  let list = rowsOfConn.get(r[2]);
  if (list === undefined) rowsOfConn.set(r[2], (list = []));
  list.push(i);
});
const pairsTo = new Map<number, Pair[]>();
for (const p of data.pairs) {
  let list = pairsTo.get(p[1]);
  if (list === undefined) pairsTo.set(p[1], (list = []));
  list.push(p);
}
for (const c of data.connections) {
  if (!rowsOfConn.has(c.conn)) continue;
  const o = el('option', `${c.conn}: ${c.client} → ${c.server}`);
  o.value = String(c.conn);
  dConn.append(o);
}
dConn.addEventListener('input', () => showLadder(Number(dConn.value), -1));

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function showLadder(conn: number, mark: number): void {
  dConn.value = String(conn);
  const diagram = byId('diagram');
  diagram.replaceChildren();
  const all = rowsOfConn.get(conn) ?? [];
  const rows = all.slice(0, LADDER_ROWS);
  const info = data.connections.find((c) => c.conn === conn);
  byId('ladder-note').textContent = all.length > rows.length ? `the first ${rows.length} of the connection's ${all.length} packets` : `${all.length} packets`;
  const X_CLIENT = 120;
  const X_BROKER = 560;
  const X_PAIRS = 600;
  const TOP = 50;
  const STEP = 26;
  const yOf = new Map<number, number>();
  // Events and the close are placed after the last packet at or before their frame.
  const events = data.events.filter((e) => e[1] === conn);
  const items: ({ kind: 'row'; i: number } | { kind: 'event'; e: ConnEvent } | { kind: 'close' })[] = [];
  let ev = 0;
  for (const i of rows) {
    while (ev < events.length && events[ev]![0] < data.rows[i]![0]) items.push({ kind: 'event', e: events[ev++]! });
    items.push({ kind: 'row', i });
  }
  if (rows.length === all.length) {
    while (ev < events.length) items.push({ kind: 'event', e: events[ev++]! });
    if (info?.close != null) items.push({ kind: 'close' });
  }
  const height = TOP + items.length * STEP + 20;
  const root = svg('svg', { width: 1000, height, viewBox: `0 0 1000 ${height}` });
  const defs = svg('defs', {});
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#444' }));
  defs.append(marker);
  root.append(defs);
  root.append(svg('text', { x: X_CLIENT, y: 16, 'text-anchor': 'middle' }, `client ${info?.client ?? ''}`));
  root.append(svg('text', { x: X_BROKER, y: 16, 'text-anchor': 'middle' }, `broker ${info?.server ?? ''}`));
  root.append(svg('line', { x1: X_CLIENT, y1: 24, x2: X_CLIENT, y2: height - 10, class: 'lane' }));
  root.append(svg('line', { x1: X_BROKER, y1: 24, x2: X_BROKER, y2: height - 10, class: 'lane' }));
  items.forEach((it, k) => {
    const y = TOP + k * STEP;
    if (it.kind === 'row') {
      const r = data.rows[it.i]!;
      yOf.set(it.i, y);
      const g = svg('g', { class: `msg${r[8] > 0 ? ' bad' : ''}${it.i === mark ? ' sel' : ''}`, 'data-row': it.i });
      const [x1, x2] = r[3] === 0 ? [X_CLIENT, X_BROKER] : [X_BROKER, X_CLIENT];
      g.append(svg('line', { x1, y1: y, x2, y2: y, 'marker-end': 'url(#arrow)' }));
      // A traced message says where it went (its publish) or where it came from (a delivery).
      const msg = r[4] === 'PUBLISH' ? messageOf.get(`${r[2]}:${r[0]}`) : undefined;
      const path = msg === undefined ? '' : msg.conn === r[2] && msg.frame === r[0]
        ? ` ⇒ ${msg.deliveries.length} deliver${msg.deliveries.length === 1 ? 'y' : 'ies'}` : ` ⇐ conn ${msg.conn} frame ${msg.frame}`;
      g.append(svg('text', { x: (X_CLIENT + X_BROKER) / 2, y: y - 4, 'text-anchor': 'middle' }, `${clip(`${r[4]} ${r[5]}`, 60 - path.length)}${path}`));
      g.append(svg('text', { x: 4, y: y + 4 }, r[1]));
      root.append(g);
    } else if (it.kind === 'event') {
      const g = svg('g', { class: 'event' });
      g.append(svg('line', { x1: X_CLIENT - 30, y1: y, x2: X_BROKER + 30, y2: y }));
      g.append(svg('text', { x: X_BROKER + 36, y: y + 4 }, clip(`${it.e[2]}: ${it.e[3]}`, 60)));
      root.append(g);
    } else {
      const g = svg('g', { class: 'close' });
      g.append(svg('text', { x: 4, y: y + 4 }, clip(info!.close!, 140)));
      root.append(g);
    }
  });
  // Each answer drawn is joined to its request (the packet of that frame on this connection, before the answer).
  const open: number[] = [];
  const labels = new Map<number, string[]>();
  const brackets: [number, number, number][] = [];
  for (const i of rows) {
    for (const p of pairsTo.get(i) ?? []) {
      let from = -1;
      for (const j of rows) {
        if (j >= i) break;
        if (data.rows[j]![0] === p[0]) from = j;
      }
      const y1 = from >= 0 ? yOf.get(from) : undefined;
      const y2 = yOf.get(i)!;
      if (y1 === undefined) continue;
      // Brackets stack to the right: a new one takes the first column whose last bracket ended above it.
      let col = open.findIndex((end) => end < y1);
      if (col < 0) col = open.push(0) - 1;
      open[col] = y2;
      brackets.push([col, y1, y2]);
      // One label per answer: "PUBCOMP 0.020 ms, PUBLISH->PUBCOMP 0.113 ms" (a whole QoS 2 flow ends where its last step does).
      const [req, ans] = p[2].split('->');
      const text = `${labels.has(i) ? `${req}->` : ''}${ans} ${p[3].toFixed(3)} ms`;
      labels.set(i, [...(labels.get(i) ?? []), text]);
    }
  }
  for (const [col, y1, y2] of brackets) {
    const x = X_PAIRS + col * 12;
    root.append(svg('path', { d: `M ${X_BROKER + 4} ${y1} H ${x} V ${y2} H ${X_BROKER + 4}`, class: 'pair' }));
  }
  const xLabel = X_PAIRS + Math.max(0, open.length - 1) * 12 + 8;
  for (const [i, texts] of labels) root.append(svg('text', { x: xLabel, y: yOf.get(i)! + 4, class: 'pair-label' }, texts.join(', ')));
  root.addEventListener('click', (e) => {
    const g = (e.target as Element).closest('g[data-row]'); // the arrows drawn above
    if (g !== null) select(Number(g.getAttribute('data-row')), true);
  });
  diagram.append(root);
}

/** `#p17` opens frame 17's packet; `#p17@9` also points at its byte 9 (the field that holds it, pinned). */
function openHash(): void {
  const hash = location.hash;
  const i = rowOfAnchor(hash);
  if (i < 0) return;
  const k = matched.indexOf(i);
  while (k >= drawn && drawn < matched.length) drawMore();
  select(i, false);
  showView(i);
  showLadder(data.rows[i]![2], i);
  const at = /@(\d+)$/.exec(hash);
  if (at !== null && view !== null) {
    const node = owner[Number(at[1])] ?? -1;
    if (node >= 0) {
      pinned = true;
      highlight(node);
    }
  }
}
window.addEventListener('hashchange', openHash);

applyFilter();
openHash();
// Without a link to a packet, the first one is shown (select() without opening keeps the address as it is).
if (selected < 0 && matched.length > 0) {
  const first = matched[0]!;
  select(first, false);
  showView(first);
  showLadder(data.rows[first]![2], first);
}

// Plots, drawn by uPlot (inlined before this script by src/page/html.ts): packets per second by type, bytes per
// second each way, round-trip times, messages per second of the busiest topics.
interface ChartSeries { label: string; stroke?: string; fill?: string; width?: number; paths?: () => null; points?: { show: boolean; size?: number; fill?: string } }
interface ChartAxis { label?: string; stroke?: string; grid?: { stroke: string } }
interface ChartOptions { title: string; width: number; height: number; scales: Record<string, { time: boolean }>; series: ChartSeries[]; axes?: ChartAxis[] }
declare const uPlot: (new (opts: ChartOptions, data: (number | null)[][], target: HTMLElement) => unknown) | undefined;

const COLOURS = ['#1565c0', '#2e7d32', '#c62828', '#6a1b9a', '#ef6c00', '#00838f', '#5d4037', '#ad1457', '#558b2f', '#283593', '#f9a825', '#37474f', '#7b1fa2', '#d84315', '#00695c', '#616161'];

/** The page's colours in the scheme in use (light or dark), for the canvas uPlot draws on. */
const css = getComputedStyle(document.documentElement);
const fg = css.getPropertyValue('--fg').trim() || '#1b1b1b';
const line = css.getPropertyValue('--line').trim() || '#d0d0d0';

function chart(id: string, title: string, x: number[], series: { label: string; values: (number | null)[] }[], yLabel: string, dots = false): void {
  const target = byId(id);
  target.replaceChildren();
  if (typeof uPlot === 'undefined' || x.length === 0 || series.length === 0) return;
  const opts: ChartOptions = {
    title, width: 960, height: 240, scales: { x: { time: false } },
    series: [{ label: 's' }, ...series.map((s, i): ChartSeries => (dots
      ? { label: s.label, stroke: COLOURS[i % COLOURS.length]!, paths: () => null, points: { show: true, size: 5, fill: COLOURS[i % COLOURS.length]! } }
      : { label: s.label, stroke: COLOURS[i % COLOURS.length]!, width: 1.5 }))],
    axes: [{ label: 'seconds from the first bucket', stroke: fg, grid: { stroke: line } }, { label: yLabel, stroke: fg, grid: { stroke: line } }],
  };
  new uPlot(opts, [x, ...series.map((s) => s.values)], target);
  target.dataset['series'] = String(series.length);
  target.dataset['points'] = String(x.length);
}

function drawPlots(p: Plots): void {
  byId('plot-notes').textContent = p.notes.join('; ');
  const perSecond = (v: number[], width: number): number[] => v.map((n) => n / width);
  chart('plot-types', `Packets per second by type (${p.ioWidth} s buckets)`, p.ioOffsets,
    Object.entries(p.ioTypes).map(([label, v]) => ({ label, values: perSecond(v, p.ioWidth) })), 'packets/s');
  chart('plot-bytes', `Bytes per second each way (${p.ioWidth} s buckets)`, p.ioOffsets,
    [{ label: 'client → server', values: perSecond(p.bytesC2s, p.ioWidth) }, { label: 'server → client', values: perSecond(p.bytesS2c, p.ioWidth) }], 'bytes/s');
  // Round trips: one series per pair kind over the union of the answers' times (null where a point is another kind's).
  const points = [...p.rtt].sort((a, b) => a[0] - b[0]);
  const kinds = [...new Set(points.map((q) => q[2]))];
  chart('plot-rtt', 'Round-trip times (request to answer)', points.map((q) => q[0]),
    kinds.map((k) => ({ label: k, values: points.map((q) => (q[2] === k ? q[1] : null)) })), 'ms', true);
  const longest = Math.max(0, ...p.topics.map((t) => t.rate.length));
  chart('plot-topics', `Messages per second of the busiest topics (${p.topicWidth} s buckets)`, Array.from({ length: longest }, (_, i) => i * p.topicWidth),
    p.topics.map((t) => ({ label: t.topic, values: Array.from({ length: longest }, (_, i) => (t.rate[i] ?? 0) / p.topicWidth) })), 'messages/s');
}

if (data.plots !== undefined) drawPlots(data.plots);
