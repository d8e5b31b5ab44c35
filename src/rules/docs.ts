/**
 * docs/rules.md and docs/rules-sparkplug.md, generated from the catalogues (test/rules-docs.test.ts keeps the files in
 * step with them; `UPDATE_RULES_DOC=1 npx vitest run test/rules-docs` rewrites both).
 */
import { CATALOGUE, catalogueCounts, type RuleEntry, type RuleSpec } from './catalogue.js';
import { SPARKPLUG_OWN_RULES, SPARKPLUG_RULES, SPARKPLUG_SOURCE, sparkplugCounts, type SparkplugRule } from './catalogue-sparkplug.js';
import { TLS_RULES } from './catalogue-tls.js';
import { INCOMPLETE_GRACE_SEC } from './session.js';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(entries: readonly RuleEntry[]): string[] {
  const lines = ['| id | versions | severity | checked | statement (our paraphrase) |', '|---|---|---|---|---|'];
  for (const e of entries) {
    const status = e.implemented ? 'yes' : `no: ${e.why ?? ''}`;
    lines.push(`| \`${e.id}\` | ${e.versions.join(', ')} | ${e.severity} | ${cell(status)} | ${cell(e.paraphrase)} |`);
  }
  return lines;
}

const TITLE: Record<RuleSpec, string> = {
  '3.1.1': 'MQTT 3.1.1 numbered statements',
  '5.0': 'MQTT 5.0 numbered statements',
  ref: 'Unnumbered rules and our own',
  rfc6455: 'RFC 6455 (WebSocket) requirements',
};

