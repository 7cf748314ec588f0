#!/usr/bin/env node
// `npm start`: builds dist/ only when a source is newer than it, then runs the service in this process
// (`npm start -- --tokens FILE` passes its flags on). A busy port is reported before any build.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outputs = [join(root, 'dist/main.js'), join(root, 'dist/cli/main.js')];

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'generated') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function distIsStale() {
  if (!outputs.every((f) => existsSync(f))) return true;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const inputs = [
    newestMtime(join(root, 'src')),
    ...['prisma/schema.prisma', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'].map(
      (f) => statSync(join(root, f)).mtimeMs,
    ),
  ];
  return Math.max(...inputs) > built;
}

async function portIsFree(port, host) {
  if (!Number.isInteger(port) || port <= 0) return true; // the service reports bad values itself
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err) => resolve(err.code !== 'EADDRINUSE'));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST || '0.0.0.0';
if (!(await portIsFree(port, host))) {
  console.error(
    `keyward: PORT ${port} is in use (HOST ${host}): stop the process that holds it ` +
      `(\`lsof -i :${port}\` or \`ss -ltnp 'sport = :${port}'\` names it), or start on another port: PORT=${port + 1} npm start`,
  );
  process.exit(1);
}
if (distIsStale()) {
  console.error('keyward: building dist/ (npm run build): the sources are newer than the last build');
  try {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    process.exit(1);
  }
}
await import(join(root, 'dist/main.js'));
