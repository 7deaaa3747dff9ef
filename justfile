# kindops tasks. `just --list` shows them.

testbed := "tests/testbed/testbed.sh"

# The main job: build kindops and run `kindops up` (no root, nothing installed;
# its preflight says what is missing: Docker or another engine kind supports,
# kind, kubectl, git). Also finds a kind installed with `go install`.
[positional-arguments]
up *ARGS:
    cargo build --release --quiet
    PATH="$PATH:${GOPATH:-$HOME/go}/bin" target/release/kindops up "$@"

# For developing kindops (tests, test bed, CI), not for running it: Debian packages (git, kubectl, docker.io, tmux, redis, iproute2), just, kind (idempotent; apt-get needs root).
deps:
    bash .ci/deps.sh

# Check formatting and lint every target (clippy warnings are errors), and the import graph (`just arch`). No test bed needed.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets --quiet -- -D warnings
    just arch
    just deny
    just release-check
    just package

# The release workflow (.github/workflows/release.yml) as GitHub would read it (actionlint), and the archive it makes named and laid out as Cargo.toml's [package.metadata.binstall] says (a stand-in binary packed for one target; the workflow itself never runs here).
release-check:
    #!/usr/bin/env bash
    set -euo pipefail
    "$(command -v actionlint || echo "$(go env GOPATH)/bin/actionlint")" .github/workflows/release.yml
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
    target=x86_64-unknown-linux-gnu
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp" dist' EXIT
    printf '#!/bin/sh\n' > "$tmp/kindops" && chmod +x "$tmp/kindops"
    archive=$(bash .github/release-archive.sh "$target" "$tmp/kindops" | tail -1)
    # cargo-binstall's templates, expanded for this target as it does ({ repo } is the URL part).
    expand() { sed -e "s/{ name }/kindops/g; s/{ version }/$version/g; s/{ target }/$target/g; s/{ archive-suffix }/.tgz/g; s/{ bin }/kindops/g; s/{ binary-ext }//g"; }
    url=$(sed -n 's/^pkg-url = "\(.*\)"$/\1/p' Cargo.toml | expand)
    bin=$(sed -n 's/^bin-dir = "\(.*\)"$/\1/p' Cargo.toml | expand)
    [ -n "$url" ] && [ -n "$bin" ] || { echo "Cargo.toml has no [package.metadata.binstall] pkg-url and bin-dir" >&2; exit 1; }
    [ "dist/${url##*/}" = "$archive" ] || { echo "cargo binstall looks for ${url##*/}; the release workflow makes $archive" >&2; exit 1; }
    tar -tzf "$archive" | grep -qx "$bin" || { echo "cargo binstall looks for $bin in $archive, which holds:" >&2; tar -tzf "$archive" >&2; exit 1; }
    if GITHUB_REF_NAME=v0.0.0-not-this bash .github/release-archive.sh "$target" "$tmp/kindops" 2>/dev/null; then
        echo "release-archive.sh packed a tag that is not v$version" >&2; exit 1
    fi
    echo "release workflow: actionlint ok; $archive holds $bin where cargo binstall looks; a tag other than v$version is refused"

# Licenses, duplicate crates and sources of every dependency (deny.toml). Advisories need the RustSec database from GitHub, so they are checked only where there is internet: `cargo deny check advisories`.
deny:
    cargo deny --offline check --hide-inclusion-graph licenses bans sources

