# moto server (S3, SQS, STS and the rest of moto's AWS emulation) on 127.0.0.1:5000, from PyPI into a
# virtualenv in $CACHE_DIR. moto keeps its state in memory: a restart starts empty; .data/moto has the log.
# shellcheck shell=bash

MOTO_PORT=5000
MOTO_REQ="$REPO_ROOT/infra/local/moto/requirements.txt"
# The venv is keyed by the requirements' content so that a version bump gets a fresh one.
MOTO_VENV="$CACHE_DIR/moto-venv-$(cksum < "$MOTO_REQ" | cut -d' ' -f1)"
MOTO_DATA="$DATA_DIR/moto"

# S3 ListBuckets answered with XML: the server is up and routing requests to its backends.
moto_answers() {
  curl -fsS --max-time 2 "http://127.0.0.1:$MOTO_PORT/" 2>/dev/null | grep -q ListAllMyBucketsResult
}

moto_install() {
  [ -f "$MOTO_VENV/.complete" ] && return 0
  need_cmd python3 python3
  python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt python3-venv
  log "moto: creating virtualenv $MOTO_VENV (first time only)"
  rm -rf "$MOTO_VENV"
  python3 -m venv "$MOTO_VENV" >&2 || { log "moto: python3 -m venv failed"; return 1; }
  # pip caches wheels in ~/.cache/pip, so a rebuilt venv does not download again.
  "$MOTO_VENV/bin/pip" install -q --disable-pip-version-check -r "$MOTO_REQ" >&2 \
    || { log "moto: pip install -r $MOTO_REQ failed"; return 1; }
  touch "$MOTO_VENV/.complete"
}

moto_up() {
  need_cmd curl curl
  already_up moto moto_answers && return 0
  local rc=0; starting_already moto 60 moto_answers || rc=$?
  [ "$rc" -ne 2 ] && return "$rc"
  port_busy_by_other moto "$MOTO_PORT" && return 1
  moto_install || return 1
  mkdir -p "$MOTO_DATA"
  start_bg moto "$MOTO_DATA/moto.log" "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
  if ! wait_for "moto on 127.0.0.1:$MOTO_PORT" 60 moto_answers; then
    tail -n 20 "$MOTO_DATA/moto.log" >&2
    return 1
  fi
}

moto_down() {
  stop_pid moto
  log "moto down"
}

moto_status() {
  print_status moto "127.0.0.1:$MOTO_PORT (s3 sqs sts)" moto_answers
}
