// Metrics after a known sequence of requests, for one worker and summed over two.
import { afterEach, describe, expect, it } from 'vitest';
import { get, makeSite, metrics, metricValue, startMapSource, startTsherve, workersInLog, type MapSource, type Tsherve } from './helpers.js';

let map: MapSource | undefined;
let ts: Tsherve | undefined;
afterEach(async () => {
  await ts?.stop();
  await map?.close();
  ts = undefined;
  map = undefined;
});

async function sequence(base: string): Promise<void> {
  for (let i = 0; i < 3; i++) expect((await get(base, '/')).status).toBe(200);
  for (let i = 0; i < 2; i++) expect((await get(base, '/gh')).status).toBe(301);
  expect((await get(base, '/docs/')).status).toBe(301);
  expect((await get(base, '/missing')).status).toBe(404);
  expect((await get(base, '/', { method: 'POST' })).status).toBe(405);
}

describe('metrics', () => {
  it('counts exactly after a known sequence (one worker)', async () => {
    map = await startMapSource('gh https://github.com/\ndocs https://example.org/docs\n');
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WEBROOT: makeSite().root });
    await sequence(ts.base);
    const m = await metrics(ts.metricsPort);
    expect(metricValue(m, 'tsherve_requests_total')).toBe(8);
    expect(metricValue(m, 'tsherve_response_status{status="200"}')).toBe(3);
    expect(metricValue(m, 'tsherve_response_status{status="301"}')).toBe(3);
    expect(metricValue(m, 'tsherve_response_status{status="404"}')).toBe(1);
    expect(metricValue(m, 'tsherve_response_status{status="405"}')).toBe(1);
    expect(metricValue(m, 'tsherve_redirects_served{alias="gh"}')).toBe(2);
    expect(metricValue(m, 'tsherve_redirects_served{alias="docs"}')).toBe(1);
    expect(m).not.toContain('alias="missing"');
    expect(metricValue(m, 'tsherve_redirects_defined')).toBe(2);
    expect(metricValue(m, 'tsherve_request_duration_seconds_count')).toBe(8);
    expect(metricValue(m, 'tsherve_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m).toContain('tsherve_process_cpu_seconds_total');
    expect(m).toContain('tsherve_nodejs_eventloop_lag_seconds');
    // The site port does not serve metrics, and the metrics port serves nothing else.
    expect((await get(ts.base, '/metrics')).status).toBe(404);
    expect((await get(`http://127.0.0.1:${ts.metricsPort}`, '/')).status).toBe(404);
  });

  it('sums counters over two workers, without multiplying the defined gauge', async () => {
    map = await startMapSource('gh https://github.com/\ndocs https://example.org/docs\n');
    // debug: each request line names its worker, to show both workers took part.
    ts = await startTsherve({ TSHERVE_REDIRECT_MAP_URL: map.url, TSHERVE_WEBROOT: makeSite().root, TSHERVE_WORKERS: '2', TSHERVE_LOG_LEVEL: 'debug' });
    // Separate connections spread over both workers.
    await sequence(ts.base);
    await sequence(ts.base);
    const m = await metrics(ts.metricsPort);
    expect(metricValue(m, 'tsherve_requests_total')).toBe(16);
    expect(metricValue(m, 'tsherve_response_status{status="200"}')).toBe(6);
    expect(metricValue(m, 'tsherve_redirects_served{alias="gh"}')).toBe(4);
    expect(metricValue(m, 'tsherve_redirects_defined')).toBe(2);
    expect(metricValue(m, 'tsherve_request_duration_seconds_count')).toBe(16);
    // Runtime figures cover both workers and the primary.
    expect(m).toContain('Resident memory, bytes (summed over 3 processes)');
    const workers = workersInLog(ts.stdout());
    expect(workers.size).toBe(2);
  });
});
