//! The full-screen terminal UI (ratatui). Every producer (engine or lesson
//! events, the Applications watchers, terminal input, signals, ticks) sends
//! into one channel ([`event`]); the one loop, `recv → update → draw if
//! changed`, runs `kindops up` ([`run_up`]), `status --watch` ([`run_status`])
//! and `learn N` ([`run_learn`]).
//!
//! - [`app`]: the one owner of UI state, changed only by `App::update(msg)`.
//! - [`keys`]: the one key table (dispatch, help page, hint bar).
//! - [`layout`]: the screen's areas and page sizes, used by `update` and `ui`.
//! - [`ui`]: drawing, a pure function of `&App`.
//! - [`details`]: an Application's or ApplicationSet's details as lines.
//! - [`theme`]: styles; text and time formatting is [`crate::format`].
//! - [`event`]: the one channel's [`event::TuiEvent`] and its producers.
//! - [`terminal`]: the guard that always restores the terminal.
//! - [`watch`]: watchers on Applications and ApplicationSets.
//! - [`lesson_run`]: a lesson run from `kindops up`'s lessons screen (key `3`).

pub mod app;
pub mod details;
pub mod event;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod keys;
pub mod lesson_run;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod watch;
pub mod watch_delivery;

use crate::argocd::AppSummary;
use crate::engine::event::{Control, RunOutcome, Stamped};
use crate::learn;
use crate::learn::event::StampedLesson;
use app::{App, Effect, Mode, Msg};
use event::TuiEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::time::{Instant, SystemTime};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

pub struct TuiOptions {
    /// Presenter mode: the engine pauses before each phase; a key continues.
    pub step_mode: bool,
    pub no_color: bool,
    /// The log file (shown in the UI).
    pub log_path: Option<std::path::PathBuf>,
    /// What the lessons screen (`kindops up`, after phase 4) runs lessons
    /// with, or why it cannot (no git source); `None` for `status --watch`.
    pub lessons: Option<Result<lesson_run::LessonSetup, String>>,
}

/// `kindops up` full screen: reads engine events, sends [`Control`] back,
/// and watches Applications/ApplicationSets once the engine announces the
/// cluster ([`crate::engine::event::Event::ClusterReady`]; phase 0 may create
/// it). Returns when the user quits: the run's outcome, or `Interrupted` if it
/// was still running (or `Failed` if the engine stopped without a result).
pub async fn run_up(
    events: UnboundedReceiver<Stamped>,
    control: UnboundedSender<Control>,
    opts: TuiOptions,
) -> anyhow::Result<RunOutcome> {
    let app = App::new(Mode::Up, opts.step_mode, opts.no_color, opts.log_path);
    let (tx, rx) = unbounded_channel();
    let engine = event::forward_engine(events, tx.clone());
    let mut ui = Loop::new(app, tx, Some(control));
    ui.lesson_setup = opts.lessons;
    ui.tasks.push(engine);
    let app = ui.run(rx).await?;
    Ok(app.outcome_on_quit())
}

/// `kindops status --watch`: the Applications view alone.
pub async fn run_status(client: kube::Client, opts: TuiOptions) -> anyhow::Result<()> {
    let app = App::new(Mode::Status, false, opts.no_color, opts.log_path);
    let (tx, rx) = unbounded_channel();
    let mut ui = Loop::new(app, tx, None);
    ui.start_watchers(client);
    ui.run(rx).await?;
    Ok(())
}

/// `kindops learn N` full screen ([`Mode::Learn`]): the lesson's `events` as
/// they come; Enter sends [`Control::Continue`] on `control` (presenter
/// mode, `--step`); `q`, Esc or Ctrl-C cancels `cancel` while the lesson runs
/// (it ends `interrupted`) and leaves once it ended. Returns when the user
/// leaves, on SIGTERM/SIGHUP or when the terminal's input closes, or when
/// the lesson's stream closes after a stop or without an outcome.
///
/// Errors: the terminal cannot be set up or drawn, or a task panicked.
pub async fn run_learn(
    events: UnboundedReceiver<StampedLesson>,
    control: UnboundedSender<Control>,
    cancel: CancellationToken,
    no_color: bool,
) -> anyhow::Result<()> {
    let app = App::new(Mode::Learn, false, no_color, None);
    let (tx, rx) = unbounded_channel();
    let lesson = event::forward_lesson(events, tx.clone());
    let mut ui = Loop::new(app, tx, Some(control));
    ui.stop = Some(cancel);
    ui.tasks.push(lesson);
    ui.run(rx).await?;
    Ok(())
}

