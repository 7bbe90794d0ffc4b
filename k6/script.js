// server-bench's k6 workload, the original benchmark's shape: each VU loops over one http.batch
// GET of every crawled path plus every redirect alias (redirects not followed), and checks that
// each answer is 200, 301 or 308. Offline by design: no remote imports, no jslib.
//
// Environment (k6 -e KEY=VALUE):
//   TARGETS      absolute path of a JSON file { baseUrl, paths: string[], redirects: {alias,target}[] }
//   SUMMARY_DIR  existing folder that receives summary.json (k6 does not create it)
//   SUMMARY_STDOUT  "1": instead of the file, one stdout line "server-bench-summary-json {…}" (the
//                k6-operator's runner pods: their logs are what is left of them; k6-operator merge reads it)
//   VUS          virtual users (default 1)
//   DURATION     k6 duration string, e.g. "30s" (default 30s)
//
// Per-status counts: k6's summary has none, so every status code seen is added to a Counter
// named status_<code> (status_0 = the request never got an answer); codes outside the list
// below land in status_other. Metrics must be declared in the init context, hence the fixed list.
// The driver's parser (driver/src/k6summary.ts) turns these counters into statusCounts.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const KNOWN_STATUSES = [0, 200, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 410, 429, 500, 502, 503, 504];

function fail(message) {
  throw new Error(`server-bench k6 script: ${message}`);
}

function loadTargets() {
  const file = __ENV.TARGETS;
  if (!file) fail('TARGETS is not set (k6 run -e TARGETS=/path/to/targets.json ...)');
  let parsed;
  try {
    parsed = JSON.parse(open(file));
  } catch (e) {
    fail(`cannot read targets from ${file}: ${e}`);
  }
  if (!parsed || typeof parsed.baseUrl !== 'string') fail(`${file}: "baseUrl" must be a string`);
  if (!Array.isArray(parsed.paths)) fail(`${file}: "paths" must be an array`);
  if (!Array.isArray(parsed.redirects)) fail(`${file}: "redirects" must be an array`);
  if (parsed.paths.length + parsed.redirects.length === 0) fail(`${file}: no paths and no aliases`);
  return parsed;
}

function positiveInt(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

const targets = loadTargets();
const base = targets.baseUrl.replace(/\/+$/, '');

// Tag by kind rather than by URL so the summary can be split into assets and aliases later
// (a threshold on http_req_duration{name:alias} surfaces it) without one series per URL.
const assetParams = { redirects: 0, tags: { name: 'asset' } };
const aliasParams = { redirects: 0, tags: { name: 'alias' } };
const requests = [];
for (const path of targets.paths) requests.push(['GET', base + path, null, assetParams]);
for (const r of targets.redirects) requests.push(['GET', `${base}/${r.alias}`, null, aliasParams]);

const statusCounters = {};
for (const code of KNOWN_STATUSES) statusCounters[code] = new Counter(`status_${code}`);
const otherStatus = new Counter('status_other');

export const options = {
  vus: positiveInt('VUS', 1),
  duration: __ENV.DURATION || '30s',
  // k6's default per-host parallelism inside one batch; the wrk engine mirrors it with VUs × 6
  // connections.
  batchPerHost: 6,
  // Bodies are counted in data_received either way; keeping them as JS strings would make k6,
  // not the server, the bottleneck on a site that is 90 % images.
  discardResponseBodies: true,
  // Every statistic the driver reports, asked for by name: k6 writes exactly these, and the driver
  // never fills a missing one from another (driver/src/k6summary.ts). p(50) is med under its
  // percentile name, so the summary says outright which median it holds.
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

const statusCheck = {
  'status is 200, 301 or 308': (r) => r.status === 200 || r.status === 301 || r.status === 308,
};

export default function () {
  const responses = http.batch(requests);
  // One counter sample per status per iteration, not per response: cheaper for k6.
  const seen = {};
  for (let i = 0; i < responses.length; i++) {
    const status = responses[i].status;
    seen[status] = (seen[status] || 0) + 1;
    check(responses[i], statusCheck);
  }
  for (const code of Object.keys(seen)) {
    const counter = statusCounters[code];
    if (counter) counter.add(seen[code]);
    else otherStatus.add(seen[code], { status: code });
  }
}

export function handleSummary(data) {
  const dir = __ENV.SUMMARY_DIR || '.';
  let line;
  // Never throw here: a throwing handleSummary makes k6 skip our file.
  try {
    // Legacy shape: metrics is a map; the opt-in machine-readable one has results.metrics[].
    const list = data.results && Array.isArray(data.results.metrics) ? data.results.metrics : null;
    const metric = (name) => (list ? list.find((x) => x.name === name) : (data.metrics || {})[name]);
    const reqs = metric('http_reqs') ? metric('http_reqs').values.count : 0;
    let failed = 0;
    if (list) for (const c of (data.results.checks && data.results.checks.results) || []) failed += c.fails;
    else if (metric('checks')) failed = metric('checks').values.fails;
    line = `server-bench: ${reqs} requests, ${failed} failed checks`;
  } catch (e) {
    line = `server-bench: k6 finished (summary line unavailable: ${e})`;
  }
  if (__ENV.SUMMARY_STDOUT === '1') return { stdout: `${line}\nserver-bench-summary-json ${JSON.stringify(data)}\n` };
  return {
    [`${dir}/summary.json`]: JSON.stringify(data),
    stdout: `${line}\n`,
  };
}
