//! `kindops images`: every container image the phases run, where each is
//! used, whether preloading it helps, and (with `--mirror DIR`) whether the
//! mirror has it. [`crate::images`] finds them; [`crate::report::images`] prints.

use super::{check_phase, init_tracing_stderr, load_plan, Error, Result};
use crate::cli::SourceArgs;
use crate::images::{inventory, Image, ImageIndex};
use crate::report::{self, Format};
use crate::upstream::{pins, Mirror, Upstream};
use tokio_util::sync::CancellationToken;

/// The images of phases `0..=upto` (of the phase files in `phases`, else
/// the built-in ones), rendered from the GitOps tree with the pinned
/// upstream artifacts (from `mirror`, the cache, or downloaded).
///
/// Errors: an artifact that cannot be resolved; a path that does not render.
pub async fn list(upto: u8, mirror: Option<&Mirror>, phases: Option<&std::path::Path>) -> anyhow::Result<Vec<Image>> {
    let plan = load_plan(phases).map_err(|e| match e {
        Error::Bad(m) => anyhow::anyhow!(m),
        Error::Failed(e) => e,
    })?;
    let up = Upstream {
        mirror: mirror.cloned(),
        cache_dir: Upstream::default_cache_dir(),
    };
    let resolved = up.resolve_all(&pins()).await?;
    let tree = tempfile::tempdir()?;
    let vars = crate::content::Vars {
        repo_url: "kindops-git-source".into(),
    };
    crate::content::Content::embedded().materialize(tree.path(), &resolved, &vars)?;
    inventory(&plan, upto, tree.path(), &CancellationToken::new()).await
}

pub async fn run(phase: Option<u8>, source: &SourceArgs, output: Format) -> Result<u8> {
    init_tracing_stderr();
    let upto = check_phase(phase)?;
    let images = list(upto, source.mirror.as_ref(), source.phases.as_deref()).await?;
    let index = match &source.mirror {
        Some(Mirror::Dir(d)) => ImageIndex::read(d).map_err(|e| Error::Bad(format!("{e:#}")))?,
        _ => None,
    };
    report::images::print(&images, index.as_ref(), output)?;
    Ok(0)
}
