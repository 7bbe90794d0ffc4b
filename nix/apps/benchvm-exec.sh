# nix run .#benchvm-exec -- [--size N] -- <command>: run a command as root in a VM started with
# `server-bench vm start --size N`, over SSH with the run's key (the original's benchvm-exec).
# flake.nix prepends SERVER_BENCH_VM_DRVS.
exec server-bench vm exec "$@"
