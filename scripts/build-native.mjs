#!/usr/bin/env node
// Builds native/ (the TLS layer's record crypto, native/tls-records.c) with node-gyp, part of `npm run build`.
// Optional by design: when there is no compiler, no node-gyp or no Node headers, it says so in one line and exits 0,
// and the TLS layer decrypts with Node's crypto instead (same results, slower for small records: docs/decisions.md).
// Nothing is downloaded: node-gyp is npm's own, the headers are those of the Node.js that runs this (--nodedir).
//
//   node scripts/build-native.mjs            # builds when native/ changed since the last build
//   MQTT_DISSECT_NATIVE=0 ...                 # skips the build (and the CLI does not load it)
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const DIR = join(ROOT, 'native');
const OUT = join(DIR, 'build', 'Release', 'mqtt_dissect_tls.node');

function say(message) {
  process.stdout.write(`build-native: ${message}\n`);
}

if (process.env.MQTT_DISSECT_NATIVE === '0') {
  say('skipped (MQTT_DISSECT_NATIVE=0)');
  process.exit(0);
}

const sources = readdirSync(DIR).filter((f) => /\.(c|gyp)$/.test(f)).map((f) => join(DIR, f));
if (existsSync(OUT) && sources.every((s) => statSync(s).mtimeMs <= statSync(OUT).mtimeMs)) process.exit(0);

// npm sets npm_config_node_gyp for the scripts it runs; run directly, npm's bundled copy beside this Node is used.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => typeof p === 'string' && p.length > 0 && existsSync(p));
if (candidates.length === 0) {
  say("node-gyp not found: TLS records are decrypted with Node's crypto (slower for small records)");
  process.exit(0);
}
// The headers of this very Node (a distribution package or the official tarball layout), so node-gyp needs no download.
const nodedir = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')]
  .find((d) => typeof d === 'string' && d.length > 0 && existsSync(join(d, 'include', 'node', 'node_api.h')));
if (nodedir === undefined) {
  say("Node's headers (include/node/node_api.h) not found: TLS records are decrypted with Node's crypto (slower for small records)");
  process.exit(0);
}
const r = spawnSync(process.execPath, [candidates[0], 'rebuild', '--directory', DIR, `--nodedir=${nodedir}`, '--loglevel=warn'], {
  cwd: ROOT, encoding: 'utf8', timeout: 180_000, env: { ...process.env, npm_config_nodedir: nodedir },
});
if (r.status !== 0 || !existsSync(OUT)) {
  const why = (r.error?.message ?? `${r.stderr ?? ''}`.trim().split('\n').filter((l) => /error/i.test(l)).slice(-1)[0] ?? `exit ${r.status}`).slice(0, 200);
  say(`not built (${why}): TLS records are decrypted with Node's crypto (slower for small records)`);
  process.exit(0);
}
say(`built ${OUT.slice(ROOT.length + 1)}`);
