//! Drawing: pure functions of `&App`. Every screen fits 80x24.
//! `kindops learn N` ([`Mode::Learn`]) is [`lessons::draw`] alone.

mod apps;
pub mod delivery;
mod dialog;
mod help;
pub mod lessons;
mod phases;
mod up_lessons;

use crate::engine::event::RunOutcome;
use crate::format::{fit, fmt_duration as fmt_dur, wrap};
use crate::tui::app::layout;
use crate::tui::app::{App, Mode, State};
use crate::tui::keys;
use crate::tui::theme::{state_symbol, Theme};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};
use ratatui::Frame;
use std::time::Duration;

pub use apps::render_apps_table;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    if app.mode == Mode::Learn {
        if let Some(s) = &app.lessons.screen {
            lessons::draw(frame, s);
        }
        return;
    }
    let theme = Theme::new(app.no_color);
    let area = frame.area();
    let a = layout::areas(app, area);
    title_bar(frame, app, theme, a.title);
    if let Some(b) = a.banner {
        banner(frame, app, theme, b);
    }
    if app.lessons.open {
        up_lessons::draw(frame, app, theme, a.body);
    } else if app.apps_screen() {
        match &app.nav.details {
            Some(key) => apps::draw_details(frame, app, theme, a.body, key),
            None => {
                let (table, pane) = layout::apps_screen(app, a.body);
                apps::draw_table(frame, app, theme, table);
                if let Some(pane) = pane {
                    delivery::draw(frame, app, theme, pane);
                }
            }
        }
    } else {
        phases::draw(frame, app, theme, a.body);
    }
    if let Some(t) = &app.run.toast {
        toast(frame, app, theme, a.body, t);
    }
    hint_bar(frame, app, theme, a.hint);
    if app.nav.help {
        help::draw(frame, app, theme, area);
    }
    dialog::draw(frame, app, theme, a.body);
}

fn run_state(app: &App, theme: Theme) -> Span<'static> {
    let total = Duration::from_millis(app.run.finished_ms.unwrap_or(app.now_ms));
    match app.run.outcome {
        Some(RunOutcome::Succeeded) => Span::styled(
            format!("✓ succeeded in {}", fmt_dur(total)),
            theme.ok().add_modifier(Modifier::BOLD),
        ),
        Some(RunOutcome::Failed) => Span::styled(
            format!("✗ failed after {}", fmt_dur(total)),
            theme.err().add_modifier(Modifier::BOLD),
        ),
        Some(RunOutcome::Interrupted) => Span::styled("✗ interrupted".to_string(), theme.err()),
        None if app.run.awaiting.is_some() => Span::styled(format!("‖ paused · {}", fmt_dur(total)), theme.warn()),
        None if app.run.failed_step.is_some() => {
            Span::styled(format!("✗ step failed · {}", fmt_dur(total)), theme.err())
        }
        None if app.run.started => match app.run.phases.iter().find(|p| p.state == State::Running) {
            Some(p) => Span::styled(
                format!(
                    "{} phase {} running · {}",
                    state_symbol(State::Running, app.now_ms),
                    p.info.number,
                    fmt_dur(total)
                ),
                theme.info(),
            ),
            None => Span::styled(format!("running · {}", fmt_dur(total)), theme.info()),
        },
        None => Span::styled("starting…".to_string(), theme.dim()),
    }
}

fn title_bar(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let mut spans = vec![Span::styled(" kindops ", theme.bold())];
    let tab = |label: String, active: bool| {
        if active {
            Span::styled(format!(" {label} "), theme.selected())
        } else {
            Span::raw(format!(" {label} "))
        }
    };
    let n_apps = format!("Applications {}", app.table.counts.apps);
    match app.mode {
        Mode::Up => {
            let lessons = app.lessons.open;
            let mut rest = vec![
                tab("1 Phases".into(), !app.apps_screen() && !lessons),
                tab(format!("2 {n_apps}"), app.apps_screen() && !lessons),
            ];
            if app.phase4_done() {
                rest.push(tab("3 Lessons".into(), lessons));
            }
            rest.extend([Span::raw(" "), run_state(app, theme)]);
            if !app.run.target.is_empty() {
                // The run state matters more than the target: cut the target
                // (a long context name) so the state stays on narrow screens.
                let used: usize = spans.iter().chain(&rest).map(Span::width).sum();
                let room = (area.width as usize).saturating_sub(used);
                let target = format!("up → {}", app.run.target);
                if room >= 8 {
                    spans.push(Span::styled(format!("{} ", fit(&target, room - 1)), theme.dim()));
                }
            }
            spans.extend(rest);
        }
        Mode::Status => {
            spans.push(Span::styled("status · ", theme.dim()));
            spans.push(tab(n_apps, true));
        }
        // Its own screen has its own title (`lessons::draw`).
        Mode::Learn => {}
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn banner(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let Some(p) = app.run.awaiting else { return };
    let title = app
        .run
        .phases
        .get(p as usize)
        .map(|p| p.info.title.as_str())
        .unwrap_or("");
    let style = if theme.color {
        Style::default().bg(Color::Yellow).fg(Color::Black)
    } else {
        theme.selected()
    };
    // The key first: on a narrow screen the title is what gets cut.
    let text = format!(" ‖ PAUSED · press Space to start phase {p} · {title} ");
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(text, style.add_modifier(Modifier::BOLD)))).style(style),
        area,
    );
}

