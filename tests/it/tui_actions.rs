//! Issue 12, "In the TUI": the phases screen shows the Applications beside
//! the steps during phases 2–4, the Applications table's actions act on
//! real Applications through the Kubernetes API (the real Argo CD
//! application-controller and repo-server do the work, and the test reads
//! what they did), and `kindops open` finds the UI.
//!
//! One scenario on one private test bed with the real Argo CD (it takes
//! ~1 GiB and most of a core; the sections share its state): `open` before
//! Argo CD exists, phases 0–2 in the TUI, then on the table: sync (after
//! y/n) of an Application without automated sync, refresh and hard refresh,
//! the admin password copied (OSC 52, read back from tmux's buffer) and
//! shown; then `open` with and without `--show-secrets`, and with a browser.
//!
//! Every wait polls with a generous deadline: what Argo CD did is asserted,
//! not how fast.

use crate::support;

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use support::bed::{show, stdout, Bed};
use support::kindops::{Kindops, CONTEXT};
use support::tmux::{row_has, selected, Tmux, KEY_DEADLINE};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The Applications pane of the screen only: on the split phases screen the
/// phase list's rows (`│›✓ 2 Argo CD…`) read like table rows too.
fn apps_pane(screen: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for l in screen.lines() {
        if (l.starts_with('┏') || l.starts_with('┌')) && l.contains(" Applications ") {
            inside = true;
        } else if inside && (l.starts_with('┗') || l.starts_with('└')) {
            break;
        } else if inside {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn app_json(bed: &Bed, name: &str) -> Value {
    let out = bed.kubectl_ok(&["-n", "argocd", "get", "application", name, "-o", "json"]);
    serde_json::from_str(&out).unwrap()
}

/// A git repository of its own with one ConfigMap, for an Application
/// that nothing syncs but the test.
fn hello_repo(bed: &Bed) -> String {
    let dir = bed.home.path().join("hello.git");
    let git = |args: &[&str]| {
        let id = [
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@localhost",
            "-c",
            "init.defaultBranch=main",
        ];
        support::git::ok(&dir, &[&id[..], args].concat());
    };
    std::fs::create_dir_all(dir.join("hello")).unwrap();
    git(&["init", "-q"]);
    std::fs::write(
        dir.join("hello/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  greeting: synced by the TUI\n",
    )
    .unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "hello"]);
    format!("file://{}", dir.display())
}

/// Lines of the application-controller's log that say it compared
/// Application `name` because of `reason` (argo-cd v3.5.1
/// controller/appcontroller.go needRefreshAppStatus: "Refreshing app status
/// (<reason>), level (<n>)"; a user's refresh reads "normal refresh
/// requested" or "hard refresh requested").
fn refreshes(bed: &Bed, name: &str, reason: &str) -> usize {
    let log = std::fs::read_to_string(bed.dir.join("logs/application-controller.log")).unwrap_or_default();
    let want = format!("Refreshing app status ({reason})");
    log.lines()
        .filter(|l| l.contains(&want) && l.contains(&format!("application={name}")))
        .count()
}

#[test]
fn the_tui_acts_on_real_applications_and_open_finds_the_ui() {
    let t0 = Instant::now();
    let bed = Bed::private("tui-acts", true);

    // `kindops open` before Argo CD is installed: exit 2, naming what is missing and the next step.
    let r = Kindops::new()
        .args(["open", "--no-browser"])
        .context()
        .in_bed(&bed)
        .run();
    r.assert_code(2);
    assert!(
        r.stderr().contains("Argo CD is not installed")
            && r.stderr().contains("Service argocd/argocd-server does not exist")
            && r.stderr().contains("kindops up --phase 1 --context kindops-testbed"),
        "{r}"
    );

    // Phases 0–2 in the TUI at 80x24: the Applications table beside the steps.
    let repo = bed.repo_url();
    let mirror = support::bed::mirror();
    let t = Tmux::start(
        &bed,
        "acts",
        (80, 24),
        &[
            "up",
            "--phase",
            "2",
            "--context",
            CONTEXT,
            "--mirror",
            &mirror,
            "--repo-url",
            &repo,
        ],
    );
    let s = t.wait_for(
        "phases 0-2 done, argo-cd Synced+Healthy in the table beside phase 2's steps",
        secs(300),
        |s| {
            s.lines().next().is_some_and(|l| l.contains("✓ succeeded in"))
                && s.contains("Phase 2 · Argo CD manages itself")
                && row_has(s, "argo-cd", &["✓", "Synced", "Healthy"])
        },
    );
    assert!(s.contains("Log ("), "the log is still on the phases screen:\n{s}");
    assert!(s.lines().all(|l| l.chars().count() <= 80), "{s}");
    eprintln!("[tui acts] phases 0-2 in the TUI after {:?}", t0.elapsed());

    // An Application nothing syncs: OutOfSync, its ConfigMap missing.
    let hello = bed.home.path().join("hello-app.yaml");
    std::fs::write(
        &hello,
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: hello\n  namespace: argocd\n\
             spec:\n  project: default\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n\
             \x20 source:\n    repoURL: {}\n    path: hello\n    targetRevision: HEAD\n",
            hello_repo(&bed)
        ),
    )
    .unwrap();
    bed.kubectl_ok(&["create", "-f", &hello.display().to_string()]);
    t.wait_for("hello OutOfSync in the table", secs(90), |s| {
        row_has(s, "hello", &["≠", "OutOfSync", "Missing"]) || row_has(s, "hello", &["OutOfSync", "Missing"])
    });
    assert!(!bed
        .kubectl(&["-n", "default", "get", "configmap", "hello"])
        .status
        .success());

    // Tab twice: the Applications pane; the filter selects hello.
    t.keys(&["Tab", "Tab"]);
    t.type_text("/hello");
    t.keys(&["Enter"]);
    t.wait_for("hello selected", KEY_DEADLINE, |s| {
        selected(&apps_pane(s)).as_deref() == Some("hello")
    });

    // `s` asks; `n` changes nothing.
    t.type_text("s");
    t.wait_for("the sync question", KEY_DEADLINE, |s| {
        s.contains("Sync Application argocd/hello now?")
    });
    t.type_text("n");
    t.wait_for("the question gone", KEY_DEADLINE, |s| !s.contains("now?"));
    std::thread::sleep(secs(2));
    assert!(app_json(&bed, "hello").get("operation").is_none(), "n set an operation");

    // `s`, `y`: the operation is set and the real controller runs it.
    t.type_text("s");
    t.wait_for("the sync question", KEY_DEADLINE, |s| {
        s.contains("Sync Application argocd/hello now?")
    });
    t.type_text("y");
    t.wait_for("what the sync set, under the table", KEY_DEADLINE, |s| {
        s.contains("✓ sync of Application argocd/hello: set .operation.sync")
    });
    let op = support::wait_for("hello's sync Succeeded", secs(120), || {
        let a = app_json(&bed, "hello");
        (a["status"]["operationState"]["phase"] == "Succeeded").then_some(a)
    });
    let started = &op["status"]["operationState"]["operation"];
    assert_eq!(started["initiatedBy"]["username"], "kindops", "{op:#}");
    assert_eq!(
        started["sync"]["syncStrategy"],
        serde_json::json!({"hook": {}}),
        "{op:#}"
    );
    let cm = bed.kubectl_ok(&[
        "-n",
        "default",
        "get",
        "configmap",
        "hello",
        "-o",
        "jsonpath={.data.greeting}",
    ]);
    assert_eq!(cm, "synced by the TUI");
    t.wait_for("hello Synced in the table", secs(90), |s| {
        row_has(s, "hello", &["✓", "Synced", "Healthy"])
    });

    // `f` and `F`: the controller compares again because the user asked (its own log says so),
    // consumes the annotation and stamps reconciledAt.
    for (key, value, reason) in [
        ("f", "normal", "normal refresh requested"),
        ("F", "hard", "hard refresh requested"),
    ] {
        let before = refreshes(&bed, "hello", reason);
        t.type_text(key);
        t.wait_for("what the refresh set", KEY_DEADLINE, |s| {
            s.contains(&format!("argocd.argoproj.io/refresh={value}"))
        });
        support::wait_for(&format!("the controller's {reason}"), secs(90), || {
            (refreshes(&bed, "hello", reason) > before).then_some(())
        });
        support::wait_for("the refresh annotation consumed", secs(60), || {
            app_json(&bed, "hello")["metadata"]["annotations"]
                .get("argocd.argoproj.io/refresh")
                .is_none()
                .then_some(())
        });
    }
    assert!(app_json(&bed, "hello")["status"]["reconciledAt"].is_string());

    // The password: `y` copies it through the terminal (tmux keeps OSC 52 in a buffer) ...
    let pw = bed.kubectl_ok(&[
        "-n",
        "argocd",
        "get",
        "secret",
        "argocd-initial-admin-secret",
        "-o",
        "jsonpath={.data.password}",
    ]);
    let pw = String::from_utf8(
        Command::new("base64")
            .arg("-d")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(pw.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(pw.len() >= 8, "the test bed's admin password");
    let set = t.tmux(&["set-option", "-s", "set-clipboard", "on"]);
    assert!(set.status.success(), "{}", show(&set));
    t.type_text("y");
    t.wait_for("the copy said", KEY_DEADLINE, |s| s.contains("to the clipboard"));
    let buffer = t.tmux(&["show-buffer"]);
    assert_eq!(stdout(&buffer), pw, "tmux's buffer after OSC 52: {}", show(&buffer));
    assert!(!t.screen().contains(&pw), "copying showed the password");
    // ... `p` then `y` shows it in a popup, Esc hides it.
    t.type_text("p");
    t.wait_for("the question", KEY_DEADLINE, |s| {
        s.contains("Show the Argo CD admin password")
    });
    t.type_text("y");
    t.wait_for("the popup", KEY_DEADLINE, |s| {
        s.contains(&pw) && s.contains("user      admin")
    });
    t.keys(&["Escape"]);
    t.wait_for("the popup closed", KEY_DEADLINE, |s| !s.contains(&pw));
    assert!(!t.log_tail().contains(&pw), "the password reached the log file");

    t.type_text("q");
    assert_eq!(t.assert_exited_and_terminal_sane(), 0);
    drop(t);

    // `kindops open` with Argo CD: the URL, how to reach it, the password only when asked.
    let r = Kindops::new()
        .args(["open", "--no-browser"])
        .context()
        .in_bed(&bed)
        .run();
    r.assert_code(0);
    let out = r.stdout();
    assert!(out.contains("Argo CD UI: http://localhost:8080"), "{r}");
    assert!(
        out.contains("kubectl -n argocd port-forward svc/argocd-server 8080:80"),
        "{r}"
    );
    assert!(out.contains("not opening a browser: --no-browser"), "{r}");
    assert!(!out.contains(&pw) && !r.stderr().contains(&pw), "{r}");
    let r = Kindops::new()
        .args(["open", "--show-secrets", "--ui-port", "9090"])
        .context()
        .in_bed(&bed)
        .run();
    r.assert_code(0);
    assert!(r.stdout().contains(&format!("password:   {pw}")), "{r}");
    assert!(r.stdout().contains("port-forward svc/argocd-server 9090:80"), "{r}");
    assert!(r.stdout().contains("start the port-forward first"), "{r}");

    // A kind cluster on a desktop: the browser gets the URL ($BROWSER, which the
    // `webbrowser` crate honours, records it). The bed stands in for kind
    // cluster `tbkind` (its kubeconfig context renamed `kind-tbkind`); there is no
    // node container, so the port comes from --ui-port, said on stderr.
    let kubeconfig = bed.home.path().join("kind.kubeconfig");
    let text = std::fs::read_to_string(&bed.kubeconfig).unwrap();
    std::fs::write(&kubeconfig, text.replace(CONTEXT, "kind-tbkind")).unwrap();
    let browser = bed.home.path().join("browser.sh");
    let seen = bed.home.path().join("browser-saw.txt");
    std::fs::write(&browser, format!("#!/bin/sh\necho \"$1\" > '{}'\n", seen.display())).unwrap();
    std::fs::set_permissions(&browser, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let r = Kindops::new()
        .args(["open", "--cluster", "tbkind", "--ui-port", "8181"])
        .env("KUBECONFIG", &kubeconfig)
        .env("DISPLAY", ":0")
        .env("BROWSER", &browser)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .in_bed(&bed)
        .run();
    r.assert_code(0);
    assert!(r.stdout().contains("Argo CD UI: http://localhost:8181"), "{r}");
    assert!(r.stderr().contains("assuming --ui-port 8181"), "{r}");
    let saw = support::wait_for("the browser started", secs(20), || std::fs::read_to_string(&seen).ok());
    // webbrowser hands it on normalized (a `/` path added).
    assert_eq!(saw.trim().trim_end_matches('/'), "http://localhost:8181");
    // Without a desktop, no browser.
    std::fs::remove_file(&seen).unwrap();
    let r = Kindops::new()
        .args(["open", "--cluster", "tbkind", "--ui-port", "8181"])
        .env("KUBECONFIG", &kubeconfig)
        .env("DISPLAY", "")
        .env("WAYLAND_DISPLAY", "")
        .env("BROWSER", &browser)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .in_bed(&bed)
        .run();
    r.assert_code(0);
    assert!(r.stdout().contains("no desktop here"), "{r}");
    std::thread::sleep(secs(2));
    assert!(!seen.exists(), "a browser started without a desktop");
    eprintln!("[tui acts] done after {:?}", t0.elapsed());
}
