/**
 * The rule catalogue: every normative statement of MQTT 3.1.1 and 5.0, the unnumbered rules from our spec notes and
 * a few rules of our own, each with a severity, our paraphrase and whether the analyzer checks it (or why not).
 *
 * Ids: numbered statements keep the spec's `MQTT-x.y.z-n`. 3.1.1 and 5.0 reuse the same numbers for different
 * statements, so an entry is identified by (spec, id) and every violation carries its spec version.
 * Unnumbered rules use the `ref` of the spec notes (`versions:section:slug`); our own rules follow the same pattern.
 *
 * MQTT 3.1 has no numbered statements. Where 3.1 (MQIsdp) has the same rule as 3.1.1, a violation on a 3.1 connection
 * cites the 3.1.1 statement (spec "3.1.1") and says that it is applied by analogy; 3.1-only differences have their own
 * refs (e.g. `3.1:3.1-compat:missing-user-pass`). See docs/rules.md.
 */
import type { Severity, Violation } from '../mqtt/connection-decoder.js';
import { VERSION_NAME, type ProtocolLevel } from '../mqtt/types.js';
import { SPEC_ROWS, type Passive } from './catalogue-data.js';

export type SpecVersion = '3.1' | '3.1.1' | '5.0';
/**
 * The document an id belongs to: a numbered statement of 3.1.1 or 5.0, an unnumbered/own `ref`, or a requirement of
 * RFC 6455 (WebSocket) that a capture of MQTT over WebSocket shows broken.
 */
export type RuleSpec = '3.1.1' | '5.0' | 'ref' | 'rfc6455';

export interface RuleEntry {
  id: string;
  spec: RuleSpec;
  /** Protocol versions whose connections the rule is checked on (3.1.1 statements may include 3.1, by analogy). */
  versions: readonly SpecVersion[];
  area: string;
  /** From the spec notes; 'own' for rules that are not in them. */
  passive: Passive | 'own';
  severity: Severity;
  paraphrase: string;
  /** Can give false positives (reported at warning level). */
  heuristic: boolean;
  implemented: boolean;
  /** Why the analyzer does not check it (only when not implemented). */
  why?: string;
  /** Stable lookup key: `spec|id`. */
  key: string;
  /** The RFC section (rfc6455 entries): violations cite it as their `spec`, e.g. "RFC 6455 5.1". */
  section?: string;
}

export interface RuleRow {
  id: string;
  /** "3.1.1", "5.0", or for unnumbered rules the versions they cover ("3.1,3.1.1,5.0"). */
  spec: string;
  severity: Severity;
  paraphrase: string;
  implemented: boolean;
  why?: string;
  versions: string;
  area: string;
  passive: string;
}

// ---------------------------------------------------------------------------------------------
// Our own rules (not in the spec notes)
// ---------------------------------------------------------------------------------------------

type OwnRule = readonly [id: string, versions: string, area: string, severity: Severity, paraphrase: string];

const OWN_RULES: readonly OwnRule[] = [
  ['3.1.1:3.2.0:second-connack', '3.1,3.1.1', 'CONNACK', 'error',
    'The server sends one CONNACK per connection; a second CONNACK is a protocol violation (5.0 numbers this MQTT-3.2.0-2).'],
  ['ALL:3.13:unsolicited-pingresp', '3.1,3.1.1,5.0', 'PINGRESP', 'warning',
    'A PINGRESP answers a PINGREQ; a PINGRESP with no PINGREQ outstanding is suspicious.'],
  ['3.1:3.1.3:clientid-length', '3.1', 'CONNECT', 'warning',
    'MQTT 3.1 ClientIds are 1 to 23 characters long (servers answer a longer or empty one with CONNACK 2).'],
  ['ALL:3.1.2.2:bridge-bit', '3.1,3.1.1,5.0', 'CONNECT', 'warning',
    'Bit 7 of the protocol level byte is a non-standard bridge marker (mosquitto); no OASIS version allows it.'],
  ['5.0:1.5.5:vbi-max-4-bytes', '5.0', 'VBI', 'error',
    'A Variable Byte Integer (property length, property id, Subscription Identifier) has at most 4 bytes.'],
  ['5.0:2.4:reason-table-conflict', '5.0', 'DISCONNECT', 'warning',
    'Reason code 0x8C appears for DISCONNECT only in Table 2-6, not in the DISCONNECT table: accepted with a warning.'],
  ['ALL:decoder:problem', '3.1,3.1.1,5.0', 'DECODER', 'error',
    'The decoder reported a defect that no catalogue rule describes more precisely.'],
  ['5.0:3.15.2.1:short-auth-no-method', '5.0', 'AUTH', 'warning',
    'An AUTH of Remaining Length 0 has no Authentication Method, which AUTH needs; the short form itself is allowed, so this is a warning (without the short form it is 5.0:3.15.2.2.2:auth-needs-method, an error).'],
  ['3.1:2.2.2:reserved-flags', '3.1', 'FIXED-HEADER', 'warning',
    'Fixed-header flag bits of an MQTT 3.1 connection differ from the values 3.1.1 made mandatory (MQTT-2.2.2-1); 3.1 did not require them, so this is a warning.'],
  ['3.1:1.5.3:ill-formed-utf8', '3.1', 'UTF8', 'warning',
    'A string of an MQTT 3.1 connection is not well-formed UTF-8; 3.1 did not require it as 3.1.1 does (MQTT-1.5.3-1), so this is a warning.'],
  // Exchanges still open when a connection ended (incomplete-flow events). The statements they come from are MUSTs,
  // but the capture cannot show why the connection ended before the answer (a crash, a network failure, a capture
  // that stops), so these are warnings of their own, apart from the errors those statements give elsewhere.
  ['ALL:3.3.4:publish-unanswered', '3.1,3.1.1,5.0', 'PUBLISH', 'warning',
    'A QoS 1 or 2 PUBLISH was still without its PUBACK or PUBREC when the connection ended; its receiver owes that answer (the server: MQTT-3.3.4-1, the client: MQTT-4.5.0-2).'],
  ['ALL:4.3.3:pubrel-missing', '3.1,3.1.1,5.0', 'PUBREL', 'warning',
    'A QoS 2 PUBLISH had its PUBREC but its sender had not sent PUBREL when the connection ended (3.1.1 MQTT-4.3.3-1, 5.0 MQTT-4.3.3-4).'],
  ['ALL:4.3.3:pubcomp-missing', '3.1,3.1.1,5.0', 'PUBCOMP', 'warning',
    'A PUBREL was still without its PUBCOMP when the connection ended (3.1.1 MQTT-4.3.3-2, 5.0 MQTT-4.3.3-11).'],
  ['ALL:3.8.4:suback-missing', '3.1,3.1.1,5.0', 'SUBACK', 'warning',
    'A SUBSCRIBE was still without its SUBACK when the connection ended (MQTT-3.8.4-1).'],
  ['ALL:3.10.4:unsuback-missing', '3.1,3.1.1,5.0', 'UNSUBACK', 'warning',
    'An UNSUBSCRIBE was still without its UNSUBACK when the connection ended (MQTT-3.10.4-4).'],
  ['ALL:3.12.4:pingresp-missing', '3.1,3.1.1,5.0', 'PINGRESP', 'warning',
    'A PINGREQ was still without its PINGRESP when the connection ended (MQTT-3.12.4-1).'],
  // Across connections (the sessions stage, src/sessions/findings.ts).
  ['ALL:3.1.4:clientid-shared', '3.1,3.1.1,5.0', 'SESSION', 'warning',
    'Connections from two addresses take one ClientId over from each other again and again (3 takeovers back and forth): two devices seem to share the ClientId, and each connection makes the broker close the other\'s (3.1.4; 3.1.1 MQTT-3.1.4-2, 5.0 MQTT-3.1.4-3).'],
  ['5.0:4.8:shared-one-session', '5.0', 'SHARED-SUB', 'warning',
    'A message matching a Shared Subscription is sent to the client of one of the sessions attached to it (4.8, unnumbered): not to a second member while the first one\'s connection is open.'],
  // Checked by the dialect stage (src/dialects/decoders/publish.ts), which holds the JSON validator.
  ['5.0:3.3.2.3.9:content-type-json', '5.0', 'PUBLISH', 'warning',
    'A PUBLISH whose Content Type names JSON (application/json, text/json, application/…+json) carries a JSON payload. The Content Type is the applications\' agreement, not a requirement of MQTT, hence a warning; payloads over 64 KiB are not checked (a PAYLOAD-json-unchecked note says so).'],
];

