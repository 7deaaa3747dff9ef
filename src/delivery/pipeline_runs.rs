//! Tekton PipelineRuns and their TaskRuns as the CI side of the loop shows
//! them: which module, which commit, each step's state and time.
//!
//! Field names are Tekton Pipelines v1.15.0's `tekton.dev/v1` API
//! (`pkg/apis/pipeline/v1/pipelinerun_types.go`: `status.childReferences[]`
//! with `name` and `pipelineTaskName`, `status.startTime`,
//! `status.completionTime`; `taskrun_types.go`: `status.podName`,
//! `status.steps[]`, a `StepState` being a core `ContainerState` plus
//! `name` and `container`). Both report their outcome in the knative
//! condition `Succeeded` (`True` / `False` / `Unknown`, with a `reason`
//! such as `Running`, `Succeeded`, `Failed`, `Cancelled`,
//! `PipelineRunTimeout`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `tekton.dev/v1` `PipelineRun`, plural `pipelineruns`.
pub fn pipelinerun_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("tekton.dev", "v1", "PipelineRun"),
        "pipelineruns",
    )
}

/// `tekton.dev/v1` `TaskRun`, plural `taskruns`.
pub fn taskrun_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("tekton.dev", "v1", "TaskRun"), "taskruns")
}

/// Where a run (or a step) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Not started yet: no `Succeeded` condition, or reason
    /// `PipelineRunPending`/`TaskRunPending`/`Pending` with no start time.
    Pending,
    Running,
    Succeeded,
    Failed,
    /// Cancelled or stopped by a user (reasons `Cancelled`,
    /// `CancelledRunningFinally`, `StoppedRunningFinally`, `TaskRunCancelled`).
    Cancelled,
    /// A step that never ran because one before it failed (Tekton marks it
    /// terminated with a non-zero exit code all the same).
    Skipped,
}

impl RunState {
    /// From the `Succeeded` condition's status and reason.
    fn from_condition(status: &str, reason: &str) -> Self {
        match (status, reason) {
            ("True", _) => RunState::Succeeded,
            ("False", "Cancelled" | "CancelledRunningFinally" | "StoppedRunningFinally" | "TaskRunCancelled") => {
                RunState::Cancelled
            }
            ("False", _) => RunState::Failed,
            ("Unknown", "Pending" | "PipelineRunPending" | "TaskRunPending") | ("", _) => RunState::Pending,
            _ => RunState::Running,
        }
    }

    /// One word for a table.
    pub fn word(self) -> &'static str {
        match self {
            RunState::Pending => "Pending",
            RunState::Running => "Running",
            RunState::Succeeded => "Succeeded",
            RunState::Failed => "Failed",
            RunState::Cancelled => "Cancelled",
            RunState::Skipped => "Skipped",
        }
    }

    pub fn done(self) -> bool {
        matches!(
            self,
            RunState::Succeeded | RunState::Failed | RunState::Cancelled | RunState::Skipped
        )
    }
}

/// One step of a TaskRun: its container's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepSummary {
    pub name: String,
    pub state: RunState,
    /// The step container's exit code once it terminated.
    pub exit_code: Option<i32>,
    /// Seconds it ran (to now while it runs: `None` then).
    pub seconds: Option<f64>,
    /// The image it runs: its own `image`, else the task's
    /// `stepTemplate.image`, as the TaskRun's `status.taskSpec` holds them
    /// (Tekton v1.15.0 stores the spec with parameters applied there and
    /// merges the step template only when it builds the pod,
    /// `pkg/pod/pod.go` `MergeStepsWithStepTemplate`). Empty if unknown.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image: String,
}

/// One TaskRun of a PipelineRun.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRunSummary {
    pub name: String,
    /// The pipeline task it runs (`tekton.dev/pipelineTask` label).
    pub task: String,
    pub state: RunState,
    pub reason: String,
    pub message: String,
    /// The pod its steps run in (for `kubectl logs`).
    pub pod: Option<String>,
    pub steps: Vec<StepSummary>,
    /// Its `status.results` (name → string value).
    #[serde(skip)]
    pub results: BTreeMap<String, String>,
}

/// The reason Tekton v1.15.0 fails a TaskRun with when a step's image
/// cannot be pulled (`pkg/apis/pipeline/v1/taskrun_types.go`
/// `TaskRunReasonImagePullFailed`; set by the TaskRun reconciler on
/// `ImagePullBackOff` once `default-imagepullbackoff-timeout` has passed, 0
/// by default, then every step is marked terminated with exit code 1).
pub const IMAGE_PULL_FAILED: &str = "TaskRunImagePullFailed";

