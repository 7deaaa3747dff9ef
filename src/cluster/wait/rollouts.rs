//! Waiting for Deployments and StatefulSets to be Available, and the
//! `wait-rollouts` step.

use super::pods::{self, PodProblem};
use super::WaitError;
use crate::cluster::outage;
use anyhow::Result;
use futures::{stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::Api;
use kube::runtime::reflector::{self, reflector, Store};
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

/// One workload as the wait sees it: its state, and where its pods are.
struct Workload {
    state: RolloutState,
    namespace: String,
    selector: Option<LabelSelector>,
}

/// The watches of one namespace, each kept in a kube-runtime reflector
/// store: a re-list after an outage replaces a store's contents whole at
/// `InitDone` (kube-runtime 5.0.0 `reflector/store.rs`,
/// `apply_watcher_event`), so a workload deleted while the watch was down is
/// gone from the store, where a hand-kept map would keep waiting for it.
struct Namespace {
    name: String,
    deployments: Store<Deployment>,
    statefulsets: Store<StatefulSet>,
    pods: Store<Pod>,
}

impl Namespace {
    fn workloads(&self) -> Vec<Workload> {
        let deployments = self.deployments.state().into_iter().map(|d| Workload {
            state: deployment_state(&d),
            namespace: self.name.clone(),
            selector: d.spec.as_ref().map(|s| s.selector.clone()),
        });
        let statefulsets = self.statefulsets.state().into_iter().map(|s| Workload {
            state: statefulset_state(&s),
            namespace: self.name.clone(),
            selector: s.spec.as_ref().map(|s| s.selector.clone()),
        });
        deployments.chain(statefulsets).collect()
    }
}

/// What one watch event means to the wait.
enum Signal {
    /// Watch `n` has (re-)listed; its store holds the whole list.
    Listed(usize),
    /// A store changed.
    Changed,
}

/// `watcher` on `api` kept in a new store, as [`Signal`]s tagged `n`;
/// `health` hears of its errors and its resuming.
fn watched<K>(
    api: Api<K>,
    n: usize,
    mut health: outage::WatchHealth,
) -> (Store<K>, futures::stream::BoxStream<'static, Signal>)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (store, writer) = reflector::store();
    let stream = reflector(writer, watcher(api, watcher::Config::default()).default_backoff())
        .filter_map(move |e| {
            health.saw(&e);
            futures::future::ready(match e {
                Ok(watcher::Event::InitDone) => Some(Signal::Listed(n)),
                Ok(_) => Some(Signal::Changed),
                Err(e) => {
                    tracing::debug!("watch for wait-rollouts failed (resuming with backoff): {e}");
                    None
                }
            })
        })
        .boxed();
    (store, stream)
}

/// Waits until every Deployment and StatefulSet in `namespaces` is Available.
/// `progress` gets `n/m workloads Available; waiting for ...` as things
/// change; while a workload waits, the line also names the first pod-level
/// reason its pods report ([`pods::pod_problem`]: image pull errors with the
/// kubelet's message, a crash loop with the container's last log lines,
/// the scheduler's verdict), as soon as the kubelet or scheduler writes it.
///
/// Errors: the deadline passes; the error names each workload not Available
/// with its last condition and its pods' first problem, and the commands to
/// look further ([`WaitError::hint`] says what to do for that problem).
pub async fn rollouts_available(
    client: &Client,
    namespaces: &[String],
    timeout: Duration,
    progress: &(dyn Fn(String) + Sync),
    sink: &outage::RecoverySink,
) -> Result<usize, WaitError> {
    let mut streams = Vec::new();
    let mut watched_ns = Vec::new();
    for ns in namespaces {
        let (deployments, s1) = watched(
            Api::<Deployment>::namespaced(client.clone(), ns),
            streams.len(),
            sink.watch(format!("Deployments in {ns}")),
        );
        streams.push(s1);
        let (statefulsets, s2) = watched(
            Api::<StatefulSet>::namespaced(client.clone(), ns),
            streams.len(),
            sink.watch(format!("StatefulSets in {ns}")),
        );
        streams.push(s2);
        let (pods, s3) = watched(
            Api::<Pod>::namespaced(client.clone(), ns),
            streams.len(),
            sink.watch(format!("Pods in {ns}")),
        );
        streams.push(s3);
        watched_ns.push(Namespace {
            name: ns.clone(),
            deployments,
            statefulsets,
            pods,
        });
    }
    let total_streams = streams.len();
    let mut merged = stream::select_all(streams);
    let mut listed = vec![false; total_streams];
    // The crashed containers' last log lines, by (pod, container, restarts).
    let mut crash_logs: BTreeMap<(String, Option<String>, i32), Option<String>> = BTreeMap::new();
    let mut last_line = String::new();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, merged.next()).await;
        let signal = match next {
            Err(_) => {
                if let Some(why) = outage::unreachable(client).await {
                    return Err(WaitError::unreachable(format!(
                        "workloads not seen Available within {}: {}",
                        humantime::format_duration(timeout),
                        outage::unreachable_message(&why)
                    )));
                }
                let workloads: Vec<Workload> = watched_ns.iter().flat_map(Namespace::workloads).collect();
                let stuck: Vec<(&Workload, Option<PodProblem>)> = workloads
                    .iter()
                    .filter(|w| !w.state.ready)
                    .map(|w| (w, problem_of(&watched_ns, w)))
                    .collect();
                let first = stuck
                    .iter()
                    .find(|(_, p)| p.is_some())
                    .or(stuck.first())
                    .map(|(w, p)| (&w.state.object, p.clone()));
                let object = first.as_ref().map(|(o, _)| (*o).clone()).unwrap_or_default();
                let (ns, name) = object
                    .split_once(' ')
                    .map(|(_, r)| r.split_once('/').unwrap_or(("", r)))
                    .unwrap_or(("", ""));
                let kind = object.split(' ').next().unwrap_or("deployment").to_lowercase();
                let mut shown = Vec::new();
                for (w, p) in &stuck {
                    let mut s = format!("{} ({})", w.state.object, w.state.detail);
                    if let Some(p) = p {
                        s.push_str(&format!("; {}", with_logs(p, &crash_logs)));
                    }
                    shown.push(s);
                }
                let mut err = WaitError::new(
                    first.as_ref().map(|(o, _)| (*o).clone()),
                    format!(
                        "not Available within {}: {}. Look at: kubectl -n {ns} describe {kind} {name}; kubectl -n {ns} get pods",
                        humantime::format_duration(timeout),
                        shown.join("; ")
                    ),
                );
                err.hint = first.and_then(|(_, p)| p).map(|p| p.hint());
                return Err(err);
            }
            Ok(None) => return Err(WaitError::new(None, "the watch on workloads ended unexpectedly".into())),
            Ok(Some(s)) => s,
        };
        if let Signal::Listed(n) = signal {
            listed[n] = true;
        }
        if listed.iter().any(|l| !l) {
            continue;
        }
        let workloads: Vec<Workload> = watched_ns.iter().flat_map(Namespace::workloads).collect();
        let ready = workloads.iter().filter(|w| w.state.ready).count();
        let stuck: Vec<&Workload> = workloads.iter().filter(|w| !w.state.ready).collect();
        // The first workload whose pods say why, else the first waiting.
        let problem = stuck.iter().find_map(|w| problem_of(&watched_ns, w).map(|p| (*w, p)));
        if let Some((_, p)) = &problem {
            let key = (p.pod.clone(), p.container.clone(), p.restarts);
            if p.crashed() && !crash_logs.contains_key(&key) {
                let lines = pods::last_log_lines(client, p, 5).await;
                crash_logs.insert(key, lines);
            }
        }
        let line = match (problem, stuck.first()) {
            (Some((w, p)), _) => format!(
                "{ready}/{} workloads Available; waiting for {} ({}); {}",
                workloads.len(),
                w.state.object,
                w.state.detail,
                with_logs(&p, &crash_logs)
            ),
            (None, Some(w)) => format!(
                "{ready}/{} workloads Available; waiting for {} ({})",
                workloads.len(),
                w.state.object,
                w.state.detail
            ),
            (None, None) => format!("{ready}/{} workloads Available", workloads.len()),
        };
        if line != last_line {
            progress(line.clone());
            last_line = line;
        }
        if stuck.is_empty() {
            return Ok(ready);
        }
    }
}

/// The first pod-level problem of workload `w`'s pods.
fn problem_of(namespaces: &[Namespace], w: &Workload) -> Option<PodProblem> {
    let ns = namespaces.iter().find(|n| n.name == w.namespace)?;
    let pods = ns.pods.state();
    pods::first_problem(pods.iter().map(|p| p.as_ref()), w.selector.as_ref()?)
}

/// `p` described, with a crashed container's last log lines when known.
fn with_logs(p: &PodProblem, crash_logs: &BTreeMap<(String, Option<String>, i32), Option<String>>) -> String {
    match crash_logs.get(&(p.pod.clone(), p.container.clone(), p.restarts)) {
        Some(Some(lines)) => format!("{}; its last log lines: {lines}", p.describe()),
        _ => p.describe(),
    }
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
