//! Why a workload's pods do not start: the first pod-level reason a wait
//! reports while it waits (an image that cannot be pulled, a container that
//! crashes, a pod the scheduler cannot place), so a learner sees it within
//! seconds instead of at the deadline.
//!
//! Read from the pod's own status as the kubelet and the scheduler write it
//! (k8s.io/api core/v1 `PodStatus`): `conditions[type=PodScheduled]`
//! (`status=False`, `reason=Unschedulable`, the scheduler's message), then
//! `initContainerStatuses[].state.waiting` and
//! `containerStatuses[].state.waiting` (`reason` such as `ErrImagePull`,
//! `ImagePullBackOff`, `CrashLoopBackOff`, `CreateContainerConfigError`,
//! with the kubelet's `message`).

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::api::{Api, LogParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::reflector::{self, reflector, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use std::collections::BTreeMap;
use std::time::Duration;

/// What holds one pod back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodProblem {
    /// `namespace/name` of the pod.
    pub pod: String,
    /// The container the reason is about; `None` for a scheduling problem.
    pub container: Option<String>,
    /// `Unschedulable`, `ImagePullBackOff`, `ErrImagePull`, `CrashLoopBackOff`, ...
    pub reason: String,
    /// The scheduler's or kubelet's message (may be empty).
    pub message: String,
    /// The container's restart count (0 for a scheduling problem): a new
    /// crash is a new count, so its log lines are fetched again.
    pub restarts: i32,
}

impl PodProblem {
    /// One line: `pod coffee/cart-5d9 (container api): ImagePullBackOff: Back-off pulling image "..."`.
    pub fn describe(&self) -> String {
        let container = self
            .container
            .as_deref()
            .map(|c| format!(" (container {c})"))
            .unwrap_or_default();
        if self.message.is_empty() {
            format!("pod {}{container}: {}", self.pod, self.reason)
        } else {
            format!("pod {}{container}: {}: {}", self.pod, self.reason, self.message.trim())
        }
    }

    /// Whether the container crashed and its last log lines say why.
    pub fn crashed(&self) -> bool {
        self.reason == "CrashLoopBackOff"
    }

    /// What to do next, by reason.
    pub fn hint(&self) -> String {
        let (ns, name) = self.pod.split_once('/').unwrap_or(("", &self.pod));
        match self.reason.as_str() {
            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull" => format!(
                "the node cannot pull the image: check its name and tag, that the node reaches the registry (a TLS-inspecting proxy or an offline laptop breaks pulls inside the kind node; offline, `kindops up --offline` serves what kindops's caches hold and `kindops up --mirror DIR` preloads images; a cache whose volume is full or damaged answers `blob unknown` or an error: `kindops down --purge` empties the caches, which fill again from the registries), then `kubectl -n {ns} describe pod {name}`"
            ),
            "CrashLoopBackOff" => format!(
                "the container keeps exiting: `kubectl -n {ns} logs {name} --previous{}`",
                self.container.as_deref().map(|c| format!(" -c {c}")).unwrap_or_default()
            ),
            "Unschedulable" => format!(
                "the scheduler cannot place the pod (resources, taints, node selectors): `kubectl -n {ns} describe pod {name}`; a kind cluster gets more room from the container engine's memory and CPU settings"
            ),
            _ => format!("`kubectl -n {ns} describe pod {name}`"),
        }
    }
}

/// Waiting reasons that are part of a normal start, not a problem.
const STARTING: &[&str] = &["ContainerCreating", "PodInitializing"];

/// The first thing holding `pod` back, if any: the scheduler's verdict
/// first, then init containers in order, then containers.
pub fn pod_problem(pod: &Pod) -> Option<PodProblem> {
    let name = format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    );
    let status = pod.status.as_ref()?;
    if let Some(c) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
    {
        return Some(PodProblem {
            pod: name,
            container: None,
            reason: c.reason.clone().unwrap_or_else(|| "Unschedulable".into()),
            message: c.message.clone().unwrap_or_default(),
            restarts: 0,
        });
    }
    let waiting = |c: &ContainerStatus| {
        let w = c.state.as_ref()?.waiting.as_ref()?;
        let reason = w.reason.clone().unwrap_or_default();
        if reason.is_empty() || STARTING.contains(&reason.as_str()) {
            return None;
        }
        Some(PodProblem {
            pod: name.clone(),
            container: Some(c.name.clone()),
            reason,
            message: w.message.clone().unwrap_or_default(),
            restarts: c.restart_count,
        })
    };
    status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .find_map(waiting)
}

