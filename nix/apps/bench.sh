# nix run .#bench -- [server-bench bench flags]: the whole matrix in NixOS VMs, one per size.
# flake.nix prepends SERVER_BENCH_VM_DRVS: JSON {"<size>": {drv, program}}, each VM unbuilt; the
# driver builds only the sizes --sizes names (nix/vm-drvs.nix).
exec server-bench bench --backend vm "$@"
