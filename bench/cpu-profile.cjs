'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload by design */
// Bench-only preload (`bench/profile.js`): SIGWINCH (not one of the app's shutdown signals) starts a V8
// CPU profile of the app, the next SIGWINCH writes it to BENCH_CPU_PROFILE-<n>.cpuprofile (n = 1, 2, …;
// for Chrome DevTools or bench/profile.js's summary).
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');

const file = process.env.BENCH_CPU_PROFILE;
if (file) {
  const session = new Session();
  session.connect();
  let running = false;
  let n = 0;
  process.on('SIGWINCH', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(`${file}-${++n}.cpuprofile`, JSON.stringify(result.profile));
    });
  });
}
