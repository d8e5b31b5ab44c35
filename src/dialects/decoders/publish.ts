/**
 * What the dialect stage asks of a PUBLISH payload besides its view, in one call: the MQTT 5.0 Content Type check
 * (a JSON Content Type on a payload that is not JSON is our own rule 5.0:3.3.2.3.9:content-type-json), and the
 * --decode bindings: the first binding whose filter matches the topic decodes the payload into fields.payloadDecoded,
 * tree nodes under the payload node, and a PAYLOAD-decode-error warning when the decoder failed.
 *
 * The check runs in every mode with the same bound (so findings never depend on the output mode); decoding runs in
 * every mode too (its errors are findings), and only for a PUBLISH a binding matches.
 */
import type { PacketRecord, Violation } from '../../mqtt/connection-decoder.js';
import type { PublishPacket } from '../../mqtt/packets.js';
import type { FieldNode } from '../../mqtt/types.js';
import { rule, violation } from '../../rules/catalogue.js';
import { isJsonBytes, parseJsonBytes } from '../json-scan.js';
import { addChild, payloadNode, quote } from '../nodes.js';
import { isJsonContentType, TREE_JSON_MAX_BYTES } from '../payload-view.js';
import { PayloadBindings, type CompiledBinding, type DecodeBinding } from './bindings.js';
import { sizeText } from './chain.js';
import { DEFAULT_DECODE_LIMITS, type DecodedPayload, type DecodeLimits } from './types.js';

const CONTENT_TYPE_JSON = rule('ref', '5.0:3.3.2.3.9:content-type-json');

/** Largest payload the Content Type check validates (the payload view's bound for parsed JSON). */
export const CONTENT_TYPE_CHECK_MAX_BYTES = TREE_JSON_MAX_BYTES;

export const DECODE_ERROR_ID = 'PAYLOAD-decode-error';
export const JSON_UNCHECKED_ID = 'PAYLOAD-json-unchecked';

export interface PublishPayloadOptions {
  /** --decode and --decode-file, in order (the first that matches wins). */
  decode?: readonly DecodeBinding[];
  limits?: DecodeLimits;
}

/** A finding of ours that no catalogue rule holds (like the dialect stage's DIALECT-internal-error). */
function ownWarning(id: string, severity: 'warning' | 'note', message: string, offset: number, length: number): Violation {
  return { id, spec: 'mqtt-dissect', severity, message, offset, length };
}

/** Keeps a decoder's nodes only when every one lies inside the payload: a node elsewhere would mislabel other bytes. */
function inside(nodes: readonly FieldNode[], start: number, end: number): boolean {
  for (const n of nodes) {
    if (!Number.isInteger(n.offset) || !Number.isInteger(n.length) || n.offset < start || n.length < 0 || n.offset + n.length > end) return false;
    if (n.children !== undefined && !inside(n.children, start, end)) return false;
  }
  return true;
}

export class PublishPayloads {
  private readonly bindings: PayloadBindings | null;
  private readonly limits: DecodeLimits;

  constructor(opts: PublishPayloadOptions = {}) {
    this.bindings = opts.decode !== undefined && opts.decode.length > 0 ? new PayloadBindings(opts.decode) : null;
    this.limits = opts.limits ?? DEFAULT_DECODE_LIMITS;
  }

