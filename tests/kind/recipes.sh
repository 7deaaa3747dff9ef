# shellcheck shell=bash
# The real-kind lane's image recipes, sourced by tests/kind/lane.sh (which
# sets the versions, paths and the docker helpers dk/in_ns they use): the
# shared build helpers, then one step_<name> function per image step of
# `lane.sh build`. A step's recipe label is the sha256 of its function's
# source plus its inputs (`recipe`), so an image is rebuilt only when its
# recipe changed.

# ---------------------------------------------------------------- helpers

# The recipe of a step: its function's source plus the given inputs. An image
# carries it as a label; a step whose image has the same label is skipped.
recipe() { { declare -f "$1"; shift; printf '%s\n' "$@"; } | sha256sum | cut -c1-16; }
image_recipe() { dk image inspect -f '{{index .Config.Labels "kindops.recipe"}}' "$1" 2>/dev/null || true; }
fresh() { # fresh IMAGE RECIPE: true if IMAGE exists with that recipe
  if [ "$(image_recipe "$1")" = "$2" ]; then log "$1: up to date"; return 0; fi
  return 1
}
sha() { sha256sum "$1" | cut -c1-16; }

mod_dir() { # mod_dir MODULE@VERSION: its directory in the module cache (downloads it through the proxy)
  (cd "$LANE_DIR/kube" && go mod download -json "$1" | jq -r .Dir)
}
KIND_SRC=""
kind_src() {
  [ -n "$KIND_SRC" ] || KIND_SRC="$(mod_dir "sigs.k8s.io/kind@$KIND_VERSION")"
  [ -d "$KIND_SRC" ] || die "sigs.k8s.io/kind@$KIND_VERSION not in the module cache"
  echo "$KIND_SRC"
}

# kind_const NAME: a Go string constant of kind's pkg/build/nodeimage (manifests, image names).
kind_const() {
  if [ ! -x "$BIN/kindconst" ] || [ "$LANE_DIR/kindconst/main.go" -nt "$BIN/kindconst" ]; then
    mkdir -p "$BIN"; go build -o "$BIN/kindconst" "$LANE_DIR/kindconst/main.go"
  fi
  "$BIN/kindconst" "$(kind_src)/pkg/build/nodeimage" "$1"
}

# build_image TAG RECIPE DIR: docker build DIR (Dockerfile in it) with the recipe label.
build_image() {
  local tag="$1" rec="$2" dir="$3"
  printf 'LABEL kindops.recipe=%s\n' "$rec" >>"$dir/Dockerfile"
  # (the classic builder: no pulls, FROM a local image or scratch; its
  # deprecation notice is noise here, so stderr is shown only on failure)
  dk build -q --network none -t "$tag" "$dir" >/dev/null 2>"$SCRATCH/docker-build.err" \
    || { cat "$SCRATCH/docker-build.err" >&2; die "docker build $tag failed"; }
  log "$tag: built"
}
# tag_more SRC TAG...: extra names for an image (same ID)
tag_more() { local src="$1" t; shift; for t in "$@"; do dk tag "$src" "$t"; done; }

