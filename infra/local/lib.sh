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
    # the whole group, not only its leader: a JVM under a wrapper outlives it by a moment and still holds its ports
    for _ in $(seq 1 30); do kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.25; done
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

# need_apt PACKAGE...  -- installs missing Debian packages; `apt-get update` runs at most once per
# infra.sh invocation, and only when something is missing, so a warm start never touches the network.
_APT_UPDATED=""
need_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ -z "$_APT_UPDATED" ]; then
    log "apt-get update (missing: ${missing[*]})"
    $sudo apt-get update -q >>"$CACHE_DIR/apt.log" 2>&1 \
      || { tail -n 20 "$CACHE_DIR/apt.log" >&2; log "apt-get update failed"; return 1; }
    _APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]} (output in $CACHE_DIR/apt.log)"
  # postinst scripts may try to start the packaged service; without systemd that only prints a warning.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" \
      >>"$CACHE_DIR/apt.log" 2>&1 \
    || { tail -n 20 "$CACHE_DIR/apt.log" >&2; log "apt-get install ${missing[*]} failed"; return 1; }
}

# need_cmd COMMAND PACKAGE...  -- installs PACKAGE(s) when COMMAND is not on PATH
need_cmd() {
  local c="$1"; shift
  command -v "$c" >/dev/null 2>&1 || need_apt "$@"
}

# already_up NAME CHECK_COMMAND...  -- true (and logs) when the service answers already: `up` is a no-op
already_up() {
  local name="$1"; shift
  if "$@" >/dev/null 2>&1; then log "$name already up"; return 0; fi
  return 1
}

# port_busy_by_other NAME PORT  -- refuses to start when someone else holds the port
port_busy_by_other() {
  if port_open "$2" && ! pid_alive "$DATA_DIR/$1.pid"; then
    log "$1: port 127.0.0.1:$2 is held by another process; not starting a second $1"
    return 0
  fi
  return 1
}

# starting_already NAME TIMEOUT CHECK_COMMAND...  -- our process for NAME is alive but does not answer
# yet (a slow start, or another `up` in flight): wait for it instead of starting a second one.
# Returns 0 when it came up, 1 when it did not, 2 when no process of ours is running.
starting_already() {
  local name="$1" timeout="$2"; shift 2
  pid_alive "$DATA_DIR/$name.pid" || return 2
  log "$name: process $(cat "$DATA_DIR/$name.pid") is starting; waiting for it"
  wait_for "$name" "$timeout" "$@"
}
