#!/bin/sh
# The kind lane's OCI runtime for dockerd (registered by lane.sh with
# `--add-runtime kindops-runc=THIS --default-runtime kindops-runc`).
#
# Workaround for this VM, not for a laptop: CAP_SYS_RESOURCE is missing from
# the capability bounding set (/proc/1/status CapBnd bit 24 clear). Debian's
# Docker 20.10 asks for every capability the kernel knows for --privileged
# (fixed upstream in moby#42933, not in 20.10), and kind runs its nodes and
# every `docker exec` privileged, so runc fails with "unable to apply caps:
# operation not permitted". This drops CAP_SYS_RESOURCE from the OCI spec
# (config.json of the bundle for create/run, the --process file for exec)
# and then runs the real runc. Where the capability exists, it changes nothing.
set -eu
REAL_RUNC="${KINDOPS_REAL_RUNC:-/usr/sbin/runc}"

# Bit 24 (CAP_SYS_RESOURCE) of our own bounding set.
bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
if [ $(( (0x$bnd >> 24) & 1 )) -eq 1 ]; then
  exec "$REAL_RUNC" "$@"
fi

# strip FILE JQPATH: remove CAP_SYS_RESOURCE from every list under JQPATH.
strip() {
  [ -f "$1" ] || return 0
  tmp="$1.kindops-tmp"
  jq "if $2 then $2 |= with_entries(.value |= (if type == \"array\" then map(select(. != \"CAP_SYS_RESOURCE\")) else . end)) else . end" \
    "$1" >"$tmp" && mv "$tmp" "$1"
}

# Find the subcommand (first word not an option or an option's value) and
# the bundle / process file. runc's global options that take a value:
# --root, --log, --log-format, --criu, --rootless.
cmd="" bundle="" process="" prev=""
for a in "$@"; do
  case "$prev" in
    --bundle|-b) bundle="$a"; prev=""; continue;;
    --process|-p) process="$a"; prev=""; continue;;
    --root|--log|--log-format|--criu|--rootless|--pid-file|--console-socket) prev=""; continue;;
  esac
  case "$a" in
    --bundle=*) bundle="${a#--bundle=}";;
    --process=*) process="${a#--process=}";;
    --bundle|-b|--process|-p|--root|--log|--log-format|--criu|--rootless|--pid-file|--console-socket) prev="$a";;
    -*) ;;
    *) [ -n "$cmd" ] || cmd="$a";;
  esac
done

case "$cmd" in
  create|run) strip "${bundle:-.}/config.json" .process.capabilities;;
  exec) [ -z "$process" ] || strip "$process" .capabilities;;
esac
exec "$REAL_RUNC" "$@"
