import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests that import src/ directly, and end-to-end tests that run the built CLI (dist/) and real
// peers (tshark, tcpdump, mosquitto). The end-to-end project rebuilds dist/ first when it is older than src/, so
// `npx vitest run` after an edit never tests a stale build. Only test/ is collected: dist/ holds compiled copies.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: ['test/e2e/build-if-stale.ts'] } },
    ],
  },
});
