//! `kindops learn`: hands-on lessons after phase 4, UI-free.
//!
//! Each lesson explains in plain words, makes a change (a commit in the git
//! source, or an object changed by hand), and checks the outcome live against
//! the cluster: the Application's sync status and health and the affected
//! resources, as Argo CD and the API server write them, with the seconds each
//! transition took ([`observe`]). It emits typed [`event::LessonEvent`]s; the
//! printer (`crate::report::learn`) reads them. Every lesson puts back what it
//! changed, can be run again, and can be undone (`--undo`) after an
//! interrupted run. Progress is kept per cluster in the state ConfigMap
//! ([`progress`]).
//!
//! One file per lesson: [`git_sync`] (1), [`drift`] (2), [`new_product`]
//! (3), [`ci_by_path`] (4), [`reading_states`] (5), [`code_to_cluster`] (6),
//! [`broken_change`] (7), [`rotate_secret`] (8).

pub mod broken_change;
pub mod ci_by_path;
pub mod code_to_cluster;
pub mod drift;
pub mod edit;
pub mod event;
pub mod git_sync;
pub mod new_product;
pub mod observe;
pub mod progress;
pub mod reading_states;
pub mod repo;
pub mod rotate_secret;

/// Default deadline of each of a lesson's waits for an outcome (`--timeout`).
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

use crate::engine::event::Control;
use crate::engine::Emitter;
use event::{LessonEvent, LessonOutcome, StampedLesson};
use kube::Client;
use repo::LessonRepo;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

/// One lesson as listed.
#[derive(Debug, Clone, Copy, serde::Serialize, PartialEq, Eq)]
pub struct LessonInfo {
    pub number: u8,
    /// Stable name, also accepted by `kindops learn NAME` and the key of its progress.
    pub name: &'static str,
    pub title: &'static str,
    /// What it teaches, in plain words.
    pub explain: &'static str,
}

/// The lessons, in order.
pub const LESSONS: [LessonInfo; 8] = [
    LessonInfo {
        number: 1,
        name: "git-to-cluster",
        title: "git → cluster",
        explain: "A change in git is what changes the cluster. kindops commits a new replica count for cart; Argo CD sees the new commit, marks Application cart OutOfSync, syncs it, and the Rollout scales. Then it puts the old count back the same way.",
    },
    LessonInfo {
        number: 2,
        name: "drift-and-self-heal",
        title: "drift and self-heal",
        explain: "A change made by hand in the cluster is drift: git still says otherwise. kindops scales Rollout cart-app by hand (as `kubectl scale` does); Argo CD compares, marks Application cart OutOfSync, and, because self-heal is on, puts the replica count back to what git says.",
    },
    LessonInfo {
        number: 3,
        name: "new-product",
        title: "a new product",
        explain: "The ApplicationSet coffee makes one Application per directory under apps/coffee/. kindops scaffolds apps/coffee/tea from cart and pushes it: an Application tea appears and syncs. Then it removes the directory: the Application and its resources are pruned.",
    },
    LessonInfo {
        number: 4,
        name: "ci-by-path",
        title: "CI by path",
        explain: "The EventListener coffee starts the shared Tekton Pipeline only for the module a push touched (a CEL filter on the changed files). kindops sends it a push event touching cart's path: exactly one PipelineRun starts, for cart, none for order; then one touching neither: none starts. Needs a cluster whose pods run.",
    },
    LessonInfo {
        number: 5,
        name: "reading-states",
        title: "reading states",
        explain: "Sync status and health say what is wrong and where. kindops breaks cart on purpose with a manifest that does not parse; Argo CD reports a ComparisonError with its message (the details view shows it). kindops fixes it in git and cart recovers to Synced/Healthy.",
    },
    LessonInfo {
        number: 6,
        name: "code-to-cluster",
        title: "code to cluster",
        explain: "The whole loop from one code change. kindops changes cart's code, commits and pushes; the push starts cart's PipelineRun (tests, image, registry, write-back to git); Argo CD syncs cart and its Rollout runs the new version as a canary until cart answers with the new commit. `--undo` reverts it with a revert commit: a GitOps rollback. Needs a cluster whose pods run.",
    },
    LessonInfo {
        number: 7,
        name: "broken-change",
        title: "what stops a broken change",
        explain: "Two broken pushes and what stops each. A failing test: CI stops before it builds, and says which test. A version whose tests pass but whose pods never turn Ready: the Rollout's canary never becomes Available, the Rollout aborts it after its progress deadline, and the old version keeps serving. Then the fix, a revert commit, rolls out. Needs a cluster whose pods run.",
    },
    LessonInfo {
        number: 8,
        name: "rotate-secret",
        title: "rotate a secret",
        explain: "A secret's value lives in the team's secret store, not in git. kindops writes a new random value into the store (as a secret manager's rotation would); External Secrets copies it into cart's Secret, cart reads it with no restart, and Application cart stays Synced: no commit, no sync. Needs a cluster whose pods run.",
    },
];

