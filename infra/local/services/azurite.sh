# Azurite: Azure Blob Storage on http://127.0.0.1:10000/devstoreaccount1 (sourced by infra.sh).
# 3.35.x is the last line that runs on Node 20 (3.36 needs Node 22).
AZURITE_VERSION="${SIGHTLINE_AZURITE_VERSION:-3.35.0}"
AZURITE_PORT="${SIGHTLINE_AZURITE_PORT:-10000}"
AZURITE_PREFIX="$CACHE_DIR/azurite-$AZURITE_VERSION"
AZURITE_BIN="$AZURITE_PREFIX/node_modules/.bin/azurite-blob"
AZURITE_DATA="$DATA_DIR/azurite"

# Unauthenticated requests get 403 from Azurite; any HTTP answer with its server header means the
# blob service is serving (curl without -f so 4xx still counts, but a refused socket does not).
azurite_answers() {
  curl -s -o /dev/null -D - --max-time 2 "http://127.0.0.1:$AZURITE_PORT/devstoreaccount1?comp=list" \
    | grep -qi '^server: Azurite'
}

# Serializes concurrent `up`s of one service (two test runs starting at once would otherwise both
# build and both start it, and the loser's pidfile would hide the winner from `down`).
svc_locked() {
  local name="$1"; shift
  mkdir -p "$DATA_DIR/.locks"
  # `9>&-`: bash keeps the lock on a close-on-exec copy, so the service started inside (which
  # outlives this call) does not inherit the descriptor and hold the lock forever.
  ( flock 9; "$@" 9>&- ) 9>"$DATA_DIR/.locks/$name.lock"
}

azurite_install() {
  [ -x "$AZURITE_BIN" ] && return 0
  command -v npm >/dev/null || { log "azurite: npm is not installed"; return 1; }
  log "azurite: installing azurite@$AZURITE_VERSION into $AZURITE_PREFIX"
  mkdir -p "$AZURITE_PREFIX"
  # npm's own cache (~/.npm) makes a re-install after `rm -rf` of the prefix fast.
  npm install --prefix "$AZURITE_PREFIX" --prefer-offline --no-audit --no-fund --omit=dev --loglevel=error \
    "azurite@$AZURITE_VERSION" >&2
}

azurite_up() { svc_locked azurite azurite_up_locked; }
azurite_up_locked() {
  if azurite_answers; then log "azurite: already up"; return 0; fi
  azurite_install || return 1
  mkdir -p "$AZURITE_DATA/blob"
  # Blob service only; --skipApiVersionCheck because current SDKs send API versions newer than
  # the emulator knows; telemetry off because this is a test fixture, not a user install.
  start_bg azurite "$AZURITE_DATA/azurite.log" "$AZURITE_BIN" \
    --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" \
    --location "$AZURITE_DATA/blob" --skipApiVersionCheck --disableTelemetry --loose
  wait_for "azurite (http://127.0.0.1:$AZURITE_PORT)" 30 azurite_answers \
    || { tail -n 20 "$AZURITE_DATA/azurite.log" >&2; return 1; }
}

azurite_down() { stop_pid azurite; }

azurite_status() { print_status azurite "http://127.0.0.1:$AZURITE_PORT/devstoreaccount1" azurite_answers; }