  /**
   * The checks and the decoding of one PUBLISH's payload, bytes [start, end) of rec.bytes. `parent`: the node a
   * dialect put over the payload, if any. Returns whether it added a tree node (the stage then adds no JSON view).
   */
  publish(rec: PacketRecord, d: PublishPacket, topic: string | undefined, start: number, end: number, tree: boolean, parent: FieldNode | null): boolean {
    const ct = d.properties?.contentType;
    if (ct !== undefined && isJsonContentType(ct)) this.checkJson(rec, d, ct, start, end);
    if (this.bindings === null || topic === undefined || topic.length === 0 || end <= start) return false;
    const b = this.bindings.match(topic);
    if (b === null) return false;
    const r = this.decode(b, rec.bytes, start, end, topic, tree);
    const json: Record<string, unknown> = { filter: b.filter, format: b.format };
    if (r.detected !== undefined) json['detected'] = r.detected;
    if (r.layers !== undefined && r.layers.length > 0) json['layers'] = r.layers.map((l) => ({ format: l.format, inBytes: l.inBytes, outBytes: l.outBytes }));
    if (r.value !== undefined) json['value'] = r.value;
    if (r.cut !== undefined && r.cut.length > 0) json['cut'] = r.cut;
    if (r.error !== undefined) {
      const e: Record<string, unknown> = { message: r.error.message };
      if (r.error.offset !== undefined) e['offset'] = r.error.offset;
      json['error'] = e;
      // At the byte the decoder names, when it is one of the payload's; else the whole payload.
      const off = r.error.offset;
      const pinned = off !== undefined && off >= start && off < end;
      rec.violations.push(ownWarning(DECODE_ERROR_ID, 'warning', `${b.format}: ${r.error.message}`, pinned ? off : start, pinned ? 1 : end - start));
    }
    d.payloadDecoded = json;
    if (!tree) return false;
    const host = parent ?? payloadNode(rec, start);
    if (host === null) return false;
    addChild(host, this.node(b, r, start, end));
    return true;
  }

  private decode(b: CompiledBinding, bytes: Uint8Array, start: number, end: number, topic: string, tree: boolean): DecodedPayload {
    if (typeof b.decoder === 'string') return { format: b.format, error: { message: b.decoder } };
    const n = end - start;
    if (n > this.limits.maxInputBytes) return { format: b.format, cut: [`the payload's ${n.toLocaleString('en-US')} bytes are more than the ${sizeText(this.limits.maxInputBytes)} decoded per payload; not decoded`] };
    try {
      return b.decoder.decode(bytes, start, end, { tree, limits: this.limits, topic });
    } catch (e) {
      // Decoders report their errors; one that throws (a registered format's bug) must not lose the packet.
      return { format: b.format, error: { message: `the decoder failed: ${e instanceof Error ? e.message : String(e)}` } };
    }
  }

  /** The node under the payload: what was decoded, how, what was cut, and the decoder's own nodes below it. */
  private node(b: CompiledBinding, r: DecodedPayload, start: number, end: number): FieldNode {
    const node: FieldNode = { key: 'payloadDecoded', label: `decoded as ${b.format}`, offset: start, length: end - start };
    const notes: string[] = [];
    if (r.detected !== undefined) notes.push(`detected ${r.detected}`);
    if (r.error !== undefined) notes.push(`error: ${r.error.message}`);
    for (const c of r.cut ?? []) notes.push(`cut: ${c}`);
    if (notes.length > 0) node.explain = notes.join('; ');
    if (r.nodes !== undefined && r.nodes.length > 0 && inside(r.nodes, start, end)) node.children = r.nodes;
    else if (r.value !== undefined) node.value = typeof r.value === 'string' ? quote(r.value) : JSON.stringify(r.value)?.slice(0, 200) ?? '';
    return node;
  }

  /** A JSON Content Type with a payload that is not JSON (5.0 only: Content Type is a 5.0 property). */
  private checkJson(rec: PacketRecord, d: PublishPacket, ct: string, start: number, end: number): void {
    const n = end - start;
    if (n > CONTENT_TYPE_CHECK_MAX_BYTES) {
      rec.violations.push(ownWarning(JSON_UNCHECKED_ID, 'note', `Content Type ${quote(ct, 80)} declares JSON; the payload's ${n.toLocaleString('en-US')} bytes are more than the ${sizeText(CONTENT_TYPE_CHECK_MAX_BYTES)} checked, so whether it is JSON was not checked`, start, n));
      return;
    }
    if (isJsonBytes(rec.bytes, start, end)) return;
    const why = n === 0 ? 'the payload is empty' : (() => {
      const r = parseJsonBytes(rec.bytes, start, end);
      return r.ok ? 'it is not JSON' : r.error;
    })();
    rec.violations.push(violation(CONTENT_TYPE_JSON, d.level, `Content Type ${quote(ct, 80)} declares JSON but the payload is not JSON: ${why}`, start, n));
  }
}
