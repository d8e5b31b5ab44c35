/**
 * Long topics and filters (issue 18, defect 6): what is kept of them is bounded in characters as well as entries,
 * reaching a cap is reported, and Map keys stay short enough for V8 to hash them whole (it hashes only the length of
 * longer strings, so same-length long names would all share one bucket and every lookup would compare against each).
 */
import { describe, expect, test } from 'vitest';
import type { PacketRecord } from '../src/mqtt/connection-decoder.js';
import { decodePacket } from '../src/mqtt/decoder.js';
import { makeChalk } from '../src/render/color.js';
import { MAX_TOPIC_CHARS, SummaryCollector, topicKey } from '../src/render/summary.js';
import { topicDigest } from '../src/mqtt/topics.js';
import { ConnSession, FLIGHT_TOPIC_CHARS, MAX_SUBSCRIPTION_CHARS } from '../src/rules/session.js';
import { Harness, makeConn } from './builders/rules-harness.js';
import { connack, connect, publish, suback, subscribe } from './builders/mqtt-bytes.js';

/** Names of `len` characters that differ only in their last characters: telling them apart means reading them whole. */
const longName = (prefix: string, i: number, len: number) => prefix + 'x'.repeat(len - prefix.length - String(i).length - 1) + `-${i}`;

function record(bytes: Uint8Array, dir: 'c2s' | 's2c', frame: number): PacketRecord {
  const conn = makeConn();
  return {
    conn, dir, frame, frames: [frame], timeSec: 1, timeNsec: 0, bytes, decoded: decodePacket(bytes, { level: 4, dir, tree: false }),
    levelInferred: false, streamOffset: 0, violations: [],
  };
}

describe('summary topics', () => {
  test('Map keys of long topics are short and distinct; short topics are their own key', () => {
    const a = longName('t/', 1, 60_000);
    const b = longName('t/', 2, 60_000);
    expect(topicKey('a/b')).toBe('a/b');
    expect(topicKey('x'.repeat(16_383))).toHaveLength(16_383);
    expect(topicKey(a).length).toBeLessThanOrEqual(16_383);
    expect(topicKey(a)).not.toBe(topicKey(b));
    expect(topicKey(a)).toBe(topicKey(`${a}`));
  });

  test('1,200 distinct 20 KB topics: names kept stay within the cap, the cap is reported, tallies stay exact', () => {
    const s = new SummaryCollector();
    s.open(makeConn());
    const n = 1_200;
    for (let i = 0; i < n; i++) {
      s.packet(record(publish({ topic: longName('t/', i, 20_000), payload: 'x' }), 'c2s', i + 1));
      // Topic 0 again now and then: it keeps its own row.
      if (i % 300 === 0) s.packet(record(publish({ topic: longName('t/', 0, 20_000), payload: 'x' }), 'c2s', i + 1));
    }
    expect(s.topicNameChars).toBeLessThanOrEqual(MAX_TOPIC_CHARS);
    const kept = Math.floor(MAX_TOPIC_CHARS / 20_000);
    // Wide enough that no name wraps: this is about the tallies and the cap, not the fitting (render-summary.test.ts).
    const table = s.render(makeChalk(false), false, 100_000);
    expect(table).toContain(`Topics (top 100 of ${kept + 1}; messages to topics past the cap are counted as "(other topics beyond the first ${MAX_TOPIC_CHARS} characters of topic names)")`);
    // The "other" row has every message to the topics past the cap; topic 0 has its own 1 + 4 messages.
    expect(table).toMatch(new RegExp(`\\(other topics beyond the first ${MAX_TOPIC_CHARS} characters of topic names\\) +│ ${n - kept} +│`));
    expect(table).toMatch(/-0 +│ 5 +│/);
  });
});

