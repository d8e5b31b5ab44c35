/**
 * Sparkplug B, declared once: the payload schema (Sparkplug 3.0.0 §6.4, proto2, package org.eclipse.tahu.protobuf),
 * the data types with the value field each is carried in, and the topic's message types. The decoder, the checks,
 * the views and docs/sparkplug.md read these tables.
 */
import protobuf from 'protobufjs';

/** The namespace every Sparkplug B topic starts with. */
export const SPARKPLUG_NAMESPACE = 'spBv1.0';

/**
 * The schema, restated field by field from the specification (numbers, types and nesting are the protocol; the
 * extension ranges are left out: extension fields are unknown fields to us and are shown as such).
 */
const SCHEMA = `
syntax = "proto2";
package org.eclipse.tahu.protobuf;
message Payload {
  message Template {
    message Parameter {
      optional string name = 1;
      optional uint32 type = 2;
      oneof value {
        uint32 int_value = 3; uint64 long_value = 4; float float_value = 5; double double_value = 6;
        bool boolean_value = 7; string string_value = 8; bytes extension_value = 9;
      }
    }
    optional string version = 1;
    repeated Metric metrics = 2;
    repeated Parameter parameters = 3;
    optional string template_ref = 4;
    optional bool is_definition = 5;
  }
  message DataSet {
    message DataSetValue {
      oneof value {
        uint32 int_value = 1; uint64 long_value = 2; float float_value = 3; double double_value = 4;
        bool boolean_value = 5; string string_value = 6; bytes extension_value = 7;
      }
    }
    message Row { repeated DataSetValue elements = 1; }
    optional uint64 num_of_columns = 1;
    repeated string columns = 2;
    repeated uint32 types = 3;
    repeated Row rows = 4;
  }
  message PropertyValue {
    optional uint32 type = 1;
    optional bool is_null = 2;
    oneof value {
      uint32 int_value = 3; uint64 long_value = 4; float float_value = 5; double double_value = 6;
      bool boolean_value = 7; string string_value = 8; PropertySet propertyset_value = 9;
      PropertySetList propertysets_value = 10; bytes extension_value = 11;
    }
  }
  message PropertySet {
    repeated string keys = 1;
    repeated PropertyValue values = 2;
  }
  message PropertySetList { repeated PropertySet propertyset = 1; }
  message MetaData {
    optional bool is_multi_part = 1;
    optional string content_type = 2;
    optional uint64 size = 3;
    optional uint64 seq = 4;
    optional string file_name = 5;
    optional string file_type = 6;
    optional string md5 = 7;
    optional string description = 8;
  }
  message Metric {
    optional string name = 1;
    optional uint64 alias = 2;
    optional uint64 timestamp = 3;
    optional uint32 datatype = 4;
    optional bool is_historical = 5;
    optional bool is_transient = 6;
    optional bool is_null = 7;
    optional MetaData metadata = 8;
    optional PropertySet properties = 9;
    oneof value {
      uint32 int_value = 10; uint64 long_value = 11; float float_value = 12; double double_value = 13;
      bool boolean_value = 14; string string_value = 15; bytes bytes_value = 16; DataSet dataset_value = 17;
      Template template_value = 18; bytes extension_value = 19;
    }
  }
  optional uint64 timestamp = 1;
  repeated Metric metrics = 2;
  optional uint64 seq = 3;
  optional string uuid = 4;
  optional bytes body = 5;
}
`;

export interface SparkplugTypes {
  payload: protobuf.Type;
  metric: protobuf.Type;
}

let types: SparkplugTypes | null = null;

/** The schema's message types, parsed by protobufjs on first use (about a millisecond, once). */
export function sparkplugTypes(): SparkplugTypes {
  if (types === null) {
    const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
    root.resolveAll();
    types = {
      payload: root.lookupType('org.eclipse.tahu.protobuf.Payload'),
      metric: root.lookupType('org.eclipse.tahu.protobuf.Payload.Metric'),
    };
  }
  return types;
}

/** Which oneof member of a Metric (or PropertyValue, Parameter, DataSet value) a data type is carried in. */
export type ValueField = 'int_value' | 'long_value' | 'float_value' | 'double_value' | 'boolean_value' | 'string_value' | 'bytes_value' | 'dataset_value' | 'template_value' | 'propertyset_value' | 'propertysets_value';

export interface DataTypeRow {
  id: number;
  name: string;
  /** The value field the specification puts this type in (§6.4.16); arrays are packed little-endian bytes. */
  field: ValueField | null;
  /** Integer types: bits and signedness, for the range check and the two's complement of signed values. */
  bits?: 8 | 16 | 32 | 64;
  signed?: boolean;
  /** Array types: bytes per element (0: BooleanArray's bit packing, -1: StringArray's NUL-terminated strings). */
  element?: { size: number; of: string };
}

