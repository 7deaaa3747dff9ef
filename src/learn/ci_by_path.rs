//! Lesson 4, CI by path: kindops sends EventListener `coffee-ci/coffee` a
//! push event, as a git host would, through the Kubernetes API's service
//! proxy (no port-forward): once with a changed file under cart's module
//! path, once touching neither module. The Triggers' CEL filters
//! (`manifests/gitops/ci/coffee/trigger.yaml`: `body.commits` `added` /
//! `modified` / `removed` under `products/coffee/<module>/`) must start
//! exactly one PipelineRun, for cart, and then none.
//!
//! The trigger has no GitHub interceptor and no secret, so the payload is not
//! signed (a signature header would be ignored).
//!
//! Upstream facts (tektoncd/triggers v0.37, `pkg/reconciler/eventlistener/resources`):
//! the listener's Service is `el-<name>`, its port is named `http-listener`
//! (container port 8080); resources a trigger creates carry the labels
//! `triggers.tekton.dev/eventlistener`, `triggers.tekton.dev/trigger` and
//! `triggers.tekton.dev/triggers-eventid` (the `eventID` of the listener's
//! `202 Accepted` answer).
//!
//! On the test bed no EventListener pod serves (KWOK nodes run nothing, and
//! Triggers' own controller is a KWOK pod, so it never makes `el-coffee`):
//! the lesson says so and ends `skipped`, never `passed`.

use super::{Ended, Fail, LessonCtx};
pub(super) use crate::delivery::pipeline_runs::{pipelinerun_resource, taskrun_resource};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use std::time::Duration;
use tokio::time::Instant;

pub const NAMESPACE: &str = "coffee-ci";
pub const LISTENER: &str = "coffee";
pub const SERVICE: &str = "el-coffee";
/// How long the lesson watches for PipelineRuns after the listener answered:
/// it runs the triggers' interceptors and creates the resources in the
/// background of its answer.
pub const SETTLE: Duration = Duration::from_secs(15);

/// The push payload a git host sends (the fields the TriggerBinding `push`
/// reads: `repository.clone_url`, `after`; the CEL filters read `commits`).
pub fn push_payload(repo_url: &str, revision: &str, files: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "ref": "refs/heads/main",
        "after": revision,
        "repository": {"clone_url": repo_url},
        "commits": [{"id": revision, "added": [], "modified": files, "removed": []}],
    })
}

/// Whether the listener can take a push event on this cluster.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reach {
    /// It serves: its Service has a ready endpoint.
    Serving,
    /// It will not serve here (KWOK nodes run no pods); the reason.
    Never(String),
    /// Not yet: Triggers' controller has not made the Service, or the pod is
    /// not Ready (its readiness probe, `/live` on 8080, passes once the
    /// listener's HTTP server answers). The reason.
    NotYet(String),
}

/// Whether any EndpointSlice of `el-coffee` has a ready endpoint.
fn any_ready<'a>(slices: impl IntoIterator<Item = &'a EndpointSlice>) -> bool {
    slices
        .into_iter()
        .flat_map(|s| s.endpoints.iter())
        .any(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
}

fn service_selector() -> String {
    format!("kubernetes.io/service-name={SERVICE}")
}

/// Whether every node is KWOK's (the test bed), where pods run nothing.
/// Errors: the API server's, listing Nodes.
pub(super) async fn pods_run_nothing(ctx: &LessonCtx) -> Result<bool, Fail> {
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    let list = nodes
        .list(&ListParams::default())
        .await
        .map_err(|e| Fail::new(format!("listing Nodes: {e}")))?;
    // KWOK marks the nodes it fakes with this annotation (kwok v0.8 `kwok.x-k8s.io/node: fake`).
    Ok(!list.items.is_empty()
        && list.items.iter().all(|n| {
            n.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key("kwok.x-k8s.io/node"))
        }))
}

