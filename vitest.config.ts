import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/web/**', 'test/docs/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time even on a 2-core machine: most of them wait on child processes (the
    // CLI, worker threads, a software GPU), so two overlap well.
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
  },
});
