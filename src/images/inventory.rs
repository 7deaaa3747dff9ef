//! Which images phases 0–4 run. [`inventory`] renders what each phase
//! applies, and what the Applications and ApplicationSets it creates point
//! at in the GitOps tree, the way Argo CD renders them (`kubectl kustomize
//! --enable-helm --load-restrictor LoadRestrictionsNone`: the
//! `kustomize.buildOptions` of `manifests/gitops/platform/argo-cd/argocd-cm.yaml`),
//! and reads every `image:` of every object (pod templates, Tekton steps)
//! plus the image flags of Tekton's controllers (`-entrypoint-image`,
//! `-nop-image`, ... in the Deployment args of Tekton's release.yaml).
//! References are kept exactly as the manifests write them, digests included.

use super::default_pull_policy;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

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
        let mut bad = None;
        walk(&v, &mut |reference, container, policy| {
            if let (Err(e), None) = (super::Reference::parse(reference), &bad) {
                bad = Some(format!(
                    "{e}: container {container} of {object} in the render of {path}"
                ));
            }
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
        if let Some(bad) = bad {
            anyhow::bail!(bad);
        }
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
    use crate::render::{render_with, Helm};
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
    // Images of the engine that kindops handles itself (`manifests/upstream.yaml`
    // entries with `image:`), phase 0: the local registry's container image,
    // and CI's build base it pushes into that registry.
    if upto_includes_phase_0(plan, upto) {
        for pin in crate::upstream::image_pins() {
            // ko's base image is pushed into the registry, not run.
            let object = if pin.name == crate::registry::build_base::PIN {
                format!(
                    "Image {} (CI's build base)",
                    crate::registry::build_base::in_cluster_reference(&pin.image)
                )
            } else {
                format!("Container {}", crate::registry::CONTAINER)
            };
            uses.push((
                pin.image.clone(),
                ImageUse {
                    phase: 0,
                    path: format!("kindops {}", pin.name),
                    object,
                    container: pin.name.clone(),
                    pull_policy: "IfNotPresent".into(),
                },
            ));
        }
    }
    Ok(group(uses))
}

fn upto_includes_phase_0(plan: &crate::plan::Plan, upto: u8) -> bool {
    plan.upto(upto)
        .iter()
        .any(|p| p.phase == 0 && p.steps.iter().any(|s| matches!(s, crate::plan::Step::LocalRegistry {})))
}

#[cfg(test)]
mod tests {
    use super::*;

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
          args: ["-entrypoint-image", "reg.io/ep:1@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "--nop-image=reg.io/nop:1", "-shell-image-win", "mcr.microsoft.com/ps@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "-v", "3"]
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
                "mcr.microsoft.com/ps@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                "reg.io/ctl:1",
                "reg.io/ep:1@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "reg.io/init:1",
                "reg.io/nop:1"
            ]
        );
        let by = |r: &str| images.iter().find(|i| i.reference == r).unwrap();
        assert!(by("reg.io/ctl:1").not_preloadable.is_none());
        assert_eq!(by("reg.io/ctl:1").uses[0].object, "Deployment tekton-pipelines/ctl");
        assert_eq!(
            by("reg.io/ep:1@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").uses[0].container,
            "-entrypoint-image"
        );
        let latest = by("cgr.dev/chainguard/git:latest").not_preloadable.clone().unwrap();
        assert!(latest.contains(":latest") && latest.contains("Pipeline p"), "{latest}");
        let always = by("reg.io/init:1").not_preloadable.clone().unwrap();
        assert!(
            always.contains("imagePullPolicy: Always") && always.contains("container init"),
            "{always}"
        );
        assert!(
            by("mcr.microsoft.com/ps@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
                .not_preloadable
                .clone()
                .unwrap()
                .contains("Windows")
        );
    }

    /// A reference distribution's grammar refuses stops the inventory, naming
    /// the image, the container, the object and the render it came from.
    #[test]
    fn a_bad_reference_names_its_container_and_object() {
        let text = "kind: Pod\nmetadata: {name: p, namespace: n}\nspec: {containers: [{name: c, image: reg.io/A:1}]}\n";
        let e = collect_uses(text, 4, "apps/x").unwrap_err().to_string();
        assert!(
            e.contains("`reg.io/A:1` is not an image reference")
                && e.contains("container c of Pod n/p in the render of apps/x"),
            "{e}"
        );
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
}
