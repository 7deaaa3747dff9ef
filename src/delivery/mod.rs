//! The CI→CD loop's live state, read from the cluster: Tekton PipelineRuns
//! (with their TaskRuns and steps) and Argo Rollouts Rollouts (with the
//! stable version's image). Used by `kindops status` and the TUI.

#[cfg(test)]
pub mod fixtures;
pub mod pipeline_runs;
pub mod rollouts;

pub use pipeline_runs::{PipelineRunSummary, RunState, StepSummary, TaskRunSummary};
pub use rollouts::RolloutSummary;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams, LogParams};
use kube::Client;
use serde::Serialize;
use std::collections::BTreeMap;

/// How many log lines of a failed step are kept.
pub const FAILED_STEP_LOG_LINES: i64 = 5;

/// PipelineRuns (newest first) and Rollouts (by namespace and name).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Delivery {
    pub pipeline_runs: Vec<PipelineRunSummary>,
    pub rollouts: Vec<RolloutSummary>,
    /// The failed step's last [`FAILED_STEP_LOG_LINES`] log lines, by
    /// PipelineRun name (for the newest failed runs only).
    pub failed_step_logs: BTreeMap<String, Vec<String>>,
}

impl Delivery {
    /// What to do next about run `r`, given its failed step's log lines
    /// kept here ([`PipelineRunSummary::next_step`]).
    pub fn next_step(&self, r: &PipelineRunSummary) -> Option<String> {
        r.next_step(self.failed_step_logs.get(&r.name).map_or(&[][..], Vec::as_slice))
    }
}

/// Lists `ar` in every namespace; a cluster without its CRD gives none.
async fn list_all(client: &Client, ar: &kube::api::ApiResource) -> anyhow::Result<Vec<DynamicObject>> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
    match api.list(&ListParams::default()).await {
        Ok(l) => Ok(l.items),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}

/// Reads the PipelineRuns, TaskRuns, Rollouts and the Rollouts' ReplicaSets
/// of every namespace once, and the last log lines of the failed step of
/// the newest `failed_logs` failed runs (`kubectl logs POD -c step-NAME`).
///
/// Errors: a list the API server refuses (other than a missing CRD: Tekton
/// or Argo Rollouts not installed yet gives empty lists).
pub async fn read(client: &Client, failed_logs: usize) -> anyhow::Result<Delivery> {
    let runs = list_all(client, &pipeline_runs::pipelinerun_resource()).await?;
    let tasks = list_all(client, &pipeline_runs::taskrun_resource()).await?;
    let rollouts = list_all(client, &rollouts::rollout_resource()).await?;
    let pipeline_runs = pipeline_runs::summarize(&runs, &tasks);
    let replicasets = if rollouts.is_empty() {
        vec![]
    } else {
        let api: Api<ReplicaSet> = Api::all(client.clone());
        api.list(&ListParams::default().labels(rollouts::POD_HASH_LABEL))
            .await?
            .items
    };
    let rollouts =
        rollouts::with_stable_images(rollouts.iter().map(RolloutSummary::from_object).collect(), &replicasets);
    let mut failed_step_logs = BTreeMap::new();
    for run in pipeline_runs
        .iter()
        .filter(|r| r.state == RunState::Failed)
        .take(failed_logs)
    {
        if let Some(lines) = failed_step_log(client, run).await {
            failed_step_logs.insert(run.name.clone(), lines);
        }
    }
    Ok(Delivery {
        pipeline_runs,
        rollouts,
        failed_step_logs,
    })
}

/// The last log lines of `run`'s failed step (its container is
/// `step-<name>`, Tekton's naming), or `None` when there is no failed step
/// or its pod and logs are gone.
pub async fn failed_step_log(client: &Client, run: &PipelineRunSummary) -> Option<Vec<String>> {
    let (task, step) = run.failure()?;
    let pod = task.pod.as_deref()?;
    let api: Api<Pod> = Api::namespaced(client.clone(), &run.namespace);
    let params = LogParams {
        container: Some(format!("step-{}", step.name)),
        tail_lines: Some(FAILED_STEP_LOG_LINES),
        ..Default::default()
    };
    let text = api.logs(pod, &params).await.ok()?;
    Some(text.lines().map(str::to_string).collect())
}
