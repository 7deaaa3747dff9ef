#!/usr/bin/env bash
# Phases 2-4 by hand with Argo CD left to its own poll: the GitOps repo is
# already pushed; apply each phase's bootstrap Applications/ApplicationSet
# with kubectl and poll with kubectl until they are Synced+Healthy (no
# refresh annotations). Usage: phases234-by-hand.sh CHECKOUT
# Prints one line per phase: `phase N SECONDS`.
set -euo pipefail
repo="$1"
now() { echo "$EPOCHREALTIME"; }
ready() { # ready APP...: all Synced/Healthy
  local a s
  for a in "$@"; do
    s="$(kubectl -n argocd get application "$a" -o 'jsonpath={.status.sync.status}/{.status.health.status}' 2>/dev/null || true)"
    [ "$s" = "Synced/Healthy" ] || return 1
  done
}
appset_apps() { # names of the Applications an ApplicationSet owns
  kubectl -n argocd get applications -o json \
    | jq -r --arg s "$1" '.items[] | select(any(.metadata.ownerReferences[]?; .kind=="ApplicationSet" and .name==$s)) | .metadata.name'
}
wait_apps() { # wait_apps "APPS" "APPSETS"
  local deadline=$((SECONDS + 600)) apps set owned
  while [ $SECONDS -lt $deadline ]; do
    apps="$1"
    for set in $2; do
      owned="$(appset_apps "$set")"
      [ -n "$owned" ] || { sleep 1; continue 2; }
      apps="$apps $owned"
    done
    # shellcheck disable=SC2086
    if ready $apps; then return 0; fi
    sleep 1
  done
  echo "timed out waiting for $1 $2" >&2
  kubectl -n argocd get applications >&2 || true
  return 1
}
phase() { # phase N "APPS" "APPSETS" [FILES...]: apply FILES (default: the whole dir), wait
  local n="$1" apps="$2" sets="$3" t0 f; shift 3
  t0="$(now)"
  if [ $# -eq 0 ]; then set -- "$repo/bootstrap/phase-$n/"; fi
  for f in "$@"; do kubectl apply -f "$f" >/dev/null; done
  wait_apps "$apps" "$sets"
  # Like the phase file: metrics-server goes last and is not waited for (fake APIService backend).
  [ "$n" != 3 ] || kubectl apply -f "$repo/bootstrap/phase-3/metrics-server.yaml" >/dev/null
  echo "phase $n $(echo "$(now) - $t0" | bc)"
}
phase 2 "argo-cd" ""
phase 3 "external-secrets argo-rollouts" "" "$repo/bootstrap/phase-3/external-secrets.yaml" "$repo/bootstrap/phase-3/argo-rollouts.yaml"
phase 4 "coffee-ci" "coffee"
