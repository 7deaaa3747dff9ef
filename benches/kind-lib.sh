# Shared by the real-kind lane's benches (benches/kind-road.sh,
# benches/kind-caches.sh); sourced, not run. Needs ROOT, LANE, WORK, KINDOPS,
# KINDOPS_PINS, TEST_MIRROR and RESULTS set, and tests/testbed/lib.sh's `log`.

# result LINE: printed and appended to RESULTS; verdict FIGURE OP TARGET -> ok|missed.
result() { echo "$*" | tee -a "$RESULTS"; }
verdict() { if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN{exit !((op=="<=")?(a<=b):(a<b))}'; then echo ok; else echo missed; fi; }

# in_lane CMD...: as a learner on a fresh machine (own HOME, data, cache,
# kubeconfig), inside the lane's namespace; helm and kustomize on PATH for
# `kindops images` (the External Secrets chart).
in_lane() {
  "$LANE" exec -- env HOME="$WORK/home" XDG_DATA_HOME="$WORK/home/data" XDG_CACHE_HOME="$WORK/home/cache" \
    KUBECONFIG="$WORK/home/kubeconfig" PATH="$ROOT/tests/testbed/bin:$PATH" KINDOPS_PINS="$KINDOPS_PINS" "$@"
}

# mirror_with_images DIR [pinned-only]: a mirror directory (`kindops fetch
# --images`) with every preloadable image of phases 0-4, or with
# `pinned-only` only Tekton's shell image. That one is named by digest, which
# no local build can have: the lane's busybox goes into the mirror under that
# digest first, as tests/it/support/lane.rs `mirror_with` does, and fetch
# keeps it.
mirror_with_images() {
  local dir="$1" ref hex tag file id sha only=()
  ref="$(in_lane "$KINDOPS" images --phase 1 --mirror "$TEST_MIRROR" --output json \
    | jq -r '.. | objects | .reference? // empty' | grep '^cgr.dev/chainguard/busybox@sha256:' | head -1)"
  [ -n "$ref" ] || { log "phase 1 names no digest-pinned busybox"; exit 1; }
  hex="${ref##*:}"; tag="cgr.dev/chainguard/busybox:sha256-${hex:0:12}"; file="cgr.dev_chainguard_busybox_sha256-${hex:0:12}.tar"
  mkdir -p "$dir/images"
  in_lane docker tag kindops.local/busybox:bookworm "$tag"
  in_lane docker save -o "$dir/images/$file" "$tag"
  id="$(in_lane docker image inspect -f '{{.Id}}' "$tag")"
  sha="$(sha256sum "$dir/images/$file" | cut -d' ' -f1)"
  printf "images:\n- {reference: '%s', archive: '%s', sha256: '%s', tag: '%s', id: '%s'}\n" "$ref" "$file" "$sha" "$tag" "$id" \
    >"$dir/images/index.yaml"
  in_lane docker rmi "$tag" >/dev/null
  [ "${2:-}" = pinned-only ] && only=(--phase 4 --image "$ref")
  in_lane "$KINDOPS" fetch --images --into "$dir" --mirror "$TEST_MIRROR" "${only[@]}" >"$WORK/fetch.log" 2>&1 \
    || { tail -20 "$WORK/fetch.log" >&2; exit 1; }
}

# phase_times JSONL: "N:seconds ..." of each phase of a `kindops up --output
# json` run (elapsed_ms counts from the run's start: phase N took finished -
# started).
phase_times() {
  jq -r 'select(.event=="phase_started" or .event=="phase_finished") | "\(.phase) \(.event) \(.elapsed_ms)"' "$1" \
    | awk '$2=="phase_started"{s[$1]=$3} $2=="phase_finished"{printf "%s:%.1f ", $1, ($3-s[$1])/1000}' | sed 's/ $//'
}