pub(super) async fn reach(ctx: &LessonCtx) -> Result<Reach, Fail> {
    if pods_run_nothing(ctx).await? {
        return Ok(Reach::Never("this cluster's nodes are KWOK's (the test bed): pods run nothing, so no EventListener serves and no PipelineRun step would run".into()));
    }
    let svc: Api<Service> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    if svc
        .get_opt(SERVICE)
        .await
        .map_err(|e| Fail::new(format!("reading Service {NAMESPACE}/{SERVICE}: {e}")))?
        .is_none()
    {
        return Ok(Reach::NotYet(format!("Service {NAMESPACE}/{SERVICE} does not exist yet: Tekton Triggers' controller has not made the EventListener's Deployment and Service")));
    }
    let slices: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    let list = slices
        .list(&ListParams::default().labels(&service_selector()))
        .await
        .map_err(|e| Fail::new(format!("listing EndpointSlices of {SERVICE}: {e}")))?;
    Ok(if any_ready(&list.items) {
        Reach::Serving
    } else {
        Reach::NotYet(format!(
            "Service {NAMESPACE}/{SERVICE} has no ready endpoint yet: the EventListener's pod is not Ready"
        ))
    })
}

/// Waits until an EndpointSlice of `el-coffee` has a ready endpoint: a
/// kube-runtime reflector on the namespace's EndpointSlices labelled
/// `kubernetes.io/service-name=el-coffee` (the label the EndpointSlice
/// controller sets). Returns how long it waited.
///
/// Errors: the lesson's deadline (`--timeout`), naming the listener's pods;
/// cancelled.
pub(super) async fn wait_serving(ctx: &LessonCtx) -> Result<Duration, Fail> {
    let started = Instant::now();
    let deadline = started + ctx.timeout;
    let slices: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    let cfg = watcher::Config::default().labels(&service_selector());
    let (store, writer) = reflector::store();
    let mut events = reflector(writer, watcher(slices, cfg).default_backoff()).boxed();
    loop {
        let next = tokio::select! {
            _ = ctx.cancel.cancelled() => return Err(Fail::interrupted()),
            n = tokio::time::timeout_at(deadline, events.next()) => n,
        };
        match next {
            Err(_) => break,
            Ok(None) => return Err(Fail::new("the EndpointSlice watch ended".to_string())),
            // A failed list or watch is retried by the watcher's backoff.
            Ok(Some(Err(_))) => {}
            Ok(Some(Ok(_))) => {
                if any_ready(store.state().iter().map(|s| s.as_ref())) {
                    return Ok(started.elapsed());
                }
            }
        }
    }
    // What the pods say, for the reason.
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    let states = match pods
        .list(&ListParams::default().labels(&format!("eventlistener={LISTENER}")))
        .await
    {
        Ok(l) if l.items.is_empty() => "no pod labelled eventlistener=coffee".to_string(),
        Ok(l) => l
            .items
            .iter()
            .map(|p| {
                let name = p.metadata.name.clone().unwrap_or_default();
                let phase = p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
                let waiting = p
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_ref())
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
                    .collect::<Vec<_>>()
                    .join(", ");
                if p.metadata.deletion_timestamp.is_some() {
                    format!("pod {name} terminating")
                } else if waiting.is_empty() {
                    format!("pod {name} {phase}, not Ready")
                } else {
                    format!("pod {name} {phase} ({waiting})")
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        Err(e) => format!("listing its pods: {e}"),
    };
    Err(Fail::new(format!(
        "the EventListener's Service {NAMESPACE}/{SERVICE} had no ready endpoint within {}: {states}",
        humantime::format_duration(ctx.timeout)
    ))
    .object(format!("EventListener {NAMESPACE}/{LISTENER}"))
    .hint(format!(
        "look at `kubectl -n {NAMESPACE} describe pods -l eventlistener={LISTENER}`, or pass a longer --timeout"
    )))
}

/// POSTs a payload to the listener through the API server's service proxy;
/// returns the `eventID` of its answer.
async fn send(ctx: &LessonCtx, payload: &serde_json::Value) -> Result<String, Fail> {
    let uri = format!("/api/v1/namespaces/{NAMESPACE}/services/{SERVICE}:http-listener/proxy/");
    let req = http::Request::post(&uri)
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", "push")
        .body(serde_json::to_vec(payload).unwrap_or_default())
        .map_err(|e| Fail::new(format!("building the request: {e}")))?;
    let answer: serde_json::Value = ctx.client.request(req).await.map_err(|e| {
        Fail::new(format!("sending the push event through {uri}: {e}"))
            .object(format!("EventListener {NAMESPACE}/{LISTENER}"))
    })?;
    answer["eventID"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Fail::new(format!("the listener's answer has no eventID: {answer}")))
}

/// The PipelineRuns one event started: (trigger, MODULE_PATH, name).
async fn runs_for(ctx: &LessonCtx, event_id: &str) -> Result<Vec<(String, String, String)>, Fail> {
    tokio::select! {
        _ = ctx.cancel.cancelled() => return Err(Fail::interrupted()),
        _ = tokio::time::sleep(SETTLE) => {}
    }
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), NAMESPACE, &pipelinerun_resource());
    let list = api
        .list(&ListParams::default().labels(&format!("triggers.tekton.dev/triggers-eventid={event_id}")))
        .await
        .map_err(|e| Fail::new(format!("listing PipelineRuns in {NAMESPACE}: {e}")))?;
    Ok(list
        .items
        .iter()
        .map(|o| {
            let trigger = o
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("triggers.tekton.dev/trigger"))
                .cloned()
                .unwrap_or_default();
            let module = o.data["spec"]["params"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == "MODULE_PATH"))
                .and_then(|p| p["value"].as_str())
                .unwrap_or_default()
                .to_string();
            (trigger, module, o.metadata.name.clone().unwrap_or_default())
        })
        .collect())
}

