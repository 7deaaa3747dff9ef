//! Watch-based waits with deadlines and a diagnosis.
//!
//! Every wait is a kube-runtime watcher (re-listing with backoff on errors,
//! never sleep-polling) with a deadline. On timeout the error names the stuck
//! object, its last condition or message, and what to look at next.
//! [`wait_rollouts_step`] and [`wait_applications_step`] are the wait steps.

use super::step::{Done, StepCtx, StepError, StepResult};
use super::ARGOCD_NAMESPACE;
use crate::argo::{application_resource, AppSummary};
use crate::plan::HumanDuration;
use anyhow::{anyhow, Result};
use futures::{stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use std::collections::BTreeMap;
use std::time::Duration;

/// Waits until every named CRD has `Established=True`.
///
/// Errors: the deadline passes; the error lists the CRDs not yet Established.
pub async fn crds_established(client: &Client, names: &[String], timeout: Duration) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let waits = names.iter().map(|n| {
        let api = api.clone();
        async move {
            tokio::time::timeout(timeout, await_condition(api, n, conditions::is_crd_established()))
                .await
                .map_err(|_| n.clone())?
                .map_err(|_| n.clone())
                .map(|_| ())
        }
    });
    let failed: Vec<String> = futures::future::join_all(waits)
        .await
        .into_iter()
        .filter_map(|r| r.err())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(
            "CustomResourceDefinition(s) not Established within {}: {}. Look at: kubectl get crd {} -o yaml (status.conditions)",
            humantime::format_duration(timeout),
            failed.join(", "),
            failed[0]
        ))
    }
}

/// Why a wait failed. `object` names the first object still not ready (the
/// stuck Deployment, the Application Argo CD gave up on), if any; `reason` is
/// the whole message (what `Display` prints).
#[derive(Debug, Clone, PartialEq)]
pub struct WaitError {
    pub object: Option<String>,
    pub reason: String,
}

