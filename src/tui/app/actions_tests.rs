//! `update()` tests of the split phases/Applications view and the actions
//! from the Applications table (sync, refresh, the password).

use crate::tui::app::*;
use crate::tui::fixtures::*;
use crossterm::event::KeyCode;

fn sync_of(name: &str) -> Effect {
    Effect::Act(Intent::Sync {
        namespace: "argocd".into(),
        name: name.into(),
    })
}

/// The phase 2 fixture with the keyboard on the Applications pane and
/// `name` selected.
fn on_row(name: &str) -> App {
    let mut app = phase_2_run(80, 24);
    send(&mut app, [code(KeyCode::Tab), code(KeyCode::Tab)]);
    assert_eq!(app.nav.pane, Pane::Apps);
    let i = app
        .table
        .view
        .iter()
        .position(|k| matches!(k, RowKey::App { name: n, .. } | RowKey::Set { name: n, .. } if n == name))
        .expect("row in the fixture");
    app.table.selected_row = i;
    app
}

#[test]
fn the_phases_screen_shows_the_applications_from_phase_2_on() {
    let app = mid_run(80, 24);
    assert!(!app.split(), "phase 1 runs: no Applications beside the steps yet");
    let mut app = phase_2_run(80, 24);
    assert!(app.split());
    assert!(!app.apps_screen());
    // Tab: phases → log → the Applications pane, still on the phases screen.
    send(&mut app, [code(KeyCode::Tab), code(KeyCode::Tab)]);
    assert_eq!((app.nav.pane, app.apps_screen()), (Pane::Apps, false));
    assert_eq!(app.context(), crate::tui::keys::Context::Apps);
    // The pane pages by its own height, not the screen's.
    assert!(
        crate::tui::app::layout::table_rows(&app) < 10,
        "{}",
        crate::tui::app::layout::table_rows(&app)
    );
    // `2`: the full Applications screen; `1` back; Tab from there to the phases.
    app.update(key('2'));
    assert!(app.apps_screen());
    assert!(crate::tui::app::layout::table_rows(&app) > 15);
    app.update(key('1'));
    assert_eq!((app.nav.pane, app.apps_screen()), (Pane::Phases, false));
    // Enter on the pane: details take the whole screen; Esc leaves the table there.
    send(&mut app, [code(KeyCode::Tab), code(KeyCode::Tab), code(KeyCode::Enter)]);
    assert!(app.apps_screen() && app.nav.details.is_some());
    app.update(code(KeyCode::Esc));
    assert!(app.apps_screen() && app.nav.details.is_none());
    // Presenter mode paused before phase 2 already shows the (empty) table.
    let mut paused = mid_run(80, 24);
    paused.update(st(60_000, crate::engine::event::Event::AwaitingContinue { phase: 2 }));
    assert!(paused.split());
}

#[test]
fn sync_asks_first_and_no_changes_nothing() {
    let mut app = on_row("cart");
    assert_eq!(app.update(key('s')), None, "a question first");
    assert_eq!(app.context(), crate::tui::keys::Context::Dialog);
    let (q, _) = app.acts.confirm.clone().unwrap();
    assert!(q.contains("Sync Application argocd/cart now?"), "{q}");
    assert!(screen_text(&app).contains("Sync Application argocd/cart now?"));
    // Keys other than y/n/Esc/Enter do nothing while asked (q does not quit).
    assert_eq!(app.update(key('q')), None);
    assert_eq!(app.update(key('n')), None);
    assert!(app.acts.confirm.is_none());
    assert!(app
        .flash
        .as_ref()
        .is_some_and(|(t, _)| t.contains("nothing was changed")));
    // Esc also says no.
    app.update(key('s'));
    assert_eq!(app.update(code(KeyCode::Esc)), None);
    // y sends the intent; the loop's answer is shown under the table.
    app.update(key('s'));
    assert_eq!(app.update(key('y')), Some(sync_of("cart")));
    assert_eq!(app.acts.pending, 1);
    let did = "sync of Application argocd/cart: set .operation.sync (initiatedBy kindops)";
    app.update(Msg::Acted(Ok(did.into())));
    assert_eq!(app.acts.last, Some((true, did.to_string())));
    assert_eq!(app.acts.pending, 0);
    let text = screen_text(&app);
    assert!(text.contains("✓ sync of Application argocd/cart"), "{text}");
    // A refusal is shown the same way, as an error.
    app.update(Msg::Acted(Err(
        "Application argocd/cart: another operation is already in progress".into(),
    )));
    assert!(screen_text(&app).contains("✗ Application argocd/cart: another operation"));
}

