import { defineConfig } from 'prisma/config';

// Prisma 7 keeps the datasource URL here. `env()` would throw when DATABASE_URL is unset (even for
// `prisma generate`), so read it directly: Keyward runs on embedded PGlite when it is absent.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/keyward' },
});
