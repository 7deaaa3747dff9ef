//! The local registry beside the kind cluster, set up as kind's "Local
//! Registry" guide does (kubernetes-sigs/kind
//! `site/static/examples/kind-with-registry.sh`, checked 2026-12-06):
//!
//! 1. a registry container ([`CONTAINER`], image pinned in
//!    `manifests/upstream.yaml`: CNCF distribution as the docker-library
//!    `registry` image) published on `127.0.0.1:<port>` (default
//!    [`DEFAULT_PORT`]) → container port [`CONTAINER_PORT`], connected to the
//!    `kind` network, its data in the named volume [`VOLUME`];
//! 2. in every node, `/etc/containerd/certs.d/localhost:<port>/hosts.toml`
//!    naming `http://kindops-registry:5000` ([`hosts_toml`]), read by
//!    containerd because the kind config sets `config_path`
//!    ([`CONTAINERD_CONFIG_PATCH`]);
//! 3. the `local-registry-hosting` ConfigMap in `kube-public` (KEP-1755,
//!    [`local_registry_hosting`]);
//! 4. CI's build base image pushed into it ([`build_base`]).
//!
//! So `docker push localhost:5001/app:1` on the host and `image:
//! localhost:5001/app:1` in a pod name the same image, and a pod inside the
//! cluster reaches it as `kindops-registry:5000` (plain HTTP).
//!
//! Ownership: the container and the volume carry [`ROLE_LABEL`]` =
//! `[`ROLE`]; kindops touches neither without that label. `kindops down`
//! removes the container when no other kindops cluster remains and keeps
//! the volume; `kindops down --purge` removes the volume too.

pub mod build_base;
pub mod caches;
pub mod docker;
pub mod port;

use serde::Serialize;
use std::collections::BTreeMap;

/// The registry container's name (and its DNS name on the `kind` network).
pub const CONTAINER: &str = "kindops-registry";
/// The named volume at `/var/lib/registry` (the image's `VOLUME`).
pub const VOLUME: &str = "kindops-registry-data";
/// The port the registry serves on inside its container (`http.addr: :5000`
/// of upstream's `cmd/registry/config-dev.yml`; the image `EXPOSE`s 5000).
pub const CONTAINER_PORT: u16 = 5000;
/// The host port by default (`--registry-port`), kind's guide's `reg_port`.
pub const DEFAULT_PORT: u16 = 5001;
/// The network kind puts its nodes on (kind `pkg/cluster/internal/providers/docker/network.go`, `fixedNetworkName`).
pub const KIND_NETWORK: &str = "kind";
/// Where the registry keeps its data (`storage.filesystem.rootdirectory`).
pub const DATA_DIR: &str = "/var/lib/registry";
/// The label kindops sets on what it creates for the registry.
pub const ROLE_LABEL: &str = "io.kindops.role";
/// [`ROLE_LABEL`]'s value on the registry's container and volume.
pub const ROLE: &str = "registry";
/// containerd's registry host directory in kind nodes.
pub const CERTS_D: &str = "/etc/containerd/certs.d";

/// The kind config's `containerdConfigPatches` entry that makes containerd
/// read `hosts.toml` files under [`CERTS_D`] (kind's guide, step 2; the CRI
/// plugin's `registry.config_path`, containerd `docs/cri/config.md`). kind
/// v0.27+ node images run containerd 2, whose default already includes that
/// directory; a node with containerd 1.x (the lane's Debian containerd 1.6)
/// needs the patch. Harmless on both.
pub const CONTAINERD_CONFIG_PATCH: &str =
    "[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n";

/// How phase 0 runs the registry and the pull-through caches
/// (`--registry-port`, `--upstream-mirror`, `--no-registry`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryOptions {
    /// Host port on 127.0.0.1.
    pub port: u16,
    /// Upstream host → the registry its cache proxies instead of the
    /// upstream itself ([`caches::remote`]).
    pub upstream_mirrors: BTreeMap<String, String>,
    /// `--offline`: the caches serve what they hold and ask no upstream
    /// ([`caches::spec`]).
    pub offline: bool,
}

