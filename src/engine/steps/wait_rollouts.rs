//! The `wait-rollouts` step ([`wait_rollouts_step`]): every Deployment and
//! StatefulSet in the named namespaces Available
//! ([`crate::cluster::wait::rollouts_available`]).

use crate::cluster::outage;
use crate::cluster::wait::rollouts_available;
use crate::engine::step::{Done, StepCtx, StepError, StepResult};
use crate::plan::HumanDuration;

/// The `wait-rollouts` step: every Deployment and StatefulSet in `namespaces`
/// Available ([`rollouts_available`]).
pub(crate) async fn wait_rollouts_step(
    ctx: &mut StepCtx<'_>,
    namespaces: &[String],
    timeout: Option<HumanDuration>,
) -> StepResult {
    let client = ctx.client()?;
    let progress = ctx.progress();
    let ready = rollouts_available(
        &client,
        namespaces,
        ctx.wait_timeout(timeout),
        &progress,
        &ctx.recovery(),
    )
    .await
    .map_err(|e| {
        let hint = if e.api_server_unreachable() {
            outage::UNREACHABLE_HINT
        } else {
            "a workload is not Available: look at its pods' events (image pulls, scheduling, resources)"
        };
        let hint = e.hint.clone().unwrap_or_else(|| hint.to_string());
        StepError::new(e.reason).object_if(e.object).hint(hint)
    })?;
    Ok(Done::unchanged(format!("{ready} workloads Available")))
}
