import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // The engine's unit tests run executeBatch: its logs and metrics as in the other projects.
          env: {
            POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT',
            POWERTOOLS_METRICS_DISABLED: 'true',
          },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          // Each test file gets its own database and queues (see integration-env.ts).
          setupFiles: ['test/support/test-env.ts', 'test/support/integration-env.ts'],
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          // Faults, bad input and security (docs/reliability.md); `npm run test:reliability`.
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts', 'test/reliability/support/global-setup.ts'],
          setupFiles: ['test/support/test-env.ts', 'test/support/integration-env.ts'],
          pool: 'forks',
          // Most files wait on redelivery timeouts and faults; two at a time keeps both cores busy.
          maxWorkers: 2,
          // The load test measures heap growth after forced collections.
          execArgv: ['--expose-gc'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // `npm start` as a user runs it, driven over HTTP only; `npm run test:e2e`.
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          // One `npm start` at a time: the HTTP API ports are fixed (3000, 3002, 3010).
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
