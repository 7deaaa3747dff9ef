//! `kindops` end to end: the real binary against the real test bed (API
//! server, controller-manager, scheduler, KWOK), a real Docker engine and a
//! real `kind`, all inside loopback-only network namespaces: the phases
//! applied and re-run, a manifest the API server rejects, Ctrl-C, a wait
//! that times out. Bad input is in `cli_input.rs`, the mirror and downloads
//! in `cli_mirror.rs`.

use crate::support;

use std::process::Command;

use support::bed::{show, stdout, Bed};
use support::kindops::Kindops;

/// Phase 1 on a real API server: Argo CD and Tekton applied (server-side,
/// field manager kindops) and Available; a second run changes nothing.
#[test]
fn phase_1_installs_argocd_and_tekton_and_rerun_changes_nothing() {
    let bed = Bed::private("phase1", false);
    let args = ["--phase", "1", "--timeout", "4m"];
    let first = Kindops::up(&bed).args(args).run();
    let text = first.assert_code(0).stdout();
    assert!(text.contains("==> phase 1: done"), "{text}");
    assert!(text.contains("13 workloads Available"), "{text}");

    // What the API server now has, read with kubectl.
    for d in [
        "argocd-server",
        "argocd-repo-server",
        "argocd-applicationset-controller",
        "argocd-redis",
    ] {
        let out = bed.kubectl(&[
            "-n",
            "argocd",
            "get",
            "deployment",
            d,
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Available\")].status}",
        ]);
        assert_eq!(stdout(&out), "True", "{d}: {}", show(&out));
    }
    let sts = bed.kubectl(&[
        "-n",
        "argocd",
        "get",
        "statefulset",
        "argocd-application-controller",
        "-o",
        "jsonpath={.status.readyReplicas}",
    ]);
    assert_eq!(stdout(&sts), "1", "{}", show(&sts));
    // No dex: platform/argo-cd leaves SSO's server out (nothing configures
    // SSO), and the admin login is argocd-server's own.
    let dex = bed.kubectl(&["-n", "argocd", "get", "deployment,service,serviceaccount", "-o", "name"]);
    assert!(dex.status.success(), "{}", show(&dex));
    assert!(!stdout(&dex).contains("argocd-dex-server"), "{}", show(&dex));
    for d in [
        "tekton-pipelines-controller",
        "tekton-pipelines-webhook",
        "tekton-triggers-controller",
        "tekton-triggers-core-interceptors",
    ] {
        let out = bed.kubectl(&[
            "-n",
            "tekton-pipelines",
            "get",
            "deployment",
            d,
            "-o",
            "jsonpath={.status.availableReplicas}",
        ]);
        assert_eq!(stdout(&out), "1", "{d}: {}", show(&out));
    }
    // Our patches are in (argocd-cm), and kindops is the field manager.
    let cm = bed.kubectl(&[
        "-n",
        "argocd",
        "get",
        "cm",
        "argocd-cm",
        "-o",
        "json",
        "--show-managed-fields",
    ]);
    let cm: serde_json::Value = serde_json::from_slice(&cm.stdout).expect("argocd-cm json");
    assert!(cm["data"]["kustomize.buildOptions"]
        .as_str()
        .unwrap()
        .contains("--enable-helm"));
    assert!(cm["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["manager"] == "kindops" && m["operation"] == "Apply"));
    // Progress is recorded in the cluster.
    let state = bed.kubectl(&[
        "-n",
        "kube-system",
        "get",
        "cm",
        "kindops-state",
        "-o",
        "jsonpath={.data.phase-1}",
    ]);
    assert!(stdout(&state).contains("finished_at"), "{}", show(&state));

    let second = Kindops::up(&bed).args(args).run();
    let text = second.assert_code(0).stdout();
    assert!(
        text.contains("55 objects (3 CRDs), 0 changed"),
        "argo-cd re-apply changed something:\n{second}"
    );
    assert!(
        text.contains("126 objects (15 CRDs), 0 changed"),
        "tekton re-apply changed something:\n{second}"
    );
    assert!(
        text.contains("25 objects (25 CRDs), 0 changed") && text.contains("5 objects (5 CRDs), 0 changed"),
        "the add-ons' CRDs (External Secrets, Argo Rollouts) re-apply changed something:\n{second}"
    );
    assert!(!text.contains("FAILED"), "{text}");

    // kindops skips re-sending a CRD it applied with the same configuration
    // (digest in an annotation) only while no one else has written it: one
    // edited by another field manager is applied again and taken back.
    let crd = "applications.argoproj.io";
    let digest = bed.kubectl_ok(&[
        "get",
        "crd",
        crd,
        "-o",
        "jsonpath={.metadata.annotations.kindops\\.io/applied-config-sha256}",
    ]);
    assert_eq!(digest.trim().len(), 64, "no applied-config digest on {crd}: {digest:?}");
    bed.kubectl_ok(&[
        "patch",
        "crd",
        crd,
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"names":{"shortNames":["edited"]}}}"#,
    ]);
    let third = Kindops::up(&bed).args(args).run();
    let text = third.assert_code(0).stdout();
    assert!(
        text.contains("55 objects (3 CRDs), 1 changed"),
        "the edited CRD was not applied again:\n{third}"
    );
    let names = bed.kubectl_ok(&["get", "crd", crd, "-o", "jsonpath={.spec.names.shortNames}"]);
    assert_eq!(names.trim(), r#"["app","apps"]"#, "the edit was not taken back");

    // JSON output: one event object per line with the documented fields.
    let json = Kindops::up(&bed).args(args).args(["--output", "json"]).run();
    let mut finished = 0;
    for line in json.assert_code(0).stdout().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        for k in ["phase", "step", "status", "elapsed_ms", "message"] {
            assert!(v.get(k).is_some(), "{k} missing in {line}");
        }
        if v["event"] == "step_finished" {
            finished += 1;
        }
    }
    assert_eq!(finished, 4 + 7, "phase 0 has 4 steps and phase 1 has 7");
}

