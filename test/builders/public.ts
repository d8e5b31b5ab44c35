/**
 * The capture corpora the comparison and attack tests run over: our own captures/ and the public captures other
 * projects published (collected outside the repo in ../shared/captures/public, described by its INDEX.tsv).
 *
 * Also: a small reader for the YAML subset suricata-verify's test files use (block mappings and sequences, flow
 * `[ ... ]` / `{ ... }` collections, plain and quoted scalars, comments), so no YAML dependency is needed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/source.js';
import { CaptureParser } from '../../src/capture/reader.js';
import { CaptureFormatError } from '../../src/capture/types.js';
import { buildPipeline, FanOut, type PipelineOptions } from '../../src/cli/pipeline.js';
import { makeChalk } from '../../src/render/color.js';
import { SummaryCollector } from '../../src/render/summary.js';
import { needsTree, Renderer, type RenderOptions } from '../../src/render/text.js';
import type { PacketRecord, PacketSink, Violation } from '../../src/mqtt/connection-decoder.js';
import type { StreamEvent } from '../../src/tcp/types.js';
import { ROOT } from './cli.js';

/** Where the public captures are, relative to the repository root; tests skip when it is absent. */
export const PUBLIC_DIR = join(ROOT, '..', 'shared', 'captures', 'public');
export const CAPTURES_DIR = join(ROOT, 'captures');

export function publicAvailable(): boolean {
  return existsSync(join(PUBLIC_DIR, 'INDEX.tsv'));
}

export interface CaptureEntry {
  /** Short name used in test titles and difference tables: `captures/<f>` or `<source>/<f>` (public). */
  name: string;
  path: string;
  /** Ports to decode as MQTT besides the defaults 1883 and 6002 (passed to us as --port, to tshark as -d). */
  extraPorts: number[];
  /** The INDEX says MALFORMED: the capture holds a deliberately broken packet. */
  malformed: boolean;
  /** The INDEX description (public captures) or '' (ours). */
  description: string;
  /** INDEX `tshark_malformed` column: frame numbers tshark marks [Malformed Packet], '' when none. */
  tsharkMalformed: string;
  public: boolean;
  /** MQTT over TLS: the key log shipped with the capture (FILE.keys) and the TLS ports beyond 8883. */
  tls?: TlsArgs;
}

export interface TlsArgs {
  keylog?: string;
  ports: number[];
}

export interface IndexRow {
  [column: string]: string;
}

/** INDEX.tsv as rows keyed by the header names. */
export function readIndex(): IndexRow[] {
  const text = readFileSync(join(PUBLIC_DIR, 'INDEX.tsv'), 'utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  const header = lines[0]!.split('\t');
  return lines.slice(1).map((l) => {
    const cells = l.split('\t');
    const row: IndexRow = {};
    header.forEach((h, i) => { row[h] = cells[i] ?? ''; });
    return row;
  });
}

const DEFAULT_PORTS = [1883, 6002];

/** Every public capture of INDEX.tsv (empty when ../shared is absent). */
export function publicCaptures(): CaptureEntry[] {
  if (!publicAvailable()) return [];
  return readIndex().map((r) => {
    const ports = (r.mqtt_ports ?? '').split(/[,\s]+/).filter(Boolean).map(Number).filter((p) => Number.isInteger(p) && !DEFAULT_PORTS.includes(p));
    const description = r.description ?? '';
    return {
      name: r.file!,
      path: join(PUBLIC_DIR, r.file!),
      extraPorts: ports,
      malformed: /^MALFORMED\b/.test(description),
      description,
      tsharkMalformed: r.tshark_malformed === '-' ? '' : (r.tshark_malformed ?? ''),
      public: true,
    };
  });
}

/** The TLS captures' key log (FILE.keys; the -dsb pcapng carries its own) and their extra TLS ports (8884, 8885). */
function tlsArgsOf(f: string): TlsArgs {
  const keys = join(CAPTURES_DIR, f.replace(/\.(pcap|pcapng)$/, '.keys'));
  // The openssl captures also use the TLS listeners 8884 and 8885; wss (real-wss-8084) is on a default TLS port.
  return { ports: f.startsWith('real-tls-') ? [8884, 8885] : [], ...(existsSync(keys) ? { keylog: keys } : {}) };
}

/** Every capture file in captures/ (pcap and pcapng). */
/**
 * Our captures of MQTT over WebSocket (`real-ws-PORT.pcap`, and inside TLS `real-wss-PORT.pcap`): tshark 4.0 decodes
 * them only after scripts/ws-unwrap.mjs.
 */
export function isWebSocketCapture(name: string): boolean {
  return /(^|\/)real-wss?-\d+\.pcap$/.test(name);
}

export function ownCaptures(): CaptureEntry[] {
  return readdirSync(CAPTURES_DIR)
    .filter((f) => /\.(pcap|pcapng)$/.test(f) && statSync(join(CAPTURES_DIR, f)).isFile())
    .sort()
    .map((f) => ({
      name: `captures/${f}`,
      path: join(CAPTURES_DIR, f),
      extraPorts: [],
      malformed: f.startsWith('synthetic-malformed'),
      description: '',
      tsharkMalformed: '',
      public: false,
      ...(f.startsWith('real-tls-') || f.startsWith('real-wss-') ? { tls: tlsArgsOf(f) } : {}),
    }));
}

export function allCaptures(): CaptureEntry[] {
  return [...ownCaptures(), ...publicCaptures()];
}

// ---------------------------------------------------------------------------------------------------
// YAML subset

export type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

interface Line {
  indent: number;
  text: string;
  no: number;
}

/** Strips a trailing `# comment` that is outside quotes. */
function stripComment(s: string): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === q) q = null;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) return s.slice(0, i);
  }
  return s;
}

