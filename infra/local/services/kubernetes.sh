# Kubernetes API only: etcd (http://127.0.0.1:2379) + kube-apiserver (https://127.0.0.1:6443), RBAC on.
# No controller-manager, scheduler or kubelet: tests create pods and patch their status through the
# API, as envtest does. Sourced by infra.sh.
KUBE_BUILD_DIR="$REPO_ROOT/infra/local/kubernetes/build"
# The version is the one the committed build module requires, so bumping it is one command:
# infra/local/kubernetes/update-build-module.sh vX.Y.Z
KUBE_VERSION="$(sed -n 's#^require k8s.io/kubernetes \(v[0-9.]*\)$#\1#p' "$KUBE_BUILD_DIR/go.mod")"
KUBE_BIN="$CACHE_DIR/kubernetes/$KUBE_VERSION/kube-apiserver"
KUBE_DATA="$DATA_DIR/kubernetes"
# The CA, admin token and kubeconfig are the machine's, not the clone's: a second clone (or a second
# work tree) must reach, and report as up, the kube-apiserver another clone started. Everything that
# only the apiserver process owns (etcd data, logs, pid) stays in the clone's .data.
KUBE_CRED="${SIGHTLINE_KUBE_CREDENTIALS_DIR:-$CACHE_DIR/kubernetes/credentials}"
KUBE_PORT="${SIGHTLINE_KUBE_PORT:-6443}"
ETCD_PORT="${SIGHTLINE_ETCD_PORT:-2379}"
ETCD_PEER_PORT=$((ETCD_PORT + 1)) ETCD_METRICS_PORT=$((ETCD_PORT + 2))
# Inside docker compose the checks run from another container (see docker-compose.yml kube-ready).
KUBE_HOST="${KUBE_HOST:-127.0.0.1}"

