import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.js';

/** Debian's PgBouncer (`apt-get install pgbouncer`; `.ci/run` installs it when missing). */
export const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p)) ?? null;

/**
 * A PgBouncer in transaction mode on a free loopback port, in front of one PostgreSQL database. Trust
 * authentication (the user must still be listed in its auth file). Run as `postgres` when the tests
 * run as root: PgBouncer refuses to run as root.
 */
export class PgBouncer {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
    private readonly log: () => string,
  ) {}

  url(database: string): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  output(): string {
    return this.log();
  }

  static async start(
    backend: { port: number; database: string },
    settings: Record<string, string> = {},
  ): Promise<PgBouncer> {
    if (!PGBOUNCER) throw new Error('pgbouncer is not installed (apt-get install pgbouncer)');
    const dir = mkdtempSync(join(tmpdir(), 'keyward-pgbouncer-'));
    const port = await freePort();
    const ini = {
      listen_addr: '127.0.0.1',
      listen_port: String(port),
      unix_socket_dir: '',
      auth_type: 'trust',
      auth_file: join(dir, 'users.txt'),
      pool_mode: 'transaction',
      max_client_conn: '500',
      default_pool_size: '8',
      server_reset_query: '',
      pidfile: join(dir, 'pgbouncer.pid'),
      ...settings,
    };
    writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      `[databases]\n${backend.database} = host=127.0.0.1 port=${backend.port} dbname=${backend.database}\n\n` +
        `[pgbouncer]\n${Object.entries(ini)
          .map(([k, v]) => `${k} = ${v}`)
          .join('\n')}\n`,
    );
    const root = process.getuid?.() === 0;
    if (root) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
    }
    const args = [join(dir, 'pgbouncer.ini')];
    const child = root
      ? spawn('runuser', ['-u', 'postgres', '--', PGBOUNCER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(PGBOUNCER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const bouncer = new PgBouncer(port, dir, child, () => log);
    const deadline = Date.now() + 10_000;
    while (!/listening on 127\.0\.0\.1/.test(log)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        bouncer.stop();
        throw new Error(`pgbouncer did not start:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return bouncer;
  }

  stop(): void {
    const pidfile = join(this.dir, 'pgbouncer.pid');
    if (existsSync(pidfile)) spawnSync('kill', ['-INT', readFileSync(pidfile, 'utf8').trim()]);
    if (this.child.exitCode === null && this.child.pid) spawnSync('kill', ['-TERM', String(this.child.pid)]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
