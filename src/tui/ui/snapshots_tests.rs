//! Screen snapshots (ratatui `TestBackend` + insta) at 80x24 and 160x48.
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always`).

use crate::engine::event::{Event, Stream};
use crate::tui::app::App;
use crate::tui::fixtures::*;
use crossterm::event::KeyCode;
use std::time::Duration;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn snap(name: &str, app: &App) {
    let t = render(app);
    insta::assert_snapshot!(format!("{name}_{}x{}", app.size.0, app.size.1), t.backend());
}

#[test]
fn phases_mid_run() {
    for (w, h) in SIZES {
        snap("phases_mid_run", &mid_run(w, h));
    }
}

#[test]
fn failed_step_with_toast() {
    for (w, h) in SIZES {
        snap("failed_step_toast", &failed(w, h));
    }
}

#[test]
fn presenter_pause() {
    for (w, h) in SIZES {
        let mut app = mid_run(w, h);
        let note = label(1, 6);
        send(
            &mut app,
            [
                st(
                    52_000,
                    Event::StepFinished {
                        phase: 1,
                        step: 4,
                        changed: false,
                        message: "14 workloads Available".into(),
                        elapsed: Duration::from_millis(10_999),
                    },
                ),
                st(
                    52_001,
                    Event::StepStarted {
                        phase: 1,
                        step: 5,
                        label: label(1, 5),
                    },
                ),
                st(
                    52_100,
                    Event::SecretShown {
                        phase: 1,
                        step: 5,
                        label: "the Argo CD admin password".into(),
                        value: "kX9-2mPq7LsvW4dT".into(),
                    },
                ),
                st(
                    52_101,
                    Event::StepFinished {
                        phase: 1,
                        step: 5,
                        changed: false,
                        message: "the Argo CD admin password shown (--show-secrets)".into(),
                        elapsed: Duration::from_millis(100),
                    },
                ),
                st(
                    52_102,
                    Event::StepStarted {
                        phase: 1,
                        step: 6,
                        label: note.clone(),
                    },
                ),
                st(
                    52_103,
                    Event::StepLog {
                        phase: 1,
                        step: 6,
                        stream: Stream::Kindops,
                        line: note.clone(),
                    },
                ),
                st(
                    52_104,
                    Event::StepLog {
                        phase: 1,
                        step: 6,
                        stream: Stream::Kindops,
                        line: "kubectl -n argocd port-forward svc/argocd-server 8080:80".into(),
                    },
                ),
                st(
                    52_105,
                    Event::StepFinished {
                        phase: 1,
                        step: 6,
                        changed: false,
                        message: note,
                        elapsed: Duration::from_millis(1),
                    },
                ),
                st(
                    52_106,
                    Event::PhaseFinished {
                        phase: 1,
                        elapsed: Duration::from_millis(14_104),
                    },
                ),
                st(52_107, Event::AwaitingContinue { phase: 2 }),
            ],
        );
        snap("presenter_pause", &app);
    }
}

#[test]
fn applications_table_mixed_states() {
    for (w, h) in SIZES {
        let mut app = with_apps(mid_run(w, h));
        send(&mut app, [key('2'), key('j'), key('j')]);
        snap("apps_table", &app);
    }
}

/// Korean Application names (two columns a character) line up with the
/// others: every row's SYNC column starts at the same column.
#[test]
fn korean_application_names_are_aligned() {
    for (w, h) in SIZES {
        let mut app = status_app(w, h);
        let mut apps = sample_apps();
        for (a, name) in apps.iter_mut().zip(["장바구니", "주문-서비스", "커피"]) {
            a.name = name.to_string();
        }
        app.update(crate::tui::app::Msg::Watch(crate::tui::watch::WatchMsg::AppsReset(
            apps,
        )));
        let text = screen_text(&app);
        let cols: Vec<usize> = text
            .lines()
            .filter(|l| l.contains("Synced") || l.contains("OutOfSync"))
            .map(|l| {
                let at = ["OutOfSync", "Synced"].iter().filter_map(|w| l.find(w)).min().unwrap();
                // The test backend writes a wide character's second cell
                // as a space: cells are characters here.
                l[..at].chars().count()
            })
            .collect();
        assert!(cols.len() >= 3, "{text}");
        assert!(cols.windows(2).all(|c| c[0] == c[1]), "SYNC columns {cols:?}:\n{text}");
        snap("apps_korean", &app);
    }
}

/// The Applications screen with the CI → CD pane under the table.
#[test]
fn applications_with_the_ci_cd_pane() {
    for (w, h) in SIZES {
        let mut app = status_app(w, h);
        app.update(crate::tui::app::Msg::Watch(crate::tui::watch::WatchMsg::Delivery(
            Box::new(delivery()),
        )));
        snap("apps_ci_cd", &app);
    }
}

#[test]
fn applications_filter() {
    let mut app = status_app(80, 24);
    send(&mut app, [key('/'), key('r'), key('o'), key('l'), key('l')]);
    snap("apps_filter_typing", &app);
}

#[test]
fn application_details() {
    for (w, h) in SIZES {
        let mut app = status_app(w, h);
        send(
            &mut app,
            [key('/')]
                .into_iter()
                .chain("cart".chars().map(key))
                .chain([code(KeyCode::Enter), code(KeyCode::Enter)]),
        );
        snap("details_app", &app);
    }
}

#[test]
fn applicationset_details() {
    for (w, h) in SIZES {
        let mut app = status_app(w, h);
        send(&mut app, [code(KeyCode::Enter)]);
        snap("details_appset", &app);
    }
}

#[test]
fn help_page() {
    for (w, h) in SIZES {
        let mut app = mid_run(w, h);
        app.update(key('?'));
        snap("help", &app);
    }
}

#[test]
fn waiting_for_argo_cd() {
    let mut app = mid_run(80, 24);
    app.update(key('2'));
    app.update(crate::tui::app::Msg::Watch(crate::tui::watch::WatchMsg::AppsStatus(
        crate::tui::watch::WatchStatus::Retrying(
            "applications.argoproj.io not found: Argo CD is not installed yet; retrying".into(),
        ),
    )));
    snap("apps_waiting", &app);
}

#[test]
fn title_bar_keeps_the_run_state_with_a_long_target_at_80_columns() {
    let mut app = mid_run(80, 24);
    app.run.target = "existing cluster, context kindops-testbed".into();
    let text = screen_text(&app);
    let title = text.lines().next().unwrap();
    assert!(title.contains("phase 1 running · 52s"), "{title}");
    assert!(title.contains("up → existing clu…"), "{title}");
    // Wide enough: the whole target.
    let mut app = mid_run(160, 48);
    app.run.target = "existing cluster, context kindops-testbed".into();
    let text = screen_text(&app);
    assert!(
        text.lines().next().unwrap().contains("context kindops-testbed "),
        "{text}"
    );
}

/// During phases 2–4 the phases screen shows the Applications table
/// between the steps and the log (issue 12).
#[test]
fn split_phases_and_applications() {
    for (w, h) in SIZES {
        snap("split_phase_2", &phase_2_run(w, h));
    }
}

/// The Applications pane of the split view has the keyboard; `s` on cart
/// asks before it syncs; after `y` the line under the table says what was set.
#[test]
fn split_sync_question_and_result() {
    for (w, h) in SIZES {
        let mut app = phase_2_run(w, h);
        send(
            &mut app,
            [code(KeyCode::Tab), code(KeyCode::Tab), key('j'), key('j'), key('j')],
        );
        app.update(key('s'));
        snap("split_sync_question", &app);
        app.update(key('y'));
        app.update(crate::tui::app::Msg::Acted(Ok(
            "sync of Application argocd/cart: set .operation.sync (initiatedBy kindops)".into(),
        )));
        snap("split_sync_done", &app);
    }
}

#[test]
fn password_popup() {
    let mut app = status_app(80, 24);
    send(&mut app, [key('p'), key('y')]);
    app.update(crate::tui::app::Msg::Password(
        crate::tui::app::PasswordUse::Show,
        Ok(Some(crate::tui::app::Secret("kX9-2mPq7LsvW4dT".into()))),
    ));
    snap("password_popup", &app);
}

#[test]
fn lessons_list_after_phase_4() {
    use crate::learn::progress::LessonRecord;
    let mut app = crate::tui::app::lessons::tests::after_phase_4(80, 24);
    send(&mut app, [key('3')]);
    let rec = |o: &str| LessonRecord {
        outcome: o.into(),
        finished_at: "2026-12-02T00:41:07.5Z".into(),
        kindops: "0.1.0".into(),
    };
    let progress = [
        ("git-to-cluster".to_string(), rec("passed")),
        ("ci-by-path".to_string(), rec("skipped")),
    ];
    send(
        &mut app,
        [crate::tui::app::Msg::LessonProgress(Ok(progress.into_iter().collect()))],
    );
    snap("lessons_list", &app);
}
