# A real machine's size record for nix/bench-units.nix: the size table's record (nix/sizes.nix,
# memory and VUs) with the machine's own server and load-generator cores in place of the VM's.
# Pure (builtins only): `nix-instantiate --eval --strict --json -E 'import ./nix/host-size.nix {
# size = "2"; serverCpus = [ 2 3 ]; generatorCpus = [ 0 ]; }'`. Throws one line on a core list
# that does not fit the size.
{
  size,
  serverCpus,
  generatorCpus,
  sizes ? import ./sizes.nix,
}:
let
  base =
    sizes.${size}
      or (throw "server-bench: no size \"${size}\" (sizes: ${builtins.concatStringsSep ", " (builtins.attrNames sizes)}); fix serverBench.host.size");
  shared = builtins.filter (c: builtins.elem c serverCpus) generatorCpus;
in
if builtins.length serverCpus != base.cpus then
  throw "server-bench: serverBench.host.serverCpus has ${toString (builtins.length serverCpus)} core(s); size ${size} needs exactly ${toString base.cpus}"
else if generatorCpus == [ ] then
  throw "server-bench: serverBench.host.generatorCpus is empty; give the load generator at least one core of its own"
else if shared != [ ] then
  throw "server-bench: serverBench.host.generatorCpus shares core(s) ${builtins.concatStringsSep ", " (map toString shared)} with serverCpus; give the load generator cores of its own"
else
  base
  // {
    serverCpuList = serverCpus;
    loadgenCpuList = generatorCpus;
    loadgenCpus = builtins.length generatorCpus;
    # Not a VM: the whole machine.
    vmCores = base.cpus + builtins.length generatorCpus;
  }
