/**
 * The vitest configuration Stryker runs (stryker.config.json): the normal
 * one, plus a setup file that hands the active mutant to pool threads, minus
 * the test of the built package (mutants live in src/, not dist/).
 * MUTATE_TESTS=test/a.test.ts,test/b.test.ts narrows the test files, for a
 * quick run over one folder (its score is then a lower bound).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: process.env.MUTATE_TESTS ? process.env.MUTATE_TESTS.split(',') : ['test/**/*.test.ts'],
    exclude: ['test/dist.test.ts'],
    setupFiles: ['test/fixtures/stryker-threads.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
