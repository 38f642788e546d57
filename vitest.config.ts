import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/log-capture.ts', 'test/support/packed-meta-equality.ts'],
  },
});
