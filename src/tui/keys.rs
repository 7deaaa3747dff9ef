//! The one key table: it drives dispatch ([`lookup`]), the `?` help page
//! ([`help_sections`], [`help_lines`]) and the hint bars ([`hints`]; `kindops
//! learn N`'s screen: [`learn_hints`]). Keys follow k9s habits.

use crate::format::pad;
use crate::tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::{Line, Span};

/// What a key asks the app to do. [`crate::tui::app::App::update`] interprets it
/// in the current context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    Filter,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    Open,
    Retry,
    Continue,
    ShowPhases,
    ShowApps,
    /// Filter input: apply the filter and leave the input.
    FilterApply,
    /// Filter input: clear the filter and leave the input.
    FilterCancel,
    /// Filter input: delete the last character.
    FilterDelete,
    /// Applications: ask Argo CD to sync the selected Application (asks first).
    Sync,
    /// Applications: ask Argo CD to compare the selected Application with git now.
    Refresh,
    /// Applications: the same, dropping Argo CD's manifest cache first.
    HardRefresh,
    /// Show the Argo CD admin password in a popup (asks first).
    ShowPassword,
    /// Copy the Argo CD admin password to the clipboard (OSC 52).
    CopyPassword,
    /// A question: yes, do it.
    Yes,
    /// A question: no; or close a popup.
    No,
    /// The lessons screen (`kindops up`, once phase 4 is done).
    ShowLessons,
    /// Lessons screen: run the selected lesson; once it ended, back to the list.
    RunLesson,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Everywhere, even while typing a filter.
    Always,
    /// Everywhere except while typing a filter.
    Global,
    /// Moving in any list, log or page.
    Nav,
    /// The phases screen (phase list and log pane).
    Phases,
    /// The Applications table.
    Apps,
    /// While typing a filter (other printable keys are typed).
    FilterInput,
    /// A yes/no question (sync, show the password) or the password popup.
    Dialog,
    /// The lessons screen (the list, or the lesson running).
    Lessons,
    /// `kindops learn N`'s screen: one lesson (no help page; [`learn_hints`]).
    Learn,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Always | Scope::Global => "Everywhere",
            Scope::Nav => "Moving",
            Scope::Phases => "Phases screen",
            Scope::Apps => "Applications",
            Scope::FilterInput => "Typing a filter",
            Scope::Dialog => "A question or popup",
            Scope::Lessons => "Lessons screen (after phase 4)",
            Scope::Learn => "kindops learn N",
        }
    }
}

/// What has the keyboard right now; decides which scopes are active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    PhaseList,
    Log,
    Apps,
    Details,
    Help,
    FilterInput,
    /// A yes/no question or the password popup has the keyboard.
    Dialog,
    /// The lessons screen.
    Lessons,
    /// `kindops learn N`'s screen.
    Learn,
}

impl Context {
    /// Active scopes, most specific first.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Context::PhaseList | Context::Log => &[Scope::Phases, Scope::Nav, Scope::Global, Scope::Always],
            Context::Apps => &[Scope::Apps, Scope::Nav, Scope::Global, Scope::Always],
            Context::Details | Context::Help => &[Scope::Nav, Scope::Global, Scope::Always],
            Context::FilterInput => &[Scope::FilterInput, Scope::Always],
            Context::Dialog => &[Scope::Dialog, Scope::Always],
            Context::Lessons => &[Scope::Lessons, Scope::Nav, Scope::Global, Scope::Always],
            Context::Learn => &[Scope::Learn, Scope::Always],
        }
    }
}

/// One key with its modifiers. For `Char` keys, Shift is ignored when
/// matching (`G` arrives as `Char('G')` with or without SHIFT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}
const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

impl Key {
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        if self.code != ev.code {
            return false;
        }
        let relevant = KeyModifiers::CONTROL | KeyModifiers::ALT;
        let mods = match ev.code {
            KeyCode::Char(_) | KeyCode::BackTab => ev.modifiers & relevant,
            _ => ev.modifiers & (relevant | KeyModifiers::SHIFT),
        };
        mods == self.mods
    }

    /// How the key is written on the help page and the hint bar.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift-Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{}", base.to_uppercase())
        } else {
            base
        }
    }
}

/// One row of the key table.
#[derive(Debug)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub scope: Scope,
    /// Help page text.
    pub desc: &'static str,
    /// Short hint bar text; `None` keeps it off the hint bar.
    pub hint: Option<&'static str>,
}

