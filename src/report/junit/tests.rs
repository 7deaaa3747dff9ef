//! The JUnit reader fed event sequences as the engine emits them (the real
//! embedded plan's phases and step labels, the engine's own failure and
//! interruption texts), the XML read back with roxmltree, an XML parser of
//! its own (not quick-junit's).

use super::*;
use crate::engine::event::{Failure, Stream};

/// `RunStarted`'s phases for phases 0..=upto of the embedded plan.
fn phases(upto: PhaseNo) -> Vec<PhaseInfo> {
    let plan = crate::plan::Plan::load(&crate::plan::phase_source(None), &crate::content::Content::embedded())
        .expect("the embedded plan loads");
    plan.upto(upto)
        .iter()
        .map(|p| PhaseInfo {
            number: p.phase,
            title: p.title.clone(),
            explain: p.explain.clone(),
            steps: p.steps.iter().map(crate::plan::Step::label).collect(),
        })
        .collect()
}

/// Builds a stream as the engine's run loop sends it (engine/mod.rs `run`, `run_phase`).
struct Run {
    events: Vec<Stamped>,
    ms: u64,
    phases: Vec<PhaseInfo>,
}

impl Run {
    fn start(upto: PhaseNo) -> Run {
        let phases = phases(upto);
        let mut r = Run {
            events: vec![],
            ms: 0,
            phases: phases.clone(),
        };
        r.emit(
            0,
            Event::RunStarted {
                phases,
                target: "context kindops-testbed".into(),
            },
        );
        r
    }
    fn emit(&mut self, after_ms: u64, event: Event) {
        self.ms += after_ms;
        self.events.push(Stamped {
            elapsed_ms: self.ms,
            event,
        });
    }
    fn step_started(&mut self, phase: PhaseNo, step: usize) {
        let label = self.phases[phase as usize].steps[step].clone();
        self.emit(1, Event::StepStarted { phase, step, label });
    }
    fn log(&mut self, phase: PhaseNo, step: usize, line: &str) {
        let (stream, line) = (Stream::Kindops, line.to_string());
        self.emit(
            1,
            Event::StepLog {
                phase,
                step,
                stream,
                line,
            },
        );
    }
    fn step_ok(&mut self, phase: PhaseNo, step: usize, changed: bool, message: &str, ms: u64) {
        self.step_started(phase, step);
        self.emit(
            ms,
            Event::StepFinished {
                phase,
                step,
                changed,
                message: message.into(),
                elapsed: Duration::from_millis(ms),
            },
        );
    }
    fn step_failed(&mut self, phase: PhaseNo, step: usize, failure: Failure, ms: u64) {
        self.emit(
            ms,
            Event::StepFailed {
                phase,
                step,
                failure,
                elapsed: Duration::from_millis(ms),
            },
        );
    }
    fn phase_0_on_a_context(&mut self) {
        self.emit(1, Event::PhaseStarted { phase: 0 });
        self.step_started(0, 0);
        self.log(0, 0, "ok      kubectl   kubectl at /usr/bin/kubectl");
        self.emit(
            40,
            Event::StepFinished {
                phase: 0,
                step: 0,
                changed: false,
                message: "6 checks passed, 0 warnings; 8 upstream artifacts verified".into(),
                elapsed: Duration::from_millis(40),
            },
        );
        self.step_ok(0, 1, false, "using context kindops-testbed", 12);
        self.emit(
            0,
            Event::ClusterReady {
                context: "kindops-testbed".into(),
            },
        );
        self.step_ok(0, 2, false, "no --mirror image archives: nothing to load", 1);
        self.step_ok(0, 3, false, "context kindops-testbed: no local registry is created", 0);
        self.emit(
            0,
            Event::PhaseFinished {
                phase: 0,
                elapsed: Duration::from_millis(57),
            },
        );
    }
    fn finish(&mut self, outcome: RunOutcome, failure: Option<Failure>) {
        self.emit(1, Event::RunFinished { outcome, failure });
    }
    fn xml(&self) -> String {
        let mut j = JunitReport::new();
        for ev in &self.events {
            j.observe(ev);
        }
        j.report().to_string().expect("serializes")
    }
}

fn stuck_deployment() -> Failure {
    Failure {
        object: Some("Deployment argocd/argocd-server".into()),
        reason:
            "Deployment argocd/argocd-server not Available within 20s: Available=False (MinimumReplicasUnavailable)"
                .into(),
        hint: Some("a workload is not Available: look at its pods' events (image pulls, scheduling, resources)".into()),
        output_tail: vec![],
    }
}

