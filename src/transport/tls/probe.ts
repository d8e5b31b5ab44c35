/**
 * --auto's test for TLS on any port: a handshake record (content type 22, version 3.x, a plausible length) whose first
 * message is a ClientHello (RFC 8446 5.1, 4.1.2).
 */
import type { ConnectProbe, ConnectProber } from '../../tcp/types.js';
import { CT_HANDSHAKE, HS_CLIENT_HELLO } from './tables.js';
import { MAX_RECORD_BYTES } from './layer.js';

export const TLS_PROBER: ConnectProber = {
  bytes: 6,
  test(b: Uint8Array, n: number): ConnectProbe {
    if (n >= 1 && b[0] !== CT_HANDSHAKE) return 'no';
    if (n >= 2 && b[1] !== 3) return 'no';
    if (n >= 3 && b[2]! > 4) return 'no';
    if (n >= 5) {
      const len = (b[3]! << 8) | b[4]!;
      if (len < 4 || len > MAX_RECORD_BYTES) return 'no';
    }
    if (n >= 6) return b[5] === HS_CLIENT_HELLO ? 'yes' : 'no';
    return 'more';
  },
};
