/**
 * Annotated hex (-x, explain) and the field tree (-V): both are walks over the decoder's field tree, which knows the
 * offset and length of every field, so each line shows exactly the bytes it explains.
 */
import type { ChalkInstance } from 'chalk';
import type { Violation } from '../mqtt/connection-decoder.js';
import type { FieldNode } from '../mqtt/types.js';
import { escapeText } from './escape.js';
import { REDACTED, SECRET_KEYS } from './fields.js';
import { hexBytes } from './format.js';

export interface HexOptions {
  chalk: ChalkInstance;
  /** Show every byte of long fields instead of the first lines. */
  full: boolean;
  redact: boolean;
  /** Leading spaces for every line. */
  indent?: string;
}

/** Bytes per hex line: 8 keeps the annotation column close to the bytes, as in the walk-throughs. */
const BYTES_PER_LINE = 8;
const HEX_COLUMN = BYTES_PER_LINE * 3 - 1;
/** Lines of a long field shown before it is cut (without --full). */
const MAX_LINES_PER_FIELD = 4;
/** Continuation lines of a multi-line value (pretty JSON) shown before it is cut (without --full). */
const MAX_CONTINUATION_LINES = 24;

/** A node whose children all describe bits of the node's own bytes (a flags byte): printed as one line. */
function isBitField(node: FieldNode): boolean {
  const kids = node.children;
  // One child covering the whole node is a wrapper (a lone reason code), not bits.
  if (!kids || kids.length < 2) return false;
  for (const c of kids) if (c.offset !== node.offset || c.length !== node.length || c.children?.length) return false;
  return true;
}

/** `n` times two spaces; nesting depths are small, so each is built once. */
const INDENTS: string[] = [];
function indent2(n: number): string {
  return (INDENTS[n] ??= '  '.repeat(n));
}

const HEX_SPACE = ' '.repeat(HEX_COLUMN);

/**
 * escapeText for node labels: most are the decoder's constant strings, seen on every packet, so their escaped form
 * is remembered. Some labels carry capture text (data stream names), hence the bound: the memo is simply emptied.
 */
const labelMemo = new Map<string, string>();
const LABEL_MEMO_MAX = 4096;
function escapeLabel(label: string): string {
  let e = labelMemo.get(label);
  if (e === undefined) {
    if (labelMemo.size >= LABEL_MEMO_MAX) labelMemo.clear();
    e = escapeText(label);
    labelMemo.set(label, e);
  }
  return e;
}

/** Each line of a possibly multi-line value escaped, joined with `sep`; single-line values skip the split. */
function escapeLines(v: string, sep: string): string {
  return v.indexOf('\n') < 0 ? escapeText(v) : v.split('\n').map(escapeText).join(sep);
}

const NO_LINES: readonly string[] = [];

/** Longest value text shown on an annotation line without --full. */
const MAX_VALUE_CHARS = 96;

function describe(node: FieldNode, full = true): string {
  const label = escapeLabel(node.label);
  const raw = node.value ?? '';
  // A multi-line value (pretty JSON) keeps its lines: each is escaped, the renderer indents the continuation lines.
  const multiLine = raw.includes('\n');
  const shown = !full && !multiLine && raw.length > MAX_VALUE_CHARS ? `${raw.slice(0, MAX_VALUE_CHARS)}…` : raw;
  const value = shown !== '' ? escapeLines(shown, '\n') : '';
  const explain = node.explain ? escapeText(node.explain) : '';
  // Explanations often restate the value first ("45 (one byte: ...)"): say it once.
  if (value && explain.startsWith(raw)) return `${label} = ${explain}`;
  if (value && explain) return `${label} = ${value} (${explain})`;
  if (value) return `${label} = ${value}`;
  return explain ? `${label} (${explain})` : label;
}

function bitSummary(node: FieldNode): string {
  if (node.explain) return describe(node);
  const bits = (node.children ?? []).map((c) => `${escapeText(c.label)} ${escapeText(c.value ?? '')}`.trim()).join(', ');
  return `${escapeText(node.label)}${node.value ? ` ${escapeText(node.value)}` : ''}: ${bits}`;
}