#[test]
fn refresh_and_hard_refresh_go_at_once_and_only_for_applications() {
    let mut app = on_row("order");
    let refresh = |hard| {
        Some(Effect::Act(Intent::Refresh {
            namespace: "argocd".into(),
            name: "order".into(),
            hard,
        }))
    };
    assert_eq!(app.update(key('f')), refresh(false));
    assert_eq!(app.update(key('F')), refresh(true));
    // `r` keeps meaning "retry the failed step" on the table.
    assert_eq!(app.update(key('r')), None);
    assert!(app.flash.as_ref().is_some_and(|(t, _)| t == "No failed step to retry"));
    // The ApplicationSet row: nothing to sync; said so.
    let mut app = on_row("coffee");
    assert!(!app.available(crate::tui::keys::Action::Sync));
    assert_eq!(app.update(key('s')), None);
    assert!(app.acts.confirm.is_none());
    assert!(app
        .flash
        .as_ref()
        .is_some_and(|(t, _)| t.contains("is an ApplicationSet")));
    // On the phase list the keys do nothing.
    let mut app = phase_2_run(80, 24);
    assert_eq!(
        send(&mut app, [key('s'), key('f'), key('F'), key('p'), key('y')]),
        vec![]
    );
}

#[test]
fn the_password_shows_only_in_its_popup_after_a_yes() {
    let pw = "kX9-2mPq7LsvW4dT";
    let mut app = on_row("cart");
    assert_eq!(app.update(key('p')), None);
    assert!(app
        .acts
        .confirm
        .as_ref()
        .is_some_and(|(q, _)| q.contains("admin password")));
    assert_eq!(
        app.update(key('y')),
        Some(Effect::Act(Intent::Password(PasswordUse::Show)))
    );
    assert_eq!(
        app.update(Msg::Password(PasswordUse::Show, Ok(Some(Secret(pw.into()))))),
        None
    );
    let text = screen_text(&app);
    assert!(text.contains(pw) && text.contains("Argo CD admin password"), "{text}");
    assert!(!app.flash.as_ref().is_some_and(|(t, _)| t.contains(pw)));
    // y in the popup copies it; the flash and the last-action line say so, without it.
    assert_eq!(app.update(key('y')), Some(Effect::Copy(Secret(pw.into()))));
    let (ok, last) = app.acts.last.clone().unwrap();
    assert!(ok && last.contains("clipboard") && !last.contains(pw), "{last}");
    assert!(!app.flash.as_ref().unwrap().0.contains(pw));
    // Esc closes it: gone from the screen and from the state.
    app.update(code(KeyCode::Esc));
    assert!(app.acts.secret.is_none());
    assert!(!screen_text(&app).contains(pw));
    // `y` on the table copies without a popup; Debug never shows the value.
    assert_eq!(
        app.update(key('y')),
        Some(Effect::Act(Intent::Password(PasswordUse::Copy)))
    );
    let copy = app.update(Msg::Password(PasswordUse::Copy, Ok(Some(Secret(pw.into())))));
    assert_eq!(copy, Some(Effect::Copy(Secret(pw.into()))));
    assert!(!format!("{copy:?}").contains(pw));
    assert!(!screen_text(&app).contains(pw));
    // No Secret: said so.
    app.update(Msg::Password(PasswordUse::Show, Ok(None)));
    assert!(app.acts.secret.is_none());
    assert!(app
        .acts
        .last
        .as_ref()
        .is_some_and(|(ok, t)| !ok && t.contains("does not exist")));
}
