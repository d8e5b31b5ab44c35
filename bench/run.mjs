#!/usr/bin/env node
/**
 * Benchmark harness (issues #6, #11): times the CLI on a generated capture, next to tshark, Suricata and the
 * JavaScript floor (bench/floor.mjs) on the same file, and with --baseline next to the CLI built from another commit.
 *
 *   npm run bench                              # 200 MB capture, 3 runs per mode
 *   npm run bench -- --size 50MB --runs 5
 *   npm run bench -- --quick                   # 2 MB, 1 run, no tshark JSON (tests, CI)
 *   npm run bench -- --baseline 8139839        # plus json@8139839, ...: before/after from one run, output md5s
 *   npm run bench -- --sizes 50MB,200MB,800MB  # peak RSS against capture size
 *   npm run bench -- --profile --size 50MB     # CPU profiles of --json and --summary, top self-time functions
 *
 * Options: --size S (default 200MB; decimal units), --runs N (default 3), --quick, --out FILE (default
 * bench/results.json; bench/out/results-quick.json with --quick),
 * --modes json,text,summary,hex,json-pipe,json-2shards,summary-2shards,floor-count,floor-tally,suricata,
 *   tshark-fields,tshark-json,tls-json,json-threads,text-threads,summary-threads,hex-threads,json-filter,json-nosessions,
 * --no-tshark, --no-suricata, --tshark-max-sec N (default 60: a tshark mode whose first run takes longer is not
 * repeated), --baseline REF (also time every one of our modes built from git REF, as MODE@REF, and compare the md5
 * of each mode's stdout with REF's), --timeout-sec N (per process; default 120 s + 1.5 s per MB),
 * --seed N, --profile, --top N (profile rows, default 15),
 * --stages (CPU time of the pipeline cut after each stage: read, pcap, net, tcp, mqtt, rules, dialects, json; uses
 * dist/ internals),
 * --sizes 50MB,200MB,800MB (peak RSS and CPU of json, text, summary, hex at each size, one run each unless --runs:
 * is memory flat in the capture size?).
 *
 * tls-json (issue 13): `--json --tls-keylog KEYS` on the same traffic inside TLS 1.3 (AES-128-GCM, port 8883, one record per
 * TCP segment), made from the capture by bench/tls-wrap.mjs with its key log (no network, deterministic); reported as
 * MB/s of TLS payload (record bytes) per CPU second, and, with `json` in the same run, per CPU second over `json`'s: what
 * the TLS layer (cutting, decrypting, passing on) costs in the pipeline, the figure the 200 MB/s target is about.
 *
 * Every measurement is a whole process: wall, user + sys CPU and peak RSS from GNU time (`/usr/bin/time -f`), stdout
 * to /dev/null (tshark's one-field dump goes to a file so its MQTT packets can be counted; it is a few MB). Runs are
 * interleaved (run 1 of every mode, then run 2, ...) so slow drift from other load on the machine spreads evenly.
 * An untimed warm-up pass of `--json` first counts MQTT packets and findings (and fills the page cache).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildBaseline, stdoutDigest } from './baseline.mjs';
import { defaultCapturePath, generate, GENERATOR_VERSION, OUT_DIR, parseSize, sizeLabel } from './generate.mjs';
import { countEveMessages, suricataArgs, suricataVersion, writeSuricataConfig } from './suricata.mjs';
import { wrapTls } from './tls-wrap.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const BIN = join(ROOT, 'bin', 'mqtt-dissect.js');
const TIME = '/usr/bin/time';

const OUR_MODES = {
  json: ['--json'],
  text: [],
  summary: ['--summary'],
  hex: ['-x'],
  // --json into a pipe (`| cat > /dev/null`), the way people use it (`| jq`): stdout is then asynchronous in Node,
  // so this mode shows whether output respects back-pressure (memory) and what the pipe costs. CPU includes cat.
  'json-pipe': ['--json'],
  // Two processes at once, each following half the connections (--shard 1/2 and 2/2), as worker threads sharded by
  // connection would: each must still read and parse the whole capture. Their wall time bounds what --workers 2
  // could gain on this machine before any cost of merging the outputs back into one ordered stream.
  'json-2shards': ['--json'],
  'summary-2shards': ['--summary'],
  // --threads 2 (issue 11): the dialects and renderers in a worker thread. Its wall time against the one-thread mode
  // is the gain on two cores; its CPU adds the hand-over and the second decode.
  'json-threads': ['--json', '--threads', '2'],
  'text-threads': ['--threads', '2'],
  'summary-threads': ['--summary', '--threads', '2'],
  'hex-threads': ['-x', '--threads', '2'],
  // Issue 14: --json without the sessions stage; json's CPU over this one is what the stage costs (target: at most 1.25).
  'json-nosessions': ['--json', '--no-sessions'],
  // -Y (issue 15): --json behind a filter of several tests that every record passes, so the output is that of --json
  // without the sessions stage (whose message and session records -Y leaves out) and the CPU over json-nosessions is
  // what evaluating the filter costs (the target: under 10 %).
  'json-filter': ['--json', '--no-sessions', '-Y', '(type == PUBLISH && topic matches "#" && qos >= 0) || type != PUBLISH || event || kind == close || clientId == "x"'],
};
/** A --threads 2 mode and the one-thread mode whose output it must repeat byte for byte. */
const THREADED = { 'json-threads': 'json', 'text-threads': 'text', 'summary-threads': 'summary', 'hex-threads': 'hex', 'json-filter': 'json-nosessions' };
const PIPED = new Set(['json-pipe']);
const SHARDED = new Set(['json-2shards', 'summary-2shards']);
/** Modes whose stdout is compared with the baseline's (--baseline): the outputs a user sees. */
const IDENTITY_MODES = ['json', 'text', 'summary', 'hex'];

/**
 * The JavaScript floor (bench/floor.mjs, issue #11): the least any JavaScript analyzer must do (count: capture, TCP,
 * MQTT framing, counts by type; tally: plus what --summary counts). Ours are measured as multiples of these.
 */
const FLOOR = join(HERE, 'floor.mjs');
const FLOOR_MODES = { 'floor-count': 'count', 'floor-tally': 'tally' };

/** POSIX shell single-quoting. */
const sq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const TSHARK_MODES = ['tshark-fields', 'tshark-json'];
/** Suricata 7 single-threaded with its MQTT parser and eve.json (bench/suricata.mjs). */
const SURICATA_MODES = ['suricata'];
/** Our modes on the TLS twin of the capture (bench/tls-wrap.mjs), decrypted with its key log. */
const TLS_MODES = { 'tls-json': ['--json'] };
/** The record size bench/tls-decrypt.mjs is run at for issue 13's target: about what the bench's TLS twin holds. */
const TLS_DECRYPT_RECORD = 210;
/** The plain mode a TLS mode is compared with: the same output from the same MQTT traffic without TLS. */
const TLS_TWIN = { 'tls-json': 'json' };
const isKnownMode = (m) => m in OUR_MODES || m in FLOOR_MODES || m in TLS_MODES || TSHARK_MODES.includes(m) || SURICATA_MODES.includes(m);
/** `json@8139839` -> { base: 'json', ref: '8139839' }: one of our modes run with the --baseline build. */
const baselineOf = (m) => (m.includes('@') ? { base: m.slice(0, m.indexOf('@')), ref: m.slice(m.indexOf('@') + 1) } : null);

// ---------------------------------------------------------------------------------------------------------------------
// Arguments

