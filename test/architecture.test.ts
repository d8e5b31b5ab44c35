/** The data flow is the architecture: a stage imports only from itself and the stages before it. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const STAGES = ['capture', 'net', 'tcp', 'mqtt', 'rules', 'dialects', 'render', 'cli'];
const SRC = join(import.meta.dirname, '..', 'src');

describe('stage imports follow the data flow', () => {
  for (const stage of STAGES) {
    it(stage, () => {
      const rank = STAGES.indexOf(stage);
      let files: string[] = [];
      try { files = readdirSync(join(SRC, stage)).filter((f) => f.endsWith('.ts')); } catch { files = []; }
      const wrong: string[] = [];
      for (const f of files) {
        const text = readFileSync(join(SRC, stage, f), 'utf8');
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'\.\.\/([a-z]+)\//g)) {
          const target = m[1]!;
          if (!STAGES.includes(target) || STAGES.indexOf(target) > rank) wrong.push(`${stage}/${f} imports ${target}/`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }
});