export const DATA_TYPES: readonly DataTypeRow[] = [
  { id: 0, name: 'Unknown', field: null },
  { id: 1, name: 'Int8', field: 'int_value', bits: 8, signed: true },
  { id: 2, name: 'Int16', field: 'int_value', bits: 16, signed: true },
  { id: 3, name: 'Int32', field: 'int_value', bits: 32, signed: true },
  { id: 4, name: 'Int64', field: 'long_value', bits: 64, signed: true },
  { id: 5, name: 'UInt8', field: 'int_value', bits: 8, signed: false },
  { id: 6, name: 'UInt16', field: 'int_value', bits: 16, signed: false },
  { id: 7, name: 'UInt32', field: 'int_value', bits: 32, signed: false },
  { id: 8, name: 'UInt64', field: 'long_value', bits: 64, signed: false },
  { id: 9, name: 'Float', field: 'float_value' },
  { id: 10, name: 'Double', field: 'double_value' },
  { id: 11, name: 'Boolean', field: 'boolean_value' },
  { id: 12, name: 'String', field: 'string_value' },
  { id: 13, name: 'DateTime', field: 'long_value', bits: 64, signed: false },
  { id: 14, name: 'Text', field: 'string_value' },
  { id: 15, name: 'UUID', field: 'string_value' },
  { id: 16, name: 'DataSet', field: 'dataset_value' },
  { id: 17, name: 'Bytes', field: 'bytes_value' },
  { id: 18, name: 'File', field: 'bytes_value' },
  { id: 19, name: 'Template', field: 'template_value' },
  { id: 20, name: 'PropertySet', field: 'propertyset_value' },
  { id: 21, name: 'PropertySetList', field: 'propertysets_value' },
  { id: 22, name: 'Int8Array', field: 'bytes_value', element: { size: 1, of: 'int8' } },
  { id: 23, name: 'Int16Array', field: 'bytes_value', element: { size: 2, of: 'int16' } },
  { id: 24, name: 'Int32Array', field: 'bytes_value', element: { size: 4, of: 'int32' } },
  { id: 25, name: 'Int64Array', field: 'bytes_value', element: { size: 8, of: 'int64' } },
  { id: 26, name: 'UInt8Array', field: 'bytes_value', element: { size: 1, of: 'uint8' } },
  { id: 27, name: 'UInt16Array', field: 'bytes_value', element: { size: 2, of: 'uint16' } },
  { id: 28, name: 'UInt32Array', field: 'bytes_value', element: { size: 4, of: 'uint32' } },
  { id: 29, name: 'UInt64Array', field: 'bytes_value', element: { size: 8, of: 'uint64' } },
  { id: 30, name: 'FloatArray', field: 'bytes_value', element: { size: 4, of: 'float32' } },
  { id: 31, name: 'DoubleArray', field: 'bytes_value', element: { size: 8, of: 'float64' } },
  { id: 32, name: 'BooleanArray', field: 'bytes_value', element: { size: 0, of: 'bool' } },
  { id: 33, name: 'StringArray', field: 'bytes_value', element: { size: -1, of: 'string' } },
  { id: 34, name: 'DateTimeArray', field: 'bytes_value', element: { size: 8, of: 'uint64' } },
];

export function dataType(id: number | undefined): DataTypeRow | undefined {
  return id === undefined ? undefined : DATA_TYPES[id];
}

/** A data type a metric may have: every row but Unknown (0). */
export function isMetricType(id: number): boolean {
  return id >= 1 && id < DATA_TYPES.length;
}

/** The basic types (§6.4.16, Int8 … Text): what DataSet columns and Template parameters may be. */
export function isBasicType(id: number): boolean {
  return id >= 1 && id <= 14;
}

/** What a PropertyValue may be: a basic type, PropertySet (20) or PropertySetList (21). */
export function isPropertyValueType(id: number): boolean {
  return isBasicType(id) || id === 20 || id === 21;
}

/** The "Quality" property (§6.4.x): an Int32 of one of these codes. */
export const QUALITY_PROPERTY = 'Quality';
export const QUALITY_TYPE = 3;
export const QUALITY_CODES: ReadonlyMap<number, string> = new Map([[0, 'bad'], [192, 'good'], [500, 'stale']]);

/** The message types of the topic namespace (§4.1.2), with who sends each. */
export const MESSAGE_TYPES = {
  NBIRTH: { scope: 'node', from: 'edge', label: 'node birth certificate' },
  NDEATH: { scope: 'node', from: 'edge', label: 'node death certificate' },
  DBIRTH: { scope: 'device', from: 'edge', label: 'device birth certificate' },
  DDEATH: { scope: 'device', from: 'edge', label: 'device death certificate' },
  NDATA: { scope: 'node', from: 'edge', label: 'node data' },
  DDATA: { scope: 'device', from: 'edge', label: 'device data' },
  NCMD: { scope: 'node', from: 'host', label: 'node command' },
  DCMD: { scope: 'device', from: 'host', label: 'device command' },
} as const;

export type MessageType = keyof typeof MESSAGE_TYPES;

export function isMessageType(s: string): s is MessageType {
  return Object.prototype.hasOwnProperty.call(MESSAGE_TYPES, s);
}

/** The node control metric a host writes to ask for a new birth (§6.4.x, "Node Control/Rebirth"). */
export const REBIRTH_METRIC = 'Node Control/Rebirth';
/** The metric an NBIRTH and NDEATH carry to pair a birth with its death (§6.4.x). */
export const BDSEQ_METRIC = 'bdSeq';
