//! `kindops status`: what the cluster says (phase records, Applications,
//! the coffee CI's PipelineRuns),
//! printed once, or live full screen with `--watch`.

use super::{init_tracing_file, init_tracing_stderr, no_color, target, Result};
use crate::argo::{application_resource, AppSummary};
use crate::cli::ClusterArgs;
use crate::engine::{provider, state, ARGOCD_NAMESPACE};
use crate::report::{self, Format};
use kube::api::{Api, DynamicObject, ListParams};
use kube::Client;

pub async fn run(cluster: &ClusterArgs, output: Format, watch: bool) -> Result<u8> {
    // While the TUI owns the terminal, tracing goes to a file.
    let log_path = if watch {
        init_tracing_file()
    } else {
        init_tracing_stderr();
        None
    };
    let t = target(cluster)?;
    let client = provider::client_for(&t.context()).await?;
    if watch {
        let opts = crate::tui::TuiOptions {
            step_mode: false,
            no_color: no_color(),
            log_path,
            lessons: None,
        };
        crate::tui::run_status(client, opts).await?;
    } else {
        let phases = state::read(&client).await?;
        let apps = applications(&client).await?;
        let runs = crate::ci::runs::list(&client).await?;
        report::status::print(&t, &phases, &apps, &runs, output)?;
    }
    Ok(0)
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
