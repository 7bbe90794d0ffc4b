// `server-bench bench --backend hosts --hosts FILE`: the plan (made as the VM backend's, see
// hosts/flags.ts) run by the hosts backend on the machines of the file, then the same reports.
import { readFlags, BENCH_FLAGS } from '../../run/options.js';
import { makeRunPlan } from '../../run/plan.js';
import { runPlan } from '../../run/loop.js';
import { finishRun, interruptible } from '../../run/finish.js';
import { progressWriter } from '../progress.js';
import { readHostsFile } from '../../hosts/file.js';
import { hostsBackend } from '../../hosts/backend.js';
import type { HostsArgs } from '../../hosts/flags.js';

export function hostsBenchHelp(vmHelp: string): string {
  const flags = vmHelp.slice(vmHelp.indexOf('\n  --'));
  return `usage: server-bench bench --backend hosts --hosts FILE [flags]

Runs the cells on the machines of the hosts file (one per size; docs/hosts.md), each cell the same
CellSpec sent to k6test over SSH, its files pulled back over SFTP into reports/<run-id>. The
machines must be provisioned first (server-bench hosts check / hosts provision). Their facts (CPU,
cores, memory, kernel, virtualisation) are measured on them and recorded in run.json. The engine
defaults to wrk (Debian's); --image, --runner, --allow-tcg and --ssh-timeout are the VM backend's.
${flags.replace(/\n {2}--(image|allow-tcg|runner|ssh-timeout)\b[^\n]*(\n {4,}[^\n]*)*/g, '')}`;
}

export async function benchOnHosts(args: HostsArgs): Promise<number> {
  const file = readHostsFile(args.hostsFile as string);
  const plan = { ...(await makeRunPlan(readFlags('bench', args.argv, BENCH_FLAGS))), backend: 'hosts' as const };
  const stop = interruptible('stopping k6test on the machine', () => undefined);
  try {
    const outcome = await runPlan(plan, hostsBackend(file), progressWriter(), stop.signal);
    return await finishRun(outcome, { reportsDir: plan.reportsDir, json: plan.json, retryHint: 'run the command again for those cells' });
  } finally {
    stop.dispose();
  }
}
