/**
 * `mqtt-dissect report CAPTURE... [-o FILE]`: the captures as one self-contained HTML page (src/page/). The captures
 * go through every stage `read` runs, with field trees built for the packets the page keeps a view of; the
 * overview's tables are the summary's own (`--summary --json`), so the page and the terminal show the same numbers.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { CaptureFormatError } from '../capture/types.js';
import { VERSION_NAME, type ProtocolLevel } from '../mqtt/types.js';
import { LINK_TYPE_NAMES } from '../net/decoder.js';
import type { PacketRecord, PacketSink } from '../mqtt/connection-decoder.js';
import { pageHtml, pageHtmlPieces, type SummaryTable } from '../page/html.js';
import { MAX_PLOTTED_TOPICS, PageCollector, TreeGate, type PagePlots } from '../page/model.js';
import { StatsCollector } from '../render/stats/stats.js';
import { escapeText } from '../render/escape.js';
import type { KeyLog } from '../transport/tls/keylog.js';
import { buildBackEnd, defaultPorts, EXIT, oneLine, type BackEndArgs, type LineOut } from './back-end.js';
import { noMqttMessage } from './no-mqtt.js';
import { MemoryOut } from './output.js';
import { buildFrontPipeline, readAll } from './pipeline.js';
import type { DialectMode } from '../dialects/stage.js';
import type { DecodeBinding } from '../dialects/decoders/bindings.js';

export interface PageArgs {
  captures: string[];
  /** Where the page goes; null: standard output. */
  output: string | null;
  redact: boolean;
  port: number[];
  auto: boolean;
  keylog: KeyLog;
  tlsPorts: number[];
  dialect: DialectMode;
  /** --decode, --decode-file (checked). */
  decode?: readonly DecodeBinding[];
  /** -Y: the page shows only what this expression matches (all checks still run on the whole capture). */
  filter?: string;
  maxViews?: number;
  stdin?: AsyncIterable<Uint8Array>;
  /** After each input chunk: the CLI's memory policy (src/cli/memory.ts MemoryGuard), as `read` has it. */
  afterChunk?: () => void;
}

/** Protocol versions by packet count, for the overview's facts. */
class VersionCount implements PacketSink {
  readonly counts = new Map<number, number>();
  open(): void {}
  close(): void {}
  event(): void {}
  packet(rec: PacketRecord): void {
    const lv = rec.decoded.level;
    this.counts.set(lv, (this.counts.get(lv) ?? 0) + 1);
  }
}

function plots(io: StatsCollector, topics: StatsCollector, page: PageCollector): PagePlots {
  const buckets = io.tables()[0]!;
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  const ioTypes: Record<string, number[]> = {};
  for (const col of buckets.spec.columns) {
    if (col.sparse !== true) continue;
    const series = buckets.rows.map((r) => num(r[col.key]));
    if (series.some((v) => v > 0)) ioTypes[col.key] = series;
  }
  const topicTable = topics.tables()[0]!;
  const rtt = page.rttPoints;
  const notes = [...buckets.notes.map((n) => `packets per interval: ${n}`), ...topicTable.notes.map((n) => `topics: ${n}`)];
  if (page.rttOneIn > 1) notes.push(`round trips: one in ${page.rttOneIn} is plotted, evenly over the capture (all are in the timing table)`);
  return {
    ioWidth: num(buckets.extra?.['intervalSec']) || 1,
    ioOffsets: buckets.rows.map((r) => num(r['offsetSec'])),
    ioTypes,
    bytesC2s: buckets.rows.map((r) => num(r['bytesC2s'])),
    bytesS2c: buckets.rows.map((r) => num(r['bytesS2c'])),
    topicWidth: num(topicTable.extra?.['intervalSec']) || 1,
    topics: topicTable.rows.slice(0, MAX_PLOTTED_TOPICS).map((r) => ({ topic: escapeText(String(r['topic'])), rate: Array.isArray(r['rate']) ? r['rate'].map(num) : [] })),
    rtt,
    notes,
  };
}

