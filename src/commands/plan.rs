//! `kindops plan`: the phases, their steps, object counts and images, offline.
//! This module counts; [`crate::report::plan`] prints.
//!
//! Reads upstream artifacts only from `--mirror` or the cache (never the
//! network) and our own manifests from the binary. Counts come from parsing
//! every YAML document a step's path refers to (kustomization `resources`
//! followed recursively; patches do not add objects, and a strategic-merge
//! patch `$patch: delete` removes its object, as kustomize does).

use super::{check_phase, load_plan, Result};
use crate::cli::SourceArgs;
use crate::content::Content;
use crate::plan::{Plan, Step};
use crate::report::plan::{PhaseView, StepView};
use crate::report::{self, Format};
use crate::upstream::{Mirror, Upstream};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where an upstream file is found offline: the mirror directory, else the cache.
fn upstream_file(mirror: Option<&Mirror>, name: &str, file: &str) -> Option<PathBuf> {
    let p = match mirror {
        Some(Mirror::Dir(d)) => d.join(name).join(file),
        _ => Upstream::default_cache_dir().join(name).join(file),
    };
    p.is_file().then_some(p)
}

/// Counts objects and collects images under `path` of the GitOps content.
fn count(content: &Content, mirror: Option<&Mirror>, path: &str) -> Counted {
    let mut objects = 0usize;
    let mut images = BTreeSet::new();
    let mut missing = None;
    let mut stack = vec![PathBuf::from(path)];
    let files = content.files();
    let mut texts = Vec::new();
    let mut deleted = Vec::new();
    while let Some(p) = stack.pop() {
        let key = p.to_string_lossy().replace('\\', "/");
        let kust = files
            .iter()
            .find(|(f, _)| *f == Path::new(&key).join("kustomization.yaml"));
        if let Some((_, bytes)) = kust {
            let k: serde_yaml::Value = serde_yaml::from_slice(bytes).unwrap_or_default();
            for r in k.get("resources").and_then(|r| r.as_sequence()).into_iter().flatten() {
                if let Some(r) = r.as_str() {
                    stack.push(normalize(&Path::new(&key).join(r)));
                }
            }
            for patch in k.get("patches").and_then(|r| r.as_sequence()).into_iter().flatten() {
                let text = match (
                    patch.get("patch").and_then(|p| p.as_str()),
                    patch.get("path").and_then(|p| p.as_str()),
                ) {
                    (Some(t), _) => Some(t.to_string()),
                    (None, Some(f)) => {
                        let f = normalize(&Path::new(&key).join(f));
                        files
                            .iter()
                            .find(|(x, _)| *x == f)
                            .map(|(_, b)| String::from_utf8_lossy(b).to_string())
                    }
                    _ => None,
                };
                deleted.extend(text.iter().flat_map(|t| deletions(t)));
            }
            if k.get("helmCharts").is_some() {
                missing = Some("plus a Helm chart rendered by Argo CD".to_string());
            }
            continue;
        }
        let text: Option<String> = if let Some(rest) = key.strip_prefix("upstream/") {
            let (name, file) = rest.split_once('/').unwrap_or((rest, ""));
            match upstream_file(mirror, name, file) {
                Some(f) => std::fs::read_to_string(f).ok(),
                None => {
                    missing = Some(format!(
                        "{name}/{file} not cached (run `kindops fetch` or pass --mirror)"
                    ));
                    None
                }
            }
        } else if let Some((_, bytes)) = files.iter().find(|(f, _)| *f == Path::new(&key)) {
            Some(String::from_utf8_lossy(bytes).to_string())
        } else {
            // A directory of plain YAML files.
            let prefix = format!("{key}/");
            let docs: Vec<String> = files
                .iter()
                .filter(|(f, _)| f.to_string_lossy().starts_with(&prefix) && f.extension().is_some_and(|e| e == "yaml"))
                .map(|(_, b)| String::from_utf8_lossy(b).to_string())
                .collect();
            Some(docs.join("\n---\n"))
        };
        texts.extend(text);
    }
    for text in &texts {
        for doc in documents(text) {
            if !deleted.is_empty() && is_deleted(doc, &deleted) {
                continue;
            }
            // A document is an object unless it is empty (`---` then nothing).
            let mut found = Vec::new();
            let de = serde_yaml::Deserializer::from_str(doc);
            if let Ok(true) = serde::de::DeserializeSeed::deserialize(ImageScan::new(&mut found), de) {
                objects += 1;
                images.extend(found);
            }
        }
    }
    (
        if missing.as_deref().is_some_and(|m| m.contains("not cached")) {
            None
        } else {
            Some(objects)
        },
        images,
        missing,
    )
}

