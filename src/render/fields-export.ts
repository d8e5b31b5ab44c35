/**
 * Field export (`-T fields -e FIELD … -E …`, `--csv`): one row per MQTT packet, in tshark's conventions so that the
 * scripts built on `tshark -T fields -e mqtt.*` (the MQTTset and MQTT-IoT-IDS2020 datasets among them) work with our
 * rows (their IP and TCP columns too, ip.ttl … tcp.time_delta: the headers of the frame that completed the packet,
 * docs/filters.md lists both datasets' column sets): values of a field with several (a SUBSCRIBE's topic filters)
 * joined by the aggregator (`,`), flags as 1/0,
 * bytes as plain hex, an absent field empty (and never quoted), `-E header=y` the field names as given. What differs
 * from tshark is on purpose and in docs/filters.md: rows are MQTT packets, not frames (two packets in one frame are
 * two rows), and values are made safe for a terminal and for CSV (control characters escaped as \n, \t, \xHH; a quote
 * inside a quoted value doubled).
 */
import type { PacketRecord, PacketSink, Violation } from '../mqtt/connection-decoder.js';
import type { Connection, ConnectionEnd, StreamEvent } from '../tcp/types.js';
import { escapeControls, Subject, type FilterField } from '../filter/fields.js';
import { ConnFactsTable } from '../filter/stage.js';
import { REDACTED } from './fields.js';

export interface ExportOptions {
  /** The fields, resolved, with the names the user gave them (the header shows those). */
  readonly fields: readonly { readonly name: string; readonly field: FilterField }[];
  readonly separator: string;
  readonly header: boolean;
  /** d: "value", s: 'value', n: as is. */
  readonly quote: 'd' | 's' | 'n';
  /** Between the values of a field with several. */
  readonly aggregator: string;
  /** --redact: secrets (password, authentication data) exported as *** . */
  readonly redact?: boolean;
}

export const DEFAULT_EXPORT: Omit<ExportOptions, 'fields'> = { separator: '\t', header: false, quote: 'n', aggregator: ',' };

/** The columns `--csv` exports when no -e is given. */
export const CSV_DEFAULT_FIELDS = ['frame', 'time', 'conn', 'src', 'dst', 'type', 'clientId', 'topic', 'qos', 'packetId', 'payloadLength', 'violation.id'];

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]!;
  return s;
}

export class FieldsExporter implements PacketSink {
  private readonly facts = new ConnFactsTable();
  private readonly subject = new Subject();
  private readonly o: ExportOptions;
  private readonly write: (line: string) => void;
  private readonly q: string;
  rows = 0;

  constructor(o: ExportOptions, write: (line: string) => void) {
    this.o = o;
    this.write = write;
    this.q = o.quote === 'd' ? '"' : o.quote === 's' ? "'" : '';
    if (o.header) write(o.fields.map((f) => f.name).join(o.separator));
  }

  open(conn: Connection): void {
    this.facts.open(conn);
  }

  packet(rec: PacketRecord): void {
    const s = this.subject;
    s.kind = 'packet';
    s.rec = rec;
    s.facts = this.facts.packet(rec);
    const cells: string[] = [];
    for (const { field } of this.o.fields) cells.push(this.cell(field, s));
    s.rec = null;
    this.rows++;
    this.write(cells.join(this.o.separator));
  }

  event(_ev: StreamEvent & { violations?: Violation[] }): void {
    // Rows are packets; events are in --json and the text view.
  }

  close(conn: Connection, _end: ConnectionEnd): void {
    this.facts.close(conn);
  }

  private cell(f: FilterField, s: Subject): string {
    if (f.secret === true && this.o.redact === true) return f.get(s) === undefined ? '' : this.q + REDACTED + this.q;
    let v: string;
    const text = f.text?.(s);
    if (text !== undefined) return this.quoted(text);
    switch (f.type) {
      case 'number': {
        const x = f.get(s);
        if (x === undefined) return '';
        if (typeof x !== 'number' && x.length === 0) return '';
        v = typeof x === 'number' ? String(x) : x.join(this.o.aggregator);
        break;
      }
      case 'string': {
        const x = f.get(s);
        if (x === undefined) return '';
        if (typeof x !== 'string' && x.length === 0) return '';
        v = typeof x === 'string' ? escapeControls(x) : x.map(escapeControls).join(this.o.aggregator);
        break;
      }
      case 'boolean': {
        const x = f.get(s);
        if (x === undefined) return '';
        v = x ? '1' : '0';
        break;
      }
      case 'bytes': {
        const x = f.get(s);
        if (x === undefined) return '';
        v = hex(x);
        break;
      }
    }
    return this.quoted(v);
  }

  private quoted(v: string): string {
    const q = this.q;
    return q === '' ? v : q + v.split(q).join(q + q) + q;
  }
}
