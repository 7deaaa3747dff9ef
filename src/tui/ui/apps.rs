//! The Applications table (only the visible window is built) and the
//! details view.

use super::{fit, pad, pane_block, wrap, Theme};
use crate::argo::AppSummary;
use crate::tui::app::{fmt_age, window_offset, App, RowKey, RowState};
use crate::tui::watch::{AppSetSummary, WatchStatus};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Widget};
use ratatui::Frame;

fn row_style(s: RowState, theme: Theme) -> Style {
    match s {
        RowState::Ready => theme.ok(),
        RowState::Progressing => theme.info(),
        RowState::OutOfSync => theme.warn(),
        RowState::Failing => theme.err(),
        RowState::Unknown => theme.dim(),
    }
}

fn app_message(a: &AppSummary) -> String {
    if let Some(e) = a.error() {
        e
    } else if !a.health_message.is_empty() {
        a.health_message.clone()
    } else if a.operation_phase == "Running" {
        a.operation_message.clone()
    } else {
        String::new()
    }
}

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

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn status_text(app: &App) -> (String, bool) {
    match &app.apps_status {
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
    let offset = window_offset(app.apps_offset, app.selected_row, rows_h, app.view.len());
    let end = (offset + rows_h).min(app.view.len());
    let visible = &app.view[offset..end];

    let name_w = visible
        .iter()
        .map(|k| match k {
            RowKey::App { name, .. } | RowKey::Set { name, .. } => name.chars().count(),
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
                RowKey::App { name, namespace } => match app.app(name, namespace) {
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
                        c.push(app_message(a));
                        (st, c)
                    }
                    None => (RowState::Unknown, vec!["?".into(), name.clone()]),
                },
                RowKey::Set { name, namespace } => match app.set(name, namespace) {
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
                        let gen = app.generated_by(s);
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
            Row::new(cells.into_iter().map(Cell::from)).style(row_style(state, theme))
        })
        .collect();

    let c = &app.counts;
    let shown = app.view.len();
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
    if app.filter_input || !app.filter.is_empty() {
        let cursor = if app.filter_input { "▏" } else { "" };
        title.push(Span::styled(
            format!("/{}{cursor} ", app.filter),
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
    let focused = !app.help && app.details.is_none();
    let block = pane_block(Line::from(title), focused, theme).title(status);

    if app.view.is_empty() {
        let inner = block.inner(area);
        block.render(area, buf);
        let msg = if total > 0 {
            format!("No row matches “{}”. Esc clears the filter.", app.filter)
        } else {
            match &app.apps_status {
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
    let mut state = TableState::default().with_selected(Some(app.selected_row - offset));
    ratatui::widgets::StatefulWidget::render(table, area, buf, &mut state);
}

pub fn draw_table(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    render_apps_table(app, theme, area, frame.buffer_mut());
}

fn kv<'a>(k: &'a str, v: String, style: Style, theme: Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{k:<13}"), theme.bold()),
        Span::styled(v, style),
    ])
}

fn heading(s: String, theme: Theme) -> Line<'static> {
    Line::from(Span::styled(s, theme.bold().add_modifier(Modifier::UNDERLINED)))
}

fn health_style(h: &str, theme: Theme) -> Style {
    match h {
        "Healthy" => theme.ok(),
        "Progressing" => theme.info(),
        "Degraded" | "Missing" => theme.err(),
        "Suspended" => theme.warn(),
        _ => theme.dim(),
    }
}

fn sync_style(s: &str, theme: Theme) -> Style {
    match s {
        "Synced" => theme.ok(),
        "OutOfSync" => theme.warn(),
        _ => theme.dim(),
    }
}

/// The details of one row as lines (also used to bound scrolling).
pub fn details_lines(app: &App, key: &RowKey, width: u16, theme: Theme) -> Vec<Line<'static>> {
    let w = width as usize;
    let mut out: Vec<Line<'static>> = Vec::new();
    let wrapped = |out: &mut Vec<Line<'static>>, indent: usize, text: &str, style: Style| {
        for l in wrap(text, w.saturating_sub(indent)) {
            out.push(Line::from(Span::styled(format!("{}{l}", " ".repeat(indent)), style)));
        }
    };
    match key {
        RowKey::App { name, namespace } => {
            let Some(a) = app.app(name, namespace) else {
                out.push(Line::from(Span::styled(
                    format!("Application {namespace}/{name} was deleted."),
                    theme.warn(),
                )));
                return out;
            };
            out.push(kv("Project", a.project.clone(), Style::default(), theme));
            if let Some(s) = &a.owner_appset {
                out.push(kv(
                    "Generated by",
                    format!("ApplicationSet {s}"),
                    Style::default(),
                    theme,
                ));
            }
            let rev = if a.revision.is_empty() {
                String::new()
            } else {
                format!(" to {}", a.short_revision())
            };
            out.push(kv(
                "Sync",
                format!("{}{rev}", or_dash(&a.sync)),
                sync_style(&a.sync, theme),
                theme,
            ));
            out.push(kv(
                "Health",
                or_dash(&a.health).to_string(),
                health_style(&a.health, theme),
                theme,
            ));
            if !a.health_message.is_empty() {
                wrapped(&mut out, 13, &a.health_message, theme.dim());
            }
            let op_style = match a.operation_phase.as_str() {
                "Failed" | "Error" => theme.err(),
                "Succeeded" => theme.ok(),
                "Running" | "Terminating" => theme.info(),
                _ => theme.dim(),
            };
            out.push(kv(
                "Operation",
                or_dash(&a.operation_phase).to_string(),
                op_style,
                theme,
            ));
            if !a.operation_message.is_empty() {
                wrapped(&mut out, 13, &a.operation_message, op_style);
            }
            if !a.last_sync.is_empty() {
                out.push(kv(
                    "Last sync",
                    format!("{} ({} ago)", a.last_sync, fmt_age(&a.last_sync, app.wall)),
                    Style::default(),
                    theme,
                ));
            }
            out.push(Line::default());
            out.push(heading(format!("Conditions ({})", a.conditions.len()), theme));
            if a.conditions.is_empty() {
                out.push(Line::from(Span::styled("  none", theme.dim())));
            }
            for c in &a.conditions {
                let style = if c.kind.ends_with("Error") {
                    theme.err()
                } else {
                    theme.warn()
                };
                out.push(Line::from(Span::styled(
                    format!("  {}", c.kind),
                    style.add_modifier(Modifier::BOLD),
                )));
                wrapped(&mut out, 4, &c.message, style);
            }
            out.push(Line::default());
            out.push(heading(format!("Resources ({})", a.resources.len()), theme));
            if a.resources.is_empty() {
                out.push(Line::from(Span::styled("  none reported yet", theme.dim())));
            } else {
                let kind_w = a.resources.iter().map(|r| r.kind.len()).max().unwrap_or(4).clamp(4, 24);
                let ns_w = a
                    .resources
                    .iter()
                    .map(|r| r.namespace.len())
                    .max()
                    .unwrap_or(9)
                    .clamp(9, 20);
                out.push(Line::from(Span::styled(
                    format!(
                        "  {} {} {} {} NAME",
                        pad("SYNC", 9),
                        pad("HEALTH", 11),
                        pad("KIND", kind_w),
                        pad("NAMESPACE", ns_w)
                    ),
                    theme.bold(),
                )));
                for r in &a.resources {
                    let prune = if r.requires_pruning { " (prune)" } else { "" };
                    out.push(Line::from(vec![
                        Span::raw("  "),
                        Span::styled(pad(or_dash(&r.status), 9), sync_style(&r.status, theme)),
                        Span::raw(" "),
                        Span::styled(pad(or_dash(&r.health), 11), health_style(&r.health, theme)),
                        Span::raw(format!(
                            " {} {} {}{prune}",
                            pad(&r.kind, kind_w),
                            pad(or_dash(&r.namespace), ns_w),
                            r.name
                        )),
                    ]));
                }
            }
        }
        RowKey::Set { name, namespace } => {
            let Some(s) = app.set(name, namespace) else {
                out.push(Line::from(Span::styled(
                    format!("ApplicationSet {namespace}/{name} was deleted."),
                    theme.warn(),
                )));
                return out;
            };
            out.push(heading(format!("Conditions ({})", s.conditions.len()), theme));
            if s.conditions.is_empty() {
                out.push(Line::from(Span::styled("  none yet", theme.dim())));
            }
            for c in &s.conditions {
                let bad = c.kind == "ErrorOccurred" && c.status == "True";
                let style = if bad { theme.err() } else { Style::default() };
                out.push(Line::from(vec![
                    Span::styled(format!("  {} ", pad(&c.kind, 20)), theme.bold()),
                    Span::styled(c.status.clone(), style),
                ]));
                wrapped(&mut out, 4, &c.message, if bad { theme.err() } else { theme.dim() });
            }
            out.push(Line::default());
            let gen = app.generated_by(s);
            out.push(heading(format!("Generated Applications ({})", gen.len()), theme));
            if gen.is_empty() {
                out.push(Line::from(Span::styled("  none", theme.dim())));
            }
            let name_w = gen
                .iter()
                .map(|(n, _)| n.chars().count())
                .max()
                .unwrap_or(4)
                .clamp(4, 30);
            for (n, a) in gen {
                match a {
                    Some(a) => {
                        let st = RowState::of_app(a);
                        out.push(Line::from(vec![
                            Span::styled(format!("  {} ", st.symbol()), row_style(st, theme)),
                            Span::raw(format!("{} ", pad(&n, name_w))),
                            Span::styled(pad(or_dash(&a.sync), 9), sync_style(&a.sync, theme)),
                            Span::raw(" "),
                            Span::styled(pad(or_dash(&a.health), 11), health_style(&a.health, theme)),
                            Span::styled(format!(" {}", app_message(a)), theme.dim()),
                        ]));
                    }
                    None => out.push(Line::from(vec![
                        Span::styled("  ? ", theme.dim()),
                        Span::raw(format!("{} ", pad(&n, name_w))),
                        Span::styled("(listed in the ApplicationSet's status, not seen yet)", theme.dim()),
                    ])),
                }
            }
        }
    }
    out
}

pub fn draw_details(frame: &mut Frame, app: &App, theme: Theme, area: Rect, key: &RowKey) {
    let inner_w = area.width.saturating_sub(2);
    let lines = details_lines(app, key, inner_w, theme);
    let rows = area.height.saturating_sub(2) as usize;
    let max = lines.len().saturating_sub(rows);
    let scroll = app.details_scroll.min(max);
    let (kind, name, ns, state) = match key {
        RowKey::App { name, namespace } => (
            "Application",
            name,
            namespace,
            app.app(name, namespace).map(RowState::of_app),
        ),
        RowKey::Set { name, namespace } => (
            "ApplicationSet",
            name,
            namespace,
            app.set(name, namespace).map(RowState::of_set),
        ),
    };
    let st = state.unwrap_or(RowState::Unknown);
    let title = Line::from(vec![
        Span::styled(format!(" {} ", st.symbol()), row_style(st, theme)),
        Span::styled(format!("{kind} {ns}/{name} "), theme.bold()),
    ]);
    let more = if max > 0 {
        format!(" {}/{} ", scroll + rows.min(lines.len()), lines.len())
    } else {
        String::new()
    };
    let visible: Vec<Line> = lines.into_iter().skip(scroll).take(rows).collect();
    let block = pane_block(title, !app.help, theme).title(Line::from(more).right_aligned());
    frame.render_widget(Paragraph::new(visible).block(block), area);
}