/// The first problem among `pods` that `selector` (a workload's
/// `spec.selector`) matches, by pod name. A selector kube cannot read
/// matches nothing.
pub fn first_problem<'a>(
    pods: impl IntoIterator<Item = &'a Pod>,
    selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
) -> Option<PodProblem> {
    let selector: Selector = selector.clone().try_into().ok()?;
    let empty = BTreeMap::new();
    let mut matching: Vec<&Pod> = pods
        .into_iter()
        .filter(|p| selector.matches(p.metadata.labels.as_ref().unwrap_or(&empty)))
        .collect();
    matching.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    matching.into_iter().find_map(pod_problem)
}

/// The last `lines` lines the crashed container wrote before its last exit
/// (`GET .../pods/NAME/log?previous=true&tailLines=N`), joined with ` | `;
/// `None` when the API server gives none within 3 s.
pub async fn last_log_lines(client: &Client, problem: &PodProblem, lines: i64) -> Option<String> {
    let (ns, name) = problem.pod.split_once('/')?;
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let params = LogParams {
        container: problem.container.clone(),
        previous: true,
        tail_lines: Some(lines),
        ..LogParams::default()
    };
    let text = tokio::time::timeout(Duration::from_secs(3), api.logs(name, &params))
        .await
        .ok()?
        .ok()?;
    let joined = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ");
    (!joined.is_empty()).then_some(joined)
}

/// Every Deployment, StatefulSet and Pod of the cluster in kube-runtime
/// reflector stores, kept current by background watches (with
/// kube-runtime's default backoff) for as long as this lives: what a wait
/// for Applications asks about the workloads an Application owns.
pub struct WorkloadPods {
    deployments: Store<Deployment>,
    statefulsets: Store<StatefulSet>,
    pods: Store<Pod>,
    _watches: tokio::task::JoinSet<()>,
}

impl WorkloadPods {
    /// Starts the three watches; the returned receiver gets a `()` each time
    /// a store changed (coalesce them: many may come at once).
    pub fn all(client: &Client) -> (WorkloadPods, tokio::sync::mpsc::UnboundedReceiver<()>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut watches = tokio::task::JoinSet::new();
        let deployments = keep(&mut watches, Api::<Deployment>::all(client.clone()), tx.clone());
        let statefulsets = keep(&mut watches, Api::<StatefulSet>::all(client.clone()), tx.clone());
        let pods = keep(&mut watches, Api::<Pod>::all(client.clone()), tx);
        (
            WorkloadPods {
                deployments,
                statefulsets,
                pods,
                _watches: watches,
            },
            rx,
        )
    }

    /// The first problem of the pods of `kind` (`Deployment` or
    /// `StatefulSet`, by its `spec.selector`; an Argo Rollouts `Rollout`, by
    /// [`of_rollout`]) `namespace/name`; `None` for other kinds, an unknown
    /// workload, or pods with nothing to say.
    pub fn problem(&self, kind: &str, namespace: &str, name: &str) -> Option<PodProblem> {
        let same =
            |m: &kube::api::ObjectMeta| m.namespace.as_deref() == Some(namespace) && m.name.as_deref() == Some(name);
        if kind == "Rollout" {
            let pods = self
                .pods
                .state_filter(|p| p.metadata.namespace.as_deref() == Some(namespace) && of_rollout(p, name));
            let mut pods: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
            pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            return pods.into_iter().find_map(pod_problem);
        }
        let selector = match kind {
            "Deployment" => self
                .deployments
                .find(|d| same(&d.metadata))?
                .spec
                .as_ref()?
                .selector
                .clone(),
            "StatefulSet" => self
                .statefulsets
                .find(|s| same(&s.metadata))?
                .spec
                .as_ref()?
                .selector
                .clone(),
            _ => return None,
        };
        let pods = self
            .pods
            .state_filter(|p| p.metadata.namespace.as_deref() == Some(namespace));
        first_problem(pods.iter().map(|p| p.as_ref()), &selector)
    }
}

/// Whether `pod` belongs to Rollout `rollout` (same namespace assumed): its
/// controller is the ReplicaSet `<rollout>-<hash>` that Argo Rollouts made
/// for the pod template with hash `<hash>`, the pod's
/// `rollouts-pod-template-hash` label (argo-rollouts v1.9.1
/// `rollout/sync.go`: `Name: rollout.Name + "-" + podTemplateSpecHash`).
pub fn of_rollout(pod: &Pod, rollout: &str) -> bool {
    let Some(hash) = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(crate::delivery::rollouts::POD_HASH_LABEL))
    else {
        return false;
    };
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "ReplicaSet" && o.controller == Some(true) && o.name == format!("{rollout}-{hash}"))
}

