//! The lessons screen of `kindops up` (key `3`/`L` after phase 4): the
//! lessons with this cluster's progress and the selected one's explanation,
//! or the lesson running, drawn as `kindops learn N` draws it
//! ([`super::lessons::draw_lesson`]). A pure function of `&App`; fits 80x24.

use super::pane_block;
use crate::format::{fit, pad, wrap};
use crate::learn::LESSONS;
use crate::tui::app::App;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, theme: Theme, body: Rect) {
    let lv = &app.lessons;
    if let (Some(s), true) = (&lv.screen, lv.shown) {
        super::lessons::draw_lesson(frame, s, theme, body, "lessons");
        return;
    }
    let inner = body.width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    for (i, l) in LESSONS.iter().enumerate() {
        let state = match &lv.progress {
            None => ("…".to_string(), theme.dim()),
            Some(Err(_)) => ("?".to_string(), theme.dim()),
            Some(Ok(p)) => match p.get(l.name) {
                None => ("not run".to_string(), theme.dim()),
                Some(r) => {
                    // RFC 3339 to the minute: `2026-12-02 00:41`.
                    let when: String = r.finished_at.chars().take(16).collect::<String>().replace('T', " ");
                    let style = match r.outcome.as_str() {
                        "passed" | "undone" => theme.ok(),
                        "skipped" => theme.warn(),
                        _ => theme.err(),
                    };
                    (format!("{} {when}", r.outcome), style)
                }
            },
        };
        let row = format!(" {}  {} {} ", l.number, pad(l.name, 20), pad(l.title, 20));
        let style = if i == lv.selected {
            theme.selected()
        } else {
            ratatui::style::Style::default()
        };
        let room = inner.saturating_sub(crate::format::width(&row));
        lines.push(Line::from(vec![
            Span::styled(row, style),
            Span::styled(fit(&state.0, room), state.1),
        ]));
    }
    lines.push(Line::default());
    let sel = LESSONS[lv.selected.min(LESSONS.len() - 1)];
    for l in wrap(sel.explain, inner.saturating_sub(1)) {
        lines.push(Line::from(Span::raw(format!(" {l}"))));
    }
    if let Some(Err(why)) = &lv.progress {
        lines.push(Line::default());
        for l in wrap(&format!("progress unknown: {why}"), inner.saturating_sub(1)) {
            lines.push(Line::from(Span::styled(format!(" {l}"), theme.warn())));
        }
    }
    if let Some(s) = &lv.screen {
        let state = if lv.running() { "running" } else { "ended" };
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            format!(" {} {state}: Enter shows it", s.title),
            theme.info(),
        )));
    }
    let title = Line::from(Span::styled(
        " Lessons on this cluster · Enter runs one · Esc back ",
        theme.bold(),
    ));
    frame.render_widget(Paragraph::new(lines).block(pane_block(title, true, theme)), body);
}
