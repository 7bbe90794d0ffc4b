// `bench --backend hosts --hosts FILE`: the run is planned as the VM backend's (the same flags,
// defaults and checks: the cells run in a guest-like machine through k6test), with the VM-only
// flags refused and wrk as the default engine (the Debian bundle's machines have Debian's wrk).
import { UsageError } from '../errors.js';

export interface HostsArgs {
  /** The argv for readFlags: --backend vm, --hosts removed. */
  argv: string[];
  hostsFile: string | null;
}

const VM_ONLY = ['image', 'runner', 'allow-tcg', 'ssh-timeout'];

/** Null when the command line is not --backend hosts. */
export function hostsArgs(argv: readonly string[]): HostsArgs | null {
  const out: string[] = [];
  let hosts = false;
  let hostsFile: string | null = null;
  let engine = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.startsWith('--') ? (a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]) : [a, undefined];
    const value = () => (inline !== undefined ? inline : (argv[++i] ?? ''));
    if (flag === '--backend') {
      const v = value();
      if (v === 'hosts') hosts = true;
      out.push('--backend', v === 'hosts' ? 'vm' : v);
    } else if (flag === '--hosts') hostsFile = value();
    else {
      if (flag === '--engine') engine = true;
      out.push(a);
    }
  }
  if (!hosts) {
    if (hostsFile !== null) throw new UsageError('--hosts is taken by --backend hosts only', 'add --backend hosts');
    return null;
  }
  const vmOnly = argv.map((a) => a.replace(/=.*$/, '').slice(2)).filter((f) => VM_ONLY.includes(f));
  if (vmOnly.length > 0)
    throw new UsageError(`--${vmOnly[0]} is a VM flag, not taken by --backend hosts`, 'the machines of the hosts file run the cells; leave it out');
  if (hostsFile === null || hostsFile === '')
    throw new UsageError('--backend hosts needs --hosts FILE', 'name the hosts file (docs/hosts.md; server-bench hosts --help)');
  if (!engine) out.push('--engine', 'wrk');
  return { argv: out, hostsFile };
}
