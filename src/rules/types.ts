export type { Severity, Violation } from '../mqtt/connection-decoder.js';
