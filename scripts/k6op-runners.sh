#!/usr/bin/env bash
# The k6-operator's runner pods without Kubernetes, for a machine that has k6 (the VM guests): reads
# a manifest from `server-bench k6-operator manifest`, writes its ConfigMap's files into OUTDIR/test
# (the pods' /test/), runs its P runners at once as the operator would (k6 run --quiet
# --execution-segment=(i-1)/P:i/P --execution-segment-sequence=0,1/P,…,1 <arguments> script.js, the
# runner env; pkg/segmentation and pkg/resources/jobs/runner.go of grafana/k6-operator), each
# runner's output into OUTDIR/<name>-<i>.log as `kubectl logs job/<name>-<i>` would give it, then
# merges those logs into one cell under OUTDIR/run with `server-bench k6-operator merge`.
#   scripts/k6op-runners.sh MANIFEST.json OUTDIR
# Needs k6, node and a built server-bench (npm run build). The load goes to the manifest's baseUrl
# only; each runner is stopped after its duration plus 120 s.
set -euo pipefail

case "${1:-}" in
  "" | -h | --help)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    [ -n "${1:-}" ] && exit 0
    exit 2
    ;;
esac
[ $# -eq 2 ] || {
  echo "k6op-runners: give MANIFEST.json and OUTDIR (see --help)" >&2
  exit 2
}
manifest=$1
out=$2
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v k6 > /dev/null || {
  echo "k6op-runners: k6 is not installed (run it where k6 is, e.g. in a VM guest)" >&2
  exit 4
}
mkdir -p "$out/test"
out="$(cd "$out" && pwd)"

# The manifest's facts, one per line: name, parallelism, arguments, size, impl, duration, then KEY=VALUE of the runner env.
# The ConfigMap's files go to OUTDIR/test, and TARGETS is pointed there instead of /test/.
facts="$(
  node - "$manifest" "$out/test" << 'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [file, dir] = process.argv.slice(2);
const m = JSON.parse(fs.readFileSync(file, 'utf8'));
const cm = m.items.find((i) => i.kind === 'ConfigMap');
const tr = m.items.find((i) => i.kind === 'TestRun');
if (!cm || !tr) throw new Error(`${file}: no ConfigMap and TestRun`);
for (const [k, v] of Object.entries(cm.data)) fs.writeFileSync(path.join(dir, k), v);
const env = Object.fromEntries((tr.spec.runner?.env ?? []).map((e) => [e.name, e.value.replace(/^\/test\//, `${dir}/`)]));
const labels = tr.metadata.labels ?? {};
const lines = [tr.metadata.name, tr.spec.parallelism, tr.spec.arguments ?? '', labels['server-bench/size'] ?? '1', labels['server-bench/impl'] ?? '', env.DURATION ?? '30s'];
for (const [k, v] of Object.entries(env)) lines.push(`${k}=${v}`);
process.stdout.write(`${lines.join('\n')}\n`);
EOF
)"
mapfile -t f <<< "$facts"
name=${f[0]}
p=${f[1]}
read -r -a arguments <<< "${f[2]}"
size=${f[3]}
impl=${f[4]}
duration=${f[5]%s}
env_args=()
for kv in "${f[@]:6}"; do env_args+=("$kv"); done
script="$out/test/$(node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.stdout.write(m.items.find((i)=>i.kind==="TestRun").spec.script.configMap.file||"test.js")' "$manifest")"

sequence=0
for ((i = 1; i < p; i++)); do sequence+=",$i/$p"; done
sequence+=",1"
part() { if [ "$1" -eq 0 ]; then echo 0; elif [ "$1" -eq "$p" ]; then echo 1; else echo "$1/$p"; fi; }

pids=()
logs=()
for ((i = 1; i <= p; i++)); do
  log="$out/$name-$i.log"
  logs+=("$log")
  # As the operator's runner Job: k6's usage report off, the env of spec.runner, no other K6_* leaking in.
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" "${env_args[@]}" \
    timeout --signal=INT --kill-after=10 "$((duration + 120))" \
    k6 run --quiet "--execution-segment=$(part $((i - 1))):$(part "$i")" "--execution-segment-sequence=$sequence" \
    "${arguments[@]}" "$script" --tag "instance_id=$i" --tag "testrun_name=$name" > "$log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "k6op-runners: runner $((i + 1)) failed; its log: ${logs[$i]}" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 5
node "$root/dist/driver/src/cli/main.js" k6-operator merge "${logs[@]}" --size "$size" ${impl:+--impl "$impl"} --out "$out/run"
