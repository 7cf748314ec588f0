import { createServer } from 'node:net';

/**
 * A start-up failure an operator can act on: its message is the whole story, printed as one line
 * naming the variable or resource (`PORT 8080 is in use`, `DATABASE_URL: connection refused at …`).
 */
class StartupError extends Error {}

/**
 * Fails fast when the port is taken, before the database is opened and migrated. A probe listener is
 * opened and closed at once; the real listen follows a moment later (a race with another process
 * grabbing the port in between still fails cleanly, at listen).
 */
export async function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(portError(err, port, host)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** The one-line explanation of a failed listen, or the error itself when it is something else. */
export function portError(err: NodeJS.ErrnoException, port: number, host: string): Error {
  if (err.code === 'EADDRINUSE') {
    return new StartupError(
      `PORT ${port} is in use (HOST ${host}): stop the process that holds it (\`lsof -i :${port}\` names it), ` +
        `or choose another port, e.g. PORT=${port + 1}`,
    );
  }
  if (err.code === 'EACCES')
    return new StartupError(`PORT ${port}: permission denied (ports below 1024 need privileges)`);
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
    return new StartupError(`HOST ${host}: not an address of this machine`);
  return err;
}

/** One line for any start-up failure: known ones by their message, anything else with its first line. */
export function startupLine(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n').join(' ').replace(/\s+/g, ' ').trim();
  return String(err);
}
