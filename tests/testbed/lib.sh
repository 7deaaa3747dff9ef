# Shared shell helpers for the test bed's scripts (testbed.sh, docker.sh,
# argocd/run.sh) and benches/run.sh. Sourced, never run:
#
#   LOG_TAG="testbed $NAME"     # the [tag] every log line starts with
#   . "$TB_DIR/lib.sh"
#
# Defines no state of its own except CONTROL_PLANE; functions that need a
# place take it as an argument or from the variable named in their comment.
# shellcheck shell=bash

# The test bed's control-plane processes, in start order (stop them in reverse).
# shellcheck disable=SC2034 # used by the scripts that source this file
CONTROL_PLANE=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# is_control_plane NAME: true if NAME is one of CONTROL_PLANE.
is_control_plane() {
  local p
  for p in "${CONTROL_PLANE[@]}"; do [ "$1" = "$p" ] && return 0; done
  return 1
}

# log MSG...: one line on stderr, "[$LOG_TAG] MSG".
log() { printf '[%s] %s\n' "${LOG_TAG:-kindops}" "$*" >&2; }
# die MSG...: log "error: MSG" and exit 1.
die() { log "error: $*"; exit 1; }

# netns_exists NS: network namespace NS exists (made by `ip netns add`).
netns_exists() { [ -e "/run/netns/$1" ]; }

# pid_alive PID: PID runs. A killed process stays a zombie until its (adoptive)
# parent reaps it: count it as gone. An empty or non-numeric PID is not alive.
pid_alive() {
  case "${1:-}" in ''|*[!0-9]*) return 1;; esac
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  s="${s##*) }"
  [ "${s%% *}" != Z ]
}

# pid_of NAME: the pid in $PIDS_DIR/NAME.pid; fails (printing nothing) if there is none.
pid_of() { local f="$PIDS_DIR/$1.pid"; [ -s "$f" ] && cat "$f"; }
# alive NAME: the process recorded in $PIDS_DIR/NAME.pid runs.
alive() { local p; p="$(pid_of "$1")" || return 1; pid_alive "$p"; }

# start_proc NAME CMD...: run CMD detached in its own session (so its process
# group can be stopped whole), through the command prefix in the array NSEXEC
# (e.g. ip netns exec NS; may be empty); stdout and stderr appended to
# $LOGS_DIR/NAME.log, pid in $PIDS_DIR/NAME.pid. fds 9 and 8 (the scripts' locks) are
# not inherited.
start_proc() {
  local name="$1"; shift
  mkdir -p "$LOGS_DIR" "$PIDS_DIR"
  ${NSEXEC[@]+"${NSEXEC[@]}"} setsid "$@" >>"$LOGS_DIR/$name.log" 2>&1 </dev/null 9>&- 8>&- &
  echo $! >"$PIDS_DIR/$name.pid"
}

# stop_pidfile FILE: SIGTERM the process group (or, failing that, the process)
# whose leader's pid FILE holds; after 5s SIGKILL it; then remove FILE.
stop_pidfile() {
  local f="$1" p name i
  name="$(basename "$f" .pid)"
  p="$(cat "$f" 2>/dev/null || true)"
  if [ -n "$p" ] && pid_alive "$p"; then
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
    for i in $(seq 1 50); do pid_alive "$p" || break; sleep 0.1; done
    if pid_alive "$p"; then
      log "$name ($p) ignored SIGTERM; SIGKILL"
      kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
      for i in $(seq 1 50); do pid_alive "$p" || break; sleep 0.1; done
    fi
  fi
  rm -f "$f"
}

# show_log FILE [LINES]: log FILE's last LINES (default 40) lines, indented, if it exists.
show_log() {
  if [ -f "$1" ]; then
    log "last lines of $1:"
    tail -n "${2:-40}" "$1" | sed 's/^/    /' >&2
  fi
}