// ---------------------------------------------------------------------------------------------
// RFC 6455 requirements a capture of MQTT over WebSocket can show broken (src/transport/websocket.ts finds them;
// src/rules/transport-findings.ts maps them here). Versions: every MQTT version carried over WebSocket.
// ---------------------------------------------------------------------------------------------

type RfcRule = readonly [id: string, section: string, severity: Severity, paraphrase: string];

const RFC6455_RULES: readonly RfcRule[] = [
  ['RFC6455:5.1:unmasked-client-frame', '5.1', 'error', 'A client masks every frame it sends to the server.'],
  ['RFC6455:5.1:masked-server-frame', '5.1', 'error', 'A server never masks the frames it sends to the client.'],
  ['RFC6455:5.2:reserved-bits', '5.2', 'error', 'RSV1, RSV2 and RSV3 are 0 unless a negotiated extension gives them a meaning.'],
  ['RFC6455:5.2:reserved-opcode', '5.2', 'error', 'Opcodes 0x3-0x7 and 0xB-0xF are reserved and never sent.'],
  ['RFC6455:5.2:length-msb', '5.2', 'error', 'The most significant bit of a 64-bit payload length is 0.'],
  ['RFC6455:5.2:length-not-minimal', '5.2', 'error', 'A payload length is written in the fewest bytes possible (the 16-bit form only from 126, the 64-bit form only from 65,536).'],
  ['RFC6455:5.4:continuation-without-start', '5.4', 'error', 'A continuation frame continues a fragmented message; none may come when no message is in progress.'],
  ['RFC6455:5.4:data-inside-fragmented', '5.4', 'error', 'The fragments of a message are not interleaved with another data message: only control frames may come between them.'],
  ['RFC6455:5.5:control-too-long', '5.5', 'error', 'A control frame (close, ping, pong) carries at most 125 bytes of payload.'],
  ['RFC6455:5.5:control-fragmented', '5.5', 'error', 'A control frame is never fragmented: its FIN bit is 1.'],
  ['RFC6455:5.5.1:close-payload-1', '5.5.1', 'error', 'A close frame\'s payload, if any, starts with a 2-byte status code: a 1-byte payload is malformed.'],
  ['RFC6455:5.5.1:data-after-close', '5.5.1', 'error', 'An endpoint sends no frame after its close frame.'],
  ['RFC6455:7.4:bad-close-code', '7.4', 'error', 'A close frame carries a status code that may be sent: 1000-1003, 1007-1014 or 3000-4999 (never 1004-1006, 1015 or an unassigned one).'],
  ['RFC6455:4.1:request-fields', '4.1', 'error', 'The Upgrade request carries Connection: Upgrade, a Sec-WebSocket-Key of 16 random bytes in base64 and Sec-WebSocket-Version: 13.'],
  ['RFC6455:4.2.2:accept-mismatch', '4.2.2', 'error', 'The 101 response carries Sec-WebSocket-Accept, the base64 SHA-1 of the request\'s Sec-WebSocket-Key and the RFC\'s GUID.'],
];

// ---------------------------------------------------------------------------------------------
// Implementation status. Everything not listed as implemented needs a reason: explicit below, or derived from the
// spec notes' category (broker-internal, other connections, WebSocket).
// ---------------------------------------------------------------------------------------------

