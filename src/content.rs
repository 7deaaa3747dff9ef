//! The GitOps content kindops ships (`manifests/gitops/`) and publishes.
//!
//! The tree is embedded in the binary. [`Content::materialize`] writes it to a
//! directory with the `${KINDOPS_...}` tokens filled in and the pinned upstream
//! files added under `upstream/<name>/<file>` (charts unpacked where the pin
//! says `unpack`), which is both what phase 1 renders with kustomize and what
//! phases 2–4 publish to git for Argo CD.

use crate::upstream::Resolved;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

static GITOPS: include_dir::Dir<'_> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/manifests/gitops");
static KIND_CONFIG: &str = include_str!("../manifests/kind/cluster.yaml");

/// Values for the `${KINDOPS_...}` tokens in our manifests.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// `${KINDOPS_REPO_URL}`: the git URL Argo CD pulls from.
    pub repo_url: String,
}

/// The embedded GitOps tree.
#[derive(Debug, Clone, Copy)]
pub struct Content {
    dir: &'static include_dir::Dir<'static>,
}

impl Content {
    pub fn embedded() -> Self {
        Content { dir: &GITOPS }
    }

    /// True when `path` (relative, `/`-separated) names a file or directory of the tree.
    pub fn exists(&self, path: &str) -> bool {
        let p = path.trim_end_matches('/');
        self.dir.get_dir(p).is_some() || self.dir.get_file(p).is_some()
    }

    /// Names of the top-level directories, for error messages.
    pub fn top_level(&self) -> Vec<String> {
        self.dir.dirs().map(|d| d.path().display().to_string()).collect()
    }

    /// All files as (relative path, bytes), sorted by path.
    pub fn files(&self) -> Vec<(PathBuf, &'static [u8])> {
        fn walk(d: &'static include_dir::Dir<'static>, out: &mut Vec<(PathBuf, &'static [u8])>) {
            for f in d.files() {
                out.push((f.path().to_path_buf(), f.contents()));
            }
            for sub in d.dirs() {
                walk(sub, out);
            }
        }
        let mut out = Vec::new();
        walk(self.dir, &mut out);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Writes the whole tree into `dest` (created if needed): our files with tokens
    /// filled in, then every resolved upstream artifact.
    ///
    /// Errors: I/O on `dest`, an upstream archive that does not unpack.
    pub fn materialize(&self, dest: &Path, upstream: &[Resolved], vars: &Vars) -> Result<()> {
        for (rel, bytes) in self.files() {
            let target = dest.join(&rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let text = String::from_utf8_lossy(bytes);
            std::fs::write(&target, fill(&text, vars)).with_context(|| format!("writing {}", target.display()))?;
        }
        for r in upstream {
            match &r.pin.unpack {
                None => {
                    let target = dest.join("upstream").join(&r.pin.name).join(&r.pin.file);
                    std::fs::create_dir_all(target.parent().unwrap())?;
                    std::fs::copy(&r.path, &target)
                        .with_context(|| format!("copying {} to {}", r.path.display(), target.display()))?;
                }
                Some(into) => unpack_chart(&r.path, &dest.join(into))
                    .with_context(|| format!("unpacking {} into {into}", r.path.display()))?,
            }
        }
        Ok(())
    }
}

/// A hidden developer override: a directory whose files are laid over the
/// materialized GitOps tree (same relative paths; a file there replaces or
/// adds one), as a new kindops version's content would change it. For
/// testing what a re-run does with new content (issue 19); not for users.
pub const OVERLAY_ENV: &str = "KINDOPS_DEV_CONTENT_OVERLAY";

/// Copies every file of `from` into `to` (same relative paths, overwriting,
/// folders created), skipping `.git`: see [`OVERLAY_ENV`].
///
/// Errors: I/O on either tree.
pub fn overlay(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
            overlay(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {} to {}", entry.path().display(), target.display()))?;
        }
    }
    Ok(())
}

/// Fills `${KINDOPS_REPO_URL}` in one of our manifests.
pub fn fill(text: &str, vars: &Vars) -> String {
    text.replace("${KINDOPS_REPO_URL}", &vars.repo_url)
}

static KIND_VERSIONS: &str = include_str!("../manifests/kind/versions.yaml");

/// `manifests/kind/versions.yaml`: the kind release kindops is made for and
/// its default node image (by digest).
#[derive(Debug, Clone, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindVersions {
    /// e.g. `v0.32.0`.
    pub kind: String,
    /// e.g. `kindest/node:v1.36.1@sha256:...`.
    pub node_image: String,
}

/// The pinned kind release and node image.
pub fn kind_versions() -> KindVersions {
    serde_yaml::from_str(KIND_VERSIONS).expect("manifests/kind/versions.yaml is checked by a unit test")
}

/// What kindops puts in the kind cluster config besides its template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindOptions<'a> {
    pub cluster: &'a str,
    /// The host folder of the built-in git source (mounted at /var/lib/kindops/git).
    pub git_dir: &'a Path,
    /// Host port of the Argo CD UI.
    pub ui_port: u16,
    /// Worker nodes added after the template's control-plane node, each
    /// with the same node image and the git source's mount (Argo CD's
    /// repo-server and CI's git server may run on any node).
    pub workers: u8,
    /// `image:` of every node (`--node-image`, else [`KindVersions::node_image`]).
    pub node_image: &'a str,
    /// The container engine's host runs cgroup v1 (`docker info` →
    /// `CgroupVersion`): kubelet 1.35+ exits there unless its configuration
    /// says `failCgroupV1: false` (KEP-5573, kubernetes/kubernetes#134298),
    /// which kindops adds as a `kubeadmConfigPatches` entry.
    pub cgroup_v1: bool,
}

