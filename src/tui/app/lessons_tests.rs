//! `update()` tests of the lessons screen inside `kindops up`.

use super::super::{Effect, Msg, State};
use crate::learn::event::{LessonEvent, LessonOutcome, StampedLesson};
use crate::tui::app::App;
use crate::tui::fixtures::{code, key, mid_run, screen_text, send};
use crate::tui::keys::{Action, Context};
use crossterm::event::KeyCode;

/// `mid_run` with every phase through 4 done.
pub fn after_phase_4(w: u16, h: u16) -> App {
    let mut app = mid_run(w, h);
    for p in &mut app.run.phases {
        p.state = State::Done;
    }
    app
}

fn lesson(event: LessonEvent) -> Msg {
    Msg::Lesson(StampedLesson { elapsed_ms: 900, event })
}

#[test]
fn three_and_l_open_the_lessons_only_after_phase_4() {
    let mut app = mid_run(80, 24);
    assert!(app.run.phases.iter().any(|p| p.info.number == 4));
    for c in ['3', 'L'] {
        assert_eq!(send(&mut app, [key(c)]), vec![]);
        assert!(!app.lessons.open, "{c} before phase 4");
        assert!(app.flash.as_ref().unwrap().0.contains("after phase 4"));
        assert!(!app.available(Action::ShowLessons));
    }
    assert!(!screen_text(&app).contains("3 Lessons"));
    let mut app = after_phase_4(80, 24);
    assert!(app.available(Action::ShowLessons));
    for c in ['3', 'L'] {
        assert_eq!(send(&mut app, [key(c)]), vec![Effect::ReadLessonProgress], "{c}");
        assert!(app.lessons.open);
        assert_eq!(app.context(), Context::Lessons);
        send(&mut app, [code(KeyCode::Esc)]);
        assert!(!app.lessons.open, "Esc goes back to the phases");
        assert_eq!(app.context(), Context::PhaseList);
    }
    send(&mut app, [key('3'), key('1')]);
    assert!(!app.lessons.open, "1 goes back to the phases");
    send(&mut app, [key('3'), key('2')]);
    assert!(!app.lessons.open && app.apps_screen(), "2 goes to the Applications");
}

#[test]
fn enter_runs_the_selected_lesson_and_its_events_fill_the_screen() {
    let mut app = after_phase_4(80, 24);
    send(&mut app, [key('3'), key('j')]);
    assert_eq!(app.lessons.selected, 1);
    assert_eq!(send(&mut app, [code(KeyCode::Enter)]), vec![Effect::RunLesson(2)]);
    assert!(app.lessons.running() && app.lessons.shown);
    assert!(!app.available(Action::RunLesson));
    assert_eq!(
        send(&mut app, [code(KeyCode::Enter)]),
        vec![],
        "no second lesson while one runs"
    );
    send(
        &mut app,
        [
            lesson(LessonEvent::LessonStarted {
                lesson: 2,
                name: "drift-and-self-heal".into(),
                title: "drift and self-heal".into(),
                explain: "A change made by hand is drift.".into(),
                target: "kind cluster kindops".into(),
            }),
            lesson(LessonEvent::TransitionObserved {
                lesson: 2,
                object: "Application argocd/cart".into(),
                from: "Synced/Healthy".into(),
                to: "OutOfSync/Healthy".into(),
                revision: "abcdef0123".into(),
                seconds: 0.4,
            }),
        ],
    );
    let text = screen_text(&app);
    assert!(
        text.contains("lessons · lesson 2: drift and self-heal running"),
        "{text}"
    );
    assert!(text.contains("Synced/Healthy → OutOfSync/Healthy"), "{text}");
    let fx = send(
        &mut app,
        [lesson(LessonEvent::LessonFinished {
            lesson: 2,
            outcome: LessonOutcome::Passed,
            reason: None,
            hint: None,
            left_changed: vec![],
        })],
    );
    assert_eq!(fx, vec![Effect::ReadLessonProgress], "progress is read again");
    assert!(!app.lessons.running());
    assert!(screen_text(&app).contains("✓ passed"));
    send(&mut app, [code(KeyCode::Enter)]);
    assert!(!app.lessons.shown, "Enter after the end goes back to the list");
    assert!(screen_text(&app).contains("lesson 2: drift and self-heal ended"));
}
