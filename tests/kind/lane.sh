#!/usr/bin/env bash
# kindops real-kind lane: a real kind cluster, offline, from Debian packages
# and Go modules only. Docker (Debian's dockerd) runs in a network namespace
# with only loopback up, so nothing it or kind does can send a packet off
# this machine. This script is the lane's life cycle (build dispatch, up,
# exec, smoke, down, status); the image recipes are tests/kind/recipes.sh.
#
#   lane.sh build [STEP...]   build images (idempotent; default: the node image
#                             and what it needs). Steps, each runnable alone:
#                               bin base slim kube coredns pause busybox kindnetd
#                               local-path node   (the node image)
#                               redis argocd static git tekton triggers
#                               metrics-server rollouts eso agnhost registry
#                                                 (workload images)
#                               all               (every step)
#   lane.sh up                start dockerd in the namespace (prints DOCKER_HOST)
#   lane.sh exec -- CMD...    run CMD in the namespace with DOCKER_HOST set and
#                             tests/kind/out/bin (kubectl v1.36.3) and kind on PATH
#   lane.sh smoke [--argocd]  kind create cluster, check it (with --argocd: also load the
#                             workload images and run Argo CD's install manifest), kind
#                             delete cluster
#   lane.sh down              remove every container, stop dockerd, remove the namespace
#   lane.sh status            say whether dockerd is up, list the lane's images
#
# KINDOPS_KIND_NAME (default kindops-kind) names the network namespace.
# Output (git-ignored): tests/kind/out/ - bin/ (Go binaries), cache/ (Debian
# .debs, kept), docker/ (dockerd's data-root: the images live there, kept
# across up/down), build/ (scratch, rebuilt as needed).
set -euo pipefail

LANE_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO_ROOT="$(cd "$LANE_DIR/../.." && pwd)"
OUT="$LANE_DIR/out"
BIN="$OUT/bin"
CACHE="$OUT/cache"
SCRATCH="$OUT/build"
NETNS="${KINDOPS_KIND_NAME:-kindops-kind}"
DDIR="$OUT/docker"
SOCK="$DDIR/docker.sock"
export DOCKER_HOST="unix://$SOCK" DOCKER_BUILDKIT=0

K8S_VERSION=v1.36.3
KIND_VERSION=v0.32.0
COREDNS_VERSION=v1.14.2
LOCAL_PATH_VERSION=v0.0.30
CRICTL_VERSION=v1.36.0
ARGOCD_VERSION=v3.5.1
TEKTON_VERSION=v1.15.0
TRIGGERS_VERSION=v0.37.0
METRICS_SERVER_VERSION=v0.9.0
ROLLOUTS_VERSION=v1.9.1
ESO_VERSION=v2.9.0
AGNHOST_TAG=2.53   # the tag manifests/gitops/bases/mini-service names
SUITE=bookworm
MIRROR="${KINDOPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_IMAGE="kindops.local/node:$K8S_VERSION"
BASE_IMAGE="kindops.local/base:$SUITE"
SLIM_IMAGE="kindops.local/debian-slim:$SUITE"
KUBE_IMAGE="kindops.local/kube:$K8S_VERSION"
BUSYBOX_IMAGE="kindops.local/busybox:$SUITE"
STATIC_IMAGE="kindops.local/static:$SUITE"
GIT_IMAGE="kindops.local/git:$SUITE"
RUNTIME_NAME=kindops-runc
SMOKE_CLUSTER="${KINDOPS_KIND_SMOKE_CLUSTER:-kindops-smoke}"

# Go: module proxy only (no direct), the local toolchain, static binaries.
GOPROXY_ONLY="$(go env GOPROXY | tr ',|' '\n\n' | grep -v -x -e direct -e off | paste -sd, - || true)"
[ -n "$GOPROXY_ONLY" ] || { echo "[kind-lane] error: no module proxy in 'go env GOPROXY' (direct is not allowed)" >&2; exit 1; }
export GOPROXY="$GOPROXY_ONLY" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false"
GO_P="${KINDOPS_GO_P:-2}"

LOG_TAG=kind-lane
# log, die, netns_exists, pid_alive...: the test bed's shared shell helpers.
. "$REPO_ROOT/tests/testbed/lib.sh"
case "$NETNS" in ''|*[!a-z0-9-]*) die "KINDOPS_KIND_NAME must be lowercase letters, digits and '-'";; esac

# ---------------------------------------------------------------- docker

DOCKER_SH="$REPO_ROOT/tests/testbed/docker.sh"
docker_sh() {
  KINDOPS_DOCKER_NETNS="$NETNS" KINDOPS_DOCKER_DIR="$DDIR" KINDOPS_DOCKER_PIDS="" \
    KINDOPS_DOCKER_RUNTIME="$RUNTIME_NAME=$LANE_DIR/runc-wrapper.sh" bash "$DOCKER_SH" "$@"
}
in_ns() { ip netns exec "$NETNS" "$@"; }
dk() { in_ns docker "$@"; }
docker_up() { netns_exists "$NETNS" && timeout 5 docker version >/dev/null 2>&1; }

