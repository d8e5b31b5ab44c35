/**
 * Findings of the transport stage (src/transport/), which names them by code because it cannot import the rules: each
 * code's catalogue entry, as data. MQTT section 6 statements exist in 3.1.1 and 5.0 under the same ids and are cited
 * for the connection's version; RFC 6455 requirements cite the RFC section.
 */
import type { Violation } from '../mqtt/connection-decoder.js';
import type { ProtocolLevel } from '../mqtt/types.js';
import type { Direction, TlsFindingCode, TransportFinding, TransportFindingCode } from '../tcp/types.js';
import { tlsViolation } from './catalogue-tls.js';
import { pair, pick, rule, violation, type RuleEntry, type RulePair } from './catalogue.js';

type Cites = { readonly mqtt: RulePair } | { readonly rfc: RuleEntry };

/** The WebSocket layer's codes; the TLS layer's are catalogue ids of their own (catalogue-tls.ts). */
const ROWS: Readonly<Record<Exclude<TransportFindingCode, TlsFindingCode>, Cites>> = {
  'ws-not-binary': { mqtt: pair('MQTT-6.0.0-1', 'MQTT-6.0.0-1') },
  'ws-subprotocol-offered': { mqtt: pair('MQTT-6.0.0-3', 'MQTT-6.0.0-3') },
  'ws-subprotocol-selected': { mqtt: pair('MQTT-6.0.0-4', 'MQTT-6.0.0-4') },
  'ws-client-unmasked': { rfc: rule('rfc6455', 'RFC6455:5.1:unmasked-client-frame') },
  'ws-server-masked': { rfc: rule('rfc6455', 'RFC6455:5.1:masked-server-frame') },
  'ws-reserved-bits': { rfc: rule('rfc6455', 'RFC6455:5.2:reserved-bits') },
  'ws-reserved-opcode': { rfc: rule('rfc6455', 'RFC6455:5.2:reserved-opcode') },
  'ws-length-msb': { rfc: rule('rfc6455', 'RFC6455:5.2:length-msb') },
  'ws-length-not-minimal': { rfc: rule('rfc6455', 'RFC6455:5.2:length-not-minimal') },
  'ws-continuation-without-start': { rfc: rule('rfc6455', 'RFC6455:5.4:continuation-without-start') },
  'ws-data-inside-fragmented': { rfc: rule('rfc6455', 'RFC6455:5.4:data-inside-fragmented') },
  'ws-control-too-long': { rfc: rule('rfc6455', 'RFC6455:5.5:control-too-long') },
  'ws-control-fragmented': { rfc: rule('rfc6455', 'RFC6455:5.5:control-fragmented') },
  'ws-close-payload-1': { rfc: rule('rfc6455', 'RFC6455:5.5.1:close-payload-1') },
  'ws-data-after-close': { rfc: rule('rfc6455', 'RFC6455:5.5.1:data-after-close') },
  'ws-bad-close-code': { rfc: rule('rfc6455', 'RFC6455:7.4:bad-close-code') },
  'ws-accept-mismatch': { rfc: rule('rfc6455', 'RFC6455:4.2.2:accept-mismatch') },
  'ws-bad-request': { rfc: rule('rfc6455', 'RFC6455:4.1:request-fields') },
};

/**
 * Findings about the handshake that depend on the MQTT version, which only the CONNECT tells (it comes after the
 * handshake): held until the first packet of this direction, whose level decides, and attached to it.
 */
export const ATTACHED_TO_FIRST_PACKET: Readonly<Partial<Record<TransportFindingCode, Direction>>> = {
  'ws-subprotocol-offered': 'c2s',
  'ws-subprotocol-selected': 's2c',
};

/** The violation a finding is on a connection of `level`; null when it is none there (3.1 and "mqttv3.1"). */
export function transportViolation(f: TransportFinding, level: ProtocolLevel): Violation | null {
  if (f.exceptLevel3 === true && level === 3) return null;
  if (isTlsCode(f.code)) return tlsViolation(f.code, f.message);
  const c = ROWS[f.code];
  return 'mqtt' in c ? violation(pick(c.mqtt, level), level, f.message) : violation(c.rfc, level, f.message);
}

function isTlsCode(code: TransportFindingCode): code is TlsFindingCode {
  return code.startsWith('TLS-');
}
