#!/usr/bin/env bash
# Runs the real Argo CD beside a test bed's control plane, as host processes
# inside the test bed's loopback-only network namespace.
#
#   run.sh start WORKDIR NAME   start redis, repo-server, application-controller,
#                               applicationset-controller and Argo Rollouts'
#                               rollouts-controller for the test bed
#                               whose work dir is WORKDIR and whose network
#                               namespace is NAME (works from outside the
#                               namespace, via `ip netns exec NAME`, or inside it)
#   run.sh stop WORKDIR         stop them (supervisors first, then processes)
#   run.sh status WORKDIR       list them with their pids
#
# Uses $WORKDIR/admin.kubeconfig. Logs go to $WORKDIR/logs/<proc>.log, pids to
# $WORKDIR/pids/<proc>.pid, state to $WORKDIR/argocd/. The controllers wait (in a
# supervisor loop, pid-recorded as <proc>-supervisor.pid) until the product has
# installed Argo CD's CRDs and argocd-cm, then do once what argocd-server would
# do at start-up (argocd-server-init) and run; each argo process is restarted if
# it exits. The rollouts-controller (argo-rollouts, built by build.sh) waits
# in the same way until the product has installed the Rollout CRD (phase 3),
# then runs as upstream's Deployment argo-rollouts/argo-rollouts would, so the
# products' Rollouts (phase 4) go through their canary steps on KWOK's pods.
#
# Ports (all on 127.0.0.1 inside the namespace; each test bed has its own
# namespace, so the defaults do not clash between test beds):
#   KINDOPS_ARGOCD_REDIS_PORT                 6379
#   KINDOPS_ARGOCD_REPO_SERVER_PORT           8081
#   KINDOPS_ARGOCD_REPO_SERVER_METRICS_PORT   8084
#   KINDOPS_ARGOCD_CONTROLLER_METRICS_PORT    8082
#   KINDOPS_ARGOCD_APPSET_METRICS_PORT        8085
#   KINDOPS_ARGOCD_APPSET_PROBE_PORT          8086
#   KINDOPS_ARGOCD_APPSET_WEBHOOK_PORT        7000
#   KINDOPS_ROLLOUTS_METRICS_PORT             8090 (upstream's default)
#   KINDOPS_ROLLOUTS_HEALTHZ_PORT             8087 (upstream's is 8080)
# Settings: each process gets the environment its workload in Argo CD's install
# manifest takes from argocd-cm / argocd-cmd-params-cm (read at each start, and
# the process is restarted when the workload's pod template changes, e.g. after
# `kubectl rollout restart`), so what the product writes there takes effect as
# in a real cluster. Test-bed defaults, used where those ConfigMaps say nothing:
#   KINDOPS_ARGOCD_APP_RESYNC   ARGOCD_RECONCILIATION_TIMEOUT (argocd-cm
#                               timeout.reconciliation) in seconds: the
#                               controller's resync and the repo-server's
#                               revision cache. Default 10; empty = upstream's
#                               (120s resync, 3m revision cache)
#   KINDOPS_ARGOCD_LOGLEVEL     log level of all three (default: upstream's, info)
#   KINDOPS_TESTBED_BIN         where build.sh put the binaries (../bin)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/run.sh"
bin="${KINDOPS_TESTBED_BIN:-$(cd "$here/.." && pwd)/bin}"

REDIS_PORT="${KINDOPS_ARGOCD_REDIS_PORT:-6379}"
REPO_PORT="${KINDOPS_ARGOCD_REPO_SERVER_PORT:-8081}"
REPO_METRICS_PORT="${KINDOPS_ARGOCD_REPO_SERVER_METRICS_PORT:-8084}"
CTRL_METRICS_PORT="${KINDOPS_ARGOCD_CONTROLLER_METRICS_PORT:-8082}"
APPSET_METRICS_PORT="${KINDOPS_ARGOCD_APPSET_METRICS_PORT:-8085}"
APPSET_PROBE_PORT="${KINDOPS_ARGOCD_APPSET_PROBE_PORT:-8086}"
APPSET_WEBHOOK_PORT="${KINDOPS_ARGOCD_APPSET_WEBHOOK_PORT:-7000}"
ROLLOUTS_METRICS_PORT="${KINDOPS_ROLLOUTS_METRICS_PORT:-8090}"
ROLLOUTS_HEALTHZ_PORT="${KINDOPS_ROLLOUTS_HEALTHZ_PORT:-8087}"
APP_RESYNC="${KINDOPS_ARGOCD_APP_RESYNC-10}"
LOGLEVEL="${KINDOPS_ARGOCD_LOGLEVEL-}"
NAMESPACE=argocd

