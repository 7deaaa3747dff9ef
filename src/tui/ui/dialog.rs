//! The yes/no question before a sync or showing the password, and the
//! password popup (until dismissed), centred over the body.

use crate::format::wrap;
use crate::tui::app::App;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, theme: Theme, body: Rect) {
    let w = body.width.saturating_sub(4).min(72);
    let inner = w.saturating_sub(2) as usize;
    let (title, mut lines, keys) = if let Some(secret) = &app.acts.secret {
        let ns = crate::argocd::ARGOCD_NAMESPACE;
        let lines = vec![
            Line::from(vec![
                Span::styled("user      ", theme.bold()),
                Span::raw(crate::argocd::actions::ADMIN_USER),
            ]),
            Line::from(vec![
                Span::styled("password  ", theme.bold()),
                Span::styled(secret.0.clone(), theme.warn().add_modifier(Modifier::BOLD)),
            ]),
            Line::default(),
            Line::from(Span::styled(
                format!("from Secret {ns}/{}", crate::argocd::actions::ADMIN_SECRET),
                theme.dim(),
            )),
        ];
        (" Argo CD admin password ", lines, " y copy · Esc close ")
    } else if let Some((question, _)) = &app.acts.confirm {
        let lines = wrap(question, inner).into_iter().map(Line::from).collect();
        (" Are you sure? ", lines, " y yes · n no ")
    } else {
        return;
    };
    lines.truncate(body.height.saturating_sub(2) as usize);
    let h = (lines.len() as u16 + 2).min(body.height);
    let area = Rect::new(
        body.x + (body.width - w) / 2,
        body.y + body.height.saturating_sub(h) / 2,
        w,
        h,
    );
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.warn())
        .title(Span::styled(title, theme.bold()))
        .title_bottom(Line::from(keys).right_aligned());
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