/// The documents of a YAML stream, split at its `---` lines (a `---` at
/// the start of a line always starts a document: block scalars are
/// indented).
fn documents(text: &str) -> impl Iterator<Item = &str> {
    let mut starts = vec![0];
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            starts.push(at);
        }
        at += line.len();
    }
    starts.push(text.len());
    starts
        .windows(2)
        .map(|w| &text[w[0]..w[1]])
        .filter(|d| !d.trim().is_empty() && d.trim() != "---")
        .collect::<Vec<_>>()
        .into_iter()
}

/// The (kind, name) of each object a patch text deletes: its documents
/// with `$patch: delete` (kustomize's strategic-merge delete directive).
fn deletions(text: &str) -> Vec<(String, String)> {
    serde_yaml::Deserializer::from_str(text)
        .filter_map(|d| serde::Deserialize::deserialize(d).ok())
        .filter(|v: &serde_yaml::Value| v.get("$patch").and_then(|p| p.as_str()) == Some("delete"))
        .filter_map(|v| {
            let kind = v.get("kind")?.as_str()?.to_string();
            let name = v.get("metadata")?.get("name")?.as_str()?.to_string();
            Some((kind, name))
        })
        .collect()
}

/// Whether document `doc` is one of the `deleted` objects (parsed only when
/// its text names one of them).
fn is_deleted(doc: &str, deleted: &[(String, String)]) -> bool {
    if !deleted.iter().any(|(_, n)| doc.contains(n.as_str())) {
        return false;
    }
    let Ok(v) = serde_yaml::from_str::<serde_yaml::Value>(doc) else {
        return false;
    };
    let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
    let name = v
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or_default();
    deleted.iter().any(|(k, n)| k == kind && n == name)
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Walks one YAML document without building it in memory, collecting every
/// string value of an `image` key at any depth (pod templates, Tekton steps).
/// Yields `false` for an empty document (null). `plan --mirror` reads ~6.6 MB
/// of upstream YAML this way (BENCHMARKS.md, startup figures).
struct ImageScan<'a> {
    out: &'a mut Vec<String>,
    /// This value is an `image` key's: a string here is an image.
    is_image: bool,
}

