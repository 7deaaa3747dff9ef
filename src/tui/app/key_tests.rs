//! `update()` tests: every key (action): quit, help, filter, Esc, navigation,
//! panes, details, continue and retry.

use super::*;
use crate::engine::event::Stream;
use crate::tui::fixtures::*;
use crate::tui::keys::{Action, Context};
use crate::tui::watch::WatchMsg;
use crossterm::event::{KeyCode, KeyEventKind, KeyEventState, KeyModifiers};

#[test]
fn q_and_ctrl_c_quit_but_q_is_typed_in_a_filter() {
    let mut app = mid_run(80, 24);
    assert_eq!(app.update(key('q')), Some(Effect::Quit));
    assert_eq!(app.outcome_on_quit(), RunOutcome::Interrupted);

    let mut app = status_app(80, 24);
    assert!(!send(&mut app, [key('/'), key('q')]).contains(&Effect::Quit));
    assert_eq!(app.table.filter, "q");
    assert_eq!(app.update(ctrl('c')), Some(Effect::Quit));
}

#[test]
fn key_release_events_are_ignored() {
    let mut app = mid_run(80, 24);
    let mut k = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    k.kind = KeyEventKind::Release;
    k.state = KeyEventState::NONE;
    assert_eq!(app.update(Msg::Key(k)), None);
}

#[test]
fn question_mark_toggles_help_and_j_scrolls_it() {
    let mut app = mid_run(80, 24);
    app.update(key('?'));
    assert!(app.nav.help);
    assert_eq!(app.context(), Context::Help);
    app.update(key('j'));
    assert_eq!(app.nav.help_scroll, 1, "at 80x24 the help page scrolls");
    app.update(key('G'));
    assert_eq!(app.nav.help_scroll, crate::tui::app::layout::help_max_scroll(&app));
    assert!(app.nav.help_scroll > 0);
    app.update(key('?'));
    assert!(!app.nav.help);
    app.update(key('?'));
    app.update(code(KeyCode::Esc));
    assert!(!app.nav.help, "Esc closes help");
    assert_eq!(app.nav.help_scroll, 0);
}

#[test]
fn slash_filters_the_table_as_you_type() {
    let mut app = status_app(80, 24);
    assert_eq!(app.table.view.len(), 7, "1 ApplicationSet + 6 Applications");
    app.update(key('/'));
    assert_eq!(app.context(), Context::FilterInput);
    send(&mut app, "cart".chars().map(key));
    assert_eq!(
        app.table.view,
        vec![RowKey::App {
            name: "cart".into(),
            namespace: "argocd".into()
        }]
    );
    app.update(code(KeyCode::Backspace));
    assert_eq!(app.table.filter, "car");
    app.update(code(KeyCode::Enter));
    assert!(!app.table.filter_input, "Enter keeps the filter");
    assert_eq!(app.table.filter, "car");
    // state words match too, case-insensitively
    send(&mut app, [key('/'), code(KeyCode::Esc)]);
    assert_eq!(app.table.filter, "", "Esc in the input clears");
    send(&mut app, [key('/')].into_iter().chain("degraded".chars().map(key)));
    assert_eq!(app.table.view.len(), 1);
    // '/' does nothing on the phases screen
    let mut up = mid_run(80, 24);
    up.update(key('/'));
    assert!(!up.table.filter_input);
}

#[test]
fn esc_goes_back_one_level_at_a_time() {
    let mut app = with_apps(failed(80, 24));
    app.update(key('2'));
    send(
        &mut app,
        [key('/'), key('o'), code(KeyCode::Enter), code(KeyCode::Enter)],
    );
    assert!(app.nav.details.is_some());
    app.update(code(KeyCode::Esc));
    assert!(app.nav.details.is_none(), "first Esc closes details");
    assert_eq!(app.table.filter, "o");
    app.update(code(KeyCode::Esc));
    assert_eq!(app.table.filter, "", "then clears the filter");
    assert!(app.run.toast.is_some());
    app.update(code(KeyCode::Esc));
    assert!(app.run.toast.is_none(), "then dismisses the toast");
    // On the phases screen it returns to following the run.
    app.update(key('1'));
    app.update(key('k'));
    assert!(!app.run.follow_phase);
    app.update(code(KeyCode::Esc));
    assert!(app.run.follow_phase);
    assert_eq!(app.run.selected_phase, 1);
}

