//! `update()` tests: every engine event kind.

use super::*;
use crate::engine::event::{Failure, Stream};
use crate::tui::fixtures::*;
use crate::tui::keys::Action;
use std::time::Duration;

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
