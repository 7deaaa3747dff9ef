//! The loop's one input: every producer (the engine's events or a lesson's,
//! the Applications watchers, terminal input, signals, the tick, the
//! background connect) sends a [`TuiEvent`] into one channel. Each producer is a task
//! started here; the loop only receives.

use crate::engine::event::Stamped;
use crate::learn::event::StampedLesson;
use crate::tui::app::{Intent, Msg, Secret};
use crate::tui::watch::{self, WatchMsg};
use crossterm::event::{Event as CtEvent, EventStream};
use futures::StreamExt;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::AbortHandle;

/// Ticks: fast enough for a spinner; the loop redraws on a tick only when
/// something on screen moves.
pub const TICK: Duration = Duration::from_millis(250);

/// Everything the loop receives.
pub enum TuiEvent {
    /// A change of state: goes to [`crate::tui::app::App::update`].
    Msg(Msg),
    /// The background connect (started on `Effect::Watch`) finished.
    Connected(anyhow::Result<kube::Client>),
    /// The terminal's input failed or closed: the UI cannot go on.
    InputFailed(String),
}

impl From<Msg> for TuiEvent {
    fn from(m: Msg) -> Self {
        TuiEvent::Msg(m)
    }
}

impl From<WatchMsg> for TuiEvent {
    fn from(w: WatchMsg) -> Self {
        TuiEvent::Msg(Msg::Watch(w))
    }
}

pub type Sender = UnboundedSender<TuiEvent>;

/// The engine's events, then `EngineClosed` when its channel closes.
pub fn forward_engine(mut events: UnboundedReceiver<Stamped>, tx: Sender) -> AbortHandle {
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            if tx.send(Msg::Engine(e).into()).is_err() {
                return;
            }
        }
        let _ = tx.send(Msg::EngineClosed.into());
    })
    .abort_handle()
}

/// A lesson's events ([`Msg::Lesson`]), then [`Msg::LessonClosed`] when its channel closes.
pub fn forward_lesson(mut events: UnboundedReceiver<StampedLesson>, tx: Sender) -> AbortHandle {
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            if tx.send(Msg::Lesson(e).into()).is_err() {
                return;
            }
        }
        let _ = tx.send(Msg::LessonClosed.into());
    })
    .abort_handle()
}

/// Keys and resizes from crossterm's `EventStream`.
pub fn forward_input(tx: Sender) -> AbortHandle {
    tokio::spawn(async move {
        let mut stream = EventStream::new();
        while let Some(ev) = stream.next().await {
            let msg = match ev {
                Ok(CtEvent::Key(k)) => Msg::Key(k).into(),
                Ok(CtEvent::Resize(w, h)) => Msg::Resize(w, h).into(),
                Ok(_) => continue,
                Err(e) => TuiEvent::InputFailed(e.to_string()),
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
        let _ = tx.send(TuiEvent::InputFailed("the terminal's input closed".into()));
    })
    .abort_handle()
}

/// SIGTERM and SIGHUP: leave as if the user quit.
pub fn forward_signals(tx: Sender) -> anyhow::Result<AbortHandle> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            if tx.send(Msg::Terminate.into()).is_err() {
                return;
            }
        }
    })
    .abort_handle())
}

/// The clock: `Tick` with time since `t0` and the wall clock, every [`TICK`].
pub fn forward_ticks(t0: Instant, tx: Sender) -> AbortHandle {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TICK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            let tick = Msg::Tick {
                now_ms: t0.elapsed().as_millis() as u64,
                wall: SystemTime::now(),
            };
            if tx.send(tick.into()).is_err() {
                return;
            }
        }
    })
    .abort_handle()
}

/// Connects to `context` in the background (retrying with backoff: the
/// cluster phase 0 just created may still be settling) and reports it.
pub fn connect(context: String, tx: Sender) {
    tokio::spawn(async move {
        use backon::Retryable;
        let connect = || crate::cluster::client_for(&context);
        let policy = backon::ExponentialBuilder::default().with_max_times(6);
        let _ = tx.send(TuiEvent::Connected(connect.retry(policy).await));
    });
}

/// Runs what the user asked of Argo CD ([`crate::argocd::actions`]) and
/// sends back what it did ([`Msg::Acted`]) or the password ([`Msg::Password`]).
pub fn act(client: kube::Client, intent: Intent, tx: Sender) -> AbortHandle {
    use crate::argocd::actions::{self as acts, Refresh};
    tokio::spawn(async move {
        let text = |r: anyhow::Result<String>| r.map_err(|e| format!("{e:#}"));
        let msg = match intent {
            Intent::Sync { namespace, name } => Msg::Acted(text(acts::sync(&client, &namespace, &name).await)),
            Intent::Refresh { namespace, name, hard } => {
                let kind = if hard { Refresh::Hard } else { Refresh::Normal };
                Msg::Acted(text(acts::refresh(&client, &namespace, &name, kind).await))
            }
            Intent::Password(purpose) => {
                let read = acts::admin_password(&client, crate::argocd::ARGOCD_NAMESPACE).await;
                Msg::Password(purpose, read.map(|v| v.map(Secret)).map_err(|e| format!("{e:#}")))
            }
        };
        let _ = tx.send(msg.into());
    })
    .abort_handle()
}

/// Starts the Applications and ApplicationSets watchers on the channel.
pub fn watch(client: kube::Client, tx: &Sender) -> Vec<AbortHandle> {
    watch::spawn(client, tx.clone())
}
