#!/usr/bin/env bash
# Test suite wall time, unit and integration parts separately (SPEC §7): RUNS runs of each jest
# project after one warm-up (jest's transform cache is warm, as on a developer's machine), plus
# the type-check gate. The integration part needs root and the packages .ci/run installs.
# Prints a Markdown table for docs/benchmarks.md.
#
#   npm run bench:tests            RUNS=3 by default
set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
cd "$ROOT"
die() { echo "bench/test-suite.sh: $*" >&2; exit 1; }
[[ -x node_modules/.bin/jest ]] || die "run npm ci first"
((EUID == 0)) || die "the integration part needs root (network namespaces)"

LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

# Runs a command quietly; on failure shows the end of its output (the failing test) and stops.
quietly() {
  "$@" >"$LOG" 2>&1 && return
  tail -n 60 "$LOG" >&2
  die "failed: $*"
}

# Runs a command RUNS times (after one untimed warm-up); prints "median min max" in seconds.
measure() {
  local i start end
  local -a times=()
  quietly "$@"
  for ((i = 0; i < RUNS; i++)); do
    start="$EPOCHREALTIME"
    quietly "$@"
    end="$EPOCHREALTIME"
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { printf "%.1f %.1f %.1f\n", t[int((NR + 1) / 2)], t[1], t[NR] }'
}

echo "| part | command | median s | min s | max s |"
echo "|---|---|---|---|---|"
for row in "type-check|node_modules/.bin/tsc -p ." \
  "unit|node_modules/.bin/jest --ci --selectProjects unit" \
  "integration|node_modules/.bin/jest --ci --selectProjects integration"; do
  name="${row%%|*}" cmd="${row#*|}"
  read -r -a argv <<<"$cmd"
  read -r median min max < <(measure "${argv[@]}")
  echo "| $name | \`${cmd#node_modules/.bin/}\` | $median | $min | $max |"
done