/// Testcases of the document, as (suite name, case name, its status child's tag or "").
fn cases(doc: &roxmltree::Document) -> Vec<(String, String, String)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|c| {
            let suite = c.parent().and_then(|s| s.attribute("name")).unwrap_or_default();
            let status = c
                .children()
                .filter(|n| n.is_element())
                .map(|n| n.tag_name().name())
                .find(|t| ["failure", "error", "skipped"].contains(t))
                .unwrap_or_default();
            (
                suite.to_string(),
                c.attribute("name").unwrap().to_string(),
                status.to_string(),
            )
        })
        .collect()
}

fn case<'a, 'i>(doc: &'a roxmltree::Document<'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    doc.descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("no testcase {name}"))
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, tag: &str) -> roxmltree::Node<'a, 'i> {
    n.children()
        .find(|c| c.has_tag_name(tag))
        .unwrap_or_else(|| panic!("no <{tag}> in {:?}", n.attribute("name")))
}

#[test]
fn a_run_that_succeeds_has_one_suite_per_phase_and_one_passed_case_per_step_and_no_secret() {
    let mut run = Run::start(1);
    run.phase_0_on_a_context();
    run.emit(1, Event::PhaseStarted { phase: 1 });
    run.step_started(1, 0);
    run.log(1, 0, "GitOps content materialized in /tmp/.tmpq3XbLz");
    run.emit(
        1_250,
        Event::StepFinished {
            phase: 1,
            step: 0,
            changed: true,
            message: "61 objects (3 CRDs), 61 changed".into(),
            elapsed: Duration::from_millis(1_250),
        },
    );
    run.step_ok(1, 1, true, "126 objects (15 CRDs), 126 changed", 2_799);
    run.step_ok(1, 2, true, "25 objects (25 CRDs), 25 changed", 399);
    run.step_ok(1, 3, true, "5 objects (5 CRDs), 5 changed", 120);
    run.step_ok(1, 4, false, "14 workloads Available", 4_321);
    run.step_started(1, 5);
    run.emit(
        3,
        Event::SecretShown {
            phase: 1,
            step: 5,
            label: "the Argo CD admin password".into(),
            value: "hunter2-not-in-junit".into(),
        },
    );
    run.emit(
        0,
        Event::StepFinished {
            phase: 1,
            step: 5,
            changed: false,
            message: "the Argo CD admin password shown (--show-secrets)".into(),
            elapsed: Duration::from_millis(3),
        },
    );
    run.step_ok(
        1,
        6,
        false,
        "Argo CD UI: kubectl -n argocd port-forward svc/argocd-server 8080:443",
        0,
    );
    run.emit(
        0,
        Event::PhaseFinished {
            phase: 1,
            elapsed: Duration::from_millis(8_900),
        },
    );
    run.finish(RunOutcome::Succeeded, None);
    let xml = run.xml();
    assert!(!xml.contains("hunter2"), "a secret in the report:\n{xml}");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("11"));
    assert_eq!(root.attribute("failures"), Some("0"));
    assert_eq!(root.attribute("skipped"), Some("0"));
    let suites: Vec<_> = root.children().filter(|n| n.has_tag_name("testsuite")).collect();
    let names: Vec<_> = suites.iter().map(|s| s.attribute("name").unwrap()).collect();
    assert_eq!(
        names,
        vec![
            format!("phase 0: {}", run.phases[0].title),
            format!("phase 1: {}", run.phases[1].title)
        ]
    );
    // A suite's time is PhaseFinished's elapsed, in seconds.
    assert_eq!(suites[1].attribute("time"), Some("8.900"));
    let got = cases(&doc);
    assert_eq!(got.len(), 11);
    assert!(got.iter().all(|(_, _, status)| status.is_empty()), "{got:?}");
    let argo = case(&doc, &format!("step 1: {}", run.phases[1].steps[0]));
    assert_eq!(argo.attribute("classname"), Some("kindops.phase-1"));
    assert_eq!(argo.attribute("time"), Some("1.250"));
    assert_eq!(
        child(argo, "system-out").text(),
        Some("GitOps content materialized in /tmp/.tmpq3XbLz\nok: 61 objects (3 CRDs), 61 changed")
    );
    let wait = case(&doc, &format!("step 5: {}", run.phases[1].steps[4]));
    assert_eq!(wait.attribute("time"), Some("4.321"));
    assert!(child(wait, "system-out")
        .text()
        .unwrap()
        .ends_with("ok (unchanged): 14 workloads Available"));
}

