import { AsyncLocalStorage } from 'node:async_hooks';
import { Module } from '@nestjs/common';
import type { AppConfig } from './config.schema.js';

/** Injection token for the validated, typed configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/** The configuration of the application Nest is building in this async context (see `withConfig`). */
const starting = new AsyncLocalStorage<AppConfig>();

/**
 * Runs `build` (Nest creating one application or CLI context) with `config` as that application's
 * configuration: every `ConfigModule` it imports provides this value. Several applications may be built
 * at once in one process (the tests do), each with its own.
 */
export function withConfig<T>(config: AppConfig, build: () => T): T {
  return starting.run(config, build);
}

/** The validated configuration (`APP_CONFIG`). Imported by every module whose providers read it. */
@Module({
  providers: [
    {
      provide: APP_CONFIG,
      useFactory: (): AppConfig => {
        const config = starting.getStore();
        if (!config) throw new Error('ConfigModule: the application was not built inside withConfig()');
        return config;
      },
    },
  ],
  exports: [APP_CONFIG],
})
export class ConfigModule {}
