#!/usr/bin/env bash
# `just bench` section 6: the learner's default road on a real kind cluster
# (issue 14): `kindops up` phases 0-4 with the images preloaded from a mirror
# directory, per phase; a re-run of the converged environment; a learner's own
# push of a new product directory until its Application is Synced+Healthy; a
# learner's code push until the new version serves, fully rolled out (issue
# 22's loop, with its parts); the node container's peak memory. Needs the real-kind lane built
# (`just kind-build all`); everything runs inside the lane's loopback-only
# network namespace (`tests/kind/lane.sh exec`).
#
# Usage: benches/kind-road.sh RESULTS_FILE [KINDOPS]
# Prints result lines as benches/run.sh does (figure, target, ok|missed) and
# appends them to RESULTS_FILE.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RESULTS="$1"
KINDOPS="${2:-$ROOT/target/release/kindops}"
LANE="$ROOT/tests/kind/lane.sh"
NODE_IMAGE="${KINDOPS_KIND_NODE_IMAGE:-kindops.local/node:v1.36.3}"
CLUSTER=ko-bench
WORK="$(mktemp -d /tmp/kindops-kind-bench.XXXXXX)"
TEST_MIRROR="$(bash "$ROOT/tests/mirror.sh")"
export KINDOPS_PINS="${KINDOPS_PINS:-$TEST_MIRROR/pins.yaml}"

LOG_TAG=bench-kind
# shellcheck source=tests/testbed/lib.sh
. "$ROOT/tests/testbed/lib.sh"