/// A manifest the API server rejects: a ValidatingAdmissionPolicy (a real
/// admission check of the real API server) denies argocd-cm; kindops fails
/// naming the object and carrying the API's message.
#[test]
fn manifest_rejected_by_the_api_server_names_the_object() {
    let bed = Bed::private("reject", false);
    let policy = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-argocd-cm}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["configmaps"]
  validations:
  - expression: "object.metadata.name != 'argocd-cm'"
    message: "argocd-cm is frozen by policy no-argocd-cm"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-argocd-cm}
spec:
  policyName: no-argocd-cm
  validationActions: [Deny]
"#;
    let f = bed.home.path().join("policy.yaml");
    std::fs::write(&f, policy).unwrap();
    let out = bed.kubectl(&["apply", "-f", f.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    // The policy takes effect once the API server has loaded it.
    support::wait_for("the policy to deny", std::time::Duration::from_secs(30), || {
        let o = bed.kubectl(&["-n", "default", "create", "configmap", "argocd-cm", "--dry-run=server"]);
        (!o.status.success()).then_some(())
    });
    let text = Kindops::up(&bed).args(["--phase", "1"]).run().assert_code(1).stdout();
    assert!(text.contains("object: ConfigMap argocd/argocd-cm"), "{text}");
    assert!(text.contains("argocd-cm is frozen by policy no-argocd-cm"), "{text}");
    assert!(text.contains("next:"), "{text}");
}

/// Phase 0 with a real Docker engine and a real kind binary: preflight passes,
/// `kind create cluster` fails here (no node image can be pulled in a
/// loopback-only namespace) and kindops says so and leaves nothing behind.
#[test]
fn phase_0_with_real_docker_and_kind_fails_clearly_and_leaves_nothing() {
    let bed = Bed::private("kind", false);
    let started = support::bed::script("docker.sh", &bed.name, &["start"]);
    assert!(started.status.success(), "docker.sh start: {}", show(&started));
    let sock = format!("unix://{}", bed.dir.join("docker/docker.sock").display());
    let path = format!(
        "{}:{}",
        support::repo_root().join("tests/testbed/bin").display(),
        std::env::var("PATH").unwrap()
    );
    let kubeconfig = bed.home.path().join("kind.kubeconfig");
    let kc = kubeconfig.display().to_string();
    let phase_0 = || {
        Kindops::new()
            .args(["up", "--phase", "0", "--no-tui", "--cluster", "kotest"])
            .mirror()
            .env("DOCKER_HOST", &sock)
            .env("PATH", &path)
            .env("KUBECONFIG", &kc)
            .in_bed(&bed)
            .run()
    };
    let out = phase_0();
    let text = out.assert_code(1).stdout();
    assert!(
        text.contains("ok      docker    Docker engine"),
        "preflight should pass: {text}"
    );
    assert!(text.contains("ok      kind"), "{text}");
    assert!(text.contains("object: kind cluster kotest"), "{text}");
    assert!(text.contains("`kind create cluster` failed"), "{text}");
    assert!(text.contains("the partial cluster was deleted"), "{text}");
    assert!(text.contains("node image"), "the hint names the node image: {text}");
    assert!(text.contains("| "), "kind's own output is shown: {text}");
    // Nothing left: no kind cluster, no container.
    let ps = bed
        .command("docker", &[("DOCKER_HOST", &sock)])
        .args(["ps", "-aq"])
        .output()
        .unwrap();
    assert!(
        ps.status.success() && stdout(&ps).trim().is_empty(),
        "containers left: {}",
        show(&ps)
    );

    // No DOCKER_HOST: the engine is found as the docker CLI finds it, through
    // the current docker context (Colima, Rancher Desktop, rootless Docker...).
    let docker_config = bed.home.path().join("docker-config");
    let cfg = docker_config.display().to_string();
    for args in [
        vec![
            "--config",
            &cfg,
            "context",
            "create",
            "kotest",
            "--docker",
            &format!("host={sock}"),
        ],
        vec!["--config", &cfg, "context", "use", "kotest"],
    ] {
        let out = Command::new("docker").args(&args).output().unwrap();
        assert!(out.status.success(), "docker {args:?}: {}", show(&out));
    }
    let out = Kindops::new()
        .arg("doctor")
        .env("DOCKER_CONFIG", &cfg)
        .env("PATH", &path)
        .in_bed(&bed)
        .run();
    let text = out.stdout();
    assert!(
        text.contains("ok      docker    Docker engine") && text.contains("(context kotest)"),
        "the docker context's endpoint: {out}"
    );

    // Docker stopped: preflight names it and says what to do.
    let _ = support::bed::script("docker.sh", &bed.name, &["stop"]);
    let text = phase_0().assert_code(1).stdout();
    assert!(text.contains("object: docker"), "{text}");
    assert!(text.contains("start Docker"), "{text}");
}

/// Ctrl-C mid-phase: exit 130, children gone, and a re-run converges.
/// Runs against the shared test bed from this process's own namespace, so the
/// signal goes straight to kindops.
#[test]
fn interrupt_exits_130_and_rerun_converges() {
    use std::io::BufRead;
    let bed = Bed::shared();
    let spawn = || {
        Kindops::up(&bed)
            .args(["--phase", "1"])
            .command()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = spawn();
    let out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(out).lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("-> apply platform/argo-cd") {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            )
            .unwrap();
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{}", seen.join("\n"));
    let text = seen.join("\n");
    assert!(
        text.contains("kindops: interrupted; run `kindops up` again to resume"),
        "{text}"
    );

    let out = spawn().wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(stdout(&out).contains("==> phase 1: done"), "{}", show(&out));
}

/// A wait that cannot finish names the stuck object, its condition, its pods'
/// reason (here the scheduler's) and what to look at, within the deadline.
#[test]
fn rollout_timeout_names_the_stuck_deployment() {
    let bed = Bed::private("stuck", false);
    let stuck = r#"
apiVersion: v1
kind: Namespace
metadata: {name: argocd}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck, namespace: argocd}
spec:
  replicas: 1
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      nodeSelector: {no-such-node: "true"}
      containers: [{name: c, image: example.invalid/none:1}]
"#;
    let f = bed.home.path().join("stuck.yaml");
    std::fs::write(&f, stuck).unwrap();
    bed.kubectl_ok(&["apply", "-f", f.to_str().unwrap()]);
    let t = std::time::Instant::now();
    let out = Kindops::up(&bed).args(["--phase", "1", "--timeout", "20s"]).run();
    out.assert_code(1);
    assert!(t.elapsed() < std::time::Duration::from_secs(90), "{:?}", t.elapsed());
    let text = out.stdout();
    assert!(text.contains("object: Deployment argocd/stuck"), "{text}");
    assert!(text.contains("not Available within 20s"), "{text}");
    assert!(text.contains("kubectl -n argocd describe deployment stuck"), "{text}");
    // The pods' own reason, from the real kube-scheduler's PodScheduled
    // condition: shown while the wait waits (a progress line before the
    // failure), then in the failure, with the next step for that reason.
    let lines: Vec<&str> = text.lines().collect();
    let shown = lines
        .iter()
        .position(|l| {
            l.trim_start().starts_with("..") && l.contains("pod argocd/stuck-") && l.contains("Unschedulable")
        })
        .unwrap_or_else(|| panic!("no progress line naming the pod's reason:\n{text}"));
    let failed = lines
        .iter()
        .position(|l| l.contains("FAILED"))
        .unwrap_or_else(|| panic!("no failed step:\n{text}"));
    assert!(shown < failed, "the reason came only with the failure:\n{text}");
    assert!(text.contains("didn't match Pod's node affinity/selector"), "{text}");
    assert!(text.contains("next:   the scheduler cannot place the pod"), "{text}");
}

/// `just up` is a learner's command (README quick start): it must install
/// nothing and need no root (no apt-get, no `deps`), on Linux as on macOS.
/// Read with `just` itself (`--dump --dump-format json`).
#[test]
fn just_up_installs_nothing_and_needs_no_root() {
    let out = Command::new("just")
        .args(["--dump", "--dump-format", "json"])
        .current_dir(support::repo_root())
        .output()
        .expect("just (installed by .ci/deps.sh)");
    assert!(out.status.success(), "{}", show(&out));
    let dump: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let up = &dump["recipes"]["up"];
    assert_eq!(
        up["dependencies"],
        serde_json::json!([]),
        "`just up` must not depend on other recipes"
    );
    let body = up["body"].to_string();
    for word in ["apt-get", "deps.sh", "sudo", "go install"] {
        assert!(!body.contains(word), "`just up` runs {word}: {body}");
    }
}

/// `--kubeconfig FILE`, kubectl's flag, is read instead of `$KUBECONFIG`:
/// with `$KUBECONFIG` naming a file that does not exist, `status --context`
/// fails naming the kubeconfig it could not read; with the flag naming the
/// bed's kubeconfig it reads the cluster.
#[test]
fn the_kubeconfig_flag_is_read_instead_of_the_environment() {
    let bed = Bed::shared();
    let missing = bed.home.path().join("no-such-kubeconfig");
    let without = Kindops::new()
        .in_bed(&bed)
        .env("KUBECONFIG", &missing)
        .args(["status", "--context", support::kindops::CONTEXT])
        .run();
    assert_ne!(without.code(), Some(0), "{}", without.stdout());
    assert!(
        without.stderr().contains("cannot read the kubeconfig"),
        "{}",
        without.stderr()
    );
    let with = Kindops::new()
        .in_bed(&bed)
        .env("KUBECONFIG", &missing)
        .args(["status", "--context", support::kindops::CONTEXT, "--kubeconfig"])
        .arg(&bed.kubeconfig)
        .run();
    with.assert_code(0);
    assert!(with.stdout().contains(support::kindops::CONTEXT), "{}", with.stdout());
}
