//! Live PipelineRuns, TaskRuns, Rollouts and the Rollouts' ReplicaSets for
//! the TUI's CI → CD pane: four kube-runtime reflectors, and on a change
//! (at most every [`SETTLE`]) the whole [`Delivery`] rebuilt from their
//! stores and handed to `send` (the TUI wraps it in `WatchMsg::Delivery`).
//! A kind whose CRD does not
//! exist yet (Tekton or Argo Rollouts not installed) just stays empty
//! while its watcher retries with backoff.

use crate::delivery::pipeline_runs::{self, PipelineRunSummary, TaskRunSummary};
use crate::delivery::rollouts::{self, RolloutSummary};
use crate::delivery::{self, Delivery, RunState};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How long changes gather before the pane is rebuilt (a PipelineRun
/// writes its status several times a second while it starts).
pub const SETTLE: Duration = Duration::from_millis(300);

fn dynamic(client: &kube::Client, ar: &ApiResource) -> (Store<DynamicObject>, futures::stream::BoxStream<'static, ()>) {
    let writer = reflector::store::Writer::new(ar.clone());
    let store = writer.as_reader();
    let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
    let s = reflector::reflector(writer, watcher(api, watcher::Config::default()).default_backoff())
        .map(|_| ())
        .boxed();
    (store, s)
}

/// Watches until the UI is gone (`send` returns false).
pub async fn watch_delivery(client: kube::Client, send: impl Fn(Delivery) -> bool) {
    let (runs, s1) = dynamic(&client, &pipeline_runs::pipelinerun_resource());
    let (tasks, s2) = dynamic(&client, &pipeline_runs::taskrun_resource());
    let (outs, s3) = dynamic(&client, &rollouts::rollout_resource());
    let (sets_store, sets_writer) = reflector::store();
    let rs_api: Api<ReplicaSet> = Api::all(client.clone());
    let s4 = reflector::reflector(
        sets_writer,
        watcher(rs_api, watcher::Config::default().labels(rollouts::POD_HASH_LABEL)).default_backoff(),
    )
    .map(|_| ())
    .boxed();
    let mut changes = futures::stream::select_all([s1, s2, s3, s4]);
    let mut logs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut asked: BTreeSet<String> = BTreeSet::new();
    let mut last = Delivery::default();
    while changes.next().await.is_some() {
        // Let the burst settle, taking what else arrived meanwhile.
        let _ = tokio::time::timeout(SETTLE, async {
            loop {
                if changes.next().await.is_none() {
                    std::future::pending::<()>().await;
                }
            }
        })
        .await;
        let by_name: BTreeMap<(String, String), TaskRunSummary> = tasks
            .state()
            .iter()
            .map(|t| {
                (
                    (
                        t.metadata.namespace.clone().unwrap_or_default(),
                        t.metadata.name.clone().unwrap_or_default(),
                    ),
                    TaskRunSummary::from_object(t),
                )
            })
            .collect();
        let pipeline_runs = pipeline_runs::join(
            runs.state()
                .iter()
                .map(|r| PipelineRunSummary::from_object(r))
                .collect(),
            &by_name,
        );
        // The failed step's last lines, read once per failed run.
        for run in pipeline_runs.iter().filter(|r| r.state == RunState::Failed).take(3) {
            if asked.insert(run.name.clone()) {
                if let Some(lines) = delivery::failed_step_log(&client, run).await {
                    logs.insert(run.name.clone(), lines);
                }
            }
        }
        let replicasets: Vec<ReplicaSet> = sets_store.state().iter().map(|r| (**r).clone()).collect();
        let now = Delivery {
            rollouts: rollouts::with_stable_images(
                outs.state().iter().map(|r| RolloutSummary::from_object(r)).collect(),
                &replicasets,
            ),
            failed_step_logs: pipeline_runs
                .iter()
                .filter_map(|r| logs.get(&r.name).map(|l| (r.name.clone(), l.clone())))
                .collect(),
            pipeline_runs,
        };
        if now != last {
            last = now.clone();
            if !send(now) {
                return;
            }
        }
    }
}
