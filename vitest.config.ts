import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

// Tests import every @distillery/* package from its source, so they never run against a stale build.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@distillery\/([a-z0-9-]+)\/testing$/, replacement: `${packages}$1/src/testing/index.ts` },
      { find: /^@distillery\/([a-z0-9-]+)\/kit$/, replacement: `${packages}$1/src/kit/index.ts` },
      { find: /^@distillery\/([a-z0-9-]+)$/, replacement: `${packages}$1/src/index.ts` },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
