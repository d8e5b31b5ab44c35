/**
 * The statistics sections as data: each section's tables and their columns (key, heading, type, meaning). The text
 * tables, the NDJSON records, the CSV header, `stats --list` and docs/stats.md are all made from this table
 * (test/stats-docs.test.ts keeps the document equal to it and the records' keys equal to the columns).
 */
import { PACKET_TYPES } from '../../mqtt/tables.js';

/**
 * How a value is shown as text: int and num as numbers, ms as milliseconds with three decimals, time as ISO-8601 UTC,
 * text escaped for the terminal, list as values joined by "/", rates as numbers joined by spaces.
 */
export type ColumnType = 'int' | 'num' | 'ms' | 'time' | 'text' | 'list' | 'rates' | 'counts';

/** A value of a statistics row: what NDJSON writes, and what the text and CSV views format by the column's type. */
export type Cell = string | number | null | readonly number[] | Readonly<Record<string, number>>;
export type Row = Readonly<Record<string, Cell>>;

export interface StatsColumn {
  readonly key: string;
  readonly head: string;
  readonly type: ColumnType;
  readonly describe: string;
  /** Left out of the text table and the CSV when it is zero on every row (the io section's packet types). */
  readonly sparse?: true;
}

export interface StatsTableSpec {
  readonly name: string;
  readonly title: string;
  readonly describe: string;
  readonly columns: readonly StatsColumn[];
}

export interface StatsSection {
  readonly name: string;
  readonly describe: string;
  readonly tables: readonly StatsTableSpec[];
}

const c = (key: string, head: string, type: ColumnType, describe: string, sparse?: true): StatsColumn => ({ key, head, type, describe, ...(sparse ? { sparse } : {}) });

const PERCENTILES: readonly StatsColumn[] = [
  c('count', 'count', 'int', 'pairs timed'),
  c('p50Ms', 'p50 ms', 'ms', 'median, milliseconds'),
  c('p90Ms', 'p90 ms', 'ms', '90th percentile, milliseconds'),
  c('p99Ms', 'p99 ms', 'ms', '99th percentile, milliseconds'),
  c('maxMs', 'max ms', 'ms', 'longest, milliseconds'),
];

/** The packet type columns of the io section: every type, RESERVED (0, and 15 before 5.0) included. */
const TYPE_COLUMNS: readonly StatsColumn[] = PACKET_TYPES.filter((t) => t.type !== 0).map((t) => c(t.name, t.name, 'int', `${t.name} packets in the bucket`, true))
  .concat([c('RESERVED', 'RESERVED', 'int', 'packets of a reserved type in the bucket', true)]);

