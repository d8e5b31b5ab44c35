// TEMPORARY stub until the sp-catalogue branch lands (replaced by the real table).
import type { Violation } from '../mqtt/connection-decoder.js';
export function sparkplugViolation(id: string, message: string, offset?: number, length?: number): Violation {
  const v: Violation = { id, spec: 'Sparkplug 3.0', severity: 'error', message };
  if (offset !== undefined) { v.offset = offset; v.length = length ?? 0; }
  return v;
}