/** Per-process bound: generous (hex on 800 MB takes 70 s here, tshark's JSON dump 80 s on 200 MB). */
const defaultTimeoutSec = (bytes) => Math.round(120 + 1.5 * (bytes / 1e6));

function parseArgs(argv) {
  const o = {
    size: undefined, runs: undefined, quick: false, out: undefined, modes: undefined, tshark: true,
    tsharkMaxSec: 60, seed: 1, profile: false, top: 15, stages: false, stageWorker: null,
    suricata: true, baseline: null, timeoutSec: undefined, sizes: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    const val = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (name) {
      case '--size': o.size = val(); break;
      case '--runs': o.runs = Number(val()); break;
      case '--quick': o.quick = true; break;
      case '--out': o.out = val(); break;
      case '--modes': o.modes = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--no-tshark': o.tshark = false; break;
      case '--no-suricata': o.suricata = false; break;
      case '--baseline': o.baseline = val(); break;
      case '--timeout-sec': o.timeoutSec = Number(val()); break;
      case '--sizes': o.sizes = val().split(',').map((x) => x.trim()).filter(Boolean).map(parseSize); break;
      case '--tshark-max-sec': o.tsharkMaxSec = Number(val()); break;
      case '--seed': o.seed = Number(val()); break;
      case '--profile': o.profile = true; break;
      case '--top': o.top = Number(val()); break;
      case '--stages': o.stages = true; break;
      case '--stage-worker': o.stageWorker = [Number(val()), argv[++i]]; break;
      case '-h': case '--help':
        process.stdout.write(`${readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0].replace(/^#!.*\n\/\*\*\n/, '').replace(/^ \* ?/gm, '')}\n`);
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (o.runs !== undefined && (!Number.isInteger(o.runs) || o.runs < 1)) throw new Error('--runs must be a positive integer');
  const sizeBytes = parseSize(o.size ?? (o.quick ? '2MB' : '200MB'));
  const runs = o.runs ?? (o.quick ? 1 : 3);
  let modes = o.modes ?? [...Object.keys(OUR_MODES), ...Object.keys(TLS_MODES), ...Object.keys(FLOOR_MODES), ...SURICATA_MODES, ...TSHARK_MODES];
  for (const m of modes) if (!isKnownMode(m)) throw new Error(`unknown mode ${m}`);
  if (o.quick && !o.modes) modes = modes.filter((m) => m !== 'tshark-json');
  if (!o.tshark) modes = modes.filter((m) => !TSHARK_MODES.includes(m));
  if (!o.suricata) modes = modes.filter((m) => !SURICATA_MODES.includes(m));
  if (o.baseline !== null) {
    if (!/^[\w./^~-]+$/.test(o.baseline)) throw new Error(`--baseline ${o.baseline}: not a git revision`);
    // Each of our modes is followed by its twin from the baseline build, so both see the same machine state.
    modes = modes.flatMap((m) => (m in OUR_MODES ? [m, `${m}@${o.baseline}`] : [m]));
  }
  if (o.timeoutSec !== undefined && !(o.timeoutSec > 0)) throw new Error('--timeout-sec must be positive');
  const timeoutSec = o.timeoutSec ?? defaultTimeoutSec(sizeBytes);
  const out = resolve(o.out ?? (o.quick ? join(OUT_DIR, 'results-quick.json') : join(HERE, 'results.json')));
  return { ...o, sizeBytes, runs, runsGiven: o.runs !== undefined, modes, out, timeoutSec, timeoutGiven: o.timeoutSec !== undefined, modesGiven: o.modes !== undefined };
}

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

const log = (s) => process.stderr.write(`${s}\n`);

function median(xs) {
  const a = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((x, y) => x - y);
  if (a.length === 0) return null;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

const round = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));

function tsharkVersion() {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const m = /TShark \(Wireshark\) (\S+)/.exec(r.stdout);
  return m ? m[1] : r.stdout.split('\n')[0];
}

function haveGnuTime() {
  if (!existsSync(TIME)) return false;
  const r = spawnSync(TIME, ['-f', '%e %U %S %M', 'true'], { encoding: 'utf8' });
  return r.status === 0 && /^[\d.]+ [\d.]+ [\d.]+ \d+\s*$/m.test(r.stderr);
}

function machine(tshark) {
  const c = cpus();
  return {
    cpus: c.length,
    model: c[0]?.model ?? 'unknown',
    memGB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    tshark,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The code measured: HEAD and whether src/ differs from it (read-only git queries). */
function codeVersion() {
  const git = (args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return null;
  const dirty = git(['status', '--porcelain', '--', 'src']).stdout.trim().split('\n').filter(Boolean).length;
  return { head: head.stdout.trim(), srcFilesChanged: dirty };
}

/** Hash of every file under dist/: the build actually measured (other people may rebuild while we run). */
function distFingerprint() {
  const h = createHash('sha256');
  const walk = (dir) => {
    let names;
    try {
      names = readdirSync(dir, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1));
    } catch {
      return;
    }
    for (const e of names) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) h.update(p).update(readFileSync(p));
    }
  };
  walk(join(ROOT, 'dist'));
  return h.digest('hex').slice(0, 16);
}

function ensureBuilt() {
  if (existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) return;
  log('bench: dist/ is missing, building (tsc -p tsconfig.build.json)');
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('build failed: run `npm run build` and retry');
}

/** The capture for this size and seed: reused when its meta matches, generated otherwise. */
function ensureCapture(sizeBytes, seed) {
  const path = defaultCapturePath(sizeBytes, seed);
  const metaPath = `${path}.meta.json`;
  if (existsSync(path) && existsSync(metaPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
      if (meta.generatorVersion === GENERATOR_VERSION && meta.targetBytes === sizeBytes && meta.seed === seed && statSync(path).size === meta.bytes) {
        log(`bench: reusing ${relative(ROOT, path)} (${(meta.bytes / 1e6).toFixed(1)} MB)`);
        return { path, meta };
      }
    } catch {
      // regenerate
    }
  }
  log(`bench: generating ${relative(ROOT, path)} (${sizeLabel(sizeBytes)}, seed ${seed})`);
  const g = generate({ sizeBytes, seed, out: path, log });
  log(`bench: generated ${g.meta.bytes} bytes, ${g.meta.frames} frames, ${g.meta.packets} MQTT packets in ${g.meta.generatedInSec.toFixed(1)} s`);
  return g;
}

/** Bumped when bench/tls-wrap.mjs writes different bytes: older TLS twins are then made again. */
const TLS_WRAP_VERSION = 1;

/** The TLS twin of `capture` (bench/tls-wrap.mjs) and its key log: reused when its meta matches, made otherwise. */
function ensureTlsCapture(capture, meta) {
  const path = capture.replace(/\.pcap$/, '-tls.pcap');
  const keys = `${path}.keys`;
  const metaPath = `${path}.meta.json`;
  const want = { tlsWrapVersion: TLS_WRAP_VERSION, generatorVersion: meta.generatorVersion, seed: meta.seed, sourceBytes: meta.bytes };
  if (existsSync(path) && existsSync(keys) && existsSync(metaPath)) {
    try {
      const m = JSON.parse(readFileSync(metaPath, 'utf8'));
      if (Object.entries(want).every(([k, v]) => m[k] === v) && statSync(path).size === m.bytes) {
        log(`bench: reusing ${relative(ROOT, path)} (TLS, ${(m.bytes / 1e6).toFixed(1)} MB)`);
        return { capture: path, keys, meta: m };
      }
    } catch {
      // made again
    }
  }
  log(`bench: wrapping the capture's MQTT in TLS 1.3 -> ${relative(ROOT, path)} (bench/tls-wrap.mjs)`);
  const t0 = Date.now();
  const stats = wrapTls({ input: capture, output: path, keys, seed: meta.seed });
  const m = { ...want, ...stats, bytes: statSync(path).size, madeInSec: (Date.now() - t0) / 1000 };
  writeFileSync(metaPath, `${JSON.stringify(m, null, 2)}\n`);
  log(`bench: TLS twin: ${m.bytes} bytes, ${m.records} records, ${m.tlsBytes} bytes of TLS payload in ${m.madeInSec.toFixed(1)} s`);
  return { capture: path, keys, meta: m };
}

function ourEnv() {
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  return env;
}

/** Process groups of the timed children still running: killed (by pid) if the bench is interrupted. */
const running = new Set();
/** Functions to run if the bench is interrupted (removing the baseline worktree). */
const cleanups = [];
function killChildrenOnSignal() {
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      for (const pid of running) {
        try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
      }
      for (const f of cleanups) {
        try { f(); } catch { /* best effort */ }
      }
      process.exit(130);
    });
  }
}

