#!/usr/bin/env bash
# The offline checks of the Nix files that need no nixpkgs, for CI and by hand:
#   1. every .nix file in the repository parses (nix-instantiate --parse);
#   2. the pure files evaluate (nix/sizes.nix, nix/guest-paths.nix, nix/impls.nix and
#      nix/vm-drvs.nix with stand-ins) — they read matrix/*.json, so a broken JSON shows here;
#   3. every .nix file is formatted as checks.nixfmt wants (nixfmt --check), when nixfmt is
#      installed. Debian has no nixfmt package; without one this part says SKIPPED (not passed),
#      and --require-nixfmt makes that a failure.
#   scripts/check-nix.sh [--require-nixfmt]
# Needs nix-instantiate (Debian nix-bin). Every fetch Nix might try dies on loopback.
set -euo pipefail

require_nixfmt=0
case "${1:-}" in
  "") ;;
  --require-nixfmt) require_nixfmt=1 ;;
  -h | --help)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "check-nix: unknown argument '$1' (use --require-nixfmt or nothing)" >&2
    exit 2
    ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
command -v nix-instantiate >/dev/null || {
  echo "check-nix: nix-instantiate not found; install Debian's nix-bin" >&2
  exit 2
}
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9
nixopts=(--option substituters '')

mapfile -t files < <(find . \( -name node_modules -o -name .git -o -name dist -o -name reports \) -prune -o -name '*.nix' -type f -print | sed 's|^\./||' | sort)
failed=0

for f in "${files[@]}"; do
  if ! out=$(nix-instantiate "${nixopts[@]}" --parse "$f" 2>&1 >/dev/null); then
    echo "check-nix: $f does not parse: $(grep -v "build-users-group" <<<"$out" | head -n 3)" >&2
    failed=1
  fi
done
echo "check-nix: parse: ${#files[@]} files"

# Nix expressions: their ${…} are Nix's, not the shell's.
# shellcheck disable=SC2016
stand_in_vm='size: (derivation { name = "vm-${size}"; system = "x86_64-linux"; builder = "/bin/false"; }) // { meta.mainProgram = "run-bench-${size}-vm"; }'
# shellcheck disable=SC2016
declare -A exprs=(
  [nix/sizes.nix]='import ./nix/sizes.nix'
  [nix/guest-paths.nix]='import ./nix/guest-paths.nix'
  [nix/impls.nix]='builtins.mapAttrs (s: _: import ./nix/impls.nix {
    packages = { tsherve = "/p/tsherve"; gosherve = "/p/gosherve"; gosherve-old = "/p/gosherve-old"; servy = "/p/servy"; tsherve-bun = "/p/tsherve-bun"; nginx = "/p/nginx"; };
    size = (import ./nix/sizes.nix).${s}; webroot = "/w"; mapUrl = "http://127.0.0.1:1/m"; nginxConf = "/p/nginx.conf";
  }) (import ./nix/sizes.nix)'
  [nix/vm-drvs.nix]="let vm = $stand_in_vm; in import ./nix/vm-drvs.nix (builtins.mapAttrs (s: _: vm s) (import ./nix/sizes.nix))"
)
for f in nix/sizes.nix nix/guest-paths.nix nix/impls.nix nix/vm-drvs.nix; do
  # --readonly-mode: the stand-in derivations are not written to any store.
  if ! out=$(nix-instantiate "${nixopts[@]}" --readonly-mode --eval --strict --json -E "${exprs[$f]}" 2>&1 >/dev/null); then
    echo "check-nix: $f does not evaluate: $(grep -v "build-users-group" <<<"$out" | head -n 3)" >&2
    failed=1
  fi
done
echo "check-nix: evaluate: ${#exprs[@]} pure files"

if command -v nixfmt >/dev/null; then
  if nixfmt --check "${files[@]}"; then
    echo "check-nix: nixfmt: ${#files[@]} files formatted ($(nixfmt --version 2>&1 | head -n 1))"
  else
    echo "check-nix: nixfmt: files above are not formatted; run nix fmt (or nixfmt on them) and commit" >&2
    failed=1
  fi
elif [ "$require_nixfmt" = 1 ]; then
  echo "check-nix: nixfmt not installed but --require-nixfmt given (nix shell nixpkgs#nixfmt-rfc-style)" >&2
  failed=1
else
  echo "check-nix: nixfmt: SKIPPED (not installed; checks.nixfmt in the flake runs it)"
fi

if [ "$failed" != 0 ]; then
  exit 1
fi
echo "check-nix: ok"
