import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './process.js';

/**
 * A private PostgreSQL cluster for fault tests: initdb in a temp directory, a free loopback port, and
 * the controls a fault test needs (stop, start, freeze/thaw the postmaster and every backend,
 * freeze one backend). Runs the server as the `postgres` user when the tests run as root (initdb
 * refuses root), through `runuser`.
 */

/** Directory of the PostgreSQL server binaries (KEYWARD_TEST_PG_BIN, else the newest under /usr/lib/postgresql). */
export function findPgBin(): string | null {
  if (process.env.KEYWARD_TEST_PG_BIN) return process.env.KEYWARD_TEST_PG_BIN;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0]!, 'bin') : null;
}

function userIds(name: string): { uid: number; gid: number } | null {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return null;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Children of `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may contain spaces, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class PgCluster {
  readonly port: number;
  private constructor(
    readonly bin: string,
    readonly dir: string,
    port: number,
    private readonly asUser: string | null,
    private readonly settings: Record<string, string> = {},
  ) {
    this.port = port;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** URL of a database on this cluster (`postgres` by default). */
  url(database = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  static async create(): Promise<PgCluster> {
    const bin = findPgBin();
    if (!bin) throw new Error('no PostgreSQL server binaries found (set KEYWARD_TEST_PG_BIN)');
    const dir = mkdtempSync(join(tmpdir(), 'keyward-pg-'));
    const root = process.getuid?.() === 0;
    const asUser = root ? 'postgres' : null;
    if (root) {
      const ids = userIds('postgres');
      if (!ids) throw new Error('running as root, but there is no "postgres" user to run the server as');
      chownSync(dir, ids.uid, ids.gid);
    }
    const cluster = new PgCluster(bin, dir, await freePort(), asUser);
    cluster.run('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    await cluster.start();
    return cluster;
  }

  /**
   * A streaming replica of `primary` (`pg_basebackup -R`), started on its own port; `settings` are
   * server options (e.g. `recovery_min_apply_delay: '2s'` to make it lag).
   */
  static async replicaOf(primary: PgCluster, settings: Record<string, string> = {}): Promise<PgCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-pg-replica-'));
    if (primary.asUser) {
      const ids = userIds(primary.asUser)!;
      chownSync(dir, ids.uid, ids.gid);
    }
    const replica = new PgCluster(primary.bin, dir, await freePort(), primary.asUser, settings);
    replica.run('pg_basebackup', [
      '-D',
      replica.dataDir,
      '-R',
      '--checkpoint=fast',
      '-X',
      'stream',
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
    ]);
    await replica.start();
    return replica;
  }

  private run(tool: string, args: string[]): string {
    const cmd = join(this.bin, tool);
    const [file, argv] = this.asUser ? ['runuser', ['-u', this.asUser, '--', cmd, ...args]] : [cmd, args];
    return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir });
  }

  async start(): Promise<void> {
    const opts = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      "-c listen_addresses='127.0.0.1'",
      '-c fsync=off',
      '-c max_connections=60',
      ...Object.entries(this.settings).map(([k, v]) => `-c ${k}=${v}`),
    ].join(' ');
    this.run('pg_ctl', ['start', '-w', '-t', '30', '-D', this.dataDir, '-l', join(this.dir, 'log'), '-o', opts]);
  }

  /**
   * `fast` (what an operator's `systemctl stop` does): open connections are dropped; `immediate`: the
   * server goes away at once, as in a crash.
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    this.run('pg_ctl', ['stop', '-w', '-t', '30', '-m', mode, '-D', this.dataDir]);
  }

  /** The postmaster's pid (first line of postmaster.pid). */
  postmasterPid(): number {
    return Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /** SIGSTOP of the postmaster *and* every backend: open connections hang, new ones are never answered. */
  freeze(): void {
    const pm = this.postmasterPid();
    process.kill(pm, 'SIGSTOP');
    for (const pid of childrenOf(pm)) signalIfAlive(pid, 'SIGSTOP');
  }

  thaw(): void {
    const pm = this.postmasterPid();
    // A backend may exit between the listing and the signal: that one needs no waking.
    for (const pid of childrenOf(pm)) signalIfAlive(pid, 'SIGCONT');
    signalIfAlive(pm, 'SIGCONT');
  }

  /** One SQL statement on a short-lived connection. */
  async sql<T = Record<string, unknown>>(text: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url(database), connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Backend pids of connections with this application_name. */
  async backends(applicationName: string, database?: string): Promise<number[]> {
    const rows = await this.sql<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE application_name = $1 ${database ? 'AND datname = $2' : ''}`,
      database ? [applicationName, database] : [applicationName],
    );
    return rows.map((r) => r.pid);
  }

  async destroy(): Promise<void> {
    try {
      if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
        const pm = this.postmasterPid();
        if (alive(pm)) {
          this.thaw();
          this.run('pg_ctl', ['stop', '-w', '-t', '30', '-m', 'immediate', '-D', this.dataDir]);
        }
      }
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** A cluster for the enclosing `describe`: created in `beforeAll`, destroyed in `afterAll`. */
export function usePgCluster(): () => PgCluster {
  let cluster: PgCluster | undefined;
  beforeAll(async () => {
    cluster = await PgCluster.create();
  });
  afterAll(async () => cluster?.destroy());
  return () => {
    if (!cluster) throw new Error('usePgCluster(): the cluster is not created yet (use it inside a test or a hook)');
    return cluster;
  };
}

/** Sends `signal` to `pid`, ignoring a process that is already gone (ESRCH). */
function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
