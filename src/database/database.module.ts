import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger, type LoggerService, Module } from '@nestjs/common';
import { fileURLToPath } from 'node:url';
import { APP_CONFIG, ConfigModule, withConfig } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { connectPglite, connectPostgres, DataDirLockedError, DatabaseUnavailableError } from './connect.js';
import { DatabaseService } from './database.service.js';
import { migrate, MigrationError } from './migrator.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

/**
 * Opens the configured database and applies pending migrations. Failures are one-line errors naming
 * the variable (`DATABASE_URL: …`, `KEYWARD_DATA_DIR: …`) or the migration. `logger.warn`, when given,
 * also reports the database going away and coming back while the service runs (else `log` does).
 */
export async function openDatabase(
  config: AppConfig,
  logger: Pick<LoggerService, 'log'> & Partial<Pick<LoggerService, 'warn'>> = new Logger('Database'),
): Promise<DatabaseService> {
  let handle;
  if (config.DATABASE_URL) {
    handle = await connectPostgres(
      config.DATABASE_URL,
      config.DATABASE_POOL_SIZE,
      {
        connect: config.DATABASE_CONNECT_TIMEOUT,
        pool: config.DATABASE_POOL_TIMEOUT,
        query: config.DATABASE_QUERY_TIMEOUT,
      },
      { log: (m) => logger.log(m), warn: (m) => (logger.warn ? logger.warn(m) : logger.log(m)) },
      { directUrl: config.DATABASE_DIRECT_URL, replicaUrls: config.DATABASE_REPLICA_URLS },
    );
  } else {
    try {
      handle = await connectPglite(config.KEYWARD_DATA_DIR, (m) => logger.log(m));
    } catch (err) {
      if (err instanceof DataDirLockedError) throw err;
      throw new DatabaseUnavailableError(`KEYWARD_DATA_DIR: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
    }
  }
  try {
    if (config.KEYWARD_MIGRATE_ON_START) {
      // Migrations may run longer than DATABASE_QUERY_TIMEOUT allows a request's statement.
      const applied = await handle.withUntimedSql((sql) => migrate(sql, MIGRATIONS_DIR));
      if (applied.length) logger.log(`applied migrations: ${applied.join(', ')}`);
    }
  } catch (err) {
    await handle.close();
    if (err instanceof MigrationError) throw err;
    throw new MigrationError(`migrations: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
  }
  const through =
    handle.mode === 'pooler' ? ' through a connection pooler (direct connection for LISTEN and locks)' : '';
  const replicas = handle.replicas.length ? `, ${handle.replicas.length} read replica(s)` : '';
  logger.log(
    `using ${handle.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'} at ${handle.location}${through}${replicas}`,
  );
  return new DatabaseService(handle);
}

/** The database already opened for the application Nest is building in this async context. */
const opened = new AsyncLocalStorage<DatabaseService | undefined>();

/**
 * Runs `build` (Nest creating one application or CLI context) with `config` as that application's
 * configuration (see `withConfig`) and `database`, already opened by the caller (main.ts opens it before
 * Nest, to report failures in one line), as its database. Without one, `DatabaseModule` opens the
 * configured database.
 */
export function withConfigAndDatabase<T>(config: AppConfig, database: DatabaseService | undefined, build: () => T): T {
  return withConfig(config, () => opened.run(database, build));
}

/** The database (`DatabaseService`). Imported by every module whose providers query it. */
@Module({
  imports: [ConfigModule],
  providers: [
    {
      provide: DatabaseService,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => opened.getStore() ?? openDatabase(config),
    },
  ],
  exports: [DatabaseService],
})
export class DatabaseModule {}
