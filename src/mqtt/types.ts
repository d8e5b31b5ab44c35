/** Protocol level from CONNECT: 3 = MQTT 3.1 (MQIsdp), 4 = 3.1.1, 5 = 5.0. */
export type ProtocolLevel = 3 | 4 | 5;

export const VERSION_NAME: Record<ProtocolLevel, string> = { 3: '3.1', 4: '3.1.1', 5: '5.0' };

/**
 * One node of a packet's field tree. Offsets are relative to the first byte of the packet
 * (the fixed header byte), so `bytes.subarray(offset, offset + length)` is exactly what the node explains.
 */
export interface FieldNode {
  /** Stable camelCase key; equals the JSON field name where the field appears in `fields`. */
  key: string;
  /** Human label, e.g. "protocol name length". */
  label: string;
  offset: number;
  length: number;
  /** The value as text for display ("45", "\"MQTT\"", "0x02"), computed from the bytes. */
  value?: string;
  /** One-line explanation computed from the bytes, e.g. "2 + 1x128 = 130". */
  explain?: string;
  children?: FieldNode[];
}

/** A defect the decoder found in the bytes; rules/ maps it to a catalogue entry and spec id by code and field. */
export interface DecodeProblem {
  /** Stable machine code, e.g. "reserved-flags", "rl-too-long", "overrun", "trailing-bytes", "bad-utf8". */
  code: string;
  /** Where in the packet (relative to its first byte). */
  offset: number;
  length: number;
  message: string;
  /**
   * 'error' = the packet violates the spec (Malformed / Protocol Error / numbered MUST);
   * 'warning' = SHOULD-level or version-tolerated defects (see PROBLEM_CODES in tables.ts for the default per code).
   */
  severity: 'error' | 'warning';
  /**
   * The packet field the problem is in: its key in the registry (fields.ts), e.g. "clientId", "willTopic", "topic",
   * "subscriptions", "properties", "willProperties"; undefined for the fixed header and bytes after the last field.
   */
  field: string | undefined;
  /** Inside a property block: the id of the property being read (0 for the Property Length itself). */
  propertyId: number | undefined;
}

export interface DecodeContext {
  /** The connection's protocol level (from its CONNECT, or inferred). A CONNECT decodes with its own level. */
  level: ProtocolLevel;
  /** Which side sent the packet, when known. */
  dir: 'c2s' | 's2c' | null;
  /** Build the field tree (only modes that show it need it: -V, -x, explain). */
  tree: boolean;
  /**
   * Most bytes of a PUBLISH payload / Will Payload shown as a tree node's value (default 1024). A negative value or
   * Infinity means no limit. The packet itself keeps the byte range; the NDJSON writer has its own limit.
   */
  payloadLimit?: number;
}