impl TaskRunSummary {
    /// The first step that failed (non-zero exit code), if any.
    pub fn failed_step(&self) -> Option<&StepSummary> {
        self.steps.iter().find(|s| s.state == RunState::Failed)
    }

    /// The image a step could not pull, when Tekton failed the TaskRun for
    /// it ([`IMAGE_PULL_FAILED`]): the failing step's image, else the one
    /// the kubelet's message names (`Back-off pulling image "REF"`), else
    /// `"its step image"`. `None` for any other failure.
    pub fn image_not_pulled(&self) -> Option<String> {
        if self.reason != IMAGE_PULL_FAILED {
            return None;
        }
        let from_step = self.failed_step().map(|s| s.image.clone()).filter(|i| !i.is_empty());
        let from_message = || {
            let (_, rest) = self.message.split_once("pulling image ")?;
            let rest = rest.trim_start_matches(['\\', '"']);
            let end = rest.find(['\\', '"'])?;
            Some(rest[..end].to_string()).filter(|i| !i.is_empty())
        };
        Some(
            from_step
                .or_else(from_message)
                .unwrap_or_else(|| "its step image".to_string()),
        )
    }
}

/// One PipelineRun: the module and commit it builds, how it stands, its
/// TaskRuns in the order the PipelineRun lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineRunSummary {
    pub namespace: String,
    pub name: String,
    /// The `MODULE_PATH` param (e.g. `products/coffee/cart`).
    pub module: String,
    /// The `REVISION` param: the commit it builds.
    pub revision: String,
    pub state: RunState,
    pub reason: String,
    pub message: String,
    /// When it was created (sorts runs newest first).
    #[serde(skip)]
    pub created: Option<k8s_openapi::jiff::Timestamp>,
    /// Seconds from start to completion (to now while it runs: `None` then).
    pub seconds: Option<f64>,
    pub task_runs: Vec<TaskRunSummary>,
    /// The `failed-tests` result a TaskRun wrote (the coffee pipeline's test
    /// step: go test's `--- FAIL` names), empty when none.
    pub failed_tests: String,
    /// The `image` result: the image the run pushed, empty until then.
    pub image: String,
    /// TaskRun names from `status.childReferences`, with their pipeline task.
    #[serde(skip)]
    pub children: Vec<(String, String)>,
}

impl PipelineRunSummary {
    /// The module's last path segment (`cart`), or the run's name.
    pub fn module_name(&self) -> &str {
        self.module
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.name)
    }

    /// The commit, 7 characters.
    pub fn short_revision(&self) -> &str {
        &self.revision[..self.revision.len().min(7)]
    }

    /// The failing TaskRun and its failing step, if the run failed in one.
    pub fn failure(&self) -> Option<(&TaskRunSummary, &StepSummary)> {
        self.task_runs.iter().find_map(|t| t.failed_step().map(|s| (t, s)))
    }

    /// What to do next about a failed run, from what failed and its
    /// failing step's last log lines (`logs`): a failing test, a step image
    /// the node could not pull ([`TaskRunSummary::image_not_pulled`]), or the
    /// cluster's registry not answering (the step's words name it). `None`
    /// when the run did not fail or kindops has nothing to add to the logs.
    pub fn next_step(&self, logs: &[String]) -> Option<String> {
        if self.state != RunState::Failed {
            return None;
        }
        let module = if self.module.is_empty() {
            "the module"
        } else {
            &self.module
        };
        if self.failed_tests == NO_TESTS {
            return Some(format!(
                "{module} has no tests (*_test.go): CI builds only tested code; add a test and push again"
            ));
        }
        if !self.failed_tests.is_empty() {
            return Some(format!(
                "fix the failing test in {module} and push again; the running version is untouched"
            ));
        }
        let (task, _) = self.failure()?;
        if let Some(image) = task.image_not_pulled() {
            return Some(format!(
                "the node does not have {image} and could not pull it (offline, or its registry unreachable): on a kind cluster `kindops up --phase 0 --mirror DIR` loads the pinned images from DIR (`kindops fetch --images DIR` fills it while online; `kindops images` lists them); then push again"
            ));
        }
        let said = logs.iter().map(String::as_str).chain([task.message.as_str()]);
        if said.into_iter().any(|l| l.contains(REGISTRY_HOST)) {
            return Some(format!(
                "the cluster's registry ({REGISTRY_HOST}, kindops's container) did not answer: `kindops up --phase 0` starts it again; then push again"
            ));
        }
        None
    }
}

