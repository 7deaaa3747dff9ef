//! Unit tests of `pipeline_runs`: Tekton objects as v1.15.0 writes them.

use super::*;

fn obj(v: serde_json::Value) -> DynamicObject {
    serde_json::from_value(v).unwrap()
}

/// A failed run as Tekton v1.15.0 writes it: the test step exited 1.
#[test]
fn a_failed_run_names_its_failing_step_and_exit_code() {
    let pr = PipelineRunSummary::from_object(&obj(serde_json::json!({
        "apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
        "metadata": {"name": "coffee-cart-x", "namespace": "coffee-ci", "creationTimestamp": "2026-12-06T10:00:00Z"},
        "spec": {"params": [{"name": "MODULE_PATH", "value": "products/coffee/cart"}, {"name": "REVISION", "value": "0123456789abcdef"}]},
        "status": {
            "startTime": "2026-12-06T10:00:01Z", "completionTime": "2026-12-06T10:00:31Z",
            "conditions": [{"type": "Succeeded", "status": "False", "reason": "Failed", "message": "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0"}],
            "childReferences": [{"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "name": "coffee-cart-x-ci", "pipelineTaskName": "ci"}]
        }
    })));
    assert_eq!(
        (pr.module_name(), pr.short_revision(), pr.state),
        ("cart", "0123456", RunState::Failed)
    );
    assert_eq!(pr.seconds, Some(30.0));
    let tr = TaskRunSummary::from_object(&obj(serde_json::json!({
        "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
        "metadata": {"name": "coffee-cart-x-ci", "namespace": "coffee-ci", "labels": {"tekton.dev/pipelineRun": "coffee-cart-x", "tekton.dev/pipelineTask": "ci"}},
        "status": {
            "podName": "coffee-cart-x-ci-pod",
            "conditions": [{"type": "Succeeded", "status": "False", "reason": "Failed", "message": "\"step-test\" exited with code 1"}],
            "steps": [
                {"name": "clone", "container": "step-clone", "terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2026-12-06T10:00:02Z", "finishedAt": "2026-12-06T10:00:04Z"}},
                {"name": "test", "container": "step-test", "terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-12-06T10:00:04Z", "finishedAt": "2026-12-06T10:00:30Z"}},
                {"name": "image", "container": "step-image", "terminated": {"exitCode": 1, "reason": "Error"}}
            ],
            "results": [{"name": "failed-tests", "type": "string", "value": "TestVersion,TestReady"}]
        }
    })));
    let mut by_name = std::collections::BTreeMap::new();
    by_name.insert(("coffee-ci".to_string(), tr.name.clone()), tr);
    let pr = join(vec![pr], &by_name).remove(0);
    let (task, step) = pr.failure().unwrap();
    assert_eq!(
        (task.task.as_str(), step.name.as_str(), step.exit_code),
        ("ci", "test", Some(1))
    );
    assert_eq!(task.pod.as_deref(), Some("coffee-cart-x-ci-pod"));
    assert_eq!(task.steps[0].seconds, Some(2.0));
    assert_eq!(
        task.steps[2].state,
        RunState::Skipped,
        "a step after the failed one never ran"
    );
    assert_eq!(pr.failed_tests, "TestVersion,TestReady");
    assert!(
        pr.next_step(&[])
            .is_some_and(|n| n.starts_with("fix the failing test in products/coffee/cart")),
        "{:?}",
        pr.next_step(&[])
    );
    // A module with no tests: the test step's result says so.
    let mut untested = pr.clone();
    untested.failed_tests = NO_TESTS.into();
    assert!(
        untested.next_step(&[]).is_some_and(|n| n
            == "products/coffee/cart has no tests (*_test.go): CI builds only tested code; add a test and push again"),
        "{:?}",
        untested.next_step(&[])
    );
    // The same run failing in its build step because the registry is gone
    // (ko's words when the container's name no longer resolves).
    let mut build = pr.clone();
    build.failed_tests.clear();
    assert_eq!(build.next_step(&["2026/12/07 05:00:00 pushed nothing".into()]), None);
    let said = "Error: error creating publisher: Get \"http://kindops-registry:5000/v2/\": dial tcp: lookup kindops-registry on 10.96.0.10:53: no such host";
    assert!(
        build
            .next_step(&[said.into()])
            .is_some_and(|n| n.contains("`kindops up --phase 0` starts it again")),
        "{:?}",
        build.next_step(&[said.into()])
    );
}