#[test]
fn j_k_and_arrows_move_the_phase_selection() {
    let mut app = mid_run(80, 24);
    assert_eq!(app.run.selected_phase, 1);
    app.update(key('j'));
    assert_eq!(app.run.selected_phase, 2);
    assert!(!app.run.follow_phase);
    app.update(code(KeyCode::Down));
    app.update(code(KeyCode::Down));
    app.update(code(KeyCode::Down));
    assert_eq!(app.run.selected_phase, 4, "stops at the last phase");
    app.update(code(KeyCode::Up));
    app.update(key('k'));
    assert_eq!(app.run.selected_phase, 2);
    // not following: new events do not move it
    app.update(st(60_000, Event::PhaseStarted { phase: 3 }));
    assert_eq!(app.run.selected_phase, 2);
    app.update(key('g'));
    assert_eq!(app.run.selected_phase, 0);
}

#[test]
fn log_pane_scrolls_and_g_follows_again() {
    let mut app = mid_run(80, 24);
    for i in 0..100 {
        app.update(st(
            46_000,
            Event::StepLog {
                phase: 1,
                step: 4,
                stream: Stream::Stdout,
                line: format!("line {i}"),
            },
        ));
    }
    app.update(code(KeyCode::Tab));
    assert_eq!(app.context(), Context::Log);
    let rows = crate::tui::app::layout::log_rows(&app);
    assert!(rows >= 3, "log has room at 80x24: {rows}");
    let bottom = app.run.logs.len() - rows;
    app.update(key('k'));
    assert_eq!(app.run.log_scroll, Some(bottom - 1));
    app.update(code(KeyCode::PageUp));
    assert_eq!(app.run.log_scroll, Some(bottom - 1 - rows));
    // new lines do not move a scrolled window
    app.update(st(
        47_000,
        Event::StepLog {
            phase: 1,
            step: 4,
            stream: Stream::Stdout,
            line: "new".into(),
        },
    ));
    assert_eq!(app.run.log_scroll, Some(bottom - 1 - rows));
    assert!(screen_text(&app).contains("G follows"));
    app.update(key('g'));
    assert_eq!(app.run.log_scroll, Some(0));
    app.update(code(KeyCode::PageDown));
    assert_eq!(app.run.log_scroll, Some(rows));
    app.update(key('G'));
    assert_eq!(app.run.log_scroll, None, "G follows new lines again");
    app.update(key('k'));
    app.update(key('j'));
    assert_eq!(app.run.log_scroll, None, "j at the bottom follows");
}

#[test]
fn apps_table_navigation_keeps_the_selection_visible() {
    let mut app = status_app(80, 24);
    let many: Vec<_> = (0..500)
        .map(|i| crate::argocd::AppSummary {
            namespace: "argocd".into(),
            name: format!("app-{i:04}"),
            sync: "Synced".into(),
            health: "Healthy".into(),
            ..Default::default()
        })
        .collect();
    app.update(Msg::Watch(WatchMsg::AppsReset(many)));
    let rows = crate::tui::app::layout::table_rows(&app);
    assert_eq!(rows, 24 - 2 - 3);
    app.update(key('j'));
    assert_eq!(app.table.selected_row, 1);
    app.update(code(KeyCode::PageDown));
    assert_eq!(app.table.selected_row, 1 + rows);
    assert!(app.table.offset <= app.table.selected_row && app.table.selected_row < app.table.offset + rows);
    app.update(key('G'));
    assert_eq!(app.table.selected_row, app.table.view.len() - 1);
    assert_eq!(app.table.offset, app.table.view.len() - rows);
    app.update(code(KeyCode::PageUp));
    assert_eq!(app.table.selected_row, app.table.view.len() - 1 - rows);
    app.update(key('k'));
    app.update(code(KeyCode::Up));
    assert_eq!(app.table.selected_row, app.table.view.len() - 3 - rows);
    app.update(code(KeyCode::Home));
    assert_eq!((app.table.selected_row, app.table.offset), (0, 0));
    assert!(screen_text(&app).contains("app-0000"));
}

