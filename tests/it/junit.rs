//! `kindops up --junit FILE` end to end: the real binary against the test
//! bed, the report read back with roxmltree (an XML parser, not string
//! matching) and compared with what the same run printed as JSON lines.

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

use support::bed::Bed;
use support::kindops::Kindops;

/// A testcase as the report has it.
#[derive(Debug, Clone, PartialEq)]
struct Case {
    classname: String,
    name: String,
    /// `failure`, `error`, `skipped`, or "" (passed).
    status: String,
    message: Option<String>,
    ty: Option<String>,
    text: String,
    time: Option<f64>,
}

/// Every testcase of the JUnit file at `path`, in document order.
fn read_cases(path: &Path) -> Vec<Case> {
    let xml = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{}: not XML: {e}\n{xml}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "testsuites", "{xml}");
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|c| {
            assert_eq!(c.parent().unwrap().tag_name().name(), "testsuite");
            let st = c
                .children()
                .find(|n| ["failure", "error", "skipped"].contains(&n.tag_name().name()));
            Case {
                classname: c.attribute("classname").unwrap_or_default().to_string(),
                name: c.attribute("name").unwrap().to_string(),
                status: st.map(|n| n.tag_name().name().to_string()).unwrap_or_default(),
                message: st.and_then(|n| n.attribute("message")).map(str::to_string),
                ty: st.and_then(|n| n.attribute("type")).map(str::to_string),
                text: st.and_then(|n| n.text()).unwrap_or_default().to_string(),
                time: c.attribute("time").map(|t| t.parse().expect("time in seconds")),
            }
        })
        .collect()
}

/// (classname, name) of the testcase for the step a `step_started` JSON event names.
fn case_key(v: &serde_json::Value) -> (String, String) {
    (
        format!("kindops.phase-{}", v["phase"]),
        format!(
            "step {}: {}",
            v["step"].as_u64().unwrap() + 1,
            v["message"].as_str().unwrap()
        ),
    )
}

/// A copy of `phases/` whose phase 1 also waits 2 s for an Application that
/// nobody creates: a step that fails for certain, naming its object, with two
/// steps after it (show-secret, note).
fn phases_with_a_failing_step(dir: &Path) -> String {
    let p = dir.join("phases-failing");
    std::fs::create_dir_all(&p).unwrap();
    for n in 0..=4 {
        let f = format!("phase-{n}.yaml");
        let mut text = std::fs::read_to_string(support::repo_root().join("phases").join(&f)).unwrap();
        if n == 1 {
            let anchor = "  - type: show-secret\n";
            assert!(
                text.contains(anchor),
                "phase-1.yaml changed shape; update tests/it/junit.rs"
            );
            text = text.replace(
                anchor,
                &format!("  - type: wait-applications\n    applications: [no-such-app]\n    timeout: 2s\n{anchor}"),
            );
        }
        std::fs::write(p.join(&f), text).unwrap();
    }
    p.display().to_string()
}

/// Phase 1 on a private bed with `--output json --junit`: one testcase per
/// step the JSON stream started, all passed, with times; then a run whose
/// phase 1 has a step that fails: its testcase is a failure naming the
/// object and reason the plain output names, and the steps after it are
/// skipped.
#[test]
fn junit_has_one_testcase_per_step_run_and_a_failure_names_the_object() {
    let bed = Bed::private("junit", false);
    let ok_xml = bed.home.path().join("reports/ok.xml");
    std::fs::create_dir_all(ok_xml.parent().unwrap()).unwrap();
    let run = Kindops::up(&bed)
        .args(["--phase", "1", "--timeout", "4m", "--output", "json", "--junit"])
        .arg(&ok_xml)
        .run();
    run.assert_code(0);
    let started: Vec<serde_json::Value> = run
        .stdout()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .filter(|v| v["event"] == "step_started")
        .collect();
    assert_eq!(started.len(), 4 + 7, "phase 0 has 4 steps and phase 1 has 7\n{run}");
    let cases = read_cases(&ok_xml);
    let in_report: Vec<(String, String)> = cases.iter().map(|c| (c.classname.clone(), c.name.clone())).collect();
    let in_stream: Vec<(String, String)> = started.iter().map(case_key).collect();
    assert_eq!(in_report, in_stream, "testcases = the steps the run started, in order");
    for c in &cases {
        assert_eq!(c.status, "", "{c:?}");
        assert!(c.time.is_some_and(|t| t >= 0.0), "{c:?}");
    }
    // The wait for 14 workloads took some time; the report says how long, in seconds.
    let wait = cases
        .iter()
        .find(|c| c.name.starts_with("step 5: wait for rollouts"))
        .unwrap();
    assert!(wait.time.unwrap() > 0.0, "{wait:?}");

    // A step that fails: exit 1, the failure names the object, later steps skipped.
    let phases = phases_with_a_failing_step(bed.home.path());
    let fail_xml = bed.home.path().join("reports/fail.xml");
    let run = Kindops::up(&bed)
        .args(["--phase", "1", "--phases", &phases, "--junit"])
        .arg(&fail_xml)
        .run();
    let text = run.assert_code(1).stdout();
    assert!(text.contains("object: Application argocd/no-such-app"), "{run}");
    let cases = read_cases(&fail_xml);
    assert_eq!(cases.len(), 4 + 8, "{cases:#?}");
    let statuses: Vec<&str> = cases.iter().map(|c| c.status.as_str()).collect();
    let mut want = vec![""; 4 + 5];
    want.extend(["failure", "skipped", "skipped"]);
    assert_eq!(statuses, want, "{cases:#?}");
    let failed = &cases[9];
    assert_eq!(failed.name, "step 6: wait for Applications Synced+Healthy: no-such-app");
    assert_eq!(failed.ty.as_deref(), Some("Application argocd/no-such-app"));
    let message = failed.message.as_deref().unwrap();
    assert!(
        message.starts_with("Application argocd/no-such-app: Applications not Synced+Healthy within 2s")
            && message.contains("not created yet"),
        "{message}"
    );
    assert!(
        failed.text.contains("object: Application argocd/no-such-app"),
        "{failed:?}"
    );
    assert!(
        failed.text.contains("next:   look at the Application's conditions"),
        "{failed:?}"
    );
    for c in &cases[10..] {
        assert_eq!(
            c.message.as_deref(),
            Some("not run: the run stopped at phase 1, step 6, which failed"),
            "{c:?}"
        );
    }
    // Nothing but the two reports in their directory: no temporary file left.
    let names: BTreeSet<String> = std::fs::read_dir(ok_xml.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, BTreeSet::from(["ok.xml".to_string(), "fail.xml".to_string()]));
}