# shellcheck source=benches/kind-lib.sh
. "$ROOT/benches/kind-lib.sh"
cleanup() {
  # kindops down: the cluster and, as no other kindops cluster is left on
  # the lane, the registry container with its volume (--purge).
  in_lane "$KINDOPS" down --cluster "$CLUSTER" --purge >/dev/null 2>&1 || true
  in_lane kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  "$LANE" down >/dev/null 2>&1 || true
  # KINDOPS_BENCH_KEEP=1 keeps the run's files (up.jsonl: every step's time).
  if [ -n "${KINDOPS_BENCH_KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
mkdir -p "$WORK/home"

"$LANE" up >/dev/null
in_lane kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
log "mirror with images: kindops fetch --images (not timed)"
mirror_with_images "$WORK/mirror"

UP=(up --no-tui --cluster "$CLUSTER" --node-image "$NODE_IMAGE" --mirror "$WORK/mirror" --ui-port 18083)

log "kindops up, phases 0-4, images preloaded from the mirror"
s=$EPOCHREALTIME
in_lane "$KINDOPS" "${UP[@]}" --output json >"$WORK/up.jsonl" 2>"$WORK/up.err" \
  || { tail -5 "$WORK/up.jsonl" "$WORK/up.err" >&2; log "kindops up failed"; exit 1; }
wall="$(echo "$EPOCHREALTIME - $s" | bc)"
per="$(phase_times "$WORK/up.jsonl")"
result "kind_road_phases_0_4_s wall=$(printf %.1f "$wall") per_phase_s=[$per] target<240 $(verdict "$wall" '<' 240) (baseline: idpbuilder documents ~6 min for its stack on 4 CPUs)"
result "kind_road_images_pulled_from_mirror: not measured (a mirror directory's images reach kind nodes by preload; pulls through the local registry and its caches are issue 21's)"

log "node container's peak memory"
node="$CLUSTER-control-plane"
peak="$(in_lane docker exec "$node" cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes 2>/dev/null \
  || in_lane docker exec "$node" cat /sys/fs/cgroup/memory.peak)"
rss="$(in_lane docker exec "$node" awk '/^total_rss /{print int($2/1048576)}' /sys/fs/cgroup/memory/memory.stat 2>/dev/null || echo '?')"
result "kind_road_node_memory peak_MiB=$((peak / 1048576)) (cgroup, page cache included) rss_now_MiB=$rss"

log "re-run of the converged environment"
s=$EPOCHREALTIME
in_lane "$KINDOPS" "${UP[@]}" >"$WORK/rerun.txt" 2>&1 || { tail -20 "$WORK/rerun.txt" >&2; exit 1; }
rerun="$(echo "$EPOCHREALTIME - $s" | bc)"
changed="$(grep -c '^  ok ' "$WORK/rerun.txt" | tr -d ' ')"
unchanged="$(grep -c '^  ok (unchanged)' "$WORK/rerun.txt" | tr -d ' ')"
result "kind_rerun_converged_s $(printf %.2f "$rerun") steps_changed=$((changed - unchanged)) target<5 $(verdict "$rerun" '<' 5)"

log "a learner's own push: a new product directory"
bare="$WORK/home/data/kindops/$CLUSTER/git/gitops.git"
git clone -q "$bare" "$WORK/clone"
mkdir -p "$WORK/clone/apps/coffee/tea"
# cart's overlay renamed, without its ExternalSecret (tea has no key in the
# team's store; the Rollout mounts its Secret as optional).
sed -e 's/cart/tea/g' -e '/externalsecret.yaml/d' -e "/team's secret store/d" \
  "$WORK/clone/apps/coffee/cart/kustomization.yaml" >"$WORK/clone/apps/coffee/tea/kustomization.yaml"
git -C "$WORK/clone" add -A
git -C "$WORK/clone" -c user.name=learner -c user.email=learner@example.invalid commit -qm "add tea"
s=$EPOCHREALTIME
in_lane git -C "$WORK/clone" push -q origin HEAD:main
hook="$(echo "$EPOCHREALTIME - $s" | bc)"
state=""
for _ in $(seq 1 600); do
  state="$(in_lane kubectl --context "kind-$CLUSTER" -n argocd get application tea \
    -o 'jsonpath={.status.sync.status}/{.status.health.status}' 2>/dev/null || true)"
  [ "$state" = Synced/Healthy ] && break
  sleep 0.25
done
push="$(echo "$EPOCHREALTIME - $s" | bc)"
[ "$state" = Synced/Healthy ] || { log "tea never Synced+Healthy ($state)"; exit 1; }
result "kind_learner_push_to_synced_healthy_s $(printf %.1f "$push") (git push with its post-receive hook $(printf %.2f "$hook") s) target<15 $(verdict "$push" '<' 15)"
# code_push N: edits products/coffee/cart as a learner, commits, pushes, and
# waits until cart answers with the commit from a fully promoted Rollout.
# Sets PARTS (seconds after the push: pipeline started and done, write-back,
# first answer, Rollout promoted) and TOTAL (the last of them).
code_push() {
  local n="$1" commit s el pr done_at="" start_at="" wb_at="" ans_at="" prom_at="" ro ans
  # CI's write-back of the last push moved main: start from it, as a learner would.
  git -C "$WORK/clone" pull -q --rebase origin main
  echo "// A learner's change ($n)." >>"$WORK/clone/products/coffee/cart/server.go"
  git -C "$WORK/clone" -c user.name=learner -c user.email=learner@example.invalid commit -qam "cart: a learner's change ($n)"
  commit="$(git -C "$WORK/clone" rev-parse HEAD)"
  local before; before="$(in_lane kubectl --context "kind-$CLUSTER" -n coffee-ci get pipelineruns -o name 2>/dev/null | sort)"
  s=$EPOCHREALTIME
  in_lane git -C "$WORK/clone" push -q origin HEAD:main
  for _ in $(seq 1 1200); do
    el="$(echo "$EPOCHREALTIME - $s" | bc)"
    if [ -z "$start_at" ] || [ -z "$done_at" ]; then
      pr="$(comm -13 <(echo "$before") <(in_lane kubectl --context "kind-$CLUSTER" -n coffee-ci get pipelineruns -o name 2>/dev/null | sort) | head -1)"
      [ -n "$pr" ] && [ -z "$start_at" ] && start_at="$el"
      [ -n "$pr" ] && [ -z "$done_at" ] && [ "$(in_lane kubectl --context "kind-$CLUSTER" -n coffee-ci get "$pr" \
        -o 'jsonpath={.status.conditions[?(@.type=="Succeeded")].status}' 2>/dev/null)" = True ] && done_at="$el"
    fi
    if [ -z "$wb_at" ] && [ "$(git --git-dir "$bare" rev-list --count "$commit..main")" != 0 ]; then wb_at="$el"; fi
    ans="$(in_lane kubectl --context "kind-$CLUSTER" get --raw /api/v1/namespaces/coffee/services/cart-app:http/proxy/ 2>/dev/null | jq -r .version 2>/dev/null || true)"
    [ -z "$ans_at" ] && [ "$ans" = "$commit" ] && ans_at="$el"
    ro="$(in_lane kubectl --context "kind-$CLUSTER" -n coffee get rollout cart-app \
      -o 'jsonpath={.spec.template.spec.containers[0].image} {.status.phase} {.status.stableRS} {.status.currentPodHash}' 2>/dev/null || true)"
    read -r img phase stable current <<<"$ro"
    if [ -n "$ans_at" ] && [ "$img" = "localhost:5001/coffee/cart:$commit" ] && [ "$phase" = Healthy ] && [ -n "$stable" ] && [ "$stable" = "$current" ]; then
      prom_at="$el"; break
    fi
    sleep 0.25
  done
  [ -n "$prom_at" ] || { log "push $n: cart never promoted (started=$start_at done=$done_at write-back=$wb_at answer=$ans_at rollout: $ro)"; exit 1; }
  PARTS="pipeline_started=$(printf %.1f "${start_at:-0}") pipeline_done=$(printf %.1f "${done_at:-0}") write_back=$(printf %.1f "${wb_at:-0}") first_answer=$(printf %.1f "$ans_at") promoted=$(printf %.1f "$prom_at")"
  TOTAL="$prom_at"
}

log "a learner's code push: products/coffee/cart -> test, image, write-back, Argo CD, Rollout canary"
code_push first
result "kind_code_push_first_build_s $(printf %.1f "$TOTAL") ($PARTS; the cluster's first build: ko compiles Go's standard library once) target: none, reported"
code_push second
result "kind_code_push_to_serving_s $(printf %.1f "$TOTAL") ($PARTS; promoted = the canary's 50 % step, its 10 s pause, then 100 %) target<60 $(verdict "$TOTAL" '<' 60)"
in_lane "$KINDOPS" down --cluster "$CLUSTER" >/dev/null

# The push storm and the soak (issue 24): tests/it/kind_loop.rs's storm test on
# its own cluster (debug build of the tests' kindops), its figures line kept.
log "a push storm: 10 pushes in 30 s to cart, order and both, with status --watch soaking ${KINDOPS_SOAK_SECS:-600} s"
if "$LANE" exec -- env PATH="$ROOT/tests/testbed/bin:$PATH" KINDOPS_PINS="$KINDOPS_PINS" KINDOPS_KIND_NODE_IMAGE="$NODE_IMAGE" \
  KINDOPS_SOAK_SECS="${KINDOPS_SOAK_SECS:-600}" cargo test --offline --manifest-path "$ROOT/Cargo.toml" --test it -- --ignored \
  --exact kind_loop::a_push_storm_settles_with_every_write_back_once --nocapture >"$WORK/storm.log" 2>&1; then storm=ok; else storm=missed; fi
line="$(grep '^\[storm\] result' "$WORK/storm.log" | tail -1 | sed 's/^\[storm\] result //')"
[ "$storm" = ok ] || grep -A5 'panicked' "$WORK/storm.log" | head -8 >&2 || true
result "kind_push_storm ${line:-no figures} (every run Succeeded, each product serves its last commit, no write-back twice, git fsck clean; targets: push_max_s<=1, rss last minute within 10 % of the first) $storm"
