#!/usr/bin/env bash
# One round of figure 3 with the timelines behind it (issue 14): a fresh
# private test bed with Argo CD, `kindops up --phase 1`, then `kindops up
# --phase 4` timed, while every Application and CRD change is recorded with
# a timestamp; then the Applications, the CRDs and Argo CD's logs are kept
# and benches/argo-timeline.py prints, per Application, created -> first
# reconcile -> sync operations -> Synced -> Synced+Healthy, the refresh that
# made it Healthy, and how far Argo CD's cache ran behind the API server on
# CRDs.
#
#   benches/argo-timeline.sh LABEL [KINDOPS] [PHASES_DIR]
#
# KINDOPS defaults to target/release/kindops; PHASES_DIR to a copy of
# phases/ whose phase 3 does not wait for metrics-server (as benches/run.sh
# does). Output: target/bench/timeline/LABEL/. Env: KINDOPS_TESTBED_NAME
# (default speed-tb; never the shared kindops-tb), HOOK (a command run inside
# the test bed after phase 1, for experiments, e.g. patching argocd-cm),
# KEEP=1 (leave the test bed up).
# Single quotes on purpose: the commands run inside the test bed's namespace.
# shellcheck disable=SC2016,SC2317
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LABEL="${1:?usage: argo-timeline.sh LABEL [KINDOPS] [PHASES_DIR]}"
KO="$(readlink -f "${2:-$ROOT/target/release/kindops}")"
export KINDOPS_TESTBED_NAME="${KINDOPS_TESTBED_NAME:-speed-tb}"
[ "$KINDOPS_TESTBED_NAME" != kindops-tb ] || { echo "use a private test bed name" >&2; exit 2; }
TB="$ROOT/tests/testbed/testbed.sh"
MIRROR="$(bash "$ROOT/tests/mirror.sh")"
export KINDOPS_PINS="$MIRROR/pins.yaml"
OUT="$ROOT/target/bench/timeline/$LABEL"
W="$(mktemp -d /tmp/kindops-timeline.XXXXXX)"
rm -rf "$OUT"; mkdir -p "$OUT"
PH="${3:-}"
if [ -z "$PH" ]; then
  PH="$W/phases"; cp -r "$ROOT/phases" "$PH"
  sed -i 's/applications: \[metrics-server, external-secrets, argo-rollouts\]/applications: [external-secrets, argo-rollouts]/' "$PH/phase-3.yaml"
  sed -i '/- type: wait-applications/{N;/applications: \[metrics-server\]/{N;d}}' "$PH/phase-3.yaml"
fi
inb() { bash "$TB" exec -- env XDG_DATA_HOME="$W/data" XDG_CACHE_HOME="$W/cache" "$@"; }
argo_ready() {
  for _ in $(seq 1 240); do
    if inb bash -c 'for p in 8082 8084 8085; do curl -sf -o /dev/null --max-time 2 http://127.0.0.1:$p/metrics || exit 1; done'; then
      sleep 2; return 0
    fi
    sleep 0.5
  done
  echo "Argo CD did not come up" >&2; return 1
}
cleanup() { [ "${KEEP:-}" = 1 ] || bash "$TB" down >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT
bash "$TB" down >/dev/null 2>&1 || true
bash "$TB" up --argocd >"$OUT/up.log" 2>&1
UP=(--no-tui --context kindops-testbed --mirror "$MIRROR" --repo-url "file://$W/git/gitops.git" --phases "$PH")
inb "$KO" up --phase 1 "${UP[@]}" >"$OUT/phase1.log" 2>&1
argo_ready
if [ -n "${HOOK:-}" ]; then
  inb bash -c "$HOOK" >"$OUT/hook.log" 2>&1
  sleep 15; argo_ready
fi
# Every change of an Application (sync, health, operation, reconciledAt, first
# resource not Healthy) and of a CRD (Established), stamped on arrival.
inb bash -c 'timeout 1200 kubectl get applications.argoproj.io -n argocd -w -o json 2>&1 | jq --unbuffered -c "(.items? // [.]) | .[] | [.metadata.name, .status.sync.status, .status.health.status, .status.operationState.phase, .status.reconciledAt, .status.operationState.startedAt, .status.operationState.finishedAt, ([.status.resources[]? | select(.health.status != null and .health.status != \"Healthy\") | .kind + \"/\" + .name + \"=\" + .health.status][0])]" | while IFS= read -r l; do echo "$(date -u +%H:%M:%S.%3N) $l"; done' >"$OUT/apps-watch.txt" &
inb bash -c 'timeout 1200 kubectl get crd -w -o json 2>&1 | jq --unbuffered -c "(.items? // [.]) | .[] | [.metadata.name, ([.status.conditions[]? | select(.type==\"Established\") | .status][0]), .metadata.resourceVersion]" | while IFS= read -r l; do echo "$(date -u +%H:%M:%S.%3N) $l"; done' >"$OUT/crd-watch.txt" &
date -u +%FT%T.%3NZ >"$OUT/start.txt"
s=$EPOCHREALTIME rc=0
inb "$KO" up --phase 4 "${UP[@]}" --output json --timeout 10m >"$OUT/phase4.jsonl" 2>"$OUT/phase4.err" || rc=$?
echo "$EPOCHREALTIME - $s" | bc >"$OUT/wall.txt"
sleep 1
inb kubectl get applications.argoproj.io -n argocd -o yaml >"$OUT/apps.yaml" || true
cp "$ROOT/tests/testbed/work/$KINDOPS_TESTBED_NAME/logs/"*.log "$OUT/" || true
{
  grep -E '==> phase 1: done' "$OUT/phase1.log" | sed 's/==> //' || true
  jq -r 'select((.event=="phase_started" or .event=="phase_finished") and .phase >= 2) | "\(.phase) \(.event) \(.elapsed_ms)"' "$OUT/phase4.jsonl" \
    | awk '$2=="phase_started"{s[$1]=$3} $2=="phase_finished"{printf "phase %s %.1f s\n", $1, ($3-s[$1])/1000}'
  echo "rc=$rc wall=$(cat "$OUT/wall.txt") load=$(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/phases.txt"
python3 "$ROOT/benches/argo-timeline.py" "$OUT" | tee "$OUT/timeline.txt"
exit "$rc"
