#!/usr/bin/env bash
# kindops test bed: a real Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler built from Go modules) with KWOK
# faking the nodes, running in a network namespace with only loopback up.
#
#   testbed.sh build                 build every binary into tests/testbed/bin
#   testbed.sh up [--argocd] [--apiserver-count N]
#                                    start a test bed (reuses a running one);
#                                    N > 1 makes kube-apiserver act as one of
#                                    an HA control plane's N (a new CRD then
#                                    waits 5 s before it is Established)
#   testbed.sh exec -- CMD...        run CMD inside the test bed's namespace
#   testbed.sh down                  stop everything, remove netns and work dir
#   testbed.sh status                say whether it is up
#   testbed.sh start-apiserver       start kube-apiserver again if it is not running
#   testbed.sh restart-apiserver     stop kube-apiserver and start it again
#   testbed.sh kill-apiserver        SIGKILL kube-apiserver and leave it down
#                                    (start-apiserver brings it back)
#   testbed.sh argocd-kill PROC      SIGKILL Argo CD's PROC (repo-server,
#                                    application-controller,
#                                    applicationset-controller) and hold it down
#   testbed.sh argocd-start PROC     let its supervisor start PROC again; wait
#                                    until it runs
#
# KINDOPS_TESTBED_NAME (default kindops-tb) names the network namespace and the
# work dir tests/testbed/work/$NAME. Ports are private to each namespace, so
# test beds with different names never clash.
set -euo pipefail

TB_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO_ROOT="$(cd "$TB_DIR/../.." && pwd)"
BIN="$TB_DIR/bin"
NAME="${KINDOPS_TESTBED_NAME:-kindops-tb}"
WORK="$TB_DIR/work/$NAME"
PKI="$WORK/pki"
KUBECONFIG_PATH="$WORK/admin.kubeconfig"
PIDS_DIR="$WORK/pids"
LOGS_DIR="$WORK/logs"
NSEXEC=(ip netns exec "$NAME")

K8S_VERSION="v1.36.3"
KWOK_VERSION="v0.8.0"
KIND_VERSION="v0.32.0"

# Ports are private to each namespace; override only if you must.
ETCD_PORT="${KINDOPS_TESTBED_ETCD_PORT:-2379}"
ETCD_PEER_PORT="${KINDOPS_TESTBED_ETCD_PEER_PORT:-2380}"
APISERVER_PORT="${KINDOPS_TESTBED_APISERVER_PORT:-6443}"
KCM_PORT="${KINDOPS_TESTBED_KCM_PORT:-10257}"
SCHED_PORT="${KINDOPS_TESTBED_SCHEDULER_PORT:-10259}"
NODE_NAME="kwok-node-0"

export GOTOOLCHAIN=local CGO_ENABLED=0

LOG_TAG="testbed $NAME"
# shellcheck source=tests/testbed/lib.sh
. "$TB_DIR/lib.sh"

case "$NAME" in
  ''|*[!a-z0-9-]*) die "KINDOPS_TESTBED_NAME must be lowercase letters, digits and '-' (got '$NAME')";;
esac

# ---------------------------------------------------------------- build

