/**
 * A Sparkplug B payload from its wire walk (../protobuf/wire.ts): the typed payload the checks and views read, with
 * the byte range of every metric and of its parts. Values are kept as read (which oneof field, which scalar) until
 * the data type is known: an NDATA metric usually has only an alias, and its type comes from the birth certificate
 * (state.ts), so metricValue() turns a raw value into a typed one when the caller knows the type.
 */
import { isUtf8 } from 'node:buffer';
import { rangeHex, rangeText } from '../protobuf/value.js';
import { walkMessage, type WireField, type WireLimits, type WireScalar } from '../protobuf/wire.js';
import { dataType, sparkplugTypes, type ValueField } from './schema.js';

/** Bytes of a Bytes/File value shown as hex. */
export const MAX_HEX_BYTES = 256;
/** Array elements decoded from one bytes_value; DataSet rows kept. */
export const MAX_ARRAY_ITEMS = 1024;
export const MAX_ROWS = 1024;

/** A value as it was on the wire: which oneof member, and its scalar, byte range or sub-message. */
export interface RawValue {
  field: ValueField | 'extension_value';
  wire: WireField;
}

export interface SpProperty {
  key: string | undefined;
  type: number | undefined;
  isNull: boolean;
  raw: RawValue | undefined;
  /** The type field as sent, when sent (for its wire encoding). */
  typeWire: WireField | undefined;
}

export interface SpMetric {
  /** Position in the payload's metrics (or a template's). */
  index: number;
  start: number;
  end: number;
  name: string | undefined;
  nameRange: { start: number; end: number } | undefined;
  alias: number | string | undefined;
  timestamp: number | string | undefined;
  datatype: number | undefined;
  /** The datatype field as sent, when sent (for its wire encoding). */
  datatypeWire: WireField | undefined;
  isHistorical: boolean | undefined;
  isTransient: boolean | undefined;
  isNull: boolean | undefined;
  raw: RawValue | undefined;
  /** Set when a value field appeared more than once (the last wins in protobuf; both are shown as a finding). */
  valueFields: number;
  properties: { keys: string[]; values: SpProperty[]; start: number; end: number } | undefined;
  metadata: Record<string, WireScalar> | undefined;
}

export interface SpPayload {
  timestamp: number | string | undefined;
  seq: number | string | undefined;
  /** Where the seq field's bytes are (for findings about it). */
  seqRange: { start: number; end: number } | undefined;
  uuid: string | undefined;
  bodyLength: number | undefined;
  metrics: SpMetric[];
  /** Fields the schema does not have (extensions, garbage), by number. */
  unknownFields: number[];
  /** The bytes are not a well-formed protobuf message (the walk stopped here). */
  error: { message: string; offset: number } | undefined;
  /** What a limit cut. */
  cut: string[];
  /** The walk, for the byte-level tree. */
  wire: WireField[];
}

export const SPARKPLUG_WIRE_LIMITS: WireLimits = Object.freeze({ maxDepth: 16, maxFields: 50_000 });

export function decodeSparkplugPayload(b: Uint8Array, start: number, end: number, limits: WireLimits = SPARKPLUG_WIRE_LIMITS): SpPayload {
  const walk = walkMessage(b, start, end, sparkplugTypes().payload, limits);
  const p: SpPayload = {
    timestamp: undefined, seq: undefined, seqRange: undefined, uuid: undefined, bodyLength: undefined, metrics: [],
    unknownFields: [], error: walk.error, cut: walk.cut, wire: walk.fields,
  };
  for (const f of walk.fields) {
    if (f.note !== undefined && f.message === undefined) {
      p.unknownFields.push(f.fieldNo);
      continue;
    }
    switch (f.name) {
      case 'timestamp': p.timestamp = numberish(f.scalar); break;
      case 'seq': p.seq = numberish(f.scalar); p.seqRange = { start: f.tagStart, end: f.end }; break;
      case 'uuid': p.uuid = text(b, f.start, f.end); break;
      case 'body': p.bodyLength = f.end - f.start; break;
      case 'metrics': if (f.message) p.metrics.push(metricOf(b, f, p.metrics.length)); break;
      default: p.unknownFields.push(f.fieldNo);
    }
  }
  return p;
}

function numberish(v: WireScalar | undefined): number | string | undefined {
  return typeof v === 'number' || typeof v === 'string' ? v : undefined;
}

const text = rangeText;

/**
 * A field declared uint32 (or one element of a packed uint32 array) that was not sent as one: with another wire type,
 * or as a varint wider than 32 bits (more than 5 bytes, or a 5th byte above 0x0f), which a reader truncates.
 */
