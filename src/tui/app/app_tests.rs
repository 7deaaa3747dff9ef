//! `update()` tests: every key (action) and every engine event kind.

use super::*;
use crate::engine::event::{Failure, Stream};
use crate::format::{fmt_age, fmt_duration};
use crate::tui::app::table::window_offset;
use crate::tui::fixtures::*;
use crate::tui::keys::{Action, Context};
use crate::tui::watch::{WatchMsg, WatchStatus};
use crossterm::event::{KeyCode, KeyEventKind, KeyEventState, KeyModifiers};
use std::time::Duration;

// ------------------------------------------------------------------ events

#[test]
fn run_started_lays_out_every_phase_pending() {
    let mut app = new_up(80, 24);
    app.update(st(
        0,
        Event::RunStarted {
            phases: phases(),
            target: "kind-kindops".into(),
        },
    ));
    assert!(app.run.started);
    assert_eq!(app.run.target, "kind-kindops");
    assert_eq!(app.run.phases.len(), 5);
    assert!(app.run.phases.iter().all(|p| p.state == State::Pending));
    assert_eq!(app.run.phases[1].steps.len(), 7);
    assert_eq!(app.run.phases[1].steps[5].label, "show the Argo CD admin password");
    assert_eq!(app.outcome_on_quit(), RunOutcome::Interrupted);
}

#[test]
fn phase_started_runs_and_the_steps_pane_follows() {
    let mut app = new_up(80, 24);
    app.update(st(
        0,
        Event::RunStarted {
            phases: phases(),
            target: "t".into(),
        },
    ));
    app.update(st(1200, Event::PhaseStarted { phase: 2 }));
    assert_eq!(app.run.phases[2].state, State::Running);
    assert_eq!(app.run.phases[2].started_ms, Some(1200));
    assert_eq!(app.run.selected_phase, 2);
    assert!(app.animating());
    assert_eq!(app.now_ms, 1200, "engine time stamps move the clock");
}

#[test]
fn cluster_ready_starts_the_applications_watcher_on_its_context() {
    // A fresh laptop: no cluster when the TUI starts; phase 0 creates it and
    // the engine announces it. The TUI must ask for a watcher on that context.
    let mut app = new_up(80, 24);
    app.update(st(
        0,
        Event::RunStarted {
            phases: phases(),
            target: "kind cluster kindops (context kind-kindops)".into(),
        },
    ));
    assert_eq!(app.table.apps_status, crate::tui::watch::WatchStatus::NoCluster);
    let effect = app.update(st(
        21_000,
        Event::ClusterReady {
            context: "kind-kindops".into(),
        },
    ));
    assert_eq!(effect, Some(Effect::Watch("kind-kindops".into())));
}

#[test]
fn awaiting_continue_shows_the_banner_and_selects_the_next_phase() {
    let mut app = mid_run(80, 24);
    app.update(st(60_000, Event::AwaitingContinue { phase: 2 }));
    assert_eq!(app.run.awaiting, Some(2));
    assert_eq!(app.run.selected_phase, 2);
    assert!(app.available(Action::Continue));
    assert!(screen_text(&app).contains("PAUSED · press Space to start phase 2 · Argo CD manages itself"));
    // PhaseStarted for that phase ends the wait even without a key.
    app.update(st(61_000, Event::PhaseStarted { phase: 2 }));
    assert_eq!(app.run.awaiting, None);
}

#[test]
fn phase_finished_is_done_with_its_time() {
    let app = mid_run(80, 24);
    assert_eq!(app.run.phases[0].state, State::Done);
    assert_eq!(app.run.phases[0].elapsed, Some(Duration::from_millis(37_996)));
    assert!(screen_text(&app).contains("37s"));
}

