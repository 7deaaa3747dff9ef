//! `update()` tests for the Applications watch, ticks and resize, and what the
//! view shows: the hint bar, formats, no colour, a table of 10,000 rows.

use super::*;
use crate::format::{fmt_age, fmt_duration};
use crate::tui::app::table::window_offset;
use crate::tui::fixtures::*;
use crate::tui::watch::{WatchMsg, WatchStatus};
use crossterm::event::KeyCode;
use std::time::Duration;

#[test]
fn watch_deltas_update_rows_and_keep_the_selection() {
    let mut app = status_app(80, 24);
    app.update(key('j'));
    app.update(key('j'));
    let selected = app.table.view[app.table.selected_row].clone();
    let mut new = crate::argocd::AppSummary {
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
    assert_eq!(crate::tui::app::layout::table_rows(&app), 48 - 2 - 3);
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
        .map(|i| crate::argocd::AppSummary {
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
