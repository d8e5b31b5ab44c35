/** The data flow is the architecture: a stage imports only from itself and the stages before it. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const STAGES = ['capture', 'net', 'tcp', 'transport', 'mqtt', 'rules', 'sessions', 'dialects', 'audit', 'filter', 'render', 'page', 'cli'];
/**
 * Stages that must not import a stage before them even so: the MQTT stages may not know which transport carried the
 * bytes (the connection's `transport` field says so, and it is defined in tcp/types.ts).
 */
const FORBIDDEN: Readonly<Record<string, readonly string[]>> = { mqtt: ['transport'], rules: ['transport'], sessions: ['transport'], dialects: ['transport'], audit: ['transport'] };
const SRC = join(import.meta.dirname, '..', 'src');

/** Every .ts file of a stage, its sub-folders (transport/tls/ …) included. */
function files(dir: string): string[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  return names.flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return files(p);
    return n.endsWith('.ts') ? [p] : [];
  });
}

describe('stage imports follow the data flow', () => {
  for (const stage of STAGES) {
    it(stage, () => {
      const rank = STAGES.indexOf(stage);
      const wrong: string[] = [];
      for (const f of files(join(SRC, stage))) {
        const text = readFileSync(f, 'utf8');
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g)) {
          // The stage a relative import lands in: the first folder under src/ of the resolved path.
          const target = relative(SRC, resolve(f, '..', m[1]!)).split(/[\\/]/)[0]!;
          if (target === stage) continue;
          if (!STAGES.includes(target) || STAGES.indexOf(target) > rank || (FORBIDDEN[stage] ?? []).includes(target)) wrong.push(`${relative(SRC, f)} imports ${target}/`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }
});
