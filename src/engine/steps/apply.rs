//! The `apply` step ([`apply_step`]): renders a path of the GitOps tree
//! ([`crate::render`], cached) and applies it with server-side apply
//! ([`crate::cluster::apply`]).

use crate::cluster::apply::{apply, parse_manifests, Kinds};
use crate::cluster::outage;
use crate::engine::step::{Done, StepCtx, StepError, StepResult};
use std::time::Duration;

/// The `apply` step: renders `path` of the GitOps tree and applies it
/// ([`apply`]), namespaced objects that name none going to `namespace`.
pub(crate) async fn apply_step(ctx: &mut StepCtx<'_>, path: &str, namespace: Option<&str>) -> StepResult {
    let client = ctx.client()?;
    let tree = ctx.tree_dir()?;
    let rendered = match &ctx.run.tree_digest {
        // Kept between runs in kindops's cache directory (`render/`).
        Some(digest) => {
            let cache = ctx.settings.cache_dir.join("render");
            crate::render::cache::render(&cache, digest, &tree, path, ctx.cancel).await?
        }
        None => crate::render::render(&tree, path, ctx.cancel).await?,
    };
    let manifests = parse_manifests(&rendered, path)?;
    let kinds = ctx.run.kinds.get_or_insert_with(|| Kinds::new(client.clone())).clone();
    let progress = ctx.progress();
    let report = apply(
        &client,
        &kinds,
        manifests,
        namespace,
        ctx.wait_timeout(None).min(Duration::from_secs(120)),
        &progress,
        &ctx.recovery(),
    )
    .await
    .map_err(|e| {
        let hint = if e.object.as_deref() == Some(outage::API_SERVER) {
            outage::UNREACHABLE_HINT.to_string()
        } else {
            format!("fix the manifest under {path} (or the patch kindops puts on it) and run again")
        };
        StepError::new(e.reason).object_if(e.object).hint(hint)
    })?;
    Ok(Done::new(
        report.changed > 0,
        format!(
            "{} objects ({} CRDs), {} changed",
            report.total,
            report.crds.len(),
            report.changed
        ),
    ))
}
