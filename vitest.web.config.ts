import { defineConfig } from 'vitest/config';

/** The browser end-to-end tests (`npm run test:web`), apart from the unit tests. */
export default defineConfig({
  test: {
    include: ['test/web/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
