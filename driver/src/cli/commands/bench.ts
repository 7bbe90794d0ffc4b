// `server-bench bench [--backend local|vm]`, the one front door for both backends: the command line
// → a RunPlan (run/plan.ts) → the one loop (run/loop.ts) driving the local backend or the VM
// backend → the reports (run/finish.ts). --help is rendered from the flag table for the backend asked.
import { basename } from 'node:path';
import { ExitCode, reportError } from '../../errors.js';
import { assertFreshBuild } from '../freshness.js';
import { repoRoot } from '../../servers/registry.js';
import { progressWriter } from '../progress.js';
import { killLocalNow, LOCAL_STOPPING, localBackend } from '../../run/local-backend.js';
import { runPlan, type Backend } from '../../run/loop.js';
import { BENCH_FLAGS, readFlags, renderFlagHelp, type BackendName } from '../../run/options.js';
import { makeRunPlan } from '../../run/plan.js';
import { finishRun, interruptible } from '../../run/finish.js';
import { killVmsNow, VM_STOPPING, vmBackend } from '../../vm/backend.js';
import { benchOnHosts, hostsBenchHelp } from './bench-hosts.js';
import { hostsArgs } from '../../hosts/flags.js';

export function benchHelp(backend: BackendName): string {
  if (backend === 'vm') {
    return `usage: server-bench bench --backend vm [flags]

Boots one VM per size (NixOS: under nix run .#bench only the sizes asked for are built;
--image debian: built here from Debian packages, see server-bench vm image --help), runs
k6test for every implementation × repetition over SSH and pulls the results into reports/<run-id>.
The VMs serve the generated default site, so --webroot, --redirects, --site-size, --seed and
--resume are the local backend's, as is --connections (the VMs run k6). The VM units run every
server as shipped (--server-logs shipped; quiet runs locally only).

${renderFlagHelp(BENCH_FLAGS, 'vm')}`;
  }
  return `usage: server-bench bench [flags]

${renderFlagHelp(BENCH_FLAGS, 'local')}
Needs wrk (apt-get install -y wrk) or k6. gosherve comes from SERVER_BENCH_GOSHERVE_BIN (v0.3.5),
SERVER_BENCH_GOSHERVE_OLD_BIN (v0.3.3) or SERVER_BENCH_GOSHERVE_BIN_<TAG>, else the cache
$SERVER_BENCH_CACHE (default ~/.cache/server-bench), else go install; see server-bench prepare.
servy comes from SERVER_BENCH_SERVY_BIN (a binary built for the site under test), else the checkout
SERVER_BENCH_SERVY_CHECKOUT, built with cargo for each site (or give servy@./checkout).
--profile needs Linux perf (apt-get install -y linux-perf) and root, or kernel.perf_event_paranoid <= 1.
`;
}

export async function main(argv: string[]): Promise<number> {
  try {
    // --backend hosts: planned as the VM backend's, run on the machines of the hosts file.
    const hosts = hostsArgs(argv);
    if (hosts && (argv.includes('--help') || argv.includes('-h'))) {
      process.stdout.write(hostsBenchHelp(benchHelp('vm')));
      return ExitCode.ok;
    }
    if (hosts) return await benchOnHosts(hosts);
    const raw = readFlags('bench', argv, BENCH_FLAGS);
    if (raw.help) {
      process.stdout.write(benchHelp(raw.text.backend === 'vm' ? 'vm' : 'local'));
      return ExitCode.ok;
    }
    // A user who edits tsherve measures what they edited: refuse a build older than its sources.
    if (raw.text.backend !== 'vm') assertFreshBuild(repoRoot());
    const plan = await makeRunPlan(raw);
    const how: { backend: Backend; stopping: string; killNow: () => void; retryHint: string } =
      plan.backend === 'vm'
        ? { backend: vmBackend(), stopping: VM_STOPPING, killNow: killVmsNow, retryHint: 'run the command again for those cells' }
        : {
            backend: localBackend(),
            stopping: LOCAL_STOPPING,
            killNow: killLocalNow,
            retryHint: `server-bench bench --resume ${basename(plan.runDir)} runs them again`,
          };
    const stop = interruptible(how.stopping, how.killNow);
    try {
      const outcome = await runPlan(plan, how.backend, progressWriter(), stop.signal);
      const requested = plan.vm.implsGiven ? plan.impls.map((i) => i.name) : null;
      return await finishRun(outcome, { reportsDir: plan.reportsDir, json: plan.json, retryHint: how.retryHint, requested });
    } finally {
      stop.dispose();
    }
  } catch (err) {
    return reportError(err);
  }
}
