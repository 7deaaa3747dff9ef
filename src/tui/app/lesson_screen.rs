//! The state of one lesson's screen ([`LessonScreen`]): the lesson's lines,
//! the step the presenter waits before, the outcome, the scroll. It is all
//! of `kindops learn N` ([`Mode::Learn`](super::Mode::Learn), on the one loop
//! of `crate::tui`) and the lesson view of `up`'s lessons screen; changed
//! only by its `update_event` and `on_action`, drawn by `crate::tui::ui::lessons`.
//!
//! Keys (`kindops learn N`, the key table's `Scope::Learn`): Enter or Space
//! goes on to the next step (presenter mode, `--step`); `q`, Esc or Ctrl-C
//! stops a running lesson (it ends `interrupted`) or leaves once it ended;
//! `j`/`k`, PageUp/PageDown scroll.

use super::Effect;
use crate::engine::event::Control;
use crate::learn::event::{LessonEvent, LessonOutcome, StampedLesson};
use crate::tui::keys::Action;

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

    /// One action of `kindops learn N`'s keys: Quit stops a running lesson
    /// ([`Effect::StopLesson`]) or, once it ended, leaves; Continue goes on
    /// while the presenter is awaited ([`Control::Continue`]); Up/Down and
    /// PageUp/PageDown scroll. Others do nothing.
    pub fn on_action(&mut self, action: Action) -> Option<Effect> {
        match action {
            Action::Quit if self.outcome.is_some() => Some(Effect::Quit),
            Action::Quit => {
                self.stopping = true;
                Some(Effect::StopLesson)
            }
            Action::Continue if self.awaiting.is_some() => {
                self.awaiting = None;
                Some(Effect::Send(Control::Continue))
            }
            Action::Up => {
                self.scroll = (self.scroll + 1).min(self.lines.len());
                None
            }
            Action::PageUp => {
                self.scroll = (self.scroll + 10).min(self.lines.len());
                None
            }
            Action::Down => {
                self.scroll = self.scroll.saturating_sub(1);
                None
            }
            Action::PageDown => {
                self.scroll = self.scroll.saturating_sub(10);
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{App, Mode, Msg};
    use super::*;
    use crate::tui::fixtures::{code, ctrl, key};
    use crate::tui::keys::Context;
    use crossterm::event::KeyCode;

    fn ev(event: LessonEvent) -> Msg {
        Msg::Lesson(StampedLesson { elapsed_ms: 0, event })
    }

    fn finished(outcome: LessonOutcome) -> Msg {
        ev(LessonEvent::LessonFinished {
            lesson: 2,
            outcome,
            reason: None,
            hint: None,
            left_changed: vec![],
        })
    }

    fn screen(app: &App) -> &LessonScreen {
        app.lessons.screen.as_ref().unwrap()
    }

    #[test]
    fn enter_goes_on_only_while_the_presenter_is_awaited_and_q_stops_then_quits() {
        let mut app = App::new(Mode::Learn, false, true, None);
        assert_eq!(app.context(), Context::Learn);
        assert!(screen(&app).no_color);
        assert_eq!(app.update(code(KeyCode::Enter)), None);
        app.update(ev(LessonEvent::AwaitingContinue { lesson: 2, step: 1 }));
        assert_eq!(screen(&app).awaiting, Some(1));
        assert_eq!(app.update(key(' ')), Some(Effect::Send(Control::Continue)));
        assert_eq!(screen(&app).awaiting, None);
        assert_eq!(app.update(key('?')), None, "no help page here");
        assert_eq!(app.update(key('q')), Some(Effect::StopLesson));
        assert!(screen(&app).stopping);
        app.update(finished(LessonOutcome::Interrupted));
        assert_eq!(app.flash, None, "no flash: the title says it");
        assert_eq!(app.update(code(KeyCode::Esc)), Some(Effect::Quit));
        assert_eq!(screen(&app).lines.last().unwrap(), "==> lesson 2: interrupted");
        assert_eq!(
            app.update(Msg::LessonClosed),
            Some(Effect::Quit),
            "stopped: the end leaves"
        );
    }

    #[test]
    fn ctrl_c_stops_the_end_stays_until_q_and_keys_scroll() {
        let mut app = App::new(Mode::Learn, false, false, None);
        assert_eq!(app.update(ctrl('c')), Some(Effect::StopLesson));
        let mut app = App::new(Mode::Learn, false, false, None);
        assert_eq!(
            app.update(Msg::LessonClosed),
            Some(Effect::Quit),
            "closed without an outcome"
        );
        let mut app = App::new(Mode::Learn, false, false, None);
        for text in ["a", "b", "c"] {
            app.update(ev(LessonEvent::Note {
                lesson: 2,
                text: text.into(),
            }));
        }
        app.update(finished(LessonOutcome::Passed));
        assert_eq!(app.update(Msg::LessonClosed), None, "passed: stays on screen");
        assert_eq!(app.update(key('k')), None);
        assert_eq!(screen(&app).scroll, 1);
        app.update(code(KeyCode::PageUp));
        assert_eq!(screen(&app).scroll, screen(&app).lines.len());
        app.update(key('j'));
        app.update(code(KeyCode::PageDown));
        assert_eq!(screen(&app).scroll, 0);
        assert_eq!(app.update(key('q')), Some(Effect::Quit));
    }
}