/**
 * Runs argv[0] with argv.slice(1) under GNU time; stdout to `stdoutPath`. Resolves with wall, user, sys, peak RSS.
 * The child leads its own process group, killed whole after `timeoutSec` (GNU time and sh -c have children).
 */
function timed(argv, stdoutPath, gnuTime, env, timeoutSec = 3600) {
  return new Promise((resolvePromise, reject) => {
    const timeFile = join(tmpdir(), `mqtt-dissect-bench-${process.pid}-${Date.now()}.time`);
    const outFd = openSync(stdoutPath, 'w');
    const cmd = gnuTime ? TIME : argv[0];
    const args = gnuTime ? ['-f', '%e %U %S %M', '-o', timeFile, ...argv] : argv.slice(1);
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', outFd, 'pipe'], env, detached: true });
    if (child.pid !== undefined) running.add(child.pid);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeoutSec * 1000);
    let stderr = '';
    child.stderr.on('data', (d) => { if (stderr.length < 4096) stderr += d.toString('utf8'); });
    child.on('error', (e) => { clearTimeout(timer); running.delete(child.pid); closeSync(outFd); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child.pid);
      closeSync(outFd);
      if (timedOut) {
        reject(new Error(`${argv.join(' ')}: killed after ${timeoutSec} s (--timeout-sec)`));
        return;
      }
      const wallHr = Number(process.hrtime.bigint() - t0) / 1e9;
      let r = { wall: wallHr, user: null, sys: null, rssKB: null };
      if (gnuTime) {
        try {
          const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
          const m = /^([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/.exec(lines[lines.length - 1].trim());
          if (m) r = { wall: wallHr, user: Number(m[2]), sys: Number(m[3]), rssKB: Number(m[4]) };
          rmSync(timeFile, { force: true });
        } catch {
          // leave nulls
        }
      }
      if (code !== 0) {
        const first = stderr.split('\n').filter((l) => l && !l.startsWith('Command exited') && !/Running as user "root"/.test(l) && !/could be dangerous/.test(l))[0] ?? '';
        reject(new Error(`${argv.join(' ')} exited with ${code}${first ? `: ${first}` : ''}`));
        return;
      }
      resolvePromise(r);
    });
  });
}

/** Untimed pass: `--json` (plus `extra` arguments), counting packets, events, findings by severity, and the packet mix. */
function countJson(capture, timeoutSec, extra = []) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, '--json', ...extra, capture], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: ourEnv() });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSec * 1000);
    const c = { packets: 0, events: 0, outputBytes: 0, bySeverity: {}, byType: {}, byEvent: {} };
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d.toString('utf8'); });
    child.stdout.on('data', (d) => { c.outputBytes += d.length; });
    const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
    rl.on('line', (line) => {
      if (!line) return;
      const o = JSON.parse(line);
      if (o.kind === 'packet') {
        c.packets++;
        c.byType[o.type] = (c.byType[o.type] ?? 0) + 1;
      } else {
        c.events++;
        c.byEvent[o.event] = (c.byEvent[o.event] ?? 0) + 1;
      }
      for (const v of o.violations ?? []) c.bySeverity[v.severity] = (c.bySeverity[v.severity] ?? 0) + 1;
    });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      rl.close();
      if (code !== 0) reject(new Error(`mqtt-dissect --json exited with ${code}: ${stderr.split('\n')[0]}`));
      else resolvePromise(c);
    });
  });
}

/** tshark -T fields -e mqtt.msgtype prints one line per frame, comma-separated for several MQTT packets. */
function countTsharkFields(path) {
  let n = 0;
  const text = readFileSync(path, 'utf8');
  for (const line of text.split('\n')) if (line) n += line.split(',').length;
  return n;
}

const PACKET_TYPES = ['', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK',
  'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'];

/** floor.mjs's counts indexed by packet type number -> { CONNECT: n, ... } (types never seen left out). */
function floorByType(counts) {
  const o = {};
  counts.forEach((n, t) => { if (n > 0) o[PACKET_TYPES[t] || `type ${t}`] = n; });
  return o;
}

function tsharkArgs(mode, capture, ports) {
  const decodeAs = ports.filter((p) => p !== 1883).flatMap((p) => ['-d', `tcp.port==${p},mqtt`]);
  const base = ['tshark', '-n', '-r', capture, ...decodeAs, '-Y', 'mqtt'];
  return mode === 'tshark-fields' ? [...base, '-T', 'fields', '-e', 'mqtt.msgtype'] : [...base, '-T', 'json'];
}

// ---------------------------------------------------------------------------------------------------------------------
// Benchmark

/**
 * The command of one timed mode: argv, where its stdout goes (default /dev/null) and its environment. `ctx` holds the
 * capture, its ports, the baseline build, the Suricata configuration and the floor passes' output files.
 */
function commandFor(mode, ctx) {
  const b = baselineOf(mode);
  const base = b ? b.base : mode;
  if (base in OUR_MODES) {
    const bin = b ? ctx.baseline.bin : BIN;
    const ours = (extra = []) => [process.execPath, bin, ...OUR_MODES[base], ...extra, ctx.capture];
    if (PIPED.has(base)) return { argv: ['sh', '-c', `${ours().map(sq).join(' ')} | cat > /dev/null`], env: ourEnv() };
    if (SHARDED.has(base)) {
      const shard = (k) => `${ours(['--shard', `${k}/2`]).map(sq).join(' ')} > /dev/null`;
      return { argv: ['sh', '-c', `${shard(1)} & ${shard(2)}; wait`], env: ourEnv() };
    }
    return { argv: ours(), env: ourEnv() };
  }
  if (mode in FLOOR_MODES) return { argv: [process.execPath, FLOOR, FLOOR_MODES[mode], ctx.capture], outPath: ctx.floorOut[mode], env: ourEnv() };
  if (mode in TLS_MODES) return { argv: [process.execPath, BIN, ...TLS_MODES[mode], '--tls-keylog', ctx.tls.keys, ctx.tls.capture], env: ourEnv() };
  if (SURICATA_MODES.includes(mode)) return { argv: suricataArgs(ctx.capture, ctx.suricata.yaml, ctx.suricata.logDir), env: { ...process.env } };
  return { argv: tsharkArgs(mode, ctx.capture, ctx.ports), outPath: mode === 'tshark-fields' ? ctx.fieldsOut : '/dev/null', env: { ...process.env } };
}