impl WaitError {
    fn new(object: Option<String>, reason: String) -> Self {
        WaitError { object, reason }
    }
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for WaitError {}

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

/// Waits until the named Applications, and every Application owned by the
/// named ApplicationSets (at least one each), are Synced and Healthy, as
/// written by Argo CD's application-controller in `status.sync.status` and
/// `status.health.status`. Returns the final summaries.
///
/// Errors: the deadline passes; the error names each Application not ready
/// with its sync/health and its ComparisonError/SyncError condition or
/// operation message.
pub async fn applications_ready(
    client: &Client,
    namespace: &str,
    applications: &[String],
    applicationsets: &[String],
    timeout: Duration,
    progress: &(dyn Fn(String) + Sync),
) -> Result<Vec<AppSummary>, WaitError> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &application_resource());
    let mut events = watcher(api, watcher::Config::default()).default_backoff().boxed();
    let mut apps: BTreeMap<String, AppSummary> = BTreeMap::new();
    let mut initialized = false;
    let mut last_line = String::new();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        // Each object not ready yet, with why: (`Application argocd/cart`, `OutOfSync/Missing ...`).
        let evaluate = |apps: &BTreeMap<String, AppSummary>| -> (bool, Vec<(String, String)>) {
            let mut waiting = Vec::new();
            for name in applications {
                match apps.get(name) {
                    None => waiting.push((format!("Application {namespace}/{name}"), "not created yet".into())),
                    Some(a) if !a.is_ready() => waiting.push((format!("Application {namespace}/{name}"), a.describe())),
                    _ => {}
                }
            }
            for set in applicationsets {
                let owned: Vec<&AppSummary> = apps
                    .values()
                    .filter(|a| a.owner_appset.as_deref() == Some(set))
                    .collect();
                if owned.is_empty() {
                    waiting.push((
                        format!("ApplicationSet {namespace}/{set}"),
                        "no Application generated yet".into(),
                    ));
                }
                for a in owned.into_iter().filter(|a| !a.is_ready()) {
                    waiting.push((format!("Application {namespace}/{}", a.name), a.describe()));
                }
            }
            (waiting.is_empty(), waiting)
        };
        let shown = |(object, why): &(String, String)| format!("{object} ({why})");
        if initialized {
            // A sync Argo CD will not try again: waiting longer cannot help.
            let given_up = apps.values().find_map(|a| {
                let ours = applications.contains(&a.name)
                    || a.owner_appset.as_ref().is_some_and(|o| applicationsets.contains(o));
                a.sync_given_up()
                    .filter(|_| ours)
                    .map(|m| (a.name.clone(), m.to_string()))
            });
            if let Some((name, message)) = given_up {
                return Err(WaitError::new(
                    Some(format!("Application {namespace}/{name}")),
                    format!(
                        "Application {namespace}/{name}: Argo CD's automated sync failed after its retries, and Argo CD will not sync this revision again by itself: {message}. \
                         Fix the cause, then run `kindops up` again (it asks Argo CD to sync once more), or sync by hand: \
                         kubectl -n {namespace} patch application {name} --type merge -p '{{\"operation\":{{\"sync\":{{}}}}}}'"
                    ),
                ));
            }
            let (done, waiting) = evaluate(&apps);
            let wanted = applications.len()
                + apps
                    .values()
                    .filter(|a| a.owner_appset.as_ref().is_some_and(|o| applicationsets.contains(o)))
                    .count();
            let line = if done {
                format!("{wanted}/{wanted} Applications Synced+Healthy")
            } else {
                format!("{} waiting: {}", waiting.len(), shown(&waiting[0]))
            };
            if line != last_line {
                progress(line.clone());
                last_line = line;
            }
            if done {
                let mut out: Vec<AppSummary> = apps
                    .into_values()
                    .filter(|a| {
                        applications.contains(&a.name)
                            || a.owner_appset.as_ref().is_some_and(|o| applicationsets.contains(o))
                    })
                    .collect();
                out.sort_by(|a, b| a.name.cmp(&b.name));
                return Ok(out);
            }
        }
        match tokio::time::timeout_at(deadline, events.next()).await {
            Err(_) => {
                let (_, waiting) = evaluate(&apps);
                return Err(WaitError::new(
                    waiting.first().map(|(object, _)| object.clone()),
                    format!(
                        "Applications not Synced+Healthy within {}: {}. Look at: kubectl -n {namespace} get applications; kindops status",
                        humantime::format_duration(timeout),
                        waiting.iter().map(shown).collect::<Vec<_>>().join("; ")
                    ),
                ));
            }
            Ok(None) => {
                return Err(WaitError::new(
                    None,
                    "the watch on Applications ended unexpectedly".into(),
                ))
            }
            Ok(Some(Err(e))) => {
                tracing::debug!("Application watch error (retrying with backoff): {e}");
            }
            Ok(Some(Ok(ev))) => match ev {
                watcher::Event::Init => apps.clear(),
                watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                    let s = AppSummary::from_object(&o);
                    apps.insert(s.name.clone(), s);
                }
                watcher::Event::Delete(o) => {
                    apps.remove(o.metadata.name.as_deref().unwrap_or_default());
                }
                watcher::Event::InitDone => initialized = true,
            },
        }
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
            StepError::new(e.reason)
                .object_if(e.object)
                .hint("a workload is not Available: look at its pods' events (image pulls, scheduling, resources)")
        })?;
    Ok(Done::unchanged(format!("{ready} workloads Available")))
}

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
    let apps = applications_ready(
        &client,
        ARGOCD_NAMESPACE,
        applications,
        applicationsets,
        ctx.wait_timeout(timeout),
        &progress,
    )
    .await
    .map_err(|e| {
        StepError::new(e.reason).object_if(e.object).hint(
            "look at the Application's conditions and operation state: `kindops status`, or `kubectl -n argocd describe application NAME`",
        )
    })?;
    Ok(Done::unchanged(format!(
        "{} Synced+Healthy: {}",
        apps.len(),
        apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
    )))
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
