import { defineConfig } from 'vitest/config';

/**
 * Three projects, chosen by file name (`npm test` runs all three; `npm test -- --project e2e` one):
 * - unit: `src/**\/*.spec.ts`, next to the code, no database, no network;
 * - e2e: `test/**\/*.e2e.spec.ts`, the real app in the test process (test/support/app.ts) over HTTP on a
 *   real database: PostgreSQL, or embedded PGlite with KEYWARD_TEST_DB=pglite;
 * - system: `test/**\/*.system.spec.ts`, real processes: dist/main.js and the CLI bin as a user starts
 *   them, nginx, Chromium, a Go client, private PostgreSQL clusters.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      // Unit specs share one module graph per worker (isolate: false): they hold no global state.
      // Unit and e2e run together (group 0); system runs after them (group 1), as in CI: its private
      // clusters, frozen processes and spawned services would otherwise starve the in-process apps.
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.spec.ts'], isolate: false, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.spec.ts'],
          sequence: { groupOrder: 0 },
          globalSetup: ['test/support/global-setup.ts'],
          // The files of a worker share one module graph (NestJS, Prisma, the app's modules are loaded once);
          // each file still starts its own app on its own database.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'system',
          include: ['test/**/*.system.spec.ts'],
          sequence: { groupOrder: 1 },
          globalSetup: ['test/support/global-setup.ts'],
          // Processes start cold (Node, the bin's imports, initdb): slower than an in-process app.
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
