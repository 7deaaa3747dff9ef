//! The TUI end to end: the real `kindops` binary in a real terminal (tmux),
//! against private test beds (a real API server, and for the Applications
//! view the real Argo CD controllers). Keys go in with `tmux send-keys`; the
//! screen comes back with `tmux capture-pane`; after `q` the pane's shell
//! records the exit code and `stty -a`, so a terminal left in raw mode or on
//! the alternate screen fails the test.
//!
//! Every wait polls the screen with a generous deadline: these tests check
//! what is shown, not how fast (the render benchmark is `benches/tui.rs`).

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::bed::{mirror, show, stdout, testbed_phases, Bed, KINDOPS};

/// How long the screen may take to show what a key asked for.
const KEY_DEADLINE: Duration = Duration::from_secs(20);

/// The pane's shell prompt, set so the test can recognise it.
const PROMPT: &str = "TUI-PROMPT$";

// ---------------------------------------------------------------- tmux

/// A tmux server of its own (`tmux -L SOCKET`) with one session whose pane
/// runs an interactive `bash`; killed (with everything in it) on drop.
struct Tmux {
    socket: String,
    session: String,
    /// Where the pane's script writes `exit.txt` and `stty.txt`.
    dir: PathBuf,
    /// kindops's data dir (its log file is there).
    data: PathBuf,
}