#[test]
fn a_failed_step_is_a_failure_naming_the_object_and_reason_and_the_steps_after_it_are_skipped() {
    let mut run = Run::start(1);
    run.phase_0_on_a_context();
    run.emit(1, Event::PhaseStarted { phase: 1 });
    for (i, m) in ["61 objects (3 CRDs), 0 changed", "126 objects (15 CRDs), 0 changed"]
        .iter()
        .enumerate()
    {
        run.step_ok(1, i, false, m, 300);
    }
    run.step_ok(1, 2, false, "25 objects (25 CRDs), 0 changed", 100);
    run.step_ok(1, 3, false, "5 objects (5 CRDs), 0 changed", 50);
    run.step_started(1, 4);
    let mut failure = stuck_deployment();
    failure.output_tail = vec!["Warning  FailedScheduling  0/1 nodes are available".into()];
    run.step_failed(1, 4, failure.clone(), 20_004);
    run.finish(RunOutcome::Failed, Some(failure));
    let xml = run.xml();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(
        (
            root.attribute("tests"),
            root.attribute("failures"),
            root.attribute("skipped")
        ),
        (Some("11"), Some("1"), Some("2"))
    );
    let wait = case(&doc, &format!("step 5: {}", run.phases[1].steps[4]));
    assert_eq!(wait.attribute("time"), Some("20.004"));
    let f = child(wait, "failure");
    assert_eq!(
        f.attribute("message"),
        Some(
            "Deployment argocd/argocd-server: Deployment argocd/argocd-server not Available within 20s: Available=False (MinimumReplicasUnavailable)"
        )
    );
    assert_eq!(f.attribute("type"), Some("Deployment argocd/argocd-server"));
    // GitLab shows the element's text, not its message: object and reason are there too.
    let text = f.text().unwrap();
    for part in [
        "object: Deployment argocd/argocd-server",
        "reason: Deployment argocd/argocd-server not Available within 20s",
        "next:   a workload is not Available",
        "| Warning  FailedScheduling  0/1 nodes are available",
    ] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
    for i in [5, 6] {
        let c = case(&doc, &format!("step {}: {}", i + 1, run.phases[1].steps[i]));
        assert_eq!(
            child(c, "skipped").attribute("message"),
            Some("not run: the run stopped at phase 1, step 5, which failed")
        );
        assert_eq!(c.attribute("time"), None, "a step not run has no time");
    }
}

#[test]
fn an_interrupted_run_has_the_interrupted_step_failed_and_every_step_not_run_skipped() {
    let mut run = Run::start(4);
    run.phase_0_on_a_context();
    run.emit(1, Event::PhaseStarted { phase: 1 });
    run.step_started(1, 0);
    // As engine/mod.rs run_phase says it when the token is cancelled mid-step.
    let failure = Failure {
        object: None,
        reason: format!("interrupted during phase 1, step 1: {}", run.phases[1].steps[0]),
        hint: Some("run `kindops up` again: every step converges, so it resumes where it stopped".into()),
        output_tail: vec![],
    };
    run.step_failed(1, 0, failure.clone(), 410);
    run.finish(RunOutcome::Interrupted, Some(failure));
    let doc_xml = run.xml();
    let doc = roxmltree::Document::parse(&doc_xml).unwrap();
    let planned: usize = run.phases.iter().map(|p| p.steps.len()).sum();
    let got = cases(&doc);
    assert_eq!(got.len(), planned, "every planned step of phases 0-4 is in the report");
    let passed = got.iter().filter(|c| c.2.is_empty()).count();
    let failed: Vec<_> = got.iter().filter(|c| c.2 == "failure").collect();
    let skipped = got.iter().filter(|c| c.2 == "skipped").count();
    assert_eq!((passed, failed.len(), skipped), (4, 1, planned - 5), "{got:?}");
    let f = child(case(&doc, &failed[0].1), "failure");
    assert_eq!(
        f.attribute("message"),
        Some(format!("interrupted during phase 1, step 1: {}", run.phases[1].steps[0]).as_str())
    );
    assert_eq!(f.attribute("type"), None, "no object: no type");
    let last = case(&doc, &format!("step 1: {}", run.phases[4].steps[0]));
    assert_eq!(
        child(last, "skipped").attribute("message"),
        Some("not run: the run was interrupted at phase 1, step 1")
    );
}

#[test]
fn interrupted_while_the_presenter_waits_skips_every_step() {
    let mut run = Run::start(1);
    run.emit(1, Event::AwaitingContinue { phase: 0 });
    run.finish(RunOutcome::Interrupted, None);
    let xml = run.xml();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let got = cases(&doc);
    assert_eq!(got.len(), 11);
    assert!(got.iter().all(|c| c.2 == "skipped"), "{got:?}");
    let first = case(&doc, &format!("step 1: {}", run.phases[0].steps[0]));
    assert_eq!(
        child(first, "skipped").attribute("message"),
        Some("not run: the run was interrupted")
    );
}