/// How many images a node's kubelet pulls at once (kindops's kubelet patch,
/// [`kind_config`]).
pub const MAX_PARALLEL_IMAGE_PULLS: u32 = 4;

/// The kind cluster config (`manifests/kind/cluster.yaml`) with its tokens
/// filled in, every node's `image:` set, containerd's registry
/// `config_path` patch ([`crate::registry::CONTAINERD_CONFIG_PATCH`]) and the
/// kubelet patch (parallel image pulls; on cgroup v1 hosts `failCgroupV1:
/// false`) added; as YAML text for `kind create cluster --config`.
///
/// Errors: the template does not parse after filling (a bug, or an odd
/// cluster name / path), named.
pub fn kind_config(o: &KindOptions) -> Result<String> {
    let text = KIND_CONFIG
        .replace("${KINDOPS_CLUSTER}", o.cluster)
        .replace("${KINDOPS_GIT_DIR}", &o.git_dir.display().to_string())
        .replace("${KINDOPS_UI_PORT}", &o.ui_port.to_string());
    let mut cfg: serde_yaml::Value =
        serde_yaml::from_str(&text).context("manifests/kind/cluster.yaml after filling its tokens")?;
    if let Some(nodes) = cfg.get_mut("nodes").and_then(|n| n.as_sequence_mut()) {
        // kind v0.32 pkg/apis/config/v1alpha4/types.go: Node.Role
        // `worker`, Node.ExtraMounts; a worker needs no port mapping
        // (NodePorts answer on every node).
        let mount = nodes
            .first()
            .and_then(|n| n.get("extraMounts"))
            .cloned()
            .context("manifests/kind/cluster.yaml: the control-plane node has no extraMounts")?;
        for _ in 0..o.workers {
            let mut w = serde_yaml::Mapping::new();
            w.insert("role".into(), "worker".into());
            w.insert("extraMounts".into(), mount.clone());
            nodes.push(serde_yaml::Value::Mapping(w));
        }
        for node in nodes {
            if let Some(m) = node.as_mapping_mut() {
                m.insert("image".into(), o.node_image.into());
            }
        }
    }
    // containerd reads registry hosts from /etc/containerd/certs.d (the
    // local registry's hosts.toml): kind's "Local Registry" guide, step 2.
    push_patch(
        &mut cfg,
        "containerdConfigPatches",
        crate::registry::CONTAINERD_CONFIG_PATCH,
    )?;
    // The kubelet pulls images one at a time by default
    // (`serializeImagePulls`, default true; k8s.io/kubelet v0.36
    // `config/v1beta1/types.go`): on a new cluster pulling ~20 images through
    // the caches, each pod then waits for every pull queued before it
    // (measured on the real-kind lane: Argo CD's pods 35–42 s "including
    // waiting" for a 5 s pull). `maxParallelImagePulls` (same file) bounds
    // the parallel pulls.
    let mut patch = format!(
        "kind: KubeletConfiguration\nserializeImagePulls: false\nmaxParallelImagePulls: {MAX_PARALLEL_IMAGE_PULLS}\n"
    );
    if o.cgroup_v1 {
        patch.push_str("failCgroupV1: false\n");
    }
    push_patch(&mut cfg, "kubeadmConfigPatches", &patch)?;
    Ok(serde_yaml::to_string(&cfg)?)
}