function scalar(raw: string): Yaml {
  const s = raw.trim();
  if (s.startsWith('"') && s.endsWith('"') && s.length >= 2) {
    return JSON.parse(s) as string;
  }
  if (s.startsWith("'") && s.endsWith("'") && s.length >= 2) return s.slice(1, -1).replace(/''/g, "'");
  if (s.startsWith('[') || s.startsWith('{')) return flow(s);
  if (s === '' || s === '~' || s === 'null') return null;
  if (/^(true|yes)$/i.test(s)) return true;
  if (/^(false|no)$/i.test(s)) return false;
  if (/^[-+]?\d+$/.test(s)) return Number(s);
  if (/^[-+]?\d+\.\d+$/.test(s)) return Number(s);
  return s;
}

/** A flow collection: `[ a, {k: v}, [1, 2] ]` or `{k: v, k2: v2}`. */
function flow(s: string): Yaml {
  let i = 0;
  const ws = (): void => { while (i < s.length && /\s/.test(s[i]!)) i++; };
  const value = (): Yaml => {
    ws();
    if (s[i] === '[') {
      i++;
      const out: Yaml[] = [];
      ws();
      if (s[i] === ']') { i++; return out; }
      for (;;) {
        out.push(value());
        ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === ']') { i++; return out; }
        throw new Error(`YAML flow sequence: unexpected ${s[i] ?? 'end'} in ${s}`);
      }
    }
    if (s[i] === '{') {
      i++;
      const out: { [k: string]: Yaml } = {};
      ws();
      if (s[i] === '}') { i++; return out; }
      for (;;) {
        ws();
        const kStart = i;
        while (i < s.length && s[i] !== ':') i++;
        const key = s.slice(kStart, i).trim();
        i++;
        out[key] = value();
        ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === '}') { i++; return out; }
        throw new Error(`YAML flow mapping: unexpected ${s[i] ?? 'end'} in ${s}`);
      }
    }
    if (s[i] === '"' || s[i] === "'") {
      const q = s[i]!;
      const start = i;
      i++;
      while (i < s.length && s[i] !== q) i += s[i] === '\\' && q === '"' ? 2 : 1;
      i++;
      return scalar(s.slice(start, i));
    }
    const start = i;
    while (i < s.length && !',]}'.includes(s[i]!)) i++;
    return scalar(s.slice(start, i));
  };
  const v = value();
  return v;
}

