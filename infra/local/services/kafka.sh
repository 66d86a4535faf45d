# Kafka broker in KRaft mode (broker + controller in one JVM), by default 4.x from infra/local/kafka/pom.xml;
# SIGHTLINE_KAFKA_VERSION=3.9.1 runs a 3.9 instead. Listeners on 127.0.0.1:
#   PLAINTEXT :9092, controller :9093, SASL_SSL :9094 (PLAIN, SCRAM-SHA-512), SSL with client certificates :9095.
# SIGHTLINE_KAFKA_PORT moves them all (controller, SASL_SSL and SSL at +1, +2, +3; each can be set on its
# own too); with SIGHTLINE_DATA_DIR that runs a second, independent broker next to the shared one.
# Jars come from Maven Central through the pom, copied once into $CACHE_DIR/kafka-VERSION/lib.
# The throw-away CA, certificates and passwords are made once into $DATA_DIR/kafka-auth (remade when a
# file is missing) and read by the secured-client tests through @sightline/testkit's endpoints().
# shellcheck shell=bash

KAFKA_DEFAULT_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO_ROOT/infra/local/kafka/pom.xml")"
KAFKA_VERSION="${SIGHTLINE_KAFKA_VERSION:-$KAFKA_DEFAULT_VERSION}"
KAFKA_MAJOR="${KAFKA_VERSION%%.*}"
KAFKA_PORT="${SIGHTLINE_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${SIGHTLINE_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_SASL_PORT="${SIGHTLINE_KAFKA_SASL_PORT:-$((KAFKA_PORT + 2))}"
KAFKA_MTLS_PORT="${SIGHTLINE_KAFKA_MTLS_PORT:-$((KAFKA_PORT + 3))}"
KAFKA_LIB="$CACHE_DIR/kafka-$KAFKA_VERSION/lib"
# One data directory per version: a 4.x metadata log cannot be read by 3.9, so switching back and forth
# never touches the other version's topics.
KAFKA_DATA="$DATA_DIR/kafka-$KAFKA_VERSION"
KAFKA_AUTH="$DATA_DIR/kafka-auth"
# The SASL users the tests log in as (passwords in $KAFKA_AUTH/{scram,plain}-password).
KAFKA_SCRAM_USER=sightline
KAFKA_PLAIN_USER=sightline-plain

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

# TLS handshakes on the secured listeners, verified against the local CA (the SSL one with the client
# certificate it requires).
kafka_tls_answers() {
  [ -f "$KAFKA_AUTH/ca.crt" ] || return 1
  timeout 3 openssl s_client -connect "127.0.0.1:$KAFKA_SASL_PORT" -CAfile "$KAFKA_AUTH/ca.crt" \
    -verify_return_error -brief </dev/null >/dev/null 2>&1 || return 1
  timeout 3 openssl s_client -connect "127.0.0.1:$KAFKA_MTLS_PORT" -CAfile "$KAFKA_AUTH/ca.crt" \
    -cert "$KAFKA_AUTH/client.crt" -key "$KAFKA_AUTH/client.key" -verify_return_error -brief </dev/null >/dev/null 2>&1
}

kafka_all_answer() { kafka_answers && kafka_tls_answers; }

kafka_fetch() {
  [ -f "$KAFKA_LIB/.complete" ] && return 0
  need_cmd java openjdk-17-jre-headless
  need_cmd mvn maven
  log "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central (first time only)"
  rm -rf "$KAFKA_LIB"; mkdir -p "$KAFKA_LIB"
  # The logging binding differs: reload4j for 3.x, log4j2 for 4.x (profiles in the pom).
  mvn -q -B -Dstyle.color=never -f "$REPO_ROOT/infra/local/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      -P"kafka$KAFKA_MAJOR" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIB" >&2 \
    || { log "kafka: mvn dependency:copy-dependencies failed (see output above)"; return 1; }
  touch "$KAFKA_LIB/.complete"
}