LOG_TAG=argocd/run
# log, die, netns_exists, pid_alive, pid_of (from $PIDS_DIR) come from lib.sh.
# shellcheck source=tests/testbed/lib.sh
. "$here/../lib.sh"
usage() { die "usage: run.sh start WORKDIR NAME | stop WORKDIR | status WORKDIR"; }

abspath() { (cd "$1" && pwd); }

# Environment shared by all Argo CD processes of this test bed.
argo_env() {
  local w="$1" a="$1/argocd"
  export KUBECONFIG="$w/admin.kubeconfig"
  export ARGOCD_FAKE_IN_CLUSTER=true
  export ARGOCD_GPG_ENABLED=false
  export ARGOCD_ASK_PASS_SOCK="$a/askpass.sock"
  export ARGOCD_TLS_DATA_PATH="$a/tls"
  export ARGOCD_SSH_DATA_PATH="$a/ssh"
  export ARGOCD_GNUPGHOME="$a/gpg/keys"
  export ARGOCD_GPG_DATA_PATH="$a/gpg/source"
  export ARGOCD_PLUGINSOCKFILEPATH="$a/plugins"
  # The repo-server clones into $TMPDIR/_argocd-repo: one per test bed.
  export TMPDIR="$a/tmp"
  export HOME="$a/home"
  export PATH="$bin:$PATH"
}

# True if this shell already runs inside network namespace $1.
inside_netns() { [ "$(ip netns identify "$$" 2>/dev/null)" = "$1" ]; }

# launch PROC CMD...: start CMD detached (own session) in the namespace, log to
# logs/PROC.log; the process itself writes pids/PROC.pid before it execs CMD.
launch() {
  local proc="$1"; shift
  local pidfile="$WORKDIR/pids/$proc.pid"
  rm -f "$pidfile"
  setsid "${NSEXEC[@]}" "$self" _exec "$pidfile" "$@" \
    >>"$WORKDIR/logs/$proc.log" 2>&1 </dev/null &
  local i
  for i in $(seq 100); do [ -s "$pidfile" ] && return 0; sleep 0.05; done
  die "$proc did not start (see $WORKDIR/logs/$proc.log)"
}


# ---- internal: _exec PIDFILE CMD... (runs inside the namespace) -------------
cmd_exec() {
  local pidfile="$1"; shift
  echo "$$" >"$pidfile"
  exec "$@"
}

