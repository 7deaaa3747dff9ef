//! The container images the phases run, and the mirror's image archives.
//!
//! [`inventory`] renders what each phase applies, and what the Applications
//! and ApplicationSets it creates point at in the GitOps tree, the way Argo CD
//! renders them (`kubectl kustomize --enable-helm --load-restrictor
//! LoadRestrictionsNone`: the `kustomize.buildOptions` of
//! `manifests/gitops/platform/argo-cd/argocd-cm.yaml`), and reads every
//! `image:` of every object (pod templates, Tekton steps) plus the image flags
//! of Tekton's controllers (`-entrypoint-image`, `-nop-image`, ... in the
//! Deployment args of Tekton's release.yaml). References are kept exactly as
//! the manifests write them, digests included.
//!
//! [`ImageIndex`] is the `<mirror>/images/` layout: `index.yaml` plus one
//! `docker save` archive per image. `kindops fetch --images` writes it,
//! `kindops up --mirror DIR` checks it before anything runs and loads it into
//! every kind node after phase 0 created the cluster (`engine::preload`).

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One place an image is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageUse {
    /// The phase that applies it (directly, or through an Application it creates).
    pub phase: u8,
    /// The GitOps path rendered, e.g. `platform/argo-cd`, `apps/coffee/cart`.
    pub path: String,
    /// `Kind namespace/name` of the object, e.g. `Deployment argocd/argocd-server`.
    pub object: String,
    /// The container name, or the flag that names the image (`-nop-image`).
    pub container: String,
    /// The pull policy the kubelet will apply: the container's
    /// `imagePullPolicy`, else Kubernetes's default (`Always` for `:latest`
    /// or no tag, else `IfNotPresent`; API field `Container.imagePullPolicy`).
    pub pull_policy: String,
}

/// One image and everywhere it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    /// As the manifests write it (`repo:tag`, `repo@sha256:…`, `repo:tag@sha256:…`).
    pub reference: String,
    pub uses: Vec<ImageUse>,
    /// Why loading it into the nodes beforehand would not help (the kubelet
    /// pulls it at every start anyway), naming the manifest; `None` = preloadable.
    pub not_preloadable: Option<String>,
}

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

// ---------------------------------------------------------------- inventory

/// Collects the image uses of one rendered manifest stream.
///
/// Every mapping with a string `image:` is a use (its `name:` is the
/// container, its `imagePullPolicy:` the policy); in a container's `args` and
/// `command`, a flag ending in `-image` names an image too (`-flag value` or
/// `-flag=value`). CustomResourceDefinitions are skipped (their schemas and
/// examples are not workloads).
pub fn collect_uses(text: &str, phase: u8, path: &str) -> Result<Vec<(String, ImageUse)>> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = serde_yaml::Value::deserialize(doc).with_context(|| format!("parsing the render of {path}"))?;
        let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
        if v.is_null() || kind == "CustomResourceDefinition" {
            continue;
        }
        let meta = v.get("metadata");
        let name = meta.and_then(|m| m.get("name")).and_then(|n| n.as_str()).unwrap_or("?");
        let object = match meta.and_then(|m| m.get("namespace")).and_then(|n| n.as_str()) {
            Some(ns) => format!("{kind} {ns}/{name}"),
            None => format!("{kind} {name}"),
        };
        walk(&v, &mut |reference, container, policy| {
            out.push((
                reference.to_string(),
                ImageUse {
                    phase,
                    path: path.to_string(),
                    object: object.clone(),
                    container,
                    pull_policy: policy.unwrap_or_else(|| default_pull_policy(reference).to_string()),
                },
            ))
        });
    }
    Ok(out)
}

fn walk(v: &serde_yaml::Value, found: &mut dyn FnMut(&str, String, Option<String>)) {
    match v {
        serde_yaml::Value::Mapping(m) => {
            let name = m.get("name").and_then(|n| n.as_str()).unwrap_or_default();
            if let Some(image) = m.get("image").and_then(|i| i.as_str()) {
                let policy = m.get("imagePullPolicy").and_then(|p| p.as_str()).map(str::to_string);
                found(image, name.to_string(), policy);
                for key in ["args", "command"] {
                    let words: Vec<&str> = m
                        .get(key)
                        .and_then(|a| a.as_sequence())
                        .into_iter()
                        .flatten()
                        .filter_map(|w| w.as_str())
                        .collect();
                    for (i, w) in words.iter().enumerate() {
                        let (flag, value) = match w.split_once('=') {
                            Some((f, val)) => (f, Some(val)),
                            None => (*w, words.get(i + 1).copied()),
                        };
                        if flag.starts_with('-') && (flag.ends_with("-image") || flag.ends_with("-image-win")) {
                            if let Some(value) = value.filter(|v| !v.starts_with('-') && !v.is_empty()) {
                                found(value, flag.to_string(), None);
                            }
                        }
                    }
                }
            }
            for (_, val) in m {
                walk(val, found);
            }
        }
        serde_yaml::Value::Sequence(s) => s.iter().for_each(|x| walk(x, found)),
        _ => {}
    }
}