export const STATS_SECTIONS: readonly StatsSection[] = [
  {
    name: 'clients',
    describe: 'per client (ClientId): connections, first and last seen, packets and bytes each way, QoS of its PUBLISHes, how its connections ended, findings',
    tables: [{
      name: 'clients', title: 'Clients', describe: 'one row per ClientId (from the CONNECT; in 5.0 the Assigned Client Identifier for an empty one), most packets first',
      columns: [
        c('clientId', 'client id', 'text', 'the ClientId; null (text "-") for connections whose CONNECT the capture does not hold'),
        c('connections', 'conns', 'int', 'connections with this ClientId'),
        c('firstSeen', 'first seen', 'time', 'time of its first connection\'s first frame'),
        c('lastSeen', 'last seen', 'time', 'time of its last counted packet'),
        c('packetsC2s', 'packets c2s', 'int', 'MQTT packets the client sent'),
        c('packetsS2c', 'packets s2c', 'int', 'MQTT packets the server sent it'),
        c('bytesC2s', 'bytes c2s', 'int', 'bytes of those packets (length on the wire)'),
        c('bytesS2c', 'bytes s2c', 'int', 'bytes of the server\'s packets'),
        c('qosSent', 'QoS sent', 'list', 'PUBLISHes the client sent, by QoS (0/1/2)'),
        c('qosReceived', 'QoS recv', 'list', 'PUBLISHes the server delivered to it, by QoS (0/1/2)'),
        c('ends', 'ended', 'counts', 'how its connections ended, with counts (the close record\'s cause: "DISCONNECT by client", "RST by server", "open at end", …)'),
        c('findings', 'findings', 'int', 'findings on its packets, events and closes'),
      ],
    }],
  },
  {
    name: 'topics',
    describe: 'per topic: messages, payload bytes, distinct publishers, payload size distribution, messages per second over time (--interval)',
    tables: [{
      name: 'topics', title: 'Topics', describe: 'one row per topic of a PUBLISH (a 5.0 Topic Alias resolved), most messages first',
      columns: [
        c('topic', 'topic', 'text', 'the topic name'),
        c('messages', 'messages', 'int', 'PUBLISH packets (both directions)'),
        c('payloadBytes', 'payload bytes', 'int', 'payload bytes in all'),
        c('publishers', 'publishers', 'int', 'distinct senders of its c2s PUBLISHes (by ClientId, else by connection), at most 1,000 counted'),
        c('sizeMin', 'size min', 'int', 'smallest payload, bytes'),
        c('sizeP50', 'size p50', 'int', 'median payload, bytes'),
        c('sizeP90', 'size p90', 'int', '90th percentile payload, bytes'),
        c('sizeMax', 'size max', 'int', 'largest payload, bytes'),
        c('rate', 'messages/s per bucket', 'rates', 'messages per second in each bucket of the interval, from the first bucket'),
      ],
    }],
  },
  {
    name: 'talkers',
    describe: 'top talkers by connection and by client address (packets, bytes), and the busiest seconds',
    tables: [
      {
        name: 'connections', title: 'Top connections', describe: 'connections by MQTT bytes (both directions), at most 1,000',
        columns: [
          c('conn', 'conn', 'int', 'connection number'),
          c('client', 'client', 'text', 'client ip:port'),
          c('server', 'server', 'text', 'server ip:port'),
          c('clientId', 'client id', 'text', 'its ClientId, null without a CONNECT'),
          c('packets', 'packets', 'int', 'MQTT packets both ways'),
          c('bytes', 'bytes', 'int', 'their bytes'),
        ],
      },
      {
        name: 'addresses', title: 'Top client addresses', describe: 'client IP addresses by MQTT bytes',
        columns: [
          c('address', 'address', 'text', 'the client\'s IP address'),
          c('connections', 'conns', 'int', 'connections from it'),
          c('packets', 'packets', 'int', 'MQTT packets both ways'),
          c('bytes', 'bytes', 'int', 'their bytes'),
        ],
      },
      {
        name: 'seconds', title: 'Busiest seconds', describe: 'the ten seconds with most MQTT packets',
        columns: [
          c('second', 'second', 'time', 'the second\'s start'),
          c('packets', 'packets', 'int', 'MQTT packets in it'),
          c('bytes', 'bytes', 'int', 'their bytes'),
        ],
      },
    ],
  },
  {
    name: 'io',
    describe: 'packets per bucket of --interval seconds by packet type: a time series to plot (text table, NDJSON one record per bucket, --csv)',
    tables: [{
      name: 'buckets', title: 'Packets per interval', describe: 'one row per bucket from the first packet\'s second to the last packet, empty buckets included',
      columns: [
        c('start', 'start', 'time', 'the bucket\'s start'),
        c('offsetSec', 'offset s', 'num', 'seconds from the first bucket\'s start'),
        c('packets', 'packets', 'int', 'MQTT packets in the bucket'),
        c('perSecond', 'per s', 'num', 'packets per second'),
        c('bytesC2s', 'bytes c2s', 'int', 'bytes of the MQTT packets clients sent in the bucket'),
        c('bytesS2c', 'bytes s2c', 'int', 'bytes of the MQTT packets servers sent in the bucket'),
        ...TYPE_COLUMNS,
      ],
    }],
  },
  {
    name: 'timing',
    describe: 'handshake and round-trip percentiles (p50/p90/p99/max), overall, per connection and per client, paired by Packet Identifier per connection and direction; the broker\'s forwarding delay (PUBLISH->delivery) from the sessions stage\'s traced deliveries',
    tables: [
      {
        name: 'overall', title: 'Timing', describe: 'one row per pair kind (every kind, so an absent one reads 0)',
        columns: [
          c('pair', 'pair', 'text', 'request->response'),
          ...PERCENTILES,
          c('unmatched', 'unmatched', 'int', 'responses whose request the capture does not hold (it started later)'),
        ],
      },
      {
        name: 'connections', title: 'Timing per connection', describe: 'one row per connection and pair kind it has, at most 10,000 connections',
        columns: [c('conn', 'conn', 'int', 'connection number'), c('clientId', 'client id', 'text', 'its ClientId, null without a CONNECT'), c('pair', 'pair', 'text', 'request->response'), ...PERCENTILES],
      },
      {
        name: 'clients', title: 'Timing per client',
        describe: 'one row per ClientId and pair kind it has, its connections pooled (PUBLISH->delivery: the deliveries it received), clients with most pairs first, at most 10,000 ClientIds',
        columns: [
          c('clientId', 'client id', 'text', 'the ClientId (a 5.0 Assigned Client Identifier for an empty one); null for connections without a CONNECT'),
          c('connections', 'conns', 'int', 'its connections that had a request and response pair'),
          c('pair', 'pair', 'text', 'request->response'), ...PERCENTILES,
        ],
      },
    ],
  },
  {
    name: 'inflight',
    describe: 'in-flight depth over time per connection and direction: the most unacknowledged QoS 1/2 PUBLISH packets at once, when, against the peer\'s Receive Maximum (5.0), how often and how long at it',
    tables: [{
      name: 'connections', title: 'In-flight depth',
      describe: 'one row per connection and direction that had a QoS 1/2 PUBLISH in flight, those that reached their limit first, then the deepest; at most 10,000 (a QoS 1 PUBLISH is in flight until its PUBACK, a QoS 2 one until its PUBCOMP or a 5.0 PUBREC with an error Reason Code)',
      columns: [
        c('conn', 'conn', 'int', 'connection number'),
        c('clientId', 'client id', 'text', 'its ClientId, null without a CONNECT'),
        c('dir', 'dir', 'text', 'c2s or s2c: who sent the PUBLISH packets'),
        c('maxDepth', 'max depth', 'int', 'most unacknowledged QoS 1/2 PUBLISH packets in flight at once'),
        c('maxAt', 'max at', 'time', 'when that depth was first reached'),
        c('maxFrame', 'max frame', 'int', 'the PUBLISH that reached it'),
        c('limit', 'receive max', 'int', 'the peer\'s Receive Maximum: the CONNECT\'s for s2c, the CONNACK\'s for c2s, 65,535 when it has none; null for 3.x or when the capture lacks that packet'),
        c('atLimit', 'at limit', 'int', 'times the depth reached the limit'),
        c('atLimitSec', 'at limit s', 'num', 'seconds spent at the limit'),
        c('overLimit', 'over limit', 'int', 'PUBLISH packets sent with the limit already reached (each also a MQTT-3.3.4-7 / MQTT-3.3.4-9 finding of the rules stage)'),
      ],
    }],
  },
  {
    name: 'qos-flows',
    describe: 'QoS 1 and 2 flows by state: completed, or still waiting for an acknowledgement when the connection closed or the capture ended (with frames)',
    tables: [
      {
        name: 'states', title: 'QoS flows', describe: 'every QoS and direction (c2s: the client published; s2c: the server delivered) with every state, zeros included',
        columns: [
          c('qos', 'QoS', 'int', '1 or 2'),
          c('dir', 'dir', 'text', 'c2s or s2c: who sent the PUBLISH'),
          c('state', 'state', 'text', '"completed", or what never came in the connection: "no PUBACK", "no PUBREC", "no PUBREL", "no PUBCOMP"'),
          c('count', 'flows', 'int', 'flows in that state'),
        ],
      },
      {
        name: 'unacknowledged', title: 'Unacknowledged flows', describe: 'each flow never completed in its connection, in the order they ended, at most 1,000 listed',
        columns: [
          c('conn', 'conn', 'int', 'connection number'),
          c('clientId', 'client id', 'text', 'its ClientId, null without a CONNECT'),
          c('dir', 'dir', 'text', 'who sent the PUBLISH'),
          c('qos', 'QoS', 'int', '1 or 2'),
          c('packetId', 'packet id', 'int', 'the Packet Identifier'),
          c('frame', 'frame', 'int', 'the PUBLISH\'s frame'),
          c('awaiting', 'awaiting', 'text', 'what never came: PUBACK, PUBREC, PUBREL or PUBCOMP'),
          c('ended', 'ended', 'text', '"close" (the connection closed), "capture-end" (still open when the capture ended), "id-reused" (a new PUBLISH took the Packet Identifier)'),
          c('endFrame', 'end frame', 'int', 'the frame of that close or PUBLISH'),
        ],
      },
    ],
  },
];

