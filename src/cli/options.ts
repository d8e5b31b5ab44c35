/**
 * Every option of every command, declared once: yargs is configured from these tables, the usage check reads them to
 * say exactly what is wrong with a command line, and shell completion offers them (and their values).
 *
 * Why the CLI checks names and values itself instead of leaving it to yargs 18.2.0 (measured, docs/decisions.md):
 * yargs reads an unknown `--bogus` as taking the next word as its value, so `--bogus x.pcap` reported "Not enough
 * non-option arguments"; a number option turns `abc` into NaN before we see it; its completion offers `--V`, `--x`,
 * `--p` for one-letter aliases and nothing for the default command's options; and it parses positionals in quadratic
 * time (10,000 words 4.8 s, 20,000 words 23 s), which is why `explain` hands its bytes to yargs not at all.
 */
import type { Argv } from 'yargs';
import { DEFAULT_MAX_CONNECTIONS } from '../tcp/reassembler.js';
import { parseBinding } from '../dialects/decoders/bindings.js';
import { FORMAT_LIST } from '../dialects/decoders/formats.js';

export interface OptionSpec {
  type: 'boolean' | 'string';
  alias?: string;
  describe: string;
  choices?: readonly string[];
  default?: unknown;
  /** A value check beyond choices: the usage error for a bad value, or null. */
  check?: (value: string) => string | null;
  /** Its value is an operand, kept in command-line order with the positionals (`-r FILE`). */
  positional?: boolean;
  /** Not shown in --help or offered by completion. */
  hidden?: boolean;
  /** Known, but a usage error with this explanation (an option that means nothing for this command). */
  rejected?: string;
  /**
   * Takes two words, a choice and a file (`--report junit FILE`): collected in Checked.pairs, never handed to yargs
   * (which has no option of two differently typed values). `choices` lists the first word's values.
   */
  pair?: true;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

export const DIALECTS = ['auto', 'onenet', 'none'] as const;
export const FAIL_ON = ['error', 'warning'] as const;

function positiveCheck(v: string): string | null {
  return /^\d{1,9}$/.test(v) && Number(v) >= 1 ? null : `--max-connections needs a positive whole number (got "${v}")`;
}

function connCheck(v: string): string | null {
  return /^\d{1,9}$/.test(v) ? null : `--conn needs a connection number (got "${v}")`;
}

function maxPacketsCheck(v: string): string | null {
  return /^\d{1,15}$/.test(v) && Number(v) >= 1 ? null : `-c needs a positive whole number of packets (got "${v}")`;
}

function portCheck(v: string): string | null {
  return /^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? null : `--port needs a number 1-65535 (got "${v}")`;
}

function decodeCheck(v: string): string | null {
  const r = parseBinding(v);
  return typeof r === 'string' ? `--decode ${JSON.stringify(v)}: ${r}` : null;
}

/** --decode and --decode-file, for every command that decodes PUBLISH payloads (read, follow, report, explain, stats, trace). */
const DECODE: OptionTable = {
  decode: { type: 'string', describe: `decode PUBLISH payloads whose topic matches FILTER as FORMAT: FILTER=FORMAT, e.g. --decode 'sensors/+/cbor=cbor' (repeatable; the first binding that matches wins; formats: ${FORMAT_LIST}; docs/decoders.md)`, check: decodeCheck },
  'decode-file': { type: 'string', describe: 'bindings from a file: one FILTER=FORMAT a line, # comments (repeatable; after every --decode, so a --decode wins over the file for the topics it matches)' },
};

function tlsPortCheck(v: string): string | null {
  return /^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? null : `--tls-port needs a number 1-65535 (got "${v}")`;
}

const OUTPUT: OptionTable = {
  json: { type: 'boolean', default: false, describe: 'NDJSON: one object per packet and per event' },
  full: { type: 'boolean', default: false, describe: 'show long payloads and fields whole' },
  redact: { type: 'boolean', default: false, describe: 'mask passwords and authentication data' },
  color: { type: 'boolean', describe: 'force colour on (--color) or off (--no-color); default: on for terminals, off with NO_COLOR' },
};

const FAIL: OptionTable = {
  'fail-on': { type: 'string', choices: FAIL_ON, describe: 'exit 3 when a finding of this severity or worse was found: error (warnings alone pass) or warning' },
};

export const READ_OPTIONS: OptionTable = {
  read: { type: 'string', alias: 'r', positional: true, describe: 'capture file to read (as tshark -r); repeatable: files are read one after the other in the order given' },
  ...OUTPUT,
  verbose: { type: 'boolean', alias: 'V', default: false, describe: 'show the field tree with byte offsets' },
  hex: { type: 'boolean', alias: 'x', default: false, describe: 'annotated hex under each packet' },
  port: { type: 'string', alias: 'p', describe: 'also decode this TCP port as MQTT (repeatable); 1883 and 6002 always', check: portCheck },
  auto: { type: 'boolean', default: false, describe: 'find MQTT on any port by a CONNECT at a stream start (and TLS by a ClientHello)' },
  'tls-keylog': { type: 'string', describe: 'NSS key log file (SSLKEYLOGFILE format) to decrypt MQTT over TLS; SSLKEYLOGFILE is read when this is absent' },
  'tls-port': { type: 'string', describe: 'also treat this TCP port as MQTT over TLS (repeatable); 8883 and the wss ports 8084, 8091 always (--tls-port 443 for wss on the HTTPS port)', check: tlsPortCheck },
  dialect: { type: 'string', choices: DIALECTS, default: 'auto', describe: 'platform dialect: auto (OneNET on port 6002 or by its topics), onenet, none' },
  ...DECODE,
  summary: { type: 'boolean', default: false, describe: 'tables at the end: connections, topics, packet types, findings' },
  'only-violations': { type: 'boolean', default: false, describe: 'print only packets with findings, and events' },
  filter: { type: 'string', alias: 'Y', describe: 'show only the packets, events and closes this expression matches, e.g. -Y \'type == PUBLISH && topic matches "factory/+/temp"\' (docs/filters.md; --help-fields lists the fields); repeated: all must match' },
  time: { type: 'string', alias: 't', choices: ['r', 'a', 'ad', 'e', 'd', 'u', 'ud'], describe: 'time column of the text view, as tshark -t: r relative to the first frame (default), a time of day, ad date and time, e epoch seconds, d since the packet shown before; always UTC (u, ud: the same as a, ad)' },
  conn: { type: 'string', describe: 'only this connection (its number in the conn column / NDJSON conn): the same as -Y \'conn == N\'', check: connCheck },
  'max-packets': { type: 'string', alias: 'c', describe: 'stop after showing N packets (as tshark -c; with -Y, N matching packets); reading stops too', check: maxPacketsCheck },
  count: { type: 'boolean', default: false, describe: 'print only how many packets match (-Y), instead of the packets; with --json as {"kind":"count"}' },
  format: { type: 'string', alias: 'T', choices: ['text', 'json', 'fields'], describe: 'output format as tshark -T: text (default), json (the same as --json), fields (the -e fields, one row per MQTT packet)' },
  field: { type: 'string', alias: 'e', describe: 'with -T fields: a field to export, by our name or Wireshark\'s (repeatable; --help-fields lists them)' },
  'field-option': { type: 'string', alias: 'E', describe: 'with -T fields, as tshark -E: separator=,|/t|/s, header=y|n, quote=d|s|n, aggregator=,|/s (repeatable)' },
  csv: { type: 'boolean', default: false, describe: 'comma-separated rows with a header, values in double quotes (-T fields -E separator=, -E header=y -E quote=d); frame, time, conn, addresses, type, client id, topic, QoS, packet id, payload length and finding ids unless -e names the fields' },
  'help-fields': { type: 'boolean', describe: 'list the fields -Y can test, with their types and Wireshark names, and exit' },
  ...FAIL,
  report: { type: 'string', pair: true, choices: ['junit', 'sarif'], describe: 'junit FILE or sarif FILE: write a CI report, one test case / result per rule: passed (exercised, no finding), failed (with its frames), skipped (not exercised); repeatable' },
  'fail-on-violation': { type: 'boolean', default: false, describe: 'the same as --fail-on error' },
  sessions: { type: 'boolean', default: true, describe: 'follow clients and messages across connections: sessions, subscriptions, deliveries (--no-sessions: off; off with --shard K/N, N > 1)' },
  shard: { type: 'string', describe: 'K/N: only the connections whose 4-tuple hash modulo N is K-1, to split one capture over N processes (see README)' },
  threads: { type: 'string', choices: ['1', '2'], default: '1', describe: '2: render in a second thread (text, --json, -V, -x run up to about 1.5 times faster on two cores; same output)' },
  'max-connections': { type: 'string', describe: `connections tracked at once (default ${DEFAULT_MAX_CONNECTIONS}); past it the least valuable are evicted and reported`, check: positiveCheck },
};

const EXPLAIN_SHOWS_ALL = 'explain always prints the annotated hex with the field tree; -V and -x are for reading captures';

export const EXPLAIN_OPTIONS: OptionTable = {
  ...OUTPUT,
  verbose: { type: 'boolean', alias: 'V', hidden: true, rejected: EXPLAIN_SHOWS_ALL, describe: '' },
  hex: { type: 'boolean', alias: 'x', hidden: true, rejected: EXPLAIN_SHOWS_ALL, describe: '' },
  base64: { type: 'boolean', default: false, describe: 'the input is base64 (detected by itself when it cannot be hex)' },
  html: { type: 'boolean', default: false, describe: 'write an HTML page instead: each packet\'s field tree beside its bytes, every byte mapped to its field (as in report)' },
  dialect: { type: 'string', choices: DIALECTS, default: 'auto', describe: 'platform dialect: auto (by topics), onenet, none' },
  'protocol-version': { type: 'string', choices: ['3', '4', '5'], describe: 'protocol level for packets before (or without) a CONNECT: 3 = 3.1, 4 = 3.1.1, 5 = 5.0 (default: detected)' },
  ...DECODE,
  ...FAIL,
};

export const RULES_OPTIONS: OptionTable = {
  json: { type: 'boolean', default: false, describe: 'NDJSON, one object per rule' },
  coverage: { type: 'string', positional: true, describe: 'CAPTURE: which rules the capture exercised, passed and broke (more captures may follow); read\'s --port, --auto, --tls-keylog, --tls-port apply' },
  all: { type: 'boolean', default: false, describe: 'with --coverage: list the rules not exercised too' },
  spec: { type: 'string', choices: ['3.1', '3.1.1', '5.0', 'sparkplug'], describe: 'only rules of this version; sparkplug: the Sparkplug 3.0 catalogue instead of the MQTT rules' },
  checked: { type: 'boolean', describe: 'only rules that are checked (--no-checked: only those that are not)' },
  color: { type: 'boolean', describe: 'force colour on or off' },
  port: READ_OPTIONS.port!,
  auto: READ_OPTIONS.auto!,
  'tls-keylog': READ_OPTIONS['tls-keylog']!,
  'tls-port': READ_OPTIONS['tls-port']!,
};

/** Options every command takes. */
const GLOBAL: OptionTable = {
  help: { type: 'boolean', alias: 'h', describe: 'show help' },
  version: { type: 'boolean', describe: 'show the version' },
};

export const TRACE_OPTIONS: OptionTable = {
  client: { type: 'string', describe: 'only messages this ClientId published or received' },
  topic: { type: 'string', describe: 'only messages whose topic this Topic Filter matches (+ and # as in a subscription)' },
  filter: { ...READ_OPTIONS.filter!, describe: 'only messages whose publisher\'s PUBLISH or one of whose deliveries this expression matches (docs/filters.md); repeated: all must match' },
  ...DECODE,
  receivers: { type: 'string', describe: 'instead of messages: which clients would receive a PUBLISH to this topic, by the subscriptions the capture showed (at its end)' },
  from: { type: 'string', describe: 'with --receivers: the publishing ClientId (its own No Local subscriptions do not count)' },
  json: { type: 'boolean', default: false, describe: 'NDJSON: message records (or with --receivers, receiver records)' },
  port: READ_OPTIONS.port!,
  auto: READ_OPTIONS.auto!,
  'tls-keylog': READ_OPTIONS['tls-keylog']!,
  'tls-port': READ_OPTIONS['tls-port']!,
  color: OUTPUT.color!,
};

function intervalCheck(v: string): string | null {
  return /^\d{1,7}(\.\d{1,6})?$/.test(v) && Number(v) >= 0.001 ? null : `--interval needs seconds, at least 0.001 (got "${v}")`;
}

export const STATS_OPTIONS: OptionTable = {
  read: READ_OPTIONS.read!,
  list: { type: 'boolean', describe: 'list the sections, their tables and columns, and exit' },
  json: { type: 'boolean', default: false, describe: 'NDJSON: a stats-table record per table, then a stats record per row' },
  csv: { type: 'boolean', default: false, describe: 'CSV of the section\'s first table (a header of column names, then the rows)' },
  interval: { type: 'string', describe: 'seconds per bucket of the io and topics time series (default 1 s for io; for topics the smallest doubling of 1 s that keeps 12 buckets); widened by doubling past 1,024 (io) or 256 (topics) buckets', check: intervalCheck },
  filter: { ...READ_OPTIONS.filter!, describe: 'count only the packets this expression matches (docs/filters.md); requests and responses are still paired over every packet (docs/stats.md); repeated: all must match' },
  ...DECODE,
  port: READ_OPTIONS.port!,
  auto: READ_OPTIONS.auto!,
  'tls-keylog': READ_OPTIONS['tls-keylog']!,
  'tls-port': READ_OPTIONS['tls-port']!,
  'max-connections': READ_OPTIONS['max-connections']!,
  color: OUTPUT.color!,
};

export const AUDIT_OPTIONS: OptionTable = {
  json: { type: 'boolean', default: false, describe: 'NDJSON: one object per finding, then a summary object' },
  list: { type: 'boolean', default: false, describe: 'list the audit checks (id, severity, why, how) and exit' },
  'show-secrets': { type: 'boolean', default: false, describe: 'show user names, passwords and secret values instead of masking them' },
  port: READ_OPTIONS.port!,
  auto: READ_OPTIONS.auto!,
  'tls-keylog': READ_OPTIONS['tls-keylog']!,
  'tls-port': READ_OPTIONS['tls-port']!,
  color: OUTPUT.color!,
};

/** `report`: the HTML page (src/page/). */
export const REPORT_OPTIONS: OptionTable = {
  output: { type: 'string', alias: 'o', describe: 'write the page to this file (default: standard output)' },
  'max-views': { type: 'string', describe: 'packet views (field tree and bytes) kept for the first N packets (default 2000; packets with findings get up to 2000 more)', check: (v) => (/^\d{1,7}$/.test(v) ? null : `--max-views takes a number of packets, not "${v}"`) },
  filter: READ_OPTIONS.filter!,
  redact: OUTPUT.redact!,
  port: READ_OPTIONS.port!,
  auto: READ_OPTIONS.auto!,
  dialect: READ_OPTIONS.dialect!,
  ...DECODE,
  'tls-keylog': READ_OPTIONS['tls-keylog']!,
  'tls-port': READ_OPTIONS['tls-port']!,
};

export const COMMANDS: Readonly<Record<string, OptionTable>> = {
  read: READ_OPTIONS,
  /** `follow N CAPTURE`: read with --conn N (src/cli/main.ts rewrites it before anything else looks at it). */
  follow: READ_OPTIONS,
  trace: TRACE_OPTIONS,
  stats: STATS_OPTIONS,
  audit: AUDIT_OPTIONS,
  report: REPORT_OPTIONS,
  explain: EXPLAIN_OPTIONS,
  rules: RULES_OPTIONS,
  completion: {},
};

export function addOptions<T>(y: Argv<T>, table: OptionTable): Argv<T> {
  let out = y;
  for (const [name, spec] of Object.entries(table)) {
    if (spec.rejected !== undefined) continue;
    out = out.option(name, {
      type: spec.type,
      describe: spec.describe,
      ...(spec.alias !== undefined ? { alias: spec.alias } : {}),
      ...(spec.choices !== undefined ? { choices: [...spec.choices] } : {}),
      ...(spec.default !== undefined ? { default: spec.default } : {}),
      ...(spec.hidden === true ? { hidden: true } : {}),
    });
  }
  return out;
}

/** The command a command line runs: its first word when that names one, else `read` (the default). */
export function commandOf(argv: readonly string[]): string {
  const first = argv.find((a) => !a.startsWith('-') || a === '-');
  return first !== undefined && Object.hasOwn(COMMANDS, first) ? first : 'read';
}

export interface Checked {
  /** The first thing wrong, as one line, or null. */
  error: string | null;
  /** Words that are neither options nor their values, in order (the command name excluded). */
  positionals: string[];
  /** Option words with their values, in order (for yargs). */
  options: string[];
  /** The values of two-word options (OptionSpec.pair), by option name, in order. */
  pairs: Record<string, [string, string][]>;
}

function lookup(table: OptionTable, name: string): [string, OptionSpec] | undefined {
  if (Object.hasOwn(table, name)) return [name, table[name]!];
  if (Object.hasOwn(GLOBAL, name)) return [name, GLOBAL[name]!];
  return undefined;
}

function byAlias(table: OptionTable, letter: string): [string, OptionSpec] | undefined {
  for (const t of [table, GLOBAL]) for (const [n, s] of Object.entries(t)) if (s.alias === letter) return [n, s];
  return undefined;
}

function checkValue(name: string, spec: OptionSpec, value: string): string | null {
  if (spec.choices !== undefined && !spec.choices.includes(value)) return `--${name} takes ${spec.choices.join(', ')} (got "${value}")`;
  return spec.check?.(value) ?? null;
}

/**
 * Checks a command line against the option tables in one linear pass: unknown options, missing or bad values. The
 * words after `--` are all positionals.
 */
export function checkArgv(argv: readonly string[], display: (word: string) => string = (w) => w): Checked {
  const command = commandOf(argv);
  const table = COMMANDS[command]!;
  const positionals: string[] = [];
  const options: string[] = [];
  const pairs: Record<string, [string, string][]> = {};
  let error: string | null = null;
  const fail = (msg: string): void => { error ??= msg; };
  let skippedCommand = command === 'read' && !argv.includes('read');
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      for (let j = i + 1; j < argv.length; j++) positionals.push(argv[j]!);
      break;
    }
    if (!w.startsWith('-') || w === '-') {
      if (!skippedCommand && w === command) skippedCommand = true;
      else positionals.push(w);
      continue;
    }
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = w.slice(2, eq < 0 ? undefined : eq);
      let found = lookup(table, name);
      if (!found && name.startsWith('no-')) {
        const base = lookup(table, name.slice(3));
        if (base && base[1].type === 'boolean' && eq < 0) found = base;
      }
      if (!found) {
        fail(`unknown option --${display(name)}${command !== 'read' ? ` for ${command}` : ''}`);
        continue;
      }
      const [full, spec] = found;
      if (spec.rejected !== undefined) {
        fail(spec.rejected);
        continue;
      }
      if (spec.pair === true) {
        const kind = argv[i + 1];
        const file = argv[i + 2];
        if (eq >= 0 || kind === undefined || file === undefined || kind === '--' || file === '--') {
          fail(`--${full} needs two words: ${(spec.choices ?? []).join(' or ')}, then a file (e.g. --${full} ${spec.choices?.[0] ?? 'KIND'} out.xml)`);
          i = argv.length;
          continue;
        }
        i += 2;
        const bad = checkValue(full, spec, kind);
        if (bad !== null) fail(display(bad));
        (pairs[full] ??= []).push([kind, file]);
        continue;
      }
      if (spec.positional !== true) options.push(w);
      if (spec.type === 'boolean') {
        if (eq >= 0 && !['true', 'false'].includes(w.slice(eq + 1))) fail(`--${full} takes no value`);
        continue;
      }
      let value: string | undefined;
      if (eq >= 0) value = w.slice(eq + 1);
      else if (i + 1 < argv.length && argv[i + 1] !== '--') {
        value = argv[++i]!;
        if (spec.positional !== true) options.push(value);
      }
      if (value === undefined) fail(`--${full} needs a value${spec.choices ? ` (${spec.choices.join(', ')})` : ''}`);
      else if (spec.positional === true) positionals.push(value);
      else {
        const bad = checkValue(full, spec, value);
        if (bad !== null) fail(display(bad));
      }
      continue;
    }
    // Short options, possibly bundled: -xV, -p 9001, -p9001. They reach yargs by their long names.
    for (let k = 1; k < w.length; k++) {
      const letter = w[k]!;
      const found = byAlias(table, letter);
      if (!found) {
        fail(`unknown option -${display(letter)}${command !== 'read' ? ` for ${command}` : ''}`);
        break;
      }
      const [full, spec] = found;
      if (spec.rejected !== undefined) {
        fail(spec.rejected);
        break;
      }
      if (spec.type === 'boolean') {
        options.push(`--${full}`);
        continue;
      }
      let value: string | undefined = w.slice(k + 1);
      if (value === '') value = i + 1 < argv.length ? argv[++i]! : undefined;
      if (value === undefined) fail(`-${letter} (--${full}) needs a value`);
      else if (spec.positional === true) positionals.push(value);
      else {
        options.push(`--${full}`, value);
        const bad = checkValue(full, spec, value);
        if (bad !== null) fail(display(bad));
      }
      break;
    }
  }
  return { error, positionals, options, pairs };
}

