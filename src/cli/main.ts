/** The command line: the only module that touches process, stdin and stdout. */
import yargs, { type Argv } from 'yargs';
import { readCapture } from '../capture/source.js';
import { CaptureFormatError } from '../capture/types.js';
import type { PacketRecord, PacketSink, Violation } from '../mqtt/connection-decoder.js';
import { decideColor, makeChalk } from '../render/color.js';
import { rulesJson, rulesText } from '../render/rules.js';
import { SummaryCollector } from '../render/summary.js';
import { ruleRows } from '../rules/catalogue.js';
import { needsTree, Renderer, type RenderOptions } from '../render/text.js';
import type { Shard } from '../tcp/reassembler.js';
import { closeViolations } from '../rules/close.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import { explainBytes } from './explain.js';
import { HexInputError, parseHexInput } from './hex-input.js';
import { MemoryGuard } from './memory.js';
import { noMqttMessage } from './no-mqtt.js';
import { Output } from './output.js';
import type { DialectMode } from '../dialects/stage.js';
import { buildPipeline, DEFAULT_PORTS, FanOut } from './pipeline.js';

class UsageError extends Error {}

export const EXIT = { ok: 0, unreadable: 1, usage: 2, violations: 3 } as const;

/** Counts findings for --fail-on-violation. */
class ViolationCounter implements PacketSink {
  count = 0;
  packets = 0;
  open(): void {}
  close(_conn: Connection, end: ConnectionEnd): void { this.count += closeViolations(end).length; }
  packet(rec: PacketRecord): void { this.count += rec.violations.length; this.packets++; }
  event(ev: StreamEvent & { violations?: Violation[] }): void { this.count += ev.violations?.length ?? 0; }
}

interface CommonArgs {
  json: boolean;
  verbose: boolean;
  hex: boolean;
  full: boolean;
  redact: boolean;
  color: boolean | undefined;
}

function renderOptions(a: CommonArgs & { summary?: boolean; onlyViolations?: boolean }, color: boolean): RenderOptions {
  const summaryOnly = a.summary === true && !a.json && !a.verbose && !a.hex;
  return {
    chalk: makeChalk(color),
    verbose: a.verbose,
    hex: a.hex,
    full: a.full,
    redact: a.redact,
    onlyViolations: a.onlyViolations === true,
    json: a.json,
    quiet: summaryOnly,
  };
}

async function runRead(a: CommonArgs & { capture: string; port: number[]; auto: boolean; dialect: DialectMode; summary: boolean; onlyViolations: boolean; failOnViolation: boolean; shard: Shard | undefined }, out: Output): Promise<number> {
  const color = decideColor({ flag: a.color, isTTY: process.stdout.isTTY === true, env: process.env });
  const ro = renderOptions(a, color);
  const renderer = new Renderer((l) => out.line(l), ro, out);
  const summary = a.summary ? new SummaryCollector() : null;
  const counter = new ViolationCounter();
  const sinks: PacketSink[] = [renderer, counter];
  if (summary) sinks.push(summary);
  const ports = [...new Set([...DEFAULT_PORTS, ...a.port])];
  const pipeline = buildPipeline(
    new FanOut(sinks),
    { ports, auto: a.auto, dialect: a.dialect, tree: needsTree(ro), fieldsShown: !ro.quiet, ...(a.full ? { payloadLimit: Number.MAX_SAFE_INTEGER } : {}), ...(a.shard ? { shard: a.shard } : {}) },
    (rec) => renderer.frameTime(rec.timeSec, rec.timeNsec),
  );
  try {
    const memory = new MemoryGuard();
    await readCapture(a.capture, pipeline, {
      afterChunk: () => {
        memory.afterChunk();
        return out.drained();
      },
    });
  } catch (err) {
    if (err instanceof CaptureFormatError) {
      // What was decoded before the error is still shown.
      pipeline.finish();
      out.flush();
      process.stderr.write(`mqtt-dissect: ${oneLine(err.message)}\n`);
      return EXIT.unreadable;
    }
    throw err;
  }
  pipeline.finish();
  if (summary) {
    if (!ro.quiet) out.line('');
    out.line(summary.render(ro.chalk, color));
  }
  out.flush();
  if (counter.packets === 0) process.stderr.write(`${noMqttMessage(a.capture, pipeline.ports, ports)}\n`);
  return a.failOnViolation && counter.count > 0 ? EXIT.violations : EXIT.ok;
}

