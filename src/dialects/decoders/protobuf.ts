/**
 * The `protobuf:FILE.proto:MessageType` and `sparkplug` payload formats (--decode, docs/decoders.md): both walk the
 * wire bytes with src/dialects/protobuf/wire.ts, so that -x shows every tag, length and value, and give a plain JSON
 * value. A user's schema is parsed by protobufjs once per binding (imports resolved from the file's folder); a
 * `sparkplug` binding decodes one payload at a time, without the state the Sparkplug dialect keeps for spBv1.0/ topics
 * (no names for aliases: those need the birth).
 */
import { resolve } from 'node:path';
import protobuf from 'protobufjs';
import { wireNodes } from '../protobuf/nodes.js';
import { wireValue } from '../protobuf/value.js';
import { walkMessage } from '../protobuf/wire.js';
import { decodeSparkplugPayload, metricValue, propertiesValue } from '../sparkplug/payload.js';
import { dataType } from '../sparkplug/schema.js';
import { sparkplugNodes } from '../sparkplug/view.js';
import { registerPayloadFormat } from './registry.js';
import type { DecodeContext, DecodedPayload, PayloadDecoder } from './types.js';

function protobufDecoder(args: readonly string[]): PayloadDecoder {
  const [file, typeName] = args;
  if (file === undefined || typeName === undefined) throw new Error('protobuf needs protobuf:FILE.proto:MessageType');
  let type: protobuf.Type;
  try {
    const root = new protobuf.Root().loadSync(resolve(file), { keepCase: true });
    root.resolveAll();
    type = root.lookupType(typeName);
  } catch (e) {
    throw new Error(`protobuf:${file}:${typeName}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const format = `protobuf:${typeName}`;
  return {
    decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload {
      const w = walkMessage(b, start, end, type, { maxDepth: ctx.limits.maxDepth, maxFields: ctx.limits.maxItems });
      const budget = { left: ctx.limits.maxItems, omitted: 0 };
      const out: DecodedPayload = { format, value: wireValue(b, w.fields, type, budget) };
      const cut = [...w.cut];
      if (budget.omitted > 0) cut.push(`${budget.omitted} fields past ${ctx.limits.maxItems} values left out of the value`);
      if (cut.length > 0) out.cut = cut;
      if (w.error) out.error = { message: w.error.message, offset: w.error.offset };
      if (ctx.tree) out.nodes = wireNodes(b, w.fields, { maxNodes: ctx.limits.maxItems });
      return out;
    },
  };
}

const SPARKPLUG_DECODER: PayloadDecoder = {
  decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext): DecodedPayload {
    const p = decodeSparkplugPayload(b, start, end, { maxDepth: Math.min(16, ctx.limits.maxDepth), maxFields: ctx.limits.maxItems });
    const value: Record<string, unknown> = {};
    if (p.timestamp !== undefined) value['timestamp'] = p.timestamp;
    if (p.seq !== undefined) value['seq'] = p.seq;
    if (p.uuid !== undefined) value['uuid'] = p.uuid;
    value['metrics'] = p.metrics.map((m) => {
      const o: Record<string, unknown> = {};
      if (m.name !== undefined) o['name'] = m.name;
      if (m.alias !== undefined) o['alias'] = m.alias;
      if (m.datatype !== undefined) o['datatype'] = dataType(m.datatype)?.name ?? m.datatype;
      if (m.timestamp !== undefined) o['timestamp'] = m.timestamp;
      if (m.isNull) o['isNull'] = true;
      else o['value'] = m.raw ? metricValue(b, m.raw, m.datatype).value : null;
      if (m.properties) o['properties'] = propertiesValue(b, m.properties);
      return o;
    });
    const out: DecodedPayload = { format: 'sparkplug', value };
    if (p.cut.length > 0) out.cut = p.cut;
    if (p.error) out.error = { message: p.error.message, offset: p.error.offset };
    if (ctx.tree) out.nodes = sparkplugNodes(b, { info: {}, payload: p, resolved: [] }, end);
    return out;
  },
};

registerPayloadFormat('protobuf', protobufDecoder);
registerPayloadFormat('sparkplug', SPARKPLUG_DECODER);
