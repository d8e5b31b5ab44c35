/**
 * The security audit's checks, declared once as data: `mqtt-dissect audit --list` prints them and docs/audit.md is
 * generated from them (test/audit-docs.test.ts keeps the file in step). Audit findings are observations about how a
 * deployment is used, not spec violations: none of them cites the conformance catalogue.
 *
 * Thresholds and caps are data too (AUDIT_LIMITS): the table's `how` texts quote them, so the docs say exactly what
 * the code does.
 */

export const AUDIT_SEVERITIES = ['high', 'medium', 'low', 'info'] as const;
export type AuditSeverity = (typeof AUDIT_SEVERITIES)[number];

/** Every threshold and bound of the audit stage. */
export const AUDIT_LIMITS = {
  /** Refused CONNACKs to one client address within `authBurstWindowSec` that make a burst. */
  authBurstCount: 5,
  authBurstWindowSec: 60,
  /** Distinct ClientIds using one user name and password before they count as shared. */
  sharedCredentialClients: 3,
  /** Keep Alive above this many seconds is reported (0 is reported too: keep-alive off). */
  keepAliveMaxSec: 3600,
  /** A CONNECT carried by at least this many TCP segments, or completed this long after the connection's first frame. */
  slowConnectSegments: 8,
  slowConnectSec: 10,
  /** Payload bytes scanned for secrets (the start of each PUBLISH payload). */
  secretScanBytes: 16 * 1024,
  /** A ClientId of only digits and at most this many of them counts as guessable. */
  numericClientIdMax: 6,
  /** Findings kept per check; past it the rest are counted and a note says how many. */
  findingsPerCheck: 1000,
  /** Client addresses with refusal counters. */
  addresses: 65_536,
  /** Distinct credentials (user name and password hash) tracked for sharing. */
  credentials: 16_384,
  /** ClientIds remembered per credential. */
  clientsPerCredential: 64,
  /** Topics remembered for de-duplication (retained, secrets) and ClientIds seen (guessable). */
  seen: 65_536,
  /**
   * Wildcard subscriptions kept for the "other clients' topics" check, and topics naming their publisher: compared
   * pairwise at the end, so at most 2048 x 2048 topic matches.
   */
  wildcardSubscriptions: 2048,
  publisherTopics: 2048,
} as const;

/** ClientId prefixes of client tools' and libraries' defaults (compared case-insensitively). */
export const DEFAULT_CLIENT_ID_PREFIXES: readonly string[] = [
  'mqttx_', 'paho', 'mqttjs_', 'mosq-', 'mosq/', 'mosqpub', 'mosqsub', 'mqtt_fx', 'mqtt-explorer', 'mqttexplorer',
  'hivemq-', 'clientid-', 'esp8266', 'esp32', 'arduino', 'test', 'client', 'python-mqtt', 'node-red',
];

/** Keys of a JSON payload whose values are secrets (compared case-insensitively, `_` and `-` ignored). */
export const SECRET_JSON_KEYS: readonly string[] = ['password', 'passwd', 'pwd', 'secret', 'clientsecret', 'token', 'accesstoken', 'refreshtoken', 'apikey', 'privatekey', 'authorization'];

export type AuditCheckId =
  | 'cleartext-credentials' | 'anonymous-accepted' | 'shared-credentials' | 'auth-failure-burst'
  | 'subscribe-all' | 'subscribe-sys' | 'subscribe-other-clients' | 'guessable-client-id' | 'old-protocol'
  | 'retained-message' | 'keep-alive' | 'secret-in-payload' | 'slow-connect';

export interface AuditCheck {
  id: AuditCheckId;
  title: string;
  severity: AuditSeverity;
  /** Why it matters. */
  why: string;
  /** How it is detected, thresholds included. */
  how: string;
}

const L = AUDIT_LIMITS;

