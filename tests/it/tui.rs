//! The TUI end to end: the real `kindops` binary in a real terminal (tmux),
//! against private test beds (a real API server, and for the Applications
//! view the real Argo CD controllers). Keys go in with `tmux send-keys`; the
//! screen comes back with `tmux capture-pane`; after `q` the pane's shell
//! records the exit code and `stty -a`, so a terminal left in raw mode or on
//! the alternate screen fails the test.
//!
//! Every wait polls the screen with a generous deadline: these tests check
//! what is shown, not how fast (the render benchmark is `benches/tui.rs`).

use crate::support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::bed::{mirror, show, stdout, testbed_phases, Bed};
use support::kindops::{Kindops, KINDOPS};
use support::tmux::{row, row_has, selected, table_rows, Tmux, KEY_DEADLINE};

// ---------------------------------------------------------------- helpers

fn wait_secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---------------------------------------------------------------- tests

/// `kindops status --watch` against the real Argo CD: the Applications of
/// phases 1-4 and the coffee ApplicationSet appear with their real states
/// and follow changes live; `/` filters, `?` shows the key table, Enter
/// opens details, Esc goes back, `q` quits and gives the terminal back.
#[test]
fn status_watch_shows_argocd_live_and_gives_the_terminal_back() {
    let t0 = Instant::now();
    let bed = Bed::private("tui-status", true);
    // Phase 3 does not wait for metrics-server: it stays Progressing here.
    let phases = testbed_phases(bed.home.path());
    let repo = bed.repo_url();
    let up = Kindops::up(&bed).args(["--phase", "4", "--phases", &phases]).run();
    assert_eq!(up.code(), Some(0), "kindops up --phase 4: {up}");
    eprintln!("[tui status] test bed and phases 0-4 took {:?}", t0.elapsed());
    for l in up.stdout().lines().filter(|l| l.starts_with("==>")) {
        eprintln!("[tui status] {l}");
    }

    let t = Tmux::start(
        &bed,
        "status",
        (120, 40),
        &["status", "--watch", "--context", "kindops-testbed"],
    );
    let apps = [
        "argo-cd",
        "argo-rollouts",
        "cart",
        "coffee-ci",
        "external-secrets",
        "order",
    ];
    let screen = t.wait_for(
        "every Application with its sync status and health, and the coffee ApplicationSet",
        wait_secs(60),
        |s| {
            s.contains("● live")
                && apps.iter().all(|a| row_has(s, a, &["✓", "Synced", "Healthy"]))
                && row_has(s, "metrics-server", &["↻", "Synced", "Progressing"])
                && row_has(s, "coffee", &["AppSet", "UpToDate"])
                && row(s, "coffee").is_some_and(|l| l.contains("generates 2: cart, order"))
        },
    );
    assert!(screen.contains("Applications 7 ✓6 ↻1"), "{screen}");
    assert!(screen.contains("ApplicationSets 1"), "{screen}");
    assert_eq!(
        t.display("#{alternate_on}"),
        "1",
        "the TUI is not on the alternate screen"
    );

    // Live: an Application created now shows up with what the real
    // application-controller reports (its path does not exist).
    let ghost = bed.home.path().join("ghost.yaml");
    std::fs::write(
        &ghost,
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: ghost\n  namespace: argocd\n\
             spec:\n  project: default\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: ghost\n\
             \x20 source:\n    repoURL: {repo}\n    path: does/not/exist\n    targetRevision: HEAD\n"
        ),
    )
    .unwrap();
    bed.kubectl_ok(&["create", "-f", &ghost.display().to_string()]);
    t.wait_for(
        "the new Application ghost with its ComparisonError",
        wait_secs(60),
        |s| {
            row_has(s, "ghost", &["✗", "Unknown"])
                && row(s, "ghost").is_some_and(|l| l.contains("ComparisonError"))
                && s.contains("Applications 8")
        },
    );

    // `/` filters as you type.
    t.type_text("/");
    t.wait_for("the filter prompt", KEY_DEADLINE, |s| s.contains("/▏"));
    t.type_text("rollouts");
    let s = t.wait_for("the table narrowed to argo-rollouts", KEY_DEADLINE, |s| {
        s.contains("/rollouts▏ (1/9)")
    });
    let names: Vec<String> = table_rows(&s).into_iter().map(|r| r.2).collect();
    assert_eq!(names, vec!["argo-rollouts"], "{s}");
    // Esc clears the filter: every row is back.
    t.keys(&["Escape"]);
    let s = t.wait_for("the whole table again", KEY_DEADLINE, |s| {
        !s.contains("/rollouts") && table_rows(s).len() == 9
    });
    assert!(row(&s, "metrics-server").is_some(), "{s}");

    // `?`: the help page, from the key table.
    t.type_text("?");
    let s = t.wait_for("the help page", KEY_DEADLINE, |s| s.contains("Help: keys"));
    for line in [
        "/               filter by name, project, namespace, state",
        "Enter           details: resources, conditions, operation, generated apps",
        "q               quit",
        "Esc             back",
        "j ↓             down",
    ] {
        assert!(s.contains(line), "help lacks {line:?}:\n{s}");
    }
    t.keys(&["Escape"]);
    t.wait_for("the help page closed", KEY_DEADLINE, |s| {
        !s.contains("Help: keys") && table_rows(s).len() == 9
    });

    // Enter on a row: its details, with conditions...
    t.type_text("/ghost");
    t.wait_for("ghost alone", KEY_DEADLINE, |s| {
        table_rows(s).iter().map(|r| r.2.as_str()).collect::<Vec<_>>() == ["ghost"]
    });
    t.keys(&["Enter"]); // keep the filter
    t.wait_for("the filter kept", KEY_DEADLINE, |s| s.contains("/ghost (1/9)"));
    t.keys(&["Enter"]);
    let s = t.wait_for("ghost's details", KEY_DEADLINE, |s| {
        s.contains("Application argocd/ghost")
    });
    for want in [
        "Conditions (1)",
        "ComparisonError",
        "app path does not exist",
        "Sync         Unknown",
    ] {
        assert!(s.contains(want), "details lack {want:?}:\n{s}");
    }
    // ...and with resources.
    t.keys(&["Escape"]);
    t.wait_for("back to the filtered table", KEY_DEADLINE, |s| {
        s.contains("/ghost (1/9)") && !s.contains("Application argocd/ghost")
    });
    t.keys(&["Escape"]);
    t.wait_for("the filter cleared", KEY_DEADLINE, |s| table_rows(s).len() == 9);
    t.type_text("/rollouts");
    t.wait_for("argo-rollouts alone", KEY_DEADLINE, |s| s.contains("/rollouts▏ (1/9)"));
    t.keys(&["Enter"]);
    t.wait_for("the filter kept", KEY_DEADLINE, |s| s.contains("/rollouts (1/9)"));
    t.keys(&["Enter"]);
    let s = t.wait_for("argo-rollouts's resources", KEY_DEADLINE, |s| {
        s.contains("Application argocd/argo-rollouts") && s.contains("Resources (")
    });
    assert!(s.contains("Conditions (0)"), "{s}");
    assert!(s.contains("Synced to "), "{s}");
    assert!(
        s.lines().any(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            c.contains(&"Synced") && c.contains(&"Deployment") && c.contains(&"argo-rollouts")
        }),
        "no Deployment argo-rollouts among the resources:\n{s}"
    );

    t.type_text("q");
    assert_eq!(t.assert_exited_and_terminal_sane(), 0);
    eprintln!("[tui status] done after {:?}", t0.elapsed());
}