export function rulesMarkdown(): string {
  const c = catalogueCounts();
  const out: string[] = [
    '# Conformance rules',
    '',
    '<!-- Generated from src/rules/catalogue.ts by src/rules/docs.ts; do not edit by hand. -->',
    '',
    'Every finding the analyzer reports cites one entry of this catalogue. `mqtt-dissect rules` prints the same list',
    '(`--json` for machines). The Sparkplug 3.0 statements are in [rules-sparkplug.md](rules-sparkplug.md)',
    '(`mqtt-dissect rules --spec sparkplug`).',
    '',
    '| document | checked | total |',
    '|---|---|---|',
    `| MQTT 3.1.1 numbered statements | ${c['3.1.1'].implemented} | ${c['3.1.1'].total} |`,
    `| MQTT 5.0 numbered statements | ${c['5.0'].implemented} | ${c['5.0'].total} |`,
    `| unnumbered rules and our own | ${c.ref.implemented} | ${c.ref.total} |`,
    `| RFC 6455 (MQTT over WebSocket) | ${c.rfc6455.implemented} | ${c.rfc6455.total} |`,
    '',
    '## Ids and versions',
    '',
    '* Numbered statements keep the specification\'s id (`MQTT-3.1.2-3`). MQTT 3.1.1 and 5.0 reuse the same numbers for',
    '  different statements, so every violation carries `spec`: the document its id belongs to.',
    '* Rules without a number use a stable reference `versions:section:slug` (for example `ALL:2.2.1:direction`); their',
    '  violations carry the version of the connection as `spec`.',
    '* MQTT 3.1 (MQIsdp, protocol level 3) has no numbered statements. Where 3.1 has the same rule as 3.1.1, a finding',
    '  on a 3.1 connection cites the 3.1.1 statement (`spec` "3.1.1") and its message says the rule is applied by',
    '  analogy; the "versions" column lists 3.1 for those. Where 3.1 differs (connect flags bit 0 unused, the Remaining',
    '  Length winning over the User Name / Password flags, an empty ClientId never allowed, no Session Present flag),',
    '  the 3.1.1 statement is not applied and 3.1 rules of their own apply instead. Decoder defects that 3.1 tolerates',
    '  (reserved flags, ill-formed UTF-8) are reported at warning level.',
    '* On MQTT over WebSocket, RFC 6455 framing and handshake errors cite the RFC (`RFC6455:5.1:unmasked-client-frame`,',
    '  `spec` "RFC 6455 5.1"), each reported once per direction on a `websocket-error` or `websocket-control` event.',
    '  MQTT-6.0.0-3/-4 (the subprotocol "mqtt" offered and selected) are attached to the first MQTT packet of the client',
    '  and of the server, when the protocol version is known: 3.1.1 or 5.0 by the CONNECT (an MQTT 3.1 client may offer',
    '  "mqttv3.1" instead).',
    '',
    '## Severities',
    '',
    '* **error**: a MUST is broken (Malformed Packet, Protocol Error, numbered requirement).',
    '* **warning**: a SHOULD, a heuristic that can give false positives, or something the capture cannot settle',
    '  (a flow still open when the connection ended, a peer that keeps talking after receiving a malformed packet).',
    '* **note**: informational.',
    '',
    '## How the session checks decide',
    '',
    '* Packet identifiers are tracked per sender (PUBLISH, SUBSCRIBE and UNSUBSCRIBE share one space). An',
    '  acknowledgement for an identifier with nothing in flight is reported only when the analyzer knows the whole',
    '  state: the TCP handshake and the CONNECT were captured and the session started empty (Clean Session / Clean',
    '  Start, or Session Present 0). A connection picked up mid-stream gets no "first packet must be CONNECT" finding and',
    '  no unknown-identifier findings.',
    '* Keep Alive: the client\'s silence is measured between its packets using capture timestamps. A gap longer than',
    '  Keep Alive plus a tolerance of max(2 s, 10 % of Keep Alive) is a client finding; a silence longer than',
    '  1.5 x Keep Alive plus the same tolerance while the connection visibly stayed open (a later packet in either',
    '  direction) is a server finding. The silence before a real close (FIN, RST) counts too: measured to the close,',
    '  it gives the same client and server findings, on the connection\'s `close` record (not for a connection still',
    '  open at the end of the capture). In MQTT 5.0 a Server Keep Alive in CONNACK replaces the client\'s value; 0',
    '  turns the checks off.',
    '* MQTT 5.0 limits come from CONNECT (limits on the server) and CONNACK (limits on the client): Maximum Packet',
    '  Size, Receive Maximum (unacknowledged QoS 1/2 PUBLISH packets), Maximum QoS, Retain Available, Wildcard /',
    '  Subscription Identifier / Shared Subscription Available and Topic Alias Maximum. Topic aliases are resolved per',
    '  connection and direction; a PUBLISH that uses an alias gets `fields.resolvedTopic`.',
    '* Subscriptions made on a session that started empty are tracked, so a server PUBLISH can be checked against',
    '  them (a matching filter exists, QoS not above the granted one, \'$\' topics, Subscription Identifiers).',
    `* When a connection ends, exchanges still open (PUBLISH without its acknowledgement, PUBREL without PUBCOMP,`,
    `  SUBSCRIBE/UNSUBSCRIBE without answer, PINGREQ without PINGRESP) are reported as an \`incomplete-flow\` event per`,
    `  side that owed the next packet. Their rules are warnings of their own (\`ALL:3.3.4:publish-unanswered\`,`,
    `  \`ALL:4.3.3:pubrel-missing\`, \`ALL:4.3.3:pubcomp-missing\`, \`ALL:3.8.4:suback-missing\`, \`ALL:3.10.4:unsuback-missing\`,`,
    `  \`ALL:3.12.4:pingresp-missing\`), apart from the statements they come from: the capture cannot show why a`,
    `  connection ended before the answer, and every finding has the one severity its catalogue entry lists. After a`,
    `  FIN or RST every open exchange counts; on`,
    `  a connection still open at the end of the capture, requests younger than ${INCOMPLETE_GRACE_SEC} s at that end are`,
    '  left out (the answer may be past the end of the capture). Nothing is reported',
    '  after a refused CONNACK or a DISCONNECT with a reason code of 0x80 or more, nor against a side that sent no',
    '  packet at all (a one-way capture).',
    '* Per-connection state is released when the connection closes; identifier maps hold at most 65,536 entries per',
    '  side, subscriptions and alias topics have caps after which the checks that need them stop for that connection.',
    '',
  ];
  for (const spec of ['3.1.1', '5.0', 'ref', 'rfc6455'] as const) {
    out.push(`## ${TITLE[spec]}`, '');
    out.push(...table(CATALOGUE.filter((e) => e.spec === spec)));
    out.push('');
  }
  out.push('## TLS findings', '');
  out.push('Findings about the TLS that carries MQTT (port 8883, `--tls-port`, a ClientHello under `--auto`): reported on the');
  out.push('connection\'s `tls` event with `spec` "TLS", read from the handshake without keys (src/rules/catalogue-tls.ts).', '');
  out.push('| id | severity | reference | finding |', '|---|---|---|---|');
  for (const r of TLS_RULES) out.push(`| \`${r.id}\` | ${r.severity} | ${cell(r.reference)} | ${cell(r.paraphrase)} |`);
  out.push('');
  return out.join('\n');
}

