//! Navigation: which pane has the keyboard, the help page, the details
//! view, and what each key does there (through the one key table).

use super::{App, Effect, Mode, State};
use crate::engine::event::Control;
use crate::tui::app::layout;
use crate::tui::keys::{self, Action, Context};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Phases,
    Log,
    Apps,
}

pub struct Nav {
    /// What has the keyboard. `Apps` is the full Applications screen, or
    /// the Applications pane of the phases screen when that shows one
    /// ([`App::split`]) and the full screen was not asked for.
    pub pane: Pane,
    /// The full Applications screen was asked for (key `2`, details).
    pub apps_screen: bool,
    pub help: bool,
    pub help_scroll: usize,
    /// Details view of this row (Applications screen).
    pub details: Option<super::RowKey>,
    pub details_scroll: usize,
}

impl Nav {
    pub fn new(mode: Mode) -> Self {
        Nav {
            pane: if mode == Mode::Up { Pane::Phases } else { Pane::Apps },
            apps_screen: mode == Mode::Status,
            help: false,
            help_scroll: 0,
            details: None,
            details_scroll: 0,
        }
    }
}

/// Moves a position for a navigation action within `0..=max`.
fn scroll(pos: usize, action: Action, page: usize, max: usize) -> usize {
    let new = match action {
        Action::Up => pos.saturating_sub(1),
        Action::Down => pos + 1,
        Action::PageUp => pos.saturating_sub(page),
        Action::PageDown => pos + page,
        Action::Top => 0,
        Action::Bottom => max,
        _ => pos,
    };
    new.min(max)
}

impl App {
    /// The phases screen shows the Applications table beside the steps:
    /// once a phase that registers Applications (2–4) has started, or is
    /// the one presenter mode waits before, so the learner sees them appear
    /// while the phase explains why.
    pub fn split(&self) -> bool {
        self.mode == Mode::Up
            && self
                .run
                .phases
                .iter()
                .any(|p| p.info.number >= 2 && (p.state != State::Pending || self.run.awaiting == Some(p.info.number)))
    }

    /// The full Applications screen is on (not the phases screen).
    pub fn apps_screen(&self) -> bool {
        self.nav.pane == Pane::Apps && (self.nav.apps_screen || !self.split())
    }

    /// Which keys are live right now.
    pub fn context(&self) -> Context {
        if self.mode == Mode::Learn {
            Context::Learn
        } else if self.table.filter_input {
            Context::FilterInput
        } else if self.acts.dialog() {
            Context::Dialog
        } else if self.nav.help {
            Context::Help
        } else if self.lessons.open {
            Context::Lessons
        } else if self.nav.details.is_some() && self.nav.pane == Pane::Apps {
            Context::Details
        } else {
            match self.nav.pane {
                Pane::Phases => Context::PhaseList,
                Pane::Log => Context::Log,
                Pane::Apps => Context::Apps,
            }
        }
    }

    /// Whether an action would do something now (the hint bar hides the rest).
    pub fn available(&self, action: Action) -> bool {
        let (nav, run) = (&self.nav, &self.run);
        match action {
            Action::Retry => run.failed_step.is_some() && !run.engine_closed,
            Action::Continue => run.awaiting.is_some(),
            Action::NextPane | Action::PrevPane | Action::ShowPhases => self.mode == Mode::Up,
            Action::ShowLessons => self.phase4_done() && !self.lessons.open,
            Action::RunLesson => self.lessons.open && !self.lessons.running(),
            Action::Open => nav.pane == Pane::Apps && !self.table.view.is_empty(),
            Action::Sync | Action::Refresh | Action::HardRefresh => matches!(
                self.table.view.get(self.table.selected_row),
                Some(super::RowKey::App { .. })
            ),
            Action::Back => {
                self.lessons.open
                    || nav.help
                    || nav.details.is_some()
                    || (nav.pane == Pane::Apps && !self.table.filter.is_empty())
                    || run.toast.is_some()
                    || (nav.pane != Pane::Apps && (!run.follow_phase || run.log_scroll.is_some()))
            }
            _ => true,
        }
    }