/// `kindops up --step` (presenter mode) at 80x24: paused before phase 0
/// with the banner, a key runs phase 0 and it pauses again before phase 1
/// (which does not start on its own), another key runs phase 1 to done,
/// `q` exits 0 with the terminal restored.
#[test]
fn up_step_waits_for_a_key_before_each_phase() {
    let t0 = Instant::now();
    let bed = Bed::private("tui-step", false);
    let t = Tmux::start(
        &bed,
        "step",
        (80, 24),
        &[
            "up",
            "--step",
            "--phase",
            "1",
            "--context",
            "kindops-testbed",
            "--mirror",
            &mirror(),
            "--repo-url",
            &bed.repo_url(),
        ],
    );
    let s = t.wait_for("the presenter banner before phase 0", wait_secs(30), |s| {
        s.contains("‖ PAUSED · press Space to start phase 0 · A cluster on your laptop")
    });
    // The title bar keeps the run state at 80 columns (the target is cut).
    let title = s.lines().next().unwrap_or_default();
    assert!(title.contains("‖ paused"), "{s}");
    assert!(title.contains("up → existing cluster"), "{s}");
    let phase0 = s.lines().position(|l| l.contains("· 0 A cluster on your laptop"));
    assert!(
        phase0.is_some_and(|i| s.lines().nth(i + 1).is_some_and(|l| l.contains("pending · 0/4 steps"))),
        "phase 0 should be pending:\n{s}"
    );

    t.keys(&["Space"]);
    let s = t.wait_for("phase 0 done and the pause before phase 1", wait_secs(60), |s| {
        s.contains("‖ PAUSED · press Space to start phase 1")
    });
    assert!(
        s.lines().any(|l| l.contains("✓ 0 A cluster on your laptop")),
        "phase 0 is not shown done:\n{s}"
    );
    // Paused means paused: phase 1 has not touched the cluster.
    std::thread::sleep(Duration::from_secs(2));
    let ns = bed.kubectl(&["get", "namespace", "argocd"]);
    assert!(!ns.status.success(), "phase 1 ran without a key: {}", show(&ns));
    let s = t.screen();
    assert!(s.contains("‖ PAUSED · press Space to start phase 1"), "{s}");
    assert!(
        s.lines().any(|l| l.contains("· 1 Install Argo CD") && !l.contains('✓')),
        "phase 1 should not be done:\n{s}"
    );

    t.keys(&["Enter"]);
    let s = t.wait_for("phase 1 done", wait_secs(150), |s| {
        s.lines().next().is_some_and(|l| l.contains("✓ succeeded in"))
    });
    assert!(
        s.lines().any(|l| l.contains("✓ 1 Install Argo CD")),
        "phase 1 is not shown done:\n{s}"
    );
    assert!(!s.contains("PAUSED"), "{s}");
    bed.kubectl_ok(&["get", "namespace", "argocd"]);

    t.type_text("q");
    assert_eq!(t.assert_exited_and_terminal_sane(), 0, "kindops up --step exit code");
    eprintln!("[tui step] done after {:?}", t0.elapsed());
}

