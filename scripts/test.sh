#!/usr/bin/env bash
# The whole test suite: builds, makes sure the local real services answer (starting them
# with the project's own scripts if needed; a no-op when they already run), then runs every
# test file of the repository with node's test runner: first all ordinary files, two at a
# time; then, one at a time, the disruptive ones (`*.disruptive.test.ts`, which stop and
# restart a shared service) so they never pull a server from under another test.
#   scripts/test.sh [REGEX]     only the test files whose path matches REGEX
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TURBO_TELEMETRY_DISABLED=1
pnpm -s build || exit 1
if [ "${SIGHTLINE_SKIP_INFRA:-0}" != "1" ]; then bash infra/local/infra.sh up || exit 1; fi
bash infra/local/test-tools.sh || exit 1

mapfile -t all < <(find packages services infra -name '*.test.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' | sort)
if [ "$#" -gt 0 ]; then mapfile -t all < <(printf '%s\n' "${all[@]}" | grep -E "$1"); fi
# the ClickHouse cluster (not in infra.sh's default set) only when a cluster test is selected
if [ "${SIGHTLINE_SKIP_INFRA:-0}" != "1" ] && printf '%s\n' "${all[@]}" | grep -q 'clickhouse-cluster'; then
  bash infra/local/infra.sh up clickhouse-cluster || exit 1
fi
ordinary=(); disruptive=()
for f in "${all[@]}"; do
  case "$f" in *.disruptive.test.ts) disruptive+=("$f") ;; *) ordinary+=("$f") ;; esac
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
run() { # run CONCURRENCY FILE...
  local c="$1"; shift
  [ "$#" -eq 0 ] && return 0
  echo "== $# test files, $c at a time" >&2
  node --import tsx --test --test-reporter=tap --test-concurrency="$c" --test-timeout=900000 "$@" 2>&1 | tee -a "$log"
  return "${PIPESTATUS[0]}"
}
run 2 "${ordinary[@]}" || rc=1
run 1 "${disruptive[@]}" || rc=1

# one closing line for the whole suite (each run above printed its own summary)
sum() { grep -E "^# $1 [0-9]+$" "$log" | awk '{s+=$3} END {print s+0}'; }
echo "tests: $(sum pass) passed, $(sum fail) failed, $(sum skipped) skipped"
exit $rc
