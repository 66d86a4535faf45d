#!/usr/bin/env bash
# Installs everything Sightline needs on a fresh machine and builds it.
# Idempotent: a second run only checks and rebuilds what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TURBO_TELEMETRY_DISABLED=1

PNPM_VERSION=9.15.9
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then echo "setup: Node.js 20 or newer is needed (found $(node --version))" >&2; exit 1; fi
# corepack's pnpm fails its signature check here, so pnpm comes from npm
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION" >&2
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi
# the pnpm store lives in the user's cache (~/.local/share/pnpm), so a second install is fast
pnpm install --frozen-lockfile
pnpm build