#[test]
fn step_started_progress_and_finished() {
    let mut app = mid_run(80, 24);
    let s = &app.run.phases[1].steps[4];
    assert_eq!(s.state, State::Running);
    assert_eq!(s.started_ms, Some(41_601));
    assert_eq!(s.message, ROLLOUT_PROGRESS);
    app.update(st(
        50_000,
        Event::StepFinished {
            phase: 1,
            step: 4,
            changed: false,
            message: "Available".into(),
            elapsed: Duration::from_secs(9),
        },
    ));
    let s = &app.run.phases[1].steps[4];
    assert_eq!(
        (s.state, s.changed, s.message.as_str(), s.elapsed),
        (State::Done, false, "Available", Some(Duration::from_secs(9)))
    );
    // An unplanned step index grows the list instead of being lost.
    app.update(st(
        50_001,
        Event::StepStarted {
            phase: 1,
            step: 7,
            label: "extra".into(),
        },
    ));
    assert_eq!(app.run.phases[1].steps.len(), 8);
    assert_eq!(app.run.phases[1].steps[7].label, "extra");
    // An out-of-range phase is ignored, not a panic.
    app.update(st(
        50_002,
        Event::StepStarted {
            phase: 9,
            step: 0,
            label: "x".into(),
        },
    ));
}

#[test]
fn step_log_appends_and_is_capped() {
    let mut app = mid_run(80, 24);
    let n = app.run.logs.len();
    app.update(st(
        1,
        Event::StepLog {
            phase: 1,
            step: 4,
            stream: Stream::Stderr,
            line: "hello".into(),
        },
    ));
    assert_eq!(app.run.logs.len(), n + 1);
    assert_eq!(app.run.logs.back().unwrap().text, "hello");
    for i in 0..LOG_CAP + 10 {
        app.update(st(
            2,
            Event::StepLog {
                phase: 1,
                step: 4,
                stream: Stream::Stdout,
                line: format!("l{i}"),
            },
        ));
    }
    assert_eq!(app.run.logs.len(), LOG_CAP);
    assert_eq!(app.run.logs.back().unwrap().text, format!("l{}", LOG_CAP + 9));
}

#[test]
fn step_failed_raises_a_persistent_toast_naming_the_object() {
    let mut app = failed(80, 24);
    assert_eq!(app.run.phases[1].state, State::Failed);
    assert_eq!(app.run.phases[1].steps[4].state, State::Failed);
    assert_eq!(app.run.failed_step, Some((1, 4)));
    let t = app.run.toast.as_ref().unwrap();
    assert_eq!(t.failure.object.as_deref(), Some("Deployment argocd/argocd-server"));
    assert!(t.title.contains("wait for rollouts in argocd"), "{}", t.title);
    // The toast stays across ticks (unlike a flash).
    app.update(Msg::Tick {
        now_ms: 10_000_000,
        wall: wall(),
    });
    assert!(app.run.toast.is_some());
    let s = screen_text(&app);
    assert!(s.contains("Deployment argocd/argocd-server"), "{s}");
    assert!(s.contains("r retry"), "{s}");
    assert!(s.contains("look at its pods' events"), "{s}");
}

#[test]
fn secret_shown_is_on_screen_only() {
    let mut app = mid_run(80, 24);
    app.update(st(
        1,
        Event::SecretShown {
            phase: 1,
            step: 5,
            label: "admin password".into(),
            value: "s3cr3t-Pw".into(),
        },
    ));
    app.update(st(
        2,
        Event::SecretShown {
            phase: 1,
            step: 5,
            label: "admin password".into(),
            value: "n3w-Pw".into(),
        },
    ));
    assert_eq!(
        app.run.phases[1].steps[5].secrets,
        vec![("admin password".to_string(), "n3w-Pw".to_string())]
    );
    assert!(screen_text(&app).contains("admin password: n3w-Pw"));
    assert!(
        app.run.logs.iter().all(|l| !l.text.contains("Pw")),
        "never in the log pane"
    );
}

#[test]
fn run_finished_sets_the_outcome_and_its_failure() {
    let mut app = mid_run(80, 24);
    finished(&mut app, RunOutcome::Succeeded, None);
    assert_eq!(app.outcome_on_quit(), RunOutcome::Succeeded);
    assert!(app.run.toast.is_none());
    assert!(screen_text(&app).contains("✓ succeeded in 6m40s"));

    let mut app = failed(80, 24);
    finished(&mut app, RunOutcome::Failed, Some(failure()));
    assert_eq!(app.outcome_on_quit(), RunOutcome::Failed);
    assert_eq!(app.run.errors_seen, 1, "same failure: the step's toast stays");
    let other = Failure {
        object: None,
        reason: "boom".into(),
        hint: None,
        output_tail: vec![],
    };
    finished(&mut app, RunOutcome::Failed, Some(other.clone()));
    assert_eq!(app.run.toast.as_ref().unwrap().failure, other);
}