/**
 * Shell completion: the words to offer for the last word of `words` (the command line after the program name, the
 * last word being the one under the cursor, possibly empty). An empty list lets the shell complete file names.
 */
export function completions(words: readonly string[]): string[] {
  const current = words.length > 0 ? words[words.length - 1]! : '';
  let before = words.slice(0, -1);
  // bash splits `--dialect=on` into `--dialect`, `=`, `on`.
  if (before.length >= 2 && before[before.length - 1] === '=') before = before.slice(0, -1);
  const command = commandOf(before);
  const table = COMMANDS[command]!;
  const prev = before.length > 0 ? before[before.length - 1]! : '';
  // The value of an option that takes one.
  let valueOf: OptionSpec | undefined;
  if (prev.startsWith('--') && !prev.includes('=')) valueOf = lookup(table, prev.slice(2))?.[1];
  else if (/^-[A-Za-z]$/.test(prev)) valueOf = byAlias(table, prev[1]!)?.[1];
  if (valueOf !== undefined && valueOf.type !== 'boolean') return (valueOf.choices ?? []).filter((c) => c.startsWith(current));
  if (current.startsWith('--') && current.includes('=')) {
    const name = current.slice(2, current.indexOf('='));
    const spec = lookup(table, name)?.[1];
    return (spec?.choices ?? []).map((c) => `--${name}=${c}`).filter((c) => c.startsWith(current));
  }
  if (current.startsWith('-')) {
    const names: string[] = [];
    for (const t of [table, GLOBAL]) {
      for (const [n, s] of Object.entries(t)) {
        if (s.hidden === true) continue;
        names.push(`--${n}`);
        if (s.type === 'boolean' && s.default === undefined && n !== 'help' && n !== 'version') names.push(`--no-${n}`);
      }
    }
    return names.filter((n) => n.startsWith(current));
  }
  // First word: a command, or a capture file (the shell completes names when nothing here matches).
  const hasCommandWord = before.some((w) => !w.startsWith('-') || w === '-');
  if (!hasCommandWord) return Object.keys(COMMANDS).filter((c) => c.startsWith(current) && current.length > 0);
  return [];
}
