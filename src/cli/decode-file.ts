/**
 * --decode FILTER=FORMAT and --decode-file FILE: the bindings of a run, read and checked before any capture is:
 * syntax, the file a format reads (protobuf's .proto must exist), and whether the format's decoder is available
 * (`sparkplug` and `protobuf` are until their decoders register: "format X is not available"). The CLI is the only
 * stage that touches files; the dialect stage gets the bindings as plain data.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parseBinding, parseBindingFile, PayloadBindings, type DecodeBinding } from '../dialects/decoders/bindings.js';
import { formatFile, withFormatFile, type FormatSpec } from '../dialects/decoders/formats.js';

/** A binding file is a few lines; more than this is not one. */
const MAX_FILE_BYTES = 1024 * 1024;

function readText(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    // Node's fs errors carry an errno code; anything else is shown by its message.
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(e));
  }
  try {
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > MAX_FILE_BYTES) throw new Error(`more than ${MAX_FILE_BYTES / (1024 * 1024)} MiB: not a binding file`);
    }
    return buf.subarray(0, n).toString('utf8');
  } catch (e) {
    // As above: an fs error's errno code.
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'EISDIR' ? 'is a directory' : e instanceof Error ? e.message : String(e));
  } finally {
    closeSync(fd);
  }
}

function fileProblem(path: string): string | null {
  try {
    return statSync(path).isFile() ? null : 'is not a file';
  } catch {
    return 'no such file';
  }
}

/**
 * The bindings of the command line: every --decode in order, then every --decode-file's in order (so a --decode
 * overrides a file's binding for the same topics: the first that matches wins). Returns them, or the one-line
 * usage error.
 */
export function loadBindings(decode: readonly string[], files: readonly string[]): DecodeBinding[] | string {
  const all: { binding: DecodeBinding; spec: FormatSpec; where: string }[] = [];
  for (const d of decode) {
    const r = parseBinding(d);
    if (typeof r === 'string') return `--decode ${JSON.stringify(d)}: ${r}`;
    all.push({ ...r, where: `--decode ${JSON.stringify(d)}` });
  }
  for (const f of files) {
    let text: string;
    try {
      text = readText(f);
    } catch (e) {
      return `--decode-file ${f}: ${e instanceof Error ? e.message : String(e)}`;
    }
    // A relative .proto in a binding file is relative to the file, as an include would be.
    const resolve = (spec: FormatSpec): FormatSpec => {
      const p = formatFile(spec);
      return p === null || isAbsolute(p) ? spec : withFormatFile(spec, join(dirname(f), p));
    };
    const r = parseBindingFile(text, `--decode-file ${f}`, resolve);
    if (typeof r === 'string') return r;
    for (const b of r) all.push({ binding: b.binding, spec: b.spec, where: `--decode-file ${f} line ${b.line}` });
  }
  for (const b of all) {
    const p = formatFile(b.spec);
    const bad = p === null ? null : fileProblem(p);
    if (p !== null && bad !== null) return `${b.where}: ${p} ${bad}`;
  }
  // Compiling finds what is not available (and a factory's own error, such as a .proto that does not parse).
  const compiled = new PayloadBindings(all.map((b) => b.binding));
  for (const [i, c] of compiled.list.entries()) {
    if (typeof c.decoder === 'string') return `${all[i]!.where}: ${c.decoder}`;
  }
  return all.map((b) => b.binding);
}
