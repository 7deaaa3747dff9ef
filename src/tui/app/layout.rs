//! The screen's geometry, a pure function of the state: the drawing code
//! draws into these areas and `update()` pages by the same numbers, so
//! neither asks the other.

use crate::format::{reflow, wrap};
use crate::tui::app::{App, PhaseView};
use crate::tui::theme::Theme;
use crate::tui::{details, keys};
use ratatui::layout::{Constraint, Layout, Rect};

/// Screen regions: title bar, presenter banner, body, hint bar.
pub struct Areas {
    pub title: Rect,
    pub banner: Option<Rect>,
    pub body: Rect,
    pub hint: Rect,
}

/// The phases screen's panes inside the body.
pub struct PhaseAreas {
    pub list: Rect,
    pub detail: Rect,
    /// The Applications table between the steps and the log, during and
    /// after phases 2–4 ([`App::split`]).
    pub apps: Option<Rect>,
    pub log: Rect,
    /// Narrow screens give each phase two lines (title, then state and time)
    /// so titles are not cut; not when the Applications table needs the room.
    pub two_lines: bool,
    /// One line per phase without the state word (the symbol says it): a
    /// narrow phase list beside the Applications table.
    pub compact: bool,
}

/// Rows the Applications table gets on the phases screen at least: the
/// eight rows phases 2–4 make (seven Applications, one ApplicationSet),
/// with its border and header.
pub const SPLIT_APPS_MIN: u16 = 8 + 3;

pub fn screen(app: &App) -> Rect {
    Rect::new(0, 0, app.size.0, app.size.1)
}

pub fn areas(app: &App, area: Rect) -> Areas {
    let banner_h = u16::from(app.run.awaiting.is_some());
    let [title, banner, body, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_h),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        title,
        banner: (banner_h > 0).then_some(banner),
        body,
        hint,
    }
}

fn left_width(body: Rect) -> u16 {
    if body.width >= 120 {
        58
    } else {
        (body.width * 47 / 100).max(30)
    }
}

/// Lines the detail pane needs for a phase: its explanation and its steps.
fn detail_height(p: &PhaseView, inner: usize) -> usize {
    let explain = if p.info.explain.trim().is_empty() {
        0
    } else {
        wrap(&reflow(&p.info.explain), inner).len() + 1
    };
    explain + p.steps.iter().map(|s| 1 + s.secrets.len()).sum::<usize>()
}

/// Phase list and steps on top, the log below. The top is as tall as the
/// tallest phase needs, so the log does not jump when the phase changes.
/// During and after phases 2–4 ([`App::split`]) the Applications table goes
/// between them: the top shrinks to the steps (the explanation takes what
/// room is left), the table gets [`SPLIT_APPS_MIN`] rows or as many as it has
/// (up to what leaves the log 3 rows, 8 on tall screens), the log the rest.
pub fn phases(app: &App, body: Rect) -> PhaseAreas {
    if app.split() {
        return split(app, body);
    }
    let left = left_width(body);
    let two_lines = left < 50;
    let inner = body.width.saturating_sub(left + 2) as usize;
    let phases = &app.run.phases;
    let want = phases
        .iter()
        .map(|p| detail_height(p, inner))
        .chain(std::iter::once(phases.len() * if two_lines { 2 } else { 1 }))
        .max()
        .unwrap_or(0) as u16
        + 2;
    let top = want
        .min(body.height.saturating_sub(5).max(body.height * 6 / 10))
        .min(body.height);
    let [top, log] = Layout::vertical([Constraint::Length(top), Constraint::Min(0)]).areas(body);
    let [list, detail] = Layout::horizontal([Constraint::Length(left), Constraint::Min(0)]).areas(top);
    PhaseAreas {
        list,
        detail,
        apps: None,
        log,
        two_lines,
        compact: false,
    }
}

fn split(app: &App, body: Rect) -> PhaseAreas {
    let left = left_width(body);
    let compact = left < 50;
    let inner = body.width.saturating_sub(left + 2) as usize;
    let phases = &app.run.phases;
    // The least the top needs: every phase on one line, every step of any phase.
    let least = phases
        .iter()
        .map(|p| p.steps.iter().map(|s| 1 + s.secrets.len()).sum::<usize>())
        .chain(std::iter::once(phases.len()))
        .max()
        .unwrap_or(0) as u16
        + 2;
    let want = phases.iter().map(|p| detail_height(p, inner)).max().unwrap_or(0) as u16 + 2;
    let log_min: u16 = if body.height >= 40 { 8 } else { 3 };
    let apps_want = (app.table.view.len() as u16 + 3).max(SPLIT_APPS_MIN);
    let top = want
        .min(body.height.saturating_sub(SPLIT_APPS_MIN + log_min))
        .max(least)
        .min(body.height);
    let apps_h = apps_want.min(body.height.saturating_sub(top + log_min)).max(
        // A short screen still shows the table's first rows; the log gives way.
        body.height.saturating_sub(top).min(6),
    );
    let [top, apps, log] =
        Layout::vertical([Constraint::Length(top), Constraint::Length(apps_h), Constraint::Min(0)]).areas(body);
    let [list, detail] = Layout::horizontal([Constraint::Length(left), Constraint::Min(0)]).areas(top);
    PhaseAreas {
        list,
        detail,
        apps: Some(apps),
        log,
        two_lines: false,
        compact,
    }
}