# A random password of hex digits (safe inside properties and JAAS quotes), kept in FILE (mode 600).
kafka_secret() { [ -s "$1" ] || { (umask 077; head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$1"); }; }

# The throw-away CA, the broker's certificate (127.0.0.1, localhost) in a PKCS#12 keystore, a client
# certificate for mTLS, a second CA nobody trusts (for the unknown-CA test) and the SASL passwords.
# Made once; all of it again when any file is missing (the broker then needs a restart to load it).
kafka_auth_files=(ca.crt ca.key broker.p12 keystore-password client.crt client.key untrusted-ca.crt scram-password plain-password)
kafka_make_auth() {
  local f missing=0
  for f in "${kafka_auth_files[@]}"; do [ -s "$KAFKA_AUTH/$f" ] || missing=1; done
  [ "$missing" = 0 ] && return 0
  need_cmd openssl openssl
  log "kafka: making a throw-away CA, certificates and SASL passwords in $KAFKA_AUTH"
  rm -rf "$KAFKA_AUTH"; mkdir -p "$KAFKA_AUTH"; chmod 700 "$KAFKA_AUTH"
  (
    set -e; cd "$KAFKA_AUTH"; umask 077
    exec >>openssl.log 2>&1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=sightline local Kafka CA" -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > broker.ext
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost"
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile broker.ext -out broker.crt
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=sightline-client"
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile client.ext -out client.crt
    openssl req -x509 -newkey rsa:2048 -nodes -keyout untrusted-ca.key -out untrusted-ca.crt -days 3650 \
      -subj "/CN=a CA the local Kafka does not know" -addext basicConstraints=critical,CA:true
    rm -f untrusted-ca.key ./*.csr ./*.ext ca.srl
  ) || { log "kafka: openssl failed, see $KAFKA_AUTH/openssl.log"; return 1; }
  kafka_secret "$KAFKA_AUTH/keystore-password" && kafka_secret "$KAFKA_AUTH/scram-password" && kafka_secret "$KAFKA_AUTH/plain-password" || return 1
  (cd "$KAFKA_AUTH" && umask 077 && openssl pkcs12 -export -in broker.crt -inkey broker.key -certfile ca.crt -name broker \
    -out broker.p12 -passout file:keystore-password) >>"$KAFKA_AUTH/openssl.log" 2>&1 \
    || { log "kafka: openssl pkcs12 failed, see $KAFKA_AUTH/openssl.log"; return 1; }
  chmod 644 "$KAFKA_AUTH/ca.crt" "$KAFKA_AUTH/untrusted-ca.crt" "$KAFKA_AUTH/client.crt" "$KAFKA_AUTH/broker.crt"
}

# Runs java in the foreground, or detached under start_bg when KAFKA_BG=1.
exec_or_run() {
  if [ "${KAFKA_BG:-}" = 1 ]; then start_bg kafka "$KAFKA_DATA/app-logs/stdout.log" "$@"; else "$@"; fi
}

kafka_java() {
  exec_or_run java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_DATA/app-logs" \
    -Dlog4j.configuration="file:$REPO_ROOT/infra/local/kafka/log4j.properties" \
    -Dlog4j2.configurationFile="$REPO_ROOT/infra/local/kafka/log4j2.properties" \
    -cp "$KAFKA_LIB/*" "$@"
}

# A Kafka command-line tool (not the broker): its own log directory.
kafka_java_tool() {
  java -Xmx256m -Dkafka.logs.dir="$KAFKA_DATA/app-logs/tools" -Dlog4j2.configurationFile="$REPO_ROOT/infra/local/kafka/log4j2.properties" \
    -Dlog4j.configuration="file:$REPO_ROOT/infra/local/kafka/log4j.properties" -cp "$KAFKA_LIB/*" "$@"
}

# SCRAM credentials live in the cluster's metadata: created through the PLAINTEXT listener once per data
# directory and password (a marker file holds the password's hash). The password goes through a file
# (mode 600), not the command line.
kafka_scram_users() {
  local marker="$KAFKA_DATA/scram-users.sha256" want pw
  pw=$(cat "$KAFKA_AUTH/scram-password"); want=$(printf '%s' "$pw" | sha256sum | cut -c1-64)
  [ "$(cat "$marker" 2>/dev/null)" = "$want" ] && return 0
  local f="$KAFKA_DATA/scram.properties" out="$KAFKA_DATA/app-logs/scram.log"
  # In a file the value goes without the [..] of the command-line form.
  (umask 077; printf 'SCRAM-SHA-512=iterations=8192,password=%s\n' "$pw" > "$f")
  # The tool logs to its own file, not the broker's server.log; its messages may quote the value: masked.
  if kafka_java_tool kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter --entity-type users \
       --entity-name "$KAFKA_SCRAM_USER" --add-config-file "$f" 2>&1 | sed "s/$pw/***/g" >"$out" && [ "${PIPESTATUS[0]}" = 0 ]; then
    rm -f "$f"; echo "$want" > "$marker"
  else
    rm -f "$f"; log "kafka: creating the SCRAM user $KAFKA_SCRAM_USER failed, see $out"; return 1
  fi
}

kafka_up() {
  if kafka_answers; then
    # Never restart a running broker from here (it serves every test): say what differs instead.
    local running; running=$(cat "$DATA_DIR/kafka.version" 2>/dev/null || echo "3.9.1 or older")
    [ "$running" != "$KAFKA_VERSION" ] && log "kafka: $running is running, not $KAFKA_VERSION; \`infra.sh down kafka\` then \`up kafka\` to switch"
    kafka_tls_answers || log "kafka: the running broker has no SASL_SSL :$KAFKA_SASL_PORT / SSL :$KAFKA_MTLS_PORT listener (started by an older script); \`infra.sh down kafka\` then \`up kafka\` to add them"
    log "kafka already up"
    # A broker of ours whose SCRAM user is not made yet (an earlier `up` failed there): make it now.
    if [ "$running" = "$KAFKA_VERSION" ] && pid_alive "$DATA_DIR/kafka.pid"; then kafka_scram_users || return 1; fi
    return 0
  fi
  local rc=0; starting_already kafka 90 kafka_answers || rc=$?
  [ "$rc" -ne 2 ] && return "$rc"
  local p; for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_PORT" "$KAFKA_MTLS_PORT"; do
    port_busy_by_other kafka "$p" && return 1
  done
  kafka_fetch || return 1
  kafka_make_auth || return 1
  mkdir -p "$KAFKA_DATA/app-logs"
  (umask 077; sed -e "s:@DATA@:$KAFKA_DATA:g" -e "s:@AUTH@:$KAFKA_AUTH:g" -e "s:@PORT@:$KAFKA_PORT:g" \
      -e "s:@CTL_PORT@:$KAFKA_CONTROLLER_PORT:g" -e "s:@SASL_PORT@:$KAFKA_SASL_PORT:g" -e "s:@MTLS_PORT@:$KAFKA_MTLS_PORT:g" \
      -e "s:@KEYSTORE_PASSWORD@:$(cat "$KAFKA_AUTH/keystore-password"):g" -e "s:@PLAIN_PASSWORD@:$(cat "$KAFKA_AUTH/plain-password"):g" \
      "$REPO_ROOT/infra/local/kafka/server.properties" > "$KAFKA_DATA/server.properties")
  if [ ! -f "$KAFKA_DATA/metadata/meta.properties" ]; then
    # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding; Kafka refuses one
    # starting with '-' (it would read as a command-line flag).
    local id=""
    until [ -n "$id" ] && [ "${id:0:1}" != "-" ]; do
      id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    log "kafka: formatting storage for $KAFKA_VERSION (cluster id $id)"
    kafka_java kafka.tools.StorageTool format -t "$id" -c "$KAFKA_DATA/server.properties" --ignore-formatted \
      >>"$KAFKA_DATA/app-logs/format.log" 2>&1 \
      || { log "kafka: storage format failed, see $KAFKA_DATA/app-logs/format.log"; return 1; }
  fi
  KAFKA_BG=1 kafka_java kafka.Kafka "$KAFKA_DATA/server.properties"
  echo "$KAFKA_VERSION" > "$DATA_DIR/kafka.version"
  if ! wait_for "kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT" 90 kafka_all_answer; then
    tail -n 20 "$KAFKA_DATA/app-logs/stdout.log" "$KAFKA_DATA/app-logs/server.log" 2>/dev/null >&2
    return 1
  fi
  kafka_scram_users
}

kafka_down() {
  stop_pid kafka
  rm -f "$DATA_DIR/kafka.version"
  log "kafka down"
}

kafka_status() {
  print_status kafka "127.0.0.1:$KAFKA_PORT (ctl :$KAFKA_CONTROLLER_PORT, sasl_ssl :$KAFKA_SASL_PORT, ssl :$KAFKA_MTLS_PORT)" kafka_answers || return 1
  # A broker started by an older script answers on PLAINTEXT only: up for most tests, said here.
  kafka_tls_answers || log "kafka: no SASL_SSL :$KAFKA_SASL_PORT / SSL :$KAFKA_MTLS_PORT listener (restart it: down kafka, up kafka)"
  return 0
}