/// `localhost:<port>`: the name pushed to on the host and pulled by pods.
pub fn host(port: u16) -> String {
    format!("localhost:{port}")
}

/// The registry as pods and nodes reach it on the `kind` network.
pub fn cluster_host() -> String {
    format!("{CONTAINER}:{CONTAINER_PORT}")
}

/// One `[host."URL"]` table of a containerd `hosts.toml` (containerd
/// `docs/hosts.md`; absent keys keep containerd's defaults: capabilities
/// pull, resolve and push).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_verify: Option<bool>,
}

/// A containerd `hosts.toml` (containerd `docs/hosts.md`): `server` is the
/// upstream fallback (none for the local registry), `host` the hosts tried
/// first, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostsToml {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    pub host: BTreeMap<String, HostConfig>,
}

/// The `hosts.toml` for `localhost:<port>` in every node: one host,
/// `http://kindops-registry:5000`, as kind's guide writes it (step 3).
pub fn hosts_toml() -> String {
    let file = HostsToml {
        server: None,
        host: BTreeMap::from([(format!("http://{}", cluster_host()), HostConfig::default())]),
    };
    toml::to_string(&file).expect("a hosts.toml always serializes")
}

/// Where [`hosts_toml`] goes in a node for host port `port`.
pub fn hosts_toml_path(port: u16) -> String {
    format!("{CERTS_D}/{}/hosts.toml", host(port))
}

/// KEP-1755's `LocalRegistryHostingV1` (kubernetes/enhancements
/// `keps/sig-cluster-lifecycle/generic/1755-communicating-a-local-registry`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalRegistryHostingV1 {
    /// As seen from outside the cluster (where tools push).
    pub host: String,
    /// As seen from pods (where in-cluster tools such as a Tekton task push).
    pub host_from_cluster_network: String,
    /// As the container runtime pulls it (image names in manifests).
    pub host_from_container_runtime: String,
    pub help: String,
}

/// Name and namespace of the KEP-1755 ConfigMap.
pub const HOSTING_CONFIGMAP: (&str, &str) = ("local-registry-hosting", "kube-public");

/// The `local-registry-hosting` ConfigMap for host port `port`.
pub fn local_registry_hosting(port: u16) -> k8s_openapi::api::core::v1::ConfigMap {
    let v1 = LocalRegistryHostingV1 {
        host: host(port),
        host_from_cluster_network: cluster_host(),
        // containerd maps localhost:<port> to the container (hosts.toml), so
        // manifests name the same host as `docker push`.
        host_from_container_runtime: host(port),
        help: "https://kind.sigs.k8s.io/docs/user/local-registry/".into(),
    };
    k8s_openapi::api::core::v1::ConfigMap {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(HOSTING_CONFIGMAP.0.into()),
            namespace: Some(HOSTING_CONFIGMAP.1.into()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_string(),
                "kindops".to_string(),
            )])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "localRegistryHosting.v1".to_string(),
            serde_yaml::to_string(&v1).expect("a LocalRegistryHostingV1 always serializes"),
        )])),
        ..Default::default()
    }
}

/// Whether labels (a container's or a volume's) say kindops made it for the registry.
pub fn is_ours(labels: Option<&std::collections::HashMap<String, String>>) -> bool {
    labels.and_then(|l| l.get(ROLE_LABEL)).map(String::as_str) == Some(ROLE)
}

/// The labels kindops sets on the registry's container and volume.
pub fn our_labels() -> std::collections::HashMap<String, String> {
    std::collections::HashMap::from([(ROLE_LABEL.to_string(), ROLE.to_string())])
}

/// The network kind puts nodes on: `KIND_EXPERIMENTAL_DOCKER_NETWORK`, else
/// [`KIND_NETWORK`] (kind `pkg/cluster/internal/providers/docker/provider.go`).
pub fn kind_network() -> String {
    std::env::var("KIND_EXPERIMENTAL_DOCKER_NETWORK")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| KIND_NETWORK.to_string())
}

#[cfg(test)]
mod tests;
