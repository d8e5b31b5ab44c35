/**
 * Format names and their decoders. The built-in formats are here; `protobuf:FILE.proto:Type` and `sparkplug` are
 * known by name and syntax, and decoded by whatever registerPayloadFormat() registers for them (their decoders are
 * written elsewhere): until then a binding to them is the usage error "format X is not available". A new format
 * registers the same way (its arguments, if any, follow its name after colons).
 *
 * Registration is module state: register from a module that src/dialects/decoders/formats.ts imports, so that every
 * thread that decodes (the render worker of --threads 2 builds its own dialect stage) has the same formats.
 *
 * FORMAT syntax: [LAYER+]...NAME[:ARG...], LAYER one of base64, gzip, zlib, deflate (at most four); a chain of
 * layers alone ends in `raw` (text when the bytes read as text, else hex).
 */
import { AUTO_DECODER } from './auto.js';
import { CBOR_DECODER } from './cbor.js';
import { ChainDecoder, isLayer, type LayerName } from './chain.js';
import { MSGPACK_DECODER } from './msgpack.js';
import { HEX_DECODER, JSON_DECODER, RAW_DECODER, TEXT_DECODER } from './text.js';
import type { PayloadDecoder, PayloadFormatFactory } from './types.js';

const BUILT_IN: Readonly<Record<string, PayloadDecoder>> = {
  json: JSON_DECODER, text: TEXT_DECODER, hex: HEX_DECODER, cbor: CBOR_DECODER, msgpack: MSGPACK_DECODER, auto: AUTO_DECODER,
};

/** Formats decoded elsewhere, known here by their syntax so a binding to them is checked before they exist. */
const KNOWN_ELSEWHERE: Readonly<Record<string, { usage: string; check: (args: readonly string[]) => string | null }>> = {
  protobuf: {
    usage: 'protobuf:FILE.proto:MessageType',
    check: (args) => {
      if (args.length !== 2 || args[0]!.length === 0 || args[1]!.length === 0) return 'protobuf needs a .proto file and a message type: protobuf:FILE.proto:MessageType';
      if (!/^\.?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(args[1]!)) return `protobuf: "${args[1]!}" is no message type name (e.g. pkg.Reading)`;
      return null;
    },
  },
  sparkplug: { usage: 'sparkplug', check: (args) => (args.length === 0 ? null : 'sparkplug takes no arguments') },
};

const MAX_LAYERS = 4;
const MAX_FORMAT_CHARS = 1024;

const REGISTERED = new Map<string, PayloadFormatFactory>();

/**
 * Registers the decoder of a format (`sparkplug`, `protobuf`, or a new name): a decoder, or a factory that makes one
 * from the binding's arguments (protobuf: [file, message type]). Throws for a built-in name or a layer.
 */
export function registerPayloadFormat(name: string, decoder: PayloadDecoder | PayloadFormatFactory): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`payload format name "${name}": lowercase letters, digits and "-"`);
  if (Object.hasOwn(BUILT_IN, name) || isLayer(name) || name === 'raw') throw new Error(`payload format ${name} is built in`);
  REGISTERED.set(name, typeof decoder === 'function' ? decoder : () => decoder);
}

/** For tests: forgets a registered format. */
export function unregisterPayloadFormat(name: string): void {
  REGISTERED.delete(name);
}

export function isFormatAvailable(name: string): boolean {
  return Object.hasOwn(BUILT_IN, name) || name === 'raw' || REGISTERED.has(name);
}

/** A FORMAT as parsed: the layers, outermost first, then the format that decodes what they yield. */
export interface FormatSpec {
  /** As written (trimmed). */
  readonly text: string;
  readonly layers: readonly LayerName[];
  readonly name: string;
  readonly args: readonly string[];
}

/** The formats in a usage line. */
export const FORMAT_LIST = 'json, text, hex, cbor, msgpack, auto, base64[+F], gzip+F, zlib+F, deflate+F, protobuf:FILE.proto:Type, sparkplug';

export function parseFormat(raw: string): FormatSpec | string {
  const text = raw.trim();
  if (text.length === 0) return `no format (formats: ${FORMAT_LIST})`;
  if (text.length > MAX_FORMAT_CHARS) return `a format of ${text.length} characters is not one (at most ${MAX_FORMAT_CHARS})`;
  const parts = text.split('+');
  const layers: LayerName[] = [];
  let i = 0;
  for (; i < parts.length; i++) {
    const p = parts[i]!;
    if (!isLayer(p)) break;
    layers.push(p);
  }
  if (layers.length > MAX_LAYERS) return `"${text}" has ${layers.length} layers (at most ${MAX_LAYERS})`;
  if (i === parts.length) return { text, layers, name: 'raw', args: [] };
  // The rest is the last format; its arguments may hold "+" (a file name), so it is not split further.
  const last = parts.slice(i).join('+');
  // The name ends at its first ":" (arguments follow) or "+" (a layer after the format: an error below).
  const nameEnd = last.search(/[:+]/);
  const name = nameEnd < 0 ? last : last.slice(0, nameEnd);
  const colon = last.indexOf(':');
  const argText = colon < 0 || colon !== nameEnd ? null : last.slice(colon + 1);
  if (name.length === 0) return `"${text}": a format name is missing (formats: ${FORMAT_LIST})`;
  if (last !== name && last[name.length] === '+') return `"${text}": ${name} comes last; layers go before it (e.g. gzip+${name})`;
  if (Object.hasOwn(BUILT_IN, name)) {
    if (argText !== null) return `${name} takes no arguments (got "${last}")`;
    return { text, layers, name, args: [] };
  }
  const known = KNOWN_ELSEWHERE[name];
  if (known !== undefined) {
    // protobuf's file may hold ":" (C:\…): the message type is after the last one.
    let args: string[] = [];
    if (argText !== null) {
      if (name === 'protobuf') {
        const at = argText.lastIndexOf(':');
        args = at < 0 ? [argText] : [argText.slice(0, at), argText.slice(at + 1)];
      } else {
        args = argText.split(':');
      }
    }
    const bad = known.check(args);
    return bad ?? { text, layers, name, args };
  }
  if (REGISTERED.has(name)) return { text, layers, name, args: argText === null ? [] : argText.split(':') };
  return `unknown format "${name}" (formats: ${FORMAT_LIST})`;
}

/** The file a format reads at startup (protobuf's .proto), for the CLI to check that it exists. */
export function formatFile(spec: FormatSpec): string | null {
  return spec.name === 'protobuf' ? spec.args[0] ?? null : null;
}

/** The same format with its file replaced (a relative .proto named in a --decode-file is relative to that file). */
export function withFormatFile(spec: FormatSpec, file: string): FormatSpec {
  if (spec.name !== 'protobuf') return spec;
  const args = [file, ...spec.args.slice(1)];
  return { ...spec, args, text: [...spec.layers, `${spec.name}:${args.join(':')}`].join('+') };
}

/** The decoder for a format, or why there is none ("format sparkplug is not available", a factory's error). */
export function compileFormat(spec: FormatSpec): PayloadDecoder | string {
  let last: PayloadDecoder;
  if (spec.name === 'raw') last = RAW_DECODER;
  else if (Object.hasOwn(BUILT_IN, spec.name)) last = BUILT_IN[spec.name]!;
  else {
    const factory = REGISTERED.get(spec.name);
    if (factory === undefined) return `format ${spec.name} is not available`;
    try {
      last = factory(spec.args);
    } catch (e) {
      return `${spec.name}: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return spec.layers.length === 0 ? last : new ChainDecoder(spec.text, spec.layers, last);
}