# rmtree DIR: remove a scratch tree that may hold a rootfs; first unmount what
# debootstrap may have left mounted in it (/proc), and never cross into
# another file system.
rmtree() {
  local dir="$1" m
  [ -e "$dir" ] || return 0
  for m in $(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" || die "could not unmount $m"
  done
  rm -rf --one-file-system "$dir"
}

debootstrap_rootfs() { # debootstrap_rootfs DIR PACKAGES(comma-separated)
  local dir="$1" include="$2"
  command -v debootstrap >/dev/null || die "debootstrap missing: bash .ci/deps.sh"
  rmtree "$dir"; mkdir -p "$dir" "$CACHE/debs"
  debootstrap --variant=minbase --include="$include" --cache-dir="$CACHE/debs" \
    "$SUITE" "$dir" "$MIRROR" >"$dir.log" 2>&1 || { tail -n 30 "$dir.log" >&2; die "debootstrap $dir failed"; }
  local m
  for m in $(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m"; done
  # apt's lists and caches are not needed in an image
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/var/log/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/*
}

import_rootfs() { # import_rootfs DIR TAG RECIPE CHANGE...: one-layer image from a directory
  local dir="$1" tag="$2" rec="$3"; shift 3
  local args=() c
  for c in "$@" "LABEL kindops.recipe=$rec"; do args+=(-c "$c"); done
  tar -C "$dir" --numeric-owner -cf - . | dk import "${args[@]}" - "$tag" >/dev/null
  log "$tag: imported"
}

need_image() { dk image inspect "$1" >/dev/null 2>&1 || die "$1 missing: run 'lane.sh build $2' first"; }

# ---------------------------------------------------------------- steps

# Go binaries: the Kubernetes multi-call (tests/kind/kube), coredns,
# local-path-provisioner, crictl; pause (gcc -static).
step_bin() {
  mkdir -p "$BIN"
  local t0=$SECONDS minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  log "go build kube multi-call ($K8S_VERSION: kubelet kubeadm kubectl kube-proxy kube-apiserver kube-controller-manager kube-scheduler etcd)"
  (cd "$LANE_DIR/kube" && GOFLAGS="$GOFLAGS -mod=mod" go build -p "$GO_P" -trimpath \
    -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    -o "$BIN/kube" .)
  local c
  for c in kubelet kubeadm kubectl kube-proxy kube-apiserver kube-controller-manager kube-scheduler etcd; do
    ln -sfn kube "$BIN/$c"
  done
  log "go install coredns $COREDNS_VERSION, local-path-provisioner $LOCAL_PATH_VERSION, crictl $CRICTL_VERSION"
  GOBIN="$BIN" go install -p "$GO_P" -trimpath -ldflags="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    "github.com/coredns/coredns@$COREDNS_VERSION"
  GOBIN="$BIN" go install -p "$GO_P" -trimpath -ldflags="-s -w -X main.VERSION=$LOCAL_PATH_VERSION" \
    "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION"
  GOBIN="$BIN" go install -p "$GO_P" -trimpath -ldflags="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  # pause: kubernetes' own build/pause/linux/pause.c, as its Makefile builds it.
  local pause_src; pause_src="$(mod_dir "k8s.io/kubernetes@$K8S_VERSION")/build/pause/linux/pause.c"
  if [ ! -x "$BIN/pause" ] || [ "$pause_src" -nt "$BIN/pause" ]; then
    command -v gcc >/dev/null || die "gcc missing: bash .ci/deps.sh"
    gcc -Os -Wall -Werror -static -DVERSION="v3.10.2-kindops" -o "$BIN/pause" "$pause_src"
  fi
  log "binaries in $((SECONDS - t0))s -> $BIN"
}

# kind's base image: debootstrap + Debian's containerd/runc/CNI plugins, and
# kind's base files read from the sigs.k8s.io/kind module (never copied into
# the repository).
BASE_PACKAGES=systemd,systemd-sysv,dbus,iproute2,procps,containerd,runc,containernetworking-plugins,iptables,nftables,conntrack,socat,ethtool,util-linux,mount,kmod,libseccomp2,fuse-overlayfs,e2fsprogs,pigz,ca-certificates,curl,jq,bash
step_base() {
  local src rec; src="$(kind_src)/images/base/files"
  [ -x "$BIN/crictl" ] || die "$BIN/crictl missing: run 'lane.sh build bin' first"
  rec="$(recipe step_base "$BASE_PACKAGES" "$(cd "$src" && find . -type f | sort | xargs sha256sum)" "$(sha "$BIN/crictl")")"
  fresh "$BASE_IMAGE" "$rec" && return 0
  local t0=$SECONDS r="$SCRATCH/base"
  log "debootstrap $SUITE minbase + base packages"
  debootstrap_rootfs "$r" "$BASE_PACKAGES"
  log "debootstrap done in $((SECONDS - t0))s; adding kind's base files"
  # As kind's images/base/Dockerfile: scripts 0755, everything else 0644.
  install -m 0755 "$src"/usr/local/bin/* "$r/usr/local/bin/"
  mkdir -p "$r/kind/bin" "$r/LICENSES" "$r/etc/containerd" "$r/etc/systemd/system/kubelet.service.d"
  install -m 0644 "$src"/kind/README.txt "$r/kind/"
  install -m 0755 "$src"/kind/bin/* "$r/kind/bin/"
  install -m 0644 "$src"/LICENSES/* "$r/LICENSES/"
  install -m 0644 "$src"/etc/crictl.yaml "$r/etc/"
  install -m 0644 "$src"/etc/containerd/* "$r/etc/containerd/"
  install -m 0644 "$src"/etc/default/* "$r/etc/default/"
  install -m 0644 "$src"/etc/sysctl.d/* "$r/etc/sysctl.d/"
  install -m 0644 "$src"/etc/systemd/system/*.service "$src"/etc/systemd/system/*.slice "$r/etc/systemd/system/"
  install -m 0644 "$src"/etc/systemd/system/kubelet.service.d/* "$r/etc/systemd/system/kubelet.service.d/"
  # Workaround for this VM (not needed on a laptop): CAP_SYS_RESOURCE is not in
  # the VM's capability bounding set, so containerd cannot lower a pod's
  # oom_score_adj (-998) and every sandbox fails ("can't get final child's PID
  # from pipe: EOF"). kind's entrypoint sets this only for rootless nodes.
  sed -i 's/^\(\s*\)restrict_oom_score_adj = false/\1restrict_oom_score_adj = true/' "$r/etc/containerd/config.toml"
  grep -q 'restrict_oom_score_adj = true' "$r/etc/containerd/config.toml" || die "could not set restrict_oom_score_adj"
  # Debian's containerd is /usr/bin/containerd (kind's unit runs /usr/local/bin/containerd);
  # its CNI plugins are in /usr/lib/cni (kind and kubelet look in /opt/cni/bin).
  ln -sfn /usr/bin/containerd "$r/usr/local/bin/containerd"
  ln -sfn /usr/bin/ctr "$r/usr/local/bin/ctr"
  mkdir -p "$r/opt/cni/bin"
  local p
  for p in "$r"/usr/lib/cni/*; do ln -sfn "/usr/lib/cni/$(basename "$p")" "$r/opt/cni/bin/$(basename "$p")"; done
  install -m 0755 "$BIN/crictl" "$r/usr/local/bin/crictl"
  # containerd's default OCI spec with kind's product_uuid hook, no rlimits (as the Dockerfile).
  chroot "$r" ctr oci spec \
    | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
    | jq 'del(.process.rlimits)' >"$r/etc/containerd/cri-base.json"
  # The Dockerfile's clean-up and unit set-up.
  find "$r/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "$r"/lib/systemd/system/multi-user.target.wants/* "$r"/etc/systemd/system/*.wants/* \
    "$r"/lib/systemd/system/local-fs.target.wants/* "$r"/lib/systemd/system/sockets.target.wants/*udev* \
    "$r"/lib/systemd/system/sockets.target.wants/*initctl* "$r"/lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >>"$r/etc/systemd/journald.conf"
  [ -e "$r/sbin/init" ] || ln -s /usr/lib/systemd/systemd "$r/sbin/init"
  chroot "$r" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
  chroot "$r" systemctl mask systemd-binfmt.service >/dev/null 2>&1
  mkdir -p "$r/etc/kubernetes/manifests"
  : >"$r/etc/machine-id"
  import_rootfs "$r" "$BASE_IMAGE" "$rec" 'ENV container=docker' \
    'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]'
  rmtree "$r"; mkdir -p "$r"
  # (docker import cannot set STOPSIGNAL; systemd exits on SIGRTMIN+3)
  printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\n' "$BASE_IMAGE" >"$r/Dockerfile"
  build_image "$BASE_IMAGE" "$rec" "$r"
  rmtree "$r"
  log "base image in $((SECONDS - t0))s"
}

# A small Debian for images that need a shell or iptables (kube-proxy).
SLIM_PACKAGES=iptables,conntrack,ca-certificates
step_slim() {
  local rec; rec="$(recipe step_slim "$SLIM_PACKAGES")"
  fresh "$SLIM_IMAGE" "$rec" && return 0
  local t0=$SECONDS r="$SCRATCH/slim"
  debootstrap_rootfs "$r" "$SLIM_PACKAGES"
  import_rootfs "$r" "$SLIM_IMAGE" "$rec" 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  rmtree "$r"
  log "debian-slim image in $((SECONDS - t0))s"
}

# kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy and etcd:
# one layer with the multi-call binary on debian-slim (kube-proxy needs
# iptables), then one image per component with only its entrypoint, so the
# node stores the binary once.
step_kube() {
  need_image "$SLIM_IMAGE" slim
  [ -x "$BIN/kube" ] || die "$BIN/kube missing: run 'lane.sh build bin' first"
  local rec; rec="$(recipe step_kube "$(sha "$BIN/kube")" "$(image_recipe "$SLIM_IMAGE")")"
  local etcd_tag; etcd_tag="$("$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" | grep /etcd:)"
  if fresh "$KUBE_IMAGE" "$rec" && [ "$(image_recipe "$etcd_tag")" = "$rec" ]; then return 0; fi
  local d="$SCRATCH/kube"; rmtree "$d"; mkdir -p "$d/bin"
  cp "$BIN/kube" "$d/bin/kube"
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd; do ln -s kube "$d/bin/$c"; done
  printf 'FROM %s\nCOPY bin/ /usr/local/bin/\n' "$SLIM_IMAGE" >"$d/Dockerfile"
  build_image "$KUBE_IMAGE" "$rec" "$d"
  rmtree "$d"
  local e; e="$SCRATCH/kube-entry"; mkdir -p "$e"
  for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd; do
    local tag="registry.k8s.io/$c:$K8S_VERSION"
    [ "$c" = etcd ] && tag="$etcd_tag"
    printf 'FROM %s\nENTRYPOINT ["/usr/local/bin/%s"]\n' "$KUBE_IMAGE" "$c" >"$e/Dockerfile"
    build_image "$tag" "$rec" "$e"
  done
  rmtree "$e"
}

# coredns from its Go module, as the only file of the image (like upstream's).
step_coredns() {
  [ -x "$BIN/coredns" ] || die "$BIN/coredns missing: run 'lane.sh build bin' first"
  local tag rec; tag="$("$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" | grep /coredns:)"
  rec="$(recipe step_coredns "$(sha "$BIN/coredns")")"
  fresh "$tag" "$rec" && return 0
  local d="$SCRATCH/coredns"; rmtree "$d"; mkdir -p "$d"
  cp "$BIN/coredns" "$d/coredns"
  printf 'FROM scratch\nCOPY coredns /coredns\nEXPOSE 53 53/udp\nENTRYPOINT ["/coredns"]\n' >"$d/Dockerfile"
  build_image "$tag" "$rec" "$d"
  rmtree "$d"
}

# pause: the node's containerd sandbox_image (kind's config.toml) and
# kubeadm's default pause tag are the same static binary.
step_pause() {
  [ -x "$BIN/pause" ] || die "$BIN/pause missing: run 'lane.sh build bin' first"
  local sandbox kubeadm_pause rec
  sandbox="$(sed -n 's/^\s*sandbox_image = "\(.*\)"/\1/p' "$(kind_src)/images/base/files/etc/containerd/config.toml")"
  kubeadm_pause="$("$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" | grep /pause:)"
  rec="$(recipe step_pause "$(sha "$BIN/pause")" "$sandbox" "$kubeadm_pause")"
  if fresh "$sandbox" "$rec" && [ "$(image_recipe "$kubeadm_pause")" = "$rec" ]; then return 0; fi
  local d="$SCRATCH/pause"; rmtree "$d"; mkdir -p "$d"
  cp "$BIN/pause" "$d/pause"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$d/Dockerfile"
  build_image "$sandbox" "$rec" "$d"
  tag_more "$sandbox" "$kubeadm_pause"
  rmtree "$d"
}

# busybox-static from Debian: the shell for local-path's helper pods.
step_busybox() {
  local rec; rec="$(recipe step_busybox)"
  fresh "$BUSYBOX_IMAGE" "$rec" && return 0
  local d="$SCRATCH/busybox"; rmtree "$d"; mkdir -p "$d/root/bin" "$d/deb" "$CACHE/debs"
  local deb; deb="$(ls "$CACHE"/debs/busybox-static_*.deb 2>/dev/null | head -1 || true)"
  if [ -z "$deb" ]; then
    (cd "$CACHE/debs" && apt-get download busybox-static >/dev/null) || die "apt-get download busybox-static failed"
    deb="$(ls "$CACHE"/debs/busybox-static_*.deb | head -1)"
  fi
  dpkg-deb -x "$deb" "$d/deb"
  cp "$d/deb/bin/busybox" "$d/root/bin/busybox"
  local a
  for a in $("$d/root/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$d/root/bin/$a"; done
  mkdir -p "$d/root/tmp" "$d/root/etc"; chmod 1777 "$d/root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$d/root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/root/etc/group"
  import_rootfs "$d/root" "$BUSYBOX_IMAGE" "$rec" 'ENV PATH=/bin' 'CMD ["/bin/sh"]'
  rmtree "$d"
}

# kindnetd (real): kind's own CNI daemon, module sigs.k8s.io/kind/images/kindnetd
# of kind KIND_VERSION (nested in kind's repository, so not in the
# sigs.k8s.io/kind module zip), from the source archive in ../shared/upstream
# (SOURCES.tsv). It requires sigs.k8s.io/kube-network-policies at a
# pseudo-version the module proxy refuses, so the build replaces it with that
# exact commit's source (the second archive); every other dependency comes
# through the proxy. Built as its Dockerfile builds it (CGO_ENABLED=0 go build
# ./cmd/kindnetd) and laid out as its image: /bin/kindnetd as CMD, on an image
# with iptables (upstream: registry.k8s.io/build-image/distroless-iptables;
# here debian-slim, whose iptables kube-proxy uses too: kindnetd's masquerade
# rules run the iptables binary through coreos/go-iptables), under the tag
# kind's manifest names. KINDOPS_KINDNETD_TAG: another tag, to try a build
# without touching the one the node image preloads.
step_kindnetd() {
  need_image "$SLIM_IMAGE" slim
  local f KINDNETD_SRC KNP_SRC
  KINDNETD_SRC="${KINDOPS_KINDNETD_SRC:-$UPSTREAM_DIR/kind/src-kindnetd-kind-$KIND_VERSION.tar.gz}"
  KNP_SRC="${KINDOPS_KNP_SRC:-$UPSTREAM_DIR/kind/src-kube-network-policies-f67f0fb35e2b.tar.gz}"
  for f in "$KINDNETD_SRC" "$KNP_SRC"; do
    [ -f "$f" ] || die "kindnetd source not found at $f (KINDOPS_KINDNETD_SRC, KINDOPS_KNP_SRC; ../shared/upstream/SOURCES.tsv)"
  done
  local tag; tag="${KINDOPS_KINDNETD_TAG:-$(kind_const kindnetdImage)}"
  local out="$BIN/kindnetd" t0=$SECONDS srcs; srcs="$(sha "$KINDNETD_SRC")-$(sha "$KNP_SRC")"
  # The two source trees, extracted once per archive pair (kept: go build is incremental on them).
  local src="$OUT/src/kindnetd-$KIND_VERSION"
  if [ "$(cat "$src/.kindops-archive" 2>/dev/null || true)" != "$srcs" ]; then
    rmtree "$src"; mkdir -p "$src/kindnetd" "$src/kube-network-policies"
    tar -xzf "$KINDNETD_SRC" -C "$src/kindnetd" --strip-components=1 || die "could not extract $KINDNETD_SRC"
    tar -xzf "$KNP_SRC" -C "$src/kube-network-policies" --strip-components=1 || die "could not extract $KNP_SRC"
    (cd "$src/kindnetd" && go mod edit -replace "sigs.k8s.io/kube-network-policies=../kube-network-policies")
    echo "$srcs" >"$src/.kindops-archive"
  fi
  mkdir -p "$out"
  log "go build kindnetd (kind $KIND_VERSION, kube-network-policies f67f0fb35e2b)"
  (cd "$src/kindnetd" && GOFLAGS="$GOFLAGS -mod=mod" go build -p "$GO_P" -trimpath -ldflags "-s -w" -o "$out/kindnetd" ./cmd/kindnetd) \
    || die "go build of kindnetd failed"
  log "Go build in $((SECONDS - t0))s"
  local rec; rec="$(recipe step_kindnetd "$(sha "$out/kindnetd")" "$(image_recipe "$SLIM_IMAGE")")"
  fresh "$tag" "$rec" && return 0
  local d="$SCRATCH/kindnetd"; rmtree "$d"; mkdir -p "$d"
  cp "$out/kindnetd" "$d/"
  printf '%s\n' "FROM $SLIM_IMAGE" 'COPY kindnetd /bin/kindnetd' 'CMD ["/bin/kindnetd"]' >"$d/Dockerfile"
  build_image "$tag" "$rec" "$d"
  rmtree "$d"
  log "kindnetd image in $((SECONDS - t0))s"
}

# local-path-provisioner (real, from its Go module; v0.0.30 as the proxy serves
# it, under the tag kind's manifest names) and its helper (busybox, as upstream's).
step_local_path() {
  need_image "$BUSYBOX_IMAGE" busybox
  [ -x "$BIN/local-path-provisioner" ] || die "$BIN/local-path-provisioner missing: run 'lane.sh build bin' first"
  local prov helper rec
  prov="$(kind_const storageProvisionerImage)"; helper="$(kind_const storageHelperImage)"
  rec="$(recipe step_local_path "$(sha "$BIN/local-path-provisioner")" "$(image_recipe "$BUSYBOX_IMAGE")")"
  if fresh "$prov" "$rec" && [ "$(image_recipe "$helper")" = "$rec" ]; then return 0; fi
  local d="$SCRATCH/local-path"; rmtree "$d"; mkdir -p "$d"
  cp "$BIN/local-path-provisioner" "$d/"
  printf 'FROM %s\nCOPY local-path-provisioner /usr/bin/local-path-provisioner\nENV PATH=/usr/bin:/bin\nENTRYPOINT ["local-path-provisioner"]\n' \
    "$BUSYBOX_IMAGE" >"$d/Dockerfile"
  build_image "$prov" "$rec" "$d"
  printf 'FROM %s\n' "$BUSYBOX_IMAGE" >"$d/Dockerfile"
  rm -f "$d/local-path-provisioner"
  build_image "$helper" "$rec" "$d"
  rmtree "$d"
}

# The images the node preloads: kubeadm's list (pause replaced by containerd's
# sandbox_image, as kind does), kindnetd, and the local-path images.
node_images() {
  local sandbox
  sandbox="$(sed -n 's/^\s*sandbox_image = "\(.*\)"/\1/p' "$(kind_src)/images/base/files/etc/containerd/config.toml")"
  "$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" | grep -v /pause:
  echo "$sandbox"
  local c
  for c in kindnetdImage storageProvisionerImage storageHelperImage; do printf '%s\n' "$(kind_const "$c")"; done
}

# kind's node image, assembled the way kind's pkg/build/nodeimage does it.
step_node() {
  need_image "$BASE_IMAGE" base
  local images=() i ids=""
  mapfile -t images < <(node_images)
  for i in "${images[@]}"; do
    dk image inspect "$i" >/dev/null 2>&1 || die "$i missing: run 'lane.sh build' (all node steps) first"
    ids="$ids $i=$(dk image inspect -f '{{.Id}}' "$i")"
  done
  local cni storage; cni="$(kind_const defaultCNIManifest)"; storage="$(kind_const defaultStorageManifest)"
  local rec; rec="$(recipe step_node "$(sha "$BIN/kube")" "$(image_recipe "$BASE_IMAGE")" "$ids" "$cni" "$storage")"
  fresh "$NODE_IMAGE" "$rec" && return 0
  local t0=$SECONDS c=kindops-node-build
  dk rm -f -v "$c" >/dev/null 2>&1 || true
  dk run -d --name "$c" --network none --entrypoint=sleep --security-opt seccomp=unconfined "$BASE_IMAGE" infinity >/dev/null
  # kubelet, kubeadm, kubectl in /usr/bin (kind's kubelet unit runs /usr/bin/kubelet).
  dk cp "$BIN/kube" "$c:/usr/bin/kube"
  dk exec "$c" sh -c 'chown root:root /usr/bin/kube && chmod 0755 /usr/bin/kube &&
    for b in kubelet kubeadm kubectl; do ln -sfn kube /usr/bin/$b; done'
  printf '%s' "$K8S_VERSION" | dk exec -i "$c" sh -c 'cat >/kind/version'
  dk exec "$c" mkdir -p /kind/manifests
  printf '%s' "$cni" | dk exec -i "$c" sh -c 'cat >/kind/manifests/default-cni.yaml'
  printf '%s' "$storage" | dk exec -i "$c" sh -c 'cat >/kind/manifests/default-storage.yaml'
  # Preload the images into the node's containerd (kind's containerdImporter;
  # ctr 1.6 has no import --label, so they are pinned afterwards).
  dk exec "$c" bash -c 'nohup containerd >/dev/null 2>&1 &'
  dk exec "$c" bash -c 'for i in $(seq 1 50); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1' \
    || die "containerd in the build container did not start"
  dk save "${images[@]}" | dk exec -i "$c" ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests - >/dev/null
  for i in "${images[@]}"; do
    local ref; ref="$(dk exec "$c" ctr -n k8s.io images list -q | grep -x -e "$i" -e "docker.io/$i" | head -1)"
    [ -n "$ref" ] || die "image $i not found in the node's containerd after import"
    dk exec "$c" ctr -n k8s.io images label "$ref" io.cri-containerd.pinned=pinned >/dev/null
  done
  log "node containerd holds: $(dk exec "$c" ctr -n k8s.io images list -q | grep -v '^sha256:' | grep -v '@sha256:' | tr '\n' ' ')"
  # (sleep is pid 1 and reaps nothing: a stopped containerd stays a zombie)
  dk exec "$c" sh -c 'pkill -x containerd; for i in $(seq 1 50); do ps -o stat= -C containerd | grep -q "^[^Z]" || exit 0; sleep 0.2; done; exit 1' \
    || die "containerd in the build container did not stop"
  dk commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change "LABEL kindops.recipe=$rec" "$c" "$NODE_IMAGE" >/dev/null
  dk rm -f -v "$c" >/dev/null
  log "$NODE_IMAGE: built in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- workload images

# The image name a Deployment of Argo CD's install manifest uses for CONTAINER
# (the manifest is test data in ../shared/upstream, never committed).
ARGOCD_MANIFEST="${KINDOPS_ARGOCD_MANIFEST:-$REPO_ROOT/../shared/upstream/argo-cd/install-$ARGOCD_VERSION.yaml}"
argocd_image_of() {
  [ -f "$ARGOCD_MANIFEST" ] || die "Argo CD install manifest not found at $ARGOCD_MANIFEST (KINDOPS_ARGOCD_MANIFEST)"
  sed -n "s#^ *image: \(.*/$1:.*\)\$#\1#p" "$ARGOCD_MANIFEST" | sort -u | head -n 1
}

# Argo CD's redis: Debian's redis-server under the manifest's image name, uid
# 999 as the manifest's runAsUser. From Debian 13 (trixie, redis 8.0): the
# manifest names redis 8.2 (public.ecr.aws/docker/library/redis:8.2.3-alpine),
# and bookworm's is 7.0, a major version behind; trixie's is the same major
# version (8.0.2, not 8.2.3: no Debian release ships 8.2). Only this image is
# from trixie; the .deb cache is shared (debootstrap picks by version).
# KINDOPS_REDIS_TAG: another tag, to try a build without touching the manifest's.
REDIS_SUITE=trixie
step_redis() {
  local tag rec; tag="$(argocd_image_of redis)"
  [ -n "$tag" ] || die "no redis image in $ARGOCD_MANIFEST"
  tag="${KINDOPS_REDIS_TAG:-$tag}"
  rec="$(recipe step_redis "$REDIS_SUITE")"
  fresh "$tag" "$rec" && return 0
  local t0=$SECONDS r="$SCRATCH/redis"
  SUITE="$REDIS_SUITE" debootstrap_rootfs "$r" redis-server
  # Debian's package makes a system user with the next free uid; Argo CD runs it as 999.
  chroot "$r" sh -c 'groupmod -g 999 redis && usermod -u 999 -g 999 redis &&
    chown -R redis:redis /var/lib/redis /etc/redis && mkdir -p /data && chown redis:redis /data'
  import_rootfs "$r" "$tag" "$rec" 'USER 999:999' 'WORKDIR /data' 'EXPOSE 6379' 'ENTRYPOINT ["redis-server"]'
  log "$tag: $(chroot "$r" redis-server --version)"
  rmtree "$r"
  log "redis image in $((SECONDS - t0))s"
}

# Argo CD's image: the full upstream `argocd` multi-call (package
# github.com/argoproj/argo-cd/v3/cmd, built in tests/kind/argocd, whose go.mod
# is the test bed's with its replace block), helm and kustomize (the versions
# tests/testbed/argocd/build.sh builds), Debian's git, git-lfs, gpg,
# openssh-client, tini; laid out as upstream's Dockerfile does, uid 999.
ARGOCD_PACKAGES=git,git-lfs,tini,ca-certificates,gpg,gpg-agent,tzdata,connect-proxy,openssh-client
step_argocd() {
  local tag; tag="$(argocd_image_of argocd)"
  [ -n "$tag" ] || die "no argocd image in $ARGOCD_MANIFEST"
  local tb_build="$REPO_ROOT/tests/testbed/argocd/build.sh" helm_v kustomize_v
  helm_v="$(sed -n 's/^HELM_VERSION=//p' "$tb_build")"; kustomize_v="$(sed -n 's/^KUSTOMIZE_VERSION=//p' "$tb_build")"
  [ -n "$helm_v" ] && [ -n "$kustomize_v" ] || die "could not read HELM_VERSION/KUSTOMIZE_VERSION from $tb_build"
  local t0=$SECONDS v="${ARGOCD_VERSION#v}" pkg=github.com/argoproj/argo-cd/v3/common
  mkdir -p "$BIN/argocd-image"
  log "go build argocd $ARGOCD_VERSION (full multi-call), helm $helm_v, kustomize $kustomize_v"
  (cd "$LANE_DIR/argocd" && GOFLAGS="$GOFLAGS -mod=mod" go build -p "$GO_P" -trimpath \
    -ldflags "-s -w -X $pkg.version=$v -X $pkg.gitTag=$ARGOCD_VERSION -X $pkg.gitCommit=109ca7ca71139e514114499d294a492e7910a965 -X $pkg.gitTreeState=clean" \
    -o "$BIN/argocd-image/argocd" github.com/argoproj/argo-cd/v3/cmd)
  GOBIN="$BIN/argocd-image" go install -p "$GO_P" -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm_v" \
    "helm.sh/helm/v4/cmd/helm@$helm_v"
  GOBIN="$BIN/argocd-image" go install -p "$GO_P" -trimpath -ldflags "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$kustomize_v" \
    "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_v"
  log "Go builds in $((SECONDS - t0))s"
  local src; src="$(cd "$LANE_DIR/argocd" && go list -mod=mod -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)"
  local b rec sums=""
  for b in argocd helm kustomize; do sums="$sums $(sha "$BIN/argocd-image/$b")"; done
  rec="$(recipe step_argocd "$ARGOCD_PACKAGES" "$sums" "$(cat "$src/entrypoint.sh" "$src/hack/gpg-wrapper.sh" "$src/hack/git-verify-wrapper.sh" | sha256sum)")"
  fresh "$tag" "$rec" && return 0
  local r="$SCRATCH/argocd"
  debootstrap_rootfs "$r" "$ARGOCD_PACKAGES"
  chroot "$r" sh -euc '
    groupadd -g 999 argocd
    useradd -r -u 999 -g argocd argocd
    mkdir -p /home/argocd && chown argocd:0 /home/argocd && chmod g=u /home/argocd
    git lfs install --system >/dev/null
    mkdir -p /app/config/ssh /etc/ssh && touch /app/config/ssh/ssh_known_hosts
    ln -sfn /app/config/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts
    mkdir -p /app/config/tls /app/config/gpg/source /app/config/gpg/keys
    chown argocd /app/config/gpg/keys && chmod 0700 /app/config/gpg/keys'
  install -m 0755 "$src/hack/gpg-wrapper.sh" "$src/hack/git-verify-wrapper.sh" "$src/entrypoint.sh" "$r/usr/local/bin/"
  ln -sfn /usr/local/bin/entrypoint.sh "$r/usr/local/bin/uid_entrypoint.sh"
  install -m 0755 "$BIN/argocd-image/argocd" "$BIN/argocd-image/helm" "$BIN/argocd-image/kustomize" "$r/usr/local/bin/"
  for b in argocd-server argocd-repo-server argocd-cmp-server argocd-application-controller argocd-dex \
           argocd-notifications argocd-applicationset-controller argocd-k8s-auth argocd-commit-server; do
    ln -sfn /usr/local/bin/argocd "$r/usr/local/bin/$b"
  done
  import_rootfs "$r" "$tag" "$rec" 'ENV USER=argocd' 'ENV GRPC_ENABLE_TXT_SERVICE_CONFIG=false' \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'USER 999' 'WORKDIR /home/argocd' 'ENTRYPOINT ["/usr/bin/tini", "--"]'
  rmtree "$r"
  log "argocd image in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- images for kindops's phases 1-4

# Upstream manifests (test data, never committed): the image names built
# below are checked against them where they are present.
UPSTREAM_DIR="${KINDOPS_UPSTREAM_DIR:-$REPO_ROOT/../shared/upstream}"

# go_build DIR OUTDIR LDFLAGS PKG...: static binaries of PKGs into OUTDIR in
# one `go build` (they share one compile), in the wrapper module at DIR
# (-mod=mod: modules through the proxy, as step_argocd builds).
go_build() {
  local dir="$1" out="$2" ldflags="$3"; shift 3
  mkdir -p "$out"
  (cd "$dir" && GOFLAGS="$GOFLAGS -mod=mod" go build -p "$GO_P" -trimpath -ldflags "-s -w $ldflags" -o "$out/" "$@")
}
mod_src() { (cd "$1" && go list -mod=mod -m -f '{{.Dir}}' "$2"); } # mod_src DIR MODULE: MODULE's directory in the module cache

all_fresh() { # all_fresh RECIPE IMAGE...: true if every IMAGE exists with that recipe
  local rec="$1" i; shift
  for i in "$@"; do [ "$(image_recipe "$i")" = "$rec" ] || return 1; done
  log "up to date: $*"
}

# named_in TAG FILE...: die if the upstream manifests are present and none names TAG.
named_in() {
  local tag="$1" f any=0; shift
  for f in "$@"; do
    [ -f "$f" ] || continue
    any=1; grep -qF "$tag" "$f" && return 0
  done
  [ $any = 0 ] || die "$tag is not named in $*"
}

# cached_deb PKG: the newest .deb of PKG in the debootstrap cache (apt-get download if none).
cached_deb() {
  local pkg="$1" deb
  mkdir -p "$CACHE/debs"
  deb="$(ls -v "$CACHE/debs/${pkg}"_*.deb 2>/dev/null | tail -n 1 || true)"
  if [ -z "$deb" ]; then
    (cd "$CACHE/debs" && apt-get download "$pkg" >/dev/null) || die "apt-get download $pkg failed"
    deb="$(ls -v "$CACHE/debs/${pkg}"_*.deb | tail -n 1)"
  fi
  echo "$deb"
}

# A distroless-like base for static Go binaries (what ko's and distroless's
# static bases give them): the CA bundle, tzdata, /etc/services and
# /etc/protocols, passwd/group with root, nonroot (65532) and nobody (65534),
# /tmp; no shell. From Debian's .debs (dpkg-deb -x), no debootstrap.
STATIC_DEBS=(ca-certificates tzdata netbase)
step_static() {
  local debs=() p
  for p in "${STATIC_DEBS[@]}"; do debs+=("$(cached_deb "$p")"); done
  local rec; rec="$(recipe step_static "${debs[@]##*/}")"
  fresh "$STATIC_IMAGE" "$rec" && return 0
  local d="$SCRATCH/static"; rmtree "$d"
  local r="$d/root" x="$d/debs"; mkdir -p "$r/etc/ssl/certs" "$r/usr/share" "$r/tmp" "$r/home/nonroot" "$x"
  for p in "${debs[@]}"; do dpkg-deb -x "$p" "$x"; done
  # update-ca-certificates' bundle: every certificate of the package, concatenated.
  find "$x/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z | xargs -0 awk 1 >"$r/etc/ssl/certs/ca-certificates.crt"
  [ -s "$r/etc/ssl/certs/ca-certificates.crt" ] || die "empty CA bundle"
  cp -a "$x/usr/share/zoneinfo" "$r/usr/share/"
  cp "$x/etc/services" "$x/etc/protocols" "$r/etc/"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' \
    'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' 'nogroup:x:65534:' >"$r/etc/group"
  echo 'hosts: files dns' >"$r/etc/nsswitch.conf"
  chmod 1777 "$r/tmp"; chown 65532:65532 "$r/home/nonroot"; chmod 0700 "$r/home/nonroot"
  import_rootfs "$r" "$STATIC_IMAGE" "$rec" 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'
  rmtree "$d"
}

# Debian's git and tini with a nonroot user (65532): the base of Tekton's
# resolvers image (upstream: ghcr.io/tektoncd/plumbing/tini-git; its git
# resolver runs the git CLI, and the Deployment runs /sbin/tini). Also tagged,
# with git as entrypoint, as the coffee pipeline's step image: STAND-IN
# docker.io/alpine/git:v2.45.1 (Debian's git 2.39 and sh, not Alpine's), and
# the step image it had before, cgr.dev/chainguard/git:latest.
GIT_PACKAGES=git,tini,ca-certificates
CHAINGUARD_GIT_IMAGE=cgr.dev/chainguard/git:latest
ALPINE_GIT_IMAGE=alpine/git:v2.45.1
step_git() {
  local rec; rec="$(recipe step_git "$GIT_PACKAGES")"
  all_fresh "$rec" "$GIT_IMAGE" "$CHAINGUARD_GIT_IMAGE" "$ALPINE_GIT_IMAGE" && return 0
  local t0=$SECONDS r="$SCRATCH/git"
  debootstrap_rootfs "$r" "$GIT_PACKAGES"
  chroot "$r" sh -euc 'groupadd -g 65532 nonroot && useradd -u 65532 -g 65532 -m -d /home/nonroot -s /bin/sh nonroot'
  [ -e "$r/usr/sbin/tini" ] || ln -s ../bin/tini "$r/usr/sbin/tini"
  [ -x "$r/sbin/tini" ] || die "no /sbin/tini in the git image"
  import_rootfs "$r" "$GIT_IMAGE" "$rec" 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'USER 65532' 'WORKDIR /home/nonroot'
  rmtree "$r"; mkdir -p "$r"
  printf '%s\n' "FROM $GIT_IMAGE" 'ENTRYPOINT ["/usr/bin/git"]' >"$r/Dockerfile"
  build_image "$CHAINGUARD_GIT_IMAGE" "$rec" "$r"
  dk tag "$CHAINGUARD_GIT_IMAGE" "$ALPINE_GIT_IMAGE"
  rmtree "$r"
  log "git images in $((SECONDS - t0))s"
}

# ko_name REGISTRY IMPORTPATH VERSION: the name ko gives a command's image
# (its default naming: the last path element, '-', md5 of the import path).
ko_name() { printf '%s/%s-%s:%s' "$1" "${2##*/}" "$(printf '%s' "$2" | md5sum | cut -c1-32)" "$3"; }

# ko_image TAG BINARY KODATA BASE RECIPE: an image laid out as ko lays out a
# Go command: the binary at /ko-app/NAME (entrypoint, and on PATH), the
# command's kodata directory at /var/run/ko (KO_DATA_PATH), uid 65532.
ko_image() {
  local tag="$1" bin="$2" kodata="$3" base="$4" rec="$5" name; name="$(basename "$bin")"
  local d="$SCRATCH/ko-$name"; rmtree "$d"; mkdir -p "$d/kodata"
  cp "$bin" "$d/$name"
  if [ -d "$kodata" ]; then cp -rL "$kodata/." "$d/kodata/"; fi
  printf '%s\n' "FROM $base" "COPY $name /ko-app/$name" 'COPY kodata/ /var/run/ko/' \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/ko-app KO_DATA_PATH=/var/run/ko' \
    'USER 65532' "ENTRYPOINT [\"/ko-app/$name\"]" >"$d/Dockerfile"
  build_image "$tag" "$rec" "$d"
  rmtree "$d"
}

# ko_step STEP DIR MODULE VERSION REGISTRY "MANIFEST..." CMD[:git]...: the
# module's cmd/CMDs in one go build (wrapper module DIR), one ko-style image
# each, named as ko names them (checked against the upstream manifests); on
# the static base, or with :git on the git image.
ko_step() {
  local step="$1" dir="$2" mod="$3" version="$4" registry="$5" manifests="$6"; shift 6
  need_image "$STATIC_IMAGE" static
  local specs=("$@") cmds=() pkgs=() c t0=$SECONDS out="$BIN/$step"
  for c in "${specs[@]}"; do cmds+=("${c%%:*}"); pkgs+=("$mod/cmd/${c%%:*}"); done
  case " ${specs[*]} " in *:git*) need_image "$GIT_IMAGE" git;; esac
  log "go build $mod $version: ${cmds[*]}"
  go_build "$dir" "$out" "" "${pkgs[@]}"
  log "Go build in $((SECONDS - t0))s"
  local src sums="" rec tags=() i
  src="$(mod_src "$dir" "$mod")"
  for c in "${cmds[@]}"; do sums="$sums $c=$(sha "$out/$c")"; done
  rec="$(recipe "step_$step" "$(declare -f ko_step ko_image)" "${specs[*]}" "$sums" \
    "$(cd "$src/cmd" && find . -path '*/kodata/*' -type f | sort | xargs -r sha256sum)" \
    "$(image_recipe "$STATIC_IMAGE")" "$(image_recipe "$GIT_IMAGE")")"
  for c in "${cmds[@]}"; do tags+=("$(ko_name "$registry" "$mod/cmd/$c" "$version")"); done
  all_fresh "$rec" "${tags[@]}" && return 0
  for i in "${!specs[@]}"; do
    # shellcheck disable=SC2086
    named_in "${tags[$i]}" $manifests
    local base="$STATIC_IMAGE"
    case "${specs[$i]}" in *:git) base="$GIT_IMAGE";; esac
    ko_image "${tags[$i]}" "$out/${cmds[$i]}" "$src/cmd/${cmds[$i]}/kodata" "$base" "$rec"
  done
  log "$step images in $((SECONDS - t0))s"
}

# Tekton Pipelines (real, github.com/tektoncd/pipeline in tests/kind/tekton):
# the four Deployments' images and the controller's -entrypoint-image,
# -nop-image, -sidecarlogresults-image and -workingdirinit-image. resolvers on
# the git image (its git resolver runs the git CLI under /sbin/tini).
step_tekton() {
  ko_step tekton "$LANE_DIR/tekton" github.com/tektoncd/pipeline "$TEKTON_VERSION" ghcr.io/tektoncd/pipeline \
    "$UPSTREAM_DIR/tekton-pipelines/release-$TEKTON_VERSION.derived.yaml" \
    controller events resolvers:git webhook entrypoint nop sidecarlogresults workingdirinit
}

# Tekton Triggers (real, github.com/tektoncd/triggers in tests/kind/triggers):
# controller, webhook, core interceptors, and the controller's -el-image
# (eventlistenersink, which each EventListener's Deployment runs).
step_triggers() {
  ko_step triggers "$LANE_DIR/triggers" github.com/tektoncd/triggers "$TRIGGERS_VERSION" ghcr.io/tektoncd/triggers \
    "$UPSTREAM_DIR/tekton-triggers/release-$TRIGGERS_VERSION.derived.yaml $UPSTREAM_DIR/tekton-triggers/interceptors-$TRIGGERS_VERSION.derived.yaml" \
    controller webhook interceptors eventlistenersink
}

# metrics-server (real, sigs.k8s.io/metrics-server in tests/kind/metrics-server),
# laid out as upstream's Dockerfile: /metrics-server, uid 65534.
step_metrics_server() {
  need_image "$STATIC_IMAGE" static
  local out="$BIN/metrics-server" t0=$SECONDS p=k8s.io/client-go/pkg/version
  log "go build metrics-server $METRICS_SERVER_VERSION"
  go_build "$LANE_DIR/metrics-server" "$out" \
    "-X $p.gitVersion=$METRICS_SERVER_VERSION -X $p.gitCommit=2a7c4b2c7d46552ff47f4aeaa3a735c582587ecd" \
    sigs.k8s.io/metrics-server/cmd/metrics-server
  log "Go build in $((SECONDS - t0))s"
  local tag="registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION" rec
  rec="$(recipe step_metrics_server "$(sha "$out/metrics-server")" "$(image_recipe "$STATIC_IMAGE")")"
  fresh "$tag" "$rec" && return 0
  named_in "$tag" "$UPSTREAM_DIR/metrics-server/components-$METRICS_SERVER_VERSION.rendered.yaml"
  local d="$SCRATCH/metrics-server"; rmtree "$d"; mkdir -p "$d"
  cp "$out/metrics-server" "$d/"
  printf '%s\n' "FROM $STATIC_IMAGE" 'COPY metrics-server /metrics-server' 'USER 65534' \
    'ENTRYPOINT ["/metrics-server"]' >"$d/Dockerfile"
  build_image "$tag" "$rec" "$d"
  rmtree "$d"
}

# Argo Rollouts (real, github.com/argoproj/argo-rollouts in tests/kind/rollouts,
# with upstream's replace block), laid out as upstream's Dockerfile:
# /bin/rollouts-controller, uid 999, workdir /home/argo-rollouts.
step_rollouts() {
  need_image "$STATIC_IMAGE" static
  local out="$BIN/rollouts" t0=$SECONDS p=github.com/argoproj/argo-rollouts/utils/version
  log "go build argo-rollouts $ROLLOUTS_VERSION (rollouts-controller)"
  go_build "$LANE_DIR/rollouts" "$out" \
    "-X $p.version=${ROLLOUTS_VERSION#v} -X $p.gitTag=$ROLLOUTS_VERSION -X $p.gitCommit=b6bd3bcf8f60d717a98763d26acc983db7f97cb0 -X $p.gitTreeState=clean" \
    github.com/argoproj/argo-rollouts/cmd/rollouts-controller
  log "Go build in $((SECONDS - t0))s"
  local tag="quay.io/argoproj/argo-rollouts:$ROLLOUTS_VERSION" rec
  rec="$(recipe step_rollouts "$(sha "$out/rollouts-controller")" "$(image_recipe "$STATIC_IMAGE")")"
  fresh "$tag" "$rec" && return 0
  named_in "$tag" "$UPSTREAM_DIR/argo-rollouts/install-$ROLLOUTS_VERSION.yaml"
  local d="$SCRATCH/rollouts"; rmtree "$d"; mkdir -p "$d"
  cp "$out/rollouts-controller" "$d/"
  printf '%s\n' "FROM $STATIC_IMAGE" 'COPY rollouts-controller /bin/rollouts-controller' 'USER 999' \
    'WORKDIR /home/argo-rollouts' 'ENTRYPOINT ["/bin/rollouts-controller"]' >"$d/Dockerfile"
  build_image "$tag" "$rec" "$d"
  rmtree "$d"
}

# External Secrets Operator (real): github.com/external-secrets/external-secrets
# ESO_VERSION from the source archive in ../shared/upstream (SOURCES.tsv: a
# git-archive of the tag's Go source; its go.mod replaces 61 modules with ./
# directories, which is why the module proxy cannot serve it as a module, but
# every dependency of `go build .` resolves through the proxy). Built as
# upstream's Makefile builds it (CGO_ENABLED=0 go build of the main package)
# and laid out as its Dockerfile: /bin/external-secrets, USER 65534, on the
# distroless-like static base. One binary for the chart's three Deployments
# (controller, certcontroller, webhook subcommands).
# Build tags: none. pkg/register registers the kubernetes provider and the
# generators without a tag (kubernetes.go, generators.go have no //go:build
# line); every other provider needs its tag or `all_providers` (upstream's
# release build). A local cluster's secret store is the kubernetes provider
# (kindops's ClusterSecretStore), so the other 40 providers' SDKs (AWS, Azure,
# GCP, Vault...) would only add build time and image size. (`-tags fake`
# would add the fake provider, which kindops does not use.)
ESO_SRC="${KINDOPS_ESO_SRC:-$UPSTREAM_DIR/external-secrets/src-external-secrets-$ESO_VERSION.tar.gz}"
ESO_TAGS=""
step_eso() {
  need_image "$STATIC_IMAGE" static
  [ -f "$ESO_SRC" ] || die "External Secrets source not found at $ESO_SRC (KINDOPS_ESO_SRC; ../shared/upstream/SOURCES.tsv)"
  local out="$BIN/external-secrets" t0=$SECONDS src_sha; src_sha="$(sha256sum "$ESO_SRC" | cut -d" " -f1)"
  # The source tree, extracted once per archive (kept: go build is incremental on it).
  local src="$OUT/src/external-secrets-$ESO_VERSION"
  if [ "$(cat "$src/.kindops-archive" 2>/dev/null || true)" != "$src_sha" ]; then
    rmtree "$src"; mkdir -p "$src"
    tar -xzf "$ESO_SRC" -C "$src" --strip-components=1 || die "could not extract $ESO_SRC"
    echo "$src_sha" >"$src/.kindops-archive"
  fi
  mkdir -p "$out"
  log "go build external-secrets $ESO_VERSION (tags: ${ESO_TAGS:-none})"
  (cd "$src" && go build -p "$GO_P" -trimpath -tags "$ESO_TAGS" -ldflags "-s -w" -o "$out/external-secrets" .) \
    || die "go build of external-secrets failed"
  log "Go build in $((SECONDS - t0))s"
  # (KINDOPS_ESO_TAG: another tag, to try a build without touching the chart's)
  local tag="${KINDOPS_ESO_TAG:-ghcr.io/external-secrets/external-secrets:$ESO_VERSION}" rec
  rec="$(recipe step_eso "$(sha "$out/external-secrets")" "$(image_recipe "$STATIC_IMAGE")")"
  fresh "$tag" "$rec" && return 0
  local d="$SCRATCH/eso"; rmtree "$d"; mkdir -p "$d"
  cp "$out/external-secrets" "$d/"
  printf '%s\n' "FROM $STATIC_IMAGE" 'COPY external-secrets /bin/external-secrets' \
    "LABEL org.opencontainers.image.version=\"$ESO_VERSION\" org.opencontainers.image.source=\"https://github.com/external-secrets/external-secrets\" kindops.source.sha256=\"$src_sha\" kindops.build.tags=\"${ESO_TAGS:-none}\"" \
    'USER 65534' 'ENTRYPOINT ["/bin/external-secrets"]' >"$d/Dockerfile"
  build_image "$tag" "$rec" "$d"
  rmtree "$d"
  log "external-secrets image in $((SECONDS - t0))s"
}

# agnhost (real, k8s.io/kubernetes/test/images/agnhost of K8S_VERSION, so the
# agnhost version that release carries, under the tag the coffee apps name),
# built in tests/kind/agnhost (k8s.io/kubernetes with the staging replaces of
# tests/kind/kube; agnhost needs one module more, ishidawataru/sctp). Upstream's layout (/agnhost, /agnhost-2, /uploads, porter's
# localhost.crt/key, uid 1000 user-defined-in-image, gid 50000
# group-defined-in-image, ENTRYPOINT /agnhost, CMD pause) on the busybox image
# instead of Alpine with curl, bind-tools, iperf and coredns.
step_agnhost() {
  need_image "$BUSYBOX_IMAGE" busybox
  local src v out="$BIN/agnhost" t0=$SECONDS
  src="$(mod_dir "k8s.io/kubernetes@$K8S_VERSION")/test/images/agnhost"
  v="$(cat "$src/VERSION")"
  mkdir -p "$out"
  log "go build agnhost $v (k8s.io/kubernetes $K8S_VERSION)"
  go_build "$LANE_DIR/agnhost" "$out" "-X main.Version=$v" k8s.io/kubernetes/test/images/agnhost
  log "Go build in $((SECONDS - t0))s"
  local tag="registry.k8s.io/e2e-test-images/agnhost:$AGNHOST_TAG" rec
  rec="$(recipe step_agnhost "$(sha "$out/agnhost")" "$(cat "$src/porter/localhost.crt" "$src/porter/localhost.key" | sha256sum)" \
    "$(image_recipe "$BUSYBOX_IMAGE")")"
  fresh "$tag" "$rec" && return 0
  local d="$SCRATCH/agnhost"; rmtree "$d"; mkdir -p "$d/etc"
  cp "$out/agnhost" "$d/"
  install -m 0644 "$src/porter/localhost.crt" "$src/porter/localhost.key" "$d/"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/:/bin/false' \
    'user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh' >"$d/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' 'user-defined-in-image:x:1000:' \
    'group-defined-in-image:x:50000:user-defined-in-image' >"$d/etc/group"
  # the link and the directories go in as a tar (the classic builder's RUN would need a container)
  mkdir -p "$d/t/uploads" "$d/t/home/user-defined-in-image"; ln -s agnhost "$d/t/agnhost-2"
  chown 1000:1000 "$d/t/home/user-defined-in-image"
  tar -C "$d/t" --numeric-owner -cf "$d/extra.tar" agnhost-2 uploads home
  printf '%s\n' "FROM $BUSYBOX_IMAGE" 'COPY etc/ /etc/' 'COPY agnhost localhost.crt localhost.key /' 'ADD extra.tar /' \
    'WORKDIR /' 'EXPOSE 80 8080 8081 9376 5000' 'ENTRYPOINT ["/agnhost"]' 'CMD ["pause"]' >"$d/Dockerfile"
  build_image "$tag" "$rec" "$d"
  rmtree "$d"
  log "agnhost image in $((SECONDS - t0))s"
}

# The local registry kindops runs beside the cluster (phase 0; issue 21):
# real CNCF distribution, github.com/distribution/distribution/v3
# (tests/kind/registry), ./cmd/registry built as upstream's Dockerfile builds
# it (CGO_ENABLED=0, BUILDTAGS "" (none), -trimpath, -ldflags "-s -w -X
# .../version.version=${VERSION#v} -X .../version.mainpkg=..."; the revision
# ldflag needs the git checkout, which the module zip lacks). Laid out as the
# docker-library image `registry` (docker-library/repo-info
# repos/registry/tag-details.md, tags registry:3, 3.1, 3.1.1, latest):
# /bin/registry, /etc/distribution/config.yml (upstream's
# cmd/registry/config-dev.yml, which docker-library's config-example.yml
# matches: filesystem storage in /var/lib/registry, http :5000, debug :5001),
# ENV OTEL_TRACES_EXPORTER=none, VOLUME /var/lib/registry, EXPOSE 5000,
# ENTRYPOINT /entrypoint.sh (a config file as $1 → `registry serve FILE`,
# else `registry ARGS`), CMD /etc/distribution/config.yml. On the busybox image
# (the entrypoint needs sh) with the static image's CA bundle instead of
# Alpine with ca-certificates. The image name is the pin in
# manifests/upstream.yaml (the one place its version is written).
REGISTRY_IMAGE="$(awk '$1 == "image:" && $2 ~ /^docker\.io\/library\/registry:/ {print $2}' "$REPO_ROOT/manifests/upstream.yaml")"
step_registry() {
  [ -n "$REGISTRY_IMAGE" ] || die "no docker.io/library/registry image pinned in manifests/upstream.yaml"
  need_image "$BUSYBOX_IMAGE" busybox; need_image "$STATIC_IMAGE" static
  local version="${REGISTRY_IMAGE##*:}" out="$BIN/registry" t0=$SECONDS p=github.com/distribution/distribution/v3
  log "go build $p v$version (cmd/registry)"
  go_build "$LANE_DIR/registry" "$out" "-X $p/version.version=$version -X $p/version.mainpkg=$p" "$p/cmd/registry"
  log "Go build in $((SECONDS - t0))s"
  "$out/registry" --version | grep -qF " $version" || die "$out/registry --version does not say $version"
  local src rec; src="$(mod_src "$LANE_DIR/registry" "$p")"
  rec="$(recipe step_registry "$(sha "$out/registry")" "$(sha "$src/cmd/registry/config-dev.yml")" \
    "$(image_recipe "$BUSYBOX_IMAGE")" "$(image_recipe "$STATIC_IMAGE")")"
  fresh "$REGISTRY_IMAGE" "$rec" && return 0
  local d="$SCRATCH/registry"; rmtree "$d"; mkdir -p "$d"
  cp "$out/registry" "$d/"
  install -m 0644 "$src/cmd/registry/config-dev.yml" "$d/config.yml"
  cat >"$d/entrypoint.sh" <<'SH'
#!/bin/sh
# As docker-library's registry entrypoint: a config file → serve it; else registry ARGS.
set -e
case "$1" in
  sh) shift; exec /bin/sh "$@";;
esac
if [ -f "$1" ]; then exec /bin/registry serve "$@"; fi
exec /bin/registry "$@"
SH
  chmod 0755 "$d/entrypoint.sh"
  printf '%s\n' "FROM $BUSYBOX_IMAGE" \
    "COPY --from=$STATIC_IMAGE /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt" \
    'COPY registry /bin/registry' 'COPY config.yml /etc/distribution/config.yml' 'COPY entrypoint.sh /entrypoint.sh' \
    'ENV OTEL_TRACES_EXPORTER=none' 'VOLUME ["/var/lib/registry"]' 'EXPOSE 5000' \
    'ENTRYPOINT ["/entrypoint.sh"]' 'CMD ["/etc/distribution/config.yml"]' >"$d/Dockerfile"
  build_image "$REGISTRY_IMAGE" "$rec" "$d"
  rmtree "$d"
  log "registry image in $((SECONDS - t0))s"
}