/** Parses the YAML subset used by suricata-verify test files (no anchors, tags, multi-line scalars). */
export function parseYaml(text: string): Yaml {
  const lines: Line[] = [];
  text.split('\n').forEach((raw, no) => {
    const t = stripComment(raw.replace(/\t/g, '    ')).replace(/\s+$/, '');
    if (t.trim() === '' || t.trim() === '---' || t.trim().startsWith('%YAML')) return;
    lines.push({ indent: t.length - t.trimStart().length, text: t.trim(), no: no + 1 });
  });
  let pos = 0;

  const block = (indent: number): Yaml => {
    const first = lines[pos];
    if (!first || first.indent < indent) return null;
    if (first.text.startsWith('- ') || first.text === '-') return seq(first.indent);
    return map(first.indent);
  };

  const seq = (indent: number): Yaml[] => {
    const out: Yaml[] = [];
    while (pos < lines.length && lines[pos]!.indent === indent && (lines[pos]!.text.startsWith('- ') || lines[pos]!.text === '-')) {
      const line = lines[pos]!;
      const rest = line.text === '-' ? '' : line.text.slice(2);
      if (rest.trim() === '') {
        pos++;
        out.push(block(indent + 1));
      } else if (/^[^'"[{][^:]*:(\s|$)/.test(rest)) {
        // "- key: value" starts a mapping whose keys are indented to the column after "- ".
        const inner = indent + 2 + (rest.length - rest.trimStart().length);
        lines[pos] = { indent: inner, text: rest.trim(), no: line.no };
        out.push(map(inner));
      } else {
        pos++;
        out.push(scalar(rest));
      }
    }
    return out;
  };

  const map = (indent: number): { [k: string]: Yaml } => {
    const out: { [k: string]: Yaml } = {};
    while (pos < lines.length && lines[pos]!.indent === indent && !lines[pos]!.text.startsWith('- ')) {
      const line = lines[pos]!;
      const m = /^("[^"]*"|'[^']*'|[^:]+?)\s*:(?:\s+(.*))?$/.exec(line.text);
      if (!m) throw new Error(`YAML line ${line.no}: cannot parse "${line.text}"`);
      const key = m[1]!.replace(/^["']|["']$/g, '');
      const rest = m[2];
      pos++;
      if (rest !== undefined && /^[|>][-+]?$/.test(rest.trim())) {
        // Block scalar: the more-indented lines that follow, joined (literal: with newlines; folded: with spaces).
        const text: string[] = [];
        while (pos < lines.length && lines[pos]!.indent > indent) text.push(lines[pos++]!.text);
        out[key] = text.join(rest.trim().startsWith('|') ? '\n' : ' ');
      } else if (rest === undefined || rest.trim() === '') {
        const next = lines[pos];
        // A sequence may sit at the same indent as its key ("key:\n- a").
        if (next && (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')))) out[key] = block(next.indent);
        else out[key] = null;
      } else {
        out[key] = scalar(rest);
      }
    }
    return out;
  };

  const v = block(0);
  if (pos < lines.length) throw new Error(`YAML line ${lines[pos]!.no}: unexpected "${lines[pos]!.text}"`);
  return v;
}

// ---------------------------------------------------------------------------------------------------
// suricata-verify test directories

export interface SuricataTest {
  /** Directory name under suricata-verify/. */
  name: string;
  dir: string;
  /** The capture the test runs on (its own, or the one `pcap:` names). */
  pcap: string | null;
  yaml: Yaml;
  /** `app-layer.protocols.mqtt.max-msg-length` from the test's suricata.yaml, when set. */
  maxMsgLength: number | null;
}

export function suricataTests(): SuricataTest[] {
  if (!publicAvailable()) return [];
  const base = join(PUBLIC_DIR, 'suricata-verify');
  return readdirSync(base).sort().flatMap((name) => {
    const dir = join(base, name);
    const file = join(dir, `${name}.suricata-test.yaml`);
    if (!existsSync(file)) return [];
    const yaml = parseYaml(readFileSync(file, 'utf8'));
    const obj = (yaml !== null && typeof yaml === 'object' && !Array.isArray(yaml)) ? yaml : {};
    let pcap: string | null = null;
    if (typeof obj.pcap === 'string') pcap = join(dir, obj.pcap);
    else {
      const own = readdirSync(dir).find((f) => /\.pcap(ng)?$/.test(f));
      if (own) pcap = join(dir, own);
    }
    let maxMsgLength: number | null = null;
    const conf = join(dir, 'suricata.yaml');
    if (existsSync(conf)) {
      const m = /max-msg-length:\s*(\d+)\s*(kb|mb)?/i.exec(readFileSync(conf, 'utf8'));
      if (m) maxMsgLength = Number(m[1]) * (m[2]?.toLowerCase() === 'kb' ? 1024 : m[2]?.toLowerCase() === 'mb' ? 1024 * 1024 : 1);
    }
    return [{ name, dir, pcap, yaml, maxMsgLength }];
  });
}

// ---------------------------------------------------------------------------------------------------
// In-process decoding: the CLI's pipeline (capture reader -> net -> tcp -> mqtt -> rules) without the renderers, for
// tests that need what the JSON leaves out (fixed-header flags, header length).

/** What the CLI passes by default for options not spelled out here (src/cli/main.ts). */
const PIPELINE_DEFAULTS: Pick<PipelineOptions, 'dialect'> = { dialect: 'auto' };

export interface Decoded {
  packets: PacketRecord[];
  events: Array<StreamEvent & { violations?: Violation[] }>;
}

export async function decodeFile(path: string, extraPorts: number[] = [], opts: { payloadLimit?: number } = {}): Promise<Decoded> {
  const packets: PacketRecord[] = [];
  const events: Array<StreamEvent & { violations?: Violation[] }> = [];
  const sink: PacketSink = {
    open() {},
    close() {},
    // The record's bytes may be a view of a buffer that is reused: keep a copy.
    packet(rec) { packets.push({ ...rec, bytes: rec.decoded.detach() }); },
    event(ev) { events.push(ev); },
  };
  const pipeline = buildPipeline(sink, {
    ...PIPELINE_DEFAULTS,
    ports: [...new Set([...DEFAULT_PORTS, ...extraPorts])],
    auto: false,
    tree: false,
    ...(opts.payloadLimit !== undefined ? { payloadLimit: opts.payloadLimit } : {}),
  });
  await readCapture(path, pipeline);
  pipeline.finish();
  return { packets, events };
}

// ---------------------------------------------------------------------------------------------------
// In-process rendering: what `mqtt-dissect [mode] FILE` prints, without a process (for fuzzing in bulk).

export type Mode = 'default' | 'hex' | 'verbose' | 'json' | 'summary';

export const MODE_ARGS: Record<Mode, string[]> = {
  default: [],
  hex: ['-x'],
  verbose: ['-V'],
  json: ['--json'],
  summary: ['--summary'],
};

export interface Rendered {
  lines: string[];
  /** The CaptureFormatError message when the input was rejected as a whole (the CLI exits 1 with it). */
  formatError: string | null;
}

/**
 * Runs `bytes` through the same stages and renderers as readCaptures in src/cli/read.ts (synchronously, for tests
 * that need it so; readInProcess there runs the CLI's read path itself), pushed in `chunk`-byte pieces.
 * Any exception other than CaptureFormatError propagates (the CLI would print "internal error").
 */
export function renderCapture(bytes: Uint8Array, mode: Mode, opts: { chunk?: number; color?: boolean; ports?: number[]; reuseBuffer?: boolean } = {}): Rendered {
  const color = opts.color ?? false;
  const chalk = makeChalk(color);
  const summaryOnly = mode === 'summary';
  const ro: RenderOptions = {
    chalk, verbose: mode === 'verbose', hex: mode === 'hex', full: false, redact: false, onlyViolations: false, json: mode === 'json', quiet: summaryOnly,
  };
  const lines: string[] = [];
  const renderer = new Renderer((l) => lines.push(l), ro);
  const summary = summaryOnly ? new SummaryCollector() : null;
  const sinks: PacketSink[] = [renderer];
  if (summary) sinks.push(summary);
  const pipeline = buildPipeline(new FanOut(sinks), { ...PIPELINE_DEFAULTS, ports: [...new Set([...DEFAULT_PORTS, ...(opts.ports ?? [])])], auto: false, tree: needsTree(ro), fieldsShown: !ro.quiet },
    (rec) => renderer.frameTime(rec.timeSec, rec.timeNsec));
  const parser = new CaptureParser(pipeline, 'fuzz.pcap');
  const step = Math.max(1, opts.chunk ?? bytes.length);
  let formatError: string | null = null;
  try {
    // reuseBuffer: every chunk goes through one buffer, as readCapture reads files, and the buffer is poisoned as soon
    // as push() returns, so any stage that kept a view of it instead of a copy shows up as different output.
    const shared = opts.reuseBuffer === true ? new Uint8Array(step) : null;
    for (let at = 0; at < bytes.length && !parser.finished; at += step) {
      const piece = bytes.subarray(at, at + step);
      if (shared === null) {
        parser.push(piece);
        continue;
      }
      shared.set(piece);
      parser.push(shared.subarray(0, piece.length));
      shared.fill(0xaa);
    }
    parser.end();
  } catch (err) {
    if (!(err instanceof CaptureFormatError)) throw err;
    formatError = err.message;
  }
  pipeline.finish();
  if (summary && formatError === null) lines.push(...summary.render(chalk, color).split('\n'));
  return { lines, formatError };
}
