//! The `wait-applications` step ([`wait_applications_step`]): the named
//! Applications, and those of the named ApplicationSets, Synced and Healthy
//! ([`crate::cluster::wait::applications_ready`]).

use crate::argocd::ARGOCD_NAMESPACE;
use crate::cluster::outage;
use crate::cluster::wait::applications::{applications_ready, Reporter};
use crate::engine::event::{Event, Stream};
use crate::engine::step::{Done, StepCtx, StepError, StepResult};
use crate::plan::HumanDuration;

/// The `wait-applications` step: the named Applications, and those of the
/// named ApplicationSets, Synced and Healthy ([`applications_ready`]).
pub(crate) async fn wait_applications_step(
    ctx: &mut StepCtx<'_>,
    applications: &[String],
    applicationsets: &[String],
    timeout: Option<HumanDuration>,
) -> StepResult {
    let client = ctx.client()?;
    let progress = ctx.progress();
    let (events, phase, step) = (ctx.events.clone(), ctx.phase, ctx.step);
    let say = move |line: String| {
        events.emit(Event::StepLog {
            phase,
            step,
            stream: Stream::Kindops,
            line,
        })
    };
    let apps = applications_ready(
        &client,
        ARGOCD_NAMESPACE,
        applications,
        applicationsets,
        ctx.wait_timeout(timeout),
        Reporter {
            progress: &progress,
            say: &say,
            recovery: &ctx.recovery(),
        },
    )
    .await
    .map_err(|e| {
        let hint = if e.api_server_unreachable() {
            outage::UNREACHABLE_HINT
        } else {
            "look at the Application's conditions and operation state: `kindops status`, or `kubectl -n argocd describe application NAME`"
        };
        let hint = e.hint.clone().unwrap_or_else(|| hint.to_string());
        StepError::new(e.reason).object_if(e.object).hint(hint)
    })?;
    Ok(Done::unchanged(format!(
        "{} Synced+Healthy: {}",
        apps.len(),
        apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
    )))
}
