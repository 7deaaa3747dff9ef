//! The learner's whole default road on a real kind cluster (the real-kind
//! lane, as `tests/it/kind.rs`): phases 0–4 in the TUI on real pods, a learner's
//! push, a re-run, lesson 4 (CI by path) for real, the GitOps loop from a
//! code push (watched in the TUI, through the Rollout's canary), what stops
//! a broken push, lessons 6 (code to cluster, and its revert) and 7 (what
//! stops a broken change), the secret scan, down.
//! `#[ignore]`d in `cargo test`; `just test-kind` runs it in the lane's
//! namespace (`cargo test --test it -- --ignored kind_road::`).

use crate::support;

use std::process::Command;
use std::time::Duration;
use support::bed::{show, stdout};
use support::kindops::Kindops;
use support::lane::*;
use support::secrets;
use support::tmux::{row_has, table_rows, Tmux};

#[test]
fn a_private_key_is_told_from_a_placeholder() {
    let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
    assert!(holds_private_key(&format!(
        "x\n-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    )));
    assert!(holds_private_key(&format!(
        "\"k\": \"-----BEGIN RSA PRIVATE KEY-----\\n{body}\\n-----END RSA PRIVATE KEY-----\\n\""
    )));
    assert!(!holds_private_key(
        "\"private-key\": \"-----BEGIN PRIVATE KEY-----\\n<private-key>\\n-----END PRIVATE KEY-----\\n\","
    ));
    assert!(!holds_private_key(&format!(
        "-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
    )));
}

/// The learner's whole default road on a real kind cluster: `kindops up`
/// with only `--node-image` and `--mirror` (every image saved by `kindops
/// fetch --images` from the lane's engine), in the TUI, from an empty start.
/// Phase 0 creates the cluster and preloads the images; phases 1–4 run on
/// real pods; the built-in git source is read by the real repo-server pod
/// (uid 999). The Applications table fills while phases 2–4 run, and every
/// Application ends Synced+Healthy, metrics-server included (its APIService
/// Available). Then a learner's own push of a new product directory gets its
/// Application; a re-run changes nothing; `kindops down` leaves no container
/// and no data.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn the_default_road_runs_phases_0_to_4_on_real_pods() {
    let t0 = std::time::Instant::now();
    let l = Learner::new();
    let name = "ko-full";
    let images_dir = tempfile::tempdir().unwrap();
    let (m, _) = mirror_with_images(&l, images_dir.path(), true);
    let img = node_image();
    let args = [
        "up",
        "--cluster",
        name,
        "--node-image",
        &img,
        "--mirror",
        &m,
        "--ui-port",
        "18082",
    ];
    let line = Kindops::new()
        .args(args)
        .home(l.home.path())
        .env("KUBECONFIG", l.home.path().join("kubeconfig"))
        .shell_line();
    let t = Tmux::start_line(l.home.path(), &[], "road", (160, 48), &line);
    // The learner switches to the Applications view (key 2) as soon as the TUI is up.
    t.wait_for("the TUI", Duration::from_secs(60), |s| s.contains("2 Applications"));
    t.keys(&["2"]);

    // The Applications table starts empty and fills as phases 2–4 create them.
    let expected = [
        "argo-cd",
        "external-secrets",
        "argo-rollouts",
        "metrics-server",
        "secret-store",
        "coffee-ci",
        "cart",
        "order",
    ];
    let mut seen: Vec<(usize, std::time::Duration)> = vec![];
    // Everything the learner saw, for the secret scan below.
    let mut shown = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(25 * 60);
    let screen = loop {
        let s = t.screen();
        // Before phase 1 the learner is told why the table is empty, in words.
        assert!(!s.contains("404 page not found"), "a raw API error on screen:\n{s}");
        let rows = table_rows(&s).len();
        shown.push_str(&s);
        if seen.last().is_none_or(|(n, _)| *n != rows) {
            seen.push((rows, t0.elapsed()));
        }
        if s.lines()
            .next()
            .is_some_and(|l| l.contains("succeeded in") || l.contains("failed"))
        {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the road did not finish in 25 min:\n{s}\n{}",
            t.log_tail()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        screen.lines().next().is_some_and(|l| l.contains("✓ succeeded in")),
        "{screen}\n{}",
        t.log_tail()
    );
    for app in expected {
        assert!(
            row_has(&screen, app, &["Synced", "Healthy"]),
            "{app} not Synced+Healthy:\n{screen}"
        );
    }
    let counts: Vec<usize> = seen.iter().map(|(n, _)| *n).collect();
    assert_eq!(counts.first(), Some(&0), "the table did not start empty: {seen:?}");
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]) && counts.iter().filter(|n| **n > 0).count() >= 3,
        "the table did not fill step by step: {seen:?}"
    );
    eprintln!("[road] rows over time: {seen:?}");
    t.type_text("q");
    assert_eq!(t.assert_exited_and_terminal_sane(), 0, "kindops up (TUI) exit code");

    // Every Application Synced+Healthy, as `kindops status` reads them.
    let apps = applications(&l, name);
    for app in expected {
        assert!(
            apps.iter().any(|(n, s, h)| n == app && s == "Synced" && h == "Healthy"),
            "{app}: {apps:?}"
        );
    }
    // metrics-server serves the metrics API for real.
    let available = l.kubectl(
        name,
        &[
            "get",
            "apiservice",
            "v1beta1.metrics.k8s.io",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Available\")].status}",
        ],
    );
    assert_eq!(stdout(&available).trim(), "True", "{}", show(&available));
    // The repo-server pod that read the built-in git source runs as uid 999.
    let uid = l.kubectl(
        name,
        &["-n", "argocd", "exec", "deploy/argocd-repo-server", "--", "id", "-u"],
    );
    assert_eq!(stdout(&uid).trim(), "999", "{}", show(&uid));
    // kindops's /etc/gitconfig keeps the image's own LFS filter (upstream's
    // Dockerfile runs `git lfs install --system`).
    let lfs = l.kubectl(
        name,
        &[
            "-n",
            "argocd",
            "exec",
            "deploy/argocd-repo-server",
            "--",
            "git",
            "config",
            "--system",
            "--get",
            "filter.lfs.clean",
        ],
    );
    assert_eq!(stdout(&lfs).trim(), "git-lfs clean -- %f", "{}", show(&lfs));

    // Argo CD's redis is the manifest's major version (Debian 13's 8.0, issue 23).
    let redis = l.kubectl(
        name,
        &[
            "-n",
            "argocd",
            "exec",
            "deploy/argocd-redis",
            "--",
            "redis-server",
            "--version",
        ],
    );
    assert!(stdout(&redis).contains(" v=8."), "{}", show(&redis));

    // Secrets the GitOps way (issue 23): External Secrets is upstream's
    // binary, and each product's ExternalSecret syncs the team's store.
    secrets::assert_eso_is_upstream(&l, name);
    let mut store_values = secrets::assert_synced(&l, name, &["cart", "order"]);
    // The real kindnetd: a NetworkPolicy denying ingress to cart (or the
    // kernel's evidence why it cannot be enforced here).
    secrets::network_policy_denies_ingress(&l, name);

    // A learner's own push: a new product directory becomes an Application.
    let work = l.home.path().join("learner-clone");
    let bare = l.git_dir(name).join("gitops.git");
    let git = |dir: &std::path::Path, args: &[&str]| {
        let out = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", show(&out));
    };
    git(
        l.home.path(),
        &["clone", "-q", &bare.display().to_string(), &work.display().to_string()],
    );
    let tea = work.join("apps/coffee/tea");
    std::fs::create_dir_all(&tea).unwrap();
    let cart = std::fs::read_to_string(work.join("apps/coffee/cart/kustomization.yaml")).unwrap();
    std::fs::write(tea.join("kustomization.yaml"), cart.replace("cart", "tea")).unwrap();
    // tea's API key: the team puts it in the secret store first (never in
    // git), then git names it (tea's ExternalSecret, cart's renamed).
    let es = std::fs::read_to_string(work.join("apps/coffee/cart/externalsecret.yaml")).unwrap();
    std::fs::write(tea.join("externalsecret.yaml"), es.replace("cart", "tea")).unwrap();
    let tea_value = kindops::secret_store::new_value().unwrap();
    let put = l.kubectl(
        name,
        &[
            "-n",
            secrets::STORE,
            "create",
            "secret",
            "generic",
            "coffee-tea",
            &format!("--from-literal={}={tea_value}", secrets::KEY),
        ],
    );
    assert!(put.status.success(), "{}", show(&put));
    store_values.push(tea_value);
    support::ci_loop::commit_as_learner(&work, "add tea");
    // The built-in git source's post-receive hook (written by kindops) tells
    // Argo CD about the push at once, as a git host's webhook would.
    let hook = std::fs::read_to_string(bare.join("hooks/post-receive")).unwrap_or_default();
    assert!(
        hook.contains("refresh --cluster"),
        "no kindops post-receive hook: {hook:?}"
    );
    let pushed = std::time::Instant::now();
    let push = Command::new("git")
        .arg("-C")
        .arg(&work)
        .args(["push", "-q", "origin", "HEAD:main"])
        .output()
        .unwrap();
    assert!(push.status.success(), "git push: {}", show(&push));
    assert!(
        !String::from_utf8_lossy(&push.stderr).contains("could not ask Argo CD"),
        "the hook could not refresh: {}",
        show(&push)
    );
    loop {
        let apps = applications(&l, name);
        if apps
            .iter()
            .any(|(n, s, h)| n == "tea" && s == "Synced" && h == "Healthy")
        {
            break;
        }
        assert!(
            pushed.elapsed() < Duration::from_secs(240),
            "tea never Synced+Healthy: {apps:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    eprintln!("[road] a learner's push to Synced+Healthy: {:?}", pushed.elapsed());
    secrets::assert_synced(&l, name, &["tea"]);
    // Rotation without git: a new value in the store reaches cart's Secret.
    store_values.push(secrets::rotate(&l, name, "cart").1);

    // A re-run changes nothing (and keeps the learner's directory).
    let out = l
        .command(&[&["up", "--no-tui"][..], &args[1..]].concat())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let changed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  ok ") && !l.starts_with("  ok (unchanged)"))
        .collect();
    assert!(changed.is_empty(), "the re-run changed: {changed:?}\n{text}");
    assert!(applications(&l, name).iter().any(|(n, _, _)| n == "tea"));

    // Lesson 4, CI by path, for real: a push event touching cart's module
    // path starts exactly one PipelineRun (cart's), one touching neither
    // starts none, and the step runs the pinned, preloaded image.
    let pipelineruns = || {
        let out = l.kubectl(name, &["-n", "coffee-ci", "get", "pipelineruns", "-o", "json"]);
        assert!(out.status.success(), "{}", show(&out));
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        v["items"].as_array().cloned().unwrap_or_default()
    };
    let before = pipelineruns().len();
    // CI pushes to the cluster's registry, and ko reads its base image there.
    let registry_made = support::ci_loop::prepare_registry(&l, name);
    // Right after `up` the listener's pod may still be starting (Argo CD has
    // no health check for EventListeners); a restarted pod stands for that:
    // the lesson waits for the listener to serve instead of skipping.
    let restart = l.kubectl(
        name,
        &[
            "-n",
            "coffee-ci",
            "delete",
            "pod",
            "-l",
            "eventlistener=coffee",
            "--wait=false",
        ],
    );
    assert!(restart.status.success(), "{}", show(&restart));
    let (events, fin, text) = passed_lesson(&l, name, "4");
    let lesson4_shown = text.clone();
    let notes: Vec<&str> = events.iter().filter_map(|e| e["text"].as_str()).collect();
    if notes.iter().any(|n| n.contains("waiting for it to serve")) {
        assert!(
            notes.iter().any(|n| n.contains("the EventListener's pod is Ready")),
            "{text}"
        );
    }
    let runs = pipelineruns();
    assert_eq!(runs.len(), before + 1, "{runs:#?}");
    let run = runs
        .iter()
        .find(|r| r["metadata"]["labels"]["triggers.tekton.dev/eventlistener"] == "coffee")
        .expect("a PipelineRun of the coffee EventListener");
    assert_eq!(run["metadata"]["labels"]["triggers.tekton.dev/trigger"], "cart");
    let module = run["spec"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "MODULE_PATH")
        .unwrap()["value"]
        .clone();
    assert_eq!(module, "products/coffee/cart");
    let t = std::time::Instant::now();
    loop {
        let pods = l.kubectl(name, &["-n", "coffee-ci", "get", "pods", "-o", "jsonpath={..image}"]);
        if stdout(&pods).contains("ghcr.io/ko-build/ko:v0.19.1") {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "no step pod with the pinned image: {}",
            show(&pods)
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    eprintln!("[road] lesson 4: {}", fin);
    let undo = l
        .command(&["learn", "4", "--undo", "--cluster", name])
        .output()
        .unwrap();
    assert_eq!(undo.status.code(), Some(0), "{}", show(&undo));

    // Fault: the store's source Secret of order deleted; a re-run heals.
    let rerun = [&["up", "--no-tui"][..], &args[1..]].concat();
    store_values.push(secrets::fault_store_secret_deleted(&l, name, "order", &rerun));
    // The GitOps loop (issue 22): a learner's push to products/coffee/cart
    // is tested, built, pushed, written back and rolled out; cart answers
    // with the new commit.
    // The learner watches it in `kindops up`'s own TUI: a re-run, left
    // open on the Applications screen (key 2: the table and the CI → CD
    // pane under it), sampled while the loop runs.
    let up_line = Kindops::new()
        .args(args)
        .home(l.home.path())
        .env("KUBECONFIG", l.home.path().join("kubeconfig"))
        .shell_line();
    let tw = Tmux::start_line(l.home.path(), &[], "road-loop", (160, 48), &up_line);
    tw.wait_for("the re-run to succeed", Duration::from_secs(600), |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains("succeeded in") || l.contains("failed"))
    });
    let s = tw.screen();
    assert!(
        s.lines().next().is_some_and(|l| l.contains("✓ succeeded in")),
        "{s}\n{}",
        tw.log_tail()
    );
    tw.keys(&["2"]);
    tw.wait_for("the CI → CD pane", Duration::from_secs(60), |s| s.contains("CI → CD"));
    let sampling = std::sync::atomic::AtomicBool::new(true);
    let sample = |sampling: &std::sync::atomic::AtomicBool| {
        let mut screens: Vec<String> = vec![];
        while sampling.load(std::sync::atomic::Ordering::Relaxed) {
            let s = tw.screen();
            if screens.last() != Some(&s) {
                screens.push(s);
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        screens
    };
    let (times, screens) = std::thread::scope(|sc| {
        let sampler = sc.spawn(|| sample(&sampling));
        let times = support::ci_loop::push_cart_and_wait(&l, name);
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        (times, sampler.join().unwrap())
    });
    eprintln!("[road] a learner's code push → the new version serving: {times:?}");
    let short = &times.commit[..7];
    let pane_lines = |f: &dyn Fn(&str) -> bool| screens.iter().flat_map(|s| s.lines()).any(f);
    assert!(
        pane_lines(&|l: &str| l.contains(&format!("cart     {short}")) && l.contains("Running")),
        "the TUI never showed cart's PipelineRun running ({} screens); the last:\n{}",
        screens.len(),
        screens.last().map(String::as_str).unwrap_or_default()
    );
    assert!(
        pane_lines(&|l: &str| l.contains(&format!("cart     {short}"))
            && l.contains("Succeeded")
            && l.contains("write-back")),
        "the TUI never showed cart's PipelineRun Succeeded with its write-back; the last screen:\n{}",
        screens.last().map(String::as_str).unwrap_or_default()
    );
    assert!(
        pane_lines(&|l: &str| l.contains("cart-app")
            && l.contains("step 1/2")
            && l.contains("50%")
            && l.contains(&format!("new cart:{short}"))),
        "the TUI never showed the canary (cart-app step 1/2, 50%, new cart:{short}); the last screen:\n{}",
        screens.last().map(String::as_str).unwrap_or_default()
    );
    eprintln!(
        "[road] `kindops up`'s TUI showed the run and the canary ({} screens)",
        screens.len()
    );
    shown.push_str(&screens.join("\n"));
    // `kindops open cart`: what cart runs, asked as a learner asks it.
    let opened = l
        .command(&["open", "cart", "--cluster", name, "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(opened.status.code(), Some(0), "{}", show(&opened));
    let v: serde_json::Value = serde_json::from_slice(&opened.stdout).unwrap();
    assert_eq!(v["answer"]["version"], times.commit.as_str(), "{v}");
    assert_eq!(
        (v["answer"]["name"].as_str(), v["service"].as_str()),
        (Some("cart"), Some("coffee/cart-app")),
        "{v}"
    );
    let opened = l.command(&["open", "cart", "--cluster", name]).output().unwrap();
    assert_eq!(opened.status.code(), Some(0), "{}", show(&opened));
    assert!(
        stdout(&opened).contains(&format!(
            "  version  {}  (the git commit it was built from)",
            times.commit
        )),
        "{}",
        show(&opened)
    );
    // Lesson 6 from the same TUI's lessons screen (key 3, the sixth
    // lesson, Enter): its notes and the Rollout's canary fill the screen
    // while its push goes round the loop; it ends passed.
    tw.keys(&["3"]);
    tw.wait_for("the lessons screen", support::tmux::KEY_DEADLINE, |s| {
        s.contains("code-to-cluster")
    });
    tw.keys(&["j", "j", "j", "j", "j"]);
    // The selected lesson's explanation shows under the list.
    tw.wait_for("lesson 6 selected", support::tmux::KEY_DEADLINE, |s| {
        s.contains("The whole loop from one code change.")
    });
    tw.keys(&["Enter"]);
    let sampling = std::sync::atomic::AtomicBool::new(true);
    let lesson_screens = std::thread::scope(|sc| {
        let sampler = sc.spawn(|| sample(&sampling));
        tw.wait_for("lesson 6 to end in the TUI", Duration::from_secs(420), |s| {
            ["✓ passed", "✗ failed", "– skipped", "✗ interrupted"]
                .iter()
                .any(|w| s.contains(w))
        });
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        sampler.join().unwrap()
    });
    let last = tw.screen();
    assert!(
        last.contains("✓ passed"),
        "lesson 6 in `kindops up`'s TUI:\n{last}\n{}",
        tw.log_tail()
    );
    // The sampler may stop before the last screen: it counts too.
    let lesson_screens = [lesson_screens, vec![last.clone()]].concat();
    let seen = |w: &str| lesson_screens.iter().any(|s| s.contains(w));
    assert!(
        seen("PipelineRun coffee-ci/") && seen("Rollout coffee/cart-app") && seen("cart answers with version"),
        "the lesson's run, Rollout and answer on screen; the last of {} screens:\n{last}",
        lesson_screens.len()
    );
    eprintln!(
        "[road] lesson 6 passed in `kindops up`'s TUI ({} screens)",
        lesson_screens.len()
    );
    shown.push_str(&lesson_screens.join("\n"));
    tw.type_text("q");
    assert_eq!(
        tw.assert_exited_and_terminal_sane(),
        0,
        "kindops up (TUI, the re-run) exit code"
    );
    // cart now serves lesson 6's commit: the next checks start from it.
    let opened = l
        .command(&["open", "cart", "--cluster", name, "-o", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&opened.stdout).unwrap_or_default();
    let good = v["answer"]["version"].as_str().unwrap_or_default().to_string();
    assert!(
        good.len() == 40 && good != times.commit,
        "after lesson 6 in the TUI cart answers {v}"
    );
    // What stops a broken change: a failing test (nothing built), then a
    // version whose readiness never passes (the Rollout aborts, the old one
    // keeps serving); the learner's revert rolls out.
    let fixed = support::ci_loop::push_broken_and_recover(&l, name, &good);
    eprintln!("[road] broken pushes stopped; the revert {fixed} serves");
    // A registry that is down: the push fails in its build step and `status`
    // says to run phase 0 again; doing so starts the registry, and the next
    // push goes round the whole loop.
    support::ci_loop::push_with_registry_down(&l, name, &fixed);
    // A step image missing offline: the run fails before any step, and
    // `status` says to load the images with `--mirror`; the same phase 0
    // run (the road's `--mirror`) loads ko's image back.
    support::ci_loop::push_with_step_image_missing(&l, name, &fixed);
    let phase0 = l
        .command(&[&["up", "--no-tui", "--phase", "0"][..], &args[1..]].concat())
        .output()
        .unwrap();
    assert_eq!(phase0.status.code(), Some(0), "{}", show(&phase0));
    let again = support::ci_loop::push_cart_and_wait(&l, name);
    eprintln!("[road] registry back after `kindops up --phase 0`; the next push serves: {again:?}");
    // Lesson 6, code to cluster: the lesson's own push goes round the loop
    // (PipelineRun Succeeded, canary, cart answering with its commit); its
    // --undo is a revert commit that goes round again.
    let (events, fin, text) = passed_lesson(&l, name, "6");
    let commit = events
        .iter()
        .find_map(|e| e["commit"].as_str())
        .unwrap_or_else(|| panic!("lesson 6 made no commit: {text}"))
        .to_string();
    assert!(
        events.iter().any(|e| e["event"] == "transition_observed"
            && e["object"] == "Rollout coffee/cart-app"
            && e["to"]
                .as_str()
                .is_some_and(|t| t.contains(", canary ") && t.contains("at step"))),
        "the canary was shown: {text}"
    );
    let served = |want: &str| {
        let o = l
            .command(&["open", "cart", "--cluster", name, "-o", "json"])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or_default()["answer"]["version"] == want
    };
    assert!(served(&commit), "cart answers with lesson 6's commit {commit}");
    eprintln!("[road] lesson 6: {fin}");
    let undo = l
        .command(&["learn", "6", "--undo", "--cluster", name, "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(undo.status.code(), Some(0), "{}", show(&undo));
    let revert = stdout(&undo)
        .lines()
        .filter_map(|x| serde_json::from_str::<serde_json::Value>(x).ok())
        .find_map(|e| e["commit"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("lesson 6 --undo made no commit: {}", show(&undo)));
    let t = std::time::Instant::now();
    while !served(&revert) {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(300),
            "cart never answered with the revert {revert}"
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    eprintln!(
        "[road] lesson 6 --undo: the revert {revert} serves after {:?}",
        t.elapsed()
    );
    // Lesson 7, what stops a broken change: once cart is Synced+Healthy
    // again (the revert's canary done), a failing test is stopped by CI, an
    // unready version by the Rollout, and the revert rolls out.
    let ready = l
        .command(&[
            "status",
            "--cluster",
            name,
            "--wait",
            "--app",
            "cart",
            "--timeout",
            "180s",
        ])
        .output()
        .unwrap();
    assert_eq!(ready.status.code(), Some(0), "{}", show(&ready));
    let (events, fin, text) = passed_lesson(&l, name, "7");
    let notes: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "note")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("failed in its test step: failed tests TestKindopsLearn7BrokenOnPurpose")),
        "{text}"
    );
    assert!(
        events.iter().any(|e| e["event"] == "transition_observed"
            && e["object"] == "Rollout coffee/cart-app"
            && e["to"].as_str().is_some_and(|t| t.contains(", aborted ("))),
        "the abort was shown: {text}"
    );
    let last = events
        .iter()
        .filter_map(|e| e["commit"].as_str())
        .next_back()
        .unwrap()
        .to_string();
    assert!(served(&last), "cart answers with lesson 7's revert {last}");
    eprintln!("[road] lesson 7: {fin}");
    // Lesson 8, rotate a secret: a new value in the store reaches cart with
    // no commit and no restart (cart answers with the new value's short
    // SHA-256, which the test checks against the store's value itself),
    // and Application cart stays Synced.
    let sha_of_answer = || {
        let o = l
            .command(&["open", "cart", "--cluster", name, "-o", "json"])
            .output()
            .unwrap();
        let v = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or_default();
        v["answer"]["secret_sha256"].as_str().unwrap_or_default().to_string()
    };
    let sha_before = sha_of_answer();
    assert_eq!(
        sha_before.len(),
        12,
        "cart reports its secret's short SHA-256: {sha_before:?}"
    );
    let cart_pods = || {
        stdout(&l.kubectl(
            name,
            &[
                "-n",
                "coffee",
                "get",
                "pods",
                "-l",
                "app.kubernetes.io/name=cart",
                "-o",
                "jsonpath={.items[*].metadata.uid}",
            ],
        ))
    };
    let before_uids = cart_pods();
    let (events, fin, text) = passed_lesson(&l, name, "8");
    let rotated = secrets::value(&l, name, secrets::STORE, "coffee-cart").expect("the store's value of cart");
    let want = kindops::learn::rotate_secret::short_sha256(rotated.as_bytes());
    assert_ne!(want, sha_before, "the store's value did not change");
    assert_eq!(sha_of_answer(), want, "cart answers with the rotated value's SHA-256");
    let after_uids = cart_pods();
    assert!(
        !after_uids.is_empty() && after_uids.split_whitespace().all(|u| before_uids.contains(u)),
        "a new pod of cart started (no restart is needed): before {before_uids}, after {after_uids}"
    );
    let notes: Vec<&str> = events.iter().filter_map(|e| e["text"].as_str()).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with(&format!("cart answers secret_sha256 {want} ")))
            && notes.iter().any(|n| n.starts_with("Application cart stayed Synced")),
        "{text}"
    );
    assert!(!text.contains(&rotated), "lesson 8 showed the value");
    store_values.push(rotated);
    eprintln!("[road] lesson 8: {fin}; notes: {notes:?}");
    // A learner's new product gets CI by the documented step (a Trigger):
    // refused without tests, built and rolled out with them.
    let tea_commit = support::ci_loop::new_product_gets_ci(&l, name);
    eprintln!("[road] tea, a learner's new product, serves {tea_commit} through CI");
    // Fault: External Secrets' webhook down while the learner's edit of an
    // ExternalSecret is applied; `status` names it; a re-run heals.
    secrets::fault_webhook_down(&l, name, &rerun);
    support::ci_loop::teardown(&registry_made);

    // The Argo CD admin password (and any private key) appears nowhere
    // kindops wrote or showed without --show-secrets: the TUI's screens and
    // log file, plain and JSON output, `status`, the state ConfigMap, the git
    // source's whole history.
    let secret = l.kubectl(
        name,
        &[
            "-n",
            "argocd",
            "get",
            "secret",
            "argocd-initial-admin-secret",
            "-o",
            "go-template={{.data.password | base64decode}}",
        ],
    );
    let password = stdout(&secret);
    assert!(password.len() >= 8, "no admin password read: {}", show(&secret));
    let mut scanned = vec![
        ("the TUI's screens".to_string(), shown),
        ("the re-run's output".into(), show(&out)),
        ("lesson 4's output".into(), lesson4_shown),
    ];
    for (what, cmd) in [
        ("status", vec!["status", "--cluster", name]),
        (
            "status --output json",
            vec!["status", "--cluster", name, "--output", "json"],
        ),
        (
            "up --output json",
            [&["up", "--output", "json"][..], &args[1..]].concat(),
        ),
    ] {
        let out = l.command(&cmd).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{what}: {}", show(&out));
        scanned.push((what.to_string(), show(&out)));
    }
    for file in walk_files(&l.home.path().join("data")) {
        if let Ok(bytes) = std::fs::read(&file) {
            scanned.push((file.display().to_string(), String::from_utf8_lossy(&bytes).to_string()));
        }
    }
    let history = Command::new("git")
        .arg("-C")
        .arg(l.git_dir(name).join("gitops.git"))
        .args(["log", "-p", "--all"])
        .output()
        .unwrap();
    scanned.push(("the git source's history".into(), stdout(&history)));
    let state = l.kubectl(
        name,
        &["-n", "kube-system", "get", "configmap", "kindops-state", "-o", "yaml"],
    );
    scanned.push(("ConfigMap kube-system/kindops-state".into(), stdout(&state)));
    for (what, text) in &scanned {
        assert!(!text.contains(&password), "the admin password appears in {what}");
        assert!(!holds_private_key(text), "a private key appears in {what}");
        for v in &store_values {
            assert!(
                !text.contains(v.as_str()),
                "a value of the secret store appears in {what}"
            );
        }
    }
    eprintln!(
        "[road] secret scan: {} sources, none holds the admin password or one of the {} store values",
        scanned.len(),
        store_values.len()
    );
    // The scan can see it: asked for, the password is printed.
    let printed = l
        .command(&[&["up", "--no-tui", "--phase", "1", "--show-secrets"][..], &args[1..]].concat())
        .output()
        .unwrap();
    assert!(
        stdout(&printed).contains(&password),
        "--show-secrets: {}",
        show(&printed)
    );
    // ... and the store's values, by phase 3's seed step.
    let printed = l
        .command(&[&["up", "--no-tui", "--phase", "3", "--show-secrets"][..], &args[1..]].concat())
        .output()
        .unwrap();
    let cart_value = secrets::value(&l, name, secrets::STORE, "coffee-cart").unwrap();
    assert!(
        stdout(&printed).contains(&cart_value),
        "--show-secrets did not print the store's values"
    );

    let out = l.down(name);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        !containers().iter().any(|c| c.starts_with(&format!("{name}-"))),
        "{:?}",
        containers()
    );
    assert!(!l.home.path().join("data/kindops").join(name).exists());
    eprintln!("[road] done in {:?}", t0.elapsed());
}

/// `kindops learn N --output json` on the road's cluster: asserts exit 0 and
/// outcome `passed`; returns its events, the `lesson_finished` one, and
/// what it printed (stdout and stderr, for messages and the secret scan).
fn passed_lesson(l: &Learner, name: &str, lesson: &str) -> (Vec<serde_json::Value>, serde_json::Value, String) {
    let out = l
        .command(&["learn", lesson, "--cluster", name, "--output", "json"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let events: Vec<serde_json::Value> = text.lines().map(|x| serde_json::from_str(x).unwrap()).collect();
    let fin = events
        .iter()
        .rfind(|e| e["event"] == "lesson_finished")
        .cloned()
        .unwrap_or_else(|| panic!("lesson {lesson} did not finish: {text}"));
    assert_eq!(fin["outcome"], "passed", "{text}");
    (events, fin, show(&out))
}
