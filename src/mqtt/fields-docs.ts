/**
 * The field and property tables of docs/json.md, generated from the field registry (fields.ts) and the property table
 * (tables.ts). test/fields-docs.test.ts keeps the block between the two markers of docs/json.md equal to this output;
 * `UPDATE_FIELDS_DOC=1 npx vitest run test/fields-docs` rewrites it.
 */
import { PACKET_FIELDS, PROPERTY_FIELDS, type PacketFieldRow } from './fields.js';
import { packetTypeName, type PropContext } from './tables.js';

export const FIELDS_DOC_BEGIN = '<!-- begin generated from src/mqtt/fields.ts by src/mqtt/fields-docs.ts; do not edit by hand -->';
export const FIELDS_DOC_END = '<!-- end generated -->';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(s: string): string {
  return `\`${s}\``;
}

/** Wireshark's names for one row across the packet types of a section (they differ per type for reason codes). */
function tsharkNames(rows: readonly PacketFieldRow[]): string {
  const names = [...new Set(rows.map((r) => r.tshark ?? r.field.tshark).filter((n): n is string => n !== undefined))];
  return names.map(code).join(', ');
}

/** What the docs say of a section beyond its table: examples and the versions without fields. */
const NOTES: Readonly<Record<string, readonly string[]>> = {
  CONNECT: [
    'Example (the 47-byte 3.1.1 CONNECT `10 2d 00 04 4d 51 54 54 04 c2 0b b8 …`):',
    '',
    '```json',
    '{ "protocolName": "MQTT", "protocolLevel": 4, "cleanSession": true, "willFlag": false, "willQos": 0,',
    '  "willRetain": false, "passwordFlag": true, "usernameFlag": true, "keepAlive": 3000,',
    '  "clientId": "40F0600050804050", "username": "admin", "password": { "encoding": "utf8", "text": "password" } }',
    '```',
  ],
  DISCONNECT: ['In 3.1 and 3.1.1, `fields` is `{}`.'],
  AUTH: ['Before 5.0, type 15 is `RESERVED` and `fields` is `{}`.'],
};

/** Packet types that share one table because their rows say the same (PUBACK … PUBCOMP; PINGREQ, PINGRESP). */
function sections(): { types: number[]; rows: PacketFieldRow[][] }[] {
  const out: { types: number[]; rows: PacketFieldRow[][] }[] = [];
  const shape = (rows: readonly PacketFieldRow[]): string => rows.map((r) => `${r.path}\u0000${r.versions}\u0000${r.meaning}`).join('\u0001');
  for (let type = 1; type <= 15; type++) {
    const rows = PACKET_FIELDS[type]!;
    const last = out[out.length - 1];
    if (last && last.types[last.types.length - 1] === type - 1 && shape(last.rows[0]!) === shape(rows)) {
      last.types.push(type);
      last.rows.push([...rows]);
    } else {
      out.push({ types: [type], rows: [[...rows]] });
    }
  }
  return out;
}

function heading(types: readonly number[]): string {
  const names = types.map((t) => packetTypeName(t, 5)).join(', ');
  const nums = types.length === 1 ? `type ${types[0]}` : types.length === 2 ? `types ${types[0]}, ${types[1]}` : `types ${types[0]}-${types[types.length - 1]}`;
  return `## ${names} (${nums}${types[0] === 15 ? ', 5.0 only' : ''})`;
}

function propertyContexts(contexts: readonly PropContext[], senderOnly: { packet: number; dir: string } | undefined): string {
  return contexts
    .map((c) => {
      if (c === 'WILL') return 'Will';
      const name = packetTypeName(c, 5);
      if (senderOnly && senderOnly.packet === c) return `${name} (${senderOnly.dir === 's2c' ? 'server → client' : 'client → server'})`;
      return name;
    })
    .join(', ');
}

/** The generated block of docs/json.md (without its markers). */
export function fieldsMarkdown(): string {
  const out: string[] = [];
  for (const s of sections()) {
    out.push(heading(s.types), '');
    const first = s.rows[0]!;
    if (first.length === 0) {
      out.push('`fields` is `{}`.', '');
      continue;
    }
    out.push('| field | type | versions | tshark | meaning |', '|---|---|---|---|---|');
    for (let i = 0; i < first.length; i++) {
      const r = first[i]!;
      const same = s.rows.map((rows) => rows[i]!);
      out.push(`| ${code(r.path)} | ${cell(r.field.json)} | ${cell(r.versions)} | ${tsharkNames(same)} | ${cell(r.meaning)} |`);
    }
    out.push('');
    const notes = NOTES[packetTypeName(s.types[0]!, 5)];
    if (notes) out.push(...notes, '');
  }
  out.push('## RESERVED (type 0; type 15 before 5.0)', '', '`fields` is `{}`. The layout is unknown, so only the fixed header is decoded.', '');
  out.push('## Property keys (5.0)', '');
  out.push('| id | key | JSON type | allowed in | tshark |', '|---|---|---|---|---|');
  for (const p of PROPERTY_FIELDS) {
    const id = `0x${p.property.id.toString(16).toUpperCase().padStart(2, '0')}`;
    out.push(`| ${id} | ${code(p.property.key)} | ${cell(p.json)} | ${cell(propertyContexts(p.property.contexts, p.property.senderOnly))} | ${p.tshark ? code(p.tshark) : ''} |`);
  }
  return out.join('\n');
}

/** docs/json.md with its generated block replaced by the registry's current one. */
export function withFieldsMarkdown(doc: string): string {
  const a = doc.indexOf(FIELDS_DOC_BEGIN);
  const b = doc.indexOf(FIELDS_DOC_END);
  if (a < 0 || b < a) throw new Error('docs/json.md lacks the generated-block markers');
  return `${doc.slice(0, a + FIELDS_DOC_BEGIN.length)}\n\n${fieldsMarkdown()}\n${doc.slice(b)}`;
}