    pub(super) fn on_key(&mut self, k: KeyEvent) -> Option<Effect> {
        if k.kind == KeyEventKind::Release {
            return None;
        }
        let ctx = self.context();
        if ctx == Context::Learn {
            // One lesson's screen: its own rows of the table, nothing else.
            let action = keys::lookup(ctx, &k)?;
            return self.lessons.screen.as_mut()?.on_action(action);
        }
        let effect = match keys::lookup(ctx, &k) {
            Some(action) => self.on_action(ctx, action),
            None => {
                if ctx == Context::FilterInput {
                    if let KeyCode::Char(c) = k.code {
                        if !k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) {
                            self.table.filter.push(c);
                            self.table.rebuild_view();
                        }
                    }
                }
                None
            }
        };
        self.clamp_table();
        effect
    }

    fn on_action(&mut self, ctx: Context, action: Action) -> Option<Effect> {
        // Help is a page over everything: most actions close it first.
        if self.nav.help
            && !matches!(
                action,
                Action::Up
                    | Action::Down
                    | Action::PageUp
                    | Action::PageDown
                    | Action::Top
                    | Action::Bottom
                    | Action::Quit
            )
        {
            self.nav.help = false;
            if matches!(action, Action::Help | Action::Back) {
                return None;
            }
        }
        if matches!(
            action,
            Action::ShowPhases | Action::ShowApps | Action::NextPane | Action::PrevPane
        ) {
            self.lessons.open = false;
        }
        if ctx == Context::Lessons
            && matches!(
                action,
                Action::Back
                    | Action::Up
                    | Action::Down
                    | Action::PageUp
                    | Action::PageDown
                    | Action::Top
                    | Action::Bottom
            )
        {
            return self.on_lessons_action(action);
        }
        match action {
            Action::Quit => return Some(Effect::Quit),
            Action::ShowLessons => return self.show_lessons(),
            Action::RunLesson => return self.on_lessons_action(action),
            Action::Yes | Action::No => return self.on_dialog(action),
            Action::Sync | Action::Refresh | Action::HardRefresh | Action::ShowPassword | Action::CopyPassword => {
                return self.on_app_action(action)
            }
            Action::Help => {
                self.nav.help = true;
                self.nav.help_scroll = 0;
            }
            Action::Filter => {
                if self.nav.pane == Pane::Apps {
                    self.nav.details = None;
                    self.table.filter_input = true;
                }
            }
            Action::FilterApply => self.table.filter_input = false,
            Action::FilterCancel => {
                self.table.filter_input = false;
                self.table.filter.clear();
                self.table.rebuild_view();
            }
            Action::FilterDelete => {
                self.table.filter.pop();
                self.table.rebuild_view();
            }
            Action::Back => self.back(),
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                self.navigate(ctx, action)
            }
            Action::NextPane | Action::PrevPane => {
                if self.mode == Mode::Up {
                    let order = [Pane::Phases, Pane::Log, Pane::Apps];
                    let i = order.iter().position(|p| *p == self.nav.pane).unwrap_or(0);
                    let n = if action == Action::NextPane {
                        (i + 1) % 3
                    } else {
                        (i + 2) % 3
                    };
                    self.nav.pane = order[n];
                    self.nav.details = None;
                    self.nav.apps_screen = false;
                }
            }
            Action::ShowPhases => {
                if self.mode == Mode::Up {
                    self.nav.pane = Pane::Phases;
                    self.nav.apps_screen = false;
                }
            }
            Action::ShowApps => {
                self.nav.pane = Pane::Apps;
                self.nav.apps_screen = true;
                self.nav.details = None;
            }
            Action::Open => {
                if let Some(key) = self.table.view.get(self.table.selected_row) {
                    // Details take the whole screen, also from the phases screen's pane.
                    self.nav.apps_screen = true;
                    self.nav.details = Some(key.clone());
                    self.nav.details_scroll = 0;
                }
            }
            Action::Continue => {
                if let Some(p) = self.run.awaiting.take() {
                    self.flash(format!("Starting phase {p}"));
                    return Some(Effect::Send(Control::Continue));
                }
                self.flash("Nothing is waiting for you to continue");
            }
            Action::Retry => {
                if self.run.engine_closed {
                    self.flash("The engine has stopped; run kindops up again");
                } else if let Some((p, s)) = self.run.failed_step.take() {
                    self.run.toast = None;
                    self.run.outcome = None;
                    self.run.finished_ms = None;
                    let label = self.run.step_label(p, s);
                    self.flash(format!("Retrying {label}"));
                    return Some(Effect::Send(Control::Retry));
                } else {
                    self.flash("No failed step to retry");
                }
            }
        }
        None
    }

    fn back(&mut self) {
        if self.nav.details.is_some() && self.nav.pane == Pane::Apps {
            self.nav.details = None;
        } else if self.nav.pane == Pane::Apps && !self.table.filter.is_empty() {
            self.table.filter.clear();
            self.table.rebuild_view();
        } else if self.run.toast.is_some() {
            self.run.toast = None;
        } else if self.nav.pane != Pane::Apps {
            self.run.follow_phase = true;
            self.run.log_scroll = None;
            self.run.select_current_phase();
        }
    }

    fn navigate(&mut self, ctx: Context, action: Action) {
        let page = |h: usize| h.max(1);
        match ctx {
            Context::Help => {
                let max = layout::help_max_scroll(self);
                self.nav.help_scroll = scroll(self.nav.help_scroll, action, page(layout::help_rows(self)), max);
            }
            Context::Details => {
                let max = layout::details_max_scroll(self);
                let rows = page(layout::details_rows(self));
                self.nav.details_scroll = scroll(self.nav.details_scroll, action, rows, max);
            }
            Context::PhaseList => {
                if self.run.phases.is_empty() {
                    return;
                }
                let max = self.run.phases.len() - 1;
                self.run.selected_phase = scroll(self.run.selected_phase, action, 1, max);
                self.run.follow_phase = false;
            }
            Context::Log => {
                let rows = page(layout::log_rows(self));
                let max_top = self.run.logs.len().saturating_sub(rows);
                let top = self.run.log_scroll.unwrap_or(max_top);
                let new = scroll(top, action, rows, max_top);
                self.run.log_scroll =
                    if new >= max_top && matches!(action, Action::Down | Action::PageDown | Action::Bottom) {
                        None
                    } else {
                        Some(new)
                    };
            }
            Context::Apps => {
                if self.table.view.is_empty() {
                    return;
                }
                let rows = page(layout::table_rows(self));
                let t = &mut self.table;
                t.selected_row = scroll(t.selected_row, action, rows, t.view.len() - 1);
            }
            // The lessons move their own way (`on_lessons_action`, `LessonScreen::on_action`).
            Context::FilterInput | Context::Dialog | Context::Lessons | Context::Learn => {}
        }
    }
}