export function notUint32(b: Uint8Array, f: { note?: string | undefined; start: number; end: number; wireType?: number }): boolean {
  if (f.note !== undefined) return true;
  if (f.wireType !== undefined && f.wireType !== 0) return f.wireType !== 2; // 2: a packed array, judged per element
  const len = f.end - f.start;
  return len > 5 || (len === 5 && (b[f.end - 1] ?? 0) > 0x0f);
}

export function validUtf8(b: Uint8Array, start: number, end: number): boolean {
  return isUtf8(b.subarray(start, end));
}

const VALUE_FIELDS = new Set<string>(['int_value', 'long_value', 'float_value', 'double_value', 'boolean_value', 'string_value', 'bytes_value', 'dataset_value', 'template_value', 'propertyset_value', 'propertysets_value', 'extension_value']);

export function metricOf(b: Uint8Array, f: WireField, index: number): SpMetric {
  const m: SpMetric = {
    index, start: f.tagStart, end: f.end, name: undefined, nameRange: undefined, alias: undefined, timestamp: undefined,
    datatype: undefined, datatypeWire: undefined, isHistorical: undefined, isTransient: undefined, isNull: undefined, raw: undefined, valueFields: 0,
    properties: undefined, metadata: undefined,
  };
  for (const g of f.message ?? []) {
    if (g.name === 'datatype') m.datatypeWire = g;
    if (g.note !== undefined && g.message === undefined) continue;
    const n = g.name;
    if (n === undefined) continue;
    if (VALUE_FIELDS.has(n)) {
      m.raw = { field: n as RawValue['field'], wire: g }; // n is one of VALUE_FIELDS' names, the members of RawValue['field']
      m.valueFields++;
      continue;
    }
    switch (n) {
      case 'name': m.name = text(b, g.start, g.end); m.nameRange = { start: g.tagStart, end: g.end }; break;
      case 'alias': m.alias = numberish(g.scalar); break;
      case 'timestamp': m.timestamp = numberish(g.scalar); break;
      case 'datatype': m.datatype = typeof g.scalar === 'number' ? g.scalar : undefined; break;
      case 'is_historical': m.isHistorical = g.scalar === true; break;
      case 'is_transient': m.isTransient = g.scalar === true; break;
      case 'is_null': m.isNull = g.scalar === true; break;
      case 'properties': if (g.message) m.properties = propertySetOf(b, g); break;
      case 'metadata': m.metadata = metadataOf(b, g); break;
    }
  }
  return m;
}

function propertySetOf(b: Uint8Array, f: WireField): NonNullable<SpMetric['properties']> {
  const keys: string[] = [];
  const values: SpProperty[] = [];
  for (const g of f.message ?? []) {
    if (g.name === 'keys') keys.push(text(b, g.start, g.end));
    else if (g.name === 'values' && g.message) values.push(propertyValueOf(g));
  }
  for (let i = 0; i < values.length; i++) values[i]!.key = keys[i];
  return { keys, values, start: f.tagStart, end: f.end };
}

function propertyValueOf(f: WireField): SpProperty {
  const p: SpProperty = { key: undefined, type: undefined, isNull: false, raw: undefined, typeWire: undefined };
  for (const g of f.message ?? []) {
    if (g.name === 'type') p.typeWire = g;
    if (g.name === 'type' && typeof g.scalar === 'number') p.type = g.scalar;
    else if (g.name === 'is_null') p.isNull = g.scalar === true;
    else if (g.name !== undefined && VALUE_FIELDS.has(g.name)) p.raw = { field: g.name as RawValue['field'], wire: g }; // see metricOf
  }
  return p;
}

function metadataOf(b: Uint8Array, f: WireField): Record<string, WireScalar> {
  const out: Record<string, WireScalar> = {};
  for (const g of f.message ?? []) {
    if (g.name === undefined) continue;
    out[camel(g.name)] = g.scalar !== undefined ? g.scalar : text(b, g.start, g.end);
  }
  return out;
}

export function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A typed value, or why it cannot be one. */
export interface TypedValue {
  value: unknown;
  /** The value's field is not the one the data type is carried in, or the value is out of the type's range. */
  problem?: string;
}

