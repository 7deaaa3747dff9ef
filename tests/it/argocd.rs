//! Phases 2–4 against the real Argo CD: the application-controller,
//! applicationset-controller and repo-server of Argo CD v3.5.1 run as host
//! processes beside the test bed's control plane and write every status these
//! tests read. Nothing here writes an Application's status.
//!
//! One scenario, in order, on one private test bed (Argo CD takes ~1 GiB and
//! most of a core; sections share its state): phases 0–1, phases 2–4 with the
//! self-managed Argo CD adopting phase 1's objects, an ApplicationSet directory
//! added and removed, drift and self-heal, a broken manifest, and a sync
//! Argo CD gives up on.
//!
//! The test bed's one impossible status: metrics-server's APIService has no
//! real backend (KWOK pods do not serve), so the API server reports the
//! APIService `Available=False (FailedDiscoveryCheck)` and Argo CD reports the
//! metrics-server Application `Synced` / `Progressing`. The run therefore uses
//! `--phases` with phase 3 waiting for external-secrets and argo-rollouts only,
//! and the test asserts metrics-server's exact status (`support::bed::testbed_phases`).

use crate::support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::bed::{show, stdout, testbed_phases, Bed};
use support::kindops::Kindops;
use support::learner::LearnerClone;

fn up(bed: &Bed, phase: &str, phases: &str, timeout: &str) -> std::process::Output {
    Kindops::up(bed)
        .args(["--phase", phase, "--phases", phases, "--timeout", timeout])
        .run()
        .out
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// `kindops status --output json`'s Applications by name.
fn status_apps(bed: &Bed) -> Vec<Value> {
    let out = Kindops::new()
        .arg("status")
        .context()
        .args(["--output", "json"])
        .in_bed(bed)
        .run()
        .out;
    assert!(out.status.success(), "{}", show(&out));
    json(&stdout(&out))["applications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn app(bed: &Bed, name: &str) -> Option<Value> {
    let out = bed.kubectl(&["-n", "argocd", "get", "application", name, "-o", "json"]);
    out.status.success().then(|| json(&stdout(&out)))
}

fn sync_health(a: &Value) -> (String, String) {
    (
        a["status"]["sync"]["status"].as_str().unwrap_or_default().to_string(),
        a["status"]["health"]["status"].as_str().unwrap_or_default().to_string(),
    )
}

fn uids(bed: &Bed) -> Vec<(String, String)> {
    let out = bed.kubectl_ok(&[
        "-n",
        "argocd",
        "get",
        "deployments,statefulsets,configmaps,services,serviceaccounts",
        "-o",
        "json",
    ]);
    let mut v: Vec<(String, String)> = json(&out)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap()
                ),
                o["metadata"]["uid"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(k, _)| !k.starts_with("ConfigMap/kube-root-ca.crt"))
        .collect();
    v.sort();
    v
}

/// Sets an Application's `spec.syncPolicy.automated` (JSON), or removes it
/// (`None`: no automated sync at all).
fn set_automated(bed: &Bed, app: &str, automated: Option<&str>) {
    let patch = format!(
        r#"{{"spec":{{"syncPolicy":{{"automated":{}}}}}}}"#,
        automated.unwrap_or("null")
    );
    bed.kubectl_ok(&[
        "-n",
        "argocd",
        "patch",
        "application",
        app,
        "--type",
        "merge",
        "-p",
        &patch,
    ]);
}

/// A file as `main` of the bed's git source has it (`None`: absent).
fn on_main(bed: &Bed, rel: &str) -> Option<String> {
    support::git::show_file(&bare(bed), &format!("main:{rel}"))
}

/// Every ref of the bed's git source and the commit it names.
fn git_refs(bed: &Bed) -> String {
    support::git::ok(&bare(bed), &["for-each-ref"])
}

fn bare(bed: &Bed) -> std::path::PathBuf {
    bed.home.path().join("git/gitops.git")
}

fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    support::wait_for(what, timeout, &mut f)
}

