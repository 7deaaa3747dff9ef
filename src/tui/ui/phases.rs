//! The phases screen: phase list, the selected phase's explanation and
//! steps, and the log pane.

use super::pane_block;
use crate::engine::event::Stream;
use crate::format::{fit, fmt_duration as fmt_dur, pad, reflow, wrap};
use crate::tui::app::layout;
use crate::tui::app::{App, Pane, PhaseView, State};
use crate::tui::theme::{state_symbol, Theme};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::time::Duration;

fn phase_elapsed(app: &App, p: &PhaseView) -> Option<Duration> {
    p.elapsed.or_else(|| match (p.state, p.started_ms) {
        (State::Running, Some(s)) => Some(Duration::from_millis(app.now_ms.saturating_sub(s))),
        _ => None,
    })
}

pub fn draw(frame: &mut Frame, app: &App, theme: Theme, body: Rect) {
    let a = layout::phases(app, body);
    draw_list(frame, app, theme, a.list, a.two_lines, a.compact);
    draw_detail(frame, app, theme, a.detail);
    if let Some(apps) = a.apps {
        super::apps::draw_table(frame, app, theme, apps);
    }
    draw_log(frame, app, theme, a.log);
}

fn draw_list(frame: &mut Frame, app: &App, theme: Theme, area: Rect, two: bool, compact: bool) {
    let inner = area.width.saturating_sub(2) as usize;
    let focused = app.nav.pane == Pane::Phases && !app.nav.help;
    let mut lines = Vec::new();
    if app.run.phases.is_empty() {
        lines.push(Line::from(Span::styled(" waiting for the plan…", theme.dim())));
    }
    for (i, p) in app.run.phases.iter().enumerate() {
        let selected = i == app.run.selected_phase;
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
                Span::raw(" ".repeat(inner.saturating_sub(5 + p.state.word().len() + crate::format::width(&steps)))),
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
        // "›✓ 0 " + title + " " + word(7) + " " + dur(6); compact: no word.
        let word_w = if compact { 0 } else { 1 + 7 };
        let title_w = inner.saturating_sub(5 + word_w + 1 + 6);
        let mut spans = vec![
            Span::raw(if selected { "›" } else { " " }),
            Span::styled(state_symbol(p.state, app.now_ms), st),
            Span::raw(format!(" {} ", p.info.number)),
            Span::styled(
                pad(&p.info.title, title_w),
                if selected { theme.bold() } else { Default::default() },
            ),
        ];
        if !compact {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(pad(p.state.word(), 7), st));
        }
        spans.push(Span::styled(format!(" {dur:>6}"), theme.dim()));
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
            if app.run.follow_phase {
                ""
            } else {
                "(picked; Esc follows) "
            },
            theme.dim(),
        ),
    ]);
    frame.render_widget(Paragraph::new(lines).block(pane_block(title, focused, theme)), area);
}

fn draw_detail(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let inner = area.width.saturating_sub(2) as usize;
    let Some(p) = app.run.phases.get(app.run.selected_phase) else {
        frame.render_widget(
            Paragraph::new("").block(pane_block(Line::from(" Steps "), false, theme)),
            area,
        );
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    // The steps always show; the explanation gets the rows left above them
    // (cut with `…`: on 80x24 a long explanation would hide every step).
    let rows = area.height.saturating_sub(2) as usize;
    let step_rows: usize = p.steps.iter().map(|s| 1 + s.secrets.len()).sum();
    let room = rows.saturating_sub(step_rows + 1);
    if !p.info.explain.trim().is_empty() && room > 0 {
        let mut explain = wrap(&reflow(&p.info.explain), inner);
        if explain.len() > room {
            explain.truncate(room);
            if let Some(last) = explain.last_mut() {
                // Cut to leave room for the one `…` (fit would add its own).
                let cut: String = last.chars().take(inner.saturating_sub(1)).collect();
                *last = format!("{}…", cut.trim_end());
            }
        }
        for l in explain {
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
        let msg_w = text_w.saturating_sub(crate::format::width(&label) + 3);
        let msg = if s.message.is_empty() || msg_w < 4 {
            String::new()
        } else {
            format!(" — {}", fit(&s.message, msg_w))
        };
        let used = crate::format::width(&label) + crate::format::width(&msg);
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
    if crate::format::width(&head) + crate::format::width(&state) <= inner {
        title.push(Span::styled(state, theme.state(p.state)));
    }
    let title = Line::from(title);
    frame.render_widget(Paragraph::new(lines).block(pane_block(title, false, theme)), area);
}

fn draw_log(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let rows = area.height.saturating_sub(2) as usize;
    let inner = area.width.saturating_sub(2) as usize;
    let n = app.run.logs.len();
    let max_top = n.saturating_sub(rows);
    let top = app.run.log_scroll.unwrap_or(max_top).min(max_top);
    let lines: Vec<Line> = app
        .run
        .logs
        .range(top..(top + rows).min(n))
        .map(|l| {
            let (mark, style) = match l.stream {
                Stream::Stdout => ("│", Default::default()),
                Stream::Stderr => ("!", theme.warn()),
                Stream::Kindops => ("›", theme.info()),
            };
            let prefix = format!("{}.{} {mark} ", l.phase, l.step + 1);
            let text = fit(&l.text, inner.saturating_sub(crate::format::width(&prefix)));
            Line::from(vec![Span::styled(prefix, theme.dim()), Span::styled(text, style)])
        })
        .collect();
    let focused = app.nav.pane == Pane::Log && !app.nav.help;
    let state = match app.run.log_scroll {
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
