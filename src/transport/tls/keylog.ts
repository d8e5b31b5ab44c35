/**
 * NSS key log format (as browsers, Node, curl, openssl -keylogfile and Wireshark use it): one `LABEL <client random
 * hex> <secret hex>` per line, `#` comments. Only the labels that decrypt TLS 1.2 and 1.3 records are kept; others
 * (EARLY_EXPORTER_SECRET, EXPORTER_SECRET, RSA, CLIENT_EARLY_TRAFFIC_SECRET, …) are counted and ignored.
 */

/** Labels we use, and what for. */
export const KEYLOG_LABELS = [
  'CLIENT_RANDOM',
  'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
  'SERVER_HANDSHAKE_TRAFFIC_SECRET',
  'CLIENT_TRAFFIC_SECRET_0',
  'SERVER_TRAFFIC_SECRET_0',
] as const;
export type KeyLabel = (typeof KEYLOG_LABELS)[number];
const LABELS: ReadonlySet<string> = new Set(KEYLOG_LABELS);

/** Bounds: a key log is small (some 300 bytes per session); past these the rest is not read and a note says so. */
export const KEYLOG_MAX_BYTES = 64 * 1024 * 1024;
export const KEYLOG_MAX_SESSIONS = 200_000;

export interface SessionKeys {
  /** Secrets by label. */
  secrets: Partial<Record<KeyLabel, Uint8Array>>;
  /** Where they came from ("keys.log line 3", "pcapng secrets block 1"), for the records that used them. */
  source: string;
}

export interface KeyLogNote {
  message: string;
  count?: number;
}

/** Every session's secrets, by client random (hex, lower case). */
export class KeyLog {
  private readonly sessions = new Map<string, SessionKeys>();
  readonly notes: KeyLogNote[] = [];
  /** Lines ignored: unknown labels, malformed lines. */
  ignored = 0;
  /** Why the key log meant to be used could not be read (SSLKEYLOGFILE naming a missing file), for the no-key events. */
  unavailable: string | null = null;
  private capped = false;

  constructor(private readonly maxSessions = KEYLOG_MAX_SESSIONS) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Adds the lines of one key log text; `name` is for messages (file name, "pcapng secrets block N"). */
  add(text: string, name: string): void {
    if (text.length > KEYLOG_MAX_BYTES) {
      this.notes.push({ message: `key log ${name} is ${text.length} bytes, more than ${KEYLOG_MAX_BYTES}: only its first ${KEYLOG_MAX_BYTES} are read` });
      text = text.slice(0, KEYLOG_MAX_BYTES);
    }
    let lineNo = 0;
    let ignoredHere = 0;
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end).trim();
      start = end + 1;
      lineNo++;
      if (line === '' || line.startsWith('#')) continue;
      const parts = line.split(/\s+/);
      if (parts.length !== 3 || !LABELS.has(parts[0]!) || !isHex(parts[1]!, 64) || !isHex(parts[2]!, 0)) {
        ignoredHere++;
        continue;
      }
      const random = parts[1]!.toLowerCase();
      let s = this.sessions.get(random);
      if (s === undefined) {
        if (this.sessions.size >= this.maxSessions) {
          if (!this.capped) {
            this.capped = true;
            this.notes.push({ message: `key logs hold more than ${this.maxSessions} sessions: the rest (from ${name} line ${lineNo}) are not kept`, count: this.maxSessions });
          }
          continue;
        }
        s = { secrets: {}, source: `${name} line ${lineNo}` };
        this.sessions.set(random, s);
      }
      // The label was checked against LABELS above.
      s.secrets[parts[0] as KeyLabel] = Buffer.from(parts[2]!, 'hex');
    }
    this.ignored += ignoredHere;
  }

  get(clientRandom: Uint8Array): SessionKeys | undefined {
    return this.sessions.get(Buffer.from(clientRandom.buffer, clientRandom.byteOffset, clientRandom.byteLength).toString('hex'));
  }
}

/** `len` hex digits exactly (0: any even, non-zero count up to 2 x 64 bytes). */
function isHex(s: string, len: number): boolean {
  if (len > 0 ? s.length !== len : s.length === 0 || s.length % 2 !== 0 || s.length > 128) return false;
  return /^[0-9a-fA-F]+$/.test(s);
}
