/**
 * Does a stream start with an MQTT CONNECT? The question --auto asks of connections on ports not known to carry MQTT.
 * It lives here, with the MQTT knowledge it needs (the Variable Byte Integer reader, the protocol names), and the
 * pipeline hands it to the TCP stage, which must not import from later stages.
 */
import type { ConnectProbe, ConnectProber } from '../tcp/types.js';
import { CONNECT, PREFIXED_NAME_31, PREFIXED_NAME_311 } from './tables.js';
import { readVbi } from './vbi.js';

const MQTT = PREFIXED_NAME_311;
const MQISDP = PREFIXED_NAME_31;

/** Smallest Remaining Length of a CONNECT: protocol name, level, flags and keep-alive (10 bytes, 12 for MQIsdp). */
const MIN_REMAINING = 4 + MQTT.length;

/** Verdict on the first `n` bytes of `b`: a CONNECT header with a known protocol name, not one, or too few bytes. */
export function looksLikeConnect(b: Uint8Array, n: number = b.length): ConnectProbe {
  if (n < 1) return 'more';
  if (b[0] !== CONNECT << 4) return 'no';
  const rl = readVbi(b, 1, n);
  if (!rl.complete) return 'more';
  if (rl.overlong) return 'no';
  const value = rl.value;
  if (value < MIN_REMAINING) return 'no';
  const i = 1 + rl.length;
  const name = i + 1 < n && b[i + 1] === MQISDP[1] ? MQISDP : MQTT;
  for (let k = 0; k < name.length; k++) {
    if (i + k >= n) return 'more';
    if (b[i + k] !== name[k]) return 'no';
  }
  return name === MQISDP && value < 4 + MQISDP.length ? 'no' : 'yes';
}

/** What the TCP stage needs: how many first bytes decide (1 + 4 Remaining Length bytes + the longer name), and the test. */
export const CONNECT_PROBER: ConnectProber = { bytes: 1 + 4 + MQISDP.length, test: looksLikeConnect };