async function bench(o) {
  ensureBuilt();
  let baseline = null;
  if (o.baseline !== null) {
    baseline = buildBaseline(ROOT, o.baseline, log);
    cleanups.push(baseline.remove);
  }
  try {
    return await benchWith(o, baseline);
  } finally {
    if (baseline) {
      baseline.remove();
      cleanups.splice(cleanups.indexOf(baseline.remove), 1);
    }
  }
}

async function benchWith(o, baseline) {
  const tv = o.modes.some((m) => TSHARK_MODES.includes(m)) ? tsharkVersion() : null;
  const sv = o.modes.some((m) => SURICATA_MODES.includes(m)) ? suricataVersion() : null;
  let modes = o.modes;
  const notes = [];
  if (!tv && modes.some((m) => TSHARK_MODES.includes(m))) {
    notes.push('tshark not found: tshark modes skipped');
    modes = modes.filter((m) => !TSHARK_MODES.includes(m));
  }
  if (!sv && modes.some((m) => SURICATA_MODES.includes(m))) {
    const n = 'suricata not found: suricata mode skipped (Suricata 7 is in Debian bookworm-backports: apt-get install -t bookworm-backports suricata)';
    log(`bench: ${n}`);
    notes.push(n);
    modes = modes.filter((m) => !SURICATA_MODES.includes(m));
  }
  const gnuTime = haveGnuTime();
  if (!gnuTime) notes.push(`GNU time (${TIME}) not found: CPU time and peak RSS not measured (apt-get install time)`);

  const { path: capture, meta } = ensureCapture(o.sizeBytes, o.seed);
  const captureBytes = statSync(capture).size;
  const code = codeVersion();
  const distBefore = distFingerprint();

  log('bench: untimed --json pass (packet count, findings, warm cache)');
  const count = await countJson(capture, o.timeoutSec);
  if (count.packets !== meta.packets) notes.push(`decoded ${count.packets} MQTT packets, the generator wrote ${meta.packets}`);

  // The TLS twin: the same MQTT packets must come out of it, every session decrypted.
  let tls = null;
  if (modes.some((m) => m in TLS_MODES)) {
    tls = ensureTlsCapture(capture, meta);
    log('bench: untimed --json --tls-keylog pass on the TLS twin (packet count, decryption errors)');
    const c = await countJson(tls.capture, o.timeoutSec, ['--tls-keylog', tls.keys]);
    tls.count = { packets: c.packets, tlsErrors: c.byEvent['tls-error'] ?? 0, tlsEvents: c.byEvent.tls ?? 0 };
    if (c.packets !== count.packets) notes.push(`TLS twin: decoded ${c.packets} MQTT packets, ${count.packets} from the plain capture`);
    if (tls.count.tlsErrors > 0) notes.push(`TLS twin: ${tls.count.tlsErrors} tls-error events (records not decrypted)`);
  }
  const errors = count.bySeverity.error ?? 0;
  if (errors > 0) notes.push(`${errors} error-severity findings on a capture meant to be clean`);

  // Output identity (--baseline): md5 of stdout of every user-facing mode, the working tree against REF (untimed).
  let identity = null;
  if (baseline) {
    identity = {};
    for (const m of IDENTITY_MODES) {
      log(`bench: untimed ${m} and ${m}@${baseline.ref} passes (md5 of stdout)`);
      const opts = { cwd: ROOT, env: ourEnv(), timeoutSec: o.timeoutSec, track: running };
      const now = await stdoutDigest(BIN, [...OUR_MODES[m], capture], opts);
      const before = await stdoutDigest(baseline.bin, [...OUR_MODES[m], capture], opts);
      identity[m] = { same: now.md5 === before.md5, md5: now.md5, bytes: now.bytes, baselineMd5: before.md5, baselineBytes: before.bytes };
      if (now.md5 !== before.md5) notes.push(`${m}: stdout differs from ${baseline.ref}'s (${now.bytes} vs ${before.bytes} bytes)`);
    }
  }

  // --threads 2 must print exactly what one thread prints, and json-filter what --json prints: md5 of stdout of each
  // such mode run, against its twin.
  const threadIdentity = {};
  for (const [threaded, single] of Object.entries(THREADED)) {
    if (!modes.includes(threaded)) continue;
    log(`bench: untimed ${single} and ${threaded} passes (md5 of stdout)`);
    const opts = { cwd: ROOT, env: ourEnv(), timeoutSec: o.timeoutSec, track: running };
    const one = await stdoutDigest(BIN, [...OUR_MODES[single], capture], opts);
    const two = await stdoutDigest(BIN, [...OUR_MODES[threaded], capture], opts);
    threadIdentity[threaded] = { same: one.md5 === two.md5, md5: two.md5, bytes: two.bytes, oneThreadMd5: one.md5 };
    if (one.md5 !== two.md5) notes.push(`${threaded}: stdout differs from ${single}'s (${two.bytes} vs ${one.bytes} bytes)`);
  }

  mkdirSync(OUT_DIR, { recursive: true });
  const ctx = {
    capture,
    tls,
    ports: meta.ports ?? [1883],
    baseline,
    fieldsOut: join(OUT_DIR, `tshark-fields-${process.pid}.txt`),
    floorOut: Object.fromEntries(Object.keys(FLOOR_MODES).map((m) => [m, join(OUT_DIR, `${m}-${process.pid}.json`)])),
    suricata: modes.some((m) => SURICATA_MODES.includes(m)) ? writeSuricataConfig(OUT_DIR, meta.ports ?? [1883], join(OUT_DIR, `suricata-log-${process.pid}`)) : null,
  };
  const samples = Object.fromEntries(modes.map((m) => [m, []]));
  const pad = Math.max(13, ...modes.map((m) => m.length));
  const skip = new Set();
  let tsharkPackets = null;
  /** What the floor passes and Suricata saw (first run): a pass that skipped packets would be fast for no merit. */
  const counted = {};

  for (let run = 1; run <= o.runs; run++) {
    for (const mode of modes) {
      if (skip.has(mode)) continue;
      const { argv, outPath = '/dev/null', env } = commandFor(mode, ctx);
      const eve = ctx.suricata && SURICATA_MODES.includes(mode) ? join(ctx.suricata.logDir, 'eve.json') : null;
      if (eve) rmSync(eve, { force: true }); // Suricata appends to an existing eve.json
      const r = await timed(argv, outPath, gnuTime, env, o.timeoutSec);
      samples[mode].push(r);
      const cpu = r.user !== null ? r.user + r.sys : null;
      log(`bench: run ${run}/${o.runs} ${mode.padEnd(pad)} wall ${r.wall.toFixed(2)} s  cpu ${cpu === null ? '?' : cpu.toFixed(2)} s  rss ${r.rssKB === null ? '?' : (r.rssKB / 1024).toFixed(0)} MB`);
      if (mode === 'tshark-fields' && tsharkPackets === null) tsharkPackets = countTsharkFields(ctx.fieldsOut);
      if (mode in FLOOR_MODES && !(mode in counted)) {
        const f = JSON.parse(readFileSync(ctx.floorOut[mode], 'utf8').trim());
        counted[mode] = { packets: f.packets, frames: f.frames, byType: floorByType(f.byType), ...(f.connections !== undefined ? { connections: f.connections, topics: f.topics } : {}) };
        if (f.packets !== count.packets) notes.push(`${mode} counted ${f.packets} MQTT packets, we decoded ${count.packets}`);
      }
      if (eve && !(mode in counted)) {
        const c = await countEveMessages(eve);
        counted[mode] = { packets: c.messages, events: c.events, eveBytes: statSync(eve).size, byType: c.byType };
        if (c.messages !== count.packets) notes.push(`suricata logged ${c.messages} MQTT messages, we decoded ${count.packets}`);
      }
      if (TSHARK_MODES.includes(mode) && run === 1 && o.runs > 1 && r.wall > o.tsharkMaxSec) {
        skip.add(mode);
        notes.push(`${mode}: first run took ${r.wall.toFixed(0)} s (> ${o.tsharkMaxSec} s), so it was run once; its figures are that single run`);
      }
    }
  }
  rmSync(ctx.fieldsOut, { force: true });
  for (const f of Object.values(ctx.floorOut)) rmSync(f, { force: true });
  if (ctx.suricata) rmSync(ctx.suricata.logDir, { recursive: true, force: true });
  const distAfter = distFingerprint();
  // Issue 13's decryption speed: the TLS layer alone on one core, per suite, at the record size MQTT clients write.
  let tlsDecrypt = null;
  if (modes.some((m) => m in TLS_MODES)) {
    const r = spawnSync(process.execPath, [join(ROOT, 'bench', 'tls-decrypt.mjs'), '--json', '--record', String(TLS_DECRYPT_RECORD), '--mb', o.quick ? '1' : '32', '--runs', o.quick ? '1' : '3'], { encoding: 'utf8', env: ourEnv(), timeout: 300_000 });
    try {
      tlsDecrypt = JSON.parse(r.stdout.trim().split('\n').pop());
    } catch {
      notes.push(`bench/tls-decrypt.mjs failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').pop()}`);
    }
  }
  if (distAfter !== distBefore) notes.push(`dist/ changed during the run (${distBefore} -> ${distAfter}): the runs mix two builds, measure again`);
  const codeAfter = codeVersion();
  if (code && codeAfter && code.head !== codeAfter.head) notes.push(`HEAD moved from ${code.head} to ${codeAfter.head} during the run`);
  if (tsharkPackets !== null && tsharkPackets !== count.packets) notes.push(`tshark counted ${tsharkPackets} MQTT packets, we decoded ${count.packets}`);

  // ---- aggregate -------------------------------------------------------------------------------------------------
  const mb = captureBytes / 1e6;
  const agg = {};
  for (const mode of modes) {
    const s = samples[mode];
    const wall = median(s.map((x) => x.wall));
    const cpuList = s.map((x) => (x.user !== null ? x.user + x.sys : null));
    const rss = s.map((x) => x.rssKB).filter((x) => x !== null);
    agg[mode] = {
      runs: s.length,
      wallMedian: round(wall),
      cpu: round(median(cpuList)),
      user: round(median(s.map((x) => x.user))),
      sys: round(median(s.map((x) => x.sys))),
      peakRssMB: rss.length ? round(Math.max(...rss) / 1024, 1) : null,
      mbPerSec: round(mb / wall, 2),
      packetsPerSec: Math.round(count.packets / wall),
      walls: s.map((x) => round(x.wall)),
      cpus: cpuList.map((x) => round(x)),
      ...(mode in counted ? { counted: counted[mode] } : {}),
    };
    if (mode in TLS_MODES) {
      // Against the TLS payload (record headers included), not the capture's size: what was decrypted per second.
      const a = agg[mode];
      a.tlsPayloadBytes = tls.meta.tlsBytes;
      a.tlsRecords = tls.meta.records;
      a.captureBytes = tls.meta.bytes;
      a.mbPerSec = round(mb * (tls.meta.bytes / captureBytes) / wall, 2);
      a.tlsMBPerSecCpu = a.cpu ? round(tls.meta.tlsBytes / 1e6 / a.cpu, 2) : null;
    }
  }
  // The TLS layer's own cost: the TLS mode's CPU over its plain twin's, for the same MQTT and the same output.
  for (const [m, twin] of Object.entries(TLS_TWIN)) {
    const a = agg[m];
    if (!a) continue;
    const extra = agg[twin]?.cpu && a.cpu ? a.cpu - agg[twin].cpu : null;
    a.cpuOverPlain = round(extra);
    a.tlsLayerMBPerSecCpu = extra !== null && extra > 0 ? round(tls.meta.tlsBytes / 1e6 / extra, 1) : null;
  }
  const tf = agg['tshark-fields'];
  for (const mode of modes) {
    const a = agg[mode];
    a.ratioToTsharkFields = tf ? round(tf.wallMedian / a.wallMedian, 2) : null;
    a.cpuRatioToTsharkFields = tf && tf.cpu && a.cpu ? round(tf.cpu / a.cpu, 2) : null;
  }

  const ratios = modeRatios(agg, baseline?.ref);
  const ours = modes.filter((m) => m in OUR_MODES || m in TLS_MODES);
  const cpuOf = (k) => ratios[k]?.cpu ?? null;
  const at = baseline ? `@${baseline.ref}` : null;
  // Issue #6 (against tshark) and issue #11 (against the floor, Suricata and the --baseline build). `cmp` is how
  // `actual` must compare with `target` for the target to be met.
  const targets = {
    jsonVsTsharkFields: { target: 20, cmp: '>=', actual: agg.json?.ratioToTsharkFields ?? null, cpuActual: agg.json?.cpuRatioToTsharkFields ?? null },
    summaryVsTsharkFields: { target: 40, cmp: '>=', actual: agg.summary?.ratioToTsharkFields ?? null, cpuActual: agg.summary?.cpuRatioToTsharkFields ?? null },
    peakRssBelowMB: { target: 256, cmp: '<', actual: ours.length && ours.every((m) => agg[m].peakRssMB !== null) ? Math.max(...ours.map((m) => agg[m].peakRssMB)) : null },
    summaryVsFloorTallyCpu: { target: 3, cmp: '<=', actual: cpuOf('summary / floor-tally') },
    summaryVsSuricataCpu: { target: 0.5, cmp: '<=', actual: cpuOf('summary / suricata') },
    jsonVsSuricataCpu: { target: 1, cmp: '<', actual: cpuOf('json / suricata') },
    jsonCpuGainOnBaseline: { target: 2.5, cmp: '>=', actual: at ? cpuOf(`json${at} / json`) : null },
    textCpuGainOnBaseline: { target: 2.5, cmp: '>=', actual: at ? cpuOf(`text${at} / text`) : null },
    hexCpuGainOnBaseline: { target: 3, cmp: '>=', actual: at ? cpuOf(`hex${at} / hex`) : null },
    jsonThreadsWallGain: { target: 1.5, cmp: '>=', actual: ratios['json / json-threads']?.wall ?? null },
    textThreadsWallGain: { target: 1.5, cmp: '>=', actual: ratios['text / text-threads']?.wall ?? null },
    // Issue 13: decryption of at least 200 MB/s of TLS payload on one core: the layer alone (bench/tls-decrypt.mjs) at
    // 210-byte records, the slowest AES or ChaCha20 suite (3DES is left out: the cipher itself runs at ~38 MB/s)...
    tlsDecryptMBPerSecCpu: { target: 200, cmp: '>=', actual: tlsDecrypt ? Math.min(...tlsDecrypt.suites.filter((x) => !/3DES/.test(x.name)).map((x) => x.mbPerSec)) : null },
    // ... and, stricter, the TLS payload over all that tls-json's run costs beyond plain json's (handshakes, key schedule per
    // connection, the TLS fields of every record written).
    tlsLayerMBPerSecCpu: { target: 200, cmp: '>=', actual: agg['tls-json']?.tlsLayerMBPerSecCpu ?? null },
    // Issue 14: the sessions stage costs at most 25 % of --json's CPU.
    sessionsCostOnJsonCpu: { target: 1.25, cmp: '<=', actual: cpuOf('json / json-nosessions') },
    // Issue 15: a compiled filter costs under 10 % over --json.
    jsonFilterCpuCost: { target: 1.1, cmp: '<', actual: cpuOf('json-filter / json-nosessions') },
    modesWithOutputDifferentFromBaseline: { target: 0, cmp: '<=', actual: identity ? Object.values(identity).filter((x) => !x.same).length : null },
  };
  for (const t of Object.values(targets)) t.met = t.actual === null ? null : compare(t.actual, t.cmp, t.target);

  return {
    date: new Date().toISOString(),
    machine: { ...machine(tv), suricata: sv },
    code: code ? { ...code, dist: distBefore } : { dist: distBefore },
    size: sizeLabel(o.sizeBytes),
    captureBytes,
    capture: relative(ROOT, capture),
    frames: meta.frames,
    mqttPackets: count.packets,
    ...(tlsDecrypt ? { tlsDecrypt } : {}),
    ...(tls ? { tls: { capture: relative(ROOT, tls.capture), keys: relative(ROOT, tls.keys), bytes: tls.meta.bytes, frames: tls.meta.frames, connections: tls.meta.connections, records: tls.meta.records, tlsPayloadBytes: tls.meta.tlsBytes, plaintextBytes: tls.meta.plaintextBytes, ...tls.count } } : {}),
    tsharkMqttPackets: tsharkPackets,
    findings: count.bySeverity,
    events: count.events,
    jsonOutputBytes: count.outputBytes,
    generator: {
      version: meta.generatorVersion, seed: meta.seed, concurrentDevices: meta.concurrentDevices, connections: meta.connections,
      byType: meta.byType, byVersion: meta.byVersion, largePayloads: meta.largePayloads, splitPackets: meta.splitPackets,
      multiPacketSegments: meta.multiPacketSegments,
    },
    runsRequested: o.runs,
    timing: gnuTime ? 'GNU time -f "%e %U %S %M" per process; wall from hrtime; medians; peak RSS is the max over runs' : 'wall from hrtime only',
    modes: agg,
    ratios,
    ...(baseline ? { baseline: { ref: baseline.ref, commit: baseline.commit } } : {}),
    ...(identity ? { identity } : {}),
    ...(Object.keys(threadIdentity).length ? { threadIdentity } : {}),
    targets,
    notes,
  };
}

