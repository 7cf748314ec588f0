import { Command } from 'commander';
import { assertPortFree, portError, startupLine } from './common/startup.js';
import { VERSION } from './common/version.js';
import { loadConfig } from './config/config.schema.js';

/** `node dist/main.js [--tokens FILE] [--version]` (`npm start -- --tokens FILE`): flags override the environment. */
function parseArgs(argv: string[]): Record<string, string | undefined> {
  const program = new Command('keyward-server')
    .description('Start the Keyward token service (configuration comes from the environment; see README)')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .option('--tokens <file>', 'operator-managed tokens file (same as KEYWARD_TOKENS_FILE); SIGHUP reloads it')
    .allowExcessArguments(false)
    .parse(argv);
  const opts = program.opts<{ tokens?: string }>();
  return { ...process.env, ...(opts.tokens !== undefined ? { KEYWARD_TOKENS_FILE: opts.tokens } : {}) };
}

/**
 * Start-up, cheapest checks first, so that a failure touches nothing: configuration, tokens file, the
 * port, then the database (opened and migrated before Nest starts, so its failures are one line too).
 */
async function main(): Promise<void> {
  const config = loadConfig(parseArgs(process.argv));
  // The application (Nest, Prisma, drivers) loads only once the arguments and configuration are good;
  // the bulk of it (the app's modules) goes on loading while the database opens.
  const appFactory = import('./app.factory.js');
  appFactory.catch(() => undefined); // awaited below; a failure is reported there
  const [{ readTokensFile }, { createLogger }, { openDatabase }] = await Promise.all([
    import('./verification/tokens-file/tokens-file.service.js'),
    import('./common/logging.js'),
    import('./database/database.module.js'),
  ]);
  if (config.KEYWARD_TOKENS_FILE) await readTokensFile(config.KEYWARD_TOKENS_FILE);
  await assertPortFree(config.PORT, config.HOST);
  const logger = createLogger(config);
  const dbLog = logger.child({ context: 'Database' });
  const database = await openDatabase(config, {
    log: (message: string) => dbLog.info(message),
    warn: (message: string) => dbLog.warn(message),
  });
  const { createApp } = await appFactory;
  const app = await createApp(config, { logger, database, drainOnSignal: true });
  const url = `http://${config.HOST}:${config.PORT}`;
  await announceAdminToken(app, config, url, logger.child({ context: 'Keyward' }));
  try {
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw portError(err as NodeJS.ErrnoException, config.PORT, config.HOST);
  }
  logger.info({ context: 'Keyward', version: VERSION }, `Keyward ${VERSION} listening on ${url} (docs at ${url}/docs)`);
  // A stop asked for (docker stop, systemd, Ctrl-C) is said in the log; Nest's shutdown hooks close the rest.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => logger.info({ context: 'Keyward', signal }, `${signal} received: shutting down`));
  }
}

/**
 * With no KEYWARD_ADMIN_TOKEN, the first start on an empty database creates the admin token and prints
 * it once on stderr (never to the log); later starts say which admin token exists.
 */
async function announceAdminToken(
  app: Awaited<ReturnType<typeof import('./app.factory.js').createApp>>,
  config: ReturnType<typeof loadConfig>,
  url: string,
  log: { info: (msg: string) => void; warn: (msg: string) => void },
): Promise<void> {
  if (config.KEYWARD_ADMIN_TOKEN) return; // the auth module says it is configured
  const [{ AdminTokens, adminTokenBlock }, { TokensRepository }, { TokenIssuer }, { AuditService }] = await Promise.all(
    [
      import('./tokens/admin-token.js'),
      import('./tokens/tokens.repository.js'),
      import('./tokens/token-issuer.js'),
      import('./audit/audit.service.js'),
    ],
  );
  const admin = new AdminTokens(app.get(TokensRepository), app.get(TokenIssuer), app.get(AuditService));
  const found = await admin.atStart();
  if (found.state === 'created') {
    process.stderr.write(adminTokenBlock(found.token, url.replace('//0.0.0.0:', '//localhost:')));
    log.info(`admin token ${found.row.id} (${found.row.stub}) created; its secret was printed once on stderr`);
  } else if (found.state === 'exists') {
    log.info(
      `an admin token exists: ${found.row.id} (${found.row.stub}); \`keyward admin reset\` gives it a new secret`,
    );
  } else if (found.liveTokens === 0) {
    log.warn(
      'No live token and no KEYWARD_ADMIN_TOKEN: every protected route answers 401. ' +
        '`keyward admin reset` creates an admin token (on the embedded database, stop the service first).',
    );
  } else {
    log.info(`no admin token${found.adminRevoked ? ' (it was revoked)' : ''}; ${found.liveTokens} live token(s)`);
  }
}

main().catch((err: unknown) => {
  // Every start-up failure is one line on stderr naming the variable or resource; the stack only when
  // LOG_LEVEL asks for detail.
  console.error(`keyward: ${startupLine(err)}`);
  if (['debug', 'trace'].includes(process.env.LOG_LEVEL ?? '') && err instanceof Error) console.error(err.stack);
  process.exit(1);
});
