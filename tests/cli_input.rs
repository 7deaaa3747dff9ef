//! `kindops` end to end: the real binary against the real test bed (API
//! server, controller-manager, scheduler, KWOK), a real Docker engine and a
//! real `kind`, all inside loopback-only network namespaces.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::bed::{mirror, show, stdout, Bed};
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
    assert!(text.contains("14 workloads Available"), "{text}");

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
        text.contains("61 objects (3 CRDs), 0 changed"),
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
    assert_eq!(finished, 3 + 7, "phase 0 has 3 steps and phase 1 has 7");
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

fn phases_copy(dir: &Path) -> PathBuf {
    let p = dir.join("phases");
    std::fs::create_dir_all(&p).unwrap();
    for n in 0..=4 {
        let f = format!("phase-{n}.yaml");
        std::fs::copy(support::repo_root().join("phases").join(&f), p.join(&f)).unwrap();
    }
    p
}

#[test]
fn malformed_phase_yaml_is_bad_input_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = phases_copy(dir.path());
    std::fs::write(
        p.join("phase-2.yaml"),
        "phase: 2\ntitle: x\nexplain: y\nsteps:\n  - type: publish-repo\n  - type: sleep\n    seconds: 5\n",
    )
    .unwrap();
    let out = Kindops::new()
        .args(["up", "--no-tui", "--phases"])
        .arg(&p)
        .args(["--context", "x", "--repo-url", "file:///tmp/x"])
        .run();
    let err = out.assert_code(2).stderr();
    let file = p.join("phase-2.yaml").display().to_string();
    assert!(err.contains(&format!("{file}:6:")), "{err}");
    assert!(err.contains("sleep"), "{err}");
    // Nothing was touched: not even phase 0 started.
    assert!(out.stdout().is_empty(), "{out}");
}

#[test]
fn unknown_phase_number_is_bad_input() {
    let out = Kindops::new().args(["up", "--phase", "9", "--no-tui"]).run();
    assert!(
        out.assert_code(2)
            .stderr()
            .contains("there is no phase 9; phases are 0 to 4"),
        "{out}"
    );
}

#[test]
fn checksum_mismatch_stops_before_anything_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    // A mirror whose Argo CD manifest is not the pinned one.
    let src = std::path::PathBuf::from(mirror());
    let m = dir.path().join("mirror");
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            let to = m.join(e.file_name());
            std::fs::create_dir_all(&to).unwrap();
            for f in std::fs::read_dir(e.path()).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
        }
    }
    let argo = m.join("argo-cd/install-v3.5.1.yaml");
    let mut text = std::fs::read_to_string(&argo).unwrap();
    text.push_str("\n# tampered\n");
    std::fs::write(&argo, text).unwrap();
    let bed = Bed::shared();
    let text = Kindops::new()
        .args(["up", "--phase", "1", "--no-tui"])
        .context()
        .arg("--mirror")
        .arg(&m)
        .args(["--repo-url", "file:///tmp/never"])
        .in_bed(&bed)
        .run()
        .assert_code(1)
        .stdout();
    assert!(text.contains("checksum mismatch for argo-cd v3.5.1"), "{text}");
    assert!(
        text.contains("795a3a972224da6a7f9d32c3e946445f062b60fb46028476715affeb688236e3"),
        "expected hash: {text}"
    );
    let actual = kindops::upstream::sha256_file(&argo).unwrap();
    assert!(text.contains(&actual), "actual hash {actual}: {text}");
    assert!(text.contains(argo.to_str().unwrap()), "names the file: {text}");
    assert!(!text.contains("-> apply"), "nothing may be applied: {text}");
}