/// Appends `patch` to the kind config's list `key` (`containerdConfigPatches`,
/// `kubeadmConfigPatches`), making the list when the template has none.
///
/// Errors: the template is not a mapping, or `key` is not a list.
fn push_patch(cfg: &mut serde_yaml::Value, key: &str, patch: &str) -> Result<()> {
    cfg.as_mapping_mut()
        .context("manifests/kind/cluster.yaml is not a mapping")?
        .entry(key.into())
        .or_insert_with(|| serde_yaml::Value::Sequence(vec![]))
        .as_sequence_mut()
        .with_context(|| format!("{key} of manifests/kind/cluster.yaml is not a list"))?
        .push(patch.into());
    Ok(())
}

/// Unpacks a packaged Helm chart (`helm package` layout: `NAME/Chart.yaml`,
/// `NAME/templates/...`, dependencies vendored as `NAME/charts/<dep>-<version>.tgz`
/// or `NAME/charts/<dep>/`) into `into`, dropping the top-level `NAME/`.
/// `Chart.yaml` is left as it is: every dependency keeps its `condition:`, so
/// helm renders a vendored optional dependency only when its values enable it.
///
/// Errors: an entry escaping the chart directory; no `Chart.yaml` at the top;
/// a dependency of `Chart.yaml` that is not vendored under `charts/` (the
/// archive is the chart's source, not the packaged chart: `helm template`
/// would fail offline), naming the archive, the dependency and the next step.
fn unpack_chart(archive: &Path, into: &Path) -> Result<()> {
    if into.exists() {
        std::fs::remove_dir_all(into)?;
    }
    std::fs::create_dir_all(into)?;
    let file = std::fs::File::open(archive)?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let rel: PathBuf = path.components().skip(1).collect();
        if rel.as_os_str().is_empty() {
            continue;
        }
        if rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            anyhow::bail!("archive entry {} escapes the chart directory", path.display());
        }
        let target = into.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if entry.header().entry_type().is_file() {
            entry.unpack(&target)?;
        }
    }
    let text =
        std::fs::read_to_string(into.join("Chart.yaml")).context("the chart archive has no Chart.yaml at its top")?;
    let chart: serde_yaml::Value = serde_yaml::from_str(&text).context("Chart.yaml")?;
    let deps = chart
        .get("dependencies")
        .and_then(|d| d.as_sequence())
        .cloned()
        .unwrap_or_default();
    for dep in deps {
        let name = dep.get("name").and_then(|n| n.as_str()).unwrap_or_default();
        if !vendored(&into.join("charts"), name) {
            anyhow::bail!(
                "{}: Chart.yaml depends on chart {name:?}, which is not vendored under charts/ \
                 (this is the chart's source, not the packaged chart `helm package` makes). \
                 Use the packaged .tgz from the chart repository (`kindops fetch` downloads it)",
                archive.display()
            );
        }
    }
    Ok(())
}

/// True when `charts/` holds dependency `name` as helm vendors it: a directory
/// `charts/<name>/` or an archive `charts/<name>-<version>.tgz`.
fn vendored(charts: &Path, name: &str) -> bool {
    if name.is_empty() || charts.join(name).join("Chart.yaml").is_file() {
        return !name.is_empty();
    }
    let prefix = format!("{name}-");
    std::fs::read_dir(charts).is_ok_and(|entries| {
        entries.filter_map(|e| e.ok()).any(|e| {
            let f = e.file_name().to_string_lossy().into_owned();
            f.strip_prefix(&prefix).is_some_and(|rest| {
                rest.ends_with(".tgz") && rest.chars().next().is_some_and(|c| c.is_ascii_digit() || c == 'v')
            })
        })
    })
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
