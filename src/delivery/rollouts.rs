//! Argo Rollouts `Rollout`s as the CD side of the loop shows them: the
//! canary step, its weight, the stable and the new image.
//!
//! Field names are Argo Rollouts v1.9.1's `argoproj.io/v1alpha1` API
//! (`pkg/apis/rollouts/v1alpha1/types.go`: `status.currentStepIndex`,
//! `status.phase`, `status.message`, `status.stableRS`,
//! `status.currentPodHash`, `status.abort`, replica counts;
//! `spec.strategy.canary.steps[]`). Step and weight are computed as
//! `kubectl argo rollouts get rollout` does
//! (`pkg/kubectl-argo-rollouts/info/rollout_info.go`: `Step` is
//! `currentStepIndex/len(steps)`; `SetWeight` from
//! `utils/replicaset/canary.go` `GetCurrentSetWeight`: 0 when aborted, 100
//! past the last step, else the last `setWeight` at or before the current
//! step).

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde::{Deserialize, Serialize};

/// `argoproj.io/v1alpha1` `Rollout`, plural `rollouts`.
pub fn rollout_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"), "rollouts")
}

/// The label Argo Rollouts puts on each ReplicaSet it makes, whose value
/// `status.stableRS` and `status.currentPodHash` name
/// (`v1alpha1.DefaultRolloutUniqueLabelKey`).
pub const POD_HASH_LABEL: &str = "rollouts-pod-template-hash";

/// One Rollout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutSummary {
    pub namespace: String,
    pub name: String,
    /// `Healthy`, `Progressing`, `Paused`, `Degraded` (`status.phase`).
    pub phase: String,
    pub message: String,
    /// The canary step it is at, and how many there are (`None`: no steps yet).
    pub step: Option<(i32, usize)>,
    /// The canary's weight the current step sets, in percent.
    pub set_weight: i32,
    /// Aborted: the new version was rolled back (`status.abort`).
    pub aborted: bool,
    /// The image the Rollout's spec names (the new version while a canary runs).
    pub image: String,
    /// The stable version's image, when it differs from `image` (filled from
    /// its ReplicaSet by [`with_stable_images`]).
    pub stable_image: Option<String>,
    pub replicas: i32,
    pub updated: i32,
    pub available: i32,
    #[serde(skip)]
    pub stable_hash: String,
    #[serde(skip)]
    pub current_hash: String,
}

impl RolloutSummary {
    /// `2/3` for a table, or `-`.
    pub fn step_text(&self) -> String {
        self.step.map(|(i, n)| format!("{i}/{n}")).unwrap_or_else(|| "-".into())
    }