/// THE key table.
#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    Binding { keys: &[ctrl('c')], action: Action::Quit, scope: Scope::Always, desc: "quit (cancels a running phase)", hint: None },
    Binding { keys: &[k('q')], action: Action::Quit, scope: Scope::Global, desc: "quit (cancels a running phase)", hint: Some("quit") },
    Binding { keys: &[k('?')], action: Action::Help, scope: Scope::Global, desc: "show or hide this help", hint: Some("help") },
    Binding { keys: &[code(KeyCode::Tab)], action: Action::NextPane, scope: Scope::Global, desc: "next pane (phases, log, Applications)", hint: Some("pane") },
    Binding { keys: &[code(KeyCode::BackTab)], action: Action::PrevPane, scope: Scope::Global, desc: "previous pane", hint: None },
    Binding { keys: &[k('1')], action: Action::ShowPhases, scope: Scope::Global, desc: "phases screen", hint: None },
    Binding { keys: &[k('2')], action: Action::ShowApps, scope: Scope::Global, desc: "Applications screen", hint: None },
    Binding { keys: &[k('3'), k('L')], action: Action::ShowLessons, scope: Scope::Global, desc: "lessons (after phase 4): run one on this cluster", hint: Some("lessons") },
    Binding { keys: &[k(' '), k('c')], action: Action::Continue, scope: Scope::Global, desc: "presenter mode: start the next phase", hint: Some("continue") },
    Binding { keys: &[k('r')], action: Action::Retry, scope: Scope::Global, desc: "retry the failed step", hint: Some("retry") },
    Binding { keys: &[code(KeyCode::Esc)], action: Action::Back, scope: Scope::Nav, desc: "back: close, clear the filter, dismiss the error, follow", hint: Some("back") },
    Binding { keys: &[k('k'), code(KeyCode::Up)], action: Action::Up, scope: Scope::Nav, desc: "up", hint: None },
    Binding { keys: &[k('j'), code(KeyCode::Down)], action: Action::Down, scope: Scope::Nav, desc: "down", hint: None },
    Binding { keys: &[code(KeyCode::PageUp), ctrl('b')], action: Action::PageUp, scope: Scope::Nav, desc: "page up", hint: None },
    Binding { keys: &[code(KeyCode::PageDown), ctrl('f')], action: Action::PageDown, scope: Scope::Nav, desc: "page down", hint: None },
    Binding { keys: &[k('g'), code(KeyCode::Home)], action: Action::Top, scope: Scope::Nav, desc: "top", hint: None },
    Binding { keys: &[k('G'), code(KeyCode::End)], action: Action::Bottom, scope: Scope::Nav, desc: "bottom (the log follows new lines again)", hint: None },
    Binding { keys: &[code(KeyCode::Enter)], action: Action::Continue, scope: Scope::Phases, desc: "presenter mode: start the next phase", hint: None },
    Binding { keys: &[k('/')], action: Action::Filter, scope: Scope::Apps, desc: "filter by name, project, namespace, state", hint: Some("filter") },
    Binding { keys: &[code(KeyCode::Enter)], action: Action::Open, scope: Scope::Apps, desc: "details: resources, conditions, operation, generated apps", hint: Some("details") },
    Binding { keys: &[k('s')], action: Action::Sync, scope: Scope::Apps, desc: "sync the Application now (sets its operation; asks y/n first)", hint: Some("sync") },
    Binding { keys: &[k('f')], action: Action::Refresh, scope: Scope::Apps, desc: "refresh: Argo CD compares the Application with git now", hint: Some("refresh") },
    Binding { keys: &[k('F')], action: Action::HardRefresh, scope: Scope::Apps, desc: "hard refresh: the same, dropping Argo CD's manifest cache", hint: None },
    Binding { keys: &[k('p')], action: Action::ShowPassword, scope: Scope::Apps, desc: "show the Argo CD admin password (asks y/n first)", hint: None },
    Binding { keys: &[k('y')], action: Action::CopyPassword, scope: Scope::Apps, desc: "copy the Argo CD admin password to the clipboard (OSC 52)", hint: None },
    Binding { keys: &[code(KeyCode::Enter)], action: Action::FilterApply, scope: Scope::FilterInput, desc: "keep the filter", hint: Some("keep") },
    Binding { keys: &[code(KeyCode::Esc)], action: Action::FilterCancel, scope: Scope::FilterInput, desc: "clear the filter", hint: Some("clear") },
    Binding { keys: &[code(KeyCode::Backspace)], action: Action::FilterDelete, scope: Scope::FilterInput, desc: "delete a character", hint: None },
    Binding { keys: &[code(KeyCode::Enter)], action: Action::RunLesson, scope: Scope::Lessons, desc: "run the selected lesson on this cluster (once it ended: back to the list)", hint: Some("run") },
    Binding { keys: &[k('q'), code(KeyCode::Esc)], action: Action::Quit, scope: Scope::Learn, desc: "stop the running lesson (it ends interrupted); once it ended, leave", hint: Some("stop") },
    Binding { keys: &[code(KeyCode::Enter), k(' ')], action: Action::Continue, scope: Scope::Learn, desc: "presenter mode (--step): go on with the next step", hint: Some("step") },
    Binding { keys: &[k('j'), code(KeyCode::Down)], action: Action::Down, scope: Scope::Learn, desc: "scroll down, towards the newest line", hint: Some("scroll") },
    Binding { keys: &[k('k'), code(KeyCode::Up)], action: Action::Up, scope: Scope::Learn, desc: "scroll up", hint: None },
    Binding { keys: &[code(KeyCode::PageUp)], action: Action::PageUp, scope: Scope::Learn, desc: "scroll up a page", hint: None },
    Binding { keys: &[code(KeyCode::PageDown)], action: Action::PageDown, scope: Scope::Learn, desc: "scroll down a page", hint: None },
    Binding { keys: &[k('y')], action: Action::Yes, scope: Scope::Dialog, desc: "yes, do it (the password popup: copy it)", hint: Some("yes") },
    Binding { keys: &[k('n'), code(KeyCode::Esc), code(KeyCode::Enter)], action: Action::No, scope: Scope::Dialog, desc: "no; close the popup", hint: Some("no/close") },
];

