// Load generation (autocannon, in this process) with the CPU each party used during the run.
import os from 'node:os';
import autocannon from 'autocannon';
import { CONNECTIONS, DURATION, log, median, round, sleep } from './context.js';
import { postgresCpuMs, systemJiffies } from './cpu.js';
import { PING } from './app.js';

/** Round-robin over `bodies` (one shared counter for every connection). */
export function roundRobin(bodies) {
  let i = 0;
  return [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }];
}

/** Round-robin over bearer tokens in the Authorization header. */
export function roundRobinBearer(tokens) {
  let i = 0;
  return [{ setupRequest: (req) => ({ ...req, headers: { authorization: `Bearer ${tokens[i++ % tokens.length]}` } }) }];
}

/**
 * One autocannon run against `app`, with the app's CPU time, peak RSS and argon2 calls over the run.
 * `opts` are autocannon options (path, method, headers, body, requests, connections, duration).
 */
export async function load(
  app,
  label,
  { path: route, duration = DURATION, connections = CONNECTIONS, ...opts },
  control,
) {
  await sleep(300);
  const argonBefore = app.argon2Calls();
  const cpuBefore = app.cpu();
  const sysBefore = systemJiffies();
  const pgBefore = postgresCpuMs();
  const benchBefore = process.cpuUsage();
  let rssMax = app.rss() ?? 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, app.rss() ?? 0)), 250);
  const started = Date.now();
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon({ url: app.url + route, connections, duration, timeout: 60, ...opts }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
    if (control) control.stop = () => instance.stop();
  });
  const wallMs = Date.now() - started;
  clearInterval(sampler);
  const cpu = app.cpu() - cpuBefore;
  const sysAfter = systemJiffies();
  const cores = os.cpus().length;
  const sysBusyMs = ((sysAfter.busy - sysBefore.busy) / (sysAfter.total - sysBefore.total)) * cores * wallMs;
  const pgMs = postgresCpuMs() - pgBefore;
  const benchUsage = process.cpuUsage(benchBefore);
  const benchMs = (benchUsage.user + benchUsage.system) / 1000;
  await sleep(450); // let the counter file flush
  const argonAfter = app.argon2Calls();
  const r = {
    label,
    app: app.name,
    route,
    connections,
    durationS: round(wallMs / 1000, 1),
    reqPerSec: round(result.requests.total / (wallMs / 1000), 0),
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes: result.statusCodeStats,
    appCpuCores: round(cpu / wallMs, 2),
    benchCpuCores: round(benchMs / wallMs, 2),
    postgresCpuCores: round(Math.max(0, pgMs) / wallMs, 2),
    otherCpuCores: round(Math.max(0, sysBusyMs - cpu - benchMs - Math.max(0, pgMs)) / wallMs, 2),
    appCpuUsPerReq: result.requests.total ? round((cpu * 1000) / result.requests.total, 0) : null,
    appRssMaxMiB: round(rssMax, 1),
    argon2Verify: argonAfter.verify - argonBefore.verify,
    argon2Hash: argonAfter.hash - argonBefore.hash,
  };
  log(
    `${label}: ${r.reqPerSec} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms, ` +
      `errors ${r.errors}, non2xx ${r.non2xx}, cpu app/bench/pg/other ${r.appCpuCores}/${r.benchCpuCores}/${r.postgresCpuCores}/${r.otherCpuCores}, ` +
      `app ${r.appCpuUsPerReq} µs/req, argon2 verify ${r.argon2Verify}`,
  );
  return r;
}

/** The bare `@Public()` ping of the same app process: the baseline of every ratio. */
export const bare = (app, label = 'bare ping', opts = {}) => load(app, label, { path: PING, ...opts });

/**
 * Alternated pairs: for each of `pairs` rounds, every entry of `runs` gets a fresh baseline run
 * immediately before its own run. Returns, per entry, the pairs and the median of the per-pair ratios.
 */
export async function alternatedPairs(pairs, runs) {
  const out = Object.fromEntries(runs.map((r) => [r.key, { pairs: [] }]));
  for (let i = 0; i < pairs; i++) {
    for (const r of runs) {
      const base = await r.baseline(`${r.key} pair ${i + 1}/${pairs}: baseline`);
      const run = await r.run(`${r.key} pair ${i + 1}/${pairs}`);
      out[r.key].pairs.push({ base, run, ratio: r.ratio(run, base) });
    }
  }
  for (const r of runs) {
    const o = out[r.key];
    o.ratios = o.pairs.map((p) => round(p.ratio, 3));
    o.median = round(median(o.pairs.map((p) => p.ratio)), 3);
    o.medianReqPerSec = round(median(o.pairs.map((p) => p.run.reqPerSec)), 0);
    o.medianP99 = median(o.pairs.map((p) => p.run.p99));
    const us = (runs) => runs.map((x) => x.appCpuUsPerReq).filter((v) => typeof v === 'number');
    const runUs = us(o.pairs.map((p) => p.run));
    const baseUs = us(o.pairs.map((p) => p.base));
    o.medianCpuUs = runUs.length ? round(median(runUs), 0) : null;
    o.medianBaseCpuUs = baseUs.length ? round(median(baseUs), 0) : null;
    log(`${r.key}: median ratio ${o.median} (pairs: ${o.ratios.join(', ')})`);
  }
  return out;
}
