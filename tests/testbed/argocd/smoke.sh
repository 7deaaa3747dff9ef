#!/usr/bin/env bash
# End-to-end check of the real Argo CD in a running test bed (started with
# `testbed.sh up --argocd`, or `testbed.sh up` + `argocd/run.sh start`):
# installs Argo CD's install.yaml as phase 1 would, then with a file:// git repo
# checks, timing each step:
#   1. an Application with automated sync becomes Synced + Healthy
#   2. an ApplicationSet (git directory generator over apps/*) creates cart and
#      order, both Synced + Healthy
#   3. a new directory apps/payment -> a new Application, Synced + Healthy;
#      removing it -> the Application and its Deployment are deleted
#   4. drift: deleting a Deployment the Application owns -> OutOfSync/Missing,
#      then self-healed back to Synced + Healthy
#   5. a broken manifest -> ComparisonError with the parser's message; reverting
#      it -> Synced again
# Usage: KINDOPS_TESTBED_NAME=argo-dev tests/testbed/argocd/smoke.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tb="$here/../testbed.sh"
name="${KINDOPS_TESTBED_NAME:-kindops-tb}"
work="$(cd "$here/.." && pwd)/work/$name"
install_yaml="${ARGOCD_INSTALL_YAML:-$(cd "$here/../../.." && pwd)/../shared/upstream/argo-cd/install-v3.5.1.yaml}"
repo="$work/git/smoke"
url="file://$repo"
timeout="${SMOKE_TIMEOUT:-300}"

k() { "$tb" exec -- kubectl "$@"; }
log() { printf '[argocd/smoke] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }
g() { git -C "$repo" -c user.name=smoke -c user.email=smoke@localhost "$@"; }
app_state() { k -n argocd get application "$1" -o 'jsonpath={.status.sync.status}/{.status.health.status}' 2>/dev/null || true; }

# wait_for DESC CMD...: poll CMD (0.5s) until it succeeds; print the time taken.
wait_for() {
  local desc="$1" t0; shift
  t0=$(now)
  local end=$((SECONDS + timeout))
  until "$@"; do
    [ $SECONDS -lt $end ] || die "$desc: not reached within ${timeout}s"
    sleep 0.5
  done
  log "$desc: $(since "$t0")s"
}
is_state() { [ "$(app_state "$1")" = "$2" ]; }
gone() { [ -z "$(k -n argocd get application "$1" -o name --ignore-not-found)" ] &&
         [ -z "$(k -n "$1" get deployment "$1" -o name --ignore-not-found)" ]; }
has_condition() {
  k -n argocd get application "$1" -o 'jsonpath={range .status.conditions[*]}{.type}: {.message}{"\n"}{end}' 2>/dev/null |
    grep -q "^$2"
}

write_app() { # DIR NAME
  mkdir -p "$repo/$1"
  cat >"$repo/$1/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deployment.yaml, service.yaml]
EOF
  cat >"$repo/$1/deployment.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: $2}
spec:
  replicas: 2
  selector: {matchLabels: {app: $2}}
  template:
    metadata: {labels: {app: $2}}
    spec:
      containers:
      - {name: web, image: "registry.example/$2:1.0", ports: [{containerPort: 8080}]}
EOF
  cat >"$repo/$1/service.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: $2}
spec:
  selector: {app: $2}
  ports: [{port: 80, targetPort: 8080}]
EOF
}

[ -f "$install_yaml" ] || die "no $install_yaml (set ARGOCD_INSTALL_YAML)"
"$tb" status >/dev/null 2>&1 || die "test bed $name is not up"

log "phase-1 stand-in: namespace argocd + install.yaml (server-side apply)"
t0=$(now)
k create namespace argocd --dry-run=client -o yaml | k apply -f - >/dev/null
k apply --server-side --force-conflicts -n argocd -f "$install_yaml" >/dev/null
log "install.yaml applied: $(since "$t0")s"
has_default_project() { k -n argocd get appproject default -o name >/dev/null 2>&1; }
wait_for "AppProject default (argocd-server-init)" has_default_project

log "git repo $url"
rm -rf "$repo"; mkdir -p "$repo"
write_app demo guestbook
write_app apps/cart cart
write_app apps/order order
git -C "$repo" init -q -b main
g add -A; g commit -qm init

k apply -f - >/dev/null <<EOF
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook, namespace: argocd}
spec:
  project: default
  source: {repoURL: "$url", targetRevision: main, path: demo}
  destination: {server: https://kubernetes.default.svc, namespace: guestbook}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
EOF
wait_for "1. Application guestbook Synced+Healthy" is_state guestbook Synced/Healthy

k apply -f - >/dev/null <<EOF
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: products, namespace: argocd}
spec:
  goTemplate: true
  generators:
  - git:
      repoURL: "$url"
      revision: main
      directories: [{path: 'apps/*'}]
      requeueAfterSeconds: 10
  template:
    metadata: {name: '{{.path.basename}}'}
    spec:
      project: default
      source: {repoURL: "$url", targetRevision: main, path: '{{.path.path}}'}
      destination: {server: https://kubernetes.default.svc, namespace: '{{.path.basename}}'}
      syncPolicy:
        automated: {prune: true, selfHeal: true}
        syncOptions: [CreateNamespace=true]
EOF
both() { is_state cart Synced/Healthy && is_state order Synced/Healthy; }
wait_for "2. ApplicationSet -> cart, order Synced+Healthy" both

write_app apps/payment payment
g add -A; g commit -qm "add payment"
wait_for "3a. new directory -> Application payment Synced+Healthy" is_state payment Synced/Healthy
g rm -rq apps/payment; g commit -qm "remove payment"
wait_for "3b. directory removed -> Application payment and its Deployment deleted" gone payment

uid_before="$(k -n guestbook get deployment guestbook -o 'jsonpath={.metadata.uid}')"
k -n guestbook delete deployment guestbook --wait=false >/dev/null
t0=$(now)
seen=""
end=$((SECONDS + timeout))
while :; do
  s="$(app_state guestbook)"
  uid="$(k -n guestbook get deployment guestbook -o 'jsonpath={.metadata.uid}' --ignore-not-found)"
  case " $seen " in *" $s "*) ;; *) seen="$seen $s";; esac
  [ -n "$uid" ] && [ "$uid" != "$uid_before" ] && [ "$s" = Synced/Healthy ] && break
  [ $SECONDS -lt $end ] || die "4. drift: not healed within ${timeout}s (states seen:$seen)"
  sleep 0.2
