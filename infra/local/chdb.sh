#!/usr/bin/env bash
# chDB (embedded current ClickHouse, PyPI `chdb` + `chdb-core` 26.x) for the tests that need a
# current engine: a virtualenv in the cache, keyed by chdb/requirements.txt so a version bump gets
# a fresh one; `$CACHE_DIR/chdb-python` runs its python (tests find it there, or through
# SIGHTLINE_CHDB_PYTHON). Idempotent: a second run only checks. Prints the python's path.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

CHDB_REQ="$HERE/chdb/requirements.txt"
CHDB_VENV="$CACHE_DIR/chdb-venv-$(cksum < "$CHDB_REQ" | cut -d' ' -f1)"
CHDB_LINK="$CACHE_DIR/chdb-python"

if [ ! -f "$CHDB_VENV/.complete" ]; then
  need_cmd python3 python3
  python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt python3-venv
  log "chdb: creating virtualenv $CHDB_VENV (first time only)"
  mkdir -p "$CACHE_DIR"
  rm -rf "$CHDB_VENV"
  python3 -m venv "$CHDB_VENV" >&2 || { log "chdb: python3 -m venv failed"; exit 1; }
  # pip caches wheels in ~/.cache/pip, so a rebuilt venv does not download again.
  "$CHDB_VENV/bin/pip" install -q --disable-pip-version-check -r "$CHDB_REQ" >&2 \
    || { log "chdb: pip install -r $CHDB_REQ failed"; exit 1; }
  "$CHDB_VENV/bin/python" -c 'import chdb; print(chdb.query("SELECT version()", "CSV"), end="")' >&2 \
    || { log "chdb: installed, but a query fails"; exit 1; }
  touch "$CHDB_VENV/.complete"
fi
# a wrapper, not a symlink: python finds its virtualenv from the path it was started by
printf '#!/bin/sh\nexec "%s/bin/python" "$@"\n' "$CHDB_VENV" > "$CHDB_LINK.tmp"
chmod +x "$CHDB_LINK.tmp"
mv -f "$CHDB_LINK.tmp" "$CHDB_LINK"
echo "$CHDB_LINK"