/// A Tekton object's `Succeeded` condition: (status, reason, message).
pub(super) fn succeeded(o: &DynamicObject) -> Option<(String, String, String)> {
    let c = o.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Succeeded")?;
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    Some((s("status"), s("reason"), s("message")))
}

/// Watches PipelineRun `name` (a `metadata.name` field selector; kube's
/// watcher lists, watches and resumes with its default backoff) until its
/// `Succeeded` condition is `True` or `False` (Tekton v1
/// `status.conditions`, `Unknown` while it runs). Returns the run as it
/// ended and the seconds waited.
///
/// Errors: not ended within the lesson's `--timeout` (naming the run and
/// how to look at it), or interrupted.
pub(super) async fn wait_ended(ctx: &LessonCtx, name: &str) -> Result<(DynamicObject, f64), Fail> {
    let object = format!("PipelineRun {NAMESPACE}/{name}");
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), NAMESPACE, &pipelinerun_resource());
    let start = Instant::now();
    let by_name = format!("metadata.name={name}");
    let mut runs = watcher(api, watcher::Config::default().fields(&by_name))
        .default_backoff()
        .applied_objects()
        .filter_map(|r| async move {
            r.inspect_err(|e| tracing::debug!(error = %e, "watching a PipelineRun"))
                .ok()
        })
        .filter(|o| std::future::ready(succeeded(o).is_some_and(|(st, _, _)| st == "True" || st == "False")))
        .boxed();
    let ended = runs.next();
    tokio::select! {
        _ = ctx.cancel.cancelled() => Err(Fail::interrupted()),
        r = tokio::time::timeout(ctx.timeout, ended) => match r {
            Ok(Some(run)) => Ok((run, start.elapsed().as_secs_f64())),
            _ => Err(Fail::new(format!(
                "{object} still running after {}",
                humantime::format_duration(ctx.timeout)
            ))
            .object(object)
            .hint(format!(
                "look at `kubectl -n {NAMESPACE} describe pipelinerun {name}` (`kindops status` shows its steps), or pass a longer --timeout"
            ))),
        },
    }
}