    /// The new version is still rolling out (its ReplicaSet is not the stable one).
    pub fn in_progress(&self) -> bool {
        !self.current_hash.is_empty() && !self.stable_hash.is_empty() && self.current_hash != self.stable_hash
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Step {
    set_weight: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Container {
    image: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Doc {
    spec: Spec,
    status: Status,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Spec {
    strategy: Strategy,
    template: Template,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Strategy {
    canary: Option<Canary>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Canary {
    steps: Vec<Step>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Template {
    spec: PodSpec,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PodSpec {
    containers: Vec<Container>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Status {
    current_step_index: Option<i32>,
    phase: String,
    message: String,
    #[serde(rename = "stableRS")]
    stable_rs: String,
    current_pod_hash: String,
    abort: bool,
    replicas: i32,
    updated_replicas: i32,
    available_replicas: i32,
}

/// `GetCurrentSetWeight` (see the module's note).
fn set_weight(steps: &[Step], index: Option<i32>, aborted: bool) -> i32 {
    if aborted {
        return 0;
    }
    let i = index.unwrap_or(0).max(0) as usize;
    if steps.is_empty() || i >= steps.len() {
        return 100;
    }
    steps[..=i].iter().rev().find_map(|s| s.set_weight).unwrap_or(0)
}

impl RolloutSummary {
    /// Reads an `argoproj.io/v1alpha1` Rollout.
    pub fn from_object(obj: &DynamicObject) -> Self {
        let d: Doc = serde_json::from_value(obj.data.clone()).unwrap_or_default();
        let steps = d.spec.strategy.canary.map(|c| c.steps).unwrap_or_default();
        let s = d.status;
        RolloutSummary {
            namespace: obj.metadata.namespace.clone().unwrap_or_default(),
            name: obj.metadata.name.clone().unwrap_or_default(),
            phase: s.phase,
            message: s.message,
            step: s
                .current_step_index
                .filter(|_| !steps.is_empty())
                .map(|i| (i, steps.len())),
            set_weight: set_weight(&steps, s.current_step_index, s.abort),
            aborted: s.abort,
            image: d
                .spec
                .template
                .spec
                .containers
                .first()
                .map(|c| c.image.clone())
                .unwrap_or_default(),
            stable_image: None,
            replicas: s.replicas,
            updated: s.updated_replicas,
            available: s.available_replicas,
            stable_hash: s.stable_rs,
            current_hash: s.current_pod_hash,
        }
    }
}

/// Fills each Rollout's `stable_image` from the ReplicaSet whose
/// [`POD_HASH_LABEL`] is its `stableRS`, when that image differs from the
/// Rollout's own.
pub fn with_stable_images(
    mut rollouts: Vec<RolloutSummary>,
    replicasets: &[k8s_openapi::api::apps::v1::ReplicaSet],
) -> Vec<RolloutSummary> {
    for r in &mut rollouts {
        let stable = replicasets.iter().find(|rs| {
            rs.metadata.namespace.as_deref() == Some(r.namespace.as_str())
                && rs
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(POD_HASH_LABEL))
                    .is_some_and(|h| !r.stable_hash.is_empty() && *h == r.stable_hash)
        });
        r.stable_image = stable
            .and_then(|rs| {
                rs.spec
                    .as_ref()?
                    .template
                    .as_ref()?
                    .spec
                    .as_ref()?
                    .containers
                    .first()?
                    .image
                    .clone()
            })
            .filter(|img| *img != r.image);
    }
    rollouts.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    rollouts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(status: serde_json::Value) -> RolloutSummary {
        RolloutSummary::from_object(
            &serde_json::from_value(serde_json::json!({
                "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                "metadata": {"name": "cart-app", "namespace": "coffee"},
                "spec": {
                    "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": "10s"}}]}},
                    "template": {"spec": {"containers": [{"name": "api", "image": "localhost:5001/coffee/cart:bbbbbbb"}]}}
                },
                "status": status
            }))
            .unwrap(),
        )
    }

    #[test]
    fn step_and_weight_as_the_kubectl_plugin_computes_them() {
        let paused = rollout(
            serde_json::json!({"phase": "Paused", "currentStepIndex": 1, "stableRS": "aaa", "currentPodHash": "bbb"}),
        );
        assert_eq!((paused.step_text(), paused.set_weight), ("1/2".to_string(), 50));
        assert!(paused.in_progress());
        let done = rollout(
            serde_json::json!({"phase": "Healthy", "currentStepIndex": 2, "stableRS": "bbb", "currentPodHash": "bbb"}),
        );
        assert_eq!((done.step_text(), done.set_weight), ("2/2".to_string(), 100));
        assert!(!done.in_progress());
        let aborted = rollout(
            serde_json::json!({"phase": "Degraded", "currentStepIndex": 0, "abort": true, "stableRS": "aaa", "currentPodHash": "bbb"}),
        );
        assert_eq!(aborted.set_weight, 0);
        let first = rollout(serde_json::json!({"phase": "Progressing", "currentStepIndex": 0}));
        assert_eq!(first.set_weight, 50);
    }

    #[test]
    fn the_stable_image_comes_from_the_stable_replicaset() {
        let r = rollout(
            serde_json::json!({"phase": "Paused", "currentStepIndex": 1, "stableRS": "aaa", "currentPodHash": "bbb"}),
        );
        let rs: k8s_openapi::api::apps::v1::ReplicaSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "cart-app-aaa", "namespace": "coffee", "labels": {POD_HASH_LABEL: "aaa"}},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "api", "image": "localhost:5001/coffee/cart:aaaaaaa"}]}}}
        }))
        .unwrap();
        let r = with_stable_images(vec![r], &[rs]).remove(0);
        assert_eq!(r.stable_image.as_deref(), Some("localhost:5001/coffee/cart:aaaaaaa"));
    }
}
