//! `kindops up --junit FILE`: a JUnit XML report of the run, for CI test
//! report views (GitLab's unit test reports, Jenkins' `junit` step). A third
//! reader of the engine's event stream, beside the plain/JSON printer and the
//! TUI: [`tee`] passes every event on unchanged and feeds a [`JunitReport`].
//!
//! Shape (one file per run):
//!
//! ```text
//! <testsuites name="kindops up" tests=.. failures=.. errors=.. skipped=.. time=SECONDS>
//!   <testsuite name="phase N: TITLE" time=SECONDS>           one per phase 0..=N the run planned
//!     <testcase name="step I: LABEL" classname="kindops.phase-N" time=SECONDS>   one per step, I from 1
//!       (nothing)                                           the step finished
//!       <failure message="OBJECT: REASON" type="OBJECT">    the step failed (StepFailed's Failure);
//!         object/reason/next/last output, one per line      an interrupted step too: its reason
//!       </failure>                                          says "interrupted during phase N, step I"
//!       <skipped message="not run: ..."/>                   the step never started
//!       <error message="did not finish: ..."/>              started, no result before the stream ended
//!       <flakyFailure>/<rerunFailure>                       earlier failed attempts (the TUI's retry)
//!       <system-out>                                        the step's log lines and its result line
//! ```
//!
//! Times are seconds with millisecond precision (the events' `elapsed`).
//! A failed or interrupted run (exit 1 or 130) still has every planned step:
//! the ones not run are **present as `<skipped/>`**, with the reason (the
//! step that failed, or the interruption), so a report lists the same steps
//! on every run. Secrets ([`Event::SecretShown`]) are never written: that
//! event is ignored here. A run refused before it starts (exit 2: bad flags,
//! phase files that do not parse) writes no file.
//!
//! The format is the Jenkins/Surefire dialect quick-junit writes
//! (quick-junit 0.8 `src/lib.rs`, "the Jenkins format",
//! <https://llg.cubic.org/docs/junit/>), and the parts of it the two CI
//! readers read:
//! - GitLab (`lib/gitlab/ci/parsers/test/junit.rb`, gitlabhq): `testsuites` >
//!   `testsuite` > `testcase` with `name`, `classname`, `time` (seconds); the
//!   status from a `failure`, `error` or `skipped` child, whose **text** it
//!   shows as the details (not the `message` attribute), hence the object and
//!   reason in the text too. Test cases are keyed by classname and name, so
//!   names carry the step number (labels may repeat within a phase).
//! - Jenkins (jenkinsci/junit-plugin `src/main/java/hudson/tasks/junit/CaseResult.java`):
//!   `name`, `classname` (split at its last `.` into package and class),
//!   `time` in seconds, `error`/`failure` text as the stack trace and its
//!   `message` as the details, `skipped` and its `message`, `system-out`.

