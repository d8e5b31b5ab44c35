/**
 * The TLS key log a run decrypts with: --tls-keylog FILE, else the file SSLKEYLOGFILE names (as tshark reads it). The
 * CLI is the only stage that touches files; the transport stage gets the parsed KeyLog.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { KeyLog, KEYLOG_MAX_BYTES } from '../transport/tls/keylog.js';
import { oneLine } from './back-end.js';

/** A key log's text, at most KEYLOG_MAX_BYTES of it (a key log is some 300 bytes per session), or why not. */
function readKeyLog(file: string): { text: string; cut: boolean } | string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    // Node's fs errors carry an errno code; anything else is shown by its message.
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(e);
  }
  try {
    // Read in chunks (a pipe or /dev/fd has no size), never more than the cap and one byte to tell it was passed.
    const parts: Buffer[] = [];
    let n = 0;
    for (let i = 0; i < 100_000 && n <= KEYLOG_MAX_BYTES; i++) {
      const buf = Buffer.alloc(Math.min(1 << 20, KEYLOG_MAX_BYTES + 1 - n));
      const r = readSync(fd, buf, 0, buf.length, null);
      if (r === 0) break;
      parts.push(buf.subarray(0, r));
      n += r;
    }
    const all = Buffer.concat(parts);
    return { text: all.subarray(0, KEYLOG_MAX_BYTES).toString('latin1'), cut: n > KEYLOG_MAX_BYTES };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EISDIR' ? 'is a directory' : String(e);
  } finally {
    closeSync(fd);
  }
}

/**
 * The run's key log: empty without --tls-keylog and SSLKEYLOGFILE; null (after one line on `err`) when the file
 * --tls-keylog names cannot be read. SSLKEYLOGFILE is often set for writing keys (browsers, curl), so a file it names
 * that cannot be read is no error: the TLS connections' no-key events say why they have no keys.
 */
export function loadKeyLog(tlsKeylog: string | undefined, env: Readonly<Record<string, string | undefined>> | undefined, err: (line: string) => void): KeyLog | null {
  const keylog = new KeyLog();
  const file = tlsKeylog ?? env?.SSLKEYLOGFILE;
  if (file === undefined || file === '') return keylog;
  const r = readKeyLog(file);
  if (typeof r === 'string') {
    if (tlsKeylog !== undefined) {
      err(`mqtt-dissect: cannot read --tls-keylog ${oneLine(file)}: ${r}`);
      return null;
    }
    keylog.unavailable = `SSLKEYLOGFILE names ${file}: ${r}`;
    return keylog;
  }
  keylog.add(r.text, file);
  if (r.cut) keylog.notes.push({ message: `key log ${file} is larger than ${KEYLOG_MAX_BYTES} bytes: only its first ${KEYLOG_MAX_BYTES} are read` });
  return keylog;
}