const IMPLEMENTED_311 = [
  'MQTT-1.5.3-1', 'MQTT-1.5.3-2', 'MQTT-2.2.2-1', 'MQTT-2.2.2-2', 'MQTT-2.3.1-1', 'MQTT-2.3.1-2', 'MQTT-2.3.1-4',
  'MQTT-2.3.1-6', 'MQTT-3.1.0-1', 'MQTT-3.1.0-2', 'MQTT-3.1.2-1', 'MQTT-3.1.2-2', 'MQTT-3.1.2-3', 'MQTT-3.1.2-6',
  'MQTT-3.1.2-9', 'MQTT-3.1.2-13', 'MQTT-3.1.2-14', 'MQTT-3.1.2-15', 'MQTT-3.1.2-19', 'MQTT-3.1.2-20',
  'MQTT-3.1.2-21', 'MQTT-3.1.2-22', 'MQTT-3.1.2-23', 'MQTT-3.1.2-24', 'MQTT-3.1.3-3', 'MQTT-3.1.3-4',
  'MQTT-3.1.3-5', 'MQTT-3.1.3-7', 'MQTT-3.1.3-8', 'MQTT-3.1.3-10', 'MQTT-3.1.3-11', 'MQTT-3.1.4-1', 'MQTT-3.2.0-1',
  'MQTT-3.2.2-1', 'MQTT-3.2.2-4', 'MQTT-3.2.2-5', 'MQTT-3.3.1-1', 'MQTT-3.3.1-2', 'MQTT-3.3.1-3', 'MQTT-3.3.1-4',
  'MQTT-3.3.1-11', 'MQTT-3.3.2-1', 'MQTT-3.3.2-2', 'MQTT-3.3.2-3', 'MQTT-3.3.4-1', 'MQTT-3.6.1-1', 'MQTT-3.8.1-1',
  'MQTT-3.8.3-1', 'MQTT-3.8.3-3', 'MQTT-3.8.3-4', 'MQTT-3.8.4-2', 'MQTT-3.8.4-5', 'MQTT-3.8.4-6',
  'MQTT-3.9.3-1', 'MQTT-3.9.3-2', 'MQTT-3.10.1-1', 'MQTT-3.10.3-1', 'MQTT-3.10.3-2', 'MQTT-3.10.4-4',
  'MQTT-3.14.1-1', 'MQTT-3.14.4-2', 'MQTT-4.3.3-1', 'MQTT-4.3.3-2',
  'MQTT-4.6.0-2', 'MQTT-4.6.0-3', 'MQTT-4.6.0-4', 'MQTT-4.7.1-1', 'MQTT-4.7.1-2', 'MQTT-4.7.1-3', 'MQTT-4.7.2-1',
  'MQTT-4.7.3-1', 'MQTT-4.7.3-2', 'MQTT-4.8.0-1', 'MQTT-6.0.0-1', 'MQTT-6.0.0-3', 'MQTT-6.0.0-4',
];

/** Across connections: the sessions stage checks these (src/sessions/findings.ts). */
const ACROSS_311 = ['MQTT-4.5.0-1', 'MQTT-3.1.4-2', 'MQTT-3.2.2-2', 'MQTT-3.2.2-3', 'MQTT-3.3.1-9', 'MQTT-3.3.5-1', 'MQTT-4.4.0-1', 'MQTT-4.6.0-1', 'MQTT-3.10.4-2',
  'MQTT-3.1.2-8', 'MQTT-3.14.4-3']; // the last two: the Will (src/sessions/will.ts)

