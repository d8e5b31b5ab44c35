/** Frames through the pipeline into the audit stage (src/audit/stage.ts), as `mqtt-dissect audit` runs it. */
import { AuditStage, type AuditFinding, type AuditLimit } from '../../src/audit/stage.js';
import { buildFrontPipeline, DEFAULT_PORTS } from '../../src/cli/pipeline.js';
import type { KeyLog } from '../../src/transport/tls/keylog.js';
import { feedFrames } from './run-frames.js';

export interface AuditRun {
  findings: AuditFinding[];
  limits: AuditLimit[];
  stage: AuditStage;
}

/** `times`: each frame's time in seconds from the first (1 ms apart when absent). */
/** `keylog`: TLS secrets, so that the TLS connections are decrypted and audited as `audit --tls-keylog` does. */
export function auditFrames(frames: Uint8Array[], o: { showSecrets?: boolean; times?: number[]; ports?: number[]; keylog?: KeyLog } = {}): AuditRun {
  const stage = new AuditStage({ showSecrets: o.showSecrets === true });
  const p = buildFrontPipeline(stage, {
    ports: [...DEFAULT_PORTS, ...(o.ports ?? [])], auto: false, tree: false, fieldsShown: true, dialect: 'none', sessions: false,
    ...(o.keylog !== undefined ? { keylog: o.keylog } : {}),
  });
  feedFrames(p, frames, o.times);
  return { findings: stage.finish(), limits: stage.limits(), stage };
}
