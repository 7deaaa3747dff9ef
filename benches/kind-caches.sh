#!/usr/bin/env bash
# `just bench` section 7 (issue 21): phases 0-4 on the real-kind lane through
# kindops's pull-through caches, against the named baseline "archive
# preload" (the same phases with every image loaded from a `--mirror`
# directory by `kind load`, run first in this script, on the same machine).
#   a. baseline: phases 0-4, every image preloaded from the mirror;
#   b. first cluster through the caches: no preload but Tekton's image pinned
#      by digest (no local build can have upstream's digest), every other
#      image pulled by the node through its registry's cache from a stand-in
#      "internet" registry (`--upstream-mirror` for all seven); the stand-in's
#      fill (docker push) is timed apart: on a laptop that is the download;
#   c. `kindops down`, the stand-in stopped, a second cluster with
#      `--offline`: every image from the caches' volumes (target < 100 s).
# Needs the real-kind lane built (`just kind-build all`); everything runs
# inside the lane's loopback-only network namespace (`tests/kind/lane.sh exec`).
#
# Usage: benches/kind-caches.sh RESULTS_FILE [KINDOPS]
# Prints result lines as benches/run.sh does (figure, ratio to the baseline,
# target, ok|missed) and appends them to RESULTS_FILE.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RESULTS="$1"
KINDOPS="${2:-$ROOT/target/release/kindops}"
LANE="$ROOT/tests/kind/lane.sh"
NODE_IMAGE="${KINDOPS_KIND_NODE_IMAGE:-kindops.local/node:v1.36.3}"
CLUSTER=ko-bench-caches
INTERNET=kotest-internet
INTERNET_PORT=5097
HOSTS=(cgr.dev docker.io gcr.io ghcr.io public.ecr.aws quay.io registry.k8s.io)
WORK="$(mktemp -d /tmp/kindops-caches-bench.XXXXXX)"
TEST_MIRROR="$(bash "$ROOT/tests/mirror.sh")"
export KINDOPS_PINS="${KINDOPS_PINS:-$TEST_MIRROR/pins.yaml}"

LOG_TAG=bench-caches
# shellcheck source=tests/testbed/lib.sh
. "$ROOT/tests/testbed/lib.sh"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

# shellcheck source=benches/kind-lib.sh
. "$ROOT/benches/kind-lib.sh"
cleanup() {
  # The caches' and the registry's volumes go too (--purge): the next bench
  # starts cold.
  in_lane "$KINDOPS" down --cluster "$CLUSTER" --purge >/dev/null 2>&1 || true
  in_lane kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  in_lane docker rm -f "$INTERNET" >/dev/null 2>&1 || true
  "$LANE" down >/dev/null 2>&1 || true
  if [ -n "${KINDOPS_BENCH_KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
mkdir -p "$WORK/home"

"$LANE" up >/dev/null
in_lane "$KINDOPS" down --cluster "$CLUSTER" --purge --force >/dev/null 2>&1 || true
in_lane docker rm -f "$INTERNET" >/dev/null 2>&1 || true

# up_timed LABEL ARGS...: `kindops up ARGS --output json`; sets WALL (s) and PER (phase:s ...).
up_timed() {
  local label="$1"; shift
  local s; s=$EPOCHREALTIME
  in_lane "$KINDOPS" up --no-tui --cluster "$CLUSTER" --node-image "$NODE_IMAGE" --ui-port 18084 --output json "$@" \
    >"$WORK/$label.jsonl" 2>"$WORK/$label.err" \
    || { tail -5 "$WORK/$label.jsonl" "$WORK/$label.err" >&2; log "kindops up ($label) failed"; exit 1; }
  WALL="$(echo "$EPOCHREALTIME - $s" | bc)"
  PER="$(phase_times "$WORK/$label.jsonl")"
}

log "mirrors: every image (the baseline), and only the digest-pinned one (not timed)"
mirror_with_images "$WORK/mirror-all"
mirror_with_images "$WORK/mirror-pinned" pinned-only

log "a. baseline, archive preload: phases 0-4 with every image loaded from the mirror"
up_timed preload --mirror "$WORK/mirror-all"
base="$WALL"
result "kind_caches_baseline_archive_preload_phases_0_4_s $(printf %.1f "$base") per_phase_s=[$PER] (the named baseline of this section)"
in_lane "$KINDOPS" down --cluster "$CLUSTER" --purge >/dev/null

log "the stand-in internet: every image the phases pull, pushed as its publisher would"
in_lane docker run -d --name "$INTERNET" -p "127.0.0.1:$INTERNET_PORT:5000" docker.io/library/registry:3.1.2 >/dev/null
sleep 1
refs="$(in_lane "$KINDOPS" images --phase 4 --mirror "$WORK/mirror-pinned" --output json \
  | jq -r '.[] | select(.not_preloadable == null) | .reference' \
  | grep -v '@' | grep -v '^docker.io/library/registry:' | grep -v '^gcr.io/distroless/')"
s=$EPOCHREALTIME
# shellcheck disable=SC2016
echo "$refs" | in_lane xargs -P 4 -I{} sh -c 'p="${1#*/}"; docker tag "$1" "localhost:'"$INTERNET_PORT"'/$p" && docker push -q "localhost:'"$INTERNET_PORT"'/$p" >/dev/null && docker rmi "localhost:'"$INTERNET_PORT"'/$p" >/dev/null' _ {}
fill="$(echo "$EPOCHREALTIME - $s" | bc)"
result "kind_caches_internet_fill_s $(printf %.1f "$fill") images=$(echo "$refs" | wc -l) (docker push into the stand-in; a laptop downloads instead) info"

UM=()
for h in "${HOSTS[@]}"; do UM+=(--upstream-mirror "$h=http://$INTERNET:5000"); done
log "b. first cluster through the caches"
up_timed first0 --phase 0 --mirror "$WORK/mirror-pinned" "${UM[@]}"
w0="$WALL"; p0="$PER"
in_lane docker network connect kind "$INTERNET"
up_timed first --mirror "$WORK/mirror-pinned" "${UM[@]}"
first="$(echo "$w0 + $WALL" | bc)"
result "kind_caches_first_cluster_phases_0_4_s $(printf %.1f "$first") per_phase_s=[$p0 $PER] ratio_to_archive_preload=$(ratio "$first" "$base") info"
in_lane "$KINDOPS" down --cluster "$CLUSTER" >/dev/null

log "c. second cluster after down, the stand-in stopped, --offline"
in_lane docker stop "$INTERNET" >/dev/null
up_timed second --mirror "$WORK/mirror-pinned" "${UM[@]}" --offline
second="$WALL"
result "kind_caches_second_cluster_offline_phases_0_4_s $(printf %.1f "$second") per_phase_s=[$PER] ratio_to_archive_preload=$(ratio "$second" "$base") target<100 $(verdict "$second" '<' 100)"
