# The machine sizes the flake builds one NixOS VM for, read from matrix/sizes.json (the single
# source driver/src/run/matrix-files.ts reads too). Pure (builtins only), so it evaluates anywhere:
# `nix-instantiate --eval --strict --json nix/sizes.nix`. The derived fields below are the same
# arithmetic as vmSizeOf in driver/src/run/matrix-files.ts (driver/test/nix.test.ts compares them).
let
  file = builtins.fromJSON (builtins.readFile ../matrix/sizes.json);
  inherit (file) guest;

  # loadgenCpus (k6's own vCPUs) is data in the JSON: 1, 1 and 4 (a quarter of the server's cores,
  # at least one). k6 spends ~88 µs of CPU per request, so four drive ~44k req/s at 16 vCPU, the
  # most the original post measured there (46.9k), while the 16-vCPU VM still fits a 24-thread
  # host. Beyond that k6 is the limit, and k6test reports it (loadgen-saturated).
  # The size's memory is the server unit's MemoryMax; the guest OS and k6 get theirs on top.
  mkSize =
    {
      name,
      cpus,
      memoryMiB,
      vus,
      loadgenCpus,
    }:
    {
      inherit
        name
        cpus
        memoryMiB
        vus
        loadgenCpus
        ;
      inherit (guest) diskSizeMiB;
      vmCores = cpus + loadgenCpus;
      vmMemoryMiB = memoryMiB + guest.osMemoryMiB + loadgenCpus * guest.loadgenMemoryMiBPerCpu;
      # The server unit runs on CPUs 0..cpus-1 (AllowedCPUs=); k6 on the vCPUs after them.
      serverCpuList = builtins.genList (i: i) cpus;
      loadgenCpuList = builtins.genList (i: cpus + i) loadgenCpus;
    };
in
builtins.listToAttrs (
  map (size: {
    inherit (size) name;
    value = mkSize size;
  }) file.sizes
)