/// Ctrl-C mid-phase 1 (exit 130): the report is still written, whole; the
/// step that was running is a failure saying it was interrupted, the steps
/// before it passed, every planned step after it is there as skipped.
/// Runs against the shared test bed from this process's own namespace, so
/// the signal goes straight to kindops (as tests/it/cli.rs's interrupt test).
#[test]
fn an_interrupted_run_still_writes_the_report() {
    use std::io::BufRead;
    let bed = Bed::shared();
    let xml = bed.home.path().join("interrupted.xml");
    let mut child = Kindops::up(&bed)
        .args(["--phase", "1", "--junit"])
        .arg(&xml)
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(out).lines() {
        let line = line.unwrap();
        if line.contains("-> apply platform/argo-cd") {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            )
            .unwrap();
        }
        seen.push(line);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{}", seen.join("\n"));
    let cases = read_cases(&xml);
    assert_eq!(cases.len(), 4 + 7, "every planned step is in the report: {cases:#?}");
    let at = cases
        .iter()
        .position(|c| c.status == "failure")
        .unwrap_or_else(|| panic!("no interrupted step: {cases:#?}\n{}", seen.join("\n")));
    let stopped = &cases[at];
    let step_no = stopped.name.split(':').next().unwrap().trim_start_matches("step ");
    assert_eq!(stopped.classname, "kindops.phase-1", "{stopped:?}");
    assert!(
        stopped
            .message
            .as_deref()
            .unwrap()
            .starts_with(&format!("interrupted during phase 1, step {step_no}")),
        "{stopped:?}"
    );
    assert!(cases[..at].iter().all(|c| c.status.is_empty()), "{cases:#?}");
    for c in &cases[at + 1..] {
        assert_eq!(c.status, "skipped", "{c:?}");
        assert_eq!(
            c.message.as_deref(),
            Some(format!("not run: the run was interrupted at phase 1, step {step_no}").as_str())
        );
    }
}

/// `--junit` into a directory that does not exist: exit 2 before anything
/// runs, naming the flag, the directory and the next step; no file made.
#[test]
fn junit_into_a_missing_directory_is_bad_input_naming_the_flag() {
    let home = tempfile::tempdir().unwrap();
    let target = home.path().join("no-such-dir/report.xml");
    let run = Kindops::new()
        .args(["up", "--no-tui", "--junit"])
        .arg(&target)
        .home(home.path())
        .run();
    run.assert_code(2);
    let dir = home.path().join("no-such-dir").display().to_string();
    assert!(
        run.stderr().contains(&format!("--junit {}", target.display()))
            && run.stderr().contains(&format!("directory {dir} does not exist"))
            && run.stderr().contains("mkdir -p"),
        "{run}"
    );
    assert!(run.stdout().is_empty(), "{run}");
    assert!(!home.path().join("no-such-dir").exists());
    let run = Kindops::new()
        .args(["up", "--no-tui", "--junit"])
        .arg(home.path())
        .home(home.path())
        .run();
    assert!(run.assert_code(2).stderr().contains("is a directory"), "{run}");
}

/// The full-screen view reads the same stream through the tee: phase 0 in
/// the TUI (tmux, a real terminal) with `--junit`, `q` once it succeeded,
/// exit 0, and the report has phase 0's three steps, passed.
#[test]
fn the_tui_writes_the_report_too() {
    let bed = Bed::shared();
    let xml = bed.home.path().join("tui.xml");
    let xml_arg = xml.display().to_string();
    let mirror = support::bed::mirror();
    let args = [
        "up",
        "--phase",
        "0",
        "--context",
        support::kindops::CONTEXT,
        "--mirror",
        &mirror,
        "--junit",
        &xml_arg,
    ];
    let t = support::tmux::Tmux::start(&bed, "junit", (100, 30), &args);
    t.wait_for("the run to succeed", std::time::Duration::from_secs(120), |s| {
        s.lines().next().is_some_and(|l| l.contains("✓ succeeded in"))
    });
    t.type_text("q");
    assert_eq!(t.assert_exited_and_terminal_sane(), 0);
    let cases = read_cases(&xml);
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "step 1: preflight checks",
            "step 2: create the kind cluster",
            "step 3: load images from the mirror into the nodes",
            "step 4: start the local registry"
        ]
    );
    assert!(
        cases
            .iter()
            .all(|c| c.status.is_empty() && c.classname == "kindops.phase-0"),
        "{cases:#?}"
    );
}
