/**
 * The little HTTP/1.1 a WebSocket opening handshake needs (RFC 6455 section 4, RFC 9112 message syntax): where a
 * message head ends, its start line and its header fields. Heads are read from bytes already held (bounded by the
 * caller), as latin1 text: header values are octets, never decoded as UTF-8.
 */

/** Largest request or response head (start line + header fields + the empty line) a handshake may have. */
export const MAX_HEAD_BYTES = 8192;

/** Request methods, as the first bytes of a stream that is HTTP (the first letters tell MQTT from HTTP at once). */
export const METHODS: readonly string[] = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'OPTIONS ', 'DELETE ', 'PATCH ', 'CONNECT ', 'TRACE '];
const RESPONSE = 'HTTP/';

/** First bytes an HTTP message can start with: one flag per byte value. */
export const HTTP_FIRST_BYTE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const m of [...METHODS, RESPONSE]) t[m.charCodeAt(0)] = 1;
  return t;
})();

function startsWithText(b: Uint8Array, n: number, text: string): 'yes' | 'no' | 'more' {
  for (let i = 0; i < text.length; i++) {
    if (i >= n) return 'more';
    if (b[i] !== text.charCodeAt(i)) return 'no';
  }
  return 'yes';
}

/** Whether the first `n` bytes of `b` start an HTTP request or response: 'more' while a method could still match. */
export function startsHttp(b: Uint8Array, n: number): 'yes' | 'no' | 'more' {
  if (n === 0) return 'more';
  if (HTTP_FIRST_BYTE[b[0]!] === 0) return 'no';
  let more = false;
  for (const m of [...METHODS, RESPONSE]) {
    const r = startsWithText(b, n, m);
    if (r === 'yes') return 'yes';
    if (r === 'more') more = true;
  }
  return more ? 'more' : 'no';
}

/** Index just past the empty line that ends a message head in b[0, n), or -1 when it has not arrived yet. */
export function headEnd(b: Uint8Array, n: number): number {
  for (let i = 3; i < n; i++) {
    if (b[i] === 0x0a && b[i - 1] === 0x0d && b[i - 2] === 0x0a && b[i - 3] === 0x0d) return i + 1;
  }
  return -1;
}

export interface HttpHead {
  /** The start line without its CRLF, control characters replaced by '?'. */
  startLine: string;
  /** Request: method, target; response: status code and reason phrase. */
  method: string | null;
  target: string | null;
  status: number | null;
  reason: string | null;
  /** Header fields by lower-case name; repeated fields joined with ", " (RFC 9110 section 5.3). */
  headers: ReadonlyMap<string, string>;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e\x80-\xff]/g, '?');
}

/** Parses a complete head (its bytes up to and including the empty line). Never throws: odd lines are kept as they are. */
export function parseHead(b: Uint8Array): HttpHead {
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  const lines = text.split('\r\n');
  const startLine = printable(lines[0] ?? '');
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = printable(line.slice(colon + 1).trim());
    const had = headers.get(name);
    headers.set(name, had === undefined ? value : `${had}, ${value}`);
  }
  let method: string | null = null;
  let target: string | null = null;
  let status: number | null = null;
  let reason: string | null = null;
  const parts = startLine.split(' ');
  if (startLine.startsWith(RESPONSE)) {
    const code = Number.parseInt(parts[1] ?? '', 10);
    status = Number.isFinite(code) ? code : null;
    reason = parts.slice(2).join(' ');
  } else {
    method = parts[0] ?? null;
    target = parts[1] ?? null;
  }
  return { startLine, method, target, status, reason, headers };
}

/** The comma-separated tokens of a header value (Sec-WebSocket-Protocol, Connection, Upgrade), trimmed. */
export function tokens(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
}

/** Whether a request head asks for a WebSocket upgrade (RFC 6455 section 4.1: GET, Upgrade: websocket). */
export function isWebSocketUpgrade(h: HttpHead): boolean {
  return h.method === 'GET' && tokens(h.headers.get('upgrade')).some((t) => t.toLowerCase() === 'websocket');
}
