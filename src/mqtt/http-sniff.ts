/**
 * A stream on an MQTT port that starts with HTTP the transport stage did not take as WebSocket (src/transport/): told
 * apart from MQTT by its first bytes, so it is reported instead of framed. A request line starts with an upper-case
 * method and a space; a response with "HTTP/". Neither is the start of a valid MQTT stream: 'G' (0x47), 'P' (0x50),
 * 'H' (0x48) and the other method letters are packet types with non-zero reserved flags or no CONNECT/CONNACK.
 */

const METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'OPTIONS ', 'DELETE ', 'PATCH ', 'CONNECT ', 'TRACE '] as const;
const RESPONSE = 'HTTP/';

function startsWith(data: Uint8Array, off: number, text: string): boolean {
  if (data.length - off < text.length) return false;
  for (let i = 0; i < text.length; i++) if (data[off + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** What the stream starting at data[off] is, when it is HTTP: a description for the event; else null. */
export function httpStart(data: Uint8Array, off: number): string | null {
  let what: string | null = null;
  for (const m of METHODS) {
    if (startsWith(data, off, m)) {
      what = `an HTTP ${m.trim()} request`;
      break;
    }
  }
  if (what === null && startsWith(data, off, RESPONSE)) what = 'an HTTP response';
  if (what === null) return null;
  const end = Math.min(data.length, off + 4096);
  const head = new TextDecoder('latin1').decode(data.subarray(off, end));
  const line = head.split('\r\n', 1)[0]!.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
  const upgrade = /^upgrade:\s*websocket\s*$/im.test(head) || / 101 /.test(line);
  return `${what} (${JSON.stringify(line)})${upgrade ? ': a WebSocket upgrade whose start the transport stage could not follow (a gap, or no room to hold it)' : ''}`;
}
