#!/usr/bin/env bash
# CI prerequisites of bench --profile's tests (driver/test/profile*.test.ts): Linux perf from
# Debian's linux-perf (perf record/script; the tests run as root, which perf needs for kernel
# frames) and Go (go tool pprof reads the written profile.proto; .ci/run already needs Go for
# gosherve). Call it from .ci/run after apt-get update, as root.
set -euo pipefail
if [ "$(id -u)" = 0 ] && ! command -v perf >/dev/null; then
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 linux-perf >/dev/null
fi
command -v perf >/dev/null || { echo "profile-deps: perf is missing (apt-get install -y linux-perf)" >&2; exit 1; }
perf --version
