/**
 * What the TCP stage asks of a connection it holds back (on the common WebSocket ports, and on every port with
 * --auto): does it start with a WebSocket upgrade (or, given the MQTT stage's test, an MQTT CONNECT)? The pipeline
 * builds it and hands it to the TCP stage, which must not import the later stages.
 */
import type { ConnectProbe, ConnectProber } from '../tcp/types.js';
import { headEnd, parseHead, startsHttp } from './http.js';
import { sniffWebSocket } from './router.js';
import { MAX_HEAD_BYTES } from './http.js';

/** The probe: a WebSocket upgrade, or what `mqtt` (the CONNECT test, with --auto) accepts. */
export function transportProber(mqtt: ConnectProber | null): ConnectProber {
  return {
    bytes: Math.max(MAX_HEAD_BYTES, mqtt?.bytes ?? 0),
    test(b: Uint8Array, n: number, midConnection = false): ConnectProbe {
      const ws = sniffWebSocket(b, n, midConnection);
      if (ws === 'yes') return 'yes';
      const m: ConnectProbe = mqtt === null ? 'no' : mqtt.test(b, n);
      if (m === 'yes') return 'yes';
      return ws === 'no' && m === 'no' ? 'no' : 'more';
    },
    explain(b: Uint8Array, n: number): string | null {
      if (startsHttp(b, n) !== 'yes') return null;
      const end = headEnd(b, n);
      const line = parseHead(b.subarray(0, end < 0 ? n : end)).startLine.slice(0, 120);
      return `HTTP (${JSON.stringify(line)}) that is no WebSocket upgrade`;
    },
  };
}
