/**
 * Findings about the TLS that carries MQTT (src/transport/tls/): not MQTT statements, so they have ids of their own
 * (`TLS-…`, spec "TLS"), each citing the document that makes it a problem. The transport stage reports what it saw by
 * id; the rules stage turns it into a violation with this table's severity.
 */
import type { Severity, Violation } from '../mqtt/connection-decoder.js';
import type { TlsFindingCode } from '../tcp/types.js';

export interface TlsRule {
  id: TlsFindingCode;
  severity: Severity;
  reference: string;
  paraphrase: string;
}

export const TLS_RULES: readonly TlsRule[] = [
  { id: 'TLS-old-version', severity: 'warning', reference: 'RFC 8996', paraphrase: 'TLS 1.0 and 1.1 (and SSL 3.0) are deprecated and must not be negotiated; MQTT-over-TLS deployments should use TLS 1.2 or 1.3.' },
  { id: 'TLS-weak-cipher', severity: 'error', reference: 'RFC 7465, RFC 5246 A.5, RFC 7525 4.2', paraphrase: 'The server selected a NULL (no encryption), EXPORT (40/56-bit), RC4 or anonymous (no server authentication) cipher suite.' },
  { id: 'TLS-cert-expired', severity: 'warning', reference: 'RFC 5280 4.1.2.5', paraphrase: 'The server certificate (visible in TLS 1.2) had expired when the capture was taken.' },
  { id: 'TLS-cert-not-yet-valid', severity: 'warning', reference: 'RFC 5280 4.1.2.5', paraphrase: 'The server certificate (visible in TLS 1.2) was not yet valid when the capture was taken.' },
  { id: 'TLS-plaintext-mqtt', severity: 'error', reference: 'MQTT 5.0 4.2 / IANA port 8883', paraphrase: 'The client sent an MQTT CONNECT in clear on a TLS port (8883 or --tls-port), where a TLS ClientHello belongs.' },
  { id: 'TLS-record-overflow', severity: 'error', reference: 'RFC 5246 6.2.3, RFC 8446 5.2', paraphrase: 'A TLS record claims more than 2^14 + 2048 bytes, more than any record may hold.' },
];

const BY_ID: ReadonlyMap<string, TlsRule> = new Map(TLS_RULES.map((r) => [r.id, r]));

/** The violation for a transport finding; an id the table lacks is a programming error, caught by the tests. */
export function tlsViolation(id: TlsFindingCode, message: string): Violation {
  const r = BY_ID.get(id);
  if (r === undefined) throw new Error(`TLS finding ${id} is not in the catalogue`);
  return { id, spec: 'TLS', severity: r.severity, message };
}