/// Waits until PipelineRun `name` has ended ([`wait_ended`]) and checks the
/// outcome, not the start: the run and each of its TaskRuns
/// (`status.childReferences`) must be `Succeeded=True`. Returns the
/// seconds it took. A failed run is the lesson's failure, with Tekton's
/// reason and message (which names the failed step).
pub(super) async fn wait_succeeded(ctx: &LessonCtx, name: &str) -> Result<f64, Fail> {
    let object = format!("PipelineRun {NAMESPACE}/{name}");
    let (run, secs) = wait_ended(ctx, name).await?;
    let (st, reason, message) = succeeded(&run).unwrap_or_default();
    if st != "True" {
        return Err(Fail::new(format!("{object} failed: {reason}: {message}"))
            .object(object)
            .hint(format!(
                "its steps' logs: `kubectl -n {NAMESPACE} logs -l tekton.dev/pipelineRun={name} --all-containers`"
            )));
    }
    let tasks: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), NAMESPACE, &taskrun_resource());
    let children = run.data["status"]["childReferences"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if children.is_empty() {
        return Err(Fail::new(format!("{object} succeeded with no TaskRun")).object(object));
    }
    for child in children {
        let tr = child["name"].as_str().unwrap_or_default();
        let o = tasks
            .get(tr)
            .await
            .map_err(|e| Fail::new(format!("reading TaskRun {NAMESPACE}/{tr}: {e}")))?;
        match succeeded(&o) {
            Some((st, _, _)) if st == "True" => {
                ctx.note(format!("TaskRun {tr}: Succeeded"));
            }
            other => {
                return Err(
                    Fail::new(format!("TaskRun {NAMESPACE}/{tr} did not succeed: {other:?}"))
                        .object(format!("TaskRun {NAMESPACE}/{tr}")),
                )
            }
        }
    }
    Ok(secs)
}

/// The URL task pods clone from: the in-cluster git server for kindops's
/// built-in git source (the `file://` path the repo-server reads exists only
/// in the repo-server pod), else the repository's own URL.
fn clone_url(repo_url: &str) -> &str {
    if repo_url.starts_with(&format!("file://{}", crate::gitsource::IN_CLUSTER_GIT_DIR)) {
        crate::ci::IN_CLUSTER_CLONE_URL
    } else {
        repo_url
    }
}

pub async fn run(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain("The EventListener coffee has one Trigger per module (cart, order); each Trigger's CEL filter passes a push only if one of its commits added, modified or removed a file under that module's path. A pass starts the one shared Pipeline clone-build with MODULE_PATH set.").await?;
    let el: Api<DynamicObject> = Api::namespaced_with(
        ctx.client.clone(),
        NAMESPACE,
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("triggers.tekton.dev", "v1beta1", "EventListener"),
            "eventlisteners",
        ),
    );
    let object = format!("EventListener {NAMESPACE}/{LISTENER}");
    if el
        .get_opt(LISTENER)
        .await
        .map_err(|e| Fail::new(format!("reading {object}: {e}")))?
        .is_none()
    {
        return Err(Fail::new(format!("{object} does not exist"))
            .object(object)
            .hint("the lessons start after phase 4: run `kindops up` first"));
    }
    match reach(ctx).await? {
        Reach::Serving => {}
        Reach::Never(why) => {
            ctx.note(format!(
                "What this lesson cannot show here: {why}. On a real cluster it sends {object} a push event touching products/coffee/cart/ through the API server's service proxy and shows exactly one PipelineRun start, for cart (MODULE_PATH products/coffee/cart), none for order; then a push touching neither module, and no PipelineRun."
            ));
            return Ok(Ended::Skipped(format!("needs a real cluster: {why}")));
        }
        // Right after `kindops up` the listener may still be starting: Argo CD
        // reports coffee-ci Healthy once the EventListener object exists (it
        // has no health check for Triggers' kinds), before its pod is Ready.
        Reach::NotYet(why) => {
            ctx.note(format!(
                "{why}; waiting for it to serve (at most {})",
                humantime::format_duration(ctx.timeout)
            ));
            let waited = wait_serving(ctx).await?;
            ctx.note(format!(
                "the EventListener's pod is Ready: Service {NAMESPACE}/{SERVICE} serves (after {:.1} s)",
                waited.as_secs_f64()
            ));
        }
    }
    let revision = ctx.repo_head_or_main().await;
    ctx.explain("kindops sends a push event whose commit modified products/coffee/cart/main.go. Expected: exactly one PipelineRun, for cart, none for order.").await?;
    let url = clone_url(&ctx.repo.repo_url).to_string();
    let cart_event = send(ctx, &push_payload(&url, &revision, &["products/coffee/cart/main.go"])).await?;
    ctx.changed(
        format!("push event sent (eventID {cart_event}): products/coffee/cart/main.go modified"),
        None,
        Some(object.clone()),
    );
    let runs = runs_for(ctx, &cart_event).await?;
    for (t, m, n) in &runs {
        ctx.note(format!("PipelineRun {n} started by trigger {t}, MODULE_PATH {m}"));
    }
    let started: Vec<(&str, &str)> = runs.iter().map(|(t, m, _)| (t.as_str(), m.as_str())).collect();
    if started != vec![("cart", "products/coffee/cart")] {
        return Err(Fail::new(format!("expected one PipelineRun for cart, saw {runs:?}")).object(object));
    }
    ctx.explain("The run clones the commit, tests cart, builds and pushes its image and writes the new tag back to git: the lesson waits for its outcome (Succeeded), not only its start.").await?;
    let secs = wait_succeeded(ctx, &runs[0].2).await?;
    ctx.note(format!("PipelineRun {} Succeeded after {secs:.1} s", runs[0].2));
    ctx.explain("kindops sends a push event touching neither module (README.md). Expected: no PipelineRun.")
        .await?;
    let none_event = send(ctx, &push_payload(&url, &revision, &["README.md"])).await?;
    ctx.changed(
        format!("push event sent (eventID {none_event}): README.md modified"),
        None,
        Some(object.clone()),
    );
    let runs = runs_for(ctx, &none_event).await?;
    if !runs.is_empty() {
        return Err(Fail::new(format!("expected no PipelineRun, saw {runs:?}")).object(object));
    }
    ctx.note("No PipelineRun for a push outside the modules' paths.");
    ctx.left_changed.push(format!(
        "a PipelineRun for cart in namespace {NAMESPACE} (Tekton keeps finished runs)"
    ));
    Ok(Ended::Passed)
}

