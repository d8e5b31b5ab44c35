/**
 * --shard: which of N shards a TCP connection belongs to. A multiplicative hash of the whole 4-tuple, symmetric in
 * the two endpoints (both directions agree; a reused 4-tuple stays in its shard), the same on every run and machine,
 * and made only of 32-bit xor, multiply and shift so that a BPF filter computes the same split of a capture file:
 *
 *   a = srcIp xor dstIp            (IPv4: the 32-bit addresses; IPv6: the xor of the eight 32-bit words of both)
 *   p = srcPort xor dstPort
 *   x = a xor (p * 0x9E3779B1)     (mod 2^32)
 *   shard = ((x * 0x85EBCA6B mod 2^32) >> 16) mod N
 *
 * The high half of a product depends on every bit of x, so client ports that are all even (Linux) or all in one
 * range still spread over every shard, unlike a port sum modulo N (README, "A capture too large for one machine").
 */

const P_MUL = 0x9e3779b1;
const X_MUL = 0x85ebca6b;

/** The xor of an address's 32-bit words: the address itself for IPv4. NaN-free: bad text counts as 0. */
export function addressWord(ip: string): number {
  if (ip.indexOf(':') < 0) {
    let w = 0;
    let part = 0;
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      if (c === 0x2e) {
        w = ((w << 8) | (part & 0xff)) >>> 0;
        part = 0;
      } else {
        part = part * 10 + (c - 0x30);
      }
    }
    return ((w << 8) | (part & 0xff)) >>> 0;
  }
  const groups = expandIpv6(ip);
  let w = 0;
  for (let i = 0; i < 8; i += 2) w = (w ^ (((groups[i]! << 16) | groups[i + 1]!) >>> 0)) >>> 0;
  return w;
}

/** The eight 16-bit groups of an IPv6 address in text form (with "::" and a trailing dotted quad). */
function expandIpv6(ip: string): number[] {
  let text = ip;
  const pct = text.indexOf('%');
  if (pct >= 0) text = text.slice(0, pct);
  const last = text.lastIndexOf(':');
  const tail = text.slice(last + 1);
  if (tail.includes('.')) {
    const v4 = addressWord(tail);
    text = `${text.slice(0, last + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const zeros = Math.max(0, 8 - head.length - rest.length);
  const all = [...head, ...new Array<string>(halves.length > 1 ? zeros : 0).fill('0'), ...rest];
  const out: number[] = [];
  for (let i = 0; i < 8; i++) out.push((parseInt(all[i] ?? '0', 16) || 0) & 0xffff);
  return out;
}

/** The shard (0-based) of `count` for a connection between these endpoints, either way round. */
export function shardOfTuple(srcIp: string, dstIp: string, srcPort: number, dstPort: number, count: number): number {
  const a = (addressWord(srcIp) ^ addressWord(dstIp)) >>> 0;
  const x = (a ^ Math.imul((srcPort ^ dstPort) & 0xffff, P_MUL)) >>> 0;
  return (Math.imul(x, X_MUL) >>> 16) % count;
}

/** The tcpdump/BPF filter that keeps shard `index` (0-based) of `count`: IPv4, and IPv6 without extension headers. */
export function shardFilter(index: number, count: number): string {
  const v4 = `ip and tcp and ((((ip[12:4] ^ ip[16:4]) ^ ((tcp[0:2] ^ tcp[2:2]) * 0x9E3779B1)) * 0x85EBCA6B) >> 16) % ${count} = ${index}`;
  const words = [8, 12, 16, 20, 24, 28, 32, 36].map((o) => `ip6[${o}:4]`).join(' ^ ');
  const v6 = `ip6 and ip6[6] = 6 and ((((${words}) ^ ((ip6[40:2] ^ ip6[42:2]) * 0x9E3779B1)) * 0x85EBCA6B) >> 16) % ${count} = ${index}`;
  return `(${v4}) or (${v6})`;
}
