import { defineConfig } from 'vitest/config';

// Only test/: Vitest would otherwise also collect compiled copies under dist/.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
