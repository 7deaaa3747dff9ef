# kindops tasks. `just --list` shows them.

testbed := "tests/testbed/testbed.sh"

# Set up a machine (Debian packages, the Go-built test bed, the Rust build), then run the main job (`kindops up`).
up *ARGS: setup
    cargo run --release --quiet -- up {{ARGS}}

# Install what a fresh machine lacks: Debian packages, the test bed binaries, the Rust build.
setup: deps testbed-build
    cargo build --release --quiet

# Debian packages the product and the test bed need (idempotent; apt-get needs root).
deps:
    bash .ci/deps.sh

# Run every test: unit tests, then integration tests inside the test bed's loopback-only network namespace.
test: testbed-build
    cargo build --tests --quiet
    {{testbed}} up --argocd
    {{testbed}} exec -- cargo test --offline --no-fail-fast -- --test-threads=4

# Build the test bed (etcd, kube-apiserver, controller-manager, scheduler, KWOK, kind, Argo CD, helm, kustomize) from Go modules.
testbed-build:
    {{testbed}} build

# Start the test bed (prints the kubeconfig path and the start time).
testbed-up *ARGS:
    {{testbed}} up {{ARGS}}

# Run a command inside the test bed's network namespace with KUBECONFIG set: `just testbed-exec -- kubectl get nodes`.
testbed-exec *CMD:
    {{testbed}} exec {{CMD}}

# Stop every test bed process, remove the namespace and the work dir.
testbed-down:
    {{testbed}} down

# The whole walk-through in the TUI against the test bed (no Docker needed): simulated nodes and pods, real API server and Argo CD.
demo: testbed-build
    cargo build --release --quiet
    {{testbed}} up --argocd
    bash tests/demo.sh

# Benchmarks: kindops against what users would do by hand, as ratios (BENCHMARKS.md).
# benches/run.sh starts its own private test beds (bench-*) and runs everything
# that talks to them inside their namespaces; ~15 min on 2 cores.
bench: testbed-build
    cargo build --release --quiet
    bash benches/run.sh