/// The action for a key in a context, or `None` (in filter input, an
/// unbound printable key is typed; the caller handles that).
pub fn lookup(ctx: Context, ev: &KeyEvent) -> Option<Action> {
    ctx.scopes().iter().find_map(|scope| {
        BINDINGS
            .iter()
            .filter(|b| b.scope == *scope)
            .find(|b| b.keys.iter().any(|key| key.matches(ev)))
            .map(|b| b.action)
    })
}

/// Hint bar entries for a context: (keys, hint), in table order, first
/// binding per action only.
pub fn hints(ctx: Context) -> Vec<(String, &'static str, Action)> {
    let mut out: Vec<(String, &'static str, Action)> = Vec::new();
    // The screen's own keys first, then the global ones, then Esc.
    let mut scopes = ctx.scopes().to_vec();
    scopes.sort_by_key(|s| matches!(s, Scope::Nav));
    for scope in &scopes {
        for b in BINDINGS.iter().filter(|b| b.scope == *scope) {
            if let Some(h) = b.hint {
                if out.iter().any(|(_, _, a)| *a == b.action) {
                    continue;
                }
                out.push((b.keys[0].label(), h, b.action));
            }
        }
    }
    // Quit last, where people look for it.
    if let Some(i) = out.iter().position(|(_, _, a)| *a == Action::Quit) {
        let q = out.remove(i);
        out.push(q);
    }
    out
}

/// `kindops learn N`'s hint bar, from the [`Scope::Learn`] rows: `awaiting`
/// the step the presenter waits before, `ended` once the lesson said how it
/// ended: ` Enter step 2 · q stop · j/k scroll`, ` q quit · j/k scroll`.
pub fn learn_hints(awaiting: Option<usize>, ended: bool) -> String {
    let row = |a: Action| BINDINGS.iter().find(|b| b.scope == Scope::Learn && b.action == a);
    let key = |a: Action| row(a).map(|b| b.keys[0].label()).unwrap_or_default();
    let hint = |a: Action| row(a).and_then(|b| b.hint).unwrap_or_default();
    let scroll = format!("{}/{} {}", key(Action::Down), key(Action::Up), hint(Action::Down));
    let quit = key(Action::Quit);
    match (ended, awaiting) {
        (true, _) => format!(" {quit} quit · {scroll}"),
        (false, Some(step)) => format!(
            " {} {} {step} · {quit} {} · {scroll}",
            key(Action::Continue),
            hint(Action::Continue),
            hint(Action::Quit)
        ),
        (false, None) => format!(" {quit} {} · {scroll}", hint(Action::Quit)),
    }
}

/// Bindings that only mean something where there are phases (`kindops up`).
fn phases_only(b: &Binding) -> bool {
    b.scope == Scope::Phases
        || matches!(
            b.action,
            Action::NextPane
                | Action::PrevPane
                | Action::ShowPhases
                | Action::ShowApps
                | Action::Continue
                | Action::Retry
                | Action::ShowLessons
                | Action::RunLesson
        )
}

/// The help page: sections of (keys, description), from the same table.
/// `with_phases` is false for `kindops status --watch`, which has no phases,
/// panes or steps to continue or retry. `kindops learn N`'s keys
/// ([`Scope::Learn`]) are not on it: that screen has no help page.
pub fn help_sections(with_phases: bool) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    let order = [
        Scope::Always,
        Scope::Global,
        Scope::Nav,
        Scope::Phases,
        Scope::Apps,
        Scope::Lessons,
        Scope::FilterInput,
        Scope::Dialog,
    ];
    let mut out: Vec<(&'static str, Vec<(String, &'static str)>)> = Vec::new();
    for scope in order {
        let rows: Vec<(String, &'static str)> = BINDINGS
            .iter()
            .filter(|b| b.scope == scope && (with_phases || !phases_only(b)))
            .map(|b| (b.keys.iter().map(Key::label).collect::<Vec<_>>().join(" "), b.desc))
            .collect();
        if rows.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(t, _)| *t == scope.title()) {
            Some((_, existing)) => existing.extend(rows),
            None => out.push((scope.title(), rows)),
        }
    }
    out
}

