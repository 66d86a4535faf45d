# fake-gcs-server: Google Cloud Storage JSON/XML API on http://127.0.0.1:4443 (sourced by infra.sh).
FAKEGCS_VERSION="${SIGHTLINE_FAKEGCS_VERSION:-v1.56.1}"
FAKEGCS_PORT="${SIGHTLINE_FAKEGCS_PORT:-4443}"
FAKEGCS_BIN="$CACHE_DIR/fakegcs/$FAKEGCS_VERSION/fake-gcs-server"
FAKEGCS_DATA="$DATA_DIR/fakegcs"

# A bucket listing is the cheapest request that proves the storage API (not just the socket) answers.
fakegcs_answers() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$FAKEGCS_PORT/storage/v1/b"; }

# Serializes concurrent `up`s of one service (two test runs starting at once would otherwise both
# build and both start it, and the loser's pidfile would hide the winner from `down`).
svc_locked() {
  local name="$1"; shift
  mkdir -p "$DATA_DIR/.locks"
  # `9>&-`: bash keeps the lock on a close-on-exec copy, so the service started inside (which
  # outlives this call) does not inherit the descriptor and hold the lock forever.
  ( flock 9; "$@" 9>&- ) 9>"$DATA_DIR/.locks/$name.lock"
}

fakegcs_install() {
  [ -x "$FAKEGCS_BIN" ] && return 0
  command -v go >/dev/null || { log "fakegcs: go is not installed (needed to build fake-gcs-server)"; return 1; }
  log "fakegcs: building fake-gcs-server $FAKEGCS_VERSION from the Go module proxy"
  # GOBIN keyed by version: a version bump never reuses a stale binary.
  GOBIN="$(dirname "$FAKEGCS_BIN")" GOFLAGS=-buildvcs=false go install -p 2 -trimpath -ldflags '-s -w' \
    "github.com/fsouza/fake-gcs-server@$FAKEGCS_VERSION"
}

fakegcs_up() { svc_locked fakegcs fakegcs_up_locked; }
fakegcs_up_locked() {
  if fakegcs_answers; then log "fakegcs: already up"; return 0; fi
  fakegcs_install || return 1
  # Objects live in the filesystem backend so they survive a restart; `rm -rf .data/fakegcs` resets.
  mkdir -p "$FAKEGCS_DATA/storage"
  start_bg fakegcs "$FAKEGCS_DATA/fakegcs.log" "$FAKEGCS_BIN" \
    -scheme http -host 127.0.0.1 -port "$FAKEGCS_PORT" \
    -public-host "127.0.0.1:$FAKEGCS_PORT" -external-url "http://127.0.0.1:$FAKEGCS_PORT" \
    -backend filesystem -filesystem-root "$FAKEGCS_DATA/storage" -log-level warn
  wait_for "fakegcs (http://127.0.0.1:$FAKEGCS_PORT)" 30 fakegcs_answers \
    || { tail -n 20 "$FAKEGCS_DATA/fakegcs.log" >&2; return 1; }
}

fakegcs_down() { stop_pid fakegcs; }

fakegcs_status() { print_status fakegcs "http://127.0.0.1:$FAKEGCS_PORT" fakegcs_answers; }
