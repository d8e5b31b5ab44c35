/** The data flow is the architecture: a stage imports only from itself and the stages before it. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const STAGES = ['capture', 'net', 'tcp', 'transport', 'mqtt', 'rules', 'dialects', 'render', 'cli'];
const SRC = join(import.meta.dirname, '..', 'src');

/** Every .ts file of a stage, its sub-folders too (src/transport/tls/). */
function filesOf(dir: string): string[] {
  let entries;
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return []; }
  return entries.flatMap((e) => (e.isDirectory() ? filesOf(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('stage imports follow the data flow', () => {
  for (const stage of STAGES) {
    it(stage, () => {
      const rank = STAGES.indexOf(stage);
      const wrong: string[] = [];
      for (const f of filesOf(join(SRC, stage))) {
        const text = readFileSync(f, 'utf8');
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g)) {
          // The stage a relative import lands in: the first folder of its path under src/.
          const target = relative(SRC, resolve(dirname(f), m[1]!)).split(sep)[0]!;
          if (!STAGES.includes(target) || STAGES.indexOf(target) > rank) wrong.push(`${relative(SRC, f)} imports ${target}/`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }
});