export async function runPageCommand(a: PageArgs, out: LineOut, err: (line: string) => void): Promise<number> {
  const page = new PageCollector({ redact: a.redact, ...(a.maxViews !== undefined ? { maxViews: a.maxViews } : {}) });
  const versions = new VersionCount();
  const linkTypes = new Map<number, number>();
  // The plots' series come from the statistics sections' own code: packets and bytes per bucket, messages per topic.
  const io = new StatsCollector({ section: 'io' });
  const topics = new StatsCollector({ section: 'topics' });
  const args: BackEndArgs = {
    json: false, verbose: false, hex: false, full: false, redact: a.redact, color: false,
    dialect: a.dialect, summary: true, onlyViolations: false, failOn: undefined,
    ...(a.filter !== undefined ? { filter: a.filter } : {}),
    ...(a.decode !== undefined ? { decode: a.decode } : {}),
  };
  // The renderer is quiet (summary only): what it would print is nothing, kept nowhere.
  const be = buildBackEnd(args, new MemoryOut(0), false, true, undefined, [io.observer, topics.observer], [page, versions, io.counted, topics.counted]);
  // The sequence diagrams join requests and answers as the summary's timing table pairs them.
  const pairing = be.summaryStats?.pairing ?? null;
  if (pairing !== null) pairing.onPair = (kind, fromFrame, answer, seconds) => page.pair(kind, fromFrame, answer, seconds);
  // Field trees only for the packets whose views the page keeps (src/page/model.ts): the decoder's for the first
  // ones, TreeGate's for those with findings after them.
  const pipeline = buildFrontPipeline(new TreeGate(be.sink, page), {
    ports: defaultPorts(a.port), auto: a.auto, tree: true, treeWanted: () => page.treeWanted, dialect: a.dialect, keylog: a.keylog,
    ...(a.tlsPorts.length > 0 ? { tlsPorts: a.tlsPorts } : {}),
  }, (rec) => {
    page.frameTime(rec.timeSec, rec.timeNsec);
    // Frames per link type (a capture has one or a few; a pcapng's interfaces may differ): at most 64 kept.
    const n = linkTypes.get(rec.linkType);
    if (n !== undefined) linkTypes.set(rec.linkType, n + 1);
    else if (linkTypes.size < 64) linkTypes.set(rec.linkType, 1);
  });
  let code: number = EXIT.ok;
  try {
    await readAll(a.captures, pipeline, {
      interrupted: () => false, ...(a.stdin ? { stdin: a.stdin } : {}),
      ...(a.afterChunk !== undefined ? { afterChunk: (): undefined => { a.afterChunk!(); return undefined; } } : {}),
    });
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
    err(`mqtt-dissect report: ${oneLine(e.message)}`);
    code = EXIT.unreadable;
  }
  pipeline.finish();
  const summary = (be.summary?.renderJson() ?? []).map((l) => JSON.parse(l) as SummaryTable); // our own records, just written
  // The statistics sections --summary shows after its tables (per client, talkers, QoS flows), cut as its text is.
  for (const t of be.summaryStats?.alsoTables() ?? []) {
    summary.push({ table: `${t.section}-${t.spec.name}`, title: t.spec.title, rows: t.rows.slice(0, t.textRows).map((r) => ({ ...r })), shown: Math.min(t.rows.length, t.textRows), total: t.total });
  }
  const data = page.data();
  data.plots = plots(io, topics, page);
  const connections = summary.find((t) => t.table === 'connections');
  const findings = summary.find((t) => t.table === 'findings');
  const versionText = [...versions.counts].sort((x, y) => x[0] - y[0])
    .map(([lv, n]) => `${VERSION_NAME[lv as ProtocolLevel] ?? String(lv)}: ${n}`).join(', ');
  const facts: [string, string][] = [
    ['captures', a.captures.map((c) => (c === '-' ? 'standard input' : c)).join(', ')],
    ['frames', String(pipeline.frames)],
    ['link types (frames)', [...linkTypes].map(([t, n]) => `${LINK_TYPE_NAMES[t] ?? `link type ${t}`}: ${n}`).join(', ') || '-'],
    ['duration s', page.duration],
    ['connections', String(connections?.total ?? 0)],
    ['MQTT packets', String(data.packets)],
    ['versions (packets)', versionText === '' ? '-' : versionText],
    ['findings', String((findings?.rows ?? []).reduce((n, r) => n + Number(r['count'] ?? 0), 0))],
    ...(args.filter !== undefined ? [['shown', `what -Y ${args.filter} matches (the tables count only that; every check ran on the whole capture)`] as [string, string]] : []),
  ];
  const pageFacts = { title: `mqtt-dissect: ${a.captures.join(', ')}`, captures: a.captures, facts };
  if (a.output === null) {
    out.line(pageHtml(pageFacts, summary, data));
    out.flush();
  } else {
    try {
      // Piece by piece: the page of a big capture is never one string (and its UTF-8 copy) in memory.
      const fd = openSync(a.output, 'w');
      try {
        for (const piece of pageHtmlPieces(pageFacts, summary, data)) {
          const b = Buffer.from(piece, 'utf8');
          for (let off = 0; off < b.length;) {
            const n = writeSync(fd, b, off, b.length - off);
            if (n <= 0) throw new Error('no byte written');
            off += n;
          }
        }
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      err(`mqtt-dissect report: cannot write ${oneLine(a.output)}: ${oneLine(e instanceof Error ? e.message : String(e))}`);
      return EXIT.unreadable;
    }
  }
  if (data.packets === 0 && code === EXIT.ok) err(noMqttMessage(a.captures.join(', '), pipeline.ports, defaultPorts(a.port), be.counter.tlsUndecrypted));
  return code;
}
