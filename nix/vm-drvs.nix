# The runner table the flake's apps carry (SERVER_BENCH_VM_DRVS): for each size, the VM runner's
# derivation (.drv) and the program inside its output, not the built runner. Naming the output
# would make every app depend on every VM, so `nix run .#bench -- --sizes 1` built the 16-vCPU VM
# too. With the output dependency discarded the .drv is only instantiated, and the driver builds
# (nix-store --realise) just the sizes a command uses (driver/src/vm/runner-build.ts).
# Pure (builtins only): driver/test/vm/runner-build.test.ts builds it with stand-in VMs.
# vms: { "<size>" = <config.system.build.vm>; … }
vms:
builtins.toJSON (
  builtins.mapAttrs (name: vm: {
    drv = builtins.unsafeDiscardOutputDependency vm.drvPath;
    program = "bin/${vm.meta.mainProgram or "run-bench-${name}-vm"}";
  }) vms
)
