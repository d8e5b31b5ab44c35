/**
 * Sparkplug B across the capture: one SparkplugTracker sees every CONNECT, PUBLISH and DISCONNECT of every
 * connection, knows which connection is which edge node (by its NDEATH Will) or host application (by its STATE Will
 * or STATE messages), keeps each edge node's metric names and data types from its births so that NDATA/DDATA/NCMD/DCMD
 * metrics sent by alias get their names and typed values, and checks the Sparkplug 3.0 assertions a capture can show
 * broken (docs/sparkplug.md lists them).
 *
 * Who is judged: an edge node's and a host's own packets (client to server). Copies the broker delivers to
 * subscribers are decoded with what the tracker learnt but not judged again (the broker may lower their QoS, and one
 * message reaches many subscribers). A capture that holds only the subscribers' side decodes but judges little.
 *
 * Bounds: MAX_EDGE_NODES edge nodes, MAX_METRICS metric definitions per edge node (its devices included),
 * MAX_DEVICES devices per edge node; past a cap the tracker says so once and stops learning, never stops decoding.
 */
import type { PacketRecord, Violation } from '../../mqtt/connection-decoder.js';
import type { ConnectPacket, DisconnectPacket, PublishPacket, SubscribePacket } from '../../mqtt/packets.js';
import { REASON_CODES } from '../../mqtt/tables.js';
import { stripShare, topicMatches } from '../../mqtt/topics.js';
import type { Connection, EndCause } from '../../tcp/types.js';
import { finding } from './findings.js';
import { decodeSparkplugPayload, metricValue, notUint32, propertiesValue, templateOf, type SpMetric, type SpPayload } from './payload.js';
import { BDSEQ_METRIC, dataType, isBasicType, isMetricType, isPropertyValueType, MESSAGE_TYPES, QUALITY_CODES, QUALITY_PROPERTY, QUALITY_TYPE, REBIRTH_METRIC, type MessageType } from './schema.js';
import { parseSparkplugTopic, type SparkplugTopic } from './topic.js';

export const MAX_EDGE_NODES = 10_000;
export const MAX_METRICS = 100_000;
export const MAX_DEVICES = 10_000;
export const MAX_HOSTS = 1_000;
/** Template definitions remembered per edge node (from its NBIRTH), each with its member and parameter names. */
export const MAX_TEMPLATES = 10_000;
/** Metrics listed in one message's JSON record; the rest are counted. */
export const MAX_METRICS_SHOWN = 1_000;

/** The 5.0 DISCONNECT reason that tells the broker to send the Will (0x04), from the reason-code table. */
const DISCONNECT_WITH_WILL = REASON_CODES.find((r) => r.name === 'Disconnect with Will Message')!.value;

/** What one metric definition (from a birth) says. */
interface MetricDef {
  name: string;
  alias: string | undefined;
  datatype: number | undefined;
  unit: string | undefined;
}

interface Scope {
  byName: Map<string, MetricDef>;
  byAlias: Map<string, MetricDef>;
}

interface Device extends Scope {
  id: string;
  born: boolean;
  /** A DDEATH of the device since the edge node's last NBIRTH (a DBIRTH after data is then the device coming back). */
  diedSinceNbirth: boolean;
  births: number;
  deaths: number;
}

export interface EdgeNodeSummary {
  group: string;
  edge: string;
  births: number;
  deaths: number;
  data: number;
  commands: number;
  rebirthRequests: number;
  seqGaps: number;
  metrics: number;
  devices: { id: string; births: number; deaths: number; metrics: number }[];
  lastBdSeq: number | string | null;
  online: boolean;
}

export interface HostSummary {
  host: string;
  online: boolean | null;
  births: number;
  deaths: number;
}

class EdgeNode implements Scope {
  readonly byName = new Map<string, MetricDef>();
  readonly byAlias = new Map<string, MetricDef>();
  readonly devices = new Map<string, Device>();
  /** Device IDs in lower case → as first seen (the case-sensitivity check); bounded by MAX_DEVICES like devices. */
  readonly lowerDevices = new Map<string, string>();
  /** The connection the edge node last connected on (its CONNECT carried its NDEATH Will), or published births on. */
  conn: number | undefined;
  /** The capture holds a connection of the edge node itself (its CONNECT or its own messages): it is judged there. */
  publisherSeen = false;
  /**
   * Without one: the subscriber connection whose delivered copies of its messages are judged for what their bytes
   * alone show (SparkplugTracker.delivered); one, so a message delivered to many subscribers is judged once.
   */
  judgedVia: number | undefined;
  /** The bdSeq of the current connection's Will, and of the connection before. */
  willBdSeq: number | string | undefined;
  prevWillBdSeq: number | string | undefined;
  /** A birth was seen in the edge node's current session. */
  born = false;
  lastBdSeq: number | string | undefined;
  lastSeq: number | undefined;
  /** Some birth metric had an alias: the edge node uses aliases. */
  usesAliases = false;
  /** Data was published since the last NBIRTH (a later DBIRTH is then not "right after the NBIRTH"). */
  dataSinceBirth = false;
  /** An NDEATH the edge node published itself on its connection (before a DISCONNECT). */
  ndeathPublished = false;
  /** A Rebirth request delivered (or sent) and not yet answered by an NBIRTH. */
  rebirthPending: { frame: number; conn: number } | undefined;
  metricCount = 0;
  capped = false;
  /** The Template definitions of the current NBIRTH, by the name of the metric that carries each. */
  readonly templates = new Map<string, TemplateDef>();
  templatesCapped = false;
  births = 0;
  deaths = 0;
  data = 0;
  commands = 0;
  rebirthRequests = 0;
  seqGaps = 0;
  online = false;

  constructor(readonly group: string, readonly edge: string) {}
}

/** What a Template definition declares: its members (name → data type) and its parameter names. */
interface TemplateDef {
  members: Map<string, number | undefined>;
  parameters: Set<string>;
}

/**
 * An edge node waiting for a Primary Host Application (it subscribed to that host's STATE topic by its exact name):
 * the STATE messages the broker delivered to it on this connection, as the node has to read them (§5.4).
 */
interface PrimaryWait {
  host: string;
  received: number;
  /** The newest timestamp of the STATE messages it went by, and whether that STATE said online. */
  lastTs: number | undefined;
  online: boolean | undefined;
  /** An online STATE older than the one before came (and must be ignored). */
  staleOnline: boolean;
  /** The frame of an offline STATE (not older than the last) received while the edge node was born. */
  offlineFrame: number | undefined;
}

interface Host {
  id: string;
  conn: number | undefined;
  willTimestamp: unknown;
  online: boolean | null;
  births: number;
  deaths: number;
  /** Filters the host's connection subscribed to. */
  subscribed: string[];
}

/** The JSON a PUBLISH gets as fields.sparkplug (docs/sparkplug.md). */
export type SparkplugInfo = Record<string, unknown>;

export interface SparkplugOutcome {
  info: SparkplugInfo;
  payload: SpPayload | null;
  /** Resolved name and type per metric (index → definition), for the tree and the text view. */
  resolved: (MetricDefView | undefined)[];
}

export interface MetricDefView {
  name: string | undefined;
  datatype: number | undefined;
  unit: string | undefined;
}

interface ConnRole {
  edge: EdgeNode | undefined;
  host: Host | undefined;
  level: number;
  /** The CONNECT registered a STATE Will, or an NDEATH Will. */
  hostWill?: boolean;
  edgeWill?: boolean;
  /** The broker accepted the CONNECT (a CONNACK with code 0 was seen). */
  accepted: boolean;
  /** Sparkplug PUBLISH packets the client sent on this connection. */
  published: number;
  /** The client subscribed to its edge node's NCMD topic. */
  ncmdSubscribed: boolean;
  /** The CONNECT's Will topic, whatever it is. */
  willTopic?: string;
  /** STATE births and deaths the client published on this connection. */
  stateBirths: number;
  stateDeaths: number;
  /** The edge node's Primary Host Application, when it subscribed to one's STATE topic. */
  primary?: PrimaryWait;
  /** The frame of an "online": false STATE on its own Host ID delivered to a host after its birth: a new birth is due. */
  stateRebirthDue?: number;
}

export interface SparkplugTrackerOptions {
  /** Judge what spans an edge node's connections (default true; false when the run sees only some: --shard). */
  acrossConnections?: boolean;
}

export class SparkplugTracker {
  private readonly acrossConnections: boolean;
  private readonly nodes = new Map<string, EdgeNode>();
  private readonly hosts = new Map<string, Host>();
  private readonly roles = new Map<number, ConnRole>();
  /** Each edge node's group/edge key in lower case (the case-sensitivity check). */
  private readonly lowerKeys = new Map<string, string>();
  private readonly lowerGroups = new Map<string, string>();
  private nodesCapped = false;
  /** Counts for the summary. */
  messages = 0;
  malformed = 0;

  constructor(opts: SparkplugTrackerOptions = {}) {
    this.acrossConnections = opts.acrossConnections !== false;
  }

