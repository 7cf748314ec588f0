// Token strings and argon2 costs, from the build (dist/): the same codec, defaults and parameters as the app.
import os from 'node:os';
import { loadConfig } from '../../dist/config/config.schema.js';
import { PasswordHasher } from '../../dist/verification/password-hasher.js';
import { TokenCodec } from '../../dist/verification/token-codec.js';
import { log, round } from './context.js';

/** The app's defaults (what `node dist/main.js` runs with when the bench sets nothing else). */
export const DEFAULTS = loadConfig({ DATABASE_URL: 'postgresql://unused@127.0.0.1/unused' });
export const codec = new TokenCodec(DEFAULTS.KEYWARD_TOKEN_PREFIX);
const hasher = new PasswordHasher(DEFAULTS);

/** A well-formed token (valid checksum) whose lookup id is not stored: one DB lookup, no argon2. */
export const unknownToken = () => codec.generate().token;

/** Token shape, wrong checksum: must be rejected before any I/O. */
export function garbageToken() {
  const t = codec.generate().token;
  const last = t.at(-1);
  return t.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

/** The app's argon2id (its PasswordHasher, default parameters), `parallel` loops in this process. */
export async function argon2Limit(kind, seconds, parallel = os.cpus().length, quiet = false) {
  const secret = codec.generate().token;
  const hash = await hasher.hash(secret);
  const end = Date.now() + seconds * 1000;
  let n = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (Date.now() < end) {
        if (kind === 'verify') await hasher.verify(hash, secret);
        else await hasher.hash(secret);
        n++;
      }
    }),
  );
  const perSec = n / ((Date.now() - started) / 1000);
  if (!quiet) log(`argon2 ${kind} limit in this process (${parallel} parallel): ${round(perSec, 1)}/s`);
  return round(perSec, 1);
}

export const ARGON2 = {
  memoryKiB: DEFAULTS.KEYWARD_ARGON2_MEMORY_KIB,
  timeCost: DEFAULTS.KEYWARD_ARGON2_TIME_COST,
  parallelism: DEFAULTS.KEYWARD_ARGON2_PARALLELISM,
};