# The crate as `cargo install kindops` would get it: `cargo package` (what the .crate holds: Cargo.toml `include`), then the unpacked .crate built on its own, outside this checkout (no tests/, no git), and its `kindops plan` run offline from an empty folder (the embedded phases and manifests).
package:
    #!/usr/bin/env bash
    set -euo pipefail
    rm -rf target/package-check && mkdir -p target/package-check/run
    cargo package --locked --no-verify --allow-dirty --quiet
    version=$(cargo metadata --offline --no-deps --format-version 1 | sed -n 's/.*"name":"kindops","version":"\([^"]*\)".*/\1/p')
    tar -xzf "target/package/kindops-$version.crate" -C target/package-check
    cd target/package-check
    cargo build --locked --quiet --manifest-path "kindops-$version/Cargo.toml" --target-dir target
    cd run
    env -u KINDOPS_PINS ../target/debug/kindops plan --phase 4 > plan.txt
    grep -q "phase 4" plan.txt && grep -q "argo-cd" plan.txt
    echo "packaged kindops $version: builds alone, plan offline: $(wc -l < plan.txt) lines"

# No new import circle between the modules of src/, and nothing but the engine reaching into engine/steps (tests/it/architecture.rs; the circles still there are listed in tests/it/architecture-circles.txt, which issue 20's restructuring empties).
arch:
    cargo test --quiet --test it -- architecture::

# Unit tests only (the library's and the binary's): no test bed, no ../shared, no root.
unit:
    cargo test --lib --bins --quiet

# Run every test: unit tests, integration tests inside the test bed's loopback-only network namespace, then the default road on a real kind cluster (test-kind: phase 0 and phases 0-4 on real pods).
test: deps testbed-build
    cargo build --tests --quiet
    bash tests/mirror.sh
    {{testbed}} up --argocd
    KINDOPS_PINS={{justfile_directory()}}/tests/testbed/mirror/pins.yaml {{testbed}} exec -- bash tests/it/by-module.sh --test-threads=4
    {{testbed}} down
    just test-kind

# Build the test bed (etcd, kube-apiserver, controller-manager, scheduler, KWOK, kind, Argo CD, helm, kustomize) from Go modules.
testbed-build:
    {{testbed}} build

# Start the test bed (prints the kubeconfig path and the start time).
[positional-arguments]
testbed-up *ARGS:
    {{testbed}} up "$@"

# Run a command inside the test bed's network namespace with KUBECONFIG set: `just testbed-exec -- kubectl get nodes`.
[positional-arguments]
testbed-exec *CMD:
    {{testbed}} exec "$@"

# Stop every test bed process, remove the namespace and the work dir.
testbed-down:
    {{testbed}} down

# The whole walk-through in the TUI against the test bed (no Docker needed): simulated nodes and pods, real API server and Argo CD.
[positional-arguments]
demo *ARGS: deps testbed-build
    cargo build --release --quiet
    {{testbed}} up --argocd
    bash tests/demo.sh "$@"

# Benchmarks: kindops against what users would do by hand, as ratios (BENCHMARKS.md).
# benches/run.sh starts its own private test beds (bench-*) and runs everything
# that talks to them inside their namespaces, then the default road on the
# real-kind lane (benches/kind-road.sh); ~25 min on 2 cores.
bench: testbed-build (kind-build "all")
    cargo build --release --quiet
    bash benches/run.sh

# Build the real-kind lane's images offline from Debian packages and Go modules (kind base image, node image kindops.local/node:v1.36.3 and what it preloads); `just kind-build redis argocd` builds single steps.
[positional-arguments]
kind-build *STEPS: deps
    tests/kind/lane.sh build "$@"

# Start the real-kind lane's dockerd in its loopback-only network namespace (prints DOCKER_HOST).
kind-up:
    tests/kind/lane.sh up

# Run a command in the real-kind lane's namespace with DOCKER_HOST set: `just kind-exec -- kind get clusters`.
[positional-arguments]
kind-exec *CMD:
    tests/kind/lane.sh exec "$@"

# Remove every container of the real-kind lane and stop its dockerd (the built images stay).
kind-down:
    tests/kind/lane.sh down