#[test]
fn tab_and_shift_tab_cycle_panes_and_numbers_jump() {
    let mut app = mid_run(80, 24);
    assert_eq!(app.nav.pane, Pane::Phases);
    app.update(code(KeyCode::Tab));
    assert_eq!(app.nav.pane, Pane::Log);
    app.update(code(KeyCode::Tab));
    assert_eq!(app.nav.pane, Pane::Apps);
    app.update(code(KeyCode::Tab));
    assert_eq!(app.nav.pane, Pane::Phases);
    app.update(Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)));
    assert_eq!(app.nav.pane, Pane::Apps);
    app.update(key('1'));
    assert_eq!(app.nav.pane, Pane::Phases);
    app.update(key('2'));
    assert_eq!(app.nav.pane, Pane::Apps);
    // status mode has only the table
    let mut st_app = status_app(80, 24);
    send(&mut st_app, [code(KeyCode::Tab), key('1')]);
    assert_eq!(st_app.nav.pane, Pane::Apps);
}

#[test]
fn enter_opens_details_and_scrolls_them() {
    let mut app = status_app(80, 24);
    send(
        &mut app,
        [
            key('/'),
            key('c'),
            key('a'),
            key('r'),
            key('t'),
            code(KeyCode::Enter),
            code(KeyCode::Enter),
        ],
    );
    assert_eq!(
        app.nav.details,
        Some(RowKey::App {
            name: "cart".into(),
            namespace: "argocd".into()
        })
    );
    assert_eq!(app.context(), Context::Details);
    let max = crate::tui::app::layout::details_max_scroll(&app);
    for _ in 0..50 {
        app.update(key('j'));
    }
    assert_eq!(app.nav.details_scroll, max, "scrolling stops at the end");
    app.update(key('g'));
    assert_eq!(app.nav.details_scroll, 0);
    // Enter on an empty table does nothing
    let mut empty = App::new(Mode::Status, false, false, None);
    empty.update(code(KeyCode::Enter));
    assert!(empty.nav.details.is_none());
}

#[test]
fn enter_space_and_c_continue_only_when_paused() {
    for k in [code(KeyCode::Enter), key(' '), key('c')] {
        let mut app = mid_run(80, 24);
        assert_eq!(app.update(k.clone()), None, "nothing waits yet");
        assert!(app.flash.as_ref().unwrap().0.contains("Nothing is waiting"));
        app.update(st(60_000, Event::AwaitingContinue { phase: 2 }));
        assert_eq!(app.update(k), Some(Effect::Send(Control::Continue)));
        assert_eq!(app.run.awaiting, None);
    }
}

#[test]
fn r_retries_a_failed_step_once() {
    let mut app = mid_run(80, 24);
    assert_eq!(app.update(key('r')), None);
    assert!(app.flash.as_ref().unwrap().0.contains("No failed step"));

    let mut app = failed(80, 24);
    finished(&mut app, RunOutcome::Failed, Some(failure()));
    assert!(app.available(Action::Retry));
    assert_eq!(app.update(key('r')), Some(Effect::Send(Control::Retry)));
    assert!(app.run.toast.is_none());
    assert_eq!(app.run.outcome, None, "the run goes on");
    assert_eq!(app.update(key('r')), None, "no double retry");
    app.update(st(
        400_100,
        Event::StepStarted {
            phase: 1,
            step: 4,
            label: label(1, 4),
        },
    ));
    assert_eq!(app.run.phases[1].state, State::Running);
    assert_eq!(app.run.phases[1].elapsed, None);

    let mut app = failed(80, 24);
    app.update(Msg::EngineClosed);
    assert_eq!(app.update(key('r')), None, "no engine, no retry");
}

#[test]
fn a_retried_step_clears_the_toast_when_it_starts() {
    let mut app = failed(80, 24);
    app.update(st(
        400_100,
        Event::StepStarted {
            phase: 1,
            step: 4,
            label: label(1, 4),
        },
    ));
    assert!(app.run.toast.is_none());
    assert_eq!(app.run.failed_step, None);
}