const IMPLEMENTED_50 = [
  'MQTT-1.5.4-1', 'MQTT-1.5.4-2', 'MQTT-1.5.5-1', 'MQTT-1.5.7-1', 'MQTT-2.1.3-1', 'MQTT-2.2.1-3', 'MQTT-2.2.1-4',
  'MQTT-2.2.1-5', 'MQTT-2.2.2-1', 'MQTT-3.1.0-1', 'MQTT-3.1.0-2', 'MQTT-3.1.2-1', 'MQTT-3.1.2-3', 'MQTT-3.1.2-4',
  'MQTT-3.1.2-9', 'MQTT-3.1.2-11', 'MQTT-3.1.2-12', 'MQTT-3.1.2-13', 'MQTT-3.1.2-17', 'MQTT-3.1.2-18',
  'MQTT-3.1.2-19', 'MQTT-3.1.2-20', 'MQTT-3.1.2-22', 'MQTT-3.1.2-24', 'MQTT-3.1.2-26', 'MQTT-3.1.2-27',
  'MQTT-3.1.2-28', 'MQTT-3.1.2-29', 'MQTT-3.1.2-30', 'MQTT-3.1.3-3', 'MQTT-3.1.3-4', 'MQTT-3.1.3-5',
  'MQTT-3.1.3-11', 'MQTT-3.1.3-12', 'MQTT-3.1.4-1', 'MQTT-3.2.0-1', 'MQTT-3.2.0-2', 'MQTT-3.2.2-1', 'MQTT-3.2.2-2',
  'MQTT-3.2.2-4', 'MQTT-3.2.2-6', 'MQTT-3.2.2-7', 'MQTT-3.2.2-8', 'MQTT-3.2.2-9', 'MQTT-3.2.2-11', 'MQTT-3.2.2-12',
  'MQTT-3.2.2-13', 'MQTT-3.2.2-14', 'MQTT-3.2.2-15', 'MQTT-3.2.2-16', 'MQTT-3.2.2-17', 'MQTT-3.2.2-18',
  'MQTT-3.2.2-19', 'MQTT-3.2.2-20', 'MQTT-3.2.2-21', 'MQTT-3.3.1-1', 'MQTT-3.3.1-2', 'MQTT-3.3.1-3', 'MQTT-3.3.1-4',
  'MQTT-3.3.1-7', 'MQTT-3.3.2-1', 'MQTT-3.3.2-2', 'MQTT-3.3.2-3', 'MQTT-3.3.2-8', 'MQTT-3.3.2-13', 'MQTT-3.3.2-14',
  'MQTT-3.3.2-19', 'MQTT-3.3.4-1', 'MQTT-3.3.4-3', 'MQTT-3.3.4-6', 'MQTT-3.3.4-7', 'MQTT-3.3.4-9', 'MQTT-3.4.2-1',
  'MQTT-3.4.2-2', 'MQTT-3.4.2-3', 'MQTT-3.5.2-1', 'MQTT-3.5.2-2', 'MQTT-3.5.2-3', 'MQTT-3.6.1-1', 'MQTT-3.6.2-1',
  'MQTT-3.6.2-2', 'MQTT-3.6.2-3', 'MQTT-3.7.2-1', 'MQTT-3.7.2-2', 'MQTT-3.7.2-3', 'MQTT-3.8.1-1', 'MQTT-3.8.3-1',
  'MQTT-3.8.3-2', 'MQTT-3.8.3-4', 'MQTT-3.8.3-5', 'MQTT-3.8.4-2', 'MQTT-3.8.4-6', 'MQTT-3.8.4-8',
  'MQTT-3.9.2-1', 'MQTT-3.9.2-2', 'MQTT-3.9.3-1', 'MQTT-3.9.3-2', 'MQTT-3.10.1-1', 'MQTT-3.10.3-1',
  'MQTT-3.10.3-2', 'MQTT-3.10.4-5', 'MQTT-3.11.2-1', 'MQTT-3.11.2-2', 'MQTT-3.11.3-1',
  'MQTT-3.11.3-2', 'MQTT-3.14.0-1', 'MQTT-3.14.1-1', 'MQTT-3.14.2-1', 'MQTT-3.14.2-2',
  'MQTT-3.14.2-3', 'MQTT-3.14.2-4', 'MQTT-3.14.4-1', 'MQTT-3.15.1-1', 'MQTT-3.15.2-1', 'MQTT-3.15.2-2',
  'MQTT-3.15.2-3', 'MQTT-4.3.3-4', 'MQTT-4.3.3-6', 'MQTT-4.3.3-11', 'MQTT-4.4.0-1', 'MQTT-4.6.0-2',
  'MQTT-4.6.0-3', 'MQTT-4.6.0-4', 'MQTT-4.7.0-1', 'MQTT-4.7.1-1', 'MQTT-4.7.1-2', 'MQTT-4.7.2-1', 'MQTT-4.7.3-1',
  'MQTT-4.7.3-2', 'MQTT-4.8.2-1', 'MQTT-4.8.2-2', 'MQTT-4.12.0-2', 'MQTT-4.12.0-3', 'MQTT-4.12.0-5',
  'MQTT-4.12.0-6', 'MQTT-4.12.0-7', 'MQTT-4.12.1-1', 'MQTT-4.13.1-1', 'MQTT-6.0.0-1', 'MQTT-6.0.0-3', 'MQTT-6.0.0-4',
];

const ACROSS_50 = ['MQTT-3.1.4-3', 'MQTT-3.2.2-3', 'MQTT-3.3.1-12', 'MQTT-3.3.4-2', 'MQTT-4.6.0-1', 'MQTT-3.8.3-3', 'MQTT-3.10.4-2',
  'MQTT-3.1.2-8', 'MQTT-3.1.3-9', 'MQTT-3.14.4-3', // the Will (src/sessions/will.ts)
  'MQTT-3.3.1-10', 'MQTT-3.3.1-11', 'MQTT-3.3.2-5', 'MQTT-3.3.2-6', 'MQTT-3.3.4-4', 'MQTT-3.3.4-5', 'MQTT-4.5.0-1'];

/** Our own rules (and unnumbered ones) the sessions stage checks. */
const ACROSS_REF = ['5.0:4.8:shared-one-session', 'ALL:3.1.4:clientid-shared'];

/** Keys of the rules the sessions stage checks (they are evaluated only when it runs). */
export const SESSIONS_STAGE_KEYS: ReadonlySet<string> = new Set([
  ...ACROSS_311.map((id) => `3.1.1|${id}`), ...ACROSS_50.map((id) => `5.0|${id}`), ...ACROSS_REF.map((id) => `ref|${id}`),
]);

const IMPLEMENTED_REF = [
  'ALL:2.2.3:rl-max-4-bytes', '3.1.1:2.2.3:rl-nonminimal', 'ALL:2.2.1:reserved-types', 'ALL:2.2.1:direction',
  '3.1.1:3.x:fixed-rl', 'ALL:parse:trailing-bytes', '3.1.1:3.2.2.1:connack-flags', '3.1.1:3.2.2.3:connack-rc-reserved',
  '3.1.1:3.1.2.2:level', '5.0:2.2.2.2:prop-not-allowed', '5.0:3.x:prop-duplicate', '5.0:3.1.2.11.3:recv-max-zero',
  '5.0:3.1.2.11.4:max-pkt-zero', '5.0:3.1.2.11.6-7:req-info-range', '5.0:3.2.2.3:connack-byte-props',
  '5.0:3.3.2.3.8:subid-zero', '5.0:3.1.2.11.10:authdata-without-method', '5.0:3.15.2.2.2:auth-needs-method',
  '5.0:3.8.3.1:sub-options-qos3', '5.0:3.3.2.1:empty-topic-no-alias', '5.0:3.14.2.2.2:sei-after-zero',
  '5.0:3.2.2.3.11-13:unsupported-sub-features', '5.0:3.3.2.3.2:pfi-utf8', '5.0:3.1.3.2:will-props',
  'ALL:1.5.3/1.5.4:disallowed-cp', '3.1:3.1-compat:missing-user-pass',
  // own
  '3.1.1:3.2.0:second-connack', 'ALL:3.13:unsolicited-pingresp', '3.1:3.1.3:clientid-length', 'ALL:3.1.2.2:bridge-bit',
  '5.0:1.5.5:vbi-max-4-bytes', '5.0:2.4:reason-table-conflict', 'ALL:decoder:problem',
  '5.0:3.15.2.1:short-auth-no-method', '3.1:2.2.2:reserved-flags', '3.1:1.5.3:ill-formed-utf8', 'ALL:3.3.4:publish-unanswered', 'ALL:4.3.3:pubrel-missing', 'ALL:4.3.3:pubcomp-missing', 'ALL:3.8.4:suback-missing',
  'ALL:3.10.4:unsuback-missing', 'ALL:3.12.4:pingresp-missing', '5.0:3.3.2.3.9:content-type-json',
];

