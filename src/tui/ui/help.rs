//! The `?` page, generated from the key table.

use super::{pad, Theme};
use crate::tui::app::{App, Mode};
use crate::tui::keys;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui::Frame;

pub fn popup(area: Rect) -> Rect {
    let w = area.width.saturating_sub(4).min(84);
    let h = area.height.saturating_sub(2).min(40);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

/// The help page's lines; `with_phases` is false for `kindops status --watch`.
pub fn lines(theme: Theme, with_phases: bool) -> Vec<Line<'static>> {
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
    for (title, rows) in keys::help_sections(with_phases) {
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

pub fn draw(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let area = popup(area);
    let all = lines(theme, app.mode == Mode::Up);
    let rows = area.height.saturating_sub(2) as usize;
    let max = all.len().saturating_sub(rows);
    let scroll = app.help_scroll.min(max);
    let more = if max > 0 {
        format!(" j/k scroll · {}/{} ", scroll + rows, all.len())
    } else {
        String::new()
    };
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.info())
        .title(Span::styled(" Help: keys ", theme.bold()))
        .title(Line::from(more).right_aligned())
        .title_bottom(Line::from(" ? or Esc closes ").right_aligned());
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(all.into_iter().skip(scroll).take(rows).collect::<Vec<_>>()).block(block),
        area,
    );
}