/// `'text'` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Tmux {
    /// Opens a `width`x`height` pane running `bash -i` (KINDOPS_TESTBED_NAME
    /// names `bed`), then types a command that runs `kindops ARGS` inside
    /// the bed's namespace and, when it ends, records its exit code and the
    /// terminal mode it left.
    fn start(bed: &Bed, purpose: &str, size: (u16, u16), args: &[&str]) -> Tmux {
        let dir = bed.home.path().join(format!("tmux-{purpose}"));
        std::fs::create_dir_all(&dir).unwrap();
        let data = bed.home.path().join("data");
        let script = dir.join("run.sh");
        let kindops = std::iter::once(KINDOPS)
            .chain(args.iter().copied())
            .map(sh_quote)
            .collect::<Vec<_>>()
            .join(" ");
        std::fs::write(
            &script,
            format!(
                "bash {testbed} exec -- env XDG_DATA_HOME={data} XDG_CACHE_HOME={cache} {kindops}\n\
                 code=$?\n\
                 stty -a > {dir}/stty.txt\n\
                 echo \"KINDOPS_EXIT=$code\"\n\
                 echo $code > {dir}/exit.tmp && mv {dir}/exit.tmp {dir}/exit.txt\n",
                testbed = sh_quote(&support::testbed_script().display().to_string()),
                data = sh_quote(&data.display().to_string()),
                cache = sh_quote(&bed.home.path().join("cache").display().to_string()),
                dir = sh_quote(&dir.display().to_string()),
            ),
        )
        .unwrap();
        let t = Tmux {
            socket: format!("kindops-tui-{}-{purpose}", std::process::id()),
            session: purpose.to_string(),
            dir,
            data,
        };
        let shell = format!(
            "env KINDOPS_TESTBED_NAME={} PS1={} HISTFILE= bash --norc --noprofile -i",
            sh_quote(&bed.name),
            sh_quote(&format!("{PROMPT} "))
        );
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            &size.0.to_string(),
            "-y",
            &size.1.to_string(),
            &shell,
        ]);
        assert!(out.status.success(), "tmux new-session: {}", show(&out));
        t.wait_for("the shell prompt", Duration::from_secs(10), |s| {
            s.lines().any(|l| l.trim_end() == PROMPT)
        });
        t.type_text(&format!("bash {}", sh_quote(&script.display().to_string())));
        t.keys(&["Enter"]);
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        // No user or system tmux.conf: the test's own defaults only.
        Command::new("tmux")
            .args(["-f", "/dev/null", "-L"])
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux (Debian package tmux)")
    }

    /// The visible pane, one line per row, trailing spaces trimmed.
    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &self.session]);
        assert!(out.status.success(), "tmux capture-pane: {}", show(&out));
        stdout(&out)
    }

    /// `tmux display -p FORMAT` for the pane (e.g. `#{alternate_on}`).
    fn display(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", &self.session, format]);
        assert!(out.status.success(), "tmux display: {}", show(&out));
        stdout(&out).trim().to_string()
    }

    /// Named keys (`Enter`, `Escape`, `PageDown`, `Space`...).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        let out = self.tmux(&args);
        assert!(out.status.success(), "tmux send-keys {keys:?}: {}", show(&out));
    }

    /// Literal text, as typed.
    fn type_text(&self, text: &str) {
        let out = self.tmux(&["send-keys", "-t", &self.session, "-l", text]);
        assert!(out.status.success(), "tmux send-keys -l {text:?}: {}", show(&out));
    }

    /// Polls the screen until `ok` holds; panics with the last screen and
    /// kindops's log tail after `timeout`.
    fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; the screen:\n{s}\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// The last lines of kindops's log files, for failure messages.
    fn log_tail(&self) -> String {
        let mut out = String::new();
        if let Ok(rd) = std::fs::read_dir(self.data.join("kindops/logs")) {
            for e in rd.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                out.push_str(&format!("--- {} (last 30 lines)\n", e.path().display()));
                for l in &lines[lines.len().saturating_sub(30)..] {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Waits for kindops to end; asserts the shell prompt is back, the
    /// alternate screen left, the cursor shown and the tty in cooked mode
    /// with echo. Returns the exit code.
    fn assert_exited_and_terminal_sane(&self) -> i32 {
        let exit_file = self.dir.join("exit.txt");
        let start = Instant::now();
        while !exit_file.exists() {
            if start.elapsed() > KEY_DEADLINE {
                panic!(
                    "kindops did not end within {KEY_DEADLINE:?} after q; the screen:\n{}\n{}",
                    self.screen(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        let code: i32 = std::fs::read_to_string(&exit_file).unwrap().trim().parse().unwrap();
        let screen = self.wait_for("the shell prompt after kindops ended", KEY_DEADLINE, |s| {
            s.lines().rev().find(|l| !l.trim().is_empty()).map(str::trim_end) == Some(PROMPT)
                && s.contains(&format!("KINDOPS_EXIT={code}"))
        });
        // Back on the normal screen: the command line typed before kindops
        // started is still there above the prompt.
        assert!(screen.contains("run.sh"), "not the shell's own screen:\n{screen}");
        assert_eq!(
            self.display("#{alternate_on}"),
            "0",
            "alternate screen not left:\n{screen}"
        );
        assert_eq!(self.display("#{cursor_flag}"), "1", "cursor left hidden:\n{screen}");
        assert_eq!(self.display("#{pane_current_command}"), "bash");
        // What kindops left, read before the interactive shell touched the tty.
        let stty = std::fs::read_to_string(self.dir.join("stty.txt")).unwrap();
        let flags: Vec<&str> = stty.split(|c: char| c.is_whitespace() || c == ';').collect();
        for f in ["icanon", "echo", "isig", "icrnl", "opost", "onlcr"] {
            assert!(flags.contains(&f), "tty left without {f} (raw mode?):\n{stty}");
        }
        code
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // kill-server leaves its socket file behind.
        let socket = self.tmux(&["display-message", "-p", "#{socket_path}"]);
        let _ = self.tmux(&["kill-server"]);
        let path = stdout(&socket);
        if socket.status.success() && path.trim().ends_with(&self.socket) {
            let _ = std::fs::remove_file(path.trim());
        }
    }
}

// ---------------------------------------------------------------- screen parsing

/// Table rows of the Applications view as (selected, symbol, name, the
/// row from its symbol on), in screen order. A row is `┃›✓ name ...`
/// inside the pane (`›` marks the selected one).
fn table_rows(screen: &str) -> Vec<(bool, char, String, String)> {
    screen
        .lines()
        .filter_map(|l| {
            let mut cs = l.chars();
            let border = cs.next()?;
            if border != '┃' && border != '│' {
                return None;
            }
            let marker = cs.next()?;
            let symbol = cs.next()?;
            if !"✓↻≠✗?".contains(symbol) || (marker != '›' && marker != ' ') {
                return None;
            }
            let rest = cs.as_str();
            let name = rest.split_whitespace().next()?.to_string();
            Some((marker == '›', symbol, name, format!("{symbol}{rest}")))
        })
        .collect()
}

/// The row of `name`, if it is on the screen.
fn row(screen: &str, name: &str) -> Option<String> {
    table_rows(screen).into_iter().find(|r| r.2 == name).map(|r| r.3)
}

/// True if `name`'s row is shown with every one of `words` as a column.
fn row_has(screen: &str, name: &str, words: &[&str]) -> bool {
    row(screen, name).is_some_and(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        words.iter().all(|w| cols.contains(w))
    })
}

fn selected(screen: &str) -> Option<String> {
    table_rows(screen).into_iter().find(|r| r.0).map(|r| r.2)
}

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
    let bed = Bed::up("tui-status", true);
    // Phase 3 does not wait for metrics-server: it stays Progressing here.
    let phases = testbed_phases(bed.home.path());
    let repo = bed.repo_url();
    let up = bed.kindops_up(&["--phase", "4", "--phases", &phases]);
    assert_eq!(up.status.code(), Some(0), "kindops up --phase 4: {}", show(&up));
    eprintln!("[tui status] test bed and phases 0-4 took {:?}", t0.elapsed());
    for l in stdout(&up).lines().filter(|l| l.starts_with("==>")) {
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
    let bed = Bed::up("tui-step", false);
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
        phase0.is_some_and(|i| s.lines().nth(i + 1).is_some_and(|l| l.contains("pending · 0/2 steps"))),
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
    let bed = Bed::up("tui-1000", false);
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
    let s = t.wait_for("the filter finds app-0987", KEY_DEADLINE, |s| {
        s.contains("/app-0987▏ (1/1000)")
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
/// terminal given back; SIGTERM does the same (130, or 143 if the signal
/// itself ended the process), never leaving the terminal in raw mode.
#[test]
fn quitting_or_sigterm_mid_phase_interrupts_and_restores_the_terminal() {
    let bed = Bed::up("tui-quit", false);
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
    t.wait_for("phase 1 waiting for rollouts", wait_secs(120), |s| {
        s.lines().any(|l| l.contains("running wait for rollouts"))
    });
    t.type_text("q");
    assert_eq!(t.assert_exited_and_terminal_sane(), 130, "q mid-phase");
    drop(t);

    let t = Tmux::start(&bed, "term", (100, 30), &args);
    t.wait_for("phase 1 waiting for rollouts", wait_secs(120), |s| {
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
    assert!(code == 130 || code == 143, "SIGTERM mid-phase exit code {code}");
}
