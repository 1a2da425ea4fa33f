import { defineConfig } from 'vitest/config';

/** The doc test (`npm run test:docs`): the commands of README.md and docs/*.md, apart from the unit tests. */
export default defineConfig({
  test: {
    include: ['test/docs/**/*.test.ts'],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
