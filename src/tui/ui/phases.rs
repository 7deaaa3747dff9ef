//! The phases screen: phase list, the selected phase's explanation and
//! steps, and the log pane.

use super::{fit, fmt_dur, pad, pane_block, state_symbol, wrap, Theme};
use crate::engine::event::Stream;
use crate::tui::app::{App, Pane, PhaseView, State};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::time::Duration;

fn left_width(body: Rect) -> u16 {
    if body.width >= 120 {
        58
    } else {
        (body.width * 47 / 100).max(30)
    }
}

/// Narrow screens give each phase two lines (title, then state and time)
/// so titles are not cut.
fn two_lines(body: Rect) -> bool {
    left_width(body) < 50
}

/// The explanation as paragraphs: phase files keep their own line breaks
/// (YAML `|`), which would otherwise end screen lines mid-sentence; a blank
/// line still separates paragraphs.
fn explain_text(p: &PhaseView) -> String {
    reflow(&p.info.explain)
}

fn reflow(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(|para| para.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|para| !para.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn explain_lines(p: &PhaseView, inner: usize) -> usize {
    if p.info.explain.trim().is_empty() {
        0
    } else {
        wrap(&explain_text(p), inner).len() + 1
    }
}

fn detail_height(p: &PhaseView, inner: usize) -> usize {
    explain_lines(p, inner) + p.steps.iter().map(|s| 1 + s.secrets.len()).sum::<usize>()
}

/// (top: phase list + steps, bottom: log). The top is as tall as the
/// tallest phase needs, so the log does not jump when the phase changes.
pub fn split(app: &App, body: Rect) -> (Rect, Rect) {
    let inner = body.width.saturating_sub(left_width(body) + 2) as usize;
    let want = app
        .phases
        .iter()
        .map(|p| detail_height(p, inner))
        .chain(std::iter::once(app.phases.len() * if two_lines(body) { 2 } else { 1 }))
        .max()
        .unwrap_or(0) as u16
        + 2;
    let top = want
        .min(body.height.saturating_sub(5).max(body.height * 6 / 10))
        .min(body.height);
    let [t, l] = Layout::vertical([Constraint::Length(top), Constraint::Min(0)]).areas(body);
    (t, l)
}

fn phase_elapsed(app: &App, p: &PhaseView) -> Option<Duration> {
    p.elapsed.or_else(|| match (p.state, p.started_ms) {
        (State::Running, Some(s)) => Some(Duration::from_millis(app.now_ms.saturating_sub(s))),
        _ => None,
    })
}

pub fn draw(frame: &mut Frame, app: &App, theme: Theme, body: Rect) {
    let (top, log) = split(app, body);
    let [list, detail] = Layout::horizontal([Constraint::Length(left_width(body)), Constraint::Min(0)]).areas(top);
    draw_list(frame, app, theme, list, two_lines(body));
    draw_detail(frame, app, theme, detail);
    draw_log(frame, app, theme, log);
}

fn draw_list(frame: &mut Frame, app: &App, theme: Theme, area: Rect, two: bool) {
    let inner = area.width.saturating_sub(2) as usize;
    let focused = app.pane == Pane::Phases && !app.help;
    let mut lines = Vec::new();
    if app.phases.is_empty() {
        lines.push(Line::from(Span::styled(" waiting for the plan…", theme.dim())));
    }
    for (i, p) in app.phases.iter().enumerate() {
        let selected = i == app.selected_phase;
        let dur = phase_elapsed(app, p).map(fmt_dur).unwrap_or_default();
        let st = theme.state(p.state);
        if two {
            let done = p.steps.iter().filter(|s| s.state == State::Done).count();
            let mut extra: Vec<String> = Vec::new();
            if !dur.is_empty() {
                extra.push(dur.clone());
            }
            if !p.steps.is_empty() {
                extra.push(format!("{done}/{} steps", p.steps.len()));
            }
            let steps = if extra.is_empty() {
                String::new()
            } else {
                format!(" · {}", extra.join(" · "))
            };
            let mut l1 = vec![
                Span::raw(if selected { "›" } else { " " }),
                Span::styled(state_symbol(p.state, app.now_ms), st),
                Span::raw(format!(" {} ", p.info.number)),
                Span::styled(
                    pad(&p.info.title, inner.saturating_sub(5)),
                    if selected { theme.bold() } else { Default::default() },
                ),
            ];
            let mut l2 = vec![
                Span::raw("     "),
                Span::styled(p.state.word(), st),
                Span::styled(steps.clone(), theme.dim()),
                Span::raw(" ".repeat(inner.saturating_sub(5 + p.state.word().len() + steps.chars().count()))),
            ];
            if selected && focused {
                for s in l1.iter_mut().chain(l2.iter_mut()) {
                    s.style = s.style.add_modifier(Modifier::REVERSED);
                }
            }
            lines.push(Line::from(l1));
            lines.push(Line::from(l2));
            continue;
        }
        // "›✓ 0 " + title + " " + word(7) + " " + dur(6)
        let title_w = inner.saturating_sub(5 + 1 + 7 + 1 + 6);
        let mut spans = vec![
            Span::raw(if selected { "›" } else { " " }),
            Span::styled(state_symbol(p.state, app.now_ms), st),
            Span::raw(format!(" {} ", p.info.number)),
            Span::styled(
                pad(&p.info.title, title_w),
                if selected { theme.bold() } else { Default::default() },
            ),
            Span::raw(" "),
            Span::styled(pad(p.state.word(), 7), st),
            Span::styled(format!(" {dur:>6}"), theme.dim()),
        ];
        if selected && focused {
            for s in spans.iter_mut() {
                s.style = s.style.add_modifier(Modifier::REVERSED);
            }
        }
        lines.push(Line::from(spans));
    }
    let title = Line::from(vec![
        Span::styled(" Phases ", theme.bold()),
        Span::styled(
            if app.follow_phase { "" } else { "(picked; Esc follows) " },
            theme.dim(),
        ),
    ]);
    frame.render_widget(Paragraph::new(lines).block(pane_block(title, focused, theme)), area);
}

fn draw_detail(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let inner = area.width.saturating_sub(2) as usize;
    let Some(p) = app.phases.get(app.selected_phase) else {
        frame.render_widget(
            Paragraph::new("").block(pane_block(Line::from(" Steps "), false, theme)),
            area,
        );
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    if !p.info.explain.trim().is_empty() {
        for l in wrap(&explain_text(p), inner) {
            lines.push(Line::from(Span::styled(l, theme.dim().add_modifier(Modifier::ITALIC))));
        }
        lines.push(Line::default());
    }
    for s in &p.steps {
        let st = theme.state(s.state);
        let dur = s
            .elapsed
            .or_else(|| match (s.state, s.started_ms) {
                (State::Running, Some(t)) => Some(Duration::from_millis(app.now_ms.saturating_sub(t))),
                _ => None,
            })
            .map(fmt_dur)
            .unwrap_or_default();
        let word = if s.state == State::Done && !s.changed {
            "ok"
        } else {
            s.state.word()
        };
        let text_w = inner.saturating_sub(2 + 8 + 7);
        let label = fit(&s.label, text_w);
        let msg_w = text_w.saturating_sub(label.chars().count() + 3);
        let msg = if s.message.is_empty() || msg_w < 4 {
            String::new()
        } else {
            format!(" — {}", fit(&s.message, msg_w))
        };
        let used = label.chars().count() + msg.chars().count();
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", state_symbol(s.state, app.now_ms)), st),
            Span::styled(pad(word, 7), st),
            Span::raw(" "),
            Span::raw(label),
            Span::styled(
                msg,
                if s.state == State::Failed {
                    theme.err()
                } else {
                    theme.dim()
                },
            ),
            Span::raw(" ".repeat(text_w.saturating_sub(used))),
            Span::styled(format!("{dur:>7}"), theme.dim()),
        ]));
        for (label, value) in &s.secrets {
            lines.push(Line::from(vec![
                Span::raw("    "),
                Span::styled(format!("{label}: "), theme.bold()),
                Span::styled(value.clone(), theme.warn().add_modifier(Modifier::BOLD)),
            ]));
        }
    }
    // The state is in the phase list; here it only goes if it fits.
    let head = format!(" Phase {} · {} ", p.info.number, p.info.title);
    let state = format!("{} {} ", state_symbol(p.state, app.now_ms), p.state.word());
    let mut title = vec![Span::styled(fit(&head, inner), theme.bold())];
    if head.chars().count() + state.chars().count() <= inner {
        title.push(Span::styled(state, theme.state(p.state)));
    }
    let title = Line::from(title);
    frame.render_widget(Paragraph::new(lines).block(pane_block(title, false, theme)), area);
}

