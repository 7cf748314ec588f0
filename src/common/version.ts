import { readFileSync } from 'node:fs';

/** Keyward's version, from package.json (src/common → ../../package.json, and the same from dist/common). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
