# Kafka 3.9 broker in KRaft mode (broker + controller in one JVM) on 127.0.0.1:9092 (controller :9093).
# Jars come from Maven Central through infra/local/kafka/pom.xml, copied once into $CACHE_DIR.
# shellcheck shell=bash

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO_ROOT/infra/local/kafka/pom.xml")"
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_LIB="$CACHE_DIR/kafka-$KAFKA_VERSION/lib"
KAFKA_DATA="$DATA_DIR/kafka"

# Sends an ApiVersions v0 request and checks the answer (correlation id 1, error code 0): a listening
# socket alone is not a broker that answers. No client needed, so `status` stays instant.
kafka_answers() {
  local out
  out=$(timeout 3 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/'"$KAFKA_PORT"' || exit 1
    printf "\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x01\x00\x02sl" >&3
    head -c 10 <&3 | od -An -tx1' 2>/dev/null) || return 1
  [ "$(echo $out | cut -d' ' -f5-10)" = "00 00 00 01 00 00" ]
}

kafka_fetch() {
  [ -f "$KAFKA_LIB/.complete" ] && return 0
  need_cmd java openjdk-17-jre-headless
  need_cmd mvn maven
  log "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central (first time only)"
  rm -rf "$KAFKA_LIB"; mkdir -p "$KAFKA_LIB"
  mvn -q -B -Dstyle.color=never -f "$REPO_ROOT/infra/local/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIB" >&2 \
    || { log "kafka: mvn dependency:copy-dependencies failed (see output above)"; return 1; }
  touch "$KAFKA_LIB/.complete"
}

# Runs java in the foreground, or detached under start_bg when KAFKA_BG=1.
exec_or_run() {
  if [ "${KAFKA_BG:-}" = 1 ]; then start_bg kafka "$KAFKA_DATA/app-logs/stdout.log" "$@"; else "$@"; fi
}

kafka_java() {
  exec_or_run java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_DATA/app-logs" \
    -Dlog4j.configuration="file:$REPO_ROOT/infra/local/kafka/log4j.properties" \
    -cp "$KAFKA_LIB/*" "$@"
}

kafka_up() {
  already_up kafka kafka_answers && return 0
  local rc=0; starting_already kafka 90 kafka_answers || rc=$?
  [ "$rc" -ne 2 ] && return "$rc"
  port_busy_by_other kafka "$KAFKA_PORT" && return 1
  kafka_fetch || return 1
  mkdir -p "$KAFKA_DATA/app-logs"
  sed "s:@DATA@:$KAFKA_DATA:g" "$REPO_ROOT/infra/local/kafka/server.properties" > "$KAFKA_DATA/server.properties"
  if [ ! -f "$KAFKA_DATA/metadata/meta.properties" ]; then
    # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding; Kafka refuses one
    # starting with '-' (it would read as a command-line flag).
    local id=""
    until [ -n "$id" ] && [ "${id:0:1}" != "-" ]; do
      id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    log "kafka: formatting storage (cluster id $id)"
    kafka_java kafka.tools.StorageTool format -t "$id" -c "$KAFKA_DATA/server.properties" --ignore-formatted \
      >>"$KAFKA_DATA/app-logs/format.log" 2>&1 \
      || { log "kafka: storage format failed, see $KAFKA_DATA/app-logs/format.log"; return 1; }
  fi
  KAFKA_BG=1 kafka_java kafka.Kafka "$KAFKA_DATA/server.properties"
  if ! wait_for "kafka on 127.0.0.1:$KAFKA_PORT" 90 kafka_answers; then
    tail -n 20 "$KAFKA_DATA/app-logs/stdout.log" "$KAFKA_DATA/app-logs/server.log" 2>/dev/null >&2
    return 1
  fi
}

kafka_down() {
  stop_pid kafka
  log "kafka down"
}

kafka_status() {
  print_status kafka "127.0.0.1:$KAFKA_PORT (ctl :$KAFKA_CONTROLLER_PORT)" kafka_answers
}
