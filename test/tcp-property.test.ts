import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ACK, FIN, LINK, PSH, TcpSession, concat, runPipeline, toRecords } from './builders/frames.js';

/** A data segment with where it sits in its direction's stream, so tests can drop or check it. */
interface Seg {
  frame: Uint8Array;
  side: 'client' | 'server';
  from: number;
  to: number;
}

function split(s: TcpSession, side: 'client' | 'server', data: Uint8Array, mss: number, at: number, ack: number): Seg[] {
  const out: Seg[] = [];
  const base = s.seqOf(side);
  for (let off = 0; off < data.length; off += mss) {
    const end = Math.min(off + mss, data.length);
    out.push({
      frame: s.raw(side, { seq: (base + off) >>> 0, ack, flags: ACK | PSH, payload: data.subarray(off, end) }),
      side,
      from: at + off,
      to: at + end,
    });
  }
  if (side === 'client') s.clientSeq = (s.clientSeq + data.length) >>> 0;
  else s.serverSeq = (s.serverSeq + data.length) >>> 0;
  return out;
}

const isn = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0xffffffff - 3000, max: 0xffffffff }));
const payload = fc.uint8Array({ minLength: 1, maxLength: 1500 });

describe('property: any order and duplication of a session reconstructs the exact streams', () => {
  test('all segments after the handshake shuffled and duplicated (ACK numbers never run ahead of the data)', () => {
    fc.assert(
      fc.property(
        isn,
        isn,
        fc.integer({ min: 40, max: 400 }),
        fc.array(payload, { minLength: 1, maxLength: 4 }),
        fc.array(payload, { minLength: 0, maxLength: 4 }),
        fc.array(fc.nat(), { minLength: 200, maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 200, maxLength: 200 }),
        (cIsn, sIsn, mss, cMsgs, sMsgs, order, copies) => {
          const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', { clientIsn: cIsn, serverIsn: sIsn });
          const hs = s.handshake();
          // The acknowledgement numbers stay at their handshake values: a segment that acknowledged data
          // would be allowed to prove a hole final, which only holds when ACKs follow their data.
          const ackOfClient = s.clientSeq;
          const ackOfServer = s.serverSeq;
          const c2s = concat(cMsgs);
          const s2c = concat(sMsgs);
          const body = [...split(s, 'client', c2s, mss, 0, ackOfServer), ...split(s, 'server', s2c, mss, 0, ackOfClient)].map((x) => x.frame);
          body.push(s.raw('client', { seq: s.clientSeq, ack: ackOfServer, flags: FIN | ACK }));
          body.push(s.raw('server', { seq: s.serverSeq, ack: ackOfClient, flags: FIN | ACK }));
          fc.pre(body.length <= 130);

          const sequence: Uint8Array[] = [];
          body.forEach((f, i) => {
            for (let k = 0; k < copies[i]!; k++) sequence.push(f);
          });
          const keyed = sequence.map((f, i) => ({ f, k: order[i % order.length]! * 1000 + i }));
          keyed.sort((a, b) => a.k - b.k);

          const { sink } = runPipeline(toRecords([...hs, ...keyed.map((x) => x.f)], LINK.RAW));
          expect(sink.events).toEqual([]);
          expect(sink.gaps).toEqual([]);
          expect(sink.conns).toHaveLength(1);
          expect(sink.stream(0, 'c2s')).toEqual(c2s);
          expect(sink.stream(0, 's2c')).toEqual(s2c);
          expect(sink.closes).toHaveLength(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a realistic exchange (each flight ACKed) with reordering inside flights and late retransmissions', () => {
    fc.assert(
      fc.property(
        isn,
        isn,
        fc.integer({ min: 20, max: 1460 }),
        fc.array(fc.tuple(payload, payload), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
        fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
        (cIsn, sIsn, mss, rounds, shuffle, retrans) => {
          const s = new TcpSession('[fd00::1]:40000', '[fd00::2]:1883', { clientIsn: cIsn, serverIsn: sIsn });
          const frames: Uint8Array[] = [...s.handshake()];
          let r = 0;
          const flight = (segs: Uint8Array[]): void => {
            const keyed = segs.map((f, i) => ({ f, k: shuffle[r++ % shuffle.length]! * 100 + i }));
            keyed.sort((a, b) => a.k - b.k);
            frames.push(...keyed.map((x) => x.f));
            // A retransmission of some earlier segment, after it was already delivered.
            const pick = retrans[r % retrans.length]! % (segs.length * 3);
            if (pick < segs.length) frames.push(segs[pick]!);
          };
          for (const [up, down] of rounds) {
            flight(s.c2s(up, mss));
            frames.push(s.ack('server'));
            flight(s.s2c(down, mss));
            frames.push(s.ack('client'));
          }
          frames.push(...s.close());
          const { sink } = runPipeline(toRecords(frames, LINK.RAW));
          expect(sink.events).toEqual([]);
          expect(sink.stream(0, 'c2s')).toEqual(concat(rounds.map((x) => x[0])));
          expect(sink.stream(0, 's2c')).toEqual(concat(rounds.map((x) => x[1])));
          expect(sink.closes).toHaveLength(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('dropped segments: delivered bytes plus gaps rebuild the stream with exactly the dropped ranges missing', () => {
    fc.assert(
      fc.property(
        isn,
        fc.integer({ min: 20, max: 600 }),
        fc.array(payload, { minLength: 1, maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 100, maxLength: 100 }),
        (cIsn, mss, msgs, drops) => {
          const s = new TcpSession('10.0.0.1:40000', '10.0.0.2:1883', { clientIsn: cIsn });
          const frames: Uint8Array[] = [...s.handshake()];
          const expected = concat(msgs).slice();
          let at = 0;
          let d = 0;
          for (const m of msgs) {
            for (const seg of split(s, 'client', m, mss, at, s.serverSeq)) {
              if (drops[d++ % drops.length]) expected.fill(0, seg.from, seg.to);
              else frames.push(seg.frame);
            }
            at += m.length;
            frames.push(s.ack('server'));
          }
          frames.push(...s.close());
          const { sink } = runPipeline(toRecords(frames, LINK.RAW));
          expect(sink.streamWithGaps(0, 'c2s', 0)).toEqual(expected);
          const gapBytes = sink.gaps.reduce((n, g) => n + g.bytes, 0);
          const delivered = sink.stream(0, 'c2s').length;
          expect(gapBytes + delivered).toBe(expected.length);
          expect(sink.eventsOf('gap').reduce((n, g) => n + (g.bytes ?? 0), 0)).toBe(gapBytes);
        },
      ),
      { numRuns: 300 },
    );
  });
});
