/** One captured frame as the capture file stores it. */
export interface CaptureRecord {
  /** 1-based frame number in file order, as Wireshark counts. */
  frame: number;
  /** Capture timestamp: whole seconds since the Unix epoch. */
  timeSec: number;
  /** Sub-second part of the timestamp, in nanoseconds (0..999,999,999). */
  timeNsec: number;
  /** LINKTYPE_* value of the interface the frame was captured on. */
  linkType: number;
  /** Captured bytes (may be shorter than wireLength when the snaplen cut the frame). */
  data: Uint8Array;
  /** Length of the frame on the wire. */
  wireLength: number;
  /** Byte offset of the record (or block) in the capture file. */
  fileOffset: number;
}

/** Something wrong with the capture file itself that did not stop reading. */
export interface CaptureEvent {
  event: 'file-truncated' | 'corrupt-block' | 'capture-note';
  /** Byte offset in the file where the problem starts. */
  offset: number;
  /** The frame number the problem is next to (the last good frame, or 0). */
  frame: number;
  message: string;
}

/** Unreadable input: not a capture at all, or broken before the first record. The CLI prints `message` alone. */
export class CaptureFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFormatError';
  }
}

export interface CaptureSink {
  record(rec: CaptureRecord): void;
  event(ev: CaptureEvent): void;
  /**
   * A pcapng Decryption Secrets Block (type 0x0000000A): its secrets type ('TLSK' = 0x544c534b for an NSS key log),
   * its data (valid only during the call), the frame it follows and its 1-based count among such blocks.
   */
  secrets?(type: number, data: Uint8Array, frame: number, block: number): void;
}
