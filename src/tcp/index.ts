export {
  TcpReassembler,
  type TcpReassemblerOptions,
  looksLikeConnect,
  type ConnectProbe,
  MQTT_TLS_PORT,
  DEFAULT_MAX_BUFFERED_BYTES,
  GAP_WINDOW_BYTES,
  GAP_WINDOW_SEGMENTS,
  ACKED_WINDOW_FACTOR,
  PENDING_MAX_BYTES,
  HISTORY_MAX_BYTES,
  TOMBSTONE_SEC,
  MAX_TOMBSTONES,
} from './reassembler.js';
export { seqDiff, seqAdd, seqLt, seqLe, seqGt, seqGe } from './seq.js';
export * from './types.js';
