import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MessageIndex, NONE } from '../src/sessions/message-index.js';

/** The slots of one hash's messages, oldest first, as the stage walks them. */
function chainOf(x: MessageIndex, hash: number): number[] {
  const out: number[] = [];
  for (let s = x.first(hash); s !== NONE; s = x.next(s)) if (x.hash[s] === hash) out.push(s);
  return out;
}

describe('the message index', () => {
  test('messages leave oldest first, and a hash finds its messages in publish order across the ring wrap', () => {
    const x = new MessageIndex(3);
    const a = x.add(7, 'a', null, 10);
    x.frame[a] = 1;
    const b = x.add(9, 'b', 'c', 20);
    x.frame[b] = 2;
    const c = x.add(7, 'c', null, 30);
    x.frame[c] = 3;
    expect(x.full).toBe(true);
    expect(x.heldBytes).toBe(60);
    expect(() => x.add(1, 'd', null, 1)).toThrow(RangeError);
    expect(chainOf(x, 7).map((s) => x.topic[s])).toEqual(['a', 'c']);
    const gone = x.shift();
    expect(x.frame[gone]).toBe(1);
    x.release(gone);
    expect(x.topic[gone]).toBe('');
    // The freed slot is reused: the new message is the newest of hash 7, after 'c'.
    const d = x.add(7, 'd', null, 5);
    expect(d).toBe(gone);
    expect(chainOf(x, 7).map((s) => x.topic[s])).toEqual(['c', 'd']);
    expect(x.heldBytes).toBe(55);
    expect(x.topic[x.oldest()]).toBe('b');
  });

  test('delivery lists start empty on a reused slot', () => {
    const x = new MessageIndex(1);
    const s = x.add(1, 't', null, 1);
    x.deliveries[s] = [{ conn: 1, frame: 2, clientId: null, qos: 0, latencyMs: 0 }];
    x.deliveredTo[s] = new Set(['x']);
    x.release(x.shift());
    const t = x.add(2, 'u', null, 1);
    expect(t).toBe(s);
    expect(x.deliveries[t]).toBeNull();
    expect(x.deliveredTo[t]).toBeNull();
    expect(x.shift()).toBe(t);
    expect(x.shift()).toBe(NONE);
    expect(x.oldest()).toBe(NONE);
  });

  test('against a plain list: any sequence of adds and removals finds the same messages by hash', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }).map((h) => ({ add: h })), fc.constant({ add: -1 })), { maxLength: 200 }),
      (capacity, ops) => {
        const x = new MessageIndex(capacity);
        const model: { hash: number; n: number }[] = [];
        let n = 0;
        for (const op of ops) {
          if (op.add < 0 || x.full) {
            const s = x.shift();
            const m = model.shift();
            if (m === undefined) expect(s).toBe(NONE);
            else expect(x.frame[s]).toBe(m.n);
            if (op.add < 0) continue;
          }
          // Hashes past the bucket count share buckets with others: the chain must still give each hash its own.
          const hash = op.add * 1_000_003 >>> 0;
          const s = x.add(hash, `t${n}`, null, 1);
          x.frame[s] = n;
          model.push({ hash, n });
          n++;
          for (const h of new Set(model.map((m) => m.hash))) {
            expect(chainOf(x, h).map((q) => x.frame[q])).toEqual(model.filter((m) => m.hash === h).map((m) => m.n));
          }
        }
        expect(x.size).toBe(model.length);
      },
    ), { numRuns: 200 });
  });
});
