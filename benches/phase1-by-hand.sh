#!/usr/bin/env bash
# Phase 1 as the seeds do it by hand: apply Argo CD's install manifest,
# Tekton's release files and the add-ons' CRDs with kubectl (server-side), then wait for every
# workload. Usage: phase1-by-hand.sh DIR (DIR from `apply prepare`).
set -euo pipefail
dir="$1"
apply() {
  local tries=0
  until kubectl apply --server-side --force-conflicts -f "$1" >/dev/null; do
    # The interceptors' CRD (in the triggers file) may not be served yet: retry.
    tries=$((tries + 1)); [ $tries -lt 20 ] || return 1
  done
}
apply "$dir/argocd.yaml"
apply "$dir/tree/upstream/tekton-pipelines/release-v1.15.0.derived.yaml"
apply "$dir/tree/upstream/tekton-triggers/release-v0.37.0.derived.yaml"
apply "$dir/tree/upstream/tekton-triggers/interceptors-v0.37.0.derived.yaml"
# The add-ons' CRDs (External Secrets, Argo Rollouts), as phase 1 applies them.
apply "$dir/addon-crds.yaml"
for ns in argocd tekton-pipelines tekton-pipelines-resolvers; do
  kubectl -n "$ns" wait --for=condition=Available deployment --all --timeout=10m >/dev/null
done
kubectl -n argocd rollout status statefulset/argocd-application-controller --timeout=10m >/dev/null
