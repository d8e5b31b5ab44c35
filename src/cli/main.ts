/** The command line: the only module that touches process, stdin and stdout. */
import yargs from 'yargs';
import { CaptureFormatError } from '../capture/types.js';
import { decideColor, makeChalk } from '../render/color.js';
import { rulesJson, rulesText, sparkplugRulesJson, sparkplugRulesText } from '../render/rules.js';
import { ruleRows } from '../rules/catalogue.js';
import { sparkplugRuleRows } from '../rules/catalogue-sparkplug.js';
import type { Shard } from '../tcp/reassembler.js';
import type { Connection } from '../tcp/types.js';
import { explainBytes, type ExplainStats } from './explain.js';
import { pastedMqttBytes } from './pasted-frame.js';
import { VERSION_NAME } from '../mqtt/types.js';
import { addOptions, AUDIT_OPTIONS, checkArgv, commandOf, completions, EXPLAIN_OPTIONS, READ_OPTIONS, REPORT_OPTIONS, RULES_OPTIONS, STATS_OPTIONS, TRACE_OPTIONS } from './options.js';
import { SECTION_NAMES, STATS_SECTIONS, statsListText } from '../render/stats/sections.js';
import { READ_DEFAULTS } from './read.js';
import { loadKeyLog } from './keylog-file.js';
import type { KeyLog } from '../transport/tls/keylog.js';
import { runTraceCommand, topicFilterError, topicNameError } from './trace.js';
import { auditList, runAuditCommand } from './audit.js';
import { runPageCommand } from './page.js';
import { PageCollector } from '../page/model.js';
import { pageHtml } from '../page/html.js';
import { runCoverageCommand, type ReportFormat } from './report.js';
import { HexInputError } from './hex-input.js';
import { checkFilter } from '../filter/compile.js';
import { exportArgs } from './export-args.js';
import { TIME_FORMATS, type TimeFormat } from '../render/format.js';
import { filterFieldsText } from '../filter/docs.js';
import { MemoryGuard } from './memory.js';
import { Output } from './output.js';
import type { DialectMode } from '../dialects/stage.js';
import { EXIT, oneLine, readCaptures, type CommonArgs, type FailOn, type ReadArgs } from './read.js';
import { loadBindings } from './decode-file.js';
import type { DecodeBinding } from '../dialects/decoders/bindings.js';

export { EXIT };

class UsageError extends Error {}

/** The --fail-on threshold from the command line: undefined means findings never change the exit status. */
function failThreshold(a: Record<string, unknown>): FailOn | undefined {
  const { failOn, failOnViolation } = a;
  if (failOn === 'error' || failOn === 'warning') return failOn;
  return failOnViolation === true ? 'error' : undefined;
}

/** Exit statuses after SIGINT and SIGTERM, as a shell reports a process killed by them (128 + signal number). */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * SIGINT/SIGTERM while reading: the first one stops reading and lets the run end as at the end of the input
 * (pending events, incomplete flows, the summary), then exits 130 / 143; a second one exits at once.
 */
class Interrupt {
  signal: string | null = null;
  readonly stopped: Promise<void>;
  private resolve!: () => void;
  private readonly handler = (sig: NodeJS.Signals): void => {
    if (this.signal !== null) process.exit(SIGNAL_EXIT[sig] ?? 130);
    this.signal = sig;
    this.resolve();
  };