/** Annotated hex lines for one packet; violations are marked under the line holding their first byte. */
export function annotatedHex(bytes: Uint8Array, tree: FieldNode, violations: Violation[], opts: HexOptions): string[] {
  const { chalk } = opts;
  const indent = opts.indent ?? '  ';
  const out: string[] = [];
  let covered = 0;
  const pendingMarks = violations.length === 0 ? [] : violations.filter((v) => v.offset !== undefined).sort((a, b) => a.offset! - b.offset!);

  const marksFor = (start: number, end: number): void => {
    while (pendingMarks.length > 0 && pendingMarks[0]!.offset! < end && pendingMarks[0]!.offset! >= start - 0) {
      const v = pendingMarks.shift()!;
      const paint = v.severity === 'error' ? chalk.red : v.severity === 'warning' ? chalk.yellow : chalk.cyan;
      out.push(`${indent}${paint(`${'^^ '.padEnd(HEX_COLUMN + 1)}[${v.id}] ${v.spec} ${v.severity}: ${escapeText(v.message)}`)}`);
    }
  };

  const hexLine = (start: number, end: number, secret: boolean): string => {
    const text = secret ? Array.from({ length: end - start }, () => '**').join(' ') : hexBytes(bytes, start, end);
    return chalk.cyan(text.padEnd(HEX_COLUMN));
  };

  /** Bytes no node explains (a decoder stopped early): shown plainly, never hidden. */
  const uncovered = (upTo: number): void => {
    if (upTo <= covered) return;
    emitBytes(covered, upTo, chalk.dim(`${upTo - covered} byte${upTo - covered === 1 ? '' : 's'} not explained by the decoder`), false);
  };

  /** Lines of an annotation after its first (multi-line values), under the annotation column. */
  const continuation = (rest: string[], depth: number, alreadyShown = 0): void => {
    const pad = `${indent}${' '.repeat(HEX_COLUMN)} ${'  '.repeat(Math.max(0, depth - 1))}  `;
    const limit = opts.full ? rest.length : Math.max(0, Math.min(rest.length, MAX_CONTINUATION_LINES - alreadyShown));
    for (let i = 0; i < limit; i++) out.push(`${pad}${rest[i]}`);
    if (limit < rest.length) out.push(`${pad}${chalk.dim(`… ${rest.length - limit} more lines (--full shows all)`)}`);
  };

  const emitBytes = (start: number, end: number, body: string, secret: boolean, depth = 1): void => {
    // Nesting shows in the annotation column: a string's length and text sit under the string's name.
    let firstLine = body;
    let rest = NO_LINES;
    if (body.indexOf('\n') >= 0) [firstLine, ...rest] = body.split('\n') as [string, ...string[]];
    const text = indent2(Math.max(0, depth - 1)) + firstLine;
    const length = end - start;
    const lines = Math.ceil(length / BYTES_PER_LINE) || 1;
    const shown = opts.full ? lines : Math.min(lines, MAX_LINES_PER_FIELD);
    // Continuation lines of a multi-line value ride beside the following hex lines, then go on below them.
    const pad = indent2(Math.max(0, depth - 1) + 1);
    let next = 0;
    for (let i = 0; i < shown; i++) {
      const a = start + i * BYTES_PER_LINE;
      const b = Math.min(end, a + BYTES_PER_LINE);
      const note = i === 0 ? text : next < rest.length && next < MAX_CONTINUATION_LINES ? pad + rest[next++]! : '';
      out.push(`${indent}${hexLine(a, b, secret)} ${note}`.trimEnd());
    }
    if (next < rest.length) continuation(rest.slice(next), depth, next);
    if (shown < lines) {
      const rest = end - (start + shown * BYTES_PER_LINE);
      out.push(`${indent}${chalk.dim(`${'…'.padEnd(HEX_COLUMN)} ${rest} more byte${rest === 1 ? '' : 's'} (--full shows all)`)}`);
    }
    marksFor(start, end);
    covered = Math.max(covered, end);
  };

  const walk = (node: FieldNode, secret: boolean, depth: number): void => {
    const isSecret = secret || (opts.redact && SECRET_KEYS.has(node.key));
    if (node.offset > covered) uncovered(node.offset);
    if (isBitField(node)) {
      emitBytes(node.offset, node.offset + node.length, bitSummary(node), isSecret, depth);
      return;
    }
    const kids = node.children;
    if (kids && kids.length > 0) {
      if (depth > 0 && node.label) out.push(`${indent}${HEX_SPACE} ${indent2(depth - 1)}${chalk.bold(escapeLabel(node.label))}${node.value && !isSecret ? ` ${chalk.dim(escapeText(node.value))}` : ''}`);
      for (const k of kids) walk(k, isSecret, depth + 1);
      return;
    }
    if (node.length === 0) {
      const [first, ...rest] = (isSecret ? `${escapeLabel(node.label)} = ${REDACTED}` : describe(node, opts.full)).split('\n');
      out.push(`${indent}${HEX_SPACE} ${indent2(Math.max(0, depth - 1))}${first!}`);
      continuation(rest, depth);
      return;
    }
    emitBytes(node.offset, node.offset + node.length, isSecret ? `${escapeLabel(node.label)} = ${REDACTED}` : describe(node, opts.full), isSecret, depth);
  };

  walk(tree, false, 0);
  uncovered(bytes.length);
  for (const v of violations.filter((x) => x.offset === undefined).concat(pendingMarks)) {
    const paint = v.severity === 'error' ? chalk.red : v.severity === 'warning' ? chalk.yellow : chalk.cyan;
    out.push(`${indent}${paint(`[${v.id}] ${v.spec} ${v.severity}: ${escapeText(v.message)}`)}`);
  }
  return out;
}

/** "[3..6]" for bytes 3 to 6; a field of no bytes sits at an offset: "[22, empty]" (never the inverted "[22..21]"). */
export function byteRange(offset: number, length: number): string {
  return length > 0 ? `[${offset}..${offset + length - 1}]` : `[${offset}, empty]`;
}

/** The field tree with offsets (-V). */
export function fieldTree(tree: FieldNode, opts: HexOptions): string[] {
  const { chalk } = opts;
  const out: string[] = [];
  const indent = opts.indent ?? '  ';
  const walk = (node: FieldNode, depth: number, secret: boolean): void => {
    const isSecret = secret || (opts.redact && SECRET_KEYS.has(node.key));
    const where = chalk.dim(byteRange(node.offset, node.length).padEnd(12));
    const raw = node.value;
    const value = isSecret ? REDACTED
      : raw === undefined ? ''
      : raw.indexOf('\n') < 0 ? escapeText(raw)
      : raw.split('\n').map(escapeText).join(`\n${indent}${' '.repeat(12)}${indent2(depth + 1)}`);
    const explain = node.explain && !isSecret ? chalk.dim(` — ${escapeText(node.explain)}`) : '';
    out.push(`${indent}${where}${indent2(depth)}${escapeLabel(node.label)}${value ? `: ${value}` : ''}${explain}`);
    const kids = node.children;
    if (kids) for (const k of kids) walk(k, depth + 1, isSecret);
  };
  walk(tree, 0, false);
  return out;
}
