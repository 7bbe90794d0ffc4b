#!/usr/bin/env bash
# The fixed-output hash of the npm runtime dependencies (packages.npm-deps in flake.nix): runs the
# same `npm ci --omit=dev --ignore-scripts` as the Nix build, in a scratch copy of package.json and
# package-lock.json, drops node_modules/.package-lock.json and empty folders, and prints the
# tree's NAR hash.
#   scripts/npm-deps-hash.sh           print the hash
#   scripts/npm-deps-hash.sh --check   exit 1 when nix/npm-deps.json is stale (CI)
#   scripts/npm-deps-hash.sh --write   store the hash in nix/npm-deps.json
# Needs npm and `nix` (Debian nix-bin is enough: only `nix hash path` runs, with no store access).
set -euo pipefail

mode="print"
case "${1:-}" in
  "") ;;
  --check) mode="check" ;;
  --write) mode="write" ;;
  -h | --help)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "npm-deps-hash: unknown argument '$1' (use --check, --write or nothing)" >&2
    exit 2
    ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
json="$repo/nix/npm-deps.json"
for tool in npm nix node; do
  command -v "$tool" >/dev/null || {
    echo "npm-deps-hash: '$tool' not found (install npm and Nix; on Debian: apt-get install nix-bin)" >&2
    exit 2
  }
done

# A lock with `resolved` URLs would name a registry host in the repository: refuse it.
if grep -q '"resolved":' "$repo/package-lock.json"; then
  echo "npm-deps-hash: package-lock.json has \"resolved\" URLs; regenerate it with npm's omit-lockfile-registry-resolved=true" >&2
  exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$repo/package.json" "$repo/package-lock.json" "$scratch/"
(
  cd "$scratch"
  export HOME="$scratch" npm_config_cache="$scratch/npm-cache" npm_config_update_notifier=false
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
  rm -f node_modules/.package-lock.json
  # As in nix/packages.nix: npm 10 leaves empty scope folders for omitted dev packages.
  find node_modules -type d -empty -delete
)

# Nix must not reach for a store or a cache for this: every fetch dies on loopback.
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9
hash=$(nix --extra-experimental-features nix-command hash path --type sha256 --sri "$scratch/node_modules")

committed=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).hash)' "$json")
case "$mode" in
  print) echo "$hash" ;;
  check)
    if [ "$hash" != "$committed" ]; then
      echo "npm-deps-hash: nix/npm-deps.json has $committed but package-lock.json gives $hash; run scripts/npm-deps-hash.sh --write" >&2
      exit 1
    fi
    echo "npm-deps-hash: nix/npm-deps.json matches package-lock.json ($hash)"
    ;;
  write)
    node -e '
      const fs = require("fs");
      const [file, hash] = process.argv.slice(1);
      const data = JSON.parse(fs.readFileSync(file, "utf8"));
      data.hash = hash;
      fs.writeFileSync(file, JSON.stringify(data, null, 2) + "\n");
    ' "$json" "$hash"
    echo "npm-deps-hash: wrote $hash to nix/npm-deps.json"
    ;;
esac