  /** Forget a closed connection's role; findings only a close can show (`cause`: how the TCP connection ended). */
  close(conn: Connection, cause?: EndCause): Violation[] {
    const role = this.roles.get(conn.id);
    this.roles.delete(conn.id);
    const out: Violation[] = [];
    // A host application (known by its STATE Will) whose accepted connection ended without its STATE birth; not when
    // the capture ended (or the connection was evicted) while it was open: the birth may have come later.
    const h = role?.host;
    const ended = cause !== undefined && cause !== 'capture-end' && cause !== 'evicted';
    if (h && role && role.hostWill === true && role.accepted && role.stateBirths === 0 && ended) {
      out.push(finding('tck-id-operational-behavior-host-application-connect-birth', `host application ${h.id}: the broker accepted its connection, which ended without a STATE birth on spBv1.0/STATE/${h.id}`));
    }
    if (h && role?.stateRebirthDue !== undefined && ended) {
      out.push(finding('tck-id-message-flow-hid-sparkplug-state-message-delivered', `host application ${h.id} was told it is offline (the STATE of frame ${role.stateRebirthDue}) and never published its STATE birth again on this connection`));
    }
    const n = role?.edge;
    if (n && role && n.conn === conn.id && n.born && !role.ncmdSubscribed && role.accepted) {
      out.push(finding('tck-id-message-flow-edge-node-ncmd-subscribe', `edge node ${n.group}/${n.edge} was born on this connection but never subscribed to spBv1.0/${n.group}/NCMD/${n.edge}`));
    }
    if (n && n.conn === conn.id) {
      if (n.rebirthPending !== undefined) {
        out.push(finding('tck-id-operational-behavior-data-commands-rebirth-action-2', `the Rebirth request of frame ${n.rebirthPending.frame} to ${n.group}/${n.edge} was never answered by an NBIRTH on this connection`));
        n.rebirthPending = undefined;
      }
      n.online = false;
      n.born = false;
      n.conn = undefined;
    }
    return out;
  }

  connect(rec: PacketRecord, p: ConnectPacket): void {
    if (rec.dir !== 'c2s') return;
    const willTopic = p.willFlag === true ? p.willTopic : undefined;
    const role: ConnRole = { edge: undefined, host: undefined, level: p.protocolLevel ?? 4, accepted: false, published: 0, ncmdSubscribed: false, stateBirths: 0, stateDeaths: 0 };
    if (willTopic !== undefined) role.willTopic = willTopic;
    this.roles.set(rec.conn.id, role);
    const t = willTopic !== undefined ? parseSparkplugTopic(willTopic) : null;
    if (t === null) return;
    const v = rec.violations;
    if (t.kind === 'invalid') {
      v.push(finding(t.id, `Will Topic ${JSON.stringify(willTopic)}: ${t.problem}`));
      return;
    }
    if (t.kind === 'state') {
      const h = this.host(t.host);
      if (!h) return;
      role.host = h;
      role.hostWill = true;
      h.conn = rec.conn.id;
      h.subscribed = [];
      if (p.willQos !== 1) v.push(finding('tck-id-operational-behavior-host-application-connect-will-qos', `the host application's STATE Will has QoS ${p.willQos}; it must be 1`));
      if (p.willRetain !== true) v.push(finding('tck-id-operational-behavior-host-application-connect-will-retained', "the host application's STATE Will is not retained; it must be"));
      const state = p.willPayload ? stateJson(rec.bytes, p.willPayload.start, p.willPayload.end) : null;
      if (state === null || state.online !== false || state.timestamp === undefined) {
        v.push(finding('tck-id-operational-behavior-host-application-connect-will-payload', `the STATE Will payload must be JSON {"online":false,"timestamp":<ms>}; it is ${state === null ? 'not a JSON object' : JSON.stringify(state.raw)}`));
      }
      h.willTimestamp = state?.timestamp;
      if (role.level === 5) {
        const expiry = p.properties?.sessionExpiryInterval ?? 0;
        if (p.cleanStart !== true || expiry !== 0) v.push(finding('tck-id-message-flow-phid-sparkplug-clean-session-50', `a host application connects with Clean Start 1 and Session Expiry Interval 0; this CONNECT has Clean Start ${p.cleanStart ? 1 : 0}, Session Expiry ${expiry}`));
      } else if (p.cleanSession === false) {
        v.push(finding('tck-id-message-flow-phid-sparkplug-clean-session-311', 'a host application connects with Clean Session 1; this CONNECT has 0'));
      }
      return;
    }
    if (t.type !== 'NDEATH') return;
    const n = this.node(t.group, t.edge, rec);
    if (!n) return;
    role.edge = n;
    role.edgeWill = true;
    n.conn = rec.conn.id;
    n.publisherSeen = true;
    n.born = false;
    n.lastSeq = undefined;
    n.ndeathPublished = false;
    n.dataSinceBirth = false;
    for (const d of n.devices.values()) d.born = false;
    if (role.level === 5) {
      const expiry = p.properties?.sessionExpiryInterval ?? 0;
      if (p.cleanStart !== true || expiry !== 0) v.push(finding('tck-id-principles-persistence-clean-session-50', `an edge node connects with Clean Start 1 and Session Expiry Interval 0; this CONNECT has Clean Start ${p.cleanStart ? 1 : 0}, Session Expiry ${expiry}`));
    } else if (p.cleanSession === false) {
      v.push(finding('tck-id-principles-persistence-clean-session-311', 'an edge node connects with Clean Session 1; this CONNECT has 0'));
    }
    if (p.willQos !== 1) v.push(finding('tck-id-payloads-ndeath-will-message-qos', `the NDEATH Will has QoS ${p.willQos}; it must be 1`));
    if (p.willRetain === true) v.push(finding('tck-id-payloads-ndeath-will-message-retain', 'the NDEATH Will is retained; it must not be'));
    n.prevWillBdSeq = n.willBdSeq;
    n.willBdSeq = undefined;
    if (p.willPayload) {
      const payload = decodeSparkplugPayload(rec.bytes, p.willPayload.start, p.willPayload.end);
      if (payload.error) {
        v.push(finding('tck-id-message-flow-edge-node-birth-publish-will-message-payload', `the NDEATH Will payload is not a Sparkplug B protobuf payload: ${payload.error.message}`, payload.error.offset, 0));
      } else {
        const bd = metricByName(payload, BDSEQ_METRIC);
        if (!bd) {
          v.push(finding('tck-id-message-flow-edge-node-birth-publish-will-message-payload-bdSeq', 'the NDEATH Will payload has no bdSeq metric'));
        } else {
          if (bd.datatype !== 4) v.push(finding('tck-id-message-flow-edge-node-birth-publish-will-message-payload-bdSeq', `the Will's bdSeq metric has data type ${typeName(bd.datatype)}; it must be Int64`));
          const val = bd.raw ? metricValue(rec.bytes, bd.raw, 4).value : undefined;
          if (typeof val === 'number' || typeof val === 'string') {
            n.willBdSeq = val;
            const prev = n.prevWillBdSeq;
            if (this.acrossConnections && prev !== undefined && typeof prev === 'number' && typeof val === 'number' && val !== (prev + 1) % 256 && val !== prev + 1) {
              v.push(finding('tck-id-topics-nbirth-bdseq-increment', `bdSeq ${val} in this CONNECT's Will; the edge node's previous CONNECT had ${prev}, so ${prev + 1} was due`));
            }
          }
        }
      }
    }
  }

  connack(rec: PacketRecord, code: number | undefined): void {
    const role = this.roles.get(rec.conn.id);
    if (role && rec.dir === 's2c' && code === 0) role.accepted = true;
  }