/**
 * 3.1.1 statements that are NOT applied to 3.1 connections (everything else implemented is, by analogy): 3.1 had no
 * such rule, or our 3.1 sources disagree.
 */
const NOT_FOR_31 = new Set([
  'MQTT-3.1.2-3', // 3.1 left connect-flags bit 0 unused, not reserved
  'MQTT-3.1.2-19', 'MQTT-3.1.2-20', 'MQTT-3.1.2-21', // 3.1: the Remaining Length wins over the flags (3.1:3.1-compat:missing-user-pass)
  'MQTT-3.1.2-22', // uncertain for 3.1 (summary §13)
  'MQTT-3.1.3-7', 'MQTT-3.1.3-8', // 3.1 forbids an empty ClientId outright (3.1:3.1.3:clientid-length)
  'MQTT-3.2.2-1', 'MQTT-3.2.2-2', 'MQTT-3.2.2-3', 'MQTT-3.2.2-4', // 3.1 has no Session Present flag
]);

/** Heuristic rows the analyzer reports at warning level, and other severity decisions. */
const SEVERITY: Record<string, Severity> = {
  '3.1.1|MQTT-2.2.2-2': 'warning', // the receiver may have sent packets before it read the bad one
  '3.1.1|MQTT-4.8.0-1': 'warning',
  // A message that never reached a matching subscriber: the broker's access control (unseen) may have kept it back.
  '3.1.1|MQTT-4.5.0-1': 'warning', '5.0|MQTT-4.5.0-1': 'warning',
  '5.0|MQTT-4.13.1-1': 'warning',
  '3.1.1|MQTT-3.1.2-6': 'warning', // capture gaps and ack races look the same
  '5.0|MQTT-3.1.2-4': 'warning',
  '3.1.1|MQTT-3.3.1-3': 'warning',
  '5.0|MQTT-3.3.1-3': 'warning',
  '5.0|MQTT-3.3.1-7': 'warning',
  '5.0|MQTT-3.2.2-9': 'warning',
  '5.0|MQTT-3.11.3-1': 'error', // the count is exact; only the order would be heuristic
  'ref|3.1.1:2.2.3:rl-nonminimal': 'warning',
  'ref|ALL:1.5.3/1.5.4:disallowed-cp': 'warning',
  'ref|3.1:3.1-compat:missing-user-pass': 'warning',
  'ref|ALL:3.1.2.10:keepalive-zero': 'note',
  'ref|ALL:3.1.4:no-connect-timeout': 'warning',
  // A broker may refuse to publish a Will it is not authorized to, and a subscriber's delivery may sit in its queue.
  '3.1.1|MQTT-3.1.2-8': 'warning',
  '5.0|MQTT-3.1.2-8': 'warning',
};

/** The condition is checked, but reported under another id (one finding per defect). */
const COVERED = (by: string): string => `checked as ${by}: the same condition, reported once under that id`;
/** A statement checked only when the connection ends, under an incomplete-flow rule of its own (a warning). */
const AT_CLOSE = (by: string): string => `checked at the close of the connection as ${by} (a warning: the capture cannot show why the connection ended before the answer)`;
const WEBSOCKET = 'MQTT over WebSocket is decoded, but this statement is not visible on the wire';
/** MQTT-6.0.0-2 asks something of receivers, which a capture cannot show; the analyzer itself does it. */
const WS_ALIGNMENT = 'a requirement on receivers, not visible in their traffic; the analyzer meets it itself: the MQTT stream is reassembled across WebSocket frames (a packet may span frames, a frame may hold several packets)';
const CLOSE_TIME = 'the close of a connection reaches the rules stage without a timestamp, so how soon it followed cannot be judged; packets sent after it are reported';