cmd_up() {
  [ "$(id -u)" = 0 ] || die "must run as root (ip netns, dockerd)"
  command -v jq >/dev/null || die "jq missing (the runc wrapper needs it): bash .ci/deps.sh"
  if [ ! -e "/run/netns/$NETNS" ]; then
    ip netns add "$NETNS"
    ip netns exec "$NETNS" ip link set lo up
  fi
  mkdir -p "$DDIR"
  docker_sh start >/dev/null 9>&-   # dockerd must not inherit the lock
  log "dockerd up in namespace $NETNS: DOCKER_HOST=$DOCKER_HOST"
  echo "$DOCKER_HOST"
}

cmd_down() {
  if docker_up; then
    local ids
    ids="$(dk ps -aq)"
    if [ -n "$ids" ]; then
      log "removing containers: $(echo $ids)"
      # shellcheck disable=SC2086
      dk rm -f -v $ids >/dev/null
    fi
    # kind's "kind" network goes with the namespace's bridge when dockerd stops.
  fi
  docker_sh stop
  if netns_exists "$NETNS"; then ip netns del "$NETNS"; fi
  log "down (images kept in $DDIR/data)"
}

cmd_exec() {
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "usage: lane.sh exec -- CMD..."
  docker_up || die "dockerd is not up: run 'tests/kind/lane.sh up' first"
  exec ip netns exec "$NETNS" env DOCKER_HOST="$DOCKER_HOST" PATH="$BIN:$PATH:$(go env GOPATH)/bin" "$@"
}

cmd_status() {
  if docker_up; then
    echo "up: dockerd in namespace $NETNS ($DOCKER_HOST)"
    dk images --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' | sort
    dk ps -a --format '{{.Names}}  {{.Status}}'
  else
    echo "down: $NETNS"; return 1
  fi
}

# ---------------------------------------------------------------- image recipes
# The build helpers and every step_<name> (tests/kind/recipes.sh).
. "$LANE_DIR/recipes.sh"

NODE_STEPS=(bin base slim kube coredns pause busybox kindnetd local-path node)
WORKLOAD_STEPS=(redis argocd static git tekton triggers metrics-server rollouts eso agnhost registry ko)

cmd_build() {
  local steps=("$@")
  [ ${#steps[@]} -gt 0 ] || steps=("${NODE_STEPS[@]}")
  if [ "${steps[0]}" = all ]; then steps=("${NODE_STEPS[@]}" "${WORKLOAD_STEPS[@]}"); fi
  command -v go >/dev/null || die "go is not installed"
  KIND_SRC="$(kind_src)"
  local started=0 t0=$SECONDS s
  for s in "${steps[@]}"; do
    if [ "$s" != bin ] && ! docker_up; then cmd_up >/dev/null; started=1; fi
    local ts=$SECONDS
    case "$s" in
      bin|base|slim|kube|coredns|pause|busybox|kindnetd|node|redis|argocd|static|git|tekton|triggers|rollouts|eso|agnhost|registry) "step_$s";;
      local-path) step_local_path;;
      metrics-server) step_metrics_server;;
      ko) step_ko;;
      *) die "unknown build step '$s' (steps: ${NODE_STEPS[*]} ${WORKLOAD_STEPS[*]} all)";;
    esac
    log "step $s: $((SECONDS - ts))s"
  done
  [ $started = 0 ] || log "dockerd left running (lane.sh down stops it)"
  log "build done in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- smoke

# node_memory NODE: the node container's memory as its cgroup counts it
# (anon RSS and page cache), from inside the node.
node_memory() {
  dk exec "$1" sh -c 'if [ -f /sys/fs/cgroup/memory.stat ]; then
      awk "/^anon /{a=\$2} /^file /{f=\$2} END{printf \"rss %d MiB, page cache %d MiB\", a/1048576, f/1048576}" /sys/fs/cgroup/memory.stat
    else
      awk "/^total_rss /{a=\$2} /^total_cache /{f=\$2} END{printf \"rss %d MiB, page cache %d MiB\", a/1048576, f/1048576}" /sys/fs/cgroup/memory/memory.stat
    fi'
}

