/**
 * `--baseline REF` (issue #11): the CLI as built from git REF, next to the working tree in the same run, so that
 * before/after ratios and output identity come from one measurement on one machine state.
 *
 * REF is checked out into a temporary worktree (`git worktree add --detach`), this tree's node_modules is symlinked
 * into it and it is compiled with its own tsconfig.build.json; the worktree is removed when the bench ends. Output
 * identity is the md5 of stdout of each mode, REF against the working tree, from an untimed pass of each.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const git = (root, args, timeout = 60_000) => spawnSync('git', args, { cwd: root, encoding: 'utf8', timeout });

/**
 * Builds REF in a temporary worktree. Returns { ref, commit, dir, bin, remove() }; throws with git's or tsc's message.
 */
export function buildBaseline(root, ref, log) {
  const rev = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  if (rev.status !== 0) throw new Error(`--baseline ${ref}: not a commit in this repository`);
  const commit = rev.stdout.trim();
  const dir = join(mkdtempSync(join(tmpdir(), 'mqtt-dissect-baseline-')), commit.slice(0, 12));
  const add = git(root, ['worktree', 'add', '--detach', dir, commit]);
  if (add.status !== 0) throw new Error(`git worktree add ${commit.slice(0, 12)} failed: ${(add.stderr || String(add.error)).trim()}`);
  const remove = () => {
    const r = git(root, ['worktree', 'remove', '--force', dir]);
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      git(root, ['worktree', 'prune']);
    }
    rmSync(join(dir, '..'), { recursive: true, force: true });
  };
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    log(`bench: building ${ref} (${commit.slice(0, 12)}) in ${dir}`);
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const b = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    if (b.status !== 0) throw new Error(`building ${ref} failed: ${(b.stdout + b.stderr).trim().split('\n').slice(0, 3).join(' ') || String(b.error)}`);
    const bin = join(dir, 'bin', 'mqtt-dissect.js');
    if (!existsSync(bin)) throw new Error(`${ref} has no bin/mqtt-dissect.js`);
    return { ref, commit, dir, bin, remove };
  } catch (e) {
    remove();
    throw e;
  }
}

/**
 * md5 and length of the stdout of `node bin args` (untimed). Rejects on a non-zero exit or after `timeoutSec`
 * (the child is killed by its pid). The child leads its own process group; its pid is in `track` while it runs.
 */
export function stdoutDigest(bin, args, { cwd, env, timeoutSec, track = new Set() }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid !== undefined) track.add(child.pid);
    const h = createHash('md5');
    let bytes = 0;
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutSec * 1000);
    child.stdout.on('data', (d) => { h.update(d); bytes += d.length; });
    child.stderr.on('data', (d) => { if (stderr.length < 4096) stderr += d.toString('utf8'); });
    child.on('error', (e) => { clearTimeout(timer); track.delete(child.pid); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      track.delete(child.pid);
      if (timedOut) reject(new Error(`${args.join(' ')}: killed after ${timeoutSec} s`));
      else if (code !== 0) reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr.split('\n')[0]}`));
      else resolvePromise({ md5: h.digest('hex'), bytes });
    });
  });
}