# The coffee pipeline's image (issue 22): ko v0.19.1's own image as upstream
# publishes it (ko's .goreleaser.yml `kos:`: ghcr.io/ko-build/ko:<tag>,
# base_image golang:latest, the binary at /ko-app/ko), on the docker-library
# golang image. That golang image here is an HONEST EQUIVALENT, not
# upstream's bytes: Debian bookworm (debootstrap) with the packages
# docker-library's golang image gets from buildpack-deps:bookworm-scm that the
# pipeline uses (git, curl, ca-certificates, openssh-client, procps) and the
# machine's official Go release in /usr/local/go (the tarball the golang
# image unpacks there), GOPATH /go, PATH as upstream's Dockerfile sets it;
# without gcc/libc6-dev/make (the pipeline builds with CGO_ENABLED=0). Tagged
# as golang:<that Go's version>-bookworm. ko: github.com/google/ko v0.19.1
# from the module proxy (tests/kind/ko), with upstream's release ldflags.
# ko's base image for the coffee services: STAND-IN kindops.local/static
# tagged gcr.io/distroless/static-debian12:nonroot (manifests/upstream.yaml
# `ko-base`), which `kindops fetch --images` saves and phase 0 pushes into
# the local registry.
KO_VERSION=v0.19.1
KO_IMAGE="ghcr.io/ko-build/ko:$KO_VERSION"
GOLANG_PACKAGES=git,curl,ca-certificates,openssh-client,procps
# golang_image: the Go toolchain image (above); prints its tag.
golang_image() {
  local goroot gov; goroot="$(go env GOROOT)"; gov="$(go env GOVERSION)"; gov="${gov#go}"
  local golang="docker.io/library/golang:$gov-bookworm" t0=$SECONDS
  local grec; grec="$(recipe golang_image "$GOLANG_PACKAGES" "$(head -n 2 "$goroot/VERSION" | paste -sd' ')")"
  if ! fresh "$golang" "$grec"; then
    local r="$SCRATCH/golang"
    debootstrap_rootfs "$r" "$GOLANG_PACKAGES"
    mkdir -p "$r/usr/local" "$r/go/bin" "$r/go/src"; chmod 1777 "$r/go"
    cp -a "$goroot" "$r/usr/local/go"
    rm -rf "$r/usr/local/go/pkg/obj" "$r/usr/local/go/.git"
    import_rootfs "$r" "$golang" "$grec" "ENV GOLANG_VERSION=$gov" 'ENV GOTOOLCHAIN=local' 'ENV GOPATH=/go' \
      'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      'WORKDIR /go' 'CMD ["bash"]' >&2
    rmtree "$r"
    log "golang image in $((SECONDS - t0))s" >&2
  fi
  echo "$golang"
}
KO_BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot
step_ko() {
  local golang t0=$SECONDS out="$BIN/ko"
  need_image "$STATIC_IMAGE" static
  dk tag "$STATIC_IMAGE" "$KO_BASE_IMAGE"
  golang="$(golang_image)"; [ -n "$golang" ] || die "no golang image"
  go_build "$LANE_DIR/ko" "$out" "-X github.com/google/ko/pkg/commands.Version=${KO_VERSION#v}" github.com/google/ko
  log "ko Go build in $((SECONDS - t0))s"
  local rec; rec="$(recipe step_ko "$(sha "$out/ko")" "$(image_recipe "$golang")")"
  fresh "$KO_IMAGE" "$rec" && return 0
  local d="$SCRATCH/ko-image"; rmtree "$d"; mkdir -p "$d"
  cp "$out/ko" "$d/ko"
  printf '%s\n' "FROM $golang" 'COPY ko /ko-app/ko' \
    'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/ko-app' \
    'ENTRYPOINT ["/ko-app/ko"]' >"$d/Dockerfile"
  build_image "$KO_IMAGE" "$rec" "$d"
  rmtree "$d"
  log "ko images in $((SECONDS - t0))s"
}
