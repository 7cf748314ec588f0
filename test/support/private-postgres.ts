import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.js';

/**
 * A private PostgreSQL 15 server for tests that stop and start the database under a running service
 * (the shared server on 5432 must never be stopped). Its own data directory, port and socket
 * directory; trust authentication; run as the `postgres` user when the tests run as root.
 * (Minimal; a fuller fault-injection cluster may replace it.)
 */
export const PG_BIN = process.env.KEYWARD_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const havePostgresBinaries = existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));

export interface PrivatePostgres {
  url: string;
  port: number;
  start(): void;
  /** `immediate`: the server goes away at once, as in a crash (connections are cut). */
  stop(mode?: 'fast' | 'immediate'): void;
  destroy(): void;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), 'keyward-pg-'));
  const asRoot = userInfo().uid === 0;
  const data = join(root, 'data');
  const run = (bin: string, args: string[]) => {
    const cmd = join(PG_BIN, bin);
    if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
    else execFileSync(cmd, args, { stdio: 'pipe' });
  };
  if (asRoot) {
    chmodSync(root, 0o755);
    const pgUser = execFileSync('id', ['-u', 'postgres']).toString().trim();
    const pgGroup = execFileSync('id', ['-g', 'postgres']).toString().trim();
    chownSync(root, Number(pgUser), Number(pgGroup));
  }
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pg: PrivatePostgres = {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () => run('pg_ctl', ['-D', data, '-o', options, '-l', join(root, 'log'), '-w', 'start']),
    stop: (mode = 'fast') => run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']),
    destroy() {
      try {
        pg.stop('immediate');
      } catch {
        /* already stopped */
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  pg.start();
  return pg;
}
