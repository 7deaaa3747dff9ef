//! Typed events the engine emits while it runs phases.
//!
//! The engine knows nothing of terminals: the TUI (`crate::tui`) and the
//! plain/JSON printers (`crate::report`) are two readers of this one stream.
//! Every event carries `elapsed_ms`, milliseconds since the run started.

use serde::Serialize;
use std::time::Duration;

/// Phase number, 0..=4 for the built-in phases.
pub type PhaseNo = u8;

/// What a reader needs to draw the whole walk-through before it starts.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PhaseInfo {
    pub number: PhaseNo,
    pub title: String,
    /// Plain-language explanation for learners (from `phases/phase-N.yaml`).
    pub explain: String,
    /// One short label per step, in run order.
    pub steps: Vec<String>,
}

/// Why a step or a run failed: the object, the reason, the next step.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Failure {
    /// The object at fault, e.g. `Application argocd/cart` or `Deployment argocd/argocd-server`.
    pub object: Option<String>,
    /// What went wrong, with the API's or the tool's own message.
    pub reason: String,
    /// What the user can do next.
    pub hint: Option<String>,
    /// Last lines of a failed child process's output (kind, git, kubectl), oldest first.
    pub output_tail: Vec<String>,
}

/// Which output of a child process a log line came from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
    /// A line written by kindops itself (a command line before it runs, a note).
    Kindops,
}

/// How a run ended; decides the exit code (0, 1, 130).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    Succeeded,
    Failed,
    Interrupted,
}

/// What kindops did to ride out an outage inside a step
/// ([`Event::StepRecovery`]); made by `cluster::outage`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recovery {
    /// Requests fail transiently (`outage::transient`): `attempt` is the
    /// failed try of the request that reports it (1 = its first), sent
    /// again in `retry_in_ms` milliseconds; `error` is the client's or the
    /// API server's own words. Reported when an outage starts and then at
    /// most every `outage::REPORT_EVERY` while it lasts.
    ApiServerUnreachable {
        attempt: u32,
        retry_in_ms: u64,
        error: String,
    },
    /// The first request answered after an outage: `down_ms` since the first
    /// failure, `retries` requests sent again meanwhile.
    ApiServerBack { down_ms: u64, retries: u32 },
    /// A watch (`watch`: what it watches, e.g. `Deployments in argocd`) that
    /// failed `errors` times delivered again, `down_ms` after its first error.
    WatchResumed { watch: String, errors: u32, down_ms: u64 },
    /// A CustomResourceDefinition whose names were accepted but which was not
    /// Established for `outage::NUDGE_AFTER` got an annotation set and removed
    /// (see `outage::crd_established`).
    CrdNudged { name: String },
}

impl Recovery {
    /// One line for a learner, e.g. `API server unreachable (...): retry 2 in 0.8s`.
    pub fn line(&self) -> String {
        let s = |ms: &u64| format!("{:.1}s", *ms as f64 / 1000.0);
        match self {
            Recovery::ApiServerUnreachable {
                attempt,
                retry_in_ms,
                error,
            } => format!(
                "API server unreachable ({error}): request retried (try {}) in {}",
                attempt + 1,
                s(retry_in_ms)
            ),
            Recovery::ApiServerBack { down_ms, retries } => {
                format!("API server back after {} ({retries} requests sent again)", s(down_ms))
            }
            Recovery::WatchResumed { watch, errors, down_ms } => {
                format!("watch on {watch} resumed after {} ({errors} failed tries)", s(down_ms))
            }
            Recovery::CrdNudged { name } => format!(
                "CustomResourceDefinition {name}: names accepted but not Established; nudged it (an annotation set and removed)"
            ),
        }
    }
}

/// One thing that happened. `phase`/`step` index into [`Event::RunStarted`]'s `phases`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The plan about to run: every phase, with its steps.
    RunStarted {
        phases: Vec<PhaseInfo>,
        target: String,
    },
    PhaseStarted {
        phase: PhaseNo,
    },
    /// The cluster answers: `context` is the kubeconfig context kindops uses from
    /// now on (`kind-<name>` for a kind cluster phase 0 created or found, or the
    /// `--context` given). Emitted once per run, as soon as phase 0 has a client;
    /// a reader that watches the cluster (the TUI's Applications view) starts here.
    ClusterReady {
        context: String,
    },
    /// Presenter mode: the engine waits for [`Control::Continue`] before this phase.
    AwaitingContinue {
        phase: PhaseNo,
    },
    PhaseFinished {
        phase: PhaseNo,
        elapsed: Duration,
    },
    StepStarted {
        phase: PhaseNo,
        step: usize,
        label: String,
    },
    /// Progress inside a step (e.g. `3/7 Deployments Available`).
    StepProgress {
        phase: PhaseNo,
        step: usize,
        message: String,
    },
    /// A captured output line of a child process, or a note by kindops.
    StepLog {
        phase: PhaseNo,
        step: usize,
        stream: Stream,
        line: String,
    },
    /// `changed` is false when the step found everything already in place.
    StepFinished {
        phase: PhaseNo,
        step: usize,
        changed: bool,
        message: String,
        elapsed: Duration,
    },
    StepFailed {
        phase: PhaseNo,
        step: usize,
        failure: Failure,
        elapsed: Duration,
    },
    /// How a step rides out an outage (the API server restarting, a watch
    /// cut): shown in the step's log, so a learner sees why it waits.
    StepRecovery {
        phase: PhaseNo,
        step: usize,
        recovery: Recovery,
    },
    /// A secret the user asked to see (e.g. the Argo CD initial admin password). Never logged.
    SecretShown {
        phase: PhaseNo,
        step: usize,
        label: String,
        value: String,
    },
    RunFinished {
        outcome: RunOutcome,
        failure: Option<Failure>,
    },
}

/// An event with its time stamp, as sent on the channel: the engine's
/// [`Event`] by default, a lesson's (`crate::learn::event::StampedLesson`)
/// the same way. JSON: the event's own fields plus `elapsed_ms`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stamped<E = Event> {
    pub elapsed_ms: u64,
    #[serde(flatten)]
    pub event: E,
}

/// Messages from a reader (the TUI) back to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Presenter mode: go on with the phase the engine is waiting before.
    Continue,
    /// Run the failed step again (and the rest of its phase).
    Retry,
}
