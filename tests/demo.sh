#!/usr/bin/env bash
# `just demo`: the whole walk-through in the TUI against the test bed, for
# presenters and for trying kindops before installing Docker and kind.
#
# Real: the API server, controllers, server-side apply, Argo CD's
# application-controller, applicationset-controller and repo-server.
# Simulated: nodes and pods (KWOK). So phase 0 creates no kind cluster
# (--context), and phase 3 does not wait for metrics-server, whose APIService
# has no real backend here (it stays Synced/Progressing).
#
# Extra arguments go to `kindops up` (e.g. --step for presenter mode).
set -euo pipefail
cd "$(dirname "$0")/.."
NAME="${KINDOPS_TESTBED_NAME:-kindops-tb}"
DEMO="tests/testbed/work/$NAME-demo"
mkdir -p "$DEMO/phases"
cp phases/*.yaml "$DEMO/phases/"
python3 - "$DEMO/phases/phase-3.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
wait = "  - type: wait-applications\n    applications: [metrics-server]\n    timeout: 10m\n"
assert wait in s, "phases/phase-3.yaml changed shape; update tests/demo.sh"
open(p, "w").write(s.replace(wait, ""))
PY
MIRROR="$(bash tests/mirror.sh)"
exec tests/testbed/testbed.sh exec -- env \
  KINDOPS_PINS="$MIRROR/pins.yaml" XDG_DATA_HOME="$PWD/$DEMO/data" XDG_CACHE_HOME="$PWD/$DEMO/cache" \
  target/release/kindops up --context kindops-testbed \
    --mirror "$MIRROR" --repo-url "file://$PWD/$DEMO/git/gitops.git" \
    --phases "$DEMO/phases" "$@"