fn draw_log(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let rows = area.height.saturating_sub(2) as usize;
    let inner = area.width.saturating_sub(2) as usize;
    let n = app.logs.len();
    let max_top = n.saturating_sub(rows);
    let top = app.log_scroll.unwrap_or(max_top).min(max_top);
    let lines: Vec<Line> = app
        .logs
        .range(top..(top + rows).min(n))
        .map(|l| {
            let (mark, style) = match l.stream {
                Stream::Stdout => ("│", Default::default()),
                Stream::Stderr => ("!", theme.warn()),
                Stream::Kindops => ("›", theme.info()),
            };
            let prefix = format!("{}.{} {mark} ", l.phase, l.step + 1);
            let text = fit(&l.text, inner.saturating_sub(prefix.chars().count()));
            Line::from(vec![Span::styled(prefix, theme.dim()), Span::styled(text, style)])
        })
        .collect();
    let focused = app.pane == Pane::Log && !app.help;
    let state = match app.log_scroll {
        None => "following".to_string(),
        Some(_) => format!("lines {}-{} of {n}; G follows", top + 1, (top + rows).min(n)),
    };
    let mut title = vec![
        Span::styled(" Log ", theme.bold()),
        Span::styled(format!("({state}) "), theme.dim()),
    ];
    if let Some(p) = &app.log_path {
        let room = inner.saturating_sub(8 + state.len() + 8);
        if room > 8 {
            title.push(Span::styled(
                format!("full log: {} ", fit(&p.display().to_string(), room)),
                theme.dim(),
            ));
        }
    }
    frame.render_widget(
        Paragraph::new(lines).block(pane_block(Line::from(title), focused, theme)),
        area,
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn explanation_line_breaks_are_reflowed_and_paragraphs_kept() {
        let yaml_block = "First we check the machine: is the Docker engine running,\nare kind and git installed.\n\nThen kind starts\na cluster.\n";
        assert_eq!(
            super::reflow(yaml_block),
            "First we check the machine: is the Docker engine running, are kind and git installed.\n\nThen kind starts a cluster."
        );
        let lines = super::wrap(&super::reflow(yaml_block), 40);
        assert_eq!(lines[0], "First we check the machine: is the");
        assert_eq!(lines[1], "Docker engine running, are kind and git");
        assert!(lines.contains(&String::new()), "paragraph break kept: {lines:?}");
    }
}
