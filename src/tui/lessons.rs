//! `kindops learn N` full screen: one lesson's events as they come, the
//! step being explained, the transitions with their seconds, the outcome.
//! Its own small loop (`recv → update → draw if changed`) over the lesson's
//! event stream, the terminal's keys and SIGTERM/SIGHUP; the state
//! ([`LessonScreen`]) changes only in its `update_*` methods, drawing is
//! `crate::tui::ui::lessons::draw`, a pure function of it.
//!
//! Keys: Enter or Space goes on to the next step (presenter mode, `--step`);
//! `q`, Esc or Ctrl-C stops a running lesson (it ends `interrupted`) or
//! leaves once it ended; `j`/`k`, PageUp/PageDown scroll.

use crate::learn::event::{LessonEvent, LessonOutcome, StampedLesson};
use crossterm::event::{Event as CtEvent, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

/// What the lessons screen shows.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LessonScreen {
    /// `lesson 1: git → cluster`.
    pub title: String,
    pub target: String,
    /// Every line so far, as the plain printer words them (`crate::report::learn`).
    pub lines: Vec<String>,
    /// Presenter mode: the step the lesson waits before.
    pub awaiting: Option<usize>,
    pub outcome: Option<LessonOutcome>,
    /// Lines scrolled up from the bottom (0: follow the end).
    pub scroll: usize,
    /// The user asked to stop; the lesson is winding down.
    pub stopping: bool,
    pub no_color: bool,
}

/// What a key asks of the loop.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyAction {
    None,
    Redraw,
    Continue,
    Stop,
    Quit,
}

impl LessonScreen {
    pub fn update_event(&mut self, ev: &StampedLesson) {
        match &ev.event {
            LessonEvent::LessonStarted {
                lesson, title, target, ..
            } => {
                self.title = format!("lesson {lesson}: {title}");
                self.target = target.clone();
            }
            LessonEvent::AwaitingContinue { step, .. } => self.awaiting = Some(*step),
            LessonEvent::StepExplained { .. } => self.awaiting = None,
            LessonEvent::LessonFinished { outcome, .. } => {
                self.outcome = Some(*outcome);
                self.awaiting = None;
            }
            _ => {}
        }
        self.lines.extend(crate::report::learn::plain_lines(ev));
    }

    pub fn update_key(&mut self, k: KeyEvent) -> KeyAction {
        if k.kind == KeyEventKind::Release {
            return KeyAction::None;
        }
        let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            _ if ctrl_c || matches!(k.code, KeyCode::Char('q') | KeyCode::Esc) => {
                if self.outcome.is_some() {
                    KeyAction::Quit
                } else {
                    self.stopping = true;
                    KeyAction::Stop
                }
            }
            KeyCode::Enter | KeyCode::Char(' ') if self.awaiting.is_some() => {
                self.awaiting = None;
                KeyAction::Continue
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.scroll = (self.scroll + 1).min(self.lines.len());
                KeyAction::Redraw
            }
            KeyCode::PageUp => {
                self.scroll = (self.scroll + 10).min(self.lines.len());
                KeyAction::Redraw
            }
            KeyCode::Char('j') | KeyCode::Down => {
                self.scroll = self.scroll.saturating_sub(1);
                KeyAction::Redraw
            }
            KeyCode::PageDown => {
                self.scroll = self.scroll.saturating_sub(10);
                KeyAction::Redraw
            }
            _ => KeyAction::None,
        }
    }
}

/// Runs the screen until the user leaves after the lesson ended (or the
/// lesson's stream closed). `continue_tx` carries presenter keys to the
/// lesson; `cancel` stops it. Returns the lesson's outcome (None: it never said).
pub async fn run(
    mut events: UnboundedReceiver<StampedLesson>,
    continue_tx: UnboundedSender<()>,
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
                        let _ = continue_tx.send(());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: LessonEvent) -> StampedLesson {
        StampedLesson { elapsed_ms: 0, event }
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn enter_goes_on_only_while_the_presenter_is_awaited_and_q_stops_then_quits() {
        let mut s = LessonScreen::default();
        assert_eq!(s.update_key(key(KeyCode::Enter)), KeyAction::None);
        s.update_event(&ev(LessonEvent::AwaitingContinue { lesson: 2, step: 1 }));
        assert_eq!(s.awaiting, Some(1));
        assert_eq!(s.update_key(key(KeyCode::Enter)), KeyAction::Continue);
        assert_eq!(s.awaiting, None);
        assert_eq!(s.update_key(key(KeyCode::Char('q'))), KeyAction::Stop);
        assert!(s.stopping);
        s.update_event(&ev(LessonEvent::LessonFinished {
            lesson: 2,
            outcome: LessonOutcome::Interrupted,
            reason: None,
            hint: None,
            left_changed: vec![],
        }));
        assert_eq!(s.update_key(key(KeyCode::Char('q'))), KeyAction::Quit);
        assert_eq!(s.lines.last().unwrap(), "==> lesson 2: interrupted");
    }
}
