#!/usr/bin/env bash
# helm (v3, the CLI the chart tests render with: infra/local/smoke/helm.test.ts), built from the Go
# module proxy like kube-apiserver and cached outside the work tree, so only the first run builds
# (a few minutes on 2 cores). Idempotent: a second run only checks. Prints the binary's path.
# SIGHTLINE_HELM_VERSION picks another release (`go list -m -versions helm.sh/helm/v3`).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

HELM_VERSION="${SIGHTLINE_HELM_VERSION:-v3.22.0}"
HELM_DIR="$CACHE_DIR/helm-$HELM_VERSION"
HELM_BIN="$HELM_DIR/helm"

if [ ! -x "$HELM_BIN" ]; then
  command -v go >/dev/null || { log "helm: go is not installed (needed to build helm $HELM_VERSION)"; exit 1; }
  log "helm: building helm $HELM_VERSION from the Go module proxy (first time only; minutes on 2 cores)"
  mkdir -p "$HELM_DIR"
  # `go install pkg@version` builds the release's own go.mod (no local module needed); the module
  # and build caches are Go's defaults, so a rebuilt cache dir does not download again. The -X
  # stamp makes `helm version` report the release instead of "v3.x-dev".
  # shellcheck disable=SC2016
  (cd "$HELM_DIR" && GOFLAGS=-buildvcs=false GOBIN="$HELM_DIR/.gobin" go install -p 2 -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >&2 \
    || { log "helm: go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed"; exit 1; }
  mv -f "$HELM_DIR/.gobin/helm" "$HELM_BIN"
  rmdir "$HELM_DIR/.gobin" 2>/dev/null || true
fi
"$HELM_BIN" version --short >/dev/null 2>&1 || { log "helm: $HELM_BIN does not run"; exit 1; }
echo "$HELM_BIN"
