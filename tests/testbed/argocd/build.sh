#!/usr/bin/env bash
# Builds the Argo CD host processes of the test bed into tests/testbed/bin/:
#   argocd-multicall (+ links argocd-application-controller, argocd-repo-server,
#   argocd-applicationset-controller, argocd-git-ask-pass, argocd), helm v4, kustomize v5.
#   git-verify-wrapper.sh, gpg-wrapper.sh (upstream's hack/ scripts, which the
#   repo-server execs from PATH)
#   rollouts-controller (argo-rollouts, the module the real-kind lane builds
#   its image from: tests/kind/rollouts), which run.sh runs once the product
#   has installed the Rollout CRD, so the products' Rollouts roll out here
# Also installs the Debian packages the test bed's Argo CD needs (git,
# redis-server) when they are missing. Idempotent; warm runs take seconds.
# Run from any directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${KINDOPS_TESTBED_BIN:-$(cd "$here/.." && pwd)/bin}"
mkdir -p "$bin"

ARGOCD_VERSION=3.5.1
HELM_VERSION=v4.3.1
# v5.8.3 needs go >= 1.27; v5.8.2 is the newest that builds with our go 1.26.
KUSTOMIZE_VERSION=v5.8.2

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false"
flags=(-trimpath)

log() { printf '[argocd/build] %s\n' "$*" >&2; }
t0=$SECONDS

missing=()
command -v git >/dev/null || missing+=(git)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  [ "$(id -u)" = 0 ] || { log "error: need root to apt-get install ${missing[*]}"; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
fi

log "argocd-multicall (argo-cd v$ARGOCD_VERSION)"
pkg=github.com/argoproj/argo-cd/v3/common
(cd "$here" && go build "${flags[@]}" -mod=readonly \
  -ldflags "-s -w -X $pkg.version=$ARGOCD_VERSION -X $pkg.gitTag=v$ARGOCD_VERSION -X $pkg.gitCommit=109ca7ca71139e514114499d294a492e7910a965 -X $pkg.gitTreeState=clean" \
  -o "$bin/argocd-multicall" .)
for name in argocd-application-controller argocd-repo-server argocd-applicationset-controller argocd-git-ask-pass argocd argocd-server-init argocd-workload-env; do
  ln -sfn argocd-multicall "$bin/$name"
done

# The repo-server execs upstream's git-verify-wrapper.sh for every manifest
# generation (v3.5.1 calls VerifyCommitSignature even with GPG disabled) and
# gpg-wrapper.sh; upstream's image puts them in /usr/local/bin. Copy them from
# the module source (build output, like the binaries; never committed).
argo_src="$(cd "$here" && go list -mod=readonly -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)"
for s in git-verify-wrapper.sh gpg-wrapper.sh; do
  install -m 0755 "$argo_src/hack/$s" "$bin/$s"
done

# helm and kustomize: `go install pkg@version` resolves each with its own go.mod,
# independent of Argo CD's dependency graph.
log "helm $HELM_VERSION"
GOBIN="$bin" go install "${flags[@]}" \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
log "kustomize $KUSTOMIZE_VERSION"
GOBIN="$bin" go install "${flags[@]}" \
  -ldflags "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_VERSION" \
  "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"

# argo-rollouts: one module, one version for the lane and the test bed
# (tests/kind/rollouts/go.mod repeats upstream's replace block; lane.sh
# step_rollouts pins the same version and commit).
ROLLOUTS_VERSION=v1.9.1
log "rollouts-controller (argo-rollouts $ROLLOUTS_VERSION)"
pkg=github.com/argoproj/argo-rollouts/utils/version
(cd "$here/../../kind/rollouts" && GOFLAGS="$GOFLAGS -mod=mod" go build "${flags[@]}" \
  -ldflags "-s -w -X $pkg.version=${ROLLOUTS_VERSION#v} -X $pkg.gitTag=$ROLLOUTS_VERSION -X $pkg.gitCommit=b6bd3bcf8f60d717a98763d26acc983db7f97cb0 -X $pkg.gitTreeState=clean" \
  -o "$bin/rollouts-controller" github.com/argoproj/argo-rollouts/cmd/rollouts-controller)

log "done in $((SECONDS - t0))s -> $bin"