# ---- internal: _supervise WORKDIR PROC WAIT WORKLOAD [K=V...] -- CMD... -------
# Runs CMD as PROC, restarting it when it exits.
#   WAIT=none: start at once. WAIT=rollouts: first wait for the Rollout CRD
#   (rollouts.argoproj.io Established). WAIT=argocd: first wait for Argo CD's CRDs,
#   argocd-cm and AppProject default (made by argocd-server-init).
#   WAIT=argocd-init: wait for the CRDs and argocd-cm, then run
#   argocd-server-init once (only one
#   supervisor may: it creates a random admin password and its hash, which two
#   concurrent runs could pair wrongly).
#   WORKLOAD (e.g. statefulset/argocd-application-controller, or -): the
#   install manifest's workload for this process. Its ConfigMap-sourced env
#   (argocd-cm, argocd-cmd-params-cm) is given to CMD, as the kubelet gives it to
#   the (fake) pod; and when its pod template changes (kubectl rollout
#   restart, a changed env or image, or the workload first appearing), CMD is
#   restarted, as a rollout would replace the pod. A change elsewhere does
#   not restart it, as none replaces a pod: a Deployment's generation also
#   moves when only its annotations change (kube-apiserver
#   pkg/registry/apps/deployment/strategy.go), e.g. when Argo CD adopts it
#   and adds argocd.argoproj.io/tracking-id.
#   K=V...: defaults for CMD's environment, overridden by the workload's env.
cmd_supervise() {
  WORKDIR="$1" proc="$2" wait_for="$3" workload="$4"; shift 4
  local defaults=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do defaults+=("$1"); shift; done
  shift
  argo_env "$WORKDIR"
  local mypid="$WORKDIR/pids/$proc-supervisor.pid" childpid="$WORKDIR/pids/$proc.pid"
  local child="" stopping="" ticker=""
  trap 'stopping=1; pid_alive "$child" && kill -TERM "$child" 2>/dev/null; pid_alive "$ticker" && kill "$ticker" 2>/dev/null; true' TERM INT HUP
  still_wanted() { [ -z "$stopping" ] && [ -f "$mypid" ] && [ "$(cat "$mypid" 2>/dev/null)" = "$$" ]; }
  say() { printf '%s [supervisor] %s\n' "$(date -u +%FT%TZ)" "$*"; }

  if [ "$wait_for" = rollouts ]; then
    say "waiting for CRD rollouts.argoproj.io Established (phase 3 installs Argo Rollouts)"
    local t0=$SECONDS
    until ! still_wanted || crd_established rollouts.argoproj.io; do sleep 2; done
    still_wanted || exit 0
    say "CRD present after $((SECONDS - t0))s"
  elif [ "$wait_for" != none ]; then
    say "waiting for CRDs applications/appprojects/applicationsets.argoproj.io Established and configmap $NAMESPACE/argocd-cm"
    local t0=$SECONDS
    until ! still_wanted || prereqs_ok; do sleep 2; done
    still_wanted || exit 0
    say "prerequisites present after $((SECONDS - t0))s"
  fi
  if [ "$wait_for" = argocd-init ]; then
    until ! still_wanted || "$bin/argocd-server-init" --namespace "$NAMESPACE"; do
      say "argocd-server-init failed; retrying in 3s"; sleep 3
    done
  elif [ "$wait_for" = argocd ]; then
    # The other supervisor's argocd-server-init creates AppProject default last;
    # the ApplicationSet controller reads server.secretkey (webhook) at start.
    until ! still_wanted || kubectl -n "$NAMESPACE" get appproject default -o name >/dev/null 2>&1; do sleep 1; done
    still_wanted || exit 0
  fi

  local n=0 rc gen g wenv tmpl t
  while still_wanted; do
    n=$((n + 1))
    read_workload_env
    gen="$WGEN" wenv=("${WENV[@]}") tmpl="$(template_rev)"
    say "starting $proc (run $n; $workload generation $gen; env from workload:${wenv[*]:+ ${wenv[*]}}): $*"
    # --pdeathsig: the child dies with its supervisor even on SIGKILL.
    env "${defaults[@]}" "${wenv[@]}" setpriv --pdeathsig TERM -- "$@" >>"$WORKDIR/logs/$proc.log" 2>&1 &
    child=$!
    echo "$child" >"$childpid"
    while pid_alive "$child" && still_wanted; do
      sleep 10 & ticker=$!
      wait "$ticker" 2>/dev/null || true
      [ "$workload" != - ] && still_wanted && pid_alive "$child" || continue
      t="$(template_rev)"
      [ -n "$t" ] && [ "$t" != none ] || continue
      [ "$t" = "$tmpl" ] && continue
      g="$(kubectl -n "$NAMESPACE" get "$workload" -o 'jsonpath={.metadata.generation}' 2>/dev/null || true)"
      if [ "$tmpl" = none ]; then
        # The workload appeared after this process started (the product
        # installed Argo CD): restart only if its env differs from ours.
        read_workload_env
        if [ "${WENV[*]}" = "${wenv[*]}" ]; then
          say "$workload appeared (generation $WGEN), same env: keeping $proc running"
          gen="$WGEN" tmpl="$t"; continue
        fi
      fi
      say "$workload pod template changed (generation $gen -> $g): restarting $proc, as a rollout would"
      kill -TERM "$child" 2>/dev/null || true
    done
    # No longer wanted (pid file gone: the test bed is being torn down): stop it.
    pid_alive "$child" && ! still_wanted && kill -TERM "$child" 2>/dev/null
    # A trapped signal interrupts wait: wait again until the child has ended.
    rc=0; wait "$child" 2>/dev/null || rc=$?
    while pid_alive "$child"; do rc=0; wait "$child" 2>/dev/null || rc=$?; done
    say "$proc exited with status $rc"
    still_wanted || break
    # testbed.sh argocd-kill holds a killed process down until argocd-start.
    if [ -e "$WORKDIR/argocd/hold-$proc" ]; then
      say "$proc held down (argocd/hold-$proc) until testbed.sh argocd-start $proc"
      while [ -e "$WORKDIR/argocd/hold-$proc" ] && still_wanted; do sleep 0.5; done
      still_wanted || break
    else
      sleep 2
    fi
  done
  rm -f "$childpid"
}