/** The chapters of Sparkplug 3.0.0 that hold tck-ids, by number. */
const SPARKPLUG_CHAPTERS: Readonly<Record<string, string>> = {
  '1': 'Introduction', '2': 'Principles', '3': 'Sparkplug Architecture and Infrastructure Components',
  '4': 'Topics and Messages', '5': 'Operational Behavior', '6': 'Payloads', '10': 'Conformance',
};

function sparkplugTable(rules: readonly SparkplugRule[]): string[] {
  const lines = ['| id | section | area | severity | in a capture | checked | statement (our paraphrase) |', '|---|---|---|---|---|---|---|'];
  for (const r of rules) {
    const status = r.implemented ? (r.reportedAs !== undefined ? `yes, reported as \`${r.reportedAs}\`` : 'yes') : `no: ${r.why ?? ''}`;
    const seen = r.observable === 'capture' ? 'yes' : 'no';
    lines.push(`| \`${r.id}\` | ${r.section} ${cell(r.heading)} | ${r.area} | ${r.severity} | ${seen} | ${cell(status)} | ${cell(r.paraphrase)} |`);
  }
  return lines;
}

export function sparkplugRulesMarkdown(): string {
  const c = sparkplugCounts();
  const out: string[] = [
    '# Sparkplug 3.0 conformance rules',
    '',
    '<!-- Generated from src/rules/catalogue-sparkplug.ts by src/rules/docs.ts; do not edit by hand. -->',
    '',
    'One row per normative statement of the Eclipse Sparkplug 3.0.0 specification that carries a TCK id',
    `(\`[tck-testable tck-id-…]\`), read from ${SPARKPLUG_SOURCE.repository} at tag ${SPARKPLUG_SOURCE.tag}`,
    `(commit ${SPARKPLUG_SOURCE.commit}), ${SPARKPLUG_SOURCE.path}. \`mqtt-dissect rules --spec sparkplug\` prints`,
    'the same list (`--json` for machines). The MQTT rules are in [rules.md](rules.md).',
    '',
    '| statements | observable in a capture | not observable | checked |',
    '|---|---|---|---|',
    `| ${c.total} | ${c.capture} | ${c.total - c.capture} | ${c.implemented} |`,
    '',
    '## Ids, sections and severities',
    '',
    '* Ids are the spec\'s anchor ids, the ones the Sparkplug TCK reports, spelled exactly as the spec does (a few have',
    '  upper case, e.g. `tck-id-payloads-timestamp-in-UTC`). Four statements print another label after their anchor; the',
    '  label is not an id. One MUST (5.3: metrics go STALE when a Host Application loses its MQTT Server) is tagged',
    '  not testable and has no id, so no row.',
    '* A finding cites `spec` "Sparkplug 3.0 <section>" (for example "Sparkplug 3.0 4.2.1"), as RFC 6455 findings cite',
    '  "RFC 6455 5.1". The section is the number the rendered specification shows (three levels); the headings below',
    '  it follow in the section column.',
    '* **error**: a MUST or MUST NOT. **warning**: a SHOULD, SHOULD NOT or MAY, or a statement a capture can only',
    '  suggest broken (a heuristic: uniqueness across the whole infrastructure, UTC against the capture clock).',
    '* "In a capture": whether the MQTT traffic between the clients and the MQTT Server can show the statement broken.',
    '  Statements about what a Host Application shows its user, timers and settings inside a client, the link between',
    '  an Edge Node and its Devices, or what an MQTT Server supports as a whole cannot; their row says why.',
    '',
  ];
  const chapters = [...new Set(SPARKPLUG_RULES.map((r) => r.section.split('.')[0] ?? ''))];
  for (const ch of chapters) {
    out.push(`## ${ch} ${SPARKPLUG_CHAPTERS[ch] ?? ''}`.trimEnd(), '');
    out.push(...sparkplugTable(SPARKPLUG_RULES.filter((r) => r.section.split('.')[0] === ch)));
    out.push('');
  }
  out.push('## Our own findings', '', 'What a capture shows wrong that no tck-id names word for word (docs/sparkplug.md); the section is what they rest on.', '');
  out.push(...sparkplugTable(SPARKPLUG_OWN_RULES), '');
  return out.join('\n');
}
