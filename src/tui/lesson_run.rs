//! Running a lesson from `kindops up`'s lessons screen: the same runner as
//! `kindops learn N` ([`crate::learn::run`]) in a task of the TUI's loop, on
//! the cluster and git source of this `up`; its events go through a channel
//! into the loop's one channel as `Msg::Lesson` ([`event::forward_lesson`]),
//! as the engine's do.
//! Cancelling its token (the user quits) ends it `interrupted`.

use crate::learn::{self, event::LessonOutcome, repo::LessonRepo, RunOptions};
use crate::tui::app::Msg;
use crate::tui::event::{self, Sender};
use std::time::Duration;
use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::sync::CancellationToken;

/// What a lesson needs beyond the cluster's client, from `up`'s settings.
#[derive(Debug, Clone)]
pub struct LessonSetup {
    /// The git source `up` publishes to, and the lessons' own clone.
    pub repo: LessonRepo,
    /// `kind cluster X` / `context X`.
    pub target: String,
    /// Deadline of each wait for an outcome.
    pub timeout: Duration,
}

/// A lesson started from the TUI.
pub struct Running {
    pub number: u8,
    pub cancel: CancellationToken,
    pub task: JoinHandle<LessonOutcome>,
}

/// Starts lesson `number` (not in presenter mode) and forwards its events.
/// Returns the lesson and the forwarder's handle.
pub fn spawn(number: u8, setup: &LessonSetup, client: kube::Client, tx: Sender) -> (Running, AbortHandle) {
    let info: &'static learn::LessonInfo = learn::LESSONS
        .iter()
        .find(|l| l.number == number)
        .unwrap_or(&learn::LESSONS[0]);
    let (ltx, lrx) = tokio::sync::mpsc::unbounded_channel();
    // No presenter pauses here: the sender is dropped, so a pause would go on at once.
    let (_, continue_rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let opts = RunOptions {
        undo: false,
        step_mode: false,
        timeout: setup.timeout,
        target: setup.target.clone(),
    };
    let task = tokio::spawn(learn::run(
        info,
        opts,
        client,
        setup.repo.clone(),
        ltx,
        continue_rx,
        cancel.clone(),
    ));
    let forward = event::forward_lesson(lrx, tx);
    (
        Running {
            number: info.number,
            cancel,
            task,
        },
        forward,
    )
}

/// Reads this cluster's lesson progress and sends it as [`Msg::LessonProgress`].
pub fn read_progress(client: kube::Client, tx: Sender) -> AbortHandle {
    tokio::spawn(async move {
        let p = learn::progress::read(&client).await.map_err(|e| format!("{e:#}"));
        let _ = tx.send(Msg::LessonProgress(p).into());
    })
    .abort_handle()
}
