/**
 * Sparkplug B topics (§4.1): `spBv1.0/group_id/MESSAGE_TYPE/edge_node_id[/device_id]` and the host application's
 * `spBv1.0/STATE/sparkplug_host_id`. parseSparkplugTopic says what a topic names, or what is wrong with it.
 */
import { isMessageType, MESSAGE_TYPES, SPARKPLUG_NAMESPACE, type MessageType } from './schema.js';

export type SparkplugTopic =
  | { kind: 'message'; group: string; type: MessageType; edge: string; device: string | undefined }
  | { kind: 'state'; host: string }
  /** In the namespace but malformed: which statement it breaks and how. */
  | { kind: 'invalid'; id: string; problem: string };

const PREFIX = SPARKPLUG_NAMESPACE + '/';

/** True for every topic in the Sparkplug B namespace (cheap: one prefix test). */
export function inSparkplugNamespace(topic: string): boolean {
  return topic.startsWith(PREFIX);
}

/** A reserved character of §4.1.1 (the MQTT wildcards and the level separator, which split() already took). */
function reserved(id: string): boolean {
  return id.includes('+') || id.includes('#');
}

export function parseSparkplugTopic(topic: string): SparkplugTopic | null {
  if (!inSparkplugNamespace(topic)) return null;
  const levels = topic.split('/');
  if (levels[1] === 'STATE') {
    if (levels.length !== 3 || levels[2]!.length === 0) {
      return { kind: 'invalid', id: 'tck-id-host-topic-phid-birth-topic', problem: `a STATE topic is spBv1.0/STATE/<host id>; this one has ${levels.length} levels` };
    }
    return { kind: 'state', host: levels[2]! };
  }
  if (levels.length < 4 || levels.length > 5) {
    return { kind: 'invalid', id: 'tck-id-topic-structure', problem: `a Sparkplug topic is spBv1.0/group_id/message_type/edge_node_id[/device_id]; this one has ${levels.length} levels` };
  }
  const [, group, type, edge, device] = levels as [string, string, string, string, string | undefined];
  if (!isMessageType(type)) {
    return { kind: 'invalid', id: 'tck-id-topic-structure', problem: `"${type}" is not a Sparkplug message type (NBIRTH, NDEATH, DBIRTH, DDEATH, NDATA, DDATA, NCMD, DCMD or STATE)` };
  }
  if (group.length === 0 || reserved(group)) {
    return { kind: 'invalid', id: 'tck-id-topic-structure-namespace-valid-group-id', problem: `group id "${group}" is empty or holds a reserved character (+ or #)` };
  }
  if (edge.length === 0 || reserved(edge)) {
    return { kind: 'invalid', id: 'tck-id-topic-structure-namespace-valid-edge-node-id', problem: `edge node id "${edge}" is empty or holds a reserved character (+ or #)` };
  }
  const scope = MESSAGE_TYPES[type].scope;
  if (scope === 'device' && device === undefined) {
    return { kind: 'invalid', id: 'tck-id-topic-structure-namespace-device-id-associated-message-types', problem: `${type} needs a device id as the fifth topic level` };
  }
  if (scope === 'node' && device !== undefined) {
    return { kind: 'invalid', id: 'tck-id-topic-structure-namespace-device-id-non-associated-message-types', problem: `${type} is an edge node message and takes no device id; "${device}" follows the edge node id` };
  }
  if (device !== undefined && (device.length === 0 || reserved(device))) {
    return { kind: 'invalid', id: 'tck-id-topic-structure-namespace-valid-device-id', problem: `device id "${device}" is empty or holds a reserved character (+ or #)` };
  }
  return { kind: 'message', group, type, edge, device };
}
