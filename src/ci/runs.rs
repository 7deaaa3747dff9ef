//! The coffee CI's PipelineRuns as `kindops status` shows them: one line per
//! run (module, commit, state, duration) and its steps (state, exit code,
//! seconds), read from Tekton v1's `PipelineRun` and `TaskRun` status
//! (`status.conditions[type=Succeeded]`: `Unknown` while running, `True`,
//! `False`; `status.steps[].terminated.exitCode`, `startedAt`,
//! `finishedAt`; `status.results[]`), tektoncd/pipeline v1.15.0
//! `pkg/apis/pipeline/v1`.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::Client;
use serde::Serialize;

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepSummary {
    pub name: String,
    /// `running`, `succeeded`, `failed`, `skipped` (Tekton marks steps after
    /// a failed one as terminated with reason `Error`, never started:
    /// `startedAt` equal to `finishedAt` with no output) or `waiting`.
    pub state: String,
    pub exit_code: Option<i64>,
    pub seconds: Option<i64>,
}

/// One PipelineRun of the coffee CI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub name: String,
    /// `MODULE_PATH`, e.g. `products/coffee/cart`.
    pub module: String,
    /// `REVISION`: the pushed commit.
    pub revision: String,
    /// `Running`, `Succeeded` or `Failed` (the `Succeeded` condition).
    pub state: String,
    /// Tekton's reason and message when it did not succeed.
    pub message: String,
    pub started_at: String,
    /// From start to completion (or to now's last read, while running), seconds.
    pub seconds: Option<i64>,
    /// The `failed-tests` result of a run whose tests failed.
    pub failed_tests: String,
    /// The pushed image (`image` result), once built.
    pub image: String,
    pub steps: Vec<StepSummary>,
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("tekton.dev", "v1", kind), plural)
}

fn ts(v: &serde_json::Value) -> Option<std::time::SystemTime> {
    v.as_str().and_then(|s| humantime::parse_rfc3339(s).ok())
}

fn secs(a: &serde_json::Value, b: &serde_json::Value) -> Option<i64> {
    Some(ts(b)?.duration_since(ts(a)?).ok()?.as_secs() as i64)
}

fn result(status: &serde_json::Value, name: &str) -> String {
    status["results"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == name))
        .and_then(|r| r["value"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// A run from its PipelineRun and its TaskRuns (matched by the label
/// `tekton.dev/pipelineRun`).
pub fn summarize(pr: &DynamicObject, taskruns: &[DynamicObject]) -> RunSummary {
    let name = pr.metadata.name.clone().unwrap_or_default();
    let param = |n: &str| {
        pr.data["spec"]["params"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == n))
            .and_then(|p| p["value"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let st = &pr.data["status"];
    let cond = st["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Succeeded"));
    let state = match cond.and_then(|c| c["status"].as_str()) {
        Some("True") => "Succeeded",
        Some("False") => "Failed",
        _ => "Running",
    }
    .to_string();
    let message = match (state.as_str(), cond) {
        ("Failed", Some(c)) => format!(
            "{}: {}",
            c["reason"].as_str().unwrap_or_default(),
            c["message"].as_str().unwrap_or_default()
        ),
        _ => String::new(),
    };
    let mut failed_tests = String::new();
    let mut image = result(st, "image");
    let mut steps = vec![];
    for tr in taskruns
        .iter()
        .filter(|t| t.metadata.labels.as_ref().and_then(|l| l.get("tekton.dev/pipelineRun")) == Some(&name))
    {
        let ts_ = &tr.data["status"];
        if failed_tests.is_empty() {
            failed_tests = result(ts_, "failed-tests");
        }
        if image.is_empty() {
            image = result(ts_, "image");
        }
        let mut failed_before = false;
        for s in ts_["steps"].as_array().into_iter().flatten() {
            let term = &s["terminated"];
            let (state, code, seconds) = if term.is_object() {
                let code = term["exitCode"].as_i64();
                let state = match code {
                    Some(0) => "succeeded",
                    _ if failed_before => "skipped",
                    _ => {
                        failed_before = true;
                        "failed"
                    }
                };
                (state, code, secs(&term["startedAt"], &term["finishedAt"]))
            } else if s["running"].is_object() {
                ("running", None, None)
            } else {
                ("waiting", None, None)
            };
            steps.push(StepSummary {
                name: s["name"].as_str().unwrap_or_default().to_string(),
                state: state.to_string(),
                exit_code: code,
                seconds,
            });
        }
    }
    RunSummary {
        module: param("MODULE_PATH"),
        revision: param("REVISION"),
        state,
        message,
        started_at: st["startTime"].as_str().unwrap_or_default().to_string(),
        seconds: secs(&st["startTime"], &st["completionTime"]),
        failed_tests,
        image,
        steps,
        name,
    }
}

/// The coffee CI's PipelineRuns, oldest first; a cluster without Tekton's
/// CRDs gives none.
///
/// Errors: the API server's.
pub async fn list(client: &Client) -> anyhow::Result<Vec<RunSummary>> {
    let prs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        super::NAMESPACE,
        &resource("PipelineRun", "pipelineruns"),
    );
    let trs: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), super::NAMESPACE, &resource("TaskRun", "taskruns"));
    let prs = match prs.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(vec![]),
        Err(e) => return Err(e.into()),
    };
    let trs = match trs.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(kube::Error::Api(s)) if s.code == 404 => vec![],
        Err(e) => return Err(e.into()),
    };
    let mut out: Vec<RunSummary> = prs.iter().map(|p| summarize(p, &trs)).collect();
    out.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.name.cmp(&b.name)));
    Ok(out)
}

