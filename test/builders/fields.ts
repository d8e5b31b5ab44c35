/** A decoded packet's `fields` object exactly as the NDJSON output writes it (parsed back), for assertions. */
import type { MqttPacket } from '../../src/mqtt/packets.js';
import { fieldsObject } from '../../src/render/ndjson.js';

/** `payloadLimit` is the NDJSON writer's cut (1024 by default, as in the CLI; negative: none). */
export function fieldsOf(p: MqttPacket, payloadLimit = 1024, redact = false): Record<string, unknown> {
  return fieldsObject(p, { redact, payloadLimit });
}
