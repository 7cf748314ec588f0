import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { runCli } from '../../src/cli/main.js';
import { DIST_CLI, ROOT } from './build.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment every CLI run starts from: quiet, no tokens file unless the test names one. */
const baseEnv = (env: Record<string, string>) => ({
  ...process.env,
  LOG_LEVEL: 'silent',
  KEYWARD_TOKENS_FILE: '',
  ...env,
});

/**
 * Runs one `keyward` command line in this process (the bin's own `runCli`, with its streams captured),
 * `input` on its standard input: fast, for the tests about what the commands do.
 */
export async function keyward(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    env: baseEnv(env),
    out: {
      line: (text) => void (stdout += `${text}\n`),
      write: (text) => void (stdout += text),
      note: (text) => void (stderr += `${text}\n`),
    },
    stdin: Readable.from(input === undefined || input === '' ? [] : [Buffer.from(input)]),
    stderr: (text) => void (stderr += text),
  });
  return { code, stdout, stderr };
}

/** Runs the built `keyward` bin (dist/cli/main.js) as a user would, typing `input` on its stdin. */
export function keywardBin(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DIST_CLI, ...args], {
      cwd: ROOT,
      env: baseEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
