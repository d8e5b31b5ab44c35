/** `mqtt-dissect audit`: findings as text blocks or NDJSON, and `audit --list` (the check table). */
import type { ChalkInstance } from 'chalk';
import { AUDIT_CHECK, AUDIT_CHECKS, AUDIT_SEVERITIES, type AuditSeverity } from '../audit/checks.js';
import type { AuditFinding, AuditLimit } from '../audit/stage.js';
import { escapeText } from './escape.js';
import { terminalSafeJson } from './json.js';

export interface AuditTotals {
  connections: number;
  packets: number;
  /** TLS connections not decrypted (their MQTT is not audited). */
  undecrypted: number;
}

function paint(chalk: ChalkInstance, s: AuditSeverity, text: string): string {
  switch (s) {
    case 'high': return chalk.red(text);
    case 'medium': return chalk.yellow(text);
    case 'low': return chalk.cyan(text);
    case 'info': return chalk.dim(text);
  }
}

function counts(findings: readonly AuditFinding[]): Record<AuditSeverity, number> {
  const c: Record<AuditSeverity, number> = { high: 0, medium: 0, low: 0, info: 0 };
  for (const f of findings) c[f.severity]++;
  return c;
}

export function auditText(findings: readonly AuditFinding[], limits: readonly AuditLimit[], totals: AuditTotals, chalk: ChalkInstance): string[] {
  const out: string[] = [];
  for (const f of findings) {
    const where = f.conn === null ? (f.src !== null ? escapeText(f.src) : '') : `conn ${f.conn} ${escapeText(f.src ?? '')} -> ${escapeText(f.dst ?? '')}`;
    out.push(`${paint(chalk, f.severity, f.severity.padEnd(6))}  ${chalk.bold(f.check)}  frame ${f.frame}  ${where}`.trimEnd());
    out.push(`        saw: ${escapeText(f.message)}`);
    out.push(`        why: ${AUDIT_CHECK[f.check].why}`);
  }
  for (const l of limits) out.push(chalk.yellow(`audit: ${escapeText(l.table)} reached its bound of ${l.bound}; ${l.dropped} more not tracked`));
  const c = counts(findings);
  if (out.length > 0) out.push('');
  out.push(`audit: ${findings.length} finding${findings.length === 1 ? '' : 's'} (${AUDIT_SEVERITIES.map((s) => `${c[s]} ${s}`).join(', ')}) in ${totals.connections} MQTT connection${totals.connections === 1 ? '' : 's'}; observations, not spec violations (those are mqtt-dissect read's)`);
  if (totals.undecrypted > 0) out.push(`audit: ${totals.undecrypted} TLS connection${totals.undecrypted === 1 ? ' was' : 's were'} not decrypted, so not audited (--tls-keylog)`);
  return out;
}

export function auditJson(findings: readonly AuditFinding[], limits: readonly AuditLimit[], totals: AuditTotals): string[] {
  const out = findings.map((f) => terminalSafeJson(JSON.stringify({
    kind: 'audit', check: f.check, severity: f.severity, title: AUDIT_CHECK[f.check].title, frame: f.frame, conn: f.conn,
    src: f.src, dst: f.dst, ...(f.clientId !== undefined ? { clientId: f.clientId } : {}), message: f.message, why: AUDIT_CHECK[f.check].why,
  })));
  for (const l of limits) out.push(terminalSafeJson(JSON.stringify({ kind: 'audit-limit', ...l })));
  out.push(JSON.stringify({ kind: 'audit-summary', findings: findings.length, ...counts(findings), ...totals }));
  return out;
}

export function auditListText(chalk: ChalkInstance): string[] {
  const w = Math.max(...AUDIT_CHECKS.map((c) => c.id.length));
  const out: string[] = [];
  for (const c of AUDIT_CHECKS) {
    out.push(`${c.id.padEnd(w)}  ${paint(chalk, c.severity, c.severity.padEnd(6))}  ${c.title}`);
    out.push(`${' '.repeat(w + 10)}why: ${c.why}`);
    out.push(`${' '.repeat(w + 10)}how: ${c.how}`);
  }
  return out;
}

export function auditListJson(): string[] {
  return AUDIT_CHECKS.map((c) => JSON.stringify({ kind: 'audit-check', ...c }));
}