/// Groups uses by reference and decides which images can be preloaded.
pub fn group(uses: Vec<(String, ImageUse)>) -> Vec<Image> {
    let mut by_ref: BTreeMap<String, Vec<ImageUse>> = BTreeMap::new();
    for (r, u) in uses {
        let list = by_ref.entry(r).or_default();
        // The same container rendered again by a later phase (phase 2's
        // Application of platform/argo-cd) is one use, at its first phase.
        if !list
            .iter()
            .any(|x| x.path == u.path && x.object == u.object && x.container == u.container)
        {
            list.push(u);
        }
    }
    by_ref
        .into_iter()
        .map(|(reference, uses)| {
            let not_preloadable = uses.iter().find_map(|u| {
                if u.container.ends_with("-image-win") {
                    Some(format!(
                        "Windows nodes only ({} of {} in {}); never runs on kind",
                        u.container, u.object, u.path
                    ))
                } else if u.pull_policy == "Always" {
                    let why = if default_pull_policy(&reference) == "Always" {
                        "a :latest or untagged image (imagePullPolicy defaults to Always)"
                    } else {
                        "imagePullPolicy: Always"
                    };
                    Some(format!(
                        "{why} in {} (container {}, {}): the kubelet pulls it at every start",
                        u.object, u.container, u.path
                    ))
                } else {
                    None
                }
            });
            Image {
                reference,
                uses,
                not_preloadable,
            }
        })
        .collect()
}