function compare(a, cmp, b) {
  switch (cmp) {
    case '>=': return a >= b;
    case '<=': return a <= b;
    case '<': return a < b;
    default: return a > b;
  }
}

/**
 * `a / b`: mode a's median wall and CPU divided by mode b's, for the pairs issue #11's targets compare (ours against
 * the floor passes and Suricata; with --baseline, `MODE@REF / MODE`: how many times less the working tree takes).
 */
function modeRatios(agg, ref) {
  const pairs = [['summary', 'floor-tally'], ['json', 'floor-count'], ['text', 'floor-count'], ['summary', 'suricata'], ['json', 'suricata'], ['json-filter', 'json-nosessions'], ['json', 'json-nosessions']];
  for (const [threaded, single] of Object.entries(THREADED)) if (threaded.endsWith('-threads')) pairs.push([single, threaded]);
  if (ref !== undefined) for (const m of Object.keys(agg)) if (`${m}@${ref}` in agg) pairs.push([`${m}@${ref}`, m]);
  const out = {};
  for (const [a, b] of pairs) {
    if (!agg[a] || !agg[b]) continue;
    out[`${a} / ${b}`] = {
      wall: round(agg[a].wallMedian / agg[b].wallMedian, 2),
      cpu: agg[a].cpu && agg[b].cpu ? round(agg[a].cpu / agg[b].cpu, 2) : null,
    };
  }
  return out;
}