  subscribe(rec: PacketRecord, p: SubscribePacket): void {
    if (rec.dir !== 'c2s' || !p.subscriptions) return;
    const role = this.roles.get(rec.conn.id);
    const h = role?.host;
    if (h) for (const s of p.subscriptions) if (h.subscribed.length < 64) h.subscribed.push(s.topic);
    // An edge node subscribing to one host's STATE topic by its exact name waits for that Primary Host Application.
    if (role && !h && role.primary === undefined) {
      for (const s of p.subscriptions) {
        const m = /^spBv1\.0\/STATE\/([^/#+]+)$/.exec(s.topic);
        if (m) {
          role.primary = { host: m[1]!, received: 0, lastTs: undefined, online: undefined, staleOnline: false, offlineFrame: undefined };
          break;
        }
      }
    }
    const n = role?.edge;
    if (!n || !role) return;
    // The edge node's command topics: its NCMD, and any device's DCMD.
    const ncmd = `spBv1.0/${n.group}/NCMD/${n.edge}`;
    const dcmd = `spBv1.0/${n.group}/DCMD/${n.edge}/+device`;
    for (const s of p.subscriptions) {
      const f = stripShare(s.topic);
      if (topicMatches(f, ncmd)) {
        role.ncmdSubscribed = true;
        if (s.qos !== 1) rec.violations.push(finding('tck-id-message-flow-edge-node-ncmd-subscribe', `the edge node subscribes to its NCMD topic (${JSON.stringify(s.topic)}) with QoS ${s.qos}; it must be 1`));
      }
      if (topicMatches(f, dcmd) && s.qos !== 1) {
        rec.violations.push(finding('tck-id-message-flow-device-dcmd-subscribe', `the edge node subscribes to its devices' DCMD topics (${JSON.stringify(s.topic)}) with QoS ${s.qos}; it must be 1`));
      }
    }
  }

  disconnect(rec: PacketRecord, p: DisconnectPacket): void {
    if (rec.dir !== 'c2s') return;
    const role = this.roles.get(rec.conn.id);
    // A host application born on this connection that disconnects on purpose sends its STATE death first (or, in
    // MQTT 5.0, has the broker send its Will with reason 0x04; a 3.1.1 DISCONNECT discards the Will).
    const h = role?.host;
    if (h && role && role.stateBirths > 0 && role.stateDeaths === 0 && (role.level !== 5 || p.reasonCode !== DISCONNECT_WITH_WILL)) {
      rec.violations.push(finding('tck-id-operational-behavior-host-application-termination', `host application ${h.id} disconnects without having published its STATE death (online false) on this connection${role.level === 5 ? ', and not with reason 0x04 (Disconnect with Will Message)' : ''}`));
    }
    const n = role?.edge;
    if (!n || !n.born) return;
    if (role?.level === 5) {
      if (p.reasonCode !== DISCONNECT_WITH_WILL && !n.ndeathPublished) rec.violations.push(finding('tck-id-payloads-ndeath-will-message-publisher-disconnect-mqtt50', `an MQTT 5.0 edge node disconnects with reason 0x04 (Disconnect with Will Message) so its NDEATH is sent; this DISCONNECT has 0x${(p.reasonCode ?? 0).toString(16).padStart(2, '0')}`));
      else if (!n.ndeathPublished) rec.violations.push(finding('tck-id-payloads-ndeath-will-message-publisher', 'the edge node disconnects on purpose without publishing its NDEATH itself first (the broker sends its Will, but hosts hear of the death sooner from the edge node)'));
    } else if (!n.ndeathPublished) {
      rec.violations.push(finding('tck-id-payloads-ndeath-will-message-publisher-disconnect-mqtt311', 'an MQTT 3.1.1 edge node publishes its NDEATH before it sends DISCONNECT (the broker drops the Will on a DISCONNECT); none was published'));
    }
  }

  /** A PUBLISH in the Sparkplug namespace (topic already known to start with spBv1.0/). */
  publish(rec: PacketRecord, p: PublishPacket, topic: string, start: number, end: number): SparkplugOutcome | null {
    const t = parseSparkplugTopic(topic);
    if (t === null) return null;
    this.messages++;
    const v = rec.violations;
    const own = rec.dir === 'c2s';
    if (t.kind === 'invalid') {
      if (own) v.push(finding(t.id, `topic ${JSON.stringify(topic)}: ${t.problem}`));
      return { info: { kind: 'invalid', problem: t.problem }, payload: null, resolved: [] };
    }
    // The client's first Sparkplug message on its connection: a birth certificate is due first.
    const role = own ? this.roles.get(rec.conn.id) : undefined;
    const first = role !== undefined && role.published++ === 0;
    if (t.kind === 'state') return this.state(rec, p, t.host, start, end, first);
    if (first && role?.host !== undefined) {
      v.push(finding('tck-id-host-topic-phid-birth-message', `the host application's first message on this connection is ${t.type}, not its STATE birth`));
    }
    if (role?.stateRebirthDue !== undefined && MESSAGE_TYPES[t.type].from === 'host') {
      v.push(finding('tck-id-message-flow-hid-sparkplug-state-message-delivered', `host application ${role.host?.id ?? '?'} was told it is offline (the STATE of frame ${role.stateRebirthDue}); its next message is this ${t.type}, not its STATE birth`));
      role.stateRebirthDue = undefined;
    }
    return this.message(rec, p, t, start, end, first);
  }

  private state(rec: PacketRecord, p: PublishPacket, hostId: string, start: number, end: number, first: boolean): SparkplugOutcome {
    const st = stateJson(rec.bytes, start, end);
    const info: SparkplugInfo = { kind: 'STATE', host: hostId };
    if (st?.online !== undefined) info['online'] = st.online;
    if (st?.timestamp !== undefined) info['timestamp'] = st.timestamp;
    const h = this.host(hostId);
    if (rec.dir === 'c2s' && h) {
      const v = rec.violations;
      h.conn ??= rec.conn.id;
      const role = this.roles.get(rec.conn.id);
      if (role && role.host === undefined) role.host = h;
      // A host publishes its STATE under its own Host ID: the one of its Will (or of its first STATE) on this connection.
      const connHost = role?.host;
      if (connHost !== undefined && connHost !== h && st?.online !== undefined) {
        v.push(finding(st.online ? 'tck-id-operational-behavior-host-application-connect-birth-topic' : 'tck-id-host-topic-phid-death-topic', `STATE ${st.online ? 'birth' : 'death'} on spBv1.0/STATE/${hostId} from the connection of host application ${connHost.id}${role?.hostWill ? ' (its Will)' : ''}`, 0, 1));
      }
      if (role && st?.online === true) role.stateBirths++;
      if (role && st?.online === false) role.stateDeaths++;
      if (role?.stateRebirthDue !== undefined && role.host === h) {
        if (st?.online !== true) v.push(finding('tck-id-message-flow-hid-sparkplug-state-message-delivered', `host application ${hostId} was told it is offline (the STATE of frame ${role.stateRebirthDue}); its next message is this STATE, not its birth (online true)`));
        role.stateRebirthDue = undefined;
      }
      if (first && st?.online !== true) {
        v.push(finding('tck-id-host-topic-phid-birth-message', `the host application's first message on this connection is not its STATE birth (online true)`));
      }
      if (role && role.hostWill !== true && st?.online === true) {
        if (role.willTopic === undefined) v.push(finding('tck-id-operational-behavior-host-application-connect-will', `host application ${hostId} published its STATE birth on a connection whose CONNECT registered no STATE Will`));
        else v.push(finding('tck-id-operational-behavior-host-application-connect-will-topic', `host application ${hostId}'s CONNECT registered its Will on ${JSON.stringify(role.willTopic)}, not spBv1.0/STATE/${hostId}`));
      }
      const birth = st?.online === true;
      const ids = birth
        ? { qos: 'tck-id-operational-behavior-host-application-connect-birth-qos', retain: 'tck-id-operational-behavior-host-application-connect-birth-retained', payload: 'tck-id-operational-behavior-host-application-connect-birth-payload' }
        : { qos: 'tck-id-operational-behavior-host-application-death-qos', retain: 'tck-id-operational-behavior-host-application-death-retained', payload: 'tck-id-operational-behavior-host-application-death-payload' };
      if (p.qos !== 1) v.push(finding(ids.qos, `STATE published with QoS ${p.qos}; it must be 1`, 0, 1));
      if (!p.retain) v.push(finding(ids.retain, 'STATE published without RETAIN; it must be retained', 0, 1));
      if (st === null || typeof st.online !== 'boolean' || st.timestamp === undefined) {
        v.push(finding(ids.payload, `a STATE payload is JSON {"online":true|false,"timestamp":<ms>}; this one is ${st === null ? 'not a JSON object' : JSON.stringify(st.raw)}`, start, end - start));
      }
      if (birth) {
        h.births++;
        h.online = true;
        if (h.willTimestamp !== undefined && st?.timestamp !== undefined && st.timestamp !== h.willTimestamp) {
          v.push(finding('tck-id-host-topic-phid-birth-payload-timestamp', `the STATE birth's timestamp ${String(st.timestamp)} differs from the ${String(h.willTimestamp)} of the CONNECT's Will`, start, end - start));
        }
        const own = `spBv1.0/STATE/${hostId}`;
        if (h.conn === rec.conn.id && !h.subscribed.some((f) => topicMatches(stripShare(f), own))) {
          v.push(finding('tck-id-payloads-state-subscribe', `the host application published its STATE birth before subscribing to ${own}`));
        }
      } else if (st?.online === false) {
        h.deaths++;
        h.online = false;
      }
    } else if (h && st?.online !== undefined) {
      // A delivered copy (or a retained STATE): it still tells whether the host is online.
      h.online = st.online;
      const role = this.roles.get(rec.conn.id);
      if (role?.primary?.host === hostId) this.primaryState(role, role.primary, st.online, st.timestamp, rec.frame);
      // A host told it is offline (a stale Will, another client) after its birth answers with a new birth; not when
      // it is its own death coming back.
      if (role?.host === h && rec.dir === 's2c' && st.online === false && role.stateBirths > 0 && role.stateDeaths === 0) role.stateRebirthDue ??= rec.frame;
    }
    return { info, payload: null, resolved: [] };
  }

  /** A STATE of its Primary Host Application delivered to a waiting edge node, read the way §5.4 says to. */
  private primaryState(role: ConnRole, pw: PrimaryWait, online: boolean, timestamp: unknown, frame: number): void {
    pw.received++;
    const ts = typeof timestamp === 'number' ? timestamp : undefined;
    if (ts !== undefined && pw.lastTs !== undefined && ts < pw.lastTs) {
      // Older than the last STATE the node went by: it is ignored.
      if (online) pw.staleOnline = true;
      return;
    }
    if (ts !== undefined) pw.lastTs = ts;
    pw.online = online;
    const n = role.edge;
    if (!online && n && n.born && n.conn !== undefined && this.roles.get(n.conn) === role) pw.offlineFrame ??= frame;
  }

  private message(rec: PacketRecord, p: PublishPacket, t: Extract<SparkplugTopic, { kind: 'message' }>, start: number, end: number, first: boolean): SparkplugOutcome {
    const own = rec.dir === 'c2s';
    const v = rec.violations;
    const type = t.type;
    const payload = decodeSparkplugPayload(rec.bytes, start, end);
    const n = this.node(t.group, t.edge, rec);
    const dev = n && t.device !== undefined ? this.device(n, t.device, rec) : undefined;
    const scope: Scope | undefined = dev ?? n;
    const fromEdge = MESSAGE_TYPES[type].from === 'edge';
    if (n && own && fromEdge) {
      // The connection that publishes an edge node's messages is the edge node's (even without a Will to say so).
      if (n.conn === undefined) n.conn = rec.conn.id;
      n.publisherSeen = true;
      const role = this.roles.get(rec.conn.id);
      if (role && role.edge === undefined) role.edge = n;
      if (first && type !== 'NBIRTH') {
        v.push(finding('tck-id-principles-birth-certificates-order', `the edge node's first message on this connection is ${type}, not its NBIRTH`));
      }
      if (role && !role.accepted && (type === 'NBIRTH' || type === 'DBIRTH')) {
        v.push(finding('tck-id-message-flow-edge-node-birth-publish-connect', `${type} sent before the broker's CONNACK accepted the connection`));
      }
      const pw = role?.primary;
      if (pw && type === 'NBIRTH' && pw.online !== true) {
        const id = pw.received === 0 ? 'tck-id-message-flow-edge-node-birth-publish-phid-wait'
          : pw.staleOnline ? 'tck-id-message-flow-edge-node-birth-publish-phid-wait-timestamp' : 'tck-id-message-flow-edge-node-birth-publish-phid-wait-online';
        const what = pw.received === 0 ? 'before any STATE of it reached the edge node on this connection'
          : pw.staleOnline ? 'after an online STATE older than the last STATE it received (which must be ignored)' : 'while the last STATE it received says online false';
        v.push(finding(id, `NBIRTH from an edge node that waits for Primary Host Application ${pw.host} (it subscribed to spBv1.0/STATE/${pw.host}), ${what}`));
      }
      if (pw && pw.offlineFrame !== undefined) {
        if (type !== 'NDEATH') v.push(finding('tck-id-message-flow-edge-node-birth-publish-phid-offline', `${type} after its Primary Host Application ${pw.host} went offline (the STATE of frame ${pw.offlineFrame}); the edge node must publish its NDEATH and disconnect at once`));
        pw.offlineFrame = undefined;
      }
    }
    const info: SparkplugInfo = { kind: type, group: t.group, edge: t.edge };
    if (t.device !== undefined) info['device'] = t.device;
    if (payload.error) {
      this.malformed++;
      info['error'] = payload.error.message;
      if (own) {
        const id = type === 'NBIRTH' ? 'tck-id-message-flow-edge-node-birth-publish-nbirth-payload'
          : type === 'DBIRTH' ? 'tck-id-message-flow-device-birth-publish-dbirth-payload' : 'SPARKPLUG-payload-malformed';
        v.push(finding(id, `the ${type} payload is not a Sparkplug B protobuf payload: ${payload.error.message}`, payload.error.offset, 0));
      }
    }
    if (payload.seq !== undefined) info['seq'] = payload.seq;
    if (payload.timestamp !== undefined) info['timestamp'] = payload.timestamp;
    if (payload.uuid !== undefined) info['uuid'] = payload.uuid;
    if (payload.bodyLength !== undefined) info['bodyLength'] = payload.bodyLength;
    if (payload.cut.length > 0) info['cut'] = payload.cut;

    if (n && own && !payload.error) this.judge(rec, p, t, payload, n, dev);
    else if (n && !own && !payload.error && fromEdge && !n.publisherSeen) this.delivered(rec, t, payload, n);
    // Births teach the names after they were judged (alias uniqueness compares against what was there before).
    if (n && scope && (type === 'NBIRTH' || type === 'DBIRTH') && !payload.error) this.learn(rec, n, scope, payload, type === 'NBIRTH');
    if (n) this.count(n, dev, type, own, rec, payload);

    const resolved: (MetricDefView | undefined)[] = [];
    const metrics: Record<string, unknown>[] = [];
    for (const m of payload.metrics) {
      const def = resolve(scope, n, m);
      resolved.push(def);
      if (metrics.length < MAX_METRICS_SHOWN) metrics.push(this.metricJson(rec, m, def, own && fromEdge ? v : null, type));
    }
    info['metrics'] = metrics;
    if (payload.metrics.length > MAX_METRICS_SHOWN) info['metricsOmitted'] = payload.metrics.length - MAX_METRICS_SHOWN;
    if (payload.unknownFields.length > 0) info['unknownFields'] = payload.unknownFields;
    return { info, payload, resolved };
  }

  private metricJson(rec: PacketRecord, m: SpMetric, def: MetricDefView | undefined, v: Violation[] | null, type: MessageType): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const name = m.name ?? def?.name;
    if (name !== undefined) out['name'] = name;
    if (m.alias !== undefined) out['alias'] = m.alias;
    const dt = m.datatype ?? def?.datatype;
    if (dt !== undefined) out['datatype'] = dataType(dt)?.name ?? dt;
    if (m.timestamp !== undefined) out['timestamp'] = m.timestamp;
    if (m.isHistorical) out['isHistorical'] = true;
    if (m.isTransient) out['isTransient'] = true;
    if (m.isNull) out['isNull'] = true;
    if (m.raw && !m.isNull) {
      const tv = metricValue(rec.bytes, m.raw, dt);
      out['value'] = tv.value;
      if (tv.problem !== undefined && v) v.push(finding('SPARKPLUG-value-field', `${type} metric ${name ?? `#${m.index}`}: ${tv.problem}`, m.raw.wire.tagStart, m.raw.wire.end - m.raw.wire.tagStart));
    } else if (!m.isNull) {
      out['value'] = null;
    }
    if (def?.unit !== undefined) out['unit'] = def.unit;
    if (m.properties) out['properties'] = propertiesValue(rec.bytes, m.properties);
    if (m.metadata) out['metadata'] = m.metadata;
    return out;
  }

  /** The checks on an edge node's or host's own message. */
  /**
   * An edge node's message as the broker delivered it to a subscriber, when the capture holds no connection of the
   * edge node itself (a capture taken on a host application's machine): what the payload's bytes alone show, which the
   * broker passes on unchanged: the payload timestamp and seq present (and absent where due), seq within 0 to 255 and
   * 0 on an NBIRTH, the NDEATH's single bdSeq metric, the metrics' structure and time order. Not judged there: QoS and
   * RETAIN (the broker sets them per subscription), order and seq continuity (a QoS 0 message may be dropped on the
   * way), and whatever needs the births (a subscriber may have subscribed after them). The copies of one subscriber
   * connection are judged, so that a message delivered to many is judged once; each finding says it was a copy.
   */
  private delivered(rec: PacketRecord, t: Extract<SparkplugTopic, { kind: 'message' }>, pl: SpPayload, n: EdgeNode): void {
    if (n.judgedVia === undefined) n.judgedVia = rec.conn.id;
    else if (n.judgedVia !== rec.conn.id) return;
    const v = rec.violations;
    const before = v.length;
    const type = t.type;
    const lower = type.toLowerCase();
    if (type !== 'NDEATH' && pl.timestamp === undefined) v.push(finding(`tck-id-payloads-${lower}-timestamp`, `${type} without a payload timestamp`));
    const seqAt = pl.seqRange;
    const seqLen = seqAt ? seqAt.end - seqAt.start : 0;
    if (type === 'NDEATH') {
      if (pl.seq !== undefined) v.push(finding('tck-id-payloads-ndeath-seq', `NDEATH carries seq ${pl.seq}; it must not have one`, seqAt?.start, seqLen));
      if (pl.metrics.length !== 1 || pl.metrics[0]!.name !== BDSEQ_METRIC) {
        v.push(finding('tck-id-topics-ndeath-payload', `an NDEATH payload holds exactly one metric, bdSeq; this one has ${pl.metrics.length} metric${pl.metrics.length === 1 ? '' : 's'}`));
      }
    } else if (pl.seq === undefined) {
      v.push(finding(`tck-id-payloads-${lower}-seq`, `${type} without a seq number`));
    } else {
      const seq = typeof pl.seq === 'number' ? pl.seq : Number.NaN;
      if (!(seq >= 0 && seq <= 255)) v.push(finding(type === 'NBIRTH' ? 'tck-id-payloads-nbirth-seq' : `tck-id-payloads-${lower}-seq-inc`, `seq ${String(pl.seq)} is outside 0 to 255`, seqAt?.start, seqLen));
      else if (type === 'NBIRTH' && seq !== 0) v.push(finding('tck-id-topics-nbirth-seq-num', `NBIRTH with seq ${seq}; it must be 0`, seqAt?.start, seqLen));
    }
    if (type !== 'NDEATH') {
      this.chronology(rec, pl, type);
      // n.born stays false here (births are judged on the publisher's connection), so Template instances are not
      // checked against definitions this subscriber may never have received.
      this.structure(rec, pl, type, n);
    }
    for (let i = before; i < v.length; i++) {
      const f = v[i]!;
      v[i] = { ...f, message: `${f.message} (judged on the copy delivered to this subscriber: the capture has no connection of ${t.group}/${t.edge} itself)` };
    }
  }

  private judge(rec: PacketRecord, p: PublishPacket, t: Extract<SparkplugTopic, { kind: 'message' }>, pl: SpPayload, n: EdgeNode, dev: Device | undefined): void {
    const v = rec.violations;
    const type = t.type;
    const lower = type.toLowerCase();
    // QoS and RETAIN: every message type is sent at QoS 0 without RETAIN (NDEATH normally comes as the Will).
    if (type !== 'NDEATH') {
      const mqttId = type === 'DDEATH' ? 'tck-id-topics-ddeath-mqtt' : `tck-id-payloads-${lower}-qos`;
      if (p.qos !== 0) v.push(finding(mqttId, `${type} published with QoS ${p.qos}; it must be 0`, 0, 1));
      const retainId = type === 'DDEATH' ? 'tck-id-topics-ddeath-mqtt' : `tck-id-payloads-${lower}-retain`;
      if (p.retain) v.push(finding(retainId, `${type} published with RETAIN; it must not be`, 0, 1));
    }
    // The payload timestamp (every type but NDEATH).
    if (type !== 'NDEATH' && pl.timestamp === undefined) v.push(finding(`tck-id-payloads-${lower}-timestamp`, `${type} without a payload timestamp`));
    // seq: on every edge node message but NDEATH, never on NDEATH and commands.
    const wantsSeq = type !== 'NDEATH' && type !== 'NCMD' && type !== 'DCMD';
    const seqAt = pl.seqRange;
    if (!wantsSeq && pl.seq !== undefined) {
      v.push(finding(`tck-id-payloads-${lower}-seq`, `${type} carries seq ${pl.seq}; it must not have one`, seqAt?.start, seqAt ? seqAt.end - seqAt.start : 0));
    }
    if (wantsSeq && pl.seq === undefined) v.push(finding(`tck-id-payloads-${lower}-seq`, `${type} without a seq number`));
    if (type === 'NCMD' || type === 'DCMD') {
      this.command(rec, pl, n, dev, type);
      return;
    }
    // An edge node's messages go under its own Group and Edge Node IDs: those of the connection's edge node.
    const connEdge = this.roles.get(rec.conn.id)?.edge;
    if ((type === 'NDATA' || type === 'NDEATH' || type === 'DDATA' || type === 'DDEATH') && connEdge !== undefined && connEdge !== n) {
      v.push(finding(`tck-id-topics-${lower}-topic`, `${type} under ${t.group}/${t.edge} on the connection of edge node ${connEdge.group}/${connEdge.edge}`));
    }
    if (type === 'NDEATH') {
      n.ndeathPublished = true;
      if (pl.metrics.length !== 1 || pl.metrics[0]!.name !== BDSEQ_METRIC) {
        v.push(finding('tck-id-topics-ndeath-payload', `an NDEATH payload holds exactly one metric, bdSeq; this one has ${pl.metrics.length} metric${pl.metrics.length === 1 ? '' : 's'}${pl.metrics.length > 0 ? ` (${pl.metrics.slice(0, 4).map((m) => m.name ?? `alias ${String(m.alias)}`).join(', ')})` : ''}`));
      }
      const bd = metricByName(pl, BDSEQ_METRIC);
      const val = bd?.raw ? metricValue(rec.bytes, bd.raw, 4).value : undefined;
      if (val !== undefined && n.lastBdSeq !== undefined && val !== n.lastBdSeq) {
        v.push(finding('tck-id-payloads-ndeath-bdseq', `NDEATH with bdSeq ${String(val)}; the NBIRTH of this session had ${String(n.lastBdSeq)}`));
      }
      return;
    }
    // A device is born under the group and edge node of the connection's own edge node.
    if (type === 'DBIRTH' && connEdge !== undefined && connEdge !== n) {
      v.push(finding('tck-id-message-flow-device-birth-publish-dbirth-match-edge-node-topic', `DBIRTH under ${t.group}/${t.edge} on the connection of edge node ${connEdge.group}/${connEdge.edge}`));
    }
    // Order: births before data.
    if (type === 'NBIRTH') {
      this.nbirth(rec, pl, n);
    } else if (!n.born) {
      const id = type === 'DBIRTH' ? 'tck-id-message-flow-device-birth-publish-nbirth-wait' : type === 'NDATA' ? 'tck-id-payloads-ndata-order' : type === 'DDATA' ? 'tck-id-payloads-ddata-order' : 'SPARKPLUG-death-before-birth';
      v.push(finding(id, `${type} from ${t.group}/${t.edge} before any NBIRTH on this connection`));
    } else if (type === 'DDATA' && dev && !dev.born) {
      v.push(finding('tck-id-payloads-ddata-order', `DDATA for device ${t.device} before its DBIRTH in this session`));
    } else if (type === 'DBIRTH' && n.dataSinceBirth && dev && !dev.diedSinceNbirth) {
      // The DBIRTHs follow the NBIRTH before any data; a device that died since (DDEATH) is born again later.
      v.push(finding('tck-id-payloads-dbirth-order', `DBIRTH for device ${t.device} after NDATA/DDATA of this birth sequence; the DBIRTHs come right after the NBIRTH`));
    }
    if (n.rebirthPending !== undefined && (type === 'NDATA' || type === 'DDATA')) {
      v.push(finding('tck-id-operational-behavior-data-commands-rebirth-action-1', `${type} after the Rebirth request of frame ${n.rebirthPending.frame} and before the new NBIRTH (data must stop until the birth sequence is sent)`));
    }
    // seq continuity per edge node.
    if (pl.seq !== undefined) {
      const seq = typeof pl.seq === 'number' ? pl.seq : Number.NaN;
      const len = seqAt ? seqAt.end - seqAt.start : 0;
      if (!(seq >= 0 && seq <= 255)) {
        v.push(finding(type === 'NBIRTH' ? 'tck-id-payloads-nbirth-seq' : `tck-id-payloads-${lower}-seq-inc`, `seq ${String(pl.seq)} is outside 0 to 255`, seqAt?.start, len));
      } else if (type === 'NBIRTH') {
        if (seq !== 0) v.push(finding('tck-id-topics-nbirth-seq-num', `NBIRTH with seq ${seq}; it must be 0`, seqAt?.start, len));
      } else if (n.lastSeq !== undefined && seq !== (n.lastSeq + 1) % 256) {
        n.seqGaps++;
        const missing = (seq - n.lastSeq - 1 + 256) % 256;
        v.push(finding(`tck-id-payloads-${lower}-seq-inc`, `seq ${seq} after ${n.lastSeq} from ${t.group}/${t.edge}: ${(n.lastSeq + 1) % 256} was due (${missing} message${missing === 1 ? '' : 's'} missing, repeated or reordered)`, seqAt?.start, len));
      }
      if (seq >= 0 && seq <= 255) n.lastSeq = seq;
    }
    if (type === 'NDATA' || type === 'DDATA') {
      n.dataSinceBirth = true;
      this.dataMetrics(rec, pl, dev ?? n, type);
    }
    if (type === 'NBIRTH' || type === 'DBIRTH') this.birthMetrics(rec, pl, n, dev ?? n, type);
    if (type === 'NBIRTH') this.learnTemplates(rec, pl, n);
    this.chronology(rec, pl, type);
    this.structure(rec, pl, type, n);
  }

  private nbirth(rec: PacketRecord, pl: SpPayload, n: EdgeNode): void {
    const v = rec.violations;
    const role = this.roles.get(rec.conn.id);
    if (role?.edge !== undefined && role.edge !== n) {
      v.push(finding('tck-id-message-flow-edge-node-birth-publish-will-message-topic', `NBIRTH for ${n.group}/${n.edge} on a connection whose NDEATH Will is for ${role.edge.group}/${role.edge.edge}`));
    }
    if (role && role.edge === n && role.edgeWill !== true) {
      v.push(finding('tck-id-payloads-ndeath-will-message', `NBIRTH from ${n.group}/${n.edge} on a connection whose CONNECT registered no NDEATH Will`));
    }
    const bd = metricByName(pl, BDSEQ_METRIC);
    if (!bd) {
      v.push(finding('tck-id-payloads-nbirth-bdseq', 'NBIRTH without a bdSeq metric'));
    } else {
      const val = bd.raw ? metricValue(rec.bytes, bd.raw, 4).value : undefined;
      if (bd.datatype !== undefined && bd.datatype !== 4) v.push(finding('tck-id-message-flow-edge-node-birth-publish-nbirth-payload-bdSeq', `the NBIRTH's bdSeq metric has data type ${typeName(bd.datatype)}; it must be Int64`, bd.start, bd.end - bd.start));
      if (n.willBdSeq !== undefined && val !== n.willBdSeq) {
        v.push(finding('tck-id-payloads-nbirth-bdseq-repeat', `NBIRTH with bdSeq ${String(val)}; this connection's NDEATH Will has ${String(n.willBdSeq)}`, bd.start, bd.end - bd.start));
      }
      if (typeof val === 'number' || typeof val === 'string') n.lastBdSeq = val;
    }
    const rb = metricByName(pl, REBIRTH_METRIC);
    if (!rb) {
      v.push(finding('tck-id-payloads-nbirth-rebirth-req', `NBIRTH without the "${REBIRTH_METRIC}" metric`));
    } else {
      const val = rb.raw ? metricValue(rec.bytes, rb.raw, rb.datatype).value : undefined;
      if (rb.datatype !== 11) v.push(finding('tck-id-operational-behavior-data-commands-rebirth-datatype', `"${REBIRTH_METRIC}" has data type ${typeName(rb.datatype)}; it must be Boolean`, rb.start, rb.end - rb.start));
      else if (val !== false) v.push(finding('tck-id-operational-behavior-data-commands-rebirth-value', `"${REBIRTH_METRIC}" is ${JSON.stringify(val)} in the NBIRTH; it must be false`, rb.start, rb.end - rb.start));
      if (rb.alias !== undefined && pl.metrics.some((m) => m !== rb && m.alias !== undefined)) {
        v.push(finding('tck-id-operational-behavior-data-commands-rebirth-name-aliases', `"${REBIRTH_METRIC}" has alias ${String(rb.alias)}; with aliases in use it must have none`, rb.start, rb.end - rb.start));
      }
    }
    // A new birth sequence: every device must be born again.
    n.born = true;
    n.rebirthPending = undefined;
    n.dataSinceBirth = false;
    n.byAlias.clear();
    n.byName.clear();
    n.metricCount = 0;
    n.templates.clear();
    for (const d of n.devices.values()) {
      d.born = false;
      d.diedSinceNbirth = false;
      d.byAlias.clear();
      d.byName.clear();
    }
  }

  private birthMetrics(rec: PacketRecord, pl: SpPayload, n: EdgeNode, scope: Scope, type: 'NBIRTH' | 'DBIRTH'): void {
    const v = rec.violations;
    const lower = type.toLowerCase();
    const aliases = pl.metrics.some((m) => m.alias !== undefined);
    const seenLower = new Map<string, string>();
    const seenAlias = new Set<string>();
    for (const m of pl.metrics) {
      const at = m.start;
      const len = m.end - m.start;
      const label = m.name ?? `#${m.index}`;
      if (m.name === undefined || m.datatype === undefined || (m.raw === undefined && m.isNull !== true)) {
        const miss = [m.name === undefined ? 'name' : '', m.datatype === undefined ? 'datatype' : '', m.raw === undefined && m.isNull !== true ? 'value (or is_null)' : ''].filter((s) => s !== '').join(', ');
        v.push(finding(`tck-id-topics-${lower}-metrics`, `${type} metric ${label} has no ${miss}`, at, len));
      }
      if (m.datatype !== undefined && !isMetricType(m.datatype)) v.push(finding('tck-id-payloads-metric-datatype-value', `${type} metric ${label} has data type ${m.datatype}, which Sparkplug does not define`, at, len));
      if (aliases && m.alias === undefined && m.name !== REBIRTH_METRIC && m.name !== BDSEQ_METRIC) {
        v.push(finding('tck-id-payloads-alias-birth-requirement', `${type} metric ${label} has no alias while other metrics have one`, at, len));
      }
      if (m.alias !== undefined) {
        const key = String(m.alias);
        // Unique across the edge node: within this birth, and against the node's and its other devices' births.
        const elsewhere = this.aliasElsewhere(n, scope, key);
        if (seenAlias.has(key) || elsewhere !== undefined) {
          v.push(finding('tck-id-payloads-alias-uniqueness', `alias ${key} of ${type} metric ${label} is already used by ${elsewhere ?? 'another metric of this birth'} on this edge node`, at, len));
        }
        seenAlias.add(key);
      }
      if (m.name !== undefined) {
        const lc = m.name.toLowerCase();
        const prev = seenLower.get(lc);
        if (prev !== undefined && prev !== m.name) v.push(finding('tck-id-case-sensitivity-metric-names', `${type} metrics ${JSON.stringify(prev)} and ${JSON.stringify(m.name)} differ only in case`, at, len));
        seenLower.set(lc, m.name);
      }
      if (m.timestamp === undefined) v.push(finding('tck-id-payloads-name-birth-data-requirement', `${type} metric ${label} has no timestamp`, at, len));
      if (m.isNull === true && m.raw !== undefined) {
        v.push(finding(type === 'NBIRTH' ? 'tck-id-operational-behavior-data-publish-nbirth-values' : 'tck-id-operational-behavior-data-publish-dbirth-values', `${type} metric ${label} has is_null set and a value as well`, at, len));
      }
      if (m.properties) {
        for (const p of m.properties.values) {
          if (p.type === undefined) v.push(finding('tck-id-payloads-metric-propertyvalue-type-req', `${type} metric ${label}: property ${JSON.stringify(p.key ?? '?')} has no type`, m.properties.start, m.properties.end - m.properties.start));
        }
      }
    }
  }

  /** Another scope of the edge node (the node itself or another device) that already has this alias, by its name. */
  private aliasElsewhere(n: EdgeNode, scope: Scope, alias: string): string | undefined {
    if (scope !== n) {
      const d = n.byAlias.get(alias);
      if (d) return d.name;
    }
    for (const dev of n.devices.values()) {
      if (dev === scope) continue;
      const d = dev.byAlias.get(alias);
      if (d) return `${d.name} of device ${dev.id}`;
    }
    return undefined;
  }

  private dataMetrics(rec: PacketRecord, pl: SpPayload, scope: Scope, type: 'NDATA' | 'DDATA'): void {
    const v = rec.violations;
    const typed: string[] = [];
    for (const m of pl.metrics) {
      const def = this.knownMetric(m, scope, type, v);
      if (def && m.datatype !== undefined) typed.push(def.name);
    }
    // One finding per message, not per metric: an encoder that always writes the type would otherwise flood the view.
    if (typed.length > 0) {
      const first = pl.metrics.find((m) => m.datatype !== undefined)!;
      v.push(finding('tck-id-payloads-metric-datatype-not-req', `${type} repeats the data type its birth declared for ${typed.length === pl.metrics.length ? (typed.length === 1 ? 'its metric' : `all ${typed.length} metrics`) : `${typed.length} of ${pl.metrics.length} metrics`} (${typed.slice(0, 3).join(', ')}${typed.length > 3 ? ', …' : ''})`, first.start, first.end - first.start));
    }
  }

  /** A data or command metric: named or aliased, known from the birth, typed as the birth says. */
  private knownMetric(m: SpMetric, scope: Scope, type: MessageType, v: Violation[]): MetricDef | undefined {
    const at = m.start;
    const len = m.end - m.start;
    if (m.name === undefined && m.alias === undefined) {
      v.push(finding('tck-id-payloads-name-requirement', `${type} metric #${m.index} has neither a name nor an alias`, at, len));
      return undefined;
    }
    const def = m.alias !== undefined ? scope.byAlias.get(String(m.alias)) : m.name !== undefined ? scope.byName.get(m.name) : undefined;
    const usesAliases = scope.byAlias.size > 0;
    if (usesAliases && m.name !== undefined && m.alias !== undefined) {
      v.push(finding('tck-id-payloads-alias-data-cmd-requirement', `${type} metric ${m.name} carries both its name and alias ${String(m.alias)}; with aliases in use only the alias is sent`, m.nameRange?.start ?? at, m.nameRange ? m.nameRange.end - m.nameRange.start : len));
    }
    if (def === undefined) {
      if (scope.byName.size > 0 || scope.byAlias.size > 0) {
        // The birth must declare every metric the node (or device) will ever report.
        v.push(finding(type === 'NDATA' ? 'tck-id-topics-nbirth-metric-reqs' : 'tck-id-topics-dbirth-metric-reqs', `${type} metric ${m.name !== undefined ? JSON.stringify(m.name) : `alias ${String(m.alias)}`} is not in the ${type === 'NDATA' ? 'NBIRTH' : 'DBIRTH'}`, at, len));
      }
      return undefined;
    }
    if (m.datatype !== undefined) {
      if (def.datatype !== undefined && m.datatype !== def.datatype) {
        v.push(finding('SPARKPLUG-datatype-changed', `${type} metric ${def.name} has data type ${typeName(m.datatype)}; its birth declared ${typeName(def.datatype)}`, at, len));
      }
    }
    if (type === 'NDATA' || type === 'DDATA') {
      if (m.timestamp === undefined) v.push(finding('tck-id-payloads-name-birth-data-requirement', `${type} metric ${def.name} has no timestamp`, at, len));
    }
    return def;
  }

  private command(rec: PacketRecord, pl: SpPayload, n: EdgeNode, dev: Device | undefined, type: 'NCMD' | 'DCMD'): void {
    const v = rec.violations;
    const scope: Scope = dev ?? n;
    const lower = type.toLowerCase();
    for (const m of pl.metrics) {
      if (type === 'DCMD' && m.name === REBIRTH_METRIC) {
        v.push(finding('tck-id-operational-behavior-data-commands-ncmd-rebirth-verb', `a Rebirth request ("${REBIRTH_METRIC}") in a DCMD; it is sent as an NCMD to the edge node`, m.start, m.end - m.start));
        continue;
      }
      if (type === 'NCMD' && m.name === REBIRTH_METRIC) {
        const val = m.raw ? metricValue(rec.bytes, m.raw, 11).value : undefined;
        if (val !== true) v.push(finding('tck-id-operational-behavior-data-commands-ncmd-rebirth-value', `a Rebirth request writes true to "${REBIRTH_METRIC}"; this one writes ${JSON.stringify(val)}`, m.start, m.end - m.start));
        continue;
      }
      if (m.name === undefined && m.alias === undefined) {
        v.push(finding('tck-id-payloads-name-requirement', `${type} metric #${m.index} has neither a name nor an alias`, m.start, m.end - m.start));
        continue;
      }
      const def = m.alias !== undefined ? scope.byAlias.get(String(m.alias)) : scope.byName.get(m.name!);
      if (def === undefined) {
        if (scope.byName.size > 0) v.push(finding(`tck-id-operational-behavior-data-commands-${lower}-metric-name`, `${type} writes ${m.name !== undefined ? JSON.stringify(m.name) : `alias ${String(m.alias)}`}, which the ${type === 'NCMD' ? 'NBIRTH' : 'DBIRTH'} does not declare`, m.start, m.end - m.start));
        continue;
      }
      if (m.raw && def.datatype !== undefined) {
        const row = dataType(def.datatype);
        if (row?.field && row.field !== m.raw.field) {
          v.push(finding(`tck-id-operational-behavior-data-commands-${lower}-metric-value`, `${type} writes ${def.name} (${row.name}, carried in ${row.field}) with a value in ${m.raw.field}`, m.start, m.end - m.start));
        }
      }
    }
  }

  /** The NBIRTH's Template definitions (its metrics whose Template has is_definition true), by metric name. */
  private learnTemplates(rec: PacketRecord, pl: SpPayload, n: EdgeNode): void {
    for (const m of pl.metrics) {
      const w = m.raw?.field === 'template_value' ? m.raw.wire : undefined;
      if (m.name === undefined || !w?.message) continue;
      const tpl = templateOf(rec.bytes, w.message);
      if (tpl.isDefinition !== true) continue;
      if (n.templates.size >= MAX_TEMPLATES && !n.templates.has(m.name)) {
        if (!n.templatesCapped) {
          n.templatesCapped = true;
          rec.violations.push(finding('SPARKPLUG-limit', `${MAX_TEMPLATES} Template definitions remembered for ${n.group}/${n.edge}: instances of later ones are not checked against theirs`));
        }
        continue;
      }
      const members = new Map<string, number | undefined>();
      for (const mm of tpl.metrics) if (mm.name !== undefined) members.set(mm.name, mm.datatype);
      const parameters = new Set<string>();
      for (const prm of tpl.parameters) if (prm.name !== undefined) parameters.add(prm.name);
      n.templates.set(m.name, { members, parameters });
    }
  }

  /**
   * Values of one metric in one message (not historical) are in chronological order: a metric listed again has a
   * timestamp no older than its previous entry's.
   */
  private chronology(rec: PacketRecord, pl: SpPayload, type: MessageType): void {
    if (type !== 'NBIRTH' && type !== 'NDATA' && type !== 'DBIRTH' && type !== 'DDATA') return;
    const last = new Map<string, number>();
    for (const m of pl.metrics) {
      if (m.isHistorical === true || typeof m.timestamp !== 'number') continue;
      const key = m.alias !== undefined ? `alias ${String(m.alias)}` : m.name !== undefined ? JSON.stringify(m.name) : undefined;
      if (key === undefined) continue;
      const prev = last.get(key);
      if (prev !== undefined && m.timestamp < prev) {
        const id = type === 'NBIRTH' || type === 'NDATA' ? 'tck-id-operational-behavior-data-publish-nbirth-order' : 'tck-id-operational-behavior-data-publish-dbirth-order';
        rec.violations.push(finding(id, `${type} lists metric ${key} again with timestamp ${m.timestamp}, older than its previous entry's ${prev}: values are listed in chronological order`, m.start, m.end - m.start));
        return;
      }
      last.set(key, m.timestamp);
    }
  }

  /** PropertySet, DataSet and Template shapes, wherever they appear in the message's metrics. */
  private structure(rec: PacketRecord, pl: SpPayload, type: MessageType, n: EdgeNode): void {
    const v = rec.violations;
    const birth = type === 'NBIRTH' || type === 'DBIRTH';
    const walk = (metrics: SpMetric[], depth: number): void => {
      for (const m of metrics) {
        if (m.datatypeWire && notUint32(rec.bytes, m.datatypeWire)) {
          v.push(finding('tck-id-payloads-metric-datatype-value-type', `metric ${m.name ?? `#${m.index}`}: its datatype is not sent as an unsigned 32-bit integer (${m.datatypeWire.note ?? 'a varint wider than 32 bits'})`, m.datatypeWire.tagStart, m.datatypeWire.end - m.datatypeWire.tagStart));
        }
        const ps = m.properties;
        if (ps && ps.keys.length !== ps.values.length) {
          v.push(finding('tck-id-payloads-propertyset-keys-array-size', `metric ${m.name ?? `#${m.index}`}: a PropertySet with ${ps.keys.length} keys and ${ps.values.length} values`, ps.start, ps.end - ps.start));
        }
        for (const p of ps?.values ?? []) {
          const where = `metric ${m.name ?? `#${m.index}`}: property ${JSON.stringify(p.key ?? '?')}`;
          if (p.typeWire && notUint32(rec.bytes, p.typeWire)) {
            v.push(finding('tck-id-payloads-metric-propertyvalue-type-type', `${where}: its type is not sent as an unsigned 32-bit integer (${p.typeWire.note ?? 'a varint wider than 32 bits'})`, p.typeWire.tagStart, p.typeWire.end - p.typeWire.tagStart));
          }
          if (p.type !== undefined && !isPropertyValueType(p.type)) {
            v.push(finding('tck-id-payloads-metric-propertyvalue-type-value', `${where} has type ${p.type}, not a basic, PropertySet or PropertySetList type`, ps!.start, ps!.end - ps!.start));
          }
          if (p.key === QUALITY_PROPERTY) {
            if (p.type !== QUALITY_TYPE) v.push(finding('tck-id-payloads-propertyset-quality-value-type', `${where} has type ${p.type ?? 'none'}; Quality is an Int32 (${QUALITY_TYPE})`, ps!.start, ps!.end - ps!.start));
            const q = p.raw?.field === 'int_value' ? p.raw.wire.scalar : undefined;
            if (typeof q !== 'number' || !QUALITY_CODES.has(q)) {
              const codes = [...QUALITY_CODES].map(([c, name]) => `${c} (${name})`).join(', ');
              v.push(finding('tck-id-payloads-propertyset-quality-value-value', `${where} is ${q === undefined ? `not an int_value (${p.raw?.field ?? 'no value'})` : String(q)}; Quality is one of ${codes}`, ps!.start, ps!.end - ps!.start));
            }
          }
        }
        const w = m.raw?.wire;
        if (!w?.message) continue;
        if (m.raw!.field === 'dataset_value') {
          let columns = 0;
          let types = 0;
          for (const g of w.message) {
            if (g.name === 'columns') columns++;
            else if (g.name === 'types') types += g.packed ? g.packed.length : 1;
          }
          for (const g of w.message) {
            if (g.name === 'num_of_columns' && g.note !== undefined) v.push(finding('tck-id-payloads-dataset-column-size', `metric ${m.name ?? `#${m.index}`}: the DataSet's num_of_columns is not sent as an unsigned 64-bit integer (${g.note})`, g.tagStart, g.end - g.tagStart));
            if (g.name === 'rows' && g.message) {
              const ext = g.message.some((e) => e.message?.some((x) => x.name === 'extension_value') === true);
              if (ext) v.push(finding('tck-id-payloads-template-dataset-value', `metric ${m.name ?? `#${m.index}`}: a DataSet cell in extension_value, not a uint32, uint64, float, double, bool or string value`, g.tagStart, g.end - g.tagStart));
            }
            if (g.name !== 'types') continue;
            if (g.note !== undefined) {
              v.push(finding('tck-id-payloads-dataset-types-def', `metric ${m.name ?? `#${m.index}`}: the DataSet's types are not sent as unsigned 32-bit integers (${g.note})`, g.tagStart, g.end - g.tagStart));
              continue;
            }
            const wide = g.packed ? g.packed.some((x) => notUint32(rec.bytes, x)) : notUint32(rec.bytes, g);
            if (wide) v.push(finding('tck-id-payloads-dataset-types-type', `metric ${m.name ?? `#${m.index}`}: a DataSet column type wider than an unsigned 32-bit integer`, g.tagStart, g.end - g.tagStart));
            const ts = g.packed ? g.packed.map((x) => Number(x.value)) : [Number(g.scalar)];
            const bad = ts.find((x) => !isBasicType(x));
            if (bad !== undefined) v.push(finding('tck-id-payloads-dataset-types-value', `metric ${m.name ?? `#${m.index}`}: a DataSet column of type ${bad}, not a basic data type`, g.tagStart, g.end - g.tagStart));
          }
          if (types === 0) v.push(finding('tck-id-payloads-dataset-parameter-type-req', `metric ${m.name ?? `#${m.index}`}: a DataSet without its types array`, w.start, w.end - w.start));
          else if (types !== columns) v.push(finding('tck-id-payloads-dataset-types-num', `metric ${m.name ?? `#${m.index}`}: a DataSet with ${columns} columns and ${types} types`, w.start, w.end - w.start));
        } else if (m.raw!.field === 'template_value' && depth < 8) {
          const tpl = templateOf(rec.bytes, w.message);
          const label = m.name ?? `#${m.index}`;
          if (tpl.isDefinition === undefined) v.push(finding('tck-id-payloads-template-is-definition', `template ${label} does not say whether it is a definition (is_definition)`, w.start, w.end - w.start));
          if (tpl.isDefinition === true) {
            if (type !== 'NBIRTH') v.push(finding('tck-id-payloads-template-definition-nbirth-only', `template definition ${label} in a ${type}; definitions belong in the NBIRTH`, w.start, w.end - w.start));
            if (tpl.templateRef !== undefined) v.push(finding('tck-id-payloads-template-definition-ref', `template definition ${label} has template_ref ${JSON.stringify(tpl.templateRef)}; a definition has none`, w.start, w.end - w.start));
          } else if (tpl.isDefinition === false && tpl.templateRef === undefined) {
            v.push(finding('tck-id-payloads-template-instance-ref', `template instance ${label} has no template_ref naming its definition`, w.start, w.end - w.start));
          }
          const at = w.start;
          const len = w.end - w.start;
          if (!tpl.versionUtf8) v.push(finding('tck-id-payloads-template-version', `template ${label}: its version is not UTF-8`, at, len));
          for (const prm of tpl.parameters) {
            const pn = prm.name !== undefined ? JSON.stringify(prm.name) : '(no name)';
            if (prm.name === undefined) v.push(finding('tck-id-payloads-template-parameter-name-required', `template ${label} has a parameter without a name`, at, len));
            else if (!prm.nameUtf8) v.push(finding('tck-id-payloads-template-parameter-name-type', `template ${label}: a parameter name is not UTF-8`, at, len));
            if (prm.typeWire && notUint32(rec.bytes, prm.typeWire)) v.push(finding('tck-id-payloads-template-parameter-value-type', `template ${label}: parameter ${pn} has a type not sent as an unsigned 32-bit integer (${prm.typeWire.note ?? 'a varint wider than 32 bits'})`, at, len));
            else if (prm.type !== undefined && !isBasicType(prm.type)) v.push(finding('tck-id-payloads-template-parameter-type-value', `template ${label}: parameter ${pn} has type ${prm.type}, not a basic data type`, at, len));
            if (prm.typeWire === undefined && birth) v.push(finding('tck-id-payloads-template-parameter-type-req', `template ${label} in ${article(type)} ${type}: parameter ${pn} has no type`, at, len));
            if (prm.raw?.field === 'extension_value') v.push(finding('tck-id-payloads-template-parameter-value', `template ${label}: parameter ${pn} has its value in extension_value, not a uint32, uint64, float, double, bool or string value`, at, len));
          }
          // An instance against the NBIRTH's definition it names (when this session's NBIRTH was seen).
          if (tpl.isDefinition !== true && tpl.templateRef !== undefined && n.born) {
            const def = n.templates.get(tpl.templateRef);
            if (def === undefined) {
              if (!n.templatesCapped) v.push(finding('tck-id-topics-nbirth-templates', `template instance ${label} refers to ${JSON.stringify(tpl.templateRef)}, which the NBIRTH of ${n.group}/${n.edge} does not define`, at, len));
            } else {
              const names = new Set<string>();
              const extra: string[] = [];
              for (const mm of tpl.metrics) {
                if (mm.name === undefined) continue;
                names.add(mm.name);
                if (!def.members.has(mm.name)) extra.push(mm.name);
              }
              if (extra.length > 0) v.push(finding('tck-id-payloads-template-instance-members', `template instance ${label} has member${extra.length === 1 ? '' : 's'} ${listNames(extra)} that definition ${JSON.stringify(tpl.templateRef)} does not have`, at, len));
              if (birth) {
                const missing = [...def.members.keys()].filter((k) => !names.has(k));
                if (missing.length > 0) v.push(finding('tck-id-payloads-template-instance-members-birth', `template instance ${label} in ${article(type)} ${type} lacks member${missing.length === 1 ? '' : 's'} ${listNames(missing)} of definition ${JSON.stringify(tpl.templateRef)}`, at, len));
              }
              const unknown = tpl.parameters.flatMap((prm) => (prm.name !== undefined && !def.parameters.has(prm.name) ? [prm.name] : []));
              if (unknown.length > 0) v.push(finding('tck-id-payloads-template-definition-parameters', `template instance ${label} has parameter${unknown.length === 1 ? '' : 's'} ${listNames(unknown)} that definition ${JSON.stringify(tpl.templateRef)} does not list`, at, len));
            }
          }
          walk(tpl.metrics, depth + 1);
        }
      }
    };
    walk(pl.metrics, 0);
  }

  /** A birth's metrics become the scope's definitions. */
  private learn(rec: PacketRecord, n: EdgeNode, scope: Scope, pl: SpPayload, isNode: boolean): void {
    if (!isNode) {
      scope.byAlias.clear();
      scope.byName.clear();
      const d = scope as Device; // a DBIRTH's scope is always a device (this.device() made it)
      d.born = true;
    }
    for (const m of pl.metrics) {
      if (m.name === undefined) continue;
      if (n.metricCount >= MAX_METRICS) {
        if (!n.capped) {
          n.capped = true;
          rec.violations.push(finding('SPARKPLUG-limit', `${MAX_METRICS} metric definitions remembered for ${n.group}/${n.edge}: later metrics are shown by alias only`));
        }
        return;
      }
      const def: MetricDef = { name: m.name, alias: m.alias !== undefined ? String(m.alias) : undefined, datatype: m.datatype, unit: unitOf(rec.bytes, m) };
      scope.byName.set(m.name, def);
      if (def.alias !== undefined) {
        scope.byAlias.set(def.alias, def);
        n.usesAliases = true;
      }
      n.metricCount++;
    }
  }

  private count(n: EdgeNode, dev: Device | undefined, type: MessageType, own: boolean, rec: PacketRecord, pl: SpPayload): void {
    // Counted once per message: the edge node's own copy, or when its connection is not in the capture, every copy.
    if (!own && n.conn !== undefined && type !== 'NDEATH' && type !== 'NCMD' && type !== 'DCMD') return;
    switch (type) {
      case 'NBIRTH': n.births++; n.online = true; break;
      case 'NDEATH':
        if (!own && n.conn !== undefined && n.conn !== rec.conn.id && this.roles.get(rec.conn.id)?.edge !== n) {
          // The broker delivering the Will (or the edge node's own NDEATH) to a subscriber: counted once per death.
          if (n.online) { n.deaths++; n.online = false; }
        } else if (own || n.online) {
          n.deaths++;
          n.online = false;
        }
        break;
      case 'DBIRTH': if (dev) dev.births++; break;
      case 'DDEATH': if (dev) { dev.deaths++; dev.born = false; dev.diedSinceNbirth = true; } break;
      case 'NDATA': case 'DDATA': n.data++; break;
      case 'NCMD': case 'DCMD': {
        // A command counts once: as delivered to the edge node's connection, or as the host sent it when the edge
        // node's connection is not in the capture. Copies to other subscribers (the host itself) do not count.
        const toEdge = !own && this.roles.get(rec.conn.id)?.edge === n;
        if (!toEdge && !(own && n.conn === undefined)) return;
        n.commands++;
        if (type === 'NCMD' && pl.metrics.some((m) => m.name === REBIRTH_METRIC)) {
          n.rebirthRequests++;
          n.rebirthPending ??= { frame: rec.frame, conn: rec.conn.id };
        }
        break;
      }
    }
  }

  private node(group: string, edge: string, rec: PacketRecord): EdgeNode | undefined {
    const key = `${group}/${edge}`;
    let n = this.nodes.get(key);
    if (n === undefined) {
      if (this.nodes.size >= MAX_EDGE_NODES) {
        if (!this.nodesCapped) {
          this.nodesCapped = true;
          rec.violations.push(finding('SPARKPLUG-limit', `${MAX_EDGE_NODES} edge nodes tracked: later edge nodes are decoded without state`));
        }
        return undefined;
      }
      n = new EdgeNode(group, edge);
      // Both tables are bounded by MAX_EDGE_NODES like the nodes themselves.
      const other = this.lowerKeys.get(key.toLowerCase());
      const otherGroup = this.lowerGroups.get(group.toLowerCase());
      if (rec.dir === 'c2s') {
        if (other !== undefined) rec.violations.push(finding('tck-id-case-sensitivity-sparkplug-ids', `edge node ${key} differs from edge node ${other} only in letter case`));
        else if (otherGroup !== undefined && otherGroup !== group) rec.violations.push(finding('tck-id-case-sensitivity-sparkplug-ids', `group ID ${JSON.stringify(group)} differs from group ${JSON.stringify(otherGroup)} only in letter case`));
      }
      this.lowerKeys.set(key.toLowerCase(), key);
      if (otherGroup === undefined) this.lowerGroups.set(group.toLowerCase(), group);
      this.nodes.set(key, n);
    }
    return n;
  }

  private device(n: EdgeNode, id: string, rec: PacketRecord): Device | undefined {
    let d = n.devices.get(id);
    if (d === undefined) {
      if (n.devices.size >= MAX_DEVICES) {
        if (!n.capped) {
          n.capped = true;
          rec.violations.push(finding('SPARKPLUG-limit', `${MAX_DEVICES} devices tracked for ${n.group}/${n.edge}: later devices are decoded without state`));
        }
        return undefined;
      }
      d = { id, born: false, diedSinceNbirth: false, births: 0, deaths: 0, byName: new Map(), byAlias: new Map() };
      const lc = id.toLowerCase();
      const other = n.lowerDevices.get(lc);
      if (other !== undefined && rec.dir === 'c2s') {
        rec.violations.push(finding('tck-id-case-sensitivity-sparkplug-ids', `device ID ${JSON.stringify(id)} of ${n.group}/${n.edge} differs from device ${JSON.stringify(other)} only in letter case`));
      }
      n.lowerDevices.set(lc, id);
      n.devices.set(id, d);
    }
    return d;
  }

  private host(id: string): Host | undefined {
    let h = this.hosts.get(id);
    if (h === undefined) {
      if (this.hosts.size >= MAX_HOSTS) return undefined;
      h = { id, conn: undefined, willTimestamp: undefined, online: null, births: 0, deaths: 0, subscribed: [] };
      this.hosts.set(id, h);
    }
    return h;
  }

  get edgeNodes(): EdgeNodeSummary[] {
    return [...this.nodes.values()].map((n) => ({
      group: n.group, edge: n.edge, births: n.births, deaths: n.deaths, data: n.data, commands: n.commands,
      rebirthRequests: n.rebirthRequests, seqGaps: n.seqGaps, metrics: n.byName.size, lastBdSeq: n.lastBdSeq ?? null, online: n.online,
      devices: [...n.devices.values()].map((d) => ({ id: d.id, births: d.births, deaths: d.deaths, metrics: d.byName.size })),
    }));
  }

  get hostApplications(): HostSummary[] {
    return [...this.hosts.values()].map((h) => ({ host: h.id, online: h.online, births: h.births, deaths: h.deaths }));
  }
}

function metricByName(p: SpPayload, name: string): SpMetric | undefined {
  for (const m of p.metrics) if (m.name === name) return m;
  return undefined;
}

/** "an NBIRTH", "a DBIRTH". */
function article(type: MessageType): string {
  return type.startsWith('N') ? 'an' : 'a';
}

/** Up to four names, quoted, then how many more. */
function listNames(names: string[]): string {
  const shown = names.slice(0, 4).map((x) => JSON.stringify(x)).join(', ');
  return names.length > 4 ? `${shown} and ${names.length - 4} more` : shown;
}

function typeName(t: number | undefined): string {
  if (t === undefined) return 'none';
  const row = dataType(t);
  return row ? row.name : String(t);
}

/** The metric's name and type: its own, or the birth's for its alias (or name). */
function resolve(scope: Scope | undefined, n: EdgeNode | undefined, m: SpMetric): MetricDefView | undefined {
  let def: MetricDef | undefined;
  if (scope) def = m.alias !== undefined ? scope.byAlias.get(String(m.alias)) : m.name !== undefined ? scope.byName.get(m.name) : undefined;
  if (!def && n && scope !== n && m.alias !== undefined) def = n.byAlias.get(String(m.alias));
  if (!def) return m.name !== undefined || m.datatype !== undefined ? { name: m.name, datatype: m.datatype, unit: undefined } : undefined;
  return { name: m.name ?? def.name, datatype: m.datatype ?? def.datatype, unit: def.unit };
}

/** The engineering unit a birth's metric properties give (Ignition and Tahu use "engUnit"). */
function unitOf(b: Uint8Array, m: SpMetric): string | undefined {
  if (!m.properties) return undefined;
  const props = propertiesValue(b, m.properties);
  for (const k of ['engUnit', 'EngUnit', 'engineeringUnits', 'unit', 'units']) {
    const u = props[k];
    if (typeof u === 'string' && u.length > 0 && u.length <= 32) return u;
  }
  return undefined;
}

/** A STATE payload: Sparkplug 3.0 JSON {"online":bool,"timestamp":ms}; null when it is not a JSON object. */
function stateJson(b: Uint8Array, start: number, end: number): { online: boolean | undefined; timestamp: unknown; raw: unknown } | null {
  if (end - start > 4096) return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8'));
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>; // a parsed JSON object
  const online = typeof o['online'] === 'boolean' ? o['online'] : undefined;
  const ts = typeof o['timestamp'] === 'number' ? o['timestamp'] : undefined;
  return { online, timestamp: ts, raw: v };
}
