# A local ClickHouse cluster for the store's cluster mode: ZooKeeper (jars from Maven Central through
# infra/local/clickhouse-cluster/zookeeper-pom.xml) on 127.0.0.1:2181, and three servers of the same
# Debian 18.16 binary as services/clickhouse.sh, as cluster "sightline":
#   shard 01: n1 (HTTP :8131, native :9131) and n2 (:8132, :9132), two replicas
#   shard 02: n3 (:8133, :9133)
# Not in infra.sh's default set: `infra.sh up clickhouse-cluster` starts it (.ci/run does). `up` starts
# whatever part is not answering, so it also brings back a node a test killed. Data in
# .data/clickhouse-cluster/{zookeeper,n1,n2,n3}.
# shellcheck shell=bash

CHC_SRC="$REPO_ROOT/infra/local/clickhouse-cluster"
CHC_DATA="$DATA_DIR/clickhouse-cluster"
CHC_ZK_PORT=2181
CHC_ZK_VERSION="$(sed -n 's:.*<zookeeper.version>\(.*\)</zookeeper.version>.*:\1:p' "$CHC_SRC/zookeeper-pom.xml")"
CHC_ZK_LIB="$CACHE_DIR/zookeeper-$CHC_ZK_VERSION/lib"
# name shard replica http tcp interserver
CHC_NODES=(
  "n1 01 n1 8131 9131 9141"
  "n2 01 n2 8132 9132 9142"
  "n3 02 n3 8133 9133 9143"
)

# `srvr` names the mode only once the server serves requests (`ruok` answers imok before that)
chc_zk_answers() {
  timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$CHC_ZK_PORT"'; printf srvr >&3; cat <&3' 2>/dev/null | grep -q '^Mode: '
}