describe('subscriptions with long filters', () => {
  test('300 filters of 20 KB: the characters kept stay within the cap and one limit event says so', () => {
    const h = new Harness();
    h.c(connect({ clientId: 'c' }));
    h.s(connack({}));
    for (let i = 0; i < 300; i++) {
      h.c(subscribe({ packetId: (i % 65535) + 1, subscriptions: [{ topic: longName(i % 2 === 0 ? 'f/+/' : 'f/', i, 20_000), qos: 1 }] }));
      h.s(suback({ packetId: (i % 65535) + 1, codes: [1] }));
    }
    const limits = h.sink.events.filter((e) => e.event === 'limit');
    expect(limits).toHaveLength(1);
    expect(limits[0]!.message).toContain(`${MAX_SUBSCRIPTION_CHARS} characters of filters`);
    // Past the cap deliveries are not checked: no "matches none of the subscriptions" for a filter that was dropped.
    const r = h.s(publish({ topic: longName('f/', 299, 20_000) }));
    expect(r.violations).toEqual([]);
  });

  test('the session keeps at most MAX_SUBSCRIPTION_CHARS characters of filters', () => {
    const s = new ConnSession(makeConn());
    let most = 0;
    for (let i = 0; i < 100; i++) {
      s.packet(record(subscribe({ packetId: i + 1, subscriptions: [{ topic: longName('f/', i, 20_000), qos: 0 }] }), 'c2s', i + 1));
      most = Math.max(most, s.subscriptionChars);
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(MAX_SUBSCRIPTION_CHARS);
  });
});

describe('unacknowledged QoS 1/2 flows with long topics', () => {
  test('each flight keeps a bounded stand-in of its topic, however long the topic', () => {
    const s = new ConnSession(makeConn());
    s.packet(record(connect({ clientId: 'c' }), 'c2s', 1));
    s.packet(record(connack(), 's2c', 2));
    const n = 1_000;
    for (let i = 0; i < n; i++) s.packet(record(publish({ topic: longName('t/', i, 20_000), qos: 1, packetId: i + 1, payload: 'x' }), 'c2s', i + 3));
    // 1,000 flights of 20,000-character topics held whole would be 20 M characters.
    expect(s.flightTopicChars).toBeGreaterThan(n * (FLIGHT_TOPIC_CHARS + 1));
    expect(s.flightTopicChars).toBeLessThanOrEqual(n * 80);
  });

  test('short topics are kept whole; a long one by its length and digest, shorter than itself and distinct', () => {
    const a = longName('t/', 1, 60_000);
    expect(topicDigest('a/b', FLIGHT_TOPIC_CHARS)).toBe('a/b');
    expect(topicDigest('x'.repeat(FLIGHT_TOPIC_CHARS), FLIGHT_TOPIC_CHARS)).toHaveLength(FLIGHT_TOPIC_CHARS);
    const d = topicDigest('x'.repeat(FLIGHT_TOPIC_CHARS + 1), FLIGHT_TOPIC_CHARS);
    // Longer than any topic kept whole, so no short topic can be mistaken for it.
    expect(d.length).toBeGreaterThan(FLIGHT_TOPIC_CHARS);
    expect(topicDigest(a, FLIGHT_TOPIC_CHARS).length).toBeLessThanOrEqual(80);
    expect(topicDigest(a, FLIGHT_TOPIC_CHARS)).toBe(topicDigest(`${a}`, FLIGHT_TOPIC_CHARS));
    expect(topicDigest(a, FLIGHT_TOPIC_CHARS)).not.toBe(topicDigest(longName('t/', 2, 60_000), FLIGHT_TOPIC_CHARS));
  });

  test('a redelivery on the same long topic and a reuse of the id on another are still told apart', () => {
    const h = new Harness();
    h.c(connect({ clientId: 'c' }));
    h.s(connack());
    const a = longName('t/', 1, 60_000);
    const b = longName('t/', 2, 60_000);
    h.c(publish({ topic: a, qos: 1, packetId: 7, payload: 'p' }));
    const again = h.c(publish({ topic: a, qos: 1, packetId: 7, payload: 'p' }));
    expect(again.violations.map((v) => v.message)).toEqual(['PUBLISH 7 re-delivered with DUP 0 (first sent in frame 3)']);
    const reuse = h.c(publish({ topic: b, qos: 1, packetId: 7, payload: 'p' }));
    expect(reuse.violations.map((v) => v.message)).toEqual(['packet identifier 7 is still in use by the QoS 1 PUBLISH of frame 3']);
  });
});