# Prints a digest of the workload's pod template (.spec.template), `none` if
# the workload does not exist, or nothing if it cannot be read now.
template_rev() {
  [ "$workload" != - ] || { echo none; return 0; }
  local out
  if out="$(kubectl -n "$NAMESPACE" get "$workload" -o 'jsonpath={.spec.template}' 2>&1)"; then
    printf '%s' "$out" | sha256sum | cut -c1-16
  else
    case "$out" in *NotFound*|*"not found"*) echo none ;; esac
  fi
}

# Sets WGEN (the workload's generation, or none) and WENV (its ConfigMap env).
read_workload_env() {
  WGEN=none WENV=()
  [ "$workload" != - ] || return 0
  local kv
  while IFS= read -r -d '' kv; do
    case "$kv" in '#generation='*) WGEN="${kv#*=}" ;; *) WENV+=("$kv") ;; esac
  done < <("$bin/argocd-workload-env" --namespace "$NAMESPACE" --kind "${workload%%/*}" \
             --name "${workload#*/}" 2>/dev/null || true)
}

crd_established() {
  [ "$(kubectl get crd "$1" \
      -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" = True ]
}

prereqs_ok() {
  local crd
  for crd in applications appprojects applicationsets; do
    crd_established "$crd.argoproj.io" || return 1
  done
  kubectl -n "$NAMESPACE" get configmap argocd-cm -o name >/dev/null 2>&1
}