#[test]
fn engine_closed_early_is_a_failure_with_a_toast() {
    let mut app = mid_run(80, 24);
    app.update(Msg::EngineClosed);
    assert!(app.run.engine_closed);
    assert!(app.run.toast.as_ref().unwrap().title.contains("engine stopped"));
    assert_eq!(app.outcome_on_quit(), RunOutcome::Failed);
    // After a clean finish, the channel closing is no news.
    let mut app = mid_run(80, 24);
    finished(&mut app, RunOutcome::Succeeded, None);
    app.update(Msg::EngineClosed);
    assert!(app.run.toast.is_none());
    assert_eq!(app.outcome_on_quit(), RunOutcome::Succeeded);
}

// -------------------------------------------------------------------- keys

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
    assert_eq!(app.nav.help_scroll, crate::tui::layout::help_max_scroll(&app));
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
    let rows = crate::tui::layout::log_rows(&app);
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
        .map(|i| crate::argo::AppSummary {
            namespace: "argocd".into(),
            name: format!("app-{i:04}"),
            sync: "Synced".into(),
            health: "Healthy".into(),
            ..Default::default()
        })
        .collect();
    app.update(Msg::Watch(WatchMsg::AppsReset(many)));
    let rows = crate::tui::layout::table_rows(&app);
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
    let max = crate::tui::layout::details_max_scroll(&app);
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

// ------------------------------------------------------ watch, tick, resize

#[test]
fn watch_deltas_update_rows_and_keep_the_selection() {
    let mut app = status_app(80, 24);
    app.update(key('j'));
    app.update(key('j'));
    let selected = app.table.view[app.table.selected_row].clone();
    let mut new = crate::argo::AppSummary {
        namespace: "argocd".into(),
        name: "aaa-first".into(),
        ..Default::default()
    };
    app.update(Msg::Watch(WatchMsg::AppApplied(Box::new(new.clone()))));
    assert_eq!(
        app.table.view[app.table.selected_row], selected,
        "selection follows the object, not the index"
    );
    assert_eq!(app.table.counts.apps, 7);
    new.sync = "Synced".into();
    new.health = "Healthy".into();
    app.update(Msg::Watch(WatchMsg::AppApplied(Box::new(new))));
    assert_eq!(app.table.counts.apps, 7);
    assert_eq!(app.table.counts.ready, 3);
    app.update(Msg::Watch(WatchMsg::AppDeleted {
        namespace: "argocd".into(),
        name: "aaa-first".into(),
    }));
    assert_eq!(app.table.counts.apps, 6);
    app.update(Msg::Watch(WatchMsg::SetDeleted {
        namespace: "argocd".into(),
        name: "coffee".into(),
    }));
    assert_eq!(app.table.counts.sets, 0);
    app.update(Msg::Watch(WatchMsg::SetApplied(sample_set())));
    assert_eq!(app.table.counts.sets, 1);
    app.update(Msg::Watch(WatchMsg::AppsStatus(WatchStatus::Retrying(
        "applications.argoproj.io not found".into(),
    ))));
    app.update(Msg::Watch(WatchMsg::SetsStatus(WatchStatus::Connecting)));
    assert_eq!(app.table.sets_status, WatchStatus::Connecting);
    assert!(screen_text(&app).contains("applications.argoproj.io not found"));
}

#[test]
fn details_of_a_deleted_object_say_so() {
    let mut app = status_app(80, 24);
    send(&mut app, [key('j'), code(KeyCode::Enter)]);
    let Some(RowKey::App { name, namespace }) = app.nav.details.clone() else {
        panic!("{:?}", app.nav.details)
    };
    app.update(Msg::Watch(WatchMsg::AppDeleted { namespace, name }));
    assert!(screen_text(&app).contains("was deleted"));
}

