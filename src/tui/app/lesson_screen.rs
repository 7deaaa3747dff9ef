//! The state of `kindops learn N`'s full screen ([`LessonScreen`]): the
//! lesson's lines, the step the presenter waits before, the outcome, the
//! scroll. Changed only by its `update_*` methods; `crate::tui::lessons` is
//! its loop and `crate::tui::ui::lessons` draws it.
//!
//! Keys: Enter or Space goes on to the next step (presenter mode, `--step`);
//! `q`, Esc or Ctrl-C stops a running lesson (it ends `interrupted`) or
//! leaves once it ended; `j`/`k`, PageUp/PageDown scroll.

use crate::learn::event::{LessonEvent, LessonOutcome, StampedLesson};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

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
