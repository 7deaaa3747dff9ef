#!/usr/bin/env bash
# A real Docker engine (Debian's docker.io) inside the test bed's loopback-only
# network namespace, so nothing it does (an image pull kind asks for) can send
# a packet off this machine: pulls fail at once with "network is unreachable".
#
#   docker.sh start   start dockerd for test bed $KINDOPS_TESTBED_NAME (idempotent)
#   docker.sh stop    stop it
#
# Socket: tests/testbed/work/$NAME/docker/docker.sock (export DOCKER_HOST=unix://...).
# The pid goes to $WORK/pids/dockerd.pid, so `testbed.sh down` stops it too.
#
# Outside a test bed (tests/kind/lane.sh uses it so), these change where it runs:
#   KINDOPS_DOCKER_NETNS    network namespace (must exist; default: the test bed's)
#   KINDOPS_DOCKER_DIR      socket, data-root, exec-root, pid and log (default $WORK/docker)
#   KINDOPS_DOCKER_PIDS     dir to register dockerd.pid in for a teardown; "" = none
#   KINDOPS_DOCKER_RUNTIME  NAME=PATH: an extra OCI runtime, made the default
set -euo pipefail
TB_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
NAME="${KINDOPS_TESTBED_NAME:-kindops-tb}"
WORK="$TB_DIR/work/$NAME"
NETNS="${KINDOPS_DOCKER_NETNS:-$NAME}"
DDIR="${KINDOPS_DOCKER_DIR:-$WORK/docker}"
PIDS="${KINDOPS_DOCKER_PIDS-$WORK/pids}"
RUNTIME="${KINDOPS_DOCKER_RUNTIME:-}"
SOCK="$DDIR/docker.sock"
if [ -n "${KINDOPS_DOCKER_DIR:-}" ]; then LOGF="$DDIR/dockerd.log"; else LOGF="$WORK/logs/dockerd.log"; fi
LOG_TAG="docker $NETNS"
# shellcheck source=tests/testbed/lib.sh
. "$TB_DIR/lib.sh"

in_ns() {
  # `ip netns exec` gives a private mount namespace with a fresh /sys, which
  # hides the host's cgroup mounts that dockerd needs: mount the cgroup v1
  # controllers (those enabled in /proc/cgroups) again, privately, then exec.
  ip netns exec "$NETNS" sh -c '
    set -e
    mountpoint -q /sys/fs/cgroup || mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup
    for c in $(awk "NR>1 && \$4==1 {print \$1}" /proc/cgroups); do
      mkdir -p "/sys/fs/cgroup/$c"
      mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
    done
    exec "$@"' sh "$@"
}

answers() { DOCKER_HOST="unix://$SOCK" timeout 5 docker version >/dev/null 2>&1; }

start() {
  if [ -n "$PIDS" ]; then
    [ -d "$PIDS" ] || { log "test bed $NAME is not up (no $PIDS): run testbed.sh up first"; exit 1; }
  else
    netns_exists "$NETNS" || { log "network namespace $NETNS does not exist"; exit 1; }
  fi
  command -v dockerd >/dev/null || { log "dockerd missing: apt-get install -y docker.io"; exit 1; }
  if answers; then
    register_pid
    log "already running at $SOCK"; echo "unix://$SOCK"; return 0
  fi
  mkdir -p "$DDIR/data" "$DDIR/exec" "$(dirname "$LOGF")"
  local extra=()
  if [ -n "$RUNTIME" ]; then extra=(--add-runtime "$RUNTIME" --default-runtime "${RUNTIME%%=*}"); fi
  # containerd is started by dockerd itself (--containerd unset); no iptables
  # rules on the host: the namespace has only lo anyway.
  in_ns setsid dockerd \
    --host "unix://$SOCK" \
    --data-root "$DDIR/data" \
    --exec-root "$DDIR/exec" \
    --pidfile "$DDIR/dockerd.pid" \
    --iptables=false --ip6tables=false \
    ${extra[@]+"${extra[@]}"} \
    >"$LOGF" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    if answers; then
      # dockerd's own pid (a session leader, through setsid), not the wrapper's.
      register_pid
      log "dockerd up at $SOCK"; echo "unix://$SOCK"; return 0
    fi
    sleep 0.5
  done
  log "dockerd did not answer within 30s; last log lines:"; tail -n 20 "$LOGF" >&2
  exit 1
}

register_pid() { if [ -n "$PIDS" ]; then cp "$DDIR/dockerd.pid" "$PIDS/dockerd.pid"; fi; }

stop() {
  local pidf="$DDIR/dockerd.pid"
  [ -f "$pidf" ] || [ -z "$PIDS" ] || pidf="$PIDS/dockerd.pid"
  [ -f "$pidf" ] || return 0
  local pid; pid=$(cat "$pidf")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$DDIR/dockerd.pid"
  if [ -n "$PIDS" ]; then rm -f "$PIDS/dockerd.pid"; fi
}

case "${1:-}" in
  start) start;;
  stop) stop;;
  *) echo "usage: docker.sh start|stop" >&2; exit 2;;
esac