export const SECTION_NAMES: readonly string[] = STATS_SECTIONS.map((s) => s.name);

export function sectionNamed(name: string): StatsSection | undefined {
  return STATS_SECTIONS.find((s) => s.name === name);
}

const md = (s: string): string => s.replace(/\|/g, '\\|');

/** docs/stats.md's generated part. */
export function statsSectionsMarkdown(): string {
  const out: string[] = ['| section | what it shows |', '|---|---|'];
  for (const s of STATS_SECTIONS) out.push(`| \`${s.name}\` | ${md(s.describe)} |`);
  for (const s of STATS_SECTIONS) {
    out.push('', `### \`${s.name}\``, '', md(s.describe) + '.');
    for (const t of s.tables) {
      out.push('', `Table \`${t.name}\` (${t.title}): ${md(t.describe)}.`, '', '| column | heading | type | meaning |', '|---|---|---|---|');
      for (const col of t.columns) out.push(`| \`${col.key}\` | ${md(col.head)} | ${col.type} | ${md(col.describe)} |`);
    }
  }
  return out.join('\n');
}

const BEGIN = '<!-- stats sections: generated from src/render/stats/sections.ts -->';
const END = '<!-- end of stats sections -->';

export function withStatsSectionsMarkdown(doc: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/stats.md lacks the ${BEGIN} … ${END} markers`);
  return `${doc.slice(0, a + BEGIN.length)}\n\n${statsSectionsMarkdown()}\n\n${doc.slice(b)}`;
}

/** `stats --list`: every section with its tables and columns. */
export function statsListText(): string[] {
  const out: string[] = ['Statistics sections (mqtt-dissect stats NAME CAPTURE; docs/stats.md):'];
  const width = Math.max(...STATS_SECTIONS.map((s) => s.name.length));
  for (const s of STATS_SECTIONS) {
    out.push('', `${s.name.padEnd(width)}  ${s.describe}`);
    for (const t of s.tables) out.push(`  table ${t.name}: ${t.columns.map((col) => col.key).join(', ')}`);
  }
  return out;
}
