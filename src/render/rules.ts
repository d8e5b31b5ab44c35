/** `mqtt-dissect rules`: the conformance catalogue as lines or NDJSON. */
import type { ChalkInstance } from 'chalk';
import { catalogueCounts, type RuleRow } from '../rules/catalogue.js';

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
