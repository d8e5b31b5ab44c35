/** `mqtt-dissect rules`: the conformance catalogue (MQTT, or with --spec sparkplug Sparkplug 3.0) as lines or NDJSON. */
import type { ChalkInstance } from 'chalk';
import { catalogueCounts, type RuleRow } from '../rules/catalogue.js';
import { SPARKPLUG_SOURCE, sparkplugCounts, type SparkplugRuleRow } from '../rules/catalogue-sparkplug.js';

export function rulesJson(rows: RuleRow[]): string[] {
  return rows.map((r) => JSON.stringify({ kind: 'rule', ...r }));
}

export function rulesText(rows: RuleRow[], chalk: ChalkInstance): string[] {
  const idWidth = Math.max(...rows.map((r) => r.id.length), 2);
  const specWidth = Math.max(...rows.map((r) => r.spec.length), 4);
  const out = rows.map((r) => {
    const sev = r.severity === 'error' ? chalk.red(r.severity.padEnd(7)) : r.severity === 'warning' ? chalk.yellow(r.severity.padEnd(7)) : chalk.cyan(r.severity.padEnd(7));
    const status = r.implemented ? chalk.green('checked') : chalk.dim('not    ');
    const why = r.implemented ? '' : chalk.dim(` — not checked: ${r.why ?? 'no reason recorded'}`);
    return `${r.id.padEnd(idWidth)}  ${r.spec.padEnd(specWidth)}  ${sev}  ${status}  ${r.paraphrase}${why}`;
  });
  const c = catalogueCounts();
  out.push('', `checked: MQTT 3.1.1 ${c['3.1.1'].implemented}/${c['3.1.1'].total} statements, MQTT 5.0 ${c['5.0'].implemented}/${c['5.0'].total}, unnumbered and own rules ${c.ref.implemented}/${c.ref.total}, RFC 6455 ${c.rfc6455.implemented}/${c.rfc6455.total}`);
  return out;
}

/** `mqtt-dissect rules --spec sparkplug --json`: one `rule` record per Sparkplug 3.0 statement. */
export function sparkplugRulesJson(rows: SparkplugRuleRow[]): string[] {
  return rows.map((r) => JSON.stringify({ kind: 'rule', ...r }));
}

/** `mqtt-dissect rules --spec sparkplug`: id, section, severity, checked or not, paraphrase and why not. */
export function sparkplugRulesText(rows: SparkplugRuleRow[], chalk: ChalkInstance): string[] {
  const idWidth = Math.max(...rows.map((r) => r.id.length), 2);
  const sectionWidth = Math.max(...rows.map((r) => r.section.length), 7);
  const out = rows.map((r) => {
    const sev = r.severity === 'error' ? chalk.red(r.severity.padEnd(7)) : chalk.yellow(r.severity.padEnd(7));
    const status = r.implemented ? chalk.green('checked') : chalk.dim('not    ');
    const reason = r.why ?? 'no reason recorded';
    const why = r.implemented ? (r.reportedAs !== undefined ? chalk.dim(` — reported as ${r.reportedAs}`) : '') : chalk.dim(reason.startsWith('not yet checked') ? ` — ${reason}` : ` — not checked: ${reason}`);
    return `${r.id.padEnd(idWidth)}  ${r.section.padEnd(sectionWidth)}  ${sev}  ${status}  ${r.paraphrase}${why}`;
  });
  const c = sparkplugCounts();
  out.push('', `checked: Sparkplug 3.0 ${c.implemented}/${c.total} statements (${c.capture} observable in a capture); spec ${SPARKPLUG_SOURCE.repository} ${SPARKPLUG_SOURCE.tag}`);
  return out;
}