/// A lesson by number (`3`) or name (`new-product`).
pub fn find(arg: &str) -> Option<&'static LessonInfo> {
    LESSONS
        .iter()
        .find(|l| arg.parse::<u8>().ok() == Some(l.number) || l.name == arg)
}

/// Why a lesson did not pass: the engine's step failure (what failed, on
/// which object, the next step), built the same way
/// (`Fail::new(reason).object(..).hint(..)`), or the user's stop
/// (`Fail::interrupted()`).
pub type Fail = crate::engine::StepError;

/// How a lesson body ended when it did not fail.
pub enum Ended {
    Passed,
    /// Cannot be shown on this cluster; the reason says what is missing.
    Skipped(String),
    Undone,
}

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Take the lesson's changes back instead of running it.
    pub undo: bool,
    /// Presenter mode: wait for a continue before each step.
    pub step_mode: bool,
    /// Deadline of each wait for an outcome.
    pub timeout: Duration,
    /// `kind cluster X` / `context X`, for the start event.
    pub target: String,
}

/// What a lesson body is given.
pub struct LessonCtx {
    pub lesson: u8,
    pub client: Client,
    pub repo: LessonRepo,
    pub cancel: CancellationToken,
    pub timeout: Duration,
    step_mode: bool,
    step: usize,
    events: Emitter<LessonEvent>,
    continue_rx: UnboundedReceiver<Control>,
    /// What the lesson leaves changed (said at the end).
    pub left_changed: Vec<String>,
}

impl LessonCtx {
    pub fn emit(&self, event: LessonEvent) {
        self.events.emit(event);
    }

    /// Explains the next step; in presenter mode, waits for a continue first.
    ///
    /// Errors: cancelled while waiting.
    pub async fn explain(&mut self, text: impl Into<String>) -> Result<(), Fail> {
        self.step += 1;
        if self.step_mode {
            self.emit(LessonEvent::AwaitingContinue {
                lesson: self.lesson,
                step: self.step,
            });
            loop {
                tokio::select! {
                    _ = self.cancel.cancelled() => return Err(Fail::interrupted()),
                    c = self.continue_rx.recv() => match c {
                        // A closed channel (no presenter input) goes on.
                        Some(Control::Continue) | None => break,
                        // Nothing to retry between a lesson's steps.
                        Some(Control::Retry) => {}
                    },
                }
            }
        }
        self.emit(LessonEvent::StepExplained {
            lesson: self.lesson,
            step: self.step,
            text: text.into(),
        });
        Ok(())
    }

    pub fn note(&self, text: impl Into<String>) {
        self.emit(LessonEvent::Note {
            lesson: self.lesson,
            text: text.into(),
        });
    }

    /// Says what kindops changed.
    pub fn changed(&self, what: impl Into<String>, commit: Option<&str>, object: Option<String>) {
        self.emit(LessonEvent::ChangeMade {
            lesson: self.lesson,
            what: what.into(),
            commit: commit.map(str::to_string),
            object,
        });
    }

    /// Asks Argo CD to look at git now (every Application and ApplicationSet;
    /// see [`crate::argocd::refresh::refresh_argo`]) instead of at its next poll.
    pub async fn refresh(&self) -> Result<(), Fail> {
        crate::argocd::refresh::refresh_argo(&self.client, crate::argocd::ARGOCD_NAMESPACE)
            .await
            .map(|_| ())
            .map_err(|e| Fail::new(format!("asking Argo CD to refresh: {e:#}")))
    }

    /// Commits and pushes everything in the clone; the commit must exist
    /// (an empty change is a lesson bug, said as such).
    pub async fn commit_push(&self, message: &str) -> Result<String, Fail> {
        self.repo
            .commit_push(message, &self.cancel)
            .await?
            .ok_or_else(|| Fail::new(format!("nothing to commit for \"{message}\"")))
    }
}

