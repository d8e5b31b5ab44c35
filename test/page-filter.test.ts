/**
 * The page's filter box selects what the CLI's -Y selects: for each expression, the packets the page's evaluator
 * keeps from a report's rows are the packets of `--json -Y EXPR` (frame and connection, in order). The evaluator is
 * run twice: imported (src/page/row-filter.ts) and as the page carries it (the bundle html.ts inlines, evaluated
 * alone). A field the page does not hold is an error that says so, and errors carry the CLI's caret line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filterBoxBundle } from '../src/page/html.js';
import type { PageData, PageRow } from '../src/page/model.js';
import { compileRowFilter, rowFilterError } from '../src/page/row-filter.js';
import { ROOT, runCli } from './builders/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mqtt-dissect-page-filter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CAPTURES = ['seed-walkthrough.pcap', 'real-sessions-v5.pcap', 'synthetic-malformed.pcapng'];

export const EXPRESSIONS = [
  'type == PUBLISH', 'type == publish', 'type != PUBLISH', 'type in {CONNECT, CONNACK}', '!(type == PUBLISH)',
  'conn == 1', 'conn != 1', 'conn > 1 || frame < 5', 'frame >= 10 && frame <= 20', 'dir == s2c', 'dir != c2s',
  'topic', 'topic contains "/"', 'topic matches "#"', 'topic matches "+/+"', 'topic matches "a/#" or topic ~ "^\\\\$"',
  'topic != "nope"', 'topic ~ "(?i)TEMP"', 'qos == 1', 'qos > 0', 'qos != 0', 'qos in {1 2}', 'qos', 'packetId', 'packetId == 1',
  'packetId > 2 && type == PUBACK', 'retain', 'retain == false', 'retain != 1', 'dup', 'length > 20', 'length <= 4', 'length == 2',
  'clientId', 'clientId contains "a"', 'clientId != "x"', 'violation', '!violation', 'violation.severity == error',
  'violation.severity != note', 'violation.id contains "MQTT"', 'violation.spec == 5.0', 'kind == packet',
  'type == SUBSCRIBE && qos == 0', 'not (type == PINGREQ or type == PINGRESP) and conn == 2',
];

interface Rec { kind: string; frame: number; conn: number }

function pageData(capture: string): PageData {
  const out = join(dir, `${capture}.html`);
  const r = runCli(['report', join(ROOT, 'captures', capture), '-o', out]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(/<script type="application\/json" id="page-data">([^<]*)<\/script>/.exec(readFileSync(out, 'utf8'))![1]!) as PageData;
}

function cliSelects(capture: string, expr: string): string[] {
  const r = runCli(['--json', '-Y', expr, join(ROOT, 'captures', capture)]);
  expect(r.status, `${expr}: ${r.stderr}`).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Rec).filter((x) => x.kind === 'packet').map((x) => `${x.frame}/${x.conn}`);
}

const key = (r: PageRow): string => `${r[0]}/${r[2]}`;

describe('the filter box selects what -Y selects', () => {
  const bundled = new Function(`${filterBoxBundle()}; return pageRowFilter;`)() as { compileRowFilter: typeof compileRowFilter };
  for (const capture of CAPTURES) {
    it(capture, () => {
      const data = pageData(capture);
      expect(data.rowsLeftOut).toBe(0);
      let nonEmpty = 0;
      for (const expr of EXPRESSIONS) {
        const want = cliSelects(capture, expr);
        const test = compileRowFilter(expr, data);
        expect(data.rows.filter(test).map(key), expr).toEqual(want);
        expect(data.rows.filter(bundled.compileRowFilter(expr, data)).map(key), `${expr} (bundled)`).toEqual(want);
        if (want.length > 0 && want.length < data.rows.length) nonEmpty++;
      }
      // The list is not trivially all or nothing.
      expect(nonEmpty).toBeGreaterThan(10);
    }, 120_000);
  }
});

describe('the filter box bundle', () => {
  const mod = (text: Record<string, string>) => (path: string): string => text[path] ?? 'export const x = 1;';
  it('refuses a module it cannot take apart rather than making a broken page', () => {
    expect(() => filterBoxBundle(mod({ 'page/row-filter.js': "import { readFileSync } from 'node:fs';" }))).toThrow(/not bundled before it/);
    expect(() => filterBoxBundle(mod({ 'filter/values.js': "import { parseFilter as p } from './syntax.js';" }))).toThrow(/renames/);
    expect(() => filterBoxBundle(mod({ 'filter/values.js': "export { x } from './syntax.js';" }))).toThrow(/cannot take apart/);
    expect(() => filterBoxBundle(mod({ 'mqtt/topic-match.js': "export const s = '</script>';" }))).toThrow(/<\/script/);
  });
  it('is one plain script: no import or export left', () => {
    const b = filterBoxBundle();
    expect(b).not.toMatch(/^\s*(import|export)\b/m);
    expect(() => new Function(b)).not.toThrow();
  });
});

describe('the filter box errors', () => {
  const ctx = { filterNames: ['type', 'topic', 'payload', 'ip.src', 'frame', 'mqtt.topic'], typeNames: ['PUBLISH', 'CONNECT'] };
  it('says a field the page does not hold is not in the page', () => {
    const e = rowFilterError('type == PUBLISH && payload contains "x"', ctx)!;
    expect(e[0]).toMatch(/^payload is not in the page .*report -Y/);
    expect(e[2]).toBe(`  ${' '.repeat(19)}^^^^^^^`);
    expect(rowFilterError('ip.src == 10.0.0.1', ctx)![0]).toMatch(/not in the page/);
    expect(rowFilterError('payloadDecoded.value.t > 3', ctx)![0]).toMatch(/not in the page/);
  });
  it('reports what the CLI reports, with the caret', () => {
    for (const expr of ['type = PUBLISH', 'type == FOO', 'topc == a', 'frame == x', 'topic matches "a/#/b"', 'qos contains 1', '(type == PUBLISH', 'frame in {}']) {
      const cli = runCli(['--json', '-Y', expr, join(ROOT, 'captures', 'seed-walkthrough.pcap')]);
      expect(cli.status, expr).not.toBe(0);
      const page = rowFilterError(expr, { filterNames: [...pageData('seed-walkthrough.pcap').filterNames], typeNames: ['PUBLISH', 'CONNECT', 'CONNACK', 'SUBSCRIBE'] });
      expect(page, expr).not.toBeNull();
      expect(cli.stderr, expr).toContain(page![1]!.trim());
      expect(cli.stderr, expr).toContain(page![2]!);
    }
  });
});
