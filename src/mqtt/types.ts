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

/** A defect the decoder found in the bytes; rules/ maps `code` to a catalogue entry and spec id. */
export interface DecodeProblem {
  /** Stable machine code, e.g. "reserved-flags", "rl-too-long", "overrun", "trailing-bytes", "bad-utf8". */
  code: string;
  /** Where in the packet (relative to its first byte). */
  offset: number;
  length: number;
  message: string;
  /**
   * 'error' = the packet violates the spec (Malformed / Protocol Error / numbered MUST);
   * 'warning' = SHOULD-level or version-tolerated defects. The decoder always sets it
   * (see PROBLEM_CODES in tables.ts for the default per code).
   */
  severity?: 'error' | 'warning';
}

export interface DecodeContext {
  /** The connection's protocol level (from its CONNECT, or inferred). A CONNECT decodes with its own level. */
  level: ProtocolLevel;
  /** Which side sent the packet, when known. */
  dir: 'c2s' | 's2c' | null;
  /** Build the field tree (only modes that show it need it: -V, -x, explain). */
  tree: boolean;
  /**
   * Most bytes of a PUBLISH payload / Will Payload rendered into `fields` (default 1024).
   * A negative value or Infinity means no limit. `payloadLength` is always the true length.
   */
  payloadLimit?: number;
}

export interface DecodedPacket {
  /** Packet type 0..15 from the high nibble of byte 0. */
  type: number;
  /** "CONNECT", "PUBLISH", ..., "AUTH"; "RESERVED" for 0 (and 15 before 5.0). */
  typeName: string;
  /** Low nibble of byte 0. */
  flags: number;
  /** Level the packet was decoded with. */
  level: ProtocolLevel;
  /** Whole packet length in bytes (fixed header + remaining length). */
  length: number;
  remainingLength: number;
  /** Bytes of the fixed header (1 + length of the Remaining Length field). */
  headerLength: number;
  /** camelCase JSON-ready fields (see docs/json.md); binary values as {encoding:'hex', data:'..'} or similar. */
  fields: Record<string, unknown>;
  /** Field tree when DecodeContext.tree was set, else null. */
  tree: FieldNode | null;
  problems: DecodeProblem[];
}