/// The `failed-tests` result of a module with no `*_test.go`
/// (`ci/coffee/pipeline.yaml`, step test).
pub const NO_TESTS: &str = "no tests";

/// The host the coffee pipeline pushes to and reads ko's base image from
/// (`ci/coffee/pipeline.yaml` params `REGISTRY`, `BASE_IMAGE`): the
/// registry container's name on the kind network (`registry::CONTAINER`;
/// a unit test there keeps the two equal).
pub const REGISTRY_HOST: &str = "kindops-registry";

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    reason: String,
    message: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Param {
    name: String,
    value: serde_json::Value,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ChildReference {
    kind: String,
    name: String,
    pipeline_task_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RunStatus {
    conditions: Vec<Condition>,
    start_time: Option<Time>,
    completion_time: Option<Time>,
    child_references: Vec<ChildReference>,
    pod_name: String,
    steps: Vec<StepStatus>,
    /// `PipelineRunResult`/`TaskRunResult`: `name`, `value` (a string, or an
    /// array or object for typed results).
    results: Vec<Param>,
    /// A TaskRun's resolved `TaskSpec`: its steps' images.
    task_spec: TaskSpecDoc,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TaskSpecDoc {
    step_template: StepDoc,
    steps: Vec<StepDoc>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StepDoc {
    name: String,
    image: String,
}

impl TaskSpecDoc {
    /// A step's image: its own, else the step template's.
    fn image_of(&self, step: &str) -> String {
        self.steps
            .iter()
            .find(|s| s.name == step)
            .map(|s| s.image.clone())
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| self.step_template.image.clone())
    }
}

fn results(status: &RunStatus) -> BTreeMap<String, String> {
    status
        .results
        .iter()
        .map(|r| {
            // A step that wrote its result with `echo` leaves a newline.
            let v = match &r.value {
                serde_json::Value::String(s) => s.trim_end().to_string(),
                other => other.to_string(),
            };
            (r.name.clone(), v)
        })
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StepStatus {
    name: String,
    running: Option<StartedAt>,
    terminated: Option<Terminated>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StartedAt {
    started_at: Option<Time>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Terminated {
    exit_code: i32,
    started_at: Option<Time>,
    finished_at: Option<Time>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Spec {
    params: Vec<Param>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RunDoc {
    spec: Spec,
    status: RunStatus,
}

fn doc(obj: &DynamicObject) -> RunDoc {
    serde_json::from_value(obj.data.clone()).unwrap_or_default()
}

fn succeeded(status: &RunStatus) -> (RunState, String, String) {
    match status.conditions.iter().find(|c| c.kind == "Succeeded") {
        Some(c) => {
            let mut state = RunState::from_condition(&c.status, &c.reason);
            if state == RunState::Pending && status.start_time.is_some() {
                state = RunState::Running;
            }
            (state, c.reason.clone(), c.message.clone())
        }
        None => (RunState::Pending, String::new(), String::new()),
    }
}

fn seconds(from: Option<&Time>, to: Option<&Time>) -> Option<f64> {
    let (a, b) = (from?, to?);
    Some(b.0.duration_since(a.0).as_secs_f64().max(0.0))
}

fn param(spec: &Spec, name: &str) -> String {
    spec.params
        .iter()
        .find(|p| p.name == name)
        .map(|p| match &p.value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

impl PipelineRunSummary {
    /// Reads a `tekton.dev/v1` PipelineRun; its `task_runs` are filled by
    /// [`join`] from the TaskRuns read apart.
    pub fn from_object(obj: &DynamicObject) -> Self {
        let d = doc(obj);
        let (state, reason, message) = succeeded(&d.status);
        PipelineRunSummary {
            namespace: obj.metadata.namespace.clone().unwrap_or_default(),
            name: obj.metadata.name.clone().unwrap_or_default(),
            module: param(&d.spec, "MODULE_PATH"),
            revision: param(&d.spec, "REVISION"),
            state,
            reason,
            message,
            created: obj.metadata.creation_timestamp.as_ref().map(|t| t.0),
            seconds: seconds(d.status.start_time.as_ref(), d.status.completion_time.as_ref()),
            task_runs: vec![],
            failed_tests: String::new(),
            image: results(&d.status).remove("image").unwrap_or_default(),
            children: d
                .status
                .child_references
                .into_iter()
                .filter(|c| c.kind.is_empty() || c.kind == "TaskRun")
                .map(|c| (c.name, c.pipeline_task_name))
                .collect(),
        }
    }
}

impl TaskRunSummary {
    /// Reads a `tekton.dev/v1` TaskRun.
    pub fn from_object(obj: &DynamicObject) -> Self {
        let d = doc(obj);
        let (state, reason, message) = succeeded(&d.status);
        let labels = obj.metadata.labels.clone().unwrap_or_default();
        let mut failed_before = false;
        let steps = d
            .status
            .steps
            .iter()
            .map(|s| match &s.terminated {
                Some(t) => StepSummary {
                    name: s.name.clone(),
                    state: match t.exit_code {
                        0 => RunState::Succeeded,
                        _ if failed_before => RunState::Skipped,
                        _ => {
                            failed_before = true;
                            RunState::Failed
                        }
                    },
                    exit_code: Some(t.exit_code),
                    seconds: seconds(t.started_at.as_ref(), t.finished_at.as_ref()),
                    image: d.status.task_spec.image_of(&s.name),
                },
                None => StepSummary {
                    name: s.name.clone(),
                    state: if s.running.as_ref().is_some_and(|r| r.started_at.is_some()) {
                        RunState::Running
                    } else {
                        RunState::Pending
                    },
                    exit_code: None,
                    seconds: None,
                    image: d.status.task_spec.image_of(&s.name),
                },
            })
            .collect();
        TaskRunSummary {
            name: obj.metadata.name.clone().unwrap_or_default(),
            task: labels.get("tekton.dev/pipelineTask").cloned().unwrap_or_default(),
            state,
            reason,
            message,
            results: results(&d.status),
            pod: Some(d.status.pod_name).filter(|p| !p.is_empty()),
            steps,
        }
    }

    /// The PipelineRun it belongs to (`tekton.dev/pipelineRun` label).
    pub fn pipeline_run_of(obj: &DynamicObject) -> Option<String> {
        obj.metadata.labels.as_ref()?.get("tekton.dev/pipelineRun").cloned()
    }
}

/// PipelineRuns and TaskRuns as read from the API (any namespaces): the
/// runs, newest first, each with its TaskRuns ([`join`]).
pub fn summarize<'a>(
    runs: impl IntoIterator<Item = &'a DynamicObject>,
    task_runs: impl IntoIterator<Item = &'a DynamicObject>,
) -> Vec<PipelineRunSummary> {
    let by_name: BTreeMap<(String, String), TaskRunSummary> = task_runs
        .into_iter()
        .map(|t| {
            let key = (
                t.metadata.namespace.clone().unwrap_or_default(),
                t.metadata.name.clone().unwrap_or_default(),
            );
            (key, TaskRunSummary::from_object(t))
        })
        .collect();
    join(
        runs.into_iter().map(PipelineRunSummary::from_object).collect(),
        &by_name,
    )
}

/// Fills each run's `task_runs` from `task_runs` (name → summary), in the
/// order of its `childReferences`; newest run first.
pub fn join(
    mut runs: Vec<PipelineRunSummary>,
    task_runs: &std::collections::BTreeMap<(String, String), TaskRunSummary>,
) -> Vec<PipelineRunSummary> {
    for r in &mut runs {
        let tasks: Vec<TaskRunSummary> = r
            .children
            .iter()
            .filter_map(|(name, task)| {
                task_runs
                    .get(&(r.namespace.clone(), name.clone()))
                    .cloned()
                    .map(|mut t| {
                        if t.task.is_empty() {
                            t.task = task.clone();
                        }
                        t
                    })
            })
            .collect();
        for t in &tasks {
            if let Some(v) = t.results.get("failed-tests").filter(|v| !v.is_empty()) {
                r.failed_tests.clone_from(v);
            }
            if r.image.is_empty() {
                if let Some(v) = t.results.get("image") {
                    r.image.clone_from(v);
                }
            }
        }
        r.task_runs = tasks;
    }
    runs.sort_by(|a, b| b.created.cmp(&a.created).then(a.name.cmp(&b.name)));
    runs
}

#[cfg(test)]
#[path = "pipeline_runs_tests.rs"]
mod tests;
