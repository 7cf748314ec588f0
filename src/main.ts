import { Logger } from '@nestjs/common';
import { Command } from 'commander';
import { createApp } from './app.factory.js';
import { ConfigError, loadConfig } from './config/config.schema.js';
import { DataDirLockedError } from './database/connect.js';
import { TokensFileError } from './tokens-file/tokens-file.parser.js';
import { readTokensFile } from './tokens-file/tokens-file.service.js';

/** `node dist/main.js [--tokens FILE]` (`npm start -- --tokens FILE`): flags override the environment. */
function parseArgs(argv: string[]): Record<string, string | undefined> {
  const program = new Command('keyward-server')
    .description('Start the Keyward token service (configuration comes from the environment; see README)')
    .option('--tokens <file>', 'operator-managed tokens file (same as KEYWARD_TOKENS_FILE); SIGHUP reloads it')
    .allowExcessArguments(false)
    .parse(argv);
  const opts = program.opts<{ tokens?: string }>();
  return { ...process.env, ...(opts.tokens !== undefined ? { KEYWARD_TOKENS_FILE: opts.tokens } : {}) };
}

async function main(): Promise<void> {
  const config = loadConfig(parseArgs(process.argv));
  // Checked before the database is opened, so a bad tokens file fails fast and touches nothing.
  if (config.KEYWARD_TOKENS_FILE) await readTokensFile(config.KEYWARD_TOKENS_FILE);
  const app = await createApp(config);
  await app.listen({ port: config.PORT, host: config.HOST });
  new Logger('Keyward').log(`Keyward listening on http://${config.HOST}:${config.PORT} (docs at /docs)`);
}

main().catch((err: unknown) => {
  // Start-up failures are explained in one line; anything unexpected keeps its stack.
  if (err instanceof ConfigError || err instanceof DataDirLockedError || err instanceof TokensFileError) {
    console.error(`keyward: ${err.message}`);
  } else {
    console.error('keyward: failed to start:', err);
  }
  process.exit(1);
});
