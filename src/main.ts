import { Logger } from '@nestjs/common';
import { createApp } from './app.factory.js';
import { ConfigError, loadConfig } from './config/config.schema.js';
import { DataDirLockedError } from './database/connect.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  await app.listen({ port: config.PORT, host: config.HOST });
  new Logger('Keyward').log(`Keyward listening on http://${config.HOST}:${config.PORT} (docs at /docs)`);
}

main().catch((err: unknown) => {
  // Start-up failures are explained in one line; anything unexpected keeps its stack.
  if (err instanceof ConfigError || err instanceof DataDirLockedError) {
    console.error(`keyward: ${err.message}`);
  } else {
    console.error('keyward: failed to start:', err);
  }
  process.exit(1);
});
