//! Rendering a path of the materialized GitOps tree as Argo CD would:
//! `kubectl kustomize` (or `kustomize build --enable-helm` for charts) for a
//! kustomization, else the YAML files as they are. [`cache`] keeps renders
//! between runs. Used by the `apply` step and `kindops images`.

pub mod cache;

use anyhow::{anyhow, Context, Result};
use std::path::Path;

/// Whether a render runs Helm charts (kustomize `helmCharts:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helm {
    /// As phase 1's apply renders (no chart is applied by hand).
    Off,
    /// As Argo CD renders an Application's path: `--enable-helm`, the
    /// `kustomize.buildOptions` of platform/argo-cd/argocd-cm.yaml (needs
    /// `helm` on PATH).
    On,
}

/// Renders a path of the materialized GitOps tree: `kubectl kustomize DIR` for a
/// directory with a kustomization (run through [`crate::proc::capture`]:
/// its own process group, killed on `cancel`), else the YAML file(s) as they are.
///
/// Errors: kubectl missing or failing (with its stderr), unreadable files.
pub async fn render(root: &Path, rel: &str, cancel: &tokio_util::sync::CancellationToken) -> Result<String> {
    render_with(root, rel, Helm::Off, cancel).await
}

/// [`render`], with Helm charts rendered or not.
pub async fn render_with(
    root: &Path,
    rel: &str,
    helm: Helm,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<String> {
    let path = root.join(rel);
    if path.is_dir() {
        if path.join("kustomization.yaml").is_file() || path.join("kustomization.yml").is_file() {
            // With charts, Argo CD's own way: the kustomize binary (Argo CD
            // v3.5.1's image ships kustomize v5.8.2 and helm v4; the kustomize
            // inside older kubectl calls `helm version -c`, which helm v4 lacks).
            let standalone = helm == Helm::On && which::which("kustomize").is_ok();
            let (program, mut args): (&str, Vec<String>) = if standalone {
                ("kustomize", vec!["build".into()])
            } else {
                ("kubectl", vec!["kustomize".into()])
            };
            args.extend(["--load-restrictor", "LoadRestrictionsNone"].map(str::to_string));
            if helm == Helm::On {
                args.push("--enable-helm".into());
            }
            args.push(path.display().to_string());
            let shown = format!("{program} {}", args[0]);
            let out = crate::proc::capture(program, &args, cancel, |_, _| {})
                .await
                .with_context(|| format!("running `{shown}` (is {program} installed?)"))?;
            if !out.success {
                let hint = if helm == Helm::On {
                    " (rendering a Helm chart needs `helm` on PATH, and `kustomize` for helm v4)"
                } else {
                    ""
                };
                return Err(anyhow!("{shown} {rel} failed: {}{hint}", out.tail.join(" / ")));
            }
            return Ok(String::from_utf8(out.stdout_raw)?);
        }
        let mut files: Vec<_> = std::fs::read_dir(&path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        files.sort();
        let mut all = String::new();
        for f in files {
            all.push_str("\n---\n");
            all.push_str(&std::fs::read_to_string(&f)?);
        }
        Ok(all)
    } else {
        Ok(std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?)
    }
}
