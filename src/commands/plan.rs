//! `kindops plan`: the phases, their steps, object counts and images, offline.
//! This module counts; [`crate::report::plan`] prints.
//!
//! Reads upstream artifacts only from `--mirror` or the cache (never the
//! network) and our own manifests from the binary. Counts come from parsing
//! every YAML document a step's path refers to (kustomization `resources`
//! followed recursively; patches do not add objects).

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
fn count(content: &Content, mirror: Option<&Mirror>, path: &str) -> (Option<usize>, BTreeSet<String>, Option<String>) {
    let mut objects = 0usize;
    let mut images = BTreeSet::new();
    let mut missing = None;
    let mut stack = vec![PathBuf::from(path)];
    let files = content.files();
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
        if let Some(text) = text {
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let Ok(v) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc) else {
                    continue;
                };
                if v.is_null() {
                    continue;
                }
                objects += 1;
                collect_images(&v, &mut images);
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

fn collect_images(v: &serde_yaml::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_yaml::Value::Mapping(m) => {
            for (k, val) in m {
                if k.as_str() == Some("image") {
                    if let Some(s) = val.as_str() {
                        out.insert(s.to_string());
                    }
                }
                collect_images(val, out);
            }
        }
        serde_yaml::Value::Sequence(s) => s.iter().for_each(|x| collect_images(x, out)),
        _ => {}
    }
}

pub fn run(phase: Option<u8>, source: &SourceArgs, output: Format) -> Result<u8> {
    let upto = check_phase(phase)?;
    let plan = load_plan(source.phases.as_deref())?;
    let views = views(&plan, upto, source.mirror.as_deref());
    report::plan::print(&views, output)?;
    Ok(0)
}

/// The plan for phases 0..=upto, with counts and images per apply step.
fn views(plan: &Plan, upto: u8, mirror: Option<&str>) -> Vec<PhaseView> {
    let mirror = mirror.map(Mirror::parse);
    let content = Content::embedded();
    plan.upto(upto)
        .iter()
        .map(|p| PhaseView {
            phase: p.phase,
            title: p.title.clone(),
            steps: p
                .steps
                .iter()
                .map(|s| {
                    let (objects, images, note) = match s {
                        Step::Apply { path, .. } => count(&content, mirror.as_ref(), path),
                        _ => (None, BTreeSet::new(), None),
                    };
                    StepView {
                        label: s.label(),
                        objects,
                        images: images.into_iter().collect(),
                        note,
                    }
                })
                .collect(),
        })
        .collect()
}
