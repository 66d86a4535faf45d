#!/usr/bin/env bash
# Every benchmark, one after another (they measure wall time: never run two at once).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TURBO_TELEMETRY_DISABLED=1
pnpm -s build
pnpm -C packages/parsers -s bench:aws
pnpm -C packages/parsers -s bench:json
pnpm -C packages/parsers -s bench:memory
pnpm -C packages/flow -s bench
pnpm -C packages/attribution -s bench
pnpm -C packages/attribution -s bench:attribute
# these need the local services (pnpm infra:up)
pnpm -C services/cli -s bench
pnpm -C packages/store -s bench
pnpm -C services/collector -s bench
pnpm -C services/enricher -s bench