impl RunSummary {
    /// `clone ✓ 1s, test ✗ (exit 1), build skipped, ...`
    pub fn steps_line(&self) -> String {
        self.steps
            .iter()
            .map(|s| match (s.state.as_str(), s.seconds, s.exit_code) {
                ("succeeded", Some(t), _) => format!("{} ✓ {t}s", s.name),
                ("failed", _, Some(c)) => format!("{} ✗ (exit {c})", s.name),
                (st, _, _) => format!("{} {st}", s.name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: serde_json::Value) -> DynamicObject {
        serde_json::from_value(v).unwrap()
    }

    /// A run whose tests failed, as Tekton v1.15.0 wrote it on the lane.
    #[test]
    fn a_failed_run_names_its_failed_step_and_test() {
        let pr = obj(serde_json::json!({
            "apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
            "metadata": {"name": "clone-build-4ls24"},
            "spec": {"params": [
                {"name": "MODULE_PATH", "value": "products/coffee/cart"},
                {"name": "REVISION", "value": "abc"}]},
            "status": {
                "startTime": "2026-12-06T23:06:00Z", "completionTime": "2026-12-06T23:06:25Z",
                "conditions": [{"type": "Succeeded", "status": "False", "reason": "Failed",
                    "message": "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0"}]}
        }));
        let tr = obj(serde_json::json!({
            "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
            "metadata": {"name": "clone-build-4ls24-ci", "labels": {"tekton.dev/pipelineRun": "clone-build-4ls24"}},
            "status": {
                "results": [{"name": "failed-tests", "type": "string", "value": "TestLearnerBrokeThis"}],
                "steps": [
                    {"name": "clone", "terminated": {"exitCode": 0, "startedAt": "2026-12-06T23:06:10Z", "finishedAt": "2026-12-06T23:06:11Z"}},
                    {"name": "test", "terminated": {"exitCode": 1, "startedAt": "2026-12-06T23:06:11Z", "finishedAt": "2026-12-06T23:06:14Z"}},
                    {"name": "build", "terminated": {"exitCode": 1, "startedAt": "2026-12-06T23:06:14Z", "finishedAt": "2026-12-06T23:06:14Z"}},
                    {"name": "write-back", "terminated": {"exitCode": 1, "startedAt": "2026-12-06T23:06:14Z", "finishedAt": "2026-12-06T23:06:14Z"}}]}
        }));
        let other = obj(serde_json::json!({
            "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
            "metadata": {"name": "x", "labels": {"tekton.dev/pipelineRun": "another"}},
            "status": {"steps": [{"name": "clone", "running": {}}]}
        }));
        let s = summarize(&pr, &[tr, other]);
        assert_eq!(s.state, "Failed");
        assert_eq!(s.module, "products/coffee/cart");
        assert_eq!(s.seconds, Some(25));
        assert_eq!(s.failed_tests, "TestLearnerBrokeThis");
        assert_eq!(
            s.steps_line(),
            "clone ✓ 1s, test ✗ (exit 1), build skipped, write-back skipped"
        );
        assert!(s.message.contains("Failed: 1"), "{}", s.message);
    }

    #[test]
    fn a_run_without_status_is_running() {
        let pr = obj(serde_json::json!({
            "apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
            "metadata": {"name": "r"}, "spec": {}
        }));
        let s = summarize(&pr, &[]);
        assert_eq!((s.state.as_str(), s.seconds, s.steps.len()), ("Running", None, 0));
    }
}