export const AUDIT_CHECKS: readonly AuditCheck[] = [
  {
    id: 'cleartext-credentials', title: 'Credentials in clear text', severity: 'high',
    why: 'anyone on the path (Wi-Fi, a switch port, the ISP) reads the user name and password and can connect as that client',
    how: 'a CONNECT with a User Name or Password on a connection that is not carried by TLS (plain TCP or plain WebSocket); one finding per connection, values masked unless --show-secrets',
  },
  {
    id: 'anonymous-accepted', title: 'Anonymous connection accepted', severity: 'medium',
    why: 'the broker lets clients in without any credentials, so anyone who can reach the port can publish and subscribe',
    how: 'a CONNECT without a User Name answered by a CONNACK with return code / reason code 0 (success)',
  },
  {
    id: 'shared-credentials', title: 'Same credentials used by many clients', severity: 'medium',
    why: 'one leaked device exposes the whole fleet, and the broker cannot tell the devices apart for access control or revocation',
    how: `one user name with the same password (compared by hash, never stored) in the CONNECTs of at least ${L.sharedCredentialClients} distinct ClientIds`,
  },
  {
    id: 'auth-failure-burst', title: 'Burst of refused connections from one address', severity: 'high',
    why: 'many refused logins in a short time from one address look like password guessing (brute force) or a device stuck with bad credentials',
    how: `at least ${L.authBurstCount} CONNACKs refusing the connection (return code / reason code not 0) sent to one client IP address within ${L.authBurstWindowSec} s; one finding per address`,
  },
  {
    id: 'subscribe-all', title: 'Subscription to every topic (#)', severity: 'medium',
    why: 'the client receives every message of every other client (a broker allowing it has no per-topic access control)',
    how: 'a SUBSCRIBE with the Topic Filter "#" (also inside a shared subscription $share/GROUP/#)',
  },
  {
    id: 'subscribe-sys', title: 'Subscription to broker internals ($SYS)', severity: 'low',
    why: '$SYS topics disclose the broker version, client counts and load, which helps an attacker plan',
    how: 'a SUBSCRIBE with a Topic Filter starting with "$SYS/" or equal to "$SYS"',
  },
  {
    id: 'subscribe-other-clients', title: 'Wildcard subscription over other clients\' topics', severity: 'medium',
    why: 'a client reads what other devices publish under their own topic trees, which their data was not meant for',
    how: 'a Topic Filter with + or # (not "#" alone) matching a topic that another ClientId published to and that names that publisher\'s ClientId as one of its levels (e.g. devices/+/telemetry over devices/sensor-7/telemetry from sensor-7)',
  },
  {
    id: 'guessable-client-id', title: 'Empty or guessable ClientId', severity: 'low',
    why: 'a guessable ClientId can be taken over: a second client connecting with it disconnects the first (session takeover) and may receive its queued messages',
    how: `a CONNECT whose ClientId is empty, only digits with at most ${L.numericClientIdMax} of them, or starts (ignoring case) with a tool or library default: ${DEFAULT_CLIENT_ID_PREFIXES.join(', ')}; one finding per ClientId`,
  },
  {
    id: 'old-protocol', title: 'Old protocol version (MQTT 3.1)', severity: 'low',
    why: 'MQTT 3.1 (MQIsdp) predates the OASIS standard: no well-formed UTF-8 requirement, 23-character ClientIds, weaker error handling; clients and brokers still speaking it are usually unmaintained',
    how: 'a CONNECT with protocol level 3 (protocol name MQIsdp)',
  },
  {
    id: 'retained-message', title: 'Retained message', severity: 'info',
    why: 'a retained message stays on the broker and is handed to anyone who subscribes later, long after it was sent',
    how: 'a client\'s PUBLISH with RETAIN 1 and a non-empty payload; one finding per topic',
  },
  {
    id: 'keep-alive', title: 'Keep Alive off or very long', severity: 'low',
    why: 'the broker notices a dead or hijacked client only after 1.5 x the Keep Alive (never with 0), so its session, Will and subscriptions linger',
    how: `a CONNECT with Keep Alive 0 or above ${L.keepAliveMaxSec} s (a 5.0 Server Keep Alive in CONNACK overrides it)`,
  },
  {
    id: 'secret-in-payload', title: 'Payload that looks like a secret', severity: 'high',
    why: 'keys and tokens published over MQTT reach every subscriber of the topic (and the retained store); on plain TCP also anyone on the path',
    how: `the first ${L.secretScanBytes / 1024} KiB of each PUBLISH payload hold a PEM private key ("-----BEGIN ... PRIVATE KEY-----"), a JSON Web Token (three base64url parts, the first decoding to a JSON header with "alg"), or a JSON key named ${SECRET_JSON_KEYS.join(', ')} with a non-empty string value; one finding per topic and kind`,
  },
  {
    id: 'slow-connect', title: 'Slow CONNECT', severity: 'low',
    why: 'a CONNECT trickled in byte by byte or over a long time ties up a broker connection slot (a slowloris-style pattern), or shows a very poor link',
    how: `a CONNECT carried by at least ${L.slowConnectSegments} TCP segments, or completed more than ${L.slowConnectSec} s after the connection's first frame`,
  },
];

export const AUDIT_CHECK: Readonly<Record<AuditCheckId, AuditCheck>> = Object.fromEntries(AUDIT_CHECKS.map((c) => [c.id, c])) as Record<AuditCheckId, AuditCheck>; // built from the table, which has one row per id (test/audit.test.ts)