/** The value of a raw metric/property value read as data type `type` (undefined: as the wire says). */
export function metricValue(b: Uint8Array, raw: RawValue, type: number | undefined, depth = 0): TypedValue {
  const row = dataType(type);
  const w = raw.wire;
  const s = w.scalar;
  let problem: string | undefined;
  if (row && row.field !== null && row.field !== raw.field && raw.field !== 'extension_value') {
    problem = `${row.name} belongs in ${row.field}, but this value is in ${raw.field}`;
  }
  switch (raw.field) {
    case 'int_value': {
      if (typeof s !== 'number') return { value: null, problem: w.note ?? 'int_value is not a varint' };
      if (row?.bits !== undefined && row.bits <= 32) {
        // Signed types travel as the 32-bit two's complement in a uint32 (Tahu's encoders sign-extend to 32 bits).
        const v = row.signed ? s | 0 : s >>> 0;
        const lim = row.signed ? 2 ** (row.bits - 1) : 2 ** row.bits;
        if (row.signed ? v < -lim || v >= lim : v >= lim) problem ??= `${v} is outside the range of ${row.name}`;
        return withProblem(v, problem);
      }
      return withProblem(s, problem);
    }
    case 'long_value': {
      if (typeof s !== 'number' && typeof s !== 'string') return { value: null, problem: w.note ?? 'long_value is not a varint' };
      if (row?.signed === true && row.bits === 64) {
        const x = BigInt(s);
        const signed = x >= 1n << 63n ? x - (1n << 64n) : x;
        const n = Number(signed);
        return withProblem(Number.isSafeInteger(n) ? n : signed.toString(), problem);
      }
      if (row?.bits !== undefined && row.bits <= 32 && BigInt(s) >= 1n << BigInt(row.bits)) problem ??= `${s} is outside the range of ${row.name}`;
      return withProblem(s, problem);
    }
    case 'float_value':
    case 'double_value':
    case 'boolean_value':
      return withProblem(s ?? null, problem ?? w.note);
    case 'string_value':
      return withProblem(text(b, w.start, w.end), problem ?? (validUtf8(b, w.start, w.end) ? undefined : 'the string is not valid UTF-8'));
    case 'bytes_value':
      return withProblem(row?.element ? arrayValue(b, w.start, w.end, row.element) : hexValue(b, w.start, w.end), problem);
    case 'dataset_value':
      return withProblem(w.message ? dataSetValue(b, w.message) : null, problem);
    case 'template_value':
      return withProblem(w.message && depth < 8 ? templateValue(b, w.message, depth) : null, problem);
    case 'propertyset_value':
    case 'propertysets_value':
    case 'extension_value':
      return withProblem(hexValue(b, w.start, w.end), problem);
  }
}

function withProblem(value: unknown, problem: string | undefined): TypedValue {
  return problem === undefined ? { value } : { value, problem };
}

export function hexValue(b: Uint8Array, start: number, end: number): string {
  return rangeHex(b, start, end, MAX_HEX_BYTES);
}

/** Packed little-endian arrays (§6.4.17): fixed-width elements, BooleanArray's count + bits, NUL-ended strings. */
function arrayValue(b: Uint8Array, start: number, end: number, el: { size: number; of: string }): unknown[] {
  const dv = new DataView(b.buffer, b.byteOffset + start, end - start);
  const n = end - start;
  const out: unknown[] = [];
  if (el.size > 0) {
    for (let i = 0; i + el.size <= n && out.length < MAX_ARRAY_ITEMS; i += el.size) {
      switch (el.of) {
        case 'int8': out.push(dv.getInt8(i)); break;
        case 'uint8': out.push(dv.getUint8(i)); break;
        case 'int16': out.push(dv.getInt16(i, true)); break;
        case 'uint16': out.push(dv.getUint16(i, true)); break;
        case 'int32': out.push(dv.getInt32(i, true)); break;
        case 'uint32': out.push(dv.getUint32(i, true)); break;
        case 'float32': out.push(dv.getFloat32(i, true)); break;
        case 'float64': out.push(dv.getFloat64(i, true)); break;
        case 'int64': out.push(safe(dv.getBigInt64(i, true))); break;
        case 'uint64': out.push(safe(dv.getBigUint64(i, true))); break;
      }
    }
    return out;
  }
  if (el.size === 0) {
    if (n < 4) return out;
    const count = dv.getUint32(0, true);
    for (let i = 0; i < count && 4 + (i >> 3) < n && out.length < MAX_ARRAY_ITEMS; i++) out.push(((b[start + 4 + (i >> 3)]! >> (7 - (i & 7))) & 1) === 1);
    return out;
  }
  let from = start;
  for (let i = start; i < end && out.length < MAX_ARRAY_ITEMS; i++) {
    if (b[i] === 0) {
      out.push(text(b, from, i));
      from = i + 1;
    }
  }
  return out;
}

function safe(x: bigint): number | string {
  const n = Number(x);
  return Number.isSafeInteger(n) ? n : x.toString();
}