# ---- start -------------------------------------------------------------------
cmd_start() {
  [ $# -eq 2 ] || usage
  WORKDIR="$(abspath "$1")" NAME="$2"
  PIDS_DIR="$WORKDIR/pids"
  [ -f "$WORKDIR/admin.kubeconfig" ] || die "no $WORKDIR/admin.kubeconfig"
  local b
  for b in argocd-multicall argocd-application-controller argocd-repo-server \
           argocd-applicationset-controller argocd-git-ask-pass argocd argocd-server-init helm kustomize \
           rollouts-controller; do
    [ -x "$bin/$b" ] || die "$bin/$b missing: run tests/testbed/argocd/build.sh"
  done
  # .ci/deps.sh (`just deps`) installs them.
  command -v git >/dev/null || die "git missing: run 'just deps' (or apt-get install -y git)"
  command -v redis-server >/dev/null \
    || die "redis-server missing: run 'just deps' (or apt-get install -y redis-server)"

  if inside_netns "$NAME"; then NSEXEC=(); else
    netns_exists "$NAME" || die "network namespace $NAME does not exist"
    NSEXEC=(ip netns exec "$NAME")
  fi

  # Idempotent: all running -> nothing to do; some running -> start afresh.
  local p running="" stopped=""
  for p in redis repo-server-supervisor application-controller-supervisor applicationset-controller-supervisor \
           rollouts-controller-supervisor; do
    if pid_alive "$(pid_of "$p")"; then running+=" $p"; else stopped+=" $p"; fi
  done
  if [ -z "$stopped" ]; then
    log "already running in $WORKDIR; reusing it"
    return 0
  fi
  if [ -n "$running" ]; then
    log "partly running in $WORKDIR (missing:$stopped); restarting"
    cmd_stop "$WORKDIR"
  fi

  local a="$WORKDIR/argocd"
  mkdir -p "$WORKDIR/logs" "$WORKDIR/pids" "$a/redis" "$a/tls" "$a/ssh" "$a/gpg/keys" \
           "$a/gpg/source" "$a/plugins" "$a/tmp" "$a/home"
  rm -f "$a/askpass.sock"
  argo_env "$WORKDIR"
  local t0=$SECONDS

  launch redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --dir "$a/redis" --daemonize no --protected-mode yes
  local i
  for i in $(seq 100); do
    "${NSEXEC[@]}" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    pid_alive "$(pid_of redis)" || die "redis exited (see $WORKDIR/logs/redis.log)"
    sleep 0.1
  done

  # Test-bed defaults for settings that the install manifest takes from
  # argocd-cm / argocd-cmd-params-cm: a value the product sets there wins.
  local defaults=()
  [ -n "$APP_RESYNC" ] && defaults+=("ARGOCD_RECONCILIATION_TIMEOUT=${APP_RESYNC}s")
  [ -n "$LOGLEVEL" ] && defaults+=("ARGOCD_REPO_SERVER_LOGLEVEL=$LOGLEVEL"
    "ARGOCD_APPLICATION_CONTROLLER_LOGLEVEL=$LOGLEVEL" "ARGOCD_APPLICATIONSET_CONTROLLER_LOGLEVEL=$LOGLEVEL")
  defaults+=(ARGOCD_REPO_SERVER_LOGFORMAT=text ARGOCD_APPLICATION_CONTROLLER_LOGFORMAT=text
    ARGOCD_APPLICATIONSET_CONTROLLER_LOGFORMAT=text)

  launch repo-server-supervisor "$self" _supervise "$WORKDIR" repo-server none \
    deployment/argocd-repo-server "${defaults[@]}" -- \
    "$bin/argocd-repo-server" --address 127.0.0.1 --port "$REPO_PORT" \
    --disable-tls --client-ca-path '' \
    --metrics-address 127.0.0.1 --metrics-port "$REPO_METRICS_PORT" \
    --redis "127.0.0.1:$REDIS_PORT"

  launch application-controller-supervisor "$self" _supervise "$WORKDIR" application-controller argocd-init \
    statefulset/argocd-application-controller "${defaults[@]}" -- \
    "$bin/argocd-application-controller" --namespace "$NAMESPACE" \
    --repo-server "127.0.0.1:$REPO_PORT" --repo-server-plaintext \
    --redis "127.0.0.1:$REDIS_PORT" --metrics-port "$CTRL_METRICS_PORT"

  launch applicationset-controller-supervisor "$self" _supervise "$WORKDIR" applicationset-controller argocd \
    deployment/argocd-applicationset-controller "${defaults[@]}" -- \
    "$bin/argocd-applicationset-controller" --namespace "$NAMESPACE" \
    --argocd-repo-server "127.0.0.1:$REPO_PORT" --repo-server-plaintext \
    --enable-leader-election=false \
    --metrics-addr "127.0.0.1:$APPSET_METRICS_PORT" --probe-addr "127.0.0.1:$APPSET_PROBE_PORT" \
    --webhook-addr "127.0.0.1:$APPSET_WEBHOOK_PORT"

  # Argo Rollouts' controller, cluster-wide as upstream's install manifest
  # runs it; its own ConfigMaps (argo-rollouts-config, notifications) are read
  # from POD_NAMESPACE, as the Deployment's downward API sets it.
  launch rollouts-controller-supervisor "$self" _supervise "$WORKDIR" rollouts-controller rollouts - \
    POD_NAMESPACE=argo-rollouts -- \
    "$bin/rollouts-controller" --leader-elect=false --logformat text \
    --metricsPort "$ROLLOUTS_METRICS_PORT" --healthzPort "$ROLLOUTS_HEALTHZ_PORT"

  # The repo-server is ready once its gRPC port listens.
  for i in $(seq 300); do
    "${NSEXEC[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$REPO_PORT" 2>/dev/null && break
    if [ "$i" = 300 ]; then
      tail -n 20 "$WORKDIR/logs/repo-server.log" >&2 || true
      die "repo-server does not listen on 127.0.0.1:$REPO_PORT after 30s (see $WORKDIR/logs/repo-server.log)"
    fi
    sleep 0.1
  done
  log "Argo CD started in $((SECONDS - t0))s (redis :$REDIS_PORT, repo-server :$REPO_PORT); controllers start once Argo CD's CRDs and argocd-cm exist"
  log "logs: $WORKDIR/logs/{redis,repo-server,application-controller,applicationset-controller,rollouts-controller}.log"
}

# ---- stop --------------------------------------------------------------------
# Only pids whose command line is one of ours are signalled.
ours() {
  local pid="$1" cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  case "$cmdline" in
    *redis-server*|*argocd*|*rollouts-controller*|*"$self"*) return 0 ;;
  esac
  return 1
}

