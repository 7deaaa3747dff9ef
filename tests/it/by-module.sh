#!/usr/bin/env bash
# The test bed's suite (`just test`): the unit tests and doc tests, then the one
# integration test binary (tests/it/main.rs) module by module, one after
# another, each run given this script's arguments (e.g. --test-threads=4).
# A module's tests share the test bed with each other, never with another
# module's, as when each module was its own test binary. Every module runs
# even after a failure; exits 1 naming the ones that failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
failed=()
cargo test --offline --lib --bins -- "$@" || failed+=(unit)
cargo test --offline --doc -- "$@" || failed+=(doc)
# Test names by module, read from the binary (`--list`), passed --exact: a
# filter `argocd::` would also pick `faults_argocd::` tests.
all="$(cargo test --offline --test it -- --list 2>/dev/null | sed -n 's/: test$//p')"
[ -n "$all" ] || { echo "by-module.sh: cargo test --test it -- --list listed no test" >&2; exit 1; }
for f in tests/it/*.rs; do
  m="$(basename "$f" .rs)"
  [ "$m" = main ] && continue
  mapfile -t names < <(grep "^$m::" <<<"$all")
  [ "${#names[@]}" -gt 0 ] || continue
  cargo test --offline --test it -- "$@" --exact "${names[@]}" || failed+=("$m")
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "by-module.sh: failed: ${failed[*]}" >&2
  exit 1
fi