/// Argo CD's Application and ApplicationSet CRDs, from the pinned install
/// manifest in the mirror, as one YAML stream.
fn argocd_crds() -> String {
    let install = std::fs::read_to_string(support::shared_dir().join("upstream/argo-cd/install-v3.5.1.yaml"))
        .expect("../shared/upstream/argo-cd/install-v3.5.1.yaml");
    let mut out = Vec::new();
    for doc in install.split("\n---\n") {
        if !doc.contains("kind: CustomResourceDefinition") {
            continue;
        }
        let v: serde_yaml::Value = serde_yaml::from_str(doc).unwrap();
        let name = v["metadata"]["name"].as_str().unwrap_or_default();
        if v["kind"] == "CustomResourceDefinition"
            && (name == "applications.argoproj.io" || name == "applicationsets.argoproj.io")
        {
            out.push(doc.to_string());
        }
    }
    assert_eq!(out.len(), 2, "the install manifest lacks Argo CD's CRDs");
    out.join("\n---\n")
}

/// Application `app-NNNN` with a status by `i % 4`: Synced+Healthy,
/// Progressing, OutOfSync, ComparisonError. (The CRD has no status
/// subresource, so `kubectl create` keeps it; no controller runs here.)
fn application(i: usize) -> serde_json::Value {
    let (sync, health, conditions) = match i % 4 {
        0 => ("Synced", "Healthy", serde_json::json!([])),
        1 => ("Synced", "Progressing", serde_json::json!([])),
        2 => ("OutOfSync", "Healthy", serde_json::json!([])),
        _ => (
            "Unknown",
            "Healthy",
            serde_json::json!([{"type": "ComparisonError", "message": "repository not found"}]),
        ),
    };
    serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": format!("app-{i:04}"), "namespace": "argocd"},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "scale"},
            "source": {"repoURL": "file:///nonexistent/repo.git", "path": format!("apps/{i:04}"), "targetRevision": "HEAD"},
        },
        "status": {
            "sync": {"status": sync, "revision": "0123456789abcdef"},
            "health": {"status": health},
            "conditions": conditions,
        },
    })
}

