//! The full-screen terminal UI (ratatui). Reads the engine event stream and
//! a kube watcher; never blocks on either.
//!
//! - [`app`]: the one owner of UI state, changed only by `App::update(msg)`.
//! - [`keys`]: the one key table (dispatch, help page, hint bar).
//! - [`layout`]: the screen's areas and page sizes, used by `update` and `ui`.
//! - [`ui`]: drawing, a pure function of `&App`.
//! - [`details`]: an Application's or ApplicationSet's details as lines.
//! - [`format`], [`theme`]: text/time formatting and styles, in one place each.
//! - [`terminal`]: the guard that always restores the terminal.
//! - [`watch`]: watchers on Applications and ApplicationSets.

pub mod app;
pub mod details;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod format;
pub mod keys;
pub mod layout;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod watch;

use crate::argo::AppSummary;
use crate::engine::event::{Control, RunOutcome, Stamped};
use app::{App, Effect, Mode, Msg};
use crossterm::event::{Event as CtEvent, EventStream};
use futures::StreamExt;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc::{error::TryRecvError, unbounded_channel, UnboundedReceiver, UnboundedSender};

pub struct TuiOptions {
    /// Presenter mode: the engine pauses before each phase; a key continues.
    pub step_mode: bool,
    pub no_color: bool,
    /// The log file (shown in the UI).
    pub log_path: Option<std::path::PathBuf>,
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
    let app = run_loop(app, Some(events), Some(control), None).await?;
    Ok(app.outcome_on_quit())
}

/// `kindops status --watch`: the Applications view alone.
pub async fn run_status(client: kube::Client, opts: TuiOptions) -> anyhow::Result<()> {
    let app = App::new(Mode::Status, false, opts.no_color, opts.log_path);
    run_loop(app, None, None, Some(client)).await?;
    Ok(())
}

async fn recv_opt<T>(rx: &mut Option<UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// Idle ticks: fast enough for a spinner while a step runs, slow otherwise.
fn tick_period(app: &App) -> Duration {
    if app.animating() {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(1)
    }
}

async fn run_loop(
    mut app: App,
    mut events: Option<UnboundedReceiver<Stamped>>,
    control: Option<UnboundedSender<Control>>,
    client: Option<kube::Client>,
) -> anyhow::Result<App> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;

    let (wtx, mut wrx) = unbounded_channel();
    let mut watchers = Vec::new();
    if let Some(c) = client {
        app.update(Msg::Watch(watch::WatchMsg::AppsStatus(watch::WatchStatus::Connecting)));
        watchers = watch::spawn(c, wtx.clone());
    }
    // The engine's client arrives late (phase 0 may create the cluster): a
    // connect runs in the background on `Effect::Watch`, never blocking the UI.
    let (client_tx, mut client_rx) = unbounded_channel::<anyhow::Result<kube::Client>>();
    let mut connecting = false;

    let mut guard = terminal::TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    app.update(Msg::Resize(size.width, size.height));
    // Terminal input in its own task, so the loop can drain it with try_recv
    // (polling EventStream with a throw-away waker would lose its wake-up).
    let (ktx, mut keys) = unbounded_channel();
    let input = tokio::spawn(async move {
        let mut stream = EventStream::new();
        while let Some(ev) = stream.next().await {
            if ktx.send(ev).is_err() {
                break;
            }
        }
    });
    let t0 = Instant::now();

    let result: anyhow::Result<()> = async {
        loop {
            if let Some(p) = terminal::panicked() {
                anyhow::bail!("a task panicked: {p}");
            }
            app.update(Msg::Tick {
                now_ms: t0.elapsed().as_millis() as u64,
                wall: SystemTime::now(),
            });
            guard.terminal.draw(|f| ui::draw(f, &app))?;
            let mut effects: Vec<Option<Effect>> = Vec::new();
            tokio::select! {
                ev = recv_opt(&mut events) => match ev {
                    Some(e) => effects.push(app.update(Msg::Engine(e))),
                    None => { events = None; app.update(Msg::EngineClosed); }
                },
                Some(w) = wrx.recv() => { app.update(Msg::Watch(w)); }
                k = keys.recv() => match k {
                    Some(Ok(ev)) => effects.push(on_term_event(&mut app, ev)),
                    Some(Err(e)) => return Err(e.into()),
                    None => anyhow::bail!("the terminal's input closed"),
                },
                Some(c) = client_rx.recv() => {
                    connecting = false;
                    match c {
                        Ok(c) if watchers.is_empty() => watchers = watch::spawn(c, wtx.clone()),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!("the Applications view cannot connect: {e:#}");
                            app.update(Msg::Watch(watch::WatchMsg::AppsStatus(watch::WatchStatus::Retrying(format!("{e:#}")))));
                        }
                    }
                }
                _ = tokio::time::sleep(tick_period(&app)) => {}
                _ = sigterm.recv() => effects.push(app.update(Msg::Terminate)),
                _ = sighup.recv() => effects.push(app.update(Msg::Terminate)),
            }
            // Drain whatever else is pending before the next draw.
            while let Some(rx) = events.as_mut() {
                match rx.try_recv() {
                    Ok(e) => effects.push(app.update(Msg::Engine(e))),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        events = None;
                        app.update(Msg::EngineClosed);
                    }
                }
            }
            while let Ok(w) = wrx.try_recv() {
                app.update(Msg::Watch(w));
            }
            while let Ok(k) = keys.try_recv() {
                effects.push(on_term_event(&mut app, k?));
            }
            for e in effects.into_iter().flatten() {
                match e {
                    Effect::Quit => return Ok(()),
                    Effect::Send(c) => {
                        if let Some(ctl) = &control {
                            let _ = ctl.send(c);
                        }
                    }
                    Effect::Watch(context) if watchers.is_empty() && !connecting => {
                        connecting = true;
                        app.update(Msg::Watch(watch::WatchMsg::AppsStatus(watch::WatchStatus::Connecting)));
                        let tx = client_tx.clone();
                        tokio::spawn(async move {
                            use backon::Retryable;
                            let connect = || crate::engine::provider::client_for(&context);
                            let policy = backon::ExponentialBuilder::default().with_max_times(6);
                            let _ = tx.send(connect.retry(policy).await);
                        });
                    }
                    Effect::Watch(_) => {}
                }
            }
        }
    }
    .await;
    for w in &watchers {
        w.abort();
    }
    input.abort();
    drop(guard);
    result.map(|()| app)
}

fn on_term_event(app: &mut App, ev: CtEvent) -> Option<Effect> {
    match ev {
        CtEvent::Key(k) => app.update(Msg::Key(k)),
        CtEvent::Resize(w, h) => app.update(Msg::Resize(w, h)),
        _ => None,
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