/// The Applications screen's panes: the table, and under it the CI → CD
/// pane (PipelineRuns and Rollouts) when there is any and the body has 16
/// rows or more: as tall as its lines need (with its border), at most half
/// the body.
pub fn apps_screen(app: &App, body: Rect) -> (Rect, Option<Rect>) {
    let d = &app.table.delivery;
    if (d.pipeline_runs.is_empty() && d.rollouts.is_empty()) || body.height < 16 {
        return (body, None);
    }
    let h = (delivery_lines(d, body.width.saturating_sub(2)) + 2).min(body.height / 2);
    let [table, pane] = Layout::vertical([Constraint::Min(0), Constraint::Length(h)]).areas(body);
    (table, Some(pane))
}

/// How many PipelineRuns the CI → CD pane lists (newest first).
pub const DELIVERY_RUNS_SHOWN: usize = 4;

/// Lines the CI → CD pane has (`ui::delivery::all_lines`; it drops log
/// lines when they do not fit) in
/// a pane `width` columns wide inside its border: a line per PipelineRun
/// shown; for a failed one, one more and its log lines; the next step's
/// wrapped lines ([`next_step_lines`]); a line per Rollout.
pub fn delivery_lines(d: &crate::delivery::Delivery, width: u16) -> u16 {
    let runs = d.pipeline_runs.iter().take(DELIVERY_RUNS_SHOWN);
    let n: usize = runs
        .map(|r| {
            let failed = match r.failure() {
                Some(_) => 1 + d.failed_step_logs.get(&r.name).map_or(0, Vec::len),
                None => 0,
            };
            1 + failed + next_step_lines(d, r, width).len()
        })
        .sum::<usize>()
        + d.rollouts.len();
    n as u16
}

/// What to do next about a failed run ([`crate::delivery::Delivery::next_step`]),
/// as the CI → CD pane shows it: `next: …` wrapped to `width` columns,
/// each line indented by 4; none when there is nothing to add.
pub fn next_step_lines(
    d: &crate::delivery::Delivery,
    r: &crate::delivery::PipelineRunSummary,
    width: u16,
) -> Vec<String> {
    d.next_step(r)
        .map(|n| {
            wrap(&format!("next: {n}"), (width as usize).saturating_sub(4))
                .into_iter()
                .map(|l| format!("    {l}"))
                .collect()
        })
        .unwrap_or_default()
}

/// The `?` page, centred.
pub fn help_popup(area: Rect) -> Rect {
    let w = area.width.saturating_sub(4).min(84);
    let h = area.height.saturating_sub(2).min(40);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

fn body(app: &App) -> Rect {
    areas(app, screen(app)).body
}

/// Visible rows of the Applications table (inside the border, under the
/// header): on its own screen, or as the phases screen's pane.
pub fn table_rows(app: &App) -> usize {
    let body = body(app);
    let h = match phases(app, body).apps {
        Some(a) if !app.apps_screen() => a.height,
        _ => apps_screen(app, body).0.height,
    };
    h.saturating_sub(3) as usize
}

/// Visible lines of the details view.
pub fn details_rows(app: &App) -> usize {
    body(app).height.saturating_sub(2) as usize
}

/// How far the details view scrolls before its last line shows.
pub fn details_max_scroll(app: &App) -> usize {
    let width = screen(app).width.saturating_sub(2);
    let n = app
        .nav
        .details
        .as_ref()
        .map(|k| details::lines(&app.table, app.wall, k, width, Theme::new(true)).len())
        .unwrap_or(0);
    n.saturating_sub(details_rows(app))
}

/// Visible lines of the log pane.
pub fn log_rows(app: &App) -> usize {
    phases(app, body(app)).log.height.saturating_sub(2) as usize
}

/// Visible lines of the help page.
pub fn help_rows(app: &App) -> usize {
    help_popup(screen(app)).height.saturating_sub(2) as usize
}

/// How far the help page scrolls before its last line shows.
pub fn help_max_scroll(app: &App) -> usize {
    keys::help_lines(Theme::new(true), app.mode == crate::tui::app::Mode::Up)
        .len()
        .saturating_sub(help_rows(app))
}