etcd_answers() { curl -fs --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
# /readyz is readable without credentials (system:public-info-viewer), so no token is needed here.
kube_answers() {
  kube_find_credentials
  [ -f "$KUBE_CRED/pki/ca.crt" ] && \
    [ "$(curl -fs --max-time 3 --cacert "$KUBE_CRED/pki/ca.crt" "https://$KUBE_HOST:$KUBE_PORT/readyz")" = ok ]
}

# Before the credentials were shared they lived in the clone's .data/kubernetes, and an apiserver
# started then still trusts exactly those: adopt them (copied, so that clone keeps working as it was).
kube_find_credentials() {
  [ -f "$KUBE_CRED/kubeconfig" ] && return 0
  [ -f "$KUBE_DATA/kubeconfig" ] && [ -f "$KUBE_DATA/pki/ca.crt" ] && [ "$KUBE_DATA" != "$KUBE_CRED" ] || return 0
  kube_credentials_locked kube_adopt_credentials
}
kube_adopt_credentials() {
  [ -f "$KUBE_CRED/kubeconfig" ] && return 0
  mkdir -p "$KUBE_CRED"; chmod 700 "$KUBE_CRED"
  cp -a "$KUBE_DATA/pki" "$KUBE_DATA/tokens.csv" "$KUBE_DATA/admin-auth-header" "$KUBE_CRED/" || return 1
  # kubeconfig last: its presence means the set is complete
  cp -a "$KUBE_DATA/kubeconfig" "$KUBE_CRED/kubeconfig"
  log "kubernetes: credentials of $KUBE_DATA now shared from $KUBE_CRED"
}

# Two clones may create (or adopt) the shared credentials at the same moment.
kube_credentials_locked() {
  mkdir -p "$(dirname "$KUBE_CRED")"
  ( flock 8; "$@" 8>&- ) 8>"$KUBE_CRED.lock"
}

# kube_api METHOD PATH [JSON]  -- prints the HTTP status. The bearer token is read by curl from a file
# (-H @file) so it never appears on a command line or in a log.
kube_api() {
  local args=(-s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$KUBE_CRED/pki/ca.crt"
    -H "@$KUBE_CRED/admin-auth-header" -X "$1")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data "$3")
  curl "${args[@]}" "https://$KUBE_HOST:$KUBE_PORT$2"
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

kube_install_etcd() {
  command -v etcd >/dev/null && return 0
  log "kubernetes: installing etcd (Debian package etcd-server)"
  need_apt etcd-server
}

kube_build_apiserver() {
  [ -x "$KUBE_BIN" ] && return 0
  [ -n "$KUBE_VERSION" ] || { log "kubernetes: no 'require k8s.io/kubernetes vX.Y.Z' in $KUBE_BUILD_DIR/go.mod"; return 1; }
  command -v go >/dev/null || { log "kubernetes: go is not installed (needed to build kube-apiserver)"; return 1; }
  log "kubernetes: building kube-apiserver $KUBE_VERSION (first time only; ~15 min on 2 cores)"
  mkdir -p "$(dirname "$KUBE_BIN")"
  local v=k8s.io/component-base/version minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  # -p 2 keeps memory bounded on small machines; the version stamps make /version report the release.
  (cd "$KUBE_BUILD_DIR" && GOFLAGS=-buildvcs=false go build -p 2 -trimpath \
    -ldflags "-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
    -o "$KUBE_BIN.tmp" k8s.io/kubernetes/cmd/kube-apiserver) >&2 || return 1
  mv "$KUBE_BIN.tmp" "$KUBE_BIN"
}

# First start on this machine only: CA, serving certificate, service-account key, admin token, kubeconfig.
kube_init_credentials() {
  kube_find_credentials
  [ -f "$KUBE_CRED/kubeconfig" ] && return 0
  kube_credentials_locked kube_init_credentials_locked
}
kube_init_credentials_locked() {
  local pki="$KUBE_CRED/pki"
  [ -f "$KUBE_CRED/kubeconfig" ] && return 0
  mkdir -p "$pki"; chmod 700 "$KUBE_CRED" "$pki"
  (
    cd "$pki" && umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=sightline-local-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kube-apiserver\nextendedKeyUsage=serverAuth\n' > apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f apiserver.csr apiserver.ext
  ) || { log "kubernetes: openssl failed generating certificates under $pki"; return 1; }
  local token; token="$(openssl rand -hex 32)"
  (
    umask 077
    # Group system:masters: the admin user is allowed everything, as in a kubeadm admin.conf.
    printf '%s,sightline-admin,sightline-admin,system:masters\n' "$token" > "$KUBE_CRED/tokens.csv"
    printf 'Authorization: Bearer %s\n' "$token" > "$KUBE_CRED/admin-auth-header"
    # written aside and renamed: its presence means the set is complete
    cat > "$KUBE_CRED/kubeconfig.tmp" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: sightline-local
  cluster:
    server: https://127.0.0.1:$KUBE_PORT
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: sightline-admin
  user:
    token: $token
contexts:
- name: sightline-local
  context:
    cluster: sightline-local
    user: sightline-admin
    namespace: default
current-context: sightline-local
KUBECONFIG
    mv "$KUBE_CRED/kubeconfig.tmp" "$KUBE_CRED/kubeconfig"
  )
}

kube_start_etcd() {
  if etcd_answers; then
    # On a host with systemd the Debian package starts its own etcd on the same port.
    pid_alive "$DATA_DIR/kubernetes-etcd.pid" \
      || log "kubernetes: an etcd not started by infra.sh answers on :$ETCD_PORT (Debian's etcd.service? 'systemctl disable --now etcd'); using it"
    return 0
  fi
  mkdir -p "$KUBE_DATA/etcd"; chmod 700 "$KUBE_DATA/etcd"
  # kube-apiserver finds that etcd 3.4.23 cannot answer on-demand progress requests, so its watch cache
  # only learns the current revision from periodic progress notifications; at etcd's default (10m) a
  # watch opened right after a write elsewhere fails with "Too large resource version" after 3s.
  start_bg kubernetes-etcd "$KUBE_DATA/etcd.log" etcd --name sightline \
    --data-dir "$KUBE_DATA/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls http://127.0.0.1:$ETCD_PEER_PORT --initial-advertise-peer-urls http://127.0.0.1:$ETCD_PEER_PORT \
    --initial-cluster sightline=http://127.0.0.1:$ETCD_PEER_PORT \
    --auto-compaction-mode periodic --auto-compaction-retention 1h --quota-backend-bytes 2147483648 \
    --listen-metrics-urls http://127.0.0.1:$ETCD_METRICS_PORT --logger zap --log-level warn \
    --experimental-watch-progress-notify-interval 500ms
  wait_for "etcd (http://127.0.0.1:$ETCD_PORT)" 30 etcd_answers \
    || { tail -n 20 "$KUBE_DATA/etcd.log" >&2; return 1; }
}

kube_start_apiserver() {
  local pki="$KUBE_CRED/pki"
  start_bg kubernetes "$KUBE_DATA/kube-apiserver.log" "$KUBE_BIN" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --secure-port "$KUBE_PORT" --advertise-address 127.0.0.1 \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --token-auth-file "$KUBE_CRED/tokens.csv" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 \
    --endpoint-reconciler-type none \
    --cert-dir "$pki" \
    --v 0
  # Loopback cannot be a Service endpoint, hence no endpoint reconciler.
  wait_for "kube-apiserver (https://127.0.0.1:$KUBE_PORT)" 90 kube_answers \
    || { tail -n 30 "$KUBE_DATA/kube-apiserver.log" >&2; return 1; }
}

# No controller-manager creates the `default` ServiceAccount, and the ServiceAccount admission plugin
# rejects pods in a namespace without one; create it for the `default` namespace (tests do the same
# for namespaces they create).
kube_default_ns_exists() { [ "$(kube_api GET /api/v1/namespaces/default)" = 200 ]; }
kube_default_serviceaccount() {
  wait_for "namespace default" 30 kube_default_ns_exists || return 1
  local code; code="$(kube_api POST /api/v1/namespaces/default/serviceaccounts '{"metadata":{"name":"default"}}')"
  case "$code" in 201|409) return 0 ;; *) log "kubernetes: creating ServiceAccount default/default returned HTTP $code"; return 1 ;; esac
}

kubernetes_up() { svc_locked kubernetes kubernetes_up_locked; }
kubernetes_up_locked() {
  if kube_answers; then log "kubernetes: already up"; return 0; fi
  kube_install_etcd || return 1
  kube_build_apiserver || return 1
  kube_init_credentials || return 1
  kube_start_etcd || return 1
  stop_pid kubernetes  # a half-started apiserver from an earlier failed `up`
  kube_start_apiserver || return 1
  kube_default_serviceaccount
}

kubernetes_down() { stop_pid kubernetes; stop_pid kubernetes-etcd; }

kubernetes_status() {
  local rc=0
  print_status etcd "http://127.0.0.1:$ETCD_PORT" etcd_answers || rc=1
  print_status kubernetes "https://127.0.0.1:$KUBE_PORT" kube_answers || rc=1
  return $rc
}
