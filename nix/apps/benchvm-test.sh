# nix run .#benchvm-test -- [--size N] <impl> [k6test flags]: run k6test for one implementation in
# a VM started with `server-bench vm start --size N`, and copy its results back (the original's
# benchvm-test). flake.nix prepends SERVER_BENCH_VM_DRVS.
exec server-bench vm test "$@"
