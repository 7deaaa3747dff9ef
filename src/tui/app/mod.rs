//! The one owner of UI state. State changes only in [`App::update`]; the
//! drawing code in [`crate::tui::ui`] is a pure function of `&App`.
//!
//! The state has three parts, each in its own file: the run view
//! ([`run`]: phases, steps, logs, toasts, from the engine's events), the
//! Applications table ([`table`]: rows, filter, selection, from the
//! watchers), and navigation ([`nav`]: pane, help, details, keys). The
//! lessons: [`lessons`] (`up`'s lessons screen) and [`lesson_screen`] (one
//! lesson's lines; all of [`Mode::Learn`]).

pub mod actions;
pub mod layout;
pub mod lesson_screen;
pub mod lessons;
pub mod nav;
pub mod run;
pub mod table;

pub use actions::{Actions, Intent, PasswordUse, Secret};
pub use lesson_screen::LessonScreen;
pub use lessons::{LessonsView, Progress};
pub use nav::{Nav, Pane};
pub use run::{LogLine, PhaseView, RunView, State, StepView, Toast, LOG_CAP};
pub use table::{AppsTable, Counts, RowKey, RowState};

use crate::engine::event::{Control, Event, RunOutcome, Stamped};
use crate::tui::watch::WatchMsg;
use crossterm::event::KeyEvent;
use std::path::PathBuf;
use std::time::SystemTime;

/// How long a flash message stays (k9s-style), in ms.
pub const FLASH_MS: u64 = 4_000;

/// Everything that can change the state.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Engine(Stamped),
    /// The engine's channel closed.
    EngineClosed,
    Watch(WatchMsg),
    /// The slow tick: `now_ms` since the run started, and wall-clock time for ages.
    Tick {
        now_ms: u64,
        wall: SystemTime,
    },
    Resize(u16, u16),
    /// SIGTERM/SIGHUP: leave as if the user quit.
    Terminate,
    /// A sync or refresh the loop ran: what it set, or why it failed.
    Acted(Result<String, String>),
    /// The admin password the loop read (`None`: the Secret is gone).
    Password(PasswordUse, Result<Option<Secret>, String>),
    /// An event of the lesson run from the lessons screen.
    Lesson(crate::learn::event::StampedLesson),
    /// This cluster's lesson progress as read (or why it could not be).
    LessonProgress(Progress),
    /// The lesson's event stream closed (its task ended).
    LessonClosed,
}

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Send(Control),
    /// Leave: restore the terminal and return the run's outcome.
    Quit,
    /// Start the Applications watcher on this kubeconfig context (the engine
    /// announced the cluster with [`Event::ClusterReady`]).
    Watch(String),
    /// Ask Argo CD for something through the API (off the UI; the answer
    /// comes back as [`Msg::Acted`] or [`Msg::Password`]).
    Act(Intent),
    /// Put this on the clipboard through the terminal (OSC 52).
    Copy(Secret),
    /// Read this cluster's lesson progress (the answer: [`Msg::LessonProgress`]).
    ReadLessonProgress,
    /// Run lesson N on this cluster in a task (its events: [`Msg::Lesson`]).
    RunLesson(u8),
    /// [`Mode::Learn`]: stop the lesson (it ends `interrupted`; its last
    /// events still come).
    StopLesson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `kindops up`: phases, log and Applications.
    Up,
    /// `kindops status --watch`: the Applications view alone.
    Status,
    /// `kindops learn N`: one lesson's screen (`lessons.screen`), its keys
    /// [`crate::tui::keys::Scope::Learn`].
    Learn,
}

pub struct App {
    pub mode: Mode,
    pub step_mode: bool,
    pub no_color: bool,
    pub log_path: Option<PathBuf>,
    pub size: (u16, u16),
    /// Milliseconds since the run started, and wall-clock time for ages.
    pub now_ms: u64,
    pub wall: SystemTime,
    /// A message in the hint bar until the given `now_ms`.
    pub flash: Option<(String, u64)>,

    pub run: RunView,
    pub table: AppsTable,
    pub nav: Nav,
    pub acts: Actions,
    pub lessons: LessonsView,
}

impl App {
    pub fn new(mode: Mode, step_mode: bool, no_color: bool, log_path: Option<PathBuf>) -> Self {
        let mut lessons = LessonsView::default();
        if mode == Mode::Learn {
            lessons.screen = Some(LessonScreen {
                no_color,
                ..Default::default()
            });
        }
        App {
            mode,
            step_mode,
            no_color,
            log_path,
            size: (80, 24),
            now_ms: 0,
            wall: SystemTime::UNIX_EPOCH,
            flash: None,
            run: RunView::default(),
            table: AppsTable::default(),
            nav: Nav::new(mode),
            acts: Actions::default(),
            lessons,
        }
    }

    /// How the run ended, as `run_up` reports it when the user quits.
    pub fn outcome_on_quit(&self) -> RunOutcome {
        match self.run.outcome {
            Some(o) => o,
            None if self.run.engine_closed && self.run.started => RunOutcome::Failed,
            None => RunOutcome::Interrupted,
        }
    }

    /// Whether something animates (spinner), so the loop ticks faster.
    pub fn animating(&self) -> bool {
        self.run.phases.iter().any(|p| p.state == State::Running)
    }

    pub fn update(&mut self, msg: Msg) -> Option<Effect> {
        match msg {
            Msg::Key(k) => self.on_key(k),
            Msg::Engine(st) => {
                self.now_ms = self.now_ms.max(st.elapsed_ms);
                if let Event::ClusterReady { context } = &st.event {
                    return Some(Effect::Watch(context.clone()));
                }
                self.run.on_event(st.elapsed_ms, st.event);
                None
            }
            Msg::EngineClosed => {
                self.run.on_closed(self.log_path.as_deref());
                None
            }
            Msg::Watch(w) => {
                self.table.on_watch(w);
                self.clamp_table();
                None
            }
            Msg::Tick { now_ms, wall } => {
                self.now_ms = self.now_ms.max(now_ms);
                self.wall = wall;
                if matches!(self.flash, Some((_, until)) if until <= self.now_ms) {
                    self.flash = None;
                }
                None
            }
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.clamp_table();
                None
            }
            Msg::Terminate => Some(Effect::Quit),
            Msg::Acted(result) => {
                self.on_acted(result);
                None
            }
            Msg::Password(purpose, result) => self.on_password(purpose, result),
            Msg::Lesson(ev) => self.on_lesson_event(ev),
            Msg::LessonProgress(p) => {
                self.lessons.progress = Some(p);
                None
            }
            Msg::LessonClosed => self.on_lesson_closed(),
        }
    }

    fn flash(&mut self, text: impl Into<String>) {
        self.flash = Some((text.into(), self.now_ms + FLASH_MS));
    }

    /// Keeps the selected row inside the table window.
    pub fn clamp_table(&mut self) {
        let rows = crate::tui::app::layout::table_rows(self);
        self.table.clamp_offset(rows);
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod event_tests;
#[cfg(test)]
#[path = "key_tests.rs"]
mod key_tests;
#[cfg(test)]
#[path = "watch_and_view_tests.rs"]
mod watch_and_view_tests;
