import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYNTHETIC_CAPTURES } from './builders/synthetic-captures.js';

const dir = join(import.meta.dirname, '..', 'captures');
const update = process.env.UPDATE_CAPTURES === '1';

describe('committed synthetic captures are what the builders make', () => {
  for (const [name, build] of Object.entries(SYNTHETIC_CAPTURES)) {
    it(name, () => {
      const bytes = build();
      const path = join(dir, name);
      if (update) writeFileSync(path, bytes);
      expect(existsSync(path), `${name} missing: run scripts/build-synthetic-captures.sh`).toBe(true);
      expect(Buffer.compare(readFileSync(path), Buffer.from(bytes))).toBe(0);
    });
  }
});
