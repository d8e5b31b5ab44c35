/**
 * Rule coverage of a run: `rules --coverage CAPTURE...` (a table) and `read --report junit|sarif FILE` (files written
 * after the capture is read). The rules stage counts what it evaluated; a CoverageCollector beside the renderers
 * counts what broke (src/rules/coverage.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ChalkInstance } from 'chalk';
import { CaptureFormatError } from '../capture/types.js';
import { DialectStage } from '../dialects/stage.js';
import { terminalSafeJson } from '../render/json.js';
import { coverageJson, coverageText, junitXml, sarifLog } from '../render/report.js';
import { checkedCounts, CoverageCollector, coverageRows, type CoverageRow } from '../rules/coverage.js';
import type { KeyLog } from '../transport/tls/keylog.js';
import { defaultPorts, EXIT, oneLine, type LineOut } from './back-end.js';
import { buildFrontPipeline, readAll, type Pipeline } from './pipeline.js';

export const REPORT_FORMATS = ['junit', 'sarif'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportRequest {
  format: ReportFormat;
  file: string;
}

/** The package's version (package.json is two folders above both src/cli/ and dist/cli/). */
export function packageVersion(): string {
  try {
    const p: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (typeof p === 'object' && p !== null && 'version' in p && typeof p.version === 'string') return p.version;
  } catch {
    // No package.json next to the code (a bundled copy): the reports say so.
  }
  return 'unknown';
}

/** The rows of a finished pipeline whose end carried `collector`. */
export function rowsOf(pipeline: Pipeline, collector: CoverageCollector): CoverageRow[] {
  if (pipeline.rules === null) throw new Error('coverage needs the rules stage in this thread');
  return coverageRows(checkedCounts(pipeline.rules.counters, pipeline.sessions !== null), collector);
}

/** Writes the requested reports; the one-line error of the first that fails, or null. */
export function writeReports(reports: readonly ReportRequest[], rows: readonly CoverageRow[], captures: readonly string[]): string | null {
  const meta = { captures, version: packageVersion() };
  for (const r of reports) {
    const text = r.format === 'junit' ? junitXml(rows, meta) : `${terminalSafeJson(JSON.stringify(sarifLog(rows, meta), null, 2))}\n`;
    try {
      writeFileSync(r.file, text);
    } catch (e) {
      return `cannot write the ${r.format} report ${r.file}: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return null;
}

export interface CoverageArgs {
  captures: string[];
  json: boolean;
  all: boolean;
  /** --spec: only the rules checked on connections of this version (TLS rules on every one). */
  spec?: string | undefined;
  port: number[];
  auto: boolean;
  keylog: KeyLog;
  tlsPorts: number[];
}

export async function runCoverageCommand(a: CoverageArgs, out: LineOut, chalk: ChalkInstance, err: (line: string) => void): Promise<number> {
  const collector = new CoverageCollector();
  // The dialect stage as in read, so the same records (and their findings) reach the collector.
  const pipeline = buildFrontPipeline(new DialectStage(collector, { dialect: 'auto', tree: false, views: false }), {
    ports: defaultPorts(a.port), auto: a.auto, tree: false, fieldsShown: false, dialect: 'auto', keylog: a.keylog,
    ...(a.tlsPorts.length > 0 ? { tlsPorts: a.tlsPorts } : {}),
  });
  let code: number = EXIT.ok;
  try {
    await readAll(a.captures, pipeline, { interrupted: () => false });
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
    err(`mqtt-dissect rules: ${oneLine(e.message)}`);
    code = EXIT.unreadable;
  }
  pipeline.finish();
  const spec = a.spec;
  const rows = rowsOf(pipeline, collector).filter((r) => spec === undefined || r.rule.entry === null || r.rule.entry.versions.some((v) => v === spec));
  for (const l of a.json ? coverageJson(rows) : coverageText(rows, chalk, a.all)) out.line(l);
  out.flush();
  if (collector.packets === 0 && code === EXIT.ok) err('mqtt-dissect rules: no MQTT in the capture');
  return code;
}
