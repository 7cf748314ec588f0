'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload by design */
// Bench-only preload (`node --require bench/argon2-counter.cjs dist/main.js`): counts argon2 calls made
// by the app without touching src/. The app does `import argon2 from 'argon2'` and calls
// `argon2.verify(...)`/`argon2.hash(...)` on the CommonJS exports object, so wrapping those properties
// before the app loads counts every call. The counts are written to BENCH_ARGON2_COUNT_FILE (JSON) every
// 200 ms when they changed; the bench reads the file before and after a scenario.
const fs = require('node:fs');

const file = process.env.BENCH_ARGON2_COUNT_FILE;
if (file) {
  const argon2 = require(require.resolve('argon2', { paths: [process.cwd()] }));
  const counts = { verify: 0, hash: 0 };
  let written = -1;
  for (const name of ['verify', 'hash']) {
    const original = argon2[name];
    argon2[name] = function counted(...args) {
      counts[name]++;
      return original.apply(this, args);
    };
  }
  const flush = () => {
    const total = counts.verify + counts.hash;
    if (total === written) return;
    written = total;
    fs.writeFileSync(file, JSON.stringify(counts));
  };
  flush();
  setInterval(flush, 200).unref();
}