#[test]
fn unreachable_api_server_names_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\ncontexts:\n- name: gone\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {token: t}\ncurrent-context: gone\n",
    )
    .unwrap();
    let up = |context: &str| {
        Kindops::new()
            .args(["up", "--phase", "1", "--no-tui", "--context", context])
            .mirror()
            .args(["--repo-url", "file:///tmp/never"])
            .env("KUBECONFIG", &kc)
            .run()
    };
    // Bad input (exit 2), found before anything runs (issue 13).
    let text = up("gone").assert_code(2).stderr();
    assert!(
        text.contains("--context gone: the API server of context gone"),
        "{text}"
    );
    assert!(text.contains("https://127.0.0.1:1"), "{text}");
    assert!(text.contains("does not answer"), "{text}");
    // An unknown context is bad input, before anything runs; the message
    // lists the ones there are.
    let out = up("nope");
    assert!(
        out.assert_code(2).stderr().contains(
            "--context nope: the kubeconfig ($KUBECONFIG or ~/.kube/config) has no such context; it has: gone"
        ),
        "{out}"
    );
}

#[test]
fn missing_binary_is_named_with_an_install_hint() {
    // A PATH with git but without kubectl.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(which::which("git").unwrap(), dir.path().join("git")).unwrap();
    let text = Kindops::new()
        .args(["up", "--phase", "0", "--no-tui"])
        .context()
        .mirror()
        .args(["--repo-url", "file:///tmp/never"])
        .env("PATH", dir.path())
        .run()
        .assert_code(1)
        .stdout();
    assert!(text.contains("object: kubectl"), "{text}");
    assert!(text.contains("install kubectl"), "{text}");
}

#[test]
fn with_context_and_no_repo_url_is_bad_input() {
    let out = Kindops::new().args(["up", "--no-tui"]).context().run();
    assert!(out.assert_code(2).stderr().contains("pass --repo-url"), "{out}");
}

#[test]
fn plan_is_offline_and_counts_objects() {
    let text = Kindops::new().arg("plan").mirror().run().assert_code(0).stdout();
    assert!(
        text.contains("apply platform/argo-cd (server-side) — 61 objects"),
        "{text}"
    );
    assert!(text.contains("image quay.io/argoproj/argocd:v3.5.1"), "{text}");
    assert!(
        text.contains("phase 4: Product apps through an ApplicationSet"),
        "{text}"
    );
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

/// A wait that cannot finish names the stuck object, its condition and what to
/// look at, within the deadline.
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
}

#[test]
fn fetch_fills_a_mirror_that_up_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("mirror");
    Kindops::new()
        .args(["fetch", "--into"])
        .arg(&into)
        .mirror()
        .run()
        .assert_code(0);
    for p in kindops::upstream::pins() {
        let f = into.join(&p.name).join(&p.file);
        assert!(f.is_file(), "{} missing", f.display());
        assert_eq!(
            kindops::upstream::sha256_file(&f).unwrap(),
            kindops::upstream::sha256_file(&std::path::Path::new(&mirror()).join(&p.name).join(&p.file)).unwrap()
        );
    }
    // The filled mirror serves `plan` (offline object counts).
    let out = Kindops::new()
        .args(["plan", "--phase", "1", "--mirror"])
        .arg(&into)
        .run();
    assert!(out.stdout().contains("126 objects"), "{out}");
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

/// A mirror (or upstream) that accepts the connection and then sends nothing:
/// the download gives up after its read deadline, naming the URL and the
/// setting, instead of hanging phase 0 (or CI) forever.
#[test]
fn a_stalled_download_fails_naming_the_url_and_its_deadline() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().take(8) {
            held.push(conn); // never answered
        }
        std::thread::sleep(std::time::Duration::from_secs(120));
    });
    let into = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let out = Kindops::new()
        .args(["fetch", "--into"])
        .arg(into.path())
        .args(["--mirror", &base])
        .env("KINDOPS_DOWNLOAD_TIMEOUT", "2s")
        .run();
    let err = out.assert_code(1).stderr();
    assert!(err.contains(&format!("{base}/argo-cd/install-v3.5.1.yaml")), "{err}");
    assert!(
        err.contains("no answer within 2s") && err.contains("KINDOPS_DOWNLOAD_TIMEOUT"),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    // Nothing partial was left in the cache or the mirror.
    assert_eq!(std::fs::read_dir(into.path()).unwrap().count(), 0);
}

