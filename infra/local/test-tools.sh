#!/usr/bin/env bash
# Tools the test suite itself needs besides the services: a Compose implementation for
# `compose config` (smoke/compose.test.ts). Docker's compose plugin when present, else Debian's
# docker-compose 1.29, installed here so a fresh machine needs nothing by hand.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
  need_apt docker-compose
fi
# chDB (an embedded current ClickHouse) for the tests that run the store's DDL and the dashboards'
# SQL on a current engine; cached in a virtualenv, so only the first run downloads.
bash "$HERE/chdb.sh" >/dev/null
# helm for the chart tests (smoke/helm.test.ts): built from the Go module proxy, cached per version.
bash "$HERE/helm.sh" >/dev/null
# Chromium for the console's browser tests (services/console/test/*.browser.test.ts), driven by
# puppeteer-core through its executablePath: Debian's package, since browser downloads cannot work here.
need_cmd chromium chromium