/// The loop: `recv → update → draw if changed`, with everything pending
/// drained before a draw. It owns the app, the producers' tasks and the
/// way back to the engine.
struct Loop {
    app: App,
    tx: event::Sender,
    control: Option<UnboundedSender<Control>>,
    tasks: Vec<AbortHandle>,
    /// The cluster's client once connected: the watchers' and the actions'.
    client: Option<kube::Client>,
    watching: bool,
    connecting: bool,
    /// The whole second last drawn: an idle screen redraws once a second.
    drawn_sec: u64,
    lesson_setup: Option<Result<lesson_run::LessonSetup, String>>,
    /// The lesson started from the lessons screen (the last one).
    lesson: Option<lesson_run::Running>,
    /// `kindops learn N`: its lesson's token ([`Effect::StopLesson`]).
    stop: Option<CancellationToken>,
}

/// What one event asks of the loop.
enum Next {
    Go { changed: bool },
    Quit,
}

impl Loop {
    fn new(app: App, tx: event::Sender, control: Option<UnboundedSender<Control>>) -> Self {
        Loop {
            app,
            tx,
            control,
            tasks: Vec::new(),
            client: None,
            watching: false,
            connecting: false,
            drawn_sec: u64::MAX,
            lesson_setup: None,
            lesson: None,
            stop: None,
        }
    }

    fn start_watchers(&mut self, client: kube::Client) {
        if !self.watching {
            self.watching = true;
            self.client = Some(client.clone());
            self.app
                .update(Msg::Watch(watch::WatchMsg::AppsStatus(watch::WatchStatus::Connecting)));
            self.tasks.extend(event::watch(client, &self.tx));
        }
    }

    async fn run(mut self, mut rx: UnboundedReceiver<TuiEvent>) -> anyhow::Result<App> {
        let mut guard = terminal::TerminalGuard::enter()?;
        let result = self.pump(&mut guard, &mut rx).await;
        for t in &self.tasks {
            t.abort();
        }
        drop(guard);
        // Quitting with a lesson running stops it: it ends `interrupted`, as
        // `kindops learn N` does on Ctrl-C (its git children are stopped by then).
        if let Some(l) = self.lesson.take() {
            l.cancel.cancel();
            if let Ok(learn::event::LessonOutcome::Interrupted) = l.task.await {
                eprintln!(
                    "kindops: lesson {n} interrupted; `kindops learn {n} --undo` takes back what it changed",
                    n = l.number
                );
            }
        }
        result.map(|()| self.app)
    }

    async fn pump(
        &mut self,
        guard: &mut terminal::TerminalGuard,
        rx: &mut UnboundedReceiver<TuiEvent>,
    ) -> anyhow::Result<()> {
        let size = guard.terminal.size()?;
        self.app.update(Msg::Resize(size.width, size.height));
        self.app.update(Msg::Tick {
            now_ms: 0,
            wall: SystemTime::now(),
        });
        self.tasks.push(event::forward_input(self.tx.clone()));
        self.tasks.push(event::forward_signals(self.tx.clone())?);
        self.tasks.push(event::forward_ticks(Instant::now(), self.tx.clone()));
        guard.terminal.draw(|f| ui::draw(f, &self.app))?;
        // The loop holds a sender itself, so `recv` ends only if it is dropped.
        while let Some(ev) = rx.recv().await {
            let mut changed = false;
            let mut next = Some(ev);
            // Drain whatever else is pending before the next draw.
            while let Some(ev) = next {
                match self.handle(ev)? {
                    Next::Go { changed: c } => changed |= c,
                    Next::Quit => return Ok(()),
                }
                next = rx.try_recv().ok();
            }
            if let Some(p) = terminal::panicked() {
                anyhow::bail!("a task panicked: {p}");
            }
            if changed {
                self.drawn_sec = self.app.now_ms / 1000;
                guard.terminal.draw(|f| ui::draw(f, &self.app))?;
            }
        }
        Ok(())
    }