/// 1,000 Applications: all reach the table (counted by state in the
/// title), the filter finds one near the end, `j`, PageDown, `G` and `g`
/// move the selection and scroll the window, and a new Application still
/// shows up live.
#[test]
fn a_thousand_applications_scroll_and_filter() {
    let t0 = Instant::now();
    let bed = Bed::private("tui-1000", false);
    let crds = bed.home.path().join("crds.yaml");
    std::fs::write(&crds, argocd_crds()).unwrap();
    bed.kubectl_ok(&["create", "-f", &crds.display().to_string()]);
    for crd in ["applications.argoproj.io", "applicationsets.argoproj.io"] {
        support::wait_for(&format!("CRD {crd} Established"), wait_secs(60), || {
            let out = bed.kubectl(&[
                "get",
                "crd",
                crd,
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
            ]);
            (stdout(&out) == "True").then_some(())
        });
    }
    bed.kubectl_ok(&["create", "namespace", "argocd"]);
    // Four kubectl processes of 250 each.
    let files: Vec<String> = (0..4)
        .map(|chunk| {
            let items: Vec<serde_json::Value> = (chunk * 250..(chunk + 1) * 250).map(application).collect();
            let f = bed.home.path().join(format!("apps-{chunk}.json"));
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            std::fs::write(&f, serde_json::to_vec(&list).unwrap()).unwrap();
            f.display().to_string()
        })
        .collect();
    std::thread::scope(|sc| {
        for f in &files {
            let bed = &bed;
            sc.spawn(move || bed.kubectl_ok(&["create", "-f", f, "-o", "name"]));
        }
    });
    let count = bed.kubectl_ok(&["get", "applications", "-n", "argocd", "-o", "name"]);
    assert_eq!(count.lines().count(), 1000);
    eprintln!("[tui 1000] test bed and 1,000 Applications took {:?}", t0.elapsed());

    let t = Tmux::start(
        &bed,
        "thousand",
        (120, 40),
        &["status", "--watch", "--context", "kindops-testbed"],
    );
    let s = t.wait_for("all 1,000 Applications, counted by state", wait_secs(60), |s| {
        s.contains("Applications 1000 ✓250 ↻250 ≠250 ✗250")
    });
    assert!(s.contains("● live"), "{s}");
    let rows = table_rows(&s);
    assert!(rows.len() >= 30, "a 40-line screen shows at least 30 rows:\n{s}");
    assert_eq!(rows[0].2, "app-0000", "{s}");
    assert_eq!(selected(&s).as_deref(), Some("app-0000"), "{s}");
    assert!(row_has(&s, "app-0003", &["✗", "Unknown"]), "{s}");
    assert!(
        row(&s, "app-0003").is_some_and(|l| l.contains("ComparisonError: repository not found")),
        "{s}"
    );
    assert!(row_has(&s, "app-0002", &["≠", "OutOfSync", "Healthy"]), "{s}");
    assert!(row_has(&s, "app-0001", &["↻", "Synced", "Progressing"]), "{s}");

    // Moving: j, PageDown, G, g.
    t.type_text("j");
    t.wait_for("j selects the second row", KEY_DEADLINE, |s| {
        selected(s).as_deref() == Some("app-0001")
    });
    t.keys(&["PageDown"]);
    let s = t.wait_for("PageDown scrolls by a page", KEY_DEADLINE, |s| {
        selected(s).is_some_and(|n| n.as_str() > "app-0020")
    });
    let sel = selected(&s).unwrap();
    t.keys(&["PageDown", "PageDown"]);
    let s = t.wait_for("two more pages", KEY_DEADLINE, |s| {
        selected(s).is_some_and(|n| n > sel) && row(s, "app-0000").is_none()
    });
    assert!(table_rows(&s).len() >= 30, "{s}");
    t.type_text("G");
    let s = t.wait_for("G: the last row", KEY_DEADLINE, |s| {
        selected(s).as_deref() == Some("app-0999")
    });
    assert_eq!(table_rows(&s).last().map(|r| r.2.as_str()), Some("app-0999"), "{s}");
    t.type_text("g");
    t.wait_for("g: the first row", KEY_DEADLINE, |s| {
        selected(s).as_deref() == Some("app-0000") && table_rows(s)[0].2 == "app-0000"
    });

    // Filtering 1,000 rows as you type.
    t.type_text("/app-0987");
    // Wait for the whole frame (tmux may capture while a large redraw is
    // still being written: the title line first, the rows after).
    let s = t.wait_for("the filter finds app-0987", KEY_DEADLINE, |s| {
        s.contains("/app-0987▏ (1/1000)") && table_rows(s).len() == 1
    });
    let names: Vec<String> = table_rows(&s).into_iter().map(|r| r.2).collect();
    assert_eq!(names, vec!["app-0987"], "{s}");
    t.keys(&["BSpace"]);
    t.wait_for("app-098 matches ten", KEY_DEADLINE, |s| {
        s.contains("/app-098▏ (10/1000)") && table_rows(s).len() == 10
    });
    t.keys(&["Escape"]);
    t.wait_for("the filter cleared", KEY_DEADLINE, |s| {
        !s.contains("/app-098") && table_rows(s).len() >= 30
    });
    // By state: the 250 OutOfSync ones.
    t.type_text("/outofsync");
    let s = t.wait_for("filtered by sync status", KEY_DEADLINE, |s| s.contains("(250/1000)"));
    assert!(
        table_rows(&s)
            .iter()
            .all(|r| r.3.split_whitespace().any(|c| c == "OutOfSync")),
        "{s}"
    );
    t.keys(&["Escape"]);
    t.wait_for("the filter cleared", KEY_DEADLINE, |s| !s.contains("(250/1000)"));

    // Still live with 1,000 rows: one more shows up.
    let late = bed.home.path().join("late.json");
    let mut app = application(0);
    app["metadata"]["name"] = "zz-late".into();
    std::fs::write(&late, serde_json::to_vec(&app).unwrap()).unwrap();
    bed.kubectl_ok(&["create", "-f", &late.display().to_string()]);
    t.wait_for("a new Application in the count", wait_secs(30), |s| {
        s.contains("Applications 1001 ✓251")
    });

    // A resize re-lays out the table: 80 columns drop PROJECT, REV and
    // LAST SYNC for AGE; 24 lines show fewer rows.
    let out = t.tmux(&["resize-window", "-t", &t.session, "-x", "80", "-y", "24"]);
    assert!(out.status.success(), "tmux resize-window: {}", show(&out));
    // Wait for the whole frame: a capture can land while tmux is still
    // painting the redraw after the resize.
    let s = t.wait_for("the table laid out for 80x24", KEY_DEADLINE, |s| {
        s.lines()
            .any(|l| l.contains("NAME") && l.contains("AGE") && !l.contains("PROJECT"))
            && table_rows(s).len() >= 15
    });
    assert!(s.lines().all(|l| l.chars().count() <= 80), "{s}");
    let rows = table_rows(&s);
    assert!((15..=21).contains(&rows.len()), "{} rows at 24 lines:\n{s}", rows.len());
    assert_eq!(selected(&s).as_deref(), Some("app-0000"), "{s}");

    t.type_text("q");
    assert_eq!(t.assert_exited_and_terminal_sane(), 0);
    eprintln!("[tui 1000] done after {:?}", t0.elapsed());
}