/// A reflector for `api` driven by a task of `watches`; `changed` gets a
/// `()` per applied event.
fn keep<K>(
    watches: &mut tokio::task::JoinSet<()>,
    api: Api<K>,
    changed: tokio::sync::mpsc::UnboundedSender<()>,
) -> Store<K>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (store, writer) = reflector::store();
    watches.spawn(async move {
        let mut events = std::pin::pin!(reflector(
            writer,
            watcher(api, watcher::Config::default()).default_backoff()
        ));
        while let Some(e) = events.next().await {
            match e {
                Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => {}
                Ok(_) => {
                    if changed.send(()).is_err() {
                        return;
                    }
                }
                Err(e) => tracing::debug!("watch for pod reasons failed (resuming with backoff): {e}"),
            }
        }
    });
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(labels: serde_json::Value, status: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "cart-5d9", "namespace": "coffee", "labels": labels},
            "spec": {"containers": [{"name": "api", "image": "x"}]},
            "status": status,
        }))
        .unwrap()
    }

    fn selector(labels: serde_json::Value) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
        serde_json::from_value(serde_json::json!({ "matchLabels": labels })).unwrap()
    }

    #[test]
    fn a_rollouts_pods_are_those_of_its_replicasets_by_template_hash() {
        let mk = |hash: &str, owner: &str| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "p", "namespace": "coffee",
                  "labels": {"rollouts-pod-template-hash": hash},
                  "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                    "uid": "u", "controller": true}]},
            }))
            .unwrap()
        };
        assert!(of_rollout(&mk("7c9f", "cart-app-7c9f"), "cart-app"));
        assert!(!of_rollout(&mk("7c9f", "cart-app-7c9f"), "cart"), "another Rollout's");
        assert!(!of_rollout(&mk("7c9f", "order-app-7c9f"), "cart-app"));
        assert!(
            !of_rollout(&pod(serde_json::json!({}), serde_json::json!({})), "cart-app"),
            "no hash label, no owner"
        );
    }

    // Status texts as kubelet v1.36 writes them (pkg/kubelet/images/image_manager.go:
    // ErrImagePull, then ImagePullBackOff "Back-off pulling image ...").
    #[test]
    fn an_image_that_cannot_be_pulled_is_named_with_the_kubelets_message() {
        let p = pod(
            serde_json::json!({"app": "cart"}),
            serde_json::json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}],
              "containerStatuses": [{"name": "api", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"example.invalid/cart:v9\": ErrImagePull: failed to resolve reference"}}}]}),
        );
        let problem = first_problem([&p], &selector(serde_json::json!({"app": "cart"}))).expect("a problem");
        assert_eq!(problem.reason, "ImagePullBackOff");
        assert_eq!(
            problem.describe(),
            "pod coffee/cart-5d9 (container api): ImagePullBackOff: Back-off pulling image \"example.invalid/cart:v9\": ErrImagePull: failed to resolve reference"
        );
        assert!(problem.hint().contains("cannot pull the image"), "{}", problem.hint());
        assert_eq!(
            first_problem([&p], &selector(serde_json::json!({"app": "order"}))),
            None
        );
    }

    #[test]
    fn scheduling_comes_first_and_a_normal_start_is_no_problem() {
        let unschedulable = pod(
            serde_json::json!({"app": "cart"}),
            serde_json::json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
              "message": "0/1 nodes are available: 1 Insufficient memory."}]}),
        );
        let p = pod_problem(&unschedulable).expect("a problem");
        assert_eq!((p.reason.as_str(), p.container.as_deref()), ("Unschedulable", None));
        assert!(p
            .describe()
            .ends_with("Unschedulable: 0/1 nodes are available: 1 Insufficient memory."));
        let starting = pod(
            serde_json::json!({}),
            serde_json::json!({"phase": "Pending", "containerStatuses": [{"name": "api", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
              "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
        );
        assert_eq!(pod_problem(&starting), None);
        let crashing = pod(
            serde_json::json!({}),
            serde_json::json!({"phase": "Running", "containerStatuses": [{"name": "api", "image": "x", "imageID": "", "ready": false, "restartCount": 3,
              "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=api pod=cart-5d9_coffee(1)"}}}]}),
        );
        let c = pod_problem(&crashing).expect("a problem");
        assert!(c.crashed() && c.restarts == 3, "{c:?}");
        assert!(c.hint().contains("logs cart-5d9 --previous -c api"), "{}", c.hint());
    }
}