const WHY: Record<string, string> = {
  // 3.1.1
  '3.1.1|MQTT-2.3.1-3': `${COVERED('MQTT-2.3.1-2 / MQTT-2.3.1-4')} within a connection; keeping ids across a reconnect needs other connections`,
  '3.1.1|MQTT-2.3.1-7': COVERED('MQTT-3.8.4-2 (SUBACK) and MQTT-3.10.4-4 (UNSUBACK)'),
  '3.1.1|MQTT-3.1.2-11': COVERED('MQTT-3.1.2-13 (Will QoS) and MQTT-3.1.2-15 (Will Retain); extra fields show as MQTT-3.1.2-20 or ALL:parse:trailing-bytes'),
  '3.1.1|MQTT-3.1.2-18': 'a User Name sent without its flag cannot be told apart from other extra bytes; reported as MQTT-3.1.2-20 or ALL:parse:trailing-bytes',
  '3.1.1|MQTT-3.1.3-1': 'the decoder reads the payload in this order, so a wrong order shows as a missing field (MQTT-3.1.2-9/-19/-21), a UTF-8 or a trailing-bytes finding',
  '3.1.1|MQTT-3.1.2-10': COVERED('MQTT-3.14.4-3 (a Will published after the client\'s DISCONNECT) and MQTT-3.1.2-8 (a Will not published)'),
  '3.1.1|MQTT-3.1.3-9': COVERED('MQTT-3.2.2-5 (traffic after a refusing CONNACK)'),
  '3.1.1|MQTT-3.1.4-4': 'whether the server\'s own validation succeeded is not visible; an accepted malformed CONNECT is MQTT-3.1.4-1',
  '3.1.1|MQTT-3.1.4-5': 'the server\'s processing is not visible; server packets after a refusal are MQTT-3.2.2-5',
  '3.1.1|MQTT-3.3.5-2': COVERED('ALL:3.3.4:publish-unanswered (PUBLISH never acknowledged)'),
  '3.1.1|MQTT-3.8.4-1': AT_CLOSE('ALL:3.8.4:suback-missing'),
  '3.1.1|MQTT-3.12.4-1': AT_CLOSE('ALL:3.12.4:pingresp-missing'),
  '3.1.1|MQTT-4.5.0-2': AT_CLOSE('ALL:3.3.4:publish-unanswered'),
  '3.1.1|MQTT-3.8.4-4': 'a second SUBACK for one SUBSCRIBE has no request in flight and is reported as MQTT-3.8.4-2',
  '3.1.1|MQTT-3.10.4-3': 'whether a delivery had started before the UNSUBSCRIBE is broker-internal',
  '3.1.1|MQTT-3.10.4-5': COVERED('ALL:3.10.4:unsuback-missing (UNSUBSCRIBE never answered)'),
  '3.1.1|MQTT-3.10.4-6': 'a second UNSUBACK has no request in flight and is reported as MQTT-3.10.4-4',
  '3.1.1|MQTT-3.14.4-1': CLOSE_TIME,
  '3.1.1|MQTT-4.3.1-1': COVERED('MQTT-3.3.1-2'),
  '3.1.1|MQTT-4.3.2-1': COVERED('MQTT-2.3.1-2 / MQTT-2.3.1-4 (id reuse)'),
  '3.1.1|MQTT-4.3.2-2': COVERED('MQTT-2.3.1-6 (PUBACK with no PUBLISH in flight) and ALL:3.3.4:publish-unanswered'),
  '3.1.1|MQTT-4.7.3-3': 'cannot be broken on the wire: the 2-byte length prefix limits every string to 65,535 bytes',
  '3.1.1|MQTT-6.0.0-2': WS_ALIGNMENT,
  // 5.0
  '5.0|MQTT-6.0.0-2': WS_ALIGNMENT,
  '5.0|MQTT-2.2.1-6': COVERED('MQTT-3.8.4-2 (SUBACK) and MQTT-3.10.4-5 (UNSUBACK)'),
  '5.0|MQTT-3.1.2-2': COVERED('MQTT-3.2.2-7 (close after a refusing CONNACK); sending CONNACK 0x84 is optional'),
  '5.0|MQTT-3.1.2-16': 'a User Name sent without its flag cannot be told apart from other extra bytes; reported as MQTT-3.1.2-18 or ALL:parse:trailing-bytes',
  '5.0|MQTT-3.1.2-21': COVERED('MQTT-3.2.2-21 (client silent longer than the Server Keep Alive)'),
  '5.0|MQTT-3.1.2-10': COVERED('MQTT-3.14.4-3 (a Will published after DISCONNECT 0x00) and MQTT-3.1.2-8 (a Will not published)'),
  '5.0|MQTT-3.1.3-1': 'the decoder reads the payload in this order, so a wrong order shows as a missing field (MQTT-3.1.2-9/-17/-19), a UTF-8 or a trailing-bytes finding',
  '5.0|MQTT-3.1.3-6': `${COVERED('MQTT-3.2.2-16')}; uniqueness needs the other connections to the server`,
  '5.0|MQTT-3.1.3-7': COVERED('MQTT-3.2.2-16'),
  '5.0|MQTT-3.1.3-8': COVERED('MQTT-3.2.2-7 (close after a refusing CONNACK)'),
  '5.0|MQTT-3.1.4-2': 'the server\'s authentication and authorization checks are internal; the close after a refusal is MQTT-3.2.2-7',
  '5.0|MQTT-3.1.4-5': 'whether the server\'s own validation succeeded is not visible; an accepted malformed CONNECT is MQTT-3.1.4-1',
  '5.0|MQTT-3.1.4-6': 'the server\'s processing is not visible; server packets after a refusal are MQTT-3.2.2-7',
  '5.0|MQTT-3.2.2-5': 'whether the client held session state is not visible',
  '5.0|MQTT-3.2.2-10': 'a SUBACK has no "QoS not supported" code, so the cause of a refused subscription is not visible',
  '5.0|MQTT-3.2.2-22': COVERED('MQTT-3.1.2-22 (checked against the Keep Alive in force)'),
  '5.0|MQTT-3.3.2-7': 'aliases are resolved per connection; an alias used before being set on this connection is reported as 5.0:3.3.2.1:empty-topic-no-alias',
  '5.0|MQTT-3.3.2-9': COVERED('MQTT-3.2.2-17'),
  '5.0|MQTT-3.3.2-10': 'whether the client accepts an alias is internal (a DISCONNECT 0x94 would only hint at it)',
  '5.0|MQTT-3.3.2-11': COVERED('MQTT-3.1.2-26'),
  '5.0|MQTT-3.3.2-12': 'whether the server accepts an alias is internal (a DISCONNECT 0x94 would only hint at it)',
  '5.0|MQTT-3.8.4-5': 'a second SUBACK for one SUBSCRIBE has no request in flight and is reported as MQTT-3.8.4-2',
  '5.0|MQTT-3.8.4-7': COVERED('MQTT-3.9.3-2 (SUBACK codes from the table) and MQTT-3.9.3-1'),
  '5.0|MQTT-3.10.4-1': 'the server\'s subscription store is internal',
  '5.0|MQTT-3.10.4-3': 'whether a delivery had started before the UNSUBSCRIBE is broker-internal',
  '5.0|MQTT-3.10.4-6': 'a second UNSUBACK has no request in flight and is reported as MQTT-3.10.4-5',
  '5.0|MQTT-3.14.4-2': CLOSE_TIME,
  '5.0|MQTT-4.1.0-2': 'needs a later connection of the same ClientId and the expiry time (cross-connection)',
  '5.0|MQTT-4.3.1-1': COVERED('MQTT-3.3.1-2'),
  '5.0|MQTT-4.3.2-1': COVERED('MQTT-2.2.1-3 / MQTT-2.2.1-4 (id reuse)'),
  '5.0|MQTT-4.3.2-2': 'whether a PUBLISH is a first send is not visible; resends within a connection are MQTT-4.4.0-1',
  '5.0|MQTT-3.8.4-1': AT_CLOSE('ALL:3.8.4:suback-missing'),
  '5.0|MQTT-3.10.4-4': AT_CLOSE('ALL:3.10.4:unsuback-missing'),
  '5.0|MQTT-3.12.4-1': AT_CLOSE('ALL:3.12.4:pingresp-missing'),
  '5.0|MQTT-4.5.0-2': AT_CLOSE('ALL:3.3.4:publish-unanswered'),
  '5.0|MQTT-4.3.2-4': COVERED('MQTT-2.2.1-5 (ack with no PUBLISH in flight), MQTT-3.3.4-1 and ALL:3.3.4:publish-unanswered'),
  '5.0|MQTT-4.3.3-1': COVERED('MQTT-2.2.1-3 / MQTT-2.2.1-4 (id reuse)'),
  '5.0|MQTT-4.3.3-2': 'whether a PUBLISH is a first send is not visible; resends within a connection are MQTT-4.4.0-1',
  '5.0|MQTT-4.3.3-8': COVERED('MQTT-2.2.1-5 (ack with no PUBLISH in flight), MQTT-3.3.4-1 and ALL:3.3.4:publish-unanswered'),
  '5.0|MQTT-4.3.3-10': 'a duplicate PUBLISH within a connection is already MQTT-4.4.0-1; duplicate onward delivery needs other connections',
  '5.0|MQTT-4.3.3-13': COVERED('ALL:4.3.3:pubrel-missing / ALL:4.3.3:pubcomp-missing (QoS 2 flow never completed)'),
  '5.0|MQTT-4.4.0-2': 'a retransmission after a refusal looks the same as a new message reusing the freed id',
  '5.0|MQTT-4.7.3-3': 'cannot be broken on the wire: the 2-byte length prefix limits every string to 65,535 bytes',
  '5.0|MQTT-4.8.2-3': COVERED('MQTT-3.8.4-8 (shared filters are tracked like the others)'),
  '5.0|MQTT-4.8.2-4': 'needs the shared subscriber\'s next connection (cross-connection)',
  '5.0|MQTT-4.9.0-1': 'the initial send quota is internal; exceeding the Receive Maximum is MQTT-3.3.4-7 / MQTT-3.3.4-9',
  '5.0|MQTT-4.9.0-2': COVERED('MQTT-3.3.4-7 / MQTT-3.3.4-9 (Receive Maximum exceeded)'),
  '5.0|MQTT-4.9.0-3': 'whether a peer keeps processing other packets is internal',
  '5.0|MQTT-4.12.0-1': COVERED('MQTT-3.2.2-7 (close after a refusing CONNACK)'),
  '5.0|MQTT-4.12.0-4': COVERED('MQTT-3.2.2-7 (close after a refusing CONNACK)'),
  '5.0|MQTT-4.12.1-2': 'whether re-authentication failed is internal; packets after a DISCONNECT are MQTT-3.14.4-1',
  '5.0|MQTT-4.13.2-1': COVERED('MQTT-3.2.2-7 and MQTT-3.14.4-1 (traffic after a refusing CONNACK or a DISCONNECT)'),
  // unnumbered
  'ref|3.1.1:3.8.3:subscribe-qos3': COVERED('MQTT-3.8.3-4'),
  'ref|5.0:3.15:auth-method-mismatch': COVERED('MQTT-4.12.0-5 / MQTT-4.12.0-6 / MQTT-4.12.0-7'),
  'ref|5.0:3.3.4:alias-range': COVERED('MQTT-3.3.2-8 (alias 0), MQTT-3.2.2-17/-18 and MQTT-3.1.2-26/-27 (above the maximum)'),
  'ref|5.0:3.2.2.3.4:qos-above-max': COVERED('MQTT-3.2.2-11'),
  'ref|5.0:3.4.2.1:short-acks': 'a decoding rule: a body that does not fit it is reported as ALL:parse:trailing-bytes',
  'ref|5.0:3.14.2.1:short-disconnect': 'a decoding rule: a body that does not fit it is reported as ALL:parse:trailing-bytes',
  'ref|5.0:3.15.2.1:short-auth': 'a decoding rule: a body that does not fit it is reported as ALL:parse:trailing-bytes',
  'ref|5.0:2.2.1:pid-space': COVERED('MQTT-2.2.1-3 / MQTT-2.2.1-4 (one in-flight id set per sender)'),
  'ref|ALL:3.1.2.10:keepalive-zero': 'informational, not a violation: the keep-alive checks are skipped when the Keep Alive in force is 0',
  'ref|ALL:3.1.4:no-connect-timeout': 'the spec gives no time limit ("reasonable time"), and connection closes carry no timestamp',
};