#[test]
fn phases_2_to_4_with_the_real_argo_cd() {
    let bed = Bed::private("argocd", true);
    let phases = testbed_phases(bed.home.path());

    // Phases 0–1, then the objects phase 1 applied, by uid.
    let out = up(&bed, "1", &phases, "4m");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let before = uids(&bed);
    assert!(
        before.iter().any(|(k, _)| k == "Deployment/argocd-repo-server"),
        "{before:?}"
    );

    // Phases 2–4: exit 0, and at that moment every Application is Synced+Healthy
    // as written by the real controller (metrics-server: see the module docs).
    let t = Instant::now();
    let out = up(&bed, "4", &phases, "5m");
    let took = t.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    eprintln!("phases 0-4 after phase 1: {:.1}s", took.as_secs_f64());
    for l in stdout(&out)
        .lines()
        .filter(|l| l.starts_with("  ok") || l.starts_with("==>"))
    {
        eprintln!("{l}");
    }
    // Phase 2 published the tree; phases 3 and 4 of the same run find the
    // remote still at that commit and do not publish it again.
    let text = stdout(&out);
    assert!(text.contains("  ok published "), "phase 2 did not publish:\n{text}");
    assert_eq!(
        text.matches("(published earlier in this run)").count(),
        2,
        "phases 3 and 4 should reuse phase 2's commit:\n{text}"
    );
    for name in [
        "argo-cd",
        "external-secrets",
        "argo-rollouts",
        "coffee-ci",
        "cart",
        "order",
    ] {
        let a = app(&bed, name).unwrap_or_else(|| panic!("Application {name} missing"));
        assert_eq!(
            sync_health(&a),
            ("Synced".into(), "Healthy".into()),
            "{name}: {}",
            a["status"]
        );
        assert!(
            a["status"]["reconciledAt"].is_string(),
            "{name} was reconciled by the controller"
        );
    }
    let ms = app(&bed, "metrics-server").expect("metrics-server Application");
    assert_eq!(
        sync_health(&ms),
        ("Synced".into(), "Progressing".into()),
        "{}",
        ms["status"]
    );
    let apisvc = bed.kubectl_ok(&["get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "json"]);
    let cond = json(&apisvc)["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Available")
        .cloned()
        .unwrap();
    assert_eq!(
        (cond["status"].as_str(), cond["reason"].as_str()),
        (Some("False"), Some("FailedDiscoveryCheck")),
        "{cond}"
    );
    // The ApplicationSet generated exactly cart and order.
    let owned: Vec<String> = status_apps(&bed)
        .iter()
        .filter(|a| a["owner_appset"] == "coffee")
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(owned, vec!["cart".to_string(), "order".to_string()]);

    // `kindops open cart` asks cart's Service (named from the Application's
    // resources) through the API server's service proxy. KWOK's pods serve
    // nothing, so it did not answer: exit 1, naming the Service and the
    // Application's state (on the real-kind lane it answers: kind_road.rs).
    // An Application that does not exist: exit 2, listing the products.
    let asked = Kindops::new().args(["open", "cart"]).context().in_bed(&bed).run();
    let err = asked.assert_code(1).stderr();
    assert!(
        err.contains("Service coffee/cart-app of Application cart did not answer")
            && err.contains("Application cart is Synced and Healthy")
            && err.contains("-n coffee get pods"),
        "{asked}"
    );
    let unknown = Kindops::new().args(["open", "tea"]).context().in_bed(&bed).run();
    let err = unknown.assert_code(2).stderr();
    assert!(
        err.contains("there is no Application tea in namespace argocd")
            && err.contains("the products' Applications: cart, order"),
        "{unknown}"
    );

    // Self-management adopted phase 1's objects: nothing deleted or recreated.
    let after = uids(&bed);
    for (k, uid) in &before {
        let now = after
            .iter()
            .find(|(k2, _)| k2 == k)
            .unwrap_or_else(|| panic!("{k} is gone after phase 2"));
        assert_eq!(&now.1, uid, "{k} was recreated");
    }

    // Add a directory under apps/coffee and push, with no re-run: the git
    // source's post-receive hook (`kindops refresh`) tells Argo CD, and the
    // ApplicationSet makes a new Application, Synced+Healthy.
    let hook = std::fs::read_to_string(bed.home.path().join("git/gitops.git/hooks/post-receive")).unwrap_or_default();
    assert!(
        hook.contains("refresh --context"),
        "no kindops post-receive hook: {hook:?}"
    );
    let clone = LearnerClone::new(&bed);
    let cart = std::fs::read_to_string(clone.dir.join("apps/coffee/cart/kustomization.yaml")).unwrap();
    clone.write(
        "apps/coffee/payment/kustomization.yaml",
        &cart.replace("cart", "payment"),
    );
    // In the same commit, a change to a file kindops ships (cart's overlay):
    // a re-run must keep it (issue 19).
    let cart_value = "        value: cart\n";
    assert!(cart.contains(cart_value), "cart's overlay changed shape: {cart}");
    let learners_cart = cart.replace(cart_value, "        value: cart-by-the-learner\n");
    clone.write("apps/coffee/cart/kustomization.yaml", &learners_cart);
    let t = Instant::now();
    let push = clone.push_in(&bed, "add payment");
    assert!(
        !String::from_utf8_lossy(&push.stderr).contains("could not ask Argo CD"),
        "the hook could not refresh: {}",
        show(&push)
    );
    wait_until("Application payment Synced+Healthy", Duration::from_secs(180), || {
        app(&bed, "payment")
            .filter(|a| sync_health(a) == ("Synced".into(), "Healthy".into()))
            .map(|_| ())
    });
    eprintln!(
        "push of a new directory -> Application payment Synced+Healthy (no re-run): {:.1}s",
        t.elapsed().as_secs_f64()
    );
    // A re-run converges, lists it, and changes nothing: the refresh made the
    // ApplicationSet controller write the ApplicationSet back, which must not
    // differ from what kindops applies.
    let out = up(&bed, "4", &phases, "3m");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("payment"), "{}", show(&out));
    let changed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  ok ") && !l.starts_with("  ok (unchanged)"))
        .collect();
    assert!(changed.is_empty(), "the re-run changed: {changed:?}\n{text}");
    bed.kubectl_ok(&["-n", "coffee", "get", "rollout", "payment-app"]);
    // Both of the learner's files are still on main, and the re-run pushed nothing.
    assert_eq!(
        on_main(&bed, "apps/coffee/cart/kustomization.yaml").as_deref(),
        Some(learners_cart.as_str()),
        "the re-run reverted the learner's change to a shipped file"
    );
    assert!(on_main(&bed, "apps/coffee/payment/kustomization.yaml").is_some());
    let refs = git_refs(&bed);
    assert!(refs.contains("refs/heads/kindops/content"), "{refs}");
    let t = Instant::now();
    let out = up(&bed, "4", &phases, "3m");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(git_refs(&bed), refs, "a re-run with nothing new pushed something");
    eprintln!(
        "re-run of phases 0-4 after the learner's commits, nothing pushed: {:.1}s",
        t.elapsed().as_secs_f64()
    );

    // A new kindops content version (the developer overlay) that changes the
    // same line of cart's overlay: the run stops naming the file and pushes
    // nothing (exit 1, a failed step).
    let overlay = bed.home.path().join("content-v2");
    std::fs::create_dir_all(overlay.join("apps/coffee/cart")).unwrap();
    std::fs::write(
        overlay.join("apps/coffee/cart/kustomization.yaml"),
        cart.replace(cart_value, "        value: cart-v2\n"),
    )
    .unwrap();
    let out = Kindops::up(&bed)
        .args(["--phase", "2", "--phases", &phases, "--timeout", "3m"])
        .env("KINDOPS_DEV_CONTENT_OVERLAY", &overlay)
        .run()
        .out;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("apps/coffee/cart/kustomization.yaml"), "{text}");
    assert!(text.contains("nothing was pushed"), "{text}");
    assert!(text.contains("--on-conflict keep-mine"), "{text}");
    assert_eq!(git_refs(&bed), refs, "a conflicting publish pushed something");
    for l in text.lines().skip_while(|l| !l.contains("FAILED")) {
        eprintln!("{l}");
    }
    assert_eq!(
        on_main(&bed, "apps/coffee/cart/kustomization.yaml").as_deref(),
        Some(learners_cart.as_str())
    );

    // Remove it, push, re-run: the Application and its resources go.
    let clone = LearnerClone::new(&bed);
    std::fs::remove_dir_all(clone.dir.join("apps/coffee/payment")).unwrap();
    clone.push_in(&bed, "remove payment");
    let t = Instant::now();
    let out = up(&bed, "4", &phases, "3m");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    wait_until("Application payment deleted", Duration::from_secs(120), || {
        app(&bed, "payment").is_none().then_some(())
    });
    wait_until("Rollout coffee/payment-app deleted", Duration::from_secs(120), || {
        let o = bed.kubectl(&["-n", "coffee", "get", "rollout", "payment-app"]);
        (!o.status.success()).then_some(())
    });
    eprintln!(
        "directory removed -> Application and Rollout gone: {:.1}s",
        t.elapsed().as_secs_f64()
    );

    // Drift: with automated sync off, a deleted Deployment shows as
    // OutOfSync/Missing in kindops's status; with it on again (self-heal
    // included), Argo CD recreates it. Off, not only self-heal off: automated
    // sync without self-heal still syncs an OutOfSync Application whose last
    // sync was at an older revision than the one it compares (v3.5.1
    // controller/appcontroller.go, autoSync/alreadyAttemptedSync), and the
    // learner's commits above moved main without changing argo-rollouts, so
    // the deletion would be undone within a second.
    set_automated(&bed, "argo-rollouts", None);
    let old_uid = bed.kubectl_ok(&[
        "-n",
        "argo-rollouts",
        "get",
        "deployment",
        "argo-rollouts",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    bed.kubectl_ok(&[
        "-n",
        "argo-rollouts",
        "delete",
        "deployment",
        "argo-rollouts",
        "--wait=true",
    ]);
    // The Application is OutOfSync (its app-level health stays Healthy in Argo
    // CD 3.x); its Deployment is OutOfSync and Missing (per-resource health,
    // kept by argocd-cmd-params-cm controller.resource.health.persist).
    let drift = wait_until(
        "kindops status to show argo-rollouts OutOfSync with its Deployment Missing",
        Duration::from_secs(90),
        || {
            status_apps(&bed).into_iter().find(|a| {
                a["name"] == "argo-rollouts"
                    && a["sync"] == "OutOfSync"
                    && a["resources"].as_array().is_some_and(|rs| {
                        rs.iter().any(|r| {
                            r["kind"] == "Deployment" && r["status"] == "OutOfSync" && r["health"] == "Missing"
                        })
                    })
            })
        },
    );
    let text = Kindops::new().arg("status").context().in_bed(&bed).run().out;
    assert!(
        stdout(&text).lines().any(|l| l.starts_with("argo-rollouts")
            && l.contains("OutOfSync")
            && l.contains("Deployment argo-rollouts/argo-rollouts: OutOfSync Missing")),
        "{}",
        show(&text)
    );
    eprintln!("drift seen: {}", drift);
    // `status --wait` for CI: exit 1 at its deadline naming the OutOfSync
    // Application; metrics-server stays Progressing on the test bed (see
    // the module docs), so waiting for every Application fails too.
    let waited = Kindops::new()
        .args(["status", "--wait", "--app", "argo-rollouts", "--timeout", "5s"])
        .context()
        .in_bed(&bed)
        .run();
    let err = waited.assert_code(1).stderr();
    assert!(
        err.contains("Application argocd/argo-rollouts") && err.contains("OutOfSync"),
        "{waited}"
    );
    let all = Kindops::new()
        .args(["status", "--wait", "--timeout", "5s"])
        .context()
        .in_bed(&bed)
        .run();
    assert!(all.assert_code(1).stderr().contains("Application argocd/"), "{all}");
    set_automated(&bed, "argo-rollouts", Some(r#"{"prune":true,"selfHeal":true}"#));
    let t = Instant::now();
    // Once self-heal is on again, the same wait exits 0 and prints the status.
    let healed = Kindops::new()
        .args([
            "status",
            "--wait",
            "--app",
            "argo-rollouts",
            "--timeout",
            "2m",
            "-o",
            "json",
        ])
        .context()
        .in_bed(&bed)
        .run();
    let v = json(&healed.assert_code(0).stdout());
    let ar = v["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "argo-rollouts")
        .cloned()
        .unwrap();
    assert_eq!(
        (&ar["sync"], &ar["health"]),
        (&json!("Synced"), &json!("Healthy")),
        "{healed}"
    );
    wait_until("argo-rollouts self-healed", Duration::from_secs(120), || {
        let a = app(&bed, "argo-rollouts")?;
        (sync_health(&a) == ("Synced".into(), "Healthy".into())).then_some(())
    });
    let new_uid = bed.kubectl_ok(&[
        "-n",
        "argo-rollouts",
        "get",
        "deployment",
        "argo-rollouts",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    assert_ne!(new_uid, old_uid, "the Deployment was recreated by Argo CD");
    eprintln!("self-heal after re-enabling: {:.1}s", t.elapsed().as_secs_f64());

    // A broken manifest in git: kindops's wait fails, naming the Application and
    // Argo CD's condition message, within its timeout.
    let clone = LearnerClone::new(&bed);
    clone.write(
        "apps/coffee/broken/kustomization.yaml",
        "resources:\n  - does-not-exist.yaml\n",
    );
    clone.push_in(&bed, "a broken service");
    let out = up(&bed, "4", &phases, "45s");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    // The failing wait kept its 45 s deadline (the step's own time; the
    // phases before it take what the machine's load makes them take).
    let failed_after: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("FAILED after ")?.strip_suffix('s')?.parse().ok())
        .unwrap_or_else(|| panic!("no failed step: {text}"));
    assert!(
        failed_after < 45.0 + 15.0,
        "the wait ran {failed_after}s past a 45s deadline: {text}"
    );
    assert!(text.contains("object: Application argocd/broken"), "{text}");
    assert!(text.contains("ComparisonError"), "{text}");
    assert!(
        text.contains("does-not-exist.yaml"),
        "Argo CD's message is carried: {text}"
    );

    // A sync Argo CD gives up on: an Application whose manifest renders but
    // cannot be applied (an invalid object name), one retry 1 s apart. Once
    // Argo CD's automated sync has failed at that revision it will not try it
    // again (v3.5.1 controller/appcontroller.go, alreadyAttemptedSync; its
    // SyncError condition reads "Failed last sync attempt to [<sha>]: ..."),
    // so the wait stops at once, naming it, instead of at its deadline.
    let clone = LearnerClone::new(&bed);
    clone.git(&["rm", "-r", "-q", "apps/coffee/broken"]);
    clone.write("learner/fails/kustomization.yaml", "resources:\n  - configmap.yaml\n");
    clone.write(
        "learner/fails/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\ndata: {}\n",
    );
    clone.push_in(&bed, "a ConfigMap the API server refuses");
    let field = |path: &str| bed.app_field("coffee-ci", path);
    let (repo, project, server) = (
        field("{.spec.source.repoURL}"),
        field("{.spec.project}"),
        field("{.spec.destination.server}"),
    );
    let manifest = bed.home.path().join("sync-gives-up.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: sync-gives-up\n  namespace: argocd\n\
             spec:\n  project: {project}\n  source:\n    repoURL: {repo}\n    targetRevision: main\n    path: learner/fails\n\
             \x20 destination:\n    server: {server}\n    namespace: default\n  syncPolicy:\n    automated: {{}}\n\
             \x20   retry:\n      limit: 1\n      backoff:\n        duration: 1s\n        factor: 1\n        maxDuration: 1s\n"
        ),
    )
    .unwrap();
    bed.kubectl_ok(&["apply", "-f", manifest.to_str().unwrap()]);
    // Given up before kindops runs: the re-run asks Argo CD to sync it again
    // (with the Application's own retry), and the wait then sees it give up
    // again.
    wait_until("Argo CD gives up on sync-gives-up", Duration::from_secs(120), || {
        let c = bed.app_field(
            "sync-gives-up",
            r#"{.status.conditions[?(@.type=="SyncError")].message}"#,
        );
        c.starts_with("Failed last sync attempt to [").then_some(())
    });
    let gives_up_phases = bed.home.path().join("phases-gives-up");
    std::fs::create_dir_all(&gives_up_phases).unwrap();
    for e in std::fs::read_dir(&phases).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let text = text.replace("applications: [coffee-ci]", "applications: [coffee-ci, sync-gives-up]");
        std::fs::write(gives_up_phases.join(e.file_name()), text).unwrap();
    }
    let out = up(&bed, "4", gives_up_phases.to_str().unwrap(), "5m");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("object: Application argocd/sync-gives-up"), "{text}");
    assert!(
        text.contains("Argo CD will not sync this revision again by itself"),
        "{text}"
    );
    assert!(
        text.contains("Failed last sync attempt to ["),
        "Argo CD's own condition: {text}"
    );
    assert!(text.contains("Not_A_Valid_Name"), "{text}");
    assert!(
        text.contains(
            "Application argocd/sync-gives-up: Argo CD had given up on its failed sync; asked it to sync again"
        ),
        "the re-run asks Argo CD to sync a given-up Application again: {text}"
    );
    let failed_after: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("FAILED after ")?.strip_suffix('s')?.parse().ok())
        .unwrap_or_else(|| panic!("no failed step: {text}"));
    assert!(
        failed_after < 120.0,
        "the wait saw the given-up sync only after {failed_after}s of a 5m deadline: {text}"
    );
    eprintln!("given-up sync seen after {failed_after:.1}s of the wait");
    // What the wait saw given up was the sync kindops asked for, finished:
    // not the failed state from before it.
    let by = bed.app_field(
        "sync-gives-up",
        "{.status.operationState.operation.initiatedBy.username}",
    );
    assert_eq!(by, "kindops", "the last sync was kindops's re-sync");
    bed.kubectl_ok(&["-n", "argocd", "delete", "application", "sync-gives-up", "--wait=true"]);
}
