/**
 * Global setup of the end-to-end project: rebuilds dist/ when any source file is newer than the last build, so the
 * CLI under test is always the code in src/. `npm test` builds first anyway (pretest); this covers `npx vitest run`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  const dist = join(ROOT, 'dist');
  const sources = [join(ROOT, 'src'), join(ROOT, 'tsconfig.build.json')];
  const srcTime = Math.max(...sources.map((s) => (statSync(s).isDirectory() ? newest(s) : statSync(s).mtimeMs)));
  // tsc writes every output file on each build, so the newest file in dist/ is the time of the last build.
  // The native AEAD opener (native/): built when it changed, else a no-op; it never fails (without it TLS uses Node's crypto).
  spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (existsSync(dist) && newest(dist) >= srcTime) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('the build of dist/ failed: end-to-end tests would run stale code');
}
