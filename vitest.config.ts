import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Pool threads import a JavaScript copy of the sources, not the sources through tsx (test/setup/prebuild.ts).
    globalSetup: ['test/setup/prebuild.ts'],
    // Tests start real worker threads; on a 2-core machine running files one
    // at a time keeps thread counts honest and timings stable.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
