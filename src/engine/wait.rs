//! Watch-based waits with deadlines and a diagnosis.
//!
//! Every wait is a kube-runtime watcher (re-listing with backoff on errors,
//! never sleep-polling) with a deadline. On timeout the error names the stuck
//! object, its last condition or message, and what to look at next.
//! [`wait_rollouts_step`] and [`wait_applications_step`] are the wait steps.

use super::git_source::{annotate, APP_REFRESH_ANNOTATION};
use super::outage;
use super::step::{Done, StepCtx, StepError, StepResult};
use super::ARGOCD_NAMESPACE;
use crate::argo::{application_resource, AppSummary};
use crate::plan::HumanDuration;
use anyhow::Result;
use futures::{stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::time::Instant;

/// Waits until every named CRD has `Established=True`. The watches resume
/// with backoff when the API server goes away and comes back, and a CRD the
/// restarted API server left un-Established is nudged
/// ([`outage::crd_established`]).
///
/// Errors: the deadline passes; the error lists the CRDs not yet Established,
/// or names the API server when it does not answer then.
pub async fn crds_established(client: &Client, names: &[String], timeout: Duration) -> Result<(), WaitError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let waits = names.iter().map(|n| {
        let api = api.clone();
        async move {
            tokio::time::timeout(timeout, outage::crd_established(api, n))
                .await
                .map_err(|_| n.clone())
        }
    });
    let failed: Vec<String> = futures::future::join_all(waits)
        .await
        .into_iter()
        .filter_map(|r| r.err())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    if let Some(why) = outage::unreachable(client).await {
        return Err(WaitError::unreachable(format!(
            "CustomResourceDefinition(s) not seen Established within {} ({}): {}",
            humantime::format_duration(timeout),
            failed.join(", "),
            outage::unreachable_message(&why)
        )));
    }
    Err(WaitError::new(
        Some(format!("CustomResourceDefinition {}", failed[0])),
        format!(
            "CustomResourceDefinition(s) not Established within {}: {}. Look at: kubectl get crd {} -o yaml (status.conditions)",
            humantime::format_duration(timeout),
            failed.join(", "),
            failed[0]
        ),
    ))
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

    /// The API server did not answer at the deadline: it is the object at
    /// fault ([`outage::API_SERVER`]).
    fn unreachable(reason: String) -> Self {
        WaitError::new(Some(outage::API_SERVER.to_string()), reason)
    }

    /// Whether the API server, not a watched object, is at fault.
    pub fn api_server_unreachable(&self) -> bool {
        self.object.as_deref() == Some(outage::API_SERVER)
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

/// CustomResourceDefinitions that Application `app` reports as not yet
/// Synced+Healthy (its `status.resources[]`): what it may be waiting for.
pub fn crds_waited_for(app: &AppSummary) -> Vec<&str> {
    app.resources
        .iter()
        .filter(|r| r.group == "apiextensions.k8s.io" && r.kind == "CustomResourceDefinition")
        .filter(|r| r.status != "Synced" || (!r.health.is_empty() && r.health != "Healthy"))
        .map(|r| r.name.as_str())
        .collect()
}

/// Asks Argo CD to look again at an Application whose CRDs the API server has
/// Established while Argo CD still reports them `Progressing` or `Missing`.
///
/// Argo CD never notices that by itself: CRDs carry no tracking annotation
/// (argo-cd v3.5.1 reposerver/repository/repository.go: `SetAppInstance` is
/// skipped for `kube.IsCRD`), so in its cluster cache a CRD belongs to no
/// Application (controller/cache/cache.go, `populateResourceInfoHandler`:
/// CRDs are kept "to diff" with an empty AppName) and a change of one requeues
/// none (the `OnResourceUpdated` handler skips resources without an app). The
/// Application keeps the health of its last comparison, taken while the CRDs
/// were new, until its periodic refresh (`timeout.reconciliation` plus up to
/// `timeout.reconciliation.jitter`, 30-90 s with kindops's settings). And
/// Argo CD's cache learns of a CRD's status late: its CRD watch handles every
/// event in turn with a full API discovery and OpenAPI schema reload
/// (gitops-engine pkg/cache/cluster.go, `watchEvents`), seconds each when many
/// large CRDs arrive at once. So one refresh may still read a stale CRD:
/// kindops asks again, spaced by [`CrdRefresher::interval`], while the
/// Application reports an Established CRD as not ready and has no refresh
/// pending (Argo CD removes the annotation when it has compared).
///
/// Argo CD's verdict is untouched: a CRD the API server has not Established
/// is never a reason to ask, and an Application Argo CD still finds not
/// Healthy is still waited for and named on timeout.
#[derive(Debug, Default)]
pub struct CrdRefresher {
    /// CRDs the API server reports Established.
    pub established: BTreeSet<String>,
    /// CRDs being watched (or already Established).
    watched: BTreeSet<String>,
    /// Per Application: when kindops first and last asked, and how often.
    asked: BTreeMap<String, (Instant, Instant, u32)>,
}

impl CrdRefresher {
    /// How long after its `n`-th request (n >= 1) kindops may ask again:
    /// 2 s, 4 s, then every 5 s; every 30 s once it has asked for 2 minutes.
    pub fn interval(n: u32, asking_for: Duration) -> Duration {
        if asking_for >= Duration::from_secs(120) {
            return Duration::from_secs(30);
        }
        Duration::from_secs(match n {
            0 | 1 => 2,
            2 => 4,
            _ => 5,
        })
    }

    /// The CRDs of `apps` not watched yet; they count as watched from now on.
    pub fn to_watch<'a>(&mut self, apps: impl IntoIterator<Item = &'a AppSummary>) -> Vec<String> {
        let mut new = vec![];
        for app in apps {
            for crd in crds_waited_for(app) {
                if self.watched.insert(crd.to_string()) {
                    new.push(crd.to_string());
                }
            }
        }
        new
    }

    /// The Applications to ask now, each with the Established CRD it waits
    /// for, and when the next one may be due. `apps`: the Applications waited
    /// for and not ready, each with whether a refresh is still pending.
    pub fn due(&self, apps: &[(&AppSummary, bool)], now: Instant) -> (Vec<(String, String)>, Option<Instant>) {
        let mut due = vec![];
        let mut next: Option<Instant> = None;
        for (app, pending) in apps {
            if *pending {
                continue;
            }
            let Some(crd) = crds_waited_for(app).into_iter().find(|c| self.established.contains(*c)) else {
                continue;
            };
            let at = match self.asked.get(&app.name) {
                None => now,
                Some((first, last, n)) => *last + Self::interval(*n, last.saturating_duration_since(*first)),
            };
            if at <= now {
                due.push((app.name.clone(), crd.to_string()));
            } else {
                next = Some(next.map_or(at, |t| t.min(at)));
            }
        }
        (due, next)
    }

    /// Records that kindops asked Argo CD to refresh `app` at `now`.
    pub fn asked(&mut self, app: &str, now: Instant) {
        let e = self.asked.entry(app.to_string()).or_insert((now, now, 0));
        e.1 = now;
        e.2 += 1;
    }

    /// How many times kindops asked Argo CD to refresh `app`.
    pub fn times_asked(&self, app: &str) -> u32 {
        self.asked.get(app).map_or(0, |e| e.2)
    }
}

/// Waits until the named Applications, and every Application owned by the
/// named ApplicationSets (at least one each), are Synced and Healthy, as
/// written by Argo CD's application-controller in `status.sync.status` and
/// `status.health.status`. Returns the final summaries. While one reports a
/// CRD as not ready that the API server has Established, asks Argo CD to
/// compare it again ([`CrdRefresher`]); `say` gets a line when it first does.
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
    say: &(dyn Fn(String) + Sync),
) -> Result<Vec<AppSummary>, WaitError> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &application_resource());
    let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut events = watcher(api.clone(), watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut apps: BTreeMap<String, AppSummary> = BTreeMap::new();
    // Applications with an `argocd.argoproj.io/refresh` annotation Argo CD has not consumed yet.
    let mut refresh_pending: BTreeSet<String> = BTreeSet::new();
    let mut refresher = CrdRefresher::default();
    let (established_tx, mut established_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // One watch per CRD an Application waits for, until it is Established;
    // all are cancelled when this wait returns.
    let mut crd_watches = tokio::task::JoinSet::new();
    let mut next_ask: Option<Instant> = None;
    let mut initialized = false;
    let mut last_line = String::new();
    let deadline = Instant::now() + timeout;
    let ours = |a: &AppSummary| {
        applications.contains(&a.name) || a.owner_appset.as_ref().is_some_and(|o| applicationsets.contains(o))
    };
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
                a.sync_given_up()
                    .filter(|_| ours(a))
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
                let mut out: Vec<AppSummary> = apps.into_values().filter(|a| ours(a)).collect();
                out.sort_by(|a, b| a.name.cmp(&b.name));
                return Ok(out);
            }
            // CRDs the API server may have Established before Argo CD sees it.
            let not_ready: Vec<(&AppSummary, bool)> = apps
                .values()
                .filter(|a| ours(a) && !a.is_ready())
                .map(|a| (a, refresh_pending.contains(&a.name)))
                .collect();
            for crd in refresher.to_watch(not_ready.iter().map(|(a, _)| *a)) {
                let (api, tx) = (crd_api.clone(), established_tx.clone());
                crd_watches.spawn(async move {
                    outage::crd_established(api, &crd).await;
                    let _ = tx.send(crd);
                });
            }
            let now = Instant::now();
            let (due, next) = refresher.due(&not_ready, now);
            next_ask = next;
            for (app, crd) in due {
                match annotate(&api, &app, APP_REFRESH_ANNOTATION, "normal").await {
                    Ok(_) => {
                        if refresher.times_asked(&app) == 0 {
                            say(format!(
                                "Application {namespace}/{app}: CustomResourceDefinition {crd} is Established, but Argo CD still reports it not ready; asked Argo CD to compare again"
                            ));
                        }
                        refresher.asked(&app, now);
                        refresh_pending.insert(app);
                    }
                    // Not fatal: Argo CD's own periodic refresh comes later.
                    Err(e) => {
                        tracing::debug!("asking Argo CD to refresh Application {namespace}/{app}: {e}");
                        refresher.asked(&app, now);
                    }
                }
            }
        }
        let wake = next_ask.map_or(deadline, |t| t.min(deadline));
        tokio::select! {
            ev = events.next() => match ev {
                None => {
                    return Err(WaitError::new(
                        None,
                        "the watch on Applications ended unexpectedly".into(),
                    ))
                }
                Some(Err(e)) => {
                    tracing::debug!("Application watch error (retrying with backoff): {e}");
                }
                Some(Ok(ev)) => match ev {
                    watcher::Event::Init => {
                        apps.clear();
                        refresh_pending.clear();
                    }
                    watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                        let s = AppSummary::from_object(&o);
                        let pending = o
                            .metadata
                            .annotations
                            .as_ref()
                            .is_some_and(|a| a.contains_key(APP_REFRESH_ANNOTATION));
                        if pending {
                            refresh_pending.insert(s.name.clone());
                        } else {
                            refresh_pending.remove(&s.name);
                        }
                        apps.insert(s.name.clone(), s);
                    }
                    watcher::Event::Delete(o) => {
                        let name = o.metadata.name.as_deref().unwrap_or_default();
                        apps.remove(name);
                        refresh_pending.remove(name);
                    }
                    watcher::Event::InitDone => initialized = true,
                },
            },
            Some(crd) = established_rx.recv() => {
                refresher.established.insert(crd);
            }
            _ = tokio::time::sleep_until(wake) => {
                if Instant::now() >= deadline {
                    if let Some(why) = outage::unreachable(client).await {
                        return Err(WaitError::unreachable(
                                                        format!(
                                "Applications not seen Synced+Healthy within {}: {}",
                                humantime::format_duration(timeout),
                                outage::unreachable_message(&why)
                            ),
                        ));
                    }
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
            }
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
            let hint = if e.api_server_unreachable() {
                outage::UNREACHABLE_HINT
            } else {
                "a workload is not Available: look at its pods' events (image pulls, scheduling, resources)"
            };
            StepError::new(e.reason).object_if(e.object).hint(hint)
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
    let (events, phase, step) = (ctx.events.clone(), ctx.phase, ctx.step);
    let say = move |line: String| {
        events.emit(super::event::Event::StepLog {
            phase,
            step,
            stream: super::event::Stream::Kindops,
            line,
        })
    };
    let apps = applications_ready(
        &client,
        ARGOCD_NAMESPACE,
        applications,
        applicationsets,
        ctx.wait_timeout(timeout),
        &progress,
        &say,
    )
    .await
    .map_err(|e| {
        let hint = if e.api_server_unreachable() {
            outage::UNREACHABLE_HINT
        } else {
            "look at the Application's conditions and operation state: `kindops status`, or `kubectl -n argocd describe application NAME`"
        };
        StepError::new(e.reason).object_if(e.object).hint(hint)
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
    use crate::argo::ResourceStatus;

    fn crd(name: &str, status: &str, health: &str) -> ResourceStatus {
        ResourceStatus {
            group: "apiextensions.k8s.io".into(),
            kind: "CustomResourceDefinition".into(),
            name: name.into(),
            status: status.into(),
            health: health.into(),
            ..Default::default()
        }
    }

    fn app(name: &str, resources: Vec<ResourceStatus>) -> AppSummary {
        AppSummary {
            namespace: "argocd".into(),
            name: name.into(),
            sync: "Synced".into(),
            health: "Progressing".into(),
            resources,
            ..Default::default()
        }
    }

    #[test]
    fn an_application_waits_for_the_crds_it_reports_not_synced_or_not_healthy() {
        let a = app(
            "external-secrets",
            vec![
                crd("done.example.io", "Synced", "Healthy"),
                crd("new.example.io", "Synced", "Progressing"),
                crd("missing.example.io", "OutOfSync", "Missing"),
                // Without controller.resource.health.persist: no health, only sync.
                crd("nohealth.example.io", "Synced", ""),
                ResourceStatus {
                    group: "apps".into(),
                    kind: "Deployment".into(),
                    name: "d".into(),
                    status: "Synced".into(),
                    health: "Progressing".into(),
                    ..Default::default()
                },
            ],
        );
        assert_eq!(crds_waited_for(&a), vec!["new.example.io", "missing.example.io"]);
    }

    #[test]
    fn kindops_asks_again_only_for_established_crds_spaced_and_never_twice_at_once() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let a = app("eso", vec![crd("a.example.io", "Synced", "Progressing")]);
        let b = app("rollouts", vec![crd("b.example.io", "OutOfSync", "Missing")]);
        let mut r = CrdRefresher::default();
        assert_eq!(r.to_watch([&a, &b]), vec!["a.example.io", "b.example.io"]);
        assert!(r.to_watch([&a, &b]).is_empty(), "each CRD is watched once");

        // Nothing is Established yet: no reason to ask, nothing to wake for.
        assert_eq!(r.due(&[(&a, false), (&b, false)], s(0)), (vec![], None));

        r.established.insert("a.example.io".into());
        let (due, next) = r.due(&[(&a, false), (&b, false)], s(0));
        assert_eq!(due, vec![("eso".to_string(), "a.example.io".to_string())]);
        assert_eq!(next, None);
        r.asked("eso", s(0));
        assert_eq!(r.times_asked("eso"), 1);

        // A refresh Argo CD has not consumed yet: never a second one.
        assert_eq!(r.due(&[(&a, true)], s(10)), (vec![], None));
        // Consumed, still not ready: again after 2 s, then 4 s, then every 5 s.
        assert_eq!(r.due(&[(&a, false)], s(1)), (vec![], Some(s(2))));
        assert_eq!(r.due(&[(&a, false)], s(2)).0.len(), 1);
        r.asked("eso", s(2));
        assert_eq!(r.due(&[(&a, false)], s(3)).1, Some(s(6)));
        r.asked("eso", s(6));
        assert_eq!(r.due(&[(&a, false)], s(7)).1, Some(s(11)));
        // After two minutes of asking: every 30 s.
        r.asked("eso", s(125));
        assert_eq!(r.due(&[(&a, false)], s(126)).1, Some(s(155)));

        // Argo CD's verdict is what counts: an Application whose CRD the API
        // server has not Established is not asked about.
        assert_eq!(r.due(&[(&b, false)], s(200)), (vec![], None));
    }
}

#[cfg(test)]
mod rollout_tests {
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