async function readStdinText(): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of process.stdin) {
    const b = c as Buffer;
    total += b.length;
    // Pasted bytes, not captures: a few MB of hex text is already far more than anyone explains by hand.
    if (total > 16 * 1024 * 1024) throw new HexInputError('stdin holds more than 16 MiB of text');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function runExplain(a: CommonArgs & { hexBytes: string[]; protocolVersion: number | undefined; dialect: DialectMode }, out: Output): Promise<number> {
  const color = decideColor({ flag: a.color, isTTY: process.stdout.isTTY === true, env: process.env });
  const text = a.hexBytes.length > 0 && !(a.hexBytes.length === 1 && a.hexBytes[0] === '-') ? a.hexBytes.join(' ') : await readStdinText();
  let bytes: Uint8Array;
  try {
    bytes = parseHexInput(text);
  } catch (err) {
    if (err instanceof HexInputError) {
      process.stderr.write(`mqtt-dissect explain: ${oneLine(err.message)}\n`);
      return EXIT.usage;
    }
    throw err;
  }
  const level = a.protocolVersion === undefined ? undefined : a.protocolVersion as 3 | 4 | 5;
  for (const l of explainBytes(bytes, { level, json: a.json, chalk: makeChalk(color), full: a.full, redact: a.redact, dialect: a.dialect })) out.line(l);
  out.flush();
  return EXIT.ok;
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

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}

function common<T>(y: Argv<T>) {
  return y
    .option('json', { type: 'boolean', default: false, describe: 'NDJSON: one object per packet and per event' })
    .option('verbose', { alias: 'V', type: 'boolean', default: false, describe: 'show the field tree with byte offsets' })
    .option('hex', { alias: 'x', type: 'boolean', default: false, describe: 'annotated hex under each packet' })
    .option('full', { type: 'boolean', default: false, describe: 'show long payloads and fields whole' })
    .option('redact', { type: 'boolean', default: false, describe: 'mask passwords and authentication data' })
    .option('color', { type: 'boolean', describe: 'force colour on (--color) or off (--no-color); default: on for terminals, off with NO_COLOR' });
}

/** yargs turns a lone "-" positional into "": carry it through under a name no file can have. */
const STDIN_ARG = '\u0000stdin';

export async function main(rawArgv: string[]): Promise<number> {
  const argv = rawArgv.map((a) => (a === '-' ? STDIN_ARG : a));
  const out = new Output(process.stdout);
  let code: number = EXIT.ok;
  let usageError: string | null = null;
  const parser = yargs(argv)
    .scriptName('mqtt-dissect')
    .usage('$0 [read] <capture|->  dissect MQTT in a pcap/pcapng capture or a live pipe\n$0 explain <hex...>     explain pasted MQTT bytes')
    .command(
      ['read <capture>', '$0 <capture>'],
      'dissect MQTT in a pcap or pcapng file; "-" reads a live pipe from stdin',
      (y) => common(y)
        .positional('capture', { type: 'string', demandOption: true, describe: 'capture file, or - for stdin' })
        .option('port', { alias: 'p', type: 'number', describe: 'also decode this TCP port as MQTT (repeatable); 1883 and 6002 always' })
        .option('auto', { type: 'boolean', default: false, describe: 'find MQTT on any port by a CONNECT at a stream start' })
        .option('dialect', { type: 'string', choices: ['auto', 'onenet', 'none'] as const, default: 'auto' as DialectMode, describe: 'platform dialect: auto (OneNET on port 6002 or by its topics), onenet, none' })
        .option('summary', { type: 'boolean', default: false, describe: 'tables at the end: connections, topics, packet types, findings' })
        .option('only-violations', { type: 'boolean', default: false, describe: 'print only packets with findings, and events' })
        .option('fail-on-violation', { type: 'boolean', default: false, describe: 'exit 3 when any violation was found' })
        .option('shard', { type: 'string', describe: 'K/N: only the connections whose 4-tuple hash modulo N is K-1, to split one capture over N processes (see README)' }),
      async (a) => {
        // Repeated --port gives an array; a greedy array option would swallow the capture name.
        if (typeof a.capture !== 'string' || a.capture === '') {
          usageError = 'give a capture file, "-" for stdin, or a command (explain)';
          return;
        }
        const ports = ([] as unknown[]).concat(a.port ?? []).map(Number);
        const bad = ports.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
        if (bad !== undefined) {
          usageError = `--port ${String(bad)} is not a TCP port (1-65535)`;
          return;
        }
        let shard: Shard | undefined;
        if (a.shard !== undefined) {
          const parsed = parseShard(String(a.shard));
          if (typeof parsed === 'string') {
            usageError = parsed;
            return;
          }
          shard = parsed;
        }
        const capture = a.capture === STDIN_ARG ? '-' : a.capture;
        code = await runRead({ ...a, port: ports, capture, color: a.color, dialect: a.dialect as DialectMode, shard }, out);
      },
    )
    .command(
      'explain [hexBytes..]',
      'explain MQTT packet bytes pasted from anywhere (or from stdin), byte by byte',
      (y) => common(y)
        .positional('hexBytes', { type: 'string', array: true, default: [] as string[], describe: 'bytes as hex: "10 2d 00 04", 102d0004, 0x10,0x2d, or a hex dump' })
        .option('dialect', { type: 'string', choices: ['auto', 'onenet', 'none'] as const, default: 'auto' as DialectMode, describe: 'platform dialect: auto (by topics), onenet, none' })
        .option('protocol-version', { type: 'number', choices: [3, 4, 5], describe: 'protocol level for packets before (or without) a CONNECT: 3 = 3.1, 4 = 3.1.1, 5 = 5.0' }),
      async (a) => {
        code = await runExplain({ ...a, hexBytes: (a.hexBytes ?? []).map(String).map((h) => (h === STDIN_ARG ? '-' : h)), protocolVersion: a.protocolVersion, color: a.color, dialect: a.dialect as DialectMode }, out);
      },
    )
    .command(
      'rules',
      'list the conformance rules: id, spec, severity, paraphrase, checked or why not',
      (y) => y
        .option('json', { type: 'boolean', default: false, describe: 'NDJSON, one object per rule' })
        .option('spec', { type: 'string', choices: ['3.1', '3.1.1', '5.0'], describe: 'only rules of this version' })
        .option('checked', { type: 'boolean', describe: 'only rules that are checked (--no-checked: only those that are not)' })
        .option('color', { type: 'boolean', describe: 'force colour on or off' }),
      (a) => {
        const color = decideColor({ flag: a.color, isTTY: process.stdout.isTTY === true, env: process.env });
        const rows = ruleRows().filter((r) => (a.spec === undefined || r.versions.split(',').includes(a.spec)) && (a.checked === undefined || r.implemented === a.checked));
        for (const l of a.json ? rulesJson(rows) : rulesText(rows, makeChalk(color))) out.line(l);
      },
    )
    .example('$0 captures/seed-walkthrough.pcap', 'one line per MQTT packet')
    .example('$0 -x capture.pcapng', 'annotated hex for every packet')
    .example('$0 --json capture.pcap > packets.ndjson', 'machine-readable output')
    .example('$0 --summary --port 8884 capture.pcap', 'summary tables, with MQTT also on port 8884')
    .example('tcpdump -U -w - port 1883 | $0 -', 'live: packets appear as they arrive')
    .example('$0 explain 10 2d 00 04 4d 51 54 54 04 c2 0b b8 ...', 'explain pasted bytes')
    .example('$0 rules --spec 5.0', 'the conformance rules checked for MQTT 5.0')
    .epilog('Exit status: 0 input read (with or without findings); 1 unreadable input; 2 usage error; 3 findings with --fail-on-violation.')
    .completion('completion', 'print a bash/zsh completion script')
    .strict()
    .demandCommand(1, 'give a capture file, "-" for stdin, or a command (explain)')
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
  if (usageError !== null) {
    process.stderr.write(`mqtt-dissect: ${oneLine(usageError)} (see --help)\n`);
    return EXIT.usage;
  }
  out.flush();
  return code;
}

export type { Connection };