#[test]
fn tick_expires_flash_messages_but_not_toasts() {
    let mut app = failed(80, 24);
    app.update(key('c'));
    assert!(app.flash.is_some());
    app.update(Msg::Tick {
        now_ms: app.now_ms + FLASH_MS - 1,
        wall: wall(),
    });
    assert!(app.flash.is_some());
    app.update(Msg::Tick {
        now_ms: app.now_ms + 1,
        wall: wall(),
    });
    assert!(app.flash.is_none());
    assert!(app.run.toast.is_some());
    // time does not run backwards
    app.update(Msg::Tick {
        now_ms: 0,
        wall: wall(),
    });
    assert!(app.now_ms > 0);
}

#[test]
fn resize_and_terminate() {
    let mut app = mid_run(80, 24);
    app.update(Msg::Resize(160, 48));
    assert_eq!(app.size, (160, 48));
    assert_eq!(crate::tui::layout::table_rows(&app), 48 - 2 - 3);
    assert_eq!(app.update(Msg::Terminate), Some(Effect::Quit));
    assert_eq!(app.outcome_on_quit(), RunOutcome::Interrupted);
}

#[test]
fn hint_bar_shows_only_what_works_now() {
    let mut app = mid_run(80, 24);
    let s = screen_text(&app);
    let last = s.lines().last().unwrap();
    assert!(last.contains("help") && last.contains("quit"), "{last}");
    assert!(!last.contains("retry") && !last.contains("continue"), "{last}");
    app.update(st(60_000, Event::AwaitingContinue { phase: 2 }));
    assert!(screen_text(&app).lines().last().unwrap().contains("continue"));
}

#[test]
fn formats() {
    assert_eq!(fmt_duration(Duration::from_millis(850)), "0.8s");
    assert_eq!(fmt_duration(Duration::from_millis(12_345)), "12s");
    assert_eq!(fmt_duration(Duration::from_secs(187)), "3m07s");
    assert_eq!(fmt_duration(Duration::from_secs(3720)), "1h02m");
    assert_eq!(fmt_age("2026-08-01T11:59:18Z", wall()), "42s");
    assert_eq!(fmt_age("2026-08-01T11:55:00Z", wall()), "5m");
    assert_eq!(fmt_age("2026-07-30T12:00:00Z", wall()), "2d");
    assert_eq!(fmt_age("", wall()), "");
    assert_eq!(window_offset(0, 30, 10, 100), 21);
    assert_eq!(window_offset(21, 25, 10, 100), 21);
    assert_eq!(window_offset(21, 5, 10, 100), 5);
    assert_eq!(window_offset(95, 99, 10, 100), 90);
}

#[test]
fn no_color_drops_colours_but_keeps_words_and_symbols() {
    let mut app = with_apps(failed(80, 24));
    app.no_color = true;
    app.update(key('2'));
    let t = render(&app);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "no colour at all under NO_COLOR");
        assert_eq!(cell.bg, ratatui::style::Color::Reset);
    }
    let s = screen_text(&app);
    assert!(s.contains("✗ cart") && s.contains("Degraded"), "{s}");
}

#[test]
fn ten_thousand_rows_render_the_selected_window_and_filter() {
    let apps: Vec<_> = (0..10_000)
        .map(|i| crate::argo::AppSummary {
            namespace: "argocd".into(),
            name: format!("app-{i:05}"),
            project: "default".into(),
            sync: if i % 7 == 0 { "OutOfSync" } else { "Synced" }.into(),
            health: if i % 11 == 0 { "Degraded" } else { "Healthy" }.into(),
            revision: "4f1c2a9e0b7d".into(),
            last_sync: "2026-08-01T11:00:00Z".into(),
            ..Default::default()
        })
        .collect();
    let mut bench = crate::tui::AppsBench::new(&apps);
    bench.select(5_000);
    let buf = bench.render(160, 48);
    let text: String = buf.content().iter().map(|c| c.symbol()).collect();
    assert!(text.contains("app-05000"));
    // The filter narrows the 10,000 rows; the frame shows only matches.
    // (Frame and filter times are benchmarks, not tests: `just bench`, benches/tui.rs.)
    bench.filter("app-09");
    let buf = bench.render(160, 48);
    assert_eq!(buf.area.width, 160);
    let text: String = buf.content().iter().map(|c| c.symbol()).collect();
    assert!(text.contains("/app-09 (1000/10000)"), "{text}");
    assert!(text.contains("app-09999") && !text.contains("app-05000"), "{text}");
}
