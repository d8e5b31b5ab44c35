/**
 * `mqtt-dissect audit CAPTURE...`: the captures through the pipeline up to the rules (the same stages `read` runs),
 * into the audit stage (src/audit/stage.ts); its findings are printed once the capture is read.
 */
import { AuditStage } from '../audit/stage.js';
import { CaptureFormatError } from '../capture/types.js';
import type { ChalkInstance } from 'chalk';
import { auditJson, auditListJson, auditListText, auditText } from '../render/audit.js';
import type { KeyLog } from '../transport/tls/keylog.js';
import { defaultPorts, EXIT, oneLine, type LineOut } from './back-end.js';
import { buildFrontPipeline, readAll } from './pipeline.js';

export interface AuditArgs {
  captures: string[];
  json: boolean;
  showSecrets: boolean;
  port: number[];
  auto: boolean;
  keylog: KeyLog;
  tlsPorts: number[];
  stdin?: AsyncIterable<Uint8Array>;
}

export function auditList(json: boolean, chalk: ChalkInstance): string[] {
  return json ? auditListJson() : auditListText(chalk);
}

export async function runAuditCommand(a: AuditArgs, out: LineOut, chalk: ChalkInstance, err: (line: string) => void): Promise<number> {
  const stage = new AuditStage({ showSecrets: a.showSecrets });
  const pipeline = buildFrontPipeline(stage, {
    ports: defaultPorts(a.port), auto: a.auto, tree: false, fieldsShown: true, dialect: 'none', keylog: a.keylog, sessions: false,
    ...(a.tlsPorts.length > 0 ? { tlsPorts: a.tlsPorts } : {}),
  });
  let code: number = EXIT.ok;
  try {
    await readAll(a.captures, pipeline, { interrupted: () => false, ...(a.stdin ? { stdin: a.stdin } : {}) });
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
    err(`mqtt-dissect audit: ${oneLine(e.message)}`);
    code = EXIT.unreadable;
  }
  pipeline.finish();
  const findings = stage.finish();
  const totals = { connections: stage.connections, packets: stage.packets, undecrypted: stage.undecrypted };
  for (const l of a.json ? auditJson(findings, stage.limits(), totals) : auditText(findings, stage.limits(), totals, chalk)) out.line(l);
  out.flush();
  if (stage.packets === 0 && code === EXIT.ok) err('mqtt-dissect audit: no MQTT in the capture');
  return code;
}