/// Checks Application `argocd/<name>` exists and is Synced+Healthy before a
/// lesson changes anything.
///
/// Errors: absent (run `kindops up` first), or not ready (its state and why).
pub async fn require_ready(ctx: &LessonCtx, name: &str) -> Result<crate::argocd::AppSummary, Fail> {
    use kube::api::{Api, DynamicObject};
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.client.clone(),
        crate::argocd::ARGOCD_NAMESPACE,
        &crate::argocd::application_resource(),
    );
    let object = format!("Application {}/{name}", crate::argocd::ARGOCD_NAMESPACE);
    let o = api
        .get_opt(name)
        .await
        .map_err(|e| Fail::new(format!("reading {object}: {e}")).object(object.clone()))?
        .ok_or_else(|| {
            Fail::new(format!("{object} does not exist: the lessons start after phase 4"))
                .object(object.clone())
                .hint("run `kindops up` (all phases) with the same cluster flags first")
        })?;
    let a = crate::argocd::AppSummary::from_object(&o);
    if !a.is_ready() {
        return Err(Fail::new(format!(
            "{object} is {}, not Synced/Healthy: the lesson would not show its own change",
            a.describe()
        ))
        .object(object)
        .hint("wait for it (`kindops status`), or run `kindops up` again; `kindops learn N --undo` takes back a lesson's change"));
    }
    Ok(a)
}

/// Runs (or with `undo`, takes back) one lesson, emitting its events on
/// `tx`, and records the outcome in the cluster's progress. In presenter
/// mode each step waits for [`Control::Continue`] on `continue_rx` (a closed
/// channel goes on); `cancel` stops it (`interrupted`). Returns the outcome.
pub async fn run(
    info: &LessonInfo,
    opts: RunOptions,
    client: Client,
    repo: LessonRepo,
    tx: UnboundedSender<StampedLesson>,
    continue_rx: UnboundedReceiver<Control>,
    cancel: CancellationToken,
) -> LessonOutcome {
    let mut ctx = LessonCtx {
        lesson: info.number,
        client,
        repo,
        cancel,
        timeout: opts.timeout,
        step_mode: opts.step_mode,
        step: 0,
        events: Emitter::new(tx),
        continue_rx,
        left_changed: vec![],
    };
    ctx.emit(LessonEvent::LessonStarted {
        lesson: info.number,
        name: info.name.into(),
        title: info.title.into(),
        explain: info.explain.into(),
        target: opts.target.clone(),
    });
    let result = match (info.number, opts.undo) {
        (1, false) => git_sync::run(&mut ctx).await,
        (1, true) => git_sync::undo(&mut ctx).await,
        (2, false) => drift::run(&mut ctx).await,
        (2, true) => drift::undo(&mut ctx).await,
        (3, false) => new_product::run(&mut ctx).await,
        (3, true) => new_product::undo(&mut ctx).await,
        (4, false) => ci_by_path::run(&mut ctx).await,
        (4, true) => ci_by_path::undo(&mut ctx).await,
        (6, false) => code_to_cluster::run(&mut ctx).await,
        (6, true) => code_to_cluster::undo(&mut ctx).await,
        (7, false) => broken_change::run(&mut ctx).await,
        (7, true) => broken_change::undo(&mut ctx).await,
        (8, false) => rotate_secret::run(&mut ctx).await,
        (8, true) => rotate_secret::undo(&mut ctx).await,
        (_, false) => reading_states::run(&mut ctx).await,
        (_, true) => reading_states::undo(&mut ctx).await,
    };
    let result = if ctx.cancel.is_cancelled() && result.is_ok() {
        Err(Fail::interrupted())
    } else {
        result
    };
    let (outcome, reason, hint) = match result {
        Ok(Ended::Passed) => (LessonOutcome::Passed, None, None),
        Ok(Ended::Undone) => (LessonOutcome::Undone, None, None),
        Ok(Ended::Skipped(why)) => (
            LessonOutcome::Skipped,
            Some(why),
            Some(format!(
                "run it on a kind cluster (`kindops up`, then `kindops learn {}`)",
                info.number
            )),
        ),
        Err(f) if f.is_interrupted() => (
            LessonOutcome::Interrupted,
            Some("interrupted".to_string()),
            Some(format!(
                "`kindops learn {} --undo` takes back what it changed",
                info.number
            )),
        ),
        Err(f) => {
            let f = f.into_failure();
            (
                LessonOutcome::Failed,
                Some(match &f.object {
                    Some(o) => format!("{o}: {}", f.reason),
                    None => f.reason,
                }),
                f.hint,
            )
        }
    };
    if outcome != LessonOutcome::Interrupted {
        if let Err(e) = progress::record(&ctx.client, info.name, outcome).await {
            ctx.note(format!("could not record progress in the cluster: {e:#}"));
        }
    }
    ctx.emit(LessonEvent::LessonFinished {
        lesson: info.number,
        outcome,
        reason,
        hint,
        left_changed: ctx.left_changed.clone(),
    });
    outcome
}

impl LessonCtx {
    /// The clone's `HEAD` (full SHA).
    pub async fn repo_head(&self) -> Result<String, Fail> {
        self.repo.head(&self.cancel).await
    }
}
