#!/usr/bin/env bun
// tsherve-bun: tsherve served by Bun (runtime-bun.ts). The same command line, settings and
// behaviour as tsherve; only TSHERVE_RUNTIME's default differs (bun), so a `node cli-bun.js` still
// ends up under Bun (relaunch.ts) and `tsherve-bun --runtime node` under Node.
process.env.TSHERVE_RUNTIME ??= 'bun';
await import('./cli.js');