function printTable(r) {
  const rows = [['mode', 'runs', 'wall s', 'cpu s', 'MB/s', 'pkts/s', 'RSS MB', 'x tshark', 'x tshark cpu']];
  for (const [m, a] of Object.entries(r.modes)) {
    rows.push([m, String(a.runs), String(a.wallMedian), String(a.cpu ?? '?'), String(a.mbPerSec), String(a.packetsPerSec), String(a.peakRssMB ?? '?'),
      a.ratioToTsharkFields === null ? '-' : `${a.ratioToTsharkFields}`, a.cpuRatioToTsharkFields === null ? '-' : `${a.cpuRatioToTsharkFields}`]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
  process.stdout.write(`\n${r.size} capture: ${r.captureBytes} bytes, ${r.frames} frames, ${r.mqttPackets} MQTT packets (tshark: ${r.tsharkMqttPackets ?? '-'})\n`);
  process.stdout.write(`${lines[0]}\n${lines.slice(1).join('\n')}\n`);
  const ratioRows = Object.entries(r.ratios ?? {});
  if (ratioRows.length) {
    const w = Math.max(...ratioRows.map(([k]) => k.length));
    process.stdout.write(`${'ratio'.padEnd(w)}  ${'wall'.padStart(6)}  ${'cpu'.padStart(6)}\n`);
    for (const [k, x] of ratioRows) process.stdout.write(`${k.padEnd(w)}  ${String(x.wall).padStart(6)}  ${String(x.cpu ?? '?').padStart(6)}\n`);
  }
  for (const [m, a] of Object.entries(r.modes)) {
    if (a.tlsPayloadBytes === undefined) continue;
    process.stdout.write(`${m}: ${(a.tlsPayloadBytes / 1e6).toFixed(1)} MB of TLS payload in ${a.tlsRecords} records: ${a.tlsMBPerSecCpu ?? '?'} MB/s per CPU second of the whole run; ${a.cpuOverPlain ?? '?'} s CPU over ${TLS_TWIN[m]}, so the TLS layer ${a.tlsLayerMBPerSecCpu ?? '?'} MB/s\n`);
  }
  if (r.tlsDecrypt) {
    const d = r.tlsDecrypt;
    process.stdout.write(`TLS layer alone (bench/tls-decrypt.mjs, ${d.record}-byte records, ${d.backend.backend} record crypto): ${d.suites.map((x) => `${x.name} ${x.mbPerSec}`).join(', ')} MB/s\n`);
  }
  for (const [m, x] of Object.entries(r.threadIdentity ?? {})) {
    process.stdout.write(`output ${m} vs ${THREADED[m]}: ${x.same ? 'SAME' : 'DIFFERENT'} (md5 ${x.md5}${x.same ? '' : ` vs ${x.oneThreadMd5}`}, ${x.bytes} bytes)\n`);
  }
  for (const [m, x] of Object.entries(r.identity ?? {})) {
    process.stdout.write(`output ${m.padEnd(7)} vs ${r.baseline.ref}: ${x.same ? 'SAME' : 'DIFFERENT'} (md5 ${x.md5}${x.same ? '' : ` vs ${x.baselineMd5}`}, ${x.bytes} bytes${x.same ? '' : ` vs ${x.baselineBytes}`})\n`);
  }
  for (const [k, t] of Object.entries(r.targets)) {
    process.stdout.write(`target ${k}: ${t.cmp ?? ''} ${t.target}, measured ${t.actual ?? '-'}${t.cpuActual ? ` (cpu ${t.cpuActual})` : ''} -> ${t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met'}\n`);
  }
  for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
}

/** bench/results.json keeps the latest run at the top level and every size's latest run under `sizes`. */
function writeResults(path, r) {
  let sizes = {};
  let rssBySize = null;
  try {
    const old = JSON.parse(readFileSync(path, 'utf8'));
    if (old && typeof old.sizes === 'object' && old.sizes) sizes = old.sizes;
    if (old && typeof old.rssBySize === 'object' && old.rssBySize) rssBySize = old.rssBySize;
  } catch {
    // new file
  }
  const { machine: _m, ...rest } = r;
  sizes[r.size] = rest;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ ...r, sizes, ...(rssBySize ? { rssBySize } : {}) }, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Memory against capture size (--sizes): is peak RSS flat from 50 to 800 MB?

async function sizesRun(o) {
  ensureBuilt();
  const gnuTime = haveGnuTime();
  if (!gnuTime) throw new Error(`--sizes measures peak RSS with GNU time (${TIME}): apt-get install time`);
  const given = o.modes.filter((m) => m in OUR_MODES && !PIPED.has(m) && !SHARDED.has(m));
  const which = o.modesGiven && given.length ? given : IDENTITY_MODES;
  const runs = o.runsGiven ? o.runs : 1;
  const sizes = [...o.sizes].sort((a, b) => a - b);
  const captures = sizes.map((b) => ensureCapture(b, o.seed).path);
  const rows = Object.fromEntries(which.map((m) => [m, {}]));
  for (let i = 0; i < sizes.length; i++) {
    const label = sizeLabel(sizes[i]);
    const timeoutSec = o.timeoutGiven ? o.timeoutSec : defaultTimeoutSec(sizes[i]);
    const samples = Object.fromEntries(which.map((m) => [m, []]));
    for (let run = 1; run <= runs; run++) {
      for (const mode of which) {
        const r = await timed([process.execPath, BIN, ...OUR_MODES[mode], captures[i]], '/dev/null', true, ourEnv(), timeoutSec);
        samples[mode].push(r);
        log(`bench: ${label} run ${run}/${runs} ${mode.padEnd(8)} wall ${r.wall.toFixed(2)} s  cpu ${(r.user + r.sys).toFixed(2)} s  rss ${(r.rssKB / 1024).toFixed(0)} MB`);
      }
    }
    for (const mode of which) {
      const s = samples[mode];
      rows[mode][label] = {
        peakRssMB: round(Math.max(...s.map((x) => x.rssKB)) / 1024, 1),
        cpu: round(median(s.map((x) => x.user + x.sys))),
        wallMedian: round(median(s.map((x) => x.wall))),
      };
    }
  }
  const labels = sizes.map(sizeLabel);
  for (const mode of which) {
    const rss = labels.map((l) => rows[mode][l].peakRssMB);
    rows[mode].growthMB = round(rss[rss.length - 1] - rss[0], 1);
  }
  const result = { date: new Date().toISOString(), node: process.version, code: { ...codeVersion(), dist: distFingerprint() }, runs, sizes: labels, modes: rows };
  const w = Math.max(4, ...which.map((m) => m.length));
  process.stdout.write(`\npeak RSS MB (CPU s) by capture size, ${runs} run${runs === 1 ? '' : 's'} each\n`);
  process.stdout.write(`${'mode'.padEnd(w)}  ${labels.map((l) => l.padStart(16)).join('')}  ${'last - first'.padStart(13)}\n`);
  for (const mode of which) {
    const cells = labels.map((l) => `${rows[mode][l].peakRssMB} (${rows[mode][l].cpu})`.padStart(16)).join('');
    process.stdout.write(`${mode.padEnd(w)}  ${cells}  ${`${rows[mode].growthMB >= 0 ? '+' : ''}${rows[mode].growthMB} MB`.padStart(13)}\n`);
  }
  const out = join(OUT_DIR, 'rss-by-size.json');
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  log(`bench: written to ${relative(ROOT, out)}`);
  // Also into results.json (kept across later runs of the main bench).
  let old = {};
  try {
    old = JSON.parse(readFileSync(o.out, 'utf8'));
  } catch {
    // new file
  }
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify({ ...old, rssBySize: result }, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Profiles: node --cpu-prof, then self time aggregated by function + file

/** Self and total time per function+url+line from a .cpuprofile (total counts each function once per sample). */
export function summariseProfile(prof) {
  const byId = new Map();
  for (const n of prof.nodes) byId.set(n.id, n);
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) => {
    const cf = n.callFrame;
    const url = cf.url ? relative(ROOT, fileURLToPathSafe(cf.url)) : '';
    return `${cf.functionName || '(anonymous)'}\t${url}\t${cf.url ? cf.lineNumber + 1 : ''}`;
  };
  const self = new Map();
  const total = new Map();
  let sum = 0;
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const dt = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000; // ms; a sample's time is the gap to the next one
    sum += dt;
    let n = byId.get(samples[i]);
    if (!n) continue;
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const kk = key(byId.get(id));
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
    n = null;
  }
  const rows = [...self.entries()].map(([k, ms]) => {
    const [fn, url, line] = k.split('\t');
    return { function: fn, file: url, line: line ? Number(line) : null, selfMs: round(ms, 1), selfPct: round((100 * ms) / sum, 1), totalMs: round(total.get(k) ?? 0, 1), totalPct: round((100 * (total.get(k) ?? 0)) / sum, 1) };
  }).sort((a, b) => b.selfMs - a.selfMs);
  const byFile = new Map();
  for (const r of rows) byFile.set(r.file || '(native)', (byFile.get(r.file || '(native)') ?? 0) + r.selfMs);
  const files = [...byFile.entries()].map(([file, ms]) => ({ file, selfMs: round(ms, 1), selfPct: round((100 * ms) / sum, 1) })).sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: round(sum, 1), functions: rows, files };
}

function fileURLToPathSafe(u) {
  try {
    return u.startsWith('file:') ? fileURLToPath(u) : u;
  } catch {
    return u;
  }
}

async function profile(o) {
  ensureBuilt();
  const { path: capture } = ensureCapture(o.sizeBytes, o.seed);
  const given = o.modes.filter((m) => m in OUR_MODES);
  const which = o.modesGiven && given.length ? given.filter((m) => !PIPED.has(m)) : ['json', 'summary'];
  const report = { date: new Date().toISOString(), size: sizeLabel(o.sizeBytes), capture: relative(ROOT, capture), node: process.version, code: { ...codeVersion(), dist: distFingerprint() }, modes: {} };
  for (const mode of which) {
    const dir = join(OUT_DIR, `prof-${sizeLabel(o.sizeBytes)}-${mode}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    log(`bench: profiling ${mode} (node --cpu-prof)`);
    await timed([process.execPath, '--cpu-prof', `--cpu-prof-dir=${dir}`, BIN, ...OUR_MODES[mode], capture], '/dev/null', false, ourEnv(), o.timeoutSec);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile in ${dir}`);
    const s = summariseProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    report.modes[mode] = { profile: relative(ROOT, join(dir, file)), totalMs: s.totalMs, top: s.functions.slice(0, o.top), files: s.files.slice(0, 12) };
    process.stdout.write(`\n${mode}: ${s.totalMs.toFixed(0)} ms sampled; top ${o.top} self time\n`);
    process.stdout.write(`${'self ms'.padStart(9)} ${'self%'.padStart(6)} ${'total%'.padStart(7)}  function  file:line\n`);
    for (const r of s.functions.slice(0, o.top)) {
      process.stdout.write(`${r.selfMs.toFixed(0).padStart(9)} ${r.selfPct.toFixed(1).padStart(6)} ${r.totalPct.toFixed(1).padStart(7)}  ${r.function}  ${r.file}${r.line ? `:${r.line}` : ''}\n`);
    }
    process.stdout.write('by file (self):\n');
    for (const f of s.files.slice(0, 12)) process.stdout.write(`${f.selfMs.toFixed(0).padStart(9)} ${f.selfPct.toFixed(1).padStart(6)}  ${f.file}\n`);
  }
  if (distFingerprint() !== report.code.dist) report.note = 'dist/ changed while profiling: the profiles may come from two builds';
  const out = join(OUT_DIR, `profile-${sizeLabel(o.sizeBytes)}.json`);
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`bench: profile summary written to ${relative(ROOT, out)}`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Stage breakdown: the same pipeline as src/cli/pipeline.ts, cut after each stage (in-process CPU time, no CLI startup)

const STAGES = ['read file', 'pcap records', 'Ethernet/IP/TCP', 'TCP reassembly', 'MQTT framing + decoding', 'rules', 'dialects + payload views', 'NDJSON strings'];

async function stageWorker(stage, file) {
  const { createReadStream } = await import('node:fs');
  const { pathToFileURL } = await import('node:url');
  const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);
  const { CaptureParser } = await dist('capture/reader.js');
  const { NetDecoder } = await dist('net/decoder.js');
  const { TcpReassembler } = await dist('tcp/reassembler.js');
  const { ConnectionDecoder } = await dist('mqtt/connection-decoder.js');
  const { RuleEngine } = await dist('rules/engine.js');
  // The NDJSON stage: from the registry writer straight into a byte buffer (a1719ca on), else the older string builder.
  let toJson;
  if (existsSync(join(ROOT, 'dist', 'render', 'ndjson.js'))) {
    const { writePacketRecord } = await dist('render/ndjson.js');
    const { ByteOut } = await dist('render/bytes-out.js');
    const w = new ByteOut((chunk) => { out += chunk.length; });
    const o = { redact: false, payloadLimit: 1024 };
    toJson = (rec) => { writePacketRecord(w, rec, o); };
  } else {
    const { packetJson } = await dist('render/json.js');
    toJson = (rec) => { out += packetJson(rec, false).length; };
  }
  // The dialect stage (rules -> dialects -> renderers) exists from 01b5fb0's era on; older builds skip it.
  const DialectStage = existsSync(join(ROOT, 'dist', 'dialects', 'stage.js')) ? (await dist('dialects/stage.js')).DialectStage : null;
  let n = 0;
  let out = 0;
  const last = { open() {}, close() {}, event() {}, packet(rec) { n++; if (stage >= 7) toJson(rec); } };
  const afterRules = stage >= 6 && DialectStage ? new DialectStage(last, { dialect: 'auto', tree: false }) : last;
  const mqtt = new ConnectionDecoder(stage >= 5 ? new RuleEngine(afterRules) : last, { tree: false });
  const bytesOnly = { open() {}, data(_c, _d, p) { n += p.length; }, gap() {}, close() {}, event() {} };
  // The transport stage (issue 13 on): TCP -> router (TLS, WebSocket) -> MQTT, and the WebSocket ports probed, as src/cli/pipeline.ts
  // wires them; older builds feed the MQTT stage straight from TCP.
  let afterTcp = stage >= 4 ? mqtt : bytesOnly;
  let tcpExtra = {};
  if (stage >= 4 && existsSync(join(ROOT, 'dist', 'transport', 'router.js'))) {
    const { StreamRouter, LAYERS, layerProbePorts } = await dist('transport/router.js');
    const { transportProber } = await dist('transport/probe.js');
    const { KeyLog } = await dist('transport/tls/keylog.js');
    afterTcp = new StreamRouter(mqtt, LAYERS, { held: mqtt.budget, wsNotes: null, keylog: new KeyLog() });
    tcpExtra = { connectProber: transportProber(null), probePorts: new Set(layerProbePorts()), heldBytes: mqtt.budget };
  }
  const tcp = new TcpReassembler(afterTcp, { ports: new Set([1883, 6002]), auto: false, ...tcpExtra });
  const net = new NetDecoder(() => {});
  const parser = new CaptureParser({
    record(rec) {
      if (stage === 1) { n++; return; }
      mqtt.setCurrentFrame(rec.frame, rec.timeSec, rec.timeNsec);
      const seg = net.decode(rec);
      if (stage === 2) { if (seg) n++; return; }
      if (seg) tcp.segment(seg);
    },
    event() {},
  }, file);
  const c0 = process.cpuUsage();
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    if (stage === 0) n += chunk.length;
    else parser.push(chunk);
  }
  if (stage > 0) parser.end();
  if (stage >= 3) { net.finish(0); tcp.finish(0); }
  const c = process.cpuUsage(c0);
  process.stdout.write(`${JSON.stringify({ stage, cpu: (c.user + c.system) / 1e6, n, out })}\n`);
}

