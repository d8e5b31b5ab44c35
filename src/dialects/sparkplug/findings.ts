/**
 * How the Sparkplug checks report: by the specification's assertion id (`tck-id-…`, catalogued in
 * src/rules/catalogue-sparkplug.ts with its severity and paraphrase) or by one of our own ids (`SPARKPLUG-…`) for what
 * the capture shows wrong that no assertion names word for word.
 */
import type { Violation } from '../../mqtt/connection-decoder.js';
import { sparkplugViolation } from '../../rules/catalogue-sparkplug.js';

export function finding(id: string, message: string, offset?: number, length?: number): Violation {
  return sparkplugViolation(id, message, offset, length);
}
