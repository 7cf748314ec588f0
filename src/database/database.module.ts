import { Global, Logger, Module, type DynamicModule } from '@nestjs/common';
import { fileURLToPath } from 'node:url';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { connectPglite, connectPostgres } from './connect.js';
import { DatabaseService } from './database.service.js';
import { migrate } from './migrator.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

export async function openDatabase(config: AppConfig, logger = new Logger('Database')): Promise<DatabaseService> {
  const handle = config.DATABASE_URL
    ? await connectPostgres(
        config.DATABASE_URL,
        config.DATABASE_POOL_SIZE,
        {
          connect: config.DATABASE_CONNECT_TIMEOUT,
          pool: config.DATABASE_POOL_TIMEOUT,
          query: config.DATABASE_QUERY_TIMEOUT,
        },
        logger,
      )
    : await connectPglite(config.KEYWARD_DATA_DIR);
  try {
    if (config.KEYWARD_MIGRATE_ON_START) {
      // Migrations may run longer than DATABASE_QUERY_TIMEOUT allows a request's statement.
      const applied = await handle.withUntimedSql((sql) => migrate(sql, MIGRATIONS_DIR));
      if (applied.length) logger.log(`applied migrations: ${applied.join(', ')}`);
    }
  } catch (err) {
    await handle.close();
    throw err;
  }
  logger.log(`using ${handle.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'} at ${handle.location}`);
  return new DatabaseService(handle);
}

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [{ provide: DatabaseService, inject: [APP_CONFIG], useFactory: (c: AppConfig) => openDatabase(c) }],
      exports: [DatabaseService],
    };
  }
}