fn hint_bar(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    if let Some((text, _)) = &app.flash {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(
                format!(" {text}"),
                theme.info().add_modifier(Modifier::BOLD),
            ))),
            area,
        );
        return;
    }
    let mut spans = Vec::new();
    for (key, hint, action) in keys::hints(app.context()) {
        if !app.available(action) {
            continue;
        }
        spans.push(Span::styled(format!(" {key} "), theme.selected()));
        spans.push(Span::raw(format!(" {hint} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The persistent error toast over the bottom of the body.
fn toast(frame: &mut Frame, app: &App, theme: Theme, body: Rect, t: &crate::tui::app::Toast) {
    let width = body.width.saturating_sub(2) as usize;
    let mut head: Vec<Line> = Vec::new();
    let label = |l: &'static str| Span::styled(l, theme.bold());
    if let Some(o) = &t.failure.object {
        head.push(Line::from(vec![
            label("Object "),
            Span::styled(o.clone(), theme.err().add_modifier(Modifier::BOLD)),
        ]));
    }
    for (i, l) in wrap(&t.failure.reason, width.saturating_sub(7)).into_iter().enumerate() {
        head.push(Line::from(vec![
            label(if i == 0 { "Why    " } else { "       " }),
            Span::raw(l),
        ]));
    }
    if let Some(h) = &t.failure.hint {
        for (i, l) in wrap(h, width.saturating_sub(7)).into_iter().enumerate() {
            head.push(Line::from(vec![
                label(if i == 0 { "Next   " } else { "       " }),
                Span::styled(l, theme.warn()),
            ]));
        }
    }
    let max_h = (body.height as usize * 3 / 5).max(4);
    let tail = &t.failure.output_tail;
    let room = max_h.saturating_sub(head.len() + 2);
    let mut lines = head;
    if !tail.is_empty() && room >= 2 {
        let shown = (room - 1).min(tail.len());
        lines.push(Line::from(Span::styled(
            format!("Output (last {shown} of {} lines)", tail.len()),
            theme.bold(),
        )));
        for l in &tail[tail.len() - shown..] {
            lines.push(Line::from(Span::styled(
                format!("  {}", fit(l, width.saturating_sub(2))),
                theme.dim(),
            )));
        }
    }
    let h = (lines.len() + 2).min(max_h).min(body.height as usize) as u16;
    let area = Rect::new(body.x, body.y + body.height - h, body.width, h);
    let mut keys_hint = vec![];
    if app.available(keys::Action::Retry) {
        keys_hint.push("r retry");
    }
    keys_hint.push("Esc dismiss");
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(theme.err())
        .title(Span::styled(
            format!(" ✗ {} ", fit(&t.title, width.saturating_sub(4))),
            theme.err().add_modifier(Modifier::BOLD),
        ))
        .title_bottom(Line::from(format!(" {} ", keys_hint.join(" · "))).right_aligned());
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Pane block; the focused pane has a thick border and a marked title.
pub fn pane_block<'a>(title: Line<'a>, focused: bool, theme: Theme) -> Block<'a> {
    let b = Block::default().borders(Borders::ALL).title(title);
    if focused {
        b.border_type(BorderType::Thick).border_style(theme.info())
    } else {
        b.border_type(BorderType::Plain).border_style(theme.dim())
    }
}

#[cfg(test)]
#[path = "snapshots_tests.rs"]
mod snapshot_tests;