/// Large artifacts downloaded from an http(s) mirror report their progress
/// as phase 0's step progress (a line per MiB), here in `--output json`.
#[test]
fn downloads_report_progress_in_phase_0() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
            "--directory",
            &mirror(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let bed = Bed::shared();
    let out = Kindops::new()
        .args(["up", "--phase", "0"])
        .context()
        .args(["--mirror", &base, "--output", "json"])
        .in_bed(&bed)
        .run();
    let _ = server.kill();
    let _ = server.wait();
    let progress: Vec<String> = out
        .assert_code(0)
        .stdout()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "step_progress")
        .filter_map(|v| v["message"].as_str().map(str::to_string))
        .collect();
    assert!(
        progress
            .iter()
            .any(|m| m.starts_with("downloading argo-cd install-v3.5.1.yaml: ") && m.ends_with(" of 1872 KiB")),
        "{progress:?}"
    );
}

/// `--context` without `--repo-url`: phases 0 and 1 publish nothing and run;
/// a run that reaches phase 2 (which publishes) is refused up front (exit 2)
/// naming `--repo-url`, before anything is touched.
#[test]
fn context_needs_a_repo_url_only_for_phases_that_publish() {
    let bed = Bed::shared();
    // Each run on a fresh home.
    let up = |phase: &str| {
        let home = tempfile::tempdir().unwrap();
        Kindops::new()
            .args(["up", "--phase", phase, "--no-tui"])
            .context()
            .mirror()
            .home(home.path())
            .in_bed(&bed)
            .run()
    };
    up("0").assert_code(0);
    let out = up("2");
    assert!(out.assert_code(2).stderr().contains("--repo-url"), "{out}");
}

/// Every flag with a bad value stops before anything runs: exit 2, the flag
/// named in the message, nothing on stdout (no phase started). Type errors
/// come from the CLI parser; meaning errors (a phase that does not exist, a
/// kind cluster name kind refuses, a missing mirror directory, a node image
/// that is not a reference, a context the kubeconfig lacks, a pins file that
/// is not there) from kindops's own checks.
#[test]
fn bad_flag_values_exit_2_naming_the_flag() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: only-one, context: {cluster: c, user: u}}]\n",
    )
    .unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["up", "--phase", "x"], "--phase"),
        (&["up", "--phase", "9"], "phase 9"),
        (&["up", "--timeout", "5parsecs"], "--timeout"),
        (&["up", "--ui-port", "70000"], "--ui-port"),
        (&["up", "--output", "yaml"], "--output"),
        (&["up", "--cluster", "Bad_Name"], "--cluster"),
        (&["up", "--mirror", "/nonexistent/mirror"], "--mirror"),
        (&["up", "--node-image", "::"], "--node-image"),
        (&["up", "--node-image", "kindest/node@sha256:abc"], "--node-image"),
        (&["up", "--context", "no-such-context"], "--context no-such-context"),
        (&["up", "--pins", "/nonexistent/pins.yaml"], "/nonexistent/pins.yaml"),
        (&["status", "--context", "no-such-context"], "only-one"),
        (&["status", "--output", "xml"], "--output"),
        (&["down", "--cluster", "UPPER"], "--cluster"),
        (&["images", "--phase", "7"], "phase 7"),
        (&["fetch", "--into", "/tmp/x", "--phase", "2"], "--images"),
        (&["plan", "--phase", "-1"], "-1"),
    ];
    for (args, named) in cases {
        let run = Kindops::new()
            .args(*args)
            .home(home.path())
            .env("KUBECONFIG", &kubeconfig)
            .run();
        assert_eq!(run.code(), Some(2), "{args:?}: {}\n{}", run.stdout(), run.stderr());
        assert!(
            run.stderr().contains(named),
            "{args:?} does not name {named}: {}",
            run.stderr()
        );
        assert!(run.stdout().is_empty(), "{args:?} printed: {}", run.stdout());
    }
}