signal_pids() {
  local sig="$1" f pid; shift
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid="$(cat "$f" 2>/dev/null || true)"
    pid_alive "$pid" && ours "$pid" && kill "-$sig" "$pid" 2>/dev/null || true
  done
}

cmd_stop() {
  [ $# -eq 1 ] || usage
  [ -d "$1" ] || { log "no $1: nothing to stop"; return 0; }
  WORKDIR="$(abspath "$1")"
  PIDS_DIR="$WORKDIR/pids"
  local procs=(application-controller applicationset-controller repo-server rollouts-controller)
  local sup=() kids=() p f
  for p in "${procs[@]}"; do
    sup+=("$WORKDIR/pids/$p-supervisor.pid"); kids+=("$WORKDIR/pids/$p.pid")
  done
  local all=("${sup[@]}" "${kids[@]}" "$WORKDIR/pids/redis.pid")
  # Supervisors first (they stop their child and do not restart it), then the rest.
  signal_pids TERM "${sup[@]}"
  sleep 0.2
  signal_pids TERM "${kids[@]}" "$WORKDIR/pids/redis.pid"
  local i left
  for i in $(seq 100); do
    left=""
    for f in "${all[@]}"; do
      [ -f "$f" ] && pid_alive "$(cat "$f" 2>/dev/null)" && ours "$(cat "$f")" && left+=" $f"
    done
    [ -z "$left" ] && break
    sleep 0.1
  done
  [ -z "$left" ] || { log "still running after 10s, killing:$left"; signal_pids KILL "${all[@]}"; }
  rm -f "${all[@]}" "$WORKDIR/argocd/askpass.sock"
  log "Argo CD stopped in $WORKDIR"
}

cmd_status() {
  [ $# -eq 1 ] || usage
  WORKDIR="$(abspath "$1")"
  PIDS_DIR="$WORKDIR/pids"
  local p pid
  for p in redis repo-server-supervisor repo-server application-controller-supervisor \
           application-controller applicationset-controller-supervisor applicationset-controller \
           rollouts-controller-supervisor rollouts-controller; do
    pid="$(pid_of "$p" || true)"
    if pid_alive "$pid"; then
      printf '%-40s %-8s running  rss=%sKiB\n' "$p" "$pid" "$(awk '/^VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null)"
    else
      printf '%-40s %-8s stopped\n' "$p" "${pid:--}"
    fi
  done
}

# Every branch exits: bash reads a script as it runs it, so a long-running
# supervisor must never read on after its function returns (run.sh may have
# been edited meanwhile).
case "${1:-}" in
  start) shift; cmd_start "$@"; exit $? ;;
  stop) shift; cmd_stop "$@"; exit $? ;;
  status) shift; cmd_status "$@"; exit $? ;;
  _exec) shift; cmd_exec "$@"; exit $? ;;
  _supervise) shift; cmd_supervise "$@"; exit $? ;;
  *) usage ;;
esac
