//! The `?` page, generated from the key table.

use crate::tui::app::layout;
use crate::tui::app::{App, Mode};
use crate::tui::keys;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let area = layout::help_popup(area);
    let all = keys::help_lines(theme, app.mode == Mode::Up);
    let rows = area.height.saturating_sub(2) as usize;
    let max = all.len().saturating_sub(rows);
    let scroll = app.nav.help_scroll.min(max);
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
