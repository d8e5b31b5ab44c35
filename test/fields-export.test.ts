/** Field export (-T fields, --csv): tshark's conventions, values safe for CSV and terminals, secrets masked, bad options refused. */
import { describe, expect, it } from 'vitest';
import { exportArgs, type ExportFlags } from '../src/cli/export-args.js';
import { resolveField } from '../src/filter/compile.js';
import { FieldsExporter, type ExportOptions } from '../src/render/fields-export.js';
import { connack, connect, publish, subscribe } from './builders/mqtt-bytes.js';
import { Harness } from './builders/rules-harness.js';

function rows(names: string[], o: Partial<Omit<ExportOptions, 'fields'>>, build: (h: Harness) => void): string[] {
  const h = new Harness();
  build(h);
  const out: string[] = [];
  const ex = new FieldsExporter({ separator: '\t', header: false, quote: 'n', aggregator: ',', ...o, fields: names.map((name) => ({ name, field: resolveField(name) })) }, (l) => out.push(l));
  ex.open(h.conn);
  for (const rec of h.sink.packets) ex.packet(rec);
  return out;
}

describe('rows', () => {
  it('one per packet, absent fields empty, flags 1/0, bytes hex, lists joined, connection fields on every row', () => {
    const r = rows(['type', 'mqtt.retain', 'topic', 'payload', 'qos', 'clientId', 'mqtt.conflags', 'mqtt.hdrflags'], {}, (h) => {
      h.c(connect({ clientId: 'dev-1' }));
      h.s(connack());
      h.c(publish({ topic: 'a/b', payload: 'hi', retain: true }));
      h.c(subscribe({ packetId: 1, subscriptions: [{ topic: 'x/#', qos: 1 }, { topic: 'y', qos: 2 }] }));
    });
    expect(r).toEqual([
      'CONNECT\t\t\t\t\tdev-1\t0x02\t0x10',
      'CONNACK\t\t\t\t\tdev-1\t\t0x20',
      'PUBLISH\t1\ta/b\t6869\t0\tdev-1\t\t0x31',
      'SUBSCRIBE\t\tx/#,y\t\t1,2\tdev-1\t\t0x82',
    ]);
  });

  it('quotes with -E quote=d, doubling a quote inside, never quoting an absent value; a header of the names as given', () => {
    const r = rows(['mqtt.topic', 'mqtt.msgid'], { separator: ',', quote: 'd', header: true }, (h) => {
      h.c(connect());
      h.c(publish({ topic: 'say "hi", now' }));
    });
    expect(r).toEqual(['mqtt.topic,mqtt.msgid', ',', '"say ""hi"", now",']);
  });

  it('escapes control characters and the backslash, so a row stays one safe line', () => {
    const r = rows(['topic'], {}, (h) => {
      h.c(connect());
      h.c(publish({ topic: 'a\nb\u001b[31m\\c\u0085' }));
    });
    expect(r[1]).toBe('a\\nb\\x1b[31m\\\\c\\x85');
  });

  it('masks secrets under --redact, and shows a password as text (as Wireshark does) otherwise', () => {
    const build = (h: Harness): void => { h.c(connect({ username: 'u', password: 'hunter2' })); };
    expect(rows(['mqtt.passwd', 'mqtt.passwd_len', 'username'], {}, build)).toEqual(['hunter2\t7\tu']);
    expect(rows(['mqtt.passwd', 'mqtt.passwd_len', 'username'], { redact: true }, build)).toEqual(['***\t7\tu']);
  });

  it('writes frame.time_epoch to the nanosecond, as tshark does', () => {
    const r = rows(['frame.time_epoch'], {}, (h) => { h.c(connect(), 1_700_000_000.000000123); });
    // Nine decimals whatever the value (a double would print 1700000000.0000002).
    expect(r[0]).toMatch(/^1700000000\.\d{9}$/);
  });
});

describe('the options', () => {
  const flags = (f: Partial<ExportFlags>): ExportFlags => ({ format: undefined, csv: false, fields: [], options: [], json: false, verbose: false, hex: false, ...f });
  it('refuse what cannot be honoured, like tshark', () => {
    expect(exportArgs(flags({ fields: ['topic'] }))).toBe('-e needs -T fields (or --csv)');
    expect(exportArgs(flags({ options: ['header=y'] }))).toBe('-E needs -T fields (or --csv)');
    expect(exportArgs(flags({ format: 'fields' }))).toContain('needs at least one -e FIELD');
    expect(exportArgs(flags({ format: 'fields', fields: ['topik'] }))).toBe('-e topik: unknown field "topik" (did you mean topic?)');
    expect(exportArgs(flags({ format: 'fields', fields: ['topic'], options: ['separator=ab'] }))).toContain('give one character');
    expect(exportArgs(flags({ format: 'fields', fields: ['topic'], options: ['quote=x'] }))).toContain('give d (double)');
    expect(exportArgs(flags({ format: 'fields', fields: ['topic'], options: ['occurrence=f'] }))).toContain('only a');
    expect(exportArgs(flags({ format: 'fields', fields: ['topic'], options: ['colour=red'] }))).toContain('not an -E setting');
    expect(exportArgs(flags({ csv: true, json: true }))).toContain('leave out --json');
    expect(exportArgs(flags({ csv: true, hex: true }))).toContain('leave out -V and -x');
  });

  it('--csv: commas, a header, double quotes, and default columns unless -e names them', () => {
    const a = exportArgs(flags({ csv: true }));
    expect(a).toMatchObject({ options: { separator: ',', header: true, quote: 'd' } });
    expect(typeof a === 'object' && a.names).toContain('clientId');
    expect(exportArgs(flags({ csv: true, fields: ['topic'] }))).toMatchObject({ names: ['topic'] });
    expect(exportArgs(flags({ format: 'fields', fields: ['topic'], options: ['separator=/t', 'aggregator=/s'] }))).toMatchObject({ options: { separator: '\t', aggregator: ' ' } });
  });
});
