//! `kindops learn` against the real Argo CD on one private test bed (Argo CD
//! takes ~1 GiB and most of a core): phases 0–4 first, then each lesson run
//! the way a learner runs it, in JSON and plain mode, asserting the
//! transitions Argo CD and the API server wrote (read back from the lesson's
//! own event stream and, independently, from the cluster and the git
//! source), idempotency (every lesson run twice), `--undo` after a stopped
//! run, the per-cluster progress, and presenter mode (`--step`) driven by
//! keys in tmux for lessons 2 and 5. Lesson 4 needs pods that run: here it
//! must end `skipped`, saying why (its real run is in tests/kind_lessons.rs).

use crate::support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::bed::{show, stdout, testbed_phases, Bed};
use support::kindops::Kindops;
use support::tmux::Tmux;

fn learn<'b>(bed: &'b Bed, args: &[&str]) -> Kindops<'b> {
    let repo = bed.repo_url();
    Kindops::new()
        .arg("learn")
        .args(args)
        .context()
        .args(["--repo-url", &repo])
        .in_bed(bed)
}

/// Runs a lesson with `--output json`; returns its exit code and events.
fn learn_json(bed: &Bed, args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let t = Instant::now();
    let mut a = args.to_vec();
    a.extend(["--output", "json"]);
    let run = learn(bed, &a).run();
    let events: Vec<Value> = stdout(&run.out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", show(&run.out))))
        .collect();
    eprintln!("kindops learn {}: {:.1}s", args.join(" "), t.elapsed().as_secs_f64());
    (run.code(), events, show(&run.out))
}

fn of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

fn finished(events: &[Value]) -> &Value {
    of(events, "lesson_finished").pop().expect("a lesson_finished event")
}

/// Transitions (object, to) in order.
fn transitions(events: &[Value]) -> Vec<(String, String, String)> {
    of(events, "transition_observed")
        .iter()
        .map(|e| {
            (
                e["object"].as_str().unwrap().to_string(),
                e["to"].as_str().unwrap().to_string(),
                e["revision"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn commits(events: &[Value]) -> Vec<String> {
    of(events, "change_made")
        .iter()
        .filter_map(|e| e["commit"].as_str().map(str::to_string))
        .collect()
}

/// The git source's `main`, read with git (not through kindops).
fn git_main(bed: &Bed) -> String {
    let bare = bed.repo_url().trim_start_matches("file://").to_string();
    support::git::ok(std::path::Path::new(&bare), &["rev-parse", "main"])
}

fn git_show(bed: &Bed, rev_path: &str) -> Option<String> {
    let bare = bed.repo_url().trim_start_matches("file://").to_string();
    support::git::show_file(std::path::Path::new(&bare), rev_path)
}

fn app(bed: &Bed, name: &str) -> Option<Value> {
    let out = bed.kubectl(&["-n", "argocd", "get", "application", name, "-o", "json"]);
    out.status
        .success()
        .then(|| serde_json::from_str(&stdout(&out)).unwrap())
}

fn replicas(bed: &Bed, name: &str) -> Option<i64> {
    let out = bed.kubectl(&[
        "-n",
        "coffee",
        "get",
        "rollout",
        name,
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    out.status.success().then(|| stdout(&out).trim().parse().unwrap())
}

/// The cluster as the lessons must leave it: cart Synced/Healthy at git's
/// `main`, its Rollout at 2 replicas (the mini-service base), no Application tea.
fn assert_as_found(bed: &Bed) {
    let main = git_main(bed);
    let a = app(bed, "cart").expect("Application cart");
    assert_eq!(a["status"]["sync"]["status"], "Synced", "{}", a["status"]);
    assert_eq!(a["status"]["health"]["status"], "Healthy", "{}", a["status"]);
    assert_eq!(a["status"]["sync"]["revision"], main.as_str(), "cart is at git's main");
    assert_eq!(replicas(bed, "cart-app"), Some(2));
    assert!(app(bed, "tea").is_none(), "no Application tea left");
    let k = git_show(bed, "main:apps/coffee/cart/kustomization.yaml").unwrap();
    assert!(!k.contains("kindops learn"), "no lesson edit left in git: {k}");
    assert!(git_show(bed, "main:apps/coffee/tea/kustomization.yaml").is_none());
}

#[test]
fn the_lessons_on_the_real_argo_cd() {
    let bed = Bed::private("learn", true);
    let phases = testbed_phases(bed.home.path());
    let out = Kindops::up(&bed)
        .args(["--phase", "4", "--phases", &phases, "--timeout", "6m"])
        .run();
    out.assert_code(0);

    // The list, before any lesson: eight lessons, none run on this cluster.
    let list = learn(&bed, &["--output", "json"]).run();
    list.assert_code(0);
    let v: Value = serde_json::from_str(&list.stdout()).unwrap();
    let lessons = v["lessons"].as_array().unwrap();
    assert_eq!(lessons.len(), 8);
    assert!(lessons.iter().all(|l| l["progress"].is_null()), "{v}");
    assert!(v["progress_unknown"].is_null(), "{v}");

    // Lesson 1 (JSON): two commits, each synced; cart OutOfSync in between;
    // the Rollout at 3 replicas ready, then back at 2.
    let (code, ev, shown) = learn_json(&bed, &["1"]);
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(finished(&ev)["outcome"], "passed", "{shown}");
    let c = commits(&ev);
    assert_eq!(c.len(), 2, "{shown}");
    assert_eq!(c[1], git_main(&bed), "the last commit is git's main");
    assert!(git_show(&bed, &format!("{}:apps/coffee/cart/kustomization.yaml", c[0]))
        .unwrap()
        .contains("/spec/replicas"));
    let tr = transitions(&ev);
    let cart = "Application argocd/cart";
    let dep = "Rollout coffee/cart-app";
    let first_sync = tr
        .iter()
        .position(|(o, to, rev)| o == cart && to == "Synced/Healthy" && rev == &c[0])
        .unwrap_or_else(|| panic!("cart Synced at the first commit: {tr:?}"));
    assert!(
        tr[..first_sync]
            .iter()
            .any(|(o, to, _)| o == cart && to.starts_with("OutOfSync")),
        "cart went OutOfSync before it synced the change: {tr:?}"
    );
    assert!(
        tr.iter().any(|(o, to, _)| o == dep && to == "replicas 3, ready 3"),
        "{tr:?}"
    );
    assert!(
        tr.iter()
            .any(|(o, to, rev)| o == cart && to == "Synced/Healthy" && rev == &c[1]),
        "{tr:?}"
    );
    assert!(of(&ev, "transition_observed")
        .iter()
        .all(|e| e["seconds"].as_f64().is_some()));
    assert_as_found(&bed);

    // Lesson 1 again (plain): idempotent, same outcome, readable lines.
    let run = learn(&bed, &["git-to-cluster"]).run();
    run.assert_code(0);
    let text = run.stdout();
    assert!(text.contains("==> lesson 1: git → cluster"), "{text}");
    assert!(text.contains("     ~> cart replicas 2 → 3 in git (commit "), "{text}");
    // Argo CD may start the sync before it writes OutOfSync (seen:
    // `Synced/Healthy → Synced/Healthy, Syncing → OutOfSync/Healthy, Syncing`).
    assert!(
        text.lines()
            .any(|l| l.starts_with("     .. Application argocd/cart: ") && l.contains(" → OutOfSync/")),
        "{text}"
    );
    assert!(
        text.contains(".. Rollout coffee/cart-app: replicas 3, ready 2 → replicas 3, ready 3"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("==> lesson 1: passed"), "{text}");
    assert_as_found(&bed);

    // Lesson 2 (JSON): scaled by hand, OutOfSync, healed back to 2.
    let before = git_main(&bed);
    let (code, ev, shown) = learn_json(&bed, &["2"]);
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(finished(&ev)["outcome"], "passed", "{shown}");
    assert!(commits(&ev).is_empty(), "lesson 2 commits nothing");
    assert_eq!(git_main(&bed), before);
    let tr = transitions(&ev);
    let scaled = tr
        .iter()
        .position(|(o, to, _)| o == dep && to.starts_with("replicas 4"))
        .unwrap_or_else(|| panic!("{tr:?}"));
    let drift = tr
        .iter()
        .position(|(o, to, _)| o == cart && to.starts_with("OutOfSync"))
        .unwrap_or_else(|| panic!("{tr:?}"));
    let healed = tr
        .iter()
        .rposition(|(o, to, _)| o == dep && to == "replicas 2, ready 2")
        .unwrap_or_else(|| panic!("{tr:?}"));
    assert!(scaled < drift && drift < healed, "{tr:?}");
    assert_as_found(&bed);
    // Lesson 3 (JSON), twice: tea generated by the ApplicationSet, synced, pruned.
    for round in 0..2 {
        let (code, ev, shown) = learn_json(&bed, &["new-product"]);
        assert_eq!(code, Some(0), "round {round}: {shown}");
        assert_eq!(finished(&ev)["outcome"], "passed", "{shown}");
        let tr = transitions(&ev);
        let tea = "Application argocd/tea";
        assert!(
            of(&ev, "transition_observed")
                .iter()
                .any(|e| e["object"] == tea && e["from"] == "absent"),
            "Application tea appeared: {tr:?}"
        );
        assert!(tr.iter().any(|(o, to, _)| o == tea && to == "Synced/Healthy"), "{tr:?}");
        assert!(
            tr.iter()
                .any(|(o, to, _)| o == "Rollout coffee/tea-app" && to == "replicas 2, ready 2"),
            "{tr:?}"
        );
        let last = tr.iter().rev().find(|(o, _, _)| o == tea).unwrap();
        assert_eq!(last.1, "absent", "tea pruned at the end: {tr:?}");
        assert!(
            tr.iter()
                .any(|(o, to, _)| o == "Rollout coffee/tea-app" && to == "absent"),
            "{tr:?}"
        );
        assert_as_found(&bed);
        assert!(
            !bed.kubectl(&["-n", "coffee", "get", "service", "tea-app"])
                .status
                .success(),
            "Service pruned"
        );
    }

    // Lesson 5 (plain): the ComparisonError is read and shown, then cart recovers.
    let run = learn(&bed, &["5"]).run();
    run.assert_code(0);
    let text = run.stdout();
    let cond = text
        .lines()
        .find(|l| l.starts_with("     !! Application argocd/cart: ComparisonError: "))
        .unwrap_or_else(|| panic!("the condition is shown: {text}"));
    assert!(
        cond.contains("kindops-learn-broken.yaml"),
        "Argo CD's message, as shown, names the file: {cond}"
    );
    assert!(
        text.contains("→ Unknown/"),
        "sync status Unknown while cart does not render: {text}"
    );
    assert!(text.trim_end().ends_with("==> lesson 5: passed"), "{text}");
    assert_as_found(&bed);
    // Lesson 5 (JSON): the condition event carries Argo CD's own message.
    let (code, ev, shown) = learn_json(&bed, &["5"]);
    assert_eq!(code, Some(0), "{shown}");
    let cond = of(&ev, "condition_read");
    assert_eq!(cond.len(), 1, "{shown}");
    assert_eq!(cond[0]["condition"], "ComparisonError");
    assert!(
        cond[0]["message"]
            .as_str()
            .unwrap()
            .contains("kindops-learn-broken.yaml"),
        "{shown}"
    );
    assert_as_found(&bed);

    // Lessons 4 (CI by path), 6 (the loop from a code push), 7 (what
    // stops a broken change) and 8 (a secret rotated) need pods that run:
    // no EventListener, External Secrets or cart pod runs on the test bed,
    // so each is skipped, says what it would show, and sends, pushes or
    // rotates nothing.
    for (lesson, n) in [
        ("4", 4),
        ("code-to-cluster", 6),
        ("broken-change", 7),
        ("rotate-secret", 8),
    ] {
        let main_before = git_main(&bed);
        let (code, ev, shown) = learn_json(&bed, &[lesson]);
        assert_eq!(code, Some(0), "{shown}");
        let f = finished(&ev);
        assert_eq!(f["outcome"], "skipped", "{shown}");
        assert!(
            f["reason"].as_str().unwrap().starts_with("needs a real cluster: "),
            "{shown}"
        );
        assert!(
            f["hint"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("kindops learn {n}")),
            "{shown}"
        );
        assert!(
            of(&ev, "note").iter().any(|n| n["text"]
                .as_str()
                .unwrap()
                .starts_with("What this lesson cannot show here: ")),
            "{shown}"
        );
        assert!(
            commits(&ev).is_empty() && of(&ev, "change_made").is_empty(),
            "nothing sent: {shown}"
        );
        assert_eq!(git_main(&bed), main_before, "nothing pushed");
    }

    // --undo after a stopped run: lesson 1 stopped by its deadline right after
    // its commit leaves the patch (and says so); --undo takes it back.
    let (code, ev, shown) = learn_json(&bed, &["1", "--timeout", "1ms"]);
    assert_eq!(code, Some(1), "{shown}");
    let f = finished(&ev);
    assert_eq!(f["outcome"], "failed", "{shown}");
    assert!(f["left_changed"][0].as_str().unwrap().contains("replicas 3"), "{shown}");
    assert!(git_show(&bed, "main:apps/coffee/cart/kustomization.yaml")
        .unwrap()
        .contains("kindops learn 1"));
    let (code, ev, shown) = learn_json(&bed, &["1", "--undo"]);
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(finished(&ev)["outcome"], "undone", "{shown}");
    assert_eq!(commits(&ev).len(), 1, "{shown}");
    // Argo CD brings the cluster back to git's main by itself.
    support::wait_for(
        "cart back at git's main with 2 replicas",
        Duration::from_secs(180),
        || {
            let a = app(&bed, "cart")?;
            (a["status"]["sync"]["revision"] == git_main(&bed).as_str()
                && a["status"]["sync"]["status"] == "Synced"
                && replicas(&bed, "cart-app") == Some(2))
            .then_some(())
        },
    );
    assert_as_found(&bed);
    // Nothing left: --undo again says so and commits nothing.
    let (code, ev, shown) = learn_json(&bed, &["1", "--undo"]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(commits(&ev).is_empty(), "{shown}");
    assert!(
        of(&ev, "note")
            .iter()
            .any(|n| n["text"].as_str().unwrap().starts_with("nothing to undo")),
        "{shown}"
    );

    // Progress is kept in the cluster.
    let list = learn(&bed, &["--output", "json"]).run();
    let v: Value = serde_json::from_str(&list.stdout()).unwrap();
    let outcome = |name: &str| {
        v["lessons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .unwrap()["progress"]["outcome"]
            .clone()
    };
    assert_eq!(outcome("git-to-cluster"), "undone", "{v}");
    assert_eq!(outcome("drift-and-self-heal"), "passed", "{v}");
    assert_eq!(outcome("new-product"), "passed", "{v}");
    assert_eq!(outcome("ci-by-path"), "skipped", "{v}");
    assert_eq!(outcome("reading-states"), "passed", "{v}");
    assert_eq!(outcome("code-to-cluster"), "skipped", "{v}");
    assert_eq!(outcome("broken-change"), "skipped", "{v}");
    assert_eq!(outcome("rotate-secret"), "skipped", "{v}");
    let cm = bed.kubectl_ok(&["-n", "kube-system", "get", "configmap", "kindops-state", "-o", "json"]);
    let cm: Value = serde_json::from_str(&cm).unwrap();
    assert!(
        cm["data"]["phase-4"].is_string(),
        "phase records kept beside lesson records: {cm}"
    );

    // The lessons screen in a terminal, presenter mode: lessons 2 and 5
    // advanced step by step with Enter, left with q once passed.
    for (lesson, steps) in [("2", 2), ("5", 4)] {
        let repo = bed.repo_url();
        let line = Kindops::new()
            .args([
                "learn",
                lesson,
                "--step",
                "--context",
                support::kindops::CONTEXT,
                "--repo-url",
                &repo,
            ])
            .in_bed(&bed)
            .shell_line();
        let t = Tmux::start_line(
            bed.home.path(),
            &[("KINDOPS_TESTBED_NAME", &bed.name)],
            &format!("learn{lesson}"),
            (120, 50),
            &line,
        );
        for step in 1..=steps {
            let wait = format!("Enter step {step} · q stop");
            let s = t.wait_for(&wait, Duration::from_secs(240), |s| s.contains(&wait));
            assert!(s.contains("‖ paused"), "{s}");
            // Nothing of the step is shown before the key.
            assert!(!s.contains(&format!("  {step}. ")), "{s}");
            t.keys(&["Enter"]);
            let shown = format!("  {step}. ");
            t.wait_for(&shown, support::tmux::KEY_DEADLINE, |s| s.contains(&shown));
        }
        let s = t.wait_for("the lesson to pass", Duration::from_secs(240), |s| {
            s.contains("✓ passed")
        });
        assert!(s.contains(&format!("==> lesson {lesson}: passed")), "{s}");
        assert!(
            s.contains("→ OutOfSync") || s.contains("→ Unknown"),
            "a transition on screen: {s}"
        );
        t.keys(&["q"]);
        assert_eq!(t.assert_exited_and_terminal_sane(), 0);
        assert_as_found(&bed);
    }
}
