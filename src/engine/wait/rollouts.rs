//! Waiting for Deployments and StatefulSets to be Available, and the
//! `wait-rollouts` step.

use super::WaitError;
use crate::engine::outage;
use crate::engine::step::{Done, StepCtx, StepError, StepResult};
use crate::plan::HumanDuration;
use anyhow::Result;
use futures::{stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::Api;
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use std::collections::BTreeMap;
use std::time::Duration;

/// Where one workload stands.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutState {
    /// `Deployment argocd/argocd-server`.
    pub object: String,
    pub ready: bool,
    /// `1/1 available` or the last condition message.
    pub detail: String,
}

/// A Deployment is Available when its rollout is complete, as `kubectl rollout
/// status` judges it: the controller has seen the latest spec
/// (`status.observedGeneration`), every desired replica is updated, no old
/// replica is left (`status.replicas <= updatedReplicas`), every updated
/// replica is available, and condition `Available` is True.
pub fn deployment_state(d: &Deployment) -> RolloutState {
    let name = format!(
        "Deployment {}/{}",
        d.metadata.namespace.as_deref().unwrap_or_default(),
        d.metadata.name.as_deref().unwrap_or_default()
    );
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let st = d.status.clone().unwrap_or_default();
    let observed = st.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0);
    let updated = st.updated_replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    let total = st.replicas.unwrap_or(0);
    let conds = st.conditions.unwrap_or_default();
    let avail_cond = conds.iter().any(|c| c.type_ == "Available" && c.status == "True");
    let ready = observed && updated >= want && total <= updated && available >= updated && avail_cond;
    let detail = if ready {
        format!("{available}/{want} available")
    } else if let Some(c) = conds.iter().find(|c| c.status != "True").or(conds.last()) {
        format!(
            "{available}/{want} available, {updated} updated, {} old; {} {}: {}",
            total.saturating_sub(updated),
            c.type_,
            c.status,
            c.message.as_deref().unwrap_or_default()
        )
    } else {
        format!(
            "{available}/{want} available, {updated} updated; no conditions yet (is kube-controller-manager running?)"
        )
    };
    RolloutState {
        object: name,
        ready,
        detail,
    }
}

/// A StatefulSet is Available when its latest spec is observed and every
/// replica is ready on the current revision.
pub fn statefulset_state(s: &StatefulSet) -> RolloutState {
    let name = format!(
        "StatefulSet {}/{}",
        s.metadata.namespace.as_deref().unwrap_or_default(),
        s.metadata.name.as_deref().unwrap_or_default()
    );
    let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let st = s.status.clone().unwrap_or_default();
    let observed = st.observed_generation.unwrap_or(0) >= s.metadata.generation.unwrap_or(0);
    let ready_n = st.ready_replicas.unwrap_or(0);
    let updated = st.updated_replicas.unwrap_or(0);
    let same_rev = st.update_revision.is_none() || st.current_revision == st.update_revision;
    let ready = observed && ready_n >= want && updated >= want && same_rev;
    RolloutState {
        object: name,
        ready,
        detail: format!("{ready_n}/{want} ready, {updated} updated"),
    }
}

#[derive(Debug)]
enum Seen {
    Deploy(String, Option<Deployment>),
    Sts(String, Option<StatefulSet>),
    Init,
}

/// Waits until every Deployment and StatefulSet in `namespaces` is Available.
/// `progress` gets `n/m workloads Available; waiting for ...` as things change.
///
/// Errors: the deadline passes; the error names each workload not Available
/// with its last condition, and the commands to look further.
pub async fn rollouts_available(
    client: &Client,
    namespaces: &[String],
    timeout: Duration,
    progress: &(dyn Fn(String) + Sync),
) -> Result<usize, WaitError> {
    let mut streams = Vec::new();
    for ns in namespaces {
        let d: Api<Deployment> = Api::namespaced(client.clone(), ns);
        let s: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
        streams.push(
            watcher(d, watcher::Config::default())
                .default_backoff()
                .flat_map(|e| stream::iter(deploy_events(e)))
                .boxed(),
        );
        streams.push(
            watcher(s, watcher::Config::default())
                .default_backoff()
                .flat_map(|e| stream::iter(sts_events(e)))
                .boxed(),
        );
    }
    let total_streams = streams.len();
    let mut merged = stream::select_all(streams);
    let mut inits = 0usize;
    let mut states: BTreeMap<String, RolloutState> = BTreeMap::new();
    let mut last_line = String::new();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, merged.next()).await;
        let seen = match next {
            Err(_) => {
                if let Some(why) = outage::unreachable(client).await {
                    return Err(WaitError::unreachable(format!(
                        "workloads not seen Available within {}: {}",
                        humantime::format_duration(timeout),
                        outage::unreachable_message(&why)
                    )));
                }
                let stuck: Vec<&RolloutState> = states.values().filter(|s| !s.ready).collect();
                let first = stuck.first().map(|s| s.object.clone()).unwrap_or_default();
                let (ns, name) = first
                    .split_once(' ')
                    .map(|(_, r)| r.split_once('/').unwrap_or(("", r)))
                    .unwrap_or(("", ""));
                let kind = first.split(' ').next().unwrap_or("deployment").to_lowercase();
                return Err(WaitError::new(
                    stuck.first().map(|s| s.object.clone()),
                    format!(
                        "not Available within {}: {}. Look at: kubectl -n {ns} describe {kind} {name}; kubectl -n {ns} get pods",
                        humantime::format_duration(timeout),
                        stuck.iter().map(|s| format!("{} ({})", s.object, s.detail)).collect::<Vec<_>>().join("; ")
                    ),
                ));
            }
            Ok(None) => return Err(WaitError::new(None, "the watch on workloads ended unexpectedly".into())),
            Ok(Some(s)) => s,
        };
        match seen {
            Seen::Init => inits += 1,
            Seen::Deploy(key, Some(d)) => {
                states.insert(key, deployment_state(&d));
            }
            Seen::Sts(key, Some(s)) => {
                states.insert(key, statefulset_state(&s));
            }
            Seen::Deploy(key, None) | Seen::Sts(key, None) => {
                states.remove(&key);
            }
        }
        if inits < total_streams {
            continue;
        }
        let ready = states.values().filter(|s| s.ready).count();
        let line = match states.values().find(|s| !s.ready) {
            None => format!("{ready}/{} workloads Available", states.len()),
            Some(s) => format!(
                "{ready}/{} workloads Available; waiting for {} ({})",
                states.len(),
                s.object,
                s.detail
            ),
        };
        if line != last_line {
            progress(line.clone());
            last_line = line;
        }
        if ready == states.len() {
            return Ok(ready);
        }
    }
}