function dataSetValue(b: Uint8Array, fields: WireField[]): Record<string, unknown> {
  const columns: string[] = [];
  const types: number[] = [];
  const rows: unknown[][] = [];
  let numOfColumns: number | string | undefined;
  for (const g of fields) {
    if (g.name === 'num_of_columns') numOfColumns = numberish(g.scalar);
    else if (g.name === 'columns') columns.push(text(b, g.start, g.end));
    else if (g.name === 'types') {
      if (g.packed) for (const p of g.packed) types.push(Number(p.value));
      else if (typeof g.scalar === 'number') types.push(g.scalar);
    } else if (g.name === 'rows' && g.message && rows.length < MAX_ROWS) {
      const row: unknown[] = [];
      for (const e of g.message) {
        if (e.name !== 'elements' || !e.message) continue;
        const v = e.message[0];
        const col = row.length;
        if (v?.name !== undefined && VALUE_FIELDS.has(v.name)) row.push(metricValue(b, { field: v.name as RawValue['field'], wire: v }, types[col]).value); // see metricOf
        else row.push(null);
      }
      rows.push(row);
    }
  }
  const out: Record<string, unknown> = {};
  if (numOfColumns !== undefined) out['numOfColumns'] = numOfColumns;
  out['columns'] = columns;
  out['types'] = types.map((t) => dataType(t)?.name ?? t);
  out['rows'] = rows;
  return out;
}

/** The parts of a Template the checks read (definition or instance, its reference and member metrics). */
export interface SpTemplate {
  version: string | undefined;
  /** The version's bytes are UTF-8 (true when there is no version). */
  versionUtf8: boolean;
  templateRef: string | undefined;
  isDefinition: boolean | undefined;
  metrics: SpMetric[];
  /** nameUtf8: the name's bytes are UTF-8 (true without a name); typeWire: the type field as sent, when sent. */
  parameters: { name: string | undefined; nameUtf8: boolean; type: number | undefined; typeWire: WireField | undefined; raw: RawValue | undefined }[];
}

export function templateOf(b: Uint8Array, fields: WireField[]): SpTemplate {
  const t: SpTemplate = { version: undefined, versionUtf8: true, templateRef: undefined, isDefinition: undefined, metrics: [], parameters: [] };
  for (const g of fields) {
    if (g.name === 'version') {
      t.version = text(b, g.start, g.end);
      t.versionUtf8 = validUtf8(b, g.start, g.end);
    } else if (g.name === 'template_ref') t.templateRef = text(b, g.start, g.end);
    else if (g.name === 'is_definition') t.isDefinition = g.scalar === true;
    else if (g.name === 'metrics' && g.message) t.metrics.push(metricOf(b, g, t.metrics.length));
    else if (g.name === 'parameters' && g.message) {
      const p: SpTemplate['parameters'][number] = { name: undefined, nameUtf8: true, type: undefined, typeWire: undefined, raw: undefined };
      for (const h of g.message) {
        if (h.name === 'name') {
          p.name = text(b, h.start, h.end);
          p.nameUtf8 = validUtf8(b, h.start, h.end);
        } else if (h.name === 'type') {
          p.typeWire = h;
          if (typeof h.scalar === 'number') p.type = h.scalar;
        } else if (h.name !== undefined && VALUE_FIELDS.has(h.name)) p.raw = { field: h.name as RawValue['field'], wire: h }; // see metricOf
      }
      t.parameters.push(p);
    }
  }
  return t;
}

function templateValue(b: Uint8Array, fields: WireField[], depth: number): Record<string, unknown> {
  const t = templateOf(b, fields);
  const out: Record<string, unknown> = {};
  if (t.version !== undefined) out['version'] = t.version;
  if (t.templateRef !== undefined) out['templateRef'] = t.templateRef;
  if (t.isDefinition !== undefined) out['isDefinition'] = t.isDefinition;
  out['metrics'] = t.metrics.map((m) => ({
    ...(m.name !== undefined ? { name: m.name } : {}),
    ...(m.datatype !== undefined ? { datatype: dataType(m.datatype)?.name ?? m.datatype } : {}),
    value: m.raw ? metricValue(b, m.raw, m.datatype, depth + 1).value : null,
  }));
  if (t.parameters.length > 0) {
    out['parameters'] = t.parameters.map((p) => ({ name: p.name, type: dataType(p.type)?.name ?? p.type, value: p.raw ? metricValue(b, p.raw, p.type, depth + 1).value : null }));
  }
  return out;
}

/** A property set as a plain object (key → value), for the views. */
export function propertiesValue(b: Uint8Array, ps: NonNullable<SpMetric['properties']>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of ps.values) {
    if (p.key === undefined) continue;
    out[p.key] = p.isNull || !p.raw ? null : metricValue(b, p.raw, p.type).value;
  }
  return out;
}
