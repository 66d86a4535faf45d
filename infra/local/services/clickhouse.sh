# ClickHouse server from Debian's package (18.16) on 127.0.0.1:8123 (HTTP), :8443 (HTTPS) and :9000
# (native), started without systemd, with the config in infra/local/clickhouse/ and its data in
# .data/clickhouse. HTTPS uses a self-signed certificate made here with openssl (tls/server.crt is
# also the CA file a client trusts); user "sightline" has a password generated here into
# secrets/sightline.password. Both are made once and kept with the data.
# shellcheck shell=bash

CLICKHOUSE_HTTP_PORT=8123
CLICKHOUSE_HTTPS_PORT=8443
CLICKHOUSE_TCP_PORT=9000
CLICKHOUSE_DATA="$DATA_DIR/clickhouse"

# clickhouse_secrets DIR  -- the certificate (CN localhost, SANs localhost and 127.0.0.1, 10 years)
# and the password file, each made only when missing, so a restart keeps what clients were given.
clickhouse_secrets() {
  local d="$1"
  need_cmd openssl openssl
  mkdir -p "$d/tls" "$d/secrets"
  if [ ! -s "$d/tls/server.crt" ] || [ ! -s "$d/tls/server.key" ]; then
    log "clickhouse: making a self-signed certificate in $d/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$d/tls/server.key.tmp" -out "$d/tls/server.crt.tmp" >>"$d/tls/openssl.log" 2>&1 \
      || { tail -n 5 "$d/tls/openssl.log" >&2; log "clickhouse: openssl failed"; return 1; }
    chmod 600 "$d/tls/server.key.tmp"
    mv "$d/tls/server.key.tmp" "$d/tls/server.key"; mv "$d/tls/server.crt.tmp" "$d/tls/server.crt"
  fi
  if [ ! -s "$d/secrets/sightline.password" ]; then
    (umask 077; openssl rand -hex 24 > "$d/secrets/sightline.password.tmp") \
      && mv "$d/secrets/sightline.password.tmp" "$d/secrets/sightline.password"
  fi
}

# clickhouse_render SRC_DIR DATA_DIR  -- the server's config files with the data dir and the
# password's SHA-256 filled in (the password itself never enters a config file).
clickhouse_render() {
  local src="$1" d="$2" f sha
  sha=$(tr -d '\n' < "$d/secrets/sightline.password" | sha256sum | cut -d' ' -f1)
  for f in config.xml users.xml; do
    sed -e "s:@DATA@:$d:g" -e "s:@SIGHTLINE_PASSWORD_SHA256@:$sha:g" "$src/$f" > "$d/etc/$f"
  done
}

# A real query over HTTP, not just /ping: the server answers queries only once its tables are loaded.
clickhouse_answers() {
  [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/?query=SELECT%201" 2>/dev/null)" = 1 ]
}

clickhouse_up() {
  need_cmd curl curl
  # A server started from the config before HTTPS was added answers HTTP only: restart ours once
  # so it picks up the new port and user (someone else's server on the port is left alone).
  if clickhouse_answers && pid_alive "$DATA_DIR/clickhouse.pid" && [ ! -s "$CLICKHOUSE_DATA/tls/server.crt" ]; then
    log "clickhouse: running without its HTTPS port (config from before); restarting it"
    stop_pid clickhouse
  fi
  already_up clickhouse clickhouse_answers && return 0
  local rc=0; starting_already clickhouse 60 clickhouse_answers || rc=$?
  [ "$rc" -ne 2 ] && return "$rc"
  port_busy_by_other clickhouse "$CLICKHOUSE_HTTP_PORT" && return 1
  need_cmd clickhouse-server clickhouse-server
  mkdir -p "$CLICKHOUSE_DATA"/{etc,log,tmp,user_files,format_schemas}
  clickhouse_secrets "$CLICKHOUSE_DATA" || return 1
  clickhouse_render "$REPO_ROOT/infra/local/clickhouse" "$CLICKHOUSE_DATA"
  start_bg clickhouse "$CLICKHOUSE_DATA/log/stdout.log" \
    clickhouse-server --config-file="$CLICKHOUSE_DATA/etc/config.xml"
  if ! wait_for "clickhouse on 127.0.0.1:$CLICKHOUSE_HTTP_PORT" 60 clickhouse_answers \
      || ! wait_for "clickhouse on https://127.0.0.1:$CLICKHOUSE_HTTPS_PORT" 10 clickhouse_https_answers; then
    tail -n 20 "$CLICKHOUSE_DATA/log/stdout.log" "$CLICKHOUSE_DATA/log/clickhouse-server.err.log" 2>/dev/null >&2
    return 1
  fi
}

clickhouse_down() {
  stop_pid clickhouse
  log "clickhouse down"
}

# HTTPS with the certificate and the password: what the TLS tests use.
clickhouse_https_answers() {
  # A second clone has no certificate and password of its own (they are the first clone's .data):
  # there, up means the HTTPS listener answers (not verified: the certificate is not ours to trust).
  if [ ! -f "$CLICKHOUSE_DATA/tls/server.crt" ] || [ ! -f "$CLICKHOUSE_DATA/secrets/sightline.password" ]; then
    [ "$(curl -fsSk --max-time 2 "https://127.0.0.1:$CLICKHOUSE_HTTPS_PORT/ping" 2>/dev/null)" = "Ok." ]
    return
  fi
  # the credentials go to curl on a pipe, not its command line (which `ps` shows)
  [ "$(printf 'user = "sightline:%s"\n' "$(cat "$CLICKHOUSE_DATA/secrets/sightline.password" 2>/dev/null)" \
    | curl -fsS --max-time 2 --cacert "$CLICKHOUSE_DATA/tls/server.crt" -K - \
      "https://127.0.0.1:$CLICKHOUSE_HTTPS_PORT/?query=SELECT%201" 2>/dev/null)" = 1 ]
}

clickhouse_status() {
  print_status clickhouse "127.0.0.1:$CLICKHOUSE_HTTP_PORT (native :$CLICKHOUSE_TCP_PORT)" clickhouse_answers || return 1
  print_status ch-https "https://127.0.0.1:$CLICKHOUSE_HTTPS_PORT" clickhouse_https_answers
}