    fn handle(&mut self, ev: TuiEvent) -> anyhow::Result<Next> {
        match ev {
            TuiEvent::Msg(msg) => {
                let tick = matches!(msg, Msg::Tick { .. });
                let flash = self.app.flash.is_some();
                let effect = self.app.update(msg);
                let changed = !tick
                    || self.app.animating()
                    || self.app.now_ms / 1000 != self.drawn_sec
                    || flash != self.app.flash.is_some();
                Ok(match effect {
                    Some(e) => self.apply(e),
                    None => Next::Go { changed },
                })
            }
            TuiEvent::Connected(c) => {
                self.connecting = false;
                match c {
                    Ok(c) => self.start_watchers(c),
                    Err(e) => {
                        tracing::warn!("the Applications view cannot connect: {e:#}");
                        let st = watch::WatchStatus::Retrying(format!("{e:#}"));
                        self.app.update(Msg::Watch(watch::WatchMsg::AppsStatus(st)));
                    }
                }
                Ok(Next::Go { changed: true })
            }
            // `kindops learn N` leaves (its caller then stops the lesson).
            TuiEvent::InputFailed(_) if self.app.mode == Mode::Learn => Ok(Next::Quit),
            TuiEvent::InputFailed(e) => anyhow::bail!("{e}"),
        }
    }

    fn apply(&mut self, effect: Effect) -> Next {
        match effect {
            Effect::Quit => return Next::Quit,
            Effect::Send(c) => {
                if let Some(ctl) = &self.control {
                    let _ = ctl.send(c);
                }
            }
            Effect::Act(intent) => match &self.client {
                Some(c) => self.tasks.push(event::act(c.clone(), intent, self.tx.clone())),
                None => {
                    let why = "no connection to the cluster yet: Applications and the password are read once phase 0 has a cluster".to_string();
                    let msg = match intent {
                        app::Intent::Password(p) => Msg::Password(p, Err(why)),
                        _ => Msg::Acted(Err(why)),
                    };
                    self.app.update(msg);
                }
            },
            Effect::Copy(secret) => {
                // OSC 52: the terminal (or tmux, `set-clipboard on`) puts it on the clipboard.
                let copy = crossterm::clipboard::CopyToClipboard::to_clipboard_from(secret.0.into_bytes());
                if let Err(e) = crossterm::execute!(std::io::stdout(), copy) {
                    self.app
                        .update(Msg::Acted(Err(format!("writing to the terminal's clipboard: {e}"))));
                }
            }
            Effect::ReadLessonProgress => match &self.client {
                Some(c) => self.tasks.push(lesson_run::read_progress(c.clone(), self.tx.clone())),
                None => {
                    self.app
                        .update(Msg::LessonProgress(Err("no connection to the cluster yet".into())));
                }
            },
            Effect::RunLesson(n) => {
                let why = match (&self.lesson_setup, &self.client) {
                    (Some(Ok(setup)), Some(c)) => {
                        let (running, forward) = lesson_run::spawn(n, setup, c.clone(), self.tx.clone());
                        self.tasks.push(forward);
                        self.lesson = Some(running);
                        None
                    }
                    (Some(Err(e)), _) => Some(e.clone()),
                    (None, _) => Some("lessons run from `kindops up` only".to_string()),
                    (_, None) => Some("no connection to the cluster yet".to_string()),
                };
                if let Some(why) = why {
                    // Said as the lesson's own end, so the screen shows why.
                    self.app.update(Msg::Lesson(learn::event::StampedLesson {
                        elapsed_ms: 0,
                        event: learn::event::LessonEvent::LessonFinished {
                            lesson: n,
                            outcome: learn::event::LessonOutcome::Failed,
                            reason: Some(why),
                            hint: None,
                            left_changed: vec![],
                        },
                    }));
                }
            }
            Effect::StopLesson => {
                if let Some(c) = &self.stop {
                    c.cancel();
                }
            }
            Effect::Watch(context) => {
                if !self.watching && !self.connecting {
                    self.connecting = true;
                    self.app
                        .update(Msg::Watch(watch::WatchMsg::AppsStatus(watch::WatchStatus::Connecting)));
                    event::connect(context, self.tx.clone());
                }
            }
        }
        Next::Go { changed: true }
    }
}

/// State plus renderer for the Applications-table benchmark: build once
/// (sort/filter happen here), then [`AppsBench::render`] per frame.
pub struct AppsBench {
    app: App,
}

impl AppsBench {
    pub fn new(apps: &[AppSummary]) -> Self {
        let mut app = App::new(Mode::Status, false, false, None);
        app.table.apps_status = watch::WatchStatus::Live;
        app.wall = SystemTime::now();
        app.table.set_apps(apps.iter().cloned());
        AppsBench { app }
    }

    /// One watch event: Application `app` added or changed
    /// ([`watch::WatchMsg::AppApplied`]), as the TUI handles it (the map
    /// updated, the view filtered and sorted again).
    pub fn applied(&mut self, app: AppSummary) {
        self.app.table.on_watch(watch::WatchMsg::AppApplied(Box::new(app)));
    }

