#!/usr/bin/env bash
# Builds the test mirror (tests/testbed/mirror/, git-ignored) that the tests
# serve to kindops through its own --mirror, and the pins file they pass with
# --pins (KINDOPS_PINS):
#   - every pinned artifact of ../shared/upstream/ (test data, never committed),
#     linked under <name>/<file> as `kindops fetch --into` lays a mirror out;
#   - the External Secrets chart as `helm package` makes it: the pinned file is
#     the packaged chart from its chart repository, which cannot be downloaded
#     here, so it is packaged from the chart source in ../shared/upstream
#     (git tag v2.9.0, whose Chart.yaml still says 2.8.0: packaged with
#     --version 2.9.0 --app-version v2.9.0, the only change of tag
#     helm-chart-2.9.0). Its dependency bitwarden-sdk-server v0.6.0 is a
#     STAND-IN chart (the OCI registry is out of reach) whose one Deployment
#     must never render: the chart's condition bitwarden-sdk-server.enabled is
#     false by default, and the tests check that it stays off;
#   - pins.yaml: manifests/upstream.yaml with that chart's sha256 replaced by
#     the one packaged here (every other pin as shipped).
# Needs helm (tests/testbed/bin/helm, built by `testbed.sh build`). Prints the
# mirror's path. Idempotent; takes about a second.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
shared="$(cd "$root/../shared/upstream" && pwd)"
out="$root/tests/testbed/mirror"
helm="${HELM:-$root/tests/testbed/bin/helm}"
[ -x "$helm" ] || { echo "tests/mirror.sh: no helm at $helm (run tests/testbed/testbed.sh build)" >&2; exit 1; }

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
for f in "$shared"/*/*; do
  rel="${f#"$shared"/}"
  case "$rel" in */chart-src-*) continue;; esac
  mkdir -p "$out.tmp/$(dirname "$rel")"
  ln -s "$f" "$out.tmp/$rel"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$shared/external-secrets/chart-src-external-secrets-2.9.0.tar.gz" -C "$work"
chart="$work/external-secrets"
# Stand-in for the vendored dependency (see above).
dep="$work/bitwarden-sdk-server"
mkdir -p "$dep/templates"
cat >"$dep/Chart.yaml" <<'YAML'
apiVersion: v2
name: bitwarden-sdk-server
description: kindops test STAND-IN for external-secrets' bitwarden-sdk-server chart (must never render)
version: v0.6.0
YAML
cat >"$dep/templates/deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bitwarden-sdk-server
spec:
  selector: {matchLabels: {app: bitwarden-sdk-server}}
  template:
    metadata: {labels: {app: bitwarden-sdk-server}}
    spec: {containers: [{name: sdk, image: "stand-in.invalid/bitwarden-sdk-server:v0.6.0"}]}
YAML
mkdir -p "$chart/charts"
"$helm" package "$dep" -d "$chart/charts" >/dev/null
mkdir -p "$out.tmp/external-secrets"
"$helm" package "$chart" --version 2.9.0 --app-version v2.9.0 -d "$out.tmp/external-secrets" >/dev/null
tgz="$out.tmp/external-secrets/external-secrets-2.9.0.tgz"
[ -f "$tgz" ] || { echo "tests/mirror.sh: helm package made no $tgz" >&2; exit 1; }
sum="$(sha256sum "$tgz" | cut -d' ' -f1)"
shipped="$(awk '/file: external-secrets-2.9.0.tgz/{f=1} f && /sha256:/{print $2; exit}' "$root/manifests/upstream.yaml")"
[ -n "$shipped" ] || { echo "tests/mirror.sh: manifests/upstream.yaml has no external-secrets-2.9.0.tgz pin" >&2; exit 1; }
{
  echo "# Test pins (tests/mirror.sh): as shipped, but external-secrets-2.9.0.tgz packaged here."
  sed "s/$shipped/$sum/" "$root/manifests/upstream.yaml"
} >"$out.tmp/pins.yaml"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out"
