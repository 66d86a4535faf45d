#!/usr/bin/env bash
# The whole test suite: builds, makes sure the local real services answer (starting them
# with the project's own scripts if needed; a no-op when they already run), then runs every
# test file of the repository in one node test runner, so the run ends in one summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TURBO_TELEMETRY_DISABLED=1
pnpm -s build
if [ "${SIGHTLINE_SKIP_INFRA:-0}" != "1" ]; then bash infra/local/infra.sh up; fi
mapfile -t files < <(find packages services infra -name '*.test.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' | sort)
if [ "$#" -gt 0 ]; then mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -E "$1"); fi
echo "running ${#files[@]} test files" >&2
exec node --import tsx --test --test-concurrency=2 --test-timeout=900000 "${files[@]}"