# Argo CD's install manifest (test data), with the lane's images loaded into
# the node. The manifest pulls the argocd image with imagePullPolicy: Always,
# which can never succeed offline, so it is applied with IfNotPresent. Patching
# the Deployments afterwards is not enough: while an Always pod retries its
# pull, kubelet 1.36 holds a pull intent for the image, counts it as "pulled by
# kubelet" (KubeletEnsureSecretPulledImages, pkg/kubelet/images/pullmanager)
# and pulls again for the IfNotPresent pods too. What the product does (rewrite
# the policy, or serve a registry mirror) is its call.
smoke_argocd() {
  local t0=$SECONDS imgs=() c
  for c in argocd redis; do imgs+=("$(argocd_image_of "$c")"); done
  run "$kind" load docker-image --name "$SMOKE_CLUSTER" "${imgs[@]}"
  log "kind load docker-image (${imgs[*]}) in $((SECONDS - t0))s"
  run kubectl create namespace argocd
  sed 's/imagePullPolicy: Always$/imagePullPolicy: IfNotPresent/' "$ARGOCD_MANIFEST" \
    | run kubectl apply --server-side -n argocd -f - >/dev/null
  # kindops leaves dex out (platform/argo-cd/kustomization.yaml); so does the lane.
  run kubectl -n argocd delete deployment argocd-dex-server >/dev/null
  run kubectl -n argocd wait --for=condition=Available deployment --all --timeout=300s
  run kubectl -n argocd rollout status statefulset/argocd-application-controller --timeout=300s
  log "Argo CD $ARGOCD_VERSION Available after $((SECONDS - t0))s"
  run kubectl -n argocd get pods -o wide
}

cmd_smoke() {
  local argocd=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --argocd) argocd=1;;
      *) die "smoke: unknown argument '$1'";;
    esac
    shift
  done
  docker_up || die "dockerd is not up: run 'tests/kind/lane.sh up' first"
  need_image "$NODE_IMAGE" node
  KIND_SRC="$(kind_src)"
  local kind; kind="$(command -v kind || echo "$(go env GOPATH)/bin/kind")"
  [ -x "$kind" ] || die "kind missing: bash .ci/deps.sh"
  local kcfg="$OUT/$SMOKE_CLUSTER.kubeconfig" t0=$SECONDS
  run() { ip netns exec "$NETNS" env DOCKER_HOST="$DOCKER_HOST" KUBECONFIG="$kcfg" PATH="$BIN:$PATH" "$@"; }
  run "$kind" delete cluster --name "$SMOKE_CLUSTER" >/dev/null 2>&1 || true
  log "kind create cluster --name $SMOKE_CLUSTER --image $NODE_IMAGE"
  run "$kind" create cluster --name "$SMOKE_CLUSTER" --image "$NODE_IMAGE" --config "$LANE_DIR/kind-config.yaml" \
    --kubeconfig "$kcfg" --retain || { log "kind create cluster failed; node logs: lane.sh exec -- kind export logs --name $SMOKE_CLUSTER"; return 1; }
  log "kind create cluster returned after $((SECONDS - t0))s"
  run kubectl wait --for=condition=Ready node --all --timeout=180s
  log "node Ready after $((SECONDS - t0))s"
  run kubectl -n kube-system wait --for=condition=Ready pod -l k8s-app=kube-dns --timeout=180s
  log "coredns Ready after $((SECONDS - t0))s"
  local helper; helper="$(kind_const storageHelperImage)"
  run kubectl apply -f - <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: smoke}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: smoke}
spec:
  containers:
  - name: sh
    image: $helper
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'echo ok >/data/ok && nslookup kubernetes.default.svc.cluster.local && sleep 3600']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: smoke}
EOF
  run kubectl wait --for=condition=Ready pod/smoke --timeout=180s
  log "pod scheduled and Running (PVC bound through local-path-provisioner) after $((SECONDS - t0))s"
  run kubectl get nodes -o wide
  run kubectl get pods -A -o wide
  run kubectl logs smoke
  log "node $SMOKE_CLUSTER-control-plane memory: $(node_memory "$SMOKE_CLUSTER-control-plane")"
  if [ $argocd = 1 ]; then
    smoke_argocd
    log "node $SMOKE_CLUSTER-control-plane memory with Argo CD: $(node_memory "$SMOKE_CLUSTER-control-plane")"
  fi
  local td=$SECONDS
  run "$kind" delete cluster --name "$SMOKE_CLUSTER"
  log "kind delete cluster in $((SECONDS - td))s; smoke passed in $((SECONDS - t0))s"
}

# One lane command that changes things (build, up, down, smoke) at a time:
# they share the scratch dirs, dockerd and the smoke's cluster name.
lock() {
  mkdir -p "$OUT"
  exec 9>"$OUT/.lock"
  flock -w 1800 9 || die "another lane.sh holds $OUT/.lock"
}

main() {
  local sub="${1:-}"
  [ $# -gt 0 ] && shift
  case "$sub" in build|up|down|smoke) lock;; esac
  case "$sub" in
    build) cmd_build "$@";;
    up) cmd_up "$@";;
    down) cmd_down "$@";;
    exec) cmd_exec "$@";;
    smoke) cmd_smoke "$@";;
    status) cmd_status "$@";;
    *) sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2;;
  esac
}
# One line, so that bash has read all of this file before it runs anything:
# editing the script while a long build runs does not break that build.
main "$@"; exit $?