/// A step image the node does not have and cannot pull: Tekton v1.15.0
/// fails the TaskRun with `TaskRunImagePullFailed` on `ImagePullBackOff`
/// and marks every step terminated with exit code 1 (`failTaskRun`,
/// `terminateStepsInPod`); the images are in `status.taskSpec`.
#[test]
fn a_step_image_not_pulled_is_named_with_the_way_to_load_it() {
    let tr = TaskRunSummary::from_object(&obj(serde_json::json!({
        "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
        "metadata": {"name": "coffee-cart-y-ci", "namespace": "coffee-ci", "labels": {"tekton.dev/pipelineRun": "coffee-cart-y", "tekton.dev/pipelineTask": "ci"}},
        "status": {
            "podName": "coffee-cart-y-ci-pod",
            "conditions": [{"type": "Succeeded", "status": "False", "reason": "TaskRunImagePullFailed",
                // As the real-kind lane's road test saw it (2026-12-07), the
                // lookup's addresses shortened.
                "message": "the step \"test\" in TaskRun \"coffee-cart-y-ci\" failed to pull the image \"\". The pod errored with the message: \"Back-off pulling image \"ghcr.io/ko-build/ko:v0.19.1\": ErrImagePull: failed to pull and unpack image \"ghcr.io/ko-build/ko:v0.19.1\": failed to resolve reference \"ghcr.io/ko-build/ko:v0.19.1\": failed to do request: Head \"https://ghcr.io/v2/ko-build/ko/manifests/v0.19.1\": dial tcp: lookup ghcr.io: i/o timeout.\""}],
            "steps": [
                {"name": "clone", "container": "step-clone", "terminated": {"exitCode": 1, "reason": "TaskRunImagePullFailed", "startedAt": "2026-12-07T10:00:00Z", "finishedAt": "2026-12-07T10:00:09Z"}},
                {"name": "test", "container": "step-test", "terminated": {"exitCode": 1, "reason": "TaskRunImagePullFailed", "startedAt": "2026-12-07T10:00:00Z", "finishedAt": "2026-12-07T10:00:09Z"}}
            ],
            "taskSpec": {
                "stepTemplate": {"image": "ghcr.io/ko-build/ko:v0.19.1"},
                "steps": [{"name": "clone", "script": "git clone"}, {"name": "test", "image": "golang:1.25", "script": "go test"}]
            }
        }
    })));
    assert_eq!(
        (tr.steps[0].image.as_str(), tr.steps[1].image.as_str()),
        ("ghcr.io/ko-build/ko:v0.19.1", "golang:1.25"),
        "a step's own image, else the step template's"
    );
    assert_eq!(tr.image_not_pulled().as_deref(), Some("ghcr.io/ko-build/ko:v0.19.1"));
    // Without the spec, the kubelet's words name the image.
    let mut bare = tr.clone();
    bare.steps[0].image.clear();
    assert_eq!(bare.image_not_pulled().as_deref(), Some("ghcr.io/ko-build/ko:v0.19.1"));
    let mut pr = PipelineRunSummary::from_object(&obj(serde_json::json!({
        "apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
        "metadata": {"name": "coffee-cart-y", "namespace": "coffee-ci"},
        "spec": {"params": [{"name": "MODULE_PATH", "value": "products/coffee/cart"}]},
        "status": {"conditions": [{"type": "Succeeded", "status": "False", "reason": "Failed"}]}
    })));
    pr.task_runs = vec![tr];
    let next = pr.next_step(&[]).unwrap_or_default();
    assert!(
        next.starts_with("the node does not have ghcr.io/ko-build/ko:v0.19.1 and could not pull it")
            && next.contains("`kindops up --phase 0 --mirror DIR`"),
        "{next}"
    );
    // Any other failure is not read as a pull failure.
    let mut other = pr.task_runs[0].clone();
    other.reason = "Failed".into();
    assert_eq!(other.image_not_pulled(), None);
}

#[test]
fn states_follow_the_succeeded_condition() {
    for (status, reason, want) in [
        ("True", "Succeeded", RunState::Succeeded),
        ("False", "Failed", RunState::Failed),
        ("False", "PipelineRunTimeout", RunState::Failed),
        ("False", "Cancelled", RunState::Cancelled),
        ("Unknown", "Running", RunState::Running),
        ("Unknown", "PipelineRunPending", RunState::Pending),
        ("False", "StoppedRunningFinally", RunState::Cancelled),
    ] {
        assert_eq!(RunState::from_condition(status, reason), want, "{status} {reason}");
    }
}