#[test]
fn a_step_retried_in_the_tui_keeps_its_failed_attempts_as_flaky_or_rerun_failures() {
    let mut run = Run::start(1);
    run.phase_0_on_a_context();
    run.emit(1, Event::PhaseStarted { phase: 1 });
    run.step_started(1, 0);
    run.step_failed(1, 0, stuck_deployment(), 100);
    // `r` in the TUI: the engine starts the same step again (Control::Retry).
    run.step_ok(1, 0, true, "61 objects (3 CRDs), 1 changed", 200);
    run.step_started(1, 1);
    run.step_failed(1, 1, stuck_deployment(), 300);
    run.step_started(1, 1);
    run.step_failed(1, 1, stuck_deployment(), 400);
    run.finish(RunOutcome::Failed, Some(stuck_deployment()));
    let xml = run.xml();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let flaky = case(&doc, &format!("step 1: {}", run.phases[1].steps[0]));
    assert!(flaky.children().all(|c| !c.has_tag_name("failure")));
    assert_eq!(child(flaky, "flakyFailure").attribute("time"), Some("0.100"));
    assert_eq!(flaky.attribute("time"), Some("0.200"), "the last attempt's time");
    let failed = case(&doc, &format!("step 2: {}", run.phases[1].steps[1]));
    assert_eq!(
        child(failed, "failure").attribute("type"),
        Some("Deployment argocd/argocd-server")
    );
    assert_eq!(child(failed, "rerunFailure").attribute("time"), Some("0.300"));
    assert_eq!(failed.attribute("time"), Some("0.400"));
}

#[test]
fn a_stream_that_ends_mid_step_marks_that_step_an_error() {
    let mut run = Run::start(1);
    run.phase_0_on_a_context();
    run.emit(1, Event::PhaseStarted { phase: 1 });
    run.step_started(1, 0);
    let xml = run.xml();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let c = case(&doc, &format!("step 1: {}", run.phases[1].steps[0]));
    assert_eq!(
        child(c, "error").attribute("message"),
        Some("did not finish: the run ended while this step ran")
    );
    let next = case(&doc, &format!("step 2: {}", run.phases[1].steps[1]));
    assert_eq!(
        child(next, "skipped").attribute("message"),
        Some("not run: the run ended before it reached this step")
    );
}

#[test]
fn a_long_log_keeps_its_last_lines_and_says_how_many_it_left_out() {
    let mut run = Run::start(0);
    run.emit(1, Event::PhaseStarted { phase: 0 });
    run.step_started(0, 1);
    for i in 0..MAX_LOG_LINES + 7 {
        run.log(0, 1, &format!("line {i}"));
    }
    run.emit(
        1,
        Event::StepFinished {
            phase: 0,
            step: 1,
            changed: true,
            message: "created".into(),
            elapsed: Duration::from_secs(30),
        },
    );
    let xml = run.xml();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let out = child(case(&doc, &format!("step 2: {}", run.phases[0].steps[1])), "system-out")
        .text()
        .unwrap()
        .to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "... 7 earlier log lines left out");
    assert_eq!(lines[1], "line 7");
    assert_eq!(lines[lines.len() - 2], format!("line {}", MAX_LOG_LINES + 6));
    assert_eq!(lines.len(), MAX_LOG_LINES + 2);
}

#[test]
fn write_replaces_the_file_whole_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junit.xml");
    std::fs::write(&path, "old content").unwrap();
    let mut run = Run::start(0);
    run.phase_0_on_a_context();
    run.finish(RunOutcome::Succeeded, None);
    let mut j = JunitReport::new();
    run.events.iter().for_each(|e| j.observe(e));
    j.write(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(cases(&doc).len(), 4);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["junit.xml".to_string()]);
    // The mode a plain file created there gets (0666 less the umask), not tempfile's 0600.
    use std::os::unix::fs::PermissionsExt;
    let plain = dir.path().join("plain");
    std::fs::File::create(&plain).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), mode(&plain));
    std::fs::remove_file(&plain).unwrap();
    // Into a directory that is gone: an error naming the directory.
    let gone = dir.path().join("gone/junit.xml");
    let err = format!("{:#}", j.write(&gone).unwrap_err());
    assert!(err.contains(&dir.path().join("gone").display().to_string()), "{err}");
}

#[test]
fn check_path_names_the_flag_the_directory_and_the_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/junit.xml");
    let e = check_path(&missing).unwrap_err();
    let d = dir.path().join("no/such/dir").display().to_string();
    assert!(e.starts_with(&format!("--junit {}:", missing.display())), "{e}");
    assert!(
        e.contains(&format!("directory {d} does not exist")) && e.contains(&format!("mkdir -p {d}")),
        "{e}"
    );
    let e = check_path(dir.path()).unwrap_err();
    assert!(e.contains("is a directory") && e.contains("--junit"), "{e}");
    check_path(&dir.path().join("junit.xml")).unwrap();
    check_path(Path::new("junit.xml")).unwrap();
    // The check leaves nothing behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