done
log "4. drift: Deployment deleted -> states seen:$seen -> recreated and Synced+Healthy: $(since "$t0")s"

# The controller keeps the last good manifests for
# controller.repo.error.grace.period.seconds (default 180) before it reports a
# ComparisonError. Lower it as a product would: argocd-cmd-params-cm and a
# rollout restart (run.sh restarts the host process with the new env).
# Its value is parsed as a Go duration despite the key's name: "10" is
# rejected with a warning (the default stays), "10s" works.
grace="${SMOKE_REPO_ERROR_GRACE:-10s}"
if [ "$grace" != default ]; then
  k -n argocd patch configmap argocd-cmd-params-cm --type merge \
    -p "{\"data\":{\"controller.repo.error.grace.period.seconds\":\"$grace\"}}" >/dev/null
  k -n argocd rollout restart statefulset argocd-application-controller >/dev/null
  gen="$(k -n argocd get statefulset argocd-application-controller -o 'jsonpath={.metadata.generation}')"
  picked_up() { grep -q "statefulset/argocd-application-controller generation $gen;" "$work/logs/application-controller-supervisor.log"; }
  wait_for "controller restarted with controller.repo.error.grace.period.seconds=$grace" picked_up
fi
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: guestbook\n' >"$repo/demo/deployment.yaml"
g commit -qam "break it"
wait_for "5a. broken manifest -> ComparisonError" has_condition guestbook ComparisonError
k -n argocd get application guestbook -o 'jsonpath={range .status.conditions[*]}{.type}: {.message}{"\n"}{end}' |
  sed 's/^/[argocd\/smoke]     /' >&2
g revert --no-edit HEAD >/dev/null
ok_again() { is_state guestbook Synced/Healthy && ! has_condition guestbook ComparisonError; }
wait_for "5b. reverted -> Synced+Healthy, condition cleared" ok_again

log "all checks passed"