impl<'a> ImageScan<'a> {
    fn new(out: &'a mut Vec<String>) -> Self {
        ImageScan { out, is_image: false }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for ImageScan<'_> {
    type Value = bool;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ImageScan<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<bool, A::Error> {
        while let Some(key) = map.next_key::<KeyName>()? {
            map.next_value_seed(ImageScan {
                out: &mut *self.out,
                is_image: key.0,
            })?;
        }
        Ok(true)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<bool, A::Error> {
        while seq.next_element_seed(ImageScan::new(&mut *self.out))?.is_some() {}
        Ok(true)
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<bool, E> {
        if self.is_image {
            self.out.push(v.to_string());
        }
        Ok(true)
    }
    fn visit_unit<E>(self) -> std::result::Result<bool, E> {
        Ok(false)
    }
    fn visit_none<E>(self) -> std::result::Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<bool, E> {
        Ok(true)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<bool, E> {
        Ok(true)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<bool, E> {
        Ok(true)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<bool, E> {
        Ok(true)
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> std::result::Result<bool, A::Error> {
        // A tagged value (`!Tag value`): scan the value behind the tag.
        let (_, v): (serde::de::IgnoredAny, _) = data.variant()?;
        serde::de::VariantAccess::newtype_variant_seed(v, ImageScan::new(self.out))
    }
}

/// A mapping key, consumed whatever its shape; `true` if it is the string `image`.
struct KeyName(bool);

impl<'de> serde::Deserialize<'de> for KeyName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let mut sink = Vec::new();
        struct V<'a>(&'a mut Vec<String>);
        impl<'de> serde::de::Visitor<'de> for V<'_> {
            type Value = bool;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<bool, E> {
                Ok(v == "image")
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<bool, E> {
                Ok(false)
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<bool, E> {
                Ok(false)
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<bool, E> {
                Ok(false)
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<bool, E> {
                Ok(false)
            }
            fn visit_unit<E>(self) -> std::result::Result<bool, E> {
                Ok(false)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> std::result::Result<bool, A::Error> {
                ImageScan::new(self.0).visit_map(map).map(|_| false)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> std::result::Result<bool, A::Error> {
                ImageScan::new(self.0).visit_seq(seq).map(|_| false)
            }
        }
        d.deserialize_any(V(&mut sink)).map(KeyName)
    }
}

pub fn run(phase: Option<u8>, source: &SourceArgs, output: Format) -> Result<u8> {
    let upto = check_phase(phase)?;
    let plan = load_plan(source.phases.as_deref())?;
    let views = views(&plan, upto, source.mirror.as_ref());
    report::plan::print(&views, output)?;
    Ok(0)
}

/// The plan for phases 0..=upto, with counts and images per apply step. The
/// apply steps are counted in parallel, one thread each (they read different
/// upstream files; a few MB of YAML in all).
fn views(plan: &Plan, upto: u8, mirror: Option<&Mirror>) -> Vec<PhaseView> {
    let content = Content::embedded();
    let phases = plan.upto(upto);
    let counted: Vec<Vec<Counted>> = std::thread::scope(|scope| {
        let handles: Vec<Vec<_>> = phases
            .iter()
            .map(|p| {
                p.steps
                    .iter()
                    .map(|s| match s {
                        Step::Apply { path, .. } => {
                            let content = &content;
                            Some(scope.spawn(move || count(content, mirror, path)))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        handles
            .into_iter()
            .map(|steps| {
                steps
                    .into_iter()
                    .map(|h| match h {
                        Some(h) => h
                            .join()
                            .unwrap_or((None, BTreeSet::new(), Some("counting failed".into()))),
                        None => (None, BTreeSet::new(), None),
                    })
                    .collect()
            })
            .collect()
    });
    phases
        .iter()
        .zip(counted)
        .map(|(p, counts)| PhaseView {
            phase: p.phase,
            title: p.title.clone(),
            steps: p
                .steps
                .iter()
                .zip(counts)
                .map(|(s, (objects, images, note))| StepView {
                    label: s.label(),
                    objects,
                    images: images.into_iter().collect(),
                    note,
                })
                .collect(),
        })
        .collect()
}

/// What [`count`] finds under one path: objects (None: an upstream file is
/// not cached), images, and a note for the reader.
type Counted = (Option<usize>, BTreeSet<String>, Option<String>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delete_patch_removes_its_object_from_the_count() {
        let stream = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: argocd-dex-server\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-dex-server\nspec:\n  template:\n    spec:\n      containers:\n        - image: ghcr.io/dexidp/dex:v2.45.0\n--- # the server\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-server\n---\n";
        let docs: Vec<&str> = documents(stream).collect();
        assert_eq!(docs.len(), 3, "{docs:?}");
        let deleted =
            deletions("$patch: delete\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-dex-server\n");
        assert_eq!(deleted, [("Deployment".to_string(), "argocd-dex-server".to_string())]);
        let kept: Vec<&str> = docs.into_iter().filter(|d| !is_deleted(d, &deleted)).collect();
        assert_eq!(kept.len(), 2, "the Service of the same name stays: {kept:?}");
        assert!(kept.iter().all(|d| !d.contains("dexidp")));
    }
}