    /// Applies a filter as typing `/query` would.
    pub fn filter(&mut self, query: &str) {
        self.app.table.filter = query.to_string();
        self.app.table.rebuild_view();
    }

    /// Moves the selection (as `j`/`G` would) so the window scrolls.
    pub fn select(&mut self, row: usize) {
        let t = &mut self.app.table;
        t.selected_row = row.min(t.view.len().saturating_sub(1));
        self.app.clamp_table();
    }

    /// Renders one frame of the table; only the visible rows are built.
    pub fn render(&mut self, width: u16, height: u16) -> Buffer {
        self.app.size = (width, height);
        self.app.clamp_table();
        let area = Rect::new(0, 0, width, height);
        let mut buf = Buffer::empty(area);
        ui::render_apps_table(&self.app, theme::Theme::new(self.app.no_color), area, &mut buf);
        buf
    }
}

/// One-shot: builds the state for `apps` and renders the table at
/// `width`x`height` (for a criterion benchmark; see [`AppsBench`] to
/// measure the per-frame cost alone).
pub fn render_apps_for_bench(apps: &[AppSummary], width: u16, height: u16) -> Buffer {
    AppsBench::new(apps).render(width, height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::{key, mid_run, new_up, wall};

    fn changed(n: Next) -> bool {
        match n {
            Next::Go { changed } => changed,
            Next::Quit => panic!("quit"),
        }
    }

    fn tick(now_ms: u64) -> TuiEvent {
        Msg::Tick { now_ms, wall: wall() }.into()
    }

    #[test]
    fn an_idle_tick_redraws_once_a_second_a_running_step_every_tick() {
        let (tx, _rx) = unbounded_channel();
        let mut ui = Loop::new(new_up(80, 24), tx.clone(), None);
        ui.drawn_sec = 0;
        assert!(!changed(ui.handle(tick(250)).unwrap()), "same second, nothing moves");
        assert!(changed(ui.handle(tick(1_000)).unwrap()), "the clock moved");
        let mut ui = Loop::new(mid_run(80, 24), tx, None);
        ui.drawn_sec = 52;
        assert!(changed(ui.handle(tick(52_400)).unwrap()), "the spinner moves");
    }

    #[test]
    fn keys_redraw_quit_ends_and_control_reaches_the_engine() {
        let (tx, _rx) = unbounded_channel();
        let (ctl, mut ctl_rx) = unbounded_channel();
        let mut ui = Loop::new(crate::tui::fixtures::failed(80, 24), tx, Some(ctl));
        assert!(changed(ui.handle(key('?').into()).unwrap()));
        assert!(changed(ui.handle(key('?').into()).unwrap()));
        assert!(changed(ui.handle(key('r').into()).unwrap()));
        assert_eq!(ctl_rx.try_recv().ok(), Some(Control::Retry));
        assert!(matches!(ui.handle(key('q').into()).unwrap(), Next::Quit));
        assert!(ui.handle(TuiEvent::InputFailed("closed".into())).is_err());
    }

    #[test]
    fn learn_keys_stop_the_lesson_and_continue_it_and_a_closed_input_leaves() {
        let (tx, _rx) = unbounded_channel();
        let (ctl, mut ctl_rx) = unbounded_channel();
        let mut ui = Loop::new(App::new(Mode::Learn, false, true, None), tx, Some(ctl));
        let cancel = CancellationToken::new();
        ui.stop = Some(cancel.clone());
        let awaiting = learn::event::LessonEvent::AwaitingContinue { lesson: 1, step: 1 };
        let ev = StampedLesson {
            elapsed_ms: 0,
            event: awaiting,
        };
        assert!(changed(ui.handle(Msg::Lesson(ev).into()).unwrap()));
        assert!(changed(
            ui.handle(crate::tui::fixtures::code(crossterm::event::KeyCode::Enter).into())
                .unwrap()
        ));
        assert_eq!(ctl_rx.try_recv().ok(), Some(Control::Continue));
        assert!(changed(ui.handle(key('q').into()).unwrap()));
        assert!(cancel.is_cancelled());
        assert!(matches!(
            ui.handle(TuiEvent::InputFailed("closed".into())).unwrap(),
            Next::Quit
        ));
        assert!(matches!(ui.handle(Msg::Terminate.into()).unwrap(), Next::Quit));
    }
}
