// Prometheus metrics. The request path only bumps plain numbers (no label lookups, no strings);
// prom-client reads them at scrape time through collect callbacks. With several workers the
// primary aggregates every worker's registry (counters summed, the defined-redirects gauge not).
import client from 'prom-client';

export const PREFIX = 'tsherve_';
const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Counters the request path updates. Status codes index a typed array. */
export class HotCounters {
  requests = 0;
  readonly status = new Float64Array(600);
  readonly redirects = new Map<string, number>();
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  durationSum = 0;
  durationCount = 0;

  countStatus(code: number): void {
    this.status[code]! += 1;
  }

  countRedirect(alias: string): void {
    this.redirects.set(alias, (this.redirects.get(alias) ?? 0) + 1);
  }

  /** Buckets are fixed at start-up; most answers take < 250 µs, so scanning up from the smallest
   *  bucket ends after one to three comparisons, with no label lookup or allocation. */
  observe(seconds: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.buckets[i]! += 1;
    this.durationSum += seconds;
    this.durationCount++;
  }
}

export interface MetricsSources {
  hot: HotCounters;
  redirectsDefined: () => number;
  refreshes: () => { ok: number; error: number; skipped: number };
}

/** Builds this process's registry over its hot counters. */
export function createRegistry(src: MetricsSources): client.Registry {
  const registry = new client.Registry();
  const { hot } = src;
  new client.Counter({
    name: `${PREFIX}requests_total`,
    help: 'Requests received on the site port',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(hot.requests);
    },
  });
  new client.Counter({
    name: `${PREFIX}response_status`,
    help: 'Responses by HTTP status code',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      this.reset();
      for (let code = 100; code < hot.status.length; code++) {
        const n = hot.status[code]!;
        if (n > 0) this.inc({ status: String(code) }, n);
      }
    },
  });
  new client.Counter({
    name: `${PREFIX}redirects_served`,
    help: 'Redirects served, by alias (defined aliases only)',
    labelNames: ['alias'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [alias, n] of hot.redirects) this.inc({ alias }, n);
    },
  });
  new client.Gauge({
    name: `${PREFIX}redirects_defined`,
    help: 'Redirects in the current map',
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.set(src.redirectsDefined());
    },
  });
  new client.Counter({
    name: `${PREFIX}redirect_map_refreshes_total`,
    help: 'Redirect map fetches by result (skipped: a miss inside the refresh interval)',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      const r = src.refreshes();
      this.inc({ result: 'ok' }, r.ok);
      this.inc({ result: 'error' }, r.error);
      this.inc({ result: 'skipped' }, r.skipped);
    },
  });
  registry.registerMetric(durationHistogram(hot));
  client.collectDefaultMetrics({ register: registry, prefix: PREFIX, eventLoopMonitoringPrecision: 10 });
  return registry;
}

/**
 * prom-client's Histogram cannot be loaded from precomputed buckets, so this small metric renders
 * the hot counters in prom-client's JSON shape (which the cluster aggregator also understands).
 */
function durationHistogram(hot: HotCounters): client.Metric {
  const name = `${PREFIX}request_duration_seconds`;
  const metric = {
    name,
    help: 'Time from request to response handed to the socket',
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += hot.buckets[i]!;
        values.push({ value: cumulative, labels: { le }, metricName: `${name}_bucket` });
      });
      cumulative += hot.buckets[DURATION_BUCKETS.length]!;
      values.push({ value: cumulative, labels: { le: '+Inf' }, metricName: `${name}_bucket` });
      values.push({ value: hot.durationSum, labels: {}, metricName: `${name}_sum` });
      values.push({ value: hot.durationCount, labels: {}, metricName: `${name}_count` });
      return { name, help: metric.help, type: 'histogram', aggregator: 'sum', values };
    },
    reset() {},
  };
  return metric as unknown as client.Metric;
}
