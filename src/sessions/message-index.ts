/**
 * The sessions stage's message index: the PUBLISH packets the broker received that still wait for their deliveries,
 * in publish order, findable by payload hash.
 *
 * Held as columns of a ring (typed arrays for the numbers, plain arrays for the strings and the few delivered
 * messages' lists) rather than one object per message: every c2s PUBLISH of a capture goes through here, and an object
 * of 17 fields each, plus a Map entry, was the largest share of the stage's cost (stop 24's profile: 2.6 s of CPU and
 * more collection on the 200 MB benchmark capture). Messages leave only from the oldest end (their window ended, or
 * room is made), so the ring needs no free list, and a message leaving is always the first of its hash bucket's chain.
 */
import type { AmbiguousDelivery, Delivery } from './records.js';

/** The first member of a shared subscription a message went to, and whether a second one was reported. */
export interface SharedMember {
  who: string;
  conn: number;
  frame: number;
  said: boolean;
}

/** No slot: the end of a chain, an empty bucket. */
export const NONE = -1;

/**
 * `Owed`: what the stage keeps per subscriber a message is owed to; `Copied`: per subscriber whose copies of it are
 * counted (the index only holds them).
 */
export class MessageIndex<Owed = unknown, Copied = unknown> {
  readonly capacity: number;
  // One entry per slot. A slot's columns stay readable after shift() until the next add() reuses it.
  readonly frame: Float64Array;
  readonly timeSec: Float64Array;
  readonly timeNsec: Uint32Array;
  /** Capture time in seconds (timeSec + timeNsec / 1e9). */
  readonly t: Float64Array;
  readonly conn: Float64Array;
  readonly length: Float64Array;
  readonly hash: Uint32Array;
  readonly qos: Uint8Array;
  readonly retain: Uint8Array;
  /** 5.0 Message Expiry Interval the publisher set, in seconds; -1 without one (5.0 MQTT-3.3.2-5/-6). */
  readonly expiry: Float64Array;
  /** What the message holds in the index, in about bytes (its topic, ClientId and listed deliveries). */
  readonly bytes: Float64Array;
  readonly topic: string[];
  readonly clientId: (string | null)[];
  /** Null until the first entry (most messages of a one-side capture reach no one). */
  readonly deliveries: (Delivery[] | null)[];
  readonly ambiguous: (AmbiguousDelivery[] | null)[];
  /**
   * By shared subscription (`$share/{ShareName}/{filter}`), the first member the message was delivered to through it;
   * null unless it was (5.0 4.8: one member per message).
   */
  readonly sharedTo: (Map<string, SharedMember> | null)[];
  /**
   * The watched subscribers the message is owed to (src/sessions/stage.ts, MQTT-4.5.0-1), until it is judged; null
   * when none is, or once judged.
   */
  readonly expected: (Owed[] | null)[];
  /**
   * The subscribers whose several copies of the message are checked for a missing Subscription Identifier once they
   * are all in (src/sessions/stage.ts, 5.0 MQTT-3.3.4-5); null when none is.
   */
  readonly copiedTo: (Copied[] | null)[];
  /** Client keys (ClientId, or `#conn` without one) already delivered to; null before the first delivery. */
  readonly deliveredTo: (Set<string> | null)[];
  /** The next slot in the same hash bucket, in publish order. */
  private readonly chain: Int32Array;
  private readonly bucketHead: Int32Array;
  private readonly bucketTail: Int32Array;
  private readonly mask: number;
  /** Slot of the oldest message, and how many are held. */
  private head = 0;
  size = 0;
  /** Sum of `bytes` over the messages held. */
  heldBytes = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`message index capacity ${capacity}`);
    this.capacity = capacity;
    this.frame = new Float64Array(capacity);
    this.timeSec = new Float64Array(capacity);
    this.timeNsec = new Uint32Array(capacity);
    this.t = new Float64Array(capacity);
    this.conn = new Float64Array(capacity);
    this.length = new Float64Array(capacity);
    this.hash = new Uint32Array(capacity);
    this.qos = new Uint8Array(capacity);
    this.retain = new Uint8Array(capacity);
    this.expiry = new Float64Array(capacity);
    this.bytes = new Float64Array(capacity);
    this.topic = new Array<string>(capacity).fill('');
    this.clientId = new Array<string | null>(capacity).fill(null);
    this.deliveries = new Array<Delivery[] | null>(capacity).fill(null);
    this.ambiguous = new Array<AmbiguousDelivery[] | null>(capacity).fill(null);
    this.deliveredTo = new Array<Set<string> | null>(capacity).fill(null);
    this.sharedTo = new Array<Map<string, SharedMember> | null>(capacity).fill(null);
    this.expected = new Array<Owed[] | null>(capacity).fill(null);
    this.copiedTo = new Array<Copied[] | null>(capacity).fill(null);
    this.chain = new Int32Array(capacity).fill(NONE);
    // Twice as many buckets as slots: chains stay about one long.
    let buckets = 1;
    while (buckets < capacity * 2) buckets *= 2;
    this.mask = buckets - 1;
    this.bucketHead = new Int32Array(buckets).fill(NONE);
    this.bucketTail = new Int32Array(buckets).fill(NONE);
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  /** Slot of the oldest message held, or NONE. */
  oldest(): number {
    return this.size > 0 ? this.head : NONE;
  }

  /**
   * A new newest message; the caller has made room (size < capacity). Returns its slot; its delivery lists start empty.
   */
  add(hash: number, topic: string, clientId: string | null, bytes: number): number {
    if (this.size >= this.capacity) throw new RangeError('message index full');
    let slot = this.head + this.size;
    if (slot >= this.capacity) slot -= this.capacity;
    this.size++;
    this.hash[slot] = hash;
    this.topic[slot] = topic;
    this.clientId[slot] = clientId;
    this.bytes[slot] = bytes;
    this.heldBytes += bytes;
    this.deliveries[slot] = null;
    this.ambiguous[slot] = null;
    this.deliveredTo[slot] = null;
    this.sharedTo[slot] = null;
    this.expected[slot] = null;
    this.copiedTo[slot] = null;
    this.chain[slot] = NONE;
    const b = hash & this.mask;
    const tail = this.bucketTail[b]!;
    if (tail === NONE) this.bucketHead[b] = slot;
    else this.chain[tail] = slot;
    this.bucketTail[b] = slot;
    return slot;
  }

  /** More bytes a message holds (a listed delivery). */
  grow(slot: number, bytes: number): void {
    this.bytes[slot] += bytes;
    this.heldBytes += bytes;
  }

  /**
   * The oldest message leaves; its slot is returned, its columns readable until release() or the next add(). Call
   * release() once they are read: a slot keeps its topic and lists alive until then, and 16,384 of 64 KiB topics would
   * otherwise be held past MAX_INDEX_BYTES.
   */
  shift(): number {
    if (this.size === 0) return NONE;
    const slot = this.head;
    this.head = slot + 1 === this.capacity ? 0 : slot + 1;
    this.size--;
    this.heldBytes -= this.bytes[slot]!;
    // The oldest message of all is the oldest of its bucket: the head of the bucket's chain.
    const b = this.hash[slot]! & this.mask;
    const next = this.chain[slot]!;
    this.bucketHead[b] = next;
    if (next === NONE) this.bucketTail[b] = NONE;
    return slot;
  }

  /** Lets go of a left slot's strings and lists. */
  release(slot: number): void {
    this.topic[slot] = '';
    this.clientId[slot] = null;
    this.deliveries[slot] = null;
    this.ambiguous[slot] = null;
    this.deliveredTo[slot] = null;
    this.sharedTo[slot] = null;
    this.expected[slot] = null;
    this.copiedTo[slot] = null;
  }

  /** The first slot (oldest) whose hash shares a bucket with `hash`; compare `hash[slot]` before using it. */
  first(hash: number): number {
    return this.bucketHead[hash & this.mask]!;
  }

  /** The slot after `slot` in its bucket's chain, or NONE. */
  next(slot: number): number {
    return this.chain[slot]!;
  }
}