async function stages(o) {
  ensureBuilt();
  const { path: capture } = ensureCapture(o.sizeBytes, o.seed);
  const runs = Math.max(o.runs, 3);
  const rows = [];
  for (let stage = 0; stage < STAGES.length; stage++) {
    const cpu = [];
    let n = 0;
    for (let r = 0; r < runs; r++) {
      const res = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--stage-worker', String(stage), capture], { cwd: ROOT, encoding: 'utf8', timeout: o.timeoutSec * 1000 });
      if (res.status !== 0) throw new Error(`stage ${stage} failed (dist/ internals changed?): ${res.stderr.split('\n').slice(0, 3).join(' ')}`);
      const j = JSON.parse(res.stdout.trim().split('\n').pop());
      cpu.push(j.cpu);
      n = j.n;
    }
    rows.push({ stage: STAGES[stage], cumulativeCpu: round(median(cpu)), count: n });
  }
  let prev = 0;
  process.stdout.write(`\n${sizeLabel(o.sizeBytes)}: CPU seconds (median of ${runs}) with the pipeline cut after each stage\n`);
  for (const r of rows) {
    r.stageCpu = round(r.cumulativeCpu - prev);
    prev = r.cumulativeCpu;
    process.stdout.write(`${r.stage.padEnd(24)} ${r.cumulativeCpu.toFixed(2).padStart(7)} s  (${r.stageCpu < 0 ? '' : '+'}${r.stageCpu.toFixed(2)})\n`);
  }
  const out = join(OUT_DIR, `stages-${sizeLabel(o.sizeBytes)}.json`);
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), size: sizeLabel(o.sizeBytes), node: process.version, code: { ...codeVersion(), dist: distFingerprint() }, runs, stages: rows }, null, 2)}\n`);
  log(`bench: stage breakdown written to ${relative(ROOT, out)}`);
}

// ---------------------------------------------------------------------------------------------------------------------

async function main() {
  // --floods: hostile captures streamed to the CLI (bench/floods.mjs, its own options).
  if (process.argv.includes('--floods')) return (await import('./floods.mjs')).main(process.argv.slice(2));
  const o = parseArgs(process.argv.slice(2));
  killChildrenOnSignal();
  if (o.stageWorker) {
    await stageWorker(...o.stageWorker);
    return;
  }
  if (o.stages) {
    await stages(o);
    return;
  }
  if (o.profile) {
    await profile(o);
    return;
  }
  if (o.sizes) {
    await sizesRun(o);
    return;
  }
  const r = await bench(o);
  printTable(r);
  writeResults(o.out, r);
  log(`bench: results written to ${relative(ROOT, o.out) || o.out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
