#!/usr/bin/env bash
# Synth benchmark: cold synth of every environment (output directory removed before each run),
# this project's way (tsx + deep provider imports) side by side with the same app run the way
# `cdktf init` sets it up (ts-node + `import * as aws from "@cdktf/provider-aws"`), in one run.
# Wall time: hyperfine (median of RUNS after one warm-up). Peak RSS: GNU time %M around every
# timed run (max over the process tree), median. Prints a Markdown table for docs/benchmarks.md.
#
#   npm run bench:synth            RUNS=5 by default
#   RUNS=10 bash bench/synth.sh
set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"
RESULTS_DIR="$ROOT/bench/results"
die() { echo "bench/synth.sh: $*" >&2; exit 1; }
command -v hyperfine >/dev/null || die "hyperfine is missing (apt-get install hyperfine)"
[[ -x /usr/bin/time ]] || die "GNU time is missing (apt-get install time)"
[[ -x "$ROOT/node_modules/.bin/ts-node" && -x "$ROOT/node_modules/.bin/cdktf" ]] || die "run npm ci first (ts-node, cdktf-cli)"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Snapshots of the app: both variants run the same code even if the work tree changes meanwhile.
DEEP="$WORK/deep" BARREL="$WORK/barrel"
"$ROOT/node_modules/.bin/tsx" "$ROOT/bench/copy-app.ts" "$DEEP"
"$ROOT/node_modules/.bin/tsx" "$ROOT/bench/copy-app.ts" "$BARREL" --barrel
mkdir -p "$RESULTS_DIR"
export CHECKPOINT_DISABLE=1 CI=true   # no HashiCorp version check, no CLI spinner

# name | directory | output directory option | command
VARIANTS=(
  "tsx, deep imports (npm run synth: this project)|$DEEP|--outdir|node_modules/.bin/tsx main.ts --quiet"
  "ts-node, deep imports|$DEEP|--outdir|node_modules/.bin/ts-node main.ts --quiet"
  "tsx, barrel import|$BARREL|--outdir|node_modules/.bin/tsx main.ts --quiet"
  "ts-node, barrel import (cdktf init's app)|$BARREL|--outdir|node_modules/.bin/ts-node main.ts --quiet"
  "cdktf synth -> tsx, deep imports (cdktf.json)|$DEEP|--output|node_modules/.bin/cdktf synth"
  "cdktf synth -> npx ts-node, barrel (cdktf init)|$BARREL|--output|node_modules/.bin/cdktf synth"
)

json_rows=()
for i in "${!VARIANTS[@]}"; do
  IFS='|' read -r name dir flag cmd <<<"${VARIANTS[$i]}"
  out="$WORK/out-$i"
  rss="$WORK/rss-$i"
  echo "== $name" >&2
  ( cd "$dir" && hyperfine -S none --style basic --warmup 1 --runs "$RUNS" --prepare "rm -rf $out" \
      --export-json "$WORK/time-$i.json" "/usr/bin/time -f %M -a -o $rss $cmd $flag $out" >&2 )
  for env_dir in "$out"/stacks/*; do
    cmp -s "$env_dir/cdk.tf.json" "$WORK/out-0/stacks/$(basename "$env_dir")/cdk.tf.json" \
      || die "$name: $(basename "$env_dir") differs from the first variant's output"
  done
  json_rows+=("{\"name\": \"$name\", \"command\": \"$cmd\", \"time\": \"$WORK/time-$i.json\", \"rss\": \"$WORK/rss-$i\"}")
done

rows_json="[$(IFS=,; echo "${json_rows[*]}")]"
node - "$rows_json" "$RUNS" "$RESULTS_DIR/synth.json" <<'NODE'
const fs = require("node:fs");
const [rowsJson, runs, resultFile] = process.argv.slice(2);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const rows = JSON.parse(rowsJson).map((r) => {
  const result = JSON.parse(fs.readFileSync(r.time, "utf8")).results[0];
  const times = result.times;
  // The RSS file has the warm-up's line first: keep the timed runs.
  const rss = fs.readFileSync(r.rss, "utf8").trim().split("\n").map(Number).slice(-times.length);
  return { name: r.name, command: r.command, seconds: median(times), min: Math.min(...times), max: Math.max(...times), cpuSeconds: result.user + result.system, rssMiB: median(rss) / 1024 };
});
const base = rows[0];
const lines = [
  `| how the app runs | wall s, median (min-max) | CPU s (user+sys, mean) | peak RSS MiB, median | time vs this project | memory vs this project |`,
  `|---|---|---|---|---|---|`,
  ...rows.map((r) => `| ${r.name} | ${r.seconds.toFixed(2)} (${r.min.toFixed(2)}-${r.max.toFixed(2)}) | ${r.cpuSeconds.toFixed(2)} | ${Math.round(r.rssMiB)} | ${(r.seconds / base.seconds).toFixed(1)}x | ${(r.rssMiB / base.rssMiB).toFixed(1)}x |`),
];
const baseline = rows.find((r) => r.name.startsWith("ts-node, barrel"));
lines.push("", `cdktf init's app (ts-node + barrel) vs this project: ${(baseline.seconds / base.seconds).toFixed(1)}x the wall time, ${(baseline.cpuSeconds / base.cpuSeconds).toFixed(1)}x the CPU time, ${(baseline.rssMiB / base.rssMiB).toFixed(1)}x the peak memory (${runs} runs each after one warm-up).`);
fs.writeFileSync(resultFile, JSON.stringify({ runs: Number(runs), rows }, null, 2) + "\n");
process.stdout.write(lines.join("\n") + "\n");
NODE
