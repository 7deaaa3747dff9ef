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

/// Fills `${KINDOPS_REPO_URL}` in one of our manifests.
pub fn fill(text: &str, vars: &Vars) -> String {
    text.replace("${KINDOPS_REPO_URL}", &vars.repo_url)
}

/// The kind cluster config with its tokens filled in.
pub fn kind_config(cluster: &str, git_dir: &Path, ui_port: u16) -> String {
    KIND_CONFIG
        .replace("${KINDOPS_CLUSTER}", cluster)
        .replace("${KINDOPS_GIT_DIR}", &git_dir.display().to_string())
        .replace("${KINDOPS_UI_PORT}", &ui_port.to_string())
}

/// Unpacks a chart archive (`NAME/Chart.yaml`, ...) into `into`, dropping the
/// first path component, then removes from `Chart.yaml` any dependency that is
/// not vendored under `charts/` (so `helm template` runs offline; the dropped
/// dependencies must be optional, `condition:`-guarded ones).
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
    let chart_yaml = into.join("Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).context("the chart archive has no Chart.yaml at its top")?;
    let mut chart: serde_yaml::Value = serde_yaml::from_str(&text)?;
    if let Some(deps) = chart.get_mut("dependencies").and_then(|d| d.as_sequence_mut()) {
        let before = deps.len();
        deps.retain(|d| {
            let name = d.get("name").and_then(|n| n.as_str()).unwrap_or_default();
            into.join("charts").join(name).exists()
        });
        if deps.len() != before {
            if deps.is_empty() {
                chart.as_mapping_mut().unwrap().remove("dependencies");
            }
            std::fs::write(&chart_yaml, serde_yaml::to_string(&chart)?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_has_the_paths_phases_use() {
        let c = Content::embedded();
        for p in [
            "platform/argo-cd",
            "platform/tekton",
            "bootstrap/phase-2",
            "apps/coffee/cart",
            "ci/coffee",
        ] {
            assert!(c.exists(p), "{p}");
        }
        assert!(!c.exists("platform/nope"));
    }

    #[test]
    fn fill_replaces_repo_url_everywhere() {
        let c = Content::embedded();
        let vars = Vars {
            repo_url: "file:///tmp/x.git".into(),
        };
        let (_, appset) = c
            .files()
            .into_iter()
            .find(|(p, _)| p.ends_with("phase-4/coffee.yaml"))
            .unwrap();
        let out = fill(std::str::from_utf8(appset).unwrap(), &vars);
        assert!(!out.contains("${KINDOPS_REPO_URL}"));
        assert_eq!(out.matches("file:///tmp/x.git").count(), 2);
    }
}
