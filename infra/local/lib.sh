# Shared helpers for infra/local/services/*.sh. Sourced, not run.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Service data lives in the work tree (git-ignored) so a reset is `rm -rf .data`.
DATA_DIR="${SIGHTLINE_DATA_DIR:-$REPO_ROOT/.data}"
# Downloads and builds live outside the work tree so a fresh clone starts fast.
CACHE_DIR="${SIGHTLINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sightline}"
mkdir -p "$DATA_DIR" "$CACHE_DIR"

log() { echo "[infra] $*" >&2; }

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...  -- retries COMMAND until it succeeds
wait_for() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then log "$what did not answer within ${timeout}s"; return 1; fi
    sleep 0.5
  done
}

# pid_alive PIDFILE
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# start_bg NAME LOGFILE COMMAND...  -- starts COMMAND detached, writes $DATA_DIR/NAME.pid
start_bg() {
  local name="$1" logf="$2"; shift 2
  mkdir -p "$(dirname "$logf")"
  nohup setsid "$@" >>"$logf" 2>&1 < /dev/null &
  echo $! > "$DATA_DIR/$name.pid"
}

# stop_pid NAME  -- TERM, then KILL after 15s, the process group started by start_bg
stop_pid() {
  local pf="$DATA_DIR/$1.pid"
  if pid_alive "$pf"; then
    local pid; pid=$(cat "$pf")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pf"
}

# port_open PORT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# print_status NAME ADDRESS CHECK_COMMAND...
print_status() {
  local name="$1" addr="$2"; shift 2
  if "$@" >/dev/null 2>&1; then printf '%-12s %-28s up\n' "$name" "$addr"; return 0
  else printf '%-12s %-28s down\n' "$name" "$addr"; return 1; fi
}
