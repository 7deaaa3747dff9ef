//! A fixture of the CI → CD loop's state, as Tekton v1.15.0 and Argo
//! Rollouts v1.9.1 write their objects (the TUI's snapshots draw it).

/// The CI → CD loop mid-way, as Tekton v1.15.0 and Argo Rollouts v1.9.1
/// write their objects: cart's newest run failed in `test` (with its log
/// lines), the run before it succeeded; order's runs; cart's Rollout paused
/// at 50 % with the stable version beside it, order's Healthy.
pub fn delivery() -> super::Delivery {
    use crate::delivery::pipeline_runs::{join, PipelineRunSummary, TaskRunSummary};
    use crate::delivery::rollouts::{with_stable_images, RolloutSummary};
    let obj = |v: serde_json::Value| -> kube::api::DynamicObject { serde_json::from_value(v).unwrap() };
    let step = |name: &str, code: i32, from: u32, to: u32| {
        serde_json::json!({"name": name, "container": format!("step-{name}"),
            "terminated": {"exitCode": code, "startedAt": format!("2026-12-06T10:00:{from:02}Z"), "finishedAt": format!("2026-12-06T10:00:{to:02}Z")}})
    };
    let run = |name: &str, module: &str, rev: &str, created: u32, status: &str, reason: &str| {
        PipelineRunSummary::from_object(&obj(serde_json::json!({
            "metadata": {"name": name, "namespace": "coffee-ci", "creationTimestamp": format!("2026-12-06T10:{created:02}:00Z")},
            "spec": {"params": [{"name": "MODULE_PATH", "value": format!("products/coffee/{module}")}, {"name": "REVISION", "value": rev}]},
            "status": {"startTime": "2026-12-06T10:00:00Z",
                "completionTime": (status != "Unknown").then_some("2026-12-06T10:00:41Z"),
                "conditions": [{"type": "Succeeded", "status": status, "reason": reason}],
                "childReferences": [{"kind": "TaskRun", "name": format!("{name}-ci"), "pipelineTaskName": "ci"}]}
        })))
    };
    let task = |name: &str, status: &str, steps: Vec<serde_json::Value>| {
        TaskRunSummary::from_object(&obj(serde_json::json!({
            "metadata": {"name": format!("{name}-ci"), "namespace": "coffee-ci", "labels": {"tekton.dev/pipelineTask": "ci"}},
            "status": {"podName": format!("{name}-ci-pod"), "conditions": [{"type": "Succeeded", "status": status}], "steps": steps}
        })))
    };
    let mut tasks = std::collections::BTreeMap::new();
    for t in [
        task(
            "coffee-cart-9k2",
            "False",
            vec![
                step("clone", 0, 1, 2),
                step("test", 1, 2, 19),
                serde_json::json!({"name": "image"}),
            ],
        ),
        task(
            "coffee-cart-4xq",
            "True",
            vec![
                step("clone", 0, 1, 2),
                step("test", 0, 2, 17),
                step("image", 0, 17, 33),
                step("write-back", 0, 33, 35),
            ],
        ),
        task(
            "coffee-order-7hd",
            "Unknown",
            vec![
                step("clone", 0, 1, 2),
                serde_json::json!({"name": "test", "running": {"startedAt": "2026-12-06T10:00:02Z"}}),
            ],
        ),
    ] {
        let mut t = t;
        if t.name == "coffee-cart-9k2-ci" {
            t.results
                .insert("failed-tests".into(), "TestVersionAnswersWithTheCommit".into());
        }
        tasks.insert(("coffee-ci".to_string(), t.name.clone()), t);
    }
    let runs = join(
        vec![
            run("coffee-cart-4xq", "cart", "a1b2c3d4e5f6", 1, "True", "Succeeded"),
            run("coffee-cart-9k2", "cart", "9f8e7d6c5b4a", 3, "False", "Failed"),
            run("coffee-order-7hd", "order", "77aa88bb99cc", 4, "Unknown", "Running"),
        ],
        &tasks,
    );
    let rollout = |name: &str, image: &str, status: serde_json::Value| {
        RolloutSummary::from_object(&obj(serde_json::json!({
            "metadata": {"name": name, "namespace": "coffee"},
            "spec": {"strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": "10s"}}]}},
                "template": {"spec": {"containers": [{"name": "api", "image": image}]}}},
            "status": status
        })))
    };
    let stable: k8s_openapi::api::apps::v1::ReplicaSet = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "cart-app-5d9", "namespace": "coffee", "labels": {"rollouts-pod-template-hash": "5d9"}},
        "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "api", "image": "localhost:5001/coffee/cart:7c41e0a"}]}}}
    }))
    .unwrap();
    let rollouts = with_stable_images(
        vec![
            rollout(
                "cart-app",
                "localhost:5001/coffee/cart:a1b2c3d",
                serde_json::json!({"phase": "Paused", "currentStepIndex": 1, "stableRS": "5d9", "currentPodHash": "6f7",
                    "replicas": 2, "availableReplicas": 2, "message": "CanaryPauseStep"}),
            ),
            rollout(
                "order-app",
                "localhost:5001/coffee/order:0be1f2a",
                serde_json::json!({"phase": "Healthy", "currentStepIndex": 2, "stableRS": "8c1", "currentPodHash": "8c1",
                    "replicas": 1, "availableReplicas": 1}),
            ),
        ],
        &[stable],
    );
    let mut failed_step_logs = std::collections::BTreeMap::new();
    failed_step_logs.insert(
        "coffee-cart-9k2".to_string(),
        vec![
            "--- FAIL: TestVersionAnswersWithTheCommit (0.00s)".to_string(),
            "    main_test.go:21: got \"dev\", want \"9f8e7d6\"".to_string(),
            "FAIL".to_string(),
        ],
    );
    crate::delivery::Delivery {
        pipeline_runs: runs,
        rollouts,
        failed_step_logs,
    }
}
