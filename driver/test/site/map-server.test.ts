// site/map-server.ts: the redirect map's host during a run (serving, counting fetches, resets).
import { describe, expect, it } from 'vitest';
import { startMapServer } from '../../src/site/map-server.js';
import { useSiteServers } from '../support/site-servers.js';

const env = useSiteServers();

describe('map server', () => {
  it('serves the map whatever the query string, counts fetches, resets and swaps text', async () => {
    env.map.resetFetches();
    const a = await fetch(`${env.map.url}?cachebust=1732000000`).then((r) => r.text());
    const b = await fetch(env.map.url).then((r) => ({ status: r.status, type: r.headers.get('content-type') }));
    expect(a).toBe(env.site.redirectsText);
    expect(b).toEqual({ status: 200, type: 'text/plain; charset=utf-8' });
    expect(env.map.fetches()).toBe(2);
    const other = await fetch(env.map.url.replace('/redirects.txt', '/other')).then((r) => r.status);
    expect(other).toBe(404);
    expect(env.map.fetches()).toBe(2);
    env.map.setText('gh https://e.org/\n');
    expect(await fetch(env.map.url).then((r) => r.text())).toBe('gh https://e.org/\n');
    env.map.setText(env.site.redirectsText);
    env.map.resetFetches();
    expect(env.map.fetches()).toBe(0);
  });

  it('names the cause when it cannot listen', async () => {
    const port = Number(new URL(env.map.url).port);
    await expect(startMapServer({ text: '', port })).rejects.toThrow(`the redirect map server cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
  });

  it('answers a burst of 200 concurrent fetches (normal listen backlog), counting each', async () => {
    env.map.resetFetches();
    const statuses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => fetch(`${env.map.url}?cachebust=${i}`).then(async (r) => (await r.text(), r.status))),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(env.map.fetches()).toBe(200);
  });
});