/// The GitOps paths that Applications and ApplicationSets in `text` point at,
/// found in `tree`: `spec.source.path`, every `spec.sources[].path`, and for
/// an ApplicationSet every directory its git generators' `directories[].path`
/// match (`*` matches one path segment, as Go's `path.Match` used by Argo CD's
/// git generator; `exclude: true` entries are left out).
pub fn application_paths(text: &str, tree: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = serde_yaml::Value::deserialize(doc)?;
        let spec = v.get("spec");
        match v.get("kind").and_then(|k| k.as_str()) {
            Some("Application") => {
                let sources = spec.and_then(|s| s.get("source")).into_iter().chain(
                    spec.and_then(|s| s.get("sources"))
                        .and_then(|s| s.as_sequence())
                        .into_iter()
                        .flatten(),
                );
                for s in sources {
                    if let Some(p) = s.get("path").and_then(|p| p.as_str()) {
                        if tree.join(p).exists() {
                            out.push(p.to_string());
                        }
                    }
                }
            }
            Some("ApplicationSet") => {
                let gens = spec.and_then(|s| s.get("generators")).and_then(|g| g.as_sequence());
                for g in gens.into_iter().flatten() {
                    let dirs = g
                        .get("git")
                        .and_then(|g| g.get("directories"))
                        .and_then(|d| d.as_sequence());
                    for d in dirs.into_iter().flatten() {
                        if d.get("exclude").and_then(|e| e.as_bool()) == Some(true) {
                            continue;
                        }
                        if let Some(pattern) = d.get("path").and_then(|p| p.as_str()) {
                            out.extend(match_dirs(tree, pattern));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn match_dirs(tree: &Path, pattern: &str) -> Vec<String> {
    let mut found = vec![String::new()];
    for seg in pattern.split('/').filter(|s| !s.is_empty()) {
        let mut next = Vec::new();
        for base in &found {
            let dir = tree.join(base);
            let join = |n: &str| {
                if base.is_empty() {
                    n.to_string()
                } else {
                    format!("{base}/{n}")
                }
            };
            if seg == "*" {
                let mut names: Vec<String> = std::fs::read_dir(&dir)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| !n.starts_with('.'))
                    .collect();
                names.sort();
                next.extend(names.iter().map(|n| join(n)));
            } else if dir.join(seg).is_dir() {
                next.push(join(seg));
            }
        }
        found = next;
    }
    found.retain(|f| !f.is_empty());
    found
}

/// Every image phases `0..=upto` of `plan` run, rendered from the
/// materialized GitOps `tree` (see the module docs).
///
/// Errors: a path that does not render (kubectl or helm missing or failing,
/// named with the path), a render that does not parse.
pub async fn inventory(
    plan: &crate::plan::Plan,
    upto: u8,
    tree: &Path,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<Vec<Image>> {
    use crate::engine::apply::{render_with, Helm};
    let mut uses = Vec::new();
    // Each path is rendered once (phase 2's Application renders what phase 1 applied).
    let mut rendered = std::collections::BTreeSet::new();
    for phase in plan.upto(upto) {
        for step in &phase.steps {
            let crate::plan::Step::Apply { path, .. } = step else {
                continue;
            };
            if !rendered.insert(path.clone()) {
                continue;
            }
            let text = render_with(tree, path, Helm::Off, cancel).await?;
            uses.extend(collect_uses(&text, phase.phase, path)?);
            for app_path in application_paths(&text, tree)? {
                if !rendered.insert(app_path.clone()) {
                    continue;
                }
                let text = render_with(tree, &app_path, Helm::On, cancel)
                    .await
                    .with_context(|| format!("rendering {app_path} as Argo CD does (an Application of {path})"))?;
                uses.extend(collect_uses(&text, phase.phase, &app_path)?);
            }
        }
    }
    Ok(group(uses))
}

// ---------------------------------------------------------------- the mirror's images

/// The directory of image archives inside a mirror.
pub const IMAGES_DIR: &str = "images";
/// The index file inside [`IMAGES_DIR`].
pub const INDEX_FILE: &str = "index.yaml";

/// `<mirror>/images/index.yaml`: what `kindops fetch --images` saved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageIndex {
    pub images: Vec<ArchiveEntry>,
}

/// One saved image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveEntry {
    /// The reference as the manifests write it.
    pub reference: String,
    /// The archive (`docker save` format) relative to `<mirror>/images/`.
    pub archive: String,
    /// sha256 of the archive file, hex.
    pub sha256: String,
    /// The name the archive carries ([`archive_tag`]); inside a node the
    /// reference is made to point at it.
    pub tag: String,
    /// The image ID (`sha256:` of its config, Docker's `Id`), which kindops
    /// also records on the image inside a node to know it is loaded.
    pub id: String,
}

impl ImageIndex {
    /// Reads `<mirror>/images/index.yaml`; `Ok(None)` when the mirror has no
    /// images. Errors name the file (and line:column of a parse error).
    pub fn read(mirror: &Path) -> Result<Option<ImageIndex>> {
        let path = mirror.join(IMAGES_DIR).join(INDEX_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow!("reading {}: {e}", path.display())),
        };
        let index: ImageIndex = serde_yaml::from_str(&text).map_err(|e| match e.location() {
            Some(l) => anyhow!("{}:{}:{}: {e}", path.display(), l.line(), l.column()),
            None => anyhow!("{}: {e}", path.display()),
        })?;
        Ok(Some(index))
    }

    /// Writes `<mirror>/images/index.yaml` (entries sorted by reference).
    pub fn write(&self, mirror: &Path) -> Result<()> {
        let dir = mirror.join(IMAGES_DIR);
        std::fs::create_dir_all(&dir)?;
        let mut sorted = self.clone();
        sorted.images.sort_by(|a, b| a.reference.cmp(&b.reference));
        let header = "# Written by `kindops fetch --images`: one `docker save` archive per image.\n";
        let path = dir.join(INDEX_FILE);
        std::fs::write(&path, format!("{header}{}", serde_yaml::to_string(&sorted)?))
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The archive's path.
    pub fn archive_path(mirror: &Path, entry: &ArchiveEntry) -> PathBuf {
        mirror.join(IMAGES_DIR).join(&entry.archive)
    }

    /// Checks every archive: present, and its sha256 as recorded.
    ///
    /// Errors: the first bad entry, naming the image, the file and both
    /// hashes, with what to do.
    pub fn verify(&self, mirror: &Path) -> Result<()> {
        for e in &self.images {
            let path = Self::archive_path(mirror, e);
            if e.archive.contains("..") || Path::new(&e.archive).is_absolute() {
                return Err(anyhow!(
                    "image {}: archive {:?} in {} is outside the images directory",
                    e.reference,
                    e.archive,
                    mirror.join(IMAGES_DIR).join(INDEX_FILE).display()
                ));
            }
            let got = crate::upstream::sha256_file(&path).map_err(|err| {
                anyhow!(
                    "image {}: archive {} cannot be read ({err}); run `kindops fetch --images --into {}` again where the images are",
                    e.reference,
                    path.display(),
                    mirror.display()
                )
            })?;
            if !got.eq_ignore_ascii_case(&e.sha256) {
                return Err(anyhow!(
                    "image {}: archive {} has sha256 {got}, the index records {}; the file is damaged or was replaced: run `kindops fetch --images --into {}` again",
                    e.reference,
                    path.display(),
                    e.sha256,
                    mirror.display()
                ));
            }
        }
        Ok(())
    }
}

/// Saves `reference` from the Docker engine's image store into
/// `<mirror>/images/` as a `docker save` archive carrying [`archive_tag`],
/// pulling it first when the store lacks it (`POST /images/create`), tagging
/// it (`POST /images/{name}/tag`) and streaming `GET /images/{name}/get`
/// into `<file>.part`, hashed on the way, renamed when complete.
/// `known`: the index's entry from an earlier fetch; when its image ID and
/// archive still match, nothing is written ([`Saved::Current`]); when the
/// engine lacks the image but the mirror's archive is intact, it is kept
/// ([`Saved::Kept`]: a mirror can be filled from several machines).
///
/// Errors: not in the store, not in the mirror, and the pull failed
/// (offline, unknown image, needs a login), naming the image; I/O on the mirror.
pub async fn save(
    docker: &bollard::Docker,
    reference: &str,
    mirror: &Path,
    known: Option<&ArchiveEntry>,
) -> Result<(ArchiveEntry, Saved)> {
    use bollard::query_parameters::{CreateImageOptions, TagImageOptions};
    use futures::StreamExt;
    use sha2::Digest;
    use std::io::Write;
    let intact = |k: &ArchiveEntry| {
        crate::upstream::sha256_file(&ImageIndex::archive_path(mirror, k))
            .is_ok_and(|h| h.eq_ignore_ascii_case(&k.sha256))
    };
    let inspect = match docker.inspect_image(reference).await {
        Ok(i) => i,
        Err(_) => {
            if let Some(k) = known.filter(|k| intact(k)) {
                return Ok((k.clone(), Saved::Kept));
            }
            let opts = CreateImageOptions {
                from_image: Some(reference.to_string()),
                ..Default::default()
            };
            let mut pull = docker.create_image(Some(opts), None, None);
            while let Some(step) = pull.next().await {
                step.map_err(|e| {
                    anyhow!("image {reference}: not in the Docker engine's image store, and pulling it failed: {e}")
                })?;
            }
            docker
                .inspect_image(reference)
                .await
                .map_err(|e| anyhow!("image {reference}: pulled, but the engine does not show it: {e}"))?
        }
    };
    let id = inspect.id.clone().unwrap_or_default();
    let tag = archive_tag(reference);
    let file = archive_file(reference);
    let path = mirror.join(IMAGES_DIR).join(&file);
    if let Some(k) = known.filter(|k| k.id == id && k.archive == file && k.tag == tag && intact(k)) {
        return Ok((k.clone(), Saved::Current));
    }
    let split = split_reference(&tag);
    let has_tag = inspect
        .repo_tags
        .iter()
        .flatten()
        .any(|t| normalize(t) == normalize(&tag));
    if !has_tag {
        let opts = TagImageOptions {
            repo: Some(split.repository.clone()),
            tag: split.tag.clone(),
        };
        docker
            .tag_image(reference, Some(opts))
            .await
            .map_err(|e| anyhow!("image {reference}: tagging it {tag} failed: {e}"))?;
    }
    std::fs::create_dir_all(mirror.join(IMAGES_DIR))?;
    let part = path.with_extension("tar.part");
    let mut out = std::fs::File::create(&part).with_context(|| format!("creating {}", part.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut stream = docker.export_image(&tag);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| anyhow!("image {reference}: saving it from the Docker engine failed: {e}"))?;
        hasher.update(&chunk);
        out.write_all(&chunk)
            .with_context(|| format!("writing {}", part.display()))?;
    }
    out.sync_all()?;
    drop(out);
    std::fs::rename(&part, &path).with_context(|| format!("renaming {} to {}", part.display(), path.display()))?;
    Ok((
        ArchiveEntry {
            reference: reference.to_string(),
            archive: file,
            sha256: hex::encode(hasher.finalize()),
            tag,
            id,
        },
        Saved::Written,
    ))
}

/// What [`save`] did with one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The archive was written (new, or the image changed).
    Written,
    /// The mirror's archive is of the same image already.
    Current,
    /// The engine does not have the image; the mirror's intact archive stays.
    Kept,
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

    #[test]
    fn uses_come_from_containers_steps_and_image_flags() {
        let text = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: ctl, namespace: tekton-pipelines}
spec:
  template:
    spec:
      initContainers:
        - {name: init, image: "reg.io/init:1", imagePullPolicy: Always}
      containers:
        - name: ctl
          image: reg.io/ctl:1
          args: ["-entrypoint-image", "reg.io/ep:1@sha256:aa", "--nop-image=reg.io/nop:1", "-shell-image-win", "mcr.microsoft.com/ps@sha256:bb", "-v", "3"]
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
    - name: clone
      taskSpec:
        steps:
          - {name: git, image: "cgr.dev/chainguard/git:latest"}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: x}
spec: {versions: [{name: v1, schema: {openAPIV3Schema: {properties: {image: "not-an-image:1"}}}}]}
"#;
        let images = group(collect_uses(text, 1, "platform/x").unwrap());
        let refs: Vec<&str> = images.iter().map(|i| i.reference.as_str()).collect();
        assert_eq!(
            refs,
            [
                "cgr.dev/chainguard/git:latest",
                "mcr.microsoft.com/ps@sha256:bb",
                "reg.io/ctl:1",
                "reg.io/ep:1@sha256:aa",
                "reg.io/init:1",
                "reg.io/nop:1"
            ]
        );
        let by = |r: &str| images.iter().find(|i| i.reference == r).unwrap();
        assert!(by("reg.io/ctl:1").not_preloadable.is_none());
        assert_eq!(by("reg.io/ctl:1").uses[0].object, "Deployment tekton-pipelines/ctl");
        assert_eq!(by("reg.io/ep:1@sha256:aa").uses[0].container, "-entrypoint-image");
        let latest = by("cgr.dev/chainguard/git:latest").not_preloadable.clone().unwrap();
        assert!(latest.contains(":latest") && latest.contains("Pipeline p"), "{latest}");
        let always = by("reg.io/init:1").not_preloadable.clone().unwrap();
        assert!(
            always.contains("imagePullPolicy: Always") && always.contains("container init"),
            "{always}"
        );
        assert!(by("mcr.microsoft.com/ps@sha256:bb")
            .not_preloadable
            .clone()
            .unwrap()
            .contains("Windows"));
    }

    #[test]
    fn application_paths_follow_sources_and_directory_generators() {
        let tree = tempfile::tempdir().unwrap();
        for d in ["platform/a", "apps/coffee/cart", "apps/coffee/order", "apps/tea/x"] {
            std::fs::create_dir_all(tree.path().join(d)).unwrap();
        }
        let text = r#"
kind: Application
spec: {source: {path: platform/a}}
---
kind: Application
spec: {sources: [{path: platform/missing}, {path: platform/a}]}
---
kind: ApplicationSet
spec:
  generators:
    - git: {directories: [{path: "apps/coffee/*"}, {path: apps/coffee/order, exclude: true}]}
"#;
        let paths = application_paths(text, tree.path()).unwrap();
        assert_eq!(
            paths,
            ["platform/a", "platform/a", "apps/coffee/cart", "apps/coffee/order"]
        );
    }

    #[test]
    fn the_index_round_trips_and_a_damaged_or_missing_archive_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ImageIndex::read(dir.path()).unwrap(), None);
        std::fs::create_dir_all(dir.path().join(IMAGES_DIR)).unwrap();
        let file = dir.path().join(IMAGES_DIR).join("a_1.tar");
        std::fs::write(&file, b"archive").unwrap();
        let sha = crate::upstream::sha256_file(&file).unwrap();
        let index = ImageIndex {
            images: vec![ArchiveEntry {
                reference: "reg.io/a:1".into(),
                archive: "a_1.tar".into(),
                sha256: sha.clone(),
                tag: "reg.io/a:1".into(),
                id: "sha256:00".into(),
            }],
        };
        index.write(dir.path()).unwrap();
        let back = ImageIndex::read(dir.path()).unwrap().unwrap();
        assert_eq!(back, index);
        back.verify(dir.path()).unwrap();
        std::fs::write(&file, b"archivX").unwrap();
        let e = back.verify(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("reg.io/a:1") && e.contains("a_1.tar") && e.contains(&sha),
            "{e}"
        );
        std::fs::remove_file(&file).unwrap();
        let e = back.verify(dir.path()).unwrap_err().to_string();
        assert!(e.contains("reg.io/a:1") && e.contains("cannot be read"), "{e}");
        std::fs::write(
            dir.path().join(IMAGES_DIR).join(INDEX_FILE),
            "images:\n  - reference: x\n    bogus: 1\n",
        )
        .unwrap();
        let e = ImageIndex::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("index.yaml:3:"), "{e}");
    }
}
