/**
 * Bindings of payload formats to topics: `TOPIC-FILTER=FORMAT` from --decode and from a --decode-file (one binding a
 * line, `#` comments). A PUBLISH's topic is matched against the filters by MQTT's rules (src/mqtt/topics.ts, the one
 * matcher: `+` one level, `#` the level it follows and all below, no leading wildcard matching a `$` topic); the
 * first binding that matches wins.
 */
import { checkFilterSyntax, isShared, topicMatches } from '../../mqtt/topics.js';
import { compileFormat, parseFormat, type FormatSpec } from './formats.js';
import type { PayloadDecoder } from './types.js';

/** One binding as plain data (it crosses to the render worker with the rest of the command line). */
export interface DecodeBinding {
  readonly filter: string;
  /** The format as written (a relative .proto in a --decode-file already resolved against the file's folder). */
  readonly format: string;
}

/** Bindings a --decode-file may hold: far more than anyone writes, few enough that matching stays cheap. */
export const MAX_BINDINGS = 10_000;

const ENCODER = new TextEncoder();

/** Why a string is no Topic Filter to bind, or null. */
export function bindingFilterError(filter: string): string | null {
  if (filter.length === 0) return 'the topic filter is empty';
  const b = ENCODER.encode(filter);
  if (b.includes(0)) return 'a topic filter holds no NUL character';
  if (isShared(filter)) return 'a $share/ filter is a subscription, not a topic pattern: bind the filter after the share name';
  const issue = checkFilterSyntax(b, 0, b.length);
  return issue === null ? null : `"${filter}" is no topic filter: ${issue.message}`;
}

/**
 * `FILTER=FORMAT`: split at the last "=", since topics may hold "=" and formats never do (a .proto path with one
 * cannot be bound). Returns the binding with its parsed format, or the one-line error.
 */
export function parseBinding(text: string): { binding: DecodeBinding; spec: FormatSpec } | string {
  const at = text.lastIndexOf('=');
  if (at < 0) return `"${text}" is no FILTER=FORMAT binding (e.g. "sensors/+/cbor=cbor")`;
  const filter = text.slice(0, at);
  const bad = bindingFilterError(filter);
  if (bad !== null) return bad;
  const spec = parseFormat(text.slice(at + 1));
  if (typeof spec === 'string') return spec;
  return { binding: { filter, format: spec.text }, spec };
}

/** A comment line: `#` first, except `#=FORMAT`, which binds the filter that matches every topic. */
function isComment(line: string): boolean {
  return /^#(?!=)/.test(line);
}

/**
 * A --decode-file's text: one binding a line (blank lines and `#` lines skipped, surrounding white space ignored).
 * `resolve` turns each binding's format as the caller needs (a relative .proto file against the file's folder).
 * Returns the bindings, or the first bad line's error, naming the line.
 */
export function parseBindingFile(text: string, name: string, resolve: (spec: FormatSpec) => FormatSpec = (s) => s): { binding: DecodeBinding; spec: FormatSpec; line: number }[] | string {
  const out: { binding: DecodeBinding; spec: FormatSpec; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.length === 0 || isComment(line)) continue;
    const r = parseBinding(line);
    if (typeof r === 'string') return `${name} line ${i + 1}: ${r}`;
    if (out.length >= MAX_BINDINGS) return `${name} line ${i + 1}: more than ${MAX_BINDINGS.toLocaleString('en-US')} bindings`;
    const spec = resolve(r.spec);
    out.push({ binding: { filter: r.binding.filter, format: spec.text }, spec, line: i + 1 });
  }
  return out;
}

export interface CompiledBinding {
  readonly filter: string;
  readonly format: string;
  /** The decoder, or why there is none (the CLI says so before reading; a stage fed directly reports it per packet). */
  readonly decoder: PayloadDecoder | string;
}

/** The bindings of a run, compiled once, matched per PUBLISH in order. */
export class PayloadBindings {
  readonly list: readonly CompiledBinding[];

  constructor(bindings: readonly DecodeBinding[]) {
    this.list = bindings.map((b) => {
      const spec = parseFormat(b.format);
      return { filter: b.filter, format: b.format, decoder: typeof spec === 'string' ? spec : compileFormat(spec) };
    });
  }

  get size(): number {
    return this.list.length;
  }

  /** The first binding whose filter matches the topic. */
  match(topic: string): CompiledBinding | null {
    for (const b of this.list) if (topicMatches(b.filter, topic)) return b;
    return null;
  }
}
