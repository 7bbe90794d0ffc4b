// The nginx reference: the best a server can do on these cores (a worker per core, sendfile), serving the
// same site and the same redirects, run unprivileged from a scratch prefix. Its access log follows
// --server-logs: off when quiet; as shipped, one line per request to <prefix>/access.log in nginx's
// default combined format, as Debian's /etc/nginx/nginx.conf has it (access_log /var/log/nginx/access.log).
import { execFile } from 'node:child_process';
import type { Redirect } from '../contracts.js';
import { MEDIA_TYPES } from '../site/verify.js';

export interface NginxConfigOptions {
  webroot: string;
  redirects: Redirect[];
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  prefixDir: string;
  /** Worker processes (default 1); the local harness gives one per core of the cell (impls.ts). */
  workers?: number;
  /** nginx started as root switches its worker to "nobody"; keep root so it reads what we wrote. */
  runAsRoot?: boolean;
  /** Log each request to <prefix>/access.log (--server-logs shipped); default off. */
  accessLog?: boolean;
}

/** The gate's media types as nginx `types` entries: type → its extensions. */
function typesBlock(): string {
  const byType = new Map<string, string[]>();
  for (const [ext, type] of Object.entries(MEDIA_TYPES)) byType.set(type, [...(byType.get(type) ?? []), ext.slice(1)]);
  return [...byType].map(([type, exts]) => `    ${type} ${exts.join(' ')};`).join('\n');
}

function quote(s: string): string {
  return `"${s.replace(/["\\$]/g, (c) => `\\${c}`)}"`;
}

export function renderNginxConfig(o: NginxConfigOptions): string {
  const p = o.prefixDir;
  // gosherve trims "/" from both ends of the path before the lookup, so "/gh" and "/gh/" redirect.
  const redirects = o.redirects
    .map(
      (r) =>
        `    location = ${quote(`/${r.alias}`)} { return 301 ${quote(r.target)}; }\n    location = ${quote(`/${r.alias}/`)} { return 301 ${quote(r.target)}; }`,
    )
    .join('\n');
  return `# server-bench nginx reference (generated)
daemon off;
master_process on;
${o.runAsRoot ? 'user root root;\n' : ''}
worker_processes ${o.workers ?? 1};
pid ${p}/nginx.pid;
error_log ${p}/error.log warn;
events { worker_connections 4096; }
http {
  types {
${typesBlock()}
  }
  default_type application/octet-stream;
  charset utf-8;
  charset_types text/html text/css text/javascript application/xml text/plain;
  access_log ${o.accessLog ? `${p}/access.log` : 'off'};
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path ${p}/client_body;
  proxy_temp_path ${p}/proxy;
  fastcgi_temp_path ${p}/fastcgi;
  uwsgi_temp_path ${p}/uwsgi;
  scgi_temp_path ${p}/scgi;
  server {
    listen ${o.host ?? '127.0.0.1'}:${o.port} backlog=511;
    root ${quote(o.webroot)};
    etag on;
    add_header Cache-Control "public, max-age=31536000, must-revalidate";
    error_page 404 /404.html;
${redirects}
    location / {
      # "/dir" serves dir/index.html like gosherve instead of redirecting to "/dir/".
      try_files $uri $uri/index.html =404;
    }
  }
}
`;
}

export function nginxVersion(bin = 'nginx'): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(bin, ['-v'], (err, _out, stderr) => {
      if (err) return resolve(null);
      const m = /nginx\/(\S+)/.exec(stderr);
      resolve(m ? (m[1] as string) : 'unknown');
    });
  });
}