/// The help page's lines; `with_phases` is false for `kindops status --watch`.
pub fn help_lines(theme: Theme, with_phases: bool) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if with_phases {
        out.push(Line::from(Span::styled(
            "States: · pending  ▶ running  ✓ done  ✗ failed",
            theme.dim(),
        )));
    }
    out.push(Line::from(Span::styled(
        "Apps:   ✓ Synced+Healthy  ↻ progressing  ≠ OutOfSync  ✗ failing  ? unknown",
        theme.dim(),
    )));
    for (title, rows) in help_sections(with_phases) {
        out.push(Line::default());
        out.push(Line::from(Span::styled(title, theme.bold())));
        for (k, desc) in rows {
            out.push(Line::from(vec![
                Span::styled(format!("  {}", pad(&k, 16)), theme.info()),
                Span::raw(desc),
            ]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn every_binding_dispatches_to_its_own_action_in_its_scope() {
        // No binding is shadowed by a more specific scope or an earlier row.
        for b in BINDINGS {
            let ctxs: &[Context] = match b.scope {
                Scope::Always => &[Context::PhaseList, Context::Apps, Context::FilterInput, Context::Help],
                Scope::Global => &[
                    Context::PhaseList,
                    Context::Log,
                    Context::Apps,
                    Context::Details,
                    Context::Help,
                ],
                Scope::Nav => &[Context::Details, Context::Help],
                Scope::Phases => &[Context::PhaseList, Context::Log],
                Scope::Apps => &[Context::Apps],
                Scope::FilterInput => &[Context::FilterInput],
                Scope::Dialog => &[Context::Dialog],
                Scope::Lessons => &[Context::Lessons],
                Scope::Learn => &[Context::Learn],
            };
            for key in b.keys {
                for ctx in ctxs {
                    assert_eq!(
                        lookup(*ctx, &ev(key.code, key.mods)),
                        Some(b.action),
                        "{} in {ctx:?}",
                        key.label()
                    );
                }
            }
        }
    }

    #[test]
    fn typing_a_filter_does_not_trigger_commands() {
        for c in ['q', '?', 'j', 'k', 'r', 'c', ' ', '1', '/'] {
            assert_eq!(
                lookup(Context::FilterInput, &ev(KeyCode::Char(c), KeyModifiers::NONE)),
                None,
                "{c}"
            );
        }
        assert_eq!(
            lookup(Context::FilterInput, &ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
    }

    #[test]
    fn shift_is_ignored_for_characters_but_not_for_others() {
        assert_eq!(
            lookup(Context::Log, &ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            lookup(Context::Apps, &ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevPane)
        );
        assert_eq!(lookup(Context::Apps, &ev(KeyCode::Char('q'), KeyModifiers::ALT)), None);
        assert_eq!(
            lookup(Context::Apps, &ev(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Action::Open)
        );
        assert_eq!(
            lookup(Context::PhaseList, &ev(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Action::Continue)
        );
        assert_eq!(lookup(Context::Details, &ev(KeyCode::Enter, KeyModifiers::NONE)), None);
    }

    #[test]
    fn help_and_hints_come_from_the_table() {
        let help = help_sections(true);
        let status_help = help_sections(false);
        assert!(status_help.iter().all(|(t, rows)| *t != Scope::Phases.title()
            && rows
                .iter()
                .all(|(_, d)| !d.contains("retry") && !d.contains("presenter"))));
        assert!(status_help.iter().any(|(t, _)| *t == Scope::Apps.title()));
        let all: Vec<&str> = help.iter().flat_map(|(_, r)| r.iter().map(|(_, d)| *d)).collect();
        for b in BINDINGS.iter().filter(|b| b.scope != Scope::Learn) {
            assert!(all.contains(&b.desc), "{} missing from help", b.desc);
        }
        assert!(help
            .iter()
            .any(|(t, rows)| *t == "Everywhere" && rows.iter().any(|(k, _)| k == "Ctrl-C")));
        let h = hints(Context::Apps);
        assert_eq!(h[0].1, "filter");
        assert_eq!(
            h.last().map(|x| (x.0.as_str(), x.1)),
            Some(("q", "quit")),
            "quit goes last"
        );
        assert!(h.iter().position(|x| x.1 == "back") > h.iter().position(|x| x.1 == "help"));
        let f = hints(Context::FilterInput);
        assert_eq!(f.iter().map(|x| x.1).collect::<Vec<_>>(), vec!["keep", "clear"]);
        let d = hints(Context::Dialog);
        assert_eq!(d.iter().map(|x| x.1).collect::<Vec<_>>(), vec!["yes", "no/close"]);
    }

    #[test]
    fn application_actions_clash_with_no_other_key_where_they_apply() {
        // `r` stays "retry the failed step" on the Applications table too.
        let apps = |c: char| lookup(Context::Apps, &ev(KeyCode::Char(c), KeyModifiers::NONE));
        assert_eq!(apps('r'), Some(Action::Retry));
        assert_eq!(apps('s'), Some(Action::Sync));
        assert_eq!(apps('f'), Some(Action::Refresh));
        assert_eq!(apps('F'), Some(Action::HardRefresh));
        assert_eq!(apps('p'), Some(Action::ShowPassword));
        assert_eq!(apps('y'), Some(Action::CopyPassword));
        // `3` and `L` open the lessons screen (the app allows it after phase 4
        // only); in a question they do nothing.
        for c in ['3', 'L'] {
            for ctx in [Context::Apps, Context::PhaseList, Context::Log, Context::Lessons] {
                assert_eq!(
                    lookup(ctx, &ev(KeyCode::Char(c), KeyModifiers::NONE)),
                    Some(Action::ShowLessons),
                    "{c} in {ctx:?}"
                );
            }
            assert_eq!(lookup(Context::Dialog, &ev(KeyCode::Char(c), KeyModifiers::NONE)), None);
        }
        // Outside the table the action keys do nothing.
        for c in ['s', 'f', 'F', 'p', 'y'] {
            assert_eq!(
                lookup(Context::PhaseList, &ev(KeyCode::Char(c), KeyModifiers::NONE)),
                None,
                "{c}"
            );
        }
        // In a question only y, n, Esc, Enter and Ctrl-C count: `q` cannot quit by accident.
        assert_eq!(
            lookup(Context::Dialog, &ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            lookup(Context::Dialog, &ev(KeyCode::Char('s'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            lookup(Context::Dialog, &ev(KeyCode::Esc, KeyModifiers::NONE)),
            Some(Action::No)
        );
        let help = help_sections(false);
        assert!(help
            .iter()
            .any(|(t, rows)| *t == "Applications" && rows.iter().any(|(k, d)| k == "s" && d.starts_with("sync"))));
    }

    #[test]
    fn learn_keys_and_hints_come_from_the_table() {
        let learn = |code: KeyCode, mods: KeyModifiers| lookup(Context::Learn, &ev(code, mods));
        let none = KeyModifiers::NONE;
        for c in [KeyCode::Char('q'), KeyCode::Esc] {
            assert_eq!(learn(c, none), Some(Action::Quit));
        }
        assert_eq!(learn(KeyCode::Char('c'), KeyModifiers::CONTROL), Some(Action::Quit));
        for c in [KeyCode::Enter, KeyCode::Char(' ')] {
            assert_eq!(learn(c, none), Some(Action::Continue));
        }
        assert_eq!(learn(KeyCode::Char('k'), none), Some(Action::Up));
        assert_eq!(learn(KeyCode::Down, none), Some(Action::Down));
        assert_eq!(learn(KeyCode::PageUp, none), Some(Action::PageUp));
        for c in ['?', 'r', 'g', '3', '/'] {
            assert_eq!(learn(KeyCode::Char(c), none), None, "{c}");
        }
        assert_eq!(learn_hints(None, true), " q quit · j/k scroll");
        assert_eq!(learn_hints(Some(2), false), " Enter step 2 · q stop · j/k scroll");
        assert_eq!(learn_hints(None, false), " q stop · j/k scroll");
        assert!(help_sections(true).iter().all(|(t, _)| *t != Scope::Learn.title()));
    }
}
