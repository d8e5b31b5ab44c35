// The real-traffic corpus (captures/real-*, made by scripts/make-captures.sh) must match
// captures/MANIFEST.md: every listed capture exists and is a pcap/pcapng file, every real-* capture
// is listed, and (when tshark is installed) tshark's MQTT packet-type counts equal the manifest's.
import { describe, expect, it } from 'vitest';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const capturesDir = fileURLToPath(new URL('../../captures/', import.meta.url));
const manifestPath = path.join(capturesDir, 'MANIFEST.md');

/** MQTT control packet type names by number, as MANIFEST.md writes them. */
const TYPE_NAMES = [
  'RESERVED',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
] as const;

interface ManifestRow {
  file: string;
  counts: Record<string, number>;
}

const splitRow = (line: string): string[] =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());

/** Rows of the capture table: first cell `file`, last cell `NAME=count, ...`. */
function parseManifest(text: string): ManifestRow[] {
  const lines = text.split('\n');
  const header = lines.findIndex((l) => /^\|\s*File\s*\|/.test(l));
  if (header < 0) throw new Error('MANIFEST.md: no table whose first column is "File"');
  const headerCells = splitRow(lines[header]!);
  if (!/MQTT packets/i.test(headerCells[headerCells.length - 1]!)) {
    throw new Error('MANIFEST.md: the last column of the table must be the MQTT packet counts');
  }
  const rows: ManifestRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.trim().startsWith('|')) break;
    const cells = splitRow(line);
    const file = /^`([^`]+)`$/.exec(cells[0]!)?.[1];
    if (!file) throw new Error(`MANIFEST.md: row without a \`file\` in its first cell: ${line}`);
    const counts: Record<string, number> = {};
    for (const m of cells[cells.length - 1]!.matchAll(/\b([A-Z]+)=(\d+)\b/g)) {
      counts[m[1]!] = Number(m[2]);
    }
    rows.push({ file, counts });
  }
  return rows;
}

function magicOf(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4);
    const n = readSync(fd, buf, 0, 4, 0);
    return buf.subarray(0, n).toString('hex');
  } finally {
    closeSync(fd);
  }
}

// pcap (µs and ns, both byte orders) and pcapng (Section Header Block type).
const PCAP_MAGICS = new Set(['d4c3b2a1', 'a1b2c3d4', '4d3cb2a1', 'a1b23c4d']);
const PCAPNG_MAGIC = '0a0d0d0a';

/** For the TLS captures, what make-captures.sh gives tshark: the key log shipped next to it, TLS on 8884 and 8885. */
function tlsArgs(file: string): string[] {
  if (!path.basename(file).startsWith('real-tls-')) return [];
  const keys = file.replace(/\.(pcap|pcapng)$/, '.keys');
  return [...(existsSync(keys) ? ['-o', `tls.keylog_file:${keys}`] : []), '-d', 'tcp.port==8884,tls', '-d', 'tls.port==8884,mqtt', '-d', 'tcp.port==8885,tls', '-d', 'tls.port==8885,mqtt'];
}

function tsharkCounts(file: string): Record<string, number> {
  // MQTT over WebSocket: tshark unmasks the frames but does not decode their MQTT; scripts/ws-unwrap.mjs joins the
  // payloads it unmasked into a plain TCP capture first, as scripts/make-captures.sh does for the manifest.
  // For wss (real-wss-PORT.pcap) tshark decrypts with the key log shipped next to the capture first.
  const ws = /^real-(wss?)-(\d+)\.pcap$/.exec(path.basename(file));
  if (ws !== null) {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'ws-unwrap-')), 'unwrapped.pcap');
    const keys = ws[1] === 'wss' ? [file.replace(/\.pcap$/, '.keys')] : [];
    const u = spawnSync(process.execPath, [path.join(capturesDir, '..', 'scripts', 'ws-unwrap.mjs'), file, ws[2]!, out, ...keys], { encoding: 'utf8', timeout: 60_000 });
    if (u.status !== 0) throw new Error(`ws-unwrap failed on ${file}: ${u.stderr}`);
    file = out;
  }
  const r = spawnSync(
    'tshark',
    ['-n', '-d', 'tcp.port==6002,mqtt', ...tlsArgs(file), ...(ws !== null ? ['-d', `tcp.port==${ws[2]!},mqtt`] : []), '-r', file, '-Y', 'mqtt', '-T', 'fields', '-e', 'mqtt.msgtype'],
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`tshark exited ${r.status} on ${file}: ${r.stderr}`);
  const counts: Record<string, number> = {};
  for (const value of r.stdout.split(/[\n,]/)) {
    const t = value.trim();
    if (t === '') continue;
    const name = TYPE_NAMES[Number(t)] ?? `TYPE${t}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

const hasTshark = (() => {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return !r.error && r.status === 0;
})();

const rows = existsSync(manifestPath) ? parseManifest(readFileSync(manifestPath, 'utf8')) : [];

describe('captures/MANIFEST.md', () => {
  it('exists and lists captures', () => {
    expect(existsSync(manifestPath)).toBe(true);
    expect(rows.length).toBeGreaterThan(0);
  });

  it('lists every real-* capture in captures/', () => {
    const onDisk = readdirSync(capturesDir).filter((f) => /^real-.*\.(pcap|pcapng)(\.gz)?$/.test(f));
    expect(onDisk.sort()).toEqual(rows.map((r) => r.file).sort());
  });

  it.each(rows.map((r) => [r.file, r] as const))('%s exists and is a pcap/pcapng file', (file, row) => {
    const p = path.join(capturesDir, file);
    expect(existsSync(p)).toBe(true);
    const magic = magicOf(p);
    // A .gz capture (read directly, gzip told by its magic number) is checked for gzip's magic.
    if (file.endsWith('.gz')) expect(magic.slice(0, 4)).toBe('1f8b');
    else if (file.endsWith('.pcapng')) expect(magic).toBe(PCAPNG_MAGIC);
    else expect(PCAP_MAGICS.has(magic) || magic === PCAPNG_MAGIC).toBe(true);
    expect(Object.keys(row.counts).length).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasTshark)('tshark MQTT packet-type counts match MANIFEST.md', () => {
  it.each(rows.map((r) => [r.file, r] as const))('%s', (file, row) => {
    expect(tsharkCounts(path.join(capturesDir, file))).toEqual(row.counts);
  });
});
