/**
 * When a capture holds no MQTT: which TCP ports carried traffic, so the user can point --port at the right one.
 * Counted per segment by the lower of its two ports (servers listen on low ports, clients get ephemeral ones): one
 * array increment per segment.
 */
import type { TcpSegment } from '../net/types.js';

export class PortCensus {
  private readonly segments = new Uint32Array(65536);
  private total = 0;

  add(seg: TcpSegment): void {
    this.segments[seg.srcPort < seg.dstPort ? seg.srcPort : seg.dstPort]!++;
    this.total++;
  }

  /** The busiest ports, most segments first (ties: lower port first). */
  top(n: number): { port: number; segments: number }[] {
    const out: { port: number; segments: number }[] = [];
    for (let p = 0; p < 65536; p++) if (this.segments[p]! > 0) out.push({ port: p, segments: this.segments[p]! });
    out.sort((a, b) => b.segments - a.segments || a.port - b.port);
    return out.slice(0, n);
  }

  get tcpSegments(): number {
    return this.total;
  }
}

/** The stderr line for a capture in which no MQTT packet was decoded. */
export function noMqttMessage(capture: string, census: PortCensus, ports: readonly number[], tlsUndecrypted = 0): string {
  const name = capture === '-' ? 'the input' : capture;
  if (tlsUndecrypted > 0) {
    return `mqtt-dissect: no MQTT decoded in ${name}: ${tlsUndecrypted} TLS connection${tlsUndecrypted === 1 ? ' was' : 's were'} not decrypted. `
      + 'Give the key log its client or broker wrote with --tls-keylog FILE (or SSLKEYLOGFILE), or a pcapng with the keys embedded (editcap --inject-secrets tls,FILE)';
  }
  const looked = `on TCP ${ports.length === 1 ? 'port' : 'ports'} ${ports.join(', ')}`;
  if (census.tcpSegments === 0) return `mqtt-dissect: no MQTT ${looked} in ${name}, and no TCP traffic at all`;
  const top = census.top(5).map((t) => `${t.port} (${t.segments} segment${t.segments === 1 ? '' : 's'})`);
  return `mqtt-dissect: no MQTT ${looked} in ${name}; TCP traffic on ${top.length === 1 ? 'port' : 'ports'} ${top.join(', ')}. `
    + `Try --port N to decode port N as MQTT, or --auto to find MQTT on any port by its CONNECT`;
}
