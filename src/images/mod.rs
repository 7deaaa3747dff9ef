//! The container images the phases run, and the mirror's image archives.
//!
//! - [`inventory`]: which images phases 0–4 run, read from the rendered
//!   manifests and charts ([`inventory()`], `kindops images`).
//! - [`archive`]: the `<mirror>/images/` layout ([`ImageIndex`]), written by
//!   `kindops fetch --images` ([`save`]) and loaded into kind nodes by phase 0
//!   (`engine::steps::load_images`).
//! - here: image references in parts, normalized as the kubelet looks them
//!   up, and the names an archive gets.

pub mod archive;
pub mod inventory;
pub mod verified;

pub use archive::{save, ArchiveEntry, ImageIndex, Saved, IMAGES_DIR, INDEX_FILE};
pub use inventory::{application_paths, collect_uses, group, inventory, Image, ImageUse};

/// Kubernetes's default pull policy for a reference without `imagePullPolicy`
/// (k8s.io/kubernetes `pkg/apis/core/v1/defaults.go` SetDefaults_Container):
/// `Always` when the tag is `latest` or there is neither tag nor digest.
pub fn default_pull_policy(reference: &str) -> &'static str {
    let r = split_reference(reference);
    match (r.tag.as_deref(), r.digest.as_deref()) {
        (Some("latest"), _) | (None, None) => "Always",
        _ => "IfNotPresent",
    }
}

/// A reference in parts: `repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Splits a reference as written (no normalization).
pub fn split_reference(reference: &str) -> Reference {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (reference, None),
    };
    // A ':' after the last '/' is a tag; before it, a registry port.
    let last_slash = name.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (repository, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (
            name[..last_slash + i].to_string(),
            Some(name[last_slash + i + 1..].to_string()),
        ),
        None => (name.to_string(), None),
    };
    Reference {
        repository,
        tag,
        digest,
    }
}

/// The fully qualified name containerd and the kubelet use for a reference
/// (distribution/reference `normalize.go`: no registry → `docker.io/`, a
/// single path component → `docker.io/library/`; a tag *and* a digest → the
/// digest only, as containerd's `reference/docker.ParseDockerRef` does).
pub fn normalize(reference: &str) -> String {
    let r = split_reference(reference);
    let first = r.repository.split('/').next().unwrap_or_default();
    let has_registry =
        r.repository.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let repo = if has_registry {
        r.repository.clone()
    } else if r.repository.contains('/') {
        format!("docker.io/{}", r.repository)
    } else {
        format!("docker.io/library/{}", r.repository)
    };
    match (r.digest, r.tag) {
        (Some(d), _) => format!("{repo}@{d}"),
        (None, Some(t)) => format!("{repo}:{t}"),
        (None, None) => format!("{repo}:latest"),
    }
}

/// The tag an archive carries for a reference (`docker save` keeps tags, not
/// digests): the reference's own `repo:tag`, or for a digest-only reference
/// `repo:sha256-<first 12 hex digits>`.
pub fn archive_tag(reference: &str) -> String {
    let r = split_reference(reference);
    match (&r.tag, &r.digest) {
        (Some(t), _) => format!("{}:{t}", r.repository),
        (None, Some(d)) => {
            let hex = d.trim_start_matches("sha256:");
            format!("{}:sha256-{}", r.repository, &hex[..hex.len().min(12)])
        }
        (None, None) => format!("{}:latest", r.repository),
    }
}

/// The archive's file name for a reference: the reference without its digest,
/// `/` and `:` turned into `_`, plus `.tar`.
pub fn archive_file(reference: &str) -> String {
    let tag = archive_tag(reference);
    let safe: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.tar")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_normalize_and_name_their_archives() {
        let r = split_reference("localhost:5000/a/b:1.0@sha256:abcd");
        assert_eq!(r.repository, "localhost:5000/a/b");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abcd"));
        assert_eq!(split_reference("localhost:5000/a").tag, None);
        assert_eq!(normalize("redis"), "docker.io/library/redis:latest");
        assert_eq!(normalize("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(
            normalize("quay.io/argoproj/argocd:v3.5.1"),
            "quay.io/argoproj/argocd:v3.5.1"
        );
        assert_eq!(
            normalize("ghcr.io/t/c:v1@sha256:0123"),
            "ghcr.io/t/c@sha256:0123",
            "a tag next to a digest is dropped, as the kubelet's lookup does"
        );
        assert_eq!(
            archive_tag("cgr.dev/chainguard/busybox@sha256:19f02276bf8dbdd6"),
            "cgr.dev/chainguard/busybox:sha256-19f02276bf8d"
        );
        assert_eq!(archive_tag("ghcr.io/t/c:v1@sha256:0123"), "ghcr.io/t/c:v1");
        assert_eq!(
            archive_file("quay.io/argoproj/argocd:v3.5.1"),
            "quay.io_argoproj_argocd_v3.5.1.tar"
        );
        assert_eq!(default_pull_policy("a:latest"), "Always");
        assert_eq!(default_pull_policy("a"), "Always");
        assert_eq!(default_pull_policy("a@sha256:00"), "IfNotPresent");
        assert_eq!(default_pull_policy("a:1"), "IfNotPresent");
    }
}
