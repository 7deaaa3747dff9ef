//! The lessons screen inside `kindops up` (key `3` or `L`, once phase 4 is
//! done): the lessons with this cluster's progress (as `kindops learn`
//! lists them), and the lesson the learner runs with Enter, its lines as
//! `kindops learn N`'s own screen shows them ([`LessonScreen`]). The lesson
//! runs in a task of the loop (`crate::tui::lesson_run`); its events come
//! back as [`Msg::Lesson`](super::Msg::Lesson).

use super::{App, Effect, Mode, Pane, State};
use crate::learn::event::{LessonEvent, StampedLesson};
use crate::learn::progress::LessonRecord;
use crate::learn::LESSONS;
use crate::tui::app::lesson_screen::LessonScreen;
use crate::tui::keys::Action;
use std::collections::BTreeMap;

/// This cluster's lesson progress: lesson name → its last record, or why it
/// could not be read (`kube-system/kindops-state`, [`crate::learn::progress`]).
pub type Progress = Result<BTreeMap<String, LessonRecord>, String>;

#[derive(Debug, Default)]
pub struct LessonsView {
    /// The lessons screen is on (instead of the phases or Applications screen).
    pub open: bool,
    /// The selected row of the list (index into [`LESSONS`]).
    pub selected: usize,
    /// Progress as last read (`None`: not read yet).
    pub progress: Option<Progress>,
    /// The lesson run in this session (the last one): its screen state.
    pub screen: Option<LessonScreen>,
    /// The lesson's screen is shown rather than the list.
    pub shown: bool,
}

impl LessonsView {
    /// A lesson is running (started, not finished).
    pub fn running(&self) -> bool {
        self.screen.as_ref().is_some_and(|s| s.outcome.is_none())
    }
}

impl App {
    /// Phase 4 (the products) has finished in this run: the lessons need
    /// its Applications.
    pub fn phase4_done(&self) -> bool {
        self.mode == Mode::Up
            && self
                .run
                .phases
                .iter()
                .any(|p| p.info.number == 4 && p.state == State::Done)
    }

    /// `3` / `L`: the lessons screen, after phase 4 only.
    pub(super) fn show_lessons(&mut self) -> Option<Effect> {
        if !self.phase4_done() {
            self.flash("The lessons start after phase 4: press 3 once it is done");
            return None;
        }
        self.lessons.open = true;
        self.nav.details = None;
        // Read this cluster's progress again: a lesson may have ended since.
        (!self.lessons.running()).then_some(Effect::ReadLessonProgress)
    }

    /// Keys on the lessons screen: Enter runs the selected lesson (or, once
    /// the shown one ended, goes back to the list); moving keys move the
    /// selection or scroll the lesson; Esc goes back to the phases.
    pub(super) fn on_lessons_action(&mut self, action: Action) -> Option<Effect> {
        let lv = &mut self.lessons;
        match action {
            Action::RunLesson => {
                if lv.shown && !lv.running() {
                    lv.shown = false;
                } else if lv.running() {
                    lv.shown = true;
                    self.flash("A lesson is running; q quits kindops and interrupts it");
                } else {
                    let info = LESSONS[lv.selected.min(LESSONS.len() - 1)];
                    lv.screen = Some(LessonScreen {
                        no_color: self.no_color,
                        title: format!("lesson {}: {}", info.number, info.title),
                        ..Default::default()
                    });
                    lv.shown = true;
                    return Some(Effect::RunLesson(info.number));
                }
            }
            Action::Back => {
                lv.open = false;
                self.nav.pane = Pane::Phases;
                self.nav.apps_screen = false;
            }
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                match (&mut lv.screen, lv.shown) {
                    (Some(s), true) => {
                        let max = s.lines.len();
                        s.scroll = match action {
                            Action::Up => s.scroll + 1,
                            Action::PageUp => s.scroll + 10,
                            Action::Down => s.scroll.saturating_sub(1),
                            Action::PageDown => s.scroll.saturating_sub(10),
                            Action::Top => max,
                            _ => 0,
                        }
                        .min(max);
                    }
                    _ => {
                        let last = LESSONS.len() - 1;
                        lv.selected = match action {
                            Action::Up | Action::PageUp => lv.selected.saturating_sub(1),
                            Action::Down | Action::PageDown => (lv.selected + 1).min(last),
                            Action::Top => 0,
                            _ => last,
                        };
                    }
                }
            }
            _ => {}
        }
        None
    }

    /// One event of the running lesson; once it finished, progress is read again.
    /// In [`Mode::Learn`], the lesson's lines only.
    pub(super) fn on_lesson_event(&mut self, ev: StampedLesson) -> Option<Effect> {
        let s = self.lessons.screen.get_or_insert_with(|| LessonScreen {
            no_color: self.no_color,
            ..Default::default()
        });
        s.update_event(&ev);
        if self.mode == Mode::Learn {
            return None;
        }
        if let LessonEvent::LessonFinished { lesson, outcome, .. } = &ev.event {
            let word = serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            self.flash(format!("Lesson {lesson}: {word}"));
            return Some(Effect::ReadLessonProgress);
        }
        None
    }

    /// The lesson's stream closed: [`Mode::Learn`] leaves if the lesson
    /// never said how it ended, or after a stop; `up` goes on.
    pub(super) fn on_lesson_closed(&mut self) -> Option<Effect> {
        match (&self.lessons.screen, self.mode) {
            (Some(s), Mode::Learn) if s.outcome.is_none() || s.stopping => Some(Effect::Quit),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "lessons_tests.rs"]
pub(crate) mod tests;
