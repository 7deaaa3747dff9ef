//! Typed events of a lesson run (`kindops learn N`): the plain/JSON printer
//! (`crate::report::learn`) and the TUI read the same stream, as for `up`.
//! Every event is sent with `elapsed_ms`, milliseconds since the run started.

use serde::Serialize;

/// How a lesson ended; decides the exit code (passed/skipped 0, failed 1, interrupted 130).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LessonOutcome {
    /// Every check held, live, against the cluster.
    Passed,
    /// A check did not hold, or a change could not be made.
    Failed,
    /// The lesson cannot be shown on this cluster (e.g. lesson 4 on the test
    /// bed, where no EventListener pod serves); it says why.
    Skipped,
    /// Undone (`--undo`): the lesson's changes were taken back.
    Undone,
    Interrupted,
}

/// One thing that happened in a lesson.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LessonEvent {
    /// The lesson about to run, with its plain-words explanation.
    LessonStarted {
        lesson: u8,
        name: String,
        title: String,
        explain: String,
        /// The cluster it runs on (`context X`).
        target: String,
    },
    /// One step, explained before it runs (`step` counts from 1).
    StepExplained { lesson: u8, step: usize, text: String },
    /// Presenter mode (`--step`): the lesson waits for a key before `step`.
    AwaitingContinue { lesson: u8, step: usize },
    /// kindops changed something: a commit in the git source (`commit`: full
    /// SHA) or an object in the cluster (`object`: `Rollout coffee/cart-app`).
    ChangeMade {
        lesson: u8,
        what: String,
        commit: Option<String>,
        object: Option<String>,
    },
    /// An object moved from one state to another, as the API server's watch
    /// delivered it. Applications: `sync/health` as Argo CD writes them in
    /// `status.sync.status` / `status.health.status`, with `, Syncing` while
    /// `status.operationState.phase` is `Running`, or `absent`. Rollouts:
    /// `replicas N, ready M` (`spec.replicas`, `status.readyReplicas`), or
    /// `absent`. `seconds`: since the lesson's last change.
    TransitionObserved {
        lesson: u8,
        object: String,
        from: String,
        to: String,
        /// `status.sync.revision` for Applications (full SHA), else empty.
        revision: String,
        seconds: f64,
    },
    /// A condition read off an object, as the details view shows it:
    /// `ComparisonError` and Argo CD's own message.
    ConditionRead {
        lesson: u8,
        object: String,
        condition: String,
        message: String,
    },
    /// A plain note: what the lesson cannot show here, what it left changed.
    Note { lesson: u8, text: String },
    /// The end: outcome, and for anything but `passed`, why and what to do next.
    LessonFinished {
        lesson: u8,
        outcome: LessonOutcome,
        reason: Option<String>,
        hint: Option<String>,
        /// What the lesson left changed (empty when it left the environment as it found it).
        left_changed: Vec<String>,
    },
}

/// A lesson event with its time stamp, as sent on the channel (the
/// engine's stamp: `elapsed_ms` beside the event's own fields in JSON).
pub type StampedLesson = crate::engine::event::Stamped<LessonEvent>;
