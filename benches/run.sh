#!/usr/bin/env bash
# `just bench`: kindops against what users would do by hand (issue 6).
#
# Runs on the host and drives private test beds (bench-apply, bench-argo-k,
# bench-argo-b); everything that talks to a cluster runs inside that test
# bed's loopback-only network namespace (`testbed.sh exec`). Each result line
# ends with the figure and the target: `... ok` or `... missed`. The lines
# also go to target/bench/results.txt, and everything the run prints (its
# raw output) to benches/results/<UTC date>-<commit>.txt, which is committed
# with the figures BENCHMARKS.md quotes from it.
#
# Env: KINDOPS_BENCH_MIRROR (default ../shared/upstream), KINDOPS_BENCH_ROUNDS
# (apply rounds, default 3), KINDOPS_BENCH_ONLY (space-separated subset of:
# apply phase1 tui argocd criterion startup kind caches).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TB="$ROOT/tests/testbed/testbed.sh"
KINDOPS="$ROOT/target/release/kindops"
# The test mirror (tests/mirror.sh: ../shared/upstream plus the packaged
# External Secrets chart) and its pins file.
MIRROR="${KINDOPS_BENCH_MIRROR:-$(bash "$ROOT/tests/mirror.sh")}"
export KINDOPS_PINS="${KINDOPS_PINS:-$MIRROR/pins.yaml}"
ROUNDS="${KINDOPS_BENCH_ROUNDS:-3}"
ONLY="${KINDOPS_BENCH_ONLY:-apply phase1 tui argocd criterion startup kind caches}"
OUT="$ROOT/target/bench"
RESULTS="$OUT/results.txt"
WORK="$(mktemp -d /tmp/kindops-bench.XXXXXX)"
CTX=kindops-testbed
TMUX_SOCK="kindops-bench-$$"
mkdir -p "$OUT" "$ROOT/benches/results"
: >"$RESULTS"
RAW="$ROOT/benches/results/$(date -u +%Y-%m-%d)-$(git -C "$ROOT" rev-parse --short=12 HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src benches || echo -dirty).txt"
exec > >(tee -a "$RAW") 2>&1
echo "# kindops bench, $(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ONLY=$ONLY ROUNDS=$ROUNDS"

