import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, useApp } from '../support/app.js';
import { createProject, createProjectToken } from '../support/projects.js';

/**
 * Real nginx (the Debian package; `.ci/run` installs it) with `auth_request` in front of a tiny upstream,
 * Keyward's `GET /v1/auth/check` deciding. The config is the README's "Put Keyward in front of your API"
 * one, with ports filled in. nginx runs in the foreground from its own prefix in a temp dir.
 */
const NGINX = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']
  .map((d) => join(d, 'nginx'))
  .find((p) => existsSync(p));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function nginxConfig(dir: string, port: number, keyward: string, upstream: string): string {
  return `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

  server {
    listen 127.0.0.1:${port};

    # Everything under / needs a valid token; /admin/ also needs delete:token.
    location / {
      auth_request /_keyward/check;
      auth_request_set $keyward_token_id $upstream_http_x_keyward_token_id;
      auth_request_set $keyward_projects $upstream_http_x_keyward_projects;
      proxy_set_header X-Keyward-Token-Id $keyward_token_id;
      proxy_set_header X-Keyward-Projects $keyward_projects;
      proxy_pass ${upstream};
    }
    location /admin/ {
      auth_request /_keyward/check-delete;
      proxy_pass ${upstream};
    }

    location = /_keyward/check {
      internal;
      proxy_pass ${keyward}/v1/auth/check;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
    }
    location = /_keyward/check-delete {
      internal;
      proxy_pass ${keyward}/v1/auth/check?permission=delete:token;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
    }
  }
}
`;
}

const missing = !NGINX;
if (missing && process.env.CI) throw new Error('nginx is not installed: .ci/run installs the Debian package `nginx`');
const SKIP_REASON = 'skipped: no nginx binary on this machine; apt-get install -y nginx runs it';
// The default reporter does not print the titles of skipped suites: say it on the console as well.
if (missing) console.warn(`test/forward-auth-nginx: ${SKIP_REASON}`);

describe.skipIf(missing)(
  missing ? `nginx auth_request (${SKIP_REASON})` : 'nginx auth_request in front of an upstream',
  () => {
    const t = useApp();
    let dir: string;
    let upstream: Server;
    let upstreamHits: Array<{ url?: string; tokenId?: string; authorization?: string }>;
    let nginx: ChildProcess;
    let base: string;
    let reader: string;
    let writer: string;
    let projectToken: string;
    let projectId: string;

    beforeAll(async () => {
      const api = client(t.url);
      reader = (await api.post('/api-token/create', { access: 'read' })).body.token;
      writer = (await api.post('/api-token/create', { access: 'write' })).body.token;
      const project = await createProject(api);
      projectId = project.id;
      projectToken = (await createProjectToken(api, project.id, ['read:token'])).token;

      upstreamHits = [];
      upstream = createServer((req, res) => {
        upstreamHits.push({
          url: req.url,
          tokenId: req.headers['x-keyward-token-id'] as string | undefined,
          authorization: req.headers.authorization,
        });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ upstream: true, url: req.url, projects: req.headers['x-keyward-projects'] ?? null }));
      });
      await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
      const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;

      dir = mkdtempSync(join(tmpdir(), 'keyward-nginx-'));
      chmodSync(dir, 0o755);
      const port = await freePort();
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, t.url, upstreamUrl));
      nginx = spawn(NGINX!, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      nginx.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      base = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${stderr}`);
        try {
          await fetch(base + '/');
          break;
        } catch {
          if (i > 100) throw new Error(`nginx did not listen: ${stderr}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    });

    afterAll(async () => {
      if (nginx && nginx.exitCode === null) {
        const exited = new Promise((r) => nginx.once('exit', r));
        nginx.kill('SIGQUIT');
        await exited;
      }
      await new Promise((r) => upstream?.close(r));
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const get = (path: string, token?: string) =>
      fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });

    it('200: a valid token reaches the upstream, which learns the token id from Keyward', async () => {
      upstreamHits.length = 0;
      const res = await get('/orders?id=7', reader);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ upstream: true, url: '/orders?id=7', projects: '*' });
      expect(upstreamHits).toHaveLength(1);
      expect(upstreamHits[0].tokenId).toMatch(/^[0-9a-f-]{36}$/);
      const proj = await get('/x', projectToken);
      expect(proj.status).toBe(200);
      expect(((await proj.json()) as { projects: string }).projects).toBe(projectId);
    });

    it('401: no token or a bad one never reaches the upstream', async () => {
      upstreamHits.length = 0;
      for (const token of [undefined, 'garbage', 'kw_' + 'A'.repeat(65)]) {
        const res = await get('/orders', token);
        expect(res.status, String(token)).toBe(401);
      }
      expect(upstreamHits).toHaveLength(0);
    });

    it('403: a valid token without the permission the location asks for', async () => {
      upstreamHits.length = 0;
      expect((await get('/admin/purge', reader)).status).toBe(403);
      expect((await get('/admin/purge', projectToken)).status).toBe(403);
      expect(upstreamHits).toHaveLength(0);
      const ok = await get('/admin/purge', writer);
      expect(ok.status).toBe(200);
      expect(upstreamHits).toHaveLength(1);
    });

    it('nginx logged no error talking to Keyward', () => {
      const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
      expect(log).not.toMatch(/\[(error|crit|alert|emerg)\]/);
    });
  },
);
