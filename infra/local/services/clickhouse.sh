# ClickHouse server from Debian's package (18.16) on 127.0.0.1:8123 (HTTP) and :9000 (native),
# started without systemd, with the config in infra/local/clickhouse/ and its data in .data/clickhouse.
# shellcheck shell=bash

CLICKHOUSE_HTTP_PORT=8123
CLICKHOUSE_TCP_PORT=9000
CLICKHOUSE_DATA="$DATA_DIR/clickhouse"

# A real query over HTTP, not just /ping: the server answers queries only once its tables are loaded.
clickhouse_answers() {
  [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/?query=SELECT%201" 2>/dev/null)" = 1 ]
}

clickhouse_up() {
  need_cmd curl curl
  already_up clickhouse clickhouse_answers && return 0
  local rc=0; starting_already clickhouse 60 clickhouse_answers || rc=$?
  [ "$rc" -ne 2 ] && return "$rc"
  port_busy_by_other clickhouse "$CLICKHOUSE_HTTP_PORT" && return 1
  need_cmd clickhouse-server clickhouse-server
  mkdir -p "$CLICKHOUSE_DATA"/{etc,log,tmp,user_files,format_schemas}
  local f
  for f in config.xml users.xml; do
    sed "s:@DATA@:$CLICKHOUSE_DATA:g" "$REPO_ROOT/infra/local/clickhouse/$f" > "$CLICKHOUSE_DATA/etc/$f"
  done
  start_bg clickhouse "$CLICKHOUSE_DATA/log/stdout.log" \
    clickhouse-server --config-file="$CLICKHOUSE_DATA/etc/config.xml"
  if ! wait_for "clickhouse on 127.0.0.1:$CLICKHOUSE_HTTP_PORT" 60 clickhouse_answers; then
    tail -n 20 "$CLICKHOUSE_DATA/log/stdout.log" "$CLICKHOUSE_DATA/log/clickhouse-server.err.log" 2>/dev/null >&2
    return 1
  fi
}

clickhouse_down() {
  stop_pid clickhouse
  log "clickhouse down"
}

clickhouse_status() {
  print_status clickhouse "127.0.0.1:$CLICKHOUSE_HTTP_PORT (native :$CLICKHOUSE_TCP_PORT)" clickhouse_answers
}
