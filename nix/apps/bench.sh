# nix run .#bench -- [server-bench bench flags]: the whole matrix in NixOS VMs, one per size.
# flake.nix prepends SERVER_BENCH_VM_RUNNERS: JSON {"<size>": "<store path of run-bench-<size>-vm>"}.
exec server-bench bench --backend vm "$@"
