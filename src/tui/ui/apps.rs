//! The Applications table (only the visible window is built) and the
//! details view.

use super::pane_block;
use crate::format::{fit, fmt_age, or_dash, wrap};
use crate::tui::app::table::window_offset;
use crate::tui::app::{App, Pane, RowKey, RowState};
use crate::tui::details;
use crate::tui::theme::Theme;
use crate::tui::watch::{AppSetSummary, WatchStatus};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Widget};
use ratatui::Frame;

fn set_state_word(s: &AppSetSummary) -> &'static str {
    if s.error().is_some() {
        "Error"
    } else if s.up_to_date() {
        "UpToDate"
    } else if s.conditions.is_empty() {
        ""
    } else {
        "Pending"
    }
}

fn status_text(app: &App) -> (String, bool) {
    match &app.table.apps_status {
        WatchStatus::NoCluster => ("no cluster yet".into(), false),
        WatchStatus::Connecting => ("connecting…".into(), false),
        WatchStatus::Live => ("● live".into(), true),
        WatchStatus::Retrying(m) => (format!("⟳ {m}"), false),
    }
}

/// Renders the table into `area` of `buf`: the one code path for the
/// screen, the snapshots and the benchmark.
pub fn render_apps_table(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let wide = area.width >= 120;
    let rows_h = area.height.saturating_sub(3) as usize;
    let offset = window_offset(app.table.offset, app.table.selected_row, rows_h, app.table.view.len());
    let end = (offset + rows_h).min(app.table.view.len());
    let visible = &app.table.view[offset..end];

    let name_w = visible
        .iter()
        .map(|k| match k {
            RowKey::App { name, .. } | RowKey::Set { name, .. } => crate::format::width(name),
        })
        .max()
        .unwrap_or(4)
        .clamp(12, if wide { 36 } else { 20 }) as u16;

    let mut header: Vec<&str> = vec!["", "NAME"];
    let mut widths: Vec<Constraint> = vec![Constraint::Length(1), Constraint::Length(name_w)];
    if wide {
        header.push("PROJECT");
        widths.push(Constraint::Length(12));
    }
    header.extend(["SYNC", "HEALTH", "OPERATION"]);
    widths.extend([
        Constraint::Length(9),
        Constraint::Length(11),
        Constraint::Length(if wide { 11 } else { 9 }),
    ]);
    if wide {
        header.extend(["REV", "LAST SYNC"]);
        widths.extend([Constraint::Length(7), Constraint::Length(9)]);
    } else {
        header.push("AGE");
        widths.push(Constraint::Length(4));
    }
    header.push("MESSAGE");
    widths.push(Constraint::Fill(1));

    let rows: Vec<Row> = visible
        .iter()
        .map(|key| {
            let (state, cells): (RowState, Vec<String>) = match key {
                RowKey::App { name, namespace } => match app.table.app(name, namespace) {
                    Some(a) => {
                        let st = RowState::of_app(a);
                        let mut c = vec![st.symbol().to_string(), a.name.clone()];
                        if wide {
                            c.push(a.project.clone());
                        }
                        c.push(or_dash(&a.sync).to_string());
                        c.push(or_dash(&a.health).to_string());
                        c.push(a.operation_phase.clone());
                        if wide {
                            c.push(a.short_revision().to_string());
                        }
                        c.push(fmt_age(&a.last_sync, app.wall));
                        c.push(a.why());
                        (st, c)
                    }
                    None => (RowState::Unknown, vec!["?".into(), name.clone()]),
                },
                RowKey::Set { name, namespace } => match app.table.set(name, namespace) {
                    Some(s) => {
                        let st = RowState::of_set(s);
                        let mut c = vec![st.symbol().to_string(), s.name.clone()];
                        if wide {
                            c.push("-".into());
                        }
                        c.push("AppSet".into());
                        c.push(set_state_word(s).into());
                        c.push(String::new());
                        if wide {
                            c.push(String::new());
                        }
                        c.push(String::new());
                        let gen = app.table.generated_by(s);
                        let msg = match s.error() {
                            Some(e) => e.to_string(),
                            None => format!(
                                "generates {}: {}",
                                gen.len(),
                                gen.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                        };
                        c.push(msg);
                        (st, c)
                    }
                    None => (RowState::Unknown, vec!["?".into(), name.clone()]),
                },
            };
            Row::new(cells.into_iter().map(Cell::from)).style(theme.row(state))
        })
        .collect();

    let c = &app.table.counts;
    let shown = app.table.view.len();
    let total = c.apps + c.sets;
    let mut title = vec![Span::styled(format!(" Applications {} ", c.apps), theme.bold())];
    if c.apps > 0 {
        title.extend([
            Span::styled(format!("✓{} ", c.ready), theme.ok()),
            Span::styled(format!("↻{} ", c.progressing), theme.info()),
            Span::styled(format!("≠{} ", c.out_of_sync), theme.warn()),
            Span::styled(format!("✗{} ", c.failing), theme.err()),
        ]);
    }
    if c.sets > 0 {
        title.push(Span::styled(format!("· ApplicationSets {} ", c.sets), theme.bold()));
    }
    if app.table.filter_input || !app.table.filter.is_empty() {
        let cursor = if app.table.filter_input { "▏" } else { "" };
        title.push(Span::styled(
            format!("/{}{cursor} ", app.table.filter),
            theme.warn().add_modifier(Modifier::BOLD),
        ));
        title.push(Span::styled(format!("({shown}/{total}) "), theme.dim()));
    }
    let (st, live) = status_text(app);
    let status = Line::from(Span::styled(
        format!(" {} ", fit(&st, area.width.saturating_sub(4) as usize / 2)),
        if live { theme.ok() } else { theme.warn() },
    ))
    .right_aligned();
    let focused = app.nav.pane == Pane::Apps && !app.nav.help && app.nav.details.is_none();
    let mut block = pane_block(Line::from(title), focused, theme).title(status);
    // What the last sync or refresh set (never a secret), under the table.
    if let Some((ok, text)) = &app.acts.last {
        let (mark, style) = if *ok { ("✓", theme.ok()) } else { ("✗", theme.err()) };
        let room = area.width.saturating_sub(6) as usize;
        block = block.title_bottom(Line::from(Span::styled(format!(" {mark} {} ", fit(text, room)), style)));
    }

    if app.table.view.is_empty() {
        let inner = block.inner(area);
        block.render(area, buf);
        let msg = if total > 0 {
            format!("No row matches “{}”. Esc clears the filter.", app.table.filter)
        } else {
            match &app.table.apps_status {
                WatchStatus::NoCluster => "No cluster yet: Applications appear here once Argo CD runs.".to_string(),
                WatchStatus::Connecting => "Connecting to the API server…".to_string(),
                WatchStatus::Live => "No Applications yet. Argo CD is running; phases 2–4 register them.".to_string(),
                WatchStatus::Retrying(m) => format!("Waiting for Argo CD: {m}"),
            }
        };
        Paragraph::new(
            wrap(&msg, inner.width as usize)
                .into_iter()
                .map(Line::from)
                .collect::<Vec<_>>(),
        )
        .style(theme.dim())
        .render(inner, buf);
        return;
    }

    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.bold().add_modifier(Modifier::UNDERLINED)))
        .column_spacing(1)
        .row_highlight_style(theme.selected())
        .highlight_symbol("›")
        .block(block);
    let mut state = TableState::default().with_selected(Some(app.table.selected_row - offset));
    ratatui::widgets::StatefulWidget::render(table, area, buf, &mut state);
}