use crate::engine::event::{Event, Failure, PhaseInfo, PhaseNo, RunOutcome, Stamped};
use anyhow::{Context, Result};
use quick_junit::{FlakyOrRerun, NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

#[cfg(test)]
mod tests;

/// Log lines kept per step (the last ones); earlier lines are counted.
pub const MAX_LOG_LINES: usize = 500;

/// A step as the stream told it so far.
#[derive(Debug, Clone, Default)]
struct StepRecord {
    /// Set by `StepStarted`; `None` = never started.
    started: bool,
    /// `Some(Ok(result line))` after `StepFinished`, `Some(Err(..))` after `StepFailed`.
    result: Option<std::result::Result<String, Failure>>,
    /// The last attempt's `elapsed`.
    elapsed: Duration,
    /// Failed attempts before the last one (the TUI's retry), with their `elapsed`.
    earlier: Vec<(Failure, Duration)>,
    log: Vec<String>,
    log_dropped: usize,
}

/// What the event stream said, collected for a JUnit report. Feed it every
/// event ([`JunitReport::observe`]), then [`JunitReport::report`] or
/// [`JunitReport::write`].
#[derive(Debug, Clone, Default)]
pub struct JunitReport {
    /// From `RunStarted`: every planned phase and its step labels.
    phases: Vec<PhaseInfo>,
    steps: BTreeMap<(PhaseNo, usize), StepRecord>,
    /// `PhaseFinished`'s elapsed per phase.
    phase_elapsed: BTreeMap<PhaseNo, Duration>,
    /// `RunFinished`'s outcome; `None` if the stream ended without one.
    outcome: Option<RunOutcome>,
    /// Where the run stopped: (phase, step) of the last `StepFailed`.
    stopped_at: Option<(PhaseNo, usize)>,
    /// The last event's `elapsed_ms`.
    last_ms: u64,
}

impl JunitReport {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one event into account. [`Event::SecretShown`] is ignored (never written).
    pub fn observe(&mut self, ev: &Stamped) {
        self.last_ms = self.last_ms.max(ev.elapsed_ms);
        match &ev.event {
            Event::RunStarted { phases, .. } => self.phases = phases.clone(),
            Event::PhaseFinished { phase, elapsed } => {
                self.phase_elapsed.insert(*phase, *elapsed);
            }
            Event::StepStarted { phase, step, .. } => {
                let r = self.steps.entry((*phase, *step)).or_default();
                // A retry (the TUI's `r`): the failed attempt becomes an earlier one.
                if let Some(Err(f)) = r.result.take() {
                    r.earlier.push((f, r.elapsed));
                }
                r.started = true;
                r.elapsed = Duration::ZERO;
            }
            Event::StepLog { phase, step, line, .. } => {
                let r = self.steps.entry((*phase, *step)).or_default();
                if r.log.len() == MAX_LOG_LINES {
                    r.log.remove(0);
                    r.log_dropped += 1;
                }
                r.log.push(line.clone());
            }
            Event::StepFinished {
                phase,
                step,
                changed,
                message,
                elapsed,
            } => {
                let r = self.steps.entry((*phase, *step)).or_default();
                let verdict = if *changed { "ok" } else { "ok (unchanged)" };
                r.result = Some(Ok(format!("{verdict}: {message}")));
                r.elapsed = *elapsed;
            }
            Event::StepFailed {
                phase,
                step,
                failure,
                elapsed,
            } => {
                let r = self.steps.entry((*phase, *step)).or_default();
                r.result = Some(Err(failure.clone()));
                r.elapsed = *elapsed;
                self.stopped_at = Some((*phase, *step));
            }
            Event::RunFinished { outcome, .. } => self.outcome = Some(*outcome),
            Event::PhaseStarted { .. }
            | Event::ClusterReady { .. }
            | Event::AwaitingContinue { .. }
            | Event::StepProgress { .. }
            | Event::StepRecovery { .. }
            | Event::SecretShown { .. } => {}
        }
    }

    /// Why a step that never started was not run.
    fn not_run_reason(&self) -> String {
        let at = self
            .stopped_at
            .map(|(p, s)| format!(" at phase {p}, step {}", s + 1))
            .unwrap_or_default();
        match self.outcome {
            Some(RunOutcome::Interrupted) => format!("not run: the run was interrupted{at}"),
            Some(RunOutcome::Failed) => format!("not run: the run stopped{at}, which failed"),
            Some(RunOutcome::Succeeded) => "not run".to_string(),
            None => format!("not run: the run ended{at} before it reached this step"),
        }
    }

    /// The report as quick-junit's data model (see the module docs for the shape).
    pub fn report(&self) -> Report {
        let mut report = Report::new("kindops up");
        report.set_time(Duration::from_millis(self.last_ms));
        let not_run = self.not_run_reason();
        for phase in &self.phases {
            let mut suite = TestSuite::new(format!("phase {}: {}", phase.number, phase.title));
            let mut steps_time = Duration::ZERO;
            for (i, label) in phase.steps.iter().enumerate() {
                let rec = self.steps.get(&(phase.number, i)).cloned().unwrap_or_default();
                steps_time += rec.elapsed + rec.earlier.iter().map(|(_, d)| *d).sum::<Duration>();
                suite.add_test_case(test_case(phase.number, i, label, rec, &not_run));
            }
            suite.set_time(self.phase_elapsed.get(&phase.number).copied().unwrap_or(steps_time));
            report.add_test_suite(suite);
        }
        report
    }

    /// Writes the report to `path` atomically: a temporary file in the same
    /// directory, synced, then renamed over `path`. A reader never sees a
    /// half-written file. Its mode is what `> FILE` in a shell gives (0666
    /// less the umask): the report holds no secret, and a CI runner's upload
    /// may read it as another user.
    ///
    /// Errors: the directory cannot be written, the disk is full, the rename fails.
    pub fn write(&self, path: &Path) -> Result<()> {
        let dir = parent_dir(path);
        let mut tmp = tempfile::Builder::new()
            .prefix(".kindops-junit-")
            .suffix(".tmp")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        self.report()
            .serialize(&mut tmp)
            .with_context(|| format!("writing {}", tmp.path().display()))?;
        tmp.flush()?;
        tmp.as_file().sync_all()?;
        tmp.persist(path)
            .map_err(|e| e.error)
            .with_context(|| format!("renaming the report into place as {}", path.display()))?;
        Ok(())
    }
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `--junit FILE`, checked before anything runs: its directory exists and
/// can be written (a temporary file is made there and removed), and FILE is
/// not a directory. The message names the flag and the next step.
pub fn check_path(path: &Path) -> std::result::Result<(), String> {
    let shown = path.display();
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(format!(
            "--junit {shown}: directory {} does not exist; create it first (mkdir -p {}) or name a file in an existing directory",
            dir.display(),
            dir.display()
        ));
    }
    if path.is_dir() {
        return Err(format!(
            "--junit {shown}: is a directory; name a file in it, e.g. --junit {}",
            path.join("kindops-junit.xml").display()
        ));
    }
    tempfile::Builder::new()
        .prefix(".kindops-junit-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| format!("--junit {shown}: cannot write in {}: {e}", dir.display()))
}

fn failure_text(f: &Failure) -> String {
    let mut lines = Vec::new();
    if let Some(o) = &f.object {
        lines.push(format!("object: {o}"));
    }
    lines.push(format!("reason: {}", f.reason));
    if let Some(h) = &f.hint {
        lines.push(format!("next:   {h}"));
    }
    if !f.output_tail.is_empty() {
        lines.push("last output:".into());
        lines.extend(f.output_tail.iter().map(|l| format!("| {l}")));
    }
    lines.join("\n")
}

fn failure_message(f: &Failure) -> String {
    match &f.object {
        Some(o) => format!("{o}: {}", f.reason),
        None => f.reason.clone(),
    }
}

fn rerun(f: &Failure, elapsed: Duration) -> TestRerun {
    let mut r = TestRerun::new(NonSuccessKind::Failure);
    r.set_time(elapsed)
        .set_message(failure_message(f))
        .set_description(failure_text(f));
    if let Some(o) = &f.object {
        r.set_type(o.as_str());
    }
    r
}

fn test_case(phase: PhaseNo, i: usize, label: &str, rec: StepRecord, not_run: &str) -> TestCase {
    let earlier: Vec<TestRerun> = rec.earlier.iter().map(|(f, d)| rerun(f, *d)).collect();
    let mut out = Vec::new();
    if rec.log_dropped > 0 {
        out.push(format!("... {} earlier log lines left out", rec.log_dropped));
    }
    out.extend(rec.log);
    let status = match (&rec.result, rec.started) {
        (Some(Ok(line)), _) => {
            out.push(line.clone());
            TestCaseStatus::Success { flaky_runs: earlier }
        }
        (Some(Err(f)), _) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(failure_message(f)).set_description(failure_text(f));
            if let Some(o) = &f.object {
                s.set_type(o.as_str());
            }
            s.add_reruns(earlier).set_rerun_kind(FlakyOrRerun::Rerun);
            s
        }
        (None, true) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message("did not finish: the run ended while this step ran");
            s
        }
        (None, false) => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(not_run);
            s
        }
    };
    let mut case = TestCase::new(format!("step {}: {label}", i + 1), status);
    case.set_classname(format!("kindops.phase-{phase}"));
    if rec.started {
        case.set_time(rec.elapsed);
    }
    if !out.is_empty() {
        case.set_system_out(out.join("\n"));
    }
    case
}

/// Passes the engine's stream on unchanged (to the TUI or the printer) while
/// collecting a [`JunitReport`]; the task ends, returning the report, when the
/// stream ends (the engine dropped its sender). Events the next reader no
/// longer takes (the TUI has quit) are still collected.
pub fn tee(mut rx: UnboundedReceiver<Stamped>) -> (UnboundedReceiver<Stamped>, tokio::task::JoinHandle<JunitReport>) {
    let (tx, out) = unbounded_channel();
    let task = tokio::spawn(async move {
        let mut report = JunitReport::new();
        while let Some(ev) = rx.recv().await {
            report.observe(&ev);
            let _ = tx.send(ev);
        }
        report
    });
    (out, task)
}