/// Deletes the PipelineRuns lesson 4 started (those of the coffee listener).
pub async fn undo(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain(format!(
        "kindops deletes the PipelineRuns the EventListener coffee started in {NAMESPACE}."
    ))
    .await?;
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), NAMESPACE, &pipelinerun_resource());
    let lp = ListParams::default().labels(&format!("triggers.tekton.dev/eventlistener={LISTENER}"));
    match api.delete_collection(&Default::default(), &lp).await {
        Ok(_) => ctx.note("deleted"),
        Err(kube::Error::Api(s)) if s.code == 404 => ctx.note("nothing to undo: no PipelineRun API here"),
        Err(e) => return Err(Fail::new(format!("deleting PipelineRuns in {NAMESPACE}: {e}"))),
    }
    Ok(Ended::Undone)
}

impl LessonCtx {
    /// The git source's `main` as the lesson's clone has it (the revision a
    /// push event names), or `main` when it cannot be read.
    async fn repo_head_or_main(&self) -> String {
        match self.repo.prepare(&self.cancel).await {
            Ok(()) => self.repo_head().await.unwrap_or_else(|_| "main".into()),
            Err(_) => "main".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIGGER: &str = include_str!("../../manifests/gitops/ci/coffee/trigger.yaml");

    /// The payload carries what the TriggerBinding and the CEL filters read,
    /// and the listener asks for no signature (CEL interceptors only).
    #[test]
    fn the_payload_fits_the_trigger_manifest() {
        let p = push_payload("file:///g.git", "abc", &["products/coffee/cart/main.go"]);
        let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(TRIGGER)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        let binding = docs.iter().find(|d| d["kind"] == "TriggerBinding").unwrap();
        for param in binding["spec"]["params"].as_sequence().unwrap() {
            let v = param["value"].as_str().unwrap();
            let path = v.trim_start_matches("$(body.").trim_end_matches(')');
            let got = path.split('.').fold(&p, |cur, k| &cur[k]);
            assert!(got.is_string(), "the payload has body.{path}: {p}");
        }
        let el = docs.iter().find(|d| d["kind"] == "EventListener").unwrap();
        assert_eq!(el["metadata"]["name"], LISTENER);
        for t in el["spec"]["triggers"].as_sequence().unwrap() {
            for i in t["interceptors"].as_sequence().unwrap() {
                assert_eq!(
                    i["ref"]["name"], "cel",
                    "a signing interceptor would need a secret: {t:?}"
                );
            }
            let filter = t["interceptors"][0]["params"][0]["value"].as_str().unwrap();
            let name = t["name"].as_str().unwrap();
            assert!(filter.contains(&format!("'products/coffee/{name}/'")), "{filter}");
        }
        assert_eq!(p["commits"][0]["modified"][0], "products/coffee/cart/main.go");
    }
}
