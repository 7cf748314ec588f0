// The app process under test: `node dist/main.js` with the argon2 call counter preloaded.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { ADMIN_TOKEN, apps, DATABASE_URL, log, ROOT, sleep, TMP } from './context.js';
import { cpuMs, rssMiB } from './cpu.js';

export const PING = '/api/v1/public/ping';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts the built app on a free port and waits for its ping; `stop()` ends it (also at teardown).
 * `cwd`: the checkout whose `dist/main.js` runs (this one by default).
 */
export async function startApp(name, extraEnv = {}, nodeArgs = [], { cwd = ROOT } = {}) {
  const port = await freePort();
  const countFile = path.join(TMP, `argon2-${name}.json`);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    DATABASE_URL,
    KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    KEYWARD_CLEANUP_INTERVAL: '0',
    BENCH_ARGON2_COUNT_FILE: countFile,
    ...extraEnv,
  };
  const args = ['--require', path.join(ROOT, 'bench/argon2-counter.cjs'), ...nodeArgs, 'dist/main.js'];
  const child = spawn(process.execPath, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = [];
  const keep = (chunk) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) tail.push(line.slice(0, 500));
    if (tail.length > 200) tail.splice(0, tail.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, sig) => resolve((exited = { code, sig }))));
  const url = `http://127.0.0.1:${port}`;
  const app = {
    name,
    url,
    pid: child.pid,
    env: { ...extraEnv },
    tail,
    async stop() {
      apps.delete(app);
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(t);
    },
    argon2Calls() {
      try {
        return JSON.parse(readFileSync(countFile, 'utf8'));
      } catch {
        return { verify: 0, hash: 0 };
      }
    },
    rss: () => rssMiB(child.pid),
    cpu: () => cpuMs(child.pid),
  };
  apps.add(app);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`app ${name} exited (${JSON.stringify(exited)}):\n${tail.join('\n')}`);
    try {
      const res = await fetch(url + PING);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`app ${name} did not answer the ping within 60 s:\n${tail.join('\n')}`);
    await sleep(100);
  }
  log(`app ${name} up on ${url} (pid ${child.pid}) ${JSON.stringify(extraEnv)}`);
  return app;
}

/** One JSON call to the app (setup only), as the admin unless told otherwise; throws on non-2xx. */
export async function api(app, method, route, body, token = ADMIN_TOKEN) {
  const res = await fetch(app.url + route, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Runs `fn(i)` for i in [0, n) with `concurrency` in flight. */
export async function pool(n, concurrency, fn) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}