# The default road on a real kind cluster (tests/it/kind.rs, part of `just test`): build the lane (node image, and every image phases 0-4 run: Argo CD, Tekton, metrics-server, Argo Rollouts, External Secrets, agnhost; ~55 min of Go builds when cold (External Secrets alone 30 min on a loaded machine), ~1 min warm), start its dockerd, then with no --context and no --repo-url: phase 0 (create, images preloaded from a mirror made by `kindops fetch --images`, converge, git mount check, Ctrl-C mid-create, down) and the whole road, phases 0-4 in the TUI on real pods (a learner's push, a re-run, lesson 4 for real, the secret scan), and stop it.
test-kind: testbed-build (kind-build "all")
    #!/usr/bin/env bash
    set -euo pipefail
    trap 'tests/kind/lane.sh down' EXIT
    cargo build --tests --quiet
    bash tests/mirror.sh >/dev/null
    tests/kind/lane.sh up
    # helm and kustomize (built by testbed-build) render the External Secrets chart for `kindops images`.
    tests/kind/lane.sh exec -- env PATH={{justfile_directory()}}/tests/testbed/bin:$PATH \
        KINDOPS_PINS={{justfile_directory()}}/tests/testbed/mirror/pins.yaml \
        KINDOPS_KIND_NODE_IMAGE=kindops.local/node:v1.36.3 \
        bash -c 'for m in kind kind_registry kind_road; do cargo test --offline --test it -- --ignored --test-threads=1 --nocapture "$m::" || exit 1; done'

# Only the whole road of test-kind (tests/it/kind_road.rs: phases 0-4 in the TUI, a learner's push, a re-run, lesson 4, the code push's loop through the Rollout canary with its broken pushes, lesson 6, the secret scan), e.g. after a change to phases 1-4.
test-kind-road: testbed-build (kind-build "all")
    #!/usr/bin/env bash
    set -euo pipefail
    trap 'tests/kind/lane.sh down' EXIT
    cargo build --tests --quiet
    bash tests/mirror.sh >/dev/null
    tests/kind/lane.sh up
    tests/kind/lane.sh exec -- env PATH={{justfile_directory()}}/tests/testbed/bin:$PATH \
        KINDOPS_PINS={{justfile_directory()}}/tests/testbed/mirror/pins.yaml \
        KINDOPS_KIND_NODE_IMAGE=kindops.local/node:v1.36.3 \
        cargo test --offline --test it -- --ignored --test-threads=1 --nocapture kind_road::

# Fuzz the parsers of user-written files (cargo fuzz, nightly; `cargo install cargo-fuzz` once): the phase-file target, then the pins-file target, SECONDS each, one process each. Seeds: the real files (and the kept regressions); the corpus and any crash land under tests/fuzz/ (git-ignored). Not part of `test`: see README, "Fuzzing".
fuzz SECONDS="60":
    #!/usr/bin/env bash
    set -euo pipefail
    fz=tests/fuzz
    mkdir -p $fz/corpus/phase_file $fz/corpus/pins_file
    # A phase_file input is one byte for the phase the file name says ('0'..'4'), then the text.
    for f in phases/phase-*.yaml; do
        n="${f##*/phase-}"; n="${n%.yaml}"
        { printf '%s' "$n"; cat "$f"; } > "$fz/corpus/phase_file/seed-phase-$n"
    done
    cp manifests/upstream.yaml $fz/corpus/pins_file/seed-upstream.yaml
    if [ -f tests/testbed/mirror/pins.yaml ]; then cp tests/testbed/mirror/pins.yaml $fz/corpus/pins_file/seed-testbed-pins.yaml; fi
    for t in phase_file pins_file; do
        if [ -d "$fz/regressions/$t" ]; then cp "$fz/regressions/$t"/* "$fz/corpus/$t/"; fi
        echo "== fuzzing $t for {{SECONDS}}s"
        cargo +nightly fuzz run --fuzz-dir $fz $t -- -max_total_time={{SECONDS}} -max_len=8192 -timeout=10 -dict=$fz/yaml.dict -print_final_stats=1
    done