LOG_TAG=bench
# shellcheck source=tests/testbed/lib.sh
. "$ROOT/tests/testbed/lib.sh"
result() { echo "$*" | tee -a "$RESULTS"; }
want() { [[ " $ONLY " == *" $1 "* ]]; }
# verdict FIGURE OP TARGET -> ok|missed
verdict() { if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN{exit !((op=="<=")?(a<=b):(a<b))}'; then echo ok; else echo missed; fi; }

BEDS=()
bed() { local name="$1"; shift; KINDOPS_TESTBED_NAME="$name" bash "$TB" "$@"; }
# in_bed NAME CMD...: run inside the test bed's namespace, kindops's data and cache in $WORK.
in_bed() {
  local name="$1"; shift
  KINDOPS_TESTBED_NAME="$name" bash "$TB" exec -- env XDG_DATA_HOME="$WORK/xdg/$name/data" \
    XDG_CACHE_HOME="$WORK/xdg/$name/cache" "$@"
}
# timed NAME CMD...: seconds CMD took inside the namespace (stdout dropped, stderr to a log).
timed() {
  local name="$1"; shift
  in_bed "$name" bash -c 's=$EPOCHREALTIME; "$@" >/dev/null 2>>"'"$WORK"'/timed.log" || exit 1; e=$EPOCHREALTIME; echo "$e - $s" | bc' _ "$@"
}
up_bed() {
  local name="$1"; shift
  BEDS+=("$name")
  local t0=$SECONDS
  bed "$name" up "$@" >/dev/null
  log "test bed $name up ($*) in $((SECONDS - t0))s"
}
down_bed() { bed "$1" down >/dev/null 2>&1 || true; }
cleanup() {
  tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
  local b
  for b in "${BEDS[@]}"; do down_bed "$b"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

T_START=$SECONDS
log "building (release) and the bench binaries"
cargo build --release --quiet
APPLY_BIN="$(cargo bench --no-run --quiet --bench apply --message-format=json 2>/dev/null \
  | jq -r 'select(.reason=="compiler-artifact" and .target.name=="apply" and .executable!=null) | .executable' | tail -1)"
[ -x "$APPLY_BIN" ] || { log "could not build benches/apply.rs"; exit 1; }
"$APPLY_BIN" prepare --mirror "$MIRROR" --out "$WORK/apply" --repo-url "file://$WORK/git/gitops.git"

# The phase files with phase 3 waiting only for what the test bed can make
# Healthy (metrics-server's APIService backend is fake there).
PHASES="$WORK/phases"
cp -r "$ROOT/phases" "$PHASES"
# Older shape: one wait for all three; newer: metrics-server applied and waited for last.
sed -i 's/applications: \[metrics-server, external-secrets, argo-rollouts\]/applications: [external-secrets, argo-rollouts]/' "$PHASES/phase-3.yaml"
sed -i '/- type: wait-applications/{N;/applications: \[metrics-server\]/{N;d}}' "$PHASES/phase-3.yaml"
grep -q 'applications: \[external-secrets, argo-rollouts\]' "$PHASES/phase-3.yaml" && ! grep -q 'applications: \[metrics-server\]' "$PHASES/phase-3.yaml" \
  || { log "phase-3.yaml changed shape; fix the sed"; exit 1; }
# As the tests' test bed does (tests/it/support/bed.rs testbed_phases and
# testbed_content): no team secret store in phase 3 and no ExternalSecret in
# the coffee services. No KWOK pod serves External Secrets' webhook
# (failurePolicy Fail) and no controller syncs an ExternalSecret; the
# real-kind lane measures those.
python3 - "$PHASES/phase-3.yaml" <<'PY' || { log "phase-3.yaml changed shape; fix the secret-store removal"; exit 1; }
import sys
p = sys.argv[1]
text = open(p).read()
store = ("  - type: apply\n    path: bootstrap/phase-3/secret-store.yaml\n  - type: wait-applications\n"
         "    applications: [secret-store]\n    timeout: 5m\n  - type: seed-secrets\n    namespace: team-secrets\n"
         "    apps: apps/coffee\n    prefix: coffee-\n    key: api-key\n")
if store not in text:
    sys.exit(1)
open(p, "w").write(text.replace(store, ""))
PY
export KINDOPS_DEV_CONTENT_OVERLAY="$WORK/testbed-content"
for svc in cart order; do
  k="$ROOT/manifests/gitops/apps/coffee/$svc/kustomization.yaml"
  grep -qx '  - externalsecret.yaml' "$k" || { log "$k changed shape; fix the ExternalSecret removal"; exit 1; }
  mkdir -p "$KINDOPS_DEV_CONTENT_OVERLAY/apps/coffee/$svc"
  grep -vx '  - externalsecret.yaml' "$k" | grep -v "team's secret store" >"$KINDOPS_DEV_CONTENT_OVERLAY/apps/coffee/$svc/kustomization.yaml"
done

UP_ARGS=(--no-tui --context "$CTX" --mirror "$MIRROR" --repo-url "file://$WORK/git/gitops.git" --phases "$PHASES")

result "# kindops benchmarks $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(git -C "$ROOT" rev-parse --short HEAD)"

# ------------------------------------------------ 1, 2, 4b: test bed without Argo CD
if want apply || want phase1 || want tui || want startup; then
  up_bed bench-apply
fi

if want apply; then
  log "1. phase-1 apply: kindops engine vs kubectl apply --server-side vs the raw SSA floor ($ROUNDS rounds, the order rotating)"
  in_bed bench-apply "$APPLY_BIN" compare --dir "$WORK/apply" --rounds "$ROUNDS" | tee -a "$RESULTS"
fi

if want phase1; then
  log "2. phase 1 to all Available: kindops up --phase 1 vs kubectl apply + kubectl wait (2 rounds each, alternating)"
  ko=(); kc=()
  for r in 1 2; do
    for who in $([ $r = 1 ] && echo "kindops byhand" || echo "byhand kindops"); do
      in_bed bench-apply "$APPLY_BIN" reset --dir "$WORK/apply" 2>/dev/null
      if [ $who = kindops ]; then
        t="$(timed bench-apply "$KINDOPS" up --phase 1 "${UP_ARGS[@]}")"; ko+=("$t")
      else
        t="$(timed bench-apply bash "$ROOT/benches/phase1-by-hand.sh" "$WORK/apply")"; kc+=("$t")
      fi
      log "round $r $who ${t}s"
    done
  done
  mko="$(printf '%s\n' "${ko[@]}" | median)"; mkc="$(printf '%s\n' "${kc[@]}" | median)"
  ratio="$(echo "scale=3; $mko / $mkc" | bc)"
  result "phase1_available_kindops_s median=$(printf %.2f "$mko") rounds=[$(printf '%.2f,' "${ko[@]}" | sed 's/,$//')]"
  result "phase1_available_byhand_s median=$(printf %.2f "$mkc") rounds=[$(printf '%.2f,' "${kc[@]}" | sed 's/,$//')]"
  result "phase1_available_vs_byhand ratio=$(printf %.2f "$ratio") target<=0.80 $(verdict "$ratio" '<=' 0.80)"
fi

# cpu_ticks PID: utime+stime in clock ticks.
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
# tui_start NAME: `kindops status --watch` in a 200x50 tmux pane inside the test bed; prints its pid.
tui_start() {
  tmux -L "$TMUX_SOCK" kill-session -t "$1" 2>/dev/null || true
  tmux -L "$TMUX_SOCK" new-session -d -s "$1" -x 200 -y 50 -P -F '#{pane_pid}' \
    "exec env KINDOPS_TESTBED_NAME=bench-apply bash $TB exec -- env XDG_DATA_HOME=$WORK/xdg/tui/data $KINDOPS status --watch --context $CTX"
}
# tui_pid PANE_PID: the kindops process under `ip netns exec` (exec'd, so usually the same pid).
tui_pid() {
  local p="$1" i
  for i in $(seq 1 50); do
    if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = kindops ]; then echo "$p"; return; fi
    local c; c="$(pgrep -P "$p" | head -1 || true)"; [ -n "$c" ] && p="$c"
    sleep 0.1
  done
  return 1
}
# apps_yaml FROM TO: Applications app-FROM..app-TO pointing at a path that does not exist.
apps_yaml() {
  local i
  for i in $(seq "$1" "$2"); do
    printf -- '---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: bench-%05d, namespace: argocd}\nspec:\n  project: default\n  source: {repoURL: "file:///nonexistent/bench.git", path: "apps/%05d", targetRevision: HEAD}\n  destination: {server: "https://kubernetes.default.svc", namespace: default}\n' "$i" "$i"
  done
}

if want tui; then
  log "4b. kindops status --watch: idle CPU with 200 unchanging Applications, peak RSS with 1,000"
  # Argo CD's CRDs and namespace, no Argo CD controller: the Applications stay as created.
  in_bed bench-apply bash -c 'kubectl get ns argocd >/dev/null 2>&1' || in_bed bench-apply "$KINDOPS" up --phase 1 "${UP_ARGS[@]}" >/dev/null
  apps_yaml 1 200 >"$WORK/apps-200.yaml"
  in_bed bench-apply kubectl create -f "$WORK/apps-200.yaml" >/dev/null
  pane="$(tui_start idle)"; pid="$(tui_pid "$pane")"
  sleep 5
  tmux -L "$TMUX_SOCK" capture-pane -p -t idle >"$OUT/tui-idle-200.txt"
  hz="$(getconf CLK_TCK)"
  a="$(cpu_ticks "$pid")"; s=$EPOCHREALTIME
  sleep 30
  b="$(cpu_ticks "$pid")"; e=$EPOCHREALTIME
  cpu="$(echo "scale=4; ($b - $a) * 100 / $hz / ($e - $s)" | bc)"
  result "tui_idle_cpu_200_apps pct_of_core=$(printf %.3f "$cpu") ticks=$((b - a)) over=30s target<0.5 $(verdict "$cpu" '<' 0.5)"
  tmux -L "$TMUX_SOCK" kill-session -t idle
  apps_yaml 201 1000 >"$WORK/apps-800.yaml"
  in_bed bench-apply kubectl create -f "$WORK/apps-800.yaml" >/dev/null
  pane="$(tui_start rss)"; pid="$(tui_pid "$pane")"
  sleep 4
  # Scroll through the list (end, start) so every row has been laid out once.
  tmux -L "$TMUX_SOCK" send-keys -t rss G; sleep 1
  tmux -L "$TMUX_SOCK" capture-pane -p -t rss >"$OUT/tui-rss-1000.txt"
  tmux -L "$TMUX_SOCK" send-keys -t rss g; sleep 1
  hwm="$(awk '/VmHWM/{print $2}' "/proc/$pid/status")"
  mb="$(echo "scale=1; $hwm / 1024" | bc)"
  # The figure counts only if all 1,000 Applications were loaded (the last
  # one on the screen at the list's end, `G`); otherwise it is a miss,
  # whatever the RSS.
  if grep -q 'bench-01000' "$OUT/tui-rss-1000.txt"; then
    result "tui_peak_rss_1000_apps MB=$mb target<50 $(verdict "$mb" '<' 50)"
  else
    cat "$OUT/tui-rss-1000.txt"
    result "tui_peak_rss_1000_apps MB=$mb loaded=no (bench-01000 not on the screen above) target<50 missed"
  fi
  tmux -L "$TMUX_SOCK" kill-session -t rss
fi

if want startup; then
  log "5. start-up (hyperfine, inside the test bed's namespace: nothing can leave the machine)"
  if command -v hyperfine >/dev/null; then
    hf() { # hf NAME CMD: median seconds
      in_bed bench-apply hyperfine -N --warmup 3 --runs 30 --style none --export-json "$WORK/hf-$1.json" "$2" >/dev/null 2>&1
      jq -r '.results[0].median' "$WORK/hf-$1.json"
    }
  else
    log "hyperfine not installed (just deps); timing 30 runs with bash"
    hf() {
      local i
      for i in $(seq 1 30); do timed bench-apply $2; done | median
    }
  fi
  v="$(hf version "$KINDOPS --version")"; vms="$(echo "$v * 1000" | bc)"
  result "startup_version_ms median=$(printf %.1f "$vms") target<10 $(verdict "$vms" '<' 10)"
  p="$(hf plan-mirror "$KINDOPS plan --mirror $MIRROR")"; pms="$(echo "$p * 1000" | bc)"
  result "startup_plan_ms median=$(printf %.1f "$pms") (with --mirror: counts every object) target<100 $(verdict "$pms" '<' 100)"
  p="$(hf plan "$KINDOPS plan")"; pms="$(echo "$p * 1000" | bc)"
  result "startup_plan_nocache_ms median=$(printf %.1f "$pms") (no mirror, empty cache: counts unknown) target<100 $(verdict "$pms" '<' 100)"
fi

if [[ " ${BEDS[*]} " == *" bench-apply "* ]]; then down_bed bench-apply; fi

# ------------------------------------------------ 3: phases 2-4 with the real Argo CD
# argo_ready NAME: the three Argo CD processes answer on their metrics ports.
argo_ready() {
  local i
  for i in $(seq 1 240); do
    if in_bed "$1" bash -c 'for p in 8082 8084 8085; do curl -sf -o /dev/null --max-time 2 http://127.0.0.1:$p/metrics || exit 1; done'; then
      sleep 2; return 0
    fi
    sleep 0.5
  done
  log "Argo CD did not come up on $1"; return 1
}
# One round of figure 3 each way, on a fresh private test bed each time.
argo_kindops_round() { # $1 round; sets R_TOTAL (s), R_PER (phase:ms,...), R_WALL (s)
  up_bed bench-argo-k --argocd
  in_bed bench-argo-k "$KINDOPS" up --phase 1 "${UP_ARGS[@]}" >/dev/null
  argo_ready bench-argo-k
  local s wall kphases
  s=$EPOCHREALTIME
  in_bed bench-argo-k "$KINDOPS" up --phase 4 "${UP_ARGS[@]}" --output json --timeout 10m >"$WORK/argo-k-$1.jsonl" \
    || { tail -5 "$WORK/argo-k-$1.jsonl" >&2; log "kindops up --phase 4 failed"; exit 1; }
  wall="$(echo "$EPOCHREALTIME - $s" | bc)"
  # elapsed_ms counts from the run's start: phase N took finished - started.
  kphases="$(jq -r 'select((.event=="phase_started" or .event=="phase_finished") and .phase >= 2) | "\(.phase) \(.event) \(.elapsed_ms)"' "$WORK/argo-k-$1.jsonl" \
    | awk '$2=="phase_started"{s[$1]=$3} $2=="phase_finished"{print $1, $3-s[$1]}')"
  down_bed bench-argo-k
  R_TOTAL="$(echo "$kphases" | awk '{s+=$2} END{printf "%.2f", s/1000}')"
  R_PER="$(echo "$kphases" | awk '{printf "%s:%s,", $1, $2}' | sed 's/,$//')"
  R_WALL="$(printf %.2f "$wall")"
}
argo_byhand_round() { # $1 round; sets R_TOTAL (s), R_PER (phase:s,...)
  up_bed bench-argo-b --argocd
  in_bed bench-argo-b "$KINDOPS" up --phase 1 "${UP_ARGS[@]}" >/dev/null
  rm -rf "$WORK/checkout" && git clone -q "$WORK/git/gitops.git" "$WORK/checkout"
  argo_ready bench-argo-b
  in_bed bench-argo-b bash "$ROOT/benches/phases234-by-hand.sh" "$WORK/checkout" >"$WORK/argo-b-$1.txt"
  down_bed bench-argo-b
  R_TOTAL="$(awk '{s+=$3} END{printf "%.2f", s}' "$WORK/argo-b-$1.txt")"
  R_PER="$(awk '{printf "%s:%.2f,", $2, $3}' "$WORK/argo-b-$1.txt" | sed 's/,$//')"
}
if want argocd; then
  ARGO_ROUNDS="${KINDOPS_BENCH_ARGO_ROUNDS:-2}"
  log "3. phases 2-4 with the real Argo CD: kindops (refresh on publish, bench-argo-k) vs by hand (kubectl apply + Argo CD's own poll, bench-argo-b), $ARGO_ROUNDS rounds, alternating"
  ktot=(); btot=(); kper=(); bper=()
  for r in $(seq 1 "$ARGO_ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then sides="k b"; else sides="b k"; fi
    for side in $sides; do
      if [ "$side" = k ]; then
        argo_kindops_round "$r"
        log "round $r kindops ${R_TOTAL}s (per phase ms $R_PER; whole command ${R_WALL}s)"
        ktot+=("$R_TOTAL"); kper+=("$R_PER")
      else
        argo_byhand_round "$r"
        log "round $r by hand ${R_TOTAL}s (per phase s $R_PER)"
        btot+=("$R_TOTAL"); bper+=("$R_PER")
      fi
    done
  done
  ksum="$(printf '%s\n' "${ktot[@]}" | median)"; bsum="$(printf '%s\n' "${btot[@]}" | median)"
  result "argocd_phases_2_4_kindops_s median=$ksum rounds=[$(IFS=,; echo "${ktot[*]}")] per_phase_ms=[$(IFS=' '; echo "${kper[*]}")] target<30 $(verdict "$ksum" '<' 30)"
  result "argocd_phases_2_4_byhand_poll_s median=$bsum rounds=[$(IFS=,; echo "${btot[*]}")] per_phase_s=[$(IFS=' '; echo "${bper[*]}")]"
  result "argocd_phases_2_4_vs_byhand ratio=$(printf %.2f "$(echo "scale=3; $ksum / $bsum" | bc)")"
fi

# ------------------------------------------------ 4a: TUI frame render (criterion)
if want criterion; then
  log "4a. TUI frame render (criterion)"
  cargo bench --quiet --bench tui >"$OUT/criterion-tui.txt" 2>&1 || { cat "$OUT/criterion-tui.txt" >&2; exit 1; }
  crit() { jq -r '.median.point_estimate' "$ROOT/target/criterion/$1/new/estimates.json"; }
  for n in 1000 10000; do
    target=$([ $n = 1000 ] && echo 2 || echo 20)
    f="$(echo "scale=4; $(crit "apps_frame/$n") / 1000000" | bc)"
    t="$(echo "scale=4; $(crit "apps_table/$n") / 1000000" | bc)"
    l="$(echo "scale=4; $(crit "apps_load_and_frame/$n") / 1000000" | bc)"
    e="$(echo "scale=4; $(crit "apps_event_and_frame/$n") / 1000000" | bc)"
    result "tui_frame_${n}_apps_ms median=$(printf %.3f "$f") (table alone $(printf %.3f "$t"), whole state from a relist + table $(printf %.3f "$l")) target<$target $(verdict "$f" '<' "$target")"
    result "tui_event_${n}_apps_ms median=$(printf %.3f "$e") (one Application changed: view rebuilt + table) target<20 $(verdict "$e" '<' 20)"
  done
fi

# ------------------------------------------------ 6: the default road on a real kind cluster
if want kind; then
  log "6. the default road on the real-kind lane (benches/kind-road.sh)"
  bash "$ROOT/benches/kind-road.sh" "$RESULTS" "$KINDOPS"
fi

# ------------------------------------------------ 7: phases 0-4 through the pull-through caches (issue 21)
if want caches; then
  log "7. phases 0-4 through the pull-through caches, against the archive preload (benches/kind-caches.sh)"
  bash "$ROOT/benches/kind-caches.sh" "$RESULTS" "$KINDOPS"
fi

log "done in $((SECONDS - T_START))s; results in $RESULTS"