# chc_node_answers HTTP_PORT  -- answers a query and reaches ZooKeeper (replicated tables need it)
chc_node_answers() {
  [ "$(curl -fsS --max-time 3 "http://127.0.0.1:$1/?query=SELECT%20count()%3E0%20FROM%20system.zookeeper%20WHERE%20path%3D'/'" 2>/dev/null)" = 1 ]
}

# chc_alive_and PIDNAME CHECK...  -- true when CHECK passes, and also when our process died (so
# wait_for stops at once instead of waiting out its timeout; the caller checks again)
chc_alive_and() {
  local pn="$1"; shift
  "$@" && return 0
  ! pid_alive "$DATA_DIR/$pn.pid"
}

chc_zk_fetch() {
  [ -f "$CHC_ZK_LIB/.complete" ] && return 0
  need_cmd java openjdk-17-jre-headless
  need_cmd mvn maven
  log "clickhouse-cluster: resolving org.apache.zookeeper:zookeeper:$CHC_ZK_VERSION from Maven Central (first time only)"
  rm -rf "$CHC_ZK_LIB"; mkdir -p "$CHC_ZK_LIB"
  mvn -q -B -Dstyle.color=never -f "$CHC_SRC/zookeeper-pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$CHC_ZK_LIB" >&2 \
    || { log "clickhouse-cluster: mvn dependency:copy-dependencies failed (see output above)"; return 1; }
  touch "$CHC_ZK_LIB/.complete"
}

chc_zk_up() {
  chc_zk_answers && return 0
  if pid_alive "$DATA_DIR/chc-zookeeper.pid"; then
    wait_for "zookeeper on 127.0.0.1:$CHC_ZK_PORT" 60 chc_zk_answers; return
  fi
  port_open "$CHC_ZK_PORT" && { log "clickhouse-cluster: port 127.0.0.1:$CHC_ZK_PORT is held by another process"; return 1; }
  chc_zk_fetch || return 1
  mkdir -p "$CHC_DATA/zookeeper/data"
  sed "s:@DATA@:$CHC_DATA/zookeeper/data:g" "$CHC_SRC/zoo.cfg" > "$CHC_DATA/zookeeper/zoo.cfg"
  start_bg chc-zookeeper "$CHC_DATA/zookeeper/zookeeper.log" \
    java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dzookeeper.jmx.log4j.disable=true \
      -cp "$CHC_ZK_LIB/*" org.apache.zookeeper.server.quorum.QuorumPeerMain "$CHC_DATA/zookeeper/zoo.cfg"
  if ! wait_for "zookeeper on 127.0.0.1:$CHC_ZK_PORT" 60 chc_alive_and chc-zookeeper chc_zk_answers || ! chc_zk_answers; then
    tail -n 20 "$CHC_DATA/zookeeper/zookeeper.log" >&2; return 1
  fi
}

chc_port_free() { ! port_open "$1"; }

# chc_node_start NAME SHARD REPLICA HTTP TCP INTERSERVER  -- starts the node unless it answers or is starting
chc_node_start() {
  local name="$1" shard="$2" replica="$3" http="$4" tcp="$5" inter="$6" d="$CHC_DATA/$1"
  chc_node_answers "$http" && return 0
  pid_alive "$DATA_DIR/chc-$name.pid" && return 0
  # a node killed a moment ago may still hold its port while the kernel closes its sockets
  if port_open "$http"; then
    wait_for "clickhouse-cluster: port 127.0.0.1:$http to be free" 15 chc_port_free "$http" \
      || { log "clickhouse-cluster: port 127.0.0.1:$http is held by another process"; return 1; }
  fi
  mkdir -p "$d"/{etc,log,tmp,user_files,format_schemas}
  sed -e "s:@DATA@:$d:g" -e "s:@HTTP@:$http:g" -e "s:@TCP@:$tcp:g" -e "s:@INTERSERVER@:$inter:g" \
      -e "s:@SHARD@:$shard:g" -e "s:@REPLICA@:$replica:g" "$CHC_SRC/node.xml" > "$d/etc/config.xml"
  # the single server's users.xml, user sightline with the cluster's own generated password
  local sha
  sha=$(tr -d '\n' < "$CHC_DATA/secrets/sightline.password" | sha256sum | cut -d' ' -f1)
  sed -e "s:@SIGHTLINE_PASSWORD_SHA256@:$sha:g" "$REPO_ROOT/infra/local/clickhouse/users.xml" > "$d/etc/users.xml"
  start_bg "chc-$name" "$d/log/stdout.log" clickhouse-server --config-file="$d/etc/config.xml"
}

clickhouse-cluster_up() {
  need_cmd curl curl
  need_cmd clickhouse-server clickhouse-server
  need_cmd openssl openssl
  mkdir -p "$CHC_DATA/secrets"
  if [ ! -s "$CHC_DATA/secrets/sightline.password" ]; then
    (umask 077; openssl rand -hex 24 > "$CHC_DATA/secrets/sightline.password")
  fi
  chc_zk_up || return 1
  local n rc=0
  for n in "${CHC_NODES[@]}"; do
    # shellcheck disable=SC2086
    chc_node_start $n || rc=1
  done
  [ "$rc" -eq 0 ] || return 1
  for n in "${CHC_NODES[@]}"; do
    # shellcheck disable=SC2086
    set -- $n
    if ! wait_for "clickhouse-cluster $1 on 127.0.0.1:$4" 90 chc_alive_and "chc-$1" chc_node_answers "$4" || ! chc_node_answers "$4"; then
      tail -n 20 "$CHC_DATA/$1/log/stdout.log" "$CHC_DATA/$1/log/clickhouse-server.err.log" 2>/dev/null >&2
      rc=1
    fi
  done
  return "$rc"
}

clickhouse-cluster_down() {
  local n
  for n in "${CHC_NODES[@]}"; do stop_pid "chc-${n%% *}"; done
  stop_pid chc-zookeeper
  log "clickhouse-cluster down"
}

clickhouse-cluster_status() {
  local n rc=0
  print_status chc-zk "127.0.0.1:$CHC_ZK_PORT" chc_zk_answers || rc=1
  for n in "${CHC_NODES[@]}"; do
    # shellcheck disable=SC2086
    set -- $n
    print_status "chc-$1" "127.0.0.1:$4 (shard $2, native :$5)" chc_node_answers "$4" || rc=1
  done
  return "$rc"
}