  constructor() {
    this.stopped = new Promise<void>((r) => { this.resolve = r; });
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}

/** `mqtt-dissect [read] ...`: the captures through the pipeline (src/cli/read.ts), on stdout and stderr. */
async function runRead(a: ReadArgs, out: Output): Promise<number> {
  const color = decideColor({ flag: a.color, isTTY: process.stdout.isTTY === true, env: process.env });
  const interrupt = new Interrupt();
  const memory = new MemoryGuard();
  let code: number;
  try {
    code = await readCaptures(a, {
      out,
      err: (l) => { process.stderr.write(`${l}\n`); },
      color,
      env: process.env,
      // A terminal's own width for the --summary tables; anything else (a pipe, a file, CI) gets DEFAULT_WIDTH.
      ...(process.stdout.isTTY === true && process.stdout.columns > 0 ? { width: process.stdout.columns } : {}),
      stop: interrupt.stopped,
      interrupted: () => interrupt.signal !== null,
      afterChunk: () => {
        memory.afterChunk();
        return out.drained();
      },
      // From here on a Ctrl-C is not caught: what remains is printing what was read.
      readingDone: () => interrupt.dispose(),
    });
  } finally {
    interrupt.dispose();
  }
  if (code === EXIT.unreadable) return code;
  if (interrupt.signal !== null) return SIGNAL_EXIT[interrupt.signal] ?? 130;
  return code;
}

/** Pasted bytes, not captures: a few MB of hex text is already far more than anyone explains by hand. */
const MAX_STDIN_TEXT = 16 * 1024 * 1024;

async function readStdinText(): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of process.stdin) {
    const b = c as Buffer;
    total += b.length;
    if (total > MAX_STDIN_TEXT) {
      process.stdin.destroy();
      throw new HexInputError('stdin holds more than 16 MiB of text: explain is for pasted packets (read captures without "explain")');
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface ExplainArgs extends CommonArgs {
  hexBytes: string[];
  /** --html: the packets as the HTML page's packet views, on standard output. */
  html: boolean;
  protocolVersion: number | undefined;
  dialect: DialectMode;
  base64: boolean;
  failOn: FailOn | undefined;
  decode: readonly DecodeBinding[];
}

async function runExplain(a: ExplainArgs, out: Output): Promise<number> {
  const color = decideColor({ flag: a.color, isTTY: process.stdout.isTTY === true, env: process.env });
  const notes: string[] = [];
  let bytes: Uint8Array;
  try {
    const text = a.hexBytes.length > 0 && !(a.hexBytes.length === 1 && a.hexBytes[0] === '-') ? a.hexBytes.join(' ') : await readStdinText();
    bytes = pastedMqttBytes(text, a.base64, notes);
  } catch (err) {
    if (err instanceof HexInputError) {
      process.stderr.write(`mqtt-dissect explain: ${oneLine(err.message)}\n`);
      return EXIT.usage;
    }
    throw err;
  }
  const level = a.protocolVersion === undefined ? undefined : a.protocolVersion as 3 | 4 | 5;
  const stats: ExplainStats = { errors: 0, warnings: 0, events: 0 };
  const page = a.html ? new PageCollector({ redact: a.redact }) : null;
  const eventNotes: string[] = [];
  let lines = explainBytes(bytes, {
    level, json: a.json && !a.html, chalk: makeChalk(color && !a.html), full: a.full, redact: a.redact, dialect: a.dialect, stats, decode: a.decode,
    ...(page !== null ? { page, eventNotes } : {}),
  });
  if (page !== null) {
    const data = page.data();
    lines = [pageHtml({
      title: 'mqtt-dissect explain', captures: [],
      facts: [['input', `${bytes.length} pasted bytes`], ['MQTT packets', String(data.packets)], ...eventNotes.map((n): [string, string] => ['framing', n])],
    }, [], data)];
  }
  if (stats.detectedLevel !== undefined) notes.push(`no CONNECT gives the version: decoded as MQTT ${VERSION_NAME[stats.detectedLevel]}, the only one under which the bytes decode without problems`);
  for (const n of notes) process.stderr.write(`mqtt-dissect explain: ${oneLine(n)}\n`);
  for (const l of lines) out.line(l);
  out.flush();
  // Malformed bytes (errors, or bytes that are no whole packet) fail only when asked to.
  if (a.failOn === undefined) return EXIT.ok;
  const failing = stats.errors + stats.events + (a.failOn === 'warning' ? stats.warnings : 0);
  return failing > 0 ? EXIT.violations : EXIT.ok;
}

/** Most processes anyone would split one capture over; beyond it the per-process cost of reading the whole file dominates. */
const MAX_SHARDS = 1024;

/** "K/N" (1 <= K <= N) to a 0-based shard, or the usage error. */
export function parseShard(text: string): Shard | string {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || n > MAX_SHARDS || k < 1 || k > n) return `--shard ${text} is not K/N with 1 <= K <= N <= ${MAX_SHARDS} (e.g. --shard 2/4)`;
  return { index: k - 1, count: n };
}

/** -t: tshark's u and ud are UTC, which a and ad already are here. */
function timeFormat(t: string | undefined): TimeFormat | undefined {
  if (t === undefined) return undefined;
  if (t === 'u') return 'a';
  if (t === 'ud') return 'ad';
  return TIME_FORMATS.find((f) => f === t);
}

const ARGS_PASSED_THROUGH = new Set(['--help', '-h', '--version']);

const err = (l: string): void => { process.stderr.write(`${l}\n`); };

/** Every -Y expression compiles; the first that does not is said (with its caret line) on stderr. */
/** Repeated -Y: all must match. */
function joinedFilter(filters: readonly string[]): string | undefined {
  return filters.length === 0 ? undefined : filters.length === 1 ? filters[0] : filters.map((f) => `(${f})`).join(' && ');
}

function filtersValid(filters: readonly string[]): boolean {
  for (const f of filters) {
    const problem = checkFilter(f);
    if (problem !== null) {
      process.stderr.write(problem.map((l, i) => (i === 0 ? `mqtt-dissect: -Y: ${oneLine(l)}\n` : `${l}\n`)).join(''));
      return false;
    }
  }
  return true;
}

/** --decode and --decode-file of a command, read and checked: the bindings, or the usage error. */
function commandBindings(a: Record<string, unknown>): ReturnType<typeof loadBindings> {
  return loadBindings(([] as unknown[]).concat(a['decode'] ?? []).map(String), ([] as unknown[]).concat(a['decodeFile'] ?? []).map(String));
}

/** --tls-keylog FILE (or SSLKEYLOGFILE) of a command, read; null after saying why it could not be (exit 1). */
function commandKeyLog(a: Record<string, unknown>): KeyLog | null {
  return loadKeyLog(a['tlsKeylog'] !== undefined ? String(a['tlsKeylog']) : undefined, process.env, err);
}

/**
 * `follow N CAPTURE...` (tshark's follow, for MQTT): connection N's packets, events and close, both directions, in
 * order, in any mode: the read command with --conn N. Returns the rewritten command line, null when it is not
 * `follow`, or the usage error.
 */
function followArgv(argv: readonly string[]): string[] | string | null {
  if (commandOf(argv) !== 'follow') return null;
  const at = argv.indexOf('follow');
  // N right after the word: an option's value (-c 10) can then never be taken for it.
  const conn = argv[at + 1];
  if (conn === undefined || !/^\d{1,9}$/.test(conn)) {
    return `follow needs a connection number right after it (follow N [options] capture; N as in the conn column or NDJSON conn)${conn !== undefined ? `, not "${conn}"` : ''}`;
  }
  return [...argv.slice(0, at), ...argv.slice(at + 2), '--conn', conn];
}

export async function main(rawArgv: string[]): Promise<number> {
  const out = new Output(process.stdout);
  // Shell completion asks with the words typed so far (the first is the program name).
  if (rawArgv[0] === '--get-yargs-completions') {
    for (const w of completions(rawArgv.slice(2))) out.line(w);
    out.flush();
    return EXIT.ok;
  }
  const followed = rawArgv.some((w) => ARGS_PASSED_THROUGH.has(w)) ? null : followArgv(rawArgv);
  if (typeof followed === 'string') {
    process.stderr.write(`mqtt-dissect: ${followed} (see --help)\n`);
    return EXIT.usage;
  }
  if (followed !== null) rawArgv = followed;
  const command = commandOf(rawArgv);
  if (command === 'read' && rawArgv.includes('--help-fields')) {
    for (const l of filterFieldsText()) out.line(l);
    out.flush();
    return EXIT.ok;
  }
  const checked = checkArgv(rawArgv);
  const wantsHelp = rawArgv.some((w) => ARGS_PASSED_THROUGH.has(w));
  const usage = (msg: string): number => {
    process.stderr.write(`mqtt-dissect: ${oneLine(msg)} (see --help)\n`);
    return EXIT.usage;
  };
  if (checked.error !== null && !wantsHelp) return usage(checked.error);
  const coverage = command === 'rules' && rawArgv.some((w) => w === '--coverage' || w.startsWith('--coverage='));
  if (!wantsHelp && (command === 'rules' || command === 'completion') && checked.positionals.length > 0 && !coverage) {
    return usage(`${command} takes no operand (got "${checked.positionals[0]!}")`);
  }
  if (!wantsHelp && command === 'read' && checked.positionals.length === 0) {
    return usage('give a capture file, "-" for stdin, or a command (explain, rules, trace, stats, audit, follow N)');
  }
  if (!wantsHelp && command === 'trace' && checked.positionals.length === 0) return usage('trace needs a capture file (or - for stdin)');
  if (!wantsHelp && command === 'stats' && !rawArgv.includes('--list')) {
    const name = checked.positionals[0];
    if (name === undefined) return usage(`stats needs a section (${SECTION_NAMES.join(', ')}) and a capture file`);
    if (!SECTION_NAMES.includes(name)) return usage(`no stats section "${name}" (sections: ${SECTION_NAMES.join(', ')}; stats --list describes them)`);
    if (checked.positionals.length < 2) return usage(`stats ${name} needs a capture file (or - for stdin)`);
  }
  if (!wantsHelp && command === 'report' && checked.positionals.length === 0) return usage('report needs a capture file (or - for stdin)');
  if (!wantsHelp && command === 'audit' && checked.positionals.length === 0 && !rawArgv.includes('--list')) return usage('audit needs a capture file (or - for stdin), or --list');
  if (!wantsHelp && command === 'audit' && checked.positionals.length > 0 && rawArgv.includes('--list')) return usage('audit --list takes no capture');
  // Operands never go through yargs: it parses them in quadratic time (docs/decisions.md) and turns "-" into "".
  const explicit = rawArgv.includes(command) && command !== 'read' ? [command] : rawArgv.includes('read') ? ['read'] : [];
  const argv = [...explicit, ...checked.options];
  let code: number = EXIT.ok;
  let usageError: string | null = null;
  const parser = yargs(argv)
    .scriptName('mqtt-dissect')
    .usage('$0 [read] <capture...|->  dissect MQTT in pcap/pcapng captures (.gz too) or a live pipe\n$0 explain <hex...>       explain pasted MQTT bytes')
    .command(
      ['read [capture..]', '$0 [capture..]'],
      'dissect MQTT in pcap or pcapng files (gzip-compressed too), read one after the other in the order given; "-" reads a live pipe from stdin',
      (y) => addOptions(y, READ_OPTIONS)
        .positional('capture', { type: 'string', describe: 'capture files (or -r FILE), or - for stdin' }),
      async (a) => {
        const ports = ([] as unknown[]).concat(a['port'] ?? []).map(Number);
        let shard: Shard | undefined;
        if (a['shard'] !== undefined) {
          const parsed = parseShard(String(a['shard']));
          if (typeof parsed === 'string') {
            usageError = parsed;
            return;
          }
          shard = parsed;
        }
        const exported = exportArgs({
          format: a['format'] as string | undefined, csv: a['csv'] === true,
          fields: ([] as unknown[]).concat(a['field'] ?? []).map(String), options: ([] as unknown[]).concat(a['fieldOption'] ?? []).map(String),
          json: a['json'] === true, verbose: a['verbose'] === true, hex: a['hex'] === true,
        });
        if (typeof exported === 'string') {
          usageError = exported;
          return;
        }
        const filters = ([] as unknown[]).concat(a['filter'] ?? []).map(String);
        for (const c of ([] as unknown[]).concat(a['conn'] ?? [])) filters.push(`conn == ${Number(c)}`);
        if (!filtersValid(filters)) {
          code = EXIT.usage;
          return;
        }
        const decode = commandBindings(a);
        if (typeof decode === 'string') {
          usageError = decode;
          return;
        }
        const reports = (checked.pairs['report'] ?? []).map(([format, file]) => ({ format: format as ReportFormat, file })); // checked against its choices by checkArgv
        if (reports.length > 0 && Number(a['threads'] ?? 1) > 1) {
          usageError = '--report needs the rules in the main thread: leave out --threads 2';
          return;
        }
        code = await runRead({
          reports,
          count: a['count'] === true,
          timeFormat: timeFormat(a['time'] as string | undefined),
          maxPackets: a['maxPackets'] !== undefined ? Number(a['maxPackets']) : undefined,
          filter: joinedFilter(filters),
          captures: checked.positionals,
          json: a['json'] === true || a['format'] === 'json', verbose: a['verbose'] === true, hex: a['hex'] === true, full: a['full'] === true, redact: a['redact'] === true,
          color: a['color'] as boolean | undefined,
          fieldsExport: exported,
          port: ports, auto: a['auto'] === true, dialect: a['dialect'] as DialectMode, summary: a['summary'] === true,
          onlyViolations: a['onlyViolations'] === true, failOn: failThreshold(a), shard,
          maxConnections: a['maxConnections'] !== undefined ? Number(a['maxConnections']) : undefined,
          threads: Number(a['threads'] ?? 1),
          tlsKeylog: a['tlsKeylog'] !== undefined ? String(a['tlsKeylog']) : undefined,
          tlsPorts: ([] as unknown[]).concat(a['tlsPort'] ?? []).map(Number),
          sessions: a['sessions'] !== false,
          ...(decode.length > 0 ? { decode } : {}),
        }, out);
      },
    )
    .command(
      'explain [hex..]',
      'explain MQTT packet bytes pasted from anywhere (or from stdin), byte by byte',
      (y) => addOptions(y, EXPLAIN_OPTIONS)
        .positional('hex', { type: 'string', describe: 'bytes as hex: "10 2d 00 04", 102d0004, 0x10,0x2d, \\x10\\x2d, a C array, a hex dump (xxd, hexdump -C, tshark -x), or base64' }),
      async (a) => {
        const decode = commandBindings(a);
        if (typeof decode === 'string') {
          usageError = decode;
          return;
        }
        code = await runExplain({
          hexBytes: checked.positionals,
          json: a['json'] === true, verbose: false, hex: false, full: a['full'] === true, redact: a['redact'] === true,
          color: a['color'] as boolean | undefined,
          protocolVersion: a['protocolVersion'] === undefined ? undefined : Number(a['protocolVersion']),
          dialect: a['dialect'] as DialectMode, base64: a['base64'] === true, failOn: failThreshold(a), html: a['html'] === true, decode,
        }, out);
      },
    )
    .command(
      'trace [capture..]',
      'follow each message from its publisher to the deliveries the broker made, with latencies (one block per message)',
      (y) => addOptions(y, TRACE_OPTIONS).positional('capture', { type: 'string', describe: 'capture files, or - for stdin' }),
      async (a) => {
        const topic = a['topic'] !== undefined ? String(a['topic']) : undefined;
        const bad = topic === undefined ? null : topicFilterError(topic);
        if (bad !== null) {
          usageError = bad;
          return;
        }
        const receivers = a['receivers'] !== undefined ? String(a['receivers']) : undefined;
        const badName = receivers === undefined ? null : topicNameError(receivers);
        const filters = ([] as unknown[]).concat(a['filter'] ?? []).map(String);
        const mixed = receivers !== undefined && (a['client'] !== undefined || topic !== undefined || filters.length > 0);
        if (badName !== null || mixed || (a['from'] !== undefined && receivers === undefined)) {
          usageError = badName ?? (mixed ? '--receivers answers for one topic; --client, --topic and -Y select messages, not receivers' : '--from goes with --receivers TOPIC');
          return;
        }
        if (!filtersValid(filters)) {
          code = EXIT.usage;
          return;
        }
        const decode = commandBindings(a);
        if (typeof decode === 'string') {
          usageError = decode;
          return;
        }
        const keylog = commandKeyLog(a);
        if (keylog === null) {
          code = EXIT.unreadable;
          return;
        }
        const color = decideColor({ flag: a['color'] as boolean | undefined, isTTY: process.stdout.isTTY === true, env: process.env });
        code = await runTraceCommand({
          captures: checked.positionals, client: a['client'] !== undefined ? String(a['client']) : undefined, topic,
          filter: joinedFilter(filters),
          receivers, from: a['from'] !== undefined ? String(a['from']) : undefined, json: a['json'] === true,
          port: ([] as unknown[]).concat(a['port'] ?? []).map(Number), auto: a['auto'] === true, keylog,
          tlsPorts: ([] as unknown[]).concat(a['tlsPort'] ?? []).map(Number), decode,
        }, out, makeChalk(color), err);
      },
    )
    .command(
      'stats [name] [capture..]',
      `one statistics section of the captures, as a table (--json NDJSON, --csv): ${SECTION_NAMES.join(', ')} (--list describes them)`,
      (y) => addOptions(y, STATS_OPTIONS)
        .positional('name', { type: 'string', describe: `the section: ${SECTION_NAMES.join(', ')}` })
        .positional('capture', { type: 'string', describe: 'capture files (or -r FILE), or - for stdin' }),
      async (a) => {
        if (a['list'] === true) {
          if (a['json'] === true) for (const s of STATS_SECTIONS) out.line(JSON.stringify({ kind: 'stats-section', name: s.name, describe: s.describe, tables: s.tables.map((t) => ({ name: t.name, columns: t.columns.map((c) => c.key) })) }));
          else for (const l of statsListText()) out.line(l);
          return;
        }
        if (a['json'] === true && a['csv'] === true) {
          usageError = 'stats takes --json or --csv, not both';
          return;
        }
        const filters = ([] as unknown[]).concat(a['filter'] ?? []).map(String);
        if (!filtersValid(filters)) {
          code = EXIT.usage;
          return;
        }
        const decode = commandBindings(a);
        if (typeof decode === 'string') {
          usageError = decode;
          return;
        }
        const [section, ...captures] = checked.positionals;
        code = await runRead({
          ...READ_DEFAULTS,
          captures,
          color: a['color'] as boolean | undefined,
          filter: joinedFilter(filters),
          port: ([] as unknown[]).concat(a['port'] ?? []).map(Number), auto: a['auto'] === true,
          maxConnections: a['maxConnections'] !== undefined ? Number(a['maxConnections']) : undefined,
          tlsKeylog: a['tlsKeylog'] !== undefined ? String(a['tlsKeylog']) : undefined,
          tlsPorts: ([] as unknown[]).concat(a['tlsPort'] ?? []).map(Number),
          dialect: 'none',
          ...(decode.length > 0 ? { decode } : {}),
          stats: {
            section: section!, format: a['json'] === true ? 'json' : a['csv'] === true ? 'csv' : 'text',
            ...(a['interval'] !== undefined ? { interval: Number(a['interval']) } : {}),
          },
        }, out);
      },
    )
    .command(
      'audit [capture..]',
      'security audit: clear-text credentials, anonymous access, shared credentials, brute force, broad subscriptions, guessable ClientIds, secrets in payloads … (observations with a severity, not spec violations; --list for the checks)',
      (y) => addOptions(y, AUDIT_OPTIONS).positional('capture', { type: 'string', describe: 'capture files, or - for stdin' }),
      async (a) => {
        const color = decideColor({ flag: a['color'] as boolean | undefined, isTTY: process.stdout.isTTY === true, env: process.env });
        if (a['list'] === true) {
          for (const l of auditList(a['json'] === true, makeChalk(color))) out.line(l);
          return;
        }
        const keylog = commandKeyLog(a);
        if (keylog === null) {
          code = EXIT.unreadable;
          return;
        }
        code = await runAuditCommand({
          captures: checked.positionals, json: a['json'] === true, showSecrets: a['showSecrets'] === true,
          port: ([] as unknown[]).concat(a['port'] ?? []).map(Number), auto: a['auto'] === true, keylog,
          tlsPorts: ([] as unknown[]).concat(a['tlsPort'] ?? []).map(Number),
        }, out, makeChalk(color), err);
      },
    )
    .command(
      'report [capture..]',
      'the captures as one self-contained HTML page: overview, packet list, and packet views where every byte maps to its field (-o FILE, else standard output)',
      (y) => addOptions(y, REPORT_OPTIONS).positional('capture', { type: 'string', describe: 'capture files, or - for stdin' }),
      async (a) => {
        const filters = ([] as unknown[]).concat(a['filter'] ?? []).map(String);
        if (!filtersValid(filters)) {
          code = EXIT.usage;
          return;
        }
        const decode = commandBindings(a);
        if (typeof decode === 'string') {
          usageError = decode;
          return;
        }
        const keylog = commandKeyLog(a);
        if (keylog === null) {
          code = EXIT.unreadable;
          return;
        }
        const filter = joinedFilter(filters);
        const memory = new MemoryGuard();
        code = await runPageCommand({
          ...(filter !== undefined ? { filter } : {}),
          captures: checked.positionals, output: a['output'] !== undefined ? String(a['output']) : null, redact: a['redact'] === true,
          port: ([] as unknown[]).concat(a['port'] ?? []).map(Number), auto: a['auto'] === true, keylog,
          tlsPorts: ([] as unknown[]).concat(a['tlsPort'] ?? []).map(Number), dialect: a['dialect'] as DialectMode, // checked against its choices
          ...(a['maxViews'] !== undefined ? { maxViews: Number(a['maxViews']) } : {}),
          ...(decode.length > 0 ? { decode } : {}),
          // The page's collections are bounded, but without it V8 let dead objects pile up: a 200 MB capture peaked at 683 MB.
          afterChunk: memory.afterChunk.bind(memory),
        }, out, err);
      },
    )
    .command(
      'rules',
      'list the conformance rules: id, spec, severity, paraphrase, checked or why not',
      (y) => addOptions(y, RULES_OPTIONS),
      async (a) => {
        const color = decideColor({ flag: a['color'] as boolean | undefined, isTTY: process.stdout.isTTY === true, env: process.env });
        if (coverage && a['checked'] !== undefined) {
          usageError = '--checked lists the catalogue; with --coverage, --all lists the rules not exercised';
          return;
        }
        if (coverage && a['spec'] === 'sparkplug') {
          usageError = '--spec sparkplug lists the Sparkplug 3.0 catalogue; --coverage covers the MQTT rules only';
          return;
        }
        if (coverage) {
          const keylog = commandKeyLog(a);
          if (keylog === null) {
            code = EXIT.unreadable;
            return;
          }
          code = await runCoverageCommand({
            captures: checked.positionals, json: a['json'] === true, all: a['all'] === true, spec: a['spec'] as string | undefined,
            port: ([] as unknown[]).concat(a['port'] ?? []).map(Number), auto: a['auto'] === true, keylog,
            tlsPorts: ([] as unknown[]).concat(a['tlsPort'] ?? []).map(Number),
          }, out, makeChalk(color), err);
          return;
        }
        const spec = a['spec'] as string | undefined;
        const onlyChecked = a['checked'] as boolean | undefined;
        if (spec === 'sparkplug') {
          const sp = sparkplugRuleRows().filter((r) => onlyChecked === undefined || r.implemented === onlyChecked);
          for (const l of a['json'] === true ? sparkplugRulesJson(sp) : sparkplugRulesText(sp, makeChalk(color))) out.line(l);
          return;
        }
        const rows = ruleRows().filter((r) => (spec === undefined || r.versions.split(',').includes(spec)) && (onlyChecked === undefined || r.implemented === onlyChecked));
        for (const l of a['json'] === true ? rulesJson(rows) : rulesText(rows, makeChalk(color))) out.line(l);
      },
    )
    .example('$0 captures/seed-walkthrough.pcap', 'one line per MQTT packet')
    .example('$0 -x capture.pcapng', 'annotated hex for every packet')
    .example('$0 --json capture.pcap > packets.ndjson', 'machine-readable output')
    .example('$0 --summary --port 8884 -r capture.pcap.gz', 'summary tables, with MQTT also on port 8884')
    .example('$0 --summary day1.pcap day2.pcap', 'several files, read in the order given')
    .example('tcpdump -i any -U --immediate-mode -w - port 1883 | $0 -', 'live: packets appear as they arrive; Ctrl-C prints what is pending')
    .example('$0 explain 10 2d 00 04 4d 51 54 54 04 c2 0b b8 ...', 'explain pasted bytes')
    .example('$0 rules --spec 5.0', 'the conformance rules checked for MQTT 5.0')
    .example('$0 rules --spec sparkplug', 'the Sparkplug 3.0 statements (tck-ids): checked, or why not')
    .example('$0 stats qos-flows capture.pcap', 'QoS 1/2 flows completed and unacknowledged (with frames): how many QoS 1 publishes got no PUBACK')
    .example('$0 stats io --interval 10 --csv capture.pcap > io.csv', 'packets per 10 s by type, for a plot')
    .example('$0 follow 3 -x capture.pcap', 'connection 3 alone, both directions, in order (the same as --conn 3), in any mode')
    .example('$0 --report junit rules.xml --report sarif rules.sarif capture.pcap', 'CI reports: one test case / result per rule (passed, failed with its frames, skipped)')
    .example('$0 rules --coverage capture.pcap', 'which rules the capture exercised, passed and broke')
    .example("$0 --decode 'sensors/+/cbor=cbor' --decode 'sensors/#=auto' capture.pcap", 'decode payloads by topic (the first binding that matches wins; auto says what it detected)')
    .example('$0 audit capture.pcap', 'security observations: clear-text credentials, anonymous access, secrets in payloads …')
    .example('$0 report capture.pcap -o capture.html', 'the capture as one HTML page: click any byte to see its field')
    .example('$0 trace --topic "sensors/#" capture.pcap', 'each message on sensors/#: its publisher and every delivery, with latencies')
    .example('$0 trace --receivers sensors/7/temp capture.pcap', 'which clients would receive a PUBLISH to sensors/7/temp, by the subscriptions seen')
    .epilog('Exit status: 0 input read (with or without findings); 1 unreadable input; 2 usage error; 3 findings at the --fail-on threshold (--fail-on-violation: errors); 130 / 143 after SIGINT / SIGTERM (output flushed first).')
    .completion('completion', 'print a bash/zsh completion script')
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      // Throwing stops yargs from running a command handler after a usage error.
      throw new UsageError(msg);
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    if (err instanceof UsageError) usageError = err.message;
    else if (err instanceof CaptureFormatError) {
      process.stderr.write(`mqtt-dissect: ${oneLine(err.message)}\n`);
      return EXIT.unreadable;
    }
    else throw err;
  }
  if (usageError !== null) return usage(usageError);
  out.flush();
  return code;
}

export type { Connection };