/// Quitting while a phase runs cancels the engine and exits 130 with the
/// terminal given back; SIGTERM does the same (130: the TUI's loop turns it
/// into a quit), never leaving the terminal in raw mode.
#[test]
fn quitting_or_sigterm_mid_phase_interrupts_and_restores_the_terminal() {
    let bed = Bed::private("tui-quit", false);
    let args = [
        "up",
        "--phase",
        "1",
        "--context",
        "kindops-testbed",
        "--mirror",
        &mirror(),
        "--repo-url",
        &bed.repo_url(),
        "--timeout",
        "5m",
    ];
    // A Deployment that never becomes Available keeps phase 1 running.
    bed.kubectl_ok(&["create", "namespace", "argocd"]);
    bed.kubectl_ok(&[
        "-n",
        "argocd",
        "create",
        "deployment",
        "stuck",
        "--image=example.invalid/none:1",
    ]);
    bed.kubectl_ok(&[
        "-n",
        "argocd",
        "patch",
        "deployment",
        "stuck",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"template":{"spec":{"nodeSelector":{"no-such-node":"true"}}}}}"#,
    ]);

    let t = Tmux::start(&bed, "quit", (100, 30), &args);
    // Phase 1's applies take 40 s on a quiet machine, over 2 min at load 20.
    t.wait_for("phase 1 waiting for rollouts", wait_secs(300), |s| {
        s.lines().any(|l| l.contains("running wait for rollouts"))
    });
    t.type_text("q");
    assert_eq!(t.assert_exited_and_terminal_sane(), 130, "q mid-phase");
    drop(t);

    let t = Tmux::start(&bed, "term", (100, 30), &args);
    // Phase 1's applies take 40 s on a quiet machine, over 2 min at load 20.
    t.wait_for("phase 1 waiting for rollouts", wait_secs(300), |s| {
        s.lines().any(|l| l.contains("running wait for rollouts"))
    });
    let pattern = format!("^{KINDOPS} up .*{}", bed.repo_url());
    let kill = Command::new("pkill").args(["-TERM", "-f", &pattern]).output().unwrap();
    assert!(
        kill.status.success(),
        "no kindops process matched {pattern}: {}",
        show(&kill)
    );
    let code = t.assert_exited_and_terminal_sane();
    assert_eq!(code, 130, "SIGTERM mid-phase exit code");
}