pub fn draw_table(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    render_apps_table(app, theme, area, frame.buffer_mut());
}

pub fn draw_details(frame: &mut Frame, app: &App, theme: Theme, area: Rect, key: &RowKey) {
    let inner_w = area.width.saturating_sub(2);
    let lines = details::lines(&app.table, app.wall, key, inner_w, theme);
    let rows = area.height.saturating_sub(2) as usize;
    let max = lines.len().saturating_sub(rows);
    let scroll = app.nav.details_scroll.min(max);
    let (kind, name, ns, state) = match key {
        RowKey::App { name, namespace } => (
            "Application",
            name,
            namespace,
            app.table.app(name, namespace).map(RowState::of_app),
        ),
        RowKey::Set { name, namespace } => (
            "ApplicationSet",
            name,
            namespace,
            app.table.set(name, namespace).map(RowState::of_set),
        ),
    };
    let st = state.unwrap_or(RowState::Unknown);
    let title = Line::from(vec![
        Span::styled(format!(" {} ", st.symbol()), theme.row(st)),
        Span::styled(format!("{kind} {ns}/{name} "), theme.bold()),
    ]);
    let more = if max > 0 {
        format!(" {}/{} ", scroll + rows.min(lines.len()), lines.len())
    } else {
        String::new()
    };
    let visible: Vec<Line> = lines.into_iter().skip(scroll).take(rows).collect();
    let block = pane_block(title, !app.nav.help, theme).title(Line::from(more).right_aligned());
    frame.render_widget(Paragraph::new(visible).block(block), area);
}