cmd_build() {
  command -v go >/dev/null || die "go is not installed"
  mkdir -p "$BIN"
  local t0=$SECONDS
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  log "building etcd + kube-apiserver + kube-controller-manager + kube-scheduler ($K8S_VERSION)"
  (cd "$TB_DIR/kube" && go build -trimpath \
    -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    -o "$BIN/kube" .)
  local c
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
    ln -sfn kube "$BIN/$c"
  done
  log "building kwok $KWOK_VERSION and kind $KIND_VERSION"
  GOBIN="$BIN" go install -trimpath -ldflags='-s -w' "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  GOBIN="$BIN" go install -trimpath -ldflags='-s -w' "sigs.k8s.io/kind@$KIND_VERSION"
  # KWOK's default stages, as shipped in its module (kustomize/stage/).
  local kwok_dir
  kwok_dir="$(cd "$TB_DIR/kube" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -d "$kwok_dir/kustomize/stage" ] || die "kwok module source not found (got '$kwok_dir')"
  local tmp="$BIN/kwok-stages.yaml.tmp" f first=1
  : >"$tmp"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [ $first = 1 ] || echo '---' >>"$tmp"
    first=0
    cat "$kwok_dir/kustomize/stage/$f" >>"$tmp"
  done
  mv "$tmp" "$BIN/kwok-stages.yaml"
  log "kube binaries, kwok, kind built in $((SECONDS - t0))s"
  if [ -x "$TB_DIR/argocd/build.sh" ] || [ -f "$TB_DIR/argocd/build.sh" ]; then
    log "building Argo CD (tests/testbed/argocd/build.sh)"
    bash "$TB_DIR/argocd/build.sh"
  fi
  log "build done in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- helpers

# log, die, netns_exists, pid_of, pid_alive, alive, start_proc (run in the
# namespace through NSEXEC; fd 9, the lock, not inherited), stop_pidfile,
# show_log and CONTROL_PLANE come from lib.sh.
in_ns() { "${NSEXEC[@]}" "$@"; }

KCTL() { in_ns kubectl --kubeconfig "$KUBECONFIG_PATH" "$@"; }

readyz() {
  in_ns curl -sf --max-time 3 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null 2>&1
}

# wait_for PROC TIMEOUT DESC CHECK...: poll CHECK; fail with PROC's log if PROC dies or time runs out.
FAILED_PROC=""
wait_for() {
  local proc="$1" timeout="$2" desc="$3"; shift 3
  local deadline=$((SECONDS + timeout))
  while ! "$@"; do
    local p
    for p in "${CONTROL_PLANE[@]}"; do
      if [ -f "$PIDS_DIR/$p.pid" ] && ! alive "$p"; then
        FAILED_PROC="$p"; log "$p exited while waiting for $desc"; return 1
      fi
    done
    if [ $SECONDS -ge $deadline ]; then
      FAILED_PROC="$proc"; log "timed out after ${timeout}s waiting for $desc"; return 1
    fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------- PKI

gen_pki() {
  mkdir -p "$PKI"
  (
    cd "$PKI"
    umask 077
    local ec=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256)
    openssl genpkey "${ec[@]}" -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=kindops-testbed-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out ca.crt 2>/dev/null
    cat >server.ext <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1
EOF
    cat >client.ext <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
    openssl genpkey "${ec[@]}" -out server.key 2>/dev/null
    openssl req -new -key server.key -subj "/CN=kube-apiserver" -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
      -extfile server.ext -out server.crt 2>/dev/null
    openssl genpkey "${ec[@]}" -out admin.key 2>/dev/null
    openssl req -new -key admin.key -subj "/O=system:masters/CN=admin" -out admin.csr 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
      -extfile client.ext -out admin.crt 2>/dev/null
    # Service account token signing key (RSA, PKCS#8) and its public half.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    # A static bearer token too, for clients that prefer one.
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >admin.token
    printf '%s,admin,admin,system:masters\n' "$(cat admin.token)" >tokens.csv
    rm -f ./*.csr ./*.srl ./*.ext
  ) || return 1
  local b64="base64 -w0"
  umask 077
  cat >"$KUBECONFIG_PATH" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kindops-testbed
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $($b64 <"$PKI/ca.crt")
users:
- name: kindops-testbed-admin
  user:
    client-certificate-data: $($b64 <"$PKI/admin.crt")
    client-key-data: $($b64 <"$PKI/admin.key")
contexts:
- name: kindops-testbed
  context:
    cluster: kindops-testbed
    user: kindops-testbed-admin
current-context: kindops-testbed
EOF
  chmod 0600 "$KUBECONFIG_PATH"
  umask 022
}

# ---------------------------------------------------------------- components

start_etcd() {
  start_proc etcd "$BIN/etcd" --name default --data-dir "$WORK/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
}

etcd_healthy() { in_ns curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }

start_apiserver() {
  mkdir -p "$WORK/apiserver-certs"
  start_proc kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" --advertise-address=127.0.0.1 \
    --endpoint-reconciler-type=none \
    --tls-cert-file="$PKI/server.crt" --tls-private-key-file="$PKI/server.key" \
    --client-ca-file="$PKI/ca.crt" --token-auth-file="$PKI/tokens.csv" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --authorization-mode=RBAC --allow-privileged=true \
    --cert-dir="$WORK/apiserver-certs" --profiling=false \
    --apiserver-count="$(cat "$WORK/apiserver-count" 2>/dev/null || echo 1)"
}

start_controllers() {
  local allow=--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics
  start_proc kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$KUBECONFIG_PATH" --leader-elect=false \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" "$allow" --cert-dir="$WORK/kcm-certs" \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --controllers='*' --use-service-account-credentials=false --profiling=false \
    --node-monitor-grace-period=5m
  # (--node-monitor-grace-period, default 40s in v1.36: a fault test's API
  # server outage plus a slow restart on a loaded machine outlived it, the node
  # lifecycle controller marked the KWOK node NotReady and its pods unready,
  # and KWOK never makes them Ready again, so every later wait hung. A kubelet
  # would recover; the test bed keeps the node Ready through outages < 5 min.)
  start_proc kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$KUBECONFIG_PATH" --leader-elect=false \
    --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" "$allow" --cert-dir="$WORK/sched-certs" --profiling=false
  start_proc kwok "$BIN/kwok" \
    --kubeconfig="$KUBECONFIG_PATH" --config="$BIN/kwok-stages.yaml" \
    --manage-all-nodes=true --node-ip=127.0.0.1 --node-lease-duration-seconds=40 --cidr=10.244.0.0/16
}

node_ready() {
  local out
  out="$(KCTL get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}|{.spec.taints}' 2>/dev/null)" || return 1
  [ "$out" = "True|" ]
}
default_sa() { KCTL -n default get serviceaccount default >/dev/null 2>&1; }

# KWOK's node-initialize stage declares cpu, memory and pods but no
# ephemeral-storage, so a pod that requests it (argo-rollouts does) would stay
# Pending with "Insufficient ephemeral-storage". Declare some, once initialized.
node_ephemeral_storage() {
  KCTL patch node "$NODE_NAME" --subresource=status --type=merge \
    -p '{"status":{"capacity":{"ephemeral-storage":"200Gi"},"allocatable":{"ephemeral-storage":"200Gi"}}}' >/dev/null
}

create_node() {
  KCTL apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $NODE_NAME
  labels:
    type: kwok
    kubernetes.io/hostname: $NODE_NAME
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
EOF
}

is_up() {
  netns_exists "$NAME" || return 1
  local p
  for p in "${CONTROL_PLANE[@]}"; do alive "$p" || return 1; done
  readyz
}

# ---------------------------------------------------------------- commands

teardown() {
  if [ -d "$PIDS_DIR" ]; then
    local f i extras=""
    # Argo CD and other extras first (supervisors before what they supervise),
    # then the control plane in reverse start order.
    for f in "$PIDS_DIR"/*; do
      [ -e "$f" ] || continue
      case "$f" in *.pid) is_control_plane "$(basename "$f" .pid)" && continue;; esac
      extras=1
    done
    if [ -f "$TB_DIR/argocd/run.sh" ] && [ -n "$extras" ]; then
      bash "$TB_DIR/argocd/run.sh" stop "$WORK" 9>&- >/dev/null 2>&1 || log "argocd/run.sh stop failed; stopping its pids directly"
    fi
    for f in "$PIDS_DIR"/*-supervisor.pid "$PIDS_DIR"/*.pid; do
      [ -e "$f" ] || continue
      is_control_plane "$(basename "$f" .pid)" || stop_pidfile "$f"
    done
    for ((i = ${#CONTROL_PLANE[@]} - 1; i >= 0; i--)); do
      f="$PIDS_DIR/${CONTROL_PLANE[i]}.pid"
      [ -e "$f" ] && stop_pidfile "$f"
    done
  fi
  if netns_exists "$NAME"; then
    ip netns del "$NAME" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}

# One lock for every test bed's up/down (they take seconds): no lock files pile up,
# and two commands never half-start or tear down the same test bed at once.
lock() {
  mkdir -p "$TB_DIR/work"
  exec 9>"$TB_DIR/work/.lock"
  flock -w 900 9 || die "could not lock $TB_DIR/work/.lock within 900s (another testbed.sh holds it)"
}

# A lock of this test bed only, for the faults injected into a running bed
# (start/restart/kill-apiserver): under the one lock above, a fault test's
# kill waited while another bed started or restarted, and landed after the
# deadline it was meant to beat. Lives in the bed's work dir (gone with it);
# `down` takes it too, so a bed is never torn down mid-restart.
lock_bed() {
  [ -d "$WORK" ] || return 0
  exec 8>"$WORK/.lock"
  flock -w 900 8 || die "could not lock $WORK/.lock within 900s (another testbed.sh holds it)"
}

fail_up() {
  local proc="${FAILED_PROC:-$1}"
  log "test bed failed to start at: $2"
  [ -n "$proc" ] && show_log "$LOGS_DIR/$proc.log"
  log "tearing down what was started"
  teardown
  exit 1
}

cmd_up() {
  local argocd=0 apiserver_count=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --argocd) argocd=1;;
      --apiserver-count) apiserver_count="${2:?--apiserver-count needs a number}"; shift;;
      *) die "up: unknown argument '$1'";;
    esac
    shift
  done
  local t0=$SECONDS
  local tool missing=""
  for tool in ip openssl curl kubectl flock setsid base64 od; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
  done
  [ -z "$missing" ] || die "missing tools:$missing (Debian: iproute2 openssl curl util-linux coreutils; kubectl)"
  [ "$(id -u)" = 0 ] || die "must run as root (ip netns needs it)"
  for b in kube etcd kube-apiserver kwok; do
    [ -x "$BIN/$b" ] || die "$BIN/$b missing: run 'tests/testbed/testbed.sh build' first"
  done
  [ -f "$BIN/kwok-stages.yaml" ] || die "$BIN/kwok-stages.yaml missing: run 'tests/testbed/testbed.sh build' first"
  lock
  if is_up; then
    log "already up (readyz ok); reusing it"
    if [ $argocd = 1 ]; then maybe_argocd reused; fi
    echo "$KUBECONFIG_PATH"
    return 0
  fi
  if [ -d "$WORK" ] || netns_exists "$NAME"; then
    log "found a stale or half-started test bed; removing it first"
    teardown
  fi
  mkdir -p "$LOGS_DIR" "$PIDS_DIR"
  # Read by every start of kube-apiserver (start-apiserver keeps it).
  echo "$apiserver_count" >"$WORK/apiserver-count"
  ip netns add "$NAME" || fail_up "" "ip netns add $NAME"
  ip netns exec "$NAME" ip link set lo up || fail_up "" "bringing lo up"
  gen_pki || fail_up "" "generating PKI"

  start_etcd
  wait_for etcd 60 "etcd /health" etcd_healthy || fail_up etcd "etcd"
  start_apiserver
  wait_for kube-apiserver 180 "kube-apiserver /readyz" readyz || fail_up kube-apiserver "kube-apiserver /readyz"
  start_controllers
  create_node || { FAILED_PROC=kube-apiserver; fail_up kube-apiserver "creating Node $NODE_NAME"; }
  wait_for kwok 180 "Node $NODE_NAME Ready without taints" node_ready || fail_up kwok "Node $NODE_NAME Ready"
  node_ephemeral_storage || fail_up kwok "declaring ephemeral-storage on Node $NODE_NAME"
  wait_for kube-controller-manager 120 "ServiceAccount default/default" default_sa \
    || fail_up kube-controller-manager "ServiceAccount default/default"
  log "control plane ready in $((SECONDS - t0))s"
  if [ $argocd = 1 ]; then maybe_argocd fresh; fi
  log "up in $((SECONDS - t0))s; kubeconfig: $KUBECONFIG_PATH"
  echo "$KUBECONFIG_PATH"
}

# maybe_argocd fresh|reused: on a fresh test bed a failure tears it all down;
# on a reused one it only reports (the control plane was fine before us).
maybe_argocd() {
  if [ -f "$TB_DIR/argocd/run.sh" ]; then
    log "starting Argo CD (tests/testbed/argocd/run.sh)"
    if ! bash "$TB_DIR/argocd/run.sh" start "$WORK" "$NAME" 9>&-; then
      [ "$1" = fresh ] && fail_up "" "Argo CD (argocd/run.sh start)"
      die "Argo CD (argocd/run.sh start) failed; the control plane is still up"
    fi
  else
    log "--argocd: tests/testbed/argocd/run.sh does not exist; skipping Argo CD"
  fi
}

cmd_down() {
  lock
  lock_bed
  if [ ! -d "$WORK" ] && ! netns_exists "$NAME"; then
    log "not up; nothing to do"
    return 0
  fi
  teardown
  log "down"
}

cmd_status() {
  if is_up; then
    echo "up: $NAME (kubeconfig $KUBECONFIG_PATH)"
    local f
    for f in "$WORK"/pids/*.pid; do
      [ -e "$f" ] || continue
      local n p; n="$(basename "$f" .pid)"; p="$(cat "$f")"
      if pid_alive "$p"; then echo "  $n pid $p running"; else echo "  $n pid $p NOT running"; fi
    done
    return 0
  fi
  if [ -d "$WORK" ] || netns_exists "$NAME"; then
    echo "broken: $NAME (work dir or namespace exists but the control plane is not healthy)"
    return 2
  fi
  echo "down: $NAME"
  return 1
}

cmd_exec() {
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "exec: no command given (usage: testbed.sh exec -- CMD...)"
  netns_exists "$NAME" || die "test bed '$NAME' is not up (no network namespace); run 'tests/testbed/testbed.sh up' first"
  [ -f "$KUBECONFIG_PATH" ] || die "test bed '$NAME' has no kubeconfig at $KUBECONFIG_PATH"
  exec ip netns exec "$NAME" env \
    KUBECONFIG="$KUBECONFIG_PATH" KINDOPS_TESTBED_KUBECONFIG="$KUBECONFIG_PATH" \
    KINDOPS_TESTBED_NAME="$NAME" KINDOPS_TESTBED_DIR="$WORK" "$@"
}

cmd_start_apiserver() {
  lock_bed
  netns_exists "$NAME" && [ -d "$WORK" ] || die "test bed '$NAME' is not up"
  if alive kube-apiserver; then
    log "kube-apiserver already running"
  else
    start_apiserver
  fi
  wait_for kube-apiserver 180 "kube-apiserver /readyz" readyz || { show_log "$LOGS_DIR/${FAILED_PROC:-kube-apiserver}.log"; exit 1; }
  log "kube-apiserver ready"
}

cmd_restart_apiserver() {
  lock_bed
  netns_exists "$NAME" && [ -d "$WORK" ] || die "test bed '$NAME' is not up"
  [ -e "$PIDS_DIR/kube-apiserver.pid" ] && stop_pidfile "$PIDS_DIR/kube-apiserver.pid"
  start_apiserver
  wait_for kube-apiserver 180 "kube-apiserver /readyz" readyz || { show_log "$LOGS_DIR/${FAILED_PROC:-kube-apiserver}.log"; exit 1; }
  log "kube-apiserver restarted and ready"
}

# A crash, not a shutdown: SIGKILL to the process group, nothing restarts it.
cmd_kill_apiserver() {
  lock_bed
  netns_exists "$NAME" && [ -d "$WORK" ] || die "test bed '$NAME' is not up"
  local p
  p="$(pid_of kube-apiserver)" || die "no kube-apiserver pid file"
  kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do pid_alive "$p" || break; sleep 0.1; done
  pid_alive "$p" && die "kube-apiserver ($p) still runs after SIGKILL"
  rm -f "$PIDS_DIR/kube-apiserver.pid"
  log "kube-apiserver killed (pid $p); start-apiserver starts it again"
}

argocd_proc() {
  case "${1:-}" in
    repo-server|application-controller|applicationset-controller) ;;
    *) die "expected repo-server, application-controller or applicationset-controller (got '${1:-}')";;
  esac
  netns_exists "$NAME" && [ -d "$WORK/argocd" ] || die "test bed '$NAME' has no Argo CD (up --argocd)"
}

# Holds PROC down (argocd/hold-PROC, which its supervisor in argocd/run.sh
# honours) and SIGKILLs it, as a crashed pod whose restart is delayed.
cmd_argocd_kill() {
  argocd_proc "${1:-}"
  local proc="$1" p i
  p="$(pid_of "$proc")" || die "$proc is not running (no pid file)"
  : >"$WORK/argocd/hold-$proc"
  kill -KILL "$p" 2>/dev/null || true
  for i in $(seq 1 50); do pid_alive "$p" || break; sleep 0.1; done
  pid_alive "$p" && die "$proc ($p) still runs after SIGKILL"
  log "$proc killed (pid $p) and held down; argocd-start $proc lets it start again"
}

cmd_argocd_start() {
  argocd_proc "${1:-}"
  local proc="$1" old i p
  old="$(pid_of "$proc" || true)"
  rm -f "$WORK/argocd/hold-$proc"
  for i in $(seq 1 300); do
    p="$(pid_of "$proc" || true)"
    if [ -n "$p" ] && [ "$p" != "$old" ] && pid_alive "$p"; then
      log "$proc started again (pid $p)"
      return 0
    fi
    sleep 0.1
  done
  die "$proc did not start within 30s (see $LOGS_DIR/$proc.log)"
}

sub="${1:-}"
[ $# -gt 0 ] && shift
case "$sub" in
  build) cmd_build "$@";;
  up) cmd_up "$@";;
  down) cmd_down "$@";;
  status) cmd_status "$@";;
  exec) cmd_exec "$@";;
  start-apiserver) cmd_start_apiserver "$@";;
  restart-apiserver) cmd_restart_apiserver "$@";;
  kill-apiserver) cmd_kill_apiserver "$@";;
  argocd-kill) cmd_argocd_kill "$@";;
  argocd-start) cmd_argocd_start "$@";;
  *) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2;;
esac