fn key(kind: &str, m: &kube::api::ObjectMeta) -> String {
    format!(
        "{kind} {}/{}",
        m.namespace.as_deref().unwrap_or_default(),
        m.name.as_deref().unwrap_or_default()
    )
}

fn deploy_events(e: Result<watcher::Event<Deployment>, watcher::Error>) -> Vec<Seen> {
    match e {
        Ok(watcher::Event::Apply(d)) | Ok(watcher::Event::InitApply(d)) => {
            vec![Seen::Deploy(key("Deployment", &d.metadata), Some(d))]
        }
        Ok(watcher::Event::Delete(d)) => vec![Seen::Deploy(key("Deployment", &d.metadata), None)],
        Ok(watcher::Event::InitDone) => vec![Seen::Init],
        Ok(watcher::Event::Init) | Err(_) => vec![],
    }
}

fn sts_events(e: Result<watcher::Event<StatefulSet>, watcher::Error>) -> Vec<Seen> {
    match e {
        Ok(watcher::Event::Apply(d)) | Ok(watcher::Event::InitApply(d)) => {
            vec![Seen::Sts(key("StatefulSet", &d.metadata), Some(d))]
        }
        Ok(watcher::Event::Delete(d)) => vec![Seen::Sts(key("StatefulSet", &d.metadata), None)],
        Ok(watcher::Event::InitDone) => vec![Seen::Init],
        Ok(watcher::Event::Init) | Err(_) => vec![],
    }
}

/// The `wait-rollouts` step: every Deployment and StatefulSet in `namespaces`
/// Available ([`rollouts_available`]).
pub(crate) async fn wait_rollouts_step(
    ctx: &mut StepCtx<'_>,
    namespaces: &[String],
    timeout: Option<HumanDuration>,
) -> StepResult {
    let client = ctx.client()?;
    let progress = ctx.progress();
    let ready = rollouts_available(&client, namespaces, ctx.wait_timeout(timeout), &progress)
        .await
        .map_err(|e| {
            let hint = if e.api_server_unreachable() {
                outage::UNREACHABLE_HINT
            } else {
                "a workload is not Available: look at its pods' events (image pulls, scheduling, resources)"
            };
            StepError::new(e.reason).object_if(e.object).hint(hint)
        })?;
    Ok(Done::unchanged(format!("{ready} workloads Available")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(replicas: i32, status: serde_json::Value) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "d", "namespace": "ns", "generation": 2},
            "spec": {"replicas": replicas, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_rollout_with_an_old_replica_left_is_not_available() {
        // The new ReplicaSet's pod cannot schedule; the old pod still serves,
        // so the Deployment's own Available condition is True.
        let d = deployment(
            1,
            serde_json::json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1,
                "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True", "message": "ReplicaSet d-2 is progressing."}]}),
        );
        let s = deployment_state(&d);
        assert!(!s.ready, "{s:?}");
        assert!(s.detail.contains("1 old"), "{}", s.detail);
        let done = deployment(
            1,
            serde_json::json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
                "conditions": [{"type": "Available", "status": "True"}]}),
        );
        assert!(deployment_state(&done).ready);
        let stale = deployment(
            1,
            serde_json::json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
                "conditions": [{"type": "Available", "status": "True"}]}),
        );
        assert!(
            !deployment_state(&stale).ready,
            "a spec the controller has not seen yet"
        );
    }
}