function defaultWhy(passive: Passive, area: string, crossConn: boolean): string | undefined {
  if (area === 'WEBSOCKET') return WEBSOCKET;
  if (area === 'CONFORMANCE' || area === 'TRANSPORT') return 'a property of an implementation as a whole, not of its traffic';
  if (passive === 'no') {
    return crossConn
      ? 'broker- or client-internal behaviour; at best hinted at by correlating other connections of the same broker (not done by the sessions stage yet)'
      : 'broker- or client-internal behaviour, not visible on the wire';
  }
  if (crossConn) return 'needs correlation with other connections (same ClientId or the publisher\'s connection) that the sessions stage does not make yet';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Build
// ---------------------------------------------------------------------------------------------

function parseVersions(s: string): SpecVersion[] {
  return s.split(',').map((v) => v.trim()).filter((v): v is SpecVersion => v === '3.1' || v === '3.1.1' || v === '5.0');
}

const IMPLEMENTED: ReadonlySet<string> = new Set([
  ...RFC6455_RULES.map(([id]) => `rfc6455|${id}`),
  ...[...IMPLEMENTED_311, ...ACROSS_311].map((id) => `3.1.1|${id}`),
  ...[...IMPLEMENTED_50, ...ACROSS_50].map((id) => `5.0|${id}`),
  ...[...IMPLEMENTED_REF, ...ACROSS_REF].map((id) => `ref|${id}`),
]);

function buildCatalogue(): RuleEntry[] {
  const out: RuleEntry[] = [];
  for (const [id, spec, versions, area, passive, heuristic, crossConn, paraphrase] of SPEC_ROWS) {
    const key = `${spec}|${id}`;
    const implemented = IMPLEMENTED.has(key);
    let vs = parseVersions(versions);
    if (spec === '3.1.1' && implemented && !NOT_FOR_31.has(id)) vs = ['3.1', '3.1.1'];
    const e: RuleEntry = {
      id, spec, versions: vs, area, passive, paraphrase, key, implemented,
      heuristic: heuristic === 1,
      severity: SEVERITY[key] ?? (heuristic === 1 ? 'warning' : 'error'),
    };
    if (!implemented) {
      const why = WHY[key] ?? defaultWhy(passive, area, crossConn === 1);
      if (why !== undefined) e.why = why;
    }
    out.push(e);
  }
  for (const [id, versions, area, severity, paraphrase] of OWN_RULES) {
    const key = `ref|${id}`;
    out.push({
      id, spec: 'ref', versions: parseVersions(versions), area, passive: 'own', severity, paraphrase, heuristic: false,
      implemented: IMPLEMENTED.has(key), key,
    });
  }
  for (const [id, section, severity, paraphrase] of RFC6455_RULES) {
    const key = `rfc6455|${id}`;
    out.push({
      id, spec: 'rfc6455', versions: ['3.1', '3.1.1', '5.0'], area: 'WEBSOCKET', passive: 'own', severity, paraphrase,
      heuristic: false, implemented: IMPLEMENTED.has(key), key, section,
    });
  }
  return out;
}

export const CATALOGUE: readonly RuleEntry[] = buildCatalogue();

const BY_KEY: ReadonlyMap<string, RuleEntry> = new Map(CATALOGUE.map((e) => [e.key, e]));

/** Keys of every entry the check modules looked up (tests compare it with the implemented set). */
export const REFERENCED: Set<string> = new Set();

/** The entry for (spec, id); throws at module load when a check cites an id the catalogue does not have. */
export function rule(spec: RuleSpec, id: string): RuleEntry {
  const e = BY_KEY.get(`${spec}|${id}`);
  if (!e) throw new Error(`rules: no catalogue entry ${spec} ${id}`);
  REFERENCED.add(e.key);
  return e;
}

/** A 3.1.1 statement and its 5.0 counterpart; index by `level === 5 ? 1 : 0`. */
export type RulePair = readonly [RuleEntry, RuleEntry];

export function pair(id311: string, id50: string): RulePair {
  return [rule('3.1.1', id311), rule('5.0', id50)];
}

export function pick(p: RulePair, level: ProtocolLevel): RuleEntry {
  return p[level === 5 ? 1 : 0];
}

const ANALOGY = ' [MQTT 3.1 connection: the 3.1.1 statement applied by analogy]';

/**
 * Builds a violation for `level`'s connection. Unnumbered/own refs carry the connection's version; numbered ids
 * carry the version they belong to.
 */
export function violation(
  r: RuleEntry, level: ProtocolLevel, message: string, offset?: number, length?: number, severity?: Severity,
): Violation {
  const v: Violation = {
    id: r.id,
    spec: r.spec === 'ref' ? VERSION_NAME[level] : r.spec === 'rfc6455' ? `RFC 6455 ${r.section ?? ''}`.trim() : r.spec,
    severity: severity ?? r.severity,
    message: r.spec === '3.1.1' && level === 3 ? message + ANALOGY : message,
  };
  if (offset !== undefined) {
    v.offset = offset;
    v.length = length ?? 1;
  }
  return v;
}

/** The catalogue for the `rules` command (text table or --json). */
export function ruleRows(): RuleRow[] {
  return CATALOGUE.map((e) => {
    const row: RuleRow = {
      id: e.id,
      spec: e.spec === 'ref' ? e.versions.join(',') : e.spec === 'rfc6455' ? `RFC 6455 ${e.section ?? ''}`.trim() : e.spec,
      severity: e.severity,
      paraphrase: e.paraphrase,
      implemented: e.implemented,
      versions: e.versions.join(','),
      area: e.area,
      passive: e.passive,
    };
    if (e.why !== undefined) row.why = e.why;
    return row;
  });
}

/** Implemented / total per document, for the summary line of `rules` and docs/rules.md. */
export function catalogueCounts(): Record<RuleSpec, { implemented: number; total: number }> {
  const c: Record<RuleSpec, { implemented: number; total: number }> = {
    '3.1.1': { implemented: 0, total: 0 }, '5.0': { implemented: 0, total: 0 }, ref: { implemented: 0, total: 0 },
    rfc6455: { implemented: 0, total: 0 },
  };
  for (const e of CATALOGUE) {
    c[e.spec].total++;
    if (e.implemented) c[e.spec].implemented++;
  }
  return c;
}
