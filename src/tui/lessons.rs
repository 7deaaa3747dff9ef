//! `kindops learn N` full screen: one lesson's events as they come, the
//! step being explained, the transitions with their seconds, the outcome.
//! Its own small loop (`recv → update → draw if changed`) over the lesson's
//! event stream, the terminal's keys and SIGTERM/SIGHUP; the state is
//! [`LessonScreen`] (`tui/app/lesson_screen.rs`, keys there), drawing is
//! `crate::tui::ui::lessons::draw`, a pure function of it.

use crate::learn::event::{LessonOutcome, StampedLesson};
use crate::tui::app::lesson_screen::{KeyAction, LessonScreen};
use crossterm::event::{Event as CtEvent, EventStream};
use futures::StreamExt;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

/// Runs the screen until the user leaves after the lesson ended (or the
/// lesson's stream closed). `continue_tx` carries presenter keys to the
/// lesson; `cancel` stops it. Returns the lesson's outcome (None: it never said).
pub async fn run(
    mut events: UnboundedReceiver<StampedLesson>,
    continue_tx: UnboundedSender<crate::engine::event::Control>,
    cancel: CancellationToken,
    no_color: bool,
) -> anyhow::Result<Option<LessonOutcome>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut guard = super::terminal::TerminalGuard::enter()?;
    let mut input = EventStream::new();
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut screen = LessonScreen {
        no_color,
        ..Default::default()
    };
    let mut open = true;
    let mut changed = true;
    loop {
        if let Some(p) = super::terminal::panicked() {
            anyhow::bail!("panic: {p}");
        }
        if changed {
            guard.terminal.draw(|f| super::ui::lessons::draw(f, &screen))?;
            changed = false;
        }
        tokio::select! {
            ev = events.recv(), if open => match ev {
                Some(ev) => {
                    screen.update_event(&ev);
                    // Drain what is pending before the next draw.
                    while let Ok(ev) = events.try_recv() {
                        screen.update_event(&ev);
                    }
                    changed = true;
                }
                None => {
                    open = false;
                    if screen.outcome.is_none() || screen.stopping {
                        break;
                    }
                }
            },
            k = input.next() => match k {
                Some(Ok(CtEvent::Key(k))) => match screen.update_key(k) {
                    KeyAction::None => {}
                    KeyAction::Redraw => changed = true,
                    KeyAction::Continue => {
                        let _ = continue_tx.send(crate::engine::event::Control::Continue);
                        changed = true;
                    }
                    KeyAction::Stop => {
                        cancel.cancel();
                        changed = true;
                    }
                    KeyAction::Quit => break,
                },
                Some(Ok(CtEvent::Resize(..))) => changed = true,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    cancel.cancel();
                    break;
                }
            },
            _ = term.recv() => { cancel.cancel(); break; }
            _ = hup.recv() => { cancel.cancel(); break; }
        }
    }
    drop(guard);
    // After a stop, the lesson's last events still arrive: take its outcome.
    while let Some(ev) = events.recv().await {
        screen.update_event(&ev);
    }
    Ok(screen.outcome)
}
