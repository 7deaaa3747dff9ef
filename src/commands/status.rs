//! `kindops status`: what the cluster says (phase records, Applications,
//! the CI→CD loop's PipelineRuns and Rollouts), printed once, or live full
//! screen with `--watch`.

use super::{init_tracing_file, init_tracing_stderr, no_color, target, Result};
use crate::argocd::ARGOCD_NAMESPACE;
use crate::argocd::{application_resource, AppSummary};
use crate::cli::ClusterArgs;
use crate::engine::state;
use crate::report::{self, Format};
use kube::api::{Api, DynamicObject, ListParams};
use kube::Client;

/// `--wait`'s deadline when `--timeout` is not given.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// `wait`: `--wait`'s deadline and `--app` names (see [`wait_all`]).
pub async fn run(
    cluster: &ClusterArgs,
    output: Format,
    watch: bool,
    wait: Option<(std::time::Duration, Vec<String>)>,
) -> Result<u8> {
    // While the TUI owns the terminal, tracing goes to a file.
    let log_path = if watch {
        init_tracing_file()
    } else {
        init_tracing_stderr();
        None
    };
    let t = target(cluster)?;
    let client = crate::cluster::client_for(&t.context()).await?;
    if watch {
        let opts = crate::tui::TuiOptions {
            step_mode: false,
            no_color: no_color(),
            log_path,
            lessons: None,
        };
        crate::tui::run_status(client, opts).await?;
    } else {
        if let Some((timeout, apps)) = wait {
            wait_all(&client, timeout, &apps, output).await?;
        }
        let phases = state::read(&client).await?;
        let apps = applications(&client).await?;
        let delivery = crate::delivery::read(&client, 3).await?;
        report::status::print(&t, &phases, &apps, &delivery, output)?;
    }
    Ok(0)
}

/// `status --wait`: every Application there is now (or those named by
/// `--app`, whether there yet or not) Synced and Healthy, as
/// `kindops up` waits for them ([`crate::cluster::wait::applications_ready`]:
/// from a comparison made after any refresh asked for); progress lines on
/// stderr (text output only).
///
/// Errors (exit 1): no Applications at all; the deadline passes, naming the
/// first Application that is not ready and why, with the next step.
async fn wait_all(client: &Client, timeout: std::time::Duration, only: &[String], output: Format) -> Result<()> {
    use crate::cluster::outage::RecoverySink;
    use crate::cluster::wait::{applications::Reporter, applications_ready};
    let names: Vec<String> = if only.is_empty() {
        applications(client).await?.into_iter().map(|a| a.name).collect()
    } else {
        only.to_vec()
    };
    if names.is_empty() {
        return Err(anyhow::anyhow!(
            "no Applications in namespace {ARGOCD_NAMESPACE} to wait for (phase 2 registers the first: kindops up --phase 2)"
        )
        .into());
    }
    let text = output == Format::Text;
    let progress = move |line: String| {
        if text {
            eprintln!("  .. {line}");
        }
    };
    let say = progress;
    applications_ready(
        client,
        ARGOCD_NAMESPACE,
        &names,
        &[],
        timeout,
        Reporter {
            progress: &progress,
            say: &say,
            recovery: &RecoverySink::none(),
        },
    )
    .await
    .map_err(|e| {
        let what = e.object.clone().unwrap_or_else(|| "Applications".into());
        anyhow::anyhow!(
            "{what}: {}. Next: {}",
            e.reason,
            e.hint
                .clone()
                .unwrap_or_else(|| "look at its conditions: kubectl -n argocd describe application NAME".into())
        )
    })?;
    Ok(())
}

/// Lists Applications in the Argo CD namespace; a cluster without Argo CD's
/// CRDs gives an empty list.
pub async fn applications(client: &Client) -> anyhow::Result<Vec<AppSummary>> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ARGOCD_NAMESPACE, &application_resource());
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            let mut v: Vec<AppSummary> = list.items.iter().map(AppSummary::from_object).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(v)
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}
