// servers/nginx.ts: the nginx reference config, serving the generated site and its redirects.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginxVersion, renderNginxConfig } from '../../src/servers/nginx.js';
import { useSiteServers } from '../support/site-servers.js';

const env = useSiteServers();

describe('nginx reference', () => {
  it('reports its version and renders the reference settings', async () => {
    expect(await nginxVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(await nginxVersion('/nonexistent/nginx')).toBeNull();
    const conf = renderNginxConfig({ webroot: '/srv/site', redirects: [{ alias: 'go/1', target: 'https://e.org/$x' }], port: 8080, prefixDir: '/tmp/p' });
    for (const line of [
      'worker_processes 1;',
      'sendfile on;',
      'tcp_nopush on;',
      'access_log off;',
      'daemon off;',
      'master_process on;',
      'error_log /tmp/p/error.log warn;',
      'pid /tmp/p/nginx.pid;',
      'client_body_temp_path /tmp/p/client_body;',
      'listen 127.0.0.1:8080',
      'error_page 404 /404.html;',
      'image/webp webp;',
    ]) {
      expect(conf).toContain(line);
    }
    expect(conf).toContain('location = "/go/1" { return 301 "https://e.org/\\$x"; }');
    expect(conf).toContain('location = "/go/1/" { return 301 "https://e.org/\\$x"; }');
    expect(conf).not.toContain('/etc/nginx');
    // Every media type the gate expects is configured, so the reference passes it on any site.
    for (const line of ['text/html html htm;', 'image/jpeg jpg jpeg;', 'image/avif avif;', 'font/woff woff;', 'application/pdf pdf;'])
      expect(conf).toContain(line);
  });

  it('serves a post with and without the trailing slash (no /dir → /dir/ redirect), and aliases with both', async () => {
    const base = `http://127.0.0.1:${env.nginxPort}`;
    const want = readFileSync(join(env.site.dir, 'posts/post-001/index.html'), 'utf8');
    for (const p of ['/posts/post-001', '/posts/post-001/']) {
      const r = await fetch(`${base}${p}`, { redirect: 'manual' });
      expect([p, r.status]).toEqual([p, 200]);
      expect(await r.text()).toBe(want);
    }
    const r = await fetch(`${base}/${env.site.redirects[0]!.alias}/`, { redirect: 'manual' });
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe(env.site.redirects[0]!.target);
    const nf = await fetch(`${base}/nope`);
    expect(nf.status).toBe(404);
    expect(await nf.text()).toBe(readFileSync(join(env.site.dir, '404.html'), 'utf8'));
  });
});
