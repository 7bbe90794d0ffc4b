# The machine sizes the flake builds one NixOS VM for: a pure attribute set (no nixpkgs), so it
# evaluates anywhere: `nix-instantiate --eval --strict --json nix/sizes.nix`. It must agree with
# driver/src/sizes.ts DEFAULT_SIZES (driver/test/nix.test.ts compares the two).
let
  # k6 spends ~88 µs of CPU per request, so one core drives ~11k req/s (measurement.md). A quarter
  # of the server's cores (at least one) gives 1, 1 and 4 k6 vCPUs: ~44k req/s at 16 vCPU, the most
  # the original post measured there (46.9k), while the 16-vCPU VM still fits a 24-thread host.
  # Beyond that k6 is the limit, and k6test reports it (loadgen-saturated) instead of hiding it.
  loadgenCpusFor = cpus: if cpus < 4 then 1 else cpus / 4;

  # The guest OS (kernel, systemd, journald, sshd, the map server) and k6 need memory of their own;
  # the size's memory is the server unit's MemoryMax, as on a machine of that size behind a network.
  osMemoryMiB = 384;
  loadgenMemoryMiBPerCpu = 256;

  mkSize =
    {
      name,
      cpus,
      memoryMiB,
      vus,
      loadgenCpus ? loadgenCpusFor cpus,
      # Root disk (qcow2, sparse): the ~40 MB site copy, the journal and k6test's output.
      diskSizeMiB ? 2048,
    }:
    {
      inherit
        name
        cpus
        memoryMiB
        vus
        loadgenCpus
        diskSizeMiB
        ;
      vmCores = cpus + loadgenCpus;
      vmMemoryMiB = memoryMiB + osMemoryMiB + loadgenCpus * loadgenMemoryMiBPerCpu;
      # The server unit runs on CPUs 0..cpus-1 (AllowedCPUs=); k6 on the vCPUs after them.
      serverCpuList = builtins.genList (i: i) cpus;
      loadgenCpuList = builtins.genList (i: cpus + i) loadgenCpus;
    };
in
{
  "1" = mkSize {
    name = "1";
    cpus = 1;
    memoryMiB = 256;
    vus = 1;
  };
  "2" = mkSize {
    name = "2";
    cpus = 2;
    memoryMiB = 4096;
    vus = 10;
  };
  "16" = mkSize {
    name = "16";
    cpus = 16;
    memoryMiB = 16384;
    vus = 10;
  };
}
